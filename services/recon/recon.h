/*
 * recon.h - reconciliation (docs/DESIGN.md §7): bank statements in, held
 * against the ledger.  The operations every door calls: the API
 * (POST /v1/statements), the CLI (`feegate statements import`), the jobs.
 */
#ifndef FG_RECON_RECON_H
#define FG_RECON_RECON_H

#include <stdint.h>
#include <stdio.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/json.h"
#include "core/page.h"
#include "core/ids.h"
#include "db/db.h"
#include "recon/statement.h"

/** Where an import reads its file: a buffer (a request body) or an open file
 *  (the CLI), read twice (checked whole first, then stored), in chunks. */
typedef struct {
    const char *data; /* the whole file, or NULL to read file */
    size_t len;
    FILE *file;
} fg_stmt_source_t;

/** What an import found and did. */
typedef struct {
    char public_id[FG_ID_CAP]; /* "imp_…": this import, or the earlier one of the same file */
    int duplicate;             /* the same file was imported before: nothing was added */
    fg_stmt_format_t format;
    int64_t file_bytes;
    int statements;
    int64_t lines, new_lines, overlapped_lines; /* overlapped: already imported from an earlier file */
    int64_t credits, debits;                    /* sums of the file's lines, debits <= 0 (JSON: its size) */
    int gaps;                                   /* statements whose opening differs from the previous closing */
    /* the first statement of the file */
    char account[FG_STMT_ACCOUNT_MAX + 1];
    char currency[4];
    /* on FG_ECHECKSUM: the statement that does not add up */
    int unbalanced_index; /* 1-based, in file order */
    int64_t opening, lines_total, closing;
} fg_import_result_t;

/**
 * Imports a statement file of format in its own transaction: nothing is
 * stored unless the whole file is valid and every statement in it balances
 * (opening + lines = closing, where the format has balances).  The same file
 * (by SHA-256) again answers its earlier import with out->duplicate set;
 * lines already imported from another file (same account and line key) are
 * skipped and counted in overlapped_lines.  imported_by names who did it
 * ("staff:<email>", "cli").  Returns 0; FG_EINVALID with err filled (the file
 * is not a valid statement of that format); FG_ECHECKSUM (a statement does
 * not balance: out->unbalanced_index, opening, lines_total, closing); FG_ERANGE
 * (larger than FG_STMT_FILE_MAX); FG_EIO (the file could not be read); or a
 * database code.
 */
int fg_statement_import(fg_db_t *db, const fg_stmt_source_t *src, fg_stmt_format_t format, const char *imported_by,
                        fg_import_result_t *out, fg_stmt_error_t *err) FG_MUST_USE;

/* ---- what was imported, read back (statements_read.c) ---- */

/** GET /v1/statements: the imports, newest first, as a list page (each as
 *  the import's answer, with file_bytes, imported_by and created_at).  0 or
 *  a database code. */
int fg_statement_imports_json(fg_db_t *db, const fg_page_t *page, fg_buf_t *out) FG_MUST_USE;
/** GET /v1/statements/{id}: the import and its statements (statement_list:
 *  seq, bank_id, account, currency, opening, closing, their dates, the
 *  period, lines, credits, debits, gap).  0, FG_ENOTFOUND or a database
 *  code. */
int fg_statement_import_json(fg_db_t *db, const char *public_id, size_t len, fg_buf_t *out) FG_MUST_USE;
/** GET /v1/statements/{id}/lines: the import's lines in file order, as a
 *  list page, each with its id (the number a payout's statement_line_id
 *  and the change feed's stl_<n> name).  0, FG_ENOTFOUND or a database
 *  code. */
int fg_statement_lines_json(fg_db_t *db, const char *public_id, size_t len, const fg_page_t *page,
                            fg_buf_t *out) FG_MUST_USE;

