/* taskgraph/dtype.h - element types shared by dataframes and arrays.
 *
 * A dataframe column and an n-d array chunk hold elements of one of
 * these types; the names match Arrow's and NumPy's.
 */
#ifndef TASKGRAPH_DTYPE_H
#define TASKGRAPH_DTYPE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types. */
typedef enum tg_dtype {
    TG_DT_INT64 = 0,
    TG_DT_FLOAT64,
    TG_DT_BOOL,
    TG_DT_STRING
} tg_dtype;

/* "int64", "float64", "bool", "string" ("?" for others).  Any thread. */
TG_API const char *tg_dtype_name(tg_dtype t);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_DTYPE_H */
