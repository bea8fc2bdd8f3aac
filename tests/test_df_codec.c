/* tests/test_df_codec.c - frames and partial aggregates on the wire
 * ("tg.frame", "tg.df.partial"; dataframe/frame_codec.c, partial.c):
 * round trips of every column type and every aggregation, malformed
 * payloads that must fail to decode, and whole queries on the loopback
 * scheduler, where every task's inputs and results cross the codec. */
#include "dataframe/partial_internal.h"
#include "df_util.h"
#include "runtime/codec_internal.h"

/* A frame of every type, with a null in each column when nulls is set,
 * and n rows. */
static tg_value *every_type(size_t n, bool nulls)
{
    const char *names[] = {"i", "f", "b", "s"};
    tg_dtype types[] = {TG_DT_INT64, TG_DT_FLOAT64, TG_DT_BOOL, TG_DT_STRING};
    tg_frame_builder *b = tg_frame_builder_new(4, names, types);
    for (size_t r = 0; r < n; r++) {
        if (nulls && r % 3 == 1) {
            for (size_t c = 0; c < 4; c++)
                assert_int_equal(tg_frame_builder_null(b, c), 0);
            continue;
        }
        char s[32];
        int len = r % 4 ? snprintf(s, sizeof s, "s%zu", r) : (s[0] = 0, 0);
        assert_int_equal(tg_frame_builder_int(b, 0, (int64_t)r * 7 - 20), 0);
        assert_int_equal(tg_frame_builder_float(b, 1, (double)r / 3), 0);
        assert_int_equal(tg_frame_builder_bool(b, 2, r % 2), 0);
        assert_int_equal(tg_frame_builder_str(b, 3, s, (size_t)len), 0);
    }
    tg_value *v = tg_frame_builder_finish(b);
    assert_non_null(v);
    return v;
}

/* v's round trip is an equal frame that shares no buffer with v. */
static void check_frame_round_trip(tg_value *v)
{
    tg_value *w = tg__codec_roundtrip(v);
    if (tg_is_error(w))
        fail_msg("round trip: %s", tg_error_message(w));
    assert_int_equal(tg_typeof(w), TG_FRAME);
    assert_int_equal(tg_frame_nrows(w), tg_frame_nrows(v));
    assert_int_equal(tg_frame_ncols(w), tg_frame_ncols(v));
    for (size_t c = 0; c < tg_frame_ncols(v); c++) {
        assert_string_equal(tg_frame_colname(w, c), tg_frame_colname(v, c));
        assert_int_equal(tg_frame_coltype(w, c), tg_frame_coltype(v, c));
        assert_int_equal(tg_frame_null_count(w, c), tg_frame_null_count(v, c));
        for (size_t r = 0; r < tg_frame_nrows(v); r++)
            assert_int_equal(tg_frame_is_null(w, c, r),
                             tg_frame_is_null(v, c, r));
        const tg__frame *fv = tg__frame_of(v), *fw = tg__frame_of(w);
        assert_ptr_not_equal(fv->cols[c]->data, fw->cols[c]->data);
    }
    char *a = td_csv(v), *b = td_csv(w);
    assert_string_equal(a, b);
    free(a);
    free(b);
    tg_decref(w);
    tg_decref(v);
}

static void test_df_codec_frames_round_trip(void **state)
{
    (void)state;
    check_frame_round_trip(every_type(10, false));
    check_frame_round_trip(every_type(10, true));
    check_frame_round_trip(every_type(5000, true)); /* pieces, not inline */
    check_frame_round_trip(every_type(0, false));   /* no rows */
    check_frame_round_trip(every_type(1, true));    /* all null */
    tg_frame_builder *b = tg_frame_builder_new(0, NULL, NULL);
    check_frame_round_trip(tg_frame_builder_finish(b)); /* no columns */
    /* No columns but rows: what a row count filters down to. */
    tg_value *f = every_type(6, false);
    tg_fn filter = NULL;
    void *ctx = NULL;
    assert_int_equal(tg_lookup("tg.df.filter", &filter, &ctx), 0);
    tg_value *args[3] = {f,
                         tg_list(3, tg_str("gt"),
                                 tg_list(2, tg_str("col"), tg_str("i")),
                                 tg_list(2, tg_str("lit"), tg_int(0))),
                         tg_list(0)};
    tg_value *none = filter(args, 3, ctx);
    assert_int_equal(tg_frame_ncols(none), 0);
    assert_int_equal(tg_frame_nrows(none), 3);
    check_frame_round_trip(none);
    for (int i = 0; i < 3; i++)
        tg_decref(args[i]);
}

/* The round trip of frame v after `damage` changed it must fail with a
 * message containing want; `repair` undoes the change. */
