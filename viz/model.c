/* viz/model.c - build the drawing model from a graph or its plan.
 *
 * The graph as built: every call reachable from the targets, one node per
 * distinct token (identical calls share a key, as in Dask's dict-shaped
 * graphs), literals as data boxes.  Reachability walks node indices
 * downwards (creation order is topological), so nothing recurses.  The
 * plan view draws plan tasks instead.  Orders come from a plan without
 * fusion (each call's priority); profile keys from the plan that
 * tg_compute runs (fused unless opts->no_fuse), as profiles record tasks
 * under the key of their last call.
 */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"
#include "profiler_internal.h"
#include "runtime/alloc_internal.h"

#define NONE UINT32_MAX

long tg__vgraph_add_node(tg__vgraph *vg, const tg__vnode *n)
{
    if (vg->n_nodes == vg->cap_nodes) {
        size_t cap = vg->cap_nodes ? vg->cap_nodes * 2 : 64;
        tg__vnode *p = tg__realloc(vg->nodes, cap * sizeof *p);
        if (!p)
            return -1;
        vg->nodes = p;
        vg->cap_nodes = cap;
    }
    vg->nodes[vg->n_nodes] = *n;
    vg->n_tasks += n->kind == TG__VN_TASK;
    return (long)vg->n_nodes++;
}

int tg__vgraph_add_edge(tg__vgraph *vg, uint32_t from, uint32_t to,
                        uint32_t count)
{
    if (vg->n_edges == vg->cap_edges) {
        size_t cap = vg->cap_edges ? vg->cap_edges * 2 : 64;
        tg__vedge *p = tg__realloc(vg->edges, cap * sizeof *p);
        if (!p)
            return TG_ENOMEM;
        vg->edges = p;
        vg->cap_edges = cap;
    }
    vg->edges[vg->n_edges++] = (tg__vedge){from, to, count};
    return 0;
}

char *tg__vgraph_own(tg__vgraph *vg, char *s)
{
    if (!s)
        return NULL;
    if (vg->n_owned == vg->cap_owned) {
        size_t cap = vg->cap_owned ? vg->cap_owned * 2 : 16;
        char **p = tg__realloc(vg->owned, cap * sizeof *p);
        if (!p) {
            tg__free(s);
            return NULL;
        }
        vg->owned = p;
        vg->cap_owned = cap;
    }
    return vg->owned[vg->n_owned++] = s;
}

void tg__vgraph_free(tg__vgraph *vg)
{
    for (size_t i = 0; i < vg->n_owned; i++)
        tg__free(vg->owned[i]);
    tg__free(vg->owned);
    tg__free(vg->nodes);
    tg__free(vg->edges);
    *vg = (tg__vgraph){0};
}

const char *tg__vnode_key(const tg__vgraph *vg, size_t i)
{
    const tg__vnode *n = &vg->nodes[i];
    if (n->key)
        return n->key;
    return n->gnode ? tg__node_key(n->gnode) : NULL;
}

/* A short text for a literal value ("1.5", "\"abc\"", "list[3]"), owned
 * by vg, or NULL when out of memory. */
static const char *literal_label(tg__vgraph *vg, const tg_value *v)
{
    char buf[64];
    switch (tg_typeof(v)) {
    case TG_NULL: snprintf(buf, sizeof buf, "null"); break;
    case TG_BOOL: snprintf(buf, sizeof buf, v->u.b ? "true" : "false"); break;
    case TG_INT: snprintf(buf, sizeof buf, "%lld", (long long)v->u.i); break;
    case TG_FLOAT: snprintf(buf, sizeof buf, "%.6g", v->u.f); break;
    case TG_STR:
        if (v->u.s.len <= 16)
            snprintf(buf, sizeof buf, "\"%s\"", v->u.s.data);
        else
            snprintf(buf, sizeof buf, "\"%.13s...\"", v->u.s.data);
        break;
    case TG_LIST: snprintf(buf, sizeof buf, "list[%zu]", v->u.list.n); break;
    case TG_BYTES: snprintf(buf, sizeof buf, "bytes[%zu]", v->u.s.len); break;
    default: snprintf(buf, sizeof buf, "%s", tg_type_name(tg_typeof(v)));
    }
    return tg__vgraph_own(vg, tg__strdup(buf));
}

