/* dataframe/csv_write.c - frames to CSV text, and tg_to_csv.
 *
 * Output reads back to the same frame with tg_read_csv: null is an empty
 * field, an empty string is "", floats use the shortest of %.15g..%.17g
 * that parses back to the same double and always carry a '.', 'e', "inf"
 * or "nan" so their column stays float64.  Rows are formatted into a
 * 64 KiB buffer and written with fwrite.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "df_internal.h"

typedef struct outbuf {
    FILE *out;
    char buf[65536];
    size_t n;
    bool failed;
} outbuf;

static void ob_flush(outbuf *o)
{
    if (o->n && fwrite(o->buf, 1, o->n, o->out) != o->n)
        o->failed = true;
    o->n = 0;
}

static void ob_put(outbuf *o, const char *s, size_t len)
{
    while (len) {
        if (o->n == sizeof o->buf)
            ob_flush(o);
        size_t k = sizeof o->buf - o->n < len ? sizeof o->buf - o->n : len;
        memcpy(o->buf + o->n, s, k);
        o->n += k, s += k, len -= k;
    }
}

static void put_str(outbuf *o, const char *s, size_t len)
{
    bool quote = len == 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        ob_put(o, s, len);
        return;
    }
    ob_put(o, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        const char *q = memchr(s + i, '"', len - i);
        size_t k = q ? (size_t)(q - (s + i)) + 1 : len - i;
        ob_put(o, s + i, k);
        if (q)
            ob_put(o, "\"", 1);
        i += k - 1;
    }
    ob_put(o, "\"", 1);
}

/* v in decimal into buf (at least 21 bytes); its length.  What
 * "%lld" prints, without the cost of a printf. */
static size_t fmt_int(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

/* The decimal places of fixed_double's fast path, and its bounds:
 * "%.15g" prints fixed notation from 1e-4, and below 1e9 nine integer
 * digits and six places are at most 15 significant digits. */
#define FIXED_PLACES 6
#define FIXED_SCALE 1e6
#define FIXED_MAX 1e9

/* d as "%.15g" prints it (and the ".0" fmt_double adds), when d is the
 * double nearest to m / 10^6 for an integer m: then d has at most 15
 * significant digits, so %.15g gives m's digits with trailing zeros
 * dropped, and they read back to d.  0 when d is not such a number. */
static size_t fixed_double(char *buf, double d)
{
    double a = fabs(d);
    if (!(a >= 1e-4 && a < FIXED_MAX))
        return 0;
    double ms = nearbyint(a * FIXED_SCALE);
    if (ms / FIXED_SCALE != a)
        return 0;
    int64_t m = (int64_t)ms, ip = m / 1000000, fp = m % 1000000;
    size_t len = 0;
    if (d < 0)
        buf[len++] = '-';
    len += fmt_int(buf + len, ip);
    buf[len++] = '.';
    char frac[FIXED_PLACES];
    int places = FIXED_PLACES;
    for (int i = FIXED_PLACES - 1; i >= 0; i--, fp /= 10)
        frac[i] = (char)('0' + fp % 10);
    while (places > 1 && frac[places - 1] == '0')
        places--;
    memcpy(buf + len, frac, (size_t)places);
    return len + (size_t)places;
}

/* Shortest round-trip form of d that still reads as a float. */
static size_t fmt_double(char *buf, size_t cap, double d)
{
    size_t fast = fixed_double(buf, d);
    if (fast)
        return fast;
    if (isnan(d))
        return (size_t)snprintf(buf, cap, "nan");
    if (isinf(d))
        return (size_t)snprintf(buf, cap, d < 0 ? "-inf" : "inf");
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".e"))
        n += snprintf(buf + n, cap - (size_t)n, ".0");
    return (size_t)n;
}

static void put_cell(outbuf *o, const tg__col *c, size_t row)
{
    char num[40];
    size_t len;
    if (!tg__col_valid(c, row))
        return;
    switch (c->type) {
    case TG_DT_INT64:
        len = fmt_int(num, ((const int64_t *)c->data)[row]);
        ob_put(o, num, len);
        break;
    case TG_DT_FLOAT64:
        len = fmt_double(num, sizeof num, ((const double *)c->data)[row]);
        ob_put(o, num, len);
        break;
    case TG_DT_BOOL:
        if (((const uint8_t *)c->data)[row])
            ob_put(o, "true", 4);
        else
            ob_put(o, "false", 5);
        break;
    case TG_DT_STRING: {
        const char *s = tg__col_str(c, row, &len);
        put_str(o, s, len);
        break;
    }
    }
}

