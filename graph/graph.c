/* graph/graph.c - recording delayed calls: nodes, tokens, keys.
 *
 * tg_delayed appends a node; it never looks at other nodes except its own
 * arguments, so recording costs a small constant.  Identical pure calls
 * get identical tokens here and are merged when a plan is compiled
 * (graph/plan.c), which keeps recording free of hash-table lookups.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"
#include "runtime/alloc_internal.h"
#include "runtime/hash_internal.h"

struct tg__arena_chunk {
    tg__arena_chunk *next;
    max_align_t data[];
};

/* Arena chunks double from 16 KiB to 4 MiB as the graph grows. */
#define ARENA_MIN ((size_t)16 << 10)
#define ARENA_MAX ((size_t)4 << 20)

static atomic_uint_fast64_t impure_counter;

_Static_assert(sizeof(tg__node) == 64, "a node should fill one cache line");

/* Number of nodes in block b. */
static size_t block_len(size_t b)
{
    return (size_t)1 << (b < TG__BLOCK_GROW ? TG__BLOCK_MIN_SHIFT + b
                                            : TG__BLOCK_MAX_SHIFT);
}

tg_graph *tg_graph_new(void)
{
    tg_graph *g = tg__calloc(1, sizeof *g);
    return g;
}

size_t tg_graph_size(const tg_graph *g)
{
    return g ? g->n_nodes : 0;
}

void tg_graph_free(tg_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_owned; i++)
        tg_decref(g->owned[i]);
    tg__big_free(g->owned);
    for (size_t b = 0; b < g->n_blocks; b++) {
        _Atomic(char *) *keys =
            atomic_load_explicit(&g->keys[b], memory_order_relaxed);
        for (size_t k = 0; keys && k < block_len(b); k++)
            tg__free(atomic_load_explicit(&keys[k], memory_order_relaxed));
        tg__free(keys);
        tg__big_free(g->blocks[b]);
    }
    tg__free(g->blocks);
    tg__free(g->keys);
    for (tg__arena_chunk *c = g->arena, *next; c; c = next) {
        next = c->next;
        tg__big_free(c);
    }
    tg__free(g->funcs);
    tg__map_close(&g->func_map);
    tg__big_free(g->edge_off);
    tg__big_free(g->edges);
    tg__big_free(g->nflags);
    tg__big_free(g->tags);
    tg__free(g);
}

/* Bump allocation, 8-byte aligned; large requests get their own chunk. */
static void *arena_alloc(tg_graph *g, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (TG_UNLIKELY(n > g->arena_left)) {
        size_t chunk = g->arena_chunk ? g->arena_chunk : ARENA_MIN;
        size_t size = n > chunk / 4 ? n : chunk;
        tg__arena_chunk *c = tg__big_alloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->next = g->arena;
        g->arena = c;
        if (size != chunk) /* private chunk: keep the old space */
            return c->data;
        g->arena_chunk = chunk < ARENA_MAX ? chunk * 2 : chunk;
        g->arena_ptr = (char *)c->data;
        g->arena_left = size;
    }
    void *p = g->arena_ptr;
    g->arena_ptr += n;
    g->arena_left -= n;
    return p;
}

