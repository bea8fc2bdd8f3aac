/* tests/test_util.h - small task functions and helpers shared by tests.
 *
 * Header-only (static functions) so each test stays one file.  Sizes of
 * large tests scale down under valgrind through TG_TEST_SCALE=quick.
 */
#ifndef TG_TESTS_TEST_UTIL_H
#define TG_TESTS_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <taskgraph.h>

/* A local cluster of two workers of one thread, for the tests that run
 * on the distributed scheduler too.  tt_start_cluster() must be the
 * first thing main does: the workers run this test binary again, and
 * tg_cluster_local turns into the worker loop there, before any test
 * runs (register test functions before it, too).  Stopped at exit. */
static tg_cluster *tt_cluster;

static inline void tt_stop_cluster(void)
{
    tg_cluster_close(tt_cluster);
    tt_cluster = NULL;
}

static inline void tt_start_cluster(void)
{
    /* verbose: a connection closed for a reason logs it on stderr, which
     * the test log keeps */
    tg_cluster_opts o = {.verbose = true};
    tt_cluster = tg_cluster_local(2, 1, &o);
    if (!tt_cluster) {
        fprintf(stderr, "cannot start a local cluster: %s\n", tg_last_error());
        exit(1);
    }
    atexit(tt_stop_cluster);
}

/* True when large tests should shrink (valgrind, sanitizers). */
static inline int tt_quick(void)
{
    const char *s = getenv("TG_TEST_SCALE");
    return s && strcmp(s, "quick") == 0;
}

/* full when running normally, quick under valgrind/sanitizers. */
static inline size_t tt_scale(size_t full, size_t quick)
{
    return tt_quick() ? quick : full;
}

/* False when peak-RSS assertions are meaningless (sanitizers, valgrind). */
static inline int tt_check_rss(void)
{
    return getenv("TG_TEST_NO_RSS") == NULL;
}

/* Peak resident set size of this process in KiB (VmHWM). */
static inline long tt_peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static inline tg_value *tt_inc(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_int(tg_as_int(a[0]) + 1);
}

static inline tg_value *tt_add(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return tg_int(tg_as_int(a[0]) + tg_as_int(a[1]));
}

/* Sum of any number of int arguments. */
static inline tg_value *tt_sum(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += tg_as_int(a[i]);
    return tg_int(s);
}

/* Fails with "boom" when its argument is negative, else returns it. */
static inline tg_value *tt_fail_neg(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    if (tg_as_int(a[0]) < 0)
        return tg_error("boom");
    return tg_int(tg_as_int(a[0]));
}

/* Counts its calls in *(int *)ctx (atomically), returns its argument. */
static inline tg_value *tt_count(tg_value *const *a, size_t n, void *ctx)
{
    (void)n;
    __atomic_fetch_add((int *)ctx, 1, __ATOMIC_RELAXED);
    return tg_incref(a[0]);
}

/* Reduces vals[0..n) with calls of tt_sum taking at most `fan` args,
 * level by level in place.  Returns the root. */
static inline tg_value *tt_tree_sum(tg_graph *g, tg_value **vals, size_t n,
                                    size_t fan)
{
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += fan) {
            size_t k = n - i < fan ? n - i : fan;
            vals[m++] = tg_delayed_v(g, "sum", tt_sum, NULL, 0, k, &vals[i]);
        }
        n = m;
    }
    return vals[0];
}

#endif /* TG_TESTS_TEST_UTIL_H */
