/* dataframe/builders.c - per-partition graph builders: from_delayed,
 * filter, assign, select, map_partitions, head, concat and compute.
 *
 * Each builder checks its arguments against the schema at build time
 * (so a typo fails before anything runs), then records one task per
 * partition whose first argument is a shared parameter object (owned by
 * the graph) and whose second is the partition's delayed frame.  Linear
 * chains (read -> filter -> partial) are fused by the planner into one
 * task per partition, so intermediates die at once.
 */
#include "df_internal.h"
#include "expr_internal.h"

/* ---- the dataframe object and shared helpers -------------------------- */

static void df_free(void *p)
{
    tg_dataframe *df = p;
    for (size_t i = 0; df->names && i < df->ncols; i++)
        tg__free(df->names[i]);
    tg__free(df->names);
    tg__free(df->types);
    tg__free(df->parts);
    tg__free(df);
}

tg_value *tg__df_param(void *p, void (*free_fn)(void *), const char *name)
{
    tg_value *v = tg_object(p, free_fn, name);
    if (!v && free_fn)
        free_fn(p);
    return v;
}

tg_dataframe *tg__df_new(tg_graph *g, size_t ncols, const char *const *names,
                         const tg_dtype *types, size_t nparts)
{
    tg_dataframe *df = tg__calloc(1, sizeof *df);
    if (!df)
        return NULL;
    df->g = g;
    df->names = tg__calloc(ncols ? ncols : 1, sizeof *df->names);
    df->types = tg__calloc(ncols ? ncols : 1, sizeof *df->types);
    df->parts = tg__calloc(nparts ? nparts : 1, sizeof *df->parts);
    if (!df->names || !df->types || !df->parts)
        goto fail;
    for (; df->ncols < ncols; df->ncols++) {
        size_t i = df->ncols;
        df->types[i] = types[i];
        if (!(df->names[i] = tg__strdup(names[i])))
            goto fail;
    }
    df->nparts = nparts;
    /* The graph owns the dataframe from here on: a literal node holding
     * it is released by tg_graph_free (and freed now on failure). */
    tg_value *obj = tg__df_param(df, df_free, "dataframe");
    if (!obj || !tg_delayed_value(g, obj))
        return NULL;
    return df;
fail:
    df_free(df);
    return NULL;
}

void tg__df_need(const tg_dataframe *df, const char *name)
{
    tg__demand *d = df ? df->src : NULL;
    for (size_t i = 0; d && i < d->ncols; i++)
        if (strcmp(d->names[i], name) == 0)
            d->needed[i] = 1;
}

void tg__df_need_all(const tg_dataframe *df)
{
    for (size_t i = 0; df && df->src && i < df->ncols; i++)
        tg__df_need(df, df->names[i]);
}

static void need_one(const char *name, void *df)
{
    tg__df_need(df, name);
}

void tg__df_need_expr(const tg_dataframe *df, const tg_expr *e)
{
    tg__expr_columns(e, need_one, (void *)df);
}

long tg__df_find(const tg_dataframe *df, const char *name)
{
    for (size_t i = 0; i < df->ncols; i++)
        if (strcmp(df->names[i], name) == 0)
            return (long)i;
    return -1;
}

tg_value *tg__df_not_frame(const char *task, const tg_value *v)
{
    return tg_error("%s: expected a frame, got %s", task,
                    tg_type_name(tg_typeof(v)));
}

tg_dataframe *tg__df_map(tg_dataframe *df, const char *name, tg_fn fn,
                         tg_value *param, size_t ncols,
                         const char *const *names, const tg_dtype *types)
{
    tg_dataframe *out =
        param ? tg__df_new(df->g, ncols, names, types, df->nparts) : NULL;
    if (out)
        out->src = df->src;
    for (size_t i = 0; out && i < df->nparts; i++) {
        tg_value *args[2] = {tg_incref(param), df->parts[i]};
        if (!(out->parts[i] = tg_delayed_v(df->g, name, fn, NULL, 0, 2, args)))
            out = NULL;
    }
    tg_decref(param);
    return out;
}

tg_value *tg__df_sum_ints(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += tg_as_int(a[i]);
    return tg_int(s);
}

