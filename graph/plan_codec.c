/* graph/plan_codec.c - plans across a wire: encode, decode, validate.
 *
 * A plan travels as values of the codec (runtime/codec_internal.h):
 * functions as registered names only, so a plan holding a local call
 * does not encode (the error names the call); arguments as values, with
 * a hole where an input goes; inputs, task boundaries and targets as
 * little-endian integers.  Decoding resolves every name in this
 * process's registry and checks every count and index against the
 * invariants of plan_internal.h - static order (a first op reads earlier
 * tasks or literals, a later op its own task), one input per hole - so
 * a decoded plan is safe to run or is refused with TG_EFORMAT.
 *
 *   u8 format; u64 n_fns, n_fns names; u64 n_tasks n_ops n_in n_literals
 *   n_targets; u32 op_begin[n_tasks + 1]; per op: u32 fn (LITERAL_FN for
 *   a literal target), u32 flags, u64 token lo hi, u64 nargs, values;
 *   u32 in[n_in]; per literal: u64 token lo hi, value; per target: u64
 *   task (NO_TASK: a value follows).
 */
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"
#include "plan_internal.h"
#include "runtime/codec_internal.h"

#define PLAN_FORMAT 1
#define LITERAL_FN UINT32_MAX
#define NO_TASK UINT64_MAX
/* Counts above this are refused: slots and inputs are 32-bit, with the
 * top values kept free. */
#define MAX_COUNT ((uint64_t)1 << 31)

/* What a decoded plan owns besides its arrays. */
struct tg__plan_owned {
    tg__fnref *fns; /* n_named registered names (owned), then one
                       reference per value type for literal targets */
    size_t n_named;
    tg__call *calls; /* n_ops, each self a TG_DELAYED value with no node */
    tg_value **args; /* every op's arguments, one reference each */
    size_t n_args;
};

void tg__plan_owned_free(tg__plan *p)
{
    struct tg__plan_owned *o = p->owned;
    if (!o)
        return;
    for (size_t i = 0; i < o->n_named; i++)
        tg__free((char *)o->fns[i].name);
    for (size_t i = 0; i < o->n_args; i++)
        tg_decref(o->args[i]);
    for (uint32_t j = 0; p->literal && j < p->n_literals; j++)
        tg_decref(p->literal[j]);
    for (size_t i = 0; p->target_value && i < p->n_targets; i++)
        tg_decref(p->target_value[i]);
    tg__free(o->fns);
    tg__free(o->calls);
    tg__free(o->args);
    tg__free(o);
    p->owned = NULL;
}

/* ---- encoding ----------------------------------------------------------- */

static int put_u32s(tg__enc *e, const uint32_t *a, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return tg__enc_raw(e, a, n * sizeof *a);
#else
    for (size_t i = 0; i < n; i++) {
        uint8_t b[4] = {(uint8_t)a[i], (uint8_t)(a[i] >> 8),
                        (uint8_t)(a[i] >> 16), (uint8_t)(a[i] >> 24)};
        int rc = tg__enc_raw(e, b, 4);
        if (rc)
            return rc;
    }
    return 0;
#endif
}

static int put_token(tg__enc *e, tg__token t)
{
    int rc = tg__enc_u64(e, t.lo);
    return rc ? rc : tg__enc_u64(e, t.hi);
}

/* The distinct function references of the plan's calls, in first-use
 * order; fn_of[o] is op o's index among them (LITERAL_FN for a literal
 * target).  Fails on the first local call, naming it. */
