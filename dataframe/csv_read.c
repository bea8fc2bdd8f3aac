/* dataframe/csv_read.c - tg_read_csv: files split into byte-range blocks.
 *
 * Block rule: block [s, e) owns the records that *start* in [s, e).  A
 * position p starts a record when p == 0 or byte p - 1 is a newline
 * outside quotes.  In RFC 4180 every quote byte toggles the in-quotes
 * state ("" toggles twice), so the state at p is the parity of the quote
 * bytes before p.  Each block but the last gets a cheap "count" task
 * (quotes and newlines in its range, a SWAR pass); one "scan" task per
 * file turns the counts into prefix sums, and block i's parse task reads
 * entries i and i + 1 of them: the exact state at s and at e and the
 * line number of its first record.  So a block boundary inside a quoted
 * field, even one holding newlines, splits correctly, every blocksize
 * yields the same rows, and planning is linear in the number of blocks.
 * See dataframe/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv_internal.h"
#include "df_internal.h"

#define DEFAULT_BLOCKSIZE (64u << 20)
#define DEFAULT_SAMPLE (256u << 10)
#define READ_CHUNK (1u << 20)

/* ---- a growing buffer over one file ---------------------------------- */

typedef struct filebuf {
    int fd;
    const char *path;
    int64_t base; /* file offset of buf[0] */
    int64_t size; /* file size */
    char *buf;
    size_t len, cap;
    char *map;       /* the whole file mapped, or NULL: buf is a copy */
    size_t released; /* map bytes [0, released) dropped (fb_release) */
} filebuf;

/* Makes buf hold at least want bytes, or all bytes up to EOF; keeps one
 * spare byte for a sentinel newline.  0, or an error message. */
static const char *fb_fill(filebuf *fb, size_t want)
{
    if (fb->map)
        return NULL; /* everything is there already */
    int64_t avail = fb->size - fb->base;
    if ((int64_t)want > avail)
        want = (size_t)avail;
    if (want + 1 > fb->cap) {
        size_t cap = fb->cap ? fb->cap : READ_CHUNK;
        while (cap < want + 1)
            cap *= 2;
        char *b = tg__realloc(fb->buf, cap);
        if (!b)
            return "out of memory";
        fb->buf = b;
        fb->cap = cap;
    }
    while (fb->len < want) {
        ssize_t r = pread(fb->fd, fb->buf + fb->len, want - fb->len,
                          (off_t)(fb->base + (int64_t)fb->len));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? strerror(errno) : "file shrank while reading";
        fb->len += (size_t)r;
    }
    return NULL;
}

static int fb_open(filebuf *fb, const char *path, int64_t base)
{
    memset(fb, 0, sizeof *fb);
    fb->path = path;
    fb->base = base;
    fb->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fb->fd < 0 || fstat(fb->fd, &st) != 0) {
        int err = errno;
        if (fb->fd >= 0)
            close(fb->fd);
        fb->fd = -1;
        return tg__seterr(err == ENOENT ? TG_ENOENT : TG_EIO,
                          "cannot open %s: %s", path, strerror(err));
    }
    fb->size = st.st_size;
    return 0;
}

/* Maps the file read-only instead of copying it: buf then reaches from
 * base to the end of the file and has no spare byte.  Reading through
 * the page cache's own pages saves a copy per byte.  0 on success; on
 * failure the buffer stays in copy mode. */
static int fb_map(filebuf *fb)
{
    if (fb->size <= 0 || fb->buf)
        return -1;
    void *m = mmap(NULL, (size_t)fb->size, PROT_READ, MAP_PRIVATE, fb->fd, 0);
    if (m == MAP_FAILED)
        return -1;
    fb->map = m;
    fb->released = (size_t)fb->base / (size_t)sysconf(_SC_PAGESIZE)
                   * (size_t)sysconf(_SC_PAGESIZE); /* never touched */
    fb->buf = fb->map + fb->base;
    fb->len = (size_t)(fb->size - fb->base);
    return 0;
}

