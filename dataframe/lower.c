/* dataframe/lower.c - lowering the logical plan to tasks.
 *
 * lower(df, need) returns delayed partitions of df whose frames hold
 * exactly the columns `has` of df's schema, in schema order, with need
 * a subset of has.  A node asks its input for what it needs itself:
 *   filter:   its consumer's columns and its predicate's;
 *   assign:   its consumer's columns but the assigned one, plus the
 *             expression's - or, when the consumer does not read the
 *             assigned column, just its consumer's (the assign is
 *             dropped);
 *   select, rename: the consumer's columns under their input names;
 *   map_partitions: every column (the function sees whole frames);
 *   sort:     its consumer's columns plus the keys (the rows it hands
 *             on carry the keys too);
 * down to the source, where a CSV read parses exactly its need.  A
 * merge is a source with two inputs: it lowers each side for the
 * columns it supplies to its consumer plus its keys (join.c).
 * Sources of given frames (from_delayed, groupby results) and maps
 * always produce every column.  Each node keeps a memo of its lowerings
 * keyed by need, so lowering twice with the same need gives the same
 * delayed values (identical calls would share keys anyway; the memo
 * keeps the graph small).
 *
 * The chain is walked with an explicit stack: down while the memo
 * misses, then up recording each node's tasks on top of its input's.
 */
#include "csv_internal.h"
#include "df_internal.h"
#include "expr_internal.h"
#include "shuffle_internal.h"

struct tg__df_lowered {
    tg__df_lowered *next;
    uint8_t *need;    /* ncols flags: the request, normalised */
    uint8_t *has;     /* ncols flags: the columns the frames hold */
    tg_value **parts; /* nparts delayed frames, borrowed from the graph */
};

void tg__df_lowered_free(tg__df_lowered *l)
{
    while (l) {
        tg__df_lowered *next = l->next;
        tg__free(l->need);
        tg__free(l->has);
        tg__free(l->parts);
        tg__free(l);
        l = next;
    }
}

static uint8_t *flags_new(size_t n, uint8_t fill)
{
    uint8_t *f = tg__malloc(n ? n : 1);
    if (f)
        memset(f, fill, n);
    return f;
}

static bool flags_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static tg__df_lowered *memo_find(const tg_dataframe *df, const uint8_t *need)
{
    for (tg__df_lowered *l = df->lowered; l; l = l->next)
        if (flags_equal(l->need, need, df->ncols))
            return l;
    return NULL;
}

/* names[i] for df's columns i marked in flags, in schema order, as a
 * names list.  NULL when out of memory. */
static tg_value *flag_names(const tg_dataframe *df, const uint8_t *flags,
                            char *const *names)
{
    tg_value **items = tg__malloc((df->ncols + 1) * sizeof *items);
    if (!items)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < df->ncols; i++)
        if (flags[i])
            items[n++] = tg_str(names[i]);
    tg_value *v = tg_list_from(n, items);
    tg__free(items);
    return v;
}

typedef struct marker {
    const tg_dataframe *df;
    uint8_t *flags; /* over df's schema */
} marker;

static void mark_col(const char *name, void *ud)
{
    marker *m = ud;
    long k = tg__df_find(m->df, name);
    if (k >= 0)
        m->flags[k] = 1;
}

/* Marks in flags (over in's schema) the columns e reads. */
static void mark_expr(const tg_dataframe *in, const tg_expr *e, uint8_t *flags)
{
    marker m = {in, flags};
    tg__expr_columns(e, mark_col, &m);
}

/* ---- what a node needs from its input -------------------------------- */

static const char *assign_name(const tg_dataframe *df)
{
    return tg_as_str(tg_list_get(df->param, 0));
}

/* Column i of df read from its input: that input column's index. */
static long input_col(const tg_dataframe *df, size_t i)
{
    switch (df->kind) {
    case TG__DF_SELECT: return tg__df_find(df->in, df->names[i]);
    case TG__DF_ASSIGN:
        return strcmp(df->names[i], assign_name(df)) == 0
                   ? -1
                   : tg__df_find(df->in, df->names[i]);
    default: return (long)i; /* filter, rename: the same positions */
    }
}

