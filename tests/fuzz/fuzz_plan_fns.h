/* tests/fuzz/fuzz_plan_fns.h - the functions fuzzed plans call, shared by
 * fuzz_plan.c and make_corpus.c.  Each accepts any arguments. */
#ifndef TG_TESTS_FUZZ_PLAN_FNS_H
#define TG_TESTS_FUZZ_PLAN_FNS_H

#include <taskgraph.h>

/* The sum of its int arguments (others count as 0), wrapping. */
static tg_value *fz_sum(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (uint64_t)tg_as_int(a[i]);
    return tg_int((int64_t)s);
}

/* Its arguments as a list. */
static tg_value *fz_list(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    tg_value *items[16];
    size_t k = n < 16 ? n : 16;
    for (size_t i = 0; i < k; i++)
        items[i] = tg_incref(a[i]);
    return tg_list_from(k, items);
}

/* Fails when its first argument is a negative int. */
static tg_value *fz_check(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    if (n && tg_as_int(a[0]) < 0)
        return tg_error("negative");
    return n ? tg_incref(a[0]) : tg_null();
}

static int fz_register(void)
{
    return tg_register("fz.sum", fz_sum, NULL)
           | tg_register("fz.list", fz_list, NULL)
           | tg_register("fz.check", fz_check, NULL);
}

#endif /* TG_TESTS_FUZZ_PLAN_FNS_H */
