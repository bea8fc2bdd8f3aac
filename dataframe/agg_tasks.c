/* dataframe/agg_tasks.c - the graph side of reductions: tg_df_agg,
 * tg_df_groupby, tg_df_len.
 *
 * Each partition becomes a partial (a hash aggregate, groupby.c) in a
 * task fused with whatever produced the partition, so a block is parsed,
 * filtered and aggregated without its frame outliving the task.
 * Partials are combined as a tree, split_every at a time, and the root
 * is finished into a frame.  With split_out = k > 1 every partial is
 * first split by key hash into k pieces; piece j of every partition is
 * reduced by its own tree, so no task holds all groups until the final
 * ordered concatenation.
 */
#include <stdio.h>

#include "groupby_internal.h"

static void spec_free(void *p)
{
    tg__gbspec *s = p;
    for (size_t k = 0; s->keys && k < s->n_keys; k++)
        tg__free(s->keys[k]);
    for (size_t a = 0; s->aggs && a < s->n_aggs; a++) {
        tg__free(s->aggs[a].column);
        tg__free(s->aggs[a].name);
    }
    tg__free(s->keys);
    tg__free(s->key_types);
    tg__free(s->aggs);
    tg__free(s);
}

const char *tg_agg_op_name(tg_agg_op op)
{
    static const char *const names[] = {"count", "size", "sum", "mean",   "min",
                                        "max",   "var",  "std", "nunique"};
    return (unsigned)op <= TG_AGG_NUNIQUE ? names[op] : "?";
}

/* Resolves one aggregation against df's schema into a. */
static int resolve_agg(const tg_dataframe *df, const tg_agg *in, tg__aggspec *a)
{
    if ((unsigned)in->op > TG_AGG_NUNIQUE)
        return tg__seterr(TG_EINVAL, "agg: bad operation %d", (int)in->op);
    a->op = in->op;
    if (in->op != TG_AGG_SIZE) {
        long c = in->column ? tg__df_find(df, in->column) : -1;
        if (c < 0)
            return tg__seterr(TG_EINVAL, "agg %s: no column '%s'",
                              tg_agg_op_name(in->op),
                              in->column ? in->column : "(null)");
        a->in = df->types[c];
        if (!(a->column = tg__strdup(in->column)))
            return TG_ENOMEM;
    }
    bool numeric = a->in != TG_DT_STRING;
    switch (in->op) {
    case TG_AGG_SUM:
        a->out = a->in == TG_DT_FLOAT64 ? TG_DT_FLOAT64 : TG_DT_INT64;
        break;
    case TG_AGG_MEAN:
    case TG_AGG_VAR:
    case TG_AGG_STD: a->out = TG_DT_FLOAT64; break;
    case TG_AGG_MIN:
    case TG_AGG_MAX: a->out = a->in, numeric = true; break;
    default: a->out = TG_DT_INT64, numeric = true; break;
    }
    if (!numeric)
        return tg__seterr(TG_EINVAL, "agg %s: column '%s' is a string",
                          tg_agg_op_name(in->op), in->column);
    char buf[256];
    if (in->name)
        snprintf(buf, sizeof buf, "%s", in->name);
    else if (in->op == TG_AGG_SIZE)
        snprintf(buf, sizeof buf, "size");
    else
        snprintf(buf, sizeof buf, "%s_%s", in->column, tg_agg_op_name(in->op));
    return (a->name = tg__strdup(buf)) ? 0 : TG_ENOMEM;
}

/* Output names must be distinct (keys first, then aggregations). */
static int check_names(const tg__gbspec *s)
{
    size_t n = s->n_keys + s->n_aggs;
    for (size_t i = 0; i < n; i++) {
        const char *x =
            i < s->n_keys ? s->keys[i] : s->aggs[i - s->n_keys].name;
        for (size_t j = 0; j < i; j++) {
            const char *y =
                j < s->n_keys ? s->keys[j] : s->aggs[j - s->n_keys].name;
            if (strcmp(x, y) == 0)
                return tg__seterr(TG_EINVAL,
                                  "groupby: output column '%s' "
                                  "appears twice (name the aggregation)",
                                  x);
        }
    }
    return 0;
}

