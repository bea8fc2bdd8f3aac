/* array/kernels.c - fused elementwise programs and the tile machine that
 * runs them; the "tg.array.elemwise" and "tg.array.check" tasks.
 *
 * A program is a postfix list of instructions over the chunks of its
 * inputs (array_internal.h).  tg__eval walks the output chunk in C order
 * a tile of TILE elements at a time: each instruction reads and writes
 * small per-stack-slot buffers that stay in L1, inputs are read in
 * place (or as scalars where they broadcast), and only the final tile
 * leaves the machine - so a chain of n operations is one pass over
 * memory instead of n.  Before the walk, axes of extent 1 are dropped
 * and neighbouring axes merged wherever every input (and auxiliary
 * position, for reductions) is contiguous across them, so that a
 * broadcast-free chunk is one long run.  A program that is a float64
 * chain (chain.c) runs instead 32 values at a time in vector registers,
 * and hands its tiles to sinks that can fuse them (the reductions' sum,
 * the output chunk) still pending, so that they are never stored.
 *
 * Types follow NumPy: int64 op int64 stays int64 (wrapping, computed
 * on unsigned values so that overflow is defined), anything with a
 * float64 is float64, bool counts as int64 in arithmetic, div and the
 * math functions give float64, comparisons give bool.
 */
#include <math.h>
#include <stdio.h>

#include "array_internal.h"

#define TILE 512
/* A chain's pending tile handed to a sink that fuses it: a multiple of
 * TILE, so that its tiles start where the tile machine's do. */
#define CHAIN_TILE (4 * TILE)

/* ---- types ----------------------------------------------------------- */

static int arity(int op)
{
    if (op == TG__OP_IN || op == TG__OP_CF || op == TG__OP_CI)
        return 0;
    if (op == TG__OP_WHERE)
        return 3;
    if (op >= TG__OP_ADD && op <= TG__OP_NE)
        return 2;
    return 1;
}

static const char *op_name(int op)
{
    static const char *const names[] = {
        "?",   "in",  "float", "int", "add", "sub",     "mul",   "div", "pow",
        "min", "max", "lt",    "le",  "gt",  "ge",      "eq",    "ne",  "where",
        "neg", "abs", "sqrt",  "exp", "log", "float64", "int64", "bool"};
    return op > 0 && op < TG__OP_END ? names[op] : "?";
}

tg_dtype tg__promote(tg_dtype a, tg_dtype b)
{
    return a == TG_DT_FLOAT64 || b == TG_DT_FLOAT64 ? TG_DT_FLOAT64
                                                    : TG_DT_INT64;
}

static bool is_cmp(int op)
{
    return op >= TG__OP_LT && op <= TG__OP_NE;
}

/* The dtype an op computes in (its operands are converted to it). */
static tg_dtype compute_type(int op, tg_dtype a, tg_dtype b)
{
    switch (op) {
    case TG__OP_DIV:
    case TG__OP_SQRT:
    case TG__OP_EXP:
    case TG__OP_LOG:
    case TG__OP_TO_F64: return TG_DT_FLOAT64;
    case TG__OP_TO_I64: return TG_DT_INT64;
    case TG__OP_TO_BOOL: return TG_DT_BOOL;
    case TG__OP_NEG:
    case TG__OP_ABS: return a == TG_DT_FLOAT64 ? TG_DT_FLOAT64 : TG_DT_INT64;
    default: return tg__promote(a, b);
    }
}

/* The dtype of op's result given its operands'. */
static tg_dtype result_type(int op, tg_dtype a, tg_dtype b, tg_dtype c)
{
    if (is_cmp(op))
        return TG_DT_BOOL;
    if (op == TG__OP_WHERE)
        return b == TG_DT_BOOL && c == TG_DT_BOOL ? TG_DT_BOOL
                                                  : tg__promote(b, c);
    return compute_type(op, a, b);
}

