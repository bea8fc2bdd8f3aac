/* tests/test_graph.c - recording delayed calls: keys, dedupe, ownership,
 * bad arguments. */
#include <ctype.h>
#include <unistd.h>

#include "test_util.h"

static void test_graph_key_has_name_and_32_hex_digits(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    const char *k = tg_key(a);
    assert_non_null(k);
    assert_int_equal(strncmp(k, "tt_inc-", 7), 0);
    assert_int_equal(strlen(k), 7 + 32);
    for (const char *p = k + 7; *p; p++)
        assert_true(isxdigit((unsigned char)*p) && !isupper((unsigned char)*p));
    assert_string_equal(tg_delayed_name(a), "tt_inc");
    assert_null(tg_key(tg_null()));
    tg_graph_free(g);
}

static void test_graph_keys_are_deterministic_across_graphs(void **state)
{
    (void)state;
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_value *a1 =
        TG_DELAYED(g1, tt_add, TG_DELAYED(g1, tt_inc, tg_int(1)), tg_str("x"));
    tg_value *a2 =
        TG_DELAYED(g2, tt_add, TG_DELAYED(g2, tt_inc, tg_int(1)), tg_str("x"));
    assert_string_equal(tg_key(a1), tg_key(a2));
    tg_graph_free(g1);
    tg_graph_free(g2);
}

static void test_graph_keys_differ_by_args_types_and_names(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    const char *k[6] = {
        tg_key(TG_DELAYED(g, tt_inc, tg_int(1))),
        tg_key(TG_DELAYED(g, tt_inc, tg_int(2))),
        tg_key(TG_DELAYED(g, tt_inc, tg_float(1.0))),
        tg_key(TG_DELAYED(g, tt_inc, tg_str("1"))),
        tg_key(tg_delayed(g, "other", tt_inc, 1, tg_int(1))),
        tg_key(TG_DELAYED(g, tt_inc, tg_list(1, tg_int(1)))),
    };
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            assert_string_not_equal(k[i], k[j]);
    tg_graph_free(g);
}

static void test_graph_identical_pure_calls_share_a_key(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_list(2, tg_int(1), tg_str("s")));
    tg_value *b = TG_DELAYED(g, tt_inc, tg_list(2, tg_int(1), tg_str("s")));
    assert_string_equal(tg_key(a), tg_key(b));
    tg_graph_free(g);
}

static void test_graph_impure_calls_get_fresh_keys(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED_IMPURE(g, tt_inc, tg_int(1));
    tg_value *b = TG_DELAYED_IMPURE(g, tt_inc, tg_int(1));
    tg_value *c = tg_delayed_v(g, "tt_inc", tt_inc, NULL, TG_IMPURE, 1,
                               (tg_value *[]){tg_int(1)});
    assert_string_not_equal(tg_key(a), tg_key(b));
    assert_string_not_equal(tg_key(a), tg_key(c));
    assert_string_equal(tg_delayed_name(a), "tt_inc");
    tg_graph_free(g);
}

static void test_graph_macro_counts_arguments(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *none = TG_DELAYED(g, tt_sum);
    tg_value *five = TG_DELAYED(g, tt_sum, tg_int(1), tg_int(2), tg_int(3),
                                tg_int(4), tg_int(5));
    tg_value *r0 = tg_compute(none, NULL), *r5 = tg_compute(five, NULL);
    assert_int_equal(tg_as_int(r0), 0);
    assert_int_equal(tg_as_int(r5), 15);
    tg_decref(r0);
    tg_decref(r5);
    assert_int_equal(tg_graph_size(g), 2);
    tg_graph_free(g);
}

static void test_graph_null_argument_fails_every_enclosing_call(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *d = TG_DELAYED(g, tt_add, TG_DELAYED(g, tt_inc, NULL),
                             tg_str("leaked if not stolen"));
    assert_null(d);
    assert_non_null(strstr(tg_last_error(), "argument"));
    assert_null(tg_delayed(NULL, "x", tt_inc, 1, tg_int(1)));
    assert_null(tg_delayed(g, NULL, tt_inc, 1, tg_int(1)));
    assert_null(tg_delayed(g, "nofn", NULL, 1, tg_int(1)));
    assert_non_null(strstr(tg_last_error(), "NULL function"));
    assert_int_equal(tg_graph_size(g), 0);
    tg_graph_free(g);
}

static void test_graph_rejects_argument_from_another_graph(void **state)
{
    (void)state;
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_value *a = TG_DELAYED(g1, tt_inc, tg_int(1));
    assert_null(TG_DELAYED(g2, tt_inc, a));
    assert_non_null(strstr(tg_last_error(), "another graph"));
    assert_null(TG_DELAYED(g2, tt_sum, tg_list(1, a)));
    tg_value *t[2] = {a, TG_DELAYED(g2, tt_inc, tg_int(2))};
    tg_value *out[2];
    assert_int_equal(tg_compute_many(t, 2, out, NULL), TG_EINVAL);
    assert_null(out[0]);
    assert_non_null(strstr(tg_last_error(), "different graphs"));
    tg_graph_free(g1);
    tg_graph_free(g2);
}

