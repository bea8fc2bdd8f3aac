/* tests/fuzz/fuzz_plan.c - libFuzzer harness for plans off the wire.
 *
 * Each input is decoded as a flat encoding of a plan (graph/
 * plan_codec.c).  A plan that decodes has passed validation, so it must
 * run on the sync scheduler without a crash, and encode again into a
 * plan that decodes.  Input that does not decode must fail with
 * TG_EFORMAT, or TG_ENOENT for a function this process lacks.  abort()
 * reports a broken property; ASan, UBSan and LeakSanitizer the rest.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_plan_fns.h"
#include "graph/plan_internal.h"
#include "schedulers/scheduler_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_plan: %s (last error: %s)\n", what, tg_last_error());
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (fz_register() != 0)
        fail("cannot register the fuzz functions");
    return 0;
}

static int decode(const uint8_t *data, size_t size, tg__plan **p)
{
    tg__dec d;
    *p = NULL;
    int rc = tg__dec_init_flat(&d, data, size, 0);
    if (rc == 0)
        rc = tg__plan_decode(&d, p);
    tg__dec_close(&d);
    return rc;
}

/* Runs a decoded plan on sync, as tg_compute would, and releases every
 * result. */
static void run(const tg__plan *p)
{
    tg_scheduler *s = tg_scheduler_sync();
    tg__run r = {.plan = p};
    atomic_init(&r.stop, false);
    atomic_init(&r.error, NULL);
    r.results = calloc(p->n_slots ? p->n_slots : 1, sizeof *r.results);
    if (!s || !r.results)
        fail("out of memory");
    for (uint32_t j = 0; j < p->n_literals; j++)
        r.results[p->n_tasks + j] = p->literal[j];
    int rc = s->vt->run(s, &r);
    if (rc == 0) {
        for (uint32_t t = 0; t < p->n_tasks; t++)
            if (p->is_target[t])
                tg_decref(r.results[t]);
    } else if (rc != TG_ETASK) {
        fail("a valid plan did not run");
    }
    tg_decref(atomic_load(&r.error));
    free(r.results);
    tg_scheduler_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg__plan *p;
    int rc = decode(data, size, &p);
    if (rc != 0) {
        if (rc != TG_EFORMAT && rc != TG_ENOENT)
            fail("a plan failed to decode with an unexpected code");
        return 0;
    }
    run(p);
    tg__enc e;
    uint8_t *flat = NULL;
    size_t len = 0;
    if (tg__enc_init(&e, TG__CODEC_HOLES) || tg__plan_encode(p, &e)
        || tg__enc_flatten(&e, &flat, &len))
        fail("a decoded plan does not encode");
    tg__enc_close(&e);
    tg__plan *q;
    if (decode(flat, len, &q) != 0)
        fail("a re-encoded plan does not decode");
    if (q->n_tasks != p->n_tasks || q->n_in != p->n_in)
        fail("a re-encoded plan differs");
    tg__plan_free(q);
    tg__plan_free(p);
    tg__free(flat);
    return 0;
}
