/* schedulers/distributed/conn.c - authenticated, bounded connections on
 * a libuv loop.
 *
 * A connection reads in parts: the handshake's fixed messages first, then
 * per message the prefix, the frame lengths, the head and each frame,
 * each into a buffer of its own allocated only once the prefix has been
 * checked against the limits.  Small reads land in a staging buffer and
 * are copied into their part; a large remaining frame is read straight
 * into its block.  Output is queued per connection and written once per
 * loop iteration (the check handle), so the small messages produced
 * while handling one batch of input go out as one batch.  Everything
 * here runs on the node's loop thread.
 */
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dist_internal.h"

static void set_lane(tg__conn *c, bool idle);
static int queue_owned(tg__conn *c, void *buf, size_t len);
static void add_dirty(tg__conn *c);

#define STAGE_BYTES 65536
#define DIRECT_MIN 16384 /* frame parts at least this large skip the stage */
#define TRIM_TICK_MS 1000

/* Connection states. */
enum {
    HS_WAIT_HELLO,  /* dialled: waiting for the server's nonce */
    HS_WAIT_REPLY,  /* accepted: waiting for the client's answer */
    HS_WAIT_FINISH, /* dialled: waiting for the server's MAC */
    READY
};

/* Reading parts once READY. */
enum { PART_PREFIX, PART_LENS, PART_HEAD, PART_FRAME };

/* What a finished write releases. */
typedef struct tg__release {
    void (*fn)(void *);
    void *arg;
} tg__release;

typedef struct write_req {
    uv_write_t req;
    tg__release *rel;
    size_t n_rel;
} write_req;

/* The node whose loop runs in this process (tg_server_stop). */
static tg__node *_Atomic running;

