/* dataframe/expr.c - column expressions: a small tree evaluated a column
 * at a time.
 *
 * Each node evaluates to a vector: a column (shared by reference with
 * the frame when it is a plain column) or a scalar literal, which the
 * kernels read with stride 0, so `x > 0` never materialises a column of
 * zeros.  Kernels are flat loops over arrays; nulls are combined
 * bitmap-wise afterwards.  Null rules: dataframe.h and README.md here.
 */
#include <math.h>

#include "expr_internal.h"

typedef enum ekind {
    E_COL,
    E_LIT,
    E_CMP,
    E_ARITH,
    E_AND,
    E_OR,
    E_NOT,
    E_ISNULL
} ekind;

typedef enum eop {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_FLOORDIV
} eop;

struct tg_expr {
    ekind kind;
    eop op;
    tg_expr *a, *b;
    char *name;    /* E_COL */
    tg_dtype type; /* E_LIT */
    int64_t i;
    double f;
    char *s;
    size_t slen;
};

static tg_expr *node(ekind k, eop op, tg_expr *a, tg_expr *b, bool binary)
{
    tg_expr *e = NULL;
    if (a && (b || !binary))
        e = tg__calloc(1, sizeof *e);
    if (!e) {
        if (!a || (binary && !b))
            tg__seterr(TG_EINVAL, "expression: NULL operand");
        tg_expr_free(a);
        tg_expr_free(b);
        return NULL;
    }
    e->kind = k, e->op = op, e->a = a, e->b = b;
    return e;
}

void tg_expr_free(tg_expr *e)
{
    if (!e)
        return;
    tg_expr_free(e->a);
    tg_expr_free(e->b);
    tg__free(e->name);
    tg__free(e->s);
    tg__free(e);
}

tg_expr *tg_col(const char *name)
{
    if (!name)
        return tg__seterr_null(TG_EINVAL, "tg_col: NULL name");
    tg_expr *e = tg__calloc(1, sizeof *e);
    if (e && !(e->name = tg__strdup(name))) {
        tg__free(e);
        return NULL;
    }
    if (e)
        e->kind = E_COL;
    return e;
}

static tg_expr *lit(tg_dtype t)
{
    tg_expr *e = tg__calloc(1, sizeof *e);
    if (e)
        e->kind = E_LIT, e->type = t;
    return e;
}

tg_expr *tg_lit_int(int64_t v)
{
    tg_expr *e = lit(TG_DT_INT64);
    if (e)
        e->i = v;
    return e;
}

tg_expr *tg_lit_float(double v)
{
    tg_expr *e = lit(TG_DT_FLOAT64);
    if (e)
        e->f = v;
    return e;
}

tg_expr *tg_lit_bool(bool v)
{
    tg_expr *e = lit(TG_DT_BOOL);
    if (e)
        e->i = v;
    return e;
}

tg_expr *tg_lit_str(const char *s)
{
    if (!s)
        return tg__seterr_null(TG_EINVAL, "tg_lit_str: NULL string");
    tg_expr *e = lit(TG_DT_STRING);
    if (e && !(e->s = tg__strdup(s))) {
        tg__free(e);
        return NULL;
    }
    if (e)
        e->slen = strlen(s);
    return e;
}

#define BIN(fn, k, op)                                                         \
    tg_expr *fn(tg_expr *a, tg_expr *b)                                        \
    {                                                                          \
        return node(k, op, a, b, true);                                        \
    }
BIN(tg_eq, E_CMP, OP_EQ)
BIN(tg_ne, E_CMP, OP_NE)
BIN(tg_lt, E_CMP, OP_LT)
BIN(tg_le, E_CMP, OP_LE)
BIN(tg_gt, E_CMP, OP_GT)
BIN(tg_ge, E_CMP, OP_GE)
BIN(tg_add, E_ARITH, OP_ADD)
BIN(tg_sub, E_ARITH, OP_SUB)
BIN(tg_mul, E_ARITH, OP_MUL)
BIN(tg_div, E_ARITH, OP_DIV)
BIN(tg_floordiv, E_ARITH, OP_FLOORDIV)
BIN(tg_and, E_AND, OP_EQ)
BIN(tg_or, E_OR, OP_EQ)

