/* dataframe/join.c - tg_df_merge: a hash join, broadcast for a small
 * side, else over the shared shuffle; and its task.
 *
 * A merge is a node of the logical plan (lower.c): when its consumer is
 * lowered, each side is asked only for the columns of the consumer's
 * need it supplies plus its keys, so a CSV side parses no column the
 * query does not read, and the join tasks emit just those columns.
 *
 * The join task takes the left frames then the right frames (pieces of
 * one output partition, or a partition and a broadcast side), indexes
 * the right rows by key tuple in the runtime's hash map (key identity
 * from order_internal.h: -0.0 is 0.0, a NaN is a null, and a null
 * matches a null unless SQL nulls are asked for), then walks the left rows in
 * order emitting each one's matches in right order, and last the unmatched
 * right rows. Equal keys hash alike on both sides (tg__row_hash), so a hash
 * shuffle of both sides by key puts every matching pair in one output.
 */
#include <stdio.h>

#include "runtime/map_internal.h"
#include "shuffle_internal.h"

/* A join spec decoded: [left keys, right keys, how, sql_nulls,
 * coalesce, left sources, left names, right sources, right names]; the
 * names are borrowed from the value. */
typedef struct joinspec {
    tg__params lk, rk; /* key columns of each side */
    tg_join_how how;
    bool sql_nulls;
    bool coalesce;             /* keys shared (`on`): left key columns take
                                  the right's value on right-only rows */
    tg__params ls, lo, rs, ro; /* emitted columns: source, output names */
} joinspec;

static void joinspec_close(joinspec *s)
{
    tg__params_close(&s->lk);
    tg__params_close(&s->rk);
    tg__params_close(&s->ls);
    tg__params_close(&s->lo);
    tg__params_close(&s->rs);
    tg__params_close(&s->ro);
}

static int joinspec_decode(const tg_value *v, joinspec *s, const char **why)
{
    memset(s, 0, sizeof *s);
    const tg_value *how = tg_list_get(v, 2);
    if (tg_typeof(v) != TG_LIST || tg_list_len(v) != 9
        || tg_typeof(how) != TG_INT || tg_as_int(how) < 0
        || tg_as_int(how) > TG_JOIN_OUTER
        || tg_typeof(tg_list_get(v, 3)) != TG_BOOL
        || tg_typeof(tg_list_get(v, 4)) != TG_BOOL)
        return *why = "not [keys, keys, how, sql_nulls, coalesce, ...]", -1;
    tg__params *lists[] = {&s->lk, &s->rk, &s->ls, &s->lo, &s->rs, &s->ro};
    const int at[] = {0, 1, 5, 6, 7, 8};
    for (int i = 0; i < 6; i++)
        if (tg__names_decode(tg_list_get(v, (size_t)at[i]), lists[i], why)) {
            joinspec_close(s);
            return -1;
        }
    if (s->lk.n == 0 || s->lk.n != s->rk.n || s->ls.n != s->lo.n
        || s->rs.n != s->ro.n) {
        joinspec_close(s);
        return *why = "lists of keys or columns differ in length", -1;
    }
    s->how = (tg_join_how)tg_as_int(how);
    s->sql_nulls = tg_as_bool(tg_list_get(v, 3));
    s->coalesce = tg_as_bool(tg_list_get(v, 4));
    return 0;
}

/* Growable pairs of row indices (TG__NO_ROW for a missing side). */
typedef struct pairs {
    uint32_t *l, *r;
    size_t n, cap;
} pairs;

static int pairs_push(pairs *p, uint32_t l, uint32_t r)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        uint32_t *nl = tg__malloc(cap * sizeof *nl);
        uint32_t *nr = tg__malloc(cap * sizeof *nr);
        if (!nl || !nr) {
            tg__free(nl);
            tg__free(nr);
            return TG_ENOMEM;
        }
        if (p->n) {
            memcpy(nl, p->l, p->n * sizeof *nl);
            memcpy(nr, p->r, p->n * sizeof *nr);
        }
        tg__free(p->l);
        tg__free(p->r);
        p->l = nl, p->r = nr, p->cap = cap;
    }
    p->l[p->n] = l;
    p->r[p->n++] = r;
    return 0;
}

static bool any_null(const tg__keyview *k, size_t nk, size_t i)
{
    for (size_t j = 0; j < nk; j++)
        if (tg__key_is_null(&k[j], i))
            return true;
    return false;
}

