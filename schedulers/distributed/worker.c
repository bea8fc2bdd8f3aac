/* schedulers/distributed/worker.c - the worker process.
 *
 * The loop thread owns the store (results kept here, literals of live
 * graphs, inputs fetched from peers), the connections (the scheduler,
 * peers that fetch from us, peers we fetch from) and every task until
 * all its inputs are here.  Then the task goes to the task threads'
 * queue with references to its inputs in its plan's literal slots; a
 * task thread runs it, measures (and for a target, encodes) its result,
 * and hands it back through `done` and a uv_async (worker_threads.c;
 * the store is worker_store.c, the structures worker_state.h).  Task
 * threads touch nothing else, but for a task's follower: a task sent
 * ahead whose one missing input is the result of a task not finished
 * here is linked to that task (under the lock), and the thread that
 * finishes it gives the follower its input and runs it at once, with no
 * trip through the loop; and a thread whose report has nothing ahead of
 * it writes its W_DONE itself, so the loop takes finished tasks in
 * before every message.  Results of a graph the scheduler has forgotten
 * are dropped, even when its tasks finish later.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "schedulers/scheduler_internal.h"
#include "worker_state.h"

/* ---- W_DONE ----------------------------------------------------------- */

/* Sends the W_DONE built so far. */
static void send_reports(worker *w)
{
    if (w->n_out == 0)
        return;
    if (tg__enc_u8(&w->out, 0) == 0)
        tg__conn_send_kept(w->sched, &w->out, &w->out_blobs);
    else
        tg__kept_release(&w->out_blobs);
    tg__enc_close(&w->out);
    w->n_out = 0;
}

/* Adds k's entry to the W_DONE going out this iteration (at once when
 * the batch is as large as a message may be). */
static void report(worker *w, wtask *k)
{
    tg__enc *e = &w->out;
    if (w->n_out == 0
        && (tg__enc_init(e, 0) != 0 || tg__enc_u8(e, TG__OP_W_DONE) != 0))
        return;
    /* the blob goes with the message, which frees it once written */
    int rc = tg__kept_room(&w->out_blobs);
    rc = rc ? rc : tg__wk_encode_done(e, k);
    if (rc == 0 && k->blob) {
        tg__kept_add(&w->out_blobs, k->blob); /* room made */
        k->blob = NULL;
    }
    if (rc == 0)
        w->n_out++;
    else
        tg__node_log(&w->node, "out of memory reporting a task");
    if (tg__batch_full(&w->node.limits, e))
        send_reports(w);
}

/* Queues W_DONE for a finished task; keeps its result. */

/* Fetched inputs of k: one user fewer each. */
static void unuse_inputs(worker *w, wtask *k)
{
    tg__map_probe p;
    for (uint32_t j = 0; k->in && j < k->plan->n_literals; j++) {
        if (k->in[j].kind != TG__INPUT_TASK || !k->remote[j])
            continue;
        entry *x = tg__wk_find(w, k->gid, k->in[j].index, KIND_FETCHED, &p);
        if (x && --x->users == 0)
            tg__wk_drop(w, x);
    }
}

static void settle(worker *w, entry *x, tg_value *v);

static void link_here(worker *w, wtask *k)
{
    k->prev_here = NULL;
    k->next_here = w->here;
    if (w->here)
        w->here->prev_here = k;
    w->here = k;
}

static void unlink_here(worker *w, wtask *k)
{
    if (k->prev_here)
        k->prev_here->next_here = k->next_here;
    else if (w->here == k)
        w->here = k->next_here;
    if (k->next_here)
        k->next_here->prev_here = k->prev_here;
    k->prev_here = k->next_here = NULL;
}

/* Takes in the tasks the threads finished: reports those that did not
 * report themselves, keeps their results, hands them to tasks sent ahead.
 * Runs before every message too, since the scheduler may answer a
 * report a thread sent before the loop has seen the task. */
static void drain_done(worker *w)
{
    pthread_mutex_lock(&w->lane.lock);
    uint8_t *rest = w->rest;
    size_t rest_len = w->rest_len;
    w->rest = NULL, w->rest_len = 0;
    bool held = w->lane.held_len > 0; /* reports a thread held back */
    pthread_mutex_unlock(&w->lane.lock);
    if (rest && w->sched) /* a report's tail goes before anything else */
        tg__conn_queue_bytes(w->sched, rest, rest_len);
    else
        tg__free(rest);
    pthread_mutex_lock(&w->lock);
    wtask *k = NULL;
    bool to_report = w->n_unreported > 0 || held;
    for (wtask *d = w->done, *next; d; d = next) { /* reported in order */
        next = d->next;
        d->next = k;
        k = d;
    }
    w->done = NULL;
    w->n_unreported = 0;
    w->woken = false;
    /* no thread's report may pass these: the lane stays closed until
     * they are written (closing it queues what it held first) */
    if (to_report && w->sched)
        tg__conn_lane(w->sched, true);
    pthread_mutex_unlock(&w->lock);
    while (k) {
        wtask *next = k->next;
        unlink_here(w, k);
        if (!k->reported) /* always: the scheduler counts what is in flight */
            report(w, k);
        tg__map_probe p;
        entry *x = tg__wk_find(w, k->gid, k->t, KIND_RESULT, &p);
        bool keep = tg__wk_live(w, k->gid) && !tg_is_error(k->result);
        if (x && !x->v) { /* tasks sent ahead wait for it */
            settle(w, x, k->result);
            if (!keep)
                tg__wk_drop(w, x);
        } else if (x || !keep
                   || !(x = tg__wk_add(w, k->gid, k->t, KIND_RESULT))) {
            x = NULL;
        }
        if (x && keep) { /* the result stays here for dependents and peers */
            x->v = k->result;
            x->nbytes = k->nbytes;
            k->result = NULL;
        }
        unuse_inputs(w, k);
        tg__wk_task_free(k);
        k = next;
    }
}

