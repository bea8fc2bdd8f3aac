/* viz/model_internal.h - the drawing model: nodes and edges to draw.
 *
 * Every picture goes through this model: it is built from a graph (as
 * built, or its plan) or from a JSON file, annotated with order and
 * profile data, optionally summarized, then drawn with Graphviz or
 * exported as JSON.  Strings are borrowed from the source (graph, plan,
 * JSON document), which must outlive the model, except those the model
 * owns (tg__vgraph_own).  Edges run from a dependency to its consumer.
 */
#ifndef TG_VIZ_MODEL_INTERNAL_H
#define TG_VIZ_MODEL_INTERNAL_H

#include <stdio.h>

#include "graph/plan_internal.h"
#include "taskgraph/viz.h"

/* The version of the JSON graph format (taskgraph/viz.h) written; the
 * reader takes this one and version 1 (where "calls" was a count). */
#define TG__JSON_VERSION 2

enum {
    TG__VN_TASK = 0, /* a call: ellipse */
    TG__VN_DATA = 1  /* a literal value: box */
};

enum {
    TG__VS_UNKNOWN = 0, /* no profile */
    TG__VS_DONE,
    TG__VS_FAILED,
    TG__VS_NOT_RUN,
    TG__VS_PARTIAL /* summary: some tasks of the group ran */
};

typedef struct tg__vnode {
    const char *name;     /* function name; borrowed */
    const char *label;    /* text drawn instead of name, or NULL */
    const char *key;      /* borrowed, or NULL: see tg__vnode_key */
    int64_t op;           /* the plan op it shows (vg->plan), or -1 */
    const char *run_key;  /* key the profile records it under, or NULL */
    int64_t order;        /* static priority; -1 when unknown */
    uint64_t duration_ns; /* from a profile (summary: the group's sum) */
    uint32_t n_calls;     /* calls fused into it (plan view), >= 1 */
    uint32_t count;       /* summary: tasks in the group; else 1 */
    uint32_t n_targets;   /* targets among them (0 or 1 unless summary) */
    uint8_t kind;         /* TG__VN_* */
    uint8_t state;        /* TG__VS_* */
} tg__vnode;

typedef struct tg__vedge {
    uint32_t from;  /* the dependency */
    uint32_t to;    /* its consumer */
    uint32_t count; /* summary: edges it stands for; else 1 */
} tg__vedge;

typedef struct tg__vgraph {
    tg__vnode *nodes;
    size_t n_nodes, cap_nodes;
    tg__vedge *edges;
    size_t n_edges, cap_edges;
    char **owned; /* strings freed with the model */
    size_t n_owned, cap_owned;
    size_t n_tasks;  /* nodes of kind TASK (summary: tasks) */
    tg__plan *plan;  /* the plan nodes show (owned), or NULL */
    tg__plan *fused; /* the plan tg_compute runs, whose keys are the
                        profile's run keys (owned), or NULL */
    bool is_plan;    /* the plan view (else the graph as built) */
    bool is_summary;
    bool has_profile; /* states/durations are set */
} tg__vgraph;

/* Appends a node (copied); returns its index or -1 (out of memory). */
long tg__vgraph_add_node(tg__vgraph *vg, const tg__vnode *n);
int tg__vgraph_add_edge(tg__vgraph *vg, uint32_t from, uint32_t to,
                        uint32_t count);
/* Takes ownership of s (from tg__malloc); returns s, or NULL after
 * freeing it when out of memory.  NULL s returns NULL. */
char *tg__vgraph_own(tg__vgraph *vg, char *s);
void tg__vgraph_free(tg__vgraph *vg);

/* The key of node i: stored, or formatted from its plan op; NULL when it
 * has none (out of memory, or a JSON node without a key). */
const char *tg__vnode_key(const tg__vgraph *vg, size_t i);

/* Builds the model of the targets (borrowed) from a plan: the graph as
 * built (a plan without fusion: one node per distinct call reachable from
 * them, literals as data nodes) or, with opts->plan, the plan tg_compute
 * would run.  Sets order when want_order, and states and durations from
 * opts->profile.  Returns 0 or a negative code; *vg is then empty. */
int tg__vgraph_build(tg_value *const *targets, size_t n,
                     const tg_viz_opts *opts, bool want_order, tg__vgraph *vg);

/* Reads a parsed JSON graph document (the format of taskgraph/viz.h,
 * borrowed: the model borrows its strings) into vg, which must be empty.
 * 0, or TG_EFORMAT naming the task and field at fault (vg then holds
 * what was read so far: free it), or TG_ENOMEM. */
struct json_t;
int tg__vgraph_read_json(struct json_t *root, tg__vgraph *vg);

/* The one-node-per-function summary of in (which must outlive out). */
int tg__vgraph_summarize(const tg__vgraph *in, tg__vgraph *out);

/* True when opts ask for the summary of a model with n_tasks tasks. */
bool tg__viz_should_summarize(const tg_viz_opts *opts, size_t n_tasks);

/* Drawing (viz/render.c, or viz/noviz.c without Graphviz). */
bool tg__viz_available(void);
/* Renders vg to the open stream f in format fmt ("svg", "png", "pdf" or
 * "dot").  Returns 0 or a negative code with tg_last_error() set. */
int tg__viz_render(const tg__vgraph *vg, const tg_viz_opts *opts,
                   const char *fmt, FILE *f);
/* Renders vg to path: picks the format from the extension, writes the
 * file, removes it again on failure. */
int tg__viz_render_path(const tg__vgraph *vg, const tg_viz_opts *opts,
                        const char *path);
/* The Graphviz format for path's extension, or NULL with
 * tg_last_error() set. */
const char *tg__viz_format(const char *path);

#endif /* TG_VIZ_MODEL_INTERNAL_H */
