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

/* Error codes, all negative.  tg_strerror() names each one. */
typedef enum tg_errcode {
    TG_OK = 0,
    TG_EINVAL = -1,       /* invalid argument */
    TG_ENOMEM = -2,       /* out of memory */
    TG_ENOENT = -3,       /* no such name, key or file */
    TG_EEXIST = -4,       /* name already registered */
    TG_EIO = -5,          /* input/output error */
    TG_ETASK = -6,        /* a task failed: see the error value */
    TG_ECANCELED = -7,    /* the compute was cancelled or timed out */
    TG_EFORMAT = -8,      /* malformed input data */
    TG_EPROTO = -9,       /* protocol violation */
    TG_EUNSUPPORTED = -10 /* operation not supported here */
} tg_errcode;

/* Name of an error code ("invalid argument").  Never NULL.  Any thread. */
TG_API const char *tg_strerror(int code);

/* Detail of the last failed call on this thread, or "" if none failed.
 * Borrowed: valid until the next failing call on the same thread.
 * Any thread (the message is thread-local). */
TG_API const char *tg_last_error(void);

/* Large blocks the library frees (graphs, plans) are kept for reuse, up
 * to TG_CACHE_MB megabytes (environment; default 256, 0 turns the cache
 * off).  tg_memory_trim() returns them all to the system now;
 * tg_memory_cached() says how many bytes are kept.  Any thread. */
TG_API void tg_memory_trim(void);
TG_API size_t tg_memory_cached(void);

/* The library's version as "major.minor.patch".  Any thread. */
TG_API const char *tg_version(void);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_COMMON_H */
