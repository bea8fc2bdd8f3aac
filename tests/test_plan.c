/* tests/test_plan.c - compiling plans: cull, dedupe, inline, fuse, order,
 * and the CSR arrays schedulers read. */
#include "graph/plan_internal.h"
#include "test_util.h"

#define PLAN_ALL (TG__PLAN_FUSE | TG__PLAN_DEPS)

static tg__plan *compile1(tg_value *target, bool fuse)
{
    tg__plan *p = NULL;
    unsigned flags = TG__PLAN_DEPS | (fuse ? TG__PLAN_FUSE : 0);
    assert_int_equal(tg__plan_compile(&target, 1, flags, &p), 0);
    return p;
}

static const char *op_name(const tg__plan *p, uint32_t op)
{
    return p->ops[op].call->fn->name;
}

/* Input placeholders among an op's arguments, list items included. */
static uint32_t count_inputs(const tg__op *op)
{
    uint32_t n = 0;
    for (uint32_t a = 0; a < op->call->nargs; a++) {
        const tg_value *v = op->call->args[a];
        if (tg__call_is_input(op->call, a)) {
            assert_int_equal(tg_typeof(v), TG_DELAYED);
            n++;
        } else if ((op->flags & TG__OP_LIST_INPUTS)
                   && tg_typeof(v) == TG_LIST) {
            for (size_t i = 0; i < tg_list_len(v); i++)
                n += tg_typeof(tg_list_get(v, i)) == TG_DELAYED;
        }
    }
    return n;
}

/* Where a run reads and writes results: task t's result goes to slot t;
 * an op has one input slot per placeholder; a first op reads literal
 * slots or the slots of earlier tasks, a later op its own task's slot;
 * reads counts the first ops' reads of each task slot plus one for a
 * target. */
static void check_slots(const tg__plan *p)
{
    assert_int_equal(p->n_slots, p->n_tasks + p->n_literals);
    assert_int_equal(p->ops[p->n_ops].in, p->n_in);
    uint32_t *reads = calloc(p->n_slots + 1, sizeof *reads);
    assert_non_null(reads);
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        for (uint32_t o = p->op_begin[t]; o < p->op_begin[t + 1]; o++) {
            const tg__op *op = &p->ops[o];
            assert_int_equal(op[1].in - op[0].in, count_inputs(op));
            for (uint32_t k = op[0].in; k < op[1].in; k++) {
                uint32_t s = p->in[k];
                assert_true(s < p->n_slots);
                if (s >= p->n_tasks) { /* a literal: never counted down */
                    assert_non_null(p->literal[s - p->n_tasks]);
                    continue;
                }
                if (o > p->op_begin[t]) {
                    assert_int_equal(s, t);
                    continue;
                }
                assert_true(s < t); /* an earlier task's */
                reads[s]++;
            }
        }
        reads[t] += p->is_target[t];
    }
    for (uint32_t s = 0; s < p->n_slots; s++)
        assert_int_equal(p->reads[s], s < p->n_tasks ? reads[s] : UINT32_MAX);
    free(reads);
}

/* Every dependency comes before its task, each task's user count is how
 * often deps name it, dependents is exactly the transpose of deps, and
 * the result slots agree (check_slots). */
static void check_csr(const tg__plan *p)
{
    check_slots(p);
    size_t n_dependents = 0;
    uint32_t *named = calloc(p->n_tasks + 1, sizeof *named);
    assert_non_null(named);
    for (uint32_t e = 0; e < p->deps_off[p->n_tasks]; e++)
        named[p->deps[e]]++;
    for (uint32_t t = 0; t < p->n_tasks; t++)
        assert_int_equal(named[t], p->n_users[t]);
    free(named);
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        for (uint32_t e = p->deps_off[t]; e < p->deps_off[t + 1]; e++) {
            uint32_t d = p->deps[e];
            assert_true(d < t);
            bool found = false;
            for (uint32_t k = p->dependents_off[d];
                 k < p->dependents_off[d + 1]; k++)
                found |= p->dependents[k] == t;
            assert_true(found);
        }
        n_dependents += tg__plan_n_dependents(p, t);
    }
    assert_int_equal(n_dependents, p->deps_off[p->n_tasks]);
}

