/* array/builders.c - the tg_array struct, its blocks, and the elementwise
 * builders that fuse.
 *
 * An elementwise builder records nothing: it returns an array whose
 * pending program (array_internal.h) inlines its operands' programs, so
 * ((x + 1) * 2 - y).sqrt() is one program over the leaves x and y.  The
 * tasks are recorded when something needs the blocks (a non-elementwise
 * builder, compute, tg_array_block): one "tg.array.elemwise" task per
 * chunk, whose arguments are the program and the leaves' chunks.  Every
 * leaf is aligned with the result's chunks (rechunked first where it
 * spans an axis with other extents), so a result chunk reads exactly
 * one chunk of each leaf.
 */
#include <stdio.h>

#include "array_internal.h"

/* Most chunks in one array: graph nodes are numbered in 32 bits. */
#define MAX_BLOCKS ((size_t)1 << 28)

/* ---- the struct and its blocks --------------------------------------- */

static void array_free(void *p)
{
    tg_array *a = p;
    tg__free(a->blocks);
    tg__free(a->order);
    tg__free(a->prog);
    tg__free(a);
}

tg_array *tg__array_new(tg_graph *g, tg_dtype dtype, size_t ndim,
                        const size_t *shape, const size_t *chunks)
{
    if (!g)
        return tg__seterr_null(TG_EINVAL, "tg_array: NULL graph");
    if (!tg__nd_itemsize(dtype))
        return tg__seterr_null(TG_EINVAL,
                               "tg_array: dtype %s is not an array dtype",
                               tg_dtype_name(dtype));
    if (ndim > TG__ND_MAX || (ndim && !shape))
        return tg__seterr_null(TG_EINVAL, "tg_array: %s",
                               ndim > TG__ND_MAX ? "too many dimensions"
                                                 : "NULL shape");
    size_t size, n_blocks = 1;
    if (!tg__nd_count(ndim, shape, 8, &size))
        return tg__seterr_null(TG_EINVAL, "tg_array: size overflows");
    tg_array *a = tg__calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->g = g;
    a->dtype = dtype;
    a->ndim = ndim;
    for (size_t i = 0; i < ndim; i++) {
        size_t c = chunks && chunks[i] ? chunks[i] : shape[i];
        a->shape[i] = shape[i];
        a->chunk[i] = c > shape[i] ? shape[i] : c;
        if (a->chunk[i] == 0)
            a->chunk[i] = 1;
        a->grid[i] = shape[i] ? (shape[i] + a->chunk[i] - 1) / a->chunk[i] : 1;
        n_blocks =
            a->grid[i] > MAX_BLOCKS ? MAX_BLOCKS + 1 : n_blocks * a->grid[i];
        if (n_blocks > MAX_BLOCKS) {
            tg__free(a);
            return tg__seterr_null(TG_EINVAL,
                                   "tg_array: more than %zu chunks; use "
                                   "larger chunks",
                                   MAX_BLOCKS);
        }
    }
    a->n_blocks = n_blocks;
    /* The graph owns the array from here on: a literal node holding it
     * is released by tg_graph_free (and freed now on failure). */
    tg_value *obj = tg_object(a, array_free, "tg.array");
    if (!obj) {
        array_free(a);
        return NULL;
    }
    if (!tg_delayed_value(g, obj))
        return NULL;
    return a;
}

int tg__array_alloc_blocks(tg_array *a)
{
    if (!a->blocks && !(a->blocks = tg__calloc(a->n_blocks, sizeof *a->blocks)))
        return TG_ENOMEM;
    return 0;
}

int tg__array_keep_order(tg_array *a, const tg_array *from)
{
    if (a->order || !from->order || from->ndim != a->ndim
        || memcmp(from->grid, a->grid, a->ndim * sizeof *a->grid) != 0)
        return 0;
    if (!(a->order = tg__malloc(a->n_blocks * sizeof *a->order)))
        return TG_ENOMEM;
    memcpy(a->order, from->order, a->n_blocks * sizeof *a->order);
    return 0;
}

int tg__array_check(const char *fn, size_t n, tg_array *const *arrays)
{
    for (size_t i = 0; i < n; i++) {
        if (!arrays[i])
            return tg__seterr(TG_EINVAL,
                              "%s: array %zu is NULL (did an "
                              "earlier call fail?)",
                              fn, i);
        if (arrays[i]->g != arrays[0]->g)
            return tg__seterr(TG_EINVAL, "%s: arrays of different graphs", fn);
    }
    return 0;
}

