/* graph/plan.c - compile the targets' graph into an immutable plan.
 *
 * Passes, each a loop over node indices or an explicit stack (never
 * recursion, so a chain of ten million calls compiles):
 *   1. cull:   mark what the targets reach, walking indices downwards
 *              (creation order is topological);
 *   2. dedupe: map each live node to the first live node with its token;
 *   3. edges:  distinct task dependencies, literals inlined away;
 *   4. order:  depth-first post-order from the targets, like dask.order:
 *              finish a branch before starting the next, so intermediates
 *              die early and memory stays low;
 *   5. fuse:   a call whose only input has no other consumer joins it;
 *   6. emit:   flat arrays and CSR (see plan_internal.h).
 */
#include <string.h>

#include "plan_internal.h"
#include "runtime/alloc_internal.h"

#define NONE UINT32_MAX

typedef struct compiler {
    tg_graph *g;
    uint32_t n;            /* nodes considered: [0, n) */
    uint8_t *live;         /* n: reached from a target */
    uint8_t *target;       /* n: canonical node is a target */
    uint32_t *canon;       /* n: first live node with the same token */
    uint32_t *edge_off;    /* n + 1: distinct task deps of task nodes */
    uint32_t *edges;
    uint32_t *n_users;     /* n: tasks that depend on each task node */
    uint32_t *order;       /* task nodes in static order */
    uint32_t n_order;
    uint32_t *task_of;     /* n: plan task of each ordered node */
    uint8_t *fused;        /* n_order: joins the previous op's task */
} compiler;

static bool is_literal(const compiler *c, uint32_t i)
{
    return tg__graph_node(c->g, i)->flags & TG__NODE_LITERAL;
}

/* A node becomes a task when it is canonical and not a literal that its
 * consumers inline (a literal target still gets a task). */
static bool is_task(const compiler *c, uint32_t i)
{
    return c->live[i] && c->canon[i] == i
           && (c->target[i] || !is_literal(c, i));
}

static void cull(compiler *c)
{
    for (uint32_t i = c->n; i-- > 0;) {
        if (!c->live[i])
            continue;
        tg__dep_iter it = {tg__graph_node(c->g, i), 0, 0};
        for (tg__node *d; (d = tg__dep_next(&it));)
            c->live[d->index] = 1;
    }
}

static int dedupe(compiler *c)
{
    size_t n_live = 0;
    for (uint32_t i = 0; i < c->n; i++)
        n_live += c->live[i];
    size_t cap = 16;
    while (cap < n_live * 2)
        cap *= 2;
    struct slot {
        uint64_t lo;
        uint32_t node; /* NONE: empty */
    } *t = tg__malloc(cap * sizeof *t);
    if (!t)
        return TG_ENOMEM;
    for (size_t k = 0; k < cap; k++)
        t[k].node = NONE;
    for (uint32_t i = 0; i < c->n; i++) {
        if (!c->live[i])
            continue;
        const tg__token tok = tg__graph_node(c->g, i)->self.u.d.token;
        size_t k = (tok.lo ^ (tok.hi >> 7)) & (cap - 1);
        for (;; k = (k + 1) & (cap - 1)) {
            if (t[k].node == NONE) {
                t[k] = (struct slot){tok.lo, i};
                c->canon[i] = i;
                break;
            }
            if (t[k].lo != tok.lo)
                continue;
            const tg__token o = tg__graph_node(c->g, t[k].node)->self.u.d.token;
            if (o.hi == tok.hi) {
                c->canon[i] = t[k].node;
                break;
            }
        }
    }
    tg__free(t);
    return 0;
}

/* CSR of each task node's distinct canonical task dependencies. */
static int build_edges(compiler *c)
{
    size_t cap = 1024, n_edges = 0;
    uint32_t *stamp = tg__malloc(c->n * sizeof *stamp);
    c->edges = tg__malloc(cap * sizeof *c->edges);
    if (!stamp || !c->edges) {
        tg__free(stamp);
        return TG_ENOMEM;
    }
    memset(stamp, 0xff, c->n * sizeof *stamp);
    for (uint32_t i = 0; i < c->n; i++) {
        c->edge_off[i] = (uint32_t)n_edges;
        if (!is_task(c, i))
            continue;
        tg__dep_iter it = {tg__graph_node(c->g, i), 0, 0};
        for (tg__node *dn; (dn = tg__dep_next(&it));) {
            uint32_t d = c->canon[dn->index];
            if (stamp[d] == i || !is_task(c, d))
                continue;
            stamp[d] = i;
            if (n_edges == cap) {
                uint32_t *e = tg__realloc(c->edges, 2 * cap * sizeof *e);
                if (!e) {
                    tg__free(stamp);
                    return TG_ENOMEM;
                }
                c->edges = e, cap *= 2;
            }
            c->edges[n_edges++] = d;
            c->n_users[d]++;
        }
    }
    c->edge_off[c->n] = (uint32_t)n_edges;
    tg__free(stamp);
    return 0;
}

