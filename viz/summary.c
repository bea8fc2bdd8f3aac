/* viz/summary.c - the summarized graph: one node per function name.
 *
 * Large graphs are drawn as their "key prefixes" (Dask's key_split): all
 * tasks of one function become one node with their count, and all edges
 * between two groups one edge with theirs.  The work is two hash lookups
 * per node and per edge, so a graph of millions of calls summarizes in
 * a fraction of a second and draws as a handful of nodes.
 */
#include <string.h>

#include "model_internal.h"
#include "runtime/alloc_internal.h"
#include "runtime/value_internal.h"
#include "strmap_internal.h"

#define NONE UINT32_MAX

bool tg__viz_should_summarize(const tg_viz_opts *opts, size_t n_tasks)
{
    long above = opts && opts->summarize_above ? opts->summarize_above
                                               : TG_VIZ_SUMMARIZE_ABOVE;
    return above >= 0 && n_tasks > (size_t)above;
}

/* Edge groups: an open-addressed table of (from, to) group pairs. */
typedef struct pair_table {
    uint64_t *pairs; /* from << 32 | to; UINT64_MAX = empty */
    uint32_t *edge;  /* index in the output's edges */
    size_t cap;
} pair_table;

static uint32_t *pair_slot(pair_table *t, uint64_t pair)
{
    size_t k = (size_t)(pair * 0x9E3779B97F4A7C15ull >> 20) & (t->cap - 1);
    while (t->pairs[k] != UINT64_MAX && t->pairs[k] != pair)
        k = (k + 1) & (t->cap - 1);
    if (t->pairs[k] == UINT64_MAX) {
        t->pairs[k] = pair;
        t->edge[k] = NONE;
    }
    return &t->edge[k];
}

/* Folds node i of in into its group's node of out. */
static void fold_node(const tg__vnode *n, tg__vnode *g, double *order_sum,
                      size_t *n_ordered)
{
    g->count++;
    g->n_targets += n->n_targets;
    g->duration_ns += n->duration_ns;
    if (n->order >= 0) {
        *order_sum += (double)n->order;
        (*n_ordered)++;
    }
    if (n->state == TG__VS_FAILED || g->state == TG__VS_FAILED)
        g->state = TG__VS_FAILED;
    else if (g->state == TG__VS_UNKNOWN)
        g->state = n->state;
    else if (g->state != n->state)
        g->state = TG__VS_PARTIAL;
}

/* One output node per (kind, name); group_of[i] is node i's group. */
static int group_nodes(const tg__vgraph *in, tg__vgraph *out,
                       uint32_t *group_of)
{
    tg__strmap by_name[2] = {{0}, {0}};
    double *order_sum = NULL;
    size_t *n_ordered = NULL;
    int rc = TG_ENOMEM;
    for (size_t i = 0; i < in->n_nodes; i++) {
        const tg__vnode *n = &in->nodes[i];
        tg__strmap *m = &by_name[n->kind == TG__VN_DATA];
        uint32_t k = tg__strmap_get(m, n->name);
        if (k == TG__STRMAP_NONE) {
            tg__vnode g = {.name = n->name,
                           .op = -1,
                           .order = -1,
                           .n_calls = 1,
                           .kind = n->kind};
            long idx = tg__vgraph_add_node(out, &g);
            if (idx < 0 || tg__strmap_put(m, n->name, (uint32_t)idx))
                goto fail;
            k = (uint32_t)idx;
            double *os = tg__realloc(order_sum, out->n_nodes * sizeof *os);
            size_t *no =
                os ? tg__realloc(n_ordered, out->n_nodes * sizeof *no) : NULL;
            if (os)
                order_sum = os;
            if (!no)
                goto fail;
            n_ordered = no;
            order_sum[k] = 0.0;
            n_ordered[k] = 0;
        }
        group_of[i] = k;
        fold_node(n, &out->nodes[k], &order_sum[k], &n_ordered[k]);
    }
    for (size_t k = 0; k < out->n_nodes; k++)
        if (n_ordered[k])
            out->nodes[k].order =
                (int64_t)(order_sum[k] / (double)n_ordered[k] + 0.5);
    rc = 0;
fail:
    tg__strmap_free(&by_name[0]);
    tg__strmap_free(&by_name[1]);
    tg__free(order_sum);
    tg__free(n_ordered);
    return rc;
}

static int group_edges(const tg__vgraph *in, tg__vgraph *out,
                       const uint32_t *group_of)
{
    size_t cap = 64;
    while (cap < out->n_nodes * out->n_nodes * 2 && cap < in->n_edges * 2)
        cap *= 2;
    pair_table t = {tg__malloc(cap * sizeof(uint64_t)),
                    tg__malloc(cap * sizeof(uint32_t)), cap};
    int rc = TG_ENOMEM;
    if (!t.pairs || !t.edge)
        goto fail;
    memset(t.pairs, 0xff, cap * sizeof(uint64_t));
    for (size_t e = 0; e < in->n_edges; e++) {
        uint32_t from = group_of[in->edges[e].from];
        uint32_t to = group_of[in->edges[e].to];
        uint32_t *slot = pair_slot(&t, (uint64_t)from << 32 | to);
        if (*slot == NONE) {
            if (tg__vgraph_add_edge(out, from, to, 0))
                goto fail;
            *slot = (uint32_t)(out->n_edges - 1);
        }
        out->edges[*slot].count += in->edges[e].count;
    }
    rc = 0;
fail:
    tg__free(t.pairs);
    tg__free(t.edge);
    return rc;
}

int tg__vgraph_summarize(const tg__vgraph *in, tg__vgraph *out)
{
    *out = (tg__vgraph){.is_plan = in->is_plan,
                        .is_summary = true,
                        .has_profile = in->has_profile};
    uint32_t *group_of =
        tg__malloc((in->n_nodes ? in->n_nodes : 1) * sizeof *group_of);
    int rc = group_of ? group_nodes(in, out, group_of) : TG_ENOMEM;
    if (!rc)
        rc = group_edges(in, out, group_of);
    tg__free(group_of);
    if (rc) {
        tg__vgraph_free(out);
        return rc;
    }
    /* A group stands for its tasks: count them, not the groups. */
    out->n_tasks = in->n_tasks;
    return 0;
}
