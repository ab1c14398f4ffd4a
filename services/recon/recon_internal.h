/*
 * recon_internal.h - what the reconciliation files share.
 */
#ifndef FG_RECON_INTERNAL_H
#define FG_RECON_INTERNAL_H

#include "ledger/ledger.h"
#include "recon/recon.h"

/** Inside the caller's transaction: pays order_id `amount` for a statement
 *  line through the notification pipeline, as the bank feed does (a VietQR
 *  payment for the transfer, then fg_webhook_apply_one), keyed by the line,
 *  its item and index so it happens once.  *payment_row receives the
 *  payment's row id.  0; FG_ESTATE (the order cannot take it); or a database
 *  code. */
int fg_recon_pay_order(fg_db_t *db, const fg_config_t *cfg, int64_t item_id, int64_t line_id, int64_t order_id,
                       int64_t amount, int index, int64_t *payment_row) FG_MUST_USE;

/** Midnight GMT+7 (Asia/Ho_Chi_Minh, no daylight saving) starting the
 *  yyyymmdd business day, in ms since the epoch. */
int64_t fg_recon_day_start_ms(int32_t day);

/** The yyyymmdd day after day; the business day (GMT+7) of a time. */
int32_t fg_recon_next_day(int32_t day);
int32_t fg_recon_day_of_ms(int64_t ms);
/** The day after the account's last closed day (0 when none is closed):
 *  where the bank's lines of a day at or before it, and their items, go
 *  (bank.c).  0 or a database code. */
int fg_recon_after_closed(fg_db_t *db, const char *account, int32_t *out) FG_MUST_USE;
/** The first day from day on that is not closed for account (within 400
 *  days: else FG_ERANGE).  0 or a database code. */
int fg_recon_open_day(fg_db_t *db, const char *account, int32_t day, int32_t *out) FG_MUST_USE;

/* ---- gateway settlement files (settlement.c) ------------------------------------- */

/* A settlement file lists the batches of a few days, not more. */
#define FG_SETTLEMENT_BATCHES_MAX 16

/* One payout batch of a settlement file, as read. */
typedef struct {
    char batch_ref[FG_STMT_REF_MAX + 1];
    int64_t rows, gross, fees, net;
    int stored; /* set by the import: new in this file */
} fg_settlement_batch_t;

/** Reads and checks gateway's settlement file (the layout in settlement.c)
 *  without storing anything: its batches (zeroed by the caller) with their
 *  rows and sums into batches, their number into *count and the rows into
 *  *rows.  0; FG_EINVALID with err (a line too long or not UTF-8, not the
 *  header, a bad cell, a batch named by another gateway's convention, more
 *  than FG_SETTLEMENT_BATCHES_MAX batches, no row). */
int fg_settlement_check(const char *gateway, const char *data, size_t len,
                        fg_settlement_batch_t batches[FG_SETTLEMENT_BATCHES_MAX], int *count, int64_t *rows,
                        fg_stmt_error_t *err) FG_MUST_USE;

/* ---- matching on import (match.c) ------------------------------------------------ */

/** Inside the import's transaction, once statement_id's lines and items
 *  are stored, with `sum` the amount of those matched by rule 1 (a line
 *  whose bank reference is a transfer the feed recorded at its amount, with
 *  no settlement batch waiting for it: import.c match_batch and SQL_ITEMS;
 *  fg_recon_totals_add_lines and fg_recon_totals_insert_items add it up):
 *  one journal moves that amount out of the unreconciled account (Dr
 *  assets:bank_unreconciled:{account}, Cr assets:clearing:vietqr), kept as
 *  the statement's match_journal_id (each line or item keeps its payment, no
 *  recon_links row); the feed's ledger_only items the lines show are
 *  matched.  0 or a database code. */
/** Before a statement's lines (statement_id, or when 0 the one line of
 *  account and bank_ref) are matched to the bank feed's transfers: each of
 *  those transfers that staff wrote off as ledger_only (the bank had not
 *  shown it) has its write-off reversed and its item unresolved, in the
 *  audit log as the statement's doing; the money came after all, and the
 *  line's match clears the clearing account the write-off had cleared. */
int fg_recon_undo_shown_write_offs(fg_db_t *db, int64_t statement_id, const char *account, const char *bank_ref,
                                   size_t bank_ref_len, int64_t now) FG_MUST_USE;
int fg_recon_import_matched(fg_db_t *db, int64_t statement_id, const char *account, const char *currency, int64_t sum,
                            int64_t now) FG_MUST_USE;

/* ---- recon_day_totals (totals.c) ------------------------------------------------ */