static void on_wake(uv_async_t *a)
{
    drain_done(a->data);
}

/* ---- fetching inputs from peers -------------------------------------- */

static peer *peer_for(worker *w, const char *addr)
{
    for (peer *p = w->peers; p; p = p->next)
        if (p->conn && strcmp(p->addr, addr) == 0)
            return p;
    peer *p = tg__calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    if (!(p->conn = tg__node_connect(&w->node, addr, p))) {
        tg__free(p);
        return NULL;
    }
    p->next = w->peers;
    w->peers = p;
    return p;
}

/* Ends pr's P_GET being built and keeps it to go out with the others:
 * the next fetch starts another. */
static int seal_get(peer *pr)
{
    if (pr->n_full == pr->cap_full) {
        size_t cap = pr->cap_full ? 2 * pr->cap_full : 4;
        tg__enc *f = tg__realloc(pr->full, cap * sizeof *f);
        if (!f)
            return TG_ENOMEM;
        pr->full = f, pr->cap_full = cap;
    }
    int rc = tg__enc_u8(&pr->get, 0);
    if (rc)
        return rc;
    pr->full[pr->n_full++] = pr->get;
    pr->n_get = 0;
    return 0;
}

/* Sends pr's P_GETs (once it is ready), or drops them (once closed). */
static void flush_gets(peer *pr)
{
    if (pr->conn && !pr->ready)
        return;
    for (size_t i = 0; i < pr->n_full; i++) {
        if (pr->conn)
            tg__conn_send(pr->conn, &pr->full[i], NULL, NULL);
        tg__enc_close(&pr->full[i]);
    }
    pr->n_full = 0;
    if (pr->n_get) {
        if (pr->conn && tg__enc_u8(&pr->get, 0) == 0)
            tg__conn_send(pr->conn, &pr->get, NULL, NULL);
        tg__enc_close(&pr->get);
        pr->n_get = 0;
    }
}

/* Reports a task thread held back go out with its next ones, or before
 * it waits; behind a long task they would wait for its end, so the loop
 * sends those held for HELD_TICK_MS.  A thread holds a report only while
 * tasks are queued, so the tick runs from the queueing of a task that
 * finds no thread idle until nothing is queued or held. */
#define HELD_TICK_MS 1

static void on_held_tick(uv_timer_t *t)
{
    worker *w = t->data;
    pthread_mutex_lock(&w->lock);
    bool queued = w->queue != NULL;
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_lock(&w->lane.lock);
    bool held = w->lane.held_len > 0;
    bool old =
        held
        && tg_now_ns() - w->lane.held_since >= (uint64_t)HELD_TICK_MS * 1000000;
    pthread_mutex_unlock(&w->lane.lock);
    if (!queued && !held) {
        uv_timer_stop(t);
        w->ticking = false;
    } else if (old) {
        drain_done(w);
        tg__node_flush(&w->node);
    }
}

/* Queues k, whose inputs are all here, for a thread (or runs it here:
 * tg__wk_submit). */
static void submit(worker *w, wtask *k)
{
    if (tg__wk_submit(w, k) && !w->ticking) {
        w->ticking = true;
        uv_timer_start(&w->held_tick, on_held_tick, HELD_TICK_MS, HELD_TICK_MS);
    }
}

/* Gives task k input j (a new reference); submits k once it has all. */
static void give(worker *w, wtask *k, uint32_t j, tg_value *v)
{
    k->plan->literal[j] = v;
    if (--k->missing == 0)
        submit(w, k);
}

/* Fails task k with err (stolen) for its missing input j. */
static void fail_input(worker *w, wtask *k, uint32_t j, tg_value *err)
{
    if (!k->fail)
        k->fail = err;
    else
        tg_decref(err);
    give(w, k, j, tg_null());
}

/* Hands a fetched value (borrowed; NULL when the peer lacks it) to the
 * tasks waiting for entry x. */
