/* runtime/registry.c - the process-wide table of named task functions.
 *
 * Workers resolve function names through this table, so only code that a
 * process registered itself can ever run there.  Lookups are rare (graph
 * building, message decoding), so one mutex guards everything.
 */
#include <pthread.h>
#include <string.h>

#include "alloc_internal.h"
#include "taskgraph/graph.h"
#include "value_internal.h"

typedef struct entry {
    char *name; /* NULL: empty slot */
    tg_fn fn;
    void *ctx;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *table; /* guarded by lock; open addressing */
static size_t cap;   /* guarded by lock; power of two or 0 */
static size_t count; /* guarded by lock */

static size_t slot_of(const entry *t, size_t c, const char *name)
{
    size_t j = tg__hash64(name, strlen(name)) & (c - 1);
    while (t[j].name && strcmp(t[j].name, name) != 0)
        j = (j + 1) & (c - 1);
    return j;
}

static int grow(void)
{
    size_t c = cap ? cap * 2 : 64;
    entry *t = tg__calloc(c, sizeof *t);
    if (!t)
        return TG_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        if (table[i].name)
            t[slot_of(t, c, table[i].name)] = table[i];
    tg__free(table);
    table = t;
    cap = c;
    return 0;
}

int tg_register(const char *name, tg_fn fn, void *ctx)
{
    if (!name || !*name || !fn)
        return tg__seterr(TG_EINVAL, "tg_register: %s",
                          !fn ? "NULL function" : "empty name");
    pthread_mutex_lock(&lock);
    int rc = 0;
    if ((count + 1) * 2 > cap)
        rc = grow();
    if (rc == 0) {
        entry *e = &table[slot_of(table, cap, name)];
        if (e->name && (e->fn != fn || e->ctx != ctx)) {
            rc = tg__seterr(TG_EEXIST,
                            "'%s' is registered to another "
                            "function",
                            name);
        } else if (!e->name) {
            char *copy = tg__strdup(name);
            if (!copy)
                rc = TG_ENOMEM;
            else
                *e = (entry){copy, fn, ctx}, count++;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int tg_lookup(const char *name, tg_fn *fn, void **ctx)
{
    if (!name)
        return tg__seterr(TG_EINVAL, "tg_lookup: NULL name");
    pthread_mutex_lock(&lock);
    const entry *e = cap ? &table[slot_of(table, cap, name)] : NULL;
    int rc = 0;
    if (e && e->name) {
        if (fn)
            *fn = e->fn;
        if (ctx)
            *ctx = e->ctx;
    } else {
        rc = tg__seterr(TG_ENOENT, "no function registered as '%s'", name);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}
