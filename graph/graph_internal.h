/* graph/graph_internal.h - the layout of a graph and its nodes.
 *
 * A graph is an append-only array of nodes in creation order.  A call can
 * only name calls that already exist, so creation order is a topological
 * order: every pass over a graph is a loop over indices, never recursion.
 * Nodes live in fixed-size blocks (stable addresses); argument arrays and
 * interned names live in a bump arena freed with the graph.
 */
#ifndef TG_GRAPH_GRAPH_INTERNAL_H
#define TG_GRAPH_GRAPH_INTERNAL_H

#include "runtime/value_internal.h"
#include "taskgraph/graph.h"

enum {
    TG__NODE_IMPURE = 1u << 0,    /* fresh token, never deduped */
    TG__NODE_LITERAL = 1u << 1,   /* tg_delayed_value: no function */
    TG__NODE_LIST_DEPS = 1u << 2  /* a list argument holds delayed items */
};

/* An interned function name: one copy per distinct name per graph. */
typedef struct tg__name {
    uint64_t hash;
    size_t len;
    char str[]; /* NUL-terminated */
} tg__name;

typedef struct tg__node {
    tg_value self;         /* the TG_DELAYED value users hold; immortal */
    tg_graph *graph;       /* owner, to reject foreign arguments */
    const tg__name *name;  /* interned in graph */
    tg_fn fn;              /* NULL for TG__NODE_LITERAL */
    void *ctx;             /* passed to fn */
    _Atomic(char *) key;   /* "name-hex", formatted on first use */
    uint32_t index;        /* position in the graph: topological */
    uint16_t flags;        /* TG__NODE_* */
    uint32_t nargs;
    tg_value **args;       /* owned references; in the graph's arena */
} tg__node;

#define TG__BLOCK_SHIFT 12
#define TG__BLOCK_SIZE (1u << TG__BLOCK_SHIFT)

typedef struct tg__arena_chunk tg__arena_chunk;

struct tg_graph {
    tg__node **blocks;      /* blocks of TG__BLOCK_SIZE nodes */
    size_t n_blocks;
    size_t cap_blocks;
    size_t n_nodes;
    tg__arena_chunk *arena; /* newest chunk first */
    char *arena_ptr;        /* free space in the newest chunk */
    size_t arena_left;
    tg__name **names;       /* open-addressed intern table */
    size_t names_cap;       /* power of two */
    size_t n_names;
};

static inline tg__node *tg__graph_node(const tg_graph *g, size_t i)
{
    return &g->blocks[i >> TG__BLOCK_SHIFT][i & (TG__BLOCK_SIZE - 1)];
}

static inline tg__node *tg__node_of(const tg_value *v)
{
    return v->u.d.node;
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
    uint32_t arg;  /* next argument */
    size_t item;   /* next item of a list argument */
} tg__dep_iter;

static inline tg__node *tg__dep_next(tg__dep_iter *it)
{
    const tg__node *n = it->n;
    while (it->arg < n->nargs) {
        const tg_value *a = n->args[it->arg];
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
