/* dataframe/partial.c - groupby specs and partials: decoding a spec,
 * the group table, accumulating a partition, merging and splitting
 * partials, and the ordered result.
 *
 * Rows are hashed a column at a time (order_internal.h's key hash),
 * then looked up in a runtime map of group ids that keeps each group's
 * hash, so most probes compare one integer.  Aggregation states are then
 * updated one column at a time from the array of group ids
 * (aggstate.c).  Tasks and builders live in groupby.c.
 */
#include "partial_internal.h"
#include "runtime/codec_internal.h"

#define SKIP UINT32_MAX
/* Rows ahead whose group slot is fetched while this row is looked up,
 * so that the cache misses of a large group table overlap. */
#define PREFETCH_AHEAD 16

/* ---- specs --------------------------------------------------------------- */

static const char *const op_names[] = {"count", "size", "sum", "mean",   "min",
                                       "max",   "var",  "std", "nunique"};

const char *tg_agg_op_name(tg_agg_op op)
{
    return (unsigned)op <= TG_AGG_NUNIQUE ? op_names[op] : "?";
}

int tg__agg_op_of(const char *name)
{
    for (int i = 0; name && i <= TG_AGG_NUNIQUE; i++)
        if (strcmp(op_names[i], name) == 0)
            return i;
    return -1;
}

bool tg__agg_out_type(tg_agg_op op, tg_dtype in, tg_dtype *out)
{
    switch (op) {
    case TG_AGG_SUM:
        *out = in == TG_DT_FLOAT64 ? TG_DT_FLOAT64 : TG_DT_INT64;
        return in != TG_DT_STRING;
    case TG_AGG_MEAN:
    case TG_AGG_VAR:
    case TG_AGG_STD: *out = TG_DT_FLOAT64; return in != TG_DT_STRING;
    case TG_AGG_MIN:
    case TG_AGG_MAX: *out = in; return true;
    default: *out = TG_DT_INT64; return true;
    }
}