static bool tuple_eq(const tg__keyview *a, size_t i, const tg__keyview *b,
                     size_t j, size_t nk)
{
    for (size_t k = 0; k < nk; k++)
        if (!tg__key_eq(&a[k], i, &b[k], j))
            return false;
    return true;
}

/* The matching pairs of L and R (key views lk, rk over nL, nR rows). */
static int match(const joinspec *s, const tg__keyview *lk, size_t nl,
                 const tg__keyview *rk, size_t nr, pairs *out)
{
    size_t nk = s->lk.n;
    tg__map m;
    uint32_t *head = tg__malloc((nr ? nr : 1) * sizeof *head);
    uint32_t *next = tg__malloc((nr ? nr : 1) * sizeof *next);
    uint32_t *tail = tg__malloc((nr ? nr : 1) * sizeof *tail);
    uint8_t *hit = tg__calloc(nr ? nr : 1, 1);
    int rc = head && next && tail && hit ? tg__map_init(&m, nr) : TG_ENOMEM;
    if (rc)
        goto done;
    size_t n_groups = 0; /* head[g]: a group's first right row */
    for (size_t r = 0; rc == 0 && r < nr; r++) {
        next[r] = TG__NO_ROW;
        if (s->sql_nulls && any_null(rk, nk, r))
            continue;
        uint64_t h = tg__row_hash(rk, nk, r);
        tg__map_probe p = tg__map_begin(&m, h);
        uint32_t g;
        while ((g = tg__map_next(&m, &p)) != TG__MAP_NONE)
            if (tuple_eq(rk, head[g], rk, r, nk))
                break;
        if (g == TG__MAP_NONE) {
            g = (uint32_t)n_groups++;
            head[g] = tail[g] = (uint32_t)r;
            tg__map_insert(&m, &p, g);
        } else {
            next[tail[g]] = (uint32_t)r, tail[g] = (uint32_t)r;
        }
    }
    bool keep_left = s->how == TG_JOIN_LEFT || s->how == TG_JOIN_OUTER;
    for (size_t l = 0; rc == 0 && l < nl; l++) {
        uint32_t g = TG__MAP_NONE;
        if (nr && !(s->sql_nulls && any_null(lk, nk, l))) {
            tg__map_probe p = tg__map_begin(&m, tg__row_hash(lk, nk, l));
            while ((g = tg__map_next(&m, &p)) != TG__MAP_NONE)
                if (tuple_eq(rk, head[g], lk, l, nk))
                    break;
        }
        for (uint32_t r = g == TG__MAP_NONE ? TG__NO_ROW : head[g];
             rc == 0 && r != TG__NO_ROW; r = next[r]) {
            hit[r] = 1;
            rc = pairs_push(out, (uint32_t)l, r);
        }
        if (rc == 0 && g == TG__MAP_NONE && keep_left)
            rc = pairs_push(out, (uint32_t)l, TG__NO_ROW);
    }
    if (s->how == TG_JOIN_RIGHT || s->how == TG_JOIN_OUTER)
        for (size_t r = 0; rc == 0 && r < nr; r++)
            if (!hit[r])
                rc = pairs_push(out, TG__NO_ROW, (uint32_t)r);
    tg__map_close(&m);
done:
    tg__free(head);
    tg__free(next);
    tg__free(tail);
    tg__free(hit);
    return rc;
}

/* Left key column c (coalesce): left's value, or right's key column rc
 * where only the right has the row.  A new column, NULL on OOM. */
static tg__col *coalesced(const tg__col *lc, const tg__col *rc, const pairs *p)
{
    tg__col *cs[2] = {tg__col_ref((tg__col *)lc), tg__col_ref((tg__col *)rc)};
    const char *nm[1] = {"k"};
    tg__frame *a = tg__frame_new(1, nm, &cs[0], lc->n);
    tg__frame *b = tg__frame_new(1, nm, &cs[1], rc->n);
    tg__frame *both[2] = {a, b};
    tg__frame *ab = a && b ? tg__frame_concat(both, 2) : NULL;
    uint32_t *idx = ab ? tg__malloc((p->n ? p->n : 1) * sizeof *idx) : NULL;
    tg__col *c = NULL;
    if (idx) {
        for (size_t j = 0; j < p->n; j++)
            idx[j] =
                p->l[j] != TG__NO_ROW ? p->l[j] : (uint32_t)lc->n + p->r[j];
        c = tg__col_take(ab->cols[0], idx, p->n);
    }
    tg__free(idx);
    tg__frame_free(a);
    tg__frame_free(b);
    tg__frame_free(ab);
    return c;
}