static int collect_fns(const tg__plan *p, uint32_t first, uint32_t end,
                       const tg__fnref ***out, size_t *n, uint32_t *fn_of)
{
    uint32_t n_ops = end - first;
    const tg__fnref **fns = tg__malloc((n_ops + 1) * sizeof *fns);
    tg__map m;
    if (!fns || tg__map_init(&m, n_ops ? n_ops : 1)) {
        tg__free(fns);
        return TG_ENOMEM;
    }
    size_t k = 0;
    int rc = 0;
    for (uint32_t o = first; o < end && rc == 0; o++) {
        const tg__fnref *f = p->ops[o].call->fn;
        if (!f->fn) {
            fn_of[o - first] = LITERAL_FN;
            continue;
        }
        if (!f->registered) {
            const char *key = tg__plan_key(p, o);
            rc = tg__seterr(TG_EUNSUPPORTED,
                            "%s is a local call: its function is not "
                            "registered as '%s' (tg_register), so another "
                            "process cannot run it",
                            key ? key : f->name, f->name);
            break;
        }
        tg__map_probe pr = tg__map_begin(&m, tg__mix64((uintptr_t)f));
        uint32_t i;
        while ((i = tg__map_next(&m, &pr)) != TG__MAP_NONE && fns[i] != f)
            ;
        if (i == TG__MAP_NONE) {
            fns[k] = f;
            tg__map_insert(&m, &pr, (uint32_t)k);
            i = (uint32_t)k++;
        }
        fn_of[o - first] = i;
    }
    tg__map_close(&m);
    if (rc) {
        tg__free(fns);
        return rc;
    }
    *out = fns, *n = k;
    return 0;
}

/* An argument list whose input placeholders are holes, for a list
 * argument that holds inputs.  New reference or NULL. */
static tg_value *with_holes(const tg_value *l)
{
    size_t n = tg_list_len(l);
    tg_value **items = tg__malloc((n ? n : 1) * sizeof *items);
    if (!items)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        tg_value *x = tg_list_get(l, i);
        items[i] = tg_incref(x->type == TG_DELAYED ? tg__codec_hole() : x);
    }
    tg_value *v = tg_list_from(n, items);
    tg__free(items);
    return v;
}

static int put_args(tg__enc *e, const tg__op *op)
{
    const tg__call *c = op->call;
    int rc = tg__enc_u64(e, c->nargs);
    for (uint32_t a = 0; a < c->nargs && rc == 0; a++) {
        const tg_value *v = c->args[a];
        if (tg__call_is_input(c, a)) {
            rc = tg__encode(e, tg__codec_hole());
        } else if ((op->flags & TG__OP_LIST_INPUTS) && v->type == TG_LIST) {
            tg_value *h = with_holes(v);
            rc = h ? tg__encode(e, h) : TG_ENOMEM;
            tg_decref(h);
        } else {
            rc = tg__encode(e, v);
        }
    }
    return rc;
}

static int put_fns(tg__enc *e, const tg__fnref **fns, size_t n)
{
    int rc = tg__enc_u64(e, n);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = tg__enc_str(e, fns[i]->name, strlen(fns[i]->name));
    return rc;
}

/* An op: its function's index (LITERAL_FN for a literal target), flags,
 * token and arguments. */
static int put_op(tg__enc *e, const tg__op *op, uint32_t fn)
{
    uint32_t head[2] = {fn, op->flags};
    int rc = put_u32s(e, head, 2);
    if (rc == 0)
        rc = put_token(e, op->call->self.u.d.token);
    return rc ? rc : put_args(e, op);
}

