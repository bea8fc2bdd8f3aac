/* runtime/registry.c - the process-wide table of named task functions.
 *
 * Workers resolve function names through this table, so only code that a
 * process registered itself can ever run there.  Entries live in an
 * array indexed through the runtime hash map; they are never removed.
 * Lookups are rare (interning a function in a graph, decoding a plan),
 * so one mutex guards everything.  The built-in functions
 * (runtime/builtins.c) are added before the table is first used.
 */
#include <pthread.h>
#include <string.h>

#include "alloc_internal.h"
#include "builtins_internal.h"
#include "map_internal.h"
#include "registry_internal.h"

typedef struct entry {
    char *name;
    uint64_t hash;
    tg_fn fn;
    void *ctx;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;                /* guarded by lock */
static size_t n_entries, cap_entries; /* guarded by lock */
static tg__map by_name;               /* guarded by lock */

atomic_uint_fast64_t tg__registry_gen;

static uint64_t entry_hash(void *ud, uint32_t i)
{
    (void)ud;
    return entries[i].hash;
}

/* The entry named name, or NULL.  Caller holds lock. */
static entry *find(const char *name, uint64_t h, tg__map_probe *p)
{
    if (!by_name.cap)
        return NULL;
    *p = tg__map_begin(&by_name, h);
    for (uint32_t i; (i = tg__map_next(&by_name, p)) != TG__MAP_NONE;)
        if (strcmp(entries[i].name, name) == 0)
            return &entries[i];
    return NULL;
}

/* Adds an entry; caller holds lock and has checked name is absent. */
static int add(const char *name, uint64_t h, tg_fn fn, void *ctx)
{
    if (n_entries == cap_entries) {
        size_t cap = cap_entries ? 2 * cap_entries : 64;
        entry *e = tg__realloc(entries, cap * sizeof *e);
        if (!e)
            return TG_ENOMEM;
        entries = e, cap_entries = cap;
    }
    char *copy = tg__strdup(name);
    if (!copy || tg__map_reserve(&by_name, 1, entry_hash, NULL) != 0) {
        tg__free(copy);
        return TG_ENOMEM;
    }
    tg__map_probe p = tg__map_begin(&by_name, h);
    while (tg__map_next(&by_name, &p) != TG__MAP_NONE)
        ;
    entries[n_entries] = (entry){copy, h, fn, ctx};
    tg__map_insert(&by_name, &p, (uint32_t)n_entries++);
    atomic_fetch_add_explicit(&tg__registry_gen, 1, memory_order_relaxed);
    return 0;
}

void tg__registry_add_builtin(const char *name, tg_fn fn)
{
    tg__map_probe p;
    uint64_t h = tg__map_hash_str(name);
    if (!find(name, h, &p))
        add(name, h, fn, NULL); /* out of memory: it stays unregistered */
}

static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;

static void add_builtins(void)
{
    pthread_mutex_lock(&lock);
    tg__builtins_register();
    pthread_mutex_unlock(&lock);
}

/* Every entry point calls this first. */
static void ensure_builtins(void)
{
    pthread_once(&builtins_once, add_builtins);
}

int tg_register(const char *name, tg_fn fn, void *ctx)
{
    ensure_builtins();
    if (!name || !*name || !fn)
        return tg__seterr(TG_EINVAL, "tg_register: %s",
                          !fn ? "NULL function" : "empty name");
    uint64_t h = tg__map_hash_str(name);
    tg__map_probe p;
    pthread_mutex_lock(&lock);
    const entry *e = find(name, h, &p);
    int rc = 0;
    if (e && (e->fn != fn || e->ctx != ctx))
        rc = tg__seterr(TG_EEXIST, "'%s' is registered to another function",
                        name);
    else if (!e)
        rc = add(name, h, fn, ctx);
    pthread_mutex_unlock(&lock);
    return rc;
}

int tg_lookup(const char *name, tg_fn *fn, void **ctx)
{
    if (!name)
        return tg__seterr(TG_EINVAL, "tg_lookup: NULL name");
    ensure_builtins();
    uint64_t h = tg__map_hash_str(name);
    tg__map_probe p;
    pthread_mutex_lock(&lock);
    const entry *e = find(name, h, &p);
    if (e) {
        if (fn)
            *fn = e->fn;
        if (ctx)
            *ctx = e->ctx;
    }
    pthread_mutex_unlock(&lock);
    if (!e)
        return tg__seterr(TG_ENOENT, "no function registered as '%s'", name);
    return 0;
}

bool tg__registry_has(const char *name, tg_fn fn, void *ctx)
{
    ensure_builtins();
    uint64_t h = tg__map_hash_str(name);
    tg__map_probe p;
    pthread_mutex_lock(&lock);
    const entry *e = find(name, h, &p);
    bool has = e && e->fn == fn && e->ctx == ctx;
    pthread_mutex_unlock(&lock);
    return has;
}