/** Inside the import's transaction: runs its items' INSERT (s, prepared
 *  and bound by the caller, ending in RETURNING business_day, state, amount,
 *  rule), adds what it inserted to recon_day_totals, one row per (account,
 *  day) (the table's insert trigger leaves statement lines' items to this),
 *  and sets *matched to the amount of those the import matched to the feed's
 *  transfers (fg_recon_import_matched's sum).  0 or a database code. */
int fg_recon_totals_insert_items(fg_db_t *db, fg_stmt_t *s, const char *account, int64_t *matched) FG_MUST_USE;

/* The lines of one statement the import matched as it stored them
 * (statement_lines.payment_id, schema/0029), per value day: how many, and
 * their sum (credits only). */
typedef struct {
    int64_t day, lines, sum;
} fg_recon_line_day_t;
typedef struct {
    fg_recon_line_day_t *days;
    size_t count, cap;
} fg_recon_line_days_t;

/** Counts one matched line of amount (> 0) on day.  0; FG_ETOOLONG past a
 *  statement's days, FG_EOVERFLOW past the money range. */
int fg_recon_line_days_add(fg_recon_line_days_t *d, int64_t day, int64_t amount) FG_MUST_USE;
/** Replaces d with the statement's matched lines as stored in this
 *  transaction (when the import cannot tell which of the lines it sent were
 *  stored: INSERT IGNORE skipped some).  0 or a database code. */
int fg_recon_line_days_read(fg_db_t *db, int64_t statement_id, fg_recon_line_days_t *d) FG_MUST_USE;
/** Adds d's lines to recon_day_totals as matched bank lines of account, one
 *  row per day, and their sum to *matched.  0 or a database code. */
int fg_recon_totals_add_lines(fg_db_t *db, const char *account, const fg_recon_line_days_t *d,
                              int64_t *matched) FG_MUST_USE;
void fg_recon_line_days_free(fg_recon_line_days_t *d);

/* ---- the bank account in the ledger (bank.c) ----------------------------------- */

/** assets:bank:{account} and assets:bank_unreconciled:{account}. */
void fg_recon_bank_account(const char *account, char out[FG_ACCOUNT_CODE_MAX + 1]);
void fg_recon_unreconciled_account(const char *account, char out[FG_ACCOUNT_CODE_MAX + 1]);

/** The yyyymmdd day before day. */
int32_t fg_recon_prev_day(int32_t day);

/** The ledger's balance of account's bank account in currency at the end of
 *  day (bank_postings), and how many postings made it.  0 or a database
 *  code. */
int fg_recon_bank_as_of(fg_db_t *db, const char *account, const char *currency, int32_t day, int64_t *balance,
                        int64_t *postings) FG_MUST_USE;

/** A stored statement as the bank book needs it. */
typedef struct {
    int64_t statement_id;
    const char *account, *currency;
    int has_opening, has_closing;
    int64_t opening, closing;
    int32_t first_day, last_day; /* the statement's first and last booking day */
} fg_recon_bank_statement_t;

/** Takes the bank account's row lock (making the row on first use), held
 *  to the end of the caller's transaction: a statement's import, a
 *  reconciliation's creation and its close each hold it, so none of them
 *  decides on what another has written and not yet committed (closed days,
 *  open items, lines matched to feed transfers).  0 or a database code. */
int fg_recon_account_lock(fg_db_t *db, const char *account, int64_t now) FG_MUST_USE;

/** Inside the import's transaction, once the statement's lines are stored:
 *  posts them to the bank account by booking day, and its opening (the
 *  account's first, or a gap) and closing (a gap) against the ledger's
 *  balance.  *opening_gap receives the opening's gap, 0 when none.  0;
 *  FG_ERANGE (more than about three years of booking days in one
 *  statement); or a database code. */
int fg_recon_bank_statement(fg_db_t *db, const fg_recon_bank_statement_t *st, int64_t now,
                            int64_t *opening_gap) FG_MUST_USE;

/* ---- gateway payouts (payout.c) ---------------------------------------------------- */

/** A payout named by the gateways' convention: "VNPSTL" (VNPay) or "MOMOSTL"
 *  (MoMo) and the yyyymmdd business day (GMT+7) whose transactions it pays. */
typedef struct {
    char gateway[8];    /* "vnpay", "momo" */
    int32_t day;        /* yyyymmdd */
    char batch_ref[24]; /* "VNPSTL20261202" */
} fg_recon_payout_name_t;

/** Finds a payout name in text[0..len): the whole text when whole, else a
 *  word of it (not inside a longer run of letters and digits).  1 with *out,
 *  or 0 (*out zeroed).  Pure. */
