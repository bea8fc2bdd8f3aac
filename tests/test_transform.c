/* tests/test_transform.c - tg_df_transform / tg_df_transform_fn,
 * tg_df_repartition and tg_df_shuffle (dataframe/transform.c): exact
 * per-group results, the null (and NaN) key group, presort, schema and
 * function errors, empty inputs, every blocksize and scheduler (sync,
 * threads, loopback, a 2-worker cluster), the local function's refusal
 * where calls cross processes, and bad arguments. */
#include <math.h>

#include "df_util.h"

/* id, grp (null for ids 3 and 8), x.  Within grp, x has a mean and a
 * population standard deviation that make every z exact: A is 3, 1
 * (mean 2, sd 1), B is 2, 4, 9, 4, 5, 4, 7, 5 (mean 5, sd 2), the
 * null group 10, 6 (mean 8, sd 2). */
static const char *const TABLE =
    "id,grp,x\n1,B,2.0\n2,A,3.0\n3,,10.0\n4,B,4.0\n5,B,9.0\n6,A,1.0\n"
    "7,B,4.0\n8,,6.0\n9,B,5.0\n10,B,4.0\n11,B,7.0\n12,B,5.0\n";

/* One output partition: groups in key order (null last), rows of a
 * group in input order. */
static const char *const Z_ONE_PART =
    "id,grp,x,z\n2,A,3.0,1.0\n6,A,1.0,-1.0\n1,B,2.0,-1.5\n4,B,4.0,-0.5\n"
    "5,B,9.0,2.0\n7,B,4.0,-0.5\n9,B,5.0,0.0\n10,B,4.0,-0.5\n11,B,7.0,1.0\n"
    "12,B,5.0,0.0\n3,,10.0,1.0\n8,,6.0,-1.0\n";
static const char *const Z_BY_ID =
    "id,grp,x,z\n1,B,2.0,-1.5\n2,A,3.0,1.0\n3,,10.0,1.0\n4,B,4.0,-0.5\n"
    "5,B,9.0,2.0\n6,A,1.0,-1.0\n7,B,4.0,-0.5\n8,,6.0,-1.0\n9,B,5.0,0.0\n"
    "10,B,4.0,-0.5\n11,B,7.0,1.0\n12,B,5.0,0.0\n";

static const char *const Z_NAMES[] = {"id", "grp", "x", "z"};
static const tg_dtype Z_TYPES[] = {TG_DT_INT64, TG_DT_STRING, TG_DT_FLOAT64,
                                   TG_DT_FLOAT64};
static const char *const GRP[] = {"grp"};

/* Blocksizes from one row per partition (and empty ones) to one. */
static const size_t SIZES[] = {1, 7, 30, 0};

/* ---- the user's functions, written for one frame ------------------------- */

/* z = (x - mean) / sd (population) of the group's x, with id, grp, x. */
static tg_value *standardise(const tg_value *f, void *ctx)
{
    if (ctx)
        __atomic_fetch_add((int *)ctx, 1, __ATOMIC_RELAXED);
    long ci = tg_frame_colindex(f, "id"), cg = tg_frame_colindex(f, "grp");
    long cx = tg_frame_colindex(f, "x");
    if (ci < 0 || cg < 0 || cx < 0)
        return tg_error("standardise: a column is missing");
    size_t n = tg_frame_nrows(f);
    const double *x = tg_frame_float64(f, (size_t)cx);
    const int64_t *id = tg_frame_int64(f, (size_t)ci);
    double sum = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    double sd = sqrt(ss / (double)n);
    tg_frame_builder *b = tg_frame_builder_new(4, Z_NAMES, Z_TYPES);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *s = tg_frame_str(f, (size_t)cg, i, &len);
        tg_frame_builder_int(b, 0, id[i]);
        if (s)
            tg_frame_builder_str(b, 1, s, len);
        else
            tg_frame_builder_null(b, 1);
        tg_frame_builder_float(b, 2, x[i]);
        tg_frame_builder_float(b, 3, (x[i] - mean) / sd);
    }
    return tg_frame_builder_finish(b);
}

