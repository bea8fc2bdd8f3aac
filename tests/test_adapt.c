/* tests/test_adapt.c - delaying plain C functions through TG_ADAPT. */
#include <math.h>

#include "test_util.h"

static double hyp(double x, double y)
{
    return sqrt(x * x + y * y);
}
static int64_t twice(int64_t x)
{
    return 2 * x;
}
static int clamp(int x, int lo, int hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}
static bool is_even(long x)
{
    return x % 2 == 0;
}
static tg_cstr pick(bool first, tg_cstr a, tg_cstr b)
{
    return first ? a : b;
}
static float avg6(float a, float b, float c, float d, float e, float f)
{
    return (a + b + c + d + e + f) / 6.0f;
}
static size_t len_of(tg_cstr s)
{
    return strlen(s);
}
static uint64_t big(uint64_t x)
{
    return x + 1;
}
static int touched;
static void touch(int x)
{
    touched += x;
}

TG_ADAPT(double, hyp, double, double)
TG_ADAPT(int64_t, twice, int64_t)
TG_ADAPT(int, clamp, int, int, int)
TG_ADAPT(bool, is_even, long)
TG_ADAPT(tg_cstr, pick, bool, tg_cstr, tg_cstr)
TG_ADAPT(float, avg6, float, float, float, float, float, float)
TG_ADAPT(size_t, len_of, tg_cstr)
TG_ADAPT(uint64_t, big, uint64_t)
TG_ADAPT(void, touch, int)

static tg_value *run(tg_value *d)
{
    assert_non_null(d);
    return tg_compute(d, NULL);
}

static void test_adapt_boxes_and_unboxes_plain_types(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *h = TG_CALL(g, hyp, tg_float(3.0), tg_int(4)); /* int -> double */
    assert_string_equal(tg_delayed_name(h), "hyp");
    tg_value *r = run(h);
    assert_true(tg_as_float(r) == 5.0);
    tg_decref(r);
    r = run(TG_CALL(g, twice, TG_CALL(g, twice, tg_int(21))));
    assert_int_equal(tg_as_int(r), 84);
    tg_decref(r);
    r = run(TG_CALL(g, clamp, tg_int(50), tg_int(0), tg_int(10)));
    assert_int_equal(tg_as_int(r), 10);
    tg_decref(r);
    r = run(TG_CALL(g, is_even, tg_int(6)));
    assert_true(tg_as_bool(r));
    tg_decref(r);
    r = run(TG_CALL(g, pick, tg_bool(false), tg_str("a"), tg_str("b")));
    assert_string_equal(tg_as_str(r), "b");
    tg_decref(r);
    r = run(TG_CALL(g, avg6, tg_float(1), tg_float(2), tg_float(3), tg_float(4),
                    tg_float(5), tg_float(6)));
    assert_true(tg_as_float(r) == 3.5);
    tg_decref(r);
    r = run(TG_CALL(g, len_of, tg_str("four")));
    assert_int_equal(tg_as_int(r), 4);
    tg_decref(r);
    tg_graph_free(g);
}

/* Plain C values are converted to the parameter's type and boxed, so a
 * call with ints and one with doubles are the same call. */
static void test_adapt_call_takes_plain_c_values(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_CALL(g, hyp, 3, 4);
    tg_value *b = TG_CALL(g, hyp, 3.0, 4.0f);
    assert_string_equal(tg_key(a), tg_key(b));
    tg_value *r = run(a);
    assert_true(tg_as_float(r) == 5.0);
    tg_decref(r);
    long n = 7;
    unsigned char c = 3;
    r = run(TG_CALL(g, clamp, n, (short)-5, c)); /* mixed integer types */
    assert_int_equal(tg_as_int(r), 3);
    tg_decref(r);
    r = run(TG_CALL(g, clamp, 2.9, 0, 10)); /* double -> int truncates */
    assert_int_equal(tg_as_int(r), 2);
    tg_decref(r);
    const char *hello = "hello";
    char buf[] = "xy";
    r = run(TG_CALL(g, pick, true, hello, buf));
    assert_string_equal(tg_as_str(r), "hello");
    tg_decref(r);
    r = run(TG_CALL(g, len_of, "four"));
    assert_int_equal(tg_as_int(r), 4);
    tg_decref(r);
    /* a delayed value and a plain value in one call */
    r = run(TG_CALL(g, hyp, TG_CALL(g, hyp, 0, 3), 4));
    assert_true(tg_as_float(r) == 5.0);
    tg_decref(r);
    tg_graph_free(g);
}

/* uint64_t round-trips, values above INT64_MAX included; a void
 * function's task returns null. */
static void test_adapt_uint64_and_void_functions(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *r = run(TG_CALL(g, big, UINT64_MAX - 1));
    uint64_t got = (uint64_t)tg_as_int(r);
    assert_true(got == UINT64_MAX);
    tg_decref(r);
    touched = 0;
    r = run(TG_CALL(g, touch, 5));
    assert_int_equal(tg_typeof(r), TG_NULL);
    assert_int_equal(touched, 5);
    tg_decref(r);
    tg_graph_free(g);
}

static void test_adapt_wrong_type_fails_the_task(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *d = TG_CALL(g, hyp, tg_str("3"), tg_float(4));
    tg_value *r = run(d);
    assert_true(tg_is_error(r));
    assert_string_equal(tg_error_message(r),
                        "hyp: argument 0 should be double, got str");
    assert_string_equal(tg_error_key(r), tg_key(d));
    tg_decref(r);
    r = run(TG_CALL(g, twice, tg_float(1.5))); /* no silent truncation */
    assert_string_equal(tg_error_message(r),
                        "twice: argument 0 should be int64_t, got float");
    tg_decref(r);
    tg_graph_free(g);
}

static void test_adapt_wrong_count_fails_the_task(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *r = run(tg_delayed(g, "hyp", tg_adapted_hyp, 1, tg_float(1)));
    assert_string_equal(tg_error_message(r),
                        "hyp: expected 2 arguments, got 1");
    tg_decref(r);
    tg_graph_free(g);
}

static void test_adapt_registered_adapter_resolves_by_name(void **state)
{
    (void)state;
    assert_int_equal(TG_REGISTER_ADAPTED(twice), 0);
    tg_graph *g = tg_graph_new();
    tg_value *r = run(tg_delayed_registered(g, "twice", 1, tg_int(5)));
    assert_int_equal(tg_as_int(r), 10);
    tg_decref(r);
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapt_boxes_and_unboxes_plain_types),
        cmocka_unit_test(test_adapt_call_takes_plain_c_values),
        cmocka_unit_test(test_adapt_uint64_and_void_functions),
        cmocka_unit_test(test_adapt_wrong_type_fails_the_task),
        cmocka_unit_test(test_adapt_wrong_count_fails_the_task),
        cmocka_unit_test(test_adapt_registered_adapter_resolves_by_name),
    };
    return cmocka_run_group_tests_name("adapt", tests, NULL, NULL);
}
