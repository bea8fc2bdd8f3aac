/* tests/test_net.c - the distributed scheduler end to end: tg-scheduler
 * and two tg-worker processes (with --preload of tests/net_fns.c) on
 * 127.0.0.1, port 0; results and errors as on sync, cancellation, data
 * on the other worker, unknown functions, local calls, a late worker,
 * and bad input that closes one connection while the rest go on.  Every
 * process is started with the parent-death signal and stopped by PID. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "schedulers/distributed/dist_internal.h"

#include "dag_util.h"

#include "net_fns.c"

#define WAIT_MS 20000 /* for a process to come up or go away */

/* A cluster of processes started by this test. */
typedef struct cluster {
    char dir[64], file[128];
    pid_t pids[8];
    int n;
} cluster;

static cluster main_cl;
static tg_scheduler *dist;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static pid_t spawn(char *const argv[])
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        if (getppid() != parent)
            _exit(1);
        execv(argv[0], argv);
        _exit(127);
    }
    assert_true(pid > 0);
    return pid;
}

/* Stops pid: SIGTERM, then SIGKILL if it has not gone in WAIT_MS. */
static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int waited = 0; waited < WAIT_MS; waited += 10) {
        if (waitpid(pid, NULL, WNOHANG) != 0)
            return;
        nap_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void cluster_stop(cluster *c)
{
    for (int i = c->n; i-- > 0;)
        stop(c->pids[i]);
    c->n = 0;
    unlink(c->file);
    rmdir(c->dir);
}

/* The processes log to stderr (who joined, who left and why), which the
 * test log keeps. */
static void start_scheduler(cluster *c)
{
    snprintf(c->dir, sizeof c->dir, "/tmp/tg-net-XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    snprintf(c->file, sizeof c->file, "%s/scheduler", c->dir);
    char *argv[] = {getenv("TG_NET_SCHEDULER"),
                    "--scheduler-file",
                    c->file,
                    "--port",
                    "0",
                    NULL};
    assert_non_null(argv[0]);
    c->pids[c->n++] = spawn(argv);
    struct stat st;
    for (int waited = 0; stat(c->file, &st) != 0; waited += 10) {
        assert_true(waited < WAIT_MS);
        nap_ms(10);
    }
}

static void start_worker_threads(cluster *c, const char *threads)
{
    char *argv[] = {getenv("TG_NET_WORKER"),
                    "--scheduler-file",
                    c->file,
                    "--preload",
                    getenv("TG_NET_PRELOAD"),
                    "--nthreads",
                    (char *)threads,
                    NULL};
    assert_non_null(argv[0]);
    assert_non_null(argv[4]);
    c->pids[c->n++] = spawn(argv);
}

static void start_worker(cluster *c)
{
    start_worker_threads(c, "2");
}

static void wait_workers(cluster *c, uint64_t n)
{
    for (int waited = 0;; waited += 10) {
        uint64_t workers = 0, threads = 0;
        if (tg__cluster_info(c->file, &workers, &threads) == 0 && workers >= n)
            return;
        assert_true(waited < WAIT_MS);
        nap_ms(10);
    }
}

static int setup(void **state)
{
    (void)state;
    start_scheduler(&main_cl);
    start_worker(&main_cl);
    start_worker(&main_cl);
    wait_workers(&main_cl, 2);
    dist = tg_scheduler_distributed(main_cl.file);
    if (!dist)
        fail_msg("cannot connect: %s", tg_last_error());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tg_scheduler_free(dist);
    cluster_stop(&main_cl);
    return 0;
}

/* --- results and errors as on sync ------------------------------------ */

static void test_net_matches_sync_on_random_dags(void **state)
{
    (void)state;
    tg_scheduler *sync = tg_scheduler_sync();
    size_t n_dags = tt_scale(300, 40);
    for (uint64_t seed = 1; seed <= n_dags; seed++) {
        tg_graph *g = tg_graph_new();
        tg_value *targets[5], *want[5], *got[5];
        size_t n = td_random_dag(g, "net", NULL, seed, targets);
        if (seed % 4 == 0) /* a plain value among the targets */
            targets[n++] = tg_delayed_value(g, tg_str("plain"));
        tg_compute_opts o = {.no_fuse = seed % 3 == 0};
        int rc_want = tg_compute_with(targets, n, want, sync, &o);
        int rc_got = tg_compute_with(targets, n, got, dist, &o);
        assert_int_equal(rc_want, rc_got);
        for (size_t k = 0; k < n; k++) {
            td_assert_same(want[k], got[k]);
            tg_decref(want[k]);
            tg_decref(got[k]);
        }
        tg_graph_free(g);
    }
    tg_scheduler_free(sync);
}

/* Tasks spread over both workers, and a task reads inputs held by the
 * other one: 1 MiB blobs made on both, summed on one. */
static void test_net_inputs_move_between_workers(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *pids[64], *out[64];
    for (int i = 0; i < 64; i++)
        pids[i] = tg_delayed_registered(g, "net.pid", 1, tg_int(i));
    assert_int_equal(tg_compute_many(pids, 64, out, dist), 0);
    bool two = false;
    for (int i = 0; i < 64; i++)
        two |= tg_as_int(out[i]) != tg_as_int(out[0]);
    for (int i = 0; i < 64; i++)
        tg_decref(out[i]);
    assert_true(two); /* both workers ran some */
    size_t len = 1 << 20;
    int64_t want = 0;
    for (size_t k = 0; k < len; k++)
        want += (int64_t)(k % 251);
    tg_value *blobs[16];
    for (int i = 0; i < 16; i++)
        blobs[i] = tg_delayed_registered(g, "net.blob", 2, tg_int((int64_t)len),
                                         tg_int(i));
    tg_fn f;
    void *ctx;
    assert_int_equal(tg_lookup("net.bytesum", &f, &ctx), 0);
    tg_value *total = tg_delayed_v(g, "net.bytesum", f, ctx, 0, 16, blobs);
    tg_value *v = tg_compute(total, dist);
    assert_int_equal(tg_as_int(v), 16 * want);
    tg_decref(v);
    tg_graph_free(g);
}

/* 2,000 results of 4,000 bytes each (encoded inline, in the head) for
 * one task: what it fetches from the other worker is several times what
 * one message may carry, so the answer comes in several. */
static void
test_net_many_inputs_from_a_peer_come_in_several_messages(void **state)
{
    (void)state;
    enum { N = 2000, LEN = 4000 };
    tg_graph *g = tg_graph_new();
    tg_value **blobs = malloc(N * sizeof *blobs);
    assert_non_null(blobs);
    int64_t want = 0;
    for (size_t k = 0; k < LEN; k++)
        want += (int64_t)(k % 251);
    for (int i = 0; i < N; i++)
        blobs[i] =
            tg_delayed_registered(g, "net.blob", 2, tg_int(LEN), tg_int(i));
    tg_fn f;
    void *ctx;
    assert_int_equal(tg_lookup("net.bytesum", &f, &ctx), 0);
    tg_value *v =
        tg_compute(tg_delayed_v(g, "net.bytesum", f, ctx, 0, N, blobs), dist);
    if (tg_is_error(v))
        fail_msg("%s", tg_error_message(v));
    assert_int_equal(tg_as_int(v), N * want);
    tg_decref(v);
    free(blobs);
    tg_graph_free(g);
}

/* sum(list, blob) on s, a cluster of two idle one-thread workers: the
 * two roots go one to each, the sum to the blob's (the more bytes),
 * which fetches the list. */
static tg_value *list_then_blob(tg_scheduler *s, size_t n_ints)
{
    tg_graph *g = tg_graph_new();
    tg_value *in[2] = {
        tg_delayed_registered(g, "net.ints", 1, tg_int((int64_t)n_ints)),
        tg_delayed_registered(g, "net.blob", 2, tg_int(64 << 20), tg_int(0))};
    tg_fn f;
    void *ctx;
    assert_int_equal(tg_lookup("net.bytesum", &f, &ctx), 0);
    tg_value *v =
        tg_compute(tg_delayed_v(g, "net.bytesum", f, ctx, 0, 2, in), s);
    tg_graph_free(g);
    return v;
}

/* A value whose head outgrows a batch alone goes in a message of its
 * own; one whose head outgrows any message fails the task that needs
 * it with the reason, and the connection stays. */
static void
test_net_a_value_too_large_for_any_message_fails_naming_the_limit(void **state)
{
    (void)state;
    cluster one = {0};
    start_scheduler(&one);
    start_worker_threads(&one, "1");
    start_worker_threads(&one, "1");
    wait_workers(&one, 2);
    tg_scheduler *s = tg_scheduler_distributed(one.file);
    assert_non_null(s);
    int64_t want = 0;
    for (int64_t k = 0; k < (64 << 20); k++)
        want += k % 251;
    tg_value *v = list_then_blob(s, 40000); /* a head of about 360 KB */
    if (tg_is_error(v))
        fail_msg("%s", tg_error_message(v));
    assert_int_equal(tg_as_int(v), want);
    tg_decref(v);
    v = list_then_blob(s, 150000); /* about 1.35 MB: more than 1 MiB */
    assert_true(tg_is_error(v));
    assert_non_null(strstr(tg_error_message(v), "cannot send it"));
    assert_non_null(strstr(tg_error_message(v), "max_header 1048576"));
    tg_decref(v);
    v = list_then_blob(s, 10);
    if (tg_is_error(v))
        fail_msg("%s", tg_error_message(v));
    assert_int_equal(tg_as_int(v), want);
    tg_decref(v);
    tg_scheduler_free(s);
    cluster_stop(&one);
}

/* Registered in this program only: no worker has it. */
static tg_value *client_only(tg_value *const *a, size_t n, void *ctx)
{
    (void)a, (void)n, (void)ctx;
    return tg_int(1);
}

static void
test_net_unknown_function_fails_naming_it_and_the_worker(void **state)
{
    (void)state;
    assert_int_equal(tg_register("net.client_only", client_only, NULL), 0);
    tg_graph *g = tg_graph_new();
    tg_value *a = tg_delayed_registered(g, "net.client_only", 1, tg_int(1));
    tg_value *r = tg_compute(a, dist);
    assert_true(tg_is_error(r));
    assert_non_null(strstr(tg_error_message(r),
                           "no function registered as 'net.client_only'"));
    assert_non_null(strstr(tg_error_message(r), "worker "));
    assert_string_equal(tg_error_key(r), tg_key(a));
    tg_decref(r);
    tg_graph_free(g);
}

static void test_net_errors_carry_key_and_message(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *bad = tg_delayed_registered(g, "net.fail", 1, tg_int(-3));
    tg_value *top = tg_delayed_registered(g, "net.mix1", 2, bad, tg_int(4));
    tg_value *r;
    assert_int_equal(tg_compute_many(&top, 1, &r, dist), TG_ETASK);
    assert_string_equal(tg_error_message(r), "boom");
    assert_string_equal(tg_error_key(r), tg_key(bad));
    tg_decref(r);
    tg_graph_free(g);
}

/* A local call, or a value no codec knows, is refused at submission. */
static void test_net_local_calls_and_opaque_values_are_refused(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *local = tg_delayed(g, "my_local", tt_inc, 1, tg_int(1));
    tg_value *r = tg_compute(local, dist);
    assert_true(tg_is_error(r));
    assert_non_null(strstr(tg_error_message(r), "local call"));
    assert_non_null(strstr(tg_error_message(r), tg_key(local)));
    tg_decref(r);
    tg_value *lit = tg_delayed_registered(g, "net.mix0", 1,
                                          tg_object(NULL, NULL, "my-handle"));
    r = tg_compute(lit, dist);
    assert_non_null(strstr(tg_error_message(r), "my-handle"));
    tg_decref(r);
    tg_graph_free(g);
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

/* Cancel and timeout stop the graph on the cluster, which goes on
 * serving. */
static void test_net_cancel_and_timeout(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *slow = tg_delayed_registered(g, "net.sleep", 1, tg_int(3000));
    tg_value *after = tg_delayed_registered(g, "net.mix0", 1, slow);
    canceller k = {tg_cancel_new(), 100};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &k);
    tg_compute_opts o = {.cancel = k.c};
    tg_value *r;
    assert_int_equal(tg_compute_with(&after, 1, &r, dist, &o), TG_ECANCELED);
    assert_non_null(strstr(tg_error_message(r), "cancelled"));
    tg_decref(r);
    pthread_join(th, NULL);
    tg_cancel_free(k.c);
    tg_compute_opts t = {.timeout_ms = 100};
    assert_int_equal(tg_compute_with(&after, 1, &r, dist, &t), TG_ECANCELED);
    assert_non_null(strstr(tg_error_message(r), "timeout"));
    tg_decref(r);
    /* still serving */
    tg_value *quick = tg_delayed_registered(g, "net.fail", 1, tg_int(7));
    r = tg_compute(quick, dist);
    assert_int_equal(tg_as_int(r), 7);
    tg_decref(r);
    tg_graph_free(g);
}

/* Long chains, each step waiting for the one before (the scheduler sends
 * steps ahead; the worker runs each on its producer's thread), with
 * links across chains: results as on sync.  An error midway reaches the
 * client with its key while the step before it still comes back, and a
 * chain cancelled midway stops while the cluster goes on serving. */
static void test_net_long_chains_match_sync_and_stop_midway(void **state)
{
    (void)state;
    size_t len = tt_scale(3000, 400);
    tg_graph *g = tg_graph_new();
    tg_value **c[4], *want[4], *got[4];
    for (int k = 0; k < 4; k++) {
        c[k] = malloc(len * sizeof *c[k]);
        c[k][0] = tg_delayed_registered(g, "net.mix0", 1, tg_int(k));
    }
    for (size_t i = 1; i < len; i++)
        for (int k = 0; k < 4; k++)
            c[k][i] = k > 0 && i % 97 == 0
                          ? tg_delayed_registered(g, "net.mix2", 2, c[k][i - 1],
                                                  c[k - 1][i - 1])
                          : tg_delayed_registered(g, "net.mix1", 2, c[k][i - 1],
                                                  tg_int((int64_t)i));
    tg_value *ends[4] = {c[0][len - 1], c[1][len - 1], c[2][len - 1],
                         c[3][len - 1]};
    tg_value *before = c[0][99];
    tg_scheduler *sync = tg_scheduler_sync();
    assert_int_equal(tg_compute_many(ends, 4, want, sync), 0);
    assert_int_equal(tg_compute_many(ends, 4, got, dist), 0);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(tg_as_int(got[k]), tg_as_int(want[k]));
        tg_decref(want[k]), tg_decref(got[k]);
        free(c[k]);
    }

    /* net.fail reads its first argument only: -3 fails it. */
    tg_value *bad = tg_delayed_registered(g, "net.fail", 2, tg_int(-3), before);
    tg_value *v = bad;
    for (int i = 0; i < 100; i++)
        v = tg_delayed_registered(g, "net.mix1", 2, v, tg_int(i));
    tg_value *two[2] = {before, v};
    assert_int_equal(tg_compute_many(two, 2, want, sync), TG_ETASK);
    assert_int_equal(tg_compute_many(two, 2, got, dist), TG_ETASK);
    assert_int_equal(tg_as_int(got[0]), tg_as_int(want[0]));
    assert_string_equal(tg_error_message(got[1]), "boom");
    assert_string_equal(tg_error_key(got[1]), tg_key(bad));
    for (int k = 0; k < 2; k++)
        tg_decref(want[k]), tg_decref(got[k]);
    tg_scheduler_free(sync);

    /* net.sleep sleeps its first argument in ms: a 3 s chain. */
    v = tg_delayed_registered(g, "net.sleep", 1, tg_int(1));
    for (int i = 0; i < 60; i++)
        v = tg_delayed_registered(g, "net.sleep", 2, tg_int(50), v);
    canceller k = {tg_cancel_new(), 300};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &k);
    tg_compute_opts o = {.cancel = k.c};
    tg_value *r;
    assert_int_equal(tg_compute_with(&v, 1, &r, dist, &o), TG_ECANCELED);
    tg_decref(r);
    pthread_join(th, NULL);
    tg_cancel_free(k.c);
    tg_value *quick = tg_delayed_registered(g, "net.mix1", 2, before, before);
    r = tg_compute(quick, dist);
    assert_false(tg_is_error(r));
    tg_decref(r);
    tg_graph_free(g);
}

