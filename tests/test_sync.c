/* tests/test_sync.c - tg_compute on the sync scheduler: results, sharing,
 * errors, cancellation, callbacks. */
#include "test_util.h"

static void test_sync_inc_add_gives_five(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_scheduler *s = tg_scheduler_sync();
    assert_string_equal(tg_scheduler_name(s), "sync");
    tg_value *c = TG_DELAYED(g, tt_add, TG_DELAYED(g, tt_inc, tg_int(1)),
                             TG_DELAYED(g, tt_inc, tg_int(2)));
    tg_value *r = tg_compute(c, s);
    assert_int_equal(tg_typeof(r), TG_INT);
    assert_int_equal(tg_as_int(r), 5);
    tg_decref(r);
    tg_scheduler_free(s);
    tg_graph_free(g);
}

static void test_sync_compute_many_runs_shared_tasks_once(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    int calls = 0;
    tg_value *shared = tg_delayed_v(g, "shared", tt_count, &calls, 0, 1,
                                    (tg_value *[]){tg_int(10)});
    tg_value *t[3] = {TG_DELAYED(g, tt_inc, shared),
                      TG_DELAYED(g, tt_add, shared, shared), shared};
    tg_value *out[3];
    assert_int_equal(tg_compute_many(t, 3, out, NULL), 0);
    assert_int_equal(tg_as_int(out[0]), 11);
    assert_int_equal(tg_as_int(out[1]), 20);
    assert_int_equal(tg_as_int(out[2]), 10);
    assert_int_equal(calls, 1);
    for (int i = 0; i < 3; i++)
        tg_decref(out[i]);
    tg_graph_free(g);
}

static void test_sync_same_target_twice_gets_two_references(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    tg_value *t[2] = {a, a}, *out[2];
    assert_int_equal(tg_compute_many(t, 2, out, NULL), 0);
    assert_ptr_equal(out[0], out[1]);
    assert_int_equal(tg_as_int(out[0]), 2);
    tg_decref(out[0]);
    tg_decref(out[1]);
    tg_graph_free(g);
}

static void test_sync_second_compute_of_a_graph_works(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    int calls = 0;
    tg_value *a =
        tg_delayed_v(g, "a", tt_count, &calls, 0, 1, (tg_value *[]){tg_int(3)});
    tg_value *b = TG_DELAYED(g, tt_inc, a);
    tg_value *r1 = tg_compute(b, NULL);
    tg_value *c = TG_DELAYED(g, tt_add, b, tg_int(100)); /* grow it */
    tg_value *r2 = tg_compute(c, NULL);
    tg_value *r3 = tg_compute(b, NULL);
    assert_int_equal(tg_as_int(r1), 4);
    assert_int_equal(tg_as_int(r2), 104);
    assert_int_equal(tg_as_int(r3), 4);
    assert_int_equal(calls, 3); /* nothing is cached between computes */
    tg_decref(r1), tg_decref(r2), tg_decref(r3);
    tg_graph_free(g);
}

static void test_sync_error_names_failed_key_and_stops_dependents(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    int after = 0;
    tg_value *bad = TG_DELAYED(g, tt_fail_neg, tg_int(-1));
    tg_value *dep = tg_delayed_v(g, "dep", tt_count, &after, 0, 1, &bad);
    tg_value *r = tg_compute(TG_DELAYED(g, tt_inc, dep), NULL);
    assert_true(tg_is_error(r));
    assert_string_equal(tg_error_message(r), "boom");
    assert_string_equal(tg_error_key(r), tg_key(bad));
    assert_int_equal(after, 0);
    tg_decref(r);

    tg_value *t[2] = {TG_DELAYED(g, tt_inc, tg_int(1)), bad}, *out[2];
    assert_int_equal(tg_compute_many(t, 2, out, NULL), TG_ETASK);
    assert_ptr_equal(out[0], out[1]);
    assert_string_equal(tg_error_key(out[0]), tg_key(bad));
    tg_decref(out[0]), tg_decref(out[1]);
    tg_graph_free(g);
}

static void test_sync_error_inside_a_fused_chain_names_its_call(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *x = TG_DELAYED(g, tt_inc, tg_int(-5));
    tg_value *bad = TG_DELAYED(g, tt_fail_neg, x); /* -4: fails */
    tg_value *y = TG_DELAYED(g, tt_inc, TG_DELAYED(g, tt_inc, bad));
    tg_value *r = tg_compute(y, NULL);
    assert_string_equal(tg_error_key(r), tg_key(bad));
    tg_decref(r);
    tg_graph_free(g);
}

static tg_value *returns_null(tg_value *const *a, size_t n, void *ctx)
{
    (void)a, (void)n, (void)ctx;
    return NULL;
}

static void test_sync_task_returning_null_fails_cleanly(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *d = TG_DELAYED(g, returns_null, tg_int(1));
    tg_value *r = tg_compute(d, NULL);
    assert_true(tg_is_error(r));
    assert_string_equal(tg_error_message(r), "returns_null returned NULL");
    assert_string_equal(tg_error_key(r), tg_key(d));
    tg_decref(r);
    tg_graph_free(g);
}

