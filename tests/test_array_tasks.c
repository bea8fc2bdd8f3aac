/* tests/test_array_tasks.c - the registered array tasks called directly,
 * as a worker would with parameters off the wire: each is given a valid
 * call and then every one-item mutation of it (other ints, other types,
 * an item missing or extra, chunks of other shapes and dtypes), and must
 * answer with a value or an error, never crash or leak (ASan, valgrind).
 * Also: results are bitwise identical on every scheduler.
 */
#include "array_util.h"

/* A valid call: the task's name, its parameters and its chunks. */
typedef struct call {
    const char *name;
    tg_value *params; /* owned */
    size_t n_chunks;
    tg_value *chunks[3]; /* owned */
} call;

static tg_value *f64(size_t r, size_t c)
{
    double d[64];
    for (size_t i = 0; i < 64; i++)
        d[i] = 0.25 * (double)i - 3;
    size_t shape[2] = {r, c};
    return tg_ndarray_new(TG_DT_FLOAT64, 2, shape, d);
}

static tg_value *ints(size_t n, ...)
{
    tg_value *items[8];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        items[i] = tg_int(va_arg(ap, int64_t));
    va_end(ap);
    return tg_list_from(n, items);
}

static tg_value *run(const char *name, tg_value *params, size_t n,
                     tg_value *const *chunks)
{
    tg_fn fn;
    void *ctx;
    assert_int_equal(tg_lookup(name, &fn, &ctx), 0);
    tg_value *args[4] = {params};
    for (size_t i = 0; i < n; i++)
        args[i + 1] = chunks[i];
    return fn(args, n + (params ? 1 : 0), ctx);
}

/* The valid calls, one per task (npy_write is left out: its mutations
 * would write files anywhere). */
