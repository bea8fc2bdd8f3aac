/* graph/graph_internal.h - the layout of a graph and its nodes.
 *
 * A graph is an append-only array of nodes in creation order.  A call can
 * only name calls that already exist, so creation order is a topological
 * order: every pass over a graph is a loop over indices, never recursion.
 * Nodes live in blocks that never move (stable addresses); argument arrays and
 * interned names live in a bump arena freed with the graph.
 */
#ifndef TG_GRAPH_GRAPH_INTERNAL_H
#define TG_GRAPH_GRAPH_INTERNAL_H

#include "plan_internal.h"
#include "runtime/map_internal.h"
#include "runtime/registry_internal.h"
#include "runtime/value_internal.h"
#include "taskgraph/graph.h"

enum {
    TG__NODE_IMPURE = 1u << 0,   /* fresh token, never deduped */
    TG__NODE_LITERAL = 1u << 1,  /* tg_delayed_value: no function */
    TG__NODE_LIST_DEPS = 1u << 2 /* a list argument holds delayed items */
};

/* What a call calls: a function name with its function and context, and
 * the graph, interned once per distinct (name, fn, ctx, registered) per
 * graph, so that a node carries one pointer for all.  `ref` is what a
 * plan task names (plans borrow it from the graph). */
typedef struct tg__func {
    tg__fnref ref;   /* name (= str), fn (NULL for a literal), ctx,
                        registered */
    tg_graph *graph; /* owner, to reject foreign arguments */
    uint64_t hash;   /* of the name, fn and ctx: the intern table's */
    uint64_t id;     /* identity hashed into keys: the name alone when
                        registered, else the name, fn and ctx */
    uint64_t gen;    /* registry generation at which an unregistered
                        ref was last checked */
    size_t len;
    char str[]; /* the name, NUL-terminated */
} tg__func;

/* One cache line per call (checked in graph.c): the call as a plan
 * runs it, then what only the graph needs. */
typedef struct tg__node {
    tg__call call;  /* self (the TG_DELAYED value users hold; immortal),
                       fn (&func->ref), args (owned references, in the
                       graph's arena), nargs, mask of delayed arguments */
    uint32_t index; /* position in the graph: topological */
    uint16_t flags; /* TG__NODE_* */
} tg__node;

/* The interned function record of a node. */
static inline const tg__func *tg__node_func(const tg__node *n)
{
    return (const tg__func *)n->call.fn; /* ref is its first member */
}

/* Node blocks grow: block 0 holds 256 nodes, each next block twice as
 * many up to 32,768 (about 3 MiB, eligible for huge pages), then 32,768
 * each.  Small graphs stay small; big ones fault few pages. */
#define TG__BLOCK_MIN_SHIFT 8
#define TG__BLOCK_MAX_SHIFT 15
#define TG__BLOCK_GROW (TG__BLOCK_MAX_SHIFT - TG__BLOCK_MIN_SHIFT)
/* First index past the growing blocks: 256 * (2^7 - 1). */
#define TG__BLOCK_FLAT_START                                                   \
    (((size_t)1 << TG__BLOCK_MIN_SHIFT) * (((size_t)1 << TG__BLOCK_GROW) - 1))

/* Node indices stay below this: the two values above it are sentinels
 * of the plan compiler, and edge offsets need n_nodes + 1 entries. */
#define TG__MAX_NODES (UINT32_MAX - 2)

typedef struct tg__arena_chunk tg__arena_chunk;

struct tg_graph {
    tg__node **blocks; /* growing blocks, see tg__block_of */
    /* Per block, the keys formatted by tg_key: an array of key slots
     * allocated (atomically) on first use. */
    _Atomic(_Atomic(char *) *) *keys;
    size_t n_blocks;
    size_t cap_blocks;
    size_t n_nodes;
    tg__arena_chunk *arena; /* newest chunk first */
    char *arena_ptr;        /* free space in the newest chunk */
    size_t arena_left;
    size_t arena_chunk; /* size of the next chunk */
    tg__func **funcs;   /* interned functions, indexed by func_map */
    size_t n_funcs, cap_funcs;
    tg__map func_map;
    const tg__func *last_func; /* most recently interned: a fast path */
    /* Compact copies of what compiling a plan reads, so that its passes
     * stream small arrays instead of chasing node pointers: */
    uint32_t *edge_off; /* n_nodes + 1: node i's delayed arguments */
    uint32_t *edges;    /*   are edges[edge_off[i] .. edge_off[i+1]) */
    size_t n_edges;
    size_t cap_edges;
    tg_value **owned; /* every argument that is not a delayed value, */
    size_t n_owned;   /*   in recording order: the references the graph */
    size_t cap_owned; /*   drops when freed, without visiting nodes */
    uint8_t *nflags;  /* n_nodes: each node's TG__NODE_* flags */
    uint64_t *tags;   /* n_nodes: low half of each node's token */
    size_t cap_nodes; /* capacity of edge_off, nflags and tags */
};

/* Block number and offset of node index i. */
static inline size_t tg__block_of(size_t i, size_t *off)
{
    if (i < TG__BLOCK_FLAT_START) {
        size_t q = (i >> TG__BLOCK_MIN_SHIFT) + 1; /* 1 .. 127 */
        size_t k = (size_t)(63 - __builtin_clzll((unsigned long long)q));
        *off =
            i - (((size_t)1 << TG__BLOCK_MIN_SHIFT) * (((size_t)1 << k) - 1));
        return k;
    }
    size_t j = i - TG__BLOCK_FLAT_START;
    *off = j & (((size_t)1 << TG__BLOCK_MAX_SHIFT) - 1);
    return TG__BLOCK_GROW + (j >> TG__BLOCK_MAX_SHIFT);
}

static inline tg__node *tg__graph_node(const tg_graph *g, size_t i)
{
    size_t off, b = tg__block_of(i, &off);
    return &g->blocks[b][off];
}

/* The node's key, formatted on first use (thread-safe).  NULL only when
 * out of memory. */
const char *tg__node_key(tg__node *n);

/* Walks the delayed values among a node's arguments and their list
 * items, in argument order:
 *     tg__dep_iter it = {n, 0, 0};
 *     for (tg__node *d; (d = tg__dep_next(&it));) ...
 */
typedef struct tg__dep_iter {
    const tg__node *n;
    uint32_t arg; /* next argument */
    size_t item;  /* next item of a list argument */
} tg__dep_iter;

static inline tg__node *tg__dep_next(tg__dep_iter *it)
{
    const tg__node *n = it->n;
    while (it->arg < n->call.nargs) {
        const tg_value *a = n->call.args[it->arg];
        if (a->type == TG_DELAYED) {
            it->arg++;
            return a->u.d.node;
        }
        if ((n->flags & TG__NODE_LIST_DEPS) && a->type == TG_LIST) {
            while (it->item < a->u.list.n) {
                const tg_value *x = a->u.list.items[it->item++];
                if (x->type == TG_DELAYED)
                    return x->u.d.node;
            }
        }
        it->arg++;
        it->item = 0;
    }
    return NULL;
}

#endif /* TG_GRAPH_GRAPH_INTERNAL_H */