/* Drops the mapped pages wholly before upto from this process (they
 * stay in the page cache), so a task's resident memory does not grow
 * with its block.  Mapped mode only. */
static void fb_release(void *ud, const char *upto)
{
    filebuf *fb = ud;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t n = (size_t)(upto - fb->map) / page * page;
    if (n > fb->released)
        madvise(fb->map + fb->released, n - fb->released, MADV_DONTNEED);
    if (n > fb->released)
        fb->released = n;
}

static void fb_close(filebuf *fb)
{
    if (fb->fd >= 0)
        close(fb->fd);
    if (fb->map)
        munmap(fb->map, (size_t)fb->size);
    else
        tg__free(fb->buf);
    fb->buf = fb->map = NULL;
}

/* ---- the count task ---------------------------------------------------- */

/* count(path, offset, length) -> [quotes, newlines] in that range. */
static tg_value *count_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const char *path = tg_as_str(a[0]);
    int64_t off = tg_as_int(a[1]), len = tg_as_int(a[2]);
    filebuf fb;
    if (fb_open(&fb, path, off))
        return tg_error("%s", tg_last_error());
    size_t quotes = 0, lines = 0;
    const char *err = NULL;
    if (fb_map(&fb) == 0) {
        for (int64_t done = 0; done < len;) {
            size_t k = (size_t)(len - done < 8 * READ_CHUNK ? len - done
                                                            : 8 * READ_CHUNK);
            size_t q, nl;
            tg__count_bytes2(fb.buf + done, k, '"', '\n', &q, &nl);
            quotes += q;
            lines += nl;
            done += (int64_t)k;
            fb_release(&fb, fb.buf + done);
        }
    } else {
        for (int64_t done = 0; done < len && !err;) {
            size_t k =
                (size_t)(len - done < READ_CHUNK ? len - done : READ_CHUNK);
            fb.len = 0;
            fb.base = off + done;
            if ((err = fb_fill(&fb, k)))
                break;
            size_t q, nl;
            tg__count_bytes2(fb.buf, fb.len, '"', '\n', &q, &nl);
            quotes += q;
            lines += nl;
            done += (int64_t)fb.len;
        }
    }
    fb_close(&fb);
    if (err)
        return tg_error("reading %s: %s", path, err);
    return tg_list(2, tg_int((int64_t)quotes), tg_int((int64_t)lines));
}

/* ---- the block task ---------------------------------------------------- */

typedef struct reader {
    tg__csv_schema s;
    tg__demand demand; /* columns to parse (projection pushdown) */
} reader;

static void reader_free(void *p)
{
    reader *r = p;
    tg__csv_schema_close(&r->s);
    tg__free(r->demand.needed);
    tg__free(r);
}

/* Scans buf from index i with in-quotes state q for the first newline
 * outside quotes, reading more of the file as needed.  Returns its index,
 * or -1 at end of file; counts newlines passed in *nl. */
static int64_t find_record_end(filebuf *fb, size_t i, bool q, int64_t *nl,
                               const char **err)
{
    for (;;) {
        for (; i < fb->len; i++) {
            char c = fb->buf[i];
            if (c == '"')
                q = !q;
            else if (c == '\n' && !q)
                return (int64_t)i;
            *nl += c == '\n';
        }
        if (fb->base + (int64_t)fb->len >= fb->size)
            return -1;
        if ((*err = fb_fill(fb, fb->len + fb->len / 2 + READ_CHUNK)))
            return -1;
    }
}

/* scan([counts...]) -> [Q0, NL0, Q1, NL1, ...]: for each block i, the
 * quotes and newlines before it (the sums of the counts of blocks < i),
 * for every block up to one past the counted ones. */
