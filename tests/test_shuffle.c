/* tests/test_shuffle.c - the shared shuffle's split task
 * (dataframe/shuffle.c): hash and range partitioners, input order kept
 * in every piece, and malformed partitioners failing cleanly.  The
 * shuffle end to end on every scheduler is tested through sort
 * (test_sort.c) and groupby's split_out (test_groupby.c). */
#include "df_util.h"

static tg_value *spec_of(const char *key, bool asc)
{
    return tg_list(3, tg_list(1, tg_str(key)), tg_list(1, tg_bool(asc)),
                   tg_bool(false));
}

static tg_value *call(const char *name, size_t n, tg_value **args)
{
    tg_fn fn = NULL;
    void *ctx = NULL;
    assert_int_equal(tg_lookup(name, &fn, &ctx), 0);
    tg_value *r = fn(args, n, ctx);
    for (size_t i = 0; i < n; i++)
        tg_decref(args[i]);
    if (tg_is_error(r))
        fail_msg("%s: %s", name, tg_error_message(r));
    return r;
}

/* A hash split sends every row to exactly one piece, equal keys (null
 * with null, NaN with NaN) to the same piece, and keeps input order in
 * each piece; a range split cuts at positions (key, partition, row). */
static void test_shuffle_split_by_hash_and_range(void **state)
{
    (void)state;
    const char *text = "k,v\na,0\nb,1\n,2\na,3\nc,4\n,5\nb,6\na,7\n";
    tg_value *f = tg_frame_from_csv(text, strlen(text), NULL);
    tg_value *lst =
        call("tg.df.shuffle_split", 3,
             (tg_value *[]){
                 tg_incref(f),
                 tg_list(3, tg_str("hash"), tg_list(1, tg_str("k")), tg_int(3)),
                 tg_int(0)});
    assert_int_equal(tg_list_len(lst), 3);
    int piece_of[8], seen = 0;
    for (size_t j = 0; j < 3; j++) {
        const tg_value *p = tg_list_get(lst, j);
        const int64_t *v = tg_frame_int64(p, 1);
        for (size_t r = 0; r < tg_frame_nrows(p); r++) {
            piece_of[v[r]] = (int)j;
            seen++;
            if (r > 0)
                assert_true(v[r - 1] < v[r]); /* input order */
        }
    }
    assert_int_equal(seen, 8);
    assert_int_equal(piece_of[0], piece_of[3]); /* a */
    assert_int_equal(piece_of[0], piece_of[7]);
    assert_int_equal(piece_of[1], piece_of[6]); /* b */
    assert_int_equal(piece_of[2], piece_of[5]); /* null */
    tg_decref(lst);
    /* Range: splitters (a, part 0, row 3) and (b, part 1, row 0).  In
     * partition 0 the second and third 'a' go to piece 1 (at or after
     * the first splitter), and every b (before part 1) stays there. */
    const char *st = "k,part,row\na,0,3\nb,1,0\n";
    tg_value *spl = tg_frame_from_csv(st, strlen(st), NULL);
    lst = call("tg.df.shuffle_split", 4,
               (tg_value *[]){
                   tg_incref(f),
                   tg_list(3, tg_str("range"), spec_of("k", true), tg_int(3)),
                   tg_int(0), spl});
    td_assert_frame(tg_incref(tg_list_get(lst, 0)), "k,v\na,0\n");
    td_assert_frame(tg_incref(tg_list_get(lst, 1)),
                    "k,v\nb,1\na,3\nb,6\na,7\n");
    td_assert_frame(tg_incref(tg_list_get(lst, 2)), "k,v\n,2\nc,4\n,5\n");
    tg_decref(lst);
    tg_decref(f);
}

