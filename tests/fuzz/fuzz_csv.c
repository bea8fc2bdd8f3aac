/* tests/fuzz/fuzz_csv.c - libFuzzer harness for the CSV parser.
 *
 * The first byte picks the options (delimiter, na_values, a tiny
 * type-inference sample); the rest is CSV text for tg_frame_from_csv.
 * A failure must be an error value naming "<memory>:line" (or out of
 * memory).  A frame has every cell read, then is written back and read
 * again with its own types given, two ways, checking what
 * taskgraph/dataframe.h promises:
 *   - with na_rep "NA" read back with na_values {"NA"}: the same frame,
 *     cell for cell (NaN aside, which is written "nan" and reads back
 *     as null);
 *   - with the default writer: the same rows, a null of a one-column
 *     string frame coming back as the empty string.
 * abort() reports a broken property; ASan, UBSan and LeakSanitizer the
 * rest.  See README.md to run it.
 */
#include <math.h>

#include "csv_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHO "fuzz_csv"

static bool has_nan(const tg_value *f)
{
    for (size_t c = 0; c < tg_frame_ncols(f); c++) {
        const double *d = tg_frame_float64(f, c);
        for (size_t r = 0; d && r < tg_frame_nrows(f); r++)
            if (!tg_frame_is_null(f, c, r) && isnan(d[r]))
                return true;
    }
    return false;
}

/* f written with wo, read back with ro and f's types: a new frame. */
static tg_value *round_trip(const tg_value *f, const tg_csv_opts *wo,
                            tg_csv_opts ro)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        csv_fail(WHO, "open_memstream", NULL);
    if (tg_frame_write_csv_opts(f, out, wo) != 0)
        csv_fail(WHO, "a frame does not write", tg_last_error());
    fclose(out);
    size_t n = tg_frame_ncols(f);
    const char **names = malloc((n + 1) * sizeof *names);
    tg_dtype *types = malloc((n + 1) * sizeof *types);
    for (size_t c = 0; c < n; c++) {
        names[c] = tg_frame_colname(f, c);
        types[c] = tg_frame_coltype(f, c);
    }
    ro.n_dtypes = n, ro.dtype_names = names, ro.dtypes = types;
    ro.sample_bytes = 0;
    tg_value *back = tg_frame_from_csv(buf, len, &ro);
    if (tg_is_error(back)) {
        fprintf(stderr, "written:\n%.*s\n", (int)(len > 2000 ? 2000 : len),
                buf);
        csv_fail(WHO, "what was written does not read back",
                 tg_error_message(back));
    }
    free(names);
    free(types);
    free(buf);
    return back;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char delims[] = {',', ';', '\t', '|'};
    static const char *const na[] = {"NA", "-", "x"};
    tg_csv_opts o = {.delimiter = delims[data[0] & 3]};
    if (data[0] & 4)
        o.n_na_values = 3, o.na_values = na;
    if (data[0] & 8)
        o.sample_bytes = 16;
    const char *text = (const char *)data + 1;
    tg_value *f = tg_frame_from_csv(text, size - 1, &o);
    if (tg_is_error(f)) {
        const char *msg = tg_error_message(f);
        if (!strstr(msg, "<memory>:") && !strstr(msg, "out of memory"))
            csv_fail(WHO, "an error without its line", msg);
        tg_decref(f);
        return 0;
    }
    if (csv_touch(f) == 1) /* keeps the reads */
        fputc(0, stderr);

    if (!has_nan(f)) {
        const char *rep[] = {"NA"};
        tg_csv_opts wo = {.delimiter = o.delimiter, .na_rep = "NA"};
        tg_csv_opts ro = {
            .delimiter = o.delimiter, .n_na_values = 1, .na_values = rep};
        tg_value *back = round_trip(f, &wo, ro);
        const char *why = csv_diff(f, back, false);
        if (why)
            csv_fail(WHO, "na_rep round trip", why);
        tg_decref(back);
        tg_csv_opts dflt = {.delimiter = o.delimiter};
        back = round_trip(f, &dflt, dflt);
        why = csv_diff(f, back, tg_frame_ncols(f) == 1);
        if (why)
            csv_fail(WHO, "default round trip", why);
        tg_decref(back);
    }
    tg_decref(f);
    return 0;
}
