/* tests/df_util.h - helpers shared by the dataframe tests: temporary
 * files, frames rendered as CSV text for exact comparisons, and the list
 * of schedulers every result must agree on.
 */
#ifndef TG_TESTS_DF_UTIL_H
#define TG_TESTS_DF_UTIL_H

#include <unistd.h>

#include "runtime/alloc_internal.h"
#include "test_util.h"

/* A fresh directory under /tmp; the caller removes it with td_rmdir. */
static inline char *td_mkdir(void)
{
    char *dir = strdup("/tmp/tg-df-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static inline void td_rmdir(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* Writes text to dir/name; returns the path (static buffer). */
static inline const char *td_write(const char *dir, const char *name,
                                   const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

/* The frame as CSV text (malloc'd), for exact comparisons. */
static inline char *td_csv(const tg_value *frame)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(tg_frame_write_csv(frame, f), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* Asserts that frame v (a new reference, released here) prints as
 * want. */
#define td_assert_frame(v, want)                                               \
    do {                                                                       \
        tg_value *v_ = (v);                                                    \
        if (tg_is_error(v_))                                                   \
            fail_msg("error: %s", tg_error_message(v_));                       \
        char *got_ = td_csv(v_);                                               \
        assert_string_equal(got_, want);                                       \
        free(got_);                                                            \
        tg_decref(v_);                                                         \
    } while (0)

/* The schedulers results must agree on: sync, the work-stealing pool
 * with 2 and 4 threads, loopback, where every task's inputs and results
 * cross the wire codec, and the local cluster of tt_start_cluster (both
 * refuse local calls). */
typedef tg_scheduler *(*td_sched_fn)(void);
static inline tg_scheduler *td_threads2(void)
{
    return tg_scheduler_threads(2);
}
static inline tg_scheduler *td_threads4(void)
{
    return tg_scheduler_threads(4);
}
static inline tg_scheduler *td_distributed(void)
{
    tg_scheduler *s = tg_scheduler_distributed(tg_cluster_address(tt_cluster));
    if (!s)
        fail_msg("cannot reach the local cluster: %s", tg_last_error());
    return s;
}
static const td_sched_fn td_schedulers[] = {tg_scheduler_sync, td_threads2,
                                            td_threads4, tg_scheduler_loopback,
                                            td_distributed};
#define TD_N_SCHEDULERS (sizeof td_schedulers / sizeof td_schedulers[0])

/* True for the schedulers that run tasks as a cluster does. */
static inline bool td_crosses_wire(const tg_scheduler *s)
{
    return strcmp(tg_scheduler_name(s), "loopback") == 0
           || strcmp(tg_scheduler_name(s), "distributed") == 0;
}

/* text written to dir/name and read as a dataframe of blocksize bs
 * (0: one block per file); fails the test when it cannot be read. */
static inline tg_dataframe *td_read_text(tg_graph *g, const char *dir,
                                         const char *name, const char *text,
                                         size_t bs)
{
    const char *path = td_write(dir, name, text);
    tg_csv_opts o = {.blocksize = bs};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    if (!df)
        fail_msg("read_csv: %s", tg_last_error());
    return df;
}

/* Computes t[0..n) (n <= 16) on s; each must print as want[i].  what
 * names the case in a failure. */
static inline void td_assert_all(tg_value **t, size_t n,
                                 const char *const *want, tg_scheduler *s,
                                 const char *what)
{
    tg_value *out[16];
    assert_true(n <= 16);
    if (tg_compute_many(t, n, out, s) != 0)
        fail_msg("%s on %s: %s", what, tg_scheduler_name(s),
                 out[0] ? tg_error_message(out[0]) : tg_last_error());
    for (size_t i = 0; i < n; i++) {
        char *got = td_csv(out[i]);
        if (strcmp(got, want[i]) != 0)
            fail_msg("%s on %s, target %zu:\n%s\nwanted:\n%s", what,
                     tg_scheduler_name(s), i, got, want[i]);
        free(got);
        tg_decref(out[i]);
    }
}

/* Calls the function registered as name on args (stolen); the result
 * must be an error containing want. */
static inline void td_check_bad_call(const char *name, size_t n,
                                     tg_value **args, const char *want)
{
    tg_fn fn = NULL;
    void *ctx = NULL;
    assert_int_equal(tg_lookup(name, &fn, &ctx), 0);
    tg_value *r = fn(args, n, ctx);
    assert_true(tg_is_error(r));
    if (!strstr(tg_error_message(r), want))
        fail_msg("%s: '%s' lacks '%s'", name, tg_error_message(r), want);
    tg_decref(r);
    for (size_t i = 0; i < n; i++)
        tg_decref(args[i]);
}

/* Calls the function registered as name on args (borrowed) with the
 * i-th allocation failing, for every i until a call succeeds: each
 * failure is an error value, never a crash or a leak (the ASan and
 * valgrind runs check the latter). */
static inline void td_sweep_oom(const char *name, size_t n, tg_value **args)
{
    tg_fn fn = NULL;
    void *ctx = NULL;
    assert_int_equal(tg_lookup(name, &fn, &ctx), 0);
    for (long i = 0;; i++) {
        tg__oom_inject(i, false);
        tg_value *r = fn(args, n, ctx);
        tg__oom_inject(-1, false);
        bool failed = tg_is_error(r);
        if (failed && !strstr(tg_error_message(r), "out of memory"))
            fail_msg("%s, allocation %ld: %s", name, i, tg_error_message(r));
        tg_decref(r);
        if (!failed)
            break;
        assert_true(i < 10000);
    }
}

#endif /* TG_TESTS_DF_UTIL_H */
