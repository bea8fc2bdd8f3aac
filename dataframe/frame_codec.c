/* dataframe/frame_codec.c - frames on the wire: the "tg.frame" codec
 * type (runtime/codec_internal.h) and the column form it shares with
 * partials.
 *
 * A frame is its schema (ncols, then each name), nrows, then per
 * column: type, null count, whether it has a validity bitmap, the
 * bitmap as a piece if so, the values as a piece (n int64, double or
 * bool bytes; n + 1 int64 string offsets) and for strings the bytes as
 * a piece.  Pieces are the column's own buffers, in host byte order (a
 * little-endian wire: the head is, and so are the hosts this runs on);
 * a decoded column adopts the blocks it receives without copying a
 * cell.  The decoder trusts nothing: it checks every type, count and
 * length, that bools are 0 or 1, that the null count matches the
 * bitmap, and that string offsets start at 0, never decrease and end at
 * the byte count, so a frame that decodes is safe to read.
 */
#include "frame_internal.h"
#include "runtime/codec_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "frame pieces are sent in host order: little-endian hosts only"
#endif

/* The bytes of the values of n rows of type t. */
static size_t data_bytes(tg_dtype t, size_t n)
{
    return t == TG_DT_STRING ? (n + 1) * 8 : n * tg__dtype_width(t);
}

int tg__col_encode(tg__enc *e, const tg__col *c)
{
    if (tg__enc_u8(e, (uint8_t)c->type) || tg__enc_u64(e, c->n_null)
        || tg__enc_u8(e, c->valid != NULL)
        || (c->valid && tg__enc_piece(e, c->valid, (c->n + 7) / 8))
        || tg__enc_piece(e, c->data, data_bytes(c->type, c->n))
        || (c->type == TG_DT_STRING && tg__enc_piece(e, c->bytes, c->n_bytes)))
        return TG_ENOMEM;
    return 0;
}

static int bad(const char *what)
{
    return tg__seterr(TG_EFORMAT, "frame: %s", what);
}

/* Checks a decoded column's contents (see the top of the file). */
static int check_col(const tg__col *c)
{
    if (c->valid) {
        size_t nulls = 0;
        for (size_t i = 0; i < c->n; i++)
            nulls += !tg__valid(c->valid, i);
        if (nulls != c->n_null)
            return bad("a null count does not match its bitmap");
    } else if (c->n_null) {
        return bad("a column with nulls has no bitmap");
    }
    if (c->type == TG_DT_BOOL) {
        const uint8_t *b = c->data;
        for (size_t i = 0; i < c->n; i++)
            if (b[i] > 1)
                return bad("a bool is neither 0 nor 1");
    }
    if (c->type == TG_DT_STRING) {
        const int64_t *off = c->data;
        if (off[0] != 0 || (uint64_t)off[c->n] != c->n_bytes)
            return bad("string offsets do not span the bytes");
        for (size_t i = 0; i < c->n; i++)
            if (off[i + 1] < off[i])
                return bad("string offsets decrease");
    }
    return 0;
}

/* A piece of exactly want bytes (a fresh block of min_bytes when want is
 * 0, so that buffers are never NULL). */
static int take_piece(tg__dec *d, size_t want, size_t min_bytes, void **out)
{
    size_t len;
    if (tg__dec_piece(d, out, &len))
        return TG_EFORMAT;
    if (len != want) {
        tg__free(*out);
        *out = NULL;
        return bad("a column buffer has the wrong length");
    }
    if (!*out && !(*out = tg__calloc(1, min_bytes)))
        return TG_ENOMEM;
    return 0;
}

