/* tests/test_merge.c - tg_df_merge (dataframe/join.c): null keys with
 * and without SQL semantics, every join kind, duplicate keys, left_on /
 * right_on and suffixes, broadcast and shuffled joins agreeing on every
 * partitioning and scheduler, and bad arguments. */
#include <math.h>

#include "df_util.h"

/* The pandas-versus-Spark table, and a right side with a null key. */
static const char *const PS_TABLE = "col1,col2\n,1\n,2\nA,3\nA,4\nB,5\nB,6\n";
static const char *const RIGHT = "col1,w\n,10\nA,20\nC,30\n";

/* The merge, sorted by every column (nulls last), as a delayed frame:
 * an order that does not depend on the partitioning. */
static tg_value *sorted(tg_dataframe *m)
{
    if (!m)
        fail_msg("merge: %s", tg_last_error());
    const char *all[] = {"col1", "col2", "w"};
    return tg_df_concat(tg_df_sort_values(m, 3, all, NULL, NULL));
}

/* Null keys match null keys (pandas) unless sql_nulls; inner, left,
 * right and outer; broadcast (a one-partition right side) and hash
 * shuffles (more partitions, or a join that keeps unmatched right
 * rows) give the same rows on every partitioning and scheduler. */
static void test_merge_null_keys_and_every_join_kind(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    size_t lsizes[] = {1, 11, 0}, rsizes[] = {0, 4};
    const char *want[2][4] = {
        {"col1,col2,w\nA,3,20\nA,4,20\n,1,10\n,2,10\n",
         "col1,col2,w\nA,3,20\nA,4,20\nB,5,\nB,6,\n,1,10\n,2,10\n",
         "col1,col2,w\nA,3,20\nA,4,20\nC,,30\n,1,10\n,2,10\n",
         "col1,col2,w\nA,3,20\nA,4,20\nB,5,\nB,6,\nC,,30\n,1,10\n,2,10\n"},
        {"col1,col2,w\nA,3,20\nA,4,20\n",
         "col1,col2,w\nA,3,20\nA,4,20\nB,5,\nB,6,\n,1,\n,2,\n",
         "col1,col2,w\nA,3,20\nA,4,20\nC,,30\n,,10\n",
         "col1,col2,w\nA,3,20\nA,4,20\nB,5,\nB,6,\nC,,30\n,1,\n,2,\n,,10\n"}};
    for (size_t a = 0; a < 3; a++) {
        for (size_t b = 0; b < 2; b++) {
            tg_graph *g = tg_graph_new();
            tg_dataframe *l =
                td_read_text(g, dir, "l.csv", PS_TABLE, lsizes[a]);
            tg_dataframe *r = td_read_text(g, dir, "r.csv", RIGHT, rsizes[b]);
            tg_value *t[8];
            const char *w[8];
            for (int sql = 0; sql < 2; sql++) {
                for (int how = 0; how < 4; how++) {
                    tg_merge_opts o = TG_MERGE_OPTS_INIT;
                    o.n_on = 1;
                    o.on = (const char *[]){"col1"};
                    o.how = (tg_join_how)how;
                    o.sql_nulls = sql;
                    t[sql * 4 + how] = sorted(tg_df_merge(l, r, &o));
                    w[sql * 4 + how] = want[sql][how];
                }
            }
            for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
                tg_scheduler *s = td_schedulers[k]();
                tg_value *out[8];
                assert_int_equal(tg_compute_many(t, 8, out, s), 0);
                for (int i = 0; i < 8; i++) {
                    char *got = td_csv(out[i]);
                    if (strcmp(got, w[i]) != 0)
                        fail_msg("bs %zu/%zu %s, join %d:\n%s\nwanted\n%s",
                                 lsizes[a], rsizes[b], tg_scheduler_name(s), i,
                                 got, w[i]);
                    free(got);
                    tg_decref(out[i]);
                }
                tg_scheduler_free(s);
            }
            tg_graph_free(g);
        }
    }
    td_rmdir(dir);
}

/* A float NaN key is a missing key, as in pandas: it matches a null or
 * NaN key, and with sql_nulls nothing; broadcast or shuffled, on every
 * scheduler. */
