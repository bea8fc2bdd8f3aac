/* tests/test_csv.c - tg_read_csv, tg_to_csv and tg_frame_from_csv: RFC
 * 4180 edge cases, type inference, errors, and every blocksize giving
 * the same frame. */
#include "dataframe/csv_internal.h"
#include "df_util.h"

/* Reads path with blocksize bs on every scheduler; asserts the frame
 * prints as want. */
static void check_read(const char *path, size_t bs, const char *want)
{
    for (size_t k = 0; k < TD_N_SCHEDULERS; k++) {
        tg_graph *g = tg_graph_new();
        tg_csv_opts o = {.blocksize = bs};
        tg_dataframe *df = tg_read_csv(g, path, &o);
        if (!df)
            fail_msg("read_csv: %s", tg_last_error());
        tg_scheduler *s = td_schedulers[k]();
        tg_value *v = tg_df_compute(df, s);
        if (tg_is_error(v))
            fail_msg("bs %zu: %s", bs, tg_error_message(v));
        char *got = td_csv(v);
        if (strcmp(got, want) != 0)
            fail_msg("blocksize %zu:\n%s\nwanted:\n%s", bs, got, want);
        free(got);
        tg_decref(v);
        tg_scheduler_free(s);
        tg_graph_free(g);
    }
}

/* Every blocksize from 1 byte to the whole file gives the same frame. */
static void check_all_blocksizes(const char *path, const char *text,
                                 const char *want)
{
    size_t len = strlen(text);
    size_t step = tt_quick() ? 7 : 1;
    for (size_t bs = 1; bs <= len + 1; bs += step)
        check_read(path, bs, want);
    check_read(path, 0, want);
}

static void test_csv_infers_types_and_nulls(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *text = "i,f,s,b,e\n"
                       "1,2.5,x,true,\n"
                       "-3,,\"\",false,\n"
                       ",1e3,,True,\n";
    const char *path = td_write(dir, "a.csv", text);
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = tg_read_csv(g, path, NULL);
    assert_non_null(df);
    assert_int_equal(tg_df_ncols(df), 5);
    assert_int_equal(tg_df_coltype(df, 0), TG_DT_INT64);
    assert_int_equal(tg_df_coltype(df, 1), TG_DT_FLOAT64);
    assert_int_equal(tg_df_coltype(df, 2), TG_DT_STRING);
    assert_int_equal(tg_df_coltype(df, 3), TG_DT_BOOL);
    assert_int_equal(tg_df_coltype(df, 4), TG_DT_STRING); /* all null */
    tg_value *v = tg_df_compute(df, NULL);
    assert_int_equal(tg_frame_nrows(v), 3);
    assert_int_equal(tg_frame_int64(v, 0)[1], -3);
    assert_true(tg_frame_is_null(v, 0, 2));
    assert_true(tg_frame_float64(v, 1)[2] == 1000.0);
    assert_true(tg_frame_is_null(v, 1, 1));
    size_t len = 99;
    assert_non_null(tg_frame_str(v, 2, 1, &len)); /* "" is a string */
    assert_int_equal(len, 0);
    assert_null(tg_frame_str(v, 2, 2, &len)); /* empty field is null */
    assert_int_equal(tg_frame_null_count(v, 2), 1);
    assert_int_equal(tg_frame_bool(v, 3)[2], 1);
    tg_decref(v);
    tg_graph_free(g);
    check_all_blocksizes(path, text,
                         "i,f,s,b,e\n1,2.5,x,true,\n-3,,\"\",false,\n"
                         ",1000.0,,true,\n");
    td_rmdir(dir);
}

static void test_csv_quotes_commas_newlines_crlf(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *text = "id,name,note\r\n"
                       "1,\"Smith, J\",\"said \"\"hi\"\"\"\r\n"
                       "2,\"multi\nline\r\nfield\",plain\r\n"
                       "\r\n"
                       "3,\"\"\"\",\"a,\"\"b\"\"\nc\"\r\n"
                       "4,last,\"no newline at end\"";
    const char *path = td_write(dir, "q.csv", text);
    check_all_blocksizes(path, text,
                         "id,name,note\n"
                         "1,\"Smith, J\",\"said \"\"hi\"\"\"\n"
                         "2,\"multi\nline\r\nfield\",plain\n"
                         "3,\"\"\"\",\"a,\"\"b\"\"\nc\"\n"
                         "4,last,no newline at end\n");
    td_rmdir(dir);
}

/* A quoted field longer than the block, holding newlines and what looks
 * like records, must not be split. */
