/* tests/test_array.c - n-d array values, creation, elementwise operations
 * (fusion, broadcasting, dtypes), map_blocks and results; every array
 * is computed on sync, threads and loopback and checked against plain C
 * loops over the same data.
 */
#include "array_util.h"

#include "runtime/alloc_internal.h"
#include "runtime/codec_internal.h"

/* ---- values ---------------------------------------------------------- */

static int wrap_frees;
static void count_free(void *data, void *ctx)
{
    (void)data;
    wrap_frees += *(int *)ctx;
}

static void test_array_value_accessors(void **state)
{
    (void)state;
    double d[6] = {1, 2, 3, 4, 5, 6};
    size_t shape[2] = {2, 3};
    tg_value *v = tg_ndarray_new(TG_DT_FLOAT64, 2, shape, d);
    ta_assert_shape(v, TG_DT_FLOAT64, 2, shape);
    assert_int_equal(tg_typeof(v), TG_NDARRAY);
    assert_int_equal(tg_ndarray_size(v), 6);
    assert_ptr_not_equal(tg_ndarray_float64(v), d); /* copied */
    ta_assert_f64(v, d, 6, 0, 0);
    assert_null(tg_ndarray_int64(v));
    assert_null(tg_ndarray_bool(v));
    tg_decref(v);

    /* NULL data: zeros; 0-d: one element; empty: no elements */
    v = tg_ndarray_new(TG_DT_INT64, 2, shape, NULL);
    int64_t z[6] = {0};
    ta_assert_i64(v, z, 6);
    tg_decref(v);
    int64_t seven = 7;
    v = tg_ndarray_new(TG_DT_INT64, 0, NULL, &seven);
    assert_int_equal(tg_ndarray_ndim(v), 0);
    assert_null(tg_ndarray_shape(v));
    assert_int_equal(tg_ndarray_size(v), 1);
    assert_int_equal(tg_ndarray_int64(v)[0], 7);
    tg_decref(v);
    size_t empty[2] = {3, 0};
    v = tg_ndarray_new(TG_DT_BOOL, 2, empty, NULL);
    assert_int_equal(tg_ndarray_size(v), 0);
    assert_non_null(tg_ndarray_bool(v));
    tg_decref(v);

    /* borrowed data: freed through free_fn with the last reference */
    int one = 1;
    wrap_frees = 0;
    v = tg_ndarray_wrap(TG_DT_FLOAT64, 2, shape, d, count_free, &one);
    assert_ptr_equal(tg_ndarray_float64(v), d);
    tg_incref(v);
    tg_decref(v);
    assert_int_equal(wrap_frees, 0);
    tg_decref(v);
    assert_int_equal(wrap_frees, 1);

    /* bad arguments */
    assert_null(tg_ndarray_new(TG_DT_STRING, 1, shape, NULL));
    assert_non_null(strstr(tg_last_error(), "not an array dtype"));
    size_t huge[2] = {SIZE_MAX / 4, 8};
    assert_null(tg_ndarray_new(TG_DT_FLOAT64, 2, huge, NULL));
    assert_non_null(strstr(tg_last_error(), "overflows"));
    assert_null(
        tg_ndarray_new(TG_DT_FLOAT64, TG_NDARRAY_MAX_DIMS + 1, shape, NULL));
    assert_null(tg_ndarray_wrap(TG_DT_FLOAT64, 2, shape, NULL, NULL, NULL));

    /* other values */
    tg_value *i = tg_int(3);
    assert_false(tg_is_ndarray(i));
    assert_int_equal(tg_ndarray_ndim(i), 0);
    assert_null(tg_ndarray_data(i));
    assert_int_equal(tg_ndarray_dtype(i), TG_DT_STRING);
    tg_decref(i);
}

