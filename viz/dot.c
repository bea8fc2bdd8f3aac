/* viz/dot.c - turn the drawing model into a cgraph graph.
 *
 * Dask's look: tasks are ellipses labelled with their function name, data
 * (literal values, results of targets) are boxes, arrows run from a
 * dependency to its consumer.  Summary nodes carry their task count and
 * summary edges theirs.  Fill colours come from a viridis-like palette
 * (order, duration) or a fixed legend (state).  Callers hold the
 * Graphviz lock (render.c): cgraph is not thread-safe.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dot_internal.h"
#include "runtime/alloc_internal.h"

/* Viridis at nine evenly spaced points, dark purple to yellow. */
static const unsigned char viridis_stops[9][3] = {
    {0x44, 0x01, 0x54}, {0x47, 0x2c, 0x7a}, {0x3b, 0x51, 0x8b},
    {0x2c, 0x71, 0x8e}, {0x21, 0x90, 0x8d}, {0x27, 0xad, 0x81},
    {0x5c, 0xc8, 0x63}, {0xaa, 0xdc, 0x32}, {0xfd, 0xe7, 0x25}};

#define NO_DATA_FILL "#eeeeee"

/* The palette colour at x in [0, 1] as "#rrggbb"; *dark tells whether
 * white text reads better on it. */
static void viridis(double x, char out[8], bool *dark)
{
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    double pos = x * 8;
    int i = pos >= 8 ? 7 : (int)pos;
    double f = pos - i;
    double rgb[3], lum = 0;
    for (int c = 0; c < 3; c++) {
        rgb[c] = viridis_stops[i][c]
                 + f * (viridis_stops[i + 1][c] - viridis_stops[i][c]);
        lum += rgb[c] * (c == 0 ? 0.299 : c == 1 ? 0.587 : 0.114);
    }
    snprintf(out, 8, "#%02x%02x%02x", (int)(rgb[0] + 0.5), (int)(rgb[1] + 0.5),
             (int)(rgb[2] + 0.5));
    *dark = lum < 128;
}

/* Declared attributes, set per object with agxset. */
typedef struct attrs {
    Agsym_t *label, *shape, *style, *fill, *fontcolor, *tooltip;
    Agsym_t *elabel, *penwidth;
    int64_t max_order;
    uint64_t max_ns;
} attrs;

static const char *state_fill(int state)
{
    switch (state) {
    case TG__VS_DONE: return "#8fd18f";
    case TG__VS_FAILED: return "#e45756";
    case TG__VS_PARTIAL: return "#fdc086";
    default: return "#dddddd";
    }
}

/* Fills n by the colour mode. */
static void colour(const attrs *a, Agnode_t *n, const tg__vnode *vn,
                   tg_viz_color mode)
{
    char rgb[8];
    bool dark = false;
    const char *fill = NULL;
    if (mode == TG_VIZ_COLOR_ORDER) {
        fill = NO_DATA_FILL;
        if (vn->order >= 0) {
            viridis(a->max_order ? (double)vn->order / (double)a->max_order
                                 : 0.0,
                    rgb, &dark);
            fill = rgb;
        }
    } else if (mode == TG_VIZ_COLOR_DURATION) {
        fill = NO_DATA_FILL;
        if (vn->state == TG__VS_DONE || vn->state == TG__VS_FAILED
            || vn->state == TG__VS_PARTIAL) {
            viridis(a->max_ns ? (double)vn->duration_ns / (double)a->max_ns
                              : 0.0,
                    rgb, &dark);
            fill = rgb;
        }
    } else if (mode == TG_VIZ_COLOR_STATE) {
        fill = state_fill(vn->state);
    }
    if (!fill)
        return;
    agxset(n, a->style, "filled");
    agxset(n, a->fill, (char *)fill);
    if (dark)
        agxset(n, a->fontcolor, "white");
}

/* Copies s with Graphviz escapes neutralised (a backslash doubled). */
static void escape(char *out, size_t cap, const char *s)
{
    size_t w = 0;
    for (; *s && w + 2 < cap; s++) {
        if (*s == '\\')
            out[w++] = '\\';
        out[w++] = *s;
    }
    out[w] = '\0';
}

static Agnode_t *add_node(Agraph_t *g, const attrs *a, const tg__vgraph *vg,
                          size_t i, const tg_viz_opts *o)
{
    const tg__vnode *vn = &vg->nodes[i];
    char id[32], text[256], label[300];
    snprintf(id, sizeof id, "n%zu", i);
    Agnode_t *n = agnode(g, id, 1);
    if (!n)
        return NULL;
    escape(text, sizeof text, vn->label ? vn->label : vn->name);
    if (vg->is_summary)
        snprintf(label, sizeof label, "%s\\n%u %s", text, vn->count,
                 vn->kind == TG__VN_DATA ? (vn->count == 1 ? "value" : "values")
                 : vn->count == 1        ? "task"
                                         : "tasks");
    else
        snprintf(label, sizeof label, "%s", text);
    agxset(n, a->label, label);
    if (vn->kind == TG__VN_DATA)
        agxset(n, a->shape, "box");
    const char *key = vg->is_summary ? NULL : tg__vnode_key(vg, i);
    if (!key && vn->op >= 0 && !vg->is_summary)
        return NULL; /* out of memory formatting it */
    if (key) {
        escape(text, sizeof text, key);
        agxset(n, a->tooltip, text);
    }
    colour(a, n, vn, o->color);
    return n;
}

