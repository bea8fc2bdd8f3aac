/* graph/plan_internal.h - the immutable plan every scheduler consumes.
 *
 * A plan is the targets' graph after culling, dedupe, literal inlining and
 * fusion, in static order: task t has priority t (lower runs first), and
 * every task comes after the tasks it depends on.  A task is a chain of
 * one or more ops (fused calls); each op after the first takes the
 * previous op's result.  Everything is in flat arrays, dependencies and
 * dependents in CSR form.  Arguments are not copied: an op reads its
 * node's.
 *
 * A run keeps results in slots, one per graph node plus one per literal
 * (see scheduler_internal.h): an op's result goes to the slot of its
 * node, and a delayed argument (graph node d) reads slot tg__plan_slot(d)
 * - the slot of d's first twin, or of the literal when d is a
 * tg_delayed_value.  So running an op never looks up its task.  A plan
 * only reads its graph, which must outlive it.  Read-only after
 * tg__plan_compile, so any number of threads may share it.
 */
#ifndef TG_GRAPH_PLAN_INTERNAL_H
#define TG_GRAPH_PLAN_INTERNAL_H

#include "graph_internal.h"

/* One call of a task.  Its function, context and arguments are read from
 * the graph node at run time; delayed arguments resolve through
 * tg__plan_slot (see schedulers/exec.c). */
typedef struct tg__op {
    tg__node *node;
} tg__op;

typedef struct tg__plan {
    tg_graph *graph;
    uint32_t n_tasks;
    uint32_t n_ops;
    uint32_t *op_begin;  /* n_tasks + 1: task t runs ops
                            [op_begin[t], op_begin[t + 1]) */
    tg__op *ops;         /* n_ops */
    uint32_t *task_slot; /* n_tasks: the slot of each task's result
                            (its last op's node) */
    uint32_t n_nodes;    /* graph nodes [0, n_nodes) are covered */
    uint32_t n_slots;    /* n_nodes + n_literals */
    uint32_t *slot;      /* n_nodes: the slot each node's value is
                            read from; NULL means identity */
    uint32_t n_literals;
    tg_value **literal; /* n_literals: the value of slot n_nodes + j,
                           borrowed from the graph */
    uint32_t *reads;    /* n_slots: how often the first ops of tasks
                           read each slot (repeats counted), plus one
                           for a target; UINT32_MAX for literals */
    /* Task-level dependencies, for schedulers that count them; NULL
     * unless compiled with TG__PLAN_DEPS: */
    uint32_t *deps_off;       /* n_tasks + 1, CSR of distinct tasks */
    uint32_t *deps;           /*   that each task waits for */
    uint32_t *n_users;        /* n_tasks: how many tasks wait for each */
    uint32_t *dependents_off; /* n_tasks + 1, CSR of the tasks that */
    uint32_t *dependents;     /*   wait for each task */
    uint8_t *is_target;       /* n_tasks: result kept for the caller */
    size_t n_targets;
    int64_t *target_task;    /* per target: its task, or -1 when the
                                target is not a delayed value */
    tg_value **target_value; /* per target: the value itself when -1 */
} tg__plan;

enum {
    TG__PLAN_FUSE = 1u << 0, /* fuse chains; else a task per call */
    TG__PLAN_DEPS = 1u << 1  /* also the task-level dependencies */
};

/* Compiles the graph of the targets (borrowed) into *out.  Targets must
 * be delayed values of one graph, or plain values (returned as they are).
 * flags: TG__PLAN_*.  Returns 0, or a negative code with tg_last_error()
 * set and *out NULL. */
int tg__plan_compile(tg_value *const *targets, size_t n, unsigned flags,
                     tg__plan **out);
void tg__plan_free(tg__plan *p);

static inline uint32_t tg__plan_n_deps(const tg__plan *p, uint32_t t)
{
    return p->deps_off[t + 1] - p->deps_off[t];
}

static inline uint32_t tg__plan_n_dependents(const tg__plan *p, uint32_t t)
{
    return p->n_users[t];
}

/* The result slot that graph node d's value is read from. */
static inline uint32_t tg__plan_slot(const tg__plan *p, uint32_t d)
{
    return p->slot ? p->slot[d] : d;
}

/* The op whose key and name stand for task t: its last one. */
static inline const tg__op *tg__plan_last_op(const tg__plan *p, uint32_t t)
{
    return &p->ops[p->op_begin[t + 1] - 1];
}

#endif /* TG_GRAPH_PLAN_INTERNAL_H */
