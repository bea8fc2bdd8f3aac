/* schedulers/distributed/scheduler.c - the scheduler process.
 *
 * One loop thread; the state is in sched_state.h, the flow of a graph
 * in dist_internal.h, and sched_submit.c turns a C_SUBMIT into a graph.
 * Invariants: a task is QUEUED only when every dependency is in MEMORY;
 * a worker has at most `cap` tasks PROCESSING (set_cap); a task is sent
 * ahead (PROCESSING with one dependency left) only to the worker running
 * that dependency; a result is released once its last dependent has
 * finished, unless it is a target, whose result travels to the client.
 * Entries for a worker gathered during one loop iteration become one
 * S_RUN and one S_RELEASE message (before_flush); a graph's S_FORGET
 * waits briefly to go with the next S_RUN.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sched_state.h"

#define DEFAULT_WORKER_QUEUE 64
#define QUEUE_COVER_NS 250000 /* see set_cap */
#define KEEP_QUEUE 16384      /* ready-queue slots kept once it empties */

static void graph_unref(void *arg);
static void fill_worker(sched *s, sworker *w);
static void graph_fail(sched *s, sgraph *g, const tg_value *err);

/* ---- the queue of ready tasks ---------------------------------------- */

static void q_swap(qitem *a, qitem *b)
{
    qitem t = *a;
    *a = *b;
    *b = t;
}

static int q_push(sched *s, sgraph *g, uint32_t t)
{
    if (s->n_queue == s->cap_queue) {
        size_t cap = s->cap_queue ? 2 * s->cap_queue : 1024;
        qitem *q = tg__realloc(s->queue, cap * sizeof *q);
        if (!q)
            return TG_ENOMEM;
        s->queue = q, s->cap_queue = cap;
    }
    size_t i = s->n_queue++;
    s->queue[i] = (qitem){g->seq << 32 | t, g, t};
    while (i && s->queue[(i - 1) / 2].prio > s->queue[i].prio) {
        q_swap(&s->queue[(i - 1) / 2], &s->queue[i]);
        i = (i - 1) / 2;
    }
    g->refs++;
    return 0;
}

/* Pops the first live queued task into *out (false when none). */
static bool q_pop(sched *s, qitem *out)
{
    while (s->n_queue) {
        qitem top = s->queue[0];
        s->queue[0] = s->queue[--s->n_queue];
        for (size_t i = 0;;) {
            size_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < s->n_queue && s->queue[l].prio < s->queue[m].prio)
                m = l;
            if (r < s->n_queue && s->queue[r].prio < s->queue[m].prio)
                m = r;
            if (m == i)
                break;
            q_swap(&s->queue[i], &s->queue[m]);
            i = m;
        }
        bool live = !top.g->over && top.g->t[top.t].state == ST_QUEUED;
        if (live) {
            *out = top;
            return true; /* the queue's reference passes to the caller */
        }
        graph_unref(top.g);
    }
    if (s->cap_queue > KEEP_QUEUE) { /* a big graph is through: shrink */
        tg__free(s->queue);
        s->queue = NULL;
        s->cap_queue = 0;
    }
    return false;
}

/* ---- workers ---------------------------------------------------------- */

static sworker *worker_by_id(sched *s, uint32_t id)
{
    for (sworker *w = s->workers; w; w = w->next)
        if (w->id == id)
            return w;
    return NULL;
}

/* Sends the S_RUN message being built for w (the graphs it points into
 * stay alive until it is written). */
static void flush_run(sworker *w)
{
    if (!w->n_run)
        return;
    if (tg__enc_u8(&w->run, 0) == 0)
        tg__conn_send_kept(w->conn, &w->run, &w->run_refs);
    else
        tg__kept_release(&w->run_refs);
    tg__enc_close(&w->run);
    w->n_run = 0;
}

/* Sends the S_RELEASE message being built for w. */
static void flush_rel(sworker *w)
{
    if (!w->n_rel)
        return;
    if (w->conn && tg__enc_u8(&w->rel, 0) == 0)
        tg__conn_send(w->conn, &w->rel, NULL, NULL);
    tg__enc_close(&w->rel);
    w->n_rel = 0;
}

static bool batch_full(const sched *s, const tg__enc *e)
{
    return tg__batch_full(&s->node.limits, e);
}

#define FORGET_DELAY_MS 2 /* the longest a forget waits for an S_RUN */
#define FORGET_BATCH 64   /* forgets that go out without waiting */

