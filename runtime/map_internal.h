/* runtime/map_internal.h - the one open-addressing hash map.
 *
 * A map from 64-bit hashes to uint32 indices into an array the caller
 * owns (registry entries, graph nodes, groups, ...): the map holds no
 * keys, so the caller decides what "equal" means.  Each slot is one
 * uint64_t, the high 32 bits of the hash (a tag that rejects most
 * mismatches without touching the caller's array) above index + 1; 0 is
 * an empty slot, so a zeroed array is an empty table.  Linear probing,
 * load at most 3/4.  Lookups are inline, so hot loops pay no call:
 *
 *     tg__map_probe p = tg__map_begin(&m, h);
 *     for (uint32_t i; (i = tg__map_next(&m, &p)) != TG__MAP_NONE;)
 *         if (equal(entries[i], key))
 *             return i;                       -- found
 *     tg__map_insert(&m, &p, new_index);      -- p ends on an empty slot
 *
 * Call tg__map_reserve before a probe that may insert.  Not thread-safe:
 * the caller serialises (the registry holds its lock around it).
 */
#ifndef TG_RUNTIME_MAP_INTERNAL_H
#define TG_RUNTIME_MAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "alloc_internal.h"

#define TG__MAP_NONE UINT32_MAX

typedef struct tg__map {
    uint64_t *slots; /* cap slots: tag << 32 | (index + 1), 0 = empty */
    size_t cap;      /* power of two, or 0 before the first reserve */
    size_t n;        /* indices stored */
} tg__map;

/* Where a probe for one hash stands. */
typedef struct tg__map_probe {
    size_t pos;   /* the slot to look at next; the empty slot at the end */
    uint64_t tag; /* the hash's high half, shifted into place */
} tg__map_probe;

/* Recomputes the hash of the entry at index (for growing the table). */
typedef uint64_t (*tg__map_hash_fn)(void *ud, uint32_t index);

/* An empty map with room for `expected` indices without growing (0: no
 * table yet).  0 or TG_ENOMEM. */
int tg__map_init(tg__map *m, size_t expected);
/* Frees the table; the map is empty again. */
void tg__map_close(tg__map *m);
/* Forgets every index, keeping the table. */
void tg__map_clear(tg__map *m);
/* Makes room for `more` inserts beyond m->n, growing the table when the
 * load would pass 3/4; hash_of(ud, i) gives the hash of stored index i
 * (may be NULL when the table is known to be large enough).  0 or
 * TG_ENOMEM (the map is unchanged). */
int tg__map_reserve(tg__map *m, size_t more, tg__map_hash_fn hash_of, void *ud);

static inline tg__map_probe tg__map_begin(const tg__map *m, uint64_t hash)
{
    return (tg__map_probe){(size_t)hash & (m->cap - 1),
                           hash & 0xffffffff00000000ull};
}

/* The next stored index whose tag matches, or TG__MAP_NONE once the
 * probe reaches an empty slot (p->pos is then that slot).  The map must
 * have a table (m->cap > 0). */
static inline uint32_t tg__map_next(const tg__map *m, tg__map_probe *p)
{
    for (;;) {
        uint64_t s = m->slots[p->pos];
        if (s == 0)
            return TG__MAP_NONE;
        p->pos = (p->pos + 1) & (m->cap - 1);
        if ((s & 0xffffffff00000000ull) == p->tag)
            return (uint32_t)s - 1;
    }
}

/* Starts fetching the slot a probe for hash begins at, so that a loop
 * can overlap the cache misses of lookups a few items ahead. */
static inline void tg__map_prefetch(const tg__map *m, uint64_t hash)
{
    __builtin_prefetch(&m->slots[(size_t)hash & (m->cap - 1)], 1);
}

/* Stores index at the empty slot a probe ended on (room reserved). */
static inline void tg__map_insert(tg__map *m, const tg__map_probe *p,
                                  uint32_t index)
{
    m->slots[p->pos] = p->tag | ((uint64_t)index + 1);
    m->n++;
}

/* The hash of a NUL-terminated string, for maps keyed by names. */
uint64_t tg__map_hash_str(const char *s);

#endif /* TG_RUNTIME_MAP_INTERNAL_H */
