/* dataframe/order.c - key order and the stable sort of row indices.
 *
 * The sort is a bottom-up merge sort over uint32 row indices: runs of
 * RUN rows are sorted by insertion, then merged in passes that swap
 * between the array and one scratch array of n indices.  A merge takes
 * from the left run while left <= right, so equal rows keep their
 * order.  The comparator and its context are arguments: no thread-local
 * state, so sorts on different threads never meet.  Key rules:
 * order_internal.h.
 */
#include "order_internal.h"

#define RUN 16
/* tg__order_top sorts everything when it keeps more than 1/8 of the
 * rows: insertion into the kept rows would cost more than a sort. */
#define TOP_SORT_RATIO 8
/* Normalised keys of this many rows or more take the radix sort. */
#define RADIX_MIN 256

int tg__key_cmp(const tg__keyview *a, size_t i, const tg__keyview *b, size_t j)
{
    bool va = tg__valid(a->valid, i), vb = tg__valid(b->valid, j);
    if (!va || !vb)
        return va == vb ? 0 : va ? -1 : 1;
    switch (a->type) {
    case TG_DT_STRING: {
        const int64_t *oa = a->data, *ob = b->data;
        size_t la = (size_t)(oa[i + 1] - oa[i]);
        size_t lb = (size_t)(ob[j + 1] - ob[j]);
        int r = la && lb ? memcmp(a->bytes + oa[i], b->bytes + ob[j],
                                  la < lb ? la : lb)
                         : 0;
        return r ? r : (la > lb) - (la < lb);
    }
    case TG_DT_FLOAT64: {
        double x = ((const double *)a->data)[i];
        double y = ((const double *)b->data)[j];
        if (x != x || y != y) /* NaN after numbers */
            return (x != x) - (y != y);
        return (x > y) - (x < y);
    }
    case TG_DT_BOOL: {
        int x = ((const uint8_t *)a->data)[i];
        int y = ((const uint8_t *)b->data)[j];
        return x - y;
    }
    default: {
        int64_t x = ((const int64_t *)a->data)[i];
        int64_t y = ((const int64_t *)b->data)[j];
        return (x > y) - (x < y);
    }
    }
}

/* True for a NaN at row i of a float key. */
static inline bool is_nan(const tg__keyview *k, size_t i)
{
    if (k->type != TG_DT_FLOAT64 || !tg__valid(k->valid, i))
        return false;
    double x = ((const double *)k->data)[i];
    return x != x;
}

/* One key with its direction: nulls and NaN are placed before the
 * direction applies, so that neither moves when it flips. */
int tg__sortkey_cmp(const tg__sortkey *s, const tg__keyview *a, size_t i,
                    const tg__keyview *b, size_t j)
{
    bool vi = tg__valid(a->valid, i), vj = tg__valid(b->valid, j);
    bool ni = is_nan(a, i), nj = is_nan(b, j);
    if (s->nan_is_null) {
        vi = vi && !ni, vj = vj && !nj;
        ni = nj = false;
    }
    if (!vi || !vj) {
        if (vi == vj)
            return 0;
        return (vi ? -1 : 1) * (s->nulls_first ? -1 : 1);
    }
    if (ni || nj)
        return (int)ni - (int)nj;
    int r = tg__key_cmp(a, i, b, j);
    return s->descending ? -r : r;
}

static int sortkey_cmp(const tg__sortkey *s, uint32_t i, uint32_t j)
{
    return tg__sortkey_cmp(s, &s->key, i, &s->key, j);
}

typedef struct keys_ctx {
    const tg__sortkey *keys;
    size_t n_keys;
    uint64_t **prefix; /* per key: NULL, or for a string key the first
                          8 bytes of each row, zero-padded, as a
                          big-endian number (compares as memcmp does) */
} keys_ctx;

