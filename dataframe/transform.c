/* dataframe/transform.c - tg_df_transform (a function per group, Fugue's
 * one function), tg_df_repartition and tg_df_shuffle: three consumers of
 * the shared shuffle.
 *
 * transform hash-shuffles rows by their keys with the group partitioner
 * (NaN keys hash as null), so every group lands whole in one output; the
 * output's transform task sorts its pieces' rows, as if concatenated in
 * input order, stably by (keys ascending, nulls last, then the presort
 * columns) with the order unit, comparing only the key columns, and cuts
 * the sorted rows into runs of equal keys: each run is one group, taken
 * straight from the pieces and handed to the user's function once.
 * Results are checked against the schema and concatenated in run order.
 * repartition splits by global row position (the rows partitioner, fed
 * every partition's row count) and shuffle by key hash; both concatenate
 * each output's pieces in input order.
 */
#include "shuffle_internal.h"

/* The name a local transform's tasks carry (and a refusal names). */
#define LOCAL_NAME "tg_df_transform_fn"

/* ---- the task ------------------------------------------------------------ */

/* The user's function, as either kind of call. */
typedef struct caller {
    const char *name; /* for messages */
    tg_fn fn;         /* registered: fn(&frame, 1, fn_ctx) ... */
    void *fn_ctx;
    tg_frame_fn frame_fn; /* ... or local: frame_fn(frame, frame_ctx) */
    void *frame_ctx;
} caller;

/* A transform spec decoded: [n group keys, sort spec (group keys, then
 * presort), output schema, registered name | null]. */
typedef struct tspec {
    size_t n_group;
    tg__sortspec sort;
    tg__params schema;
} tspec;

static void tspec_close(tspec *t)
{
    tg__sortspec_close(&t->sort);
    tg__params_close(&t->schema);
}

static tg_value *tspec_decode(const tg_value *v, tspec *t)
{
    const char *why = NULL;
    const tg_value *ng = tg_list_get(v, 0);
    memset(t, 0, sizeof *t);
    if (tg_typeof(v) != TG_LIST || tg_list_len(v) != 4
        || tg_typeof(ng) != TG_INT || tg_as_int(ng) < 1)
        return tg__df_bad_param("transform", "spec",
                                "not [n keys, sort spec, schema, name]");
    if (tg__sortspec_decode(tg_list_get(v, 1), &t->sort, &why)
        || tg__schema_decode(tg_list_get(v, 2), &t->schema, &why)) {
        tspec_close(t);
        return tg__df_bad_param("transform", "spec", why);
    }
    t->n_group = (size_t)tg_as_int(ng);
    if (t->n_group > t->sort.n_keys) {
        tspec_close(t);
        return tg__df_bad_param("transform", "spec", "more keys than sorted");
    }
    return NULL;
}

/* Calls the user's function on the group frame g (borrowed) and checks
 * its result: a new frame reference, or an error value naming it. */
static tg_value *call_group(const caller *c, const tspec *t, tg_value *g)
{
    tg_value *r =
        c->frame_fn ? c->frame_fn(g, c->frame_ctx) : c->fn(&g, 1, c->fn_ctx);
    if (!r)
        return tg_error("transform: the function '%s' returned NULL", c->name);
    if (tg_is_error(r)) {
        tg_value *e = tg_error("transform: the function '%s' failed: %s",
                               c->name, tg_error_message(r));
        tg_decref(r);
        return e;
    }
    const tg__frame *f = tg__frame_of(r);
    const char *bad = f ? tg__frame_check_schema(f, t->schema.n,
                                                 (char *const *)t->schema.names,
                                                 t->schema.types)
                        : NULL;
    tg_value *e = NULL;
    if (!f)
        e = tg_error("transform: the function '%s' returned %s, not a frame",
                     c->name, tg_type_name(tg_typeof(r)));
    else if (bad)
        e = tg_error("transform: the function '%s' returned a frame that "
                     "does not match the schema: %s",
                     c->name, bad);
    if (e)
        tg_decref(r);
    return e ? e : r;
}