static void send_forget(sworker *w, uint64_t gid)
{
    tg__enc e;
    if (tg__enc_init(&e, 0) == 0 && tg__enc_u8(&e, TG__OP_S_FORGET) == 0
        && tg__enc_u64(&e, gid) == 0)
        tg__conn_send(w->conn, &e, NULL, NULL);
    tg__enc_close(&e);
}

/* Sends the forgets w has waiting. */
static void flush_forgets(sworker *w)
{
    for (uint32_t i = 0; i < w->n_forgets && w->conn; i++)
        send_forget(w, w->forgets[i]);
    w->n_forgets = 0;
}

static void on_forget_tick(uv_timer_t *t)
{
    sched *s = t->data;
    s->forget_armed = false;
    for (sworker *w = s->workers; w; w = w->next)
        flush_forgets(w);
    tg__node_flush(&s->node);
}

/* Worker w is to forget graph gid.  The S_FORGET goes out with w's next
 * S_RUN, or FORGET_DELAY_MS later, whichever comes first: a worker done
 * with a small graph is not woken for its forget alone, and one kept
 * busy gets it with its next tasks. */
static void queue_forget(sched *s, sworker *w, uint64_t gid)
{
    if (w->n_forgets == w->cap_forgets) {
        uint32_t cap = w->cap_forgets ? 2 * w->cap_forgets : 8;
        uint64_t *f = tg__realloc(w->forgets, cap * sizeof *f);
        if (f)
            w->forgets = f, w->cap_forgets = cap;
    }
    if (w->n_forgets == w->cap_forgets) { /* out of memory: now, then */
        flush_forgets(w);
        send_forget(w, gid);
        return;
    }
    w->forgets[w->n_forgets++] = gid;
    if (w->n_forgets >= FORGET_BATCH)
        flush_forgets(w);
    else if (!s->forget_armed)
        s->forget_armed =
            uv_timer_start(&s->forget_timer, on_forget_tick, FORGET_DELAY_MS, 0)
            == 0;
    if (w->n_forgets && !s->forget_armed)
        flush_forgets(w);
}

/* Queues "release task t of g" for the worker holding it. */
static void queue_release(sched *s, sgraph *g, uint32_t t)
{
    g->t[t].state = ST_RELEASED;
    sworker *w = worker_by_id(s, g->t[t].worker);
    if (!w || !w->conn)
        return;
    if (w->n_rel == 0 && tg__enc_init(&w->rel, 0) == 0
        && tg__enc_u8(&w->rel, TG__OP_S_RELEASE) != 0)
        return;
    if (tg__enc_u8(&w->rel, 1) == 0 && tg__enc_u64(&w->rel, g->gid) == 0
        && tg__enc_u64(&w->rel, t) == 0)
        w->n_rel++;
    if (batch_full(s, &w->rel))
        flush_rel(w);
}

/* Worker wid's row of g: a bitset of the literals sent to it.  A worker
 * has a row once a task of g went to it.  NULL when out of memory. */
static uint64_t *sent_row(sgraph *g, uint32_t wid)
{
    if (wid >= g->n_lit_sent) {
        size_t n = (size_t)wid + 8;
        uint64_t **a = tg__realloc(g->lit_sent, n * sizeof *a);
        if (!a)
            return NULL;
        memset(a + g->n_lit_sent, 0, (n - g->n_lit_sent) * sizeof *a);
        g->lit_sent = a, g->n_lit_sent = n;
    }
    if (!g->lit_sent[wid])
        g->lit_sent[wid] =
            tg__calloc((g->n_literals + 63) / 64 + 1, sizeof(uint64_t));
    return g->lit_sent[wid];
}

/* Whether any task of g went to worker wid. */
static bool sent_any(const sgraph *g, uint32_t wid)
{
    return wid < g->n_lit_sent && g->lit_sent[wid];
}

static bool lit_sent(sgraph *g, uint32_t wid, uint32_t j, bool mark)
{
    uint64_t *row = sent_row(g, wid);
    if (!row)
        return false;
    bool was = (row[j / 64] >> (j % 64)) & 1;
    if (mark)
        row[j / 64] |= 1ull << (j % 64);
    return was;
}

/* How many tasks w may have in flight: per thread, enough to keep it
 * busy for QUEUE_COVER_NS (a report's trip to the scheduler and the next
 * tasks' back) at the pace its tasks have run, between 2 and the
 * scheduler's worker_queue.  Short tasks go out in long batches, which
 * is what makes them cheap; long ones a couple at a time, so that none
 * waits behind another on a busy worker while a thread elsewhere idles.
 * Before any report, 2. */
