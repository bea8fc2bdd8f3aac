/* tests/test_array_chain.c - elementwise chains (a leaf, then unary ops
 * and binary ops with a leaf), which run 32 values at a time in vector
 * registers, on chunks long enough for whole strips and a tail: every
 * step against a plain C loop bit for bit (special values included),
 * and every reduction of a chain against the same reduction of its
 * stored values, also bit for bit (the fused sum must add in the same
 * order as the sum over a stored chunk).
 */
#include <string.h>

#include "array_util.h"

enum { R = 6, C = 997, N = R * C };

/* x with special values: NaN, infinities, signed zeros, big and tiny. */
static double *special_data(uint64_t seed)
{
    double *x = ta_data(N, seed);
    const double odd[] = {NAN,  INFINITY, -INFINITY, 0.0,
                          -0.0, 1e300,    -1e-300,   -4.0};
    for (size_t i = 0; i < N; i += 37)
        x[i] = odd[(i / 37 + seed) % 8];
    return x;
}

/* Same bits, or both NaN. */
static void assert_same(const double *got, const double *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) && isnan(want[i]))
            continue;
        if (memcmp(&got[i], &want[i], sizeof got[i]) != 0)
            fail_msg("element %zu: got %.17g, want %.17g", i, got[i], want[i]);
    }
}

static double c_min(double x, double y)
{
    return x < y || x != x ? x : y;
}

static double c_max(double x, double y)
{
    return x > y || x != x ? x : y;
}

typedef struct inputs {
    double *x, *y, *row, *col;
    tg_array *ax, *ay, *arow, *acol;
} inputs;

/* The usual chunks: a chunk is 2,000 contiguous values at most. */
static const size_t CHUNKS[2] = {4, 500};
/* One chunk: 5,982 values, longer than several tiles of a chain. */
static const size_t WHOLE[2] = {R, C};

/* The inputs in chunks, x and y with special values or without. */
static void inputs_make(inputs *in, tg_graph *g, bool special,
                        const size_t *chunks)
{
    size_t shape[2] = {R, C};
    size_t rs[2] = {1, C}, rc[2] = {1, chunks[1]}, cs[2] = {R, 1},
           cc[2] = {chunks[0], 1};
    in->x = special ? special_data(1) : ta_data(N, 1);
    in->y = special ? special_data(2) : ta_data(N, 2);
    in->row = ta_data(C, 3);
    in->col = ta_data(R, 4);
    in->ax = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, chunks, in->x);
    in->ay = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, chunks, in->y);
    in->arow = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, rs, rc, in->row);
    in->acol = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, cs, cc, in->col);
}

static void inputs_free(inputs *in)
{
    free(in->x);
    free(in->y);
    free(in->row);
    free(in->col);
}

#define N_CHAINS 9

/* Chain k over the inputs, as builders. */
static tg_array *chain(int k, const inputs *in, tg_graph *g)
{
    tg_array *x = in->ax, *y = in->ay;
    switch (k) {
    case 0:
        return tg_array_sqrt(tg_array_abs(tg_array_add(
            tg_array_mul(x, tg_array_scalar(g, 2)), tg_array_scalar(g, 1))));
    case 1: return tg_array_div(tg_array_sub(x, y), tg_array_scalar(g, 3));
    case 2:
        return tg_array_maximum(tg_array_minimum(x, tg_array_scalar(g, 0.5)),
                                tg_array_scalar_int(g, -1));
    case 3:
        return tg_array_neg(
            tg_array_pow(tg_array_abs(x), tg_array_scalar(g, 1.5)));
    case 4: return tg_array_sub(tg_array_mul(tg_array_exp(x), y), in->arow);
    case 5:
        return tg_array_add(
            tg_array_log(tg_array_add(tg_array_abs(x), tg_array_scalar(g, 1))),
            in->acol);
    case 6: return tg_array_div(x, y);
    case 7: return tg_array_sub(tg_array_scalar(g, 3), tg_array_sqrt(x));
    default:
        return tg_array_minimum(tg_array_maximum(x, y),
                                tg_array_mul(in->arow, tg_array_scalar(g, 2)));
    }
}