/* Writes f's rows (and the header when asked) to out. */
static int write_frame(const tg__frame *f, FILE *out, bool header)
{
    outbuf *o = tg__malloc(sizeof *o);
    if (!o)
        return TG_ENOMEM;
    o->out = out, o->n = 0, o->failed = false;
    for (size_t j = 0; header && j < f->ncols; j++) {
        if (j)
            ob_put(o, ",", 1);
        put_str(o, f->names[j], strlen(f->names[j]));
    }
    if (header)
        ob_put(o, "\n", 1);
    for (size_t i = 0; i < f->nrows; i++) {
        for (size_t j = 0; j < f->ncols; j++) {
            if (j)
                ob_put(o, ",", 1);
            put_cell(o, f->cols[j], i);
        }
        ob_put(o, "\n", 1);
    }
    ob_flush(o);
    bool failed = o->failed;
    tg__free(o);
    return failed ? tg__seterr(TG_EIO, "write_csv: write failed") : 0;
}

int tg_frame_write_csv(const tg_value *frame, FILE *out)
{
    const tg__frame *f = tg__frame_of(frame);
    if (!f || !out)
        return tg__seterr(TG_EINVAL, "write_csv: %s",
                          out ? "not a frame" : "NULL file");
    return write_frame(f, out, true);
}

/* ---- tg_to_csv ----------------------------------------------------------- */

/* Writes frame to path (creating it, or appending without a header):
 * the rows written, or an error value. */
static tg_value *write_file(const char *path, const tg_value *frame,
                            bool append)
{
    const tg__frame *f = tg__frame_of(frame);
    if (!f)
        return tg__df_not_frame("to_csv", frame);
    FILE *out = fopen(path, append ? "ab" : "wb");
    int rc = out ? write_frame(f, out, !append) : TG_EIO;
    if (out && fclose(out) != 0)
        rc = TG_EIO;
    if (rc)
        return tg_error("to_csv: cannot write %s", path);
    return tg_int((int64_t)f->nrows);
}

/* write_csv_part(frame, pattern, index): the frame to its own file,
 * pattern's '*' replaced by index. */
tg_value *tg__task_write_part(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const char *pattern = tg_as_str(a[1]);
    const char *star = pattern ? strchr(pattern, '*') : NULL;
    if (!star || tg_typeof(a[2]) != TG_INT)
        return tg__df_bad_param("to_csv", "path",
                                "not a pattern with '*' and an index");
    char *path = tg__malloc(strlen(pattern) + 24);
    if (!path)
        return tg_error("out of memory");
    sprintf(path, "%.*s%lld%s", (int)(star - pattern), pattern,
            (long long)tg_as_int(a[2]), star + 1);
    tg_value *r = write_file(path, a[0], false);
    tg__free(path);
    return r;
}

/* write_csv(frame, path, rows before | null): creates the file (null)
 * or appends to it; the rows written so far. */
tg_value *tg__task_write_chain(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const char *path = tg_as_str(a[1]);
    bool first = tg_typeof(a[2]) == TG_NULL;
    if (!path || (!first && tg_typeof(a[2]) != TG_INT))
        return tg__df_bad_param("to_csv", "path", "not a path and a row count");
    tg_value *r = write_file(path, a[0], !first);
    if (tg_is_error(r))
        return r;
    int64_t total = tg_as_int(r) + (first ? 0 : tg_as_int(a[2]));
    tg_decref(r);
    return tg_int(total);
}

tg_value *tg_to_csv(tg_dataframe *df, const char *path)
{
    if (!df || !path)
        return tg__seterr_null(TG_EINVAL, "to_csv: NULL argument");
    tg_value **parts = tg__df_lower(df, 0, NULL, true);
    if (!parts)
        return NULL;
    tg_graph *g = df->g;
    tg_value *res = NULL;
    if (strchr(path, '*') && df->nparts) {
        tg_value **w = tg__calloc(df->nparts, sizeof *w);
        bool good = w != NULL;
        for (size_t i = 0; good && i < df->nparts; i++) {
            tg_value *args[3] = {parts[i], tg_str(path), tg_int((int64_t)i)};
            good = (w[i] = tg__df_call(g, TG__OP_WRITE_PART, 3, args)) != NULL;
        }
        if (good)
            res = tg__df_tree(g, TG__OP_SUM, NULL, 0, w, df->nparts, 8);
        tg__free(w);
        return res;
    }
    if (df->nparts == 0) { /* the header alone */
        tg_value *sv = tg__schema_value(
            df->ncols, (const char *const *)df->names, df->types);
        tg_value *args[3] = {tg__df_call(g, TG__OP_EMPTY, 1, &sv), tg_str(path),
                             tg_null()};
        return tg__df_call(g, TG__OP_WRITE_CHAIN, 3, args);
    }
    for (size_t i = 0; i < df->nparts; i++) {
        tg_value *args[3] = {parts[i], tg_str(path), i ? res : tg_null()};
        if (!(res = tg__df_call(g, TG__OP_WRITE_CHAIN, 3, args)))
            return NULL;
    }
    return res;
}