/** One round of the matching job: claims up to limit unmatched statement
 *  lines (any number of instances share the work) and matches each in its
 *  own transaction (match.c: reference, order codes in the memo, amount and
 *  date as a suggestion; else bank_only).  Returns how many were claimed,
 *  or < 0 on a database error.  Blocking: run from a background thread. */
int fg_recon_match_round(fg_db_t *db, const fg_config_t *cfg, int limit);

/* ---- gateway settlements (settlement.c) ---------------------------------------- */

typedef struct {
    int batches, new_batches; /* new: not stored by an earlier file */
    int64_t rows;
    char batch_ref[FG_STMT_REF_MAX + 1]; /* the first batch of the file */
    int64_t gross, fees, net;            /* of that batch */
} fg_settlement_result_t;

/**
 * Imports a gateway's settlement file (settlement.c: batch_ref,
 * transaction_no, order_ref, transaction_time, type, amount, fee, net) in
 * one transaction; batches stored before are skipped.  A payout line left
 * bank_only for want of its batch goes back to the matching job, which then
 * posts the settlement: Dr assets:bank:{account} net, Dr
 * expenses:fees:{gateway} fees, Cr assets:clearing:{gateway} gross.
 * gateway is "vnpay" or "momo".  0; FG_EINVALID with err; FG_EUNSUPPORTED
 * (another gateway); FG_ERANGE (over FG_STMT_FILE_MAX); or a database code.
 */
int fg_settlement_import(fg_db_t *db, const char *gateway, const char *data, size_t len, const char *who,
                         fg_settlement_result_t *out, fg_stmt_error_t *err) FG_MUST_USE;
void fg_settlement_json(fg_buf_t *b, const char *gateway, const fg_settlement_result_t *r);

/* ---- reconciliations (reconcile.c) ------------------------------------------ */

/* What reconciliation made of an item: exactly one of these. */
typedef enum {
    FG_RECON_UNMATCHED, /* not looked at yet: the matching job's work */
    FG_RECON_MATCHED,
    FG_RECON_SUGGESTED,
    FG_RECON_BANK_ONLY,
    FG_RECON_LEDGER_ONLY,
    FG_RECON_AMOUNT_MISMATCH,
    FG_RECON_DUPLICATE,
    FG_RECON_STATE_COUNT
} fg_recon_state_t;

const char *fg_recon_state_name(fg_recon_state_t s);
int fg_recon_state_parse(const char *text, size_t len, fg_recon_state_t *out) FG_MUST_USE;

/** A reconciliation with its live summary. */
typedef struct {
    int64_t id, created_at;
    char public_id[FG_ID_CAP];
    char account[FG_STMT_ACCOUNT_MAX + 1];
    char currency[4]; /* ISO 4217: the account's (its statements'; VND when none), every amount's */
    char created_by[320];
    int32_t from_day, to_day; /* yyyymmdd, business days GMT+7 */
    int64_t items;
    int64_t count[FG_RECON_STATE_COUNT], total[FG_RECON_STATE_COUNT];
    int64_t closed_days; /* of the period */
    int has_bank_closing;
    int64_t bank_closing;
    int32_t bank_closing_day;
    int64_t ledger_balance; /* the ledger's bank account at the end of bank_closing_day */
    int64_t unreconciled;   /* of the period's lines and gaps: what nothing explains yet (open or accepted) */
    int64_t unapplied;      /* of that, credits recorded as unapplied money */
    /* money collected in the period that has not reached the bank: the
     * feed's transfers no line shows, gateway payments no settled batch lists */
    int64_t transit_count[3], transit_amount[3]; /* vietqr, vnpay, momo */
} fg_reconciliation_t;

/** Creates a reconciliation of account over [from_day, to_day] in its own
 *  transaction: sends the period's undecided lines (suggested, bank_only,
 *  amount_mismatch, unresolved) back to the matching job, and adds a
 *  ledger_only item for each transfer the bank feed applied in the period
 *  that no statement line shows after recon.ledger_only_after_days
 *  business days.  last (may be NULL) runs at the end of the transaction,
 *  the new reconciliation's id in public_id (the API stores the request's
 *  idempotency key and answer there, in the same transaction): its non-zero
 *  rolls everything back and is returned.  account in any spelling, keyed
 *  here (fg_bank_account_key).  0, FG_EINVALID (no account number, or from
 *  after to), last's code, or a database code. */