void tg__node_log(const tg__node *n, const char *fmt, ...)
{
    if (n->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", n->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
           | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- closing ------------------------------------------------------------- */

static void run_releases(tg__release *rel, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rel[i].fn)
            rel[i].fn(rel[i].arg);
}

static void unlink_conn(tg__conn *c)
{
    tg__node *n = c->node;
    for (tg__conn **p = &n->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    for (tg__conn **p = &n->dirty; *p; p = &(*p)->next_dirty)
        if (*p == c) {
            *p = c->next_dirty;
            break;
        }
}

static void conn_freed(uv_handle_t *h)
{
    tg__conn *c = h->data;
    run_releases(c->rel, c->n_rel); /* queued, never written */
    tg__free(c->rel);
    tg__free(c->out);
    tg__free(c->stage);
    tg__free(c->lens);
    tg__msg_free(&c->msg);
    tg__free(c);
}

static void timer_closed(uv_handle_t *h)
{
    tg__conn *c = h->data;
    uv_close((uv_handle_t *)&c->tcp, conn_freed);
}

void tg__conn_close(tg__conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    set_lane(c, false);
    if (why)
        tg__node_log(c->node, "closing the connection to %s: %s", c->peer, why);
    unlink_conn(c);
    bool was_ready = c->state == READY || c->dialled;
    if (was_ready && c->node->ops->on_close)
        c->node->ops->on_close(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->hs_timer, timer_closed);
}

/* ---- writing --------------------------------------------------------------
 */

static int push_out(tg__conn *c, void *base, size_t len)
{
    if (len == 0)
        return 0;
    if (c->n_out == c->cap_out) {
        size_t cap = c->cap_out ? 2 * c->cap_out : 16;
        uv_buf_t *b = tg__realloc(c->out, cap * sizeof *b);
        if (!b)
            return TG_ENOMEM;
        c->out = b, c->cap_out = cap;
    }
    c->out[c->n_out++] = uv_buf_init(base, (unsigned)len);
    return 0;
}

static int push_rel(tg__conn *c, void (*fn)(void *), void *arg)
{
    if (c->n_rel == c->cap_rel) {
        size_t cap = c->cap_rel ? 2 * c->cap_rel : 16;
        tg__release *r = tg__realloc(c->rel, cap * sizeof *r);
        if (!r)
            return TG_ENOMEM;
        c->rel = r, c->cap_rel = cap;
    }
    c->rel[c->n_rel++] = (tg__release){fn, arg};
    return 0;
}

/* Puts the messages held in c's lane in front of c's output (lane lock
 * held): they were written into the lane before anything now queued.
 * False when there were none. */
static bool take_held(tg__conn *c)
{
    tg__lane *l = c->lane;
    if (!l->held_len)
        return false;
    uint8_t *held = l->held;
    size_t len = l->held_len;
    l->held = NULL, l->held_len = l->held_cap = 0;
    if (c->closing) {
        tg__free(held);
        return false;
    }
    if (queue_owned(c, held, len) != 0) { /* (it freed them or will) */
        c->lost_held = true;
        return false;
    }
    memmove(c->out + 1, c->out, (c->n_out - 1) * sizeof *c->out);
    c->out[0] = uv_buf_init((char *)held, (unsigned)len);
    return true;
}

/* Opens c's lane when c is ready and idle, else closes it, queueing
 * what it held (to be written at the end of the iteration). */
static void set_lane(tg__conn *c, bool idle)
{
    if (!c->lane)
        return;
    pthread_mutex_lock(&c->lane->lock);
    c->lane->open =
        idle && !c->lane_held && c->state == READY && !c->closing
        && c->n_out == 0
        && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0;
    if (c->lane->open && uv_fileno((uv_handle_t *)&c->tcp, &c->lane->fd) != 0)
        c->lane->open = false;
    bool took = !c->lane->open && take_held(c);
    pthread_mutex_unlock(&c->lane->lock);
    if (c->lost_held)
        tg__conn_close(c, "out of memory queueing what a thread wrote");
    else if (took)
        add_dirty(c);
}

void tg__conn_lane(tg__conn *c, bool hold)
{
    c->lane_held = hold;
    set_lane(c, !hold);
}

void tg__conn_set_lane(tg__conn *c, tg__lane *lane)
{
    c->lane = lane;
    set_lane(c, true);
}

/* Puts c on the list of connections the iteration's end writes. */
static void add_dirty(tg__conn *c)
{
    if (c->is_dirty)
        return;
    c->is_dirty = true;
    c->next_dirty = c->node->dirty;
    c->node->dirty = c;
}

/* c has output queued: its lane closes, and the iteration's end writes
 * it. */
static void mark_dirty(tg__conn *c)
{
    set_lane(c, false);
    add_dirty(c);
}

/* Queues len bytes of buf, which the write frees afterwards. */
static int queue_owned(tg__conn *c, void *buf, size_t len)
{
    if (push_rel(c, tg__free, buf) != 0) {
        tg__free(buf);
        return TG_ENOMEM;
    }
    return push_out(c, buf, len);
}

int tg__conn_queue_bytes(tg__conn *c, void *buf, size_t len)
{
    if (c->closing) {
        tg__free(buf);
        return TG_EIO;
    }
    int rc = queue_owned(c, buf, len);
    if (rc) {
        tg__conn_close(c, "out of memory queueing a message");
        return rc;
    }
    mark_dirty(c);
    return 0;
}

int tg__conn_send(tg__conn *c, tg__enc *e, void (*release)(void *), void *arg)
{
    if (c->closing || (release && push_rel(c, release, arg) != 0)) {
        if (release)
            release(arg);
        return c->closing ? TG_EIO : TG_ENOMEM;
    }
    size_t plen = TG__PREFIX_BYTES + 8 * e->n_pieces, hlen = e->len;
    uint8_t *prefix = tg__malloc(plen), *head = e->head;
    int rc = prefix ? 0 : TG_ENOMEM;
    if (rc == 0) {
        tg__put_prefix(prefix, e);
        rc = queue_owned(c, prefix, plen);
    }
    e->head = NULL, e->len = e->cap = 0;
    if (rc == 0)
        rc = queue_owned(c, head, hlen);
    else
        tg__free(head);
    for (size_t i = 0; i < e->n_pieces && rc == 0; i++)
        rc = push_out(c, (void *)e->pieces[i].data, e->pieces[i].len);
    e->n_pieces = 0;
    if (rc) {
        tg__conn_close(c, "out of memory queueing a message");
        return rc;
    }
    mark_dirty(c);
    return 0;
}

int tg__kept_room(tg__kept *k)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        void **items = tg__realloc(k->items, cap * sizeof *items);
        if (!items)
            return TG_ENOMEM;
        k->items = items, k->cap = cap;
    }
    return 0;
}

