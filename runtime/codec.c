/* runtime/codec.c - the wire codec for values (codec_internal.h).
 *
 * The head is the version byte, then per value a one-byte tag and its
 * payload; integers are little-endian and fixed-width, stored byte by
 * byte so that the format never depends on the host.  Lists nest without
 * recursion: the encoder walks an explicit stack of lists, the decoder
 * an explicit stack of lists under construction over one array of the
 * items decoded so far.  Only codec types' hooks recurse (through
 * tg__encode/tg__decode), and their nesting is capped at MAX_EXT_DEPTH.
 * The decoder checks every count and length against the bytes left
 * before it allocates anything: each value takes at least one byte, so
 * nothing it allocates is larger than the input warrants.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_internal.h"
#include "codec_internal.h"

/* Tags: one byte before each value in the head. */
enum {
    TAG_NULL = 0,
    TAG_FALSE = 1,
    TAG_TRUE = 2,
    TAG_INT = 3,         /* i64 */
    TAG_FLOAT = 4,       /* the IEEE-754 bits, u64 */
    TAG_STR = 5,         /* u64 len, len bytes */
    TAG_BYTES = 6,       /* u64 len, len bytes */
    TAG_STR_PIECE = 7,   /* u64 len; the bytes are the next piece */
    TAG_BYTES_PIECE = 8, /* u64 len; the bytes are the next piece */
    TAG_LIST = 9,        /* u64 n, then n values */
    TAG_ERROR = 10,      /* str message, u8 has_key, [str key] */
    TAG_HOLE = 11,       /* tg__codec_hole(), with TG__CODEC_HOLES */
    TAG_EXT = 12         /* str type name, u64 payload length, payload */
};

/* Codec types' payloads may hold values of codec types, and their hooks
 * recurse through tg__encode/tg__decode: this caps that recursion (on
 * the C stack), so that crafted input cannot exhaust the stack. */
#define MAX_EXT_DEPTH 64

/* The first allocation of an encoder's head. */
#define HEAD_MIN 256

/* The flat form's fixed header: "TGV", version, n_pieces u32, head_len
 * u64; then a u64 length per piece. */
#define FLAT_MAGIC "TGV"
#define FLAT_FIXED 16

/* Names from the input are quoted in errors up to this many bytes. */
#define NAME_SHOWN 64

static tg_value hole_value = {
    .refcount = 1, .type = TG_DELAYED, .flags = TG__IMMORTAL};

tg_value *tg__codec_hole(void)
{
    return &hole_value;
}

static inline void put64(uint8_t *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static inline uint64_t get64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static inline void put32(uint8_t *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static inline uint32_t get32(const uint8_t *p)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++)
        x |= (uint32_t)p[i] << (8 * i);
    return x;
}

/* The name a value's type goes by in errors: an object's own type name,
 * else its kind ("frame", "object"). */
static const char *object_name(const tg_value *v)
{
    if (v->type == TG_OBJECT && v->u.obj.type_name)
        return v->u.obj.type_name;
    if (v->u.obj.ops && v->u.obj.ops->type_name)
        return v->u.obj.ops->type_name;
    return tg_type_name((tg_type)v->type);
}

/* Names the codec type whose hook failed, at the end of this thread's
 * last error (so that a message cut short keeps its reason), keeping the
 * code.  A message that names a codec type already (from a hook nested
 * deeper, or from the codec itself) is left alone: the innermost type is
 * the one to name.  Returns code. */
static int name_type(int code, const char *name, size_t name_len, size_t off)
{
    char inner[512];
    snprintf(inner, sizeof inner, "%s", tg_last_error());
    if (strstr(inner, "codec type '"))
        return code;
    const char *detail = inner, *prefix = tg_strerror(code);
    size_t n = strlen(prefix);
    if (strncmp(inner, prefix, n) == 0 && inner[n] == ':' && inner[n + 1])
        detail = inner + n + 2;
    int shown = (int)(name_len < NAME_SHOWN ? name_len : NAME_SHOWN);
    return tg__seterr(code, "%s (in codec type '%.*s' at head offset %zu)",
                      detail, shown, name, off);
}

/* ---- encoder ---- */

/* Grows the head to hold n more bytes (doubling, so appends amortise to
 * O(1)).  0 or TG_ENOMEM. */
