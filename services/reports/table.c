/*
 * table.c - a report's table and its JSON, CSV and XLSX forms (table.h).
 */
#include "reports/table.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include "core/csvw.h"
#include "core/day.h"
#include "core/error.h"
#include "core/money.h"

void fg_table_init(fg_table_t *t) { memset(t, 0, sizeof(*t)); }

void fg_table_free(fg_table_t *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i].text);
    free(t->cells);
    free(t->by_currency);
    fg_table_init(t);
}

int fg_table_col(fg_table_t *t, const char *key, const char *label, fg_col_type_t type, int width)
{
    assert(t->ncols < FG_TABLE_COLS_MAX && t->nrows == 0);
    fg_col_t *c = &t->cols[t->ncols];
    snprintf(c->key, sizeof(c->key), "%s", key);
    snprintf(c->label, sizeof(c->label), "%s", label);
    c->type = type;
    c->width = width;
    c->summed = type == FG_COL_INT || type == FG_COL_MONEY;
    return t->ncols++;
}

int fg_table_currency_col(fg_table_t *t)
{
    assert(t->currency_col == 0);
    int c = fg_table_col(t, "currency", "Tiền tệ / Currency", FG_COL_TEXT, 9);
    t->currency_col = c + 1;
    return c;
}

int fg_currency_cmp(const char *a, const char *b)
{
    int a_vnd = strcmp(a, "VND") == 0, b_vnd = strcmp(b, "VND") == 0;
    if (a_vnd || b_vnd)
        return b_vnd - a_vnd;
    return strcmp(a, b);
}

fg_cell_t *fg_table_row(fg_table_t *t)
{
    if (t->nrows >= FG_TABLE_ROWS_MAX)
        return NULL;
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->cells = fg_realloc(t->cells, t->cap * (size_t)t->ncols * sizeof(fg_cell_t));
    }
    fg_cell_t *row = &t->cells[t->nrows++ * (size_t)t->ncols];
    memset(row, 0, (size_t)t->ncols * sizeof(fg_cell_t));
    return row;
}

void fg_cell_text(fg_cell_t *c, const char *s, size_t n)
{
    free(c->text);
    c->text = s != NULL ? fg_strndup(s, n) : NULL;
}

/* The totals of currency `code`, made when it is the first row of it.  A
 * report holds a few currencies, so a list is searched: at most the ~180 of
 * ISO 4217, which the rows' currencies (checked when each order was made)
 * are among. */
static fg_table_totals_t *currency_totals(fg_table_t *t, const char *code)
{
    for (size_t i = 0; i < t->ncurrencies; i++)
        if (strcmp(t->by_currency[i].currency, code) == 0)
            return &t->by_currency[i];
    t->by_currency = fg_realloc(t->by_currency, (t->ncurrencies + 1) * sizeof(fg_table_totals_t));
    fg_table_totals_t *c = &t->by_currency[t->ncurrencies++];
    memset(c, 0, sizeof(*c));
    snprintf(c->currency, sizeof(c->currency), "%s", code);
    return c;
}

static int cmp_totals(const void *a, const void *b)
{
    return fg_currency_cmp(((const fg_table_totals_t *)a)->currency, ((const fg_table_totals_t *)b)->currency);
}

int fg_table_total(fg_table_t *t)
{
    memset(t->totals, 0, sizeof(t->totals));
    free(t->by_currency);
    t->by_currency = NULL;
    t->ncurrencies = 0;
    t->mixed = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        const fg_cell_t *row = &t->cells[r * (size_t)t->ncols];
        int64_t *sums = t->totals;
        if (t->currency_col > 0) {
            const char *code = row[t->currency_col - 1].text;
            sums = currency_totals(t, code != NULL ? code : "")->totals;
        }
        for (int c = 0; c < t->ncols; c++)
            if (t->cols[c].summed && !row[c].null && fg_money_add(sums[c], row[c].num, &sums[c]) != 0)
                return FG_EOVERFLOW;
    }
    if (t->ncurrencies > 1)
        qsort(t->by_currency, t->ncurrencies, sizeof(fg_table_totals_t), cmp_totals);
    t->mixed = t->ncurrencies > 1;
    if (t->ncurrencies == 1)
        memcpy(t->totals, t->by_currency[0].totals, sizeof(t->totals));
    return 0;
}

