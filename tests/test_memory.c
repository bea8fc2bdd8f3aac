/* tests/test_memory.c - intermediates are freed as soon as their last
 * consumer has run: 2,000 leaves of 1 MiB reduced pairwise peak far
 * below the 2 GiB they would take if kept. */
#include "test_util.h"

#define MIB (1u << 20)

/* A 1 MiB bytes value filled with its index's low byte. */
static tg_value *leaf(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    char *buf = malloc(MIB);
    if (!buf)
        return tg_error("out of memory");
    memset(buf, (int)(tg_as_int(a[0]) & 0xff), MIB);
    tg_value *v = tg_bytes(buf, MIB);
    free(buf);
    return v;
}

/* Byte-wise sum of two 1 MiB values: another 1 MiB value. */
static tg_value *combine(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    size_t la, lb;
    const unsigned char *x = tg_as_bytes(a[0], &la),
                        *y = tg_as_bytes(a[1], &lb);
    if (la != MIB || lb != MIB)
        return tg_error("combine: bad sizes");
    unsigned char *buf = malloc(MIB);
    if (!buf)
        return tg_error("out of memory");
    for (size_t i = 0; i < MIB; i++)
        buf[i] = (unsigned char)(x[i] + y[i]);
    tg_value *v = tg_bytes(buf, MIB);
    free(buf);
    return v;
}

static void test_memory_pairwise_reduction_stays_small(void **state)
{
    (void)state;
    size_t n = tt_scale(2000, 64);
    tg_graph *g = tg_graph_new();
    tg_value **v = malloc(n * sizeof *v);
    unsigned char want = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = TG_DELAYED(g, leaf, tg_int((int64_t)i));
        want = (unsigned char)(want + (i & 0xff));
    }
    for (size_t m = n; m > 1;) { /* pairwise levels */
        size_t k = 0;
        for (size_t i = 0; i + 1 < m; i += 2)
            v[k++] = TG_DELAYED(g, combine, v[i], v[i + 1]);
        if (m % 2)
            v[k++] = v[m - 1];
        m = k;
    }
    long before = tt_peak_rss_kib();
    tg_value *r = tg_compute(v[0], NULL);
    long peak = tt_peak_rss_kib();
    size_t len;
    const unsigned char *p = tg_as_bytes(r, &len);
    assert_int_equal(len, MIB);
    assert_int_equal(p[0], want);
    assert_int_equal(p[MIB - 1], want);
    if (tt_check_rss()) {
        printf("peak RSS %ld MiB (before compute %ld MiB)\n", peak / 1024,
               before / 1024);
        assert_true(peak < 150 * 1024);
    }
    tg_decref(r);
    free(v);
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_pairwise_reduction_stays_small),
    };
    return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
