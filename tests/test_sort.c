/* tests/test_sort.c - tg_df_sort_values, tg_df_nsmallest/nlargest, the
 * head-after-sort rewrite (dataframe/sort.c): exact values, null and NaN
 * placement, stability, balance under skew, and identical answers for every
 * partitioning and scheduler (sync, threads, loopback, a 2-worker cluster). */
#include <math.h>

#include "df_util.h"

/* The pandas-versus-Spark table. */
static const char *const PS_TABLE = "col1,col2\n,1\n,2\nA,3\nA,4\nB,5\nB,6\n";

static const char *const NULLS_LAST = "col1,col2\nA,3\nA,4\nB,5\nB,6\n,1\n,2\n";
static const char *const NULLS_FIRST =
    "col1,col2\n,1\n,2\nA,3\nA,4\nB,5\nB,6\n";
static const char *const DESC_ASC = "col1,col2\nB,5\nB,6\nA,3\nA,4\n,1\n,2\n";

/* The table: nulls last (the default), nulls first, and col1
 * descending with col2 ascending (nulls still last), for one row per
 * partition (blocksize 1 also makes empty partitions) up to one
 * partition, into 1..7 output partitions, on every scheduler. */
static void test_sort_pandas_table_on_every_partitioning(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    size_t sizes[] = {1, 5, 11, 0};
    size_t outs[] = {0, 1, 3, 7};
    const char *keys[] = {"col1", "col2"};
    bool desc_asc[] = {false, true};
    for (size_t b = 0; b < 4; b++) {
        for (size_t o = 0; o < 4; o++) {
            tg_graph *g = tg_graph_new();
            tg_dataframe *df =
                td_read_text(g, dir, "t.csv", PS_TABLE, sizes[b]);
            tg_sort_opts last = {.npartitions = outs[o]};
            tg_sort_opts first = {TG_NA_FIRST, outs[o]};
            tg_value *t[] = {
                tg_df_concat(tg_df_sort_values(df, 2, keys, NULL, &last)),
                tg_df_concat(tg_df_sort_values(df, 2, keys, NULL, &first)),
                tg_df_concat(tg_df_sort_values(df, 2, keys, desc_asc, &last)),
                tg_df_head(tg_df_sort_values(df, 2, keys, desc_asc, &last), 3,
                           0),
                tg_df_concat(
                    tg_df_nsmallest(df, 3, 1, (const char *[]){"col2"})),
                /* one key: B ties keep their input order */
                tg_df_concat(tg_df_nlargest(df, 2, 1, keys))};
            const char *want[] = {NULLS_LAST,
                                  NULLS_FIRST,
                                  DESC_ASC,
                                  "col1,col2\nB,5\nB,6\nA,3\n",
                                  "col1,col2\n,1\n,2\nA,3\n",
                                  "col1,col2\nB,5\nB,6\n"};
            for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
                tg_scheduler *s = td_schedulers[k]();
                char what[64];
                snprintf(what, sizeof what, "bs %zu out %zu", sizes[b],
                         outs[o]);
                td_assert_all(t, 6, want, s, what);
                tg_scheduler_free(s);
            }
            tg_graph_free(g);
        }
    }
    td_rmdir(dir);
}

/* Every key type: int64, float64 with NaN (from 0/0) and nulls, bool
 * and string, in both directions and both null positions. */
