/* tests/test_codec.c - the wire codec: round trips of every core type and
 * of codec types registered here, pieces referenced rather than copied,
 * holes, and malformed or truncated input and out-of-memory failures that
 * must fail cleanly (TG_EFORMAT or TG_ENOMEM, no crash, no leak).
 */
#include <math.h>

#include "test_util.h"

#include "runtime/alloc_internal.h"
#include "runtime/codec_internal.h"

/* ---- codec types for the tests ---- */

/* test.blob: an id, a nested value and a buffer that travels as a
 * piece. */
typedef struct blob {
    int64_t id;
    tg_value *inner;
    void *data; /* tg__malloc, or NULL when len is 0 */
    size_t len;
} blob;

static void blob_free(void *p)
{
    blob *b = p;
    tg_decref(b->inner);
    tg__free(b->data);
    tg__free(b);
}

static int blob_encode(tg__enc *e, const tg_value *v)
{
    const blob *b = v->u.obj.ptr;
    int rc = tg__enc_u64(e, (uint64_t)b->id);
    if (rc == 0)
        rc = tg__encode(e, b->inner);
    if (rc == 0)
        rc = tg__enc_piece(e, b->data, b->len);
    return rc;
}

static const tg__object_ops blob_ops;

static tg_value *blob_decode(tg__dec *d)
{
    blob *b = tg__calloc(1, sizeof *b);
    uint64_t id;
    if (!b)
        return NULL;
    if (tg__dec_u64(d, &id) != 0 || !(b->inner = tg__decode(d))
        || tg__dec_piece(d, &b->data, &b->len) != 0)
        goto fail;
    b->id = (int64_t)id;
    tg_value *v = tg__object_new(TG_OBJECT, &blob_ops, b);
    if (v)
        return v;
fail:
    blob_free(b);
    return NULL;
}

static const tg__codec_type blob_codec = {"test.blob", TG_OBJECT, blob_encode,
                                          blob_decode};
static const tg__object_ops blob_ops = {"test.blob", blob_free, NULL,
                                        &blob_codec, NULL};

/* A new blob value: steals inner; data is copied. */
static tg_value *blob_new(int64_t id, tg_value *inner, const void *data,
                          size_t len)
{
    blob *b = tg__calloc(1, sizeof *b);
    assert_non_null(b);
    b->id = id;
    b->inner = inner;
    b->len = len;
    if (len) {
        b->data = tg__malloc(len);
        assert_non_null(b->data);
        memcpy(b->data, data, len);
    }
    tg_value *v = tg__object_new(TG_OBJECT, &blob_ops, b);
    assert_non_null(v);
    return v;
}

/* test.box: one nested value, so that codec payloads nest. */
static const tg__object_ops box_ops;

static void box_free(void *p)
{
    tg_decref(p);
}

static int box_encode(tg__enc *e, const tg_value *v)
{
    return tg__encode(e, v->u.obj.ptr);
}

static tg_value *box_decode(tg__dec *d)
{
    tg_value *inner = tg__decode(d), *v = NULL;
    if (inner && !(v = tg__object_new(TG_OBJECT, &box_ops, inner)))
        tg_decref(inner);
    return v;
}

static const tg__codec_type box_codec = {"test.box", TG_OBJECT, box_encode,
                                         box_decode};
static const tg__object_ops box_ops = {"test.box", box_free, NULL, &box_codec,
                                       NULL};

static tg_value *box_new(tg_value *inner)
{
    tg_value *v = tg__object_new(TG_OBJECT, &box_ops, inner);
    assert_non_null(v);
    return v;
}

/* test.greedy reads more than it wrote; test.lazy reads less. */
static const tg__object_ops greedy_ops, lazy_ops;

static int write_one_byte(tg__enc *e, const tg_value *v)
{
    (void)v;
    return tg__enc_u8(e, 7);
}

static tg_value *greedy_decode(tg__dec *d)
{
    uint64_t x;
    if (tg__dec_u64(d, &x) != 0)
        return NULL;
    return tg__object_new(TG_OBJECT, &greedy_ops, NULL);
}

static int write_u64(tg__enc *e, const tg_value *v)
{
    (void)v;
    return tg__enc_u64(e, 7);
}

static tg_value *lazy_decode(tg__dec *d)
{
    uint8_t x;
    if (tg__dec_u8(d, &x) != 0)
        return NULL;
    return tg__object_new(TG_OBJECT, &lazy_ops, NULL);
}

static const tg__codec_type greedy_codec = {"test.greedy", TG_OBJECT,
                                            write_one_byte, greedy_decode};
static const tg__codec_type lazy_codec = {"test.lazy", TG_OBJECT, write_u64,
                                          lazy_decode};
static const tg__object_ops greedy_ops = {"test.greedy", NULL, NULL,
                                          &greedy_codec, NULL};
static const tg__object_ops lazy_ops = {"test.lazy", NULL, NULL, &lazy_codec,
                                        NULL};

/* Has a codec but is never registered: encodes, does not decode. */
static const tg__codec_type stray_codec = {"test.stray", TG_OBJECT,
                                           write_one_byte, greedy_decode};
static const tg__object_ops stray_ops = {"test.stray", NULL, NULL, &stray_codec,
                                         NULL};

