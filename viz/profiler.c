/* viz/profiler.c - record each task's begin, end and thread; write a
 * Chrome trace and a per-function summary.
 *
 * The profiler is a set of scheduler callbacks (callbacks.h): task_end
 * carries begin and end times, so one record per task is appended, under
 * the profiler's mutex, on whichever worker ran it.  Strings the graph
 * owns are copied (names interned) so a profile outlives its graph.
 * Trace format: the Trace Event Format's "X" (complete) events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profiler_internal.h"
#include "runtime/alloc_internal.h"

struct tg__prof_chunk {
    tg__prof_chunk *next;
    size_t used, size; /* bytes of data[] */
    char data[];
};

#define CHUNK_SIZE 65536

/* Copies s into the arena.  Caller holds p->lock. */
static const char *arena_copy(tg_profiler *p, const char *s)
{
    size_t len = strlen(s) + 1;
    tg__prof_chunk *c = p->chunks;
    if (!c || c->size - c->used < len) {
        size_t size = len > CHUNK_SIZE ? len : CHUNK_SIZE;
        if (!(c = tg__malloc(sizeof *c + size)))
            return NULL;
        *c = (tg__prof_chunk){p->chunks, 0, size};
        p->chunks = c;
    }
    char *dst = c->data + c->used;
    memcpy(dst, s, len);
    c->used += len;
    return dst;
}

/* The interned copy of name.  Caller holds p->lock. */
static const char *intern(tg_profiler *p, const char *name)
{
    const char *found = tg__strmap_key(&p->names, name);
    if (found)
        return found;
    const char *copy = arena_copy(p, name);
    if (!copy || tg__strmap_put(&p->names, copy, 0))
        return NULL;
    return copy;
}

static void on_task_end(void *ud, const tg_task_info *info)
{
    tg_profiler *p = ud;
    pthread_mutex_lock(&p->lock);
    if (p->n_recs == p->cap_recs) {
        size_t cap = p->cap_recs ? p->cap_recs * 2 : 1024;
        tg__prof_rec *r = tg__realloc(p->recs, cap * sizeof *r);
        if (!r)
            goto fail;
        p->recs = r;
        p->cap_recs = cap;
    }
    const char *name = intern(p, info->name ? info->name : "?");
    const char *key = arena_copy(p, info->key ? info->key : "?");
    const char *failed_key =
        info->failed_key ? arena_copy(p, info->failed_key) : NULL;
    if (!name || !key || (info->failed_key && !failed_key))
        goto fail;
    p->recs[p->n_recs++] = (tg__prof_rec){info->compute_id,
                                          info->begin_ns,
                                          info->end_ns,
                                          name,
                                          key,
                                          info->task,
                                          info->n_calls,
                                          info->worker,
                                          info->failed,
                                          failed_key};
    pthread_mutex_unlock(&p->lock);
    return;
fail:
    p->n_dropped++;
    pthread_mutex_unlock(&p->lock);
}

tg_profiler *tg_profiler_new(void)
{
    tg_profiler *p = tg__calloc(1, sizeof *p);
    if (p && pthread_mutex_init(&p->lock, NULL)) {
        tg__free(p);
        return tg__seterr_null(TG_ENOMEM, "tg_profiler_new: no mutex");
    }
    return p;
}

int tg_profiler_start(tg_profiler *p)
{
    if (!p)
        return tg__seterr(TG_EINVAL, "tg_profiler_start: NULL profiler");
    if (p->handle)
        return tg__seterr(TG_EINVAL, "tg_profiler_start: already started");
    tg_callbacks cb = {.task_end = on_task_end, .ud = p};
    int h = tg_callbacks_add(&cb);
    if (h < 0)
        return h;
    p->handle = h;
    return 0;
}

int tg_profiler_stop(tg_profiler *p)
{
    if (!p || !p->handle)
        return tg__seterr(TG_EINVAL, "tg_profiler_stop: not started");
    int rc = tg_callbacks_remove(p->handle);
    p->handle = 0;
    return rc;
}

