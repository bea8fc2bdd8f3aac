/* schedulers/threads.c - the work-stealing thread-pool scheduler.
 *
 * n worker threads, each owning a Chase-Lev deque (deque.h): the owner
 * takes LIFO, so it goes depth-first and intermediates die early; idle
 * workers steal FIFO, taking the oldest and usually largest work.  Each
 * run keeps two atomic counters per task in one array (dependencies not
 * yet finished, consumers not yet run).
 *
 * A run enters the pool as one item: the range of all its tasks, in
 * static order.  A worker scans its range in that order and runs each
 * task whose dependencies are done, as sync would; a thief takes the
 * upper half of a range.  A task not ready when its scan passes is left
 * to the worker that finishes its last dependency, which runs it at
 * once if it is the only newly ready one, or queues it.  Who runs it is
 * settled by the dependency counter, which starts one above the number
 * of dependencies: the extra unit belongs to the scan.
 *
 * Idle workers spin briefly, then park on an event count (park.h).
 * Invariant: every task of a run passes exactly once through run_task,
 * which runs it or, once the run must stop, skips it; the run is over
 * when every task has been counted.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "deque.h"
#include "park.h"
#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"

/* SPLIT_PROBES: points early_ready looks at; WINDOW_PATIENCE: scan
 * steps a worker with an empty deque waits for its middle task to be
 * ready before it gives a window away (the middle of a reduction tree is
 * ready again within a step or two, and splitting there keeps fewer
 * intermediates alive). */
enum {
    MAX_THREADS = 1024,
    SPIN_ROUNDS = 64,
    SPLIT_PROBES = 8,
    WINDOW_PATIENCE = 8
};
#define NO_TASK UINT32_MAX

typedef struct pool pool;

/* Per task and run; one array per run, never a malloc per task. */
typedef struct counters {
    atomic_uint deps_left;  /* dependencies not yet finished, plus one
                               until the scan has passed the task */
    atomic_uint users_left; /* dependents not yet run */
} counters;

/* One compute on the pool.  Lives on the stack of the thread that runs
 * threads_run, which returns only once `done` is set. */
typedef struct job {
    tg__run *run;
    pool *pool;
    counters *c;           /* n_tasks */
    atomic_uint todo;      /* tasks not yet counted (see flush) */
    atomic_uint done;      /* 0, then 1 when todo reached 0; park word */
    atomic_bool skipped;   /* some task did not run (stop) */
    bool waiter_is_worker; /* the waiting thread is one of our workers */
    struct job *next;      /* inbox link; guarded by pool->inbox_lock */
} job;

/* A worker.  All fields but dq belong to its thread. */
typedef struct worker {
    tg__deque dq; /* owner: this worker; thieves: everyone */
    pool *pool;
    pthread_t thread;
    int index;     /* 0..n-1, reported to callbacks */
    uint32_t rng;  /* victim choice */
    uint64_t tick; /* tasks started; paces deadline checks */
    job *acc_job;  /* tasks counted locally, not yet in todo */
    uint32_t acc_n;
    job *waiting; /* innermost job a task on this worker computes
                     and waits for (nested), or NULL */
} worker;

struct pool {
    tg_scheduler base; /* first: tg_scheduler_free casts back */
    int n;
    worker *w; /* n, 64-byte aligned inside w_mem */
    void *w_mem;
    tg__eventcount ec; /* idle workers park here */
    atomic_bool shutdown;
    pthread_mutex_t inbox_lock;
    job *inbox_head;     /* guarded by inbox_lock */
    job *inbox_tail;     /* guarded by inbox_lock */
    atomic_uint n_inbox; /* mirrors the inbox length, read lock-free */
};

/* The worker running on this thread, if any (of whichever pool). */
static _Thread_local worker *self;

/* Item arguments: a task index, or a range [lo, hi) of tasks with hi in
 * the upper half (hi >= 1 tells the two apart). */
