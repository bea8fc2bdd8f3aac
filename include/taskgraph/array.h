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

/* ---- chunked arrays ------------------------------------------------- */

/* A chunked array.  It belongs to its graph (like a tg_dataframe) and
 * lives until tg_graph_free; never free it yourself.  Every builder below
 * takes arrays of one graph and returns a new array of that graph, or
 * NULL with tg_last_error() set; a NULL input makes it return NULL too,
 * so a chain of builders is checked once at the end.  Builders are not
 * thread-safe: the caller serialises calls on one graph (as for
 * tg_delayed).
 *
 * Chunks: chunks[i] is the extent of every chunk along axis i but the
 * last, which may be smaller (a zero-length axis has one empty chunk).
 * A chunks pointer of NULL means one chunk for the whole array; a
 * chunks[i] of 0 means the whole axis. */
typedef struct tg_array tg_array;

/* Copies the C-order elements at data (ndim extents of shape, dtype as
 * for tg_ndarray_new) into one literal chunk per grid cell. */
TG_API tg_array *tg_array_from_buffer(tg_graph *g, tg_dtype dtype, size_t ndim,
                                      const size_t *shape, const size_t *chunks,
                                      const void *data);
/* Arrays of zeros, ones, or value (converted to dtype).  A chunk of each
 * shape is computed once and shared. */
TG_API tg_array *tg_array_zeros(tg_graph *g, tg_dtype dtype, size_t ndim,
                                const size_t *shape, const size_t *chunks);
TG_API tg_array *tg_array_ones(tg_graph *g, tg_dtype dtype, size_t ndim,
                               const size_t *shape, const size_t *chunks);
TG_API tg_array *tg_array_full(tg_graph *g, tg_dtype dtype, size_t ndim,
                               const size_t *shape, const size_t *chunks,
                               double value);
/* The 1-d array start, start + step, ... below stop (above it for a
 * negative step), NumPy's arange: ceil((stop - start) / step) elements,
 * element i is start + i * step.  dtype TG_DT_INT64 needs integral
 * start, stop and step. */
TG_API tg_array *tg_array_arange(tg_graph *g, tg_dtype dtype, double start,
                                 double stop, double step, size_t chunk);
/* Float64 uniform in [0, 1).  Each element depends only on seed and its
 * C-order index in the whole array (SplitMix64 of the index), so the
 * values are the same for every chunking. */
TG_API tg_array *tg_array_random(tg_graph *g, size_t ndim, const size_t *shape,
                                 const size_t *chunks, uint64_t seed);
/* 0-d arrays (float64, int64) that broadcast against any shape; in an
 * elementwise chain they become constants of the fused program. */
TG_API tg_array *tg_array_scalar(tg_graph *g, double value);
TG_API tg_array *tg_array_scalar_int(tg_graph *g, int64_t value);
/* An array read from a .npy file (NumPy format 1.0, 2.0 or 3.0; little
 * or big endian '<f8', '<i8', '|b1', and '<f4', '<i4', '<i2', '|i1',
 * '|u1' read as float64 / int64; C or Fortran order).  The header is
 * read now; each chunk's task reads only its own byte ranges when it
 * runs.  The file must not change until the graph is freed. */
TG_API tg_array *tg_array_from_npy(tg_graph *g, const char *path,
                                   const size_t *chunks);

/* Shape and layout.  All borrow a; NULL or 0 for a NULL a. */
TG_API size_t tg_array_ndim(const tg_array *a);
TG_API const size_t *tg_array_shape(const tg_array *a);  /* ndim extents */
TG_API const size_t *tg_array_chunks(const tg_array *a); /* chunk extents */
/* Number of chunks along each axis (ndim counts) and in all. */
TG_API const size_t *tg_array_numblocks(const tg_array *a);
TG_API size_t tg_array_nblocks(const tg_array *a);
TG_API tg_dtype tg_array_dtype(const tg_array *a);
TG_API tg_graph *tg_array_graph(const tg_array *a);
/* The delayed chunk number i (C order over the grid), borrowed from the
 * graph: pass it to tg_delayed calls of your own.  Records the array's
 * tasks if they were still pending (a fused chain).  NULL when out of
 * range. */
TG_API tg_value *tg_array_block(tg_array *a, size_t i);