static void test_csv_block_boundary_inside_quoted_field(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *text = "k,v\n"
                       "1,\"x\n2,fake\n3,\"\"fake\"\"\n4,fake\"\n"
                       "5,\"\n\"\n"
                       "6,y\n";
    const char *path = td_write(dir, "b.csv", text);
    check_all_blocksizes(path, text,
                         "k,v\n"
                         "1,\"x\n2,fake\n3,\"\"fake\"\"\n4,fake\"\n"
                         "5,\"\n\"\n"
                         "6,y\n");
    td_rmdir(dir);
}

static void test_csv_empty_and_header_only_files(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *empty = td_write(dir, "e.csv", "");
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = tg_read_csv(g, empty, NULL);
    assert_non_null(df);
    assert_int_equal(tg_df_npartitions(df), 0);
    assert_int_equal(tg_df_ncols(df), 0);
    tg_value *v = tg_df_compute(df, NULL);
    assert_int_equal(tg_frame_nrows(v), 0);
    tg_decref(v);
    tg_graph_free(g);

    const char *hdr = td_write(dir, "h.csv", "a,b");
    g = tg_graph_new();
    df = tg_read_csv(g, hdr, NULL);
    assert_non_null(df);
    assert_int_equal(tg_df_ncols(df), 2);
    assert_string_equal(tg_df_colname(df, 1), "b");
    td_assert_frame(tg_df_compute(df, NULL), "a,b\n");
    tg_graph_free(g);

    /* An empty file among others contributes nothing. */
    td_write(dir, "m1.csv", "a,b\n1,2\n");
    td_write(dir, "m2.csv", "");
    td_write(dir, "m3.csv", "a,b\n3,4\n5,6\n");
    char pat[512];
    snprintf(pat, sizeof pat, "%s/m*.csv", dir);
    check_read(pat, 4, "a,b\n1,2\n3,4\n5,6\n");
    check_read(pat, 0, "a,b\n1,2\n3,4\n5,6\n");
    td_rmdir(dir);
}

/* The error of reading path with blocksize bs (at build time or when
 * computed) contains want. */
static void check_error(const char *path, size_t bs, const char *want)
{
    tg_graph *g = tg_graph_new();
    tg_csv_opts o = {.blocksize = bs, .sample_bytes = 8};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    tg_value *v = df ? tg_df_compute(df, NULL) : NULL;
    const char *msg = df ? tg_error_message(v) : tg_last_error();
    assert_true(!df || tg_is_error(v));
    if (!strstr(msg, want))
        fail_msg("bs %zu: '%s' lacks '%s'", bs, msg, want);
    tg_decref(v);
    tg_graph_free(g);
}

static void test_csv_ragged_rows_name_file_and_line(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *text = "a,b\nu,v\n\"x\ny\",3\n4\n5,6\n";
    char path[512];
    snprintf(path, sizeof path, "%s", td_write(dir, "r.csv", text));
    char want[600];
    snprintf(want, sizeof want, "%s:5: expected 2 fields, found 1", path);
    for (size_t bs = 1; bs <= strlen(text); bs++)
        check_error(path, bs, want);
    td_write(dir, "r.csv", "a,b\n1,2\n3,4,5\n");
    snprintf(want, sizeof want, "%s:3: expected 2 fields, found 3", path);
    check_error(path, 0, want);
    td_write(dir, "r.csv", "a,b\n1,2\n3,\"open\n");
    check_error(path, 0, "unterminated quoted field");
    td_write(dir, "r.csv", "a,b\n1,2\n3,x\"y\n");
    check_error(path, 0, ":3: quote inside an unquoted field");
    td_rmdir(dir);
}

static void test_csv_value_not_matching_inferred_type(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    char path[512];
    snprintf(path, sizeof path, "%s",
             td_write(dir, "t.csv", "a,b\n1,2\n3,4\n5,x\n"));
    char want[600];
    snprintf(want, sizeof want,
             "%s:4: column 'b': cannot parse \"x\" "
             "as int64",
             path);
    check_error(path, 0, want);
    check_error(path, 5, want);

    /* dtypes fix it, and keep leading zeros of strings. */
    td_write(dir, "t.csv", "a,b\n007,2\n3,x\n");
    tg_graph *g = tg_graph_new();
    const char *names[] = {"a", "b"};
    tg_dtype types[] = {TG_DT_STRING, TG_DT_STRING};
    tg_csv_opts o = {.n_dtypes = 2, .dtype_names = names, .dtypes = types};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    assert_non_null(df);
    td_assert_frame(tg_df_compute(df, NULL), "a,b\n007,2\n3,x\n");
    const char *bad[] = {"zz"};
    o = (tg_csv_opts){.n_dtypes = 1, .dtype_names = bad, .dtypes = types};
    assert_null(tg_read_csv(g, path, &o));
    assert_non_null(strstr(tg_last_error(), "no column 'zz'"));
    tg_graph_free(g);
    td_rmdir(dir);
}