static void test_array_value_round_trips_the_codec(void **state)
{
    (void)state;
    size_t shape[3] = {2, 3, 700}; /* more than an inline payload */
    double *d = ta_data(2 * 3 * 700, 1);
    uint8_t b[5] = {1, 0, 1, 1, 0};
    size_t bs = 5, es[2] = {0, 4};
    int64_t i = -5;
    tg_value *vals[] = {tg_ndarray_new(TG_DT_FLOAT64, 3, shape, d),
                        tg_ndarray_new(TG_DT_BOOL, 1, &bs, b),
                        tg_ndarray_new(TG_DT_INT64, 0, NULL, &i),
                        tg_ndarray_new(TG_DT_INT64, 2, es, NULL)};
    for (size_t k = 0; k < 4; k++) {
        tg_value *r = tg__codec_roundtrip(vals[k]);
        assert_false(tg_is_error(r));
        assert_true(tg_equal(r, vals[k]));
        assert_true(tg_ndarray_size(r) == 0
                    || tg_ndarray_data(r) != tg_ndarray_data(vals[k]));
        tg_decref(r);
        tg_decref(vals[k]);
    }
    /* equality is by content */
    tg_value *x = tg_ndarray_new(TG_DT_FLOAT64, 1, &bs, d);
    tg_value *y = tg_ndarray_new(TG_DT_FLOAT64, 1, &bs, d);
    tg_value *z = tg_ndarray_new(TG_DT_FLOAT64, 1, &bs, d + 1);
    assert_true(tg_equal(x, y));
    assert_false(tg_equal(x, z));
    tg_decref(x);
    tg_decref(y);
    tg_decref(z);
    free(d);
}

/* The flat encoding of v with its payload's first byte at *payload. */
static uint8_t *encode_flat(tg_value *v, size_t *len, size_t *payload)
{
    tg__enc e;
    uint8_t *flat;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, v), 0);
    assert_int_equal(tg__enc_flatten(&e, &flat, len), 0);
    tg__enc_close(&e);
    size_t at = 0;
    while (at + 10 <= *len && memcmp(flat + at, "tg.ndarray", 10) != 0)
        at++;
    assert_true(at + 10 <= *len);
    *payload = at + 10 + 8;
    return flat;
}

static void expect_bad(uint8_t *flat, size_t len, const char *part)
{
    tg__dec d;
    assert_int_equal(tg__dec_init_flat(&d, flat, len, 0), 0);
    assert_null(tg__decode(&d));
    if (!strstr(tg_last_error(), part))
        fail_msg("'%s' lacks '%s'", tg_last_error(), part);
    tg__dec_close(&d);
}

static void put64le(uint8_t *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static void test_array_value_decode_checks_every_length(void **state)
{
    (void)state;
    size_t shape[2] = {3, 4}, len, at;
    tg_value *v = tg_ndarray_new(TG_DT_FLOAT64, 2, shape, NULL);
    uint8_t *flat = encode_flat(v, &len, &at);
    /* payload: dtype u8, ndim u64, extents u64 x ndim, piece length */
    flat[at] = 9;
    expect_bad(flat, len, "unknown dtype");
    flat[at] = TG_DT_FLOAT64;
    put64le(flat + at + 1, 40);
    expect_bad(flat, len, "dimensions");
    put64le(flat + at + 1, 2);
    put64le(flat + at + 9, 4);
    expect_bad(flat, len, "but the data has 96 bytes");
    put64le(flat + at + 9, (uint64_t)1 << 40);
    put64le(flat + at + 17, (uint64_t)1 << 40);
    expect_bad(flat, len, "overflows");
    put64le(flat + at + 9, 3);
    put64le(flat + at + 17, 4);
    tg__dec d; /* restored: decodes again */
    assert_int_equal(tg__dec_init_flat(&d, flat, len, 0), 0);
    tg_value *back = tg__decode(&d);
    assert_true(tg_equal(back, v));
    tg_decref(back);
    tg__dec_close(&d);
    free(flat);
    tg_decref(v);
}

static void test_array_value_tokens_dedupe_literal_chunks(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    double d[8] = {1, 2, 3, 4, 1, 2, 3, 4};
    size_t n = 8, c = 4;
    tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &n, &c, d);
    tg_array *b = tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &n, &c, d);
    /* equal contents, equal keys: chunk 0 == chunk 1 == b's */
    assert_string_equal(tg_key(tg_array_block(a, 0)),
                        tg_key(tg_array_block(a, 1)));
    assert_string_equal(tg_key(tg_array_block(a, 0)),
                        tg_key(tg_array_block(b, 0)));
    d[0] = 9;
    tg_array *e = tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &n, &c, d);
    assert_string_not_equal(tg_key(tg_array_block(a, 0)),
                            tg_key(tg_array_block(e, 0)));
    tg_graph_free(g);
}

