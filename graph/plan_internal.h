/* graph/plan_internal.h - the immutable plan every scheduler consumes.
 *
 * A plan is the targets' graph after culling, dedupe, literal inlining and
 * fusion, in static order: task t has priority t (lower runs first), and
 * every task comes after the tasks it depends on.  A task is a chain of
 * one or more ops (fused calls); each op after the first takes the
 * previous op's result.  Everything is in flat arrays, dependencies and
 * dependents in CSR form.  A plan only reads its graph, which must outlive
 * it.  Read-only after tg__plan_compile, so any number of threads may
 * share it.
 */
#ifndef TG_GRAPH_PLAN_INTERNAL_H
#define TG_GRAPH_PLAN_INTERNAL_H

#include "graph_internal.h"

typedef enum tg__arg_kind {
    TG__ARG_LIT,  /* value: a literal owned by the graph */
    TG__ARG_TASK, /* index: the result of plan task `index` */
    TG__ARG_PREV, /* the result of the previous op of the same task */
    TG__ARG_LIST  /* a list built from items [index, index + count) */
} tg__arg_kind;

typedef struct tg__arg {
    uint32_t kind;  /* tg__arg_kind */
    uint32_t index; /* TASK: task; LIST: first item in plan->args */
    union {
        tg_value *value; /* LIT: borrowed from the graph */
        size_t count;    /* LIST: number of items */
    } u;
} tg__arg;

typedef struct tg__op {
    tg_fn fn;        /* NULL: a literal; the result is args[0]'s value */
    void *ctx;
    tg__node *node;  /* for the key and name in errors and callbacks */
    uint32_t arg_begin;
    uint32_t nargs;
} tg__op;

typedef struct tg__plan {
    tg_graph *graph;
    uint32_t n_tasks;
    uint32_t n_ops;
    uint32_t n_args;
    uint32_t *op_begin;       /* n_tasks + 1: task t runs ops
                                 [op_begin[t], op_begin[t + 1]) */
    tg__op *ops;              /* n_ops */
    tg__arg *args;            /* n_args */
    uint32_t *deps_off;       /* n_tasks + 1, CSR of distinct tasks */
    uint32_t *deps;           /*   that each task waits for */
    uint32_t *dependents_off; /* n_tasks + 1, CSR of the tasks that */
    uint32_t *dependents;     /*   wait for each task */
    uint8_t *is_target;       /* n_tasks: result kept for the caller */
    size_t n_targets;
    int64_t *target_task;     /* per target: its task, or -1 when the
                                 target is not a delayed value */
    tg_value **target_value;  /* per target: the value itself when -1 */
} tg__plan;

/* Compiles the graph of the targets (borrowed) into *out.  Targets must
 * be delayed values of one graph, or plain values (returned as they are).
 * fuse = false keeps every call a task of its own.  Returns 0, or a
 * negative code with tg_last_error() set and *out NULL. */
int tg__plan_compile(tg_value *const *targets, size_t n, bool fuse,
                     tg__plan **out);
void tg__plan_free(tg__plan *p);

static inline uint32_t tg__plan_n_deps(const tg__plan *p, uint32_t t)
{
    return p->deps_off[t + 1] - p->deps_off[t];
}

static inline uint32_t tg__plan_n_dependents(const tg__plan *p, uint32_t t)
{
    return p->dependents_off[t + 1] - p->dependents_off[t];
}

/* The op whose key and name stand for task t: its last one. */
static inline const tg__op *tg__plan_last_op(const tg__plan *p, uint32_t t)
{
    return &p->ops[p->op_begin[t + 1] - 1];
}

#endif /* TG_GRAPH_PLAN_INTERNAL_H */
