/* schedulers/callbacks.c - the process-wide callback registry.
 *
 * Registration is rare and takes a mutex; each compute copies the current
 * set once at start (tg__cb_snapshot), so the per-task path reads a plain
 * array with no lock.  An atomic count lets computes skip the mutex when
 * no callbacks exist, the common case.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "runtime/alloc_internal.h"
#include "scheduler_internal.h"

typedef struct entry {
    int handle;
    tg_callbacks cb;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;   /* guarded by lock */
static size_t n_entries; /* guarded by lock */
static size_t cap_entries;
static int next_handle = 1;
static atomic_size_t n_registered; /* mirrors n_entries, read lock-free */

uint64_t tg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int tg_callbacks_add(const tg_callbacks *cb)
{
    if (!cb)
        return tg__seterr(TG_EINVAL, "tg_callbacks_add: NULL callbacks");
    pthread_mutex_lock(&lock);
    int rc;
    if (n_entries == cap_entries) {
        size_t cap = cap_entries ? cap_entries * 2 : 4;
        entry *e = tg__realloc(entries, cap * sizeof *e);
        if (!e) {
            pthread_mutex_unlock(&lock);
            return TG_ENOMEM;
        }
        entries = e;
        cap_entries = cap;
    }
    rc = next_handle++;
    entries[n_entries++] = (entry){rc, *cb};
    atomic_store(&n_registered, n_entries);
    pthread_mutex_unlock(&lock);
    return rc;
}

int tg_callbacks_remove(int handle)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_entries; i++) {
        if (entries[i].handle != handle)
            continue;
        memmove(&entries[i], &entries[i + 1],
                (n_entries - i - 1) * sizeof *entries);
        n_entries--;
        atomic_store(&n_registered, n_entries);
        if (n_entries == 0) {
            tg__free(entries);
            entries = NULL;
            cap_entries = 0;
        }
        pthread_mutex_unlock(&lock);
        return 0;
    }
    pthread_mutex_unlock(&lock);
    return tg__seterr(TG_ENOENT, "no callbacks registered as %d", handle);
}

int tg__cb_snapshot(tg__cb_set *set)
{
    set->n = 0;
    set->cbs = NULL;
    tg__progress_env_once(); /* TG_PROGRESS=1 registers the bar */
    if (atomic_load_explicit(&n_registered, memory_order_relaxed) == 0)
        return 0;
    pthread_mutex_lock(&lock);
    int rc = 0;
    if (n_entries) {
        set->cbs = tg__malloc(n_entries * sizeof *set->cbs);
        if (set->cbs) {
            for (size_t i = 0; i < n_entries; i++)
                set->cbs[i] = entries[i].cb;
            set->n = n_entries;
        } else {
            rc = TG_ENOMEM;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void tg__cb_release(tg__cb_set *set)
{
    tg__free(set->cbs);
    set->cbs = NULL;
    set->n = 0;
}

void tg__cb_start(const tg__run *run)
{
    for (size_t i = 0; i < run->cb.n; i++)
        if (run->cb.cbs[i].start)
            run->cb.cbs[i].start(run->cb.cbs[i].ud, run->compute_id,
                                 run->plan->n_tasks);
}

void tg__cb_finish(const tg__run *run, int status, uint64_t elapsed_ns)
{
    for (size_t i = 0; i < run->cb.n; i++)
        if (run->cb.cbs[i].finish)
            run->cb.cbs[i].finish(run->cb.cbs[i].ud, run->compute_id, status,
                                  elapsed_ns);
}
