/* array/layout.c - transpose, slicing, rechunk and concatenate.
 *
 * Slicing, rechunking and concatenation are one task, "tg.array.regrid":
 * an output chunk gathered from boxes of input chunks.  Its parameters
 * give, per axis, a list of segments (input start, step, count, output
 * start) that must tile the output axis in order; the chunk arguments
 * are one per combination of segments, in C order.  So every element of
 * the output is written exactly once, which the task checks before it
 * copies anything.  Transposition is "tg.array.transpose", one task per
 * chunk; tg_array_transpose itself is pending (array_internal.h) so that
 * matmul can read a transposed operand in place.
 */
#include <stdio.h>

#include "array_internal.h"

#define REGRID "tg.array.regrid"
#define TRANSPOSE "tg.array.transpose"

/* Values per segment in the parameters: start, step, count, out. */
#define SEG_VALUES 4

/* ---- the transpose task ---------------------------------------------- */

/* 2-d transpose in square tiles, so that both sides stay in cache. */
#define TT 32
TG__CLONES static void transpose2(double *o, const double *a, size_t r,
                                  size_t c)
{
    for (size_t i0 = 0; i0 < r; i0 += TT)
        for (size_t j0 = 0; j0 < c; j0 += TT) {
            size_t i1 = i0 + TT < r ? i0 + TT : r;
            size_t j1 = j0 + TT < c ? j0 + TT : c;
            for (size_t j = j0; j < j1; j++)
                for (size_t i = i0; i < i1; i++)
                    o[j * r + i] = a[i * c + j];
        }
}

/* out = a with axes permuted (axis k of out is axis perm[k] of a). */
static void permute_chunk(tg__nd *out, const tg__nd *a, const size_t *perm)
{
    size_t nd = a->ndim, item = tg__nd_itemsize(a->dtype);
    if (nd == 2 && perm[0] == 1 && item == 8) {
        transpose2(out->data, a->data, a->shape[0], a->shape[1]);
        return;
    }
    size_t ast[TG__ND_MAX], st[TG__ND_MAX], idx[TG__ND_MAX] = {0};
    for (size_t k = nd, run = 1; k-- > 0;) {
        ast[k] = run;
        run *= a->shape[k];
    }
    for (size_t k = 0; k < nd; k++)
        st[k] = ast[perm[k]];
    const uint8_t *src = a->data;
    uint8_t *o = out->data;
    size_t inner = nd ? out->shape[nd - 1] : 1;
    size_t ist = nd ? st[nd - 1] : 0;
    for (size_t done = 0; done < out->size; done += inner) {
        size_t off = 0;
        for (size_t k = 0; k + 1 < nd; k++)
            off += idx[k] * st[k];
        for (size_t j = 0; j < inner; j++)
            memcpy(o + (done + j) * item, src + (off + j * ist) * item, item);
        for (size_t k = nd ? nd - 1 : 0; k-- > 0;) {
            if (++idx[k] < out->shape[k])
                break;
            idx[k] = 0;
        }
    }
}

/* transpose(params = [perm], chunk): the chunk with permuted axes. */
static tg_value *transpose_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t perm[TG__ND_MAX], shape[TG__ND_MAX];
    char err[300];
    tg__params_init(&p, TRANSPOSE, nargs ? args[0] : NULL);
    size_t nd = tg__param_sizes(&p, "perm", TG__ND_MAX, perm);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    const tg__nd *a = tg__arg_nd(TRANSPOSE, args, nargs, 1, err, sizeof err);
    if (!a)
        return tg_error("%s", err);
    uint32_t seen = 0;
    bool ok = a->ndim == nd;
    for (size_t k = 0; ok && k < nd; k++) {
        ok = perm[k] < nd && !(seen >> perm[k] & 1);
        seen |= ok ? 1u << perm[k] : 0;
        shape[k] = ok ? a->shape[perm[k]] : 0;
    }
    if (!ok)
        return tg_error(TRANSPOSE ": axes are not a permutation of the "
                                  "chunk's %zu",
                        a->ndim);
    tg__nd *out = tg__nd_alloc(a->dtype, nd, shape, false);
    if (!out)
        return tg_error(TRANSPOSE ": %s", tg_last_error());
    if (out->size)
        permute_chunk(out, a, perm);
    tg_value *v = tg__nd_value(out);
    return v ? v : tg_error(TRANSPOSE ": %s", tg_last_error());
}

