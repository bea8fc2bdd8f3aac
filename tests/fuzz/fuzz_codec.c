/* tests/fuzz/fuzz_codec.c - libFuzzer harness for the value codec.
 *
 * Each input is decoded four ways: as a flat encoding and as a bare head
 * (no pieces, so that mutations need not keep the frame table adding
 * up), each with and without TG__CODEC_HOLES.  Input that decodes must
 * encode again, and that encoding must decode to an equal value that
 * encodes to the same bytes (the encoding is canonical after one round).
 * Input that does not decode must fail with TG_EFORMAT.  abort() reports
 * a broken property to libFuzzer; ASan and UBSan report the rest, and
 * LeakSanitizer anything not released.  See README.md to run it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_types.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_codec: %s (last error: %s)\n", what, tg_last_error());
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (tg__codec_register(&fuzz_box_codec) != 0)
        fail("cannot register fuzz.box");
    return 0;
}

/* True when v holds a NaN or an object, which tg_equal does not find
 * equal to their copies (NaN != NaN; objects compare by identity). */
static bool has_nan_or_object(const tg_value *v)
{
    size_t n = 1, cap = 64;
    const tg_value **stack = malloc(cap * sizeof *stack);
    bool found = false;
    if (!stack)
        fail("out of memory");
    stack[0] = v;
    while (n && !found) {
        const tg_value *x = stack[--n];
        tg_type t = tg_typeof(x);
        found = t == TG_OBJECT || (t == TG_FLOAT && x->u.f != x->u.f);
        for (size_t i = 0; t == TG_LIST && i < x->u.list.n; i++) {
            if (n == cap
                && !(stack = realloc(stack, (cap *= 2) * sizeof *stack)))
                fail("out of memory");
            stack[n++] = x->u.list.items[i];
        }
    }
    free(stack);
    return found;
}

/* The flat form of v, which must encode: it was decoded. */
static uint8_t *flatten(const tg_value *v, unsigned flags, size_t *len)
{
    tg__enc e;
    uint8_t *flat = NULL;
    if (tg__enc_init(&e, flags) != 0 || tg__encode(&e, v) != 0
        || tg__enc_flatten(&e, &flat, len) != 0)
        fail("a decoded value does not encode");
    tg__enc_close(&e);
    return flat;
}

/* Decodes one value from a flat form or a bare head; NULL when the input
 * is malformed, which must be the reason. */
static tg_value *decode(const uint8_t *data, size_t size, bool is_flat,
                        unsigned flags)
{
    tg__dec d;
    int rc = is_flat ? tg__dec_init_flat(&d, data, size, flags)
                     : tg__dec_init(&d, data, size, NULL, NULL, 0, flags);
    tg_value *v = rc == 0 ? tg__decode(&d) : NULL;
    if (!v && strncmp(tg_last_error(), "malformed data: ", 16) != 0)
        fail("decoding failed, but not as malformed data");
    tg__dec_close(&d);
    return v;
}

static void check(const uint8_t *data, size_t size, bool is_flat,
                  unsigned flags)
{
    tg_value *v = decode(data, size, is_flat, flags);
    if (!v)
        return;
    size_t len1, len2;
    uint8_t *flat1 = flatten(v, flags, &len1);
    tg__dec d;
    tg_value *copy = NULL;
    if (tg__dec_init_flat(&d, flat1, len1, flags) != 0
        || !(copy = tg__decode(&d)) || !tg__dec_done(&d))
        fail("a re-encoded value does not decode");
    tg__dec_close(&d);
    uint8_t *flat2 = flatten(copy, flags, &len2);
    if (len1 != len2 || memcmp(flat1, flat2, len1) != 0)
        fail("the encoding of the copy differs");
    if (!tg_equal(v, copy) && !has_nan_or_object(v))
        fail("the copy is not tg_equal to the value");
    tg__free(flat1);
    tg__free(flat2);
    tg_decref(copy);
    tg_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int i = 0; i < 4; i++)
        check(data, size, i < 2, i % 2 ? TG__CODEC_HOLES : 0);
    return 0;
}
