/* dataframe/shuffle.c - the shared shuffle: sort specs, the split task
 * (hash or range partitioner) and the graph builders that record splits
 * and picks.
 *
 * Invariant: piece j of a split holds the rows sent to output j in
 * their input order, and consumers take the pieces of an output in
 * input-partition order, so a shuffle keeps every row's (partition,
 * row) order within its output - what makes the sort stable.  The
 * layers, the task count and the partitioner values are described in
 * shuffle_internal.h.
 */
#include <math.h>

#include "shuffle_internal.h"

/* ---- sort specs ---------------------------------------------------------- */

tg_value *tg__sortspec_value(size_t n_keys, const char *const *keys,
                             const bool *ascending, bool nulls_first)
{
    tg_value **asc = tg__calloc(n_keys + 1, sizeof *asc);
    if (!asc)
        return NULL;
    for (size_t i = 0; i < n_keys; i++)
        asc[i] = tg_bool(ascending ? ascending[i] : true);
    tg_value *v = tg_list(3, tg__names_value(n_keys, keys),
                          tg_list_from(n_keys, asc), tg_bool(nulls_first));
    tg__free(asc);
    return v;
}

void tg__sortspec_close(tg__sortspec *s)
{
    tg__free(s->keys);
    tg__free(s->ascending);
    memset(s, 0, sizeof *s);
}

int tg__sortspec_decode(const tg_value *v, tg__sortspec *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const tg_value *asc = tg_list_get(v, 1), *nf = tg_list_get(v, 2);
    if (tg_typeof(v) != TG_LIST || tg_list_len(v) != 3
        || tg_typeof(asc) != TG_LIST || tg_typeof(nf) != TG_BOOL)
        return *why = "a sort spec is [[keys], [ascending], nulls_first]", -1;
    tg__params names;
    if (tg__names_decode(tg_list_get(v, 0), &names, why))
        return -1;
    if (names.n == 0 || tg_list_len(asc) != names.n) {
        tg__params_close(&names);
        return *why = "a sort spec has keys, one direction each", -1;
    }
    out->n_keys = names.n;
    out->keys = names.names; /* adopted from names */
    out->ascending = tg__malloc(names.n * sizeof *out->ascending);
    if (!out->ascending) {
        tg__sortspec_close(out);
        return *why = "out of memory", -1;
    }
    for (size_t i = 0; i < names.n; i++) {
        const tg_value *b = tg_list_get(asc, i);
        if (tg_typeof(b) != TG_BOOL) {
            tg__sortspec_close(out);
            return *why = "a direction is not a bool", -1;
        }
        out->ascending[i] = tg_as_bool(b);
    }
    out->nulls_first = tg_as_bool(nf);
    return 0;
}

tg_value *tg__sortspec_keys(const char *task, const tg__sortspec *s,
                            const tg__frame *f, tg__sortkey *keys)
{
    for (size_t k = 0; k < s->n_keys; k++) {
        long c = tg__frame_find(f, s->keys[k]);
        if (c < 0)
            return tg_error("%s: the partition has no key column '%s'", task,
                            s->keys[k]);
        keys[k] = (tg__sortkey){tg__keyview_col(f->cols[c]), !s->ascending[k],
                                s->nulls_first, true};
    }
    return NULL;
}

/* ---- partitioners -------------------------------------------------------- */

uint64_t tg__row_hash(const tg__keyview *keys, size_t n_keys, size_t i)
{
    uint64_t h = 0x51ed270b27a3f5c1ull;
    for (size_t k = 0; k < n_keys; k++)
        h = tg__mix64(h ^ tg__key_hash(&keys[k], i)) + k;
    return h;
}

/* The group partitioner's hash: tg__row_hash's, but a NaN float key
 * hashes as a null (transform and shuffle put them in one group). */
static uint64_t group_hash(const tg__keyview *keys, size_t n_keys, size_t i)
{
    uint64_t h = 0x51ed270b27a3f5c1ull;
    for (size_t k = 0; k < n_keys; k++) {
        const tg__keyview *kv = &keys[k];
        bool nan = kv->type == TG_DT_FLOAT64 && tg__valid(kv->valid, i)
                   && isnan(((const double *)kv->data)[i]);
        uint64_t kh = nan ? TG__NULL_KEY_HASH : tg__key_hash(kv, i);
        h = tg__mix64(h ^ kh) + k;
    }
    return h;
}