static void test_shuffle_split_rejects_malformed_parameters(void **state)
{
    (void)state;
    tg_value *f = tg_frame_from_csv("x,s\n1,a\n2,b\n", 12, NULL);
    td_check_bad_call(
        "tg.df.shuffle_split", 3,
        (tg_value *[]){
            tg_incref(f),
            tg_list(3, tg_str("hash"), tg_list(1, tg_str("x")), tg_int(0)),
            tg_int(0)},
        "malformed partitioner parameter");
    td_check_bad_call(
        "tg.df.shuffle_split", 3,
        (tg_value *[]){
            tg_incref(f),
            tg_list(3, tg_str("spiral"), tg_list(1, tg_str("x")), tg_int(2)),
            tg_int(0)},
        "not hash, group, range or rows");
    /* A range split whose splitters do not match the keys' types. */
    td_check_bad_call(
        "tg.df.shuffle_split", 4,
        (tg_value *[]){
            tg_incref(f),
            tg_list(3, tg_str("range"), spec_of("s", true), tg_int(2)),
            tg_int(0), tg_frame_from_csv("a,b,c\n1,0,0\n", 12, NULL)},
        "malformed splitters parameter");
    td_check_bad_call("tg.df.shuffle_split", 3,
                      (tg_value *[]){tg_int(3), tg_null(), tg_int(0)},
                      "expected a frame");
    td_check_bad_call("tg.df.shuffle_split", 3,
                      (tg_value *[]){tg_incref(f),
                                     tg_list(3, tg_str("range"),
                                             spec_of("x", true), tg_int(2)),
                                     tg_int(0)},
                      "malformed splitters parameter");
    tg_decref(f);
}

/* The shuffle's, sort's and join's tasks fail cleanly at every
 * allocation. */
static void test_shuffle_tasks_survive_out_of_memory(void **state)
{
    (void)state;
    const char *text = "k,v\na,0\nb,1\n,2\na,3\nc,4\n,5\nb,6\na,7\n";
    tg_value *f = tg_frame_from_csv(text, strlen(text), NULL);
    const char *st = "k,part,row\na,0,3\nb,1,0\n";
    tg_value *spl = tg_frame_from_csv(st, strlen(st), NULL);
    tg_value *hash =
        tg_list(3, tg_str("hash"), tg_list(1, tg_str("k")), tg_int(3));
    tg_value *range =
        tg_list(3, tg_str("range"), spec_of("k", true), tg_int(3));
    tg_value *spec = spec_of("k", false), *nul = tg_null();
    tg_value *i0 = tg_int(0), *i1 = tg_int(1), *i2 = tg_int(2), *i3 = tg_int(3);
    td_sweep_oom("tg.df.shuffle_split", 3, (tg_value *[]){f, hash, i0});
    td_sweep_oom("tg.df.shuffle_split", 4, (tg_value *[]){f, range, i0, spl});
    td_sweep_oom("tg.df.sort", 4, (tg_value *[]){spec, nul, f, f});
    td_sweep_oom("tg.df.sort", 3, (tg_value *[]){spec, i2, f});
    tg_value *sa[] = {f, spec, i1, i3};
    td_sweep_oom("tg.df.sort_sample", 4, sa);
    tg_fn fn = NULL;
    void *ctx = NULL;
    assert_int_equal(tg_lookup("tg.df.sort_sample", &fn, &ctx), 0);
    tg_value *smp = fn(sa, 4, ctx);
    assert_false(tg_is_error(smp));
    td_sweep_oom("tg.df.sort_splitters", 4, (tg_value *[]){spec, i3, smp, smp});
    tg_value *js = tg_list(9, tg_list(1, tg_str("k")), tg_list(1, tg_str("k")),
                           tg_int(3), tg_bool(false), tg_bool(true),
                           tg_list(2, tg_str("k"), tg_str("v")),
                           tg_list(2, tg_str("k"), tg_str("v_x")),
                           tg_list(1, tg_str("v")), tg_list(1, tg_str("v_y")));
    td_sweep_oom("tg.df.join", 5, (tg_value *[]){js, i1, f, f, f});
    tg_decref(i0);
    tg_decref(i1);
    tg_decref(i2);
    tg_decref(i3);
    tg_decref(nul);
    tg_decref(js);
    tg_decref(smp);
    tg_decref(spec);
    tg_decref(range);
    tg_decref(hash);
    tg_decref(spl);
    tg_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shuffle_split_by_hash_and_range),
        cmocka_unit_test(test_shuffle_split_rejects_malformed_parameters),
        cmocka_unit_test(test_shuffle_tasks_survive_out_of_memory),
    };
    return cmocka_run_group_tests_name("shuffle", tests, NULL, NULL);
}
