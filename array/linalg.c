/* array/linalg.c - the matrix product on OpenBLAS.
 *
 * Block (i, j) of a (m x k) times b (k x n) is one "tg.array.matmul"
 * task: the sum over kk of a(i, kk) b(kk, j), each product one
 * cblas_dgemm accumulating into the output chunk (beta 1 after the
 * first).  An operand that is a pending transpose is read in place
 * with a transpose flag.  a times its own transpose is symmetric: a
 * diagonal block is one "tg.array.syrk" task (cblas_dsyrk over the
 * upper triangle, then mirrored), a block above the diagonal a matmul,
 * and a block below it the transpose of its mirror - half the flops, as
 * NumPy does.  int64 (and bool) operands multiply with plain loops into
 * int64; mixed operands are converted to float64 per task.
 *
 * OpenBLAS runs single-threaded inside every task (set once at load):
 * the scheduler runs tasks on all cores, and a BLAS thread pool under
 * every task would oversubscribe them.
 */
#include <cblas.h>
#include <stdio.h>

#include "array_internal.h"

#define MATMUL "tg.array.matmul"
#define SYRK "tg.array.syrk"

/* An operand block as float64 (the chunk's data, or a converted copy in
 * *tmp, which the caller frees with tg__big_free). */
static const double *as_f64(const tg__nd *a, double **tmp)
{
    *tmp = NULL;
    if (a->dtype == TG_DT_FLOAT64)
        return a->data;
    if (!(*tmp = tg__big_alloc((a->size ? a->size : 1) * sizeof **tmp)))
        return NULL;
    tg__convert(*tmp, TG_DT_FLOAT64, a->data, a->dtype, a->size);
    return *tmp;
}

static inline int64_t at_i(const tg__nd *a, size_t r, size_t c)
{
    size_t i = r * a->shape[1] + c;
    return a->dtype == TG_DT_BOOL ? ((const uint8_t *)a->data)[i]
                                  : ((const int64_t *)a->data)[i];
}

/* c (m x n) += op(a) op(b) in wrapping int64, plain loops. */
static void imatmul(int64_t *c, const tg__nd *a, bool ta, const tg__nd *b,
                    bool tb, size_t m, size_t n, size_t k)
{
    for (size_t i = 0; i < m; i++)
        for (size_t kk = 0; kk < k; kk++) {
            uint64_t x = (uint64_t)(ta ? at_i(a, kk, i) : at_i(a, i, kk));
            if (!x)
                continue;
            for (size_t j = 0; j < n; j++)
                c[i * n + j] =
                    (int64_t)((uint64_t)c[i * n + j]
                              + x
                                    * (uint64_t)(tb ? at_i(b, j, kk)
                                                    : at_i(b, kk, j)));
        }
}

static bool is_int(tg_dtype t)
{
    return t == TG_DT_INT64 || t == TG_DT_BOOL;
}

/* Reads the 2-d chunks args[first .. first + n) into out, checking. */
static const char *read_blocks(tg_value *const *args, size_t nargs,
                               size_t first, size_t n, const tg__nd **out,
                               bool *all_int)
{
    for (size_t i = 0; i < n; i++) {
        const tg__nd *a = first + i < nargs ? tg__nd_of(args[first + i]) : NULL;
        if (!a || a->ndim != 2)
            return "an operand chunk is not a 2-d array";
        *all_int &= is_int(a->dtype);
        out[i] = a;
    }
    return NULL;
}