static tg_value *scan_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    size_t nc = tg_list_len(a[0]);
    tg_value **items = tg__malloc(2 * (nc + 1) * sizeof *items);
    if (!items)
        return tg_error("out of memory");
    int64_t q = 0, nl = 0;
    for (size_t i = 0; i <= nc; i++) {
        items[2 * i] = tg_int(q);
        items[2 * i + 1] = tg_int(nl);
        if (i == nc)
            break;
        const tg_value *c = tg_list_get(a[0], i);
        q += tg_as_int(tg_list_get(c, 0));
        nl += tg_as_int(tg_list_get(c, 1));
    }
    tg_value *res = tg_list_from(2 * (nc + 1), items);
    tg__free(items);
    return res ? res : tg_error("out of memory");
}

/* The prefix sums before block i from a scan result (null for a file
 * of one block): quotes in *q, newlines in *nl. */
static void prefix_at(const tg_value *scan, size_t i, int64_t *q, int64_t *nl)
{
    *q = tg_as_int(tg_list_get(scan, 2 * i));
    *nl = tg_as_int(tg_list_get(scan, 2 * i + 1));
}

/* Skips the header record at p: stores its length.  0, or a negative
 * code (a malformed header was refused at build time, so the file has
 * changed since). */
static int skip_header(const reader *r, const char *p, const char *end,
                       int64_t *line, size_t *len)
{
    tg__csv_fields f = {0};
    const char *next = end;
    int64_t lines = 1;
    char err[64];
    int rc =
        tg__csv_split(p, end, r->s.delim, &f, &next, &lines, err, sizeof err);
    tg__csv_fields_close(&f);
    if (rc)
        return rc;
    *line += lines;
    *len = (size_t)(next - p);
    return 0;
}

/* Finds the first record that starts in [s, e) (buffer base s - 1) and
 * its line.  Returns its buffer index, or -1 when none starts there. */
static int64_t first_record(filebuf *fb, int64_t s, int64_t e, int64_t pq,
                            int64_t *line, const char **err)
{
    if (s == 0)
        return 0;
    int64_t nl = 0;
    bool q = (pq & 1) ^ (fb->buf[0] == '"');
    int64_t term = find_record_end(fb, 0, q, &nl, err);
    if (*err || term < 0 || fb->base + term + 1 >= e)
        return -1;
    if (term > 0)
        *line += nl - (fb->buf[0] == '\n') + 1;
    return term + 1;
}

static tg_value *empty_frame(const reader *r)
{
    tg_value *v = tg__frame_value(tg__frame_empty(
        r->s.ncols, (const char *const *)r->s.names, r->s.types));
    return v ? v : tg_error("out of memory");
}

/* read-csv(reader, path, offset, length, size, scan, index) -> frame.
 * scan is the file's prefix sums (null for a file of one block) and
 * index the block's number in the file. */
