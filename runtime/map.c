/* runtime/map.c - growing and clearing the hash map (map_internal.h).
 *
 * Lookups and inserts are inline in the header; only what allocates
 * lives here.  The table doubles whenever an insert would take the load
 * past 3/4, rehashing each stored index through the caller's hash
 * function, since slots keep only half of each hash.
 */
#include <string.h>

#include "hash_internal.h"
#include "map_internal.h"

/* The smallest power-of-two capacity holding n indices at load <= 3/4. */
static size_t cap_for(size_t n)
{
    size_t cap = 16;
    while (cap * 3 < n * 4)
        cap *= 2;
    return cap;
}

int tg__map_init(tg__map *m, size_t expected)
{
    *m = (tg__map){0};
    if (expected == 0)
        return 0;
    size_t cap = cap_for(expected);
    m->slots = tg__big_calloc(cap, sizeof *m->slots);
    if (!m->slots)
        return TG_ENOMEM;
    m->cap = cap;
    return 0;
}

void tg__map_close(tg__map *m)
{
    tg__big_free(m->slots);
    *m = (tg__map){0};
}

void tg__map_clear(tg__map *m)
{
    if (m->cap)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

int tg__map_reserve(tg__map *m, size_t more, tg__map_hash_fn hash_of, void *ud)
{
    size_t want = m->n + more;
    if (m->cap && want * 4 <= m->cap * 3)
        return 0;
    assert(hash_of || m->n == 0);
    size_t cap = cap_for(want);
    tg__map bigger = {tg__big_calloc(cap, sizeof(uint64_t)), cap, 0};
    if (!bigger.slots)
        return TG_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        uint64_t s = m->slots[i];
        if (s == 0)
            continue;
        uint32_t index = (uint32_t)s - 1;
        tg__map_probe p = tg__map_begin(&bigger, hash_of(ud, index));
        while (tg__map_next(&bigger, &p) != TG__MAP_NONE)
            ;
        tg__map_insert(&bigger, &p, index);
    }
    tg__map_close(m);
    *m = bigger;
    return 0;
}

uint64_t tg__map_hash_str(const char *s)
{
    return XXH3_64bits(s, strlen(s));
}
