/* tests/test_array_linalg.c - matmul against plain C loops: dgemm
 * blocks, dsyrk for a times its own transpose (counted), dtypes, odd
 * shapes and chunkings, errors, and out-of-memory failures.
 */
#include "array_util.h"

#include "runtime/alloc_internal.h"

/* Builds an R x C float64 array of test data with chunks (cr, cc). */
static tg_array *mat(tg_graph *g, size_t r, size_t c, size_t cr, size_t cc,
                     double **x, uint64_t seed)
{
    *x = ta_data(r * c, seed);
    return tg_array_from_buffer(g, TG_DT_FLOAT64, 2, (size_t[]){r, c},
                                (size_t[]){cr, cc}, *x);
}

/* c = a (m x k) b (k x n) in plain loops (long double). */
static void c_matmul(double *c, const double *a, const double *b, size_t m,
                     size_t k, size_t n)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            long double s = 0;
            for (size_t t = 0; t < k; t++)
                s += (long double)a[i * k + t] * b[t * n + j];
            c[i * n + j] = (double)s;
        }
}

static void test_array_matmul_matches_loops(void **state)
{
    (void)state;
    struct {
        size_t m, k, n, cm, ck, cn, ck2;
    } cases[] = {
        {7, 13, 5, 3, 4, 2, 4},   {1, 9, 1, 1, 4, 1, 3},
        {9, 1, 8, 4, 1, 3, 1},    {6, 5, 4, 10, 10, 10, 2},
        {17, 11, 13, 5, 3, 7, 5},
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        tg_graph *g = tg_graph_new();
        double *x, *y;
        size_t m = cases[t].m, k = cases[t].k, n = cases[t].n;
        tg_array *a = mat(g, m, k, cases[t].cm, cases[t].ck, &x, 10 + t);
        /* b's chunks along k may differ from a's: rechunked */
        tg_array *b = mat(g, k, n, cases[t].ck2, cases[t].cn, &y, 20 + t);
        double *w = malloc(m * n * sizeof *w);
        c_matmul(w, x, y, m, k, n);
        tg_array *p = tg_array_matmul(a, b);
        assert_non_null(p);
        for (int s = 0; s < TA_N_SCHED; s++) {
            tg_value *v = ta_compute(p, s);
            ta_assert_shape(v, TG_DT_FLOAT64, 2, (size_t[]){m, n});
            ta_assert_f64(v, w, m * n, 1e-13, 1e-13);
            tg_decref(v);
        }
        free(w);
        free(x);
        free(y);
        tg_graph_free(g);
    }
}

static void test_array_matmul_with_own_transpose_uses_syrk(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    double *x;
    size_t m = 11, k = 9;
    tg_array *a = mat(g, m, k, 3, 4, &x, 30);
    double xt[99], w[121], wt[81];
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++)
            xt[j * m + i] = x[i * k + j];
    c_matmul(w, x, xt, m, k, m);
    c_matmul(wt, xt, x, k, m, k);
    ta_count syrk = {"tg.array.syrk", 0}, gemm = {"tg.array.matmul", 0};
    tg_callbacks c1 = {.task_end = ta_count_end, .ud = &syrk};
    tg_callbacks c2 = {.task_end = ta_count_end, .ud = &gemm};
    int h1 = tg_callbacks_add(&c1), h2 = tg_callbacks_add(&c2);
    tg_array *aat = tg_array_matmul(a, tg_array_transpose(a));
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(aat, s);
        ta_assert_f64(v, w, m * m, 1e-13, 1e-13);
        tg_decref(v);
        if (s == TA_DIST) /* its tasks run, and are counted, elsewhere */
            continue;
        syrk.calls = gemm.calls = 0;
        ta_compute_chunks(aat, s);
        /* 4 x 4 blocks: 4 diagonal syrk, 6 gemm above, 6 transposed */
        assert_int_equal(syrk.calls, 4);
        assert_int_equal(gemm.calls, 6);
    }
    /* transpose(a) a is symmetric too */
    tg_array *ata = tg_array_matmul(tg_array_transpose(a), a);
    tg_value *v = ta_compute(ata, TA_THREADS);
    ta_assert_f64(v, wt, k * k, 1e-13, 1e-13);
    tg_decref(v);
    syrk.calls = gemm.calls = 0;
    ta_compute_chunks(ata, TA_THREADS);
    assert_int_equal(syrk.calls, 3);
    assert_int_equal(gemm.calls, 3);
    /* y = x x^T - mean(x, 0): the talk's expression, fused after syrk */
    tg_array *y = tg_array_sub(aat, tg_array_mean(a, 0));
    assert_null(y); /* (11, 11) - (9,): not broadcastable */
    free(x);
    tg_array *sq = mat(g, 8, 8, 3, 3, &x, 31);
    y = tg_array_sub(tg_array_matmul(sq, tg_array_transpose(sq)),
                     tg_array_mean(sq, 0));
    double xs[64], s8[64];
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < 8; j++)
            xs[j * 8 + i] = x[i * 8 + j];
    c_matmul(s8, x, xs, 8, 8, 8);
    for (size_t j = 0; j < 8; j++) {
        double mean = 0;
        for (size_t i = 0; i < 8; i++)
            mean += x[i * 8 + j];
        for (size_t i = 0; i < 8; i++)
            s8[i * 8 + j] -= mean / 8;
    }
    v = ta_compute(y, TA_LOOPBACK);
    ta_assert_f64(v, s8, 64, 1e-13, 1e-13);
    tg_decref(v);
    assert_int_equal(tg_callbacks_remove(h1), 0);
    assert_int_equal(tg_callbacks_remove(h2), 0);
    tg_graph_free(g);
    free(x);
}

