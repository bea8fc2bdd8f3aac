/* array/create.c - arrays from buffers, constants, ranges and seeds.
 *
 * A buffer is copied into literal chunks (values in the graph, hashed by
 * content).  Constants, ranges and random arrays are tasks whose
 * parameters say which chunk to make, so nothing big enters the graph:
 * "tg.array.full" (chunks of one shape share a key, so one is made and
 * shared), "tg.array.arange" and "tg.array.random".  A random element is
 * SplitMix64's output for its C-order index in the whole array under a
 * key mixed from the seed, so it depends on the seed and the index only,
 * never on the chunking.
 */
#include <math.h>
#include <stdio.h>

#include "array_internal.h"

#define FULL "tg.array.full"
#define RANDOM "tg.array.random"
#define ARANGE "tg.array.arange"

/* SplitMix64's increment (the golden ratio in 64 bits). */
#define GAMMA 0x9E3779B97F4A7C15ull

/* ---- tasks ----------------------------------------------------------- */

/* full(params = [dtype, value, shape]): a chunk of one value. */
static tg_value *full_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t shape[TG__ND_MAX];
    tg__params_init(&p, FULL, nargs ? args[0] : NULL);
    tg_dtype dt = (tg_dtype)tg__param_int(&p, "dtype", 0, TG_DT_BOOL);
    double v = tg__param_float(&p, "value");
    size_t nd = tg__param_sizes(&p, "shape", TG__ND_MAX, shape);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    if (nargs != 1)
        return tg_error(FULL ": %zu arguments", nargs);
    tg__nd *a = tg__nd_alloc(dt, nd, shape, false);
    if (!a)
        return tg_error(FULL ": %s", tg_last_error());
    if (dt == TG_DT_FLOAT64) {
        double *d = a->data;
        for (size_t i = 0; i < a->size; i++)
            d[i] = v;
    } else if (dt == TG_DT_INT64) {
        int64_t x;
        tg__convert(&x, TG_DT_INT64, &v, TG_DT_FLOAT64, 1);
        int64_t *d = a->data;
        for (size_t i = 0; i < a->size; i++)
            d[i] = x;
    } else {
        memset(a->data, v != 0.0, a->size);
    }
    tg_value *r = tg__nd_value(a);
    return r ? r : tg_error(FULL ": %s", tg_last_error());
}

static inline uint64_t mix64(uint64_t x)
{
    return tg__mix64(x);
}

/* Uniform [0, 1) values for global indices g .. g + n under key. */
TG__CLONES static void uniform(double *o, uint64_t key, uint64_t g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        o[i] = (double)(mix64(key + (g + i + 1) * GAMMA) >> 11) * 0x1.0p-53;
}

/* random(params = [seed, array shape, chunk start, chunk shape]). */
static tg_value *random_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t full[TG__ND_MAX], start[TG__ND_MAX], shape[TG__ND_MAX], n;
    tg__params_init(&p, RANDOM, nargs ? args[0] : NULL);
    uint64_t seed = (uint64_t)tg__param_int(&p, "seed", INT64_MIN, INT64_MAX);
    size_t nd = tg__param_sizes(&p, "array shape", TG__ND_MAX, full);
    size_t ns = tg__param_sizes(&p, "chunk start", TG__ND_MAX, start);
    size_t nc = tg__param_sizes(&p, "chunk shape", TG__ND_MAX, shape);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    bool ok = ns == nd && nc == nd && tg__nd_count(nd, full, 8, &n);
    for (size_t k = 0; ok && k < nd; k++)
        ok = start[k] <= full[k] && shape[k] <= full[k] - start[k];
    if (!ok)
        return tg_error(RANDOM ": the chunk is not inside the array");
    tg__nd *a = tg__nd_alloc(TG_DT_FLOAT64, nd, shape, false);
    if (!a)
        return tg_error(RANDOM ": %s", tg_last_error());
    uint64_t key = mix64(seed ^ 0x5851F42D4C957F2Dull);
    size_t inner = nd ? shape[nd - 1] : 1, idx[TG__ND_MAX] = {0};
    double *o = a->data;
    for (size_t done = 0; done < a->size; done += inner) {
        uint64_t g = 0;
        for (size_t k = 0; k < nd; k++)
            g = g * full[k] + start[k] + (k + 1 < nd ? idx[k] : 0);
        uniform(o + done, key, g, inner);
        for (size_t k = nd ? nd - 1 : 0; k-- > 0;) {
            if (++idx[k] < shape[k])
                break;
            idx[k] = 0;
        }
    }
    tg_value *r = tg__nd_value(a);
    return r ? r : tg_error(RANDOM ": %s", tg_last_error());
}

