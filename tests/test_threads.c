/* tests/test_threads.c - the work-stealing scheduler: same results as
 * sync on seeded random DAGs, errors, cancellation, nested and
 * concurrent computes, memory release, callbacks, out of memory. */
#include <pthread.h>
#include <time.h>

#include "runtime/alloc_internal.h"
#include "test_util.h"

/* --- task functions ---------------------------------------------------- */

/* Folds a value into a hash: ints as they are, lists item by item. */
static uint64_t fold(uint64_t h, const tg_value *v)
{
    if (tg_typeof(v) == TG_LIST) {
        for (size_t i = 0; i < tg_list_len(v); i++)
            h = fold(h, tg_list_get(v, i));
        return h * 31 + 7;
    }
    return (h ^ (uint64_t)tg_as_int(v)) * 0x100000001b3ull;
}

/* Mixes its arguments (in order) with ctx: a result that depends on
 * every input, so a wrong or missing input shows. */
static tg_value *mix(tg_value *const *a, size_t n, void *ctx)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(uintptr_t)ctx;
    for (size_t i = 0; i < n; i++)
        h = fold(h, a[i]);
    return tg_int((int64_t)(h >> 2));
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sleeps 2 ms, counts the call in *(int *)ctx, returns its argument. */
static tg_value *slow_count(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    nap_ms(2);
    __atomic_fetch_add((int *)ctx, 1, __ATOMIC_RELAXED);
    return tg_incref(a[0]);
}

/* --- random DAGs against sync ------------------------------------------ */

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* An argument for node i: an earlier node (mostly a recent one), a
 * literal, or a list mixing both. */
static tg_value *random_arg(tg_value **nodes, size_t i, uint64_t *s,
                            bool allow_list)
{
    uint64_t r = next_rand(s) % 10;
    if (i > 0 && r < 6) {
        size_t back = 1 + next_rand(s) % (next_rand(s) % 2 ? 4 : i);
        return nodes[back > i ? 0 : i - back];
    }
    if (r < 9 || !allow_list)
        return tg_int((int64_t)(next_rand(s) % 1000));
    size_t k = 1 + next_rand(s) % 3;
    tg_value *items[3];
    for (size_t m = 0; m < k; m++)
        items[m] = random_arg(nodes, i, s, false);
    return tg_list_from(k, items);
}

/* A random DAG of up to 80 calls, maybe with one failing call, and up to
 * four targets in out[]; returns the number of targets. */
static size_t random_dag(tg_graph *g, uint64_t seed, tg_value **out)
{
    uint64_t s = seed;
    size_t n = 1 + next_rand(&s) % 80;
    tg_value *nodes[80];
    size_t fail_at = next_rand(&s) % 6 == 0 ? next_rand(&s) % n : n;
    for (size_t i = 0; i < n; i++) {
        if (i == fail_at) {
            tg_value *neg = tg_int(-1 - (int64_t)i);
            nodes[i] = tg_delayed_v(g, "fail", tt_fail_neg, NULL, 0, 1, &neg);
            continue;
        }
        tg_value *args[5];
        size_t nargs = next_rand(&s) % 5;
        for (size_t k = 0; k < nargs; k++)
            args[k] = random_arg(nodes, i, &s, true);
        void *ctx = (void *)(uintptr_t)(next_rand(&s) % 3);
        nodes[i] = tg_delayed_v(g, "mix", mix, ctx, 0, nargs, args);
    }
    size_t n_targets = 1 + next_rand(&s) % 4;
    for (size_t k = 0; k < n_targets; k++)
        out[k] = nodes[n - 1 - next_rand(&s) % (n < 8 ? n : 8)];
    return n_targets;
}

static void assert_same(const tg_value *want, const tg_value *got)
{
    assert_non_null(got);
    assert_int_equal(tg_is_error(want), tg_is_error(got));
    if (tg_is_error(want)) {
        assert_string_equal(tg_error_message(want), tg_error_message(got));
        assert_string_equal(tg_error_key(want), tg_error_key(got));
    } else {
        assert_true(tg_equal(want, got));
    }
}