/* Tasks sent ahead that wait for one slow result: one follows it on its
 * thread, the others wait in the worker's store and must be handed the
 * result as soon as it exists (nothing else will come to wake the
 * worker).  Then the same with a failing producer. */
static void test_net_tasks_sent_ahead_all_get_the_result(void **state)
{
    (void)state;
    tg_scheduler *sync = tg_scheduler_sync();
    for (int round = 0; round < 2; round++) {
        tg_graph *g = tg_graph_new();
        tg_value *p = round == 0
                          ? tg_delayed_registered(g, "net.sleep", 1, tg_int(50))
                          : tg_delayed_registered(g, "net.fail", 2, tg_int(-3),
                                                  tg_int(50));
        tg_value *u[6], *want[6], *got[6];
        for (int i = 0; i < 6; i++)
            u[i] = tg_delayed_registered(g, "net.mix1", 2, p, tg_int(i));
        int rc = tg_compute_many(u, 6, want, sync);
        assert_int_equal(tg_compute_many(u, 6, got, dist), rc);
        for (int i = 0; i < 6; i++) {
            td_assert_same(want[i], got[i]);
            tg_decref(want[i]), tg_decref(got[i]);
        }
        tg_graph_free(g);
    }
    tg_scheduler_free(sync);
}

/* Once the scheduler has seen that tasks run long, it sends them a
 * couple per thread, so that they spread over the workers as threads
 * free up instead of piling up behind one worker's threads. */
