/* schedulers/distributed/dist_internal.h - the cluster: wire, processes,
 * state.
 *
 * Three kinds of process (taskgraph/distributed.h).  The scheduler is one
 * libuv loop thread owning all cluster state: per submitted graph, each
 * task's state (waiting, queued, processing on a worker, in memory on a
 * worker with its size, released, erred); per worker, its threads and
 * tasks in flight.  A worker is a libuv loop thread (connections, the
 * store of results, fetching inputs from peers) plus N task threads that
 * only run tasks: the loop hands them a task whose inputs are all here
 * and takes back its result through a uv_async.  A client blocks in the
 * calling thread on a plain socket: no loop of its own.
 *
 * Flow of one graph.  The client compiles the plan and sends C_SUBMIT:
 * every task's spec (graph/plan_codec.c: calls by registered name,
 * arguments, which tasks and literals its inputs are), the task-level
 * dependencies, the targets and the literals, each large part a frame.
 * The scheduler never decodes a spec or a value: it slices bytes.  A
 * task whose dependencies are all in memory goes to the worker holding
 * most of their bytes if it has room, else to the queue; a worker with
 * room (fewer tasks in flight than keep its threads busy for about
 * 250 us at the pace its tasks ran, between 2 and worker_queue per
 * thread; run times come with W_DONE) takes queued
 * tasks in priority order (submission, then static order), so root tasks
 * are handed out only as threads free up.  S_RUN carries the spec, the
 * literals this worker has not had yet, and where each remote input
 * lives; the worker fetches remote inputs from their holders (P_GET /
 * P_DATA, worker to worker), runs the task, keeps the result and reports
 * W_DONE with its size, or its error; a target's result travels with
 * W_DONE, encoded, for the scheduler to relay to the client: once the
 * graph is done, S_RESULTS messages carry them (a bounded number each),
 * then S_DONE says how it ended.
 * A result is released (S_RELEASE) once every dependent has run and it
 * is no target; a graph is forgotten (S_FORGET) once done, failed or
 * cancelled.
 *
 * Wire.  Every connection opens with the handshake (HMAC-SHA256 over the
 * shared token, both ways; nothing else is read before it succeeds).
 * Then each message is:
 *
 *     u32 head_len  u32 n_frames  u64 frame_len x n_frames  head  frames
 *
 * little-endian, where head and frames are a value-codec encoding
 * (runtime/codec_internal.h): the head is the codec's head (version byte,
 * then the op and its fields), the frames its pieces, read straight into
 * blocks of their own so that large values are never copied again.  The
 * limits (header size, frame count, frame size) are checked against the
 * prefix before anything is allocated; a message that breaks them, or
 * does not decode, closes its connection with a logged reason, and
 * nothing else.  Messages to one peer queued during a loop iteration go
 * out in one write.
 */
#ifndef TG_SCHEDULERS_DISTRIBUTED_DIST_INTERNAL_H
#define TG_SCHEDULERS_DISTRIBUTED_DIST_INTERNAL_H

#include <pthread.h>
#include <uv.h>

#include "graph/plan_internal.h"
#include "runtime/alloc_internal.h"
#include "taskgraph/distributed.h"

/* A P_DATA entry for a result that is here but cannot be sent. */
#define TG__GET_REFUSED 2

/* Message ops: the first field of every head. */
enum {
    TG__OP_W_HELLO = 1,    /* worker: name, threads, peer address */
    TG__OP_C_HELLO = 2,    /* client: (nothing) */
    TG__OP_S_WELCOME = 3,  /* scheduler: id of the worker, or 0 */
    TG__OP_C_SUBMIT = 4,   /* client: a graph */
    TG__OP_C_CANCEL = 5,   /* client: tag */
    TG__OP_S_DONE = 6,     /* scheduler to client: tag, outcome */
    TG__OP_S_RUN = 7,      /* scheduler to worker: tasks to run */
    TG__OP_W_DONE = 8,     /* worker: tasks finished */
    TG__OP_S_RELEASE = 9,  /* scheduler to worker: results to drop */
    TG__OP_S_FORGET = 10,  /* scheduler to worker: a graph is over */
    TG__OP_P_GET = 11,     /* worker to worker: results wanted */
    TG__OP_P_DATA = 12,    /* worker to worker: the results (found 1: the
                              value; 0: not here; TG__GET_REFUSED: why
                              it cannot be sent) */
    TG__OP_C_INFO = 13,    /* client: how many workers? */
    TG__OP_S_INFO = 14,    /* scheduler: workers and threads */
    TG__OP_S_RESULTS = 15, /* scheduler to client: tag, first, results */
    TG__OP_C_SHUTDOWN = 16 /* client: stop the scheduler (and so the
                              workers) */
};

