/* dataframe/names.c - the name index (names_internal.h): names hashed
 * into the runtime's open-addressing map, which stores positions only;
 * equality is checked against the borrowed names.
 */
#include <string.h>

#include "names_internal.h"
#include "taskgraph/common.h"

int tg__name_index_init(tg__name_index *ix, size_t n, const char *const *names,
                        long *dup)
{
    ix->names = names;
    ix->n = n;
    if (dup)
        *dup = -1;
    if (tg__map_init(&ix->map, n ? n : 1))
        return TG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        tg__map_probe p = tg__map_begin(&ix->map, tg__map_hash_str(names[i]));
        uint32_t k;
        while ((k = tg__map_next(&ix->map, &p)) != TG__MAP_NONE)
            if (strcmp(names[k], names[i]) == 0)
                break;
        if (k == TG__MAP_NONE)
            tg__map_insert(&ix->map, &p, (uint32_t)i);
        else if (dup && *dup < 0)
            *dup = (long)i;
    }
    return 0;
}

int tg__name_index_for(tg__name_index *ix, size_t n, const char *const *names,
                       size_t lookups)
{
    if (n <= 16 || lookups <= 4) {
        *ix = (tg__name_index){{0}, names, n};
        return 0;
    }
    return tg__name_index_init(ix, n, names, NULL);
}

long tg__name_index_find(const tg__name_index *ix, const char *name)
{
    if (!ix->map.cap) {
        for (size_t i = 0; i < ix->n; i++)
            if (strcmp(ix->names[i], name) == 0)
                return (long)i;
        return -1;
    }
    tg__map_probe p = tg__map_begin(&ix->map, tg__map_hash_str(name));
    for (uint32_t k; (k = tg__map_next(&ix->map, &p)) != TG__MAP_NONE;)
        if (strcmp(ix->names[k], name) == 0)
            return (long)k;
    return -1;
}

void tg__name_index_close(tg__name_index *ix)
{
    tg__map_close(&ix->map);
    ix->names = NULL;
    ix->n = 0;
}

long tg__names_first_dup(size_t n, const char *const *names)
{
    tg__name_index ix;
    long dup;
    if (tg__name_index_init(&ix, n, names, &dup))
        return TG_ENOMEM;
    tg__name_index_close(&ix);
    return dup;
}
