/* tests/fuzz/fuzz_types.h - a codec type for the fuzzer and its corpus.
 *
 * fuzz.box holds a nested value and a buffer that travels as a piece, so
 * that fuzzing reaches the codec-type paths: the type registry, payloads
 * bounded by their length, hooks that nest through tg__decode (up to the
 * codec's cap) and pieces taken by a hook.  Header-only, shared by the
 * harness and the corpus generator.
 */
#ifndef TG_TESTS_FUZZ_TYPES_H
#define TG_TESTS_FUZZ_TYPES_H

#include <string.h>

#include "runtime/alloc_internal.h"
#include "runtime/codec_internal.h"

typedef struct fuzz_box {
    tg_value *inner;
    void *data; /* tg__malloc, or NULL when len is 0 */
    size_t len;
} fuzz_box;

static void fuzz_box_free(void *p)
{
    fuzz_box *b = p;
    tg_decref(b->inner);
    tg__free(b->data);
    tg__free(b);
}

static int fuzz_box_encode(tg__enc *e, const tg_value *v)
{
    const fuzz_box *b = v->u.obj.ptr;
    int rc = tg__encode(e, b->inner);
    return rc ? rc : tg__enc_piece(e, b->data, b->len);
}

static tg_value *fuzz_box_decode(tg__dec *d);

static const tg__codec_type fuzz_box_codec = {"fuzz.box", TG_OBJECT,
                                              fuzz_box_encode, fuzz_box_decode};
static const tg__object_ops fuzz_box_ops = {"fuzz.box", fuzz_box_free, NULL,
                                            &fuzz_box_codec, NULL};

static tg_value *fuzz_box_decode(tg__dec *d)
{
    fuzz_box *b = tg__calloc(1, sizeof *b);
    if (!b)
        return NULL;
    tg_value *v = NULL;
    if ((b->inner = tg__decode(d)) && tg__dec_piece(d, &b->data, &b->len) == 0)
        v = tg__object_new(TG_OBJECT, &fuzz_box_ops, b);
    if (!v)
        fuzz_box_free(b);
    return v;
}

/* A new box: steals inner (NULL on failure); data is copied. */
static inline tg_value *fuzz_box_new(tg_value *inner, const void *data,
                                     size_t len)
{
    fuzz_box *b = tg__calloc(1, sizeof *b);
    tg_value *v = NULL;
    if (b && inner && (!len || (b->data = tg__malloc(len)))) {
        b->inner = inner;
        b->len = len;
        if (len)
            memcpy(b->data, data, len);
        v = tg__object_new(TG_OBJECT, &fuzz_box_ops, b);
        if (!v)
            fuzz_box_free(b);
    } else {
        tg_decref(inner);
        tg__free(b);
    }
    return v;
}

#endif /* TG_TESTS_FUZZ_TYPES_H */
