/* dataframe/groupby_internal.h - partial life cycle and key ordering,
 * shared by groupby.c (the hash table), agg_tasks.c (tasks, builders)
 * and value_counts.c (result ordering).
 */
#ifndef TG_DATAFRAME_GROUPBY_INTERNAL_H
#define TG_DATAFRAME_GROUPBY_INTERNAL_H

#include "agg_internal.h"
#include "order_internal.h"

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

/* The order of n result rows: by the n_keys keys ascending (nulls
 * last), or for TG__ORDER_COUNTS by counts descending first.  A new
 * array, or NULL when out of memory. */
uint32_t *tg__order_groups(const tg__keyview *keys, size_t n_keys,
                           const int64_t *counts, size_t n);

/* tg_df_groupby with a result order (agg_tasks.c). */
tg_dataframe *tg__df_groupby(tg_dataframe *df, size_t n_keys,
                             const char *const *keys, size_t n_aggs,
                             const tg_agg *aggs, const tg_groupby_opts *o,
                             tg__gb_order order);

#endif /* TG_DATAFRAME_GROUPBY_INTERNAL_H */
