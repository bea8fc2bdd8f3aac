/* examples/distributed.c - the nested loop of nested_loops.c on a cluster.
 *
 * The same graph - one delayed call per (x, y), summed by "tg.sum" as a
 * fan-in-8 tree - runs on the thread pool and then on a local cluster: a
 * scheduler and two worker processes on this machine, started by
 * tg_cluster_local and stopped by tg_cluster_close (or by the kernel, if
 * this program dies first).  The workers run this program's binary
 * again, up to the tg_cluster_local call, so f and g registered before
 * it are theirs too; nothing else is needed - no shared library, no
 * set-up.  Both totals must be the same, and match the plain loop.
 *
 * To use a cluster started by hand instead (tg-scheduler, tg-worker
 * --preload of a library registering f and g; docs/deploying.md), pass
 * tg_scheduler_distributed its scheduler file.
 *
 * Usage: distributed [N [WORKERS]]   (N x N calls, default 300; 2 workers)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <taskgraph.h>
#include <taskgraph/distributed.h>

static double f(double x, double y)
{
    return x * y + 1.0;
}
static double g(double x, double y)
{
    return x - y;
}
TG_ADAPT(double, f, double, double)
TG_ADAPT(double, g, double, double)

static double input(size_t i, size_t n)
{
    return (double)i / (double)n * 4.0;
}

/* The loop as a graph, computed on s: the total, or NAN. */
static double run(tg_scheduler *s, size_t n)
{
    uint64_t t0 = tg_now_ns();
    tg_graph *gr = tg_graph_new();
    tg_value **zs = malloc(n * n * sizeof *zs);
    if (!gr || !zs)
        return NAN;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = input(i, n), y = input(j, n);
            zs[i * n + j] = x < y ? TG_CALL(gr, f, x, y) : TG_CALL(gr, g, x, y);
        }
    tg_value *total = tg_delayed_reduce(gr, "tg.sum", n * n, zs, 8);
    tg_value *r =
        total ? tg_compute(total, s) : tg_error("%s", tg_last_error());
    double got = NAN;
    if (tg_is_error(r))
        fprintf(stderr, "on %s: %s failed: %s\n", tg_scheduler_name(s),
                tg_error_key(r) ? tg_error_key(r) : "the graph",
                tg_error_message(r));
    else
        got = tg_as_float(r);
    printf("%-11s total = %.6f in %.3f s\n", tg_scheduler_name(s), got,
           (double)(tg_now_ns() - t0) / 1e9);
    tg_decref(r);
    tg_graph_free(gr);
    free(zs);
    return got;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 300;
    int workers = argc > 2 ? atoi(argv[2]) : 2;
    if (n == 0 || n > 3000 || workers < 1 || workers > 64) {
        fprintf(stderr, "usage: distributed [N [WORKERS]] (N up to 3000, "
                        "WORKERS up to 64)\n");
        return 2;
    }
    /* Register first, then start the cluster: the workers run this far
     * again, and print nothing. */
    if (TG_REGISTER_ADAPTED(f) || TG_REGISTER_ADAPTED(g)) {
        fprintf(stderr, "registering: %s\n", tg_last_error());
        return 1;
    }
    tg_cluster *cl = tg_cluster_local(workers, 1, NULL);
    tg_scheduler *dist =
        cl ? tg_scheduler_distributed(tg_cluster_address(cl)) : NULL;
    tg_scheduler *threads = tg_scheduler_threads(0);
    if (!dist || !threads) {
        fprintf(stderr, "starting the cluster: %s\n", tg_last_error());
        tg_cluster_close(cl);
        return 1;
    }

    double expected = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = input(i, n), y = input(j, n);
            expected += x < y ? f(x, y) : g(x, y);
        }
    printf("nested loop %zu x %zu; plain loop total = %.6f\n", n, n, expected);
    double on_threads = run(threads, n);
    double on_cluster = run(dist, n);
    bool ok = on_cluster == on_threads
              && fabs(on_cluster - expected) <= 1e-9 * fabs(expected) + 1e-9;
    printf("cluster of %d workers: %s\n", workers,
           ok ? "same total as threads: OK" : "MISMATCH");
    tg_scheduler_free(dist);
    tg_scheduler_free(threads);
    tg_cluster_close(cl);
    return ok ? 0 : 1;
}
