/* graph/plan.c - compile the targets' graph into an immutable plan.
 *
 * Passes, each a loop over node indices or an explicit stack (never
 * recursion, so a chain of ten million calls compiles):
 *   1. cull:   mark what the targets reach, walking indices downwards
 *              (creation order is topological);
 *   2. dedupe: map each live node to the first live node with its token;
 *   3. order:  depth-first post-order from the targets, like dask.order:
 *              finish a branch before starting the next, so intermediates
 *              die early and memory stays low; each edge counts a read
 *              of its dependency, literals inlined away;
 *   4. fuse:   a call that is the only reader of the call just before it
 *              joins that call's task;
 *   5. emit:   ops (each node's call, its inputs as slots), task
 *              numbers and read counts, and the task-level CSR when
 *              asked for (see plan_internal.h).
 * Every pass reads only the graph's compact side arrays (edges, flags,
 * token tags), never the nodes themselves: an op points at its node's
 * embedded call, which the scheduler reads when it runs it.
 */
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"
#include "plan_internal.h"
#include "runtime/alloc_internal.h"
#include "runtime/map_internal.h"

#define NONE UINT32_MAX
/* task_of of a literal node: its literal number with this bit set, until
 * emit knows n_tasks and turns it into a slot. */
#define LIT_BIT (1u << 31)

/* compiler.st bits; SEEN: a literal some op reads, in compiler.lits */
enum { LIVE = 1, TARGET = 2, OPEN = 4, DONE = 8, SEEN = 16 };

typedef struct compiler {
    tg_graph *g;
    uint32_t n;      /* nodes considered: [0, n) */
    uint8_t *st;     /* n: LIVE, TARGET, OPEN, DONE, SEEN */
    uint32_t *canon; /* n: first live node with the same token; NULL
                        while no duplicate has been seen (identity) */
    uint32_t *reads; /* n: edges that read each task node (the plan's
                        reads, before fusion) */
    uint32_t *lits;  /* literal nodes that ops read, first read first */
    uint32_t n_lits;
    uint32_t cap_lits;
    uint32_t *order; /* task nodes in static order */
    uint32_t n_order;
    uint32_t n_in;     /* edges of the ordered nodes: the plan's inputs */
    uint32_t *task_of; /* n: plan task of each ordered node; LIT_BIT | j
                          for literal j */
} compiler;

static inline uint32_t cmap(const compiler *c, uint32_t i)
{
    return c->canon ? c->canon[i] : i;
}

static void cull(compiler *c)
{
    const uint32_t *off = c->g->edge_off, *e = c->g->edges;
    for (uint32_t i = c->n; i-- > 0;)
        if (c->st[i] & LIVE)
            for (uint32_t k = off[i]; k < off[i + 1]; k++)
                c->st[e[k]] |= LIVE;
}

static bool same_token(const compiler *c, uint32_t a, uint32_t b)
{
    tg__token x = tg__graph_node(c->g, a)->call.self.u.d.token;
    tg__token y = tg__graph_node(c->g, b)->call.self.u.d.token;
    return x.lo == y.lo && x.hi == y.hi;
}

/* Maps every live node to the first live node with its token, through
 * the runtime map keyed by each node's token tag; the slot of a node 16
 * ahead is prefetched so that the table's cache misses overlap. */
static int dedupe(compiler *c)
{
    size_t n_live = 0;
    for (uint32_t i = 0; i < c->n; i++)
        n_live += c->st[i] & LIVE;
    tg__map m;
    if (tg__map_init(&m, n_live ? n_live : 1) != 0)
        return TG_ENOMEM;
    const uint64_t *tags = c->g->tags;
    int rc = 0;
    for (uint32_t i = 0; i < c->n && rc == 0; i++) {
        if (i + 16 < c->n)
            tg__map_prefetch(&m, tags[i + 16]);
        if (!(c->st[i] & LIVE))
            continue;
        tg__map_probe p = tg__map_begin(&m, tags[i]);
        uint32_t j;
        while ((j = tg__map_next(&m, &p)) != TG__MAP_NONE)
            if (tags[j] == tags[i] && same_token(c, j, i))
                break;
        if (j == TG__MAP_NONE) {
            tg__map_insert(&m, &p, i);
            continue;
        }
        if (!c->canon) {
            c->canon = tg__big_alloc((size_t)c->n * sizeof *c->canon);
            if (!c->canon) {
                rc = TG_ENOMEM;
                break;
            }
            for (uint32_t k = 0; k < c->n; k++)
                c->canon[k] = k;
        }
        c->canon[i] = j;
    }
    tg__map_close(&m);
    return rc;
}

