/* dataframe/partial_internal.h - hash aggregation: groupby specs,
 * aggregation states and partials, shared by tg_df_agg, tg_df_groupby
 * and tg_df_value_counts.
 *
 * A spec says what to aggregate: key columns and aggregations.  Tasks
 * take it as a plain value (tg__gbspec_value) and decode it each time
 * they run.  A partial is a table of groups: distinct key tuples (key
 * columns held in column builders), each with a row count and one state
 * per aggregation (aggstate.c).  A partition becomes a partial by
 * hashing its key columns a column at a time and updating states a
 * column at a time; partials merge by re-inserting groups and combining
 * states, and cross tasks as TG_OBJECT values ("tg.df.partial").
 * Merging is order-insensitive up to float rounding, and float sums are
 * kept in double-double precision so that the rounded results do not
 * depend on the partitioning.  A whole-frame reduction is a groupby with
 * no keys.  Files: partial.c (specs, the group table, merging, results),
 * aggstate.c (states), groupby.c (tasks and builders).
 */
#ifndef TG_DATAFRAME_PARTIAL_INTERNAL_H
#define TG_DATAFRAME_PARTIAL_INTERNAL_H

#include "df_internal.h"
#include "order_internal.h"
#include "runtime/map_internal.h"

__extension__ typedef __int128 tg__i128;

/* One aggregation, resolved against the input's types. */
typedef struct tg__aggspec {
    tg_agg_op op;
    const char *column; /* NULL for size; borrowed from the spec value */
    const char *name;   /* output column; borrowed likewise */
    tg_dtype in;        /* input column type */
    tg_dtype out;       /* output type */
} tg__aggspec;

/* Everything the tasks of one groupby need; read-only once decoded and
 * shared by reference between the partials made with it. */
typedef struct tg__gbspec {
    atomic_int refs;
    tg_value *value; /* the parameter decoded: [keys, key dtypes, aggs,
                        keep_null_keys], each agg [op name, column or
                        null, output name, input dtype] */
    size_t n_keys;
    const char **keys; /* borrowed from value */
    tg_dtype *key_types;
    size_t n_aggs;
    tg__aggspec *aggs;
    bool keep_null_keys;
} tg__gbspec;

/* The order of a result's rows. */
typedef enum tg__gb_order {
    TG__ORDER_KEYS,  /* by key ascending, nulls last */
    TG__ORDER_COUNTS /* value_counts: count descending, then key */
} tg__gb_order;

/* Decodes a spec value (borrowed; the spec takes a reference), checking
 * every field.  NULL with *why set (static text) when malformed or out
 * of memory. */
tg__gbspec *tg__gbspec_decode(const tg_value *v, const char **why);
tg__gbspec *tg__gbspec_ref(tg__gbspec *s);
void tg__gbspec_unref(tg__gbspec *s);
/* The output type of op over a column of type in; false when op does
 * not apply to it (sum of strings, ...). */
bool tg__agg_out_type(tg_agg_op op, tg_dtype in, tg_dtype *out);
/* The op named name ("mean"), or -1. */
int tg__agg_op_of(const char *name);

/* The state of one aggregation over every group of a partial (arrays
 * indexed by group; those an op does not need stay NULL). */
typedef struct tg__aggstate {
    int64_t *count;    /* non-null values seen */
    tg__i128 *isum;    /* int sums */
    double *hi, *lo;   /* double-double sums of x */
    double *hi2, *lo2; /* double-double sums of x * x (var, std) */
    int64_t *imin;     /* min/max of int and bool */
    double *fmin;      /* min/max of float (NaN skipped) */
    int64_t *soff;     /* min/max of strings: bytes in sbuf */
    int64_t *slen;
    uint8_t *has; /* min/max: a value was seen */
    char *sbuf;
    size_t sbuf_len, sbuf_cap;
    struct tg__distinct *set; /* nunique */
} tg__aggstate;

typedef struct tg__partial {
    tg__gbspec *spec; /* a reference */
    size_t n_groups, cap;
    tg__colbuf *keys; /* n_keys distinct key columns */
    uint64_t *hash;   /* per group */
    int64_t *size;    /* rows per group */
    tg__map map;      /* key hash -> group */
    tg__aggstate *st; /* n_aggs */
} tg__partial;

/* Group tables (a partial's groups, nunique's distinct pairs) are runtime
 * maps kept at most half full, which keeps probes short, and rebuilt by
 * their owner when an insert would pass that: entries go back in index
 * order, so their hashes are read sequentially rather than in slot
 * order.  hash_of(ud, i) is entry i's hash. */
static inline bool tg__group_map_full(const tg__map *m)
{
    return (m->n + 1) * 2 > m->cap;
}