static void arrived(worker *w, entry *x, tg_value *v, const char *why)
{
    wtask **waiting = x->waiting;
    size_t n = x->n_waiting;
    x->waiting = NULL, x->n_waiting = 0;
    x->v = v ? tg_incref(v) : NULL;
    for (size_t i = 0; i < n; i++) {
        wtask *k = waiting[i];
        for (uint32_t j = 0; j < k->plan->n_literals; j++) {
            if (k->in[j].kind != TG__INPUT_TASK || k->in[j].index != x->index
                || !k->remote[j] || k->plan->literal[j])
                continue;
            if (v)
                give(w, k, j, tg_incref(v));
            else
                fail_input(w, k, j,
                           tg_error("worker %s: input %u of the graph not "
                                    "fetched from %s: %s",
                                    w->name, x->index, k->remote[j], why));
        }
    }
    tg__free(waiting);
}

/* Hands the tasks that wait for x, a result computed here, its value v
 * (borrowed: a result or an error, which fails them). */
static void settle(worker *w, entry *x, tg_value *v)
{
    wtask **waiting = x->waiting;
    size_t n = x->n_waiting;
    x->waiting = NULL, x->n_waiting = 0;
    for (size_t i = 0; i < n; i++) {
        wtask *k = waiting[i];
        for (uint32_t j = 0; j < k->plan->n_literals; j++) {
            if (k->in[j].kind != TG__INPUT_TASK || k->in[j].index != x->index
                || k->remote[j] || k->plan->literal[j])
                continue;
            if (tg_is_error(v))
                fail_input(w, k, j, tg_incref(v));
            else
                give(w, k, j, tg_incref(v));
        }
    }
    tg__free(waiting);
}

/* Task t of gid among the tasks received and not yet taken back in. */
static wtask *here_task(worker *w, uint64_t gid, uint32_t t)
{
    wtask *p = w->here;
    while (p && (p->gid != gid || p->t != t))
        p = p->next_here;
    return p;
}

/* Task k, sent ahead, waits for input j, task d, being computed here
 * (x: its entry, if any; *producer: task d, when it is here).  True when
 * k now waits for it, last in the entry's list. */
static bool await_result(worker *w, wtask *k, uint32_t j, uint32_t d, entry *x,
                         wtask **producer)
{
    if (!x && !(x = tg__wk_add(w, k->gid, d, KIND_RESULT))) {
        fail_input(w, k, j, tg_error("worker %s: out of memory", w->name));
        return false;
    }
    wtask **wt = tg__realloc(x->waiting, (x->n_waiting + 1) * sizeof *wt);
    if (!wt) {
        fail_input(w, k, j, tg_error("worker %s: out of memory", w->name));
        return false;
    }
    x->waiting = wt;
    x->waiting[x->n_waiting++] = k;
    wtask *p = *producer = here_task(w, k->gid, d);
    if (p) { /* its thread must wake the loop, or has already finished */
        pthread_mutex_lock(&w->lock);
        p->awaited = true;
        bool wake = p->finished && !w->woken;
        w->woken |= wake;
        pthread_mutex_unlock(&w->lock);
        if (wake)
            uv_async_send(&w->wake);
    }
    return true;
}

/* k waits for input j alone, the result of p, a task here: when p has
 * not finished and has no follower yet, k becomes its follower (leaving
 * the entry's list, where it is last; p then wakes the loop only if
 * others still wait there) and runs on its thread right after it.
 * False when k is to wait in the entry. */
static bool follow(worker *w, wtask *k, uint32_t j, wtask *p)
{
    tg__map_probe pr;
    entry *x = tg__wk_find(w, k->gid, k->in[j].index, KIND_RESULT, &pr);
    bool linked = false;
    pthread_mutex_lock(&w->lock);
    if (!p->finished && !p->then) {
        p->then = k;
        p->then_j = j;
        p->awaited = x->n_waiting > 1; /* others still wait in the store */
        linked = true;
    }
    pthread_mutex_unlock(&w->lock);
    if (linked)
        x->n_waiting--;
    return linked;
}

/* Asks holder addr for task d of gid on behalf of k (input j). */
static void fetch(worker *w, wtask *k, uint32_t j, uint32_t d, const char *addr)
{
    tg__map_probe p;
    entry *x = tg__wk_find(w, k->gid, d, KIND_FETCHED, &p);
    if (!(k->remote[j] = tg__strdup(addr))) {
        fail_input(w, k, j, tg_error("worker %s: out of memory", w->name));
        return;
    }
    if (x && x->v) {
        x->users++;
        give(w, k, j, tg_incref(x->v));
        return;
    }
    if (!x) {
        peer *pr = peer_for(w, addr);
        x = pr ? tg__wk_add(w, k->gid, d, KIND_FETCHED) : NULL;
        tg__enc *e = pr ? &pr->get : NULL;
        bool ok = x
                  && (pr->n_get
                      || (tg__enc_init(e, 0) == 0
                          && tg__enc_u8(e, TG__OP_P_GET) == 0))
                  && tg__enc_u8(e, 1) == 0 && tg__enc_u64(e, k->gid) == 0
                  && tg__enc_u64(e, d) == 0;
        if (!ok) {
            if (x)
                tg__wk_drop(w, x);
            fail_input(w, k, j,
                       tg_error("worker %s: cannot reach %s for an input",
                                w->name, addr));
            return;
        }
        pr->n_get++;
        x->from = pr;
        if (tg__batch_full(&w->node.limits, e) && seal_get(pr) != 0) {
            tg__wk_drop(w, x);
            fail_input(w, k, j, tg_error("worker %s: out of memory", w->name));
            return;
        }
    }
    wtask **wt = tg__realloc(x->waiting, (x->n_waiting + 1) * sizeof *wt);
    if (!wt) {
        fail_input(w, k, j, tg_error("worker %s: out of memory", w->name));
        return;
    }
    x->waiting = wt;
    x->waiting[x->n_waiting++] = k;
    x->users++;
}

