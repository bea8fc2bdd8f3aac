/* tests/test_array.c - n-d array values: accessors, the codec round
 * trip and the decoder's checks. */
#include "array_util.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_value_accessors),
        cmocka_unit_test(test_array_value_round_trips_the_codec),
        cmocka_unit_test(test_array_value_decode_checks_every_length),
    };
    return cmocka_run_group_tests_name("array", tests, ta_setup, ta_teardown);
}
