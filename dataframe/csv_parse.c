/* dataframe/csv_parse.c - RFC 4180 parsing of complete records into
 * typed columns, and type inference.
 *
 * The hot loop (tg__csv_parse) finds each field's end with a 256-entry
 * stop table, parses the span in place and appends to a column builder:
 * no per-row allocation.  Quoted fields take a slower path (memchr for
 * the closing quote, unescaping "" into a scratch buffer).  An unquoted
 * empty field is null; a quoted "" is an empty string.  Missing values
 * (tg_csv_opts in taskgraph/dataframe.h): the user's na_values are
 * checked first through a table of their first bytes; pandas' default
 * NA strings only when a number or bool does not parse, so the hot path
 * pays nothing for them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "csv_internal.h"

void tg__csv_schema_close(tg__csv_schema *s)
{
    for (size_t i = 0; s->names && i < s->ncols; i++)
        tg__free(s->names[i]);
    tg__free(s->names);
    tg__free(s->types);
    s->names = NULL;
    s->types = NULL;
    s->ncols = 0;
    tg__csv_na_close(s);
}

void tg__csv_na_close(tg__csv_schema *s)
{
    tg__free(s->na);
    tg__free(s->na_len);
    s->na = NULL;
    s->na_len = NULL;
    s->n_na = 0;
    memset(s->na_first, 0, sizeof s->na_first);
}

int tg__csv_na_set(tg__csv_schema *s, size_t n, const char *const *values)
{
    tg__csv_na_close(s);
    if (n == 0)
        return 0;
    s->na = tg__calloc(n, sizeof *s->na);
    s->na_len = tg__calloc(n, sizeof *s->na_len);
    if (!s->na || !s->na_len) {
        tg__csv_na_close(s);
        return TG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(values[i]);
        if (len == 0) /* the unquoted empty field is null already */
            continue;
        unsigned char c = (unsigned char)values[i][0];
        s->na_first[c >> 6] |= 1ull << (c & 63);
        s->na[s->n_na] = values[i];
        s->na_len[s->n_na++] = len;
    }
    return 0;
}

/* v[0..len) is one of the user's na values. */
static inline bool is_user_na(const tg__csv_schema *s, const char *v,
                              size_t len)
{
    unsigned char c = len ? (unsigned char)v[0] : 0;
    if (!s->n_na || !len || !(s->na_first[c >> 6] >> (c & 63) & 1))
        return false;
    for (size_t i = 0; i < s->n_na; i++)
        if (s->na_len[i] == len && memcmp(s->na[i], v, len) == 0)
            return true;
    return false;
}

/* pandas' default NA strings (pandas.io.parsers STR_NA_VALUES, the
 * empty string aside): null in int64, float64 and bool columns. */
static const char *const default_na[] = {
    "NaN",  "nan",  "-NaN",   "-nan",    "NA",       "N/A",
    "n/a",  "<NA>", "#NA",    "#N/A",    "#N/A N/A", "NULL",
    "null", "None", "1.#IND", "-1.#IND", "1.#QNAN",  "-1.#QNAN"};

static bool is_default_na(const char *v, size_t len)
{
    for (size_t i = 0; i < sizeof default_na / sizeof *default_na; i++)
        if (strlen(default_na[i]) == len && memcmp(default_na[i], v, len) == 0)
            return true;
    return false;
}

void tg__csv_fields_close(tg__csv_fields *f)
{
    tg__free(f->off);
    tg__free(f->quoted);
    tg__free(f->text);
    memset(f, 0, sizeof *f);
}

/* SWAR: the bytes of w equal to the byte repeated in pat, as 0x01 in
 * each matching byte (0x00 elsewhere). */
