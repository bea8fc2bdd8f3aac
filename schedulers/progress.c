/* schedulers/progress.c - a text progress bar on the scheduler callbacks.
 *
 * One process-wide bar shows one compute at a time (the first that starts
 * while none is shown), like dask.diagnostics.ProgressBar.  Workers only
 * bump an atomic counter; a worker that finds a redraw due takes the draw
 * lock with trylock, so no worker ever waits on the bar.  On a terminal
 * the line is redrawn in place at most every 100 ms; otherwise a new line
 * is printed at each 10 %.  From 5 % done on, the line estimates the time
 * left from the rate so far.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"
#include "taskgraph/diagnostics.h"

#define REDRAW_NS 100000000u /* 100 ms between redraws on a terminal */
#define DEFAULT_MIN_MS 500
#define DEFAULT_WIDTH 40
#define MAX_WIDTH 200
#define ETA_PERCENT 5 /* the time left is shown from this far on */

/* The shown compute.  id is the publication point: start fills the other
 * fields, then stores id (release); workers load it (acquire).  Fields
 * after `done` are guarded by draw_lock. */
typedef struct bar {
    atomic_uint_fast64_t id; /* compute shown; 0 = none */
    size_t n_tasks;
    uint64_t start_ns;
    atomic_size_t done;           /* tasks ended */
    atomic_uint_fast64_t last_ns; /* last redraw; read unlocked as hint */
    atomic_int last_decile;       /* lines mode: last printed 10 % step */
    atomic_bool shown;            /* min time passed, or immediate */
    FILE *out;
    bool tty;
    uint32_t width;
    uint64_t min_ns;
} bar;

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t draw_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int handle;           /* callbacks handle; guarded by cfg_lock */
static tg_progress_opts cfg; /* guarded by cfg_lock */
static bar the_bar;

/* Prints the bar for `done` tasks.  Caller holds draw_lock. */
static void draw(bar *b, size_t done, uint64_t now_ns, const char *tail)
{
    char fill[MAX_WIDTH + 1];
    size_t pct = b->n_tasks ? done * 100 / b->n_tasks : 100;
    size_t k = b->n_tasks ? done * b->width / b->n_tasks : b->width;
    memset(fill, '#', k);
    memset(fill + k, ' ', b->width - k);
    fill[b->width] = '\0';
    double elapsed = (double)(now_ns - b->start_ns) / 1e9;
    char eta[48] = "";
    if (done < b->n_tasks && done * 100 >= ETA_PERCENT * b->n_tasks)
        snprintf(eta, sizeof eta, ", ~%.1fs left",
                 elapsed * (double)(b->n_tasks - done) / (double)done);
    fprintf(b->out, "%s[%s] | %3zu%% | %zu/%zu tasks | %.1fs%s%s%s",
            b->tty ? "\r" : "", fill, pct, done, b->n_tasks, elapsed, eta, tail,
            b->tty ? "\x1b[K" : "\n");
    fflush(b->out);
    atomic_store_explicit(&b->last_ns, now_ns, memory_order_relaxed);
}

static int decile(const bar *b, size_t done)
{
    return b->n_tasks ? (int)(done * 10 / b->n_tasks) : 10;
}

/* Shows the bar once its compute has run long enough.  Caller holds
 * draw_lock. */
static void maybe_show(bar *b, size_t done, uint64_t now_ns)
{
    if (!atomic_load_explicit(&b->shown, memory_order_relaxed)
        && now_ns - b->start_ns >= b->min_ns) {
        atomic_store_explicit(&b->shown, true, memory_order_relaxed);
        draw(b, done, now_ns, "");
        atomic_store_explicit(&b->last_decile, decile(b, done),
                              memory_order_relaxed);
    }
}

static void on_start(void *ud, uint64_t compute_id, size_t n_tasks)
{
    bar *b = ud;
    pthread_mutex_lock(&cfg_lock);
    tg_progress_opts o = cfg;
    pthread_mutex_unlock(&cfg_lock);
    pthread_mutex_lock(&draw_lock);
    if (atomic_load_explicit(&b->id, memory_order_relaxed) == 0) {
        b->out = o.stream ? o.stream : stderr;
        b->tty = o.mode == TG_PROGRESS_TTY
                 || (o.mode == TG_PROGRESS_AUTO && isatty(fileno(b->out)));
        b->width = o.width ? (o.width > MAX_WIDTH ? MAX_WIDTH : o.width)
                           : DEFAULT_WIDTH;
        b->min_ns =
            o.immediate
                ? 0
                : (uint64_t)(o.min_ms ? o.min_ms : DEFAULT_MIN_MS) * 1000000u;
        b->n_tasks = n_tasks;
        b->start_ns = tg_now_ns();
        atomic_store_explicit(&b->done, 0, memory_order_relaxed);
        atomic_store_explicit(&b->last_decile, 0, memory_order_relaxed);
        atomic_store_explicit(&b->shown, false, memory_order_relaxed);
        if (b->tty && b->min_ns == 0)
            maybe_show(b, 0, b->start_ns);
        else if (b->min_ns == 0) /* lines: the 0 % line is not printed */
            atomic_store_explicit(&b->shown, true, memory_order_relaxed);
        /* release: publish the fields above to the workers. */
        atomic_store_explicit(&b->id, compute_id, memory_order_release);
    }
    pthread_mutex_unlock(&draw_lock);
}

