/* tests/test_profiler.c - the profiler: records, Chrome trace, summary,
 * errors, out-of-memory and concurrent computes. */
#include <jansson.h>
#include <pthread.h>
#include <unistd.h>

#include "runtime/alloc_internal.h"
#include "test_util.h"

/* 12 inc leaves, 3 sums of 4, 1 sum of 3: 16 tasks. */
static tg_value *small_graph(tg_graph *g)
{
    tg_value *v[12];
    for (int i = 0; i < 12; i++)
        v[i] = TG_DELAYED(g, tt_inc, tg_int(i));
    return tt_tree_sum(g, v, 12, 4);
}

static char *tmp_path(const char *suffix)
{
    static char path[128];
    snprintf(path, sizeof path, "/tmp/tg_test_prof_%d%s", (int)getpid(),
             suffix);
    return path;
}

static void test_profiler_trace_has_one_event_per_task(void **state)
{
    (void)state;
    tg_profiler *p = tg_profiler_new();
    assert_int_equal(tg_profiler_start(p), 0);
    tg_graph *g = tg_graph_new();
    tg_value *root = small_graph(g);
    tg_value *r = tg_compute(root, NULL);
    assert_int_equal(tg_as_int(r), 78);
    tg_decref(r);
    assert_int_equal(tg_profiler_stop(p), 0);
    assert_int_equal(tg_profiler_n_tasks(p), 16);

    const char *path = tmp_path(".json");
    assert_int_equal(tg_profiler_write_trace(p, path), 0);
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    assert_non_null(doc);
    json_t *events = json_object_get(doc, "traceEvents"), *e;
    size_t i, n_x = 0, n_inc = 0, n_sum = 0;
    bool root_seen = false;
    json_array_foreach(events, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "ph")), "X"))
            continue;
        n_x++;
        const char *name = json_string_value(json_object_get(e, "name"));
        n_inc += strcmp(name, "tt_inc") == 0;
        n_sum += strcmp(name, "sum") == 0;
        assert_true(json_number_value(json_object_get(e, "ts")) >= 0);
        assert_true(json_number_value(json_object_get(e, "dur")) >= 0);
        assert_int_equal(json_integer_value(json_object_get(e, "tid")), 0);
        json_t *args = json_object_get(e, "args");
        const char *key = json_string_value(json_object_get(args, "key"));
        assert_memory_equal(key, name, strlen(name));
        root_seen |= strcmp(key, tg_key(root)) == 0;
        assert_false(json_is_true(json_object_get(args, "failed")));
    }
    assert_int_equal(n_x, 16);
    assert_int_equal(n_inc, 12);
    assert_int_equal(n_sum, 4);
    assert_true(root_seen);
    json_decref(doc);
    unlink(path);
    tg_graph_free(g);
    tg_profiler_free(p);
}

