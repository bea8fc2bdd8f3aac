/* dataframe/frame_tasks.c - the per-partition tasks: check, filter,
 * assign, project, head, concat, empty, len and sum, and the local
 * trampoline of tg_df_map_partitions.
 *
 * A task takes its partition's frame first and its parameters as plain
 * values after it (df_internal.h lists them), decodes them each time it
 * runs (cheap next to a partition) and checks them against the frame,
 * so a malformed parameter or an unexpected frame fails the task with a
 * message, never a crash.  Frames come out with exactly the columns the
 * "out names" parameter lists, in that order: lowering asks each task
 * for the columns its consumer needs (lower.c).
 */
#include "df_internal.h"
#include "expr_internal.h"

tg_value *tg__task_check(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    const char *who = n == 3 ? tg_as_str(a[2]) : NULL;
    const tg__frame *f = tg__frame_of(a[0]);
    if (!who)
        who = "check";
    if (!f)
        return tg__df_not_frame(who, a[0]);
    tg__params s;
    const char *why;
    if (tg__schema_decode(a[1], &s, &why))
        return tg__df_bad_param(who, "schema", why);
    const char *bad =
        tg__frame_check_schema(f, s.n, (char *const *)s.names, s.types);
    tg_value *r = bad ? tg_error("%s: %s", who, bad) : tg_incref(a[0]);
    tg__params_close(&s);
    return r;
}

/* The frame of columns out[0..n) taken from f by name (cols[i] names
 * the column to use for out[i] when not NULL).  An error value names a
 * missing column. */
static tg_value *take_columns(const char *task, const tg__frame *f,
                              size_t nrows, const tg__params *src,
                              const tg__params *out, tg__col *const *given)
{
    tg__col *small[16], **cols = small;
    size_t n = out->n;
    tg__name_index ix;
    if (tg__name_index_for(&ix, f->ncols, (const char *const *)f->names, n))
        return tg_error("out of memory");
    if (n > 16 && !(cols = tg__malloc(n * sizeof *cols))) {
        tg__name_index_close(&ix);
        return tg_error("out of memory");
    }
    tg_value *err = NULL;
    size_t i = 0;
    for (; i < n; i++) {
        if (given && given[i]) {
            cols[i] = tg__col_ref(given[i]);
            continue;
        }
        long k = tg__name_index_find(&ix, src->names[i]);
        if (k < 0) {
            err = tg_error("%s: the partition has no column '%s'", task,
                           src->names[i]);
            break;
        }
        cols[i] = tg__col_ref(f->cols[k]);
    }
    tg__name_index_close(&ix);
    tg__frame *res = NULL;
    if (!err)
        res = tg__frame_new(n, out->names, cols, nrows);
    else
        while (i-- > 0)
            tg__col_unref(cols[i]);
    if (cols != small)
        tg__free(cols);
    if (err)
        return err;
    tg_value *v = tg__frame_value(res);
    return v ? v : tg_error("out of memory");
}

/* Decodes an expression parameter and checks it against f's columns. */
static tg_value *frame_expr(const char *task, const tg_value *v,
                            const tg__frame *f, tg_expr **out, tg_dtype *type)
{
    const char *why = NULL;
    tg_expr *e = tg__expr_decode(v, &why);
    if (!e)
        return tg__df_bad_param(task, "expression", why);
    tg_dtype small[16], *types = small;
    if (f->ncols > 16 && !(types = tg__malloc(f->ncols * sizeof *types))) {
        tg_expr_free(e);
        return tg_error("out of memory");
    }
    for (size_t i = 0; i < f->ncols; i++)
        types[i] = f->cols[i]->type;
    int rc = tg__expr_type(e, f->ncols, f->names, types, type);
    if (types != small)
        tg__free(types);
    if (rc) {
        tg_expr_free(e);
        return tg_error("%s: %s", task, tg_last_error());
    }
    *out = e;
    return NULL;
}

