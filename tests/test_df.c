/* tests/test_df.c - frames, the frame builder, column expressions and the
 * per-partition builders (from_delayed, filter, assign, select,
 * map_partitions, head), with out-of-memory injection. */
#include <math.h>

#include "df_util.h"

TG_API void tg__oom_inject(long after, bool sticky);

static const char *const NAMES[] = {"i", "f", "s", "b"};
static const tg_dtype TYPES[] = {TG_DT_INT64, TG_DT_FLOAT64, TG_DT_STRING,
                                 TG_DT_BOOL};

/* Rows: (1, 0.5, "a", true), (null, -2.25, null, false),
 *       (3, null, "a,b", null), (-4, 8, "", true), plus `extra` rows
 * (10 + k, k, "x", false). */
static tg_value *sample(int extra)
{
    tg_frame_builder *b = tg_frame_builder_new(4, NAMES, TYPES);
    assert_non_null(b);
    assert_int_equal(tg_frame_builder_int(b, 0, 1), 0);
    assert_int_equal(tg_frame_builder_null(b, 0), 0);
    assert_int_equal(tg_frame_builder_int(b, 0, 3), 0);
    assert_int_equal(tg_frame_builder_int(b, 0, -4), 0);
    assert_int_equal(tg_frame_builder_float(b, 1, 0.5), 0);
    assert_int_equal(tg_frame_builder_float(b, 1, -2.25), 0);
    assert_int_equal(tg_frame_builder_null(b, 1), 0);
    assert_int_equal(tg_frame_builder_float(b, 1, 8), 0);
    assert_int_equal(tg_frame_builder_str(b, 2, "a", 1), 0);
    assert_int_equal(tg_frame_builder_null(b, 2), 0);
    assert_int_equal(tg_frame_builder_str(b, 2, "a,b", 3), 0);
    assert_int_equal(tg_frame_builder_str(b, 2, "", 0), 0);
    assert_int_equal(tg_frame_builder_bool(b, 3, true), 0);
    assert_int_equal(tg_frame_builder_bool(b, 3, false), 0);
    assert_int_equal(tg_frame_builder_null(b, 3), 0);
    assert_int_equal(tg_frame_builder_bool(b, 3, true), 0);
    for (int k = 0; k < extra; k++) {
        assert_int_equal(tg_frame_builder_int(b, 0, 10 + k), 0);
        assert_int_equal(tg_frame_builder_float(b, 1, k), 0);
        assert_int_equal(tg_frame_builder_str(b, 2, "x", 1), 0);
        assert_int_equal(tg_frame_builder_bool(b, 3, false), 0);
    }
    tg_value *v = tg_frame_builder_finish(b);
    assert_non_null(v);
    return v;
}

#define SAMPLE_CSV                                                             \
    "i,f,s,b\n1,0.5,a,true\n,-2.25,,false\n3,,\"a,b\",\n-4,8.0,\"\",true\n"

static void test_df_frame_builder_and_accessors(void **state)
{
    (void)state;
    tg_value *v = sample(0);
    assert_int_equal(tg_typeof(v), TG_FRAME);
    assert_int_equal(tg_frame_nrows(v), 4);
    assert_int_equal(tg_frame_ncols(v), 4);
    assert_string_equal(tg_frame_colname(v, 2), "s");
    assert_int_equal(tg_frame_colindex(v, "b"), 3);
    assert_int_equal(tg_frame_colindex(v, "zz"), -1);
    assert_int_equal(tg_frame_coltype(v, 1), TG_DT_FLOAT64);
    assert_int_equal(tg_frame_int64(v, 0)[3], -4);
    assert_null(tg_frame_int64(v, 1));
    assert_true(tg_frame_is_null(v, 0, 1));
    assert_int_equal(tg_frame_null_count(v, 0), 1);
    assert_int_equal(tg_frame_validity(v, 0)[0], 0x0d); /* rows 0, 2, 3 */
    assert_null(tg_frame_validity(tg_null(), 0));
    size_t len;
    assert_memory_equal(tg_frame_str(v, 2, 2, &len), "a,b", 3);
    assert_int_equal(len, 3);
    assert_true(tg_frame_is_null(v, 9, 0)); /* out of range */
    char *csv = td_csv(v);
    assert_string_equal(csv, SAMPLE_CSV);
    free(csv);
    tg_decref(v);

    /* Mismatched lengths and types are refused. */
    tg_frame_builder *b = tg_frame_builder_new(4, NAMES, TYPES);
    assert_int_equal(tg_frame_builder_float(b, 0, 1.0), TG_EINVAL);
    assert_int_equal(tg_frame_builder_int(b, 0, 1), 0);
    assert_null(tg_frame_builder_finish(b));
    assert_non_null(strstr(tg_last_error(), "rows"));
    const char *dup[] = {"a", "a"};
    assert_null(tg_frame_builder_new(2, dup, TYPES));
    tg_frame_builder_free(NULL);
}

/* The sample's rows as C arrays: values, Arrow bitmaps, and strings as
 * offsets into one buffer that starts 2 bytes in (a slice, as Arrow
 * allows).  Null slots hold junk the frame must not keep. */