int fg_reconciliation_create(fg_db_t *db, const fg_config_t *cfg, const char *account, int32_t from_day, int32_t to_day,
                             const char *who, char public_id[FG_ID_CAP], fg_db_tx_fn last, void *last_arg) FG_MUST_USE;
/** Reads a reconciliation and its summary.  0, FG_ENOTFOUND, or a database
 *  code. */
int fg_reconciliation_get(fg_db_t *db, const char *public_id, fg_reconciliation_t *out) FG_MUST_USE;
/** fg_reconciliation_get inside the caller's transaction (left open). */
int fg_reconciliation_read(fg_db_t *db, const char *public_id, fg_reconciliation_t *out) FG_MUST_USE;
void fg_reconciliation_json(fg_buf_t *b, const fg_reconciliation_t *r);
/** Appends up to limit items of r (of one state when state is not NULL)
 *  with ids above after, as JSON objects separated by commas; *last_id the
 *  last one's id, *more whether more follow.  0 or a database code. */
int fg_reconciliation_items(fg_db_t *db, const fg_reconciliation_t *r, const fg_recon_state_t *state, int64_t after,
                            int64_t limit, fg_buf_t *out, int64_t *last_id, int *more) FG_MUST_USE;

/** Why a close was refused, where it was. */
typedef struct {
    int64_t open_items;  /* FG_ESTATE: items neither matched nor resolved, or money in transit */
    int64_t closable_at; /* FG_EUNSUPPORTED: when the period's last day may close (Unix ms) */
    int32_t day;         /* FG_ECONFLICT: the earliest open day before the period; FG_ECHECKSUM: the unequal day */
} fg_recon_close_refusal_t;

/** Closes every business day of rec's period in one transaction with an
 *  audit_log row: allowed once every item of the period is matched or
 *  resolved, the period's last day has reached close_after_hour
 *  (recon.close_after_hour: 24, once it is over), and every earlier day of
 *  the account that the bank's statements booked anything on is closed
 *  (days close in order).  A closed day never changes: a line for it that
 *  arrives later is reconciled on the next open day.  Closing again changes
 *  nothing.  0; FG_EUNSUPPORTED (not before why->closable_at); FG_ESTATE
 *  (why->open_items); FG_ECONFLICT (why->day, an earlier day, is open);
 *  FG_ECHECKSUM (why->day's statement closing is not the ledger's bank
 *  balance at its end; days closing in order never meet it, the check
 *  stands behind that rule); FG_ERANGE (a period of more than 10,000
 *  days); or a database code. */
int fg_reconciliation_close(fg_db_t *db, const fg_reconciliation_t *rec, const char *actor, int64_t close_after_hour,
                            fg_recon_close_refusal_t *why) FG_MUST_USE;

/* ---- resolving exceptions (resolve.c) ---------------------------------------- */

typedef enum { FG_RECON_ACCEPT, FG_RECON_APPLY, FG_RECON_WRITE_OFF, FG_RECON_UNDO, FG_RECON_REFUND } fg_recon_action_t;

#define FG_RECON_NOTE_MAX 1000 /* characters */
#define FG_RECON_ALLOCATIONS_MAX 20

typedef struct {
    const char *order_id; /* public id */
    int64_t amount;
} fg_recon_allocation_t;

typedef struct {
    fg_recon_action_t action;
    const char *note; /* required */
    int order_count;  /* apply: the orders and what each takes */
    fg_recon_allocation_t orders[FG_RECON_ALLOCATIONS_MAX];
} fg_recon_resolution_t;

