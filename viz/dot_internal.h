/* viz/dot_internal.h - the drawing model as a cgraph graph.
 *
 * Only the Graphviz-backed files include this header (it pulls in
 * cgraph.h); the rest of viz/ works without Graphviz.
 */
#ifndef TG_VIZ_DOT_INTERNAL_H
#define TG_VIZ_DOT_INTERNAL_H

#include <cgraph.h>

#include "model_internal.h"

/* A new cgraph graph drawing vg with opts, or NULL (out of memory) with
 * tg_last_error() set.  Free it with agclose.  Caller holds the Graphviz
 * lock. */
Agraph_t *tg__viz_agraph(const tg__vgraph *vg, const tg_viz_opts *opts);

#endif /* TG_VIZ_DOT_INTERNAL_H */
