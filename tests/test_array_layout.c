/* tests/test_array_layout.c - transpose, slicing, rechunk and
 * concatenate against plain C loops, on every scheduler and odd shapes.
 */
#include "array_util.h"

/* Builds an R x C float64 array of test data with chunks (cr, cc). */
static tg_array *mat(tg_graph *g, size_t r, size_t c, size_t cr, size_t cc,
                     double **x, uint64_t seed)
{
    *x = ta_data(r * c, seed);
    return tg_array_from_buffer(g, TG_DT_FLOAT64, 2, (size_t[]){r, c},
                                (size_t[]){cr, cc}, *x);
}

static void test_array_transpose_and_permute(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    double *x;
    tg_array *a = mat(g, 7, 13, 3, 5, &x, 1), *t = tg_array_transpose(a);
    assert_int_equal(tg_array_shape(t)[0], 13);
    assert_int_equal(tg_array_chunks(t)[0], 5);
    double w[91];
    for (size_t i = 0; i < 7; i++)
        for (size_t j = 0; j < 13; j++)
            w[j * 7 + i] = x[i * 13 + j];
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(t, s);
        ta_assert_f64(v, w, 91, 0, 0);
        tg_decref(v);
    }
    /* transposing twice, and fusing a transposed operand */
    tg_value *v =
        ta_compute(tg_array_add(tg_array_transpose(t), a), TA_LOOPBACK);
    for (size_t i = 0; i < 91; i++)
        w[i] = 2 * x[i];
    ta_assert_f64(v, w, 91, 0, 0);
    tg_decref(v);
    /* 3-d permutation (2, 0, 1) */
    size_t shape[3] = {3, 4, 5};
    double *y = ta_data(60, 2), w3[60];
    tg_array *b = tg_array_from_buffer(g, TG_DT_FLOAT64, 3, shape,
                                       (size_t[]){2, 3, 2}, y);
    tg_array *p = tg_array_permute(b, (size_t[]){2, 0, 1});
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++)
            for (size_t k = 0; k < 5; k++)
                w3[(k * 3 + i) * 4 + j] = y[(i * 4 + j) * 5 + k];
    v = ta_compute(p, TA_THREADS);
    ta_assert_shape(v, TG_DT_FLOAT64, 3, (size_t[]){5, 3, 4});
    ta_assert_f64(v, w3, 60, 0, 0);
    tg_decref(v);
    assert_null(tg_array_permute(b, (size_t[]){0, 0, 1}));
    tg_graph_free(g);
    free(x);
    free(y);
}

/* Python's slice over an axis of n: the indices it picks. */
static size_t py_slice(tg_slice s, size_t n, int64_t *out)
{
    int64_t len = (int64_t)n, st = s.step ? s.step : 1, a, b;
    if (st > 0) {
        a = s.start == TG_SLICE_NONE ? 0
            : s.start < 0            ? s.start + len
                                     : s.start;
        b = s.stop == TG_SLICE_NONE ? len : s.stop < 0 ? s.stop + len : s.stop;
        a = a < 0 ? 0 : a > len ? len : a;
        b = b < 0 ? 0 : b > len ? len : b;
    } else {
        a = s.start == TG_SLICE_NONE ? len - 1
            : s.start < 0            ? s.start + len
                                     : s.start;
        b = s.stop == TG_SLICE_NONE ? -1 : s.stop < 0 ? s.stop + len : s.stop;
        a = a < -1 ? -1 : a > len - 1 ? len - 1 : a;
        b = b < -1 ? -1 : b > len - 1 ? len - 1 : b;
    }
    size_t k = 0;
    for (int64_t i = a; st > 0 ? i < b : i > b; i += st)
        out[k++] = i;
    return k;
}