/* matmul(params = [ta, tb, m, n, nk], a chunks (nk), b chunks (nk)). */
static tg_value *matmul_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    tg__params_init(&p, MATMUL, nargs ? args[0] : NULL);
    bool ta = tg__param_int(&p, "ta", 0, 1), tb = tg__param_int(&p, "tb", 0, 1);
    size_t m = (size_t)tg__param_int(&p, "m", 0, INT32_MAX);
    size_t n = (size_t)tg__param_int(&p, "n", 0, INT32_MAX);
    size_t nk = (size_t)tg__param_int(&p, "nk", 1, 1 << 20);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    if (nargs != 1 + 2 * nk)
        return tg_error(MATMUL ": %zu chunks for %zu products", nargs - 1, nk);
    const tg__nd **blk = tg__malloc(2 * nk * sizeof *blk);
    if (!blk)
        return tg_error(MATMUL ": out of memory");
    bool all_int = true;
    const char *msg = read_blocks(args, nargs, 1, 2 * nk, blk, &all_int);
    for (size_t kk = 0; !msg && kk < nk; kk++) {
        const tg__nd *a = blk[kk], *b = blk[nk + kk];
        size_t am = a->shape[ta], ak = a->shape[!ta];
        size_t bk = b->shape[tb], bn = b->shape[!tb];
        if (am != m || bn != n || ak != bk)
            msg = "operand chunks do not line up";
    }
    /* BLAS needs int extents; an empty product (k = 0) writes nothing,
     * so then the block starts zeroed and every product accumulates. */
    bool zero = all_int;
    for (size_t kk = 0; !msg && kk < nk; kk++) {
        zero |= blk[kk]->shape[!ta] == 0;
        if (blk[kk]->shape[0] > INT32_MAX || blk[kk]->shape[1] > INT32_MAX)
            msg = "a chunk is too large for BLAS";
    }
    tg__nd *c = msg ? NULL
                    : tg__nd_alloc(all_int ? TG_DT_INT64 : TG_DT_FLOAT64, 2,
                                   (size_t[]){m, n}, zero);
    if (!msg && !c)
        msg = "out of memory";
    for (size_t kk = 0; !msg && kk < nk; kk++) {
        const tg__nd *a = blk[kk], *b = blk[nk + kk];
        size_t k = a->shape[!ta];
        if (all_int) {
            imatmul(c->data, a, ta, b, tb, m, n, k);
            continue;
        }
        double *ta_tmp, *tb_tmp;
        const double *A = as_f64(a, &ta_tmp), *B = as_f64(b, &tb_tmp);
        if (A && B && m && n)
            cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                        tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                        1.0, A, (int)(a->shape[1] ? a->shape[1] : 1), B,
                        (int)(b->shape[1] ? b->shape[1] : 1),
                        kk || zero ? 1.0 : 0.0, c->data, (int)(n ? n : 1));
        if (!A || !B)
            msg = "out of memory";
        tg__big_free(ta_tmp);
        tg__big_free(tb_tmp);
    }
    tg__free(blk);
    if (msg) {
        tg__nd_free(c);
        return tg_error(MATMUL ": %s", msg);
    }
    tg_value *v = tg__nd_value(c);
    return v ? v : tg_error(MATMUL ": %s", tg_last_error());
}

/* Copies the upper triangle of the m x m block c onto the lower. */
static void mirror(double *c, size_t m)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < i; j++)
            c[i * m + j] = c[j * m + i];
}

/* syrk(params = [trans, nk], a chunks (nk)): sum of a a^T (trans 0) or
 * a^T a (trans 1) over the chunks, a full symmetric block. */
