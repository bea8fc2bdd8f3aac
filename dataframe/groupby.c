/* dataframe/groupby.c - the graph side of reductions: tg_df_agg,
 * tg_df_groupby, tg_df_value_counts, tg_df_len, and their tasks.
 *
 * A builder resolves its aggregations against the schema into a spec
 * value, lowers its input with the key and aggregated columns only, and
 * records a partial task per partition (fused with whatever produced
 * the partition, so a block is parsed, filtered and aggregated without
 * its frame outliving the task).  Partials are combined as a tree,
 * split_every at a time, and the root is finished into a frame.  With
 * split_out = k > 1 every partial is first split by key hash into k
 * pieces; piece j of every partition is reduced by its own tree, so no
 * task holds all groups until the final ordered concatenation.
 */
#include <stdio.h>

#include "partial_internal.h"
#include "shuffle_internal.h"

/* ---- tasks --------------------------------------------------------------- */

/* The spec parameter of a task, or NULL with *err set. */
static tg__gbspec *spec_param(const char *task, const tg_value *v,
                              tg_value **err)
{
    const char *why = NULL;
    tg__gbspec *s = tg__gbspec_decode(v, &why);
    if (!s)
        *err = tg__df_bad_param(task, "aggregation", why);
    return s;
}

/* The order parameter of finish and merge. */
static bool order_param(const tg_value *v, tg__gb_order *out)
{
    const char *s = tg_as_str(v);
    if (s && strcmp(s, "keys") == 0)
        return *out = TG__ORDER_KEYS, true;
    if (s && strcmp(s, "counts") == 0)
        return *out = TG__ORDER_COUNTS, true;
    return false;
}

static const char *order_name(tg__gb_order o)
{
    return o == TG__ORDER_COUNTS ? "counts" : "keys";
}

/* agg_partial(frame, spec) -> the frame's hash aggregate. */
tg_value *tg__task_partial(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__frame *f = tg__frame_of(a[0]);
    if (!f)
        return tg__df_not_frame("agg", a[0]);
    tg_value *err = NULL;
    tg__gbspec *spec = spec_param("agg", a[1], &err);
    tg__partial *p = spec ? tg__partial_new(spec) : NULL;
    tg__gbspec_unref(spec);
    if (!p)
        return err ? err : tg_error("out of memory");
    if ((err = tg__partial_add_frame(p, f))) {
        tg__partial_free(p);
        return err;
    }
    return tg__partial_value(p);
}

/* The partials a[0..n) merged into one new partial for spec (an empty
 * one when n is 0).  NULL with *err set on failure. */
