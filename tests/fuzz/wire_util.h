/* tests/fuzz/wire_util.h - blocking sockets that speak the cluster's
 * handshake, for fuzz_wire.c and record_wire.c.  Every read and write
 * has a timeout (WU_TIMEOUT_S): a server that stops answering shows as
 * an error, never as a hang. */
#ifndef TG_TESTS_FUZZ_WIRE_UTIL_H
#define TG_TESTS_FUZZ_WIRE_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "schedulers/distributed/dist_internal.h"

#define WU_TIMEOUT_S 10

/* The fixed token of the fuzzed processes, and its hex for files. */
static const uint8_t wu_token[TG__TOKEN_BYTES] = {
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static inline int wu_write_token(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int i = 0; i < TG__TOKEN_BYTES; i++)
        fprintf(f, "%02x", wu_token[i]);
    fputc('\n', f);
    return fclose(f) == 0 ? 0 : -1;
}

/* A private directory named from tmpl ("/tmp/name-XXXXXX", replaced in
 * dir[64]) holding the token file (its path in token[128]) and the
 * place of a scheduler file (sched[128]): 0, or -1. */
static inline int wu_make_dir(const char *tmpl, char *dir, char *token,
                              char *sched)
{
    snprintf(dir, 64, "%s", tmpl);
    if (!mkdtemp(dir))
        return -1;
    snprintf(token, 128, "%s/token", dir);
    snprintf(sched, 128, "%s/scheduler", dir);
    return wu_write_token(token);
}

static inline void wu_timeouts(int fd)
{
    struct timeval tv = {WU_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* All n bytes, or -1 (closed, failed or timed out). */
static inline int wu_read(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

static inline int wu_write(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

/* Reads until the other side closes: 0, or -1 when it did not within the
 * timeout. */
static inline int wu_drain(int fd)
{
    uint8_t buf[4096];
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k == 0)
            return 0;
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno == ECONNRESET ? 0 : -1;
    }
}

/* A socket listening on 127.0.0.1, any port; its address into addr. */
static inline int wu_listen(char *addr, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0
        || listen(fd, 16) != 0
        || getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(addr, len, "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
    return fd;
}

/* Accepts one connection within the timeout, or -1. */
static inline int wu_accept(int lfd)
{
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, WU_TIMEOUT_S * 1000) != 1)
        return -1;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        wu_timeouts(fd);
    return fd;
}

/* Connects to "tcp://127.0.0.1:port", or -1. */
static inline int wu_connect(const char *addr)
{
    char host[64];
    int port;
    if (tg__parse_address(addr, host, sizeof host, &port) != 0)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1
        || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    wu_timeouts(fd);
    return fd;
}

/* The dialling side of the handshake (as a client or worker does). */
static inline int wu_answer(int fd)
{
    uint8_t hello[TG__HS_HELLO], reply[TG__HS_REPLY], fin[TG__HS_FINISH];
    uint8_t mac[TG__MAC_BYTES];
    if (wu_read(fd, hello, sizeof hello) != 0
        || memcmp(hello, TG__HS_MAGIC, 4) != 0)
        return -1;
    memcpy(reply, TG__HS_MAGIC, 4);
    memset(reply + 4, 0x5a, TG__NONCE_BYTES);
    tg__hs_mac(wu_token, "client", hello + 4, reply + 4,
               reply + 4 + TG__NONCE_BYTES);
    if (wu_write(fd, reply, sizeof reply) != 0
        || wu_read(fd, fin, sizeof fin) != 0)
        return -1;
    tg__hs_mac(wu_token, "server", reply + 4, hello + 4, mac);
    return tg__mac_equal(mac, fin) ? 0 : -1;
}

/* The listening side of the handshake (as a scheduler does). */
static inline int wu_challenge(int fd)
{
    uint8_t hello[TG__HS_HELLO], reply[TG__HS_REPLY], mac[TG__MAC_BYTES];
    memcpy(hello, TG__HS_MAGIC, 4);
    memset(hello + 4, 0xa5, TG__NONCE_BYTES);
    if (wu_write(fd, hello, sizeof hello) != 0
        || wu_read(fd, reply, sizeof reply) != 0
        || memcmp(reply, TG__HS_MAGIC, 4) != 0)
        return -1;
    tg__hs_mac(wu_token, "client", hello + 4, reply + 4, mac);
    if (!tg__mac_equal(mac, reply + 4 + TG__NONCE_BYTES))
        return -1;
    tg__hs_mac(wu_token, "server", reply + 4, hello + 4, mac);
    return wu_write(fd, mac, sizeof mac);
}

static inline uint64_t wu_le(const uint8_t *p, int bytes)
{
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* Reads one message (up to cap bytes of head and frames, concatenated
 * into buf after the prefix); its whole length on the wire into *len.
 * 0 or -1. */
static inline int wu_read_msg(int fd, uint8_t *buf, size_t cap, size_t *len)
{
    if (cap < TG__PREFIX_BYTES || wu_read(fd, buf, TG__PREFIX_BYTES) != 0)
        return -1;
    uint64_t head = wu_le(buf, 4), n = wu_le(buf + 4, 4);
    size_t at = TG__PREFIX_BYTES;
    if (n > 64 || at + 8 * n > cap || wu_read(fd, buf + at, 8 * n) != 0)
        return -1;
    uint64_t body = head;
    for (uint64_t i = 0; i < n; i++)
        body += wu_le(buf + at + 8 * i, 8);
    at += 8 * n;
    if (body > cap - at || wu_read(fd, buf + at, body) != 0)
        return -1;
    *len = at + body;
    return 0;
}

/* Appends the message e (prefix, head, pieces) to a stream in buf;
 * e is closed.  The bytes written, or 0 when they do not fit. */
static inline size_t wu_put_msg(tg__enc *e, uint8_t *buf, size_t cap)
{
    size_t n = TG__PREFIX_BYTES + 8 * e->n_pieces + e->len;
    for (size_t i = 0; i < e->n_pieces; i++)
        n += e->pieces[i].len;
    if (n > cap) {
        tg__enc_close(e);
        return 0;
    }
    tg__put_prefix(buf, e);
    size_t at = TG__PREFIX_BYTES + 8 * e->n_pieces;
    memcpy(buf + at, e->head, e->len);
    at += e->len;
    for (size_t i = 0; i < e->n_pieces; i++) {
        memcpy(buf + at, e->pieces[i].data, e->pieces[i].len);
        at += e->pieces[i].len;
    }
    tg__enc_close(e);
    return n;
}

#endif /* TG_TESTS_FUZZ_WIRE_UTIL_H */
