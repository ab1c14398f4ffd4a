/*
 * test_sheet.c - reading CSV and XLSX tables (core/sheet.h).  The XLSX files
 * are written by an independent writer, libxlsxwriter, in both of its modes
 * (shared strings, and the inline strings of constant-memory mode); the
 * zip bomb is made with libzip.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zip.h>
#include "core/error.h"
#include "core/sheet.h"
#include "core/sheet_internal.h"

typedef struct {
    char rows[16][8][64];
    size_t widths[16];
    size_t row_nos[16];
    size_t count;
    size_t stop_after; /* 0: never */
} seen_t;

static int collect(void *ctx, size_t row_no, const fg_sheet_cell_t *cells, size_t n)
{
    seen_t *s = ctx;
    ck_assert_uint_lt(s->count, 16);
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(strlen(cells[i].text), cells[i].len);
        snprintf(s->rows[s->count][i], sizeof(s->rows[0][0]), "%s", cells[i].text);
    }
    s->widths[s->count] = n;
    s->row_nos[s->count] = row_no;
    s->count++;
    return s->stop_after != 0 && s->count == s->stop_after ? 7 : 0;
}

static int read_csv(const char *text, seen_t *seen, char *err)
{
    memset(seen, 0, sizeof(*seen));
    return fg_sheet_read_csv(text, strlen(text), collect, seen, err, 256);
}

START_TEST(csv_fields_quotes_and_line_ends)
{
    seen_t s;
    char err[256];
    const char *text = "\xEF\xBB\xBF"
                       "M\xC3\xA3 h\xC3\xB3"
                       "a \xC4\x91\xC6\xA1n,S\xE1\xBB\x91 ti\xE1\xBB\x81n,Ghi ch\xC3\xBA\r\n"
                       "HD-1,4500000,\"Nguy\xE1\xBB\x85n, V\xC4\x83n \"\"A\"\"\"\r\n"
                       "\r\n"
                       ",,\n"
                       "HD-2,\"12\n34\",\n"
                       "HD-3,7,last";
    ck_assert_int_eq(read_csv(text, &s, err), 0);
    ck_assert_uint_eq(s.count, 4);
    ck_assert_str_eq(s.rows[0][0], "M\xC3\xA3 h\xC3\xB3"
                                   "a \xC4\x91\xC6\xA1n");
    ck_assert_str_eq(s.rows[1][2], "Nguy\xE1\xBB\x85n, V\xC4\x83n \"A\"");
    ck_assert_uint_eq(s.row_nos[1], 2);
    /* empty rows are skipped but counted, as a spreadsheet numbers them */
    ck_assert_str_eq(s.rows[2][1], "12\n34");
    ck_assert_uint_eq(s.widths[2], 2); /* the empty last cell is dropped */
    ck_assert_uint_eq(s.row_nos[2], 5);
    ck_assert_str_eq(s.rows[3][2], "last");
    ck_assert_uint_eq(s.row_nos[3], 6);
}
END_TEST