/* Rows idx[0..n) of the pieces fs[0..m) as if concatenated, as a new
 * frame value (or NULL on OOM). */
static tg_value *take_rows(tg__frame *const *fs, size_t m, const uint32_t *idx,
                           size_t n)
{
    tg__col **cols = tg__calloc(fs[0]->ncols + 1, sizeof *cols);
    tg__frame *g = NULL;
    if (cols && tg__take_pieces(fs, m, idx, n, cols) == 0)
        g = tg__frame_new(fs[0]->ncols, (const char *const *)fs[0]->names, cols,
                          n);
    tg__free(cols);
    return tg__frame_value(g);
}

/* True when sorted rows a and b have equal group keys. */
static bool same_group(const tg__sortkey *sk, size_t n_group, uint32_t a,
                       uint32_t b)
{
    for (size_t k = 0; k < n_group; k++)
        if (tg__sortkey_cmp(&sk[k], &sk[k].key, a, &sk[k].key, b) != 0)
            return false;
    return true;
}

/* The results res[0..n) (frames of the schema) as one frame, or an
 * empty frame of the schema for none.  A new reference. */
static tg_value *concat_results(tg_value **res, size_t n, const tspec *t)
{
    if (n == 0)
        return tg__frame_value(
            tg__frame_empty(t->schema.n, t->schema.names, t->schema.types));
    if (n == 1)
        return tg_incref(res[0]);
    tg__frame **fs = tg__malloc(n * sizeof *fs);
    if (!fs)
        return NULL;
    for (size_t i = 0; i < n; i++)
        fs[i] = tg__frame_of(res[i]);
    tg_value *v = tg__frame_value(tg__frame_concat(fs, n));
    tg__free(fs);
    return v;
}

/* Calls c once per group of the n rows of the pieces fs[0..m) (runs of
 * idx with equal keys); the results concatenated, or the first error. */
static tg_value *per_group(const caller *c, const tspec *t,
                           tg__frame *const *fs, size_t m, size_t n,
                           const tg__sortkey *sk, const uint32_t *idx)
{
    size_t n_res = 0;
    tg_value **res = tg__calloc(n + 1, sizeof *res); /* groups <= rows */
    tg_value *err = res ? NULL : tg_error("out of memory");
    for (size_t s = 0, i = 1; !err && s < n; i++) {
        if (i < n && same_group(sk, t->n_group, idx[i - 1], idx[i]))
            continue;
        tg_value *g = take_rows(fs, m, idx + s, i - s);
        if (!g) {
            err = tg_error("out of memory");
            break;
        }
        tg_value *r = call_group(c, t, g);
        tg_decref(g);
        if (tg_is_error(r))
            err = r;
        else
            res[n_res++] = r;
        s = i;
    }
    tg_value *out = err ? err : concat_results(res, n_res, t);
    for (size_t i = 0; i < n_res; i++)
        tg_decref(res[i]);
    tg__free(res);
    return out ? out : tg_error("out of memory");
}

/* transform(spec, frames...) with the function c. */
static tg_value *transform_run(const caller *c, tg_value *const *a, size_t n)
{
    if (n < 2)
        return tg_error("transform: no frames");
    tspec t;
    tg_value *err = tspec_decode(a[0], &t);
    if (err)
        return err;
    /* Only the keys are concatenated to be sorted; each group's rows are
     * taken straight from the pieces. */
    size_t m = n - 1;
    tg__frame **fs = tg__pieces_of("transform", a + 1, m, &err);
    tg__frame *kf =
        fs ? tg__key_columns("transform", fs, m, &t.sort, &err) : NULL;
    tg__sortkey *sk = kf ? tg__calloc(t.sort.n_keys, sizeof *sk) : NULL;
    if (kf && !sk)
        err = tg_error("out of memory");
    if (!err)
        err = tg__sortspec_keys("transform", &t.sort, kf, sk);
    uint32_t *idx = err ? NULL : tg__order_rows(sk, t.sort.n_keys, kf->nrows);
    if (!err && !idx)
        err = tg_error("out of memory");
    tg_value *res = err ? err : per_group(c, &t, fs, m, kf->nrows, sk, idx);
    tg__free(idx);
    tg__free(sk);
    tg__frame_free(kf);
    tg__free(fs);
    tspec_close(&t);
    return res;
}

