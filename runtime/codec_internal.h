/* runtime/codec_internal.h - the wire codec for values.
 *
 * An encoded value is a *head* - a compact little-endian byte string of
 * type tags, lengths and small payloads - plus zero or more *pieces*:
 * large buffers (long strings and bytes, column buffers, validity
 * bitmaps) that the encoder references instead of copying and that the
 * head names in order.  A transport sends the head and then each piece
 * as it is; the receiver reads each piece into its own tg__malloc block,
 * which the decoder hands to the value it builds (a column adopts its
 * buffer), so large data is never copied cell by cell, nor even once
 * after it arrives.
 *
 * Core types (null, bool, int, float, str, bytes, list - nested to any
 * depth, without recursion - and error with message and key) are built
 * in.  Object-like values (TG_FRAME, TG_OBJECT, TG_NDARRAY) encode through a
 * tg__codec_type found from the value's tg__object_ops (ops->codec) and
 * decode through the type registered under the name the head carries,
 * so runtime/ never includes the layer that defines the type.  A value
 * with no codec (a plain tg_object, a delayed value) fails to encode
 * with an error naming its type.
 *
 * Decoding trusts nothing: every tag, count and length is checked
 * against the bytes that remain before anything is allocated, and a
 * failure is a TG_EFORMAT error, never a crash.  The flat form
 * (tg__enc_flatten / tg__dec_init_flat) puts head and pieces in one
 * buffer, for files, the loopback scheduler and the fuzzer:
 *
 *     "TGV" version(u8) n_pieces(u32) head_len(u64)
 *     piece_len(u64) x n_pieces  head  piece 0  piece 1 ...
 *
 * Formats are versioned (TG__CODEC_VERSION, the head's first byte).
 */
#ifndef TG_RUNTIME_CODEC_INTERNAL_H
#define TG_RUNTIME_CODEC_INTERNAL_H

#include "value_internal.h"

#define TG__CODEC_VERSION 1

/* Payloads up to this many bytes go into the head; longer ones become
 * pieces. */
#define TG__CODEC_INLINE_MAX 4096

/* A buffer the encoder references: borrowed from the value encoded. */
typedef struct tg__piece {
    const void *data;
    size_t len;
} tg__piece;

typedef struct tg__enc {
    uint8_t *head; /* the head so far (tg__malloc) */
    size_t len, cap;
    tg__piece *pieces; /* in the order the head names them */
    size_t n_pieces, cap_pieces;
    unsigned flags; /* TG__CODEC_* */
    size_t depth;   /* nesting of codec-type payloads being encoded */
} tg__enc;

enum {
    /* Accept tg__codec_hole() values (plan arguments; see
     * graph/plan_internal.h).  Without it a hole fails to encode. */
    TG__CODEC_HOLES = 1u << 0
};

/* An empty encoder (writes the version byte).  0 or TG_ENOMEM. */
int tg__enc_init(tg__enc *e, unsigned flags);
void tg__enc_close(tg__enc *e);
/* Appends the encoding of v (borrowed).  Pieces point into v and the
 * values it holds: keep v alive while e is used.  0, or TG_EINVAL for a
 * value that cannot be encoded (tg_last_error() names its type and, for
 * an object, its type name), or TG_ENOMEM; on failure e is as it was
 * before the call.  Any thread (e is the caller's). */
int tg__encode(tg__enc *e, const tg_value *v);
/* The flat form of e in one new tg__malloc buffer.  0 or TG_ENOMEM. */
int tg__enc_flatten(const tg__enc *e, uint8_t **out, size_t *len);
/* v encoded into the flat form, in a new tg__malloc block: 0 or a code
 * (TG_EINVAL naming what cannot be encoded). */
int tg__flatten_value(const tg_value *v, uint8_t **out, size_t *len);
/* The value of a whole flat form (new reference), or an error value
 * saying why it does not decode (trailing bytes included). */
tg_value *tg__unflatten_value(const uint8_t *data, size_t len);

/* Primitive writers, for codec types: all little-endian. */
int tg__enc_u8(tg__enc *e, uint8_t x);
int tg__enc_u64(tg__enc *e, uint64_t x);
/* n bytes copied into the head. */
int tg__enc_raw(tg__enc *e, const void *p, size_t n);
/* A length-prefixed string (len then bytes, in the head). */
int tg__enc_str(tg__enc *e, const char *s, size_t len);
/* A large buffer (borrowed): its length goes into the head and the
 * buffer becomes the next piece. */
int tg__enc_piece(tg__enc *e, const void *p, size_t n);