static int setup(void **state)
{
    (void)state;
    const tg__codec_type *types[] = {&blob_codec, &box_codec, &greedy_codec,
                                     &lazy_codec};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (tg__codec_register(types[i]) != 0)
            return -1;
    return 0;
}

/* ---- helpers ---- */

static void assert_error_is(const char *code_name, const char *detail)
{
    const char *msg = tg_last_error();
    if (strncmp(msg, code_name, strlen(code_name)) != 0
        || (detail && !strstr(msg, detail)))
        fail_msg("expected '%s' ... '%s', got '%s'", code_name,
                 detail ? detail : "", msg);
}

static void assert_format_error(const char *detail)
{
    assert_error_is(tg_strerror(TG_EFORMAT), detail);
}

/* The flat form of v (asserted to encode). */
static uint8_t *flatten(const tg_value *v, unsigned flags, size_t *len)
{
    tg__enc e;
    uint8_t *flat;
    assert_int_equal(tg__enc_init(&e, flags), 0);
    assert_int_equal(tg__encode(&e, v), 0);
    assert_int_equal(tg__enc_flatten(&e, &flat, len), 0);
    tg__enc_close(&e);
    return flat;
}

/* Decodes a flat form, which must hold exactly one value; NULL (with
 * tg_last_error()) when it does not decode. */
static tg_value *unflatten(const uint8_t *flat, size_t len, unsigned flags)
{
    tg__dec d;
    if (tg__dec_init_flat(&d, flat, len, flags) != 0)
        return NULL;
    tg_value *v = tg__decode(&d);
    if (v && !tg__dec_done(&d)) {
        tg_decref(v);
        v = NULL;
        tg__seterr(TG_EFORMAT, "trailing data");
    }
    tg__dec_close(&d);
    return v;
}

/* True when a and b encode to the same bytes: equality that also covers
 * codec types (which tg_equal compares by identity), float bits and error
 * keys. */
static bool same_encoding(const tg_value *a, const tg_value *b)
{
    size_t la, lb;
    uint8_t *fa = flatten(a, TG__CODEC_HOLES, &la);
    uint8_t *fb = flatten(b, TG__CODEC_HOLES, &lb);
    bool same = la == lb && memcmp(fa, fb, la) == 0;
    tg__free(fa);
    tg__free(fb);
    return same;
}

/* Round trip through tg__codec_roundtrip, asserted to succeed and to give
 * an equal value with the same encoding.  Steals v; returns the copy. */
static tg_value *round_trip(tg_value *v)
{
    assert_non_null(v);
    tg_value *out = tg__codec_roundtrip(v);
    assert_non_null(out);
    if (tg_is_error(out) && !tg_is_error(v))
        fail_msg("round trip failed: %s", tg_error_message(out));
    assert_true(out != v || v->flags & TG__IMMORTAL);
    assert_true(same_encoding(v, out));
    tg_decref(v);
    return out;
}

static uint64_t float_bits(double f)
{
    uint64_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* ---- round trips ---- */

static void test_codec_scalars_round_trip(void **state)
{
    (void)state;
    tg_value *v = round_trip(tg_null());
    assert_ptr_equal(v, tg_null());
    assert_ptr_equal(round_trip(tg_bool(true)), tg_bool(true));
    assert_ptr_equal(round_trip(tg_bool(false)), tg_bool(false));
    const int64_t ints[] = {0, 1, -1, 255, 256, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        v = round_trip(tg_int(ints[i]));
        assert_int_equal(tg_typeof(v), TG_INT);
        assert_true(tg_as_int(v) == ints[i]);
        tg_decref(v);
    }
    uint64_t nan_bits = 0x7ff8000000000123ull;
    double nan;
    memcpy(&nan, &nan_bits, sizeof nan);
    const double floats[] = {0.0,    -0.0,     1.5,       -2.25e300,
                             5e-324, HUGE_VAL, -HUGE_VAL, nan};
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) {
        v = round_trip(tg_float(floats[i]));
        assert_int_equal(tg_typeof(v), TG_FLOAT);
        assert_true(float_bits(tg_as_float(v)) == float_bits(floats[i]));
        tg_decref(v);
    }
}

static void test_codec_integers_are_little_endian(void **state)
{
    (void)state;
    tg__enc e;
    tg_value *v = tg_int(0x0102030405060708);
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, v), 0);
    assert_int_equal(e.len, 1 + 1 + 8);
    assert_int_equal(e.head[0], TG__CODEC_VERSION);
    static const uint8_t le[] = {8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(e.head + 2, le, 8);
    tg__enc_close(&e);
    tg_decref(v);
}