static tg__partial *combine_all(tg__gbspec *spec, tg_value *const *a, size_t n,
                                tg_value **err)
{
    tg__partial *p = tg__partial_new(spec);
    if (!p) {
        *err = tg_error("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const tg__partial *src = tg__partial_of(a[i]);
        if (!src || !tg_equal(src->spec->value, spec->value))
            *err = tg_error("agg: argument %zu is not a partial of this "
                            "aggregation",
                            i);
        else if (tg__partial_merge(p, src))
            *err = tg_error("out of memory");
        if (*err) {
            tg__partial_free(p);
            return NULL;
        }
    }
    return p;
}

/* agg_combine(spec, partials...) -> one partial. */
tg_value *tg__task_combine(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    tg_value *err = NULL;
    tg__gbspec *spec = spec_param("agg", a[0], &err);
    tg__partial *p = spec ? combine_all(spec, a + 1, n - 1, &err) : NULL;
    tg__gbspec_unref(spec);
    return p ? tg__partial_value(p) : err;
}

/* agg_finish(spec, order[, partial]) -> the result frame. */
tg_value *tg__task_finish(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    tg__gb_order order;
    if (n > 3 || !order_param(a[1], &order))
        return tg__df_bad_param("agg", "order", "not \"keys\" or \"counts\"");
    tg_value *err = NULL;
    tg__gbspec *spec = spec_param("agg", a[0], &err);
    tg__partial *p = spec ? combine_all(spec, a + 2, n - 2, &err) : NULL;
    tg__gbspec_unref(spec);
    if (!p)
        return err;
    tg_value *r = tg__partial_finish(p, order);
    tg__partial_free(p);
    return r;
}

/* agg_split(partial, k) -> a list of k partials. */
tg_value *tg__task_split(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__partial *p = tg__partial_of(a[0]);
    int64_t k = tg_as_int(a[1]);
    if (!p)
        return tg_error("agg: not a partial");
    if (tg_typeof(a[1]) != TG_INT || k < 1 || k > 1 << 20)
        return tg__df_bad_param("agg", "split_out", "not an int in 1..2^20");
    tg__partial **parts = tg__calloc((size_t)k, sizeof *parts);
    tg_value **items = tg__calloc((size_t)k, sizeof *items);
    tg_value *res = NULL;
    if (!parts || !items || tg__partial_split(p, (size_t)k, parts))
        res = tg_error("out of memory");
    for (size_t b = 0; !res && b < (size_t)k; b++) {
        items[b] = tg__partial_value(parts[b]);
        parts[b] = NULL;
    }
    if (!res)
        res = tg_list_from((size_t)k, items); /* an error item fails it */
    tg__free(parts);
    tg__free(items);
    return res ? res : tg_error("out of memory");
}

/* pick(list, i) -> item i. */
tg_value *tg__task_pick(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    tg_value *item = tg_typeof(a[1]) == TG_INT && tg_as_int(a[1]) >= 0
                         ? tg_list_get(a[0], (size_t)tg_as_int(a[1]))
                         : NULL;
    return item ? tg_incref(item) : tg_error("pick: no item");
}

/* The frames a[0..n) (results of one spec's finish) concatenated, or
 * NULL with *err set. */
static tg__frame *merge_inputs(const tg__gbspec *spec, tg__gb_order order,
                               tg_value *const *a, size_t n, tg_value **err)
{
    tg__frame *small[16], **fs = small;
    if (n > 16 && !(fs = tg__malloc(n * sizeof *fs))) {
        *err = tg_error("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n && !*err; i++) {
        fs[i] = tg__frame_of(a[i]);
        if (!fs[i] || !tg__frame_same_columns(fs[i], fs[0])
            || fs[i]->ncols != spec->n_keys + spec->n_aggs
            || (order == TG__ORDER_COUNTS
                && fs[i]->cols[spec->n_keys]->type != TG_DT_INT64))
            *err = tg_error("agg: merging frames that are not results");
    }
    tg__frame *all = NULL;
    if (!*err && !(all = n ? tg__frame_concat(fs, n) : NULL))
        *err = tg_error(n ? "out of memory" : "agg: nothing to merge");
    if (fs != small)
        tg__free(fs);
    return all;
}

/* agg_merge(spec, order, frames...) -> the frames (disjoint groups)
 * concatenated and put in the result order. */
tg_value *tg__task_merge(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    tg__gb_order order;
    if (!order_param(a[1], &order))
        return tg__df_bad_param("agg", "order", "not \"keys\" or \"counts\"");
    tg_value *err = NULL;
    tg__gbspec *spec = spec_param("agg", a[0], &err);
    tg__frame *all =
        spec ? merge_inputs(spec, order, a + 2, n - 2, &err) : NULL;
    size_t nk = spec ? spec->n_keys : 0;
    tg__keyview small[8], *keys = small;
    if (all && nk > 8 && !(keys = tg__malloc(nk * sizeof *keys)))
        err = tg_error("out of memory");
    uint32_t *idx = NULL;
    if (all && !err) {
        for (size_t k = 0; k < nk; k++)
            keys[k] = tg__keyview_col(all->cols[k]);
        idx =
            tg__order_groups(keys, nk, all->cols[nk]->data, all->nrows, order);
    }
    tg__col **cols = idx ? tg__calloc(all->ncols + 1, sizeof *cols) : NULL;
    size_t made = 0;
    for (; cols && made < all->ncols; made++)
        if (!(cols[made] = tg__col_take(all->cols[made], idx, all->nrows)))
            break;
    tg__frame *out = NULL;
    if (cols && made == all->ncols)
        out = tg__frame_new(made, (const char *const *)all->names, cols,
                            all->nrows);
    else
        for (size_t i = 0; cols && i < made; i++)
            tg__col_unref(cols[i]);
    tg__gbspec_unref(spec);
    if (keys != small)
        tg__free(keys);
    tg__free(idx);
    tg__free(cols);
    tg__frame_free(all);
    if (err)
        return err;
    tg_value *v = tg__frame_value(out);
    return v ? v : tg_error("out of memory");
}

/* ---- specs ----------------------------------------------------------------
 */

/* One aggregation as a spec item, resolved against df's schema. */
static tg_value *agg_value(const tg_dataframe *df, const tg_agg *in)
{
    if ((unsigned)in->op > TG_AGG_NUNIQUE)
        return tg__seterr_null(TG_EINVAL, "agg: bad operation %d", (int)in->op);
    tg_dtype t = TG_DT_INT64, out;
    if (in->op != TG_AGG_SIZE) {
        long c = in->column ? tg__df_find(df, in->column) : -1;
        if (c < 0)
            return tg__seterr_null(TG_EINVAL, "agg %s: no column '%s'",
                                   tg_agg_op_name(in->op),
                                   in->column ? in->column : "(null)");
        t = df->types[c];
    }
    if (!tg__agg_out_type(in->op, t, &out))
        return tg__seterr_null(TG_EINVAL, "agg %s: column '%s' is a string",
                               tg_agg_op_name(in->op), in->column);
    char buf[256];
    if (in->name)
        snprintf(buf, sizeof buf, "%s", in->name);
    else if (in->op == TG_AGG_SIZE)
        snprintf(buf, sizeof buf, "size");
    else
        snprintf(buf, sizeof buf, "%s_%s", in->column, tg_agg_op_name(in->op));
    return tg_list(4, tg_str(tg_agg_op_name(in->op)),
                   in->op == TG_AGG_SIZE ? tg_null() : tg_str(in->column),
                   tg_str(buf), tg_int((int64_t)t));
}

/* The spec value of a groupby of df, decoded (new), after checking the
 * keys and aggregations against df's schema and that the output names
 * are distinct.  NULL with tg_last_error() set. */
static tg__gbspec *spec_new(const tg_dataframe *df, size_t n_keys,
                            const char *const *keys, size_t n_aggs,
                            const tg_agg *aggs, bool keep_null_keys)
{
    tg_value **kv = tg__calloc(n_keys + 1, sizeof *kv);
    tg_value **tv = tg__calloc(n_keys + 1, sizeof *tv);
    tg_value **av = tg__calloc(n_aggs + 1, sizeof *av);
    int rc = kv && tv && av ? 0 : TG_ENOMEM;
    for (size_t k = 0; rc == 0 && k < n_keys; k++) {
        long c = keys[k] ? tg__df_find(df, keys[k]) : -1;
        if (c < 0)
            rc = tg__seterr(TG_EINVAL, "groupby: no key column '%s'",
                            keys[k] ? keys[k] : "(null)");
        kv[k] = rc ? NULL : tg_str(keys[k]);
        tv[k] = rc ? NULL : tg_int((int64_t)df->types[c]);
    }
    for (size_t i = 0; rc == 0 && i < n_aggs; i++)
        if (!(av[i] = agg_value(df, &aggs[i])))
            rc = TG_EINVAL;
    tg_value *v = NULL;
    if (rc == 0) {
        v = tg_list(4, tg_list_from(n_keys, kv), tg_list_from(n_keys, tv),
                    tg_list_from(n_aggs, av), tg_bool(keep_null_keys));
    } else { /* keep the message: release the items by hand */
        for (size_t i = 0; kv && tv && i < n_keys; i++)
            tg_decref(kv[i]), tg_decref(tv[i]);
        for (size_t i = 0; av && i < n_aggs; i++)
            tg_decref(av[i]);
    }
    tg__free(kv);
    tg__free(tv);
    tg__free(av);
    const char *why = NULL;
    tg__gbspec *s = v ? tg__gbspec_decode(v, &why) : NULL;
    tg_decref(v);
    if (v && !s)
        tg__seterr(TG_ENOMEM, "groupby: %s", why);
    for (size_t i = 0; s && i < s->n_keys + s->n_aggs; i++) {
        const char *x =
            i < s->n_keys ? s->keys[i] : s->aggs[i - s->n_keys].name;
        for (size_t j = 0; s && j < i; j++) {
            const char *y =
                j < s->n_keys ? s->keys[j] : s->aggs[j - s->n_keys].name;
            if (strcmp(x, y) == 0) {
                tg__seterr(TG_EINVAL,
                           "groupby: output column '%s' appears twice "
                           "(name the aggregation)",
                           x);
                tg__gbspec_unref(s);
                s = NULL;
            }
        }
    }
    return s;
}

/* ---- builders ------------------------------------------------------------ */

/* A tree of combines over parts, then finish: a delayed frame. */
static tg_value *reduce_tree(tg_graph *g, tg__gbspec *spec, tg__gb_order order,
                             tg_value **parts, size_t n, size_t fan)
{
    tg_value *root =
        n ? tg__df_tree(g, TG__OP_COMBINE, &spec->value, 1, parts, n, fan)
          : NULL;
    if (n && !root)
        return NULL;
    tg_value *args[3] = {tg_incref(spec->value), tg_str(order_name(order)),
                         root};
    return tg__df_call(g, TG__OP_FINISH, root ? 3 : 2, args);
}

/* The split_out path: each partial split into k hash buckets, bucket
 * b of every partition picked out by the shared shuffle's pick layer
 * (shuffle_internal.h) and reduced on its own, then merged. */
static tg_value *reduce_split(tg_graph *g, tg__gbspec *spec, tg__gb_order order,
                              tg_value **parts, size_t n, size_t fan, size_t k)
{
    tg_value **picks = tg__calloc(n * k + 1, sizeof *picks);
    tg_value **fins = tg__calloc(k + 2, sizeof *fins);
    tg_value *res = NULL;
    bool ok = picks && fins;
    for (size_t i = 0; ok && i < n; i++) {
        tg_value *args[2] = {parts[i], tg_int((int64_t)k)};
        ok = (parts[i] = tg__df_call(g, TG__OP_SPLIT, 2, args)) != NULL;
    }
    ok = ok && tg__shuffle_pick(g, parts, n, k, picks) == 0;
    for (size_t b = 0; ok && b < k; b++)
        ok = (fins[b + 2] = reduce_tree(g, spec, order, picks + b * n, n, fan))
             != NULL;
    if (ok) {
        fins[0] = tg_incref(spec->value);
        fins[1] = tg_str(order_name(order));
        res = tg__df_call(g, TG__OP_MERGE, k + 2, fins);
    }
    tg__free(picks);
    tg__free(fins);
    return res;
}

/* The columns a spec reads, for lowering: keys then aggregated columns
 * (repeats are harmless).  A new array of borrowed names. */
static const char **spec_columns(const tg__gbspec *s, size_t *n)
{
    const char **names =
        tg__malloc((s->n_keys + s->n_aggs + 1) * sizeof *names);
    *n = 0;
    for (size_t k = 0; names && k < s->n_keys; k++)
        names[(*n)++] = s->keys[k];
    for (size_t a = 0; names && a < s->n_aggs; a++)
        if (s->aggs[a].column)
            names[(*n)++] = s->aggs[a].column;
    return names;
}

/* Records the reduction of df by spec (a reference, released here): a
 * delayed frame. */
static tg_value *reduce(tg_dataframe *df, tg__gbspec *spec, tg__gb_order order,
                        size_t fan, size_t split_out)
{
    size_t ncols = 0;
    const char **cols = spec ? spec_columns(spec, &ncols) : NULL;
    tg_value **in = cols ? tg__df_lower(df, ncols, cols, false) : NULL;
    tg_value **parts = in ? tg__calloc(df->nparts + 1, sizeof *parts) : NULL;
    tg_value *res = NULL;
    bool ok = parts != NULL;
    for (size_t i = 0; ok && i < df->nparts; i++) {
        tg_value *args[2] = {in[i], tg_incref(spec->value)};
        ok = (parts[i] = tg__df_call(df->g, TG__OP_PARTIAL, 2, args)) != NULL;
    }
    if (ok && split_out > 1 && df->nparts)
        res =
            reduce_split(df->g, spec, order, parts, df->nparts, fan, split_out);
    else if (ok)
        res = reduce_tree(df->g, spec, order, parts, df->nparts, fan);
    tg__free(cols);
    tg__free(parts);
    tg__gbspec_unref(spec);
    return res;
}

static size_t fan_of(const tg_groupby_opts *o)
{
    return o && o->split_every ? o->split_every : 8;
}

tg_value *tg_df_agg(tg_dataframe *df, size_t n_aggs, const tg_agg *aggs,
                    const tg_groupby_opts *opts)
{
    if (!df || (n_aggs && !aggs))
        return tg__seterr_null(TG_EINVAL, "agg: NULL argument");
    tg__gbspec *spec = spec_new(df, 0, NULL, n_aggs, aggs, false);
    return spec ? reduce(df, spec, TG__ORDER_KEYS, fan_of(opts), 0) : NULL;
}

/* A groupby with a result order: a one-partition dataframe. */
static tg_dataframe *groupby(tg_dataframe *df, size_t n_keys,
                             const char *const *keys, size_t n_aggs,
                             const tg_agg *aggs, const tg_groupby_opts *o,
                             tg__gb_order order)
{
    bool keep = o && o->keep_null_keys;
    tg__gbspec *spec = spec_new(df, n_keys, keys, n_aggs, aggs, keep);
    if (!spec)
        return NULL;
    size_t ncols = n_keys + n_aggs;
    const char **names = tg__calloc(ncols + 1, sizeof *names);
    tg_dtype *types = tg__calloc(ncols + 1, sizeof *types);
    tg_dataframe *out = NULL;
    if (names && types) {
        for (size_t i = 0; i < ncols; i++) {
            bool key = i < n_keys;
            names[i] = key ? spec->keys[i] : spec->aggs[i - n_keys].name;
            types[i] = key ? spec->key_types[i] : spec->aggs[i - n_keys].out;
        }
        tg_value *part = reduce(df, tg__gbspec_ref(spec), order, fan_of(o),
                                o ? o->split_out : 0);
        out = tg__df_of_part(df->g, part, ncols, names, types);
    }
    tg__gbspec_unref(spec);
    tg__free(names);
    tg__free(types);
    return out;
}

tg_dataframe *tg_df_groupby(tg_dataframe *df, size_t n_keys,
                            const char *const *keys, size_t n_aggs,
                            const tg_agg *aggs, const tg_groupby_opts *opts)
{
    if (!df || (n_keys && !keys) || (n_aggs && !aggs))
        return tg__seterr_null(TG_EINVAL, "groupby: NULL argument");
    if (n_keys == 0)
        return tg__seterr_null(TG_EINVAL, "groupby: no keys (use "
                                          "tg_df_agg)");
    return groupby(df, n_keys, keys, n_aggs, aggs, opts, TG__ORDER_KEYS);
}

tg_dataframe *tg_df_value_counts(tg_dataframe *df, const char *column,
                                 bool dropna)
{
    if (!df || !column)
        return tg__seterr_null(TG_EINVAL, "value_counts: NULL argument");
    tg_agg agg = {NULL, TG_AGG_SIZE, "count"};
    if (strcmp(column, "count") == 0)
        agg.name = "size";
    tg_groupby_opts o = {.keep_null_keys = !dropna};
    return groupby(df, 1, &column, 1, &agg, &o, TG__ORDER_COUNTS);
}

tg_value *tg_df_len(tg_dataframe *df)
{
    if (!df)
        return tg__seterr_null(TG_EINVAL, "len: NULL dataframe");
    if (df->nparts == 0)
        return tg_delayed_value(df->g, tg_int(0));
    tg_value **in = tg__df_lower(df, 0, NULL, false);
    tg_value **lens = in ? tg__calloc(df->nparts, sizeof *lens) : NULL;
    bool ok = lens != NULL;
    for (size_t i = 0; ok && i < df->nparts; i++)
        ok = (lens[i] = tg__df_call(df->g, TG__OP_LEN, 1, &in[i])) != NULL;
    tg_value *res =
        ok ? tg__df_tree(df->g, TG__OP_SUM, NULL, 0, lens, df->nparts, 8)
           : NULL;
    tg__free(lens);
    return res;
}
