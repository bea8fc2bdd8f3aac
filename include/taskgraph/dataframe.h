/* taskgraph/dataframe.h - partitioned dataframes built as task graphs.
 *
 * A frame (a TG_FRAME value) is a columnar table: int64, float64, bool and
 * string columns, each with a validity bitmap for nulls (Arrow layout).
 * A tg_dataframe is a lazy query: a schema, a number of partitions and
 * the operations that produce them.  Builders (filter, assign, select,
 * rename, map_partitions, sort_values) only record the operation; a
 * terminal builder (agg, len, groupby, value_counts, merge, transform,
 * repartition, shuffle, head, concat, to_csv, partition) turns the query into
 * tasks per partition, reading from a CSV file only the columns it needs, so a
 * large file becomes many small tasks that any scheduler runs with bounded
 * memory.  Every task is a registered function with plain-value arguments (the
 * pointer forms of map_partitions and transform aside), so identical queries
 * share keys and run once.  Null rules, the CSV block rule and the plan:
 * dataframe/README.md.
 */
#ifndef TASKGRAPH_DATAFRAME_H
#define TASKGRAPH_DATAFRAME_H

#include <stdio.h>

#include "compute.h"
#include "dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Frames: immutable columnar tables (TG_FRAME values) ------------ */

/* The frame accessors borrow `frame` and may be called from any thread.
 * A non-frame value has 0 rows and 0 columns; an out-of-range column or
 * row gives NULL / 0 / true (null). */
TG_API size_t tg_frame_nrows(const tg_value *frame);
TG_API size_t tg_frame_ncols(const tg_value *frame);
/* Column name; borrowed, lives as long as the frame. */
TG_API const char *tg_frame_colname(const tg_value *frame, size_t col);
TG_API tg_dtype tg_frame_coltype(const tg_value *frame, size_t col);
/* Index of the column named name, or -1. */
TG_API long tg_frame_colindex(const tg_value *frame, const char *name);
/* True when the value at (col, row) is null. */
TG_API bool tg_frame_is_null(const tg_value *frame, size_t col, size_t row);
/* Number of nulls in a column. */
TG_API size_t tg_frame_null_count(const tg_value *frame, size_t col);
/* The validity bitmap of a column: bit (row % 8) of byte row / 8 is set
 * when the value is present.  NULL when the column has no nulls. */
TG_API const uint8_t *tg_frame_validity(const tg_value *frame, size_t col);
/* Typed column arrays (nrows entries; a null slot holds 0), or NULL when
 * the column has another type.  Bools are one byte each, 0 or 1. */
TG_API const int64_t *tg_frame_int64(const tg_value *frame, size_t col);
TG_API const double *tg_frame_float64(const tg_value *frame, size_t col);
TG_API const uint8_t *tg_frame_bool(const tg_value *frame, size_t col);
/* String at (col, row): a pointer to its bytes (not NUL-terminated) and
 * its length in *len; NULL for a null or a non-string column. */
TG_API const char *tg_frame_str(const tg_value *frame, size_t col, size_t row,
                                size_t *len);

/* Writes the frame as CSV: a header row, then one line per row ending in
 * "\n".  Nulls are empty fields (a row of one null is written "", as a
 * blank line would be skipped; see tg_csv_opts); an empty string is
 * written "" so that it reads back as a string; fields holding the
 * delimiter, a quote, CR or LF are quoted (RFC 4180); floats use the
 * shortest form that reads back to the same double.  A frame of no
 * columns writes nothing (the empty file reads back as it).  Returns 0
 * or TG_EIO / TG_EINVAL.  Any thread. */
TG_API int tg_frame_write_csv(const tg_value *frame, FILE *out);

/* A frame builder: appends rows column by column.  Not thread-safe. */
typedef struct tg_frame_builder tg_frame_builder;

/* A builder for ncols columns with these names (copied) and types.
 * NULL on bad arguments (duplicate names) or out of memory. */
TG_API tg_frame_builder *tg_frame_builder_new(size_t ncols,
                                              const char *const *names,
                                              const tg_dtype *types);
