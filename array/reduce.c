/* array/reduce.c - reductions as trees: sum, mean, min, max, var, std,
 * argmin and argmax along one axis or all.
 *
 * "tg.array.partial" reduces one chunk (evaluating the array's pending
 * elementwise program tile by tile, so nothing is materialised) into a
 * partial: a list [n, arrays...] where n is how many elements each
 * output element has seen and the arrays, shaped like the output chunk,
 * hold the state of the reduction.  "tg.array.combine" merges up to
 * split_every partials, and the root combine finishes into the output
 * chunk.
 *
 * Accuracy, so that every chunking agrees to a few ulps: float sums are
 * compensated - each state is a pair (s, c) where c collects the exact
 * rounding error of every addition (Knuth's TwoSum, in eight lanes per
 * tile), and merges add pairs the same way; the result s + c is then
 * nearly correctly rounded whatever the order.  var and std compute in
 * each chunk the mean (compensated) and then sum((x - m)^2) -
 * (sum(x - m))^2 / n (the corrected two-pass formula), and merge by
 * Chan's pairwise update of (n, mean, M2).  min and max propagate NaN,
 * argmin and argmax pick the first NaN, else the first extreme, as
 * NumPy does.
 */
#include <math.h>
#include <stdio.h>

#include "array_internal.h"

#define PARTIAL "tg.array.partial"
#define COMBINE "tg.array.combine"

#define DEFAULT_SPLIT_EVERY 8
/* Compensated lanes of a whole-tile sum: four groups of eight (a
 * vector each), so that the additions' latency is hidden. */
#define GROUP 8
#define LANES (4 * GROUP)

/* The partial's arrays per op, and the dtype it works in. */
static size_t n_state(tg_reduce_op op)
{
    switch (op) {
    case TG_REDUCE_MIN:
    case TG_REDUCE_MAX: return 1;
    case TG_REDUCE_VAR:
    case TG_REDUCE_STD: return 2; /* mean, M2 */
    default: return 2;            /* sum: (s, c); arg: (value, index) */
    }
}

static tg_dtype work_type(tg_reduce_op op, tg_dtype in)
{
    switch (op) {
    case TG_REDUCE_MEAN:
    case TG_REDUCE_VAR:
    case TG_REDUCE_STD: return TG_DT_FLOAT64;
    default: return in == TG_DT_FLOAT64 ? TG_DT_FLOAT64 : TG_DT_INT64;
    }
}

static tg_dtype out_type(tg_reduce_op op, tg_dtype in)
{
    switch (op) {
    case TG_REDUCE_SUM: return in == TG_DT_FLOAT64 ? in : TG_DT_INT64;
    case TG_REDUCE_MIN:
    case TG_REDUCE_MAX: return in;
    case TG_REDUCE_ARGMIN:
    case TG_REDUCE_ARGMAX: return TG_DT_INT64;
    default: return TG_DT_FLOAT64;
    }
}

static const char *op_name(tg_reduce_op op)
{
    static const char *const names[] = {"sum", "mean", "min",    "max",
                                        "var", "std",  "argmin", "argmax"};
    return (unsigned)op <= TG_REDUCE_ARGMAX ? names[op] : "?";
}

/* s + c, the value of a compensated sum (c is NaN once s overflowed). */
static inline double sum_value(double s, double c)
{
    return isfinite(s) ? s + c : s;
}

/* One step of a compensated lane (TwoSum, written out so that the
 * compiler keeps the lanes in vector registers). */
#define LANE(S, C, X)                                                          \
    do {                                                                       \
        double t_ = (S) + (X), bp_ = t_ - (S);                                 \
        (C) += ((S) - (t_ - bp_)) + ((X)-bp_);                                 \
        (S) = t_;                                                              \
    } while (0)

/* Adds n values into the compensated lanes (ls[i], lc[i]), i < LANES,
 * which stay in registers for the whole tile; the lanes are folded into
 * one sum only when their output element changes (fold_lanes). */
TG__CLONES static void lanes_sum(const double *restrict x, size_t n,
                                 double *restrict ls, double *restrict lc)
{
    double s0[GROUP], s1[GROUP], s2[GROUP], s3[GROUP];
    double c0[GROUP], c1[GROUP], c2[GROUP], c3[GROUP];
    for (size_t j = 0; j < GROUP; j++) {
        s0[j] = ls[j], s1[j] = ls[GROUP + j];
        s2[j] = ls[2 * GROUP + j], s3[j] = ls[3 * GROUP + j];
        c0[j] = lc[j], c1[j] = lc[GROUP + j];
        c2[j] = lc[2 * GROUP + j], c3[j] = lc[3 * GROUP + j];
    }
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t j = 0; j < GROUP; j++) {
            LANE(s0[j], c0[j], x[i + j]);
            LANE(s1[j], c1[j], x[i + GROUP + j]);
            LANE(s2[j], c2[j], x[i + 2 * GROUP + j]);
            LANE(s3[j], c3[j], x[i + 3 * GROUP + j]);
        }
    for (; i < n; i++)
        LANE(s0[0], c0[0], x[i]);
    for (size_t j = 0; j < GROUP; j++) {
        ls[j] = s0[j], ls[GROUP + j] = s1[j];
        ls[2 * GROUP + j] = s2[j], ls[3 * GROUP + j] = s3[j];
        lc[j] = c0[j], lc[GROUP + j] = c1[j];
        lc[2 * GROUP + j] = c2[j], lc[3 * GROUP + j] = c3[j];
    }
}

