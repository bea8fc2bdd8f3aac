/* schedulers/distributed/sched_submit.c - a C_SUBMIT into a graph.
 *
 * The scheduler trusts nothing of a submission: every count is bounded
 * by the frames that must hold its items, every offset array is checked
 * to be a well-formed CSR within its frame, every task index and literal
 * index is in range, and the graph must be acyclic in static order (a
 * dependency comes before its user) before a task of it is queued.
 */
#include <string.h>

#include "sched_state.h"

/* The next frame as an array of n items of size bytes (little-endian on
 * the wire, turned into host order), or NULL with an error set. */
static void *get_array(tg__dec *d, size_t n, size_t size, const char *what)
{
    void *block = NULL;
    size_t len = 0;
    if (tg__dec_piece(d, &block, &len) != 0)
        return NULL;
    if (len != n * size) {
        tg__free(block);
        return tg__seterr_null(TG_EPROTO,
                               "the submission's %s has %zu "
                               "bytes, not %zu",
                               what, len, n * size);
    }
    if (n == 0) { /* an empty frame has no block: make one */
        tg__free(block);
        return tg__calloc(1, size);
    }
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    uint8_t *b = block;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = 0;
        for (size_t k = 0; k < size; k++)
            x |= (uint64_t)b[i * size + k] << (8 * k);
        if (size == 8)
            ((uint64_t *)block)[i] = x;
        else
            ((uint32_t *)block)[i] = (uint32_t)x;
    }
#endif
    return block;
}

/* A CSR offset array of n + 1 entries: starts at 0, never decreases,
 * ends at total. */
static bool csr_ok(const uint32_t *off, uint32_t n, uint64_t total)
{
    if (off[0] != 0 || off[n] != total)
        return false;
    for (uint32_t t = 0; t < n; t++)
        if (off[t] > off[t + 1])
            return false;
    return true;
}

/* Checks what no client should send: the invariants of a plan. */
static int check_graph(sgraph *g, uint64_t n_deps, uint64_t n_lit_refs)
{
    uint32_t n = g->n_tasks;
    if (!csr_ok(g->deps_off, n, n_deps) || !csr_ok(g->lit_off, n, n_lit_refs))
        return tg__seterr(TG_EPROTO, "bad dependency or literal offsets");
    if (g->ho[0] != 0 || g->ho[n] != g->specs_len || g->po[0] != 0
        || g->po[n] != g->n_pieces)
        return tg__seterr(TG_EPROTO, "bad spec offsets");
    if (g->lit_at[0] != 0 || g->lit_at[g->n_literals] != g->lits_len)
        return tg__seterr(TG_EPROTO, "bad literal offsets");
    for (uint32_t j = 0; j < g->n_literals; j++)
        if (g->lit_at[j] > g->lit_at[j + 1])
            return tg__seterr(TG_EPROTO, "bad literal offsets");
    for (uint32_t t = 0; t < n; t++) {
        if (g->ho[t] >= g->ho[t + 1] || g->po[t] > g->po[t + 1])
            return tg__seterr(TG_EPROTO, "bad spec offsets");
        for (uint32_t k = g->deps_off[t]; k < g->deps_off[t + 1]; k++)
            if (g->deps[k] >= t) /* static order */
                return tg__seterr(TG_EPROTO, "a dependency out of order");
        for (uint32_t k = g->lit_off[t]; k < g->lit_off[t + 1]; k++)
            if (g->lit_idx[k] >= g->n_literals)
                return tg__seterr(TG_EPROTO, "a literal out of range");
    }
    for (uint32_t i = 0; i < g->n_targets; i++) {
        uint32_t t = g->targets[i];
        if (t >= n || g->target_of[t] != UINT32_MAX)
            return tg__seterr(TG_EPROTO, "a bad or repeated target");
        g->target_of[t] = i;
    }
    return 0;
}

/* The transpose of deps, each task's dependency and user counts; a task
 * listed twice by one user is an error, as is a task nobody needs. */
static int link_graph(sgraph *g)
{
    uint32_t n = g->n_tasks, n_deps = g->deps_off[n];
    g->users_off = tg__calloc((size_t)n + 2, sizeof *g->users_off);
    g->users = tg__malloc(((size_t)n_deps + 1) * sizeof *g->users);
    if (!g->users_off || !g->users)
        return TG_ENOMEM;
    for (uint32_t t = 0; t < n; t++) {
        g->t[t].deps_left = g->deps_off[t + 1] - g->deps_off[t];
        for (uint32_t k = g->deps_off[t]; k < g->deps_off[t + 1]; k++) {
            uint32_t d = g->deps[k];
            if (g->t[d].users_left && g->users_off[d + 2] == t + 1)
                return tg__seterr(TG_EPROTO, "a repeated dependency");
            g->t[d].users_left++;
            g->users_off[d + 2] = t + 1; /* a stamp, recounted below */
        }
    }
    for (uint32_t t = 0; t < n; t++) {
        if (!g->t[t].users_left && g->target_of[t] == UINT32_MAX)
            return tg__seterr(TG_EPROTO, "a task nobody needs");
        g->users_off[t + 2] = g->users_off[t + 1] + g->t[t].users_left;
    }
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t k = g->deps_off[t]; k < g->deps_off[t + 1]; k++)
            g->users[g->users_off[g->deps[k] + 1]++] = t;
    return 0;
}

