/* examples/dataframe.c - a dataframe from C arrays: paid revenue by
 * city.  Prints the result as CSV and checks it.
 *
 * Each partition is one tg_frame_from_arrays call over the arrays a
 * program already has (a copy: int64 and double arrays, bools as one
 * byte each, strings as Arrow offsets and bytes, nulls as Arrow
 * bitmaps).  The query filters, adds a column and groups; a null city
 * and a NaN price are missing values, as in pandas.
 *
 * Usage: dataframe [sync|threads|loopback]   (default sync)
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <taskgraph.h>

static const char *const NAMES[] = {"city", "units", "price", "paid"};
static const tg_dtype TYPES[] = {TG_DT_STRING, TG_DT_INT64, TG_DT_FLOAT64,
                                 TG_DT_BOOL};

/* Partition 0: Oslo, Lima, (null), Oslo, Lima. */
static const char BYTES0[] = "OsloLimaOsloLima";
static const int64_t OFFSETS0[] = {0, 4, 8, 8, 12, 16};
static const uint8_t CITY_VALID0[] = {0x1b}; /* row 2 is null */
static const int64_t UNITS0[] = {3, 1, 7, 2, 5};
static const double PRICE0[] = {2.5, 10.0, 1.0, 4.0, NAN};
static const uint8_t PAID0[] = {1, 1, 1, 0, 1};

/* Partition 1: Lima, Oslo, Oslo. */
static const char BYTES1[] = "LimaOsloOslo";
static const int64_t OFFSETS1[] = {0, 4, 8, 12};
static const int64_t UNITS1[] = {2, 4, 6};
static const double PRICE1[] = {10.0, 2.5, 3.0};
static const uint8_t PAID1[] = {1, 1, 1};
static const uint8_t UNITS_VALID1[] = {0x05}; /* row 1 is null */

static tg_value *partition0(void)
{
    const tg_str_array city = {OFFSETS0, BYTES0};
    const void *columns[] = {&city, UNITS0, PRICE0, PAID0};
    const uint8_t *validity[] = {CITY_VALID0, NULL, NULL, NULL};
    return tg_frame_from_arrays(4, NAMES, TYPES, 5, columns, validity);
}

static tg_value *partition1(void)
{
    const tg_str_array city = {OFFSETS1, BYTES1};
    const void *columns[] = {&city, UNITS1, PRICE1, PAID1};
    const uint8_t *validity[] = {NULL, UNITS_VALID1, NULL, NULL};
    return tg_frame_from_arrays(4, NAMES, TYPES, 3, columns, validity);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "sync";
    tg_scheduler *s = strcmp(which, "sync") == 0       ? tg_scheduler_sync()
                      : strcmp(which, "threads") == 0  ? tg_scheduler_threads(0)
                      : strcmp(which, "loopback") == 0 ? tg_scheduler_loopback()
                                                       : NULL;
    if (!s) {
        fprintf(stderr, "unknown scheduler '%s'\n", which);
        return 2;
    }
    tg_value *parts[2] = {partition0(), partition1()};
    if (!parts[0] || !parts[1]) {
        fprintf(stderr, "frame_from_arrays: %s\n", tg_last_error());
        return 1;
    }
    tg_graph *g = tg_graph_new();
    tg_dataframe *sales = tg_df_from_delayed(g, 2, parts, 4, NAMES, TYPES);
    tg_dataframe *paid = tg_df_filter(sales, tg_col("paid"));
    tg_dataframe *rev =
        tg_df_assign(paid, "revenue", tg_mul(tg_col("units"), tg_col("price")));
    tg_agg aggs[] = {{"revenue", TG_AGG_SUM, NULL},
                     {"price", TG_AGG_MEAN, NULL},
                     {NULL, TG_AGG_SIZE, "orders"}};
    tg_dataframe *by_city =
        tg_df_groupby(rev, 1, (const char *[]){"city"}, 3, aggs, NULL);
    if (!by_city) {
        fprintf(stderr, "building the query failed: %s\n", tg_last_error());
        return 1;
    }
    tg_value *r = tg_df_compute(by_city, s);
    int rc = 0;
    if (tg_is_error(r)) {
        fprintf(stderr, "%s failed: %s\n", tg_error_key(r),
                tg_error_message(r));
        rc = 1;
    } else {
        tg_frame_write_csv(r, stdout);
        /* Lima: 1 * 10 + 2 * 10 (the NaN price is skipped); Oslo: 3 * 2.5
         * + 6 * 3 (the null units give a null revenue). */
        rc = tg_frame_nrows(r) == 2 && tg_frame_float64(r, 1)[0] == 30.0
                     && tg_frame_float64(r, 1)[1] == 25.5
                     && tg_frame_int64(r, 3)[1] == 3
                 ? 0
                 : 1;
    }
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(s);
    return rc;
}
