/* CSV rows (csv.c): RFC 4180 quoting of what the captures cannot carry
 * (nDPI writes CR and LF as '?'): line breaks, quotes and commas in one
 * string; a field a record has no value for is an empty cell. */
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "elements.h"
#include "unit.h"

static const char awkward[] = "a,\"b\"\r\nc";

static bool get_awkward(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)r;
    (void)view;
    v->bytes = (const uint8_t *)awkward;
    v->nbytes = strlen(awkward);
    return true;
}

static bool get_nothing(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)r;
    (void)view;
    (void)v;
    return false;
}

static const struct element rows[] = {
    {"testAwkward", 12345, 1, 0, ET_STRING, ELEM_VARLEN, false, "awkward", NULL, get_awkward, 0},
    {"testAbsent", 12345, 2, 0, ET_UNSIGNED, 4, false, "absent", NULL, get_nothing, 0},
};

/* The CSV nfprobe writes for one record: header and row. */
static char *csv_of(const struct flow_record *r)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    struct csv_writer *w = csv_open(f);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(csv_write_record(w, r), 0);
    csv_free(w);
    long len = ftell(f);
    ck_assert_int_gt(len, 0);
    char *text = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    rewind(f);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

START_TEST(csv_quotes_line_breaks_quotes_and_commas)
{
    ck_assert_int_eq(elements_register(rows, 2), 0);
    struct flow_record r;
    memset(&r, 0, sizeof r);
    r.id = 7;
    r.ip_version = 4;
    char *text = csv_of(&r);
    char *row = strstr(text, "\r\n");
    ck_assert_ptr_nonnull(row);
    *row = '\0';
    row += 2;
    /* The header ends with the extension rows' names. */
    size_t hl = strlen(text);
    ck_assert_msg(hl > 15 && strcmp(text + hl - 15, ",awkward,absent") == 0, "header: %s", text);
    ck_assert_msg(strncmp(text, "id,", 3) == 0, "header: %s", text);
    /* The row: the string quoted, its quotes doubled, its CR LF kept; the
     * absent field empty; the row ends with CR LF. */
    const char *want_end = ",\"a,\"\"b\"\"\r\nc\",\r\n";
    size_t rl = strlen(row), wl = strlen(want_end);
    ck_assert_msg(rl > wl && strcmp(row + rl - wl, want_end) == 0, "row: %s", row);
    ck_assert_msg(strncmp(row, "7,", 2) == 0, "row: %s", row);
    free(text);
}
END_TEST

Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("rows");
    tcase_add_test(tc, csv_quotes_line_breaks_quotes_and_commas);
    suite_add_tcase(s, tc);
    return s;
}
