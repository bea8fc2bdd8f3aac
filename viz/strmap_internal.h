/* viz/strmap_internal.h - a string -> index map for the viz layer.
 *
 * Entries (borrowed NUL-terminated keys, their values and hashes) live in
 * arrays indexed through the runtime hash map: the map never copies or
 * frees a key, so keys must outlive it.  Used to find tasks by key (JSON
 * import, profiles) and groups by name.
 */
#ifndef TG_VIZ_STRMAP_INTERNAL_H
#define TG_VIZ_STRMAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/map_internal.h"

typedef struct tg__strmap {
    const char **keys; /* n entries; borrowed */
    uint32_t *vals;    /* n entries */
    uint64_t *hashes;  /* n entries: each key's hash, for growing */
    size_t n, cap;
    tg__map map; /* hash -> entry */
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
