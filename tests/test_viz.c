/* tests/test_viz.c - tg_visualize: SVG, PNG, PDF and DOT output, Dask's
 * shapes, summaries of large graphs, colours, options, errors, OOM, and
 * rendering JSON files (tg_visualize_json, as tg-viz does).
 *
 * SVG is parsed with libxml2 and queried with XPath; DOT is parsed back
 * with cgraph.
 */
#include <cgraph.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <unistd.h>

#include "runtime/alloc_internal.h"
#include "test_util.h"

static const char *tmp(const char *name)
{
    static char path[4][160];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "/tmp/tg_test_viz_%d_%s", (int)getpid(),
             name);
    return path[k];
}

static double f(double x, double y)
{
    return x * y + 1.0;
}
static double g(double x, double y)
{
    return x - y;
}
TG_ADAPT(double, f, double, double)
TG_ADAPT(double, g, double, double)

/* The nested loop of examples/visualize.c, N x N: calls of f where
 * x < y, else g, then a fan-in-8 tree of "sum". */
static tg_value *nested(tg_graph *gr, size_t n)
{
    tg_value **v = malloc(n * n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = (double)i, y = (double)j;
            v[i * n + j] = x < y ? TG_CALL(gr, f, tg_float(x), tg_float(y))
                                 : TG_CALL(gr, g, tg_float(x), tg_float(y));
        }
    tg_value *root = tt_tree_sum(gr, v, n * n, 8);
    free(v);
    return root;
}

/* Parsed SVG, and XPath over its namespace. */
typedef struct svg {
    xmlDocPtr doc;
    xmlXPathContextPtr ctx;
} svg;

static svg svg_load(const char *path)
{
    svg s = {xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR),
             NULL};
    assert_non_null(s.doc); /* well-formed XML */
    s.ctx = xmlXPathNewContext(s.doc);
    xmlXPathRegisterNs(s.ctx, BAD_CAST "s",
                       BAD_CAST "http://www.w3.org/2000/svg");
    return s;
}

static size_t svg_count(const svg *s, const char *xpath)
{
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST xpath, s->ctx);
    assert_non_null(r);
    size_t n = r->nodesetval ? (size_t)r->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(r);
    return n;
}

static void svg_free(svg *s)
{
    xmlXPathFreeContext(s->ctx);
    xmlFreeDoc(s->doc);
}

/* Reads a whole file (malloc'd, NUL-terminated). */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Renders to DOT and parses it back with cgraph. */
static Agraph_t *dot_of(tg_value **t, size_t n, const tg_viz_opts *o)
{
    const char *path = tmp("g.dot");
    assert_int_equal(tg_visualize(t, n, path, o), 0);
    char *text = slurp(path, NULL);
    Agraph_t *ag = agmemread(text);
    assert_non_null(ag);
    free(text);
    unlink(path);
    return ag;
}

/* The node of ag whose label is label (first one), or NULL. */
static Agnode_t *node_labelled(Agraph_t *ag, const char *label)
{
    for (Agnode_t *n = agfstnode(ag); n; n = agnxtnode(ag, n))
        if (strcmp(agget(n, "label"), label) == 0)
            return n;
    return NULL;
}

static size_t count_attr(Agraph_t *ag, const char *attr, const char *val)
{
    size_t k = 0;
    for (Agnode_t *n = agfstnode(ag); n; n = agnxtnode(ag, n)) {
        char *v = agget(n, (char *)attr);
        k += v && strcmp(v, val) == 0;
    }
    return k;
}

static void test_viz_svg_has_one_node_per_task(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *root = nested(gr, 4); /* 16 calls + sums of 8, 8 and 2 */
    const char *path = tmp("n4.svg");
    assert_int_equal(tg_visualize(&root, 1, path, NULL), 0);
    svg s = svg_load(path);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']"), 20);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']//s:ellipse"), 19);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']//s:polygon"), 1);
    assert_int_equal(svg_count(&s, "//s:g[@class='edge']"), 19);
    /* x < y in 6 of the 16 (i, j) pairs */
    assert_int_equal(svg_count(&s, "//s:g[@class='node']//s:text[.='f']"), 6);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']//s:text[.='g']"), 10);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']//s:text[.='sum']"), 3);
    /* the result box names the result by its short key */
    char box[64], xq[160];
    snprintf(box, sizeof box, "sum-%.8s", strrchr(tg_key(root), '-') + 1);
    snprintf(xq, sizeof xq, "//s:g[@class='node']//s:text[.='%s']", box);
    assert_int_equal(svg_count(&s, xq), 1);
    /* each task's key is its tooltip */
    char xp[160];
    snprintf(xp, sizeof xp, "//s:a[@xlink:title='%s']", tg_key(root));
    xmlXPathRegisterNs(s.ctx, BAD_CAST "xlink",
                       BAD_CAST "http://www.w3.org/1999/xlink");
    assert_int_equal(svg_count(&s, xp), 1);
    svg_free(&s);
    unlink(path);
    tg_graph_free(gr);
}

