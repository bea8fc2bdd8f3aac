/* tests/fuzz/record_wire.c - writes fuzz_wire's seed corpus from real
 * traffic.
 *
 * Usage: record_wire DIR.  Starts a scheduler and a worker in threads,
 * with a relay between them and everyone who dials the scheduler (the
 * relay passes the handshake through untouched, so the peers authenticate
 * each other as usual), runs a few small graphs through a client, and
 * writes what each side said after its handshake, as fuzz_wire inputs:
 * a client's and the worker's messages to the scheduler (mode 0), the
 * scheduler's messages to the worker (mode 1), and requests a peer makes
 * of a worker (mode 2, built here: one worker has no peers to record).
 * The checked-in tests/fuzz/corpus/wire/ came from this program.
 */
#define _GNU_SOURCE /* accept4, memmem, pthread_timedjoin_np */
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz_plan_fns.h"
#include "wire_util.h"

/* One relayed connection: what the dialler sent (up) and the scheduler
 * answered (down). */
typedef struct relay {
    int a, b; /* dialler, scheduler */
    uint8_t *up, *down;
    size_t n_up, n_down;
    bool over;
} relay;

#define MAX_RELAYS 32

static relay relays[MAX_RELAYS];
static int n_relays;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char dir[64], token_path[128], sched_file[128];
static char sched_addr[256], relay_addr[64];
static int relay_fd;

static void die(const char *what)
{
    fprintf(stderr, "record_wire: %s (last error: %s)\n", what,
            tg_last_error());
    exit(1);
}

static void append(uint8_t **buf, size_t *n, const uint8_t *p, size_t k)
{
    pthread_mutex_lock(&lock);
    uint8_t *grown = realloc(*buf, *n + k);
    if (!grown)
        die("out of memory");
    memcpy(grown + *n, p, k);
    *buf = grown, *n += k;
    pthread_mutex_unlock(&lock);
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    struct pollfd p[2] = {{r->a, POLLIN, 0}, {r->b, POLLIN, 0}};
    bool open_a = true, open_b = true;
    uint8_t buf[65536];
    while (open_a || open_b) {
        p[0].fd = open_a ? r->a : -1, p[1].fd = open_b ? r->b : -1;
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int from = i ? r->b : r->a, to = i ? r->a : r->b;
            ssize_t k = recv(from, buf, sizeof buf, 0);
            if (k <= 0) {
                shutdown(to, SHUT_WR);
                *(i ? &open_b : &open_a) = false;
                continue;
            }
            if (i)
                append(&r->down, &r->n_down, buf, (size_t)k);
            else
                append(&r->up, &r->n_up, buf, (size_t)k);
            wu_write(to, buf, (size_t)k);
        }
    }
    pthread_mutex_lock(&lock);
    r->over = true;
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int a = accept4(relay_fd, NULL, NULL, SOCK_CLOEXEC);
        if (a < 0)
            continue;
        int b = wu_connect(sched_addr);
        pthread_mutex_lock(&lock);
        if (b < 0 || n_relays == MAX_RELAYS)
            die("cannot relay");
        relay *r = &relays[n_relays++];
        *r = (relay){.a = a, .b = b};
        pthread_mutex_unlock(&lock);
        /* a relay waits for data without a timeout */
        struct timeval tv = {0, 0};
        setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        pthread_t t;
        if (pthread_create(&t, NULL, relay_main, r) != 0)
            die("cannot start a thread");
        pthread_detach(t);
    }
    return NULL;
}

static tg_server_opts opts(void)
{
    return (tg_server_opts){
        .token_file = token_path, .nthreads = 1, .quiet = true};
}

static void *scheduler_main(void *arg)
{
    (void)arg;
    tg_server_opts o = opts();
    o.scheduler_file = sched_file;
    tg_serve_scheduler(&o);
    return NULL;
}

static void *worker_main(void *arg)
{
    (void)arg;
    tg_server_opts o = opts();
    o.address = relay_addr;
    tg_serve_worker(&o);
    return NULL;
}

static void spawn(void *(*fn)(void *))
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, NULL) != 0)
        die("cannot start a thread");
    pthread_detach(t);
}

/* Writes mode, then data[skip..n) into DIR/name. */
static void write_seed(const char *out, const char *name, uint8_t mode,
                       const uint8_t *data, size_t n, size_t skip)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(mode, f) == EOF
        || (n > skip && fwrite(data + skip, 1, n - skip, f) != n - skip)
        || fclose(f) != 0)
        die("cannot write a seed");
}

/* The graphs the client runs: a small tree with literals, a failing
 * task, a list target, a chain. */