/* Results per S_RESULTS message: a graph's targets go out in as many as
 * needed, so that no message nears a peer's frame or header limit. */
#define TG__RESULTS_PER_MSG 4096

/* S_DONE outcomes. */
enum { TG__DONE_OK = 0, TG__DONE_ERROR = 1, TG__DONE_CANCELLED = 2 };

/* W_DONE statuses and S_RUN flags. */
enum {
    TG__RUN_TARGET = 1u << 0, /* send the result back with W_DONE */
    TG__RUN_AWAIT = 1u << 1   /* sent ahead: an input that is neither here
                                 nor named remote is being computed here;
                                 wait for it */
};

#define TG__TOKEN_BYTES 32 /* random token: 64 hex digits in files */
#define TG__NONCE_BYTES 32
#define TG__MAC_BYTES 32
#define TG__HS_MAGIC "TGH1"
/* Handshake: the server sends magic + nonce; the client answers magic +
 * its nonce + its MAC; the server answers its MAC. */
#define TG__HS_HELLO (4 + TG__NONCE_BYTES)
#define TG__HS_REPLY (4 + TG__NONCE_BYTES + TG__MAC_BYTES)
#define TG__HS_FINISH TG__MAC_BYTES
#define TG__HS_TIMEOUT_MS 10000

#define TG__PREFIX_BYTES 8 /* u32 head_len, u32 n_frames */

typedef struct tg__limits {
    size_t max_header;
    size_t max_frames;
    size_t max_frame;
} tg__limits;

/* The limits of opts, defaults filled in. */
tg__limits tg__limits_of(const tg_server_opts *opts);
/* True when a batch being built should go now rather than grow: its head
 * or its frame count is a quarter of what a peer with limits l reads (at
 * most 256 KiB of head), so that no batch, however much is ready at
 * once, breaks the receiver's limits. */
bool tg__batch_full(const tg__limits *l, const tg__enc *e);

/* ---- wire.c: bytes, tokens, handshakes, addresses, files ---------------- */

/* The MAC of a handshake message: HMAC-SHA256 over the token of role
 * ("client" or "server") and the two nonces, in the order given. */
void tg__hs_mac(const uint8_t token[TG__TOKEN_BYTES], const char *role,
                const uint8_t *nonce_a, const uint8_t *nonce_b,
                uint8_t mac[TG__MAC_BYTES]);
/* Constant-time comparison of two MACs. */
bool tg__mac_equal(const uint8_t *a, const uint8_t *b);
/* Fills buf with n cryptographically random bytes.  0 or TG_EIO. */
int tg__random(uint8_t *buf, size_t n);

/* Parses "tcp://host:port" (or "host:port").  0 or TG_EINVAL. */
int tg__parse_address(const char *addr, char *host, size_t host_len, int *port);
/* Parses a token in hex (64 digits).  0 or TG_EINVAL. */
int tg__parse_token(const char *hex, uint8_t token[TG__TOKEN_BYTES]);
/* Reads a scheduler file: its address (tcp://host:port) and token.  0, or
 * TG_ENOENT / TG_EFORMAT with tg_last_error() set. */
int tg__read_scheduler_file(const char *path, char *address, size_t len,
                            uint8_t token[TG__TOKEN_BYTES]);
/* Writes a scheduler file, mode 0600, atomically (a temporary file
 * renamed).  0 or TG_EIO. */
int tg__write_scheduler_file(const char *path, const char *address,
                             const uint8_t token[TG__TOKEN_BYTES]);
/* Reads a token file (hex, surrounding blanks ignored).  0 or a code. */
int tg__read_token_file(const char *path, uint8_t token[TG__TOKEN_BYTES]);
/* Resolves an address argument - a scheduler file path, or tcp:// with
 * TG_TOKEN - into address and token.  0 or a code with tg_last_error(). */
int tg__resolve_address(const char *arg, char *address, size_t len,
                        uint8_t token[TG__TOKEN_BYTES]);

