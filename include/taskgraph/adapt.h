/* taskgraph/adapt.h - delay existing C functions over plain C types.
 *
 * TG_ADAPT(ret, fn, argtypes...) defines a task function `tg_adapted_fn`
 * that unboxes each argument, calls fn and boxes the result, checking the
 * argument count and types (a mismatch fails the task with a message).
 * TG_CALL(g, fn, args...) then records a delayed call of it, named "fn":
 *
 *     static double f(double x, double y) { return x * y; }
 *     TG_ADAPT(double, f, double, double)
 *     ...
 *     tg_value *z = TG_CALL(g, f, tg_float(1.5), x);
 *
 * Supported types, each a single token: double, float, int, long,
 * int64_t, int32_t, uint32_t, size_t, bool and tg_cstr (const char *;
 * a result of that type is copied).  Up to six arguments.
 */
#ifndef TASKGRAPH_ADAPT_H
#define TASKGRAPH_ADAPT_H

#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef const char *tg_cstr;

/* Argument checks used by the generated wrappers.  Each returns true and
 * stores the unboxed value, or false when the value has the wrong type. */
TG_API bool tg_unbox_double(const tg_value *v, double *out);
TG_API bool tg_unbox_int64(const tg_value *v, int64_t *out);
TG_API bool tg_unbox_bool(const tg_value *v, bool *out);
TG_API bool tg_unbox_cstr(const tg_value *v, tg_cstr *out);
/* The error value a wrapper returns on a bad argument.  New reference. */
TG_API tg_value *tg_adapt_error(const char *fn, size_t i, const char *want,
                                const tg_value *got);

#define TG__UNBOX_double(v, o) tg_unbox_double(v, o)
#define TG__UNBOX_int64_t(v, o) tg_unbox_int64(v, o)
#define TG__UNBOX_bool(v, o) tg_unbox_bool(v, o)
#define TG__UNBOX__Bool(v, o) tg_unbox_bool(v, o) /* bool, expanded */
#define TG__UNBOX_tg_cstr(v, o) tg_unbox_cstr(v, o)
#define TG__UNBOX_float(v, o) tg__unbox_float(v, o)
#define TG__UNBOX_int(v, o) tg__unbox_int(v, o)
#define TG__UNBOX_long(v, o) tg__unbox_long(v, o)
#define TG__UNBOX_int32_t(v, o) tg__unbox_int32_t(v, o)
#define TG__UNBOX_uint32_t(v, o) tg__unbox_uint32_t(v, o)
#define TG__UNBOX_size_t(v, o) tg__unbox_size_t(v, o)

#define TG__UNBOX_NARROW(T, W, f)                                              \
    static inline bool tg__unbox_##T(const tg_value *v, T *o)                  \
    {                                                                          \
        W w;                                                                   \
        if (!f(v, &w))                                                         \
            return false;                                                      \
        *o = (T)w;                                                             \
        return true;                                                           \
    }
TG__UNBOX_NARROW(float, double, tg_unbox_double)
TG__UNBOX_NARROW(int, int64_t, tg_unbox_int64)
TG__UNBOX_NARROW(long, int64_t, tg_unbox_int64)
TG__UNBOX_NARROW(int32_t, int64_t, tg_unbox_int64)
TG__UNBOX_NARROW(uint32_t, int64_t, tg_unbox_int64)
TG__UNBOX_NARROW(size_t, int64_t, tg_unbox_int64)

#define TG__BOX_double(x) tg_float(x)
#define TG__BOX_float(x) tg_float((double)(x))
#define TG__BOX_int(x) tg_int((int64_t)(x))
#define TG__BOX_long(x) tg_int((int64_t)(x))
#define TG__BOX_int64_t(x) tg_int(x)
#define TG__BOX_int32_t(x) tg_int((int64_t)(x))
#define TG__BOX_uint32_t(x) tg_int((int64_t)(x))
#define TG__BOX_size_t(x) tg_int((int64_t)(x))
#define TG__BOX_bool(x) tg_bool(x)
#define TG__BOX__Bool(x) tg_bool(x)
#define TG__BOX_tg_cstr(x) tg_str(x)