/* Depth-first post-order from each target in turn: a task is emitted
 * right after its last dependency, branches one at a time. */
static int order(compiler *c, const uint32_t *roots, size_t n_roots)
{
    struct frame {
        uint32_t node, next;
    } *stack = tg__malloc((size_t)c->n * sizeof *stack);
    uint8_t *state = tg__calloc(c->n, 1); /* 0 new, 1 open, 2 done */
    c->order = tg__malloc((size_t)c->n * sizeof *c->order);
    if (!stack || !state || !c->order) {
        tg__free(stack);
        tg__free(state);
        return TG_ENOMEM;
    }
    for (size_t r = 0; r < n_roots; r++) {
        if (roots[r] == NONE || state[roots[r]])
            continue;
        size_t sp = 0;
        stack[sp++] = (struct frame){roots[r], c->edge_off[roots[r]]};
        state[roots[r]] = 1;
        while (sp) {
            struct frame *f = &stack[sp - 1];
            if (f->next < c->edge_off[f->node + 1]) {
                uint32_t d = c->edges[f->next++];
                if (!state[d]) {
                    state[d] = 1;
                    stack[sp++] = (struct frame){d, c->edge_off[d]};
                }
                continue;
            }
            state[f->node] = 2;
            c->order[c->n_order++] = f->node;
            sp--;
        }
    }
    tg__free(stack);
    tg__free(state);
    return 0;
}

/* Marks ops that join the previous op's task and numbers the tasks.  A
 * node joins when its only dependency is the node just before it in the
 * order, which nothing else uses and which is not a target. */
static uint32_t fuse(compiler *c, bool enabled)
{
    uint32_t n_tasks = 0;
    for (uint32_t p = 0; p < c->n_order; p++) {
        uint32_t i = c->order[p];
        bool join = false;
        if (enabled && p > 0 && c->edge_off[i + 1] - c->edge_off[i] == 1) {
            uint32_t d = c->edges[c->edge_off[i]];
            join = d == c->order[p - 1] && c->n_users[d] == 1
                   && !c->target[d];
        }
        c->fused[p] = join;
        if (!join)
            n_tasks++;
        c->task_of[i] = n_tasks - 1;
    }
    return n_tasks;
}

/* Translates one argument (or list item) of the op at order position p. */
static tg__arg translate(const compiler *c, uint32_t p, tg_value *a)
{
    if (a->type != TG_DELAYED)
        return (tg__arg){TG__ARG_LIT, 0, 0, a};
    uint32_t d = c->canon[a->u.d.node->index];
    if (is_literal(c, d)) /* inline: the consumer gets the value */
        return (tg__arg){TG__ARG_LIT, 0, 0, tg__graph_node(c->g, d)->args[0]};
    if (c->fused[p] && d == c->order[p - 1])
        return (tg__arg){TG__ARG_PREV, 0, 0, NULL};
    return (tg__arg){TG__ARG_TASK, c->task_of[d], 0, NULL};
}

