/* schedulers/distributed/client.c - tg_scheduler_distributed: the
 * cluster as a scheduler.
 *
 * A client needs no loop: a compute takes an idle connection to the
 * scheduler (or opens one), sends the plan as one C_SUBMIT and blocks on
 * the socket until the graph's S_DONE, polling so that a cancel request
 * or the deadline turns into C_CANCEL.  Connections are kept for the
 * next compute, so a tiny graph costs one round trip; any number of
 * threads compute at once, each on a connection of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dist_internal.h"
#include "schedulers/scheduler_internal.h"

#define CONNECT_TIMEOUT_MS 10000
#define POLL_MS 50             /* how often a wait looks at cancel requests */
#define CANCEL_WAIT_MS 10000   /* for the scheduler to confirm a cancel */
#define SHUTDOWN_WAIT_MS 10000 /* for it to stop when asked to */

#define IN_BYTES 16384 /* a connection's read buffer */

typedef struct cconn {
    int fd;
    uint64_t next_tag;
    struct cconn *next;   /* in the idle stack */
    size_t in_at, in_len; /* in[in_at, in_len): received, not yet read */
    uint8_t in[IN_BYTES];
} cconn;

typedef struct dist {
    tg_scheduler base; /* first: tg_scheduler_free casts back */
    char address[256];
    uint8_t token[TG__TOKEN_BYTES];
    tg__limits limits;
    pthread_mutex_t lock;
    cconn *idle; /* guarded by lock */
} dist;

/* ---- blocking I/O with deadlines --------------------------------------- */

/* Waits for fd to be readable (or writable): 1, 0 on timeout, or < 0. */
static int wait_fd(int fd, bool out, int ms)
{
    struct pollfd p = {fd, out ? POLLOUT : POLLIN, 0};
    int rc;
    do
        rc = poll(&p, 1, ms);
    while (rc < 0 && errno == EINTR);
    return rc;
}

/* Reads exactly n bytes from c, through its buffer (a large read goes
 * straight to buf); TG_EIO on a closed or failed socket, TG_ECANCELED
 * when should_stop says so while waiting. */
static int read_all(cconn *c, void *buf, size_t n, tg__run *run)
{
    uint8_t *p = buf;
    uint64_t tick = 0;
    while (n) {
        if (c->in_at < c->in_len) {
            size_t k = c->in_len - c->in_at < n ? c->in_len - c->in_at : n;
            memcpy(p, c->in + c->in_at, k);
            c->in_at += k, p += k, n -= k;
            continue;
        }
        bool direct = n >= IN_BYTES;
        ssize_t k = recv(c->fd, direct ? p : c->in, direct ? n : IN_BYTES, 0);
        if (k > 0 && direct) {
            p += k, n -= (size_t)k;
            continue;
        }
        if (k > 0) {
            c->in_at = 0, c->in_len = (size_t)k;
            continue;
        }
        if (k == 0)
            return tg__seterr(TG_EIO, "the scheduler closed the connection");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return tg__seterr(TG_EIO, "reading from the scheduler: %s",
                              strerror(errno));
        if (run && tg__run_should_stop(run, tick++ * 64))
            return TG_ECANCELED;
        if (wait_fd(c->fd, false, POLL_MS) < 0)
            return tg__seterr(TG_EIO, "poll: %s", strerror(errno));
    }
    return 0;
}

static int write_iov(int fd, struct iovec *iov, size_t n)
{
    while (n) {
        size_t batch = n < 512 ? n : 512;
        /* sendmsg, so that a scheduler that has gone is an error here
         * (EPIPE), not a SIGPIPE that ends the caller's process */
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = batch};
        ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, true, 1000) < 0)
                return tg__seterr(TG_EIO, "poll: %s", strerror(errno));
            continue;
        }
        if (k < 0)
            return tg__seterr(TG_EIO, "writing to the scheduler: %s",
                              strerror(errno));
        size_t done = (size_t)k;
        while (n && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++, n--;
        }
        if (n) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

