/* schedulers/deque.h - the Chase-Lev work-stealing deque.
 *
 * One owner thread pushes and takes at the bottom (LIFO); any thread
 * steals at the top (FIFO).  The algorithm and its memory orders are
 * those of Le, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
 * Work-Stealing for Weak Memory Models" (PPoPP 2013).  An item is two
 * words, each an atomic so that a thief racing with a wrap-around reads
 * a torn item only when its CAS on top then fails and it drops the item.
 * The buffer grows by doubling; old buffers stay allocated until the
 * deque is closed, since a slow thief may still read one.
 */
#ifndef TG_SCHEDULERS_DEQUE_H
#define TG_SCHEDULERS_DEQUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct tg__item {
    void *job;    /* the compute the item belongs to */
    uint64_t arg; /* what to do; meaning is up to the scheduler */
} tg__item;

typedef struct tg__slot {
    _Atomic(void *) job;
    _Atomic(uint64_t) arg;
} tg__slot;

typedef struct tg__deque_buf {
    int64_t mask;               /* capacity - 1; capacity a power of 2 */
    struct tg__deque_buf *prev; /* the buffer this one replaced */
    tg__slot slots[];
} tg__deque_buf;

/* top and bottom sit on separate cache lines: thieves hammer top, the
 * owner writes bottom on every push and take. */
typedef struct tg__deque {
    _Alignas(64) atomic_int_fast64_t top;    /* next to steal */
    _Alignas(64) atomic_int_fast64_t bottom; /* next free; owner writes */
    _Atomic(tg__deque_buf *) buf;            /* owner swaps on growth */
} tg__deque;

typedef enum { TG__STEAL_EMPTY, TG__STEAL_OK, TG__STEAL_RETRY } tg__steal_rc;

/* An empty deque; returns 0 or TG_ENOMEM.  Owner, before sharing. */
int tg__deque_init(tg__deque *d);
/* Frees the buffers.  No thread may use the deque any more. */
void tg__deque_close(tg__deque *d);
/* Doubles the buffer (owner).  Returns the new one, NULL when out of
 * memory (the deque is then unchanged). */
tg__deque_buf *tg__deque_grow(tg__deque *d, tg__deque_buf *a, int64_t top,
                              int64_t bottom);

/* Pushes an item at the bottom.  False only when the buffer was full
 * and could not grow.  Owner only. */
static inline bool tg__deque_push(tg__deque *d, tg__item it)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    tg__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
    if (__builtin_expect(b - t > a->mask, 0)) {
        a = tg__deque_grow(d, a, t, b);
        if (!a)
            return false;
    }
    tg__slot *s = &a->slots[b & a->mask];
    atomic_store_explicit(&s->job, it.job, memory_order_relaxed);
    atomic_store_explicit(&s->arg, it.arg, memory_order_relaxed);
    /* Release: a thief that sees the new bottom sees the item and
     * everything the owner wrote before pushing it. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return true;
}

/* Takes the most recently pushed item.  False when empty.  Owner only. */
static inline bool tg__deque_take(tg__deque *d, tg__item *out)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    tg__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    /* seq_cst: the store of bottom must be visible before top is read,
     * or the owner and a thief could both take the last item. */
    atomic_thread_fence(memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (t > b) { /* empty */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return false;
    }
    tg__slot *s = &a->slots[b & a->mask];
    out->job = atomic_load_explicit(&s->job, memory_order_relaxed);
    out->arg = atomic_load_explicit(&s->arg, memory_order_relaxed);
    if (t < b)
        return true;
    /* The last item: race the thieves for it through top. */
    bool won = atomic_compare_exchange_strong_explicit(
        &d->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    return won;
}

/* Steals the oldest item.  RETRY when another thread won the race for
 * it.  Any thread. */
static inline tg__steal_rc tg__deque_steal(tg__deque *d, tg__item *out)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    /* seq_cst: pairs with the fence in take (see there). */
    atomic_thread_fence(memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return TG__STEAL_EMPTY;
    tg__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_acquire);
    tg__slot *s = &a->slots[t & a->mask];
    out->job = atomic_load_explicit(&s->job, memory_order_relaxed);
    out->arg = atomic_load_explicit(&s->arg, memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(
            &d->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
        return TG__STEAL_RETRY;
    return TG__STEAL_OK;
}

/* The bottom index: the owner compares it before and after pushing to
 * tell its newest items from older ones.  Owner only. */
static inline int64_t tg__deque_bottom(tg__deque *d)
{
    return atomic_load_explicit(&d->bottom, memory_order_relaxed);
}

/* True when the deque looks non-empty (a hint for idle threads). */
static inline bool tg__deque_has_items(tg__deque *d)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    return t < b;
}

#endif /* TG_SCHEDULERS_DEQUE_H */
