/* dataframe/aggstate.c - aggregation states: update from a column, merge,
 * finish into an output column.
 *
 * Every state is a set of per-group arrays updated by one flat loop per
 * column.  Missing values are skipped: nulls, and NaN, whose slots the
 * caller's validity bitmap clears (partial.c).  Float sums (sum, mean,
 * var, std) are kept as double-double pairs (about 106 bits), so merging
 * partials in any order rounds to the same double: results do not depend
 * on the partitioning.  var/std use the sums of x and of x*x (x*x split
 * exactly with fma): with 106 bits the textbook formula keeps 53 good
 * bits until mean^2 / var passes 2^50.  A column the caller found to hold
 * an infinity, and every merge, add with dd_add_inf, which keeps IEEE's
 * infinities.  Integer sums are exact in 128 bits.
 */
#include <math.h>
#include <stdio.h>

#include "partial_internal.h"
#include "runtime/codec_internal.h"

#define SKIP UINT32_MAX

/* ---- double-double arithmetic ------------------------------------------ */

/* Adds x to the pair (hi, lo).  Finite values only: the error term of
 * an infinite sum is NaN (so inf + 1 would give NaN). */
static inline void dd_add(double *hi, double *lo, double x)
{
    double s = *hi + x, bb = s - *hi;
    double e = (*hi - (s - bb)) + (x - bb) + *lo;
    *hi = s + e;
    *lo = e - (*hi - s);
}

/* dd_add for sums that may meet an infinity: an infinite or NaN sum
 * stays the plain IEEE sum in hi (inf + 1 is inf, inf - inf NaN).  The
 * test costs the finite loops a fifth of their time, so they use
 * dd_add and only columns holding an infinity, and merges, use this. */
static inline void dd_add_inf(double *hi, double *lo, double x)
{
    double s = *hi + x;
    if (TG_UNLIKELY(!isfinite(s) || !isfinite(*lo))) {
        *hi = s;
        *lo = 0;
        return;
    }
    dd_add(hi, lo, x);
}

static inline void dd_add_dd(double *hi, double *lo, double bh, double bl)
{
    dd_add_inf(hi, lo, bh);
    dd_add_inf(hi, lo, bl);
}

/* ---- group maps -----------------------------------------------------------
 */

int tg__group_map_rebuild(tg__map *m, size_t n,
                          uint64_t (*hash_of)(const void *, uint32_t),
                          const void *ud)
{
    tg__map t;
    if (tg__map_init(&t, (n + 1) * 3 / 2)) /* cap >= 2 (n + 1) */
        return TG_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        tg__map_probe p = tg__map_begin(&t, hash_of(ud, i));
        while (tg__map_next(&t, &p) != TG__MAP_NONE)
            ;
        tg__map_insert(&t, &p, i);
    }
    tg__map_close(m);
    *m = t;
    return 0;
}

/* ---- distinct sets (nunique) -------------------------------------------- */

void tg__distinct_free(tg__distinct *d)
{
    if (!d)
        return;
    tg__free(d->gid);
    tg__free(d->vh);
    tg__free(d->bits);
    tg__free(d->slen);
    tg__free(d->sbuf);
    tg__map_close(&d->map);
    tg__free(d);
}

static inline uint64_t entry_hash(uint64_t vh, uint32_t gid)
{
    return tg__mix64(vh ^ gid);
}

/* The hash of entry e, for growing the map. */
static uint64_t distinct_hash(const void *ud, uint32_t e)
{
    const tg__distinct *d = ud;
    return entry_hash(d->vh[e], d->gid[e]);
}

static int distinct_grow(tg__distinct *d)
{
    size_t cap = d->cap ? d->cap * 2 : 64;
    uint32_t *g = tg__realloc(d->gid, cap * sizeof *g);
    if (g)
        d->gid = g;
    uint64_t *h = g ? tg__realloc(d->vh, cap * sizeof *h) : NULL;
    if (h)
        d->vh = h;
    int64_t *b = h ? tg__realloc(d->bits, cap * sizeof *b) : NULL;
    if (b)
        d->bits = b;
    int64_t *l = b ? tg__realloc(d->slen, cap * sizeof *l) : NULL;
    if (l)
        d->slen = l;
    if (!l)
        return TG_ENOMEM;
    d->cap = cap;
    return 0;
}

