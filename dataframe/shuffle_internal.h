/* dataframe/shuffle_internal.h - the one shuffle of the dataframe, and
 * the sort specs its range partitioner reads.
 *
 * A shuffle moves the rows of n input partitions into k output
 * partitions in two layers of ordinary tasks:
 *
 *   split (one per input):  frame -> a list of k pieces, piece j holding
 *                           the rows the partitioner sends to output j,
 *                           in input order;
 *   pick (n x k):           list -> piece j, one task result per piece;
 *
 * and each consumer (a per-range sort, a join, a group's function)
 * takes piece j of every input, in input order, as the arguments of its
 * own task.  Because every piece is a task result of its own, the
 * distributed scheduler moves each piece from the worker that split it
 * to the worker that consumes it, and releases it once consumed; no
 * task ever holds more than one input and one output.  The graph has
 * n + n*k + k tasks (the picks are tiny); a later version may fuse the
 * picks into the scheduler's transfer.  groupby's split_out uses the
 * same pick layer over its hash-split partials; merge (join.c)
 * shuffles both sides with the hash partitioner.
 *
 * Partitioners are plain values:
 *   ["hash", [key names], k]   output = hash of the key tuple (null and
 *                              NaN keys hash as keys, tg__key_hash) mod k;
 *   ["group", [key names], k]  the same, but a NaN float key hashes as a
 *                              null (transform's and tg_df_shuffle's
 *                              groups, where NaN is null);
 *   ["rows", [], k]            by global row position: the rows cut into
 *                              k runs of equal size (+-1) in (partition,
 *                              row) order; the split task's fourth
 *                              argument is the list of every input's
 *                              row count (repartition);
 *   ["range", sort spec, k]    output = the number of splitters at or
 *                              before the row's position (keys under the
 *                              spec's order, then partition, then row);
 *                              the splitters frame is the split task's
 *                              fourth argument (a task result).
 * A sort spec is [[key names], [ascending bools], nulls_first bool].
 */
#ifndef TG_DATAFRAME_SHUFFLE_INTERNAL_H
#define TG_DATAFRAME_SHUFFLE_INTERNAL_H

#include "df_internal.h"
#include "order_internal.h"

/* The largest k a split accepts (a malformed parameter must not make a
 * task allocate without bound). */
#define TG__SHUFFLE_MAX_K (1 << 20)

/* A sort spec decoded: names borrowed from the value. */
typedef struct tg__sortspec {
    size_t n_keys;
    const char **keys;
    bool *ascending;
    bool nulls_first;
} tg__sortspec;

/* The spec value for these keys (names copied).  NULL on OOM. */
tg_value *tg__sortspec_value(size_t n_keys, const char *const *keys,
                             const bool *ascending, bool nulls_first);
/* Reads a spec value (at least one key).  0, or -1 with *why set. */
int tg__sortspec_decode(const tg_value *v, tg__sortspec *out, const char **why);
void tg__sortspec_close(tg__sortspec *s);
/* The sort keys of f's columns named by s into keys (s->n_keys
 * entries), NaN sorting as null.  NULL, or an error value naming the
 * task and the missing column. */
tg_value *tg__sortspec_keys(const char *task, const tg__sortspec *s,
                            const tg__frame *f, tg__sortkey *keys);

/* The hash of row i's key tuple (the hash partitioner's, before the
 * modulus): equal for tuples equal by tg__key_eq, in any frame of
 * these key types. */
uint64_t tg__row_hash(const tg__keyview *keys, size_t n_keys, size_t i);

/* The frames a[0..n) (n >= 1) as one: the frame itself for n = 1 (then
 * *owned is false), else a new concatenation in argument order (free it
 * with tg__frame_free).  Every frame must have the first one's columns.
 * NULL with *err set to an error value naming task. */
tg__frame *tg__frames_arg(const char *task, tg_value *const *a, size_t n,
                          bool *owned, tg_value **err);
/* The frames a[0..n) (n >= 1), checked to be frames with the first
 * one's columns: a new array of n borrowed frames, or NULL with *err set
 * to an error value naming task. */
tg__frame **tg__pieces_of(const char *task, tg_value *const *a, size_t n,
                          tg_value **err);
/* The columns of fs[0..m) that the sort spec s names, in frame order,
 * concatenated: what a sort compares, so that the other columns are
 * copied once, from the pieces to the output (tg__take_pieces).  A new
 * frame, or NULL with *err set. */
tg__frame *tg__key_columns(const char *task, tg__frame *const *fs, size_t m,
                           const tg__sortspec *s, tg_value **err);
/* The columns of rows idx[0..rows) of fs[0..m) as if concatenated, each
 * taken straight from the pieces, into cols (fs[0]->ncols).  0, or
 * TG_ENOMEM (cols then holds nothing). */
int tg__take_pieces(tg__frame *const *fs, size_t m, const uint32_t *idx,
                    size_t rows, tg__col **cols);

/* Records the picks of a shuffle: pieces[j * n + i] = item j of the
 * delayed list lists[i] (borrowed), for i < n, j < k.  0 or
 * TG_ENOMEM. */
int tg__shuffle_pick(tg_graph *g, tg_value *const *lists, size_t n, size_t k,
                     tg_value **pieces);
/* Records a shuffle of the delayed frames parts[0..n) by partitioner
 * (borrowed; its k is k) into pieces (n * k entries, as
 * tg__shuffle_pick's); splitters is the split tasks' fourth argument
 * (borrowed; a reference taken per task): the range partitioner's
 * delayed splitter frame, the rows partitioner's list of counts, NULL
 * for hash and group.  0 or TG_ENOMEM. */
int tg__shuffle(tg_graph *g, tg_value *const *parts, size_t n,
                tg_value *partitioner, tg_value *splitters, size_t k,
                tg_value **pieces);

/* ---- merging (join.c) --------------------------------------------------- */

/* Lowers a TG__DF_MERGE node for need (flags over its schema): each
 * side lowered for the columns of need it supplies plus its keys, and
 * join tasks that emit exactly need's columns, into parts (df->nparts).
 * 0 or TG_ENOMEM. */
int tg__merge_lower(tg_dataframe *df, const uint8_t *need, tg_value **parts);

/* ---- sorting (sort.c) ---------------------------------------------------- */

/* Lowers a TG__DF_SORT node: parts (df->nparts) from the input's
 * lowered partitions in (df->in->nparts). 0 or TG_ENOMEM. */
int tg__sort_lower(tg_dataframe *df, tg_value *const *in, tg_value **parts);
/* The first n rows of the sort node df as a delayed frame: a top n per
 * input partition and a tree of merges, no shuffle.  NULL on failure. */
tg_value *tg__sort_head(tg_dataframe *df, size_t n);

#endif /* TG_DATAFRAME_SHUFFLE_INTERNAL_H */