static void test_net_long_tasks_spread_over_the_workers(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *t[16], *out[16];
    for (int i = 0; i < 4; i++) /* one per thread: both workers learn */
        t[i] = tg_delayed_registered(g, "net.sleep_pid", 2, tg_int(60),
                                     tg_int(-1 - i));
    assert_int_equal(tg_compute_many(t, 4, out, dist), 0);
    for (int i = 0; i < 4; i++)
        tg_decref(out[i]);
    for (int i = 0; i < 16; i++)
        t[i] = tg_delayed_registered(g, "net.sleep_pid", 2, tg_int(100),
                                     tg_int(i));
    assert_int_equal(tg_compute_many(t, 16, out, dist), 0);
    int on_first = 0;
    for (int i = 0; i < 16; i++)
        on_first += tg_as_int(out[i]) == tg_as_int(out[0]);
    for (int i = 0; i < 16; i++)
        tg_decref(out[i]);
    /* 2 workers x 2 threads: 8 each, give or take a round */
    assert_in_range(on_first, 6, 10);
    tg_graph_free(g);
}

typedef struct computer {
    tg_scheduler *s;
    tg_value *target;
    tg_value *result;
} computer;

static void *compute_in_thread(void *arg)
{
    computer *c = arg;
    c->result = tg_compute(c->target, c->s);
    return NULL;
}

