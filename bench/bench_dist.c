/* bench/bench_dist.c - the distributed scheduler on a local cluster.
 *
 * A scheduler and 2 workers x 1 thread (tg_cluster_local: processes on
 * this machine, over loopback TCP), measured on the shapes Dask's
 * figures are quoted for (bench/dask_dist.py runs the same shapes on
 * dask.distributed; bench/compare_dist.sh runs both and prints ratios):
 *
 *   throughput   N independent trivial tasks, every result gathered
 *   chain        a chain of dependent trivial tasks: time per step
 *   round trip   one tiny task, computed again and again: median, p90;
 *                next to the floor of this machine in the same run: 8
 *                bytes client -> relay -> echo -> relay -> client over
 *                loopback TCP between three processes (the four hops a
 *                task's round trip takes, with no work at all)
 *   submit       a 1M-task graph: from tg_compute until its first task
 *                runs on a worker (every task stamps the monotonic
 *                clock, shared by the processes; tg.min takes the
 *                first); the whole graph's time too
 *   idle         RSS of the scheduler and workers, and the CPU time they
 *                use over an idle stretch
 *   transfer     16 rounds of two 64 MiB blobs, one made on each worker,
 *                and a task reading both: the bytes that crossed from the
 *                other worker over the time from that blob's end to the
 *                reader's start (the fetch and its scheduling); next to
 *                a plain loopback TCP copy of as many bytes in this
 *                process, from a blob-sized buffer into another
 *                (socket_copy: memory to memory, as a transfer moves
 *                them) and between 1 MiB buffers that stay in the
 *                cache (socket_copy_cached, the kernel's best case)
 *
 * Output: one line per figure, "name value unit", for the scripts.
 * Usage: bench_dist [--quick]   (--quick: smaller shapes, for a smoke
 *        run; the figures then mean little)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <taskgraph.h>
#include <taskgraph/distributed.h>
#include <unistd.h>

typedef struct shapes {
    size_t tasks, chain, round_trips, submit, blob, rounds;
    unsigned idle_s;
} shapes;

static const shapes full = {100000, 10000, 1000, 1000000, 64 << 20, 16, 10};
static const shapes quick = {5000, 500, 100, 20000, 4 << 20, 2, 1};

/* ---- the tasks --------------------------------------------------------- */

static tg_value *b_inc(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx, (void)n;
    return tg_int(tg_as_int(a[0]) + 1);
}

static tg_value *b_stamp(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx, (void)n, (void)a;
    return tg_int((int64_t)tg_now_ns());
}

/* A blob's head: who made it and when it was done. */
typedef struct blob_head {
    int64_t pid;
    uint64_t done_ns;
} blob_head;

/* b.blob(bytes, i): a blob of that many bytes. */
static tg_value *b_blob(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx, (void)n;
    size_t len = (size_t)tg_as_int(a[0]);
    uint8_t *buf = malloc(len);
    if (!buf || len < sizeof(blob_head))
        return tg_error("b.blob: cannot make %zu bytes", len);
    for (size_t i = 0; i < len; i += 4096)
        buf[i] = (uint8_t)(i + (size_t)tg_as_int(a[1]));
    tg_value *v = tg_bytes(buf, len);
    free(buf);
    /* The stamp goes into the new value, which nothing else sees yet, so
     * that the copy above is not counted as part of the transfer. */
    blob_head h = {(int64_t)getpid(), tg_now_ns()};
    memcpy((void *)tg_as_bytes(v, &len), &h, sizeof h);
    return v;
}

/* b.take(blobs...): [bytes made by other processes, this task's start,
 * the latest end of any of its blobs].  The transfer is timed from the
 * moment every input exists (a local blob may finish after the remote
 * one; waiting for it is not transfer) to the task's start: the
 * scheduler's placement, the request to the peer and the bytes. */
static tg_value *b_take(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    uint64_t start = tg_now_ns(), latest = 0;
    int64_t remote = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *p = tg_as_bytes(a[i], &len);
        blob_head h;
        if (!p || len < sizeof h)
            return tg_error("b.take: not a blob");
        memcpy(&h, p, sizeof h);
        if (h.pid != (int64_t)getpid())
            remote += (int64_t)len;
        latest = h.done_ns > latest ? h.done_ns : latest;
    }
    return tg_list(3, tg_int(remote), tg_int((int64_t)start),
                   tg_int((int64_t)latest));
}