/* "YYYY-MM-DD" or "YYYY-MM" */
static void date_text(fg_col_type_t type, int64_t v, char out[11])
{
    fg_day_format((int32_t)(type == FG_COL_DAY ? v : v * 100 + 1), out);
    if (type == FG_COL_MONTH)
        out[7] = '\0';
}

/* {"currency":…, each summed column's total}; no currency key when it is NULL */
static void totals_json(const fg_table_t *t, const char *currency, const int64_t *totals, fg_buf_t *b)
{
    int comma = 0;
    fg_buf_putc(b, '{');
    if (currency != NULL) {
        fg_json_kv_str(b, 0, "currency", currency);
        comma = 1;
    }
    for (int c = 0; c < t->ncols; c++) {
        if (t->cols[c].summed) {
            fg_json_kv_int(b, comma, t->cols[c].key, totals[c]);
            comma = 1;
        }
    }
    fg_buf_putc(b, '}');
}

void fg_table_json(const fg_table_t *t, fg_buf_t *b)
{
    char date[11];
    fg_buf_puts(b, "\"data\":[");
    for (size_t r = 0; r < t->nrows; r++) {
        const fg_cell_t *row = &t->cells[r * (size_t)t->ncols];
        fg_buf_puts(b, r > 0 ? ",{" : "{");
        for (int c = 0; c < t->ncols; c++) {
            switch (t->cols[c].type) {
            case FG_COL_TEXT: fg_json_kv_str(b, c > 0, t->cols[c].key, row[c].text); break;
            case FG_COL_INT:
            case FG_COL_MONEY:
                if (row[c].null)
                    fg_json_kv_null(b, c > 0, t->cols[c].key);
                else
                    fg_json_kv_int(b, c > 0, t->cols[c].key, row[c].num);
                break;
            default:
                if (row[c].num == 0) {
                    fg_json_kv_null(b, c > 0, t->cols[c].key);
                } else {
                    date_text(t->cols[c].type, row[c].num, date);
                    fg_json_kv_str(b, c > 0, t->cols[c].key, date);
                }
                break;
            }
        }
        fg_buf_putc(b, '}');
    }
    /* a client that knows one currency reads `totals` as before; rows of
     * several have no one total, and null says so rather than a sum of them */
    if (t->mixed)
        fg_buf_puts(b, "],\"totals\":null");
    else {
        fg_buf_puts(b, "],\"totals\":");
        totals_json(t, t->ncurrencies == 1 ? t->by_currency[0].currency : NULL, t->totals, b);
    }
    if (t->currency_col == 0)
        return;
    fg_buf_puts(b, ",\"totals_by_currency\":[");
    for (size_t i = 0; i < t->ncurrencies; i++) {
        if (i > 0)
            fg_buf_putc(b, ',');
        totals_json(t, t->by_currency[i].currency, t->by_currency[i].totals, b);
    }
    fg_buf_putc(b, ']');
}

void fg_table_csv(const fg_table_t *t, fg_buf_t *b)
{
    char date[11];
    fg_buf_puts(b, FG_CSV_BOM);
    for (int c = 0; c < t->ncols; c++)
        fg_csv_cstr(b, c > 0, t->cols[c].key);
    fg_csv_end_row(b);
    for (size_t r = 0; r < t->nrows; r++) {
        const fg_cell_t *row = &t->cells[r * (size_t)t->ncols];
        for (int c = 0; c < t->ncols; c++) {
            switch (t->cols[c].type) {
            case FG_COL_TEXT: fg_csv_cstr(b, c > 0, row[c].text); break;
            case FG_COL_INT:
            case FG_COL_MONEY:
                if (row[c].null)
                    fg_csv_cstr(b, c > 0, NULL);
                else
                    fg_csv_int(b, c > 0, row[c].num);
                break;
            default:
                date_text(t->cols[c].type, row[c].num, date);
                fg_csv_cstr(b, c > 0, row[c].num != 0 ? date : NULL);
                break;
            }
        }
        fg_csv_end_row(b);
    }
}

/* ---- XLSX ----------------------------------------------------------------------------- */

_Static_assert(FG_TABLE_XLSX_NUMBER_MAX == FG_AMOUNT_MAX, "every order's amount is a number in the XLSX form");
_Static_assert(FG_TABLE_XLSX_NUMBER_MAX < (1LL << 53), "the amounts written as numbers are exact doubles");