static size_t valid_calls(call *c)
{
    size_t n = 0;
    static char npy[512];
    snprintf(npy, sizeof npy, "%s/array/f8_3x4.npy", TT_DATA_DIR);
    c[n++] = (call){"tg.array.elemwise",
                    tg_list(2, ints(2, (int64_t)2, (int64_t)3),
                            tg_list(5, tg_int(1), tg_int(0), tg_int(2),
                                    tg_float(2.0), tg_int(6))),
                    1,
                    {f64(2, 3)}};
    c[n++] = (call){
        "tg.array.check",
        tg_list(2, tg_int(TG_DT_FLOAT64), ints(2, (int64_t)2, (int64_t)3)),
        1,
        {f64(2, 3)}};
    c[n++] = (call){"tg.array.full",
                    tg_list(3, tg_int(TG_DT_INT64), tg_float(1.5),
                            ints(2, (int64_t)2, (int64_t)3)),
                    0,
                    {NULL}};
    c[n++] = (call){"tg.array.random",
                    tg_list(4, tg_int(7), ints(2, (int64_t)4, (int64_t)5),
                            ints(2, (int64_t)1, (int64_t)2),
                            ints(2, (int64_t)2, (int64_t)3)),
                    0,
                    {NULL}};
    c[n++] = (call){"tg.array.arange",
                    tg_list(5, tg_int(TG_DT_FLOAT64), tg_float(0),
                            tg_float(0.5), tg_int(3), tg_int(5)),
                    0,
                    {NULL}};
    for (int op = 0; op <= TG_REDUCE_ARGMAX; op++)
        c[n++] = (call){"tg.array.partial",
                        tg_list(6, tg_int(op), tg_int(op % 3 - 1),
                                ints(2, (int64_t)2, (int64_t)3),
                                ints(2, (int64_t)0, (int64_t)0),
                                ints(2, (int64_t)2, (int64_t)3),
                                ints(2, (int64_t)1, (int64_t)0)),
                        1,
                        {f64(2, 3)}};
    for (int op = 0; op <= TG_REDUCE_ARGMAX; op++) {
        tg_value *p = tg_list(
            6, tg_int(op), tg_int(0), ints(2, (int64_t)2, (int64_t)3),
            ints(2, (int64_t)0, (int64_t)0), ints(2, (int64_t)4, (int64_t)3),
            ints(2, (int64_t)1, (int64_t)0));
        tg_value *chunk = f64(2, 3);
        tg_value *part = run("tg.array.partial", p, 1, &chunk);
        assert_false(tg_is_error(part));
        c[n++] = (call){"tg.array.combine",
                        tg_list(5, tg_int(op), tg_int(op % 2), tg_int(1),
                                tg_int(op >= TG_REDUCE_ARGMIN ? TG_DT_INT64
                                                              : TG_DT_FLOAT64),
                                ints(1, (int64_t)3)),
                        2,
                        {part, tg_incref(part)}};
        tg_decref(p);
        tg_decref(chunk);
    }
    c[n++] = (call){
        "tg.array.regrid",
        tg_list(4, tg_int(TG_DT_FLOAT64), ints(2, (int64_t)2, (int64_t)3),
                ints(4, (int64_t)1, (int64_t)1, (int64_t)2, (int64_t)0),
                tg_list(8, tg_int(0), tg_int(1), tg_int(2), tg_int(0),
                        tg_int(3), tg_int(-1), tg_int(1), tg_int(2))),
        2,
        {f64(3, 4), f64(3, 4)}};
    c[n++] = (call){"tg.array.transpose",
                    tg_list(1, ints(2, (int64_t)1, (int64_t)0)),
                    1,
                    {f64(2, 3)}};
    c[n++] = (call){
        "tg.array.matmul",
        tg_list(5, tg_int(0), tg_int(1), tg_int(2), tg_int(4), tg_int(1)),
        2,
        {f64(2, 3), f64(4, 3)}};
    c[n++] = (call){
        "tg.array.syrk", tg_list(2, tg_int(1), tg_int(1)), 1, {f64(3, 2)}};
    c[n++] = (call){"tg.array.npy_read",
                    tg_list(7, tg_str(npy), tg_int(128), tg_int(0), tg_int(0),
                            ints(2, (int64_t)3, (int64_t)4),
                            ints(2, (int64_t)1, (int64_t)1),
                            ints(2, (int64_t)2, (int64_t)3)),
                    0,
                    {NULL}};
    return n;
}

/* Replacements for one parameter: other ints, other types. */
static tg_value *mutant(int k)
{
    switch (k) {
    case 0: return tg_int(-1);
    case 1: return tg_int(0);
    case 2: return tg_int(1);
    case 3: return tg_int(2);
    case 4: return tg_int(5);
    case 5: return tg_int(INT64_MIN);
    case 6: return tg_int(1 << 20);
    case 7: return tg_float(NAN);
    case 8: return tg_str("x");
    case 9: return tg_list(0);
    case 10: return tg_null();
    default: return ints(3, (int64_t)1, (int64_t)-1, (int64_t)2);
    }
}
#define N_MUTANTS 12

/* A copy of list l with item i replaced by v (stolen), or removed when
 * v is NULL, or v appended when i is the length. */
static tg_value *with(const tg_value *l, size_t i, tg_value *v)
{
    size_t n = tg_list_len(l), m = 0;
    tg_value *items[16];
    for (size_t k = 0; k < n; k++) {
        if (k == i) {
            if (v)
                items[m++] = v;
            continue;
        }
        items[m++] = tg_incref(tg_list_get(l, k));
    }
    if (i == n && v)
        items[m++] = v;
    return tg_list_from(m, items);
}

/* The result must be a value: an error (with a message) or a result. */
static void expect_answer(tg_value *r)
{
    assert_non_null(r);
    if (tg_is_error(r))
        assert_non_null(tg_error_message(r));
    tg_decref(r);
}