const char *tg__prog_check(const tg__ins *code, size_t n_code,
                           const tg_dtype *in_types, size_t n_inputs,
                           tg_dtype *out)
{
    static _Thread_local char msg[160];
    tg_dtype st[TG__PROG_MAX_STACK];
    size_t d = 0;
    if (n_code == 0 || n_code > TG__PROG_MAX_CODE) {
        snprintf(msg, sizeof msg, "program of %zu instructions (1 to %d)",
                 n_code, TG__PROG_MAX_CODE);
        return msg;
    }
    for (size_t k = 0; k < n_code; k++) {
        int op = code[k].op, n = arity(op);
        if (op <= 0 || op >= TG__OP_END) {
            snprintf(msg, sizeof msg, "instruction %zu: unknown op %d", k, op);
            return msg;
        }
        if (n == 0 && d == TG__PROG_MAX_STACK) {
            snprintf(msg, sizeof msg, "program deeper than %d values",
                     TG__PROG_MAX_STACK);
            return msg;
        }
        if ((size_t)n > d) {
            snprintf(msg, sizeof msg, "instruction %zu (%s) lacks operands", k,
                     op_name(op));
            return msg;
        }
        if (op == TG__OP_IN) {
            if (code[k].i < 0 || (uint64_t)code[k].i >= n_inputs) {
                snprintf(msg, sizeof msg,
                         "instruction %zu reads input %lld of %zu", k,
                         (long long)code[k].i, n_inputs);
                return msg;
            }
            st[d++] = in_types[code[k].i];
        } else if (op == TG__OP_CF) {
            st[d++] = TG_DT_FLOAT64;
        } else if (op == TG__OP_CI) {
            st[d++] = TG_DT_INT64;
        } else {
            tg_dtype a = st[d - (size_t)n];
            tg_dtype b = n > 1 ? st[d - (size_t)n + 1] : a;
            tg_dtype c = n > 2 ? st[d - 1] : b;
            d -= (size_t)n;
            st[d++] = result_type(op, a, b, c);
        }
    }
    if (d != 1) {
        snprintf(msg, sizeof msg, "program leaves %zu values, not 1", d);
        return msg;
    }
    *out = st[0];
    return NULL;
}

/* The deepest the stack gets running a checked program. */
static size_t prog_depth(const tg__ins *code, size_t n_code)
{
    size_t d = 0, max = 0;
    for (size_t k = 0; k < n_code; k++) {
        int n = arity(code[k].op);
        d = n == 0 ? d + 1 : d - (size_t)n + 1;
        max = d > max ? d : max;
    }
    return max;
}

tg_value *tg__prog_value(const tg__ins *code, size_t n_code)
{
    tg_value *items[2 * TG__PROG_MAX_CODE];
    size_t n = 0;
    for (size_t k = 0; k < n_code && k < TG__PROG_MAX_CODE; k++) {
        items[n++] = tg_int(code[k].op);
        if (code[k].op == TG__OP_IN || code[k].op == TG__OP_CI)
            items[n++] = tg_int(code[k].i);
        else if (code[k].op == TG__OP_CF)
            items[n++] = tg_float(code[k].f);
    }
    return tg_list_from(n, items);
}

const char *tg__prog_parse(const tg_value *list, tg__ins *code, size_t *n_code)
{
    static _Thread_local char msg[120];
    size_t n = tg_list_len(list), k = 0;
    for (size_t i = 0; i < n; k++) {
        const tg_value *v = tg_list_get(list, i++);
        if (k == TG__PROG_MAX_CODE || tg_typeof(v) != TG_INT) {
            snprintf(msg, sizeof msg, "program item %zu is not an op", i - 1);
            return msg;
        }
        code[k] = (tg__ins){(int)tg_as_int(v), 0, 0.0};
        if (tg_as_int(v) <= 0 || tg_as_int(v) >= TG__OP_END) {
            snprintf(msg, sizeof msg, "program item %zu: unknown op %lld",
                     i - 1, (long long)tg_as_int(v));
            return msg;
        }
        if (arity(code[k].op) != 0)
            continue;
        const tg_value *x = tg_list_get(list, i++);
        tg_type want = code[k].op == TG__OP_CF ? TG_FLOAT : TG_INT;
        if (tg_typeof(x) != want) {
            snprintf(msg, sizeof msg, "program item %zu: operand missing", i);
            return msg;
        }
        code[k].i = tg_as_int(x);
        code[k].f = tg_as_float(x);
    }
    *n_code = k;
    return NULL;
}

/* ---- conversions ----------------------------------------------------- */

/* float64 to int64 as C truncates, with NaN and out-of-range values
 * (undefined in C) pinned to INT64_MIN, as NumPy does on x86. */
static inline int64_t f2i(double x)
{
    if (x >= -9223372036854775808.0 && x < 9223372036854775808.0)
        return (int64_t)x;
    return INT64_MIN;
}

void tg__convert(void *dst, tg_dtype to, const void *src, tg_dtype from,
                 size_t n)
{
    if (to == from) {
        if (dst != src)
            memmove(dst, src, n * tg__nd_itemsize(to));
        return;
    }
    /* Widening from bool runs backwards so that it may work in place. */
    if (from == TG_DT_BOOL) {
        const uint8_t *s = src;
        for (size_t i = n; i-- > 0;) {
            if (to == TG_DT_FLOAT64)
                ((double *)dst)[i] = s[i] ? 1.0 : 0.0;
            else
                ((int64_t *)dst)[i] = s[i] ? 1 : 0;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (from == TG_DT_FLOAT64) {
            double x = ((const double *)src)[i];
            if (to == TG_DT_INT64)
                ((int64_t *)dst)[i] = f2i(x);
            else
                ((uint8_t *)dst)[i] = x != 0.0;
        } else {
            int64_t x = ((const int64_t *)src)[i];
            if (to == TG_DT_FLOAT64)
                ((double *)dst)[i] = (double)x;
            else
                ((uint8_t *)dst)[i] = x != 0;
        }
    }
}

/* ---- vector kernels -------------------------------------------------- */

/* Wrapping int64 arithmetic, on unsigned values (defined behaviour). */
static inline int64_t wadd(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
static inline int64_t wsub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}
static inline int64_t wmul(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a * (uint64_t)b);
}
/* x ** y for y >= 0, wrapping, by squaring. */
static inline int64_t ipow(int64_t x, int64_t y)
{
    uint64_t r = 1, b = (uint64_t)x;
    for (uint64_t e = (uint64_t)y; e; e >>= 1, b *= b)
        if (e & 1)
            r *= b;
    return (int64_t)r;
}
/* NumPy's minimum/maximum: NaN wins. */
static inline double fmin_nan(double x, double y)
{
    return x < y || x != x ? x : y;
}
static inline double fmax_nan(double x, double y)
{
    return x > y || x != x ? x : y;
}