static tg_value *block_task(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const reader *r = tg_as_object(a[0]);
    const char *path = tg_as_str(a[1]);
    int64_t s = tg_as_int(a[2]), e = s + tg_as_int(a[3]);
    int64_t size = tg_as_int(a[4]), pq, pnl;
    size_t index = (size_t)tg_as_int(a[6]);
    prefix_at(a[5], index, &pq, &pnl);
    filebuf fb;
    if (fb_open(&fb, path, s ? s - 1 : 0))
        return tg_error("%s", tg_last_error());
    tg_value *res = NULL;
    char *copy = NULL;
    fb_map(&fb);
    const char *err = fb_fill(&fb, (size_t)(e - fb.base) + 65536);
    int64_t line = 1 + pnl, rend;
    int64_t rstart = err ? -1 : first_record(&fb, s, e, pq, &line, &err);
    if (err)
        goto fail;
    if (rstart < 0) {
        fb_close(&fb);
        return empty_frame(r);
    }
    if (e >= size) {
        if ((err = fb_fill(&fb, (size_t)(size - fb.base))))
            goto fail;
        rend = (int64_t)fb.len;
    } else {
        int64_t eq, dummy = 0; /* quotes before e */
        prefix_at(a[5], index + 1, &eq, &dummy);
        size_t i = (size_t)(e - 1 - fb.base);
        bool q = (eq & 1) ^ (fb.buf[i] == '"');
        rend = find_record_end(&fb, i, q, &dummy, &err) + 1;
        if (err)
            goto fail;
        if (rend == 0)
            rend = (int64_t)fb.len;
    }
    if (rend > rstart && fb.buf[rend - 1] != '\n') {
        /* No newline at the end of the file: add one.  A mapped file is
         * read-only, so its last block is parsed from a copy. */
        if (fb.map) {
            if (!(copy = tg__malloc((size_t)rend + 1))) {
                err = "out of memory";
                goto fail;
            }
            memcpy(copy, fb.buf, (size_t)rend);
            munmap(fb.map, (size_t)fb.size);
            fb.map = NULL;
            fb.buf = copy;
        }
        fb.buf[rend++] = '\n';
    }
    size_t hlen = 0;
    int hrc = s == 0 && rend > 0
                  ? skip_header(r, fb.buf, fb.buf + rend, &line, &hlen)
                  : 0;
    if (hrc) {
        err = hrc == TG_ENOMEM ? "out of memory"
                               : "malformed header (has the file changed?)";
        goto fail;
    }
    rstart += (int64_t)hlen;
    tg__csv_release rel = {fb_release, &fb};
    res = tg__csv_parse(&r->s, r->demand.needed, fb.buf + rstart, fb.buf + rend,
                        path, line, fb.map ? &rel : NULL);
    fb_close(&fb);
    return res;
fail:
    fb_close(&fb);
    return tg_error("reading %s: %s", path, err);
}

/* ---- build time -------------------------------------------------------- */

/* Reads the header of an open file; *data_off is where data starts. */
static int read_header(filebuf *fb, tg__csv_schema *s, size_t *hdr_len)
{
    for (size_t want = 65536;; want *= 4) {
        const char *err = fb_fill(fb, want);
        if (err)
            return tg__seterr(TG_EIO, "reading %s: %s", fb->path, err);
        bool eof = fb->base + (int64_t)fb->len >= fb->size;
        if (eof && fb->buf[fb->len - 1] != '\n')
            fb->buf[fb->len++] = '\n'; /* the spare byte */
        int rc = tg__csv_header(fb->buf, fb->len, fb->path, s, hdr_len);
        if (rc != TG_EFORMAT || eof || !strstr(tg_last_error(), "does not end"))
            return rc;
    }
}

static bool same_header(const tg__csv_schema *a, const tg__csv_schema *b)
{
    if (a->ncols != b->ncols)
        return false;
    for (size_t i = 0; i < a->ncols; i++)
        if (strcmp(a->names[i], b->names[i]) != 0)
            return false;
    return true;
}

/* Applies opts' dtypes by name; infers the rest from the sample. */
static int schema_types(filebuf *fb, size_t hdr_len, tg__csv_schema *s,
                        const tg_csv_opts *o)
{
    bool *given = tg__calloc(s->ncols ? s->ncols : 1, sizeof *given);
    if (!given)
        return TG_ENOMEM;
    int rc = 0;
    for (size_t k = 0; k < o->n_dtypes && rc == 0; k++) {
        long i = -1;
        for (size_t c = 0; c < s->ncols; c++)
            if (strcmp(s->names[c], o->dtype_names[k]) == 0)
                i = (long)c;
        if (i < 0 || (unsigned)o->dtypes[k] > TG_DT_STRING)
            rc = tg__seterr(TG_EINVAL, "read_csv: dtypes: %s '%s'",
                            i < 0 ? "no column" : "bad type for",
                            o->dtype_names[k]);
        else
            s->types[i] = o->dtypes[k], given[i] = true;
    }
    size_t sample = o->sample_bytes ? o->sample_bytes : DEFAULT_SAMPLE;
    const char *err = rc ? NULL : fb_fill(fb, hdr_len + sample);
    if (err)
        rc = tg__seterr(TG_EIO, "reading %s: %s", fb->path, err);
    if (rc == 0) {
        size_t len = fb->len;
        if (fb->base + (int64_t)len >= fb->size && len
            && fb->buf[len - 1] != '\n')
            fb->buf[len++] = '\n'; /* the spare byte */
        if (len > hdr_len + sample)
            len = hdr_len + sample;
        rc =
            tg__csv_infer(fb->buf + hdr_len, len - hdr_len, fb->path, s, given);
    }
    tg__free(given);
    return rc;
}