static void test_sort_every_key_type(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *text = "id,i,p,q,b,s\n"
                       "0,3,1.5,1,true,x\n"
                       "1,,0,0,false,y\n"
                       "2,-1,-2,1,,\n"
                       "3,3,,1,true,ab\n"
                       "4,7,2.5,1,false,a\n"
                       "5,-1,1.5,1,true,x\n";
    for (size_t bs = 4; bs <= 64; bs *= 4) {
        tg_graph *g = tg_graph_new();
        tg_dataframe *raw = td_read_text(g, dir, "t.csv", text, bs);
        tg_dataframe *df = tg_df_select(
            tg_df_assign(raw, "f", tg_div(tg_col("p"), tg_col("q"))), 5,
            (const char *[]){"id", "i", "f", "b", "s"});
        assert_non_null(df);
        tg_sort_opts first = {.na_position = TG_NA_FIRST, .npartitions = 3};
        tg_sort_opts last = {.npartitions = 2};
        bool desc[] = {false};
        tg_value *t[] = {
            /* f: row 1 is NaN, row 3 null: both with the nulls, stable */
            tg_df_concat(
                tg_df_sort_values(df, 1, (const char *[]){"f"}, desc, &last)),
            tg_df_concat(
                tg_df_sort_values(df, 1, (const char *[]){"f"}, NULL, &first)),
            tg_df_concat(tg_df_sort_values(df, 2, (const char *[]){"b", "i"},
                                           NULL, &first)),
            tg_df_concat(tg_df_sort_values(df, 2, (const char *[]){"s", "id"},
                                           (const bool[]){true, false},
                                           &last))};
        const char *want[] = {
            "id,i,f,b,s\n4,7,2.5,false,a\n0,3,1.5,true,x\n5,-1,1.5,true,x\n"
            "2,-1,-2.0,,\n1,,nan,false,y\n3,3,,true,ab\n",
            "id,i,f,b,s\n1,,nan,false,y\n3,3,,true,ab\n2,-1,-2.0,,\n"
            "0,3,1.5,true,x\n5,-1,1.5,true,x\n4,7,2.5,false,a\n",
            "id,i,f,b,s\n2,-1,-2.0,,\n1,,nan,false,y\n4,7,2.5,false,a\n"
            "5,-1,1.5,true,x\n0,3,1.5,true,x\n3,3,,true,ab\n",
            "id,i,f,b,s\n4,7,2.5,false,a\n3,3,,true,ab\n5,-1,1.5,true,x\n"
            "0,3,1.5,true,x\n1,,nan,false,y\n2,-1,-2.0,,\n"};
        for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
            tg_scheduler *s = td_schedulers[k]();
            td_assert_all(t, 4, want, s, "types");
            tg_scheduler_free(s);
        }
        tg_graph_free(g);
    }
    td_rmdir(dir);
}

/* ---- skew, stability and balance ---------------------------------------- */

typedef struct row {
    int key; /* -1: null */
    long id;
} row;

static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    int kx = x->key < 0 ? 1 << 30 : x->key, ky = y->key < 0 ? 1 << 30 : y->key;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* A table of n rows "id,k,v" whose key is skew_pct % one value, null_pct
 * % null and otherwise spread; the expected sort (by k, nulls last,
 * stable: by id) as CSV text into *want. */
static char *gen_skewed(size_t n, int skew_pct, int null_pct, char **want)
{
    row *rows = malloc(n * sizeof *rows);
    char *t = malloc(n * 32 + 16);
    size_t len = (size_t)sprintf(t, "id,k,v\n");
    uint64_t s = 7;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int r = (int)((s >> 33) % 100);
        int key = r < null_pct              ? -1
                  : r < null_pct + skew_pct ? 7
                                            : (int)((s >> 45) % 20);
        rows[i] = (row){key, (long)i};
        len += (size_t)sprintf(t + len, "%zu,", i);
        if (key >= 0)
            len += (size_t)sprintf(t + len, "%d", key);
        len += (size_t)sprintf(t + len, ",%d\n", (int)((s >> 20) % 1000));
    }
    qsort(rows, n, sizeof *rows, row_cmp);
    /* The expected text needs v: re-generate it per id. */
    int *vs = malloc(n * sizeof *vs);
    s = 7;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        vs[i] = (int)((s >> 20) % 1000);
    }
    char *w = malloc(n * 32 + 16);
    size_t wl = (size_t)sprintf(w, "id,k,v\n");
    for (size_t i = 0; i < n; i++) {
        wl += (size_t)sprintf(w + wl, "%ld,", rows[i].id);
        if (rows[i].key >= 0)
            wl += (size_t)sprintf(w + wl, "%d", rows[i].key);
        wl += (size_t)sprintf(w + wl, ",%d\n", vs[rows[i].id]);
    }
    free(vs);
    free(rows);
    *want = w;
    return t;
}

/* Sorts a skewed or mostly-null key into k partitions: the rows come
 * out in key order with equal keys in input order, on every scheduler,
 * and no output partition holds much more than its share although one
 * key (or null) holds most rows. */