/* arange(params = [dtype, start, step, first, count]): elements first ..
 * first + count of start + i * step. */
static tg_value *arange_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    tg__params_init(&p, ARANGE, nargs ? args[0] : NULL);
    tg_dtype dt = (tg_dtype)tg__param_int(&p, "dtype", 0, TG_DT_BOOL);
    double start = tg__param_float(&p, "start");
    double step = tg__param_float(&p, "step");
    int64_t first = tg__param_int(&p, "first", 0, INT64_MAX / 4);
    int64_t count = tg__param_int(&p, "count", 0, INT64_MAX / 4);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    size_t n = (size_t)count;
    if (dt != TG_DT_FLOAT64 && dt != TG_DT_INT64)
        return tg_error(ARANGE ": dtype %s", tg_dtype_name(dt));
    tg__nd *a = tg__nd_alloc(dt, 1, &n, false);
    if (!a)
        return tg_error(ARANGE ": %s", tg_last_error());
    if (dt == TG_DT_FLOAT64) {
        double *d = a->data;
        for (size_t i = 0; i < n; i++)
            d[i] = start + (double)(first + (int64_t)i) * step;
    } else {
        int64_t *d = a->data, s0 = (int64_t)start, st = (int64_t)step;
        for (size_t i = 0; i < n; i++)
            d[i] = (int64_t)((uint64_t)s0
                             + (uint64_t)(first + (int64_t)i) * (uint64_t)st);
    }
    tg_value *r = tg__nd_value(a);
    return r ? r : tg_error(ARANGE ": %s", tg_last_error());
}

void tg__array_register_create(void)
{
    tg__array_register(TG__T_FULL, FULL, full_task);
    tg__array_register(TG__T_RANDOM, RANDOM, random_task);
    tg__array_register(TG__T_ARANGE, ARANGE, arange_task);
}

/* ---- builders -------------------------------------------------------- */

/* Copies chunk box (start, shape) of the C-order array at data (extents
 * full) into a new chunk value. */
static tg_value *copy_chunk(tg_dtype dt, size_t nd, const size_t *full,
                            const size_t *start, const size_t *shape,
                            const void *data)
{
    tg__nd *a = tg__nd_alloc(dt, nd, shape, false);
    if (!a)
        return NULL;
    size_t item = tg__nd_itemsize(dt), inner = nd ? shape[nd - 1] : 1;
    size_t idx[TG__ND_MAX] = {0};
    uint8_t *o = a->data;
    for (size_t done = 0; done < a->size; done += inner) {
        size_t g = 0;
        for (size_t k = 0; k < nd; k++)
            g = g * full[k] + start[k] + (k + 1 < nd ? idx[k] : 0);
        memcpy(o + done * item, (const uint8_t *)data + g * item, inner * item);
        for (size_t k = nd ? nd - 1 : 0; k-- > 0;) {
            if (++idx[k] < shape[k])
                break;
            idx[k] = 0;
        }
    }
    return tg__nd_value(a);
}

tg_array *tg_array_from_buffer(tg_graph *g, tg_dtype dtype, size_t ndim,
                               const size_t *shape, const size_t *chunks,
                               const void *data)
{
    tg_array *a = tg__array_new(g, dtype, ndim, shape, chunks);
    if (!a || tg__array_alloc_blocks(a) != 0)
        return NULL;
    size_t size;
    tg__nd_count(ndim, shape, 0, &size);
    if (!data && size)
        return tg__seterr_null(TG_EINVAL, "tg_array_from_buffer: NULL data");
    for (size_t b = 0; b < a->n_blocks; b++) {
        size_t bs[TG__ND_MAX], st[TG__ND_MAX];
        tg__array_block_box(a, b, bs, st);
        tg_value *v = copy_chunk(dtype, ndim, shape, st, bs, data);
        if (!v || !(a->blocks[b] = tg_delayed_value(g, v)))
            return NULL;
    }
    return a;
}