void tg__array_block_box(const tg_array *a, size_t b, size_t *shape,
                         size_t *start)
{
    for (size_t k = a->ndim; k-- > 0;) {
        size_t i = b % a->grid[k], s = i * a->chunk[k];
        b /= a->grid[k];
        if (start)
            start[k] = s;
        if (shape)
            shape[k] =
                a->shape[k] - s < a->chunk[k] ? a->shape[k] - s : a->chunk[k];
    }
}

int tg__norm_axis(int axis, size_t ndim)
{
    long x = axis < 0 ? (long)axis + (long)ndim : axis;
    return x >= 0 && (size_t)x < ndim ? (int)x : -1;
}

void tg__prog_leaf_args(const tg_array *dom, const tg__prog *p,
                        tg_value **const *leaf, size_t b, tg_value **args)
{
    size_t start[TG__ND_MAX];
    tg__array_block_box(dom, b, NULL, start);
    for (size_t i = 0; i < p->n_inputs; i++) {
        const tg_array *x = p->inputs[i];
        size_t off = dom->ndim - x->ndim, xb = 0;
        for (size_t k = 0; k < x->ndim; k++) {
            size_t ik = x->grid[k] == 1 ? 0 : start[k + off] / x->chunk[k];
            xb = xb * x->grid[k] + ik;
        }
        args[i] = leaf[i][xb];
    }
}

int tg__prog_leaves(const tg__prog *p, tg_value ***leaf)
{
    for (size_t i = 0; i < p->n_inputs; i++)
        if (!(leaf[i] = tg__array_blocks(p->inputs[i])))
            return tg__last_code(TG_ENOMEM);
    return 0;
}

/* Records a's elementwise program: one task per chunk. */
static int record_prog(tg_array *a)
{
    const tg__prog *p = a->prog;
    tg_value **leaf[TG__PROG_MAX_INPUTS];
    if (tg__prog_leaves(p, leaf) != 0 || tg__array_alloc_blocks(a) != 0)
        return tg__last_code(TG_ENOMEM);
    for (size_t b = 0; b < a->n_blocks; b++) {
        size_t shape[TG__ND_MAX];
        tg_value *args[TG__PROG_MAX_INPUTS];
        tg__array_block_box(a, b, shape, NULL);
        tg__prog_leaf_args(a, p, leaf, b, args);
        tg_value *params = tg_list(2, tg__sizes_value(a->ndim, shape),
                                   tg__prog_value(p->code, p->n_code));
        if (!(a->blocks[b] = tg__array_call(a->g, TG__T_ELEMWISE, params,
                                            p->n_inputs, args)))
            return tg__last_code(TG_ENOMEM);
    }
    return 0;
}

tg_value **tg__array_blocks(tg_array *a)
{
    if (!a)
        return tg__seterr_null(TG_EINVAL, "tg_array: NULL array");
    if (a->blocks && a->blocks[a->n_blocks - 1])
        return a->blocks;
    int rc = 0;
    if (a->prog) {
        rc = record_prog(a);
    } else if (a->perm_of) {
        tg_array *p = tg__array_permute_now(a->perm_of, a->perm);
        if (!p || !tg__array_blocks(p) || tg__array_alloc_blocks(a) != 0)
            return NULL;
        memcpy(a->blocks, p->blocks, a->n_blocks * sizeof *a->blocks);
    } else if (a->is_const) {
        tg_value *v = a->dtype == TG_DT_FLOAT64
                          ? tg_ndarray_new(TG_DT_FLOAT64, 0, NULL, &a->cf)
                          : tg_ndarray_new(TG_DT_INT64, 0, NULL, &a->ci);
        if (!v || tg__array_alloc_blocks(a) != 0) {
            tg_decref(v);
            return NULL;
        }
        if (!(a->blocks[0] = tg_delayed_value(a->g, v)))
            rc = tg__last_code(TG_ENOMEM);
    } else {
        rc = tg__seterr(TG_EINVAL, "tg_array: an array without chunks");
    }
    return rc == 0 ? a->blocks : NULL;
}

void tg__array_as_prog(tg_array *a, tg__prog *out)
{
    if (a->prog) {
        *out = *a->prog;
        return;
    }
    out->n_inputs = 0;
    out->n_code = 1;
    if (a->is_const) {
        out->code[0] = a->dtype == TG_DT_FLOAT64
                           ? (tg__ins){TG__OP_CF, 0, a->cf}
                           : (tg__ins){TG__OP_CI, a->ci, 0.0};
        return;
    }
    out->code[0] = (tg__ins){TG__OP_IN, 0, 0.0};
    out->inputs[out->n_inputs++] = a;
}