static tg__gbspec *spec_new(const tg_dataframe *df, size_t n_keys,
                            const char *const *keys, size_t n_aggs,
                            const tg_agg *aggs, const tg_groupby_opts *o,
                            tg__gb_order order)
{
    tg__gbspec *s = tg__calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->keys = tg__calloc(n_keys + 1, sizeof *s->keys);
    s->key_types = tg__calloc(n_keys + 1, sizeof *s->key_types);
    s->aggs = tg__calloc(n_aggs + 1, sizeof *s->aggs);
    if (!s->keys || !s->key_types || !s->aggs)
        goto fail;
    s->keep_null_keys = o->keep_null_keys;
    s->split_out = o->split_out;
    s->order = order;
    for (; s->n_keys < n_keys; s->n_keys++) {
        const char *k = keys[s->n_keys];
        long c = k ? tg__df_find(df, k) : -1;
        if (c < 0) {
            tg__seterr(TG_EINVAL, "groupby: no key column '%s'",
                       k ? k : "(null)");
            goto fail;
        }
        s->key_types[s->n_keys] = df->types[c];
        if (!(s->keys[s->n_keys] = tg__strdup(k)))
            goto fail;
    }
    for (; s->n_aggs < n_aggs; s->n_aggs++)
        if (resolve_agg(df, &aggs[s->n_aggs], &s->aggs[s->n_aggs])) {
            s->n_aggs++;
            goto fail;
        }
    if (check_names(s) == 0) {
        for (size_t k = 0; k < s->n_keys; k++)
            tg__df_need(df, s->keys[k]);
        for (size_t a = 0; a < s->n_aggs; a++)
            if (s->aggs[a].column)
                tg__df_need(df, s->aggs[a].column);
        return s;
    }
fail:
    spec_free(s);
    return NULL;
}

/* ---- tasks --------------------------------------------------------------- */

static tg_value *partial_value(tg__partial *p)
{
    if (p)
        tg__partial_compact(p);
    tg_value *v = p ? tg_object(p, tg__partial_free, "partial") : NULL;
    if (!v) {
        tg__partial_free(p);
        return tg_error("out of memory");
    }
    return v;
}

/* partial(spec, frame) -> the frame's hash aggregate. */
static tg_value *partial_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__gbspec *spec = tg_as_object(a[0]);
    const tg__frame *f = tg__arg_frame(a[1]);
    if (!f)
        return tg__df_not_frame("agg", a[1]);
    tg__partial *p = tg__partial_new(spec);
    if (!p)
        return tg_error("out of memory");
    tg_value *err = tg__partial_add_frame(p, f);
    if (err) {
        tg__partial_free(p);
        return err;
    }
    return partial_value(p);
}

/* combine(spec, partials...) -> one partial.  With no partials: an
 * empty one. */
static tg_value *combine_all(const tg__gbspec *spec, tg_value *const *a,
                             size_t n, tg__partial **out)
{
    tg__partial *p = tg__partial_new(spec);
    if (!p)
        return tg_error("out of memory");
    for (size_t i = 0; i < n; i++) {
        const tg__partial *src = tg_as_object(a[i]);
        if (!src || tg__partial_merge(p, src)) {
            tg__partial_free(p);
            return tg_error(src ? "out of memory" : "agg: not a partial");
        }
    }
    *out = p;
    return NULL;
}

static tg_value *combine_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    tg__partial *p = NULL;
    tg_value *err = combine_all(tg_as_object(a[0]), a + 1, n - 1, &p);
    return err ? err : partial_value(p);
}

/* finish(spec[, partial]) -> the result frame. */
static tg_value *finish_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    const tg__gbspec *spec = tg_as_object(a[0]);
    if (n == 2 && tg_as_object(a[1]))
        return tg__partial_finish(tg_as_object(a[1]));
    tg__partial *p = NULL;
    tg_value *err = combine_all(spec, a + 1, n - 1, &p);
    if (err)
        return err;
    tg_value *r = tg__partial_finish(p);
    tg__partial_free(p);
    return r;
}