static void set_cap(const sched *s, sworker *w)
{
    uint64_t per = w->run_ns ? QUEUE_COVER_NS / w->run_ns + 1 : 2;
    uint64_t most = (uint64_t)s->worker_queue;
    per = per < 2 ? 2 : per > most ? most : per;
    w->cap = w->nthreads * (uint32_t)per;
}

/* Queues task t of g on worker w: its spec, the literals w lacks, where
 * its remote inputs live; flags: TG__RUN_AWAIT or 0.  The caller's
 * reference to g passes to w, on success only. */
static int assign(sched *s, sworker *w, sgraph *g, uint32_t t, uint8_t flags)
{
    tg__enc *e = &w->run;
    if (!sent_row(g, w->id))
        return TG_ENOMEM;
    if (w->n_run == 0) {
        int rc = tg__enc_init(e, 0);
        if (rc == 0)
            rc = tg__enc_u8(e, TG__OP_S_RUN);
        if (rc)
            return rc;
    }
    if (tg__kept_room(&w->run_refs) != 0)
        return TG_ENOMEM;
    stask *st = &g->t[t];
    flags |= g->target_of[t] != UINT32_MAX ? TG__RUN_TARGET : 0;
    int rc = tg__enc_u8(e, 1);
    rc = rc ? rc : tg__enc_u64(e, g->gid);
    rc = rc ? rc : tg__enc_u64(e, t);
    rc = rc ? rc : tg__enc_u8(e, flags);
    /* literals: all of the graph's this worker has not had yet, that
     * this task reads (the spec's literal inputs, listed by the client) */
    uint32_t lb = g->lit_off[t], le = g->lit_off[t + 1], n_new = 0;
    for (uint32_t k = lb; k < le; k++)
        n_new += !lit_sent(g, w->id, g->lit_idx[k], false);
    rc = rc ? rc : tg__enc_u64(e, n_new);
    for (uint32_t k = lb; k < le && rc == 0; k++) {
        uint32_t j = g->lit_idx[k];
        if (lit_sent(g, w->id, j, true))
            continue;
        rc = tg__enc_u64(e, j);
        rc = rc ? rc
                : tg__enc_piece(e, g->lits + g->lit_at[j],
                                (size_t)(g->lit_at[j + 1] - g->lit_at[j]));
    }
    /* remote inputs */
    uint32_t n_remote = 0;
    for (uint32_t k = g->deps_off[t]; k < g->deps_off[t + 1]; k++)
        n_remote += g->t[g->deps[k]].worker != w->id;
    rc = rc ? rc : tg__enc_u64(e, n_remote);
    for (uint32_t k = g->deps_off[t]; k < g->deps_off[t + 1] && rc == 0; k++) {
        uint32_t d = g->deps[k];
        if (g->t[d].worker == w->id)
            continue;
        sworker *h = worker_by_id(s, g->t[d].worker);
        const char *addr = h ? h->addr : "";
        rc = tg__enc_u64(e, d);
        rc = rc ? rc : tg__enc_str(e, addr, strlen(addr));
    }
    /* the spec and its pieces */
    rc = rc ? rc
            : tg__enc_str(e, (const char *)g->specs + g->ho[t],
                          (size_t)(g->ho[t + 1] - g->ho[t]));
    rc = rc ? rc : tg__enc_u64(e, g->po[t + 1] - g->po[t]);
    for (uint64_t k = g->po[t]; k < g->po[t + 1] && rc == 0; k++)
        rc = tg__enc_piece(e, g->pieces[k], g->piece_lens[k]);
    if (rc)
        return rc;
    tg__kept_add(&w->run_refs, g); /* the caller's reference (room made) */
    w->n_run++;
    st->state = ST_PROCESSING;
    st->worker = w->id;
    w->in_flight++;
    g->in_flight++;
    if (batch_full(s, e))
        flush_run(w);
    return 0;
}

/* The worker to run t on: the one holding most of its inputs' bytes, if
 * it has room; else any worker with room, the least busy; else none. */
