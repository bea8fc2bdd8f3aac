/* taskgraph/common.h - export macro, error codes and error reporting.
 *
 * Every fallible library call returns either an int (0 or a negative TG_E*
 * code) or a pointer (NULL on failure); tg_last_error() then holds a
 * human-readable detail for the calling thread.  See DESIGN.md, "Errors".
 */
#ifndef TASKGRAPH_COMMON_H
#define TASKGRAPH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TG_BUILDING) && defined(__GNUC__)
#define TG_API __attribute__((visibility("default")))
#else
#define TG_API
#endif

#if defined(__GNUC__)
#define TG_WARN_UNUSED __attribute__((warn_unused_result))
#define TG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TG_WARN_UNUSED
#define TG_PRINTF(f, a)
#endif

/* Error codes: one table of (name, value, message), as libuv's
 * UV_ERRNO_MAP; every code but TG_OK is negative.  tg_strerror() gives
 * the message, tg_err_name() the name. */
#define TG_ERRNO_MAP(X)                                                        \
    X(OK, 0, "success")                                                        \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(ENOENT, -3, "not found")      /* no such name, key or file */            \
    X(EEXIST, -4, "already exists") /* name already registered */              \
    X(EIO, -5, "input/output error")                                           \
    X(ETASK, -6, "task failed")   /* see the error value */                    \
    X(ECANCELED, -7, "cancelled") /* cancelled or timed out */                 \
    X(EFORMAT, -8, "malformed data")                                           \
    X(EPROTO, -9, "protocol error")                                            \
    X(EUNSUPPORTED, -10, "not supported") /* not here */

typedef enum tg_errcode {
#define TG__ERR_ENUM(name, value, msg) TG_##name = value,
    TG_ERRNO_MAP(TG__ERR_ENUM)
#undef TG__ERR_ENUM
} tg_errcode;

/* The message of an error code ("invalid argument"), or "unknown error".
 * Never NULL.  Any thread. */
TG_API const char *tg_strerror(int code);
/* The name of an error code ("TG_EINVAL"), or "TG_UNKNOWN".  Never NULL.
 * Any thread. */
TG_API const char *tg_err_name(int code);

/* Detail of the last failed call on this thread, or "" if none failed.
 * Borrowed: valid until the next failing call on the same thread.
 * Any thread (the message is thread-local). */
TG_API const char *tg_last_error(void);

/* Large blocks the library frees (graphs, plans) are kept for reuse, up
 * to TG_CACHE_MB megabytes (environment; default 256, 0 turns the cache
 * off), and each thread keeps the small values it frees for its next
 * ones.  tg_memory_trim() returns the blocks, and the calling thread's
 * values, to malloc now; tg_memory_cached() says how many bytes of
 * blocks are kept.  Any thread. */
TG_API void tg_memory_trim(void);
TG_API size_t tg_memory_cached(void);

/* The library's version as "major.minor.patch".  Any thread. */
TG_API const char *tg_version(void);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_COMMON_H */
