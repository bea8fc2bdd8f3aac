/* array/npy.c - arrays from and to .npy files (NumPy's format).
 *
 * A .npy file is a magic string, a version, a header (a Python dict
 * literal: descr, fortran_order, shape) and the elements.  Reading
 * parses the header when the graph is built; each "tg.array.npy_read"
 * task then reads only its chunk's byte ranges with pread (the runs
 * where the chunk is contiguous in the file, or one span when runs are
 * close together) and converts them to float64, int64 or bool.  A
 * Fortran-order file is read as the C-order array of reversed shape and
 * transposed (pending, so matmul reads it in place).  Writing puts the
 * header and the file's full length down first; then each
 * "tg.array.npy_write" task writes its chunk's runs with pwrite.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array_internal.h"

#define NPY_READ "tg.array.npy_read"
#define NPY_WRITE "tg.array.npy_write"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
/* NumPy aligns the data to this many bytes. */
#define ALIGN 64
/* Headers longer than this are refused (NumPy's own limit is 10000). */
#define MAX_HEADER 65536
/* A chunk whose runs span at most this factor of its bytes (plus
 * SPAN_SLACK) is read in one pread. */
#define SPAN_FACTOR 4
#define SPAN_SLACK ((size_t)1 << 20)

/* Element encodings on disk. */
enum { F8, F4, I8, I4, I2, I1, U1, U2, U4, B1, N_CODES };
static const struct {
    char kind;
    int size;
    tg_dtype dtype;
} codes[N_CODES] = {{'f', 8, TG_DT_FLOAT64}, {'f', 4, TG_DT_FLOAT64},
                    {'i', 8, TG_DT_INT64},   {'i', 4, TG_DT_INT64},
                    {'i', 2, TG_DT_INT64},   {'i', 1, TG_DT_INT64},
                    {'u', 1, TG_DT_INT64},   {'u', 2, TG_DT_INT64},
                    {'u', 4, TG_DT_INT64},   {'b', 1, TG_DT_BOOL}};

static bool host_little(void)
{
    uint16_t x = 1;
    uint8_t b;
    memcpy(&b, &x, 1);
    return b == 1;
}

/* ---- decoding elements ----------------------------------------------- */

static uint64_t load_le(const uint8_t *p, int size, bool big)
{
    uint64_t x = 0;
    for (int i = 0; i < size; i++)
        x |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
    return x;
}

/* Converts n elements of code c at src into dst (of the code's dtype). */
static void decode(void *dst, const uint8_t *src, int c, bool big, size_t n)
{
    int size = codes[c].size;
    bool native = big != host_little() || size == 1;
    if (native && (c == F8 || c == I8 || c == B1)) {
        memcpy(dst, src, n * (size_t)size);
        if (c == B1)
            for (size_t i = 0; i < n; i++)
                ((uint8_t *)dst)[i] = ((uint8_t *)dst)[i] != 0;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t x = load_le(src + i * (size_t)size, size, big);
        switch (c) {
        case F8: memcpy((double *)dst + i, &x, 8); break;
        case F4: {
            uint32_t w = (uint32_t)x;
            float f;
            memcpy(&f, &w, 4);
            ((double *)dst)[i] = f;
            break;
        }
        case I8: ((int64_t *)dst)[i] = (int64_t)x; break;
        case I4: ((int64_t *)dst)[i] = (int32_t)(uint32_t)x; break;
        case I2: ((int64_t *)dst)[i] = (int16_t)(uint16_t)x; break;
        case I1: ((int64_t *)dst)[i] = (int8_t)(uint8_t)x; break;
        case B1: ((uint8_t *)dst)[i] = x != 0; break;
        default: ((int64_t *)dst)[i] = (int64_t)x; /* unsigned */
        }
    }
}

/* ---- runs of a chunk in a C-order file ------------------------------- */

/* Where a chunk lies in a file: runs of run elements at the offsets the
 * odometer over the outer axes gives. */
typedef struct runs {
    size_t nd, r;              /* axes; the first of the run's axes */
    size_t full[TG__ND_MAX];   /* the file's extents */
    size_t start[TG__ND_MAX];  /* the chunk's first index */
    size_t shape[TG__ND_MAX];  /* the chunk's extents */
    size_t stride[TG__ND_MAX]; /* the file's element strides */
    size_t run;                /* elements per run */
    size_t n_runs;
} runs;