tg_array *tg_array_full(tg_graph *g, tg_dtype dtype, size_t ndim,
                        const size_t *shape, const size_t *chunks, double value)
{
    tg_array *a = tg__array_new(g, dtype, ndim, shape, chunks);
    if (!a || tg__array_alloc_blocks(a) != 0)
        return NULL;
    for (size_t b = 0; b < a->n_blocks; b++) {
        size_t bs[TG__ND_MAX];
        tg__array_block_box(a, b, bs, NULL);
        tg_value *params = tg_list(3, tg_int(dtype), tg_float(value),
                                   tg__sizes_value(ndim, bs));
        if (!(a->blocks[b] = tg__array_call(g, TG__T_FULL, params, 0, NULL)))
            return NULL;
    }
    return a;
}

tg_array *tg_array_zeros(tg_graph *g, tg_dtype dtype, size_t ndim,
                         const size_t *shape, const size_t *chunks)
{
    return tg_array_full(g, dtype, ndim, shape, chunks, 0.0);
}

tg_array *tg_array_ones(tg_graph *g, tg_dtype dtype, size_t ndim,
                        const size_t *shape, const size_t *chunks)
{
    return tg_array_full(g, dtype, ndim, shape, chunks, 1.0);
}

tg_array *tg_array_random(tg_graph *g, size_t ndim, const size_t *shape,
                          const size_t *chunks, uint64_t seed)
{
    tg_array *a = tg__array_new(g, TG_DT_FLOAT64, ndim, shape, chunks);
    if (!a || tg__array_alloc_blocks(a) != 0)
        return NULL;
    for (size_t b = 0; b < a->n_blocks; b++) {
        size_t bs[TG__ND_MAX], st[TG__ND_MAX];
        tg__array_block_box(a, b, bs, st);
        tg_value *params =
            tg_list(4, tg_int((int64_t)seed), tg__sizes_value(ndim, shape),
                    tg__sizes_value(ndim, st), tg__sizes_value(ndim, bs));
        if (!(a->blocks[b] = tg__array_call(g, TG__T_RANDOM, params, 0, NULL)))
            return NULL;
    }
    return a;
}

tg_array *tg_array_arange(tg_graph *g, tg_dtype dtype, double start,
                          double stop, double step, size_t chunk)
{
    if (dtype != TG_DT_FLOAT64 && dtype != TG_DT_INT64)
        return tg__seterr_null(TG_EINVAL, "tg_array_arange: dtype %s",
                               tg_dtype_name(dtype));
    if (step == 0.0 || !isfinite(start) || !isfinite(stop) || !isfinite(step))
        return tg__seterr_null(TG_EINVAL,
                               "tg_array_arange: start %g, stop "
                               "%g, step %g",
                               start, stop, step);
    if (dtype == TG_DT_INT64
        && (start != trunc(start) || stop != trunc(stop) || step != trunc(step)
            || fabs(start) > 0x1p62 || fabs(stop) > 0x1p62
            || fabs(step) > 0x1p62))
        return tg__seterr_null(TG_EINVAL, "tg_array_arange: int64 needs "
                                          "integral bounds below 2^62");
    double len = ceil((stop - start) / step);
    if (len > 0x1p52)
        return tg__seterr_null(TG_EINVAL, "tg_array_arange: %g elements", len);
    size_t n = len > 0 ? (size_t)len : 0;
    tg_array *a = tg__array_new(g, dtype, 1, &n, &chunk);
    if (!a || tg__array_alloc_blocks(a) != 0)
        return NULL;
    for (size_t b = 0; b < a->n_blocks; b++) {
        size_t bs, st;
        tg__array_block_box(a, b, &bs, &st);
        tg_value *params =
            tg_list(5, tg_int(dtype), tg_float(start), tg_float(step),
                    tg_int((int64_t)st), tg_int((int64_t)bs));
        if (!(a->blocks[b] = tg__array_call(g, TG__T_ARANGE, params, 0, NULL)))
            return NULL;
    }
    return a;
}
