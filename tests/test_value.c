/* tests/test_value.c - values: constructors, accessors, refcounts. */
#include "test_util.h"

static void test_value_scalars_round_trip(void **state)
{
    (void)state;
    tg_value *i = tg_int(-42), *f = tg_float(2.5), *s = tg_str("héllo");
    assert_int_equal(tg_typeof(i), TG_INT);
    assert_int_equal(tg_as_int(i), -42);
    assert_true(tg_as_float(i) == -42.0);
    assert_int_equal(tg_typeof(f), TG_FLOAT);
    assert_true(tg_as_float(f) == 2.5);
    assert_int_equal(tg_as_int(f), 0); /* no silent truncation */
    assert_string_equal(tg_as_str(s), "héllo");
    assert_null(tg_as_str(i));
    size_t len;
    assert_memory_equal(tg_as_bytes(s, &len), "héllo", 6);
    assert_int_equal(len, 6);
    tg_decref(i);
    tg_decref(f);
    tg_decref(s);
}

static void test_value_singletons_are_immortal(void **state)
{
    (void)state;
    tg_value *n = tg_null(), *t = tg_bool(true), *fl = tg_bool(false);
    for (int k = 0; k < 1000; k++) {
        tg_decref(n);
        tg_decref(t);
        tg_decref(fl);
    }
    assert_int_equal(tg_typeof(tg_null()), TG_NULL);
    assert_true(tg_as_bool(tg_bool(true)));
    assert_false(tg_as_bool(tg_bool(false)));
    assert_ptr_equal(tg_bool(true), t);
    assert_int_equal(tg_typeof(NULL), TG_NULL);
}

