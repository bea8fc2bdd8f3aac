/* schedulers/distributed/worker_threads.c - a worker's task threads.
 *
 * A thread takes a task from the queue, runs it, measures (and for a
 * target or an error, encodes) its result, runs its follower if it has
 * one, and puts it on the done list for the loop.  A task whose report
 * has nothing ahead of it reports itself through the scheduler
 * connection's lane (tg__conn_set_lane).  Threads touch nothing of the
 * loop's but the queue, the done list and followers, under w->lock.
 *
 * A lone task (every thread idle, nothing queued or unreported) whose
 * function ran in under HOLD_RUN_NS last time runs on the loop thread
 * itself, from tg__wk_submit: waking a thread costs more than such a
 * task, and on a loaded machine as much as the rest of a round trip.  A
 * call that turns out long holds the loop once; the next call of its
 * function goes to a thread.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "schedulers/scheduler_internal.h"
#include "worker_state.h"

#define DIRECT_MAX (64 << 10) /* the largest blob a thread reports itself */

/* A thread that runs short tasks of one function back to back sends
 * their reports together, one write per HOLD_NS at most instead of one
 * per task: a report waits at most HOLD_NS before the next task starts
 * (and never while the thread waits). */
#define HOLD_RUN_NS 20000 /* a task this short may wait for the next */
#define HOLD_NS 50000
#define HOLD_BYTES ((size_t)16 << 10)

static _Thread_local const worker *task_worker;

/* Stands in for a function this process has not registered. */
tg_value *tg__wk_missing_fn(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)args, (void)nargs;
    const worker *w = task_worker;
    return tg_error("worker %s: no function registered as '%s' (load it "
                    "with --preload, or register it before "
                    "tg_cluster_local)",
                    w ? w->name : "?", (const char *)ctx);
}

/* Runs a task whose inputs are in its plan's literal slots. */
static void run_task(worker *w, wtask *k)
{
    tg_value *r = k->fail;
    k->fail = NULL;
    uint64_t t0 = tg_now_ns();
    if (!r) {
        tg__plan *p = k->plan;
        tg_value **slots = tg__calloc(p->n_slots, sizeof *slots);
        if (!slots) {
            r = tg_error("worker %s: out of memory", w->name);
        } else {
            for (uint32_t j = 0; j < p->n_literals; j++)
                slots[1 + j] = p->literal[j];
            tg__run run = {.plan = p};
            atomic_init(&run.stop, false);
            atomic_init(&run.error, NULL);
            run.results = slots;
            r = tg__exec_task(&run, 0, 0);
            tg__free(slots);
        }
    }
    k->run_ns = tg_now_ns() - t0;
    bool err = tg_is_error(r);
    if (err || (k->flags & TG__RUN_TARGET)) {
        if (tg__flatten_value(r, &k->blob, &k->blob_len) != 0) {
            tg_value *e = tg_error("the result of a task cannot cross a "
                                   "wire: %s",
                                   tg_last_error());
            tg_decref(r);
            r = e;
            err = true;
            if (tg__flatten_value(r, &k->blob, &k->blob_len) != 0)
                k->blob = NULL;
        }
    }
    k->nbytes = err ? 0 : tg__wire_size(r);
    if (!err && !k->nbytes) { /* a result only this process can hold */
        tg_value *e = tg_error("the result of a task cannot cross a wire: "
                               "%s",
                               tg_last_error());
        tg_decref(r);
        r = e;
        tg__free(k->blob);
        k->blob = NULL;
        tg__flatten_value(r, &k->blob, &k->blob_len);
    }
    k->result = r;
}

/* One W_DONE entry for k; its blob (errors and targets) is the next
 * piece, borrowed. */
