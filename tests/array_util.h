/* tests/array_util.h - helpers shared by the array tests: the schedulers
 * every result must agree on, deterministic test data, computing an
 * array into a plain C buffer, and tolerance checks.
 */
#ifndef TG_TESTS_ARRAY_UTIL_H
#define TG_TESTS_ARRAY_UTIL_H

#include <math.h>
#include <unistd.h>

#include "test_util.h"

/* sync, the pool with 2 threads, loopback (which proves the graph could
 * run on a cluster: registered calls, values through the codec) and the
 * local cluster of tt_start_cluster, which main starts first. */
enum { TA_SYNC, TA_THREADS, TA_LOOPBACK, TA_DIST, TA_N_SCHED };
static tg_scheduler *ta_sched[TA_N_SCHED];

static inline int ta_setup(void **state)
{
    (void)state;
    ta_sched[TA_SYNC] = tg_scheduler_sync();
    ta_sched[TA_THREADS] = tg_scheduler_threads(2);
    ta_sched[TA_LOOPBACK] = tg_scheduler_loopback();
    ta_sched[TA_DIST] =
        tg_scheduler_distributed(tg_cluster_address(tt_cluster));
    for (int i = 0; i < TA_N_SCHED; i++)
        if (!ta_sched[i])
            return -1;
    return 0;
}

static inline int ta_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < TA_N_SCHED; i++)
        tg_scheduler_free(ta_sched[i]);
    return 0;
}

/* n doubles from a fixed LCG in [-1, 1) (malloc'd), reproducible. */
static inline double *ta_data(size_t n, uint64_t seed)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    assert_non_null(d);
    uint64_t x = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        d[i] = (double)(x >> 11) * 0x1.0p-52 - 1.0;
    }
    return d;
}

/* The sum of x[0 .. n), compensated (Neumaier): a reference accurate
 * to about an ulp even where long double is double (valgrind). */
static inline double ta_fsum(const double *x, size_t n)
{
    double s = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        double t = s + x[i];
        c += fabs(s) >= fabs(x[i]) ? (s - t) + x[i] : (x[i] - t) + s;
        s = t;
    }
    return s + c;
}

/* Computes a on scheduler s; the value must not be an error. */
static inline tg_value *ta_compute(tg_array *a, int s)
{
    assert_non_null(a);
    tg_value *v = tg_array_compute(a, ta_sched[s]);
    assert_non_null(v);
    if (tg_is_error(v))
        fail_msg("compute on %s failed: %s (%s)",
                 tg_scheduler_name(ta_sched[s]), tg_error_message(v),
                 tg_error_key(v) ? tg_error_key(v) : "-");
    return v;
}

/* Asserts that v has dtype and shape (ndim extents). */
static inline void ta_assert_shape(const tg_value *v, tg_dtype dt, size_t ndim,
                                   const size_t *shape)
{
    assert_true(tg_is_ndarray(v));
    assert_int_equal(tg_ndarray_dtype(v), dt);
    assert_int_equal(tg_ndarray_ndim(v), ndim);
    for (size_t k = 0; k < ndim; k++)
        assert_int_equal(tg_ndarray_shape(v)[k], shape[k]);
}

/* True when x and y agree to rel (relative) or abs (absolute); NaN
 * agrees with NaN. */
static inline bool ta_close(double x, double y, double rel, double abs_tol)
{
    if (isnan(x) || isnan(y))
        return isnan(x) && isnan(y);
    if (isinf(x) || isinf(y))
        return x == y;
    return fabs(x - y) <= abs_tol + rel * fabs(y);
}

/* Asserts every element of float64 v against want[0 .. n). */
static inline void ta_assert_f64(const tg_value *v, const double *want,
                                 size_t n, double rel, double abs_tol)
{
    const double *d = tg_ndarray_float64(v);
    assert_non_null(d);
    assert_int_equal(tg_ndarray_size(v), n);
    for (size_t i = 0; i < n; i++)
        if (!ta_close(d[i], want[i], rel, abs_tol))
            fail_msg("element %zu: got %.17g, want %.17g", i, d[i], want[i]);
}

/* The same for int64 values, exactly. */
static inline void ta_assert_i64(const tg_value *v, const int64_t *want,
                                 size_t n)
{
    const int64_t *d = tg_ndarray_int64(v);
    assert_non_null(d);
    assert_int_equal(tg_ndarray_size(v), n);
    for (size_t i = 0; i < n; i++)
        if (d[i] != want[i])
            fail_msg("element %zu: got %lld, want %lld", i, (long long)d[i],
                     (long long)want[i]);
}

/* Asserts that computing a fails with a message containing part. */
static inline void ta_assert_fails(tg_array *a, int s, const char *part)
{
    assert_non_null(a);
    tg_value *v = tg_array_compute(a, ta_sched[s]);
    assert_true(tg_is_error(v));
    if (!strstr(tg_error_message(v), part))
        fail_msg("error '%s' lacks '%s'", tg_error_message(v), part);
    tg_decref(v);
}

/* Computes every chunk of a on scheduler s as its own target, without
 * tg_array_compute's store calls (which fuse with the chunks' last
 * tasks and would rename them in the callbacks' reports). */
static inline void ta_compute_chunks(tg_array *a, int s)
{
    size_t n = tg_array_nblocks(a);
    tg_value **b = malloc(2 * n * sizeof *b), **out = b + n;
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        assert_non_null(b[i] = tg_array_block(a, i));
    assert_int_equal(tg_compute_many(b, n, out, ta_sched[s]), 0);
    for (size_t i = 0; i < n; i++)
        tg_decref(out[i]);
    free(b);
}

/* Counts calls by function name during computes (a callback). */
typedef struct ta_count {
    const char *name;
    int calls;
} ta_count;

static inline void ta_count_end(void *ud, const tg_task_info *info)
{
    ta_count *c = ud;
    if (strcmp(info->name, c->name) == 0)
        __atomic_fetch_add(&c->calls, (int)info->n_calls, __ATOMIC_RELAXED);
}

#endif /* TG_TESTS_ARRAY_UTIL_H */
