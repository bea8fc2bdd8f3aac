/* dataframe/frame_internal.h - columns, frames and column builders.
 *
 * A column is immutable once built and reference counted, so frames made
 * by select or assign share columns instead of copying them.  Layout is
 * Arrow's: a value array (int64, double, one byte per bool, or n + 1
 * int64 offsets into one byte buffer for strings) plus a validity bitmap
 * (bit set = present) that is NULL when the column has no nulls.  A null
 * slot holds 0 (an empty string for strings).
 */
#ifndef TG_DATAFRAME_FRAME_INTERNAL_H
#define TG_DATAFRAME_FRAME_INTERNAL_H

#include <stdatomic.h>
#include <string.h>

#include "runtime/alloc_internal.h"
#include "runtime/value_internal.h"
#include "taskgraph/dataframe.h"

typedef struct tg__col {
    atomic_int refs; /* owners (frames, evaluators) */
    tg_dtype type;
    size_t n;       /* rows */
    size_t n_null;  /* nulls; 0 whenever valid is NULL */
    uint8_t *valid; /* (n + 7) / 8 bytes, or NULL: no nulls */
    void *data;     /* int64_t[n], double[n], uint8_t[n], or for
                       strings int64_t offsets[n + 1] */
    char *bytes;    /* strings: the bytes offsets point into */
    size_t n_bytes;
    bool adopted; /* data and bytes are tg__malloc blocks (decoded
                     codec pieces, freed with tg__free); otherwise
                     recycled tg__big_* blocks */
} tg__col;

typedef struct tg__frame {
    size_t nrows;
    size_t ncols;
    char **names;   /* ncols, owned */
    tg__col **cols; /* ncols, one reference each */
} tg__frame;

static inline bool tg__valid(const uint8_t *valid, size_t i)
{
    return !valid || (valid[i >> 3] >> (i & 7)) & 1;
}

static inline bool tg__col_valid(const tg__col *c, size_t i)
{
    return tg__valid(c->valid, i);
}

static inline const char *tg__col_str(const tg__col *c, size_t i, size_t *len)
{
    const int64_t *off = c->data;
    *len = (size_t)(off[i + 1] - off[i]);
    return c->bytes + off[i];
}

static inline size_t tg__dtype_width(tg_dtype t)
{
    return t == TG_DT_BOOL ? 1 : 8;
}

/* A column of n rows with uninitialised values and no validity bitmap;
 * strings get n + 1 zeroed offsets and a byte buffer of n_bytes.  NULL
 * when out of memory. */
tg__col *tg__col_new(tg_dtype type, size_t n, size_t n_bytes);
/* Gives c an all-valid bitmap, if it has none.  0 or TG_ENOMEM. */
int tg__col_make_valid(tg__col *c);
/* Marks row i null (c must have a bitmap); keeps n_null in step. */
void tg__col_set_null(tg__col *c, size_t i);
/* Drops the bitmap when no bit is clear and recounts n_null. */
void tg__col_finish_valid(tg__col *c);
tg__col *tg__col_ref(tg__col *c);
void tg__col_unref(tg__col *c);

/* A frame over ncols columns (references stolen, even on failure) named
 * names (copied).  NULL when out of memory. */
tg__frame *tg__frame_new(size_t ncols, const char *const *names, tg__col **cols,
                         size_t nrows);
void tg__frame_free(tg__frame *f);
/* Wraps f as a TG_FRAME value (new reference).  Steals f even on
 * failure. */
tg_value *tg__frame_value(tg__frame *f);
/* The frame inside a TG_FRAME value, or NULL. */
tg__frame *tg__frame_of(const tg_value *v);
/* Index of a column by name, or -1. */
long tg__frame_find(const tg__frame *f, const char *name);
/* An empty frame (0 rows) with this schema.  NULL on OOM. */
tg__frame *tg__frame_empty(size_t ncols, const char *const *names,
                           const tg_dtype *types);

/* Columns on the wire (frame_codec.c): a column's type, null count,
 * bitmap, values and string bytes, the buffers as codec pieces. */
struct tg__enc;
struct tg__dec;
/* Appends c (borrowed; its buffers are the pieces: keep it alive while
 * e is used).  0 or TG_ENOMEM. */