/* Sends the message e (head and pieces; e is closed). */
static int send_msg(int fd, tg__enc *e)
{
    size_t n = 2 + e->n_pieces, plen = TG__PREFIX_BYTES + 8 * e->n_pieces;
    uint8_t *prefix = tg__malloc(plen);
    struct iovec *iov = tg__malloc(n * sizeof *iov);
    int rc = prefix && iov ? 0 : TG_ENOMEM;
    if (rc == 0) {
        tg__put_prefix(prefix, e);
        iov[0] = (struct iovec){prefix, plen};
        iov[1] = (struct iovec){e->head, e->len};
        for (size_t i = 0; i < e->n_pieces; i++)
            iov[2 + i] =
                (struct iovec){(void *)e->pieces[i].data, e->pieces[i].len};
        rc = write_iov(fd, iov, n);
    }
    tg__free(prefix);
    tg__free(iov);
    tg__enc_close(e);
    return rc;
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* Reads one message, within the limits. */
static int read_msg(cconn *c, const tg__limits *l, tg__msg *m, tg__run *run)
{
    uint8_t pre[TG__PREFIX_BYTES];
    *m = (tg__msg){0};
    int rc = read_all(c, pre, sizeof pre, run);
    if (rc)
        return rc;
    m->head_len = (size_t)get_le(pre, 4);
    m->n_frames = (size_t)get_le(pre + 4, 4);
    if (m->head_len == 0 || m->head_len > l->max_header
        || m->n_frames > l->max_frames)
        return tg__seterr(TG_EPROTO, "a message beyond the limits");
    size_t n = m->n_frames;
    uint8_t *lens = tg__malloc(8 * n + 1);
    m->frames = tg__calloc(n + 1, sizeof *m->frames);
    m->frame_lens = tg__calloc(n + 1, sizeof *m->frame_lens);
    m->head = tg__malloc(m->head_len);
    rc = lens && m->frames && m->frame_lens && m->head ? 0 : TG_ENOMEM;
    rc = rc ? rc : read_all(c, lens, 8 * n, NULL);
    for (size_t i = 0; i < n && rc == 0; i++) {
        m->frame_lens[i] = (size_t)get_le(lens + 8 * i, 8);
        if (m->frame_lens[i] > l->max_frame)
            rc = tg__seterr(TG_EPROTO, "a frame beyond the limit");
    }
    tg__free(lens);
    rc = rc ? rc : read_all(c, m->head, m->head_len, NULL);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!m->frame_lens[i])
            continue;
        if (!(m->frames[i] = tg__malloc(m->frame_lens[i])))
            rc = TG_ENOMEM;
        else
            rc = read_all(c, m->frames[i], m->frame_lens[i], NULL);
    }
    if (rc)
        tg__msg_free(m);
    return rc;
}

/* ---- connecting ------------------------------------------------------- */

