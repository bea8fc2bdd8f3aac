/* tests/test_csv_na.c - missing values in CSV (na_values, na_rep, NaN
 * and pandas' NA strings), the round trip of every column type through
 * the writer and the reader, and the cases of the CSV fuzzers'
 * properties (tests/fuzz/fuzz_csv*.c). */
#include <math.h>

#include "df_util.h"

/* A frame with one column of type t holding 1, null, 2 (or their kind);
 * strings also hold "", "NA" and "x,y". */
static tg_value *null_frame(tg_dtype t)
{
    const char *names[] = {"c"};
    tg_frame_builder *b = tg_frame_builder_new(1, names, &t);
    for (int i = 0; i < 3; i++) {
        if (i == 1)
            tg_frame_builder_null(b, 0);
        else if (t == TG_DT_INT64)
            tg_frame_builder_int(b, 0, i);
        else if (t == TG_DT_FLOAT64)
            tg_frame_builder_float(b, 0, i + 0.5);
        else if (t == TG_DT_BOOL)
            tg_frame_builder_bool(b, 0, i == 0);
        else
            tg_frame_builder_str(b, 0, i ? "x,y" : "NA", i ? 3 : 2);
    }
    if (t == TG_DT_STRING)
        tg_frame_builder_str(b, 0, "", 0);
    return tg_frame_builder_finish(b);
}

/* Writes f with wo, reads it back with ro (the column typed t): the
 * frame read. */
static tg_value *write_read(const tg_value *f, tg_dtype t,
                            const tg_csv_opts *wo, tg_csv_opts ro)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(tg_frame_write_csv_opts(f, out, wo), 0);
    assert_int_equal(fclose(out), 0);
    const char *names[] = {"c"};
    ro.n_dtypes = 1, ro.dtype_names = names, ro.dtypes = &t;
    tg_value *back = tg_frame_from_csv(buf, len, &ro);
    if (tg_is_error(back))
        fail_msg("%s: %s", buf, tg_error_message(back));
    free(buf);
    return back;
}

/* Nulls survive a CSV round trip in every column type, one-column
 * frames included: a lone null was an empty line, which reading skips
 * ("x\n1\n\n2\n" read back as 2 rows).  By default it is written "",
 * null again in a number or bool column; in a string column "" is the
 * empty string, so there the default keeps the row but not the null,
 * and na_rep with the same na_values keeps both. */
static void test_csv_nulls_round_trip_in_every_type(void **state)
{
    (void)state;
    const tg_dtype types[] = {TG_DT_INT64, TG_DT_FLOAT64, TG_DT_BOOL,
                              TG_DT_STRING};
    const char *na[] = {"NA"};
    tg_csv_opts wna = {.na_rep = "NA"};
    tg_csv_opts rna = {.n_na_values = 1, .na_values = na};
    for (size_t k = 0; k < 4; k++) {
        tg_value *f = null_frame(types[k]);
        char *want = td_csv(f);
        /* Default options. */
        tg_value *back = write_read(f, types[k], NULL, (tg_csv_opts){0});
        assert_int_equal(tg_frame_nrows(back), tg_frame_nrows(f));
        if (types[k] != TG_DT_STRING) {
            td_assert_frame(back, want);
            assert_true(tg_frame_is_null(f, 0, 1));
        } else {
            size_t len = 99;
            assert_false(tg_frame_is_null(back, 0, 1)); /* documented */
            assert_non_null(tg_frame_str(back, 0, 1, &len));
            assert_int_equal(len, 0);
            tg_decref(back);
        }
        /* na_rep "NA", read with na_values {"NA"}: exact, and the
         * string "NA" was quoted, so it stays a string. */
        back = write_read(f, types[k], &wna, rna);
        assert_true(tg_frame_is_null(back, 0, 1));
        td_assert_frame(back, want);
        free(want);
        tg_decref(f);
    }
    /* The one-column file of the issue, and the bytes written. */
    tg_value *f = tg_frame_from_csv("x\n1\n\"\"\n2\n", 9, NULL);
    assert_int_equal(tg_frame_nrows(f), 3);
    assert_true(tg_frame_is_null(f, 0, 1));
    char *got = td_csv(f);
    assert_string_equal(got, "x\n1\n\"\"\n2\n");
    free(got);
    tg_decref(f);
    f = null_frame(TG_DT_STRING);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(tg_frame_write_csv_opts(f, out, &wna), 0);
    fclose(out);
    assert_string_equal(buf, "c\n\"NA\"\nNA\n\"x,y\"\n\"\"\n");
    free(buf);
    tg_decref(f);

    /* Several columns, through tg_to_csv_opts and tg_read_csv. */
    char *dir = td_mkdir();
    const char *text = "i,f,b,s\n1,0.5,true,NA\n,,,\n3,,false,\"\"\n";
    char in[512], outp[512];
    snprintf(in, sizeof in, "%s", td_write(dir, "in.csv", text));
    snprintf(outp, sizeof outp, "%s/out.csv", dir);
    tg_graph *g = tg_graph_new();
    const char *names[] = {"s"};
    tg_dtype st = TG_DT_STRING;
    tg_csv_opts o = {.n_dtypes = 1, .dtype_names = names, .dtypes = &st};
    tg_dataframe *df = tg_read_csv(g, in, &o);
    tg_value *want = tg_df_compute(df, NULL);
    assert_true(tg_frame_is_null(want, 3, 1));
    tg_csv_opts wo = {.na_rep = "NA", .delimiter = ';'};
    tg_value *n = tg_compute(tg_to_csv_opts(df, outp, &wo), NULL);
    assert_int_equal(tg_as_int(n), 3);
    tg_decref(n);
    o.delimiter = ';', o.n_na_values = 1, o.na_values = na;
    char *w = td_csv(want);
    td_assert_frame(tg_df_compute(tg_read_csv(g, outp, &o), NULL), w);
    free(w);
    tg_decref(want);
    /* na_rep may not hold what would break the field. */
    tg_csv_opts bad = {.na_rep = "a,b"};
    assert_null(tg_to_csv_opts(df, outp, &bad));
    assert_non_null(strstr(tg_last_error(), "na_rep cannot hold"));
    tg_graph_free(g);
    td_rmdir(dir);
}