static void test_csv_missing_file_and_header_mismatch(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    tg_graph *g = tg_graph_new();
    char path[512];
    snprintf(path, sizeof path, "%s/nope.csv", dir);
    assert_null(tg_read_csv(g, path, NULL));
    assert_non_null(strstr(tg_last_error(), path));
    td_write(dir, "x1.csv", "a,b\n1,2\n");
    td_write(dir, "x2.csv", "a,c\n1,2\n");
    snprintf(path, sizeof path, "%s/x*.csv", dir);
    assert_null(tg_read_csv(g, path, NULL));
    assert_non_null(strstr(tg_last_error(), "another header"));
    td_write(dir, "d.csv", "a,a\n1,2\n");
    snprintf(path, sizeof path, "%s/d.csv", dir);
    assert_null(tg_read_csv(g, path, NULL));
    assert_non_null(strstr(tg_last_error(), "duplicate column 'a'"));
    tg_graph_free(g);
    td_rmdir(dir);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_csv_to_csv_round_trips(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *text = "a,b,c\n1,0.1,\"x,y\"\n2,,\"\"\n3,1e300,z\n";
    char in[512], out[512], pat[512];
    snprintf(in, sizeof in, "%s", td_write(dir, "in.csv", text));
    snprintf(out, sizeof out, "%s/out.csv", dir);
    snprintf(pat, sizeof pat, "%s/part-*.csv", dir);
    tg_graph *g = tg_graph_new();
    tg_csv_opts o = {.blocksize = 16};
    tg_dataframe *df = tg_read_csv(g, in, &o);
    assert_true(tg_df_npartitions(df) > 1);
    tg_value *n1 = tg_compute(tg_to_csv(df, out), NULL);
    tg_value *n2 = tg_compute(tg_to_csv(df, pat), NULL);
    assert_int_equal(tg_as_int(n1), 3);
    assert_int_equal(tg_as_int(n2), 3);
    tg_decref(n1);
    tg_decref(n2);
    char *got = slurp(out);
    assert_string_equal(got, "a,b,c\n1,0.1,\"x,y\"\n2,,\"\"\n3,1e+300,z\n");
    free(got);
    tg_dataframe *back = tg_read_csv(g, pat, NULL);
    assert_non_null(back);
    td_assert_frame(tg_df_compute(back, NULL),
                    "a,b,c\n1,0.1,\"x,y\"\n2,,\"\"\n3,1e+300,z\n");
    tg_graph_free(g);
    td_rmdir(dir);
}

static void test_csv_frame_from_memory(void **state)
{
    (void)state;
    const char *text = "x;y\n1;\"a;b\"\n2;c";
    tg_csv_opts o = {.delimiter = ';'};
    tg_value *v = tg_frame_from_csv(text, strlen(text), &o);
    assert_false(tg_is_error(v));
    assert_int_equal(tg_frame_nrows(v), 2);
    size_t len;
    const char *s = tg_frame_str(v, 1, 0, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a;b", 3);
    tg_decref(v);
    v = tg_frame_from_csv("a\n\"x", 4, NULL);
    assert_true(tg_is_error(v));
    assert_non_null(strstr(tg_error_message(v), "<memory>:2: "
                                                "unterminated"));
    tg_decref(v);
}

/* Numbers print as "%lld" and as the shortest of "%.15g".."%.17g" with
 * a '.' kept: the fast paths for integers and for decimals of at most
 * six places agree with printf at their edges and fall back past them. */
static void test_csv_writes_numbers_as_printf_would(void **state)
{
    (void)state;
    const char *names[] = {"i", "f"};
    tg_dtype types[] = {TG_DT_INT64, TG_DT_FLOAT64};
    const int64_t ints[] = {0, -7, INT64_MAX, INT64_MIN, 1000000, -1, 42};
    const double fl[] = {1.0, -12.3456,  0.0001,        0.00009, 999999999.5,
                         1e9, 0.1 + 0.2, 123456.789012, -0.0};
    tg_frame_builder *b = tg_frame_builder_new(2, names, types);
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(tg_frame_builder_int(b, 0, ints[i % 7]), 0);
        assert_int_equal(tg_frame_builder_float(b, 1, fl[i]), 0);
    }
    tg_value *f = tg_frame_builder_finish(b);
    char *got = td_csv(f);
    assert_string_equal(got, "i,f\n0,1.0\n-7,-12.3456\n"
                             "9223372036854775807,0.0001\n"
                             "-9223372036854775808,9e-05\n"
                             "1000000,999999999.5\n-1,1000000000.0\n"
                             "42,0.30000000000000004\n0,123456.789012\n"
                             "-7,-0.0\n");
    free(got);
    tg_decref(f);
}

/* csv_format turns a partition into [rows, CSV text] (the header only
 * when asked) and the write chain appends such texts; malformed
 * parameters fail with a message. */
static void test_csv_format_task_and_text_chain(void **state)
{
    (void)state;
    tg_fn fmt = NULL, wr = NULL;
    void *ctx = NULL;
    assert_int_equal(tg_lookup("tg.df.csv_format", &fmt, &ctx), 0);
    assert_int_equal(tg_lookup("tg.df.write_csv", &wr, &ctx), 0);
    const char *csv = "a,b\n1,x\n2,\n";
    tg_value *f = tg_frame_from_csv(csv, strlen(csv), NULL);
    tg_value *opts = tg_list(2, tg_str(","), tg_null());
    tg_value *semi = tg_list(2, tg_str(";"), tg_str("NA"));
    tg_value *args[3] = {f, tg_bool(true), opts};
    tg_value *t0 = fmt(args, 3, NULL);
    args[1] = tg_bool(false);
    tg_value *t1 = fmt(args, 3, NULL);
    args[2] = semi; /* the options reach the text */
    tg_value *t2 = fmt(args, 3, NULL);
    assert_int_equal(tg_as_int(tg_list_get(t0, 0)), 2);
    size_t len = 0;
    const char *text = tg_as_bytes(tg_list_get(t1, 1), &len);
    assert_int_equal(len, 7);
    assert_memory_equal(text, "1,x\n2,\n", 7);
    text = tg_as_bytes(tg_list_get(t2, 1), &len);
    assert_int_equal(len, 9);
    assert_memory_equal(text, "1;x\n2;NA\n", 9);
    char *dir = td_mkdir();
    char path[512];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    tg_value *wa[4] = {t0, tg_str(path), tg_null(), opts};
    tg_value *r0 = wr(wa, 4, NULL);
    tg_value *wb[4] = {t1, wa[1], r0, opts};
    tg_value *r1 = wr(wb, 4, NULL);
    assert_int_equal(tg_as_int(r1), 4);
    FILE *in = fopen(path, "rb");
    char got[64] = "";
    assert_non_null(in);
    assert_int_equal(fread(got, 1, sizeof got - 1, in), 18);
    fclose(in);
    assert_string_equal(got, "a,b\n1,x\n2,\n1,x\n2,\n");
    tg_value *bad = tg_int(1);
    tg_value *ba[3] = {f, bad, opts};
    tg_value *e = fmt(ba, 3, NULL);
    assert_non_null(strstr(tg_error_message(e), "malformed header"));
    tg_decref(e);
    tg_value *bo[3] = {f, tg_bool(true), bad};
    e = fmt(bo, 3, NULL);
    assert_non_null(strstr(tg_error_message(e), "malformed options"));
    tg_decref(e);
    tg_value *nt = tg_list(1, tg_int(1));
    tg_value *bw[4] = {nt, wa[1], wa[2], opts};
    e = wr(bw, 4, NULL);
    assert_non_null(strstr(tg_error_message(e), "malformed text"));
    tg_value *all[] = {e,  nt, bad, r0, r1,   wa[1], wa[2],
                       t0, t1, t2,  f,  opts, semi};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tg_decref(all[i]);
    td_rmdir(dir);
}

/* Large blocks full of quoted newlines (the vectorised counting path):
 * every blocksize gives the same rows, and errors keep exact lines. */
static void test_csv_many_quoted_newlines(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    size_t rows = tt_scale(4000, 500), cap = rows * 40 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text, "n,s\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)sprintf(
            text + len,
            i % 3 ? "%zu,\"a\n\"\"b\"\"\n%zu\"\n" : "%zu,plain %zu\n", i, i);
    char path[512];
    snprintf(path, sizeof path, "%s", td_write(dir, "m.csv", text));
    tg_agg aggs[] = {{"n", TG_AGG_SUM, NULL},
                     {"s", TG_AGG_NUNIQUE, NULL},
                     {"s", TG_AGG_MAX, NULL}};
    char want[128], best[32] = "", cur[32];
    for (size_t i = 0; i < rows; i += 3) {
        snprintf(cur, sizeof cur, "plain %zu", i);
        if (strcmp(cur, best) > 0)
            strcpy(best, cur);
    }
    snprintf(want, sizeof want, "n_sum,s_nunique,s_max\n%zu,%zu,%s\n",
             rows * (rows - 1) / 2, rows, best);
    size_t sizes[] = {0, 4096, 10007, 65536};
    for (size_t b = 0; b < 4; b++) {
        tg_graph *g = tg_graph_new();
        tg_csv_opts o = {.blocksize = sizes[b]};
        tg_dataframe *df = tg_read_csv(g, path, &o);
        td_assert_frame(tg_compute(tg_df_agg(df, 3, aggs, NULL), NULL), want);
        tg_graph_free(g);
    }
    /* A ragged row at the end: its line counts every quoted newline. */
    strcpy(text + len, "oops\n");
    td_write(dir, "m.csv", text);
    char err[600];
    size_t lines = 2 + rows + 2 * (rows - (rows + 2) / 3);
    snprintf(err, sizeof err, "%s:%zu: expected 2 fields", path, lines);
    tg_graph *g = tg_graph_new();
    tg_csv_opts o = {.blocksize = 4096, .sample_bytes = 1000};
    tg_value *v = tg_df_compute(tg_read_csv(g, path, &o), NULL);
    assert_true(tg_is_error(v));
    if (!strstr(tg_error_message(v), err))
        fail_msg("'%s' lacks '%s'", tg_error_message(v), err);
    tg_decref(v);
    tg_graph_free(g);
    free(text);
    td_rmdir(dir);
}