START_TEST(csv_semicolons_and_errors)
{
    seen_t s;
    char err[256];
    ck_assert_int_eq(read_csv("a;b;c\n1;\"2;3\";4\n", &s, err), 0);
    ck_assert_uint_eq(s.count, 2);
    ck_assert_str_eq(s.rows[1][1], "2;3");
    ck_assert_int_eq(read_csv("a,\"b\n", &s, err), FG_EINVALID);
    ck_assert_ptr_nonnull(strstr(err, "not closed"));
    ck_assert_int_eq(read_csv("a,\"b\"c\n", &s, err), FG_EINVALID);
    ck_assert_int_eq(read_csv("a,\xC3\x28\n", &s, err), FG_EINVALID);
    ck_assert_ptr_nonnull(strstr(err, "UTF-8"));
    char wide[400] = "";
    for (int i = 0; i < FG_SHEET_CELLS_MAX + 1; i++)
        strcat(wide, "x,");
    ck_assert_int_eq(read_csv(wide, &s, err), FG_EINVALID);
    ck_assert_ptr_nonnull(strstr(err, "columns"));
    /* empty cells past the last column read are nothing (an export's trailing delimiters) */
    char trailing[400] = "a,b,c";
    for (int i = 0; i < FG_SHEET_CELLS_MAX + 6; i++)
        strcat(trailing, ",");
    strcat(trailing, "\nd\n");
    ck_assert_msg(read_csv(trailing, &s, err) == 0, "%s", err);
    ck_assert_uint_eq(s.count, 2);
    ck_assert_uint_eq(s.widths[0], 3);
    ck_assert_str_eq(s.rows[1][0], "d");
    char far[400] = "a";
    for (int i = 0; i < FG_SHEET_CELLS_MAX + 5; i++)
        strcat(far, ",");
    strcat(far, "z\n");
    ck_assert_int_eq(read_csv(far, &s, err), FG_EINVALID);
    ck_assert_msg(strstr(err, "row 1 has text in column 70") != NULL, "%s", err);
    /* a cell left of one begun (XLSX cells out of order) is refused, never appended to the wrong cell */
    fg_sheet_row_t row = {.text = FG_BUF_INIT, .row_no = 5};
    ck_assert_int_eq(fg_sheet_cell_begin(&row, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(fg_sheet_cell_append(&row, "x", 1, err, sizeof(err)), 0);
    ck_assert_int_eq(fg_sheet_cell_begin(&row, 3, err, sizeof(err)), 0);
    ck_assert_int_eq(fg_sheet_cell_begin(&row, 1, err, sizeof(err)), FG_EINVALID);
    ck_assert_msg(strstr(err, "row 5: column 2 comes after column 4") != NULL, "%s", err);
    fg_sheet_row_free(&row);
    char *long_cell = malloc(FG_SHEET_CELL_MAX + 10);
    memset(long_cell, 'y', FG_SHEET_CELL_MAX + 1);
    long_cell[FG_SHEET_CELL_MAX + 1] = '\0';
    ck_assert_int_eq(read_csv(long_cell, &s, err), FG_EINVALID);
    free(long_cell);
    /* the callback stops the read with its own value */
    memset(&s, 0, sizeof(s));
    s.stop_after = 1;
    ck_assert_int_eq(fg_sheet_read_csv("a\nb\nc\n", 6, collect, &s, err, sizeof(err)), 7);
    ck_assert_uint_eq(s.count, 1);
}
END_TEST

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* A workbook whose first sheet holds the bills; a second sheet must be ignored. */
static char *write_workbook(int constant_memory, size_t *len)
{
    char path[] = "/tmp/fg-sheet-XXXXXX.xlsx";
    int fd = mkstemps(path, 5);
    ck_assert_int_ge(fd, 0);
    close(fd);
    lxw_workbook_options opts = {.constant_memory = (uint8_t)constant_memory, .tmpdir = "/tmp"};
    lxw_workbook *wb = workbook_new_opt(path, &opts);
    ck_assert_ptr_nonnull(wb);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "H\xC3\xB3"
                                                   "a \xC4\x91\xC6\xA1n");
    lxw_worksheet *other = workbook_add_worksheet(wb, "Other");
    worksheet_write_string(ws, 0, 0,
                           "M\xC3\xA3 h\xC3\xB3"
                           "a \xC4\x91\xC6\xA1n",
                           NULL);
    worksheet_write_string(ws, 0, 1, "S\xE1\xBB\x91 ti\xE1\xBB\x81n", NULL);
    worksheet_write_string(ws, 0, 2, "H\xE1\xBA\xA1n n\xE1\xBB\x99p", NULL);
    worksheet_write_string(ws, 1, 0, "HD-1", NULL);
    worksheet_write_number(ws, 1, 1, 4500000, NULL);
    lxw_datetime due = {.year = 2026, .month = 12, .day = 31};
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "dd/mm/yyyy");
    worksheet_write_datetime(ws, 1, 2, &due, date);
    /* a formatted empty cell far right (styled columns of an export): nothing */
    lxw_format *shaded = workbook_add_format(wb);
    format_set_bg_color(shaded, LXW_COLOR_YELLOW);
    worksheet_write_blank(ws, 1, 90, shaded);
    /* row 3 empty; row 4 has a gap in column B and a formula with a cached value */
    worksheet_write_string(ws, 3, 0, "HD-<2> & \"x\"", NULL);
    worksheet_write_formula_num(ws, 3, 2, "=1+1", NULL, 2);
    worksheet_write_boolean(ws, 3, 3, 1, NULL);
    worksheet_write_string(other, 0, 0, "not this sheet", NULL);
    ck_assert_int_eq(workbook_close(wb), LXW_NO_ERROR);
    char *data = slurp(path, len);
    unlink(path);
    return data;
}