/* Records literal node d as read by some op. */
static int add_literal(compiler *c, uint32_t d)
{
    if (c->n_lits == c->cap_lits) {
        uint32_t cap = c->cap_lits ? 2 * c->cap_lits : 16;
        uint32_t *l = tg__realloc(c->lits, cap * sizeof *l);
        if (!l)
            return TG_ENOMEM;
        c->lits = l, c->cap_lits = cap;
    }
    c->task_of[d] = LIT_BIT | c->n_lits;
    c->lits[c->n_lits++] = d;
    c->st[d] |= SEEN;
    return 0;
}

/* Depth-first post-order from each target in turn: a task is emitted
 * right after its last dependency, branches one at a time.  Each edge is
 * looked at once: it counts a read of its dependency.  The node being
 * walked lives in locals; the stack holds the ones above it. */
static int order(compiler *c, const uint32_t *roots, size_t n_roots)
{
    struct frame {
        uint32_t node, next;
    } *stack = NULL;
    size_t cap = 0, sp = 0;
    const uint32_t *off = c->g->edge_off, *e = c->g->edges;
    const uint32_t *canon = c->canon;
    const uint8_t *nflags = c->g->nflags;
    uint8_t *st = c->st;
    uint32_t *reads = c->reads, *ord = c->order;
    uint32_t n_order = c->n_order, n_in = c->n_in;
    int rc = 0;
    for (size_t r = 0; r < n_roots && rc == 0; r++) {
        uint32_t node = roots[r];
        if (node == NONE || (st[node] & (OPEN | DONE)))
            continue;
        uint32_t next = off[node], end = off[node + 1];
        st[node] |= OPEN;
        for (;;) {
            if (next == end) { /* every input emitted: emit the node */
                st[node] |= DONE;
                n_in += end - off[node];
                ord[n_order++] = node;
                if (sp == 0)
                    break;
                sp--;
                node = stack[sp].node, next = stack[sp].next;
                end = off[node + 1];
                continue;
            }
            uint32_t d = e[next++];
            d = canon ? canon[d] : d;
            if (TG_UNLIKELY(nflags[d] & TG__NODE_LITERAL)) {
                if (!(st[d] & SEEN) && (rc = add_literal(c, d)) != 0)
                    break;
                continue;
            }
            reads[d]++;
            if (st[d] & (OPEN | DONE))
                continue;
            if (off[d] == off[d + 1]) { /* a leaf: emitted on sight */
                st[d] |= DONE;
                ord[n_order++] = d;
                continue;
            }
            if (sp == cap) {
                size_t nc = cap ? cap * 2 : 256;
                struct frame *b = tg__big_realloc(stack, nc * sizeof *b);
                if (!b) {
                    rc = TG_ENOMEM;
                    break;
                }
                stack = b, cap = nc;
            }
            stack[sp++] = (struct frame){node, next};
            node = d, next = off[d], end = off[d + 1];
            st[d] |= OPEN;
        }
    }
    c->n_order = n_order;
    c->n_in = n_in;
    tg__big_free(stack);
    return rc;
}

/* The distinct tasks each task waits for (the slots its first op reads
 * that are tasks; later ops only take the previous op's result), and how
 * many tasks wait for each: a scan for narrow calls, stamps for wide
 * ones. */
