/* schedulers/loopback.c - a cluster's rules in one process.
 *
 * Runs a plan as sync does, but as a cluster would see it: the plan is
 * encoded (calls by registered name only, so a local call is refused
 * with an error naming it) and decoded into a plan of its own, whose
 * functions are resolved by name in the registry; every result is kept
 * only in its encoded (flat) form, as a worker holds it for others, and
 * every task decodes its inputs from those bytes.  Anything that could
 * not cross a wire fails here, before TCP is involved.  Slow on purpose:
 * every value is copied twice.
 */
#include <stdio.h>
#include <string.h>

#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"

/* One result in its encoded form. */
typedef struct blob {
    uint8_t *data; /* NULL: not computed, or released */
    size_t len;
} blob;

/* The plan as another process would receive it, into *out. */
static int ship_plan(const tg__plan *p, tg__plan **out)
{
    tg__enc e;
    uint8_t *flat = NULL;
    size_t len = 0;
    int rc = tg__enc_init(&e, TG__CODEC_HOLES);
    if (rc == 0)
        rc = tg__plan_encode(p, &e);
    if (rc == 0)
        rc = tg__enc_flatten(&e, &flat, &len);
    tg__enc_close(&e);
    tg__dec d;
    if (rc == 0 && (rc = tg__dec_init_flat(&d, flat, len, 0)) == 0) {
        rc = tg__plan_decode(&d, out);
        if (rc == 0 && !tg__dec_done(&d)) {
            tg__plan_free(*out);
            *out = NULL;
            rc = tg__seterr(TG_EFORMAT, "trailing bytes after the plan");
        }
        tg__dec_close(&d);
    }
    tg__free(flat);
    return rc;
}

/* The state of one run on the decoded plan. */
typedef struct loop {
    tg__run *run;   /* the caller's: cancel, callbacks, error, results */
    tg__run local;  /* runs the decoded plan's tasks */
    blob *blobs;    /* n_tasks encoded results */
    uint32_t *left; /* n_tasks: reads still to come */
} loop;

/* Decodes task t's inputs into the local run's slots. */
static tg_value *fetch_inputs(loop *l, uint32_t t)
{
    const tg__plan *p = l->local.plan;
    const tg__op *op = &p->ops[p->op_begin[t]];
    for (uint32_t k = op[0].in; k < op[1].in; k++) {
        uint32_t s = p->in[k];
        if (s >= p->n_tasks || l->local.results[s])
            continue; /* a literal (a value already), or fetched */
        tg_value *v = tg__unflatten_value(l->blobs[s].data, l->blobs[s].len);
        if (tg_is_error(v))
            return v;
        l->local.results[s] = v;
    }
    return NULL;
}

/* Drops task t's decoded inputs, and the blobs no task reads again. */
static void release_inputs(loop *l, uint32_t t)
{
    const tg__plan *p = l->local.plan;
    const tg__op *op = &p->ops[p->op_begin[t]];
    for (uint32_t k = op[0].in; k < op[1].in; k++) {
        uint32_t s = p->in[k];
        if (s >= p->n_tasks)
            continue;
        tg_decref(l->local.results[s]);
        l->local.results[s] = NULL;
        if (--l->left[s] == 0) {
            tg__free(l->blobs[s].data);
            l->blobs[s].data = NULL;
        }
    }
}

/* Runs task t; its result ends up encoded in blobs[t].  0, TG_ETASK
 * (the error, encoded and decoded, is the run's), or a negative code. */
static int run_task(loop *l, uint32_t t)
{
    tg_value *r = fetch_inputs(l, t);
    if (!r)
        r = tg__exec_task(&l->local, t, 0);
    release_inputs(l, t);
    l->local.results[t] = NULL; /* r is ours now */
    int rc = tg__flatten_value(r, &l->blobs[t].data, &l->blobs[t].len);
    if (rc != 0 && !tg_is_error(r)) {
        tg_value *err = tg_error(
            "the result of %s cannot cross a wire: %s",
            tg__plan_key(l->local.plan, tg__plan_last_op(l->local.plan, t)),
            tg_last_error());
        tg_decref(r);
        r = err;
        rc = tg__flatten_value(r, &l->blobs[t].data, &l->blobs[t].len);
    }
    if (rc == 0 && tg_is_error(r)) {
        tg_value *back = tg__unflatten_value(l->blobs[t].data, l->blobs[t].len);
        tg_decref(r);
        tg__run_fail(l->run, back);
        return TG_ETASK;
    }
    tg_decref(r);
    return rc;
}

static void loop_close(loop *l)
{
    const tg__plan *p = l->local.plan;
    for (uint32_t t = 0; l->blobs && t < p->n_tasks; t++)
        tg__free(l->blobs[t].data);
    for (uint32_t s = 0; l->local.results && s < p->n_tasks; s++)
        tg_decref(l->local.results[s]);
    tg__free(l->blobs);
    tg__free(l->left);
    tg__big_free(l->local.results);
    tg__plan_free((tg__plan *)p);
}

static int loop_init(loop *l, tg__run *run, tg__plan *dp)
{
    *l = (loop){.run = run};
    l->local = (tg__run){.plan = dp,
                         .cancel = run->cancel,
                         .deadline_ns = run->deadline_ns,
                         .compute_id = run->compute_id,
                         .cb = run->cb};
    atomic_init(&l->local.stop, false);
    atomic_init(&l->local.error, NULL);
    size_t nt = dp->n_tasks ? dp->n_tasks : 1;
    l->blobs = tg__calloc(nt, sizeof *l->blobs);
    l->left = tg__malloc(nt * sizeof *l->left);
    l->local.results =
        tg__big_calloc(dp->n_slots ? dp->n_slots : 1, sizeof(tg_value *));
    if (!l->blobs || !l->left || !l->local.results)
        return TG_ENOMEM;
    memcpy(l->left, dp->reads, dp->n_tasks * sizeof *l->left);
    for (uint32_t j = 0; j < dp->n_literals; j++)
        l->local.results[dp->n_tasks + j] = dp->literal[j];
    return 0;
}

static int loopback_run(tg_scheduler *s, tg__run *run)
{
    (void)s;
    const tg__plan *p = run->plan;
    tg__plan *dp;
    int rc = ship_plan(p, &dp);
    if (rc)
        return rc;
    loop l;
    rc = loop_init(&l, run, dp);
    uint32_t t = 0;
    for (; rc == 0 && t < dp->n_tasks; t++) {
        if (tg__run_should_stop(run, t)) {
            rc = TG_ECANCELED;
            break;
        }
        rc = run_task(&l, t);
    }
    /* The targets come back to the caller decoded, as a client gathers
     * them. */
    for (uint32_t u = 0; rc == 0 && u < p->n_tasks; u++) {
        if (!p->is_target[u])
            continue;
        tg_value *v = tg__unflatten_value(l.blobs[u].data, l.blobs[u].len);
        if (tg_is_error(v)) {
            tg__run_fail(run, v);
            rc = TG_ETASK;
            for (uint32_t w = 0; w < u; w++)
                if (p->is_target[w])
                    tg_decref(run->results[w]);
            break;
        }
        run->results[u] = v;
    }
    loop_close(&l);
    return rc;
}

static void loopback_free(tg_scheduler *s)
{
    tg__free(s);
}

static const tg__scheduler_vt loopback_vt = {"loopback", false, loopback_run,
                                             loopback_free};

tg_scheduler *tg_scheduler_loopback(void)
{
    tg_scheduler *s = tg__malloc(sizeof *s);
    if (s)
        s->vt = &loopback_vt;
    return s;
}