/* The flags df needs from its input to produce need.  NULL on OOM. */
static uint8_t *input_need(const tg_dataframe *df, const uint8_t *need)
{
    const tg_dataframe *in = df->in;
    bool all = df->kind == TG__DF_MAP || df->kind == TG__DF_MAP_NAMED;
    uint8_t *f = flags_new(in->ncols, all);
    if (!f || all)
        return f;
    for (size_t i = 0; i < df->ncols; i++) {
        long k = need[i] ? input_col(df, i) : -1;
        if (k >= 0)
            f[k] = 1;
    }
    if (df->kind == TG__DF_FILTER)
        mark_expr(in, df->expr, f);
    if (df->kind == TG__DF_ASSIGN) {
        long at = tg__df_find(df, assign_name(df));
        if (need[at])
            mark_expr(in, df->expr, f);
    }
    if (df->kind == TG__DF_SORT) { /* the keys ride along */
        const tg_value *keys = tg_list_get(df->param, 0);
        for (size_t i = 0; i < tg_list_len(keys); i++) {
            long k = tg__df_find(in, tg_as_str(tg_list_get(keys, i)));
            if (k >= 0)
                f[k] = 1;
        }
    }
    return f;
}

/* ---- recording a node's tasks ---------------------------------------------
 */

/* Records op(part, lead...) for every partition of below into parts. */
static int per_part(tg_dataframe *df, tg__df_op op, tg_value **parts,
                    const tg__df_lowered *below, tg_value *const *lead,
                    size_t n_lead)
{
    tg_value *args[4];
    for (size_t i = 0; i < df->nparts; i++) {
        args[0] = below->parts[i];
        for (size_t a = 0; a < n_lead; a++)
            args[1 + a] = tg_incref(lead[a]);
        if (!(parts[i] = tg__df_call(df->g, op, 1 + n_lead, args)))
            return TG_ENOMEM;
    }
    return 0;
}

/* True when below's frames already are df's frames for need: the same
 * columns in the same order under the same names. */
static bool passes_through(const tg_dataframe *df, const uint8_t *need,
                           const tg__df_lowered *below)
{
    long last = -1;
    size_t n_need = 0, n_has = 0;
    for (size_t i = 0; i < df->ncols; i++) {
        if (!need[i])
            continue;
        long k = input_col(df, i);
        if (k <= last || !below->has[k]
            || strcmp(df->names[i], df->in->names[k]) != 0)
            return false;
        last = k, n_need++;
    }
    for (size_t k = 0; k < df->in->ncols; k++)
        n_has += below->has[k];
    return n_has == n_need;
}

/* select, rename and a dropped assign: below's frames when they fit,
 * else a project task per partition. */
static int lower_project(tg_dataframe *df, const uint8_t *need,
                         const tg__df_lowered *below, tg_value **parts)
{
    if (passes_through(df, need, below)) {
        memcpy(parts, below->parts, df->nparts * sizeof *parts);
        return 0;
    }
    char **src = tg__malloc((df->ncols + 1) * sizeof *src);
    if (!src)
        return TG_ENOMEM;
    for (size_t i = 0; i < df->ncols; i++) {
        long k = input_col(df, i);
        src[i] = k >= 0 ? df->in->names[k] : df->names[i];
    }
    tg_value *lead[2] = {flag_names(df, need, src),
                         flag_names(df, need, df->names)};
    tg__free(src);
    int rc = lead[0] && lead[1]
                 ? per_part(df, TG__OP_PROJECT, parts, below, lead, 2)
                 : TG_ENOMEM;
    tg_decref(lead[0]);
    tg_decref(lead[1]);
    return rc;
}

/* map_partitions: the user's function, then the registered check. */
static int lower_map(tg_dataframe *df, const tg__df_lowered *below,
                     tg_value **parts)
{
    for (size_t i = 0; i < df->nparts; i++) {
        tg_value *r;
        if (df->kind == TG__DF_MAP) /* local: its context is this node */
            r = tg_delayed_v(df->g, df->fn_name, tg__task_map_local, df, 0, 1,
                             &below->parts[i]);
        else
            r = tg_delayed_v(df->g, df->fn_name, df->fn, df->fn_ctx, 0, 1,
                             &below->parts[i]);
        tg_value *args[3] = {r, tg_incref(df->param), tg_str("map_partitions")};
        if (!(parts[i] = tg__df_call(df->g, TG__OP_CHECK, 3, args)))
            return TG_ENOMEM;
    }
    return 0;
}

/* Records df's tasks for need on top of below (NULL for a source) into
 * l->parts and sets l->has. */
