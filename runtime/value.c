/* runtime/value.c - constructors, accessors and reference counting.
 *
 * Payloads of strings, bytes, lists and errors share one allocation with
 * the header.  Freeing a value that holds others (a list) never recurses
 * on the C stack: children whose count drops to zero go on a work list.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc_internal.h"
#include "codec_internal.h"
#include "value_internal.h"

static tg_value null_value = {
    .refcount = 1, .type = TG_NULL, .flags = TG__IMMORTAL};
static tg_value true_value = {
    .refcount = 1, .type = TG_BOOL, .flags = TG__IMMORTAL, .u.b = true};
static tg_value false_value = {
    .refcount = 1, .type = TG_BOOL, .flags = TG__IMMORTAL, .u.b = false};

/* Values without a payload (ints, floats) are the most common allocation
 * by far.  Each thread keeps the ones it frees on a free list (linked
 * through the dead value itself) and reuses them, which keeps a million
 * short-lived results out of malloc's bins.  The list is bounded; what
 * is left at thread exit goes back to malloc.  No list under ASan, so
 * that reuse cannot hide a use after free. */
#if defined(__SANITIZE_ADDRESS__)
#define VALUE_CACHE_MAX 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VALUE_CACHE_MAX 0
#endif
#endif
#ifndef VALUE_CACHE_MAX
#define VALUE_CACHE_MAX (1u << 20)
#endif
/* (a variable: compared with a literal 0, n_cached would warn) */
static const unsigned value_cache_max = VALUE_CACHE_MAX;

typedef struct free_value {
    struct free_value *next;
} free_value;

static _Thread_local free_value *cache;
static _Thread_local uint32_t n_cached;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_drain(void *unused)
{
    (void)unused;
    while (cache) {
        free_value *f = cache;
        cache = f->next;
        tg__free(f);
    }
    n_cached = 0;
}

void tg__value_cache_drain(void)
{
    cache_drain(NULL);
}

size_t tg__value_cached(void)
{
    return n_cached;
}

static void cache_init(void)
{
    pthread_key_create(&cache_key, cache_drain);
}

static tg_value *plain_alloc(void)
{
    if (TG_LIKELY(cache != NULL) && !tg__oom_hit()) {
        free_value *f = cache;
        cache = f->next;
        n_cached--;
        return (tg_value *)(void *)f;
    }
    return tg__malloc(sizeof(tg_value));
}

static void plain_free(tg_value *v)
{
    if (n_cached < value_cache_max) {
        if (TG_UNLIKELY(n_cached == 0 && !cache)) {
            /* first use on this thread: arrange the drain at exit */
            pthread_once(&cache_once, cache_init);
            pthread_setspecific(cache_key, (void *)1);
        }
        free_value *f = (free_value *)(void *)v;
        f->next = cache;
        cache = f;
        n_cached++;
        return;
    }
    tg__free(v);
}

static tg_value *value_new(tg_type t, size_t extra)
{
    tg_value *v = extra ? tg__malloc(sizeof *v + extra) : plain_alloc();
    if (v) {
        atomic_init(&v->refcount, 1);
        v->type = (uint8_t)t;
        v->flags = 0;
        v->spare = 0;
    }
    return v;
}

tg_value *tg_null(void)
{
    return &null_value;
}
tg_value *tg_bool(bool b)
{
    return b ? &true_value : &false_value;
}

tg_value *tg_int(int64_t i)
{
    tg_value *v = value_new(TG_INT, 0);
    if (v)
        v->u.i = i;
    return v;
}

tg_value *tg_float(double f)
{
    tg_value *v = value_new(TG_FLOAT, 0);
    if (v)
        v->u.f = f;
    return v;
}

static tg_value *bytes_new(tg_type t, const void *data, size_t len)
{
    if (!data && len)
        return tg__seterr_null(TG_EINVAL, "%s: NULL data", tg_type_name(t));
    tg_value *v = value_new(t, len + 1);
    if (!v)
        return NULL;
    v->u.s.len = len;
    v->u.s.data = (char *)(v + 1);
    if (len)
        memcpy(v->u.s.data, data, len);
    v->u.s.data[len] = '\0';
    return v;
}