static tg_value *standardise_fn(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    return standardise(a[0], ctx);
}

/* id and the row's position in the group frame fn received. */
static tg_value *rank_fn(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const char *names[] = {"id", "rank"};
    tg_dtype types[] = {TG_DT_INT64, TG_DT_INT64};
    tg_frame_builder *b = tg_frame_builder_new(2, names, types);
    const int64_t *id = tg_frame_int64(a[0], 0);
    for (size_t i = 0; i < tg_frame_nrows(a[0]); i++) {
        tg_frame_builder_int(b, 0, id[i]);
        tg_frame_builder_int(b, 1, (int64_t)i);
    }
    return tg_frame_builder_finish(b);
}

/* One row per group: its first key and its row count. */
static tg_value *count_fn(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const char *names[] = {"k", "n"};
    tg_dtype types[] = {TG_DT_FLOAT64, TG_DT_INT64};
    tg_frame_builder *b = tg_frame_builder_new(2, names, types);
    if (tg_frame_is_null(a[0], 0, 0))
        tg_frame_builder_null(b, 0);
    else
        tg_frame_builder_float(b, 0, tg_frame_float64(a[0], 0)[0]);
    tg_frame_builder_int(b, 1, (int64_t)tg_frame_nrows(a[0]));
    return tg_frame_builder_finish(b);
}

/* Returns its group as it is: not the schema it promises. */
static tg_value *same_fn(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_incref(a[0]);
}

static tg_value *fail_fn(tg_value *const *a, size_t n, void *ctx)
{
    (void)a, (void)n, (void)ctx;
    return tg_error("boom in the group");
}

/* Registers the functions (outside any test: exits on failure). */
static void register_fns(void)
{
    if (tg_register("tt.standardise", standardise_fn, NULL)
        || tg_register("tt.rank", rank_fn, NULL)
        || tg_register("tt.count", count_fn, NULL)
        || tg_register("tt.same", same_fn, NULL)
        || tg_register("tt.fail", fail_fn, NULL)) {
        fprintf(stderr, "tg_register: %s\n", tg_last_error());
        exit(1);
    }
}

/* ---- helpers ------------------------------------------------------------- */

static tg_value *by_id(tg_dataframe *df)
{
    if (!df)
        fail_msg("%s", tg_last_error());
    return tg_df_concat(
        tg_df_sort_values(df, 1, (const char *[]){"id"}, NULL, NULL));
}

/* "bs N", naming a blocksize in a failure (one at a time). */
static const char *bs_name(size_t bs)
{
    static char name[32];
    snprintf(name, sizeof name, "bs %zu", bs);
    return name;
}

/* ---- transform ----------------------------------------------------------- */

/* The registered function standardises x within each group, null keys
 * forming one group: exact values in key order for one output
 * partition, the same rows for three, and for three outputs the same
 * frame from every input partitioning, on every scheduler. */
static void test_transform_standardises_each_group_everywhere(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    char *three = NULL; /* the 3-output result of the first run */
    for (size_t b = 0; b < 4; b++) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = td_read_text(g, dir, "t.csv", TABLE, SIZES[b]);
        tg_transform_opts one = {.npartitions = 1}, o3 = {.npartitions = 3};
        tg_dataframe *t1 = tg_df_transform(df, 1, GRP, "tt.standardise", 4,
                                           Z_NAMES, Z_TYPES, &one);
        tg_dataframe *t3 = tg_df_transform(df, 1, GRP, "tt.standardise", 4,
                                           Z_NAMES, Z_TYPES, &o3);
        tg_dataframe *td = tg_df_transform(df, 1, GRP, "tt.standardise", 4,
                                           Z_NAMES, Z_TYPES, NULL);
        assert_int_equal(tg_df_npartitions(t3), 3);
        assert_int_equal(tg_df_npartitions(td), tg_df_npartitions(df));
        tg_value *t[] = {tg_df_concat(t1), by_id(t3), by_id(td),
                         tg_df_concat(t3)};
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            if (!three) {
                tg_value *r = tg_compute(t[3], s);
                three = td_csv(r);
                tg_decref(r);
                assert_non_null(strstr(three, "id,grp,x,z\n"));
            }
            const char *want[] = {Z_ONE_PART, Z_BY_ID, Z_BY_ID, three};
            td_assert_all(t, 4, want, s, bs_name(SIZES[b]));
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
    free(three);
    td_rmdir(dir);
}