static void runs_init(runs *w, size_t nd, const size_t *full,
                      const size_t *start, const size_t *shape)
{
    w->nd = nd;
    memcpy(w->full, full, nd * sizeof *full);
    memcpy(w->start, start, nd * sizeof *start);
    memcpy(w->shape, shape, nd * sizeof *shape);
    for (size_t k = nd, s = 1; k-- > 0;) {
        w->stride[k] = s;
        s *= full[k];
    }
    size_t r = nd;
    while (r > 0 && (r == nd || shape[r] == full[r]))
        r--;
    /* axes r .. nd-1 form the run (r = 0 when the chunk is all of it) */
    w->r = nd ? r : 0;
    w->run = 1;
    for (size_t k = w->r; k < nd; k++)
        w->run *= k == w->r ? shape[k] : full[k];
    w->n_runs = 1;
    for (size_t k = 0; k < w->r; k++)
        w->n_runs *= shape[k];
}

/* The file element index of run number i. */
static size_t run_at(const runs *w, size_t i)
{
    size_t e = w->nd ? w->start[w->r] * w->stride[w->r] : 0;
    for (size_t k = w->r; k-- > 0;) {
        size_t x = i % w->shape[k];
        i /= w->shape[k];
        e += (w->start[k] + x) * w->stride[k];
    }
    return e;
}

/* Reads exactly len bytes at off. */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        p += n, len -= (size_t)n, off += n;
    }
    return 0;
}

static int write_at(int fd, const void *buf, size_t len, off_t off)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        p += n, len -= (size_t)n, off += n;
    }
    return 0;
}

/* ---- the tasks ------------------------------------------------------- */

/* Reads chunk runs w of code c from fd (data at off) into out. */
static int read_runs(int fd, off_t off, int c, bool big, const runs *w,
                     tg__nd *out)
{
    size_t size = (size_t)codes[c].size, item = tg__nd_itemsize(out->dtype);
    size_t first = run_at(w, 0), last = run_at(w, w->n_runs - 1) + w->run;
    size_t span = (last - first) * size, bytes = out->size * size;
    bool one = span <= SPAN_FACTOR * bytes + SPAN_SLACK;
    uint8_t *buf = tg__big_alloc(one ? span : w->run * size);
    if (!buf)
        return ENOMEM;
    int rc = 0;
    if (one)
        rc = read_at(fd, buf, span, off + (off_t)(first * size));
    for (size_t i = 0; rc == 0 && i < w->n_runs; i++) {
        size_t e = run_at(w, i);
        const uint8_t *src = buf + (e - first) * size;
        if (!one) {
            rc = read_at(fd, buf, w->run * size, off + (off_t)(e * size));
            src = buf;
        }
        if (rc == 0)
            decode((uint8_t *)out->data + i * w->run * item, src, c, big,
                   w->run);
    }
    tg__big_free(buf);
    return rc;
}

/* npy_read(params = [path, data offset, code, big endian, file shape,
 * chunk start, chunk shape]): the chunk, read from the file. */
static tg_value *read_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t full[TG__ND_MAX], start[TG__ND_MAX], shape[TG__ND_MAX], n;
    tg__params_init(&p, NPY_READ, nargs ? args[0] : NULL);
    const char *path = tg__param_str(&p, "path");
    int64_t off = tg__param_int(&p, "offset", 0, INT64_MAX / 2);
    int c = (int)tg__param_int(&p, "code", 0, N_CODES - 1);
    bool big = tg__param_int(&p, "big endian", 0, 1) != 0;
    size_t nd = tg__param_sizes(&p, "file shape", TG__ND_MAX, full);
    size_t ns = tg__param_sizes(&p, "chunk start", TG__ND_MAX, start);
    size_t nc = tg__param_sizes(&p, "chunk shape", TG__ND_MAX, shape);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    bool ok = ns == nd && nc == nd
              && tg__nd_count(nd, full, (size_t)codes[c].size, &n);
    for (size_t k = 0; ok && k < nd; k++)
        ok = start[k] <= full[k] && shape[k] <= full[k] - start[k];
    if (!ok)
        return tg_error(NPY_READ ": the chunk is not inside the array");
    tg__nd *out = tg__nd_alloc(codes[c].dtype, nd, shape, false);
    if (!out)
        return tg_error(NPY_READ ": %s", tg_last_error());
    if (out->size == 0)
        return tg__nd_value(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    int rc = fd < 0 ? errno : fstat(fd, &sb) != 0 ? errno : 0;
    if (rc == 0
        && (uint64_t)sb.st_size < (uint64_t)off + n * (size_t)codes[c].size)
        rc = EIO; /* shorter than its header says: truncated since */
    runs w;
    runs_init(&w, nd, full, start, shape);
    if (rc == 0)
        rc = read_runs(fd, (off_t)off, c, big, &w, out);
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        tg__nd_free(out);
        return tg_error(NPY_READ ": %s: %s", path,
                        rc == EIO ? "the file is shorter than its header says"
                                  : strerror(rc));
    }
    tg_value *v = tg__nd_value(out);
    return v ? v : tg_error(NPY_READ ": %s", tg_last_error());
}