/* ---- messages from the scheduler ------------------------------------- */

/* A remote input of an S_RUN entry: task d lives at addr. */
typedef struct remote_in {
    uint32_t d;
    char addr[128];
} remote_in;

/* Reads the literals and remote inputs of an S_RUN entry. */
static int run_header(worker *w, tg__dec *d, wtask *k, remote_in **rem,
                      uint64_t *n_rem)
{
    uint64_t n_lit;
    int rc = tg__dec_u64(d, &n_lit);
    for (uint64_t i = 0; i < n_lit && rc == 0; i++) {
        uint64_t j;
        void *blob = NULL;
        size_t len = 0;
        if ((rc = tg__dec_u64(d, &j)) || (rc = tg__dec_piece(d, &blob, &len)))
            break;
        tg_value *v = tg__unflatten_value(blob, len);
        tg__free(blob);
        tg__map_probe p;
        entry *x =
            j < UINT32_MAX
                    && !tg__wk_find(w, k->gid, (uint32_t)j, KIND_LITERAL, &p)
                ? tg__wk_add(w, k->gid, (uint32_t)j, KIND_LITERAL)
                : NULL;
        if (tg_is_error(v) && !k->fail)
            k->fail = tg_error("worker %s: a literal does not decode: %s",
                               w->name, tg_error_message(v));
        if (x && !tg_is_error(v))
            x->v = tg_incref(v);
        tg_decref(v);
    }
    if (rc == 0)
        rc = tg__dec_u64(d, n_rem);
    if (rc == 0 && *n_rem > (size_t)(d->end - d->p))
        rc = tg__seterr(TG_EPROTO, "S_RUN: absurd remote input count");
    if (rc == 0 && !(*rem = tg__calloc(*n_rem + 1, sizeof **rem)))
        rc = TG_ENOMEM;
    for (uint64_t i = 0; i < *n_rem && rc == 0; i++) {
        uint64_t dep;
        const char *addr;
        size_t len;
        if ((rc = tg__dec_u64(d, &dep)) || (rc = tg__dec_str(d, &addr, &len)))
            break;
        if (len >= sizeof(*rem)[i].addr || dep >= UINT32_MAX)
            return tg__seterr(TG_EPROTO, "S_RUN: a bad remote input");
        (*rem)[i].d = (uint32_t)dep;
        memcpy((*rem)[i].addr, addr, len);
    }
    return rc;
}

/* Decodes the spec of an S_RUN entry into k->plan and k->in. */
static int run_spec(worker *w, tg__dec *d, wtask *k)
{
    const char *spec;
    size_t len;
    uint64_t n_pieces;
    int rc = tg__dec_str(d, &spec, &len);
    rc = rc ? rc : tg__dec_u64(d, &n_pieces);
    if (rc == 0 && n_pieces > d->n_pieces - d->next_piece)
        rc = tg__seterr(TG_EPROTO, "S_RUN: more spec pieces than frames");
    if (rc)
        return rc;
    void **pieces = tg__calloc(n_pieces + 1, sizeof *pieces);
    size_t *lens = tg__calloc(n_pieces + 1, sizeof *lens);
    for (uint64_t i = 0; pieces && lens && i < n_pieces && rc == 0; i++)
        rc = tg__dec_piece(d, &pieces[i], &lens[i]);
    if (!pieces || !lens || rc) {
        for (uint64_t i = 0; pieces && i < n_pieces; i++)
            tg__free(pieces[i]);
        tg__free(pieces);
        tg__free(lens);
        return rc ? rc : TG_ENOMEM;
    }
    tg__dec sd;
    int src = tg__dec_init(&sd, spec, len, pieces, lens, n_pieces, 0);
    tg__free(pieces);
    tg__free(lens);
    if (src == 0)
        src = tg__task_decode(&sd, tg__wk_missing_fn, &k->plan, &k->in);
    if (src == 0 && !tg__dec_done(&sd))
        src = tg__seterr(TG_EFORMAT, "trailing bytes after a task");
    tg__dec_close(&sd);
    if (src && !k->fail) /* the task fails; the connection is fine */
        k->fail = tg_error("worker %s: a task that does not decode: %s",
                           w->name, tg_last_error());
    return 0;
}