static int grow(tg__enc *e, size_t n)
{
    if (n > SIZE_MAX - e->len)
        return tg__seterr(TG_ENOMEM, "codec: head of %zu + %zu bytes", e->len,
                          n);
    size_t need = e->len + n, cap = e->cap ? e->cap : HEAD_MIN;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
    uint8_t *head = tg__realloc(e->head, cap);
    if (!head)
        return TG_ENOMEM;
    e->head = head;
    e->cap = cap;
    return 0;
}

static inline int reserve(tg__enc *e, size_t n)
{
    return TG_LIKELY(e->cap - e->len >= n) ? 0 : grow(e, n);
}

/* A tag and a u64, the shape of most of the head. */
static inline int put_tag64(tg__enc *e, uint8_t tag, uint64_t x)
{
    if (TG_UNLIKELY(reserve(e, 9) != 0))
        return TG_ENOMEM;
    e->head[e->len] = tag;
    put64(e->head + e->len + 1, x);
    e->len += 9;
    return 0;
}

int tg__enc_init(tg__enc *e, unsigned flags)
{
    *e = (tg__enc){.flags = flags};
    if (grow(e, HEAD_MIN) != 0)
        return TG_ENOMEM;
    e->head[e->len++] = TG__CODEC_VERSION;
    return 0;
}

void tg__enc_close(tg__enc *e)
{
    tg__free(e->head);
    tg__free(e->pieces);
    *e = (tg__enc){0};
}

int tg__enc_u8(tg__enc *e, uint8_t x)
{
    if (reserve(e, 1) != 0)
        return TG_ENOMEM;
    e->head[e->len++] = x;
    return 0;
}

int tg__enc_u64(tg__enc *e, uint64_t x)
{
    if (reserve(e, 8) != 0)
        return TG_ENOMEM;
    put64(e->head + e->len, x);
    e->len += 8;
    return 0;
}

int tg__enc_raw(tg__enc *e, const void *p, size_t n)
{
    if (reserve(e, n) != 0)
        return TG_ENOMEM;
    if (n)
        memcpy(e->head + e->len, p, n);
    e->len += n;
    return 0;
}

int tg__enc_str(tg__enc *e, const char *s, size_t len)
{
    if (len > SIZE_MAX - 8 || reserve(e, 8 + len) != 0)
        return TG_ENOMEM;
    put64(e->head + e->len, len);
    if (len)
        memcpy(e->head + e->len + 8, s, len);
    e->len += 8 + len;
    return 0;
}

int tg__enc_piece(tg__enc *e, const void *p, size_t n)
{
    if (!p && n)
        return tg__seterr(TG_EINVAL, "codec: piece of %zu bytes at NULL", n);
    if (e->n_pieces == e->cap_pieces) {
        size_t cap = e->cap_pieces ? 2 * e->cap_pieces : 8;
        tg__piece *pieces = tg__realloc(e->pieces, cap * sizeof *pieces);
        if (!pieces)
            return TG_ENOMEM;
        e->pieces = pieces;
        e->cap_pieces = cap;
    }
    if (tg__enc_u64(e, n) != 0)
        return TG_ENOMEM;
    e->pieces[e->n_pieces++] = (tg__piece){p, n};
    return 0;
}

/* A str or bytes value: inline when short, else its buffer as a piece. */
static int put_bytes(tg__enc *e, const tg_value *v)
{
    size_t len = v->u.s.len;
    bool is_str = v->type == TG_STR;
    if (len > TG__CODEC_INLINE_MAX) {
        if (tg__enc_u8(e, is_str ? TAG_STR_PIECE : TAG_BYTES_PIECE) != 0)
            return TG_ENOMEM;
        return tg__enc_piece(e, v->u.s.data, len);
    }
    if (reserve(e, 9 + len) != 0)
        return TG_ENOMEM;
    e->head[e->len] = is_str ? TAG_STR : TAG_BYTES;
    put64(e->head + e->len + 1, len);
    if (len)
        memcpy(e->head + e->len + 9, v->u.s.data, len);
    e->len += 9 + len;
    return 0;
}

static int put_error(tg__enc *e, const tg_value *v)
{
    const char *msg = v->u.err.message, *key = v->u.err.key;
    if (tg__enc_u8(e, TAG_ERROR) != 0 || tg__enc_str(e, msg, strlen(msg)) != 0
        || tg__enc_u8(e, key != NULL) != 0
        || (key && tg__enc_str(e, key, strlen(key)) != 0))
        return TG_ENOMEM;
    return 0;
}

/* An object-like value through its codec type's hook: the tag, the type
 * name, then the payload's length (patched in once the hook has written
 * it), which bounds the decoding hook. */