/* npy_write(params = [path, data offset, file shape, chunk start],
 * chunk): writes the chunk's runs into the file; the bytes written. */
static tg_value *write_task(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)ctx;
    tg__params p;
    size_t full[TG__ND_MAX], start[TG__ND_MAX];
    char err[300];
    tg__params_init(&p, NPY_WRITE, nargs ? args[0] : NULL);
    const char *path = tg__param_str(&p, "path");
    int64_t off = tg__param_int(&p, "offset", 0, INT64_MAX / 2);
    size_t nd = tg__param_sizes(&p, "file shape", TG__ND_MAX, full);
    size_t ns = tg__param_sizes(&p, "chunk start", TG__ND_MAX, start);
    tg_value *bad = tg__params_done(&p);
    if (bad)
        return bad;
    const tg__nd *a = tg__arg_nd(NPY_WRITE, args, nargs, 1, err, sizeof err);
    if (!a)
        return tg_error("%s", err);
    bool ok = ns == nd && a->ndim == nd;
    for (size_t k = 0; ok && k < nd; k++)
        ok = start[k] <= full[k] && a->shape[k] <= full[k] - start[k];
    if (!ok)
        return tg_error(NPY_WRITE ": the chunk is not inside the array");
    if (a->size == 0)
        return tg_int(0);
    size_t item = tg__nd_itemsize(a->dtype);
    runs w;
    runs_init(&w, nd, full, start, a->shape);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int rc = fd < 0 ? errno : 0;
    for (size_t i = 0; rc == 0 && i < w.n_runs; i++)
        rc = write_at(fd, (const uint8_t *)a->data + i * w.run * item,
                      w.run * item, (off_t)off + (off_t)(run_at(&w, i) * item));
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = errno;
    if (rc != 0)
        return tg_error(NPY_WRITE ": %s: %s", path, strerror(rc));
    return tg_int((int64_t)(a->size * item));
}

void tg__array_register_npy(void)
{
    tg__array_register(TG__T_NPY_READ, NPY_READ, read_task);
    tg__array_register(TG__T_NPY_WRITE, NPY_WRITE, write_task);
}

/* ---- the header ------------------------------------------------------ */

typedef struct header {
    int code;
    bool big, fortran;
    size_t nd, shape[TG__ND_MAX];
    size_t offset; /* of the data */
} header;

static const char *skip(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    return s;
}

/* A quoted string at *s into out (at most max - 1 chars). */
static bool quoted(const char **s, const char *end, char *out, size_t max)
{
    const char *p = skip(*s, end);
    if (p >= end || (*p != '\'' && *p != '"'))
        return false;
    char q = *p++;
    size_t n = 0;
    while (p < end && *p != q && n + 1 < max)
        out[n++] = *p++;
    if (p >= end || *p != q)
        return false;
    out[n] = '\0';
    *s = p + 1;
    return true;
}

static bool descr(const char *d, header *h)
{
    char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return false;
    h->big = order == '>' || (order == '=' && !host_little());
    for (int c = 0; c < N_CODES; c++) {
        char want[4];
        snprintf(want, sizeof want, "%c%d", codes[c].kind, codes[c].size);
        if (strcmp(d + 1, want) == 0) {
            h->code = c;
            return true;
        }
    }
    return false;
}

/* The shape tuple "(3, 4)", "(5,)" or "()". */
static bool tuple(const char **s, const char *end, header *h)
{
    const char *p = skip(*s, end);
    if (p >= end || *p++ != '(')
        return false;
    h->nd = 0;
    for (;;) {
        p = skip(p, end);
        if (p < end && *p == ')')
            break;
        if (h->nd == TG__ND_MAX || p >= end || *p < '0' || *p > '9')
            return false;
        size_t x = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (x > (SIZE_MAX / 2 - 9) / 10)
                return false;
            x = x * 10 + (size_t)(*p++ - '0');
        }
        if (p < end && *p == 'L') /* Python 2's long */
            p++;
        h->shape[h->nd++] = x;
        p = skip(p, end);
        if (p < end && *p == ',')
            p++;
        else if (p >= end || *p != ')')
            return false;
    }
    *s = p + 1;
    return true;
}