/* Inserts (gid, value) unless present.  s != NULL for strings. */
static int distinct_add(tg__distinct *d, uint32_t gid, uint64_t vh,
                        int64_t bits, const char *s, size_t len)
{
    uint64_t h = entry_hash(vh, gid);
    tg__map *m = &d->map;
    if (TG_UNLIKELY(!m->cap)
        && tg__group_map_rebuild(m, d->n, distinct_hash, d))
        return TG_ENOMEM;
    tg__map_probe p = tg__map_begin(m, h);
    for (uint32_t e; (e = tg__map_next(m, &p)) != TG__MAP_NONE;) {
        if (d->gid[e] != gid || d->vh[e] != vh)
            continue;
        if (s ? (size_t)d->slen[e] == len
                    && (len == 0 || memcmp(d->sbuf + d->bits[e], s, len) == 0)
              : d->bits[e] == bits)
            return 0;
    }
    if (tg__group_map_full(m)) { /* rebuild, find the empty slot again */
        if (tg__group_map_rebuild(m, d->n, distinct_hash, d))
            return TG_ENOMEM;
        p = tg__map_begin(m, h);
        while (tg__map_next(m, &p) != TG__MAP_NONE)
            ;
    }
    if (d->n == d->cap && distinct_grow(d))
        return TG_ENOMEM;
    if (s) {
        if (d->sbuf_len + len > d->sbuf_cap) {
            size_t cap = d->sbuf_cap ? d->sbuf_cap : 256;
            while (cap < d->sbuf_len + len)
                cap *= 2;
            char *b = tg__realloc(d->sbuf, cap);
            if (!b)
                return TG_ENOMEM;
            d->sbuf = b, d->sbuf_cap = cap;
        }
        if (len)
            memcpy(d->sbuf + d->sbuf_len, s, len);
        bits = (int64_t)d->sbuf_len;
        d->sbuf_len += len;
    }
    d->gid[d->n] = gid, d->vh[d->n] = vh, d->bits[d->n] = bits;
    d->slen[d->n] = (int64_t)len;
    tg__map_insert(m, &p, (uint32_t)d->n++);
    return 0;
}

/* The 8-byte identity of a fixed-width value (tg__key_eq's rules). */
static inline int64_t value_bits(const tg__col *c, size_t i)
{
    switch (c->type) {
    case TG_DT_FLOAT64:
        return (int64_t)tg__float_key_bits(((const double *)c->data)[i]);
    case TG_DT_BOOL: return ((const uint8_t *)c->data)[i];
    default: return ((const int64_t *)c->data)[i];
    }
}