/* Three loops per binary op: vector-vector, vector-scalar and
 * scalar-vector.  The machine never writes in place (each stack slot
 * has two buffers), so every pointer is restrict and the loops
 * vectorise without run-time overlap checks. */
#define BINOP(NAME, T, R, EXPR)                                                \
    TG__CLONES static void NAME##_vv(R *restrict o, const T *restrict a,       \
                                     const T *restrict b, size_t n)            \
    {                                                                          \
        for (size_t i = 0; i < n; i++) {                                       \
            T x = a[i], y = b[i];                                              \
            o[i] = (R)(EXPR);                                                  \
        }                                                                      \
    }                                                                          \
    TG__CLONES static void NAME##_vs(R *restrict o, const T *restrict a, T y,  \
                                     size_t n)                                 \
    {                                                                          \
        for (size_t i = 0; i < n; i++) {                                       \
            T x = a[i];                                                        \
            o[i] = (R)(EXPR);                                                  \
        }                                                                      \
    }                                                                          \
    TG__CLONES static void NAME##_sv(R *restrict o, T x, const T *restrict b,  \
                                     size_t n)                                 \
    {                                                                          \
        for (size_t i = 0; i < n; i++) {                                       \
            T y = b[i];                                                        \
            o[i] = (R)(EXPR);                                                  \
        }                                                                      \
    }                                                                          \
    static inline R NAME##_ss(T x, T y)                                        \
    {                                                                          \
        return (R)(EXPR);                                                      \
    }

BINOP(fadd, double, double, x + y)
BINOP(fsub, double, double, x - y)
BINOP(fmul, double, double, x *y)
BINOP(fdiv, double, double, x / y)
BINOP(fpow, double, double, pow(x, y))
BINOP(fmn, double, double, fmin_nan(x, y))
BINOP(fmx, double, double, fmax_nan(x, y))
BINOP(flt, double, uint8_t, x < y)
BINOP(fle, double, uint8_t, x <= y)
BINOP(fgt, double, uint8_t, x > y)
BINOP(fge, double, uint8_t, x >= y)
BINOP(feq, double, uint8_t, x == y)
BINOP(fne, double, uint8_t, x != y)
BINOP(iadd, int64_t, int64_t, wadd(x, y))
BINOP(isub, int64_t, int64_t, wsub(x, y))
BINOP(imul, int64_t, int64_t, wmul(x, y))
BINOP(ipw, int64_t, int64_t, y < 0 ? 0 : ipow(x, y))
BINOP(imn, int64_t, int64_t, x < y ? x : y)
BINOP(imx, int64_t, int64_t, x > y ? x : y)
BINOP(ilt, int64_t, uint8_t, x < y)
BINOP(ile, int64_t, uint8_t, x <= y)
BINOP(igt, int64_t, uint8_t, x > y)
BINOP(ige, int64_t, uint8_t, x >= y)
BINOP(ieq, int64_t, uint8_t, x == y)
BINOP(ine, int64_t, uint8_t, x != y)

#define UNOP(NAME, T, EXPR)                                                    \
    TG__CLONES static void NAME##_v(T *restrict o, const T *restrict a,        \
                                    size_t n)                                  \
    {                                                                          \
        for (size_t i = 0; i < n; i++) {                                       \
            T x = a[i];                                                        \
            o[i] = (EXPR);                                                     \
        }                                                                      \
    }                                                                          \
    static inline T NAME##_s(T x)                                              \
    {                                                                          \
        return (EXPR);                                                         \
    }

UNOP(fneg, double, -x)
UNOP(fabs_, double, fabs(x))
UNOP(fsqrt, double, sqrt(x))
UNOP(fexp, double, exp(x))
UNOP(flog, double, log(x))
UNOP(ineg, int64_t, wsub(0, x))
UNOP(iabs, int64_t, x < 0 ? wsub(0, x) : x)

/* A binary op's four loops, by name, for dispatch. */
typedef struct binop {
    void (*vv)(void *, const void *, const void *, size_t);
    void (*vs)(void *, const void *, const void *, size_t);
    void (*sv)(void *, const void *, const void *, size_t);
    void (*ss)(void *, const void *, const void *);
} binop;