/* Parses the dict literal text[0 .. len). */
static const char *parse_dict(const char *text, size_t len, header *h)
{
    const char *s = text, *end = text + len;
    bool got_d = false, got_f = false, got_s = false;
    s = skip(s, end);
    if (s >= end || *s++ != '{')
        return "the header is not a dict";
    for (;;) {
        char key[32], val[32];
        s = skip(s, end);
        if (s < end && *s == '}')
            break;
        if (!quoted(&s, end, key, sizeof key))
            return "a header key is not a string";
        s = skip(s, end);
        if (s >= end || *s++ != ':')
            return "a header key lacks its value";
        if (strcmp(key, "descr") == 0) {
            if (!quoted(&s, end, val, sizeof val) || !descr(val, h))
                return "unsupported descr (float64/32, int64/32/16/8, "
                       "uint8/16/32 or bool)";
            got_d = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            s = skip(s, end);
            if ((size_t)(end - s) >= 4 && strncmp(s, "True", 4) == 0)
                h->fortran = true, s += 4;
            else if ((size_t)(end - s) >= 5 && strncmp(s, "False", 5) == 0)
                h->fortran = false, s += 5;
            else
                return "fortran_order is not True or False";
            got_f = true;
        } else if (strcmp(key, "shape") == 0) {
            if (!tuple(&s, end, h))
                return "the shape is not a tuple of integers";
            got_s = true;
        } else {
            return "the header has an unknown key";
        }
        s = skip(s, end);
        if (s < end && *s == ',')
            s++;
    }
    if (!got_d || !got_f || !got_s)
        return "the header lacks descr, fortran_order or shape";
    return NULL;
}

/* Reads and checks the header of path, and that the file holds the
 * data it announces.  0 or a negative code with tg_last_error(). */
