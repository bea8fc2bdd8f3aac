/* dataframe/df_internal.h - dataframes as a lazy logical plan, and the
 * registered task functions that plan lowers to.
 *
 * A tg_dataframe is a node of a logical plan, not a list of tasks: a
 * kind, its input node, its parameters as plain values, its schema and
 * its number of partitions.  Builders (filter, assign, select, rename,
 * map_partitions) check their arguments against the schema and add a
 * node; they record no task.  Terminal builders (agg, len, groupby,
 * value_counts, head, concat, to_csv, partition) *lower* their input
 * with the set of columns they need (lower.c): the need is pushed down
 * the chain to the source, whose read tasks get the columns to parse as
 * an argument.  So a query's keys say exactly what it parses, and
 * building one query never changes another.
 *
 * Every task the library records is a function registered at load time
 * under "tg.df.<op>" (tasks.c) with plain-value arguments - frames,
 * names lists, encoded expressions and specs - so it runs in any process
 * that has the library, and identical queries share keys.  The
 * exceptions are the user pointers of tg_df_map_partitions and
 * tg_df_transform_fn: local calls.
 *
 * Nodes belong to their graph: each is held by a literal node of the
 * graph (a tg_object), so tg_graph_free frees it with the parameters
 * and lowered partitions it owns.  Building is not thread-safe (the
 * caller serialises, as for the graph).
 */
#ifndef TG_DATAFRAME_DF_INTERNAL_H
#define TG_DATAFRAME_DF_INTERNAL_H

#include "frame_internal.h"
#include "names_internal.h"

typedef enum tg__df_kind {
    TG__DF_CSV,       /* source: byte-range blocks of CSV files */
    TG__DF_PARTS,     /* source: given delayed frames (from_delayed, a
                         groupby result) */
    TG__DF_FILTER,    /* param: the encoded predicate */
    TG__DF_ASSIGN,    /* param: [name, encoded expression] */
    TG__DF_SELECT,    /* param: the names kept, in order */
    TG__DF_RENAME,    /* param: [old names, new names] */
    TG__DF_MAP,       /* a local function pointer; param: out schema */
    TG__DF_MAP_NAMED, /* a registered function; param: out schema */
    TG__DF_SORT,      /* param: the sort spec (shuffle_internal.h) */
    TG__DF_MERGE      /* a source over left and right; param: [the join
                         spec of every output column, broadcast
                         partitions] (join.c) */
} tg__df_kind;

typedef struct tg__csv_source tg__csv_source;
typedef struct tg__df_lowered tg__df_lowered;

struct tg_dataframe {
    tg_graph *g;
    tg__df_kind kind;
    tg_dataframe *in; /* input node, NULL for sources */
    size_t ncols;
    char **names;    /* ncols, owned */
    tg_dtype *types; /* ncols, owned */
    size_t nparts;
    tg_value *param;         /* the kind's parameters (see above), owned */
    tg_expr *expr;           /* FILTER, ASSIGN: the expression, owned */
    tg__csv_source *csv;     /* TG__DF_CSV, owned (csv_read.c) */
    tg_value **given;        /* TG__DF_PARTS: nparts delayed frames */
    bool check_given;        /* TG__DF_PARTS: check each against the
                                schema (from_delayed) */
    tg_frame_fn map_fn;      /* TG__DF_MAP, a local transform: the
                                user's function ... */
    void *map_ctx;           /* ... and context */
    char *fn_name;           /* MAP: the call's name; MAP_NAMED: the
                                registered name ... */
    tg_fn fn;                /* ... its function and context */
    void *fn_ctx;            /*     as registered */
    tg_dataframe *left;      /* TG__DF_MERGE: the two sides (nodes of */
    tg_dataframe *right;     /*     the same graph) */
    tg__df_lowered *lowered; /* memo of lowerings, see lower.c */
    tg__name_index *index;   /* names to columns, made by the first
                                tg__df_find (names never change) */
};

/* A new node of g with this schema, kind and input (NULL for a
 * source); param is stolen (may be NULL).  NULL on failure. */
tg_dataframe *tg__df_node(tg_graph *g, tg__df_kind kind, tg_dataframe *in,
                          size_t ncols, const char *const *names,
                          const tg_dtype *types, size_t nparts,
                          tg_value *param);
/* True when ncols names and types make a schema: no NULL name, types
 * in range, no name twice (NULL arrays only for ncols 0). */
bool tg__schema_ok(size_t ncols, const char *const *names,
                   const tg_dtype *types);
/* Index of the column named name in df's schema, or -1. */
long tg__df_find(const tg_dataframe *df, const char *name);
/* A one-partition dataframe of g whose partition is the delayed frame
 * part, with this schema (a groupby result).  NULL on failure. */
tg_dataframe *tg__df_of_part(tg_graph *g, tg_value *part, size_t ncols,
                             const char *const *names, const tg_dtype *types);

/* ---- lowering (lower.c) ----------------------------------------------- */

/* The delayed partitions of df that hold at least the n named columns
 * (each in df's schema), or every column of the schema in order when
 * all is true.  The array (df->nparts entries) is borrowed from df and
 * stays the same for the same request.  NULL with tg_last_error() on
 * failure. */
tg_value **tg__df_lower(tg_dataframe *df, size_t n, const char *const *names,
                        bool all);
/* Frees df's memo of lowerings (with the node). */
void tg__df_lowered_free(tg__df_lowered *l);

/* ---- task parameters as values (params.c) -------------------------------- */

