/* tests/test_json.c - graphs exported as JSON: keys, names, deps, orders,
 * literal arguments, plan view, profile states, files, errors, OOM. */
#include <jansson.h>
#include <math.h>
#include <unistd.h>

#include "runtime/alloc_internal.h"
#include "test_util.h"

/* Parses tg_graph_to_json's text. */
static json_t *export(tg_value **t, size_t n, const tg_viz_opts *o)
{
    char *text = tg_graph_to_json(t, n, o);
    assert_non_null(text);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    tg_json_free(text);
    return doc;
}

/* The task object with key, or NULL. */
static json_t *task(json_t *doc, const char *key)
{
    json_t *t;
    size_t i;
    json_array_foreach(
        json_object_get(doc, "tasks"), i,
        t) if (strcmp(json_string_value(json_object_get(t, "key")), key)
               == 0) return t;
    return NULL;
}

static void test_json_has_keys_names_deps_and_args(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    tg_value *b = TG_DELAYED(g, tt_inc, tg_int(2));
    tg_value *c = TG_DELAYED(g, tt_add, a, b);
    json_t *doc = export(&c, 1, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "format")),
                        "taskgraph");
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(doc, "view")),
                        "graph");
    assert_int_equal(json_array_size(json_object_get(doc, "tasks")), 3);
    json_t *targets = json_object_get(doc, "targets");
    assert_int_equal(json_array_size(targets), 1);
    assert_string_equal(json_string_value(json_array_get(targets, 0)),
                        tg_key(c));
    json_t *tc = task(doc, tg_key(c)), *ta = task(doc, tg_key(a));
    assert_string_equal(json_string_value(json_object_get(tc, "name")),
                        "tt_add");
    json_t *deps = json_object_get(tc, "deps");
    assert_int_equal(json_array_size(deps), 2);
    assert_string_equal(json_string_value(json_array_get(deps, 0)), tg_key(a));
    assert_string_equal(json_string_value(json_array_get(deps, 1)), tg_key(b));
    json_t *args = json_object_get(tc, "args");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(args, 1), "key")),
        tg_key(b));
    args = json_object_get(ta, "args");
    assert_int_equal(json_integer_value(json_array_get(args, 0)), 1);
    assert_int_equal(json_array_size(json_object_get(ta, "deps")), 0);
    /* static order: a, b, then c */
    assert_int_equal(json_integer_value(json_object_get(ta, "order")), 0);
    assert_int_equal(json_integer_value(json_object_get(tc, "order")), 2);
    json_decref(doc);
    tg_graph_free(g);
}

static void test_json_small_literals_inline_large_ones_described(void **s)
{
    (void)s;
    tg_graph *g = tg_graph_new();
    char long_str[101];
    memset(long_str, 'x', 100);
    long_str[100] = '\0';
    tg_value *items[20];
    for (int i = 0; i < 20; i++)
        items[i] = tg_int(i);
    tg_value *lit = tg_delayed_value(g, tg_float(2.5));
    tg_value *call = tg_delayed(
        g, "mix", tt_sum, 9, tg_str("hi"), tg_str(long_str), tg_bytes("abc", 3),
        tg_list(2, tg_int(1), tg_null()), tg_list_from(20, items),
        tg_float(NAN), tg_bool(true), tg_float(-INFINITY), lit);
    json_t *doc = export(&call, 1, NULL);
    json_t *args = json_object_get(task(doc, tg_key(call)), "args");
    assert_int_equal(json_array_size(args), 9);
    assert_string_equal(json_string_value(json_array_get(args, 0)), "hi");
    json_t *d = json_array_get(args, 1);
    assert_string_equal(json_string_value(json_object_get(d, "type")), "str");
    assert_int_equal(json_integer_value(json_object_get(d, "len")), 100);
    d = json_array_get(args, 2);
    assert_string_equal(json_string_value(json_object_get(d, "type")), "bytes");
    assert_int_equal(json_integer_value(json_object_get(d, "len")), 3);
    d = json_array_get(args, 3);
    assert_int_equal(json_array_size(d), 2);
    assert_true(json_is_null(json_array_get(d, 1)));
    d = json_array_get(args, 4);
    assert_string_equal(json_string_value(json_object_get(d, "type")), "list");
    assert_int_equal(json_integer_value(json_object_get(d, "len")), 20);
    d = json_array_get(args, 5);
    assert_string_equal(json_string_value(json_object_get(d, "value")), "nan");
    assert_true(json_is_true(json_array_get(args, 6)));
    d = json_array_get(args, 7);
    assert_string_equal(json_string_value(json_object_get(d, "value")), "-inf");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(args, 8), "key")),
        tg_key(lit));
    json_t *tl = task(doc, tg_key(lit));
    assert_true(json_is_true(json_object_get(tl, "literal")));
    assert_true(json_real_value(json_array_get(json_object_get(tl, "args"), 0))
                == 2.5);
    json_decref(doc);
    tg_graph_free(g);
}