/* Elementwise (s[j], c[j]) += x[j]. */
TG__CLONES static void vec_sum(const double *restrict x, size_t n,
                               double *restrict s, double *restrict c)
{
    for (size_t j = 0; j < n; j++) {
        double t = s[j] + x[j], bp = t - s[j];
        c[j] += (s[j] - (t - bp)) + (x[j] - bp);
        s[j] = t;
    }
}

/* ---- the per-chunk partial ------------------------------------------- */

/* The state of one partial while the machine feeds it tiles. */
typedef struct acc {
    tg_reduce_op op;
    tg_dtype wt;  /* work dtype of the tiles */
    bool pass2;   /* var: second pass (deviations) */
    void *st[3];  /* state arrays, out_size each */
    double *mean; /* var's pass-2 means */
    size_t out_size;
    bool *seen;                  /* arg, min, max: output element has a value */
    double ls[LANES], lc[LANES]; /* whole-tile sums of output lane_o */
    size_t lane_o;
    bool lanes_live; /* the lanes hold a sum not yet folded */
} acc;

/* Folds the lanes into their output element's (s, c) and clears them. */
static void fold_lanes(acc *a)
{
    if (!a->lanes_live)
        return;
    double *s = a->st[0], *c = a->st[1];
    for (size_t j = 0; j < LANES; j++) {
        tg__two_sum(&s[a->lane_o], &c[a->lane_o], a->ls[j]);
        c[a->lane_o] += a->lc[j];
        a->ls[j] = a->lc[j] = 0.0;
    }
    a->lanes_live = false;
}

static inline bool f_better(tg_reduce_op op, double x, double best)
{
    if (best != best)
        return false; /* the first NaN stays */
    if (x != x)
        return true;
    return op == TG_REDUCE_MIN || op == TG_REDUCE_ARGMIN ? x < best : x > best;
}

static inline bool i_better(tg_reduce_op op, int64_t x, int64_t best)
{
    return op == TG_REDUCE_MIN || op == TG_REDUCE_ARGMIN ? x < best : x > best;
}

static void sink_sum(acc *a, const tg__tile *t, const int64_t *aux,
                     const int64_t *step)
{
    size_t o = (size_t)aux[0];
    if (a->wt == TG_DT_INT64) {
        const int64_t *x = t->p;
        uint64_t *s = a->st[0];
        for (size_t j = 0; j < t->n; j++)
            s[o + (size_t)step[0] * j] += (uint64_t)x[j];
        return;
    }
    const double *x = t->p;
    double *s = a->st[0], *c = a->st[1];
    if (step[0] == 0) {
        if (a->lanes_live && a->lane_o != o)
            fold_lanes(a);
        a->lane_o = o;
        a->lanes_live = true;
        if (x)
            lanes_sum(x, t->n, a->ls, a->lc);
        else
            tg__chain_sum(t, a->ls, a->lc); /* fused: nothing stored */
        return;
    }
    if (!x)
        x = tg__tile_values(t);
    if (step[0] == 1) {
        vec_sum(x, t->n, s + o, c + o);
    } else {
        for (size_t j = 0; j < t->n; j++)
            tg__two_sum(&s[o + (size_t)step[0] * j],
                        &c[o + (size_t)step[0] * j], x[j]);
    }
}

/* var's second pass: sum((x - m)^2) compensated into st[0..1], and
 * sum(x - m) into st[2]. */
static void sink_dev(acc *a, const tg__tile *t, const int64_t *aux,
                     const int64_t *step)
{
    const double *x = t->p;
    double *q = a->st[0], *qc = a->st[1], *e = a->st[2];
    for (size_t j = 0; j < t->n; j++) {
        size_t o = (size_t)aux[0] + (size_t)step[0] * j;
        double d = x[j] - a->mean[o];
        tg__two_sum(&q[o], &qc[o], d * d);
        e[o] += d;
    }
}

/* Lanes of a min (CMP <) or max (CMP >) over x[0 .. n), n >= GROUP,
 * into m; z[j] becomes NaN where a lane saw a NaN or an infinity. */
#define EXT_LANES(NAME, T, CMP, Z)                                             \
    TG__CLONES static void NAME(const T *restrict x, size_t n, T *restrict m,  \
                                double *restrict z)                            \
    {                                                                          \
        for (size_t j = 0; j < GROUP; j++)                                     \
            m[j] = x[j], z[j] = 0;                                             \
        for (size_t i = GROUP; i + GROUP <= n; i += GROUP)                     \
            for (size_t j = 0; j < GROUP; j++) {                               \
                T v = x[i + j];                                                \
                m[j] = v CMP m[j] ? v : m[j];                                  \
                Z;                                                             \
            }                                                                  \
    }