static void check_bad_frame(tg_value *v, void (*damage)(tg__frame *),
                            void (*repair)(tg__frame *), const char *want)
{
    tg__frame *f = tg__frame_of(v);
    damage(f);
    tg_value *w = tg__codec_roundtrip(v);
    repair(f);
    assert_true(tg_is_error(w));
    if (!strstr(tg_error_message(w), want))
        fail_msg("'%s' lacks '%s'", tg_error_message(w), want);
    tg_decref(w);
}

static int64_t saved;

static void rows_up(tg__frame *f)
{
    f->nrows++;
}
static void rows_down(tg__frame *f)
{
    f->nrows--;
}
static void offset_past(tg__frame *f)
{
    int64_t *off = f->cols[3]->data;
    saved = off[f->nrows];
    off[f->nrows] += 5;
}
static void offset_back(tg__frame *f)
{
    ((int64_t *)f->cols[3]->data)[f->nrows] = saved;
}
static void offset_down(tg__frame *f)
{
    int64_t *off = f->cols[3]->data;
    saved = off[2];
    off[2] = off[3] + 1;
}
static void offset_up(tg__frame *f)
{
    ((int64_t *)f->cols[3]->data)[2] = saved;
}
static void bool_two(tg__frame *f)
{
    ((uint8_t *)f->cols[2]->data)[0] = 2;
}
static void bool_zero(tg__frame *f)
{
    ((uint8_t *)f->cols[2]->data)[0] = 0;
}
static void nulls_off(tg__frame *f)
{
    saved = (int64_t)f->cols[0]->n_null;
    f->cols[0]->n_null = 0;
}
static void nulls_on(tg__frame *f)
{
    f->cols[0]->n_null = (size_t)saved;
}

static void test_df_codec_malformed_frames_fail_to_decode(void **state)
{
    (void)state;
    tg_value *v = every_type(8, true);
    check_bad_frame(v, rows_up, rows_down, "wrong length");
    check_bad_frame(v, offset_past, offset_back, "wrong length");
    check_bad_frame(v, offset_down, offset_up, "offsets decrease");
    check_bad_frame(v, bool_two, bool_zero, "neither 0 nor 1");
    check_bad_frame(v, nulls_off, nulls_on, "null count");
    check_frame_round_trip(v); /* repaired */
    /* Truncated: every prefix of a frame's flat form fails cleanly. */
    tg__enc e;
    uint8_t *flat = NULL;
    size_t len = 0;
    tg_value *small = every_type(3, true);
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, small), 0);
    assert_int_equal(tg__enc_flatten(&e, &flat, &len), 0);
    tg__enc_close(&e);
    for (size_t cut = 0; cut < len; cut++) {
        tg__dec d;
        if (tg__dec_init_flat(&d, flat, cut, 0) == 0) {
            tg_value *w = tg__decode(&d);
            assert_null(w);
        }
        tg__dec_close(&d);
    }
    tg__free(flat);
    tg_decref(small);
}

/* ---- partials -------------------------------------------------------------
 */

/* The rows the partials aggregate: keys of every type with nulls. */
static tg_value *agg_input(void)
{
    const char *text = "ki,ks,kb,kf,x,i,s,b\n"
                       "1,a,true,0.5,1.5,3,p,true\n"
                       "2,b,false,,2.5,,q,false\n"
                       "1,a,true,0.5,,7,,\n"
                       ",,,,4.0,-2,zz,true\n"
                       "2,b,false,-0.0,-1.0,5,p,false\n"
                       "3,c,true,nan,8.0,9,r,true\n";
    tg_value *f = tg_frame_from_csv(text, strlen(text), NULL);
    assert_false(tg_is_error(f));
    return f;
}

/* Calls the registered task name on args (stolen). */
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

/* A spec value grouping by keys with every aggregation over x (float),
 * i (int), s (string) and b (bool). */