tg_value *tg__df_tree(tg_graph *g, const char *name, tg_fn fn, tg_value *param,
                      tg_value **vals, size_t n, size_t fan)
{
    tg_value *small[33], **args = small;
    if (fan < 2)
        fan = 2;
    if (fan + 1 > 33 && !(args = tg__malloc((fan + 1) * sizeof *args)))
        return NULL;
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += fan) {
            size_t k = n - i < fan ? n - i : fan, a = 0;
            if (param)
                args[a++] = tg_incref(param);
            memcpy(args + a, vals + i, k * sizeof *args);
            vals[m++] = tg_delayed_v(g, name, fn, NULL, 0, a + k, args);
            if (!vals[m - 1]) {
                n = 0;
                break;
            }
        }
        n = m;
    }
    if (args != small)
        tg__free(args);
    return n ? vals[0] : NULL;
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
    tg__df_need_all(df);
    return df->parts[i];
}

/* ---- parameters shared by the tasks of one builder call --------------- */

typedef struct df_param {
    tg_expr *expr;
    char *name; /* assign: the target column */
    size_t n;   /* schema or selection */
    char **names;
    tg_dtype *types;
    tg_frame_fn fn; /* map_partitions */
    void *ctx;
    size_t count; /* head */
} df_param;

static void param_free(void *p)
{
    df_param *pm = p;
    tg_expr_free(pm->expr);
    tg__free(pm->name);
    for (size_t i = 0; pm->names && i < pm->n; i++)
        tg__free(pm->names[i]);
    tg__free(pm->names);
    tg__free(pm->types);
    tg__free(pm);
}

/* A parameter holding a copy of a schema (types may be NULL). */
static df_param *param_new(size_t n, const char *const *names,
                           const tg_dtype *types)
{
    df_param *pm = tg__calloc(1, sizeof *pm);
    if (!pm)
        return NULL;
    pm->names = tg__calloc(n ? n : 1, sizeof *pm->names);
    pm->types = tg__calloc(n ? n : 1, sizeof *pm->types);
    if (!pm->names || !pm->types)
        goto fail;
    for (; pm->n < n; pm->n++) {
        if (!(pm->names[pm->n] = tg__strdup(names[pm->n])))
            goto fail;
        if (types)
            pm->types[pm->n] = types[pm->n];
    }
    return pm;
fail:
    param_free(pm);
    return NULL;
}

static tg_value *param_value(df_param *pm, const char *name)
{
    return pm ? tg__df_param(pm, param_free, name) : NULL;
}

/* ---- from_delayed and map_partitions ----------------------------------- */

static tg_value *check_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const df_param *pm = tg_as_object(a[0]);
    const tg__frame *f = tg__arg_frame(a[1]);
    if (!f)
        return tg__df_not_frame("from_delayed", a[1]);
    const char *bad = tg__frame_check_schema(f, pm->n, pm->names, pm->types);
    return bad ? tg_error("from_delayed: %s", bad) : tg_incref(a[1]);
}

static bool schema_ok(size_t ncols, const char *const *names,
                      const tg_dtype *types)
{
    if (ncols && (!names || !types))
        return false;
    for (size_t i = 0; i < ncols; i++) {
        if (!names[i] || (unsigned)types[i] > TG_DT_STRING)
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return false;
    }
    return true;
}

tg_dataframe *tg_df_from_delayed(tg_graph *g, size_t n, tg_value *const *parts,
                                 size_t ncols, const char *const *names,
                                 const tg_dtype *types)
{
    tg_dataframe *df = NULL;
    tg_value *pv = NULL;
    bool ok = g && (parts || !n) && schema_ok(ncols, names, types);
    for (size_t i = 0; i < n && parts; i++)
        ok = ok && parts[i];
    if (!ok)
        tg__seterr(TG_EINVAL,
                   "from_delayed: NULL or bad argument "
                   "(a NULL part, or a schema with a duplicate name)");
    else if ((pv = param_value(param_new(ncols, names, types), "schema")))
        df = tg__df_new(g, ncols, names, types, n);
    for (size_t i = 0; i < n && parts; i++) {
        tg_value *p = parts[i];
        if (!df) { /* steal what is left */
            tg_decref(p);
            continue;
        }
        if (tg_typeof(p) != TG_DELAYED)
            p = tg_delayed_value(g, p); /* steals the literal frame */
        tg_value *args[2] = {tg_incref(pv), p};
        if (!(df->parts[i] = tg_delayed_v(g, "from-delayed", check_task, NULL,
                                          0, 2, args)))
            df = NULL;
    }
    tg_decref(pv);
    return df;
}

