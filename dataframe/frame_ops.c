/* dataframe/frame_ops.c - row selection kernels: filter, slice, take,
 * concat.
 *
 * Each kernel builds a fresh column in one pass per buffer (values,
 * string bytes, validity); none allocates per row.
 */
#include "frame_internal.h"

/* Copies validity of row `from` in src into row `to` of dst (which has a
 * bitmap). */
static inline void copy_valid(tg__col *dst, size_t to, const tg__col *src,
                              size_t from)
{
    if (!tg__col_valid(src, from))
        tg__col_set_null(dst, to);
}

/* Gathers rows of src into a new column: row j of the result is
 * src[pick(j)].  `pick` is an index array or NULL for identity from
 * `begin`. */
static tg__col *gather(const tg__col *src, const uint32_t *idx, size_t begin,
                       size_t n)
{
    size_t n_bytes = 0;
    if (src->type == TG_DT_STRING) {
        const int64_t *off = src->data;
        if (idx) {
            for (size_t j = 0; j < n; j++)
                n_bytes += (size_t)(off[idx[j] + 1] - off[idx[j]]);
        } else {
            n_bytes = (size_t)(off[begin + n] - off[begin]);
        }
    }
    tg__col *c = tg__col_new(src->type, n, n_bytes);
    if (!c)
        return NULL;
    switch (src->type) {
    case TG_DT_STRING: {
        const int64_t *off = src->data;
        int64_t *o = c->data;
        size_t pos = 0;
        for (size_t j = 0; j < n; j++) {
            size_t i = idx ? idx[j] : begin + j;
            size_t len = (size_t)(off[i + 1] - off[i]);
            memcpy(c->bytes + pos, src->bytes + off[i], len);
            pos += len;
            o[j + 1] = (int64_t)pos;
        }
        break;
    }
    case TG_DT_BOOL: {
        const uint8_t *s = src->data;
        uint8_t *d = c->data;
        for (size_t j = 0; j < n; j++)
            d[j] = s[idx ? idx[j] : begin + j];
        break;
    }
    default: {
        const int64_t *s = src->data;
        int64_t *d = c->data;
        if (idx) {
            for (size_t j = 0; j < n; j++)
                d[j] = s[idx[j]];
        } else if (n) {
            memcpy(d, s + begin, n * 8);
        }
        break;
    }
    }
    if (src->valid) {
        if (tg__col_make_valid(c)) {
            tg__col_unref(c);
            return NULL;
        }
        for (size_t j = 0; j < n; j++)
            copy_valid(c, j, src, idx ? idx[j] : begin + j);
        tg__col_finish_valid(c);
    }
    return c;
}

tg__col *tg__col_slice(const tg__col *c, size_t begin, size_t n)
{
    assert(begin + n <= c->n);
    return gather(c, NULL, begin, n);
}

tg__col *tg__col_take(const tg__col *c, const uint32_t *idx, size_t n)
{
    return gather(c, idx, 0, n);
}

tg__col *tg__col_take_or_null(const tg__col *src, const uint32_t *idx, size_t n)
{
    const int64_t *off = src->type == TG_DT_STRING ? src->data : NULL;
    size_t n_bytes = 0, w = tg__dtype_width(src->type), pos = 0;
    bool any_missing = false;
    for (size_t j = 0; j < n; j++) {
        if (idx[j] == TG__NO_ROW)
            any_missing = true;
        else if (off)
            n_bytes += (size_t)(off[idx[j] + 1] - off[idx[j]]);
    }
    tg__col *c = tg__col_new(src->type, n, n_bytes);
    if (!c)
        return NULL;
    for (size_t j = 0; j < n; j++) {
        uint32_t i = idx[j];
        if (off) {
            size_t len = i == TG__NO_ROW ? 0 : (size_t)(off[i + 1] - off[i]);
            if (len)
                memcpy(c->bytes + pos, src->bytes + off[i], len);
            pos += len;
            ((int64_t *)c->data)[j + 1] = (int64_t)pos;
        } else if (i == TG__NO_ROW) {
            memset((char *)c->data + j * w, 0, w); /* a null slot holds 0 */
        } else {
            memcpy((char *)c->data + j * w, (const char *)src->data + i * w, w);
        }
    }
    if (src->valid || any_missing) {
        if (tg__col_make_valid(c)) {
            tg__col_unref(c);
            return NULL;
        }
        for (size_t j = 0; j < n; j++)
            if (idx[j] == TG__NO_ROW || !tg__col_valid(src, idx[j]))
                tg__col_set_null(c, j);
        tg__col_finish_valid(c);
    }
    return c;
}

