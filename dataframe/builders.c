/* dataframe/builders.c - dataframe nodes and the per-partition builders:
 * from_delayed, filter, assign, select, rename, map_partitions (by
 * pointer and by registered name), head, concat, compute, partition.
 *
 * A builder checks its arguments against the schema at build time (so a
 * typo fails before anything runs) and adds a node of the logical plan
 * (df_internal.h); head, concat and partition lower their input with
 * every column (lower.c) and record their own tasks on top.
 */
#include "csv_internal.h"
#include "df_internal.h"
#include "expr_internal.h"
#include "shuffle_internal.h"

/* ---- nodes ------------------------------------------------------------- */

static void df_free(void *p)
{
    tg_dataframe *df = p;
    for (size_t i = 0; df->names && i < df->ncols; i++)
        tg__free(df->names[i]);
    tg__free(df->names);
    tg__free(df->types);
    tg_decref(df->param);
    tg_expr_free(df->expr);
    tg__csv_source_free(df->csv);
    tg__free(df->given);
    tg__free(df->fn_name);
    tg__df_lowered_free(df->lowered);
    if (df->index)
        tg__name_index_close(df->index);
    tg__free(df->index);
    tg__free(df);
}

tg_dataframe *tg__df_node(tg_graph *g, tg__df_kind kind, tg_dataframe *in,
                          size_t ncols, const char *const *names,
                          const tg_dtype *types, size_t nparts, tg_value *param)
{
    tg_dataframe *df = tg__calloc(1, sizeof *df);
    if (!df) {
        tg_decref(param);
        return NULL;
    }
    df->g = g;
    df->kind = kind;
    df->in = in;
    df->param = param;
    df->names = tg__calloc(ncols ? ncols : 1, sizeof *df->names);
    df->types = tg__calloc(ncols ? ncols : 1, sizeof *df->types);
    if (!df->names || !df->types)
        goto fail;
    for (; df->ncols < ncols; df->ncols++) {
        size_t i = df->ncols;
        df->types[i] = types[i];
        if (!(df->names[i] = tg__strdup(names[i])))
            goto fail;
    }
    df->nparts = nparts;
    /* The graph owns the node from here on: a literal node holding it
     * releases it in tg_graph_free (and a failed one releases it now). */
    tg_value *obj = tg_object(df, df_free, "dataframe");
    if (!obj)
        goto fail;
    if (!tg_delayed_value(g, obj))
        return NULL;
    return df;
fail:
    df_free(df);
    return NULL;
}

long tg__df_find(const tg_dataframe *df, const char *name)
{
    if (!df->index && df->ncols > 16) {
        /* Built once, on a node that is otherwise immutable: lowering
         * and the builders look up each column of wide schemas. */
        tg__name_index *ix = tg__malloc(sizeof *ix);
        if (ix
            && tg__name_index_init(ix, df->ncols,
                                   (const char *const *)df->names, NULL)
                   == 0)
            ((tg_dataframe *)df)->index = ix;
        else
            tg__free(ix);
    }
    if (df->index)
        return tg__name_index_find(df->index, name);
    for (size_t i = 0; i < df->ncols; i++)
        if (strcmp(df->names[i], name) == 0)
            return (long)i;
    return -1;
}

tg_dataframe *tg__df_of_part(tg_graph *g, tg_value *part, size_t ncols,
                             const char *const *names, const tg_dtype *types)
{
    tg_dataframe *df =
        part ? tg__df_node(g, TG__DF_PARTS, NULL, ncols, names, types, 1, NULL)
             : NULL;
    if (df && !(df->given = tg__malloc(sizeof *df->given)))
        return NULL; /* the graph frees df */
    if (df)
        df->given[0] = part;
    return df;
}

size_t tg_df_npartitions(const tg_dataframe *df)
{
    return df ? df->nparts : 0;
}

size_t tg_df_ncols(const tg_dataframe *df)
{
    return df ? df->ncols : 0;
}

const char *tg_df_colname(const tg_dataframe *df, size_t col)
{
    return df && col < df->ncols ? df->names[col] : NULL;
}