/* clang-format off */
#define TG__ARG(fn, T, i)                                                 \
    T a##i;                                                               \
    if (!TG__UNBOX_##T(args[i], &a##i))                                   \
        return tg_adapt_error(#fn, i, #T, args[i]);

#define TG__ADAPT_HEAD(fn, n)                                             \
    static tg_value *tg_adapted_##fn(tg_value *const *args, size_t nargs, \
                                     void *ctx)                           \
    {                                                                     \
        (void)ctx;                                                        \
        if (nargs != n)                                                   \
            return tg_error("%s: expected %d arguments, got %zu", #fn, n, \
                            nargs);

#define TG_ADAPT1(R, fn, T0)                                              \
    TG__ADAPT_HEAD(fn, 1)                                                 \
    TG__ARG(fn, T0, 0)                                                    \
    return TG__BOX_##R(fn(a0));                                           \
    }
#define TG_ADAPT2(R, fn, T0, T1)                                          \
    TG__ADAPT_HEAD(fn, 2)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1)                                 \
    return TG__BOX_##R(fn(a0, a1));                                       \
    }
#define TG_ADAPT3(R, fn, T0, T1, T2)                                      \
    TG__ADAPT_HEAD(fn, 3)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1) TG__ARG(fn, T2, 2)              \
    return TG__BOX_##R(fn(a0, a1, a2));                                   \
    }
#define TG_ADAPT4(R, fn, T0, T1, T2, T3)                                  \
    TG__ADAPT_HEAD(fn, 4)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1) TG__ARG(fn, T2, 2)              \
    TG__ARG(fn, T3, 3)                                                    \
    return TG__BOX_##R(fn(a0, a1, a2, a3));                               \
    }
#define TG_ADAPT5(R, fn, T0, T1, T2, T3, T4)                              \
    TG__ADAPT_HEAD(fn, 5)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1) TG__ARG(fn, T2, 2)              \
    TG__ARG(fn, T3, 3) TG__ARG(fn, T4, 4)                                 \
    return TG__BOX_##R(fn(a0, a1, a2, a3, a4));                           \
    }
#define TG_ADAPT6(R, fn, T0, T1, T2, T3, T4, T5)                          \
    TG__ADAPT_HEAD(fn, 6)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1) TG__ARG(fn, T2, 2)              \
    TG__ARG(fn, T3, 3) TG__ARG(fn, T4, 4) TG__ARG(fn, T5, 5)              \
    return TG__BOX_##R(fn(a0, a1, a2, a3, a4, a5));                       \
    }
/* clang-format on */

/* TG_ADAPT(ret, fn, argtypes...): picks TG_ADAPTn by counting types. */
#define TG_ADAPT(R, ...)                                                       \
    TG__ADAPT_CAT(TG_ADAPT, TG__ADAPT_N(__VA_ARGS__))(R, __VA_ARGS__)
#define TG__ADAPT_N(...) TG__ADAPT_N_(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0, -)
#define TG__ADAPT_N_(fn, _1, _2, _3, _4, _5, _6, N, ...) N
#define TG__ADAPT_CAT(a, b) TG__ADAPT_CAT_(a, b)
#define TG__ADAPT_CAT_(a, b) a##b

/* Records a call of an adapted function, named after it.  Steals args. */
#define TG_CALL(g, fn, ...)                                                    \
    tg_delayed_counted(TG__NARGS(g, fn, __VA_ARGS__) - 2, #fn, g,              \
                       tg_adapted_##fn, __VA_ARGS__)
/* Registers an adapted function under its own name (for workers). */
#define TG_REGISTER_ADAPTED(fn) tg_register(#fn, tg_adapted_##fn, NULL)

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_ADAPT_H */