static void test_codec_strings_and_bytes_round_trip(void **state)
{
    (void)state;
    tg_value *v = round_trip(tg_str(""));
    assert_string_equal(tg_as_str(v), "");
    tg_decref(v);

    v = round_trip(tg_str_n("a\0b\0", 4));
    size_t len;
    const void *p = tg_as_bytes(v, &len);
    assert_int_equal(tg_typeof(v), TG_STR);
    assert_int_equal(len, 4);
    assert_memory_equal(p, "a\0b\0", 4);
    tg_decref(v);

    v = round_trip(tg_bytes("\xff", 1));
    p = tg_as_bytes(v, &len);
    assert_int_equal(tg_typeof(v), TG_BYTES);
    assert_int_equal(len, 1);
    assert_int_equal(*(const uint8_t *)p, 0xff);
    tg_decref(v);

    v = round_trip(tg_bytes(NULL, 0));
    assert_int_equal(tg_typeof(v), TG_BYTES);
    tg_decref(v);

    /* at the inline limit, just past it, and large */
    const size_t sizes[] = {TG__CODEC_INLINE_MAX, TG__CODEC_INLINE_MAX + 1,
                            (size_t)1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char *buf = malloc(sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            buf[k] = (char)(k * 131 + 7);
        tg_value *b = tg_bytes(buf, sizes[i]), *s = tg_str_n(buf, sizes[i]);
        tg_value *bc = round_trip(tg_incref(b)), *sc = round_trip(tg_incref(s));
        assert_true(tg_equal(b, bc));
        assert_true(tg_equal(s, sc));
        assert_int_equal(tg_typeof(sc), TG_STR);
        tg_decref(b), tg_decref(s), tg_decref(bc), tg_decref(sc);
        free(buf);
    }
}

static void test_codec_pieces_are_referenced_not_copied(void **state)
{
    (void)state;
    size_t n = (size_t)1 << 20;
    char *buf = calloc(1, n);
    tg_value *small = tg_bytes("x", 1), *big = tg_bytes(buf, n);
    tg_value *text = tg_str_n(buf, TG__CODEC_INLINE_MAX + 1);
    tg_value *l = tg_list(3, small, big, text);
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, l), 0);
    assert_int_equal(e.n_pieces, 2);
    assert_ptr_equal(e.pieces[0].data, tg_as_bytes(big, NULL));
    assert_int_equal(e.pieces[0].len, n);
    assert_ptr_equal(e.pieces[1].data, tg_as_str(text));
    assert_int_equal(e.pieces[1].len, TG__CODEC_INLINE_MAX + 1);
    assert_true(e.len < 100); /* the head holds no piece's bytes */
    assert_int_equal(tg__enc_piece(&e, NULL, 5), TG_EINVAL);
    assert_int_equal(tg__enc_piece(&e, NULL, 0), 0);
    assert_int_equal(e.n_pieces, 3);
    tg__enc_close(&e);
    tg_decref(l);
    free(buf);
}

/* A decoded str or bytes piece becomes the value's own data: the block
 * that arrived is adopted (NUL-terminated, freed with the value), not
 * copied into a new value. */
static void test_codec_decoded_pieces_are_adopted_not_copied(void **state)
{
    (void)state;
    size_t n = (size_t)1 << 20;
    char *buf = malloc(n);
    for (size_t k = 0; k < n; k++)
        buf[k] = (char)('a' + k % 26);
    for (int is_str = 0; is_str < 2; is_str++) {
        tg_value *v = is_str ? tg_str_n(buf, n) : tg_bytes(buf, n);
        tg__enc e;
        assert_int_equal(tg__enc_init(&e, 0), 0);
        assert_int_equal(tg__encode(&e, v), 0);
        assert_int_equal(e.n_pieces, 1);
        void *block = tg__malloc(n);
        memcpy(block, e.pieces[0].data, n);
        size_t block_len = n;
        tg__dec d;
        assert_int_equal(
            tg__dec_init(&d, e.head, e.len, &block, &block_len, 1, 0), 0);
        tg_value *out = tg__decode(&d);
        assert_non_null(out);
        assert_true(tg__dec_done(&d));
        tg__dec_close(&d);
        assert_true(out->flags & TG__OWNS_DATA);
        assert_int_equal(tg_typeof(out), is_str ? TG_STR : TG_BYTES);
        assert_true(tg_equal(v, out));
        size_t len;
        const char *p = tg_as_bytes(out, &len);
        assert_int_equal(len, n);
        assert_int_equal(p[n], '\0');
        tg_decref(out);
        tg__enc_close(&e);
        tg_decref(v);
    }
    free(buf);
}

static void test_codec_lists_round_trip(void **state)
{
    (void)state;
    tg_value *v = round_trip(tg_list(0));
    assert_int_equal(tg_typeof(v), TG_LIST);
    assert_int_equal(tg_list_len(v), 0);
    tg_decref(v);

    char big[TG__CODEC_INLINE_MAX * 2] = {1, 2, 3};
    tg_value *mixed =
        tg_list(10, tg_null(), tg_bool(true), tg_int(-7), tg_float(0.5),
                tg_str("text"), tg_bytes(big, sizeof big), tg_list(0),
                tg_list(2, tg_list(1, tg_int(1)), tg_str_n(big, sizeof big)),
                tg__error_new("boom", "key-1"), tg_bool(false));
    v = round_trip(tg_incref(mixed));
    assert_true(tg_equal(mixed, v));
    assert_string_equal(tg_error_key(tg_list_get(v, 8)), "key-1");
    tg_decref(mixed);
    tg_decref(v);
}