static inline uint64_t range_arg(uint32_t lo, uint32_t hi)
{
    return (uint64_t)hi << 32 | lo;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* The job is over: wake its waiter.  After the store of done the job
 * may be gone at any moment, so only the pool and the address of done
 * (for a wake that may be spurious) are used. */
static void job_finish(job *j)
{
    bool worker_waits = j->waiter_is_worker;
    pool *p = j->pool;
    /* seq_cst: pairs with the event count of a worker waiting on it. */
    atomic_store_explicit(&j->done, 1, memory_order_seq_cst);
    if (worker_waits)
        tg__ec_notify(&p->ec, true);
    else
        tg__park_wake(&j->done, 1);
}

/* Moves the worker's local count of finished tasks into the job.
 * Counting locally keeps the shared todo counter off the per-task path;
 * a worker flushes when it switches jobs, runs dry, or holds the last
 * tasks of a job. */
static void flush(worker *w)
{
    if (w->acc_n == 0)
        return;
    job *j = w->acc_job;
    uint32_t n = w->acc_n;
    w->acc_n = 0;
    w->acc_job = NULL;
    /* acq_rel: everything each worker did for the job happens before
     * the waiter, who acquires done after the last decrement. */
    if (atomic_fetch_sub_explicit(&j->todo, n, memory_order_acq_rel) == n)
        job_finish(j);
}

static inline void account(worker *w, job *j)
{
    if (w->acc_job != j) {
        flush(w);
        w->acc_job = j;
    }
    /* Relaxed: a stale (larger) todo only delays the flush to the
     * next switch or dry spell. */
    if (++w->acc_n >= atomic_load_explicit(&j->todo, memory_order_relaxed))
        flush(w);
}

static void run_chain(worker *w, job *j, uint32_t t);

/* Queues ready task t on the worker's deque; runs it here if the deque
 * cannot grow (out of memory). */
static void push_task(worker *w, job *j, uint32_t t)
{
    if (TG_UNLIKELY(!tg__deque_push(&w->dq, (tg__item){j, t})))
        run_chain(w, j, t);
}

/* Task t has run: releases the results it consumed, freeing each one
 * whose last consumer this was (unless it is a target). */
static void release_inputs(job *j, uint32_t t)
{
    const tg__plan *p = j->run->plan;
    tg_value **results = j->run->results;
    for (uint32_t e = p->deps_off[t]; e < p->deps_off[t + 1]; e++) {
        uint32_t d = p->deps[e];
        /* A sole consumer needs no counter.  acq_rel: our reads of the
         * result happen before whoever frees it. */
        if (tg__plan_n_dependents(p, d) != 1
            && atomic_fetch_sub_explicit(&j->c[d].users_left, 1,
                                         memory_order_acq_rel)
                   != 1)
            continue;
        if (!p->is_target[d]) {
            tg_decref(results[d]);
            results[d] = NULL;
        }
    }
}

/* Task t is finished (run or skipped): counts it down in each
 * dependent.  Returns the lowest newly ready dependent for the caller
 * to run next, and queues the others. */
static uint32_t release_dependents(worker *w, job *j, uint32_t t)
{
    const tg__plan *p = j->run->plan;
    uint32_t next = NO_TASK;
    bool pushed = false;
    for (uint32_t e = p->dependents_off[t + 1]; e-- > p->dependents_off[t];) {
        uint32_t d = p->dependents[e];
        /* acq_rel: the result of t (and of the other dependencies)
         * happens before d runs, on whichever worker. */
        if (atomic_fetch_sub_explicit(&j->c[d].deps_left, 1,
                                      memory_order_acq_rel)
            != 1)
            continue; /* not ready, or the scan will run it */
        if (next != NO_TASK) {
            push_task(w, j, next);
            pushed = true;
        }
        next = d;
    }
    if (pushed)
        tg__ec_notify(&w->pool->ec, false);
    account(w, j);
    return next;
}

/* Runs task t, or skips it when the run must stop (an error, a cancel,
 * the deadline).  Returns the next task to run, or NO_TASK. */
static uint32_t run_task(worker *w, job *j, uint32_t t)
{
    tg__run *run = j->run;
    if (TG_LIKELY(!tg__run_should_stop(run, ++w->tick))) {
        tg_value *r = tg__exec_task(run, t, w->index);
        if (TG_UNLIKELY(r->type == TG_ERROR)) {
            tg__run_fail(run, r);
        } else {
            release_inputs(j, t); /* r is in its slot already */
            if (TG_UNLIKELY(tg__plan_n_dependents(run->plan, t) == 0
                            && !run->plan->is_target[t])) {
                tg_decref(r);
                run->results[t] = NULL;
            }
        }
    } else if (!atomic_load_explicit(&j->skipped, memory_order_relaxed)) {
        atomic_store_explicit(&j->skipped, true, memory_order_relaxed);
    }
    return release_dependents(w, j, t);
}

static void run_chain(worker *w, job *j, uint32_t t)
{
    while (t != NO_TASK)
        t = run_task(w, j, t);
}

static void process(worker *w, tg__item it);

/* The scan reaches task t: true when t is ready and the scan must run
 * it; false leaves it to the worker that finishes its last dependency. */
static inline bool scan_claims(const job *j, uint32_t t)
{
    const tg__plan *p = j->run->plan;
    if (p->deps_off[t] == p->deps_off[t + 1])
        return true; /* no dependencies: nobody else counts it */
    counters *c = &j->c[t];
    /* Acquire: only the scan's unit is left, so every dependency has
     * finished and published its result; no one else will touch the
     * counter, so no write is needed. */
    if (atomic_load_explicit(&c->deps_left, memory_order_acquire) == 1)
        return true;
    return atomic_fetch_sub_explicit(&c->deps_left, 1, memory_order_acq_rel)
           == 1;
}

/* True when task t could run now: its scan unit is all that is left.
 * Relaxed: a hint for splitting; scan_claims decides for real. */
static inline bool ready(const job *j, uint32_t t)
{
    const tg__plan *p = j->run->plan;
    return p->deps_off[t] == p->deps_off[t + 1]
           || atomic_load_explicit(&j->c[t].deps_left, memory_order_relaxed)
                  == 1;
}

/* A ready task in (lo, mid), probing points halfway closer to lo each
 * time (a quarter, an eighth, ... of the way, SPLIT_PROBES in all), or
 * NO_TASK. */
static inline uint32_t early_ready(const job *j, uint32_t lo, uint32_t mid)
{
    uint32_t span = mid - lo;
    for (int k = 1; k <= SPLIT_PROBES && span >> k; k++)
        if (ready(j, lo + (span >> k)))
            return lo + (span >> k);
    return NO_TASK;
}

/* Where a split of [.., hi) at mid may start: mid if it is ready, else
 * a ready task 1, 2, 4, ... places past it (SPLIT_PROBES in all), or
 * NO_TASK. */
static inline uint32_t near_ready(const job *j, uint32_t mid, uint32_t hi)
{
    if (ready(j, mid))
        return mid;
    for (uint32_t k = 0, d = 1; k < SPLIT_PROBES && d < hi - mid; k++, d <<= 1)
        if (ready(j, mid + d))
            return mid + d;
    return NO_TASK;
}

/* True when the worker waits in a nested compute that is now done: it
 * should hand back what it holds of other jobs and return to the task
 * that waits.  Relaxed: a hint; help_until_done acquires. */
static inline bool waited_for(const worker *w)
{
    return atomic_load_explicit(&w->waiting->done, memory_order_relaxed);
}

/* Scans tasks [lo, hi) in static order.  Lazy binary splitting (Tzannes et
 * al., PPoPP 2010): whenever the worker's deque is empty, so nothing is left
 * for thieves, the upper half of what remains goes onto it.  An unstolen
 * range thus costs no queueing at all, and a thief always finds half of the
 * remaining tasks in one item.  The upper half starts at a ready task, the
 * middle or one a few places past it (near_ready): a thief that starts on
 * tasks whose inputs are still to come would defer them all, and their
 * inputs' finishers would then queue them one by one (a grid of adds over
 * shared inputs ran slower on two threads than on one); and a split that
 * waits for the middle itself leaves the thief idle while the scan runs the
 * tasks before it (block products of a quarter second each, with a store
 * waiting in the middle).  When the middle and the tasks just past it have
 * waited for WINDOW_PATIENCE steps but a task nearer the start is ready (the
 * reads before a shuffle, with every split and pick after them waiting), a
 * window of the range from that task on, as long as the part the worker
 * keeps, goes on the deque instead, and the scan resumes after the window;
 * so the reads are shared rather than scanned by one worker.  What a task
 * queues comes before the rest of the range in static order, so it is
 * drained before the scan goes on.  A worker in a nested wait puts the rest
 * back once its own job is done. */
static void run_range(worker *w, job *j, uint32_t lo, uint32_t hi)
{
    /* After [lo, hi), the scan goes on at [rest_lo, rest_hi): what is
     * left past a window given away. */
    uint32_t rest_lo = 0, rest_hi = 0, waited = 0;
    for (;;) {
        if (lo == hi) {
            if (rest_lo == rest_hi)
                return;
            lo = rest_lo, hi = rest_hi, rest_lo = rest_hi = 0;
        }
        if (TG_UNLIKELY(w->waiting != NULL) && waited_for(w)) {
            if (rest_lo < rest_hi
                && tg__deque_push(&w->dq,
                                  (tg__item){j, range_arg(rest_lo, rest_hi)}))
                rest_lo = rest_hi = 0;
            if (rest_lo == rest_hi
                && tg__deque_push(&w->dq, (tg__item){j, range_arg(lo, hi)})) {
                tg__ec_notify(&w->pool->ec, false);
                return; /* the rest waits on the deque */
            }
        }
        if (hi - lo > 1 && !tg__deque_has_items(&w->dq)) {
            uint32_t mid = lo + (hi - lo + 1) / 2, at = near_ready(j, mid, hi);
            if (at != NO_TASK) {
                if (TG_LIKELY(tg__deque_push(
                        &w->dq, (tg__item){j, range_arg(at, hi)}))) {
                    tg__ec_notify(&w->pool->ec, false);
                    hi = at, waited = 0;
                }
            } else if (++waited >= WINDOW_PATIENCE && rest_lo == rest_hi
                       && (at = early_ready(j, lo, mid)) != NO_TASK) {
                /* The middle waits but earlier tasks are ready (reads
                 * before a shuffle): a window of them as long as what
                 * stays here goes to thieves; the scan skips it. */
                uint32_t end = at + (at - lo);
                if (TG_LIKELY(tg__deque_push(
                        &w->dq, (tg__item){j, range_arg(at, end)}))) {
                    tg__ec_notify(&w->pool->ec, false);
                    rest_lo = end, rest_hi = hi, hi = at, waited = 0;
                }
            }
        }
        uint32_t t = lo++;
        if (!scan_claims(j, t))
            continue;
        int64_t mark = tg__deque_bottom(&w->dq);
        run_chain(w, j, t);
        tg__item it;
        while (tg__deque_bottom(&w->dq) > mark && tg__deque_take(&w->dq, &it))
            process(w, it);
    }
}

static void process(worker *w, tg__item it)
{
    if (it.arg >> 32)
        run_range(w, it.job, (uint32_t)it.arg, (uint32_t)(it.arg >> 32));
    else
        run_chain(w, it.job, (uint32_t)it.arg);
}

/* Takes the oldest job of the inbox as a range item over all its
 * tasks.  The inbox holds computes started by threads outside the
 * pool. */
static bool take_inbox(pool *p, tg__item *out)
{
    if (atomic_load_explicit(&p->n_inbox, memory_order_relaxed) == 0)
        return false;
    pthread_mutex_lock(&p->inbox_lock);
    job *j = p->inbox_head;
    if (j) {
        p->inbox_head = j->next;
        if (!p->inbox_head)
            p->inbox_tail = NULL;
        atomic_fetch_sub_explicit(&p->n_inbox, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->inbox_lock);
    if (!j)
        return false;
    *out = (tg__item){j, range_arg(0, j->run->plan->n_tasks)};
    return true;
}

static bool steal_any(worker *w, tg__item *out)
{
    pool *p = w->pool;
    if (p->n < 2)
        return false;
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 17;
    w->rng ^= w->rng << 5;
    for (int round = 0; round < 4; round++) {
        bool contended = false;
        for (int k = 0; k < p->n - 1; k++) {
            int v = (int)((uint32_t)w->index + 1
                          + (w->rng + (uint32_t)k) % (uint32_t)(p->n - 1))
                    % p->n;
            tg__steal_rc rc = tg__deque_steal(&p->w[v].dq, out);
            if (rc == TG__STEAL_OK)
                return true;
            contended |= rc == TG__STEAL_RETRY;
        }
        if (!contended)
            return false;
    }
    return false;
}

static bool has_work(pool *p, bool with_inbox)
{
    if (with_inbox && atomic_load_explicit(&p->n_inbox, memory_order_seq_cst))
        return true;
    for (int i = 0; i < p->n; i++)
        if (tg__deque_has_items(&p->w[i].dq))
            return true;
    return false;
}

/* True when the worker should stop looking for work: the pool shuts
 * down, or the job it waits for (NULL: none) is done. */
static bool should_return(pool *p, job *wait)
{
    if (wait)
        return atomic_load_explicit(&wait->done, memory_order_acquire);
    return atomic_load_explicit(&p->shutdown, memory_order_acquire);
}

/* Finds an item: own deque, then the inbox, then other deques; spins a
 * little, then parks.  False when should_return says so.  A worker in a
 * nested wait leaves the inbox alone: a new compute could keep it from
 * returning to its task long after the nested one is done. */
static bool find_work(worker *w, job *wait, tg__item *out)
{
    pool *p = w->pool;
    if (tg__deque_take(&w->dq, out))
        return true;
    flush(w);
    for (int spin = 0;;) {
        if (should_return(p, wait))
            return false;
        if ((!wait && take_inbox(p, out)) || steal_any(w, out))
            return true;
        if (++spin < SPIN_ROUNDS) {
            cpu_relax();
            continue;
        }
        unsigned key = tg__ec_prepare(&p->ec);
        if (has_work(p, !wait) || should_return(p, wait)) {
            tg__ec_cancel(&p->ec);
        } else {
            tg__ec_commit(&p->ec, key);
        }
        spin = 0;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    self = w;
    tg__item it;
    while (find_work(w, NULL, &it))
        process(w, it);
    return NULL;
}

/* Sets up the per-run counters: one allocation. */
static int job_init(job *j, pool *p, tg__run *run)
{
    const tg__plan *pl = run->plan;
    uint32_t n = pl->n_tasks;
    memset(j, 0, sizeof *j);
    j->c = tg__big_alloc((size_t)n * sizeof *j->c);
    if (!j->c)
        return TG_ENOMEM;
    j->run = run;
    j->pool = p;
    for (uint32_t t = 0; t < n; t++) {
        atomic_init(&j->c[t].deps_left, tg__plan_n_deps(pl, t) + 1);
        atomic_init(&j->c[t].users_left, tg__plan_n_dependents(pl, t));
        run->results[t] = NULL; /* read by job_close */
    }
    atomic_init(&j->todo, n);
    atomic_init(&j->done, 0);
    atomic_init(&j->skipped, false);
    return 0;
}

/* The run's status once the job is done; on failure releases every
 * result (the scheduler contract, see scheduler_internal.h). */
static int job_close(job *j)
{
    tg__run *run = j->run;
    int rc = 0;
    if (atomic_load_explicit(&run->error, memory_order_acquire))
        rc = TG_ETASK;
    else if (atomic_load_explicit(&j->skipped, memory_order_relaxed))
        rc = TG_ECANCELED;
    if (rc) {
        for (uint32_t t = 0; t < run->plan->n_tasks; t++) {
            tg_decref(run->results[t]);
            run->results[t] = NULL;
        }
    }
    tg__big_free(j->c);
    return rc;
}

/* A thread outside the pool: hands the job to the workers and sleeps
 * until it is done.  It enforces the deadline itself, so a passed
 * deadline stops the run even when no task starts meanwhile. */
static void submit_and_wait(pool *p, job *j)
{
    pthread_mutex_lock(&p->inbox_lock);
    if (p->inbox_tail)
        p->inbox_tail->next = j;
    else
        p->inbox_head = j;
    p->inbox_tail = j;
    atomic_fetch_add_explicit(&p->n_inbox, 1, memory_order_relaxed);
    pthread_mutex_unlock(&p->inbox_lock);
    tg__ec_notify(&p->ec, false);

    tg__run *run = j->run;
    uint64_t deadline = run->deadline_ns;
    while (!atomic_load_explicit(&j->done, memory_order_acquire)) {
        uint64_t timeout = 0;
        if (deadline) {
            uint64_t now = tg_now_ns();
            if (now >= deadline) {
                atomic_store_explicit(&run->stop, true, memory_order_relaxed);
                deadline = 0;
                continue;
            }
            timeout = deadline - now;
        }
        tg__park_wait(&j->done, 0, timeout);
    }
}

/* A worker computing from inside a task (nested parallelism): queues
 * its tasks on its own deque and runs tasks - of this job or any other
 * - until the job is done, so the pool never waits on itself. */
static void help_until_done(worker *w, job *j)
{
    uint32_t n = j->run->plan->n_tasks;
    job *outer = w->waiting;
    w->waiting = j;
    tg__item it = {j, range_arg(0, n)};
    if (tg__deque_push(&w->dq, it))
        tg__ec_notify(&w->pool->ec, false);
    else
        run_range(w, j, 0, n);
    while (!atomic_load_explicit(&j->done, memory_order_acquire)) {
        if (!find_work(w, j, &it))
            break;
        process(w, it);
    }
    w->waiting = outer;
}

static int threads_run(tg_scheduler *s, tg__run *run)
{
    pool *p = (pool *)s;
    if (run->plan->n_tasks == 0)
        return 0;
    job j;
    int rc = job_init(&j, p, run);
    if (rc)
        return rc;
    worker *w = self && self->pool == p ? self : NULL;
    j.waiter_is_worker = w != NULL;
    if (w)
        help_until_done(w, &j);
    else
        submit_and_wait(p, &j);
    return job_close(&j);
}

/* Stops and joins the first n_started workers, then frees the pool. */
static void pool_destroy(pool *p, int n_started)
{
    atomic_store_explicit(&p->shutdown, true, memory_order_seq_cst);
    tg__ec_notify(&p->ec, true);
    for (int i = 0; i < n_started; i++)
        pthread_join(p->w[i].thread, NULL);
    for (int i = 0; i < p->n; i++)
        if (atomic_load_explicit(&p->w[i].dq.buf, memory_order_relaxed))
            tg__deque_close(&p->w[i].dq);
    pthread_mutex_destroy(&p->inbox_lock);
    tg__free(p->w_mem);
    tg__free(p);
}

static void threads_free(tg_scheduler *s)
{
    pool *p = (pool *)s;
    pool_destroy(p, p->n);
}

static const tg__scheduler_vt threads_vt = {"threads", true, threads_run,
                                            threads_free};

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

/* Allocates the pool and its workers' deques; starts no thread. */
static pool *pool_new(int n)
{
    pool *p = tg__calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base.vt = &threads_vt;
    p->n = n;
    pthread_mutex_init(&p->inbox_lock, NULL);
    p->w_mem = tg__calloc(1, (size_t)n * sizeof(worker) + 63);
    if (!p->w_mem) {
        pool_destroy(p, 0);
        return NULL;
    }
    p->w = (worker *)(((uintptr_t)p->w_mem + 63) & ~(uintptr_t)63);
    for (int i = 0; i < n; i++) {
        worker *w = &p->w[i];
        w->pool = p;
        w->index = i;
        w->rng = 0x9e3779b9u * (uint32_t)(i + 1);
        if (tg__deque_init(&w->dq)) {
            pool_destroy(p, 0);
            return NULL;
        }
    }
    return p;
}

tg_scheduler *tg_scheduler_threads(int nthreads)
{
    if (nthreads < 0 || nthreads > MAX_THREADS)
        return tg__seterr_null(TG_EINVAL,
                               "tg_scheduler_threads: %d threads "
                               "(want 0 to %d)",
                               nthreads, MAX_THREADS);
    pool *p = pool_new(nthreads ? nthreads : cpu_count());
    if (!p)
        return NULL;
    for (int i = 0; i < p->n; i++) {
        int err = pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i]);
        if (err) {
            pool_destroy(p, i);
            return tg__seterr_null(TG_ENOMEM,
                                   "tg_scheduler_threads: "
                                   "cannot start a thread: %s",
                                   strerror(err));
        }
    }
    return &p->base;
}