tg__gbspec *tg__gbspec_ref(tg__gbspec *s)
{
    /* Relaxed: the caller holds a reference. */
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void tg__gbspec_unref(tg__gbspec *s)
{
    /* acq_rel: every partial's reads happen before the free. */
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    tg_decref(s->value);
    tg__free(s->keys);
    tg__free(s->key_types);
    tg__free(s->aggs);
    tg__free(s);
}

/* A dtype item of a spec value. */
static bool dtype_at(const tg_value *list, size_t i, tg_dtype *out)
{
    const tg_value *v = tg_list_get(list, i);
    int64_t d = tg_as_int(v);
    *out = (tg_dtype)d;
    return tg_typeof(v) == TG_INT && d >= 0 && d <= TG_DT_STRING;
}

/* Reads aggregation i of the aggs list into a. */
static const char *decode_agg(const tg_value *aggs, size_t i, tg__aggspec *a)
{
    const tg_value *v = tg_list_get(aggs, i);
    int op = tg__agg_op_of(tg_as_str(tg_list_get(v, 0)));
    const tg_value *col = tg_list_get(v, 1);
    if (tg_list_len(v) != 4 || op < 0)
        return "an aggregation is not [op, column, name, dtype]";
    a->op = (tg_agg_op)op;
    a->column = tg_as_str(col);
    a->name = tg_as_str(tg_list_get(v, 2));
    if (!a->name || !dtype_at(v, 3, &a->in)
        || (a->op == TG_AGG_SIZE ? tg_typeof(col) != TG_NULL : !a->column))
        return "an aggregation has a bad column, name or dtype";
    if (!tg__agg_out_type(a->op, a->in, &a->out))
        return "an aggregation does not apply to its column's type";
    return NULL;
}

tg__gbspec *tg__gbspec_decode(const tg_value *v, const char **why)
{
    const tg_value *keys = tg_list_get(v, 0), *kt = tg_list_get(v, 1);
    const tg_value *aggs = tg_list_get(v, 2), *keep = tg_list_get(v, 3);
    if (tg_list_len(v) != 4 || tg_typeof(keys) != TG_LIST
        || tg_typeof(kt) != TG_LIST || tg_typeof(aggs) != TG_LIST
        || tg_typeof(keep) != TG_BOOL || tg_list_len(kt) != tg_list_len(keys))
        return *why = "not [keys, key dtypes, aggregations, keep_null_keys]",
               NULL;
    tg__gbspec *s = tg__calloc(1, sizeof *s);
    size_t nk = tg_list_len(keys), na = tg_list_len(aggs);
    if (!s || !(s->keys = tg__calloc(nk + 1, sizeof *s->keys))
        || !(s->key_types = tg__calloc(nk + 1, sizeof *s->key_types))
        || !(s->aggs = tg__calloc(na + 1, sizeof *s->aggs))) {
        *why = "out of memory";
        goto fail;
    }
    atomic_init(&s->refs, 1);
    s->value = tg_incref((tg_value *)v);
    s->keep_null_keys = tg_as_bool(keep);
    for (; s->n_keys < nk; s->n_keys++) {
        size_t k = s->n_keys;
        if (!(s->keys[k] = tg_as_str(tg_list_get(keys, k)))
            || !dtype_at(kt, k, &s->key_types[k])) {
            *why = "a key is not a name with a dtype";
            goto fail;
        }
    }
    for (; s->n_aggs < na; s->n_aggs++)
        if ((*why = decode_agg(aggs, s->n_aggs, &s->aggs[s->n_aggs])))
            goto fail;
    return s;
fail:
    if (s && !s->value) {
        tg__free(s->keys);
        tg__free(s->key_types);
        tg__free(s->aggs);
        tg__free(s);
        return NULL;
    }
    tg__gbspec_unref(s);
    return NULL;
}

/* Mixes the hashes of rows [0, n) of k into h. */
static void hash_keys(const tg__keyview *k, uint64_t *h, size_t n, bool first)
{
    if (first) {
        for (size_t i = 0; i < n; i++)
            h[i] = tg__key_hash(k, i);
    } else {
        for (size_t i = 0; i < n; i++)
            h[i] = tg__mix64(h[i] * 31 + tg__key_hash(k, i));
    }
}

/* ---- partials ------------------------------------------------------------ */

void tg__partial_free(tg__partial *p)
{
    if (!p)
        return;
    for (size_t k = 0; p->keys && k < p->spec->n_keys; k++)
        tg__colbuf_close(&p->keys[k]);
    for (size_t a = 0; p->st && a < p->spec->n_aggs; a++)
        tg__aggstate_free(&p->st[a]);
    tg__free(p->keys);
    tg__free(p->st);
    tg__free(p->hash);
    tg__free(p->size);
    tg__map_close(&p->map);
    tg__gbspec_unref(p->spec);
    tg__free(p);
}

static int partial_grow(tg__partial *p, size_t need)
{
    if (need <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : 16;
    while (cap < need)
        cap *= 2;
    uint64_t *h = tg__realloc(p->hash, cap * sizeof *h);
    if (h)
        p->hash = h;
    int64_t *s = h ? tg__realloc(p->size, cap * sizeof *s) : NULL;
    if (!s)
        return TG_ENOMEM;
    p->size = s;
    memset(s + p->cap, 0, (cap - p->cap) * sizeof *s);
    for (size_t a = 0; a < p->spec->n_aggs; a++)
        if (tg__aggstate_grow(&p->st[a], &p->spec->aggs[a], p->cap, cap))
            return TG_ENOMEM;
    p->cap = cap;
    return 0;
}

/* The hash of group g, for growing the group map. */
static uint64_t group_hash(const void *ud, uint32_t g)
{
    return ((const tg__partial *)ud)->hash[g];
}

/* Appends row i of k to key column b. */
static int append_key(tg__colbuf *b, const tg__keyview *k, size_t i)
{
    if (!tg__valid(k->valid, i))
        return tg__colbuf_null(b);
    size_t len = 0;
    if (k->type == TG_DT_STRING)
        len = (size_t)(((const int64_t *)k->data)[i + 1]
                       - ((const int64_t *)k->data)[i]);
    if (tg__colbuf_reserve(b, 1, len))
        return TG_ENOMEM;
    switch (k->type) {
    case TG_DT_STRING:
        tg__colbuf_str(b, k->bytes + ((const int64_t *)k->data)[i], len);
        break;
    case TG_DT_FLOAT64:
        tg__colbuf_float(b, ((const double *)k->data)[i]);
        break;
    case TG_DT_BOOL: tg__colbuf_bool(b, ((const uint8_t *)k->data)[i]); break;
    default: tg__colbuf_int(b, ((const int64_t *)k->data)[i]); break;
    }
    return 0;
}

/* Adds the key at row i of keys (hash h) as a new group, whose slot
 * the probe pr ended on.  SKIP when out of memory.  Out of line: most
 * rows find their group, and the lookup loop stays small. */
static __attribute__((noinline)) uint32_t add_group(tg__partial *p,
                                                    const tg__keyview *keys,
                                                    size_t i, uint64_t h,
                                                    tg__map_probe pr)
{
    tg__map *m = &p->map;
    if (p->n_groups >= SKIP - 1 || partial_grow(p, p->n_groups + 1))
        return SKIP;
    if (tg__group_map_full(m)) { /* rebuild, find the empty slot again */
        if (tg__group_map_rebuild(m, p->n_groups, group_hash, p))
            return SKIP;
        pr = tg__map_begin(m, h);
        while (tg__map_next(m, &pr) != TG__MAP_NONE)
            ;
    }
    for (size_t k = 0; k < p->spec->n_keys; k++)
        if (append_key(&p->keys[k], &keys[k], i))
            return SKIP;
    uint32_t g = (uint32_t)p->n_groups++;
    p->hash[g] = h;
    tg__map_insert(m, &pr, g);
    return g;
}

/* The group of the key at row i of keys (hash h), added if new.  SKIP
 * when out of memory. */
static inline uint32_t find_or_add(tg__partial *p, const tg__keyview *keys,
                                   size_t i, uint64_t h)
{
    size_t nk = p->spec->n_keys;
    tg__map *m = &p->map;
    if (TG_UNLIKELY(!m->cap)
        && tg__group_map_rebuild(m, p->n_groups, group_hash, p))
        return SKIP; /* compacted: rebuild the table */
    tg__map_probe pr = tg__map_begin(m, h);
    for (uint32_t g; (g = tg__map_next(m, &pr)) != TG__MAP_NONE;) {
        if (p->hash[g] != h)
            continue;
        size_t k = 0;
        for (; k < nk; k++) {
            tg__keyview gk = tg__keyview_buf(&p->keys[k]);
            if (!tg__key_eq(&gk, g, &keys[k], i))
                break;
        }
        if (k == nk)
            return g;
    }
    return add_group(p, keys, i, h, pr);
}

/* Frees p's lookup table and shrinks its arrays to its groups: for a
 * finished partial, which is only read from then on (merged into
 * another or finished).  Best effort; p stays valid either way. */
static void compact(tg__partial *p)
{
    size_t n = p->n_groups ? p->n_groups : 1;
    tg__map_close(&p->map); /* a later insert rebuilds it */
    uint64_t *h = tg__realloc(p->hash, n * sizeof *h);
    int64_t *sz = h ? tg__realloc(p->size, n * sizeof *sz) : NULL;
    if (h)
        p->hash = h;
    if (!sz)
        return; /* not shrunk: cap stays right */
    p->size = sz;
    for (size_t a = 0; a < p->spec->n_aggs; a++)
        tg__aggstate_shrink(&p->st[a], n);
    p->cap = n;
}

static void partial_free_ptr(void *p)
{
    tg__partial_free(p);
}

/* How partials cross tasks, and the wire. */
static const tg__object_ops partial_ops = {"tg.df.partial", partial_free_ptr,
                                           NULL, &tg__partial_codec, NULL};

tg_value *tg__partial_value(tg__partial *p)
{
    if (!p)
        return tg_error("out of memory");
    compact(p);
    tg_value *v = tg__object_new(TG_OBJECT, &partial_ops, p);
    if (!v) {
        tg__partial_free(p);
        return tg_error("out of memory");
    }
    return v;
}

const tg__partial *tg__partial_of(const tg_value *v)
{
    if (tg_typeof(v) != TG_OBJECT || v->u.obj.ops != &partial_ops)
        return NULL;
    return v->u.obj.ptr;
}

tg__partial *tg__partial_new(tg__gbspec *spec)
{
    tg__partial *p = tg__calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->spec = tg__gbspec_ref(spec);
    p->keys = tg__calloc(spec->n_keys + 1, sizeof *p->keys);
    p->st = tg__calloc(spec->n_aggs + 1, sizeof *p->st);
    bool ok = p->keys && p->st;
    for (size_t k = 0; ok && k < spec->n_keys; k++)
        ok = tg__colbuf_init(&p->keys[k], spec->key_types[k], 16) == 0;
    if (ok && partial_grow(p, 1) == 0 && tg__map_init(&p->map, 16) == 0) {
        if (spec->n_keys == 0) /* one group, even over no rows */
            ok = find_or_add(p, NULL, 0, 0) == 0;
        if (ok)
            return p;
    }
    tg__partial_free(p);
    return NULL;
}

/* ---- NaN is missing -------------------------------------------------------
 *
 * pandas treats a float NaN as a missing value: aggregations skip it, a
 * NaN key is a null key (dropped, or in the null group), nunique and
 * value_counts leave it out.  Here that is one rule at the input: a
 * float column that holds a NaN is read through a validity bitmap that
 * also clears its NaN slots, so the group lookup and the state loops
 * stay as they are, and a column without NaN costs one scan.  The same
 * scan tells the sums whether they can meet an infinity (aggstate.c).
 */

enum { COL_UNSEEN = 0, COL_FINITE, COL_NONFINITE };

/* What one frame's float columns hold, found on first use. */
typedef struct missing {
    const tg__frame *f;
    uint8_t **bits; /* per column: a bitmap made here, or NULL */
    uint8_t *kind;  /* per column: COL_* */
} missing;

static void missing_close(missing *m)
{
    for (size_t c = 0; m->bits && c < m->f->ncols; c++)
        tg__free(m->bits[c]);
    tg__free(m->bits);
    tg__free(m->kind);
}

/* Lanes of all_finite's sums: enough for the loop to vectorize. */
#define FINITE_LANES 4

/* True when every x[0..n) is finite: x - x is 0 for a finite x and NaN
 * for a NaN or an infinity, so the sums below stay 0 unless one is
 * there.  Separate sums per lane keep the additions in their order, so
 * the loop vectorizes (a compare per element does not). */
static bool all_finite(const double *x, size_t n)
{
    double s[FINITE_LANES] = {0};
    size_t i = 0;
    for (; i + FINITE_LANES <= n; i += FINITE_LANES)
        for (size_t j = 0; j < FINITE_LANES; j++)
            s[j] += x[i + j] - x[i + j];
    for (; i < n; i++)
        s[0] += x[i] - x[i];
    double t = 0;
    for (size_t j = 0; j < FINITE_LANES; j++)
        t += s[j];
    return t == 0;
}

/* Looks at float column c: *kind is COL_FINITE or COL_NONFINITE, and
 * *out a copy of c's validity with its NaN slots cleared, or NULL when
 * c holds no NaN.  0 or TG_ENOMEM. */
static int scan_float(const tg__col *c, uint8_t **out, uint8_t *kind)
{
    const double *x = c->data;
    *out = NULL;
    *kind = all_finite(x, c->n) ? COL_FINITE : COL_NONFINITE;
    if (*kind == COL_FINITE)
        return 0;
    size_t n_nan = 0;
    for (size_t i = 0; i < c->n; i++)
        n_nan += x[i] != x[i];
    if (n_nan == 0) /* infinities only */
        return 0;
    size_t nb = (c->n + 7) / 8;
    uint8_t *b = tg__malloc(nb);
    if (!b)
        return TG_ENOMEM;
    if (c->valid)
        memcpy(b, c->valid, nb);
    else
        memset(b, 0xff, nb);
    for (size_t i = 0; i < c->n; i++)
        if (x[i] != x[i])
            b[i >> 3] &= (uint8_t) ~(1u << (i & 7));
    *out = b;
    return 0;
}

/* The validity to read column col of m->f through: its own bitmap, or
 * for a float column holding a NaN one that clears those too; *finite
 * says whether every value is finite (true for other types).  0 or
 * TG_ENOMEM. */
static int missing_valid(missing *m, size_t col, const uint8_t **valid,
                         bool *finite)
{
    const tg__col *c = m->f->cols[col];
    *valid = c->valid;
    *finite = true;
    if (c->type != TG_DT_FLOAT64)
        return 0;
    if (!m->bits) {
        size_t n = m->f->ncols ? m->f->ncols : 1;
        m->bits = tg__calloc(n, sizeof *m->bits);
        m->kind = tg__calloc(n, 1);
        if (!m->bits || !m->kind)
            return TG_ENOMEM;
    }
    if (m->kind[col] == COL_UNSEEN
        && scan_float(c, &m->bits[col], &m->kind[col]))
        return TG_ENOMEM;
    if (m->bits[col])
        *valid = m->bits[col];
    *finite = m->kind[col] == COL_FINITE;
    return 0;
}

/* The key columns of spec in frame f, as views (a NaN key reads as
 * null). */
static tg_value *frame_keys(const tg__gbspec *spec, const tg__frame *f,
                            missing *m, tg__keyview *out)
{
    for (size_t k = 0; k < spec->n_keys; k++) {
        long c = tg__frame_find(f, spec->keys[k]);
        if (c < 0 || f->cols[c]->type != spec->key_types[k])
            return tg_error("groupby: no %s column '%s' in the partition",
                            tg_dtype_name(spec->key_types[k]), spec->keys[k]);
        out[k] = tg__keyview_col(f->cols[c]);
        bool finite;
        if (missing_valid(m, (size_t)c, &out[k].valid, &finite))
            return tg_error("out of memory");
    }
    return NULL;
}

/* Group ids of f's rows (SKIP for rows with a null key, unless they
 * are kept). */
static tg_value *assign_groups(tg__partial *p, const tg__keyview *keys,
                               size_t n, uint32_t *gid)
{
    const tg__gbspec *spec = p->spec;
    if (spec->n_keys == 0) {
        memset(gid, 0, n * sizeof *gid);
        return NULL;
    }
    uint64_t *h = tg__malloc((n ? n : 1) * sizeof *h);
    if (!h)
        return tg_error("out of memory");
    for (size_t k = 0; k < spec->n_keys; k++)
        hash_keys(&keys[k], h, n, k == 0);
    tg_value *err = NULL;
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n && p->map.cap)
            tg__map_prefetch(&p->map, h[i + PREFETCH_AHEAD]);
        bool skip = false;
        for (size_t k = 0; !spec->keep_null_keys && k < spec->n_keys; k++)
            skip |= !tg__valid(keys[k].valid, i);
        if (skip) {
            gid[i] = SKIP;
            continue;
        }
        if ((gid[i] = find_or_add(p, keys, i, h[i])) == SKIP) {
            err = tg_error("out of memory");
            break;
        }
    }
    tg__free(h);
    return err;
}