typedef struct {
    char state[24], resolution[16];
    char kind[16];      /* the item's: bank_line, ledger_posting, balance_gap, settlement_row */
    int bad_order;      /* the allocation a refusal is about, or -1 */
    int order_currency; /* apply: refused (FG_ESTATE) because bad_order's order is in another currency */
    int day_closed;     /* undo: refused (FG_ESTATE) because the item's business day is closed */
    int64_t unapplied;  /* apply: what the orders did not take, recorded as unapplied money */
    fg_buf_t json;      /* the item after: {"id","state","resolution","amount","note"} */
} fg_recon_resolved_t;

/**
 * Resolves item item_id of reconciliation rec in one transaction with its
 * audit_log row (actor, the item before and after).  0; FG_EINVALID (no
 * note); FG_ENOTFOUND (no such item in rec, or an allocation's order:
 * out->bad_order); FG_ECONFLICT (resolved already: out->resolution);
 * FG_ESTATE (not an exception: matched or still being matched, out->state;
 * or an order that cannot take its allocation, out->bad_order);
 * FG_EEXCEEDS (the allocations exceed the line); FG_EUNSUPPORTED (apply on a
 * debit or on money the ledger holds already, a ledger_only item; apply or
 * refund of a settlement_row item, out->kind; undo of an apply; a write-off
 * account that is no ledger account); or a database code.  A settlement_row
 * item's write-off posts its amount (the gateway's figure less ours) to
 * assets:clearing:{gateway} against the write-off account.
 * Undo: FG_ESTATE when the item is not resolved; it writes the reversing
 * journal of what the resolution posted and an audit row
 * "reconciliation_item.undo".
 */
int fg_recon_resolve(fg_db_t *db, const fg_config_t *cfg, const fg_reconciliation_t *rec, int64_t item_id,
                     const fg_recon_resolution_t *in, const char *actor, fg_recon_resolved_t *out) FG_MUST_USE;

/* ---- payouts to merchants (payouts.c) -----------------------------------------
 *
 * What the city pays each merchant out of what it collected for them
 * (docs/RECONCILIATION.md, "Payouts to merchants").  A payout, when finance
 * makes it, posts Dr liabilities:merchant:{id} / Cr
 * liabilities:payouts_in_transit; a batch gathers the payouts not in one yet
 * into the bank's bulk-transfer file; the statement's debit line that shows
 * the money leave is matched by the rule 'payout' (payouts_match.c).  The
 * operations run inside the caller's transaction, so a handler stores its
 * idempotent answer in the same one. */

/* Where payouts wait for the bank: promised to a merchant, still in the
 * city's account.  A liability, as liabilities:payer_refunds is. */
#define FG_PAYOUT_IN_TRANSIT_ACCOUNT "liabilities:payouts_in_transit"
/* The merchant's reference of a payout: printable ASCII, unique per
 * merchant; 64 as merchant_ref, and short enough for a transfer memo. */
#define FG_PAYOUT_REFERENCE_MAX 64
/* A bank by its NAPAS BIN: six digits, as vietqr.bank_bin. */
#define FG_PAYOUT_BANK_BIN_LEN 6
/* An account number: letters and digits, up to an IBAN's 34. */
#define FG_PAYOUT_ACCOUNT_NO_MAX 34
/* The account holder's name as the bank keeps it (characters). */
#define FG_PAYOUT_ACCOUNT_NAME_MAX 100
/* Payouts one batch file holds: a bank's bulk-transfer upload takes a few
 * thousand rows; the payouts beyond wait for the next batch. */
#define FG_PAYOUT_BATCH_MAX 5000
/* Payouts only in the currency of the city's accounts. */
#define FG_PAYOUT_CURRENCY "VND"
/* A reference or public id as a bank memo shows it: upper case, letters and
 * digits only (a ULID id is 30 of them). */
#define FG_PAYOUT_MATCH_KEY_MAX 64
_Static_assert(FG_PAYOUT_REFERENCE_MAX <= FG_PAYOUT_MATCH_KEY_MAX, "a reference's key fits");