/* Shared state of the graph-view builder; arrays sized by graph index. */
typedef struct builder {
    tg_graph *g;
    uint32_t n;      /* indices [0, n) matter */
    uint8_t *live;   /* reached from a target */
    uint32_t *canon; /* first live node with the same token */
    uint32_t *vidx;  /* model node of each canonical live node */
} builder;

static void builder_free(builder *b)
{
    tg__free(b->live);
    tg__free(b->canon);
    tg__free(b->vidx);
}

/* Maps each live node to the first live node with its token. */
static int dedupe(builder *b)
{
    size_t cap = 64;
    for (uint32_t i = 0; i < b->n; i++)
        cap += b->live[i] ? 2 : 0;
    size_t pow = 64;
    while (pow < cap)
        pow *= 2;
    uint32_t *t = tg__malloc(pow * sizeof *t);
    if (!t)
        return TG_ENOMEM;
    memset(t, 0xff, pow * sizeof *t);
    for (uint32_t i = 0; i < b->n; i++) {
        if (!b->live[i])
            continue;
        tg__token tok = tg__graph_node(b->g, i)->self.u.d.token;
        size_t k = (size_t)(tok.lo ^ (tok.hi >> 7)) & (pow - 1);
        for (;; k = (k + 1) & (pow - 1)) {
            if (t[k] == NONE) {
                t[k] = b->canon[i] = i;
                break;
            }
            tg__token o = tg__graph_node(b->g, t[k])->self.u.d.token;
            if (o.lo == tok.lo && o.hi == tok.hi) {
                b->canon[i] = t[k];
                break;
            }
        }
    }
    tg__free(t);
    return 0;
}

/* Adds one model node per canonical live node, in creation order. */
static int add_graph_nodes(builder *b, tg__vgraph *vg)
{
    for (uint32_t i = 0; i < b->n; i++) {
        b->vidx[i] = NONE;
        if (!b->live[i] || b->canon[i] != i)
            continue;
        tg__node *nd = tg__graph_node(b->g, i);
        bool lit = nd->flags & TG__NODE_LITERAL;
        tg__vnode vn = {.name = nd->func->str,
                        .gnode = nd,
                        .order = -1,
                        .n_calls = 1,
                        .count = 1,
                        .kind = lit ? TG__VN_DATA : TG__VN_TASK};
        if (lit && !(vn.label = literal_label(vg, nd->args[0])))
            return TG_ENOMEM;
        long k = tg__vgraph_add_node(vg, &vn);
        if (k < 0)
            return TG_ENOMEM;
        b->vidx[i] = (uint32_t)k;
    }
    return 0;
}

/* One edge per distinct (dependency, consumer) pair. */
static int add_graph_edges(builder *b, tg__vgraph *vg)
{
    uint32_t *stamp = tg__malloc(((size_t)vg->n_nodes + 1) * sizeof *stamp);
    if (!stamp)
        return TG_ENOMEM;
    memset(stamp, 0xff, ((size_t)vg->n_nodes + 1) * sizeof *stamp);
    int rc = 0;
    for (uint32_t i = 0; i < b->n && !rc; i++) {
        if (b->vidx[i] == NONE)
            continue;
        tg__dep_iter it = {tg__graph_node(b->g, i), 0, 0};
        for (tg__node *d; !rc && (d = tg__dep_next(&it));) {
            uint32_t from = b->vidx[b->canon[d->index]];
            if (stamp[from] == b->vidx[i])
                continue;
            stamp[from] = b->vidx[i];
            rc = tg__vgraph_add_edge(vg, from, b->vidx[i], 1);
        }
    }
    tg__free(stamp);
    return rc;
}

/* Adds boxes for targets that are plain values (nothing to compute). */
static int add_value_targets(tg_value *const *targets, size_t n, tg__vgraph *vg)
{
    for (size_t i = 0; i < n; i++) {
        if (targets[i]->type == TG_DELAYED)
            continue;
        tg__vnode vn = {.name = tg_type_name(tg_typeof(targets[i])),
                        .order = -1,
                        .n_calls = 1,
                        .count = 1,
                        .n_targets = 1,
                        .kind = TG__VN_DATA};
        if (!(vn.label = literal_label(vg, targets[i]))
            || tg__vgraph_add_node(vg, &vn) < 0)
            return TG_ENOMEM;
    }
    return 0;
}

