/* bench/bench_df.c - the dataframe benchmark: a seeded generator of an
 * `events` CSV table and eleven queries over it (six, a full parse, two
 * sorts, a join and a transform), each printing wall time and peak RSS.
 * The two sort queries order by (key asc, x desc), nulls last: one
 * prints the first 100 rows (a top n per partition, no shuffle), the
 * other writes the whole sort to PATH.sorted.csv (a full
 * sample-splitter-shuffle sort; the file is removed afterwards).  The
 * join matches events to a 920-row dims table (key, label, weight; made
 * in memory, one partition, so broadcast) and sums x * weight by label;
 * the transform standardises x within each grp (a registered function
 * written for one group's frame) and reports count and std of z.
 *
 *   bench_df gen PATH [ROWS]           write the table (default 10 M rows)
 *   bench_df run PATH [THREADS [BS_MB]] [QUERY...] run the queries
 *                                      (all, or the numbered ones)
 *
 * Each query runs in a forked child so its peak RSS (VmHWM) is its own.
 * With BENCH_DF_TRACE=PATH in the environment, each query's tasks are
 * recorded by the profiler, written to PATH as a Chrome trace and
 * summed per function on stderr.
 * The baseline, run the same way, is a plain read of the file with a
 * newline count (the I/O floor); every query also prints its time as a
 * ratio to it and the CSV bytes parsed per second per thread.  THREADS
 * = 0 runs on the sync scheduler, otherwise on the work-stealing pool.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <taskgraph.h>

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int gen(const char *path, long rows)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    fputs("id,key,grp,x,y,ts\n", f);
    for (long i = 0; i < rows; i++) {
        uint64_t r = next_u64(), s = next_u64();
        char key[16] = "";
        if (r % 50 != 0) /* ~2 % null keys */
            snprintf(key, sizeof key, "key_%04u", (unsigned)(s % 1000));
        char x[32] = "";
        if ((r >> 8) % 100 != 0) { /* ~1 % null x */
            double v = ((double)((s >> 12) % 2000001) - 1000000) / 1e4;
            snprintf(x, sizeof x, "%.4f", v);
        }
        long sec = 1704067200L + (long)((r >> 20) % 31536000);
        time_t t = sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        fprintf(f, "%ld,%s,%u,%s,%lld,%04d-%02d-%02dT%02d:%02d:%02d\n", i, key,
                (unsigned)((r >> 40) % 100), x,
                (long long)((s >> 30) % 1000000000) - 500000000,
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
    }
    return fclose(f) != 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

typedef struct query {
    const char *name;
    int id;
} query;

static const query queries[] = {
    {"scan (baseline: read + count newlines)", 0},
    {"count rows", 1},
    {"count x > 0", 2},
    {"groupby key mean(x)", 3},
    {"groupby (key, grp) sum(y), count(y)", 4},
    {"value_counts(grp)", 5},
    {"count/mean/std/min/max of x", 6},
    {"parse every column (count of each)", 7},
    {"sort (key, x desc) first 100 rows", 8},
    {"sort (key, x desc) whole to CSV", 9},
    {"join dims on key, groupby label sum(x*w)", 10},
    {"transform: standardise x within grp", 11},
};

/* The dims table: 920 keys (key_0000..key_0919 of the events' 1,000),
 * each with a label (23 of them) and a weight, as one frame. */
#define N_DIMS 920
static tg_value *dims_frame(void)
{
    const char *names[] = {"key", "label", "weight"};
    tg_dtype types[] = {TG_DT_STRING, TG_DT_STRING, TG_DT_FLOAT64};
    tg_frame_builder *b = tg_frame_builder_new(3, names, types);
    for (unsigned i = 0; i < N_DIMS; i++) {
        char key[16], label[16];
        int kl = snprintf(key, sizeof key, "key_%04u", i);
        int ll = snprintf(label, sizeof label, "label_%02u", (i * 7) % 23);
        tg_frame_builder_str(b, 0, key, (size_t)kl);
        tg_frame_builder_str(b, 1, label, (size_t)ll);
        tg_frame_builder_float(b, 2, 0.5 + (double)(i % 8) * 0.25);
    }
    return tg_frame_builder_finish(b);
}

/* The transform's function, written for one group: grp and
 * z = (x - mean) / sd of the group's non-null x (ddof 1; z null where
 * x is). */