static tg_value *map_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const df_param *pm = tg_as_object(a[0]);
    if (!tg__arg_frame(a[1]))
        return tg__df_not_frame("map_partitions", a[1]);
    tg_value *r = pm->fn(a[1], pm->ctx);
    if (!r || tg_is_error(r))
        return r;
    const tg__frame *f = tg__arg_frame(r);
    const char *bad = f ? tg__frame_check_schema(f, pm->n, pm->names, pm->types)
                        : "the function returned no frame";
    if (!bad)
        return r;
    tg_decref(r);
    return tg_error("map_partitions: %s", bad);
}

tg_dataframe *tg_df_map_partitions(tg_dataframe *df, const char *name,
                                   tg_frame_fn fn, void *ctx, size_t ncols,
                                   const char *const *names,
                                   const tg_dtype *types)
{
    if (!df || !fn)
        return tg__seterr_null(TG_EINVAL, "map_partitions: NULL %s",
                               df ? "function" : "dataframe");
    if (ncols == 0) {
        ncols = df->ncols;
        names = (const char *const *)df->names;
        types = df->types;
    } else if (!schema_ok(ncols, names, types)) {
        return tg__seterr_null(TG_EINVAL, "map_partitions: bad schema");
    }
    tg__df_need_all(df);
    df_param *pm = param_new(ncols, names, types);
    if (pm)
        pm->fn = fn, pm->ctx = ctx;
    return tg__df_map(df, name ? name : "map-partitions", map_task,
                      param_value(pm, "map"), ncols, names, types);
}

/* ---- filter, assign, select ---------------------------------------------- */

static tg_value *filter_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const df_param *pm = tg_as_object(a[0]);
    const tg__frame *f = tg__arg_frame(a[1]);
    if (!f)
        return tg__df_not_frame("filter", a[1]);
    tg__col *m = NULL;
    tg_value *err = tg__expr_eval(pm->expr, f, &m);
    if (err)
        return err;
    uint8_t *mask = m->data;
    size_t kept = 0;
    for (size_t i = 0; i < f->nrows; i++) {
        mask[i] = mask[i] && tg__col_valid(m, i); /* m is ours alone */
        kept += mask[i];
    }
    if (kept == f->nrows) {
        tg__col_unref(m);
        return tg_incref(a[1]);
    }
    tg__col **cols = tg__calloc(f->ncols ? f->ncols : 1, sizeof *cols);
    size_t made = 0;
    for (; cols && made < f->ncols; made++)
        if (!(cols[made] = tg__col_filter(f->cols[made], mask, kept)))
            break;
    tg__col_unref(m);
    tg__frame *out = NULL;
    if (cols && made == f->ncols)
        out =
            tg__frame_new(f->ncols, (const char *const *)f->names, cols, kept);
    else
        for (size_t i = 0; cols && i < made; i++)
            tg__col_unref(cols[i]);
    tg__free(cols);
    tg_value *v = tg__frame_value(out);
    return v ? v : tg_error("out of memory");
}

tg_dataframe *tg_df_filter(tg_dataframe *df, tg_expr *pred)
{
    tg_dtype t = TG_DT_BOOL;
    if (!df || !pred) {
        tg_expr_free(pred);
        return tg__seterr_null(TG_EINVAL, "filter: NULL %s",
                               df ? "predicate" : "dataframe");
    }
    int rc = tg__expr_type(pred, df->ncols, df->names, df->types, &t);
    if (rc || t != TG_DT_BOOL) {
        tg_expr_free(pred);
        if (rc == 0)
            tg__seterr(TG_EINVAL, "filter: the predicate is %s, not bool",
                       tg_dtype_name(t));
        return NULL;
    }
    tg__df_need_expr(df, pred);
    df_param *pm = param_new(0, NULL, NULL);
    if (pm)
        pm->expr = pred;
    else
        tg_expr_free(pred);
    return tg__df_map(df, "filter", filter_task, param_value(pm, "filter"),
                      df->ncols, (const char *const *)df->names, df->types);
}

