/* taskgraph/value.h - tagged, reference-counted values.
 *
 * Values are immutable once shared and their reference counts are atomic,
 * so any thread may incref, decref and read a value it holds a reference to.
 * Ownership follows jansson: constructors return a *new reference*, calls
 * documented as *stealing* take over the caller's reference (even when they
 * fail), everything else *borrows*.  null, true and false are immortal.
 */
#ifndef TASKGRAPH_VALUE_H
#define TASKGRAPH_VALUE_H

#include <stdarg.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_value tg_value;

typedef enum tg_type {
    TG_NULL = 0,
    TG_BOOL,
    TG_INT,
    TG_FLOAT,
    TG_STR,
    TG_BYTES,
    TG_LIST,
    TG_ERROR,
    TG_DELAYED, /* a call recorded in a graph, see graph.h */
    TG_FRAME,   /* a columnar table, see dataframe.h */
    TG_OBJECT,  /* an opaque user pointer, see tg_object() */
    TG_NDARRAY  /* an n-d array (dtype, shape, C-order data), see array.h */
} tg_type;

/* Constructors.  Each returns a new reference, or NULL when out of memory
 * (tg_last_error() says so).  tg_null/tg_bool never fail.  Any thread. */
TG_API tg_value *tg_null(void);
TG_API tg_value *tg_bool(bool b);
TG_API tg_value *tg_int(int64_t i);
TG_API tg_value *tg_float(double f);
/* Copies the NUL-terminated string s; NULL s is an error (returns NULL). */
TG_API tg_value *tg_str(const char *s);
/* Copies len bytes of s, which need not be NUL-terminated. */
TG_API tg_value *tg_str_n(const char *s, size_t len);
/* Copies len bytes from data (data may be NULL when len is 0). */
TG_API tg_value *tg_bytes(const void *data, size_t len);

/* A list of n items.  Steals each item, even on failure.  A NULL item makes
 * the call fail (returning NULL) after releasing the others, so nested
 * constructor failures propagate instead of crashing. */
TG_API tg_value *tg_list(size_t n, ...);
/* Same as tg_list with the items in an array.  Steals each item. */
TG_API tg_value *tg_list_from(size_t n, tg_value *const *items);

/* An error value carrying a printf-style message and no key.  The
 * scheduler adds the key of the task that returned it.  New reference. */
TG_API tg_value *tg_error(const char *fmt, ...) TG_PRINTF(1, 2);
TG_API tg_value *tg_verror(const char *fmt, va_list ap) TG_PRINTF(1, 0);

/* An opaque pointer carried through a graph.  free_fn (may be NULL) runs
 * on ptr when the last reference goes; type_name (copied, may be NULL) is
 * shown in messages.  Its token is its identity: two objects never dedupe.
 * New reference; on failure free_fn is NOT called. */
TG_API tg_value *tg_object(void *ptr, void (*free_fn)(void *),
                           const char *type_name);
/* The pointer of an object value, or NULL for any other type. Borrowed. */
TG_API void *tg_as_object(const tg_value *v);

/* Reference counting.  tg_incref returns v; both accept NULL.  Immortal
 * values and delayed values (owned by their graph) ignore both.
 * Any thread. */
TG_API tg_value *tg_incref(tg_value *v);
TG_API void tg_decref(tg_value *v);

/* Accessors; all borrow v.  A NULL v has type TG_NULL. */
TG_API tg_type tg_typeof(const tg_value *v);
TG_API const char *tg_type_name(tg_type t); /* "int", "float", ... */
/* The integer of an int or bool value; 0 for other types. */
TG_API int64_t tg_as_int(const tg_value *v);
/* The number of a float or int value (ints convert); 0.0 otherwise. */
TG_API double tg_as_float(const tg_value *v);
/* The truth of a bool value; false otherwise. */
TG_API bool tg_as_bool(const tg_value *v);
/* The NUL-terminated text of a str value, NULL otherwise.  Borrowed. */
TG_API const char *tg_as_str(const tg_value *v);
/* The bytes of a bytes or str value and their length, NULL otherwise. */
TG_API const void *tg_as_bytes(const tg_value *v, size_t *len);
TG_API bool tg_is_error(const tg_value *v);
/* Number of items of a list, 0 otherwise. */
TG_API size_t tg_list_len(const tg_value *v);
/* Item i of a list, or NULL when out of range.  Borrowed. */
TG_API tg_value *tg_list_get(const tg_value *v, size_t i);
/* The message of an error value ("boom"), NULL for other types. */
TG_API const char *tg_error_message(const tg_value *err);
/* The key of the task that failed, or NULL if none was attached. */
TG_API const char *tg_error_key(const tg_value *err);

/* Deep equality: same type and same contents (floats compare by value,
 * n-d arrays by dtype, shape and the bits of their elements, frames,
 * objects and delayed values by identity).  Any thread. */
TG_API bool tg_equal(const tg_value *a, const tg_value *b);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_VALUE_H */