tg_array *tg__array_permute_now(tg_array *a, const size_t *perm)
{
    size_t shape[TG__ND_MAX], chunk[TG__ND_MAX], nd = a->ndim;
    bool identity = true;
    for (size_t k = 0; k < nd; k++) {
        shape[k] = a->shape[perm[k]];
        chunk[k] = a->chunk[perm[k]];
        identity &= perm[k] == k;
    }
    tg_value **in = tg__array_blocks(a);
    tg_array *out = in ? tg__array_new(a->g, a->dtype, nd, shape, chunk) : NULL;
    if (!out || tg__array_alloc_blocks(out) != 0)
        return NULL;
    for (size_t b = 0; b < out->n_blocks; b++) {
        size_t start[TG__ND_MAX], src[TG__ND_MAX], ib = 0;
        tg__array_block_box(out, b, NULL, start);
        for (size_t k = 0; k < nd; k++)
            src[perm[k]] = start[k] / chunk[k];
        for (size_t k = 0; k < nd; k++)
            ib = ib * a->grid[k] + src[k];
        if (identity) {
            out->blocks[b] = in[ib];
            continue;
        }
        tg_value *params = tg_list(1, tg__sizes_value(nd, perm));
        if (!(out->blocks[b] =
                  tg__array_call(a->g, TG__T_TRANSPOSE, params, 1, &in[ib])))
            return NULL;
    }
    return out;
}

tg_array *tg_array_permute(tg_array *a, const size_t *axes)
{
    if (tg__array_check("tg_array_permute", 1, &a) != 0)
        return NULL;
    uint64_t seen = 0;
    for (size_t k = 0; k < a->ndim; k++) {
        if (!axes || axes[k] >= a->ndim || (seen >> axes[k] & 1))
            return tg__seterr_null(TG_EINVAL,
                                   "tg_array_permute: axes are not "
                                   "a permutation of %zu axes",
                                   a->ndim);
        seen |= (uint64_t)1 << axes[k];
    }
    size_t shape[TG__ND_MAX], chunk[TG__ND_MAX];
    for (size_t k = 0; k < a->ndim; k++) {
        shape[k] = a->shape[axes[k]];
        chunk[k] = a->chunk[axes[k]];
    }
    tg_array *out = tg__array_new(a->g, a->dtype, a->ndim, shape, chunk);
    if (!out)
        return NULL;
    /* Pending: a permutation of a permutation composes. */
    tg_array *base = a->perm_of ? a->perm_of : a;
    for (size_t k = 0; k < a->ndim; k++)
        out->perm[k] = a->perm_of ? a->perm[axes[k]] : axes[k];
    out->perm_of = base;
    return out;
}

tg_array *tg_array_transpose(tg_array *a)
{
    size_t axes[TG__ND_MAX];
    for (size_t k = 0; a && k < a->ndim; k++)
        axes[k] = a->ndim - 1 - k;
    return tg_array_permute(a, axes);
}

/* ---- the regrid task ------------------------------------------------- */

/* One segment of an output axis: count elements from input index start
 * by step, written from output index out. */
typedef struct seg {
    int64_t start, step, count, out;
} seg;

/* Reads the segments of one axis and checks that they tile [0, extent)
 * in order.  Returns the count, or 0 after writing err. */