/* split(spec, partial) -> a list of split_out partials. */
static tg_value *split_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__gbspec *spec = tg_as_object(a[0]);
    const tg__partial *p = tg_as_object(a[1]);
    size_t k = spec->split_out;
    tg__partial **parts = tg__calloc(k, sizeof *parts);
    tg_value **items = tg__calloc(k, sizeof *items);
    tg_value *res = NULL;
    if (!p)
        res = tg_error("split: not a partial");
    else if (!parts || !items || tg__partial_split(p, k, parts))
        res = tg_error("out of memory");
    for (size_t b = 0; !res && b < k; b++) {
        tg__partial_compact(parts[b]);
        items[b] = tg_object(parts[b], tg__partial_free, "partial");
        if (items[b])
            parts[b] = NULL;
    }
    if (!res)
        res = tg_list_from(k, items); /* a NULL item fails the list */
    for (size_t b = 0; parts && b < k; b++)
        tg__partial_free(parts[b]);
    tg__free(parts);
    tg__free(items);
    return res ? res : tg_error("out of memory");
}

/* pick(list, i) -> item i. */
static tg_value *pick_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    tg_value *item = tg_list_get(a[0], (size_t)tg_as_int(a[1]));
    return item ? tg_incref(item) : tg_error("pick: no item");
}

/* merge(spec, frames...) -> the frames (disjoint groups) concatenated
 * and put in the result order. */
static tg_value *merge_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    const tg__gbspec *spec = tg_as_object(a[0]);
    tg__frame **fs = tg__calloc(n, sizeof *fs);
    tg__keyview *keys = tg__calloc(spec->n_keys + 1, sizeof *keys);
    tg__frame *all = NULL, *out = NULL;
    tg__col **cols = NULL;
    uint32_t *idx = NULL;
    for (size_t i = 1; fs && i < n; i++)
        if (!(fs[i - 1] = tg__arg_frame(a[i])))
            goto fail;
    if (!fs || !keys || !(all = tg__frame_concat(fs, n - 1)))
        goto fail;
    for (size_t k = 0; k < spec->n_keys; k++)
        keys[k] = tg__keyview_col(all->cols[k]);
    idx = tg__order_groups(
        keys, spec->n_keys,
        spec->order == TG__ORDER_COUNTS ? all->cols[spec->n_keys]->data : NULL,
        all->nrows);
    cols = tg__calloc(all->ncols + 1, sizeof *cols);
    size_t made = 0;
    for (; idx && cols && made < all->ncols; made++)
        if (!(cols[made] = tg__col_take(all->cols[made], idx, all->nrows)))
            break;
    if (cols && idx && made == all->ncols)
        out = tg__frame_new(made, (const char *const *)all->names, cols,
                            all->nrows);
    else
        for (size_t i = 0; cols && i < made; i++)
            tg__col_unref(cols[i]);
fail:
    tg__free(fs);
    tg__free(keys);
    tg__free(idx);
    tg__free(cols);
    tg__frame_free(all);
    tg_value *v = tg__frame_value(out);
    return v ? v : tg_error("groupby merge: out of memory or bad input");
}

static tg_value *len_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__frame *f = tg__arg_frame(a[0]);
    return f ? tg_int((int64_t)f->nrows) : tg__df_not_frame("len", a[0]);
}

/* ---- builders ------------------------------------------------------------ */

/* A tree of combine calls over parts, then finish: a delayed frame. */
static tg_value *reduce_tree(tg_graph *g, tg_value *sv, tg_value **parts,
                             size_t n, size_t fan)
{
    tg_value *root =
        n ? tg__df_tree(g, "agg-combine", combine_task, sv, parts, n, fan)
          : NULL;
    if (n && !root)
        return NULL;
    tg_value *args[2] = {tg_incref(sv), root};
    return tg_delayed_v(g, "agg-finish", finish_task, NULL, 0, root ? 2 : 1,
                        args);
}

