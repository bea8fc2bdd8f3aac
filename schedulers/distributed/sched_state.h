/* schedulers/distributed/sched_state.h - what the scheduler process knows.
 *
 * All of it belongs to the scheduler's loop thread.  A graph is what one
 * C_SUBMIT carried: the blocks of the message (task specs, dependencies,
 * targets, literals) kept as they came, plus a state per task.  Graphs
 * are reference counted: the scheduler holds one reference while the
 * graph is live, and every queued S_RUN that points into its blocks holds
 * one until written.  Tasks are numbered as in the client's plan (static
 * order), so a lower number runs first within a graph, and an earlier
 * graph first across graphs.
 */
#ifndef TG_SCHEDULERS_DISTRIBUTED_SCHED_STATE_H
#define TG_SCHEDULERS_DISTRIBUTED_SCHED_STATE_H

#include "dist_internal.h"

/* Task states. */
enum {
    ST_WAITING,    /* dependencies not all in memory */
    ST_QUEUED,     /* ready, waiting for a worker with room */
    ST_PROCESSING, /* sent to a worker */
    ST_MEMORY,     /* result held by a worker */
    ST_RELEASED    /* result dropped (or never kept) */
};

typedef struct stask {
    uint8_t state;
    uint32_t deps_left;  /* dependencies not in memory yet */
    uint32_t users_left; /* dependents not finished yet */
    uint32_t worker;     /* processing on, or held by (a worker id); 0 */
    uint64_t nbytes;     /* the result's size on the wire */
} stask;

typedef struct sworker sworker;

typedef struct sgraph {
    uint64_t gid;     /* the scheduler's id of the graph */
    uint64_t tag;     /* the client's */
    uint64_t seq;     /* submission order: lower runs first */
    int refs;         /* see the file comment */
    tg__conn *client; /* NULL once the client is gone */
    bool over;        /* done, failed or cancelled: nothing more runs */
    uint32_t n_tasks, n_literals, n_targets, targets_left;
    uint32_t in_flight; /* tasks processing */
    stask *t;
    /* the submission's blocks, as they came */
    uint8_t *specs; /* every task's spec, back to back */
    size_t specs_len;
    uint64_t *ho, *po;           /* n_tasks + 1: spec t is specs[ho[t]..ho[t+1])
                                    with pieces [po[t], po[t+1]) */
    uint32_t *deps_off, *deps;   /* the CSR of each task's dependencies */
    uint32_t *lit_off, *lit_idx; /* the CSR of each task's literals */
    uint32_t *users_off, *users; /* its transpose */
    uint32_t *targets;           /* n_targets distinct tasks */
    uint32_t *target_of; /* n_tasks: index among targets, or UINT32_MAX */
    uint8_t *lits;       /* the literals' flat values, back to back: */
    size_t lits_len;
    uint64_t *lit_at; /* n_literals + 1: literal j is
                         lits[lit_at[j]..lit_at[j + 1]) */
    void **pieces;    /* the specs' pieces */
    size_t *piece_lens;
    size_t n_pieces;
    void *err; /* the flat error the graph failed with */
    size_t err_len;
    void **res; /* n_targets flat results, as they arrive */
    size_t *res_lens;
    uint64_t **lit_sent; /* per worker id: a bitset of literals sent */
    size_t n_lit_sent;
    struct sgraph *next;
} sgraph;

struct sworker {
    tg__conn *conn; /* NULL once gone */
    uint32_t id;
    char name[64];
    char addr[128]; /* where its peers reach it */
    uint32_t nthreads;
    uint32_t cap;    /* tasks in flight at most (set_cap) */
    uint64_t run_ns; /* its tasks' recent run time, ns (0: none yet) */
    uint32_t in_flight;
    tg__enc run; /* S_RUN entries queued this iteration */
    uint32_t n_run;
    tg__kept run_refs; /* graphs the queued S_RUN points into */
    tg__enc rel;       /* S_RELEASE entries queued this iteration */
    uint32_t n_rel;
    uint64_t *forgets; /* graphs to forget, not yet sent (see graph_end) */
    uint32_t n_forgets, cap_forgets;
    sworker *next;
};

/* A ready task waiting for room (the queue is a min-heap on prio). */
typedef struct qitem {
    uint64_t prio; /* graph seq << 32 | task */
    sgraph *g;
    uint32_t t;
} qitem;

typedef struct sched {
    tg__node node;
    sgraph *graphs;
    sworker *workers;
    uint32_t next_worker_id;
    uint64_t next_gid, next_seq;
    qitem *queue;
    size_t n_queue, cap_queue;
    int worker_queue;        /* tasks in flight per thread */
    uv_timer_t forget_timer; /* sends the forgets no S_RUN took along */
    bool forget_armed;
    const char *scheduler_file;
} sched;

/* Reads the rest of a C_SUBMIT (after its tag) into g, whose blocks it
 * fills, and checks and links it (deps_left, users): 0, or a code with
 * tg_last_error() saying what is wrong (g is then half filled: free it
 * with tg__sched_graph_free). */
int tg__sched_read_graph(tg__dec *d, sgraph *g);
/* Frees g and everything it holds. */
void tg__sched_graph_free(sgraph *g);

#endif /* TG_SCHEDULERS_DISTRIBUTED_SCHED_STATE_H */
