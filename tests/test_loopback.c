/* tests/test_loopback.c - the loopback scheduler and plans on the wire:
 * the same answers and errors as sync for registered calls, local calls
 * and values that cannot cross a wire refused with an error naming them,
 * and malformed or forged plans refused without a crash. */
#include <math.h>

#include "graph/plan_internal.h"
#include "runtime/alloc_internal.h"
#include "test_util.h"

/* --- registered task functions ----------------------------------------- */

/* Folds a value into a hash: numbers by bits, strings and bytes by
 * content, lists item by item. */
static uint64_t fold(uint64_t h, const tg_value *v)
{
    size_t len = 0;
    const unsigned char *b;
    switch (tg_typeof(v)) {
    case TG_LIST:
        for (size_t i = 0; i < tg_list_len(v); i++)
            h = fold(h, tg_list_get(v, i));
        return h * 31 + 7;
    case TG_STR:
    case TG_BYTES:
        b = tg_as_bytes(v, &len);
        for (size_t i = 0; i < len; i++)
            h = (h ^ b[i]) * 0x100000001b3ull;
        return h + len;
    case TG_FLOAT: return (h ^ (uint64_t)(tg_as_float(v) * 1e6)) * 977;
    default: return (h ^ (uint64_t)tg_as_int(v)) * 0x100000001b3ull;
    }
}

/* Mixes its arguments (in order) with ctx into an int. */
static tg_value *mix(tg_value *const *a, size_t n, void *ctx)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(uintptr_t)ctx;
    for (size_t i = 0; i < n; i++)
        h = fold(h, a[i]);
    return tg_int((int64_t)(h >> 2));
}

/* Returns its arguments as a list (values of every type flow on). */
static tg_value *pack(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    tg_value *items[8];
    for (size_t i = 0; i < n && i < 8; i++)
        items[i] = tg_incref(a[i]);
    return tg_list_from(n < 8 ? n : 8, items);
}

/* Returns an object no codec knows: a result that cannot cross. */
static tg_value *opaque(tg_value *const *a, size_t n, void *ctx)
{
    (void)a, (void)n, (void)ctx;
    return tg_object(NULL, NULL, "opaque-thing");
}

static void register_all(void)
{
    for (uintptr_t k = 0; k < 3; k++) {
        char name[16];
        snprintf(name, sizeof name, "lb.mix%u", (unsigned)k);
        assert_int_equal(tg_register(name, mix, (void *)k), 0);
    }
    assert_int_equal(tg_register("lb.fail", tt_fail_neg, NULL), 0);
    assert_int_equal(tg_register("lb.pack", pack, NULL), 0);
    assert_int_equal(tg_register("lb.inc", tt_inc, NULL), 0);
    assert_int_equal(tg_register("lb.opaque", opaque, NULL), 0);
}

static int setup(void **state)
{
    (void)state;
    register_all();
    return 0;
}

/* --- random DAGs against sync ------------------------------------------ */

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A literal of any core type. */
static tg_value *random_literal(uint64_t *s)
{
    switch (next_rand(s) % 6) {
    case 0: return tg_int((int64_t)(next_rand(s) % 1000) - 500);
    case 1: return tg_float((double)(next_rand(s) % 1000) / 7.0);
    case 2: return tg_str(next_rand(s) % 2 ? "abc" : "");
    case 3: return tg_bytes("\0\1\2\3", 1 + next_rand(s) % 4);
    case 4: return tg_bool(next_rand(s) % 2);
    default: return tg_null();
    }
}

/* An argument for node i: an earlier node, a literal, a delayed literal,
 * or a list mixing them. */
static tg_value *random_arg(tg_graph *g, tg_value **nodes, size_t i,
                            uint64_t *s, bool allow_list)
{
    uint64_t r = next_rand(s) % 12;
    if (i > 0 && r < 6) {
        size_t back = 1 + next_rand(s) % (next_rand(s) % 2 ? 4 : i);
        return nodes[back > i ? 0 : i - back];
    }
    if (r == 6)
        return tg_delayed_value(g, random_literal(s));
    if (r < 10 || !allow_list)
        return random_literal(s);
    size_t k = 1 + next_rand(s) % 3;
    tg_value *items[3];
    for (size_t m = 0; m < k; m++)
        items[m] = random_arg(g, nodes, i, s, false);
    return tg_list_from(k, items);
}