/* A query converts only the columns it uses: a bad value elsewhere does
 * not fail it, while a full compute still reports it. */
static void test_csv_parses_only_used_columns(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *path = td_write(dir, "p.csv", "a,b,c\n1,2,3\n4,x,6\n");
    tg_graph *g = tg_graph_new();
    const char *names[] = {"b"};
    tg_dtype types[] = {TG_DT_INT64};
    tg_csv_opts o = {.n_dtypes = 1, .dtype_names = names, .dtypes = types};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    tg_value *n = tg_compute(tg_df_len(df), NULL);
    assert_int_equal(tg_as_int(n), 2);
    tg_decref(n);
    tg_agg sum = {"c", TG_AGG_SUM, NULL};
    td_assert_frame(tg_compute(tg_df_agg(tg_df_filter(df, tg_gt(tg_col("a"),
                                                                tg_lit_int(1))),
                                         1, &sum, NULL),
                               NULL),
                    "c_sum\n6\n");
    tg_value *all = tg_df_compute(df, NULL);
    assert_true(tg_is_error(all));
    assert_non_null(strstr(tg_error_message(all), ":3: column 'b'"));
    tg_decref(all);
    tg_graph_free(g);
    td_rmdir(dir);
}

/* Building a second query on a reader never changes what an earlier
 * one parses: the columns a read task parses are its argument.  (They
 * were state of the reader, read when the task ran: building a sum of b
 * made the row count parse b too, and fail on "oops".) */
