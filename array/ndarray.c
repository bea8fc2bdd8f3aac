/* array/ndarray.c - the n-d array value (TG_NDARRAY): layout, accessors,
 * content token, the "tg.ndarray" codec type, and the load-time
 * registration of every array task.
 *
 * A value owns a tg__nd whose data is released through a function
 * pointer: the large-block allocator's for arrays the library computes,
 * tg__free for a piece adopted from the codec, or the caller's for
 * tg_ndarray_wrap.  Its token hashes dtype, shape and every byte, so
 * identical literal chunks dedupe.  On the wire an array is its dtype,
 * ndim and extents in the head and its data as one piece, which the
 * decoder adopts without a copy after checking that the extents'
 * product times the item size is exactly the piece's length.
 */
#include <stdio.h>

#include "array_internal.h"
#include "runtime/codec_internal.h"
#include "runtime/hash_internal.h"

/* An empty array points its data here, so that data is never NULL. */
static const uint64_t empty_data[1];

bool tg__nd_count(size_t n, const size_t *shape, size_t itemsize, size_t *out)
{
    size_t c = 1;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] && c > SIZE_MAX / shape[i])
            return false;
        c *= shape[i];
    }
    if (itemsize && c > (SIZE_MAX / 2) / itemsize)
        return false;
    *out = c;
    return true;
}

static void big_release(void *data, void *ctx)
{
    (void)ctx;
    tg__big_free(data);
}

static void plain_release(void *data, void *ctx)
{
    (void)ctx;
    tg__free(data);
}

/* The struct with room for ndim extents, data unset.  NULL on failure. */
static tg__nd *nd_header(tg_dtype dtype, size_t ndim, const size_t *shape)
{
    size_t size, item = tg__nd_itemsize(dtype);
    if (!item)
        return tg__seterr_null(TG_EINVAL,
                               "ndarray: dtype %s is not an "
                               "array dtype (float64, int64 or "
                               "bool)",
                               tg_dtype_name(dtype));
    if (ndim > TG__ND_MAX)
        return tg__seterr_null(TG_EINVAL,
                               "ndarray: %zu dimensions (at most %d)", ndim,
                               TG__ND_MAX);
    if (ndim && !shape)
        return tg__seterr_null(TG_EINVAL, "ndarray: NULL shape");
    if (!tg__nd_count(ndim, shape, item, &size))
        return tg__seterr_null(TG_EINVAL, "ndarray: size overflows");
    tg__nd *a = tg__malloc(sizeof *a + ndim * sizeof(size_t));
    if (!a)
        return NULL;
    a->dtype = dtype;
    a->ndim = ndim;
    a->size = size;
    a->data = (void *)empty_data;
    a->release = NULL;
    a->release_ctx = NULL;
    if (ndim)
        memcpy(a->shape, shape, ndim * sizeof *shape);
    return a;
}

tg__nd *tg__nd_alloc(tg_dtype dtype, size_t ndim, const size_t *shape,
                     bool zero)
{
    tg__nd *a = nd_header(dtype, ndim, shape);
    if (!a || a->size == 0)
        return a;
    size_t bytes = a->size * tg__nd_itemsize(dtype);
    void *d = zero ? tg__big_calloc(1, bytes) : tg__big_alloc(bytes);
    if (!d) {
        tg__free(a);
        return NULL;
    }
    a->data = d;
    a->release = big_release;
    return a;
}

void tg__nd_free(tg__nd *a)
{
    if (!a)
        return;
    if (a->release)
        a->release(a->data, a->release_ctx);
    tg__free(a);
}

static void nd_free_ptr(void *p)
{
    tg__nd_free(p);
}

/* The content token: dtype, ndim, extents, then every byte. */
static tg__token nd_token(const void *p)
{
    const tg__nd *a = p;
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_128bits_reset_withSeed(&st, TG__TYPE_SEED(TG_NDARRAY));
    uint64_t head[2 + TG__ND_MAX];
    head[0] = (uint64_t)a->dtype;
    head[1] = a->ndim;
    for (size_t i = 0; i < a->ndim; i++)
        head[2 + i] = a->shape[i];
    XXH3_128bits_update(&st, head, (2 + a->ndim) * sizeof *head);
    XXH3_128bits_update(&st, a->data, a->size * tg__nd_itemsize(a->dtype));
    XXH128_hash_t h = XXH3_128bits_digest(&st);
    return (tg__token){h.low64, h.high64};
}

