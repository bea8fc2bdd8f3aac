/* dataframe/df_internal.h - the tg_dataframe struct and builder helpers.
 *
 * A dataframe is a schema plus one delayed frame per partition.  The
 * struct itself is owned by its graph: it is wrapped in a tg_object and
 * recorded as a literal node, so tg_graph_free releases it.  Per-builder
 * parameters (expressions, column lists, aggregation specs) travel the
 * same way, as tg_object literal arguments of the tasks that use them.
 */
#ifndef TG_DATAFRAME_DF_INTERNAL_H
#define TG_DATAFRAME_DF_INTERNAL_H

#include "frame_internal.h"

/* Projection pushdown: the columns a source (a CSV reader) must parse.
 * Builders mark the columns they read; the source's tasks read the set
 * when they run, so a query parses only what it uses.  Marking happens
 * while building (caller serialises), reading while computing. */
typedef struct tg__demand {
    size_t ncols;
    char *const *names; /* the source's columns, borrowed */
    uint8_t *needed;    /* ncols: 1 = parse */
} tg__demand;

struct tg_dataframe {
    tg_graph *g;
    tg__demand *src; /* where the partitions come from, or NULL */
    size_t ncols;
    char **names;    /* ncols, owned */
    tg_dtype *types; /* ncols, owned */
    size_t nparts;
    tg_value **parts; /* nparts delayed frames, borrowed from g */
};

/* A new dataframe owned by g with this schema and nparts empty partition
 * slots.  NULL on failure. */
tg_dataframe *tg__df_new(tg_graph *g, size_t ncols, const char *const *names,
                         const tg_dtype *types, size_t nparts);
long tg__df_find(const tg_dataframe *df, const char *name);

/* Marks column name as read from df's source (a no-op without one). */
void tg__df_need(const tg_dataframe *df, const char *name);
/* Marks every column of df's schema (for consumers that see whole
 * frames: compute, head, map_partitions, to_csv, partitions). */
void tg__df_need_all(const tg_dataframe *df);
/* Marks the columns an expression reads. */
void tg__df_need_expr(const tg_dataframe *df, const tg_expr *e);

/* A literal argument that owns p (freed by free_fn with the graph).  On
 * failure calls free_fn(p) and returns NULL. */
tg_value *tg__df_param(void *p, void (*free_fn)(void *), const char *name);

/* The frame of a task argument, or NULL (the task should then fail with
 * tg__df_not_frame). */
static inline tg__frame *tg__arg_frame(const tg_value *v)
{
    return tg__frame_of(v);
}
tg_value *tg__df_not_frame(const char *task, const tg_value *v);

/* Records a task fn(param, part) for every partition of df into out
 * (a new dataframe with the given schema).  param is stolen; it is
 * shared by all tasks.  Returns out or NULL. */
tg_dataframe *tg__df_map(tg_dataframe *df, const char *name, tg_fn fn,
                         tg_value *param, size_t ncols,
                         const char *const *names, const tg_dtype *types);

/* Reduces vals[0..n) (delayed) with fn taking at most fan of them per
 * call (plus param first, if not NULL; param is borrowed and increfed per
 * call).  Returns the root, or NULL. */
tg_value *tg__df_tree(tg_graph *g, const char *name, tg_fn fn, tg_value *param,
                      tg_value **vals, size_t n, size_t fan);

/* A task adding up its integer arguments (row counts, for tg__df_tree). */
tg_value *tg__df_sum_ints(tg_value *const *a, size_t n, void *ctx);

#endif /* TG_DATAFRAME_DF_INTERNAL_H */
