/* taskgraph/compute.h - run graphs on a pluggable scheduler.
 *
 * tg_compute() culls the graph to the targets, optimizes it (dedupe,
 * inline literals, fuse linear chains), orders it depth-first and hands
 * the resulting plan to a scheduler.  The same call works on every
 * scheduler.  A task that fails stops the compute: the result is an error
 * value naming the failed task's key and its message.
 */
#ifndef TASKGRAPH_COMPUTE_H
#define TASKGRAPH_COMPUTE_H

#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_scheduler tg_scheduler;

/* The synchronous scheduler: runs every task in the calling thread in
 * plan order; the debugging scheduler.  NULL when out of memory. */
TG_API tg_scheduler *tg_scheduler_sync(void);
/* The work-stealing thread pool: starts nthreads worker threads (0 =
 * one per online core) that run every compute given this scheduler.
 * Each worker keeps a deque of ready tasks, runs its own newest first
 * (depth-first, so intermediates are freed early) and steals the oldest
 * from others when idle; idle workers sleep.  Results, errors and
 * memory release are those of sync.  Returns a new scheduler for
 * tg_scheduler_free, or NULL with tg_last_error() set (nthreads outside
 * 0..1024: TG_EINVAL; threads could not start or out of memory:
 * TG_ENOMEM).
 * Thread safety: any number of threads may compute on one pool at once;
 * a thread outside the pool sleeps while the workers run its compute.
 * A task running on the pool may itself compute on the same pool
 * (nested parallelism): its worker keeps running tasks while it waits,
 * so the pool never deadlocks on itself.  Cancellation (tg_cancel,
 * timeout_ms) stops new tasks from starting on every worker; running
 * tasks finish.  Any thread. */
TG_API tg_scheduler *tg_scheduler_threads(int nthreads);
/* The loopback scheduler: a cluster's rules in one process, to check
 * that a graph can run on the distributed scheduler before one exists.
 * It runs tasks one at a time as sync does, but sends the plan, every
 * task's inputs and every result through the wire codec, and resolves
 * every function by its registered name: a graph holding a local call
 * (a function not registered under its call's name with the same
 * context) or a value that cannot be encoded fails with an error naming
 * it.  Results and errors are otherwise those of sync.  Slow: for tests.
 * NULL when out of memory.  Any thread. */
TG_API tg_scheduler *tg_scheduler_loopback(void);
/* Frees a scheduler.  NULL does nothing.  No compute may be running. */
TG_API void tg_scheduler_free(tg_scheduler *s);
/* The scheduler's name ("sync", "threads", ...).  Borrowed. */
TG_API const char *tg_scheduler_name(const tg_scheduler *s);

/* A cancellation token: cancel a running compute from another thread.
 * Running tasks finish, no new ones start, and the compute returns an
 * error value whose message says it was cancelled. */
typedef struct tg_cancel tg_cancel;
TG_API tg_cancel *tg_cancel_new(void);
/* Requests cancellation.  Any thread; idempotent. */
TG_API void tg_cancel_request(tg_cancel *c);
TG_API bool tg_cancel_requested(const tg_cancel *c);
/* Clears a request so the token can be reused.  Caller serialises. */
TG_API void tg_cancel_reset(tg_cancel *c);
TG_API void tg_cancel_free(tg_cancel *c);

/* Options for tg_compute_with; all-zero means the defaults. */
typedef struct tg_compute_opts {
    tg_cancel *cancel;   /* borrowed; checked before each task starts */
    uint64_t timeout_ms; /* 0 = none; else cancel after this long */
    bool no_fuse;        /* keep every call a task of its own */
} tg_compute_opts;

/* Computes one target.  Borrows target (a delayed value, or any other
 * value, which is returned as is).  Returns a new reference: the result,
 * or an error value (tg_is_error) when a task failed, the compute was
 * cancelled or the call was invalid.  A NULL scheduler means sync.
 * Any thread; several computes may run at once on one scheduler. */
TG_API tg_value *tg_compute(tg_value *target, tg_scheduler *s);

/* Computes n targets in one run, sharing common sub-graphs (each shared
 * task runs once).  Borrows targets; stores a new reference in each
 * out[i].  Returns 0; or TG_ETASK/TG_ECANCELED when a task failed or the
 * run was cancelled, with every out[i] a reference to the error value;
 * or another negative code for invalid input, out[i] all NULL. */
TG_API int tg_compute_many(tg_value **targets, size_t n, tg_value **out,
                           tg_scheduler *s) TG_WARN_UNUSED;
/* tg_compute_many with options (opts may be NULL). */
TG_API int tg_compute_with(tg_value **targets, size_t n, tg_value **out,
                           tg_scheduler *s,
                           const tg_compute_opts *opts) TG_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_COMPUTE_H */