static tg_value *assign_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const df_param *pm = tg_as_object(a[0]);
    const tg__frame *f = tg__arg_frame(a[1]);
    if (!f)
        return tg__df_not_frame("assign", a[1]);
    tg__col *c = NULL;
    tg_value *err = tg__expr_eval(pm->expr, f, &c);
    if (err)
        return err;
    long at = tg__frame_find(f, pm->name);
    size_t ncols = f->ncols + (at < 0);
    tg__col **cols = tg__calloc(ncols, sizeof *cols);
    const char **names = tg__calloc(ncols, sizeof *names);
    tg__frame *out = NULL;
    if (cols && names) {
        for (size_t i = 0; i < f->ncols; i++) {
            cols[i] = tg__col_ref(f->cols[i]);
            names[i] = f->names[i];
        }
        size_t k = at < 0 ? f->ncols : (size_t)at;
        tg__col_unref(cols[k]);
        cols[k] = c;
        names[k] = pm->name;
        c = NULL;
        out = tg__frame_new(ncols, names, cols, f->nrows);
    }
    tg__col_unref(c);
    tg__free(cols);
    tg__free(names);
    tg_value *v = tg__frame_value(out);
    return v ? v : tg_error("out of memory");
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
    tg__df_need_expr(df, e);
    long at = tg__df_find(df, name);
    size_t ncols = df->ncols + (at < 0);
    const char **names = tg__calloc(ncols, sizeof *names);
    tg_dtype *types = tg__calloc(ncols, sizeof *types);
    df_param *pm = names && types ? param_new(0, NULL, NULL) : NULL;
    if (!pm || !(pm->name = tg__strdup(name))) {
        tg_expr_free(e);
        if (pm)
            param_free(pm);
        tg__free(names);
        tg__free(types);
        return NULL;
    }
    pm->expr = e;
    for (size_t i = 0; i < df->ncols; i++)
        names[i] = df->names[i], types[i] = df->types[i];
    size_t k = at < 0 ? df->ncols : (size_t)at;
    names[k] = pm->name;
    types[k] = t;
    tg_dataframe *out =
        tg__df_map(df, "assign", assign_task, param_value(pm, "assign"), ncols,
                   names, types);
    tg__free(names);
    tg__free(types);
    return out;
}

static tg_value *select_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const df_param *pm = tg_as_object(a[0]);
    const tg__frame *f = tg__arg_frame(a[1]);
    if (!f)
        return tg__df_not_frame("select", a[1]);
    tg__col **cols = tg__calloc(pm->n ? pm->n : 1, sizeof *cols);
    if (!cols)
        return tg_error("out of memory");
    for (size_t i = 0; i < pm->n; i++) {
        long k = tg__frame_find(f, pm->names[i]);
        if (k < 0) {
            for (size_t j = 0; j < i; j++)
                tg__col_unref(cols[j]);
            tg__free(cols);
            return tg_error("select: no column '%s'", pm->names[i]);
        }
        cols[i] = tg__col_ref(f->cols[k]);
    }
    tg__frame *out =
        tg__frame_new(pm->n, (const char *const *)pm->names, cols, f->nrows);
    tg__free(cols);
    tg_value *v = tg__frame_value(out);
    return v ? v : tg_error("out of memory");
}

tg_dataframe *tg_df_select(tg_dataframe *df, size_t n, const char *const *names)
{
    if (!df || (n && !names))
        return tg__seterr_null(TG_EINVAL, "select: NULL argument");
    tg_dtype *types = tg__calloc(n ? n : 1, sizeof *types);
    if (!types)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        long k = names[i] ? tg__df_find(df, names[i]) : -1;
        for (size_t j = 0; k >= 0 && j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                k = -2;
        if (k < 0) {
            tg__free(types);
            return tg__seterr_null(TG_EINVAL, "select: %s column '%s'",
                                   k == -2 ? "duplicate" : "no",
                                   names[i] ? names[i] : "(null)");
        }
        types[i] = df->types[k];
    }
    for (size_t i = 0; i < n; i++)
        tg__df_need(df, names[i]);
    tg_dataframe *out = tg__df_map(
        df, "select", select_task,
        param_value(param_new(n, names, types), "select"), n, names, types);
    tg__free(types);
    return out;
}

