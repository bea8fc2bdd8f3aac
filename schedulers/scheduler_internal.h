/* schedulers/scheduler_internal.h - the scheduler vtable and one run.
 *
 * A scheduler implements one function, run(), that executes every task of
 * a plan (see graph/plan_internal.h) and leaves the targets' results in
 * run->results.  Everything else - compiling, callbacks, cancellation
 * state, errors - is shared here so every scheduler behaves the same.
 */
#ifndef TG_SCHEDULERS_SCHEDULER_INTERNAL_H
#define TG_SCHEDULERS_SCHEDULER_INTERNAL_H

#include <stdatomic.h>

#include "graph/plan_internal.h"
#include "runtime/alloc_internal.h"
#include "taskgraph/callbacks.h"
#include "taskgraph/compute.h"

typedef struct tg__run tg__run;

typedef struct tg__scheduler_vt {
    const char *name;
    bool needs_deps; /* run() reads the task-level dependencies */
    /* Runs every task of run->plan.  On success every target task's
     * result is in its slot (run->results[t]) and no other task's slot
     * holds a reference.  On a task error, stores it (with its key) via
     * tg__run_fail and returns TG_ETASK; on cancellation returns
     * TG_ECANCELED; in both cases all results are released.  Must be
     * callable from several threads. */
    int (*run)(tg_scheduler *s, tg__run *run);
    void (*free)(tg_scheduler *s);
} tg__scheduler_vt;

struct tg_scheduler {
    const tg__scheduler_vt *vt;
};

struct tg_cancel {
    atomic_bool requested;
};

/* The callbacks registered when a compute started: a snapshot, so a
 * concurrent tg_callbacks_remove cannot pull one out mid-run. */
typedef struct tg__cb_set {
    size_t n;
    tg_callbacks *cbs;
} tg__cb_set;

struct tg__run {
    const tg__plan *plan;
    tg_value **results;        /* plan->n_slots: task t's slot holds its
                                  result (a reference) once it has run,
                                  NULL once released; the literal slots
                                  are borrowed.  Starts uninitialised
                                  but for the literals: a scheduler that
                                  may read a slot of a task that has not
                                  run clears it */
    tg_cancel *cancel;         /* borrowed, may be NULL */
    uint64_t deadline_ns;      /* 0 = none */
    atomic_bool stop;          /* set on error or cancellation */
    _Atomic(tg_value *) error; /* first failure, with its key */
    uint64_t compute_id;
    tg__cb_set cb; /* cb.n == 0: no callbacks */
};

/* Runs task t: its ops in order, freeing each intermediate of a fused
 * chain at once.  Borrows the results of its inputs from run->results.
 * Returns a new reference: the result, which also sits in the task's
 * slot, or an error value that carries the key of the failing call (the
 * slot is then NULL).  Any thread. */
tg_value *tg__exec_task(tg__run *run, uint32_t t, int worker);

/* The calls below run one op; tg__exec_task is built from them, and the
 * sync scheduler uses them directly for a task of one op. */

/* Calls op's function with its arguments, inputs read from run->results
 * through the plan's input slots: a new reference, or an error value
 * without a key.  tg__call_op takes the common case (a function of at
 * most 8 arguments, no list of inputs) inline. */
tg_value *tg__call_op_slow(tg__run *run, const tg__op *op);

static inline tg_value *tg__call_op(tg__run *run, const tg__op *op)
{
    const tg__call *c = op->call;
    const tg__fnref *f = c->fn;
    uint32_t nargs = c->nargs, mask = c->mask;
    if (TG_UNLIKELY(!f->fn || nargs > 8 || op->flags))
        return tg__call_op_slow(run, op);
    const uint32_t *in = &run->plan->in[op->in];
    tg_value **results = run->results, *argv[8];
    for (uint32_t i = 0; i < nargs; i++)
        argv[i] = (mask >> i) & 1 ? results[*in++] : c->args[i];
    tg_value *r = f->fn(argv, nargs, f->ctx);
    return TG_LIKELY(r) ? r : tg_error("%s returned NULL", f->name);
}

/* Gives err the key of op o unless it already names one (an error
 * passed up from a nested compute keeps its origin).  Steals err. */
tg_value *tg__with_key(const tg__plan *p, uint32_t o, tg_value *err);

/* Records err (stolen) as the run's failure if it is the first; sets
 * run->stop either way.  Any thread. */
void tg__run_fail(tg__run *run, tg_value *err);

/* True when the run must start no more tasks (a failure, a cancel
 * request or a passed deadline).  Cheap enough for every task: one
 * relaxed load, plus a clock read every 64 calls when a deadline is set.
 * `tick` is the caller's task counter. */
bool tg__run_should_stop_slow(tg__run *run, uint64_t tick);

static inline bool tg__run_should_stop(tg__run *run, uint64_t tick)
{
    if (TG_LIKELY(!run->cancel && !run->deadline_ns))
        return atomic_load_explicit(&run->stop, memory_order_relaxed);
    return tg__run_should_stop_slow(run, tick);
}

/* The scheduler a compute given NULL uses (sync); never freed. */
tg_scheduler *tg__scheduler_default(void);

/* Callback snapshot and dispatch (schedulers/callbacks.c). */
int tg__cb_snapshot(tg__cb_set *set);
void tg__cb_release(tg__cb_set *set);
void tg__cb_start(const tg__run *run);
void tg__cb_finish(const tg__run *run, int status, uint64_t elapsed_ns);

/* The progress bar (schedulers/progress.c).  env_once applies the
 * TG_PROGRESS environment variable the first time it is called (by the
 * first compute); apply_env applies it again, for tests. */
void tg__progress_env_once(void);
void tg__progress_apply_env(void);

#endif /* TG_SCHEDULERS_SCHEDULER_INTERNAL_H */