static sworker *place(sched *s, sgraph *g, uint32_t t)
{
    sworker *best = NULL;
    uint64_t best_bytes = 0;
    for (uint32_t k = g->deps_off[t]; k < g->deps_off[t + 1]; k++) {
        uint32_t d = g->deps[k];
        sworker *h = worker_by_id(s, g->t[d].worker);
        if (!h || !h->conn || h->in_flight >= h->cap)
            continue;
        uint64_t bytes = 0; /* all of t's inputs h holds */
        for (uint32_t j = g->deps_off[t]; j < g->deps_off[t + 1]; j++)
            if (g->t[g->deps[j]].worker == h->id)
                bytes += g->t[g->deps[j]].nbytes + 1;
        if (bytes > best_bytes)
            best = h, best_bytes = bytes;
    }
    if (best)
        return best;
    for (sworker *w = s->workers; w; w = w->next)
        if (w->conn && w->in_flight < w->cap
            && (!best
                || w->in_flight * best->nthreads
                       < best->in_flight * w->nthreads))
            best = w;
    return best;
}

/* assign() ran out of memory: g, which would never finish, fails, and
 * w, whose S_RUN is cut short, goes.  Takes the caller's reference. */
static void assign_failed(sched *s, sworker *w, sgraph *g)
{
    tg__kept_release(&w->run_refs); /* the cut-short S_RUN never goes */
    tg__enc_close(&w->run);
    w->n_run = 0;
    tg_value *err = tg_error("the scheduler ran out of memory");
    graph_fail(s, g, err);
    tg_decref(err);
    graph_unref(g);
    tg__conn_close(w->conn, "out of memory assigning tasks");
}

/* Whether u, a user of t (processing on w), may go to w before t is
 * done: t is all it waits for (its other inputs are in memory on w), w
 * has room, and nothing queued runs before it. */
static bool may_follow(const sched *s, const sworker *w, const sgraph *g,
                       uint32_t t, uint32_t u)
{
    if (g->t[u].state != ST_WAITING || g->t[u].deps_left != 1
        || w->in_flight >= w->cap
        || (s->n_queue && s->queue[0].prio < (g->seq << 32 | u)))
        return false;
    for (uint32_t k = g->deps_off[u]; k < g->deps_off[u + 1]; k++) {
        uint32_t d = g->deps[k];
        if (d != t && (g->t[d].state != ST_MEMORY || g->t[d].worker != w->id))
            return false;
    }
    return true;
}

/* Sends ahead to t's worker the tasks that will wait only for t, then for
 * those, and so on down the first such line, while the worker has room:
 * when t is done there, they run at once instead of a round trip through
 * the scheduler later (a chain runs at the worker's pace).  Tasks already
 * sent ahead are walked through; the walk looks at a bounded number of
 * users, so a wide fan-out costs no more than the room it fills. */
static void follow(sched *s, sgraph *g, uint32_t t)
{
    sworker *w = worker_by_id(s, g->t[t].worker);
    if (!w || !w->conn || g->over)
        return;
    for (uint32_t looks = 64 + 4 * w->cap; w->in_flight < w->cap;) {
        uint32_t next = UINT32_MAX;
        for (uint32_t k = g->users_off[t];
             k < g->users_off[t + 1] && looks && w->in_flight < w->cap;
             k++, looks--) {
            uint32_t u = g->users[k];
            if (may_follow(s, w, g, t, u)) {
                g->refs++;
                if (assign(s, w, g, u, TG__RUN_AWAIT) != 0) {
                    assign_failed(s, w, g);
                    return;
                }
            }
            if (next == UINT32_MAX && g->t[u].state == ST_PROCESSING
                && g->t[u].worker == w->id)
                next = u;
        }
        if (next == UINT32_MAX || !looks)
            return;
        t = next;
    }
}

/* Task t's dependencies are all in memory: run it, or queue it. */
static void ready(sched *s, sgraph *g, uint32_t t)
{
    g->t[t].state = ST_QUEUED;
    sworker *best = s->n_queue == 0 ? place(s, g, t) : NULL;
    if (best) { /* nothing waits before it: straight to where it runs best */
        g->refs++;
        if (assign(s, best, g, t, 0) != 0)
            assign_failed(s, best, g);
        else
            follow(s, g, t);
        return;
    }
    if (q_push(s, g, t) != 0) {
        tg__node_log(&s->node, "out of memory queueing a task");
        return;
    }
    sworker *w = place(s, g, t);
    if (w)
        fill_worker(s, w);
}

/* Gives w queued tasks, first first, until it has limit in flight. */
static void fill_upto(sched *s, sworker *w, uint32_t limit)
{
    qitem it;
    while (w->conn && w->in_flight < limit && q_pop(s, &it)) {
        if (assign(s, w, it.g, it.t, 0) != 0) {
            assign_failed(s, w, it.g);
            return;
        }
        follow(s, it.g, it.t);
    }
}

static void fill_worker(sched *s, sworker *w)
{
    fill_upto(s, w, w->cap);
}

