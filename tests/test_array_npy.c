/* tests/test_array_npy.c - .npy files: the ones NumPy wrote (in
 * tests/data/array, see make_npy.py there) read with any chunking, round
 * trips through tg_array_to_npy, a byte-for-byte match with NumPy's own
 * file, and malformed or truncated files refused with a clear error.
 */
#include <sys/stat.h>

#include "array_util.h"

#include "runtime/alloc_internal.h"

static char dir[64];

static const char *data(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/array/%s", TT_DATA_DIR, name);
    return path;
}

static const char *tmp(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void test_array_npy_reads_what_numpy_wrote(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t chunkings[3][2] = {{1, 1}, {2, 3}, {0, 0}};
    for (int c = 0; c < 3; c++) {
        tg_array *f = tg_array_from_npy(g, data("f8_3x4.npy"), chunkings[c]);
        tg_array *i =
            tg_array_from_npy(g, data("i8_fortran_3x4.npy"), chunkings[c]);
        tg_array *b = tg_array_from_npy(g, data("b1_2x3.npy"), chunkings[c]);
        assert_non_null(f);
        assert_non_null(i);
        assert_non_null(b);
        for (int s = 0; s < TA_N_SCHED; s++) {
            double wf[12];
            int64_t wi[12];
            for (int k = 0; k < 12; k++) {
                wf[k] = 0.5 * k;
                wi[k] = k - 5; /* the same C-order values, stored by column */
            }
            tg_value *v = ta_compute(f, s);
            ta_assert_shape(v, TG_DT_FLOAT64, 2, (size_t[]){3, 4});
            ta_assert_f64(v, wf, 12, 0, 0);
            tg_decref(v);
            v = ta_compute(i, s);
            ta_assert_shape(v, TG_DT_INT64, 2, (size_t[]){3, 4});
            ta_assert_i64(v, wi, 12);
            tg_decref(v);
            v = ta_compute(b, s);
            ta_assert_shape(v, TG_DT_BOOL, 2, (size_t[]){2, 3});
            assert_memory_equal(tg_ndarray_bool(v),
                                ((uint8_t[]){1, 0, 1, 0, 0, 1}), 6);
            tg_decref(v);
        }
    }
    tg_value *v = ta_compute(
        tg_array_from_npy(g, data("f4_big_5.npy"), (size_t[]){2}), TA_LOOPBACK);
    ta_assert_f64(v, (double[]){1.5, -2, 3.25, 0, 1e10}, 5, 0, 0);
    tg_decref(v);
    v = ta_compute(tg_array_from_npy(g, data("i4_scalar.npy"), NULL),
                   TA_THREADS);
    assert_int_equal(tg_ndarray_ndim(v), 0);
    ta_assert_i64(v, (int64_t[]){-7}, 1);
    tg_decref(v);
    tg_graph_free(g);
}

/* The bytes of a file (malloc'd) and its length. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void test_array_npy_writes_what_numpy_writes(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    double d[12];
    for (int k = 0; k < 12; k++)
        d[k] = 0.5 * k;
    tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, 2, (size_t[]){3, 4},
                                       (size_t[]){2, 3}, d);
    assert_int_equal(tg_array_to_npy(a, tmp("f8.npy"), ta_sched[TA_THREADS]),
                     0);
    size_t n1, n2;
    uint8_t *ours = slurp(tmp("f8.npy"), &n1);
    uint8_t *theirs = slurp(data("f8_3x4.npy"), &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(ours, theirs, n1);
    free(ours);
    free(theirs);
    tg_graph_free(g);
}

static void test_array_npy_round_trips_any_chunking(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t shape[3] = {5, 6, 7};
    double *x = ta_data(210, 60);
    tg_array *a = tg_array_from_buffer(g, TG_DT_FLOAT64, 3, shape,
                                       (size_t[]){2, 4, 3}, x);
    int64_t iv[10];
    for (int k = 0; k < 10; k++)
        iv[k] = (int64_t)k * 1000000007 - 3;
    size_t ten = 10, empty[2] = {0, 4};
    tg_array *ai =
        tg_array_from_buffer(g, TG_DT_INT64, 1, &ten, (size_t[]){3}, iv);
    tg_array *ae = tg_array_zeros(g, TG_DT_FLOAT64, 2, empty, NULL);
    for (int s = 0; s < TA_N_SCHED; s++) {
        assert_int_equal(tg_array_to_npy(a, tmp("a.npy"), ta_sched[s]), 0);
        assert_int_equal(tg_array_to_npy(ai, tmp("i.npy"), ta_sched[s]), 0);
        assert_int_equal(tg_array_to_npy(ae, tmp("e.npy"), ta_sched[s]), 0);
        tg_value *v = ta_compute(
            tg_array_from_npy(g, tmp("a.npy"), (size_t[]){5, 1, 4}), s);
        ta_assert_shape(v, TG_DT_FLOAT64, 3, shape);
        ta_assert_f64(v, x, 210, 0, 0);
        tg_decref(v);
        v = ta_compute(tg_array_from_npy(g, tmp("i.npy"), (size_t[]){4}), s);
        ta_assert_i64(v, iv, 10);
        tg_decref(v);
        v = ta_compute(tg_array_from_npy(g, tmp("e.npy"), NULL), s);
        ta_assert_shape(v, TG_DT_FLOAT64, 2, empty);
        tg_decref(v);
    }
    /* a sum straight from the file */
    tg_value *v = ta_compute(
        tg_array_sum(tg_array_from_npy(g, tmp("a.npy"), (size_t[]){3, 3, 3}),
                     TG_AXIS_ALL),
        TA_LOOPBACK);
    assert_true(ta_close(tg_ndarray_float64(v)[0], ta_fsum(x, 210), 1e-15, 0));
    tg_decref(v);
    tg_graph_free(g);
    free(x);
}