/* ---- creation -------------------------------------------------------- */

/* Computes a on every scheduler, and stores and persists it, checking
 * all against want (float64, n elements). */
static void check_everywhere(tg_array *a, const double *want, size_t n)
{
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(a, s);
        ta_assert_shape(v, TG_DT_FLOAT64, tg_array_ndim(a), tg_array_shape(a));
        ta_assert_f64(v, want, n, 0, 0);
        tg_decref(v);
    }
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    assert_int_equal(tg_array_store(a, buf, n * 8, ta_sched[TA_THREADS]), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(ta_close(buf[i], want[i], 0, 0));
    assert_int_equal(tg_array_store(a, buf, n * 8 + 8, NULL), TG_EINVAL);
    free(buf);
    tg_array *p = tg_array_persist(a, ta_sched[TA_THREADS]);
    assert_non_null(p);
    tg_value *v = ta_compute(tg_array_neg(tg_array_neg(p)), TA_LOOPBACK);
    ta_assert_f64(v, want, n, 0, 0);
    tg_decref(v);
}

static void test_array_from_buffer_odd_shapes(void **state)
{
    (void)state;
    struct {
        size_t ndim, shape[3], chunks[3];
    } cases[] = {
        {2, {1, 13}, {1, 4}},   /* 1 x n */
        {2, {13, 1}, {5, 1}},   /* n x 1 */
        {2, {7, 13}, {3, 5}},   /* primes, partial last chunks */
        {2, {7, 13}, {50, 50}}, /* chunk larger than the array */
        {3, {3, 4, 5}, {2, 3, 2}},
        {1, {0}, {4}}, /* empty */
        {0, {0}, {0}}, /* 0-d */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        tg_graph *g = tg_graph_new();
        size_t n = 1;
        for (size_t i = 0; i < cases[k].ndim; i++)
            n *= cases[k].shape[i];
        double *d = ta_data(n, k);
        tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, cases[k].ndim,
                                           cases[k].shape, cases[k].chunks, d);
        assert_non_null(a);
        check_everywhere(a, d, n);
        free(d);
        tg_graph_free(g);
    }
}