tg_value *tg__task_transform(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    const char *name = n ? tg_as_str(tg_list_get(a[0], 3)) : NULL;
    caller c = {name, NULL, NULL, NULL, NULL};
    if (!name)
        return tg__df_bad_param("transform", "spec", "no function name");
    if (tg_lookup(name, &c.fn, &c.fn_ctx) != 0)
        return tg_error("transform: no function registered as '%s' in "
                        "this process",
                        name);
    return transform_run(&c, a, n);
}

tg_value *tg__task_transform_local(tg_value *const *a, size_t n, void *ctx)
{
    const tg_dataframe *df = ctx;
    caller c = {LOCAL_NAME, NULL, NULL, df->map_fn, df->map_ctx};
    return transform_run(&c, a, n);
}

/* ---- builders ------------------------------------------------------------ */

/* Checks that the n names are columns of df.  0, or TG_EINVAL with
 * tg_last_error() naming the call and the column. */
static int check_columns(const char *who, const tg_dataframe *df, size_t n,
                         const char *const *names)
{
    for (size_t i = 0; i < n; i++)
        if (!names[i] || tg__df_find(df, names[i]) < 0)
            return tg__seterr(TG_EINVAL, "%s: no column '%s'", who,
                              names[i] ? names[i] : "(null)");
    return 0;
}

/* A PARTS node of df's graph with this schema and k partitions, given
 * later by the caller (given allocated, zeroed).  NULL on failure. */
static tg_dataframe *result_node(tg_dataframe *df, size_t ncols,
                                 const char *const *names,
                                 const tg_dtype *types, size_t k)
{
    tg_dataframe *r =
        tg__df_node(df->g, TG__DF_PARTS, NULL, ncols, names, types, k, NULL);
    if (r && !(r->given = tg__calloc(k ? k : 1, sizeof *r->given)))
        return NULL; /* the graph frees the node */
    return r;
}

/* Fills out->given[0..k) with out's empty frames (an input with no
 * partitions).  0 or TG_ENOMEM. */
static int empty_parts(tg_dataframe *out)
{
    for (size_t j = 0; j < out->nparts; j++) {
        tg_value *s = tg__schema_value(
            out->ncols, (const char *const *)out->names, out->types);
        if (!(out->given[j] = tg__df_call(out->g, TG__OP_EMPTY, 1, &s)))
            return TG_ENOMEM;
    }
    return 0;
}

/* Shuffles df's partitions (every column) by partitioner (stolen; its
 * fourth split argument extra, borrowed, may be NULL) into out's k
 * partitions; each output is consume(lead, pieces...) recorded by
 * record.  0 or a negative code. */
typedef tg_value *(*consume_fn)(tg_dataframe *out, tg_value *lead,
                                tg_value *const *pieces, size_t n);

static int shuffle_into(tg_dataframe *df, tg_dataframe *out,
                        tg_value *partitioner, tg_value *extra, tg_value *lead,
                        consume_fn consume)
{
    size_t n = df->nparts, k = out->nparts;
    tg_value **parts = tg__df_lower(df, 0, NULL, true);
    if (!parts) {
        tg_decref(partitioner);
        return TG_ENOMEM;
    }
    tg_value **pieces = tg__calloc(n * k + 1, sizeof *pieces);
    int rc = pieces && partitioner ? 0 : TG_ENOMEM;
    if (rc == 0)
        rc = tg__shuffle(df->g, parts, n, partitioner, extra, k, pieces);
    for (size_t j = 0; rc == 0 && j < k; j++)
        if (!(out->given[j] = consume(out, lead, pieces + j * n, n)))
            rc = TG_ENOMEM;
    tg_decref(partitioner);
    tg__free(pieces);
    return rc;
}

/* concat(pieces...) for repartition and shuffle. */
static tg_value *consume_concat(tg_dataframe *out, tg_value *lead,
                                tg_value *const *pieces, size_t n)
{
    (void)lead;
    return tg__df_call(out->g, TG__OP_CONCAT, n, pieces);
}

