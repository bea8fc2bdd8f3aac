/* dataframe/csv_read.c - tg_read_csv: files split into byte-range blocks.
 *
 * Block rule: block [s, e) owns the records that *start* in [s, e).  A
 * position p starts a record when p == 0 or byte p - 1 is a newline
 * outside quotes.  In RFC 4180 every quote byte toggles the in-quotes
 * state ("" toggles twice), so the state at p is the parity of the quote
 * bytes before p.  Each block but the last gets a cheap "count" task
 * (quotes and newlines in its range, a SWAR pass); a chain of "prefix"
 * tasks adds them up, and block i's parse task takes the sums before
 * it and before its end: the exact state at s and at e and the line
 * number of its first record.  So a block boundary inside a quoted
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

/* Reads a byte range parameter: path, offset >= 0, length >= 0.  NULL,
 * or the task's error. */
static tg_value *range_param(const char *task, tg_value *const *a,
                             const char **path, int64_t *off, int64_t *len)
{
    *path = tg_as_str(a[0]);
    *off = tg_as_int(a[1]), *len = tg_as_int(a[2]);
    if (!*path || tg_typeof(a[1]) != TG_INT || tg_typeof(a[2]) != TG_INT
        || *off < 0 || *len < 0 || *len > INT64_MAX - *off)
        return tg__df_bad_param(task, "byte range",
                                "not a path, an offset and a length");
    return NULL;
}

