/* runtime/builtins_internal.h - the built-in registered functions
 * (runtime/builtins.c) and how the registry takes them in. */
#ifndef TG_RUNTIME_BUILTINS_INTERNAL_H
#define TG_RUNTIME_BUILTINS_INTERNAL_H

#include "taskgraph/graph.h"

/* Registers every built-in; called once by the registry, before its
 * first use. */
void tg__builtins_register(void);
/* Adds one built-in; the registry's lock is held by the caller of
 * tg__builtins_register. */
void tg__registry_add_builtin(const char *name, tg_fn fn);

#endif /* TG_RUNTIME_BUILTINS_INTERNAL_H */