/* Adds the partitions of one file of `size` bytes: a count task per
 * block but the last, one scan task over them, and the block tasks.
 * Each task has a constant number of arguments (the scan one list of
 * the counts), so the graph grows linearly with the blocks. */
static int add_file(tg_dataframe *df, tg_value *robj, const char *path,
                    int64_t size, int64_t bs, size_t *part)
{
    tg_graph *g = df->g;
    size_t nb = (size_t)((size + bs - 1) / bs);
    tg_value **counts = tg__calloc(nb, sizeof *counts), *scan = NULL;
    if (!counts)
        return TG_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i + 1 < nb && rc == 0; i++) {
        int64_t off = (int64_t)i * bs;
        tg_value *args[3] = {tg_str(path), tg_int(off), tg_int(bs)};
        counts[i] = tg_delayed_v(g, "csv-count", count_task, NULL, 0, 3, args);
        if (!counts[i])
            rc = TG_ENOMEM;
    }
    if (rc == 0 && nb > 1) {
        tg_value *list = tg_list_from(nb - 1, counts);
        if (!(scan = tg_delayed_v(g, "csv-scan", scan_task, NULL, 0, 1, &list)))
            rc = TG_ENOMEM;
    }
    for (size_t i = 0; i < nb && rc == 0; i++) {
        int64_t off = (int64_t)i * bs;
        int64_t len = i + 1 < nb ? bs : size - off;
        tg_value *args[7] = {tg_incref(robj),   tg_str(path),
                             tg_int(off),       tg_int(len),
                             tg_int(size),      scan ? scan : tg_null(),
                             tg_int((int64_t)i)};
        tg_value *d = tg_delayed_v(g, "read-csv", block_task, NULL, 0, 7, args);
        if (!d)
            rc = TG_ENOMEM;
        else
            df->parts[(*part)++] = d;
    }
    tg__free(counts);
    return rc;
}

typedef struct csv_files {
    glob_t gl;
    int64_t *sizes;
    size_t nparts;
} csv_files;

/* Expands the glob, reads every header, infers types from the first
 * non-empty file.  Fills s and f. */
static int scan_files(const char *pattern, const tg_csv_opts *o,
                      tg__csv_schema *s, csv_files *f, int64_t bs)
{
    int grc = glob(pattern, GLOB_NOCHECK, NULL, &f->gl);
    if (grc != 0 || f->gl.gl_pathc == 0)
        return tg__seterr(TG_ENOENT, "read_csv: no file matches '%s'", pattern);
    if (!(f->sizes = tg__calloc(f->gl.gl_pathc, sizeof *f->sizes)))
        return TG_ENOMEM;
    bool have = false;
    int rc = 0;
    for (size_t i = 0; i < f->gl.gl_pathc && rc == 0; i++) {
        filebuf fb;
        tg__csv_schema h = {s->delim, 0, NULL, NULL};
        size_t hdr_len = 0;
        if ((rc = fb_open(&fb, f->gl.gl_pathv[i], 0)))
            break;
        f->sizes[i] = fb.size;
        if (fb.size > 0)
            rc = read_header(&fb, have ? &h : s, &hdr_len);
        if (rc == 0 && fb.size > 0 && !have) {
            rc = schema_types(&fb, hdr_len, s, o);
            have = true;
        } else if (rc == 0 && fb.size > 0 && !same_header(s, &h)) {
            rc = tg__seterr(TG_EFORMAT,
                            "read_csv: %s has another header "
                            "than %s",
                            fb.path, f->gl.gl_pathv[0]);
        }
        if (f->sizes[i] > 0)
            f->nparts += (size_t)((f->sizes[i] + bs - 1) / bs);
        tg__csv_schema_close(&h);
        fb_close(&fb);
    }
    return rc;
}