tg_value *tg__partial_add_frame(tg__partial *p, const tg__frame *f)
{
    const tg__gbspec *spec = p->spec;
    tg__keyview small[8], *keys = small;
    missing m = {.f = f};
    uint32_t *gid = tg__malloc((f->nrows ? f->nrows : 1) * sizeof *gid);
    if (spec->n_keys > 8)
        keys = tg__malloc(spec->n_keys * sizeof *keys);
    tg_value *err = !gid || !keys ? tg_error("out of memory") : NULL;
    if (!err)
        err = frame_keys(spec, f, &m, keys);
    if (!err)
        err = assign_groups(p, keys, f->nrows, gid);
    for (size_t i = 0; !err && i < f->nrows; i++)
        if (gid[i] != SKIP)
            p->size[gid[i]]++;
    for (size_t a = 0; !err && a < spec->n_aggs; a++) {
        const tg__aggspec *as = &spec->aggs[a];
        long c = as->column ? tg__frame_find(f, as->column) : -1;
        if (as->column && (c < 0 || f->cols[c]->type != as->in)) {
            err = tg_error("agg: no %s column '%s' in the partition",
                           tg_dtype_name(as->in), as->column);
            break;
        }
        const uint8_t *valid = NULL;
        bool finite = true;
        if ((c >= 0 && missing_valid(&m, (size_t)c, &valid, &finite))
            || tg__aggstate_update(&p->st[a], as, c < 0 ? NULL : f->cols[c],
                                   valid, finite, gid, f->nrows))
            err = tg_error("out of memory");
    }
    missing_close(&m);
    tg__free(gid);
    if (keys != small)
        tg__free(keys);
    return err;
}