static inline uint64_t match_bytes(uint64_t w, uint64_t pat)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
    uint64_t x = w ^ pat;
    uint64_t t = ((x & low7) + low7) | x;
    return (~t & ~low7) >> 7;
}

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void tg__count_bytes2(const char *p, size_t n, char a, char b, size_t *na,
                      size_t *nb)
{
#if defined(__SSE2__)
    /* 16 bytes at a time: compares give -1 per match, subtracted into
     * per-lane counters that are folded (psadbw) every 255 rounds. */
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
    const __m128i zero = _mm_setzero_si128();
    size_t ca0 = 0, cb0 = 0, i0 = 0;
    while (i0 + 16 <= n) {
        __m128i acc_a = zero, acc_b = zero;
        for (int k = 0; k < 255 && i0 + 16 <= n; k++, i0 += 16) {
            __m128i x =
                _mm_loadu_si128((const __m128i *)(const void *)(p + i0));
            acc_a = _mm_sub_epi8(acc_a, _mm_cmpeq_epi8(x, va));
            acc_b = _mm_sub_epi8(acc_b, _mm_cmpeq_epi8(x, vb));
        }
        __m128i sa = _mm_sad_epu8(acc_a, zero), sb = _mm_sad_epu8(acc_b, zero);
        ca0 += (size_t)_mm_cvtsi128_si64(sa)
               + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sa, sa));
        cb0 += (size_t)_mm_cvtsi128_si64(sb)
               + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sb, sb));
    }
    p += i0, n -= i0;
#else
    size_t ca0 = 0, cb0 = 0;
#endif
    const uint64_t ones = 0x0101010101010101ull;
    const uint64_t pa = ones * (uint8_t)a, pb = ones * (uint8_t)b;
    size_t ca = 0, cb = 0, i = 0;
    while (i + 8 <= n) {
        /* Per-byte counters hold up to 255 matches: fold every 255. */
        uint64_t acc_a = 0, acc_b = 0;
        for (size_t k = 0; k < 255 && i + 8 <= n; k++, i += 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            acc_a += match_bytes(w, pa);
            acc_b += match_bytes(w, pb);
        }
        for (int s = 0; s < 64; s += 8) {
            ca += (acc_a >> s) & 0xff;
            cb += (acc_b >> s) & 0xff;
        }
    }
    for (; i < n; i++) {
        ca += p[i] == a;
        cb += p[i] == b;
    }
    *na = ca + ca0;
    *nb = cb + cb0;
}

int64_t tg__csv_record_end(const char *p, size_t n, bool in_quotes, int64_t *nl)
{
    bool q = in_quotes;
    int64_t quoted_nl = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '"') {
            q = !q;
        } else if (c == '\n') {
            if (!q) {
                *nl = quoted_nl;
                return (int64_t)i;
            }
            quoted_nl++;
        }
    }
    *nl = quoted_nl;
    return -1;
}

size_t tg__count_byte(const char *p, size_t n, char c)
{
    size_t k, dummy;
    tg__count_bytes2(p, n, c, c, &k, &dummy);
    return k;
}

/* ---- value parsers -------------------------------------------------- */

static bool parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+'))
        neg = s[0] == '-', i = 1;
    if (i == n)
        return false;
    uint64_t v = 0;
    if (n - i <= 18) {
        for (; i < n; i++) {
            unsigned d = (unsigned)(unsigned char)s[i] - '0';
            if (d > 9)
                return false;
            v = v * 10 + d;
        }
    } else {
        for (; i < n; i++) {
            unsigned d = (unsigned)(unsigned char)s[i] - '0';
            if (d > 9 || v > (UINT64_MAX - d) / 10)
                return false;
            v = v * 10 + d;
        }
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v ? -(int64_t)(v - 1) - 1 : 0;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Correctly rounded fallback: strtod on a NUL-terminated copy. */
static bool parse_f64_slow(const char *s, size_t n, double *out)
{
    char small[128], *buf = small;
    if (n >= sizeof small && !(buf = tg__malloc(n + 1)))
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *endp;
    errno = 0;
    double v = strtod(buf, &endp);
    bool ok = endp == buf + n && n > 0 && !(s[0] == ' ' || s[0] == '\t');
    if (buf != small)
        tg__free(buf);
    *out = v;
    return ok;
}

/* Decimal floats with at most 19 digits, a mantissa below 2^53 and a
 * power of ten up to 22 are exact in one IEEE operation (Clinger's fast
 * path); everything else goes to strtod. */
static bool parse_f64(const char *s, size_t n, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+'))
        neg = s[0] == '-', i = 1;
    uint64_t m = 0;
    int digits = 0, exp10 = 0;
    for (; i < n && (unsigned)(unsigned char)s[i] - '0' <= 9; i++, digits++)
        m = m * 10 + (unsigned)(s[i] - '0');
    if (i < n && s[i] == '.') {
        for (i++; i < n && (unsigned)(unsigned char)s[i] - '0' <= 9;
             i++, digits++, exp10--)
            m = m * 10 + (unsigned)(s[i] - '0');
    }
    if (digits == 0 || digits > 19)
        return parse_f64_slow(s, n, out);
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int64_t e;
        size_t j = i + 1;
        if (j == n || n - j > 6 || !parse_i64(s + j, n - j, &e))
            return parse_f64_slow(s, n, out);
        exp10 += (int)e;
        i = n;
    }
    if (i != n)
        return parse_f64_slow(s, n, out);
    if (m > (1ull << 53) || exp10 < -22 || exp10 > 22)
        return parse_f64_slow(s, n, out);
    double v = (double)m;
    v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
    *out = neg ? -v : v;
    return true;
}