tg_expr *tg_not(tg_expr *a)
{
    return node(E_NOT, OP_EQ, a, NULL, false);
}

tg_expr *tg_is_null(tg_expr *a)
{
    return node(E_ISNULL, OP_EQ, a, NULL, false);
}

void tg__expr_columns(const tg_expr *e, void (*fn)(const char *, void *),
                      void *ud)
{
    for (; e; e = e->b) {
        if (e->kind == E_COL)
            fn(e->name, ud);
        tg__expr_columns(e->a, fn, ud);
    }
}

/* ---- as values ------------------------------------------------------------
 */

/* Operator names in the value form, indexed by eop (E_CMP and E_ARITH),
 * then the kinds that have fixed names. */
static const char *const op_names[] = {
    "eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div", "floordiv"};

static const char *kind_name(const tg_expr *e)
{
    switch (e->kind) {
    case E_COL: return "col";
    case E_LIT: return "lit";
    case E_AND: return "and";
    case E_OR: return "or";
    case E_NOT: return "not";
    case E_ISNULL: return "is_null";
    default: return op_names[e->op];
    }
}

static tg_value *lit_value(const tg_expr *e)
{
    switch (e->type) {
    case TG_DT_INT64: return tg_int(e->i);
    case TG_DT_FLOAT64: return tg_float(e->f);
    case TG_DT_BOOL: return tg_bool(e->i != 0);
    case TG_DT_STRING: return tg_str_n(e->s, e->slen);
    }
    return NULL;
}

/* True when e nests more than `left` levels (recursing at most that
 * deep). */
static bool deeper_than(const tg_expr *e, size_t left)
{
    if (!e)
        return false;
    if (left == 0)
        return true;
    return deeper_than(e->a, left - 1) || deeper_than(e->b, left - 1);
}

static tg_value *encode(const tg_expr *e)
{
    tg_value *name = tg_str(kind_name(e));
    switch (e->kind) {
    case E_COL: return tg_list(2, name, tg_str(e->name));
    case E_LIT: return tg_list(2, name, lit_value(e));
    case E_NOT:
    case E_ISNULL: return tg_list(2, name, encode(e->a));
    default: return tg_list(3, name, encode(e->a), encode(e->b));
    }
}

tg_value *tg__expr_encode(const tg_expr *e)
{
    if (e && deeper_than(e, TG__EXPR_MAX_DEPTH))
        return tg__seterr_null(TG_EINVAL, "expression: nested deeper than %d",
                               TG__EXPR_MAX_DEPTH);
    return e ? encode(e) : NULL;
}

static bool is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* The expression node named name with operands a and b (stolen). */
static tg_expr *named_node(const char *name, size_t len, tg_expr *a, tg_expr *b)
{
    for (size_t k = 0; k < sizeof op_names / sizeof *op_names; k++)
        if (is(name, len, op_names[k]))
            return node(k <= OP_GE ? E_CMP : E_ARITH, (eop)k, a, b, true);
    if (is(name, len, "and"))
        return node(E_AND, OP_EQ, a, b, true);
    if (is(name, len, "or"))
        return node(E_OR, OP_EQ, a, b, true);
    tg_expr_free(a);
    tg_expr_free(b);
    return NULL;
}

