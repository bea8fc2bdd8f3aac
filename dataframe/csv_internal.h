/* dataframe/csv_internal.h - the CSV parser shared by tg_read_csv and
 * tg_frame_from_csv.
 *
 * Input handed to the parser is always a run of complete records that
 * ends in an unquoted '\n' (callers add one at end of file), so the
 * field loops need no bounds checks beyond that sentinel.
 */
#ifndef TG_DATAFRAME_CSV_INTERNAL_H
#define TG_DATAFRAME_CSV_INTERNAL_H

#include "df_internal.h"

typedef struct tg__csv_schema {
    char delim;
    size_t ncols;
    char **names;         /* owned */
    tg_dtype *types;      /* owned */
    size_t n_na;          /* na_values: unquoted fields read as null */
    const char **na;      /* n_na strings, borrowed; the array owned */
    size_t *na_len;       /* n_na, owned */
    uint64_t na_first[4]; /* bit c: some na value starts with byte c */
} tg__csv_schema;

/* Frees names (strings and array), types and the na arrays. */
void tg__csv_schema_close(tg__csv_schema *s);
/* Sets the na values of s to the n non-empty strings of values
 * (borrowed: they must outlive s).  0 or TG_ENOMEM. */
int tg__csv_na_set(tg__csv_schema *s, size_t n, const char *const *values);
/* Frees the na arrays of s. */
void tg__csv_na_close(tg__csv_schema *s);

/* The fields of one record, unescaped into one scratch buffer. */
typedef struct tg__csv_fields {
    size_t n, cap;
    size_t *off;     /* n + 1 offsets into text */
    uint8_t *quoted; /* n: the field was quoted */
    char *text;
    size_t text_cap;
} tg__csv_fields;

void tg__csv_fields_close(tg__csv_fields *f);

/* Splits the record at p into f.  end is one past the last byte that may
 * be read.  On success stores the start of the next record in *next, the
 * newlines consumed in *lines and returns 0.  Returns TG_EFORMAT (with a
 * message in err) on a stray quote, and TG_EINVAL when there is no
 * complete record before end (including an unterminated quote). */
int tg__csv_split(const char *p, const char *end, char delim, tg__csv_fields *f,
                  const char **next, int64_t *lines, char *err, size_t errlen);

/* Reads the header record at data[0..len): fills s->names and s->ncols
 * (types left unset) and stores the header's length in bytes.  Returns 0,
 * or a negative code with tg_last_error() naming file. */
int tg__csv_header(const char *data, size_t len, const char *file,
                   tg__csv_schema *s, size_t *header_len);

/* Infers the type of every column whose has_type[i] is false from the
 * complete records in data[0..len), up to the first malformed one (a
 * partial last record is ignored; a malformed record is left to the
 * block parser, which reports it when the query runs, wherever it is).
 * Returns 0 or TG_ENOMEM. */
int tg__csv_infer(const char *data, size_t len, tg__csv_schema *s,
                  const bool *has_type);

/* Told, now and then, that the parser is done with every byte before
 * upto (nothing it returns points into the input), so a mapped file's
 * pages can be dropped as parsing goes. */
typedef struct tg__csv_release {
    void (*fn)(void *ud, const char *upto);
    void *ud;
} tg__csv_release;

/* Parses the records in [p, end) (end[-1] is an unquoted '\n') into a
 * frame with schema s, keeping the columns whose keep[i] is set (all
 * when keep is NULL; every field is still checked).  first_line is p's
 * line number, for messages; rel may be NULL.  Returns a frame value or
 * an error value naming file:line. */
tg_value *tg__csv_parse(const tg__csv_schema *s, const uint8_t *keep,
                        const char *p, const char *end, const char *file,
                        int64_t first_line, const tg__csv_release *rel);

/* The index of the first newline outside quotes in p[0..n), where
 * in_quotes is the state before p[0], or -1 when there is none; stores
 * the (quoted) newlines before it in *nl.  Reads p[0..n) only, so a
 * block that lies inside one long record learns that no record starts
 * in it without scanning to the record's end. */
int64_t tg__csv_record_end(const char *p, size_t n, bool in_quotes,
                           int64_t *nl);

/* Counts the bytes equal to c in p[0..n). */
size_t tg__count_byte(const char *p, size_t n, char c);
/* Counts the bytes equal to a and to b in one pass. */
void tg__count_bytes2(const char *p, size_t n, char a, char b, size_t *na,
                      size_t *nb);

/* The tasks reading a CSV source node (df->csv, csv_read.c) into
 * parts: one block task per partition parsing the columns marked in
 * need, on top of the source's count and scan tasks.  0 or TG_ENOMEM. */
int tg__csv_lower(tg_dataframe *df, const uint8_t *need, tg_value **parts);
void tg__csv_source_free(tg__csv_source *c);

#endif /* TG_DATAFRAME_CSV_INTERNAL_H */
