/* dataframe/sort.c - tg_df_sort_values, tg_df_nsmallest and
 * tg_df_nlargest: a distributed sort over the shared shuffle, and the
 * top-n rewrite of a head after a sort.
 *
 * A sort into k > 1 partitions lowers to: a sample task per input
 * partition (evenly spaced rows with their positions and weights), one
 * splitters task choosing k - 1 positions that cut the weighted samples
 * into equal parts, a range shuffle by those positions, and a sort task
 * per range.  A position is (keys, partition, row): no two rows share
 * one, so splitters break ties between equal keys, a key held by most
 * rows (or a mostly-null key) still spreads evenly, and every output
 * range is a run of consecutive positions, so ranges come out in order
 * and the whole is stable.  Rows are ordered by order.c (NaN as null).
 * tg_df_head of a sort node skips all that: a top n per partition,
 * merged as a tree of the same sort task with a limit.
 */
#include <stdio.h>

#include "shuffle_internal.h"

/* Samples per output partition taken from each input partition, and
 * their cap: enough for splitters within about 1/32 of a partition's
 * share, few enough that the splitters task sorts a small table. */
#define SAMPLES_PER_OUTPUT 32
#define MAX_SAMPLES 4096

/* ---- tasks --------------------------------------------------------------- */

static tg_value *spec_param(const char *task, const tg_value *v,
                            tg__sortspec *s)
{
    const char *why = NULL;
    return tg__sortspec_decode(v, s, &why)
               ? tg__df_bad_param(task, "sort spec", why)
               : NULL;
}

/* A frame of columns cols (stolen) named "<prefix><i>" for the first
 * n_named and then names[...] for the rest.  A new reference. */
static tg_value *frame_of(tg__col **cols, size_t ncols, size_t n_named,
                          const char *const *rest, size_t nrows)
{
    char **names = tg__calloc(ncols + 1, sizeof *names);
    bool ok = names != NULL;
    for (size_t i = 0; ok && i < ncols; i++) {
        char buf[32];
        if (i < n_named)
            snprintf(buf, sizeof buf, "key%zu", i);
        ok = (names[i] = tg__strdup(i < n_named ? buf : rest[i - n_named]))
             != NULL;
    }
    tg__frame *f = NULL;
    if (ok)
        f = tg__frame_new(ncols, (const char *const *)names, cols, nrows);
    else
        for (size_t i = 0; i < ncols; i++)
            tg__col_unref(cols[i]);
    for (size_t i = 0; names && i < ncols; i++)
        tg__free(names[i]);
    tg__free(names);
    tg_value *v = tg__frame_value(f);
    return v ? v : tg_error("out of memory");
}

/* sort_sample(frame, spec, part, m) -> up to m evenly spaced rows:
 * their key columns, then part, row (int64) and weight (float64, the
 * rows each sample stands for). */
tg_value *tg__task_sort_sample(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const tg__frame *f = tg__frame_of(a[0]);
    if (!f)
        return tg__df_not_frame("sort", a[0]);
    if (tg_typeof(a[2]) != TG_INT || tg_as_int(a[2]) < 0)
        return tg__df_bad_param("sort", "partition", "not an int >= 0");
    if (tg_typeof(a[3]) != TG_INT || tg_as_int(a[3]) < 1
        || tg_as_int(a[3]) > MAX_SAMPLES)
        return tg__df_bad_param("sort", "samples", "not an int in 1..4096");
    tg__sortspec s;
    tg_value *err = spec_param("sort", a[1], &s);
    if (err)
        return err;
    size_t nk = s.n_keys, m = (size_t)tg_as_int(a[3]);
    size_t ns = f->nrows < m ? f->nrows : m;
    tg__sortkey *sk = tg__calloc(nk, sizeof *sk);
    uint32_t *idx = tg__malloc((ns ? ns : 1) * sizeof *idx);
    tg__col **cols = tg__calloc(nk + 3, sizeof *cols);
    if (!sk || !idx || !cols)
        err = tg_error("out of memory");
    if (!err)
        err = tg__sortspec_keys("sort", &s, f, sk);
    size_t made = 0;
    if (!err) {
        for (size_t i = 0; i < ns; i++) /* the middle of each 1/ns */
            idx[i] = (uint32_t)(((2 * (uint64_t)i + 1) * f->nrows) / (2 * ns));
        for (; made < nk; made++)
            if (!(cols[made] = tg__col_take(
                      f->cols[tg__frame_find(f, s.keys[made])], idx, ns)))
                break;
        tg__col *p = tg__col_new(TG_DT_INT64, ns, 0);
        tg__col *r = tg__col_new(TG_DT_INT64, ns, 0);
        tg__col *w = tg__col_new(TG_DT_FLOAT64, ns, 0);
        for (size_t i = 0; p && r && w && i < ns; i++) {
            ((int64_t *)p->data)[i] = tg_as_int(a[2]);
            ((int64_t *)r->data)[i] = idx[i];
            ((double *)w->data)[i] = (double)f->nrows / (double)ns;
        }
        cols[nk] = p, cols[nk + 1] = r, cols[nk + 2] = w;
        if (made < nk || !p || !r || !w) {
            for (size_t i = 0; i < nk + 3; i++)
                tg__col_unref(cols[i]); /* NULL where not made */
            err = tg_error("out of memory");
        }
    }
    static const char *const tail[] = {"part", "row", "weight"};
    tg_value *res = err ? err : frame_of(cols, nk + 3, nk, tail, ns);
    tg__free(sk);
    tg__free(idx);
    tg__free(cols);
    tg__sortspec_close(&s);
    return res;
}

