/* tests/test_expr.c - column expressions as task parameters
 * (dataframe/expr_internal.h): the value form of every node kind, round
 * trips, and malformed values that must fail to decode, never crash. */
#include "dataframe/expr_internal.h"
#include "df_util.h"

/* The value v as text: lists in brackets, strings quoted. */
static void show(const tg_value *v, char *out, size_t cap)
{
    size_t n = strlen(out);
    switch (tg_typeof(v)) {
    case TG_LIST:
        snprintf(out + n, cap - n, "[");
        for (size_t i = 0; i < tg_list_len(v); i++) {
            if (i)
                snprintf(out + strlen(out), cap - strlen(out), " ");
            show(tg_list_get(v, i), out, cap);
        }
        snprintf(out + strlen(out), cap - strlen(out), "]");
        break;
    case TG_STR: snprintf(out + n, cap - n, "'%s'", tg_as_str(v)); break;
    case TG_INT:
        snprintf(out + n, cap - n, "%lld", (long long)tg_as_int(v));
        break;
    case TG_FLOAT: snprintf(out + n, cap - n, "%g", tg_as_float(v)); break;
    case TG_BOOL: snprintf(out + n, cap - n, tg_as_bool(v) ? "T" : "F"); break;
    default: snprintf(out + n, cap - n, "?"); break;
    }
}

/* Encodes e (freed here) and checks its text. */
static void check_encoding(tg_expr *e, const char *want)
{
    tg_value *v = tg__expr_encode(e);
    assert_non_null(v);
    char got[512] = "";
    show(v, got, sizeof got);
    assert_string_equal(got, want);
    tg_decref(v);
    tg_expr_free(e);
}

static void test_expr_value_form_of_every_kind(void **state)
{
    (void)state;
    check_encoding(tg_col("x"), "['col' 'x']");
    check_encoding(tg_lit_int(-3), "['lit' -3]");
    check_encoding(tg_lit_float(0.5), "['lit' 0.5]");
    check_encoding(tg_lit_bool(true), "['lit' T]");
    check_encoding(tg_lit_str("a,b"), "['lit' 'a,b']");
    check_encoding(tg_and(tg_gt(tg_col("x"), tg_lit_int(0)),
                          tg_not(tg_is_null(tg_col("s")))),
                   "['and' ['gt' ['col' 'x'] ['lit' 0]] "
                   "['not' ['is_null' ['col' 's']]]]");
    check_encoding(
        tg_or(tg_eq(tg_floordiv(tg_col("a"), tg_lit_int(2)),
                    tg_div(tg_col("b"), tg_lit_float(4))),
              tg_ne(tg_add(tg_col("a"), tg_sub(tg_col("b"), tg_lit_int(1))),
                    tg_mul(tg_col("a"), tg_col("a")))),
        "['or' ['eq' ['floordiv' ['col' 'a'] ['lit' 2]] "
        "['div' ['col' 'b'] ['lit' 4]]] "
        "['ne' ['add' ['col' 'a'] ['sub' ['col' 'b'] ['lit' 1]]] "
        "['mul' ['col' 'a'] ['col' 'a']]]]");
    check_encoding(
        tg_le(tg_lt(tg_col("p"), tg_col("q")), tg_ge(tg_col("p"), tg_col("q"))),
        "['le' ['lt' ['col' 'p'] ['col' 'q']] "
        "['ge' ['col' 'p'] ['col' 'q']]]");
}

static tg_value *small_frame(void)
{
    const char *names[] = {"x", "s"};
    tg_dtype types[] = {TG_DT_INT64, TG_DT_STRING};
    tg_frame_builder *b = tg_frame_builder_new(2, names, types);
    tg_frame_builder_int(b, 0, 4);
    tg_frame_builder_null(b, 0);
    tg_frame_builder_int(b, 0, -7);
    tg_frame_builder_str(b, 1, "a", 1);
    tg_frame_builder_str(b, 1, "bb", 2);
    tg_frame_builder_null(b, 1);
    return tg_frame_builder_finish(b);
}