/* The local function gives the same answer on sync and threads, runs
 * once per group, and loopback and the cluster refuse it by name. */
static void test_transform_fn_runs_locally_and_is_refused_remotely(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    for (size_t b = 0; b < 4; b++) {
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            tg_graph *g = tg_graph_new();
            tg_dataframe *df = td_read_text(g, dir, "t.csv", TABLE, SIZES[b]);
            int calls = 0;
            tg_transform_opts one = {.npartitions = 1};
            tg_dataframe *t = tg_df_transform_fn(
                df, 1, GRP, standardise, &calls, 4, Z_NAMES, Z_TYPES, &one);
            tg_value *r = tg_df_compute(t, s);
            if (td_crosses_wire(s)) {
                assert_true(tg_is_error(r));
                assert_non_null(strstr(tg_error_message(r), "local call"));
                assert_non_null(
                    strstr(tg_error_message(r), "tg_df_transform_fn"));
                assert_int_equal(calls, 0);
                tg_decref(r);
            } else {
                td_assert_frame(r, Z_ONE_PART);
                assert_int_equal(calls, 3); /* A, B and the null group */
            }
            tg_graph_free(g);
            tg_scheduler_free(s);
        }
    }
    td_rmdir(dir);
}

/* Without presort a group's rows reach fn in input order; presort by x
 * descending (ties in input order) reorders them, in every group. */
static void test_transform_presort_orders_rows_within_groups(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *names[] = {"id", "rank"};
    tg_dtype types[] = {TG_DT_INT64, TG_DT_INT64};
    const char *x[] = {"x"};
    bool desc[] = {false};
    const char *want[] = {
        "id,rank\n2,0\n6,1\n1,0\n4,1\n5,2\n7,3\n9,4\n10,5\n11,6\n12,7\n"
        "3,0\n8,1\n",
        "id,rank\n2,0\n6,1\n5,0\n11,1\n9,2\n12,3\n4,4\n7,5\n10,6\n1,7\n"
        "3,0\n8,1\n",
        "id,rank\n6,0\n2,1\n1,0\n4,1\n7,2\n10,3\n9,4\n12,5\n11,6\n5,7\n"
        "8,0\n3,1\n"};
    for (size_t b = 0; b < 4; b++) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = td_read_text(g, dir, "t.csv", TABLE, SIZES[b]);
        tg_transform_opts plain = {.npartitions = 1};
        tg_transform_opts by_desc = {1, x, desc, 1};
        tg_transform_opts by_asc = {1, x, NULL, 1};
        tg_value *t[] = {tg_df_concat(tg_df_transform(df, 1, GRP, "tt.rank", 2,
                                                      names, types, &plain)),
                         tg_df_concat(tg_df_transform(df, 1, GRP, "tt.rank", 2,
                                                      names, types, &by_desc)),
                         tg_df_concat(tg_df_transform(df, 1, GRP, "tt.rank", 2,
                                                      names, types, &by_asc))};
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            td_assert_all(t, 3, want, s, bs_name(SIZES[b]));
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
    td_rmdir(dir);
}