static int emit_args(const compiler *c, tg__plan *pl)
{
    size_t n_args = 0, cap = 1024;
    pl->args = tg__malloc(cap * sizeof *pl->args);
    if (!pl->args)
        return TG_ENOMEM;
    for (uint32_t p = 0; p < c->n_order; p++) {
        tg__node *nd = tg__graph_node(c->g, c->order[p]);
        size_t need = nd->nargs;
        for (uint32_t a = 0; a < nd->nargs; a++)
            if ((nd->flags & TG__NODE_LIST_DEPS)
                && nd->args[a]->type == TG_LIST)
                need += nd->args[a]->u.list.n;
        if (n_args + need > UINT32_MAX)
            return tg__seterr(TG_ENOMEM, "plan: too many arguments");
        while (n_args + need > cap) {
            tg__arg *b = tg__realloc(pl->args, 2 * cap * sizeof *b);
            if (!b)
                return TG_ENOMEM;
            pl->args = b, cap *= 2;
        }
        tg__op *op = &pl->ops[p];
        *op = (tg__op){nd->fn, nd->ctx, nd, (uint32_t)n_args, nd->nargs};
        size_t items = n_args + nd->nargs;
        for (uint32_t a = 0; a < nd->nargs; a++) {
            tg_value *v = nd->args[a];
            if ((nd->flags & TG__NODE_LIST_DEPS) && v->type == TG_LIST) {
                pl->args[n_args + a] = (tg__arg){
                    TG__ARG_LIST, (uint32_t)items, (uint32_t)v->u.list.n,
                    v};
                for (size_t k = 0; k < v->u.list.n; k++)
                    pl->args[items++] = translate(c, p, v->u.list.items[k]);
            } else if (nd->fn == NULL) {
                pl->args[n_args + a] = (tg__arg){TG__ARG_LIT, 0, 0, v};
            } else {
                pl->args[n_args + a] = translate(c, p, v);
            }
        }
        n_args = items;
    }
    pl->n_args = (uint32_t)n_args;
    return 0;
}

/* Task-level CSR: a task's dependencies are its first op's (later ops
 * only take the previous op's result); dependents are the transpose. */
static int emit_edges(const compiler *c, tg__plan *pl)
{
    uint32_t nt = pl->n_tasks;
    pl->deps_off = tg__malloc((nt + 1) * sizeof(uint32_t));
    pl->dependents_off = tg__calloc(nt + 2, sizeof(uint32_t));
    pl->is_target = tg__calloc(nt ? nt : 1, 1);
    if (!pl->deps_off || !pl->dependents_off || !pl->is_target)
        return TG_ENOMEM;
    size_t n_edges = 0;
    for (uint32_t t = 0; t < nt; t++) {
        uint32_t i = c->order[pl->op_begin[t]];
        n_edges += c->edge_off[i + 1] - c->edge_off[i];
    }
    pl->deps = tg__malloc((n_edges ? n_edges : 1) * sizeof(uint32_t));
    pl->dependents = tg__malloc((n_edges ? n_edges : 1) * sizeof(uint32_t));
    if (!pl->deps || !pl->dependents)
        return TG_ENOMEM;
    uint32_t k = 0;
    for (uint32_t t = 0; t < nt; t++) {
        pl->deps_off[t] = k;
        uint32_t i = c->order[pl->op_begin[t]];
        for (uint32_t e = c->edge_off[i]; e < c->edge_off[i + 1]; e++) {
            uint32_t d = c->task_of[c->edges[e]];
            pl->deps[k++] = d;
            pl->dependents_off[d + 2]++;
        }
        pl->is_target[t] = c->target[c->order[pl->op_begin[t + 1] - 1]];
    }
    pl->deps_off[nt] = k;
    for (uint32_t t = 0; t < nt; t++)
        pl->dependents_off[t + 2] += pl->dependents_off[t + 1];
    for (uint32_t t = 0; t < nt; t++)
        for (uint32_t e = pl->deps_off[t]; e < pl->deps_off[t + 1]; e++)
            pl->dependents[pl->dependents_off[pl->deps[e] + 1]++] = t;
    return 0;
}

static int emit(compiler *c, tg__plan *pl, bool fuse_enabled)
{
    c->task_of = tg__malloc((size_t)c->n * sizeof *c->task_of);
    c->fused = tg__malloc(c->n_order ? c->n_order : 1);
    if (!c->task_of || !c->fused)
        return TG_ENOMEM;
    pl->n_tasks = fuse(c, fuse_enabled);
    pl->n_ops = c->n_order;
    pl->op_begin = tg__malloc((pl->n_tasks + 1) * sizeof *pl->op_begin);
    pl->ops = tg__malloc((c->n_order ? c->n_order : 1) * sizeof *pl->ops);
    if (!pl->op_begin || !pl->ops)
        return TG_ENOMEM;
    for (uint32_t p = 0, t = 0; p < c->n_order; p++)
        if (!c->fused[p])
            pl->op_begin[t++] = p;
    pl->op_begin[pl->n_tasks] = c->n_order;
    int rc = emit_args(c, pl);
    return rc ? rc : emit_edges(c, pl);
}

