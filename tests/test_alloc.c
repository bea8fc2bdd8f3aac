/* tests/test_alloc.c - the large-block cache: blocks freed by graphs and
 * plans are kept for reuse, within the cap, and tg_memory_trim() gives
 * them back, with the thread's cache of dead values. */
#include <pthread.h>

#include "runtime/alloc_internal.h"
#include "runtime/value_internal.h"
#include "test_util.h"

/* The cache is off under AddressSanitizer (runtime/bigalloc.c): gcc
 * says so with __SANITIZE_ADDRESS__, clang with __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_CACHE 0
#endif
#endif
#ifndef HAVE_CACHE
#define HAVE_CACHE 1
#endif

static void compute_big_graph(void)
{
    tg_graph *g = tg_graph_new();
    size_t n = 200000;
    tg_value **v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = tg_delayed(g, "inc", tt_inc, 1, tg_int((int64_t)i));
    tg_value *r = tg_compute(tt_tree_sum(g, v, n, 8), NULL);
    assert_int_equal(tg_as_int(r), (int64_t)(n * (n + 1) / 2));
    tg_decref(r);
    tg_graph_free(g);
    free(v);
}

static void test_alloc_freed_graph_blocks_are_cached_and_trimmed(void **state)
{
    (void)state;
    tg_memory_trim();
    assert_int_equal(tg_memory_cached(), 0);
    compute_big_graph();
    size_t kept = tg_memory_cached();
    if (HAVE_CACHE) {
        assert_true(kept > (1u << 20));
        compute_big_graph(); /* reuses: the cache does not keep growing */
        assert_true(tg_memory_cached() <= kept + kept / 2);
    } else {
        assert_int_equal(kept, 0);
    }
    tg_memory_trim();
    assert_int_equal(tg_memory_cached(), 0);
}

static void test_alloc_big_blocks_round_trip(void **state)
{
    (void)state;
    for (size_t size = 1; size < ((size_t)64 << 20); size = size * 3 + 1) {
        unsigned char *p = tg__big_alloc(size);
        assert_non_null(p);
        memset(p, 0xab, size);
        p = tg__big_realloc(p, size * 2);
        assert_non_null(p);
        assert_int_equal(p[size - 1], 0xab);
        tg__big_free(p);
        unsigned char *z = tg__big_calloc(size, 1);
        assert_int_equal(z[0] | z[size - 1], 0); /* zeroed even if reused */
        tg__big_free(z);
    }
    tg__big_free(NULL);
    tg_memory_trim();
}

/* A growing array takes the largest cached block within its limit, and
 * keeps its contents; without one it grows to what it asked for. */
static void test_alloc_big_grow_takes_the_largest_cached_block(void **state)
{
    (void)state;
    tg_memory_trim();
    size_t mb = (size_t)1 << 20, got = 0;
    tg__big_free(tg__big_alloc(8 * mb));
    tg__big_free(tg__big_alloc(64 * mb)); /* beyond the limit below */
    unsigned char *p = tg__big_grow(NULL, 300 << 10, 16 * mb, &got);
    assert_non_null(p);
    assert_true(got >= (size_t)300 << 10);
    if (HAVE_CACHE)
        assert_int_equal(got, 8 * mb);
    memset(p, 0x5a, 300 << 10);
    size_t had = got;
    p = tg__big_grow(p, had, 16 * mb, &got); /* fits: unchanged */
    assert_int_equal(got, had);
    p = tg__big_grow(p, had + 1, had + 1, &got); /* nothing cached fits */
    assert_non_null(p);
    assert_true(got >= had + 1);
    assert_int_equal(p[0], 0x5a);
    assert_int_equal(p[(300 << 10) - 1], 0x5a);
    tg__big_free(p);
    tg_memory_trim();
}

/* A full cache makes room for a freed block by dropping the blocks it
 * has held longest, so the sizes in use now are the ones kept; a block
 * larger than the whole cap is not kept at all. */
static void
test_alloc_full_cache_drops_its_oldest_blocks_for_new_ones(void **state)
{
    (void)state;
    if (!HAVE_CACHE)
        skip();
    tg_memory_trim();
    size_t mb = (size_t)1 << 20, old = tg__big_cache_cap(4 * mb);
    void *a[3], *b[2];
    for (int i = 0; i < 3; i++)
        a[i] = tg__big_alloc(mb);
    for (int i = 0; i < 2; i++)
        b[i] = tg__big_alloc(mb + mb / 4);
    for (int i = 0; i < 3; i++)
        tg__big_free(a[i]);
    assert_int_equal(tg_memory_cached(), 3 * mb);
    tg__big_free(b[0]); /* 4.25 MiB: a[0] goes */
    assert_int_equal(tg_memory_cached(), 2 * mb + mb + mb / 4);
    tg__big_free(b[1]); /* 4.5 MiB: a[1] goes */
    assert_int_equal(tg_memory_cached(), mb + 2 * (mb + mb / 4));
    /* What is kept comes back: both new blocks, and the newest old one. */
    void *x = tg__big_alloc(mb + mb / 4), *y = tg__big_alloc(mb + mb / 4);
    assert_true((x == b[0] && y == b[1]) || (x == b[1] && y == b[0]));
    void *z = tg__big_alloc(mb);
    assert_ptr_equal(z, a[2]);
    assert_int_equal(tg_memory_cached(), 0);
    tg__big_free(x);
    tg__big_free(y);
    tg__big_free(z);
    void *huge = tg__big_alloc(5 * mb);
    tg__big_free(huge); /* over the cap: everything else stays */
    assert_int_equal(tg_memory_cached(), 2 * (mb + mb / 4) + mb);
    tg_memory_trim();
    assert_int_equal(tg_memory_cached(), 0);
    tg__big_cache_cap(old);
}

static void test_alloc_big_calloc_overflow_fails(void **state)
{
    (void)state;
    assert_null(tg__big_calloc(SIZE_MAX / 2, 4));
    assert_non_null(strstr(tg_last_error(), "out of memory"));
}

/* A thread that frees values others made (a worker's loop frees its
 * tasks' results) keeps them for its own next ones, up to a bound; the
 * trim hands them back to malloc. */
static void *make_values(void *arg)
{
    tg_value **v = arg;
    for (int i = 0; i < 5000; i++)
        v[i] = tg_int(i);
    return NULL;
}

static void test_alloc_trim_frees_the_values_a_thread_kept(void **state)
{
    (void)state;
    tg_memory_trim();
    assert_int_equal(tg__value_cached(), 0);
    tg_value **v = malloc(5000 * sizeof *v);
    pthread_t th;
    pthread_create(&th, NULL, make_values, v);
    pthread_join(th, NULL);
    for (int i = 0; i < 5000; i++)
        tg_decref(v[i]);
    free(v);
    assert_int_equal(tg__value_cached(), HAVE_CACHE ? 5000 : 0);
    tg_memory_trim();
    assert_int_equal(tg__value_cached(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_freed_graph_blocks_are_cached_and_trimmed),
        cmocka_unit_test(test_alloc_big_blocks_round_trip),
        cmocka_unit_test(test_alloc_big_grow_takes_the_largest_cached_block),
        cmocka_unit_test(
            test_alloc_full_cache_drops_its_oldest_blocks_for_new_ones),
        cmocka_unit_test(test_alloc_big_calloc_overflow_fails),
        cmocka_unit_test(test_alloc_trim_frees_the_values_a_thread_kept),
    };
    return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
