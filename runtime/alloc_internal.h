/* runtime/alloc_internal.h - the one allocator and the assertion macros.
 *
 * Every allocation in the library goes through tg__malloc and friends so
 * that tests can make the n-th allocation fail (tg__oom_inject) and check
 * that every allocating call fails cleanly.
 */
#ifndef TG_RUNTIME_ALLOC_INTERNAL_H
#define TG_RUNTIME_ALLOC_INTERNAL_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "taskgraph/common.h"

/* Defensive branches for states that cannot happen (SQLite's ALWAYS and
 * NEVER): asserted in debug builds, kept as a safe fallback otherwise. */
#ifdef NDEBUG
#define TG_ALWAYS(x) (x)
#define TG_NEVER(x) (x)
#else
#define TG_ALWAYS(x) ((x) ? 1 : (assert(0), 0))
#define TG_NEVER(x) ((x) ? (assert(0), 1) : 0)
#endif

#define TG_LIKELY(x) __builtin_expect(!!(x), 1)
#define TG_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Allocations that fail return NULL and record TG_ENOMEM in
 * tg_last_error().  tg__free(NULL) does nothing. */
void *tg__malloc(size_t n);
void *tg__calloc(size_t count, size_t size);
void *tg__realloc(void *p, size_t n);
void tg__free(void *p);
char *tg__strdup(const char *s);
char *tg__strndup(const char *s, size_t n);

/* Large arrays (graph blocks, plans, per-run counters) come from here:
 * freed blocks are cached and reused (runtime/bigalloc.c).  A block from
 * tg__big_* must be released with tg__big_free, never tg__free. */
void *tg__big_alloc(size_t n);
void *tg__big_calloc(size_t count, size_t size);
void *tg__big_realloc(void *p, size_t n);
void tg__big_free(void *p);
/* tg__big_realloc for an array that keeps growing: when the cache holds
 * a block of up to max bytes, takes the largest, so that the array stops
 * being copied at every doubling (a graph like the last one built fits
 * at once).  Sets *size to the usable bytes, at least n. */
void *tg__big_grow(void *p, size_t n, size_t max, size_t *size);
/* Sets the cache's cap in bytes (as TG_CACHE_MB does) and returns the
 * previous one; blocks already cached stay until freed blocks push them
 * out.  For tests.  No effect in builds without a cache. */
size_t tg__big_cache_cap(size_t bytes);

/* Test hook: the allocation `after` allocations from now fails, and so
 * do all later ones while `sticky`; -1 turns injection off.  Counts every
 * thread's allocations.  For the test suite (linked statically). */
void tg__oom_inject(long after, bool sticky);
/* Number of allocations that failed by injection since the last call. */
long tg__oom_failures(void);

extern atomic_long tg__oom_countdown; /* < 0: injection off */
bool tg__oom_hit(void);

/* Records code and a printf-style detail as this thread's last error and
 * returns code, so that callers can `return tg__seterr(TG_EINVAL, ...)`. */
int tg__seterr(int code, const char *fmt, ...) TG_PRINTF(2, 3);
/* Same, returning NULL, for pointer-returning calls. */
void *tg__seterr_null(int code, const char *fmt, ...) TG_PRINTF(2, 3);
/* The code of this thread's last error, for a caller of a function that
 * returned NULL and must pass its code on; `otherwise` when the last
 * error set on this thread is no error code (none was set). */
int tg__last_code(int otherwise);

#endif /* TG_RUNTIME_ALLOC_INTERNAL_H */