static void test_viz_png_and_pdf_have_their_signatures(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *root = nested(gr, 2);
    const char *png = tmp("n2.png"), *pdf = tmp("n2.PDF");
    assert_int_equal(tg_visualize(&root, 1, png, NULL), 0);
    assert_int_equal(tg_visualize(&root, 1, pdf, NULL), 0);
    size_t len;
    char *data = slurp(png, &len);
    assert_true(len > 100);
    assert_memory_equal(data, "\x89PNG\r\n\x1a\n", 8);
    free(data);
    data = slurp(pdf, &len);
    assert_true(len > 100);
    assert_memory_equal(data, "%PDF-", 5);
    free(data);
    unlink(png);
    unlink(pdf);
    tg_graph_free(gr);
}

static void test_viz_dot_parses_back(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *root = nested(gr, 4);
    tg_viz_opts o = {.rankdir = TG_VIZ_LR};
    Agraph_t *ag = dot_of(&root, 1, &o);
    assert_int_equal(agnnodes(ag), 20);
    assert_int_equal(agnedges(ag), 19);
    assert_string_equal(agget(ag, "rankdir"), "LR");
    assert_int_equal(count_attr(ag, "label", "f"), 6);
    assert_int_equal(count_attr(ag, "label", "sum"), 3);
    assert_int_equal(count_attr(ag, "shape", "box"), 1);
    char label[64];
    snprintf(label, sizeof label, "sum-%.8s", strrchr(tg_key(root), '-') + 1);
    Agnode_t *box = node_labelled(ag, label);
    assert_non_null(box);
    assert_int_equal(agdegree(ag, box, 1, 0), 1); /* in from the root */
    agclose(ag);
    tg_graph_free(gr);
}

static void test_viz_graph_view_dedupes_and_boxes_literals(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *five = tg_delayed_value(gr, tg_int(5));
    tg_value *a = TG_DELAYED(gr, tt_inc, five);
    tg_value *b = TG_DELAYED(gr, tt_inc, five); /* same call, same key */
    tg_value *c = TG_DELAYED(gr, tt_add, a, b);
    Agraph_t *ag = dot_of(&c, 1, NULL);
    assert_int_equal(agnnodes(ag), 4); /* 5, inc, add, result */
    Agnode_t *lit = node_labelled(ag, "5");
    assert_non_null(lit);
    assert_string_equal(agget(lit, "shape"), "box");
    assert_int_equal(count_attr(ag, "label", "tt_inc"), 1);
    agclose(ag);

    /* The plan inlines the literal and fuses inc into add. */
    tg_viz_opts o = {.plan = true};
    ag = dot_of(&c, 1, &o);
    assert_int_equal(agnnodes(ag), 2); /* inc > add, result */
    assert_null(node_labelled(ag, "5"));
    assert_non_null(node_labelled(ag, "tt_inc > tt_add"));
    agclose(ag);
    tg_graph_free(gr);
}

/* Counts its arguments: a task that takes any literal. */
static tg_value *n_args(tg_value *const *a, size_t n, void *ctx)
{
    (void)a, (void)ctx;
    return tg_int((int64_t)n);
}

/* Asserts every expected label is on a box of ag and no label is a
 * placeholder ("int-#0"). */
static void assert_literal_boxes(Agraph_t *ag, const char *const *want,
                                 size_t n)
{
    for (size_t i = 0; i < n; i++) {
        Agnode_t *box = node_labelled(ag, want[i]);
        if (!box)
            fail_msg("no node labelled %s", want[i]);
        assert_string_equal(agget(box, "shape"), "box");
    }
    for (Agnode_t *v = agfstnode(ag); v; v = agnxtnode(ag, v))
        assert_null(strchr(agget(v, "label"), '#'));
}