tg_dataframe *tg_read_csv(tg_graph *g, const char *path_or_glob,
                          const tg_csv_opts *opts)
{
    tg_csv_opts o = opts ? *opts : (tg_csv_opts){0};
    if (!g || !path_or_glob)
        return tg__seterr_null(TG_EINVAL, "read_csv: NULL argument");
    int64_t bs = o.blocksize ? (int64_t)o.blocksize : DEFAULT_BLOCKSIZE;
    reader *r = tg__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->s.delim = o.delimiter ? o.delimiter : ',';
    csv_files f = {0};
    tg_dataframe *df = NULL;
    int rc = scan_files(path_or_glob, &o, &r->s, &f, bs);
    if (rc == 0)
        df = tg__df_new(g, r->s.ncols, (const char *const *)r->s.names,
                        r->s.types, f.nparts);
    if (df && !(r->demand.needed = tg__calloc(r->s.ncols + 1, 1)))
        df = NULL;
    if (!df)
        goto fail;
    r->demand.ncols = r->s.ncols;
    r->demand.names = r->s.names;
    df->src = &r->demand;
    /* tg__df_param owns r from here, and frees it if it fails. */
    tg_value *robj = tg__df_param(r, reader_free, "csv-reader");
    r = NULL;
    if (!robj)
        goto fail;
    size_t part = 0;
    for (size_t i = 0; i < f.gl.gl_pathc && rc == 0; i++)
        if (f.sizes[i] > 0)
            rc = add_file(df, robj, f.gl.gl_pathv[i], f.sizes[i], bs, &part);
    tg_decref(robj);
    if (rc)
        df = NULL;
    goto done;
fail:
    if (r)
        reader_free(r);
    df = NULL;
done:
    if (f.gl.gl_pathc || f.gl.gl_pathv)
        globfree(&f.gl);
    tg__free(f.sizes);
    return df;
}

tg_value *tg_frame_from_csv(const char *data, size_t len,
                            const tg_csv_opts *opts)
{
    tg_csv_opts o = opts ? *opts : (tg_csv_opts){0};
    if (!data && len)
        return tg_error("frame_from_csv: NULL data");
    char *buf = tg__malloc(len + 1);
    if (!buf)
        return tg_error("out of memory");
    if (len)
        memcpy(buf, data, len);
    if (len && buf[len - 1] != '\n')
        buf[len++] = '\n';
    tg__csv_schema s = {o.delimiter ? o.delimiter : ',', 0, NULL, NULL};
    tg_value *res = NULL;
    size_t hdr_len = 0;
    filebuf fb = {-1, "<memory>", 0, (int64_t)len, buf, len, len + 1, NULL, 0};
    if (len == 0) {
        res = tg__frame_value(tg__frame_empty(0, NULL, NULL));
    } else if (tg__csv_header(buf, len, "<memory>", &s, &hdr_len) == 0
               && schema_types(&fb, hdr_len, &s, &o) == 0) {
        res = tg__csv_parse(&s, NULL, buf + hdr_len, buf + len, "<memory>", 2,
                            NULL);
    } else {
        res = tg_error("%s", tg_last_error());
    }
    tg__csv_schema_close(&s);
    tg__free(buf);
    return res ? res : tg_error("out of memory");
}
