/* schedulers/unix/park.c - futex-style parking (see schedulers/park.h).
 *
 * Linux: the futex system call with private futexes, no memory of our
 * own.  Other POSIX systems: 64 mutex and condition variable pairs
 * hashed by the word's address; a wake broadcasts the bucket, and each
 * sleeper re-checks its word under the bucket's mutex, so no wake is
 * lost.
 */
#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "schedulers/park.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

void tg__park_wait(atomic_uint *word, unsigned expected, uint64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
        ts.tv_nsec = (long)(timeout_ns % 1000000000u);
        tsp = &ts;
    }
    /* EAGAIN (the word changed), EINTR and ETIMEDOUT all just return:
     * the caller re-checks. */
    syscall(SYS_futex, (void *)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL,
            0);
}

void tg__park_wake(atomic_uint *word, int n)
{
    syscall(SYS_futex, (void *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#else
#include <pthread.h>

#define N_BUCKETS 64

typedef struct bucket {
    pthread_mutex_t lock;
    pthread_cond_t cond;
} bucket;

static bucket buckets[N_BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static void buckets_init(void)
{
    for (int i = 0; i < N_BUCKETS; i++) {
        pthread_mutex_init(&buckets[i].lock, NULL);
        pthread_cond_init(&buckets[i].cond, NULL);
    }
}

static bucket *bucket_of(const void *word)
{
    pthread_once(&buckets_once, buckets_init);
    uintptr_t a = (uintptr_t)word;
    return &buckets[((a >> 4) ^ (a >> 12)) % N_BUCKETS];
}

void tg__park_wait(atomic_uint *word, unsigned expected, uint64_t timeout_ns)
{
    bucket *b = bucket_of(word);
    pthread_mutex_lock(&b->lock);
    if (atomic_load(word) == expected) {
        if (timeout_ns) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t ns = (uint64_t)ts.tv_nsec + timeout_ns;
            ts.tv_sec += (time_t)(ns / 1000000000u);
            ts.tv_nsec = (long)(ns % 1000000000u);
            pthread_cond_timedwait(&b->cond, &b->lock, &ts);
        } else {
            pthread_cond_wait(&b->cond, &b->lock);
        }
    }
    pthread_mutex_unlock(&b->lock);
}

void tg__park_wake(atomic_uint *word, int n)
{
    (void)n;
    bucket *b = bucket_of(word);
    pthread_mutex_lock(&b->lock);
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}
#endif
