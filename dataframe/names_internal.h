/* dataframe/names_internal.h - finding columns by name in constant time.
 *
 * A name index maps each of n names (borrowed: they must outlive the
 * index) to its position through the runtime's hash map
 * (runtime/map_internal.h), so checking a schema for duplicates and
 * looking up its columns costs O(n), not O(n^2): a frame of 100,000
 * columns builds and reads in milliseconds.
 */
#ifndef TG_DATAFRAME_NAMES_INTERNAL_H
#define TG_DATAFRAME_NAMES_INTERNAL_H

#include "runtime/map_internal.h"

typedef struct tg__name_index {
    tg__map map;              /* no table: find scans the names */
    const char *const *names; /* borrowed, n entries */
    size_t n;
} tg__name_index;

/* Indexes names[0..n).  When two names are equal, stores the position of
 * the second in *dup (-1 when all differ; dup may be NULL) and indexes
 * the first only.  0 or TG_ENOMEM (the index is then empty). */
int tg__name_index_init(tg__name_index *ix, size_t n, const char *const *names,
                        long *dup);
/* Prepares `lookups` lookups in names[0..n): indexes them only when that
 * beats scanning (a few names or a few lookups are scanned).  0 or
 * TG_ENOMEM. */
int tg__name_index_for(tg__name_index *ix, size_t n, const char *const *names,
                       size_t lookups);
/* The position of name, or -1. */
long tg__name_index_find(const tg__name_index *ix, const char *name);
void tg__name_index_close(tg__name_index *ix);

/* The position of the first of names[0..n) equal to an earlier one, or
 * -1 when all differ; TG_ENOMEM when memory ran out. */
long tg__names_first_dup(size_t n, const char *const *names);

#endif /* TG_DATAFRAME_NAMES_INTERNAL_H */