static void test_csv_second_query_does_not_change_the_first(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    char path[512];
    snprintf(path, sizeof path, "%s",
             td_write(dir, "q.csv", "a,b\n1,2\n3,oops\n"));
    const char *names[] = {"b"};
    tg_dtype types[] = {TG_DT_INT64};
    tg_csv_opts o = {.n_dtypes = 1, .dtype_names = names, .dtypes = types};
    tg_graph *g = tg_graph_new(), *fresh = tg_graph_new();
    tg_dataframe *df = tg_read_csv(g, path, &o);
    tg_value *len1 = tg_df_len(df);
    char *key1 = strdup(tg_key(len1));
    tg_value *n = tg_compute(len1, NULL);
    assert_int_equal(tg_as_int(n), 2);
    tg_decref(n);
    tg_agg sum = {"b", TG_AGG_SUM, NULL};
    assert_non_null(tg_df_agg(df, 1, &sum, NULL)); /* built, not computed */
    tg_value *len2 = tg_df_len(df);
    n = tg_compute(len2, NULL);
    if (tg_is_error(n))
        fail_msg("len after building a sum: %s", tg_error_message(n));
    assert_int_equal(tg_as_int(n), 2);
    tg_decref(n);
    /* The same query has the same key, on this graph and on a fresh one
     * where nothing else was built. */
    assert_string_equal(tg_key(len2), key1);
    tg_value *len3 = tg_df_len(tg_read_csv(fresh, path, &o));
    assert_string_equal(tg_key(len3), key1);
    /* The sum itself parses b and fails on it. */
    tg_value *e = tg_compute(tg_df_agg(df, 1, &sum, NULL), NULL);
    assert_true(tg_is_error(e));
    assert_non_null(strstr(tg_error_message(e), ":3: column 'b'"));
    tg_decref(e);
    free(key1);
    tg_graph_free(fresh);
    tg_graph_free(g);
    td_rmdir(dir);
}

/* Planning is linear in the number of blocks: a 1-byte blocksize over
 * a file of ~24,000 bytes makes one partition per byte, and the graph,
 * the plan and the run stay small (each block task used to take the
 * counts of every block before it: quadratic, gigabytes here).  A
 * ragged row in the last block still names its exact line, counted
 * through quoted newlines in the first blocks. */