/* NaN spellings and pandas' default NA strings read as null in number
 * and bool columns and say nothing when inferring types; string
 * columns keep them as text; a quoted field is data; na_values adds
 * strings that are null in every column. */
static void test_csv_nan_and_na_strings_read_as_null(void **state)
{
    (void)state;
    const char *text = "f,i,b,s\n"
                       "1.5,1,true,NA\n"
                       "NaN,NA,NA,x\n"
                       "nan,null,None,\n"
                       "-nan,N/A,#N/A,-999\n"
                       "\"nan\",2,false,\"\"\n";
    tg_value *v = tg_frame_from_csv(text, strlen(text), NULL);
    if (tg_is_error(v))
        fail_msg("%s", tg_error_message(v));
    assert_int_equal(tg_frame_coltype(v, 0), TG_DT_FLOAT64);
    assert_int_equal(tg_frame_coltype(v, 1), TG_DT_INT64);
    assert_int_equal(tg_frame_coltype(v, 2), TG_DT_BOOL);
    assert_int_equal(tg_frame_coltype(v, 3), TG_DT_STRING);
    for (size_t r = 1; r <= 3; r++) {
        assert_true(tg_frame_is_null(v, 0, r));
        assert_true(tg_frame_is_null(v, 1, r));
        assert_true(tg_frame_is_null(v, 2, r));
    }
    assert_false(tg_frame_is_null(v, 0, 4)); /* quoted: a NaN value */
    assert_true(isnan(tg_frame_float64(v, 0)[4]));
    size_t len;
    assert_memory_equal(tg_frame_str(v, 3, 0, &len), "NA", 2);
    assert_true(tg_frame_is_null(v, 3, 2)); /* the unquoted empty field */
    assert_int_equal(tg_frame_null_count(v, 3), 1);
    tg_decref(v);

    /* Given dtypes take them too; other text is still an error. */
    const char *names[] = {"f"};
    tg_dtype t = TG_DT_FLOAT64;
    tg_csv_opts o = {.n_dtypes = 1, .dtype_names = names, .dtypes = &t};
    v = tg_frame_from_csv("f\nnan\n1\n", 8, &o);
    assert_true(tg_frame_is_null(v, 0, 0));
    tg_decref(v);
    v = tg_frame_from_csv("f\nnope\n", 7, &o);
    assert_true(tg_is_error(v));
    assert_non_null(strstr(tg_error_message(v), "cannot parse \"nope\""));
    tg_decref(v);

    /* na_values: in every column, unquoted only, and in inference. */
    const char *na[] = {"-999", "x"};
    tg_csv_opts no = {.n_na_values = 2, .na_values = na};
    const char *nt = "a,s\n1,x\n-999,-999\n3,\"x\"\n";
    v = tg_frame_from_csv(nt, strlen(nt), &no);
    assert_int_equal(tg_frame_coltype(v, 0), TG_DT_INT64);
    assert_int_equal(tg_frame_coltype(v, 1), TG_DT_STRING);
    assert_true(tg_frame_is_null(v, 0, 1));
    assert_true(tg_frame_is_null(v, 1, 0));
    assert_true(tg_frame_is_null(v, 1, 1));
    assert_memory_equal(tg_frame_str(v, 1, 2, &len), "x", 1);
    tg_decref(v);
    const char *bad[] = {NULL};
    no = (tg_csv_opts){.n_na_values = 1, .na_values = bad};
    v = tg_frame_from_csv("a\n1\n", 4, &no);
    assert_true(tg_is_error(v));
    assert_non_null(strstr(tg_error_message(v), "na_values[0] is NULL"));
    tg_decref(v);
}

/* The round trip fuzz_csv checks, on an empty input: a frame of no
 * columns was written as a header line "\n", which reads back as one
 * column named "".  It writes nothing now. */
static void test_csv_zero_column_frame_writes_an_empty_file(void **state)
{
    (void)state;
    tg_value *f = tg_frame_from_csv("", 0, NULL);
    assert_int_equal(tg_frame_ncols(f), 0);
    char *got = td_csv(f);
    assert_string_equal(got, "");
    tg_value *back = tg_frame_from_csv(got, strlen(got), NULL);
    assert_int_equal(tg_frame_ncols(back), 0);
    free(got);
    tg_decref(back);
    tg_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_nulls_round_trip_in_every_type),
        cmocka_unit_test(test_csv_nan_and_na_strings_read_as_null),
        cmocka_unit_test(test_csv_zero_column_frame_writes_an_empty_file),
    };
    return cmocka_run_group_tests_name("csv_na", tests, NULL, NULL);
}