/* The sample frames a[0..n) concatenated, after checking that each is
 * a sample of nk keys with the first one's columns.  NULL, *err set. */
static tg__frame *samples_of(tg_value *const *a, size_t n, size_t nk,
                             tg_value **err)
{
    tg__frame **fs = tg__calloc(n + 1, sizeof *fs);
    if (!fs) {
        *err = tg_error("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n && !*err; i++) {
        fs[i] = tg__frame_of(a[i]);
        if (!fs[i] || fs[i]->ncols != nk + 3
            || !tg__frame_same_columns(fs[i], fs[0])
            || fs[i]->cols[nk]->type != TG_DT_INT64
            || fs[i]->cols[nk + 1]->type != TG_DT_INT64
            || fs[i]->cols[nk + 2]->type != TG_DT_FLOAT64
            || fs[i]->cols[nk]->valid || fs[i]->cols[nk + 1]->valid
            || fs[i]->cols[nk + 2]->valid)
            *err = tg_error("sort: argument %zu is not a sample", i);
    }
    tg__frame *all = NULL;
    if (!*err && !(all = tg__frame_concat(fs, n)))
        *err = tg_error("out of memory");
    tg__free(fs);
    return all;
}

/* The splitters of all (samples) for k ranges: positions idx picks,
 * cutting the weighted samples in sort order into k equal parts.
 * Returns how many (at most k - 1) went into sel. */
static size_t choose(const tg__frame *all, size_t nk, const uint32_t *idx,
                     size_t k, uint32_t *sel)
{
    const double *w = all->cols[nk + 2]->data;
    double total = 0, cum = 0;
    for (size_t i = 0; i < all->nrows; i++)
        total += w[i];
    size_t n_sel = 0, j = 1;
    for (size_t i = 0; i < all->nrows && j < k; i++) {
        while (j < k && cum >= total * (double)j / (double)k) {
            sel[n_sel++] = idx[i];
            j++;
        }
        cum += w[idx[i]];
    }
    return n_sel;
}

/* sort_splitters(spec, k, samples...) -> at most k - 1 splitter
 * positions in order: key columns, part and row. */
tg_value *tg__task_sort_splitters(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    if (tg_typeof(a[1]) != TG_INT || tg_as_int(a[1]) < 1
        || tg_as_int(a[1]) > TG__SHUFFLE_MAX_K)
        return tg__df_bad_param("sort", "k", "not an int in 1..2^20");
    if (n < 3)
        return tg_error("sort: no samples");
    tg__sortspec s;
    tg_value *err = spec_param("sort", a[0], &s);
    if (err)
        return err;
    size_t nk = s.n_keys, k = (size_t)tg_as_int(a[1]);
    tg__frame *all = samples_of(a + 2, n - 2, nk, &err);
    tg__sortkey *sk = all ? tg__calloc(nk + 2, sizeof *sk) : NULL;
    uint32_t *idx = NULL, *sel = NULL;
    if (all && sk) {
        for (size_t i = 0; i < nk + 2; i++) /* keys, then part, row */
            sk[i] =
                (tg__sortkey){tg__keyview_col(all->cols[i]),
                              i < nk && !s.ascending[i], s.nulls_first, true};
        idx = tg__order_rows(sk, nk + 2, all->nrows);
        sel = tg__malloc(k * sizeof *sel);
    }
    tg__col **cols = tg__calloc(nk + 2, sizeof *cols);
    size_t n_sel = 0, made = 0;
    if (!err && (!idx || !sel || !cols))
        err = tg_error("out of memory");
    if (!err) {
        n_sel = choose(all, nk, idx, k, sel);
        for (; made < nk + 2; made++)
            if (!(cols[made] = tg__col_take(all->cols[made], sel, n_sel)))
                break;
        if (made < nk + 2) {
            while (made-- > 0)
                tg__col_unref(cols[made]);
            err = tg_error("out of memory");
        }
    }
    static const char *const tail[] = {"part", "row"};
    tg_value *res = err ? err : frame_of(cols, nk + 2, nk, tail, n_sel);
    tg__frame_free(all);
    tg__free(sk);
    tg__free(idx);
    tg__free(sel);
    tg__free(cols);
    tg__sortspec_close(&s);
    return res;
}

/* sort(spec, limit | null, frames...) -> the frames' rows, in argument
 * order, sorted stably and cut to the first limit rows. */
tg_value *tg__task_sort(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    bool limited = tg_typeof(a[1]) != TG_NULL;
    if (limited && (tg_typeof(a[1]) != TG_INT || tg_as_int(a[1]) < 0))
        return tg__df_bad_param("sort", "limit", "not null or an int >= 0");
    if (n < 3)
        return tg_error("sort: no frames");
    tg__sortspec s;
    tg_value *err = spec_param("sort", a[0], &s);
    if (err)
        return err;
    size_t m = n - 2;
    tg__frame **fs = tg__pieces_of("sort", a + 2, m, &err);
    tg__frame *kf = fs ? tg__key_columns("sort", fs, m, &s, &err) : NULL;
    tg__sortkey *sk = kf ? tg__calloc(s.n_keys, sizeof *sk) : NULL;
    if (kf && !sk)
        err = tg_error("out of memory");
    if (!err)
        err = tg__sortspec_keys("sort", &s, kf, sk);
    size_t rows = 0; /* rows kept */
    if (!err)
        rows = limited && (uint64_t)tg_as_int(a[1]) < kf->nrows
                   ? (size_t)tg_as_int(a[1])
                   : kf->nrows;
    uint32_t *idx = err ? NULL : tg__order_top(sk, s.n_keys, kf->nrows, rows);
    tg__col **cols = idx ? tg__calloc(fs[0]->ncols + 1, sizeof *cols) : NULL;
    if (!err && (!cols || tg__take_pieces(fs, m, idx, rows, cols)))
        err = tg_error("out of memory");
    tg_value *res = err;
    if (!err)
        res = tg__frame_value(tg__frame_new(
            fs[0]->ncols, (const char *const *)fs[0]->names, cols, rows));
    tg__frame_free(kf);
    tg__free(fs);
    tg__free(sk);
    tg__free(idx);
    tg__free(cols);
    tg__sortspec_close(&s);
    return res ? res : tg_error("out of memory");
}

/* ---- lowering ------------------------------------------------------------ */

/* sort(spec, limit, frames[0..n)) recorded; frames borrowed. */
static tg_value *sort_call(tg_graph *g, tg_value *spec, tg_value *limit,
                           tg_value *const *frames, size_t n)
{
    tg_value **args = tg__malloc((n + 2) * sizeof *args);
    if (!args) {
        tg_decref(limit);
        return NULL;
    }
    args[0] = tg_incref(spec);
    args[1] = limit;
    memcpy(args + 2, frames, n * sizeof *args);
    tg_value *r = tg__df_call(g, TG__OP_SORT, n + 2, args);
    tg__free(args);
    return r;
}

int tg__sort_lower(tg_dataframe *df, tg_value *const *in, tg_value **parts)
{
    size_t n = df->in->nparts, k = df->nparts;
    tg_graph *g = df->g;
    if (k == 1)
        return (parts[0] = sort_call(g, df->param, tg_null(), in, n))
                   ? 0
                   : TG_ENOMEM;
    if (k == 0)
        return 0;
    size_t m = SAMPLES_PER_OUTPUT * k < MAX_SAMPLES ? SAMPLES_PER_OUTPUT * k
                                                    : MAX_SAMPLES;
    tg_value **args = tg__calloc(n + 2, sizeof *args);
    tg_value **pieces = tg__calloc(n * k, sizeof *pieces);
    tg_value *spl = NULL, *partitioner = NULL;
    int rc = args && pieces ? 0 : TG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tg_value *sa[4] = {in[i], tg_incref(df->param), tg_int((int64_t)i),
                           tg_int((int64_t)m)};
        if (!(args[i + 2] = tg__df_call(g, TG__OP_SORT_SAMPLE, 4, sa)))
            rc = TG_ENOMEM;
    }
    if (rc == 0) {
        args[0] = tg_incref(df->param);
        args[1] = tg_int((int64_t)k);
        spl = tg__df_call(g, TG__OP_SORT_SPLITTERS, n + 2, args);
        partitioner = tg_list(3, tg_str("range"), tg_incref(df->param),
                              tg_int((int64_t)k));
    }
    if (rc == 0 && (!spl || !partitioner))
        rc = TG_ENOMEM;
    if (rc == 0)
        rc = tg__shuffle(g, in, n, partitioner, spl, k, pieces);
    for (size_t j = 0; rc == 0 && j < k; j++)
        if (!(parts[j] = sort_call(g, df->param, tg_null(), pieces + j * n, n)))
            rc = TG_ENOMEM;
    tg_decref(partitioner);
    tg__free(args);
    tg__free(pieces);
    return rc;
}