/* A data box shows its literal, short: numbers, quoted strings (cut at
 * a character), a frame's rows by columns, an array's dtype and shape,
 * an object's type name; the same when drawn from a JSON file. */
static void test_viz_data_boxes_show_their_literal(void **state)
{
    (void)state;
    static const int64_t zeros[120];
    const void *cols[] = {zeros, zeros, zeros, zeros, zeros};
    const char *names[] = {"a", "b", "c", "d", "e"};
    const tg_dtype types[] = {TG_DT_INT64, TG_DT_INT64, TG_DT_INT64,
                              TG_DT_INT64, TG_DT_INT64};
    tg_value *frame = tg_frame_from_arrays(5, names, types, 120, cols, NULL);
    assert_non_null(frame);
    const size_t shape[] = {100, 50};
    tg_value *nd = tg_ndarray_new(TG_DT_FLOAT64, 2, shape, NULL);
    assert_non_null(nd);
    tg_graph *gr = tg_graph_new();
    tg_value *lits[] = {
        tg_delayed_value(gr, tg_int(3)),
        tg_delayed_value(gr, tg_str("abc")),
        tg_delayed_value(gr, tg_float(2.5)),
        tg_delayed_value(gr, frame),
        tg_delayed_value(gr, nd),
        tg_delayed_value(gr, tg_object(NULL, NULL, "point")),
        /* 13 bytes would end inside the two-byte "é" */
        tg_delayed_value(gr, tg_str("a long strin\xc3\xa9 of text")),
    };
    tg_value *t = tg_delayed_v(gr, "n_args", n_args, NULL, 0, 7, lits);
    assert_non_null(t);
    const char *want[] = {"3",
                          "\"abc\"",
                          "2.5",
                          "frame 120\xc3\x97"
                          "5",
                          "float64 100\xc3\x97"
                          "50",
                          "point",
                          "\"a long strin...\""};
    Agraph_t *ag = dot_of(&t, 1, NULL);
    assert_literal_boxes(ag, want, 7);
    agclose(ag);

    const char *json = tmp("lits.json"), *out = tmp("lits.dot");
    assert_int_equal(tg_graph_write_json(&t, 1, json, NULL), 0);
    assert_int_equal(tg_visualize_json(json, out, NULL), 0);
    char *text = slurp(out, NULL);
    ag = agmemread(text);
    assert_non_null(ag);
    assert_literal_boxes(ag, want, 7);
    agclose(ag);
    free(text);
    unlink(json);
    unlink(out);
    tg_graph_free(gr);
}

static void test_viz_plan_view_labels_fused_chains(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *x = TG_DELAYED(gr, tt_inc, tg_int(1));
    tg_value *y = TG_DELAYED(gr, tt_fail_neg, x);
    tg_value *z = TG_DELAYED(gr, tt_inc, y);
    tg_viz_opts o = {.plan = true};
    Agraph_t *ag = dot_of(&z, 1, &o);
    assert_int_equal(agnnodes(ag), 2); /* one fused task and its result */
    assert_non_null(node_labelled(ag, "tt_inc > tt_fail_neg > tt_inc"));
    agclose(ag);
    o.no_fuse = true;
    ag = dot_of(&z, 1, &o);
    assert_int_equal(agnnodes(ag), 4);
    agclose(ag);
    o = (tg_viz_opts){.all_data = true}; /* Dask's box per result */
    ag = dot_of(&z, 1, &o);
    assert_int_equal(agnnodes(ag), 6);
    assert_int_equal(count_attr(ag, "shape", "box"), 3);
    assert_int_equal(agnedges(ag), 5);
    agclose(ag);
    tg_graph_free(gr);
}

static void test_viz_colours_by_static_order(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *a = TG_DELAYED(gr, tt_inc, tg_int(1));
    tg_value *b = TG_DELAYED(gr, tt_fail_neg, tg_int(2));
    tg_value *c = TG_DELAYED(gr, tt_add, a, b);
    tg_viz_opts o = {.color = TG_VIZ_COLOR_ORDER};
    Agraph_t *ag = dot_of(&c, 1, &o);
    /* order: inc 0, fail_neg 1, add 2: first and last palette ends */
    assert_string_equal(agget(node_labelled(ag, "tt_inc"), "fillcolor"),
                        "#440154");
    assert_string_equal(agget(node_labelled(ag, "tt_fail_neg"), "fillcolor"),
                        "#21908d");
    assert_string_equal(agget(node_labelled(ag, "tt_add"), "fillcolor"),
                        "#fde725");
    assert_string_equal(agget(node_labelled(ag, "tt_inc"), "fontcolor"),
                        "white");
    assert_non_null(strstr(agget(ag, "label"), "static order"));
    agclose(ag);
    tg_graph_free(gr);
}

