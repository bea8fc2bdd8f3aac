/* tests/test_map.c - the runtime hash map (runtime/map_internal.h). */
#include "runtime/map_internal.h"
#include "test_util.h"

/* Entries are keys held in a caller array; the map stores indices. */
typedef struct keys {
    uint64_t *k;
    uint64_t (*hash)(uint64_t);
} keys;

static uint64_t good_hash(uint64_t k)
{
    return k * 0x9E3779B97F4A7C15ull ^ (k >> 7);
}

/* Every key collides: probes must compare entries, not trust tags. */
static uint64_t bad_hash(uint64_t k)
{
    (void)k;
    return 0x1234567800000005ull;
}

static uint64_t hash_of(void *ud, uint32_t i)
{
    keys *ks = ud;
    return ks->hash(ks->k[i]);
}

/* Finds key among ks, inserting it as index `n` when absent. */
static uint32_t find_or_add(tg__map *m, keys *ks, uint64_t key, uint32_t n)
{
    assert_int_equal(tg__map_reserve(m, 1, hash_of, ks), 0);
    tg__map_probe p = tg__map_begin(m, ks->hash(key));
    for (uint32_t i; (i = tg__map_next(m, &p)) != TG__MAP_NONE;)
        if (ks->k[i] == key)
            return i;
    ks->k[n] = key;
    tg__map_insert(m, &p, n);
    return n;
}

static void check_many(uint64_t (*hash)(uint64_t), uint32_t n)
{
    keys ks = {malloc(n * sizeof(uint64_t)), hash};
    tg__map m;
    assert_int_equal(tg__map_init(&m, 0), 0);
    uint32_t added = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t got = find_or_add(&m, &ks, 1000 + i / 2, added);
        if (got == added)
            added++;
        assert_int_equal(ks.k[got], 1000 + i / 2);
    }
    assert_int_equal(m.n, (n + 1) / 2);
    assert_true(m.n * 4 <= m.cap * 3);
    for (uint32_t i = 0; i < added; i++) /* every key found again */
        assert_int_equal(find_or_add(&m, &ks, ks.k[i], added), i);
    tg__map_close(&m);
    free(ks.k);
}

static void test_map_finds_what_it_stored_across_growth(void **state)
{
    (void)state;
    check_many(good_hash, 100000);
}

static void test_map_compares_entries_when_every_hash_collides(void **state)
{
    (void)state;
    check_many(bad_hash, 600);
}

static void test_map_clear_forgets_and_init_presizes(void **state)
{
    (void)state;
    uint64_t store[64];
    keys ks = {store, good_hash};
    tg__map m;
    assert_int_equal(tg__map_init(&m, 48), 0);
    size_t cap = m.cap;
    for (uint32_t i = 0; i < 48; i++)
        assert_int_equal(find_or_add(&m, &ks, i, i), i);
    assert_int_equal(m.cap, cap); /* sized for 48 up front */
    tg__map_clear(&m);
    assert_int_equal(m.n, 0);
    tg__map_probe p = tg__map_begin(&m, good_hash(3));
    assert_int_equal(tg__map_next(&m, &p), TG__MAP_NONE);
    tg__map_close(&m);
    assert_int_equal(m.cap, 0);
}

static void test_map_reserve_fails_cleanly_out_of_memory(void **state)
{
    (void)state;
    uint64_t store[40];
    keys ks = {store, good_hash};
    tg__map m;
    assert_int_equal(tg__map_init(&m, 0), 0);
    for (uint32_t i = 0; i < 12; i++)
        find_or_add(&m, &ks, i, i);
    tg__oom_inject(0, true);
    int rc = tg__map_reserve(&m, 100, hash_of, &ks);
    tg__oom_inject(-1, false);
    assert_int_equal(rc, TG_ENOMEM);
    for (uint32_t i = 0; i < 12; i++) /* unchanged */
        assert_int_equal(find_or_add(&m, &ks, i, 12), i);
    tg__map_close(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_finds_what_it_stored_across_growth),
        cmocka_unit_test(test_map_compares_entries_when_every_hash_collides),
        cmocka_unit_test(test_map_clear_forgets_and_init_presizes),
        cmocka_unit_test(test_map_reserve_fails_cleanly_out_of_memory),
    };
    return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
