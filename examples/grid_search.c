/* examples/grid_search.c - a grid search on a cluster of worker processes.
 *
 * Ridge regression of polynomials, scored by 5-fold cross-validation for
 * each degree and penalty: one task makes the data set (a few MiB of
 * doubles), one task per (degree, penalty, fold) fits and scores, and
 * the built-in "tg.mean" averages the folds.  The data set is made once,
 * on one worker; the others fetch it from there, worker to worker.
 *
 * The program starts its own cluster with tg_cluster_local: a scheduler
 * and WORKERS worker processes on this machine, which run this binary
 * again, so the functions registered before that call are theirs too.
 * It runs the same graph on the sync scheduler and on the cluster,
 * checks that both agree, and prints the scores and both times.
 *
 * Usage: grid_search [WORKERS [THREADS [POINTS]]]   (defaults: 2 workers of
 *        2 threads, 200,000 points)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <taskgraph.h>
#include <taskgraph/distributed.h>

enum { FOLDS = 5, MAX_DEGREE = 8, N_PENALTIES = 6 };
static const double penalties[N_PENALTIES] = {1e-8, 1e-6, 1e-4, 1e-2, 1, 100};

/* ---- the functions the tasks call (plain C) ---------------------------- */

/* The data set: n points (x, y), y = sin(3x) + noise, as 2n doubles. */
static void make_data(double *xy, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        double noise = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
        double x = -1.0 + 2.0 * (double)i / (double)n;
        xy[2 * i] = x, xy[2 * i + 1] = sin(3 * x) + 0.2 * noise;
    }
}

/* Solves a x = b (a: m x m, destroyed) by Gaussian elimination with
 * partial pivoting; false when a is singular. */
static bool solve(double *a, double *b, int m)
{
    for (int c = 0; c < m; c++) {
        int p = c;
        for (int r = c + 1; r < m; r++)
            if (fabs(a[r * m + c]) > fabs(a[p * m + c]))
                p = r;
        if (a[p * m + c] == 0)
            return false;
        for (int k = 0; k < m; k++) {
            double t = a[c * m + k];
            a[c * m + k] = a[p * m + k], a[p * m + k] = t;
        }
        double t = b[c];
        b[c] = b[p], b[p] = t;
        for (int r = c + 1; r < m; r++) {
            double f = a[r * m + c] / a[c * m + c];
            for (int k = c; k < m; k++)
                a[r * m + k] -= f * a[c * m + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = m - 1; c >= 0; c--) {
        for (int k = c + 1; k < m; k++)
            b[c] -= a[c * m + k] * b[k];
        b[c] /= a[c * m + c];
    }
    return true;
}

/* Fits a polynomial of the degree with the ridge penalty on every point
 * but those of the fold, and returns its mean squared error on the
 * fold (NAN when the system is singular). */
static double fit_and_score(const double *xy, size_t n, int degree,
                            double penalty, int fold)
{
    int m = degree + 1;
    double a[(MAX_DEGREE + 1) * (MAX_DEGREE + 1)] = {0};
    double b[MAX_DEGREE + 1] = {0}, p[2 * MAX_DEGREE + 1];
    for (size_t i = 0; i < n; i++) {
        if ((int)(i % FOLDS) == fold)
            continue;
        p[0] = 1;
        for (int k = 1; k < 2 * m - 1; k++)
            p[k] = p[k - 1] * xy[2 * i];
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < m; c++)
                a[r * m + c] += p[r + c];
            b[r] += p[r] * xy[2 * i + 1];
        }
    }
    for (int r = 0; r < m; r++)
        a[r * m + r] += penalty * (double)n;
    if (!solve(a, b, m))
        return NAN;
    double err = 0;
    size_t count = 0;
    for (size_t i = (size_t)fold; i < n; i += FOLDS) {
        double x = xy[2 * i], y = b[m - 1];
        for (int k = m - 2; k >= 0; k--)
            y = y * x + b[k];
        err += (y - xy[2 * i + 1]) * (y - xy[2 * i + 1]);
        count++;
    }
    return err / (double)count;
}

/* ---- the same, as task functions -------------------------------------- */

/* ex.make_data(n, seed): the data set as bytes. */
static tg_value *task_make_data(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    if (nargs != 2 || tg_typeof(args[0]) != TG_INT || tg_as_int(args[0]) <= 0)
        return tg_error("make_data takes (points, seed)");
    size_t n = (size_t)tg_as_int(args[0]);
    double *xy = malloc(2 * n * sizeof *xy);
    if (!xy)
        return tg_error("make_data: out of memory");
    make_data(xy, n, (uint64_t)tg_as_int(args[1]));
    tg_value *v = tg_bytes(xy, 2 * n * sizeof *xy);
    free(xy);
    return v;
}