static void test_viz_colours_by_state_and_duration(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *a = TG_DELAYED(gr, tt_inc, tg_int(1));
    tg_value *b = TG_DELAYED(gr, tt_fail_neg, tg_int(-2));
    tg_value *c = TG_DELAYED(gr, tt_add, a, b);
    tg_profiler *p = tg_profiler_new();
    assert_int_equal(tg_profiler_start(p), 0);
    tg_decref(tg_compute(a, NULL)); /* a runs */
    tg_decref(tg_compute(c, NULL)); /* b fails, so c never runs */
    tg_profiler_stop(p);
    tg_viz_opts o = {.color = TG_VIZ_COLOR_STATE, .profile = p};
    Agraph_t *ag = dot_of(&c, 1, &o);
    assert_string_equal(agget(node_labelled(ag, "tt_inc"), "fillcolor"),
                        "#8fd18f");
    assert_string_equal(agget(node_labelled(ag, "tt_fail_neg"), "fillcolor"),
                        "#e45756");
    assert_string_equal(agget(node_labelled(ag, "tt_add"), "fillcolor"),
                        "#dddddd");
    agclose(ag);
    o.color = TG_VIZ_COLOR_DURATION;
    ag = dot_of(&c, 1, &o);
    assert_string_equal(agget(node_labelled(ag, "tt_add"), "fillcolor"),
                        "#eeeeee"); /* not run: no duration */
    assert_int_equal(agget(node_labelled(ag, "tt_inc"), "fillcolor")[0], '#');
    assert_non_null(strstr(agget(ag, "label"), "task time"));
    agclose(ag);
    o.profile = NULL;
    assert_int_equal(tg_visualize(&c, 1, tmp("x.svg"), &o), TG_EINVAL);
    assert_non_null(strstr(tg_last_error(), "profile"));
    tg_profiler_free(p);
    tg_graph_free(gr);
}

/* n_leaves inc calls summed by a fan-in-8 tree. */
static tg_value *wide(tg_graph *gr, size_t n_leaves)
{
    tg_value **v = malloc(n_leaves * sizeof *v);
    for (size_t i = 0; i < n_leaves; i++)
        v[i] = TG_DELAYED(gr, tt_inc, tg_int((int64_t)i));
    tg_value *root = tt_tree_sum(gr, v, n_leaves, 8);
    free(v);
    return root;
}

static void test_viz_summarizes_large_graphs_quickly(void **state)
{
    (void)state;
    size_t n = tt_scale(100000, 2000);
    tg_graph *gr = tg_graph_new();
    tg_value *root = wide(gr, n);
    size_t n_sums = 0;
    for (size_t m = n; m > 1; m = (m + 7) / 8)
        n_sums += (m + 7) / 8;
    const char *path = tmp("wide.svg");
    uint64_t t0 = tg_now_ns();
    assert_int_equal(tg_visualize(&root, 1, path, NULL), 0);
    double secs = (double)(tg_now_ns() - t0) / 1e9;
    if (!tt_quick())
        assert_true(secs < 2.0); /* the issue's bound, generous here */
    svg s = svg_load(path);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']"), 3);
    char xp[128];
    snprintf(xp, sizeof xp, "//s:text[.='%zu tasks']", n);
    assert_int_equal(svg_count(&s, xp), 1);
    snprintf(xp, sizeof xp, "//s:text[.='%zu tasks']", n_sums);
    assert_int_equal(svg_count(&s, xp), 1);
    assert_int_equal(svg_count(&s, "//s:text[.='tt_inc']"), 1);
    assert_int_equal(svg_count(&s, "//s:text[.='1 result']"), 1);
    /* edges: inc -> sum (n of them), sum -> sum, sum -> result */
    snprintf(xp, sizeof xp, "//s:g[@class='edge']/s:text[.='%zu']", n);
    assert_int_equal(svg_count(&s, xp), 1);
    assert_int_equal(svg_count(&s, "//s:g[@class='edge']"), 3);
    svg_free(&s);
    unlink(path);
    tg_graph_free(gr);
}