/* ---- public accessors ------------------------------------------------ */

size_t tg_array_ndim(const tg_array *a)
{
    return a ? a->ndim : 0;
}

const size_t *tg_array_shape(const tg_array *a)
{
    return a ? a->shape : NULL;
}

const size_t *tg_array_chunks(const tg_array *a)
{
    return a ? a->chunk : NULL;
}

const size_t *tg_array_numblocks(const tg_array *a)
{
    return a ? a->grid : NULL;
}

size_t tg_array_nblocks(const tg_array *a)
{
    return a ? a->n_blocks : 0;
}

tg_dtype tg_array_dtype(const tg_array *a)
{
    return a ? a->dtype : TG_DT_FLOAT64;
}

tg_graph *tg_array_graph(const tg_array *a)
{
    return a ? a->g : NULL;
}

tg_value *tg_array_block(tg_array *a, size_t i)
{
    tg_value **b = tg__array_blocks(a);
    if (b && i >= a->n_blocks)
        return tg__seterr_null(TG_EINVAL, "tg_array_block: chunk %zu of %zu", i,
                               a->n_blocks);
    return b ? b[i] : NULL;
}

/* ---- scalars --------------------------------------------------------- */

static tg_array *const_new(tg_graph *g, tg_dtype dt, double f, int64_t i)
{
    tg_array *a = tg__array_new(g, dt, 0, NULL, NULL);
    if (a) {
        a->is_const = true;
        a->cf = f;
        a->ci = i;
    }
    return a;
}

tg_array *tg_array_scalar(tg_graph *g, double value)
{
    return const_new(g, TG_DT_FLOAT64, value, 0);
}

tg_array *tg_array_scalar_int(tg_graph *g, int64_t value)
{
    return const_new(g, TG_DT_INT64, 0.0, value);
}

/* ---- elementwise ----------------------------------------------------- */

/* The broadcast shape of n arrays (NumPy's rules), or TG_EINVAL naming
 * the first two shapes that clash. */
static int broadcast(const char *fn, size_t n, tg_array *const *in,
                     size_t *ndim, size_t *shape)
{
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        nd = in[i]->ndim > nd ? in[i]->ndim : nd;
    for (size_t k = 0; k < nd; k++)
        shape[k] = 1;
    for (size_t i = 0; i < n; i++) {
        size_t off = nd - in[i]->ndim;
        for (size_t k = 0; k < in[i]->ndim; k++) {
            size_t e = in[i]->shape[k], *o = &shape[k + off];
            if (e == *o || e == 1)
                continue;
            if (*o != 1) {
                size_t j = 0; /* the earlier operand that set *o */
                while (j < i
                       && (in[j]->ndim < nd - (k + off)
                           || in[j]->shape[k + off - (nd - in[j]->ndim)] != *o))
                    j++;
                char as[160], bs[160];
                tg__shape_str(as, sizeof as, in[j]->ndim, in[j]->shape);
                tg__shape_str(bs, sizeof bs, in[i]->ndim, in[i]->shape);
                return tg__seterr(TG_EINVAL,
                                  "%s: operands could not be broadcast "
                                  "together with shapes %s %s",
                                  fn, as, bs);
            }
            *o = e;
        }
    }
    *ndim = nd;
    return 0;
}

/* The chunks of the result: along each axis those of the first operand
 * that spans it. */
static void result_chunks(size_t n, tg_array *const *in, size_t nd,
                          const size_t *shape, size_t *chunk)
{
    for (size_t k = 0; k < nd; k++) {
        chunk[k] = 0;
        for (size_t i = 0; i < n && !chunk[k]; i++) {
            size_t off = nd - in[i]->ndim;
            if (k >= off && in[i]->shape[k - off] == shape[k])
                chunk[k] = in[i]->chunk[k - off];
        }
        if (!chunk[k])
            chunk[k] = shape[k] ? shape[k] : 1;
    }
}