int tg__plan_encode(const tg__plan *p, tg__enc *e)
{
    uint32_t *fn_of = tg__malloc((p->n_ops + 1) * sizeof *fn_of);
    const tg__fnref **fns = NULL;
    size_t n_fns = 0;
    int rc =
        fn_of ? collect_fns(p, 0, p->n_ops, &fns, &n_fns, fn_of) : TG_ENOMEM;
    if (rc == 0)
        rc = tg__enc_u8(e, PLAN_FORMAT);
    if (rc == 0)
        rc = put_fns(e, fns, n_fns);
    uint64_t counts[5] = {p->n_tasks, p->n_ops, p->n_in, p->n_literals,
                          p->n_targets};
    for (int i = 0; i < 5 && rc == 0; i++)
        rc = tg__enc_u64(e, counts[i]);
    if (rc == 0)
        rc = put_u32s(e, p->op_begin, (size_t)p->n_tasks + 1);
    for (uint32_t o = 0; o < p->n_ops && rc == 0; o++)
        rc = put_op(e, &p->ops[o], fn_of[o]);
    if (rc == 0)
        rc = put_u32s(e, p->in, p->n_in);
    for (uint32_t j = 0; j < p->n_literals && rc == 0; j++) {
        rc = put_token(e, p->literal_tokens[j]);
        if (rc == 0)
            rc = tg__encode(e, p->literal[j]);
    }
    for (size_t i = 0; i < p->n_targets && rc == 0; i++) {
        int64_t t = p->target_task[i];
        rc = tg__enc_u64(e, t < 0 ? NO_TASK : (uint64_t)t);
        if (rc == 0 && t < 0)
            rc = tg__encode(e, p->target_value[i]);
    }
    tg__free(fns);
    tg__free(fn_of);
    return rc;
}

/* ---- decoding ----------------------------------------------------------- */

static int bad(const char *what)
{
    return tg__seterr(TG_EFORMAT, "malformed plan: %s", what);
}

static size_t left(const tg__dec *d)
{
    return (size_t)(d->end - d->p);
}

/* A count that the bytes left can hold at `each` bytes per item. */
static int get_count(tg__dec *d, size_t each, const char *what, uint32_t *n)
{
    uint64_t x;
    int rc = tg__dec_u64(d, &x);
    if (rc)
        return rc;
    if (x >= MAX_COUNT || x > left(d) / each)
        return bad(what);
    *n = (uint32_t)x;
    return 0;
}

