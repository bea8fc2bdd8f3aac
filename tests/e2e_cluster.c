/* tests/e2e_cluster.c - tg_cluster_local from end to end.
 *
 * Not a CMocka program: the cluster's workers run this binary again up to
 * each tg_cluster_local call, so everything before the calls is kept to
 * registrations and reading argv.  Checks, in order:
 *   - bad arguments fail cleanly, naming them;
 *   - a cluster of 2 workers computes what sync computes, on two worker
 *     processes other than this one;
 *   - a second cluster in the same program works beside the first
 *     (both start before either is used, as distributed.h advises);
 *   - tg_cluster_close stops every process;
 *   - when the program that started a cluster dies (SIGKILL), its
 *     scheduler and workers stop by themselves (this binary, run again
 *     as "orphan FD", starts that cluster; this process is the child
 *     subreaper, so the orphans come back to it to be reaped - and are
 *     killed by PID if they do not stop).
 * Exits 0 and prints "e2e_cluster: OK" when every check holds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <taskgraph.h>
#include <taskgraph/distributed.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "e2e_cluster: %s:%d: ", __FILE__, __LINE__);       \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            return 1;                                                          \
        }                                                                      \
    } while (0)

static int64_t cube(int64_t x)
{
    return x * x * x;
}
TG_ADAPT(int64_t, cube, int64_t)

/* e2e.pid(i): the process the task ran in. */
static tg_value *where(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)args, (void)nargs, (void)ctx;
    return tg_int((int64_t)getpid());
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The pids of n tasks of "e2e.pid" on s, in pids; 0 or -1. */
static int task_pids(tg_scheduler *s, int64_t *pids, size_t n)
{
    tg_graph *g = tg_graph_new();
    tg_value *t[16], *out[16];
    for (size_t i = 0; i < n; i++)
        t[i] = tg_delayed_registered(g, "e2e.pid", 1, tg_int((int64_t)i));
    int rc = tg_compute_many(t, n, out, s);
    for (size_t i = 0; i < n; i++) {
        pids[i] = rc == 0 ? tg_as_int(out[i]) : 0;
        tg_decref(out[i]);
    }
    tg_graph_free(g);
    return rc == 0 ? 0 : -1;
}

/* The sum of cubes of 1..n as a fan-in tree on s, or -1. */
static int64_t sum_of_cubes(tg_scheduler *s, int64_t n)
{
    tg_graph *g = tg_graph_new();
    tg_value **c = malloc((size_t)n * sizeof *c);
    for (int64_t i = 0; i < n; i++)
        c[i] = TG_CALL(g, cube, i + 1);
    tg_value *total = tg_delayed_reduce(g, "tg.sum", (size_t)n, c, 4);
    tg_value *r = total ? tg_compute(total, s) : NULL;
    int64_t got = r && !tg_is_error(r) ? tg_as_int(r) : -1;
    if (r && tg_is_error(r))
        fprintf(stderr, "e2e_cluster: %s\n", tg_error_message(r));
    tg_decref(r);
    free(c);
    tg_graph_free(g);
    return got;
}

static size_t distinct(const int64_t *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && v[j] != v[i])
            j++;
        k += j == i;
    }
    return k;
}

