/* runtime/alloc.c - the library's allocator with out-of-memory injection.
 *
 * Injection costs one relaxed atomic load per allocation while it is off.
 * See alloc_internal.h for the contract.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc_internal.h"

atomic_long tg__oom_countdown = -1;
static atomic_bool oom_sticky;
static atomic_long oom_failures;

void tg__oom_inject(long after, bool sticky)
{
    atomic_store(&oom_failures, 0);
    atomic_store(&oom_sticky, sticky);
    atomic_store(&tg__oom_countdown, after);
}

long tg__oom_failures(void)
{
    return atomic_exchange(&oom_failures, 0);
}

/* True when this allocation must fail.  The countdown reaches 0 at the
 * chosen allocation; sticky mode then leaves it at 0 so that every later
 * allocation fails too, otherwise injection turns itself off. */
bool tg__oom_hit(void)
{
    long c = atomic_load_explicit(&tg__oom_countdown, memory_order_relaxed);
    if (TG_LIKELY(c < 0))
        return false;
    bool sticky = atomic_load(&oom_sticky);
    if (c > 0) {
        c = atomic_fetch_sub(&tg__oom_countdown, 1);
        if (c != 0)
            return false;
    }
    if (!sticky)
        atomic_store(&tg__oom_countdown, -1);
    else
        atomic_store(&tg__oom_countdown, 0);
    atomic_fetch_add(&oom_failures, 1);
    return true;
}

static void *oom(size_t n)
{
    tg__seterr(TG_ENOMEM, "out of memory (allocating %zu bytes)", n);
    return NULL;
}

/* Large arrays (plans, graph side arrays) are touched once, in full,
 * right after allocation: asking for transparent huge pages turns 512
 * page faults into one.  A hint only; failure changes nothing. */
#define HUGE_MIN ((size_t)4 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

static void *huge_hint(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    if (p && n >= HUGE_MIN) {
        uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        uintptr_t b = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
        if (b > a)
            madvise((void *)a, b - a, MADV_HUGEPAGE);
    }
#endif
    return p;
}

void *tg__malloc(size_t n)
{
    if (TG_UNLIKELY(tg__oom_hit()))
        return oom(n);
    void *p = malloc(n ? n : 1);
    return p ? huge_hint(p, n) : oom(n);
}

void *tg__calloc(size_t count, size_t size)
{
    if (TG_UNLIKELY(tg__oom_hit()))
        return oom(count * size);
    if (size && count > SIZE_MAX / size)
        return oom(SIZE_MAX);
    void *p = calloc(count ? count : 1, size ? size : 1);
    return p ? huge_hint(p, count * size) : oom(count * size);
}

void *tg__realloc(void *p, size_t n)
{
    if (TG_UNLIKELY(tg__oom_hit()))
        return oom(n);
    void *q = realloc(p, n ? n : 1);
    return q ? huge_hint(q, n) : oom(n);
}

void tg__free(void *p)
{
    free(p);
}

char *tg__strndup(const char *s, size_t n)
{
    char *d = tg__malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *tg__strdup(const char *s)
{
    return tg__strndup(s, strlen(s));
}
