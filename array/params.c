/* array/params.c - reading a task's parameter list, and its chunks.
 *
 * A task's first argument is a list of plain values written by a
 * builder; on a cluster it may come from anywhere, so every read checks
 * type and range.  The first failure is kept and later reads return
 * zeros, so a task reads all its parameters and checks once
 * (tg__params_done), failing with a message that names the task and
 * the parameter.
 */
#include <stdarg.h>
#include <stdio.h>

#include "array_internal.h"

void tg__params_init(tg__params *p, const char *task, const tg_value *list)
{
    p->list = list;
    p->next = 0;
    p->task = task;
    p->err[0] = '\0';
    if (tg_typeof(list) != TG_LIST)
        snprintf(p->err, sizeof p->err, "parameters are a %s, not a list",
                 tg_type_name(tg_typeof(list)));
}

static void fail(tg__params *p, const char *fmt, ...) TG_PRINTF(2, 3);
static void fail(tg__params *p, const char *fmt, ...)
{
    if (p->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
}

/* The next parameter, or NULL (after recording why). */
static const tg_value *next(tg__params *p, const char *what)
{
    if (p->err[0])
        return NULL;
    const tg_value *v = tg_list_get(p->list, p->next);
    if (!v) {
        fail(p, "parameter %zu (%s) is missing", p->next, what);
        return NULL;
    }
    p->next++;
    return v;
}

int64_t tg__param_int(tg__params *p, const char *what, int64_t lo, int64_t hi)
{
    const tg_value *v = next(p, what);
    if (!v)
        return lo > 0 ? lo : (hi < 0 ? hi : 0);
    if (tg_typeof(v) != TG_INT) {
        fail(p, "parameter %s is a %s, not an int", what,
             tg_type_name(tg_typeof(v)));
        return lo > 0 ? lo : (hi < 0 ? hi : 0);
    }
    int64_t x = tg_as_int(v);
    if (x < lo || x > hi) {
        fail(p, "parameter %s = %lld is outside [%lld, %lld]", what,
             (long long)x, (long long)lo, (long long)hi);
        return lo > 0 ? lo : (hi < 0 ? hi : 0);
    }
    return x;
}

double tg__param_float(tg__params *p, const char *what)
{
    const tg_value *v = next(p, what);
    if (!v)
        return 0.0;
    if (tg_typeof(v) != TG_FLOAT && tg_typeof(v) != TG_INT) {
        fail(p, "parameter %s is a %s, not a number", what,
             tg_type_name(tg_typeof(v)));
        return 0.0;
    }
    return tg_as_float(v);
}

const char *tg__param_str(tg__params *p, const char *what)
{
    const tg_value *v = next(p, what);
    if (!v)
        return "";
    size_t len = 0;
    const char *s = tg_as_str(v);
    tg_as_bytes(v, &len);
    if (!s || strlen(s) != len) {
        fail(p, "parameter %s is not a string without NULs", what);
        return "";
    }
    return s;
}

const tg_value *tg__param_list(tg__params *p, const char *what)
{
    const tg_value *v = next(p, what);
    if (v && tg_typeof(v) != TG_LIST) {
        fail(p, "parameter %s is a %s, not a list", what,
             tg_type_name(tg_typeof(v)));
        return NULL;
    }
    return v;
}

size_t tg__param_ints(tg__params *p, const char *what, size_t max, int64_t lo,
                      int64_t hi, int64_t *out)
{
    const tg_value *l = tg__param_list(p, what);
    size_t n = tg_list_len(l);
    if (!l)
        return 0;
    if (n > max) {
        fail(p, "parameter %s has %zu items (at most %zu)", what, n, max);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const tg_value *v = tg_list_get(l, i);
        int64_t x = tg_as_int(v);
        if (tg_typeof(v) != TG_INT || x < lo || x > hi) {
            fail(p, "parameter %s item %zu is not an int in [%lld, %lld]", what,
                 i, (long long)lo, (long long)hi);
            return 0;
        }
        out[i] = x;
    }
    return n;
}

size_t tg__param_sizes(tg__params *p, const char *what, size_t max, size_t *out)
{
    int64_t tmp[TG__ND_MAX * 4];
    size_t n = 0;
    if (max > sizeof tmp / sizeof *tmp) {
        fail(p, "parameter %s: internal limit", what);
        return 0;
    }
    n = tg__param_ints(p, what, max, 0, INT64_MAX / 2, tmp);
    for (size_t i = 0; i < n; i++)
        out[i] = (size_t)tmp[i];
    return n;
}

tg_value *tg__params_done(tg__params *p)
{
    if (!p->err[0] && p->next != tg_list_len(p->list))
        fail(p, "%zu parameters, %zu expected", tg_list_len(p->list), p->next);
    if (!p->err[0])
        return NULL;
    return tg_error("%s: %s", p->task, p->err);
}

tg_value *tg__sizes_value(size_t n, const size_t *v)
{
    tg_value *small[TG__ND_MAX] = {NULL}, **items = small;
    if (n > TG__ND_MAX && !(items = tg__malloc(n * sizeof *items)))
        return NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = tg_int((int64_t)v[i]);
    tg_value *l = tg_list_from(n, items);
    if (items != small)
        tg__free(items);
    return l;
}

const tg__nd *tg__arg_nd(const char *task, tg_value *const *args, size_t nargs,
                         size_t i, char *err, size_t len)
{
    const tg__nd *a = i < nargs ? tg__nd_of(args[i]) : NULL;
    if (!a)
        snprintf(err, len, "%s: argument %zu is %s, not an n-d array", task, i,
                 i < nargs ? tg_type_name(tg_typeof(args[i])) : "missing");
    return a;
}