/* Appends one value to column col.  Each returns 0, or TG_EINVAL (wrong
 * type or column) / TG_ENOMEM.  Strings are copied. */
TG_API int tg_frame_builder_int(tg_frame_builder *b, size_t col, int64_t v);
TG_API int tg_frame_builder_float(tg_frame_builder *b, size_t col, double v);
TG_API int tg_frame_builder_bool(tg_frame_builder *b, size_t col, bool v);
TG_API int tg_frame_builder_str(tg_frame_builder *b, size_t col, const char *s,
                                size_t len);
TG_API int tg_frame_builder_null(tg_frame_builder *b, size_t col);
/* Finishes the frame: a new reference, or NULL when the columns have
 * different lengths or memory ran out.  Frees b in both cases. */
TG_API tg_value *tg_frame_builder_finish(tg_frame_builder *b);
/* Frees an unfinished builder.  NULL does nothing. */
TG_API void tg_frame_builder_free(tg_frame_builder *b);

/* A string column in Arrow's layout: row r is the bytes
 * [offsets[r], offsets[r + 1]) of bytes (not NUL-terminated). */
typedef struct tg_str_array {
    const int64_t *offsets; /* nrows + 1, non-decreasing, offsets[0] >= 0 */
    const char *bytes;      /* what the offsets index; may be NULL when every
                               string is empty */
} tg_str_array;

/* A frame copied from C arrays, one per column, in the layout the frame
 * accessors return:
 *     TG_DT_INT64    columns[i] is a const int64_t[nrows]
 *     TG_DT_FLOAT64  columns[i] is a const double[nrows]
 *     TG_DT_BOOL     columns[i] is a const uint8_t[nrows], each 0 or 1
 *     TG_DT_STRING   columns[i] points at one tg_str_array
 * validity[i] is column i's Arrow bitmap ((nrows + 7) / 8 bytes, bit
 * (r % 8) of byte r / 8 set when row r is present, as
 * tg_frame_validity); a NULL validity[i], or a NULL validity, means no
 * nulls.  A null row's value is ignored (the frame holds 0 or "").  NaN
 * is a value here; the dataframe's operations treat it as missing
 * (README.md, "Null rules").  names are copied; columns[i] may be NULL
 * only when nrows is 0.
 *
 * Returns a new reference.  Copies everything: the caller keeps, and
 * may free or change, its arrays.  NULL with tg_last_error() set on bad
 * input (TG_EINVAL: a NULL array with ncols > 0, a missing or duplicate
 * name, a type that is not a tg_dtype, a NULL column with rows, string
 * offsets that are negative or decrease, a bool that is not 0 or 1) or
 * out of memory (TG_ENOMEM).  Any thread. */
TG_API tg_value *tg_frame_from_arrays(size_t ncols, const char *const *names,
                                      const tg_dtype *types, size_t nrows,
                                      const void *const *columns,
                                      const uint8_t *const *validity);

/* ---- Column expressions --------------------------------------------- */

/* An expression over the columns of a frame, evaluated a column at a
 * time.  Constructors return a new expression, or NULL when out of memory
 * or when an operand is NULL; combinators steal their operands (even on
 * failure), so nested calls need no cleanup:
 *     tg_and(tg_gt(tg_col("x"), tg_lit_int(0)), tg_not(tg_is_null(...)))
 * Types are checked when a builder receives the expression.  Arithmetic
 * on int64 gives int64 (+ - * and floor division), true division gives
 * float64, mixed int/float gives float64; a null operand gives null;
 * floor division by integer zero gives null.  Float floor division is
 * Python's and NumPy's: the floor of the exact quotient, computed from
 * the exact remainder (fmod), so 1.0 // 0.1 is 9.0 although 1.0 / 0.1
 * rounds to 10.0; -1.0 // 0.1 is -10.0; a zero result has the sign of
 * x / y; by zero it is x / y (inf, -inf or NaN); a NaN or infinite x
 * gives NaN.  Other float arithmetic follows IEEE.  A comparison
 * involving a null is false (never null), as is one with NaN.  and/or/not
 * follow SQL three-valued logic on null bools.  tg_is_null is true for a
 * null and for a float NaN (pandas' isna).  Any thread (expressions are
 * plain data). */
