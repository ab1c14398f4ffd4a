/*
 * day.h - one business day of the collection account as a statement file
 * lists it: the opening balance, the lines with the balance after each, and
 * the closing balance.  statement.c draws it from the bookings and applies the
 * statement chaos; formats.c writes it as camt.053, camt.054, MT940 or a
 * Vietnamese bank's CSV export; memo.c rewrites memos the way banks do.
 */
#ifndef BANKSIM_DAY_H
#define BANKSIM_DAY_H

#include "banksim.h"

/* ISO 20022 Max140Text (RmtInf/Ustrd) and the width banks wrap memos at. */
#define BS_USTRD_MAX 140
#define BS_MEMO_WRAP 35

typedef struct {
    int64_t at_ms;   /* booking time */
    int64_t amount;  /* > 0 credit, < 0 debit */
    int64_t balance; /* the account's balance after the line, as the file shows it */
    char date[11];   /* GMT+7 value date */
    char *bank_ref, *end_to_end;
    char *text;   /* the memo; '\n' marks where the bank wrapped it */
    char *codes;  /* order codes the memo names, space-separated; NULL when none */
    int incoming; /* a payer's transfer: banks put their prefix in front of its memo */
} bs_line_t;

typedef struct {
    char date[11];      /* the statement's day */
    char from_date[11]; /* the first day it lists (earlier with statement_overlap) */
    int64_t opening, closing;
    bs_line_t *lines; /* owned */
    size_t count, cap;
} bs_day_t;

/** Fills day with the statement of date as the file will list it, chaos
 * applied (the caller zeroes day, holds bs_state_lock and frees day). */
void bs_day_build(bs_day_t *day, const char *date, const bs_chaos_t *c);
void bs_day_free(bs_day_t *day);

/** Days since 1970-01-01 of a valid "YYYY-MM-DD". */
int64_t bs_epoch_day(const char *date);
/** Formats day (days since 1970-01-01) with strftime's fmt. */
void bs_day_format(int64_t day, const char *fmt, char *out, size_t cap);

/** Appends s[0..n) in ASCII: Vietnamese letters without their diacritics
 * (Đ -> D), combining marks and other letters dropped, control characters as
 * spaces; upper-cased when upper. */
void bs_ascii_fold(bs_buf_t *b, const char *s, size_t n, int upper);
/** The memo of line as a bank rewrites it: upper case, no diacritics, the
 * sender bank's prefix in front of a payer's transfer, wrapped ('\n') every
 * BS_MEMO_WRAP characters with a wrap inside the first order code it names.
 * account is the collection account.  The result is malloc'd. */
char *bs_memo_rewrite(const bs_line_t *line, const char *account);

/* formats.c: each appends day as one file of its format. */
void bs_render_camt053(bs_buf_t *b, const bs_day_t *day);
void bs_render_camt054(bs_buf_t *b, const bs_day_t *day, int per_credit);
void bs_render_mt940(bs_buf_t *b, const bs_day_t *day);
void bs_render_csv_vn(bs_buf_t *b, const bs_day_t *day);

#endif