static void test_plan_cull_drops_unreachable(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    int calls = 0;
    tg_value *a =
        tg_delayed_v(g, "a", tt_count, &calls, 0, 1, (tg_value *[]){tg_int(1)});
    for (int i = 0; i < 10; i++) /* unreachable from the target */
        tg_delayed_v(g, "junk", tt_count, &calls, 0, 1,
                     (tg_value *[]){tg_int(100 + i)});
    tg_value *b = TG_DELAYED(g, tt_inc, a);
    tg__plan *p = compile1(b, false);
    assert_int_equal(p->n_tasks, 2);
    check_csr(p);
    tg__plan_free(p);
    tg_value *r = tg_compute(b, NULL);
    assert_int_equal(tg_as_int(r), 2);
    assert_int_equal(calls, 1);
    tg_decref(r);
    tg_graph_free(g);
}

static void test_plan_dedupe_runs_identical_calls_once(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    int calls = 0;
    tg_value *x =
        tg_delayed_v(g, "x", tt_count, &calls, 0, 1, (tg_value *[]){tg_int(7)});
    tg_value *y =
        tg_delayed_v(g, "x", tt_count, &calls, 0, 1, (tg_value *[]){tg_int(7)});
    tg_value *s = TG_DELAYED(g, tt_add, x, y);
    tg__plan *p = compile1(s, false);
    assert_int_equal(p->n_tasks, 2);
    check_csr(p);
    tg__plan_free(p);
    tg_value *r = tg_compute(s, NULL);
    assert_int_equal(tg_as_int(r), 14);
    assert_int_equal(calls, 1);
    tg_decref(r);
    tg_graph_free(g);
}

static void test_plan_impure_calls_are_not_deduped(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    int calls = 0;
    tg_value *x = tg_delayed_v(g, "x", tt_count, &calls, TG_IMPURE, 1,
                               (tg_value *[]){tg_int(7)});
    tg_value *y = tg_delayed_v(g, "x", tt_count, &calls, TG_IMPURE, 1,
                               (tg_value *[]){tg_int(7)});
    tg_value *r = tg_compute(TG_DELAYED(g, tt_add, x, y), NULL);
    assert_int_equal(tg_as_int(r), 14);
    assert_int_equal(calls, 2);
    tg_decref(r);
    tg_graph_free(g);
}

static void test_plan_fuses_linear_chains(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *x = tg_int(0);
    for (int i = 0; i < 5; i++)
        x = TG_DELAYED(g, tt_inc, x);
    tg__plan *p = compile1(x, true);
    assert_int_equal(p->n_tasks, 1);
    assert_int_equal(p->n_ops, 5);
    assert_int_equal(p->op_begin[1] - p->op_begin[0], 5);
    assert_string_equal(op_name(p, 4), "tt_inc");
    tg__plan_free(p);
    p = compile1(x, false);
    assert_int_equal(p->n_tasks, 5);
    check_csr(p);
    tg__plan_free(p);
    tg_graph_free(g);
}

static void test_plan_does_not_fuse_shared_or_target_results(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, tt_inc, tg_int(1));
    tg_value *b = TG_DELAYED(g, tt_inc, a); /* a has two users */
    tg_value *c = TG_DELAYED(g, tt_inc, tg_list(2, a, tg_int(0)));
    tg_value *d = TG_DELAYED(g, tt_add, b, TG_DELAYED(g, tt_inc, c));
    tg__plan *p = compile1(d, true);
    /* a | b | c+inc(c) fused | d */
    assert_int_equal(p->n_tasks, 4);
    assert_int_equal(p->n_ops, 5);
    check_csr(p);
    tg__plan_free(p);

    tg_value *t[2] = {b, TG_DELAYED(g, tt_inc, b)}; /* b is a target */
    p = NULL;
    assert_int_equal(tg__plan_compile(t, 2, PLAN_ALL, &p), 0);
    /* a+b fused (c is culled: a has one user here) | inc(b), which may
     * not swallow b, a target */
    assert_int_equal(p->n_tasks, 2);
    assert_int_equal(p->n_ops, 3);
    assert_int_not_equal(p->target_task[0], p->target_task[1]);
    assert_true(p->is_target[p->target_task[0]]);
    assert_true(p->is_target[p->target_task[1]]);
    tg__plan_free(p);
    tg_graph_free(g);
}

