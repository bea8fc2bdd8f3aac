/* tests/test_array_reduce.c - reductions: every op along every axis
 * against plain C loops, the same answer for every chunking and fan-in,
 * dtypes, NaN, empty arrays, keepdims, and fusion with elementwise
 * chains (no elementwise task runs).
 */
#include "array_util.h"

#include "runtime/alloc_internal.h"

enum {
    OP_SUM,
    OP_MEAN,
    OP_MIN,
    OP_MAX,
    OP_VAR0,
    OP_VAR1,
    OP_STD,
    OP_ARGMIN,
    OP_ARGMAX,
    N_OPS
};

static tg_array *t_reduce(int op, tg_array *a, int axis)
{
    switch (op) {
    case OP_SUM: return tg_array_sum(a, axis);
    case OP_MEAN: return tg_array_mean(a, axis);
    case OP_MIN: return tg_array_min(a, axis);
    case OP_MAX: return tg_array_max(a, axis);
    case OP_VAR0: return tg_array_var(a, axis, 0);
    case OP_VAR1: return tg_array_var(a, axis, 1);
    case OP_STD: return tg_array_std(a, axis, 1);
    case OP_ARGMIN: return tg_array_argmin(a, axis);
    case OP_ARGMAX: return tg_array_argmax(a, axis);
    }
    return NULL;
}

/* The reduction of x[first + i * step] for i < n, in long double. */
static double c_reduce(int op, const double *x, size_t first, size_t step,
                       size_t n)
{
    long double s = 0, best = x[first];
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[first + i * step];
        s += v;
        bool better = op == OP_MIN || op == OP_ARGMIN ? v < best : v > best;
        if (better) {
            best = v;
            at = i;
        }
    }
    long double mean = s / (long double)n, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        long double d = x[first + i * step] - mean;
        m2 += d * d;
    }
    switch (op) {
    case OP_SUM: return (double)s;
    case OP_MEAN: return (double)mean;
    case OP_MIN:
    case OP_MAX: return (double)best;
    case OP_VAR0: return (double)(m2 / (long double)n);
    case OP_VAR1: return (double)(m2 / (long double)(n - 1));
    case OP_STD: return sqrt((double)(m2 / (long double)(n - 1)));
    default: return (double)at;
    }
}

/* Checks a reduction result v of op over an R x C array x. */
static void check_2d(const tg_value *v, int op, int axis, const double *x,
                     size_t r, size_t c)
{
    size_t n = axis == TG_AXIS_ALL ? 1 : axis == 0 ? c : r;
    for (size_t o = 0; o < n; o++) {
        double want = axis == TG_AXIS_ALL ? c_reduce(op, x, 0, 1, r * c)
                      : axis == 0         ? c_reduce(op, x, o, c, r)
                                          : c_reduce(op, x, o * c, 1, c);
        if (op >= OP_ARGMIN) {
            assert_int_equal(tg_ndarray_int64(v)[o], (int64_t)want);
        } else if (!ta_close(tg_ndarray_float64(v)[o], want, 1e-13, 1e-13)) {
            fail_msg("op %d axis %d element %zu: got %.17g want %.17g", op,
                     axis, o, tg_ndarray_float64(v)[o], want);
        }
    }
}

static void test_array_reduce_matches_c_loops(void **state)
{
    (void)state;
    struct {
        size_t r, c, cr, cc;
    } cases[] = {{7, 13, 3, 5}, {1, 13, 1, 4}, {13, 1, 5, 1}, {6, 4, 10, 10}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        size_t r = cases[k].r, c = cases[k].c;
        double *x = ta_data(r * c, 20 + k);
        tg_graph *g = tg_graph_new();
        tg_array *a =
            tg_array_from_buffer(g, TG_DT_FLOAT64, 2, (size_t[]){r, c},
                                 (size_t[]){cases[k].cr, cases[k].cc}, x);
        int axes[4] = {TG_AXIS_ALL, 0, 1, -1};
        for (int op = 0; op < N_OPS; op++)
            for (int ai = 0; ai < 4; ai++) {
                bool tiny = (op == OP_VAR1 || op == OP_STD)
                            && (axes[ai] == 0             ? r
                                : axes[ai] == TG_AXIS_ALL ? r * c
                                                          : c)
                                   < 2;
                if (tiny)
                    continue;
                tg_array *red = t_reduce(op, a, axes[ai]);
                assert_non_null(red);
                int s = (op + ai) % TA_N_SCHED;
                tg_value *v = ta_compute(red, s);
                check_2d(v, op, axes[ai] == -1 ? 1 : axes[ai], x, r, c);
                tg_decref(v);
            }
        tg_graph_free(g);
        free(x);
    }
}

