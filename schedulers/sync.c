/* schedulers/sync.c - the synchronous scheduler.
 *
 * Runs the plan's tasks in static order in the calling thread.  Static
 * order puts every task after its dependencies, so no ready queue is
 * needed.  Each slot keeps a count of the reads still to come (the
 * plan's reads), so that a result is freed as soon as its last consumer
 * has run.  A task of one op, the common case, is called right here.
 */
#include <string.h>

#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"

static int sync_run(tg_scheduler *s, tg__run *run)
{
    (void)s;
    const tg__plan *p = run->plan;
    const tg_graph *g = p->graph;
    tg_value **res = run->results;
    uint32_t *pending =
        tg__big_alloc((p->n_slots ? p->n_slots : 1) * sizeof *pending);
    if (!pending)
        return TG_ENOMEM;
    memcpy(pending, p->reads, p->n_slots * sizeof *pending);

    int rc = 0;
    uint32_t t;
    for (t = 0; t < p->n_tasks; t++) {
        if (TG_UNLIKELY(tg__run_should_stop(run, t))) {
            rc = TG_ECANCELED;
            break;
        }
        uint32_t o = p->op_begin[t];
        tg__node *first = p->ops[o].node;
        tg_value *r;
        if (TG_LIKELY(p->op_begin[t + 1] == o + 1 && !run->cb.n)) {
            r = tg__call_op(run, first);
            if (TG_UNLIKELY(r->type == TG_ERROR))
                r = tg__with_key(first, r);
        } else {
            r = tg__exec_task(run, t, 0);
        }
        if (TG_UNLIKELY(r->type == TG_ERROR)) {
            tg__run_fail(run, r);
            rc = TG_ETASK;
            break;
        }
        res[p->task_slot[t]] = r;
        /* The task's first op read its inputs; the rest of a chain read
         * only their predecessor, which the chain has freed. */
        const uint32_t *e = &g->edges[g->edge_off[first->index]];
        const uint32_t *end = &g->edges[g->edge_off[first->index + 1]];
        for (; e < end; e++) {
            uint32_t d = tg__plan_slot(p, *e);
            if (--pending[d] == 0) {
                tg_decref(res[d]);
                res[d] = NULL;
            }
        }
    }
    if (rc) {
        for (uint32_t u = 0; u < t; u++) {
            tg_decref(res[p->task_slot[u]]);
            res[p->task_slot[u]] = NULL;
        }
    }
    tg__big_free(pending);
    return rc;
}

static void sync_free(tg_scheduler *s)
{
    tg__free(s);
}

static const tg__scheduler_vt sync_vt = {"sync", false, sync_run, sync_free};

tg_scheduler *tg_scheduler_sync(void)
{
    tg_scheduler *s = tg__malloc(sizeof *s);
    if (s)
        s->vt = &sync_vt;
    return s;
}

/* The scheduler used when a compute is given NULL: never freed. */
tg_scheduler *tg__scheduler_default(void)
{
    static tg_scheduler s = {&sync_vt};
    return &s;
}