/* Hands queued tasks out: first one per idle thread of every worker, then
 * the queues behind them.  So a few tasks spread over the workers, and
 * consecutive ones (often siblings, reading the same data) go together. */
static void fill_all(sched *s)
{
    for (sworker *w = s->workers; w && s->n_queue; w = w->next)
        fill_upto(s, w, (uint32_t)w->nthreads);
    for (sworker *w = s->workers; w && s->n_queue; w = w->next)
        fill_worker(s, w);
}

/* ---- graphs ------------------------------------------------------------- */

static void graph_unref(void *arg)
{
    sgraph *g = arg;
    if (--g->refs == 0)
        tg__sched_graph_free(g);
}

/* The graph is over: every result it still holds is released, workers
 * forget it, and it leaves the scheduler's list. */
static void graph_end(sched *s, sgraph *g)
{
    if (g->over)
        return;
    g->over = true;
    /* S_FORGET drops every result of g on the workers it went to */
    for (uint32_t t = 0; t < g->n_tasks; t++)
        if (g->t[t].state == ST_MEMORY)
            g->t[t].state = ST_RELEASED;
    for (sworker *w = s->workers; w; w = w->next) {
        if (!w->conn || !sent_any(g, w->id))
            continue;
        flush_run(w); /* tasks of g already queued go before S_FORGET */
        queue_forget(s, w, g->gid);
    }
    for (sgraph **p = &s->graphs; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            break;
        }
    graph_unref(g); /* the scheduler's reference */
}

/* Sends targets [first, first + n) of g to its client in S_RESULTS. */
static int send_results(sgraph *g, uint32_t first, uint32_t n)
{
    tg__enc e;
    int rc = tg__enc_init(&e, 0);
    rc = rc ? rc : tg__enc_u8(&e, TG__OP_S_RESULTS);
    rc = rc ? rc : tg__enc_u64(&e, g->tag);
    rc = rc ? rc : tg__enc_u64(&e, first);
    rc = rc ? rc : tg__enc_u64(&e, n);
    for (uint32_t i = first; i < first + n && rc == 0; i++)
        rc = tg__enc_piece(&e, g->res[i], g->res_lens[i]);
    if (rc == 0) {
        g->refs++; /* the results stay until written */
        rc = tg__conn_send(g->client, &e, graph_unref, g);
    }
    tg__enc_close(&e);
    return rc;
}

/* Tells the client how the graph ended, after its results when it
 * succeeded.  blob (a flat error value, for TG__DONE_ERROR) is taken: it
 * lives with the graph until written. */
static void tell_client(sched *s, sgraph *g, int outcome, void *blob,
                        size_t len)
{
    (void)s;
    if (blob && !g->err) {
        g->err = blob, g->err_len = len;
    } else {
        tg__free(blob);
        blob = g->err, len = g->err_len;
    }
    if (!g->client)
        return;
    int rc = 0;
    if (outcome == TG__DONE_OK)
        for (uint32_t i = 0; i < g->n_targets && rc == 0;
             i += TG__RESULTS_PER_MSG)
            rc = send_results(g, i,
                              g->n_targets - i < TG__RESULTS_PER_MSG
                                  ? g->n_targets - i
                                  : TG__RESULTS_PER_MSG);
    if (rc) /* the connection is closed: nobody to tell */
        return;
    tg__enc e;
    rc = tg__enc_init(&e, 0);
    rc = rc ? rc : tg__enc_u8(&e, TG__OP_S_DONE);
    rc = rc ? rc : tg__enc_u64(&e, g->tag);
    rc = rc ? rc : tg__enc_u8(&e, (uint8_t)outcome);
    if (outcome == TG__DONE_OK)
        rc = rc ? rc : tg__enc_u64(&e, g->n_targets);
    else if (outcome == TG__DONE_ERROR)
        rc = rc ? rc : tg__enc_piece(&e, blob, len);
    if (rc == 0) {
        g->refs++; /* the error stays until written */
        tg__conn_send(g->client, &e, graph_unref, g);
    }
    tg__enc_close(&e);
}

