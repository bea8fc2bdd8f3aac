/* schedulers/distributed/cluster.c - tg_cluster_local: a scheduler and
 * workers on this machine for one program.
 *
 * The processes are this program's own binary run again (the path
 * /proc/self/exe names, with the same arguments), marked by TG_CLUSTER_ROLE,
 * the ordinal of the tg_cluster_local call that started them and the path of
 * the cluster's scheduler file; in them, that call becomes the scheduler or
 * worker loop and then exits the process.  So the program's functions,
 * registered before the call, are registered in its workers too, and no
 * library needs building.  A re-executed binary starts clean, which a
 * fork of a program that already runs threads would not.  The token
 * lives in the scheduler file (mode 0600, in a private directory), never
 * in the environment.  Each process gets the parent-death signal, so a
 * cluster never outlives the thread that started it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dist_internal.h"
#include "taskgraph/callbacks.h"

#define ENV_ROLE "TG_CLUSTER_ROLE"
#define ENV_ORDINAL "TG_CLUSTER_ORDINAL"
#define ENV_FILE "TG_CLUSTER_FILE"
#define ENV_THREADS "TG_CLUSTER_THREADS"
#define ENV_VERBOSE "TG_CLUSTER_VERBOSE"
#define DEFAULT_START_MS 30000
#define STOP_WAIT_MS 5000

extern char **environ;

struct tg_cluster {
    char dir[256];  /* private directory, "" for a cluster with none */
    char file[300]; /* the scheduler file in it */
    pid_t *pids;    /* scheduler first */
    int n_pids;
};

static int ordinal; /* tg_cluster_local calls so far in this process */

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* In a process started by call k: runs its loop and exits. */
static void become(const char *role)
{
    tg_server_opts o = {.scheduler_file = getenv(ENV_FILE),
                        .quiet = !getenv(ENV_VERBOSE)};
    const char *threads = getenv(ENV_THREADS);
    o.nthreads = threads ? atoi(threads) : 0;
    int rc;
    if (strcmp(role, "scheduler") == 0) {
        rc = tg_serve_scheduler(&o);
    } else {
        o.scheduler_file = NULL; /* read it, do not write it */
        o.address = getenv(ENV_FILE);
        rc = tg_serve_worker(&o);
    }
    if (rc)
        fprintf(stderr, "taskgraph cluster %s: %s\n", role, tg_last_error());
    _exit(rc ? 1 : 0);
}

/* This program's arguments, from /proc/self/cmdline (a NULL-ended array
 * of strings in one block: tg__free(argv[0]) then tg__free(argv)). */
static char **own_argv(void)
{
    FILE *f = fopen("/proc/self/cmdline", "rb");
    size_t len = 0, cap = 4096;
    char *buf = tg__malloc(cap);
    while (f && buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (len < cap - 1)
            break;
        char *b = tg__realloc(buf, 2 * cap);
        if (!b) {
            tg__free(buf);
            buf = NULL;
            break;
        }
        buf = b, cap *= 2;
    }
    if (f)
        fclose(f);
    if (!buf || len == 0) {
        tg__free(buf);
        return tg__seterr_null(TG_EIO, "cannot read /proc/self/cmdline");
    }
    buf[len] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\0';
    char **argv = tg__calloc(n + 2, sizeof *argv);
    if (!argv) {
        tg__free(buf);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
        argv[k++] = buf + i;
    return argv;
}

/* An environment for a process of the cluster: environ with the
 * cluster's variables set. */
typedef struct child_env {
    char **env;
    char *vars; /* the added strings, one block */
} child_env;

static void env_close(child_env *e)
{
    tg__free(e->env);
    tg__free(e->vars);
}

static int env_make(child_env *e, const char *role, int ord, const char *file,
                    int threads, bool verbose)
{
    size_t n = 0;
    while (environ[n])
        n++;
    e->env = tg__calloc(n + 6, sizeof *e->env);
    e->vars = tg__malloc(1024 + strlen(file));
    if (!e->env || !e->vars)
        return TG_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TG_CLUSTER_", 11) != 0)
            e->env[k++] = environ[i];
    char *v = e->vars;
    e->env[k++] = v;
    v += sprintf(v, "%s=%s", ENV_ROLE, role) + 1;
    e->env[k++] = v;
    v += sprintf(v, "%s=%d", ENV_ORDINAL, ord) + 1;
    e->env[k++] = v;
    v += sprintf(v, "%s=%s", ENV_FILE, file) + 1;
    e->env[k++] = v;
    v += sprintf(v, "%s=%d", ENV_THREADS, threads) + 1;
    if (verbose) {
        e->env[k++] = v;
        sprintf(v, "%s=1", ENV_VERBOSE);
    }
    return 0;
}

/* Starts one process of the cluster running exe; its pid, or -1. */
static pid_t spawn(const char *exe, char **argv, char **env)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) { /* only async-signal-safe calls until exec */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1); /* the parent died already */
        execve(exe, argv, env);
        _exit(127);
    }
    if (pid < 0)
        tg__seterr(TG_EIO, "cannot start a process: %s", strerror(errno));
    return pid;
}