tg_dtype tg_df_coltype(const tg_dataframe *df, size_t col)
{
    return df && col < df->ncols ? df->types[col] : TG_DT_INT64;
}

tg_value *tg_df_partition(const tg_dataframe *df, size_t i)
{
    if (!df || i >= df->nparts)
        return NULL;
    tg_value **parts = tg__df_lower((tg_dataframe *)df, 0, NULL, true);
    return parts ? parts[i] : NULL;
}

/* ---- from_delayed -------------------------------------------------------- */

bool tg__schema_ok(size_t ncols, const char *const *names,
                   const tg_dtype *types)
{
    if (ncols && (!names || !types))
        return false;
    for (size_t i = 0; i < ncols; i++)
        if (!names[i] || (unsigned)types[i] > TG_DT_STRING)
            return false;
    return tg__names_first_dup(ncols, names) == -1;
}

tg_dataframe *tg_df_from_delayed(tg_graph *g, size_t n, tg_value *const *parts,
                                 size_t ncols, const char *const *names,
                                 const tg_dtype *types)
{
    tg_dataframe *df = NULL;
    bool ok = g && (parts || !n) && tg__schema_ok(ncols, names, types);
    for (size_t i = 0; i < n && parts; i++)
        ok = ok && parts[i];
    if (!ok)
        tg__seterr(TG_EINVAL,
                   "from_delayed: NULL or bad argument "
                   "(a NULL part, or a schema with a duplicate name)");
    else
        df = tg__df_node(g, TG__DF_PARTS, NULL, ncols, names, types, n,
                         tg__schema_value(ncols, names, types));
    if (df && !(df->given = tg__calloc(n ? n : 1, sizeof *df->given)))
        df = NULL;
    if (df && !df->param)
        df = NULL;
    for (size_t i = 0; i < n && parts; i++) {
        if (!df) { /* steal what is left */
            tg_decref(parts[i]);
            continue;
        }
        /* A literal frame becomes a literal node (stolen); a delayed
         * value must be g's. */
        if (!(df->given[i] = tg_delayed_value(g, parts[i])))
            df = NULL;
    }
    if (df)
        df->check_given = true;
    return df;
}

/* ---- filter, assign, select, rename -------------------------------------- */

tg_dataframe *tg_df_filter(tg_dataframe *df, tg_expr *pred)
{
    tg_dtype t = TG_DT_BOOL;
    if (!df || !pred) {
        tg_expr_free(pred);
        return tg__seterr_null(TG_EINVAL, "filter: NULL %s",
                               df ? "predicate" : "dataframe");
    }
    int rc = tg__expr_type(pred, df->ncols, df->names, df->types, &t);
    if (rc == 0 && t != TG_DT_BOOL)
        rc = tg__seterr(TG_EINVAL, "filter: the predicate is %s, not bool",
                        tg_dtype_name(t));
    tg_value *pv = rc == 0 ? tg__expr_encode(pred) : NULL;
    tg_dataframe *out = pv ? tg__df_node(df->g, TG__DF_FILTER, df, df->ncols,
                                         (const char *const *)df->names,
                                         df->types, df->nparts, pv)
                           : NULL;
    if (!out) {
        tg_expr_free(pred);
        return NULL;
    }
    out->expr = pred;
    return out;
}

tg_dataframe *tg_df_assign(tg_dataframe *df, const char *name, tg_expr *e)
{
    tg_dtype t;
    if (!df || !name || !e) {
        tg_expr_free(e);
        return tg__seterr_null(TG_EINVAL, "assign: NULL argument");
    }
    if (tg__expr_type(e, df->ncols, df->names, df->types, &t) != 0) {
        tg_expr_free(e);
        return NULL;
    }
    long at = tg__df_find(df, name);
    size_t ncols = df->ncols + (at < 0);
    const char **names = tg__calloc(ncols, sizeof *names);
    tg_dtype *types = tg__calloc(ncols, sizeof *types);
    tg_value *ev = names && types ? tg__expr_encode(e) : NULL;
    tg_value *pv = ev ? tg_list(2, tg_str(name), ev) : NULL;
    tg_dataframe *out = NULL;
    if (pv) {
        for (size_t i = 0; i < df->ncols; i++)
            names[i] = df->names[i], types[i] = df->types[i];
        size_t k = at < 0 ? df->ncols : (size_t)at;
        names[k] = name;
        types[k] = t;
        out = tg__df_node(df->g, TG__DF_ASSIGN, df, ncols, names, types,
                          df->nparts, pv);
    }
    tg__free(names);
    tg__free(types);
    if (!out)
        tg_expr_free(e);
    else
        out->expr = e;
    return out;
}

