/* graph/plan_internal.h - the immutable plan every scheduler consumes.
 *
 * A plan is the targets' graph after culling, dedupe, literal inlining and
 * fusion, in static order: task t has priority t (lower runs first), and
 * every task comes after the tasks it depends on.  It is self-contained:
 * schedulers read this header only, never graph nodes (a build check
 * enforces it).  A task is a chain of one or more ops (fused calls).
 * Each op's call names its function (a tg__fnref: registered name,
 * resolved pointer and context, or a local pointer) and holds its
 * arguments as values; the op reads its inputs from result slots:
 *
 *   slot t < n_tasks            the result of task t;
 *   slot n_tasks + j            literal j (a tg_delayed_value's value).
 *
 * An argument whose value has type TG_DELAYED is a placeholder for the
 * op's next input: op p's inputs are in[ops[p].in .. ops[p + 1].in), in
 * argument order (a list argument with placeholder items takes one input
 * per item, see TG__OP_LIST_INPUTS).  Placeholders are never
 * dereferenced.  The first op of a task reads other tasks' slots or
 * literal slots; each later op of a chain reads only its task's own slot,
 * where the previous op's result sits until the next op has run.
 *
 * A plan compiled in this process borrows its calls (with their function
 * references and arguments) and its literals from the graph, which must
 * outlive it; a decoded plan owns them.  Read-only once built, so any number of
 * threads may share it.
 */
#ifndef TG_GRAPH_PLAN_INTERNAL_H
#define TG_GRAPH_PLAN_INTERNAL_H

#include <stdatomic.h>

#include "runtime/codec_internal.h"
#include "runtime/registry_internal.h"
#include "runtime/value_internal.h"

enum {
    TG__OP_LIST_INPUTS = 1u << 0 /* a list argument holds placeholders */
};

/* A call as a plan runs it: the call's own TG_DELAYED value (whose token
 * makes its key "<fn->name>-<token as 32 hex digits>"), what it calls
 * and its arguments.  A graph node embeds one, so a plan compiled in
 * this process points at the graph's; a decoded plan owns its own. */
typedef struct tg__call {
    tg_value self;         /* TG_DELAYED; u.d.token is the call's token,
                              u.d.node is not for schedulers to read */
    const tg__fnref *fn;   /* a NULL fn->fn returns args[0] (a literal
                              target) */
    tg_value *const *args; /* nargs values; TG_DELAYED ones are inputs */
    uint32_t nargs;
    uint32_t mask; /* bit a (a < 32): argument a is an input */
} tg__call;

/* One op of a task: a call and where its inputs are.  16 bytes. */
typedef struct tg__op {
    const tg__call *call;
    uint32_t in;    /* first input in plan->in; see the file comment */
    uint32_t flags; /* TG__OP_* */
} tg__op;

typedef struct tg__plan {
    uint32_t n_tasks;
    uint32_t n_ops;
    uint32_t *op_begin; /* n_tasks + 1: task t runs ops
                           [op_begin[t], op_begin[t + 1]) */
    tg__op *ops;        /* n_ops + 1; ops[n_ops].in == n_in */
    uint32_t n_in;
    uint32_t *in;              /* n_in input slots, see the file comment */
    uint32_t n_slots;          /* n_tasks + n_literals */
    uint32_t n_literals;       /* literal j is read from slot n_tasks + j */
    tg_value **literal;        /* n_literals */
    tg__token *literal_tokens; /* n_literals: each literal's token (its
                                  key names its type) */
    uint32_t *reads;           /* n_slots: how often the first ops of tasks read
                                  each slot (repeats counted), plus one for a
                                  target; UINT32_MAX for literals */
    uint8_t *is_target;        /* n_tasks: result kept for the caller */
    size_t n_targets;
    int64_t *target_task;    /* per target: its task, or -1 when the
                                target is not a delayed value */
    tg_value **target_value; /* per target: the value itself when -1 */
    /* Task-level dependencies, for schedulers that count them; NULL
     * unless compiled with TG__PLAN_DEPS: */
    uint32_t *deps_off;              /* n_tasks + 1, CSR of distinct tasks */
    uint32_t *deps;                  /*   that each task waits for */
    uint32_t *n_users;               /* n_tasks: how many tasks wait for each */
    uint32_t *dependents_off;        /* n_tasks + 1, CSR of the tasks that */
    uint32_t *dependents;            /*   wait for each task */
    _Atomic(_Atomic(char *) *) keys; /* n_ops formatted keys, made on
                                        first use (tg__plan_key) */
    struct tg__plan_owned *owned;    /* what a decoded plan owns (its
                                        calls, functions, arguments,
                                        literals, target values); NULL
                                        when borrowed from a graph */
} tg__plan;

enum {
    TG__PLAN_FUSE = 1u << 0, /* fuse chains; else a task per call */
    TG__PLAN_DEPS = 1u << 1  /* also the task-level dependencies */
};

/* Compiles the graph of the targets (borrowed) into *out.  Targets must
 * be delayed values of one graph, or plain values (returned as they are).
 * flags: TG__PLAN_*.  Returns 0, or a negative code with tg_last_error()
 * set and *out NULL.  Caller serialises with building the graph. */
int tg__plan_compile(tg_value *const *targets, size_t n, unsigned flags,
                     tg__plan **out);
void tg__plan_free(tg__plan *p);

/* Appends the plan to e (graph/plan_codec.c): calls by registered name,
 * arguments and literals through the codec.  0, or TG_EUNSUPPORTED
 * naming the first local call, or the codec's error for a value that
 * cannot cross a wire (naming its type), or TG_ENOMEM. */
int tg__plan_encode(const tg__plan *p, tg__enc *e);
/* Decodes a plan written by tg__plan_encode, resolving each function
 * name in this process's registry and checking every index, count and
 * the static order.  0 and *out, a plan that owns everything it holds;
 * or TG_EFORMAT (malformed), TG_ENOENT (a name not registered here) or
 * TG_ENOMEM, with *out NULL. */
int tg__plan_decode(tg__dec *d, tg__plan **out);
/* Releases what a decoded plan owns (tg__plan_free calls it). */
void tg__plan_owned_free(tg__plan *p);

/* The key of op o, formatted on first use (thread-safe); borrowed, lives
 * as long as the plan.  NULL only when out of memory. */
const char *tg__plan_key(const tg__plan *p, uint32_t o);

/* The key of literal j (its type's name and token) in buf. */
void tg__plan_literal_key(const tg__plan *p, uint32_t j, char *buf,
                          size_t size);

/* Builds the task-level dependencies (deps, n_users, dependents) from
 * the inputs of each task's first op, if the plan lacks them.  0 or
 * TG_ENOMEM. */
int tg__plan_build_deps(tg__plan *p);

static inline uint32_t tg__plan_n_deps(const tg__plan *p, uint32_t t)
{
    return p->deps_off[t + 1] - p->deps_off[t];
}

static inline uint32_t tg__plan_n_dependents(const tg__plan *p, uint32_t t)
{
    return p->n_users[t];
}

/* The op whose key and name stand for task t: its last one. */
static inline uint32_t tg__plan_last_op(const tg__plan *p, uint32_t t)
{
    return p->op_begin[t + 1] - 1;
}

/* True when argument a of call c is an input placeholder. */
static inline bool tg__call_is_input(const tg__call *c, uint32_t a)
{
    return a < 32 ? (c->mask >> a) & 1 : c->args[a]->type == TG_DELAYED;
}

#endif /* TG_GRAPH_PLAN_INTERNAL_H */