static void test_codec_deep_list_round_trips_without_recursion(void **state)
{
    (void)state;
    size_t depth = 100000;
    tg_value *v = tg_int(42);
    for (size_t i = 0; i < depth; i++)
        v = tg_list(i % 3 == 0 ? 2 : 1, v, tg_null());
    tg_value *out = tg__codec_roundtrip(v);
    assert_int_equal(tg_typeof(out), TG_LIST);
    assert_true(tg_equal(v, out));
    tg_decref(v);
    tg_decref(out);
}

static void test_codec_errors_round_trip_with_and_without_key(void **state)
{
    (void)state;
    tg_value *v = round_trip(tg_error("failed: %d", 3));
    assert_true(tg_is_error(v));
    assert_string_equal(tg_error_message(v), "failed: 3");
    assert_null(tg_error_key(v));
    tg_decref(v);

    v = round_trip(tg__error_new("boom", "inc-0123abcd"));
    assert_string_equal(tg_error_message(v), "boom");
    assert_string_equal(tg_error_key(v), "inc-0123abcd");
    tg_decref(v);

    v = round_trip(tg__error_new("", ""));
    assert_string_equal(tg_error_message(v), "");
    assert_string_equal(tg_error_key(v), "");
    tg_decref(v);
}

static void test_codec_registered_type_round_trips(void **state)
{
    (void)state;
    size_t n = TG__CODEC_INLINE_MAX * 3;
    char *buf = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)i;
    tg_value *inner = tg_list(2, tg_int(5), tg_str("in"));
    tg_value *v = blob_new(-9, tg_incref(inner), buf, n);
    tg_value *l = tg_list(3, tg_int(1), v, blob_new(2, tg_null(), NULL, 0));
    tg_value *out = round_trip(tg_incref(l));
    tg_value *c = tg_list_get(out, 1);
    assert_int_equal(tg_typeof(c), TG_OBJECT);
    const blob *b = c->u.obj.ptr;
    assert_ptr_not_equal(b, v->u.obj.ptr);
    assert_int_equal(b->id, -9);
    assert_true(tg_equal(b->inner, inner));
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, buf, n);
    const blob *empty = tg_list_get(out, 2)->u.obj.ptr;
    assert_null(empty->data);
    assert_int_equal(empty->len, 0);
    assert_ptr_equal(tg__codec_find("test.blob", 9), &blob_codec);
    assert_null(tg__codec_find("test.blo", 8));
    tg_decref(out);
    tg_decref(l);
    tg_decref(inner);
    free(buf);
}

static void test_codec_register_rejects_clashes_and_bad_types(void **state)
{
    (void)state;
    assert_int_equal(tg__codec_register(&blob_codec), 0); /* again: fine */
    tg__codec_type other = blob_codec;
    assert_int_equal(tg__codec_register(&other), TG_EEXIST);
    assert_non_null(strstr(tg_last_error(), "test.blob"));
    other.name = "test.int";
    other.type = TG_INT;
    assert_int_equal(tg__codec_register(&other), TG_EINVAL);
    other.type = TG_FRAME;
    other.decode = NULL;
    assert_int_equal(tg__codec_register(&other), TG_EINVAL);
    other.name = "";
    assert_int_equal(tg__codec_register(&other), TG_EINVAL);
    assert_int_equal(tg__codec_register(NULL), TG_EINVAL);
    assert_null(tg__codec_find("test.int", 8));
}

static void test_codec_same_compares_encodings(void **state)
{
    (void)state;
    tg_value *a = blob_new(1, tg_int(2), "abc", 3);
    tg_value *b = blob_new(1, tg_int(2), "abc", 3);
    tg_value *c = blob_new(1, tg_int(2), "abd", 3);
    tg_value *d = blob_new(1, tg_int(3), "abc", 3);
    assert_true(tg__codec_same(a, b));
    assert_false(tg__codec_same(a, c)); /* pieces differ */
    assert_false(tg__codec_same(a, d)); /* heads differ */
    int x;
    tg_value *o = tg_object(&x, NULL, "no.codec");
    assert_false(tg__codec_same(o, o)); /* cannot be encoded */
    assert_false(tg__codec_same(a, o));
    tg_value *i = tg_int(1);
    assert_false(tg__codec_same(i, i)); /* not object-like */
    /* n-d arrays are object-like types that may register a codec (the
     * registry borrows the struct for the life of the process) */
    static tg__codec_type nd;
    nd = blob_codec;
    nd.name = "test.ndarray";
    nd.type = TG_NDARRAY;
    assert_int_equal(tg__codec_register(&nd), 0);
    tg_decref(i);
    tg_decref(o);
    tg_decref(d);
    tg_decref(c);
    tg_decref(b);
    tg_decref(a);
}

/* ---- values that cannot be encoded ---- */

static void test_codec_object_without_codec_names_its_type(void **state)
{
    (void)state;
    int x;
    tg_value *obj = tg_object(&x, NULL, "my.thing");
    tg_value *l = tg_list(2, tg_int(1), obj);
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, l), TG_EINVAL);
    assert_error_is(tg_strerror(TG_EINVAL), "cannot encode object of type "
                                            "'my.thing': no codec registered");
    assert_int_equal(e.len, 1); /* the encoder is as it was */
    tg__enc_close(&e);

    tg_value *err = tg__codec_roundtrip(l);
    assert_true(tg_is_error(err));
    assert_non_null(strstr(tg_error_message(err), "'my.thing'"));
    tg_decref(err);
    tg_decref(l);

    static const tg__object_ops bare = {"bare.type", NULL, NULL, NULL, NULL};
    tg_value *v = tg__object_new(TG_OBJECT, &bare, NULL);
    err = tg__codec_roundtrip(v);
    assert_non_null(strstr(tg_error_message(err), "'bare.type'"));
    tg_decref(err);
    tg_decref(v);
}