static size_t read_segs(const tg_value *l, size_t extent, seg *s, size_t max,
                        char *err, size_t len)
{
    size_t n = tg_list_len(l) / SEG_VALUES;
    int64_t at = 0;
    if (tg_typeof(l) != TG_LIST || tg_list_len(l) % SEG_VALUES || !n
        || n > max) {
        snprintf(err, len,
                 "segments are not a list of %d-tuples (at most "
                 "%zu)",
                 SEG_VALUES, max);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t x[SEG_VALUES];
        for (size_t j = 0; j < SEG_VALUES; j++) {
            const tg_value *v = tg_list_get(l, i * SEG_VALUES + j);
            x[j] = tg_as_int(v);
            if (tg_typeof(v) != TG_INT || x[j] < -(INT64_MAX / 4)
                || x[j] > INT64_MAX / 4) {
                snprintf(err, len, "segment %zu is not made of ints", i);
                return 0;
            }
        }
        s[i] = (seg){x[0], x[1], x[2], x[3]};
        if (s[i].out != at || s[i].count < 0 || s[i].count > (int64_t)extent
            || s[i].step < -((int64_t)1 << 31)
            || s[i].step > (int64_t)1 << 31) {
            snprintf(err, len, "segment %zu does not continue the tiling", i);
            return 0;
        }
        at += s[i].count;
    }
    if (at != (int64_t)extent || (extent == 0 && n != 1)) {
        snprintf(err, len, "segments cover %lld of %zu elements", (long long)at,
                 extent);
        return 0;
    }
    return n;
}

/* Copies one box (the segments sg[k] of each axis) from a into out. */
static void copy_box(tg__nd *out, const tg__nd *a, seg *const *sg)
{
    size_t nd = out->ndim, item = tg__nd_itemsize(a->dtype);
    size_t ost[TG__ND_MAX], ast[TG__ND_MAX], idx[TG__ND_MAX] = {0};
    for (size_t k = nd, ro = 1, ra = 1; k-- > 0;) {
        ost[k] = ro;
        ast[k] = ra;
        ro *= out->shape[k];
        ra *= a->shape[k];
    }
    size_t inner = nd ? (size_t)sg[nd - 1]->count : 1;
    int64_t istep = nd ? sg[nd - 1]->step : 0;
    size_t total = 1;
    for (size_t k = 0; k < nd; k++)
        total *= (size_t)sg[k]->count;
    const uint8_t *src = a->data;
    uint8_t *o = out->data;
    for (size_t done = 0; done < total; done += inner) {
        int64_t ia = 0;
        size_t io = 0;
        for (size_t k = 0; k < nd; k++) {
            size_t i = k + 1 < nd ? idx[k] : 0;
            ia += (sg[k]->start + (int64_t)i * sg[k]->step) * (int64_t)ast[k];
            io += ((size_t)sg[k]->out + i) * ost[k];
        }
        if (istep == 1) {
            memcpy(o + io * item, src + (size_t)ia * item, inner * item);
        } else {
            for (size_t j = 0; j < inner; j++)
                memcpy(o + (io + j) * item,
                       src + (size_t)(ia + (int64_t)j * istep) * item, item);
        }
        for (size_t k = nd - 1; nd && k-- > 0;) {
            if (++idx[k] < (size_t)sg[k]->count)
                break;
            idx[k] = 0;
        }
    }
}

/* True when segment s reads only inside an input extent e. */
static bool seg_fits(const seg *s, size_t e)
{
    if (s->count == 0)
        return true;
    int64_t last = s->start + (s->count - 1) * s->step;
    return s->start >= 0 && s->start < (int64_t)e && last >= 0
           && last < (int64_t)e;
}

/* Checks every chunk argument against its box, then copies them all. */
static tg_value *gather(tg__nd *out, tg_value *const *args, size_t nargs,
                        seg *const *segs, const size_t *n_segs)
{
    size_t nd = out->ndim, which[TG__ND_MAX] = {0};
    seg *box[TG__ND_MAX];
    char err[300];
    for (int pass = 0; pass < 2; pass++) {
        memset(which, 0, sizeof which);
        for (size_t i = 1; i < nargs; i++) {
            const tg__nd *a =
                tg__arg_nd(REGRID, args, nargs, i, err, sizeof err);
            if (!a)
                return tg_error("%s", err);
            if (a->dtype != out->dtype || a->ndim != nd)
                return tg_error(REGRID ": chunk %zu is %s with %zu axes, not "
                                       "%s with %zu",
                                i, tg_dtype_name(a->dtype), a->ndim,
                                tg_dtype_name(out->dtype), nd);
            for (size_t k = 0; k < nd; k++) {
                box[k] = &segs[k][which[k]];
                if (!seg_fits(box[k], a->shape[k]))
                    return tg_error(REGRID ": chunk %zu has no room for "
                                           "its box on axis %zu",
                                    i, k);
            }
            if (pass == 1)
                copy_box(out, a, box);
            for (size_t k = nd; k-- > 0;) {
                if (++which[k] < n_segs[k])
                    break;
                which[k] = 0;
            }
        }
    }
    return NULL;
}

