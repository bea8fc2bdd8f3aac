/* dataframe/value_counts.c - result ordering for groupby and
 * value_counts, and the tg_df_value_counts builder.
 *
 * groupby results are ordered by key ascending with the null group last
 * (pandas and Spark agree on that for ascending sorts); value_counts by
 * count descending, then value ascending, null last among equal counts.
 * Group keys are distinct, so the order is total and the result does
 * not depend on the partitioning.
 */
#include "groupby_internal.h"

uint32_t *tg__order_groups(const tg__keyview *keys, size_t n_keys,
                           const int64_t *counts, size_t n)
{
    tg__sortkey small[9], *sk = small;
    size_t ns = n_keys + (counts != NULL);
    if (ns > 9 && !(sk = tg__malloc(ns * sizeof *sk)))
        return NULL;
    size_t k = 0;
    if (counts)
        sk[k++] = (tg__sortkey){{TG_DT_INT64, counts, NULL, NULL}, true, false};
    for (size_t j = 0; j < n_keys; j++)
        sk[k++] = (tg__sortkey){keys[j], false, false};
    uint32_t *idx = tg__order_rows(sk, ns, n);
    if (sk != small)
        tg__free(sk);
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
    tg_groupby_opts o = {.keep_null_keys = !dropna};
    return tg__df_groupby(df, 1, &column, 1, &agg, &o, TG__ORDER_COUNTS);
}