static bool parse_bool(const char *s, size_t n, bool *out)
{
    if (n == 4
        && (memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0
            || memcmp(s, "TRUE", 4) == 0))
        return *out = true, true;
    if (n == 5
        && (memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0
            || memcmp(s, "FALSE", 5) == 0))
        return *out = false, true;
    return false;
}

/* ---- splitting one record (header, inference, messages) ------------- */

static int fields_push(tg__csv_fields *f, const char *s, size_t len,
                       bool quoted)
{
    if (f->n + 2 > f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        size_t *o = tg__realloc(f->off, cap * sizeof *o);
        if (o)
            f->off = o;
        uint8_t *q = tg__realloc(f->quoted, cap);
        if (q)
            f->quoted = q;
        if (!o || !q)
            return TG_ENOMEM;
        f->cap = cap;
    }
    if (f->n == 0)
        f->off[0] = 0;
    size_t at = f->off[f->n];
    if (at + len + 1 > f->text_cap) {
        size_t cap = f->text_cap ? f->text_cap : 256;
        while (cap < at + len + 1)
            cap *= 2;
        char *t = tg__realloc(f->text, cap);
        if (!t)
            return TG_ENOMEM;
        f->text = t;
        f->text_cap = cap;
    }
    /* Unescape "" in quoted fields while copying. */
    size_t w = at;
    for (size_t i = 0; i < len; i++) {
        f->text[w++] = s[i];
        if (quoted && s[i] == '"')
            i++;
    }
    f->text[w] = 0;
    f->quoted[f->n] = quoted;
    f->off[++f->n] = w;
    return 0;
}

int tg__csv_split(const char *p, const char *end, char delim, tg__csv_fields *f,
                  const char **next, int64_t *lines, char *err, size_t errlen)
{
    f->n = 0;
    *lines = 0;
    for (;;) {
        const char *s = p, *q;
        bool quoted = *p == '"' && p < end;
        if (quoted) {
            for (q = p + 1;; q += 2) {
                q = memchr(q, '"', (size_t)(end - q));
                if (!q) { /* incomplete, or unterminated at the end */
                    snprintf(err, errlen, "unterminated quoted field");
                    return TG_EINVAL;
                }
                if (q + 1 >= end || q[1] != '"')
                    break;
            }
            *lines += (int64_t)tg__count_byte(p + 1, (size_t)(q - p - 1), '\n');
            s = p + 1;
            p = q + 1;
        } else {
            for (q = p; q < end && *q != delim && *q != '\n' && *q != '"';)
                q++;
            if (q < end && *q == '"') {
                snprintf(err, errlen, "quote inside an unquoted field");
                return TG_EFORMAT;
            }
            p = q;
        }
        if (p >= end)
            return TG_EINVAL;
        size_t len = (size_t)(q - s);
        if (!quoted && len && q[-1] == '\r' && *p == '\n')
            len--;
        if (quoted && *p == '\r') {
            if (p + 1 >= end)
                return TG_EINVAL;
            if (p[1] == '\n')
                p++;
        }
        if (*p != delim && *p != '\n') {
            snprintf(err, errlen,
                     "unexpected character after a closing "
                     "quote");
            return TG_EFORMAT;
        }
        if (fields_push(f, s, len, quoted))
            return TG_ENOMEM;
        if (*p++ == '\n') {
            ++*lines;
            *next = p;
            return 0;
        }
    }
}