/* ---- elementwise operations ----------------------------------------- */

/* Elementwise a op b with NumPy broadcasting: shapes align from the
 * last axis, and an extent of 1 (or a missing axis) stretches to the
 * other's; any other mismatch fails naming both shapes.  Types promote
 * as NumPy's: float64 if either is, else int64 (bool counts as int64 in
 * arithmetic); div is true division (float64); int64 arithmetic wraps;
 * int64 pow with a negative exponent fails the task.  Chunks follow a
 * where a spans the axis, b otherwise (the other is rechunked to match).
 * Chains of these fuse into one task per chunk. */
TG_API tg_array *tg_array_add(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_sub(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_mul(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_div(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_pow(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_minimum(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_maximum(tg_array *a, tg_array *b);
/* Comparisons give bool arrays (NaN compares unequal to everything). */
TG_API tg_array *tg_array_lt(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_le(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_gt(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_ge(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_eq(tg_array *a, tg_array *b);
TG_API tg_array *tg_array_ne(tg_array *a, tg_array *b);
/* cond ? a : b elementwise (cond is true where nonzero), the three
 * broadcast together. */
TG_API tg_array *tg_array_where(tg_array *cond, tg_array *a, tg_array *b);
/* Unary: sqrt, exp and log give float64; abs and neg keep int64 (bool
 * becomes int64). */
TG_API tg_array *tg_array_sqrt(tg_array *a);
TG_API tg_array *tg_array_abs(tg_array *a);
TG_API tg_array *tg_array_exp(tg_array *a);
TG_API tg_array *tg_array_log(tg_array *a);
TG_API tg_array *tg_array_neg(tg_array *a);
/* Converts to dtype (float to int truncates toward zero, as C does;
 * NaN and out-of-range values give INT64_MIN; to bool: nonzero). */
TG_API tg_array *tg_array_astype(tg_array *a, tg_dtype dtype);

/* fn applied to every chunk: the call fn(chunk, offsets) where offsets
 * is a list of the chunk's first index along each axis; it must return
 * an n-d array value of the chunk's shape and of dtype.  As for
 * tg_delayed, a call is registered (runs anywhere) when name is
 * registered with fn and ctx, and local otherwise. */
TG_API tg_array *tg_array_map_blocks(tg_array *a, const char *name, tg_fn fn,
                                     void *ctx, tg_dtype dtype);

/* ---- reductions ----------------------------------------------------- */

/* Reduce over every axis: the result is a 0-d array. */
#define TG_AXIS_ALL INT_MIN

typedef enum tg_reduce_op {
    TG_REDUCE_SUM = 0, /* int64 for int64 and bool, float64 otherwise */
    TG_REDUCE_MEAN,    /* float64 */
    TG_REDUCE_MIN,     /* the input's dtype; NaN if any element is */
    TG_REDUCE_MAX,
    TG_REDUCE_VAR,    /* float64: sum((x - mean)^2) / (n - ddof) */
    TG_REDUCE_STD,    /* sqrt of var */
    TG_REDUCE_ARGMIN, /* int64: first index of the minimum (the first NaN,
                         if any); for TG_AXIS_ALL a C-order flat index */
    TG_REDUCE_ARGMAX
} tg_reduce_op;

/* Options of tg_array_reduce; all-zero means the defaults. */
typedef struct tg_reduce_opts {
    int ddof;           /* var and std: delta degrees of freedom */
    size_t split_every; /* fan-in of the reduction tree (0: 8) */
    bool keepdims;      /* keep the reduced axes with extent 1 */
} tg_reduce_opts;

/* Reduces a along axis (negative counts from the end; TG_AXIS_ALL for
 * every axis) as a tree: one partial per chunk, then combines of at most
 * split_every partials.  Sums are compensated (an error term travels
 * with every partial sum), var uses a corrected two-pass formula in
 * each chunk and Chan's pairwise update across chunks, so every
 * chunking gives the same answer to within a few ulps.  Chained
 * elementwise operations fuse into the per-chunk partials.  min, max,
 * argmin and argmax of an empty array fail; the others give NumPy's
 * values (0, NaN).  opts may be NULL. */
TG_API tg_array *tg_array_reduce(tg_array *a, tg_reduce_op op, int axis,
                                 const tg_reduce_opts *opts);
TG_API tg_array *tg_array_sum(tg_array *a, int axis);
TG_API tg_array *tg_array_mean(tg_array *a, int axis);
TG_API tg_array *tg_array_min(tg_array *a, int axis);
TG_API tg_array *tg_array_max(tg_array *a, int axis);
TG_API tg_array *tg_array_argmin(tg_array *a, int axis);
TG_API tg_array *tg_array_argmax(tg_array *a, int axis);
TG_API tg_array *tg_array_var(tg_array *a, int axis, int ddof);
TG_API tg_array *tg_array_std(tg_array *a, int axis, int ddof);

/* ---- layout and linear algebra -------------------------------------- */

/* The axes reversed (a 2-d array's transpose); chunks follow. */
TG_API tg_array *tg_array_transpose(tg_array *a);
/* The axes permuted: axis i of the result is axis axes[i] of a. */
TG_API tg_array *tg_array_permute(tg_array *a, const size_t *axes);

/* Python's slice start:stop:step; TG_SLICE_NONE for an omitted bound,
 * negative bounds count from the end, step 0 means 1, and a negative
 * step walks backwards.  {TG_SLICE_NONE, TG_SLICE_NONE, 0} is ":". */
#define TG_SLICE_NONE INT64_MIN
typedef struct tg_slice {
    int64_t start, stop, step;
} tg_slice;
/* a[slices[0], slices[1], ...] (one per axis).  The result keeps a's
 * chunk extents (a chunk of the result may draw on several of a's). */
TG_API tg_array *tg_array_slice(tg_array *a, const tg_slice *slices);
/* The same elements in chunks of new extents (0: the whole axis). */
TG_API tg_array *tg_array_rechunk(tg_array *a, const size_t *chunks);
/* arrays[0 .. n) joined along axis: equal shapes on the other axes, one
 * dtype after promotion; the result has the first array's chunks. */
TG_API tg_array *tg_array_concatenate(size_t n, tg_array *const *arrays,
                                      int axis);
/* The matrix product of 2-d arrays a (m x k) and b (k x n): block (i, j)
 * of the result is the sum over kk of a(i, kk) b(kk, j), computed with
 * OpenBLAS cblas_dgemm (single-threaded per task: the scheduler owns the
 * parallelism; int64 x int64 stays int64 with plain loops, other dtypes
 * give float64).  a (m x k) times its own transpose is recognised:
 * diagonal blocks use cblas_dsyrk and of each pair of mirrored blocks
 * only one is multiplied, the other transposed from it (half the
 * flops), as NumPy does; so is transpose(a) times a. */
TG_API tg_array *tg_array_matmul(tg_array *a, tg_array *b);

/* ---- results -------------------------------------------------------- */

/* Computes every chunk on s (NULL: sync) and assembles them into one n-d
 * array value (new reference), or returns an error value (tg_is_error)
 * naming the failed task, or NULL with tg_last_error() set for a NULL
 * a.  On sync and threads each chunk is copied into place as soon as it
 * is computed and released, so the peak is the result plus the chunks
 * in flight; on other schedulers the chunks are gathered first.  Any
 * thread, as tg_compute. */
TG_API tg_value *tg_array_compute(tg_array *a, tg_scheduler *s);
/* Computes a and copies its elements, in C order and a's dtype, into
 * out (room for len bytes, which must be the array's size times its
 * item size), chunk by chunk as tg_array_compute does.  0, TG_ETASK
 * with tg_last_error() naming the failed task, TG_EINVAL, or
 * TG_ENOMEM. */
TG_API int tg_array_store(tg_array *a, void *out, size_t len, tg_scheduler *s);
/* Computes every chunk and returns an array of the same graph whose
 * chunks are those values (literals): later graphs built on it start
 * from memory (dask's persist).  NULL with tg_last_error() set. */
TG_API tg_array *tg_array_persist(tg_array *a, tg_scheduler *s);
/* Writes a to path as a .npy file (format 1.0, little endian, C order):
 * the header first, then one task per chunk writes its byte ranges in
 * place.  0, or a negative code with tg_last_error() set. */
TG_API int tg_array_to_npy(tg_array *a, const char *path, tg_scheduler *s);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_ARRAY_H */