/* Decoding the encoding gives an expression that evaluates the same. */
static void check_round_trip(tg_expr *e, const char *want)
{
    tg_value *f = small_frame();
    tg_value *v = tg__expr_encode(e);
    tg_expr_free(e);
    const char *why = NULL;
    tg_expr *back = tg__expr_decode(v, &why);
    if (!back)
        fail_msg("decode: %s", why);
    tg_value *again = tg__expr_encode(back);
    assert_true(tg_equal(v, again));
    td_assert_frame(tg_expr_eval(back, f), want);
    tg_decref(again);
    tg_decref(v);
    tg_decref(f);
}

static void test_expr_round_trip_evaluates_the_same(void **state)
{
    (void)state;
    check_round_trip(tg_floordiv(tg_col("x"), tg_lit_int(2)),
                     "value\n2\n\"\"\n-4\n");
    check_round_trip(tg_div(tg_col("x"), tg_lit_float(8)),
                     "value\n0.5\n\"\"\n-0.875\n");
    check_round_trip(
        tg_or(tg_lt(tg_col("s"), tg_lit_str("b")), tg_is_null(tg_col("x"))),
        "value\ntrue\ntrue\nfalse\n");
    check_round_trip(tg_and(tg_lit_bool(true), tg_not(tg_is_null(tg_col("s")))),
                     "value\ntrue\ntrue\nfalse\n");
}

/* v (stolen) must fail to decode with a message containing want. */
static void check_malformed(tg_value *v, const char *want)
{
    const char *why = NULL;
    tg_expr *e = tg__expr_decode(v, &why);
    assert_null(e);
    assert_non_null(why);
    if (!strstr(why, want))
        fail_msg("'%s' lacks '%s'", why, want);
    tg_decref(v);
}

static void test_expr_malformed_values_fail_to_decode(void **state)
{
    (void)state;
    check_malformed(tg_int(3), "not a list");
    check_malformed(tg_list(0), "not a list");
    check_malformed(tg_list(1, tg_str("col")), "not a list");
    check_malformed(tg_list(2, tg_int(1), tg_str("x")), "not a list");
    check_malformed(tg_list(2, tg_str("col"), tg_int(1)), "named by a string");
    check_malformed(tg_list(2, tg_str("lit"), tg_null()), "a literal is");
    check_malformed(tg_list(3, tg_str("col"), tg_str("x"), tg_str("y")),
                    "one operand");
    check_malformed(tg_list(3, tg_str("pow"),
                            tg_list(2, tg_str("col"), tg_str("x")),
                            tg_list(2, tg_str("lit"), tg_int(2))),
                    "unknown operator");
    check_malformed(
        tg_list(2, tg_str("gt"), tg_list(2, tg_str("col"), tg_str("x"))),
        "unknown operator");
    check_malformed(tg_list(3, tg_str("not"),
                            tg_list(2, tg_str("col"), tg_str("x")),
                            tg_list(2, tg_str("col"), tg_str("y"))),
                    "unknown operator");
    check_malformed(tg_list(3, tg_str("and"),
                            tg_list(2, tg_str("col"), tg_str("x")),
                            tg_str("junk")),
                    "not a list");
    /* Nesting past the limit fails instead of exhausting the stack. */
    tg_value *deep = tg_list(2, tg_str("col"), tg_str("x"));
    for (int i = 0; i < TG__EXPR_MAX_DEPTH + 5; i++)
        deep = tg_list(2, tg_str("not"), deep);
    check_malformed(deep, "too deep");
    /* And the encoder refuses what the decoder would refuse. */
    tg_expr *e = tg_col("b");
    for (int i = 0; i < TG__EXPR_MAX_DEPTH + 5; i++)
        e = tg_not(e);
    assert_null(tg__expr_encode(e));
    assert_non_null(strstr(tg_last_error(), "nested deeper"));
    tg_expr_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expr_value_form_of_every_kind),
        cmocka_unit_test(test_expr_round_trip_evaluates_the_same),
        cmocka_unit_test(test_expr_malformed_values_fail_to_decode),
    };
    return cmocka_run_group_tests_name("expr", tests, NULL, NULL);
}