static void test_merge_nan_keys_match_as_nulls(void **state)
{
    (void)state;
    const char *lnames[] = {"k", "a"}, *rnames[] = {"k", "b"};
    const tg_dtype types[] = {TG_DT_FLOAT64, TG_DT_INT64};
    const double lk[] = {1.0, NAN, 0.0, 2.0}, rk[] = {NAN, 2.0};
    const int64_t la[] = {1, 2, 3, 4}, rb[] = {10, 20};
    const uint8_t lvalid[] = {0x0b}; /* row 2 is null */
    for (size_t parts = 1; parts <= 2; parts++) {
        tg_graph *g = tg_graph_new();
        tg_value *lp[1], *rp[1], *again = NULL;
        const uint8_t *lv[] = {lvalid, NULL};
        lp[0] = tg_frame_from_arrays(2, lnames, types, 4,
                                     (const void *[]){lk, la}, lv);
        rp[0] = tg_frame_from_arrays(2, rnames, types, 2,
                                     (const void *[]){rk, rb}, NULL);
        assert_non_null(lp[0]);
        assert_non_null(rp[0]);
        if (parts == 2) /* a right side of two partitions: a shuffle */
            again = tg_incref(rp[0]);
        tg_dataframe *l = tg_df_from_delayed(g, 1, lp, 2, lnames, types);
        tg_dataframe *r =
            parts == 2 ? tg_df_from_delayed(g, 2, (tg_value *[]){rp[0], again},
                                            2, rnames, types)
                       : tg_df_from_delayed(g, 1, rp, 2, rnames, types);
        assert_non_null(l);
        assert_non_null(r);
        tg_value *t[2];
        for (int sql = 0; sql < 2; sql++) {
            tg_merge_opts o = TG_MERGE_OPTS_INIT;
            o.n_on = 1;
            o.on = (const char *[]){"k"};
            o.sql_nulls = sql;
            o.how = TG_JOIN_INNER;
            tg_dataframe *m = tg_df_merge(l, r, &o);
            assert_non_null(m);
            const char *by[] = {"a", "b"};
            t[sql] = tg_df_concat(tg_df_sort_values(m, 2, by, NULL, NULL));
        }
        /* (the left's key is kept: a NaN prints as nan; a right side of
         * two copies gives each match twice) */
        const char *want[2][2] = {
            {"k,a,b\nnan,2,10\n,3,10\n2.0,4,20\n", "k,a,b\n2.0,4,20\n"},
            {"k,a,b\nnan,2,10\nnan,2,10\n,3,10\n,3,10\n2.0,4,20\n"
             "2.0,4,20\n",
             "k,a,b\n2.0,4,20\n2.0,4,20\n"}};
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            tg_value *out[2];
            assert_int_equal(tg_compute_many(t, 2, out, s), 0);
            for (int i = 0; i < 2; i++) {
                char *got = td_csv(out[i]);
                if (strcmp(got, want[parts - 1][i]) != 0)
                    fail_msg("%zu right parts, %s, sql_nulls %d:\n%s\nwanted"
                             "\n%s",
                             parts, tg_scheduler_name(s), i, got,
                             want[parts - 1][i]);
                free(got);
                tg_decref(out[i]);
            }
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
}

/* A broadcast join keeps the left's partitions and order: each left row
 * followed by its matches in right order. */
static void test_merge_broadcast_keeps_left_order(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *l = td_read_text(g, dir, "l.csv", PS_TABLE, 9);
    tg_dataframe *r = td_read_text(g, dir, "r.csv", RIGHT, 0);
    tg_merge_opts o = {.n_on = 1, .on = (const char *[]){"col1"}};
    tg_dataframe *m = tg_df_merge(l, r, &o);
    assert_int_equal(tg_df_npartitions(m), tg_df_npartitions(l));
    td_assert_frame(tg_df_compute(m, NULL),
                    "col1,col2,w\n,1,10\n,2,10\nA,3,20\nA,4,20\n");
    tg_graph_free(g);
    td_rmdir(dir);
}

/* Duplicate keys give every pair; left_on/right_on keep both key
 * columns; clashing names take the suffixes; outer rows only one side
 * has get nulls on the other. */
static void test_merge_duplicate_keys_left_on_and_suffixes(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    for (size_t bs = 0; bs < 12; bs += 5) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *l =
            td_read_text(g, dir, "l.csv", "k,v\n1,a\n2,b\n2,c\n", bs);
        tg_dataframe *r =
            td_read_text(g, dir, "r.csv", "key,v\n2,x\n2,y\n3,z\n", bs);
        tg_merge_opts o = {.n_on = 1,
                           .left_on = (const char *[]){"k"},
                           .right_on = (const char *[]){"key"}};
        const char *by[] = {"k", "key", "v_x", "v_y"};
        tg_value *t[2];
        t[0] = tg_df_concat(
            tg_df_sort_values(tg_df_merge(l, r, &o), 4, by, NULL, NULL));
        o.how = TG_JOIN_OUTER;
        o.suffixes[0] = "_l";
        o.suffixes[1] = "_r";
        const char *by2[] = {"k", "key", "v_l", "v_r"};
        t[1] = tg_df_concat(
            tg_df_sort_values(tg_df_merge(l, r, &o), 4, by2, NULL, NULL));
        const char *want[] = {"k,v_x,key,v_y\n2,b,2,x\n2,b,2,y\n2,c,2,x\n"
                              "2,c,2,y\n",
                              "k,v_l,key,v_r\n1,a,,\n2,b,2,x\n2,b,2,y\n"
                              "2,c,2,x\n2,c,2,y\n,,3,z\n"};
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            tg_value *out[2];
            assert_int_equal(tg_compute_many(t, 2, out, s), 0);
            td_assert_frame(out[0], want[0]);
            td_assert_frame(out[1], want[1]);
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
    td_rmdir(dir);
}

/* A side with no rows (a header-only file) or no partitions at all:
 * inner and right joins against it are empty, left and outer keep the
 * other side's rows with nulls. */
static void test_merge_with_an_empty_side(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *l = td_read_text(g, dir, "l.csv", PS_TABLE, 7);
    tg_dataframe *header = td_read_text(g, dir, "r.csv", "col1,w\n", 0);
    const char *names[] = {"col1", "w"};
    tg_dtype types[] = {TG_DT_STRING, TG_DT_INT64};
    tg_dataframe *none = tg_df_from_delayed(g, 0, NULL, 2, names, types);
    const char *empty = "col1,col2,w\n";
    const char *kept = "col1,col2,w\nA,3,\nA,4,\nB,5,\nB,6,\n,1,\n,2,\n";
    tg_value *t[8];
    const char *want[8];
    for (int side = 0; side < 2; side++) {
        for (int how = 0; how < 4; how++) {
            tg_merge_opts o = {.n_on = 1,
                               .on = (const char *[]){"col1"},
                               .how = (tg_join_how)how};
            t[side * 4 + how] =
                sorted(tg_df_merge(l, side ? none : header, &o));
            bool keeps = how == TG_JOIN_LEFT || how == TG_JOIN_OUTER;
            want[side * 4 + how] = keeps ? kept : empty;
        }
    }
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_scheduler *s = td_schedulers[k]();
        tg_value *out[8];
        assert_int_equal(tg_compute_many(t, 8, out, s), 0);
        for (int i = 0; i < 8; i++)
            td_assert_frame(out[i], want[i]);
        tg_scheduler_free(s);
    }
    tg_graph_free(g);
    td_rmdir(dir);
}