int tg__kept_add(tg__kept *k, void *item)
{
    if (tg__kept_room(k) != 0)
        return TG_ENOMEM;
    k->items[k->n++] = item;
    return 0;
}

void tg__kept_release(tg__kept *k)
{
    for (size_t i = 0; i < k->n; i++)
        k->release(k->items[i]);
    tg__free(k->items);
    k->items = NULL, k->n = k->cap = 0;
}

static void release_kept(void *arg)
{
    tg__kept_release(arg);
    tg__free(arg);
}

int tg__conn_send_kept(tg__conn *c, tg__enc *e, tg__kept *k)
{
    tg__kept *held = c ? tg__malloc(sizeof *held) : NULL;
    if (!held) {
        tg__kept_release(k);
        return c ? TG_ENOMEM : TG_EIO;
    }
    *held = *k;
    k->items = NULL, k->n = k->cap = 0;
    return tg__conn_send(c, e, release_kept, held);
}

static void written(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    tg__conn *c = req->handle->data;
    run_releases(w->rel, w->n_rel);
    tg__free(w->rel);
    tg__free(w);
    if (status < 0 && status != UV_ECANCELED && !c->closing)
        tg__conn_close(c, uv_strerror(status));
    else if (!c->is_dirty)
        set_lane(c, true);
}

/* Writes what c has queued, as one write: at once when the socket takes
 * it all (no request, no wait for writability), else the rest through a
 * write request. */
static void flush_conn(tg__conn *c)
{
    c->is_dirty = false;
    if (c->closing || c->n_out == 0)
        return;
    int put = uv_try_write((uv_stream_t *)&c->tcp, c->out, (unsigned)c->n_out);
    size_t first = 0;
    for (size_t left = put > 0 ? (size_t)put : 0; left && first < c->n_out;) {
        if (left < c->out[first].len) {
            c->out[first].base += left;
            c->out[first].len -= left;
            break;
        }
        left -= c->out[first++].len;
    }
    if (first == c->n_out) {
        tg__release *rel = c->rel;
        size_t n_rel = c->n_rel;
        c->rel = NULL, c->n_rel = c->cap_rel = 0;
        c->n_out = 0;
        run_releases(rel, n_rel);
        tg__free(rel);
        set_lane(c, true);
        return;
    }
    write_req *w = tg__calloc(1, sizeof *w);
    if (!w) {
        tg__conn_close(c, "out of memory writing");
        return;
    }
    w->rel = c->rel, w->n_rel = c->n_rel;
    c->rel = NULL, c->n_rel = c->cap_rel = 0;
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, c->out + first,
                      (unsigned)(c->n_out - first), written);
    c->n_out = 0;
    if (rc < 0) {
        run_releases(w->rel, w->n_rel);
        tg__free(w->rel);
        tg__free(w);
        tg__conn_close(c, uv_strerror(rc));
    }
}

static void on_check(uv_check_t *h)
{
    tg__node_flush(h->data);
}

void tg__node_flush(tg__node *n)
{
    if (n->ops->before_flush)
        n->ops->before_flush(n);
    while (n->dirty) {
        tg__conn *c = n->dirty;
        n->dirty = c->next_dirty;
        flush_conn(c);
    }
}

/* ---- the handshake ----------------------------------------------------------
 */