static tg_value *standardise(tg_value *const *a, size_t nargs, void *ctx)
{
    (void)nargs, (void)ctx;
    const tg_value *f = a[0];
    long cg = tg_frame_colindex(f, "grp"), cx = tg_frame_colindex(f, "x");
    if (cg < 0 || cx < 0)
        return tg_error("standardise: no grp or x column");
    size_t n = tg_frame_nrows(f), m = 0;
    const double *x = tg_frame_float64(f, (size_t)cx);
    const int64_t *grp = tg_frame_int64(f, (size_t)cg);
    double sum = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        if (!tg_frame_is_null(f, (size_t)cx, i))
            sum += x[i], m++;
    double mean = m ? sum / (double)m : 0;
    for (size_t i = 0; i < n; i++)
        if (!tg_frame_is_null(f, (size_t)cx, i))
            ss += (x[i] - mean) * (x[i] - mean);
    double sd = m > 1 ? sqrt(ss / (double)(m - 1)) : 0;
    const char *names[] = {"grp", "z"};
    tg_dtype types[] = {TG_DT_INT64, TG_DT_FLOAT64};
    tg_frame_builder *b = tg_frame_builder_new(2, names, types);
    for (size_t i = 0; i < n; i++) {
        tg_frame_builder_int(b, 0, grp[i]);
        if (tg_frame_is_null(f, (size_t)cx, i) || sd == 0)
            tg_frame_builder_null(b, 1);
        else
            tg_frame_builder_float(b, 1, (x[i] - mean) / sd);
    }
    return tg_frame_builder_finish(b);
}

static long scan(const char *path)
{
    int fd = open(path, O_RDONLY);
    static char buf[1 << 20];
    long lines = 0;
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    if (fd >= 0)
        close(fd);
    return lines - 1;
}

/* Runs query q; returns a one-line summary of its answer in out. */
static int run_query(int q, const char *path, tg_scheduler *s, size_t bs,
                     char *out, size_t cap)
{
    if (q == 0) {
        snprintf(out, cap, "%ld lines", scan(path));
        return 0;
    }
    tg_graph *g = tg_graph_new();
    tg_csv_opts o = {.blocksize = bs};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    if (!df) {
        fprintf(stderr, "read_csv: %s\n", tg_last_error());
        return 1;
    }
    const char *k1[] = {"key"}, *k2[] = {"key", "grp"};
    tg_agg mean = {"x", TG_AGG_MEAN, NULL};
    tg_agg sc[] = {{"y", TG_AGG_SUM, NULL}, {"y", TG_AGG_COUNT, NULL}};
    tg_agg st[] = {{"x", TG_AGG_COUNT, NULL},
                   {"x", TG_AGG_MEAN, NULL},
                   {"x", TG_AGG_STD, NULL},
                   {"x", TG_AGG_MIN, NULL},
                   {"x", TG_AGG_MAX, NULL}};
    tg_agg all[] = {{"id", TG_AGG_COUNT, NULL},  {"key", TG_AGG_COUNT, NULL},
                    {"grp", TG_AGG_COUNT, NULL}, {"x", TG_AGG_COUNT, NULL},
                    {"y", TG_AGG_COUNT, NULL},   {"ts", TG_AGG_COUNT, NULL}};
    const char *sk[] = {"key", "x"};
    const bool asc[] = {true, false};
    char out_path[4096];
    snprintf(out_path, sizeof out_path, "%s.sorted.csv", path);
    tg_value *t = NULL;
    switch (q) {
    case 1: t = tg_df_len(df); break;
    case 2:
        t = tg_df_len(tg_df_filter(df, tg_gt(tg_col("x"), tg_lit_int(0))));
        break;
    case 3: t = tg_df_concat(tg_df_groupby(df, 1, k1, 1, &mean, NULL)); break;
    case 4: t = tg_df_concat(tg_df_groupby(df, 2, k2, 2, sc, NULL)); break;
    case 5: t = tg_df_concat(tg_df_value_counts(df, "grp", true)); break;
    case 6: t = tg_df_agg(df, 5, st, NULL); break;
    case 7: t = tg_df_agg(df, 6, all, NULL); break;
    case 8:
        t = tg_df_head(tg_df_sort_values(df, 2, sk, asc, NULL), 100, 0);
        break;
    case 9:
        t = tg_to_csv(tg_df_sort_values(df, 2, sk, asc, NULL), out_path);
        break;
    case 10: {
        const char *dn[] = {"key", "label", "weight"};
        tg_dtype dt[] = {TG_DT_STRING, TG_DT_STRING, TG_DT_FLOAT64};
        tg_value *dims = dims_frame();
        tg_dataframe *d = tg_df_from_delayed(g, 1, &dims, 3, dn, dt);
        tg_merge_opts mo = {.n_on = 1, .on = k1};
        tg_dataframe *j = tg_df_assign(tg_df_merge(df, d, &mo), "xw",
                                       tg_mul(tg_col("x"), tg_col("weight")));
        tg_agg xs = {"xw", TG_AGG_SUM, NULL};
        t = tg_df_concat(
            tg_df_groupby(j, 1, (const char *[]){"label"}, 1, &xs, NULL));
        break;
    }
    default: {
        const char *gx[] = {"grp", "x"}, *zn[] = {"grp", "z"};
        tg_dtype zt[] = {TG_DT_INT64, TG_DT_FLOAT64};
        tg_dataframe *z = tg_df_transform(tg_df_select(df, 2, gx), 1, gx,
                                          "bench.standardise", 2, zn, zt, NULL);
        tg_agg za[] = {{"z", TG_AGG_COUNT, NULL}, {"z", TG_AGG_STD, NULL}};
        t = tg_df_agg(z, 2, za, NULL);
        break;
    }
    }
    /* BENCH_DF_TRACE=PATH: record the compute's tasks, write them as a
     * Chrome trace to PATH and print time per function to stderr. */
    const char *trace = getenv("BENCH_DF_TRACE");
    tg_profiler *prof = trace && *trace ? tg_profiler_new() : NULL;
    if (prof && tg_profiler_start(prof) != 0) {
        tg_profiler_free(prof);
        prof = NULL;
    }
    tg_value *r = tg_compute(t, s);
    if (prof) {
        if (tg_profiler_write_trace(prof, trace) != 0)
            fprintf(stderr, "trace: %s\n", tg_last_error());
        tg_profiler_summary(prof, stderr);
        tg_profiler_free(prof);
    }
    int rc = 0;
    if (tg_is_error(r)) {
        fprintf(stderr, "%s\n", tg_error_message(r));
        rc = 1;
    } else if (tg_typeof(r) == TG_INT) {
        snprintf(out, cap, "%lld", (long long)tg_as_int(r));
    } else if (q == 8) {
        tg_frame_write_csv(r, stdout); /* the first 100 rows */
        fflush(stdout);                /* the child leaves by _exit */
        size_t n = tg_frame_nrows(r), kl = 0;
        const char *k0 = n ? tg_frame_str(r, 1, 0, &kl) : NULL;
        snprintf(out, cap, "%zu rows, first key %.*s", n, (int)kl,
                 k0 ? k0 : "");
    } else {
        size_t n = tg_frame_nrows(r);
        int w = snprintf(out, cap, "%zu rows", n);
        if (n && tg_frame_coltype(r, tg_frame_ncols(r) - 1) == TG_DT_FLOAT64)
            snprintf(out + w, cap - (size_t)w, ", first %s = %.6f",
                     tg_frame_colname(r, tg_frame_ncols(r) - 1),
                     tg_frame_float64(r, tg_frame_ncols(r) - 1)[0]);
    }
    tg_decref(r);
    tg_graph_free(g);
    if (q == 9)
        unlink(out_path);
    return rc;
}