int tg__col_encode(struct tg__enc *e, const tg__col *c);
/* Reads a column of n rows, adopting its pieces; checks everything.
 * 0 and *out (a new column), or TG_EFORMAT / TG_ENOMEM with
 * tg_last_error() set. */
int tg__col_decode(struct tg__dec *d, size_t n, tg__col **out);

/* The rows where mask[i] is nonzero (n = frame rows), as a new column. */
tg__col *tg__col_filter(const tg__col *c, const uint8_t *mask, size_t kept);
/* Rows [begin, begin + n) of c as a new column. */
tg__col *tg__col_slice(const tg__col *c, size_t begin, size_t n);
/* Rows idx[0..n) of c, in that order, as a new column. */
tg__col *tg__col_take(const tg__col *c, const uint32_t *idx, size_t n);
/* Row row[j] of column srcs[src[j]] for j < n, as a new column: a take
 * from several columns of one type at once (the rows of a sort spread
 * over the pieces it received), without concatenating them first. */
tg__col *tg__col_take_from(tg__col *const *srcs, const uint32_t *src,
                           const uint32_t *row, size_t n);
/* "No row": an index that tg__col_take_or_null turns into a null. */
#define TG__NO_ROW UINT32_MAX
/* As tg__col_take, with a null wherever idx[j] is TG__NO_ROW (the
 * unmatched side of an outer join). */
tg__col *tg__col_take_or_null(const tg__col *c, const uint32_t *idx, size_t n);
/* Concatenates n frames of one schema (the first's) into one. */
tg__frame *tg__frame_concat(tg__frame *const *frames, size_t n);
/* True when a and b have the same column names and types, in order. */
bool tg__frame_same_columns(const tg__frame *a, const tg__frame *b);
/* Error text when f does not have this schema, else NULL (thread-local
 * buffer). */
const char *tg__frame_check_schema(const tg__frame *f, size_t ncols,
                                   char *const *names, const tg_dtype *types);

/* A growable column.  Append functions assume room (see reserve). */
typedef struct tg__colbuf {
    tg_dtype type;
    size_t n, cap; /* rows, capacity in rows */
    void *data;
    uint8_t *valid; /* NULL until the first null */
    size_t n_null;
    char *bytes; /* strings */
    size_t n_bytes, cap_bytes;
} tg__colbuf;

int tg__colbuf_init(tg__colbuf *b, tg_dtype type, size_t cap);
/* Room for `rows` more rows and `bytes` more string bytes. */
int tg__colbuf_reserve(tg__colbuf *b, size_t rows, size_t bytes);
int tg__colbuf_null(tg__colbuf *b);
/* The column built so far (new reference); b is reset to empty. */
tg__col *tg__colbuf_finish(tg__colbuf *b);
void tg__colbuf_close(tg__colbuf *b);
/* A builder holding a copy of column c (one copy per buffer).  0 or
 * TG_ENOMEM (b is then closed). */
int tg__colbuf_copy_col(tg__colbuf *b, const tg__col *c);

static inline void tg__colbuf_mark_valid(tg__colbuf *b)
{
    if (TG_UNLIKELY(b->valid != NULL))
        b->valid[b->n >> 3] |= (uint8_t)(1u << (b->n & 7));
}

static inline void tg__colbuf_int(tg__colbuf *b, int64_t v)
{
    tg__colbuf_mark_valid(b);
    ((int64_t *)b->data)[b->n++] = v;
}

static inline void tg__colbuf_float(tg__colbuf *b, double v)
{
    tg__colbuf_mark_valid(b);
    ((double *)b->data)[b->n++] = v;
}

static inline void tg__colbuf_bool(tg__colbuf *b, bool v)
{
    tg__colbuf_mark_valid(b);
    ((uint8_t *)b->data)[b->n++] = v;
}

/* Appends a string; the bytes must fit (reserve first). */
static inline void tg__colbuf_str(tg__colbuf *b, const char *s, size_t len)
{
    tg__colbuf_mark_valid(b);
    memcpy(b->bytes + b->n_bytes, s, len);
    b->n_bytes += len;
    ((int64_t *)b->data)[++b->n] = (int64_t)b->n_bytes;
}

#endif /* TG_DATAFRAME_FRAME_INTERNAL_H */