/* A float key: -0.0 and 0.0 are one group, NaN and null one (last). */
static void test_transform_nan_key_groups_with_null(void **state)
{
    (void)state;
    const char *names[] = {"k", "v"};
    tg_dtype types[] = {TG_DT_FLOAT64, TG_DT_INT64};
    double ks[] = {1.5, 0, NAN, -0.0, 1.5, 0.0, NAN};
    for (size_t split = 1; split <= 7; split += 3) {
        tg_graph *g = tg_graph_new();
        tg_value *parts[7];
        size_t np = 0;
        for (size_t lo = 0; lo < 7; lo += split) {
            tg_frame_builder *b = tg_frame_builder_new(2, names, types);
            for (size_t i = lo; i < lo + split && i < 7; i++) {
                if (i == 1)
                    tg_frame_builder_null(b, 0); /* the null key */
                else
                    tg_frame_builder_float(b, 0, ks[i]);
                tg_frame_builder_int(b, 1, (int64_t)i);
            }
            parts[np++] = tg_frame_builder_finish(b);
        }
        tg_dataframe *df = tg_df_from_delayed(g, np, parts, 2, names, types);
        const char *out[] = {"k", "n"};
        tg_transform_opts one = {.npartitions = 1};
        tg_value *t = tg_df_concat(tg_df_transform(
            df, 1, (const char *[]){"k"}, "tt.count", 2, out, types, &one));
        const char *want[] = {"k,n\n-0.0,2\n1.5,2\n,3\n"};
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            td_assert_all(&t, 1, want, s, bs_name(split));
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
}

/* A result of the wrong schema, or an error, fails the compute with a
 * message naming the function and what differs. */
static void test_transform_wrong_schema_or_error_fails_naming_fn(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_scheduler *s = td_schedulers[k]();
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = td_read_text(g, dir, "t.csv", TABLE, 30);
        tg_value *r = tg_df_compute(
            tg_df_transform(df, 1, GRP, "tt.same", 4, Z_NAMES, Z_TYPES, NULL),
            s);
        assert_true(tg_is_error(r));
        const char *m = tg_error_message(r);
        if (!strstr(m, "'tt.same'") || !strstr(m, "does not match")
            || !strstr(m, "3 columns"))
            fail_msg("on %s: %s", tg_scheduler_name(s), m);
        tg_decref(r);
        const char *n2[] = {"id", "grp", "x", "zz"};
        r = tg_df_compute(
            tg_df_transform(df, 1, GRP, "tt.standardise", 4, n2, Z_TYPES, NULL),
            s);
        assert_true(tg_is_error(r));
        if (!strstr(tg_error_message(r), "'z' float64, the schema says 'zz'"))
            fail_msg("on %s: %s", tg_scheduler_name(s), tg_error_message(r));
        tg_decref(r);
        r = tg_df_compute(
            tg_df_transform(df, 1, GRP, "tt.fail", 0, NULL, NULL, NULL), s);
        assert_true(tg_is_error(r));
        m = tg_error_message(r);
        if (!strstr(m, "'tt.fail' failed") || !strstr(m, "boom in the group"))
            fail_msg("on %s: %s", tg_scheduler_name(s), m);
        tg_decref(r);
        tg_graph_free(g);
        tg_scheduler_free(s);
    }
    td_rmdir(dir);
}

/* No rows (a header-only file) or no partitions: an empty frame of the
 * output schema, and fn never runs. */
static void test_transform_empty_input_gives_empty_schema(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *hdr = td_read_text(g, dir, "t.csv", "id,grp,x\n", 0);
    tg_dtype in_types[] = {TG_DT_INT64, TG_DT_STRING, TG_DT_FLOAT64};
    tg_dataframe *none = tg_df_from_delayed(g, 0, NULL, 3, Z_NAMES, in_types);
    tg_value *t[] = {tg_df_concat(tg_df_transform(hdr, 1, GRP, "tt.fail", 4,
                                                  Z_NAMES, Z_TYPES, NULL)),
                     tg_df_concat(tg_df_transform(none, 1, GRP, "tt.fail", 4,
                                                  Z_NAMES, Z_TYPES, NULL)),
                     tg_df_concat(tg_df_repartition(none, 3)),
                     tg_df_concat(tg_df_shuffle(hdr, 1, GRP, 2))};
    const char *want[] = {"id,grp,x,z\n", "id,grp,x,z\n", "id,grp,x\n",
                          "id,grp,x\n"};
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_scheduler *s = td_schedulers[k]();
        td_assert_all(t, 4, want, s, bs_name(0));
        tg_scheduler_free(s);
    }
    tg_graph_free(g);
    td_rmdir(dir);
}