/* regrid(params = [dtype, shape, segments of axis 0, ...], chunks...):
 * a new chunk assembled from boxes of the argument chunks. */
static tg_value *regrid_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t shape[TG__ND_MAX], n_segs[TG__ND_MAX], pieces = 1;
    const tg_value *lists[TG__ND_MAX];
    seg *segs[TG__ND_MAX] = {NULL};
    char err[300] = "";
    tg_value *res = NULL;
    tg__params_init(&p, REGRID, nargs ? args[0] : NULL);
    tg_dtype dt = (tg_dtype)tg__param_int(&p, "dtype", 0, TG_DT_BOOL);
    size_t nd = tg__param_sizes(&p, "shape", TG__ND_MAX, shape);
    for (size_t k = 0; k < nd; k++)
        lists[k] = tg__param_list(&p, "segments");
    if ((res = tg__params_done(&p)))
        return res;
    for (size_t k = 0; k < nd && !err[0]; k++) {
        size_t max = TG__REGRID_MAX_PIECES;
        if (!(segs[k] = tg__malloc(max * sizeof *segs[k])))
            snprintf(err, sizeof err, "out of memory");
        else if (!(n_segs[k] = read_segs(lists[k], shape[k], segs[k], max, err,
                                         sizeof err)))
            break;
        else if ((pieces *= n_segs[k]) > TG__REGRID_MAX_PIECES)
            snprintf(err, sizeof err, "more than %d pieces",
                     TG__REGRID_MAX_PIECES);
    }
    if (!err[0] && pieces != nargs - 1)
        snprintf(err, sizeof err, "%zu pieces but %zu chunks", pieces,
                 nargs - 1);
    tg__nd *out = err[0] ? NULL : tg__nd_alloc(dt, nd, shape, false);
    if (!err[0] && !out)
        snprintf(err, sizeof err, "%s", tg_last_error());
    if (out)
        res = gather(out, args, nargs, segs, n_segs);
    for (size_t k = 0; k < nd; k++)
        tg__free(segs[k]);
    if (err[0] || res) {
        tg__nd_free(out);
        return res ? res : tg_error(REGRID ": %s", err);
    }
    res = tg__nd_value(out);
    return res ? res : tg_error(REGRID ": %s", tg_last_error());
}

/* ---- the regrid builder ---------------------------------------------- */

/* How an output axis maps to its sources: parts [lo, hi) of the output
 * read source src from index start by step.  Only the concatenation
 * axis has more than one part. */
typedef struct part {
    size_t src, lo, hi;
    int64_t start, step;
} part;

typedef struct axis_map {
    size_t n_parts;
    part *parts;
} axis_map;

/* A growable list of segments with the source and source block of each. */
typedef struct segs {
    seg *s;
    size_t *src, *blk;
    size_t n, cap;
} segs;

static int segs_push(segs *l, seg s, size_t src, size_t blk)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        seg *ns = tg__realloc(l->s, cap * sizeof *ns);
        if (ns)
            l->s = ns;
        size_t *a = ns ? tg__realloc(l->src, cap * sizeof *a) : NULL;
        if (a)
            l->src = a;
        size_t *b = a ? tg__realloc(l->blk, cap * sizeof *b) : NULL;
        if (!b)
            return TG_ENOMEM;
        l->blk = b;
        l->cap = cap;
    }
    l->s[l->n] = s;
    l->src[l->n] = src;
    l->blk[l->n++] = blk;
    return 0;
}

static void segs_close(segs *l)
{
    tg__free(l->s);
    tg__free(l->src);
    tg__free(l->blk);
}

