/* array/chain.c - the chain machine: a float64 program that is a chain
 * of steps run 32 elements at a time in vector registers.
 *
 * The tile machine (kernels.c) makes one pass over an L1 buffer per
 * instruction, which costs as much as the arithmetic for cheap ops and
 * keeps the read of the inputs from overlapping with the math.  Most
 * programs users build are chains: a leaf, then steps that are either a
 * unary op or a binary op with a leaf (x * 2 + 1, sqrt(abs(x - y)),
 * min(x / s, 1)).  Such a program compiles here to a list of steps that
 * run on a strip of 32 values held in four 8-wide vectors: the inputs
 * are read once, every step works in registers, and the result is
 * written once - or, for a whole-tile sum, added into the reduction's
 * compensated lanes without being stored at all.
 *
 * Each step computes exactly what the tile machine's loop for that op
 * computes (the same C expression on the same float64 operands, with
 * no contraction into fused multiply-adds under ISO C), so both paths
 * give identical bits, and the fused sum feeds the same lanes in the
 * same order as reduce.c's lanes_sum.
 */
#include <math.h>

#include "array_internal.h"

/* Eight doubles, and the same bits as integers (for masks). */
typedef double vd8 __attribute__((vector_size(64)));
typedef int64_t vi8 __attribute__((vector_size(64)));

#define STRIP 32
/* Inputs are prefetched a tile ahead (bytes): with no other work between
 * its loads a short chain otherwise waits on memory. */
#define PREFETCH 4096

static bool leaf_ok(const tg__ins *x, const tg__eval_spec *s)
{
    if (x->op == TG__OP_CF || x->op == TG__OP_CI)
        return true;
    return x->op == TG__OP_IN && x->i >= 0 && (uint64_t)x->i < s->n_in
           && s->in[x->i]->dtype == TG_DT_FLOAT64;
}

static void set_leaf(tg__chain_step *st, const tg__ins *x)
{
    st->in = x->op == TG__OP_IN ? (int)x->i : -1;
    st->c = x->op == TG__OP_CI ? (double)x->i : x->f;
}

bool tg__chain_compile(tg__chain *c, const tg__eval_spec *s)
{
    const tg__ins *code = s->code;
    size_t n = s->n_code, k = 1;
    c->n = 0;
    c->calls = false;
    if (n == 0 || (s->want >= 0 && s->want != TG_DT_FLOAT64))
        return false;
    /* The first leaf must make the value float64 (an int64 constant
     * would compute in int64 until a float64 operand arrives). */
    if (code[0].op == TG__OP_CI || !leaf_ok(&code[0], s))
        return false;
    c->step[0].op = TG__OP_IN;
    set_leaf(&c->step[0], &code[0]);
    c->n = 1;
    while (k < n) {
        int op = code[k].op;
        tg__chain_step *st = &c->step[c->n];
        switch (op) {
        case TG__OP_TO_F64: k++; continue;
        case TG__OP_NEG:
        case TG__OP_ABS:
        case TG__OP_SQRT:
        case TG__OP_EXP:
        case TG__OP_LOG:
            st->op = (uint8_t)op;
            st->in = -1;
            st->c = 0.0;
            k++;
            break;
        default:
            if (k + 1 >= n || !leaf_ok(&code[k], s))
                return false;
            op = code[k + 1].op;
            if (op != TG__OP_ADD && op != TG__OP_SUB && op != TG__OP_MUL
                && op != TG__OP_DIV && op != TG__OP_POW && op != TG__OP_MIN
                && op != TG__OP_MAX)
                return false;
            st->op = (uint8_t)op;
            set_leaf(st, &code[k]);
            k += 2;
        }
        c->calls |= st->op == TG__OP_EXP || st->op == TG__OP_LOG
                    || st->op == TG__OP_POW;
        c->n++;
    }
    /* A lone leaf is read in place by the tile machine: no pass at all. */
    return c->n > 1;
}

bool tg__chain_fits(const tg__chain *c, const int64_t *st, size_t n)
{
    for (size_t k = 0; k < c->n && n > 1; k++)
        if (c->step[k].in >= 0 && st[c->step[k].in] != 0
            && st[c->step[k].in] != 1)
            return false;
    return true;
}

/* ---- one strip ------------------------------------------------------- */

/* The strip lives in four named vectors a0..a3 (operands in b0..b3), so
 * that the compiler keeps them in registers; E(j) is applied to each. */