/* A graph submitted before any worker joined runs once one does. */
static void test_net_a_late_worker_runs_what_waits(void **state)
{
    (void)state;
    cluster late = {0};
    start_scheduler(&late);
    tg_scheduler *s = tg_scheduler_distributed(late.file);
    assert_non_null(s);
    tg_graph *g = tg_graph_new();
    tg_value *vals[20];
    for (int i = 0; i < 20; i++)
        vals[i] = tg_delayed_registered(g, "net.fail", 1, tg_int(i));
    computer c = {s, tg_delayed_reduce(g, "tg.sum", 20, vals, 4), NULL};
    pthread_t th;
    pthread_create(&th, NULL, compute_in_thread, &c);
    nap_ms(200); /* submitted, waiting: no worker yet */
    start_worker(&late);
    pthread_join(th, NULL);
    assert_int_equal(tg_as_int(c.result), 190);
    tg_decref(c.result);
    tg_graph_free(g);
    tg_scheduler_free(s);
    cluster_stop(&late);
}

/* Where net.where(ms, i) ran on s's one worker: 1 on its loop, 0 on a
 * thread. */
static int64_t where(tg_scheduler *s, int64_t ms, int64_t i)
{
    tg_graph *g = tg_graph_new();
    tg_value *r = tg_compute(
        tg_delayed_registered(g, "net.where", 2, tg_int(ms), tg_int(i)), s);
    assert_false(tg_is_error(r));
    int64_t on_loop = tg_as_int(r);
    tg_decref(r);
    tg_graph_free(g);
    return on_loop;
}