static const int64_t ARR_I[] = {1, 77, 3, -4};
static const double ARR_F[] = {0.5, -2.25, 99, 8};
static const uint8_t ARR_B[] = {1, 0, 5, 1}; /* row 2 is null: 5 ignored */
static const char ARR_BYTES[] = "..ajunka,b";
static const int64_t ARR_OFF[] = {2, 3, 7, 10, 10}; /* "a" null "a,b" "" */
static const uint8_t ARR_VALID_I[] = {0x0d}, ARR_VALID_F[] = {0x0b};
static const uint8_t ARR_VALID_S[] = {0x0d}, ARR_VALID_B[] = {0x0b};

static tg_value *sample_from_arrays_or_null(void)
{
    const tg_str_array s = {ARR_OFF, ARR_BYTES};
    const void *cols[] = {ARR_I, ARR_F, &s, ARR_B};
    const uint8_t *valid[] = {ARR_VALID_I, ARR_VALID_F, ARR_VALID_S,
                              ARR_VALID_B};
    return tg_frame_from_arrays(4, NAMES, TYPES, 4, cols, valid);
}

static tg_value *sample_from_arrays(void)
{
    tg_value *v = sample_from_arrays_or_null();
    if (!v)
        fail_msg("frame_from_arrays: %s", tg_last_error());
    return v;
}

/* Each type, nulls in each, copied: the frame equals the builder's
 * sample, null slots hold 0 or "", and the caller's arrays can go. */
static void test_df_frame_from_arrays_copies_each_type(void **state)
{
    (void)state;
    int64_t ints[4];
    memcpy(ints, ARR_I, sizeof ints);
    const tg_str_array s = {ARR_OFF, ARR_BYTES};
    const void *cols[] = {ints, ARR_F, &s, ARR_B};
    const uint8_t *valid[] = {ARR_VALID_I, ARR_VALID_F, ARR_VALID_S,
                              ARR_VALID_B};
    tg_value *v = tg_frame_from_arrays(4, NAMES, TYPES, 4, cols, valid);
    assert_non_null(v);
    ints[0] = 1000; /* the frame holds a copy */
    char *csv = td_csv(v);
    assert_string_equal(csv, SAMPLE_CSV);
    free(csv);
    assert_int_equal(tg_frame_int64(v, 0)[0], 1);
    assert_int_equal(tg_frame_int64(v, 0)[1], 0); /* null slot: 0 */
    assert_true(tg_frame_float64(v, 1)[2] == 0.0);
    assert_int_equal(tg_frame_bool(v, 3)[2], 0);
    assert_int_equal(tg_frame_validity(v, 2)[0] & 0x0f, 0x0d);
    assert_int_equal(tg_frame_null_count(v, 3), 1);
    tg_value *b = sample(0); /* same frame from the builder */
    for (size_t c = 0; c < 4; c++)
        for (size_t r = 0; r < 4; r++)
            assert_int_equal(tg_frame_is_null(v, c, r),
                             tg_frame_is_null(b, c, r));
    tg_decref(b);
    tg_decref(v);

    /* No bitmaps: no nulls, and no bitmap in the frame either; a bitmap
     * with every bit set is dropped too. */
    const uint8_t all[] = {0xff};
    const uint8_t *valid2[] = {NULL, all, NULL, NULL};
    const uint8_t bools[] = {1, 0, 0, 1};
    cols[3] = bools;
    v = tg_frame_from_arrays(4, NAMES, TYPES, 4, cols, valid2);
    assert_non_null(v);
    for (size_t c = 0; c < 4; c++) {
        assert_null(tg_frame_validity(v, c));
        assert_int_equal(tg_frame_null_count(v, c), 0);
    }
    size_t len;
    assert_memory_equal(tg_frame_str(v, 2, 1, &len), "junk", 4);
    tg_decref(v);
    v = tg_frame_from_arrays(4, NAMES, TYPES, 4, cols, NULL);
    assert_int_equal(tg_frame_nrows(v), 4);
    assert_null(tg_frame_validity(v, 0));
    tg_decref(v);

    /* Zero rows: the columns may be NULL. */
    const void *none[] = {NULL, NULL, NULL, NULL};
    v = tg_frame_from_arrays(4, NAMES, TYPES, 0, none, NULL);
    td_assert_frame(v, "i,f,s,b\n");
    td_assert_frame(tg_frame_from_arrays(0, NULL, NULL, 0, NULL, NULL), "");
}

/* A frame from arrays is a frame like any other: every scheduler,
 * including those that move it through the codec, gives one answer. */
static void test_df_frame_from_arrays_runs_everywhere(void **state)
{
    (void)state;
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_scheduler *s = td_schedulers[k]();
        tg_graph *g = tg_graph_new();
        tg_value *parts[2] = {sample_from_arrays(), sample_from_arrays()};
        tg_dataframe *df = tg_df_from_delayed(g, 2, parts, 4, NAMES, TYPES);
        tg_agg aggs[] = {{"f", TG_AGG_SUM, NULL}, {"i", TG_AGG_COUNT, NULL}};
        td_assert_frame(
            tg_df_compute(
                tg_df_groupby(df, 1, (const char *[]){"s"}, 2, aggs, NULL), s),
            "s,f_sum,i_count\n\"\",16.0,2\na,1.0,2\n\"a,b\",0.0,2\n");
        tg_graph_free(g);
        tg_scheduler_free(s);
    }
}