/* Names are short; comparing them inline beats a call to strcmp. */
static inline bool same_name(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static inline bool same_func(const tg__func *f, const char *s, tg_fn fn,
                             void *ctx)
{
    return f->ref.fn == fn && f->ref.ctx == ctx && same_name(f->str, s);
}

/* A record stays valid while it is registered (registrations are never
 * undone) or while no function has been registered since it was found
 * local. */
static inline bool func_current(const tg__func *f)
{
    return f->ref.registered || f->gen == tg__registry_generation();
}

static uint64_t func_hash(const char *s, size_t len, tg_fn fn, void *ctx)
{
    return tg__hash64(s, len) ^ tg__mix64((uintptr_t)fn)
           ^ tg__mix64((uintptr_t)ctx + 0x9E3779B97F4A7C15ull);
}

static uint64_t func_hash_of(void *ud, uint32_t i)
{
    return ((tg_graph *)ud)->funcs[i]->hash;
}

/* A new record for (s, fn, ctx), registered or local as the registry
 * says now.  A literal (no function) is named by its type: registered. */
static tg__func *func_new(tg_graph *g, const char *s, size_t len, uint64_t h,
                          tg_fn fn, void *ctx)
{
    tg__func *e = arena_alloc(g, sizeof *e + len + 1);
    if (!e)
        return NULL;
    uint64_t gen = tg__registry_generation();
    bool reg = !fn || tg__registry_has(s, fn, ctx);
    *e = (tg__func){{e->str, fn, ctx, reg}, g, h, 0, gen, len};
    memcpy(e->str, s, len + 1); /* after: the assignment may pad */
    uint64_t name = tg__hash64(s, len);
    e->id = reg ? name : tg__mix64(h ^ name);
    return e;
}

/* The graph's current record for (name, fn, ctx), created on first use.
 * A call recorded after its function was registered gets a registered
 * record of its own; earlier calls keep theirs (and their keys). */
static const tg__func *intern_slow(tg_graph *g, const char *s, tg_fn fn,
                                   void *ctx)
{
    size_t len = strlen(s);
    uint64_t h = func_hash(s, len, fn, ctx);
    if (g->n_funcs == g->cap_funcs) {
        size_t cap = g->cap_funcs ? 2 * g->cap_funcs : 16;
        tg__func **f = tg__realloc(g->funcs, cap * sizeof *f);
        if (!f)
            return NULL;
        g->funcs = f, g->cap_funcs = cap;
    }
    if (tg__map_reserve(&g->func_map, 1, func_hash_of, g) != 0)
        return NULL;
    tg__map_probe p = tg__map_begin(&g->func_map, h);
    for (uint32_t i; (i = tg__map_next(&g->func_map, &p)) != TG__MAP_NONE;) {
        tg__func *e = g->funcs[i];
        if (!same_func(e, s, fn, ctx))
            continue;
        if (!func_current(e)) {
            tg__func *now = func_new(g, s, len, h, fn, ctx);
            if (!now)
                return NULL;
            if (now->ref.registered)
                g->funcs[i] = now; /* e stays with the calls it has */
            else
                e->gen = now->gen; /* still local: keep e */
        }
        return g->last_func = g->funcs[i];
    }
    tg__func *e = func_new(g, s, len, h, fn, ctx);
    if (!e)
        return NULL;
    g->funcs[g->n_funcs] = e;
    tg__map_insert(&g->func_map, &p, (uint32_t)g->n_funcs++);
    return g->last_func = e;
}

/* A growing array may take a cached block this many times larger than
 * it needs (tg__big_grow): repeated builds of big graphs then copy none
 * of their arrays, and memory the cache holds anyway is what is used. */
#define GROW_AHEAD 64

/* The graph's record for (name, fn, ctx); a run of calls to one
 * function takes the first test. */
static inline const tg__func *intern(tg_graph *g, const char *s, tg_fn fn,
                                     void *ctx)
{
    const tg__func *f = g->last_func;
    if (TG_LIKELY(f && same_func(f, s, fn, ctx) && func_current(f)))
        return f;
    return intern_slow(g, s, fn, ctx);
}

/* Grows *arr to hold at least items items of item bytes, possibly more
 * (GROW_AHEAD); returns how many it holds, 0 when out of memory. */
static size_t grow(void **arr, size_t items, size_t item)
{
    size_t got;
    void *a = tg__big_grow(*arr, items * item, GROW_AHEAD * items * item, &got);
    if (!a)
        return 0;
    *arr = a;
    return got / item;
}

/* Grows the per-node side arrays to hold node n_nodes. */
static int side_grow(tg_graph *g)
{
    size_t cap = g->cap_nodes ? g->cap_nodes * 2 : 1024;
    size_t off = grow((void **)&g->edge_off, cap + 1, sizeof *g->edge_off);
    size_t fl = off ? grow((void **)&g->nflags, cap, sizeof *g->nflags) : 0;
    size_t tags = fl ? grow((void **)&g->tags, cap, sizeof *g->tags) : 0;
    if (!tags)
        return TG_ENOMEM;
    size_t fits = off - 1 < fl ? off - 1 : fl;
    fits = tags < fits ? tags : fits;
    /* node_alloc's fast path relies on this bound. */
    g->cap_nodes = fits < TG__MAX_NODES ? fits : TG__MAX_NODES;
    return 0;
}

/* Makes room for k more items in a growing array of *cap items (item
 * bytes each) of which n are used; the first allocation holds first. */
static int reserve(void **arr, size_t *cap, size_t n, size_t k, size_t item,
                   size_t first)
{
    if (TG_LIKELY(*cap - n >= k))
        return 0;
    size_t c = *cap ? *cap : first;
    while (c - n < k)
        c *= 2;
    if (!(c = grow(arr, c, item)))
        return TG_ENOMEM;
    *cap = c;
    return 0;
}

/* Makes room for k more edges; edge offsets are 32-bit. */
static int edges_reserve(tg_graph *g, size_t k)
{
    if (g->n_edges + k > UINT32_MAX)
        return tg__seterr(TG_ENOMEM, "graph holds 2^32 edges");
    return reserve((void **)&g->edges, &g->cap_edges, g->n_edges, k,
                   sizeof *g->edges, 4096);
}

/* Makes room for k more owned references. */
static int owned_reserve(tg_graph *g, size_t k)
{
    return reserve((void **)&g->owned, &g->cap_owned, g->n_owned, k,
                   sizeof *g->owned, 1024);
}

/* Appends the node's dependency edges (delayed arguments and delayed list
 * items, in argument order, repeats included). */
static int add_edges(tg_graph *g, const tg__node *n)
{
    if (!(n->flags & TG__NODE_LIST_DEPS) && n->call.nargs <= 32) {
        uint32_t m = n->call.mask;
        int rc = edges_reserve(g, n->call.nargs);
        for (; m && rc == 0; m &= m - 1)
            g->edges[g->n_edges++] =
                n->call.args[__builtin_ctz(m)]->u.d.node->index;
        return rc;
    }
    tg__dep_iter it = {n, 0, 0};
    for (tg__node *d; (d = tg__dep_next(&it));) {
        if (edges_reserve(g, 1) != 0)
            return TG_ENOMEM;
        g->edges[g->n_edges++] = d->index;
    }
    return 0;
}

static tg__node *node_alloc_slow(tg_graph *g)
{
    size_t i = g->n_nodes;
    if (i >= TG__MAX_NODES)
        return tg__seterr_null(TG_ENOMEM, "graph holds 2^32 calls already");
    if (i == g->cap_nodes && side_grow(g) != 0)
        return NULL;
    size_t off, b = tg__block_of(i, &off);
    if (off == 0) {
        size_t shift =
            b < TG__BLOCK_GROW ? TG__BLOCK_MIN_SHIFT + b : TG__BLOCK_MAX_SHIFT;
        if (g->n_blocks == g->cap_blocks) {
            size_t cap = g->cap_blocks ? g->cap_blocks * 2 : 16;
            tg__node **bl = tg__realloc(g->blocks, cap * sizeof *bl);
            if (!bl)
                return NULL;
            g->blocks = bl;
            _Atomic(_Atomic(char *) *) *kb =
                tg__realloc(g->keys, cap * sizeof *kb);
            if (!kb)
                return NULL;
            g->keys = kb;
            g->cap_blocks = cap;
        }
        tg__node *blk = tg__big_alloc(((size_t)1 << shift) * sizeof *blk);
        if (!blk)
            return NULL;
        atomic_init(&g->keys[g->n_blocks], NULL);
        g->blocks[g->n_blocks++] = blk;
    }
    tg__node *n = &g->blocks[b][off];
    n->index = (uint32_t)i;
    return n;
}

/* The slot of the next node; the common case, inline, is a slot inside
 * the current block with room in the side arrays. */
static inline tg__node *node_alloc(tg_graph *g)
{
    size_t i = g->n_nodes, off, b = tg__block_of(i, &off);
    if (TG_UNLIKELY(off == 0 || i >= g->cap_nodes))
        return node_alloc_slow(g);
    tg__node *n = &g->blocks[b][off];
    n->index = (uint32_t)i;
    return n;
}

/* True when a delayed value hides anywhere inside list l (any depth).
 * Walks with an explicit stack; an allocation failure answers true so
 * that the caller refuses the argument rather than mis-record it. */
static bool nests_delayed(const tg_value *l)
{
    const tg_value *small[32], **stack = small;
    size_t n = 0, cap = 32;
    bool found = false;
    stack[n++] = l;
    while (n && !found) {
        const tg_value *cur = stack[--n];
        for (size_t i = 0; i < cur->u.list.n && !found; i++) {
            const tg_value *x = cur->u.list.items[i];
            if (x->type == TG_DELAYED) {
                found = true;
            } else if (x->type == TG_LIST) {
                if (n == cap) {
                    const tg_value **b = tg__malloc(2 * cap * sizeof *b);
                    if (!b) {
                        found = true;
                        break;
                    }
                    memcpy(b, stack, n * sizeof *b);
                    if (stack != small)
                        tg__free(stack);
                    stack = b, cap *= 2;
                }
                stack[n++] = x;
            }
        }
    }
    if (stack != small)
        tg__free(stack);
    return found;
}

/* Checks one argument: not NULL, and any delayed value in it (directly or
 * as a list item) belongs to g.  Sets *has_list_deps for a list with
 * delayed items. */
static int check_arg(tg_graph *g, const char *name, size_t i, const tg_value *a,
                     bool *has_list_deps)
{
    if (!a)
        return tg__seterr(TG_EINVAL,
                          "%s: argument %zu is NULL (did an "
                          "inner call fail?)",
                          name, i);
    if (a->type == TG_DELAYED) {
        if (tg__node_func(a->u.d.node)->graph != g)
            return tg__seterr(TG_EINVAL,
                              "%s: argument %zu belongs to "
                              "another graph",
                              name, i);
        return 0;
    }
    if (a->type != TG_LIST)
        return 0;
    for (size_t k = 0; k < a->u.list.n; k++) {
        const tg_value *x = a->u.list.items[k];
        if (x->type == TG_DELAYED) {
            if (tg__node_func(x->u.d.node)->graph != g)
                return tg__seterr(TG_EINVAL,
                                  "%s: argument %zu item %zu "
                                  "belongs to another graph",
                                  name, i, k);
            *has_list_deps = true;
        } else if (x->type == TG_LIST && nests_delayed(x)) {
            return tg__seterr(TG_EINVAL,
                              "%s: argument %zu nests delayed "
                              "values more than one list deep",
                              name, i);
        }
    }
    return 0;
}

/* Checks the arguments and gathers their tokens into tok[1 .. nargs],
 * which delayed they are (*mask, first 32) and whether a list holds
 * delayed items (*list_deps).  A delayed argument of g is the common
 * case and takes the short path. */
static int scan_args(tg_graph *g, const char *name, size_t nargs,
                     tg_value *const *args, tg__token *tok, uint32_t *mask,
                     bool *list_deps)
{
    for (size_t i = 0; i < nargs; i++) {
        const tg_value *a = args[i];
        if (TG_LIKELY(a && a->type == TG_DELAYED
                      && tg__node_func(a->u.d.node)->graph == g)) {
            *mask |= i < 32 ? 1u << i : 0;
            tok[i + 1] = a->u.d.token;
            continue;
        }
        if (TG_UNLIKELY(!a || a->type == TG_DELAYED || a->type == TG_LIST)) {
            int rc = check_arg(g, name, i, a, list_deps);
            if (rc)
                return rc;
        }
        tok[i + 1] = tg__value_token(a);
    }
    return 0;
}

static tg_value *record(tg_graph *g, const char *name, tg_fn fn, void *ctx,
                        unsigned flags, size_t nargs, tg_value *const *args)
{
    tg__token small[16], *tok = small;
    uint32_t mask = 0;
    bool list_deps = false;
    int rc = 0;
    if (!g || !name)
        rc = tg__seterr(TG_EINVAL, "tg_delayed: NULL %s", g ? "name" : "graph");
    else if (!fn && !(flags & TG__NODE_LITERAL))
        rc = tg__seterr(TG_EINVAL, "%s: NULL function", name);
    else if (nargs > UINT32_MAX - 1)
        rc = tg__seterr(TG_EINVAL, "%s: too many arguments", name);
    else if (nargs + 1 > 16 && !(tok = tg__malloc((nargs + 1) * sizeof *tok)))
        rc = TG_ENOMEM;
    if (rc == 0)
        rc = scan_args(g, name, nargs, args, tok, &mask, &list_deps);

    if (rc == 0)
        rc = owned_reserve(g, nargs);
    const tg__func *nm = rc ? NULL : intern(g, name, fn, ctx);
    tg__node *n = nm ? node_alloc(g) : NULL;
    tg_value **copy = n && nargs ? arena_alloc(g, nargs * sizeof *copy) : NULL;
    if (!n || (nargs && !copy)) {
        if (tok != small)
            tg__free(tok);
        for (size_t i = 0; i < nargs; i++)
            tg_decref(args[i]);
        return NULL;
    }
    for (size_t i = 0; i < nargs; i++)
        copy[i] = args[i];
    /* The call's token: the name, the flags and every argument's. */
    tok[0] = (tg__token){nm->id, flags};
    if (flags & TG__NODE_IMPURE)
        tok[0].hi ^=
            atomic_fetch_add_explicit(&impure_counter, 1, memory_order_relaxed)
            << 8;
    XXH128_hash_t h =
        XXH3_128bits_withSeed(tok, (nargs + 1) * sizeof *tok, nm->id);
    /* Word by word and apart: a 16-byte copy of the two returned
     * registers goes through the stack and stalls on store forwarding. */
    n->call.self.u.d.token.lo = h.low64;
    if (tok != small)
        tg__free(tok);
    if (list_deps)
        flags |= TG__NODE_LIST_DEPS;
    atomic_init(&n->call.self.refcount, 1);
    n->call.self.type = TG_DELAYED;
    n->call.self.flags = TG__IMMORTAL;
    n->call.self.spare = 0;
    n->call.self.u.d.node = n;
    n->call.fn = &nm->ref;
    n->flags = (uint16_t)flags;
    n->call.nargs = (uint32_t)nargs;
    n->call.args = copy;
    n->call.mask = mask;
    n->call.self.u.d.token.hi = h.high64;
    size_t e0 = g->n_edges;
    if (add_edges(g, n) != 0) {
        g->n_edges = e0;
        for (size_t i = 0; i < nargs; i++)
            tg_decref(copy[i]);
        return NULL; /* the node slot stays unused: n_nodes unchanged */
    }
    for (size_t i = 0; i < nargs; i++) /* room reserved above */
        if (copy[i]->type != TG_DELAYED)
            g->owned[g->n_owned++] = copy[i];
    g->edge_off[n->index] = (uint32_t)e0;
    g->edge_off[n->index + 1] = (uint32_t)g->n_edges;
    g->nflags[n->index] = (uint8_t)flags;
    g->tags[n->index] = h.low64;
    g->n_nodes++;
    return &n->call.self;
}

tg_value *tg_delayed_v(tg_graph *g, const char *name, tg_fn fn, void *ctx,
                       unsigned flags, size_t nargs, tg_value *const *args)
{
    if (!args && nargs)
        return tg__seterr_null(TG_EINVAL,
                               "%s: NULL arguments with a count of %zu",
                               name ? name : "tg_delayed_v", nargs);
    unsigned f = (flags & TG_IMPURE) ? TG__NODE_IMPURE : 0;
    return record(g, name, fn, ctx, f, nargs, args);
}

/* Collects a va_list of nargs values into an array and records the call.
 * The array is on the stack for the common small case. */
static tg_value *record_va(tg_graph *g, const char *name, tg_fn fn, void *ctx,
                           unsigned flags, size_t nargs, va_list ap)
{
    tg_value *small[16], **args = small;
    if (nargs > 16 && !(args = tg__malloc(nargs * sizeof *args))) {
        for (size_t i = 0; i < nargs; i++)
            tg_decref(va_arg(ap, tg_value *));
        return NULL;
    }
    for (size_t i = 0; i < nargs; i++)
        args[i] = va_arg(ap, tg_value *);
    if (nargs == 0) /* an empty array, initialised for the compiler */
        small[0] = NULL;
    tg_value *d = record(g, name, fn, ctx, flags, nargs, args);
    if (args != small)
        tg__free(args);
    return d;
}

tg_value *tg_delayed(tg_graph *g, const char *name, tg_fn fn, size_t nargs, ...)
{
    va_list ap;
    va_start(ap, nargs);
    tg_value *d = record_va(g, name, fn, NULL, 0, nargs, ap);
    va_end(ap);
    return d;
}

tg_value *tg_delayed_counted(size_t nargs, const char *name, tg_graph *g,
                             tg_fn fn, ...)
{
    va_list ap;
    va_start(ap, fn);
    tg_value *d = record_va(g, name, fn, NULL, 0, nargs, ap);
    va_end(ap);
    return d;
}

tg_value *tg_delayed_impure_counted(size_t nargs, const char *name, tg_graph *g,
                                    tg_fn fn, ...)
{
    va_list ap;
    va_start(ap, fn);
    tg_value *d = record_va(g, name, fn, NULL, TG__NODE_IMPURE, nargs, ap);
    va_end(ap);
    return d;
}

tg_value *tg_delayed_registered(tg_graph *g, const char *name, size_t nargs,
                                ...)
{
    tg_fn fn = NULL;
    void *ctx = NULL;
    va_list ap;
    va_start(ap, nargs);
    if (!name || tg_lookup(name, &fn, &ctx) != 0) {
        for (size_t i = 0; i < nargs; i++)
            tg_decref(va_arg(ap, tg_value *));
        va_end(ap);
        return tg__seterr_null(TG_ENOENT, "no function registered as '%s'",
                               name ? name : "(null)");
    }
    tg_value *d = record_va(g, name, fn, ctx, 0, nargs, ap);
    va_end(ap);
    return d;
}

tg_value *tg_delayed_value(tg_graph *g, tg_value *v)
{
    if (v && v->type == TG_DELAYED) {
        if (tg__node_func(v->u.d.node)->graph == g)
            return v;
        return tg__seterr_null(TG_EINVAL, "tg_delayed_value: the value "
                                          "belongs to another graph");
    }
    const char *name = v ? tg_type_name((tg_type)v->type) : "null";
    return record(g, name, NULL, NULL, TG__NODE_LITERAL, 1, &v);
}

/* The slot that caches node n's key; its block's array of slots is
 * allocated on first use (atomically: keys may be asked for by several
 * threads while a graph is being computed). */
static _Atomic(char *) *key_slot(tg__node *n)
{
    tg_graph *g = tg__node_func(n)->graph;
    size_t off, b = tg__block_of(n->index, &off);
    _Atomic(_Atomic(char *) *) *pa = &g->keys[b];
    _Atomic(char *) *keys = atomic_load_explicit(pa, memory_order_acquire);
    if (!keys) {
        _Atomic(char *) *fresh = tg__calloc(block_len(b), sizeof *fresh);
        if (!fresh)
            return NULL;
        _Atomic(char *) *expected = NULL;
        /* acq_rel: publish the zeroed array; a loser adopts the winner's */
        if (atomic_compare_exchange_strong_explicit(pa, &expected, fresh,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire))
            keys = fresh;
        else
            tg__free(fresh), keys = expected;
    }
    return &keys[off];
}

const char *tg__node_key(tg__node *n)
{
    _Atomic(char *) *slot = key_slot(n);
    if (!slot)
        return NULL;
    char *k = atomic_load_explicit(slot, memory_order_acquire);
    if (k)
        return k;
    size_t len = tg__node_func(n)->len + 1 + 32;
    k = tg__malloc(len + 1);
    if (!k)
        return NULL;
    snprintf(k, len + 1, "%s-%016llx%016llx", n->call.fn->name,
             (unsigned long long)n->call.self.u.d.token.hi,
             (unsigned long long)n->call.self.u.d.token.lo);
    char *expected = NULL;
    /* acq_rel: publish the formatted text; on a lost race use the
     * winner's copy (acquire) and drop ours. */
    if (!atomic_compare_exchange_strong_explicit(
            slot, &expected, k, memory_order_acq_rel, memory_order_acquire)) {
        tg__free(k);
        k = expected;
    }
    return k;
}

const char *tg_key(const tg_value *delayed)
{
    if (!delayed || delayed->type != TG_DELAYED)
        return NULL;
    return tg__node_key(delayed->u.d.node);
}

const char *tg_delayed_name(const tg_value *delayed)
{
    if (!delayed || delayed->type != TG_DELAYED)
        return NULL;
    return delayed->u.d.node->call.fn->name;
}