static void test_codec_failed_encode_leaves_encoder_unchanged(void **state)
{
    (void)state;
    char big[TG__CODEC_INLINE_MAX + 1] = {0};
    tg_value *ok = tg_int(5);
    tg_value *bad = tg_list(2, tg_bytes(big, sizeof big),
                            box_new(tg_object(NULL, NULL, "nested.thing")));
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, ok), 0);
    size_t len = e.len;
    assert_int_equal(tg__encode(&e, bad), TG_EINVAL);
    assert_error_is(tg_strerror(TG_EINVAL), "'nested.thing'");
    assert_non_null(strstr(tg_last_error(), "in codec type 'test.box'"));
    assert_int_equal(e.len, len);
    assert_int_equal(e.n_pieces, 0);
    uint8_t *flat;
    size_t n;
    assert_int_equal(tg__enc_flatten(&e, &flat, &n), 0);
    tg_value *v = unflatten(flat, n, 0);
    assert_true(tg_equal(v, ok));
    tg_decref(v);
    tg__free(flat);
    tg__enc_close(&e);
    tg_decref(ok);
    tg_decref(bad);
}

static tg_value *inc(tg_value *const *a, size_t n, void *ctx)
{
    return tt_inc(a, n, ctx);
}

static void test_codec_delayed_value_fails(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *d = TG_DELAYED(g, inc, tg_int(1));
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, TG__CODEC_HOLES), 0);
    assert_int_equal(tg__encode(&e, d), TG_EINVAL);
    assert_error_is(tg_strerror(TG_EINVAL), "delayed");
    tg__enc_close(&e);
    tg_value *err = tg__codec_roundtrip(d);
    assert_true(tg_is_error(err));
    assert_non_null(strstr(tg_error_message(err), "delayed"));
    tg_decref(err);
    tg_graph_free(g);
}

static void test_codec_hole_needs_the_holes_flag(void **state)
{
    (void)state;
    tg_value *hole = tg__codec_hole();
    assert_int_equal(tg_typeof(hole), TG_DELAYED);
    tg_value *l = tg_list(2, tg_int(1), hole);
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, l), TG_EINVAL);
    assert_error_is(tg_strerror(TG_EINVAL), "hole");
    tg__enc_close(&e);

    size_t len;
    uint8_t *flat = flatten(l, TG__CODEC_HOLES, &len);
    assert_null(unflatten(flat, len, 0));
    assert_format_error("hole");
    tg_value *v = unflatten(flat, len, TG__CODEC_HOLES);
    assert_non_null(v);
    assert_ptr_equal(tg_list_get(v, 1), hole);
    assert_true(tg_equal(v, l));
    tg_decref(v);
    tg__free(flat);
    tg_decref(l);
}

/* ---- malformed input ---- */

/* A value of every kind, with pieces, for the truncation and OOM tests. */
static tg_value *sample(void)
{
    char big[TG__CODEC_INLINE_MAX + 100];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    return tg_list(
        8, tg_int(INT64_MIN), tg_float(-0.0), tg_str_n(big, sizeof big),
        tg_list(2, tg_list(1, tg_bytes(big, 3)), tg__error_new("e", "k")),
        blob_new(3, tg_list(2, tg_bool(true), tg_bytes(big, sizeof big)), big,
                 sizeof big),
        box_new(tg_str("boxed")), tg_null(), tg_str("end"));
}

static void test_codec_every_truncation_fails_cleanly(void **state)
{
    (void)state;
    tg_value *v = sample();
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, v), 0);
    uint8_t *flat;
    size_t len;
    assert_int_equal(tg__enc_flatten(&e, &flat, &len), 0);

    /* every prefix of the flat form fails its frame table */
    for (size_t k = 0; k < len; k++) {
        tg__dec d;
        assert_int_equal(tg__dec_init_flat(&d, flat, k, 0), TG_EFORMAT);
        tg__dec_close(&d);
    }
    /* every prefix of the head fails to decode (pieces intact) */
    for (size_t k = 0; k < e.len; k++) {
        void *blocks[8];
        size_t lens[8];
        assert_true(e.n_pieces <= 8);
        for (size_t i = 0; i < e.n_pieces; i++) {
            lens[i] = e.pieces[i].len;
            blocks[i] = tg__malloc(lens[i]);
            memcpy(blocks[i], e.pieces[i].data, lens[i]);
        }
        tg__dec d;
        int rc = tg__dec_init(&d, e.head, k, blocks, lens, e.n_pieces, 0);
        if (k == 0) {
            assert_int_equal(rc, TG_EFORMAT);
        } else {
            assert_int_equal(rc, 0);
            assert_null(tg__decode(&d));
            assert_format_error(NULL);
        }
        tg__dec_close(&d);
    }
    /* and the whole of it decodes */
    tg_value *out = unflatten(flat, len, 0);
    assert_non_null(out);
    assert_true(same_encoding(v, out));
    tg_decref(out);
    tg__free(flat);
    tg__enc_close(&e);
    tg_decref(v);
}

