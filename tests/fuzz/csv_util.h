/* tests/fuzz/csv_util.h - what the CSV fuzzers share: comparing two
 * frames cell by cell (floats by their bits, so -0.0 and NaN payloads
 * count) and failing with a message libFuzzer shows.
 */
#ifndef TG_TESTS_FUZZ_CSV_UTIL_H
#define TG_TESTS_FUZZ_CSV_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <taskgraph.h>

static void csv_fail(const char *who, const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", who, what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* Reads every cell of f (so ASan sees each byte the frame claims). */
static size_t csv_touch(const tg_value *f)
{
    size_t sum = 0, len;
    for (size_t c = 0; c < tg_frame_ncols(f); c++) {
        sum += strlen(tg_frame_colname(f, c));
        const int64_t *i = tg_frame_int64(f, c);
        const double *d = tg_frame_float64(f, c);
        const uint8_t *b = tg_frame_bool(f, c);
        for (size_t r = 0; r < tg_frame_nrows(f); r++) {
            sum += tg_frame_is_null(f, c, r);
            sum += i ? (size_t)i[r] : d ? (size_t)(d[r] == d[r]) : 0;
            sum += b ? b[r] : 0;
            const char *s = tg_frame_str(f, c, r, &len);
            for (size_t k = 0; s && k < len; k++)
                sum += (unsigned char)s[k];
        }
    }
    return sum;
}

/* NULL when a and b hold the same names, types, nulls and values (a
 * string column's null may be b's empty string when loose_str); else
 * what differs. */
static const char *csv_diff(const tg_value *a, const tg_value *b,
                            bool loose_str)
{
    if (tg_frame_ncols(a) != tg_frame_ncols(b))
        return "column counts differ";
    if (tg_frame_nrows(a) != tg_frame_nrows(b))
        return "row counts differ";
    for (size_t c = 0; c < tg_frame_ncols(a); c++) {
        if (strcmp(tg_frame_colname(a, c), tg_frame_colname(b, c)) != 0)
            return "names differ";
        tg_dtype t = tg_frame_coltype(a, c);
        if (t != tg_frame_coltype(b, c))
            return "types differ";
        for (size_t r = 0; r < tg_frame_nrows(a); r++) {
            size_t la, lb;
            const char *sa = tg_frame_str(a, c, r, &la);
            const char *sb = tg_frame_str(b, c, r, &lb);
            bool na = tg_frame_is_null(a, c, r), nb = tg_frame_is_null(b, c, r);
            if (t == TG_DT_STRING && loose_str && na && !nb && lb == 0)
                continue;
            if (na != nb)
                return "nulls differ";
            if (na)
                continue;
            switch (t) {
            case TG_DT_INT64:
                if (tg_frame_int64(a, c)[r] != tg_frame_int64(b, c)[r])
                    return "int64 values differ";
                break;
            case TG_DT_FLOAT64:
                if (memcmp(&tg_frame_float64(a, c)[r],
                           &tg_frame_float64(b, c)[r], sizeof(double)))
                    return "float64 values differ";
                break;
            case TG_DT_BOOL:
                if (tg_frame_bool(a, c)[r] != tg_frame_bool(b, c)[r])
                    return "bool values differ";
                break;
            case TG_DT_STRING:
                if (la != lb || memcmp(sa, sb, la) != 0)
                    return "strings differ";
                break;
            }
        }
    }
    return NULL;
}

#endif /* TG_TESTS_FUZZ_CSV_UTIL_H */