/* Bad input fails with a message saying what is wrong; nothing
 * crashes. */
static void test_df_frame_from_arrays_refuses_bad_input(void **state)
{
    (void)state;
    const tg_str_array s = {ARR_OFF, ARR_BYTES};
    const void *cols[] = {ARR_I, ARR_F, &s, ARR_B};
#define BAD(call, msg)                                                         \
    do {                                                                       \
        tg_value *v_ = (call);                                                 \
        if (v_)                                                                \
            fail_msg("accepted; want \"%s\"", msg);                            \
        if (!strstr(tg_last_error(), msg))                                     \
            fail_msg("got \"%s\", want \"%s\"", tg_last_error(), msg);         \
    } while (0)
    BAD(tg_frame_from_arrays(4, NULL, TYPES, 4, cols, NULL),
        "NULL names, types or columns for 4");
    BAD(tg_frame_from_arrays(4, NAMES, NULL, 4, cols, NULL),
        "NULL names, types or columns for 4");
    BAD(tg_frame_from_arrays(4, NAMES, TYPES, 4, NULL, NULL),
        "NULL names, types or columns for 4");
    const char *noname[] = {"i", NULL, "s", "b"};
    BAD(tg_frame_from_arrays(4, noname, TYPES, 4, cols, NULL),
        "column 1 has no name");
    const char *dup[] = {"i", "f", "i", "b"};
    BAD(tg_frame_from_arrays(4, dup, TYPES, 4, cols, NULL),
        "duplicate column 'i'");
    const tg_dtype badtype[] = {TG_DT_INT64, (tg_dtype)9, TG_DT_STRING,
                                TG_DT_BOOL};
    BAD(tg_frame_from_arrays(4, NAMES, badtype, 4, cols, NULL),
        "column 'f' has type 9, not a tg_dtype");
    const void *nullcol[] = {ARR_I, NULL, &s, ARR_B};
    BAD(tg_frame_from_arrays(4, NAMES, TYPES, 4, nullcol, NULL),
        "column 1 ('f') is NULL but there are 4 rows");
    /* ARR_B's 5 is fine under its null bit, not without it. */
    BAD(tg_frame_from_arrays(4, NAMES, TYPES, 4, cols, NULL),
        "bool column 'b' row 2 holds 5, not 0 or 1");
    const uint8_t bools[] = {1, 0, 0, 1};
    const int64_t down[] = {0, 3, 2, 4, 5};
    const tg_str_array sd = {down, ARR_BYTES};
    const void *c2[] = {ARR_I, ARR_F, &sd, bools};
    BAD(tg_frame_from_arrays(4, NAMES, TYPES, 4, c2, NULL),
        "string column 's' offsets decrease at row 1");
    const int64_t neg[] = {-1, 0, 0, 0, 0};
    const tg_str_array sn = {neg, ARR_BYTES};
    const void *c3[] = {ARR_I, ARR_F, &sn, bools};
    BAD(tg_frame_from_arrays(4, NAMES, TYPES, 4, c3, NULL),
        "string column 's' starts at a negative offset");
    const tg_str_array so = {NULL, ARR_BYTES};
    const void *c4[] = {ARR_I, ARR_F, &so, bools};
    BAD(tg_frame_from_arrays(4, NAMES, TYPES, 4, c4, NULL),
        "string column 's' has no offsets");
    const tg_str_array sb = {ARR_OFF, NULL};
    const void *c5[] = {ARR_I, ARR_F, &sb, bools};
    BAD(tg_frame_from_arrays(4, NAMES, TYPES, 4, c5, NULL),
        "string column 's' has offsets but no bytes");
#undef BAD
    /* Empty strings need no bytes. */
    const int64_t zero[] = {0, 0, 0, 0, 0};
    const tg_str_array se = {zero, NULL};
    const void *c6[] = {ARR_I, ARR_F, &se, bools};
    td_assert_frame(tg_frame_from_arrays(4, NAMES, TYPES, 4, c6, NULL),
                    "i,f,s,b\n1,0.5,\"\",true\n77,-2.25,\"\",false\n"
                    "3,99.0,\"\",false\n-4,8.0,\"\",true\n");
}

/* Out of memory at each allocation in turn: NULL and a message, never
 * a partial frame or a leak. */
static void test_df_frame_from_arrays_out_of_memory_is_clean(void **state)
{
    (void)state;
    bool done = false;
    for (long n = 0; !done && n < 200; n++) {
        tg__oom_inject(n, false);
        tg_value *v = sample_from_arrays_or_null();
        tg__oom_inject(-1, false);
        if (!v) {
            assert_non_null(strstr(tg_last_error(), "out of memory"));
            continue;
        }
        td_assert_frame(v, SAMPLE_CSV);
        done = true;
    }
    assert_true(done);
}