#define ALL4(E) E(0) E(1) E(2) E(3)

/* Lane by lane: sqrt vectorises; exp, log and pow call libm for each
 * value, as the tile machine's loops do. */
#define PER_LANE(A, B, EXPR)                                                   \
    for (int l_ = 0; l_ < 8; l_++) {                                           \
        double x = (A)[l_], y = (B)[l_];                                       \
        (void)y;                                                               \
        (A)[l_] = (EXPR);                                                      \
    }

/* NumPy's minimum/maximum as kernels.c computes them (NaN wins): x
 * where x < y (x > y) or x is NaN, else y. */
#define PICK(A, B, CMP)                                                        \
    do {                                                                       \
        vi8 t_ = (vi8)((A)CMP(B)) | (vi8)((A) != (A));                         \
        (A) = (vd8)((t_ & (vi8)(A)) | (~t_ & (vi8)(B)));                       \
    } while (0);

/* *o0..*o3 = the chain over the strip of STRIP values at element at of
 * each input src[i] (its one value where one[i]).  Inlined with calls a
 * constant: a chain without exp, log or pow runs a copy that makes no
 * call, so its vectors stay in registers instead of being saved around
 * the libm calls of the other steps. */
static inline __attribute__((always_inline)) void
run_strip(const tg__chain *c, const double *const *src, const bool *one,
          size_t at, bool calls, vd8 *o0, vd8 *o1, vd8 *o2, vd8 *o3)
{
    const vi8 m = (vi8){0} + INT64_MAX;
    vd8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0, b1, b2, b3;
    for (size_t k = 0; k < c->n; k++) {
        const tg__chain_step *st = &c->step[k];
        int op = st->op;
        if (op == TG__OP_NEG) {
#define E(j) a##j = -a##j;
            ALL4(E)
#undef E
            continue;
        }
        if (op == TG__OP_ABS) {
#define E(j) a##j = (vd8)((vi8)a##j & m);
            ALL4(E)
#undef E
            continue;
        }
        if (op == TG__OP_SQRT) {
#define E(j) PER_LANE(a##j, a##j, sqrt(x))
            ALL4(E)
#undef E
            continue;
        }
        if (calls && (op == TG__OP_EXP || op == TG__OP_LOG)) {
#define E(j) PER_LANE(a##j, a##j, op == TG__OP_EXP ? exp(x) : log(x))
            ALL4(E)
#undef E
            continue;
        }
        /* a leaf: into a0..a3 for step 0, else into b0..b3 */
        if (st->in < 0 || one[st->in]) {
            vd8 v = (vd8){0} + (st->in < 0 ? st->c : src[st->in][0]);
            b0 = b1 = b2 = b3 = v;
        } else {
            const double *p = src[st->in] + at;
#define E(j)                                                                   \
    __builtin_prefetch((const void *)((uintptr_t)(p + 8 * (j)) + PREFETCH));   \
    memcpy(&b##j, p + 8 * (j), sizeof b##j);
            ALL4(E)
#undef E
        }
        switch (k == 0 ? TG__OP_IN : op) {
        case TG__OP_IN:
#define E(j) a##j = b##j;
            ALL4(E)
#undef E
            break;
        case TG__OP_ADD:
#define E(j) a##j = a##j + b##j;
            ALL4(E)
#undef E
            break;
        case TG__OP_SUB:
#define E(j) a##j = a##j - b##j;
            ALL4(E)
#undef E
            break;
        case TG__OP_MUL:
#define E(j) a##j = a##j * b##j;
            ALL4(E)
#undef E
            break;
        case TG__OP_DIV:
#define E(j) a##j = a##j / b##j;
            ALL4(E)
#undef E
            break;
        case TG__OP_MIN:
#define E(j) PICK(a##j, b##j, <)
            ALL4(E)
#undef E
            break;
        case TG__OP_MAX:
#define E(j) PICK(a##j, b##j, >)
            ALL4(E)
#undef E
            break;
        default: /* pow */
            if (calls) {
#define E(j) PER_LANE(a##j, b##j, pow(x, y))
                ALL4(E)
#undef E
            }
        }
    }
    *o0 = a0, *o1 = a1, *o2 = a2, *o3 = a3;
}

/* a = the chain over the last n < STRIP values of tile t, from element
 * at: the inputs it reads there are copied into a zero-padded strip. */
static inline __attribute__((always_inline)) void
run_tail(const tg__tile *t, size_t at, size_t n, vd8 *a)
{
    const tg__chain *c = t->chain;
    const double *src[TG__PROG_MAX_INPUTS];
    double pad[TG__PROG_MAX_INPUTS][STRIP];
    memcpy(src, t->src, sizeof src);
    for (size_t k = 0; k < c->n; k++) {
        int i = c->step[k].in;
        if (i < 0 || t->one[i] || src[i] == pad[i])
            continue;
        memset(pad[i], 0, sizeof pad[i]);
        memcpy(pad[i], t->src[i] + at, n * sizeof(double));
        src[i] = pad[i];
    }
    run_strip(c, src, t->one, 0, true, &a[0], &a[1], &a[2], &a[3]);
}

/* ---- a tile ---------------------------------------------------------- */

TG__CLONES static void chain_run(const tg__tile *t, double *out)
{
    const tg__chain *c = t->chain;
    size_t n = t->n, i = 0;
#define STORE(j) memcpy(out + i + 8 * (j), &a##j, sizeof a##j);
    if (c->calls)
        for (; i + STRIP <= n; i += STRIP) {
            vd8 a0, a1, a2, a3;
            run_strip(c, t->src, t->one, i, true, &a0, &a1, &a2, &a3);
            ALL4(STORE)
        }
    else
        for (; i + STRIP <= n; i += STRIP) {
            vd8 a0, a1, a2, a3;
            run_strip(c, t->src, t->one, i, false, &a0, &a1, &a2, &a3);
            ALL4(STORE)
        }
#undef STORE
    if (i < n) {
        vd8 a[4];
        run_tail(t, i, n - i, a);
        memcpy(out + i, a, (n - i) * sizeof(double));
    }
}

/* (S, C) += X lane by lane: TwoSum, as reduce.c's LANE. */
#define VLANE(S, C, X)                                                         \
    do {                                                                       \
        vd8 t_ = (S) + (X), bp_ = t_ - (S);                                    \
        (C) += ((S) - (t_ - bp_)) + ((X)-bp_);                                 \
        (S) = t_;                                                              \
    } while (0)

TG__CLONES static void chain_sum(const tg__tile *t, double *ls, double *lc)
{
    const tg__chain *c = t->chain;
    vd8 s0, s1, s2, s3, e0, e1, e2, e3;
#define E(j)                                                                   \
    memcpy(&s##j, ls + 8 * (j), sizeof s##j);                                  \
    memcpy(&e##j, lc + 8 * (j), sizeof e##j);
    ALL4(E)
#undef E
    size_t n = t->n, i = 0;
#define ADD(j) VLANE(s##j, e##j, a##j);
    if (c->calls)
        for (; i + STRIP <= n; i += STRIP) {
            vd8 a0, a1, a2, a3;
            run_strip(c, t->src, t->one, i, true, &a0, &a1, &a2, &a3);
            ALL4(ADD)
        }
    else
        for (; i + STRIP <= n; i += STRIP) {
            vd8 a0, a1, a2, a3;
            run_strip(c, t->src, t->one, i, false, &a0, &a1, &a2, &a3);
            ALL4(ADD)
        }
#undef ADD
#define E(j)                                                                   \
    memcpy(ls + 8 * (j), &s##j, sizeof s##j);                                  \
    memcpy(lc + 8 * (j), &e##j, sizeof e##j);
    ALL4(E)
#undef E
    if (i < n) {
        vd8 a[4];
        double v[STRIP];
        run_tail(t, i, n - i, a);
        memcpy(v, a, sizeof v);
        /* the tail goes into lane 0, one value at a time (lanes_sum) */
        for (size_t j = 0; j < n - i; j++)
            tg__two_sum(&ls[0], &lc[0], v[j]);
    }
}

/* (The clones are static: a global cloned function would export its
 * resolver from the library.) */
void tg__chain_run(const tg__tile *t, double *out)
{
    chain_run(t, out);
}

void tg__chain_sum(const tg__tile *t, double *ls, double *lc)
{
    chain_sum(t, ls, lc);
}

const void *tg__tile_values(const tg__tile *t)
{
    if (t->p)
        return t->p;
    tg__chain_run(t, t->scratch);
    return t->scratch;
}
