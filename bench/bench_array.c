/* bench/bench_array.c - the chunked array against the machine's limits.
 *
 * For x = random((N, N)) in c x c chunks (persisted first, so that x is
 * in memory, as NumPy's is), on a pool of T threads (matrix results are
 * stored into one preallocated N x N buffer, as the plain calls write
 * theirs):
 *   - x x^T (dsyrk on diagonal blocks) against one plain T-thread
 *     cblas_dsyrk of the whole array, and x x^T - mean(x, 0);
 *   - x y (dgemm blocks) against one plain T-thread cblas_dgemm;
 *   - for both products, the same block products by hand: x's (and y's)
 *     chunks as separate c x c buffers, T threads taking output blocks
 *     from a shared counter (the diagonal blocks of x x^T last), each a
 *     sum of single-threaded BLAS calls into the thread's own block,
 *     copied into the result (and transposed into its mirror).  No
 *     scheduler and no values: what the block decomposition itself costs
 *     against one whole call;
 *   - sum(sqrt(abs(x * 2 + 1))) (one fused task per chunk) against a
 *     plain C pass over the same bytes on T threads (a sum: the memory
 *     limit), the same expression as one plain C loop, and that loop over
 *     as many values read from cache (the arithmetic's limit: sqrt);
 *     beside them sum(abs(x * 2 + 1)) and sum(x) through the library
 *     (its compensated sum without the square root, and alone).
 * Each figure is the best and worst of R runs; the runs of the figures
 * compared are interleaved (A B A B ...), so that a machine shared with
 * other work slows both alike.  Peak RSS is the high-water mark during
 * a run above what was resident before it (VmHWM reset through
 * /proc/self/clear_refs).
 * bench/bench_array.sh runs this beside NumPy on the same expressions.
 *
 * Usage: bench_array [N] [c] [T] [R] [gemm: 0|1]   (10000 1000 2 3 1)
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <taskgraph.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Resident and peak resident KiB of this process. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kib = atol(line + n + 1);
    if (f)
        fclose(f);
    return kib;
}

/* Resets VmHWM to the current RSS (Linux 4.0+); false if it cannot. */
static bool reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* One figure: the best and worst time of its runs, and the largest
 * peak RSS above the RSS at the start of a run. */
typedef struct figure {
    double best, worst;
    long peak_kib;
} figure;

static void fig_add(figure *f, double t, long peak)
{
    if (f->best == 0 || t < f->best)
        f->best = t;
    if (t > f->worst)
        f->worst = t;
    if (peak > f->peak_kib)
        f->peak_kib = peak;
}

typedef void (*run_fn)(void *ctx);

/* One run of fn into f. */
static void measure_one(figure *f, run_fn fn, void *ctx)
{
    tg_memory_trim();
    long base = status_kib("VmRSS");
    reset_peak();
    double t0 = now_s();
    fn(ctx);
    double t = now_s() - t0;
    fig_add(f, t, status_kib("VmHWM") - base);
}

/* reps rounds of the n cases, interleaved: figs[i] for fns[i]. */
static void measure(int reps, size_t n, const run_fn *fns, void **ctxs,
                    figure *figs)
{
    memset(figs, 0, n * sizeof *figs);
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < n; i++)
            measure_one(&figs[i], fns[i], ctxs[i]);
}

static void row(const char *what, figure f, double work, const char *unit)
{
    printf("%-36s %8.3f %8.3f %9.2f %-7s %8.0f\n", what, f.best, f.worst,
           work / f.best, unit, (double)f.peak_kib / 1024);
}

/* ---- the cases ------------------------------------------------------- */

typedef struct bench {
    tg_scheduler *s;
    tg_array *x, *y;       /* persisted */
    tg_array *expr;        /* what run_compute computes */
    const double *xd, *yd; /* x and y contiguous (for the plain runs) */
    double *out;           /* N x N for the plain runs */
    size_t n;
    int threads;
    double scalar; /* a result, so that nothing is optimised away */
} bench;

/* Computes b->expr into the preallocated N x N buffer (as the plain
 * calls write theirs). */
static void run_store(void *ctx)
{
    bench *b = ctx;
    size_t len = b->n * b->n * sizeof *b->out;
    if (tg_array_store(b->expr, b->out, len, b->s) != 0) {
        fprintf(stderr, "store failed: %s\n", tg_last_error());
        exit(1);
    }
    b->scalar += b->out[0];
}

static void run_compute(void *ctx)
{
    bench *b = ctx;
    tg_value *v = tg_array_compute(b->expr, b->s);
    if (tg_is_error(v)) {
        fprintf(stderr, "compute failed: %s\n", tg_error_message(v));
        exit(1);
    }
    b->scalar += tg_ndarray_size(v) ? tg_ndarray_float64(v)[0] : 0;
    tg_decref(v);
}