static int put_ext(tg__enc *e, const tg_value *v)
{
    const tg__codec_type *t = v->u.obj.ops ? v->u.obj.ops->codec : NULL;
    const char *kind = tg_type_name((tg_type)v->type);
    if (!t)
        return tg__seterr(TG_EINVAL,
                          "cannot encode %s of type '%s': no codec registered",
                          kind, object_name(v));
    if (e->depth >= MAX_EXT_DEPTH)
        return tg__seterr(TG_EINVAL,
                          "cannot encode %s of type '%s': codec payloads "
                          "nested more than %d deep",
                          kind, t->name, MAX_EXT_DEPTH);
    size_t name_len = strlen(t->name);
    if (tg__enc_u8(e, TAG_EXT) != 0 || tg__enc_str(e, t->name, name_len) != 0
        || tg__enc_u64(e, 0) != 0)
        return TG_ENOMEM;
    size_t start = e->len;
    e->depth++;
    int rc = t->encode(e, v);
    e->depth--;
    if (rc != 0)
        return name_type(rc, t->name, name_len, start);
    put64(e->head + start - 8, e->len - start);
    return 0;
}

/* Any value but a list. */
static int put_leaf(tg__enc *e, const tg_value *v)
{
    uint64_t bits;
    switch ((tg_type)v->type) {
    case TG_NULL: return tg__enc_u8(e, TAG_NULL);
    case TG_BOOL: return tg__enc_u8(e, v->u.b ? TAG_TRUE : TAG_FALSE);
    case TG_INT: return put_tag64(e, TAG_INT, (uint64_t)v->u.i);
    case TG_FLOAT:
        memcpy(&bits, &v->u.f, sizeof bits);
        return put_tag64(e, TAG_FLOAT, bits);
    case TG_STR:
    case TG_BYTES: return put_bytes(e, v);
    case TG_ERROR: return put_error(e, v);
    case TG_DELAYED:
        if (v != &hole_value)
            return tg__seterr(TG_EINVAL, "cannot encode a delayed value: "
                                         "compute it first");
        if (!(e->flags & TG__CODEC_HOLES))
            return tg__seterr(TG_EINVAL, "cannot encode a plan's input hole "
                                         "outside a plan (TG__CODEC_HOLES)");
        return tg__enc_u8(e, TAG_HOLE);
    case TG_FRAME:
    case TG_OBJECT:
    case TG_NDARRAY: return put_ext(e, v);
    case TG_LIST: break;
    }
    return tg__seterr(TG_EINVAL, "cannot encode a value of unknown type %u",
                      (unsigned)v->type);
}

/* A list being encoded: the next item to write. */
typedef struct enc_frame {
    const tg_value *list;
    size_t next;
} enc_frame;

/* Lists, walked with an explicit stack (starting on the C stack, moved
 * to the heap past its size) so that any depth of nesting encodes. */
static int put_list(tg__enc *e, const tg_value *v)
{
    enc_frame small[32], *stack = small;
    size_t depth = 0, cap = sizeof small / sizeof *small;
    int rc = put_tag64(e, TAG_LIST, v->u.list.n);
    if (rc != 0)
        goto fail;
    stack[depth++] = (enc_frame){v, 0};
    while (depth) {
        enc_frame *f = &stack[depth - 1];
        if (f->next == f->list->u.list.n) {
            depth--;
            continue;
        }
        const tg_value *item = f->list->u.list.items[f->next++];
        if (item->type != TG_LIST) {
            if ((rc = put_leaf(e, item)) != 0)
                goto fail;
            continue;
        }
        if ((rc = put_tag64(e, TAG_LIST, item->u.list.n)) != 0)
            goto fail;
        if (item->u.list.n == 0)
            continue;
        if (depth == cap) {
            enc_frame *bigger = tg__malloc(2 * cap * sizeof *bigger);
            if (!bigger) {
                rc = TG_ENOMEM;
                goto fail;
            }
            memcpy(bigger, stack, cap * sizeof *stack);
            if (stack != small)
                tg__free(stack);
            stack = bigger;
            cap *= 2;
        }
        stack[depth++] = (enc_frame){item, 0};
    }
fail:
    if (stack != small)
        tg__free(stack);
    return rc;
}