static void test_array_constants_and_ranges(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {5, 7}, ch[2] = {2, 3};
    double w[35];
    for (size_t i = 0; i < 35; i++)
        w[i] = 0;
    check_everywhere(tg_array_zeros(g, TG_DT_FLOAT64, 2, shape, ch), w, 35);
    for (size_t i = 0; i < 35; i++)
        w[i] = 1;
    check_everywhere(tg_array_ones(g, TG_DT_FLOAT64, 2, shape, ch), w, 35);
    for (size_t i = 0; i < 35; i++)
        w[i] = -2.5;
    check_everywhere(tg_array_full(g, TG_DT_FLOAT64, 2, shape, ch, -2.5), w,
                     35);
    /* int and bool fills */
    tg_value *v = ta_compute(tg_array_full(g, TG_DT_INT64, 2, shape, ch, 3.9),
                             TA_LOOPBACK);
    int64_t three[35];
    for (size_t i = 0; i < 35; i++)
        three[i] = 3;
    ta_assert_i64(v, three, 35);
    tg_decref(v);
    v = ta_compute(tg_array_ones(g, TG_DT_BOOL, 2, shape, ch), TA_SYNC);
    for (size_t i = 0; i < 35; i++)
        assert_int_equal(tg_ndarray_bool(v)[i], 1);
    tg_decref(v);

    /* NumPy's arange: arange(0, 1, 0.1) has 10 elements */
    tg_array *r = tg_array_arange(g, TG_DT_FLOAT64, 0, 1, 0.1, 3);
    assert_int_equal(tg_array_shape(r)[0], 10);
    for (size_t i = 0; i < 10; i++)
        w[i] = (double)i * 0.1;
    check_everywhere(r, w, 10);
    v = ta_compute(tg_array_arange(g, TG_DT_INT64, 10, 0, -3, 2), TA_LOOPBACK);
    ta_assert_i64(v, (int64_t[]){10, 7, 4, 1}, 4);
    tg_decref(v);
    assert_int_equal(
        tg_array_shape(tg_array_arange(g, TG_DT_FLOAT64, 5, 1, 1, 0))[0], 0);
    assert_null(tg_array_arange(g, TG_DT_FLOAT64, 0, 1, 0, 1));
    assert_null(tg_array_arange(g, TG_DT_INT64, 0, 1.5, 1, 1));
    tg_graph_free(g);
}

static void test_array_random_ignores_the_chunking(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {17, 23};
    size_t chunkings[3][2] = {{17, 23}, {4, 5}, {1, 23}};
    tg_value *ref =
        ta_compute(tg_array_random(g, 2, shape, chunkings[0], 42), TA_SYNC);
    const double *d = tg_ndarray_float64(ref);
    double sum = 0;
    for (size_t i = 0; i < 17 * 23; i++) {
        assert_true(d[i] >= 0 && d[i] < 1);
        sum += d[i];
    }
    assert_true(fabs(sum / (17 * 23) - 0.5) < 0.05);
    for (int c = 1; c < 3; c++)
        for (int s = 0; s < TA_N_SCHED; s++) {
            tg_value *v =
                ta_compute(tg_array_random(g, 2, shape, chunkings[c], 42), s);
            assert_true(tg_equal(v, ref));
            tg_decref(v);
        }
    tg_value *other =
        ta_compute(tg_array_random(g, 2, shape, chunkings[1], 43), TA_SYNC);
    assert_false(tg_equal(other, ref));
    tg_decref(other);
    tg_decref(ref);
    tg_graph_free(g);
}

/* ---- elementwise ----------------------------------------------------- */

static double c_op(int op, double x, double y)
{
    switch (op) {
    case 0: return x + y;
    case 1: return x - y;
    case 2: return x * y;
    case 3: return x / y;
    case 4: return pow(fabs(x), y);
    case 5: return x < y ? x : y;
    case 6: return x > y ? x : y;
    }
    return 0;
}

static tg_array *t_op(int op, tg_array *x, tg_array *y)
{
    switch (op) {
    case 0: return tg_array_add(x, y);
    case 1: return tg_array_sub(x, y);
    case 2: return tg_array_mul(x, y);
    case 3: return tg_array_div(x, y);
    case 4: return tg_array_pow(tg_array_abs(x), y);
    case 5: return tg_array_minimum(x, y);
    case 6: return tg_array_maximum(x, y);
    }
    return NULL;
}

