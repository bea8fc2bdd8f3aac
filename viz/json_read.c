/* viz/json_read.c - read a JSON graph file back into a drawing model.
 *
 * Accepts what tg_graph_write_json writes (see taskgraph/viz.h) and
 * rejects anything else with TG_EFORMAT and a message naming the task
 * and field at fault.  The model borrows its strings from the parsed
 * document, which lives until the picture is drawn.
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "model_internal.h"
#include "runtime/alloc_internal.h"
#include "strmap_internal.h"

static int bad(size_t i, const char *what)
{
    return tg__seterr(TG_EFORMAT, "task %zu: %s", i, what);
}

static int parse_state(const char *s, uint8_t *state)
{
    static const char *names[] = {"done", "failed", "not run"};
    static const uint8_t states[] = {TG__VS_DONE, TG__VS_FAILED,
                                     TG__VS_NOT_RUN};
    for (size_t k = 0; k < 3; k++)
        if (strcmp(s, names[k]) == 0) {
            *state = states[k];
            return 0;
        }
    return -1;
}

/* The number of fused calls of a plan-view task: version 1 wrote a
 * count, version 2 writes the calls' names.  0, or -1 when malformed. */
static int read_calls(json_t *calls, int version, uint32_t *n)
{
    if (version == 1) {
        if (!json_is_integer(calls) || json_integer_value(calls) < 1
            || json_integer_value(calls) > UINT32_MAX)
            return -1;
        *n = (uint32_t)json_integer_value(calls);
        return 0;
    }
    size_t k, len = json_array_size(calls);
    json_t *c;
    if (!json_is_array(calls) || len == 0 || len > UINT32_MAX)
        return -1;
    json_array_foreach(calls, k, c)
    {
        if (!json_is_string(c))
            return -1;
    }
    *n = (uint32_t)len;
    return 0;
}

/* Reads task object t (index i) of a file of the given version into a
 * model node. */
static int read_node(json_t *t, size_t i, int version, tg__vgraph *vg,
                     tg__strmap *keys)
{
    if (!json_is_object(t))
        return bad(i, "not an object");
    const char *key = json_string_value(json_object_get(t, "key"));
    const char *name = json_string_value(json_object_get(t, "name"));
    if (!key || !name)
        return bad(i, "needs string \"key\" and \"name\"");
    if (tg__strmap_get(keys, key) != TG__STRMAP_NONE)
        return tg__seterr(TG_EFORMAT, "task %zu: duplicate key '%s'", i, key);
    json_t *order = json_object_get(t, "order");
    json_t *calls = json_object_get(t, "calls");
    json_t *dur = json_object_get(t, "duration_ns");
    json_t *state = json_object_get(t, "state");
    tg__vnode vn = {.name = name,
                    .key = key,
                    .op = -1,
                    .order = -1,
                    .n_calls = 1,
                    .count = 1,
                    .label = json_string_value(json_object_get(t, "label")),
                    .kind = json_is_true(json_object_get(t, "literal"))
                                ? TG__VN_DATA
                                : TG__VN_TASK};
    if (order && (!json_is_integer(order) || json_integer_value(order) < 0))
        return bad(i, "\"order\" must be a non-negative integer");
    if (order)
        vn.order = json_integer_value(order);
    if (calls && read_calls(calls, version, &vn.n_calls))
        return bad(i, version == 1 ? "\"calls\" must be a positive integer"
                                   : "\"calls\" must be a non-empty array "
                                     "of function names");
    if (dur && (!json_is_integer(dur) || json_integer_value(dur) < 0))
        return bad(i, "\"duration_ns\" must be a non-negative integer");
    if (dur)
        vn.duration_ns = (uint64_t)json_integer_value(dur);
    if (state
        && (!json_is_string(state)
            || parse_state(json_string_value(state), &vn.state)))
        return bad(i, "\"state\" must be \"done\", \"failed\" or "
                      "\"not run\"");
    if (state)
        vg->has_profile = true;
    long k = tg__vgraph_add_node(vg, &vn);
    if (k < 0 || tg__strmap_put(keys, key, (uint32_t)k))
        return TG_ENOMEM;
    return 0;
}

