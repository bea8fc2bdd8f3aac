/* taskgraph/adapt.h - delay existing C functions over plain C types.
 *
 * TG_ADAPT(ret, fn, argtypes...) defines a task function `tg_adapted_fn`
 * that unboxes each argument, calls fn and boxes the result, checking the
 * argument count and types (a mismatch fails the task with a message).
 * TG_CALL(g, fn, args...) then records a delayed call of it, named "fn".
 * Each argument is a tg_value * (a literal or a delayed value) or a plain
 * C value, which is converted to the parameter's type and boxed, so
 * TG_CALL(g, f, 2, 3) and TG_CALL(g, f, 2.0, 3.0) record the same call
 * when f takes doubles:
 *
 *     static double f(double x, double y) { return x * y; }
 *     TG_ADAPT(double, f, double, double)
 *     ...
 *     tg_value *z = TG_CALL(g, f, 1.5, x);     (x: a delayed value)
 *
 * Anything else is a compile-time error: a struct or another pointer
 * has no conversion; a string for a number parameter, or a number for a
 * tg_cstr one, names tg__number_parameter_takes_no_string or
 * tg__string_parameter_takes_no_number in the compiler's message.  The
 * wrong number of arguments is a compile-time error too (a negative
 * array size).
 *
 * Supported types, each a single token: double, float, int, long,
 * int64_t, int32_t, uint32_t, uint64_t, size_t, bool and tg_cstr (const
 * char *; a result of that type is copied); `void` as the result type
 * (the task returns null).  uint64_t values above INT64_MAX travel as
 * negative int64 values and come back unchanged.  Up to six arguments.
 *
 * C++ has no _Generic: there, TG_CALL takes tg_value * arguments only
 * (box plain values yourself: TG_CALL(g, f, tg_float(2), x)).
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

#define TG__UNBOX_uint64_t(v, o) tg__unbox_uint64_t(v, o)
TG__UNBOX_NARROW(uint64_t, int64_t, tg_unbox_int64)

#define TG__BOX_double(x) tg_float(x)
#define TG__BOX_float(x) tg_float((double)(x))
#define TG__BOX_int(x) tg_int((int64_t)(x))
#define TG__BOX_long(x) tg_int((int64_t)(x))
#define TG__BOX_int64_t(x) tg_int(x)
#define TG__BOX_int32_t(x) tg_int((int64_t)(x))
#define TG__BOX_uint32_t(x) tg_int((int64_t)(x))
#define TG__BOX_uint64_t(x) tg_int((int64_t)(x))
#define TG__BOX_size_t(x) tg_int((int64_t)(x))
#define TG__BOX_bool(x) tg_bool(x)
#define TG__BOX__Bool(x) tg_bool(x)
#define TG__BOX_tg_cstr(x) tg_str(x)
#define TG__BOX_void(x) ((x), tg_null())

/* The parameter types that make a plain C argument a compile-time error
 * (their names are what the compiler's message shows). */
struct tg__number_parameter_takes_no_string {
    char unused;
};
struct tg__string_parameter_takes_no_number {
    char unused;
};

/* Argument i of adapted function fn, as TG_CALL passes it: one converter
 * per kind of C argument (tg_value *, signed or unsigned integer,
 * floating, string); the kinds a parameter of type T cannot take have a
 * parameter no argument converts to. */
#define TG__ARGV(fn, i)                                                        \
    static inline tg_value *tg__arg_##fn##_##i##_v(tg_value *v)                \
    {                                                                          \
        return v;                                                              \
    }
#define TG__ARGS_NUMBER(fn, i, T)                                              \
    TG__ARGV(fn, i)                                                            \
    static inline tg_value *tg__arg_##fn##_##i##_i(long long x)                \
    {                                                                          \
        return TG__BOX_##T((T)x);                                              \
    }                                                                          \
    static inline tg_value *tg__arg_##fn##_##i##_u(unsigned long long x)       \
    {                                                                          \
        return TG__BOX_##T((T)x);                                              \
    }                                                                          \
    static inline tg_value *tg__arg_##fn##_##i##_f(long double x)              \
    {                                                                          \
        return TG__BOX_##T((T)x);                                              \
    }                                                                          \
    static inline tg_value *tg__arg_##fn##_##i##_s(                            \
        struct tg__number_parameter_takes_no_string x)                         \
    {                                                                          \
        (void)x;                                                               \
        return NULL;                                                           \
    }