void tg_profiler_clear(tg_profiler *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    while (p->chunks) {
        tg__prof_chunk *next = p->chunks->next;
        tg__free(p->chunks);
        p->chunks = next;
    }
    tg__strmap_free(&p->names);
    tg__free(p->recs);
    p->recs = NULL;
    p->n_recs = p->cap_recs = p->n_dropped = 0;
    pthread_mutex_unlock(&p->lock);
}

void tg_profiler_free(tg_profiler *p)
{
    if (!p)
        return;
    if (p->handle)
        (void)tg_profiler_stop(p);
    tg_profiler_clear(p);
    pthread_mutex_destroy(&p->lock);
    tg__free(p);
}

/* The lock is logically mutable: readers of a const profiler take it. */
static pthread_mutex_t *lock_of(const tg_profiler *p)
{
    return (pthread_mutex_t *)&p->lock;
}

size_t tg_profiler_n_tasks(const tg_profiler *p)
{
    if (!p)
        return 0;
    pthread_mutex_lock(lock_of(p));
    size_t n = p->n_recs;
    pthread_mutex_unlock(lock_of(p));
    return n;
}

size_t tg_profiler_n_dropped(const tg_profiler *p)
{
    if (!p)
        return 0;
    pthread_mutex_lock(lock_of(p));
    size_t n = p->n_dropped;
    pthread_mutex_unlock(lock_of(p));
    return n;
}

int tg__profiler_index(const tg_profiler *p, tg__strmap *by_key)
{
    *by_key = (tg__strmap){0};
    pthread_mutex_lock(lock_of(p));
    int rc = 0;
    for (size_t i = 0; i < p->n_recs && !rc; i++)
        rc = tg__strmap_put(by_key, p->recs[i].key, (uint32_t)i);
    pthread_mutex_unlock(lock_of(p));
    if (rc)
        tg__strmap_free(by_key);
    return rc;
}

/* Writes s as a JSON string literal. */
static void put_json_str(FILE *f, const char *s)
{
    putc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(f, "\\u%04x", *c);
        else
            putc(*c, f);
    }
    putc('"', f);
}

/* One "X" event per record, timestamps in microseconds from the first
 * begin; one thread_name event per worker so tracks read "worker N". */
static void write_events(const tg_profiler *p, FILE *f)
{
    uint64_t t0 = UINT64_MAX;
    int32_t max_worker = -1;
    for (size_t i = 0; i < p->n_recs; i++) {
        if (p->recs[i].begin_ns < t0)
            t0 = p->recs[i].begin_ns;
        if (p->recs[i].worker > max_worker)
            max_worker = p->recs[i].worker;
    }
    fputs("{\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\","
          "\"pid\":1,\"tid\":0,\"args\":{\"name\":\"taskgraph\"}}",
          f);
    for (int32_t w = 0; w <= max_worker; w++)
        fprintf(f,
                ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                "\"tid\":%" PRId32 ",\"args\":{\"name\":\"worker %" PRId32
                "\"}}",
                w, w);
    for (size_t i = 0; i < p->n_recs; i++) {
        const tg__prof_rec *r = &p->recs[i];
        fputs(",\n{\"name\":", f);
        put_json_str(f, r->name);
        fprintf(f,
                ",\"cat\":\"task\",\"ph\":\"X\",\"ts\":%.3f,"
                "\"dur\":%.3f,\"pid\":1,\"tid\":%" PRId32 ",\"args\":{\"key\":",
                (double)(r->begin_ns - t0) / 1e3,
                (double)(r->end_ns - r->begin_ns) / 1e3, r->worker);
        put_json_str(f, r->key);
        fprintf(f,
                ",\"task\":%" PRIu32 ",\"calls\":%" PRIu32
                ",\"compute\":%" PRIu64 ",\"failed\":%s}}",
                r->task, r->n_calls, r->compute_id,
                r->failed ? "true" : "false");
    }
    fputs("\n],\"displayTimeUnit\":\"ms\"}\n", f);
}

