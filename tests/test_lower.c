/* tests/test_lower.c - dataframes as lazy plans lowered to registered
 * tasks (dataframe/lower.c, dataframe/tasks.c): identical queries share
 * keys and run once, column pruning through chains, every task a
 * registered function, and malformed parameters failing cleanly. */
#include "df_util.h"

/* A registered map: counts its runs in *ctx and returns its frame. */
static tg_value *count_frames(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    __atomic_fetch_add((int *)ctx, 1, __ATOMIC_RELAXED);
    return tg_incref(a[0]);
}

static int runs;

static const char *TABLE = "k,x,s\n"
                           "a,1,p\nb,-2,q\na,3,r\n,4,s\nb,5,t\nc,-6,u\n";

static tg_dataframe *read_table(tg_graph *g, const char *path, size_t bs)
{
    tg_csv_opts o = {.blocksize = bs};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    if (!df)
        fail_msg("read_csv: %s", tg_last_error());
    return df;
}

/* The same query built twice: a filter, a registered map, a groupby. */
static tg_value *query(tg_dataframe *df)
{
    tg_dataframe *pos = tg_df_filter(df, tg_gt(tg_col("x"), tg_lit_int(0)));
    tg_dataframe *m =
        tg_df_map_partitions_named(pos, "test.count_frames", 0, NULL, NULL);
    tg_agg sum = {"x", TG_AGG_SUM, NULL};
    return tg_df_concat(
        tg_df_groupby(m, 1, (const char *[]){"k"}, 1, &sum, NULL));
}

static void test_lower_identical_queries_share_keys_and_run_once(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    char path[512];
    snprintf(path, sizeof path, "%s", td_write(dir, "t.csv", TABLE));
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = read_table(g, path, 12);
        size_t nparts = tg_df_npartitions(df);
        assert_true(nparts > 2);
        tg_value *t[3] = {query(df), query(df), tg_df_len(df)};
        assert_string_equal(tg_key(t[0]), tg_key(t[1]));
        /* And on another graph, from another reader of the same file. */
        tg_graph *g2 = tg_graph_new();
        assert_string_equal(tg_key(query(read_table(g2, path, 12))),
                            tg_key(t[0]));
        tg_graph_free(g2);
        tg_value *out[3];
        tg_scheduler *s = td_schedulers[k]();
        runs = 0;
        assert_int_equal(tg_compute_many(t, 3, out, s), 0);
        if (strcmp(tg_scheduler_name(s), "distributed") != 0) /* counted */
            assert_int_equal(runs, (int)nparts);              /* here */
        for (int i = 0; i < 2; i++)
            td_assert_frame(out[i], "k,x_sum\na,4\nb,5\n");
        assert_int_equal(tg_as_int(out[2]), 6);
        tg_decref(out[2]);
        tg_scheduler_free(s);
        tg_graph_free(g);
    }
    td_rmdir(dir);
}

/* Each query parses only what it reads, through every kind of node:
 * column b holds a value that does not parse, and only queries that
 * read b fail. */
static void test_lower_prunes_columns_through_chains(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    char path[512];
    snprintf(path, sizeof path, "%s",
             td_write(dir, "p.csv", "a,b,c\n1,2,x\n4,oops,y\n7,8,z\n"));
    const char *tn[] = {"b"};
    tg_dtype tt[] = {TG_DT_INT64};
    tg_csv_opts o = {
        .blocksize = 9, .n_dtypes = 1, .dtype_names = tn, .dtypes = tt};
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = tg_read_csv(g, path, &o);
    /* An assign nobody reads is dropped; select and rename map names. */
    tg_dataframe *as = tg_df_assign(df, "d", tg_add(tg_col("b"), tg_col("a")));
    tg_dataframe *re = tg_df_rename(as, 2, (const char *[]){"a", "c"},
                                    (const char *[]){"c", "a"});
    tg_dataframe *sel = tg_df_select(re, 2, (const char *[]){"a", "c"});
    td_assert_frame(tg_df_compute(sel, NULL), "a,c\nx,1\ny,4\nz,7\n");
    tg_agg sum = {"c", TG_AGG_SUM, NULL};
    td_assert_frame(
        tg_compute(
            tg_df_agg(tg_df_filter(re, tg_ne(tg_col("a"), tg_lit_str("y"))), 1,
                      &sum, NULL),
            NULL),
        "c_sum\n8\n");
    tg_value *n = tg_compute(tg_df_len(as), NULL);
    assert_int_equal(tg_as_int(n), 3);
    tg_decref(n);
    /* Reading d reads b. */
    tg_value *e =
        tg_df_compute(tg_df_select(as, 1, (const char *[]){"d"}), NULL);
    assert_true(tg_is_error(e));
    assert_non_null(strstr(tg_error_message(e), ":3: column 'b'"));
    tg_decref(e);
    /* An assign that replaces a read column keeps the schema's order. */
    tg_dataframe *rep =
        tg_df_assign(df, "b", tg_mul(tg_col("a"), tg_lit_int(2)));
    td_assert_frame(tg_df_compute(rep, NULL), "a,b,c\n1,2,x\n4,8,y\n7,14,z\n");
    tg_graph_free(g);
    td_rmdir(dir);
}

/* Every call a dataframe records is registered under "tg.df." with its
 * exact function, except the pointer form of map_partitions. */