/* The prefix of a string: its first 8 bytes, zero-padded, big-endian. */
static uint64_t str_prefix(const char *p, size_t len)
{
    uint8_t b[8] = {0};
    memcpy(b, p, len < 8 ? len : 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* Prefixes for the string keys of c over n rows.  0 or TG_ENOMEM. */
static int ctx_prefixes(keys_ctx *c, size_t n)
{
    size_t n_str = 0;
    for (size_t k = 0; k < c->n_keys; k++)
        n_str += c->keys[k].key.type == TG_DT_STRING;
    if (n_str == 0)
        return 0; /* nothing to shorten */
    c->prefix = tg__calloc(c->n_keys, sizeof *c->prefix);
    if (!c->prefix)
        return TG_ENOMEM;
    for (size_t k = 0; k < c->n_keys; k++) {
        const tg__keyview *kv = &c->keys[k].key;
        if (kv->type != TG_DT_STRING)
            continue;
        if (!(c->prefix[k] = tg__malloc((n ? n : 1) * sizeof **c->prefix)))
            return TG_ENOMEM;
        const int64_t *off = kv->data;
        for (size_t i = 0; i < n; i++)
            c->prefix[k][i] =
                str_prefix(kv->bytes + off[i], (size_t)(off[i + 1] - off[i]));
    }
    return 0;
}

static void ctx_close(keys_ctx *c)
{
    for (size_t k = 0; c->prefix && k < c->n_keys; k++)
        tg__free(c->prefix[k]);
    tg__free(c->prefix);
}

/* Key k of rows i and j by their prefixes: decided (*r set), or not
 * (equal prefixes that do not prove the strings equal). */
static bool by_prefix(const keys_ctx *c, size_t k, uint32_t i, uint32_t j,
                      int *r)
{
    const tg__sortkey *s = &c->keys[k];
    if (!tg__valid(s->key.valid, i) || !tg__valid(s->key.valid, j))
        return false;
    uint64_t a = c->prefix[k][i], b = c->prefix[k][j];
    if (a != b) {
        *r = (a < b ? -1 : 1) * (s->descending ? -1 : 1);
        return true;
    }
    const int64_t *off = s->key.data;
    int64_t li = off[i + 1] - off[i], lj = off[j + 1] - off[j];
    *r = 0;
    return li == lj && li <= 8;
}

static int keys_cmp(const void *ctx, uint32_t i, uint32_t j)
{
    const keys_ctx *c = ctx;
    for (size_t k = 0; k < c->n_keys; k++) {
        int r;
        if (!(c->prefix && c->prefix[k] && by_prefix(c, k, i, j, &r)))
            r = sortkey_cmp(&c->keys[k], i, j);
        if (r)
            return r;
    }
    return 0;
}

/* The sort's pieces are always inlined, so a sort whose comparator is
 * a constant (the normalised keys below) compares without a call. */
#define SORT_INLINE static inline __attribute__((always_inline))

SORT_INLINE void insertion_sort(uint32_t *a, size_t n, tg__row_cmp cmp,
                                const void *ctx)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = a[i];
        size_t j = i;
        for (; j > 0 && cmp(ctx, a[j - 1], x) > 0; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

/* Merges the sorted runs a[0..na) and b[0..nb) into out, stably. */
SORT_INLINE void merge(const uint32_t *a, size_t na, const uint32_t *b,
                       size_t nb, uint32_t *out, tg__row_cmp cmp,
                       const void *ctx)
{
    size_t i = 0, j = 0, k = 0;
    if (na && nb && cmp(ctx, a[na - 1], b[0]) <= 0) { /* already in order */
        memcpy(out, a, na * sizeof *a);
        memcpy(out + na, b, nb * sizeof *b);
        return;
    }
    while (i < na && j < nb)
        out[k++] = cmp(ctx, b[j], a[i]) < 0 ? b[j++] : a[i++];
    if (i < na)
        memcpy(out + k, a + i, (na - i) * sizeof *a);
    if (j < nb)
        memcpy(out + k, b + j, (nb - j) * sizeof *b);
}

SORT_INLINE int stable_sort(uint32_t *idx, size_t n, tg__row_cmp cmp,
                            const void *ctx)
{
    for (size_t lo = 0; lo < n; lo += RUN)
        insertion_sort(idx + lo, n - lo < RUN ? n - lo : RUN, cmp, ctx);
    if (n <= RUN)
        return 0;
    uint32_t *tmp = tg__malloc(n * sizeof *tmp);
    if (!tmp)
        return TG_ENOMEM;
    uint32_t *src = idx, *dst = tmp;
    for (size_t w = RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = n - lo < w ? n : lo + w;
            size_t hi = n - lo < 2 * w ? n : lo + 2 * w;
            merge(src + lo, mid - lo, src + mid, hi - mid, dst + lo, cmp, ctx);
        }
        uint32_t *t = src;
        src = dst, dst = t;
    }
    if (src != idx)
        memcpy(idx, src, n * sizeof *idx);
    tg__free(tmp);
    return 0;
}

int tg__stable_sort(uint32_t *idx, size_t n, tg__row_cmp cmp, const void *ctx)
{
    return stable_sort(idx, n, cmp, ctx);
}

/* ---- normalised keys -------------------------------------------------------
 * When there are at most 8 keys and every key is int64, float64, bool
 * or a string column whose strings all fit in 8 bytes, each row's keys
 * become a few uint64 words
 * that, compared in turn, order rows exactly as tg__sortkey_cmp does:
 * per key a class word (0 null first, 1 a value, 2 NaN, 3 null last;
 * only when the column has a null or NaN), then the value: int64 with
 * its sign bit flipped, float64's bits made monotonic (-0.0 as 0.0),
 * bool, or a string's bytes zero-padded big-endian and, when lengths
 * differ, its length; all inverted for a descending key.  Rows then
 * compare by a few integer compares instead of a call per key. */
typedef struct normkeys {
    const uint64_t *w;
    size_t nw; /* words per row */
} normkeys;

/* Word layout of one key: whether it needs a class word and a length
 * word; false when the key cannot be normalised. */
static bool key_layout(const tg__sortkey *s, size_t n, bool *cls, bool *len)
{
    const tg__keyview *k = &s->key;
    *cls = *len = false;
    if (k->type == TG_DT_STRING) {
        const int64_t *off = k->data;
        int64_t l0 = -1;
        for (size_t i = 0; i < n; i++) {
            if (!tg__valid(k->valid, i)) {
                *cls = true;
                continue;
            }
            int64_t l = off[i + 1] - off[i];
            if (l > 8)
                return false;
            *len = *len || (l0 >= 0 && l != l0);
            l0 = l;
        }
        return true;
    }
    for (size_t i = 0; i < n && !*cls; i++)
        *cls = !tg__valid(k->valid, i) || is_nan(k, i);
    return true;
}

/* Row i's value word of key k (a value, not null or NaN). */
static uint64_t value_word(const tg__keyview *k, size_t i)
{
    switch (k->type) {
    case TG_DT_STRING: {
        const int64_t *off = k->data;
        return str_prefix(k->bytes + off[i], (size_t)(off[i + 1] - off[i]));
    }
    case TG_DT_FLOAT64: {
        double x = ((const double *)k->data)[i];
        uint64_t b;
        x = x == 0 ? 0.0 : x;
        memcpy(&b, &x, sizeof b);
        return b >> 63 ? ~b : b | (UINT64_C(1) << 63);
    }
    case TG_DT_BOOL: return ((const uint8_t *)k->data)[i] != 0;
    default:
        return (uint64_t)((const int64_t *)k->data)[i] ^ (UINT64_C(1) << 63);
    }
}

/* The words of every row; NULL with *nw 0 when a key cannot be
 * normalised, NULL with *nw set when memory runs out. */
static uint64_t *normalise(const tg__sortkey *keys, size_t n_keys, size_t n,
                           size_t *nw)
{
    bool cls[8], len[8];
    *nw = 0;
    if (n_keys > 8)
        return NULL;
    size_t words = 0;
    for (size_t k = 0; k < n_keys; k++) {
        if (!key_layout(&keys[k], n, &cls[k], &len[k]))
            return NULL;
        words += cls[k] + 1u + len[k];
    }
    *nw = words;
    uint64_t *w = tg__malloc((n ? n : 1) * *nw * sizeof *w);
    if (!w)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t *o = w + i * *nw;
        for (size_t k = 0; k < n_keys; k++) {
            const tg__sortkey *s = &keys[k];
            bool valid = tg__valid(s->key.valid, i), nan = is_nan(&s->key, i);
            uint64_t c = 1, v = 0, l = 0;
            if (!valid || (nan && s->nan_is_null))
                c = s->nulls_first ? 0 : 3;
            else if (nan)
                c = 2;
            if (c == 1) {
                v = value_word(&s->key, i);
                if (len[k]) {
                    const int64_t *off = s->key.data;
                    l = (uint64_t)(off[i + 1] - off[i]);
                }
                if (s->descending)
                    v = ~v, l = ~l;
            }
            if (cls[k])
                *o++ = c;
            *o++ = v;
            if (len[k])
                *o++ = l;
        }
    }
    return w;
}

static inline int norm_cmp(const void *ctx, uint32_t i, uint32_t j)
{
    const normkeys *nk = ctx;
    const uint64_t *a = nk->w + (size_t)i * nk->nw;
    const uint64_t *b = nk->w + (size_t)j * nk->nw;
    for (size_t k = 0; k < nk->nw; k++)
        if (a[k] != b[k])
            return a[k] < b[k] ? -1 : 1;
    return 0;
}

/* Sorts idx (the identity) stably by the rows' words: a least
 * significant digit radix sort, the last word first, a byte per pass;
 * a byte that is the same in every row costs no pass (small integers,
 * shared string prefixes and class words are mostly such bytes).  0 or
 * TG_ENOMEM. */
static int radix_sort(uint32_t *idx, size_t n, const uint64_t *w, size_t nw)
{
    uint32_t *tmp = tg__malloc(n * sizeof *tmp);
    size_t(*count)[256] = tg__malloc(8 * sizeof *count);
    if (!tmp || !count) {
        tg__free(tmp);
        tg__free(count);
        return TG_ENOMEM;
    }
    uint32_t *src = idx, *dst = tmp;
    for (size_t k = nw; k-- > 0;) {
        memset(count, 0, 8 * sizeof *count);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = w[i * nw + k];
            for (int b = 0; b < 8; b++)
                count[b][(v >> (8 * b)) & 255]++;
        }
        for (int b = 0; b < 8; b++) {
            if (count[b][(w[k] >> (8 * b)) & 255] == n)
                continue; /* row 0's byte is every row's */
            size_t at = 0;
            for (int d = 0; d < 256; d++) {
                size_t c = count[b][d];
                count[b][d] = at;
                at += c;
            }
            for (size_t i = 0; i < n; i++) {
                uint32_t r = src[i];
                dst[count[b][(w[(size_t)r * nw + k] >> (8 * b)) & 255]++] = r;
            }
            uint32_t *t = src;
            src = dst, dst = t;
        }
    }
    if (src != idx)
        memcpy(idx, src, n * sizeof *idx);
    tg__free(tmp);
    tg__free(count);
    return 0;
}