static void test_df_write_csv_floats_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"x"};
    tg_dtype types[] = {TG_DT_FLOAT64};
    double vals[] = {0.1,    1.0 / 3,     1e300,    -0.0,
                     5e-324, 123456789.0, INFINITY, 2.5};
    tg_frame_builder *b = tg_frame_builder_new(1, names, types);
    for (size_t i = 0; i < 8; i++)
        tg_frame_builder_float(b, 0, vals[i]);
    tg_value *v = tg_frame_builder_finish(b);
    char *csv = td_csv(v);
    assert_string_equal(csv, "x\n0.1\n0.3333333333333333\n1e+300\n-0.0\n"
                             "4.94065645841247e-324\n123456789.0\ninf\n"
                             "2.5\n");
    tg_value *back = tg_frame_from_csv(csv, strlen(csv), NULL);
    for (size_t i = 0; i < 8; i++)
        assert_true(tg_frame_float64(back, 0)[i] == vals[i]);
    free(csv);
    tg_decref(back);
    tg_decref(v);
}

/* Evaluates e over the sample and returns the column as CSV. */
static void check_expr(tg_expr *e, const char *want)
{
    tg_value *f = sample(0);
    td_assert_frame(tg_expr_eval(e, f), want);
    tg_decref(f);
}

static void test_df_expressions_and_null_rules(void **state)
{
    (void)state;
    check_expr(tg_add(tg_col("i"), tg_lit_int(1)), "value\n2\n\"\"\n4\n-3\n");
    check_expr(tg_mul(tg_col("i"), tg_col("f")),
               "value\n0.5\n\"\"\n\"\"\n-32.0\n");
    check_expr(tg_div(tg_col("i"), tg_lit_int(2)),
               "value\n0.5\n\"\"\n1.5\n-2.0\n");
    check_expr(tg_floordiv(tg_col("i"), tg_lit_int(2)),
               "value\n0\n\"\"\n1\n-2\n");
    check_expr(tg_floordiv(tg_lit_int(7), tg_sub(tg_col("i"), tg_col("i"))),
               "value\n\"\"\n\"\"\n\"\"\n\"\"\n"); /* by zero: null */
    check_expr(tg_floordiv(tg_col("f"), tg_lit_float(2)),
               "value\n0.0\n-2.0\n\"\"\n4.0\n");
    /* Comparisons with null are false, never null. */
    check_expr(tg_gt(tg_col("i"), tg_lit_int(0)),
               "value\ntrue\nfalse\ntrue\nfalse\n");
    check_expr(tg_not(tg_gt(tg_col("i"), tg_lit_int(0))),
               "value\nfalse\ntrue\nfalse\ntrue\n");
    check_expr(tg_le(tg_col("f"), tg_col("i")),
               "value\ntrue\nfalse\nfalse\nfalse\n");
    check_expr(tg_eq(tg_col("s"), tg_lit_str("a")),
               "value\ntrue\nfalse\nfalse\nfalse\n");
    check_expr(tg_lt(tg_col("s"), tg_lit_str("a,c")),
               "value\ntrue\nfalse\ntrue\ntrue\n");
    check_expr(tg_is_null(tg_col("s")), "value\nfalse\ntrue\nfalse\nfalse\n");
    /* Three-valued logic on a bool column with a null. */
    check_expr(tg_and(tg_col("b"), tg_lit_bool(true)),
               "value\ntrue\nfalse\n\"\"\ntrue\n");
    check_expr(tg_and(tg_col("b"), tg_lit_bool(false)),
               "value\nfalse\nfalse\nfalse\nfalse\n");
    check_expr(tg_or(tg_col("b"), tg_lit_bool(true)),
               "value\ntrue\ntrue\ntrue\ntrue\n");
    check_expr(tg_not(tg_col("b")), "value\nfalse\ntrue\n\"\"\nfalse\n");
    check_expr(tg_lit_str("k"), "value\nk\nk\nk\nk\n");

    /* Type errors are reported, and NULL operands propagate. */
    tg_value *f = sample(0);
    tg_value *r = tg_expr_eval(tg_add(tg_col("s"), tg_lit_int(1)), f);
    assert_true(tg_is_error(r));
    assert_non_null(strstr(tg_error_message(r), "arithmetic on string"));
    tg_decref(r);
    r = tg_expr_eval(tg_gt(tg_col("nope"), tg_lit_int(1)), f);
    assert_non_null(strstr(tg_error_message(r), "no column 'nope'"));
    tg_decref(r);
    assert_null(tg_add(tg_col("i"), NULL));
    tg_decref(f);
}

/* Float floor division is Python's and NumPy's: the floor of the exact
 * quotient (1.0 // 0.1 is 9.0, though 1.0 / 0.1 rounds to 10.0), the
 * sign of a zero from x / y, and IEEE results by zero. */
