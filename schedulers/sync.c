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

/* Frees every result still held after task t failed or the run was
 * stopped before it. */
static void release_all(tg_value **res, uint32_t t)
{
    for (uint32_t u = 0; u < t; u++) {
        tg_decref(res[u]);
        res[u] = NULL;
    }
}

static int sync_run(tg_scheduler *s, tg__run *run)
{
    (void)s;
    const tg__plan *p = run->plan;
    if (p->n_tasks == 0) /* plain values only: maybe no graph at all */
        return 0;
    const uint32_t *op_begin = p->op_begin, *in = p->in;
    const tg__op *ops = p->ops;
    tg_value **res = run->results;
    uint32_t *pending =
        tg__big_alloc((p->n_slots ? p->n_slots : 1) * sizeof *pending);
    if (!pending)
        return TG_ENOMEM;
    memcpy(pending, p->reads, p->n_slots * sizeof *pending);

    int rc = 0;
    bool plain = run->cb.n == 0; /* no callbacks to notify */
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        if (TG_UNLIKELY(tg__run_should_stop(run, t))) {
            release_all(res, t);
            rc = TG_ECANCELED;
            break;
        }
        uint32_t o = op_begin[t];
        const tg__op *first = &ops[o];
        tg_value *r;
        if (TG_LIKELY(op_begin[t + 1] == o + 1 && plain)) {
            r = tg__call_op(run, first);
            if (TG_LIKELY(r->type != TG_ERROR))
                res[t] = r;
            else
                r = tg__with_key(p, o, r);
        } else {
            r = tg__exec_task(run, t, 0); /* in the task's slot */
        }
        if (TG_UNLIKELY(r->type == TG_ERROR)) {
            tg__run_fail(run, r);
            release_all(res, t);
            rc = TG_ETASK;
            break;
        }
        /* The task's first op read its inputs; the rest of a chain read
         * only their predecessor, which the chain has freed. */
        for (uint32_t k = first[0].in, end = first[1].in; k < end; k++) {
            uint32_t d = in[k];
            if (--pending[d] == 0) {
                tg_decref(res[d]);
                res[d] = NULL;
            }
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