/* A lone task whose function ran short last time runs on the worker's
 * loop, sparing the wake of a thread; one that turns out long sends the
 * next call of its function back to the threads. */
static void test_net_a_lone_short_task_runs_on_the_worker_loop(void **state)
{
    (void)state;
    cluster one = {0};
    start_scheduler(&one);
    start_worker_threads(&one, "1");
    wait_workers(&one, 1);
    tg_scheduler *s = tg_scheduler_distributed(one.file);
    assert_non_null(s);
    assert_int_equal(where(s, 0, 0), 0); /* a first call: on a thread */
    int on_loop = 0;
    for (int i = 1; i <= 40; i++)
        on_loop += (int)where(s, 0, i);
    assert_true(on_loop > 0);
    where(s, 30, 100); /* long: wherever it ran, the next call ... */
    assert_int_equal(where(s, 0, 101), 0); /* ... goes to a thread */
    tg_scheduler_free(s);
    cluster_stop(&one);
}

/* --- bad input: one connection closes, the rest go on ------------------ */

/* A raw TCP connection to address (tcp://host:port). */
static int raw_connect(const char *address)
{
    char host[64];
    int port;
    assert_int_equal(tg__parse_address(address, host, sizeof host, &port), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* True when the other end closes fd within WAIT_MS (reading and
 * dropping whatever it sends first). */
static bool closed_by_peer(int fd)
{
    char buf[256];
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0)
            return true;
    }
    return false;
}