static void test_codec_bad_version_or_magic_fails(void **state)
{
    (void)state;
    tg_value *v = tg_int(1);
    size_t len;
    uint8_t *flat = flatten(v, 0, &len);
    tg__dec d;
    flat[0] = 'X';
    assert_int_equal(tg__dec_init_flat(&d, flat, len, 0), TG_EFORMAT);
    assert_format_error("TGV");
    flat[0] = 'T';
    flat[3] = TG__CODEC_VERSION + 1;
    assert_int_equal(tg__dec_init_flat(&d, flat, len, 0), TG_EFORMAT);
    assert_format_error("version");
    flat[3] = TG__CODEC_VERSION;
    flat[16] = TG__CODEC_VERSION + 1; /* the head's own version byte */
    assert_int_equal(tg__dec_init_flat(&d, flat, len, 0), TG_EFORMAT);
    assert_format_error("version");
    assert_int_equal(tg__dec_init(&d, flat + 16, len - 16, NULL, NULL, 0, 0),
                     TG_EFORMAT);
    tg__free(flat);
    tg_decref(v);
}

/* Decodes a hand-made head, which must be rejected; with no_alloc,
 * with every allocation failing: it must be rejected before anything is
 * allocated. */
static void assert_head_rejected(const uint8_t *head, size_t len, bool no_alloc,
                                 const char *detail)
{
    tg__dec d;
    assert_int_equal(tg__dec_init(&d, head, len, NULL, NULL, 0, 0), 0);
    if (no_alloc)
        tg__oom_inject(0, true);
    tg_value *v = tg__decode(&d);
    tg__oom_inject(-1, false);
    assert_null(v);
    assert_format_error(detail);
    tg__dec_close(&d);
}

/* The head of v, copied into buf (at most cap bytes). */
static size_t head_of(const tg_value *v, uint8_t *buf, size_t cap)
{
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, v), 0);
    assert_true(e.len <= cap);
    size_t len = e.len;
    memcpy(buf, e.head, len);
    tg__enc_close(&e);
    return len;
}

static void put_le64(uint8_t *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static void test_codec_huge_counts_fail_before_allocating(void **state)
{
    (void)state;
    uint8_t head[64];
    /* a list of 2^60 items in a 20-byte head: [version, tag, n, ...] */
    tg_value *v = tg_list(1, tg_int(1));
    size_t len = head_of(v, head, sizeof head);
    tg_decref(v);
    put_le64(head + 2, (uint64_t)1 << 60);
    assert_head_rejected(head, len, true, "list length");
    put_le64(head + 2, 10); /* 10 items, 9 bytes left */
    assert_head_rejected(head, len, true, "list length");

    v = tg_str("abc");
    len = head_of(v, head, sizeof head);
    tg_decref(v);
    put_le64(head + 2, (uint64_t)1 << 60);
    assert_head_rejected(head, len, true, "string length");
    put_le64(head + 2, UINT64_MAX);
    assert_head_rejected(head, len, true, "string length");
    put_le64(head + 2, 4);
    assert_head_rejected(head, len, true, "at head offset 2");

    /* the flat form: absurd piece counts and lengths */
    v = tg_int(3);
    size_t flen;
    uint8_t *flat = flatten(v, 0, &flen);
    tg_decref(v);
    tg__dec d;
    tg__oom_inject(0, true);
    flat[4] = flat[5] = flat[6] = flat[7] = 0xff; /* 2^32 - 1 pieces */
    assert_int_equal(tg__dec_init_flat(&d, flat, flen, 0), TG_EFORMAT);
    flat[4] = flat[5] = flat[6] = flat[7] = 0;
    put_le64(flat + 8, UINT64_MAX); /* head length */
    assert_int_equal(tg__dec_init_flat(&d, flat, flen, 0), TG_EFORMAT);
    tg__oom_inject(-1, false);
    assert_format_error("head of");
    tg__free(flat);
}

static void test_codec_unknown_tag_or_type_fails(void **state)
{
    (void)state;
    uint8_t head[64];
    tg_value *v = tg_list(1, tg_null());
    size_t len = head_of(v, head, sizeof head);
    tg_decref(v);
    head[10] = 0xee;
    assert_head_rejected(head, len, false, "unknown tag 238 at head offset 10");

    v = tg__object_new(TG_OBJECT, &stray_ops, NULL);
    size_t flen;
    uint8_t *flat = flatten(v, 0, &flen);
    assert_null(unflatten(flat, flen, 0));
    assert_format_error("unknown codec type 'test.stray'");
    tg__free(flat);
    tg_decref(v);
}

static void test_codec_hook_must_read_exactly_its_payload(void **state)
{
    (void)state;
    tg_value *v = tg_list(2, tg__object_new(TG_OBJECT, &greedy_ops, NULL),
                          tg_int(1234567));
    size_t len;
    uint8_t *flat = flatten(v, 0, &len);
    /* the u64 the hook reads would end inside the next value: the
     * decoder stops it at its payload's end */
    assert_null(unflatten(flat, len, 0));
    assert_format_error("(in codec type 'test.greedy' at head offset");
    tg__free(flat);
    tg_decref(v);

    v = tg__object_new(TG_OBJECT, &lazy_ops, NULL);
    flat = flatten(v, 0, &len);
    assert_null(unflatten(flat, len, 0));
    assert_format_error("codec type 'test.lazy' at head offset");
    assert_non_null(strstr(tg_last_error(), "left 7 of its 8 bytes"));
    tg__free(flat);
    tg_decref(v);
}

static void test_codec_nested_codec_payloads_are_capped(void **state)
{
    (void)state;
    tg_value *v = tg_int(1);
    for (int i = 0; i < 10; i++)
        v = box_new(v);
    tg_decref(round_trip(v));

    v = tg_int(1);
    for (int i = 0; i < 100; i++)
        v = box_new(v);
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, v), TG_EINVAL);
    assert_error_is(tg_strerror(TG_EINVAL), "nested more than");
    tg__enc_close(&e);
    tg_decref(v);

    /* A head nesting boxes 100 deep, built by hand from the head of one
     * box around null: [version] prefix [null], where prefix ends with
     * the payload's length. */
    uint8_t one[64];
    v = box_new(tg_null());
    size_t one_len = head_of(v, one, sizeof one);
    tg_decref(v);
    size_t prefix = one_len - 2, depth = 100;
    uint8_t *head = calloc(1, 1 + depth * prefix + 1);
    size_t inner = 1; /* the null */
    head[1 + depth * prefix] = one[one_len - 1];
    for (size_t i = depth; i-- > 0;) {
        uint8_t *p = head + 1 + i * prefix;
        memcpy(p, one + 1, prefix);
        put_le64(p + prefix - 8, inner);
        inner += prefix;
    }
    head[0] = TG__CODEC_VERSION;
    tg__dec d;
    assert_int_equal(tg__dec_init(&d, head, 1 + inner, NULL, NULL, 0, 0), 0);
    assert_null(tg__decode(&d));
    assert_format_error("nested more than 64 deep");
    tg__dec_close(&d);
    free(head);
}