EXT_LANES(f_min_lanes, double, <, z[j] += v * 0.0)
EXT_LANES(f_max_lanes, double, >, z[j] += v * 0.0)
EXT_LANES(i_min_lanes, int64_t, <, (void)z)
EXT_LANES(i_max_lanes, int64_t, >, (void)z)

/* The extreme of x[0 .. n), n > 0, for min (else max), NaN if any is
 * NaN: in vector lanes while no NaN or infinity shows up. */
static double f_extreme(const double *x, size_t n, bool min)
{
    size_t i = 1, full = n / GROUP * GROUP;
    double r = x[0];
    if (n >= GROUP) {
        double m[GROUP], z[GROUP], zs = 0;
        (min ? f_min_lanes : f_max_lanes)(x, full, m, z);
        for (size_t j = 0; j < GROUP; j++)
            zs += z[j] + m[j] * 0.0;
        if (zs == zs) { /* all finite: fold the lanes, then the rest */
            r = m[0];
            for (size_t j = 1; j < GROUP; j++)
                r = (min ? m[j] < r : m[j] > r) ? m[j] : r;
            i = full;
        }
    }
    for (; i < n && r == r; i++)
        if (x[i] != x[i] || (min ? x[i] < r : x[i] > r))
            r = x[i];
    return r;
}

static int64_t i_extreme(const int64_t *x, size_t n, bool min)
{
    size_t i = 1;
    int64_t r = x[0];
    if (n >= GROUP) {
        int64_t m[GROUP];
        double z[GROUP];
        (min ? i_min_lanes : i_max_lanes)(x, n / GROUP * GROUP, m, z);
        for (size_t j = 0; j < GROUP; j++)
            r = (min ? m[j] < r : m[j] > r) ? m[j] : r;
        i = n / GROUP * GROUP;
    }
    for (; i < n; i++)
        r = (min ? x[i] < r : x[i] > r) ? x[i] : r;
    return r;
}

/* A whole tile into output element o: its extreme found in vector lanes
 * and, where it beats the element's, the first position holding it - so
 * that the result is the one an element-by-element scan keeps. */
static void ext_tile(acc *a, const tg__tile *t, size_t o, int64_t at,
                     int64_t step)
{
    bool min = a->op == TG_REDUCE_MIN || a->op == TG_REDUCE_ARGMIN;
    size_t j = 0, n = t->n;
    if (a->wt == TG_DT_FLOAT64) {
        const double *x = t->p;
        double *v = a->st[0], e = f_extreme(x, n, min);
        if (a->seen[o] && !f_better(a->op, e, v[o]))
            return;
        while (e == e ? x[j] != e : x[j] == x[j])
            j++;
        v[o] = x[j];
    } else {
        const int64_t *x = t->p;
        int64_t *v = a->st[0], e = i_extreme(x, n, min);
        if (a->seen[o] && !i_better(a->op, e, v[o]))
            return;
        while (x[j] != e)
            j++;
        v[o] = x[j];
    }
    if (a->op == TG_REDUCE_ARGMIN || a->op == TG_REDUCE_ARGMAX)
        ((int64_t *)a->st[1])[o] = at + step * (int64_t)j;
    a->seen[o] = true;
}

static void sink_ext(acc *a, const tg__tile *t, const int64_t *aux,
                     const int64_t *step)
{
    bool arg = a->op == TG_REDUCE_ARGMIN || a->op == TG_REDUCE_ARGMAX;
    int64_t *idx = arg ? a->st[1] : NULL;
    if (step[0] == 0 && t->n > 0) {
        ext_tile(a, t, (size_t)aux[0], arg ? aux[1] : 0, arg ? step[1] : 0);
        return;
    }
    for (size_t j = 0; j < t->n; j++) {
        size_t o = (size_t)aux[0] + (size_t)step[0] * j;
        bool take = !a->seen[o];
        if (a->wt == TG_DT_FLOAT64) {
            double x = ((const double *)t->p)[j], *v = a->st[0];
            take = take || f_better(a->op, x, v[o]);
            if (take)
                v[o] = x;
        } else {
            int64_t x = ((const int64_t *)t->p)[j], *v = a->st[0];
            take = take || i_better(a->op, x, v[o]);
            if (take)
                v[o] = x;
        }
        if (take && arg)
            idx[o] = aux[1] + step[1] * (int64_t)j;
        a->seen[o] = true;
    }
}

/* Runs the machine over one pass of the chunk into a. */
static int acc_pass(acc *a, const tg__eval_spec *s, char *err, size_t len);