/* A line that holds nothing but its terminator. */
static const char *blank_line(const char *p, const char *end)
{
    if (p < end && *p == '\n')
        return p + 1;
    if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
        return p + 2;
    return NULL;
}

int tg__csv_header(const char *data, size_t len, const char *file,
                   tg__csv_schema *s, size_t *header_len)
{
    tg__csv_fields f = {0};
    const char *next = NULL;
    int64_t lines;
    char err[128];
    int rc = tg__csv_split(data, data + len, s->delim, &f, &next, &lines, err,
                           sizeof err);
    if (rc == TG_EINVAL)
        rc = tg__seterr(TG_EFORMAT, "%s:1: the header row does not end", file);
    else if (rc == TG_EFORMAT)
        rc = tg__seterr(rc, "%s:1: header: %s", file, err);
    if (rc)
        goto fail;
    s->ncols = 0;
    s->names = tg__calloc(f.n, sizeof *s->names);
    s->types = tg__calloc(f.n, sizeof *s->types);
    if (!s->names || !s->types)
        goto fail_oom;
    for (size_t i = 0; i < f.n; i++, s->ncols++)
        if (!(s->names[i] =
                  tg__strndup(f.text + f.off[i], f.off[i + 1] - f.off[i])))
            goto fail_oom;
    long dup = tg__names_first_dup(s->ncols, (const char *const *)s->names);
    if (dup == TG_ENOMEM)
        goto fail_oom;
    if (dup >= 0) {
        rc = tg__seterr(TG_EFORMAT, "%s:1: duplicate column '%s'", file,
                        s->names[dup]);
        goto fail;
    }
    *header_len = (size_t)(next - data);
    tg__csv_fields_close(&f);
    return 0;
fail_oom:
    rc = TG_ENOMEM;
fail:
    tg__csv_fields_close(&f);
    tg__csv_schema_close(s);
    return rc;
}

enum { CAN_BOOL = 1, CAN_INT = 2, CAN_FLOAT = 4, SEEN = 8 };

static void infer_field(const tg__csv_schema *s, uint8_t *st, const char *v,
                        size_t len, bool quoted)
{
    bool b;
    int64_t i;
    double d;
    if (len == 0)
        return; /* null, or a quoted "" (null unless a string): nothing */
    if (!quoted
        && (is_user_na(s, v, len) || is_default_na(v, len)
            || (parse_f64(v, len, &d) && isnan(d))))
        return; /* a missing value (in a number or bool column) */
    *st |= SEEN;
    if ((*st & CAN_BOOL) && !parse_bool(v, len, &b))
        *st &= (uint8_t)~CAN_BOOL;
    if ((*st & CAN_INT) && !parse_i64(v, len, &i))
        *st &= (uint8_t)~CAN_INT;
    if ((*st & CAN_FLOAT) && !parse_f64(v, len, &d))
        *st &= (uint8_t)~CAN_FLOAT;
}

int tg__csv_infer(const char *data, size_t len, tg__csv_schema *s,
                  const bool *has_type)
{
    uint8_t *st = tg__malloc(s->ncols ? s->ncols : 1);
    if (!st)
        return TG_ENOMEM;
    memset(st, CAN_BOOL | CAN_INT | CAN_FLOAT, s->ncols);
    tg__csv_fields f = {0};
    const char *p = data, *end = data + len, *next;
    int64_t lines;
    char err[128];
    int rc = 0;
    while (p < end) {
        const char *b = blank_line(p, end);
        if (b) {
            p = b;
            continue;
        }
        /* A record the sample cuts ends the sample (TG_EINVAL); so does
         * a malformed one, which the block parser reports when the
         * query runs, as it does one past the sample. */
        rc =
            tg__csv_split(p, end, s->delim, &f, &next, &lines, err, sizeof err);
        if (rc == TG_ENOMEM)
            break;
        if (rc || f.n != s->ncols) {
            rc = 0;
            break;
        }
        for (size_t i = 0; i < f.n; i++)
            infer_field(s, &st[i], f.text + f.off[i], f.off[i + 1] - f.off[i],
                        f.quoted[i]);
        p = next;
    }
    for (size_t i = 0; rc == 0 && i < s->ncols; i++) {
        if (has_type && has_type[i])
            continue;
        s->types[i] = !(st[i] & SEEN)     ? TG_DT_STRING
                      : st[i] & CAN_BOOL  ? TG_DT_BOOL
                      : st[i] & CAN_INT   ? TG_DT_INT64
                      : st[i] & CAN_FLOAT ? TG_DT_FLOAT64
                                          : TG_DT_STRING;
    }
    tg__csv_fields_close(&f);
    tg__free(st);
    return rc;
}

