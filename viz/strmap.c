/* viz/strmap.c - a string -> index map (see strmap_internal.h).
 *
 * The table doubles when it is half full, so probes stay short.
 */
#include <string.h>

#include "runtime/alloc_internal.h"
#include "runtime/value_internal.h"
#include "strmap_internal.h"

static size_t slot_of(const tg__strmap *m, const char *key)
{
    size_t k = (size_t)tg__hash64(key, strlen(key)) & (m->cap - 1);
    while (m->keys[k] && strcmp(m->keys[k], key) != 0)
        k = (k + 1) & (m->cap - 1);
    return k;
}

static int grow(tg__strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    tg__strmap bigger = {tg__calloc(cap, sizeof(char *)),
                         tg__malloc(cap * sizeof(uint32_t)), cap, 0};
    if (!bigger.keys || !bigger.vals) {
        tg__free(bigger.keys);
        tg__free(bigger.vals);
        return TG_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t k = slot_of(&bigger, m->keys[i]);
        bigger.keys[k] = m->keys[i];
        bigger.vals[k] = m->vals[i];
    }
    bigger.n = m->n;
    tg__strmap_free(m);
    *m = bigger;
    return 0;
}

int tg__strmap_put(tg__strmap *m, const char *key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap && grow(m))
        return TG_ENOMEM;
    size_t k = slot_of(m, key);
    if (!m->keys[k]) {
        m->keys[k] = key;
        m->n++;
    }
    m->vals[k] = val;
    return 0;
}

uint32_t tg__strmap_get(const tg__strmap *m, const char *key)
{
    if (!m->cap)
        return TG__STRMAP_NONE;
    size_t k = slot_of(m, key);
    return m->keys[k] ? m->vals[k] : TG__STRMAP_NONE;
}

const char *tg__strmap_key(const tg__strmap *m, const char *key)
{
    return m->cap ? m->keys[slot_of(m, key)] : NULL;
}

void tg__strmap_free(tg__strmap *m)
{
    tg__free(m->keys);
    tg__free(m->vals);
    *m = (tg__strmap){0};
}