tg_value *tg__bytes_adopt(tg_type t, void *block, size_t len)
{
    char *data = tg__realloc(block, len + 1);
    tg_value *v = data ? tg__malloc(sizeof *v) : NULL;
    if (!v) {
        tg__free(data ? data : block);
        return NULL;
    }
    atomic_init(&v->refcount, 1);
    v->type = (uint8_t)t;
    v->flags = TG__OWNS_DATA;
    v->spare = 0;
    data[len] = '\0';
    v->u.s.len = len;
    v->u.s.data = data;
    return v;
}

tg_value *tg_str(const char *s)
{
    if (!s)
        return tg__seterr_null(TG_EINVAL, "tg_str: NULL string");
    return bytes_new(TG_STR, s, strlen(s));
}

tg_value *tg_str_n(const char *s, size_t len)
{
    return bytes_new(TG_STR, s, len);
}

tg_value *tg_bytes(const void *data, size_t len)
{
    return bytes_new(TG_BYTES, data, len);
}

tg_value *tg_list_from(size_t n, tg_value *const *items)
{
    if (!items && n)
        return tg__seterr_null(TG_EINVAL,
                               "tg_list_from: NULL items with "
                               "a count of %zu",
                               n);
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (!items[i])
            bad = i;
    tg_value *v = NULL;
    if (bad < n)
        tg__seterr(TG_EINVAL, "tg_list: item %zu is NULL", bad);
    else if (n > (SIZE_MAX - sizeof *v) / sizeof *items)
        tg__seterr(TG_ENOMEM, "tg_list: %zu items", n);
    else
        v = value_new(TG_LIST, n * sizeof *items);
    if (!v) {
        for (size_t i = 0; i < n; i++)
            tg_decref(items[i]);
        return NULL;
    }
    v->u.list.n = n;
    v->u.list.items = (tg_value **)(v + 1);
    if (n)
        memcpy(v->u.list.items, items, n * sizeof *items);
    return v;
}

tg_value *tg_list(size_t n, ...)
{
    tg_value *small[16], **items = small;
    if (n > 16 && !(items = tg__malloc(n * sizeof *items))) {
        va_list ap;
        va_start(ap, n);
        for (size_t i = 0; i < n; i++)
            tg_decref(va_arg(ap, tg_value *));
        va_end(ap);
        return NULL;
    }
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        items[i] = va_arg(ap, tg_value *);
    va_end(ap);
    tg_value *v = tg_list_from(n, items);
    if (items != small)
        tg__free(items);
    return v;
}

tg_value *tg__error_new(const char *msg, const char *key)
{
    if (!msg)
        msg = "";
    size_t mlen = strlen(msg), klen = key ? strlen(key) + 1 : 0;
    tg_value *v = value_new(TG_ERROR, mlen + 1 + klen);
    if (!v)
        return NULL;
    v->u.err.message = (char *)(v + 1);
    memcpy(v->u.err.message, msg, mlen + 1);
    v->u.err.key = NULL;
    if (key) {
        v->u.err.key = v->u.err.message + mlen + 1;
        memcpy(v->u.err.key, key, klen);
    }
    return v;
}

tg_value *tg_verror(const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = fmt ? vsnprintf(small, sizeof small, fmt, ap) : (small[0] = 0, 0);
    tg_value *v;
    if (n < 0) {
        v = tg__error_new("(unprintable error message)", NULL);
    } else if ((size_t)n < sizeof small) {
        v = tg__error_new(small, NULL);
    } else {
        char *big = tg__malloc((size_t)n + 1);
        v = NULL;
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, ap2);
            v = tg__error_new(big, NULL);
            tg__free(big);
        }
    }
    va_end(ap2);
    return v;
}

tg_value *tg_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tg_value *v = tg_verror(fmt, ap);
    va_end(ap);
    return v;
}

tg_value *tg__object_new(tg_type t, const tg__object_ops *ops, void *ptr)
{
    const char *name = ops && ops->type_name ? ops->type_name : NULL;
    size_t nlen = name ? strlen(name) + 1 : 0;
    tg_value *v = value_new(t, nlen);
    if (!v)
        return NULL;
    v->u.obj.ops = ops;
    v->u.obj.ptr = ptr;
    v->u.obj.type_name = NULL;
    if (name) {
        v->u.obj.type_name = (char *)(v + 1);
        memcpy(v->u.obj.type_name, name, nlen);
    }
    return v;
}