/* Adapters from the typed loops to binop's untyped signatures. */
#define ADAPT(NAME, T, R)                                                      \
    static void NAME##_avv(void *o, const void *a, const void *b, size_t n)    \
    {                                                                          \
        NAME##_vv(o, a, b, n);                                                 \
    }                                                                          \
    static void NAME##_avs(void *o, const void *a, const void *b, size_t n)    \
    {                                                                          \
        NAME##_vs(o, a, *(const T *)b, n);                                     \
    }                                                                          \
    static void NAME##_asv(void *o, const void *a, const void *b, size_t n)    \
    {                                                                          \
        NAME##_sv(o, *(const T *)a, b, n);                                     \
    }                                                                          \
    static void NAME##_ass(void *o, const void *a, const void *b)              \
    {                                                                          \
        *(R *)o = NAME##_ss(*(const T *)a, *(const T *)b);                     \
    }                                                                          \
    static const binop NAME##_op = {NAME##_avv, NAME##_avs, NAME##_asv,        \
                                    NAME##_ass};

ADAPT(fadd, double, double)
ADAPT(fsub, double, double)
ADAPT(fmul, double, double)
ADAPT(fdiv, double, double)
ADAPT(fpow, double, double)
ADAPT(fmn, double, double)
ADAPT(fmx, double, double)
ADAPT(flt, double, uint8_t)
ADAPT(fle, double, uint8_t)
ADAPT(fgt, double, uint8_t)
ADAPT(fge, double, uint8_t)
ADAPT(feq, double, uint8_t)
ADAPT(fne, double, uint8_t)
ADAPT(iadd, int64_t, int64_t)
ADAPT(isub, int64_t, int64_t)
ADAPT(imul, int64_t, int64_t)
ADAPT(ipw, int64_t, int64_t)
ADAPT(imn, int64_t, int64_t)
ADAPT(imx, int64_t, int64_t)
ADAPT(ilt, int64_t, uint8_t)
ADAPT(ile, int64_t, uint8_t)
ADAPT(igt, int64_t, uint8_t)
ADAPT(ige, int64_t, uint8_t)
ADAPT(ieq, int64_t, uint8_t)
ADAPT(ine, int64_t, uint8_t)

/* The loops of op computing in dtype t (float64 or int64). */
static const binop *binop_of(int op, tg_dtype t)
{
    bool f = t == TG_DT_FLOAT64;
    switch (op) {
    case TG__OP_ADD: return f ? &fadd_op : &iadd_op;
    case TG__OP_SUB: return f ? &fsub_op : &isub_op;
    case TG__OP_MUL: return f ? &fmul_op : &imul_op;
    case TG__OP_DIV: return &fdiv_op;
    case TG__OP_POW: return f ? &fpow_op : &ipw_op;
    case TG__OP_MIN: return f ? &fmn_op : &imn_op;
    case TG__OP_MAX: return f ? &fmx_op : &imx_op;
    case TG__OP_LT: return f ? &flt_op : &ilt_op;
    case TG__OP_LE: return f ? &fle_op : &ile_op;
    case TG__OP_GT: return f ? &fgt_op : &igt_op;
    case TG__OP_GE: return f ? &fge_op : &ige_op;
    case TG__OP_EQ: return f ? &feq_op : &ieq_op;
    case TG__OP_NE: return f ? &fne_op : &ine_op;
    }
    return NULL;
}

/* ---- the tile machine ------------------------------------------------ */

/* A stack slot's value for the current tile: n values at p, or one
 * scalar standing for all of them. */
typedef struct reg {
    tg_dtype dt;
    bool scalar;
    const void *p;
    union {
        double f;
        int64_t i;
        uint8_t b;
    } s;
} reg;

/* One run of the machine. */
typedef struct machine {
    const tg__eval_spec *spec;
    tg_dtype in_dt[TG__PROG_MAX_INPUTS];
    size_t m;               /* merged axes */
    size_t ext[TG__ND_MAX]; /* their extents */
    int64_t stride[TG__PROG_MAX_INPUTS + TG__EVAL_MAX_AUX][TG__ND_MAX];
    uint8_t *buf; /* TG__PROG_MAX_STACK slots of two TILE x 8 buffers */
    bool neg_pow; /* an int64 pow had a negative exponent */
    tg_dtype result;
    bool use_chain; /* the program runs on the chain machine (chain.c) */
    tg__chain chain;
} machine;

/* The buffer of stack slot k that does not hold cur: results never
 * overwrite their operands. */
static inline void *slot(machine *mc, size_t k, const void *cur)
{
    uint8_t *b = mc->buf + k * 2 * TILE * 8;
    return cur == b ? b + TILE * 8 : b;
}