typedef struct tg_expr tg_expr;

TG_API tg_expr *tg_col(const char *name);
TG_API tg_expr *tg_lit_int(int64_t v);
TG_API tg_expr *tg_lit_float(double v);
TG_API tg_expr *tg_lit_bool(bool v);
TG_API tg_expr *tg_lit_str(const char *s);
TG_API tg_expr *tg_eq(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_ne(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_lt(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_le(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_gt(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_ge(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_and(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_or(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_not(tg_expr *a);
TG_API tg_expr *tg_is_null(tg_expr *a);
TG_API tg_expr *tg_add(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_sub(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_mul(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_div(tg_expr *a, tg_expr *b);
TG_API tg_expr *tg_floordiv(tg_expr *a, tg_expr *b);
/* Frees an expression not handed to a builder.  NULL does nothing. */
TG_API void tg_expr_free(tg_expr *e);
/* Evaluates e over a frame (borrowed): a new one-column frame named
 * "value", or an error value.  Steals e.  Any thread. */
TG_API tg_value *tg_expr_eval(tg_expr *e, const tg_value *frame);

/* ---- Dataframes ----------------------------------------------------- */

/* A dataframe belongs to its graph, like a delayed value: it lives until
 * tg_graph_free, needs no freeing, and every builder returns a new one
 * (or NULL with tg_last_error() set; a NULL input makes a builder return
 * NULL too, so a chain is checked once at the end).  Building a query
 * never changes another: what a task reads is in its arguments, so its
 * key.  Building is not thread-safe (caller serialises, as for the
 * graph); the tasks it adds run on any scheduler and thread. */
typedef struct tg_dataframe tg_dataframe;

TG_API size_t tg_df_npartitions(const tg_dataframe *df);
TG_API size_t tg_df_ncols(const tg_dataframe *df);
TG_API const char *tg_df_colname(const tg_dataframe *df, size_t col);
TG_API tg_dtype tg_df_coltype(const tg_dataframe *df, size_t col);
/* The delayed frame of partition i (borrowed from the graph), or NULL.
 * Its frame has every column of the schema (like tg_df_compute's); the
 * same value on every call. */
TG_API tg_value *tg_df_partition(const tg_dataframe *df, size_t i);

/* Options of reading (tg_read_csv, tg_frame_from_csv) and writing CSV
 * (tg_frame_write_csv_opts, tg_to_csv_opts); all-zero means the
 * defaults, and each reader or writer ignores the other's fields.
 *
 * Missing values, as in pandas.  Reading, an unquoted empty field is
 * null in every column, and in int64, float64 and bool columns (and
 * when inferring types) so are the unquoted NaN spellings and pandas'
 * other default NA strings: "NaN", "nan", "-NaN", "-nan", "NA", "N/A",
 * "n/a", "<NA>", "#NA", "#N/A", "#N/A N/A", "NULL", "null", "None",
 * "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN" (any text strtod reads as
 * NaN, too).  String columns keep those as text; na_values adds strings
 * that read as null in every column.  A quoted field is always data
 * (a quoted "" is the empty string, or null in a non-string column),
 * so a writer can quote a value that would otherwise read as null.
 * Writing, a null is na_rep; with the default (NULL) it is an empty
 * field, except that a row of one null is written "" (a blank line
 * would be skipped), which reads back as null in non-string columns and
 * as the empty string in a string column - give na_rep (and the same
 * string in na_values when reading back) to keep null and "" apart
 * there.  A float NaN is written "nan", which reads back as null. */
typedef struct tg_csv_opts {
    size_t blocksize;               /* bytes per partition; 0 = 64 MiB */
    size_t sample_bytes;            /* bytes read to infer types; 0 = 256 KiB */
    char delimiter;                 /* 0 = ','; '"', '\n' and '\r' are
                                       refused (TG_EINVAL) */
    size_t n_dtypes;                /* types given for these columns ... */
    const char *const *dtype_names; /* ... by name (others inferred) */
    const tg_dtype *dtypes;
    size_t n_na_values;           /* reading: these unquoted fields ... */
    const char *const *na_values; /* ... are null in every column */
    const char *na_rep; /* writing: the text of a null (NULL: see above);
                           without the delimiter, quotes, CR or LF */
} tg_csv_opts;

/* A dataframe reading CSV files: path_or_glob names one file or a glob
 * pattern (files in sorted order; each must have the same header).  Each
 * file is split into byte ranges of opts->blocksize, one partition each.
 * The first row is the header.  Types come from opts->dtypes or are
 * inferred from the first sample_bytes of the first file (bool, int64,
 * float64, else string).  An unquoted empty field is null; a quoted ""
 * is the empty string.  Quoting follows RFC 4180 (fields may hold
 * delimiters, quotes written "" and newlines); CRLF line ends are
 * accepted; blank lines are skipped.  Blocks split at record starts even
 * when quoted fields hold newlines (see dataframe/README.md).  Only the
 * columns a query reads are converted: each read task takes the columns
 * it parses as an argument.
 *
 * Errors come at two times, so check both: files are opened at build
 * time to read headers and sizes, and a missing file, a bad header or
 * bad options make this return NULL (tg_last_error() says why); a
 * malformed row (ragged, a stray or unterminated quote) or a value that
 * does not parse as its column's type is found when the query runs,
 * wherever the row is (type inference stops before a malformed row), and
 * the computed result is an error value whose message reads
 * "file:line: what", e.g. "events.csv:1234: expected 6 fields, found
 * 5". */
TG_API tg_dataframe *tg_read_csv(tg_graph *g, const char *path_or_glob,
                                 const tg_csv_opts *opts);

/* Parses CSV text held in memory (as tg_read_csv does a block) into a
 * frame.  New reference, or an error value ("<memory>:line: what" for a
 * malformed row).  opts may be NULL. */
TG_API tg_value *tg_frame_from_csv(const char *data, size_t len,
                                   const tg_csv_opts *opts);

/* tg_frame_write_csv with options (NULL: the defaults): the delimiter
 * and na_rep of opts (see tg_csv_opts).  TG_EINVAL when they are not
 * allowed.  Any thread. */
TG_API int tg_frame_write_csv_opts(const tg_value *frame, FILE *out,
                                   const tg_csv_opts *opts);

/* A dataframe from n delayed frames someone else produced, with the
 * schema given (names copied).  parts are delayed values of g or frame
 * values (stolen).  Each partition is checked against the schema when
 * it is computed: a mismatch fails that task. */
TG_API tg_dataframe *tg_df_from_delayed(tg_graph *g, size_t n,
                                        tg_value *const *parts, size_t ncols,
                                        const char *const *names,
                                        const tg_dtype *types);

/* Rows where pred is true (false and null rows are dropped).  pred must
 * be a bool expression; steals pred. */
TG_API tg_dataframe *tg_df_filter(tg_dataframe *df, tg_expr *pred);
/* Adds column name (or replaces it, keeping its position) with the value
 * of e.  Steals e. */
TG_API tg_dataframe *tg_df_assign(tg_dataframe *df, const char *name,
                                  tg_expr *e);
/* Keeps the n named columns, in that order. */
TG_API tg_dataframe *tg_df_select(tg_dataframe *df, size_t n,
                                  const char *const *names);
/* Renames column old_names[i] to new_names[i] (names copied), keeping
 * the order of the columns.  Fails (NULL, TG_EINVAL) when an old name
 * is not a column or appears twice, or when two columns would end up
 * with one name; swapping names is fine. */
TG_API tg_dataframe *tg_df_rename(tg_dataframe *df, size_t n,
                                  const char *const *old_names,
                                  const char *const *new_names);

/* A user function over one partition: borrows frame, returns a new
 * frame reference (or an error value).  Runs on any thread. */
typedef tg_value *(*tg_frame_fn)(const tg_value *frame, void *ctx);
/* Applies fn to every partition.  The output schema is given (ncols
 * names and types; ncols = 0 means "same as the input") and checked on
 * every result.  ctx is borrowed and must outlive the graph's computes.
 * fn is called through its pointer, so each task is a *local* call
 * (DESIGN.md): it runs on the single-process schedulers (sync, threads)
 * only; a scheduler that crosses processes refuses it.  Its key is
 * valid in this process only, and never shared with another
 * map_partitions.  name (copied; NULL: "map-partitions") names the
 * tasks.  Use tg_df_map_partitions_named to run anywhere. */
TG_API tg_dataframe *tg_df_map_partitions(tg_dataframe *df, const char *name,
                                          tg_frame_fn fn, void *ctx,
                                          size_t ncols,
                                          const char *const *names,
                                          const tg_dtype *types);
/* Applies the function registered as fn_name (tg_register) to every
 * partition: it receives the partition's frame as args[0] (nargs 1,
 * its registered context) and returns a new frame or an error value.
 * The output schema is given as for tg_df_map_partitions and checked on
 * every result.  The tasks are registered calls: they run on every
 * scheduler, and identical maps share keys.  Fails at build time (NULL,
 * TG_ENOENT) when nothing is registered under fn_name. */
TG_API tg_dataframe *
tg_df_map_partitions_named(tg_dataframe *df, const char *fn_name, size_t ncols,
                           const char *const *names, const tg_dtype *types);

/* A delayed frame of the first n rows, looking at the first npartitions
 * partitions only (0 = all of them, so the answer is always complete). */
TG_API tg_value *tg_df_head(tg_dataframe *df, size_t n, size_t npartitions);
/* Computes the whole dataframe: one frame, partitions concatenated in
 * order.  New reference; an error value when a task failed.  Adds a task
 * to df's graph, so the caller serialises it with building. */
TG_API tg_value *tg_df_compute(tg_dataframe *df, tg_scheduler *s);
/* A delayed frame of the whole dataframe (what tg_df_compute computes). */
TG_API tg_value *tg_df_concat(tg_dataframe *df);

/* Writes CSV files.  When path contains '*', one file per partition with
 * '*' replaced by the partition number; otherwise one file with the
 * partitions in order (written one after another as a chain of tasks).
 * Returns a delayed int (rows written), borrowed from the graph; nothing
 * is written until it is computed. */
TG_API tg_value *tg_to_csv(tg_dataframe *df, const char *path);
/* tg_to_csv with options (NULL: the defaults): the delimiter and na_rep
 * of opts (see tg_csv_opts).  NULL (TG_EINVAL) when they are not
 * allowed. */
TG_API tg_value *tg_to_csv_opts(tg_dataframe *df, const char *path,
                                const tg_csv_opts *opts);

/* ---- Reductions and groupby ----------------------------------------- */

typedef enum tg_agg_op {
    TG_AGG_COUNT = 0, /* non-null values (int64) */
    TG_AGG_SIZE,      /* rows, nulls included (int64); column ignored */
    TG_AGG_SUM,       /* int64 for int64/bool, float64 for float64 */
    TG_AGG_MEAN,      /* float64 */
    TG_AGG_MIN,       /* the column's type */
    TG_AGG_MAX,
    TG_AGG_VAR,    /* float64, ddof = 1 */
    TG_AGG_STD,    /* float64, ddof = 1 */
    TG_AGG_NUNIQUE /* distinct non-null values (int64) */
} tg_agg_op;

/* One aggregation: op over column, output column named name (copied), or
 * "<column>_<op>" when name is NULL ("size" for TG_AGG_SIZE). */
typedef struct tg_agg {
    const char *column;
    tg_agg_op op;
    const char *name;
} tg_agg;

/* "count", "size", "sum", ... */
TG_API const char *tg_agg_op_name(tg_agg_op op);

/* Options of tg_df_agg and tg_df_groupby; all-zero (or a NULL opts)
 * means the defaults, so designated initialisers name only what they
 * change:
 *     tg_groupby_opts o = {.split_out = 4};   -- null keys still dropped */
typedef struct tg_groupby_opts {
    bool keep_null_keys; /* false: rows with a null key are dropped
                            (pandas); true: they form their own group,
                            ordered last (pandas' dropna=False).  A NaN
                            key is a null key. */
    size_t split_every;  /* fan-in of the tree reduction; 0 = 8 */
    size_t split_out;    /* > 1: hash-partition the groups into this many
                            reductions (for many groups); 0 or 1: one */
} tg_groupby_opts;
/* The defaults, spelled out (all zero). */
#define TG_GROUPBY_OPTS_INIT                                                   \
    {                                                                          \
        false, 0, 0                                                            \
    }

/* Whole-column reductions as a tree: per-partition partials combined
 * split_every at a time.  A delayed one-row frame with one column per
 * aggregation.  Nulls and NaN are skipped (a NaN is missing, as in
 * pandas: count and nunique leave it out, size counts its row); sum of
 * no values is 0; mean, var, std, min and max of no values are null;
 * var/std need two values. */
TG_API tg_value *tg_df_agg(tg_dataframe *df, size_t n_aggs, const tg_agg *aggs,
                           const tg_groupby_opts *opts);
/* Number of rows: a delayed int. */
TG_API tg_value *tg_df_len(tg_dataframe *df);

/* Groups by the n_keys key columns and aggregates: a one-partition
 * dataframe with the key columns then one column per aggregation, ordered
 * by key ascending (nulls last).  opts may be NULL. */
TG_API tg_dataframe *tg_df_groupby(tg_dataframe *df, size_t n_keys,
                                   const char *const *keys, size_t n_aggs,
                                   const tg_agg *aggs,
                                   const tg_groupby_opts *opts);
/* Counts of each distinct value of column: a one-partition dataframe
 * (column, "count"), ordered by count descending then value ascending
 * (null last).  NaN counts as null.  dropna = false counts nulls (with
 * NaN) as one value, shown as null. */
TG_API tg_dataframe *tg_df_value_counts(tg_dataframe *df, const char *column,
                                        bool dropna);

/* ---- Sorting -------------------------------------------------------- */

/* Where rows with a null (or NaN) sort key go, for every key. */
typedef enum tg_na_position {
    TG_NA_LAST = 0, /* after every value (pandas' default) */
    TG_NA_FIRST     /* before every value */
} tg_na_position;

/* Options of tg_df_sort_values; all-zero (or a NULL opts) means the
 * defaults. */
typedef struct tg_sort_opts {
    tg_na_position na_position; /* TG_NA_LAST (0) or TG_NA_FIRST */
    size_t npartitions; /* output partitions; 0 = as many as the input */
} tg_sort_opts;
/* The defaults, spelled out (all zero). */
#define TG_SORT_OPTS_INIT                                                      \
    {                                                                          \
        TG_NA_LAST, 0                                                          \
    }

/* The rows of df ordered by the n_keys key columns: by keys[0], rows
 * equal there by keys[1], and so on; key i ascending when ascending[i]
 * is true (ascending NULL: every key ascending).  Nulls, and NaN in
 * float64 keys, go last (or first, per opts->na_position) whatever the
 * direction.  The sort is stable: rows equal on every key keep their
 * input order (partition, then row).  A lazy node like filter: nothing
 * runs until a terminal builder lowers it.  Then it runs as a
 * distributed sort: each partition's keys are sampled, splitters
 * chosen from the samples, rows range-partitioned by a shuffle (pieces
 * move worker to worker on a cluster) and each range sorted; output
 * partitions are in order and balanced even for skewed or mostly-null
 * keys (ties are split by position).  tg_df_head(sorted, n, 0) of the
 * result runs as a per-partition top n and one merge instead.  keys
 * and ascending are borrowed.  NULL with tg_last_error() (TG_EINVAL)
 * for n_keys 0, a NULL array, an unknown column or a bad na_position.
 * Caller serialises (as every builder). */
TG_API tg_dataframe *tg_df_sort_values(tg_dataframe *df, size_t n_keys,
                                       const char *const *keys,
                                       const bool *ascending,
                                       const tg_sort_opts *opts);
/* The n rows with the smallest keys (ascending on every key, nulls
 * last, ties in input order): a one-partition dataframe computed as a
 * top n per partition plus one merge, without a shuffle.  Rows with a
 * null or NaN key come only when fewer than n rows have none (pandas
 * drops them).  keys borrowed; errors as tg_df_sort_values. */
TG_API tg_dataframe *tg_df_nsmallest(tg_dataframe *df, size_t n, size_t n_keys,
                                     const char *const *keys);
/* As tg_df_nsmallest with every key descending (nulls still last). */
TG_API tg_dataframe *tg_df_nlargest(tg_dataframe *df, size_t n, size_t n_keys,
                                    const char *const *keys);

/* ---- Merge (join) --------------------------------------------------- */

typedef enum tg_join_how {
    TG_JOIN_INNER = 0, /* pairs of matching rows only */
    TG_JOIN_LEFT,      /* and every left row that matched nothing */
    TG_JOIN_RIGHT,     /* and every right row that matched nothing */
    TG_JOIN_OUTER      /* both */
} tg_join_how;

/* Options of tg_df_merge; all-zero means the defaults, but the keys
 * must be named: either n_on and on (the same names on both sides), or
 * n_on, left_on and right_on. */
typedef struct tg_merge_opts {
    size_t n_on;                 /* key columns */
    const char *const *on;       /* names on both sides, or NULL ... */
    const char *const *left_on;  /* ... and these */
    const char *const *right_on; /*     (same types, pairwise) */
    tg_join_how how;             /* TG_JOIN_INNER (0) by default */
    const char *suffixes[2];     /* for clashing non-key names; NULL =
                                    "_x", "_y" */
    bool sql_nulls;              /* false: a null key matches a null key
                                    (pandas); true: nothing (SQL) */
    size_t broadcast_partitions; /* a side with at most this many
                                    partitions is broadcast instead of
                                    shuffled; 0 = 1 */
} tg_merge_opts;
/* The defaults, spelled out (no keys yet). */
#define TG_MERGE_OPTS_INIT                                                     \
    {                                                                          \
        0, NULL, NULL, NULL, TG_JOIN_INNER, {NULL, NULL}, false, 0             \
    }

/* Joins left and right on equal keys (a hash join): every pair of rows
 * whose keys are equal (-0.0 equals 0.0; a NaN is a null, as in
 * pandas; a null equals a null unless sql_nulls), plus the unmatched
 * rows that how keeps, their other side's columns null.  Columns:
 * left's, then right's; with `on` the key columns appear once (left's,
 * filled from right for rows only the right has), with left_on/right_on
 * both sides keep theirs.
 * A name on both sides (keys of `on` aside) gets the suffixes.  When a
 * side has at most broadcast_partitions partitions (and how keeps none
 * of its unmatched rows) it is sent whole to every partition of the
 * other, whose partitioning the result keeps; otherwise both sides are
 * hash-shuffled by key into max(left, right) partitions (the shared
 * shuffle: on a cluster, pieces move worker to worker).  Row order,
 * deterministic for a given partitioning: output partition by output
 * partition, each left row in input order followed by its matches in
 * right input order, then the right rows that matched nothing, in
 * right order.  Sort the result for an order that does not depend on
 * the partitioning.  opts borrowed.  NULL with tg_last_error()
 * (TG_EINVAL) for no keys, an unknown key, key types that differ, a
 * bad how, or two output columns with one name.  Caller serialises. */
TG_API tg_dataframe *tg_df_merge(tg_dataframe *left, tg_dataframe *right,
                                 const tg_merge_opts *opts);

/* ---- Transform, repartition and shuffle ---------------------------- */

/* Options of tg_df_transform; all-zero (or a NULL opts) means the
 * defaults: no presort, as many output partitions as the input. */
typedef struct tg_transform_opts {
    size_t n_presort;              /* columns each group is sorted by */
    const char *const *presort;    /* ... before fn sees it (stable;
                                      nulls and NaN last) */
    const bool *presort_ascending; /* n_presort, or NULL: ascending */
    size_t npartitions;            /* output partitions; 0 = as many
                                      as the input */
} tg_transform_opts;
/* The defaults, spelled out (all zero). */
#define TG_TRANSFORM_OPTS_INIT                                                 \
    {                                                                          \
        0, NULL, NULL, 0                                                       \
    }

/* Applies the function registered as fn_name (tg_register) to each group
 * of rows with equal partition_by keys (Fugue's transform): fn receives
 * the group's frame as args[0] (nargs 1, its registered context), with
 * every column of df, and returns a new frame with the schema given by
 * ncols names and types (ncols 0: df's schema), or an error value.
 * Keys group as groupby's with keep_null_keys: -0.0 is 0.0, and rows
 * whose key is null - or NaN, which counts as null - form one group.
 * Rows reach fn in input order (partition, then row), or sorted stably
 * by the opts->presort columns (each ascending unless presort_ascending
 * says otherwise; nulls and NaN last).  fn runs exactly once per group.
 * Rows are moved by the shared hash shuffle (on a cluster, pieces go
 * worker to worker) into opts->npartitions outputs (0: df's count);
 * output partition j holds the groups whose key hash falls in j, in key
 * order (ascending, the null group last), each group's result rows in
 * the order fn returned them.  So for a given npartitions the result
 * does not depend on df's partitioning.  A result whose columns
 * (count, names, types) differ from the schema, a result that is not a
 * frame, or an error value fails the compute with a message naming
 * fn_name and what differs.  The tasks are registered calls: they run
 * on every scheduler, each process finding fn_name in its registry
 * when the task runs.  partition_by, the option arrays and the schema
 * are borrowed (copied).  NULL with tg_last_error(): TG_EINVAL for
 * n_keys 0, a NULL array, an unknown column or a bad schema, TG_ENOENT
 * when nothing is registered as fn_name.  Caller serialises. */
TG_API tg_dataframe *tg_df_transform(tg_dataframe *df, size_t n_keys,
                                     const char *const *partition_by,
                                     const char *fn_name, size_t ncols,
                                     const char *const *names,
                                     const tg_dtype *types,
                                     const tg_transform_opts *opts);
/* tg_df_transform with a local function: fn(group frame, ctx) borrows
 * the frame and returns a new frame or an error value; it may run on
 * several threads at once.  ctx is borrowed and must outlive the
 * graph's computes.  fn is called through its pointer, so each task is
 * a *local* call (DESIGN.md) named "tg_df_transform_fn": the sync and
 * threads schedulers run it, and loopback and distributed refuse the
 * whole compute with an error naming it.  Everything else (groups,
 * order, checks, errors) is as tg_df_transform's. */
TG_API tg_dataframe *tg_df_transform_fn(tg_dataframe *df, size_t n_keys,
                                        const char *const *partition_by,
                                        tg_frame_fn fn, void *ctx, size_t ncols,
                                        const char *const *names,
                                        const tg_dtype *types,
                                        const tg_transform_opts *opts);

/* The rows of df in the same order, cut into npartitions partitions of
 * equal size (the first rows mod npartitions partitions one row longer;
 * partitions are empty when there are fewer rows).  Counts each
 * partition's rows, then moves the rows with the shared shuffle.
 * NULL with tg_last_error() (TG_EINVAL) for a NULL df or npartitions 0
 * or above 2^20.  Caller serialises. */
TG_API tg_dataframe *tg_df_repartition(tg_dataframe *df, size_t npartitions);
/* The rows of df hash-partitioned by the n_keys columns keys into
 * npartitions partitions (0: as many as df): rows with equal keys
 * (-0.0 is 0.0; null and NaN keys are one key) land in one partition,
 * each partition holding its rows in input order (partition, then
 * row).  keys borrowed.  NULL with tg_last_error() (TG_EINVAL) for
 * n_keys 0, a NULL array, an unknown column or npartitions above 2^20.
 * Caller serialises. */
TG_API tg_dataframe *tg_df_shuffle(tg_dataframe *df, size_t n_keys,
                                   const char *const *keys, size_t npartitions);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_DATAFRAME_H */