static void test_threads_matches_sync_on_random_dags(void **state)
{
    (void)state;
    tg_scheduler *sync = tg_scheduler_sync();
    tg_scheduler *pools[3] = {tg_scheduler_threads(1), tg_scheduler_threads(2),
                              tg_scheduler_threads(3)};
    size_t n_dags = tt_scale(3000, 150);
    for (uint64_t seed = 1; seed <= n_dags; seed++) {
        tg_graph *g = tg_graph_new();
        tg_value *targets[4], *want[4], *got[4];
        size_t n = random_dag(g, seed, targets);
        tg_compute_opts o = {.no_fuse = seed % 3 == 0};
        int rc_want = tg_compute_with(targets, n, want, sync, &o);
        int rc_got = tg_compute_with(targets, n, got, pools[seed % 3], &o);
        assert_int_equal(rc_want, rc_got);
        for (size_t k = 0; k < n; k++) {
            assert_same(want[k], got[k]);
            tg_decref(want[k]);
            tg_decref(got[k]);
        }
        tg_graph_free(g);
    }
    for (int i = 0; i < 3; i++)
        tg_scheduler_free(pools[i]);
    tg_scheduler_free(sync);
}

/* --- construction ------------------------------------------------------ */

static void test_threads_rejects_bad_thread_counts(void **state)
{
    (void)state;
    assert_null(tg_scheduler_threads(-1));
    assert_non_null(strstr(tg_last_error(), "-1 threads"));
    assert_null(tg_scheduler_threads(100000));
    tg_scheduler *s = tg_scheduler_threads(0); /* one per core */
    assert_non_null(s);
    assert_string_equal(tg_scheduler_name(s), "threads");
    tg_value *five = tg_int(5);
    tg_value *r = tg_compute(five, s); /* a plain value: as is */
    assert_int_equal(tg_as_int(r), 5);
    tg_decref(r);
    tg_decref(five);
    tg_scheduler_free(s);
}

static void test_threads_start_and_stop_many_pools(void **state)
{
    (void)state;
    for (int i = 0; i < 40; i++) {
        tg_scheduler *s = tg_scheduler_threads(1 + i % 4);
        assert_non_null(s);
        if (i % 2) {
            tg_graph *g = tg_graph_new();
            tg_value *x = TG_DELAYED(g, tt_inc, tg_int(i));
            tg_value *r = tg_compute(x, s);
            assert_int_equal(tg_as_int(r), i + 1);
            tg_decref(r);
            tg_graph_free(g);
        }
        tg_scheduler_free(s);
    }
}

/* --- results and memory ------------------------------------------------ */

static void test_threads_sums_a_wide_tree(void **state)
{
    (void)state;
    size_t n = tt_scale(200000, 5000);
    tg_scheduler *s = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    tg_value **v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = TG_DELAYED(g, tt_inc, tg_int((int64_t)i));
    tg_value *r = tg_compute(tt_tree_sum(g, v, n, 8), s);
    assert_int_equal(tg_as_int(r), (int64_t)(n * (n + 1) / 2));
    tg_decref(r);
    tg_graph_free(g);
    free(v);
    tg_scheduler_free(s);
}

enum { MIB = 1 << 20 };

/* A leaf of 1 MiB (scaled down under valgrind) filled with its index. */
static tg_value *big_leaf(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    size_t len = (size_t)(uintptr_t)ctx;
    unsigned char *buf = malloc(len);
    if (!buf)
        return tg_error("out of memory");
    memset(buf, (int)(tg_as_int(a[0]) & 0xff), len);
    tg_value *v = tg_object(buf, free, "block");
    if (!v)
        free(buf);
    return v;
}

/* Byte-wise sum of two blocks: a new block of the same size. */
static tg_value *big_add(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    size_t len = (size_t)(uintptr_t)ctx;
    const unsigned char *x = tg_as_object(a[0]), *y = tg_as_object(a[1]);
    unsigned char *buf = malloc(len);
    if (!buf)
        return tg_error("out of memory");
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(x[i] + y[i]);
    tg_value *v = tg_object(buf, free, "block");
    if (!v)
        free(buf);
    return v;
}

/* 2,000 blocks of 1 MiB reduced pairwise on 2 threads: each block dies
 * as soon as it is added, so the peak stays far below the 2 GB that
 * keeping them would take. */