int fg_recon_payout_name(const char *text, size_t len, int whole, fg_recon_payout_name_t *out);

/** A statement line as the payout rule reads it (strings NUL-terminated). */
typedef struct {
    int64_t line_id, amount;
    int32_t business_day; /* its item's */
    const char *account, *currency, *bank_ref, *end_to_end, *memo;
    size_t memo_len;
    int unapplied; /* its money sits in liabilities:unapplied */
} fg_recon_line_t;

/** The payout l names: its bank reference, else its end-to-end id, else a
 *  word of its memo.  1 with *out, else 0. */
int fg_recon_payout_of(const fg_recon_line_t *l, fg_recon_payout_name_t *out);

/** What the payout rule decided, when decided is set. */
typedef struct {
    int decided;
    const char *state; /* "matched", "amount_mismatch", "bank_only" */
    char detail[300];
    int64_t journal_id; /* the settlement journal, when matched */
    int64_t row_items;  /* settlement_row items a file's rows made */
} fg_recon_payout_result_t;

/** Rule 0, inside the matching transaction: a gateway's payout line settled
 *  by its settlement file, else (a payout named by the convention, and a fee
 *  schedule configured for its gateway) by the schedule; a file's rows are
 *  then held against the ledger.  0 (out->decided says whether it applied)
 *  or a database code (FG_ECONFLICT: another line of the same payout is
 *  being settled; try again later). */
int fg_recon_by_payout(fg_db_t *db, const fg_config_t *cfg, const fg_recon_line_t *line, int64_t now,
                       fg_recon_payout_result_t *out) FG_MUST_USE;

/* ---- payouts to merchants (payouts.c, payouts_match.c) ---------------------------- */

/** The match key of text: its ASCII letters and digits, upper-cased, in
 *  order (a bank's memo keeps those, whatever it does to case, spaces and
 *  punctuation).  Writes at most FG_PAYOUT_MATCH_KEY_MAX of them and a NUL
 *  into out; returns how many there were (more than the cap: truncated).
 *  Pure. */
size_t fg_payout_match_key(const char *text, size_t len, char out[FG_PAYOUT_MATCH_KEY_MAX + 1]);

/** Where a key may stand in a text: the text's letters and digits,
 *  upper-cased, and at each of them whether a word starts there (the first,
 *  or one after anything else).  A key is named when it stands at the start
 *  of a word and ends where a word ends: "PO-12" and "po 12" name "PO12",
 *  "XPO12" and "PO123" do not. */
#define FG_PAYOUT_TEXT_MAX 2048 /* statement_lines.memo is VARCHAR(2048) */
typedef struct {
    size_t len;
    char key[FG_PAYOUT_TEXT_MAX];
    unsigned char word_start[FG_PAYOUT_TEXT_MAX + 1]; /* [len] is 1: the end ends a word */
} fg_payout_text_t;

void fg_payout_text(const char *text, size_t len, fg_payout_text_t *out);
/** 1 when t names key (klen > 0), else 0.  Pure. */
int fg_payout_text_names(const fg_payout_text_t *t, const char *key, size_t klen);

/** The payout and batch ids a text names ("po_…", "pob_…" as a bank
 *  writes them: "PO01J…", "POB 01J…"), in order, at most max of each;
 *  returns the counts through *payouts and *batches.  Pure. */
void fg_payout_text_ids(const fg_payout_text_t *t, char (*payouts)[FG_ID_CAP], int *payout_count,
                        char (*batches)[FG_ID_CAP], int *batch_count, int max);

/** Rule 'payout', inside the matching transaction, for a debit line (item
 *  item_id): the money of a merchant payout leaving the bank.  The line's
 *  memo, bank reference or end-to-end id names a batch (its id: the whole
 *  batch in one line), a payout (its id), or a payout's reference; the
 *  amount must be the batch's total or the payout's amount, and a batched
 *  payout must leave the batch's account.  Posts Dr
 *  liabilities:payouts_in_transit / Cr assets:bank_unreconciled:{account}
 *  and marks the payout(s) paid with the line and item (a batch whose
 *  payouts are all paid is paid).  out->decided when the line names one:
 *  "matched", or "amount_mismatch" / "bank_only" with the detail saying
 *  why.  0 or a database code (FG_ERETRY: a batch was made meanwhile). */
int fg_recon_by_merchant_payout(fg_db_t *db, const fg_recon_line_t *line, int64_t item_id, int64_t now,
                                fg_recon_payout_result_t *out) FG_MUST_USE;

#endif