/* count(path, offset, length) -> [quotes, newlines] in that range. */
tg_value *tg__task_csv_count(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const char *path;
    int64_t off, len;
    tg_value *bad = range_param("csv_count", a, &path, &off, &len);
    if (bad)
        return bad;
    filebuf fb;
    if (fb_open(&fb, path, off))
        return tg_error("%s", tg_last_error());
    if (off + len > fb.size) {
        fb_close(&fb);
        return tg_error("reading %s: the file shrank since it was planned",
                        path);
    }
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

/* A [quotes, newlines] pair: false when v is not one. */
static bool counts_of(const tg_value *v, int64_t *q, int64_t *nl)
{
    const tg_value *x = tg_list_get(v, 0), *y = tg_list_get(v, 1);
    *q = tg_as_int(x), *nl = tg_as_int(y);
    return tg_list_len(v) == 2 && tg_typeof(x) == TG_INT
           && tg_typeof(y) == TG_INT && *q >= 0 && *nl >= 0;
}

/* csv_prefix(before, count) -> before + count: the quotes and newlines
 * before the next block, from those before this one and its own. */
tg_value *tg__task_csv_prefix(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    int64_t q, nl, cq, cnl;
    if (!counts_of(a[0], &q, &nl) || !counts_of(a[1], &cq, &cnl)
        || cq > INT64_MAX - q || cnl > INT64_MAX - nl)
        return tg__df_bad_param("csv_prefix", "counts",
                                "not two [quotes, newlines] pairs");
    return tg_list(2, tg_int(q + cq), tg_int(nl + cnl));
}

/* Skips the header record at p: stores its length.  0, or a negative
 * code (a malformed header was refused at build time, so the file has
 * changed since). */
static int skip_header(const tg__csv_schema *sc, const char *p, const char *end,
                       int64_t *line, size_t *len)
{
    tg__csv_fields f = {0};
    const char *next = end;
    int64_t lines = 1;
    char err[64];
    int rc =
        tg__csv_split(p, end, sc->delim, &f, &next, &lines, err, sizeof err);
    tg__csv_fields_close(&f);
    if (rc)
        return rc;
    *line += lines;
    *len = (size_t)(next - p);
    return 0;
}

/* Finds the first record that starts in [s, e) (buffer base s - 1,
 * which holds the block) and its line.  Returns its buffer index, or -1
 * when none starts there.  Only the block is scanned: a block inside a
 * record that spans many blocks costs its own length, not the rest of
 * the record. */
static int64_t first_record(const filebuf *fb, int64_t s, int64_t e, int64_t pq,
                            int64_t *line)
{
    if (s == 0)
        return 0;
    int64_t nl = 0;
    bool q = (pq & 1) ^ (fb->buf[0] == '"');
    assert(fb->base == s - 1 && (int64_t)fb->len >= e - s);
    int64_t term = tg__csv_record_end(fb->buf, (size_t)(e - s), q, &nl);
    if (term < 0)
        return -1;
    if (term > 0)
        *line += nl - (fb->buf[0] == '\n') + 1;
    return term + 1;
}

/* A frame of no rows with the kept columns of sc. */
static tg_value *empty_frame(const tg__csv_schema *sc, const uint8_t *keep)
{
    const char **names = tg__malloc((sc->ncols + 1) * sizeof *names);
    tg_dtype *types = tg__malloc((sc->ncols + 1) * sizeof *types);
    tg_value *v = NULL;
    if (names && types) {
        size_t n = 0;
        for (size_t i = 0; i < sc->ncols; i++)
            if (keep[i])
                names[n] = sc->names[i], types[n++] = sc->types[i];
        v = tg__frame_value(tg__frame_empty(n, names, types));
    }
    tg__free(names);
    tg__free(types);
    return v ? v : tg_error("out of memory");
}

/* The parse parameters of a block task: the file's schema from the
 * options [delimiter, names, dtypes, na values] (strings borrowed from
 * the value) and the columns to keep.  NULL, or the task's error. */
static tg_value *block_params(const tg_value *opts, const tg_value *columns,
                              tg__csv_schema *sc, uint8_t **keep)
{
    tg__params p, na;
    const char *why = NULL, *delim = tg_as_str(tg_list_get(opts, 0));
    tg_value *sv = tg_list_len(opts) == 4
                       ? tg_list(2, tg_incref(tg_list_get(opts, 1)),
                                 tg_incref(tg_list_get(opts, 2)))
                       : NULL;
    int rc = sv ? tg__schema_decode(sv, &p, &why) : -1;
    tg_decref(sv);
    if (rc == 0 && tg__names_decode(tg_list_get(opts, 3), &na, &why)) {
        tg__params_close(&p);
        rc = -1;
    }
    if (rc == 0 && (!delim || strlen(delim) != 1)) {
        tg__params_close(&p);
        tg__params_close(&na);
        rc = -1;
    }
    if (rc)
        return tg__df_bad_param("read_csv", "options",
                                why ? why
                                    : "not [delimiter, names, dtypes, "
                                      "na values]");
    *sc = (tg__csv_schema){.delim = delim[0]};
    rc = tg__csv_na_set(sc, na.n, na.names);
    tg__params_close(&na);
    if (rc) {
        tg__params_close(&p);
        return tg_error("out of memory");
    }
    if (!(*keep = tg__calloc(p.n + 1, 1))) {
        tg__params_close(&p);
        tg__csv_na_close(sc);
        return tg_error("out of memory");
    }
    for (size_t i = 0; i < tg_list_len(columns); i++) {
        const tg_value *c = tg_list_get(columns, i);
        if (tg_typeof(c) != TG_INT || tg_as_int(c) < 0
            || (uint64_t)tg_as_int(c) >= p.n) {
            tg__params_close(&p);
            tg__csv_na_close(sc);
            tg__free(*keep);
            return tg__df_bad_param("read_csv", "columns",
                                    "not a list of column numbers");
        }
        (*keep)[tg_as_int(c)] = 1;
    }
    if (tg_typeof(columns) != TG_LIST) {
        tg__params_close(&p);
        tg__csv_na_close(sc);
        tg__free(*keep);
        return tg__df_bad_param("read_csv", "columns", "not a list");
    }
    sc->ncols = p.n;
    sc->names = (char **)p.names; /* borrowed strings, owned array */
    sc->types = p.types;
    return NULL;
}

/* Parses the records that start in [s, e) of the file at path, of
 * `size` bytes: pq quotes and pnl newlines come before s, eq quotes
 * before e (when e < size). */
static tg_value *read_block(const char *path, int64_t s, int64_t e,
                            int64_t size, int64_t pq, int64_t pnl, int64_t eq,
                            const tg__csv_schema *sc, const uint8_t *keep)
{
    filebuf fb;
    if (fb_open(&fb, path, s ? s - 1 : 0))
        return tg_error("%s", tg_last_error());
    if (fb.size != size) {
        fb_close(&fb);
        return tg_error("reading %s: the file changed since it was planned",
                        path);
    }
    char *copy = NULL;
    fb_map(&fb);
    const char *err = fb_fill(&fb, (size_t)(e - fb.base) + 65536);
    int64_t line = 1 + pnl, rend;
    int64_t rstart = err ? -1 : first_record(&fb, s, e, pq, &line);
    if (err)
        goto fail;
    if (rstart < 0) {
        fb_close(&fb);
        return empty_frame(sc, keep);
    }
    if (e >= size) {
        if ((err = fb_fill(&fb, (size_t)(size - fb.base))))
            goto fail;
        rend = (int64_t)fb.len;
    } else {
        int64_t dummy = 0;
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
                  ? skip_header(sc, fb.buf, fb.buf + rend, &line, &hlen)
                  : 0;
    if (hrc) {
        err = hrc == TG_ENOMEM ? "out of memory"
                               : "malformed header (has the file changed?)";
        goto fail;
    }
    rstart += (int64_t)hlen;
    tg__csv_release rel = {fb_release, &fb};
    tg_value *res = tg__csv_parse(sc, keep, fb.buf + rstart, fb.buf + rend,
                                  path, line, fb.map ? &rel : NULL);
    fb_close(&fb);
    return res;
fail:
    fb_close(&fb);
    return tg_error("reading %s: %s", path, err);
}

/* read_csv(path, offset, length, size, options, columns, before, after)
 * -> the frame of the kept columns of the records that start in
 * [offset, offset + length).  options is [delimiter, names, dtypes],
 * columns the numbers of the columns to parse, before the [quotes,
 * newlines] of the file before the block and after those before its end
 * (null for the file's last block). */
tg_value *tg__task_read_csv(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    const char *path;
    int64_t s, len, pq, pnl, eq = 0, dummy;
    tg_value *res = range_param("read_csv", a, &path, &s, &len);
    int64_t e = s + len, size = tg_as_int(a[3]);
    if (!res
        && (tg_typeof(a[3]) != TG_INT || len == 0 || e > size
            || !counts_of(a[6], &pq, &pnl)
            || (e < size ? !counts_of(a[7], &eq, &dummy)
                         : tg_typeof(a[7]) != TG_NULL)))
        res = tg__df_bad_param("read_csv", "block",
                               "offsets or counts out of range");
    if (res)
        return res;
    tg__csv_schema sc;
    uint8_t *keep = NULL;
    if ((res = block_params(a[4], a[5], &sc, &keep)))
        return res;
    res = read_block(path, s, e, size, pq, pnl, eq, &sc, keep);
    tg__free(sc.names); /* the array; the strings are the options' */
    tg__free(sc.types);
    tg__csv_na_close(&sc);
    tg__free(keep);
    return res;
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
    tg__name_index ix;
    int rc = tg__name_index_for(&ix, s->ncols, (const char *const *)s->names,
                                o->n_dtypes);
    for (size_t k = 0; k < o->n_dtypes && rc == 0; k++) {
        long i = o->dtype_names && o->dtype_names[k]
                     ? tg__name_index_find(&ix, o->dtype_names[k])
                     : -1;
        if (i < 0 || !o->dtypes || (unsigned)o->dtypes[k] > TG_DT_STRING)
            rc = tg__seterr(TG_EINVAL, "read_csv: dtypes: %s '%s'",
                            i < 0 ? "no column" : "bad type for",
                            o->dtype_names && o->dtype_names[k]
                                ? o->dtype_names[k]
                                : "(null)");
        else
            s->types[i] = o->dtypes[k], given[i] = true;
    }
    tg__name_index_close(&ix);
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
        rc = tg__csv_infer(fb->buf + hdr_len, len - hdr_len, s, given);
    }
    tg__free(given);
    return rc;
}

/* What a CSV source node holds: its files and their sizes, the
 * options its read tasks take, and for each block the [quotes,
 * newlines] before it - a literal for a file's first block, else a
 * prefix task - recorded the first time the source is lowered and
 * shared by every lowering. */
struct tg__csv_source {
    tg_value *opts;    /* [delimiter, names, dtypes, na values] */
    int64_t bs;        /* bytes per block */
    size_t n_files;    /* non-empty files */
    char **paths;      /* n_files, owned */
    int64_t *sizes;    /* n_files */
    tg_value **before; /* one per partition once planned: borrowed
                          delayed values, or owned [0, 0] literals */
    size_t n_parts;
};

static size_t n_blocks(int64_t size, int64_t bs)
{
    return (size_t)((size + bs - 1) / bs);
}

/* Records, for the blocks of file f from partition p on, a count task
 * per block but the last and a chain of prefix tasks over them: block
 * i's is prefix(block i - 1's, count i - 1).  Each task has a fixed
 * number of arguments, so the graph grows linearly with the blocks, and
 * block i waits only for the counts of blocks up to i. */
static int plan_file(tg_graph *g, tg__csv_source *c, size_t f, size_t p)
{
    size_t nb = n_blocks(c->sizes[f], c->bs);
    if (!(c->before[p] = tg_list(2, tg_int(0), tg_int(0))))
        return TG_ENOMEM;
    for (size_t i = 0; i + 1 < nb; i++) {
        tg_value *args[3] = {tg_str(c->paths[f]), tg_int((int64_t)i * c->bs),
                             tg_int(c->bs)};
        tg_value *sum[2] = {tg_incref(c->before[p + i]),
                            tg__df_call(g, TG__OP_CSV_COUNT, 3, args)};
        if (!(c->before[p + i + 1] = tg__df_call(g, TG__OP_CSV_PREFIX, 2, sum)))
            return TG_ENOMEM;
    }
    return 0;
}

/* Drops what plan_file recorded (after a failure; the graph keeps the
 * tasks, unused). */
static void forget_plan(tg__csv_source *c)
{
    for (size_t i = 0; c->before && i < c->n_parts; i++)
        if (tg_typeof(c->before[i]) != TG_DELAYED)
            tg_decref(c->before[i]);
    tg__free(c->before);
    c->before = NULL;
    c->n_parts = 0;
}

void tg__csv_source_free(tg__csv_source *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->paths && i < c->n_files; i++)
        tg__free(c->paths[i]);
    tg__free(c->paths);
    tg__free(c->sizes);
    forget_plan(c);
    tg_decref(c->opts);
    tg__free(c);
}