typedef struct {
    lxw_format *header, *count, *day, *month, *total_label, *total_count;
    /* by the currency's minor-unit digits: "#,##0", "#,##0.0", "#,##0.00", … */
    lxw_format *money[FG_TABLE_XLSX_EXPONENT_MAX + 1], *total_money[FG_TABLE_XLSX_EXPONENT_MAX + 1];
    lxw_format *money_text, *total_money_text; /* an amount past FG_TABLE_XLSX_NUMBER_MAX: its decimal */
} formats_t;

static void make_formats(lxw_workbook *wb, formats_t *f)
{
    f->header = workbook_add_format(wb);
    format_set_bold(f->header);
    format_set_bottom(f->header, LXW_BORDER_THIN);
    format_set_text_wrap(f->header);
    format_set_align(f->header, LXW_ALIGN_VERTICAL_TOP);
    /* thousands separated, the currency's minor digits after the point (Excel shows the
     * separators of the reader's locale) */
    for (int e = 0; e <= FG_TABLE_XLSX_EXPONENT_MAX; e++) {
        char pattern[16] = "#,##0";
        if (e > 0) {
            strcat(pattern, ".");
            strncat(pattern, "0000", (size_t)e);
        }
        f->money[e] = workbook_add_format(wb);
        format_set_num_format(f->money[e], pattern);
        f->total_money[e] = workbook_add_format(wb);
        format_set_bold(f->total_money[e]);
        format_set_top(f->total_money[e], LXW_BORDER_THIN);
        format_set_num_format(f->total_money[e], pattern);
    }
    f->money_text = workbook_add_format(wb);
    format_set_align(f->money_text, LXW_ALIGN_RIGHT);
    f->count = workbook_add_format(wb);
    format_set_num_format(f->count, "#,##0");
    f->day = workbook_add_format(wb);
    format_set_num_format(f->day, "dd/mm/yyyy");
    format_set_align(f->day, LXW_ALIGN_LEFT);
    f->month = workbook_add_format(wb);
    format_set_num_format(f->month, "mm/yyyy");
    format_set_align(f->month, LXW_ALIGN_LEFT);
    f->total_label = workbook_add_format(wb);
    format_set_bold(f->total_label);
    format_set_top(f->total_label, LXW_BORDER_THIN);
    f->total_money_text = workbook_add_format(wb);
    format_set_bold(f->total_money_text);
    format_set_top(f->total_money_text, LXW_BORDER_THIN);
    format_set_align(f->total_money_text, LXW_ALIGN_RIGHT);
    f->total_count = f->total_money[0];
}

/* The minor-unit digits of amounts in currency code (NULL or "" is VND; a
 * code ISO 4217 does not list is taken as without minor units, as the pages
 * take it). */
static int code_exponent(const char *code)
{
    const fg_currency_t *c = code != NULL && code[0] != '\0' ? fg_currency_find(code, strlen(code)) : NULL;
    return c != NULL ? c->exponent : 0;
}

/* The minor-unit digits of a row's amounts: its currency column's, else the table's currency. */
static int row_exponent(const fg_table_t *t, const fg_cell_t *row)
{
    return code_exponent(t->currency_col > 0 ? row[t->currency_col - 1].text : t->currency);
}

/* Whether an amount goes into its cell as a number (FG_TABLE_XLSX_NUMBER_MAX). */
static int money_as_number(int64_t minor, int exponent)
{
    return exponent <= FG_TABLE_XLSX_EXPONENT_MAX && minor >= -FG_TABLE_XLSX_NUMBER_MAX &&
           minor <= FG_TABLE_XLSX_NUMBER_MAX;
}

/* minor / 10^exponent as the double nearest that decimal: both operands are
 * exact doubles (|minor| <= 10^15 < 2^53, 10^exponent <= 10^4) and IEEE 754
 * division rounds their exact quotient once, to nearest, so the cell holds
 * what a spreadsheet holds when the decimal is typed into it.  The only
 * floating point of the money's way, and no arithmetic on it: amounts and
 * their sums are int64 minor units until here. */
static double major_units(int64_t minor, int exponent)
{
    static const double POW10[FG_TABLE_XLSX_EXPONENT_MAX + 1] = {1, 10, 100, 1000, 10000};
    assert(money_as_number(minor, exponent));
    return (double)minor / POW10[exponent];
}

