/*
 * table.h - a report as a table of typed columns, and the three forms it is
 * served in: JSON ({"data":[rows]}), CSV (RFC 4180, UTF-8 with BOM) and
 * XLSX (libxlsxwriter).  One table, three renderers, so the forms cannot
 * disagree: tests read the CSV and XLSX back and compare them with the JSON.
 *
 * A table of amounts in several currencies names each row's currency in a
 * column of its own (fg_table_currency_col); its totals are then kept per
 * currency, since a sum of dong and cents means nothing.
 */
#ifndef FG_REPORTS_TABLE_H
#define FG_REPORTS_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define FG_TABLE_COLS_MAX 24
#define FG_TABLE_KEY_MAX 64
/* A report longer than this is refused (narrow the period or the group). */
#define FG_TABLE_ROWS_MAX 200000

typedef enum {
    FG_COL_TEXT,  /* text; NULL is JSON null, an empty CSV field */
    FG_COL_INT,   /* a count */
    FG_COL_MONEY, /* minor units */
    FG_COL_DAY,   /* yyyymmdd: "YYYY-MM-DD" in JSON and CSV, a date in XLSX */
    FG_COL_MONTH, /* yyyymm: "YYYY-MM" in JSON and CSV, a date (the 1st) shown mm/yyyy in XLSX */
} fg_col_type_t;

typedef struct {
    char key[FG_TABLE_KEY_MAX + 1]; /* JSON key and CSV header */
    char label[128];                /* XLSX header: Vietnamese / English */
    fg_col_type_t type;
    int width;  /* XLSX column width in characters */
    int summed; /* totals add it up (INT and MONEY columns) */
} fg_col_t;

typedef struct {
    int64_t num; /* INT, MONEY, DAY, MONTH; NULL day = 0 */
    char *text;  /* TEXT, owned; NULL = null */
    int null;    /* INT, MONEY: no value (JSON null, an empty CSV field, a blank XLSX cell; not summed) */
} fg_cell_t;

/* One currency's totals of the summed columns. */
typedef struct {
    char currency[4];                  /* ISO 4217 code, NUL-terminated */
    int64_t totals[FG_TABLE_COLS_MAX]; /* indexed by column, as fg_table_t's */
} fg_table_totals_t;

typedef struct {
    int ncols;
    fg_col_t cols[FG_TABLE_COLS_MAX];
    size_t nrows, cap;
    fg_cell_t *cells; /* nrows * ncols */
    /* Of the summed columns, after fg_table_total.  With a currency column,
     * the one currency's totals when every row is of one currency, and all 0
     * when the rows are of several (mixed): read by_currency then. */
    int64_t totals[FG_TABLE_COLS_MAX];
    int currency_col;               /* index + 1 of the currency column; 0 = none */
    int mixed;                      /* rows of more than one currency */
    fg_table_totals_t *by_currency; /* owned; ncurrencies of them, VND first, then by code */
    size_t ncurrencies;
    /* Without a currency column: the ISO 4217 code of every amount (the
     * merchant statement's account), which the XLSX form needs to write
     * major units; "" is VND. */
    char currency[4];
} fg_table_t;

/* The largest amount, in minor units, the XLSX form writes as a number: a
 * decimal of at most 15 significant digits, which a double holds and gives
 * back digit for digit (DBL_DIG), and the largest amount of an order
 * (FG_AMOUNT_MAX).  A larger one (a sum) is written as text, its exact
 * decimal, and a total that would need it as well. */
#define FG_TABLE_XLSX_NUMBER_MAX 1000000000000000LL
/* The most minor-unit digits of a currency (ISO 4217: 4, e.g. CLF) the XLSX
 * form has a number format for; an amount of a currency with more is text. */
#define FG_TABLE_XLSX_EXPONENT_MAX 4

void fg_table_init(fg_table_t *t);
void fg_table_free(fg_table_t *t);
/** Adds a column; returns its index.  Asserts room. */
int fg_table_col(fg_table_t *t, const char *key, const char *label, fg_col_type_t type, int width);
/** Adds the column `currency` (text: each row's ISO 4217 code) and has the
 *  totals kept per currency; returns its index.  Asserts room, and one such
 *  column. */
int fg_table_currency_col(fg_table_t *t);
/** Orders currency codes as reports list them: VND first (the city's
 *  currency), then by code.  <0, 0, >0 as strcmp. */
int fg_currency_cmp(const char *a, const char *b);
/** Appends a zeroed row and returns its cells; NULL past FG_TABLE_ROWS_MAX. */
fg_cell_t *fg_table_row(fg_table_t *t);
/** Sets a text cell (copied; NULL stays null). */
void fg_cell_text(fg_cell_t *c, const char *s, size_t n);
/** Adds up the summed columns, per currency when the table has a currency
 *  column: 0, or FG_EOVERFLOW. */
int fg_table_total(fg_table_t *t);

/** `"data":[{…},…]` (no braces around it), and `,"totals":{…}` of the summed
 *  columns.  With a currency column: `totals` also names its "currency" when
 *  the rows are of one, and is null when they are of several;
 *  `,"totals_by_currency":[{"currency":…,…},…]` follows, one per currency. */
void fg_table_json(const fg_table_t *t, fg_buf_t *b);
/** The whole CSV file. */
void fg_table_csv(const fg_table_t *t, fg_buf_t *b);
/** The whole XLSX file, one sheet named sheet (≤ 31 characters), a header row
 *  frozen, a totals row of SUM formulas (their values cached), or one per
 *  currency of SUMIF formulas when the rows are of several: 0, or FG_EIO.
 *  Money is in major units, a number in its currency's format ("#,##0" for
 *  VND, "#,##0.00" for USD): 1234 minor units of USD is the cell 12.34, the
 *  double nearest that decimal, as Excel holds it when 12.34 is typed.  Past
 *  FG_TABLE_XLSX_NUMBER_MAX minor units an amount is text, its exact decimal
 *  ("12345678901234.56"). */
int fg_table_xlsx(const fg_table_t *t, const char *sheet, fg_buf_t *b);

#endif