static int read_header(const char *path, header *h)
{
    uint8_t pre[12];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tg__seterr(errno == ENOENT ? TG_ENOENT : TG_EIO, "%s: %s", path,
                          strerror(errno));
    struct stat sb;
    char *text = NULL;
    int rc = fstat(fd, &sb) != 0 ? errno : read_at(fd, pre, 10, 0);
    const char *msg = rc ? strerror(rc) : NULL;
    size_t hlen = 0, at = 10, size;
    if (!msg && memcmp(pre, MAGIC, MAGIC_LEN) != 0)
        msg = "not a .npy file (bad magic)";
    if (!msg && (pre[6] < 1 || pre[6] > 3))
        msg = "unsupported .npy version";
    if (!msg && pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (!msg) {
        at = 12;
        if ((rc = read_at(fd, pre + 10, 2, 10)))
            msg = strerror(rc);
        hlen = (size_t)load_le(pre + 8, 4, false);
    }
    if (!msg && (hlen > MAX_HEADER || (uint64_t)sb.st_size < at + hlen))
        msg = "the header is longer than the file";
    if (!msg && !(text = tg__malloc(hlen + 1)))
        msg = "out of memory";
    if (!msg && (rc = read_at(fd, text, hlen, (off_t)at)))
        msg = strerror(rc);
    close(fd);
    *h = (header){.offset = at + hlen};
    if (!msg)
        msg = parse_dict(text, hlen, h);
    tg__free(text);
    if (!msg
        && (!tg__nd_count(h->nd, h->shape, (size_t)codes[h->code].size, &size)
            || (uint64_t)sb.st_size
                   < h->offset + size * (size_t)codes[h->code].size))
        msg = "the file is shorter than its header says";
    return msg ? tg__seterr(TG_EFORMAT, "%s: %s", path, msg) : 0;
}

/* ---- builders -------------------------------------------------------- */

tg_array *tg_array_from_npy(tg_graph *g, const char *path, const size_t *chunks)
{
    header h;
    if (!g || !path)
        return tg__seterr_null(TG_EINVAL, "tg_array_from_npy: NULL %s",
                               g ? "path" : "graph");
    if (read_header(path, &h) != 0)
        return NULL;
    /* Fortran order: the C-order array of reversed extents, transposed. */
    size_t shape[TG__ND_MAX], ch[TG__ND_MAX], nd = h.nd;
    for (size_t k = 0; k < nd; k++) {
        size_t j = h.fortran ? nd - 1 - k : k;
        shape[k] = h.shape[j];
        ch[k] = chunks ? chunks[j] : 0;
    }
    tg_array *a = tg__array_new(g, codes[h.code].dtype, nd, shape, ch);
    if (!a || tg__array_alloc_blocks(a) != 0)
        return NULL;
    for (size_t b = 0; b < a->n_blocks; b++) {
        size_t bs[TG__ND_MAX], st[TG__ND_MAX];
        tg__array_block_box(a, b, bs, st);
        tg_value *params =
            tg_list(7, tg_str(path), tg_int((int64_t)h.offset), tg_int(h.code),
                    tg_int(h.big), tg__sizes_value(nd, shape),
                    tg__sizes_value(nd, st), tg__sizes_value(nd, bs));
        if (!(a->blocks[b] =
                  tg__array_call(g, TG__T_NPY_READ, params, 0, NULL)))
            return NULL;
    }
    return h.fortran && nd > 1 ? tg_array_transpose(a) : a;
}

/* Writes the header of a C-order array of dtype and shape; the data
 * starts at *offset.  0 or an errno value. */
static int write_header(int fd, tg_dtype dt, size_t nd, const size_t *shape,
                        size_t *offset)
{
    char text[64 + 24 * TG__ND_MAX], sh[24 * TG__ND_MAX];
    const char *d = dt == TG_DT_FLOAT64 ? "f8"
                    : dt == TG_DT_INT64 ? "i8"
                                        : "b1";
    char order = dt == TG_DT_BOOL ? '|' : host_little() ? '<' : '>';
    tg__shape_str(sh, sizeof sh, nd, shape);
    int n = snprintf(text, sizeof text,
                     "{'descr': '%c%s', 'fortran_order': False, 'shape': %s, }",
                     order, d, sh);
    size_t len = (size_t)n, total = 10 + len + 1;
    size_t pad = (ALIGN - total % ALIGN) % ALIGN;
    uint8_t pre[10];
    memcpy(pre, MAGIC, MAGIC_LEN);
    pre[6] = 1;
    pre[7] = 0;
    size_t hlen = len + pad + 1;
    pre[8] = (uint8_t)(hlen & 0xff);
    pre[9] = (uint8_t)(hlen >> 8);
    char *buf = tg__malloc(hlen);
    if (!buf)
        return ENOMEM;
    memcpy(buf, text, len);
    memset(buf + len, ' ', pad);
    buf[hlen - 1] = '\n';
    int rc = write_at(fd, pre, 10, 0);
    if (rc == 0)
        rc = write_at(fd, buf, hlen, 10);
    tg__free(buf);
    *offset = 10 + hlen;
    return rc;
}

int tg_array_to_npy(tg_array *a, const char *path, tg_scheduler *s)
{
    if (tg__array_check("tg_array_to_npy", 1, &a) != 0)
        return TG_EINVAL;
    if (!path)
        return tg__seterr(TG_EINVAL, "tg_array_to_npy: NULL path");
    tg_value **blocks = tg__array_blocks(a);
    if (!blocks)
        return tg__last_code(TG_ENOMEM);
    size_t offset = 0, size;
    tg__nd_count(a->ndim, a->shape, 8, &size);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc =
        fd < 0 ? errno : write_header(fd, a->dtype, a->ndim, a->shape, &offset);
    if (rc == 0
        && ftruncate(fd, (off_t)(offset + size * tg__nd_itemsize(a->dtype)))
               != 0)
        rc = errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = errno;
    if (rc != 0)
        return tg__seterr(TG_EIO, "tg_array_to_npy: %s: %s", path,
                          strerror(rc));
    tg_value **w = tg__malloc(a->n_blocks * sizeof *w);
    tg_value **out = w ? tg__calloc(a->n_blocks, sizeof *out) : NULL;
    if (!out) {
        tg__free(w);
        return TG_ENOMEM;
    }
    rc = 0;
    for (size_t b = 0; rc == 0 && b < a->n_blocks; b++) {
        size_t st[TG__ND_MAX];
        tg__array_block_box(a, b, NULL, st);
        tg_value *params = tg_list(4, tg_str(path), tg_int((int64_t)offset),
                                   tg__sizes_value(a->ndim, a->shape),
                                   tg__sizes_value(a->ndim, st));
        if (!(w[b] =
                  tg__array_call(a->g, TG__T_NPY_WRITE, params, 1, &blocks[b])))
            rc = tg__last_code(TG_ENOMEM);
    }
    if (rc == 0) {
        rc = tg_compute_many(w, a->n_blocks, out, s);
        if (rc != 0 && out[0])
            tg__seterr(rc, "%s: %s", tg_error_key(out[0]),
                       tg_error_message(out[0]));
    }
    for (size_t b = 0; b < a->n_blocks; b++)
        tg_decref(out[b]);
    tg__free(out);
    tg__free(w);
    return rc;
}