static int acc_sink(void *ctx, const tg__tile *t, const int64_t *aux,
                    const int64_t *step)
{
    acc *a = ctx;
    tg__tile v;
    bool sum =
        a->op == TG_REDUCE_SUM || a->op == TG_REDUCE_MEAN
        || ((a->op == TG_REDUCE_VAR || a->op == TG_REDUCE_STD) && !a->pass2);
    if (!t->p && !sum) {
        v = *t;
        v.p = tg__tile_values(t);
        t = &v;
    }
    switch (a->op) {
    case TG_REDUCE_SUM:
    case TG_REDUCE_MEAN: sink_sum(a, t, aux, step); break;
    case TG_REDUCE_VAR:
    case TG_REDUCE_STD:
        if (a->pass2)
            sink_dev(a, t, aux, step);
        else
            sink_sum(a, t, aux, step);
        break;
    default: sink_ext(a, t, aux, step);
    }
    return 0;
}

static int acc_pass(acc *a, const tg__eval_spec *s, char *err, size_t len)
{
    int rc = tg__eval(s, acc_sink, a, err, len);
    fold_lanes(a);
    return rc;
}

/* The auxiliary positions of a partial: the output element (aux 0) and,
 * for arg ops, the index it reports (aux 1: along the axis, or C-order
 * in the whole array for all axes). */
static void aux_strides(tg__eval_spec *s, int axis, const size_t *start,
                        const size_t *full, bool arg)
{
    size_t nd = s->ndim;
    int64_t run = 1;
    for (size_t k = nd; k-- > 0;) {
        s->aux_stride[0][k] = axis < 0 || (size_t)axis == k ? 0 : run;
        if (axis >= 0 && (size_t)axis != k)
            run *= (int64_t)s->shape[k];
    }
    s->aux_base[0] = 0;
    s->n_aux = 1;
    if (!arg)
        return;
    s->n_aux = 2;
    s->aux_base[1] = 0;
    run = 1;
    for (size_t k = nd; k-- > 0;) {
        if (axis < 0) {
            s->aux_stride[1][k] = run;
            s->aux_base[1] += (int64_t)start[k] * run;
            run *= (int64_t)full[k];
        } else {
            s->aux_stride[1][k] = (size_t)axis == k ? 1 : 0;
            if ((size_t)axis == k)
                s->aux_base[1] = (int64_t)start[k];
        }
    }
}

/* Allocates the state arrays (zeroed) of one partial. */
static int acc_init(acc *a, size_t n_out)
{
    a->out_size = n_out;
    size_t n = n_out ? n_out : 1;
    for (size_t i = 0; i < 3; i++)
        if (!(a->st[i] = tg__calloc(n, 8)))
            return TG_ENOMEM;
    if (!(a->seen = tg__calloc(n, sizeof *a->seen)))
        return TG_ENOMEM;
    return 0;
}

static void acc_close(acc *a)
{
    for (size_t i = 0; i < 3; i++)
        tg__free(a->st[i]);
    tg__free(a->seen);
    tg__free(a->mean);
}

/* The partial [n, arrays...] of a finished accumulation. */
static tg_value *acc_partial(acc *a, size_t n, size_t nd, const size_t *shape)
{
    size_t k = n_state(a->op);
    tg_value *items[3];
    items[0] = tg_int((int64_t)n);
    for (size_t i = 0; i < k; i++) {
        tg_dtype dt = TG_DT_FLOAT64;
        if (a->op == TG_REDUCE_SUM && a->wt == TG_DT_INT64)
            dt = TG_DT_INT64;
        else if (a->op == TG_REDUCE_ARGMIN || a->op == TG_REDUCE_ARGMAX)
            dt = i == 1 ? TG_DT_INT64 : a->wt;
        else if (a->op == TG_REDUCE_MIN || a->op == TG_REDUCE_MAX)
            dt = a->wt;
        const void *src = a->st[i];
        if ((a->op == TG_REDUCE_VAR || a->op == TG_REDUCE_STD) && i == 0)
            src = a->mean;
        items[i + 1] = tg_ndarray_new(dt, nd, shape, src);
    }
    return tg_list_from(k + 1, items);
}

/* var's pass boundary: means from the sums, the state cleared for the
 * deviations; after pass 2, M2 from the corrected formula. */
static int var_means(acc *a, size_t n)
{
    double *s = a->st[0], *c = a->st[1];
    if (!(a->mean = tg__malloc((a->out_size ? a->out_size : 1) * 8)))
        return TG_ENOMEM;
    for (size_t o = 0; o < a->out_size; o++) {
        a->mean[o] = n ? sum_value(s[o], c[o]) / (double)n : 0.0;
        s[o] = c[o] = 0.0;
    }
    a->pass2 = true;
    return 0;
}

static void var_m2(acc *a, size_t n)
{
    double *q = a->st[0], *qc = a->st[1], *e = a->st[2];
    for (size_t o = 0; o < a->out_size; o++) {
        double m2 = sum_value(q[o], qc[o]) - (n ? e[o] * e[o] / (double)n : 0);
        q[o] = m2 < 0 ? 0 : m2;
    }
    /* the partial's arrays are (mean, M2): M2 now in st[0] moves to
     * the second slot */
    void *t = a->st[1];
    a->st[1] = a->st[0];
    a->st[0] = t;
}

