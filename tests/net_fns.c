/* tests/net_fns.c - task functions of the network tests.
 *
 * Built twice: into a shared library that tg-worker loads with
 * --preload (against the shared libtaskgraph, as a user's library is),
 * and into the test program, so that both sides register the same names.
 * Each registers itself when loaded, from a constructor.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <taskgraph.h>

/* Folds a value into a hash: numbers by bits, strings by content, lists
 * item by item (depth-bounded: the tests nest one level). */
static uint64_t fold(uint64_t h, const tg_value *v, int depth)
{
    size_t len = 0;
    const unsigned char *b;
    switch (tg_typeof(v)) {
    case TG_LIST:
        for (size_t i = 0; i < tg_list_len(v) && depth < 8; i++)
            h = fold(h, tg_list_get(v, i), depth + 1);
        return h * 31 + 7;
    case TG_STR:
    case TG_BYTES:
        b = tg_as_bytes(v, &len);
        for (size_t i = 0; i < len; i++)
            h = (h ^ b[i]) * 0x100000001b3ull;
        return h + len;
    case TG_FLOAT: return (h ^ (uint64_t)(tg_as_float(v) * 1e6)) * 977;
    default: return (h ^ (uint64_t)tg_as_int(v)) * 0x100000001b3ull;
    }
}

/* Mixes its arguments (in order) with ctx into an int. */
static tg_value *net_mix(tg_value *const *a, size_t n, void *ctx)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(uintptr_t)ctx;
    for (size_t i = 0; i < n; i++)
        h = fold(h, a[i], 0);
    return tg_int((int64_t)(h >> 2));
}

/* Fails with "boom" when its argument is negative. */
static tg_value *net_fail(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    if (tg_as_int(a[0]) < 0)
        return tg_error("boom");
    return tg_int(tg_as_int(a[0]));
}

/* Sleeps ms milliseconds; none at all for 0 (a nanosleep of 0 still
 * costs the timer's slack). */
static void sleep_ms(int64_t ms)
{
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Sleeps its argument in milliseconds, returns it. */
static tg_value *net_sleep(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    int64_t ms = tg_as_int(a[0]);
    sleep_ms(ms);
    return tg_int(ms);
}

/* The process id of the worker that ran it (its argument is ignored: it
 * only makes calls distinct). */
static tg_value *net_pid(tg_value *const *a, size_t n, void *ctx)
{
    (void)a, (void)n, (void)ctx;
    return tg_int((int64_t)getpid());
}

/* Sleeps its first argument in milliseconds, then says which worker it
 * ran on (its process id; the second argument makes calls distinct). */
static tg_value *net_sleep_pid(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    sleep_ms(tg_as_int(a[0]));
    return tg_int((int64_t)getpid());
}

/* Sleeps its first argument in milliseconds (0: not at all), then says
 * where it ran: 1 on the worker's loop (its main thread), 0 on a task
 * thread.  The second argument makes calls distinct. */
static tg_value *net_where(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    sleep_ms(tg_as_int(a[0]));
    return tg_int(syscall(SYS_gettid) == getpid());
}

/* A bytes value of its argument's length, each byte its index mod 251. */
static tg_value *net_blob(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    size_t len = (size_t)tg_as_int(a[0]);
    unsigned char *b = malloc(len ? len : 1);
    if (!b)
        return tg_error("out of memory");
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(i % 251);
    tg_value *v = tg_bytes(b, len);
    free(b);
    return v;
}

/* A list of its argument's count of ints, 0, 1, 2, ... */
static tg_value *net_ints(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    size_t len = (size_t)tg_as_int(a[0]);
    tg_value **items = malloc((len ? len : 1) * sizeof *items);
    if (!items)
        return tg_error("out of memory");
    for (size_t i = 0; i < len; i++)
        items[i] = tg_int((int64_t)i);
    tg_value *v = tg_list_from(len, items);
    free(items);
    return v;
}

/* The total of the bytes of its bytes arguments, as an int. */
static tg_value *net_bytesum(tg_value *const *a, size_t n, void *ctx)
{
    (void)ctx;
    int64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const unsigned char *b = tg_as_bytes(a[i], &len);
        for (size_t k = 0; b && k < len; k++)
            s += b[k];
    }
    return tg_int(s);
}

/* Allocates its argument's count of MiB in 1 KiB blocks on the calling
 * thread, writes each, and frees them all: the thread's malloc heap
 * grows and ends with that much free.  Returns the number of blocks. */
static tg_value *net_churn(tg_value *const *a, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    size_t count = (size_t)tg_as_int(a[0]) << 10;
    char **blocks = malloc((count ? count : 1) * sizeof *blocks);
    if (!blocks)
        return tg_error("out of memory");
    size_t made = 0;
    while (made < count && (blocks[made] = malloc(1024)) != NULL)
        memset(blocks[made++], 1, 1024);
    for (size_t i = 0; i < made; i++)
        free(blocks[i]);
    free(blocks);
    return made == count ? tg_int((int64_t)made) : tg_error("out of memory");
}

__attribute__((constructor)) static void net_register(void)
{
    for (uintptr_t k = 0; k < 3; k++) {
        char name[16] = "net.mix0";
        name[7] = (char)('0' + k);
        tg_register(name, net_mix, (void *)k);
    }
    tg_register("net.fail", net_fail, NULL);
    tg_register("net.sleep", net_sleep, NULL);
    tg_register("net.pid", net_pid, NULL);
    tg_register("net.sleep_pid", net_sleep_pid, NULL);
    tg_register("net.where", net_where, NULL);
    tg_register("net.blob", net_blob, NULL);
    tg_register("net.bytesum", net_bytesum, NULL);
    tg_register("net.ints", net_ints, NULL);
    tg_register("net.churn", net_churn, NULL);
}