int tg__wk_encode_done(tg__enc *e, const wtask *k)
{
    bool err = tg_is_error(k->result);
    bool blob = err || (k->flags & TG__RUN_TARGET);
    int rc = tg__enc_u8(e, 1);
    rc = rc ? rc : tg__enc_u64(e, k->gid);
    rc = rc ? rc : tg__enc_u64(e, k->t);
    rc = rc ? rc : tg__enc_u8(e, err ? 1 : 0);
    rc = rc ? rc : tg__enc_u64(e, k->nbytes);
    rc = rc ? rc : tg__enc_u64(e, k->run_ns);
    rc = rc ? rc : tg__enc_u8(e, blob);
    if (rc == 0 && blob)
        rc = tg__enc_piece(e, k->blob, k->blob ? k->blob_len : 0);
    return rc;
}

/* Writes iov[0 .. n) to the lane's socket after what the lane holds
 * (lane lock held, lane open).  What the socket does not take of it
 * stays for the loop to send first (see drain_done), and the lane
 * closes.  True when all of it is on its way; false when the socket
 * took nothing (it all stays unsent: the lane's messages in the lane). */
static bool lane_write(worker *w, const struct iovec *iov, int n)
{
    struct iovec all[4];
    int m = 0;
    if (w->lane.held_len)
        all[m++] = (struct iovec){w->lane.held, w->lane.held_len};
    size_t total = w->lane.held_len;
    for (int i = 0; i < n; i++) {
        all[m++] = iov[i];
        total += iov[i].iov_len;
    }
    struct msghdr mh = {.msg_iov = all, .msg_iovlen = (size_t)m};
    ssize_t put = sendmsg(w->lane.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    size_t done = put > 0 ? (size_t)put : 0;
    if (done == 0)
        return false;
    if (done < total && (w->rest = tg__malloc(total - done))) {
        size_t at = 0; /* the unwritten tail, for the loop */
        for (int i = 0; i < m; i++) {
            size_t len = all[i].iov_len;
            size_t skip = done < len ? done : len;
            done -= skip;
            if (len > skip) { /* (an empty piece may have no base) */
                memcpy(w->rest + at, (uint8_t *)all[i].iov_base + skip,
                       len - skip);
                at += len - skip;
            }
        }
        w->rest_len = at;
        w->lane.open = false;
    } else if (done < total) { /* a torn message: nothing can follow it */
        w->lane.open = false;
        shutdown(w->lane.fd, SHUT_RDWR);
    }
    w->lane.held_len = 0;
    return true;
}

/* Keeps iov[0 .. n) in the lane (lane lock held, lane open) to go out
 * with the next write: false when it would grow past HOLD_BYTES. */
static bool lane_hold(worker *w, const struct iovec *iov, int n)
{
    tg__lane *l = &w->lane;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (l->held_len + total > HOLD_BYTES)
        return false;
    if (l->held_len + total > l->held_cap) {
        uint8_t *b = tg__realloc(l->held, HOLD_BYTES);
        if (!b)
            return false;
        l->held = b, l->held_cap = HOLD_BYTES;
    }
    if (!l->held_len)
        l->held_since = tg_now_ns();
    for (int i = 0; i < n; i++) {
        if (!iov[i].iov_len) /* (an empty piece may have no base) */
            continue;
        memcpy(l->held + l->held_len, iov[i].iov_base, iov[i].iov_len);
        l->held_len += iov[i].iov_len;
    }
    return true;
}

/* Task thread, under w->lock, with nothing finished before k waiting for
 * the loop: writes k's W_DONE to the scheduler's socket when the lane is
 * open, sparing the trip through the loop - or, with hold, keeps it in
 * the lane to go out with the next one.  True when k's report is on its
 * way (held counts). */
static bool report_direct(worker *w, wtask *k, bool hold, bool *need)
{
    tg__enc e;
    uint8_t prefix[TG__PREFIX_BYTES + 8];
    if ((k->blob && k->blob_len > DIRECT_MAX) || tg__enc_init(&e, 0) != 0)
        return false; /* a large result goes through the loop, uncopied */
    int rc = tg__enc_u8(&e, TG__OP_W_DONE);
    rc = rc ? rc : tg__wk_encode_done(&e, k);
    rc = rc ? rc : tg__enc_u8(&e, 0);
    if (rc || e.n_pieces > 1) {
        tg__enc_close(&e);
        return false;
    }
    tg__put_prefix(prefix, &e);
    struct iovec iov[3] = {{prefix, TG__PREFIX_BYTES + 8 * e.n_pieces},
                           {e.head, e.len},
                           {NULL, 0}};
    if (e.n_pieces)
        iov[2] = (struct iovec){(void *)e.pieces[0].data, e.pieces[0].len};
    bool sent = false;
    pthread_mutex_lock(&w->lane.lock);
    if (w->lane.open) {
        sent = (hold && lane_hold(w, iov, 3)) || lane_write(w, iov, 3);
    }
    *need = !sent || w->rest != NULL; /* the loop sends it, or the tail */
    pthread_mutex_unlock(&w->lane.lock);
    tg__enc_close(&e);
    return sent;
}

/* Writes what the lane holds, if it has held it for max_age_ns or
 * more (task thread, under w->lock; 0: whatever its age).  True when
 * the loop must send it (the socket took none of it) or its tail. */
static bool flush_held(worker *w, uint64_t max_age_ns)
{
    bool need = false;
    pthread_mutex_lock(&w->lane.lock);
    if (w->lane.open && w->lane.held_len
        && (!max_age_ns || tg_now_ns() - w->lane.held_since >= max_age_ns)) {
        lane_write(w, NULL, 0);
        need = w->rest != NULL || w->lane.held_len > 0;
    }
    pthread_mutex_unlock(&w->lane.lock);
    return need;
}

/* The function k's task calls, or NULL. */
static tg_fn task_fn(const wtask *k)
{
    const tg__plan *p = k->plan;
    if (!p || !p->n_ops || !p->ops[0].call) /* (failed on arrival: none) */
        return NULL;
    return p->ops[0].call->fn->fn;
}

/* Whether a and b call the same function: then a short a promises a
 * short b, and a's report may wait for b's. */
static bool same_fn(const wtask *a, const wtask *b)
{
    tg_fn f = task_fn(a);
    return f && f == task_fn(b);
}

/* k has run (w->lock held); its function counts as short for the next
 * lone task when k was. */
static void finished(worker *w, wtask *k)
{
    k->finished = true;
    w->short_fn = k->run_ns < HOLD_RUN_NS ? task_fn(k) : NULL;
}

/* Wakes the loop (under w->lock, which it lets go of for the wake). */
static void wake_loop(worker *w)
{
    if (w->woken)
        return;
    w->woken = true;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->wake);
    pthread_mutex_lock(&w->lock);
}

