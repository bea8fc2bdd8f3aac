/* tests/test_callbacks.c - scheduler callbacks: order, contents, removal.
 *
 * Each check is a function of a tg_scheduler *, so every scheduler runs
 * the same assertions; add a scheduler by adding a test that calls them.
 */
#include <pthread.h>

#include "test_util.h"

enum { EV_START, EV_BEGIN, EV_END, EV_FINISH };

typedef struct event {
    int kind;
    uint64_t compute_id;
    uint32_t task;
    int worker;
    uint64_t begin_ns, end_ns;
    bool failed;
    int status;
    size_t n_tasks;
    char name[16];
    char key[64];
} event;

typedef struct log {
    pthread_mutex_t lock;
    event ev[4096];
    size_t n;
} log_t;

static void add(log_t *l, event e)
{
    pthread_mutex_lock(&l->lock);
    if (l->n < 4096)
        l->ev[l->n++] = e;
    pthread_mutex_unlock(&l->lock);
}

static void on_start(void *ud, uint64_t id, size_t n)
{
    add(ud, (event){.kind = EV_START, .compute_id = id, .n_tasks = n});
}

static void on_task(void *ud, const tg_task_info *i, int kind)
{
    event e = {.kind = kind,
               .compute_id = i->compute_id,
               .task = i->task,
               .worker = i->worker,
               .begin_ns = i->begin_ns,
               .end_ns = i->end_ns,
               .failed = i->failed};
    snprintf(e.name, sizeof e.name, "%s", i->name);
    snprintf(e.key, sizeof e.key, "%s", i->key);
    add(ud, e);
}

static void on_begin(void *ud, const tg_task_info *i)
{
    on_task(ud, i, EV_BEGIN);
}

static void on_end(void *ud, const tg_task_info *i)
{
    on_task(ud, i, EV_END);
}

static void on_finish(void *ud, uint64_t id, int status, uint64_t ns)
{
    (void)ns;
    add(ud, (event){.kind = EV_FINISH, .compute_id = id, .status = status});
}