static void test_json_plan_view_and_profile_states(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *x = TG_DELAYED(g, tt_inc, tg_int(1));
    tg_value *y = TG_DELAYED(g, tt_inc, x);
    tg_value *z =
        TG_DELAYED(g, tt_add, y, TG_DELAYED(g, tt_fail_neg, tg_int(-1)));
    tg_profiler *p = tg_profiler_new();
    tg_profiler_start(p);
    tg_decref(tg_compute(y, NULL));
    tg_decref(tg_compute(z, NULL));
    tg_profiler_stop(p);
    tg_viz_opts o = {.plan = true, .profile = p};
    json_t *doc = export(&z, 1, &o);
    assert_string_equal(json_string_value(json_object_get(doc, "view")),
                        "plan");
    json_t *tasks = json_object_get(doc, "tasks");
    assert_int_equal(json_array_size(tasks), 3); /* inc>inc, fail, add */
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
    json_t *ty = task(doc, tg_key(y));
    json_t *calls = json_object_get(ty, "calls"); /* as viz.h documents */
    assert_int_equal(json_array_size(calls), 2);
    assert_string_equal(json_string_value(json_array_get(calls, 0)), "tt_inc");
    assert_string_equal(json_string_value(json_array_get(calls, 1)), "tt_inc");
    assert_string_equal(json_string_value(json_object_get(ty, "label")),
                        "tt_inc > tt_inc");
    assert_string_equal(json_string_value(json_object_get(ty, "state")),
                        "done");
    assert_true(json_integer_value(json_object_get(ty, "duration_ns")) > 0);
    json_t *tz = task(doc, tg_key(z));
    assert_string_equal(json_string_value(json_object_get(tz, "state")),
                        "not run");
    assert_null(json_object_get(tz, "duration_ns"));
    json_decref(doc);
    /* graph view: both calls of the fused chain carry its state */
    o.plan = false;
    doc = export(&z, 1, &o);
    assert_string_equal(
        json_string_value(json_object_get(task(doc, tg_key(x)), "state")),
        "done");
    json_decref(doc);
    tg_profiler_free(p);
    tg_graph_free(g);
}

static void test_json_file_and_errors(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    char path[128];
    snprintf(path, sizeof path, "/tmp/tg_test_json_%d.json", (int)getpid());
    assert_int_equal(tg_graph_write_json(&a, 1, path, NULL), 0);
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    assert_non_null(task(doc, tg_key(a)));
    json_decref(doc);
    unlink(path);
    assert_int_equal(tg_graph_write_json(&a, 1, "/nonexistent/x.json", NULL),
                     TG_EIO);
    assert_non_null(strstr(tg_last_error(), "/nonexistent/x.json"));
    assert_int_equal(tg_graph_write_json(&a, 1, NULL, NULL), TG_EINVAL);
    assert_int_equal(tg_graph_write_json(NULL, 0, path, NULL), TG_EINVAL);
    assert_null(tg_graph_to_json(NULL, 1, NULL));
    tg_json_free(NULL);
    tg_graph_free(g);
}

static void test_json_out_of_memory_fails_cleanly(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *v[10];
    for (int i = 0; i < 10; i++)
        v[i] = TG_DELAYED(g, tt_inc, tg_int(i));
    tg_value *root = tt_tree_sum(g, v, 10, 4);
    char *text = NULL;
    for (long k = 0; !text; k++) {
        tg__oom_inject(k, false);
        text = tg_graph_to_json(&root, 1, NULL);
        tg__oom_inject(-1, false);
        if (!text)
            assert_non_null(strstr(tg_last_error(), "out of memory"));
        assert_true(k < 1000);
    }
    json_t *doc = json_loads(text, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "tasks")), 14);
    json_decref(doc);
    tg_json_free(text);
    tg_graph_free(g);
}

/* Without Graphviz, drawing says so and writes nothing; JSON still
 * works (the tests above). */
static void test_json_drawing_needs_graphviz(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    char path[128];
    snprintf(path, sizeof path, "/tmp/tg_test_json_%d.dot", (int)getpid());
    int rc = tg_visualize(&a, 1, path, NULL);
#if TT_HAVE_VIZ
    assert_int_equal(rc, 0);
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
#else
    assert_int_equal(rc, TG_EUNSUPPORTED);
    assert_non_null(strstr(tg_last_error(), "without Graphviz"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(tg_visualize_json("x.json", path, NULL), TG_EUNSUPPORTED);
#endif
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_has_keys_names_deps_and_args),
        cmocka_unit_test(test_json_small_literals_inline_large_ones_described),
        cmocka_unit_test(test_json_plan_view_and_profile_states),
        cmocka_unit_test(test_json_file_and_errors),
        cmocka_unit_test(test_json_out_of_memory_fails_cleanly),
        cmocka_unit_test(test_json_drawing_needs_graphviz),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
