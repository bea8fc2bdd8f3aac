/* runtime/hash_internal.h - xxHash compiled into the caller.
 *
 * Recording a call hashes a few dozen bytes; through the shared library
 * that is mostly call overhead, so the hot paths use xxHash's inline
 * build (the header's XXH_INLINE_ALL mode: every function static).
 */
#ifndef TG_RUNTIME_HASH_INTERNAL_H
#define TG_RUNTIME_HASH_INTERNAL_H

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "value_internal.h"

/* The 128-bit XXH3 of n bytes with a seed, as a token. */
static inline tg__token tg__hash128_inline(const void *data, size_t n,
                                           uint64_t seed)
{
    XXH128_hash_t h = XXH3_128bits_withSeed(data, n, seed);
    return (tg__token){h.low64, h.high64};
}

#endif /* TG_RUNTIME_HASH_INTERNAL_H */