static int read_deps(json_t *t, size_t i, tg__vgraph *vg,
                     const tg__strmap *keys)
{
    json_t *deps = json_object_get(t, "deps"), *d;
    size_t k;
    if (!deps)
        return 0;
    if (!json_is_array(deps))
        return bad(i, "\"deps\" must be an array of keys");
    json_array_foreach(deps, k, d)
    {
        const char *dk = json_string_value(d);
        uint32_t from = dk ? tg__strmap_get(keys, dk) : TG__STRMAP_NONE;
        if (from == TG__STRMAP_NONE)
            return tg__seterr(TG_EFORMAT,
                              "task %zu: unknown dependency "
                              "'%s'",
                              i, dk ? dk : "(not a string)");
        if (tg__vgraph_add_edge(vg, from, (uint32_t)i, 1))
            return TG_ENOMEM;
    }
    return 0;
}

int tg__vgraph_read_json(json_t *root, tg__vgraph *vg)
{
    json_t *tasks = json_object_get(root, "tasks");
    json_t *targets = json_object_get(root, "targets");
    if (!json_is_object(root) || !json_is_array(tasks))
        return tg__seterr(TG_EFORMAT, "not a taskgraph JSON graph: no "
                                      "\"tasks\" array");
    if (targets && !json_is_array(targets))
        return tg__seterr(TG_EFORMAT, "\"targets\" must be an array");
    json_t *ver = json_object_get(root, "version");
    json_int_t version = ver ? json_integer_value(ver) : 1;
    if (ver
        && (!json_is_integer(ver) || version < 1 || version > TG__JSON_VERSION))
        return tg__seterr(TG_EFORMAT,
                          "unsupported \"version\" (this reader takes 1 to "
                          "%d)",
                          TG__JSON_VERSION);
    const char *view = json_string_value(json_object_get(root, "view"));
    vg->is_plan = view && strcmp(view, "plan") == 0;
    tg__strmap keys = {0};
    size_t i;
    json_t *t;
    int rc = 0;
    json_array_foreach(tasks, i, t)
    {
        if ((rc = read_node(t, i, (int)version, vg, &keys)))
            goto fail;
    }
    json_array_foreach(tasks, i, t)
    {
        if ((rc = read_deps(t, i, vg, &keys)))
            goto fail;
    }
    json_array_foreach(targets, i, t)
    {
        const char *k = json_string_value(t);
        uint32_t node = k ? tg__strmap_get(&keys, k) : TG__STRMAP_NONE;
        if (node == TG__STRMAP_NONE) {
            rc = tg__seterr(TG_EFORMAT, "target %zu is not a task key", i);
            goto fail;
        }
        vg->nodes[node].n_targets = 1;
    }
fail:
    tg__strmap_free(&keys);
    return rc;
}

/* Parses path into *root and *vg.  On failure both are released. */
static int load(const char *path, json_t **root, tg__vgraph *vg)
{
    *vg = (tg__vgraph){0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return tg__seterr(errno == ENOENT ? TG_ENOENT : TG_EIO,
                          "cannot read '%s': %s", path, strerror(errno));
    json_error_t err;
    *root = json_loadf(f, 0, &err);
    fclose(f);
    if (!*root)
        return tg__seterr(TG_EFORMAT, "%s:%d:%d: %s", path, err.line,
                          err.column, err.text);
    int rc = tg__vgraph_read_json(*root, vg);
    if (rc) {
        tg__vgraph_free(vg);
        json_decref(*root);
        *root = NULL;
    }
    return rc;
}

int tg_visualize_json(const char *json_path, const char *out_path,
                      const tg_viz_opts *opts)
{
    static const tg_viz_opts defaults = {0};
    const tg_viz_opts *o = opts ? opts : &defaults;
    if (!tg__viz_available())
        return tg__seterr(TG_EUNSUPPORTED, "tg_visualize_json: taskgraph "
                                           "was built without Graphviz");
    if (!json_path)
        return tg__seterr(TG_EINVAL, "tg_visualize_json: NULL input path");
    if (!tg__viz_format(out_path))
        return TG_EINVAL;
    if ((unsigned)o->rankdir > TG_VIZ_RL
        || (unsigned)o->color > TG_VIZ_COLOR_DURATION)
        return tg__seterr(TG_EINVAL, "unknown rankdir or colour mode");
    json_t *root;
    tg__vgraph vg;
    int rc = load(json_path, &root, &vg);
    if (rc)
        return rc;
    if ((o->color == TG_VIZ_COLOR_STATE || o->color == TG_VIZ_COLOR_DURATION)
        && !vg.has_profile)
        rc = tg__seterr(TG_EINVAL, "'%s' has no task states to colour by",
                        json_path);
    else
        rc = tg__viz_render_path(&vg, o, out_path);
    tg__vgraph_free(&vg);
    json_decref(root);
    return rc;
}