static void test_array_reduce_every_chunking_agrees(void **state)
{
    (void)state;
    size_t n = tt_scale(100003, 10007);
    double *x = ta_data(n, 31);
    /* a wide dynamic range and cancellation: large values of both signs
     * around small ones */
    for (size_t i = 0; i < n; i++)
        x[i] = i % 3 == 0 ? x[i] * 1e8 : i % 3 == 1 ? -x[i - 1] + x[i] : x[i];
    double *ax = malloc(n * sizeof *ax);
    for (size_t i = 0; i < n; i++)
        ax[i] = fabs(x[i]);
    double exact = ta_fsum(x, n), mag = ta_fsum(ax, n);
    free(ax);
    size_t chunkings[] = {1000, 7, 4099, n, 997};
    size_t fans[] = {8, 2, 3, 8, 50};
    double first[3] = {0};
    for (size_t k = 0; k < 5; k++) {
        tg_graph *g = tg_graph_new();
        if (chunkings[k] == 7 && n > 20000) { /* keep the graph small */
            tg_graph_free(g);
            continue;
        }
        tg_array *a =
            tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &n, &chunkings[k], x);
        tg_reduce_opts o = {.split_every = fans[k], .ddof = 1};
        tg_array *r[3] = {tg_array_reduce(a, TG_REDUCE_SUM, 0, &o),
                          tg_array_reduce(a, TG_REDUCE_MEAN, 0, &o),
                          tg_array_reduce(a, TG_REDUCE_VAR, 0, &o)};
        for (int j = 0; j < 3; j++) {
            tg_value *v = ta_compute(r[j], (int)(k + (size_t)j) % TA_N_SCHED);
            double got = tg_ndarray_float64(v)[0];
            tg_decref(v);
            if (k == 0)
                first[j] = got;
            /* compensated sums: within a few ulps of the exact sum's
             * scale, and of each other */
            if (j == 0)
                assert_true(fabs(got - exact) <= 4 * 0x1p-52 * fabs(exact)
                                                     + 1e-3 * 0x1p-52 * mag);
            assert_true(ta_close(got, first[j], 1e-14, 0));
        }
        tg_graph_free(g);
    }
    free(x);
}

static void test_array_reduce_any_axis_of_3d_and_keepdims(void **state)
{
    (void)state;
    size_t shape[3] = {4, 5, 6}, ch[3] = {3, 2, 4};
    double *x = ta_data(120, 40);
    tg_graph *g = tg_graph_new();
    tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, 3, shape, ch, x);
    for (int axis = 0; axis < 3; axis++) {
        tg_reduce_opts o = {.keepdims = axis == 1, .split_every = 2};
        tg_value *v =
            ta_compute(tg_array_reduce(a, TG_REDUCE_MAX, axis, &o), axis);
        size_t os[3], nd = 0;
        for (int k = 0; k < 3; k++)
            if (k != axis || o.keepdims)
                os[nd++] = k == axis ? 1 : shape[k];
        ta_assert_shape(v, TG_DT_FLOAT64, nd, os);
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 5; j++)
                for (size_t k = 0; k < 6; k++) {
                    size_t idx[3] = {i, j, k};
                    if (idx[axis] != 0)
                        continue;
                    double m = -INFINITY;
                    for (size_t t = 0; t < shape[axis]; t++) {
                        idx[axis] = t;
                        double e = x[(idx[0] * 5 + idx[1]) * 6 + idx[2]];
                        m = e > m ? e : m;
                    }
                    idx[axis] = 0;
                    size_t o_at = axis == 0   ? j * 6 + k
                                  : axis == 1 ? i * 6 + k
                                              : i * 5 + j;
                    assert_true(tg_ndarray_float64(v)[o_at] == m);
                }
        tg_decref(v);
    }
    /* all axes with keepdims: shape (1, 1, 1) */
    tg_reduce_opts o = {.keepdims = true};
    tg_value *v = ta_compute(
        tg_array_reduce(a, TG_REDUCE_ARGMIN, TG_AXIS_ALL, &o), TA_LOOPBACK);
    ta_assert_shape(v, TG_DT_INT64, 3, (size_t[]){1, 1, 1});
    size_t at = 0;
    for (size_t i = 1; i < 120; i++)
        at = x[i] < x[at] ? i : at;
    assert_int_equal(tg_ndarray_int64(v)[0], (int64_t)at);
    tg_decref(v);
    tg_graph_free(g);
    free(x);
}

