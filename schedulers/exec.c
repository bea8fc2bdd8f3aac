/* schedulers/exec.c - run one plan task; shared by every scheduler.
 *
 * A task is a chain of ops.  Each op calls its function with its
 * arguments, inputs read from the run's result slots (plan_internal.h):
 * literals, results of other tasks, or the previous op's result, which
 * is released as soon as the next op returns.  A failing op's error gets
 * its key here, once for all schedulers.
 */
#include <stdio.h>

#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"

/* Where the inputs of the op being run come from: the next of its
 * input slots. */
typedef struct op_ctx {
    tg__run *run;
    const uint32_t *in;
} op_ctx;

/* The value of the next input (borrowed). */
static inline tg_value *next_input(op_ctx *c)
{
    return c->run->results[*c->in++];
}

/* A list argument holding placeholders: a new list of their values. */
static tg_value *build_list(op_ctx *c, const tg_value *l)
{
    size_t n = l->u.list.n;
    tg_value *small[16], **v = small;
    if (n > 16 && !(v = tg__malloc(n * sizeof *v)))
        return NULL;
    for (size_t k = 0; k < n; k++) {
        tg_value *x = l->u.list.items[k];
        v[k] = tg_incref(x->type == TG_DELAYED ? next_input(c) : x);
    }
    tg_value *list = tg_list_from(n, v);
    if (v != small)
        tg__free(v);
    return list;
}

tg_value *tg__with_key(const tg__plan *p, uint32_t o, tg_value *err)
{
    if (tg_error_key(err))
        return err;
    const char *key = tg__plan_key(p, o);
    tg_value *keyed = key ? tg__error_new(tg_error_message(err), key) : NULL;
    if (!keyed)
        return err;
    tg_decref(err);
    return keyed;
}

/* Any call: a literal target, many arguments, lists of inputs. */
tg_value *tg__call_op_slow(tg__run *run, const tg__op *op)
{
    const tg__call *call = op->call;
    const tg__fnref *f = call->fn;
    if (!f->fn) /* a literal target */
        return tg_incref(call->args[0]);
    op_ctx c = {run, &run->plan->in[op->in]};
    uint32_t nargs = call->nargs;
    tg_value *small[8], **argv = small;
    if (nargs > 8 && !(argv = tg__malloc(nargs * sizeof *argv)))
        return tg_error("out of memory gathering %u arguments", nargs);
    bool lists = op->flags & TG__OP_LIST_INPUTS, ok = true;
    for (uint32_t i = 0; i < nargs; i++) {
        tg_value *a = call->args[i];
        if (tg__call_is_input(call, i)) {
            argv[i] = next_input(&c);
        } else if (lists && a->type == TG_LIST) {
            argv[i] = build_list(&c, a);
            ok = ok && argv[i];
        } else {
            argv[i] = a;
        }
    }
    tg_value *r = ok ? f->fn(argv, nargs, f->ctx)
                     : tg_error("out of memory building a list argument");
    if (!r)
        r = tg_error("%s returned NULL", f->name);
    for (uint32_t i = 0; lists && i < nargs; i++)
        if (call->args[i]->type == TG_LIST && argv[i] != call->args[i])
            tg_decref(argv[i]);
    if (argv != small)
        tg__free(argv);
    return r;
}

static void notify(tg__run *run, tg_task_info *info, bool end)
{
    for (size_t i = 0; i < run->cb.n; i++) {
        const tg_callbacks *cb = &run->cb.cbs[i];
        void (*f)(void *, const tg_task_info *) =
            end ? cb->task_end : cb->task_begin;
        if (f)
            f(cb->ud, info);
    }
}

tg_value *tg__exec_task(tg__run *run, uint32_t t, int worker)
{
    const tg__plan *p = run->plan;
    tg_task_info info;
    if (TG_UNLIKELY(run->cb.n)) {
        uint32_t last = tg__plan_last_op(p, t);
        info = (tg_task_info){run->compute_id,
                              t,
                              p->op_begin[t + 1] - p->op_begin[t],
                              p->ops[last].call->fn->name,
                              tg__plan_key(p, last),
                              worker,
                              tg_now_ns(),
                              0,
                              false};
        notify(run, &info, false);
    }
    /* A chain's intermediate sits in the task's slot, where the next op
     * reads it, and is released once that op has returned. */
    tg_value *r = NULL;
    for (uint32_t o = p->op_begin[t]; o < p->op_begin[t + 1]; o++) {
        tg_value *next = tg__call_op(run, &p->ops[o]);
        tg_decref(r);
        r = next;
        if (TG_UNLIKELY(r->type == TG_ERROR)) {
            run->results[t] = NULL;
            r = tg__with_key(p, o, r);
            break;
        }
        run->results[t] = r;
    }
    if (TG_NEVER(!r)) /* a plan task always has an op */
        r = tg_error("task %u of the plan has no calls", t);
    if (TG_UNLIKELY(run->cb.n)) {
        info.end_ns = tg_now_ns();
        info.failed = r->type == TG_ERROR;
        notify(run, &info, true);
    }
    return r;
}

void tg__run_fail(tg__run *run, tg_value *err)
{
    tg_value *expected = NULL;
    /* acq_rel: the winner publishes its error value to the thread that
     * reads run->error after the run. */
    if (!atomic_compare_exchange_strong_explicit(&run->error, &expected, err,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire))
        tg_decref(err);
    atomic_store_explicit(&run->stop, true, memory_order_release);
}

bool tg__run_should_stop_slow(tg__run *run, uint64_t tick)
{
    if (atomic_load_explicit(&run->stop, memory_order_relaxed))
        return true;
    if (run->cancel
        && atomic_load_explicit(&run->cancel->requested,
                                memory_order_relaxed)) {
        atomic_store_explicit(&run->stop, true, memory_order_relaxed);
        return true;
    }
    if (run->deadline_ns && (tick & 63) == 0
        && tg_now_ns() >= run->deadline_ns) {
        atomic_store_explicit(&run->stop, true, memory_order_relaxed);
        return true;
    }
    return false;
}