static tg_value *spec_value(size_t nk, const char *const *keys,
                            const tg_dtype *kt, bool keep)
{
    static const struct {
        const char *op, *col;
        tg_dtype in;
    } aggs[] = {{"count", "x", TG_DT_FLOAT64},   {"size", NULL, TG_DT_INT64},
                {"sum", "x", TG_DT_FLOAT64},     {"sum", "i", TG_DT_INT64},
                {"sum", "b", TG_DT_BOOL},        {"mean", "x", TG_DT_FLOAT64},
                {"mean", "i", TG_DT_INT64},      {"min", "x", TG_DT_FLOAT64},
                {"max", "i", TG_DT_INT64},       {"min", "s", TG_DT_STRING},
                {"max", "s", TG_DT_STRING},      {"max", "b", TG_DT_BOOL},
                {"var", "x", TG_DT_FLOAT64},     {"std", "i", TG_DT_INT64},
                {"nunique", "x", TG_DT_FLOAT64}, {"nunique", "s", TG_DT_STRING},
                {"nunique", "i", TG_DT_INT64}};
    size_t na = sizeof aggs / sizeof *aggs;
    tg_value *items[32], *kv[8], *tv[8];
    for (size_t a = 0; a < na; a++) {
        char name[32];
        snprintf(name, sizeof name, "%s_%zu", aggs[a].op, a);
        items[a] = tg_list(4, tg_str(aggs[a].op),
                           aggs[a].col ? tg_str(aggs[a].col) : tg_null(),
                           tg_str(name), tg_int(aggs[a].in));
    }
    for (size_t k = 0; k < nk; k++)
        kv[k] = tg_str(keys[k]), tv[k] = tg_int(kt[k]);
    return tg_list(4, tg_list_from(nk, kv), tg_list_from(nk, tv),
                   tg_list_from(na, items), tg_bool(keep));
}

/* Finishes partial p (borrowed) with spec sv into CSV text. */
static char *finish(tg_value *sv, tg_value *p)
{
    tg_value *args[3] = {tg_incref(sv), tg_str("keys"), tg_incref(p)};
    tg_value *r = call("tg.df.agg_finish", 3, args);
    char *csv = td_csv(r);
    tg_decref(r);
    return csv;
}

static void check_partial_round_trip(size_t nk, const char *const *keys,
                                     const tg_dtype *kt, bool keep, size_t rows)
{
    tg_value *sv = spec_value(nk, keys, kt, keep);
    tg_value *f = agg_input();
    if (rows < tg_frame_nrows(f)) { /* a prefix of the rows */
        tg_value *h[2] = {f, tg_int((int64_t)rows)};
        f = call("tg.df.head", 2, h);
    }
    tg_value *pa[2] = {f, tg_incref(sv)};
    tg_value *p = call("tg.df.agg_partial", 2, pa);
    tg_value *q = tg__codec_roundtrip(p);
    if (tg_is_error(q))
        fail_msg("partial round trip: %s", tg_error_message(q));
    assert_non_null(tg__partial_of(q));
    assert_ptr_not_equal(tg__partial_of(q), tg__partial_of(p));
    char *want = finish(sv, p), *got = finish(sv, q);
    assert_string_equal(got, want);
    /* A decoded partial merges like the original: p + q = twice p. */
    tg_value *ca[3] = {tg_incref(sv), tg_incref(p), tg_incref(q)};
    tg_value *pq = call("tg.df.agg_combine", 3, ca);
    tg_value *cb[3] = {tg_incref(sv), tg_incref(p), tg_incref(p)};
    tg_value *pp = call("tg.df.agg_combine", 3, cb);
    char *a = finish(sv, pq), *b = finish(sv, pp);
    assert_string_equal(a, b);
    free(a), free(b), free(want), free(got);
    tg_decref(pq), tg_decref(pp), tg_decref(q), tg_decref(p), tg_decref(sv);
}

static void test_df_codec_partials_of_every_aggregation(void **state)
{
    (void)state;
    const char *k1[] = {"ki"}, *k2[] = {"ks", "kb"}, *k3[] = {"kf"};
    tg_dtype t1[] = {TG_DT_INT64}, t2[] = {TG_DT_STRING, TG_DT_BOOL},
             t3[] = {TG_DT_FLOAT64};
    for (size_t rows = 0; rows <= 6; rows += 3) {
        check_partial_round_trip(0, NULL, NULL, false, rows); /* no keys */
        check_partial_round_trip(1, k1, t1, false, rows);
        check_partial_round_trip(1, k1, t1, true, rows); /* a null group */
        check_partial_round_trip(2, k2, t2, true, rows);
        check_partial_round_trip(1, k3, t3, true, rows); /* NaN, -0.0 */
    }
}

/* Damages the first partial of a spec with string min/max and nunique
 * and checks that its round trip fails. */
