/* viz/model.c - build the drawing model from a plan.
 *
 * The graph as built is the plan compiled without fusion: every call
 * reachable from the targets, one node per distinct token (identical
 * calls share a key, as in Dask's dict-shaped graphs), in static order,
 * so a node's order is its task number; the literals its calls read
 * (tg_delayed_value) are data boxes.  The plan view draws the tasks of
 * the plan tg_compute runs instead.  Profiles record tasks under the key
 * of their last call, so the graph view finds each call's run key in the
 * fused plan, by token.  Nothing here reads the graph itself.
 */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"
#include "profiler_internal.h"
#include "runtime/alloc_internal.h"
#include "runtime/map_internal.h"

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
    tg__plan_free(vg->plan);
    tg__plan_free(vg->fused);
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
    return n->op >= 0 ? tg__plan_key(vg->plan, (uint32_t)n->op) : NULL;
}

/* A short text for a literal value ("1.5", "\"abc\"", "list[3]",
 * "frame 120×5", an object's type name), owned by vg, or NULL when out
 * of memory. */
static const char *literal_label(tg__vgraph *vg, const tg_value *v)
{
    char buf[64];
    switch (tg_typeof(v)) {
    case TG_NULL: snprintf(buf, sizeof buf, "null"); break;
    case TG_BOOL: snprintf(buf, sizeof buf, v->u.b ? "true" : "false"); break;
    case TG_INT: snprintf(buf, sizeof buf, "%lld", (long long)v->u.i); break;
    case TG_FLOAT: snprintf(buf, sizeof buf, "%.6g", v->u.f); break;
    case TG_STR:
        if (v->u.s.len <= 16) {
            snprintf(buf, sizeof buf, "\"%s\"", v->u.s.data);
        } else {
            int cut = 13; /* whole UTF-8 characters only */
            while (cut > 0 && ((uint8_t)v->u.s.data[cut] & 0xc0) == 0x80)
                cut--;
            snprintf(buf, sizeof buf, "\"%.*s...\"", cut, v->u.s.data);
        }
        break;
    case TG_LIST: snprintf(buf, sizeof buf, "list[%zu]", v->u.list.n); break;
    case TG_BYTES: snprintf(buf, sizeof buf, "bytes[%zu]", v->u.s.len); break;
    case TG_OBJECT:
    case TG_FRAME:
    case TG_NDARRAY:
        if (v->u.obj.ops && v->u.obj.ops->describe)
            v->u.obj.ops->describe(v->u.obj.ptr, buf, sizeof buf);
        else if (v->u.obj.type_name)
            snprintf(buf, sizeof buf, "%s", v->u.obj.type_name);
        else
            snprintf(buf, sizeof buf, "%s", tg_type_name(tg_typeof(v)));
        break;
    default: snprintf(buf, sizeof buf, "%s", tg_type_name(tg_typeof(v)));
    }
    return tg__vgraph_own(vg, tg__strdup(buf));
}