/* Merges the groups of src whose bucket is `bucket` (all when k == 0)
 * into dst. */
static int merge_some(tg__partial *dst, const tg__partial *src, size_t k,
                      size_t bucket)
{
    size_t nk = src->spec->n_keys;
    uint32_t *map = tg__malloc((src->n_groups + 1) * sizeof *map);
    tg__keyview small[8], *keys = small;
    if (nk > 8)
        keys = tg__malloc(nk * sizeof *keys);
    int rc = map && keys ? 0 : TG_ENOMEM;
    for (size_t j = 0; rc == 0 && j < nk; j++)
        keys[j] = tg__keyview_buf(&src->keys[j]);
    for (size_t g = 0; rc == 0 && g < src->n_groups; g++) {
        map[g] = SKIP;
        if (k && (src->hash[g] >> 32) % k != bucket)
            continue;
        map[g] = find_or_add(dst, keys, g, src->hash[g]);
        if (map[g] == SKIP)
            rc = TG_ENOMEM;
        else
            dst->size[map[g]] += src->size[g];
    }
    for (size_t a = 0; rc == 0 && a < src->spec->n_aggs; a++)
        rc = tg__aggstate_merge(&dst->st[a], &src->st[a], &src->spec->aggs[a],
                                map, src->n_groups);
    tg__free(map);
    if (keys != small)
        tg__free(keys);
    return rc;
}