static void run_dsyrk(void *ctx)
{
    bench *b = ctx;
    int n = (int)b->n;
    openblas_set_num_threads(b->threads);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, n, 1.0, b->xd, n,
                0.0, b->out, n);
    openblas_set_num_threads(1);
    b->scalar += b->out[0];
}

static void run_dgemm(void *ctx)
{
    bench *b = ctx;
    int n = (int)b->n;
    openblas_set_num_threads(b->threads);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, b->xd,
                n, b->yd, n, 0.0, b->out, n);
    openblas_set_num_threads(1);
    b->scalar += b->out[0];
}

/* ---- the block products by hand -------------------------------------- */

typedef struct by_hand {
    const bench *b;
    double **xb, **yb; /* g x g chunks of x and y, row-major grid */
    size_t c, g;
    bool sym; /* x x^T (else x y) */
    size_t (*jobs)[2];
    size_t n_jobs;
    atomic_size_t next;
} by_hand;

/* Extent of chunk i along an axis. */
static int ext(const by_hand *h, size_t i)
{
    size_t left = h->b->n - i * h->c;
    return (int)(left < h->c ? left : h->c);
}

static void *by_hand_run(void *arg)
{
    by_hand *h = arg;
    size_t n = h->b->n, g = h->g, c = h->c;
    double *acc = malloc(c * c * sizeof *acc), *out = h->b->out;
    for (size_t t; acc && (t = atomic_fetch_add(&h->next, 1)) < h->n_jobs;) {
        size_t i = h->jobs[t][0], j = h->jobs[t][1];
        int m = ext(h, i), w = ext(h, j);
        for (size_t k = 0; k < g; k++) {
            int kd = ext(h, k);
            double beta = k ? 1.0 : 0.0;
            const double *a = h->xb[i * g + k];
            if (h->sym && i == j)
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, m, kd, 1.0,
                            a, kd, beta, acc, m);
            else if (h->sym)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, w, kd,
                            1.0, a, kd, h->xb[j * g + k], kd, beta, acc, w);
            else
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, w, kd,
                            1.0, a, kd, h->yb[k * g + j], w, beta, acc, w);
        }
        for (int r = 0; r < m; r++)
            for (int q = h->sym && i == j ? r : 0; q < w; q++) {
                double v = acc[(size_t)r * (size_t)w + (size_t)q];
                out[(i * c + (size_t)r) * n + j * c + (size_t)q] = v;
                if (h->sym && (i != j || q != r))
                    out[(j * c + (size_t)q) * n + i * c + (size_t)r] = v;
            }
    }
    free(acc);
    return NULL;
}

static void run_by_hand(void *ctx)
{
    by_hand *h = ctx;
    pthread_t t[64];
    atomic_store(&h->next, 0);
    for (int k = 0; k < h->b->threads; k++)
        pthread_create(&t[k], NULL, by_hand_run, h);
    for (int k = 0; k < h->b->threads; k++)
        pthread_join(t[k], NULL);
}

/* src (n x n, contiguous) as g x g separately allocated chunks. */
static double **split_chunks(const by_hand *h, const double *src)
{
    size_t n = h->b->n, c = h->c, g = h->g;
    double **blk = calloc(g * g, sizeof *blk);
    for (size_t i = 0; blk && i < g; i++)
        for (size_t k = 0; k < g; k++) {
            size_t m = (size_t)ext(h, i), kd = (size_t)ext(h, k);
            double *d = blk[i * g + k] = malloc(m * kd * sizeof *d);
            if (!d) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
            for (size_t r = 0; r < m; r++)
                memcpy(d + r * kd, src + (i * c + r) * n + k * c,
                       kd * sizeof *d);
        }
    return blk;
}

static void free_chunks(double **blk, size_t g)
{
    for (size_t i = 0; blk && i < g * g; i++)
        free(blk[i]);
    free(blk);
}

/* The jobs of x x^T (upper blocks by row, then the diagonal) or x y. */
static void by_hand_init(by_hand *h, const bench *b, size_t c, bool sym)
{
    size_t g = (b->n + c - 1) / c;
    *h = (by_hand){.b = b, .c = c, .g = g, .sym = sym};
    h->jobs = malloc(g * g * sizeof *h->jobs);
    h->xb = split_chunks(h, b->xd);
    h->yb = sym ? NULL : split_chunks(h, b->yd);
    if (!h->jobs || !h->xb || (!sym && !h->yb)) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < g; i++)
        for (size_t j = sym ? i + 1 : 0; j < g; j++)
            memcpy(h->jobs[h->n_jobs++], (size_t[]){i, j}, sizeof *h->jobs);
    for (size_t i = 0; sym && i < g; i++)
        memcpy(h->jobs[h->n_jobs++], (size_t[]){i, i}, sizeof *h->jobs);
}