static int get_u32s(tg__dec *d, uint32_t *a, size_t n)
{
    const void *raw;
    int rc = tg__dec_raw(d, n * 4, &raw);
    if (rc)
        return rc;
    const uint8_t *b = raw;
    for (size_t i = 0; i < n; i++)
        a[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8
               | (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
    return 0;
}

static int get_token(tg__dec *d, tg__token *t)
{
    int rc = tg__dec_u64(d, &t->lo);
    return rc ? rc : tg__dec_u64(d, &t->hi);
}

/* A growing stack of lists to visit. */
typedef struct list_stack {
    const tg_value *small[32], **items;
    size_t n, cap;
} list_stack;

static bool push_list(list_stack *s, const tg_value *l)
{
    if (s->n == s->cap) {
        const tg_value **b = tg__malloc(2 * s->cap * sizeof *b);
        if (!b)
            return false;
        memcpy(b, s->items, s->n * sizeof *b);
        if (s->items != s->small)
            tg__free(s->items);
        s->items = b, s->cap *= 2;
    }
    s->items[s->n++] = l;
    return true;
}

/* True when a hole hides in list l below its items (more than one list
 * deep), where no op would fill it; also when out of memory, so that
 * the plan is refused rather than a hole missed.  Explicit stack. */
static bool deep_hole(const tg_value *l)
{
    list_stack s;
    s.items = s.small, s.n = 0, s.cap = 32;
    bool found = false;
    for (size_t i = 0; i < tg_list_len(l) && !found; i++)
        if (tg_typeof(tg_list_get(l, i)) == TG_LIST)
            found = !push_list(&s, tg_list_get(l, i));
    while (s.n && !found) {
        const tg_value *cur = s.items[--s.n];
        for (size_t i = 0; i < tg_list_len(cur) && !found; i++) {
            const tg_value *x = tg_list_get(cur, i);
            if (x == tg__codec_hole())
                found = true;
            else if (tg_typeof(x) == TG_LIST)
                found = !push_list(&s, x);
        }
    }
    if (s.items != s.small)
        tg__free(s.items);
    return found;
}

/* How many inputs argument v takes: a hole one, a list (with the
 * op's LIST flag) one per hole item; -1 when holes sit where no op
 * fills them. */
static long arg_inputs(const tg_value *v, uint32_t flags)
{
    if (v == tg__codec_hole())
        return 1;
    if (tg_typeof(v) != TG_LIST)
        return 0;
    long n = 0;
    for (size_t i = 0; i < tg_list_len(v); i++)
        n += tg_list_get(v, i) == tg__codec_hole();
    if ((n && !(flags & TG__OP_LIST_INPUTS)) || deep_hole(v))
        return -1;
    return n;
}

typedef struct decoder {
    tg__dec *d;
    tg__plan *p;
    struct tg__plan_owned *o;
    uint32_t n_fns;    /* named functions; literal refs follow them */
    uint32_t *arg_off; /* per op: its first argument in o->args */
    size_t cap_args;
    tg_fn missing; /* stands in for names not registered here (ctx: the
                      name), or NULL to refuse them */
} decoder;

static int get_fns(decoder *x)
{
    tg__dec *d = x->d;
    uint32_t n = 0;
    int rc = get_count(d, 1, "function count", &n);
    if (rc)
        return rc;
    /* room for a literal ref per value type after the names */
    x->o->fns = tg__calloc((size_t)n + TG__N_TYPES, sizeof *x->o->fns);
    if (!x->o->fns)
        return TG_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if ((rc = tg__dec_str(d, &s, &len)))
            return rc;
        char *name = tg__strndup(s, len);
        if (!name)
            return TG_ENOMEM;
        tg__fnref *f = &x->o->fns[x->o->n_named++];
        *f = (tg__fnref){name, NULL, NULL, true};
        if (strlen(name) != len)
            return bad("a function name holds a NUL byte");
        if (tg_lookup(name, &f->fn, &f->ctx) == 0)
            continue;
        if (!x->missing)
            return tg__seterr(TG_ENOENT,
                              "the plan calls '%s', which is not registered "
                              "in this process",
                              name);
        f->fn = x->missing; /* fails the task that calls it, by name */
        f->ctx = name;
    }
    x->n_fns = n;
    return 0;
}

/* The reference a literal target's op names: its value's type. */
static const tg__fnref *literal_ref(decoder *x, const tg_value *v)
{
    tg__fnref *f = &x->o->fns[x->n_fns + tg_typeof(v)];
    if (!f->name) /* type names are static strings */
        *f = (tg__fnref){tg_type_name(tg_typeof(v)), NULL, NULL, true};
    return f;
}

static int add_arg(decoder *x, tg_value *v)
{
    struct tg__plan_owned *o = x->o;
    if (o->n_args == x->cap_args) {
        size_t cap = x->cap_args ? 2 * x->cap_args : 64;
        tg_value **a = tg__realloc(o->args, cap * sizeof *a);
        if (!a) {
            tg_decref(v);
            return TG_ENOMEM;
        }
        o->args = a, x->cap_args = cap;
    }
    o->args[o->n_args++] = v;
    return 0;
}

/* Op o: its function, flags, token and arguments; counts its inputs. */
static int get_op(decoder *x, uint32_t o, uint32_t *n_in)
{
    tg__dec *d = x->d;
    uint32_t head[2];
    tg__token tok;
    uint32_t nargs = 0;
    int rc = get_u32s(d, head, 2);
    if (!rc)
        rc = get_token(d, &tok);
    if (!rc)
        rc = get_count(d, 1, "argument count", &nargs);
    if (rc)
        return rc;
    if ((head[0] >= x->n_fns && head[0] != LITERAL_FN)
        || (head[1] & ~(uint32_t)TG__OP_LIST_INPUTS)
        || (head[0] == LITERAL_FN && nargs != 1))
        return bad("an op names no function, or has unknown flags");
    tg__call *c = &x->o->calls[o];
    x->arg_off[o] = (uint32_t)x->o->n_args;
    x->p->ops[o] = (tg__op){c, *n_in, head[1]};
    uint32_t mask = 0;
    for (uint32_t a = 0; a < nargs; a++) {
        tg_value *v = tg__decode(d);
        if (!v || (rc = add_arg(x, v)))
            return v ? rc : tg__last_code(TG_EFORMAT);
        long k = arg_inputs(v, head[1]);
        if (k < 0 || (head[0] == LITERAL_FN && k))
            return bad("an input hole where no op fills it");
        if (v == tg__codec_hole() && a < 32)
            mask |= 1u << a;
        if ((uint64_t)*n_in + (uint64_t)k >= MAX_COUNT)
            return bad("too many inputs");
        *n_in += (uint32_t)k;
    }
    const tg__fnref *f = head[0] == LITERAL_FN ? NULL : &x->o->fns[head[0]];
    *c = (tg__call){.fn = f, .nargs = nargs, .mask = mask};
    atomic_init(&c->self.refcount, 1);
    c->self.type = TG_DELAYED;
    c->self.flags = TG__IMMORTAL;
    c->self.u.d.token = tok;
    return 0;
}

/* Points each call at its arguments (the array may have moved while it
 * grew) and literal targets at their type's reference. */
static void fix_calls(decoder *x)
{
    for (uint32_t o = 0; o < x->p->n_ops; o++) {
        tg__call *c = &x->o->calls[o];
        c->args = c->nargs ? &x->o->args[x->arg_off[o]] : NULL;
        if (!c->fn) /* get_op made sure a literal has its one value */
            c->fn = literal_ref(x, TG_ALWAYS(c->nargs == 1) ? c->args[0]
                                                            : tg_null());
    }
}

/* Task boundaries and inputs obey static order. */
static int check_order(const tg__plan *p)
{
    if (p->op_begin[0] != 0 || p->op_begin[p->n_tasks] != p->n_ops)
        return bad("task boundaries do not cover the ops");
    for (uint32_t t = 0; t < p->n_tasks; t++)
        if (p->op_begin[t] >= p->op_begin[t + 1])
            return bad("a task without ops");
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        for (uint32_t o = p->op_begin[t]; o < p->op_begin[t + 1]; o++) {
            if (!p->ops[o].call->fn->fn && o != p->op_begin[t])
                return bad("a literal inside a chain");
            for (uint32_t k = p->ops[o].in; k < p->ops[o + 1].in; k++) {
                uint32_t s = p->in[k];
                bool ok = o == p->op_begin[t]
                              ? s < t || (s >= p->n_tasks && s < p->n_slots)
                              : s == t;
                if (!ok)
                    return bad("an input out of static order");
            }
        }
    }
    return 0;
}

