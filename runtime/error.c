/* runtime/error.c - error codes and the thread-local last-error detail.
 *
 * Each thread keeps its own message buffer, so tg_last_error() is safe from
 * any thread and reports only that thread's failures.
 */
#include <stdarg.h>
#include <stdio.h>

#include "alloc_internal.h"

static _Thread_local char last_error[512];
static _Thread_local int last_code;

const char *tg_strerror(int code)
{
    switch (code) {
#define TG__ERR_MSG(name, value, msg)                                          \
    case TG_##name: return msg;
        TG_ERRNO_MAP(TG__ERR_MSG)
#undef TG__ERR_MSG
    default: return "unknown error";
    }
}

const char *tg_err_name(int code)
{
    switch (code) {
#define TG__ERR_NAME(name, value, msg)                                         \
    case TG_##name: return "TG_" #name;
        TG_ERRNO_MAP(TG__ERR_NAME)
#undef TG__ERR_NAME
    default: return "TG_UNKNOWN";
    }
}

const char *tg_last_error(void)
{
    return last_error;
}

const char *tg_version(void)
{
    return TG_VERSION;
}

int tg__last_code(int otherwise)
{
    return last_code < 0 ? last_code : otherwise;
}

__attribute__((format(printf, 2, 0))) static void
vset(int code, const char *fmt, va_list ap)
{
    last_code = code;
    int n = snprintf(last_error, sizeof last_error, "%s: ", tg_strerror(code));
    if (n < 0 || (size_t)n >= sizeof last_error)
        return;
    vsnprintf(last_error + n, sizeof last_error - (size_t)n, fmt, ap);
}

int tg__seterr(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(code, fmt, ap);
    va_end(ap);
    return code;
}

void *tg__seterr_null(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(code, fmt, ap);
    va_end(ap);
    return NULL;
}