/* True when query id was asked for (none named: every query; the
 * baseline always runs, for the ratios). */
static bool wanted(int id, int n, char **ids)
{
    if (n == 0 || id == 0)
        return true;
    for (int i = 0; i < n; i++)
        if (atoi(ids[i]) == id)
            return true;
    return false;
}

static int run(const char *path, int threads, size_t bs, int n_ids, char **ids)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    double mb = (double)st.st_size / 1e6, base = 0;
    printf("file %s: %.0f MB; scheduler %s (%d threads); blocksize %zu "
           "MiB\n",
           path, mb, threads ? "threads" : "sync", threads ? threads : 1,
           bs >> 20);
    printf("%-40s %8s %8s %9s %11s  %s\n", "query", "wall s", "x scan",
           "peak MiB", "MB/s/thread", "answer");
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        if (!wanted(queries[i].id, n_ids, ids))
            continue;
        int pfd[2];
        if (pipe(pfd) != 0)
            return 1;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            tg_scheduler *s =
                threads ? tg_scheduler_threads(threads) : tg_scheduler_sync();
            char ans[256] = "";
            double t0 = now_s();
            int rc = run_query(queries[i].id, path, s, bs, ans, sizeof ans);
            double dt = now_s() - t0;
            char msg[400];
            int len = snprintf(msg, sizeof msg, "%d %.6f %ld %s", rc, dt,
                               peak_rss_kib(), ans);
            if (write(pfd[1], msg, (size_t)len) != len)
                rc = 1;
            tg_scheduler_free(s);
            _exit(rc);
        }
        close(pfd[1]);
        char msg[400] = "";
        ssize_t n = read(pfd[0], msg, sizeof msg - 1);
        close(pfd[0]);
        int status;
        waitpid(pid, &status, 0);
        int rc = 1;
        double dt = 0;
        long kib = 0;
        int off = 0;
        if (n > 0)
            sscanf(msg, "%d %lf %ld %n", &rc, &dt, &kib, &off);
        if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("%-40s FAILED\n", queries[i].name);
            return 1;
        }
        if (i == 0)
            base = dt;
        int nt = threads ? threads : 1;
        printf("%-40s %8.3f %8.2f %9.1f %11.0f  %s\n", queries[i].name, dt,
               dt / base, (double)kib / 1024, mb / dt / nt, msg + off);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], argc > 3 ? atol(argv[3]) : 10000000L);
    if (tg_register("bench.standardise", standardise, NULL) != 0) {
        fprintf(stderr, "tg_register: %s\n", tg_last_error());
        return 1;
    }
    if (argc >= 3 && strcmp(argv[1], "run") == 0) {
        int threads = argc > 3 ? atoi(argv[3]) : 2;
        size_t bs = (size_t)(argc > 4 ? atol(argv[4]) : 16) << 20;
        return run(argv[2], threads, bs, argc > 5 ? argc - 5 : 0, argv + 5);
    }
    fprintf(stderr,
            "usage: %s gen PATH [ROWS] | run PATH [THREADS [BS_MB [QUERY...]]]"
            "\n",
            argv[0]);
    return 2;
}