int tg__csv_lower(tg_dataframe *df, const uint8_t *need, tg_value **parts)
{
    tg__csv_source *c = df->csv;
    if (!c->before) {
        if (!(c->before = tg__calloc(df->nparts + 1, sizeof *c->before)))
            return TG_ENOMEM;
        c->n_parts = df->nparts;
        for (size_t f = 0, p = 0; f < c->n_files; f++) {
            if (plan_file(df->g, c, f, p)) {
                forget_plan(c);
                return TG_ENOMEM;
            }
            p += n_blocks(c->sizes[f], c->bs);
        }
    }
    tg_value **items = tg__malloc((df->ncols + 1) * sizeof *items);
    if (!items)
        return TG_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < df->ncols; i++)
        if (need[i])
            items[k++] = tg_int((int64_t)i);
    tg_value *cols = tg_list_from(k, items);
    tg__free(items);
    if (!cols)
        return TG_ENOMEM;
    size_t part = 0;
    int rc = 0;
    for (size_t f = 0; f < c->n_files && rc == 0; f++) {
        size_t nb = n_blocks(c->sizes[f], c->bs);
        for (size_t i = 0; i < nb && rc == 0; i++) {
            int64_t off = (int64_t)i * c->bs;
            int64_t len = i + 1 < nb ? c->bs : c->sizes[f] - off;
            tg_value *args[8] = {tg_str(c->paths[f]),
                                 tg_int(off),
                                 tg_int(len),
                                 tg_int(c->sizes[f]),
                                 tg_incref(c->opts),
                                 tg_incref(cols),
                                 tg_incref(c->before[part]),
                                 i + 1 < nb ? c->before[part + 1] : tg_null()};
            if (!(parts[part] = tg__df_call(df->g, TG__OP_READ_CSV, 8, args)))
                rc = TG_ENOMEM;
            part++;
        }
    }
    tg_decref(cols);
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
        tg__csv_schema h = {.delim = s->delim};
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