/* Makes r hold dtype `to` (converting into the slot's buffer). */
static void to_type(machine *mc, size_t k, reg *r, tg_dtype to, size_t n)
{
    if (r->dt == to)
        return;
    if (r->scalar) {
        uint8_t tmp[8];
        memcpy(tmp, &r->s, 8);
        tg__convert(&r->s, to, tmp, r->dt, 1);
    } else {
        void *o = slot(mc, k, r->p);
        tg__convert(o, to, r->p, r->dt, n);
        r->p = o;
    }
    r->dt = to;
}

/* Writes r's scalar n times into slot k and points r there. */
static void spread(machine *mc, size_t k, reg *r, size_t n)
{
    if (!r->scalar)
        return;
    void *o = slot(mc, k, NULL);
    if (r->dt == TG_DT_BOOL)
        memset(o, r->s.b, n);
    else
        for (size_t i = 0; i < n; i++)
            memcpy((uint8_t *)o + 8 * i, &r->s, 8);
    r->p = o;
    r->scalar = false;
}

/* Pushes input i at element position pos (its inner stride is st). */
static void load(machine *mc, size_t k, reg *r, size_t i, int64_t pos,
                 int64_t st, size_t n)
{
    const tg__nd *a = mc->spec->in[i];
    size_t item = tg__nd_itemsize(a->dtype);
    const uint8_t *p = (const uint8_t *)a->data + (size_t)pos * item;
    r->dt = a->dtype;
    r->scalar = st == 0 || n == 1;
    if (r->scalar) {
        memset(&r->s, 0, sizeof r->s);
        memcpy(&r->s, p, item);
    } else if (st == 1) {
        r->p = p;
    } else {
        uint8_t *o = slot(mc, k, NULL);
        for (size_t j = 0; j < n; j++)
            memcpy(o + j * item, p + (size_t)((int64_t)j * st) * item, item);
        r->p = o;
    }
}

static void unary(machine *mc, size_t k, reg *r, int op, size_t n)
{
    tg_dtype t = compute_type(op, r->dt, r->dt);
    to_type(mc, k, r, t, n);
    if (op == TG__OP_TO_F64 || op == TG__OP_TO_I64 || op == TG__OP_TO_BOOL)
        return;
    bool f = t == TG_DT_FLOAT64;
    if (r->scalar && f) {
        switch (op) {
        case TG__OP_NEG: r->s.f = fneg_s(r->s.f); break;
        case TG__OP_ABS: r->s.f = fabs__s(r->s.f); break;
        case TG__OP_SQRT: r->s.f = fsqrt_s(r->s.f); break;
        case TG__OP_EXP: r->s.f = fexp_s(r->s.f); break;
        case TG__OP_LOG: r->s.f = flog_s(r->s.f); break;
        }
        return;
    }
    if (r->scalar) {
        r->s.i = op == TG__OP_NEG ? ineg_s(r->s.i) : iabs_s(r->s.i);
        return;
    }
    void *o = slot(mc, k, r->p);
    switch (op) {
    case TG__OP_NEG: f ? fneg_v(o, r->p, n) : ineg_v(o, r->p, n); break;
    case TG__OP_ABS: f ? fabs__v(o, r->p, n) : iabs_v(o, r->p, n); break;
    case TG__OP_SQRT: fsqrt_v(o, r->p, n); break;
    case TG__OP_EXP: fexp_v(o, r->p, n); break;
    case TG__OP_LOG: flog_v(o, r->p, n); break;
    }
    r->p = o;
}

/* Notes an int64 pow with a negative exponent (NumPy refuses it). */
static void check_pow(machine *mc, const reg *b, size_t n)
{
    if (b->scalar) {
        mc->neg_pow |= b->s.i < 0;
        return;
    }
    const int64_t *e = b->p;
    for (size_t i = 0; i < n; i++)
        mc->neg_pow |= e[i] < 0;
}

static void binary(machine *mc, size_t k, reg *a, reg *b, int op, size_t n)
{
    tg_dtype t = compute_type(op, a->dt, b->dt);
    to_type(mc, k, a, t, n);
    to_type(mc, k + 1, b, t, n);
    if (op == TG__OP_POW && t == TG_DT_INT64)
        check_pow(mc, b, n);
    const binop *f = binop_of(op, t);
    tg_dtype rt = is_cmp(op) ? TG_DT_BOOL : t;
    if (a->scalar && b->scalar) {
        union {
            double f;
            int64_t i;
            uint8_t b;
        } r;
        f->ss(&r, &a->s, &b->s);
        memset(&a->s, 0, sizeof a->s);
        memcpy(&a->s, &r, rt == TG_DT_BOOL ? 1 : 8);
    } else {
        void *o = slot(mc, k, a->scalar ? NULL : a->p);
        if (a->scalar)
            f->sv(o, &a->s, b->p, n);
        else if (b->scalar)
            f->vs(o, a->p, &b->s, n);
        else
            f->vv(o, a->p, b->p, n);
        a->p = o;
        a->scalar = false;
    }
    a->dt = rt;
}