#define TG__ARGS_STRING(fn, i)                                                 \
    TG__ARGV(fn, i)                                                            \
    static inline tg_value *tg__arg_##fn##_##i##_i(                            \
        struct tg__string_parameter_takes_no_number x)                         \
    {                                                                          \
        (void)x;                                                               \
        return NULL;                                                           \
    }                                                                          \
    static inline tg_value *tg__arg_##fn##_##i##_u(                            \
        struct tg__string_parameter_takes_no_number x)                         \
    {                                                                          \
        (void)x;                                                               \
        return NULL;                                                           \
    }                                                                          \
    static inline tg_value *tg__arg_##fn##_##i##_f(                            \
        struct tg__string_parameter_takes_no_number x)                         \
    {                                                                          \
        (void)x;                                                               \
        return NULL;                                                           \
    }                                                                          \
    static inline tg_value *tg__arg_##fn##_##i##_s(const char *x)              \
    {                                                                          \
        return tg_str(x);                                                      \
    }
#define TG__ARGS_double(fn, i) TG__ARGS_NUMBER(fn, i, double)
#define TG__ARGS_float(fn, i) TG__ARGS_NUMBER(fn, i, float)
#define TG__ARGS_int(fn, i) TG__ARGS_NUMBER(fn, i, int)
#define TG__ARGS_long(fn, i) TG__ARGS_NUMBER(fn, i, long)
#define TG__ARGS_int64_t(fn, i) TG__ARGS_NUMBER(fn, i, int64_t)
#define TG__ARGS_int32_t(fn, i) TG__ARGS_NUMBER(fn, i, int32_t)
#define TG__ARGS_uint32_t(fn, i) TG__ARGS_NUMBER(fn, i, uint32_t)
#define TG__ARGS_uint64_t(fn, i) TG__ARGS_NUMBER(fn, i, uint64_t)
#define TG__ARGS_size_t(fn, i) TG__ARGS_NUMBER(fn, i, size_t)
#define TG__ARGS_bool(fn, i) TG__ARGS_NUMBER(fn, i, bool)
#define TG__ARGS__Bool(fn, i) TG__ARGS_NUMBER(fn, i, _Bool)
#define TG__ARGS_tg_cstr(fn, i) TG__ARGS_STRING(fn, i)
#define TG__ARGS(fn, i, T) TG__ARGS_##T(fn, i)

/* clang-format off */
#define TG__ARG(fn, T, i)                                                 \
    T a##i;                                                               \
    if (!TG__UNBOX_##T(args[i], &a##i))                                   \
        return tg_adapt_error(#fn, i, #T, args[i]);

#define TG__ADAPT_HEAD(fn, n)                                             \
    enum { tg__nargs_##fn = n };                                          \
    static tg_value *tg_adapted_##fn(tg_value *const *args, size_t nargs, \
                                     void *ctx)                           \
    {                                                                     \
        (void)ctx;                                                        \
        if (nargs != n)                                                   \
            return tg_error("%s: expected %d arguments, got %zu", #fn, n, \
                            nargs);

#define TG_ADAPT1(R, fn, T0)                                              \
    TG__ARGS(fn, 0, T0)                                                   \
    TG__ADAPT_HEAD(fn, 1)                                                 \
    TG__ARG(fn, T0, 0)                                                    \
    return TG__BOX_##R(fn(a0));                                           \
    }
#define TG_ADAPT2(R, fn, T0, T1)                                          \
    TG__ARGS(fn, 0, T0) TG__ARGS(fn, 1, T1)                               \
    TG__ADAPT_HEAD(fn, 2)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1)                                 \
    return TG__BOX_##R(fn(a0, a1));                                       \
    }
#define TG_ADAPT3(R, fn, T0, T1, T2)                                      \
    TG__ARGS(fn, 0, T0) TG__ARGS(fn, 1, T1) TG__ARGS(fn, 2, T2)           \
    TG__ADAPT_HEAD(fn, 3)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1) TG__ARG(fn, T2, 2)              \
    return TG__BOX_##R(fn(a0, a1, a2));                                   \
    }
#define TG_ADAPT4(R, fn, T0, T1, T2, T3)                                  \
    TG__ARGS(fn, 0, T0) TG__ARGS(fn, 1, T1) TG__ARGS(fn, 2, T2)           \
    TG__ARGS(fn, 3, T3)                                                   \
    TG__ADAPT_HEAD(fn, 4)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1) TG__ARG(fn, T2, 2)              \
    TG__ARG(fn, T3, 3)                                                    \
    return TG__BOX_##R(fn(a0, a1, a2, a3));                               \
    }
#define TG_ADAPT5(R, fn, T0, T1, T2, T3, T4)                              \
    TG__ARGS(fn, 0, T0) TG__ARGS(fn, 1, T1) TG__ARGS(fn, 2, T2)           \
    TG__ARGS(fn, 3, T3) TG__ARGS(fn, 4, T4)                               \
    TG__ADAPT_HEAD(fn, 5)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1) TG__ARG(fn, T2, 2)              \
    TG__ARG(fn, T3, 3) TG__ARG(fn, T4, 4)                                 \
    return TG__BOX_##R(fn(a0, a1, a2, a3, a4));                           \
    }