/* The segments of output range [o0, o1) of axis k for map m, where the
 * sources have chunks c (of source src along k).  0 or TG_ENOMEM. */
static int axis_segs(const axis_map *m, tg_array *const *src, size_t k,
                     size_t o0, size_t o1, segs *out)
{
    out->n = 0;
    for (size_t q = 0; q < m->n_parts; q++) {
        const part *pt = &m->parts[q];
        size_t lo = o0 > pt->lo ? o0 : pt->lo, hi = o1 < pt->hi ? o1 : pt->hi;
        size_t c = src[pt->src]->chunk[k];
        for (size_t o = lo; o < hi;) {
            int64_t i = pt->start + (int64_t)(o - pt->lo) * pt->step;
            size_t blk = (size_t)i / c, n;
            if (pt->step > 0)
                n = (size_t)(((int64_t)((blk + 1) * c) - 1 - i) / pt->step) + 1;
            else
                n = (size_t)((i - (int64_t)(blk * c)) / -pt->step) + 1;
            n = n < hi - o ? n : hi - o;
            seg s = {i - (int64_t)(blk * c), pt->step, (int64_t)n,
                     (int64_t)(o - o0)};
            if (segs_push(out, s, pt->src, blk) != 0)
                return TG_ENOMEM;
            o += n;
        }
    }
    if (o0 == o1 && m->n_parts) { /* an empty axis: one empty segment */
        seg s = {0, 1, 0, 0};
        return segs_push(out, s, m->parts[0].src, 0);
    }
    return 0;
}

/* The parameters and chunk arguments of output chunk b, recorded. */
static tg_value *regrid_block(tg_array *out, size_t b, tg_array *const *src,
                              tg_value **const *blocks, const axis_map *maps,
                              segs *sg)
{
    size_t nd = out->ndim, shape[TG__ND_MAX], start[TG__ND_MAX], n = 1;
    tg__array_block_box(out, b, shape, start);
    tg_value *params[2 + TG__ND_MAX];
    size_t np = 0;
    params[np++] = tg_int(out->dtype);
    params[np++] = tg__sizes_value(nd, shape);
    for (size_t k = 0; k < nd; k++) {
        if (axis_segs(&maps[k], src, k, start[k], start[k] + shape[k], &sg[k]))
            goto fail;
        n *= sg[k].n;
        tg_value *vals[SEG_VALUES * 64], **v = vals;
        size_t nv = SEG_VALUES * sg[k].n;
        if (nv > SEG_VALUES * 64 && !(v = tg__malloc(nv * sizeof *v)))
            goto fail;
        for (size_t i = 0; i < sg[k].n; i++) {
            v[4 * i] = tg_int(sg[k].s[i].start);
            v[4 * i + 1] = tg_int(sg[k].s[i].step);
            v[4 * i + 2] = tg_int(sg[k].s[i].count);
            v[4 * i + 3] = tg_int(sg[k].s[i].out);
        }
        params[np++] = tg_list_from(nv, v);
        if (v != vals)
            tg__free(v);
    }
    if (n > TG__REGRID_MAX_PIECES) {
        tg__seterr(TG_EINVAL,
                   "a chunk would gather %zu pieces (at most %d): "
                   "rechunk in two steps",
                   n, TG__REGRID_MAX_PIECES);
        goto fail;
    }
    tg_value **args = tg__malloc((n ? n : 1) * sizeof *args);
    if (!args)
        goto fail;
    size_t which[TG__ND_MAX] = {0};
    for (size_t i = 0; i < n; i++) {
        /* sources differ only along the concatenation axis, which sets
         * the source of the whole combination */
        size_t s = 0, bi = 0;
        for (size_t k = 0; k < nd; k++)
            if (maps[k].n_parts > 1)
                s = sg[k].src[which[k]];
        for (size_t k = 0; k < nd; k++)
            bi = bi * src[s]->grid[k] + sg[k].blk[which[k]];
        args[i] = blocks[s][bi];
        for (size_t k = nd; k-- > 0;) {
            if (++which[k] < sg[k].n)
                break;
            which[k] = 0;
        }
    }
    tg_value *d =
        tg__array_call(out->g, TG__T_REGRID, tg_list_from(np, params), n, args);
    tg__free(args);
    return d;
fail:
    for (size_t i = 0; i < np; i++)
        tg_decref(params[i]);
    return NULL;
}

