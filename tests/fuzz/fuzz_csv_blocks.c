/* tests/fuzz/fuzz_csv_blocks.c - libFuzzer harness for splitting CSV
 * files into blocks.
 *
 * The first two bytes pick a blocksize (and the delimiter); the rest is
 * written to a file that tg_read_csv reads twice, as one block and in
 * blocks of that size, computing on the sync scheduler.  Every
 * blocksize must give the same answer (dataframe/README.md, "Block
 * rule"): the same frame, or the same error.  Blocks are at least
 * 1/64 of the file, so an input runs at most a couple of hundred
 * tasks.
 * See README.md to run it.
 */
#include <unistd.h>

#include "csv_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHO "fuzz_csv_blocks"

static char dir[64], path[96];

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "/tmp/tg-fuzz-csv-XXXXXX");
    if (!mkdtemp(dir))
        csv_fail(WHO, "mkdtemp", NULL);
    snprintf(path, sizeof path, "%s/in.csv", dir);
    atexit(remove_dir);
    return 0;
}

/* The file read with blocksize bs: a frame or an error value (a build
 * failure becomes one too). */
static tg_value *read_all(size_t bs, char delim)
{
    tg_graph *g = tg_graph_new();
    tg_csv_opts o = {.blocksize = bs, .delimiter = delim, .sample_bytes = 64};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    tg_scheduler *s = tg_scheduler_sync();
    tg_value *v =
        df ? tg_df_compute(df, s) : tg_error("build: %s", tg_last_error());
    tg_scheduler_free(s);
    tg_graph_free(g);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t len = size - 2;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data + 2, 1, len, f) != len || fclose(f) != 0)
        csv_fail(WHO, "cannot write", path);
    char delim = data[0] & 0x80 ? ';' : ',';
    size_t bs = 1 + ((size_t)(data[0] & 0x7f) << 8 | data[1]) % (len + 1);
    if (bs < len / 64 + 1)
        bs = len / 64 + 1;
    tg_value *whole = read_all(0, delim), *split = read_all(bs, delim);
    if (tg_is_error(whole) != tg_is_error(split)) {
        fprintf(stderr, "blocksize %zu\n", bs);
        csv_fail(WHO, "one read fails, the other not",
                 tg_is_error(whole) ? tg_error_message(whole)
                                    : tg_error_message(split));
    }
    if (tg_is_error(whole)) {
        if (strcmp(tg_error_message(whole), tg_error_message(split)) != 0) {
            fprintf(stderr, "blocksize %zu: '%s'\n", bs,
                    tg_error_message(split));
            csv_fail(WHO, "the errors differ", tg_error_message(whole));
        }
    } else {
        csv_touch(split);
        const char *why = csv_diff(whole, split, false);
        if (why) {
            fprintf(stderr, "blocksize %zu\n", bs);
            csv_fail(WHO, "the frames differ", why);
        }
    }
    tg_decref(whole);
    tg_decref(split);
    return 0;
}