static tg_value *syrk_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    tg__params_init(&p, SYRK, nargs ? args[0] : NULL);
    bool tr = tg__param_int(&p, "trans", 0, 1);
    size_t nk = (size_t)tg__param_int(&p, "nk", 1, 1 << 20);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    if (nargs != 1 + nk)
        return tg_error(SYRK ": %zu chunks for %zu products", nargs - 1, nk);
    const tg__nd **blk = tg__malloc(nk * sizeof *blk);
    if (!blk)
        return tg_error(SYRK ": out of memory");
    bool all_int = true;
    const char *msg = read_blocks(args, nargs, 1, nk, blk, &all_int);
    size_t m = msg ? 0 : blk[0]->shape[tr];
    for (size_t kk = 0; !msg && kk < nk; kk++)
        if (blk[kk]->shape[tr] != m)
            msg = "operand chunks do not line up";
    bool zero = all_int;
    for (size_t kk = 0; !msg && kk < nk; kk++) {
        zero |= blk[kk]->shape[!tr] == 0;
        if (blk[kk]->shape[0] > INT32_MAX || blk[kk]->shape[1] > INT32_MAX)
            msg = "a chunk is too large for BLAS";
    }
    tg__nd *c = msg ? NULL
                    : tg__nd_alloc(all_int ? TG_DT_INT64 : TG_DT_FLOAT64, 2,
                                   (size_t[]){m, m}, zero);
    if (!msg && !c)
        msg = "out of memory";
    for (size_t kk = 0; !msg && kk < nk; kk++) {
        const tg__nd *a = blk[kk];
        size_t k = a->shape[!tr];
        if (all_int) {
            imatmul(c->data, a, tr, a, !tr, m, m, k);
            continue;
        }
        double *tmp;
        const double *A = as_f64(a, &tmp);
        if (A && m)
            cblas_dsyrk(CblasRowMajor, CblasUpper,
                        tr ? CblasTrans : CblasNoTrans, (int)m, (int)k, 1.0, A,
                        (int)(a->shape[1] ? a->shape[1] : 1),
                        kk || zero ? 1.0 : 0.0, c->data, (int)(m ? m : 1));
        if (!A)
            msg = "out of memory";
        tg__big_free(tmp);
    }
    tg__free(blk);
    if (msg) {
        tg__nd_free(c);
        return tg_error(SYRK ": %s", msg);
    }
    if (!all_int)
        mirror(c->data, m);
    tg_value *v = tg__nd_value(c);
    return v ? v : tg_error(SYRK ": %s", tg_last_error());
}

void tg__array_register_linalg(void)
{
    /* One BLAS thread per task: the scheduler owns the parallelism. */
    openblas_set_num_threads(1);
    tg__array_register(TG__T_MATMUL, MATMUL, matmul_task);
    tg__array_register(TG__T_SYRK, SYRK, syrk_task);
}

/* ---- the builder ----------------------------------------------------- */

/* An operand as (source array, transposed?): a pending transpose of a
 * 2-d array is read in place. */
static tg_array *source(tg_array *x, bool *t)
{
    *t = x->perm_of && !x->blocks && x->perm[0] == 1;
    return x->perm_of && !x->blocks ? x->perm_of : x;
}

/* Chunk (r, c) of 2-d array x; of its transpose when t. */
static tg_value *chunk_at(tg_array *x, tg_value **blocks, bool t, size_t r,
                          size_t c)
{
    return t ? blocks[c * x->grid[1] + r] : blocks[r * x->grid[1] + c];
}

/* x rechunked so that its axis ax has chunks of extent c. */
static tg_array *with_chunk(tg_array *x, size_t ax, size_t c)
{
    if (x->chunk[ax] == c || x->shape[ax] <= 1)
        return x;
    size_t want[2] = {x->chunk[0], x->chunk[1]};
    want[ax] = c;
    return tg__array_rechunk_to(x, want);
}

/* Records block (i, j) of the product. */
static tg_value *product_block(tg_array *out, tg_array *A, tg_value **ab,
                               bool ta, tg_array *B, tg_value **bb, bool tb,
                               size_t i, size_t j, size_t nk)
{
    tg_value *small[32], **args = small;
    if (2 * nk > 32 && !(args = tg__malloc(2 * nk * sizeof *args)))
        return NULL;
    for (size_t kk = 0; kk < nk; kk++) {
        args[kk] = chunk_at(A, ab, ta, i, kk);
        args[nk + kk] = chunk_at(B, bb, tb, kk, j);
    }
    size_t bs[2];
    tg__array_block_box(out, i * out->grid[1] + j, bs, NULL);
    tg_value *params =
        tg_list(5, tg_int(ta), tg_int(tb), tg_int((int64_t)bs[0]),
                tg_int((int64_t)bs[1]), tg_int((int64_t)nk));
    tg_value *d = tg__array_call(out->g, TG__T_MATMUL, params, 2 * nk, args);
    if (args != small)
        tg__free(args);
    return d;
}

/* Records the symmetric product A A^T (ta 0) or A^T A (ta 1).  Its
 * chunks are computed off the diagonal first, each product beside its
 * mirror, and the diagonal (half the flops each) last: the last tasks of
 * a run are then the short ones, and a pool's threads finish together. */
