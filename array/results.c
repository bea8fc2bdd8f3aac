/* array/results.c - computing arrays: one value, a caller's buffer, or
 * chunks kept for later graphs (persist).
 *
 * On the in-process schedulers (sync, threads) a result is streamed:
 * every chunk gets a "tg.array.store" call that copies it into the
 * destination as soon as it is computed, and the scheduler releases the
 * chunk right after (the two fuse into one task when nothing else reads
 * the chunk), so the peak is the destination plus the chunks in flight.
 * These calls are *local* - their context is the destination in this
 * process's memory - which is the one exception to the layer's rule
 * that every task is registered: a result in a caller's buffer can only
 * be written here.  On any other scheduler (loopback, a cluster) every
 * chunk is a target of one compute, and the chunks are copied into
 * place one by one and released as they are copied.
 */
#include <stdio.h>

#include "array_internal.h"

/* Computes every chunk of a into out[0 .. n_blocks) (new references).
 * 0, or a negative code with tg_last_error() set and *err the error
 * value (a new reference) when a task failed. */
static int compute_chunks(tg_array *a, tg_scheduler *s, tg_value **out,
                          tg_value **err)
{
    *err = NULL;
    tg_value **blocks = tg__array_blocks(a);
    if (!blocks)
        return tg__last_code(TG_ENOMEM);
    /* In a->order: the targets, then the results (in C order after). */
    size_t n = a->n_blocks;
    tg_value **todo = a->order ? tg__malloc(2 * n * sizeof *todo) : NULL;
    if (a->order && !todo)
        return TG_ENOMEM;
    for (size_t k = 0; todo && k < n; k++)
        todo[k] = blocks[a->order[k]];
    int rc = tg_compute_with(todo ? todo : blocks, n, todo ? todo + n : out, s,
                             NULL);
    for (size_t k = 0; todo && k < n; k++)
        out[a->order[k]] = todo[n + k];
    tg__free(todo);
    if (rc == TG_ETASK || rc == TG_ECANCELED) {
        *err = tg_incref(out[0]);
        tg__seterr(rc, "%s: %s",
                   tg_error_key(out[0]) ? tg_error_key(out[0]) : "compute",
                   tg_error_message(out[0]));
        for (size_t i = 0; i < a->n_blocks; i++)
            tg_decref(out[i]);
    }
    return rc;
}

/* Copies chunk number b (value v) of a into the C-order buffer dst of
 * a's shape, converting to a's dtype.  0 or TG_EINVAL when v is not the
 * chunk it should be. */
static int place(const tg_array *a, size_t b, const tg_value *v, uint8_t *dst)
{
    size_t shape[TG__ND_MAX], start[TG__ND_MAX], idx[TG__ND_MAX] = {0};
    const tg__nd *c = tg__nd_of(v);
    tg__array_block_box(a, b, shape, start);
    size_t nd = a->ndim;
    if (!c || c->ndim != nd || memcmp(c->shape, shape, nd * sizeof *shape)) {
        char want[160], got[160] = "(not an array)";
        tg__shape_str(want, sizeof want, nd, shape);
        if (c)
            tg__shape_str(got, sizeof got, c->ndim, c->shape);
        return tg__seterr(TG_EINVAL, "chunk %zu has shape %s, expected %s", b,
                          got, want);
    }
    size_t item = tg__nd_itemsize(a->dtype), citem = tg__nd_itemsize(c->dtype);
    size_t inner = nd ? shape[nd - 1] : 1;
    const uint8_t *src = c->data;
    for (size_t done = 0; done < c->size; done += inner) {
        size_t g = 0;
        for (size_t k = 0; k < nd; k++)
            g = g * a->shape[k] + start[k] + (k + 1 < nd ? idx[k] : 0);
        tg__convert(dst + g * item, a->dtype, src + done * citem, c->dtype,
                    inner);
        for (size_t k = nd ? nd - 1 : 0; k-- > 0;) {
            if (++idx[k] < shape[k])
                break;
            idx[k] = 0;
        }
    }
    return 0;
}

/* The destination of a streamed result, owned by the graph (a literal
 * node) so that the recorded calls never outlive their context. */
typedef struct sink {
    const tg_array *a;
    uint8_t *dst;
} sink;

/* store(chunk number, chunk), local with a sink as context: copies the
 * chunk into place; null, or an error when it is not the chunk due. */
static tg_value *store_task(tg_value *const *args, size_t nargs, void *ctx)
{
    const sink *k = ctx;
    if (nargs != 2 || tg_typeof(args[0]) != TG_INT || tg_as_int(args[0]) < 0
        || (uint64_t)tg_as_int(args[0]) >= k->a->n_blocks)
        return tg_error("tg.array.store: bad arguments");
    if (place(k->a, (size_t)tg_as_int(args[0]), args[1], k->dst) != 0)
        return tg_error("tg.array.store: %s", tg_last_error());
    return tg_null();
}

/* True for the schedulers that run tasks in this process. */
static bool in_process(const tg_scheduler *s)
{
    const char *name = s ? tg_scheduler_name(s) : "sync";
    return strcmp(name, "sync") == 0 || strcmp(name, "threads") == 0;
}