/* The handshake with token; true when the server accepted it. */
static bool raw_handshake(int fd, const uint8_t *token)
{
    uint8_t hello[TG__HS_HELLO], reply[TG__HS_REPLY], fin[TG__HS_FINISH];
    size_t got = 0;
    while (got < sizeof hello) {
        ssize_t k = recv(fd, hello + got, sizeof hello - got, 0);
        assert_true(k > 0);
        got += (size_t)k;
    }
    uint8_t nonce[TG__NONCE_BYTES] = {1, 2, 3};
    memcpy(reply, TG__HS_MAGIC, 4);
    memcpy(reply + 4, nonce, sizeof nonce);
    tg__hs_mac(token, "client", hello + 4, nonce, reply + 4 + sizeof nonce);
    raw_send(fd, reply, sizeof reply);
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, WAIT_MS) <= 0)
        return false;
    return recv(fd, fin, sizeof fin, MSG_WAITALL) == (ssize_t)sizeof fin;
}

/* The cluster still computes. */
static void assert_still_serving(void)
{
    tg_graph *g = tg_graph_new();
    tg_value *a = tg_delayed_registered(g, "net.mix2", 1, tg_int(5));
    tg_value *r = tg_compute(a, dist);
    assert_false(tg_is_error(r));
    tg_decref(r);
    tg_graph_free(g);
}