static void test_profiler_summary_groups_by_function(void **state)
{
    (void)state;
    tg_profiler *p = tg_profiler_new();
    assert_int_equal(tg_profiler_start(p), 0);
    tg_graph *g = tg_graph_new();
    tg_decref(tg_compute(small_graph(g), NULL));
    tg_profiler_stop(p);
    FILE *f = tmpfile();
    assert_int_equal(tg_profiler_summary(p, f), 0);
    char text[2048] = "";
    rewind(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    assert_memory_equal(text, "16 tasks, ", 10);
    assert_non_null(strstr(text, "\nfunction "));
    char name[32];
    size_t n;
    char *row = strstr(text, "\ntt_inc ");
    assert_non_null(row);
    assert_int_equal(sscanf(row, "%31s %zu", name, &n), 2);
    assert_int_equal(n, 12);
    row = strstr(text, "\nsum ");
    assert_non_null(row);
    assert_int_equal(sscanf(row, "%31s %zu", name, &n), 2);
    assert_int_equal(n, 4);
    assert_int_equal(tg_profiler_summary(p, NULL), TG_EINVAL);
    tg_graph_free(g);
    tg_profiler_free(p);
}

static void test_profiler_records_failures_and_stops(void **state)
{
    (void)state;
    tg_profiler *p = tg_profiler_new();
    assert_int_equal(tg_profiler_stop(p), TG_EINVAL);
    assert_int_equal(tg_profiler_start(p), 0);
    assert_int_equal(tg_profiler_start(p), TG_EINVAL);
    assert_non_null(strstr(tg_last_error(), "already started"));
    tg_graph *g = tg_graph_new();
    tg_value *bad = TG_DELAYED(g, tt_fail_neg, tg_int(-3));
    tg_decref(tg_compute(bad, NULL));
    assert_int_equal(tg_profiler_stop(p), 0);
    tg_decref(tg_compute(TG_DELAYED(g, tt_inc, tg_int(1)), NULL));
    assert_int_equal(tg_profiler_n_tasks(p), 1); /* stopped: not recorded */
    const char *path = tmp_path("_fail.json");
    assert_int_equal(tg_profiler_write_trace(p, path), 0);
    json_t *doc = json_load_file(path, 0, NULL);
    json_t *events = json_object_get(doc, "traceEvents"), *e;
    size_t i, n_failed = 0;
    json_array_foreach(events, i, e) n_failed +=
        json_is_true(json_object_get(json_object_get(e, "args"), "failed"));
    assert_int_equal(n_failed, 1);
    json_decref(doc);
    unlink(path);
    assert_int_equal(tg_profiler_write_trace(p, "/nonexistent/dir/t.json"),
                     TG_EIO);
    assert_non_null(strstr(tg_last_error(), "/nonexistent/dir/t.json"));
    tg_profiler_clear(p);
    assert_int_equal(tg_profiler_n_tasks(p), 0);
    tg_graph_free(g);
    tg_profiler_free(p);
    tg_profiler_free(NULL);
}

static void test_profiler_survives_out_of_memory(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *root = small_graph(g);
    tg__oom_inject(0, false);
    assert_null(tg_profiler_new());
    tg_profiler *p = tg_profiler_new();
    assert_int_equal(tg_profiler_start(p), 0);
    int n_ok = 0;
    for (long k = 0; k < 200; k++) {
        tg_profiler_clear(p);
        tg__oom_inject(k, false);
        tg_value *r = tg_compute(root, NULL);
        tg__oom_inject(-1, false);
        if (!tg_is_error(r)) {
            assert_int_equal(tg_as_int(r), 78);
            /* every task is either recorded or counted as dropped */
            assert_int_equal(tg_profiler_n_tasks(p) + tg_profiler_n_dropped(p),
                             16);
            n_ok++;
        }
        tg_decref(r);
    }
    assert_true(n_ok > 0);
    tg_profiler_free(p);
    tg_graph_free(g);
}

static void *compute_many(void *arg)
{
    tg_value *root = arg;
    for (int i = 0; i < 20; i++)
        tg_decref(tg_compute(root, NULL));
    return NULL;
}

static void test_profiler_records_concurrent_computes(void **state)
{
    (void)state;
    tg_profiler *p = tg_profiler_new();
    assert_int_equal(tg_profiler_start(p), 0);
    tg_graph *g = tg_graph_new();
    tg_value *root = small_graph(g);
    tg_key(root); /* format keys before threads share the graph */
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, compute_many, root);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(tg_profiler_stop(p), 0);
    assert_int_equal(tg_profiler_n_tasks(p), 4 * 20 * 16);
    tg_graph_free(g);
    tg_profiler_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profiler_trace_has_one_event_per_task),
        cmocka_unit_test(test_profiler_summary_groups_by_function),
        cmocka_unit_test(test_profiler_records_failures_and_stops),
        cmocka_unit_test(test_profiler_survives_out_of_memory),
        cmocka_unit_test(test_profiler_records_concurrent_computes),
    };
    return cmocka_run_group_tests_name("profiler", tests, NULL, NULL);
}
