/* viz/noviz.c - drawing when taskgraph is built without Graphviz.
 *
 * The model, summary and JSON export still work; rendering reports
 * TG_EUNSUPPORTED with a message saying how to get it.
 */
#include "model_internal.h"
#include "runtime/alloc_internal.h"

bool tg__viz_available(void)
{
    return false;
}

int tg__viz_render(const tg__vgraph *vg, const tg_viz_opts *opts,
                   const char *fmt, FILE *f)
{
    (void)vg, (void)opts, (void)fmt, (void)f;
    return tg__seterr(TG_EUNSUPPORTED,
                      "taskgraph was built without "
                      "Graphviz: rendering needs libgraphviz-dev and "
                      "meson -Dviz=enabled");
}