/* The types of the n named columns of df into types; checks that each
 * exists and appears once.  0 or TG_EINVAL naming the problem. */
static int pick_columns(const char *who, const tg_dataframe *df, size_t n,
                        const char *const *names, tg_dtype *types)
{
    for (size_t i = 0; i < n; i++) {
        long k = names[i] ? tg__df_find(df, names[i]) : -1;
        if (k < 0)
            return tg__seterr(TG_EINVAL, "%s: no column '%s'", who,
                              names[i] ? names[i] : "(null)");
        types[i] = df->types[k];
    }
    long dup = tg__names_first_dup(n, names);
    if (dup == TG_ENOMEM)
        return TG_ENOMEM;
    if (dup >= 0)
        return tg__seterr(TG_EINVAL, "%s: duplicate column '%s'", who,
                          names[dup]);
    return 0;
}

tg_dataframe *tg_df_select(tg_dataframe *df, size_t n, const char *const *names)
{
    if (!df || (n && !names))
        return tg__seterr_null(TG_EINVAL, "select: NULL argument");
    tg_dtype *types = tg__calloc(n ? n : 1, sizeof *types);
    tg_dataframe *out = NULL;
    if (types && pick_columns("select", df, n, names, types) == 0)
        out = tg__df_node(df->g, TG__DF_SELECT, df, n, names, types, df->nparts,
                          tg__names_value(n, names));
    if (out && !out->param)
        out = NULL;
    tg__free(types);
    return out;
}

tg_dataframe *tg_df_rename(tg_dataframe *df, size_t n,
                           const char *const *old_names,
                           const char *const *new_names)
{
    if (!df || (n && (!old_names || !new_names)))
        return tg__seterr_null(TG_EINVAL, "rename: NULL argument");
    tg_dtype *dummy = tg__calloc(n ? n : 1, sizeof *dummy);
    const char **names = tg__calloc(df->ncols + 1, sizeof *names);
    tg_dataframe *out = NULL;
    int rc = dummy && names ? pick_columns("rename", df, n, old_names, dummy)
                            : TG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < df->ncols; i++)
        names[i] = df->names[i];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!new_names[i])
            rc = tg__seterr(TG_EINVAL, "rename: NULL new name");
        else
            names[tg__df_find(df, old_names[i])] = new_names[i];
    }
    long dup = rc == 0 ? tg__names_first_dup(df->ncols, names) : -1;
    if (dup == TG_ENOMEM)
        rc = TG_ENOMEM;
    else if (dup >= 0)
        rc = tg__seterr(TG_EINVAL, "rename: two columns would be named '%s'",
                        names[dup]);
    if (rc == 0)
        out = tg__df_node(df->g, TG__DF_RENAME, df, df->ncols, names, df->types,
                          df->nparts,
                          tg_list(2, tg__names_value(n, old_names),
                                  tg__names_value(n, new_names)));
    if (out && !out->param)
        out = NULL;
    tg__free(dummy);
    tg__free(names);
    return out;
}

/* ---- map_partitions ------------------------------------------------------ */

/* A map node over df with the given output schema (ncols = 0: df's). */
static tg_dataframe *map_node(tg_dataframe *df, tg__df_kind kind,
                              const char *fn_name, size_t ncols,
                              const char *const *names, const tg_dtype *types)
{
    if (ncols == 0) {
        ncols = df->ncols;
        names = (const char *const *)df->names;
        types = df->types;
    } else if (!tg__schema_ok(ncols, names, types)) {
        return tg__seterr_null(TG_EINVAL, "map_partitions: bad schema "
                                          "(a NULL name or type out of "
                                          "range, or a duplicate name)");
    }
    tg_dataframe *out =
        tg__df_node(df->g, kind, df, ncols, names, types, df->nparts,
                    tg__schema_value(ncols, names, types));
    if (out && (!out->param || !(out->fn_name = tg__strdup(fn_name))))
        return NULL;
    return out;
}

