/* tools/tg-mpi.c - a whole cluster from one MPI launch.
 *
 * Usage: mpirun -n K tg-mpi --scheduler-file PATH [--preload LIB.so]...
 *                [--nthreads N] [--host H] [--timeout S] [--quiet]
 *                -- PROGRAM [ARG...]
 *
 * Every rank runs this; its rank, read from the launcher's environment
 * (OpenMPI, MPICH and other PMI launchers, SLURM's srun), says what it
 * becomes, as in dask-mpi: rank 0 the scheduler, which writes PATH (on a
 * file system every rank sees); rank 1 runs PROGRAM with PATH in the
 * environment variable TG_SCHEDULER_FILE (tg_scheduler_distributed(NULL)
 * reads it) and, when PROGRAM ends, stops the scheduler, so that every
 * rank ends and the launch exits with PROGRAM's status; ranks 2 and up
 * are workers, running tasks from the --preload libraries.  No MPI
 * library is needed: the launcher only starts the processes.
 *
 * Ranks 1 and up wait (--timeout, default 60 s) until the scheduler
 * named in PATH answers with the right token, so a stale file from an
 * earlier run is never used; rank 1 also waits for every worker to join
 * (the launch's size less two) before it starts PROGRAM.  --host is the address
 * the scheduler and the workers bind (default 127.0.0.1: one machine; across
 * machines give 0.0.0.0, and they advertise their host names).  Every rank
 * stops when its launcher dies (the kernel's parent-death signal).  Exit codes:
 * PROGRAM's on rank 1; 0 after a clean stop elsewhere; 1 could not
 * start; 2 bad usage.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <taskgraph.h>
#include <time.h>
#include <unistd.h>

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "tg-mpi: %s\n", msg);
    fprintf(stderr,
            "usage: mpirun -n K tg-mpi --scheduler-file PATH "
            "[--preload LIB.so]...\n"
            "              [--nthreads N] [--host H] [--timeout S] [--quiet] "
            "-- PROGRAM [ARG...]\n");
    return 2;
}

/* The rank, from the first of the launchers' variables that is set. */
static int rank_from_env(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                                 "PMI_RANK", "MV2_COMM_WORLD_RANK",
                                 "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        long r = v && *v ? strtol(v, &end, 10) : -1;
        if (v && *v && !*end && r >= 0 && r < 1000000)
            return (int)r;
    }
    return -1;
}

/* Waits until the scheduler of the scheduler file answers: 0, or 1 after
 * timeout_s (with the last reason on stderr). */
static int wait_for_scheduler(const char *file, int timeout_s)
{
    struct timespec nap = {0, 100 * 1000000L};
    for (long waited = 0; waited <= timeout_s * 10L; waited++) {
        tg_scheduler *s = tg_scheduler_distributed(file);
        if (s) {
            tg_scheduler_free(s);
            return 0;
        }
        nanosleep(&nap, NULL);
    }
    fprintf(stderr, "tg-mpi: no scheduler at %s after %d s: %s\n", file,
            timeout_s, tg_last_error());
    return 1;
}

/* The number of ranks, from the launcher's environment; 0 if unknown. */
static int size_from_env(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                 "MV2_COMM_WORLD_SIZE", "SLURM_NTASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        long n = v && *v ? strtol(v, &end, 10) : 0;
        if (v && *v && !*end && n > 0 && n < 1000000)
            return (int)n;
    }
    return 0;
}

/* Rank 1: runs the program once every worker has joined, then stops the
 * cluster. */
static int run_program(const char *file, char **argv, int timeout_s)
{
    if (wait_for_scheduler(file, timeout_s) != 0)
        return 1;
    int workers = size_from_env() - 2;
    if (workers > 0
        && tg_wait_for_workers(file, workers, (uint64_t)timeout_s * 1000)
               != 0) {
        fprintf(stderr, "tg-mpi: %s\n", tg_last_error());
        tg_shutdown_scheduler(file);
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("tg-mpi: fork");
        return 1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        setenv("TG_SCHEDULER_FILE", file, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "tg-mpi: cannot run %s: ", argv[0]);
        perror(NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (tg_shutdown_scheduler(file) != 0)
        fprintf(stderr, "tg-mpi: stopping the scheduler: %s\n",
                tg_last_error());
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    fprintf(stderr, "tg-mpi: %s died of signal %d\n", argv[0],
            WTERMSIG(status));
    return 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    tg_server_opts o = {0};
    const char *preload[64];
    int n_preload = 0, timeout_s = 60, i;
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            o.quiet = true;
            continue;
        }
        if (!v)
            return usage(NULL);
        i++;
        char *end;
        long n = strtol(v, &end, 10);
        if (strcmp(a, "--scheduler-file") == 0) {
            o.scheduler_file = v;
        } else if (strcmp(a, "--preload") == 0) {
            if (n_preload == 64)
                return usage("at most 64 --preload libraries");
            preload[n_preload++] = v;
        } else if (strcmp(a, "--nthreads") == 0) {
            if (*end || n < 0 || n > 4096)
                return usage("--nthreads takes 0 to 4096");
            o.nthreads = (int)n;
        } else if (strcmp(a, "--timeout") == 0) {
            if (*end || n < 1 || n > 86400)
                return usage("--timeout takes 1 to 86400 seconds");
            timeout_s = (int)n;
        } else if (strcmp(a, "--host") == 0) {
            o.host = v;
        } else {
            return usage(NULL);
        }
    }
    if (!o.scheduler_file)
        return usage("--scheduler-file is required");
    if (i + 1 >= argc)
        return usage("no program after --");
    int rank = rank_from_env();
    if (rank < 0)
        return usage("no rank in the environment: run under mpirun or srun");
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the launcher went: so do we */

    if (rank == 0) {
        if (tg_serve_scheduler(&o) != 0) {
            fprintf(stderr, "tg-mpi: scheduler: %s\n", tg_last_error());
            return 1;
        }
        return 0;
    }
    if (rank == 1)
        return run_program(o.scheduler_file, argv + i + 1, timeout_s);
    for (int k = 0; k < n_preload; k++)
        if (!dlopen(preload[k], RTLD_NOW | RTLD_GLOBAL)) {
            fprintf(stderr, "tg-mpi: cannot load %s: %s\n", preload[k],
                    dlerror());
            return 1;
        }
    if (wait_for_scheduler(o.scheduler_file, timeout_s) != 0)
        return 1;
    if (tg_serve_worker(&o) != 0) {
        fprintf(stderr, "tg-mpi: worker: %s\n", tg_last_error());
        return 1;
    }
    return 0;
}