/* filter(frame, predicate, out names): the rows where the predicate is
 * true, with the out columns. */
tg_value *tg__task_filter(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__frame *f = tg__frame_of(a[0]);
    if (!f)
        return tg__df_not_frame("filter", a[0]);
    tg__params out;
    const char *why;
    if (tg__names_decode(a[2], &out, &why))
        return tg__df_bad_param("filter", "columns", why);
    tg_expr *pred = NULL;
    tg_dtype t;
    tg__col *m = NULL;
    tg_value *res = frame_expr("filter", a[1], f, &pred, &t);
    if (!res && t != TG_DT_BOOL)
        res =
            tg_error("filter: the predicate is %s, not bool", tg_dtype_name(t));
    if (!res)
        res = tg__expr_eval(pred, f, &m);
    tg_expr_free(pred);
    if (res) {
        tg__params_close(&out);
        return res;
    }
    uint8_t *mask = m->data;
    size_t kept = 0;
    for (size_t i = 0; i < f->nrows; i++) {
        mask[i] = mask[i] && tg__col_valid(m, i); /* m is ours alone */
        kept += mask[i];
    }
    tg__col *small[16], **cols = small;
    size_t made = 0;
    tg__name_index ix;
    if (tg__name_index_for(&ix, f->ncols, (const char *const *)f->names, out.n)
        || (out.n > 16 && !(cols = tg__malloc(out.n * sizeof *cols))))
        res = tg_error("out of memory");
    for (; !res && made < out.n; made++) {
        long k = tg__name_index_find(&ix, out.names[made]);
        if (k < 0)
            res = tg_error("filter: the partition has no column '%s'",
                           out.names[made]);
        else if (kept == f->nrows)
            cols[made] = tg__col_ref(f->cols[k]);
        else if (!(cols[made] = tg__col_filter(f->cols[k], mask, kept)))
            res = tg_error("out of memory");
        if (res)
            break;
    }
    tg__name_index_close(&ix);
    tg__col_unref(m);
    if (!res) {
        res = tg__frame_value(tg__frame_new(out.n, out.names, cols, kept));
        if (!res)
            res = tg_error("out of memory");
    } else {
        while (made-- > 0)
            tg__col_unref(cols[made]);
    }
    if (cols != small)
        tg__free(cols);
    tg__params_close(&out);
    return res;
}

/* assign(frame, name, expression, out names): the out columns, with
 * `name` the expression's value. */
tg_value *tg__task_assign(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__frame *f = tg__frame_of(a[0]);
    const char *name = tg_as_str(a[1]);
    if (!f)
        return tg__df_not_frame("assign", a[0]);
    if (!name)
        return tg__df_bad_param("assign", "name", "not a string");
    tg__params out;
    const char *why;
    if (tg__names_decode(a[3], &out, &why))
        return tg__df_bad_param("assign", "columns", why);
    tg_expr *e = NULL;
    tg_dtype t;
    tg__col *c = NULL;
    tg_value *res = frame_expr("assign", a[2], f, &e, &t);
    if (!res)
        res = tg__expr_eval(e, f, &c);
    tg_expr_free(e);
    tg__col *small[16], **given = small;
    if (!res && out.n > 16 && !(given = tg__calloc(out.n, sizeof *given)))
        res = tg_error("out of memory");
    if (!res) {
        for (size_t i = 0; i < out.n; i++)
            given[i] = strcmp(out.names[i], name) == 0 ? c : NULL;
        res = take_columns("assign", f, f->nrows, &out, &out, given);
    }
    if (given != small)
        tg__free(given);
    tg__col_unref(c);
    tg__params_close(&out);
    return res;
}

/* project(frame, source names, result names | null): column i of the
 * result is the source column i, named result i (the same when null). */