static void test_csv_many_partitions_plan_linearly(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    size_t rows = tt_scale(3500, 300), cap = rows * 16 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text, "k,v\n1,\"a\nb\"\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)sprintf(text + len, "%zu,%zu\n", i, i % 7);
    len += (size_t)sprintf(text + len, "oops\n9,9\n");
    char path[512], want[600];
    snprintf(path, sizeof path, "%s", td_write(dir, "many.csv", text));
    snprintf(want, sizeof want, "%s:%zu: expected 2 fields, found 1", path,
             rows + 4);
    long before = tt_peak_rss_kib();
    tg_graph *g = tg_graph_new();
    tg_csv_opts o = {.blocksize = 1, .sample_bytes = 64};
    tg_dataframe *df = tg_read_csv(g, path, &o);
    assert_int_equal(tg_df_npartitions(df), len);
    tg_value *v = tg_compute(tg_df_len(df), NULL);
    assert_true(tg_is_error(v));
    if (!strstr(tg_error_message(v), want))
        fail_msg("'%s' lacks '%s'", tg_error_message(v), want);
    tg_decref(v);
    tg_graph_free(g);
    if (tt_check_rss())
        assert_true(tt_peak_rss_kib() - before < 100 * 1024);
    free(text);
    td_rmdir(dir);
}

/* Found by clang's UBSan (make test runs the unit tests under it): the
 * scanner offset its NULL base on the first row of every CSV. */
static void test_csv_scans_the_first_row_without_offsetting_null(void **state)
{
    (void)state;
    tg_value *f = tg_frame_from_csv("a\n1\n", 4, NULL);
    assert_int_equal(tg_frame_nrows(f), 1);
    assert_int_equal(tg_frame_int64(f, 0)[0], 1);
    tg_decref(f);
}

/* Schemas cost linear time in their width: the duplicate-name checks
 * and the lookups by name of every column when a query is lowered go
 * through hashed indices, where they compared each name with every
 * other (100,000 columns took 18 s to build as a frame and 103 s to
 * read as a header; now well under a second each).  A duplicate far
 * from its twin is still found. */
#if defined(__SANITIZE_ADDRESS__)
#define WIDE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WIDE_UNDER_ASAN 1
#endif
#endif
#ifndef WIDE_UNDER_ASAN
#define WIDE_UNDER_ASAN 0
#endif

static void test_csv_wide_header_and_frame_build_in_linear_time(void **state)
{
    (void)state;
    /* A fifth under valgrind and ASan (the fuzz build runs the unit
     * tests at full scale), where allocation is tens of times slower;
     * quadratic work would still take minutes there. */
    size_t n = WIDE_UNDER_ASAN ? 20000 : tt_scale(100000, 20000);
    char **names = malloc(n * sizeof *names);
    tg_dtype *types = calloc(n, sizeof *types);
    size_t cap = n * 8 + 2, len = 0;
    char *text = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        char buf[24];
        snprintf(buf, sizeof buf, "c%zu", i);
        names[i] = strdup(buf);
        len +=
            (size_t)snprintf(text + len, cap - len, "%s%s", i ? "," : "", buf);
    }
    text[len++] = '\n';
    text[len] = 0;

    tg_frame_builder *b =
        tg_frame_builder_new(n, (const char *const *)names, types);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tg_frame_builder_int(b, i, (int64_t)i), 0);
    tg_value *f = tg_frame_builder_finish(b);
    assert_int_equal(tg_frame_ncols(f), n);
    assert_int_equal(tg_frame_colindex(f, names[n - 1]), (long)n - 1);

    char *dir = td_mkdir();
    char path[512];
    snprintf(path, sizeof path, "%s", td_write(dir, "wide.csv", text));
    tg_graph *g = tg_graph_new();
    tg_dataframe *df = tg_read_csv(g, path, NULL);
    assert_non_null(df);
    assert_int_equal(tg_df_ncols(df), n);
    /* Lowered through a select of every column in reverse order. */
    const char **rev = malloc(n * sizeof *rev);
    for (size_t i = 0; i < n; i++)
        rev[i] = names[n - 1 - i];
    tg_value *v = tg_df_compute(tg_df_select(df, n, rev), NULL);
    assert_false(tg_is_error(v));
    assert_int_equal(tg_frame_ncols(v), n);
    assert_int_equal(tg_frame_nrows(v), 0);
    assert_string_equal(tg_frame_colname(v, 0), names[n - 1]);
    tg_decref(v);
    tg_value *parts[1] = {f};
    df = tg_df_from_delayed(g, 1, parts, n, (const char *const *)names, types);
    assert_non_null(df);
    v = tg_df_compute(df, NULL);
    assert_int_equal(tg_frame_int64(v, n - 1)[0], (int64_t)n - 1);
    tg_decref(v);
    tg_graph_free(g);

    /* The last name repeats the first. */
    free(names[n - 1]);
    names[n - 1] = strdup("c0");
    assert_null(tg_frame_builder_new(n, (const char *const *)names, types));
    assert_non_null(strstr(tg_last_error(), "duplicate column 'c0'"));
    strcpy(strrchr(text, ',') + 1, "c0\n");
    td_write(dir, "wide.csv", text);
    g = tg_graph_new();
    assert_null(tg_read_csv(g, path, NULL));
    assert_non_null(strstr(tg_last_error(), ":1: duplicate column 'c0'"));
    tg_graph_free(g);

    td_rmdir(dir);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(rev);
    free(types);
    free(text);
}