/* Finds where task k's inputs are; fetches the remote ones. */
static void gather_inputs(worker *w, wtask *k, remote_in *rem, uint64_t n_rem)
{
    uint32_t n = k->plan ? k->plan->n_literals : 0;
    k->remote = tg__calloc(n + 1, sizeof *k->remote);
    k->missing = n + 1;            /* one more until every input is looked at */
    uint32_t awaited = UINT32_MAX; /* an input computed here, waited for */
    wtask *producer = NULL;        /* the task computing it, if here */
    for (uint32_t j = 0; j < n; j++) {
        tg__task_input in = k->in[j];
        tg__map_probe p;
        uint8_t kind = in.kind == TG__INPUT_TASK ? KIND_RESULT : KIND_LITERAL;
        entry *x = tg__wk_find(w, k->gid, in.index, kind, &p);
        if (x && x->v) {
            give(w, k, j, tg_incref(x->v));
            continue;
        }
        const char *addr = NULL;
        for (uint64_t i = 0; in.kind == TG__INPUT_TASK && i < n_rem; i++)
            if (rem[i].d == in.index)
                addr = rem[i].addr;
        if (addr && *addr && k->remote)
            fetch(w, k, j, in.index, addr);
        else if (!addr && k->remote && in.kind == TG__INPUT_TASK
                 && (k->flags & TG__RUN_AWAIT))
            awaited =
                await_result(w, k, j, in.index, x, &producer) ? j : awaited;
        else
            fail_input(
                w, k, j,
                tg_error("worker %s: input %u is nowhere", w->name, in.index));
    }
    if (k->missing == 2 && awaited != UINT32_MAX && producer
        && follow(w, k, awaited, producer))
        return;
    if (--k->missing == 0)
        submit(w, k);
}

static int on_run_entry(worker *w, tg__dec *d)
{
    uint64_t gid, t;
    uint8_t flags;
    int rc = tg__dec_u64(d, &gid);
    rc = rc ? rc : tg__dec_u64(d, &t);
    rc = rc ? rc : tg__dec_u8(d, &flags);
    if (rc == 0 && t >= UINT32_MAX)
        rc = tg__seterr(TG_EPROTO, "S_RUN: a bad task number");
    wtask *k = rc ? NULL : tg__calloc(1, sizeof *k);
    if (!k)
        return rc ? rc : TG_ENOMEM;
    *k = (wtask){.gid = gid, .t = (uint32_t)t, .flags = flags};
    tg__wk_make_live(w, gid);
    remote_in *rem = NULL;
    uint64_t n_rem = 0;
    rc = run_header(w, d, k, &rem, &n_rem);
    rc = rc ? rc : run_spec(w, d, k);
    if (rc) {
        tg__free(rem);
        tg__wk_task_free(k);
        return rc;
    }
    link_here(w, k);
    gather_inputs(w, k, rem, n_rem);
    tg__free(rem);
    return 0;
}

static int on_release(worker *w, tg__dec *d)
{
    int rc = 0;
    for (uint8_t more; rc == 0 && (rc = tg__dec_u8(d, &more)) == 0 && more;) {
        uint64_t gid, t;
        if ((rc = tg__dec_u64(d, &gid)) || (rc = tg__dec_u64(d, &t)))
            break;
        tg__map_probe p;
        entry *x = t < UINT32_MAX
                       ? tg__wk_find(w, gid, (uint32_t)t, KIND_RESULT, &p)
                       : NULL;
        if (x && !x->v) /* not computed yet: nothing here waits for it */
            continue;
        if (x)
            tg__wk_drop(w, x);
    }
    return rc;
}

static int on_forget(worker *w, tg__dec *d)
{
    uint64_t gid;
    int rc = tg__dec_u64(d, &gid);
    if (rc)
        return rc;
    for (size_t i = 0; i < w->n_live; i++)
        if (w->live[i] == gid)
            w->live[i] = w->live[--w->n_live];
    tg_value *over = NULL;
    /* Its tasks not started yet, queued or following another, fail at
     * once rather than run; they are still reported, as every task is. */
    pthread_mutex_lock(&w->lock);
    for (wtask *k = w->queue; k; k = k->next)
        if (k->gid == gid && !k->fail)
            k->fail = tg_error("worker %s: the graph is over", w->name);
    for (wtask *k = w->here; k; k = k->next_here)
        if (k->gid == gid && k->then && !k->then->fail)
            k->then->fail = tg_error("worker %s: the graph is over", w->name);
    pthread_mutex_unlock(&w->lock);
    for (uint32_t i = 0; i < w->n_e; i++) {
        entry *x = &w->e[i];
        if (!x->used || x->gid != gid
            || (x->kind == KIND_FETCHED && x->users != 0))
            continue;
        if (x->kind == KIND_RESULT && x->n_waiting) { /* sent ahead */
            if (!over)
                over = tg_error("worker %s: the graph is over", w->name);
            settle(w, x, over);
        }
        tg__wk_drop(w, x);
    }
    tg_decref(over);
    return 0;
}