/* A random DAG of registered calls, maybe with one failing call; up to
 * four targets in out[], one of them maybe a plain value. */
static size_t random_dag(tg_graph *g, uint64_t seed, tg_value **out)
{
    uint64_t s = seed;
    size_t n = 1 + next_rand(&s) % 60;
    tg_value *nodes[60];
    size_t fail_at = next_rand(&s) % 6 == 0 ? next_rand(&s) % n : n;
    for (size_t i = 0; i < n; i++) {
        if (i == fail_at) {
            nodes[i] =
                tg_delayed_registered(g, "lb.fail", 1, tg_int(-1 - (int64_t)i));
            continue;
        }
        tg_value *args[5];
        size_t nargs = next_rand(&s) % 5;
        for (size_t k = 0; k < nargs; k++)
            args[k] = random_arg(g, nodes, i, &s, true);
        char name[16];
        snprintf(name, sizeof name, "lb.mix%u", (unsigned)(next_rand(&s) % 3));
        const char *fn = next_rand(&s) % 5 == 0 ? "lb.pack" : name;
        tg_fn f;
        void *ctx;
        assert_int_equal(tg_lookup(fn, &f, &ctx), 0);
        nodes[i] = tg_delayed_v(g, fn, f, ctx, 0, nargs, args);
        assert_non_null(nodes[i]);
    }
    size_t n_targets = 1 + next_rand(&s) % 4;
    for (size_t k = 0; k < n_targets; k++)
        out[k] = nodes[n - 1 - next_rand(&s) % (n < 8 ? n : 8)];
    return n_targets;
}

static void assert_same(const tg_value *want, const tg_value *got)
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

static void test_loopback_matches_sync_on_random_dags(void **state)
{
    (void)state;
    tg_scheduler *sync = tg_scheduler_sync(), *lb = tg_scheduler_loopback();
    assert_string_equal(tg_scheduler_name(lb), "loopback");
    size_t n_dags = tt_scale(2000, 100);
    for (uint64_t seed = 1; seed <= n_dags; seed++) {
        tg_graph *g = tg_graph_new();
        tg_value *targets[5], *want[5], *got[5];
        size_t n = random_dag(g, seed, targets);
        if (seed % 4 == 0) /* a plain value among the targets */
            targets[n++] = tg_delayed_value(g, tg_str("plain"));
        tg_compute_opts o = {.no_fuse = seed % 3 == 0};
        int rc_want = tg_compute_with(targets, n, want, sync, &o);
        int rc_got = tg_compute_with(targets, n, got, lb, &o);
        assert_int_equal(rc_want, rc_got);
        for (size_t k = 0; k < n; k++) {
            assert_same(want[k], got[k]);
            tg_decref(want[k]);
            tg_decref(got[k]);
        }
        tg_graph_free(g);
    }
    tg_scheduler_free(lb);
    tg_scheduler_free(sync);
}

/* --- refusals ------------------------------------------------------------ */

static void test_loopback_refuses_a_local_call_naming_it(void **state)
{
    (void)state;
    tg_scheduler *lb = tg_scheduler_loopback();
    tg_graph *g = tg_graph_new();
    tg_value *a = tg_delayed_registered(g, "lb.inc", 1, tg_int(1));
    tg_value *local = tg_delayed(g, "my_local", tt_inc, 1, a);
    tg_value *out[1];
    assert_int_equal(tg_compute_many(&local, 1, out, lb), TG_EUNSUPPORTED);
    assert_null(out[0]);
    assert_non_null(strstr(tg_last_error(), tg_key(local)));
    assert_non_null(strstr(tg_last_error(), "local call"));
    tg_value *r = tg_compute(local, lb);
    assert_true(tg_is_error(r));
    assert_non_null(strstr(tg_error_message(r), "my_local"));
    tg_decref(r);
    /* The registered part alone runs. */
    r = tg_compute(a, lb);
    assert_int_equal(tg_as_int(r), 2);
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(lb);
}