static void test_df_float_floor_division_follows_python(void **state)
{
    (void)state;
    const double x[] = {1.0, -1.0, 7.5, 7.5, 1.0, -0.0,
                        0.0, 5.0,  1.0, 2.0, 0.3};
    const double y[] = {0.1,  0.1,       -2.0,     0.5, 0.0, 3.0,
                        -3.0, -INFINITY, INFINITY, NAN, 0.1};
    const char *names[] = {"x", "y"};
    tg_dtype types[] = {TG_DT_FLOAT64, TG_DT_FLOAT64};
    tg_frame_builder *b = tg_frame_builder_new(2, names, types);
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        assert_int_equal(tg_frame_builder_float(b, 0, x[i]), 0);
        assert_int_equal(tg_frame_builder_float(b, 1, y[i]), 0);
    }
    tg_value *f = tg_frame_builder_finish(b);
    /* Python: 1.0 // 0.1, -1.0 // 0.1, 7.5 // -2, 7.5 // 0.5, 1 / 0
     * (inf, as NumPy), -0.0 // 3, 0.0 // -3, 5 // -inf, 1 // inf,
     * 2 // nan, 0.3 // 0.1 (0.3 / 0.1 rounds to 3.0; 0.3 holds 2.99
     * tenths). */
    td_assert_frame(tg_expr_eval(tg_floordiv(tg_col("x"), tg_col("y")), f),
                    "value\n9.0\n-10.0\n-4.0\n15.0\ninf\n-0.0\n-0.0\n"
                    "-1.0\n0.0\nnan\n2.0\n");
    tg_decref(f);
}

/* is_null is pandas' isna: true for a null and for a float NaN, in a
 * column or a literal; a comparison with NaN is false. */
static void test_df_is_null_is_true_for_nan(void **state)
{
    (void)state;
    const double x[] = {1.5, NAN, 0.0, -NAN};
    const uint8_t valid[] = {0x0b}; /* row 2 null */
    tg_value *f = tg_frame_from_arrays(
        1, (const char *[]){"x"}, (const tg_dtype[]){TG_DT_FLOAT64}, 4,
        (const void *[]){x}, (const uint8_t *[]){valid});
    assert_non_null(f);
    td_assert_frame(tg_expr_eval(tg_is_null(tg_col("x")), f),
                    "value\nfalse\ntrue\ntrue\ntrue\n");
    td_assert_frame(tg_expr_eval(tg_is_null(tg_lit_float(NAN)), f),
                    "value\ntrue\ntrue\ntrue\ntrue\n");
    td_assert_frame(tg_expr_eval(tg_is_null(tg_lit_float(2)), f),
                    "value\nfalse\nfalse\nfalse\nfalse\n");
    td_assert_frame(tg_expr_eval(tg_ge(tg_col("x"), tg_lit_float(0)), f),
                    "value\ntrue\nfalse\nfalse\nfalse\n");
    tg_decref(f);
}

/* The float rules hold on every scheduler, in query tasks: floor
 * division, and is_null true for NaN (a filter keeps those rows). */
static void test_df_float_rules_on_every_scheduler(void **state)
{
    (void)state;
    const double x[] = {1.0, -1.0, NAN, 7.5};
    const double y[] = {0.1, 0.1, 2.0, -2.0};
    const uint8_t valid[] = {0x0d}; /* x's row 1 is null */
    const char *names[] = {"x", "y"};
    const tg_dtype types[] = {TG_DT_FLOAT64, TG_DT_FLOAT64};
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_scheduler *s = td_schedulers[k]();
        tg_graph *g = tg_graph_new();
        tg_value *f =
            tg_frame_from_arrays(2, names, types, 4, (const void *[]){x, y},
                                 (const uint8_t *[]){valid, NULL});
        tg_dataframe *df = tg_df_from_delayed(g, 1, &f, 2, names, types);
        tg_dataframe *q =
            tg_df_assign(df, "q", tg_floordiv(tg_col("x"), tg_col("y")));
        td_assert_frame(tg_df_compute(q, s), "x,y,q\n1.0,0.1,9.0\n,0.1,\n"
                                             "nan,2.0,nan\n7.5,-2.0,-4.0\n");
        tg_dataframe *missing = tg_df_filter(df, tg_is_null(tg_col("x")));
        td_assert_frame(tg_df_compute(missing, s), "x,y\n,0.1\nnan,2.0\n");
        tg_graph_free(g);
        tg_scheduler_free(s);
    }
}

static tg_value *double_f(const tg_value *frame, void *ctx)
{
    int *calls = ctx;
    __atomic_fetch_add(calls, 1, __ATOMIC_RELAXED);
    const char *names[] = {"i2"};
    tg_dtype types[] = {TG_DT_INT64};
    tg_frame_builder *b = tg_frame_builder_new(1, names, types);
    for (size_t r = 0; r < tg_frame_nrows(frame); r++) {
        if (tg_frame_is_null(frame, 0, r))
            tg_frame_builder_null(b, 0);
        else
            tg_frame_builder_int(b, 0, 2 * tg_frame_int64(frame, 0)[r]);
    }
    return tg_frame_builder_finish(b);
}

static tg_value *wrong_schema(const tg_value *frame, void *ctx)
{
    (void)ctx;
    return tg_incref((tg_value *)frame);
}

/* Builds a dataframe of two delayed sample frames. */
static tg_dataframe *two_parts(tg_graph *g)
{
    tg_value *parts[2] = {sample(0), sample(2)};
    tg_dataframe *df = tg_df_from_delayed(g, 2, parts, 4, NAMES, TYPES);
    assert_non_null(df);
    assert_int_equal(tg_df_npartitions(df), 2);
    return df;
}