static int build_graph_view(tg_value *const *targets, size_t n, tg_graph *g,
                            tg__vgraph *vg)
{
    builder b = {.g = g};
    for (size_t i = 0; i < n; i++)
        if (targets[i]->type == TG_DELAYED
            && targets[i]->u.d.node->index + 1 > b.n)
            b.n = targets[i]->u.d.node->index + 1;
    size_t sz = b.n ? b.n : 1;
    b.live = tg__calloc(sz, 1);
    b.canon = tg__malloc(sz * sizeof *b.canon);
    b.vidx = tg__malloc(sz * sizeof *b.vidx);
    int rc = TG_ENOMEM;
    if (!b.live || !b.canon || !b.vidx)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (targets[i]->type == TG_DELAYED)
            b.live[targets[i]->u.d.node->index] = 1;
    for (uint32_t i = b.n; i-- > 0;) {
        if (!b.live[i])
            continue;
        tg__dep_iter it = {tg__graph_node(g, i), 0, 0};
        for (tg__node *d; (d = tg__dep_next(&it));)
            b.live[d->index] = 1;
    }
    if ((rc = dedupe(&b)) || (rc = add_graph_nodes(&b, vg))
        || (rc = add_graph_edges(&b, vg)))
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (targets[i]->type == TG_DELAYED) {
            uint32_t k = b.vidx[b.canon[targets[i]->u.d.node->index]];
            vg->nodes[k].n_targets = 1;
        }
    rc = add_value_targets(targets, n, vg);
fail:
    builder_free(&b);
    return rc;
}

/* "f > g > h" for a fused task, owned by vg; NULL when out of memory. */
static const char *fused_label(tg__vgraph *vg, const tg__plan *p, uint32_t t)
{
    uint32_t b = p->op_begin[t], e = p->op_begin[t + 1];
    size_t len = 1;
    for (uint32_t o = b; o < e; o++)
        len += p->ops[o].node->func->len + 3;
    char *s = tg__malloc(len), *w = s;
    if (!s)
        return NULL;
    for (uint32_t o = b; o < e; o++)
        w += sprintf(w, "%s%s", o > b ? " > " : "", p->ops[o].node->func->str);
    return tg__vgraph_own(vg, s);
}

static int build_plan_view(const tg__plan *p, tg__vgraph *vg)
{
    vg->is_plan = true;
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        const tg__op *last = tg__plan_last_op(p, t);
        uint32_t calls = p->op_begin[t + 1] - p->op_begin[t];
        tg__vnode vn = {.name = last->node->func->str,
                        .gnode = last->node,
                        .order = t,
                        .n_calls = calls,
                        .count = 1,
                        .n_targets = p->is_target[t],
                        .kind =
                            last->node->func->fn ? TG__VN_TASK : TG__VN_DATA};
        if (calls > 1 && !(vn.label = fused_label(vg, p, t)))
            return TG_ENOMEM;
        if (!last->node->func->fn
            && !(vn.label = literal_label(vg, last->node->args[0])))
            return TG_ENOMEM;
        if (tg__vgraph_add_node(vg, &vn) < 0)
            return TG_ENOMEM;
    }
    for (uint32_t t = 0; t < p->n_tasks; t++)
        for (uint32_t e = p->deps_off[t]; e < p->deps_off[t + 1]; e++)
            if (tg__vgraph_add_edge(vg, p->deps[e], t, 1))
                return TG_ENOMEM;
    return 0;
}

/* Sets the order (or the profile key) of each graph-view node from the
 * plan task that runs its call. */