/* ---- repartition and shuffle --------------------------------------------- */

/* The partition sizes of df on s, computed one by one. */
static void partition_sizes(tg_dataframe *df, tg_scheduler *s, size_t *sizes)
{
    size_t n = tg_df_npartitions(df);
    tg_value *t[32], *out[32];
    assert_true(n <= 32);
    for (size_t i = 0; i < n; i++)
        t[i] = tg_df_partition(df, i);
    assert_int_equal(tg_compute_many(t, n, out, s), 0);
    for (size_t i = 0; i < n; i++) {
        sizes[i] = tg_frame_nrows(out[i]);
        tg_decref(out[i]);
    }
}

/* Repartition keeps every row in order and cuts even parts: 12 rows
 * into 5 are 3, 3, 2, 2, 2; into 20, twelve of one row and eight
 * empty. */
static void test_repartition_keeps_order_and_balances(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    for (size_t b = 0; b < 4; b++) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = td_read_text(g, dir, "t.csv", TABLE, SIZES[b]);
        tg_dataframe *r5 = tg_df_repartition(df, 5);
        tg_dataframe *r20 = tg_df_repartition(df, 20);
        assert_int_equal(tg_df_npartitions(r5), 5);
        assert_int_equal(tg_df_npartitions(r20), 20);
        tg_value *t[] = {tg_df_concat(r5), tg_df_concat(r20)};
        const char *want[] = {TABLE, TABLE};
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            td_assert_all(t, 2, want, s, bs_name(SIZES[b]));
            size_t sizes[20];
            partition_sizes(r5, s, sizes);
            size_t w5[] = {3, 3, 2, 2, 2};
            for (size_t i = 0; i < 5; i++)
                assert_int_equal(sizes[i], w5[i]);
            partition_sizes(r20, s, sizes);
            for (size_t i = 0; i < 20; i++)
                assert_int_equal(sizes[i], i < 12 ? 1 : 0);
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
    td_rmdir(dir);
}

/* Shuffle by grp: the same rows, every key (the null key too) in one
 * partition, each partition's rows in input order (ids ascending). */
static void test_shuffle_puts_equal_keys_in_one_partition(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    for (size_t b = 0; b < 4; b++) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = td_read_text(g, dir, "t.csv", TABLE, SIZES[b]);
        tg_dataframe *sh = tg_df_shuffle(df, 1, GRP, 3);
        assert_int_equal(tg_df_npartitions(sh), 3);
        assert_int_equal(tg_df_npartitions(tg_df_shuffle(df, 1, GRP, 0)),
                         tg_df_npartitions(df));
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            tg_value *t[4] = {by_id(sh)}, *out[4];
            for (size_t i = 0; i < 3; i++)
                t[i + 1] = tg_df_partition(sh, i);
            assert_int_equal(tg_compute_many(t, 4, out, s), 0);
            char *all = td_csv(out[0]);
            assert_string_equal(all, TABLE);
            free(all);
            int home[3] = {-1, -1, -1}; /* A, B, null: their partition */
            size_t rows = 0;
            for (int p = 0; p < 3; p++) {
                const tg_value *f = out[p + 1];
                for (size_t i = 0; i < tg_frame_nrows(f); i++, rows++) {
                    size_t len = 0;
                    const char *gk = tg_frame_str(f, 1, i, &len);
                    int key = !gk ? 2 : gk[0] - 'A';
                    assert_true(home[key] < 0 || home[key] == p);
                    home[key] = p;
                    if (i)
                        assert_true(tg_frame_int64(f, 0)[i]
                                    > tg_frame_int64(f, 0)[i - 1]);
                }
            }
            assert_int_equal(rows, 12);
            for (int i = 0; i < 4; i++)
                tg_decref(out[i]);
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
    td_rmdir(dir);
}