/* ex.score(data, degree, penalty, fold): a fold's error. */
static tg_value *task_score(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    size_t len = 0;
    const double *xy = nargs == 4 ? tg_as_bytes(args[0], &len) : NULL;
    if (!xy || tg_typeof(args[1]) != TG_INT || tg_typeof(args[2]) != TG_FLOAT
        || tg_typeof(args[3]) != TG_INT || tg_as_int(args[1]) < 0
        || tg_as_int(args[1]) > MAX_DEGREE)
        return tg_error("score takes (data, degree, penalty, fold)");
    return tg_float(fit_and_score(xy, len / (2 * sizeof *xy),
                                  (int)tg_as_int(args[1]), tg_as_float(args[2]),
                                  (int)tg_as_int(args[3])));
}

/* The graph: one mean score per (degree, penalty), into means. */
static int build(tg_graph *g, int64_t points, tg_value **means)
{
    tg_value *data =
        tg_delayed_registered(g, "ex.make_data", 2, tg_int(points), tg_int(42));
    for (int d = 0; d < MAX_DEGREE; d++)
        for (int k = 0; k < N_PENALTIES; k++) {
            tg_value *folds[FOLDS];
            for (int f = 0; f < FOLDS; f++)
                folds[f] =
                    tg_delayed_registered(g, "ex.score", 4, data, tg_int(d + 1),
                                          tg_float(penalties[k]), tg_int(f));
            means[d * N_PENALTIES + k] =
                tg_delayed_reduce(g, "tg.mean", FOLDS, folds, FOLDS);
            if (!means[d * N_PENALTIES + k])
                return -1;
        }
    return data ? 0 : -1;
}

/* Runs the graph on s: the scores into out, the seconds it took. */
static double run(tg_scheduler *s, int64_t points, double *out)
{
    enum { N = MAX_DEGREE * N_PENALTIES };
    tg_graph *g = tg_graph_new();
    tg_value *means[N], *results[N];
    uint64_t t0 = tg_now_ns();
    if (!g || build(g, points, means) != 0
        || tg_compute_many(means, N, results, s) != 0) {
        fprintf(stderr, "grid_search: %s\n", tg_last_error());
        exit(1);
    }
    double secs = (double)(tg_now_ns() - t0) / 1e9;
    for (int i = 0; i < N; i++) {
        out[i] = tg_as_float(results[i]);
        tg_decref(results[i]);
    }
    tg_graph_free(g);
    return secs;
}

int main(int argc, char **argv)
{
    int workers = argc > 1 ? atoi(argv[1]) : 2;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    int64_t points = argc > 3 ? atoll(argv[3]) : 200000;
    if (workers < 1 || workers > 64 || threads < 0 || threads > 256
        || points < 10 || points > 100000000) {
        fprintf(stderr, "usage: grid_search [WORKERS [THREADS [POINTS]]]\n");
        return 2;
    }
    /* Registrations first: the workers run this far again. */
    if (tg_register("ex.make_data", task_make_data, NULL) != 0
        || tg_register("ex.score", task_score, NULL) != 0) {
        fprintf(stderr, "grid_search: %s\n", tg_last_error());
        return 1;
    }
    tg_cluster *cl = tg_cluster_local(workers, threads, NULL);
    tg_scheduler *dist =
        cl ? tg_scheduler_distributed(tg_cluster_address(cl)) : NULL;
    if (!dist) {
        fprintf(stderr, "grid_search: %s\n", tg_last_error());
        tg_cluster_close(cl);
        return 1;
    }
    tg_scheduler *sync = tg_scheduler_sync();

    double local[MAX_DEGREE * N_PENALTIES], remote[MAX_DEGREE * N_PENALTIES];
    double t_sync = run(sync, points, local);
    double t_dist = run(dist, points, remote);

    printf("mean squared error of 5-fold cross-validation, %lld points\n",
           (long long)points);
    printf("degree");
    for (int k = 0; k < N_PENALTIES; k++)
        printf("  %9.0e", penalties[k]);
    printf("\n");
    int best = 0, mismatches = 0;
    for (int d = 0; d < MAX_DEGREE; d++) {
        printf("%6d", d + 1);
        for (int k = 0; k < N_PENALTIES; k++) {
            int i = d * N_PENALTIES + k;
            printf("  %9.6f", remote[i]);
            mismatches += remote[i] != local[i];
            if (remote[i] < remote[best])
                best = i;
        }
        printf("\n");
    }
    printf("best: degree %d, penalty %g (error %.6f)\n", best / N_PENALTIES + 1,
           penalties[best % N_PENALTIES], remote[best]);
    printf("sync %.2f s; cluster of %d worker(s) x %d thread(s) %.2f s "
           "(%.1fx)\n",
           t_sync, workers, threads, t_dist, t_sync / t_dist);
    tg_scheduler_free(dist);
    tg_scheduler_free(sync);
    tg_cluster_close(cl);
    if (mismatches) {
        fprintf(stderr, "grid_search: %d scores differ from sync\n",
                mismatches);
        return 1;
    }
    return 0;
}