/* x aligned with the result's chunks: x itself, or x rechunked. */
static tg_array *align(tg_array *x, size_t nd, const size_t *chunk)
{
    size_t off = nd - x->ndim, want[TG__ND_MAX];
    bool same = true;
    for (size_t k = 0; k < x->ndim; k++) {
        want[k] = x->shape[k] == 1 ? 1 : chunk[k + off];
        same &= x->shape[k] <= 1 || want[k] == x->chunk[k];
    }
    return same ? x : tg__array_rechunk_to(x, want);
}

/* The index of leaf x in p, adding it; -1 when p is full. */
static long leaf_index(tg__prog *p, tg_array *x)
{
    for (size_t i = 0; i < p->n_inputs; i++)
        if (p->inputs[i] == x)
            return (long)i;
    if (p->n_inputs == TG__PROG_MAX_INPUTS)
        return -1;
    p->inputs[p->n_inputs] = x;
    return (long)p->n_inputs++;
}

/* Appends x's program to p (inlined, or x as a leaf when fuse is false
 * or x is not pending); false when p would overflow. */
static bool append(tg__prog *p, tg_array *x, bool fuse)
{
    tg__prog xp;
    if (fuse || !x->prog)
        tg__array_as_prog(x, &xp);
    else
        xp = (tg__prog){.n_code = 1,
                        .code = {{TG__OP_IN, 0, 0.0}},
                        .n_inputs = 1,
                        .inputs = {x}};
    if (p->n_code + xp.n_code > TG__PROG_MAX_CODE)
        return false;
    long map[TG__PROG_MAX_INPUTS];
    for (size_t i = 0; i < xp.n_inputs; i++)
        if ((map[i] = leaf_index(p, xp.inputs[i])) < 0)
            return false;
    for (size_t k = 0; k < xp.n_code; k++) {
        tg__ins ins = xp.code[k];
        if (ins.op == TG__OP_IN)
            ins.i = map[ins.i];
        p->code[p->n_code++] = ins;
    }
    return true;
}

/* The result of op over n operands (1 to 3), pending. */
static tg_array *elemwise(const char *fn, int op, size_t n, tg_array **in)
{
    size_t nd = 0, shape[TG__ND_MAX], chunk[TG__ND_MAX];
    if (tg__array_check(fn, n, in) != 0 || broadcast(fn, n, in, &nd, shape))
        return NULL;
    result_chunks(n, in, nd, shape, chunk);
    tg_array *al[3];
    for (size_t i = 0; i < n; i++)
        if (!(al[i] = align(in[i], nd, chunk)))
            return NULL;
    tg__prog *p = tg__malloc(sizeof *p);
    if (!p)
        return NULL;
    const char *msg = "";
    tg_dtype dt = TG_DT_FLOAT64, dts[TG__PROG_MAX_INPUTS];
    /* Inline every operand's program; if that is too long, too deep or
     * reads too many leaves, take the pending operands as leaves. */
    for (int fuse = 1; fuse >= 0 && msg; fuse--) {
        bool ok = true;
        msg = "the fused program is too long";
        p->n_code = p->n_inputs = 0;
        for (size_t i = 0; i < n && ok; i++)
            ok = append(p, al[i], fuse);
        if (ok) {
            p->code[p->n_code++] = (tg__ins){op, 0, 0.0};
            for (size_t i = 0; i < p->n_inputs; i++)
                dts[i] = p->inputs[i]->dtype;
            msg = tg__prog_check(p->code, p->n_code, dts, p->n_inputs, &dt);
        }
    }
    tg_array *a = msg ? NULL : tg__array_new(in[0]->g, dt, nd, shape, chunk);
    if (!a) {
        tg__free(p);
        if (msg)
            tg__seterr(TG_EINVAL, "%s: %s", fn, msg);
        return NULL;
    }
    a->prog = p; /* the graph owns a, and a its program, from here */
    for (size_t i = 0; i < n; i++)
        if (tg__array_keep_order(a, al[i]) != 0)
            return NULL;
    return a;
}

static tg_array *binary(const char *fn, int op, tg_array *a, tg_array *b)
{
    tg_array *in[2] = {a, b};
    return elemwise(fn, op, 2, in);
}

static tg_array *unary(const char *fn, int op, tg_array *a)
{
    return elemwise(fn, op, 1, &a);
}