static void run_graphs(void)
{
    char token_hex[2 * TG__TOKEN_BYTES + 1];
    for (int i = 0; i < TG__TOKEN_BYTES; i++)
        snprintf(token_hex + 2 * i, 3, "%02x", wu_token[i]);
    setenv("TG_TOKEN", token_hex, 1);
    tg_scheduler *s = tg_scheduler_distributed(relay_addr);
    if (!s)
        die("cannot connect the client");
    tg_graph *g = tg_graph_new();
    tg_value *a = tg_delayed_registered(g, "fz.sum", 2, tg_int(1), tg_int(2));
    tg_value *lit = tg_delayed_value(g, tg_str("a literal"));
    tg_value *b = tg_delayed_registered(g, "fz.list", 3, a, lit,
                                        tg_list(2, a, tg_float(0.5)));
    tg_value *c = tg_delayed_registered(g, "fz.sum", 2, a, tg_int(40));
    tg_value *bad = tg_delayed_registered(g, "fz.check", 1, tg_int(-1));
    tg_value *chain = tg_delayed_registered(g, "fz.sum", 1, tg_int(0));
    for (int i = 0; i < 4; i++)
        chain = tg_delayed_registered(g, "fz.sum", 2, chain, tg_int(i));
    tg_value *out[2];
    tg_value *targets[2] = {b, c};
    if (tg_compute_many(targets, 2, out, s) != 0)
        die("the graph failed");
    tg_decref(out[0]), tg_decref(out[1]);
    tg_value *r = tg_compute(bad, s);
    if (!tg_is_error(r))
        die("the failing task did not fail");
    tg_decref(r);
    r = tg_compute(chain, s);
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(s);
}

/* A worker's requests from a peer: results by (graph, task). */
static void write_peer_seeds(const char *out, const relay *to_worker)
{
    static uint8_t buf[1 << 16];
    size_t skip = TG__HS_HELLO + TG__HS_FINISH;
    size_t sched = to_worker->n_down > skip ? to_worker->n_down - skip : 0;
    if (sched > 0xffff)
        sched = 0xffff;
    buf[0] = (uint8_t)sched, buf[1] = (uint8_t)(sched >> 8);
    if (sched)
        memcpy(buf + 2, to_worker->down + skip, sched);
    size_t at = 2 + sched;
    tg__enc e;
    if (tg__enc_init(&e, 0) != 0 || tg__enc_u8(&e, TG__OP_P_GET) != 0)
        die("cannot encode");
    for (uint64_t t = 0; t < 4; t++)
        if (tg__enc_u8(&e, 1) || tg__enc_u64(&e, 1) || tg__enc_u64(&e, t))
            die("cannot encode");
    if (tg__enc_u8(&e, 0) != 0)
        die("cannot encode");
    size_t n = wu_put_msg(&e, buf + at, sizeof buf - at);
    if (!n)
        die("the peer seed does not fit");
    write_seed(out, "peer-get", 2, buf, at + n, 0);
    tg_value *v = tg_list(2, tg_int(7), tg_str("fetched"));
    if (tg__enc_init(&e, 0) != 0 || tg__enc_u8(&e, TG__OP_P_DATA) != 0
        || tg__enc_u8(&e, 1) || tg__enc_u64(&e, 1) || tg__enc_u64(&e, 2)
        || tg__enc_u8(&e, 1) || tg__encode(&e, v) || tg__enc_u8(&e, 0))
        die("cannot encode");
    tg_decref(v);
    n = wu_put_msg(&e, buf + at, sizeof buf - at);
    if (!n)
        die("the peer seed does not fit");
    write_seed(out, "peer-data", 2, buf, at + n, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: record_wire DIR\n");
        return 2;
    }
    if (fz_register() != 0)
        die("cannot register the fuzz functions");
    if (wu_make_dir("/tmp/tg-record-wire-XXXXXX", dir, token_path, sched_file)
        != 0)
        die("cannot make a directory with a token");
    spawn(scheduler_main);
    uint8_t token[TG__TOKEN_BYTES];
    for (int i = 0; i < 1000 && !sched_addr[0]; i++)
        if (tg__read_scheduler_file(sched_file, sched_addr, sizeof sched_addr,
                                    token)
            != 0)
            usleep(10000);
    if (!sched_addr[0]
        || (relay_fd = wu_listen(relay_addr, sizeof relay_addr)) < 0)
        die("cannot start");
    spawn(accept_main);
    spawn(worker_main);
    uint64_t workers = 0, threads;
    for (int i = 0; i < 1000 && !workers; i++)
        if (tg__cluster_info(sched_file, &workers, &threads) != 0 || !workers)
            usleep(10000);
    if (!workers)
        die("the worker did not join");
    run_graphs();
    /* the client's connections end with it; the worker's stays open */
    for (int i = 0; i < 500; i++) {
        int open = 0;
        pthread_mutex_lock(&lock);
        for (int j = 1; j < n_relays; j++)
            open += !relays[j].over;
        pthread_mutex_unlock(&lock);
        if (!open)
            break;
        usleep(10000);
    }
    usleep(200000); /* the worker's last W_DONE and the S_FORGET */
    pthread_mutex_lock(&lock);
    const char *out = argv[1];
    size_t skip_up = TG__HS_REPLY, skip_down = TG__HS_HELLO + TG__HS_FINISH;
    for (int j = 0; j < n_relays; j++) {
        relay *r = &relays[j];
        char name[64];
        if (j == 0) { /* the worker dialled first */
            write_seed(out, "worker-to-scheduler", 0, r->up, r->n_up, skip_up);
            write_seed(out, "scheduler-to-worker", 1, r->down, r->n_down,
                       skip_down);
            write_peer_seeds(out, r);
        } else {
            snprintf(name, sizeof name, "client-%d", j);
            write_seed(out, name, 0, r->up, r->n_up, skip_up);
        }
    }
    pthread_mutex_unlock(&lock);
    printf("record_wire: %d connections recorded into %s\n", n_relays, out);
    _exit(0); /* the servers run on in their threads */
}
