/* tests/dag_util.h - seeded random DAGs of registered calls, for the
 * schedulers that must give the same results and errors as sync.
 *
 * Calls are "<prefix>.mix0".."<prefix>.mix2" (any arguments, an int that
 * depends on all of them), "<prefix>.fail" (fails on a negative int) and,
 * when given, a "pack" function returning its arguments; arguments are
 * earlier calls, literals of every core type, delayed literals and lists
 * mixing them.  Header-only, like test_util.h.
 */
#ifndef TG_TESTS_DAG_UTIL_H
#define TG_TESTS_DAG_UTIL_H

#include "test_util.h"

static inline uint64_t td_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline tg_value *td_literal(uint64_t *s)
{
    switch (td_rand(s) % 6) {
    case 0: return tg_int((int64_t)(td_rand(s) % 1000) - 500);
    case 1: return tg_float((double)(td_rand(s) % 1000) / 7.0);
    case 2: return tg_str(td_rand(s) % 2 ? "abc" : "");
    case 3: return tg_bytes("\0\1\2\3", 1 + td_rand(s) % 4);
    case 4: return tg_bool(td_rand(s) % 2);
    default: return tg_null();
    }
}

static inline tg_value *td_arg(tg_graph *g, tg_value **nodes, size_t i,
                               uint64_t *s, bool allow_list)
{
    uint64_t r = td_rand(s) % 12;
    if (i > 0 && r < 6) {
        size_t back = 1 + td_rand(s) % (td_rand(s) % 2 ? 4 : i);
        return nodes[back > i ? 0 : i - back];
    }
    if (r == 6)
        return tg_delayed_value(g, td_literal(s));
    if (r < 10 || !allow_list)
        return td_literal(s);
    size_t k = 1 + td_rand(s) % 3;
    tg_value *items[3];
    for (size_t m = 0; m < k; m++)
        items[m] = td_arg(g, nodes, i, s, false);
    return tg_list_from(k, items);
}

/* A random DAG of up to 60 registered calls, maybe one failing; up to
 * four targets in out[]; returns how many. */
static inline size_t td_random_dag(tg_graph *g, const char *prefix,
                                   const char *pack, uint64_t seed,
                                   tg_value **out)
{
    uint64_t s = seed;
    size_t n = 1 + td_rand(&s) % 60;
    tg_value *nodes[60];
    size_t fail_at = td_rand(&s) % 6 == 0 ? td_rand(&s) % n : n;
    char name[64];
    for (size_t i = 0; i < n; i++) {
        if (i == fail_at) {
            snprintf(name, sizeof name, "%s.fail", prefix);
            nodes[i] =
                tg_delayed_registered(g, name, 1, tg_int(-1 - (int64_t)i));
            continue;
        }
        tg_value *args[5];
        size_t nargs = td_rand(&s) % 5;
        for (size_t k = 0; k < nargs; k++)
            args[k] = td_arg(g, nodes, i, &s, true);
        snprintf(name, sizeof name, "%s.mix%u", prefix,
                 (unsigned)(td_rand(&s) % 3));
        const char *fn = pack && td_rand(&s) % 5 == 0 ? pack : name;
        tg_fn f;
        void *ctx;
        assert_int_equal(tg_lookup(fn, &f, &ctx), 0);
        nodes[i] = tg_delayed_v(g, fn, f, ctx, 0, nargs, args);
        assert_non_null(nodes[i]);
    }
    size_t n_targets = 1 + td_rand(&s) % 4;
    for (size_t k = 0; k < n_targets; k++)
        out[k] = nodes[n - 1 - td_rand(&s) % (n < 8 ? n : 8)];
    return n_targets;
}

/* Asserts got is what want is: the same value, or the same error (key
 * and message). */
static inline void td_assert_same(const tg_value *want, const tg_value *got)
{
    assert_non_null(got);
    assert_int_equal(tg_is_error(want), tg_is_error(got));
    if (tg_is_error(want)) {
        assert_string_equal(tg_error_message(want), tg_error_message(got));
        assert_string_equal(tg_error_key(want), tg_error_key(got));
    } else {
        assert_true(tg_equal(want, got));
    }
}

#endif /* TG_TESTS_DAG_UTIL_H */