int tg__encode(tg__enc *e, const tg_value *v)
{
    if (!v)
        return tg__seterr(TG_EINVAL, "cannot encode a NULL value");
    size_t len = e->len, n_pieces = e->n_pieces;
    int rc = v->type == TG_LIST ? put_list(e, v) : put_leaf(e, v);
    if (rc != 0) {
        e->len = len;
        e->n_pieces = n_pieces;
    }
    return rc;
}

/* a + b into *sum, false when it overflows. */
static inline bool add_size(size_t a, size_t b, size_t *sum)
{
    *sum = a + b;
    return *sum >= a;
}

int tg__enc_flatten(const tg__enc *e, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t n = e->n_pieces, total = 0;
    bool ok = n <= UINT32_MAX && n <= (SIZE_MAX - FLAT_FIXED) / 8
              && add_size(FLAT_FIXED + 8 * n, e->len, &total);
    for (size_t i = 0; ok && i < n; i++)
        ok = add_size(total, e->pieces[i].len, &total);
    if (!ok)
        return tg__seterr(TG_ENOMEM, "codec: %zu pieces too large to flatten",
                          n);
    uint8_t *flat = tg__malloc(total), *p = flat;
    if (!flat)
        return TG_ENOMEM;
    memcpy(p, FLAT_MAGIC, 3);
    p[3] = TG__CODEC_VERSION;
    put32(p + 4, (uint32_t)n);
    put64(p + 8, e->len);
    p += FLAT_FIXED;
    for (size_t i = 0; i < n; i++, p += 8)
        put64(p, e->pieces[i].len);
    memcpy(p, e->head, e->len);
    p += e->len;
    for (size_t i = 0; i < n; i++) {
        if (e->pieces[i].len)
            memcpy(p, e->pieces[i].data, e->pieces[i].len);
        p += e->pieces[i].len;
    }
    *out = flat;
    *len = total;
    return 0;
}

/* ---- decoder: set-up and primitive readers ---- */

static inline size_t left(const tg__dec *d)
{
    return (size_t)(d->end - d->p);
}

static inline size_t offset(const tg__dec *d)
{
    return (size_t)(d->p - d->start);
}

/* The failure of a read of need bytes of what at the current offset. */
static int truncated(const tg__dec *d, size_t need, const char *what)
{
    return tg__seterr(TG_EFORMAT,
                      "%s at head offset %zu needs %zu bytes, %zu left", what,
                      offset(d), need, left(d));
}

/* The table of n pieces, taking the blocks over.  On failure the blocks
 * are freed and d stays empty. */
static int take_pieces(tg__dec *d, void **pieces, const size_t *lens, size_t n)
{
    if (n == 0)
        return 0;
    size_t each = sizeof *d->pieces + sizeof *d->piece_lens;
    void **table = n <= SIZE_MAX / each ? tg__malloc(n * each) : NULL;
    if (!table) {
        for (size_t i = 0; i < n; i++)
            tg__free(pieces[i]);
        return tg__seterr(TG_ENOMEM, "codec: table of %zu pieces", n);
    }
    memcpy(table, pieces, n * sizeof *table);
    d->pieces = table;
    d->piece_lens = (size_t *)(void *)(table + n);
    memcpy(d->piece_lens, lens, n * sizeof *lens);
    d->n_pieces = n;
    return 0;
}

/* Points d at the head, whose first byte must be the version. */
static int start_head(tg__dec *d, const void *head, size_t head_len)
{
    const uint8_t *h = head;
    if (head_len == 0)
        return tg__seterr(TG_EFORMAT, "empty head");
    if (h[0] != TG__CODEC_VERSION)
        return tg__seterr(TG_EFORMAT, "head has format version %u, not %u",
                          h[0], TG__CODEC_VERSION);
    d->start = h;
    d->p = h + 1;
    d->end = h + head_len;
    return 0;
}

int tg__dec_init(tg__dec *d, const void *head, size_t head_len, void **pieces,
                 const size_t *piece_lens, size_t n_pieces, unsigned flags)
{
    *d = (tg__dec){.flags = flags};
    int rc = take_pieces(d, pieces, piece_lens, n_pieces);
    if (rc == 0 && (rc = start_head(d, head, head_len)) != 0)
        tg__dec_close(d);
    return rc;
}

/* Checks the flat form's frame table against len (overflow-safe: every
 * size is compared with what remains) and sets *n and *head_len. */