/* An amount as the text of its exact decimal in major units ("12345678901234.56"). */
static lxw_error write_decimal(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t minor, int exponent,
                               lxw_format *text)
{
    char decimal[48];
    if (fg_money_format(minor, exponent, decimal, sizeof(decimal)) < 0)
        return LXW_ERROR_PARAMETER_VALIDATION;
    return worksheet_write_string(ws, r, c, decimal, text);
}

/* An amount in major units: a number in its currency's format, or past
 * FG_TABLE_XLSX_NUMBER_MAX its decimal as text. */
static lxw_error write_money(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t minor, int exponent,
                             const formats_t *f)
{
    if (money_as_number(minor, exponent))
        return worksheet_write_number(ws, r, c, major_units(minor, exponent), f->money[exponent]);
    return write_decimal(ws, r, c, minor, exponent, f->money_text);
}

static lxw_error write_cell(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const fg_col_t *col, const fg_cell_t *cell,
                            int exponent, const formats_t *f)
{
    switch (col->type) {
    case FG_COL_TEXT:
        /* written as a string, never as a formula, whatever it starts with */
        return cell->text != NULL ? worksheet_write_string(ws, r, c, cell->text, NULL) : LXW_NO_ERROR;
    case FG_COL_INT: return cell->null ? LXW_NO_ERROR : worksheet_write_number(ws, r, c, (double)cell->num, f->count);
    case FG_COL_MONEY: return cell->null ? LXW_NO_ERROR : write_money(ws, r, c, cell->num, exponent, f);
    default: break;
    }
    if (cell->num == 0)
        return LXW_NO_ERROR;
    lxw_datetime dt = {0};
    if (col->type == FG_COL_DAY) {
        dt.year = (int)(cell->num / 10000);
        dt.month = (uint8_t)(cell->num / 100 % 100);
        dt.day = (uint8_t)(cell->num % 100);
        return worksheet_write_datetime(ws, r, c, &dt, f->day);
    }
    dt.year = (int)(cell->num / 100);
    dt.month = (uint8_t)(cell->num % 100);
    dt.day = 1;
    return worksheet_write_datetime(ws, r, c, &dt, f->month);
}

/* One totals row at row r: of every row (of, NULL), or of currency of's
 * rows.  The label goes in the first column that is neither summed nor the
 * currency's; the currency column names the currency.  A money column with
 * an amount written as text (text_cols[c]), whose SUM would leave it out, or
 * a total past FG_TABLE_XLSX_NUMBER_MAX gets the total's exact decimal as
 * text in place of the formula. */
static lxw_error write_totals(lxw_worksheet *ws, const fg_table_t *t, lxw_row_t r, const fg_table_totals_t *of,
                              const int *text_cols, const formats_t *f)
{
    const char *code = of != NULL ? of->currency : t->ncurrencies == 1 ? t->by_currency[0].currency : NULL;
    const int64_t *totals = of != NULL ? of->totals : t->totals;
    int exponent = code_exponent(code != NULL ? code : t->currency);
    lxw_error e = LXW_NO_ERROR;
    int labelled = 0;
    for (int c = 0; c < t->ncols && e == LXW_NO_ERROR; c++) {
        if (c + 1 == t->currency_col) {
            e = code != NULL ? worksheet_write_string(ws, r, (lxw_col_t)c, code, f->total_label)
                             : worksheet_write_blank(ws, r, (lxw_col_t)c, f->total_label);
            continue;
        }
        if (!t->cols[c].summed) {
            if (!labelled) {
                e = worksheet_write_string(ws, r, (lxw_col_t)c, "Tổng cộng / Total", f->total_label);
                labelled = 1;
            } else {
                e = worksheet_write_blank(ws, r, (lxw_col_t)c, f->total_label);
            }
            continue;
        }
        int money = t->cols[c].type == FG_COL_MONEY;
        if (money && (text_cols[c] || !money_as_number(totals[c], exponent))) {
            e = write_decimal(ws, r, (lxw_col_t)c, totals[c], exponent, f->total_money_text);
            continue;
        }
        lxw_format *number = money ? f->total_money[exponent] : f->total_count; /* exponent checked just above */
        if (t->nrows == 0) { /* no rows to sum: a formula here would name its own cell */
            e = worksheet_write_number(ws, r, (lxw_col_t)c, 0, number);
            continue;
        }
        char formula[128], from[16], to[16], key_from[16], key_to[16];
        lxw_rowcol_to_cell(from, 1, (lxw_col_t)c);
        lxw_rowcol_to_cell(to, (lxw_row_t)t->nrows, (lxw_col_t)c);
        if (of != NULL) { /* the code is three letters checked against ISO 4217 when the order was made */
            lxw_rowcol_to_cell_abs(key_from, 1, (lxw_col_t)(t->currency_col - 1), 1, 1);
            lxw_rowcol_to_cell_abs(key_to, (lxw_row_t)t->nrows, (lxw_col_t)(t->currency_col - 1), 1, 1);
            snprintf(formula, sizeof(formula), "=SUMIF(%s:%s,\"%s\",%s:%s)", key_from, key_to, of->currency, from, to);
        } else {
            snprintf(formula, sizeof(formula), "=SUM(%s:%s)", from, to);
        }
        e = worksheet_write_formula_num(ws, r, (lxw_col_t)c, formula, number,
                                        money ? major_units(totals[c], exponent) : (double)totals[c]);
    }
    return e;
}