static void test_loopback_refuses_a_literal_that_cannot_cross(void **state)
{
    (void)state;
    tg_scheduler *lb = tg_scheduler_loopback();
    tg_graph *g = tg_graph_new();
    tg_value *c = tg_delayed_registered(
        g, "lb.pack", 1, tg_object(NULL, NULL, "handle-of-mine"));
    tg_value *r = tg_compute(c, lb);
    assert_true(tg_is_error(r));
    assert_non_null(strstr(tg_error_message(r), "handle-of-mine"));
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(lb);
}

static void test_loopback_result_that_cannot_cross_fails_its_task(void **state)
{
    (void)state;
    tg_scheduler *lb = tg_scheduler_loopback();
    tg_graph *g = tg_graph_new();
    tg_value *o = tg_delayed_registered(g, "lb.opaque", 0);
    tg_value *c = tg_delayed_registered(g, "lb.mix0", 1, o);
    tg_compute_opts nofuse = {.no_fuse = true};
    tg_value *r;
    assert_int_equal(tg_compute_with(&c, 1, &r, lb, &nofuse), TG_ETASK);
    assert_true(tg_is_error(r));
    assert_non_null(strstr(tg_error_message(r), "opaque-thing"));
    assert_non_null(strstr(tg_error_message(r), "cannot cross a wire"));
    tg_decref(r);
    /* Fused, the object never leaves the task: it runs. */
    r = tg_compute(c, lb);
    assert_int_equal(tg_typeof(r), TG_INT);
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(lb);
}

static void test_loopback_errors_name_the_failed_task(void **state)
{
    (void)state;
    tg_scheduler *lb = tg_scheduler_loopback();
    tg_graph *g = tg_graph_new();
    tg_value *bad = tg_delayed_registered(g, "lb.fail", 1, tg_int(-5));
    tg_value *top = tg_delayed_registered(g, "lb.inc", 1, bad);
    tg_value *r = tg_compute(top, lb);
    assert_true(tg_is_error(r));
    assert_string_equal(tg_error_message(r), "boom");
    assert_string_equal(tg_error_key(r), tg_key(bad));
    tg_decref(r);
    tg_graph_free(g);
    tg_scheduler_free(lb);
}

static void test_loopback_cancel_stops_the_run(void **state)
{
    (void)state;
    tg_scheduler *lb = tg_scheduler_loopback();
    tg_graph *g = tg_graph_new();
    tg_value *x = tg_delayed_registered(g, "lb.inc", 1, tg_int(0));
    for (int i = 0; i < 50; i++)
        x = tg_delayed_registered(g, "lb.inc", 1, x);
    tg_cancel *c = tg_cancel_new();
    tg_cancel_request(c);
    tg_compute_opts o = {.cancel = c, .no_fuse = true};
    tg_value *r;
    assert_int_equal(tg_compute_with(&x, 1, &r, lb, &o), TG_ECANCELED);
    assert_non_null(strstr(tg_error_message(r), "cancelled"));
    tg_decref(r);
    tg_cancel_free(c);
    tg_graph_free(g);
    tg_scheduler_free(lb);
}

/* --- plans on the wire -------------------------------------------------- */

/* The flat encoding of the plan of target (compiled without fusion). */
static uint8_t *encode_plan(tg_value *target, size_t *len)
{
    tg__plan *p;
    assert_int_equal(tg__plan_compile(&target, 1, 0, &p), 0);
    tg__enc e;
    uint8_t *flat;
    assert_int_equal(tg__enc_init(&e, TG__CODEC_HOLES), 0);
    assert_int_equal(tg__plan_encode(p, &e), 0);
    assert_int_equal(tg__enc_flatten(&e, &flat, len), 0);
    tg__enc_close(&e);
    tg__plan_free(p);
    return flat;
}

static int decode_plan(const uint8_t *flat, size_t len, tg__plan **p)
{
    *p = NULL;
    tg__dec d;
    int rc = tg__dec_init_flat(&d, flat, len, 0);
    if (rc == 0)
        rc = tg__plan_decode(&d, p);
    tg__dec_close(&d);
    return rc;
}

