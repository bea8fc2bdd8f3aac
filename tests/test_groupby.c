/* tests/test_groupby.c - tg_df_agg, tg_df_groupby, tg_df_value_counts and
 * tg_df_len: exact values, the null rules, and identical answers for
 * every blocksize, split_out and scheduler. */
#include <math.h>

#include "df_util.h"

/* The pandas-versus-Spark table. */
static const char *const PS_TABLE = "col1,col2\n,1\n,2\nA,3\nA,4\nB,5\nB,6\n";

static void test_groupby_pandas_versus_spark_nulls(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    size_t sizes[] = {0, 5, 11, 23};
    for (size_t b = 0; b < 4; b++) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = td_read_text(g, dir, "t.csv", PS_TABLE, sizes[b]);
        const char *keys[] = {"col1"};
        tg_agg mean = {"col2", TG_AGG_MEAN, NULL};
        tg_groupby_opts o = TG_GROUPBY_OPTS_INIT;
        td_assert_frame(
            tg_df_compute(tg_df_groupby(df, 1, keys, 1, &mean, NULL), NULL),
            "col1,col2_mean\nA,3.5\nB,5.5\n");
        o.keep_null_keys = true;
        td_assert_frame(
            tg_df_compute(tg_df_groupby(df, 1, keys, 1, &mean, &o), NULL),
            "col1,col2_mean\nA,3.5\nB,5.5\n,1.5\n");
        o.split_out = 2;
        td_assert_frame(
            tg_df_compute(tg_df_groupby(df, 1, keys, 1, &mean, &o), NULL),
            "col1,col2_mean\nA,3.5\nB,5.5\n,1.5\n");
        tg_graph_free(g);
    }
    td_rmdir(dir);
}

/* All-zero options are pandas' defaults: a designated initialiser that
 * sets only split_out or split_every still drops null keys, and
 * keep_null_keys keeps them as the last group, with or without
 * split_out. */
static void test_groupby_zero_options_drop_null_keys(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", PS_TABLE, 7);
    const char *keys[] = {"col1"};
    tg_agg sum = {"col2", TG_AGG_SUM, NULL};
    const char *dropped = "col1,col2_sum\nA,7\nB,11\n";
    const char *kept = "col1,col2_sum\nA,7\nB,11\n,3\n";
    tg_groupby_opts zero = {0}, init = TG_GROUPBY_OPTS_INIT;
    tg_groupby_opts split = {.split_out = 4}, every = {.split_every = 2};
    tg_groupby_opts keep = {.keep_null_keys = true};
    tg_groupby_opts keep_split = {.keep_null_keys = true, .split_out = 3};
    const tg_groupby_opts *drop_opts[] = {NULL, &zero, &init, &split, &every};
    for (size_t i = 0; i < 5; i++)
        td_assert_frame(
            tg_df_compute(tg_df_groupby(df, 1, keys, 1, &sum, drop_opts[i]),
                          NULL),
            dropped);
    td_assert_frame(
        tg_df_compute(tg_df_groupby(df, 1, keys, 1, &sum, &keep), NULL), kept);
    td_assert_frame(
        tg_df_compute(tg_df_groupby(df, 1, keys, 1, &sum, &keep_split), NULL),
        kept);
    /* value_counts keeps its explicit dropna argument. */
    td_assert_frame(tg_df_compute(tg_df_value_counts(df, "col1", true), NULL),
                    "col1,count\nA,2\nB,2\n");
    td_assert_frame(tg_df_compute(tg_df_value_counts(df, "col1", false), NULL),
                    "col1,count\nA,2\nB,2\n,2\n");
    tg_graph_free(g);
    td_rmdir(dir);
}