static tg_expr *decode(const tg_value *v, size_t depth, const char **why)
{
    size_t n = tg_list_len(v), len = 0;
    const char *name = n ? tg_as_bytes(tg_list_get(v, 0), &len) : NULL;
    if (tg_typeof(v) != TG_LIST || n < 2 || n > 3 || !name
        || tg_typeof(tg_list_get(v, 0)) != TG_STR)
        return *why = "not a list [name, operands...]", NULL;
    if (depth >= TG__EXPR_MAX_DEPTH)
        return *why = "nested too deep", NULL;
    const tg_value *x = tg_list_get(v, 1);
    tg_expr *e = NULL;
    if (is(name, len, "col") || is(name, len, "lit")) {
        if (n != 2)
            return *why = "col and lit take one operand", NULL;
        switch (tg_typeof(x)) {
        case TG_STR:
            e = name[0] == 'c' ? tg_col(tg_as_str(x))
                               : tg_lit_str(tg_as_str(x));
            break;
        case TG_INT:
            e = name[0] == 'l' ? tg_lit_int(tg_as_int(x)) : NULL;
            break;
        case TG_FLOAT:
            e = name[0] == 'l' ? tg_lit_float(tg_as_float(x)) : NULL;
            break;
        case TG_BOOL:
            e = name[0] == 'l' ? tg_lit_bool(tg_as_bool(x)) : NULL;
            break;
        default: break;
        }
        if (!e && tg_typeof(x) != TG_STR)
            *why = name[0] == 'c' ? "a column is named by a string"
                                  : "a literal is an int, float, bool or str";
        else if (!e)
            *why = "out of memory";
        return e;
    }
    tg_expr *a = decode(x, depth + 1, why);
    if (!a)
        return NULL;
    if (n == 2) {
        if (is(name, len, "not"))
            e = node(E_NOT, OP_EQ, a, NULL, false);
        else if (is(name, len, "is_null"))
            e = node(E_ISNULL, OP_EQ, a, NULL, false);
        else
            tg_expr_free(a);
        if (!e)
            *why = "unknown operator, or a binary one with one operand";
        return e;
    }
    tg_expr *b = decode(tg_list_get(v, 2), depth + 1, why);
    if (!b) {
        tg_expr_free(a);
        return NULL;
    }
    if (!(e = named_node(name, len, a, b)))
        *why = "unknown operator, or a unary one with two operands";
    return e;
}

tg_expr *tg__expr_decode(const tg_value *v, const char **why)
{
    const char *dummy;
    return decode(v, 0, why ? why : &dummy);
}

/* ---- type checking ------------------------------------------------------ */

static bool numeric(tg_dtype t)
{
    return t == TG_DT_INT64 || t == TG_DT_FLOAT64;
}

int tg__expr_type(const tg_expr *e, size_t ncols, char *const *names,
                  const tg_dtype *types, tg_dtype *out)
{
    tg_dtype ta = TG_DT_INT64, tb = TG_DT_INT64;
    int rc;
    switch (e->kind) {
    case E_COL:
        for (size_t i = 0; i < ncols; i++)
            if (strcmp(names[i], e->name) == 0)
                return *out = types[i], 0;
        return tg__seterr(TG_EINVAL, "expression: no column '%s'", e->name);
    case E_LIT: return *out = e->type, 0;
    default: break;
    }
    if ((rc = tg__expr_type(e->a, ncols, names, types, &ta)))
        return rc;
    if (e->b && (rc = tg__expr_type(e->b, ncols, names, types, &tb)))
        return rc;
    switch (e->kind) {
    case E_CMP:
        if (!(numeric(ta) && numeric(tb)) && ta != tb)
            return tg__seterr(TG_EINVAL,
                              "expression: cannot compare %s "
                              "with %s",
                              tg_dtype_name(ta), tg_dtype_name(tb));
        return *out = TG_DT_BOOL, 0;
    case E_ARITH:
        if (!numeric(ta) || !numeric(tb))
            return tg__seterr(TG_EINVAL,
                              "expression: arithmetic on %s "
                              "and %s",
                              tg_dtype_name(ta), tg_dtype_name(tb));
        *out = e->op == OP_DIV || ta == TG_DT_FLOAT64 || tb == TG_DT_FLOAT64
                   ? TG_DT_FLOAT64
                   : TG_DT_INT64;
        return 0;
    case E_AND:
    case E_OR:
    case E_NOT:
        if (ta != TG_DT_BOOL || (e->b && tb != TG_DT_BOOL))
            return tg__seterr(TG_EINVAL, "expression: and/or/not need "
                                         "bool operands");
        return *out = TG_DT_BOOL, 0;
    default: return *out = TG_DT_BOOL, 0;
    }
}

