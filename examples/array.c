/* examples/array.c - the "Scaling Python with Dask" array example in C:
 *
 *     x = da.random.random((N, N), chunks=(c, c))
 *     y = x.dot(x.T) - x.mean(axis=0)
 *
 * x is N x N in c x c chunks; x times its own transpose is computed
 * block by block on OpenBLAS (dsyrk on the diagonal, dgemm above it,
 * transposes below), the column means by a tree reduction, and the
 * subtraction (broadcast over the rows) is fused into one task per
 * chunk.  y is persisted (its chunks computed once and kept), then
 * summed and assembled.  Prints y's sum and its top-left corner; for N
 * up to 2000 it also computes y with one OpenBLAS call on the whole
 * array and prints the largest difference.
 *
 * Usage: array [N] [c] [sync|threads|loopback]   (default 1000 250 threads)
 */
#include <cblas.h>
#include <math.h>
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

/* y computed the plain way: one dsyrk over all of x (n x n, C order),
 * mirrored, minus the column means.  Returns the largest difference
 * from got. */
static double check(const double *x, const double *got, size_t n)
{
    double *y = malloc(n * n * sizeof *y), *mean = calloc(n, sizeof *mean);
    if (!y || !mean) {
        free(y);
        free(mean);
        return INFINITY;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)n, 1.0, x,
                (int)n, 0.0, y, (int)n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            mean[j] += x[i * n + j] / (double)n;
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = (j >= i ? y[i * n + j] : y[j * n + i]) - mean[j];
            double d = fabs(v - got[i * n + j]);
            worst = d > worst ? d : worst;
        }
    free(y);
    free(mean);
    return worst;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    size_t c = argc > 2 ? strtoul(argv[2], NULL, 10) : 250;
    const char *which = argc > 3 ? argv[3] : "threads";
    tg_scheduler *s = strcmp(which, "sync") == 0       ? tg_scheduler_sync()
                      : strcmp(which, "threads") == 0  ? tg_scheduler_threads(0)
                      : strcmp(which, "loopback") == 0 ? tg_scheduler_loopback()
                                                       : NULL;
    if (!s || n == 0 || c == 0) {
        fprintf(stderr, "usage: array [N] [chunk] [sync|threads|loopback]\n");
        return 2;
    }
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {n, n}, chunks[2] = {c, c};
    tg_array *x = tg_array_random(g, 2, shape, chunks, 42);
    tg_array *y = tg_array_sub(tg_array_matmul(x, tg_array_transpose(x)),
                               tg_array_mean(x, 0));
    if (!y) { /* a chain of builders is checked once, at the end */
        fprintf(stderr, "building the graph failed: %s\n", tg_last_error());
        return 1;
    }
    /* Compute y's chunks once and keep them (dask's persist); its sum and
     * the assembled array both start from those. */
    double t0 = now_s();
    tg_array *yp = tg_array_persist(y, s);
    double t1 = now_s();
    tg_value *sv = yp ? tg_array_compute(tg_array_sum(yp, TG_AXIS_ALL), s)
                      : tg_error("%s", tg_last_error());
    tg_value *yv = yp ? tg_array_compute(yp, s) : tg_incref(sv);
    int rc = 0;
    if (tg_is_error(yv) || tg_is_error(sv)) {
        const tg_value *e = tg_is_error(yv) ? yv : sv;
        fprintf(stderr, "%s failed: %s\n",
                tg_error_key(e) ? tg_error_key(e) : "persist",
                tg_error_message(e));
        rc = 1;
        goto done;
    }
    const double *d = tg_ndarray_float64(yv);
    printf("y = x x^T - mean(x, 0): %zu x %zu in %zu x %zu chunks on %s, "
           "%.3f s\n",
           n, n, c, c, tg_scheduler_name(s), t1 - t0);
    printf("sum(y) = %.10g\n", tg_ndarray_float64(sv)[0]);
    printf("y[:3, :3] =\n");
    for (size_t i = 0; i < 3 && i < n; i++) {
        for (size_t j = 0; j < 3 && j < n; j++)
            printf(" %12.6f", d[i * n + j]);
        printf("\n");
    }
    if (n <= 2000) {
        tg_value *xv = tg_array_compute(x, s);
        double worst =
            tg_is_error(xv) ? INFINITY : check(tg_ndarray_float64(xv), d, n);
        printf("largest difference from one whole-array dsyrk: %.3g\n", worst);
        if (!(worst <= 1e-9 * (double)n))
            rc = 1;
        tg_decref(xv);
    }
done:
    tg_decref(yv);
    tg_decref(sv);
    tg_graph_free(g);
    tg_scheduler_free(s);
    return rc;
}