/* User objects carry their free function in a small ops record of their
 * own, allocated with the value and released with it. */
typedef struct user_object {
    tg__object_ops ops;
    void (*free_fn)(void *);
} user_object;

tg_value *tg_object(void *ptr, void (*free_fn)(void *), const char *type_name)
{
    size_t nlen = type_name ? strlen(type_name) + 1 : 0;
    tg_value *v = value_new(TG_OBJECT, sizeof(user_object) + nlen);
    if (!v)
        return NULL;
    user_object *uo = (user_object *)(v + 1);
    char *name = (char *)(uo + 1);
    if (type_name)
        memcpy(name, type_name, nlen);
    uo->ops =
        (tg__object_ops){type_name ? name : "object", NULL, NULL, NULL, NULL};
    uo->free_fn = free_fn;
    v->u.obj.ops = &uo->ops;
    v->u.obj.ptr = ptr;
    v->u.obj.type_name = type_name ? name : NULL;
    return v;
}

void *tg_as_object(const tg_value *v)
{
    return v && v->type == TG_OBJECT ? v->u.obj.ptr : NULL;
}

tg_value *tg_incref(tg_value *v)
{
    /* Relaxed: taking a new reference needs no ordering, the caller
     * already holds one (as in every refcounting scheme). */
    if (v && !(v->flags & TG__IMMORTAL))
        atomic_fetch_add_explicit(&v->refcount, 1, memory_order_relaxed);
    return v;
}

/* Drops one reference; true when it was the last.  Release/acquire so
 * that every write made through other references happens-before free. */
static bool release(tg_value *v)
{
    if (v->flags & TG__IMMORTAL)
        return false;
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer does not model fences: the same order, expressed
     * on the read-modify-write itself, so that it sees the other
     * owners' uses happen before the free. */
    return atomic_fetch_sub_explicit(&v->refcount, 1, memory_order_acq_rel)
           == 1;
#else
    if (atomic_fetch_sub_explicit(&v->refcount, 1, memory_order_release) != 1)
        return false;
    atomic_thread_fence(memory_order_acquire);
    return true;
#endif
}

static void free_object(tg_value *v)
{
    if (v->type == TG_OBJECT && v->u.obj.ops) {
        const user_object *uo = (const user_object *)v->u.obj.ops;
        if ((const void *)uo == (const void *)(v + 1)) {
            if (uo->free_fn)
                uo->free_fn(v->u.obj.ptr);
            return;
        }
    }
    if (v->u.obj.ops && v->u.obj.ops->free)
        v->u.obj.ops->free(v->u.obj.ptr);
}

/* Ints and floats came from plain_alloc; everything else has a payload
 * and came from tg__malloc. */
static void free_leaf(tg_value *v)
{
    switch ((tg_type)v->type) {
    case TG_INT:
    case TG_FLOAT: plain_free(v); return;
    case TG_OBJECT:
    case TG_FRAME:
    case TG_NDARRAY: free_object(v); break;
    case TG_STR:
    case TG_BYTES:
        if (v->flags & TG__OWNS_DATA)
            tg__free(v->u.s.data);
        break;
    default: break;
    }
    tg__free(v);
}

void tg_decref(tg_value *v)
{
    if (!v || !release(v))
        return;
    if (TG_LIKELY(v->type != TG_LIST)) {
        free_leaf(v);
        return;
    }
    /* Dying lists form a stack linked through their items field (the
     * items always sit right after the header, so it can be recomputed):
     * freeing deep nesting needs neither recursion nor allocation. */
    v->u.list.items = NULL;
    tg_value *stack = v;
    while (stack) {
        tg_value *l = stack;
        stack = (tg_value *)(void *)l->u.list.items;
        tg_value **items = (tg_value **)(void *)(l + 1);
        for (size_t i = 0; i < l->u.list.n; i++) {
            tg_value *c = items[i];
            if (!release(c))
                continue;
            if (c->type == TG_LIST) {
                c->u.list.items = (tg_value **)(void *)stack;
                stack = c;
            } else {
                free_leaf(c);
            }
        }
        tg__free(l);
    }
}

