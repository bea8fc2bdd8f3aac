/* runtime/bigalloc.c - large arrays, recycled through a bounded cache.
 *
 * Graphs, plans and runs allocate a few large arrays each (node blocks,
 * CSR, counters).  Fresh pages cost a fault and a kernel zeroing each, a
 * large share of a short task's overhead, so freed blocks of 256 KiB or
 * more are kept (up to TG_CACHE_MB, 256 MiB by default) and handed out
 * again, as scalable allocators do.  When a freed block does not fit,
 * the blocks cached longest ago make room for it: the sizes a program
 * uses now are the ones it will ask for next, so a cache full of an
 * earlier workload's sizes does not turn the current one away.
 * tg_memory_trim() returns them to the system.  Builds with
 * AddressSanitizer keep no cache, so that reuse never hides a use after
 * free.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_internal.h"
#include "value_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define NO_CACHE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_CACHE 1
#endif
#endif

#define HEADER 64 /* keeps the payload cache-aligned */
#define MIN_CACHED ((size_t)256 << 10)
#define N_CLASSES (4 * 64)

/* Each block starts with this header; the caller's pointer follows.
 * A cached block is on two lists: its size class's (newest first) and
 * the age list of every cached block (newest at the head). */
typedef struct block {
    struct block *next, *prev; /* in its class's list */
    struct block *newer, *older;
    size_t cls;  /* size class */
    size_t size; /* usable bytes */
} block;

_Static_assert(sizeof(block) <= HEADER, "the block header fits");

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static block *lists[N_CLASSES];     /* guarded by lock */
static block *newest, *oldest;      /* guarded by lock */
static size_t cached_bytes;         /* guarded by lock */
static size_t cap_bytes = SIZE_MAX; /* SIZE_MAX: read TG_CACHE_MB first */

/* Size classes: four per power of two, so a block is at most 25% larger
 * than asked.  Returns the class and rounds *n up to its size. */
static size_t class_of(size_t *n)
{
    size_t x = *n < 64 ? 64 : *n;
    size_t k = (size_t)(63 - __builtin_clzll((unsigned long long)x));
    size_t step = ((size_t)1 << k) / 4;
    size_t rounded = (x + step - 1) & ~(step - 1);
    if (rounded >> k >= 2) /* rounded into the next power */
        k++;
    size_t q = (rounded >> (k - 2)) & 3;
    *n = rounded;
    return k * 4 + q;
}

static size_t cache_cap(void)
{
    if (cap_bytes == SIZE_MAX) {
#ifdef NO_CACHE
        cap_bytes = 0;
#else
        const char *s = getenv("TG_CACHE_MB");
        long mb = s && *s ? strtol(s, NULL, 10) : 256;
        cap_bytes = mb > 0 ? (size_t)mb << 20 : 0;
#endif
    }
    return cap_bytes;
}

size_t tg__big_cache_cap(size_t bytes)
{
    pthread_mutex_lock(&lock);
    size_t old = cache_cap();
#ifndef NO_CACHE
    cap_bytes = bytes;
#endif
    pthread_mutex_unlock(&lock);
    return old;
}

/* Takes b off both lists.  Lock held. */
static void unlink_block(block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        lists[b->cls] = b->next;
    if (b->next)
        b->next->prev = b->prev;
    if (b->newer)
        b->newer->older = b->older;
    else
        newest = b->older;
    if (b->older)
        b->older->newer = b->newer;
    else
        oldest = b->newer;
    cached_bytes -= b->size;
}

/* Puts b at the head of both lists.  Lock held. */
static void link_block(block *b)
{
    b->prev = NULL;
    b->next = lists[b->cls];
    if (b->next)
        b->next->prev = b;
    lists[b->cls] = b;
    b->newer = NULL;
    b->older = newest;
    if (newest)
        newest->newer = b;
    else
        oldest = b;
    newest = b;
    cached_bytes += b->size;
}

/* Takes the largest cached block of at least n and at most max bytes;
 * NULL when there is none, or, with *failed set, when a failure is
 * injected. */
static block *take_cached(size_t n, size_t max, bool *failed)
{
    size_t lo = class_of(&n), hi = class_of(&max);
    block *b = NULL;
    pthread_mutex_lock(&lock);
    for (size_t c = hi + 1; c-- > lo && !b;)
        if ((b = lists[c]))
            unlink_block(b);
    pthread_mutex_unlock(&lock);
    if (b && TG_UNLIKELY(tg__oom_hit())) { /* injected: give it back */
        tg__big_free((char *)b + HEADER);
        *failed = true;
        return NULL;
    }
    return b;
}

/* A block of at least n bytes, preferring the largest cached one of up
 * to max bytes. */
static void *big_alloc_upto(size_t n, size_t max)
{
    size_t size = n, cls = class_of(&size);
    bool failed = false;
    block *b = size >= MIN_CACHED
                   ? take_cached(size, max > size ? max : size, &failed)
                   : NULL;
    if (failed)
        return tg__seterr_null(TG_ENOMEM,
                               "out of memory (allocating %zu bytes)", n);
    if (b)
        return (char *)b + HEADER;
    b = tg__malloc(HEADER + size);
    if (!b)
        return NULL;
    b->cls = cls;
    b->size = size;
    return (char *)b + HEADER;
}

void *tg__big_alloc(size_t n)
{
    return big_alloc_upto(n, n);
}

void *tg__big_calloc(size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - HEADER) / size)
        return tg__seterr_null(TG_ENOMEM, "out of memory (%zu x %zu)", count,
                               size);
    void *p = tg__big_alloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *tg__big_grow(void *p, size_t n, size_t max, size_t *size)
{
    block *old = p ? (block *)((char *)p - HEADER) : NULL;
    if (old && n <= old->size) {
        *size = old->size;
        return p;
    }
    void *q = big_alloc_upto(n, max);
    if (!q)
        return NULL;
    if (old) {
        memcpy(q, p, old->size);
        tg__big_free(p);
    }
    *size = ((block *)((char *)q - HEADER))->size;
    return q;
}

void *tg__big_realloc(void *p, size_t n)
{
    size_t size;
    return tg__big_grow(p, n, n, &size);
}

void tg__big_free(void *p)
{
    if (!p)
        return;
    block *b = (block *)((char *)p - HEADER), *evicted = NULL;
    if (b->size >= MIN_CACHED) {
        pthread_mutex_lock(&lock);
        size_t cap = cache_cap();
        if (b->size <= cap) {
            while (cached_bytes + b->size > cap) { /* oldest first */
                block *o = oldest;
                unlink_block(o);
                o->next = evicted;
                evicted = o;
            }
            link_block(b);
            b = NULL;
        }
        pthread_mutex_unlock(&lock);
    }
    tg__free(b);
    while (evicted) { /* freed outside the lock */
        block *next = evicted->next;
        tg__free(evicted);
        evicted = next;
    }
}

void tg_memory_trim(void)
{
    tg__value_cache_drain();
    pthread_mutex_lock(&lock);
    block *b = newest;
    newest = oldest = NULL;
    memset(lists, 0, sizeof lists);
    cached_bytes = 0;
    pthread_mutex_unlock(&lock);
    while (b) {
        block *older = b->older;
        tg__free(b);
        b = older;
    }
}

size_t tg_memory_cached(void)
{
    pthread_mutex_lock(&lock);
    size_t n = cached_bytes;
    pthread_mutex_unlock(&lock);
    return n;
}