/* ---- the block parser ----------------------------------------------- */

/* Finds the next byte that can end an unquoted field (the delimiter,
 * '\n', '"' or '\r') 64 bytes at a time: a bitmask of those bytes per
 * chunk, then count-trailing-zeros per field.  SSE2 on x86-64, a byte
 * loop elsewhere.  Chunks that would read past the end are built from
 * a padded copy. */
typedef struct scanner {
    const char *base; /* the current chunk */
    uint64_t mask;    /* bit i: base[i] is special */
    const char *end;  /* one past the last readable byte */
    char delim;
} scanner;

static uint64_t chunk_mask_bytes(const char *c, char delim)
{
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) {
        char x = c[i];
        m |= (uint64_t)(x == delim || x == '\n' || x == '"' || x == '\r') << i;
    }
    return m;
}

#if defined(__SSE2__)
#include <emmintrin.h>

static inline uint64_t chunk_mask(const char *c, char delim)
{
    const __m128i vd = _mm_set1_epi8(delim), vn = _mm_set1_epi8('\n');
    const __m128i vq = _mm_set1_epi8('"'), vr = _mm_set1_epi8('\r');
    uint64_t m = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x =
            _mm_loadu_si128((const __m128i *)(const void *)(c + 16 * k));
        __m128i hit = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vn)),
            _mm_or_si128(_mm_cmpeq_epi8(x, vq), _mm_cmpeq_epi8(x, vr)));
        m |= (uint64_t)(uint16_t)_mm_movemask_epi8(hit) << (16 * k);
    }
    return m;
}
#else
#define chunk_mask chunk_mask_bytes
#endif

static void scanner_load(scanner *sc, const char *p)
{
    sc->base = p;
    if (TG_LIKELY(sc->end - p >= 64)) {
        sc->mask = chunk_mask(p, sc->delim);
    } else {
        char pad[64] = {0};
        memcpy(pad, p, (size_t)(sc->end - p));
        sc->mask =
            chunk_mask_bytes(pad, sc->delim) & (~0ull >> (64 - (sc->end - p)));
    }
}

/* The first special byte at or after p (there is one: the data ends in
 * '\n'). */
static inline const char *scanner_next(scanner *sc, const char *p)
{
    for (;;) {
        /* No pointer arithmetic on base before the first load: it is
         * NULL until then. */
        if (TG_UNLIKELY(!sc->base || p < sc->base
                        || (size_t)(p - sc->base) >= 64))
            scanner_load(sc, p);
        uint64_t m = sc->mask & (~0ull << (p - sc->base));
        if (TG_LIKELY(m))
            return sc->base + __builtin_ctzll(m);
        p = sc->base + 64;
    }
}

typedef struct parser {
    const tg__csv_schema *s;
    const uint8_t *keep; /* columns to store, or NULL: all */
    const char *file;
    int64_t line; /* line of the record being parsed */
    tg__colbuf *cols;
    scanner sc;    /* field ends */
    char *scratch; /* unescaped quoted fields */
    size_t scratch_cap;
} parser;

static tg_value *parse_error(parser *ps, const char *fmt, ...) TG_PRINTF(2, 3);

static tg_value *parse_error(parser *ps, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tg_error("%s:%lld: %s", ps->file, (long long)ps->line, msg);
}

/* The error for a record with the wrong number of fields. */
static tg_value *ragged(parser *ps, const char *rec, const char *end)
{
    tg__csv_fields f = {0};
    const char *next;
    int64_t lines;
    char err[128];
    int rc = tg__csv_split(rec, end, ps->s->delim, &f, &next, &lines, err,
                           sizeof err);
    tg_value *e =
        rc ? parse_error(ps, "%s", rc == TG_EFORMAT ? err : "bad record")
           : parse_error(ps, "expected %zu fields, found %zu", ps->s->ncols,
                         f.n);
    tg__csv_fields_close(&f);
    return e;
}

