/* dataframe/groupby_internal.h - partial life cycle and key ordering,
 * shared by groupby.c (the hash table), agg_tasks.c (tasks, builders)
 * and value_counts.c (result ordering).
 */
#ifndef TG_DATAFRAME_GROUPBY_INTERNAL_H
#define TG_DATAFRAME_GROUPBY_INTERNAL_H

#include "agg_internal.h"

/* A read-only view of key values: a column's or a column builder's. */
typedef struct tg__keyview {
    tg_dtype type;
    const void *data;
    const uint8_t *valid;
    const char *bytes;
} tg__keyview;

tg__keyview tg__keyview_col(const tg__col *c);
/* Orders row i of a against row j of b: < 0, 0, > 0; nulls last. */
int tg__key_cmp(const tg__keyview *a, size_t i, const tg__keyview *b, size_t j);

/* An empty partial for spec (with its one group when there are no
 * keys).  NULL when out of memory. */
tg__partial *tg__partial_new(const tg__gbspec *spec);
void tg__partial_free(void *p);
/* Frees p's lookup table and shrinks its arrays to its groups: for a
 * finished partial, which is only read from then on (merged into
 * another or finished).  Best effort; p stays valid either way. */
void tg__partial_compact(tg__partial *p);
/* Adds frame f's rows to p.  NULL, or an error value. */
tg_value *tg__partial_add_frame(tg__partial *p, const tg__frame *f);
/* Adds src's groups to dst.  0 or TG_ENOMEM. */
int tg__partial_merge(tg__partial *dst, const tg__partial *src);
/* Splits p into k partials by key hash.  0 or TG_ENOMEM. */
int tg__partial_split(const tg__partial *p, size_t k, tg__partial **out);
/* The result frame of p: keys then one column per aggregation, rows in
 * spec->order.  New reference or an error value. */
tg_value *tg__partial_finish(const tg__partial *p);

/* The row order of n rows with these key columns (and counts, for
 * TG__ORDER_COUNTS), as a new array.  NULL when out of memory. */
uint32_t *tg__order_rows(const tg__keyview *keys, size_t n_keys,
                         const int64_t *counts, size_t n);

/* tg_df_groupby with a result order (agg_tasks.c). */
tg_dataframe *tg__df_groupby(tg_dataframe *df, size_t n_keys,
                             const char *const *keys, size_t n_aggs,
                             const tg_agg *aggs, const tg_groupby_opts *o,
                             tg__gb_order order);

#endif /* TG_DATAFRAME_GROUPBY_INTERNAL_H */