/* Task t of g finished on worker w (ok: its result is kept there). */
static void task_done(sched *s, sworker *w, sgraph *g, uint32_t t,
                      uint64_t nbytes)
{
    stask *st = &g->t[t];
    st->state = ST_MEMORY;
    st->nbytes = nbytes;
    st->worker = w->id;
    for (uint32_t k = g->deps_off[t]; k < g->deps_off[t + 1]; k++) {
        uint32_t d = g->deps[k];
        if (--g->t[d].users_left == 0 && g->target_of[d] == UINT32_MAX)
            queue_release(s, g, d);
    }
    if (st->users_left == 0 && g->target_of[t] == UINT32_MAX)
        queue_release(s, g, t);
    for (uint32_t k = g->users_off[t]; k < g->users_off[t + 1]; k++) {
        uint32_t u = g->users[k];
        if (--g->t[u].deps_left > 0)
            continue;
        if (g->t[u].state == ST_PROCESSING) /* sent ahead: look further */
            follow(s, g, u);
        else
            ready(s, g, u);
    }
}

static sgraph *graph_by_gid(sched *s, uint64_t gid)
{
    for (sgraph *g = s->graphs; g; g = g->next)
        if (g->gid == gid)
            return g;
    return NULL;
}

/* Fails g: its client hears err (a value, borrowed), the graph ends. */
static void graph_fail(sched *s, sgraph *g, const tg_value *err)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    if (tg__flatten_value(err, &blob, &len) == 0)
        tell_client(s, g, TG__DONE_ERROR, blob, len);
    graph_end(s, g);
}

/* ---- messages from workers -------------------------------------------- */

static sworker *worker_of(sched *s, tg__conn *c)
{
    for (sworker *w = s->workers; w; w = w->next)
        if (w->conn == c)
            return w;
    return NULL;
}

static int on_w_hello(sched *s, tg__conn *c, tg__dec *d)
{
    const char *name, *addr;
    size_t nlen, alen;
    uint64_t nthreads;
    int rc = tg__dec_str(d, &name, &nlen);
    rc = rc ? rc : tg__dec_u64(d, &nthreads);
    rc = rc ? rc : tg__dec_str(d, &addr, &alen);
    if (rc || worker_of(s, c) || nthreads == 0 || nthreads > 4096 || nlen >= 64
        || alen >= 128)
        return rc ? rc : tg__seterr(TG_EPROTO, "a bad W_HELLO");
    sworker *w = tg__calloc(1, sizeof *w);
    if (!w)
        return TG_ENOMEM;
    w->conn = c;
    w->run_refs.release = graph_unref;
    w->id = ++s->next_worker_id;
    memcpy(w->name, name, nlen);
    memcpy(w->addr, addr, alen);
    w->nthreads = (uint32_t)nthreads;
    set_cap(s, w);
    w->next = s->workers;
    s->workers = w;
    tg__node_log(&s->node, "worker %s joined (%u threads, peers at %s)",
                 w->name, w->nthreads, w->addr);
    tg__enc e;
    rc = tg__enc_init(&e, 0);
    rc = rc ? rc : tg__enc_u8(&e, TG__OP_S_WELCOME);
    rc = rc ? rc : tg__enc_u64(&e, w->id);
    if (rc == 0)
        tg__conn_send(c, &e, NULL, NULL);
    tg__enc_close(&e);
    fill_worker(s, w);
    return 0;
}

/* One W_DONE entry. */
static int on_w_done_entry(sched *s, sworker *w, tg__dec *d)
{
    uint64_t gid, t, nbytes, run_ns;
    uint8_t status, has_blob;
    int rc = tg__dec_u64(d, &gid);
    rc = rc ? rc : tg__dec_u64(d, &t);
    rc = rc ? rc : tg__dec_u8(d, &status);
    rc = rc ? rc : tg__dec_u64(d, &nbytes);
    rc = rc ? rc : tg__dec_u64(d, &run_ns);
    rc = rc ? rc : tg__dec_u8(d, &has_blob);
    void *blob = NULL;
    size_t len = 0;
    if (rc == 0 && has_blob)
        rc = tg__dec_piece(d, &blob, &len);
    if (rc)
        return rc;
    sgraph *g = graph_by_gid(s, gid);
    bool target = g && t < g->n_tasks && g->target_of[t] != UINT32_MAX;
    if (!g) { /* ended meanwhile: the worker forgets its results */
        tg__free(blob);
        if (w->in_flight)
            w->in_flight--;
        return 0;
    }
    if (t >= g->n_tasks || g->t[t].state != ST_PROCESSING
        || g->t[t].worker != w->id || status > 1
        || (bool)has_blob != (status == 1 || target)) {
        tg__free(blob);
        return tg__seterr(TG_EPROTO, "W_DONE for a task not running there");
    }
    w->in_flight--;
    g->in_flight--;
    /* a moving average over about the last 8 tasks */
    w->run_ns = w->run_ns ? w->run_ns - w->run_ns / 8 + run_ns / 8 : run_ns + 1;
    if (status == 1) { /* the error, as the worker encoded it */
        tell_client(s, g, TG__DONE_ERROR, blob, len);
        graph_end(s, g);
        return 0;
    }
    if (target) {
        g->res[g->target_of[t]] = blob;
        g->res_lens[g->target_of[t]] = len;
        g->targets_left--;
    }
    task_done(s, w, g, (uint32_t)t, nbytes);
    if (g->targets_left == 0) {
        tell_client(s, g, TG__DONE_OK, NULL, 0);
        graph_end(s, g);
    }
    return 0;
}