/* The same chain as a C loop, element i (row r, column c). */
static double c_chain(int k, const inputs *in, size_t i)
{
    double x = in->x[i], y = in->y[i];
    double row = in->row[i % C], col = in->col[i / C];
    switch (k) {
    case 0: return sqrt(fabs(x * 2 + 1));
    case 1: return (x - y) / 3;
    case 2: return c_max(c_min(x, 0.5), -1.0);
    case 3: return -pow(fabs(x), 1.5);
    case 4: return exp(x) * y - row;
    case 5: return log(fabs(x) + 1) + col;
    case 6: return x / y;
    case 7: return 3 - sqrt(x);
    default: return c_min(c_max(x, y), row * 2);
    }
}

static void test_array_chain_steps_match_c_loops_bit_for_bit(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    inputs in;
    inputs_make(&in, g, true, CHUNKS);
    double *want = malloc(N * sizeof *want);
    assert_non_null(want);
    for (int k = 0; k < N_CHAINS; k++) {
        for (size_t i = 0; i < N; i++)
            want[i] = c_chain(k, &in, i);
        tg_array *a = chain(k, &in, g);
        for (int s = 0; s < TA_N_SCHED; s++) {
            tg_value *v = ta_compute(a, s);
            assert_int_equal(tg_ndarray_size(v), N);
            assert_same(tg_ndarray_float64(v), want, N);
            tg_decref(v);
        }
    }
    free(want);
    inputs_free(&in);
    tg_graph_free(g);
}

/* Reduction op of a along axis (TG_AXIS_ALL, 0 or 1). */
static tg_array *reduce(int op, tg_array *a, int axis)
{
    switch (op) {
    case 0: return tg_array_sum(a, axis);
    case 1: return tg_array_mean(a, axis);
    case 2: return tg_array_min(a, axis);
    case 3: return tg_array_max(a, axis);
    case 4: return tg_array_std(a, axis, 1);
    default: return tg_array_argmax(a, axis);
    }
}

static void reductions_match_stored_values(const size_t *chunks)
{
    tg_graph *g = tg_graph_new();
    inputs in;
    inputs_make(&in, g, false, chunks);
    size_t shape[2] = {R, C};
    const int axes[3] = {TG_AXIS_ALL, 0, 1};
    /* chains of finite values (x and y in [-1, 1)) */
    for (int k = 0; k < N_CHAINS; k++) {
        if (k == 6 || k == 7)
            continue; /* x / y and sqrt(x): infinities and NaNs */
        tg_array *a = chain(k, &in, g);
        tg_value *vals = ta_compute(a, TA_SYNC);
        tg_array *stored = tg_array_from_buffer(
            g, TG_DT_FLOAT64, 2, shape, chunks, tg_ndarray_float64(vals));
        for (int op = 0; op < 6; op++)
            for (int ax = 0; ax < 3; ax++) {
                tg_value *got = ta_compute(reduce(op, a, axes[ax]), ax % 2);
                tg_value *want =
                    ta_compute(reduce(op, stored, axes[ax]), TA_SYNC);
                size_t n = tg_ndarray_size(want);
                assert_int_equal(tg_ndarray_size(got), n);
                assert_int_equal(tg_ndarray_dtype(got), tg_ndarray_dtype(want));
                if (tg_ndarray_dtype(want) == TG_DT_FLOAT64)
                    assert_same(tg_ndarray_float64(got),
                                tg_ndarray_float64(want), n);
                else
                    assert_memory_equal(tg_ndarray_int64(got),
                                        tg_ndarray_int64(want),
                                        n * sizeof(int64_t));
                tg_decref(got);
                tg_decref(want);
            }
        tg_decref(vals);
    }
    inputs_free(&in);
    tg_graph_free(g);
}

/* Every reduction of each chain against the same of its values stored,
 * in the usual chunks and in one chunk spanning several chain tiles. */
static void
test_array_chain_reductions_match_stored_values_bit_for_bit(void **state)
{
    (void)state;
    const size_t *chunkings[2] = {CHUNKS, WHOLE};
    for (int ch = 0; ch < 2; ch++)
        reductions_match_stored_values(chunkings[ch]);
}