static void test_graph_rejects_delayed_nested_two_lists_deep(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    assert_null(TG_DELAYED(g, tt_sum, tg_list(1, tg_list(1, a))));
    assert_non_null(strstr(tg_last_error(), "more than one list deep"));
    tg_graph_free(g);
}

/* Returns the sum of the ints in its one list argument. */
static tg_value *list_total(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    int64_t s = 0;
    for (size_t i = 0; i < tg_list_len(a[0]); i++)
        s += tg_as_int(tg_list_get(a[0], i));
    return tg_int(s);
}

static void test_graph_list_of_delayed_receives_their_results(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *items[4];
    for (int i = 0; i < 4; i++)
        items[i] = TG_DELAYED(g, tt_inc, tg_int(i * 10));
    tg_value *total = TG_DELAYED(
        g, list_total,
        tg_list(5, items[0], items[1], items[2], items[3], tg_int(1000)));
    tg_value *r = tg_compute(total, NULL);
    assert_int_equal(tg_as_int(r), 1 + 11 + 21 + 31 + 1000);
    tg_decref(r);
    tg_graph_free(g);
}

static void test_graph_delayed_value_wraps_literals(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *five = tg_delayed_value(g, tg_int(5));
    assert_int_equal(tg_typeof(five), TG_DELAYED);
    assert_int_equal(strncmp(tg_key(five), "int-", 4), 0);
    assert_ptr_equal(tg_delayed_value(g, five), five);
    tg_value *r = tg_compute(TG_DELAYED(g, tt_inc, five), NULL);
    assert_int_equal(tg_as_int(r), 6);
    tg_decref(r);
    r = tg_compute(five, NULL);
    assert_int_equal(tg_as_int(r), 5);
    tg_decref(r);
    tg_graph_free(g);
}

static void test_graph_delayed_values_ignore_refcounting(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    tg_decref(a);
    tg_decref(a);
    tg_incref(a);
    tg_value *r = tg_compute(TG_DELAYED(g, tt_add, a, a), NULL);
    assert_int_equal(tg_as_int(r), 4);
    tg_decref(r);
    tg_graph_free(g);
    tg_graph_free(NULL);
}

static void test_graph_many_arguments_use_the_array_form(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *args[100];
    for (int i = 0; i < 100; i++)
        args[i] = i % 2 ? TG_DELAYED(g, tt_inc, tg_int(i)) : tg_int(i);
    tg_value *s = tg_delayed_v(g, "sum", tt_sum, NULL, 0, 100, args);
    tg_value *r = tg_compute(s, NULL);
    assert_int_equal(tg_as_int(r), 4950 + 50);
    tg_decref(r);
    tg_graph_free(g);
}

static tg_value *dec(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_int(tg_as_int(a[0]) - 1);
}

static tg_value *scale(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    return tg_int(tg_as_int(a[0]) * *(const int *)ctx);
}

/* Same name and arguments, different functions: two calls, not one. */
static void test_graph_keys_differ_by_function(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = tg_delayed(g, "f", tt_inc, 1, tg_int(5));
    tg_value *b = tg_delayed(g, "f", dec, 1, tg_int(5));
    assert_string_not_equal(tg_key(a), tg_key(b));
    tg_value *r = TG_DELAYED(g, tt_add, a, b);
    tg_value *v = tg_compute(r, NULL);
    assert_int_equal(tg_as_int(v), 10); /* 6 + 4, not 6 + 6 */
    tg_decref(v);
    tg_graph_free(g);
}

/* Same function, different contexts: two calls, not one. */
static void test_graph_keys_differ_by_context(void **state)
{
    (void)state;
    static const int two = 2, three = 3;
    tg_graph *g = tg_graph_new();
    tg_value *x = tg_delayed_value(g, tg_int(10));
    tg_value *a = tg_delayed_v(g, "scale", scale, (void *)&two, 0, 1, &x);
    tg_value *b = tg_delayed_v(g, "scale", scale, (void *)&three, 0, 1, &x);
    assert_string_not_equal(tg_key(a), tg_key(b));
    tg_value *v = tg_compute(TG_DELAYED(g, tt_add, a, b), NULL);
    assert_int_equal(tg_as_int(v), 50); /* 10*2 + 10*3, not 40 */
    tg_decref(v);
    tg_graph_free(g);
}

/* A registered call's key hashes its name only: the same whether it was
 * recorded by name or through its pointer; a call recorded before the
 * function was registered keeps its local key. */