/* ---- measuring ----------------------------------------------------------
 */

static double secs_since(uint64_t t0)
{
    return (double)(tg_now_ns() - t0) / 1e9;
}

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_dist: %s: %s\n", what, tg_last_error());
        exit(1);
    }
}

static void throughput(tg_scheduler *s, size_t n)
{
    tg_graph *g = tg_graph_new();
    tg_value **t = malloc(n * sizeof *t), **out = malloc(n * sizeof *out);
    must(g && t && out, "out of memory");
    for (size_t i = 0; i < n; i++)
        t[i] = tg_delayed_registered(g, "b.inc", 1, tg_int((int64_t)i));
    uint64_t t0 = tg_now_ns();
    must(tg_compute_many(t, n, out, s) == 0, "throughput");
    double secs = secs_since(t0);
    for (size_t i = 0; i < n; i++) {
        must(tg_as_int(out[i]) == (int64_t)i + 1, "a wrong result");
        tg_decref(out[i]);
    }
    printf("throughput %.0f tasks/s\n", (double)n / secs);
    free(t), free(out);
    tg_graph_free(g);
}

static void chain(tg_scheduler *s, size_t n)
{
    tg_graph *g = tg_graph_new();
    tg_value *x = tg_delayed_registered(g, "b.inc", 1, tg_int(0));
    for (size_t i = 1; i < n; i++)
        x = tg_delayed_registered(g, "b.inc", 1, x);
    tg_compute_opts no_fuse = {.no_fuse = true}; /* a task per step */
    tg_value *r;
    uint64_t t0 = tg_now_ns();
    must(tg_compute_with(&x, 1, &r, s, &no_fuse) == 0, "chain");
    double secs = secs_since(t0);
    must(tg_as_int(r) == (int64_t)n, "chain");
    printf("chain_step %.1f us\n", secs / (double)n * 1e6);
    tg_decref(r);
    tg_graph_free(g);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void round_trip(tg_scheduler *s, size_t n)
{
    double *us = malloc(n * sizeof *us);
    must(us != NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        tg_graph *g = tg_graph_new();
        tg_value *x = tg_delayed_registered(g, "b.inc", 1, tg_int((int64_t)i));
        uint64_t t0 = tg_now_ns();
        tg_value *r = tg_compute(x, s);
        us[i] = secs_since(t0) * 1e6;
        must(tg_as_int(r) == (int64_t)i + 1, "round trip");
        tg_decref(r);
        tg_graph_free(g);
    }
    qsort(us, n, sizeof *us, cmp_double);
    printf("round_trip_median %.1f us\n", us[n / 2]);
    printf("round_trip_p90 %.1f us\n", us[n * 9 / 10]);
    free(us);
}

/* A connected pair of loopback TCP sockets, Nagle off. */
static void tcp_pair(int fd[2])
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    must(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof sa) == 0
             && listen(l, 1) == 0
             && getsockname(l, (struct sockaddr *)&sa, &sl) == 0,
         "a socket");
    fd[0] = socket(AF_INET, SOCK_STREAM, 0);
    must(fd[0] >= 0 && connect(fd[0], (struct sockaddr *)&sa, sizeof sa) == 0,
         "connect");
    fd[1] = accept(l, NULL, NULL);
    must(fd[1] >= 0, "accept");
    close(l);
    for (int i = 0; i < 2; i++)
        setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* In a child: passes 8-byte messages from a to b (b may equal a, to
 * echo) until a closes. */
static void pass_on(int a, int b, int other)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct pollfd p[2] = {{a, POLLIN, 0}, {other, POLLIN, 0}};
    char m[8];
    for (;;) {
        if (poll(p, other >= 0 ? 2 : 1, -1) < 0)
            continue;
        int from = p[0].revents ? a : other, to = from == a ? b : a;
        if (read(from, m, sizeof m) != (ssize_t)sizeof m
            || write(to, m, sizeof m) != (ssize_t)sizeof m)
            _exit(0);
    }
}