/* transform(spec, pieces...): registered, or local with the node. */
static tg_value *consume_transform(tg_dataframe *out, tg_value *spec,
                                   tg_value *const *pieces, size_t n)
{
    tg_value **args = tg__malloc((n + 1) * sizeof *args);
    if (!args)
        return NULL;
    args[0] = tg_incref(spec);
    memcpy(args + 1, pieces, n * sizeof *args);
    tg_value *r =
        out->map_fn ? tg_delayed_v(out->g, LOCAL_NAME, tg__task_transform_local,
                                   out, 0, n + 1, args)
                    : tg__df_call(out->g, TG__OP_TRANSFORM, n + 1, args);
    tg__free(args);
    return r;
}

/* The spec of a transform: [n keys, sort spec, schema, name | null].
 * NULL on OOM. */
static tg_value *transform_spec(size_t n_keys, const char *const *keys,
                                const tg_transform_opts *o, size_t ncols,
                                const char *const *names, const tg_dtype *types,
                                const char *fn_name)
{
    size_t np = o ? o->n_presort : 0, nk = n_keys + np;
    const char **all = tg__malloc(nk * sizeof *all);
    bool *asc = tg__malloc(nk * sizeof *asc);
    tg_value *spec = NULL;
    if (all && asc) {
        for (size_t i = 0; i < nk; i++) {
            all[i] = i < n_keys ? keys[i] : o->presort[i - n_keys];
            asc[i] = i < n_keys || !o->presort_ascending
                     || o->presort_ascending[i - n_keys];
        }
        spec = tg_list(4, tg_int((int64_t)n_keys),
                       tg__sortspec_value(nk, all, asc, false),
                       tg__schema_value(ncols, names, types),
                       fn_name ? tg_str(fn_name) : tg_null());
    }
    tg__free(all);
    tg__free(asc);
    return spec;
}

/* Both transforms: checks, then the shuffle and a task per output. */
static tg_dataframe *transform(const char *who, tg_dataframe *df, size_t n_keys,
                               const char *const *keys, const char *fn_name,
                               tg_frame_fn fn, void *ctx, size_t ncols,
                               const char *const *names, const tg_dtype *types,
                               const tg_transform_opts *o)
{
    if (!df || !keys)
        return tg__seterr_null(TG_EINVAL, "%s: NULL %s", who,
                               df ? "partition_by" : "dataframe");
    if (n_keys == 0)
        return tg__seterr_null(TG_EINVAL, "%s: no partition_by keys", who);
    if (o && o->n_presort && !o->presort)
        return tg__seterr_null(TG_EINVAL, "%s: NULL presort", who);
    if (check_columns(who, df, n_keys, keys)
        || (o && check_columns(who, df, o->n_presort, o->presort)))
        return NULL;
    if (ncols == 0) {
        ncols = df->ncols;
        names = (const char *const *)df->names;
        types = df->types;
    } else if (!tg__schema_ok(ncols, names, types)) {
        return tg__seterr_null(TG_EINVAL,
                               "%s: bad schema (a NULL array or name, a "
                               "type out of range, or a duplicate name)",
                               who);
    }
    size_t k = o && o->npartitions ? o->npartitions : df->nparts;
    if (k > TG__SHUFFLE_MAX_K)
        return tg__seterr_null(TG_EINVAL, "%s: %zu partitions is too many", who,
                               k);
    tg_dataframe *out =
        result_node(df, ncols, names, types, df->nparts ? k : 0);
    tg_value *spec =
        out ? transform_spec(n_keys, keys, o, ncols, names, types, fn_name)
            : NULL;
    if (out) {
        out->map_fn = fn;
        out->map_ctx = ctx;
    }
    int rc = spec ? 0 : TG_ENOMEM;
    if (rc == 0 && out->nparts)
        rc = shuffle_into(df, out,
                          tg_list(3, tg_str("group"),
                                  tg__names_value(n_keys, keys),
                                  tg_int((int64_t)k)),
                          NULL, spec, consume_transform);
    tg_decref(spec);
    if (rc)
        return tg__seterr_null(rc, "%s: out of memory", who);
    return out;
}

