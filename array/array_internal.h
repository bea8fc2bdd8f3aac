/* array/array_internal.h - the chunked array layer: state and call flow.
 *
 * A chunk is a TG_NDARRAY value whose payload is a tg__nd (dtype,
 * shape, C-order data and how to release it); it is immutable once
 * wrapped, so any thread may read it.  ndarray.c holds the value, its
 * token and its codec type.
 */
#ifndef TG_ARRAY_ARRAY_INTERNAL_H
#define TG_ARRAY_ARRAY_INTERNAL_H

#include <string.h>

#include "runtime/alloc_internal.h"
#include "runtime/value_internal.h"
#include "taskgraph/array.h"

#define TG__ND_MAX TG_NDARRAY_MAX_DIMS

/* ---- chunk values (ndarray.c) ---------------------------------------- */

/* The payload of a TG_NDARRAY value. */
typedef struct tg__nd {
    tg_dtype dtype; /* TG_DT_FLOAT64, TG_DT_INT64 or TG_DT_BOOL */
    size_t ndim;    /* <= TG__ND_MAX */
    size_t size;    /* elements: the product of shape (1 for 0-d) */
    void *data;     /* size * itemsize bytes, C order; never NULL */
    void (*release)(void *data, void *ctx); /* frees data, or NULL */
    void *release_ctx;
    size_t shape[]; /* ndim extents */
} tg__nd;

/* Bytes per element of dtype, 0 for a dtype arrays cannot hold. */
static inline size_t tg__nd_itemsize(tg_dtype t)
{
    return t == TG_DT_FLOAT64 || t == TG_DT_INT64 ? 8 : t == TG_DT_BOOL ? 1 : 0;
}

/* The product of n extents into *out; false when it overflows or the
 * bytes (times itemsize, when not 0) would not fit a size_t. */
bool tg__nd_count(size_t n, const size_t *shape, size_t itemsize, size_t *out);

/* A new array of dtype and shape with uninitialised (or, if zero,
 * zeroed) data from the large-block allocator.  NULL with
 * tg_last_error() set. */
tg__nd *tg__nd_alloc(tg_dtype dtype, size_t ndim, const size_t *shape,
                     bool zero);
void tg__nd_free(tg__nd *a);
/* Wraps a as a TG_NDARRAY value (new reference); steals a, freeing it
 * on failure. */
tg_value *tg__nd_value(tg__nd *a);
/* The array of a TG_NDARRAY value, or NULL. */
const tg__nd *tg__nd_of(const tg_value *v);

/* Writes "(3, 4)" (NumPy's spelling) into buf. */
void tg__shape_str(char *buf, size_t len, size_t ndim, const size_t *shape);

#endif /* TG_ARRAY_ARRAY_INTERNAL_H */