static int connect_fd(const char *address)
{
    char host[256], port_s[16];
    int port;
    if (tg__parse_address(address, host, sizeof host, &port))
        return -1;
    snprintf(port_s, sizeof port_s, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port_s, &hints, &ai) != 0 || !ai) {
        tg__seterr(TG_ENOENT, "cannot resolve '%s'", host);
        return -1;
    }
    int fd =
        socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && fd >= 0 && errno == EINPROGRESS
        && wait_fd(fd, true, CONNECT_TIMEOUT_MS) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err ? -1 : 0;
        errno = err ? err : errno;
    }
    if (rc < 0) {
        tg__seterr(TG_EIO, "cannot connect to %s: %s", address,
                   strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Answers the scheduler's challenge and checks its answer. */
static int handshake(cconn *c, const uint8_t *token)
{
    uint8_t hello[TG__HS_HELLO], reply[TG__HS_REPLY], fin[TG__HS_FINISH];
    uint8_t nonce[TG__NONCE_BYTES], mac[TG__MAC_BYTES];
    int rc = read_all(c, hello, sizeof hello, NULL);
    if (rc)
        return rc;
    if (memcmp(hello, TG__HS_MAGIC, 4) != 0)
        return tg__seterr(TG_EPROTO, "not a taskgraph scheduler");
    if ((rc = tg__random(nonce, sizeof nonce)))
        return rc;
    memcpy(reply, TG__HS_MAGIC, 4);
    memcpy(reply + 4, nonce, TG__NONCE_BYTES);
    tg__hs_mac(token, "client", hello + 4, nonce, reply + 4 + TG__NONCE_BYTES);
    struct iovec iov = {reply, sizeof reply};
    if ((rc = write_iov(c->fd, &iov, 1))
        || (rc = read_all(c, fin, sizeof fin, NULL)))
        return rc == TG_EIO
                   ? tg__seterr(TG_EPROTO, "the scheduler refused the token")
                   : rc;
    tg__hs_mac(token, "server", nonce, hello + 4, mac);
    if (!tg__mac_equal(mac, fin))
        return tg__seterr(TG_EPROTO, "the scheduler failed authentication");
    return 0;
}

static cconn *open_conn(dist *d)
{
    int fd = connect_fd(d->address);
    if (fd < 0)
        return NULL;
    cconn *c = tg__calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    if (handshake(c, d->token) != 0) {
        close(fd);
        tg__free(c);
        return NULL;
    }
    return c;
}

static cconn *take_conn(dist *d)
{
    pthread_mutex_lock(&d->lock);
    cconn *c = d->idle;
    if (c)
        d->idle = c->next;
    pthread_mutex_unlock(&d->lock);
    return c ? c : open_conn(d);
}

static void give_back(dist *d, cconn *c, bool healthy)
{
    if (!healthy) {
        close(c->fd);
        tg__free(c);
        return;
    }
    pthread_mutex_lock(&d->lock);
    c->next = d->idle;
    d->idle = c;
    pthread_mutex_unlock(&d->lock);
}

/* ---- submitting a plan -----------------------------------------------------
 */

/* A submission being built: the arrays and blobs of C_SUBMIT. */
typedef struct submission {
    tg__enc specs; /* every task's spec, each after a version byte */
    uint64_t *ho, *po;
    uint32_t *lit_off, *lit_idx, *targets;
    uint8_t *lits; /* the literals' flat values, back to back */
    uint64_t *lit_at;
    size_t lits_len, n_lit_refs, n_targets;
} submission;

static void submission_close(submission *b)
{
    tg__enc_close(&b->specs);
    tg__free(b->ho);
    tg__free(b->po);
    tg__free(b->lit_off);
    tg__free(b->lit_idx);
    tg__free(b->targets);
    tg__free(b->lits);
    tg__free(b->lit_at);
}

/* The literals each task's first op reads, each once per task. */
static int list_literals(const tg__plan *p, submission *b)
{
    uint32_t nt = p->n_tasks;
    b->lit_off = tg__malloc(((size_t)nt + 1) * sizeof *b->lit_off);
    b->lit_idx = tg__malloc(((size_t)p->n_in + 1) * sizeof *b->lit_idx);
    if (!b->lit_off || !b->lit_idx)
        return TG_ENOMEM;
    size_t k = 0;
    for (uint32_t t = 0; t < nt; t++) {
        b->lit_off[t] = (uint32_t)k;
        const tg__op *op = &p->ops[p->op_begin[t]];
        for (uint32_t x = op[0].in; x < op[1].in; x++) {
            if (p->in[x] < nt)
                continue;
            uint32_t j = p->in[x] - nt;
            bool seen = false;
            for (size_t y = b->lit_off[t]; y < k && !seen; y++)
                seen = b->lit_idx[y] == j;
            if (!seen)
                b->lit_idx[k++] = j;
        }
    }
    b->lit_off[nt] = (uint32_t)k;
    b->n_lit_refs = k;
    return 0;
}

/* Flattens every literal into one blob with offsets. */
static int pack_literals(const tg__plan *p, submission *b)
{
    b->lit_at = tg__malloc(((size_t)p->n_literals + 1) * sizeof *b->lit_at);
    if (!b->lit_at)
        return TG_ENOMEM;
    b->lit_at[0] = 0;
    for (uint32_t j = 0; j < p->n_literals; j++) {
        uint8_t *flat;
        size_t len;
        int rc = tg__flatten_value(p->literal[j], &flat, &len);
        if (rc)
            return rc; /* tg_last_error() names the value's type */
        uint8_t *grown = tg__realloc(b->lits, b->lits_len + len + 1);
        if (!grown) {
            tg__free(flat);
            return TG_ENOMEM;
        }
        memcpy(grown + b->lits_len, flat, len);
        tg__free(flat);
        b->lits = grown;
        b->lits_len += len;
        b->lit_at[j + 1] = b->lits_len;
    }
    return 0;
}

static int build(const tg__plan *p, submission *b)
{
    uint32_t nt = p->n_tasks;
    b->ho = tg__malloc(((size_t)nt + 1) * sizeof *b->ho);
    b->po = tg__malloc(((size_t)nt + 1) * sizeof *b->po);
    b->targets = tg__malloc(((size_t)nt + 1) * sizeof *b->targets);
    int rc = b->ho && b->po && b->targets
                 ? tg__enc_init(&b->specs, TG__CODEC_HOLES)
                 : TG_ENOMEM;
    for (uint32_t t = 0; t < nt && rc == 0; t++) {
        b->ho[t] = b->specs.len - (t == 0); /* at its version byte */
        b->po[t] = b->specs.n_pieces;
        if (t > 0)
            rc = tg__enc_u8(&b->specs, TG__CODEC_VERSION);
        if (rc == 0)
            rc = tg__plan_encode_task(p, t, &b->specs);
        if (p->is_target[t])
            b->targets[b->n_targets++] = t;
    }
    if (rc == 0) {
        b->ho[nt] = b->specs.len;
        b->po[nt] = b->specs.n_pieces;
        rc = list_literals(p, b);
    }
    return rc ? rc : pack_literals(p, b);
}

/* The C_SUBMIT message of a built submission (its arrays stay b's). */
static int submit_msg(const tg__plan *p, submission *b, uint64_t tag,
                      tg__enc *m)
{
    uint32_t nt = p->n_tasks;
    uint64_t counts[7] = {tag,
                          nt,
                          p->n_literals,
                          b->n_targets,
                          p->deps_off[nt],
                          b->n_lit_refs,
                          b->specs.n_pieces};
    int rc = tg__enc_init(m, 0);
    rc = rc ? rc : tg__enc_u8(m, TG__OP_C_SUBMIT);
    for (int i = 0; i < 7 && rc == 0; i++)
        rc = tg__enc_u64(m, counts[i]);
    struct {
        const void *p;
        size_t len;
    } frames[] = {
        {b->specs.head, b->specs.len},
        {b->ho, ((size_t)nt + 1) * 8},
        {b->po, ((size_t)nt + 1) * 8},
        {p->deps_off, ((size_t)nt + 1) * 4},
        {p->deps, (size_t)p->deps_off[nt] * 4},
        {b->lit_off, ((size_t)nt + 1) * 4},
        {b->lit_idx, b->n_lit_refs * 4},
        {b->targets, b->n_targets * 4},
        {b->lit_at, ((size_t)p->n_literals + 1) * 8},
        {b->lits, b->lits_len},
    };
    for (size_t i = 0; i < sizeof frames / sizeof *frames && rc == 0; i++)
        rc = tg__enc_piece(m, frames[i].p, frames[i].len);
    for (size_t i = 0; i < b->specs.n_pieces && rc == 0; i++)
        rc = tg__enc_piece(m, b->specs.pieces[i].data, b->specs.pieces[i].len);
    return rc;
}

/* ---- waiting for the outcome ---------------------------------------- */

/* Takes an S_RESULTS message: the next results, in target order, into
 * run->results; *got counts those taken.  0, TG_ETASK (a result this
 * process cannot decode) or TG_EPROTO. */
static int take_results(tg__dec *d, const submission *b, tg__run *run,
                        size_t *got)
{
    uint64_t first, n;
    int rc = tg__dec_u64(d, &first);
    rc = rc ? rc : tg__dec_u64(d, &n);
    if (rc)
        return rc;
    if (first != *got || n > b->n_targets - first)
        return tg__seterr(TG_EPROTO, "results %llu+%llu out of order",
                          (unsigned long long)first, (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        void *blob = NULL;
        size_t len = 0;
        if ((rc = tg__dec_piece(d, &blob, &len)))
            return rc;
        tg_value *v = tg__unflatten_value(blob, len);
        tg__free(blob);
        run->results[b->targets[(*got)++]] = v;
        if (tg_is_error(v)) { /* a result this process cannot decode */
            tg__run_fail(run, tg_incref(v));
            return TG_ETASK;
        }
    }
    return 0;
}

/* Reads S_DONE: how the graph ended, all got results having come.  0,
 * TG_ETASK (its error into run), TG_ECANCELED or TG_EPROTO. */
static int take_done(tg__dec *d, const submission *b, tg__run *run, size_t got)
{
    uint8_t outcome;
    int rc = tg__dec_u8(d, &outcome);
    if (rc)
        return rc;
    if (outcome == TG__DONE_CANCELLED)
        return TG_ECANCELED;
    if (outcome == TG__DONE_ERROR) {
        void *blob = NULL;
        size_t len = 0;
        if ((rc = tg__dec_piece(d, &blob, &len)))
            return rc;
        tg_value *err = tg__unflatten_value(blob, len);
        tg__free(blob);
        tg__run_fail(run, err);
        return TG_ETASK;
    }
    uint64_t n;
    if ((rc = tg__dec_u64(d, &n)))
        return rc;
    if (outcome != TG__DONE_OK || n != b->n_targets || got != n)
        return tg__seterr(TG_EPROTO,
                          "S_DONE after %zu of %llu results for %zu "
                          "targets",
                          got, (unsigned long long)n, b->n_targets);
    return 0;
}

/* Waits for S_DONE of tag, taking S_RESULTS on the way; a stop request
 * sends C_CANCEL once.  On failure the results taken are released. */
static int wait_done(dist *d, cconn *c, uint64_t tag, const submission *b,
                     tg__run *run)
{
    bool cancelled = false;
    uint64_t give_up = 0;
    size_t got = 0;
    int rc;
    for (;;) {
        tg__msg m;
        rc = read_msg(c, &d->limits, &m, cancelled ? NULL : run);
        if (rc == TG_ECANCELED && !cancelled) {
            tg__enc e;
            rc = tg__enc_init(&e, 0);
            rc = rc ? rc : tg__enc_u8(&e, TG__OP_C_CANCEL);
            rc = rc ? rc : tg__enc_u64(&e, tag);
            rc = rc ? rc : send_msg(c->fd, &e);
            cancelled = true;
            give_up = tg_now_ns() + (uint64_t)CANCEL_WAIT_MS * 1000000u;
            if (rc)
                break;
            continue;
        }
        if (rc)
            break;
        tg__dec dec;
        uint8_t op = 0;
        uint64_t got_tag = 0;
        bool done = false;
        rc = tg__msg_decoder(&m, &dec);
        rc = rc ? rc : tg__dec_u8(&dec, &op);
        if (rc == 0 && (op == TG__OP_S_DONE || op == TG__OP_S_RESULTS)
            && (rc = tg__dec_u64(&dec, &got_tag)) == 0 && got_tag == tag) {
            if (op == TG__OP_S_RESULTS) {
                rc = take_results(&dec, b, run, &got);
            } else {
                done = true;
                rc = take_done(&dec, b, run, got);
                if (rc == 0 && cancelled)
                    rc = TG_ECANCELED; /* finished anyway: cancelled */
            }
        }
        tg__dec_close(&dec);
        tg__msg_free(&m);
        if (rc || done)
            break;
        if (cancelled && tg_now_ns() > give_up) {
            rc = TG_ECANCELED;
            break;
        }
    }
    if (rc)
        for (size_t i = 0; i < got; i++)
            tg_decref(run->results[b->targets[i]]);
    return rc;
}

static int dist_run(tg_scheduler *s, tg__run *run)
{
    dist *d = (dist *)s;
    const tg__plan *p = run->plan;
    if (p->n_tasks == 0)
        return 0;
    submission b = {0};
    int rc = build(p, &b);
    cconn *c = rc ? NULL : take_conn(d);
    if (!rc && !c)
        rc = tg__last_code(TG_EIO);
    tg__enc m = {0};
    uint64_t tag = c ? ++c->next_tag : 0;
    if (rc == 0)
        rc = submit_msg(p, &b, tag, &m);
    if (rc == 0)
        rc = send_msg(c->fd, &m);
    else
        tg__enc_close(&m);
    if (rc == 0)
        rc = wait_done(d, c, tag, &b, run);
    if (c) /* a connection that saw an error is not trusted again */
        give_back(d, c, rc == 0 || rc == TG_ETASK);
    submission_close(&b);
    return rc;
}

static void dist_free(tg_scheduler *s)
{
    dist *d = (dist *)s;
    while (d->idle) {
        cconn *c = d->idle;
        d->idle = c->next;
        close(c->fd);
        tg__free(c);
    }
    pthread_mutex_destroy(&d->lock);
    tg__free(d);
}

static const tg__scheduler_vt dist_vt = {"distributed", true, dist_run,
                                         dist_free};

tg_scheduler *tg_scheduler_distributed(const char *address)
{
    if (!address && !(address = getenv("TG_SCHEDULER_FILE")))
        return tg__seterr_null(TG_EINVAL, "no address, and TG_SCHEDULER_FILE "
                                          "is not set");
    dist *d = tg__calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->base.vt = &dist_vt;
    d->limits = tg__limits_of(NULL);
    pthread_mutex_init(&d->lock, NULL);
    if (tg__resolve_address(address, d->address, sizeof d->address, d->token)
        != 0) {
        dist_free(&d->base);
        return NULL;
    }
    cconn *c = open_conn(d); /* fail now if the cluster is not there */
    if (!c) {
        dist_free(&d->base);
        return NULL;
    }
    give_back(d, c, true);
    return &d->base;
}

/* A connection of its own to the scheduler at address, for one request
 * (d is filled in), or NULL with tg_last_error() set. */
static cconn *open_one(const char *address, dist *d)
{
    *d = (dist){.limits = tg__limits_of(NULL)};
    if (!address) {
        tg__seterr(TG_EINVAL, "no address");
        return NULL;
    }
    if (tg__resolve_address(address, d->address, sizeof d->address, d->token))
        return NULL;
    return open_conn(d);
}

int tg__cluster_info(const char *address, uint64_t *n_workers,
                     uint64_t *n_threads)
{
    dist d;
    cconn *c = open_one(address, &d);
    if (!c)
        return tg__last_code(TG_EIO);
    tg__enc e;
    tg__msg m = {0};
    tg__dec dec;
    uint8_t op = 0;
    int rc = tg__enc_init(&e, 0);
    rc = rc ? rc : tg__enc_u8(&e, TG__OP_C_INFO);
    rc = rc ? rc : send_msg(c->fd, &e);
    rc = rc ? rc : read_msg(c, &d.limits, &m, NULL);
    if (rc == 0) {
        rc = tg__msg_decoder(&m, &dec);
        rc = rc ? rc : tg__dec_u8(&dec, &op);
        if (rc == 0 && op != TG__OP_S_INFO)
            rc = tg__seterr(TG_EPROTO, "no S_INFO from the scheduler");
        rc = rc ? rc : tg__dec_u64(&dec, n_workers);
        rc = rc ? rc : tg__dec_u64(&dec, n_threads);
        tg__dec_close(&dec);
        tg__msg_free(&m);
    }
    close(c->fd);
    tg__free(c);
    return rc;
}

int tg_shutdown_scheduler(const char *address)
{
    dist d;
    cconn *c = open_one(address, &d);
    if (!c)
        return tg__last_code(TG_EIO);
    tg__enc e;
    int rc = tg__enc_init(&e, 0);
    rc = rc ? rc : tg__enc_u8(&e, TG__OP_C_SHUTDOWN);
    rc = rc ? rc : send_msg(c->fd, &e);
    /* the scheduler closes every connection as it stops: wait for that */
    uint64_t give_up = tg_now_ns() + (uint64_t)SHUTDOWN_WAIT_MS * 1000000u;
    while (rc == 0) {
        char buf[256];
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k == 0
            || (k < 0 && errno != EINTR && errno != EAGAIN
                && errno != EWOULDBLOCK))
            break; /* closed (or reset): it is stopping */
        if (k > 0 || errno == EINTR)
            continue;
        if (tg_now_ns() > give_up)
            rc = tg__seterr(TG_EIO,
                            "the scheduler at %s did not stop "
                            "within %d ms",
                            d.address, SHUTDOWN_WAIT_MS);
        else if (wait_fd(c->fd, false, POLL_MS) < 0)
            rc = tg__seterr(TG_EIO, "poll: %s", strerror(errno));
    }
    close(c->fd);
    tg__free(c);
    return rc;
}

int tg_wait_for_workers(const char *address, int n, uint64_t timeout_ms)
{
    if (!address && !(address = getenv("TG_SCHEDULER_FILE")))
        return tg__seterr(TG_EINVAL, "no address, and TG_SCHEDULER_FILE is "
                                     "not set");
    if (n < 0)
        return tg__seterr(TG_EINVAL, "%d workers", n);
    uint64_t give_up = tg_now_ns() + timeout_ms * 1000000u;
    struct timespec nap = {0, 20 * 1000000L};
    for (;;) {
        uint64_t workers = 0, threads = 0;
        int rc = tg__cluster_info(address, &workers, &threads);
        if (rc)
            return rc;
        if (workers >= (uint64_t)n)
            return 0;
        if (tg_now_ns() > give_up)
            return tg__seterr(TG_EIO,
                              "%llu of %d workers joined within %llu "
                              "ms",
                              (unsigned long long)workers, n,
                              (unsigned long long)timeout_ms);
        nanosleep(&nap, NULL);
    }
}