static void test_df_codec_malformed_partials_fail_to_decode(void **state)
{
    (void)state;
    const char *k1[] = {"ks"};
    tg_dtype t1[] = {TG_DT_STRING};
    tg_value *sv = spec_value(1, k1, t1, true);
    tg_value *pa[2] = {agg_input(), tg_incref(sv)};
    tg_value *pv = call("tg.df.agg_partial", 2, pa);
    tg__partial *p = (tg__partial *)tg__partial_of(pv);
    const char *want[] = {"a negative row count", "neither 0 nor 1",
                          "min/max string is out of range",
                          "distinct entry is out of range"};
    for (int k = 0; k < 4; k++) {
        int64_t keep_size = p->size[0], keep_off = p->st[9].soff[0];
        uint8_t keep_has = p->st[11].has[0];
        uint32_t *gid = p->st[15].set->gid;
        uint32_t keep_gid = gid[0];
        if (k == 0)
            p->size[0] = -1;
        if (k == 1)
            p->st[11].has[0] = 2;
        if (k == 2)
            p->st[9].soff[0] = 1 << 20;
        if (k == 3)
            gid[0] = 1000;
        tg_value *w = tg__codec_roundtrip(pv);
        p->size[0] = keep_size, p->st[9].soff[0] = keep_off;
        p->st[11].has[0] = keep_has, gid[0] = keep_gid;
        assert_true(tg_is_error(w));
        if (!strstr(tg_error_message(w), want[k]))
            fail_msg("'%s' lacks '%s'", tg_error_message(w), want[k]);
        tg_decref(w);
    }
    tg_value *ok = tg__codec_roundtrip(pv);
    assert_false(tg_is_error(ok));
    tg_decref(ok);
    tg_decref(pv);
    tg_decref(sv);
}

/* ---- whole queries across the codec ------------------------------------- */

static tg_value *same_frame(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_incref(a[0]);
}

static tg_value *same_frame_local(const tg_value *frame, void *ctx)
{
    (void)ctx;
    return tg_incref((tg_value *)frame);
}

static void test_df_codec_queries_run_on_the_loopback_scheduler(void **state)
{
    (void)state;
    assert_int_equal(tg_register("test.same_frame", same_frame, NULL), 0);
    char *dir = td_mkdir();
    const char *text = "k,x,s\na,1,\"p,q\"\nb,-2,q\na,3,\"x\ny\"\n,4,s\n"
                       "b,5,t\nc,-6,u\n";
    char path[512], out[512];
    snprintf(path, sizeof path, "%s", td_write(dir, "t.csv", text));
    snprintf(out, sizeof out, "%s/part-*.csv", dir);
    tg_scheduler *lb = tg_scheduler_loopback(), *sync = tg_scheduler_sync();
    tg_graph *g = tg_graph_new();
    tg_csv_opts o = {.blocksize = 9};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    tg_dataframe *pos = tg_df_map_partitions_named(
        tg_df_filter(df, tg_gt(tg_col("x"), tg_lit_int(0))), "test.same_frame",
        0, NULL, NULL);
    tg_agg aggs[] = {{"x", TG_AGG_MEAN, NULL},
                     {"s", TG_AGG_NUNIQUE, NULL},
                     {"s", TG_AGG_MAX, NULL}};
    tg_groupby_opts split = {.split_out = 2, .split_every = 2};
    tg_value *t[] = {tg_df_concat(tg_df_groupby(pos, 1, (const char *[]){"k"},
                                                3, aggs, &split)),
                     tg_df_concat(tg_df_value_counts(df, "k", false)),
                     tg_df_agg(df, 3, aggs, NULL),
                     tg_df_len(pos),
                     tg_df_head(df, 2, 0),
                     tg_to_csv(df, out)};
    size_t n = sizeof t / sizeof *t;
    tg_value *a[6], *b[6];
    assert_int_equal(tg_compute_many(t, n, a, lb), 0);
    assert_int_equal(tg_compute_many(t, n, b, sync), 0);
    for (size_t i = 0; i < n; i++) {
        if (tg_typeof(a[i]) == TG_INT) {
            assert_int_equal(tg_as_int(a[i]), tg_as_int(b[i]));
            tg_decref(a[i]), tg_decref(b[i]);
            continue;
        }
        char *x = td_csv(a[i]), *y = td_csv(b[i]);
        assert_string_equal(x, y);
        free(x), free(y);
        tg_decref(a[i]), tg_decref(b[i]);
    }
    /* The pointer form of map_partitions is a local call: refused. */
    tg_value *e =
        tg_df_compute(tg_df_map_partitions(df, "local-map", same_frame_local,
                                           NULL, 0, NULL, NULL),
                      lb);
    assert_true(tg_is_error(e));
    assert_non_null(strstr(tg_error_message(e), "local-map"));
    tg_decref(e);
    tg_graph_free(g);
    tg_scheduler_free(lb);
    tg_scheduler_free(sync);
    td_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_df_codec_frames_round_trip),
        cmocka_unit_test(test_df_codec_malformed_frames_fail_to_decode),
        cmocka_unit_test(test_df_codec_partials_of_every_aggregation),
        cmocka_unit_test(test_df_codec_malformed_partials_fail_to_decode),
        cmocka_unit_test(test_df_codec_queries_run_on_the_loopback_scheduler),
    };
    return cmocka_run_group_tests_name("df_codec", tests, NULL, NULL);
}