static int check_flat(const uint8_t *f, size_t len, size_t *n, size_t *head_len)
{
    if (len < FLAT_FIXED)
        return tg__seterr(TG_EFORMAT,
                          "flat encoding of %zu bytes is shorter than its "
                          "%d-byte header",
                          len, FLAT_FIXED);
    if (memcmp(f, FLAT_MAGIC, 3) != 0)
        return tg__seterr(TG_EFORMAT, "flat encoding does not start with "
                                      "\"" FLAT_MAGIC "\"");
    if (f[3] != TG__CODEC_VERSION)
        return tg__seterr(TG_EFORMAT,
                          "flat encoding has format version %u, not %u", f[3],
                          TG__CODEC_VERSION);
    uint32_t n_pieces = get32(f + 4);
    uint64_t hlen = get64(f + 8);
    size_t rest = len - FLAT_FIXED;
    if (n_pieces > rest / 8)
        return tg__seterr(TG_EFORMAT,
                          "flat encoding of %zu bytes cannot hold %u piece "
                          "lengths",
                          len, n_pieces);
    rest -= (size_t)n_pieces * 8;
    if (hlen > rest)
        return tg__seterr(TG_EFORMAT,
                          "head of %llu bytes exceeds the %zu bytes left",
                          (unsigned long long)hlen, rest);
    rest -= (size_t)hlen;
    for (uint32_t i = 0; i < n_pieces; i++) {
        uint64_t plen = get64(f + FLAT_FIXED + 8 * (size_t)i);
        if (plen > rest)
            return tg__seterr(TG_EFORMAT,
                              "piece %u of %llu bytes exceeds the %zu bytes "
                              "left",
                              i, (unsigned long long)plen, rest);
        rest -= (size_t)plen;
    }
    if (rest != 0)
        return tg__seterr(TG_EFORMAT, "%zu bytes after the last piece", rest);
    *n = n_pieces;
    *head_len = (size_t)hlen;
    return 0;
}

int tg__dec_init_flat(tg__dec *d, const void *flat, size_t len, unsigned flags)
{
    const uint8_t *f = flat;
    size_t n = 0, head_len = 0;
    *d = (tg__dec){.flags = flags};
    int rc = check_flat(f, len, &n, &head_len);
    if (rc != 0)
        return rc;
    const uint8_t *lens = f + FLAT_FIXED, *head = lens + 8 * n;
    if ((rc = start_head(d, head, head_len)) != 0)
        return rc;
    if (n == 0)
        return 0;
    size_t each = sizeof *d->pieces + sizeof *d->piece_lens;
    void **table = tg__calloc(n, each);
    if (!table)
        goto fail;
    d->pieces = table;
    d->piece_lens = (size_t *)(void *)(table + n);
    d->n_pieces = n;
    const uint8_t *p = head + head_len;
    for (size_t i = 0; i < n; i++) {
        size_t plen = (size_t)get64(lens + 8 * i);
        d->piece_lens[i] = plen;
        if (plen && !(d->pieces[i] = tg__malloc(plen)))
            goto fail;
        if (plen)
            memcpy(d->pieces[i], p, plen);
        p += plen;
    }
    return 0;
fail:
    tg__dec_close(d);
    return TG_ENOMEM;
}

void tg__dec_close(tg__dec *d)
{
    for (size_t i = d->next_piece; i < d->n_pieces; i++)
        tg__free(d->pieces[i]);
    tg__free(d->pieces);
    *d = (tg__dec){0};
}

bool tg__dec_done(const tg__dec *d)
{
    return d->p == d->end && d->next_piece == d->n_pieces;
}

int tg__dec_u8(tg__dec *d, uint8_t *x)
{
    if (left(d) < 1)
        return truncated(d, 1, "u8");
    *x = *d->p++;
    return 0;
}

int tg__dec_u64(tg__dec *d, uint64_t *x)
{
    if (left(d) < 8)
        return truncated(d, 8, "u64");
    *x = get64(d->p);
    d->p += 8;
    return 0;
}

int tg__dec_raw(tg__dec *d, size_t n, const void **out)
{
    if (left(d) < n)
        return truncated(d, n, "raw bytes");
    *out = d->p;
    d->p += n;
    return 0;
}

/* A u64 length (of bytes, or of items that take a byte each at least)
 * that must fit in the head left after it, so that the caller may
 * allocate for it. */
static int get_len(tg__dec *d, const char *what, size_t *len)
{
    if (left(d) < 8)
        return truncated(d, 8, what);
    uint64_t n = get64(d->p);
    if (n > left(d) - 8)
        return tg__seterr(TG_EFORMAT,
                          "%s of %llu at head offset %zu exceeds the %zu "
                          "bytes left",
                          what, (unsigned long long)n, offset(d), left(d) - 8);
    d->p += 8;
    *len = (size_t)n;
    return 0;
}