/* The machine's floor for a round trip: see the file comment. */
static void round_trip_floor(size_t n)
{
    int cs[2], sw[2];
    tcp_pair(cs);
    tcp_pair(sw);
    fflush(stdout);
    pid_t relay = fork();
    if (relay == 0) { /* client side cs[1], echo side sw[0] */
        close(cs[0]), close(sw[1]);
        pass_on(cs[1], sw[0], sw[0]);
    }
    pid_t echo = fork();
    if (echo == 0) {
        close(cs[0]), close(cs[1]), close(sw[0]);
        pass_on(sw[1], sw[1], -1);
    }
    must(relay > 0 && echo > 0, "fork");
    close(cs[1]), close(sw[0]), close(sw[1]);
    double *us = malloc(n * sizeof *us);
    must(us != NULL, "out of memory");
    char m[8] = {0};
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = tg_now_ns();
        must(write(cs[0], m, sizeof m) == (ssize_t)sizeof m
                 && read(cs[0], m, sizeof m) == (ssize_t)sizeof m,
             "the floor's round trip");
        us[i] = secs_since(t0) * 1e6;
    }
    close(cs[0]); /* the relay sees the end, then the echo */
    waitpid(relay, NULL, 0);
    waitpid(echo, NULL, 0);
    qsort(us, n, sizeof *us, cmp_double);
    printf("round_trip_floor_median %.1f us\n", us[n / 2]);
    free(us);
}

static void submit(tg_scheduler *s, size_t n)
{
    tg_graph *g = tg_graph_new();
    tg_value **t = malloc(n * sizeof *t);
    must(g && t, "out of memory");
    for (size_t i = 0; i < n; i++)
        t[i] = tg_delayed_registered(g, "b.stamp", 1, tg_int((int64_t)i));
    tg_value *first = tg_delayed_reduce(g, "tg.min", n, t, 32);
    must(first != NULL, "building the graph");
    uint64_t t0 = tg_now_ns();
    tg_value *r = tg_compute(first, s);
    double secs = secs_since(t0);
    must(!tg_is_error(r), "submit");
    printf("submit_%zu %.3f s\n", n,
           (double)((uint64_t)tg_as_int(r) - t0) / 1e9);
    printf("graph_%zu %.3f s\n", n, secs);
    printf("submit_per_task %.2f us\n",
           (double)((uint64_t)tg_as_int(r) - t0) / 1e3 / (double)n);
    tg_decref(r);
    free(t);
    tg_graph_free(g);
}

/* ---- the cluster's processes: this process's children ------------------
 */

typedef struct usage {
    double rss_mib, cpu_s;
} usage;

static usage children_usage(void)
{
    usage u = {0, 0};
    DIR *d = opendir("/proc");
    long tick = sysconf(_SC_CLK_TCK);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        const char *p = strrchr(buf, ')'); /* after the command name */
        int ppid;
        unsigned long ut, st;
        long rss;
        if (!p
            || sscanf(p + 2,
                      "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
                      "%*d %*d %*d %*d %*d %*d %*u %*u %ld",
                      &ppid, &ut, &st, &rss)
                   != 4
            || ppid != getpid())
            continue;
        u.cpu_s += (double)(ut + st) / (double)tick;
        u.rss_mib += (double)rss * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
    }
    if (d)
        closedir(d);
    return u;
}

static void idle(unsigned seconds)
{
    usage a = children_usage();
    sleep(seconds);
    usage b = children_usage();
    printf("idle_rss %.1f MiB\n", b.rss_mib);
    printf("idle_cpu %.2f %%\n", (b.cpu_s - a.cpu_s) / seconds * 100.0);
}

/* ---- transfer ------------------------------------------------------------
 */

/* Rounds of two blobs and a task reading both: the scheduler hands the
 * blobs, the only tasks of a round, one to each worker (one thread
 * each), and the reader fetches one of them from the other worker. */
