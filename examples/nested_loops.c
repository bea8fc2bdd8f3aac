/* examples/nested_loops.c - parallelize a nested loop without rewriting it.
 *
 * The plain C loop
 *     for x in A: for y in B: total += x < y ? f(x, y) : g(x, y)
 * becomes one delayed call per (x, y), summed by tg_delayed_reduce with
 * the built-in "tg.sum" as a fan-in-8 tree (Dask's delayed(sum)).  f and
 * g are ordinary C functions, delayed through TG_ADAPT.  The result is
 * checked against the plain loop.  The functions are registered under
 * their names first, so every call is a registered call: the graph could
 * run on a cluster, which the loopback scheduler checks.
 *
 * Usage: nested_loops [N [scheduler]]   (N x N calls, default 1000;
 *        scheduler "sync", "threads" (the default: one worker per core),
 *        "loopback" or "cluster": two worker processes, tg_cluster_local)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <taskgraph.h>

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

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    const char *which = argc > 2 ? argv[2] : "threads";
    if (n == 0 || n > 20000) {
        fprintf(stderr, "N must be between 1 and 20000\n");
        return 2;
    }
    if (TG_REGISTER_ADAPTED(f) || TG_REGISTER_ADAPTED(g)) {
        fprintf(stderr, "registering: %s\n", tg_last_error());
        return 1;
    }
    /* "cluster": two worker processes on this machine, which run this
     * binary again up to here (so they have f and g too) */
    tg_cluster *cl = NULL;
    if (strcmp(which, "cluster") == 0 && !(cl = tg_cluster_local(2, 1, NULL))) {
        fprintf(stderr, "%s\n", tg_last_error());
        return 1;
    }
    tg_scheduler *s = strcmp(which, "sync") == 0       ? tg_scheduler_sync()
                      : strcmp(which, "threads") == 0  ? tg_scheduler_threads(0)
                      : strcmp(which, "loopback") == 0 ? tg_scheduler_loopback()
                      : cl ? tg_scheduler_distributed(tg_cluster_address(cl))
                           : NULL;
    if (!s) {
        fprintf(stderr, "unknown scheduler '%s'\n", which);
        tg_cluster_close(cl);
        return 2;
    }

    double expected = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = input(i, n), y = input(j, n);
            expected += x < y ? f(x, y) : g(x, y);
        }

    uint64_t t0 = tg_now_ns();
    tg_graph *gr = tg_graph_new();
    tg_value **zs = malloc(n * n * sizeof *zs);
    if (!gr || !zs) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = input(i, n), y = input(j, n);
            zs[i * n + j] = x < y ? TG_CALL(gr, f, x, y) : TG_CALL(gr, g, x, y);
        }
    tg_value *total = tg_delayed_reduce(gr, "tg.sum", n * n, zs, 8);
    if (!total) {
        fprintf(stderr, "building the graph failed: %s\n", tg_last_error());
        return 1;
    }
    tg_value *r = tg_compute(total, s);
    double secs = (double)(tg_now_ns() - t0) / 1e9;
    int rc = 0;
    if (tg_is_error(r)) {
        fprintf(stderr, "%s failed: %s\n", tg_error_key(r),
                tg_error_message(r));
        rc = 1;
    } else {
        double got = tg_as_float(r);
        bool ok = fabs(got - expected) <= 1e-9 * fabs(expected) + 1e-9;
        printf("nested loop %zu x %zu on %s: total = %.6f (plain loop: "
               "%.6f) %s\n",
               n, n, tg_scheduler_name(s), got, expected,
               ok ? "OK" : "MISMATCH");
        printf("%zu calls recorded, built + computed + checked in %.3f s\n",
               tg_graph_size(gr), secs);
        rc = ok ? 0 : 1;
    }
    tg_decref(r);
    tg_graph_free(gr);
    free(zs);
    tg_scheduler_free(s);
    tg_cluster_close(cl);
    return rc;
}