/* Whether a redraw is due after `done` tasks, judged without the lock. */
static bool due(bar *b, size_t done, uint64_t now_ns)
{
    if (!atomic_load_explicit(&b->shown, memory_order_relaxed))
        return now_ns - b->start_ns >= b->min_ns;
    if (b->tty)
        return now_ns - atomic_load_explicit(&b->last_ns, memory_order_relaxed)
               >= REDRAW_NS;
    return decile(b, done)
           > atomic_load_explicit(&b->last_decile, memory_order_relaxed);
}

static void on_task_end(void *ud, const tg_task_info *info)
{
    bar *b = ud;
    /* acquire: pairs with on_start's release of the bar's fields. */
    if (atomic_load_explicit(&b->id, memory_order_acquire) != info->compute_id)
        return;
    size_t done =
        atomic_fetch_add_explicit(&b->done, 1, memory_order_relaxed) + 1;
    if (!due(b, done, info->end_ns) || pthread_mutex_trylock(&draw_lock))
        return;
    if (atomic_load_explicit(&b->id, memory_order_relaxed)
        == info->compute_id) {
        done = atomic_load_explicit(&b->done, memory_order_relaxed);
        if (!atomic_load_explicit(&b->shown, memory_order_relaxed)) {
            maybe_show(b, done, info->end_ns);
        } else if (due(b, done, info->end_ns)) {
            draw(b, done, info->end_ns, "");
            atomic_store_explicit(&b->last_decile, decile(b, done),
                                  memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&draw_lock);
}

static void on_finish(void *ud, uint64_t compute_id, int status,
                      uint64_t elapsed_ns)
{
    bar *b = ud;
    pthread_mutex_lock(&draw_lock);
    if (atomic_load_explicit(&b->id, memory_order_relaxed) == compute_id) {
        size_t done = atomic_load_explicit(&b->done, memory_order_relaxed);
        uint64_t now = b->start_ns + elapsed_ns;
        const char *tail = status == 0              ? ""
                           : status == TG_ECANCELED ? " | cancelled"
                                                    : " | failed";
        bool shown = atomic_load_explicit(&b->shown, memory_order_relaxed);
        if (shown || elapsed_ns >= b->min_ns) {
            /* Lines mode already printed the 100 % line of a success. */
            if (b->tty || status != 0 || !shown
                || atomic_load(&b->last_decile) != decile(b, done))
                draw(b, done, now, tail);
            if (b->tty) {
                fputc('\n', b->out);
                fflush(b->out);
            }
        }
        atomic_store_explicit(&b->id, 0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&draw_lock);
}

/* Turns the bar on with o (or off when o is NULL).  Caller holds
 * cfg_lock. */
static int set_locked(const tg_progress_opts *o)
{
    if (o) {
        cfg = *o;
        if (handle)
            return 0;
        tg_callbacks cb = {on_start, NULL, on_task_end, on_finish, &the_bar};
        int h = tg_callbacks_add(&cb);
        if (h < 0)
            return h;
        handle = h;
        return 0;
    }
    int rc = handle ? tg_callbacks_remove(handle) : 0;
    handle = 0;
    return rc;
}

void tg__progress_apply_env(void)
{
    static const tg_progress_opts defaults = {0};
    const char *v = getenv("TG_PROGRESS");
    if (!v || !*v)
        return;
    bool on = strcmp(v, "0") != 0 && strcmp(v, "false") != 0
              && strcmp(v, "no") != 0 && strcmp(v, "off") != 0;
    pthread_mutex_lock(&cfg_lock);
    (void)set_locked(on ? &defaults : NULL);
    pthread_mutex_unlock(&cfg_lock);
}

void tg__progress_env_once(void)
{
    pthread_once(&env_once, tg__progress_apply_env);
}

int tg_progress_enable_with(const tg_progress_opts *opts)
{
    static const tg_progress_opts defaults = {0};
    tg__progress_env_once(); /* an explicit call overrides the env */
    pthread_mutex_lock(&cfg_lock);
    int rc = set_locked(opts ? opts : &defaults);
    pthread_mutex_unlock(&cfg_lock);
    return rc;
}

int tg_progress_enable(bool on)
{
    if (on)
        return tg_progress_enable_with(NULL);
    tg__progress_env_once();
    pthread_mutex_lock(&cfg_lock);
    int rc = set_locked(NULL);
    pthread_mutex_unlock(&cfg_lock);
    return rc;
}

bool tg_progress_enabled(void)
{
    pthread_mutex_lock(&cfg_lock);
    bool on = handle != 0;
    pthread_mutex_unlock(&cfg_lock);
    return on;
}