static void test_array_reduce_dtypes(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t n = 7, ch = 3;
    int64_t i[7] = {5, -2, 9, INT64_MAX, 1, 9, -7};
    uint8_t b[7] = {1, 0, 1, 1, 0, 1, 1};
    tg_array *ai = tg_array_from_buffer(g, TG_DT_INT64, 1, &n, &ch, i);
    tg_array *ab = tg_array_from_buffer(g, TG_DT_BOOL, 1, &n, &ch, b);
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(tg_array_sum(ai, 0), s);
        int64_t want = (int64_t)((uint64_t)INT64_MAX + 5 - 2 + 9 + 1 + 9 - 7);
        ta_assert_i64(v, &want, 1); /* wraps, as NumPy's int64 */
        tg_decref(v);
        v = ta_compute(tg_array_sum(ab, TG_AXIS_ALL), s);
        ta_assert_i64(v, (int64_t[]){5}, 1);
        tg_decref(v);
        v = ta_compute(tg_array_max(ai, 0), s);
        ta_assert_i64(v, (int64_t[]){INT64_MAX}, 1);
        tg_decref(v);
        v = ta_compute(tg_array_min(ab, 0), s);
        assert_int_equal(tg_ndarray_dtype(v), TG_DT_BOOL);
        assert_int_equal(tg_ndarray_bool(v)[0], 0);
        tg_decref(v);
        v = ta_compute(tg_array_argmax(ai, 0), s);
        ta_assert_i64(v, (int64_t[]){3}, 1);
        tg_decref(v);
        v = ta_compute(tg_array_mean(tg_array_sub(ai, ai), 0), s);
        assert_true(tg_ndarray_float64(v)[0] == 0.0);
        tg_decref(v);
    }
    /* argmax: ties pick the first */
    int64_t t[7] = {1, 9, 3, 9, 9, 0, 9};
    tg_value *v = ta_compute(
        tg_array_argmax(
            tg_array_from_buffer(g, TG_DT_INT64, 1, &n, (size_t[]){2}, t), 0),
        TA_THREADS);
    ta_assert_i64(v, (int64_t[]){1}, 1);
    tg_decref(v);
    tg_graph_free(g);
}

static void test_array_reduce_nan_and_empty(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t n = 6, ch = 2;
    double x[6] = {1, 5, NAN, 2, NAN, 7};
    tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &n, &ch, x);
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(tg_array_max(a, 0), s);
        assert_true(isnan(tg_ndarray_float64(v)[0]));
        tg_decref(v);
        v = ta_compute(tg_array_argmin(a, 0), s);
        ta_assert_i64(v, (int64_t[]){2}, 1); /* the first NaN */
        tg_decref(v);
        v = ta_compute(tg_array_sum(a, 0), s);
        assert_true(isnan(tg_ndarray_float64(v)[0]));
        tg_decref(v);
    }
    /* infinities survive compensation */
    double inf[3] = {1, INFINITY, 2};
    size_t three = 3;
    tg_value *v = ta_compute(
        tg_array_sum(
            tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &three, &ch, inf), 0),
        TA_SYNC);
    assert_true(isinf(tg_ndarray_float64(v)[0]));
    tg_decref(v);
    /* empty: sum 0, mean NaN, min refused */
    size_t e[2] = {0, 3};
    tg_array *em = tg_array_zeros(g, TG_DT_FLOAT64, 2, e, NULL);
    v = ta_compute(tg_array_sum(em, TG_AXIS_ALL), TA_LOOPBACK);
    assert_true(tg_ndarray_float64(v)[0] == 0.0);
    tg_decref(v);
    v = ta_compute(tg_array_mean(em, 0), TA_SYNC);
    ta_assert_shape(v, TG_DT_FLOAT64, 1, (size_t[]){3});
    assert_true(isnan(tg_ndarray_float64(v)[1]));
    tg_decref(v);
    v = ta_compute(tg_array_sum(em, 1), TA_SYNC);
    assert_int_equal(tg_ndarray_size(v), 0);
    tg_decref(v);
    assert_null(tg_array_min(em, 0));
    assert_non_null(strstr(tg_last_error(), "zero-size array"));
    assert_null(tg_array_sum(em, 2));
    assert_non_null(strstr(tg_last_error(), "axis 2 is out of range"));
    assert_null(tg_array_sum(NULL, 0));
    tg_graph_free(g);
}