/* ---- errors -------------------------------------------------------------- */

static void expect_einval(tg_dataframe *df, const char *want)
{
    assert_null(df);
    if (!strstr(tg_last_error(), want))
        fail_msg("'%s' lacks '%s'", tg_last_error(), want);
}

static void test_transform_bad_arguments_fail_with_a_message(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", TABLE, 0);
    const char *nope[] = {"nope"};
    expect_einval(tg_df_transform(df, 0, GRP, "tt.rank", 0, NULL, NULL, NULL),
                  "no partition_by keys");
    expect_einval(tg_df_transform(df, 1, nope, "tt.rank", 0, NULL, NULL, NULL),
                  "no column 'nope'");
    expect_einval(tg_df_transform(df, 1, NULL, "tt.rank", 0, NULL, NULL, NULL),
                  "NULL partition_by");
    expect_einval(tg_df_transform(NULL, 1, GRP, "tt.rank", 0, NULL, NULL, NULL),
                  "NULL dataframe");
    expect_einval(
        tg_df_transform(df, 1, GRP, "tt.nothing", 0, NULL, NULL, NULL),
        "no function registered as 'tt.nothing'");
    expect_einval(tg_df_transform(df, 1, GRP, NULL, 0, NULL, NULL, NULL),
                  "NULL function name");
    expect_einval(tg_df_transform(df, 1, GRP, "tt.rank", 2, NULL, NULL, NULL),
                  "bad schema");
    tg_transform_opts o = {.n_presort = 1};
    expect_einval(tg_df_transform(df, 1, GRP, "tt.rank", 0, NULL, NULL, &o),
                  "NULL presort");
    o.presort = nope;
    expect_einval(tg_df_transform(df, 1, GRP, "tt.rank", 0, NULL, NULL, &o),
                  "no column 'nope'");
    expect_einval(
        tg_df_transform_fn(df, 1, GRP, NULL, NULL, 0, NULL, NULL, NULL),
        "NULL function");
    expect_einval(tg_df_repartition(df, 0), "repartition: 0 partitions");
    expect_einval(tg_df_repartition(NULL, 2), "NULL dataframe");
    expect_einval(tg_df_shuffle(df, 0, GRP, 2), "no keys");
    expect_einval(tg_df_shuffle(df, 1, nope, 2), "no column 'nope'");
    expect_einval(tg_df_shuffle(df, 1, NULL, 2), "NULL keys");
    expect_einval(tg_df_shuffle(df, 1, GRP, (size_t)1 << 21), "too many");
    tg_graph_free(g);
    td_rmdir(dir);
}

static tg_value *spec_of(int64_t n_keys, const char *key, const char *fn)
{
    return tg_list(
        4, tg_int(n_keys),
        tg_list(3, tg_list(1, tg_str(key)), tg_list(1, tg_bool(1)),
                tg_bool(false)),
        tg_list(2, tg_list(1, tg_str("id")), tg_list(1, tg_int(TG_DT_INT64))),
        fn ? tg_str(fn) : tg_null());
}