static void put_le(uint8_t *p, uint64_t x, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static void test_net_bad_peers_are_dropped_and_the_rest_go_on(void **state)
{
    (void)state;
    char address[256];
    uint8_t token[TG__TOKEN_BYTES], wrong[TG__TOKEN_BYTES] = {0};
    assert_int_equal(
        tg__read_scheduler_file(main_cl.file, address, sizeof address, token),
        0);
    /* garbage instead of a handshake */
    int fd = raw_connect(address);
    raw_send(fd,
             "GET / HTTP/1.0\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
             68);
    assert_true(closed_by_peer(fd));
    close(fd);
    assert_still_serving();
    /* the wrong token */
    fd = raw_connect(address);
    assert_false(raw_handshake(fd, wrong));
    close(fd);
    assert_still_serving();
    /* a message before the handshake: read as a bad handshake */
    fd = raw_connect(address);
    uint8_t pre[68] = {0};
    put_le(pre, 1, 4);
    raw_send(fd, pre, sizeof pre);
    assert_true(closed_by_peer(fd));
    close(fd);
    /* after a good handshake: a header too large, too many frames, a
     * frame too large, an unknown op, a message cut short */
    struct {
        uint32_t head_len, n_frames;
        uint64_t frame_len;
        uint8_t op;
        bool truncate;
    } bad[] = {{1u << 31, 0, 0, 0, false},
               {16, 1u << 30, 0, 0, false},
               {16, 1, (uint64_t)1 << 62, 0, false},
               {2, 0, 0, 200, false},
               {64, 0, 0, TG__OP_C_SUBMIT, true}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fd = raw_connect(address);
        assert_true(raw_handshake(fd, token));
        uint8_t msg[32] = {0};
        size_t n = 8;
        put_le(msg, bad[i].head_len, 4);
        put_le(msg + 4, bad[i].n_frames, 4);
        if (bad[i].frame_len) {
            put_le(msg + 8, bad[i].frame_len, 8);
            n += 8;
        }
        if (bad[i].op) {
            msg[n++] = TG__CODEC_VERSION;
            msg[n++] = bad[i].op;
        }
        raw_send(fd, msg, n);
        if (bad[i].truncate) {
            shutdown(fd, SHUT_WR); /* 2 of 64 header bytes, then EOF */
            assert_true(closed_by_peer(fd));
        } else {
            assert_true(closed_by_peer(fd));
        }
        close(fd);
        assert_still_serving();
    }
}

/* --- a large graph -------------------------------------------------------- */

/* The value of a field of pid's /proc status ("VmHWM", "SigIgn") into
 * out: true, or false when there is none. */
static bool status_field(pid_t pid, const char *field, char *out, size_t cap)
{
    char path[64], line[256];
    size_t n = strlen(field);
    bool found = false;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (!found && f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            snprintf(out, cap, "%s", line + n + 1);
            found = true;
        }
    if (f)
        fclose(f);
    return found;
}

/* A field of pid's /proc status in KiB ("VmHWM", "VmRSS"), or -1. */
static long status_kib(pid_t pid, const char *field)
{
    char v[64];
    long kib;
    return status_field(pid, field, v, sizeof v) && sscanf(v, "%ld", &kib) == 1
               ? kib
               : -1;
}

/* The mask of signals pid ignores (SigIgn), or 0. */
static unsigned long long ignored_signals(pid_t pid)
{
    char v[64];
    return status_field(pid, "SigIgn", v, sizeof v) ? strtoull(v, NULL, 16) : 0;
}

/* libuv writes with write(): a peer gone mid-reply raises SIGPIPE, whose
 * default action would end the server and every other peer's work.
 * The servers ignore it (this test process, their parent, does not, so
 * they do not inherit it). */
static void test_net_servers_ignore_sigpipe(void **state)
{
    (void)state;
    struct sigaction here;
    assert_int_equal(sigaction(SIGPIPE, NULL, &here), 0);
    assert_true(here.sa_handler == SIG_DFL);
    assert_true(main_cl.n >= 2); /* the scheduler and a worker */
    for (int i = 0; i < main_cl.n; i++)
        assert_true(ignored_signals(main_cl.pids[i]) >> (SIGPIPE - 1) & 1);
}

static long peak_rss_kib(pid_t pid)
{
    return status_kib(pid, "VmHWM");
}

/* The resident memory of pid in KiB, or -1. */
static long rss_kib(pid_t pid)
{
    return status_kib(pid, "VmRSS");
}

/* Memory a task thread freed goes back to the system once the worker is
 * idle, also the free top of the thread's own malloc heap (which
 * malloc_trim leaves). */
static void
test_net_an_idle_worker_gives_back_what_its_threads_freed(void **state)
{
    (void)state;
    if (!tt_check_rss())
        skip(); /* another allocator: nothing of malloc's to check */
    cluster one = {0};
    start_scheduler(&one);
    start_worker_threads(&one, "1");
    wait_workers(&one, 1);
    pid_t worker = one.pids[1];
    tg_scheduler *s = tg_scheduler_distributed(one.file);
    assert_non_null(s);
    long before = rss_kib(worker);
    tg_graph *g = tg_graph_new();
    tg_value *r =
        tg_compute(tg_delayed_registered(g, "net.churn", 1, tg_int(48)), s);
    if (tg_is_error(r))
        fail_msg("%s", tg_error_message(r));
    assert_int_equal(tg_as_int(r), 48 << 10);
    tg_decref(r);
    tg_graph_free(g);
    /* the thread's heap held the 48 MiB (blocks and headers) */
    assert_true(peak_rss_kib(worker) > before + 40 * 1024);
    long now = rss_kib(worker);
    for (int waited = 0; now > before + 8 * 1024; waited += 50) {
        if (waited >= WAIT_MS)
            fail_msg("the worker still holds %ld KiB (%ld before the task)",
                     now, before);
        nap_ms(50);
        now = rss_kib(worker);
    }
    tg_scheduler_free(s);
    cluster_stop(&one);
}

/* A million tasks (fewer under sanitizers) compute, and the workers'
 * memory stays bounded: root tasks go out only as threads free up. */
static void test_net_a_million_tasks_with_bounded_memory(void **state)
{
    (void)state;
    size_t n = tt_scale(1000000, 20000);
    tg_graph *g = tg_graph_new();
    tg_value **vals = malloc(n * sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = tg_delayed_registered(g, "net.fail", 1, tg_int((int64_t)i));
    tg_value *total = tg_delayed_reduce(g, "tg.sum", n, vals, 8);
    free(vals);
    tg_value *r = tg_compute(total, dist);
    if (tg_is_error(r))
        fail_msg("%s", tg_error_message(r));
    assert_int_equal(tg_as_int(r), (int64_t)(n * (n - 1) / 2));
    tg_decref(r);
    tg_graph_free(g);
    if (tt_check_rss())
        for (int i = 1; i < main_cl.n; i++) /* the workers */
            assert_true(peak_rss_kib(main_cl.pids[i]) < 200 * 1024);
}

/* tg_wait_for_workers returns once enough workers joined, and says how
 * many did when they do not; tg_shutdown_scheduler stops a scheduler and
 * so its workers, and the scheduler file goes with it. */
static void test_net_wait_for_workers_and_shutdown(void **state)
{
    (void)state;
    /* (the scheduler's log, on stderr, says why a worker left) */
    if (tg_wait_for_workers(main_cl.file, 2, WAIT_MS) != 0)
        fail_msg("%s", tg_last_error());
    assert_int_equal(tg_wait_for_workers(main_cl.file, 3, 100), TG_EIO);
    assert_non_null(strstr(tg_last_error(), "2 of 3 workers"));
    assert_int_equal(tg_wait_for_workers("/nonexistent/scheduler", 1, 100),
                     TG_ENOENT);

    cluster c = {0};
    start_scheduler(&c);
    start_worker(&c);
    assert_int_equal(tg_wait_for_workers(c.file, 1, WAIT_MS), 0);
    assert_int_equal(tg_shutdown_scheduler(c.file), 0);
    for (int i = c.n; i-- > 0;) { /* both end by themselves */
        int waited = 0, status;
        while (waitpid(c.pids[i], &status, WNOHANG) == 0) {
            if (waited >= WAIT_MS) {
                cluster_stop(&c);
                fail_msg("process %d did not stop", (int)c.pids[i]);
            }
            nap_ms(10);
            waited += 10;
        }
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    struct stat st;
    assert_int_not_equal(stat(c.file, &st), 0);
    c.n = 0;
    cluster_stop(&c);
}

/* More targets than one message may carry frames: the results come in
 * several S_RESULTS messages, each in its place.  When the graph ends,
 * the workers hold 160,000 results to release, more than one message
 * of the default header limit names: the releases go out in several
 * messages, and both workers stay. */
static void test_net_many_targets_come_back_in_order(void **state)
{
    (void)state;
    size_t n = tt_scale(160000, 10000);
    tg_graph *g = tg_graph_new();
    tg_value **t = malloc(n * sizeof *t), **out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        t[i] = tg_delayed_registered(g, "net.fail", 1, tg_int((int64_t)i));
    assert_int_equal(tg_compute_many(t, n, out, dist), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tg_as_int(out[i]), (int64_t)i);
        tg_decref(out[i]);
    }
    free(t), free(out);
    tg_graph_free(g);
    for (int waited = 0; waited < 500; waited += 10) {
        uint64_t workers = 0, threads = 0;
        assert_int_equal(tg__cluster_info(main_cl.file, &workers, &threads), 0);
        assert_int_equal(workers, 2);
        nap_ms(10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_matches_sync_on_random_dags),
        cmocka_unit_test(test_net_inputs_move_between_workers),
        cmocka_unit_test(
            test_net_many_inputs_from_a_peer_come_in_several_messages),
        cmocka_unit_test(
            test_net_a_value_too_large_for_any_message_fails_naming_the_limit),
        cmocka_unit_test(
            test_net_unknown_function_fails_naming_it_and_the_worker),
        cmocka_unit_test(test_net_errors_carry_key_and_message),
        cmocka_unit_test(test_net_local_calls_and_opaque_values_are_refused),
        cmocka_unit_test(test_net_cancel_and_timeout),
        cmocka_unit_test(test_net_long_chains_match_sync_and_stop_midway),
        cmocka_unit_test(test_net_long_tasks_spread_over_the_workers),
        cmocka_unit_test(test_net_tasks_sent_ahead_all_get_the_result),
        cmocka_unit_test(test_net_a_late_worker_runs_what_waits),
        cmocka_unit_test(test_net_a_lone_short_task_runs_on_the_worker_loop),
        cmocka_unit_test(test_net_bad_peers_are_dropped_and_the_rest_go_on),
        cmocka_unit_test(test_net_servers_ignore_sigpipe),
        cmocka_unit_test(test_net_a_million_tasks_with_bounded_memory),
        cmocka_unit_test(
            test_net_an_idle_worker_gives_back_what_its_threads_freed),
        cmocka_unit_test(test_net_many_targets_come_back_in_order),
        cmocka_unit_test(test_net_wait_for_workers_and_shutdown),
    };
    return cmocka_run_group_tests_name("net", tests, setup, teardown);
}