/* ---- evaluation ---------------------------------------------------------- */

/* A column or a scalar (col == NULL). */
typedef struct vec {
    tg__col *col;
    tg_dtype type;
    int64_t i;
    double f;
    const char *s;
    size_t slen;
} vec;

static tg_value *eval(const tg_expr *e, const tg__frame *f, vec *out);

/* The values of v as doubles: the column's array, the scalar, or a
 * converted copy in *tmp (freed by the caller). */
static const double *as_f64(const vec *v, size_t n, size_t *stride,
                            double **tmp, double *scalar)
{
    *tmp = NULL;
    if (!v->col) {
        *stride = 0;
        *scalar = v->type == TG_DT_FLOAT64 ? v->f : (double)v->i;
        return scalar;
    }
    *stride = 1;
    if (v->type == TG_DT_FLOAT64)
        return v->col->data;
    if (!(*tmp = tg__malloc((n ? n : 1) * sizeof **tmp)))
        return NULL;
    const int64_t *x = v->col->data;
    for (size_t i = 0; i < n; i++)
        (*tmp)[i] = (double)x[i];
    return *tmp;
}

static const int64_t *as_i64(const vec *v, size_t *stride)
{
    *stride = v->col ? 1 : 0;
    return v->col ? v->col->data : &v->i;
}

/* Clears the bits of out's rows that are null in v (out has a bitmap). */
static void and_valid(tg__col *out, const vec *v)
{
    if (!v->col || !v->col->valid)
        return;
    for (size_t k = 0; k < (out->n + 7) / 8; k++)
        out->valid[k] &= v->col->valid[k];
}

/* A result column for two operands: nulls where either is null. */
static tg__col *result_col(tg_dtype t, size_t n, const vec *a, const vec *b)
{
    tg__col *c = tg__col_new(t, n, 0);
    if (!c)
        return NULL;
    if ((a->col && a->col->valid) || (b && b->col && b->col->valid)) {
        if (tg__col_make_valid(c)) {
            tg__col_unref(c);
            return NULL;
        }
        and_valid(c, a);
        if (b)
            and_valid(c, b);
    }
    return c;
}

#define STRIDED(OUT, A, SA, B, SB, EXPR)                                       \
    do {                                                                       \
        if (SA && SB)                                                          \
            for (size_t i = 0; i < n; i++) {                                   \
                __typeof__(A[0]) x = A[i], y = B[i];                           \
                OUT[i] = EXPR;                                                 \
            }                                                                  \
        else if (SA)                                                           \
            for (size_t i = 0; i < n; i++) {                                   \
                __typeof__(A[0]) x = A[i], y = B[0];                           \
                OUT[i] = EXPR;                                                 \
            }                                                                  \
        else                                                                   \
            for (size_t i = 0; i < n; i++) {                                   \
                __typeof__(A[0]) x = A[i * SA], y = B[i * SB];                 \
                OUT[i] = EXPR;                                                 \
            }                                                                  \
    } while (0)

static int64_t floordiv_i64(int64_t x, int64_t y)
{
    if (y == 0)
        return 0;
    if (y == -1)
        return (int64_t)(0 - (uint64_t)x); /* wraps for INT64_MIN */
    int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0)))
        q--;
    return q;
}

/* x // y for doubles as Python and NumPy define it: the floor of the
 * exact quotient, taken from the remainder fmod gives exactly, so that
 * 1.0 // 0.1 is 9.0 (the rounded quotient 1.0 / 0.1 is 10.0, whose
 * floor would be 10).  The quotient (x - r) / y of the exact remainder
 * r is an integer up to rounding, which the last step snaps.  By zero
 * it is x / y (inf or NaN, as NumPy); a zero result carries the sign
 * of x / y. */
