/* dataframe/csv_write.c - frames to CSV text, and tg_to_csv.
 *
 * Output reads back to the same frame with tg_read_csv: null is an empty
 * field (or na_rep; a row of one null is written "" rather than as a
 * blank line), an empty string is "", a value that prints as na_rep is
 * quoted, floats use the shortest of %.15g..%.17g that parses back to
 * the same double and always carry a '.', 'e', "inf" or "nan" so their
 * column stays float64 (NaN reads back as null, as in pandas).  Rows
 * are formatted into a 64 KiB buffer and written with fwrite.
 * tg_to_csv into one file formats each partition in a task of its own
 * (csv_format, in parallel) and appends the texts in order with a chain
 * of write tasks, so the chain does I/O only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "df_internal.h"

/* Formatted text goes through buf to a file (out) or, when out is
 * NULL, to a growing block of memory (mem). */
typedef struct outbuf {
    FILE *out;
    char delim;
    const char *na_rep; /* NULL: the default */
    size_t na_len;
    char buf[65536];
    size_t n;
    bool failed;
    char *mem; /* out == NULL: the text so far (tg__malloc) */
    size_t mem_n, mem_cap;
} outbuf;

/* Appends buf to mem, doubling it as needed.  False on OOM. */
static bool mem_append(outbuf *o)
{
    if (o->mem_n + o->n > o->mem_cap) {
        size_t cap = o->mem_cap ? 2 * o->mem_cap : sizeof o->buf;
        while (cap < o->mem_n + o->n)
            cap *= 2;
        char *m = tg__malloc(cap);
        if (!m)
            return false;
        if (o->mem_n)
            memcpy(m, o->mem, o->mem_n);
        tg__free(o->mem);
        o->mem = m, o->mem_cap = cap;
    }
    memcpy(o->mem + o->mem_n, o->buf, o->n);
    o->mem_n += o->n;
    return true;
}