/* A quote or a line end as the delimiter would make records ambiguous
 * ("expected 3 fields, found 3"): refused with a clear message. */
static void test_csv_refuses_quote_and_line_ends_as_delimiter(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    const char *path = td_write(dir, "d.csv", "a,b\n1,2\n");
    const char bad[] = {'"', '\n', '\r'};
    const char *what[] = {"a quote", "a newline", "a carriage return"};
    tg_graph *g = tg_graph_new();
    for (size_t i = 0; i < 3; i++) {
        tg_csv_opts o = {.delimiter = bad[i]};
        assert_null(tg_read_csv(g, path, &o));
        assert_non_null(strstr(tg_last_error(), "invalid argument: read_csv: "
                                                "the delimiter cannot be"));
        assert_non_null(strstr(tg_last_error(), what[i]));
        tg_value *v = tg_frame_from_csv("a,b\n1,2\n", 8, &o);
        assert_true(tg_is_error(v));
        assert_non_null(strstr(tg_error_message(v), what[i]));
        assert_non_null(strstr(tg_last_error(), "frame_from_csv: the "
                                                "delimiter cannot be"));
        tg_decref(v);
    }
    tg_csv_opts tab = {.delimiter = '\t'};
    tg_value *v = tg_frame_from_csv("a\tb\n1\t2\n", 8, &tab);
    assert_int_equal(tg_frame_ncols(v), 2);
    tg_decref(v);
    tg_graph_free(g);
    td_rmdir(dir);
}

/* A quoted field spanning many blocks: every block inside it learns
 * from its own bytes that no record starts there (it used to scan on
 * to the field's end, once per block: 5.5 s for a 50 MiB field at
 * 256 KiB blocks instead of 0.19 s as one block).  The frame is the
 * same at every blocksize. */
static void test_csv_long_field_over_many_blocks(void **state)
{
    (void)state;
    /* The scan reads only the bytes it is given: an open quote to the
     * end is "no record here", not a request for more. */
    int64_t nl = -1;
    assert_int_equal(tg__csv_record_end("ab\ncd", 5, true, &nl), -1);
    assert_int_equal(nl, 1);
    assert_int_equal(tg__csv_record_end("a\"\n\"\nb", 6, false, &nl), 4);
    assert_int_equal(nl, 1);
    assert_int_equal(tg__csv_record_end("x\"\"\ny", 5, true, &nl), -1);
    assert_int_equal(tg__csv_record_end("\ny", 2, false, &nl), 0);
    assert_int_equal(nl, 0);

    char *dir = td_mkdir();
    size_t field = tt_scale(1 << 20, 64 << 10), cap = field + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text, "k,v\n1,\"");
    for (size_t i = 0; i < field; i++)
        text[len++] = i % 61 == 60 ? '\n' : i % 97 == 0 ? ',' : 'x';
    len += (size_t)sprintf(text + len, "\"\n2,y\n3,\"\"\"\"\n");
    char path[512];
    snprintf(path, sizeof path, "%s", td_write(dir, "long.csv", text));
    tg_graph *g = tg_graph_new();
    tg_value *whole = tg_df_compute(tg_read_csv(g, path, NULL), NULL);
    assert_int_equal(tg_frame_nrows(whole), 3);
    size_t flen = 0;
    assert_non_null(tg_frame_str(whole, 1, 0, &flen));
    assert_int_equal(flen, field);
    char *want = td_csv(whole);
    tg_decref(whole);
    tg_graph_free(g);
    size_t sizes[] = {4096, 4093, 65536, 1000};
    for (size_t b = 0; b < 4; b++) {
        g = tg_graph_new();
        tg_csv_opts o = {.blocksize = sizes[b]};
        tg_dataframe *df = tg_read_csv(g, path, &o);
        assert_true(tg_df_npartitions(df) > field / sizes[b]);
        td_assert_frame(tg_df_compute(df, NULL), want);
        tg_graph_free(g);
    }
    /* An error after the field keeps its line. */
    strcpy(text + len, "oops\n");
    td_write(dir, "long.csv", text);
    char err[600];
    snprintf(err, sizeof err, "%s:%zu: expected 2 fields", path,
             5 + field / 61);
    g = tg_graph_new();
    tg_csv_opts o = {.blocksize = 4096, .sample_bytes = 64};
    tg_value *v = tg_df_compute(tg_read_csv(g, path, &o), NULL);
    assert_true(tg_is_error(v));
    if (!strstr(tg_error_message(v), err))
        fail_msg("'%s' lacks '%s'", tg_error_message(v), err);
    tg_decref(v);
    tg_graph_free(g);
    free(want);
    free(text);
    td_rmdir(dir);
}