static void where(machine *mc, size_t k, reg *c, reg *a, reg *b, size_t n)
{
    tg_dtype t = result_type(TG__OP_WHERE, c->dt, a->dt, b->dt);
    to_type(mc, k, c, TG_DT_BOOL, n);
    to_type(mc, k + 1, a, t, n);
    to_type(mc, k + 2, b, t, n);
    if (c->scalar) {
        /* The chosen value moves to slot k: a stack position never
         * points into another position's buffer. */
        bool pick = c->s.b;
        size_t from = pick ? k + 1 : k + 2;
        *c = pick ? *a : *b;
        const uint8_t *lo = mc->buf + from * 2 * TILE * 8;
        const uint8_t *p = c->p;
        if (!c->scalar && p >= lo && p < lo + 2 * TILE * 8) {
            void *o = slot(mc, k, NULL);
            memcpy(o, c->p, n * tg__nd_itemsize(t));
            c->p = o;
        }
        return;
    }
    spread(mc, k + 1, a, n);
    spread(mc, k + 2, b, n);
    const uint8_t *cp = c->p;
    size_t w = tg__nd_itemsize(t);
    uint8_t *o = slot(mc, k, c->p);
    const uint8_t *ap = a->p, *bp = b->p;
    if (w == 8) {
        for (size_t i = 0; i < n; i++) {
            uint64_t x, y;
            memcpy(&x, ap + 8 * i, 8);
            memcpy(&y, bp + 8 * i, 8);
            x = cp[i] ? x : y;
            memcpy(o + 8 * i, &x, 8);
        }
    } else {
        for (size_t i = 0; i < n; i++)
            o[i] = cp[i] ? ap[i] : bp[i];
    }
    c->p = o;
    c->dt = t;
}

/* Runs the program on one tile of n elements whose inputs start at
 * pos[i] with inner strides st[i]; the result is in *out. */
static void run_tile(machine *mc, const int64_t *pos, const int64_t *st,
                     size_t n, reg *out)
{
    const tg__eval_spec *s = mc->spec;
    reg stack[TG__PROG_MAX_STACK];
    size_t d = 0;
    for (size_t k = 0; k < s->n_code; k++) {
        const tg__ins *x = &s->code[k];
        switch (x->op) {
        case TG__OP_IN:
            load(mc, d, &stack[d], (size_t)x->i, pos[x->i], st[x->i], n);
            d++;
            break;
        case TG__OP_CF:
            stack[d] = (reg){.dt = TG_DT_FLOAT64, .scalar = true};
            stack[d++].s.f = x->f;
            break;
        case TG__OP_CI:
            stack[d] = (reg){.dt = TG_DT_INT64, .scalar = true};
            stack[d++].s.i = x->i;
            break;
        case TG__OP_WHERE:
            d -= 2;
            where(mc, d - 1, &stack[d - 1], &stack[d], &stack[d + 1], n);
            break;
        default:
            if (arity(x->op) == 1) {
                unary(mc, d - 1, &stack[d - 1], x->op, n);
            } else {
                d--;
                binary(mc, d - 1, &stack[d - 1], &stack[d], x->op, n);
            }
        }
    }
    *out = stack[0];
    if (s->want >= 0)
        to_type(mc, 0, out, (tg_dtype)s->want, n);
    spread(mc, 0, out, n);
}

/* Input i's element strides over the domain's axes: its chunk aligns
 * with the domain's last axes, and broadcasts where its extent is 1.
 * -1 with a message when it does not fit. */
static int input_strides(const tg__eval_spec *s, size_t i, int64_t *st,
                         char *err, size_t len)
{
    const tg__nd *a = s->in[i];
    size_t off = s->ndim - a->ndim;
    bool fits = a->ndim <= s->ndim;
    int64_t run = 1;
    for (size_t k = s->ndim; fits && k-- > 0;) {
        st[k] = 0;
        if (k < off)
            continue;
        size_t e = a->shape[k - off];
        fits = e == s->shape[k] || e == 1;
        st[k] = e == 1 ? 0 : run;
        run *= (int64_t)e;
    }
    if (!fits) {
        char as[128], ds[128];
        tg__shape_str(as, sizeof as, a->ndim, a->shape);
        tg__shape_str(ds, sizeof ds, s->ndim, s->shape);
        snprintf(err, len,
                 "input %zu has shape %s, which does not broadcast "
                 "to the chunk's %s",
                 i, as, ds);
        return -1;
    }
    return 0;
}

/* Drops axes of extent 1 and merges neighbours that every stride vector
 * crosses contiguously. */