int tg__dec_str(tg__dec *d, const char **s, size_t *len)
{
    if (get_len(d, "string length", len) != 0)
        return TG_EFORMAT;
    *s = (const char *)d->p;
    d->p += *len;
    return 0;
}

int tg__dec_piece(tg__dec *d, void **block, size_t *len)
{
    *block = NULL;
    *len = 0;
    size_t at = offset(d);
    uint64_t n = 0;
    if (tg__dec_u64(d, &n) != 0)
        return TG_EFORMAT;
    size_t i = d->next_piece;
    if (i >= d->n_pieces)
        return tg__seterr(TG_EFORMAT,
                          "piece %zu named at head offset %zu, but there "
                          "are %zu pieces",
                          i, at, d->n_pieces);
    if (n != d->piece_lens[i])
        return tg__seterr(TG_EFORMAT,
                          "piece %zu has %zu bytes, but the head at offset "
                          "%zu says %llu",
                          i, d->piece_lens[i], at, (unsigned long long)n);
    *block = d->pieces[i];
    d->pieces[i] = NULL;
    d->next_piece++;
    *len = (size_t)n;
    if (n == 0) {
        tg__free(*block);
        *block = NULL;
    }
    return 0;
}

/* ---- decoder: values ---- */

/* A str or bytes value whose bytes are the next piece: the value adopts
 * the block, so the bytes that arrived are not copied again. */
static tg_value *get_piece_bytes(tg__dec *d, bool is_str)
{
    void *block;
    size_t len;
    if (tg__dec_piece(d, &block, &len) != 0)
        return NULL;
    if (!block) /* an empty piece */
        return is_str ? tg_str_n("", 0) : tg_bytes("", 0);
    return tg__bytes_adopt(is_str ? TG_STR : TG_BYTES, block, len);
}

/* An inline str or bytes value. */
static tg_value *get_bytes(tg__dec *d, bool is_str)
{
    const char *s;
    size_t len;
    if (tg__dec_str(d, &s, &len) != 0)
        return NULL;
    return is_str ? tg_str_n(s, len) : tg_bytes(s, len);
}

/* A string for a C API (an error's message or key): no NUL inside, since
 * the encoder never writes one; a NUL-terminated copy in *out. */
static int get_cstr(tg__dec *d, const char *what, char **out)
{
    const char *s;
    size_t len, at = offset(d);
    if (tg__dec_str(d, &s, &len) != 0)
        return TG_EFORMAT;
    if (memchr(s, '\0', len))
        return tg__seterr(TG_EFORMAT, "%s at head offset %zu holds a NUL", what,
                          at);
    *out = tg__strndup(s, len);
    return *out ? 0 : TG_ENOMEM;
}

static tg_value *get_error(tg__dec *d)
{
    char *msg = NULL, *key = NULL;
    tg_value *v = NULL;
    uint8_t has_key = 0;
    size_t at;
    if (get_cstr(d, "error message", &msg) != 0)
        goto fail;
    at = offset(d);
    if (tg__dec_u8(d, &has_key) != 0)
        goto fail;
    if (has_key > 1) {
        tg__seterr(TG_EFORMAT, "error key flag %u at head offset %zu", has_key,
                   at);
        goto fail;
    }
    if (has_key && get_cstr(d, "error key", &key) != 0)
        goto fail;
    v = tg__error_new(msg, key);
fail:
    tg__free(msg);
    tg__free(key);
    return v;
}

/* A value of a codec type: the hook reads exactly the payload's length
 * of head (the decoder's end is moved to the payload's end meanwhile),
 * and every error names the type. */
static tg_value *get_ext(tg__dec *d)
{
    const char *name;
    size_t name_len, len, at = offset(d);
    if (tg__dec_str(d, &name, &name_len) != 0)
        return NULL;
    const tg__codec_type *t = tg__codec_find(name, name_len);
    int shown = (int)(name_len < NAME_SHOWN ? name_len : NAME_SHOWN);
    if (!t)
        return tg__seterr_null(TG_EFORMAT,
                               "unknown codec type '%.*s' at head offset %zu",
                               shown, name, at);
    if (d->depth >= MAX_EXT_DEPTH)
        return tg__seterr_null(TG_EFORMAT,
                               "codec type '%s' at head offset %zu nested "
                               "more than %d deep",
                               t->name, at, MAX_EXT_DEPTH);
    if (get_len(d, "codec payload length", &len) != 0)
        return NULL;
    const uint8_t *end = d->end;
    size_t start = offset(d);
    d->end = d->p + len;
    d->depth++;
    tg_value *v = t->decode(d);
    d->depth--;
    size_t unread = left(d);
    d->end = end;
    if (!v) {
        name_type(tg__last_code(TG_EFORMAT), t->name, name_len, start);
        return NULL;
    }
    if (unread) {
        tg_decref(v);
        return tg__seterr_null(TG_EFORMAT,
                               "codec type '%s' at head offset %zu left %zu "
                               "of its %zu bytes unread",
                               t->name, start, unread, len);
    }
    return v;
}