static int distinct_update(tg__distinct *d, const tg__col *c,
                           const uint8_t *valid, const uint32_t *gid, size_t n)
{
    const tg__keyview kv = tg__keyview_col(c);
    for (size_t i = 0; i < n; i++) {
        if (gid[i] == SKIP || !tg__valid(valid, i))
            continue;
        int rc;
        uint64_t vh = tg__key_hash(&kv, i);
        if (c->type == TG_DT_STRING) {
            size_t len;
            const char *s = tg__col_str(c, i, &len);
            rc = distinct_add(d, gid[i], vh, 0, s, len);
        } else {
            rc = distinct_add(d, gid[i], vh, value_bits(c, i), NULL, 0);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int distinct_merge(tg__distinct *d, const tg__distinct *s,
                          const uint32_t *map, bool strings)
{
    for (size_t e = 0; e < s->n; e++) {
        if (map[s->gid[e]] == SKIP)
            continue;
        int rc = distinct_add(d, map[s->gid[e]], s->vh[e], s->bits[e],
                              strings ? (s->slen[e] ? s->sbuf + s->bits[e] : "")
                                      : NULL,
                              (size_t)s->slen[e]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- state arrays -------------------------------------------------------- */

static bool needs_count(tg_agg_op op)
{
    return op == TG_AGG_COUNT || op == TG_AGG_MEAN || op == TG_AGG_VAR
           || op == TG_AGG_STD;
}

static bool int_sum(const tg__aggspec *a)
{
    return (a->op == TG_AGG_SUM || a->op == TG_AGG_MEAN)
           && a->in != TG_DT_FLOAT64;
}

/* Grows *p from old to cap elements of size w, zeroing the new ones. */
static int grow(void *pp, size_t w, size_t old, size_t cap)
{
    void **p = pp;
    void *q = tg__realloc(*p, cap * w);
    if (!q)
        return TG_ENOMEM;
    memset((char *)q + old * w, 0, (cap - old) * w);
    *p = q;
    return 0;
}

int tg__aggstate_grow(tg__aggstate *s, const tg__aggspec *a, size_t old,
                      size_t cap)
{
    int rc = 0;
    tg_agg_op op = a->op;
    if (needs_count(op))
        rc |= grow(&s->count, 8, old, cap);
    if (int_sum(a))
        rc |= grow(&s->isum, sizeof *s->isum, old, cap);
    else if (op == TG_AGG_SUM || op == TG_AGG_MEAN || op == TG_AGG_VAR
             || op == TG_AGG_STD)
        rc |= grow(&s->hi, 8, old, cap) | grow(&s->lo, 8, old, cap);
    if (op == TG_AGG_VAR || op == TG_AGG_STD)
        rc |= grow(&s->hi2, 8, old, cap) | grow(&s->lo2, 8, old, cap);
    if (op == TG_AGG_MIN || op == TG_AGG_MAX) {
        rc |= grow(&s->has, 1, old, cap);
        if (a->in == TG_DT_FLOAT64)
            rc |= grow(&s->fmin, 8, old, cap);
        else if (a->in == TG_DT_STRING)
            rc |= grow(&s->soff, 8, old, cap) | grow(&s->slen, 8, old, cap);
        else
            rc |= grow(&s->imin, 8, old, cap);
    }
    if (op == TG_AGG_NUNIQUE && !s->set
        && !(s->set = tg__calloc(1, sizeof *s->set)))
        rc = TG_ENOMEM;
    return rc ? TG_ENOMEM : 0;
}

/* Shrinks *pp to n bytes; keeps it as it is if that fails. */
static void shrink(void *pp, size_t n)
{
    void **p = pp;
    void *q = *p ? tg__realloc(*p, n) : NULL;
    if (q)
        *p = q;
}

void tg__aggstate_shrink(tg__aggstate *s, size_t n)
{
    shrink(&s->count, n * 8);
    shrink(&s->isum, n * sizeof *s->isum);
    shrink(&s->hi, n * 8);
    shrink(&s->lo, n * 8);
    shrink(&s->hi2, n * 8);
    shrink(&s->lo2, n * 8);
    shrink(&s->imin, n * 8);
    shrink(&s->fmin, n * 8);
    shrink(&s->soff, n * 8);
    shrink(&s->slen, n * 8);
    shrink(&s->has, n);
}

void tg__aggstate_free(tg__aggstate *s)
{
    tg__free(s->count);
    tg__free(s->isum);
    tg__free(s->hi);
    tg__free(s->lo);
    tg__free(s->hi2);
    tg__free(s->lo2);
    tg__free(s->imin);
    tg__free(s->fmin);
    tg__free(s->soff);
    tg__free(s->slen);
    tg__free(s->has);
    tg__free(s->sbuf);
    tg__distinct_free(s->set);
    memset(s, 0, sizeof *s);
}

/* Stores string s as group g's min/max candidate. */
static int set_str(tg__aggstate *st, size_t g, const char *s, size_t len)
{
    if (st->sbuf_len + len > st->sbuf_cap) {
        size_t cap = st->sbuf_cap ? st->sbuf_cap : 256;
        while (cap < st->sbuf_len + len)
            cap *= 2;
        char *b = tg__realloc(st->sbuf, cap);
        if (!b)
            return TG_ENOMEM;
        st->sbuf = b, st->sbuf_cap = cap;
    }
    if (len)
        memcpy(st->sbuf + st->sbuf_len, s, len);
    st->soff[g] = (int64_t)st->sbuf_len;
    st->slen[g] = (int64_t)len;
    st->sbuf_len += len;
    st->has[g] = 1;
    return 0;
}

static int str_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    int r = la && lb ? memcmp(a, b, la < lb ? la : lb) : 0;
    return r ? r : (la > lb) - (la < lb);
}

/* Offers value v of group g to a min (sign 1) or max (sign -1). */
static int offer_str(tg__aggstate *st, size_t g, const char *v, size_t len,
                     int sign)
{
    if (st->has[g]
        && sign * str_cmp(v, len, st->sbuf + st->soff[g], (size_t)st->slen[g])
               >= 0)
        return 0;
    return set_str(st, g, v, len);
}

#define EACH_VALID(body)                                                       \
    for (size_t i = 0; i < n; i++) {                                           \
        uint32_t g = gid[i];                                                   \
        if (g == SKIP || (v && !tg__valid(v, i)))                              \
            continue;                                                          \
        body;                                                                  \
    }

/* The values of an int64 or bool column as int64, one at a time. */
static inline int64_t int_at(const tg__col *c, size_t i)
{
    return c->type == TG_DT_BOOL ? ((const uint8_t *)c->data)[i]
                                 : ((const int64_t *)c->data)[i];
}

static void update_minmax(tg__aggstate *s, const tg__aggspec *a,
                          const tg__col *c, const uint8_t *v,
                          const uint32_t *gid, size_t n, int *rc)
{
    bool mn = a->op == TG_AGG_MIN;
    if (c->type == TG_DT_FLOAT64) {
        const double *x = c->data;
        EACH_VALID(
            if (!s->has[g] || (mn ? x[i] < s->fmin[g] : x[i] > s->fmin[g])) {
                s->fmin[g] = x[i];
                s->has[g] = 1;
            });
    } else if (c->type == TG_DT_STRING) {
        EACH_VALID(size_t len; const char *t = tg__col_str(c, i, &len);
                   if (*rc == 0) *rc = offer_str(s, g, t, len, mn ? 1 : -1));
    } else {
        EACH_VALID(int64_t y = int_at(c, i);
                   if (!s->has[g] || (mn ? y < s->imin[g] : y > s->imin[g])) {
                       s->imin[g] = y;
                       s->has[g] = 1;
                   });
    }
}

/* x * x into (hi, lo) and its rounding error into *lo2. */
static inline void dd_add_square(double *hi, double *lo, double x, bool finite)
{
    double p = x * x;
    if (finite) {
        dd_add(hi, lo, p);
        *lo += fma(x, x, -p);
    } else {
        dd_add_inf(hi, lo, p);
        if (isfinite(*hi))
            *lo += fma(x, x, -p);
    }
}

int tg__aggstate_update(tg__aggstate *s, const tg__aggspec *a, const tg__col *c,
                        const uint8_t *v, bool finite, const uint32_t *gid,
                        size_t n)
{
    int rc = 0;
    if (a->op == TG_AGG_SIZE)
        return 0;
    if (s->count)
        EACH_VALID(s->count[g]++);
    if (a->op == TG_AGG_MIN || a->op == TG_AGG_MAX) {
        update_minmax(s, a, c, v, gid, n, &rc);
    } else if (a->op == TG_AGG_NUNIQUE) {
        rc = distinct_update(s->set, c, v, gid, n);
    } else if (s->isum) {
        EACH_VALID(s->isum[g] += int_at(c, i));
    } else if (s->hi && c->type == TG_DT_FLOAT64 && finite) {
        const double *x = c->data;
        EACH_VALID(dd_add(&s->hi[g], &s->lo[g], x[i]));
    } else if (s->hi && c->type == TG_DT_FLOAT64) {
        const double *x = c->data;
        EACH_VALID(dd_add_inf(&s->hi[g], &s->lo[g], x[i]));
    } else if (s->hi) {
        EACH_VALID(dd_add(&s->hi[g], &s->lo[g], (double)int_at(c, i)));
    }
    if (s->hi2 && c->type == TG_DT_FLOAT64) {
        const double *x = c->data;
        /* two loops: finite is tested once, not per row */
        if (finite) {
            EACH_VALID(dd_add_square(&s->hi2[g], &s->lo2[g], x[i], true));
        } else {
            EACH_VALID(dd_add_square(&s->hi2[g], &s->lo2[g], x[i], false));
        }
    } else if (s->hi2) {
        EACH_VALID(
            dd_add_square(&s->hi2[g], &s->lo2[g], (double)int_at(c, i), true));
    }
    return rc;
}

int tg__aggstate_merge(tg__aggstate *d, const tg__aggstate *s,
                       const tg__aggspec *a, const uint32_t *map, size_t n_src)
{
    bool mn = a->op == TG_AGG_MIN;
    for (size_t g = 0; g < n_src; g++) {
        size_t t = map[g];
        if (t == SKIP)
            continue;
        if (d->count)
            d->count[t] += s->count[g];
        if (d->isum)
            d->isum[t] += s->isum[g];
        if (d->hi)
            dd_add_dd(&d->hi[t], &d->lo[t], s->hi[g], s->lo[g]);
        if (d->hi2)
            dd_add_dd(&d->hi2[t], &d->lo2[t], s->hi2[g], s->lo2[g]);
        if (!d->has || !s->has[g])
            continue;
        if (d->fmin) {
            if (!d->has[t]
                || (mn ? s->fmin[g] < d->fmin[t] : s->fmin[g] > d->fmin[t]))
                d->fmin[t] = s->fmin[g];
        } else if (d->imin) {
            if (!d->has[t]
                || (mn ? s->imin[g] < d->imin[t] : s->imin[g] > d->imin[t]))
                d->imin[t] = s->imin[g];
        } else if (offer_str(d, t, s->slen[g] ? s->sbuf + s->soff[g] : "",
                             (size_t)s->slen[g], mn ? 1 : -1)) {
            return TG_ENOMEM;
        }
        d->has[t] = 1;
    }
    if (d->set)
        return distinct_merge(d->set, s->set, map, a->in == TG_DT_STRING);
    return 0;
}

/* ---- finishing ----------------------------------------------------------- */

/* The sample variance (ddof = 1) from n and the double-double sums of x
 * and x * x: M2 = S2 - S1^2 / n, all in double-double. */
static double variance(int64_t n, double h1, double l1, double h2, double l2)
{
    double dn = (double)n;
    double p = h1 * h1;
    double pe = fma(h1, h1, -p) + 2 * h1 * l1;
    double qh = p / dn;
    double ql = (fma(-qh, dn, p) + pe) / dn;
    double mh = h2, ml = l2;
    dd_add(&mh, &ml, -qh);
    dd_add(&mh, &ml, -ql);
    double m2 = mh + ml;
    return (m2 < 0 ? 0 : m2) / (double)(n - 1);
}

static int64_t *distinct_counts(const tg__distinct *d, size_t n_groups)
{
    int64_t *cnt = tg__calloc(n_groups ? n_groups : 1, sizeof *cnt);
    for (size_t e = 0; cnt && e < d->n; e++)
        cnt[d->gid[e]]++;
    return cnt;
}

/* Writes group g's result into row j of c; false makes it null. */
static bool finish_one(const tg__aggstate *s, const tg__aggspec *a,
                       const int64_t *size, const int64_t *uniq, size_t g,
                       tg__col *c, size_t j, bool *overflow)
{
    int64_t *io = c->data;
    double *fo = c->data;
    switch (a->op) {
    case TG_AGG_COUNT: io[j] = s->count[g]; return true;
    case TG_AGG_SIZE: io[j] = size[g]; return true;
    case TG_AGG_NUNIQUE: io[j] = uniq[g]; return true;
    case TG_AGG_SUM:
        if (a->out == TG_DT_FLOAT64) {
            fo[j] = s->hi[g] + s->lo[g];
            return true;
        }
        *overflow |= s->isum[g] > INT64_MAX || s->isum[g] < INT64_MIN;
        io[j] = (int64_t)s->isum[g];
        return true;
    case TG_AGG_MEAN:
        if (s->count[g] == 0)
            return false;
        fo[j] = (s->isum ? (double)s->isum[g] : s->hi[g] + s->lo[g])
                / (double)s->count[g];
        return true;
    case TG_AGG_VAR:
    case TG_AGG_STD:
        if (s->count[g] < 2)
            return false;
        fo[j] = variance(s->count[g], s->hi[g], s->lo[g], s->hi2[g], s->lo2[g]);
        if (a->op == TG_AGG_STD)
            fo[j] = sqrt(fo[j]);
        return true;
    case TG_AGG_MIN:
    case TG_AGG_MAX:
        if (!s->has[g])
            return false;
        if (a->out == TG_DT_FLOAT64)
            fo[j] = s->fmin[g];
        else if (a->out == TG_DT_BOOL)
            ((uint8_t *)c->data)[j] = (uint8_t)s->imin[g];
        else
            io[j] = s->imin[g];
        return true;
    }
    return false;
}

/* min/max of strings: gathers the chosen strings into a column. */
static tg__col *finish_str(const tg__aggstate *s, const uint32_t *idx, size_t n)
{
    size_t bytes = 0;
    for (size_t j = 0; j < n; j++)
        bytes += s->has[idx[j]] ? (size_t)s->slen[idx[j]] : 0;
    tg__col *c = tg__col_new(TG_DT_STRING, n, bytes);
    if (!c || tg__col_make_valid(c)) {
        tg__col_unref(c);
        return NULL;
    }
    int64_t *off = c->data;
    size_t pos = 0;
    for (size_t j = 0; j < n; j++) {
        size_t g = idx[j];
        if (!s->has[g]) {
            tg__col_set_null(c, j);
        } else if (s->slen[g]) {
            memcpy(c->bytes + pos, s->sbuf + s->soff[g], (size_t)s->slen[g]);
            pos += (size_t)s->slen[g];
        }
        off[j + 1] = (int64_t)pos;
    }
    tg__col_finish_valid(c);
    return c;
}

tg__col *tg__aggstate_finish(const tg__aggstate *s, const tg__aggspec *a,
                             const int64_t *size, size_t n_groups,
                             const uint32_t *idx, size_t n, tg_value **err)
{
    if ((a->op == TG_AGG_MIN || a->op == TG_AGG_MAX)
        && a->out == TG_DT_STRING) {
        tg__col *c = finish_str(s, idx, n);
        if (!c)
            *err = tg_error("out of memory");
        return c;
    }
    int64_t *uniq = NULL;
    tg__col *c = tg__col_new(a->out, n, 0);
    if (!c || tg__col_make_valid(c)
        || (a->op == TG_AGG_NUNIQUE
            && !(uniq = distinct_counts(s->set, n_groups)))) {
        tg__col_unref(c);
        *err = tg_error("out of memory");
        return NULL;
    }
    bool overflow = false;
    for (size_t j = 0; j < n; j++) {
        if (!finish_one(s, a, size, uniq, idx[j], c, j, &overflow)) {
            memset((char *)c->data + j * tg__dtype_width(a->out), 0,
                   tg__dtype_width(a->out));
            tg__col_set_null(c, j);
        }
    }
    tg__free(uniq);
    tg__col_finish_valid(c);
    if (overflow) {
        tg__col_unref(c);
        *err = tg_error("sum of '%s' overflows int64", a->column);
        return NULL;
    }
    return c;
}

/* ---- on the wire --------------------------------------------------------- */

/* The per-group arrays of a state, in wire order, with their element
 * sizes; those an op does not use are NULL. */
typedef struct arrays {
    void **p[11];
    size_t w[11];
} arrays;

static arrays arrays_of(tg__aggstate *s)
{
    return (arrays){{(void **)&s->count, (void **)&s->isum, (void **)&s->hi,
                     (void **)&s->lo, (void **)&s->hi2, (void **)&s->lo2,
                     (void **)&s->imin, (void **)&s->fmin, (void **)&s->soff,
                     (void **)&s->slen, (void **)&s->has},
                    {8, sizeof(tg__i128), 8, 8, 8, 8, 8, 8, 8, 8, 1}};
}

int tg__aggstate_encode(struct tg__enc *e, const tg__aggstate *s,
                        size_t n_groups)
{
    arrays a = arrays_of((tg__aggstate *)s);
    for (size_t i = 0; i < 11; i++)
        if (*a.p[i] && tg__enc_piece(e, *a.p[i], n_groups * a.w[i]))
            return TG_ENOMEM;
    if (s->soff && tg__enc_piece(e, s->sbuf, s->sbuf_len))
        return TG_ENOMEM;
    const tg__distinct *d = s->set;
    if (d
        && (tg__enc_u64(e, d->n) || tg__enc_piece(e, d->gid, d->n * 4)
            || tg__enc_piece(e, d->vh, d->n * 8)
            || tg__enc_piece(e, d->bits, d->n * 8)
            || tg__enc_piece(e, d->slen, d->n * 8)
            || tg__enc_piece(e, d->sbuf, d->sbuf_len)))
        return TG_ENOMEM;
    return 0;
}

static int bad_state(const char *what)
{
    return tg__seterr(TG_EFORMAT, "partial: %s", what);
}

/* Replaces *slot (n elements of w bytes, allocated by grow) with the
 * next piece, which must hold exactly that many. */
static int adopt(tg__dec *d, void **slot, size_t n, size_t w)
{
    void *block;
    size_t len;
    if (tg__dec_piece(d, &block, &len))
        return TG_EFORMAT;
    if (len != n * w) {
        tg__free(block);
        return bad_state("a state array has the wrong length");
    }
    if (block) {
        tg__free(*slot);
        *slot = block;
    }
    return 0;
}

/* A string span [off, off + len) that must lie in a buffer of size. */
static bool span_ok(int64_t off, int64_t len, size_t size)
{
    return off >= 0 && len >= 0 && (uint64_t)off <= size
           && (uint64_t)len <= size - (uint64_t)off;
}

static int decode_set(tg__dec *d, tg__distinct *set, bool strings,
                      size_t n_groups)
{
    uint64_t n;
    if (tg__dec_u64(d, &n))
        return TG_EFORMAT;
    if (n > (SIZE_MAX >> 4))
        return bad_state("a distinct set is too large");
    void *block = NULL;
    size_t len;
    int rc = 0;
    void **slots[4] = {(void **)&set->gid, (void **)&set->vh,
                       (void **)&set->bits, (void **)&set->slen};
    size_t w[4] = {4, 8, 8, 8};
    for (size_t i = 0; i < 4 && rc == 0; i++) {
        if ((rc = tg__dec_piece(d, &block, &len)))
            break;
        *slots[i] = block;
        if (len != n * w[i])
            rc = bad_state("a distinct set has the wrong length");
    }
    set->n = set->cap = (size_t)n;
    if (rc == 0 && (rc = tg__dec_piece(d, &block, &len)) == 0)
        set->sbuf = block, set->sbuf_len = set->sbuf_cap = len;
    for (size_t e = 0; rc == 0 && e < n; e++)
        if (set->gid[e] >= n_groups
            || (strings && !span_ok(set->bits[e], set->slen[e], len)))
            rc = bad_state("a distinct entry is out of range");
    return rc;
}

int tg__aggstate_decode(struct tg__dec *d, tg__aggstate *s,
                        const tg__aggspec *a, size_t n_groups)
{
    if (tg__aggstate_grow(s, a, 0, n_groups ? n_groups : 1))
        return tg__seterr(TG_ENOMEM, "partial: out of memory");
    arrays ar = arrays_of(s);
    for (size_t i = 0; i < 11; i++)
        if (*ar.p[i] && adopt(d, ar.p[i], n_groups, ar.w[i]))
            return TG_EFORMAT;
    for (size_t g = 0; s->has && g < n_groups; g++)
        if (s->has[g] > 1)
            return bad_state("a min/max flag is neither 0 nor 1");
    if (s->soff) {
        void *block;
        size_t len;
        if (tg__dec_piece(d, &block, &len))
            return TG_EFORMAT;
        s->sbuf = block, s->sbuf_len = s->sbuf_cap = len;
        for (size_t g = 0; g < n_groups; g++)
            if (s->has[g] && !span_ok(s->soff[g], s->slen[g], len))
                return bad_state("a min/max string is out of range");
    }
    if (s->set)
        return decode_set(d, s->set, a->in == TG_DT_STRING, n_groups);
    return 0;
}