static void test_groupby_null_rules(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    /* Group b's x is all null; group c has one value. */
    const char *text = "k,x,i,s\na,1.5,1,p\na,2.5,,q\nb,,5,\nb,,,\n"
                       "c,4.0,-2,z\n";
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", text, 9);
    const char *keys[] = {"k"};
    tg_agg aggs[] = {{"x", TG_AGG_COUNT, NULL},  {NULL, TG_AGG_SIZE, NULL},
                     {"x", TG_AGG_SUM, NULL},    {"x", TG_AGG_MEAN, NULL},
                     {"x", TG_AGG_MIN, NULL},    {"x", TG_AGG_MAX, NULL},
                     {"x", TG_AGG_VAR, NULL},    {"x", TG_AGG_STD, NULL},
                     {"i", TG_AGG_SUM, NULL},    {"s", TG_AGG_MIN, NULL},
                     {"s", TG_AGG_NUNIQUE, NULL}};
    td_assert_frame(
        tg_df_compute(tg_df_groupby(df, 1, keys, 11, aggs, NULL), NULL),
        "k,x_count,size,x_sum,x_mean,x_min,x_max,x_var,x_std,i_sum,s_min,"
        "s_nunique\n"
        "a,2,2,4.0,2.0,1.5,2.5,0.5,0.7071067811865476,1,p,2\n"
        "b,0,2,0.0,,,,,,5,,0\n"
        "c,1,1,4.0,4.0,4.0,4.0,,,-2,z,1\n");
    /* Whole-frame aggregates skip nulls the same way. */
    tg_agg whole[] = {{"x", TG_AGG_COUNT, NULL},
                      {"x", TG_AGG_MEAN, NULL},
                      {"i", TG_AGG_MAX, NULL},
                      {"s", TG_AGG_MAX, NULL},
                      {"k", TG_AGG_NUNIQUE, NULL}};
    tg_value *r = tg_compute(tg_df_agg(df, 5, whole, NULL), NULL);
    td_assert_frame(r, "x_count,x_mean,i_max,s_max,k_nunique\n"
                       "3,2.6666666666666665,5,z,3\n");
    tg_value *n = tg_compute(tg_df_len(df), NULL);
    assert_int_equal(tg_as_int(n), 5);
    tg_decref(n);
    tg_graph_free(g);
    td_rmdir(dir);
}

/* Values 1e9 + k, k = 0..1023: the sample variance 1024 * 1025 / 12
 * comes out correctly rounded for every partitioning although
 * mean^2 / var is about 1.1e13 (naive double sums give garbage). */
static void test_groupby_variance_with_large_offset(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    char *text = malloc(1024 * 16 + 8);
    size_t len = (size_t)sprintf(text, "x\n");
    for (int k = 0; k < 1024; k++)
        len += (size_t)sprintf(text + len, "%d\n", 1000000000 + k);
    size_t sizes[] = {0, 100, 3001};
    for (size_t b = 0; b < 3; b++) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = td_read_text(g, dir, "t.csv", text, sizes[b]);
        tg_agg aggs[] = {{"x", TG_AGG_VAR, NULL},
                         {"x", TG_AGG_MEAN, NULL},
                         {"x", TG_AGG_SUM, NULL}};
        td_assert_frame(tg_compute(tg_df_agg(df, 3, aggs, NULL), NULL),
                        "x_var,x_mean,x_sum\n87466.66666666667,1000000511.5,"
                        "1024000523776\n");
        tg_graph_free(g);
    }
    free(text);
    td_rmdir(dir);
}

static void test_groupby_empty_input(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", "k,x\n", 0);
    tg_agg aggs[] = {{"x", TG_AGG_COUNT, NULL},
                     {"x", TG_AGG_SUM, NULL},
                     {"x", TG_AGG_MEAN, NULL}};
    /* A string column with no values: sum is rejected at build time. */
    assert_null(tg_df_agg(df, 3, aggs, NULL));
    assert_non_null(strstr(tg_last_error(), "is a string"));
    const char *names[] = {"x"};
    tg_dtype types[] = {TG_DT_INT64};
    tg_dataframe *e = tg_df_from_delayed(g, 0, NULL, 1, names, types);
    td_assert_frame(tg_compute(tg_df_agg(e, 3, aggs, NULL), NULL),
                    "x_count,x_sum,x_mean\n0,0,\n");
    td_assert_frame(tg_df_compute(tg_df_value_counts(e, "x", true), NULL),
                    "x,count\n");
    tg_graph_free(g);
    td_rmdir(dir);
}