static void test_codec_pieces_must_match_the_head(void **state)
{
    (void)state;
    char a[TG__CODEC_INLINE_MAX + 1] = {0}, b[TG__CODEC_INLINE_MAX + 2] = {0};
    tg_value *v = tg_list(2, tg_bytes(a, sizeof a), tg_bytes(b, sizeof b));
    size_t len;
    uint8_t *flat = flatten(v, 0, &len);
    tg_value *out = unflatten(flat, len, 0);
    assert_true(tg_equal(v, out));
    tg_decref(out);

    /* swapped piece lengths: the total still adds up */
    uint8_t saved[8];
    memcpy(saved, flat + 16, 8);
    memcpy(flat + 16, flat + 24, 8);
    memcpy(flat + 24, saved, 8);
    assert_null(unflatten(flat, len, 0));
    assert_format_error("piece 0 has 4098 bytes, but the head");

    /* the head names pieces that are not there */
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, v), 0);
    tg__dec d;
    assert_int_equal(tg__dec_init(&d, e.head, e.len, NULL, NULL, 0, 0), 0);
    assert_null(tg__decode(&d));
    assert_format_error("piece 0 named at head offset");
    tg__dec_close(&d);
    void *block = tg__malloc(sizeof a);
    size_t block_len = sizeof a;
    assert_int_equal(tg__dec_init(&d, e.head, e.len, &block, &block_len, 1, 0),
                     0);
    assert_null(tg__decode(&d));
    assert_format_error("piece 1 named at head offset");
    tg__dec_close(&d);
    tg__enc_close(&e);
    tg__free(flat);
    tg_decref(v);
}

static void test_codec_trailing_data_is_detected(void **state)
{
    (void)state;
    tg_value *one = tg_int(1), *two = tg_str("two");
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, 0), 0);
    assert_int_equal(tg__encode(&e, one), 0);
    assert_int_equal(tg__encode(&e, two), 0);
    uint8_t *flat;
    size_t len;
    assert_int_equal(tg__enc_flatten(&e, &flat, &len), 0);
    tg__dec d;
    assert_int_equal(tg__dec_init_flat(&d, flat, len, 0), 0);
    tg_value *v = tg__decode(&d);
    assert_true(tg_equal(v, one));
    assert_false(tg__dec_done(&d));
    tg_decref(v);
    v = tg__decode(&d);
    assert_true(tg_equal(v, two));
    assert_true(tg__dec_done(&d));
    tg_decref(v);
    assert_null(tg__decode(&d)); /* nothing left */
    assert_format_error("tag");
    tg__dec_close(&d);
    tg__free(flat);
    tg__enc_close(&e);

    /* a piece nobody takes */
    void *block = tg__malloc(3);
    size_t block_len = 3;
    uint8_t head[16];
    size_t hlen = head_of(one, head, sizeof head);
    assert_int_equal(tg__dec_init(&d, head, hlen, &block, &block_len, 1, 0), 0);
    v = tg__decode(&d);
    assert_true(tg_equal(v, one));
    assert_false(tg__dec_done(&d));
    tg_decref(v);
    tg__dec_close(&d);

    /* garbage after the value in the flat form's head */
    flat = flatten(one, 0, &len);
    uint8_t *longer = tg__malloc(len + 1);
    memcpy(longer, flat, len);
    longer[len] = 0;
    put_le64(longer + 8, 1 + 9 + 1);
    assert_null(unflatten(longer, len + 1, 0));
    assert_format_error("trailing");
    tg__free(longer);
    tg__free(flat);
    tg_decref(one);
    tg_decref(two);
}