/* ---- head, concat, compute ----------------------------------------------- */

/* concat(frames...) -> one frame, in argument order. */
static tg_value *concat_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    tg__frame *small[16] = {0}, **fs = small;
    if (n == 0)
        return tg_error("concat: no frames");
    if (n > 16 && !(fs = tg__malloc(n * sizeof *fs)))
        return tg_error("out of memory");
    tg_value *res = NULL;
    for (size_t i = 0; i < n && !res; i++)
        if (!(fs[i] = tg__arg_frame(a[i])))
            res = tg__df_not_frame("concat", a[i]);
    if (!res && n == 1)
        res = tg_incref(a[0]);
    if (!res) {
        res = tg__frame_value(tg__frame_concat(fs, n));
        if (!res)
            res = tg_error("out of memory");
    }
    if (fs != small)
        tg__free(fs);
    return res;
}

/* head(param, frame) -> the first param->count rows of frame. */
static tg_value *head_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    const df_param *pm = tg_as_object(a[0]);
    tg__frame *fs[1] = {tg__arg_frame(a[1])};
    if (n != 2 || !fs[0])
        return tg__df_not_frame("head", a[1]);
    if (fs[0]->nrows <= pm->count)
        return tg_incref(a[1]);
    tg__col **cols = tg__calloc(fs[0]->ncols + 1, sizeof *cols);
    size_t made = 0;
    for (; cols && made < fs[0]->ncols; made++)
        if (!(cols[made] = tg__col_slice(fs[0]->cols[made], 0, pm->count)))
            break;
    tg__frame *out = NULL;
    if (cols && made == fs[0]->ncols)
        out = tg__frame_new(made, (const char *const *)fs[0]->names, cols,
                            pm->count);
    else
        for (size_t i = 0; cols && i < made; i++)
            tg__col_unref(cols[i]);
    tg__free(cols);
    tg_value *v = tg__frame_value(out);
    return v ? v : tg_error("out of memory");
}

/* A delayed concat of parts (or an empty frame of df's schema). */
static tg_value *concat_of(tg_dataframe *df, tg_value **parts, size_t n)
{
    if (n == 0) {
        tg__frame *f = tg__frame_empty(
            df->ncols, (const char *const *)df->names, df->types);
        return tg_delayed_value(df->g, tg__frame_value(f));
    }
    return tg_delayed_v(df->g, "concat", concat_task, NULL, 0, n, parts);
}

tg_value *tg_df_concat(tg_dataframe *df)
{
    if (!df)
        return tg__seterr_null(TG_EINVAL, "concat: NULL dataframe");
    tg__df_need_all(df);
    return concat_of(df, df->parts, df->nparts);
}

tg_value *tg_df_head(tg_dataframe *df, size_t n, size_t npartitions)
{
    if (!df)
        return tg__seterr_null(TG_EINVAL, "head: NULL dataframe");
    size_t k =
        npartitions && npartitions < df->nparts ? npartitions : df->nparts;
    tg__df_need_all(df);
    df_param *pm = param_new(0, NULL, NULL);
    if (pm)
        pm->count = n;
    tg_value *pv = param_value(pm, "head");
    tg_value **heads = tg__calloc(k ? k : 1, sizeof *heads);
    tg_value *res = NULL;
    bool ok = pv && heads;
    for (size_t i = 0; ok && i < k; i++) {
        tg_value *args[2] = {tg_incref(pv), df->parts[i]};
        ok = (heads[i] =
                  tg_delayed_v(df->g, "head", head_task, NULL, 0, 2, args))
             != NULL;
    }
    tg_value *all = ok ? concat_of(df, heads, k) : NULL;
    if (all) {
        tg_value *args[2] = {tg_incref(pv), all};
        res = tg_delayed_v(df->g, "head", head_task, NULL, 0, 2, args);
    }
    tg__free(heads);
    tg_decref(pv);
    return res;
}

tg_value *tg_df_compute(tg_dataframe *df, tg_scheduler *s)
{
    tg_value *d = tg_df_concat(df);
    if (!d)
        return tg_error("%s", tg_last_error());
    return tg_compute(d, s);
}
