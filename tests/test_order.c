/* tests/test_order.c - key comparison and the stable row sort
 * (dataframe/order_internal.h): stability, several keys, directions,
 * nulls first or last, NaN, strings, and out of memory. */
#include "dataframe/order_internal.h"
#include "test_util.h"

/* A column with nulls where valid[i] is 0 (NULL: no nulls). */
static tg__keyview ints(const int64_t *v, const uint8_t *bits)
{
    return (tg__keyview){TG_DT_INT64, v, bits, NULL};
}

/* The validity bitmap of n flags (1 = present), into out. */
static const uint8_t *bitmap(const int *present, size_t n, uint8_t *out)
{
    memset(out, 0, (n + 7) / 8);
    for (size_t i = 0; i < n; i++)
        if (present[i])
            out[i / 8] |= (uint8_t)(1u << (i % 8));
    return out;
}

static void assert_order(const uint32_t *idx, const uint32_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (idx[i] != want[i])
            fail_msg("position %zu: row %u, wanted row %u", i, idx[i], want[i]);
}

static void test_order_equal_rows_keep_input_order(void **state)
{
    (void)state;
    /* 40 rows (past one insertion run) with 3 distinct values. */
    int64_t v[40];
    for (int i = 0; i < 40; i++)
        v[i] = (i * 7) % 3;
    tg__sortkey k = {ints(v, NULL), false, false, false};
    uint32_t *idx = tg__order_rows(&k, 1, 40);
    assert_non_null(idx);
    size_t at = 0;
    for (int64_t want = 0; want < 3; want++)
        for (uint32_t i = 0; i < 40; i++)
            if (v[i] == want)
                assert_int_equal(idx[at++], i);
    tg__free(idx);
}

static void test_order_several_keys_and_directions(void **state)
{
    (void)state;
    int64_t a[] = {2, 1, 2, 1, 2, 1};
    double b[] = {0.5, 3.0, -1.0, 3.0, 0.5, -2.0};
    tg__sortkey k[] = {{ints(a, NULL), true, false, false},
                       {{TG_DT_FLOAT64, b, NULL, NULL}, false, false, false}};
    uint32_t *idx = tg__order_rows(k, 2, 6);
    /* a descending, then b ascending, ties (rows 0/4, 1/3) stable. */
    assert_order(idx, (const uint32_t[]){2, 0, 4, 5, 1, 3}, 6);
    tg__free(idx);
}

static void test_order_nulls_last_or_first_in_both_directions(void **state)
{
    (void)state;
    int64_t v[] = {3, 0, 1, 0, 2};
    uint8_t bits[1];
    const uint8_t *valid = bitmap((const int[]){1, 0, 1, 0, 1}, 5, bits);
    tg__sortkey k = {ints(v, valid), false, false, false};
    uint32_t *idx = tg__order_rows(&k, 1, 5);
    assert_order(idx, (const uint32_t[]){2, 4, 0, 1, 3}, 5);
    tg__free(idx);
    k.nulls_first = true;
    idx = tg__order_rows(&k, 1, 5);
    assert_order(idx, (const uint32_t[]){1, 3, 2, 4, 0}, 5);
    tg__free(idx);
    k.descending = true;
    idx = tg__order_rows(&k, 1, 5);
    assert_order(idx, (const uint32_t[]){1, 3, 0, 4, 2}, 5);
    tg__free(idx);
    k.nulls_first = false;
    idx = tg__order_rows(&k, 1, 5);
    assert_order(idx, (const uint32_t[]){0, 4, 2, 1, 3}, 5);
    tg__free(idx);
}

/* NaN sorts after every number in either direction, before nulls
 * (nulls last) - the rule groupby results have always followed. */
static void test_order_nan_after_numbers_before_nulls(void **state)
{
    (void)state;
    double v[] = {NAN, 1.0, 0.0, -INFINITY, NAN, 2.0};
    uint8_t bits[1];
    const uint8_t *valid = bitmap((const int[]){1, 1, 0, 1, 1, 1}, 6, bits);
    tg__sortkey k = {{TG_DT_FLOAT64, v, valid, NULL}, false, false, false};
    uint32_t *idx = tg__order_rows(&k, 1, 6);
    assert_order(idx, (const uint32_t[]){3, 1, 5, 0, 4, 2}, 6);
    tg__free(idx);
    k.descending = true;
    idx = tg__order_rows(&k, 1, 6);
    assert_order(idx, (const uint32_t[]){5, 1, 3, 0, 4, 2}, 6);
    tg__free(idx);
    /* Equality and hashing treat every NaN, and -0.0 and 0.0, alike. */
    double w[] = {NAN, -NAN, -0.0, 0.0};
    tg__keyview kv = {TG_DT_FLOAT64, w, NULL, NULL};
    assert_true(tg__key_eq(&kv, 0, &kv, 1));
    assert_true(tg__key_eq(&kv, 2, &kv, 3));
    assert_true(tg__key_hash(&kv, 0) == tg__key_hash(&kv, 1));
    assert_true(tg__key_hash(&kv, 2) == tg__key_hash(&kv, 3));
    assert_int_equal(tg__key_cmp(&kv, 2, &kv, 3), 0);
}