static double floordiv_f64(double x, double y)
{
    if (y == 0)
        return x / y;
    double r = fmod(x, y);
    double q = (x - r) / y;
    if (r != 0 && (r < 0) != (y < 0))
        q -= 1.0; /* the remainder takes y's sign: one less */
    if (q == 0)
        return copysign(0.0, x / y);
    double f = floor(q);
    return q - f > 0.5 ? f + 1.0 : f;
}

static tg_value *arith(eop op, const vec *a, const vec *b, size_t n, tg_dtype t,
                       tg__col **out)
{
    tg__col *c = result_col(t, n, a, b);
    if (!c)
        return tg_error("out of memory");
    if (t == TG_DT_INT64) {
        size_t sa, sb;
        const int64_t *x0 = as_i64(a, &sa), *y0 = as_i64(b, &sb);
        const uint64_t *A = (const uint64_t *)x0, *B = (const uint64_t *)y0;
        int64_t *o = c->data;
        switch (op) {
        case OP_ADD: STRIDED(o, A, sa, B, sb, (int64_t)(x + y)); break;
        case OP_SUB: STRIDED(o, A, sa, B, sb, (int64_t)(x - y)); break;
        case OP_MUL: STRIDED(o, A, sa, B, sb, (int64_t)(x * y)); break;
        default:
            STRIDED(o, x0, sa, y0, sb, floordiv_i64(x, y));
            for (size_t i = 0; i < n; i++) {
                if (y0[i * sb] != 0)
                    continue;
                if (!c->valid && tg__col_make_valid(c)) {
                    tg__col_unref(c);
                    return tg_error("out of memory");
                }
                tg__col_set_null(c, i);
            }
            break;
        }
    } else {
        size_t sa, sb;
        double *ta, *tb, ka, kb;
        const double *A = as_f64(a, n, &sa, &ta, &ka);
        const double *B = as_f64(b, n, &sb, &tb, &kb);
        double *o = c->data;
        if (A && B) {
            switch (op) {
            case OP_ADD: STRIDED(o, A, sa, B, sb, x + y); break;
            case OP_SUB: STRIDED(o, A, sa, B, sb, x - y); break;
            case OP_MUL: STRIDED(o, A, sa, B, sb, x * y); break;
            case OP_DIV: STRIDED(o, A, sa, B, sb, x / y); break;
            default: STRIDED(o, A, sa, B, sb, floordiv_f64(x, y)); break;
            }
        }
        tg__free(ta);
        tg__free(tb);
        if (!A || !B) {
            tg__col_unref(c);
            return tg_error("out of memory");
        }
    }
    tg__col_finish_valid(c);
    *out = c;
    return NULL;
}

#define CMP_SWITCH(OUT, A, SA, B, SB)                                          \
    switch (op) {                                                              \
    case OP_EQ: STRIDED(OUT, A, SA, B, SB, x == y); break;                     \
    case OP_NE: STRIDED(OUT, A, SA, B, SB, x != y); break;                     \
    case OP_LT: STRIDED(OUT, A, SA, B, SB, x < y); break;                      \
    case OP_LE: STRIDED(OUT, A, SA, B, SB, x <= y); break;                     \
    case OP_GT: STRIDED(OUT, A, SA, B, SB, x > y); break;                      \
    default: STRIDED(OUT, A, SA, B, SB, x >= y); break;                        \
    }

static int str_cmp(const vec *v, size_t i, const vec *w, size_t j)
{
    size_t la, lb;
    const char *a = v->col ? tg__col_str(v->col, i, &la) : v->s;
    const char *b = w->col ? tg__col_str(w->col, j, &lb) : w->s;
    if (!v->col)
        la = v->slen;
    if (!w->col)
        lb = w->slen;
    int r = memcmp(a, b, la < lb ? la : lb);
    return r ? r : (la > lb) - (la < lb);
}