int tg__partial_merge(tg__partial *dst, const tg__partial *src)
{
    return merge_some(dst, src, 0, 0);
}

int tg__partial_split(const tg__partial *p, size_t k, tg__partial **out)
{
    for (size_t b = 0; b < k; b++)
        out[b] = NULL;
    for (size_t b = 0; b < k; b++) {
        if (!(out[b] = tg__partial_new(p->spec))
            || merge_some(out[b], p, k, b)) {
            for (size_t j = 0; j <= b; j++) {
                tg__partial_free(out[j]);
                out[j] = NULL;
            }
            return TG_ENOMEM;
        }
    }
    return 0;
}

uint32_t *tg__order_groups(const tg__keyview *keys, size_t n_keys,
                           const int64_t *counts, size_t n, tg__gb_order order)
{
    tg__sortkey small[9], *sk = small;
    bool by_count = order == TG__ORDER_COUNTS;
    size_t ns = n_keys + by_count;
    if (ns > 9 && !(sk = tg__malloc(ns * sizeof *sk)))
        return NULL;
    size_t k = 0;
    if (by_count)
        sk[k++] = (tg__sortkey){
            {TG_DT_INT64, counts, NULL, NULL}, true, false, false};
    for (size_t j = 0; j < n_keys; j++)
        sk[k++] = (tg__sortkey){keys[j], false, false, false};
    uint32_t *idx = tg__order_rows(sk, ns, n);
    if (sk != small)
        tg__free(sk);
    return idx;
}