/* Wants n bytes of the next part into dest. */
static void want(tg__conn *c, uint8_t *dest, size_t n)
{
    c->dest = dest, c->need = n, c->have = 0;
}

static int send_raw(tg__conn *c, const void *data, size_t len)
{
    uint8_t *buf = tg__malloc(len);
    if (!buf)
        return TG_ENOMEM;
    memcpy(buf, data, len);
    int rc = queue_owned(c, buf, len);
    if (rc == 0)
        mark_dirty(c);
    return rc;
}

static void ready(tg__conn *c)
{
    c->state = READY;
    uv_timer_stop(&c->hs_timer);
    c->part = PART_PREFIX;
    want(c, c->small, TG__PREFIX_BYTES);
    if (c->node->ops->on_ready)
        c->node->ops->on_ready(c);
}

/* A handshake message arrived whole in c->small. */
static void handshake_step(tg__conn *c)
{
    const uint8_t *tok = c->node->token;
    uint8_t mac[TG__MAC_BYTES], msg[TG__HS_REPLY];
    if (c->state != HS_WAIT_FINISH && memcmp(c->small, TG__HS_MAGIC, 4) != 0) {
        tg__conn_close(c, "not a taskgraph peer (bad handshake)");
        return;
    }
    if (c->state == HS_WAIT_HELLO) { /* answer the server's challenge */
        memcpy(c->peer_nonce, c->small + 4, TG__NONCE_BYTES);
        tg__hs_mac(tok, "client", c->peer_nonce, c->nonce, mac);
        memcpy(msg, TG__HS_MAGIC, 4);
        memcpy(msg + 4, c->nonce, TG__NONCE_BYTES);
        memcpy(msg + 4 + TG__NONCE_BYTES, mac, TG__MAC_BYTES);
        c->state = HS_WAIT_FINISH;
        want(c, c->small, TG__HS_FINISH);
        if (send_raw(c, msg, TG__HS_REPLY))
            tg__conn_close(c, "out of memory");
    } else if (c->state == HS_WAIT_REPLY) { /* check the client's answer */
        memcpy(c->peer_nonce, c->small + 4, TG__NONCE_BYTES);
        tg__hs_mac(tok, "client", c->nonce, c->peer_nonce, mac);
        if (!tg__mac_equal(mac, c->small + 4 + TG__NONCE_BYTES)) {
            tg__conn_close(c, "authentication failed (wrong token)");
            return;
        }
        tg__hs_mac(tok, "server", c->peer_nonce, c->nonce, mac);
        if (send_raw(c, mac, TG__MAC_BYTES))
            tg__conn_close(c, "out of memory");
        else
            ready(c);
    } else { /* HS_WAIT_FINISH: check the server knows the token too */
        tg__hs_mac(tok, "server", c->nonce, c->peer_nonce, mac);
        if (!tg__mac_equal(mac, c->small)) {
            tg__conn_close(c, "the server failed authentication");
            return;
        }
        ready(c);
    }
}

static void hs_timeout(uv_timer_t *t)
{
    tg__conn *c = t->data;
    if (c->state != READY)
        tg__conn_close(c, "no handshake in time");
}

/* ---- reading messages --------------------------------------------------- */

static void deliver(tg__conn *c)
{
    tg__msg m = c->msg;
    c->msg = (tg__msg){0};
    c->part = PART_PREFIX;
    want(c, c->small, TG__PREFIX_BYTES);
    c->node->active = true;
    c->node->ops->on_msg(c, &m);
}

/* Starts frame i, skipping empty ones, or delivers the message. */
static void start_frame(tg__conn *c, size_t i)
{
    tg__msg *m = &c->msg;
    while (i < m->n_frames && m->frame_lens[i] == 0)
        i++;
    if (i == m->n_frames) {
        deliver(c);
        return;
    }
    if (!(m->frames[i] = tg__malloc(m->frame_lens[i]))) {
        tg__conn_close(c, "out of memory for a frame");
        return;
    }
    c->part = PART_FRAME;
    c->frame = i;
    want(c, m->frames[i], m->frame_lens[i]);
}