static void test_threads_frees_intermediates_early(void **state)
{
    (void)state;
    size_t n = tt_scale(2000, 64), len = tt_scale(MIB, 64 * 1024);
    void *ctx = (void *)(uintptr_t)len;
    tg_scheduler *s = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    tg_value **v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        tg_value *idx = tg_int((int64_t)i);
        v[i] = tg_delayed_v(g, "leaf", big_leaf, ctx, 0, 1, &idx);
    }
    for (size_t m = n; m > 1;) {
        size_t k = 0;
        for (size_t i = 0; i < m; i += 2)
            v[k++] = i + 1 < m
                         ? tg_delayed_v(g, "add", big_add, ctx, 0, 2, &v[i])
                         : v[i];
        m = k;
    }
    tg_value *r = tg_compute(v[0], s);
    unsigned char want = (unsigned char)((n * (n - 1) / 2) & 0xff);
    const unsigned char *got = tg_as_object(r);
    assert_non_null(got);
    assert_int_equal(got[0], want);
    assert_int_equal(got[len - 1], want);
    long peak_kib = tt_peak_rss_kib();
    print_message("peak RSS %ld MiB for %zu blocks of %zu KiB\n",
                  peak_kib / 1024, n, len / 1024);
    if (tt_check_rss())
        assert_true(peak_kib < 150 * 1024);
    tg_decref(r);
    tg_graph_free(g);
    free(v);
    tg_scheduler_free(s);
}

/* --- errors and cancellation ------------------------------------------- */

/* One failing call among many: the compute returns its key and message,
 * and its dependent never runs. */
static void test_threads_error_names_failed_key(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    int after = 0;
    size_t n = 500;
    tg_value **v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = TG_DELAYED(g, tt_inc, tg_int((int64_t)i));
    tg_value *bad = TG_DELAYED(g, tt_fail_neg, tg_int(-3));
    /* Two consumers, so the failing call stays a task of its own. */
    v[n / 2] = tg_delayed_v(g, "count", tt_count, &after, TG_IMPURE, 1, &bad);
    v[n - 1] = tg_delayed_v(g, "count", tt_count, &after, TG_IMPURE, 1, &bad);
    tg_value *out[2];
    tg_value *targets[2] = {tt_tree_sum(g, v, n, 8), tg_int(1)};
    assert_int_equal(tg_compute_many(targets, 2, out, s), TG_ETASK);
    assert_ptr_equal(out[0], out[1]);
    assert_string_equal(tg_error_message(out[0]), "boom");
    assert_string_equal(tg_error_key(out[0]), tg_key(bad));
    assert_int_equal(after, 0);
    tg_decref(out[0]);
    tg_decref(out[1]);
    tg_decref(targets[1]);
    tg_graph_free(g);
    free(v);
    tg_scheduler_free(s);
}

/* 400 tasks of 2 ms each (0.4 s on 2 threads) summed. */
static tg_value *slow_graph(tg_graph *g, int *count)
{
    enum { N = 400 };
    tg_value *v[N];
    for (int i = 0; i < N; i++) {
        tg_value *x = tg_int(i);
        v[i] = tg_delayed_v(g, "slow", slow_count, count, 0, 1, &x);
    }
    return tt_tree_sum(g, v, N, 8);
}

typedef struct canceller {
    tg_cancel *c;
    long after_ms;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *k = arg;
    nap_ms(k->after_ms);
    tg_cancel_request(k->c);
    return NULL;
}

static void test_threads_cancel_from_another_thread(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    int count = 0;
    tg_value *root = slow_graph(g, &count);
    canceller k = {tg_cancel_new(), 30};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &k), 0);
    tg_compute_opts o = {.cancel = k.c};
    tg_value *out;
    uint64_t t0 = tg_now_ns();
    assert_int_equal(tg_compute_with(&root, 1, &out, s, &o), TG_ECANCELED);
    uint64_t ms = (tg_now_ns() - t0) / 1000000u;
    pthread_join(th, NULL);
    assert_string_equal(tg_error_message(out), "compute cancelled");
    assert_true(count > 0 && count < 400);
    assert_true(ms < 300);
    tg_decref(out);
    /* The same graph and token, reset, then compute in full. */
    tg_cancel_reset(k.c);
    count = 0;
    assert_int_equal(tg_compute_with(&root, 1, &out, s, &o), 0);
    assert_int_equal(tg_as_int(out), 399 * 400 / 2);
    assert_int_equal(count, 400);
    tg_decref(out);
    tg_cancel_free(k.c);
    tg_graph_free(g);
    tg_scheduler_free(s);
}

