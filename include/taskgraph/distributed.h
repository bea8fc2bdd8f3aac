/* taskgraph/distributed.h - a scheduler and workers in other processes.
 *
 * As dask.distributed: one scheduler process owns the cluster's state,
 * worker processes run tasks and hold their results (sending them to
 * each other directly), and clients submit graphs.  From a program, the
 * cluster is one more scheduler: tg_scheduler_distributed(address) works
 * with tg_compute like sync and threads.  Code never crosses the wire:
 * a task names a registered function (tg_register), which every worker
 * has registered too; a graph holding a local call, or a value no codec
 * can encode, fails at submission with an error naming it.
 *
 * Safe by default: every connection opens with an HMAC-SHA256 challenge
 * and response over a shared token, and a peer that fails it is dropped
 * before anything it sends is parsed; the scheduler binds 127.0.0.1
 * unless told otherwise; every message is bounded (header size, frame
 * count and size) before anything is allocated for it.
 *
 * Addresses are "tcp://host:port", or the path of a scheduler file
 * (written by tg-scheduler --scheduler-file, or by tg_cluster_local:
 * address and token, mode 0600).  With a tcp:// address the token comes
 * from the TG_TOKEN environment variable.
 */
#ifndef TASKGRAPH_DISTRIBUTED_H
#define TASKGRAPH_DISTRIBUTED_H

#include "compute.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The cluster at address as a scheduler: tg_compute and friends submit
 * the graph (compiled here, sent as one binary message) and wait for its
 * targets, with the results and errors (key and message) of sync;
 * cancellation and timeouts (tg_compute_with) cancel the graph on the
 * cluster.  Connects and authenticates now: NULL with tg_last_error()
 * when the address, the token or the scheduler is wrong.  Any number of
 * threads may compute on it at once.  Free with tg_scheduler_free. */
TG_API tg_scheduler *tg_scheduler_distributed(const char *address);
/* (A NULL address means the scheduler file named by the environment
 * variable TG_SCHEDULER_FILE, as tg-mpi sets for the program it runs.) */

/* Asks the scheduler at address to stop, as SIGTERM would: graphs still
 * running fail (their clients hear that the scheduler went away), and
 * its workers stop when it goes.  Waits up to 10 s for it to close the
 * connection.  What tg-mpi does when its program ends.  0, or a code
 * with tg_last_error() (the address, the token, or no answer). */
TG_API int tg_shutdown_scheduler(const char *address);

/* Waits until at least n workers have joined the scheduler at address
 * (NULL: TG_SCHEDULER_FILE), as Dask's wait_for_workers: 0, or TG_EIO
 * after timeout_ms (saying how many did), or the code of a wrong address
 * or token.  Any thread. */
TG_API int tg_wait_for_workers(const char *address, int n, uint64_t timeout_ms);

/* Options of the scheduler and worker loops; all-zero means the
 * defaults.  Limits apply to every message a process reads. */
typedef struct tg_server_opts {
    const char *host; /* address to bind: NULL = 127.0.0.1 */
    int port;         /* 0 = any free port */
    /* Scheduler: where to write the scheduler file (address and token,
     * mode 0600); worker: where to read the scheduler's address and
     * token from (instead of address + TG_TOKEN). */
    const char *scheduler_file;
    /* The token: a file holding it (NULL: the scheduler makes a random
     * one; a worker reads the scheduler file or TG_TOKEN). */
    const char *token_file;
    const char *address; /* worker: the scheduler, "tcp://host:port" */
    const char *name;    /* worker: its name (NULL: host:pid) */
    int nthreads;        /* worker: task threads (0 = one per core) */
    size_t max_header;   /* bytes of a message's header; 0 = 1 MiB */
    size_t max_frames;   /* frames in one message; 0 = 65,536 */
    size_t max_frame;    /* bytes of one frame; 0 = 4 GiB */
    int worker_queue;    /* scheduler: the most tasks in flight per
                            worker thread; 0 = 64.  Fewer while tasks
                            run long: about 250 us of work per thread,
                            at least 2 */
    bool quiet;          /* no address or log lines on stderr */
} tg_server_opts;