static void start_head(tg__conn *c)
{
    if (!(c->msg.head = tg__malloc(c->msg.head_len))) {
        tg__conn_close(c, "out of memory for a header");
        return;
    }
    c->part = PART_HEAD;
    want(c, c->msg.head, c->msg.head_len);
}

static void on_prefix(tg__conn *c)
{
    const tg__limits *l = &c->node->limits;
    char why[160];
    size_t head_len = get32(c->small), n = get32(c->small + 4);
    if (head_len == 0 || head_len > l->max_header) {
        snprintf(why, sizeof why, "a header of %zu bytes (limit %zu)", head_len,
                 l->max_header);
        tg__conn_close(c, why);
        return;
    }
    if (n > l->max_frames) {
        snprintf(why, sizeof why, "%zu frames in one message (limit %zu)", n,
                 l->max_frames);
        tg__conn_close(c, why);
        return;
    }
    c->msg.head_len = head_len;
    c->msg.n_frames = n;
    if (n == 0) {
        start_head(c);
        return;
    }
    c->msg.frames = tg__calloc(n, sizeof *c->msg.frames);
    c->msg.frame_lens = tg__calloc(n, sizeof *c->msg.frame_lens);
    c->lens = tg__malloc(8 * n);
    if (!c->msg.frames || !c->msg.frame_lens || !c->lens) {
        tg__conn_close(c, "out of memory for a message");
        return;
    }
    c->part = PART_LENS;
    want(c, c->lens, 8 * n);
}

static void on_lens(tg__conn *c)
{
    const tg__limits *l = &c->node->limits;
    for (size_t i = 0; i < c->msg.n_frames; i++) {
        uint64_t len = get64(c->lens + 8 * i);
        if (len > l->max_frame) {
            char why[160];
            snprintf(why, sizeof why, "a frame of %llu bytes (limit %zu)",
                     (unsigned long long)len, l->max_frame);
            tg__conn_close(c, why);
            return;
        }
        c->msg.frame_lens[i] = (size_t)len;
    }
    tg__free(c->lens);
    c->lens = NULL;
    start_head(c);
}

/* The part being read is complete. */
static void part_done(tg__conn *c)
{
    if (c->state != READY) {
        handshake_step(c);
        return;
    }
    switch (c->part) {
    case PART_PREFIX: on_prefix(c); break;
    case PART_LENS: on_lens(c); break;
    case PART_HEAD: start_frame(c, 0); break;
    default: start_frame(c, c->frame + 1); break;
    }
}

/* Bytes from the stage: into the current part, part after part. */
static void consume(tg__conn *c, const uint8_t *data, size_t n)
{
    while (n && !c->closing) {
        size_t k = c->need - c->have < n ? c->need - c->have : n;
        memcpy(c->dest + c->have, data, k);
        c->have += k, data += k, n -= k;
        if (c->have == c->need)
            part_done(c);
    }
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    tg__conn *c = h->data;
    if (c->state == READY && c->part == PART_FRAME
        && c->need - c->have >= DIRECT_MIN) {
        size_t left = c->need - c->have;
        *buf = uv_buf_init((char *)c->dest + c->have,
                           left > (1u << 30) ? 1u << 30 : (unsigned)left);
        return;
    }
    if (!c->stage && !(c->stage = tg__malloc(STAGE_BYTES))) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init((char *)c->stage, STAGE_BYTES);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    tg__conn *c = s->data;
    if (nread < 0) {
        tg__conn_close(c, nread == UV_EOF ? NULL : uv_strerror((int)nread));
        return;
    }
    if (c->closing || nread == 0)
        return;
    if ((uint8_t *)buf->base == c->stage) {
        consume(c, c->stage, (size_t)nread);
    } else { /* straight into the frame */
        c->have += (size_t)nread;
        if (c->have == c->need)
            part_done(c);
    }
}