static int on_w_done(sched *s, tg__conn *c, tg__dec *d)
{

    sworker *w = worker_of(s, c);
    if (!w)
        return tg__seterr(TG_EPROTO, "W_DONE from a peer that is no worker");
    int rc = 0;
    for (uint8_t more; rc == 0 && (rc = tg__dec_u8(d, &more)) == 0 && more;)
        rc = on_w_done_entry(s, w, d);
    set_cap(s, w);
    fill_worker(s, w);
    fill_all(s);
    return rc;
}

/* ---- clients ----------------------------------------------------------- */

static int on_c_submit(sched *s, tg__conn *c, tg__dec *d)
{
    uint64_t tag;
    int rc = tg__dec_u64(d, &tag);
    sgraph *g = rc ? NULL : tg__calloc(1, sizeof *g);
    if (!g)
        return rc ? rc : TG_ENOMEM;
    g->refs = 1;
    g->tag = tag;
    g->client = c;
    if ((rc = tg__sched_read_graph(d, g)) != 0) {
        tg__sched_graph_free(g);
        return rc;
    }
    g->gid = ++s->next_gid;
    g->seq = ++s->next_seq;
    g->next = s->graphs;
    s->graphs = g;
    for (uint32_t t = 0; t < g->n_tasks; t++)
        if (g->t[t].deps_left == 0 && q_push(s, g, t) == 0)
            g->t[t].state = ST_QUEUED;
    fill_all(s);
    return 0;
}

static int on_c_cancel(sched *s, tg__conn *c, tg__dec *d)
{
    uint64_t tag;
    int rc = tg__dec_u64(d, &tag);
    if (rc)
        return rc;
    for (sgraph *g = s->graphs; g; g = g->next)
        if (g->client == c && g->tag == tag) {
            tell_client(s, g, TG__DONE_CANCELLED, NULL, 0);
            graph_end(s, g);
            break;
        }
    return 0;
}

static int on_c_info(sched *s, tg__conn *c)
{
    uint64_t n = 0, threads = 0;
    for (sworker *w = s->workers; w; w = w->next)
        if (w->conn)
            n++, threads += w->nthreads;
    tg__enc e;
    int rc = tg__enc_init(&e, 0);
    rc = rc ? rc : tg__enc_u8(&e, TG__OP_S_INFO);
    rc = rc ? rc : tg__enc_u64(&e, n);
    rc = rc ? rc : tg__enc_u64(&e, threads);
    if (rc == 0)
        tg__conn_send(c, &e, NULL, NULL);
    tg__enc_close(&e);
    return rc;
}

/* ---- the node's hooks ---------------------------------------------------- */

static void on_msg(tg__conn *c, tg__msg *m)
{
    sched *s = c->node->ud;
    tg__dec d;
    uint8_t op = 0;
    int rc = tg__msg_decoder(m, &d);
    rc = rc ? rc : tg__dec_u8(&d, &op);
    if (rc == 0) {
        switch (op) {
        case TG__OP_W_HELLO: rc = on_w_hello(s, c, &d); break;
        case TG__OP_W_DONE: rc = on_w_done(s, c, &d); break;
        case TG__OP_C_HELLO: rc = on_c_info(s, c); break;
        case TG__OP_C_INFO: rc = on_c_info(s, c); break;
        case TG__OP_C_SUBMIT: rc = on_c_submit(s, c, &d); break;
        case TG__OP_C_CANCEL: rc = on_c_cancel(s, c, &d); break;
        case TG__OP_C_SHUTDOWN:
            tg__node_log(&s->node, "%s asked to stop: stopping", c->peer);
            tg__node_close(&s->node);
            break;
        default: rc = tg__seterr(TG_EPROTO, "unknown op %u", op);
        }
    }
    if (rc == 0 && !tg__dec_done(&d))
        rc = tg__seterr(TG_EPROTO, "op %u: trailing bytes", op);
    tg__dec_close(&d);
    tg__msg_free(m);
    if (rc)
        tg__conn_close(c, tg_last_error());
}