static void test_plan_inlines_delayed_literals(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *five = tg_delayed_value(g, tg_int(5));
    tg_value *x = TG_DELAYED(g, tt_add, five, five);
    tg__plan *p = compile1(x, true);
    assert_int_equal(p->n_tasks, 1); /* the literal is not a task */
    assert_int_equal(p->n_ops, 1);
    assert_int_equal(tg__plan_n_deps(p, 0), 0);
    assert_string_equal(op_name(p, 0), "tt_add");
    assert_int_equal(p->n_literals, 1); /* read twice, one slot */
    assert_int_equal(tg_as_int(p->literal[0]), 5);
    check_csr(p);
    tg__plan_free(p);
    tg_graph_free(g);
}

/* A twin of a literal reads the literal's slot; a literal that is also
 * a target is a task of its own, with its own slot. */
static void test_plan_literal_twins_and_targets_share_values(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *five = tg_delayed_value(g, tg_int(5));
    tg_value *twin = tg_delayed_value(g, tg_int(5));
    tg_value *x = TG_DELAYED(g, tt_add, five, twin);
    tg_value *y = TG_DELAYED(g, tt_inc, x);
    tg_value *t[] = {y, twin, x};
    tg__plan *p = NULL;
    assert_int_equal(tg__plan_compile(t, 3, PLAN_ALL, &p), 0);
    assert_int_equal(p->n_literals, 1);
    assert_int_equal(p->n_tasks, 3); /* five, x, y: x is a target */
    /* x (tt_add) reads the one literal slot twice */
    uint32_t xo = 0;
    while (strcmp(op_name(p, xo), "tt_add") != 0)
        xo++;
    assert_int_equal(p->ops[xo + 1].in - p->ops[xo].in, 2);
    assert_int_equal(p->in[p->ops[xo].in], p->n_tasks);
    assert_int_equal(p->in[p->ops[xo].in + 1], p->n_tasks);
    check_csr(p);
    tg__plan_free(p);
    tg_value *out[3];
    assert_int_equal(tg_compute_many(t, 3, out, NULL), 0);
    assert_int_equal(tg_as_int(out[0]), 11);
    assert_int_equal(tg_as_int(out[1]), 5);
    assert_int_equal(tg_as_int(out[2]), 10);
    for (int i = 0; i < 3; i++)
        tg_decref(out[i]);
    tg_graph_free(g);
}

static void test_plan_orders_depth_first(void **state)
{
    (void)state;
    tg_graph *g = tg_graph_new();
    tg_value *v[8];
    for (int i = 0; i < 8; i++)
        v[i] = tg_delayed(g, "leaf", tt_inc, 1, tg_int(i));
    tg_value *root = tt_tree_sum(g, v, 8, 2); /* pairwise */
    tg__plan *p = compile1(root, false);
    assert_int_equal(p->n_tasks, 15);
    check_csr(p);
    /* The first pair is combined before the third leaf starts. */
    const char *want[7] = {"leaf", "leaf", "sum", "leaf", "leaf", "sum", "sum"};
    for (uint32_t t = 0; t < 7; t++)
        assert_string_equal(op_name(p, p->op_begin[t]), want[t]);
    assert_true(p->is_target[p->n_tasks - 1]);
    tg__plan_free(p);
    tg_graph_free(g);
}