/* The output frame of the pairs p of L and R. */
static tg_value *emit(const joinspec *s, const tg__frame *L, const tg__frame *R,
                      const pairs *p)
{
    size_t nc = s->ls.n + s->rs.n, made = 0;
    tg__col **cols = tg__calloc(nc + 1, sizeof *cols);
    const char **names = tg__calloc(nc + 1, sizeof *names);
    bool right_only = s->how == TG_JOIN_RIGHT || s->how == TG_JOIN_OUTER;
    tg_value *err = cols && names ? NULL : tg_error("out of memory");
    for (; !err && made < nc; made++) {
        bool left = made < s->ls.n;
        size_t i = left ? made : made - s->ls.n;
        const tg__frame *f = left ? L : R;
        const char *src = left ? s->ls.names[i] : s->rs.names[i];
        long c = tg__frame_find(f, src);
        if (c < 0) {
            err = tg_error("join: the partition has no column '%s'", src);
            break;
        }
        names[made] = left ? s->lo.names[i] : s->ro.names[i];
        long k = -1; /* a shared key: the right's column of it */
        for (size_t j = 0; left && s->coalesce && right_only && j < s->lk.n;
             j++)
            if (strcmp(s->lk.names[j], src) == 0)
                k = tg__frame_find(R, s->rk.names[j]);
        cols[made] =
            k >= 0 ? coalesced(f->cols[c], R->cols[k], p)
                   : tg__col_take_or_null(f->cols[c], left ? p->l : p->r, p->n);
        if (!cols[made]) {
            err = tg_error("out of memory");
            break;
        }
    }
    tg_value *res = err;
    if (!err)
        res = tg__frame_value(tg__frame_new(nc, names, cols, p->n));
    else
        while (made-- > 0)
            tg__col_unref(cols[made]);
    tg__free(cols);
    tg__free(names);
    return res ? res : tg_error("out of memory");
}

/* The key views of f for names into out, checking types against want
 * (NULL: any).  NULL or an error value. */
static tg_value *key_views(const tg__frame *f, const tg__params *names,
                           const tg__keyview *want, tg__keyview *out)
{
    for (size_t k = 0; k < names->n; k++) {
        long c = tg__frame_find(f, names->names[k]);
        if (c < 0)
            return tg_error("join: the partition has no key column '%s'",
                            names->names[k]);
        out[k] = tg__keyview_col(f->cols[c]);
        if (want && want[k].type != out[k].type)
            return tg_error("join: key '%s' is %s on the right, %s on the "
                            "left",
                            names->names[k], tg_dtype_name(out[k].type),
                            tg_dtype_name(want[k].type));
    }
    return NULL;
}

/* join(spec, n_left, left frames..., right frames...) -> the joined
 * rows, in the order described at the top. */
tg_value *tg__task_join(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    int64_t nl = tg_as_int(a[1]);
    if (tg_typeof(a[1]) != TG_INT || nl < 1 || (size_t)nl + 2 >= n)
        return tg__df_bad_param("join", "left count", "not in 1..frames-1");
    joinspec s;
    const char *why = NULL;
    if (joinspec_decode(a[0], &s, &why))
        return tg__df_bad_param("join", "join spec", why);
    tg_value *err = NULL;
    bool own_l = false, own_r = false;
    tg__frame *L = tg__frames_arg("join", a + 2, (size_t)nl, &own_l, &err);
    tg__frame *R = err ? NULL
                       : tg__frames_arg("join", a + 2 + nl, n - 2 - (size_t)nl,
                                        &own_r, &err);
    tg__keyview *lk = tg__calloc(s.lk.n, sizeof *lk);
    tg__keyview *rk = tg__calloc(s.lk.n, sizeof *rk);
    if (!err && (!lk || !rk))
        err = tg_error("out of memory");
    if (!err)
        err = key_views(L, &s.lk, NULL, lk);
    if (!err)
        err = key_views(R, &s.rk, lk, rk);
    pairs p = {0};
    if (!err && match(&s, lk, L->nrows, rk, R->nrows, &p))
        err = tg_error("out of memory");
    tg_value *res = err ? err : emit(&s, L, R, &p);
    tg__free(p.l);
    tg__free(p.r);
    tg__free(lk);
    tg__free(rk);
    if (own_l)
        tg__frame_free(L);
    if (own_r)
        tg__frame_free(R);
    joinspec_close(&s);
    return res;
}

/* ---- the builder --------------------------------------------------------- */

