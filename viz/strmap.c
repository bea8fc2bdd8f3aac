/* viz/strmap.c - a string -> index map (see strmap_internal.h).
 *
 * Entries are appended to arrays; the runtime hash map finds an entry
 * from its key's hash, and strcmp settles it.
 */
#include <string.h>

#include "runtime/alloc_internal.h"
#include "strmap_internal.h"

/* The entry holding key, or TG__MAP_NONE with *p where it would go. */
static uint32_t find(const tg__strmap *m, const char *key, uint64_t h,
                     tg__map_probe *p)
{
    if (!m->map.cap)
        return TG__MAP_NONE;
    *p = tg__map_begin(&m->map, h);
    for (uint32_t i; (i = tg__map_next(&m->map, p)) != TG__MAP_NONE;)
        if (strcmp(m->keys[i], key) == 0)
            return i;
    return TG__MAP_NONE;
}

static uint64_t entry_hash(void *ud, uint32_t i)
{
    return ((tg__strmap *)ud)->hashes[i];
}

/* Room for one more entry in the arrays and the map. */
static int reserve(tg__strmap *m)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 16;
        const char **k = tg__realloc(m->keys, cap * sizeof *k);
        if (k)
            m->keys = k;
        uint32_t *v = k ? tg__realloc(m->vals, cap * sizeof *v) : NULL;
        if (v)
            m->vals = v;
        uint64_t *h = v ? tg__realloc(m->hashes, cap * sizeof *h) : NULL;
        if (!h)
            return TG_ENOMEM;
        m->hashes = h;
        m->cap = cap;
    }
    return tg__map_reserve(&m->map, 1, entry_hash, m);
}

int tg__strmap_put(tg__strmap *m, const char *key, uint32_t val)
{
    uint64_t h = tg__map_hash_str(key);
    tg__map_probe p = {0};
    uint32_t i = find(m, key, h, &p);
    if (i != TG__MAP_NONE) {
        m->vals[i] = val;
        return 0;
    }
    if (reserve(m) != 0)
        return TG_ENOMEM;
    find(m, key, h, &p); /* the table may have grown */
    m->keys[m->n] = key;
    m->vals[m->n] = val;
    m->hashes[m->n] = h;
    tg__map_insert(&m->map, &p, (uint32_t)m->n++);
    return 0;
}

uint32_t tg__strmap_get(const tg__strmap *m, const char *key)
{
    tg__map_probe p;
    uint32_t i = find(m, key, tg__map_hash_str(key), &p);
    return i == TG__MAP_NONE ? TG__STRMAP_NONE : m->vals[i];
}

const char *tg__strmap_key(const tg__strmap *m, const char *key)
{
    tg__map_probe p;
    uint32_t i = find(m, key, tg__map_hash_str(key), &p);
    return i == TG__MAP_NONE ? NULL : m->keys[i];
}

void tg__strmap_free(tg__strmap *m)
{
    tg__free(m->keys);
    tg__free(m->vals);
    tg__free(m->hashes);
    tg__map_close(&m->map);
    *m = (tg__strmap){0};
}