/* The pids of this process's children, from /proc (at most cap). */
static size_t children(pid_t *out, size_t cap)
{
    size_t n = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d)) && n < cap;) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *close_paren = strrchr(buf, ')');
        int ppid = 0;
        char state;
        if (close_paren && sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2
            && ppid == (int)getpid())
            out[n++] = (pid_t)atoi(e->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

/* Run as "orphan FD": start a cluster, write the pids of its workers to
 * FD, then wait to be killed. */
static int orphan(int fd)
{
    tg_cluster *cl = tg_cluster_local(2, 1, NULL);
    if (!cl)
        return 1;
    tg_scheduler *s = tg_scheduler_distributed(tg_cluster_address(cl));
    int64_t pids[8];
    if (!s || task_pids(s, pids, 8) != 0)
        return 1;
    if (write(fd, pids, sizeof pids) != (ssize_t)sizeof pids)
        return 1;
    close(fd);
    pause();
    return 0;
}

/* The orphan's cluster stops once the orphan is killed. */
static int check_orphans_stop(const char *self)
{
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "no subreaper: %s",
          strerror(errno));
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    pid_t kid = fork();
    if (kid == 0) {
        char fd[16];
        snprintf(fd, sizeof fd, "%d", p[1]);
        close(p[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(self, self, "orphan", fd, (char *)NULL);
        _exit(127);
    }
    CHECK(kid > 0, "fork");
    close(p[1]);
    int64_t pids[8];
    ssize_t got = read(p[0], pids, sizeof pids);
    close(p[0]);
    CHECK(got == (ssize_t)sizeof pids, "the orphan's cluster did not run");
    CHECK(distinct(pids, 8) == 2, "the orphan's cluster: %zu workers ran",
          distinct(pids, 8));
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    /* scheduler and workers come back to this subreaper as they stop */
    int reaped = 0;
    for (int waited = 0; waited < 10000 && reaped < 3; waited += 10) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            reaped++;
        nap_ms(10);
    }
    pid_t left[16];
    size_t n = children(left, 16);
    for (size_t i = 0; i < n; i++) { /* failed: stop them by PID */
        kill(left[i], SIGKILL);
        waitpid(left[i], NULL, 0);
    }
    CHECK(n == 0 && reaped == 3,
          "%zu processes of a dead program's cluster still ran after 10 s "
          "(%d stopped)",
          n, reaped);
    return 0;
}

int main(int argc, char **argv)
{
    alarm(120); /* never hang (inherited by the cluster's processes) */
    TG_REGISTER_ADAPTED(cube);
    tg_register("e2e.pid", where, NULL);
    if (argc == 3 && strcmp(argv[1], "orphan") == 0)
        return orphan(atoi(argv[2]));

    /* 0: bad arguments, refused before anything starts */
    CHECK(tg_cluster_local(0, 1, NULL) == NULL, "0 workers accepted");
    CHECK(strstr(tg_last_error(), "0 workers"), "error: %s", tg_last_error());
    CHECK(tg_cluster_local(2, -1, NULL) == NULL, "-1 threads accepted");

    /* Both clusters start before either is used: a worker of the second
     * runs everything before its call again, and there the first is a
     * cluster without processes. */
    tg_cluster *a = tg_cluster_local(2, 1, NULL);
    CHECK(a, "cannot start a cluster: %s", tg_last_error());
    tg_cluster *b = tg_cluster_local(1, 2, NULL);
    CHECK(b, "cannot start a second cluster: %s", tg_last_error());

    /* 1: a cluster of 2 workers agrees with sync */
    tg_scheduler *sa = tg_scheduler_distributed(tg_cluster_address(a));
    CHECK(sa, "cannot connect: %s", tg_last_error());
    int64_t want = sum_of_cubes(NULL, 500);
    CHECK(want == 500LL * 500 * 501 * 501 / 4, "sync: %lld", (long long)want);
    CHECK(sum_of_cubes(sa, 500) == want, "the cluster's sum differs");
    int64_t pa[16];
    CHECK(task_pids(sa, pa, 16) == 0, "pids");
    CHECK(distinct(pa, 16) == 2, "%zu worker processes ran tasks",
          distinct(pa, 16));
    for (int i = 0; i < 16; i++)
        CHECK(pa[i] != (int64_t)getpid(), "a task ran in the program");

    /* 2: a second cluster beside the first */
    CHECK(strcmp(tg_cluster_address(a), tg_cluster_address(b)) != 0,
          "two clusters, one address");
    tg_scheduler *sb = tg_scheduler_distributed(tg_cluster_address(b));
    CHECK(sb, "cannot connect to the second: %s", tg_last_error());
    int64_t pb[16];
    CHECK(task_pids(sb, pb, 16) == 0, "pids on the second");
    CHECK(distinct(pb, 16) == 1, "the second has %zu workers",
          distinct(pb, 16));
    CHECK(pb[0] != pa[0] && pb[0] != pa[1], "the second shares a worker");
    CHECK(sum_of_cubes(sb, 100) == sum_of_cubes(NULL, 100), "second differs");

    /* 3: closing stops every process (they are this program's children) */
    tg_scheduler_free(sb);
    tg_scheduler_free(sa);
    tg_cluster_close(b);
    tg_cluster_close(a);
    pid_t left[16];
    CHECK(children(left, 16) == 0, "a process outlived tg_cluster_close");
    for (int i = 0; i < 16; i++)
        CHECK(kill((pid_t)pa[i], 0) != 0 && errno == ESRCH,
              "worker %lld still runs", (long long)pa[i]);

    /* 4: a dead program's cluster stops by itself */
    if (check_orphans_stop(argv[0]) != 0)
        return 1;
    printf("e2e_cluster: OK\n");
    return 0;
}
