/* runtime/registry_internal.h - function references and the registry.
 *
 * A function reference is what a recorded call, a plan task and a wire
 * message name: a function name with its resolved pointer and context.
 * It is *registered* when the registry binds the name to exactly that
 * pointer and context; a registered reference means the same code in
 * every process that registered the name, so only registered references
 * can cross a wire (DESIGN.md, "keys, registered vs local calls").  The
 * registry only grows (no unregistering), so a reference once
 * registered stays so; tg__registry_generation() lets a cache of "not
 * registered" answers notice new registrations.
 */
#ifndef TG_RUNTIME_REGISTRY_INTERNAL_H
#define TG_RUNTIME_REGISTRY_INTERNAL_H

#include <stdatomic.h>

#include "taskgraph/graph.h"

typedef struct tg__fnref {
    const char *name; /* NUL-terminated; owned by whoever owns the ref */
    tg_fn fn;         /* NULL for a literal (a tg_delayed_value node) */
    void *ctx;
    bool registered; /* name bound to exactly fn and ctx */
} tg__fnref;

/* True when name is registered with exactly fn and ctx.  Any thread. */
bool tg__registry_has(const char *name, tg_fn fn, void *ctx);

/* Counts successful new registrations (relaxed: a stale read only means
 * a cached "not registered" answer is checked again later). */
extern atomic_uint_fast64_t tg__registry_gen;

static inline uint64_t tg__registry_generation(void)
{
    return atomic_load_explicit(&tg__registry_gen, memory_order_relaxed);
}

#endif /* TG_RUNTIME_REGISTRY_INTERNAL_H */