tg_dataframe *tg_df_map_partitions(tg_dataframe *df, const char *name,
                                   tg_frame_fn fn, void *ctx, size_t ncols,
                                   const char *const *names,
                                   const tg_dtype *types)
{
    if (!df || !fn)
        return tg__seterr_null(TG_EINVAL, "map_partitions: NULL %s",
                               df ? "function" : "dataframe");
    tg_dataframe *out = map_node(df, TG__DF_MAP, name ? name : "map-partitions",
                                 ncols, names, types);
    if (out) {
        out->map_fn = fn;
        out->map_ctx = ctx;
    }
    return out;
}

tg_dataframe *tg_df_map_partitions_named(tg_dataframe *df, const char *fn_name,
                                         size_t ncols, const char *const *names,
                                         const tg_dtype *types)
{
    tg_fn fn = NULL;
    void *ctx = NULL;
    if (!df || !fn_name)
        return tg__seterr_null(TG_EINVAL, "map_partitions_named: NULL %s",
                               df ? "function name" : "dataframe");
    if (tg_lookup(fn_name, &fn, &ctx) != 0)
        return tg__seterr_null(TG_ENOENT,
                               "map_partitions_named: no function "
                               "registered as '%s'",
                               fn_name);
    tg_dataframe *out =
        map_node(df, TG__DF_MAP_NAMED, fn_name, ncols, names, types);
    if (out) {
        out->fn = fn;
        out->fn_ctx = ctx;
    }
    return out;
}

/* ---- head, concat, compute ----------------------------------------------- */

/* A delayed concat of parts (the one part itself, or an empty frame of
 * df's schema for none). */
static tg_value *concat_of(tg_dataframe *df, tg_value **parts, size_t n)
{
    if (n == 1)
        return parts[0];
    if (n == 0) {
        tg_value *s = tg__schema_value(
            df->ncols, (const char *const *)df->names, df->types);
        return tg__df_call(df->g, TG__OP_EMPTY, 1, &s);
    }
    return tg__df_call(df->g, TG__OP_CONCAT, n, parts);
}

tg_value *tg_df_concat(tg_dataframe *df)
{
    if (!df)
        return tg__seterr_null(TG_EINVAL, "concat: NULL dataframe");
    tg_value **parts = tg__df_lower(df, 0, NULL, true);
    return parts ? concat_of(df, parts, df->nparts) : NULL;
}

tg_value *tg_df_head(tg_dataframe *df, size_t n, size_t npartitions)
{
    if (!df)
        return tg__seterr_null(TG_EINVAL, "head: NULL dataframe");
    if (df->kind == TG__DF_SORT && (!npartitions || npartitions >= df->nparts))
        return tg__sort_head(df, n); /* a top n per partition, no shuffle */
    size_t k =
        npartitions && npartitions < df->nparts ? npartitions : df->nparts;
    tg_value **parts = tg__df_lower(df, 0, NULL, true);
    tg_value **heads = tg__calloc(k ? k : 1, sizeof *heads);
    tg_value *res = NULL;
    bool ok = parts && heads;
    for (size_t i = 0; ok && i < k; i++) {
        tg_value *args[2] = {parts[i], tg_int((int64_t)n)};
        ok = (heads[i] = tg__df_call(df->g, TG__OP_HEAD, 2, args)) != NULL;
    }
    tg_value *all = ok ? concat_of(df, heads, k) : NULL;
    if (all) {
        tg_value *args[2] = {all, tg_int((int64_t)n)};
        res = tg__df_call(df->g, TG__OP_HEAD, 2, args);
    }
    tg__free(heads);
    return res;
}

tg_value *tg_df_compute(tg_dataframe *df, tg_scheduler *s)
{
    tg_value *d = tg_df_concat(df);
    if (!d)
        return tg_error("%s", tg_last_error());
    return tg_compute(d, s);
}