static void test_array_elementwise_matches_c_loops(void **state)
{
    (void)state;
    enum { R = 5, C = 7, N = R * C };
    size_t shape[2] = {R, C}, cx[2] = {2, 3}, cy[2] = {3, 2};
    double *x = ta_data(N, 1), *y = ta_data(N, 2), w[N];
    tg_graph *g = tg_graph_new();
    /* differently chunked operands: y is rechunked to x's chunks */
    tg_array *ax = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, cx, x);
    tg_array *ay = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, cy, y);
    for (int op = 0; op < 7; op++) {
        for (size_t i = 0; i < N; i++)
            w[i] = c_op(op, x[i], y[i]);
        tg_array *r = t_op(op, ax, ay);
        assert_memory_equal(tg_array_chunks(r), cx, sizeof cx);
        for (int s = 0; s < TA_N_SCHED; s++) {
            tg_value *v = ta_compute(r, s);
            ta_assert_f64(v, w, N, 0, 0);
            tg_decref(v);
        }
    }
    /* unary */
    tg_array *u[5] = {
        tg_array_sqrt(tg_array_abs(ax)), tg_array_abs(ax), tg_array_exp(ax),
        tg_array_log(tg_array_add(tg_array_abs(ax), tg_array_scalar(g, 1))),
        tg_array_neg(ax)};
    for (int k = 0; k < 5; k++) {
        for (size_t i = 0; i < N; i++)
            w[i] = k == 0   ? sqrt(fabs(x[i]))
                   : k == 1 ? fabs(x[i])
                   : k == 2 ? exp(x[i])
                   : k == 3 ? log(fabs(x[i]) + 1)
                            : -x[i];
        tg_value *v = ta_compute(u[k], k % TA_N_SCHED);
        ta_assert_f64(v, w, N, 0, 0);
        tg_decref(v);
    }
    /* comparisons and where */
    tg_array *cmp[6] = {tg_array_lt(ax, ay), tg_array_le(ax, ay),
                        tg_array_gt(ax, ay), tg_array_ge(ax, ay),
                        tg_array_eq(ax, ax), tg_array_ne(ax, ay)};
    for (int k = 0; k < 6; k++) {
        tg_value *v = ta_compute(cmp[k], TA_LOOPBACK);
        assert_int_equal(tg_ndarray_dtype(v), TG_DT_BOOL);
        for (size_t i = 0; i < N; i++) {
            bool want = k == 0   ? x[i] < y[i]
                        : k == 1 ? x[i] <= y[i]
                        : k == 2 ? x[i] > y[i]
                        : k == 3 ? x[i] >= y[i]
                        : k == 4 ? true
                                 : x[i] != y[i];
            assert_int_equal(tg_ndarray_bool(v)[i], want);
        }
        tg_decref(v);
    }
    tg_value *v = ta_compute(
        tg_array_where(tg_array_gt(ax, ay), ax, tg_array_scalar(g, 0)),
        TA_THREADS);
    for (size_t i = 0; i < N; i++)
        w[i] = x[i] > y[i] ? x[i] : 0;
    ta_assert_f64(v, w, N, 0, 0);
    tg_decref(v);
    tg_graph_free(g);
    free(x);
    free(y);
}

static void test_array_broadcasting_follows_numpy(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t s57[2] = {5, 7}, s7 = 7, s51[2] = {5, 1}, s17[2] = {1, 7};
    double *x = ta_data(35, 3), *r = ta_data(7, 4), *c = ta_data(5, 5);
    tg_array *ax =
        tg_array_from_buffer(g, TG_DT_FLOAT64, 2, s57, (size_t[]){2, 3}, x);
    tg_array *ar =
        tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &s7, (size_t[]){4}, r);
    tg_array *ac =
        tg_array_from_buffer(g, TG_DT_FLOAT64, 2, s51, (size_t[]){3, 1}, c);
    tg_array *sum = tg_array_mul(tg_array_add(tg_array_add(ax, ar), ac),
                                 tg_array_scalar(g, 2));
    double w[35];
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 7; j++)
            w[i * 7 + j] = (x[i * 7 + j] + r[j] + c[i]) * 2;
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(sum, s);
        ta_assert_shape(v, TG_DT_FLOAT64, 2, s57);
        ta_assert_f64(v, w, 35, 0, 0);
        tg_decref(v);
    }
    /* (5, 1) and (1, 7) make (5, 7): an outer sum */
    tg_array *row =
        tg_array_from_buffer(g, TG_DT_FLOAT64, 2, s17, (size_t[]){1, 2}, r);
    tg_value *v = ta_compute(tg_array_sub(ac, row), TA_LOOPBACK);
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 7; j++)
            w[i * 7 + j] = c[i] - r[j];
    ta_assert_f64(v, w, 35, 0, 0);
    tg_decref(v);
    /* a clear error naming both shapes */
    size_t s6 = 6;
    tg_array *bad = tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &s6, NULL, x);
    assert_null(tg_array_add(ax, bad));
    assert_non_null(strstr(tg_last_error(), "operands could not be broadcast "
                                            "together with shapes (5, 7) "
                                            "(6,)"));
    /* and a NULL operand fails the whole chain, checked once */
    tg_array *chain = tg_array_sqrt(tg_array_add(tg_array_add(ax, bad), ax));
    assert_null(chain);
    assert_non_null(strstr(tg_last_error(), "NULL"));
    tg_graph_free(g);
    free(x);
    free(r);
    free(c);
}

