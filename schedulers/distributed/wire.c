/* schedulers/distributed/wire.c - bytes on the wire that need no loop:
 * handshake MACs, random tokens, addresses, scheduler and token files,
 * message prefixes, and values as flat bytes.
 *
 * The token is 32 random bytes, 64 hex digits in files.  A handshake MAC
 * is HMAC-SHA256(token, role || nonce_a || nonce_b) (OpenSSL libcrypto),
 * compared in constant time, so a peer learns nothing from how long a
 * refusal takes.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist_internal.h"

#define DEFAULT_MAX_HEADER ((size_t)1 << 20)
#define DEFAULT_MAX_FRAMES ((size_t)65536)
#define DEFAULT_MAX_FRAME ((size_t)4 << 30)

tg__limits tg__limits_of(const tg_server_opts *o)
{
    tg__limits l = {DEFAULT_MAX_HEADER, DEFAULT_MAX_FRAMES, DEFAULT_MAX_FRAME};
    if (o && o->max_header)
        l.max_header = o->max_header;
    if (o && o->max_frames)
        l.max_frames = o->max_frames;
    if (o && o->max_frame)
        l.max_frame = o->max_frame;
    return l;
}

bool tg__batch_full(const tg__limits *l, const tg__enc *e)
{
    size_t head =
        l->max_header / 4 < 256 * 1024 ? l->max_header / 4 : 256 * 1024;
    return e->len >= head || e->n_pieces >= l->max_frames / 4;
}

void tg__hs_mac(const uint8_t token[TG__TOKEN_BYTES], const char *role,
                const uint8_t *nonce_a, const uint8_t *nonce_b,
                uint8_t mac[TG__MAC_BYTES])
{
    uint8_t msg[16 + 2 * TG__NONCE_BYTES];
    size_t n = strlen(role);
    memcpy(msg, role, n);
    memcpy(msg + n, nonce_a, TG__NONCE_BYTES);
    memcpy(msg + n + TG__NONCE_BYTES, nonce_b, TG__NONCE_BYTES);
    unsigned len = TG__MAC_BYTES;
    HMAC(EVP_sha256(), token, TG__TOKEN_BYTES, msg, n + 2 * TG__NONCE_BYTES,
         mac, &len);
}

bool tg__mac_equal(const uint8_t *a, const uint8_t *b)
{
    return CRYPTO_memcmp(a, b, TG__MAC_BYTES) == 0;
}

int tg__random(uint8_t *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1)
        return tg__seterr(TG_EIO, "no random bytes from OpenSSL");
    return 0;
}

int tg__parse_address(const char *addr, char *host, size_t host_len, int *port)
{
    if (!addr)
        return tg__seterr(TG_EINVAL, "no address");
    const char *a = strncmp(addr, "tcp://", 6) == 0 ? addr + 6 : addr;
    const char *colon = strrchr(a, ':');
    char *end = NULL;
    long p = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t n = colon ? (size_t)(colon - a) : 0;
    if (!colon || n == 0 || n >= host_len || !end || *end || end == colon + 1
        || p < 0 || p > 65535)
        return tg__seterr(
            TG_EINVAL, "'%s' is not an address (want tcp://host:port)", addr);
    memcpy(host, a, n);
    host[n] = '\0';
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') { /* [::1] */
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    *port = (int)p;
    return 0;
}

int tg__parse_token(const char *hex, uint8_t token[TG__TOKEN_BYTES])
{
    while (hex && isspace((unsigned char)*hex))
        hex++;
    for (size_t i = 0; hex && i < TG__TOKEN_BYTES; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i])
            || !isxdigit((unsigned char)hex[2 * i + 1])
            || sscanf(hex + 2 * i, "%2x", &v) != 1)
            return tg__seterr(TG_EINVAL, "a token is %d hex digits",
                              2 * TG__TOKEN_BYTES);
        token[i] = (uint8_t)v;
    }
    const char *rest = hex ? hex + 2 * TG__TOKEN_BYTES : NULL;
    while (rest && isspace((unsigned char)*rest))
        rest++;
    if (!hex || *rest)
        return tg__seterr(TG_EINVAL, "a token is %d hex digits",
                          2 * TG__TOKEN_BYTES);
    return 0;
}

