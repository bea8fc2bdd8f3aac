/* viz/render.c - lay out and render the drawing model with Graphviz gvc.
 *
 * Graphviz keeps global state and is not thread-safe, so every use goes
 * through one process-wide lock, which also guards the one gvc context
 * (created on first use and kept: loading the plugins costs tens of ms)
 * and the buffer that catches Graphviz's error messages, so they reach
 * tg_last_error() instead of stderr.  Output is rendered into memory
 * and written by us, so a bad path is our error, not Graphviz's.
 */
#include <gvc.h>
#include <pthread.h>
#include <string.h>

#include "dot_internal.h"
#include "runtime/alloc_internal.h"

static pthread_mutex_t gv_lock = PTHREAD_MUTEX_INITIALIZER;
static GVC_t *gvc;       /* guarded by gv_lock; never freed */
static char gv_msg[256]; /* guarded by gv_lock: last Graphviz message */

bool tg__viz_available(void)
{
    return true;
}

/* Graphviz's error hook: keep the message (trimmed) for our report. */
static int catch_message(char *msg)
{
    snprintf(gv_msg, sizeof gv_msg, "%s", msg);
    size_t n = strlen(gv_msg);
    while (n && (gv_msg[n - 1] == '\n' || gv_msg[n - 1] == ' '))
        gv_msg[--n] = '\0';
    return 0;
}

static int graphviz_error(const char *what)
{
    return tg__seterr(TG_EIO, "Graphviz could not %s: %s", what,
                      gv_msg[0] ? gv_msg : "no detail given");
}

/* Lays g out and writes it to f in fmt.  Caller holds gv_lock. */
static int layout_and_write(Agraph_t *g, const char *fmt, FILE *f)
{
    if (!gvc && !(gvc = gvContext()))
        return graphviz_error("start");
    if (gvLayout(gvc, g, "dot") != 0)
        return graphviz_error("lay out the graph");
    char *data = NULL;
    unsigned int len = 0;
    int rc = 0;
    if (gvRenderData(gvc, g, fmt, &data, &len) != 0 || !data)
        rc = graphviz_error("render");
    else if (fwrite(data, 1, len, f) != len)
        rc = tg__seterr(TG_EIO, "writing the %s output failed", fmt);
    if (data)
        gvFreeRenderData(data);
    gvFreeLayout(gvc, g);
    return rc;
}

int tg__viz_render(const tg__vgraph *vg, const tg_viz_opts *opts,
                   const char *fmt, FILE *f)
{
    static const tg_viz_opts defaults = {0};
    const tg_viz_opts *o = opts ? opts : &defaults;
    pthread_mutex_lock(&gv_lock);
    gv_msg[0] = '\0';
    agusererrf old = agseterrf(catch_message);
    int rc;
    Agraph_t *g = tg__viz_agraph(vg, o);
    if (!g)
        rc = TG_ENOMEM;
    else if (strcmp(fmt, "dot") == 0)
        rc = agwrite(g, f) == 0
                 ? 0
                 : tg__seterr(TG_EIO, "writing the DOT output failed");
    else
        rc = layout_and_write(g, fmt, f);
    if (g)
        agclose(g);
    agseterrf(old);
    pthread_mutex_unlock(&gv_lock);
    return rc;
}
