/* dataframe/expr_internal.h - type checking and evaluation of column
 * expressions (dataframe/expr.c).
 */
#ifndef TG_DATAFRAME_EXPR_INTERNAL_H
#define TG_DATAFRAME_EXPR_INTERNAL_H

#include "frame_internal.h"

/* Expressions nest at most this deep (their value form is decoded by
 * recursion, so a malformed parameter must not exhaust the stack). */
#define TG__EXPR_MAX_DEPTH 1000

/* The value form of e, a task parameter: ["col", name], ["lit", value]
 * (an int, float, bool or str), [op, a] for "not" and "is_null", and
 * [op, a, b] for "eq" "ne" "lt" "le" "gt" "ge" "add" "sub" "mul" "div"
 * "floordiv" "and" "or".  New reference, or NULL (out of memory, or
 * nested deeper than TG__EXPR_MAX_DEPTH) with tg_last_error() set. */
tg_value *tg__expr_encode(const tg_expr *e);

/* The expression v encodes (new; free with tg_expr_free), or NULL with
 * *why naming what is malformed (or "out of memory").  Checks shape,
 * names and operand counts, not types: type-check the result against
 * the frame before evaluating it.  Any thread. */
tg_expr *tg__expr_decode(const tg_value *v, const char **why);

/* Checks e against a schema and stores its result type.  Returns 0, or
 * TG_EINVAL with tg_last_error() naming the problem. */
int tg__expr_type(const tg_expr *e, size_t ncols, char *const *names,
                  const tg_dtype *types, tg_dtype *out);

/* Evaluates e (already type-checked) over f: *out is a new column of
 * f->nrows rows.  Returns NULL, or an error value.  Any thread. */
tg_value *tg__expr_eval(const tg_expr *e, const tg__frame *f, tg__col **out);

/* Calls fn(name, ud) for every column e reads. */
void tg__expr_columns(const tg_expr *e, void (*fn)(const char *, void *),
                      void *ud);

#endif /* TG_DATAFRAME_EXPR_INTERNAL_H */
