/* schedulers/sync.c - the synchronous scheduler.
 *
 * Runs the plan's tasks in static order in the calling thread.  Static
 * order puts every task after its dependencies, so no ready queue is
 * needed; a per-run count of pending consumers frees each intermediate
 * result as soon as its last consumer has run.
 */
#include <string.h>

#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"

static int sync_run(tg_scheduler *s, tg__run *run)
{
    (void)s;
    const tg__plan *p = run->plan;
    uint32_t *pending =
        tg__big_alloc((p->n_tasks ? p->n_tasks : 1) * sizeof *pending);
    if (!pending)
        return TG_ENOMEM;
    memcpy(pending, p->n_users, p->n_tasks * sizeof *pending);

    int rc = 0;
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        if (TG_UNLIKELY(tg__run_should_stop(run, t))) {
            rc = TG_ECANCELED;
            break;
        }
        tg_value *r = tg__exec_task(run, t, 0);
        if (TG_UNLIKELY(r->type == TG_ERROR)) {
            tg__run_fail(run, r);
            rc = TG_ETASK;
            break;
        }
        run->results[t] = r;
        for (uint32_t e = p->deps_off[t]; e < p->deps_off[t + 1]; e++) {
            uint32_t d = p->deps[e];
            if (--pending[d] == 0 && !p->is_target[d]) {
                tg_decref(run->results[d]);
                run->results[d] = NULL;
            }
        }
    }
    if (rc) {
        for (uint32_t t = 0; t < p->n_tasks; t++) {
            tg_decref(run->results[t]);
            run->results[t] = NULL;
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
