/* schedulers/park.h - park a thread on a 32-bit word until woken.
 *
 * The futex protocol: tg__park_wait sleeps only while *word still holds
 * `expected`, so a wake that changes the word first is never lost.  On
 * Linux it is the futex system call; elsewhere a table of mutex and
 * condition variable pairs hashed by address (schedulers/unix/park.c).
 * Wakes may be spurious: callers re-check their condition in a loop.
 */
#ifndef TG_SCHEDULERS_PARK_H
#define TG_SCHEDULERS_PARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Sleeps while *word == expected, at most timeout_ns (0 = no limit).
 * Returns on a wake, a timeout, a signal or at once if the word
 * differs.  Any thread. */
void tg__park_wait(atomic_uint *word, unsigned expected, uint64_t timeout_ns);

/* Wakes up to n threads parked on word (n = INT32_MAX: all).  The
 * caller changes the word before waking.  word may point to memory that
 * is freed right after the change (a wake on a stale address is a
 * harmless spurious wake).  Any thread. */
void tg__park_wake(atomic_uint *word, int n);

/* An event count (Eigen, Folly): lets an idle thread sleep without a
 * race against a producer that publishes work at the same moment.
 *   waiter:   key = prepare; if (work found) cancel; else commit(key);
 *   producer: publish work; notify.
 * The seq_cst increment of n_waiters in prepare and the seq_cst fence
 * in notify make sure that either the waiter sees the work or the
 * producer sees the waiter (a Dekker pair). */
typedef struct tg__eventcount {
    atomic_uint epoch;     /* bumped by each notify that has waiters */
    atomic_uint n_waiters; /* threads between prepare and cancel/commit */
} tg__eventcount;

static inline unsigned tg__ec_prepare(tg__eventcount *ec)
{
    atomic_fetch_add_explicit(&ec->n_waiters, 1, memory_order_seq_cst);
    return atomic_load_explicit(&ec->epoch, memory_order_seq_cst);
}

static inline void tg__ec_cancel(tg__eventcount *ec)
{
    atomic_fetch_sub_explicit(&ec->n_waiters, 1, memory_order_relaxed);
}

static inline void tg__ec_commit(tg__eventcount *ec, unsigned key)
{
    tg__park_wait(&ec->epoch, key, 0);
    atomic_fetch_sub_explicit(&ec->n_waiters, 1, memory_order_relaxed);
}

/* Wakes one waiter (all = false) or every waiter.  Costs a fence and a
 * load when nobody waits: no system call on a busy pool. */
static inline void tg__ec_notify(tg__eventcount *ec, bool all)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&ec->n_waiters, memory_order_relaxed) == 0)
        return;
    atomic_fetch_add_explicit(&ec->epoch, 1, memory_order_seq_cst);
    tg__park_wake(&ec->epoch, all ? INT32_MAX : 1);
}

#endif /* TG_SCHEDULERS_PARK_H */
