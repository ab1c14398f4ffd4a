/*
 * sheet.h - reading the tables people keep in a spreadsheet: CSV (RFC 4180,
 * UTF-8 with or without a byte order mark, comma or semicolon) and XLSX
 * (Office Open XML: the first worksheet, through libzip and libexpat).
 *
 * Rows are handed to a callback one at a time as arrays of cells, the empty
 * trailing cells dropped and wholly empty rows skipped.  An XLSX cell is its
 * text as stored: shared and inline strings as text, numbers as Excel wrote
 * them ("4500000", "45991" for a date: the reader of a column knows what it
 * holds), booleans "0"/"1".  A formula's cached value is read, never the
 * formula.
 *
 * Bounds: the caller's file limit, at most FG_SHEET_CELLS_MAX cells a row
 * and FG_SHEET_CELL_MAX bytes a cell; an XLSX part inflating beyond
 * FG_SHEET_PART_MAX bytes (a zip bomb) is refused.
 */
#ifndef FG_CORE_SHEET_H
#define FG_CORE_SHEET_H

#include <stddef.h>
#include "core/buf.h"

#define FG_SHEET_CELLS_MAX 64
#define FG_SHEET_CELL_MAX 4096
#define FG_SHEET_PART_MAX (64u << 20)

typedef enum { FG_SHEET_CSV, FG_SHEET_XLSX } fg_sheet_format_t;

typedef struct {
    const char *text; /* NUL-terminated, valid during the callback */
    size_t len;
} fg_sheet_cell_t;

/** One row: row_no counts from 1 as the spreadsheet shows it.  Return 0 to
 *  go on, anything else to stop (fg_sheet_read returns it). */
typedef int (*fg_sheet_row_fn)(void *ctx, size_t row_no, const fg_sheet_cell_t *cells, size_t n);

/** The format of a file from its first bytes (a zip archive is XLSX). */
fg_sheet_format_t fg_sheet_sniff(const char *data, size_t len);

/** Reads every row of data.  0 after the last row, the callback's nonzero
 *  value when it stopped, or FG_EINVALID with a message in err (a
 *  malformed file, a row or cell beyond the bounds, text that is not UTF-8). */
int fg_sheet_read(fg_sheet_format_t format, const char *data, size_t len, fg_sheet_row_fn fn, void *ctx, char *err,
                  size_t err_cap);

int fg_sheet_read_csv(const char *data, size_t len, fg_sheet_row_fn fn, void *ctx, char *err, size_t err_cap);
int fg_sheet_read_xlsx(const char *data, size_t len, fg_sheet_row_fn fn, void *ctx, char *err, size_t err_cap);

#endif
