/* tests/test_registry.c - registering task functions by name. */
#include "test_util.h"

static void test_registry_register_and_lookup(void **state)
{
    (void)state;
    int ctx = 3;
    assert_int_equal(tg_register("reg.inc", tt_inc, &ctx), 0);
    tg_fn fn = NULL;
    void *c = NULL;
    assert_int_equal(tg_lookup("reg.inc", &fn, &c), 0);
    assert_ptr_equal(fn, tt_inc);
    assert_ptr_equal(c, &ctx);
    assert_int_equal(tg_register("reg.inc", tt_inc, &ctx), 0); /* same */
}

static void test_registry_rejects_a_second_function_for_a_name(void **state)
{
    (void)state;
    assert_int_equal(tg_register("reg.x", tt_inc, NULL), 0);
    assert_int_equal(tg_register("reg.x", tt_add, NULL), TG_EEXIST);
    assert_non_null(strstr(tg_last_error(), "reg.x"));
    tg_fn fn;
    assert_int_equal(tg_lookup("reg.x", &fn, NULL), 0);
    assert_ptr_equal(fn, tt_inc);
}

static void test_registry_bad_input_is_an_error(void **state)
{
    (void)state;
    assert_int_equal(tg_register(NULL, tt_inc, NULL), TG_EINVAL);
    assert_int_equal(tg_register("", tt_inc, NULL), TG_EINVAL);
    assert_int_equal(tg_register("reg.nofn", NULL, NULL), TG_EINVAL);
    assert_int_equal(tg_lookup("reg.missing", NULL, NULL), TG_ENOENT);
    assert_non_null(strstr(tg_last_error(), "reg.missing"));
    assert_int_equal(tg_lookup(NULL, NULL, NULL), TG_EINVAL);
}

static void test_registry_grows_past_its_first_table(void **state)
{
    (void)state;
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "reg.many.%d", i);
        assert_int_equal(tg_register(name, i % 2 ? tt_inc : tt_add, NULL), 0);
    }
    for (int i = 0; i < 500; i++) {
        tg_fn fn;
        snprintf(name, sizeof name, "reg.many.%d", i);
        assert_int_equal(tg_lookup(name, &fn, NULL), 0);
        assert_ptr_equal(fn, i % 2 ? tt_inc : tt_add);
    }
}

static tg_value *scaled(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    return tg_int(tg_as_int(a[0]) * *(int *)ctx);
}

static void test_registry_delayed_registered_uses_name_and_ctx(void **state)
{
    (void)state;
    static int factor = 7;
    assert_int_equal(tg_register("reg.scaled", scaled, &factor), 0);
    tg_graph *g = tg_graph_new();
    tg_value *d = tg_delayed_registered(g, "reg.scaled", 1, tg_int(6));
    assert_string_equal(tg_delayed_name(d), "reg.scaled");
    tg_value *r = tg_compute(d, NULL);
    assert_int_equal(tg_as_int(r), 42);
    tg_decref(r);
    assert_null(tg_delayed_registered(g, "reg.nope", 1, tg_str("freed")));
    assert_non_null(strstr(tg_last_error(), "reg.nope"));
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_register_and_lookup),
        cmocka_unit_test(test_registry_rejects_a_second_function_for_a_name),
        cmocka_unit_test(test_registry_bad_input_is_an_error),
        cmocka_unit_test(test_registry_grows_past_its_first_table),
        cmocka_unit_test(test_registry_delayed_registered_uses_name_and_ctx),
    };
    return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