static void test_graph_registered_calls_are_keyed_by_name(void **state)
{
    (void)state;
    static const int four = 4;
    tg_graph *g = tg_graph_new();
    tg_value *before = tg_delayed_v(g, "keys.scale4", scale, (void *)&four, 0,
                                    1, (tg_value *[]){tg_int(3)});
    char *local = strdup(tg_key(before));
    assert_int_equal(tg_register("keys.scale4", scale, (void *)&four), 0);
    tg_value *by_ptr = tg_delayed_v(g, "keys.scale4", scale, (void *)&four, 0,
                                    1, (tg_value *[]){tg_int(3)});
    tg_value *by_name = tg_delayed_registered(g, "keys.scale4", 1, tg_int(3));
    assert_string_equal(tg_key(by_ptr), tg_key(by_name));
    assert_string_not_equal(tg_key(by_ptr), local);
    assert_string_equal(tg_key(before), local); /* unchanged */
    /* The same name with another context is a local call. */
    static const int five = 5;
    tg_value *other = tg_delayed_v(g, "keys.scale4", scale, (void *)&five, 0, 1,
                                   (tg_value *[]){tg_int(3)});
    assert_string_not_equal(tg_key(other), tg_key(by_name));
    tg_value *v = tg_compute(other, NULL);
    assert_int_equal(tg_as_int(v), 15);
    tg_decref(v);
    free(local);
    tg_graph_free(g);
}

/* A count with no argument array is an error, not a crash. */
static void test_graph_null_args_with_a_count_fail(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    assert_null(tg_delayed_v(g, "f", tt_inc, NULL, 0, 2, NULL));
    assert_non_null(strstr(tg_last_error(), "NULL arguments"));
    tg_value *ok = tg_delayed_v(g, "f", tt_sum, NULL, 0, 0, NULL);
    assert_non_null(ok);
    tg_graph_free(g);
}

/* Keys of registered calls over a small graph, one per line. */
static void print_registered_keys(FILE *f)
{
    static const int seven = 7;
    tg_register("keys.inc", tt_inc, NULL);
    tg_register("keys.scale7", scale, (void *)&seven);
    tg_graph *g = tg_graph_new();
    tg_value *a = tg_delayed_registered(g, "keys.inc", 1, tg_int(41));
    tg_value *b = tg_delayed_registered(g, "keys.scale7", 1,
                                        tg_list(2, tg_str("x"), tg_float(1.5)));
    tg_value *c = tg_delayed_registered(g, "keys.inc", 1, a);
    fprintf(f, "%s\n%s\n%s\n", tg_key(a), tg_key(b), tg_key(c));
    tg_graph_free(g);
}

/* The keys of registered calls are the same in another process (this
 * test binary run again, which prints them). */
static void test_graph_registered_keys_match_across_processes(void **state)
{
    (void)state;
    char exe[4096], cmd[4200], mine[1024] = "", theirs[1024] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    snprintf(cmd, sizeof cmd, "TG_TEST_PRINT_KEYS=1 '%s'", exe);
    FILE *child = popen(cmd, "r");
    assert_non_null(child);
    size_t got = fread(theirs, 1, sizeof theirs - 1, child);
    assert_int_equal(pclose(child), 0);
    theirs[got] = '\0';
    FILE *f = fmemopen(mine, sizeof mine, "w");
    print_registered_keys(f);
    fclose(f);
    assert_true(strlen(mine) > 3 * 32);
    assert_string_equal(mine, theirs);
}

int main(void)
{
    if (getenv("TG_TEST_PRINT_KEYS")) {
        print_registered_keys(stdout);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_key_has_name_and_32_hex_digits),
        cmocka_unit_test(test_graph_keys_are_deterministic_across_graphs),
        cmocka_unit_test(test_graph_keys_differ_by_args_types_and_names),
        cmocka_unit_test(test_graph_identical_pure_calls_share_a_key),
        cmocka_unit_test(test_graph_impure_calls_get_fresh_keys),
        cmocka_unit_test(test_graph_macro_counts_arguments),
        cmocka_unit_test(test_graph_null_argument_fails_every_enclosing_call),
        cmocka_unit_test(test_graph_rejects_argument_from_another_graph),
        cmocka_unit_test(test_graph_rejects_delayed_nested_two_lists_deep),
        cmocka_unit_test(test_graph_list_of_delayed_receives_their_results),
        cmocka_unit_test(test_graph_delayed_value_wraps_literals),
        cmocka_unit_test(test_graph_delayed_values_ignore_refcounting),
        cmocka_unit_test(test_graph_many_arguments_use_the_array_form),
        cmocka_unit_test(test_graph_null_args_with_a_count_fail),
        cmocka_unit_test(test_graph_keys_differ_by_function),
        cmocka_unit_test(test_graph_keys_differ_by_context),
        cmocka_unit_test(test_graph_registered_calls_are_keyed_by_name),
        cmocka_unit_test(test_graph_registered_keys_match_across_processes),
    };
    return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