/* With nan_is_null (sort_values), a NaN is a null: it goes where the
 * nulls go, first or last, and keeps its input order among them. */
static void test_order_nan_sorts_with_nulls_when_asked(void **state)
{
    (void)state;
    double v[] = {NAN, 1.0, 0.0, -INFINITY, NAN, 2.0};
    uint8_t bits[1];
    const uint8_t *valid = bitmap((const int[]){1, 1, 0, 1, 1, 1}, 6, bits);
    tg__sortkey k = {{TG_DT_FLOAT64, v, valid, NULL}, false, false, true};
    uint32_t *idx = tg__order_rows(&k, 1, 6);
    assert_order(idx, (const uint32_t[]){3, 1, 5, 0, 2, 4}, 6);
    tg__free(idx);
    k.descending = true;
    k.nulls_first = true;
    idx = tg__order_rows(&k, 1, 6);
    assert_order(idx, (const uint32_t[]){0, 2, 4, 5, 1, 3}, 6);
    tg__free(idx);
    /* The two-view comparison agrees: NaN of one equals null of another. */
    tg__keyview a = {TG_DT_FLOAT64, v, valid, NULL};
    assert_int_equal(tg__sortkey_cmp(&k, &a, 0, &a, 2), 0);
    assert_true(tg__sortkey_cmp(&k, &a, 4, &a, 5) < 0); /* first */
}

/* The top n of a column with many ties are the first n rows of the
 * full stable order, for limits below and above the sort threshold. */
static void test_order_top_matches_the_stable_sort(void **state)
{
    (void)state;
    size_t n = 1000;
    int64_t *v = malloc(n * sizeof *v);
    uint8_t bits[125];
    int present[1000];
    for (size_t i = 0; i < n; i++) {
        v[i] = (int64_t)((i * 7919) % 13);
        present[i] = i % 17 != 0;
    }
    tg__sortkey k = {ints(v, bitmap(present, n, bits)), true, false, false};
    uint32_t *all = tg__order_rows(&k, 1, n);
    size_t limits[] = {0, 1, 5, 100, 124, 126, 999, 1000, 2000};
    for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
        uint32_t *top = tg__order_top(&k, 1, n, limits[l]);
        assert_non_null(top);
        assert_order(top, all, limits[l] < n ? limits[l] : n);
        tg__free(top);
    }
    tg__free(all);
    free(v);
}

static void test_order_strings_by_bytes(void **state)
{
    (void)state;
    const char bytes[] = "bababc";
    int64_t off[] = {0, 1, 2, 2, 4, 6}; /* "b" "a" "" "ba" "bc" */
    tg__sortkey k = {{TG_DT_STRING, off, NULL, bytes}, false, false, false};
    uint32_t *idx = tg__order_rows(&k, 1, 5);
    assert_order(idx, (const uint32_t[]){2, 1, 0, 3, 4}, 5);
    tg__free(idx);
    /* Past 8 bytes, at a zero byte, and bytes above 0x7f: the order of
     * memcmp then length, whatever shortcut the sort takes.  Rows:
     * "key_0001x" "key_0001" "key_0001\0" "ab\0" "ab" "\xff" "key_0001x"
     * (equal to row 0: stays after it) "key_0000zzz". */
    const char b2[] = "key_0001xkey_0001key_0001\0ab\0ab\xffkey_0001x"
                      "key_0000zzz";
    int64_t o2[] = {0, 9, 17, 26, 29, 31, 32, 41, 52};
    tg__sortkey k2 = {{TG_DT_STRING, o2, NULL, b2}, false, false, false};
    idx = tg__order_rows(&k2, 1, 8);
    assert_order(idx, (const uint32_t[]){4, 3, 7, 1, 2, 0, 6, 5}, 8);
    tg__free(idx);
    k2.descending = true;
    idx = tg__order_top(&k2, 1, 8, 3);
    assert_order(idx, (const uint32_t[]){5, 0, 6}, 3);
    tg__free(idx);
}

/* The comparator's context is an argument: a sort by a permutation's
 * rank, checked against the permutation, over many merge passes. */
static int by_rank(const void *ctx, uint32_t i, uint32_t j)
{
    const uint32_t *rank = ctx;
    return (rank[i] > rank[j]) - (rank[i] < rank[j]);
}

static void test_order_context_comparator_many_rows(void **state)
{
    (void)state;
    size_t n = 10007;
    uint32_t *rank = malloc(n * sizeof *rank), *idx = malloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++)
        rank[i] = (uint32_t)((i * 7919) % n), idx[i] = (uint32_t)i;
    assert_int_equal(tg__stable_sort(idx, n, by_rank, rank), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rank[idx[i]], i);
    free(rank);
    free(idx);
}

/* Rows i and j by every key in turn, through tg__sortkey_cmp: the rules
 * every sort path must agree with. */