static int read_submission(tg__dec *d, sgraph *g, uint64_t *n_deps,
                           uint64_t *n_lit_refs)
{
    uint64_t c[6];
    int rc = 0;
    for (int i = 0; i < 6 && rc == 0; i++)
        rc = tg__dec_u64(d, &c[i]);
    if (rc)
        return rc;
    /* each count is bounded by the frames that must hold its items */
    if (c[0] == 0 || c[0] >= UINT32_MAX / 2 || c[1] >= UINT32_MAX / 2
        || c[2] > c[0] || c[3] >= UINT32_MAX || c[4] >= UINT32_MAX
        || c[5] > d->n_pieces)
        return tg__seterr(TG_EPROTO, "absurd submission counts");
    g->n_tasks = (uint32_t)c[0], g->n_literals = (uint32_t)c[1];
    g->n_targets = g->targets_left = (uint32_t)c[2];
    *n_deps = c[3], *n_lit_refs = c[4];
    g->n_pieces = (size_t)c[5];
    size_t n = g->n_tasks;
    if ((rc = tg__dec_piece(d, (void **)&g->specs, &g->specs_len)))
        return rc;
    if (!(g->ho = get_array(d, n + 1, 8, "spec offsets"))
        || !(g->po = get_array(d, n + 1, 8, "spec piece offsets"))
        || !(g->deps_off = get_array(d, n + 1, 4, "dependency offsets"))
        || !(g->deps = get_array(d, *n_deps, 4, "dependencies"))
        || !(g->lit_off = get_array(d, n + 1, 4, "literal offsets"))
        || !(g->lit_idx = get_array(d, *n_lit_refs, 4, "literal list"))
        || !(g->targets = get_array(d, g->n_targets, 4, "targets"))
        || !(g->lit_at =
                 get_array(d, (size_t)g->n_literals + 1, 8, "literal offsets")))
        return tg__last_code(TG_EPROTO);
    if ((rc = tg__dec_piece(d, (void **)&g->lits, &g->lits_len)))
        return rc;
    g->t = tg__calloc(n, sizeof *g->t);
    g->target_of = tg__malloc(n * sizeof *g->target_of);
    g->pieces = tg__calloc(g->n_pieces + 1, sizeof *g->pieces);
    g->piece_lens = tg__calloc(g->n_pieces + 1, sizeof *g->piece_lens);
    g->res = tg__calloc(g->n_targets + 1, sizeof *g->res);
    g->res_lens = tg__calloc(g->n_targets + 1, sizeof *g->res_lens);
    if (!g->t || !g->target_of || !g->pieces || !g->piece_lens || !g->res
        || !g->res_lens)
        return TG_ENOMEM;
    memset(g->target_of, 0xff, n * sizeof *g->target_of);
    for (size_t k = 0; k < g->n_pieces && rc == 0; k++)
        rc = tg__dec_piece(d, &g->pieces[k], &g->piece_lens[k]);
    return rc;
}

int tg__sched_read_graph(tg__dec *d, sgraph *g)
{
    uint64_t n_deps = 0, n_lit_refs = 0;
    int rc = read_submission(d, g, &n_deps, &n_lit_refs);
    rc = rc ? rc : check_graph(g, n_deps, n_lit_refs);
    return rc ? rc : link_graph(g);
}

void tg__sched_graph_free(sgraph *g)
{
    void *arrays[] = {g->t,        g->specs,   g->ho,         g->po,
                      g->deps_off, g->deps,    g->users_off,  g->users,
                      g->lit_off,  g->lit_idx, g->targets,    g->target_of,
                      g->lits,     g->lit_at,  g->piece_lens, g->res_lens};
    for (size_t i = 0; i < g->n_pieces && g->pieces; i++)
        tg__free(g->pieces[i]);
    for (size_t i = 0; i < g->n_targets && g->res; i++)
        tg__free(g->res[i]);
    for (size_t i = 0; i < g->n_lit_sent; i++)
        tg__free(g->lit_sent[i]);
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        tg__free(arrays[i]);
    tg__free(g->pieces);
    tg__free(g->err);
    tg__free(g->res);
    tg__free(g->lit_sent);
    tg__free(g);
}