static void check_workbook(int constant_memory)
{
    size_t len;
    char *data = write_workbook(constant_memory, &len);
    ck_assert_int_eq(fg_sheet_sniff(data, len), FG_SHEET_XLSX);
    seen_t s = {0};
    char err[256] = "";
    ck_assert_msg(fg_sheet_read(FG_SHEET_XLSX, data, len, collect, &s, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(s.count, 3);
    ck_assert_str_eq(s.rows[0][1], "S\xE1\xBB\x91 ti\xE1\xBB\x81n");
    ck_assert_str_eq(s.rows[1][0], "HD-1");
    ck_assert_str_eq(s.rows[1][1], "4500000");
    ck_assert_str_eq(s.rows[1][2], "46387"); /* 2026-12-31 as Excel's day number */
    ck_assert_uint_eq(s.row_nos[2], 4);
    ck_assert_str_eq(s.rows[2][0], "HD-<2> & \"x\"");
    ck_assert_str_eq(s.rows[2][1], "");
    ck_assert_str_eq(s.rows[2][2], "2");
    ck_assert_str_eq(s.rows[2][3], "1");
    free(data);
}

START_TEST(xlsx_shared_strings) { check_workbook(0); }
END_TEST

START_TEST(xlsx_inline_strings) { check_workbook(1); }
END_TEST

START_TEST(xlsx_refusals)
{
    seen_t s = {0};
    char err[256];
    ck_assert_int_eq(fg_sheet_read_xlsx("PK\x03\x04garbage", 11, collect, &s, err, sizeof(err)), FG_EINVALID);
    ck_assert_ptr_nonnull(strstr(err, "XLSX"));

    /* a zip bomb: one well-formed part that inflates beyond the bound */
    size_t big = FG_SHEET_PART_MAX + 1;
    char *zeros = malloc(big);
    memset(zeros, 'x', big);
    memcpy(zeros, "<worksheet>", 11);
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *out = zip_source_buffer_create(NULL, 0, 0, &zerr);
    zip_source_keep(out);
    zip_t *za = zip_open_from_source(out, ZIP_TRUNCATE, &zerr);
    ck_assert_ptr_nonnull(za);
    zip_source_t *part = zip_source_buffer(za, zeros, big, 0);
    ck_assert_int_ge(zip_file_add(za, "xl/worksheets/sheet1.xml", part, ZIP_FL_OVERWRITE), 0);
    ck_assert_int_eq(zip_close(za), 0);
    ck_assert_int_eq(zip_source_open(out), 0);
    zip_stat_t st;
    ck_assert_int_eq(zip_source_stat(out, &st), 0);
    char *bomb = malloc(st.size);
    ck_assert_int_eq(zip_source_read(out, bomb, st.size), (zip_int64_t)st.size);
    zip_source_close(out);
    zip_source_free(out);
    free(zeros);
    ck_assert_uint_lt(st.size, 1 << 20);
    ck_assert_int_eq(fg_sheet_read_xlsx(bomb, st.size, collect, &s, err, sizeof(err)), FG_EINVALID);
    ck_assert_msg(strstr(err, "inflates") != NULL, "%s", err);
    free(bomb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sheet");
    TCase *tc = tcase_create("read");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, csv_fields_quotes_and_line_ends);
    tcase_add_test(tc, csv_semicolons_and_errors);
    tcase_add_test(tc, xlsx_shared_strings);
    tcase_add_test(tc, xlsx_inline_strings);
    tcase_add_test(tc, xlsx_refusals);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