/* A thread's malloc heap gives its free top back only when a large
 * block is freed into it while the heap's top is over the trim
 * threshold, which tg_serve_worker raises to keep large blocks; so the
 * round lowers it, and each thread frees such a block into its heap. */
#define TRIM_LOW ((size_t)128 << 10)
#define TRIM_PROBE ((size_t)256 << 10) /* over malloc's 64 KiB for a trim */

void tg__wk_trim_threads(worker *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->n_started > 0 && !w->quit) {
        if (!w->trims_left)
            mallopt(M_TRIM_THRESHOLD, (int)TRIM_LOW);
        w->trim_round++;
        w->trims_left = w->n_started;
        pthread_cond_broadcast(&w->more);
    }
    pthread_mutex_unlock(&w->lock);
}

/* Called with w->lock held, which it lets go of while it trims. */
static void trim_thread(worker *w)
{
    pthread_mutex_unlock(&w->lock);
    tg_memory_trim(); /* the values this thread keeps */
    void *volatile probe = malloc(TRIM_PROBE);
    free(probe);
    malloc_trim(0);
    pthread_mutex_lock(&w->lock);
    if (w->trims_left > 0 && --w->trims_left == 0)
        mallopt(M_TRIM_THRESHOLD, WORKER_HEAP_BLOCK);
}

