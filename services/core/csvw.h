/*
 * csvw.h - writing CSV files people open in a spreadsheet (RFC 4180).
 *
 * A file starts with the UTF-8 byte order mark, so Excel shows Vietnamese
 * text as UTF-8; rows end in CRLF; a field is quoted when it holds a comma,
 * a quote, CR or LF, and its quotes are doubled.  Amounts are plain integers
 * in minor units.  A text field that a spreadsheet would read as a formula
 * (it starts with '=', '+', '-', '@', TAB or CR: payer names and memos come
 * from outside) gets a leading apostrophe, the OWASP advice against CSV
 * injection; integers are written as they are.
 *
 * The caller writes the commas: fields take `comma` like the JSON writer.
 */
#ifndef FG_CORE_CSVW_H
#define FG_CORE_CSVW_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define FG_CSV_BOM "\xEF\xBB\xBF"

/** Appends the byte order mark and a header row of the NULL-terminated names. */
void fg_csv_header(fg_buf_t *b, const char *const *names);
/** Appends one text field (n bytes of UTF-8); NULL writes an empty field. */
void fg_csv_text(fg_buf_t *b, int comma, const char *s, size_t n);
void fg_csv_cstr(fg_buf_t *b, int comma, const char *s);
/** Appends one integer field. */
void fg_csv_int(fg_buf_t *b, int comma, int64_t v);
/** Ends the row (CRLF). */
void fg_csv_end_row(fg_buf_t *b);

#endif
