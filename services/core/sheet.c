/*
 * sheet.c - the row collector both readers share, and the CSV reader
 * (sheet.h).  The XLSX reader is sheet_xlsx.c.
 */
#include "core/sheet.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "core/text.h"
#include "core/sheet_internal.h"

int fg_sheet_fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return FG_EINVALID;
}

void fg_sheet_row_reset(fg_sheet_row_t *r)
{
    fg_buf_reset(&r->text);
    r->n = 0;
    r->open = 0;
    r->beyond = 0;
}

void fg_sheet_row_free(fg_sheet_row_t *r) { fg_buf_free(&r->text); }

int fg_sheet_cell_begin(fg_sheet_row_t *r, size_t column, char *err, size_t cap)
{
    if (r->beyond != 0 && column < r->beyond)
        return fg_sheet_fail(err, cap, "row %zu: column %zu comes after column %zu", r->row_no, column + 1, r->beyond);
    if (column >= FG_SHEET_CELLS_MAX) { /* empty, it is nothing: refused when text comes */
        r->beyond = column + 1;
        r->open = 1;
        return 0;
    }
    if (column < r->n)
        return fg_sheet_fail(err, cap, "row %zu: column %zu comes after column %zu", r->row_no, column + 1, r->n);
    while (r->n <= column) {
        if (r->n > 0)
            fg_buf_putc(&r->text, '\0');
        r->starts[r->n++] = r->text.len;
    }
    r->open = 1;
    return 0;
}

int fg_sheet_cell_append(fg_sheet_row_t *r, const char *s, size_t n, char *err, size_t cap)
{
    if (r->beyond != 0)
        return n == 0 ? 0
                      : fg_sheet_fail(err, cap, "row %zu has text in column %zu: at most %d columns are read",
                                      r->row_no, r->beyond, FG_SHEET_CELLS_MAX);
    if (r->text.len - r->starts[r->n - 1] + n > FG_SHEET_CELL_MAX)
        return fg_sheet_fail(err, cap, "row %zu: a cell is longer than %d bytes", r->row_no, FG_SHEET_CELL_MAX);
    fg_buf_append(&r->text, s, n);
    return 0;
}

int fg_sheet_row_emit(fg_sheet_row_t *r, fg_sheet_row_fn fn, void *ctx, char *err, size_t cap)
{
    fg_sheet_cell_t cells[FG_SHEET_CELLS_MAX];
    fg_buf_putc(&r->text, '\0');
    size_t used = 0;
    for (size_t i = 0; i < r->n; i++) {
        size_t end = i + 1 < r->n ? r->starts[i + 1] - 1 : r->text.len - 1;
        cells[i].text = r->text.data + r->starts[i];
        cells[i].len = end - r->starts[i];
        if (!fg_utf8_valid(cells[i].text, cells[i].len))
            return fg_sheet_fail(err, cap, "row %zu, column %zu is not UTF-8 text", r->row_no, i + 1);
        if (cells[i].len > 0)
            used = i + 1;
    }
    int rc = used > 0 ? fn(ctx, r->row_no, cells, used) : 0;
    fg_sheet_row_reset(r);
    return rc;
}

fg_sheet_format_t fg_sheet_sniff(const char *data, size_t len)
{
    return len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0 ? FG_SHEET_XLSX : FG_SHEET_CSV;
}

int fg_sheet_read(fg_sheet_format_t format, const char *data, size_t len, fg_sheet_row_fn fn, void *ctx, char *err,
                  size_t err_cap)
{
    return format == FG_SHEET_XLSX ? fg_sheet_read_xlsx(data, len, fn, ctx, err, err_cap)
                                   : fg_sheet_read_csv(data, len, fn, ctx, err, err_cap);
}

/* ---- CSV ------------------------------------------------------------------ */

/* ';' when the first line holds more semicolons than commas outside quotes
 * (a spreadsheet saved in a locale whose decimal mark is the comma). */
static char csv_delimiter(const char *p, const char *end)
{
    size_t commas = 0, semis = 0;
    int quoted = 0;
    for (; p < end && (quoted || (*p != '\n' && *p != '\r')); p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == ',')
            commas++;
        else if (!quoted && *p == ';')
            semis++;
    }
    return semis > commas ? ';' : ',';
}

int fg_sheet_read_csv(const char *data, size_t len, fg_sheet_row_fn fn, void *ctx, char *err, size_t err_cap)
{
    const char *p = data, *end = data + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    char delim = csv_delimiter(p, end);
    fg_sheet_row_t row = {.text = FG_BUF_INIT, .row_no = 1};
    int rc = 0;
    size_t column = 0;
    while (p < end && rc == 0) {
        /* one field */
        if ((rc = fg_sheet_cell_begin(&row, column, err, err_cap)) != 0)
            break;
        if (*p == '"') {
            p++;
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (q == NULL) {
                    rc = fg_sheet_fail(err, err_cap, "row %zu: a quoted field is not closed", row.row_no);
                    break;
                }
                if ((rc = fg_sheet_cell_append(&row, p, (size_t)(q - p), err, err_cap)) != 0)
                    break;
                p = q + 1;
                if (p < end && *p == '"') {
                    rc = fg_sheet_cell_append(&row, "\"", 1, err, err_cap);
                    p++;
                    if (rc != 0)
                        break;
                    continue;
                }
                break;
            }
            if (rc != 0)
                break;
            if (p < end && *p != delim && *p != '\r' && *p != '\n') {
                rc = fg_sheet_fail(err, err_cap, "row %zu: text after a quoted field", row.row_no);
                break;
            }
        } else {
            const char *q = p;
            while (q < end && *q != delim && *q != '\r' && *q != '\n')
                q++;
            if ((rc = fg_sheet_cell_append(&row, p, (size_t)(q - p), err, err_cap)) != 0)
                break;
            p = q;
        }
        if (p < end && *p == delim) {
            p++;
            column++;
            if (p == end) /* a trailing delimiter: one more, empty, field */
                rc = fg_sheet_cell_begin(&row, column, err, err_cap);
            continue;
        }
        /* end of the row */
        if (p < end && *p == '\r')
            p++;
        if (p < end && *p == '\n')
            p++;
        rc = fg_sheet_row_emit(&row, fn, ctx, err, err_cap);
        row.row_no++;
        column = 0;
    }
    if (rc == 0 && row.open)
        rc = fg_sheet_row_emit(&row, fn, ctx, err, err_cap);
    fg_sheet_row_free(&row);
    return rc;
}