/* Comparisons give false (not null) where either side is null. */
static tg_value *compare(eop op, const vec *a, const vec *b, size_t n,
                         tg__col **out)
{
    tg__col *c = tg__col_new(TG_DT_BOOL, n, 0);
    if (!c)
        return tg_error("out of memory");
    uint8_t *o = c->data;
    size_t sa, sb;
    if (a->type == TG_DT_INT64 && b->type == TG_DT_INT64) {
        const int64_t *A = as_i64(a, &sa), *B = as_i64(b, &sb);
        CMP_SWITCH(o, A, sa, B, sb);
    } else if (numeric(a->type)) {
        double *ta, *tb, ka, kb;
        const double *A = as_f64(a, n, &sa, &ta, &ka);
        const double *B = as_f64(b, n, &sb, &tb, &kb);
        if (A && B)
            CMP_SWITCH(o, A, sa, B, sb);
        tg__free(ta);
        tg__free(tb);
        if (!A || !B) {
            tg__col_unref(c);
            return tg_error("out of memory");
        }
    } else if (a->type == TG_DT_BOOL) {
        uint8_t ba = (uint8_t)a->i, bb = (uint8_t)b->i;
        const uint8_t *A = a->col ? a->col->data : &ba;
        const uint8_t *B = b->col ? b->col->data : &bb;
        sa = a->col != NULL, sb = b->col != NULL;
        CMP_SWITCH(o, A, sa, B, sb);
    } else {
        sa = a->col != NULL, sb = b->col != NULL;
        for (size_t i = 0; i < n; i++) {
            int r = str_cmp(a, i * sa, b, i * sb);
            o[i] = op == OP_EQ   ? r == 0
                   : op == OP_NE ? r != 0
                   : op == OP_LT ? r < 0
                   : op == OP_LE ? r <= 0
                   : op == OP_GT ? r > 0
                                 : r >= 0;
        }
    }
    const vec *vs[2] = {a, b};
    for (int k = 0; k < 2; k++)
        if (vs[k]->col && vs[k]->col->valid)
            for (size_t i = 0; i < n; i++)
                o[i] &= tg__col_valid(vs[k]->col, i);
    *out = c;
    return NULL;
}

/* The bool values and validity of v at row i. */
static inline void bool_at(const vec *v, size_t i, bool *val, bool *valid)
{
    if (!v->col) {
        *val = v->i != 0, *valid = true;
        return;
    }
    *val = ((const uint8_t *)v->col->data)[i] != 0;
    *valid = tg__col_valid(v->col, i);
}

/* and/or with SQL's three-valued logic; not keeps nulls null. */
static tg_value *logic(ekind k, const vec *a, const vec *b, size_t n,
                       tg__col **out)
{
    tg__col *c = tg__col_new(TG_DT_BOOL, n, 0);
    if (!c || tg__col_make_valid(c)) {
        tg__col_unref(c);
        return tg_error("out of memory");
    }
    uint8_t *o = c->data;
    for (size_t i = 0; i < n; i++) {
        bool x, vx, y = false, vy = true, r, vr;
        bool_at(a, i, &x, &vx);
        if (b)
            bool_at(b, i, &y, &vy);
        if (k == E_NOT) {
            r = !x, vr = vx;
        } else if (k == E_AND) {
            r = x && y;
            vr = (vx && vy) || (vx && !x) || (vy && !y);
        } else {
            r = x || y;
            vr = (vx && vy) || (vx && x) || (vy && y);
        }
        o[i] = r && vr;
        if (!vr)
            tg__col_set_null(c, i);
    }
    tg__col_finish_valid(c);
    *out = c;
    return NULL;
}

/* True where a is missing: null, or a float NaN (pandas' isna). */
static tg_value *is_null(const vec *a, size_t n, tg__col **out)
{
    tg__col *c = tg__col_new(TG_DT_BOOL, n, 0);
    if (!c)
        return tg_error("out of memory");
    uint8_t *o = c->data;
    if (!a->col) {
        memset(o, a->type == TG_DT_FLOAT64 && a->f != a->f, n);
    } else if (a->type == TG_DT_FLOAT64) {
        const double *x = a->col->data;
        for (size_t i = 0; i < n; i++)
            o[i] = !tg__col_valid(a->col, i) || x[i] != x[i];
    } else {
        for (size_t i = 0; i < n; i++)
            o[i] = !tg__col_valid(a->col, i);
    }
    *out = c;
    return NULL;
}