static void test_groupby_value_counts_order(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    /* Blank lines are skipped, so nulls need a second column. */
    const char *text = "v,w\nb,1\na,1\n,1\nc,1\nb,1\n,1\na,1\nd,1\n,1\n";
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", text, 7);
    td_assert_frame(tg_df_compute(tg_df_value_counts(df, "v", true), NULL),
                    "v,count\na,2\nb,2\nc,1\nd,1\n");
    td_assert_frame(tg_df_compute(tg_df_value_counts(df, "v", false), NULL),
                    "v,count\n,3\na,2\nb,2\nc,1\nd,1\n");
    tg_graph_free(g);
    td_rmdir(dir);
}

static void test_groupby_multiple_keys_and_errors(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *text = "a,b,y\n2,x,1\n1,y,2\n2,x,3\n1,,4\n2,y,5\n,x,6\n";
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", text, 10);
    const char *keys[] = {"a", "b"};
    tg_agg aggs[] = {{"y", TG_AGG_SUM, "total"}, {"y", TG_AGG_COUNT, NULL}};
    tg_groupby_opts o = TG_GROUPBY_OPTS_INIT;
    td_assert_frame(
        tg_df_compute(tg_df_groupby(df, 2, keys, 2, aggs, &o), NULL),
        "a,b,total,y_count\n1,y,2,1\n2,x,4,2\n2,y,5,1\n");
    o.keep_null_keys = true;
    o.split_out = 3;
    o.split_every = 2;
    td_assert_frame(
        tg_df_compute(tg_df_groupby(df, 2, keys, 2, aggs, &o), NULL),
        "a,b,total,y_count\n1,y,2,1\n1,,4,1\n2,x,4,2\n2,y,5,1\n"
        ",x,6,1\n");
    const char *bad[] = {"zz"};
    assert_null(tg_df_groupby(df, 1, bad, 2, aggs, NULL));
    assert_non_null(strstr(tg_last_error(), "no key column 'zz'"));
    tg_agg dup[] = {{"y", TG_AGG_SUM, "a"}};
    assert_null(tg_df_groupby(df, 1, keys, 1, dup, NULL));
    assert_non_null(strstr(tg_last_error(), "'a' appears twice"));
    tg_agg smean = {"b", TG_AGG_MEAN, NULL};
    assert_null(tg_df_agg(df, 1, &smean, NULL));
    tg_graph_free(g);
    td_rmdir(dir);
}

/* ---- a NaN is missing, as in pandas -------------------------------------- */

#define NUL 1e300 /* stands for a null in nan_frame's arrays */

/* A frame (k float64, x float64) of n rows; NUL makes a null. */
static tg_value *nan_frame(size_t n, const double *k, const double *x)
{
    const char *names[] = {"k", "x"};
    tg_dtype types[] = {TG_DT_FLOAT64, TG_DT_FLOAT64};
    tg_frame_builder *b = tg_frame_builder_new(2, names, types);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < 2; c++) {
            double v = c ? x[i] : k[i];
            assert_int_equal(v == NUL ? tg_frame_builder_null(b, c)
                                      : tg_frame_builder_float(b, c, v),
                             0);
        }
    }
    tg_value *f = tg_frame_builder_finish(b);
    assert_non_null(f);
    return f;
}

/* Two partitions: keys 1, 2, NaN and null; x holds NaN and a null.
 * Group 3's only x is NaN. */
static tg_dataframe *nan_df(tg_graph *g)
{
    const double k1[] = {1, NAN, NUL, 1, 3};
    const double x1[] = {1, 2, NAN, NAN, NAN};
    const double k2[] = {2, NAN, 2, 1};
    const double x2[] = {4, NUL, 8, 3};
    tg_value *parts[2] = {nan_frame(5, k1, x1), nan_frame(4, k2, x2)};
    tg_dataframe *df =
        tg_df_from_delayed(g, 2, parts, 2, (const char *[]){"k", "x"},
                           (const tg_dtype[]){TG_DT_FLOAT64, TG_DT_FLOAT64});
    assert_non_null(df);
    return df;
}