static void test_array_reduce_fuses_the_elementwise_chain(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {50, 40}, ch[2] = {16, 16};
    double *x = ta_data(2000, 50);
    tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, ch, x);
    /* sum(sqrt(abs(x * 2 + 1))) */
    tg_array *r = tg_array_sum(
        tg_array_sqrt(tg_array_abs(tg_array_add(
            tg_array_mul(a, tg_array_scalar(g, 2)), tg_array_scalar(g, 1)))),
        TG_AXIS_ALL);
    double y[2000];
    for (size_t i = 0; i < 2000; i++)
        y[i] = sqrt(fabs(x[i] * 2 + 1));
    double want = ta_fsum(y, 2000);
    ta_count c = {"tg.array.elemwise", 0};
    tg_callbacks cb = {.task_end = ta_count_end, .ud = &c};
    int h = tg_callbacks_add(&cb);
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(r, s);
        assert_true(ta_close(tg_ndarray_float64(v)[0], want, 1e-15, 0));
        tg_decref(v);
    }
    assert_int_equal(c.calls, 0);
    assert_int_equal(tg_callbacks_remove(h), 0);
    /* bad options */
    tg_reduce_opts o = {.split_every = 1};
    assert_null(tg_array_reduce(a, TG_REDUCE_SUM, 0, &o));
    assert_null(tg_array_reduce(a, (tg_reduce_op)99, 0, NULL));
    tg_graph_free(g);
    free(x);
}

static void test_array_reduce_fails_cleanly_out_of_memory(void **state)
{
    (void)state;
    double *x = ta_data(30, 13);
    long k;
    for (k = 0; k < 5000; k++) {
        tg__oom_inject(k, false);
        tg_graph *g = tg_graph_new();
        tg_array *a = tg_array_from_buffer(
            g, TG_DT_FLOAT64, 2, (size_t[]){6, 5}, (size_t[]){4, 2}, x);
        tg_array *s = tg_array_sum(tg_array_sqrt(tg_array_abs(a)), 0);
        tg_array *r = tg_array_add(s, tg_array_var(a, TG_AXIS_ALL, 1));
        tg_value *v = r ? tg_array_compute(r, NULL) : NULL;
        long failed = tg__oom_failures();
        tg__oom_inject(-1, false);
        bool ok = v && !tg_is_error(v);
        tg_decref(v);
        tg_graph_free(g);
        if (failed == 0) {
            assert_true(ok);
            break;
        }
    }
    assert_true(k < 5000);
    free(x);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_reduce_matches_c_loops),
        cmocka_unit_test(test_array_reduce_every_chunking_agrees),
        cmocka_unit_test(test_array_reduce_any_axis_of_3d_and_keepdims),
        cmocka_unit_test(test_array_reduce_dtypes),
        cmocka_unit_test(test_array_reduce_nan_and_empty),
        cmocka_unit_test(test_array_reduce_fuses_the_elementwise_chain),
        cmocka_unit_test(test_array_reduce_fails_cleanly_out_of_memory),
    };
    return cmocka_run_group_tests_name("array_reduce", tests, ta_setup,
                                       ta_teardown);
}