/* Turns a scalar into a column of n copies (for a literal result). */
static tg_value *materialise(vec *v, size_t n)
{
    size_t bytes = v->type == TG_DT_STRING ? v->slen * n : 0;
    tg__col *c = tg__col_new(v->type, n, bytes);
    if (!c)
        return tg_error("out of memory");
    for (size_t i = 0; i < n; i++) {
        switch (v->type) {
        case TG_DT_INT64: ((int64_t *)c->data)[i] = v->i; break;
        case TG_DT_FLOAT64: ((double *)c->data)[i] = v->f; break;
        case TG_DT_BOOL: ((uint8_t *)c->data)[i] = v->i != 0; break;
        case TG_DT_STRING:
            memcpy(c->bytes + i * v->slen, v->s, v->slen);
            ((int64_t *)c->data)[i + 1] = (int64_t)((i + 1) * v->slen);
            break;
        }
    }
    v->col = c;
    return NULL;
}

static tg_value *eval(const tg_expr *e, const tg__frame *f, vec *out)
{
    memset(out, 0, sizeof *out);
    if (e->kind == E_COL) {
        long i = tg__frame_find(f, e->name);
        if (i < 0)
            return tg_error("expression: no column '%s'", e->name);
        out->col = tg__col_ref(f->cols[i]);
        out->type = out->col->type;
        return NULL;
    }
    if (e->kind == E_LIT) {
        out->type = e->type, out->i = e->i, out->f = e->f;
        out->s = e->s, out->slen = e->slen;
        return NULL;
    }
    vec a, b = {0};
    tg_value *err = eval(e->a, f, &a);
    if (!err && e->b)
        err = eval(e->b, f, &b);
    tg__col *c = NULL;
    size_t n = f->nrows;
    if (!err) {
        switch (e->kind) {
        case E_CMP: err = compare(e->op, &a, &b, n, &c); break;
        case E_ARITH: {
            tg_dtype t = e->op == OP_DIV || a.type == TG_DT_FLOAT64
                                 || b.type == TG_DT_FLOAT64
                             ? TG_DT_FLOAT64
                             : TG_DT_INT64;
            err = arith(e->op, &a, &b, n, t, &c);
            break;
        }
        case E_ISNULL: err = is_null(&a, n, &c); break;
        default: err = logic(e->kind, &a, e->b ? &b : NULL, n, &c); break;
        }
    }
    tg__col_unref(a.col);
    tg__col_unref(b.col);
    if (c) {
        out->col = c;
        out->type = c->type;
    }
    return err;
}

tg_value *tg__expr_eval(const tg_expr *e, const tg__frame *f, tg__col **out)
{
    vec v;
    tg_value *err = eval(e, f, &v);
    if (!err && !v.col)
        err = materialise(&v, f->nrows);
    if (err) {
        tg__col_unref(v.col);
        return err;
    }
    *out = v.col;
    return NULL;
}

tg_value *tg_expr_eval(tg_expr *e, const tg_value *frame)
{
    const tg__frame *f = tg__frame_of(frame);
    tg_value *res = NULL;
    tg_dtype t, *types = NULL;
    if (!e || !f) {
        res = tg_error("expr_eval: %s", e ? "not a frame" : "NULL expression");
    } else if (!(types = tg__malloc((f->ncols + 1) * sizeof *types))) {
        res = tg_error("out of memory");
    } else {
        for (size_t i = 0; i < f->ncols; i++)
            types[i] = f->cols[i]->type;
        if (tg__expr_type(e, f->ncols, f->names, types, &t) != 0)
            res = tg_error("%s", tg_last_error());
    }
    tg__free(types);
    tg__col *c = NULL;
    if (!res)
        res = tg__expr_eval(e, f, &c);
    if (!res) {
        const char *name = "value";
        res = tg__frame_value(tg__frame_new(1, &name, &c, f->nrows));
        if (!res)
            res = tg_error("out of memory");
    }
    tg_expr_free(e);
    return res;
}
