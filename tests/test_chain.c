/* tests/test_chain.c - very deep graphs build, compile and run without
 * recursion: a chain of ten million calls (100,000 under valgrind). */
#include "test_util.h"

static void run_chain(size_t n, bool fuse)
{
    tg_graph *g = tg_graph_new();
    tg_value *x = tg_int(0);
    for (size_t i = 0; i < n; i++)
        x = tg_delayed(g, "inc", tt_inc, 1, x);
    assert_non_null(x);
    assert_int_equal(tg_graph_size(g), n);
    tg_compute_opts o = {.no_fuse = !fuse};
    tg_value *out;
    assert_int_equal(tg_compute_with(&x, 1, &out, NULL, &o), 0);
    assert_int_equal(tg_as_int(out), (int64_t)n);
    tg_decref(out);
    tg_graph_free(g);
}

static void test_chain_of_ten_million_computes(void **state)
{
    (void)state;
    run_chain(tt_scale(10000000, 100000), true);
}

static void test_chain_unfused_of_a_million_computes(void **state)
{
    (void)state;
    run_chain(tt_scale(1000000, 20000), false);
}

/* A million-deep chain hanging off a wide fan: ordering must not recurse
 * on either axis. */
static void test_chain_deep_and_wide_together(void **state)
{
    (void)state;
    size_t n = tt_scale(1000000, 20000);
    tg_graph *g = tg_graph_new();
    tg_value *x = tg_int(0);
    for (size_t i = 0; i < n; i++)
        x = (i % 1000 == 999)
                ? tg_delayed(g, "add", tt_add, 2, x,
                             tg_delayed(g, "inc", tt_inc, 1, tg_int(0)))
                : tg_delayed(g, "inc", tt_inc, 1, x);
    tg_value *r = tg_compute(x, NULL);
    /* every 1000th step adds inc(0) = 1 instead of incrementing: same */
    assert_int_equal(tg_as_int(r), (int64_t)n);
    tg_decref(r);
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_of_ten_million_computes),
        cmocka_unit_test(test_chain_unfused_of_a_million_computes),
        cmocka_unit_test(test_chain_deep_and_wide_together),
    };
    return cmocka_run_group_tests_name("chain", tests, NULL, NULL);
}