tg__col *tg__col_take_from(tg__col *const *srcs, const uint32_t *src,
                           const uint32_t *row, size_t n)
{
    tg_dtype t = srcs[0]->type;
    size_t n_bytes = 0, w = tg__dtype_width(t), pos = 0;
    bool any_null = false;
    for (size_t j = 0; j < n; j++) {
        const tg__col *s = srcs[src[j]];
        any_null = any_null || s->valid;
        if (t == TG_DT_STRING) {
            const int64_t *off = s->data;
            n_bytes += (size_t)(off[row[j] + 1] - off[row[j]]);
        }
    }
    tg__col *c = tg__col_new(t, n, n_bytes);
    if (!c || (any_null && tg__col_make_valid(c))) {
        tg__col_unref(c);
        return NULL;
    }
    for (size_t j = 0; j < n; j++) {
        const tg__col *s = srcs[src[j]];
        uint32_t i = row[j];
        if (t == TG_DT_STRING) {
            const int64_t *off = s->data;
            size_t len = (size_t)(off[i + 1] - off[i]);
            if (len)
                memcpy(c->bytes + pos, s->bytes + off[i], len);
            pos += len;
            ((int64_t *)c->data)[j + 1] = (int64_t)pos;
        } else if (w == 8) {
            ((int64_t *)c->data)[j] = ((const int64_t *)s->data)[i];
        } else {
            ((uint8_t *)c->data)[j] = ((const uint8_t *)s->data)[i];
        }
        if (any_null)
            copy_valid(c, j, s, i);
    }
    if (any_null)
        tg__col_finish_valid(c);
    return c;
}

tg__col *tg__col_filter(const tg__col *src, const uint8_t *mask, size_t kept)
{
    size_t n_bytes = 0;
    if (src->type == TG_DT_STRING) {
        const int64_t *off = src->data;
        for (size_t i = 0; i < src->n; i++)
            if (mask[i])
                n_bytes += (size_t)(off[i + 1] - off[i]);
    }
    tg__col *c = tg__col_new(src->type, kept, n_bytes);
    if (!c)
        return NULL;
    size_t j = 0;
    switch (src->type) {
    case TG_DT_STRING: {
        const int64_t *off = src->data;
        int64_t *o = c->data;
        size_t pos = 0;
        for (size_t i = 0; i < src->n; i++) {
            if (!mask[i])
                continue;
            size_t len = (size_t)(off[i + 1] - off[i]);
            memcpy(c->bytes + pos, src->bytes + off[i], len);
            pos += len;
            o[++j] = (int64_t)pos;
        }
        break;
    }
    case TG_DT_BOOL: {
        const uint8_t *s = src->data;
        uint8_t *d = c->data;
        for (size_t i = 0; i < src->n; i++) {
            if (j < kept)
                d[j] = s[i];
            j += mask[i] != 0;
        }
        break;
    }
    default: {
        /* Branch-free compaction: write every row, advance on kept. */
        const int64_t *s = src->data;
        int64_t *d = c->data;
        for (size_t i = 0; i < src->n; i++) {
            if (j < kept)
                d[j] = s[i];
            j += mask[i] != 0;
        }
        break;
    }
    }
    if (src->valid) {
        if (tg__col_make_valid(c)) {
            tg__col_unref(c);
            return NULL;
        }
        j = 0;
        for (size_t i = 0; i < src->n; i++)
            if (mask[i])
                copy_valid(c, j++, src, i);
        tg__col_finish_valid(c);
    }
    return c;
}

/* Concatenates column `col` of n frames into one new column. */
static tg__col *concat_col(tg__frame *const *frames, size_t n, size_t col,
                           size_t rows)
{
    tg_dtype t = frames[0]->cols[col]->type;
    size_t n_bytes = 0;
    bool any_null = false;
    for (size_t k = 0; k < n; k++) {
        n_bytes += frames[k]->cols[col]->n_bytes;
        any_null = any_null || frames[k]->cols[col]->valid;
    }
    tg__col *c = tg__col_new(t, rows, t == TG_DT_STRING ? n_bytes : 0);
    if (!c || (any_null && tg__col_make_valid(c))) {
        tg__col_unref(c);
        return NULL;
    }
    size_t at = 0, pos = 0, w = tg__dtype_width(t);
    for (size_t k = 0; k < n; k++) {
        const tg__col *s = frames[k]->cols[col];
        if (t == TG_DT_STRING) {
            const int64_t *off = s->data;
            int64_t *o = c->data;
            size_t len = (size_t)off[s->n];
            memcpy(c->bytes + pos, s->bytes, len);
            for (size_t i = 0; i < s->n; i++)
                o[at + i + 1] = (int64_t)pos + off[i + 1];
            pos += len;
        } else if (s->n) {
            memcpy((char *)c->data + at * w, s->data, s->n * w);
        }
        if (s->valid)
            for (size_t i = 0; i < s->n; i++)
                copy_valid(c, at + i, s, i);
        at += s->n;
    }
    if (any_null)
        tg__col_finish_valid(c);
    return c;
}

tg__frame *tg__frame_concat(tg__frame *const *frames, size_t n)
{
    assert(n > 0);
    size_t ncols = frames[0]->ncols, rows = 0;
    for (size_t k = 0; k < n; k++)
        rows += frames[k]->nrows;
    tg__col *small[16], **cols = small;
    if (ncols > 16 && !(cols = tg__calloc(ncols, sizeof *cols)))
        return NULL;
    size_t made = 0;
    for (; made < ncols; made++) {
        cols[made] = n == 1 ? tg__col_ref(frames[0]->cols[made])
                            : concat_col(frames, n, made, rows);
        if (!cols[made])
            break;
    }
    tg__frame *f = NULL;
    if (made == ncols) {
        f = tg__frame_new(ncols, (const char *const *)frames[0]->names, cols,
                          rows);
    } else {
        for (size_t i = 0; i < made; i++)
            tg__col_unref(cols[i]);
    }
    if (cols != small)
        tg__free(cols);
    return f;
}