static const tg_agg NAN_AGGS[] = {
    {"x", TG_AGG_COUNT, NULL}, {NULL, TG_AGG_SIZE, NULL},
    {"x", TG_AGG_SUM, NULL},   {"x", TG_AGG_MEAN, NULL},
    {"x", TG_AGG_MIN, NULL},   {"x", TG_AGG_MAX, NULL},
    {"x", TG_AGG_VAR, NULL},   {"x", TG_AGG_NUNIQUE, NULL}};
#define N_NAN_AGGS (sizeof NAN_AGGS / sizeof NAN_AGGS[0])

/* Reductions skip NaN as they skip nulls: x's values are 1, 2, 4, 8, 3
 * (mean 3.6, sample variance 7.3); size still counts every row. */
static void test_groupby_reductions_skip_nan(void **state)
{
    (void)state;
    for (size_t s = 0; s < TD_N_SCHEDULERS; s++) {
        tg_scheduler *sch = td_schedulers[s]();
        tg_graph *g = tg_graph_new();
        td_assert_frame(
            tg_compute(tg_df_agg(nan_df(g), N_NAN_AGGS, NAN_AGGS, NULL), sch),
            "x_count,size,x_sum,x_mean,x_min,x_max,x_var,x_nunique\n"
            "5,9,18.0,3.6,1.0,8.0,7.3,5\n");
        /* An infinity is a value, NaN or not beside it. */
        const double k[] = {0, 0, 0}, x[] = {INFINITY, 1, NAN};
        for (size_t n = 2; n <= 3; n++) {
            tg_value *f = nan_frame(n, k, x);
            tg_dataframe *df = tg_df_from_delayed(
                g, 1, &f, 2, (const char *[]){"k", "x"},
                (const tg_dtype[]){TG_DT_FLOAT64, TG_DT_FLOAT64});
            char want[128];
            snprintf(want, sizeof want,
                     "x_count,size,x_sum,x_mean,x_min,x_max,x_var,"
                     "x_nunique\n2,%zu,inf,inf,1.0,inf,nan,2\n",
                     n);
            td_assert_frame(
                tg_compute(tg_df_agg(df, N_NAN_AGGS, NAN_AGGS, NULL), sch),
                want);
        }
        /* Across partitions too: inf and 2 merge to inf, inf and -inf
         * to NaN. */
        const double x1[] = {INFINITY}, x2[] = {2, -INFINITY};
        tg_value *parts[2] = {nan_frame(1, k, x1), nan_frame(2, k, x2)};
        tg_dataframe *df2 = tg_df_from_delayed(
            g, 2, parts, 2, (const char *[]){"k", "x"},
            (const tg_dtype[]){TG_DT_FLOAT64, TG_DT_FLOAT64});
        tg_dataframe *first =
            tg_df_filter(df2, tg_not(tg_lt(tg_col("x"), tg_lit_float(0))));
        td_assert_frame(
            tg_compute(tg_df_agg(first, 1, &NAN_AGGS[2], NULL), sch),
            "x_sum\ninf\n");
        td_assert_frame(tg_compute(tg_df_agg(df2, 1, &NAN_AGGS[2], NULL), sch),
                        "x_sum\nnan\n");
        tg_graph_free(g);
        tg_scheduler_free(sch);
    }
}

/* A NaN key is a null key: dropped by default, and with keep_null_keys
 * one group with the nulls, last.  Group 3 has only a NaN x: its sum is
 * 0 and its mean, min, max and var are null, as for an all-null
 * group. */
static void test_groupby_nan_key_is_a_null_key(void **state)
{
    (void)state;
    const char *keys[] = {"k"};
    const char *head =
        "k,x_count,size,x_sum,x_mean,x_min,x_max,x_var,x_nunique\n"
        "1.0,2,3,4.0,2.0,1.0,3.0,2.0,2\n"
        "2.0,2,2,12.0,6.0,4.0,8.0,8.0,2\n"
        "3.0,0,1,0.0,,,,,0\n";
    char kept[512];
    snprintf(kept, sizeof kept, "%s,1,3,2.0,2.0,2.0,2.0,,1\n", head);
    for (size_t s = 0; s < TD_N_SCHEDULERS; s++) {
        tg_scheduler *sch = td_schedulers[s]();
        for (size_t split_out = 0; split_out <= 2; split_out += 2) {
            tg_graph *g = tg_graph_new();
            tg_dataframe *df = nan_df(g);
            tg_groupby_opts o = {.split_out = split_out};
            td_assert_frame(
                tg_df_compute(
                    tg_df_groupby(df, 1, keys, N_NAN_AGGS, NAN_AGGS, &o), sch),
                head);
            o.keep_null_keys = true;
            td_assert_frame(
                tg_df_compute(
                    tg_df_groupby(df, 1, keys, N_NAN_AGGS, NAN_AGGS, &o), sch),
                kept);
            tg_graph_free(g);
        }
        tg_scheduler_free(sch);
    }
}