typedef enum { FG_PAYOUT_PENDING, FG_PAYOUT_BATCHED, FG_PAYOUT_PAID, FG_PAYOUT_STATUS_COUNT } fg_payout_status_t;

const char *fg_payout_status_name(fg_payout_status_t s);
int fg_payout_status_parse(const char *text, size_t len, fg_payout_status_t *out) FG_MUST_USE;

/** A merchant's payout account (strings NUL-terminated, borrowed). */
typedef struct {
    const char *bank_bin, *account_no, *account_name;
} fg_payout_account_t;

/** Checks a payout account: bank_bin six digits naming a NAPAS member bank
 *  (core/banks.h), account_no 1..34 ASCII letters and digits, account_name
 *  1..100 characters of UTF-8 without control characters.  0; FG_ENOTFOUND
 *  when bank_bin is six digits no member bank has (*field "bank_bin"); or
 *  FG_EINVALID with *field naming the first bad one ("bank_bin",
 *  "account_number", "account_name").  Pure. */
int fg_payout_account_check(const fg_payout_account_t *a, const char **field) FG_MUST_USE;

/** The short name of the bank with this NAPAS BIN, or NULL when the list
 *  does not know it (an account set before unknown BINs were refused: the
 *  file then leaves the name empty, the BIN decides).  Pure. */
const char *fg_payout_bank_name(const char *bank_bin);

/** Inside the caller's transaction: sets the payout account of the merchant
 *  with this public id, with an audit_log row "merchant.payout_account.set"
 *  (actor; the account before and after).  Appends to json, when not NULL,
 *  {"merchant_id","payout_account":{…}}.  0; FG_EINVALID (a checks
 *  fails); FG_ENOTFOUND (no such merchant); or a database code. */
int fg_payout_account_set(fg_db_t *db, const char *merchant_id, const fg_payout_account_t *a, const char *actor,
                          fg_buf_t *json) FG_MUST_USE;

/** `feegate admin merchant set-payout-account MERCHANT --bin B --account A
 *  --name N`: the same from the command line (actor "cli"), printing the
 *  JSON.  Returns the exit code: 0, 1 (no such merchant, database) or 2
 *  (usage: a missing or invalid option). */
int fg_payout_cli_set_account(const fg_config_t *cfg, int argc, char **argv);

/** What finance asks for: strings borrowed (from the request's JSON). */
typedef struct {
    const char *merchant_id; /* public id */
    int64_t amount;
    const char *reference;
} fg_payout_input_t;

/** 1 when reference may name a payout: 1..FG_PAYOUT_REFERENCE_MAX printable
 *  ASCII characters with a letter or digit (what a bank's memo keeps).
 *  Pure. */
int fg_payout_reference_ok(const char *reference, size_t len);

/** Reads {"merchant_id","amount","reference","currency"?} (currency, when
 *  given, must be VND) into in, pointing into root.  0, or -1 with err:
 *  malformed (missing field, wrong type, unknown field) or unacceptable
 *  (amount outside 1..10^15, a reference that is not 1..64 printable ASCII
 *  characters with a letter or digit, another currency).  Pure. */
int fg_payout_input_parse(yajl_val root, fg_payout_input_t *in, fg_field_error_t *err) FG_MUST_USE;

/** A payout as read.  Zero-initialise; free with fg_payout_free.  Text
 *  fields are empty (data NULL or "") when the column is NULL. */
typedef struct {
    int64_t id; /* internal key: pages continue after it */
    fg_buf_t public_id, merchant_id, currency, reference, bank_bin, account_no, account_name, batch_id, journal_id,
        paid_journal_id, created_by;
    fg_payout_status_t status;
    int64_t amount, paid_line_id, paid_item_id, paid_at, created_at, updated_at;
} fg_payout_t;

void fg_payout_free(fg_payout_t *p);

/** {"id","object":"payout","merchant_id","amount","currency","reference",
 *  "status","beneficiary":{…},"batch_id","journal_id","paid_at",
 *  "statement_line_id","reconciliation_item_id","paid_journal_id",
 *  "created_by","created_at","updated_at"}. */