static int get_literals_and_targets(decoder *x)
{
    tg__dec *d = x->d;
    tg__plan *p = x->p;
    unsigned holes = d->flags & TG__CODEC_HOLES;
    d->flags &= ~(unsigned)TG__CODEC_HOLES; /* no hole in a value */
    int rc = 0;
    for (uint32_t j = 0; j < p->n_literals && rc == 0; j++) {
        rc = get_token(d, &p->literal_tokens[j]);
        if (rc == 0 && !(p->literal[j] = tg__decode(d)))
            rc = tg__last_code(TG_EFORMAT);
    }
    for (size_t i = 0; i < p->n_targets && rc == 0; i++) {
        uint64_t t;
        if ((rc = tg__dec_u64(d, &t)))
            break;
        if (t != NO_TASK && t >= p->n_tasks) {
            rc = bad("a target names no task");
        } else if (t == NO_TASK) {
            p->target_task[i] = -1;
            if (!(p->target_value[i] = tg__decode(d)))
                rc = tg__last_code(TG_EFORMAT);
        } else {
            p->target_task[i] = (int64_t)t;
            p->is_target[t] = 1;
        }
    }
    d->flags |= holes;
    return rc;
}

/* Reads counts: each first op's reads of task slots, plus targets.  A
 * compiled plan is culled, so every task is read or is a target; a plan
 * with a task nobody reads is refused (sync would never free it). */