/* value_counts and nunique leave NaN out, unless nulls are kept: then
 * NaN counts with the nulls. */
static void test_groupby_value_counts_and_nunique_ignore_nan(void **state)
{
    (void)state;
    for (size_t s = 0; s < TD_N_SCHEDULERS; s++) {
        tg_scheduler *sch = td_schedulers[s]();
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = nan_df(g);
        td_assert_frame(tg_df_compute(tg_df_value_counts(df, "k", true), sch),
                        "k,count\n1.0,3\n2.0,2\n3.0,1\n");
        td_assert_frame(tg_df_compute(tg_df_value_counts(df, "k", false), sch),
                        "k,count\n1.0,3\n,3\n2.0,2\n3.0,1\n");
        td_assert_frame(tg_df_compute(tg_df_value_counts(df, "x", true), sch),
                        "x,count\n1.0,1\n2.0,1\n3.0,1\n4.0,1\n8.0,1\n");
        td_assert_frame(tg_df_compute(tg_df_value_counts(df, "x", false), sch),
                        "x,count\n,4\n1.0,1\n2.0,1\n3.0,1\n4.0,1\n8.0,1\n");
        tg_agg nu[] = {{"k", TG_AGG_NUNIQUE, NULL}, {"k", TG_AGG_COUNT, NULL}};
        td_assert_frame(tg_compute(tg_df_agg(df, 2, nu, NULL), sch),
                        "k_nunique,k_count\n3,6\n");
        tg_graph_free(g);
        tg_scheduler_free(sch);
    }
}

/* ---- every blocksize, split_out and scheduler agree ---------------------- */

#define NG 7

static char *gen_table(size_t rows, double *sum, int64_t *cnt, double *sq)
{
    size_t cap = rows * 40 + 64, len = 0;
    char *t = malloc(cap);
    len += (size_t)sprintf(t, "key,grp,x,y\n");
    uint64_t s = 42;
    for (size_t i = 0; i < rows; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(s >> 33);
        int k = (int)(r % (NG + 1)); /* NG means null */
        double x = (double)(int)((r >> 8) % 4001) * 0.25 - 500;
        bool xnull = (r >> 20) % 11 == 0;
        if (k < NG && !xnull)
            sum[k] += x, cnt[k]++, sq[k] += x * x;
        char key[8] = "";
        if (k < NG)
            snprintf(key, sizeof key, "k%c", 'a' + k);
        len += (size_t)sprintf(t + len, "%s,%u,", key, (r >> 4) % 3);
        if (!xnull)
            len += (size_t)sprintf(t + len, "%.2f", x);
        len += (size_t)sprintf(t + len, ",%d\n", (int)(r % 1000) - 500);
    }
    return t;
}