/* Records out (whose shape and chunks are set) from sources through
 * maps, one regrid task per chunk. */
static tg_array *regrid(tg_array *out, size_t n_src, tg_array *const *src,
                        const axis_map *maps)
{
    tg_value **small[8], ***blocks = small;
    segs sg[TG__ND_MAX] = {{0}};
    if (n_src > 8 && !(blocks = tg__malloc(n_src * sizeof *blocks)))
        return NULL;
    bool ok = tg__array_alloc_blocks(out) == 0;
    for (size_t i = 0; ok && i < n_src; i++)
        ok = (blocks[i] = tg__array_blocks(src[i])) != NULL;
    for (size_t b = 0; ok && b < out->n_blocks; b++)
        ok = (out->blocks[b] = regrid_block(out, b, src, blocks, maps, sg))
             != NULL;
    for (size_t k = 0; k < TG__ND_MAX; k++)
        segs_close(&sg[k]);
    if (blocks != small)
        tg__free(blocks);
    return ok ? out : NULL;
}

tg_array *tg__array_rechunk_to(tg_array *a, const size_t *chunks)
{
    tg_array *out = tg__array_new(a->g, a->dtype, a->ndim, a->shape, chunks);
    if (!out)
        return NULL;
    part parts[TG__ND_MAX];
    axis_map maps[TG__ND_MAX];
    for (size_t k = 0; k < a->ndim; k++) {
        parts[k] = (part){0, 0, a->shape[k], 0, 1};
        maps[k] = (axis_map){1, &parts[k]};
    }
    return regrid(out, 1, &a, maps);
}

tg_array *tg_array_rechunk(tg_array *a, const size_t *chunks)
{
    if (tg__array_check("tg_array_rechunk", 1, &a) != 0)
        return NULL;
    return tg__array_rechunk_to(a, chunks);
}

/* Python's slice.indices: the first index, step and count of s over an
 * axis of extent n. */
static void slice_indices(tg_slice s, size_t n, int64_t *start, int64_t *step,
                          size_t *count)
{
    int64_t len = (int64_t)n, st = s.step ? s.step : 1, a, b;
    bool neg = st < 0;
    int64_t lo = neg ? -1 : 0, hi = neg ? len - 1 : len;
    if (s.start == TG_SLICE_NONE) {
        a = neg ? hi : lo;
    } else {
        a = s.start < 0 ? s.start + len : s.start;
        a = a < lo ? lo : a > hi ? hi : a;
    }
    if (s.stop == TG_SLICE_NONE) {
        b = neg ? lo : hi;
    } else {
        b = s.stop < 0 ? s.stop + len : s.stop;
        b = b < lo ? lo : b > hi ? hi : b;
    }
    int64_t c = neg ? (a > b ? (a - b - 1) / -st + 1 : 0)
                    : (b > a ? (b - a - 1) / st + 1 : 0);
    *start = a;
    *step = st;
    *count = (size_t)c;
}

tg_array *tg_array_slice(tg_array *a, const tg_slice *slices)
{
    if (tg__array_check("tg_array_slice", 1, &a) != 0)
        return NULL;
    if (!slices && a->ndim)
        return tg__seterr_null(TG_EINVAL, "tg_array_slice: NULL slices");
    size_t shape[TG__ND_MAX], chunk[TG__ND_MAX];
    part parts[TG__ND_MAX];
    axis_map maps[TG__ND_MAX];
    for (size_t k = 0; k < a->ndim; k++) {
        int64_t start, step;
        if (slices[k].step == INT64_MIN)
            return tg__seterr_null(TG_EINVAL, "tg_array_slice: step");
        slice_indices(slices[k], a->shape[k], &start, &step, &shape[k]);
        /* Each result chunk spans about one chunk of a: at most two of
         * a's chunks per axis feed it. */
        uint64_t as = (uint64_t)(step < 0 ? -step : step);
        chunk[k] = (size_t)((a->chunk[k] + as - 1) / as);
        parts[k] = (part){0, 0, shape[k], start, step};
        maps[k] = (axis_map){1, &parts[k]};
    }
    tg_array *out = tg__array_new(a->g, a->dtype, a->ndim, shape, chunk);
    return out ? regrid(out, 1, &a, maps) : NULL;
}

