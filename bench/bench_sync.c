/* bench/bench_sync.c - per-task overhead of the sync scheduler.
 *
 * Three shapes, each timed as graph building + compute + free and
 * reported in ns per recorded call, next to a plain C loop doing the same
 * arithmetic in the same run (the baseline):
 *   tree  1M independent inc(i) reduced by a fan-in-8 tree of sums
 *   chain inc(inc(...inc(0))) one million deep
 *   grid  1000 x 1000 add(x, y) over shared inputs x = inc(i), reduced
 *         by fan-in-8 trees
 * Usage: bench_sync [n (default 1000000)] [repeats (default 3)]
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

typedef struct shape {
    const char *name;
    int64_t (*plain)(size_t n);
    tg_value *(*build)(tg_graph *g, tg_value **scratch, size_t n);
} shape;

static volatile int64_t sink;

static int64_t plain_tree(size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (int64_t)i + 1;
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
        x = x + 1 + (int64_t)(sink & 0);
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

static int64_t plain_grid(size_t n)
{
    size_t s = side(n);
    int64_t t = 0;
    for (size_t x = 0; x < s; x++)
        for (size_t y = 0; y < s; y++)
            t += (int64_t)x + 1 + (int64_t)y + 1;
    return t;
}

/* Inputs x = inc(i) are delayed and shared: each feeds 2s adds. */
static tg_value *build_grid(tg_graph *g, tg_value **v, size_t n)
{
    size_t s = side(n), k = 0;
    tg_value **xs = malloc(s * sizeof *xs);
    if (!xs)
        return NULL;
    for (size_t i = 0; i < s; i++)
        xs[i] = tg_delayed(g, "inc", inc, 1, tg_int((int64_t)i));
    for (size_t x = 0; x < s; x++)
        for (size_t y = 0; y < s; y++)
            v[k++] = tg_delayed(g, "add", add, 2, xs[x], xs[y]);
    free(xs);
    return tree(g, v, k);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    const shape shapes[] = {{"tree", plain_tree, build_tree},
                            {"chain", plain_chain, build_chain},
                            {"grid", plain_grid, build_grid}};
    tg_value **scratch = malloc(n * sizeof *scratch);
    tg_scheduler *s = tg_scheduler_sync();
    if (!scratch || !s || n < 1)
        return 1;
    printf("%-6s %10s %12s %12s %10s\n", "shape", "calls", "sync ns/call",
           "plain ns/op", "ratio");
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        double best = 1e30, best_plain = 1e30;
        size_t calls = 0;
        for (int r = 0; r < reps; r++) {
            uint64_t t0 = tg_now_ns();
            int64_t want = shapes[k].plain(n);
            uint64_t t1 = tg_now_ns();
            tg_graph *g = tg_graph_new();
            tg_value *root = shapes[k].build(g, scratch, n);
            tg_value *got = tg_compute(root, s);
            int ok = !tg_is_error(got) && tg_as_int(got) == want;
            calls = tg_graph_size(g);
            tg_decref(got);
            tg_graph_free(g);
            uint64_t t2 = tg_now_ns();
            if (!ok) {
                fprintf(stderr, "%s: wrong result\n", shapes[k].name);
                return 1;
            }
            double per = (double)(t2 - t1) / (double)calls;
            double plain = (double)(t1 - t0) / (double)n;
            best = per < best ? per : best;
            best_plain = plain < best_plain ? plain : best_plain;
        }
        printf("%-6s %10zu %12.1f %12.2f %9.0fx\n", shapes[k].name, calls, best,
               best_plain, best / best_plain);
    }
    tg_scheduler_free(s);
    free(scratch);
    return 0;
}