static lxw_error write_sheet(lxw_workbook *wb, const fg_table_t *t, const char *sheet)
{
    formats_t f;
    make_formats(wb, &f);
    lxw_worksheet *ws = workbook_add_worksheet(wb, sheet);
    if (ws == NULL)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    lxw_error e = LXW_NO_ERROR;
    for (int c = 0; c < t->ncols && e == LXW_NO_ERROR; c++) {
        e = worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, t->cols[c].width, NULL);
        if (e == LXW_NO_ERROR)
            e = worksheet_write_string(ws, 0, (lxw_col_t)c, t->cols[c].label, f.header);
    }
    worksheet_freeze_panes(ws, 1, 0);
    int text_cols[FG_TABLE_COLS_MAX] = {0}; /* money columns with an amount written as text */
    for (size_t r = 0; r < t->nrows && e == LXW_NO_ERROR; r++) {
        const fg_cell_t *row = &t->cells[r * (size_t)t->ncols];
        int exponent = row_exponent(t, row);
        for (int c = 0; c < t->ncols && e == LXW_NO_ERROR; c++) {
            e = write_cell(ws, (lxw_row_t)(r + 1), (lxw_col_t)c, &t->cols[c], &row[c], exponent, &f);
            if (t->cols[c].type == FG_COL_MONEY && !row[c].null && !money_as_number(row[c].num, exponent))
                text_cols[c] = 1;
        }
    }
    if (e != LXW_NO_ERROR || t->ncols == 0)
        return e;
    if (t->nrows > 0)
        e = worksheet_autofilter(ws, 0, 0, (lxw_row_t)t->nrows, (lxw_col_t)(t->ncols - 1));
    /* the totals: one row of SUM formulas whose values are cached, so a
     * reader that does not compute sees them; rows of several currencies
     * get a row per currency of SUMIF formulas over the currency column */
    size_t nrows = t->mixed ? t->ncurrencies : 1;
    for (size_t i = 0; i < nrows && e == LXW_NO_ERROR; i++)
        e = write_totals(ws, t, (lxw_row_t)(t->nrows + 1 + i), t->mixed ? &t->by_currency[i] : NULL, text_cols, &f);
    return e;
}

int fg_table_xlsx(const fg_table_t *t, const char *sheet, fg_buf_t *b)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/feegate-report-XXXXXX", dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return FG_EIO;
    close(fd);
    /* constant memory: each row goes to a temporary file as the next begins
     * (rows are written in order), not every cell kept until the close, so a
     * sheet of 200,000 orders costs a row's memory, not hundreds of MB; its
     * strings are written inline, which every reader takes */
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE,
                                .tmpdir = dir != NULL && dir[0] != '\0' ? (char *)dir : NULL,
                                .use_zip64 = LXW_FALSE};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    int rc = FG_EIO;
    if (wb != NULL) {
        lxw_error e = write_sheet(wb, t, sheet);
        lxw_error closed = workbook_close(wb); /* frees wb, writes the file */
        if (e == LXW_NO_ERROR && closed == LXW_NO_ERROR)
            rc = 0;
    }
    FILE *fp = rc == 0 ? fopen(path, "rb") : NULL;
    if (fp != NULL) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
            fg_buf_append(b, chunk, n);
        if (ferror(fp))
            rc = FG_EIO;
        fclose(fp);
    } else {
        rc = FG_EIO;
    }
    unlink(path);
    return rc;
}