/* True when name is one of the n names. */
static bool among(const char *name, size_t n, const char *const *names)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* The output columns: left's, then right's (without shared `on` keys),
 * clashing names suffixed.  Fills the four name lists (borrowed or
 * from buf, which the caller frees) and the types; returns the column
 * count, or 0 with tg_last_error() set. */
typedef struct outcols {
    size_t n;
    const char **src, **out; /* n each; src[i] of left for i < n_left */
    char **made;             /* suffixed names, owned */
    tg_dtype *types;
    size_t n_left;
} outcols;

static void outcols_close(outcols *c)
{
    for (size_t i = 0; c->made && i < c->n; i++)
        tg__free(c->made[i]);
    tg__free(c->made);
    tg__free(c->src);
    tg__free(c->out);
    tg__free(c->types);
    memset(c, 0, sizeof *c);
}

static int outcols_init(outcols *c, const tg_dataframe *l,
                        const tg_dataframe *r, const tg_merge_opts *o)
{
    size_t cap = l->ncols + r->ncols + 1;
    const char *sx = o->suffixes[0] ? o->suffixes[0] : "_x";
    const char *sy = o->suffixes[1] ? o->suffixes[1] : "_y";
    memset(c, 0, sizeof *c);
    c->src = tg__calloc(cap, sizeof *c->src);
    c->out = tg__calloc(cap, sizeof *c->out);
    c->made = tg__calloc(cap, sizeof *c->made);
    c->types = tg__calloc(cap, sizeof *c->types);
    if (!c->src || !c->out || !c->made || !c->types)
        return tg__seterr(TG_ENOMEM, "merge: out of memory");
    size_t n_on = o->on ? o->n_on : 0;
    for (int side = 0; side < 2; side++) {
        const tg_dataframe *d = side ? r : l, *other = side ? l : r;
        for (size_t i = 0; i < d->ncols; i++) {
            const char *name = d->names[i];
            bool shared = among(name, n_on, o->on);
            if (side && shared)
                continue; /* the left's column holds it */
            bool clash = !shared && tg__df_find(other, name) >= 0;
            size_t at = c->n++;
            c->src[at] = name;
            c->types[at] = d->types[i];
            c->out[at] = name;
            if (clash) {
                const char *suf = side ? sy : sx;
                size_t len = strlen(name) + strlen(suf) + 1;
                if (!(c->made[at] = tg__malloc(len)))
                    return tg__seterr(TG_ENOMEM, "merge: out of memory");
                snprintf(c->made[at], len, "%s%s", name, suf);
                c->out[at] = c->made[at];
            }
        }
        if (!side)
            c->n_left = c->n;
    }
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->out[i], c->out[j]) == 0)
                return tg__seterr(TG_EINVAL,
                                  "merge: two output columns named '%s' "
                                  "(choose other suffixes)",
                                  c->out[i]);
    return 0;
}

/* Checks the keys of both sides: each a column, types equal. */
static int check_keys(const tg_dataframe *l, const tg_dataframe *r, size_t n,
                      const char *const *lon, const char *const *ron)
{
    for (size_t i = 0; i < n; i++) {
        long a = lon[i] ? tg__df_find(l, lon[i]) : -1;
        long b = ron[i] ? tg__df_find(r, ron[i]) : -1;
        if (a < 0 || b < 0)
            return tg__seterr(TG_EINVAL, "merge: no %s key column '%s'",
                              a < 0 ? "left" : "right",
                              (a < 0 ? lon[i] : ron[i])
                                  ? (a < 0 ? lon[i] : ron[i])
                                  : "(null)");
        if (l->types[a] != r->types[b])
            return tg__seterr(TG_EINVAL,
                              "merge: key '%s' is %s on the left but '%s' "
                              "is %s on the right",
                              lon[i], tg_dtype_name(l->types[a]), ron[i],
                              tg_dtype_name(r->types[b]));
    }
    return 0;
}

/* A side's partitions holding at least the n named columns, or one
 * empty frame of its schema when it has none, into *parts (new array);
 * its count.  0 with *parts NULL on failure. */
static size_t side_parts(tg_dataframe *d, size_t n_names,
                         const char *const *names, tg_value ***parts)
{
    tg_value **in = tg__df_lower(d, n_names, names, false);
    size_t n = d->nparts ? d->nparts : 1;
    *parts = in ? tg__calloc(n, sizeof **parts) : NULL;
    if (!*parts)
        return 0;
    if (d->nparts) {
        memcpy(*parts, in, n * sizeof **parts);
    } else {
        tg_value *s =
            tg__schema_value(d->ncols, (const char *const *)d->names, d->types);
        if (!((*parts)[0] = tg__df_call(d->g, TG__OP_EMPTY, 1, &s))) {
            tg__free(*parts);
            *parts = NULL;
            return 0;
        }
    }
    return n;
}