/* A box for a task's result, wired task -> box; returns the box. */
static Agnode_t *add_result(Agraph_t *g, const attrs *a, const tg__vgraph *vg,
                            size_t i, Agnode_t *task, size_t *n_results)
{
    const tg__vnode *vn = &vg->nodes[i];
    char id[32], label[300], name[256];
    snprintf(id, sizeof id, "r%zu", i);
    Agnode_t *box = agnode(g, id, 1);
    if (!box || !agedge(g, task, box, NULL, 1))
        return NULL;
    escape(name, sizeof name, vn->name);
    if (vg->is_summary)
        snprintf(label, sizeof label, "%u %s", vn->n_targets,
                 vn->n_targets == 1 ? "result" : "results");
    else
        snprintf(label, sizeof label, "%s-#%zu", name, (*n_results)++);
    agxset(box, a->label, label);
    agxset(box, a->shape, "box");
    return box;
}

static void declare(Agraph_t *g, attrs *a, const tg__vgraph *vg,
                    const tg_viz_opts *o)
{
    static const char *dirs[] = {"TB", "LR", "BT", "RL"};
    unsigned d = (unsigned)o->rankdir < 4 ? (unsigned)o->rankdir : 0;
    agattr(g, AGRAPH, "rankdir", (char *)dirs[d]);
    agattr(g, AGNODE, "fontname", "Helvetica");
    agattr(g, AGEDGE, "arrowsize", "0.7");
    agattr(g, AGEDGE, "fontname", "Helvetica");
    agattr(g, AGEDGE, "fontsize", "11");
    a->label = agattr(g, AGNODE, "label", "\\N");
    a->shape = agattr(g, AGNODE, "shape", "ellipse");
    a->style = agattr(g, AGNODE, "style", "");
    a->fill = agattr(g, AGNODE, "fillcolor", "");
    a->fontcolor = agattr(g, AGNODE, "fontcolor", "black");
    a->tooltip = agattr(g, AGNODE, "tooltip", "");
    a->elabel = agattr(g, AGEDGE, "label", "");
    a->penwidth = agattr(g, AGEDGE, "penwidth", "1");
    a->max_order = 0;
    a->max_ns = 0;
    for (size_t i = 0; i < vg->n_nodes; i++) {
        if (vg->nodes[i].order > a->max_order)
            a->max_order = vg->nodes[i].order;
        if (vg->nodes[i].duration_ns > a->max_ns)
            a->max_ns = vg->nodes[i].duration_ns;
    }
}

/* A caption under the picture: what is summarized, what colours mean. */
static void caption(Agraph_t *g, const attrs *a, const tg__vgraph *vg,
                    const tg_viz_opts *o)
{
    char text[256] = "";
    size_t w = 0;
    if (vg->is_summary)
        w += (size_t)snprintf(text, sizeof text,
                              "summary of %zu tasks: "
                              "one node per function\\n",
                              vg->n_tasks);
    if (o->color == TG_VIZ_COLOR_ORDER)
        snprintf(text + w, sizeof text - w,
                 "colour: static order, dark "
                 "runs first, yellow last");
    else if (o->color == TG_VIZ_COLOR_DURATION)
        snprintf(text + w, sizeof text - w,
                 "colour: task time, dark 0 to "
                 "yellow %.3g ms",
                 (double)a->max_ns / 1e6);
    else if (o->color == TG_VIZ_COLOR_STATE)
        snprintf(text + w, sizeof text - w,
                 "colour: green done, red "
                 "failed, orange partly run, grey not run");
    if (text[0]) {
        agattr(g, AGRAPH, "label", text);
        agattr(g, AGRAPH, "labelloc", "b");
        agattr(g, AGRAPH, "fontname", "Helvetica");
        agattr(g, AGRAPH, "fontsize", "11");
    }
}

static int add_edges(Agraph_t *g, const attrs *a, const tg__vgraph *vg,
                     Agnode_t **from_node, Agnode_t **to_node)
{
    for (size_t e = 0; e < vg->n_edges; e++) {
        const tg__vedge *ve = &vg->edges[e];
        Agedge_t *ed = agedge(g, from_node[ve->from], to_node[ve->to], NULL, 1);
        if (!ed)
            return TG_ENOMEM;
        if (vg->is_summary && ve->count > 1) {
            char num[32], width[16];
            snprintf(num, sizeof num, "%u", ve->count);
            snprintf(width, sizeof width, "%.2f",
                     fmin(1.0 + log10((double)ve->count), 5.0));
            agxset(ed, a->elabel, num);
            agxset(ed, a->penwidth, width);
        }
    }
    return 0;
}

Agraph_t *tg__viz_agraph(const tg__vgraph *vg, const tg_viz_opts *o)
{
    Agraph_t *g = agopen("taskgraph", Agdirected, NULL);
    size_t sz = vg->n_nodes ? vg->n_nodes : 1, n_results = 0;
    Agnode_t **node = tg__malloc(sz * sizeof *node);
    Agnode_t **out = tg__malloc(sz * sizeof *out);
    attrs a;
    if (!g || !node || !out)
        goto fail;
    declare(g, &a, vg, o);
    for (size_t i = 0; i < vg->n_nodes; i++) {
        const tg__vnode *vn = &vg->nodes[i];
        if (!(node[i] = out[i] = add_node(g, &a, vg, i, o)))
            goto fail;
        bool box = vn->kind == TG__VN_TASK
                   && (vn->n_targets || (o->all_data && !vg->is_summary));
        Agnode_t *r =
            box ? add_result(g, &a, vg, i, node[i], &n_results) : node[i];
        if (!r)
            goto fail;
        if (!vg->is_summary)
            out[i] = r; /* consumers read the result box */
    }
    if (add_edges(g, &a, vg, out, node))
        goto fail;
    caption(g, &a, vg, o);
    tg__free(node);
    tg__free(out);
    return g;
fail:
    if (g)
        agclose(g);
    tg__free(node);
    tg__free(out);
    return tg__seterr_null(TG_ENOMEM, "out of memory building the drawing");
}