static void check_skewed(int skew_pct, int null_pct)
{
    char *dir = td_mkdir();
    size_t n = tt_scale(3000, 600), k = 5;
    char *want = NULL;
    char *text = gen_skewed(n, skew_pct, null_pct, &want);
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", text, strlen(text) / 9);
    tg_sort_opts o = {.npartitions = k};
    tg_dataframe *sorted =
        tg_df_sort_values(df, 1, (const char *[]){"k"}, NULL, &o);
    assert_int_equal(tg_df_npartitions(sorted), k);
    for (size_t j = 0; j < TD_N_SCHEDULERS; j++) {
        tg_scheduler *s = td_schedulers[j]();
        tg_value *t[6] = {tg_df_concat(sorted)};
        for (size_t p = 0; p < k; p++)
            t[p + 1] = tg_df_partition(sorted, p);
        tg_value *out[6];
        assert_int_equal(tg_compute_many(t, k + 1, out, s), 0);
        char *got = td_csv(out[0]);
        if (strcmp(got, want) != 0)
            fail_msg("skew %d null %d on %s: the order differs", skew_pct,
                     null_pct, tg_scheduler_name(s));
        free(got);
        size_t total = 0, share = (n + k - 1) / k;
        for (size_t p = 0; p < k; p++) {
            size_t rows = tg_frame_nrows(out[p + 1]);
            if (rows > share + share / 4)
                fail_msg("partition %zu holds %zu rows of %zu (share %zu)", p,
                         rows, n, share);
            total += rows;
            tg_decref(out[p + 1]);
        }
        assert_int_equal(total, n);
        tg_decref(out[0]);
        tg_scheduler_free(s);
    }
    tg_graph_free(g);
    free(text);
    free(want);
    td_rmdir(dir);
}

static void test_sort_skewed_key_is_stable_and_balanced(void **state)
{
    (void)state;
    check_skewed(90, 3);
}

static void test_sort_mostly_null_key_is_stable_and_balanced(void **state)
{
    (void)state;
    check_skewed(0, 85);
}

static void test_sort_all_null_key_keeps_input_order(void **state)
{
    (void)state;
    check_skewed(0, 100);
}

/* ---- empty inputs -------------------------------------------------------- */

static void test_sort_empty_inputs(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    /* A file with a header only (one partition of no rows), and a
     * dataframe of no partitions at all. */
    tg_dataframe *header = td_read_text(g, dir, "t.csv", "k,x\n", 0);
    const char *k[] = {"k"};
    tg_sort_opts three = {.npartitions = 3};
    /* Partitions of which some are empty, and a filter leaving none. */
    const char *names[] = {"k", "x"};
    tg_dtype types[] = {TG_DT_INT64, TG_DT_STRING};
    tg_value *parts[4];
    const char *texts[] = {"k,x\n", "k,x\n2,b\n1,a\n", "k,x\n", "k,x\n1,c\n"};
    for (int i = 0; i < 4; i++) {
        tg_csv_opts o = {.n_dtypes = 2, .dtype_names = names, .dtypes = types};
        parts[i] = tg_frame_from_csv(texts[i], strlen(texts[i]), &o);
        assert_false(tg_is_error(parts[i]));
    }
    tg_dataframe *some = tg_df_from_delayed(g, 4, parts, 2, names, types);
    tg_dataframe *none = tg_df_from_delayed(g, 0, NULL, 2, names, types);
    tg_dataframe *nothing =
        tg_df_filter(some, tg_gt(tg_col("k"), tg_lit_int(10)));
    tg_value *t[] = {
        tg_df_concat(tg_df_sort_values(none, 1, k, NULL, &three)),
        tg_df_head(tg_df_sort_values(none, 1, k, NULL, NULL), 5, 0),
        tg_df_concat(tg_df_nsmallest(none, 2, 1, k)),
        tg_df_concat(tg_df_sort_values(some, 1, k, NULL, &three)),
        tg_df_concat(tg_df_sort_values(some, 1, k, NULL, NULL)),
        tg_df_concat(tg_df_sort_values(nothing, 1, k, NULL, &three)),
        tg_df_head(tg_df_sort_values(nothing, 1, k, NULL, NULL), 2, 0),
        tg_df_concat(tg_df_nlargest(some, 0, 1, k)),
        tg_df_concat(tg_df_sort_values(header, 1, k, NULL, &three)),
        tg_df_head(tg_df_sort_values(header, 1, k, NULL, NULL), 2, 0)};
    const char *want[] = {"k,x\n",
                          "k,x\n",
                          "k,x\n",
                          "k,x\n1,a\n1,c\n2,b\n",
                          "k,x\n1,a\n1,c\n2,b\n",
                          "k,x\n",
                          "k,x\n",
                          "k,x\n",
                          "k,x\n",
                          "k,x\n"};
    assert_int_equal(
        tg_df_npartitions(tg_df_sort_values(none, 1, k, NULL, &three)), 0);
    for (size_t j = 0; j < TD_N_SCHEDULERS; j++) {
        tg_scheduler *s = td_schedulers[j]();
        td_assert_all(t, 10, want, s, "empty");
        tg_scheduler_free(s);
    }
    tg_graph_free(g);
    td_rmdir(dir);
}