static int emit_deps(tg__plan *pl)
{
    uint32_t nt = pl->n_tasks, k = 0, *stamp = NULL;
    const uint32_t *in = pl->in;
    uint32_t *deps_off = tg__big_alloc((nt + 1) * sizeof *deps_off);
    uint32_t *deps = tg__big_alloc((pl->n_in ? pl->n_in : 1) * sizeof *deps);
    uint32_t *users = tg__big_calloc(nt ? nt : 1, sizeof *users);
    pl->deps_off = deps_off, pl->deps = deps, pl->n_users = users;
    if (!deps_off || !deps || !users)
        return TG_ENOMEM;
    for (uint32_t t = 0; t < nt; t++) {
        const tg__op *op = &pl->ops[pl->op_begin[t]];
        uint32_t from = k, b = op[0].in, e = op[1].in;
        bool wide = e - b > 16;
        if (wide && !stamp) {
            stamp = tg__big_alloc((nt ? nt : 1) * sizeof *stamp);
            if (!stamp)
                return TG_ENOMEM;
            memset(stamp, 0xff, (nt ? nt : 1) * sizeof *stamp);
        }
        deps_off[t] = k;
        for (uint32_t x = b; x < e; x++) {
            uint32_t u = in[x];
            if (u >= nt) /* a literal */
                continue;
            bool seen = false;
            if (wide) {
                seen = stamp[u] == t;
                stamp[u] = t;
            } else {
                for (uint32_t y = from; y < k && !seen; y++)
                    seen = deps[y] == u;
            }
            if (!seen) {
                deps[k++] = u;
                users[u]++;
            }
        }
    }
    deps_off[nt] = k;
    tg__big_free(stamp);
    return 0;
}

/* The transpose of deps, from the n_users counts. */
static int emit_dependents(tg__plan *pl)
{
    uint32_t nt = pl->n_tasks, n_edges = pl->deps_off[nt];
    pl->dependents_off = tg__big_alloc((nt + 2) * sizeof(uint32_t));
    pl->dependents = tg__big_alloc((n_edges ? n_edges : 1) * sizeof(uint32_t));
    if (!pl->dependents_off || !pl->dependents)
        return TG_ENOMEM;
    pl->dependents_off[0] = pl->dependents_off[1] = 0;
    for (uint32_t t = 0; t < nt; t++)
        pl->dependents_off[t + 2] = pl->dependents_off[t + 1] + pl->n_users[t];
    for (uint32_t t = 0; t < nt; t++)
        for (uint32_t e = pl->deps_off[t]; e < pl->deps_off[t + 1]; e++)
            pl->dependents[pl->dependents_off[pl->deps[e] + 1]++] = t;
    return 0;
}

int tg__plan_build_deps(tg__plan *p)
{
    if (p->deps_off)
        return 0;
    int rc = emit_deps(p);
    return rc ? rc : emit_dependents(p);
}

/* The literals an op reads: their values and tokens, and their slots
 * (after the tasks) in place of the literal numbers in `in`. */
static int emit_literals(compiler *c, tg__plan *pl)
{
    uint32_t n_lits = c->n_lits, nt = pl->n_tasks;
    pl->n_literals = n_lits;
    pl->n_slots = nt + n_lits;
    for (uint32_t j = nt; j < pl->n_slots; j++)
        pl->reads[j] = UINT32_MAX;
    if (!n_lits)
        return 0;
    pl->literal = tg__big_alloc(n_lits * sizeof *pl->literal);
    pl->literal_tokens = tg__big_alloc(n_lits * sizeof *pl->literal_tokens);
    if (!pl->literal || !pl->literal_tokens)
        return TG_ENOMEM;
    for (uint32_t j = 0; j < n_lits; j++) {
        const tg__node *nd = tg__graph_node(c->g, c->lits[j]);
        pl->literal[j] = nd->call.args[0];
        pl->literal_tokens[j] = nd->call.self.u.d.token;
    }
    for (uint32_t k = 0; k < pl->n_in; k++)
        if (pl->in[k] & LIT_BIT)
            pl->in[k] = nt + (pl->in[k] & ~LIT_BIT);
    return 0;
}

/* Fuses and numbers the tasks in one pass over the order, pointing each
 * op at its node's call and copying its edges into the inputs as slots.
 * A node joins the previous op's task when it reads only the node just
 * before it in the order, and is that node's only reader (a target has
 * one read more, so it never joins); its inputs then name its own task's
 * slot, where the previous op's result waits.  A task's read count is
 * its last node's: the nodes inside a chain were read only by the
 * chain. */