static void *thread_main(void *arg)
{
    worker *w = arg;
    task_worker = w;
    pthread_mutex_lock(&w->lock);
    uint32_t trimmed = w->trim_round;
    for (;;) {
        /* the reports held back go out before the thread waits */
        if (!w->queue && flush_held(w, 0))
            wake_loop(w);
        w->n_idle++;
        while (!w->queue && !w->quit && trimmed == w->trim_round)
            pthread_cond_wait(&w->more, &w->lock);
        w->n_idle--;
        if (w->quit && !w->queue)
            break;
        if (trimmed != w->trim_round) {
            trimmed = w->trim_round;
            trim_thread(w);
            continue;
        }
        wtask *k = w->queue;
        w->queue = k->next;
        if (!w->queue)
            w->queue_tail = NULL;
        if (flush_held(w, HOLD_NS))
            wake_loop(w);
        while (k) {
            pthread_mutex_unlock(&w->lock);
            run_task(w, k);
            pthread_mutex_lock(&w->lock);
            wtask *u = k->then;
            if (u) { /* its last input is k's result */
                k->then = NULL;
                if (tg_is_error(k->result) && !u->fail)
                    u->fail = tg_incref(k->result);
                u->plan->literal[k->then_j] =
                    tg_is_error(k->result) ? tg_null() : tg_incref(k->result);
            }
            finished(w, k);
            /* With no unreported task ahead of it, k reports itself.
             * The loop is woken (after letting go of the lock it is
             * about to take) only when it has something to do soon: a
             * report to send, or tasks waiting for k's result; else it
             * takes k in with its next message. */
            bool need = true;
            bool hold = !u && w->queue && k->run_ns < HOLD_RUN_NS
                        && same_fn(k, w->queue);
            if (!w->n_unreported)
                k->reported = report_direct(w, k, hold, &need);
            w->n_unreported += !k->reported;
            k->next = w->done;
            w->done = k;
            if (need || k->awaited)
                wake_loop(w);
            k = u;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

bool tg__wk_submit(worker *w, wtask *k)
{
    k->next = NULL;
    tg_fn fn = task_fn(k);
    pthread_mutex_lock(&w->lock);
    if (fn && fn == w->short_fn && !k->then && !w->queue && !w->done
        && w->n_idle == w->n_started) { /* lone and short: run it here */
        pthread_mutex_unlock(&w->lock);
        task_worker = w; /* the loop's thread is this worker's too */
        run_task(w, k);
        pthread_mutex_lock(&w->lock);
        finished(w, k); /* unreported: the loop reports it */
        w->n_unreported++;
        k->next = w->done;
        w->done = k;
        wake_loop(w);
        pthread_mutex_unlock(&w->lock);
        return false;
    }
    bool behind = w->queue || !w->n_idle;
    if (w->queue_tail)
        w->queue_tail->next = k;
    else
        w->queue = k;
    w->queue_tail = k;
    pthread_mutex_unlock(&w->lock);
    pthread_cond_signal(&w->more); /* the thread woken finds the lock free */
    return behind;
}

void tg__wk_task_free(wtask *k)
{
    for (uint32_t j = 0; k->remote && k->plan && j < k->plan->n_literals; j++)
        tg__free(k->remote[j]);
    tg__free(k->remote);
    tg__free(k->in);
    tg__plan_free(k->plan);
    tg_decref(k->fail);
    tg_decref(k->result);
    tg__free(k->blob);
    tg__free(k);
}

void tg__wk_stop_threads(worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    w->queue = w->queue_tail = NULL; /* never started */
    pthread_cond_broadcast(&w->more);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->n_started; i++)
        pthread_join(w->threads[i], NULL);
    w->done = NULL;
}

int tg__wk_start_threads(worker *w)
{
    w->threads = tg__calloc((size_t)w->nthreads, sizeof *w->threads);
    if (!w->threads)
        return TG_ENOMEM;
    for (; w->n_started < w->nthreads; w->n_started++)
        if (pthread_create(&w->threads[w->n_started], NULL, thread_main, w))
            return tg__seterr(TG_ENOMEM, "cannot start task threads");
    return 0;
}
