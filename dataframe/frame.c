/* dataframe/frame.c - columns, frames, builders and the frame accessors.
 *
 * Columns are built once (by a tg__colbuf or a kernel writing a fresh
 * tg__col) and never change afterwards; frames hold counted references
 * to them.  Value and byte arrays come from the recycling large-block
 * allocator (tg__big_*), so a partition's buffers are reused by the next
 * one instead of faulting in fresh pages (a column decoded from the wire
 * owns tg__malloc blocks instead, see frame_codec.c).  A TG_FRAME value's
 * token is its identity: frames are task results, and hashing their
 * contents would cost a pass over the data.
 */
#include <stdio.h>

#include "df_internal.h"
#include "runtime/codec_internal.h"

/* The dataframe's one constructor: registers its task functions and
 * codec types (tasks.c) when the library loads.  It lives here because
 * every use of the dataframe, from building a query to making one
 * frame, links this file, even from the static library. */
__attribute__((constructor)) static void register_dataframe(void)
{
    tg__df_register();
}

const char *tg_dtype_name(tg_dtype t)
{
    switch (t) {
    case TG_DT_INT64: return "int64";
    case TG_DT_FLOAT64: return "float64";
    case TG_DT_BOOL: return "bool";
    case TG_DT_STRING: return "string";
    }
    return "?";
}

tg__col *tg__col_new(tg_dtype type, size_t n, size_t n_bytes)
{
    tg__col *c = tg__calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->type = type;
    c->n = n;
    size_t cells = type == TG_DT_STRING ? n + 1 : (n ? n : 1);
    c->data = type == TG_DT_STRING
                  ? tg__big_calloc(cells, 8)
                  : tg__big_alloc(cells * tg__dtype_width(type));
    if (type == TG_DT_STRING)
        c->bytes = tg__big_alloc(n_bytes ? n_bytes : 1);
    if (!c->data || (type == TG_DT_STRING && !c->bytes)) {
        tg__col_unref(c);
        return NULL;
    }
    c->n_bytes = n_bytes;
    return c;
}

int tg__col_make_valid(tg__col *c)
{
    if (c->valid)
        return 0;
    size_t nb = (c->n + 7) / 8;
    c->valid = tg__malloc(nb ? nb : 1);
    if (!c->valid)
        return TG_ENOMEM;
    memset(c->valid, 0xff, nb ? nb : 1);
    c->n_null = 0;
    return 0;
}

void tg__col_set_null(tg__col *c, size_t i)
{
    uint8_t bit = (uint8_t)(1u << (i & 7));
    if (c->valid[i >> 3] & bit) {
        c->valid[i >> 3] &= (uint8_t)~bit;
        c->n_null++;
    }
}

void tg__col_finish_valid(tg__col *c)
{
    if (!c->valid)
        return;
    size_t nulls = 0;
    for (size_t i = 0; i < c->n; i++)
        nulls += !tg__valid(c->valid, i);
    c->n_null = nulls;
    if (nulls == 0) {
        tg__free(c->valid);
        c->valid = NULL;
    }
}