/* True while pid runs; reaps it when it has exited. */
static bool alive(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

static void stop_all(tg_cluster *cl)
{
    for (int i = 0; i < cl->n_pids; i++)
        if (cl->pids[i] > 0)
            kill(cl->pids[i], SIGTERM);
    for (long waited = 0;; waited += 10) {
        bool any = false;
        for (int i = 0; i < cl->n_pids; i++) {
            if (cl->pids[i] <= 0)
                continue;
            if (waitpid(cl->pids[i], NULL, WNOHANG) != 0)
                cl->pids[i] = 0;
            else
                any = true;
        }
        if (!any)
            break;
        if (waited >= STOP_WAIT_MS) { /* it did not stop: make it */
            for (int i = 0; i < cl->n_pids; i++)
                if (cl->pids[i] > 0) {
                    kill(cl->pids[i], SIGKILL);
                    waitpid(cl->pids[i], NULL, 0);
                    cl->pids[i] = 0;
                }
            break;
        }
        nap_ms(10);
    }
}

void tg_cluster_close(tg_cluster *cl)
{
    if (!cl)
        return;
    stop_all(cl);
    if (cl->dir[0]) {
        unlink(cl->file);
        rmdir(cl->dir);
    }
    tg__free(cl->pids);
    tg__free(cl);
}

const char *tg_cluster_address(const tg_cluster *cl)
{
    return cl ? cl->file : NULL;
}

/* Waits for the scheduler to write its file. */
static int wait_up(tg_cluster *cl, uint64_t timeout_ms)
{
    uint64_t deadline = tg_now_ns() + timeout_ms * 1000000u;
    struct stat st;
    while (stat(cl->file, &st) != 0) {
        if (!alive(cl->pids[0]))
            return tg__seterr(TG_EIO, "the cluster's scheduler exited");
        if (tg_now_ns() > deadline)
            return tg__seterr(TG_ECANCELED, "the scheduler did not start "
                                            "in time");
        nap_ms(5);
    }
    return 0;
}

/* Waits for n workers to join. */
static int wait_workers(tg_cluster *cl, int n, uint64_t timeout_ms)
{
    uint64_t deadline = tg_now_ns() + timeout_ms * 1000000u;
    for (;;) {
        uint64_t workers = 0, threads = 0;
        if (tg__cluster_info(cl->file, &workers, &threads) == 0
            && workers >= (uint64_t)n)
            return 0;
        for (int i = 0; i < cl->n_pids; i++)
            if (!alive(cl->pids[i]))
                return tg__seterr(TG_EIO, "a process of the cluster exited "
                                          "while starting");
        if (tg_now_ns() > deadline)
            return tg__seterr(TG_ECANCELED, "%llu of %d workers joined in time",
                              (unsigned long long)workers, n);
        nap_ms(10);
    }
}

static int start(tg_cluster *cl, int ord, int nworkers, int threads,
                 const tg_cluster_opts *o)
{
    child_env es = {0}, ew = {0};
    char **argv = own_argv();
    /* the program's path, resolved here: under a tool such as valgrind,
     * /proc/self/exe in the child would be the tool */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int rc = argv ? 0 : tg__last_code(TG_ENOMEM);
    if (rc == 0 && (n <= 0 || (size_t)n >= sizeof exe - 1))
        rc = tg__seterr(TG_EIO, "cannot find this program's binary");
    if (rc == 0)
        exe[n] = '\0';
    rc = rc ? rc : env_make(&es, "scheduler", ord, cl->file, 0, o->verbose);
    rc = rc ? rc : env_make(&ew, "worker", ord, cl->file, threads, o->verbose);
    uint64_t timeout =
        o->start_timeout_ms ? o->start_timeout_ms : DEFAULT_START_MS;
    if (rc == 0 && (cl->pids[0] = spawn(exe, argv, es.env)) > 0)
        cl->n_pids = 1;
    else if (rc == 0)
        rc = TG_EIO;
    rc = rc ? rc : wait_up(cl, timeout);
    for (int i = 0; i < nworkers && rc == 0; i++) {
        if ((cl->pids[cl->n_pids] = spawn(exe, argv, ew.env)) > 0)
            cl->n_pids++;
        else
            rc = TG_EIO;
    }
    rc = rc ? rc : wait_workers(cl, nworkers, timeout);
    env_close(&es);
    env_close(&ew);
    if (argv) {
        tg__free(argv[0]);
        tg__free(argv);
    }
    return rc;
}

tg_cluster *tg_cluster_local(int nworkers, int threads_per_worker,
                             const tg_cluster_opts *opts)
{
    static const tg_cluster_opts defaults = {0};
    const tg_cluster_opts *o = opts ? opts : &defaults;
    int ord = ++ordinal;
    const char *role = getenv(ENV_ROLE), *mine = getenv(ENV_ORDINAL);
    if (role && mine && atoi(mine) == ord)
        become(role); /* never returns */
    if (nworkers < 1 || nworkers > 1024 || threads_per_worker < 0)
        return tg__seterr_null(TG_EINVAL,
                               "tg_cluster_local: %d workers of %d threads",
                               nworkers, threads_per_worker);
    tg_cluster *cl = tg__calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    if (role) /* in a process of a later call's cluster: no processes */
        return cl;
    cl->pids = tg__calloc((size_t)nworkers + 1, sizeof *cl->pids);
    const char *tmp = getenv("TMPDIR");
    snprintf(cl->dir, sizeof cl->dir, "%s/tg-cluster-XXXXXX",
             tmp && *tmp && strlen(tmp) < 200 ? tmp : "/tmp");
    if (!cl->pids || !mkdtemp(cl->dir)) {
        if (cl->pids)
            tg__seterr(TG_EIO, "cannot make %s: %s", cl->dir, strerror(errno));
        cl->dir[0] = '\0';
        tg_cluster_close(cl);
        return NULL;
    }
    snprintf(cl->file, sizeof cl->file, "%s/scheduler", cl->dir);
    int rc = start(cl, ord, nworkers, threads_per_worker, o);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", tg_last_error());
        tg_cluster_close(cl);
        return tg__seterr_null(rc, "tg_cluster_local: %s", why);
    }
    return cl;
}