/* A small plan with every kind of argument. */
static tg_value *sample(tg_graph *g)
{
    tg_value *a = tg_delayed_registered(g, "lb.inc", 1, tg_int(1));
    tg_value *lit = tg_delayed_value(g, tg_float(2.5));
    tg_value *b = tg_delayed_registered(g, "lb.pack", 3, a, lit,
                                        tg_list(3, tg_str("s"), a, tg_null()));
    return tg_delayed_registered(g, "lb.mix1", 2, b, a);
}

static void test_loopback_plan_round_trips_and_runs(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *top = sample(g);
    size_t len;
    uint8_t *flat = encode_plan(top, &len);
    tg__plan *p;
    assert_int_equal(decode_plan(flat, len, &p), 0);
    tg__plan *q;
    assert_int_equal(tg__plan_compile(&top, 1, 0, &q), 0);
    assert_int_equal(p->n_tasks, q->n_tasks);
    assert_int_equal(p->n_in, q->n_in);
    assert_memory_equal(p->in, q->in, q->n_in * sizeof *q->in);
    assert_memory_equal(p->reads, q->reads, q->n_slots * sizeof *q->reads);
    for (uint32_t o = 0; o < q->n_ops; o++)
        assert_string_equal(tg__plan_key(p, o), tg__plan_key(q, o));
    tg__plan_free(q);
    tg__plan_free(p);
    free(flat);
    tg_graph_free(g);
}

/* Every prefix and every single-byte change of an encoded plan decodes
 * to a valid plan or fails cleanly (ASan and valgrind watch). */
static void test_loopback_corrupt_plans_fail_cleanly(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t len;
    uint8_t *flat = encode_plan(sample(g), &len);
    tg__plan *p;
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_not_equal(decode_plan(flat, cut, &p), 0);
        assert_null(p);
    }
    uint8_t *copy = malloc(len);
    for (size_t i = 0; i < len; i++) {
        static const uint8_t flips[] = {0x01, 0x80, 0xff};
        for (size_t f = 0; f < 3; f++) {
            memcpy(copy, flat, len);
            copy[i] ^= flips[f];
            if (decode_plan(copy, len, &p) == 0) {
                assert_non_null(p);
                tg__plan_free(p);
            } else {
                assert_null(p);
            }
        }
    }
    free(copy);
    free(flat);
    tg_graph_free(g);
}

/* A plan naming a function this process does not have is refused,
 * naming it. */
static void test_loopback_unknown_function_is_named(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = tg_delayed_registered(g, "lb.mix2", 1, tg_int(3));
    size_t len;
    uint8_t *flat = encode_plan(a, &len);
    uint8_t *at = NULL;
    for (size_t i = 0; i + 7 <= len && !at; i++)
        if (memcmp(flat + i, "lb.mix2", 7) == 0)
            at = flat + i;
    assert_non_null(at);
    at[6] = '9'; /* lb.mix9: registered nowhere */
    tg__plan *p;
    assert_int_equal(decode_plan(flat, len, &p), TG_ENOENT);
    assert_non_null(strstr(tg_last_error(), "lb.mix9"));
    free(flat);
    tg_graph_free(g);
}

/* A forged plan of leaf tasks calling lb.inc: one op each unless
 * op_begin says otherwise, no inputs, the given targets. */