static tg_value *bad_value(parser *ps, size_t col, const char *v, size_t len)
{
    return parse_error(ps,
                       "column '%s': cannot parse \"%.*s\" as %s "
                       "(types are inferred from a sample; give dtypes to "
                       "override)",
                       ps->s->names[col], (int)(len > 40 ? 40 : len), v,
                       tg_dtype_name(ps->s->types[col]));
}

/* Stores one field's text into column col.  NULL on success. */
static tg_value *store(parser *ps, size_t col, const char *v, size_t len,
                       bool quoted)
{
    tg__colbuf *b = &ps->cols[col];
    if ((len == 0 && (!quoted || b->type != TG_DT_STRING))
        || (!quoted && TG_UNLIKELY(is_user_na(ps->s, v, len))))
        goto null;
    switch (b->type) {
    case TG_DT_INT64: {
        int64_t x;
        if (TG_UNLIKELY(!parse_i64(v, len, &x)))
            goto not_a_value;
        tg__colbuf_int(b, x);
        return NULL;
    }
    case TG_DT_FLOAT64: {
        double x;
        if (TG_UNLIKELY(!parse_f64(v, len, &x)))
            goto not_a_value;
        if (TG_UNLIKELY(isnan(x)) && !quoted)
            goto null; /* "nan", "NaN", ...: pandas' missing value */
        tg__colbuf_float(b, x);
        return NULL;
    }
    case TG_DT_BOOL: {
        bool x;
        if (TG_UNLIKELY(!parse_bool(v, len, &x)))
            goto not_a_value;
        tg__colbuf_bool(b, x);
        return NULL;
    }
    case TG_DT_STRING:
        if (TG_UNLIKELY(b->n_bytes + len > b->cap_bytes)
            && tg__colbuf_reserve(b, 0, len))
            return tg_error("out of memory");
        tg__colbuf_str(b, v, len);
        return NULL;
    }
    return NULL;
not_a_value:
    if (quoted || !is_default_na(v, len))
        return bad_value(ps, col, v, len);
null:
    return tg__colbuf_null(b) ? tg_error("out of memory") : NULL;
}

/* A quoted field at *pp: its unescaped text in *v and *len; advances *pp
 * past the closing quote and counts embedded newlines in *nl. */
static tg_value *quoted_field(parser *ps, const char **pp, const char *end,
                              const char **v, size_t *len, int64_t *nl)
{
    const char *p = *pp + 1, *q = p;
    bool esc = false;
    for (;; q += 2) {
        q = memchr(q, '"', (size_t)(end - q));
        if (!q)
            return parse_error(ps, "unterminated quoted field");
        if (q + 1 >= end || q[1] != '"')
            break;
        esc = true;
    }
    *nl += (int64_t)tg__count_byte(p, (size_t)(q - p), '\n');
    *v = p;
    *len = (size_t)(q - p);
    *pp = q + 1;
    if (!esc)
        return NULL;
    if (*len > ps->scratch_cap) {
        char *s = tg__realloc(ps->scratch, *len);
        if (!s)
            return tg_error("out of memory");
        ps->scratch = s;
        ps->scratch_cap = *len;
    }
    size_t w = 0;
    for (size_t i = 0; i < *len; i++) {
        ps->scratch[w++] = p[i];
        i += p[i] == '"';
    }
    *v = ps->scratch;
    *len = w;
    return NULL;
}