static void test_array_slice_matches_python(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    double *x;
    tg_array *a = mat(g, 11, 17, 4, 5, &x, 3);
    const int64_t N = TG_SLICE_NONE;
    tg_slice cases[][2] = {
        {{N, N, 0}, {N, N, 0}},       {{2, 9, 1}, {3, -2, 1}},
        {{N, N, 2}, {1, N, 3}},       {{N, N, -1}, {N, N, -2}},
        {{-3, 1, -3}, {15, 2, -5}},   {{5, 5, 1}, {N, N, 7}},
        {{-100, 100, 4}, {16, 17, 1}}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int64_t ri[20], ci[20];
        size_t nr = py_slice(cases[k][0], 11, ri);
        size_t nc = py_slice(cases[k][1], 17, ci);
        double w[400];
        for (size_t i = 0; i < nr; i++)
            for (size_t j = 0; j < nc; j++)
                w[i * nc + j] = x[ri[i] * 17 + ci[j]];
        tg_array *s = tg_array_slice(a, cases[k]);
        assert_non_null(s);
        tg_value *v = ta_compute(s, (int)k % TA_N_SCHED);
        ta_assert_shape(v, TG_DT_FLOAT64, 2, (size_t[]){nr, nc});
        ta_assert_f64(v, w, nr * nc, 0, 0);
        tg_decref(v);
    }
    assert_null(tg_array_slice(a, NULL));
    tg_graph_free(g);
    free(x);
}

static void test_array_rechunk_keeps_the_elements(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    double *x;
    tg_array *a = mat(g, 9, 14, 9, 1, &x, 4);
    size_t targets[][2] = {{1, 14}, {4, 4}, {0, 0}, {20, 3}};
    for (size_t k = 0; k < 4; k++) {
        tg_array *r = tg_array_rechunk(a, targets[k]);
        for (int s = 0; s < TA_N_SCHED; s++) {
            tg_value *v = ta_compute(r, s);
            ta_assert_f64(v, x, 126, 0, 0);
            tg_decref(v);
        }
    }
    assert_int_equal(tg_array_chunks(tg_array_rechunk(a, targets[1]))[1], 4);
    assert_int_equal(tg_array_numblocks(tg_array_rechunk(a, targets[2]))[0], 1);
    tg_graph_free(g);
    free(x);
}

static void test_array_concatenate_joins_along_an_axis(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    double *x, *y;
    tg_array *a = mat(g, 4, 6, 3, 4, &x, 5), *b = mat(g, 5, 6, 2, 5, &y, 6);
    int64_t iz[12] = {0};
    tg_array *z =
        tg_array_from_buffer(g, TG_DT_INT64, 2, (size_t[]){2, 6}, NULL, iz);
    tg_array *parts[3] = {a, b, z};
    tg_array *c = tg_array_concatenate(3, parts, 0);
    assert_int_equal(tg_array_shape(c)[0], 11);
    assert_int_equal(tg_array_dtype(c), TG_DT_FLOAT64);
    double w[11 * 6] = {0};
    memcpy(w, x, 24 * sizeof *w);
    memcpy(w + 24, y, 30 * sizeof *w);
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(c, s);
        ta_assert_f64(v, w, 66, 0, 0);
        tg_decref(v);
    }
    /* along axis 1 (-1) */
    tg_array *at = tg_array_transpose(a), *bt = tg_array_transpose(b);
    tg_array *c1 = tg_array_concatenate(2, (tg_array *[]){at, bt}, -1);
    tg_value *v = ta_compute(c1, TA_LOOPBACK);
    ta_assert_shape(v, TG_DT_FLOAT64, 2, (size_t[]){6, 9});
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 9; j++)
            assert_true(tg_ndarray_float64(v)[i * 9 + j]
                        == (j < 4 ? x[j * 6 + i] : y[(j - 4) * 6 + i]));
    tg_decref(v);
    assert_null(tg_array_concatenate(2, (tg_array *[]){a, at}, 0));
    assert_non_null(strstr(tg_last_error(), "differ off axis 0"));
    assert_null(tg_array_concatenate(2, parts, 2));
    tg_graph_free(g);
    free(x);
    free(y);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_transpose_and_permute),
        cmocka_unit_test(test_array_slice_matches_python),
        cmocka_unit_test(test_array_rechunk_keeps_the_elements),
        cmocka_unit_test(test_array_concatenate_joins_along_an_axis),
    };
    return cmocka_run_group_tests_name("array_layout", tests, ta_setup,
                                       ta_teardown);
}