static void test_array_tasks_survive_mutated_parameters(void **state)
{
    (void)state;
    call c[32];
    size_t n = valid_calls(c);
    for (size_t t = 0; t < n; t++) {
        /* the valid call succeeds */
        tg_value *r = run(c[t].name, c[t].params, c[t].n_chunks, c[t].chunks);
        if (tg_is_error(r))
            fail_msg("%s: %s", c[t].name, tg_error_message(r));
        tg_decref(r);
        /* no parameters, parameters that are not a list */
        expect_answer(run(c[t].name, NULL, 0, NULL));
        tg_value *i = tg_int(3);
        expect_answer(run(c[t].name, i, c[t].n_chunks, c[t].chunks));
        tg_decref(i);
        /* every item (and every item of a list item) replaced, removed,
         * or one appended */
        size_t np = tg_list_len(c[t].params);
        for (size_t k = 0; k <= np; k++) {
            for (int m = 0; m <= N_MUTANTS; m++) {
                tg_value *p =
                    with(c[t].params, k, m == N_MUTANTS ? NULL : mutant(m));
                expect_answer(run(c[t].name, p, c[t].n_chunks, c[t].chunks));
                tg_decref(p);
            }
            const tg_value *item = tg_list_get(c[t].params, k);
            for (size_t j = 0; j <= tg_list_len(item); j++)
                for (int m = 0; m <= N_MUTANTS; m++) {
                    tg_value *sub =
                        with(item, j, m == N_MUTANTS ? NULL : mutant(m));
                    tg_value *p = with(c[t].params, k, sub);
                    expect_answer(
                        run(c[t].name, p, c[t].n_chunks, c[t].chunks));
                    tg_decref(p);
                }
        }
        /* chunks of other shapes, dtypes and types */
        size_t two = 2;
        tg_value *others[5] = {f64(1, 1), f64(3, 2), f64(4, 4),
                               tg_ndarray_new(TG_DT_BOOL, 1, &two, NULL),
                               tg_str("not a chunk")};
        for (size_t j = 0; j < c[t].n_chunks; j++)
            for (int o = 0; o < 5; o++) {
                tg_value *ch[3];
                memcpy(ch, c[t].chunks, sizeof ch);
                ch[j] = others[o];
                expect_answer(run(c[t].name, c[t].params, c[t].n_chunks, ch));
            }
        expect_answer(run(c[t].name, c[t].params, 0, NULL));
        for (int o = 0; o < 5; o++)
            tg_decref(others[o]);
        tg_decref(c[t].params);
        for (size_t j = 0; j < c[t].n_chunks; j++)
            tg_decref(c[t].chunks[j]);
    }
}

static void test_array_results_identical_on_every_scheduler(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    size_t shape[2] = {37, 29}, ch[2] = {8, 7};
    tg_array *x = tg_array_random(g, 2, shape, ch, 3);
    tg_array *e[5] = {
        tg_array_var(tg_array_exp(x), TG_AXIS_ALL, 1),
        tg_array_sum(tg_array_mul(x, tg_array_scalar(g, 1e8)), 0),
        tg_array_matmul(x, tg_array_transpose(x)),
        tg_array_sub(tg_array_matmul(tg_array_transpose(x), x),
                     tg_array_mean(x, 0)),
        tg_array_argmax(tg_array_slice(x, (tg_slice[]){{1, TG_SLICE_NONE, 3},
                                                       {TG_SLICE_NONE, 5, -2}}),
                        1),
    };
    for (int k = 0; k < 5; k++) {
        tg_value *ref = ta_compute(e[k], TA_SYNC);
        for (int s = 1; s < TA_N_SCHED; s++) {
            tg_value *v = ta_compute(e[k], s);
            assert_true(tg_equal(v, ref)); /* every bit */
            tg_decref(v);
        }
        tg_decref(ref);
    }
    tg_graph_free(g);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_tasks_survive_mutated_parameters),
        cmocka_unit_test(test_array_results_identical_on_every_scheduler),
    };
    return cmocka_run_group_tests_name("array_tasks", tests, ta_setup,
                                       ta_teardown);
}