static void merge_axes(machine *mc, size_t n_vec, bool no_merge)
{
    const tg__eval_spec *s = mc->spec;
    size_t m = 0;
    for (size_t k = 0; k < s->ndim; k++) {
        if (s->shape[k] == 1 && !no_merge)
            continue;
        bool join = m > 0 && !no_merge;
        for (size_t v = 0; join && v < n_vec; v++)
            join =
                mc->stride[v][m - 1] == mc->stride[v][k] * (int64_t)s->shape[k];
        if (join) {
            mc->ext[m - 1] *= s->shape[k];
            for (size_t v = 0; v < n_vec; v++)
                mc->stride[v][m - 1] = mc->stride[v][k];
        } else {
            mc->ext[m] = s->shape[k];
            for (size_t v = 0; v < n_vec; v++)
                mc->stride[v][m] = mc->stride[v][k];
            m++;
        }
    }
    if (m == 0) {
        mc->ext[0] = 1;
        for (size_t v = 0; v < n_vec; v++)
            mc->stride[v][0] = 0;
        m = 1;
    }
    mc->m = m;
}

/* The pending tile of n values at pos (the chain machine's), computed
 * at once unless the sink takes it pending. */
static void chain_tile(machine *mc, const int64_t *pos, const int64_t *st,
                       size_t n, tg__tile *t)
{
    const tg__eval_spec *s = mc->spec;
    t->dtype = TG_DT_FLOAT64;
    t->p = NULL;
    t->n = n;
    t->chain = &mc->chain;
    t->scratch = (double *)mc->buf;
    for (size_t i = 0; i < s->n_in; i++) {
        bool f = s->in[i]->dtype == TG_DT_FLOAT64;
        t->src[i] = f ? (const double *)s->in[i]->data + pos[i] : NULL;
        t->one[i] = st[i] == 0 || n == 1;
    }
    if (!s->lazy)
        t->p = tg__tile_values(t);
}

/* Walks the merged axes in C order, a tile at a time along the last. */
static int walk(machine *mc, size_t n_vec, tg__sink_fn sink, void *ctx,
                char *err, size_t len)
{
    const tg__eval_spec *s = mc->spec;
    size_t idx[TG__ND_MAX] = {0}, m = mc->m, inner = mc->ext[m - 1];
    int64_t pos[TG__PROG_MAX_INPUTS + TG__EVAL_MAX_AUX];
    int64_t st[TG__PROG_MAX_INPUTS + TG__EVAL_MAX_AUX];
    for (size_t v = 0; v < n_vec; v++)
        st[v] = mc->stride[v][m - 1];
    bool chain = mc->use_chain && tg__chain_fits(&mc->chain, st, inner);
    size_t tile = chain && s->lazy ? CHAIN_TILE : TILE;
    for (;;) {
        int64_t base[TG__PROG_MAX_INPUTS + TG__EVAL_MAX_AUX];
        for (size_t v = 0; v < n_vec; v++) {
            base[v] = v >= s->n_in ? s->aux_base[v - s->n_in] : 0;
            for (size_t k = 0; k + 1 < m; k++)
                base[v] += (int64_t)idx[k] * mc->stride[v][k];
        }
        for (size_t j = 0; j < inner; j += tile) {
            size_t n = inner - j < tile ? inner - j : tile;
            for (size_t v = 0; v < n_vec; v++)
                pos[v] = base[v] + (int64_t)j * st[v];
            tg__tile t;
            if (chain) {
                chain_tile(mc, pos, st, n, &t);
            } else {
                reg r;
                run_tile(mc, pos, st, n, &r);
                if (mc->neg_pow) {
                    snprintf(err, len,
                             "int64 pow with a negative exponent "
                             "(integers to negative powers are not "
                             "allowed)");
                    return -1;
                }
                t = (tg__tile){.dtype = r.dt, .p = r.p, .n = n};
            }
            if (sink(ctx, &t, pos + s->n_in, st + s->n_in) != 0)
                return -1;
        }
        size_t k = m - 1;
        while (k > 0 && ++idx[k - 1] == mc->ext[k - 1])
            idx[--k] = 0;
        if (k == 0)
            return 0;
    }
}

int tg__eval(const tg__eval_spec *s, tg__sink_fn sink, void *ctx, char *err,
             size_t len)
{
    machine mc = {.spec = s};
    size_t n_vec = s->n_in + s->n_aux, size;
    if (s->n_in > TG__PROG_MAX_INPUTS || s->n_aux > TG__EVAL_MAX_AUX
        || s->ndim > TG__ND_MAX) {
        snprintf(err, len, "%zu inputs, %zu dimensions", s->n_in, s->ndim);
        return -1;
    }
    for (size_t i = 0; i < s->n_in; i++)
        mc.in_dt[i] = s->in[i]->dtype;
    const char *msg =
        tg__prog_check(s->code, s->n_code, mc.in_dt, s->n_in, &mc.result);
    if (msg) {
        snprintf(err, len, "%s", msg);
        return -1;
    }
    for (size_t i = 0; i < s->n_in; i++)
        if (input_strides(s, i, mc.stride[i], err, len) != 0)
            return -1;
    for (size_t a = 0; a < s->n_aux; a++)
        memcpy(mc.stride[s->n_in + a], s->aux_stride[a],
               s->ndim * sizeof(int64_t));
    if (!tg__nd_count(s->ndim, s->shape, 8, &size)) {
        snprintf(err, len, "chunk size overflows");
        return -1;
    }
    if (size == 0)
        return 0;
    merge_axes(&mc, n_vec, s->no_merge);
    mc.use_chain = tg__chain_compile(&mc.chain, s);
    /* a where() reads two slots above its own */
    size_t depth = prog_depth(s->code, s->n_code) + 2;
    mc.buf = tg__malloc(
        (depth * 2 * TILE > CHAIN_TILE ? depth * 2 * TILE : CHAIN_TILE) * 8);
    if (!mc.buf) {
        snprintf(err, len, "out of memory");
        return -1;
    }
    int rc = walk(&mc, n_vec, sink, ctx, err, len);
    tg__free(mc.buf);
    return rc;
}

