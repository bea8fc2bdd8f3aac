/* runtime/value_internal.h - the layout of tg_value and value tokens.
 *
 * A value is a header (atomic refcount, type, flags) and a payload.  String
 * and byte payloads live in the same allocation, after the header.  Values
 * flagged TG__IMMORTAL (singletons, delayed values owned by a graph) ignore
 * incref/decref.  Layers above may define their own value kinds through
 * tg__object_ops (the dataframe's TG_FRAME and the array's TG_NDARRAY do).
 */
#ifndef TG_RUNTIME_VALUE_INTERNAL_H
#define TG_RUNTIME_VALUE_INTERNAL_H

#include <stdatomic.h>

#include "taskgraph/value.h"

/* TG__OWNS_DATA: a str or bytes value whose data is a block of its own
 * (adopted from a transport, see tg__bytes_adopt), freed with it. */
enum { TG__IMMORTAL = 1u << 0, TG__OWNS_DATA = 1u << 1 };

/* A 128-bit content hash.  Keys print it as 32 hex digits. */
typedef struct tg__token {
    uint64_t lo, hi;
} tg__token;

struct tg__codec_type;

/* Operations of an object-like value (TG_OBJECT, TG_FRAME, TG_NDARRAY). */
typedef struct tg__object_ops {
    const char *type_name;
    void (*free)(void *ptr);
    /* Content token; NULL means identity (the pointer). */
    tg__token (*token)(const void *ptr);
    /* How it crosses a wire (runtime/codec_internal.h); NULL: it
     * cannot. */
    const struct tg__codec_type *codec;
    /* Writes a short text for pictures ("frame 120×5") into buf (cap
     * bytes, NUL-terminated); NULL: pictures show type_name. */
    void (*describe)(const void *ptr, char *buf, size_t cap);
} tg__object_ops;

struct tg__node;

struct tg_value {
    atomic_uint refcount; /* owners; ignored when TG__IMMORTAL */
    uint8_t type;         /* tg_type */
    uint8_t flags;        /* TG__IMMORTAL, TG__OWNS_DATA */
    uint16_t spare;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            size_t len;
            char *data; /* NUL-terminated, inline after the header
                           (or a block of its own: TG__OWNS_DATA) */
        } s;            /* TG_STR, TG_BYTES */
        struct {
            size_t n;
            tg_value **items; /* owned references, inline */
        } list;
        struct {
            char *message; /* inline */
            char *key;     /* inline, or NULL */
        } err;
        struct {
            struct tg__node *node; /* owning graph node */
            tg__token token;       /* the call's token */
        } d;                       /* TG_DELAYED */
        struct {
            const tg__object_ops *ops;
            void *ptr;
            char *type_name; /* inline copy, or NULL */
        } obj;               /* TG_OBJECT, TG_FRAME, TG_NDARRAY */
    } u;
};

/* The number of value types: every tg_type is below it. */
#define TG__N_TYPES ((size_t)TG_NDARRAY + 1)

/* A str or bytes value (t) made around block, a tg__malloc block of len
 * bytes, without copying it: the block grows by one byte for the NUL
 * (in place for a large block) and is freed with the value.  On failure
 * block is freed and NULL returned.  What a decoder does with a piece
 * that arrived from a wire. */
tg_value *tg__bytes_adopt(tg_type t, void *block, size_t len);

/* True for the object-like types, whose payload is u.obj. */
static inline bool tg__is_object_type(tg_type t)
{
    return t == TG_OBJECT || t == TG_FRAME || t == TG_NDARRAY;
}

/* Frees the calling thread's cache of dead values (values freed on a
 * thread are kept for its next ones; a thread that frees what others
 * made would otherwise hold them all).  Part of tg_memory_trim. */
void tg__value_cache_drain(void);
/* How many dead values the calling thread keeps (for tests). */
size_t tg__value_cached(void);

/* A new object-like value of type t (TG_OBJECT, TG_FRAME or TG_NDARRAY).
 * On failure returns NULL without calling ops->free. */
tg_value *tg__object_new(tg_type t, const tg__object_ops *ops, void *ptr);

/* An error value with message msg and key key (either may be NULL). */
tg_value *tg__error_new(const char *msg, const char *key);

/* Hashes n bytes with a seed; used to build tokens. */
tg__token tg__hash128(const void *data, size_t n, uint64_t seed);
uint64_t tg__hash64(const void *data, size_t n);

/* Tokens of different types differ even for equal bits: each type seeds
 * its hash with its own constant. */
#define TG__TYPE_SEED(t) ((uint64_t)(t)*0x9E3779B97F4A7C15ull)

/* splitmix64's finalizer: a bijection with full avalanche, for tokens of
 * machine words and for hash-table slots of already-hashed keys. */
static inline uint64_t tg__mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The token of a machine word w of a type whose seed is seed. */
static inline tg__token tg__word_token(uint64_t w, uint64_t seed)
{
    return (tg__token){tg__mix64(w ^ seed), tg__mix64(w + seed * 3 + 1)};
}

/* The content token of a value; a delayed value's is its call's.  The
 * common cases are inline, the rest is in runtime/hash.c. */
tg__token tg__value_token_slow(const tg_value *v);

static inline tg__token tg__value_token(const tg_value *v)
{
    if (v->type == TG_DELAYED)
        return v->u.d.token;
    if (v->type == TG_INT)
        return tg__word_token((uint64_t)v->u.i, TG__TYPE_SEED(TG_INT));
    return tg__value_token_slow(v);
}

#endif /* TG_RUNTIME_VALUE_INTERNAL_H */