/* partial(params = [op, axis, chunk shape, chunk start, array shape,
 * program], leaf chunks...). */
static tg_value *partial_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t shape[TG__ND_MAX], start[TG__ND_MAX], full[TG__ND_MAX];
    size_t oshape[TG__ND_MAX], n_code = 0, on = 0, n_out, n_red;
    tg__ins code[TG__PROG_MAX_CODE];
    const tg__nd *in[TG__PROG_MAX_INPUTS];
    tg_dtype dts[TG__PROG_MAX_INPUTS], dt;
    char err[300] = "out of memory"; /* the failures that say nothing */
    tg__params_init(&p, PARTIAL, nargs ? args[0] : NULL);
    tg_reduce_op op =
        (tg_reduce_op)tg__param_int(&p, "op", 0, TG_REDUCE_ARGMAX);
    int axis = (int)tg__param_int(&p, "axis", -1, TG__ND_MAX - 1);
    size_t nd = tg__param_sizes(&p, "shape", TG__ND_MAX, shape);
    size_t ns = tg__param_sizes(&p, "start", TG__ND_MAX, start);
    size_t nf = tg__param_sizes(&p, "array shape", TG__ND_MAX, full);
    const tg_value *prog = tg__param_list(&p, "program");
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    const char *msg = tg__prog_parse(prog, code, &n_code);
    if (!msg && (ns != nd || nf != nd || axis >= (int)nd))
        msg = "shapes disagree";
    for (size_t k = 0; !msg && k < nd; k++)
        if (start[k] > full[k] || shape[k] > full[k] - start[k])
            msg = "the chunk is not inside the array";
    if (!msg && nargs - 1 > TG__PROG_MAX_INPUTS)
        msg = "too many inputs";
    for (size_t i = 1; !msg && i < nargs; i++) {
        if (!(in[i - 1] = tg__arg_nd(PARTIAL, args, nargs, i, err, sizeof err)))
            return tg_error("%s", err);
        dts[i - 1] = in[i - 1]->dtype;
    }
    if (!msg)
        msg = tg__prog_check(code, n_code, dts, nargs - 1, &dt);
    if (msg)
        return tg_error(PARTIAL ": %s", msg);
    for (size_t k = 0; k < nd; k++)
        if (axis >= 0 && (size_t)axis != k)
            oshape[on++] = shape[k];
    tg__nd_count(on, oshape, 0, &n_out);
    tg__nd_count(nd, shape, 0, &n_red);
    if (axis >= 0)
        n_red = shape[axis];

    acc a = {.op = op, .wt = work_type(op, dt)};
    tg__eval_spec s = {.code = code,
                       .n_code = n_code,
                       .in = in,
                       .n_in = nargs - 1,
                       .ndim = nd,
                       .shape = shape,
                       .want = (int)a.wt,
                       .lazy = true};
    aux_strides(&s, axis, start, full,
                op == TG_REDUCE_ARGMIN || op == TG_REDUCE_ARGMAX);
    tg_value *res = NULL;
    bool var = op == TG_REDUCE_VAR || op == TG_REDUCE_STD;
    if (acc_init(&a, n_out) != 0)
        snprintf(err, sizeof err, "out of memory");
    else if (acc_pass(&a, &s, err, sizeof err) == 0
             && (!var || var_means(&a, n_red) == 0)
             && (!var || acc_pass(&a, &s, err, sizeof err) == 0)) {
        if (var)
            var_m2(&a, n_red);
        res = acc_partial(&a, n_red, on, oshape);
        if (!res)
            snprintf(err, sizeof err, "%s", tg_last_error());
    }
    acc_close(&a);
    return res ? res : tg_error(PARTIAL ": %s", err);
}

/* ---- merging partials ------------------------------------------------ */

/* One partial's parts, checked. */
typedef struct part {
    int64_t n;
    const tg__nd *a[2];
} part;

static const char *read_part(tg_reduce_op op, const tg_value *v, part *p,
                             const part *first)
{
    size_t k = n_state(op);
    if (tg_typeof(v) != TG_LIST || tg_list_len(v) != k + 1
        || tg_typeof(tg_list_get(v, 0)) != TG_INT
        || (p->n = tg_as_int(tg_list_get(v, 0))) < 0)
        return "a partial is not [n, arrays...]";
    for (size_t i = 0; i < k; i++) {
        const tg__nd *x = p->a[i] = tg__nd_of(tg_list_get(v, i + 1));
        if (!x)
            return "a partial holds a non-array";
        if (x->ndim != p->a[0]->ndim
            || memcmp(x->shape, p->a[0]->shape, x->ndim * sizeof(size_t))
            || (first
                && (x->dtype != first->a[i]->dtype
                    || x->ndim != first->a[0]->ndim
                    || memcmp(x->shape, first->a[0]->shape,
                              x->ndim * sizeof(size_t)))))
            return "partials disagree in shape or dtype";
    }
    tg_dtype d0 = p->a[0]->dtype, d1 = k > 1 ? p->a[1]->dtype : d0;
    bool ok = d0 != TG_DT_BOOL;
    switch (op) {
    case TG_REDUCE_SUM: ok = ok && d1 == d0; break;
    case TG_REDUCE_ARGMIN:
    case TG_REDUCE_ARGMAX: ok = ok && d1 == TG_DT_INT64; break;
    case TG_REDUCE_MIN:
    case TG_REDUCE_MAX: break;
    default: ok = d0 == TG_DT_FLOAT64 && d1 == TG_DT_FLOAT64;
    }
    return ok ? NULL : "a partial has the wrong dtype";
}