/* ---- tasks ----------------------------------------------------------- */

#define ELEMWISE "tg.array.elemwise"
#define CHECK "tg.array.check"

/* Appends each tile to the output chunk. */
typedef struct fill {
    uint8_t *out;
    size_t item;
} fill;

static int fill_sink(void *ctx, const tg__tile *t, const int64_t *aux,
                     const int64_t *step)
{
    (void)aux, (void)step;
    fill *f = ctx;
    if (t->p)
        memcpy(f->out, t->p, t->n * f->item);
    else
        tg__chain_run(t, (double *)(void *)f->out);
    f->out += t->n * f->item;
    return 0;
}

/* elemwise(params = [chunk shape, program], input chunks...): the
 * program's value over the chunk, a new chunk. */
static tg_value *elemwise_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t shape[TG__ND_MAX], n_code = 0;
    tg__ins code[TG__PROG_MAX_CODE];
    const tg__nd *in[TG__PROG_MAX_INPUTS];
    char err[300];
    tg__params_init(&p, ELEMWISE, nargs ? args[0] : NULL);
    size_t ndim = tg__param_sizes(&p, "shape", TG__ND_MAX, shape);
    const tg_value *prog = tg__param_list(&p, "program");
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    const char *msg = tg__prog_parse(prog, code, &n_code);
    if (msg)
        return tg_error(ELEMWISE ": %s", msg);
    if (nargs - 1 > TG__PROG_MAX_INPUTS)
        return tg_error(ELEMWISE ": %zu inputs", nargs - 1);
    for (size_t i = 1; i < nargs; i++)
        if (!(in[i - 1] =
                  tg__arg_nd(ELEMWISE, args, nargs, i, err, sizeof err)))
            return tg_error("%s", err);
    tg_dtype dts[TG__PROG_MAX_INPUTS], out_dt;
    for (size_t i = 0; i + 1 < nargs; i++)
        dts[i] = in[i]->dtype;
    if ((msg = tg__prog_check(code, n_code, dts, nargs - 1, &out_dt)))
        return tg_error(ELEMWISE ": %s", msg);
    tg__nd *out = tg__nd_alloc(out_dt, ndim, shape, false);
    if (!out)
        return tg_error(ELEMWISE ": %s", tg_last_error());
    tg__eval_spec s = {.code = code,
                       .n_code = n_code,
                       .in = in,
                       .n_in = nargs - 1,
                       .ndim = ndim,
                       .shape = shape,
                       .want = -1,
                       .lazy = true};
    fill f = {out->data, tg__nd_itemsize(out_dt)};
    if (tg__eval(&s, fill_sink, &f, err, sizeof err) != 0) {
        tg__nd_free(out);
        return tg_error(ELEMWISE ": %s", err);
    }
    tg_value *v = tg__nd_value(out);
    return v ? v : tg_error(ELEMWISE ": %s", tg_last_error());
}

/* check(params = [dtype, shape], chunk): the chunk itself when it has
 * that dtype and shape (a user function's result), else an error. */
static tg_value *check_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t shape[TG__ND_MAX];
    char err[300];
    tg__params_init(&p, CHECK, nargs ? args[0] : NULL);
    tg_dtype dt = (tg_dtype)tg__param_int(&p, "dtype", 0, TG_DT_STRING);
    size_t ndim = tg__param_sizes(&p, "shape", TG__ND_MAX, shape);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    const tg__nd *a = tg__arg_nd(CHECK, args, nargs, 1, err, sizeof err);
    if (!a)
        return tg_error("%s", err);
    if (a->dtype != dt || a->ndim != ndim
        || memcmp(a->shape, shape, ndim * sizeof *shape) != 0) {
        char want[128], got[128];
        tg__shape_str(want, sizeof want, ndim, shape);
        tg__shape_str(got, sizeof got, a->ndim, a->shape);
        return tg_error("map_blocks: the function returned a %s chunk of "
                        "shape %s; expected %s of shape %s",
                        tg_dtype_name(a->dtype), got, tg_dtype_name(dt), want);
    }
    return tg_incref(args[1]);
}

void tg__array_register_kernels(void)
{
    tg__array_register(TG__T_ELEMWISE, ELEMWISE, elemwise_task);
    tg__array_register(TG__T_CHECK, CHECK, check_task);
}