tg__col *tg__col_ref(tg__col *c)
{
    /* Relaxed: the caller already holds a reference. */
    if (c)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void tg__col_unref(tg__col *c)
{
    /* acq_rel: every use through other references happens-before free. */
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    tg__free(c->valid);
    if (c->adopted) {
        tg__free(c->data);
        tg__free(c->bytes);
    } else {
        tg__big_free(c->data);
        tg__big_free(c->bytes);
    }
    tg__free(c);
}

tg__frame *tg__frame_new(size_t ncols, const char *const *names, tg__col **cols,
                         size_t nrows)
{
    tg__frame *f = tg__calloc(1, sizeof *f);
    if (f) {
        f->names = tg__calloc(ncols ? ncols : 1, sizeof *f->names);
        f->cols = tg__calloc(ncols ? ncols : 1, sizeof *f->cols);
    }
    if (!f || !f->names || !f->cols)
        goto fail;
    f->ncols = ncols;
    f->nrows = nrows;
    for (size_t i = 0; i < ncols; i++) {
        f->cols[i] = cols[i];
        cols[i] = NULL;
        assert(f->cols[i]->n == nrows);
    }
    for (size_t i = 0; i < ncols; i++)
        if (!(f->names[i] = tg__strdup(names[i])))
            goto fail;
    return f;
fail:
    for (size_t i = 0; i < ncols; i++)
        tg__col_unref(cols[i]);
    tg__frame_free(f);
    return NULL;
}

void tg__frame_free(tg__frame *f)
{
    if (!f)
        return;
    for (size_t i = 0; f->names && i < f->ncols; i++)
        tg__free(f->names[i]);
    for (size_t i = 0; f->cols && i < f->ncols; i++)
        tg__col_unref(f->cols[i]);
    tg__free(f->names);
    tg__free(f->cols);
    tg__free(f);
}

static void frame_free_ptr(void *p)
{
    tg__frame_free(p);
}

/* "frame 120×5": rows by columns, for pictures of graphs. */
static void frame_describe(const void *p, char *buf, size_t cap)
{
    const tg__frame *f = p;
    snprintf(buf, cap, "frame %zu\u00d7%zu", f->nrows, f->ncols);
}

static const tg__object_ops frame_ops = {"frame", frame_free_ptr, NULL,
                                         &tg__frame_codec, frame_describe};

tg_value *tg__frame_value(tg__frame *f)
{
    if (!f)
        return NULL;
    tg_value *v = tg__object_new(TG_FRAME, &frame_ops, f);
    if (!v)
        tg__frame_free(f);
    return v;
}

tg__frame *tg__frame_of(const tg_value *v)
{
    if (!v || tg_typeof(v) != TG_FRAME || v->u.obj.ops != &frame_ops)
        return NULL;
    return v->u.obj.ptr;
}

long tg__frame_find(const tg__frame *f, const char *name)
{
    for (size_t i = 0; i < f->ncols; i++)
        if (strcmp(f->names[i], name) == 0)
            return (long)i;
    return -1;
}

tg__frame *tg__frame_empty(size_t ncols, const char *const *names,
                           const tg_dtype *types)
{
    tg__col *small[16], **cols = small;
    if (ncols > 16 && !(cols = tg__calloc(ncols, sizeof *cols)))
        return NULL;
    size_t made = 0;
    for (; made < ncols; made++)
        if (!(cols[made] = tg__col_new(types[made], 0, 0)))
            break;
    tg__frame *f = NULL;
    if (made == ncols) {
        f = tg__frame_new(ncols, names, cols, 0);
    } else {
        for (size_t i = 0; i < made; i++)
            tg__col_unref(cols[i]);
    }
    if (cols != small)
        tg__free(cols);
    return f;
}

bool tg__frame_same_columns(const tg__frame *a, const tg__frame *b)
{
    if (a->ncols != b->ncols)
        return false;
    for (size_t i = 0; i < a->ncols; i++)
        if (strcmp(a->names[i], b->names[i]) != 0
            || a->cols[i]->type != b->cols[i]->type)
            return false;
    return true;
}

const char *tg__frame_check_schema(const tg__frame *f, size_t ncols,
                                   char *const *names, const tg_dtype *types)
{
    static _Thread_local char msg[256];
    if (f->ncols != ncols) {
        snprintf(msg, sizeof msg,
                 "partition has %zu columns, the schema "
                 "%zu",
                 f->ncols, ncols);
        return msg;
    }
    for (size_t i = 0; i < ncols; i++) {
        if (strcmp(f->names[i], names[i]) != 0
            || f->cols[i]->type != types[i]) {
            snprintf(msg, sizeof msg,
                     "partition column %zu is '%s' %s, "
                     "the schema says '%s' %s",
                     i, f->names[i], tg_dtype_name(f->cols[i]->type), names[i],
                     tg_dtype_name(types[i]));
            return msg;
        }
    }
    return NULL;
}

/* ---- column builders ------------------------------------------------- */

int tg__colbuf_init(tg__colbuf *b, tg_dtype type, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->type = type;
    return tg__colbuf_reserve(b, cap ? cap : 16, 0);
}

static int grow_rows(tg__colbuf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 16;
    while (cap < need)
        cap *= 2;
    size_t cells = b->type == TG_DT_STRING ? cap + 1 : cap;
    void *d = tg__big_realloc(b->data, cells * tg__dtype_width(b->type));
    if (!d)
        return TG_ENOMEM;
    if (b->type == TG_DT_STRING && !b->data)
        ((int64_t *)d)[0] = 0;
    b->data = d;
    if (b->valid) {
        uint8_t *v = tg__realloc(b->valid, (cap + 7) / 8);
        if (!v)
            return TG_ENOMEM;
        memset(v + (b->cap + 7) / 8, 0, (cap + 7) / 8 - (b->cap + 7) / 8);
        b->valid = v;
    }
    b->cap = cap;
    return 0;
}

int tg__colbuf_reserve(tg__colbuf *b, size_t rows, size_t bytes)
{
    if (TG_UNLIKELY(b->n + rows > b->cap || !b->data))
        if (grow_rows(b, b->n + rows))
            return TG_ENOMEM;
    if (TG_UNLIKELY(b->n_bytes + bytes > b->cap_bytes
                    || (b->type == TG_DT_STRING && !b->bytes))) {
        size_t cap = b->cap_bytes ? b->cap_bytes : 64;
        while (cap < b->n_bytes + bytes)
            cap *= 2;
        char *p = tg__big_realloc(b->bytes, cap);
        if (!p)
            return TG_ENOMEM;
        b->bytes = p;
        b->cap_bytes = cap;
    }
    return 0;
}

int tg__colbuf_null(tg__colbuf *b)
{
    if (tg__colbuf_reserve(b, 1, 0))
        return TG_ENOMEM;
    if (!b->valid) {
        size_t nb = (b->cap + 7) / 8;
        if (!(b->valid = tg__calloc(nb, 1)))
            return TG_ENOMEM;
        for (size_t i = 0; i < b->n; i++)
            b->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    switch (b->type) {
    case TG_DT_STRING:
        ((int64_t *)b->data)[b->n + 1] = (int64_t)b->n_bytes;
        break;
    case TG_DT_BOOL: ((uint8_t *)b->data)[b->n] = 0; break;
    default: ((int64_t *)b->data)[b->n] = 0; break;
    }
    b->n++;
    b->n_null++;
    return 0;
}

tg__col *tg__colbuf_finish(tg__colbuf *b)
{
    if (tg__colbuf_reserve(b, 0, 0))
        return NULL;
    tg__col *c = tg__calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->type = b->type;
    c->n = b->n;
    c->n_null = b->n_null;
    c->valid = b->n_null ? b->valid : NULL;
    if (!b->n_null)
        tg__free(b->valid);
    c->data = b->data;
    c->bytes = b->bytes;
    c->n_bytes = b->n_bytes;
    if (c->type == TG_DT_STRING && !c->bytes && !(c->bytes = tg__big_alloc(1)))
        goto fail;
    memset(b, 0, sizeof *b);
    b->type = c->type;
    return c;
fail:
    tg__free(c);
    return NULL;
}

int tg__colbuf_copy_col(tg__colbuf *b, const tg__col *c)
{
    if (tg__colbuf_init(b, c->type, c->n)
        || tg__colbuf_reserve(b, 0, c->n_bytes))
        goto fail;
    size_t cells = c->type == TG_DT_STRING ? c->n + 1 : c->n;
    memcpy(b->data, c->data, cells * tg__dtype_width(c->type));
    if (c->n_bytes)
        memcpy(b->bytes, c->bytes, c->n_bytes);
    b->n = c->n;
    b->n_bytes = c->n_bytes;
    if (c->valid) {
        if (!(b->valid = tg__calloc((b->cap + 7) / 8, 1)))
            goto fail;
        memcpy(b->valid, c->valid, (c->n + 7) / 8);
        b->n_null = c->n_null;
    }
    return 0;
fail:
    tg__colbuf_close(b);
    return TG_ENOMEM;
}

void tg__colbuf_close(tg__colbuf *b)
{
    tg__big_free(b->data);
    tg__free(b->valid);
    tg__big_free(b->bytes);
    memset(b, 0, sizeof *b);
}

/* ---- the public frame builder ----------------------------------------- */

struct tg_frame_builder {
    size_t ncols;
    char **names;
    tg__colbuf *cols;
};

void tg_frame_builder_free(tg_frame_builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ncols; i++) {
        if (b->names)
            tg__free(b->names[i]);
        if (b->cols)
            tg__colbuf_close(&b->cols[i]);
    }
    tg__free(b->names);
    tg__free(b->cols);
    tg__free(b);
}

tg_frame_builder *tg_frame_builder_new(size_t ncols, const char *const *names,
                                       const tg_dtype *types)
{
    if (ncols && (!names || !types))
        return tg__seterr_null(TG_EINVAL, "frame builder: NULL schema");
    for (size_t i = 0; i < ncols; i++)
        if (!names[i] || (unsigned)types[i] > TG_DT_STRING)
            return tg__seterr_null(TG_EINVAL,
                                   "frame builder: column %zu "
                                   "has no name or a bad type",
                                   i);
    long dup = tg__names_first_dup(ncols, names);
    if (dup == TG_ENOMEM)
        return NULL;
    if (dup >= 0)
        return tg__seterr_null(
            TG_EINVAL, "frame builder: duplicate column '%s'", names[dup]);
    tg_frame_builder *b = tg__calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->names = tg__calloc(ncols ? ncols : 1, sizeof *b->names);
    b->cols = tg__calloc(ncols ? ncols : 1, sizeof *b->cols);
    if (!b->names || !b->cols) {
        tg_frame_builder_free(b);
        return NULL;
    }
    b->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        if (!(b->names[i] = tg__strdup(names[i]))
            || tg__colbuf_init(&b->cols[i], types[i], 16)) {
            tg_frame_builder_free(b);
            return NULL;
        }
    }
    return b;
}