/* Merges partial b into the state (n, st) of a combine. */
static void merge(tg_reduce_op op, int64_t *n, void **st, const part *b)
{
    size_t m = b->a[0]->size;
    bool f = b->a[0]->dtype == TG_DT_FLOAT64;
    if (op == TG_REDUCE_SUM && !f) {
        uint64_t *s = st[0];
        const int64_t *bs = b->a[0]->data;
        for (size_t o = 0; o < m; o++)
            s[o] += (uint64_t)bs[o];
    } else if (op == TG_REDUCE_SUM || op == TG_REDUCE_MEAN) {
        double *s = st[0], *c = st[1];
        const double *bs = b->a[0]->data, *bc = b->a[1]->data;
        for (size_t o = 0; o < m; o++) {
            tg__two_sum(&s[o], &c[o], bs[o]);
            c[o] += bc[o];
        }
    } else if (op == TG_REDUCE_VAR || op == TG_REDUCE_STD) {
        double *mu = st[0], *m2 = st[1];
        const double *bm = b->a[0]->data, *bq = b->a[1]->data;
        double na = (double)*n, nb = (double)b->n, nn = na + nb;
        for (size_t o = 0; o < m && b->n; o++) {
            double d = bm[o] - mu[o];
            mu[o] += d * (nb / nn);
            m2[o] += bq[o] + d * d * (na * nb / nn);
        }
    } else if (b->n) {
        bool arg = op == TG_REDUCE_ARGMIN || op == TG_REDUCE_ARGMAX;
        int64_t *ix = st[1];
        const int64_t *bx = arg ? b->a[1]->data : NULL;
        for (size_t o = 0; o < m; o++) {
            bool take = *n == 0;
            if (f) {
                double x = ((const double *)b->a[0]->data)[o];
                double *v = st[0];
                bool tie = x == v[o] || (x != x && v[o] != v[o]);
                take = take || f_better(op, x, v[o])
                       || (arg && tie && bx[o] < ix[o]);
                if (take)
                    v[o] = x;
            } else {
                int64_t x = ((const int64_t *)b->a[0]->data)[o];
                int64_t *v = st[0];
                take = take || i_better(op, x, v[o])
                       || (arg && x == v[o] && bx[o] < ix[o]);
                if (take)
                    v[o] = x;
            }
            if (take && arg)
                ix[o] = bx[o];
        }
    }
    *n += b->n;
}

/* The output chunk of a finished reduction: shape (out_nd extents)
 * holding m elements. */
static tg_value *finish(tg_reduce_op op, int ddof, tg_dtype out_dt, int64_t n,
                        void **st, const tg__nd *like, size_t out_nd,
                        const size_t *out_shape)
{
    size_t m = like->size, om;
    if (!tg__nd_count(out_nd, out_shape, 0, &om) || om != m)
        return tg_error(COMBINE ": the output shape holds %zu elements, the "
                                "partials %zu",
                        om, m);
    bool ext = op != TG_REDUCE_SUM && op != TG_REDUCE_MEAN
               && op != TG_REDUCE_VAR && op != TG_REDUCE_STD;
    if (ext && n == 0)
        return tg_error("zero-size array to reduction operation %s, which "
                        "has no identity",
                        op_name(op));
    tg__nd *o = tg__nd_alloc(out_dt, out_nd, out_shape, false);
    if (!o)
        return tg_error(COMBINE ": %s", tg_last_error());
    double *od = o->data;
    const double *s = st[0], *c = st[1];
    for (size_t i = 0; i < m; i++) {
        switch (op) {
        case TG_REDUCE_SUM:
            if (like->dtype == TG_DT_INT64)
                ((int64_t *)o->data)[i] = ((const int64_t *)st[0])[i];
            else
                od[i] = sum_value(s[i], c[i]);
            break;
        case TG_REDUCE_MEAN:
            od[i] = n ? sum_value(s[i], c[i]) / (double)n : NAN;
            break;
        case TG_REDUCE_VAR:
        case TG_REDUCE_STD: {
            double v = n - ddof > 0 ? c[i] / (double)(n - ddof) : NAN;
            od[i] = op == TG_REDUCE_STD ? sqrt(v) : v;
            break;
        }
        case TG_REDUCE_ARGMIN:
        case TG_REDUCE_ARGMAX:
            ((int64_t *)o->data)[i] = ((const int64_t *)st[1])[i];
            break;
        default: /* min, max: back to the input's dtype */
            tg__convert((uint8_t *)o->data + i * tg__nd_itemsize(out_dt),
                        out_dt, (const uint8_t *)st[0] + 8 * i, like->dtype, 1);
        }
    }
    tg_value *v = tg__nd_value(o);
    return v ? v : tg_error(COMBINE ": %s", tg_last_error());
}

