/* runtime/hash.c - content tokens of literal values (xxHash XXH3).
 *
 * A token identifies a value by content: equal values have equal tokens,
 * so identical pure calls get identical keys.  Lists combine their items'
 * tokens without recursion on the C stack (an explicit work stack).
 */
#include <string.h>

#include "alloc_internal.h"
#include "hash_internal.h"

tg__token tg__hash128(const void *data, size_t n, uint64_t seed)
{
    return tg__hash128_inline(data, n, seed);
}

uint64_t tg__hash64(const void *data, size_t n)
{
    return XXH3_64bits(data, n);
}

/* Token of a non-list value.  The type is the seed, so 1 and 1.0 and "1"
 * differ. */
static tg__token scalar_token(const tg_value *v)
{
    uint64_t seed = TG__TYPE_SEED(v->type);
    switch ((tg_type)v->type) {
    case TG_NULL: return tg__hash128(NULL, 0, seed);
    case TG_BOOL: return tg__word_token(v->u.b, seed);
    case TG_INT: return tg__word_token((uint64_t)v->u.i, seed);
    case TG_FLOAT: {
        double f = v->u.f == 0.0 ? 0.0 : v->u.f; /* -0.0 == 0.0 */
        uint64_t w;
        memcpy(&w, &f, sizeof w);
        return tg__word_token(w, seed);
    }
    case TG_STR:
    case TG_BYTES: return tg__hash128(v->u.s.data, v->u.s.len, seed);
    case TG_ERROR:
        return tg__hash128(v->u.err.message, strlen(v->u.err.message), seed);
    case TG_OBJECT:
    case TG_FRAME:
    case TG_NDARRAY:
        if (v->u.obj.ops && v->u.obj.ops->token)
            return v->u.obj.ops->token(v->u.obj.ptr);
        return tg__hash128(&v->u.obj.ptr, sizeof v->u.obj.ptr, seed);
    case TG_DELAYED: return v->u.d.token;
    case TG_LIST: break;
    }
    return tg__hash128(&v, sizeof v, seed);
}

/* A list's token hashes the concatenation of its items' tokens.  Nested
 * lists are walked with an explicit stack of partially hashed lists. */
tg__token tg__value_token_slow(const tg_value *v)
{
    if (v->type != TG_LIST)
        return scalar_token(v);

    struct frame {
        const tg_value *list;
        size_t next;
        XXH3_state_t *st;
    };
    struct frame small[16], *stack = small;
    size_t depth = 0, cap = 16;
    tg__token out = {0, 0};

    stack[0] = (struct frame){v, 0, XXH3_createState()};
    if (!stack[0].st)
        return out; /* XXH3 state allocation failed: degenerate token */
    XXH3_128bits_reset_withSeed(stack[0].st, TG_LIST);
    for (;;) {
        struct frame *f = &stack[depth];
        if (f->next == f->list->u.list.n) {
            XXH128_hash_t h = XXH3_128bits_digest(f->st);
            XXH3_freeState(f->st);
            uint64_t n = f->list->u.list.n;
            tg__token t = {h.low64 ^ n, h.high64};
            if (depth == 0) {
                out = t;
                break;
            }
            depth--;
            XXH3_128bits_update(stack[depth].st, &t, sizeof t);
            continue;
        }
        const tg_value *item = f->list->u.list.items[f->next++];
        if (item->type != TG_LIST) {
            tg__token t = scalar_token(item);
            XXH3_128bits_update(f->st, &t, sizeof t);
            continue;
        }
        if (depth + 1 == cap) {
            struct frame *bigger = tg__malloc(2 * cap * sizeof *bigger);
            if (!bigger)
                break;
            memcpy(bigger, stack, cap * sizeof *stack);
            if (stack != small)
                tg__free(stack);
            stack = bigger;
            cap *= 2;
        }
        XXH3_state_t *st = XXH3_createState();
        if (!st)
            break;
        XXH3_128bits_reset_withSeed(st, TG_LIST);
        stack[++depth] = (struct frame){item, 0, st};
    }
    if (out.lo == 0 && out.hi == 0) /* failed midway: free the states */
        for (size_t i = 0; i <= depth; i++)
            XXH3_freeState(stack[i].st);
    if (stack != small)
        tg__free(stack);
    return out;
}