/* Both servers set SIGPIPE to be ignored when it has its default action
 * (a program's own handler is left alone): their loop writes to sockets
 * with write(), and a peer gone mid-write would otherwise end the whole
 * process; ignored, it is an error on that peer's connection only.  The
 * client side needs nothing: it writes with MSG_NOSIGNAL. */

/* Runs a scheduler until SIGINT or SIGTERM (or tg_server_stop): binds
 * host:port, prints "tg-scheduler at tcp://host:port" on stderr (unless
 * quiet), writes the scheduler file, and serves workers and clients.
 * Binding anything but a loopback address is allowed, and said loudly.
 * Returns 0 after a clean stop, or a negative code when it cannot start
 * (tg_last_error() says why).  What tg-scheduler runs. */
TG_API int tg_serve_scheduler(const tg_server_opts *opts);
/* Runs a worker until the scheduler goes away or a signal stops it: it
 * connects to the scheduler, listens for its peers on host (port 0),
 * and runs tasks on nthreads threads, resolving their functions in this
 * process's registry.  Returns 0 after a clean stop, or a negative code.
 * What tg-worker runs (after loading its --preload libraries).  It tunes
 * the process's malloc as a data server's: blocks up to 1 GiB come from
 * the heap and stay there once freed, so that frames and results of the
 * same sizes reuse pages instead of faulting in fresh ones; what is free,
 * in the loop's heap and in each task thread's, goes back to the system
 * once the worker has been idle for a second.  A lone task (every thread
 * idle) whose function ran in under 20 us the last time runs on the
 * loop's thread, which is cheaper than waking a task thread: a task
 * function, as on the thread pool, must not care which thread runs it. */
TG_API int tg_serve_worker(const tg_server_opts *opts);
/* Asks the server loop of this process to stop (as SIGTERM does).  Any
 * thread, or a signal handler. */
TG_API void tg_server_stop(void);

/* A cluster on this machine, for one program (Dask's LocalCluster). */
typedef struct tg_cluster tg_cluster;

/* Options of tg_cluster_local; all-zero means the defaults. */
typedef struct tg_cluster_opts {
    uint64_t start_timeout_ms; /* for the processes to come up; 0 = 30 s */
    bool verbose;              /* the processes log on stderr */
} tg_cluster_opts;

/* Starts a scheduler and nworkers workers of threads_per_worker threads
 * (0 = one per core) on 127.0.0.1, with a fresh token, and waits until
 * every worker has joined.  Register your functions first: the workers
 * run this program's own binary again, marked by an environment variable
 * and the ordinal of this tg_cluster_local call, and in a worker that
 * call becomes the worker loop and never returns.  So everything the
 * program does before the call runs again in each worker (registrations
 * included, which is the point: keep work before it cheap and free of
 * side effects, and print nothing before it).  In a worker of the n-th
 * cluster, the calls before the n-th return a cluster with no processes
 * (its address is ""), so a program may start several.  The processes
 * stop with tg_cluster_close, and also when the thread that started them
 * ends (the kernel's parent-death signal: start clusters from a thread
 * that lives as long as you use them, such as main's).  Returns NULL
 * with tg_last_error() when they cannot start.  Caller serialises. */
TG_API tg_cluster *tg_cluster_local(int nworkers, int threads_per_worker,
                                    const tg_cluster_opts *opts);
/* The path of the cluster's scheduler file (address and token, mode 0600,
 * in a private directory), for tg_scheduler_distributed.  Borrowed: lives
 * until tg_cluster_close. */
TG_API const char *tg_cluster_address(const tg_cluster *cl);
/* Stops the cluster's processes (by PID), waits for them and removes its
 * files.  NULL does nothing.  No compute on it may be running. */
TG_API void tg_cluster_close(tg_cluster *cl);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_DISTRIBUTED_H */