static void test_viz_summary_threshold_is_an_option(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *root = wide(gr, 600);
    Agraph_t *ag = dot_of(&root, 1, NULL); /* 600 + 88 tasks > 200 */
    assert_int_equal(agnnodes(ag), 3);
    agclose(ag);
    tg_value *mid = wide(gr, 180); /* 180 + 23 + 3 + 1 = 207 tasks */
    ag = dot_of(&mid, 1, NULL);
    assert_int_equal(agnnodes(ag), 3);
    agclose(ag);
    tg_value *fits = wide(gr, 150); /* 150 + 19 + 3 + 1 = 173: drawn whole */
    ag = dot_of(&fits, 1, NULL);
    assert_int_equal(agnnodes(ag), 173 + 1);
    agclose(ag);
    tg_viz_opts o = {.summarize_above = -1};
    ag = dot_of(&root, 1, &o);
    assert_int_equal(agnnodes(ag), 600 + 75 + 10 + 2 + 1 + 1);
    agclose(ag);
    tg_value *small = TG_DELAYED(gr, tt_add, TG_DELAYED(gr, tt_inc, tg_int(1)),
                                 TG_DELAYED(gr, tt_inc, tg_int(2)));
    o.summarize_above = 2;
    ag = dot_of(&small, 1, &o);
    assert_int_equal(agnnodes(ag), 3); /* tt_inc x2, tt_add, result */
    assert_non_null(node_labelled(ag, "tt_inc\\n2 tasks"));
    agclose(ag);
    tg_graph_free(gr);
}

static void test_viz_rejects_bad_paths_and_input(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *a = TG_DELAYED(gr, tt_inc, tg_int(1));
    assert_int_equal(tg_visualize(&a, 1, "/nonexistent/dir/g.svg", NULL),
                     TG_EIO);
    assert_non_null(strstr(tg_last_error(), "/nonexistent/dir/g.svg"));
    const char *bmp = tmp("g.bmp");
    assert_int_equal(tg_visualize(&a, 1, bmp, NULL), TG_EINVAL);
    assert_non_null(strstr(tg_last_error(), "unknown extension '.bmp'"));
    assert_int_equal(access(bmp, F_OK), -1); /* nothing written */
    assert_int_equal(tg_visualize(&a, 1, "/tmp/no_extension", NULL), TG_EINVAL);
    assert_int_equal(tg_visualize(&a, 1, "/tmp/dir.svg/file", NULL), TG_EINVAL);
    assert_int_equal(tg_visualize(&a, 1, NULL, NULL), TG_EINVAL);
    assert_int_equal(tg_visualize(NULL, 1, tmp("n.svg"), NULL), TG_EINVAL);
    tg_value *none[1] = {NULL};
    assert_int_equal(tg_visualize(none, 1, tmp("n.svg"), NULL), TG_EINVAL);
    assert_int_equal(access(tmp("n.svg"), F_OK), -1); /* removed again */
    tg_viz_opts o = {.rankdir = (tg_viz_rankdir)9};
    assert_int_equal(tg_visualize(&a, 1, tmp("n.svg"), &o), TG_EINVAL);
    tg_graph *other = tg_graph_new();
    tg_value *pair[2] = {a, TG_DELAYED(other, tt_inc, tg_int(1))};
    assert_int_equal(tg_visualize(pair, 2, tmp("n.svg"), NULL), TG_EINVAL);
    assert_non_null(strstr(tg_last_error(), "different graphs"));
    tg_graph_free(other);
    tg_graph_free(gr);
}

static void test_viz_out_of_memory_fails_cleanly(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *root = nested(gr, 3);
    tg_viz_opts o = {.color = TG_VIZ_COLOR_ORDER, .all_data = true};
    const char *path = tmp("oom.dot");
    int rc = -1;
    for (long k = 0; rc != 0; k++) {
        tg__oom_inject(k, false);
        rc = tg_visualize(&root, 1, path, &o);
        long failures = tg__oom_failures();
        tg__oom_inject(-1, false);
        if (rc) {
            assert_int_equal(rc, TG_ENOMEM);
            assert_int_equal(failures, 1);
            assert_int_equal(access(path, F_OK), -1);
        }
        assert_true(k < 1000);
    }
    unlink(path);
    tg_graph_free(gr);
}