static void test_array_dtypes_promote_as_numpy(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t n = 6, ch = 4;
    int64_t i[6] = {-3, -1, 0, 2, 5, INT64_MAX};
    double f[6] = {0.5, -1.5, 2, 3.25, -4, 1e300};
    uint8_t b[6] = {1, 0, 1, 1, 0, 0};
    tg_array *ai = tg_array_from_buffer(g, TG_DT_INT64, 1, &n, &ch, i);
    tg_array *af = tg_array_from_buffer(g, TG_DT_FLOAT64, 1, &n, &ch, f);
    tg_array *ab = tg_array_from_buffer(g, TG_DT_BOOL, 1, &n, &ch, b);
    /* int + float: float64 */
    tg_array *r = tg_array_add(ai, af);
    assert_int_equal(tg_array_dtype(r), TG_DT_FLOAT64);
    tg_value *v = ta_compute(r, TA_LOOPBACK);
    for (size_t k = 0; k < n; k++)
        assert_true(tg_ndarray_float64(v)[k] == (double)i[k] + f[k]);
    tg_decref(v);
    /* int + int wraps; int * bool; int / int is float64 */
    v = ta_compute(tg_array_add(ai, tg_array_scalar_int(g, 1)), TA_SYNC);
    ta_assert_i64(v, (int64_t[]){-2, 0, 1, 3, 6, INT64_MIN}, 6);
    tg_decref(v);
    v = ta_compute(tg_array_mul(ai, ab), TA_THREADS);
    ta_assert_i64(v, (int64_t[]){-3, 0, 0, 2, 0, 0}, 6);
    tg_decref(v);
    r = tg_array_div(ai, tg_array_scalar_int(g, 2));
    assert_int_equal(tg_array_dtype(r), TG_DT_FLOAT64);
    v = ta_compute(r, TA_SYNC);
    assert_true(tg_ndarray_float64(v)[0] == -1.5);
    tg_decref(v);
    /* bool + bool counts as int64; abs/neg keep int64 */
    assert_int_equal(tg_array_dtype(tg_array_add(ab, ab)), TG_DT_INT64);
    v = ta_compute(tg_array_abs(ai), TA_LOOPBACK);
    ta_assert_i64(v, (int64_t[]){3, 1, 0, 2, 5, INT64_MAX}, 6);
    tg_decref(v);
    /* int pow, and its refusal of negative exponents */
    v = ta_compute(tg_array_pow(ai, tg_array_scalar_int(g, 3)), TA_SYNC);
    assert_int_equal(tg_ndarray_int64(v)[4], 125);
    tg_decref(v);
    ta_assert_fails(tg_array_pow(ai, ai), TA_LOOPBACK, "negative exponent");
    /* astype */
    v = ta_compute(tg_array_astype(af, TG_DT_INT64), TA_SYNC);
    ta_assert_i64(v, (int64_t[]){0, -1, 2, 3, -4, INT64_MIN}, 6);
    tg_decref(v);
    v = ta_compute(tg_array_astype(af, TG_DT_BOOL), TA_SYNC);
    assert_memory_equal(tg_ndarray_bool(v), ((uint8_t[]){1, 1, 1, 1, 1, 1}), 6);
    tg_decref(v);
    assert_null(tg_array_astype(af, TG_DT_STRING));
    /* comparisons across dtypes */
    v = ta_compute(tg_array_lt(ai, af), TA_LOOPBACK);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(tg_ndarray_bool(v)[k], (double)i[k] < f[k]);
    tg_decref(v);
    tg_graph_free(g);
}