static void test_threads_cancel_before_start_runs_nothing(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    int count = 0;
    tg_value *root = slow_graph(g, &count);
    tg_compute_opts o = {.cancel = tg_cancel_new()};
    tg_cancel_request(o.cancel);
    tg_value *out;
    assert_int_equal(tg_compute_with(&root, 1, &out, s, &o), TG_ECANCELED);
    assert_true(tg_is_error(out));
    assert_int_equal(count, 0);
    tg_decref(out);
    tg_cancel_free(o.cancel);
    tg_graph_free(g);
    tg_scheduler_free(s);
}

static void test_threads_timeout_cancels(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    int count = 0;
    tg_value *root = slow_graph(g, &count);
    tg_compute_opts o = {.timeout_ms = 30};
    tg_value *out;
    uint64_t t0 = tg_now_ns();
    assert_int_equal(tg_compute_with(&root, 1, &out, s, &o), TG_ECANCELED);
    uint64_t ms = (tg_now_ns() - t0) / 1000000u;
    assert_string_equal(tg_error_message(out),
                        "compute cancelled: timeout of 30 ms passed");
    assert_true(count > 0 && count < 400);
    assert_true(ms >= 30 && ms < 300);
    tg_decref(out);
    tg_graph_free(g);
    tg_scheduler_free(s);
}

/* --- nested and concurrent computes ------------------------------------ */

typedef struct nest {
    tg_scheduler *s;
    int depth; /* levels of nesting below this one */
} nest;

/* Computes, on the pool in ctx, the sum of inc(k * 10 + i) for i < 10,
 * each inc itself a nested compute while depth > 0. */
static tg_value *nested_sum(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    const nest *up = ctx;
    nest down = {up->s, up->depth - 1};
    int64_t k = tg_as_int(a[0]);
    tg_graph *g = tg_graph_new();
    tg_value *v[10];
    for (int i = 0; i < 10; i++) {
        tg_value *x = tg_int(k * 10 + i);
        v[i] = up->depth > 0
                   ? tg_delayed_v(g, "nested", nested_sum, &down, 0, 1, &x)
                   : tg_delayed_v(g, "inc", tt_inc, NULL, 0, 1, &x);
    }
    tg_value *r = tg_compute(tt_tree_sum(g, v, 10, 4), up->s);
    tg_graph_free(g);
    return r;
}

/* What nested_sum(k) returns at a depth. */
static int64_t nested_want(int64_t k, int depth)
{
    int64_t s = 0;
    for (int i = 0; i < 10; i++)
        s += depth > 0 ? nested_want(k * 10 + i, depth - 1) : k * 10 + i + 1;
    return s;
}

/* Tasks that compute sub-graphs on their own pool, two levels deep: on a
 * single worker this deadlocks unless the waiting worker keeps running
 * tasks. */
static void test_threads_nested_compute_does_not_deadlock(void **state)
{
    (void)state;
    for (int nt = 1; nt <= 2; nt++) {
        tg_scheduler *s = tg_scheduler_threads(nt);
        nest top = {s, 1};
        tg_graph *g = tg_graph_new();
        tg_value *v[20];
        int64_t want = 0;
        for (int k = 0; k < 20; k++) {
            tg_value *x = tg_int(k);
            v[k] = tg_delayed_v(g, "nested", nested_sum, &top, 0, 1, &x);
            want += nested_want(k, 1);
        }
        tg_value *r = tg_compute(tt_tree_sum(g, v, 20, 8), s);
        assert_false(tg_is_error(r));
        assert_int_equal(tg_as_int(r), want);
        tg_decref(r);
        tg_graph_free(g);
        tg_scheduler_free(s);
    }
}

