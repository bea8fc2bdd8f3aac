/* tests/fuzz/fuzz_wire.c - libFuzzer harness for the cluster's wire.
 *
 * What an authenticated peer sends is the attack surface left once the
 * handshake passed: this harness passes it (it knows the token) and
 * sends the input.  Its first byte says to whom:
 *
 *   0  a scheduler (tg_serve_scheduler, one worker attached, both in
 *      threads of this process), as a new connection: a client or a
 *      worker, whatever the messages claim.  A client may ask the
 *      scheduler to stop (C_SHUTDOWN), and it must: it then serves
 *      again, on a new port, with a new worker;
 *   1  a fresh worker (tg_serve_worker in a thread), from its scheduler:
 *      the harness listens as the scheduler, takes the worker's W_HELLO
 *      and sends the rest of the input;
 *   2  a fresh worker's peer port, as another worker: once that
 *      connection is up, the first n bytes of the rest (n: a two-byte
 *      length first) go to the worker from its scheduler, the remainder
 *      from the peer.
 *
 * Then the harness half-closes and reads until the other side closes
 * (servers close on end of input, and on a message that breaks the
 * rules), so every input is over before the next starts.  Properties:
 * no sanitizer report in any server thread, and every server still
 * answers: a handshake, or the close, that does not come within
 * WU_TIMEOUT_S aborts.  At exit the harness stops the scheduler and
 * joins every server thread, so that the leak check at exit sees them
 * all finished.  See tests/fuzz/README.md.
 */
#define _GNU_SOURCE /* accept4, memmem, pthread_timedjoin_np */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz_plan_fns.h"
#include "wire_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], token_path[128], sched_file[128];
static char sched_addr[256];
/* The scheduler's thread and its worker's, joined at exit; exiting
 * keeps the scheduler from serving again once it is told to stop.
 *
 * The scheduler's worker is one thread for the whole run, serving each
 * scheduler in turn (sw_addr: the next one's address, handed over under
 * sw_mu).  A worker thread that exited each time its scheduler went
 * away could still be exiting when a leak check runs, after a later
 * input: a thread half-way through its exit is not scanned, and what
 * only it holds would read as leaked. */
static pthread_t sched_thread, sched_worker;
static atomic_bool exiting;
static pthread_mutex_t sw_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sw_cv = PTHREAD_COND_INITIALIZER;
static char *sw_addr;
static bool sw_serving;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wire: %s (last error: %s)\n", what, tg_last_error());
    abort();
}

/* Small limits, so that an input cannot ask for gigabytes. */
static tg_server_opts base_opts(void)
{
    return (tg_server_opts){.token_file = token_path,
                            .max_header = 1 << 16,
                            .max_frames = 64,
                            .max_frame = 1 << 20,
                            .nthreads = 1,
                            .quiet = getenv("FUZZ_WIRE_VERBOSE") == NULL};
}

/* Serves again each time an input asks the scheduler to stop; a stop
 * for any other reason fails the run. */
static void *scheduler_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&exiting)) {
        tg_server_opts o = base_opts();
        o.scheduler_file = sched_file;
        if (tg_serve_scheduler(&o) != 0)
            fail("the scheduler stopped");
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    tg_server_opts o = base_opts();
    o.address = arg;
    if (tg_serve_worker(&o) != 0) /* else its scheduler went away */
        fprintf(stderr, "fuzz_wire: a worker stopped: %s\n", tg_last_error());
    return NULL;
}

/* The scheduler's worker: serves each address handed over in sw_addr,
 * until the run exits. */
static void *sched_worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sw_mu);
    for (;;) {
        while (!sw_addr && !atomic_load(&exiting))
            pthread_cond_wait(&sw_cv, &sw_mu);
        if (!sw_addr)
            break;
        char *addr = sw_addr;
        sw_addr = NULL;
        sw_serving = true;
        pthread_mutex_unlock(&sw_mu);
        worker_main(addr);
        free(addr);
        pthread_mutex_lock(&sw_mu);
        sw_serving = false;
        pthread_cond_broadcast(&sw_cv);
    }
    pthread_mutex_unlock(&sw_mu);
    return NULL;
}

static void start(void *(*fn)(void *), void *arg, pthread_t *t)
{
    if (pthread_create(t, NULL, fn, arg) != 0)
        fail("cannot start a thread");
}

/* Joins t within the timeout: 0, or -1. */
static int timed_join(pthread_t t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WU_TIMEOUT_S;
    return pthread_timedjoin_np(t, NULL, &ts) == 0 ? 0 : -1;
}

static void join(pthread_t t)
{
    if (timed_join(t) != 0)
        fail("a worker did not stop when its scheduler left");
}

/* Hands addr (owned) to the scheduler's worker, once it has left the
 * scheduler it served before. */
