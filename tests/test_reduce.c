/* tests/test_reduce.c - reductions of many delayed values as trees, and
 * the built-in registered functions tg.sum, tg.min, tg.max, tg.mean. */
#include <math.h>

#include "test_util.h"

static tg_value *compute_on(tg_value *d, int which)
{
    tg_scheduler *s = which == 0   ? tg_scheduler_sync()
                      : which == 1 ? tg_scheduler_threads(2)
                                   : tg_scheduler_loopback();
    tg_value *r = tg_compute(d, s);
    tg_scheduler_free(s);
    return r;
}

/* n delayed values inc(i - 1) = i, for i = 1..n, in vals. */
static void ones_to_n(tg_graph *g, size_t n, tg_value **vals)
{
    for (size_t i = 0; i < n; i++)
        vals[i] = tg_delayed_registered(g, "tg.sum", 2, tg_int((int64_t)i),
                                        tg_int(1));
}

static void test_reduce_sums_a_thousand_values_on_every_scheduler(void **state)
{
    (void)state;
    for (int which = 0; which < 3; which++) {
        tg_graph *g = tg_graph_new();
        tg_value *vals[1000];
        ones_to_n(g, 1000, vals);
        tg_value *total = tg_delayed_reduce(g, "tg.sum", 1000, vals, 0);
        tg_value *r = compute_on(total, which);
        assert_int_equal(tg_typeof(r), TG_INT);
        assert_int_equal(tg_as_int(r), 500500);
        tg_decref(r);
        tg_graph_free(g);
    }
}

/* 100 values 8 at a time: 13 calls, then 2, then 1. */
static void test_reduce_builds_a_tree_of_split_every(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *vals[100];
    ones_to_n(g, 100, vals);
    size_t before = tg_graph_size(g);
    tg_value *total = tg_delayed_reduce(g, "tg.sum", 100, vals, 8);
    assert_int_equal(tg_graph_size(g) - before, 13 + 2 + 1);
    assert_string_equal(tg_delayed_name(total), "tg.sum");
    ones_to_n(g, 100, vals);
    before = tg_graph_size(g);
    tg_delayed_reduce(g, "tg.sum", 100, vals, 2); /* 50+25+13+7+4+2+1 */
    assert_int_equal(tg_graph_size(g) - before, 102);
    tg_graph_free(g);
}

/* The mean of uneven groups is the mean of the values, not of means. */
static void test_reduce_mean_is_exact_for_uneven_groups(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *vals[10];
    for (int i = 0; i < 10; i++)
        vals[i] = tg_int(i + 1);
    tg_value *m = tg_delayed_reduce(g, "tg.mean", 10, vals, 3);
    tg_value *r = compute_on(m, 2);
    assert_int_equal(tg_typeof(r), TG_FLOAT);
    assert_true(tg_as_float(r) == 5.5);
    tg_decref(r);
    tg_graph_free(g);
}

static void test_reduce_min_max_keep_types_and_nan_wins(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *v1[4] = {tg_int(3), tg_float(2.5), tg_int(-7), tg_bool(true)};
    tg_value *r = compute_on(tg_delayed_reduce(g, "tg.min", 4, v1, 2), 0);
    assert_int_equal(tg_typeof(r), TG_INT);
    assert_int_equal(tg_as_int(r), -7);
    tg_decref(r);
    tg_value *v2[3] = {tg_int(3), tg_float(2.5), tg_int(1)};
    r = compute_on(tg_delayed_reduce(g, "tg.max", 3, v2, 0), 0);
    assert_int_equal(tg_as_int(r), 3);
    tg_decref(r);
    tg_value *v3[3] = {tg_float(1), tg_float(NAN), tg_float(9)};
    r = compute_on(tg_delayed_reduce(g, "tg.max", 3, v3, 2), 1);
    assert_true(isnan(tg_as_float(r)));
    tg_decref(r);
    tg_graph_free(g);
}