tg_value *tg__partial_finish(const tg__partial *p, tg__gb_order order)
{
    const tg__gbspec *spec = p->spec;
    size_t nk = spec->n_keys, ncols = nk + spec->n_aggs, n = p->n_groups;
    tg__keyview small[8], *keys = small;
    if (nk > 8)
        keys = tg__malloc(nk * sizeof *keys);
    tg__col **cols = tg__calloc(ncols + 1, sizeof *cols);
    const char **names = tg__calloc(ncols + 1, sizeof *names);
    uint32_t *idx = NULL;
    tg_value *err = NULL;
    if (keys && cols && names) {
        for (size_t k = 0; k < nk; k++)
            keys[k] = tg__keyview_buf(&p->keys[k]);
        idx = tg__order_groups(keys, nk, p->size, n, order);
    }
    if (!idx)
        err = tg_error("out of memory");
    size_t made = 0;
    for (; !err && made < ncols; made++) {
        if (made < nk) {
            const tg__colbuf *b = &p->keys[made];
            tg__col view = {.type = b->type,
                            .n = b->n,
                            .valid = b->valid,
                            .data = b->data,
                            .bytes = b->bytes};
            names[made] = spec->keys[made];
            if (!(cols[made] = tg__col_take(&view, idx, n)))
                err = tg_error("out of memory");
        } else {
            size_t a = made - nk;
            names[made] = spec->aggs[a].name;
            cols[made] = tg__aggstate_finish(&p->st[a], &spec->aggs[a], p->size,
                                             n, idx, n, &err);
        }
        if (err)
            break;
    }
    tg__frame *f = NULL;
    if (!err)
        f = tg__frame_new(ncols, names, cols, n);
    else
        for (size_t i = 0; cols && i < made; i++)
            tg__col_unref(cols[i]);
    tg__free(idx);
    tg__free(cols);
    tg__free(names);
    if (keys != small)
        tg__free(keys);
    if (err)
        return err;
    tg_value *v = tg__frame_value(f);
    return v ? v : tg_error("out of memory");
}