static void test_lower_tasks_are_registered_functions(void **state)
{
    (void)state;
    const char *ops[] = {"read_csv",
                         "csv_count",
                         "csv_prefix",
                         "check",
                         "filter",
                         "assign",
                         "project",
                         "head",
                         "concat",
                         "empty",
                         "len",
                         "sum",
                         "agg_partial",
                         "agg_combine",
                         "agg_finish",
                         "agg_split",
                         "pick",
                         "agg_merge",
                         "write_csv_part",
                         "write_csv",
                         "shuffle_split",
                         "sort_sample",
                         "sort_splitters",
                         "sort",
                         "join",
                         "transform",
                         "csv_format"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        char name[64];
        tg_fn fn = NULL;
        void *ctx = &fn;
        snprintf(name, sizeof name, "tg.df.%s", ops[i]);
        if (tg_lookup(name, &fn, &ctx) != 0)
            fail_msg("%s is not registered", name);
        assert_non_null(fn);
        assert_null(ctx);
    }
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = read_table(g, td_write(dir, "t.csv", TABLE), 0);
    tg_agg mean = {"x", TG_AGG_MEAN, NULL};
    tg_value *vals[] = {tg_df_len(df), tg_df_agg(df, 1, &mean, NULL),
                        tg_df_partition(df, 0), tg_df_head(df, 2, 0),
                        tg_df_concat(tg_df_value_counts(df, "k", true))};
    const char *want[] = {"tg.df.len", "tg.df.agg_finish", "tg.df.read_csv",
                          "tg.df.head", "tg.df.agg_finish"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(tg_delayed_name(vals[i]), want[i]);
    tg_graph_free(g);
    td_rmdir(dir);
}

static void test_lower_malformed_parameters_fail_cleanly(void **state)
{
    (void)state;
    tg_value *f = tg_frame_from_csv("x,s\n1,a\n2,b\n", 12, NULL);
    tg_value *cols = tg_list(1, tg_str("x"));
    td_check_bad_call("tg.df.filter", 3,
                      (tg_value *[]){tg_incref(f),
                                     tg_list(2, tg_str("col"), tg_str("x")),
                                     tg_incref(cols)},
                      "the predicate is int64, not bool");
    td_check_bad_call(
        "tg.df.filter", 3,
        (tg_value *[]){tg_incref(f),
                       tg_list(3, tg_str("gt"), tg_int(1), tg_int(2)),
                       tg_incref(cols)},
        "malformed expression parameter");
    td_check_bad_call(
        "tg.df.filter", 3,
        (tg_value *[]){tg_incref(f),
                       tg_list(3, tg_str("eq"),
                               tg_list(2, tg_str("col"), tg_str("s")),
                               tg_list(2, tg_str("lit"), tg_int(1))),
                       tg_incref(cols)},
        "cannot compare");
    td_check_bad_call("tg.df.filter", 3,
                      (tg_value *[]){tg_int(1), tg_null(), tg_null()},
                      "expected a frame");
    td_check_bad_call(
        "tg.df.project", 3,
        (tg_value *[]){tg_incref(f), tg_list(1, tg_str("zz")), tg_null()},
        "no column 'zz'");
    td_check_bad_call("tg.df.check", 3,
                      (tg_value *[]){tg_incref(f),
                                     tg_list(2, tg_list(1, tg_str("x")),
                                             tg_list(1, tg_int(99))),
                                     tg_str("test")},
                      "malformed schema parameter");
    td_check_bad_call("tg.df.agg_partial", 2,
                      (tg_value *[]){tg_incref(f), tg_list(1, tg_int(3))},
                      "malformed aggregation parameter");
    td_check_bad_call("tg.df.agg_combine", 2,
                      (tg_value *[]){tg_list(4, tg_list(0), tg_list(0),
                                             tg_list(0), tg_bool(false)),
                                     tg_incref(f)},
                      "not a partial of this aggregation");
    td_check_bad_call("tg.df.read_csv", 8,
                      (tg_value *[]){tg_str("/nonexistent"), tg_int(-1),
                                     tg_int(4), tg_int(4), tg_null(), tg_null(),
                                     tg_null(), tg_int(0)},
                      "malformed byte range parameter");
    td_check_bad_call(
        "tg.df.csv_prefix", 2,
        (tg_value *[]){tg_list(2, tg_int(0), tg_int(0)), tg_list(1, tg_int(2))},
        "malformed counts parameter");
    td_check_bad_call(
        "tg.df.concat", 2,
        (tg_value *[]){tg_incref(f), tg_frame_from_csv("y\n1\n", 4, NULL)},
        "other columns");
    td_check_bad_call("tg.df.sum", 2, (tg_value *[]){tg_int(1), tg_str("2")},
                      "not int");
    tg_decref(cols);
    tg_decref(f);
}

int main(void)
{
    /* registered before the cluster starts, so its workers have it */
    if (tg_register("test.count_frames", count_frames, &runs) != 0)
        return 1;
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lower_identical_queries_share_keys_and_run_once),
        cmocka_unit_test(test_lower_prunes_columns_through_chains),
        cmocka_unit_test(test_lower_tasks_are_registered_functions),
        cmocka_unit_test(test_lower_malformed_parameters_fail_cleanly),
    };
    return cmocka_run_group_tests_name("lower", tests, NULL, NULL);
}
