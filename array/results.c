/* array/results.c - computing arrays: one value, a caller's buffer, or
 * chunks kept for later graphs (persist).
 *
 * Every chunk is a target of one tg_compute_with, so shared work runs
 * once; the chunks are then copied into place one by one, each released
 * as soon as it is copied, so the peak is the result plus the chunks not
 * yet copied (never two full copies of a chunk's worth more).
 */
#include <stdio.h>

#include "array_internal.h"

/* Computes every chunk of a into out[0 .. n_blocks) (new references).
 * 0, or a negative code with tg_last_error() set and *err the error
 * value (a new reference) when a task failed. */
static int compute_chunks(tg_array *a, tg_scheduler *s, tg_value **out,
                          tg_value **err)
{
    *err = NULL;
    tg_value **blocks = tg__array_blocks(a);
    if (!blocks)
        return tg__last_code(TG_ENOMEM);
    int rc = tg_compute_with(blocks, a->n_blocks, out, s, NULL);
    if (rc == TG_ETASK || rc == TG_ECANCELED) {
        *err = tg_incref(out[0]);
        tg__seterr(rc, "%s: %s",
                   tg_error_key(out[0]) ? tg_error_key(out[0]) : "compute",
                   tg_error_message(out[0]));
        for (size_t i = 0; i < a->n_blocks; i++)
            tg_decref(out[i]);
    }
    return rc;
}

/* Copies chunk number b (value v) of a into the C-order buffer dst of
 * a's shape, converting to a's dtype.  0 or TG_EINVAL when v is not the
 * chunk it should be. */
static int place(const tg_array *a, size_t b, const tg_value *v, uint8_t *dst)
{
    size_t shape[TG__ND_MAX], start[TG__ND_MAX], idx[TG__ND_MAX] = {0};
    const tg__nd *c = tg__nd_of(v);
    tg__array_block_box(a, b, shape, start);
    size_t nd = a->ndim;
    if (!c || c->ndim != nd || memcmp(c->shape, shape, nd * sizeof *shape)) {
        char want[160], got[160] = "(not an array)";
        tg__shape_str(want, sizeof want, nd, shape);
        if (c)
            tg__shape_str(got, sizeof got, c->ndim, c->shape);
        return tg__seterr(TG_EINVAL, "chunk %zu has shape %s, expected %s", b,
                          got, want);
    }
    size_t item = tg__nd_itemsize(a->dtype), citem = tg__nd_itemsize(c->dtype);
    size_t inner = nd ? shape[nd - 1] : 1;
    const uint8_t *src = c->data;
    for (size_t done = 0; done < c->size; done += inner) {
        size_t g = 0;
        for (size_t k = 0; k < nd; k++)
            g = g * a->shape[k] + start[k] + (k + 1 < nd ? idx[k] : 0);
        tg__convert(dst + g * item, a->dtype, src + done * citem, c->dtype,
                    inner);
        for (size_t k = nd ? nd - 1 : 0; k-- > 0;) {
            if (++idx[k] < shape[k])
                break;
            idx[k] = 0;
        }
    }
    return 0;
}

/* Places every chunk into dst, releasing each once placed. */
static int place_all(const tg_array *a, tg_value **out, uint8_t *dst)
{
    int rc = 0;
    for (size_t b = 0; b < a->n_blocks; b++) {
        if (rc == 0)
            rc = place(a, b, out[b], dst);
        tg_decref(out[b]);
        out[b] = NULL;
    }
    return rc;
}

tg_value *tg_array_compute(tg_array *a, tg_scheduler *s)
{
    if (tg__array_check("tg_array_compute", 1, &a) != 0)
        return NULL;
    tg_value **out = tg__calloc(a->n_blocks, sizeof *out), *err = NULL;
    if (!out)
        return tg_error("tg_array_compute: out of memory");
    int rc = compute_chunks(a, s, out, &err);
    tg__nd *r =
        rc == 0 ? tg__nd_alloc(a->dtype, a->ndim, a->shape, false) : NULL;
    if (r)
        rc = place_all(a, out, r->data);
    else if (rc == 0)
        rc = tg__last_code(TG_ENOMEM);
    for (size_t b = 0; rc != 0 && !err && b < a->n_blocks; b++)
        tg_decref(out[b]);
    tg__free(out);
    if (err) {
        tg__nd_free(r);
        return err;
    }
    if (rc != 0) {
        tg__nd_free(r);
        return tg_error("tg_array_compute: %s", tg_last_error());
    }
    tg_value *v = tg__nd_value(r);
    return v ? v : tg_error("tg_array_compute: %s", tg_last_error());
}

int tg_array_store(tg_array *a, void *buf, size_t len, tg_scheduler *s)
{
    if (tg__array_check("tg_array_store", 1, &a) != 0)
        return TG_EINVAL;
    size_t size;
    tg__nd_count(a->ndim, a->shape, 0, &size);
    if (!buf && size)
        return tg__seterr(TG_EINVAL, "tg_array_store: NULL buffer");
    if (len != size * tg__nd_itemsize(a->dtype))
        return tg__seterr(TG_EINVAL,
                          "tg_array_store: a buffer of %zu bytes for %zu "
                          "elements of %s",
                          len, size, tg_dtype_name(a->dtype));
    tg_value **out = tg__calloc(a->n_blocks, sizeof *out), *err = NULL;
    if (!out)
        return TG_ENOMEM;
    int rc = compute_chunks(a, s, out, &err);
    if (rc == 0)
        rc = place_all(a, out, buf);
    tg_decref(err);
    tg__free(out);
    return rc;
}

tg_array *tg_array_persist(tg_array *a, tg_scheduler *s)
{
    if (tg__array_check("tg_array_persist", 1, &a) != 0)
        return NULL;
    tg_value **out = tg__calloc(a->n_blocks, sizeof *out), *err = NULL;
    if (!out)
        return NULL;
    int rc = compute_chunks(a, s, out, &err);
    tg_decref(err);
    tg_array *p =
        rc == 0 ? tg__array_new(a->g, a->dtype, a->ndim, a->shape, a->chunk)
                : NULL;
    if (p && tg__array_alloc_blocks(p) != 0)
        p = NULL;
    for (size_t b = 0; rc == 0 && b < a->n_blocks; b++) {
        /* tg_delayed_value steals the chunk, even on failure */
        if (p && !(p->blocks[b] = tg_delayed_value(a->g, out[b])))
            p = NULL;
        else if (!p)
            tg_decref(out[b]);
    }
    tg__free(out);
    return p;
}