/* Computes a straight into dst (in-process schedulers only).  0, or a
 * negative code with tg_last_error() set and *err the failed task's
 * error value (a new reference). */
static int stream(tg_array *a, tg_scheduler *s, uint8_t *dst, tg_value **err)
{
    *err = NULL;
    tg_value **blocks = tg__array_blocks(a);
    sink *sk = blocks ? tg__malloc(sizeof *sk) : NULL;
    if (!sk)
        return tg__last_code(TG_ENOMEM);
    *sk = (sink){a, dst};
    tg_value *owner = tg_object(sk, tg__free, "tg.array.store");
    if (!owner) {
        tg__free(sk);
        return TG_ENOMEM;
    }
    tg_value **calls = tg_delayed_value(a->g, owner)
                           ? tg__calloc(2 * a->n_blocks, sizeof *calls)
                           : NULL;
    if (!calls)
        return tg__last_code(TG_ENOMEM);
    tg_value **out = calls + a->n_blocks;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < a->n_blocks; k++) {
        size_t b = tg__array_nth(a, k);
        tg_value *args[2] = {tg_int((int64_t)b), blocks[b]};
        if (!(calls[k] = tg_delayed_v(a->g, "tg.array.store", store_task, sk, 0,
                                      2, args)))
            rc = tg__last_code(TG_ENOMEM);
    }
    if (rc == 0)
        rc = tg_compute_with(calls, a->n_blocks, out, s, NULL);
    if (rc == TG_ETASK || rc == TG_ECANCELED) {
        *err = tg_incref(out[0]);
        tg__seterr(rc, "%s: %s",
                   tg_error_key(out[0]) ? tg_error_key(out[0]) : "compute",
                   tg_error_message(out[0]));
    }
    for (size_t b = 0; b < a->n_blocks; b++) /* NULL unless computed */
        tg_decref(out[b]);
    tg__free(calls);
    return rc;
}

/* Places every chunk into dst, releasing each once placed. */
static int place_all(const tg_array *a, tg_value **out, uint8_t *dst)
{
    int rc = 0;
    for (size_t b = 0; b < a->n_blocks; b++) {
        if (rc == 0)
            rc = place(a, b, out[b], dst);
        tg_decref(out[b]);
        out[b] = NULL;
    }
    return rc;
}

/* Computes a into dst (a's size and dtype): streamed in process,
 * gathered elsewhere.  0, or a code with *err as for stream. */
static int compute_into(tg_array *a, tg_scheduler *s, uint8_t *dst,
                        tg_value **err)
{
    if (in_process(s))
        return stream(a, s, dst, err);
    tg_value **out = tg__calloc(a->n_blocks, sizeof *out);
    if (!out)
        return TG_ENOMEM;
    int rc = compute_chunks(a, s, out, err);
    if (rc == 0)
        rc = place_all(a, out, dst);
    tg__free(out);
    return rc;
}

tg_value *tg_array_compute(tg_array *a, tg_scheduler *s)
{
    if (tg__array_check("tg_array_compute", 1, &a) != 0)
        return NULL;
    tg_value *err = NULL;
    tg__nd *r = tg__nd_alloc(a->dtype, a->ndim, a->shape, false);
    int rc = r ? compute_into(a, s, r->data, &err) : tg__last_code(TG_ENOMEM);
    if (err || rc != 0) {
        tg__nd_free(r);
        return err ? err : tg_error("tg_array_compute: %s", tg_last_error());
    }
    tg_value *v = tg__nd_value(r);
    return v ? v : tg_error("tg_array_compute: %s", tg_last_error());
}

int tg_array_store(tg_array *a, void *buf, size_t len, tg_scheduler *s)
{
    if (tg__array_check("tg_array_store", 1, &a) != 0)
        return TG_EINVAL;
    size_t size;
    tg__nd_count(a->ndim, a->shape, 0, &size);
    if (!buf && size)
        return tg__seterr(TG_EINVAL, "tg_array_store: NULL buffer");
    if (len != size * tg__nd_itemsize(a->dtype))
        return tg__seterr(TG_EINVAL,
                          "tg_array_store: a buffer of %zu bytes for %zu "
                          "elements of %s",
                          len, size, tg_dtype_name(a->dtype));
    tg_value *err = NULL;
    int rc = compute_into(a, s, buf, &err);
    tg_decref(err);
    return rc;
}

tg_array *tg_array_persist(tg_array *a, tg_scheduler *s)
{
    if (tg__array_check("tg_array_persist", 1, &a) != 0)
        return NULL;
    tg_value **out = tg__calloc(a->n_blocks, sizeof *out), *err = NULL;
    if (!out)
        return NULL;
    int rc = compute_chunks(a, s, out, &err);
    tg_decref(err);
    tg_array *p =
        rc == 0 ? tg__array_new(a->g, a->dtype, a->ndim, a->shape, a->chunk)
                : NULL;
    if (p && tg__array_alloc_blocks(p) != 0)
        p = NULL;
    for (size_t b = 0; rc == 0 && b < a->n_blocks; b++) {
        /* tg_delayed_value steals the chunk, even on failure */
        if (p && !(p->blocks[b] = tg_delayed_value(a->g, out[b])))
            p = NULL;
        else if (!p)
            tg_decref(out[b]);
    }
    tg__free(out);
    return p;
}