static void test_viz_renders_json_files(void **state)
{
    (void)state;
    tg_graph *gr = tg_graph_new();
    tg_value *root = nested(gr, 4);
    const char *json = tmp("n4.json"), *out = tmp("from_json.svg");
    assert_int_equal(tg_graph_write_json(&root, 1, json, NULL), 0);
    tg_viz_opts o = {.color = TG_VIZ_COLOR_ORDER};
    assert_int_equal(tg_visualize_json(json, out, &o), 0);
    svg s = svg_load(out);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']"), 20);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']//s:text[.='f']"), 6);
    assert_int_equal(svg_count(&s, "//s:g[@class='node']//s:ellipse"
                                   "[@fill='#440154']"),
                     1);
    svg_free(&s);
    o.color = TG_VIZ_COLOR_STATE;
    assert_int_equal(tg_visualize_json(json, out, &o), TG_EINVAL);
    assert_non_null(strstr(tg_last_error(), "no task states"));
    unlink(out);
    unlink(json);
    tg_graph_free(gr);
}

/* Writes text to a temporary .json file and renders it. */
static int render_text(const char *text)
{
    const char *json = tmp("bad.json");
    FILE *fp = fopen(json, "w");
    fputs(text, fp);
    fclose(fp);
    int rc = tg_visualize_json(json, tmp("bad.svg"), NULL);
    unlink(json);
    return rc;
}

static void test_viz_json_input_errors_are_clear(void **state)
{
    (void)state;
    assert_int_equal(tg_visualize_json("/nonexistent.json", tmp("x.svg"), NULL),
                     TG_ENOENT);
    assert_int_equal(render_text("{\"tasks\": [1, 2"), TG_EFORMAT);
    assert_non_null(strstr(tg_last_error(), ":1:"));
    assert_int_equal(render_text("[]"), TG_EFORMAT);
    assert_non_null(strstr(tg_last_error(), "\"tasks\""));
    assert_int_equal(render_text("{\"tasks\": [{\"key\": \"a\"}]}"),
                     TG_EFORMAT);
    assert_non_null(strstr(tg_last_error(), "task 0"));
    assert_int_equal(render_text("{\"tasks\": [{\"key\": \"a\", \"name\": "
                                 "\"f\", \"deps\": [\"b\"]}]}"),
                     TG_EFORMAT);
    assert_non_null(strstr(tg_last_error(), "unknown dependency 'b'"));
    assert_int_equal(render_text("{\"tasks\": [{\"key\": \"a\", \"name\": "
                                 "\"f\"}, {\"key\": \"a\", \"name\": "
                                 "\"f\"}]}"),
                     TG_EFORMAT);
    assert_non_null(strstr(tg_last_error(), "duplicate key 'a'"));
    assert_int_equal(render_text("{\"tasks\": [{\"key\": \"a\", \"name\": "
                                 "\"f\", \"state\": \"maybe\"}]}"),
                     TG_EFORMAT);
    assert_int_equal(render_text("{\"tasks\": [{\"key\": \"a\", \"name\": "
                                 "\"f\"}], \"targets\": [\"z\"]}"),
                     TG_EFORMAT);
    assert_int_equal(access(tmp("bad.svg"), F_OK), -1);
    assert_int_equal(render_text("{\"tasks\": [{\"key\": \"a\", \"name\": "
                                 "\"f\"}], \"targets\": [\"a\"]}"),
                     0);
    unlink(tmp("bad.svg"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_viz_svg_has_one_node_per_task),
        cmocka_unit_test(test_viz_png_and_pdf_have_their_signatures),
        cmocka_unit_test(test_viz_dot_parses_back),
        cmocka_unit_test(test_viz_graph_view_dedupes_and_boxes_literals),
        cmocka_unit_test(test_viz_data_boxes_show_their_literal),
        cmocka_unit_test(test_viz_plan_view_labels_fused_chains),
        cmocka_unit_test(test_viz_colours_by_static_order),
        cmocka_unit_test(test_viz_colours_by_state_and_duration),
        cmocka_unit_test(test_viz_summarizes_large_graphs_quickly),
        cmocka_unit_test(test_viz_summary_threshold_is_an_option),
        cmocka_unit_test(test_viz_rejects_bad_paths_and_input),
        cmocka_unit_test(test_viz_out_of_memory_fails_cleanly),
        cmocka_unit_test(test_viz_renders_json_files),
        cmocka_unit_test(test_viz_json_input_errors_are_clear),
    };
    return cmocka_run_group_tests_name("viz", tests, NULL, NULL);
}