static int count_reads(tg__plan *p)
{
    memset(p->reads, 0, p->n_slots * sizeof *p->reads);
    for (uint32_t t = 0; t < p->n_tasks; t++) {
        const tg__op *op = &p->ops[p->op_begin[t]];
        for (uint32_t k = op[0].in; k < op[1].in; k++)
            p->reads[p->in[k]]++;
        p->reads[t] += p->is_target[t];
    }
    for (uint32_t t = 0; t < p->n_tasks; t++)
        if (p->reads[t] == 0)
            return bad("a task whose result nobody reads");
    for (uint32_t s = p->n_tasks; s < p->n_slots; s++)
        p->reads[s] = UINT32_MAX;
    return 0;
}

static int alloc_arrays(tg__plan *p)
{
    size_t nt = p->n_tasks, no = p->n_ops, nl = p->n_literals;
    p->op_begin = tg__big_alloc((nt + 1) * sizeof *p->op_begin);
    p->ops = tg__big_calloc(no + 1, sizeof *p->ops);
    p->in = tg__big_alloc((p->n_in ? p->n_in : 1) * sizeof *p->in);
    p->literal = tg__big_calloc(nl ? nl : 1, sizeof *p->literal);
    p->literal_tokens =
        tg__big_alloc((nl ? nl : 1) * sizeof *p->literal_tokens);
    p->reads = tg__big_alloc((p->n_slots ? p->n_slots : 1) * sizeof *p->reads);
    p->is_target = tg__big_calloc(nt ? nt : 1, 1);
    p->target_task =
        tg__big_alloc((p->n_targets ? p->n_targets : 1) * sizeof(int64_t));
    p->target_value =
        tg__big_calloc(p->n_targets ? p->n_targets : 1, sizeof(tg_value *));
    bool ok = p->op_begin && p->ops && p->in && p->literal && p->literal_tokens
              && p->reads && p->is_target && p->target_task && p->target_value;
    return ok ? 0 : TG_ENOMEM;
}

static int decode(decoder *x)
{
    tg__dec *d = x->d;
    tg__plan *p = x->p;
    uint8_t format;
    uint32_t c[5];
    int rc = tg__dec_u8(d, &format);
    if (rc == 0 && format != PLAN_FORMAT)
        rc = bad("unknown plan format");
    if (rc == 0)
        rc = get_fns(x);
    const char *what[5] = {"task count", "op count", "input count",
                           "literal count", "target count"};
    for (int i = 0; i < 5 && rc == 0; i++)
        rc = get_count(d, 1, what[i], &c[i]);
    if (rc)
        return rc;
    p->n_tasks = c[0], p->n_ops = c[1], p->n_in = c[2], p->n_literals = c[3];
    p->n_targets = c[4];
    p->n_slots = p->n_tasks + p->n_literals;
    x->o->calls = tg__calloc(p->n_ops ? p->n_ops : 1, sizeof *x->o->calls);
    x->arg_off = tg__malloc((p->n_ops ? p->n_ops : 1) * sizeof *x->arg_off);
    if (!x->o->calls || !x->arg_off || alloc_arrays(p))
        return TG_ENOMEM;
    if ((size_t)p->n_tasks + 1 > left(d) / 4)
        return bad("task count");
    if ((rc = get_u32s(d, p->op_begin, (size_t)p->n_tasks + 1)))
        return rc;
    uint32_t n_in = 0;
    for (uint32_t o = 0; o < p->n_ops && rc == 0; o++)
        rc = get_op(x, o, &n_in);
    if (rc)
        return rc;
    p->ops[p->n_ops] = (tg__op){.in = n_in};
    if (n_in != p->n_in || (size_t)n_in > left(d) / 4)
        return bad("the inputs do not match the ops' holes");
    if ((rc = get_u32s(d, p->in, p->n_in)))
        return rc;
    fix_calls(x);
    if ((rc = check_order(p)) || (rc = get_literals_and_targets(x)))
        return rc;
    return count_reads(p);
}

