/* tests/fuzz/fuzz_npy.c - libFuzzer harness for reading .npy files.
 *
 * The first byte picks a chunk grid; the rest is written to a file that
 * tg_array_from_npy reads on the sync scheduler, as one chunk and then
 * in chunks of the grid (at most four per axis along the first two
 * axes, so an input runs at most sixteen read tasks).  Properties:
 *   - both reads give the same error message, or the same array (dtype,
 *     shape and bytes);
 *   - an array that reads is written by tg_array_to_npy and read back,
 *     in the same chunks, as the same array.
 * ASan and UBSan report the rest, and LeakSanitizer anything not
 * released.  See README.md to run it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <taskgraph.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96], copy[96];

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_npy: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void remove_dir(void)
{
    unlink(path);
    unlink(copy);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "/tmp/tg-fuzz-npy-XXXXXX");
    if (!mkdtemp(dir))
        fail("mkdtemp", dir);
    snprintf(path, sizeof path, "%s/in.npy", dir);
    snprintf(copy, sizeof copy, "%s/copy.npy", dir);
    atexit(remove_dir);
    return 0;
}

/* The file at file read in chunks (NULL: one chunk), computed on sync:
 * an n-d array value or an error value (a build failure becomes one).
 * With shape non-NULL, the array's ndim and extents go there; with
 * write_to non-NULL, an array that reads is also written there (a
 * failure to write fails the run). */
static tg_value *read_npy(const char *file, const size_t *chunks, size_t *ndim,
                          size_t *shape, const char *write_to)
{
    tg_graph *g = tg_graph_new();
    tg_scheduler *s = tg_scheduler_sync();
    tg_array *a = tg_array_from_npy(g, file, chunks);
    tg_value *v =
        a ? tg_array_compute(a, s) : tg_error("build: %s", tg_last_error());
    if (a && shape) {
        *ndim = tg_array_ndim(a);
        if (*ndim)
            memcpy(shape, tg_array_shape(a), *ndim * sizeof *shape);
    }
    if (write_to && !tg_is_error(v) && tg_array_to_npy(a, write_to, s) != 0)
        fail("cannot write the array read", tg_last_error());
    tg_scheduler_free(s);
    tg_graph_free(g);
    return v;
}

/* NULL when a and b are the same array (bytes compared, so NaNs too),
 * else how they differ. */
static const char *differ(const tg_value *a, const tg_value *b)
{
    if (!tg_is_ndarray(a) || !tg_is_ndarray(b))
        return "not an n-d array";
    size_t nd = tg_ndarray_ndim(a);
    if (tg_ndarray_dtype(a) != tg_ndarray_dtype(b))
        return "the dtypes differ";
    if (tg_ndarray_ndim(b) != nd
        || (nd
            && memcmp(tg_ndarray_shape(a), tg_ndarray_shape(b),
                      nd * sizeof(size_t))
                   != 0))
        return "the shapes differ";
    size_t item = tg_ndarray_dtype(a) == TG_DT_BOOL ? 1 : 8;
    size_t n = tg_ndarray_size(a) * item;
    if (n && memcmp(tg_ndarray_data(a), tg_ndarray_data(b), n) != 0)
        return "the elements differ";
    return NULL;
}

/* Both errors with one message, or the same array: else fails. */
static void same(const tg_value *a, const tg_value *b, const char *what)
{
    if (tg_is_error(a) || tg_is_error(b)) {
        if (!tg_is_error(a) || !tg_is_error(b))
            fail(what,
                 tg_is_error(a) ? tg_error_message(a) : tg_error_message(b));
        if (strcmp(tg_error_message(a), tg_error_message(b)) != 0) {
            fprintf(stderr, "fuzz_npy: '%s'\n", tg_error_message(b));
            fail(what, tg_error_message(a));
        }
        return;
    }
    const char *why = differ(a, b);
    if (why)
        fail(what, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0)
        fail("cannot write", path);
    size_t nd = 0, shape[TG_NDARRAY_MAX_DIMS], chunks[TG_NDARRAY_MAX_DIMS];
    tg_value *whole = read_npy(path, NULL, &nd, shape, NULL);
    /* chunks of 1 to 4 elements (two bits each), but at least a quarter
     * of the axis, along the first two axes; whole axes after them */
    for (size_t k = 0; k < nd; k++) {
        size_t c = 1 + ((size_t)data[0] >> (2 * k) & 3);
        size_t quarter = shape[k] / 4 + (shape[k] % 4 != 0);
        chunks[k] = k >= 2 ? 0 : c > quarter ? c : quarter;
    }
    const size_t *grid = nd ? chunks : NULL;
    tg_value *split = read_npy(path, grid, NULL, NULL, copy);
    same(whole, split, "one chunk and many disagree");
    if (!tg_is_error(whole)) {
        tg_value *back = read_npy(copy, grid, NULL, NULL, NULL);
        same(whole, back, "written and read back, the array differs");
        tg_decref(back);
    }
    tg_decref(whole);
    tg_decref(split);
    return 0;
}