static void test_df_builders_per_partition(void **state)
{
    (void)state;
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_scheduler *s = td_schedulers[k]();
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = two_parts(g);
        tg_dataframe *pos =
            tg_df_filter(df, tg_and(tg_gt(tg_col("f"), tg_lit_int(0)),
                                    tg_not(tg_is_null(tg_col("i")))));
        tg_dataframe *sel = tg_df_select(
            tg_df_assign(pos, "g", tg_add(tg_col("i"), tg_col("f"))), 2,
            (const char *[]){"g", "s"});
        td_assert_frame(tg_df_compute(sel, s),
                        "g,s\n1.5,a\n4.0,\"\"\n1.5,a\n4.0,\"\"\n12.0,x\n");
        /* assign replaces a column in place. */
        tg_dataframe *rep = tg_df_assign(df, "i", tg_lit_int(7));
        assert_int_equal(tg_df_ncols(rep), 4);
        td_assert_frame(tg_compute(tg_df_head(rep, 5, 0), s),
                        "i,f,s,b\n7,0.5,a,true\n7,-2.25,,false\n"
                        "7,,\"a,b\",\n7,8.0,\"\",true\n7,0.5,a,true\n");
        td_assert_frame(tg_compute(tg_df_head(df, 9, 1), s), SAMPLE_CSV);
        int calls = 0;
        const char *n2[] = {"i2"};
        tg_dtype t2[] = {TG_DT_INT64};
        tg_dataframe *m =
            tg_df_map_partitions(df, "double", double_f, &calls, 1, n2, t2);
        tg_dataframe *bad =
            tg_df_map_partitions(df, NULL, wrong_schema, NULL, 1, n2, t2);
        tg_value *e = tg_df_compute(bad, s);
        assert_true(tg_is_error(e));
        if (td_crosses_wire(s)) {
            /* A function pointer is a local call: no wire takes it. */
            assert_non_null(strstr(tg_error_message(e), "is a local call"));
            tg_decref(e);
            e = tg_df_compute(m, s);
            assert_non_null(strstr(tg_error_message(e), "double-"));
            tg_decref(e);
            tg_graph_free(g);
            tg_scheduler_free(s);
            continue;
        }
        assert_non_null(strstr(tg_error_message(e), "map_partitions: "
                                                    "partition has 4"));
        tg_decref(e);
        td_assert_frame(tg_df_compute(m, s),
                        "i2\n2\n\"\"\n6\n-8\n2\n\"\"\n6\n-8\n20\n22\n");
        assert_int_equal(calls, 2);
        tg_graph_free(g);
        tg_scheduler_free(s);
    }
}

static tg_value *negate_i(const tg_value *frame, void *ctx)
{
    (void)ctx;
    return tg_expr_eval(tg_sub(tg_lit_int(0), tg_col("i")), frame);
}

static tg_value *square_i(const tg_value *frame, void *ctx)
{
    (void)ctx;
    return tg_expr_eval(tg_mul(tg_col("i"), tg_col("i")), frame);
}

/* Two pointer maps under one name are two calls: a local call's key
 * hashes its function and context, never only its name. */
static void test_df_local_maps_under_one_name_stay_apart(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = two_parts(g);
    const char *n1[] = {"value"};
    tg_dtype t1[] = {TG_DT_INT64};
    tg_value *t[2] = {
        tg_df_concat(tg_df_map_partitions(df, NULL, negate_i, NULL, 1, n1, t1)),
        tg_df_concat(
            tg_df_map_partitions(df, NULL, square_i, NULL, 1, n1, t1))};
    assert_string_not_equal(tg_key(t[0]), tg_key(t[1]));
    tg_value *out[2];
    assert_int_equal(tg_compute_many(t, 2, out, NULL), 0);
    td_assert_frame(out[0],
                    "value\n-1\n\"\"\n-3\n4\n-1\n\"\"\n-3\n4\n-10\n-11\n");
    td_assert_frame(out[1],
                    "value\n1\n\"\"\n9\n16\n1\n\"\"\n9\n16\n100\n121\n");
    tg_graph_free(g);
}

static void test_df_rename_keeps_order_and_checks_names(void **state)
{
    (void)state;
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_scheduler *s = td_schedulers[k]();
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = two_parts(g);
        /* A swap, and a rename to a fresh name. */
        tg_dataframe *r = tg_df_rename(df, 3, (const char *[]){"i", "f", "b"},
                                       (const char *[]){"f", "i", "flag"});
        assert_non_null(r);
        assert_string_equal(tg_df_colname(r, 0), "f");
        assert_int_equal(tg_df_coltype(r, 0), TG_DT_INT64);
        assert_string_equal(tg_df_colname(r, 3), "flag");
        tg_dataframe *pos = tg_df_filter(r, tg_gt(tg_col("f"), tg_lit_int(0)));
        td_assert_frame(tg_df_compute(pos, s),
                        "f,i,s,flag\n1,0.5,a,true\n3,,\"a,b\",\n"
                        "1,0.5,a,true\n3,,\"a,b\",\n10,0.0,x,false\n"
                        "11,1.0,x,false\n");
        td_assert_frame(tg_df_compute(tg_df_rename(df, 0, NULL, NULL), s),
                        "i,f,s,b\n1,0.5,a,true\n,-2.25,,false\n"
                        "3,,\"a,b\",\n-4,8.0,\"\",true\n1,0.5,a,true\n"
                        ",-2.25,,false\n3,,\"a,b\",\n-4,8.0,\"\",true\n"
                        "10,0.0,x,false\n11,1.0,x,false\n");
        tg_graph_free(g);
        tg_scheduler_free(s);
    }
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = two_parts(g);
    assert_null(
        tg_df_rename(df, 1, (const char *[]){"zz"}, (const char *[]){"y"}));
    assert_non_null(strstr(tg_last_error(), "rename: no column 'zz'"));
    assert_null(
        tg_df_rename(df, 1, (const char *[]){"i"}, (const char *[]){"s"}));
    assert_non_null(strstr(tg_last_error(), "two columns would be named 's'"));
    assert_null(tg_df_rename(df, 2, (const char *[]){"i", "i"},
                             (const char *[]){"p", "q"}));
    assert_non_null(strstr(tg_last_error(), "duplicate column 'i'"));
    assert_null(
        tg_df_rename(df, 1, (const char *[]){"i"}, (const char *[]){NULL}));
    assert_null(tg_df_rename(NULL, 0, NULL, NULL));
    tg_graph_free(g);
}

