/* viz/visualize.c - tg_visualize: model, summarize, render to a file.
 *
 * The path's extension picks the format, checked before any work; the
 * file is created before the (possibly long) model build so that a bad
 * path fails at once, and removed again if rendering fails.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model_internal.h"
#include "runtime/alloc_internal.h"

const char *tg__viz_format(const char *path)
{
    static const char *formats[] = {"svg", "png", "pdf", "dot"};
    if (!path || !*path)
        return tg__seterr_null(TG_EINVAL, "tg_visualize: no output path");
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return tg__seterr_null(TG_EINVAL,
                               "'%s' has no extension: use .svg, "
                               ".png, .pdf or .dot",
                               path);
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (strcasecmp(dot + 1, formats[i]) == 0)
            return formats[i];
    return tg__seterr_null(TG_EINVAL,
                           "unknown extension '%s': use .svg, "
                           ".png, .pdf or .dot",
                           dot);
}

static FILE *open_output(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        tg__seterr(TG_EIO, "cannot write '%s': %s", path, strerror(errno));
    return f;
}

/* Closes f; on failure (rc or a close error) removes the file. */
static int close_output(FILE *f, const char *path, int rc)
{
    if (fclose(f) != 0 && rc == 0)
        rc = tg__seterr(TG_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (rc)
        remove(path);
    return rc;
}

/* Renders vg, or its summary when it is large, to the open file. */
static int render_model(const tg__vgraph *vg, const tg_viz_opts *o,
                        const char *fmt, FILE *f)
{
    if (!tg__viz_should_summarize(o, vg->n_tasks))
        return tg__viz_render(vg, o, fmt, f);
    tg__vgraph sum;
    int rc = tg__vgraph_summarize(vg, &sum);
    if (rc)
        return rc;
    rc = tg__viz_render(&sum, o, fmt, f);
    tg__vgraph_free(&sum);
    return rc;
}

int tg__viz_render_path(const tg__vgraph *vg, const tg_viz_opts *opts,
                        const char *path)
{
    const char *fmt = tg__viz_format(path);
    if (!fmt)
        return TG_EINVAL;
    FILE *f = open_output(path);
    if (!f)
        return TG_EIO;
    return close_output(f, path, render_model(vg, opts, fmt, f));
}

static int check_opts(const tg_viz_opts *o)
{
    if ((unsigned)o->rankdir > TG_VIZ_RL)
        return tg__seterr(TG_EINVAL, "unknown rankdir %d", (int)o->rankdir);
    if ((unsigned)o->color > TG_VIZ_COLOR_DURATION)
        return tg__seterr(TG_EINVAL, "unknown colour mode %d", (int)o->color);
    if ((o->color == TG_VIZ_COLOR_STATE || o->color == TG_VIZ_COLOR_DURATION)
        && !o->profile)
        return tg__seterr(TG_EINVAL, "colouring by %s needs opts.profile",
                          o->color == TG_VIZ_COLOR_STATE ? "state"
                                                         : "duration");
    return 0;
}

int tg_visualize(tg_value **targets, size_t n, const char *path,
                 const tg_viz_opts *opts)
{
    static const tg_viz_opts defaults = {0};
    const tg_viz_opts *o = opts ? opts : &defaults;
    if (!tg__viz_available())
        return tg__seterr(TG_EUNSUPPORTED,
                          "tg_visualize: taskgraph was "
                          "built without Graphviz (meson -Dviz=enabled "
                          "needs libgraphviz-dev)");
    int rc = check_opts(o);
    const char *fmt = rc ? NULL : tg__viz_format(path);
    if (!fmt)
        return rc ? rc : TG_EINVAL;
    FILE *f = open_output(path);
    if (!f)
        return TG_EIO;
    tg__vgraph vg;
    rc = tg__vgraph_build(targets, n, o, o->color == TG_VIZ_COLOR_ORDER, &vg);
    if (!rc)
        rc = render_model(&vg, o, fmt, f);
    tg__vgraph_free(&vg);
    return close_output(f, path, rc);
}