/* ---- messages from peers ------------------------------------------------ */

static void decref_item(void *v)
{
    tg_decref(v);
}

/* Sends the P_DATA built in e with the values it holds, and starts the
 * next one when `again`. */
static int send_data(tg__conn *c, tg__enc *e, tg__kept *held, bool again)
{
    int rc = tg__enc_u8(e, 0);
    if (rc == 0)
        rc = tg__conn_send_kept(c, e, held);
    else
        tg__kept_release(held);
    tg__enc_close(e);
    if (rc == 0 && again) {
        rc = tg__enc_init(e, 0);
        rc = rc ? rc : tg__enc_u8(e, TG__OP_P_DATA);
    }
    return rc;
}

/* Whether e has outgrown one message of a peer with this worker's
 * limits (the trailing end byte included). */
static bool over_limits(const worker *w, const tg__enc *e)
{
    const tg__limits *l = &w->node.limits;
    return e->len + 1 > l->max_header || e->n_pieces > l->max_frames;
}

/* The head of a P_DATA entry: result t of graph gid, found or not. */
static int put_head(tg__enc *e, uint64_t gid, uint64_t t, uint8_t found)
{
    int rc = tg__enc_u8(e, 1);
    rc = rc ? rc : tg__enc_u64(e, gid);
    rc = rc ? rc : tg__enc_u64(e, t);
    return rc ? rc : tg__enc_u8(e, found);
}

/* Appends the P_DATA entry for result t of graph gid: its value (x, a
 * result here) by reference, or not found.  A value that cannot be
 * encoded, or that would not fit in a message even alone, goes as
 * TG__GET_REFUSED with the reason.  *overflow: e would break the limits
 * with this value, which fits alone: nothing was appended. */
static int put_entry(worker *w, tg__enc *e, tg__kept *held, uint64_t gid,
                     uint64_t t, const entry *x, bool *overflow)
{
    size_t len = e->len, n_pieces = e->n_pieces, depth = e->depth;
    bool have = x && x->v;
    int rc = put_head(e, gid, t, have ? 1 : 0);
    *overflow = false;
    if (rc || !have)
        return rc;
    if ((rc = tg__kept_room(held)) != 0)
        return rc;
    size_t at = e->len, at_pieces = e->n_pieces;
    rc = tg__encode(e, x->v);
    if (rc == 0 && !over_limits(w, e)) {
        tg__kept_add(held, tg_incref(x->v)); /* room made */
        return 0;
    }
    size_t head = e->len - at, pieces = e->n_pieces - at_pieces;
    e->len = len, e->n_pieces = n_pieces, e->depth = depth;
    if (rc == 0 && 64 + head + 1 <= w->node.limits.max_header
        && pieces <= w->node.limits.max_frames && len > 64) {
        *overflow = true; /* alone in the next message, it goes */
        return 0;
    }
    char why[256];
    if (rc == 0)
        snprintf(why, sizeof why,
                 "worker %s cannot send it: its encoding has a head of %zu "
                 "bytes and %zu frames, more than a message may carry "
                 "(max_header %zu, max_frames %zu)",
                 w->name, head, pieces, w->node.limits.max_header,
                 w->node.limits.max_frames);
    else
        snprintf(why, sizeof why, "worker %s cannot send it: %s", w->name,
                 tg_last_error());
    rc = put_head(e, gid, t, TG__GET_REFUSED);
    return rc ? rc : tg__enc_str(e, why, strlen(why));
}

/* Serves a P_GET: every result asked for that is here, by reference
 * (its buffers go out as frames, not copied), in as many P_DATA as the
 * limits ask for. */
static int on_get(worker *w, tg__conn *c, tg__dec *d)
{
    tg__enc e;
    tg__kept held = {.release = decref_item}; /* the values sent */
    int rc = tg__enc_init(&e, 0);
    if (rc)
        return rc;
    rc = tg__enc_u8(&e, TG__OP_P_DATA);
    for (uint8_t more; rc == 0 && (rc = tg__dec_u8(d, &more)) == 0 && more;) {
        uint64_t gid, t;
        if ((rc = tg__dec_u64(d, &gid)) || (rc = tg__dec_u64(d, &t)))
            break;
        if (tg__batch_full(&w->node.limits, &e)
            && (rc = send_data(c, &e, &held, true)) != 0)
            return rc;
        tg__map_probe p;
        entry *x = t < UINT32_MAX
                       ? tg__wk_find(w, gid, (uint32_t)t, KIND_RESULT, &p)
                       : NULL;
        bool overflow;
        rc = put_entry(w, &e, &held, gid, t, x, &overflow);
        if (rc == 0 && overflow) {
            rc = send_data(c, &e, &held, true);
            if (rc)
                return rc;
            rc = put_entry(w, &e, &held, gid, t, x, &overflow);
        }
    }
    if (rc == 0)
        return send_data(c, &e, &held, false);
    tg__kept_release(&held);
    tg__enc_close(&e);
    return rc;
}