/* ---- nodes ----------------------------------------------------------------
 */

static tg__conn *conn_new(tg__node *n, void *ud)
{
    tg__conn *c = tg__calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->node = n;
    c->ud = ud;
    uv_tcp_init(n->loop, &c->tcp);
    c->tcp.data = c;
    uv_timer_init(n->loop, &c->hs_timer);
    c->hs_timer.data = c;
    c->next = n->conns;
    n->conns = c;
    return c;
}

/* Starts the handshake on a connection that is up (either side). */
static void start(tg__conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage sa;
    int len = sizeof sa;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
        char ip[64];
        int port = 0;
        if (sa.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        } else {
            uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%.50s:%d", ip, port);
    }
    uv_timer_start(&c->hs_timer, hs_timeout, TG__HS_TIMEOUT_MS, 0);
    if (tg__random(c->nonce, TG__NONCE_BYTES) != 0) {
        tg__conn_close(c, "no random bytes");
        return;
    }
    if (c->dialled) {
        c->state = HS_WAIT_HELLO;
        want(c, c->small, TG__HS_HELLO);
    } else {
        uint8_t hello[TG__HS_HELLO];
        memcpy(hello, TG__HS_MAGIC, 4);
        memcpy(hello + 4, c->nonce, TG__NONCE_BYTES);
        c->state = HS_WAIT_REPLY;
        want(c, c->small, TG__HS_REPLY);
        if (send_raw(c, hello, sizeof hello)) {
            tg__conn_close(c, "out of memory");
            return;
        }
    }
    int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (rc < 0)
        tg__conn_close(c, uv_strerror(rc));
}

static void on_connection(uv_stream_t *server, int status)
{
    tg__node *n = server->data;
    if (status < 0 || n->stopping)
        return;
    tg__conn *c = conn_new(n, NULL);
    if (!c)
        return;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        tg__conn_close(c, NULL);
        return;
    }
    start(c);
}

static void on_connected(uv_connect_t *req, int status)
{
    tg__conn *c = req->data;
    tg__free(req);
    if (status < 0) {
        tg__conn_close(c, uv_strerror(status));
        return;
    }
    start(c);
}

tg__conn *tg__node_connect(tg__node *n, const char *address, void *ud)
{
    char host[256], port_s[16];
    int port;
    if (tg__parse_address(address, host, sizeof host, &port))
        return NULL;
    snprintf(port_s, sizeof port_s, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port_s, &hints, &ai) != 0 || !ai)
        return tg__seterr_null(TG_ENOENT, "cannot resolve '%s'", host);
    tg__conn *c = conn_new(n, ud);
    uv_connect_t *req = c ? tg__malloc(sizeof *req) : NULL;
    if (!req) {
        freeaddrinfo(ai);
        if (c)
            tg__conn_close(c, NULL);
        return NULL;
    }
    c->dialled = true;
    snprintf(c->peer, sizeof c->peer, "%.50s:%d", host, port);
    req->data = c;
    int rc = uv_tcp_connect(req, &c->tcp, ai->ai_addr, on_connected);
    freeaddrinfo(ai);
    if (rc < 0) {
        tg__free(req);
        tg__conn_close(c, NULL);
        return tg__seterr_null(TG_EIO, "cannot connect to %s: %s", address,
                               uv_strerror(rc));
    }
    return c;
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    tg__node_close(s->data);
}

static void on_stop(uv_async_t *a)
{
    tg__node_close(a->data);
}

static void on_trim_tick(uv_timer_t *t)
{
    tg__node *n = t->data;
    if (n->active) {
        n->active = false;
        n->trimmed = false;
    } else if (!n->trimmed) {
        tg_memory_trim(); /* the large-block cache */
        malloc_trim(0);
        if (n->ops->on_trim)
            n->ops->on_trim(n);
        n->trimmed = true;
    }
}