static int lower_node(tg_dataframe *df, tg__df_lowered *l,
                      const tg__df_lowered *below)
{
    const uint8_t *need = l->need;
    tg_value **parts = l->parts;
    memcpy(l->has, need, df->ncols);
    switch (df->kind) {
    case TG__DF_CSV: return tg__csv_lower(df, need, parts);
    case TG__DF_PARTS: {
        if (!df->check_given) {
            memcpy(parts, df->given, df->nparts * sizeof *parts);
            return 0;
        }
        for (size_t i = 0; i < df->nparts; i++) {
            tg_value *args[3] = {df->given[i], tg_incref(df->param),
                                 tg_str("from_delayed")};
            if (!(parts[i] = tg__df_call(df->g, TG__OP_CHECK, 3, args)))
                return TG_ENOMEM;
        }
        return 0;
    }
    case TG__DF_FILTER: {
        tg_value *lead[2] = {df->param, flag_names(df, need, df->names)};
        int rc = lead[1] ? per_part(df, TG__OP_FILTER, parts, below, lead, 2)
                         : TG_ENOMEM;
        tg_decref(lead[1]);
        return rc;
    }
    case TG__DF_ASSIGN: {
        if (!need[tg__df_find(df, assign_name(df))])
            return lower_project(df, need, below, parts);
        tg_value *lead[3] = {tg_list_get(df->param, 0),
                             tg_list_get(df->param, 1),
                             flag_names(df, need, df->names)};
        int rc = lead[2] ? per_part(df, TG__OP_ASSIGN, parts, below, lead, 3)
                         : TG_ENOMEM;
        tg_decref(lead[2]);
        return rc;
    }
    case TG__DF_SELECT:
    case TG__DF_RENAME: return lower_project(df, need, below, parts);
    case TG__DF_MAP:
    case TG__DF_MAP_NAMED: return lower_map(df, below, parts);
    case TG__DF_SORT: /* rows move whole: the input's columns, keys too */
        memcpy(l->has, below->has, df->ncols);
        return tg__sort_lower(df, below->parts, parts);
    case TG__DF_MERGE: return tg__merge_lower(df, need, parts);
    }
    return TG_EINVAL;
}

/* A memo entry of df for need (stolen), its tasks recorded on below. */
static tg__df_lowered *build(tg_dataframe *df, uint8_t *need,
                             const tg__df_lowered *below)
{
    tg__df_lowered *l = tg__calloc(1, sizeof *l);
    if (!l) {
        tg__free(need);
        return NULL;
    }
    l->need = need;
    l->has = flags_new(df->ncols, 0);
    l->parts = tg__calloc(df->nparts ? df->nparts : 1, sizeof *l->parts);
    if (!l->has || !l->parts || lower_node(df, l, below) != 0) {
        tg__df_lowered_free(l);
        return NULL;
    }
    if (df->kind == TG__DF_PARTS || df->kind == TG__DF_MAP
        || df->kind == TG__DF_MAP_NAMED)
        memset(l->has, 1, df->ncols);
    l->next = df->lowered;
    df->lowered = l;
    return l;
}

/* Sources of given frames and maps produce every column whatever is
 * asked, so they lower once. */
static void normalise(const tg_dataframe *df, uint8_t *need)
{
    if (df->kind == TG__DF_PARTS || df->kind == TG__DF_MAP
        || df->kind == TG__DF_MAP_NAMED)
        memset(need, 1, df->ncols);
}

typedef struct step {
    tg_dataframe *df;
    uint8_t *need;
} step;

/* Lowers df for need (stolen). */
static tg__df_lowered *lower(tg_dataframe *df, uint8_t *need)
{
    step small[16], *st = small;
    size_t n = 0, cap = 16;
    tg__df_lowered *below = NULL;
    while (df) {
        normalise(df, need);
        if ((below = memo_find(df, need))) {
            tg__free(need);
            break;
        }
        if (n == cap) {
            step *bigger = tg__malloc(2 * cap * sizeof *bigger);
            if (!bigger)
                goto fail;
            memcpy(bigger, st, n * sizeof *st);
            if (st != small)
                tg__free(st);
            st = bigger, cap *= 2;
        }
        st[n++] = (step){df, need};
        need = df->in ? input_need(df, need) : NULL;
        if (df->in && !need)
            goto fail_pushed;
        df = df->in;
    }
    while (n > 0) {
        n--;
        if (!(below = build(st[n].df, st[n].need, below)))
            goto fail_pushed;
    }
    if (st != small)
        tg__free(st);
    return below;
fail:
    tg__free(need);
fail_pushed:
    while (n > 0)
        tg__free(st[--n].need);
    if (st != small)
        tg__free(st);
    return NULL;
}

tg_value **tg__df_lower(tg_dataframe *df, size_t n, const char *const *names,
                        bool all)
{
    uint8_t *need = flags_new(df->ncols, all);
    if (!need)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        long k = tg__df_find(df, names[i]);
        assert(k >= 0);
        if (k >= 0)
            need[k] = 1;
    }
    tg__df_lowered *l = lower(df, need);
    return l ? l->parts : NULL;
}