/* Lists under construction: frames over one array of the items decoded
 * so far, each frame's items from its base up. */
typedef struct dec_frame {
    size_t base; /* its first item in vals */
    size_t n;    /* items it holds when complete */
} dec_frame;

typedef struct dec_stack {
    dec_frame *frames;
    size_t n_frames, cap_frames;
    tg_value **vals; /* owned references */
    size_t n_vals, cap_vals;
} dec_stack;

/* Room for one more frame (doubling).  0 or TG_ENOMEM. */
static int grow_frames(dec_stack *s)
{
    size_t cap = s->cap_frames ? 2 * s->cap_frames : 16;
    dec_frame *f = tg__realloc(s->frames, cap * sizeof *f);
    if (!f)
        return TG_ENOMEM;
    s->frames = f;
    s->cap_frames = cap;
    return 0;
}

/* Appends v (stolen, released on failure).  0 or TG_ENOMEM. */
static int push_val(dec_stack *s, tg_value *v)
{
    if (s->n_vals == s->cap_vals) {
        size_t cap = s->cap_vals ? 2 * s->cap_vals : 64;
        tg_value **vals = tg__realloc(s->vals, cap * sizeof *vals);
        if (!vals) {
            tg_decref(v);
            return TG_ENOMEM;
        }
        s->vals = vals;
        s->cap_vals = cap;
    }
    s->vals[s->n_vals++] = v;
    return 0;
}

/* Reads one tag and its value into *out, or opens a list (pushing a
 * frame, *out NULL).  0 or a negative code, tg_last_error() set. */
static int get_one(tg__dec *d, dec_stack *s, tg_value **out)
{
    uint64_t x;
    size_t n;
    tg_value *v;
    *out = NULL;
    if (TG_UNLIKELY(d->p == d->end))
        return truncated(d, 1, "tag");
    uint8_t tag = *d->p++;
    switch (tag) {
    case TAG_NULL: *out = tg_null(); return 0;
    case TAG_FALSE: *out = tg_bool(false); return 0;
    case TAG_TRUE: *out = tg_bool(true); return 0;
    case TAG_INT:
    case TAG_FLOAT:
        if (TG_UNLIKELY(left(d) < 8))
            return truncated(d, 8, tag == TAG_INT ? "int" : "float");
        x = get64(d->p);
        d->p += 8;
        if (tag == TAG_INT) {
            v = tg_int((int64_t)x);
        } else {
            double f;
            memcpy(&f, &x, sizeof f);
            v = tg_float(f);
        }
        break;
    case TAG_STR:
    case TAG_BYTES: v = get_bytes(d, tag == TAG_STR); break;
    case TAG_STR_PIECE:
    case TAG_BYTES_PIECE: v = get_piece_bytes(d, tag == TAG_STR_PIECE); break;
    case TAG_ERROR: v = get_error(d); break;
    case TAG_EXT: v = get_ext(d); break;
    case TAG_HOLE:
        if (!(d->flags & TG__CODEC_HOLES))
            return tg__seterr(TG_EFORMAT,
                              "plan input hole at head offset %zu outside "
                              "a plan",
                              offset(d) - 1);
        *out = &hole_value;
        return 0;
    case TAG_LIST:
        /* each item takes at least its tag's byte */
        if (get_len(d, "list length", &n) != 0)
            return TG_EFORMAT;
        if (n == 0) {
            v = tg_list_from(0, NULL);
            break;
        }
        if (s->n_frames == s->cap_frames && grow_frames(s) != 0)
            return TG_ENOMEM;
        s->frames[s->n_frames++] = (dec_frame){s->n_vals, n};
        return 0;
    default:
        return tg__seterr(TG_EFORMAT, "unknown tag %u at head offset %zu", tag,
                          offset(d) - 1);
    }
    if (!v)
        return tg__last_code(TG_EFORMAT);
    *out = v;
    return 0;
}