tg_array *tg_array_concatenate(size_t n, tg_array *const *arrays, int axis)
{
    if (n == 0 || !arrays)
        return tg__seterr_null(TG_EINVAL, "tg_array_concatenate: no arrays");
    if (tg__array_check("tg_array_concatenate", n, arrays) != 0)
        return NULL;
    tg_array *a0 = arrays[0];
    int ax = tg__norm_axis(axis, a0->ndim);
    if (ax < 0)
        return tg__seterr_null(TG_EINVAL,
                               "tg_array_concatenate: axis %d out "
                               "of range for %zu dimensions",
                               axis, a0->ndim);
    tg_dtype dt = a0->dtype;
    size_t shape[TG__ND_MAX];
    memcpy(shape, a0->shape, a0->ndim * sizeof *shape);
    shape[ax] = 0;
    for (size_t i = 0; i < n; i++) {
        tg_array *x = arrays[i];
        bool ok = x->ndim == a0->ndim;
        for (size_t k = 0; ok && k < x->ndim; k++)
            ok = k == (size_t)ax || x->shape[k] == a0->shape[k];
        if (!ok) {
            char s0[160], si[160];
            tg__shape_str(s0, sizeof s0, a0->ndim, a0->shape);
            tg__shape_str(si, sizeof si, x->ndim, x->shape);
            return tg__seterr_null(TG_EINVAL,
                                   "tg_array_concatenate: shapes %s and %s "
                                   "differ off axis %d",
                                   s0, si, ax);
        }
        shape[ax] += x->shape[ax];
        if (x->dtype != dt)
            dt = x->dtype == TG_DT_BOOL ? dt
                 : dt == TG_DT_BOOL     ? x->dtype
                                        : tg__promote(dt, x->dtype);
    }
    /* Sources share a0's chunks off the axis (and one dtype), so that a
     * chunk of the result reads one source chunk per segment. */
    tg_array **src = tg__malloc(n * sizeof *src);
    part *parts = tg__malloc((n + TG__ND_MAX) * sizeof *parts);
    tg_array *out = src && parts
                        ? tg__array_new(a0->g, dt, a0->ndim, shape, a0->chunk)
                        : NULL;
    axis_map maps[TG__ND_MAX];
    for (size_t i = 0, at = 0; out && i < n; i++) {
        size_t want[TG__ND_MAX];
        for (size_t k = 0; k < a0->ndim; k++)
            want[k] = k == (size_t)ax ? arrays[i]->chunk[k] : a0->chunk[k];
        tg_array *x =
            arrays[i]->dtype == dt ? arrays[i] : tg_array_astype(arrays[i], dt);
        bool same = x && memcmp(want, x->chunk, x->ndim * sizeof *want) == 0;
        src[i] = same || !x ? x : tg__array_rechunk_to(x, want);
        parts[i] = (part){i, at, at + arrays[i]->shape[ax], 0, 1};
        at += arrays[i]->shape[ax];
        if (!src[i])
            out = NULL;
    }
    for (size_t k = 0; out && k < a0->ndim; k++) {
        if (k == (size_t)ax) {
            maps[k] = (axis_map){n, parts};
        } else {
            parts[n + k] = (part){0, 0, shape[k], 0, 1};
            maps[k] = (axis_map){1, &parts[n + k]};
        }
    }
    if (out)
        out = regrid(out, n, src, maps);
    tg__free(src);
    tg__free(parts);
    return out;
}

void tg__array_register_layout(void)
{
    tg__array_register(TG__T_REGRID, REGRID, regrid_task);
    tg__array_register(TG__T_TRANSPOSE, TRANSPOSE, transpose_task);
}