static void by_hand_free(by_hand *h)
{
    free_chunks(h->xb, h->g);
    free_chunks(h->yb, h->g);
    free(h->jobs);
}

/* A plain C pass over [lo, hi) of x on one thread: a sum (mode 0) or the
 * fused expression sum(sqrt(abs(x * 2 + 1))) (mode 1); mode 2 is the
 * expression over as many values read again and again from a block that
 * stays in the core's cache (the arithmetic's limit, without memory). */
typedef struct pass {
    const double *x;
    size_t lo, hi;
    int mode;
    double sum;
} pass;

/* Compiled for AVX-512, AVX2 and the baseline, as array/'s kernels. */
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef CLONES
#define CLONES
#endif

CLONES static void *pass_run(void *arg)
{
    pass *p = arg;
    double acc[8] = {0};
    size_t i = p->lo;
    if (p->mode == 2) {
        const size_t block = 32768; /* 256 KiB */
        for (size_t done = p->lo; done < p->hi; done += block) {
            size_t n = p->hi - done < block ? p->hi - done : block;
            for (i = 0; i + 8 <= n; i += 8)
                for (int j = 0; j < 8; j++)
                    acc[j] += sqrt(fabs(p->x[i + j] * 2 + 1));
        }
        for (int j = 0; j < 8; j++)
            p->sum += acc[j];
        return NULL;
    }
    if (p->mode == 0)
        for (; i + 8 <= p->hi; i += 8)
            for (int j = 0; j < 8; j++)
                acc[j] += p->x[i + j];
    else
        for (; i + 8 <= p->hi; i += 8)
            for (int j = 0; j < 8; j++)
                acc[j] += sqrt(fabs(p->x[i + j] * 2 + 1));
    for (; i < p->hi; i++)
        acc[0] += p->mode ? sqrt(fabs(p->x[i] * 2 + 1)) : p->x[i];
    for (int j = 0; j < 8; j++)
        p->sum += acc[j];
    return NULL;
}

static void run_pass(bench *b, int mode)
{
    pthread_t t[64];
    pass p[64];
    size_t total = b->n * b->n, nt = (size_t)b->threads;
    for (size_t k = 0; k < nt; k++) {
        p[k] = (pass){b->xd, total * k / nt, total * (k + 1) / nt, mode, 0};
        pthread_create(&t[k], NULL, pass_run, &p[k]);
    }
    for (size_t k = 0; k < nt; k++) {
        pthread_join(t[k], NULL);
        b->scalar += p[k].sum;
    }
}

static void run_pass_sum(void *ctx)
{
    run_pass(ctx, 0);
}

static void run_pass_expr(void *ctx)
{
    run_pass(ctx, 1);
}

