/* bench/bench_schedulers.c - per-task overhead of every scheduler and
 * the speedup of the pool.
 *
 * Three shapes, each timed as graph building + compute + free and
 * reported in ns per recorded call on sync, threads(1) and threads(2),
 * next to a plain C loop of the same arithmetic in the same run:
 *   tree  1M independent inc(i) reduced by a fan-in-8 tree of sums
 *   chain inc(inc(...inc(0))) one million deep (fuses into one task)
 *   grid  1000 x 1000 add(x[i], x[j]) over 1,000 shared inputs
 *         x[i] = inc(i), reduced by fan-in-8 trees
 * A second table splits sync's and threads(2)'s time into build,
 * compute (compile + run) and free.
 * Then a CPU-bound case: 200 tasks of about 5 ms of arithmetic each,
 * summed, with threads(n)'s speedup over sync.
 * Usage: bench_schedulers [n (default 1000000; 0 = only the CPU-bound
 *                         case)] [repeats (default 3)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <taskgraph.h>

static tg_value *inc(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_int(tg_as_int(a[0]) + 1);
}

static tg_value *add(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_int(tg_as_int(a[0]) + tg_as_int(a[1]));
}

static tg_value *sum(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += tg_as_int(a[i]);
    return tg_int(s);
}

static tg_value *tree(tg_graph *g, tg_value **v, size_t n)
{
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += 8)
            v[m++] = tg_delayed_v(g, "sum", sum, NULL, 0, n - i < 8 ? n - i : 8,
                                  &v[i]);
        n = m;
    }
    return v[0];
}

static volatile int64_t sink;

static int64_t plain_tree(size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (int64_t)i + 1 + (sink & 0);
    return s;
}

static tg_value *build_tree(tg_graph *g, tg_value **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = tg_delayed(g, "inc", inc, 1, tg_int((int64_t)i));
    return tree(g, v, n);
}

static int64_t plain_chain(size_t n)
{
    int64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x + 1 + (sink & 0);
    return x;
}

static tg_value *build_chain(tg_graph *g, tg_value **v, size_t n)
{
    (void)v;
    tg_value *x = tg_int(0);
    for (size_t i = 0; i < n; i++)
        x = tg_delayed(g, "inc", inc, 1, x);
    return x;
}

static size_t side(size_t n)
{
    size_t s = 1;
    while ((s + 1) * (s + 1) <= n)
        s++;
    return s;
}

/* x[i] = inc(i), y[j] = inc(j), sum of add(x[i], y[j]). */
static int64_t plain_grid(size_t n)
{
    size_t s = side(n);
    int64_t t = 0;
    for (size_t x = 0; x < s; x++)
        for (size_t y = 0; y < s; y++)
            t += (int64_t)x + 1 + (int64_t)y + 1 + (sink & 0);
    return t;
}

static tg_value *build_grid(tg_graph *g, tg_value **v, size_t n)
{
    size_t s = side(n), k = 0;
    tg_value **xs = v + s * s; /* scratch has room: s * s + s <= n + s */
    for (size_t i = 0; i < s; i++)
        xs[i] = tg_delayed(g, "inc", inc, 1, tg_int((int64_t)i));
    for (size_t x = 0; x < s; x++)
        for (size_t y = 0; y < s; y++)
            v[k++] = tg_delayed(g, "add", add, 2, xs[x], xs[y]);
    return tree(g, v, k);
}

typedef struct shape {
    const char *name;
    int64_t (*plain)(size_t n);
    tg_value *(*build)(tg_graph *g, tg_value **scratch, size_t n);
} shape;

typedef struct timing {
    double build, compute, free, total; /* ns per recorded call */
} timing;

/* Best-of-reps timing of one shape on one scheduler; exits on a wrong
 * result. */
static timing time_shape(const shape *sh, tg_scheduler *s, tg_value **v,
                         size_t n, int reps, int64_t want)
{
    timing best = {1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = tg_now_ns();
        tg_graph *g = tg_graph_new();
        tg_value *root = sh->build(g, v, n);
        uint64_t t1 = tg_now_ns();
        tg_value *got = tg_compute(root, s);
        uint64_t t2 = tg_now_ns();
        int ok = !tg_is_error(got) && tg_as_int(got) == want;
        double calls = (double)tg_graph_size(g);
        tg_decref(got);
        tg_graph_free(g);
        uint64_t t3 = tg_now_ns();
        if (!ok) {
            fprintf(stderr, "%s on %s: wrong result\n", sh->name,
                    tg_scheduler_name(s));
            exit(1);
        }
        timing t = {(double)(t1 - t0) / calls, (double)(t2 - t1) / calls,
                    (double)(t3 - t2) / calls, (double)(t3 - t0) / calls};
        if (t.total < best.total)
            best = t;
    }
    return best;
}