/* ---- head after sort ----------------------------------------------------- */

/* head(sort(df), n, 0) and nsmallest record a top n per partition and a
 * tree of merges - no sample, splitter, split or pick task - and give
 * the first n rows of the full sort. */
static void test_sort_head_after_sort_does_not_shuffle(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    char *want = NULL;
    char *text = gen_skewed(tt_scale(2000, 400), 50, 10, &want);
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", text, strlen(text) / 20);
    size_t np = tg_df_npartitions(df);
    assert_true(np >= 16);
    (void)tg_df_concat(df); /* the reads, for the baseline */
    size_t before = tg_graph_size(g);
    tg_dataframe *sorted =
        tg_df_sort_values(df, 1, (const char *[]){"k"}, NULL, NULL);
    tg_value *head = tg_df_head(sorted, 25, 0);
    assert_string_equal(tg_delayed_name(head), "tg.df.sort");
    /* the sort node, np top-n tasks, a tree of merges (8 at a time), and
     * the limit literal's node */
    size_t added = tg_graph_size(g) - before;
    if (added > 1 + np + (np + 6) / 7 + 2)
        fail_msg("head after sort added %zu nodes for %zu partitions", added,
                 np);
    tg_value *small =
        tg_df_concat(tg_df_nsmallest(df, 25, 1, (const char *[]){"k"}));
    tg_sort_opts four = {.npartitions = 4}; /* >= 100 rows each */
    tg_value *full =
        tg_df_head(tg_df_sort_values(df, 1, (const char *[]){"k"}, NULL, &four),
                   25, 1); /* 1 of 4 partitions: the full sort */
    /* The expected first 25 rows: the first 26 lines of want. */
    char *end = want;
    for (int i = 0; i < 26; i++)
        end = strchr(end, '\n') + 1;
    *end = '\0';
    tg_value *t[] = {head, small, full};
    const char *w[] = {want, want, want};
    for (size_t j = 0; j < TD_N_SCHEDULERS; j++) {
        tg_scheduler *s = td_schedulers[j]();
        td_assert_all(t, 3, w, s, "head");
        tg_scheduler_free(s);
    }
    tg_graph_free(g);
    free(text);
    free(want);
    td_rmdir(dir);
}

/* A sort of n partitions into k records n samples, one splitters task,
 * n splits, n * k picks (one task result per piece, so pieces move
 * between workers on their own) and k range sorts; into one partition,
 * a single sort task. */
static void test_sort_task_count_is_linear_plus_n_times_k_picks(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", PS_TABLE, 5);
    (void)tg_df_concat(df); /* the reads, for the baseline */
    size_t n = tg_df_npartitions(df), k = 3;
    assert_true(n > 3);
    tg_sort_opts o = {.npartitions = k}, one = {.npartitions = 1};
    const char *key[] = {"col1"};
    tg_dataframe *s = tg_df_sort_values(df, 1, key, NULL, &o);
    size_t before = tg_graph_size(g);
    assert_non_null(tg_df_partition(s, 0));
    assert_int_equal(tg_graph_size(g) - before, 2 * n + 1 + n * k + k);
    s = tg_df_sort_values(df, 1, key, NULL, &one);
    before = tg_graph_size(g);
    assert_string_equal(tg_delayed_name(tg_df_partition(s, 0)), "tg.df.sort");
    assert_int_equal(tg_graph_size(g) - before, 1);
    tg_graph_free(g);
    td_rmdir(dir);
}

