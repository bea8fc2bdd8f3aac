/* dataframe/frame_arrays.c - tg_frame_from_arrays: a frame copied from
 * the caller's C arrays in Arrow's layout.
 *
 * Everything is checked before anything is allocated (names, types,
 * NULL arrays, string offsets, bool bytes), so bad input gives a clear
 * error and never a partial frame.  The copy keeps the frame's column
 * invariants (frame_internal.h): a null slot holds 0 or the empty
 * string whatever the caller's slot held, and a column whose bitmap has
 * no clear bit gets none.
 */
#include "df_internal.h"

/* The caller's bit for row i: set means present; no bitmap, all set. */
static bool bit(const uint8_t *valid, size_t i)
{
    return !valid || (valid[i >> 3] >> (i & 7)) & 1;
}

/* Checks column i's arrays; 0 or TG_EINVAL with tg_last_error() set. */
static int check_column(size_t i, const char *name, tg_dtype type, size_t nrows,
                        const void *data, const uint8_t *valid)
{
    if (!data && nrows)
        return tg__seterr(TG_EINVAL,
                          "frame_from_arrays: column %zu ('%s') is "
                          "NULL but there are %zu rows",
                          i, name, nrows);
    if (type == TG_DT_BOOL) {
        const uint8_t *b = data;
        for (size_t r = 0; r < nrows; r++)
            if (bit(valid, r) && b[r] > 1)
                return tg__seterr(TG_EINVAL,
                                  "frame_from_arrays: bool column '%s' "
                                  "row %zu holds %u, not 0 or 1",
                                  name, r, (unsigned)b[r]);
    }
    if (type != TG_DT_STRING || !data)
        return 0;
    const tg_str_array *s = data;
    if (!s->offsets)
        return tg__seterr(TG_EINVAL,
                          "frame_from_arrays: string column '%s' "
                          "has no offsets",
                          name);
    if (s->offsets[0] < 0)
        return tg__seterr(TG_EINVAL,
                          "frame_from_arrays: string column '%s' "
                          "starts at a negative offset",
                          name);
    for (size_t r = 0; r < nrows; r++)
        if (s->offsets[r + 1] < s->offsets[r])
            return tg__seterr(TG_EINVAL,
                              "frame_from_arrays: string column '%s' "
                              "offsets decrease at row %zu",
                              name, r);
    if (!s->bytes && s->offsets[nrows] > s->offsets[0])
        return tg__seterr(TG_EINVAL,
                          "frame_from_arrays: string column '%s' "
                          "has offsets but no bytes",
                          name);
    return 0;
}

/* Checks the schema and every column; 0 or TG_EINVAL. */
static int check_all(size_t ncols, const char *const *names,
                     const tg_dtype *types, size_t nrows,
                     const void *const *columns, const uint8_t *const *validity)
{
    if (ncols && (!names || !types || !columns))
        return tg__seterr(TG_EINVAL,
                          "frame_from_arrays: NULL names, "
                          "types or columns for %zu columns",
                          ncols);
    if (nrows > SIZE_MAX / 16)
        return tg__seterr(TG_EINVAL, "frame_from_arrays: %zu rows is too many",
                          nrows);
    for (size_t i = 0; i < ncols; i++) {
        if (!names[i])
            return tg__seterr(TG_EINVAL,
                              "frame_from_arrays: column %zu has no name", i);
        if ((unsigned)types[i] > TG_DT_STRING)
            return tg__seterr(TG_EINVAL,
                              "frame_from_arrays: column '%s' has "
                              "type %d, not a tg_dtype",
                              names[i], (int)types[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return tg__seterr(TG_EINVAL,
                                  "frame_from_arrays: duplicate column '%s'",
                                  names[i]);
        int rc = check_column(i, names[i], types[i], nrows, columns[i],
                              validity ? validity[i] : NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* Copies the strings of the valid rows, rebased to start at 0. */
static void copy_strings(tg__col *c, const tg_str_array *s,
                         const uint8_t *valid)
{
    int64_t *off = c->data;
    size_t pos = 0;
    off[0] = 0;
    for (size_t r = 0; r < c->n; r++) {
        if (bit(valid, r)) {
            size_t len = (size_t)(s->offsets[r + 1] - s->offsets[r]);
            if (len)
                memcpy(c->bytes + pos, s->bytes + s->offsets[r], len);
            pos += len;
        }
        off[r + 1] = (int64_t)pos;
    }
}

/* A column copied from checked arrays: a new reference, or NULL when
 * out of memory. */
static tg__col *copy_column(tg_dtype type, size_t nrows, const void *data,
                            const uint8_t *valid)
{
    size_t n_bytes = 0;
    if (type == TG_DT_STRING && data) {
        const tg_str_array *s = data;
        for (size_t r = 0; r < nrows; r++)
            if (bit(valid, r))
                n_bytes += (size_t)(s->offsets[r + 1] - s->offsets[r]);
    }
    tg__col *c = tg__col_new(type, nrows, n_bytes);
    if (!c || (valid && tg__col_make_valid(c))) {
        tg__col_unref(c);
        return NULL;
    }
    if (type == TG_DT_STRING) {
        if (data)
            copy_strings(c, data, valid);
    } else if (nrows) {
        memcpy(c->data, data, nrows * tg__dtype_width(type));
    }
    if (!valid)
        return c;
    size_t w = tg__dtype_width(type);
    for (size_t r = 0; r < nrows; r++) {
        if (bit(valid, r))
            continue;
        tg__col_set_null(c, r);
        if (type != TG_DT_STRING) /* a null slot holds 0 */
            memset((char *)c->data + r * w, 0, w);
    }
    tg__col_finish_valid(c); /* no null: no bitmap */
    return c;
}

tg_value *tg_frame_from_arrays(size_t ncols, const char *const *names,
                               const tg_dtype *types, size_t nrows,
                               const void *const *columns,
                               const uint8_t *const *validity)
{
    if (check_all(ncols, names, types, nrows, columns, validity))
        return NULL;
    tg__col *small[16], **cols = small;
    if (ncols > 16 && !(cols = tg__calloc(ncols, sizeof *cols)))
        return tg__seterr_null(TG_ENOMEM, "frame_from_arrays: out of memory");
    size_t made = 0;
    for (; made < ncols; made++)
        if (!(cols[made] = copy_column(types[made], nrows, columns[made],
                                       validity ? validity[made] : NULL)))
            break;
    tg__frame *f = NULL;
    if (made == ncols) {
        f = tg__frame_new(ncols, names, cols, nrows);
    } else {
        for (size_t i = 0; i < made; i++)
            tg__col_unref(cols[i]);
    }
    if (cols != small)
        tg__free(cols);
    tg_value *v = tg__frame_value(f);
    if (!v)
        return tg__seterr_null(TG_ENOMEM, "frame_from_arrays: out of memory");
    return v;
}
