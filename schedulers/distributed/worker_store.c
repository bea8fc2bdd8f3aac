/* schedulers/distributed/worker_store.c - a worker's store: results kept
 * here, literals of live graphs and inputs fetched from peers, each an
 * entry found by (graph, index, kind) through an open-addressing map of
 * entry slots.  Dropped entries go on a free list; the map is rebuilt
 * when its stale slots outnumber the live ones, and a store that empties
 * after a big graph gives its memory back.  Loop thread only.
 */
#include "worker_state.h"

#define KEEP_ENTRIES 16384 /* store slots kept once it empties */

static uint64_t key_hash(uint64_t gid, uint32_t index, uint8_t kind)
{
    return tg__mix64(gid * 0x9E3779B97F4A7C15ull ^ index
                     ^ (uint64_t)kind << 58);
}

static uint64_t entry_hash(void *ud, uint32_t i)
{
    const entry *x = &((worker *)ud)->e[i];
    return key_hash(x->gid, x->index, x->kind);
}

entry *tg__wk_find(worker *w, uint64_t gid, uint32_t index, uint8_t kind,
                   tg__map_probe *p)
{
    if (!w->map.cap)
        return NULL;
    *p = tg__map_begin(&w->map, key_hash(gid, index, kind));
    for (uint32_t i; (i = tg__map_next(&w->map, p)) != TG__MAP_NONE;) {
        entry *x = &w->e[i];
        if (x->used && x->gid == gid && x->index == index && x->kind == kind)
            return x;
    }
    return NULL;
}

static void rebuild(worker *w);

/* A new entry (not found before); NULL when out of memory. */
entry *tg__wk_add(worker *w, uint64_t gid, uint32_t index, uint8_t kind)
{
    uint32_t i;
    if (w->free_e != UINT32_MAX) {
        i = w->free_e;
        w->free_e = w->e[i].next_free;
    } else {
        if (w->n_e == w->cap_e) {
            uint32_t cap = w->cap_e ? 2 * w->cap_e : 256;
            entry *e = tg__realloc(w->e, cap * sizeof *e);
            if (!e)
                return NULL;
            w->e = e, w->cap_e = cap;
        }
        i = w->n_e++;
    }
    w->e[i] = (entry){gid, index, kind, true, NULL, 0, 0, NULL, NULL, 0, 0};
    w->n_used++;
    if (tg__map_reserve(&w->map, 1, entry_hash, w) != 0) {
        w->e[i].used = false;
        w->e[i].next_free = w->free_e;
        w->free_e = i;
        return NULL;
    }
    tg__map_probe p = tg__map_begin(&w->map, key_hash(gid, index, kind));
    while (tg__map_next(&w->map, &p) != TG__MAP_NONE)
        ;
    tg__map_insert(&w->map, &p, i);
    return &w->e[i];
}

/* Rebuilds the map without the entries marked unused. */
static void rebuild(worker *w)
{
    w->n_stale = 0;
    tg__map_clear(&w->map);
    for (uint32_t i = 0; i < w->n_e; i++) {
        if (!w->e[i].used)
            continue;
        tg__map_probe p = tg__map_begin(&w->map, entry_hash(w, i));
        while (tg__map_next(&w->map, &p) != TG__MAP_NONE)
            ;
        tg__map_insert(&w->map, &p, i);
    }
}

/* Drops entry x.  Its map slot stays (a lookup compares the entry, so a
 * stale slot finds nothing); the map is rebuilt once stale slots
 * outnumber live ones. */
void tg__wk_drop(worker *w, entry *x)
{
    tg_decref(x->v);
    tg__free(x->waiting);
    x->used = false;
    x->v = NULL;
    x->waiting = NULL;
    x->n_waiting = 0;
    x->next_free = w->free_e;
    w->free_e = (uint32_t)(x - w->e);
    w->n_used--;
    if (w->n_used == 0 && w->cap_e > KEEP_ENTRIES) {
        /* a big graph is through: give its store back */
        tg__free(w->e);
        tg__map_close(&w->map);
        w->e = NULL;
        w->n_e = w->cap_e = w->n_stale = 0;
        w->free_e = UINT32_MAX;
    } else if (++w->n_stale > w->n_used + 64) {
        rebuild(w);
    }
}

bool tg__wk_live(const worker *w, uint64_t gid)
{
    for (size_t i = 0; i < w->n_live; i++)
        if (w->live[i] == gid)
            return true;
    return false;
}

void tg__wk_make_live(worker *w, uint64_t gid)
{
    if (tg__wk_live(w, gid))
        return;
    if (w->n_live == w->cap_live) {
        size_t cap = w->cap_live ? 2 * w->cap_live : 8;
        uint64_t *l = tg__realloc(w->live, cap * sizeof *l);
        if (!l)
            return;
        w->live = l, w->cap_live = cap;
    }
    w->live[w->n_live++] = gid;
}