static char *run_queries(tg_graph *g, const char *path, size_t bs,
                         size_t split_out, tg_scheduler *s)
{
    tg_csv_opts o = {.blocksize = bs};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    assert_non_null(df);
    const char *k1[] = {"key"}, *k2[] = {"key", "grp"};
    tg_agg a1[] = {{"x", TG_AGG_MEAN, NULL},
                   {"x", TG_AGG_STD, NULL},
                   {"x", TG_AGG_SUM, NULL},
                   {"y", TG_AGG_NUNIQUE, NULL}};
    tg_agg a2[] = {{"y", TG_AGG_SUM, NULL},
                   {"y", TG_AGG_COUNT, NULL},
                   {"x", TG_AGG_VAR, NULL},
                   {"x", TG_AGG_MIN, NULL}};
    tg_groupby_opts opt = TG_GROUPBY_OPTS_INIT;
    opt.split_out = split_out;
    opt.split_every = 3;
    tg_dataframe *pos = tg_df_filter(df, tg_gt(tg_col("x"), tg_lit_int(0)));
    tg_value *t[5] = {tg_df_concat(tg_df_groupby(df, 1, k1, 4, a1, &opt)),
                      tg_df_concat(tg_df_groupby(df, 2, k2, 4, a2, &opt)),
                      tg_df_concat(tg_df_value_counts(df, "grp", true)),
                      tg_df_agg(df, 4, a1, &opt), tg_df_len(pos)};
    tg_value *out[5];
    assert_int_equal(tg_compute_many(t, 5, out, s), 0);
    char *txt = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&txt, &len);
    for (int i = 0; i < 4; i++)
        assert_int_equal(tg_frame_write_csv(out[i], f), 0);
    fprintf(f, "len %lld\n", (long long)tg_as_int(out[4]));
    fclose(f);
    for (int i = 0; i < 5; i++)
        tg_decref(out[i]);
    return txt;
}

static void test_groupby_same_answer_for_every_partitioning(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    size_t rows = tt_scale(3000, 400);
    double sum[NG] = {0}, sq[NG] = {0};
    int64_t cnt[NG] = {0};
    char *text = gen_table(rows, sum, cnt, sq);
    const char *path = td_write(dir, "big.csv", text);
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    tg_graph *g = tg_graph_new();
    char *ref = run_queries(g, p, 0, 0, NULL);
    size_t len = strlen(text);
    size_t sizes[] = {len / 2, len / 7, 997, 211};
    for (size_t b = 0; b < 4; b++) {
        for (size_t so = 0; so < 4; so += 3) {
            for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
                tg_scheduler *s = td_schedulers[k]();
                char *got = run_queries(g, p, sizes[b], so, s);
                if (strcmp(got, ref) != 0)
                    fail_msg("bs %zu split_out %zu differs", sizes[b], so);
                free(got);
                tg_scheduler_free(s);
            }
        }
    }
    /* Exact means and sums against a reference computed here. */
    tg_csv_opts o = {.blocksize = 500};
    tg_dataframe *df = tg_read_csv(g, p, &o);
    const char *k1[] = {"key"};
    tg_agg a[] = {{"x", TG_AGG_SUM, NULL},
                  {"x", TG_AGG_MEAN, NULL},
                  {"x", TG_AGG_VAR, NULL}};
    tg_value *v = tg_df_compute(tg_df_groupby(df, 1, k1, 3, a, NULL), NULL);
    assert_int_equal(tg_frame_nrows(v), NG);
    for (int k = 0; k < NG; k++) {
        size_t sl;
        const char *s = tg_frame_str(v, 0, (size_t)k, &sl);
        assert_int_equal(s[1], 'a' + k);
        assert_true(tg_frame_float64(v, 1)[k] == sum[k]);
        assert_true(tg_frame_float64(v, 2)[k] == sum[k] / (double)cnt[k]);
        double var = (sq[k] - sum[k] * sum[k] / cnt[k]) / (cnt[k] - 1);
        assert_true(fabs(tg_frame_float64(v, 3)[k] - var) <= 1e-9 * var);
    }
    tg_decref(v);
    tg_graph_free(g);
    free(ref);
    free(text);
    td_rmdir(dir);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groupby_pandas_versus_spark_nulls),
        cmocka_unit_test(test_groupby_zero_options_drop_null_keys),
        cmocka_unit_test(test_groupby_null_rules),
        cmocka_unit_test(test_groupby_variance_with_large_offset),
        cmocka_unit_test(test_groupby_empty_input),
        cmocka_unit_test(test_groupby_value_counts_order),
        cmocka_unit_test(test_groupby_multiple_keys_and_errors),
        cmocka_unit_test(test_groupby_reductions_skip_nan),
        cmocka_unit_test(test_groupby_nan_key_is_a_null_key),
        cmocka_unit_test(test_groupby_value_counts_and_nunique_ignore_nan),
        cmocka_unit_test(test_groupby_same_answer_for_every_partitioning),
    };
    return cmocka_run_group_tests_name("groupby", tests, NULL, NULL);
}
