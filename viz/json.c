/* viz/json.c - graphs as JSON (jansson): export, and import for drawing.
 *
 * The export is the drawing model plus what only the graph knows: each
 * call's literal arguments, small ones as JSON values.  The import reads
 * such a file back into a model (borrowing its strings from the parsed
 * document) so that tg-viz can render graphs saved by another program.
 * The format is documented with tg_graph_to_json in taskgraph/viz.h.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "runtime/alloc_internal.h"
#include "strmap_internal.h"

#define MAX_STR 64  /* longer strings are described, not copied */
#define MAX_LIST 16 /* longer lists too */
#define MAX_DEPTH 3 /* and lists nested deeper */

static json_t *described(const char *type, size_t len)
{
    return json_pack("{s:s, s:I}", "type", type, "len", (json_int_t)len);
}

/* The keys of an op's inputs, in argument order. */
typedef struct inputs {
    const tg__vgraph *vg;
    const uint32_t *next; /* the next input slot: a model node */
} inputs;

/* An argument as JSON: a new reference, NULL when out of memory.  An
 * input placeholder is {"key": k} with the key of the input it reads.
 * Recursion is bounded by MAX_DEPTH. */
static json_t *arg_json(const tg_value *v, int depth, inputs *in)
{
    switch (tg_typeof(v)) {
    case TG_DELAYED: {
        if (!in) /* inside a literal: not an input of any call */
            return json_pack("{s:s}", "type", "delayed");
        const char *key = tg__vnode_key(in->vg, *in->next++);
        return key ? json_pack("{s:s}", "key", key) : NULL;
    }
    case TG_NULL: return json_null();
    case TG_BOOL: return json_boolean(tg_as_bool(v));
    case TG_INT: return json_integer((json_int_t)tg_as_int(v));
    case TG_FLOAT: {
        double f = tg_as_float(v);
        if (isfinite(f))
            return json_real(f);
        return json_pack("{s:s, s:s}", "type", "float", "value",
                         isnan(f) ? "nan"
                         : f > 0  ? "inf"
                                  : "-inf");
    }
    case TG_STR: {
        size_t len;
        tg_as_bytes(v, &len);
        json_t *s = len <= MAX_STR ? json_stringn(tg_as_str(v), len) : NULL;
        return s ? s : described("str", len); /* long or not UTF-8 */
    }
    case TG_BYTES: {
        size_t len;
        tg_as_bytes(v, &len);
        return described("bytes", len);
    }
    case TG_LIST: {
        size_t n = tg_list_len(v);
        if (n > MAX_LIST || depth >= MAX_DEPTH) {
            for (size_t i = 0; in && i < n; i++) /* skip its inputs */
                in->next += tg_typeof(tg_list_get(v, i)) == TG_DELAYED;
            return described("list", n);
        }
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
            if (json_array_append_new(
                    a, arg_json(tg_list_get(v, i), depth + 1, in))) {
                json_decref(a);
                a = NULL;
            }
        return a;
    }
    default: return json_pack("{s:s}", "type", tg_type_name(tg_typeof(v)));
    }
}

static const char *state_name(int state)
{
    switch (state) {
    case TG__VS_DONE: return "done";
    case TG__VS_FAILED: return "failed";
    case TG__VS_NOT_RUN: return "not run";
    default: return NULL;
    }
}

/* The "args" array of a graph-view node's call, or NULL when out of
 * memory. */