#define TG_ADAPT6(R, fn, T0, T1, T2, T3, T4, T5)                          \
    TG__ARGS(fn, 0, T0) TG__ARGS(fn, 1, T1) TG__ARGS(fn, 2, T2)           \
    TG__ARGS(fn, 3, T3) TG__ARGS(fn, 4, T4) TG__ARGS(fn, 5, T5)           \
    TG__ADAPT_HEAD(fn, 6)                                                 \
    TG__ARG(fn, T0, 0) TG__ARG(fn, T1, 1) TG__ARG(fn, T2, 2)              \
    TG__ARG(fn, T3, 3) TG__ARG(fn, T4, 4) TG__ARG(fn, T5, 5)              \
    return TG__BOX_##R(fn(a0, a1, a2, a3, a4, a5));                       \
    }

/* Argument x at position i of a call of fn, boxed by its C type. */
#ifdef __cplusplus
#define TG__CALLARG(fn, i, x) tg__arg_##fn##_##i##_v(x)
#else
#define TG__CALLARG(fn, i, x)                                             \
    _Generic((x),                                                         \
        tg_value *: tg__arg_##fn##_##i##_v,                               \
        _Bool: tg__arg_##fn##_##i##_i,                                    \
        char: tg__arg_##fn##_##i##_i,                                     \
        signed char: tg__arg_##fn##_##i##_i,                              \
        short: tg__arg_##fn##_##i##_i,                                    \
        int: tg__arg_##fn##_##i##_i,                                      \
        long: tg__arg_##fn##_##i##_i,                                     \
        long long: tg__arg_##fn##_##i##_i,                                \
        unsigned char: tg__arg_##fn##_##i##_u,                            \
        unsigned short: tg__arg_##fn##_##i##_u,                           \
        unsigned int: tg__arg_##fn##_##i##_u,                             \
        unsigned long: tg__arg_##fn##_##i##_u,                            \
        unsigned long long: tg__arg_##fn##_##i##_u,                       \
        float: tg__arg_##fn##_##i##_f,                                    \
        double: tg__arg_##fn##_##i##_f,                                   \
        long double: tg__arg_##fn##_##i##_f,                              \
        char *: tg__arg_##fn##_##i##_s,                                   \
        const char *: tg__arg_##fn##_##i##_s)(x)
#endif
#define TG__CALLARGS1(fn, a) TG__CALLARG(fn, 0, a)
#define TG__CALLARGS2(fn, a, b) TG__CALLARGS1(fn, a), TG__CALLARG(fn, 1, b)
#define TG__CALLARGS3(fn, a, b, c)                                        \
    TG__CALLARGS2(fn, a, b), TG__CALLARG(fn, 2, c)
#define TG__CALLARGS4(fn, a, b, c, d)                                     \
    TG__CALLARGS3(fn, a, b, c), TG__CALLARG(fn, 3, d)
#define TG__CALLARGS5(fn, a, b, c, d, e)                                  \
    TG__CALLARGS4(fn, a, b, c, d), TG__CALLARG(fn, 4, e)
#define TG__CALLARGS6(fn, a, b, c, d, e, f)                               \
    TG__CALLARGS5(fn, a, b, c, d, e), TG__CALLARG(fn, 5, f)
/* clang-format on */

/* TG_ADAPT(ret, fn, argtypes...): picks TG_ADAPTn by counting types. */
#define TG_ADAPT(R, ...)                                                       \
    TG__ADAPT_CAT(TG_ADAPT, TG__ADAPT_N(__VA_ARGS__))(R, __VA_ARGS__)
#define TG__ADAPT_N(...) TG__ADAPT_N_(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0, -)
#define TG__ADAPT_N_(fn, _1, _2, _3, _4, _5, _6, N, ...) N
#define TG__ADAPT_CAT(a, b) TG__ADAPT_CAT_(a, b)
#define TG__ADAPT_CAT_(a, b) a##b

/* Records a call of an adapted function, named after it: a delayed
 * value, or NULL (see tg_delayed).  Each argument is a tg_value * (a
 * literal or a delayed value of g, stolen) or a plain C value, boxed as
 * the parameter's type. */
#define TG_CALL(g, fn, ...)                                                    \
    tg_delayed_counted(                                                        \
        TG__NARGS(g, fn, __VA_ARGS__) - 2                                      \
            + 0                                                                \
                  * sizeof(                                                    \
                      char[TG__NARGS(g, fn, __VA_ARGS__) - 2 == tg__nargs_##fn \
                               ? 1                                             \
                               : -1]), /* the count fn takes */                \
        #fn, g, tg_adapted_##fn,                                               \
        TG__ADAPT_CAT(TG__CALLARGS,                                            \
                      TG__ADAPT_N(fn, __VA_ARGS__))(fn, __VA_ARGS__))
/* Registers an adapted function under its own name (for workers). */
#define TG_REGISTER_ADAPTED(fn) tg_register(#fn, tg_adapted_##fn, NULL)

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_ADAPT_H */