/* A finite chain's sum against a compensated C sum, on whole strips. */
static void test_array_chain_sum_is_accurate(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {R, C}, chunks[2] = {R, 333};
    double *x = ta_data(N, 9), *w = malloc(N * sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < N; i++)
        w[i] = sqrt(fabs(x[i] * 1e8 + 1));
    tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, chunks, x);
    tg_array *e = tg_array_sum(
        tg_array_sqrt(tg_array_abs(tg_array_add(
            tg_array_mul(a, tg_array_scalar(g, 1e8)), tg_array_scalar(g, 1)))),
        TG_AXIS_ALL);
    tg_value *v = ta_compute(e, TA_THREADS);
    double want = ta_fsum(w, N);
    assert_true(ta_close(tg_ndarray_float64(v)[0], want, 4e-16, 0));
    tg_decref(v);
    free(w);
    free(x);
    tg_graph_free(g);
}

/* A C scan keeping the first extreme (the first NaN, if any): its
 * position. */
static size_t c_arg(const double *x, size_t n, bool min)
{
    size_t best = 0;
    for (size_t i = 1; i < n && x[best] == x[best]; i++)
        if (x[i] != x[i] || (min ? x[i] < x[best] : x[i] > x[best]))
            best = i;
    return best;
}

/* min, max, argmin and argmax over tiles long enough for the vector
 * lanes: with a NaN, with infinities but no NaN, with neither, and on
 * int64 values. */
static void test_array_extremes_of_long_tiles_match_a_scan(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t shape[1] = {N}, chunks[1] = {2048};
    for (int kind = 0; kind < 3; kind++) {
        double *x = kind == 0 ? special_data(5) : ta_data(N, 5);
        if (kind == 1) {
            x[4000] = INFINITY;
            x[4100] = -INFINITY;
            x[5000] = INFINITY;
        }
        tg_array *a =
            tg_array_from_buffer(g, TG_DT_FLOAT64, 1, shape, chunks, x);
        for (int min = 0; min < 2; min++) {
            size_t at = c_arg(x, N, min);
            tg_value *v = ta_compute(min ? tg_array_min(a, TG_AXIS_ALL)
                                         : tg_array_max(a, TG_AXIS_ALL),
                                     TA_THREADS);
            tg_value *i = ta_compute(min ? tg_array_argmin(a, TG_AXIS_ALL)
                                         : tg_array_argmax(a, TG_AXIS_ALL),
                                     TA_SYNC);
            assert_same(tg_ndarray_float64(v), &x[at], 1);
            assert_int_equal(tg_ndarray_int64(i)[0], (int64_t)at);
            tg_decref(v);
            tg_decref(i);
        }
        free(x);
    }
    int64_t *k = malloc(N * sizeof *k);
    assert_non_null(k);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < N; i++) {
        k[i] = (int64_t)((i * 2654435761u) % 100003) - 50000;
        lo = k[i] < lo ? k[i] : lo;
        hi = k[i] > hi ? k[i] : hi;
    }
    tg_array *a = tg_array_from_buffer(g, TG_DT_INT64, 1, shape, chunks, k);
    tg_value *v = ta_compute(tg_array_min(a, TG_AXIS_ALL), TA_SYNC);
    assert_int_equal(tg_ndarray_int64(v)[0], lo);
    tg_decref(v);
    v = ta_compute(tg_array_max(a, TG_AXIS_ALL), TA_SYNC);
    assert_int_equal(tg_ndarray_int64(v)[0], hi);
    tg_decref(v);
    free(k);
    tg_graph_free(g);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_chain_steps_match_c_loops_bit_for_bit),
        cmocka_unit_test(
            test_array_chain_reductions_match_stored_values_bit_for_bit),
        cmocka_unit_test(test_array_chain_sum_is_accurate),
        cmocka_unit_test(test_array_extremes_of_long_tiles_match_a_scan),
    };
    return cmocka_run_group_tests_name("array_chain", tests, ta_setup,
                                       ta_teardown);
}