static void serve_sched_worker(char *addr)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WU_TIMEOUT_S;
    pthread_mutex_lock(&sw_mu);
    while (sw_serving || sw_addr)
        if (pthread_cond_timedwait(&sw_cv, &sw_mu, &ts) != 0)
            fail("a worker did not stop when its scheduler left");
    sw_addr = addr;
    pthread_cond_broadcast(&sw_cv);
    pthread_mutex_unlock(&sw_mu);
}

/* A connection to the scheduler at sched_addr that passed the
 * handshake, or -1. */
static int dial_scheduler(void)
{
    int fd = wu_connect(sched_addr);
    if (fd >= 0 && wu_answer(fd) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Waits until the scheduler (started, or serving again after an input
 * stopped it) answers at the address in its file, then gives it a
 * worker and waits for the worker to join. */
static void await_scheduler(void)
{
    uint8_t token[TG__TOKEN_BYTES];
    int fd = -1;
    for (int i = 0; i < 1000 && fd < 0; i++) {
        struct stat st;
        if (stat(sched_file, &st) == 0
            && tg__read_scheduler_file(sched_file, sched_addr,
                                       sizeof sched_addr, token)
                   == 0)
            fd = dial_scheduler();
        if (fd < 0)
            usleep(10000);
    }
    if (fd < 0)
        fail("the scheduler did not start");
    close(fd);
    char *addr = strdup(sched_addr);
    if (!addr)
        fail("out of memory");
    serve_sched_worker(addr);
    uint64_t workers = 0, threads;
    for (int i = 0; i < 1000 && workers == 0; i++) {
        if (tg__cluster_info(sched_file, &workers, &threads) != 0)
            fail("cannot ask the scheduler");
        if (!workers)
            usleep(10000);
    }
    if (!workers)
        fail("the worker did not join");
}

/* A connection to the scheduler, serving again first if an earlier
 * input stopped it; fails the run with why if there is none. */
static int scheduler_conn(const char *why)
{
    int fd = dial_scheduler();
    if (fd < 0) {
        await_scheduler();
        if ((fd = dial_scheduler()) < 0)
            fail(why);
    }
    return fd;
}

/* At exit, before the leak check (which runs later): serves again if
 * the last input stopped the scheduler, tells it to stop, as a client
 * may, and joins it and its worker, so that no server thread is
 * starting or tearing down while the process's memory is checked. */
static void stop_servers(void)
{
    /* C_SHUTDOWN (op 16), no frames: the bytes of the corpus's
     * client-shutdown seed after its first (whom-to) byte */
    static const uint8_t shutdown_msg[] = {0x02, 0, 0, 0,    0,
                                           0,    0, 0, 0x01, 0x10};
    int fd = scheduler_conn("the scheduler does not answer at exit");
    atomic_store(&exiting, true);
    if (wu_write(fd, shutdown_msg, sizeof shutdown_msg) != 0)
        fail("cannot ask the scheduler to stop");
    shutdown(fd, SHUT_WR);
    wu_drain(fd);
    close(fd);
    if (timed_join(sched_thread) != 0)
        fail("the scheduler did not stop at exit");
    pthread_mutex_lock(&sw_mu);
    pthread_cond_broadcast(&sw_cv); /* exiting is set */
    pthread_mutex_unlock(&sw_mu);
    join(sched_worker);
}

/* Every input opens connections, and the side that closes first keeps
 * its port in TIME_WAIT for a minute, where no listening socket can take
 * it: at full speed a run (or two at once) would use up the ephemeral
 * ports in half a minute, and the next listen on port 0 - a fresh
 * worker's, the harness's own - would fail.  So an input waits (at most
 * SPARE_WAIT_MS) while the system holds more sockets in TIME_WAIT than
 * tw_budget: four fifths of the ephemeral range.  (About three in five
 * of them hold a port of their own; the rest share the port a server
 * listens on.  So at the budget, half the range is still free.) */
#define SPARE_WAIT_MS 2000
static long tw_budget = 22000;

/* The sockets in TIME_WAIT (/proc/net/sockstat), or 0 if unknown. */
static long tw_count(void)
{
    char line[256];
    long tw = 0;
    FILE *f = fopen("/proc/net/sockstat", "r");
    while (f && fgets(line, sizeof line, f)) {
        const char *p =
            strncmp(line, "TCP:", 4) == 0 ? strstr(line, " tw ") : NULL;
        if (p)
            tw = strtol(p + 4, NULL, 10);
    }
    if (f)
        fclose(f);
    return tw;
}

static void init_tw_budget(void)
{
    long lo, hi;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f && fscanf(f, "%ld %ld", &lo, &hi) == 2 && hi > lo)
        tw_budget = (hi - lo + 1) * 4 / 5;
    if (f)
        fclose(f);
}

static void spare_ports(void)
{
    for (int ms = 0; ms < SPARE_WAIT_MS && tw_count() > tw_budget; ms += 10)
        usleep(10000);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (fz_register() != 0)
        fail("cannot register the fuzz functions");
    if (wu_make_dir("/tmp/tg-fuzz-wire-XXXXXX", dir, token_path, sched_file)
        != 0)
        fail("cannot make a directory with a token");
    init_tw_budget();
    start(sched_worker_main, NULL, &sched_worker);
    start(scheduler_main, NULL, &sched_thread);
    await_scheduler();
    atexit(stop_servers);
    return 0;
}

/* Sends data on fd, half-closes and waits for the other side to close. */
static void send_and_drain(int fd, const uint8_t *data, size_t size,
                           const char *who)
{
    wu_write(fd, data, size); /* it may close early: that is fine */
    shutdown(fd, SHUT_WR);
    if (wu_drain(fd) != 0) {
        fprintf(stderr, "fuzz_wire: %s did not close\n", who);
        abort();
    }
    close(fd);
}

static void to_scheduler(const uint8_t *data, size_t size)
{
    int fd = scheduler_conn("the scheduler does not answer");
    send_and_drain(fd, data, size, "the scheduler");
    /* If the input stopped the scheduler, or made it drop its worker
     * (both done before it closed this connection), serve again now and
     * join the old worker: no server thread may still be tearing down
     * when the next input, and libFuzzer's leak check after it, run (a
     * thread half-way through its exit is not scanned, and what only it
     * holds would read as leaked). */
    uint64_t workers = 0, threads = 0;
    if (tg__cluster_info(sched_file, &workers, &threads) != 0 || workers == 0)
        await_scheduler();
}

/* True when msg (as wu_read_msg reads it) is a W_HELLO: its head, after
 * the frame lengths, starts with the codec's version and that op. */
static bool is_w_hello(const uint8_t *msg, size_t len)
{
    if (len < TG__PREFIX_BYTES)
        return false;
    size_t head = TG__PREFIX_BYTES + 8 * (size_t)wu_le(msg + 4, 4);
    return head + 2 <= len && msg[head] == TG__CODEC_VERSION
           && msg[head + 1] == TG__OP_W_HELLO;
}

/* The peer address in a W_HELLO message (its last string). */
static int peer_address(const uint8_t *msg, size_t len, char *out, size_t cap)
{
    const char *pat = "tcp://127.0.0.1:";
    const uint8_t *p = memmem(msg, len, pat, strlen(pat));
    if (!p)
        return -1;
    size_t n = strlen(pat);
    while (p + n < msg + len && p[n] >= '0' && p[n] <= '9')
        n++;
    if (n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

static void to_worker(const uint8_t *data, size_t size, bool as_peer)
{
    char addr[64], peer[64];
    int lfd = wu_listen(addr, sizeof addr);
    if (lfd < 0)
        fail("cannot listen");
    pthread_t t;
    start(worker_main, addr, &t);
    /* The worker's connection, saying W_HELLO: another worker may dial
     * this port too, told by an earlier input that a peer lived here
     * (the fuzzer learns port numbers from the comparisons it traces),
     * and its first message may hold any address. */
    int fd = -1;
    for (int tries = 0; tries < 8 && fd < 0; tries++) {
        uint8_t hello[1024];
        size_t len;
        fd = wu_accept(lfd);
        if (fd >= 0
            && (wu_challenge(fd) != 0
                || wu_read_msg(fd, hello, sizeof hello, &len) != 0
                || !is_w_hello(hello, len)
                || peer_address(hello, len, peer, sizeof peer) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    close(lfd); /* connections the input makes the worker open fail */
    if (fd < 0)
        fail("the worker does not say hello");
    if (as_peer) {
        int pfd = wu_connect(peer);
        if (pfd < 0 || wu_answer(pfd) != 0)
            fail("the worker's peer port does not answer");
        size_t n = size >= 2 ? (size_t)wu_le(data, 2) : 0;
        n = size >= 2 ? (n < size - 2 ? n : size - 2) : 0;
        if (size >= 2) /* a bad message here stops the worker: fine */
            wu_write(fd, data + 2, n);
        size_t skip = size >= 2 ? 2 + n : size;
        send_and_drain(pfd, data + skip, size - skip, "the worker's peer port");
        send_and_drain(fd, NULL, 0, "the worker");
    } else {
        send_and_drain(fd, data, size, "the worker");
    }
    join(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    spare_ports();
    switch (data[0] % 3) {
    case 0: to_scheduler(data + 1, size - 1); break;
    case 1: to_worker(data + 1, size - 1, false); break;
    default: to_worker(data + 1, size - 1, true); break;
    }
    return 0;
}
