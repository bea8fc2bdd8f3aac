/* graph/reduce.c - reductions of many delayed values as trees.
 *
 * tg_delayed_reduce(g, "tg.sum", n, values, k) is Dask's
 * delayed(sum)(values) done as a tree: calls of at most k values each,
 * level by level, so no call waits for all n and the levels run in
 * parallel.  The function must be associative, which the built-ins are;
 * "tg.mean" is not, so its tree sums and a last call divides by n.
 */
#include <string.h>

#include "graph_internal.h"
#include "runtime/alloc_internal.h"

#define DEFAULT_SPLIT 8

/* Records call name(fn, ctx) of args[0..k): stolen. */
static tg_value *call(tg_graph *g, const char *name, tg_fn fn, void *ctx,
                      size_t k, tg_value *const *args)
{
    return tg_delayed_v(g, name, fn, ctx, 0, k, args);
}

/* The tree of calls over vals (a scratch copy, reused level by level).
 * Steals every value; returns the root or NULL. */
static tg_value *tree(tg_graph *g, const char *name, tg_fn fn, void *ctx,
                      size_t n, tg_value **vals, size_t split)
{
    if (n <= 1) /* one call even for one value: fn decides its result */
        return call(g, name, fn, ctx, n, vals);
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += split) {
            size_t k = n - i < split ? n - i : split;
            tg_value *r = call(g, name, fn, ctx, k, vals + i);
            if (!r) {
                for (size_t j = i + k; j < n; j++)
                    tg_decref(vals[j]);
                return NULL;
            }
            vals[m++] = r;
        }
        n = m;
    }
    return vals[0];
}

static tg_value *reduce(tg_graph *g, const char *name, tg_fn fn, void *ctx,
                        size_t n, tg_value *const *values, size_t split)
{
    if (!values && n)
        return tg__seterr_null(TG_EINVAL,
                               "%s: NULL values with a count "
                               "of %zu",
                               name, n);
    tg_value **vals = tg__malloc((n ? n : 1) * sizeof *vals);
    if (!vals) {
        for (size_t i = 0; i < n; i++)
            tg_decref(values[i]);
        return NULL;
    }
    if (n)
        memcpy(vals, values, n * sizeof *vals);
    if (split < 2)
        split = split == 1 ? 2 : DEFAULT_SPLIT;
    tg_value *root = tree(g, name, fn, ctx, n, vals, split);
    tg__free(vals);
    return root;
}

tg_value *tg_delayed_reduce_fn(tg_graph *g, const char *name, tg_fn fn,
                               size_t n, tg_value *const *values,
                               size_t split_every)
{
    if (!g || !name || !fn) {
        for (size_t i = 0; values && i < n; i++)
            tg_decref(values[i]);
        return tg__seterr_null(TG_EINVAL, "tg_delayed_reduce_fn: NULL %s",
                               !g      ? "graph"
                               : !name ? "name"
                                       : "function");
    }
    return reduce(g, name, fn, NULL, n, values, split_every);
}

tg_value *tg_delayed_reduce(tg_graph *g, const char *fn_name, size_t n,
                            tg_value *const *values, size_t split_every)
{
    tg_fn fn = NULL, sum = NULL;
    void *ctx = NULL, *sum_ctx = NULL;
    if (!g || !fn_name || tg_lookup(fn_name, &fn, &ctx) != 0) {
        for (size_t i = 0; values && i < n; i++)
            tg_decref(values[i]);
        if (!g || !fn_name)
            return tg__seterr_null(TG_EINVAL, "tg_delayed_reduce: NULL %s",
                                   g ? "function name" : "graph");
        return NULL; /* tg_lookup said why */
    }
    if (strcmp(fn_name, "tg.mean") != 0 || n < 2)
        return reduce(g, fn_name, fn, ctx, n, values, split_every);
    /* The mean is not associative: sum as a tree, divide at the end. */
    tg_fn finish = NULL;
    void *finish_ctx = NULL;
    if (tg_lookup("tg.sum", &sum, &sum_ctx) != 0
        || tg_lookup("tg.mean.finish", &finish, &finish_ctx) != 0) {
        for (size_t i = 0; values && i < n; i++)
            tg_decref(values[i]);
        return NULL;
    }
    tg_value *total = reduce(g, "tg.sum", sum, sum_ctx, n, values, split_every);
    tg_value *args[2] = {total, tg_int((int64_t)n)};
    return tg_delayed_v(g, "tg.mean.finish", finish, finish_ctx, 0, 2, args);
}