static void test_array_chain_fuses_into_one_task_per_chunk(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {9, 10}, ch[2] = {4, 4};
    double *x = ta_data(90, 7), *y = ta_data(90, 8), w[90];
    tg_array *ax = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, ch, x);
    tg_array *ay = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, ch, y);
    /* ((x + 1) * 2 - y).sqrt() */
    tg_array *r = tg_array_sqrt(
        tg_array_sub(tg_array_mul(tg_array_add(ax, tg_array_scalar(g, 1)),
                                  tg_array_scalar(g, 2)),
                     ay));
    for (size_t i = 0; i < 90; i++)
        w[i] = sqrt((x[i] + 1) * 2 - y[i]);
    ta_count c = {"tg.array.elemwise", 0};
    tg_callbacks cb = {.task_end = ta_count_end, .ud = &c};
    int h = tg_callbacks_add(&cb);
    assert_true(h > 0);
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(r, s);
        ta_assert_f64(v, w, 90, 0, 0);
        tg_decref(v);
        if (s == TA_DIST) /* its tasks run, and are counted, elsewhere */
            continue;
        c.calls = 0;
        ta_compute_chunks(r, s);
        assert_int_equal(c.calls, (int)tg_array_nblocks(r)); /* 9 */
    }
    assert_int_equal(tg_callbacks_remove(h), 0);
    tg_graph_free(g);
    free(x);
    free(y);
}

/* ---- map_blocks ------------------------------------------------------ */

/* Doubles a float64 chunk and adds its first row index (offsets[0]). */
static tg_value *twice_plus_row(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const double *d = tg_ndarray_float64(a[0]);
    if (!d)
        return tg_error("not float64");
    double row = (double)tg_as_int(tg_list_get(a[1], 0));
    size_t sz = tg_ndarray_size(a[0]);
    tg_value *out = tg_ndarray_new(TG_DT_FLOAT64, tg_ndarray_ndim(a[0]),
                                   tg_ndarray_shape(a[0]), NULL);
    double *o = (double *)tg_ndarray_data(out);
    for (size_t i = 0; i < sz; i++)
        o[i] = 2 * d[i] + row;
    return out;
}

static tg_value *wrong_shape(tg_value *const *a, size_t n, void *ctx)
{
    (void)a, (void)n, (void)ctx;
    size_t one = 1;
    return tg_ndarray_new(TG_DT_FLOAT64, 1, &one, NULL);
}

static void test_array_map_blocks_runs_a_function_per_chunk(void **state)
{
    (void)state; /* main registered test.twice_plus_row */
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {5, 3}, ch[2] = {2, 3};
    double *x = ta_data(15, 9), w[15];
    tg_array *ax = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, ch, x);
    tg_array *r = tg_array_map_blocks(ax, "test.twice_plus_row", twice_plus_row,
                                      NULL, TG_DT_FLOAT64);
    for (size_t i = 0; i < 15; i++)
        w[i] = 2 * x[i] + (double)((i / 3) / 2 * 2);
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(r, s);
        ta_assert_f64(v, w, 15, 0, 0);
        tg_decref(v);
    }
    /* a local function runs here, and loopback refuses it by name */
    tg_array *local = tg_array_map_blocks(ax, "local_twice", twice_plus_row,
                                          NULL, TG_DT_FLOAT64);
    tg_value *v = ta_compute(local, TA_THREADS);
    ta_assert_f64(v, w, 15, 0, 0);
    tg_decref(v);
    ta_assert_fails(local, TA_LOOPBACK, "local_twice");
    /* a result of the wrong shape is caught */
    ta_assert_fails(
        tg_array_map_blocks(ax, "wrong", wrong_shape, NULL, TG_DT_FLOAT64),
        TA_SYNC, "expected float64 of shape (2, 3)");
    tg_graph_free(g);
    free(x);
}