/* Computes fail_neg(-k) on the pool in ctx and returns what it gets: a
 * nested failure, which keeps the key of the inner call. */
static tg_value *nested_fail(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    tg_graph *g = tg_graph_new();
    tg_value *bad = TG_DELAYED(g, tt_fail_neg, tg_int(-tg_as_int(a[0])));
    tg_value *r = tg_compute(bad, ctx); /* the error holds copies */
    tg_graph_free(g);
    return r;
}

static void test_threads_nested_error_reaches_caller(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    tg_value *four = tg_int(4);
    tg_value *inner =
        tg_delayed_v(g, "nested_fail", nested_fail, s, 0, 1, &four);
    int count = 0;
    tg_value *outer = tg_delayed_v(g, "count", tt_count, &count, 0, 1, &inner);
    tg_compute_opts o = {.no_fuse = true};
    tg_value *r;
    assert_int_equal(tg_compute_with(&outer, 1, &r, s, &o), TG_ETASK);
    assert_string_equal(tg_error_message(r), "boom");
    assert_non_null(strstr(tg_error_key(r), "tt_fail_neg-"));
    assert_int_equal(count, 0);
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(s);
}

typedef struct client {
    tg_scheduler *s;
    int id;
    int n_ok;
} client;

/* One of several threads computing their own graphs on a shared pool. */
static void *client_main(void *arg)
{
    client *c = arg;
    for (int round = 0; round < 30; round++) {
        tg_graph *g = tg_graph_new();
        size_t n = 50 + (size_t)round * 7;
        tg_value *v[300];
        for (size_t i = 0; i < n; i++)
            v[i] = TG_DELAYED(g, tt_inc, tg_int(c->id * 1000 + (int64_t)i));
        tg_value *r = tg_compute(tt_tree_sum(g, v, n, 3), c->s);
        int64_t want = (int64_t)n * c->id * 1000 + (int64_t)(n * (n + 1) / 2);
        c->n_ok += tg_as_int(r) == want;
        tg_decref(r);
        tg_graph_free(g);
    }
    return NULL;
}

static void test_threads_concurrent_computes_share_a_pool(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(2);
    pthread_t th[4];
    client c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (client){s, i + 1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, client_main, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].n_ok, 30);
    }
    tg_scheduler_free(s);
}

/* --- callbacks and out of memory --------------------------------------- */

typedef struct seen {
    int begins, ends, bad_workers;
} seen;

static void on_begin(void *ud, const tg_task_info *info)
{
    seen *s = ud;
    __atomic_fetch_add(&s->begins, 1, __ATOMIC_RELAXED);
    if (info->worker < 0 || info->worker >= 2 || info->end_ns != 0)
        __atomic_fetch_add(&s->bad_workers, 1, __ATOMIC_RELAXED);
}

static void on_end(void *ud, const tg_task_info *info)
{
    seen *s = ud;
    __atomic_fetch_add(&s->ends, 1, __ATOMIC_RELAXED);
    if (info->end_ns < info->begin_ns)
        __atomic_fetch_add(&s->bad_workers, 1, __ATOMIC_RELAXED);
}

static void test_threads_callbacks_see_every_task(void **state)
{
    (void)state;
    seen s = {0, 0, 0};
    tg_callbacks cb = {.task_begin = on_begin, .task_end = on_end, .ud = &s};
    int h = tg_callbacks_add(&cb);
    assert_true(h > 0);
    tg_scheduler *pool = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    tg_value *v[100];
    for (int i = 0; i < 100; i++)
        v[i] = TG_DELAYED(g, tt_inc, tg_int(i));
    tg_value *r = tg_compute(tt_tree_sum(g, v, 100, 8), pool);
    assert_int_equal(tg_as_int(r), 5050);
    assert_int_equal(s.begins, 116); /* 100 + 13 + 2 + 1 */
    assert_int_equal(s.ends, 116);
    assert_int_equal(s.bad_workers, 0);
    assert_int_equal(tg_callbacks_remove(h), 0);
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(pool);
}

