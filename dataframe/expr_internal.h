/* dataframe/expr_internal.h - type checking and evaluation of column
 * expressions (dataframe/expr.c).
 */
#ifndef TG_DATAFRAME_EXPR_INTERNAL_H
#define TG_DATAFRAME_EXPR_INTERNAL_H

#include "frame_internal.h"

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