static json_t *args_json(const tg__vgraph *vg, const tg__op *op)
{
    json_t *a = json_array();
    inputs in = {vg, &vg->plan->in[op->in]};
    for (uint32_t i = 0; a && i < op->call->nargs; i++)
        if (json_array_append_new(a, arg_json(op->call->args[i], 0, &in))) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/* The "calls" array of a plan-view task: the function names of its
 * fused calls, in the order they run; NULL when out of memory. */
static json_t *calls_json(const tg__vgraph *vg, const tg__vnode *vn)
{
    json_t *a = json_array();
    uint32_t last = vn->op >= 0 ? (uint32_t)vn->op : 0;
    for (uint32_t k = 0; a && vn->op >= 0 && k < vn->n_calls; k++) {
        const char *name =
            vg->plan->ops[last + 1 - vn->n_calls + k].call->fn->name;
        if (json_array_append_new(a, json_string(name))) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

/* One task object; deps are the keys of the nodes in from[0..n_from). */
static json_t *task_json(const tg__vgraph *vg, size_t i, const uint32_t *from,
                         size_t n_from)
{
    const tg__vnode *vn = &vg->nodes[i];
    const char *key = tg__vnode_key(vg, i);
    json_t *t =
        key ? json_pack("{s:s, s:s}", "key", key, "name", vn->name) : NULL;
    json_t *deps = json_array();
    bool ok = t && deps;
    for (size_t k = 0; ok && k < n_from; k++) {
        const char *dk = tg__vnode_key(vg, from[k]);
        ok = dk && json_array_append_new(deps, json_string(dk)) == 0;
    }
    if (ok)
        ok = json_object_set_new(t, "deps", deps) == 0; /* steals deps */
    else
        json_decref(deps);
    if (ok && vn->order >= 0)
        ok = json_object_set_new(t, "order", json_integer(vn->order)) == 0;
    if (ok && vn->op >= 0 && !vg->is_plan)
        ok = json_object_set_new(t, "args",
                                 args_json(vg, &vg->plan->ops[vn->op]))
             == 0;
    else if (ok && vg->plan && !vg->is_plan && i >= vg->plan->n_tasks
             && i < vg->plan->n_slots) /* a literal: its value */
        ok = json_object_set_new(
                 t, "args",
                 json_pack("[o]",
                           arg_json(vg->plan->literal[i - vg->plan->n_tasks], 0,
                                    NULL)))
             == 0;
    if (ok && vn->kind == TG__VN_DATA)
        ok = json_object_set_new(t, "literal", json_true()) == 0;
    if (ok && vg->is_plan)
        ok = json_object_set_new(t, "calls", calls_json(vg, vn)) == 0;
    json_t *label = ok && vn->label ? json_string(vn->label) : NULL;
    if (label) /* NULL for a literal's text that is not UTF-8: no label */
        ok = json_object_set_new(t, "label", label) == 0;
    if (ok && state_name(vn->state))
        ok = json_object_set_new(t, "state", json_string(state_name(vn->state)))
             == 0;
    if (ok && (vn->state == TG__VS_DONE || vn->state == TG__VS_FAILED))
        ok = json_object_set_new(t, "duration_ns",
                                 json_integer((json_int_t)vn->duration_ns))
             == 0;
    if (!ok)
        json_decref(t);
    return ok ? t : NULL;
}

/* CSR of each node's dependencies from the edge list. */
static int deps_csr(const tg__vgraph *vg, uint32_t **off, uint32_t **from)
{
    *off = tg__calloc(vg->n_nodes + 2, sizeof **off);
    *from = tg__malloc((vg->n_edges ? vg->n_edges : 1) * sizeof **from);
    if (!*off || !*from)
        return TG_ENOMEM;
    for (size_t e = 0; e < vg->n_edges; e++)
        (*off)[vg->edges[e].to + 2]++;
    for (size_t i = 0; i < vg->n_nodes; i++)
        (*off)[i + 2] += (*off)[i + 1];
    for (size_t e = 0; e < vg->n_edges; e++)
        (*from)[(*off)[vg->edges[e].to + 1]++] = vg->edges[e].from;
    return 0;
}

static json_t *model_json(const tg__vgraph *vg)
{
    uint32_t *off = NULL, *from = NULL;
    json_t *root =
        json_pack("{s:s, s:i, s:s, s:[], s:[]}", "format", "taskgraph",
                  "version", TG__JSON_VERSION, "view",
                  vg->is_plan ? "plan" : "graph", "targets", "tasks");
    json_t *targets = json_object_get(root, "targets");
    json_t *tasks = json_object_get(root, "tasks");
    bool ok = root && !deps_csr(vg, &off, &from);
    for (size_t i = 0; ok && i < vg->n_nodes; i++) {
        if (vg->nodes[i].op < 0 && !vg->nodes[i].key)
            continue; /* a plain-value target: nothing to compute */
        json_t *t = task_json(vg, i, &from[off[i]], off[i + 1] - off[i]);
        ok = json_array_append_new(tasks, t) == 0;
        if (ok && vg->nodes[i].n_targets)
            ok = json_array_append_new(targets,
                                       json_string(tg__vnode_key(vg, i)))
                 == 0;
    }
    tg__free(off);
    tg__free(from);
    if (!ok) {
        json_decref(root);
        return tg__seterr_null(TG_ENOMEM, "out of memory building JSON");
    }
    return root;
}

/* The JSON document of the targets' model into *out (new reference). */
static int targets_json(tg_value **targets, size_t n, const tg_viz_opts *opts,
                        json_t **out)
{
    tg__vgraph vg;
    int rc = tg__vgraph_build(targets, n, opts, true, &vg);
    if (rc)
        return rc;
    *out = model_json(&vg);
    tg__vgraph_free(&vg);
    return *out ? 0 : TG_ENOMEM;
}

char *tg_graph_to_json(tg_value **targets, size_t n, const tg_viz_opts *opts)
{
    json_t *root;
    if (targets_json(targets, n, opts, &root))
        return NULL;
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    char *copy = text ? tg__strdup(text) : NULL;
    free(text); /* jansson allocates with malloc */
    if (!copy)
        return tg__seterr_null(TG_ENOMEM, "out of memory writing JSON");
    return copy;
}

void tg_json_free(char *json)
{
    tg__free(json);
}

int tg_graph_write_json(tg_value **targets, size_t n, const char *path,
                        const tg_viz_opts *opts)
{
    if (!path)
        return tg__seterr(TG_EINVAL, "tg_graph_write_json: NULL path");
    json_t *root;
    int rc = targets_json(targets, n, opts, &root);
    if (rc)
        return rc;
    FILE *f = fopen(path, "w");
    if (!f) {
        rc = tg__seterr(TG_EIO, "cannot write '%s': %s", path, strerror(errno));
    } else {
        if (json_dumpf(root, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF)
            rc = tg__seterr(TG_EIO, "error writing '%s'", path);
        if (fclose(f) != 0 && !rc)
            rc = tg__seterr(TG_EIO, "error writing '%s'", path);
        if (rc)
            remove(path);
    }
    json_decref(root);
    return rc;
}