void fg_payout_json(fg_buf_t *b, const fg_payout_t *p);

typedef enum {
    FG_PAYOUT_MADE,            /* the payout was made: out is it */
    FG_PAYOUT_SAME,            /* the merchant made one with this reference and amount before: out is it */
    FG_PAYOUT_NO_MERCHANT,     /* no merchant has this public id */
    FG_PAYOUT_NO_ACCOUNT,      /* the merchant has no payout account */
    FG_PAYOUT_EXCEEDS_BALANCE, /* more than the merchant's balance (*balance) */
    FG_PAYOUT_REFERENCE_TAKEN, /* another payout of the merchant has this reference: out is it */
} fg_payout_outcome_t;

/**
 * Inside the caller's transaction: makes a payout for in (checked by
 * fg_payout_input_parse) by actor ("staff:<email>").  Locks the merchant's
 * row first, so payouts of one merchant are made one at a time: each reads
 * the balance the previous one left.  The balance is the merchant's ledger
 * account (credit-normal), which every payout made so far, paid or not,
 * has already debited.  When the amount fits, posts Dr
 * liabilities:merchant:{id} / Cr liabilities:payouts_in_transit, stores the
 * payout with the merchant's payout account, and writes an audit_log row
 * "payout.create" (the balance before; the payout and the balance after).
 * Returns 0 with *outcome (a refusal writes nothing; *balance is the
 * balance read, when it was read), or a database code.
 */
int fg_payout_create(fg_db_t *db, const fg_payout_input_t *in, const char *actor, int64_t now,
                     fg_payout_outcome_t *outcome, int64_t *balance, fg_payout_t *out) FG_MUST_USE;

/** What may be paid out to the merchant (merchant: its row id, merchant_id:
 *  its public id) now, as fg_payout_create checks a payout against it: its
 *  ledger balance in the payout currency less what its refunds still
 *  pending may take.  Read without the merchant's lock, for a page to show:
 *  a payout or refund made meanwhile changes it, and fg_payout_create reads
 *  it again under the lock.  0 or a database code. */
int fg_payout_available(fg_db_t *db, uint64_t merchant, const char *merchant_id, int64_t *available) FG_MUST_USE;

/** The payout with this public id.  0, FG_ENOTFOUND, or a database code. */
int fg_payout_get(fg_db_t *db, const char *public_id, size_t len, fg_payout_t *out) FG_MUST_USE;

/** Which payouts a list holds: all, or one merchant's, one batch's, or one
 *  status. */
typedef struct {
    const char *merchant_id; /* public id, or NULL */
    const char *batch_id;    /* public id, or NULL */
    int has_status;
    fg_payout_status_t status;
} fg_payout_query_t;

typedef void (*fg_payout_each_fn)(const fg_payout_t *p, void *arg);

/** A page of payouts, newest first: up to page->limit with an id below
 *  page->cursor (0 = from the newest), each handed to each (valid during the
 *  call); *more when others follow.  0 or a database code. */
int fg_payout_list(fg_db_t *db, const fg_payout_query_t *q, const fg_page_t *page, fg_payout_each_fn each, void *arg,
                   int *more) FG_MUST_USE;

/** A batch as read.  Zero-initialise; free with fg_payout_batch_free. */
typedef struct {
    int64_t id;
    fg_buf_t public_id, account, currency, created_by, paid_journal_id;
    int paid;
    int64_t payout_count, total, paid_line_id, paid_item_id, paid_at, created_at, updated_at;
    int64_t left_over; /* pending payouts left for the next batch (fg_payout_batch_create), else -1 */
} fg_payout_batch_t;

void fg_payout_batch_free(fg_payout_batch_t *b);

/** {"id","object":"payout_batch","reference","account","currency",
 *  "payout_count","total","status","file","statement_line_id",
 *  "reconciliation_item_id","paid_journal_id","paid_at","created_by",
 *  "created_at","pending_left"?} (pending_left: as the batch is made, the
 *  pending payouts it left for the next one). */