int tg__group_map_rebuild(tg__map *m, size_t n,
                          uint64_t (*hash_of)(const void *, uint32_t),
                          const void *ud);

/* ---- aggregation states (aggstate.c) ------------------------------------- */

int tg__aggstate_grow(tg__aggstate *s, const tg__aggspec *a, size_t old,
                      size_t cap);
void tg__aggstate_free(tg__aggstate *s);
/* Shrinks the per-group arrays to n groups (best effort). */
void tg__aggstate_shrink(tg__aggstate *s, size_t n);
/* Updates states from column c (NULL for size) at rows with gid[i] !=
 * UINT32_MAX whose bit in valid is set: c's own bitmap, or one that also
 * clears c's NaN slots (NULL: every row is present).  finite says that
 * every value of a float column is finite, so sums take the fast path
 * (an infinity needs another).  0 or TG_ENOMEM. */
int tg__aggstate_update(tg__aggstate *s, const tg__aggspec *a, const tg__col *c,
                        const uint8_t *valid, bool finite, const uint32_t *gid,
                        size_t n);
/* Combines each group g of src into dst's group map[g] (groups mapped
 * to UINT32_MAX are left out).  0 or TG_ENOMEM. */
int tg__aggstate_merge(tg__aggstate *dst, const tg__aggstate *src,
                       const tg__aggspec *a, const uint32_t *map, size_t n_src);
/* The output column for groups idx[0..n) of a partial with n_groups
 * groups and row counts size.  NULL with *err set on failure. */
tg__col *tg__aggstate_finish(const tg__aggstate *s, const tg__aggspec *a,
                             const int64_t *size, size_t n_groups,
                             const uint32_t *idx, size_t n, tg_value **err);

/* A state's arrays for n_groups groups on the wire: each array the op
 * uses as a piece, then string min/max bytes and nunique's set.  0 or
 * TG_ENOMEM. */
struct tg__enc;
struct tg__dec;
int tg__aggstate_encode(struct tg__enc *e, const tg__aggstate *s,
                        size_t n_groups);
/* Reads what encode wrote into an empty (zeroed) state for a, adopting
 * the pieces; checks lengths, flags and every string span.  0 or a
 * negative code with tg_last_error() set; s is then freed by
 * tg__aggstate_free as usual. */
int tg__aggstate_decode(struct tg__dec *d, tg__aggstate *s,
                        const tg__aggspec *a, size_t n_groups);

/* Distinct (group, value) pairs for nunique (aggstate.c). */
typedef struct tg__distinct {
    size_t n, cap;
    uint32_t *gid;
    uint64_t *vh;  /* value hash */
    int64_t *bits; /* int/bool value or double bits; string: offset */
    int64_t *slen; /* strings */
    char *sbuf;
    size_t sbuf_len, sbuf_cap;
    tg__map map; /* mix(vh ^ gid) -> entry */
} tg__distinct;
void tg__distinct_free(tg__distinct *d);

/* ---- partials (partial.c) ------------------------------------------------ */

/* An empty partial for spec (a new reference taken; with its one group
 * when there are no keys).  NULL when out of memory. */
tg__partial *tg__partial_new(tg__gbspec *spec);
void tg__partial_free(tg__partial *p);
/* Wraps p as a "tg.df.partial" value (new reference), compacting it
 * first: it is only read from then on.  Steals p, even on failure. */
tg_value *tg__partial_value(tg__partial *p);
/* The partial inside a value, or NULL for any other value. */
const tg__partial *tg__partial_of(const tg_value *v);
/* Adds frame f's rows to p.  NULL, or an error value. */
tg_value *tg__partial_add_frame(tg__partial *p, const tg__frame *f);
/* Adds src's groups to dst (made with an equal spec).  0 or TG_ENOMEM. */
int tg__partial_merge(tg__partial *dst, const tg__partial *src);
/* Splits p into k partials by key hash.  0 or TG_ENOMEM. */
int tg__partial_split(const tg__partial *p, size_t k, tg__partial **out);
/* The result frame of p: keys then one column per aggregation, rows in
 * the given order.  New reference or an error value. */
tg_value *tg__partial_finish(const tg__partial *p, tg__gb_order order);
/* The order of n result rows: by the n_keys keys ascending (nulls
 * last), or for TG__ORDER_COUNTS by counts descending first.  A new
 * array, or NULL when out of memory. */
uint32_t *tg__order_groups(const tg__keyview *keys, size_t n_keys,
                           const int64_t *counts, size_t n, tg__gb_order order);

#endif /* TG_DATAFRAME_PARTIAL_INTERNAL_H */