void tg_server_stop(void)
{
    tg__node *n = atomic_load(&running);
    if (n)
        uv_async_send(&n->stop);
}

/* libuv writes to sockets with write(), which raises SIGPIPE once the
 * peer has gone; its default action would end the whole process, every
 * other peer's work with it.  Ignored (unless the program chose its own
 * handling), a peer that goes away is a write error on its connection
 * alone. */
static void ignore_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) != 0 || old.sa_handler != SIG_DFL
        || (old.sa_flags & SA_SIGINFO))
        return;
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}

int tg__node_init(tg__node *n, uv_loop_t *loop, const tg__node_ops *ops,
                  void *ud, const tg_server_opts *opts, const char *name)
{
    ignore_sigpipe();
    *n = (tg__node){.loop = loop, .ops = ops, .ud = ud};
    n->limits = tg__limits_of(opts);
    n->quiet = opts && opts->quiet;
    snprintf(n->name, sizeof n->name, "%s", name);
    uv_tcp_init(loop, &n->listener);
    n->listener.data = n;
    uv_check_init(loop, &n->flusher);
    n->flusher.data = n;
    uv_check_start(&n->flusher, on_check);
    uv_signal_init(loop, &n->sigint);
    uv_signal_init(loop, &n->sigterm);
    n->sigint.data = n->sigterm.data = n;
    uv_signal_start(&n->sigint, on_signal, SIGINT);
    uv_signal_start(&n->sigterm, on_signal, SIGTERM);
    uv_async_init(loop, &n->stop, on_stop);
    n->stop.data = n;
    uv_timer_init(loop, &n->trimmer);
    n->trimmer.data = n;
    n->trimmed = true;
    uv_timer_start(&n->trimmer, on_trim_tick, TRIM_TICK_MS, TRIM_TICK_MS);
    uv_unref((uv_handle_t *)&n->trimmer);
    atomic_store(&running, n);
    return 0;
}

int tg__node_listen(tg__node *n, const char *host, int port)
{
    struct sockaddr_storage sa;
    int rc = strchr(host, ':')
                 ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa)
                 : uv_ip4_addr(host, port, (struct sockaddr_in *)&sa);
    if (rc == 0)
        rc = uv_tcp_bind(&n->listener, (struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&n->listener, 128, on_connection);
    if (rc < 0)
        return tg__seterr(TG_EIO, "cannot listen on %s:%d: %s", host, port,
                          uv_strerror(rc));
    int len = sizeof sa;
    uv_tcp_getsockname(&n->listener, (struct sockaddr *)&sa, &len);
    int bound = sa.ss_family == AF_INET
                    ? ntohs(((struct sockaddr_in *)&sa)->sin_port)
                    : ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    /* bound to every interface: others reach it by this host's name */
    char name[200];
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
        if (gethostname(name, sizeof name) != 0)
            return tg__seterr(TG_EIO,
                              "bound to %s, but this host has no "
                              "name to give peers",
                              host);
        name[sizeof name - 1] = 0;
        host = name;
    }
    snprintf(n->address, sizeof n->address,
             strchr(host, ':') ? "tcp://[%s]:%d" : "tcp://%s:%d", host, bound);
    return 0;
}

void tg__node_close(tg__node *n)
{
    if (n->stopping)
        return;
    n->stopping = true;
    while (n->conns)
        tg__conn_close(n->conns, NULL);
    uv_close((uv_handle_t *)&n->listener, NULL);
    uv_close((uv_handle_t *)&n->flusher, NULL);
    uv_close((uv_handle_t *)&n->sigint, NULL);
    uv_close((uv_handle_t *)&n->sigterm, NULL);
    uv_close((uv_handle_t *)&n->stop, NULL);
    uv_close((uv_handle_t *)&n->trimmer, NULL);
    tg__node *self = n;
    atomic_compare_exchange_strong(&running, &self, NULL);
    if (n->ops->on_stop)
        n->ops->on_stop(n);
}
