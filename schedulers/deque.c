/* schedulers/deque.c - growth and lifetime of the Chase-Lev deque.
 *
 * The hot operations are inline in deque.h; this file holds the rare
 * ones.  A grown buffer keeps a link to the one it replaced, and all of
 * them are freed together when the deque is closed.
 */
#include "deque.h"
#include "runtime/alloc_internal.h"

enum { INITIAL_CAPACITY = 256 };

static tg__deque_buf *buf_new(int64_t cap)
{
    tg__deque_buf *a = tg__malloc(sizeof *a + (size_t)cap * sizeof(tg__slot));
    if (a) {
        a->mask = cap - 1;
        a->prev = NULL;
    }
    return a;
}

int tg__deque_init(tg__deque *d)
{
    tg__deque_buf *a = buf_new(INITIAL_CAPACITY);
    if (!a)
        return TG_ENOMEM;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->buf, a);
    return 0;
}

void tg__deque_close(tg__deque *d)
{
    tg__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
    while (a) {
        tg__deque_buf *prev = a->prev;
        tg__free(a);
        a = prev;
    }
    atomic_store_explicit(&d->buf, NULL, memory_order_relaxed);
}

tg__deque_buf *tg__deque_grow(tg__deque *d, tg__deque_buf *a, int64_t top,
                              int64_t bottom)
{
    tg__deque_buf *n = buf_new(2 * (a->mask + 1));
    if (!n)
        return NULL;
    for (int64_t i = top; i < bottom; i++) {
        tg__slot *from = &a->slots[i & a->mask], *to = &n->slots[i & n->mask];
        atomic_init(&to->job,
                    atomic_load_explicit(&from->job, memory_order_relaxed));
        atomic_init(&to->arg,
                    atomic_load_explicit(&from->arg, memory_order_relaxed));
    }
    n->prev = a;
    /* Release: a thief that loads the new buffer sees its contents. */
    atomic_store_explicit(&d->buf, n, memory_order_release);
    return n;
}