/* Doubles column i of a frame into a frame with the one column "i2". */
static tg_value *double_named(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    return double_f(a[0], ctx);
}

static int named_calls; /* test.double_i's context */

static void test_df_map_partitions_named(void **state)
{
    (void)state;
    const char *n2[] = {"i2"};
    tg_dtype t2[] = {TG_DT_INT64};
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_scheduler *s = td_schedulers[k]();
        tg_graph *g = tg_graph_new();
        tg_dataframe *df = two_parts(g);
        tg_dataframe *m =
            tg_df_map_partitions_named(df, "test.double_i", 1, n2, t2);
        assert_non_null(m);
        named_calls = 0;
        td_assert_frame(tg_df_compute(m, s),
                        "i2\n2\n\"\"\n6\n-8\n2\n\"\"\n6\n-8\n20\n22\n");
        if (strcmp(tg_scheduler_name(s), "distributed") != 0) /* counted */
            assert_int_equal(named_calls, 2);                 /* here */
        /* The task is the registered function itself, by name. */
        assert_string_equal(tg_delayed_name(tg_df_partition(m, 0)),
                            "tg.df.check");
        /* A result that does not match the schema fails its task. */
        tg_dataframe *bad =
            tg_df_map_partitions_named(df, "test.double_i", 0, NULL, NULL);
        tg_value *e = tg_df_compute(bad, s);
        assert_true(tg_is_error(e));
        assert_non_null(strstr(tg_error_message(e), "map_partitions: "
                                                    "partition has 1"));
        tg_decref(e);
        tg_graph_free(g);
        tg_scheduler_free(s);
    }
    /* An unregistered name fails at build time. */
    tg_graph *g = tg_graph_new();
    assert_null(
        tg_df_map_partitions_named(two_parts(g), "test.nope", 0, NULL, NULL));
    assert_non_null(strstr(tg_last_error(), "no function registered as "
                                            "'test.nope'"));
    tg_graph_free(g);
}

static void test_df_build_time_errors(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = two_parts(g);
    assert_null(tg_df_filter(df, tg_add(tg_col("i"), tg_lit_int(1))));
    assert_non_null(strstr(tg_last_error(), "is int64, not bool"));
    assert_null(tg_df_filter(df, tg_gt(tg_col("zz"), tg_lit_int(1))));
    assert_non_null(strstr(tg_last_error(), "no column 'zz'"));
    assert_null(tg_df_filter(df, tg_eq(tg_col("s"), tg_lit_int(1))));
    assert_non_null(strstr(tg_last_error(), "cannot compare"));
    assert_null(tg_df_select(df, 1, (const char *[]){"q"}));
    assert_null(tg_df_filter(NULL, tg_lit_bool(true)));
    assert_null(tg_df_filter(tg_df_select(NULL, 0, NULL), tg_lit_bool(true)));
    /* A partition that does not match the schema fails its task. */
    const char *other[] = {"i", "f", "s", "zz"};
    tg_value *p = sample(0);
    tg_dataframe *wrong = tg_df_from_delayed(g, 1, &p, 4, other, TYPES);
    tg_value *e = tg_df_compute(wrong, NULL);
    assert_true(tg_is_error(e));
    assert_non_null(strstr(tg_error_message(e), "'b' bool, the schema "
                                                "says 'zz' bool"));
    assert_non_null(tg_error_key(e));
    tg_decref(e);
    tg_graph_free(g);
}

/* Every allocating path fails cleanly: inject a failure at each
 * allocation in turn until the whole pipeline succeeds. */
static void test_df_out_of_memory_is_clean(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *path = td_write(dir, "o.csv", "k,x\na,1\nb,2\na,\n,4\n");
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    bool done = false;
    for (long n = 0; !done && n < 5000; n++) {
        tg__oom_inject(n, false);
        tg_graph *g = tg_graph_new();
        tg_csv_opts o = {.blocksize = 6};
        tg_dataframe *df = g ? tg_read_csv(g, p, &o) : NULL;
        tg_agg a = {"x", TG_AGG_MEAN, NULL};
        tg_dataframe *gb =
            df ? tg_df_groupby(
                tg_df_filter(df, tg_gt(tg_col("x"), tg_lit_int(0))), 1,
                (const char *[]){"k"}, 1, &a, NULL)
               : NULL;
        tg_value *v = gb ? tg_df_compute(gb, NULL) : NULL;
        tg__oom_inject(-1, false);
        if (v && !tg_is_error(v)) {
            char *csv = td_csv(v);
            if (strcmp(csv, "k,x_mean\na,1.0\nb,2.0\n"))
                fail_msg("n=%ld: %s", n, csv);
            assert_string_equal(csv, "k,x_mean\na,1.0\nb,2.0\n");
            free(csv);
            done = true;
        }
        tg_decref(v);
        tg_graph_free(g);
    }
    assert_true(done);
    td_rmdir(dir);
}