static void test_value_bytes_and_strings_own_copies(void **state)
{
    (void)state;
    char buf[8] = {'a', 0, 'b', 'c', 0, 0, 0, 0};
    tg_value *b = tg_bytes(buf, 4);
    tg_value *s = tg_str_n("xyzw", 2);
    memset(buf, 'Z', sizeof buf);
    size_t len;
    const char *p = tg_as_bytes(b, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(p, "a\0bc", 4);
    assert_string_equal(tg_as_str(s), "xy");
    assert_null(tg_as_str(b)); /* bytes are not text */
    assert_null(tg_str(NULL));
    assert_non_null(strstr(tg_last_error(), "NULL"));
    tg_value *empty = tg_bytes(NULL, 0);
    assert_non_null(empty);
    tg_as_bytes(empty, &len);
    assert_int_equal(len, 0);
    tg_decref(empty);
    tg_decref(b);
    tg_decref(s);
}

static void test_value_list_steals_and_frees_items(void **state)
{
    (void)state;
    tg_value *inner = tg_list(2, tg_int(1), tg_str("two"));
    tg_value *l = tg_list(3, tg_incref(inner), tg_float(3.0), tg_null());
    assert_int_equal(tg_list_len(l), 3);
    assert_ptr_equal(tg_list_get(l, 0), inner);
    assert_null(tg_list_get(l, 3));
    assert_string_equal(tg_as_str(tg_list_get(inner, 1)), "two");
    tg_decref(inner); /* l still holds it */
    assert_int_equal(tg_as_int(tg_list_get(tg_list_get(l, 0), 0)), 1);
    tg_decref(l); /* frees inner too (leak-checked under valgrind) */
}

static void test_value_list_with_null_item_fails_without_leak(void **state)
{
    (void)state;
    assert_null(tg_list(3, tg_int(1), NULL, tg_str("x")));
    assert_non_null(strstr(tg_last_error(), "item 1"));
}

static void test_value_deep_list_frees_without_recursion(void **state)
{
    (void)state;
    tg_value *l = tg_list(0);
    for (int i = 0; i < 1000000; i++)
        l = tg_list(2, l, tg_int(i));
    assert_int_equal(tg_as_int(tg_list_get(l, 1)), 999999);
    tg_value *copy = tg_incref(l);
    assert_true(tg_equal(l, copy));
    tg_decref(copy);
    tg_decref(l); /* would overflow the C stack if it recursed */
}

static void test_value_error_carries_message_and_no_key(void **state)
{
    (void)state;
    tg_value *e = tg_error("bad %s %d", "thing", 7);
    assert_true(tg_is_error(e));
    assert_string_equal(tg_error_message(e), "bad thing 7");
    assert_null(tg_error_key(e));
    assert_null(tg_error_message(tg_null()));
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tg_value *e2 = tg_error("%s!", big);
    assert_int_equal(strlen(tg_error_message(e2)), 1000);
    tg_decref(e);
    tg_decref(e2);
}

static int freed;
static void free_counter(void *p)
{
    freed += *(int *)p;
}

static void test_value_object_runs_free_fn_on_last_decref(void **state)
{
    (void)state;
    int payload = 5;
    freed = 0;
    tg_value *o = tg_object(&payload, free_counter, "counter");
    assert_int_equal(tg_typeof(o), TG_OBJECT);
    assert_ptr_equal(tg_as_object(o), &payload);
    tg_incref(o);
    tg_decref(o);
    assert_int_equal(freed, 0);
    tg_decref(o);
    assert_int_equal(freed, 5);
}

static void test_value_equal_compares_contents(void **state)
{
    (void)state;
    tg_value *a = tg_list(2, tg_int(1), tg_list(1, tg_str("x")));
    tg_value *b = tg_list(2, tg_int(1), tg_list(1, tg_str("x")));
    tg_value *c = tg_list(2, tg_int(1), tg_list(1, tg_str("y")));
    assert_true(tg_equal(a, b));
    assert_false(tg_equal(a, c));
    assert_false(tg_equal(a, NULL));
    tg_value *i = tg_int(1), *f = tg_float(1.0);
    assert_false(tg_equal(i, f)); /* types differ */
    tg_decref(a), tg_decref(b), tg_decref(c), tg_decref(i), tg_decref(f);
}

static void test_value_type_names(void **state)
{
    (void)state;
    assert_string_equal(tg_type_name(TG_INT), "int");
    assert_string_equal(tg_type_name(TG_DELAYED), "delayed");
    assert_string_equal(tg_type_name(TG_OBJECT), "object");
    assert_string_equal(tg_type_name(TG_NDARRAY), "ndarray");
    assert_string_equal(tg_type_name((tg_type)99), "?");
    assert_string_equal(tg_strerror(TG_EINVAL), "invalid argument");
    assert_string_equal(tg_strerror(12345), "unknown error");
    assert_string_equal(tg_err_name(TG_ECANCELED), "TG_ECANCELED");
    assert_string_equal(tg_err_name(TG_OK), "TG_OK");
    assert_string_equal(tg_err_name(1), "TG_UNKNOWN");
}

/* A count with no array is an error, not a crash. */
static void test_value_list_from_null_items_with_a_count_fails(void **state)
{
    (void)state;
    assert_null(tg_list_from(2, NULL));
    assert_non_null(strstr(tg_last_error(), "NULL items"));
    tg_value *empty = tg_list_from(0, NULL);
    assert_int_equal(tg_list_len(empty), 0);
    tg_decref(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_list_from_null_items_with_a_count_fails),
        cmocka_unit_test(test_value_scalars_round_trip),
        cmocka_unit_test(test_value_singletons_are_immortal),
        cmocka_unit_test(test_value_bytes_and_strings_own_copies),
        cmocka_unit_test(test_value_list_steals_and_frees_items),
        cmocka_unit_test(test_value_list_with_null_item_fails_without_leak),
        cmocka_unit_test(test_value_deep_list_frees_without_recursion),
        cmocka_unit_test(test_value_error_carries_message_and_no_key),
        cmocka_unit_test(test_value_object_runs_free_fn_on_last_decref),
        cmocka_unit_test(test_value_equal_compares_contents),
        cmocka_unit_test(test_value_type_names),
    };
    return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