static int nd_encode(tg__enc *e, const tg_value *v);
static tg_value *nd_decode(tg__dec *d);

static const tg__codec_type nd_codec = {"tg.ndarray", TG_NDARRAY, nd_encode,
                                        nd_decode};
/* "float64 100×50": dtype and shape, for pictures of graphs. */
static void nd_describe(const void *p, char *buf, size_t cap)
{
    const tg__nd *a = p;
    size_t w = (size_t)snprintf(buf, cap, "%s", tg_dtype_name(a->dtype));
    for (size_t i = 0; i < a->ndim && w < cap; i++)
        w += (size_t)snprintf(buf + w, cap - w, "%s%zu", i ? "\u00d7" : " ",
                              a->shape[i]);
}

static const tg__object_ops nd_ops = {"ndarray", nd_free_ptr, nd_token,
                                      &nd_codec, nd_describe};

tg_value *tg__nd_value(tg__nd *a)
{
    if (!a)
        return NULL;
    tg_value *v = tg__object_new(TG_NDARRAY, &nd_ops, a);
    if (!v)
        tg__nd_free(a);
    return v;
}

const tg__nd *tg__nd_of(const tg_value *v)
{
    if (!v || v->type != TG_NDARRAY || v->u.obj.ops != &nd_ops)
        return NULL;
    return v->u.obj.ptr;
}

/* ---- the codec type -------------------------------------------------- */

/* u8 dtype, u64 ndim, u64 extent x ndim, then the data as one piece. */
static int nd_encode(tg__enc *e, const tg_value *v)
{
    const tg__nd *a = v->u.obj.ptr;
    int rc = tg__enc_u8(e, (uint8_t)a->dtype);
    if (rc == 0)
        rc = tg__enc_u64(e, a->ndim);
    for (size_t i = 0; rc == 0 && i < a->ndim; i++)
        rc = tg__enc_u64(e, a->shape[i]);
    if (rc == 0)
        rc = tg__enc_piece(e, a->data, a->size * tg__nd_itemsize(a->dtype));
    return rc;
}

static tg_value *nd_decode(tg__dec *d)
{
    uint8_t dt;
    uint64_t ndim, x;
    size_t shape[TG__ND_MAX], size, len;
    void *block = NULL;
    if (tg__dec_u8(d, &dt) != 0 || tg__dec_u64(d, &ndim) != 0)
        return NULL;
    size_t item = tg__nd_itemsize((tg_dtype)dt);
    if (!item)
        return tg__seterr_null(TG_EFORMAT, "ndarray: unknown dtype %u", dt);
    if (ndim > TG__ND_MAX)
        return tg__seterr_null(TG_EFORMAT,
                               "ndarray: %llu dimensions (at most "
                               "%d)",
                               (unsigned long long)ndim, TG__ND_MAX);
    for (size_t i = 0; i < ndim; i++) {
        if (tg__dec_u64(d, &x) != 0)
            return NULL;
        if (x > SIZE_MAX / 2)
            return tg__seterr_null(TG_EFORMAT, "ndarray: extent %llu",
                                   (unsigned long long)x);
        shape[i] = (size_t)x;
    }
    if (!tg__nd_count((size_t)ndim, shape, item, &size))
        return tg__seterr_null(TG_EFORMAT, "ndarray: size overflows");
    if (tg__dec_piece(d, &block, &len) != 0)
        return NULL;
    if (len != size * item) {
        tg__free(block);
        return tg__seterr_null(TG_EFORMAT,
                               "ndarray: %zu elements of %zu bytes, but the "
                               "data has %zu bytes",
                               size, item, len);
    }
    tg__nd *a = nd_header((tg_dtype)dt, (size_t)ndim, shape);
    if (!a) {
        tg__free(block);
        return NULL;
    }
    if (block) {
        a->data = block;
        a->release = plain_release;
    }
    return tg__nd_value(a);
}

/* ---- public constructors and accessors ------------------------------- */

tg_value *tg_ndarray_new(tg_dtype dtype, size_t ndim, const size_t *shape,
                         const void *data)
{
    tg__nd *a = tg__nd_alloc(dtype, ndim, shape, data == NULL);
    if (!a)
        return NULL;
    if (data && a->size)
        memcpy(a->data, data, a->size * tg__nd_itemsize(dtype));
    return tg__nd_value(a);
}