/* The rows partitioner: row i of partition part goes to the output
 * holding its global position when the counts[] rows are cut into k
 * runs of sizes differing by at most one (the first N mod k one
 * longer).  NULL, or an error value. */
static tg_value *row_destinations(size_t nrows, int64_t part,
                                  const tg_value *counts, size_t k,
                                  uint32_t *dest)
{
    size_t n = tg_list_len(counts);
    if (tg_typeof(counts) != TG_LIST || (uint64_t)part >= n)
        return tg__df_bad_param("shuffle", "row counts",
                                "not a list of an int per partition");
    uint64_t total = 0, offset = 0;
    for (size_t i = 0; i < n; i++) {
        const tg_value *c = tg_list_get(counts, i);
        if (tg_typeof(c) != TG_INT || tg_as_int(c) < 0)
            return tg__df_bad_param("shuffle", "row counts",
                                    "a count is not an int >= 0");
        if (i == (size_t)part)
            offset = total;
        total += (uint64_t)tg_as_int(c);
    }
    if ((uint64_t)tg_as_int(tg_list_get(counts, (size_t)part)) != nrows)
        return tg_error(
            "shuffle: partition %lld has %zu rows, counted %lld",
            (long long)part, nrows,
            (long long)tg_as_int(tg_list_get(counts, (size_t)part)));
    uint64_t q = total / k, r = total % k, head = r * (q + 1);
    for (size_t i = 0; i < nrows; i++) {
        uint64_t g = offset + i;
        dest[i] = (uint32_t)(g < head ? g / (q + 1) : r + (g - head) / q);
    }
    return NULL;
}

/* The splitters of a range partition: positions (keys, part, row) in
 * sort order; a row goes to the number of splitters at or before it. */
typedef struct splitset {
    const tg__sortkey *sk; /* the frame's keys (their rules) */
    tg__keyview *keys;     /* the splitters' key columns */
    size_t n_keys, n;
    const int64_t *part, *row;
} splitset;

/* Position of (row i of partition p) against splitter s. */
static int cmp_splitter(const splitset *sp, int64_t p, size_t i, size_t s)
{
    for (size_t k = 0; k < sp->n_keys; k++) {
        int r = tg__sortkey_cmp(&sp->sk[k], &sp->sk[k].key, i, &sp->keys[k], s);
        if (r)
            return r;
    }
    if (p != sp->part[s])
        return p < sp->part[s] ? -1 : 1;
    int64_t r = (int64_t)i;
    return (r > sp->row[s]) - (r < sp->row[s]);
}

