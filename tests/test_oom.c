/* tests/test_oom.c - every allocating call fails cleanly when memory runs
 * out: the n-th allocation is made to fail for n = 0, 1, 2, ... until the
 * operation succeeds; each failure must report TG_ENOMEM and leak nothing
 * (the leak checks are ASan's and valgrind's). */
#include "test_util.h"

#include "runtime/alloc_internal.h"

/* Runs op with allocation k failing, for k = 0.. until op succeeds.
 * op returns true on success and cleans up after itself either way. */
static void sweep(bool (*op)(void), long max_steps)
{
    long k;
    for (k = 0; k < max_steps; k++) {
        tg__oom_inject(k, false);
        bool ok = op();
        long failed = tg__oom_failures();
        tg__oom_inject(-1, false);
        if (failed == 0) {
            assert_true(ok);
            break;
        }
        if (!ok) /* the cause, or what it led to (a NULL item...) */
            assert_true(tg_last_error()[0] != '\0');
    }
    assert_true(k < max_steps);
}

static bool op_values(void)
{
    tg_value *l =
        tg_list(3, tg_int(1), tg_str("two"), tg_list(1, tg_error("e %d", 3)));
    bool ok = l != NULL;
    tg_decref(l);
    return ok;
}

static tg_value *list_head(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_incref(tg_list_get(a[0], 0));
}

/* 2 * (1 + ... + 20) = 420, through a list argument and a tree. */
static tg_value *build(tg_graph *g)
{
    tg_value *v[20];
    for (int i = 0; i < 20; i++)
        v[i] = TG_DELAYED(g, tt_inc, tg_int(i));
    tg_value *s = tt_tree_sum(g, v, 20, 3);
    return TG_DELAYED(g, tt_add, s,
                      TG_DELAYED(g, list_head, tg_list(2, s, tg_int(1))));
}

static bool op_graph(void)
{
    tg_graph *g = tg_graph_new();
    if (!g)
        return false;
    bool ok = build(g) != NULL;
    tg_graph_free(g);
    return ok;
}

static long compute_k;

static bool op_compute_at(void)
{
    tg_graph *g = tg_graph_new();
    tg_value *x = build(g);
    assert_non_null(x);
    tg__oom_inject(compute_k, false);
    tg_value *out = NULL;
    int rc = tg_compute_with(&x, 1, &out, NULL, NULL);
    long failed = tg__oom_failures();
    tg__oom_inject(-1, false);
    bool ok = rc == 0 && tg_as_int(out) == 420;
    if (failed == 0)
        assert_true(ok);
    else if (!ok)
        assert_true(rc == TG_ENOMEM || tg_is_error(out));
    tg_decref(out);
    tg_graph_free(g);
    return failed == 0;
}

static void test_oom_value_constructors_fail_cleanly(void **state)
{
    (void)state;
    sweep(op_values, 100);
}

static void test_oom_graph_building_fails_cleanly(void **state)
{
    (void)state;
    sweep(op_graph, 500);
}

static void test_oom_compute_fails_cleanly(void **state)
{
    (void)state;
    for (compute_k = 0; compute_k < 1000; compute_k++)
        if (op_compute_at())
            break;
    assert_true(compute_k < 1000);
}

static bool op_misc(void)
{
    tg_scheduler *s = tg_scheduler_sync();
    tg_cancel *c = tg_cancel_new();
    tg_callbacks cb = {0};
    int h = tg_callbacks_add(&cb);
    int r = tg_register("oom.fn", tt_inc, NULL);
    bool ok = s && c && h > 0 && r == 0;
    if (h > 0)
        tg_callbacks_remove(h);
    tg_cancel_free(c);
    tg_scheduler_free(s);
    return ok;
}

static void test_oom_objects_fail_cleanly(void **state)
{
    (void)state;
    sweep(op_misc, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_value_constructors_fail_cleanly),
        cmocka_unit_test(test_oom_graph_building_fails_cleanly),
        cmocka_unit_test(test_oom_compute_fails_cleanly),
        cmocka_unit_test(test_oom_objects_fail_cleanly),
    };
    return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
