/* taskgraph/viz.h - draw task graphs with Graphviz, export them as JSON.
 *
 * Dask's conventions: a task is an ellipse labelled with its function
 * name, a data result (a target's result, a literal delayed value) is a
 * box, and an arrow runs from each dependency to its consumer.  Graphs
 * with more tasks than a threshold are drawn summarized: one node per
 * function name with its task count, so a million-task graph is a
 * picture, not a hairball.  Rendering happens in-process through
 * Graphviz's cgraph and gvc libraries.
 */
#ifndef TASKGRAPH_VIZ_H
#define TASKGRAPH_VIZ_H

#include "compute.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_profiler tg_profiler; /* see diagnostics.h */

/* Direction of the layout: dependencies above (TB), left of (LR), below
 * (BT) or right of (RL) their consumers. */
typedef enum tg_viz_rankdir {
    TG_VIZ_TB = 0,
    TG_VIZ_LR,
    TG_VIZ_BT,
    TG_VIZ_RL
} tg_viz_rankdir;

/* What a node's fill colour shows. */
typedef enum tg_viz_color {
    TG_VIZ_COLOR_NONE = 0, /* plain outlines, as dask.visualize() */
    TG_VIZ_COLOR_ORDER,    /* static order (the plan's priority), on a
                              viridis palette: dark runs first */
    TG_VIZ_COLOR_STATE,    /* from opts.profile: done, failed, not run */
    TG_VIZ_COLOR_DURATION  /* from opts.profile: task time, viridis */
} tg_viz_color;

/* Options for tg_visualize and the JSON export.  All-zero means the
 * defaults. */
typedef struct tg_viz_opts {
    tg_viz_rankdir rankdir; /* default TB */
    tg_viz_color color;     /* default NONE */
    /* Draw the summarized graph (one node per function name) when the
     * graph has more tasks than this.  0 means the default,
     * TG_VIZ_SUMMARIZE_ABOVE; a negative number never summarizes. */
    long summarize_above;
    bool plan;     /* draw the optimized plan (culled, deduped, literals
                      inlined, chains fused) instead of the graph as
                      built */
    bool no_fuse;  /* with plan, or for colours: keep every call a task,
                      as tg_compute_opts.no_fuse */
    bool all_data; /* a box for every task's result, as Dask does with
                      collapse_outputs=False; default: targets only */
    const tg_profiler *profile; /* borrowed; its records give the state
                                   and duration of each task by key */
} tg_viz_opts;

/* Above this many tasks a picture no longer reads at screen size. */
#define TG_VIZ_SUMMARIZE_ABOVE 200

/* Renders the graph of the targets (delayed values of one graph,
 * borrowed) to path.  The extension picks the format: .svg, .png, .pdf
 * or .dot (Graphviz source, no layout).  opts may be NULL.  Returns 0,
 * or TG_EINVAL (bad arguments, unknown extension), TG_EIO (path cannot
 * be written), TG_ENOMEM, TG_EUNSUPPORTED (built without Graphviz), with
 * tg_last_error() explaining.  Any thread: calls are serialised inside,
 * as Graphviz itself is not thread-safe.  The graph must not be built
 * on meanwhile. */
TG_API int tg_visualize(tg_value **targets, size_t n, const char *path,
                        const tg_viz_opts *opts) TG_WARN_UNUSED;

/* The graph of the targets as JSON text (format below).  opts may be
 * NULL; opts.plan exports the plan instead of the graph as built, and
 * opts.profile adds each task's state and duration.  Returns a new
 * string to release with tg_json_free, or NULL with tg_last_error().
 *
 *   {"format": "taskgraph", "version": 2, "view": "graph" | "plan",
 *    "targets": [key, ...],
 *    "tasks": [{"key": k, "name": "g", "order": 3, "deps": [key, ...],
 *               "args": [1.5, {"key": k}, {"type": "bytes", "len": 9}],
 *               "literal": true,         (a data node, graph view)
 *               "calls": ["f", "g"],     (the fused calls, in the order
 *                                         they run: plan view)
 *               "label": "f > g",        (a fused task's picture label,
 *                                         or a data node's short text:
 *                                         "3", "\"abc\"", "frame 120×5")
 *               "state": "done", "duration_ns": 1200}, ...]}
 *
 * Literal arguments appear as JSON values when small (numbers, booleans,
 * null, strings up to 64 bytes, short lists); others as {"type", "len"}.
 * "order" is the static priority, absent for inlined literals.  (Version
 * 1 wrote "calls" as a count; tg_visualize_json reads both.)  Any
 * thread, as long as nobody builds on the graph meanwhile. */
TG_API char *tg_graph_to_json(tg_value **targets, size_t n,
                              const tg_viz_opts *opts);
/* Frees a string from tg_graph_to_json.  NULL does nothing.  Any
 * thread. */
TG_API void tg_json_free(char *json);
/* Writes tg_graph_to_json's text to path.  Returns 0 or a negative code
 * (TG_EIO when the file cannot be written, which is then removed).
 * Any thread, as tg_graph_to_json. */
TG_API int tg_graph_write_json(tg_value **targets, size_t n, const char *path,
                               const tg_viz_opts *opts) TG_WARN_UNUSED;
/* Renders a JSON graph file (from tg_graph_write_json) to out_path, as
 * tg_visualize does; opts.plan, no_fuse and profile are ignored (colours
 * by state or duration use the file's "state"/"duration_ns").  Returns
 * 0; TG_ENOENT or TG_EIO for files; TG_EFORMAT for malformed JSON
 * (the message names the line, or the task and field); or as
 * tg_visualize.  Any thread. */
TG_API int tg_visualize_json(const char *json_path, const char *out_path,
                             const tg_viz_opts *opts) TG_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_VIZ_H */