/* The transport prefix of an encoded message into buf (TG__PREFIX_BYTES
 * + 8 per piece). */
void tg__put_prefix(uint8_t *buf, const tg__enc *e);

/* A message as received: the head and each frame in blocks of their own
 * (tg__malloc), owned by whoever holds the struct. */
typedef struct tg__msg {
    uint8_t *head;
    size_t head_len;
    void **frames;
    size_t *frame_lens;
    size_t n_frames;
} tg__msg;

void tg__msg_free(tg__msg *m);
/* A decoder over m; the frames pass to it (m keeps only the head, which
 * must outlive the decoder).  0 or a code. */
int tg__msg_decoder(tg__msg *m, tg__dec *d);

/* ---- conn.c: connections on a libuv loop ----------------------------------
 */

typedef struct tg__conn tg__conn;
typedef struct tg__node tg__node;

/* What a node (scheduler or worker process) does with its connections.
 * on_msg takes ownership of m; on_ready runs once the handshake
 * succeeded; on_close when a connection that was ready, or that this
 * node dialled, goes away (c is freed after it returns); on_stop when
 * the node starts closing (a signal, tg_server_stop); before_flush at
 * the end of each loop iteration, before queued output is written (to
 * turn what the iteration gathered into messages). */
typedef struct tg__node_ops {
    void (*on_ready)(tg__conn *c);
    void (*on_msg)(tg__conn *c, tg__msg *m);
    void (*on_close)(tg__conn *c);
    void (*on_stop)(tg__node *n);
    void (*before_flush)(tg__node *n);
    /* After the idle trim (may be NULL): memory only other threads can
     * give back. */
    void (*on_trim)(tg__node *n);
} tg__node_ops;

/* One process's loop, listener, token and connections.  Loop thread. */
struct tg__node {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_check_t flusher; /* sends what each loop iteration queued */
    uv_signal_t sigint, sigterm;
    uv_async_t stop; /* tg_server_stop */
    /* Once a second: after a second without messages that followed
     * some work, memory held free (taskgraph's large-block cache and
     * malloc's) goes back to the system, so an idle process is small
     * again. */
    uv_timer_t trimmer;
    bool active;  /* a message arrived since the last tick */
    bool trimmed; /* nothing arrived since the last trim */
    const tg__node_ops *ops;
    void *ud; /* the scheduler or worker state */
    uint8_t token[TG__TOKEN_BYTES];
    tg__limits limits;
    tg__conn *conns;   /* every open connection */
    tg__conn *dirty;   /* connections with queued output */
    char address[128]; /* where it listens: tcp://host:port */
    char name[64];     /* in log lines */
    bool quiet;
    bool stopping;
};

/* Sets the node up on loop: limits, signals, the flusher; name prefixes
 * its log lines.  0 or a code. */
int tg__node_init(tg__node *n, uv_loop_t *loop, const tg__node_ops *ops,
                  void *ud, const tg_server_opts *opts, const char *name);
/* What the end of a loop iteration does, now: before_flush, then every
 * connection's queued output is written (for callbacks outside the
 * read path, such as timers). */
void tg__node_flush(tg__node *n);
/* Listens on host:port (port 0: any); sets n->address.  0 or a code. */
int tg__node_listen(tg__node *n, const char *host, int port);
/* Connects to address as the answering side of the handshake; on_ready
 * runs when it succeeded, on_close when it failed.  The connection, or
 * NULL with tg_last_error() set. */
tg__conn *tg__node_connect(tg__node *n, const char *address, void *ud);
/* Closes every connection and handle so that uv_run returns. */
void tg__node_close(tg__node *n);
/* Logs a line on stderr (unless quiet), prefixed with the node's name. */
void tg__node_log(const tg__node *n, const char *fmt, ...) TG_PRINTF(2, 3);

/* A direct way to a connection's socket (tg__conn_set_lane). */
typedef struct tg__lane {
    pthread_mutex_t lock;
    bool open; /* guarded by lock */
    int fd;    /* guarded by lock; valid while open */
    /* Whole messages a thread put in the lane to write with its next
     * ones (guarded by lock; only while open): the loop writes them
     * before anything of its own when it closes the lane. */
    uint8_t *held;
    size_t held_len, held_cap;
    uint64_t held_since; /* tg_now_ns() of the first */
} tg__lane;