int tg_profiler_write_trace(const tg_profiler *p, const char *path)
{
    if (!p || !path)
        return tg__seterr(TG_EINVAL, "tg_profiler_write_trace: NULL %s",
                          p ? "path" : "profiler");
    FILE *f = fopen(path, "w");
    if (!f)
        return tg__seterr(TG_EIO, "cannot write trace '%s': %s", path,
                          strerror(errno));
    pthread_mutex_lock(lock_of(p));
    write_events(p, f);
    pthread_mutex_unlock(lock_of(p));
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return tg__seterr(TG_EIO, "error writing trace '%s'", path);
    return 0;
}

/* Per-function totals for the summary. */
typedef struct agg {
    const char *name;
    size_t n;
    uint64_t total_ns, max_ns;
} agg;

static int by_total_desc(const void *a, const void *b)
{
    const agg *x = a, *y = b;
    if (x->total_ns != y->total_ns)
        return x->total_ns < y->total_ns ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Groups records by name into *out (sorted); returns the group count or
 * a negative code.  Caller holds the lock. */
static long aggregate(const tg_profiler *p, agg **out)
{
    tg__strmap idx = {0};
    agg *a = tg__malloc((p->n_recs ? p->n_recs : 1) * sizeof *a);
    long n = 0;
    if (!a)
        return TG_ENOMEM;
    for (size_t i = 0; i < p->n_recs; i++) {
        const tg__prof_rec *r = &p->recs[i];
        uint32_t k = tg__strmap_get(&idx, r->name);
        if (k == TG__STRMAP_NONE) {
            if (tg__strmap_put(&idx, r->name, (uint32_t)n)) {
                tg__free(a);
                tg__strmap_free(&idx);
                return TG_ENOMEM;
            }
            k = (uint32_t)n;
            a[n++] = (agg){r->name, 0, 0, 0};
        }
        uint64_t d = r->end_ns - r->begin_ns;
        a[k].n++;
        a[k].total_ns += d;
        if (d > a[k].max_ns)
            a[k].max_ns = d;
    }
    tg__strmap_free(&idx);
    qsort(a, (size_t)n, sizeof *a, by_total_desc);
    *out = a;
    return n;
}

int tg_profiler_summary(const tg_profiler *p, FILE *out)
{
    if (!p || !out)
        return tg__seterr(TG_EINVAL, "tg_profiler_summary: NULL %s",
                          p ? "stream" : "profiler");
    agg *a;
    pthread_mutex_lock(lock_of(p));
    long n = aggregate(p, &a);
    size_t n_recs = p->n_recs, n_dropped = p->n_dropped;
    pthread_mutex_unlock(lock_of(p));
    if (n < 0)
        return (int)n;
    uint64_t all = 0;
    for (long i = 0; i < n; i++)
        all += a[i].total_ns;
    fprintf(out, "%zu tasks, %.3f ms of task time", n_recs, (double)all / 1e6);
    if (n_dropped)
        fprintf(out, " (%zu records dropped: out of memory)", n_dropped);
    fprintf(out, "\n%-24s %8s %12s %12s %12s %7s\n", "function", "tasks",
            "total ms", "mean us", "max us", "share");
    for (long i = 0; i < n; i++)
        fprintf(out, "%-24s %8zu %12.3f %12.3f %12.3f %6.1f%%\n", a[i].name,
                a[i].n, (double)a[i].total_ns / 1e6,
                (double)a[i].total_ns / 1e3 / (double)a[i].n,
                (double)a[i].max_ns / 1e3,
                all ? 100.0 * (double)a[i].total_ns / (double)all : 0.0);
    tg__free(a);
    return ferror(out) ? tg__seterr(TG_EIO, "error writing the summary") : 0;
}
