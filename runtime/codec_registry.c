/* runtime/codec_registry.c - codec types by name (codec_internal.h).
 *
 * The decoder finds the hooks of a value of a codec type from the name
 * the head carries, so each process registers the types it can read.
 * Types live in an array indexed through the runtime hash map; they are
 * registered once, from constructors, never removed, and looked up at
 * each decoded value of a codec type.  One mutex guards it all.
 */
#include <pthread.h>
#include <string.h>

#include "alloc_internal.h"
#include "codec_internal.h"
#include "map_internal.h"

typedef struct codec_entry {
    const tg__codec_type *t;
    uint64_t hash; /* of the name */
    size_t name_len;
} codec_entry;

static pthread_mutex_t codec_lock = PTHREAD_MUTEX_INITIALIZER;
static codec_entry *codec_entries;  /* guarded by codec_lock */
static size_t n_codecs, cap_codecs; /* guarded by codec_lock */
static tg__map codecs_by_name;      /* guarded by codec_lock */

static uint64_t codec_hash(void *ud, uint32_t i)
{
    (void)ud;
    return codec_entries[i].hash;
}

/* The type named name, or NULL.  Caller holds codec_lock. */
static const tg__codec_type *codec_lookup(const char *name, size_t len,
                                          uint64_t h)
{
    if (!codecs_by_name.cap)
        return NULL;
    tg__map_probe p = tg__map_begin(&codecs_by_name, h);
    for (uint32_t i; (i = tg__map_next(&codecs_by_name, &p)) != TG__MAP_NONE;)
        if (codec_entries[i].name_len == len
            && memcmp(codec_entries[i].t->name, name, len) == 0)
            return codec_entries[i].t;
    return NULL;
}

/* Adds t, found absent with hash h.  Caller holds codec_lock. */
static int codec_add(const tg__codec_type *t, size_t len, uint64_t h)
{
    if (n_codecs == cap_codecs) {
        size_t cap = cap_codecs ? 2 * cap_codecs : 16;
        codec_entry *e = tg__realloc(codec_entries, cap * sizeof *e);
        if (!e)
            return TG_ENOMEM;
        codec_entries = e;
        cap_codecs = cap;
    }
    if (tg__map_reserve(&codecs_by_name, 1, codec_hash, NULL) != 0)
        return TG_ENOMEM;
    tg__map_probe p = tg__map_begin(&codecs_by_name, h);
    while (tg__map_next(&codecs_by_name, &p) != TG__MAP_NONE)
        ;
    codec_entries[n_codecs] = (codec_entry){t, h, len};
    tg__map_insert(&codecs_by_name, &p, (uint32_t)n_codecs++);
    return 0;
}

int tg__codec_register(const tg__codec_type *t)
{
    if (!t || !t->name || !*t->name)
        return tg__seterr(TG_EINVAL, "tg__codec_register: no name");
    if (!t->encode || !t->decode)
        return tg__seterr(TG_EINVAL, "tg__codec_register: '%s' lacks a hook",
                          t->name);
    if (!tg__is_object_type(t->type))
        return tg__seterr(TG_EINVAL,
                          "tg__codec_register: '%s' is of type %s, not "
                          "frame, object or ndarray",
                          t->name, tg_type_name(t->type));
    size_t len = strlen(t->name);
    uint64_t h = tg__hash64(t->name, len);
    int rc = 0;
    pthread_mutex_lock(&codec_lock);
    const tg__codec_type *old = codec_lookup(t->name, len, h);
    if (old && old != t)
        rc = tg__seterr(TG_EEXIST, "codec type '%s' is already registered",
                        t->name);
    else if (!old)
        rc = codec_add(t, len, h);
    pthread_mutex_unlock(&codec_lock);
    return rc;
}

const tg__codec_type *tg__codec_find(const char *name, size_t len)
{
    uint64_t h = tg__hash64(name, len);
    pthread_mutex_lock(&codec_lock);
    const tg__codec_type *t = codec_lookup(name, len, h);
    pthread_mutex_unlock(&codec_lock);
    return t;
}