/* ---- memory ---------------------------------------------------------- */

/* Resets this process's peak RSS to its current RSS (Linux 4.0+). */
static bool reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static void test_array_store_streams_chunks_into_the_buffer(void **state)
{
    (void)state;
    size_t n = tt_scale(4096, 512), shape[2] = {n, n}, ch[2] = {256, 256};
    size_t bytes = n * n * sizeof(double);
    double *out = malloc(bytes);
    memset(out, 1, bytes); /* resident before the peak is reset */
    tg_graph *g = tg_graph_new();
    tg_array *y =
        tg_array_add(tg_array_sqrt(tg_array_random(g, 2, shape, ch, 5)),
                     tg_array_scalar(g, 1));
    bool rss = tt_check_rss() && reset_peak_rss();
    long before = tt_peak_rss_kib();
    assert_int_equal(tg_array_store(y, out, bytes, ta_sched[TA_THREADS]), 0);
    long grew = tt_peak_rss_kib() - before;
    /* the 128 MB result is written in place: the peak grows by chunks in
     * flight and the allocator's cache, not by a second copy */
    if (rss && n == 4096)
        assert_true(grew < 48 * 1024);
    for (size_t i = 0; i < n * n; i += 4099)
        assert_true(out[i] >= 1 && out[i] < 2);
    /* the same through loopback, which gathers the chunks first */
    double *back = malloc(bytes);
    assert_int_equal(tg_array_store(y, back, bytes, ta_sched[TA_LOOPBACK]), 0);
    assert_memory_equal(out, back, bytes);
    free(back);
    free(out);
    tg_graph_free(g);
}

/* ---- out of memory --------------------------------------------------- */

static void
test_array_builds_and_computes_fail_cleanly_out_of_memory(void **state)
{
    (void)state;
    size_t shape[2] = {6, 5}, ch[2] = {4, 2};
    double *x = ta_data(30, 11);
    long k;
    for (k = 0; k < 5000; k++) {
        tg__oom_inject(k, false);
        tg_graph *g = tg_graph_new();
        tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, shape, ch, x);
        tg_array *r =
            tg_array_rechunk(tg_array_transpose(tg_array_sqrt(tg_array_add(
                                 tg_array_abs(a), tg_array_scalar(g, 1)))),
                             (size_t[]){3, 3});
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
    /* registered before the cluster starts, so its workers have it */
    if (tg_register("test.twice_plus_row", twice_plus_row, NULL) != 0)
        return 1;
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_value_accessors),
        cmocka_unit_test(test_array_value_round_trips_the_codec),
        cmocka_unit_test(test_array_value_decode_checks_every_length),
        cmocka_unit_test(test_array_value_tokens_dedupe_literal_chunks),
        cmocka_unit_test(test_array_from_buffer_odd_shapes),
        cmocka_unit_test(test_array_constants_and_ranges),
        cmocka_unit_test(test_array_random_ignores_the_chunking),
        cmocka_unit_test(test_array_elementwise_matches_c_loops),
        cmocka_unit_test(test_array_broadcasting_follows_numpy),
        cmocka_unit_test(test_array_dtypes_promote_as_numpy),
        cmocka_unit_test(test_array_chain_fuses_into_one_task_per_chunk),
        cmocka_unit_test(test_array_map_blocks_runs_a_function_per_chunk),
        cmocka_unit_test(test_array_store_streams_chunks_into_the_buffer),
        cmocka_unit_test(
            test_array_builds_and_computes_fail_cleanly_out_of_memory),
    };
    return cmocka_run_group_tests_name("array", tests, ta_setup, ta_teardown);
}
