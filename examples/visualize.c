/* examples/visualize.c - look at a graph before running it, and at where
 * the time went after.
 *
 * Builds the nested-loop graph of examples/nested_loops.c (one call of f
 * or g per (x, y), a fan-in-8 tree of sums) and draws it, coloured by
 * static order: the full graph when it is small, one node per function
 * when it is large.  With a third argument it also runs the graph under
 * the profiler with the progress bar on, writes a Chrome trace (open it
 * in https://ui.perfetto.dev) and prints the time per function.
 *
 * Usage: visualize [N [out.svg|png|pdf|dot [trace.json]]]
 *        (N x N calls, default 4; output default nested_loops.svg)
 */
#include <stdio.h>
#include <stdlib.h>
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

static tg_value *sum(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    double s = 0.0;
    for (size_t i = 0; i < nargs; i++)
        s += tg_as_float(args[i]);
    return tg_float(s);
}

/* The graph of sum(x < y ? f(x, y) : g(x, y) for x, y in N x N). */
static tg_value *nested_loop(tg_graph *gr, size_t n)
{
    tg_value **vals = malloc(n * n * sizeof *vals);
    if (!vals)
        return NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = 4.0 * (double)i / (double)n;
            double y = 4.0 * (double)j / (double)n;
            vals[i * n + j] = x < y ? TG_CALL(gr, f, tg_float(x), tg_float(y))
                                    : TG_CALL(gr, g, tg_float(x), tg_float(y));
        }
    size_t m = n * n;
    while (m > 1) { /* fan-in-8 tree, level by level */
        size_t k = 0;
        for (size_t i = 0; i < m; i += 8)
            vals[k++] = tg_delayed_v(gr, "sum", sum, NULL, 0,
                                     m - i < 8 ? m - i : 8, &vals[i]);
        m = k;
    }
    tg_value *root = vals[0];
    free(vals);
    return root;
}

/* Runs the graph with the profiler and the progress bar. */
static int profile(tg_value *root, const char *trace)
{
    tg_profiler *p = tg_profiler_new();
    if (!p || tg_profiler_start(p) || tg_progress_enable(true))
        return 1;
    tg_value *r = tg_compute(root, NULL);
    int rc = tg_is_error(r);
    if (rc)
        fprintf(stderr, "compute failed: %s\n", tg_error_message(r));
    tg_decref(r);
    tg_progress_enable(false);
    tg_profiler_stop(p);
    if (!rc && tg_profiler_write_trace(p, trace) == 0) {
        printf("wrote %s: %zu tasks (open it in https://ui.perfetto.dev)\n",
               trace, tg_profiler_n_tasks(p));
        tg_profiler_summary(p, stdout);
    } else if (!rc) {
        fprintf(stderr, "%s\n", tg_last_error());
        rc = 1;
    }
    tg_profiler_free(p);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 4;
    const char *out = argc > 2 ? argv[2] : "nested_loops.svg";
    if (n == 0 || n > 5000) {
        fprintf(stderr, "N must be between 1 and 5000\n");
        return 2;
    }
    if (TG_REGISTER_ADAPTED(f) || TG_REGISTER_ADAPTED(g)
        || tg_register("sum", sum, NULL)) {
        fprintf(stderr, "registering: %s\n", tg_last_error());
        return 1;
    }
    tg_graph *gr = tg_graph_new();
    tg_value *root = gr ? nested_loop(gr, n) : NULL;
    if (!root) {
        fprintf(stderr, "building the graph failed: %s\n", tg_last_error());
        tg_graph_free(gr);
        return 1;
    }
    uint64_t t0 = tg_now_ns();
    tg_viz_opts opts = {.color = TG_VIZ_COLOR_ORDER};
    int rc = tg_visualize(&root, 1, out, &opts);
    if (rc) {
        fprintf(stderr, "visualize failed: %s\n", tg_last_error());
    } else {
        bool summary = tg_graph_size(gr) > TG_VIZ_SUMMARIZE_ABOVE;
        printf("wrote %s: the %zu x %zu nested loop, %zu calls%s, in "
               "%.3f s\n",
               out, n, n, tg_graph_size(gr),
               summary ? " (summarized: one node per function)" : "",
               (double)(tg_now_ns() - t0) / 1e9);
        if (argc > 3)
            rc = profile(root, argv[3]);
    }
    tg_graph_free(gr);
    return rc ? 1 : 0;
}