static tg_array *symmetric(tg_array *out, tg_array *A, tg_value **ab, bool ta,
                           size_t nk)
{
    size_t g = out->grid[0], k = 0;
    if (!(out->order = tg__malloc(g * g * sizeof *out->order)))
        return NULL;
    for (size_t i = 0; i < g; i++)
        for (size_t j = i + 1; j < g; j++) {
            out->order[k++] = (uint32_t)(i * g + j);
            out->order[k++] = (uint32_t)(j * g + i);
        }
    for (size_t i = 0; i < g; i++)
        out->order[k++] = (uint32_t)(i * g + i);
    for (size_t i = 0; i < g; i++) {
        tg_value *small[32], **args = small;
        if (nk > 32 && !(args = tg__malloc(nk * sizeof *args)))
            return NULL;
        for (size_t kk = 0; kk < nk; kk++)
            args[kk] = chunk_at(A, ab, ta, i, kk);
        tg_value *params = tg_list(2, tg_int(ta), tg_int((int64_t)nk));
        out->blocks[i * g + i] =
            tg__array_call(out->g, TG__T_SYRK, params, nk, args);
        if (args != small)
            tg__free(args);
        if (!out->blocks[i * g + i])
            return NULL;
        for (size_t j = i + 1; j < g; j++) {
            tg_value *up = product_block(out, A, ab, ta, A, ab, !ta, i, j, nk);
            if (!(out->blocks[i * g + j] = up))
                return NULL;
            tg_value *tp = tg_list(1, tg__sizes_value(2, (size_t[]){1, 0}));
            if (!(out->blocks[j * g + i] =
                      tg__array_call(out->g, TG__T_TRANSPOSE, tp, 1, &up)))
                return NULL;
        }
    }
    return out;
}

tg_array *tg_array_matmul(tg_array *a, tg_array *b)
{
    const char *fn = "tg_array_matmul";
    tg_array *in[2] = {a, b};
    if (tg__array_check(fn, 2, in) != 0)
        return NULL;
    char as[160], bs[160];
    tg__shape_str(as, sizeof as, a->ndim, a->shape);
    tg__shape_str(bs, sizeof bs, b->ndim, b->shape);
    if (a->ndim != 2 || b->ndim != 2)
        return tg__seterr_null(TG_EINVAL,
                               "%s: operands of shapes %s and %s "
                               "are not both 2-d",
                               fn, as, bs);
    if (a->shape[1] != b->shape[0])
        return tg__seterr_null(TG_EINVAL,
                               "%s: shapes %s and %s are not "
                               "aligned: %zu (dim 1) != %zu (dim "
                               "0)",
                               fn, as, bs, a->shape[1], b->shape[0]);
    bool ta, tb;
    tg_array *A = source(a, &ta), *B = source(b, &tb);
    bool sym = A == B && ta != tb;
    size_t kc = A->chunk[ta ? 0 : 1];
    if (!sym && !(B = with_chunk(B, tb ? 1 : 0, kc)))
        return NULL;
    size_t chunks[2] = {A->chunk[ta ? 1 : 0], B->chunk[tb ? 0 : 1]};
    size_t shape[2] = {a->shape[0], b->shape[1]};
    tg_dtype dt =
        is_int(a->dtype) && is_int(b->dtype) ? TG_DT_INT64 : TG_DT_FLOAT64;
    tg_value **ab = tg__array_blocks(A),
             **bb = ab && !sym ? tg__array_blocks(B) : ab;
    tg_array *out = bb ? tg__array_new(a->g, dt, 2, shape, chunks) : NULL;
    if (!out || tg__array_alloc_blocks(out) != 0)
        return NULL;
    size_t nk = A->grid[ta ? 0 : 1];
    if (sym)
        return symmetric(out, A, ab, ta, nk);
    for (size_t i = 0; i < out->grid[0]; i++)
        for (size_t j = 0; j < out->grid[1]; j++)
            if (!(out->blocks[i * out->grid[1] + j] =
                      product_block(out, A, ab, ta, B, bb, tb, i, j, nk)))
                return NULL;
    return out;
}