/* Column col of b, checked to be of type t, with room for one more
 * value (and bytes of string data) in *out.  Returns 0 or an error code
 * with tg_last_error() set. */
static int builder_col(tg_frame_builder *b, size_t col, tg_dtype t,
                       size_t bytes, tg__colbuf **out)
{
    if (!b || col >= b->ncols || b->cols[col].type != t)
        return tg__seterr(TG_EINVAL, "frame builder: column %zu is not %s", col,
                          tg_dtype_name(t));
    *out = &b->cols[col];
    return tg__colbuf_reserve(*out, 1, bytes);
}

int tg_frame_builder_int(tg_frame_builder *b, size_t col, int64_t v)
{
    tg__colbuf *c = NULL;
    int rc = builder_col(b, col, TG_DT_INT64, 0, &c);
    if (rc == 0)
        tg__colbuf_int(c, v);
    return rc;
}

int tg_frame_builder_float(tg_frame_builder *b, size_t col, double v)
{
    tg__colbuf *c = NULL;
    int rc = builder_col(b, col, TG_DT_FLOAT64, 0, &c);
    if (rc == 0)
        tg__colbuf_float(c, v);
    return rc;
}

int tg_frame_builder_bool(tg_frame_builder *b, size_t col, bool v)
{
    tg__colbuf *c = NULL;
    int rc = builder_col(b, col, TG_DT_BOOL, 0, &c);
    if (rc == 0)
        tg__colbuf_bool(c, v);
    return rc;
}