/* join(spec, nl, l[0..nl), r[0..nr)) recorded (frames borrowed). */
static tg_value *join_call(tg_graph *g, tg_value *spec, tg_value *const *l,
                           size_t nl, tg_value *const *r, size_t nr)
{
    tg_value **args = tg__malloc((nl + nr + 2) * sizeof *args);
    if (!args)
        return NULL;
    args[0] = tg_incref(spec);
    args[1] = tg_int((int64_t)nl);
    memcpy(args + 2, l, nl * sizeof *args);
    memcpy(args + 2 + nl, r, nr * sizeof *args);
    tg_value *v = tg__df_call(g, TG__OP_JOIN, nl + nr + 2, args);
    tg__free(args);
    return v;
}

/* How nl left and nr right partitions join: broadcast the right (a
 * join keeping no unmatched right row, right small enough), else the
 * left (likewise), else shuffle both into as many partitions as the
 * larger side.  The output partition count. */
static size_t join_layout(tg_join_how how, size_t bp, size_t nl, size_t nr,
                          bool *bc_right, bool *bc_left)
{
    bool keeps_r = how == TG_JOIN_RIGHT || how == TG_JOIN_OUTER;
    bool keeps_l = how == TG_JOIN_LEFT || how == TG_JOIN_OUTER;
    *bc_right = nr <= bp && !keeps_r;
    *bc_left = !*bc_right && nl <= bp && !keeps_l;
    return *bc_right ? nl : *bc_left ? nr : nl > nr ? nl : nr;
}

/* The output partitions into parts (as many as join_layout says). */
static int join_parts(tg_graph *g, tg_value *spec, tg_join_how how, size_t bp,
                      tg_value **lp, size_t nl, tg_value **rp, size_t nr,
                      tg_value **parts)
{
    bool bc_right, bc_left;
    size_t k = join_layout(how, bp, nl, nr, &bc_right, &bc_left);
    tg_value **lpc = NULL, **rpc = NULL, *lh = NULL, *rh = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && (bc_right || bc_left) && i < k; i++)
        if (!(parts[i] = bc_right ? join_call(g, spec, &lp[i], 1, rp, nr)
                                  : join_call(g, spec, lp, nl, &rp[i], 1)))
            rc = TG_ENOMEM;
    if (rc == 0 && !bc_right && !bc_left) {
        lpc = tg__calloc(nl * k, sizeof *lpc);
        rpc = tg__calloc(nr * k, sizeof *rpc);
        lh = tg_list(3, tg_str("hash"), tg_incref(tg_list_get(spec, 0)),
                     tg_int((int64_t)k));
        rh = tg_list(3, tg_str("hash"), tg_incref(tg_list_get(spec, 1)),
                     tg_int((int64_t)k));
        rc = lpc && rpc && lh && rh ? 0 : TG_ENOMEM;
        if (rc == 0)
            rc = tg__shuffle(g, lp, nl, lh, NULL, k, lpc);
        if (rc == 0)
            rc = tg__shuffle(g, rp, nr, rh, NULL, k, rpc);
        for (size_t j = 0; rc == 0 && j < k; j++)
            if (!(parts[j] =
                      join_call(g, spec, lpc + j * nl, nl, rpc + j * nr, nr)))
                rc = TG_ENOMEM;
    }
    tg_decref(lh);
    tg_decref(rh);
    tg__free(lpc);
    tg__free(rpc);
    return rc;
}

/* Of n names, those whose flag is set, then the extra ones, into out
 * (room for n + n_extra); the count. */
static size_t pick(const char *const *names, size_t n, const uint8_t *flags,
                   const char *const *extra, size_t n_extra, const char **out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (flags[i])
            out[k++] = names[i];
    for (size_t i = 0; i < n_extra; i++)
        out[k++] = extra[i];
    return k;
}

