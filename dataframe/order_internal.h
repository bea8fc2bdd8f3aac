/* dataframe/order_internal.h - what makes two keys equal, and the order
 * of rows: the one place that compares key values.
 *
 * Equality (groupby, nunique) and order (groupby and value_counts
 * results; sort_values and merge next) agree on the identity of a value:
 * -0.0 equals 0.0, every NaN equals every NaN, nulls equal each other.
 * Order is ascending by value with NaN after every number (in either
 * direction) and nulls where the key says (last unless nulls_first).
 * Rows are sorted by a stable merge sort of an index array that takes
 * its comparator and context as arguments (no thread-local state), so
 * equal rows keep their input order.
 */
#ifndef TG_DATAFRAME_ORDER_INTERNAL_H
#define TG_DATAFRAME_ORDER_INTERNAL_H

#include <math.h>
#include <xxhash.h>

#include "frame_internal.h"

/* A read-only view of a column's values: a column's or a column
 * builder's (the groups of a partial). */
typedef struct tg__keyview {
    tg_dtype type;
    const void *data; /* as tg__col.data */
    const uint8_t *valid;
    const char *bytes;
} tg__keyview;

static inline tg__keyview tg__keyview_col(const tg__col *c)
{
    return (tg__keyview){c->type, c->data, c->valid, c->bytes};
}

static inline tg__keyview tg__keyview_buf(const tg__colbuf *b)
{
    return (tg__keyview){b->type, b->data, b->valid, b->bytes};
}

/* The bits that identify a double as a key: -0.0 is 0.0 and every NaN
 * is one NaN. */
static inline uint64_t tg__float_key_bits(double x)
{
    uint64_t b;
    if (x == 0)
        x = 0;
    if (x != x)
        x = (double)NAN;
    memcpy(&b, &x, 8);
    return b;
}

#define TG__NULL_KEY_HASH 0x9e3779b97f4a7c15ull

/* True when row i of k is a missing key: a null, or a float NaN (a key
 * NaN is missing, as in pandas: it groups, hashes and joins as null). */
static inline bool tg__key_is_null(const tg__keyview *k, size_t i)
{
    if (!tg__valid(k->valid, i))
        return true;
    if (k->type != TG_DT_FLOAT64)
        return false;
    double x = ((const double *)k->data)[i];
    return x != x;
}

/* The hash of row i of k, consistent with tg__key_eq.  Only the rare
 * paths (a null, a float) look for NaN. */
static inline uint64_t tg__key_hash(const tg__keyview *k, size_t i)
{
    if (!tg__valid(k->valid, i))
        return TG__NULL_KEY_HASH;
    switch (k->type) {
    case TG_DT_STRING: {
        const int64_t *off = k->data;
        return XXH3_64bits(k->bytes + off[i], (size_t)(off[i + 1] - off[i]));
    }
    case TG_DT_FLOAT64: {
        double x = ((const double *)k->data)[i];
        return x != x ? TG__NULL_KEY_HASH : tg__mix64(tg__float_key_bits(x));
    }
    case TG_DT_BOOL: return tg__mix64(((const uint8_t *)k->data)[i]);
    default: return tg__mix64((uint64_t)((const int64_t *)k->data)[i]);
    }
}

/* Equality of row i of a and row j of b (same type). */
static inline bool tg__key_eq(const tg__keyview *a, size_t i,
                              const tg__keyview *b, size_t j)
{
    if (!tg__valid(a->valid, i) || !tg__valid(b->valid, j))
        return tg__key_is_null(a, i) && tg__key_is_null(b, j);
    switch (a->type) {
    case TG_DT_STRING: {
        const int64_t *oa = a->data, *ob = b->data;
        size_t la = (size_t)(oa[i + 1] - oa[i]);
        if (la != (size_t)(ob[j + 1] - ob[j]))
            return false;
        const char *x = a->bytes + oa[i], *y = b->bytes + ob[j];
        if (la > 16) /* short keys: an inline loop beats a call */
            return memcmp(x, y, la) == 0;
        for (size_t k = 0; k < la; k++)
            if (x[k] != y[k])
                return false;
        return true;
    }
    case TG_DT_FLOAT64: {
        double x = ((const double *)a->data)[i],
               y = ((const double *)b->data)[j];
        if (x != x || y != y) /* a NaN is a null */
            return x != x && y != y;
        return tg__float_key_bits(x) == tg__float_key_bits(y);
    }
    case TG_DT_BOOL:
        return ((const uint8_t *)a->data)[i] == ((const uint8_t *)b->data)[j];
    default:
        return ((const int64_t *)a->data)[i] == ((const int64_t *)b->data)[j];
    }
}

/* Orders row i of a against row j of b (same type): < 0, 0 or > 0,
 * ascending, NaN after numbers, nulls last. */
int tg__key_cmp(const tg__keyview *a, size_t i, const tg__keyview *b, size_t j);

/* One sort key: a column and its direction. */
typedef struct tg__sortkey {
    tg__keyview key;
    bool descending;  /* values high to low (NaN still after numbers) */
    bool nulls_first; /* nulls before every value, else after */
    bool nan_is_null; /* a NaN sorts as a null (sort_values, as pandas'
                         NA); else after every number (groupby order) */
} tg__sortkey;

/* Orders row i of a against row j of b (both of s's type) by s's rules
 * (direction, nulls, NaN); s->key is not read.  < 0 puts a's row
 * first.  Sorting one column and comparing rows of two frames (range
 * partitioning against splitters) go through here, so they agree. */
int tg__sortkey_cmp(const tg__sortkey *s, const tg__keyview *a, size_t i,
                    const tg__keyview *b, size_t j);

/* Compares rows i and j of the caller's data: < 0 puts i first. */
typedef int (*tg__row_cmp)(const void *ctx, uint32_t i, uint32_t j);

/* Sorts idx[0..n) stably (equal rows keep their order) with cmp and
 * ctx.  0, or TG_ENOMEM with idx unchanged in content (a permutation of
 * what it held).  Any thread. */
int tg__stable_sort(uint32_t *idx, size_t n, tg__row_cmp cmp, const void *ctx);

/* The rows 0..n-1 ordered by keys[0], then keys[1], ... (stable): a new
 * array of n indices, or NULL when out of memory. */
uint32_t *tg__order_rows(const tg__sortkey *keys, size_t n_keys, size_t n);

/* The first min(limit, n) rows of tg__order_rows' order (the same rows,
 * ties in input order): a new array, or NULL when out of memory.  Keeps
 * a sorted buffer of the best rows, so a small limit costs about one
 * comparison per row instead of a sort. */
uint32_t *tg__order_top(const tg__sortkey *keys, size_t n_keys, size_t n,
                        size_t limit);

#endif /* TG_DATAFRAME_ORDER_INTERNAL_H */