static void test_transform_tasks_reject_malformed_parameters(void **state)
{
    (void)state;
    const char *csv = "id,s\n1,a\n";
    tg_value *f = tg_frame_from_csv(csv, strlen(csv), NULL);
    td_check_bad_call("tg.df.transform", 2,
                      (tg_value *[]){tg_list(1, tg_int(1)), tg_incref(f)},
                      "malformed spec parameter");
    td_check_bad_call("tg.df.transform", 2,
                      (tg_value *[]){spec_of(2, "s", "tt.rank"), tg_incref(f)},
                      "more keys than sorted");
    td_check_bad_call("tg.df.transform", 2,
                      (tg_value *[]){spec_of(1, "zz", "tt.rank"), tg_incref(f)},
                      "no key column 'zz'");
    td_check_bad_call("tg.df.transform", 2,
                      (tg_value *[]){spec_of(1, "s", "tt.gone"), tg_incref(f)},
                      "no function registered as 'tt.gone'");
    td_check_bad_call("tg.df.transform", 2,
                      (tg_value *[]){spec_of(1, "s", NULL), tg_incref(f)},
                      "no function name");
    td_check_bad_call("tg.df.transform", 1,
                      (tg_value *[]){spec_of(1, "s", "tt.rank")}, "no frames");
    td_check_bad_call(
        "tg.df.shuffle_split", 4,
        (tg_value *[]){tg_incref(f),
                       tg_list(3, tg_str("rows"), tg_list(0), tg_int(2)),
                       tg_int(0), tg_list(1, tg_int(5))},
        "counted 5");
    td_check_bad_call(
        "tg.df.shuffle_split", 4,
        (tg_value *[]){tg_incref(f),
                       tg_list(3, tg_str("rows"), tg_list(0), tg_int(2)),
                       tg_int(1), tg_list(1, tg_int(1))},
        "malformed row counts parameter");
    tg_decref(f);
}

/* The transform task and the group and rows splits fail cleanly at
 * every allocation (tt.same allocates nothing of its own). */
static void test_transform_tasks_survive_out_of_memory(void **state)
{
    (void)state;
    const char *text = "k,v\na,3\nb,1\n,2\na,0\nc,4\n";
    tg_value *f = tg_frame_from_csv(text, strlen(text), NULL);
    tg_value *spec = tg_list(
        4, tg_int(1),
        tg_list(3, tg_list(2, tg_str("k"), tg_str("v")),
                tg_list(2, tg_bool(true), tg_bool(false)), tg_bool(false)),
        tg_list(2, tg_list(2, tg_str("k"), tg_str("v")),
                tg_list(2, tg_int(TG_DT_STRING), tg_int(TG_DT_INT64))),
        tg_str("tt.same"));
    tg_value *group =
        tg_list(3, tg_str("group"), tg_list(1, tg_str("k")), tg_int(3));
    tg_value *rows = tg_list(3, tg_str("rows"), tg_list(0), tg_int(2));
    tg_value *counts = tg_list(2, tg_int(5), tg_int(3)), *i0 = tg_int(0);
    td_sweep_oom("tg.df.transform", 3, (tg_value *[]){spec, f, f});
    td_sweep_oom("tg.df.shuffle_split", 3, (tg_value *[]){f, group, i0});
    td_sweep_oom("tg.df.shuffle_split", 4, (tg_value *[]){f, rows, i0, counts});
    tg_value *all[] = {spec, f, group, rows, counts, i0};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tg_decref(all[i]);
}

int main(void)
{
    register_fns();     /* before the cluster: its workers run this too */
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transform_standardises_each_group_everywhere),
        cmocka_unit_test(
            test_transform_fn_runs_locally_and_is_refused_remotely),
        cmocka_unit_test(test_transform_presort_orders_rows_within_groups),
        cmocka_unit_test(test_transform_nan_key_groups_with_null),
        cmocka_unit_test(test_transform_wrong_schema_or_error_fails_naming_fn),
        cmocka_unit_test(test_transform_empty_input_gives_empty_schema),
        cmocka_unit_test(test_repartition_keeps_order_and_balances),
        cmocka_unit_test(test_shuffle_puts_equal_keys_in_one_partition),
        cmocka_unit_test(test_transform_bad_arguments_fail_with_a_message),
        cmocka_unit_test(test_transform_tasks_reject_malformed_parameters),
        cmocka_unit_test(test_transform_tasks_survive_out_of_memory),
    };
    return cmocka_run_group_tests_name("transform", tests, NULL, NULL);
}