static int annotate_from_plan(tg_value *const *targets, size_t n, bool fuse,
                              bool set_order, tg__vgraph *vg)
{
    tg__plan *p;
    int rc = tg__plan_compile(targets, n,
                              TG__PLAN_DEPS | (fuse ? TG__PLAN_FUSE : 0), &p);
    if (rc)
        return rc;
    size_t n_idx = 0;
    for (size_t i = 0; i < vg->n_nodes; i++)
        if (vg->nodes[i].gnode && vg->nodes[i].gnode->index + 1 > n_idx)
            n_idx = vg->nodes[i].gnode->index + 1;
    uint32_t *task_of = tg__malloc((n_idx ? n_idx : 1) * sizeof *task_of);
    if (!task_of) {
        tg__plan_free(p);
        return TG_ENOMEM;
    }
    memset(task_of, 0xff, (n_idx ? n_idx : 1) * sizeof *task_of);
    for (uint32_t t = 0; t < p->n_tasks; t++)
        for (uint32_t o = p->op_begin[t]; o < p->op_begin[t + 1]; o++)
            if (p->ops[o].node->index < n_idx)
                task_of[p->ops[o].node->index] = t;
    for (size_t i = 0; i < vg->n_nodes && !rc; i++) {
        tg__vnode *vn = &vg->nodes[i];
        uint32_t t = vn->gnode ? task_of[vn->gnode->index] : NONE;
        if (t == NONE)
            continue;
        if (set_order)
            vn->order = t;
        else if (!(vn->run_key = tg__node_key(tg__plan_last_op(p, t)->node)))
            rc = TG_ENOMEM;
    }
    tg__free(task_of);
    tg__plan_free(p);
    return rc;
}

/* Looks each node's run key up in the profile. */
static int apply_profile(const tg_profiler *prof, tg__vgraph *vg)
{
    tg__strmap by_key;
    if (tg__profiler_index(prof, &by_key))
        return TG_ENOMEM;
    for (size_t i = 0; i < vg->n_nodes; i++) {
        tg__vnode *vn = &vg->nodes[i];
        const char *k = vn->run_key ? vn->run_key : tg__vnode_key(vg, i);
        if (vn->kind != TG__VN_TASK && !vn->run_key)
            continue;
        uint32_t r = k ? tg__strmap_get(&by_key, k) : TG__STRMAP_NONE;
        if (r == TG__STRMAP_NONE) {
            vn->state = TG__VS_NOT_RUN;
            continue;
        }
        const tg__prof_rec *rec = &prof->recs[r];
        vn->state = rec->failed ? TG__VS_FAILED : TG__VS_DONE;
        vn->duration_ns = rec->end_ns - rec->begin_ns;
    }
    tg__strmap_free(&by_key);
    vg->has_profile = true;
    return 0;
}

/* Checks the targets and finds their graph (NULL if none is delayed). */
static int check_targets(tg_value *const *targets, size_t n, tg_graph **g)
{
    *g = NULL;
    if (!targets || n == 0)
        return tg__seterr(TG_EINVAL, "no targets to draw");
    for (size_t i = 0; i < n; i++) {
        if (!targets[i])
            return tg__seterr(TG_EINVAL, "target %zu is NULL", i);
        if (targets[i]->type != TG_DELAYED)
            continue;
        if (*g && targets[i]->u.d.node->func->graph != *g)
            return tg__seterr(TG_EINVAL, "targets belong to different "
                                         "graphs");
        *g = targets[i]->u.d.node->func->graph;
    }
    return 0;
}

int tg__vgraph_build(tg_value *const *targets, size_t n,
                     const tg_viz_opts *opts, bool want_order, tg__vgraph *vg)
{
    static const tg_viz_opts defaults = {0};
    const tg_viz_opts *o = opts ? opts : &defaults;
    tg_graph *g;
    tg__plan *p = NULL;
    *vg = (tg__vgraph){0};
    int rc = check_targets(targets, n, &g);
    if (rc)
        return rc;
    if (o->plan) {
        if (!(rc = tg__plan_compile(
                  targets, n, TG__PLAN_DEPS | (o->no_fuse ? 0 : TG__PLAN_FUSE),
                  &p)))
            rc = build_plan_view(p, vg);
    } else {
        rc = g ? build_graph_view(targets, n, g, vg)
               : add_value_targets(targets, n, vg);
        if (!rc && g && want_order)
            rc = annotate_from_plan(targets, n, false, true, vg);
        if (!rc && g && o->profile)
            rc = annotate_from_plan(targets, n, !o->no_fuse, false, vg);
    }
    if (!rc && o->profile)
        rc = apply_profile(o->profile, vg);
    /* Plan keys live in the graph; the plan itself may go. */
    tg__plan_free(p);
    if (rc)
        tg__vgraph_free(vg);
    return rc;
}