/* One run of the in-memory pipeline; true when it succeeded. */
static bool oom_pipeline(const char *out_path)
{
    tg_graph *g = tg_graph_new();
    tg_frame_builder *b = g ? tg_frame_builder_new(4, NAMES, TYPES) : NULL;
    for (int k = 0; b && k < 3; k++) {
        if (tg_frame_builder_int(b, 0, k) || tg_frame_builder_float(b, 1, k)
            || tg_frame_builder_str(b, 2, k ? "p" : "q", 1)
            || tg_frame_builder_null(b, 3)) {
            tg_frame_builder_free(b);
            b = NULL;
        }
    }
    tg_value *f = b ? tg_frame_builder_finish(b) : NULL;
    tg_dataframe *df = f ? tg_df_from_delayed(g, 1, &f, 4, NAMES, TYPES) : NULL;
    tg_dataframe *a = tg_df_select(
        tg_df_assign(df, "h", tg_mul(tg_col("i"), tg_lit_float(0.5))), 2,
        (const char *[]){"h", "s"});
    tg_agg aggs[] = {{"h", TG_AGG_STD, NULL},
                     {"s", TG_AGG_MIN, NULL},
                     {"s", TG_AGG_NUNIQUE, NULL},
                     {"h", TG_AGG_SUM, NULL}};
    tg_groupby_opts o = TG_GROUPBY_OPTS_INIT;
    o.split_out = 2;
    tg_value *t[4] = {
        tg_df_agg(a, 4, aggs, NULL),
        tg_df_concat(tg_df_value_counts(a, "s", false)),
        tg_df_concat(tg_df_groupby(a, 1, (const char *[]){"s"}, 1, aggs, &o)),
        a ? tg_to_csv(a, out_path) : NULL};
    tg_value *out[4] = {NULL, NULL, NULL, NULL};
    bool ok =
        t[0] && t[1] && t[2] && t[3] && tg_compute_many(t, 4, out, NULL) == 0;
    if (ok) {
        char *c0 = td_csv(out[0]), *c1 = td_csv(out[1]), *c2 = td_csv(out[2]);
        assert_string_equal(c0, "h_std,s_min,s_nunique,h_sum\n"
                                "0.5,p,2,1.5\n");
        assert_string_equal(c1, "s,count\np,2\nq,1\n");
        assert_string_equal(c2, "s,h_std\np,0.3535533905932738\nq,\n");
        assert_int_equal(tg_as_int(out[3]), 3);
        free(c0), free(c1), free(c2);
    }
    for (int k = 0; k < 4; k++)
        tg_decref(out[k]);
    tg_graph_free(g);
    return ok;
}

static void test_df_out_of_memory_in_memory_pipeline(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    char out[512];
    snprintf(out, sizeof out, "%s/o.csv", dir);
    bool done = false;
    for (long n = 0; !done && n < 5000; n++) {
        tg__oom_inject(n, false);
        bool ok = oom_pipeline(out);
        tg__oom_inject(-1, false);
        done = ok;
    }
    assert_true(done);
    td_rmdir(dir);
}

int main(void)
{
    /* registered before the cluster starts, so its workers have it */
    if (tg_register("test.double_i", double_named, &named_calls) != 0)
        return 1;
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_df_frame_builder_and_accessors),
        cmocka_unit_test(test_df_frame_from_arrays_copies_each_type),
        cmocka_unit_test(test_df_frame_from_arrays_runs_everywhere),
        cmocka_unit_test(test_df_frame_from_arrays_refuses_bad_input),
        cmocka_unit_test(test_df_frame_from_arrays_out_of_memory_is_clean),
        cmocka_unit_test(test_df_write_csv_floats_round_trip),
        cmocka_unit_test(test_df_expressions_and_null_rules),
        cmocka_unit_test(test_df_float_floor_division_follows_python),
        cmocka_unit_test(test_df_is_null_is_true_for_nan),
        cmocka_unit_test(test_df_float_rules_on_every_scheduler),
        cmocka_unit_test(test_df_builders_per_partition),
        cmocka_unit_test(test_df_local_maps_under_one_name_stay_apart),
        cmocka_unit_test(test_df_rename_keeps_order_and_checks_names),
        cmocka_unit_test(test_df_map_partitions_named),
        cmocka_unit_test(test_df_build_time_errors),
        cmocka_unit_test(test_df_out_of_memory_is_clean),
        cmocka_unit_test(test_df_out_of_memory_in_memory_pipeline),
    };
    return cmocka_run_group_tests_name("df", tests, NULL, NULL);
}
