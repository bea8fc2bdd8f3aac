/* dataframe/value_counts.c - result ordering for groupby and
 * value_counts, and the tg_df_value_counts builder.
 *
 * groupby results are ordered by key ascending with the null group last
 * (pandas and Spark agree on that for ascending sorts); value_counts by
 * count descending, then value ascending, null last among equal counts.
 * Group keys are distinct, so the order is total and the result does
 * not depend on the partitioning.
 */
#include <stdlib.h>

#include "groupby_internal.h"

typedef struct order_ctx {
    const tg__keyview *keys;
    size_t n_keys;
    const int64_t *counts;
} order_ctx;

/* qsort has no context argument: the context is per thread. */
static _Thread_local const order_ctx *current;

static int cmp_rows(const void *x, const void *y)
{
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    const order_ctx *c = current;
    if (c->counts && c->counts[i] != c->counts[j])
        return c->counts[i] > c->counts[j] ? -1 : 1;
    for (size_t k = 0; k < c->n_keys; k++) {
        int r = tg__key_cmp(&c->keys[k], i, &c->keys[k], j);
        if (r)
            return r;
    }
    return (i > j) - (i < j);
}

uint32_t *tg__order_rows(const tg__keyview *keys, size_t n_keys,
                         const int64_t *counts, size_t n)
{
    uint32_t *idx = tg__malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    if (n_keys == 0 && !counts)
        return idx;
    order_ctx c = {keys, n_keys, counts};
    const order_ctx *saved = current;
    current = &c;
    qsort(idx, n, sizeof *idx, cmp_rows);
    current = saved;
    return idx;
}

tg_dataframe *tg_df_value_counts(tg_dataframe *df, const char *column,
                                 bool dropna)
{
    if (!df || !column)
        return tg__seterr_null(TG_EINVAL, "value_counts: NULL argument");
    tg_agg agg = {NULL, TG_AGG_SIZE, "count"};
    if (strcmp(column, "count") == 0)
        agg.name = "size";
    tg_groupby_opts o = TG_GROUPBY_OPTS_INIT;
    o.dropna = dropna;
    return tg__df_groupby(df, 1, &column, 1, &agg, &o, TG__ORDER_COUNTS);
}