static int ref_cmp(const tg__sortkey *keys, size_t nk, uint32_t i, uint32_t j)
{
    for (size_t k = 0; k < nk; k++) {
        int r = tg__sortkey_cmp(&keys[k], &keys[k].key, i, &keys[k].key, j);
        if (r)
            return r;
    }
    return 0;
}

/* Rows of every key
 * type with nulls, NaN, -0.0, ties, strings of 0 to 8 bytes (and one
 * of 9, which falls back to the comparator), in both directions and
 * null placements: the order is exactly a stable insertion sort's by
 * tg__sortkey_cmp. */
static void test_order_normalised_keys_match_the_comparator(void **state)
{
    (void)state;
    enum { MAX = 600 };
    static int64_t iv[MAX], off[MAX + 1];
    static double fv[MAX];
    static uint8_t bv[MAX], ib[MAX / 8 + 1], fb[MAX / 8 + 1], sb[MAX / 8 + 1];
    static char bytes[MAX * 9 + 16];
    static uint32_t want[MAX];
    const double fl[] = {-0.0, 0.0, 1.5, -2.25, NAN, 1e300, -1e300, 7};
    uint64_t r = 88172645463325252ull;
    int present[3][MAX];
    for (int pass = 0; pass < 4; pass++) { /* merge sort, radix sort */
        size_t N = pass & 1 ? MAX : 100;
        int long_str = pass >> 1;
        size_t at = 0;
        for (size_t i = 0; i < N; i++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            iv[i] = (int64_t)(r % 7) - 3 + (r % 97 == 0 ? INT64_MIN / 2 : 0);
            fv[i] = fl[(r >> 8) % 8];
            bv[i] = (r >> 12) & 1;
            size_t len = (r >> 16) % 4 == 0 ? 0 : (r >> 20) % 9;
            if (long_str && i == N / 2)
                len = 9;
            off[i] = (int64_t)at;
            for (size_t c = 0; c < len; c++)
                bytes[at++] = (char)("ab\0z"[(r >> (24 + 2 * c)) % 4]);
            for (int k = 0; k < 3; k++)
                present[k][i] = (r >> (40 + k)) % 9 != 0;
        }
        off[N] = (int64_t)at;
        tg__keyview cols[4] = {
            {TG_DT_INT64, iv, bitmap(present[0], N, ib), NULL},
            {TG_DT_FLOAT64, fv, bitmap(present[1], N, fb), NULL},
            {TG_DT_BOOL, bv, NULL, NULL},
            {TG_DT_STRING, off, bitmap(present[2], N, sb), bytes}};
        const int combos[][3] = {{3, 1, -1}, {1, 0, -1},  {0, 3, 2},
                                 {2, 1, 3},  {1, -1, -1}, {3, -1, -1}};
        for (size_t c = 0; c < sizeof combos / sizeof combos[0]; c++) {
            for (int flags = 0; flags < 8; flags++) {
                tg__sortkey keys[3];
                size_t nk = 0;
                for (int k = 0; k < 3 && combos[c][k] >= 0; k++)
                    keys[nk++] =
                        (tg__sortkey){cols[combos[c][k]], (flags >> k) & 1,
                                      (flags >> 1) & 1, flags & 4};
                for (size_t i = 0; i < N; i++) { /* the reference */
                    size_t j = i;
                    for (; j > 0
                           && ref_cmp(keys, nk, want[j - 1], (uint32_t)i) > 0;
                         j--)
                        want[j] = want[j - 1];
                    want[j] = (uint32_t)i;
                }
                uint32_t *idx = tg__order_rows(keys, nk, N);
                assert_non_null(idx);
                assert_order(idx, want, N);
                tg__free(idx);
            }
        }
    }
}

static void test_order_out_of_memory_is_clean(void **state)
{
    (void)state;
    int64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 100 - i;
    tg__sortkey k = {ints(v, NULL), false, false, false};
    tg__oom_inject(0, false);
    assert_null(tg__order_rows(&k, 1, 100));
    tg__oom_inject(1, false); /* the normalised keys */
    assert_null(tg__order_rows(&k, 1, 100));
    tg__oom_inject(2, false); /* the scratch array */
    assert_null(tg__order_rows(&k, 1, 100));
    tg__oom_inject(-1, false);
    uint32_t *idx = tg__order_rows(&k, 1, 100);
    assert_int_equal(idx[0], 99);
    tg__free(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_equal_rows_keep_input_order),
        cmocka_unit_test(test_order_several_keys_and_directions),
        cmocka_unit_test(test_order_nulls_last_or_first_in_both_directions),
        cmocka_unit_test(test_order_nan_after_numbers_before_nulls),
        cmocka_unit_test(test_order_nan_sorts_with_nulls_when_asked),
        cmocka_unit_test(test_order_top_matches_the_stable_sort),
        cmocka_unit_test(test_order_strings_by_bytes),
        cmocka_unit_test(test_order_context_comparator_many_rows),
        cmocka_unit_test(test_order_normalised_keys_match_the_comparator),
        cmocka_unit_test(test_order_out_of_memory_is_clean),
    };
    return cmocka_run_group_tests_name("order", tests, NULL, NULL);
}