/* A merge asks each side only for the columns its consumer reads plus
 * the keys: a and bad hold values that do not parse as int64, and only
 * the queries that read them fail - broadcast and shuffled, inner and
 * outer (where the shared key takes the right's value), on every
 * partitioning and scheduler. */
static void test_merge_reads_only_the_columns_its_consumer_needs(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *ln[] = {"a"}, *rn[] = {"w", "bad"};
    tg_dtype tt[] = {TG_DT_INT64, TG_DT_INT64};
    size_t sizes[] = {0, 9};
    for (size_t z = 0; z < 2; z++) {
        tg_csv_opts lo = {.blocksize = sizes[z],
                          .n_dtypes = 1,
                          .dtype_names = ln,
                          .dtypes = tt};
        tg_csv_opts ro = lo;
        ro.n_dtypes = 2, ro.dtype_names = rn;
        tg_graph *g = tg_graph_new();
        tg_dataframe *l = tg_read_csv(
            g, td_write(dir, "l.csv", "k,a,b\n1,2,x\n2,oops,y\n3,4,z\n"), &lo);
        tg_dataframe *r = tg_read_csv(
            g, td_write(dir, "r.csv", "k,w,bad\n1,10,1\n2,20,nope\n"), &ro);
        if (!l || !r)
            fail_msg("read_csv: %s", tg_last_error());
        const char *k[] = {"k"};
        tg_merge_opts inner = {.n_on = 1, .on = k};
        tg_merge_opts outer = {.n_on = 1, .on = k, .how = TG_JOIN_OUTER};
        tg_dataframe *mi = tg_df_merge(l, r, &inner);
        tg_dataframe *mo = tg_df_merge(l, r, &outer);
        tg_value *t[5] = {
            tg_df_concat(tg_df_sort_values(
                tg_df_select(mi, 3, (const char *[]){"k", "b", "w"}), 1, k,
                NULL, NULL)),
            tg_df_concat(tg_df_sort_values(
                tg_df_select(mo, 2, (const char *[]){"k", "w"}), 1, k, NULL,
                NULL)),
            tg_df_len(mi),
            tg_df_concat(tg_df_select(mi, 1, (const char *[]){"a"})),
            tg_df_concat(tg_df_select(mo, 1, (const char *[]){"bad"}))};
        for (size_t n = 0; n < TD_N_SCHEDULERS; n++) {
            tg_scheduler *s = td_schedulers[n]();
            tg_value *out[3];
            assert_int_equal(tg_compute_many(t, 3, out, s), 0);
            td_assert_frame(out[0], "k,b,w\n1,x,10\n2,y,20\n");
            td_assert_frame(out[1], "k,w\n1,10\n2,20\n3,\n");
            assert_int_equal(tg_as_int(out[2]), 2);
            tg_decref(out[2]);
            const char *col[2] = {"column 'a'", "column 'bad'"};
            for (int i = 0; i < 2; i++) {
                tg_value *e = tg_compute(t[3 + i], s);
                assert_true(tg_is_error(e));
                assert_non_null(strstr(tg_error_message(e), col[i]));
                tg_decref(e);
            }
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
    td_rmdir(dir);
}

static void test_merge_bad_arguments_fail_with_a_message(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *l = td_read_text(g, dir, "l.csv", PS_TABLE, 0);
    tg_dataframe *r = td_read_text(g, dir, "r.csv", RIGHT, 0);
    tg_dataframe *n = td_read_text(g, dir, "n.csv", "col1,w_x\n1,2\n", 0);
    tg_merge_opts o = TG_MERGE_OPTS_INIT;
    assert_null(tg_df_merge(l, r, &o));
    assert_non_null(strstr(tg_last_error(), "no keys"));
    assert_null(tg_df_merge(l, r, NULL));
    assert_null(tg_df_merge(NULL, r, &o));
    o.n_on = 1;
    o.on = (const char *[]){"nope"};
    assert_null(tg_df_merge(l, r, &o));
    assert_non_null(strstr(tg_last_error(), "no left key column 'nope'"));
    o.on = (const char *[]){"col1"};
    assert_null(tg_df_merge(l, n, &o)); /* string against int64 */
    assert_non_null(strstr(tg_last_error(), "is string on the left"));
    o.how = (tg_join_how)9;
    assert_null(tg_df_merge(l, r, &o));
    assert_non_null(strstr(tg_last_error(), "bad how"));
    /* w gets "_x" on the left ... where w_x already is a column. */
    tg_dataframe *r2 = tg_df_assign(r, "w_x", tg_lit_int(1));
    tg_dataframe *l2 = tg_df_assign(l, "w", tg_lit_int(1));
    o.how = TG_JOIN_INNER;
    assert_null(tg_df_merge(l2, r2, &o));
    assert_non_null(strstr(tg_last_error(), "two output columns named 'w_x'"));
    tg_graph *g2 = tg_graph_new();
    tg_dataframe *other = td_read_text(g2, dir, "o.csv", RIGHT, 0);
    assert_null(tg_df_merge(l, other, &o));
    tg_graph_free(g2);
    /* The task rejects a malformed spec with a message. */
    tg_fn fn = NULL;
    void *ctx = NULL;
    assert_int_equal(tg_lookup("tg.df.join", &fn, &ctx), 0);
    tg_value *f = tg_frame_from_csv("k\n1\n", 4, NULL);
    tg_value *args[] = {tg_list(1, tg_int(1)), tg_int(1), f, f};
    tg_value *res = fn(args, 4, ctx);
    assert_non_null(strstr(tg_error_message(res), "malformed join spec"));
    tg_decref(res);
    tg_decref(args[0]);
    tg_decref(args[1]);
    tg_decref(f);
    tg_graph_free(g);
    td_rmdir(dir);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_null_keys_and_every_join_kind),
        cmocka_unit_test(test_merge_nan_keys_match_as_nulls),
        cmocka_unit_test(test_merge_broadcast_keeps_left_order),
        cmocka_unit_test(test_merge_duplicate_keys_left_on_and_suffixes),
        cmocka_unit_test(test_merge_with_an_empty_side),
        cmocka_unit_test(test_merge_reads_only_the_columns_its_consumer_needs),
        cmocka_unit_test(test_merge_bad_arguments_fail_with_a_message),
    };
    return cmocka_run_group_tests_name("merge", tests, NULL, NULL);
}