tg_value *tg__task_project(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__frame *f = tg__frame_of(a[0]);
    if (!f)
        return tg__df_not_frame("project", a[0]);
    tg__params src, dst = {0};
    const char *why = NULL;
    bool same = tg_typeof(a[2]) == TG_NULL;
    if (tg__names_decode(a[1], &src, &why)
        || (!same && tg__names_decode(a[2], &dst, &why))) {
        tg__params_close(&src);
        return tg__df_bad_param("project", "columns", why);
    }
    tg_value *res =
        !same && dst.n != src.n
            ? tg__df_bad_param("project", "columns", "lists differ in length")
            : take_columns("project", f, f->nrows, &src, same ? &src : &dst,
                           NULL);
    tg__params_close(&src);
    tg__params_close(&dst);
    return res;
}

/* head(frame, n) -> the first n rows. */
tg_value *tg__task_head(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__frame *f = tg__frame_of(a[0]);
    if (!f)
        return tg__df_not_frame("head", a[0]);
    if (tg_typeof(a[1]) != TG_INT || tg_as_int(a[1]) < 0)
        return tg__df_bad_param("head", "count", "not an int >= 0");
    size_t count = (size_t)tg_as_int(a[1]);
    if (f->nrows <= count)
        return tg_incref(a[0]);
    tg__col **cols = tg__calloc(f->ncols + 1, sizeof *cols);
    size_t made = 0;
    for (; cols && made < f->ncols; made++)
        if (!(cols[made] = tg__col_slice(f->cols[made], 0, count)))
            break;
    tg__frame *out = NULL;
    if (cols && made == f->ncols)
        out = tg__frame_new(made, (const char *const *)f->names, cols, count);
    else
        for (size_t i = 0; cols && i < made; i++)
            tg__col_unref(cols[i]);
    tg__free(cols);
    tg_value *v = tg__frame_value(out);
    return v ? v : tg_error("out of memory");
}

/* concat(frames...) -> one frame, in argument order.  The frames must
 * have the first one's columns. */
tg_value *tg__task_concat(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    tg__frame *small[16] = {0}, **fs = small;
    if (n == 0)
        return tg_error("concat: no frames");
    if (n > 16 && !(fs = tg__malloc(n * sizeof *fs)))
        return tg_error("out of memory");
    tg_value *res = NULL;
    for (size_t i = 0; i < n && !res; i++) {
        if (!(fs[i] = tg__frame_of(a[i]))) {
            res = tg__df_not_frame("concat", a[i]);
            break;
        }
        if (!tg__frame_same_columns(fs[i], fs[0]))
            res = tg_error("concat: frame %zu has other columns than "
                           "frame 0",
                           i);
    }
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

/* empty(schema) -> a frame with no rows. */
tg_value *tg__task_empty(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    tg__params s;
    const char *why;
    if (tg__schema_decode(a[0], &s, &why))
        return tg__df_bad_param("empty", "schema", why);
    tg_value *v = tg__frame_value(tg__frame_empty(s.n, s.names, s.types));
    tg__params_close(&s);
    return v ? v : tg_error("out of memory");
}

tg_value *tg__task_len(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__frame *f = tg__frame_of(a[0]);
    return f ? tg_int((int64_t)f->nrows) : tg__df_not_frame("len", a[0]);
}

tg_value *tg__task_sum(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    int64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        if (tg_typeof(a[i]) != TG_INT)
            return tg_error("sum: argument %zu is %s, not int", i,
                            tg_type_name(tg_typeof(a[i])));
        s += tg_as_int(a[i]);
    }
    return tg_int(s);
}

/* map(frame) with ctx the TG__DF_MAP node: the user's function.  Its
 * result is checked by the registered check task recorded after it. */
tg_value *tg__task_map_local(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    const tg_dataframe *df = ctx;
    if (!tg__frame_of(a[0]))
        return tg__df_not_frame("map_partitions", a[0]);
    tg_value *r = df->map_fn(a[0], df->map_ctx);
    return r ? r : tg_error("map_partitions: the function returned NULL");
}