/* combine(params = [op, finish, ddof, out dtype, out shape], partials):
 * the merged partial, or (finish) the output chunk. */
static tg_value *combine_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t oshape[TG__ND_MAX];
    tg__params_init(&p, COMBINE, nargs ? args[0] : NULL);
    tg_reduce_op op =
        (tg_reduce_op)tg__param_int(&p, "op", 0, TG_REDUCE_ARGMAX);
    bool fin = tg__param_int(&p, "finish", 0, 1) != 0;
    int ddof = (int)tg__param_int(&p, "ddof", INT32_MIN, INT32_MAX);
    tg_dtype odt = (tg_dtype)tg__param_int(&p, "dtype", 0, TG_DT_BOOL);
    size_t ond = tg__param_sizes(&p, "out shape", TG__ND_MAX, oshape);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    if (nargs < 2)
        return tg_error(COMBINE ": no partials");
    part first, b;
    const char *msg = read_part(op, args[1], &first, NULL);
    for (size_t i = 2; !msg && i < nargs; i++)
        msg = read_part(op, args[i], &b, &first);
    if (msg)
        return tg_error(COMBINE ": %s", msg);
    size_t k = n_state(op), m = first.a[0]->size;
    void *st[2] = {NULL, NULL};
    int64_t n = 0;
    tg_value *res = NULL;
    for (size_t i = 0; i < k; i++)
        if (!(st[i] = tg__calloc(m ? m : 1, 8)))
            goto done;
    for (size_t i = 1; i < nargs; i++) {
        read_part(op, args[i], &b, &first);
        if (i == 1 && op != TG_REDUCE_SUM && op != TG_REDUCE_MEAN) {
            for (size_t j = 0; j < k; j++)
                memcpy(st[j], b.a[j]->data, m * 8);
            n = b.n;
            continue;
        }
        merge(op, &n, st, &b);
    }
    if (fin) {
        res = finish(op, ddof, odt, n, st, first.a[0], ond, oshape);
    } else {
        tg_value *items[3] = {tg_int(n), NULL, NULL};
        for (size_t i = 0; i < k; i++)
            items[i + 1] = tg_ndarray_new(first.a[i]->dtype, first.a[i]->ndim,
                                          first.a[i]->shape, st[i]);
        res = tg_list_from(k + 1, items);
    }
done:
    for (size_t i = 0; i < k; i++)
        tg__free(st[i]);
    return res ? res : tg_error(COMBINE ": %s", tg_last_error());
}

void tg__array_register_reduce(void)
{
    tg__array_register(TG__T_PARTIAL, PARTIAL, partial_task);
    tg__array_register(TG__T_COMBINE, COMBINE, combine_task);
}

/* ---- builders -------------------------------------------------------- */

/* Reduces vals[0 .. n) (partials) level by level, split_every at a time;
 * the root finishes into the output chunk of shape (ond, oshape). */
static tg_value *tree(tg_graph *g, tg_value **vals, size_t n, size_t fan,
                      tg_reduce_op op, int ddof, tg_dtype odt, size_t ond,
                      const size_t *oshape)
{
    do {
        size_t m = 0;
        for (size_t i = 0; i < n; i += fan) {
            size_t k = n - i < fan ? n - i : fan;
            tg_value *params =
                tg_list(5, tg_int(op), tg_int(n <= fan), tg_int(ddof),
                        tg_int(odt), tg__sizes_value(ond, oshape));
            if (!(vals[m++] =
                      tg__array_call(g, TG__T_COMBINE, params, k, &vals[i])))
                return NULL;
        }
        if (n <= fan)
            return vals[0];
        n = m;
    } while (n);
    return NULL;
}