/* The output of row i: splitters at or before it (a binary search). */
static size_t range_of(const splitset *sp, int64_t p, size_t i)
{
    size_t lo = 0, hi = sp->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_splitter(sp, p, i, mid) >= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Reads the splitter frame s against the frame's keys: n_keys key
 * columns of the keys' types, then part and row (int64, no nulls). */
static tg_value *splitters_of(const tg__frame *s, const tg__sortkey *sk,
                              size_t n_keys, splitset *out)
{
    if (!s || s->ncols != n_keys + 2)
        return tg__df_bad_param("shuffle", "splitters", "not a splitter frame");
    for (size_t k = 0; k < n_keys + 2; k++) {
        tg_dtype want = k < n_keys ? sk[k].key.type : TG_DT_INT64;
        if (s->cols[k]->type != want || (k >= n_keys && s->cols[k]->valid))
            return tg__df_bad_param("shuffle", "splitters",
                                    "column types differ from the keys'");
    }
    out->keys = tg__malloc(n_keys * sizeof *out->keys);
    if (!out->keys)
        return tg_error("out of memory");
    for (size_t k = 0; k < n_keys; k++)
        out->keys[k] = tg__keyview_col(s->cols[k]);
    out->sk = sk;
    out->n_keys = n_keys;
    out->n = s->nrows;
    out->part = s->cols[n_keys]->data;
    out->row = s->cols[n_keys + 1]->data;
    return NULL;
}

/* The partitioner value a (with k and the splitters b) decoded against
 * f: dest[i] for every row.  NULL, or an error value. */
static tg_value *destinations(const tg__frame *f, const tg_value *a,
                              int64_t part, const tg_value *b, size_t *k,
                              uint32_t *dest)
{
    const char *kind = tg_as_str(tg_list_get(a, 0));
    const tg_value *kv = tg_list_get(a, 2);
    if (tg_typeof(a) != TG_LIST || tg_list_len(a) != 3 || !kind
        || tg_typeof(kv) != TG_INT || tg_as_int(kv) < 1
        || tg_as_int(kv) > TG__SHUFFLE_MAX_K)
        return tg__df_bad_param("shuffle", "partitioner",
                                "not [kind, keys, k in 1..2^20]");
    *k = (size_t)tg_as_int(kv);
    if (strcmp(kind, "rows") == 0)
        return row_destinations(f->nrows, part, b, *k, dest);
    tg__sortspec spec;
    const char *why = NULL;
    bool group = strcmp(kind, "group") == 0;
    bool hash = group || strcmp(kind, "hash") == 0;
    if (!hash && strcmp(kind, "range") != 0)
        return tg__df_bad_param("shuffle", "partitioner",
                                "not hash, group, range or rows");
    int rc = 0;
    if (hash) { /* the keys as a spec, to share its decoding */
        tg__params names;
        rc = tg__names_decode(tg_list_get(a, 1), &names, &why);
        spec = (tg__sortspec){names.n, names.names, NULL, false};
        if (rc == 0 && !(spec.ascending = tg__calloc(names.n + 1, 1)))
            rc = -1, why = "out of memory";
    } else {
        rc = tg__sortspec_decode(tg_list_get(a, 1), &spec, &why);
    }
    if (rc) {
        tg__sortspec_close(&spec); /* what the hash branch decoded */
        return strcmp(why, "out of memory") == 0
                   ? tg_error("out of memory")
                   : tg__df_bad_param("shuffle", "partitioner", why);
    }
    tg__sortkey *sk = tg__calloc(spec.n_keys + 1, sizeof *sk);
    tg__keyview *kvs = tg__calloc(spec.n_keys + 1, sizeof *kvs);
    tg_value *err = sk && kvs ? tg__sortspec_keys("shuffle", &spec, f, sk)
                              : tg_error("out of memory");
    for (size_t j = 0; !err && j < spec.n_keys; j++)
        kvs[j] = sk[j].key;
    splitset sp = {0};
    if (!err && !hash)
        err = splitters_of(tg__frame_of(b), sk, spec.n_keys, &sp);
    for (size_t i = 0; !err && i < f->nrows; i++) {
        size_t d;
        if (hash)
            d = (size_t)(((group ? group_hash(kvs, spec.n_keys, i)
                                 : tg__row_hash(kvs, spec.n_keys, i))
                          >> 32)
                         % *k);
        else
            d = range_of(&sp, part, i);
        dest[i] = (uint32_t)(d < *k ? d : *k - 1);
    }
    tg__free(sp.keys);
    tg__free(sk);
    tg__free(kvs);
    tg__sortspec_close(&spec);
    return err;
}

/* The rows of f with dest[i] == j for each j < k, as a list of k
 * frames (rows in input order).  A new reference. */
static tg_value *split_rows(const tg__frame *f, const uint32_t *dest, size_t k)
{
    size_t *start = tg__calloc(k + 1, sizeof *start);
    uint32_t *idx = tg__malloc((f->nrows ? f->nrows : 1) * sizeof *idx);
    tg_value **items = tg__calloc(k, sizeof *items);
    tg__col **cols = tg__calloc(f->ncols + 1, sizeof *cols);
    tg_value *res = NULL;
    if (!start || !idx || !items || !cols)
        goto done;
    for (size_t i = 0; i < f->nrows; i++)
        start[dest[i] + 1]++;
    for (size_t j = 0; j < k; j++)
        start[j + 1] += start[j];
    for (size_t i = 0; i < f->nrows; i++) /* a stable counting sort */
        idx[start[dest[i]]++] = (uint32_t)i;
    for (size_t j = k; j > 0; j--) /* start[j] is now the end of j */
        start[j] = start[j - 1];
    start[0] = 0;
    size_t j = 0;
    for (; j < k; j++) {
        size_t n = start[j + 1] - start[j], made = 0;
        for (; made < f->ncols; made++)
            if (!(cols[made] = n == f->nrows ? tg__col_ref(f->cols[made])
                                             : tg__col_take(f->cols[made],
                                                            idx + start[j], n)))
                break;
        if (made < f->ncols) {
            while (made-- > 0)
                tg__col_unref(cols[made]);
            break;
        }
        items[j] = tg__frame_value(
            tg__frame_new(f->ncols, (const char *const *)f->names, cols, n));
        if (!items[j])
            break;
    }
    if (j == k)
        res = tg_list_from(k, items); /* steals the items */
    else
        while (j-- > 0)
            tg_decref(items[j]);
done:
    tg__free(start);
    tg__free(idx);
    tg__free(items);
    tg__free(cols);
    return res ? res : tg_error("out of memory");
}

/* shuffle_split(frame, partitioner, part[, splitters]) -> the frame's
 * rows as a list of k pieces. */
tg_value *tg__task_shuffle_split(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    const tg__frame *f = tg__frame_of(a[0]);
    if (!f)
        return tg__df_not_frame("shuffle", a[0]);
    if (tg_typeof(a[2]) != TG_INT || tg_as_int(a[2]) < 0)
        return tg__df_bad_param("shuffle", "partition", "not an int >= 0");
    uint32_t *dest = tg__malloc((f->nrows ? f->nrows : 1) * sizeof *dest);
    if (!dest)
        return tg_error("out of memory");
    size_t k = 0;
    tg_value *err =
        destinations(f, a[1], tg_as_int(a[2]), n > 3 ? a[3] : NULL, &k, dest);
    tg_value *res = err ? err : split_rows(f, dest, k);
    tg__free(dest);
    return res;
}

tg__frame *tg__frames_arg(const char *task, tg_value *const *a, size_t n,
                          bool *owned, tg_value **err)
{
    *owned = false;
    tg__frame **fs = tg__pieces_of(task, a, n, err);
    tg__frame *all = NULL;
    if (fs && n == 1)
        all = fs[0];
    else if (fs && (all = tg__frame_concat(fs, n)))
        *owned = true;
    if (fs && !all)
        *err = tg_error("out of memory");
    tg__free(fs);
    return all;
}

/* The frames a[0..n) (n >= 1), checked to be frames with the first
 * one's columns: a new array of n borrowed frames, or NULL with *err
 * set. */
tg__frame **tg__pieces_of(const char *task, tg_value *const *a, size_t n,
                          tg_value **err)
{
    tg__frame **fs = tg__calloc(n, sizeof *fs);
    if (!fs)
        *err = tg_error("out of memory");
    for (size_t i = 0; fs && i < n && !*err; i++) {
        if (!(fs[i] = tg__frame_of(a[i])))
            *err = tg__df_not_frame(task, a[i]);
        else if (!tg__frame_same_columns(fs[i], fs[0]))
            *err = tg_error("%s: frame %zu has other columns than frame 0",
                            task, i);
    }
    if (*err) {
        tg__free(fs);
        return NULL;
    }
    return fs;
}

/* The columns of fs[0..m) that s names, in frame order, concatenated:
 * all the sort compares, so the other columns are copied once, from
 * the pieces to the output, never into a concatenation.  A new frame,
 * or NULL with *err set. */
tg__frame *tg__key_columns(const char *task, tg__frame *const *fs, size_t m,
                           const tg__sortspec *s, tg_value **err)
{
    const tg__frame *f0 = fs[0];
    uint8_t *is_key = tg__calloc(f0->ncols + 1, 1);
    tg__frame **kfs = tg__calloc(m, sizeof *kfs);
    const char **names = tg__calloc(f0->ncols + 1, sizeof *names);
    tg__frame *kf = NULL;
    size_t nk = 0, p = 0;
    if (!is_key || !kfs || !names)
        *err = tg_error("out of memory");
    for (size_t k = 0; !*err && k < s->n_keys; k++) {
        long c = tg__frame_find(f0, s->keys[k]);
        if (c < 0)
            *err = tg_error("%s: the partition has no key column '%s'", task,
                            s->keys[k]);
        else
            is_key[c] = 1;
    }
    for (size_t c = 0; !*err && c < f0->ncols; c++)
        if (is_key[c])
            names[nk++] = f0->names[c];
    for (; !*err && p < m; p++) {
        tg__col **cols = tg__calloc(nk, sizeof *cols);
        for (size_t c = 0, j = 0; cols && c < f0->ncols; c++)
            if (is_key[c])
                cols[j++] = tg__col_ref(fs[p]->cols[c]);
        /* tg__frame_new steals the references, even on failure */
        if (!cols || !(kfs[p] = tg__frame_new(nk, names, cols, fs[p]->nrows)))
            *err = tg_error("out of memory");
        tg__free(cols);
    }
    if (!*err && !(kf = tg__frame_concat(kfs, m)))
        *err = tg_error("out of memory");
    while (kfs && p-- > 0)
        tg__frame_free(kfs[p]);
    tg__free(kfs);
    tg__free(names);
    tg__free(is_key);
    return kf;
}

/* The output columns: rows idx[0..rows) of the pieces fs[0..m) as if
 * concatenated, each column taken straight from the pieces.  0, or
 * TG_ENOMEM (cols then holds nothing). */
int tg__take_pieces(tg__frame *const *fs, size_t m, const uint32_t *idx,
                    size_t rows, tg__col **cols)
{
    size_t ncols = fs[0]->ncols, made = 0;
    uint32_t *src = m > 1 ? tg__malloc((rows + 1) * sizeof *src) : NULL;
    uint32_t *row = m > 1 ? tg__malloc((rows + 1) * sizeof *row) : NULL;
    size_t *start = m > 1 ? tg__malloc((m + 1) * sizeof *start) : NULL;
    tg__col **srcs = m > 1 ? tg__malloc(m * sizeof *srcs) : NULL;
    bool ok = m == 1 || (src && row && start && srcs);
    if (ok && m > 1) {
        start[0] = 0;
        for (size_t p = 0; p < m; p++)
            start[p + 1] = start[p] + fs[p]->nrows;
        for (size_t j = 0; j < rows; j++) { /* the piece holding idx[j] */
            size_t lo = 0, hi = m;
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (start[mid] <= idx[j])
                    lo = mid;
                else
                    hi = mid;
            }
            src[j] = (uint32_t)lo;
            row[j] = (uint32_t)(idx[j] - start[lo]);
        }
    }
    for (; ok && made < ncols; made++) {
        for (size_t p = 0; m > 1 && p < m; p++)
            srcs[p] = fs[p]->cols[made];
        cols[made] = m == 1 ? tg__col_take(fs[0]->cols[made], idx, rows)
                            : tg__col_take_from(srcs, src, row, rows);
        ok = cols[made] != NULL;
    }
    if (!ok)
        while (made-- > 0)
            tg__col_unref(cols[made]);
    tg__free(src);
    tg__free(row);
    tg__free(start);
    tg__free(srcs);
    return ok ? 0 : TG_ENOMEM;
}

/* ---- graph builders ------------------------------------------------------ */

int tg__shuffle_pick(tg_graph *g, tg_value *const *lists, size_t n, size_t k,
                     tg_value **pieces)
{
    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0; i < n; i++) {
            tg_value *args[2] = {lists[i], tg_int((int64_t)j)};
            if (!(pieces[j * n + i] = tg__df_call(g, TG__OP_PICK, 2, args)))
                return TG_ENOMEM;
        }
    }
    return 0;
}

int tg__shuffle(tg_graph *g, tg_value *const *parts, size_t n,
                tg_value *partitioner, tg_value *splitters, size_t k,
                tg_value **pieces)
{
    tg_value **lists = tg__calloc(n + 1, sizeof *lists);
    int rc = lists ? 0 : TG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tg_value *args[4] = {parts[i], tg_incref(partitioner),
                             tg_int((int64_t)i), tg_incref(splitters)};
        if (!(lists[i] = tg__df_call(g, TG__OP_SHUFFLE_SPLIT, splitters ? 4 : 3,
                                     args)))
            rc = TG_ENOMEM;
    }
    if (rc == 0)
        rc = tg__shuffle_pick(g, lists, n, k, pieces);
    tg__free(lists);
    return rc;
}
