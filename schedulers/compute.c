/* schedulers/compute.c - tg_compute: compile, run, collect.
 *
 * The one path every scheduler shares: check the request, compile the
 * plan, snapshot callbacks, hand the run to the scheduler, then turn its
 * outcome into values (a result per target, or the error value).
 */
#include <stdio.h>

#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"

static atomic_uint_fast64_t compute_ids;

void tg_scheduler_free(tg_scheduler *s)
{
    if (s && s != tg__scheduler_default())
        s->vt->free(s);
}

const char *tg_scheduler_name(const tg_scheduler *s)
{
    return s ? s->vt->name : tg__scheduler_default()->vt->name;
}

tg_cancel *tg_cancel_new(void)
{
    tg_cancel *c = tg__malloc(sizeof *c);
    if (c)
        atomic_init(&c->requested, false);
    return c;
}

void tg_cancel_request(tg_cancel *c)
{
    /* Relaxed: schedulers poll the flag; no data is published with it. */
    if (c)
        atomic_store_explicit(&c->requested, true, memory_order_relaxed);
}

bool tg_cancel_requested(const tg_cancel *c)
{
    return c && atomic_load_explicit(&c->requested, memory_order_relaxed);
}

void tg_cancel_reset(tg_cancel *c)
{
    if (c)
        atomic_store(&c->requested, false);
}

void tg_cancel_free(tg_cancel *c)
{
    tg__free(c);
}

/* The error value for a run that stopped without a task error. */
static tg_value *cancel_error(const tg_compute_opts *o, uint64_t now_ns,
                              uint64_t deadline_ns)
{
    if (deadline_ns && now_ns >= deadline_ns
        && !(o->cancel && tg_cancel_requested(o->cancel)))
        return tg_error("compute cancelled: timeout of %llu ms passed",
                        (unsigned long long)o->timeout_ms);
    return tg_error("compute cancelled");
}

static void collect(const tg__plan *p, tg__run *run, tg_value **out)
{
    for (size_t i = 0; i < p->n_targets; i++) {
        int64_t t = p->target_task[i];
        out[i] = tg_incref(t < 0 ? p->target_value[i] : run->results[t]);
    }
    for (uint32_t t = 0; t < p->n_tasks; t++)
        if (p->is_target[t])
            tg_decref(run->results[t]);
}

static int run_plan(tg__plan *p, tg_value **out, tg_scheduler *s,
                    const tg_compute_opts *o)
{
    uint64_t start = tg_now_ns();
    tg__run run = {.plan = p, .cancel = o->cancel};
    atomic_init(&run.stop, false);
    atomic_init(&run.error, NULL);
    run.deadline_ns = o->timeout_ms ? start + o->timeout_ms * 1000000u : 0;
    run.compute_id = atomic_fetch_add(&compute_ids, 1) + 1;
    /* Not cleared: a scheduler writes a slot before anyone reads it
     * (see scheduler_internal.h). */
    run.results =
        tg__big_alloc((p->n_slots ? p->n_slots : 1) * sizeof *run.results);
    if (!run.results)
        return TG_ENOMEM;
    for (uint32_t j = 0; j < p->n_literals; j++)
        run.results[p->n_tasks + j] = p->literal[j];
    int rc = tg__cb_snapshot(&run.cb);
    if (rc) {
        tg__big_free(run.results);
        return rc;
    }
    tg__cb_start(&run);
    rc = s->vt->run(s, &run);
    tg__cb_finish(&run, rc, tg_now_ns() - start);
    tg__cb_release(&run.cb);
    if (rc == 0) {
        collect(p, &run, out);
    } else if (rc == TG_ETASK || rc == TG_ECANCELED) {
        tg_value *err = atomic_load(&run.error);
        if (err)
            rc = TG_ETASK;
        else
            err = cancel_error(o, tg_now_ns(), run.deadline_ns);
        for (size_t i = 0; i < p->n_targets; i++)
            out[i] = tg_incref(err);
        tg_decref(err);
        if (!err) { /* could not even allocate the error value */
            rc = TG_ENOMEM;
        }
    }
    tg__big_free(run.results);
    return rc;
}

int tg_compute_with(tg_value **targets, size_t n, tg_value **out,
                    tg_scheduler *s, const tg_compute_opts *opts)
{
    static const tg_compute_opts defaults = {0};
    const tg_compute_opts *o = opts ? opts : &defaults;
    if (!out)
        return tg__seterr(TG_EINVAL, "tg_compute: NULL output array");
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (!targets && n)
        return tg__seterr(TG_EINVAL, "tg_compute: NULL targets");
    if (!s)
        s = tg__scheduler_default();
    tg__plan *p;
    unsigned flags = (o->no_fuse ? 0 : TG__PLAN_FUSE)
                     | (s->vt->needs_deps ? TG__PLAN_DEPS : 0);
    int rc = tg__plan_compile(targets, n, flags, &p);
    if (rc)
        return rc;
    rc = run_plan(p, out, s, o);
    tg__plan_free(p);
    return rc;
}

int tg_compute_many(tg_value **targets, size_t n, tg_value **out,
                    tg_scheduler *s)
{
    return tg_compute_with(targets, n, out, s, NULL);
}

tg_value *tg_compute(tg_value *target, tg_scheduler *s)
{
    tg_value *out = NULL;
    int rc = tg_compute_with(&target, 1, &out, s, NULL);
    if (out)
        return out;
    /* Invalid call or out of memory: say so as an error value. */
    return tg_error("%s", rc ? tg_last_error() : "compute failed");
}
