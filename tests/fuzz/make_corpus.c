/* tests/fuzz/make_corpus.c - writes the fuzzers' seed corpus.
 *
 * Usage: make_corpus DIR [PLAN_DIR].  Writes one flat encoding per file,
 * small and varied (every tag, pieces, a codec type, a hole, nesting),
 * into DIR, and a few encoded plans into PLAN_DIR: the checked-in
 * tests/fuzz/corpus/codec/ and corpus/plan/ came from this program.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_plan_fns.h"
#include "fuzz_types.h"
#include "graph/plan_internal.h"

static int write_seed(const char *dir, const char *name, tg_value *v)
{
    tg__enc e;
    uint8_t *flat = NULL;
    size_t len = 0;
    char path[4096];
    int rc = v ? 0 : -1;
    if (rc == 0
        && (tg__enc_init(&e, TG__CODEC_HOLES) != 0 || tg__encode(&e, v) != 0
            || tg__enc_flatten(&e, &flat, &len) != 0))
        rc = -1;
    if (v)
        tg__enc_close(&e);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = rc == 0 ? fopen(path, "wb") : NULL;
    if (!f || fwrite(flat, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: %s: %s\n", path,
                rc ? tg_last_error() : "cannot write");
        rc = -1;
    }
    tg__free(flat);
    tg_decref(v);
    return rc;
}

static int write_file(const char *dir, const char *name, const uint8_t *data,
                      size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: %s: cannot write\n", path);
        return -1;
    }
    return 0;
}

/* The plan of targets (no fusion when plain), encoded into dir/name. */
static int write_plan(const char *dir, const char *name, tg_value **targets,
                      size_t n, unsigned flags)
{
    tg__plan *p;
    tg__enc e;
    uint8_t *flat = NULL;
    size_t len = 0;
    int rc = tg__plan_compile(targets, n, flags, &p);
    if (rc == 0) {
        rc = tg__enc_init(&e, TG__CODEC_HOLES);
        rc = rc ? rc : tg__plan_encode(p, &e);
        rc = rc ? rc : tg__enc_flatten(&e, &flat, &len);
        tg__enc_close(&e);
        tg__plan_free(p);
    }
    if (rc == 0)
        rc = write_file(dir, name, flat, len);
    else
        fprintf(stderr, "make_corpus: %s: %s\n", name, tg_last_error());
    tg__free(flat);
    return rc;
}

static int write_plans(const char *dir)
{
    if (fz_register() != 0)
        return -1;
    tg_graph *g = tg_graph_new();
    tg_value *a = tg_delayed_registered(g, "fz.sum", 2, tg_int(1), tg_int(2));
    tg_value *lit = tg_delayed_value(g, tg_str("lit"));
    tg_value *b = tg_delayed_registered(g, "fz.list", 3, a, lit,
                                        tg_list(3, a, tg_float(0.5), a));
    tg_value *c = tg_delayed_registered(g, "fz.check", 1, b);
    tg_value *chain = tg_delayed_registered(g, "fz.sum", 1, tg_int(0));
    for (int i = 0; i < 5; i++)
        chain = tg_delayed_registered(g, "fz.sum", 2, chain, tg_int(i));
    tg_value *bad = tg_delayed_registered(g, "fz.check", 1, tg_int(-1));
    tg_value *all[4] = {c, chain, lit, bad};
    int rc = write_plan(dir, "small", &c, 1, 0);
    rc |= write_plan(dir, "fused_chain", &chain, 1, TG__PLAN_FUSE);
    rc |= write_plan(dir, "targets", all, 4, TG__PLAN_FUSE);
    tg_graph_free(g);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: make_corpus DIR [PLAN_DIR]\n");
        return 2;
    }
    if (argc == 3 && write_plans(argv[2]) != 0)
        return 1;
    const char *dir = argv[1];
    char big[TG__CODEC_INLINE_MAX + 8];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    tg_value *deep = tg_int(7);
    for (int i = 0; i < 40; i++)
        deep = tg_list(2, deep, tg_bool(i % 2));
    /* boxes as deep as the codec allows, for mutations to pass it */
    tg_value *boxes = tg_int(0);
    for (int i = 0; i < 64; i++)
        boxes = fuzz_box_new(boxes, "", 0);
    int rc = 0;
    rc |= write_seed(dir, "null", tg_null());
    rc |= write_seed(dir, "int", tg_int(-1234567890123));
    rc |= write_seed(dir, "float", tg_float(-0.5));
    rc |= write_seed(dir, "str", tg_str("hello, codec"));
    rc |= write_seed(dir, "bytes", tg_bytes("\0\1\2\377", 4));
    rc |= write_seed(dir, "str_piece", tg_str_n(big, sizeof big));
    rc |= write_seed(dir, "error", tg__error_new("boom", "inc-0123"));
    rc |= write_seed(dir, "hole", tg_list(2, tg_int(1), tg__codec_hole()));
    rc |= write_seed(dir, "box",
                     fuzz_box_new(tg_list(1, tg_str("in")), "piece", 5));
    rc |= write_seed(dir, "deep_list", deep);
    rc |= write_seed(dir, "deep_boxes", boxes);
    /* n-d arrays (array/ registers their codec type at load) */
    const double f8[6] = {0.5, -1, 1e300, -0.0, 3, 1e-310};
    const int64_t i8[3] = {INT64_MIN, 0, INT64_MAX};
    const uint8_t b1 = 1;
    rc |= write_seed(dir, "ndarray_f8",
                     tg_ndarray_new(TG_DT_FLOAT64, 2, (size_t[]){2, 3}, f8));
    rc |= write_seed(dir, "ndarray_i8",
                     tg_ndarray_new(TG_DT_INT64, 1, (size_t[]){3}, i8));
    rc |= write_seed(dir, "ndarray_b1_0d",
                     tg_ndarray_new(TG_DT_BOOL, 0, NULL, &b1));
    rc |= write_seed(
        dir, "ndarray_empty_in_list",
        tg_list(2, tg_ndarray_new(TG_DT_FLOAT64, 2, (size_t[]){0, 3}, NULL),
                tg_int(1)));
    rc |= write_seed(
        dir, "mixed",
        tg_list(
            9, tg_null(), tg_bool(true), tg_bool(false), tg_int(42),
            tg_float(1e300), tg_str(""), tg_bytes("xy", 2), tg_list(0),
            fuzz_box_new(fuzz_box_new(tg_error("inner"), "", 0), "abc", 3)));
    return rc ? 1 : 0;
}
