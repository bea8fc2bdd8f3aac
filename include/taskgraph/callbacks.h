/* taskgraph/callbacks.h - observe computes as they run.
 *
 * Every scheduler reports the start of a compute, each task's begin and
 * end (with its duration and worker), and the finish.  Diagnostics such
 * as a progress bar or a profiler are built on these hooks.  With none
 * registered, the schedulers pay one predictable branch per task.
 */
#ifndef TASKGRAPH_CALLBACKS_H
#define TASKGRAPH_CALLBACKS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One scheduled task.  A task may be a fused chain of several calls; it
 * is reported under the key and function name of its last call. */
typedef struct tg_task_info {
    uint64_t compute_id;    /* which compute (unique in this process) */
    uint32_t task;          /* index in the plan: its static priority */
    uint32_t n_calls;       /* calls fused into this task (>= 1) */
    const char *name;       /* function name; borrowed for the compute */
    const char *key;        /* key of the last call; borrowed */
    int worker;             /* 0 for sync, worker thread index otherwise */
    uint64_t begin_ns;      /* monotonic clock at begin */
    uint64_t end_ns;        /* monotonic clock at end (0 in task_begin) */
    bool failed;            /* task_end: the task returned an error */
    const char *failed_key; /* task_end of a failed task: the key of the
                               call that failed (in a fused chain, maybe
                               not the last); NULL otherwise; borrowed */
} tg_task_info;

typedef struct tg_callbacks {
    /* A compute with n_tasks tasks starts.  Calling thread. */
    void (*start)(void *ud, uint64_t compute_id, size_t n_tasks);
    /* A task begins / ends.  On the worker thread that runs it: these
     * may be called concurrently from several threads. */
    void (*task_begin)(void *ud, const tg_task_info *info);
    void (*task_end)(void *ud, const tg_task_info *info);
    /* The compute finished: status is 0 or a negative TG_E* code.
     * Calling thread. */
    void (*finish)(void *ud, uint64_t compute_id, int status,
                   uint64_t elapsed_ns);
    void *ud; /* passed to each callback */
} tg_callbacks;

/* Registers callbacks for every compute in this process (copied; any
 * member may be NULL).  Returns a positive handle, or a negative code.
 * Registration affects computes that start afterwards.  Any thread. */
TG_API int tg_callbacks_add(const tg_callbacks *cb);
/* Unregisters a handle from tg_callbacks_add.  TG_ENOENT if unknown.
 * Computes already running may still call it; wait for them to finish
 * before freeing its ud.  Any thread. */
TG_API int tg_callbacks_remove(int handle);

/* Monotonic clock in nanoseconds, as used in tg_task_info. */
TG_API uint64_t tg_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_CALLBACKS_H */