/* Takes a P_DATA: the values fetched, handed to the tasks waiting. */
static int on_data(worker *w, tg__dec *d)
{
    int rc = 0;
    for (uint8_t more; rc == 0 && (rc = tg__dec_u8(d, &more)) == 0 && more;) {
        uint64_t gid, t;
        uint8_t found;
        if ((rc = tg__dec_u64(d, &gid)) || (rc = tg__dec_u64(d, &t))
            || (rc = tg__dec_u8(d, &found)))
            break;
        const char *why = "the peer no longer holds it";
        size_t why_len = strlen(why);
        if (found == TG__GET_REFUSED && (rc = tg__dec_str(d, &why, &why_len)))
            break;
        tg_value *v = found == 1 ? tg__decode(d) : NULL;
        if (found == 1 && !v)
            return tg__last_code(TG_EFORMAT);
        tg__map_probe p;
        entry *x = t < UINT32_MAX
                       ? tg__wk_find(w, gid, (uint32_t)t, KIND_FETCHED, &p)
                       : NULL;
        if (x && !x->v) {
            char msg[256];
            snprintf(msg, sizeof msg, "%.*s", (int)why_len, why);
            arrived(w, x, v, msg);
        }
        tg_decref(v);
    }
    return rc;
}

/* ---- the node's hooks ---------------------------------------------------- */

static void on_msg(tg__conn *c, tg__msg *m)
{
    worker *w = c->node->ud;
    drain_done(w);
    tg__dec d;
    uint8_t op = 0;
    int rc = tg__msg_decoder(m, &d);
    rc = rc ? rc : tg__dec_u8(&d, &op);
    bool from_sched = c == w->sched;
    if (rc == 0) {
        switch (op) {
        case TG__OP_S_RUN:
            for (uint8_t more; from_sched && rc == 0
                               && (rc = tg__dec_u8(&d, &more)) == 0 && more;)
                rc = on_run_entry(w, &d);
            break;
        case TG__OP_S_RELEASE: rc = from_sched ? on_release(w, &d) : 0; break;
        case TG__OP_S_FORGET: rc = from_sched ? on_forget(w, &d) : 0; break;
        case TG__OP_S_WELCOME: {
            uint64_t id;
            rc = tg__dec_u64(&d, &id);
            break;
        }
        case TG__OP_P_GET: rc = on_get(w, c, &d); break;
        case TG__OP_P_DATA: rc = on_data(w, &d); break;
        default: rc = tg__seterr(TG_EPROTO, "unknown op %u", op);
        }
        if (rc == 0 && !from_sched
            && (op == TG__OP_S_RUN || op == TG__OP_S_RELEASE
                || op == TG__OP_S_FORGET))
            rc = tg__seterr(TG_EPROTO, "a scheduler's message from a peer");
    }
    if (rc == 0 && !tg__dec_done(&d))
        rc = tg__seterr(TG_EPROTO, "op %u: trailing bytes", op);
    tg__dec_close(&d);
    tg__msg_free(m);
    if (rc)
        tg__conn_close(c, tg_last_error());
}

static void on_ready(tg__conn *c)
{
    worker *w = c->node->ud;
    if (c == w->sched) {
        tg__enc e;
        int rc = tg__enc_init(&e, 0);
        rc = rc ? rc : tg__enc_u8(&e, TG__OP_W_HELLO);
        rc = rc ? rc : tg__enc_str(&e, w->name, strlen(w->name));
        rc = rc ? rc : tg__enc_u64(&e, (uint64_t)w->nthreads);
        rc =
            rc ? rc : tg__enc_str(&e, w->node.address, strlen(w->node.address));
        if (rc == 0)
            tg__conn_send(c, &e, NULL, NULL);
        tg__enc_close(&e);
    } else if (c->ud) {
        ((peer *)c->ud)->ready = true;
    }
}

static void on_close(tg__conn *c)
{
    worker *w = c->node->ud;
    if (c == w->sched) {
        w->sched = NULL;
        tg__node_log(&w->node, "the scheduler is gone: stopping");
        tg__node_close(&w->node);
        return;
    }
    peer *pr = c->ud;
    if (!pr)
        return; /* a peer that fetched from us */
    pr->conn = NULL;
    for (uint32_t i = 0; i < w->n_e; i++) {
        entry *x = &w->e[i];
        if (x->used && x->kind == KIND_FETCHED && x->from == pr && !x->v)
            arrived(w, x, NULL, "the connection to it closed");
    }
}

static void before_flush(tg__node *n)
{
    worker *w = n->ud;
    send_reports(w);
    if (w->sched) /* open again once all of it is written */
        tg__conn_lane(w->sched, false);
    for (peer **pp = &w->peers; *pp;) {
        peer *p = *pp;
        flush_gets(p);
        if (!p->conn) { /* closed: its waiters have been failed */
            *pp = p->next;
            tg__free(p->full);
            tg__free(p);
        } else {
            pp = &p->next;
        }
    }
}

