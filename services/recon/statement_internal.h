/*
 * statement_internal.h - the one interface every statement reader
 * implements; statement.c dispatches to them by format.
 */
#ifndef FG_RECON_STATEMENT_INTERNAL_H
#define FG_RECON_STATEMENT_INTERNAL_H

#include "recon/statement.h"

typedef struct {
    /** A reader's state for format (one of the formats it reads), NULL when
     *  out of memory.  sink outlives the state. */
    void *(*create)(fg_stmt_format_t format, const fg_stmt_sink_t *sink);
    /** As fg_stmt_parser_feed / fg_stmt_parser_finish. */
    int (*feed)(void *state, const char *data, size_t len, fg_stmt_error_t *err);
    int (*finish)(void *state, fg_stmt_error_t *err);
    void (*destroy)(void *state);
} fg_stmt_reader_t;

extern const fg_stmt_reader_t fg_stmt_camt_reader;  /* camt.c: camt.053, camt.054 */
extern const fg_stmt_reader_t fg_stmt_mt940_reader; /* mt940.c */
extern const fg_stmt_reader_t fg_stmt_csv_reader;   /* csv.c: csv, csv-vn */

/** Fills err ("line N: " is not added: callers write the whole message)
 *  and returns FG_EINVALID. */
int fg_stmt_fail(fg_stmt_error_t *err, uint32_t line, const char *element, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** s[0..n), an account as a statement writes it, as every record keys it
 *  (fg_bank_account_key) in out: 0, or FG_EINVALID with err ("line N: what
 *  \"…\" is not an account number: …"; line 0: no line). */
int fg_stmt_account(const char *s, size_t n, char out[FG_STMT_ACCOUNT_MAX + 1], uint32_t line, const char *element,
                    const char *what, fg_stmt_error_t *err);

/** The start of s[0..n) for an error message: at most 32 bytes of printable
 *  ASCII ('?' for the rest, "..." when cut), in out. */
const char *fg_stmt_excerpt(const char *s, size_t n, char out[40]);

#endif