tg_dataframe *tg_df_transform(tg_dataframe *df, size_t n_keys,
                              const char *const *partition_by,
                              const char *fn_name, size_t ncols,
                              const char *const *names, const tg_dtype *types,
                              const tg_transform_opts *opts)
{
    tg_fn fn = NULL;
    void *ctx = NULL;
    if (!fn_name)
        return tg__seterr_null(TG_EINVAL, "transform: NULL function name");
    if (tg_lookup(fn_name, &fn, &ctx) != 0)
        return tg__seterr_null(
            TG_ENOENT, "transform: no function registered as '%s'", fn_name);
    return transform("transform", df, n_keys, partition_by, fn_name, NULL, NULL,
                     ncols, names, types, opts);
}

tg_dataframe *tg_df_transform_fn(tg_dataframe *df, size_t n_keys,
                                 const char *const *partition_by,
                                 tg_frame_fn fn, void *ctx, size_t ncols,
                                 const char *const *names,
                                 const tg_dtype *types,
                                 const tg_transform_opts *opts)
{
    if (!fn)
        return tg__seterr_null(TG_EINVAL, "transform_fn: NULL function");
    return transform("transform_fn", df, n_keys, partition_by, NULL, fn, ctx,
                     ncols, names, types, opts);
}

tg_dataframe *tg_df_repartition(tg_dataframe *df, size_t npartitions)
{
    if (!df)
        return tg__seterr_null(TG_EINVAL, "repartition: NULL dataframe");
    if (npartitions == 0 || npartitions > TG__SHUFFLE_MAX_K)
        return tg__seterr_null(
            TG_EINVAL, "repartition: %zu partitions (1..2^20)", npartitions);
    tg_dataframe *out = result_node(
        df, df->ncols, (const char *const *)df->names, df->types, npartitions);
    if (!out)
        return NULL;
    size_t n = df->nparts;
    if (n == 0)
        return empty_parts(out) ? NULL : out;
    tg_value **parts = tg__df_lower(df, 0, NULL, true);
    tg_value **lens = parts ? tg__calloc(n, sizeof *lens) : NULL;
    bool ok = lens != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = (lens[i] = tg__df_call(df->g, TG__OP_LEN, 1, &parts[i])) != NULL;
    /* the split tasks receive the list of every partition's count */
    tg_value *counts = ok ? tg_list_from(n, lens) : NULL;
    tg__free(lens);
    int rc = counts ? shuffle_into(df, out,
                                   tg_list(3, tg_str("rows"), tg_list(0),
                                           tg_int((int64_t)npartitions)),
                                   counts, NULL, consume_concat)
                    : TG_ENOMEM;
    tg_decref(counts);
    if (rc)
        return tg__seterr_null(rc, "repartition: out of memory");
    return out;
}

tg_dataframe *tg_df_shuffle(tg_dataframe *df, size_t n_keys,
                            const char *const *keys, size_t npartitions)
{
    if (!df || !keys)
        return tg__seterr_null(TG_EINVAL, "shuffle: NULL %s",
                               df ? "keys" : "dataframe");
    if (n_keys == 0)
        return tg__seterr_null(TG_EINVAL, "shuffle: no keys");
    if (check_columns("shuffle", df, n_keys, keys))
        return NULL;
    size_t k = npartitions ? npartitions : df->nparts;
    if (k > TG__SHUFFLE_MAX_K)
        return tg__seterr_null(TG_EINVAL, "shuffle: %zu partitions is too many",
                               k);
    tg_dataframe *out = result_node(
        df, df->ncols, (const char *const *)df->names, df->types, k);
    if (!out)
        return NULL;
    if (df->nparts == 0)
        return empty_parts(out) ? NULL : out;
    int rc =
        shuffle_into(df, out,
                     tg_list(3, tg_str("group"), tg__names_value(n_keys, keys),
                             tg_int((int64_t)k)),
                     NULL, NULL, consume_concat);
    if (rc)
        return tg__seterr_null(rc, "shuffle: out of memory");
    return out;
}