static void on_close(tg__conn *c)
{
    sched *s = c->node->ud;
    sworker *w = worker_of(s, c);
    if (w) {
        w->conn = NULL;
        tg__node_log(&s->node, "worker %s left", w->name);
        char msg[160];
        snprintf(msg, sizeof msg, "worker %s died", w->name);
        for (sgraph *g = s->graphs, *next; g; g = next) {
            next = g->next;
            bool hit = false;
            for (uint32_t t = 0; t < g->n_tasks && !hit; t++)
                hit = g->t[t].worker == w->id
                      && (g->t[t].state == ST_PROCESSING
                          || g->t[t].state == ST_MEMORY);
            if (hit) {
                tg_value *err = tg_error("%s", msg);
                graph_fail(s, g, err);
                tg_decref(err);
            }
        }
        return;
    }
    for (sgraph *g = s->graphs, *next; g; g = next) {
        next = g->next;
        if (g->client == c) { /* a client left: drop its graphs */
            g->client = NULL;
            graph_end(s, g);
        }
    }
}

static void before_flush(tg__node *n)
{
    sched *s = n->ud;
    for (sworker *w = s->workers; w; w = w->next) {
        if (w->n_run) /* the forgets waiting go along */
            flush_forgets(w);
        flush_run(w);
        flush_rel(w);
    }
    /* forget workers that left, once nothing refers to them */
    for (sworker **p = &s->workers; *p;) {
        sworker *w = *p;
        if (!w->conn && !w->n_run && !w->n_rel) {
            *p = w->next;
            tg__free(w->forgets);
            tg__free(w);
        } else {
            p = &w->next;
        }
    }
}

static void on_stop(tg__node *n)
{
    sched *s = n->ud;
    while (s->graphs)
        graph_end(s, s->graphs);
    qitem it;
    while (q_pop(s, &it))
        graph_unref(it.g);
    uv_close((uv_handle_t *)&s->forget_timer, NULL);
}

static const tg__node_ops sched_ops = {.on_msg = on_msg,
                                       .on_close = on_close,
                                       .on_stop = on_stop,
                                       .before_flush = before_flush};

static bool is_loopback(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0
           || strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0;
}

/* The token: from the token file, else fresh random bytes. */
static int scheduler_token(const tg_server_opts *o, uint8_t *token)
{
    if (o->token_file)
        return tg__read_token_file(o->token_file, token);
    return tg__random(token, TG__TOKEN_BYTES);
}

int tg_serve_scheduler(const tg_server_opts *opts)
{
    static const tg_server_opts defaults = {0};
    const tg_server_opts *o = opts ? opts : &defaults;
    const char *host = o->host ? o->host : "127.0.0.1";
    if (o->port < 0 || o->port > 65535)
        return tg__seterr(TG_EINVAL, "port %d", o->port);
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return tg__seterr(TG_ENOMEM, "cannot start a loop");
    sched s = {.worker_queue =
                   o->worker_queue > 0 ? o->worker_queue : DEFAULT_WORKER_QUEUE,
               .scheduler_file = o->scheduler_file};
    uv_timer_init(&loop, &s.forget_timer);
    s.forget_timer.data = &s;
    tg__node_init(&s.node, &loop, &sched_ops, &s, o, "tg-scheduler");
    int rc = scheduler_token(o, s.node.token);
    rc = rc ? rc : tg__node_listen(&s.node, host, o->port);
    if (rc == 0 && o->scheduler_file)
        rc = tg__write_scheduler_file(o->scheduler_file, s.node.address,
                                      s.node.token);
    if (rc == 0) {
        if (!is_loopback(host))
            tg__node_log(&s.node,
                         "WARNING: listening on %s, which is not a loopback "
                         "address: anyone who can reach it can try the "
                         "token; keep the scheduler file private",
                         host);
        tg__node_log(&s.node, "tg-scheduler at %s", s.node.address);
        uv_run(&loop, UV_RUN_DEFAULT);
    } else { /* closing sets no error: tg_last_error() stays the cause */
        tg__node_close(&s.node);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    while (s.workers) {
        sworker *w = s.workers;
        s.workers = w->next;
        tg__enc_close(&w->run);
        tg__enc_close(&w->rel);
        tg__free(w->run_refs.items);
        tg__free(w->forgets);
        tg__free(w);
    }
    tg__free(s.queue);
    uv_loop_close(&loop);
    if (rc == 0 && o->scheduler_file)
        unlink(o->scheduler_file);
    return rc;
}
