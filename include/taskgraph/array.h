/* taskgraph/array.h - chunked n-d arrays built as task graphs (dask.array).
 *
 * An n-d array value (TG_NDARRAY) is a dtype, a shape and C-order data,
 * immutable once shared.  A tg_array is a shape, a regular chunk grid and
 * one delayed chunk (an n-d array value) per grid cell; every operation
 * below is a graph builder that adds tasks per chunk, so a big array
 * becomes many small ones that any scheduler runs with bounded memory.
 * Every task the library records is a registered function whose
 * parameters are plain values, so an array graph runs on the loopback
 * (and distributed) scheduler unchanged.  Chains of elementwise
 * operations fuse into one task per chunk.  See array/README.md.
 */
#ifndef TASKGRAPH_ARRAY_H
#define TASKGRAPH_ARRAY_H

#include <limits.h>

#include "compute.h"
#include "dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most dimensions an array may have (NumPy's limit). */
#define TG_NDARRAY_MAX_DIMS 32

/* ---- n-d array values (TG_NDARRAY) ---------------------------------- */

/* A new n-d array value of dtype (TG_DT_FLOAT64, TG_DT_INT64 or
 * TG_DT_BOOL, one byte of 0 or 1 per element) and shape[0 .. ndim),
 * holding a copy of the C-order elements at data (zeros when data is
 * NULL).  ndim may be 0 (a scalar: one element).  New reference, or NULL
 * with tg_last_error() set (TG_EINVAL: bad dtype, ndim or a size that
 * overflows; TG_ENOMEM).  Any thread. */
TG_API tg_value *tg_ndarray_new(tg_dtype dtype, size_t ndim,
                                const size_t *shape, const void *data);
/* The same without a copy: the value borrows data (C order, aligned for
 * its dtype) and calls free_fn(data, ctx) when its last reference goes
 * (free_fn may be NULL: data outlives the value).  The caller must not
 * change data while the value lives.  On failure free_fn is NOT called.
 * New reference.  Any thread. */
TG_API tg_value *tg_ndarray_wrap(tg_dtype dtype, size_t ndim,
                                 const size_t *shape, void *data,
                                 void (*free_fn)(void *data, void *ctx),
                                 void *ctx);

/* Accessors; all borrow v and may be called from any thread.  A value
 * that is not an n-d array has ndim 0, shape NULL, size 0 and no data. */
TG_API bool tg_is_ndarray(const tg_value *v);
TG_API size_t tg_ndarray_ndim(const tg_value *v);
/* ndim extents (NULL for a 0-d array or a non-array).  Borrowed: lives
 * as long as the value. */
TG_API const size_t *tg_ndarray_shape(const tg_value *v);
/* Number of elements (the product of the shape; 1 for 0-d). */
TG_API size_t tg_ndarray_size(const tg_value *v);
/* The dtype; TG_DT_STRING (which no array holds) for a non-array. */
TG_API tg_dtype tg_ndarray_dtype(const tg_value *v);
/* The C-order elements (borrowed), or NULL for a non-array. */
TG_API const void *tg_ndarray_data(const tg_value *v);
/* Typed views of the elements, NULL when the dtype differs. */
TG_API const double *tg_ndarray_float64(const tg_value *v);
TG_API const int64_t *tg_ndarray_int64(const tg_value *v);
TG_API const uint8_t *tg_ndarray_bool(const tg_value *v);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_ARRAY_H */