tg_value *tg_ndarray_wrap(tg_dtype dtype, size_t ndim, const size_t *shape,
                          void *data, void (*free_fn)(void *data, void *ctx),
                          void *ctx)
{
    tg__nd *a = nd_header(dtype, ndim, shape);
    if (!a)
        return NULL;
    if (!data && a->size) {
        tg__free(a);
        return tg__seterr_null(TG_EINVAL, "tg_ndarray_wrap: NULL data");
    }
    if (data) {
        a->data = data;
        a->release = free_fn;
        a->release_ctx = ctx;
    }
    tg_value *v = tg__object_new(TG_NDARRAY, &nd_ops, a);
    if (!v)
        tg__free(a); /* without calling free_fn, as documented */
    return v;
}

bool tg_is_ndarray(const tg_value *v)
{
    return tg__nd_of(v) != NULL;
}

size_t tg_ndarray_ndim(const tg_value *v)
{
    const tg__nd *a = tg__nd_of(v);
    return a ? a->ndim : 0;
}

const size_t *tg_ndarray_shape(const tg_value *v)
{
    const tg__nd *a = tg__nd_of(v);
    return a && a->ndim ? a->shape : NULL;
}

size_t tg_ndarray_size(const tg_value *v)
{
    const tg__nd *a = tg__nd_of(v);
    return a ? a->size : 0;
}

tg_dtype tg_ndarray_dtype(const tg_value *v)
{
    const tg__nd *a = tg__nd_of(v);
    return a ? a->dtype : TG_DT_STRING;
}

const void *tg_ndarray_data(const tg_value *v)
{
    const tg__nd *a = tg__nd_of(v);
    return a ? a->data : NULL;
}

const double *tg_ndarray_float64(const tg_value *v)
{
    const tg__nd *a = tg__nd_of(v);
    return a && a->dtype == TG_DT_FLOAT64 ? a->data : NULL;
}

const int64_t *tg_ndarray_int64(const tg_value *v)
{
    const tg__nd *a = tg__nd_of(v);
    return a && a->dtype == TG_DT_INT64 ? a->data : NULL;
}

const uint8_t *tg_ndarray_bool(const tg_value *v)
{
    const tg__nd *a = tg__nd_of(v);
    return a && a->dtype == TG_DT_BOOL ? a->data : NULL;
}

void tg__shape_str(char *buf, size_t len, size_t ndim, const size_t *shape)
{
    size_t n = 0;
    int w = snprintf(buf, len, "(");
    for (size_t i = 0; w >= 0 && i < ndim; i++) {
        n += (size_t)w;
        if (n >= len)
            return;
        w = snprintf(buf + n, len - n, i ? ", %zu" : "%zu", shape[i]);
    }
    if (w >= 0 && (n += (size_t)w) < len)
        snprintf(buf + n, len - n, ndim == 1 ? ",)" : ")");
}

/* ---- registration at load -------------------------------------------- */

/* The tasks' names and functions, written once by the constructor
 * below before main (so read without a lock afterwards). */
static struct {
    const char *name;
    tg_fn fn;
} tasks[TG__T_COUNT];

void tg__array_register(tg__task id, const char *name, tg_fn fn)
{
    tasks[id].name = name;
    tasks[id].fn = fn;
    /* A clash (another function under the name) leaves the name bound
     * elsewhere: recording then makes a local call, which runs in this
     * process and which the loopback scheduler refuses, naming it. */
    (void)tg_register(name, fn, NULL);
}

tg_value *tg__array_call(tg_graph *g, tg__task id, tg_value *params,
                         size_t nargs, tg_value *const *args)
{
    tg_value *small[16], **all = small;
    if (nargs + 1 > 16 && !(all = tg__malloc((nargs + 1) * sizeof *all))) {
        tg_decref(params);
        for (size_t i = 0; i < nargs; i++)
            tg_decref(args[i]);
        return NULL;
    }
    all[0] = params;
    for (size_t i = 0; i < nargs; i++)
        all[i + 1] = args[i];
    tg_value *d =
        tg_delayed_v(g, tasks[id].name, tasks[id].fn, NULL, 0, nargs + 1, all);
    if (all != small)
        tg__free(all);
    return d;
}

/* Every array task and the codec type, before main: a worker resolves
 * them by name without building anything.  Each unit's register
 * function is referenced from here, so a static link that uses any
 * array value keeps every array task. */
__attribute__((constructor)) static void array_init(void)
{
    (void)tg__codec_register(&nd_codec);
    tg__array_register_kernels();
    tg__array_register_create();
    tg__array_register_reduce();
    tg__array_register_layout();
    tg__array_register_linalg();
    tg__array_register_npy();
}