int tg__col_decode(tg__dec *d, size_t n, tg__col **out)
{
    *out = NULL;
    uint8_t type, has_valid;
    uint64_t n_null;
    if (tg__dec_u8(d, &type) || tg__dec_u64(d, &n_null)
        || tg__dec_u8(d, &has_valid))
        return TG_EFORMAT;
    if (type > TG_DT_STRING || has_valid > 1 || n_null > n)
        return bad("a column has a bad type, flag or null count");
    if (n > SIZE_MAX / 16) /* its buffers' sizes would overflow */
        return bad("a column is too long");
    tg__col *c = tg__calloc(1, sizeof *c);
    if (!c)
        return TG_ENOMEM;
    atomic_init(&c->refs, 1);
    c->adopted = true;
    c->type = (tg_dtype)type;
    c->n = n;
    c->n_null = (size_t)n_null;
    int rc = 0;
    void *p = NULL;
    if (has_valid && (rc = take_piece(d, (n + 7) / 8, 1, &p)) == 0)
        c->valid = p;
    if (rc == 0 && (rc = take_piece(d, data_bytes(c->type, n), 8, &p)) == 0)
        c->data = p;
    size_t n_bytes = 0;
    if (rc == 0 && c->type == TG_DT_STRING) {
        /* The length is the last offset's; the piece must agree. */
        n_bytes = (size_t)((const uint64_t *)c->data)[n];
        if ((rc = take_piece(d, n_bytes, 1, &p)) == 0)
            c->bytes = p, c->n_bytes = n_bytes;
    }
    if (rc == 0)
        rc = check_col(c);
    if (rc) {
        tg__col_unref(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int frame_encode(tg__enc *e, const tg_value *v)
{
    const tg__frame *f = tg__frame_of(v);
    if (!f)
        return tg__seterr(TG_EINVAL, "frame: not a frame");
    if (tg__enc_u64(e, f->ncols))
        return TG_ENOMEM;
    for (size_t i = 0; i < f->ncols; i++)
        if (tg__enc_str(e, f->names[i], strlen(f->names[i])))
            return TG_ENOMEM;
    if (tg__enc_u64(e, f->nrows))
        return TG_ENOMEM;
    for (size_t i = 0; i < f->ncols; i++)
        if (tg__col_encode(e, f->cols[i]))
            return TG_ENOMEM;
    return 0;
}

/* The names of a frame: NUL-terminated copies in names[0..n). */
static int decode_names(tg__dec *d, size_t n, char **names)
{
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (tg__dec_str(d, &s, &len))
            return TG_EFORMAT;
        if (memchr(s, '\0', len))
            return bad("a column name holds a NUL");
        if (!(names[i] = tg__strndup(s, len)))
            return TG_ENOMEM;
    }
    return 0;
}

static tg_value *frame_decode(tg__dec *d)
{
    uint64_t ncols, nrows;
    if (tg__dec_u64(d, &ncols))
        return NULL;
    /* Each column takes at least a name length and 10 bytes of head. */
    if (ncols > (uint64_t)(d->end - d->p) / 18)
        return tg__seterr_null(TG_EFORMAT, "frame: %llu columns do not fit",
                               (unsigned long long)ncols);
    char **names = tg__calloc(ncols + 1, sizeof *names);
    tg__col **cols = tg__calloc(ncols + 1, sizeof *cols);
    int rc = names && cols ? decode_names(d, ncols, names) : TG_ENOMEM;
    if (rc == 0 && tg__dec_u64(d, &nrows))
        rc = TG_EFORMAT;
    size_t made = 0;
    for (; rc == 0 && made < ncols; made++)
        if ((rc = tg__col_decode(d, (size_t)nrows, &cols[made])))
            break;
    tg__frame *f = NULL;
    if (rc == 0
        && !(f = tg__frame_new(ncols, (const char *const *)names, cols,
                               (size_t)nrows)))
        rc = TG_ENOMEM;
    else if (rc)
        for (size_t i = 0; i < made; i++)
            tg__col_unref(cols[i]);
    for (size_t i = 0; names && i < ncols; i++)
        tg__free(names[i]);
    tg__free(names);
    tg__free(cols);
    if (rc == TG_ENOMEM)
        tg__seterr(TG_ENOMEM, "frame: out of memory");
    return rc ? NULL : tg__frame_value(f);
}

const tg__codec_type tg__frame_codec = {"tg.frame", TG_FRAME, frame_encode,
                                        frame_decode};