static void test_reduce_sum_types_and_errors(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *r = compute_on(
        tg_delayed_registered(g, "tg.sum", 2,
                              tg_list(3, tg_int(1), tg_int(2), tg_bool(true)),
                              tg_int(4)),
        0);
    assert_int_equal(tg_as_int(r), 8); /* a list's items count */
    tg_decref(r);
    r = compute_on(
        tg_delayed_registered(g, "tg.sum", 2, tg_int(1), tg_float(0.5)), 0);
    assert_int_equal(tg_typeof(r), TG_FLOAT);
    assert_true(tg_as_float(r) == 1.5);
    tg_decref(r);
    r = compute_on(
        tg_delayed_registered(g, "tg.sum", 2, tg_int(INT64_MAX), tg_int(1)), 0);
    assert_string_equal(tg_error_message(r), "tg.sum: the sum overflows int64");
    tg_decref(r);
    r = compute_on(
        tg_delayed_registered(g, "tg.mean", 2, tg_int(1), tg_str("two")), 0);
    assert_string_equal(tg_error_message(r),
                        "tg.mean: argument 1 is str, not a number");
    tg_decref(r);
    tg_value *none[1];
    r = compute_on(tg_delayed_reduce(g, "tg.sum", 0, none, 0), 0);
    assert_int_equal(tg_as_int(r), 0);
    tg_decref(r);
    r = compute_on(tg_delayed_reduce(g, "tg.min", 0, none, 0), 0);
    assert_string_equal(tg_error_message(r), "tg.min: no numbers");
    tg_decref(r);
    tg_graph_free(g);
}

static tg_value *concat(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    char buf[256] = "";
    for (size_t i = 0; i < n; i++)
        strncat(buf, tg_as_str(a[i]), sizeof buf - strlen(buf) - 1);
    return tg_str(buf);
}

/* A local function reduces too, and stays a local call. */
static void test_reduce_fn_with_a_local_function(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    const char *letters[] = {"a", "b", "c", "d", "e"};
    tg_value *vals[5];
    for (int i = 0; i < 5; i++)
        vals[i] = tg_str(letters[i]);
    tg_value *s = tg_delayed_reduce_fn(g, "concat", concat, 5, vals, 2);
    tg_value *r = compute_on(s, 0);
    assert_string_equal(tg_as_str(r), "abcde"); /* order kept */
    tg_decref(r);
    r = compute_on(s, 2);
    assert_non_null(strstr(tg_error_message(r), "local call"));
    tg_decref(r);
    tg_graph_free(g);
}

/* Bad calls fail cleanly and still steal the values (ASan watches). */
static void test_reduce_bad_calls_fail_and_steal(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *vals[2] = {tg_int(1), tg_str("x")};
    assert_null(tg_delayed_reduce(g, "no.such.fn", 2, vals, 0));
    assert_non_null(strstr(tg_last_error(), "no.such.fn"));
    assert_null(tg_delayed_reduce(g, "tg.sum", 3, NULL, 0));
    assert_non_null(strstr(tg_last_error(), "NULL values"));
    tg_value *more[2] = {tg_int(1), tg_int(2)};
    assert_null(tg_delayed_reduce_fn(g, "f", NULL, 2, more, 0));
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_sums_a_thousand_values_on_every_scheduler),
        cmocka_unit_test(test_reduce_builds_a_tree_of_split_every),
        cmocka_unit_test(test_reduce_mean_is_exact_for_uneven_groups),
        cmocka_unit_test(test_reduce_min_max_keep_types_and_nan_wins),
        cmocka_unit_test(test_reduce_sum_types_and_errors),
        cmocka_unit_test(test_reduce_fn_with_a_local_function),
        cmocka_unit_test(test_reduce_bad_calls_fail_and_steal),
    };
    return cmocka_run_group_tests_name("reduce", tests, NULL, NULL);
}