int tg_frame_builder_str(tg_frame_builder *b, size_t col, const char *s,
                         size_t len)
{
    if (!s && len)
        return tg__seterr(TG_EINVAL, "frame builder: NULL string");
    tg__colbuf *c = NULL;
    int rc = builder_col(b, col, TG_DT_STRING, len, &c);
    if (rc == 0)
        tg__colbuf_str(c, s ? s : "", len);
    return rc;
}

int tg_frame_builder_null(tg_frame_builder *b, size_t col)
{
    if (!b || col >= b->ncols)
        return tg__seterr(TG_EINVAL, "frame builder: no column %zu", col);
    return tg__colbuf_null(&b->cols[col]);
}

tg_value *tg_frame_builder_finish(tg_frame_builder *b)
{
    if (!b)
        return tg__seterr_null(TG_EINVAL, "frame builder: NULL");
    size_t n = b->ncols ? b->cols[0].n : 0;
    for (size_t i = 1; i < b->ncols; i++) {
        if (b->cols[i].n != n) {
            tg__seterr(TG_EINVAL,
                       "frame builder: column '%s' has %zu "
                       "rows, column '%s' %zu",
                       b->names[i], b->cols[i].n, b->names[0], n);
            tg_frame_builder_free(b);
            return NULL;
        }
    }
    tg__col *small[16], **cols = small;
    if (b->ncols > 16 && !(cols = tg__calloc(b->ncols, sizeof *cols))) {
        tg_frame_builder_free(b);
        return NULL;
    }
    size_t made = 0;
    for (; made < b->ncols; made++)
        if (!(cols[made] = tg__colbuf_finish(&b->cols[made])))
            break;
    tg__frame *f = NULL;
    if (made == b->ncols) {
        f = tg__frame_new(b->ncols, (const char *const *)b->names, cols, n);
    } else {
        for (size_t i = 0; i < made; i++)
            tg__col_unref(cols[i]);
    }
    if (cols != small)
        tg__free(cols);
    tg_frame_builder_free(b);
    return tg__frame_value(f);
}