typedef struct tg__dec {
    const uint8_t *start;   /* the head's first byte (offsets in errors) */
    const uint8_t *p, *end; /* the head not yet read */
    void **pieces;          /* n_pieces blocks (tg__malloc), owned until
                               taken; NULL once taken */
    size_t *piece_lens;
    size_t n_pieces;
    size_t next_piece; /* pieces are taken in order */
    unsigned flags;    /* TG__CODEC_HOLES */
    size_t depth;      /* nesting of codec-type payloads being decoded */
} tg__dec;

/* A decoder over a head (borrowed) and n_pieces pieces, each a
 * tg__malloc block that the decoder now owns, even when it fails (taken
 * pieces pass to the values built; the rest are freed by tg__dec_close);
 * the arrays pieces and piece_lens are borrowed.  0, or TG_EFORMAT when
 * the head does not start with TG__CODEC_VERSION, or TG_ENOMEM.  After a
 * failure d is empty (tg__dec_close is harmless). */
int tg__dec_init(tg__dec *d, const void *head, size_t head_len, void **pieces,
                 const size_t *piece_lens, size_t n_pieces, unsigned flags);
/* A decoder over the flat form (borrowed, and read as the head: keep it
 * alive while d is used; each piece is copied into a block of its own
 * with one memcpy).  0, or TG_EFORMAT when the frame table does not
 * match len, or TG_ENOMEM. */
int tg__dec_init_flat(tg__dec *d, const void *flat, size_t len, unsigned flags);
void tg__dec_close(tg__dec *d);
/* Decodes the next value: a new reference, or NULL with tg_last_error()
 * set (TG_EFORMAT: malformed input, naming what and where; TG_ENOMEM).
 * Any thread (d is the caller's). */
tg_value *tg__decode(tg__dec *d);
/* True when the whole head and every piece have been consumed. */
bool tg__dec_done(const tg__dec *d);

/* Primitive readers, for codec types.  Each returns 0, or TG_EFORMAT
 * (tg_last_error() set) when the head is too short. */
int tg__dec_u8(tg__dec *d, uint8_t *x);
int tg__dec_u64(tg__dec *d, uint64_t *x);
/* n bytes of the head: *out points into it (borrowed from d). */
int tg__dec_raw(tg__dec *d, size_t n, const void **out);
/* A string written by tg__enc_str: pointer into the head (not
 * NUL-terminated) and its length. */
int tg__dec_str(tg__dec *d, const char **s, size_t *len);
/* The next piece, written by tg__enc_piece: the caller now owns the
 * block (free with tg__free) and *len is its length, which the head
 * must agree with.  A zero-length piece gives a NULL block. */
int tg__dec_piece(tg__dec *d, void **block, size_t *len);

/* A type that crosses the wire through hooks.  Registered once, by
 * name, from the layer that defines it (a constructor); the struct is
 * borrowed for the life of the process. */
typedef struct tg__codec_type {
    const char *name; /* unique: "tg.frame", "tg.df.partial", ... */
    tg_type type;     /* TG_FRAME, TG_OBJECT or TG_NDARRAY */
    /* Writes v's payload with the primitive writers (and tg__encode for
     * nested values).  0 or a negative code with tg_last_error(). */
    int (*encode)(tg__enc *e, const tg_value *v);
    /* Reads what encode wrote: a new reference, or NULL with
     * tg_last_error() set.  Must check every length it reads. */
    tg_value *(*decode)(tg__dec *d);
} tg__codec_type;

/* Registers t (borrowed).  0; TG_EEXIST when another type has the name;
 * TG_EINVAL for a NULL field.  Any thread. */
int tg__codec_register(const tg__codec_type *t);
/* The type registered as name, or NULL.  Any thread. */
const tg__codec_type *tg__codec_find(const char *name, size_t len);

/* The placeholder a plan's argument array holds where a task input goes
 * (immortal, of type TG_DELAYED, holding no node).  Encodes only with
 * TG__CODEC_HOLES and decodes back to itself. */
tg_value *tg__codec_hole(void);

/* True when a and b (borrowed) have codec types and encode to the same
 * bytes: the same type name, head and pieces.  False when either cannot
 * be encoded or memory runs out.  tg_equal's content comparison for
 * object-like values whose layout runtime/ does not know (TG_NDARRAY).
 * Any thread. */
bool tg__codec_same(const tg_value *a, const tg_value *b);

/* Round trip of a value through the flat form: a new reference to an
 * equal value that shares no memory with v, or an error value saying
 * why v cannot cross a wire.  For tests and the loopback scheduler. */
tg_value *tg__codec_roundtrip(const tg_value *v);

#endif /* TG_RUNTIME_CODEC_INTERNAL_H */