/* A list of n names (copied), or NULL when out of memory. */
tg_value *tg__names_value(size_t n, const char *const *names);
/* A schema as [[names...], [dtype ints...]]. */
tg_value *tg__schema_value(size_t n, const char *const *names,
                           const tg_dtype *types);

/* A names list or schema read from a task parameter.  names point into
 * the value (borrowed); the arrays are owned (tg__params_close). */
typedef struct tg__params {
    size_t n;
    const char **names;
    tg_dtype *types; /* schemas only */
} tg__params;

/* Reads a list of strings.  0, or -1 with *why set (static text). */
int tg__names_decode(const tg_value *v, tg__params *out, const char **why);
/* Reads [[names], [dtypes]] (as many of each, dtypes in range). */
int tg__schema_decode(const tg_value *v, tg__params *out, const char **why);
void tg__params_close(tg__params *p);

/* ---- the registered tasks (tasks.c) -------------------------------------- */

typedef enum tg__df_op {
    TG__OP_READ_CSV,       /* (path, offset, length, size, options, columns,
                              before, after) -> frame */
    TG__OP_CSV_COUNT,      /* (path, offset, length) -> [quotes, newlines] */
    TG__OP_CSV_PREFIX,     /* (before, count) -> before + count */
    TG__OP_CHECK,          /* (frame, schema, who) -> frame */
    TG__OP_FILTER,         /* (frame, predicate, out names) -> frame */
    TG__OP_ASSIGN,         /* (frame, name, expression, out names) -> frame */
    TG__OP_PROJECT,        /* (frame, source names, result names) -> frame */
    TG__OP_HEAD,           /* (frame, n) -> frame */
    TG__OP_CONCAT,         /* (frames...) -> frame */
    TG__OP_EMPTY,          /* (schema) -> frame */
    TG__OP_LEN,            /* (frame) -> int */
    TG__OP_SUM,            /* (ints...) -> int */
    TG__OP_PARTIAL,        /* (frame, spec) -> partial */
    TG__OP_COMBINE,        /* (spec, partials...) -> partial */
    TG__OP_FINISH,         /* (spec, order[, partial]) -> frame */
    TG__OP_SPLIT,          /* (partial, k) -> [partials] */
    TG__OP_PICK,           /* (list, i) -> item i */
    TG__OP_MERGE,          /* (spec, order, frames...) -> frame */
    TG__OP_WRITE_PART,     /* (frame, pattern, index, options) -> rows */
    TG__OP_WRITE_CHAIN,    /* (frame | [rows, text], path, rows before |
                              null, options) -> rows */
    TG__OP_SHUFFLE_SPLIT,  /* (frame, partitioner, part[, splitters]) ->
                              [k frames] */
    TG__OP_SORT_SAMPLE,    /* (frame, sort spec, part, m) -> samples */
    TG__OP_SORT_SPLITTERS, /* (sort spec, k, samples...) -> splitters */
    TG__OP_SORT,           /* (sort spec, limit | null, frames...) ->
                              frame */
    TG__OP_JOIN,           /* (join spec, n left, frames...) -> frame */
    TG__OP_TRANSFORM,      /* (transform spec, frames...) -> frame */
    TG__OP_CSV_FORMAT,     /* (frame, header, options) -> [rows, text
                              bytes] */
    TG__N_OPS
} tg__df_op;

/* Registers every op under its name and the dataframe's codec types
 * ("tg.frame", "tg.df.partial").  Called once, by the constructor in
 * frame.c. */
void tg__df_register(void);

/* The codec types of frames (frame_codec.c) and partials (partial.c). */
struct tg__codec_type;
extern const struct tg__codec_type tg__frame_codec;
extern const struct tg__codec_type tg__partial_codec;

/* Records a registered call of op (the registry's name, function and a
 * NULL context).  Steals every argument; NULL on failure. */
tg_value *tg__df_call(tg_graph *g, tg__df_op op, size_t nargs,
                      tg_value *const *args);

/* The task functions, by file. */
tg_value *tg__task_read_csv(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_csv_count(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_csv_prefix(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_check(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_filter(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_assign(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_project(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_head(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_concat(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_empty(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_len(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_sum(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_partial(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_combine(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_finish(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_split(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_pick(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_merge(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_write_part(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_write_chain(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_shuffle_split(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_sort_sample(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_sort_splitters(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_sort(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_join(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_transform(tg_value *const *a, size_t n, void *ctx);
tg_value *tg__task_csv_format(tg_value *const *a, size_t n, void *ctx);

/* The local trampoline of tg_df_map_partitions: ctx is the node. */
tg_value *tg__task_map_local(tg_value *const *a, size_t n, void *ctx);
/* The local task of tg_df_transform_fn: ctx is the result node, whose
 * map_fn and map_ctx are the user's function. */
tg_value *tg__task_transform_local(tg_value *const *a, size_t n, void *ctx);

/* A task argument that is not a frame: the task's error. */
tg_value *tg__df_not_frame(const char *task, const tg_value *v);
/* A task's error for a malformed parameter. */
tg_value *tg__df_bad_param(const char *task, const char *what, const char *why);

/* Reduces vals[0..n) (delayed; overwritten) with op taking at most fan
 * of them per call, after the fixed leading arguments lead[0..n_lead)
 * (borrowed, increfed per call).  Returns the root, or NULL. */
tg_value *tg__df_tree(tg_graph *g, tg__df_op op, tg_value *const *lead,
                      size_t n_lead, tg_value **vals, size_t n, size_t fan);

#endif /* TG_DATAFRAME_DF_INTERNAL_H */