/* --- the CPU-bound case ------------------------------------------------ */

static uint64_t spin_iters; /* calibrated: about 5 ms of work */

static uint64_t spin(uint64_t x, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull + (x >> 29);
    return x;
}

static tg_value *work(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_int((int64_t)(spin((uint64_t)tg_as_int(a[0]), spin_iters) >> 8));
}

static void calibrate(double ms)
{
    uint64_t iters = 1u << 16, t0, t1;
    for (;;) {
        t0 = tg_now_ns();
        sink = (int64_t)spin(1, iters);
        t1 = tg_now_ns();
        if (t1 - t0 > 20000000u)
            break;
        iters *= 2;
    }
    spin_iters = (uint64_t)((double)iters * ms * 1e6 / (double)(t1 - t0));
}

/* Seconds for 200 work() tasks summed by a fan-in-8 tree, best of reps. */
static double time_cpu(tg_scheduler *s, int reps, int64_t *result)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        tg_graph *g = tg_graph_new();
        tg_value *v[200];
        for (int i = 0; i < 200; i++)
            v[i] = tg_delayed(g, "work", work, 1, tg_int(i));
        uint64_t t0 = tg_now_ns();
        tg_value *got = tg_compute(tree(g, v, 200), s);
        double secs = (double)(tg_now_ns() - t0) / 1e9;
        *result = tg_as_int(got);
        tg_decref(got);
        tg_graph_free(g);
        best = secs < best ? secs : best;
    }
    return best;
}

static void bench_cpu(tg_scheduler **scheds, int n_scheds, int reps)
{
    calibrate(5.0);
    printf("\ncpu-bound: 200 tasks of ~5 ms arithmetic, fan-in-8 sum\n");
    printf("%-11s %9s %9s\n", "scheduler", "seconds", "speedup");
    double base = 0;
    int64_t want = 0;
    for (int k = 0; k < n_scheds; k++) {
        int64_t got;
        double secs = time_cpu(scheds[k], reps, &got);
        if (k == 0) {
            base = secs;
            want = got;
        } else if (got != want) {
            fprintf(stderr, "cpu-bound: wrong result\n");
            exit(1);
        }
        printf("%-11s %9.3f %8.2fx\n",
               k == 0   ? "sync"
               : k == 1 ? "threads(1)"
                        : "threads(2)",
               secs, base / secs);
    }
}

/* The three shapes on each scheduler, then threads(2)'s split. */
static void bench_shapes(const shape *shapes, tg_scheduler **scheds,
                         tg_value **scratch, size_t n, int reps)
{
    timing t[3][3];
    printf("ns per call, graph build + compute + free (best of %d)\n", reps);
    printf("%-6s %9s %9s %9s %11s %11s %10s\n", "shape", "size", "plain",
           "sync", "threads(1)", "threads(2)", "t(2)/sync");
    for (int k = 0; k < 3; k++) {
        uint64_t t0 = tg_now_ns();
        int64_t want = shapes[k].plain(n);
        double plain = (double)(tg_now_ns() - t0) / (double)n;
        for (int s = 0; s < 3; s++)
            t[k][s] = time_shape(&shapes[k], scheds[s], scratch, n, reps, want);
        printf("%-6s %9zu %9.2f %9.1f %11.1f %11.1f %9.2fx\n", shapes[k].name,
               n, plain, t[k][0].total, t[k][1].total, t[k][2].total,
               t[k][2].total / t[k][0].total);
    }
    printf("\nsplit, ns per call (compute = compile + run)\n");
    printf("%-6s %-11s %9s %9s %9s %9s\n", "shape", "scheduler", "build",
           "compute", "free", "total");
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 3; s += 2)
            printf("%-6s %-11s %9.1f %9.1f %9.1f %9.1f\n", shapes[k].name,
                   s ? "threads(2)" : "sync", t[k][s].build, t[k][s].compute,
                   t[k][s].free, t[k][s].total);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    const shape shapes[] = {{"tree", plain_tree, build_tree},
                            {"chain", plain_chain, build_chain},
                            {"grid", plain_grid, build_grid}};
    tg_value **scratch = malloc((n + side(n) + 1) * sizeof *scratch);
    tg_scheduler *scheds[3] = {tg_scheduler_sync(), tg_scheduler_threads(1),
                               tg_scheduler_threads(2)};
    if (!scratch || !scheds[0] || !scheds[1] || !scheds[2] || reps < 1)
        return 1;
    if (n > 0)
        bench_shapes(shapes, scheds, scratch, n, reps);
    bench_cpu(scheds, 3, reps);
    for (int s = 0; s < 3; s++)
        tg_scheduler_free(scheds[s]);
    free(scratch);
    return 0;
}