static uint8_t *forge(uint32_t n_tasks, const uint32_t *op_begin,
                      uint32_t n_ops, const uint64_t *targets,
                      uint32_t n_targets, size_t *len)
{
    tg__enc e;
    assert_int_equal(tg__enc_init(&e, TG__CODEC_HOLES), 0);
    assert_int_equal(tg__enc_u8(&e, 1), 0); /* the plan format */
    assert_int_equal(tg__enc_u64(&e, 1), 0);
    assert_int_equal(tg__enc_str(&e, "lb.inc", 6), 0);
    uint64_t counts[5] = {n_tasks, n_ops, 0, 0, n_targets};
    for (int i = 0; i < 5; i++)
        assert_int_equal(tg__enc_u64(&e, counts[i]), 0);
    for (uint32_t t = 0; t <= n_tasks; t++) /* little-endian u32s */
        for (int b = 0; b < 4; b++)
            assert_int_equal(tg__enc_u8(&e, (uint8_t)(op_begin[t] >> 8 * b)),
                             0);
    for (uint32_t o = 0; o < n_ops; o++) {
        uint8_t zero[8] = {0};
        assert_int_equal(tg__enc_raw(&e, zero, 8), 0); /* fn 0, flags 0 */
        assert_int_equal(tg__enc_u64(&e, o), 0);       /* token */
        assert_int_equal(tg__enc_u64(&e, 7), 0);
        assert_int_equal(tg__enc_u64(&e, 1), 0); /* one argument */
        tg_value *v = tg_int(o);
        assert_int_equal(tg__encode(&e, v), 0);
        tg_decref(v);
    }
    for (uint32_t i = 0; i < n_targets; i++)
        assert_int_equal(tg__enc_u64(&e, targets[i]), 0);
    uint8_t *flat;
    assert_int_equal(tg__enc_flatten(&e, &flat, len), 0);
    tg__enc_close(&e);
    return flat;
}

/* Found by fuzz_plan: task boundaries that go past the ops and back. */
static void test_loopback_plan_with_bad_task_bounds_is_refused(void **state)
{
    (void)state;
    size_t len;
    tg__plan *p;
    uint64_t both[2] = {0, 1};
    uint8_t *ok = forge(2, (uint32_t[]){0, 1, 2}, 2, both, 2, &len);
    assert_int_equal(decode_plan(ok, len, &p), 0);
    tg__plan_free(p);
    free(ok);
    uint8_t *bad = forge(2, (uint32_t[]){0, 5, 2}, 2, both, 2, &len);
    assert_int_equal(decode_plan(bad, len, &p), TG_EFORMAT);
    assert_non_null(strstr(tg_last_error(), "task without ops"));
    free(bad);
}

/* Found by fuzz_plan: a task nobody reads would never be freed. */
static void test_loopback_plan_with_an_unread_task_is_refused(void **state)
{
    (void)state;
    size_t len;
    tg__plan *p;
    uint64_t second[1] = {1};
    uint8_t *flat = forge(2, (uint32_t[]){0, 1, 2}, 2, second, 1, &len);
    assert_int_equal(decode_plan(flat, len, &p), TG_EFORMAT);
    assert_non_null(strstr(tg_last_error(), "nobody reads"));
    free(flat);
}

/* Found by fuzz_plan: a plan whose calls take no arguments at all. */
static void test_loopback_plan_of_calls_without_arguments_runs(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *o = tg_delayed_registered(g, "lb.opaque", 0);
    size_t len;
    uint8_t *flat = encode_plan(o, &len);
    tg__plan *p;
    assert_int_equal(decode_plan(flat, len, &p), 0);
    assert_int_equal(p->n_ops, 1);
    assert_int_equal(p->ops[0].call->nargs, 0);
    tg__plan_free(p);
    free(flat);
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_matches_sync_on_random_dags),
        cmocka_unit_test(test_loopback_refuses_a_local_call_naming_it),
        cmocka_unit_test(test_loopback_refuses_a_literal_that_cannot_cross),
        cmocka_unit_test(test_loopback_result_that_cannot_cross_fails_its_task),
        cmocka_unit_test(test_loopback_errors_name_the_failed_task),
        cmocka_unit_test(test_loopback_cancel_stops_the_run),
        cmocka_unit_test(test_loopback_plan_round_trips_and_runs),
        cmocka_unit_test(test_loopback_corrupt_plans_fail_cleanly),
        cmocka_unit_test(test_loopback_unknown_function_is_named),
        cmocka_unit_test(test_loopback_plan_with_bad_task_bounds_is_refused),
        cmocka_unit_test(test_loopback_plan_with_an_unread_task_is_refused),
        cmocka_unit_test(test_loopback_plan_of_calls_without_arguments_runs),
    };
    return cmocka_run_group_tests_name("loopback", tests, setup, NULL);
}