uint32_t *tg__order_rows(const tg__sortkey *keys, size_t n_keys, size_t n)
{
    uint32_t *idx = tg__malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    normkeys nk = {NULL, 0};
    if (n_keys && n > RUN) {
        nk.w = normalise(keys, n_keys, n, &nk.nw);
        if (nk.nw) { /* normalised, or out of memory */
            int rc = !nk.w            ? TG_ENOMEM
                     : n >= RADIX_MIN ? radix_sort(idx, n, nk.w, nk.nw)
                                      : stable_sort(idx, n, norm_cmp, &nk);
            tg__free((void *)nk.w);
            if (rc == 0)
                return idx;
            tg__free(idx);
            return NULL;
        }
    }
    keys_ctx c = {keys, n_keys, NULL};
    if (n_keys && (ctx_prefixes(&c, n) || stable_sort(idx, n, keys_cmp, &c))) {
        tg__free(idx);
        idx = NULL;
    }
    ctx_close(&c);
    return idx;
}

uint32_t *tg__order_top(const tg__sortkey *keys, size_t n_keys, size_t n,
                        size_t limit)
{
    if (limit >= n / TOP_SORT_RATIO)
        return tg__order_rows(keys, n_keys, n);
    uint32_t *top = tg__malloc((limit ? limit : 1) * sizeof *top);
    if (!top)
        return NULL;
    keys_ctx c = {keys, n_keys, NULL};
    if (ctx_prefixes(&c, n)) {
        ctx_close(&c);
        tg__free(top);
        return NULL;
    }
    size_t m = 0; /* top[0..m): the best rows so far, in order */
    for (size_t i = 0; i < n && limit; i++) {
        /* a row equal to the last kept comes after it (a later row) */
        if (m == limit && keys_cmp(&c, (uint32_t)i, top[m - 1]) >= 0)
            continue;
        size_t lo = 0, hi = m; /* after every row <= i: stable */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (keys_cmp(&c, top[mid], (uint32_t)i) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (m < limit)
            m++;
        memmove(top + lo + 1, top + lo, (m - 1 - lo) * sizeof *top);
        top[lo] = (uint32_t)i;
    }
    ctx_close(&c);
    return top;
}