static int emit(compiler *c, tg__plan *pl, unsigned flags)
{
    uint32_t n_ops = c->n_order, cap = n_ops ? n_ops : 1;
    pl->ops = tg__big_alloc((cap + 1) * sizeof *pl->ops);
    pl->op_begin = tg__big_alloc((cap + 1) * sizeof *pl->op_begin);
    pl->in = tg__big_alloc((c->n_in ? c->n_in : 1) * sizeof *pl->in);
    pl->is_target = tg__big_alloc(cap);
    pl->reads = tg__big_alloc(((size_t)cap + c->n_lits) * sizeof *pl->reads);
    if (!pl->ops || !pl->op_begin || !pl->in || !pl->is_target || !pl->reads)
        return TG_ENOMEM;
    const uint32_t *order = c->order;
    const uint32_t *off = c->g->edge_off, *e = c->g->edges;
    const uint32_t *canon = c->canon;
    const uint8_t *st = c->st, *nflags = c->g->nflags;
    uint32_t *task_of = c->task_of, *reads = c->reads, *in = pl->in;
    uint32_t *op_begin = pl->op_begin, *task_reads = pl->reads;
    uint8_t *is_target = pl->is_target;
    tg__op *ops = pl->ops;
    bool fuse = flags & TG__PLAN_FUSE;
    uint32_t t = 0, k = 0, prev = NONE;
    for (uint32_t p = 0; p < n_ops; prev = order[p++]) {
        uint32_t i = order[p], from = off[i], to = off[i + 1], first = k;
        bool chain = fuse && to > from; /* every input is prev's result */
        if (canon) {
            for (uint32_t x = from; x < to; x++) {
                uint32_t d = canon[e[x]];
                chain &= d == prev;
                in[k++] = task_of[d];
            }
        } else {
            for (uint32_t x = from; x < to; x++) {
                chain &= e[x] == prev;
                in[k++] = task_of[e[x]];
            }
        }
        if (chain && reads[prev] == to - from)
            reads[prev] = 0; /* the chain frees it, not the scheduler */
        else
            op_begin[t++] = p;
        task_of[i] = t - 1;
        task_reads[t - 1] = reads[i]; /* until a later op joins */
        is_target[t - 1] = (st[i] & TARGET) != 0;
        ops[p] =
            (tg__op){&tg__graph_node(c->g, i)->call, first,
                     nflags[i] & TG__NODE_LIST_DEPS ? TG__OP_LIST_INPUTS : 0u};
    }
    ops[n_ops] = (tg__op){.in = k};
    pl->n_tasks = t;
    pl->n_ops = n_ops;
    pl->n_in = k;
    op_begin[t] = n_ops;
    int rc = emit_literals(c, pl);
    if (rc == 0 && (flags & TG__PLAN_DEPS))
        rc = tg__plan_build_deps(pl);
    return rc;
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
        tg_graph *tg = tg__node_func(targets[i]->u.d.node)->graph;
        if (*g && *g != tg)
            return tg__seterr(TG_EINVAL, "targets belong to different "
                                         "graphs");
        *g = tg;
    }
    return 0;
}

static void compiler_free(compiler *c)
{
    tg__big_free(c->st);
    tg__big_free(c->canon);
    tg__big_free(c->order);
    tg__big_free(c->task_of);
    tg__big_free(c->reads);
    tg__free(c->lits);
}

static int compile(compiler *c, tg__plan *pl, tg_value *const *targets,
                   size_t n, unsigned flags)
{
    size_t nn = c->n ? c->n : 1;
    uint32_t *roots = tg__big_alloc((n ? n : 1) * sizeof *roots);
    c->st = tg__big_calloc(nn, 1);
    c->reads = tg__big_calloc(nn, sizeof *c->reads);
    c->order = tg__big_alloc(nn * sizeof *c->order);
    c->task_of = tg__big_alloc(nn * sizeof *c->task_of);
    int rc = TG_ENOMEM;
    if (roots && c->st && c->reads && c->order && c->task_of) {
        for (size_t i = 0; i < n; i++)
            if (targets[i]->type == TG_DELAYED)
                c->st[targets[i]->u.d.node->index] |= LIVE;
        cull(c);
        rc = dedupe(c);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        roots[i] = NONE;
        if (targets[i]->type == TG_DELAYED) {
            roots[i] = cmap(c, targets[i]->u.d.node->index);
            c->reads[roots[i]] += !(c->st[roots[i]] & TARGET);
            c->st[roots[i]] |= TARGET;
        }
    }
    if (!rc)
        rc = order(c, roots, n);
    if (!rc)
        rc = emit(c, pl, flags);
    for (size_t i = 0; i < n && !rc; i++) {
        pl->target_task[i] =
            roots[i] == NONE ? -1 : (int64_t)c->task_of[roots[i]];
        pl->target_value[i] = roots[i] == NONE ? targets[i] : NULL;
    }
    tg__big_free(roots);
    return rc;
}