static void test_plan_of_plain_values_has_no_tasks(void **state)
{
    (void)state;
    tg_value *v[2] = {tg_int(3), tg_str("x")};
    tg__plan *p = NULL;
    assert_int_equal(tg__plan_compile(v, 2, PLAN_ALL, &p), 0);
    assert_int_equal(p->n_tasks, 0);
    assert_int_equal(p->target_task[0], -1);
    assert_ptr_equal(p->target_value[1], v[1]);
    tg__plan_free(p);
    tg_value *out[2];
    assert_int_equal(tg_compute_many(v, 2, out, NULL), 0);
    assert_ptr_equal(out[0], v[0]);
    tg_decref(out[0]), tg_decref(out[1]);
    tg_decref(v[0]), tg_decref(v[1]);
}

/* Random DAGs: every plan is topological, CSR-consistent, and the same
 * with and without fusion in what it computes. */
static void test_plan_random_dags_are_consistent(void **state)
{
    (void)state;
    srand(12345);
    for (int round = 0; round < (int)tt_scale(300, 30); round++) {
        tg_graph *g = tg_graph_new();
        size_t n = 1 + (size_t)(rand() % 60);
        tg_value **v = malloc(n * sizeof *v);
        for (size_t i = 0; i < n; i++) {
            int k = i ? rand() % 4 : 0;
            tg_value *args[3];
            for (int a = 0; a < k; a++)
                args[a] = v[(size_t)rand() % i];
            for (int a = k; a < 3; a++)
                args[a] = tg_int(rand() % 5);
            v[i] = tg_delayed_v(g, "sum", tt_sum, NULL, 0, 3, args);
        }
        tg_value *t[2] = {v[n - 1], v[(size_t)rand() % n]};
        tg__plan *p1 = NULL, *p2 = NULL;
        assert_int_equal(tg__plan_compile(t, 2, PLAN_ALL, &p1), 0);
        assert_int_equal(tg__plan_compile(t, 2, TG__PLAN_DEPS, &p2), 0);
        check_csr(p1);
        check_csr(p2);
        /* Without TG__PLAN_DEPS: the same tasks and slots, no
         * task-level dependencies. */
        tg__plan *p3 = NULL;
        assert_int_equal(tg__plan_compile(t, 2, TG__PLAN_FUSE, &p3), 0);
        assert_null(p3->deps_off);
        assert_null(p3->deps);
        assert_null(p3->n_users);
        assert_null(p3->dependents_off);
        assert_null(p3->dependents);
        check_slots(p3);
        assert_int_equal(p3->n_tasks, p1->n_tasks);
        assert_memory_equal(p3->op_begin, p1->op_begin,
                            (p1->n_tasks + 1) * sizeof *p1->op_begin);
        assert_memory_equal(p3->in, p1->in, p1->n_in * sizeof *p1->in);
        assert_memory_equal(p3->reads, p1->reads,
                            p1->n_slots * sizeof *p1->reads);
        tg__plan_free(p3);
        assert_int_equal(p1->n_ops, p2->n_ops);
        assert_true(p1->n_tasks <= p2->n_tasks);
        tg__plan_free(p1);
        tg__plan_free(p2);
        tg_value *out1[2], *out2[2];
        tg_compute_opts nofuse = {.no_fuse = true};
        assert_int_equal(tg_compute_many(t, 2, out1, NULL), 0);
        assert_int_equal(tg_compute_with(t, 2, out2, NULL, &nofuse), 0);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(tg_as_int(out1[k]), tg_as_int(out2[k]));
            tg_decref(out1[k]);
            tg_decref(out2[k]);
        }
        free(v);
        tg_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_cull_drops_unreachable),
        cmocka_unit_test(test_plan_dedupe_runs_identical_calls_once),
        cmocka_unit_test(test_plan_impure_calls_are_not_deduped),
        cmocka_unit_test(test_plan_fuses_linear_chains),
        cmocka_unit_test(test_plan_does_not_fuse_shared_or_target_results),
        cmocka_unit_test(test_plan_inlines_delayed_literals),
        cmocka_unit_test(test_plan_literal_twins_and_targets_share_values),
        cmocka_unit_test(test_plan_orders_depth_first),
        cmocka_unit_test(test_plan_of_plain_values_has_no_tasks),
        cmocka_unit_test(test_plan_random_dags_are_consistent),
    };
    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