static void transfer(tg_scheduler *s, size_t blob, size_t rounds)
{
    double bytes = 0, secs = 0;
    for (size_t i = 0; i < rounds; i++) {
        tg_graph *g = tg_graph_new();
        tg_value *a = tg_delayed_registered(
            g, "b.blob", 2, tg_int((int64_t)blob), tg_int((int64_t)(2 * i)));
        tg_value *b =
            tg_delayed_registered(g, "b.blob", 2, tg_int((int64_t)blob),
                                  tg_int((int64_t)(2 * i + 1)));
        tg_value *t = tg_delayed_registered(g, "b.take", 2, a, b);
        tg_value *r = tg_compute(t, s);
        must(!tg_is_error(r), "transfer");
        int64_t remote = tg_as_int(tg_list_get(r, 0));
        if (remote) {
            bytes += (double)remote;
            secs += (double)(tg_as_int(tg_list_get(r, 1))
                             - tg_as_int(tg_list_get(r, 2)))
                    / 1e9;
        }
        tg_decref(r);
        tg_graph_free(g);
    }
    if (secs > 0)
        printf("transfer %.2f GB/s\n", bytes / secs / 1e9);
    printf("transfer_bytes %.0f B\n", bytes);
}

typedef struct sink {
    int fd;
    char *buf;  /* where the bytes land, again and again */
    size_t len; /* its size */
    size_t bytes;
} sink;

static void *read_all(void *arg)
{
    sink *k = arg;
    size_t got = 0, at = 0;
    for (ssize_t r; (r = read(k->fd, k->buf + at, k->len - at)) > 0;) {
        got += (size_t)r;
        at = (at + (size_t)r) % k->len;
    }
    k->bytes = got;
    return NULL;
}

/* A plain loopback TCP copy of total bytes in 1 MiB writes, from a
 * source of span bytes to a destination of as many (both touched
 * first, so no page is new): GB/s.  With span the blob's size the
 * bytes come from memory and go to memory, as a transfer's do; with
 * span 1 MiB both ends stay in the core's cache, which no transfer of
 * large values can do. */
static double socket_copy(size_t total, size_t span)
{
    int fd[2];
    tcp_pair(fd);
    int c = fd[0];
    size_t chunk = 1 << 20;
    char *src = malloc(span), *dst = malloc(span);
    must(src && dst && span % chunk == 0, "socket copy buffers");
    memset(src, 1, span);
    memset(dst, 2, span);
    sink k = {fd[1], dst, span, 0};
    pthread_t th;
    pthread_create(&th, NULL, read_all, &k);
    uint64_t t0 = tg_now_ns();
    for (size_t sent = 0; sent < total;) {
        size_t at = sent % span, n = span - at < chunk ? span - at : chunk;
        ssize_t w = write(c, src + at, n);
        must(w > 0, "write");
        sent += (size_t)w;
    }
    close(c);
    pthread_join(th, NULL);
    double secs = secs_since(t0);
    close(k.fd);
    free(src);
    free(dst);
    return (double)k.bytes / secs / 1e9;
}

int main(int argc, char **argv)
{
    const shapes *sh =
        argc > 1 && strcmp(argv[1], "--quick") == 0 ? &quick : &full;
    must(tg_register("b.inc", b_inc, NULL) == 0
             && tg_register("b.stamp", b_stamp, NULL) == 0
             && tg_register("b.blob", b_blob, NULL) == 0
             && tg_register("b.take", b_take, NULL) == 0,
         "registering");
    uint64_t t0 = tg_now_ns();
    tg_cluster *cl = tg_cluster_local(2, 1, NULL);
    must(cl != NULL, "starting the cluster");
    printf("cluster_start %.3f s\n", secs_since(t0));
    tg_scheduler *s = tg_scheduler_distributed(tg_cluster_address(cl));
    must(s != NULL, "connecting");

    idle(sh->idle_s); /* first, as fresh processes */
    round_trip(s, sh->round_trips);
    round_trip_floor(sh->round_trips);
    throughput(s, sh->tasks);
    chain(s, sh->chain);
    submit(s, sh->submit);
    transfer(s, sh->blob, sh->rounds);
    printf("socket_copy %.2f GB/s\n",
           socket_copy(sh->blob * sh->rounds, sh->blob));
    printf("socket_copy_cached %.2f GB/s\n",
           socket_copy(sh->blob * sh->rounds, 1 << 20));
    idle(sh->idle_s); /* and after the work */

    tg_scheduler_free(s);
    tg_cluster_close(cl);
    return 0;
}