tg_array *tg_array_add(tg_array *a, tg_array *b)
{
    return binary("tg_array_add", TG__OP_ADD, a, b);
}
tg_array *tg_array_sub(tg_array *a, tg_array *b)
{
    return binary("tg_array_sub", TG__OP_SUB, a, b);
}
tg_array *tg_array_mul(tg_array *a, tg_array *b)
{
    return binary("tg_array_mul", TG__OP_MUL, a, b);
}
tg_array *tg_array_div(tg_array *a, tg_array *b)
{
    return binary("tg_array_div", TG__OP_DIV, a, b);
}
tg_array *tg_array_pow(tg_array *a, tg_array *b)
{
    return binary("tg_array_pow", TG__OP_POW, a, b);
}
tg_array *tg_array_minimum(tg_array *a, tg_array *b)
{
    return binary("tg_array_minimum", TG__OP_MIN, a, b);
}
tg_array *tg_array_maximum(tg_array *a, tg_array *b)
{
    return binary("tg_array_maximum", TG__OP_MAX, a, b);
}
tg_array *tg_array_lt(tg_array *a, tg_array *b)
{
    return binary("tg_array_lt", TG__OP_LT, a, b);
}
tg_array *tg_array_le(tg_array *a, tg_array *b)
{
    return binary("tg_array_le", TG__OP_LE, a, b);
}
tg_array *tg_array_gt(tg_array *a, tg_array *b)
{
    return binary("tg_array_gt", TG__OP_GT, a, b);
}
tg_array *tg_array_ge(tg_array *a, tg_array *b)
{
    return binary("tg_array_ge", TG__OP_GE, a, b);
}
tg_array *tg_array_eq(tg_array *a, tg_array *b)
{
    return binary("tg_array_eq", TG__OP_EQ, a, b);
}
tg_array *tg_array_ne(tg_array *a, tg_array *b)
{
    return binary("tg_array_ne", TG__OP_NE, a, b);
}

tg_array *tg_array_where(tg_array *cond, tg_array *a, tg_array *b)
{
    tg_array *in[3] = {cond, a, b};
    return elemwise("tg_array_where", TG__OP_WHERE, 3, in);
}

tg_array *tg_array_sqrt(tg_array *a)
{
    return unary("tg_array_sqrt", TG__OP_SQRT, a);
}
tg_array *tg_array_abs(tg_array *a)
{
    return unary("tg_array_abs", TG__OP_ABS, a);
}
tg_array *tg_array_exp(tg_array *a)
{
    return unary("tg_array_exp", TG__OP_EXP, a);
}
tg_array *tg_array_log(tg_array *a)
{
    return unary("tg_array_log", TG__OP_LOG, a);
}
tg_array *tg_array_neg(tg_array *a)
{
    return unary("tg_array_neg", TG__OP_NEG, a);
}

tg_array *tg_array_astype(tg_array *a, tg_dtype dtype)
{
    int op = dtype == TG_DT_FLOAT64 ? TG__OP_TO_F64
             : dtype == TG_DT_INT64 ? TG__OP_TO_I64
             : dtype == TG_DT_BOOL  ? TG__OP_TO_BOOL
                                    : 0;
    if (!op)
        return tg__seterr_null(TG_EINVAL,
                               "tg_array_astype: %s is not an array dtype",
                               tg_dtype_name(dtype));
    return unary("tg_array_astype", op, a);
}

/* ---- map_blocks ------------------------------------------------------ */

tg_array *tg_array_map_blocks(tg_array *a, const char *name, tg_fn fn,
                              void *ctx, tg_dtype dtype)
{
    if (tg__array_check("tg_array_map_blocks", 1, &a) != 0)
        return NULL;
    if (!name || !fn)
        return tg__seterr_null(TG_EINVAL, "tg_array_map_blocks: NULL %s",
                               name ? "function" : "name");
    tg_value **in = tg__array_blocks(a);
    tg_array *out =
        in ? tg__array_new(a->g, dtype, a->ndim, a->shape, a->chunk) : NULL;
    if (!out || tg__array_alloc_blocks(out) != 0)
        return NULL;
    for (size_t b = 0; b < a->n_blocks; b++) {
        size_t shape[TG__ND_MAX], start[TG__ND_MAX];
        tg__array_block_box(a, b, shape, start);
        tg_value *args[2] = {in[b], tg__sizes_value(a->ndim, start)};
        tg_value *r = tg_delayed_v(a->g, name, fn, ctx, 0, 2, args);
        tg_value *params =
            tg_list(2, tg_int(dtype), tg__sizes_value(a->ndim, shape));
        if (!(out->blocks[b] =
                  tg__array_call(a->g, TG__T_CHECK, params, 1, &r)))
            return NULL;
    }
    return out;
}
