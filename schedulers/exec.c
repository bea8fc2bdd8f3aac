/* schedulers/exec.c - run one plan task; shared by every scheduler.
 *
 * A task is a chain of ops.  Arguments come from three places: literals
 * in the graph, results of other tasks (borrowed from run->results) and
 * the previous op's result, which is released as soon as the next op
 * returns.  A failing op's error gets its key here, once for all
 * schedulers.
 */
#include <stdio.h>

#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"

static tg_value *arg_value(tg__run *run, const tg__arg *a, tg_value *prev)
{
    switch ((tg__arg_kind)a->kind) {
    case TG__ARG_LIT: return a->u.value;
    case TG__ARG_TASK: return run->results[a->index];
    case TG__ARG_PREV: return prev;
    case TG__ARG_LIST: break;
    }
    return NULL;
}

/* Builds the list a LIST argument stands for: a new reference. */
static tg_value *build_list(tg__run *run, const tg__arg *a, tg_value *prev)
{
    const tg__arg *items = &run->plan->args[a->index];
    tg_value *small[16], **v = small;
    if (a->u.count > 16 && !(v = tg__malloc(a->u.count * sizeof *v)))
        return NULL;
    for (uint32_t k = 0; k < a->u.count; k++)
        v[k] = tg_incref(arg_value(run, &items[k], prev));
    tg_value *list = tg_list_from(a->u.count, v);
    if (v != small)
        tg__free(v);
    return list;
}

/* Gives err the key of op's call unless it already names one (an error
 * passed up from a nested compute keeps its origin).  Steals err. */
static tg_value *with_key(const tg__op *op, tg_value *err)
{
    if (tg_error_key(err))
        return err;
    const char *key = tg__node_key(op->node);
    tg_value *keyed = key ? tg__error_new(tg_error_message(err), key) : NULL;
    if (!keyed)
        return err;
    tg_decref(err);
    return keyed;
}

static tg_value *call_op(tg__run *run, const tg__op *op, tg_value *prev)
{
    const tg__arg *args = &run->plan->args[op->arg_begin];
    if (!op->fn) /* a literal target */
        return tg_incref(args[0].u.value);
    tg_value *small[8], **argv = small;
    if (op->nargs > 8 && !(argv = tg__malloc(op->nargs * sizeof *argv)))
        return tg_error("out of memory gathering %u arguments", op->nargs);
    bool has_lists = false, ok = true;
    for (uint32_t i = 0; i < op->nargs; i++) {
        if (TG_UNLIKELY(args[i].kind == TG__ARG_LIST)) {
            has_lists = true;
            argv[i] = build_list(run, &args[i], prev);
            ok = ok && argv[i];
        } else {
            argv[i] = arg_value(run, &args[i], prev);
        }
    }
    tg_value *r = ok ? op->fn(argv, op->nargs, op->ctx)
                     : tg_error("out of memory building a list argument");
    if (!r)
        r = tg_error("%s returned NULL", op->node->name->str);
    for (uint32_t i = 0; has_lists && i < op->nargs; i++)
        if (args[i].kind == TG__ARG_LIST)
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
        const tg__op *last = tg__plan_last_op(p, t);
        info = (tg_task_info){run->compute_id, t,
                              p->op_begin[t + 1] - p->op_begin[t],
                              last->node->name->str,
                              tg__node_key(last->node), worker,
                              tg_now_ns(), 0, false};
        notify(run, &info, false);
    }
    tg_value *r = NULL;
    for (uint32_t o = p->op_begin[t]; o < p->op_begin[t + 1]; o++) {
        tg_value *next = call_op(run, &p->ops[o], r);
        tg_decref(r);
        r = next;
        if (TG_UNLIKELY(r->type == TG_ERROR)) {
            r = with_key(&p->ops[o], r);
            break;
        }
    }
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
    if (!atomic_compare_exchange_strong_explicit(
            &run->error, &expected, err, memory_order_acq_rel,
            memory_order_acquire))
        tg_decref(err);
    atomic_store_explicit(&run->stop, true, memory_order_release);
}

bool tg__run_should_stop(tg__run *run, uint64_t tick)
{
    if (atomic_load_explicit(&run->stop, memory_order_relaxed))
        return true;
    if (run->cancel && atomic_load_explicit(&run->cancel->requested,
                                            memory_order_relaxed)) {
        atomic_store_explicit(&run->stop, true, memory_order_relaxed);
        return true;
    }
    if (run->deadline_ns && (tick & 63) == 0 && tg_now_ns() >= run->deadline_ns) {
        atomic_store_explicit(&run->stop, true, memory_order_relaxed);
        return true;
    }
    return false;
}