static void test_sync_invalid_calls_return_errors(void **state)
{
    (void)state;
    tg_value *r = tg_compute(NULL, NULL);
    assert_true(tg_is_error(r));
    assert_non_null(strstr(tg_error_message(r), "NULL"));
    tg_decref(r);
    assert_int_equal(tg_compute_many(NULL, 1, NULL, NULL), TG_EINVAL);
    tg_value *out[1];
    assert_int_equal(tg_compute_many(NULL, 1, out, NULL), TG_EINVAL);
    assert_int_equal(tg_compute_many(NULL, 0, out, NULL), 0);
}

static void test_sync_cancelled_compute_runs_nothing(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    int calls = 0;
    tg_value *a =
        tg_delayed_v(g, "a", tt_count, &calls, 0, 1, (tg_value *[]){tg_int(1)});
    tg_cancel *c = tg_cancel_new();
    tg_cancel_request(c);
    assert_true(tg_cancel_requested(c));
    tg_compute_opts o = {.cancel = c};
    tg_value *out;
    assert_int_equal(tg_compute_with(&a, 1, &out, NULL, &o), TG_ECANCELED);
    assert_string_equal(tg_error_message(out), "compute cancelled");
    assert_int_equal(calls, 0);
    tg_decref(out);
    tg_cancel_reset(c);
    assert_int_equal(tg_compute_with(&a, 1, &out, NULL, &o), 0);
    assert_int_equal(tg_as_int(out), 1);
    tg_decref(out);
    tg_cancel_free(c);
    tg_graph_free(g);
}

/* Sleeps 2 ms, then returns its argument. */
static tg_value *slow(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    uint64_t until = tg_now_ns() + 2000000;
    while (tg_now_ns() < until)
        ;
    return tg_incref(a[0]);
}

static void test_sync_timeout_stops_a_long_compute(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *v[2000];
    for (int i = 0; i < 2000; i++) /* 4 s of work if run to the end */
        v[i] = TG_DELAYED(g, slow, tg_int(i));
    tg_value *root = tt_tree_sum(g, v, 2000, 8);
    tg_compute_opts o = {.timeout_ms = 50};
    tg_value *out;
    uint64_t t0 = tg_now_ns();
    assert_int_equal(tg_compute_with(&root, 1, &out, NULL, &o), TG_ECANCELED);
    assert_true(tg_now_ns() - t0 < 2000000000ull);
    assert_non_null(strstr(tg_error_message(out), "timeout of 50 ms"));
    tg_decref(out);
    tg_graph_free(g);
}

typedef struct trace {
    char events[64];
    size_t n;
    size_t n_tasks;
} trace;

static void on_start(void *ud, uint64_t id, size_t n_tasks)
{
    trace *t = ud;
    (void)id;
    t->events[t->n++] = 'S';
    t->n_tasks = n_tasks;
}
static void on_begin(void *ud, const tg_task_info *i)
{
    trace *t = ud;
    assert_non_null(i->key);
    assert_int_equal(i->end_ns, 0);
    t->events[t->n++] = 'b';
}
static void on_end(void *ud, const tg_task_info *i)
{
    trace *t = ud;
    assert_true(i->end_ns >= i->begin_ns);
    t->events[t->n++] = i->failed ? 'x' : 'e';
}
static void on_finish(void *ud, uint64_t id, int status, uint64_t ns)
{
    trace *t = ud;
    (void)id, (void)ns;
    t->events[t->n++] = status == 0 ? 'F' : 'X';
}

static void test_sync_callbacks_fire_in_order(void **state)
{
    (void)state;
    trace t = {{0}, 0, 0};
    tg_callbacks cb = {on_start, on_begin, on_end, on_finish, &t};
    int h = tg_callbacks_add(&cb);
    assert_true(h > 0);
    tg_graph *g = tg_graph_new();
    tg_value *c = TG_DELAYED(g, tt_add, TG_DELAYED(g, tt_inc, tg_int(1)),
                             TG_DELAYED(g, tt_inc, tg_int(2)));
    tg_value *r = tg_compute(c, NULL);
    assert_string_equal(t.events, "SbebebeF");
    assert_int_equal(t.n_tasks, 3);
    tg_decref(r);
    memset(&t, 0, sizeof t);
    r = tg_compute(TG_DELAYED(g, tt_fail_neg, tg_int(-1)), NULL);
    assert_string_equal(t.events, "SbxX");
    tg_decref(r);
    assert_int_equal(tg_callbacks_remove(h), 0);
    assert_int_equal(tg_callbacks_remove(h), TG_ENOENT);
    memset(&t, 0, sizeof t);
    r = tg_compute(c, NULL);
    assert_int_equal(t.n, 0);
    tg_decref(r);
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_inc_add_gives_five),
        cmocka_unit_test(test_sync_compute_many_runs_shared_tasks_once),
        cmocka_unit_test(test_sync_same_target_twice_gets_two_references),
        cmocka_unit_test(test_sync_second_compute_of_a_graph_works),
        cmocka_unit_test(test_sync_error_names_failed_key_and_stops_dependents),
        cmocka_unit_test(test_sync_error_inside_a_fused_chain_names_its_call),
        cmocka_unit_test(test_sync_task_returning_null_fails_cleanly),
        cmocka_unit_test(test_sync_invalid_calls_return_errors),
        cmocka_unit_test(test_sync_cancelled_compute_runs_nothing),
        cmocka_unit_test(test_sync_timeout_stops_a_long_compute),
        cmocka_unit_test(test_sync_callbacks_fire_in_order),
    };
    return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