/* ---- on the wire ------------------------------------------------------------
 *
 * A partial is its spec (a nested value), its number of groups, each key
 * column in the column form of frames (frame_codec.c), the row count of
 * each group, then each aggregation's state (aggstate.c).  Group hashes
 * are not sent: the decoder recomputes them from the keys, so they
 * always agree with the keys.  The key columns are copied into column
 * builders; the other arrays adopt their pieces. */

static int partial_encode(tg__enc *e, const tg_value *v)
{
    const tg__partial *p = tg__partial_of(v);
    if (!p)
        return tg__seterr(TG_EINVAL, "partial: not a partial");
    const tg__gbspec *s = p->spec;
    int rc = tg__encode(e, s->value);
    if (rc)
        return rc;
    if (tg__enc_u64(e, p->n_groups))
        return TG_ENOMEM;
    for (size_t k = 0; k < s->n_keys; k++) {
        const tg__colbuf *b = &p->keys[k];
        tg__col view = {.type = b->type,
                        .n = b->n,
                        .n_null = b->n_null,
                        .valid = b->valid,
                        .data = b->data,
                        .bytes = b->bytes,
                        .n_bytes = b->n_bytes};
        if (tg__col_encode(e, &view))
            return TG_ENOMEM;
    }
    if (tg__enc_piece(e, p->size, p->n_groups * 8))
        return TG_ENOMEM;
    for (size_t a = 0; a < s->n_aggs; a++)
        if (tg__aggstate_encode(e, &p->st[a], p->n_groups))
            return TG_ENOMEM;
    return 0;
}

/* The key columns of a decoded partial: copied into p's builders, with
 * the hash of each group computed from them. */