tg_array *tg_array_reduce(tg_array *a, tg_reduce_op op, int axis,
                          const tg_reduce_opts *opts)
{
    const char *fn = "tg_array_reduce";
    tg_reduce_opts o = opts ? *opts : (tg_reduce_opts){0};
    size_t fan = o.split_every ? o.split_every : DEFAULT_SPLIT_EVERY;
    if (tg__array_check(fn, 1, &a) != 0)
        return NULL;
    if ((unsigned)op > TG_REDUCE_ARGMAX || fan < 2)
        return tg__seterr_null(TG_EINVAL, "%s: op %d, split_every %zu", fn, op,
                               fan);
    int ax = axis == TG_AXIS_ALL ? -1 : tg__norm_axis(axis, a->ndim);
    if (axis != TG_AXIS_ALL && ax < 0)
        return tg__seterr_null(TG_EINVAL,
                               "%s: axis %d is out of range for "
                               "%zu dimensions",
                               fn, axis, a->ndim);
    size_t n_red = 1;
    if (ax >= 0)
        n_red = a->shape[ax];
    else
        tg__nd_count(a->ndim, a->shape, 0, &n_red);
    bool ext = op == TG_REDUCE_MIN || op == TG_REDUCE_MAX
               || op == TG_REDUCE_ARGMIN || op == TG_REDUCE_ARGMAX;
    if (ext && n_red == 0)
        return tg__seterr_null(TG_EINVAL,
                               "%s: zero-size array to reduction "
                               "operation %s, which has no "
                               "identity",
                               fn, op_name(op));

    /* The result's shape and chunks. */
    size_t shape[TG__ND_MAX], chunk[TG__ND_MAX], nd = 0;
    for (size_t k = 0; k < a->ndim; k++) {
        bool red = ax < 0 || (size_t)ax == k;
        if (red && !o.keepdims)
            continue;
        shape[nd] = red ? 1 : a->shape[k];
        chunk[nd++] = red ? 1 : a->chunk[k];
    }
    tg__prog p;
    tg__array_as_prog(a, &p);
    tg_value **leaf[TG__PROG_MAX_INPUTS];
    tg_dtype odt = out_type(op, a->dtype);
    tg_array *out = tg__array_new(a->g, odt, nd, shape, chunk);
    tg_value **parts = out ? tg__malloc(a->n_blocks * sizeof *parts) : NULL;
    if (!parts || tg__prog_leaves(&p, leaf) != 0
        || tg__array_alloc_blocks(out) != 0)
        goto fail;
    tg_value *pv = tg__prog_value(p.code, p.n_code);
    for (size_t b = 0; b < a->n_blocks; b++) {
        size_t bs[TG__ND_MAX], st[TG__ND_MAX];
        tg_value *args[TG__PROG_MAX_INPUTS];
        tg__array_block_box(a, b, bs, st);
        tg__prog_leaf_args(a, &p, leaf, b, args);
        tg_value *params =
            tg_list(6, tg_int(op), tg_int(ax), tg__sizes_value(a->ndim, bs),
                    tg__sizes_value(a->ndim, st),
                    tg__sizes_value(a->ndim, a->shape), tg_incref(pv));
        if (!(parts[b] = tg__array_call(a->g, TG__T_PARTIAL, params, p.n_inputs,
                                        args))) {
            tg_decref(pv);
            goto fail;
        }
    }
    tg_decref(pv);
    /* One tree per output chunk over the partials along the axis (all of
     * them for every axis), gathered in place. */
    size_t along = ax >= 0 ? a->grid[ax] : a->n_blocks;
    size_t inner = 1;
    for (size_t k = ax >= 0 ? (size_t)ax + 1 : a->ndim; k < a->ndim; k++)
        inner *= a->grid[k];
    tg_value **row = tg__malloc(along * sizeof *row);
    if (!row)
        goto fail;
    for (size_t ob = 0; ob < out->n_blocks; ob++) {
        size_t bs[TG__ND_MAX], hi = ob / inner, lo = ob % inner;
        tg__array_block_box(out, ob, bs, NULL);
        for (size_t j = 0; j < along; j++)
            row[j] = parts[ax >= 0 ? (hi * along + j) * inner + lo : j];
        if (!(out->blocks[ob] =
                  tree(a->g, row, along, fan, op, o.ddof, odt, nd, bs))) {
            tg__free(row);
            goto fail;
        }
    }
    tg__free(row);
    tg__free(parts);
    return out;
fail:
    tg__free(parts);
    return NULL;
}

tg_array *tg_array_sum(tg_array *a, int axis)
{
    return tg_array_reduce(a, TG_REDUCE_SUM, axis, NULL);
}
tg_array *tg_array_mean(tg_array *a, int axis)
{
    return tg_array_reduce(a, TG_REDUCE_MEAN, axis, NULL);
}
tg_array *tg_array_min(tg_array *a, int axis)
{
    return tg_array_reduce(a, TG_REDUCE_MIN, axis, NULL);
}
tg_array *tg_array_max(tg_array *a, int axis)
{
    return tg_array_reduce(a, TG_REDUCE_MAX, axis, NULL);
}
tg_array *tg_array_argmin(tg_array *a, int axis)
{
    return tg_array_reduce(a, TG_REDUCE_ARGMIN, axis, NULL);
}
tg_array *tg_array_argmax(tg_array *a, int axis)
{
    return tg_array_reduce(a, TG_REDUCE_ARGMAX, axis, NULL);
}
tg_array *tg_array_var(tg_array *a, int axis, int ddof)
{
    tg_reduce_opts o = {.ddof = ddof};
    return tg_array_reduce(a, TG_REDUCE_VAR, axis, &o);
}
tg_array *tg_array_std(tg_array *a, int axis, int ddof)
{
    tg_reduce_opts o = {.ddof = ddof};
    return tg_array_reduce(a, TG_REDUCE_STD, axis, &o);
}