static log_t *log_new(int *handle)
{
    log_t *l = calloc(1, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
    tg_callbacks cb = {on_start, on_begin, on_end, on_finish, l};
    *handle = tg_callbacks_add(&cb);
    assert_true(*handle > 0);
    return l;
}

static void log_free(log_t *l, int handle)
{
    assert_int_equal(tg_callbacks_remove(handle), 0);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Index of the event of kind for the task with key, or -1. */
static long find_key(const log_t *l, int kind, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->ev[i].kind == kind && strcmp(l->ev[i].key, key) == 0)
            return (long)i;
    return -1;
}

/* 64 leaves inc(i) and a tree of sums with fan-in 4 (16 + 4 + 1): each
 * sum must begin after its four inputs ended, every begin precede its
 * end, start come first and finish last. */
static void check_order(tg_scheduler *s, int max_workers)
{
    int h;
    log_t *l = log_new(&h);
    tg_graph *g = tg_graph_new();
    tg_value *level[64], *inputs[64][4];
    size_t n = 64, n_sums = 0;
    tg_value *sums[21];
    for (int i = 0; i < 64; i++)
        level[i] = TG_DELAYED(g, tt_inc, tg_int(i));
    while (n > 1) {
        for (size_t i = 0; i < n / 4; i++) {
            memcpy(inputs[n_sums], &level[4 * i], 4 * sizeof(tg_value *));
            sums[n_sums] =
                tg_delayed_v(g, "sum", tt_sum, NULL, 0, 4, &level[4 * i]);
            level[i] = sums[n_sums++];
        }
        n /= 4;
    }
    tg_value *r = tg_compute(level[0], s);
    assert_int_equal(tg_as_int(r), 64 * 63 / 2 + 64);
    tg_decref(r);

    const size_t n_tasks = 64 + 21;
    assert_int_equal(l->n, 2 * n_tasks + 2);
    assert_int_equal(l->ev[0].kind, EV_START);
    assert_int_equal(l->ev[0].n_tasks, n_tasks);
    assert_int_equal(l->ev[l->n - 1].kind, EV_FINISH);
    assert_int_equal(l->ev[l->n - 1].status, 0);
    for (size_t i = 0; i < l->n; i++) {
        assert_true(l->ev[i].compute_id == l->ev[0].compute_id);
        if (l->ev[i].kind != EV_END)
            continue;
        long b = find_key(l, EV_BEGIN, l->ev[i].key);
        assert_true(b >= 0 && (size_t)b < i);
        assert_true(l->ev[i].end_ns >= l->ev[i].begin_ns);
        assert_true(l->ev[i].begin_ns == l->ev[b].begin_ns);
        assert_true(l->ev[i].worker >= 0 && l->ev[i].worker < max_workers);
        assert_false(l->ev[i].failed);
    }
    for (size_t k = 0; k < n_sums; k++) {
        long b = find_key(l, EV_BEGIN, tg_key(sums[k]));
        assert_true(b > 0);
        for (int j = 0; j < 4; j++) {
            long e = find_key(l, EV_END, tg_key(inputs[k][j]));
            assert_true(e > 0 && e < b);
        }
    }
    tg_graph_free(g);
    log_free(l, h);
}

/* A failing task: its end says failed, finish says TG_ETASK, and its
 * dependents never begin. */
static void check_failure(tg_scheduler *s)
{
    int h;
    log_t *l = log_new(&h);
    tg_graph *g = tg_graph_new();
    tg_value *bad = TG_DELAYED(g, tt_fail_neg, tg_int(-1));
    tg_value *root =
        TG_DELAYED(g, tt_add, bad, TG_DELAYED(g, tt_inc, tg_int(1)));
    tg_value *r = tg_compute(root, s);
    assert_true(tg_is_error(r));
    tg_decref(r);
    assert_int_equal(l->ev[l->n - 1].kind, EV_FINISH);
    assert_int_equal(l->ev[l->n - 1].status, TG_ETASK);
    size_t n_failed = 0, n_add = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->ev[i].kind == EV_END && l->ev[i].failed)
            n_failed++;
        if (l->ev[i].kind == EV_BEGIN && !strcmp(l->ev[i].name, "tt_add"))
            n_add++;
    }
    assert_int_equal(n_failed, 1);
    assert_int_equal(n_add, 0); /* the dependent never begins */
    tg_graph_free(g);
    log_free(l, h);
}

static void test_callbacks_fire_in_order_on_sync(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_sync();
    check_order(s, 1);
    tg_scheduler_free(s);
}

static void test_callbacks_report_failure_on_sync(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_sync();
    check_failure(s);
    tg_scheduler_free(s);
}

static void test_callbacks_fire_in_order_on_threads(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(4);
    assert_non_null(s);
    for (int round = 0; round < 20; round++) /* vary the interleaving */
        check_order(s, 4);
    tg_scheduler_free(s);
}

static void test_callbacks_report_failure_on_threads(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(2);
    assert_non_null(s);
    check_failure(s);
    tg_scheduler_free(s);
}

static void test_callbacks_removed_stop_firing(void **state)
{
    (void)state;
    int h;
    log_t *l = log_new(&h);
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    tg_decref(tg_compute(a, NULL));
    size_t n = l->n;
    assert_int_equal(n, 4);
    assert_int_equal(tg_callbacks_remove(h), 0);
    tg_decref(tg_compute(a, NULL));
    assert_int_equal(l->n, n);
    assert_int_equal(tg_callbacks_remove(h), TG_ENOENT);
    assert_int_equal(tg_callbacks_add(NULL), TG_EINVAL);
    pthread_mutex_destroy(&l->lock);
    free(l);
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callbacks_fire_in_order_on_sync),
        cmocka_unit_test(test_callbacks_report_failure_on_sync),
        cmocka_unit_test(test_callbacks_fire_in_order_on_threads),
        cmocka_unit_test(test_callbacks_report_failure_on_threads),
        cmocka_unit_test(test_callbacks_removed_stop_firing),
    };
    return cmocka_run_group_tests_name("callbacks", tests, NULL, NULL);
}