tg_value *tg__decode(tg__dec *d)
{
    dec_stack s = {0};
    tg_value *v;
    for (;;) {
        if (get_one(d, &s, &v) != 0)
            goto fail;
        /* Hand the value to the innermost open list; each list that
         * this completes is built and handed on in turn. */
        while (v && s.n_frames) {
            if (push_val(&s, v) != 0)
                goto fail;
            dec_frame *f = &s.frames[s.n_frames - 1];
            v = NULL;
            if (s.n_vals - f->base < f->n)
                break;
            s.n_vals = f->base;
            s.n_frames--;
            /* steals the items, even on failure */
            if (!(v = tg_list_from(f->n, s.vals + f->base)))
                goto fail;
        }
        if (v && !s.n_frames)
            break;
    }
    tg__free(s.frames);
    tg__free(s.vals);
    return v;
fail:
    for (size_t i = 0; i < s.n_vals; i++)
        tg_decref(s.vals[i]);
    tg__free(s.frames);
    tg__free(s.vals);
    return NULL;
}

/* ---- comparison ---- */

bool tg__codec_same(const tg_value *a, const tg_value *b)
{
    if (!tg__is_object_type((tg_type)a->type) || a->type != b->type)
        return false;
    const tg__codec_type *ta = a->u.obj.ops ? a->u.obj.ops->codec : NULL;
    const tg__codec_type *tb = b->u.obj.ops ? b->u.obj.ops->codec : NULL;
    if (!ta || ta != tb)
        return false;
    tg__enc ea, eb;
    bool same = false;
    if (tg__enc_init(&ea, 0) != 0)
        return false;
    if (tg__enc_init(&eb, 0) == 0) {
        same = tg__encode(&ea, a) == 0 && tg__encode(&eb, b) == 0
               && ea.len == eb.len && memcmp(ea.head, eb.head, ea.len) == 0
               && ea.n_pieces == eb.n_pieces;
        for (size_t i = 0; same && i < ea.n_pieces; i++)
            same = ea.pieces[i].len == eb.pieces[i].len
                   && (ea.pieces[i].len == 0
                       || memcmp(ea.pieces[i].data, eb.pieces[i].data,
                                 ea.pieces[i].len)
                              == 0);
        tg__enc_close(&eb);
    }
    tg__enc_close(&ea);
    return same;
}

/* ---- round trip ---- */

/* An error value holding this thread's last error. */
static tg_value *error_value(void)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    return tg__error_new(msg, NULL);
}

tg_value *tg__codec_roundtrip(const tg_value *v)
{
    tg__enc e;
    tg__dec d = {0};
    uint8_t *flat = NULL;
    size_t len;
    tg_value *out = NULL;
    if (tg__enc_init(&e, 0) != 0)
        return error_value();
    if (tg__encode(&e, v) != 0 || tg__enc_flatten(&e, &flat, &len) != 0)
        goto fail;
    tg__enc_close(&e);
    if (tg__dec_init_flat(&d, flat, len, 0) != 0 || !(out = tg__decode(&d)))
        goto fail;
    if (!tg__dec_done(&d)) {
        tg_decref(out);
        out = NULL;
        tg__seterr(TG_EFORMAT, "round trip left input undecoded");
        goto fail;
    }
    tg__dec_close(&d);
    tg__free(flat);
    return out;
fail:
    tg__enc_close(&e);
    tg__dec_close(&d);
    tg__free(flat);
    return error_value();
}

int tg__flatten_value(const tg_value *v, uint8_t **out, size_t *len)
{
    tg__enc e;
    int rc = tg__enc_init(&e, 0);
    if (rc == 0)
        rc = tg__encode(&e, v);
    if (rc == 0)
        rc = tg__enc_flatten(&e, out, len);
    tg__enc_close(&e);
    return rc;
}

tg_value *tg__unflatten_value(const uint8_t *data, size_t len)
{
    tg__dec d;
    if (tg__dec_init_flat(&d, data, len, 0) != 0)
        return tg_error("%s", tg_last_error());
    tg_value *v = tg__decode(&d);
    if (v && !tg__dec_done(&d)) {
        tg_decref(v);
        v = NULL;
        tg__seterr(TG_EFORMAT, "trailing bytes after a value");
    }
    tg__dec_close(&d);
    return v ? v : tg_error("%s", tg_last_error());
}