struct tg__conn {
    uv_tcp_t tcp; /* first; its data points back here */
    tg__node *node;
    void *ud;       /* the peer's record (worker, client, peer) */
    tg__conn *next; /* in node->conns */
    tg__conn *next_dirty;
    bool is_dirty;
    char peer[64]; /* host:port of the other end, for logs */
    /* handshake */
    uint8_t state; /* see conn.c */
    bool dialled;  /* we connected: we answer the challenge */
    uint8_t nonce[TG__NONCE_BYTES];
    uint8_t peer_nonce[TG__NONCE_BYTES];
    uv_timer_t hs_timer;
    /* reading: the part being read goes to dest (need bytes, have) */
    uint8_t small[TG__HS_REPLY]; /* handshake messages, prefixes */
    uint8_t *stage;              /* small reads land here first */
    uint8_t *lens;               /* the frame lengths being read */
    uint8_t *dest;
    size_t need, have;
    int part;
    size_t frame;
    tg__msg msg;
    /* writing: buffers queued this iteration and what to release */
    uv_buf_t *out;
    size_t n_out, cap_out;
    struct tg__release *rel;
    size_t n_rel, cap_rel;
    bool closing;
    tg__lane *lane; /* NULL, or see tg__conn_set_lane */
    bool lane_held; /* tg__conn_lane */
    bool lost_held; /* no memory to queue what the lane held */
};

/* Lets threads other than the loop write whole messages to c's socket
 * while it is idle: the lane is open (under its lock) exactly when c is
 * ready and nothing of the loop's is queued or being written on it, so
 * bytes never interleave.  A thread writes only under the lock with the
 * lane open, and closes the lane when it leaves part of a message
 * unwritten (for the loop to send first, with tg__conn_queue_bytes).
 * Loop thread. */
void tg__conn_set_lane(tg__conn *c, tg__lane *lane);
/* hold: closes c's lane until released (the loop has output for c in
 * the making); !hold: releases it, open again once c is idle.  Closing
 * it queues the messages held in it first. */
void tg__conn_lane(tg__conn *c, bool hold);
/* Queues len bytes of buf (taken; freed once written) on c. */
int tg__conn_queue_bytes(tg__conn *c, void *buf, size_t len);

/* Queues the message e on c (its head and pieces are taken: e is left
 * empty, to close or reuse); the pieces must stay valid until
 * release(arg) runs after the write (release may be NULL; it runs even
 * when sending fails).  It goes out when the loop iteration ends.  0 or
 * a negative code (the connection is then closed). */
int tg__conn_send(tg__conn *c, tg__enc *e, void (*release)(void *), void *arg);

/* What a message being built points into (graphs, blobs, values): each
 * item goes to release once the message is written.  All-zero but for
 * release is empty. */
typedef struct tg__kept {
    void **items;
    size_t n, cap;
    void (*release)(void *item);
} tg__kept;
/* Makes room for one more item: 0, or TG_ENOMEM. */
int tg__kept_room(tg__kept *k);
/* Adds item: 0, or TG_ENOMEM (item not added; never after
 * tg__kept_room). */
int tg__kept_add(tg__kept *k, void *item);
/* Releases every item now; k is empty again. */
void tg__kept_release(tg__kept *k);
/* tg__conn_send of e on c (NULL: nothing is sent) that releases k's
 * items once written, or now when it cannot be sent; k is empty again.
 * 0 or a negative code. */
int tg__conn_send_kept(tg__conn *c, tg__enc *e, tg__kept *k);
/* Closes c (once; on_close follows, for a ready or dialled connection);
 * why, if not NULL, is logged. */
void tg__conn_close(tg__conn *c, const char *why);

/* ---- client.c
 * ----------------------------------------------------------------- */

/* How many workers (and threads) the scheduler at address has: one
 * connection, C_INFO, S_INFO.  0 or a code with tg_last_error(). */
int tg__cluster_info(const char *address, uint64_t *n_workers,
                     uint64_t *n_threads);

/* ---- value sizes ----------------------------------------------------------
 */

/* The bytes v takes on the wire (head and pieces), without copying
 * anything.  0 when it cannot be encoded. */
uint64_t tg__wire_size(const tg_value *v);

#endif /* TG_SCHEDULERS_DISTRIBUTED_DIST_INTERNAL_H */