/* The source of the non-empty files of f, with options for schema s. */
static tg__csv_source *source_new(const csv_files *f, const tg__csv_schema *s,
                                  int64_t bs)
{
    tg__csv_source *c = tg__calloc(1, sizeof *c);
    size_t n = f->gl.gl_pathc;
    if (!c || !(c->paths = tg__calloc(n + 1, sizeof *c->paths))
        || !(c->sizes = tg__calloc(n + 1, sizeof *c->sizes)))
        goto fail;
    c->bs = bs;
    for (size_t i = 0; i < n; i++) {
        if (f->sizes[i] == 0)
            continue;
        if (!(c->paths[c->n_files] = tg__strdup(f->gl.gl_pathv[i])))
            goto fail;
        c->sizes[c->n_files++] = f->sizes[i];
    }
    char delim[2] = {s->delim, 0};
    tg_value *sv =
        tg__schema_value(s->ncols, (const char *const *)s->names, s->types);
    c->opts = sv ? tg_list(4, tg_str(delim), tg_incref(tg_list_get(sv, 0)),
                           tg_incref(tg_list_get(sv, 1)),
                           tg__names_value(s->n_na, s->na))
                 : NULL;
    tg_decref(sv);
    if (c->opts)
        return c;
fail:
    tg__csv_source_free(c);
    return NULL;
}