/* Reads a small text file into buf.  0 or a code. */
static int read_small(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return tg__seterr(errno == ENOENT ? TG_ENOENT : TG_EIO,
                          "cannot read '%s': %s", path, strerror(errno));
    size_t n = fread(buf, 1, len - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (more)
        return tg__seterr(TG_EFORMAT, "'%s' is too long", path);
    buf[n] = '\0';
    return 0;
}

int tg__read_token_file(const char *path, uint8_t token[TG__TOKEN_BYTES])
{
    char buf[256];
    int rc = read_small(path, buf, sizeof buf);
    if (rc)
        return rc;
    if (tg__parse_token(buf, token))
        return tg__seterr(TG_EFORMAT, "%s: not a token (%d hex digits)", path,
                          2 * TG__TOKEN_BYTES);
    return 0;
}

/* A scheduler file: "address tcp://host:port\ntoken HEX\n". */
int tg__read_scheduler_file(const char *path, char *address, size_t len,
                            uint8_t token[TG__TOKEN_BYTES])
{
    char buf[1024], addr[256], hex[160];
    int rc = read_small(path, buf, sizeof buf);
    if (rc)
        return rc;
    if (sscanf(buf, "address %255s token %159s", addr, hex) != 2
        || strlen(addr) >= len || tg__parse_token(hex, token))
        return tg__seterr(TG_EFORMAT,
                          "%s: not a scheduler file (want \"address "
                          "tcp://host:port\" and \"token <hex>\" lines)",
                          path);
    strcpy(address, addr);
    return 0;
}

int tg__write_scheduler_file(const char *path, const char *address,
                             const uint8_t token[TG__TOKEN_BYTES])
{
    char tmp[4096], hex[2 * TG__TOKEN_BYTES + 1];
    for (size_t i = 0; i < TG__TOKEN_BYTES; i++)
        sprintf(hex + 2 * i, "%02x", token[i]);
    if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid())
        >= (int)sizeof tmp)
        return tg__seterr(TG_EINVAL, "scheduler file path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return tg__seterr(TG_EIO, "cannot write '%s': %s", tmp,
                          strerror(errno));
    }
    int bad = fchmod(fd, 0600) != 0; /* even over an old, wider file */
    bad |= fprintf(f, "address %s\ntoken %s\n", address, hex) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return tg__seterr(TG_EIO, "cannot write '%s': %s", path,
                          strerror(errno));
    }
    return 0;
}

int tg__resolve_address(const char *arg, char *address, size_t len,
                        uint8_t token[TG__TOKEN_BYTES])
{
    if (!arg || !*arg)
        return tg__seterr(TG_EINVAL, "no scheduler address");
    if (strncmp(arg, "tcp://", 6) != 0)
        return tg__read_scheduler_file(arg, address, len, token);
    if (strlen(arg) >= len)
        return tg__seterr(TG_EINVAL, "address too long");
    const char *env = getenv("TG_TOKEN");
    if (!env)
        return tg__seterr(TG_EINVAL,
                          "%s needs the cluster's token: set TG_TOKEN, or "
                          "give the scheduler file instead",
                          arg);
    if (tg__parse_token(env, token))
        return tg__seterr(TG_EINVAL,
                          "TG_TOKEN is not a token (%d hex "
                          "digits)",
                          2 * TG__TOKEN_BYTES);
    strcpy(address, arg);
    return 0;
}

static void put32(uint8_t *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static void put64(uint8_t *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

void tg__put_prefix(uint8_t *buf, const tg__enc *e)
{
    put32(buf, (uint32_t)e->len);
    put32(buf + 4, (uint32_t)e->n_pieces);
    for (size_t i = 0; i < e->n_pieces; i++)
        put64(buf + TG__PREFIX_BYTES + 8 * i, e->pieces[i].len);
}

void tg__msg_free(tg__msg *m)
{
    for (size_t i = 0; m->frames && i < m->n_frames; i++)
        tg__free(m->frames[i]);
    tg__free(m->frames);
    tg__free(m->frame_lens);
    tg__free(m->head);
    *m = (tg__msg){0};
}

int tg__msg_decoder(tg__msg *m, tg__dec *d)
{
    int rc = tg__dec_init(d, m->head, m->head_len, m->frames, m->frame_lens,
                          m->n_frames, 0);
    /* the decoder owns the frames now, even when it failed */
    tg__free(m->frames);
    m->frames = NULL;
    m->n_frames = 0;
    return rc;
}

uint64_t tg__wire_size(const tg_value *v)
{
    tg__enc e;
    uint64_t n = 0;
    if (tg__enc_init(&e, 0) == 0 && tg__encode(&e, v) == 0) {
        n = e.len;
        for (size_t i = 0; i < e.n_pieces; i++)
            n += e.pieces[i].len;
    }
    tg__enc_close(&e);
    return n;
}