/* Adds boxes for targets that are plain values (nothing to compute). */
static int add_value_targets(tg_value *const *targets, size_t n, tg__vgraph *vg)
{
    for (size_t i = 0; i < n; i++) {
        if (targets[i]->type == TG_DELAYED)
            continue;
        tg__vnode vn = {.name = tg_type_name(tg_typeof(targets[i])),
                        .op = -1,
                        .run_op = -1,
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

/* "f > g > h" for a fused task, owned by vg; NULL when out of memory. */
static const char *fused_label(tg__vgraph *vg, const tg__plan *p, uint32_t t)
{
    uint32_t b = p->op_begin[t], e = p->op_begin[t + 1];
    size_t len = 1;
    for (uint32_t o = b; o < e; o++)
        len += strlen(p->ops[o].call->fn->name) + 3;
    char *s = tg__malloc(len), *w = s;
    if (!s)
        return NULL;
    for (uint32_t o = b; o < e; o++)
        w += sprintf(w, "%s%s", o > b ? " > " : "", p->ops[o].call->fn->name);
    return tg__vgraph_own(vg, s);
}

/* One node per task of vg->plan (node t is task t), then in the graph
 * view one data node per literal (node n_tasks + j is literal j: model
 * nodes are numbered as the plan's slots). */
static int add_plan_nodes(tg__vgraph *vg, bool set_order)
{
    const tg__plan *p = vg->plan;
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        uint32_t last = tg__plan_last_op(p, t);
        const tg__call *op = p->ops[last].call;
        uint32_t calls = p->op_begin[t + 1] - p->op_begin[t];
        tg__vnode vn = {.name = op->fn->name,
                        .op = last,
                        .run_op = -1,
                        .order = set_order ? (int64_t)t : -1,
                        .n_calls = calls,
                        .count = 1,
                        .n_targets = p->is_target[t],
                        .kind = op->fn->fn ? TG__VN_TASK : TG__VN_DATA};
        if (calls > 1 && !(vn.label = fused_label(vg, p, t)))
            return TG_ENOMEM;
        if (!op->fn->fn && !(vn.label = literal_label(vg, op->args[0])))
            return TG_ENOMEM;
        if (tg__vgraph_add_node(vg, &vn) < 0)
            return TG_ENOMEM;
    }
    for (uint32_t j = 0; j < p->n_literals && !vg->is_plan; j++) {
        char key[160];
        tg__plan_literal_key(p, j, key, sizeof key);
        tg__vnode vn = {.name = tg_type_name(tg_typeof(p->literal[j])),
                        .key = tg__vgraph_own(vg, tg__strdup(key)),
                        .op = -1,
                        .run_op = -1,
                        .order = -1,
                        .n_calls = 1,
                        .count = 1,
                        .kind = TG__VN_DATA};
        if (!vn.key || !(vn.label = literal_label(vg, p->literal[j]))
            || tg__vgraph_add_node(vg, &vn) < 0)
            return TG_ENOMEM;
    }
    return 0;
}

/* One edge per distinct (input slot, task) pair, from each task's first
 * op: the slot is the model node of the task or literal it reads (the
 * plan view draws no literals). */
static int add_plan_edges(tg__vgraph *vg)
{
    const tg__plan *p = vg->plan;
    uint32_t *stamp = tg__malloc(((size_t)p->n_slots + 1) * sizeof *stamp);
    if (!stamp)
        return TG_ENOMEM;
    memset(stamp, 0xff, ((size_t)p->n_slots + 1) * sizeof *stamp);
    int rc = 0;
    for (uint32_t t = 0; t < p->n_tasks && !rc; t++) {
        const tg__op *op = &p->ops[p->op_begin[t]];
        for (uint32_t k = op[0].in; k < op[1].in && !rc; k++) {
            uint32_t from = p->in[k];
            if (stamp[from] == t || (vg->is_plan && from >= p->n_tasks))
                continue;
            stamp[from] = t;
            rc = tg__vgraph_add_edge(vg, from, t, 1);
        }
    }
    tg__free(stamp);
    return rc;
}

static uint64_t token_hash(tg__token t)
{
    return tg__mix64(t.lo ^ (t.hi >> 7));
}

typedef struct op_tokens {
    const tg__plan *p;
} op_tokens;

static uint64_t op_token_hash(void *ud, uint32_t o)
{
    return token_hash(((op_tokens *)ud)->p->ops[o].call->self.u.d.token);
}

/* Gives each graph-view task node the key it runs under in the fused
 * plan: the key of the last call of the fused task holding its call. */
static int set_run_keys(tg__vgraph *vg)
{
    const tg__plan *f = vg->fused;
    op_tokens ud = {f};
    tg__map m;
    uint32_t *task_of = tg__malloc((f->n_ops ? f->n_ops : 1) * sizeof *task_of);
    int rc = task_of ? tg__map_init(&m, f->n_ops) : TG_ENOMEM;
    if (rc) {
        tg__free(task_of);
        return rc;
    }
    for (uint32_t t = 0; t < f->n_tasks; t++)
        for (uint32_t o = f->op_begin[t]; o < f->op_begin[t + 1]; o++) {
            task_of[o] = t;
            tg__map_probe p = tg__map_begin(&m, op_token_hash(&ud, o));
            while (tg__map_next(&m, &p) != TG__MAP_NONE)
                ;
            tg__map_insert(&m, &p, o);
        }
    for (size_t i = 0; i < vg->n_nodes && !rc; i++) {
        tg__vnode *vn = &vg->nodes[i];
        if (vn->op < 0)
            continue;
        tg__token tok = vg->plan->ops[vn->op].call->self.u.d.token;
        tg__map_probe p = tg__map_begin(&m, token_hash(tok));
        for (uint32_t o; (o = tg__map_next(&m, &p)) != TG__MAP_NONE;) {
            tg__token x = f->ops[o].call->self.u.d.token;
            if (x.lo != tok.lo || x.hi != tok.hi)
                continue;
            vn->run_key = tg__plan_key(f, tg__plan_last_op(f, task_of[o]));
            vn->run_op = o;
            if (!vn->run_key)
                rc = TG_ENOMEM;
            break;
        }
    }
    tg__map_close(&m);
    tg__free(task_of);
    return rc;
}

/* The state of a graph-view node whose fused task failed: the call that
 * failed is failed; the calls before it in the chain ran; those after it
 * did not. */
static uint8_t chain_state(const tg__vgraph *vg, const tg__vnode *vn,
                           const tg__prof_rec *rec)
{
    const tg__plan *f = vg->fused;
    if (!f || vn->run_op < 0 || !rec->failed_key)
        return TG__VS_FAILED;
    uint32_t o = (uint32_t)vn->run_op, lo = 0, hi = f->n_tasks;
    while (lo < hi) { /* the task holding op o */
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->op_begin[mid + 1] <= o)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t k = f->op_begin[lo]; k < f->op_begin[lo + 1]; k++) {
        const char *key = tg__plan_key(f, k);
        if (key && strcmp(key, rec->failed_key) == 0)
            return o < k    ? TG__VS_DONE
                   : o == k ? TG__VS_FAILED
                            : TG__VS_NOT_RUN;
    }
    return TG__VS_FAILED; /* failed inside a nested compute */
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
        vn->state = rec->failed ? chain_state(vg, vn, rec) : TG__VS_DONE;
        if (vn->state != TG__VS_NOT_RUN)
            vn->duration_ns = rec->end_ns - rec->begin_ns;
    }
    tg__strmap_free(&by_key);
    vg->has_profile = true;
    return 0;
}

int tg__vgraph_build(tg_value *const *targets, size_t n,
                     const tg_viz_opts *opts, bool want_order, tg__vgraph *vg)
{
    static const tg_viz_opts defaults = {0};
    const tg_viz_opts *o = opts ? opts : &defaults;
    *vg = (tg__vgraph){0};
    if (!targets || n == 0)
        return tg__seterr(TG_EINVAL, "no targets to draw");
    unsigned fuse = o->no_fuse ? 0 : TG__PLAN_FUSE;
    vg->is_plan = o->plan;
    int rc = tg__plan_compile(targets, n, TG__PLAN_DEPS | (o->plan ? fuse : 0),
                              &vg->plan);
    if (!rc)
        rc = add_plan_nodes(vg, o->plan || want_order);
    if (!rc)
        rc = add_plan_edges(vg);
    if (!rc)
        rc = add_value_targets(targets, n, vg);
    if (!rc && o->profile && !o->plan) {
        rc = tg__plan_compile(targets, n, fuse, &vg->fused);
        if (!rc)
            rc = set_run_keys(vg);
    }
    if (!rc && o->profile)
        rc = apply_profile(o->profile, vg);
    if (rc)
        tg__vgraph_free(vg);
    return rc;
}