int tg__plan_decode(tg__dec *d, tg__plan **out)
{
    *out = NULL;
    tg__plan *p = tg__calloc(1, sizeof *p);
    struct tg__plan_owned *o = p ? tg__calloc(1, sizeof *o) : NULL;
    if (!o) {
        tg__free(p);
        return TG_ENOMEM;
    }
    p->owned = o;
    decoder x = {d, p, o, 0, NULL, 0, NULL};
    unsigned flags = d->flags;
    d->flags |= TG__CODEC_HOLES;
    int rc = decode(&x);
    d->flags = flags;
    tg__free(x.arg_off);
    if (rc) {
        if (rc == TG_EFORMAT && !strstr(tg_last_error(), "plan")) {
            char why[256]; /* say that a plan was being read */
            snprintf(why, sizeof why, "%s", tg_last_error());
            bad(why);
        }
        tg__plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- task specs ---------------------------------------------------------- */

/* One task as a worker receives it:
 *
 *   u8 TASK_FORMAT; u64 n_fns, n_fns names; u64 n_ops; the ops (as in a
 *   plan); u64 n_inputs; per input of the first op: u8 kind
 *   (TG__INPUT_TASK, TG__INPUT_LITERAL), u64 index.
 *
 * The inputs' values travel apart (results held by workers, literals
 * sent once per worker), so a spec stays small. */
#define TASK_FORMAT 1

int tg__plan_encode_task(const tg__plan *p, uint32_t t, tg__enc *e)
{
    uint32_t first = p->op_begin[t], end = p->op_begin[t + 1];
    uint32_t *fn_of = tg__malloc((end - first + 1) * sizeof *fn_of);
    const tg__fnref **fns = NULL;
    size_t n_fns = 0;
    int rc =
        fn_of ? collect_fns(p, first, end, &fns, &n_fns, fn_of) : TG_ENOMEM;
    if (rc == 0)
        rc = tg__enc_u8(e, TASK_FORMAT);
    if (rc == 0)
        rc = put_fns(e, fns, n_fns);
    if (rc == 0)
        rc = tg__enc_u64(e, end - first);
    for (uint32_t o = first; o < end && rc == 0; o++)
        rc = put_op(e, &p->ops[o], fn_of[o - first]);
    const tg__op *op = &p->ops[first];
    if (rc == 0)
        rc = tg__enc_u64(e, op[1].in - op[0].in);
    for (uint32_t k = op[0].in; k < op[1].in && rc == 0; k++) {
        uint32_t s = p->in[k];
        bool lit = s >= p->n_tasks;
        rc = tg__enc_u8(e, lit ? TG__INPUT_LITERAL : TG__INPUT_TASK);
        if (rc == 0)
            rc = tg__enc_u64(e, lit ? s - p->n_tasks : s);
    }
    tg__free(fns);
    tg__free(fn_of);
    return rc;
}

/* The inputs of a task spec, and the first op's holes they fill. */
static int get_inputs(decoder *x, uint32_t n_holes, tg__task_input **out)
{
    tg__dec *d = x->d;
    tg__plan *p = x->p;
    uint32_t n = 0;
    int rc = get_count(d, 2, "input count", &n);
    if (rc)
        return rc;
    if (n != n_holes)
        return bad("the inputs do not match the first op's holes");
    tg__task_input *in = tg__malloc((n ? n : 1) * sizeof *in);
    if (!in)
        return TG_ENOMEM;
    for (uint32_t j = 0; j < n && rc == 0; j++) {
        uint8_t kind;
        uint64_t index;
        if ((rc = tg__dec_u8(d, &kind)) || (rc = tg__dec_u64(d, &index)))
            break;
        if ((kind != TG__INPUT_TASK && kind != TG__INPUT_LITERAL)
            || index >= MAX_COUNT)
            rc = bad("an input of an unknown kind or out of range");
        in[j] = (tg__task_input){kind, (uint32_t)index};
        p->in[j] = 1 + j; /* input j is literal slot j of this plan */
    }
    if (rc) {
        tg__free(in);
        return rc;
    }
    *out = in;
    return 0;
}

/* The arrays of a one-task plan of n_ops ops, n_in holes (the first op's
 * first) and n_lit inputs. */
static int task_arrays(tg__plan *p, uint32_t n_in, uint32_t n_lit)
{
    p->n_in = n_in;
    p->n_literals = n_lit;
    p->n_slots = 1 + n_lit;
    p->n_targets = 1;
    p->in = tg__big_alloc((n_in ? n_in : 1) * sizeof *p->in);
    p->literal = tg__big_calloc(n_lit ? n_lit : 1, sizeof *p->literal);
    p->literal_tokens =
        tg__big_calloc(n_lit ? n_lit : 1, sizeof *p->literal_tokens);
    p->reads = tg__big_alloc(p->n_slots * sizeof *p->reads);
    p->is_target = tg__big_calloc(1, 1);
    p->target_task = tg__big_calloc(1, sizeof(int64_t));
    p->target_value = tg__big_calloc(1, sizeof(tg_value *));
    if (!p->in || !p->literal || !p->literal_tokens || !p->reads
        || !p->is_target || !p->target_task || !p->target_value)
        return TG_ENOMEM;
    p->reads[0] = 1;
    for (uint32_t j = 0; j < n_lit; j++)
        p->reads[1 + j] = UINT32_MAX;
    p->is_target[0] = 1;
    return 0;
}

static int decode_task(decoder *x, tg__task_input **inputs)
{
    tg__dec *d = x->d;
    tg__plan *p = x->p;
    uint8_t format;
    uint32_t n_ops = 0, n_in = 0, first_holes = 0;
    int rc = tg__dec_u8(d, &format);
    if (rc == 0 && format != TASK_FORMAT)
        rc = bad("unknown task format");
    if (rc == 0)
        rc = get_fns(x);
    if (rc == 0)
        rc = get_count(d, 1, "op count", &n_ops);
    if (rc == 0 && n_ops == 0)
        rc = bad("a task without ops");
    if (rc)
        return rc;
    p->n_tasks = 1, p->n_ops = n_ops;
    x->o->calls = tg__calloc(n_ops, sizeof *x->o->calls);
    x->arg_off = tg__malloc(n_ops * sizeof *x->arg_off);
    p->op_begin = tg__big_alloc(2 * sizeof *p->op_begin);
    p->ops = tg__big_calloc((size_t)n_ops + 1, sizeof *p->ops);
    if (!x->o->calls || !x->arg_off || !p->op_begin || !p->ops)
        return TG_ENOMEM;
    p->op_begin[0] = 0, p->op_begin[1] = n_ops;
    for (uint32_t o = 0; o < n_ops && rc == 0; o++) {
        rc = get_op(x, o, &n_in);
        if (o == 0)
            first_holes = n_in;
    }
    if (rc)
        return rc;
    p->ops[n_ops] = (tg__op){.in = n_in};
    fix_calls(x);
    if (!p->ops[0].call->fn->fn && n_ops > 1)
        return bad("a literal inside a chain");
    if ((rc = task_arrays(p, n_in, first_holes)))
        return rc;
    for (uint32_t k = first_holes; k < n_in; k++)
        p->in[k] = 0; /* a later op reads the previous op's result */
    return get_inputs(x, first_holes, inputs);
}

int tg__task_decode(tg__dec *d, tg_fn missing, tg__plan **out,
                    tg__task_input **inputs)
{
    *out = NULL;
    *inputs = NULL;
    tg__plan *p = tg__calloc(1, sizeof *p);
    struct tg__plan_owned *o = p ? tg__calloc(1, sizeof *o) : NULL;
    if (!o) {
        tg__free(p);
        return TG_ENOMEM;
    }
    p->owned = o;
    decoder x = {d, p, o, 0, NULL, 0, missing};
    unsigned flags = d->flags;
    d->flags |= TG__CODEC_HOLES;
    int rc = decode_task(&x, inputs);
    d->flags = flags;
    tg__free(x.arg_off);
    if (rc) {
        tg__free(*inputs);
        *inputs = NULL;
        tg__plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}