void fg_payout_batch_json(fg_buf_t *b, const fg_payout_batch_t *batch);

/** Inside the caller's transaction: gathers the pending payouts (oldest
 *  first, at most FG_PAYOUT_BATCH_MAX, and no more than keep the total
 *  within 10^15) into a new batch paid from account (the city's bank
 *  account, in any spelling, keyed here), marks them batched, and writes an
 *  audit_log row "payout_batch.create" (the batch and its payouts).  The
 *  account must be one the city knows: a collection account of cfg
 *  (vietqr.account_no, sepay.accounts) or one a statement was imported for.
 *  0; FG_EINVALID (no account number); FG_ENOTFOUND (not a known account of
 *  the city, checked before anything is written); FG_EUNSUPPORTED (an
 *  account whose statements are in another currency than the payouts');
 *  FG_ESTATE (no payout is pending); or a database code. */
int fg_payout_batch_create(fg_db_t *db, const fg_config_t *cfg, const char *account, const char *actor, int64_t now,
                           fg_payout_batch_t *out) FG_MUST_USE;

/* The city's accounts a page offers to pay a batch from: the collection
 * accounts of the configuration and the accounts of imported statements, a
 * handful; those beyond are still accepted when typed into the API. */
#define FG_PAYOUT_BATCH_ACCOUNTS_MAX 100

typedef void (*fg_payout_account_each_fn)(const char *account, void *arg);

/** The city's accounts fg_payout_batch_create accepts, keyed as statements
 *  key them, each once: the configured collection accounts
 *  (vietqr.account_no, then sepay.accounts), then the accounts statements
 *  were imported for, in order, at most FG_PAYOUT_BATCH_ACCOUNTS_MAX; each
 *  handed to each (valid during the call).  0 or a database code. */
int fg_payout_batch_accounts(fg_db_t *db, const fg_config_t *cfg, fg_payout_account_each_fn each,
                             void *arg) FG_MUST_USE;

/** The batch with this public id.  0, FG_ENOTFOUND, or a database code. */
int fg_payout_batch_get(fg_db_t *db, const char *public_id, size_t len, fg_payout_batch_t *out) FG_MUST_USE;

/** The batch's bulk-transfer file (core/csvw.h: UTF-8 with a BOM, a header
 *  row, CRLF): one row per payout, in id order: beneficiary account number
 *  and name, bank BIN and name, amount (an integer in minor units),
 *  currency, the transfer memo (the payout's reference and id), the payout
 *  and merchant ids.  Appended to csv.  0 or a database code. */
int fg_payout_batch_file(fg_db_t *db, const fg_payout_batch_t *batch, fg_buf_t *csv) FG_MUST_USE;

/** The import's public JSON: {"id","object":"statement_import","format",
 *  "account","currency","statements","lines","new_lines","overlapped_lines",
 *  "credits","debits","gaps","duplicate_of"}; credits and debits are both
 *  sizes (>= 0), as GET /v1/reports/reconciliation writes them. */
void fg_import_json(fg_buf_t *b, const fg_import_result_t *r);

/** The line key of a statement line (docs/RECONCILIATION.md): SHA-256 of
 *  the bank reference, else the end-to-end id with date and amount, else
 *  date, amount, memo and occurrence (1 for the first such line of the
 *  statement).  Pure. */
void fg_stmt_line_key(const fg_stmt_line_t *l, int occurrence, uint8_t key[32]);

/** `feegate reports rebuild`: recounts recon_day_totals from the items, one
 *  (account, day) per transaction, while the server writes (totals.c says
 *  why no change is lost or counted twice).  *days: the days recounted;
 *  *corrected: those whose totals were wrong.  0 or a database code. */
int fg_recon_totals_rebuild(fg_db_t *db, int64_t *days, int64_t *corrected) FG_MUST_USE;

#endif
