/* tests/test_progress.c - the progress bar: lines, in-place redraws,
 * quiet quick computes, failures, options and TG_PROGRESS. */
#include <time.h>

#include "schedulers/scheduler_internal.h"
#include "test_util.h"

/* Sleeps 1 ms, returns its argument. */
static tg_value *slow_id(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    return tg_incref(a[0]);
}

/* 99 leaves and one sum: exactly 100 tasks.  Runs it and returns what
 * the bar printed (malloc'd).  With fail, leaf 49 fails. */
static char *run_100(const tg_progress_opts *opts, bool fail)
{
    FILE *out = tmpfile();
    assert_non_null(out);
    tg_progress_opts o = *opts;
    o.stream = out;
    assert_int_equal(tg_progress_enable_with(&o), 0);
    tg_graph *g = tg_graph_new();
    tg_value *v[99];
    for (int i = 0; i < 99; i++)
        v[i] = TG_DELAYED(g, tt_fail_neg, tg_int(fail && i == 49 ? -1 : i));
    tg_value *root = tg_delayed_v(g, "sum", tt_sum, NULL, 0, 99, v);
    tg_value *r = tg_compute(root, NULL);
    assert_true(tg_is_error(r) == fail);
    tg_decref(r);
    tg_graph_free(g);
    assert_int_equal(tg_progress_enable(false), 0);
    long len = ftell(out);
    char *text = calloc(1, (size_t)len + 1);
    rewind(out);
    assert_int_equal(fread(text, 1, (size_t)len, out), (size_t)len);
    fclose(out);
    return text;
}

/* Runs first: the variable is read once, at the first compute. */
static void test_progress_env_var_turns_it_on(void **state)
{
    (void)state;
    setenv("TG_PROGRESS", "1", 1);
    assert_false(tg_progress_enabled());
    tg_graph *g = tg_graph_new();
    tg_decref(tg_compute(TG_DELAYED(g, tt_inc, tg_int(1)), NULL));
    assert_true(tg_progress_enabled()); /* quick: printed nothing */
    assert_int_equal(tg_progress_enable(false), 0);
    setenv("TG_PROGRESS", "0", 1);
    tg__progress_apply_env();
    assert_false(tg_progress_enabled());
    setenv("TG_PROGRESS", "yes", 1);
    tg__progress_apply_env();
    assert_true(tg_progress_enabled());
    assert_int_equal(tg_progress_enable(false), 0);
    unsetenv("TG_PROGRESS");
    tg_graph_free(g);
}

static void test_progress_lines_every_ten_percent(void **state)
{
    (void)state;
    tg_progress_opts o = {
        .mode = TG_PROGRESS_LINES, .immediate = true, .width = 10};
    char *text = run_100(&o, false);
    char *line = text;
    for (int k = 1; k <= 10; k++) {
        char want[64];
        snprintf(want, sizeof want, "[%.*s%*s] | %3d%% | %d/100 tasks | ", k,
                 "##########", 10 - k, "", 10 * k, 10 * k);
        assert_memory_equal(line, want, strlen(want));
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        /* elapsed seconds, then the time left until the end */
        if (k < 10)
            assert_non_null(strstr(line, "s, ~"));
        assert_true(k < 10 ? strstr(line, "s left") == nl - 6
                           : strstr(line, "left") == NULL);
        assert_int_equal(nl[-1], k < 10 ? 't' : 's');
        line = nl + 1;
    }
    assert_string_equal(line, "");
    free(text);
}

static void test_progress_tty_redraws_in_place(void **state)
{
    (void)state;
    tg_progress_opts o = {.mode = TG_PROGRESS_TTY, .immediate = true};
    char *text = run_100(&o, false);
    assert_memory_equal(text,
                        "\r[                                        ]"
                        " |   0% | 0/100 tasks | ",
                        64);
    char *last = strrchr(text, '\r');
    assert_memory_equal(last,
                        "\r[########################################]"
                        " | 100% | 100/100 tasks | ",
                        68);
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
    free(text);
}

static void test_progress_quick_compute_prints_nothing(void **state)
{
    (void)state;
    tg_progress_opts o = {.mode = TG_PROGRESS_LINES}; /* min 500 ms */
    char *text = run_100(&o, false);
    assert_string_equal(text, "");
    free(text);
}

static void test_progress_failure_is_reported(void **state)
{
    (void)state;
    tg_progress_opts o = {.mode = TG_PROGRESS_LINES, .immediate = true};
    char *text = run_100(&o, true);
    size_t len = strlen(text);
    assert_true(len > 10);
    assert_string_equal(text + len - 10, " | failed\n");
    /* leaf 49 fails: 49 leaves ran before it, 50 ended counting it. */
    assert_non_null(strstr(text, "|  50% | 50/100 tasks"));
    assert_null(strstr(text, "100%"));
    free(text);
}

static void test_progress_shows_long_computes(void **state)
{
    (void)state;
    FILE *out = tmpfile();
    tg_progress_opts o = {
        .stream = out, .mode = TG_PROGRESS_LINES, .min_ms = 5};
    assert_int_equal(tg_progress_enable_with(&o), 0);
    assert_true(tg_progress_enabled());
    tg_graph *g = tg_graph_new();
    tg_value *v[20];
    for (int i = 0; i < 20; i++)
        v[i] = TG_DELAYED(g, slow_id, tg_int(i));
    tg_value *r =
        tg_compute(tg_delayed_v(g, "sum", tt_sum, NULL, 0, 20, v), NULL);
    assert_int_equal(tg_as_int(r), 190);
    tg_decref(r);
    assert_int_equal(tg_progress_enable(false), 0);
    assert_false(tg_progress_enabled());
    char text[4096] = "";
    rewind(out);
    size_t n = fread(text, 1, sizeof text - 1, out);
    text[n] = '\0';
    /* shown after 5 ms (a few tasks in), then on to 100 %. */
    assert_non_null(strstr(text, "| 100% | 21/21 tasks | "));
    assert_null(strstr(text, "|   0%"));
    fclose(out);
    tg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_env_var_turns_it_on),
        cmocka_unit_test(test_progress_lines_every_ten_percent),
        cmocka_unit_test(test_progress_tty_redraws_in_place),
        cmocka_unit_test(test_progress_quick_compute_prints_nothing),
        cmocka_unit_test(test_progress_failure_is_reported),
        cmocka_unit_test(test_progress_shows_long_computes),
    };
    return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