/* The split_out path: k hash buckets reduced separately, then merged. */
static tg_value *reduce_split(tg_graph *g, tg_value *sv, tg_value **parts,
                              size_t n, size_t fan, size_t k)
{
    tg_value **picks = tg__calloc(n + 1, sizeof *picks);
    tg_value **fins = tg__calloc(k + 1, sizeof *fins);
    tg_value *res = NULL;
    bool ok = picks && fins;
    for (size_t i = 0; ok && i < n; i++) {
        tg_value *args[2] = {tg_incref(sv), parts[i]};
        ok = (parts[i] =
                  tg_delayed_v(g, "agg-split", split_task, NULL, 0, 2, args))
             != NULL;
    }
    for (size_t b = 0; ok && b < k; b++) {
        for (size_t i = 0; ok && i < n; i++)
            ok = (picks[i] = tg_delayed(g, "agg-pick", pick_task, 2, parts[i],
                                        tg_int((int64_t)b)))
                 != NULL;
        ok = ok && (fins[b] = reduce_tree(g, sv, picks, n, fan)) != NULL;
    }
    if (ok) {
        fins[k] = NULL;
        memmove(fins + 1, fins, k * sizeof *fins);
        fins[0] = tg_incref(sv);
        res = tg_delayed_v(g, "agg-merge", merge_task, NULL, 0, k + 1, fins);
    }
    tg__free(picks);
    tg__free(fins);
    return res;
}

/* Records the reduction of df by spec (stolen); a delayed frame. */
static tg_value *reduce(tg_dataframe *df, tg__gbspec *spec, size_t fan)
{
    tg_value *sv = spec ? tg__df_param(spec, spec_free, "groupby") : NULL;
    tg_value **parts = tg__calloc(df->nparts + 1, sizeof *parts);
    tg_value *res = NULL;
    bool ok = sv && parts;
    for (size_t i = 0; ok && i < df->nparts; i++) {
        tg_value *args[2] = {tg_incref(sv), df->parts[i]};
        ok = (parts[i] = tg_delayed_v(df->g, "agg-partial", partial_task, NULL,
                                      0, 2, args))
             != NULL;
    }
    if (ok && spec->split_out > 1 && df->nparts)
        res = reduce_split(df->g, sv, parts, df->nparts, fan, spec->split_out);
    else if (ok)
        res = reduce_tree(df->g, sv, parts, df->nparts, fan);
    tg__free(parts);
    tg_decref(sv);
    return res;
}

static const tg_groupby_opts default_opts; /* all zero: the defaults */

tg_value *tg_df_agg(tg_dataframe *df, size_t n_aggs, const tg_agg *aggs,
                    const tg_groupby_opts *opts)
{
    if (!df || (n_aggs && !aggs))
        return tg__seterr_null(TG_EINVAL, "agg: NULL argument");
    tg_groupby_opts o = opts ? *opts : default_opts;
    o.split_out = 0;
    tg__gbspec *spec = spec_new(df, 0, NULL, n_aggs, aggs, &o, TG__ORDER_KEYS);
    return spec ? reduce(df, spec, o.split_every ? o.split_every : 8) : NULL;
}

tg_dataframe *tg__df_groupby(tg_dataframe *df, size_t n_keys,
                             const char *const *keys, size_t n_aggs,
                             const tg_agg *aggs, const tg_groupby_opts *o,
                             tg__gb_order order)
{
    tg__gbspec *spec = spec_new(df, n_keys, keys, n_aggs, aggs, o, order);
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
        out = tg__df_new(df->g, ncols, names, types, 1);
    }
    tg__free(names);
    tg__free(types);
    if (!out) {
        spec_free(spec);
        return NULL;
    }
    out->parts[0] = reduce(df, spec, o->split_every ? o->split_every : 8);
    return out->parts[0] ? out : NULL;
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
    return tg__df_groupby(df, n_keys, keys, n_aggs, aggs,
                          opts ? opts : &default_opts, TG__ORDER_KEYS);
}

tg_value *tg_df_len(tg_dataframe *df)
{
    if (!df)
        return tg__seterr_null(TG_EINVAL, "len: NULL dataframe");
    if (df->nparts == 0)
        return tg_delayed_value(df->g, tg_int(0));
    tg_value **lens = tg__calloc(df->nparts, sizeof *lens);
    if (!lens)
        return NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < df->nparts; i++)
        ok = (lens[i] = tg_delayed(df->g, "len", len_task, 1, df->parts[i]))
             != NULL;
    tg_value *res = ok ? tg__df_tree(df->g, "len-sum", tg__df_sum_ints, NULL,
                                     lens, df->nparts, 8)
                       : NULL;
    tg__free(lens);
    return res;
}
