/* viz/strmap_internal.h - a string -> index map for the viz layer.
 *
 * Open addressing with linear probing over borrowed NUL-terminated keys:
 * the map never copies or frees a key, so keys must outlive it.  Used to
 * find tasks by key (JSON import, profiles) and groups by name.
 */
#ifndef TG_VIZ_STRMAP_INTERNAL_H
#define TG_VIZ_STRMAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg__strmap {
    const char **keys; /* cap slots; NULL = empty; borrowed */
    uint32_t *vals;    /* cap slots */
    size_t cap;        /* power of two, or 0 before the first put */
    size_t n;
} tg__strmap;

#define TG__STRMAP_NONE UINT32_MAX

/* Sets key -> val, replacing an earlier value.  Returns 0 or
 * TG_ENOMEM. */
int tg__strmap_put(tg__strmap *m, const char *key, uint32_t val);
/* The value of key, or TG__STRMAP_NONE. */
uint32_t tg__strmap_get(const tg__strmap *m, const char *key);
/* The stored (borrowed) pointer equal to key, or NULL: for interning. */
const char *tg__strmap_key(const tg__strmap *m, const char *key);
void tg__strmap_free(tg__strmap *m);

#endif /* TG_VIZ_STRMAP_INTERNAL_H */