static void on_stop(tg__node *n)
{
    worker *w = n->ud;
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_close((uv_handle_t *)&w->held_tick, NULL);
}

static void on_trim(tg__node *n)
{
    tg__wk_trim_threads(n->ud);
}

static const tg__node_ops worker_ops = {.on_ready = on_ready,
                                        .on_msg = on_msg,
                                        .on_close = on_close,
                                        .on_stop = on_stop,
                                        .before_flush = before_flush,
                                        .on_trim = on_trim};

/* ---- the worker loop ---------------------------------------------------- */

static int worker_token(const tg_server_opts *o, char *address, size_t len,
                        uint8_t *token)
{
    if (o->scheduler_file)
        return tg__read_scheduler_file(o->scheduler_file, address, len, token);
    if (!o->address)
        return tg__seterr(TG_EINVAL, "a worker needs the scheduler's "
                                     "address or scheduler file");
    if (o->token_file) {
        if (strlen(o->address) >= len)
            return tg__seterr(TG_EINVAL, "address too long");
        strcpy(address, o->address);
        return tg__read_token_file(o->token_file, token);
    }
    return tg__resolve_address(o->address, address, len, token);
}

static void worker_free(worker *w)
{
    /* every task not reported is on w->here: queued, done, following
     * another, or waiting for an input */
    while (w->here) {
        wtask *k = w->here;
        unlink_here(w, k);
        k->then = NULL; /* on w->here too */
        tg__wk_task_free(k);
    }
    for (uint32_t i = 0; i < w->n_e; i++)
        if (w->e[i].used) {
            tg_decref(w->e[i].v);
            tg__free(w->e[i].waiting);
        }
    tg__free(w->e);
    tg__map_close(&w->map);
    tg__free(w->live);
    tg__free(w->threads);
    tg__kept_release(&w->out_blobs); /* reports never sent */
    tg__enc_close(&w->out);
    while (w->peers) {
        peer *p = w->peers;
        w->peers = p->next;
        p->conn = NULL;
        flush_gets(p); /* drops them */
        tg__free(p->full);
        tg__free(p);
    }
    tg__free(w->rest);
    tg__free(w->lane.held);
    pthread_mutex_destroy(&w->lane.lock);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->more);
}

int tg_serve_worker(const tg_server_opts *opts)
{
    static const tg_server_opts defaults = {0};
    const tg_server_opts *o = opts ? opts : &defaults;
    char address[256];
    uint8_t token[TG__TOKEN_BYTES];
    int rc = worker_token(o, address, sizeof address, token);
    if (rc)
        return rc;
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return tg__seterr(TG_ENOMEM, "cannot start a loop");
    /* Large blocks from the heap, kept when freed (the idle trim in
     * conn.c returns them): a fresh mapping faults in every page. */
    mallopt(M_MMAP_THRESHOLD, WORKER_HEAP_BLOCK);
    mallopt(M_TRIM_THRESHOLD, WORKER_HEAP_BLOCK);
    worker w = {.free_e = UINT32_MAX, .out_blobs = {.release = tg__free}};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.more, NULL);
    pthread_mutex_init(&w.lane.lock, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    w.nthreads = o->nthreads > 0 ? o->nthreads : cores > 0 ? (int)cores : 1;
    char host[200] = "?";
    gethostname(host, sizeof host - 1);
    if (o->name)
        snprintf(w.name, sizeof w.name, "%s", o->name);
    else
        snprintf(w.name, sizeof w.name, "%.64s:%d", host, (int)getpid());
    char role[128];
    snprintf(role, sizeof role, "tg-worker %s", w.name);
    tg__node_init(&w.node, &loop, &worker_ops, &w, o, role);
    memcpy(w.node.token, token, TG__TOKEN_BYTES);
    uv_async_init(&loop, &w.wake, on_wake);
    w.wake.data = &w;
    uv_timer_init(&loop, &w.held_tick);
    w.held_tick.data = &w;
    rc = tg__node_listen(&w.node, o->host ? o->host : "127.0.0.1", 0);
    rc = rc ? rc : tg__wk_start_threads(&w);
    if (rc == 0 && !(w.sched = tg__node_connect(&w.node, address, NULL)))
        rc = tg__last_code(TG_EIO);
    if (rc == 0)
        tg__conn_set_lane(w.sched, &w.lane);
    if (rc == 0)
        tg__node_log(&w.node, "connecting to %s, peers reach me at %s", address,
                     w.node.address);
    else
        tg__node_close(&w.node);
    uv_run(&loop, UV_RUN_DEFAULT);
    tg__wk_stop_threads(&w);
    uv_run(&loop, UV_RUN_NOWAIT); /* callbacks of the last closes */
    worker_free(&w);
    uv_loop_close(&loop);
    return rc;
}
