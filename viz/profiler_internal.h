/* viz/profiler_internal.h - the profiler's records, for the viz layer.
 *
 * A profiler keeps one record per finished task, appended under its
 * mutex by the worker that ran the task.  Names are interned and keys
 * copied into the profiler's own arena, so records outlive the graph.
 */
#ifndef TG_VIZ_PROFILER_INTERNAL_H
#define TG_VIZ_PROFILER_INTERNAL_H

#include <pthread.h>

#include "strmap_internal.h"
#include "taskgraph/diagnostics.h"

typedef struct tg__prof_rec {
    uint64_t compute_id;
    uint64_t begin_ns; /* tg_now_ns() clock */
    uint64_t end_ns;
    const char *name; /* interned in the profiler */
    const char *key;  /* copied into the profiler's arena */
    uint32_t task;    /* plan index: static priority */
    uint32_t n_calls; /* fused calls */
    int32_t worker;
    bool failed;
    const char *failed_key; /* the call that failed (arena), or NULL */
} tg__prof_rec;

typedef struct tg__prof_chunk tg__prof_chunk;

struct tg_profiler {
    int handle;           /* callbacks handle while started, else 0;
                             caller serialises */
    pthread_mutex_t lock; /* guards every field below */
    tg__prof_rec *recs;
    size_t n_recs;
    size_t cap_recs;
    size_t n_dropped;       /* records lost to out-of-memory */
    tg__strmap names;       /* interned name -> unused */
    tg__prof_chunk *chunks; /* string arena, newest first */
};

/* Maps each recorded key to its latest record.  Takes the profiler's
 * lock while it reads.  Returns 0 or TG_ENOMEM (map freed). */
int tg__profiler_index(const tg_profiler *p, tg__strmap *by_key);

#endif /* TG_VIZ_PROFILER_INTERNAL_H */