/* A malformed row fails the same way wherever it is: the builder
 * succeeds (inference stops before the row) and compute returns an
 * error value reading "file:line: what".  A bad row inside the
 * type-inference sample used to fail the builder instead, with
 * "malformed data: " in front. */
static void
test_csv_malformed_row_fails_at_compute_in_or_past_sample(void **state)
{
    (void)state;
    char *dir = td_mkdir();
    size_t rows = 40000; /* 500 KB: past the 256 KiB sample */
    const char *bad[] = {"7\n", "7,\"x\"y\n", "7,8,9\n"};
    const char *what[] = {"expected 2 fields, found 1",
                          "unexpected character after a closing quote",
                          "expected 2 fields, found 3"};
    for (size_t k = 0; k < 3; k++) {
        for (size_t far = 0; far < 2; far++) {
            size_t n = far ? rows : 2, cap = n * 16 + 64, len = 0;
            char *text = malloc(cap);
            len += (size_t)sprintf(text, "a,b\n");
            for (size_t i = 0; i < n; i++)
                len += (size_t)sprintf(text + len, "%zu,%zu\n", i, i);
            strcpy(text + len, bad[k]);
            char path[512], want[700];
            snprintf(path, sizeof path, "%s", td_write(dir, "m.csv", text));
            snprintf(want, sizeof want, "%s:%zu: %s", path, n + 2, what[k]);
            tg_graph *g = tg_graph_new();
            tg_dataframe *df = tg_read_csv(g, path, NULL);
            if (!df)
                fail_msg("row %zu failed the builder: %s", n + 2,
                         tg_last_error());
            assert_int_equal(tg_df_coltype(df, 1), TG_DT_INT64);
            tg_value *v = tg_df_compute(df, NULL);
            assert_true(tg_is_error(v));
            if (!strstr(tg_error_message(v), want)
                || strstr(tg_error_message(v), "malformed data"))
                fail_msg("'%s' is not '%s'", tg_error_message(v), want);
            tg_decref(v);
            tg_graph_free(g);
            v = tg_frame_from_csv(text, strlen(text), NULL);
            snprintf(want, sizeof want, "<memory>:%zu: %s", n + 2, what[k]);
            assert_string_equal(tg_error_message(v), want);
            tg_decref(v);
            free(text);
        }
    }
    td_rmdir(dir);
}

int main(void)
{
    tt_start_cluster(); /* first: see test_util.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_scans_the_first_row_without_offsetting_null),
        cmocka_unit_test(test_csv_infers_types_and_nulls),
        cmocka_unit_test(test_csv_quotes_commas_newlines_crlf),
        cmocka_unit_test(test_csv_block_boundary_inside_quoted_field),
        cmocka_unit_test(test_csv_empty_and_header_only_files),
        cmocka_unit_test(test_csv_ragged_rows_name_file_and_line),
        cmocka_unit_test(test_csv_value_not_matching_inferred_type),
        cmocka_unit_test(test_csv_missing_file_and_header_mismatch),
        cmocka_unit_test(test_csv_to_csv_round_trips),
        cmocka_unit_test(test_csv_frame_from_memory),
        cmocka_unit_test(test_csv_writes_numbers_as_printf_would),
        cmocka_unit_test(test_csv_format_task_and_text_chain),
        cmocka_unit_test(test_csv_parses_only_used_columns),
        cmocka_unit_test(test_csv_second_query_does_not_change_the_first),
        cmocka_unit_test(test_csv_many_quoted_newlines),
        cmocka_unit_test(test_csv_many_partitions_plan_linearly),
        cmocka_unit_test(test_csv_wide_header_and_frame_build_in_linear_time),
        cmocka_unit_test(test_csv_refuses_quote_and_line_ends_as_delimiter),
        cmocka_unit_test(test_csv_long_field_over_many_blocks),
        cmocka_unit_test(
            test_csv_malformed_row_fails_at_compute_in_or_past_sample),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