static void run_pass_cached(void *ctx)
{
    run_pass(ctx, 2);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t c = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    int reps = argc > 4 ? atoi(argv[4]) : 3;
    int gemm = argc > 5 ? atoi(argv[5]) : 1;
    if (n == 0 || c == 0 || threads < 1 || threads > 64 || reps < 1) {
        fprintf(stderr, "usage: bench_array [N] [c] [T] [R] [gemm]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* rows appear as they are measured */
    bench b = {.s = tg_scheduler_threads(threads), .n = n, .threads = threads};
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {n, n}, chunks[2] = {c, c};
    double bytes = 8.0 * (double)n * (double)n, n3 = (double)n * n * n;
    printf("bench_array: N = %zu, %zu x %zu chunks, %d threads, %d runs "
           "(OpenBLAS %s)\n",
           n, c, c, threads, reps, openblas_get_config());
    b.x = tg_array_persist(tg_array_random(g, 2, shape, chunks, 1), b.s);
    tg_value *xv = b.x ? tg_array_compute(b.x, b.s) : NULL;
    b.out = malloc(n * n * sizeof *b.out);
    if (!xv || tg_is_error(xv) || !b.out) {
        fprintf(stderr, "set-up failed: %s\n", tg_last_error());
        return 1;
    }
    b.xd = tg_ndarray_float64(xv);
    memset(b.out, 1, n * n * sizeof *b.out); /* resident, as NumPy's x */
    printf("%-36s %8s %8s %9s %-7s %8s\n", "", "best s", "worst s", "rate", "",
           "peak MB");

    /* x x^T, then x x^T - mean(x, 0), against dsyrk */
    bench b2 = b;
    b.expr = tg_array_matmul(b.x, tg_array_transpose(b.x));
    b2.expr = tg_array_sub(b.expr, tg_array_mean(b.x, 0));
    by_hand h;
    figure f[4];
    by_hand_init(&h, &b, c, true);
    measure(reps, 4, (run_fn[]){run_store, run_dsyrk, run_by_hand, run_store},
            (void *[]){&b, &b, &h, &b2}, f);
    by_hand_free(&h);
    row("taskgraph x x^T (dsyrk blocks)", f[0], n3 / 1e9, "GFLOP/s");
    row("plain dsyrk, T threads", f[1], n3 / 1e9, "GFLOP/s");
    row("the same blocks by hand, T threads", f[2], n3 / 1e9, "GFLOP/s");
    row("taskgraph x x^T - mean(x, 0)", f[3], n3 / 1e9, "GFLOP/s");
    printf("  x x^T takes %.2f x the plain dsyrk's time, the blocks by hand "
           "%.2f x (best runs)\n",
           f[0].best / f[1].best, f[2].best / f[1].best);

    /* the elementwise chain and reduction against plain C passes; then
     * the same reduction without the square root, and the sum alone
     * (what the compensated sum costs on its own) */
    tg_array *x21 = tg_array_add(tg_array_mul(b.x, tg_array_scalar(g, 2)),
                                 tg_array_scalar(g, 1));
    bench b3 = b, b4 = b;
    b.expr = tg_array_sum(tg_array_sqrt(tg_array_abs(x21)), TG_AXIS_ALL);
    b3.expr = tg_array_sum(tg_array_abs(x21), TG_AXIS_ALL);
    b4.expr = tg_array_sum(b.x, TG_AXIS_ALL);
    figure fe[6];
    measure(reps, 6,
            (run_fn[]){run_compute, run_pass_sum, run_pass_expr,
                       run_pass_cached, run_compute, run_compute},
            (void *[]){&b, &b, &b, &b, &b3, &b4}, fe);
    row("taskgraph sum(sqrt(abs(x*2+1)))", fe[0], bytes / 1e9, "GB/s");
    row("plain C sum pass, T threads", fe[1], bytes / 1e9, "GB/s");
    row("plain C sum(sqrt(abs(x*2+1))), T thr", fe[2], bytes / 1e9, "GB/s");
    row("  the same on cached data (no memory)", fe[3], bytes / 1e9, "GB/s");
    row("taskgraph sum(abs(x*2+1))", fe[4], bytes / 1e9, "GB/s");
    row("taskgraph sum(x)", fe[5], bytes / 1e9, "GB/s");
    printf("  the chain runs at %.0f %% of the memory pass, %.0f %% of the "
           "plain C loop;\n  the arithmetic alone allows %.0f %% of the "
           "memory pass; without sqrt the\n  chain runs at %.0f %%, the "
           "compensated sum alone at %.0f %%\n",
           100 * fe[1].best / fe[0].best, 100 * fe[2].best / fe[0].best,
           100 * fe[1].best / fe[3].best, 100 * fe[1].best / fe[4].best,
           100 * fe[1].best / fe[5].best);

    tg_value *yv = NULL;
    if (gemm) {
        b.y = tg_array_persist(tg_array_random(g, 2, shape, chunks, 2), b.s);
        yv = b.y ? tg_array_compute(b.y, b.s) : NULL;
        if (!yv || tg_is_error(yv)) {
            fprintf(stderr, "set-up failed: %s\n", tg_last_error());
            return 1;
        }
        b.yd = tg_ndarray_float64(yv);
        b.expr = tg_array_matmul(b.x, b.y);
        by_hand_init(&h, &b, c, false);
        measure(reps, 3, (run_fn[]){run_store, run_dgemm, run_by_hand},
                (void *[]){&b, &b, &h}, f);
        by_hand_free(&h);
        row("taskgraph x y (dgemm blocks)", f[0], 2 * n3 / 1e9, "GFLOP/s");
        row("plain dgemm, T threads", f[1], 2 * n3 / 1e9, "GFLOP/s");
        row("the same blocks by hand, T threads", f[2], 2 * n3 / 1e9,
            "GFLOP/s");
        printf("  x y takes %.2f x the plain dgemm's time, the blocks by hand "
               "%.2f x (best runs)\n",
               f[0].best / f[1].best, f[2].best / f[1].best);
    }
    printf("(x x^T rates count the N^3 flops of a symmetric product; x y "
           "counts 2 N^3; checksum %g)\n",
           b.scalar);
    tg_decref(yv);
    tg_decref(xv);
    free(b.out);
    tg_graph_free(g);
    tg_scheduler_free(b.s);
    return 0;
}