int tg__merge_lower(tg_dataframe *df, const uint8_t *need, tg_value **parts)
{
    const tg_value *full = tg_list_get(df->param, 0);
    size_t bp = (size_t)tg_as_int(tg_list_get(df->param, 1));
    joinspec s;
    const char *why;
    if (joinspec_decode(full, &s, &why)) /* made by tg_df_merge */
        return tg__seterr(TG_EINVAL, "merge: %s", why);
    size_t cap = df->ncols + s.lk.n + 1;
    const char **ln = tg__calloc(cap, sizeof *ln), **rn = NULL;
    const char **los = NULL, **ros = NULL;
    tg_value **lp = NULL, **rp = NULL, *spec = NULL;
    int rc = TG_ENOMEM;
    if (!ln || !(rn = tg__calloc(cap, sizeof *rn))
        || !(los = tg__calloc(cap, sizeof *los))
        || !(ros = tg__calloc(cap, sizeof *ros)))
        goto done;
    /* What each side is asked for: its columns of need, in output order
     * (their first nlc / nrc entries, also under their output names),
     * then its keys. */
    const uint8_t *rneed = need + s.ls.n;
    size_t nla = pick(s.ls.names, s.ls.n, need, s.lk.names, s.lk.n, ln);
    size_t nra = pick(s.rs.names, s.rs.n, rneed, s.rk.names, s.rk.n, rn);
    size_t nlc = pick(s.lo.names, s.lo.n, need, NULL, 0, los);
    size_t nrc = pick(s.ro.names, s.ro.n, rneed, NULL, 0, ros);
    spec = tg_list(
        9, tg_incref(tg_list_get(full, 0)), tg_incref(tg_list_get(full, 1)),
        tg_incref(tg_list_get(full, 2)), tg_incref(tg_list_get(full, 3)),
        tg_incref(tg_list_get(full, 4)), tg__names_value(nlc, ln),
        tg__names_value(nlc, los), tg__names_value(nrc, rn),
        tg__names_value(nrc, ros));
    size_t nl = spec ? side_parts(df->left, nla, ln, &lp) : 0;
    size_t nr = nl ? side_parts(df->right, nra, rn, &rp) : 0;
    if (nr)
        rc = join_parts(df->g, spec, s.how, bp, lp, nl, rp, nr, parts);
done:
    if (rc)
        tg__seterr(rc, "merge: out of memory");
    tg_decref(spec);
    tg__free(lp);
    tg__free(rp);
    tg__free(ln);
    tg__free(rn);
    tg__free(los);
    tg__free(ros);
    joinspec_close(&s);
    return rc;
}

tg_dataframe *tg_df_merge(tg_dataframe *left, tg_dataframe *right,
                          const tg_merge_opts *o)
{
    if (!left || !right || !o)
        return tg__seterr_null(TG_EINVAL, "merge: NULL %s",
                               o ? "dataframe" : "options (name the keys)");
    if (left->g != right->g)
        return tg__seterr_null(TG_EINVAL, "merge: dataframes of two graphs");
    const char *const *lon = o->on ? o->on : o->left_on;
    const char *const *ron = o->on ? o->on : o->right_on;
    if (o->n_on == 0 || !lon || !ron)
        return tg__seterr_null(TG_EINVAL, "merge: no keys (set n_on and on, "
                                          "or left_on and right_on)");
    if ((unsigned)o->how > TG_JOIN_OUTER)
        return tg__seterr_null(TG_EINVAL, "merge: bad how %d", (int)o->how);
    outcols c = {0};
    if (check_keys(left, right, o->n_on, lon, ron)
        || outcols_init(&c, left, right, o)) {
        outcols_close(&c);
        return NULL;
    }
    size_t nrc = c.n - c.n_left;
    tg_value *spec = tg_list(
        9, tg__names_value(o->n_on, lon), tg__names_value(o->n_on, ron),
        tg_int((int64_t)o->how), tg_bool(o->sql_nulls), tg_bool(o->on != NULL),
        tg__names_value(c.n_left, c.src), tg__names_value(c.n_left, c.out),
        tg__names_value(nrc, c.src + c.n_left),
        tg__names_value(nrc, c.out + c.n_left));
    size_t bp = o->broadcast_partitions ? o->broadcast_partitions : 1;
    bool bc_right, bc_left;
    size_t n_out =
        join_layout(o->how, bp, left->nparts ? left->nparts : 1,
                    right->nparts ? right->nparts : 1, &bc_right, &bc_left);
    tg_value *param = spec ? tg_list(2, spec, tg_int((int64_t)bp)) : NULL;
    tg_dataframe *res = param ? tg__df_node(left->g, TG__DF_MERGE, NULL, c.n,
                                            c.out, c.types, n_out, param)
                              : NULL;
    if (res)
        res->left = left, res->right = right;
    else
        tg__seterr(TG_ENOMEM, "merge: out of memory");
    outcols_close(&c);
    return res;
}