/* Writes bytes to tmp(name). */
static const char *put(const char *name, const void *bytes, size_t len)
{
    const char *path = tmp(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    return path;
}

/* A v1.0 file with this header text (padded) and n data bytes. */
static const char *npy_with(const char *name, const char *dict, size_t n)
{
    uint8_t buf[512] = "\x93NUMPY\x01\x00";
    size_t len = strlen(dict);
    buf[8] = (uint8_t)len;
    buf[9] = 0;
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, 0x11, n);
    return put(name, buf, 10 + len + n);
}

static void expect_refused(tg_graph *g, const char *path, const char *part)
{
    assert_null(tg_array_from_npy(g, path, NULL));
    if (!strstr(tg_last_error(), part))
        fail_msg("'%s' lacks '%s'", tg_last_error(), part);
}

static void test_array_npy_refuses_malformed_files(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    const char *ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), "
                     "}\n";
    assert_non_null(tg_array_from_npy(g, npy_with("ok.npy", ok, 16), NULL));
    expect_refused(g, npy_with("short.npy", ok, 15), "shorter than");
    expect_refused(g, put("magic.npy", "\x93NUMPX\x01\x00\x00\x00", 10),
                   "bad magic");
    expect_refused(g, put("tiny.npy", "\x93NU", 3), "tiny.npy");
    expect_refused(g, put("version.npy", "\x93NUMPY\x09\x00\x00\x00", 10),
                   "version");
    expect_refused(g, put("hlen.npy", "\x93NUMPY\x01\x00\xff\x00{", 11),
                   "longer than the file");
    expect_refused(g,
                   npy_with("descr.npy",
                            "{'descr': '<c16', 'fortran_order': False, "
                            "'shape': (2,), }",
                            32),
                   "unsupported descr");
    expect_refused(g,
                   npy_with("shape.npy",
                            "{'descr': '<f8', 'fortran_order': False, "
                            "'shape': (2, x), }",
                            16),
                   "not a tuple");
    expect_refused(
        g, npy_with("key.npy", "{'descr': '<f8', 'fortran_order': False}", 16),
        "lacks descr");
    expect_refused(g,
                   npy_with("order.npy",
                            "{'descr': '<f8', 'fortran_order': Maybe, "
                            "'shape': (2,), }",
                            16),
                   "True or False");
    expect_refused(g,
                   npy_with("huge.npy",
                            "{'descr': '<f8', 'fortran_order': False, "
                            "'shape': (99999999999, 99999999999), }",
                            16),
                   "shorter than");
    assert_null(tg_array_from_npy(g, tmp("none.npy"), NULL));
    assert_int_equal(tg__last_code(0), TG_ENOENT);
    /* truncated after the graph was built: the task says so */
    tg_array *a = tg_array_from_npy(g, npy_with("later.npy", ok, 16), NULL);
    assert_non_null(a);
    assert_int_equal(truncate(tmp("later.npy"), 20), 0);
    ta_assert_fails(a, TA_SYNC, "shorter than its header says");
    assert_int_equal(tg_array_to_npy(a, "/nonexistent/dir/x.npy", NULL),
                     TG_EIO);
    tg_graph_free(g);
}

static int make_dir(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/tg-array-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return ta_setup(state);
}

static int remove_dir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return ta_teardown(state);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_npy_reads_what_numpy_wrote),
        cmocka_unit_test(test_array_npy_writes_what_numpy_writes),
        cmocka_unit_test(test_array_npy_round_trips_any_chunking),
        cmocka_unit_test(test_array_npy_refuses_malformed_files),
    };
    return cmocka_run_group_tests_name("array_npy", tests, make_dir,
                                       remove_dir);
}