static void test_codec_error_with_nul_inside_fails(void **state)
{
    (void)state;
    tg_value *v = tg__error_new("abc", NULL);
    uint8_t head[64];
    size_t len = head_of(v, head, sizeof head);
    tg_decref(v);
    head[2 + 8 + 1] = '\0'; /* "a\0c" */
    assert_head_rejected(head, len, false, "holds a NUL");
    head[2 + 8 + 1] = 'b';
    head[2 + 8 + 3] = 2; /* the key flag */
    assert_head_rejected(head, len, false, "error key flag 2");
}

/* ---- out of memory ---- */

/* Encodes, flattens and decodes v with allocation k failing; true when
 * nothing failed (the copy then encodes the same as v). */
static bool codec_at(const tg_value *v, long k)
{
    tg__enc e;
    tg__dec d = {0};
    uint8_t *flat = NULL;
    size_t len;
    tg_value *out = NULL;
    tg__oom_inject(k, false);
    bool ok = tg__enc_init(&e, 0) == 0;
    ok = ok && tg__encode(&e, v) == 0 && tg__enc_flatten(&e, &flat, &len) == 0;
    tg__enc_close(&e);
    ok = ok && tg__dec_init_flat(&d, flat, len, 0) == 0
         && (out = tg__decode(&d)) != NULL;
    long failed = tg__oom_failures();
    tg__oom_inject(-1, false);
    if (failed == 0) {
        assert_true(ok && tg__dec_done(&d));
        assert_true(same_encoding(v, out));
    } else if (!ok) {
        assert_error_is(tg_strerror(TG_ENOMEM), NULL);
    }
    tg_decref(out);
    tg__dec_close(&d);
    tg__free(flat);
    return failed == 0;
}

static void test_codec_fails_cleanly_out_of_memory(void **state)
{
    (void)state;
    tg_value *v = tg_list(2, sample(), tg_list(1, tg_list(1, sample())));
    long k;
    for (k = 0; k < 2000; k++)
        if (codec_at(v, k))
            break;
    assert_true(k > 20 && k < 2000);
    tg_decref(v);

    /* the round trip reports it as an error value (or NULL when even
     * that cannot be allocated) */
    v = sample();
    for (k = 0; k < 2000; k++) {
        tg__oom_inject(k, false);
        tg_value *out = tg__codec_roundtrip(v);
        long failed = tg__oom_failures();
        tg__oom_inject(-1, false);
        if (failed == 0)
            assert_true(same_encoding(v, out));
        tg_decref(out);
        if (failed == 0)
            break;
    }
    assert_true(k < 2000);
    tg_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_scalars_round_trip),
        cmocka_unit_test(test_codec_integers_are_little_endian),
        cmocka_unit_test(test_codec_strings_and_bytes_round_trip),
        cmocka_unit_test(test_codec_pieces_are_referenced_not_copied),
        cmocka_unit_test(test_codec_decoded_pieces_are_adopted_not_copied),
        cmocka_unit_test(test_codec_lists_round_trip),
        cmocka_unit_test(test_codec_deep_list_round_trips_without_recursion),
        cmocka_unit_test(test_codec_errors_round_trip_with_and_without_key),
        cmocka_unit_test(test_codec_registered_type_round_trips),
        cmocka_unit_test(test_codec_register_rejects_clashes_and_bad_types),
        cmocka_unit_test(test_codec_object_without_codec_names_its_type),
        cmocka_unit_test(test_codec_failed_encode_leaves_encoder_unchanged),
        cmocka_unit_test(test_codec_delayed_value_fails),
        cmocka_unit_test(test_codec_hole_needs_the_holes_flag),
        cmocka_unit_test(test_codec_every_truncation_fails_cleanly),
        cmocka_unit_test(test_codec_bad_version_or_magic_fails),
        cmocka_unit_test(test_codec_huge_counts_fail_before_allocating),
        cmocka_unit_test(test_codec_unknown_tag_or_type_fails),
        cmocka_unit_test(test_codec_hook_must_read_exactly_its_payload),
        cmocka_unit_test(test_codec_nested_codec_payloads_are_capped),
        cmocka_unit_test(test_codec_pieces_must_match_the_head),
        cmocka_unit_test(test_codec_trailing_data_is_detected),
        cmocka_unit_test(test_codec_error_with_nul_inside_fails),
        cmocka_unit_test(test_codec_fails_cleanly_out_of_memory),
        cmocka_unit_test(test_codec_same_compares_encodings),
    };
    return cmocka_run_group_tests_name("codec", tests, setup, NULL);
}