static void test_array_matmul_dtypes_and_errors(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    int64_t ia[6] = {1, 2, 3, 4, 5, 6}, ib[6] = {7, 8, 9, 10, 11, 12};
    tg_array *a = tg_array_from_buffer(g, TG_DT_INT64, 2, (size_t[]){2, 3},
                                       (size_t[]){1, 2}, ia);
    tg_array *b = tg_array_from_buffer(g, TG_DT_INT64, 2, (size_t[]){3, 2},
                                       (size_t[]){2, 1}, ib);
    tg_array *p = tg_array_matmul(a, b);
    assert_int_equal(tg_array_dtype(p), TG_DT_INT64);
    for (int s = 0; s < TA_N_SCHED; s++) {
        tg_value *v = ta_compute(p, s);
        ta_assert_i64(v, (int64_t[]){58, 64, 139, 154}, 4);
        tg_decref(v);
    }
    tg_value *v =
        ta_compute(tg_array_matmul(a, tg_array_transpose(a)), TA_SYNC);
    ta_assert_i64(v, (int64_t[]){14, 32, 32, 77}, 4);
    tg_decref(v);
    /* int x float: float64 */
    double fb[6] = {0.5, 1, 1.5, 2, 2.5, 3};
    tg_array *f =
        tg_array_from_buffer(g, TG_DT_FLOAT64, 2, (size_t[]){3, 2}, NULL, fb);
    v = ta_compute(tg_array_matmul(a, f), TA_LOOPBACK);
    ta_assert_f64(v, (double[]){11, 14, 24.5, 32}, 4, 0, 0);
    tg_decref(v);
    /* errors name the shapes */
    assert_null(tg_array_matmul(a, a));
    assert_non_null(strstr(tg_last_error(), "(2, 3) and (2, 3) are not "
                                            "aligned"));
    size_t n = 3;
    tg_array *vec = tg_array_zeros(g, TG_DT_FLOAT64, 1, &n, NULL);
    assert_null(tg_array_matmul(a, vec));
    assert_non_null(strstr(tg_last_error(), "not both 2-d"));
    tg_graph_free(g);
}

static void test_array_matmul_fails_cleanly_out_of_memory(void **state)
{
    (void)state;
    double *x = ta_data(30, 12);
    long k;
    for (k = 0; k < 5000; k++) {
        tg__oom_inject(k, false);
        tg_graph *g = tg_graph_new();
        tg_array *a = tg_array_from_buffer(
            g, TG_DT_FLOAT64, 2, (size_t[]){6, 5}, (size_t[]){4, 2}, x);
        tg_array *r = tg_array_matmul(a, tg_array_transpose(a));
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

/* The keys of the tasks that ran, in order (sync runs tasks one at a
 * time). */
typedef struct task_keys {
    char keys[64][80];
    int n;
} task_keys;

static void record_key(void *ud, const tg_task_info *info)
{
    task_keys *t = ud;
    if (t->n < 64)
        snprintf(t->keys[t->n++], sizeof t->keys[0], "%s", info->key);
}

/* x x^T computes its diagonal blocks (half the flops each) after every
 * other block, so that a pool's last tasks are short ones; an
 * elementwise result over it keeps that order. */
static void test_array_matmul_symmetric_computes_the_diagonal_last(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    double *x;
    enum { G = 4 }; /* 4 x 4 blocks of 3 x 3 */
    tg_array *a = mat(g, 12, 7, 3, 4, &x, 40);
    tg_array *aat = tg_array_matmul(a, tg_array_transpose(a));
    tg_array *y = tg_array_sub(aat, tg_array_scalar(g, 1));
    tg_array *arrays[2] = {aat, y};
    for (int t = 0; t < 2; t++) {
        task_keys rec = {.n = 0};
        tg_callbacks cb = {.task_end = record_key, .ud = &rec};
        int h = tg_callbacks_add(&cb);
        assert_non_null(tg_array_persist(arrays[t], ta_sched[TA_SYNC]));
        assert_int_equal(tg_callbacks_remove(h), 0);
        assert_true(rec.n >= G * (G + 1) / 2 && rec.n < 64);
        for (size_t i = 0; i < G; i++) {
            const char *diag = tg_key(tg_array_block(arrays[t], i * G + i));
            bool last = false;
            for (int k = rec.n - G; k < rec.n; k++)
                last |= strcmp(rec.keys[k], diag) == 0;
            assert_true(last);
        }
    }
    tg_value *v = ta_compute(y, TA_THREADS);
    double xt[84], w[144];
    for (size_t i = 0; i < 12; i++)
        for (size_t j = 0; j < 7; j++)
            xt[j * 12 + i] = x[i * 7 + j];
    c_matmul(w, x, xt, 12, 7, 12);
    for (size_t i = 0; i < 144; i++)
        w[i] -= 1;
    ta_assert_f64(v, w, 144, 1e-13, 1e-13);
    tg_decref(v);
    free(x);
    tg_graph_free(g);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_matmul_matches_loops),
        cmocka_unit_test(test_array_matmul_with_own_transpose_uses_syrk),
        cmocka_unit_test(
            test_array_matmul_symmetric_computes_the_diagonal_last),
        cmocka_unit_test(test_array_matmul_dtypes_and_errors),
        cmocka_unit_test(test_array_matmul_fails_cleanly_out_of_memory),
    };
    return cmocka_run_group_tests_name("array_linalg", tests, ta_setup,
                                       ta_teardown);
}