/* Finds the graph of the targets and checks they share it. */
static int find_graph(tg_value *const *targets, size_t n, tg_graph **g)
{
    *g = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!targets[i])
            return tg__seterr(TG_EINVAL, "target %zu is NULL", i);
        if (targets[i]->type != TG_DELAYED)
            continue;
        tg_graph *tg = targets[i]->u.d.node->graph;
        if (*g && *g != tg)
            return tg__seterr(TG_EINVAL, "targets belong to different "
                              "graphs");
        *g = tg;
    }
    return 0;
}

static void compiler_free(compiler *c)
{
    tg__free(c->live);
    tg__free(c->target);
    tg__free(c->canon);
    tg__free(c->edge_off);
    tg__free(c->edges);
    tg__free(c->n_users);
    tg__free(c->order);
    tg__free(c->task_of);
    tg__free(c->fused);
}

static int compile(compiler *c, tg__plan *pl, tg_value *const *targets,
                   size_t n, bool fuse_enabled)
{
    uint32_t *roots = tg__malloc((n ? n : 1) * sizeof *roots);
    c->live = tg__calloc(c->n ? c->n : 1, 1);
    c->target = tg__calloc(c->n ? c->n : 1, 1);
    c->canon = tg__malloc((c->n ? c->n : 1) * sizeof *c->canon);
    c->edge_off = tg__malloc((c->n + 1) * sizeof *c->edge_off);
    c->n_users = tg__calloc(c->n ? c->n : 1, sizeof *c->n_users);
    if (!roots || !c->live || !c->target || !c->canon || !c->edge_off
        || !c->n_users) {
        tg__free(roots);
        return TG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (targets[i]->type == TG_DELAYED)
            c->live[targets[i]->u.d.node->index] = 1;
    cull(c);
    int rc = dedupe(c);
    for (size_t i = 0; i < n && !rc; i++) { /* canon is unset on failure */
        roots[i] = NONE;
        if (targets[i]->type == TG_DELAYED) {
            roots[i] = c->canon[targets[i]->u.d.node->index];
            c->target[roots[i]] = 1;
        }
    }
    if (!rc)
        rc = build_edges(c);
    if (!rc)
        rc = order(c, roots, n);
    if (!rc)
        rc = emit(c, pl, fuse_enabled);
    for (size_t i = 0; i < n && !rc; i++) {
        pl->target_task[i] =
            roots[i] == NONE ? -1 : (int64_t)c->task_of[roots[i]];
        pl->target_value[i] = roots[i] == NONE ? targets[i] : NULL;
    }
    tg__free(roots);
    return rc;
}

int tg__plan_compile(tg_value *const *targets, size_t n, bool fuse,
                     tg__plan **out)
{
    tg_graph *g;
    *out = NULL;
    if (!targets && n)
        return tg__seterr(TG_EINVAL, "NULL targets");
    int rc = find_graph(targets, n, &g);
    if (rc)
        return rc;
    tg__plan *pl = tg__calloc(1, sizeof *pl);
    if (!pl)
        return TG_ENOMEM;
    pl->graph = g;
    pl->n_targets = n;
    pl->target_task = tg__malloc((n ? n : 1) * sizeof *pl->target_task);
    pl->target_value = tg__malloc((n ? n : 1) * sizeof *pl->target_value);
    compiler c = {.g = g};
    for (size_t i = 0; i < n; i++)
        if (targets[i]->type == TG_DELAYED
            && targets[i]->u.d.node->index + 1 > c.n)
            c.n = targets[i]->u.d.node->index + 1;
    rc = TG_ENOMEM;
    if (pl->target_task && pl->target_value)
        rc = compile(&c, pl, targets, n, fuse);
    compiler_free(&c);
    if (rc) {
        tg__plan_free(pl);
        return rc;
    }
    *out = pl;
    return 0;
}

void tg__plan_free(tg__plan *p)
{
    if (!p)
        return;
    tg__free(p->op_begin);
    tg__free(p->ops);
    tg__free(p->args);
    tg__free(p->deps_off);
    tg__free(p->deps);
    tg__free(p->dependents_off);
    tg__free(p->dependents);
    tg__free(p->is_target);
    tg__free(p->target_task);
    tg__free(p->target_value);
    tg__free(p);
}
