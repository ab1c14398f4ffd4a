/*
 * sheet_internal.h - the row collector the CSV and XLSX readers share.
 */
#ifndef FG_CORE_SHEET_INTERNAL_H
#define FG_CORE_SHEET_INTERNAL_H

#include "core/sheet.h"

typedef struct {
    fg_buf_t text;                     /* the row's cells, each ended by NUL */
    size_t starts[FG_SHEET_CELLS_MAX]; /* offset of each cell in text */
    size_t n;                          /* cells begun */
    int open;                          /* a cell was begun since the last emit */
    size_t beyond;                     /* the cell begun last is past the last column kept: its 1-based column */
    size_t row_no;
} fg_sheet_row_t;

/** Formats err and returns FG_EINVALID. */
int fg_sheet_fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Starts the cell of 0-based column (cells skipped before it stay empty);
 *  one past FG_SHEET_CELLS_MAX columns is refused only once it holds text
 *  (exports pad rows with empty cells), one left of a cell begun is refused. */
int fg_sheet_cell_begin(fg_sheet_row_t *r, size_t column, char *err, size_t cap);
/** Appends to the cell begun last. */
int fg_sheet_cell_append(fg_sheet_row_t *r, const char *s, size_t n, char *err, size_t cap);
/** Hands the row to fn (unless every cell is empty) and resets it. */
int fg_sheet_row_emit(fg_sheet_row_t *r, fg_sheet_row_fn fn, void *ctx, char *err, size_t cap);
void fg_sheet_row_reset(fg_sheet_row_t *r);
void fg_sheet_row_free(fg_sheet_row_t *r);

#endif