/* A CSV shuffle's shape: block counts, a prefix of them all, a read
 * per block after the prefix, a sample per read, a barrier on the
 * samples, then many tasks on the reads (n * n picks): the static order
 * puts the reads first, and everything from well before the middle on
 * waits for the barrier.  The reads only sleep, so a second worker gets
 * to run some of them however busy the machine is. */
static tg_value *slow_read(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return tg_int(tg_as_int(a[0]) + 1);
}

typedef struct read_workers {
    int mask; /* bit w: worker w ran a read */
} read_workers;

static void on_read_end(void *ud, const tg_task_info *info)
{
    read_workers *rw = ud;
    if (strcmp(info->name, "slow_read") == 0 && info->worker < 30)
        __atomic_fetch_or(&rw->mask, 1 << info->worker, __ATOMIC_RELAXED);
}

/* Ready tasks early in the order are shared even while the middle of
 * the order waits: the reads before a barrier run on both workers. */
static void test_threads_share_early_ready_tasks(void **state)
{
    (void)state;
    read_workers rw = {0};
    tg_callbacks cb = {.task_end = on_read_end, .ud = &rw};
    int h = tg_callbacks_add(&cb);
    assert_true(h > 0);
    tg_scheduler *pool = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    enum { N = 16 };
    tg_value *counts[N], *reads[N], *samples[N];
    for (int i = 0; i < N; i++)
        counts[i] = TG_DELAYED(g, tt_inc, tg_int(i));
    tg_value *start = TG_DELAYED(g, tt_inc, tt_tree_sum(g, counts, N, N));
    for (int i = 0; i < N; i++) {
        reads[i] = tg_delayed(g, "slow_read", slow_read, 2, start, tg_int(i));
        samples[i] = TG_DELAYED(g, tt_inc, reads[i]);
    }
    tg_value *barrier = tt_tree_sum(g, samples, N, N);
    tg_value *work[N * N];
    for (int i = 0; i < N * N; i++)
        work[i] = tg_delayed(g, "pick", tt_sum, 3, barrier, reads[i % N],
                             tg_int(i)); /* each its own call */
    tg_value *r = tg_compute(tt_tree_sum(g, work, N * N, 8), pool);
    int64_t read = N * (N + 1) / 2 + 2, pick = N * (read + 1) + read;
    assert_int_equal(tg_as_int(r), N * N * pick + N * N * (N * N - 1) / 2);
    assert_int_equal(rw.mask, 3);
    assert_int_equal(tg_callbacks_remove(h), 0);
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(pool);
}

/* Per worker: how many slow tasks had ended when it began its first. */
typedef struct first_begins {
    int ended;       /* slow tasks ended so far */
    int seen[2];     /* worker w has begun a slow task */
    int ended_at[2]; /* `ended` when it did */
} first_begins;

static void on_slow_begin(void *ud, const tg_task_info *info)
{
    first_begins *fb = ud;
    if (strcmp(info->name, "slow_read") != 0 || info->worker > 1)
        return;
    if (!__atomic_exchange_n(&fb->seen[info->worker], 1, __ATOMIC_ACQ_REL))
        fb->ended_at[info->worker] =
            __atomic_load_n(&fb->ended, __ATOMIC_ACQUIRE);
}

static void on_slow_end(void *ud, const tg_task_info *info)
{
    first_begins *fb = ud;
    if (strcmp(info->name, "slow_read") == 0)
        __atomic_fetch_add(&fb->ended, 1, __ATOMIC_ACQ_REL);
}

/* The middle of the order waits for its inputs, and so do the tasks
 * just after it, but a ready task follows a few places on: the second
 * worker starts there at once, not after the first has scanned through
 * the slow tasks before the middle.  Static order: seven slow reads, the
 * eighth fused with p = their sum, 14 tasks that wait for p, then ten
 * independent slow reads; the middle (task 16) is one of the 14. */