/* ---- public accessors ------------------------------------------------- */

static const tg__col *col_at(const tg_value *frame, size_t col)
{
    const tg__frame *f = tg__frame_of(frame);
    return f && col < f->ncols ? f->cols[col] : NULL;
}

size_t tg_frame_nrows(const tg_value *frame)
{
    const tg__frame *f = tg__frame_of(frame);
    return f ? f->nrows : 0;
}

size_t tg_frame_ncols(const tg_value *frame)
{
    const tg__frame *f = tg__frame_of(frame);
    return f ? f->ncols : 0;
}

const char *tg_frame_colname(const tg_value *frame, size_t col)
{
    const tg__frame *f = tg__frame_of(frame);
    return f && col < f->ncols ? f->names[col] : NULL;
}

tg_dtype tg_frame_coltype(const tg_value *frame, size_t col)
{
    const tg__col *c = col_at(frame, col);
    return c ? c->type : TG_DT_INT64;
}

long tg_frame_colindex(const tg_value *frame, const char *name)
{
    const tg__frame *f = tg__frame_of(frame);
    return f && name ? tg__frame_find(f, name) : -1;
}

bool tg_frame_is_null(const tg_value *frame, size_t col, size_t row)
{
    const tg__col *c = col_at(frame, col);
    return !c || row >= c->n || !tg__col_valid(c, row);
}

size_t tg_frame_null_count(const tg_value *frame, size_t col)
{
    const tg__col *c = col_at(frame, col);
    return c ? c->n_null : 0;
}

const uint8_t *tg_frame_validity(const tg_value *frame, size_t col)
{
    const tg__col *c = col_at(frame, col);
    return c ? c->valid : NULL;
}

const int64_t *tg_frame_int64(const tg_value *frame, size_t col)
{
    const tg__col *c = col_at(frame, col);
    return c && c->type == TG_DT_INT64 ? c->data : NULL;
}

const double *tg_frame_float64(const tg_value *frame, size_t col)
{
    const tg__col *c = col_at(frame, col);
    return c && c->type == TG_DT_FLOAT64 ? c->data : NULL;
}

const uint8_t *tg_frame_bool(const tg_value *frame, size_t col)
{
    const tg__col *c = col_at(frame, col);
    return c && c->type == TG_DT_BOOL ? c->data : NULL;
}

const char *tg_frame_str(const tg_value *frame, size_t col, size_t row,
                         size_t *len)
{
    const tg__col *c = col_at(frame, col);
    size_t dummy;
    if (!len)
        len = &dummy;
    *len = 0;
    if (!c || c->type != TG_DT_STRING || row >= c->n || !tg__col_valid(c, row))
        return NULL;
    return tg__col_str(c, row, len);
}