static int decode_keys(tg__dec *d, tg__partial *p, size_t n)
{
    const tg__gbspec *s = p->spec;
    tg__keyview small[8], *views = small;
    if (s->n_keys > 8 && !(views = tg__malloc(s->n_keys * sizeof *views)))
        return TG_ENOMEM;
    int rc = 0;
    for (size_t k = 0; k < s->n_keys && rc == 0; k++) {
        tg__col *c = NULL;
        if ((rc = tg__col_decode(d, n, &c)))
            break;
        if (c->type != s->key_types[k])
            rc = tg__seterr(TG_EFORMAT, "partial: key %zu is not %s", k,
                            tg_dtype_name(s->key_types[k]));
        else
            rc = tg__colbuf_copy_col(&p->keys[k], c);
        tg__col_unref(c);
        views[k] = tg__keyview_buf(&p->keys[k]);
    }
    for (size_t k = 0; k < s->n_keys && rc == 0; k++)
        hash_keys(&views[k], p->hash, n, k == 0);
    if (views != small)
        tg__free(views);
    return rc;
}

/* The rest of a partial of spec s after its spec. */
static tg__partial *decode_partial(tg__dec *d, tg__gbspec *s)
{
    uint64_t n;
    if (tg__dec_u64(d, &n))
        return NULL;
    if (s->n_keys == 0 ? n != 1 : n > (SIZE_MAX >> 5))
        return tg__seterr_null(TG_EFORMAT, "partial: %llu groups",
                               (unsigned long long)n);
    tg__partial *p = tg__calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->spec = tg__gbspec_ref(s);
    size_t cap = n ? (size_t)n : 1;
    p->keys = tg__calloc(s->n_keys + 1, sizeof *p->keys);
    p->st = tg__calloc(s->n_aggs + 1, sizeof *p->st);
    p->hash = tg__calloc(cap, sizeof *p->hash);
    p->size = tg__calloc(cap, sizeof *p->size);
    int rc = p->keys && p->st && p->hash && p->size ? 0 : TG_ENOMEM;
    if (rc == 0)
        rc = decode_keys(d, p, (size_t)n);
    void *block = NULL;
    size_t len;
    if (rc == 0 && (rc = tg__dec_piece(d, &block, &len)) == 0) {
        if (len != n * 8)
            rc = tg__seterr(TG_EFORMAT, "partial: sizes of the wrong length");
        else if (block)
            tg__free(p->size), p->size = block, block = NULL;
        tg__free(block);
    }
    for (size_t a = 0; rc == 0 && a < s->n_aggs; a++)
        rc = tg__aggstate_decode(d, &p->st[a], &s->aggs[a], (size_t)n);
    for (size_t g = 0; rc == 0 && g < n; g++)
        if (p->size[g] < 0)
            rc = tg__seterr(TG_EFORMAT, "partial: a negative row count");
    p->n_groups = (size_t)n;
    p->cap = cap;
    if (rc) {
        if (rc == TG_ENOMEM)
            tg__seterr(TG_ENOMEM, "partial: out of memory");
        tg__partial_free(p);
        return NULL;
    }
    return p; /* its map is built when a group is first looked up */
}

static tg_value *partial_decode(tg__dec *d)
{
    tg_value *sv = tg__decode(d);
    if (!sv)
        return NULL;
    const char *why = NULL;
    tg__gbspec *s = tg__gbspec_decode(sv, &why);
    tg_decref(sv);
    if (!s)
        return tg__seterr_null(TG_EFORMAT, "partial: spec: %s", why);
    tg__partial *p = decode_partial(d, s);
    tg__gbspec_unref(s);
    if (!p)
        return NULL;
    tg_value *v = tg__object_new(TG_OBJECT, &partial_ops, p);
    if (!v) {
        tg__partial_free(p);
        tg__seterr(TG_ENOMEM, "partial: out of memory");
    }
    return v;
}

const tg__codec_type tg__partial_codec = {"tg.df.partial", TG_OBJECT,
                                          partial_encode, partial_decode};