/* ---- errors -------------------------------------------------------------- */

static void test_sort_bad_arguments_fail_with_a_message(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = td_read_text(g, dir, "t.csv", PS_TABLE, 0);
    const char *keys[] = {"col1", "nope"};
    assert_null(tg_df_sort_values(df, 0, keys, NULL, NULL));
    assert_non_null(strstr(tg_last_error(), "no keys"));
    assert_null(tg_df_sort_values(df, 2, keys, NULL, NULL));
    assert_non_null(strstr(tg_last_error(), "no column 'nope'"));
    assert_null(tg_df_sort_values(df, 1, NULL, NULL, NULL));
    assert_non_null(strstr(tg_last_error(), "NULL keys"));
    assert_null(tg_df_sort_values(NULL, 1, keys, NULL, NULL));
    assert_null(tg_df_sort_values(df, 1, (const char *[]){NULL}, NULL, NULL));
    tg_sort_opts bad = {.na_position = (tg_na_position)7};
    assert_null(tg_df_sort_values(df, 1, keys, NULL, &bad));
    assert_non_null(strstr(tg_last_error(), "na_position"));
    assert_null(tg_df_nsmallest(df, 3, 2, keys));
    assert_non_null(strstr(tg_last_error(), "no column 'nope'"));
    assert_null(tg_df_nlargest(df, 3, 0, keys));
    assert_null(tg_df_nlargest(NULL, 3, 1, keys));
    tg_graph_free(g);
    td_rmdir(dir);
}

static tg_value *spec_of(const char *key, bool asc)
{
    return tg_list(3, tg_list(1, tg_str(key)), tg_list(1, tg_bool(asc)),
                   tg_bool(false));
}

static void test_sort_tasks_reject_malformed_parameters(void **state)
{
    (void)state;
    tg_value *f = tg_frame_from_csv("x,s\n1,a\n2,b\n", 12, NULL);
    td_check_bad_call(
        "tg.df.sort", 3,
        (tg_value *[]){tg_list(1, tg_int(1)), tg_null(), tg_incref(f)},
        "malformed sort spec parameter");
    td_check_bad_call(
        "tg.df.sort", 3,
        (tg_value *[]){spec_of("zz", true), tg_null(), tg_incref(f)},
        "no key column 'zz'");
    td_check_bad_call(
        "tg.df.sort", 3,
        (tg_value *[]){spec_of("x", true), tg_int(-1), tg_incref(f)},
        "malformed limit parameter");
    td_check_bad_call("tg.df.sort", 4,
                      (tg_value *[]){spec_of("x", true), tg_null(),
                                     tg_incref(f),
                                     tg_frame_from_csv("y\n1\n", 4, NULL)},
                      "other columns");
    td_check_bad_call(
        "tg.df.sort_sample", 4,
        (tg_value *[]){tg_incref(f), spec_of("x", true), tg_int(0), tg_int(0)},
        "malformed samples parameter");
    td_check_bad_call(
        "tg.df.sort_splitters", 3,
        (tg_value *[]){spec_of("x", true), tg_int(2), tg_incref(f)},
        "not a sample");
    td_check_bad_call(
        "tg.df.sort_splitters", 3,
        (tg_value *[]){spec_of("x", true), tg_int(0), tg_incref(f)},
        "malformed k parameter");
    tg_decref(f);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_pandas_table_on_every_partitioning),
        cmocka_unit_test(test_sort_every_key_type),
        cmocka_unit_test(test_sort_skewed_key_is_stable_and_balanced),
        cmocka_unit_test(test_sort_mostly_null_key_is_stable_and_balanced),
        cmocka_unit_test(test_sort_all_null_key_keeps_input_order),
        cmocka_unit_test(test_sort_empty_inputs),
        cmocka_unit_test(test_sort_head_after_sort_does_not_shuffle),
        cmocka_unit_test(test_sort_task_count_is_linear_plus_n_times_k_picks),
        cmocka_unit_test(test_sort_bad_arguments_fail_with_a_message),
        cmocka_unit_test(test_sort_tasks_reject_malformed_parameters),
    };
    return cmocka_run_group_tests_name("sort", tests, NULL, NULL);
}
