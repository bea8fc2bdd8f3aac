/* dataframe/params.c - task parameters as plain values: names lists and
 * schemas, and their decoders.
 *
 * A names list is a list of strings; a schema is [[names...], [dtype
 * ints...]].  Decoders check every item's type and range, and borrow the
 * strings from the value, so a task reads its parameters without copying them;
 * a malformed value is an error, never a crash.
 */
#include "df_internal.h"

tg_value *tg__names_value(size_t n, const char *const *names)
{
    tg_value *small[16] = {0}, **items = small;
    if (n > 16 && !(items = tg__malloc(n * sizeof *items)))
        return NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = tg_str(names[i]);
    tg_value *v = tg_list_from(n, items); /* a NULL item fails it */
    if (items != small)
        tg__free(items);
    return v;
}

tg_value *tg__schema_value(size_t n, const char *const *names,
                           const tg_dtype *types)
{
    tg_value *small[16] = {0}, **items = small;
    if (n > 16 && !(items = tg__malloc(n * sizeof *items)))
        return NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = tg_int((int64_t)types[i]);
    tg_value *tv = tg_list_from(n, items);
    if (items != small)
        tg__free(items);
    return tg_list(2, tg__names_value(n, names), tv);
}

void tg__params_close(tg__params *p)
{
    tg__free(p->names);
    tg__free(p->types);
    memset(p, 0, sizeof *p);
}

int tg__names_decode(const tg_value *v, tg__params *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (tg_typeof(v) != TG_LIST)
        return *why = "not a list of names", -1;
    size_t n = tg_list_len(v);
    out->names = tg__malloc((n ? n : 1) * sizeof *out->names);
    if (!out->names)
        return *why = "out of memory", -1;
    for (size_t i = 0; i < n; i++) {
        if (!(out->names[i] = tg_as_str(tg_list_get(v, i)))) {
            tg__params_close(out);
            return *why = "a name is not a string", -1;
        }
    }
    out->n = n;
    return 0;
}

int tg__schema_decode(const tg_value *v, tg__params *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const tg_value *tv = tg_list_get(v, 1);
    if (tg_typeof(v) != TG_LIST || tg_list_len(v) != 2
        || tg_typeof(tv) != TG_LIST)
        return *why = "a schema is [[names], [dtypes]]", -1;
    if (tg__names_decode(tg_list_get(v, 0), out, why))
        return -1;
    if (tg_list_len(tv) != out->n) {
        tg__params_close(out);
        return *why = "a schema has as many dtypes as names", -1;
    }
    out->types = tg__malloc((out->n ? out->n : 1) * sizeof *out->types);
    if (!out->types) {
        tg__params_close(out);
        return *why = "out of memory", -1;
    }
    for (size_t i = 0; i < out->n; i++) {
        const tg_value *t = tg_list_get(tv, i);
        int64_t d = tg_as_int(t);
        if (tg_typeof(t) != TG_INT || d < 0 || d > TG_DT_STRING) {
            tg__params_close(out);
            return *why = "a dtype is not a tg_dtype number", -1;
        }
        out->types[i] = (tg_dtype)d;
    }
    return 0;
}