tg_type tg_typeof(const tg_value *v)
{
    return v ? (tg_type)v->type : TG_NULL;
}

const char *tg_type_name(tg_type t)
{
    static const char *const names[] = {
        "null", "bool",  "int",     "float", "str",    "bytes",
        "list", "error", "delayed", "frame", "object", "ndarray"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

int64_t tg_as_int(const tg_value *v)
{
    if (!v)
        return 0;
    if (v->type == TG_INT)
        return v->u.i;
    return v->type == TG_BOOL ? v->u.b : 0;
}

double tg_as_float(const tg_value *v)
{
    if (!v)
        return 0.0;
    if (v->type == TG_FLOAT)
        return v->u.f;
    return v->type == TG_INT ? (double)v->u.i : 0.0;
}

bool tg_as_bool(const tg_value *v)
{
    return v && v->type == TG_BOOL && v->u.b;
}

const char *tg_as_str(const tg_value *v)
{
    return v && v->type == TG_STR ? v->u.s.data : NULL;
}

const void *tg_as_bytes(const tg_value *v, size_t *len)
{
    if (!v || (v->type != TG_BYTES && v->type != TG_STR)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = v->u.s.len;
    return v->u.s.data;
}

bool tg_is_error(const tg_value *v)
{
    return v && v->type == TG_ERROR;
}

size_t tg_list_len(const tg_value *v)
{
    return v && v->type == TG_LIST ? v->u.list.n : 0;
}

tg_value *tg_list_get(const tg_value *v, size_t i)
{
    if (!v || v->type != TG_LIST || i >= v->u.list.n)
        return NULL;
    return v->u.list.items[i];
}

const char *tg_error_message(const tg_value *err)
{
    return tg_is_error(err) ? err->u.err.message : NULL;
}

const char *tg_error_key(const tg_value *err)
{
    return tg_is_error(err) ? err->u.err.key : NULL;
}

static bool equal_scalar(const tg_value *a, const tg_value *b)
{
    switch ((tg_type)a->type) {
    case TG_NULL: return true;
    case TG_BOOL: return a->u.b == b->u.b;
    case TG_INT: return a->u.i == b->u.i;
    case TG_FLOAT: return a->u.f == b->u.f;
    case TG_STR:
    case TG_BYTES:
        return a->u.s.len == b->u.s.len
               && memcmp(a->u.s.data, b->u.s.data, a->u.s.len) == 0;
    case TG_ERROR: return strcmp(a->u.err.message, b->u.err.message) == 0;
    case TG_DELAYED: return a->u.d.node == b->u.d.node;
    case TG_FRAME:
    case TG_OBJECT: return a->u.obj.ptr == b->u.obj.ptr;
    case TG_NDARRAY:
        return a->u.obj.ptr == b->u.obj.ptr || tg__codec_same(a, b);
    case TG_LIST: break;
    }
    return false;
}

/* Lists compare item by item; nested lists are flattened into a queue of
 * pairs so that deep nesting uses heap, not the C stack. */
bool tg_equal(const tg_value *a, const tg_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return false;
    if (a->type != TG_LIST)
        return equal_scalar(a, b);
    size_t cap = 64, n = 0;
    const tg_value **pairs = tg__malloc(cap * 2 * sizeof *pairs);
    if (!pairs)
        return false;
    pairs[n * 2] = a, pairs[n * 2 + 1] = b, n++;
    bool eq = true;
    while (n && eq) {
        n--;
        const tg_value *x = pairs[n * 2], *y = pairs[n * 2 + 1];
        if (x == y)
            continue;
        if (x->type != y->type) {
            eq = false;
        } else if (x->type != TG_LIST) {
            eq = equal_scalar(x, y);
        } else if (x->u.list.n != y->u.list.n) {
            eq = false;
        } else {
            for (size_t i = 0; i < x->u.list.n && eq; i++) {
                if (n == cap) {
                    const tg_value **p =
                        tg__realloc(pairs, cap * 4 * sizeof *pairs);
                    if (!p) {
                        eq = false;
                        break;
                    }
                    pairs = p, cap *= 2;
                }
                pairs[n * 2] = x->u.list.items[i];
                pairs[n * 2 + 1] = y->u.list.items[i];
                n++;
            }
        }
    }
    tg__free(pairs);
    return eq;
}