tg_value *tg__sort_head(tg_dataframe *df, size_t n)
{
    tg_dataframe *in = df->in;
    tg_value **parts = tg__df_lower(in, 0, NULL, true);
    if (!parts)
        return NULL;
    if (in->nparts == 0) {
        tg_value *s = tg__schema_value(
            in->ncols, (const char *const *)in->names, in->types);
        return tg__df_call(df->g, TG__OP_EMPTY, 1, &s);
    }
    tg_value **heads = tg__calloc(in->nparts, sizeof *heads);
    bool ok = heads != NULL;
    for (size_t i = 0; ok && i < in->nparts; i++)
        ok = (heads[i] =
                  sort_call(df->g, df->param, tg_int((int64_t)n), &parts[i], 1))
             != NULL;
    tg_value *lead[2] = {df->param, tg_int((int64_t)n)};
    tg_value *res = ok && lead[1] ? tg__df_tree(df->g, TG__OP_SORT, lead, 2,
                                                heads, in->nparts, 8)
                                  : NULL;
    tg_decref(lead[1]);
    tg__free(heads);
    return res;
}

/* ---- builders ------------------------------------------------------------ */

tg_dataframe *tg_df_sort_values(tg_dataframe *df, size_t n_keys,
                                const char *const *keys, const bool *ascending,
                                const tg_sort_opts *opts)
{
    if (!df || !keys)
        return tg__seterr_null(TG_EINVAL, "sort_values: NULL %s",
                               df ? "keys" : "dataframe");
    if (n_keys == 0)
        return tg__seterr_null(TG_EINVAL, "sort_values: no keys");
    tg_na_position na = opts ? opts->na_position : TG_NA_LAST;
    if (na != TG_NA_LAST && na != TG_NA_FIRST)
        return tg__seterr_null(TG_EINVAL, "sort_values: bad na_position %d",
                               (int)na);
    for (size_t i = 0; i < n_keys; i++)
        if (!keys[i] || tg__df_find(df, keys[i]) < 0)
            return tg__seterr_null(TG_EINVAL, "sort_values: no column '%s'",
                                   keys[i] ? keys[i] : "(null)");
    size_t k = opts && opts->npartitions ? opts->npartitions : df->nparts;
    if (k > TG__SHUFFLE_MAX_K)
        return tg__seterr_null(TG_EINVAL,
                               "sort_values: %zu partitions is too many", k);
    tg_value *spec =
        tg__sortspec_value(n_keys, keys, ascending, na == TG_NA_FIRST);
    if (!spec)
        return tg__seterr_null(TG_ENOMEM, "sort_values: out of memory");
    return tg__df_node(df->g, TG__DF_SORT, df, df->ncols,
                       (const char *const *)df->names, df->types,
                       df->nparts ? k : 0, spec);
}

/* nsmallest / nlargest: the first n rows of a sort, as one partition. */
static tg_dataframe *top_n(tg_dataframe *df, size_t n, size_t n_keys,
                           const char *const *keys, bool ascending)
{
    bool *asc = tg__malloc((n_keys ? n_keys : 1) * sizeof *asc);
    if (!asc)
        return tg__seterr_null(TG_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_keys; i++)
        asc[i] = ascending;
    tg_dataframe *s = tg_df_sort_values(df, n_keys, keys, asc, NULL);
    tg__free(asc);
    tg_value *part = s ? tg__sort_head(s, n) : NULL;
    return part ? tg__df_of_part(df->g, part, df->ncols,
                                 (const char *const *)df->names, df->types)
                : NULL;
}

tg_dataframe *tg_df_nsmallest(tg_dataframe *df, size_t n, size_t n_keys,
                              const char *const *keys)
{
    return top_n(df, n, n_keys, keys, true);
}

tg_dataframe *tg_df_nlargest(tg_dataframe *df, size_t n, size_t n_keys,
                             const char *const *keys)
{
    return top_n(df, n, n_keys, keys, false);
}
