/* schedulers/distributed/worker_state.h - what a worker process holds.
 *
 * The loop thread (worker.c) owns the store (worker_store.c), the
 * connections and every task until its inputs are here; the task threads
 * (worker_threads.c) run tasks from the queue and hand them back through
 * the done list, under the worker's lock.  See worker.c for the flow.
 */
#ifndef TG_SCHEDULERS_DISTRIBUTED_WORKER_STATE_H
#define TG_SCHEDULERS_DISTRIBUTED_WORKER_STATE_H

#include "dist_internal.h"
#include "runtime/map_internal.h"

/* Kinds of store entry. */
enum { KIND_RESULT = 0, KIND_LITERAL = 1, KIND_FETCHED = 2 };

typedef struct wtask wtask;

/* A store entry: a value of (gid, index, kind). */
typedef struct entry {
    uint64_t gid;
    uint32_t index;
    uint8_t kind;
    bool used;         /* a live entry (else on the free list) */
    tg_value *v;       /* NULL while a fetch is under way, or while a
                          result is computed here for tasks sent ahead */
    uint64_t nbytes;   /* results: their size on the wire */
    uint32_t users;    /* fetched: tasks here that need it */
    struct peer *from; /* fetched: the peer asked for it */
    wtask **waiting;   /* not here yet: tasks waiting for it */
    size_t n_waiting;
    uint32_t next_free;
} entry;

struct wtask {
    uint64_t gid;
    uint32_t t;
    uint8_t flags;                /* TG__RUN_* */
    tg__plan *plan;               /* one task; inputs in its literal slots */
    tg__task_input *in;           /* plan->n_literals */
    char **remote;                /* per input: the holder's address, or NULL */
    uint32_t missing;             /* inputs not here yet */
    tg_value *fail;               /* set: fail the task with this instead */
    wtask *prev_here, *next_here; /* in worker.here */
    /* guarded by the worker's lock: */
    wtask *then;     /* runs on this task's thread once it is done */
    uint32_t then_j; /* then's input that this task's result is */
    bool finished;
    /* set by the task thread: */
    tg_value *result;
    uint64_t nbytes;
    uint64_t run_ns; /* how long its function ran */
    bool reported;   /* W_DONE went straight from its thread */
    bool awaited;    /* guarded by the lock: tasks here wait in the store
                        for its result, so the loop must take it in */
    uint8_t *blob;   /* a target's or an error's flat encoding */
    size_t blob_len;
    wtask *next;
};

/* A peer we fetch from. */
typedef struct peer {
    char addr[128];
    tg__conn *conn; /* NULL once closed */
    bool ready;
    tg__enc get; /* P_GET entries not sent yet */
    uint32_t n_get;
    tg__enc *full; /* P_GETs ended when they reached the batch size */
    size_t n_full, cap_full;
    struct peer *next;
} peer;

typedef struct worker {
    tg__node node;
    tg__conn *sched;
    char name[96];
    int nthreads;
    pthread_t *threads;
    int n_started;
    /* the store */
    entry *e;
    uint32_t n_e, cap_e, free_e;
    tg__map map; /* may hold slots of dropped entries (stale) */
    uint32_t n_used, n_stale;
    uint64_t *live; /* gids of graphs not forgotten */
    size_t n_live, cap_live;
    peer *peers;
    /* task threads: queue and done list, guarded by lock */
    pthread_mutex_t lock;
    pthread_cond_t more;
    wtask *queue, *queue_tail, *done;
    bool quit;
    bool woken;            /* a wake of the loop is under way */
    uint32_t n_unreported; /* tasks on done that did not report */
    int n_idle;            /* threads waiting for a task */
    tg_fn short_fn;        /* the function of the last task, when short */
    uint32_t trim_round;   /* bumped by each idle trim */
    int trims_left;        /* threads yet to trim in this round */
    wtask *here; /* tasks received and not yet reported (loop thread) */
    uv_async_t wake;
    uv_timer_t held_tick; /* runs while tasks are here (see on_held_tick) */
    bool ticking;
    /* W_DONE entries queued this iteration, and the blobs they carry */
    tg__enc out;
    uint32_t n_out;
    tg__kept out_blobs; /* release: tg__free */
    /* a task thread's way to report straight to the scheduler */
    tg__lane lane;
    uint8_t *rest; /* guarded by lane.lock: what a report left unwritten */
    size_t rest_len;
} worker;

#define KEEP_ENTRIES 16384          /* store slots kept once it empties */
#define WORKER_HEAP_BLOCK (1 << 30) /* malloc: heap blocks up to this size */
#define DIRECT_MAX (64 << 10) /* the largest blob a thread reports itself */

/* ---- the store (worker_store.c; loop thread) ---- */

/* The entry of (gid, index, kind), or NULL; p is where a lookup ended. */
entry *tg__wk_find(worker *w, uint64_t gid, uint32_t index, uint8_t kind,
                   tg__map_probe *p);
/* A new entry of (gid, index, kind) with no value, or NULL (no memory). */
entry *tg__wk_add(worker *w, uint64_t gid, uint32_t index, uint8_t kind);
/* Drops x and its value. */
void tg__wk_drop(worker *w, entry *x);
/* Whether graph gid is live here (not forgotten). */
bool tg__wk_live(const worker *w, uint64_t gid);
void tg__wk_make_live(worker *w, uint64_t gid);

/* ---- task threads (worker_threads.c) ---- */

/* Starts w->nthreads task threads: 0 or a code. */
int tg__wk_start_threads(worker *w);
/* Stops them (a task running finishes first); the queue and done list
 * are left to the caller, whose tasks are all on w->here. */
void tg__wk_stop_threads(worker *w);
/* Queues k, whose inputs are all in its plan's slots, for a thread, or
 * runs it at once on the calling loop thread when every thread is idle
 * and k calls the function of the last task, which was short (a lone
 * short task then costs no wake of a thread; k is left on the done list,
 * unreported, and the loop is woken to take it in).  True when k may
 * wait behind another task (no thread was idle). */
bool tg__wk_submit(worker *w, wtask *k);
void tg__wk_task_free(wtask *k);
/* The idle trim's part on the task threads (loop thread): each gives
 * back the free top of its malloc heap, which malloc_trim leaves, and
 * the values it keeps; a busy thread does so after its task. */
void tg__wk_trim_threads(worker *w);
/* Stands in for a function this process has not registered (ctx: its
 * name): fails naming it and the worker. */
tg_value *tg__wk_missing_fn(tg_value *const *args, size_t nargs, void *ctx);
/* One W_DONE entry for k; its blob (errors and targets) is the next
 * piece, borrowed. */
int tg__wk_encode_done(tg__enc *e, const wtask *k);

#endif /* TG_SCHEDULERS_DISTRIBUTED_WORKER_STATE_H */