/* Parses one non-blank record at *pp.  NULL on success. */
static tg_value *parse_record(parser *ps, const char **pp, const char *end)
{
    const char *rec = *pp, *p = rec;
    const char delim = ps->s->delim;
    size_t ncols = ps->s->ncols;
    int64_t nl = 0;
    for (size_t col = 0; col < ncols; col++) {
        const char *v = p;
        size_t len = 0;
        bool quoted = *p == '"';
        tg_value *e;
        if (quoted) {
            if ((e = quoted_field(ps, &p, end, &v, &len, &nl)))
                return e;
            if (*p == '\r' && p + 1 < end && p[1] == '\n')
                p++;
            if (*p != delim && *p != '\n')
                return parse_error(ps, "unexpected character after a "
                                       "closing quote");
        } else {
            const char *q = p;
            for (;;) {
                q = scanner_next(&ps->sc, q);
                if (*q != '\r' || q[1] == '\n')
                    break;
                q++; /* a lone CR is data */
            }
            if (*q == '"')
                return parse_error(ps, "quote inside an unquoted field");
            len = (size_t)(q - p);
            p = q;
            if (*p == '\r')
                p++;
        }
        bool last = col + 1 == ncols;
        if (TG_UNLIKELY(*p != (last ? '\n' : delim)))
            return ragged(ps, rec, end);
        if ((!ps->keep || ps->keep[col])
            && (e = store(ps, col, v, len, quoted)))
            return e;
        p++;
    }
    *pp = p;
    ps->line += 1 + nl;
    return NULL;
}

static tg_value *finish_frame(parser *ps, size_t rows)
{
    size_t ncols = ps->s->ncols, n = 0;
    tg__col **cols = tg__calloc(ncols ? ncols : 1, sizeof *cols);
    const char **names = tg__calloc(ncols ? ncols : 1, sizeof *names);
    tg__frame *f = NULL;
    bool ok = cols && names;
    for (size_t i = 0; ok && i < ncols; i++) {
        if (ps->keep && !ps->keep[i])
            continue;
        names[n] = ps->s->names[i];
        ok = (cols[n++] = tg__colbuf_finish(&ps->cols[i])) != NULL;
    }
    if (ok)
        f = tg__frame_new(n, names, cols, rows);
    else
        for (size_t i = 0; cols && i < n; i++)
            tg__col_unref(cols[i]);
    tg__free(cols);
    tg__free(names);
    tg_value *v = tg__frame_value(f);
    return v ? v : tg_error("out of memory");
}

/* Room for rows + 1 rows in every kept column. */
static int reserve_rows(parser *ps, size_t rows)
{
    for (size_t i = 0; i < ps->s->ncols; i++)
        if ((!ps->keep || ps->keep[i])
            && tg__colbuf_reserve(&ps->cols[i], rows ? rows : 16, 0))
            return TG_ENOMEM;
    return 0;
}

#define RELEASE_EVERY ((size_t)4 << 20)

tg_value *tg__csv_parse(const tg__csv_schema *s, const uint8_t *keep,
                        const char *p, const char *end, const char *file,
                        int64_t first_line, const tg__csv_release *rel)
{
    assert(p == end || end[-1] == '\n');
    parser ps = {s,    keep, file, first_line, NULL, {NULL, 0, end, s->delim},
                 NULL, 0};
    tg_value *res = NULL;
    if (s->ncols == 0) {
        tg__frame *f = tg__frame_empty(0, NULL, NULL);
        res = tg__frame_value(f);
        return res ? res : tg_error("out of memory");
    }
    size_t est = (size_t)(end - p) / 48 + 16, rows = 0, cap = est;
    ps.cols = tg__calloc(s->ncols, sizeof *ps.cols);
    if (!ps.cols)
        return tg_error("out of memory");
    for (size_t i = 0; i < s->ncols; i++)
        if ((!keep || keep[i])
            && tg__colbuf_init(&ps.cols[i], s->types[i], est))
            goto oom;
    const char *released = p;
    while (p < end) {
        const char *b = blank_line(p, end);
        if (b) {
            p = b, ps.line++;
            continue;
        }
        if (TG_UNLIKELY(rel && (size_t)(p - released) >= RELEASE_EVERY)) {
            rel->fn(rel->ud, p);
            released = p;
        }
        if (TG_UNLIKELY(rows == cap)) {
            if (reserve_rows(&ps, rows))
                goto oom;
            cap *= 2;
        }
        if ((res = parse_record(&ps, &p, end)))
            goto done;
        rows++;
    }
    res = finish_frame(&ps, rows);
    goto done;
oom:
    res = tg_error("out of memory parsing %s", file);
done:
    for (size_t i = 0; i < s->ncols; i++)
        tg__colbuf_close(&ps.cols[i]);
    tg__free(ps.cols);
    tg__free(ps.scratch);
    return res;
}