/* Refuses a delimiter that would make records ambiguous: a quote, a
 * line end.  0 or TG_EINVAL naming it. */
static int check_delimiter(const char *who, char d)
{
    const char *name = d == '"'    ? "a quote"
                       : d == '\n' ? "a newline"
                       : d == '\r' ? "a carriage return"
                                   : NULL;
    if (name)
        return tg__seterr(TG_EINVAL,
                          "%s: the delimiter cannot be %s (it would "
                          "break quoting or line ends)",
                          who, name);
    return 0;
}

/* Refuses a NULL na_values entry.  0 or TG_EINVAL. */
static int check_na_values(const char *who, const tg_csv_opts *o)
{
    if (o->n_na_values && !o->na_values)
        return tg__seterr(TG_EINVAL, "%s: NULL na_values", who);
    for (size_t i = 0; i < o->n_na_values; i++)
        if (!o->na_values[i])
            return tg__seterr(TG_EINVAL, "%s: na_values[%zu] is NULL", who, i);
    return 0;
}

tg_dataframe *tg_read_csv(tg_graph *g, const char *path_or_glob,
                          const tg_csv_opts *opts)
{
    tg_csv_opts o = opts ? *opts : (tg_csv_opts){0};
    if (!g || !path_or_glob)
        return tg__seterr_null(TG_EINVAL, "read_csv: NULL argument");
    if (check_delimiter("read_csv", o.delimiter)
        || check_na_values("read_csv", &o))
        return NULL;
    int64_t bs = o.blocksize ? (int64_t)o.blocksize : DEFAULT_BLOCKSIZE;
    tg__csv_schema s = {.delim = o.delimiter ? o.delimiter : ','};
    if (tg__csv_na_set(&s, o.n_na_values, o.na_values))
        return tg__seterr_null(TG_ENOMEM, "read_csv: out of memory");
    csv_files f = {0};
    tg_dataframe *df = NULL;
    tg__csv_source *c = NULL;
    if (scan_files(path_or_glob, &o, &s, &f, bs) == 0
        && (c = source_new(&f, &s, bs)))
        df = tg__df_node(g, TG__DF_CSV, NULL, s.ncols,
                         (const char *const *)s.names, s.types, f.nparts, NULL);
    if (df)
        df->csv = c;
    else
        tg__csv_source_free(c);
    tg__csv_schema_close(&s);
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
    if (check_delimiter("frame_from_csv", o.delimiter)
        || check_na_values("frame_from_csv", &o))
        return tg_error("%s", tg_last_error());
    char *buf = tg__malloc(len + 1);
    if (!buf)
        return tg_error("out of memory");
    if (len)
        memcpy(buf, data, len);
    if (len && buf[len - 1] != '\n')
        buf[len++] = '\n';
    tg__csv_schema s = {.delim = o.delimiter ? o.delimiter : ','};
    if (tg__csv_na_set(&s, o.n_na_values, o.na_values)) {
        tg__free(buf);
        return tg_error("out of memory");
    }
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