int tg__plan_compile(tg_value *const *targets, size_t n, unsigned flags,
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
    pl->n_targets = n;
    pl->target_task = tg__big_alloc((n ? n : 1) * sizeof *pl->target_task);
    pl->target_value = tg__big_alloc((n ? n : 1) * sizeof *pl->target_value);
    static tg_graph no_graph; /* no delayed target: compile nothing */
    compiler c = {.g = g ? g : &no_graph};
    for (size_t i = 0; i < n; i++)
        if (targets[i]->type == TG_DELAYED
            && targets[i]->u.d.node->index + 1 > c.n)
            c.n = targets[i]->u.d.node->index + 1;
    rc = TG_ENOMEM;
    if (c.n >= LIT_BIT)
        rc = tg__seterr(TG_ENOMEM, "a plan holds fewer than 2^31 calls");
    else if (pl->target_task && pl->target_value)
        rc = compile(&c, pl, targets, n, flags);
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
    _Atomic(char *) *keys =
        atomic_load_explicit(&p->keys, memory_order_acquire);
    for (uint32_t o = 0; keys && o < p->n_ops; o++)
        tg__free(atomic_load_explicit(&keys[o], memory_order_relaxed));
    tg__free(keys);
    tg__plan_owned_free(p);
    tg__big_free(p->op_begin);
    tg__big_free(p->ops);
    tg__big_free(p->in);
    tg__big_free(p->literal);
    tg__big_free(p->literal_tokens);
    tg__big_free(p->reads);
    tg__big_free(p->deps_off);
    tg__big_free(p->deps);
    tg__big_free(p->n_users);
    tg__big_free(p->dependents_off);
    tg__big_free(p->dependents);
    tg__big_free(p->is_target);
    tg__big_free(p->target_task);
    tg__big_free(p->target_value);
    tg__free(p);
}

/* The array of formatted keys, allocated on first use (atomically: keys
 * may be asked for by several workers at once). */
static _Atomic(char *) *key_array(const tg__plan *p)
{
    tg__plan *mp = (tg__plan *)p; /* a cache: the plan stays logically
                                     read-only */
    _Atomic(char *) *keys =
        atomic_load_explicit(&mp->keys, memory_order_acquire);
    if (keys)
        return keys;
    _Atomic(char *) *fresh = tg__calloc(p->n_ops ? p->n_ops : 1, sizeof *fresh);
    if (!fresh)
        return NULL;
    _Atomic(char *) *expected = NULL;
    /* acq_rel: publish the zeroed array; a loser adopts the winner's. */
    if (atomic_compare_exchange_strong_explicit(&mp->keys, &expected, fresh,
                                                memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    tg__free(fresh);
    return expected;
}

const char *tg__plan_key(const tg__plan *p, uint32_t o)
{
    _Atomic(char *) *keys = key_array(p);
    if (!keys)
        return NULL;
    char *k = atomic_load_explicit(&keys[o], memory_order_acquire);
    if (k)
        return k;
    const tg__call *call = p->ops[o].call;
    size_t len = strlen(call->fn->name) + 1 + 32;
    if (!(k = tg__malloc(len + 1)))
        return NULL;
    snprintf(k, len + 1, "%s-%016llx%016llx", call->fn->name,
             (unsigned long long)call->self.u.d.token.hi,
             (unsigned long long)call->self.u.d.token.lo);
    char *expected = NULL;
    /* acq_rel: publish the text; on a lost race use the winner's copy. */
    if (!atomic_compare_exchange_strong_explicit(&keys[o], &expected, k,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire)) {
        tg__free(k);
        k = expected;
    }
    return k;
}

void tg__plan_literal_key(const tg__plan *p, uint32_t j, char *buf, size_t size)
{
    snprintf(buf, size, "%s-%016llx%016llx",
             tg_type_name(tg_typeof(p->literal[j])),
             (unsigned long long)p->literal_tokens[j].hi,
             (unsigned long long)p->literal_tokens[j].lo);
}
