/* bench/bench_csv_shapes.c - CSV shapes that used to cost more than
 * linear time, each timed on the sync scheduler:
 *
 *   bench_csv_shapes wide DIR [COLUMNS]        (default 100,000)
 *       a frame of COLUMNS int64 columns built and computed through
 *       tg_df_from_delayed, and a header-only file of as many columns
 *       read and computed through a select of every column;
 *   bench_csv_shapes field DIR [MIB [BS_KIB]]  (default 50, 256)
 *       a file holding one quoted field of MIB MiB, counted as one
 *       block and in blocks of BS_KIB KiB.
 *
 * DIR receives the generated file (keep it outside the repository).
 * On a shared 2-core AMD EPYC machine (debugoptimized build), before
 * and after the name index and the block-bounded record scan:
 *
 *   wide, 100,000 columns    build 71.2 s -> 0.51 s, read 200.9 s -> 0.46 s
 *   field, 50 MiB at 256 KiB 26.2 s -> 0.62 s (one block: 0.18 s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <taskgraph.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "bench_csv_shapes: %s: %s\n", what, why);
    return 1;
}

static int wide(const char *dir, size_t n)
{
    char **names = malloc(n * sizeof *names), path[4096];
    tg_dtype *types = calloc(n, sizeof *types);
    snprintf(path, sizeof path, "%s/wide.csv", dir);
    FILE *f = fopen(path, "w");
    if (!names || !types || !f)
        return fail(path, "cannot write");
    for (size_t i = 0; i < n; i++) {
        char buf[24];
        snprintf(buf, sizeof buf, "c%zu", i);
        names[i] = strdup(buf);
        fprintf(f, "%s%s", i ? "," : "", buf);
    }
    fputc('\n', f);
    fclose(f);

    double t0 = now_s();
    tg_frame_builder *b =
        tg_frame_builder_new(n, (const char *const *)names, types);
    for (size_t i = 0; b && i < n; i++)
        tg_frame_builder_int(b, i, (int64_t)i);
    tg_value *frame = b ? tg_frame_builder_finish(b) : NULL;
    if (!frame)
        return fail("frame builder", tg_last_error());
    tg_graph *g = tg_graph_new();
    tg_dataframe *df =
        tg_df_from_delayed(g, 1, &frame, n, (const char *const *)names, types);
    tg_value *v = df ? tg_df_compute(df, NULL) : NULL;
    if (!v || tg_is_error(v))
        return fail("from_delayed", v ? tg_error_message(v) : tg_last_error());
    tg_decref(v);
    tg_graph_free(g);
    double t1 = now_s();
    g = tg_graph_new();
    df = tg_read_csv(g, path, NULL);
    v = df ? tg_df_compute(tg_df_select(df, n, (const char *const *)names),
                           NULL)
           : NULL;
    if (!v || tg_is_error(v))
        return fail("read_csv", v ? tg_error_message(v) : tg_last_error());
    tg_decref(v);
    tg_graph_free(g);
    double t2 = now_s();
    printf("%zu columns: build a frame %.3f s, read a header %.3f s\n", n,
           t1 - t0, t2 - t1);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(types);
    return 0;
}

static int field(const char *dir, size_t mib, size_t bs_kib)
{
    char path[4096], line[64];
    snprintf(path, sizeof path, "%s/field.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return fail(path, "cannot write");
    fputs("k,v\n1,\"", f);
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (size_t i = 0; i < (mib << 20) / sizeof line; i++)
        fwrite(line, 1, sizeof line, f);
    fputs("\"\n2,y\n", f);
    fclose(f);
    size_t sizes[2] = {0, bs_kib << 10};
    for (int k = 0; k < 2; k++) {
        tg_graph *g = tg_graph_new();
        tg_csv_opts o = {.blocksize = sizes[k]};
        double t0 = now_s();
        tg_value *v = tg_compute(tg_df_len(tg_read_csv(g, path, &o)), NULL);
        double t1 = now_s();
        if (!v || tg_is_error(v))
            return fail("len", v ? tg_error_message(v) : tg_last_error());
        printf("%zu MiB field, %s: %.3f s\n", mib,
               k ? "small blocks" : "one block", t1 - t0);
        tg_decref(v);
        tg_graph_free(g);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "wide") == 0)
        return wide(argv[2], argc > 3 ? strtoul(argv[3], NULL, 10) : 100000);
    if (argc >= 3 && strcmp(argv[1], "field") == 0)
        return field(argv[2], argc > 3 ? strtoul(argv[3], NULL, 10) : 50,
                     argc > 4 ? strtoul(argv[4], NULL, 10) : 256);
    fprintf(stderr, "usage: bench_csv_shapes wide DIR [COLUMNS]\n"
                    "       bench_csv_shapes field DIR [MIB [BS_KIB]]\n");
    return 2;
}
