/* runtime/builtins.c - the task functions every process registers.
 *
 * "tg.sum", "tg.min", "tg.max" and "tg.mean" over numbers (what
 * tg_delayed_reduce builds trees of), and "tg.mean.finish", which a
 * reduction by "tg.mean" ends with.  They are registered once, the first
 * time anything uses the registry, so that every process - a client, a
 * worker - resolves them by name without building anything.
 */
#include <math.h>
#include <pthread.h>

#include "alloc_internal.h"
#include "builtins_internal.h"
#include "value_internal.h"

/* A number argument, or a list of them (one level): what the built-ins
 * take.  Walks args[0..n) in order, lists item by item. */
typedef struct numbers {
    tg_value *const *args;
    size_t n, i, item;
} numbers;

/* The next number: 0 at the end, 1 with *v set, -1 for something that
 * is not a number (an error value describing it is in *err). */
static int next_number(numbers *it, const char *fn, const tg_value **v,
                       tg_value **err)
{
    while (it->i < it->n) {
        const tg_value *a = it->args[it->i];
        if (a->type == TG_LIST && it->item < a->u.list.n) {
            *v = a->u.list.items[it->item++];
        } else if (a->type == TG_LIST) {
            it->i++, it->item = 0;
            continue;
        } else {
            *v = a;
            it->i++;
        }
        tg_type t = (tg_type)(*v)->type;
        if (t == TG_INT || t == TG_FLOAT || t == TG_BOOL)
            return 1;
        *err = tg_error("%s: argument %zu is %s, not a number", fn,
                        it->i - (a->type != TG_LIST), tg_type_name(t));
        return -1;
    }
    return 0;
}

/* Sums the numbers: an int while every one is an int (or bool) and no
 * sum overflows, a float from the first float on. */
static tg_value *sum(tg_value *const *args, size_t n, void *ctx)
{
    (void)ctx;
    numbers it = {args, n, 0, 0};
    const tg_value *v;
    tg_value *err = NULL;
    int64_t i = 0;
    double f = 0;
    bool is_float = false;
    for (int rc; (rc = next_number(&it, "tg.sum", &v, &err));) {
        if (rc < 0)
            return err;
        if (!is_float && v->type != TG_FLOAT
            && !__builtin_add_overflow(i, tg_as_int(v), &i))
            continue;
        if (!is_float && v->type != TG_FLOAT) /* overflowed */
            return tg_error("tg.sum: the sum overflows int64");
        if (!is_float)
            f = (double)i, is_float = true;
        f += tg_as_float(v);
    }
    return is_float ? tg_float(f) : tg_int(i);
}

/* The least (less = true) or greatest number, keeping its type; NaN
 * wins, as in NumPy. */
static tg_value *extreme(tg_value *const *args, size_t n, const char *fn,
                         bool less)
{
    numbers it = {args, n, 0, 0};
    const tg_value *v, *best = NULL;
    tg_value *err = NULL;
    for (int rc; (rc = next_number(&it, fn, &v, &err));) {
        if (rc < 0)
            return err;
        if (!best) {
            best = v;
            continue;
        }
        double x = tg_as_float(v), b = tg_as_float(best);
        bool take;
        if (v->type != TG_FLOAT && best->type != TG_FLOAT) /* exact */
            take = less ? tg_as_int(v) < tg_as_int(best)
                        : tg_as_int(v) > tg_as_int(best);
        else
            take = isnan(x) ? !isnan(b) : !isnan(b) && (less ? x < b : x > b);
        if (take)
            best = v;
    }
    if (!best)
        return tg_error("%s: no numbers", fn);
    return tg_incref((tg_value *)best);
}

static tg_value *min(tg_value *const *args, size_t n, void *ctx)
{
    (void)ctx;
    return extreme(args, n, "tg.min", true);
}

static tg_value *max(tg_value *const *args, size_t n, void *ctx)
{
    (void)ctx;
    return extreme(args, n, "tg.max", false);
}

/* The mean of the numbers, a float. */
static tg_value *mean(tg_value *const *args, size_t n, void *ctx)
{
    (void)ctx;
    numbers it = {args, n, 0, 0};
    const tg_value *v;
    tg_value *err = NULL;
    double s = 0;
    size_t count = 0;
    for (int rc; (rc = next_number(&it, "tg.mean", &v, &err));) {
        if (rc < 0)
            return err;
        s += tg_as_float(v);
        count++;
    }
    if (!count)
        return tg_error("tg.mean: no numbers");
    return tg_float(s / (double)count);
}

/* mean.finish(sum, count): the mean of count numbers whose sum this is
 * (the root of a reduction by tg.mean). */
static tg_value *mean_finish(tg_value *const *args, size_t n, void *ctx)
{
    (void)ctx;
    if (n != 2 || tg_typeof(args[1]) != TG_INT || tg_as_int(args[1]) <= 0)
        return tg_error("tg.mean.finish: expected a sum and a positive "
                        "count");
    tg_value *s = sum(args, 1, NULL);
    if (tg_is_error(s))
        return s;
    double m = tg_as_float(s) / (double)tg_as_int(args[1]);
    tg_decref(s);
    return tg_float(m);
}

static const struct {
    const char *name;
    tg_fn fn;
} builtins[] = {
    {"tg.sum", sum},
    {"tg.min", min},
    {"tg.max", max},
    {"tg.mean", mean},
    {"tg.mean.finish", mean_finish},
};

void tg__builtins_register(void)
{
    for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
        tg__registry_add_builtin(builtins[i].name, builtins[i].fn);
}