static void test_threads_split_just_past_a_waiting_middle(void **state)
{
    (void)state;
    first_begins fb = {0};
    tg_callbacks cb = {
        .task_begin = on_slow_begin, .task_end = on_slow_end, .ud = &fb};
    int h = tg_callbacks_add(&cb);
    assert_true(h > 0);
    tg_scheduler *pool = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    enum { A = 8, W = 14, C = 10 };
    tg_value *a[A], *t[W + C], *out[W + C];
    for (int i = 0; i < A; i++)
        a[i] = tg_delayed(g, "slow_read", slow_read, 2, tg_int(i), tg_int(0));
    tg_value *p = tg_delayed_v(g, "sum", tt_sum, NULL, 0, A, a);
    for (int i = 0; i < W; i++)
        t[i] = TG_DELAYED(g, tt_add, p, tg_int(i));
    for (int i = 0; i < C; i++)
        t[W + i] = tg_delayed(g, "slow_read", slow_read, 2, tg_int(100 + i),
                              tg_int(1));
    assert_int_equal(tg_compute_with(t, W + C, out, pool, NULL), 0);
    for (int i = 0; i < W + C; i++) {
        assert_int_equal(tg_as_int(out[i]),
                         i < W ? A * (A + 1) / 2 + i : 100 + (i - W) + 1);
        tg_decref(out[i]);
    }
    assert_int_equal(fb.seen[0] + fb.seen[1], 2);
    assert_true(fb.ended_at[0] <= 1 && fb.ended_at[1] <= 1);
    assert_int_equal(tg_callbacks_remove(h), 0);
    tg_graph_free(g);
    tg_scheduler_free(pool);
}

/* One task that makes n tasks ready at once (the deque grows), summed:
 * the sum of i + 1 for i < n. */
static tg_value *fan_out(tg_graph *g, tg_value **v, size_t n)
{
    tg_value *x = TG_DELAYED(g, tt_inc, tg_int(0));
    for (size_t i = 0; i < n; i++)
        v[i] = TG_DELAYED(g, tt_add, x, tg_int((int64_t)i));
    return tt_tree_sum(g, v, n, 8);
}

/* Every single allocation failure, in the compute or in a task, gives
 * an error value or the right result; never a crash or a leak. */
static void test_threads_survives_out_of_memory(void **state)
{
    (void)state;
    tg_scheduler *s = tg_scheduler_threads(2);
    tg_graph *g = tg_graph_new();
    size_t n = 1000;
    tg_value **v = malloc(n * sizeof *v);
    tg_value *root = fan_out(g, v, n);
    int64_t want = (int64_t)(n * (n + 1) / 2);
    long n_failed = 0, step = (long)tt_scale(7, 97);
    for (long k = 0; k < 2400; k += step) {
        tg__oom_inject(k, false);
        tg_value *r = tg_compute(root, s);
        long failures = tg__oom_failures(); /* before inject resets it */
        tg__oom_inject(-1, false);
        assert_non_null(r);
        if (tg_is_error(r))
            n_failed++;
        else
            assert_int_equal(tg_as_int(r), want);
        assert_true(failures > 0 || !tg_is_error(r));
        tg_decref(r);
    }
    assert_true(n_failed > 0);
    tg_value *r = tg_compute(root, s);
    assert_int_equal(tg_as_int(r), want);
    tg_decref(r);
    tg_graph_free(g);
    free(v);
    tg_scheduler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: it reads the process's peak RSS. */
        cmocka_unit_test(test_threads_frees_intermediates_early),
        cmocka_unit_test(test_threads_matches_sync_on_random_dags),
        cmocka_unit_test(test_threads_rejects_bad_thread_counts),
        cmocka_unit_test(test_threads_start_and_stop_many_pools),
        cmocka_unit_test(test_threads_sums_a_wide_tree),
        cmocka_unit_test(test_threads_error_names_failed_key),
        cmocka_unit_test(test_threads_cancel_from_another_thread),
        cmocka_unit_test(test_threads_cancel_before_start_runs_nothing),
        cmocka_unit_test(test_threads_timeout_cancels),
        cmocka_unit_test(test_threads_nested_compute_does_not_deadlock),
        cmocka_unit_test(test_threads_nested_error_reaches_caller),
        cmocka_unit_test(test_threads_concurrent_computes_share_a_pool),
        cmocka_unit_test(test_threads_callbacks_see_every_task),
        cmocka_unit_test(test_threads_share_early_ready_tasks),
        cmocka_unit_test(test_threads_split_just_past_a_waiting_middle),
        cmocka_unit_test(test_threads_survives_out_of_memory),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