static void ob_flush(outbuf *o)
{
    if (o->n
        && (o->out ? fwrite(o->buf, 1, o->n, o->out) != o->n : !mem_append(o)))
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

/* s is the text of na_rep, so it must be quoted to stay a value. */
static bool is_na_rep(const outbuf *o, const char *s, size_t len)
{
    return o->na_len && len == o->na_len && memcmp(s, o->na_rep, len) == 0;
}

static void put_str(outbuf *o, const char *s, size_t len)
{
    bool quote = len == 0 || is_na_rep(o, s, len);
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == o->delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
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

/* A number or bool's text, quoted when it is na_rep's. */
static void put_value(outbuf *o, const char *s, size_t len)
{
    if (TG_UNLIKELY(is_na_rep(o, s, len))) {
        ob_put(o, "\"", 1);
        ob_put(o, s, len);
        ob_put(o, "\"", 1);
    } else {
        ob_put(o, s, len);
    }
}

/* One cell; alone is set when it is the row's only field. */
static void put_cell(outbuf *o, const tg__col *c, size_t row, bool alone)
{
    char num[40];
    size_t len;
    if (!tg__col_valid(c, row)) {
        if (o->na_len)
            ob_put(o, o->na_rep, o->na_len);
        else if (alone) /* not a blank line, which reading skips */
            ob_put(o, "\"\"", 2);
        return;
    }
    switch (c->type) {
    case TG_DT_INT64:
        len = fmt_int(num, ((const int64_t *)c->data)[row]);
        put_value(o, num, len);
        break;
    case TG_DT_FLOAT64:
        len = fmt_double(num, sizeof num, ((const double *)c->data)[row]);
        put_value(o, num, len);
        break;
    case TG_DT_BOOL:
        if (((const uint8_t *)c->data)[row])
            put_value(o, "true", 4);
        else
            put_value(o, "false", 5);
        break;
    case TG_DT_STRING: {
        const char *s = tg__col_str(c, row, &len);
        put_str(o, s, len);
        break;
    }
    }
}

/* Formats f's rows (and the header when asked) into o, flushed. */
static void format_frame(const tg__frame *f, outbuf *o, bool header)
{
    if (f->ncols == 0)
        header = false; /* nothing at all: the empty file is this frame */
    for (size_t j = 0; header && j < f->ncols; j++) {
        if (j)
            ob_put(o, &o->delim, 1);
        put_str(o, f->names[j], strlen(f->names[j]));
    }
    if (header)
        ob_put(o, "\n", 1);
    for (size_t i = 0; f->ncols && i < f->nrows; i++) {
        for (size_t j = 0; j < f->ncols; j++) {
            if (j)
                ob_put(o, &o->delim, 1);
            put_cell(o, f->cols[j], i, f->ncols == 1);
        }
        ob_put(o, "\n", 1);
    }
    ob_flush(o);
}

/* A formatter into out (NULL: memory) with delimiter delim and na_rep
 * (NULL: the default), or NULL when out of memory. */
static outbuf *ob_new(FILE *out, char delim, const char *na_rep)
{
    outbuf *o = tg__calloc(1, sizeof *o);
    if (o) {
        o->out = out;
        o->delim = delim;
        o->na_rep = na_rep;
        o->na_len = na_rep ? strlen(na_rep) : 0;
    }
    return o;
}

/* Writes f's rows (and the header when asked) to out, with delimiter
 * delim and na_rep (NULL: the default). */
static int write_frame(const tg__frame *f, FILE *out, bool header, char delim,
                       const char *na_rep)
{
    outbuf *o = ob_new(out, delim, na_rep);
    if (!o)
        return TG_ENOMEM;
    format_frame(f, o, header);
    bool failed = o->failed;
    tg__free(o);
    return failed ? tg__seterr(TG_EIO, "write_csv: write failed") : 0;
}

/* Checks a writer's options: 0 and the delimiter and na_rep to use, or
 * TG_EINVAL naming the problem. */
static int write_opts(const char *who, const tg_csv_opts *opts, char *delim,
                      const char **na_rep)
{
    *delim = opts && opts->delimiter ? opts->delimiter : ',';
    *na_rep = opts && opts->na_rep && opts->na_rep[0] ? opts->na_rep : NULL;
    if (*delim == '"' || *delim == '\n' || *delim == '\r')
        return tg__seterr(TG_EINVAL,
                          "%s: the delimiter cannot be a quote, a newline "
                          "or a carriage return",
                          who);
    for (const char *p = *na_rep; p && *p; p++)
        if (*p == *delim || *p == '"' || *p == '\n' || *p == '\r')
            return tg__seterr(TG_EINVAL,
                              "%s: na_rep cannot hold the delimiter, a "
                              "quote, a newline or a carriage return",
                              who);
    return 0;
}

/* Reads the options value [delimiter, na_rep | null] of a writing task:
 * 0, or -1 when it is malformed or not allowed. */
static int opts_of(const tg_value *opts, char *delim, const char **na_rep)
{
    const char *d = tg_as_str(tg_list_get(opts, 0));
    const tg_value *na = tg_list_get(opts, 1);
    tg_csv_opts o = {.delimiter = d ? d[0] : 0, .na_rep = tg_as_str(na)};
    if (tg_list_len(opts) != 2 || !d || strlen(d) != 1
        || (tg_typeof(na) != TG_NULL && !o.na_rep)
        || write_opts("to_csv", &o, delim, na_rep))
        return -1;
    return 0;
}

/* csv_format(frame, header, options) -> [rows, bytes]: the frame as CSV
 * text, so that partitions are formatted in parallel and the chain
 * writing one file only appends text. */
tg_value *tg__task_csv_format(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    if (n != 3)
        return tg__df_bad_param("to_csv", "arguments", "not 3 of them");
    const tg__frame *f = tg__frame_of(a[0]);
    if (!f)
        return tg__df_not_frame("to_csv", a[0]);
    if (tg_typeof(a[1]) != TG_BOOL)
        return tg__df_bad_param("to_csv", "header", "not a bool");
    char delim;
    const char *na_rep;
    if (opts_of(a[2], &delim, &na_rep))
        return tg__df_bad_param("to_csv", "options",
                                "not [delimiter, na_rep | null]");
    outbuf *o = ob_new(NULL, delim, na_rep);
    if (!o)
        return tg_error("out of memory");
    format_frame(f, o, tg_as_bool(a[1]));
    tg_value *res = NULL;
    if (!o->failed)
        res = tg_list(2, tg_int((int64_t)f->nrows),
                      tg_bytes(o->mem ? o->mem : "", o->mem_n));
    tg__free(o->mem);
    tg__free(o);
    return res ? res : tg_error("out of memory");
}

int tg_frame_write_csv_opts(const tg_value *frame, FILE *out,
                            const tg_csv_opts *opts)
{
    const tg__frame *f = tg__frame_of(frame);
    char delim;
    const char *na_rep;
    if (!f || !out)
        return tg__seterr(TG_EINVAL, "write_csv: %s",
                          out ? "not a frame" : "NULL file");
    int rc = write_opts("write_csv", opts, &delim, &na_rep);
    return rc ? rc : write_frame(f, out, true, delim, na_rep);
}

int tg_frame_write_csv(const tg_value *frame, FILE *out)
{
    return tg_frame_write_csv_opts(frame, out, NULL);
}

/* ---- tg_to_csv ----------------------------------------------------------- */

/* Writes frame to path (creating it, or appending without a header)
 * with the options value [delimiter, na_rep | null]: the rows written,
 * or an error value. */
static tg_value *write_file(const char *path, const tg_value *frame,
                            bool append, const tg_value *opts)
{
    const tg__frame *f = tg__frame_of(frame);
    if (!f)
        return tg__df_not_frame("to_csv", frame);
    char delim;
    const char *na_rep;
    if (opts_of(opts, &delim, &na_rep))
        return tg__df_bad_param("to_csv", "options",
                                "not [delimiter, na_rep | null]");
    FILE *out = fopen(path, append ? "ab" : "wb");
    int rc = out ? write_frame(f, out, !append, delim, na_rep) : TG_EIO;
    if (out && fclose(out) != 0)
        rc = TG_EIO;
    if (rc)
        return tg_error("to_csv: cannot write %s", path);
    return tg_int((int64_t)f->nrows);
}

/* write_csv_part(frame, pattern, index, options): the frame to its own
 * file, pattern's '*' replaced by index. */
tg_value *tg__task_write_part(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    if (n != 4)
        return tg__df_bad_param("to_csv", "arguments", "not 4 of them");
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
    tg_value *r = write_file(path, a[0], false, a[3]);
    tg__free(path);
    return r;
}

/* Writes the text of csv_format's result v ([rows, bytes]) to path,
 * creating it or appending: the rows written, or an error value. */
static tg_value *write_text(const char *path, const tg_value *v, bool append)
{
    const tg_value *rows = tg_list_get(v, 0);
    size_t len = 0;
    const void *text = tg_as_bytes(tg_list_get(v, 1), &len);
    if (tg_list_len(v) != 2 || tg_typeof(rows) != TG_INT || !text)
        return tg__df_bad_param("to_csv", "text", "not [rows, bytes]");
    FILE *out = fopen(path, append ? "ab" : "wb");
    bool ok = out && (len == 0 || fwrite(text, 1, len, out) == len);
    if (out && fclose(out) != 0)
        ok = false;
    return ok ? tg_int(tg_as_int(rows))
              : tg_error("to_csv: cannot write %s", path);
}

/* write_csv(frame | [rows, text], path, rows before | null, options):
 * creates the file (null) or appends to it; the rows written so far. */
tg_value *tg__task_write_chain(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    if (n != 4)
        return tg__df_bad_param("to_csv", "arguments", "not 4 of them");
    const char *path = tg_as_str(a[1]);
    bool first = tg_typeof(a[2]) == TG_NULL;
    if (!path || (!first && tg_typeof(a[2]) != TG_INT))
        return tg__df_bad_param("to_csv", "path", "not a path and a row count");
    tg_value *r = tg_typeof(a[0]) == TG_LIST
                      ? write_text(path, a[0], !first)
                      : write_file(path, a[0], !first, a[3]);
    if (tg_is_error(r))
        return r;
    int64_t total = tg_as_int(r) + (first ? 0 : tg_as_int(a[2]));
    tg_decref(r);
    return tg_int(total);
}

tg_value *tg_to_csv(tg_dataframe *df, const char *path)
{
    return tg_to_csv_opts(df, path, NULL);
}

tg_value *tg_to_csv_opts(tg_dataframe *df, const char *path,
                         const tg_csv_opts *opts)
{
    char delim;
    const char *na_rep;
    if (!df || !path)
        return tg__seterr_null(TG_EINVAL, "to_csv: NULL argument");
    if (write_opts("to_csv", opts, &delim, &na_rep))
        return NULL;
    char d[2] = {delim, 0};
    tg_value *ov = tg_list(2, tg_str(d), na_rep ? tg_str(na_rep) : tg_null());
    tg_value **parts = ov ? tg__df_lower(df, 0, NULL, true) : NULL;
    if (!parts) {
        tg_decref(ov);
        return NULL;
    }
    tg_graph *g = df->g;
    tg_value *res = NULL;
    if (strchr(path, '*') && df->nparts) {
        tg_value **w = tg__calloc(df->nparts, sizeof *w);
        bool good = w != NULL;
        for (size_t i = 0; good && i < df->nparts; i++) {
            tg_value *args[4] = {parts[i], tg_str(path), tg_int((int64_t)i),
                                 tg_incref(ov)};
            good = (w[i] = tg__df_call(g, TG__OP_WRITE_PART, 4, args)) != NULL;
        }
        if (good)
            res = tg__df_tree(g, TG__OP_SUM, NULL, 0, w, df->nparts, 8);
        tg__free(w);
        tg_decref(ov);
        return res;
    }
    if (df->nparts == 0) { /* the header alone */
        tg_value *sv = tg__schema_value(
            df->ncols, (const char *const *)df->names, df->types);
        tg_value *args[4] = {tg__df_call(g, TG__OP_EMPTY, 1, &sv), tg_str(path),
                             tg_null(), ov};
        return tg__df_call(g, TG__OP_WRITE_CHAIN, 4, args);
    }
    for (size_t i = 0; i < df->nparts; i++) {
        /* formatted in parallel, appended in order */
        tg_value *fa[3] = {parts[i], tg_bool(i == 0), tg_incref(ov)};
        tg_value *args[4] = {tg__df_call(g, TG__OP_CSV_FORMAT, 3, fa),
                             tg_str(path), i ? res : tg_null(), tg_incref(ov)};
        if (!(res = tg__df_call(g, TG__OP_WRITE_CHAIN, 4, args)))
            break;
    }
    tg_decref(ov);
    return res;
}
