/* taskgraph/graph.h - delayed calls that record a task graph.
 *
 * A delayed call is a TG_DELAYED value: it names a function and its
 * arguments (literal values or other delayed calls) and runs nothing until
 * tg_compute().  Its key, "name-<32 hex digits>", is a hash of the function
 * name and the arguments' tokens, so identical pure calls share a key and
 * run once per compute.  A delayed value belongs to its graph: pass it to
 * any number of calls without tg_incref; it lives until tg_graph_free().
 */
#ifndef TASKGRAPH_GRAPH_H
#define TASKGRAPH_GRAPH_H

#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A task function.  It borrows args (the results of its arguments, in
 * order) and returns a new reference: a result, or a tg_error() value to
 * fail the task.  Returning NULL fails the task too.  It may run on any
 * thread, concurrently with other tasks. */
typedef tg_value *(*tg_fn)(tg_value *const *args, size_t nargs, void *ctx);

typedef struct tg_graph tg_graph;

/* A new, empty graph, or NULL when out of memory.  A graph is not
 * thread-safe: the caller serialises calls that build it.  Computing it
 * (which only reads it) may run from several threads at once as long as
 * nobody builds on it meanwhile. */
TG_API tg_graph *tg_graph_new(void);
/* Frees the graph, every delayed value in it and the references it holds.
 * NULL does nothing.  No compute of it may be running. */
TG_API void tg_graph_free(tg_graph *g);
/* Number of calls recorded so far (duplicates included). */
TG_API size_t tg_graph_size(const tg_graph *g);

/* Flags for tg_delayed_v. */
enum {
    TG_IMPURE = 1u << 0 /* never dedupe: a fresh key on every call */
};

/* Records a call of fn(args...) named name (copied) and returns its
 * delayed value, borrowed from g.  Steals every argument, even on failure.
 * Arguments are literal values (which become part of the call) or delayed
 * values of the same graph (whose results are passed at run time).  A list
 * argument may hold delayed values as items, one level deep; the task then
 * receives a list of their results.  Returns NULL on failure (a NULL or
 * foreign argument, out of memory) with tg_last_error() explaining; a NULL
 * argument therefore makes every enclosing call fail too, and the caller
 * checks once at the end.  Caller serialises. */
TG_API tg_value *tg_delayed(tg_graph *g, const char *name, tg_fn fn,
                            size_t nargs, ...);
/* The same with the arguments in an array, a context pointer passed to fn,
 * and TG_* flags.  Steals every argument. */
TG_API tg_value *tg_delayed_v(tg_graph *g, const char *name, tg_fn fn,
                              void *ctx, unsigned flags, size_t nargs,
                              tg_value *const *args);
/* Records a call of the function registered under name (see
 * tg_register), with its registered context.  Steals every argument. */
TG_API tg_value *tg_delayed_registered(tg_graph *g, const char *name,
                                       size_t nargs, ...);
/* Wraps a literal value as a delayed value (dask.delayed(5)).  Steals v.
 * The optimizer inlines it into its consumers. */
TG_API tg_value *tg_delayed_value(tg_graph *g, tg_value *v);
/* Used by TG_DELAYED: tg_delayed with nargs first.  Steals arguments. */
TG_API tg_value *tg_delayed_counted(size_t nargs, const char *name, tg_graph *g,
                                    tg_fn fn, ...);

/* The key of a delayed value ("inc-6b8ab4fb0b2c4ebc9fd8d2ee4b1a1f3e"),
 * NULL for other values.  Borrowed: lives as long as the graph.
 * Any thread. */
TG_API const char *tg_key(const tg_value *delayed);
/* The function name of a delayed value, NULL for other values. */
TG_API const char *tg_delayed_name(const tg_value *delayed);

/* Reduces n values with the function registered as fn_name, as a tree
 * of calls of at most split_every values each (0 means 8), level by
 * level: Dask's delayed(sum)(values), with levels that run in parallel.
 * The function must be associative.  values is the caller's array (kept);
 * its items - delayed values of g or literals - are stolen, as
 * tg_delayed steals arguments, even on failure.  One value gives one
 * call of it; no values, one call without arguments.  Built-in:
 * "tg.sum", "tg.min", "tg.max" and "tg.mean" (which sums as a tree and
 * divides at the end) over ints, floats and bools, or lists of them: a
 * sum of ints stays an int (an overflow fails the task), any float makes
 * it a float; min and max keep the winner's type, and a NaN wins, as in
 * NumPy.  Returns the root (a delayed value of g) or NULL with
 * tg_last_error() set (TG_ENOENT: no function registered as fn_name).
 * Caller serialises. */
TG_API tg_value *tg_delayed_reduce(tg_graph *g, const char *fn_name, size_t n,
                                   tg_value *const *values, size_t split_every);
/* The same with a local function (its calls are local calls, see
 * tg_register), named name. */
TG_API tg_value *tg_delayed_reduce_fn(tg_graph *g, const char *name, tg_fn fn,
                                      size_t n, tg_value *const *values,
                                      size_t split_every);

/* TG_DELAYED(g, fn, args...) - tg_delayed named after fn, with the
 * arguments counted (up to 32).  TG_DELAYED_IMPURE is the same with
 * TG_IMPURE. */
#define TG_DELAYED(...)                                                        \
    tg_delayed_counted(TG__NARGS(__VA_ARGS__) - 2,                             \
                       TG__SECOND_STR(__VA_ARGS__, ~), __VA_ARGS__)
#define TG_DELAYED_IMPURE(...)                                                 \
    tg_delayed_impure_counted(TG__NARGS(__VA_ARGS__) - 2,                      \
                              TG__SECOND_STR(__VA_ARGS__, ~), __VA_ARGS__)
TG_API tg_value *tg_delayed_impure_counted(size_t nargs, const char *name,
                                           tg_graph *g, tg_fn fn, ...);

#define TG__SECOND_STR(a, b, ...) #b
#define TG__NARGS(...)                                                         \
    TG__NARGS_(__VA_ARGS__, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23,    \
               22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, \
               5, 4, 3, 2, 1, 0)
#define TG__NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13,     \
                   _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, \
                   _26, _27, _28, _29, _30, _31, _32, _33, _34, N, ...)        \
    N

/* The function registry: names that workers resolve to code.  Code is
 * never sent over the wire, only these names. */

/* Registers fn under name (copied) with a context pointer.  Registering
 * the same name with the same fn and ctx again is a no-op; with another
 * function it fails with TG_EEXIST.  Any thread. */
TG_API int tg_register(const char *name, tg_fn fn, void *ctx);
/* Looks name up: 0 and *fn, *ctx set (either may be NULL), or TG_ENOENT.
 * Any thread. */
TG_API int tg_lookup(const char *name, tg_fn *fn, void **ctx);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_GRAPH_H */
