/*
 * ledger.h - the double-entry ledger (docs/DESIGN.md §2).
 *
 * Append-only: journals and entries are only ever inserted (triggers refuse
 * UPDATE and DELETE); corrections are reversing journals.  Entry amounts are
 * signed minor units, debit positive and credit negative; a journal's entries
 * sum to zero per currency, checked here before the INSERT.  No balance row
 * is updated per payment: a balance is the newest checkpoint plus the entries
 * after it, and a background job appends checkpoints (checkpoint.c).
 */
#ifndef FG_LEDGER_LEDGER_H
#define FG_LEDGER_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/ids.h"
#include "core/page.h"
#include "db/db.h"
#include "db/settle.h"

/* A journal has 2..FG_JOURNAL_LINES_MAX entries: a payment needs 3 (clearing,
 * merchant, unapplied), a settlement with fees 3, a refund 3. */
#define FG_JOURNAL_LINES_MAX 8
#define FG_ACCOUNT_CODE_MAX 127

typedef enum {
    FG_ACCOUNT_ASSET,
    FG_ACCOUNT_LIABILITY,
    FG_ACCOUNT_INCOME,
    FG_ACCOUNT_EXPENSE,
    FG_ACCOUNT_EQUITY /* opening balances of bank accounts */
} fg_account_kind_t;

typedef struct {
    char code[FG_ACCOUNT_CODE_MAX + 1];
    fg_account_kind_t kind;
    uint64_t merchant_id; /* for liabilities:merchant:*, else 0 */
    char currency[4];
    int64_t amount; /* signed: debit > 0, credit < 0; never 0 */
} fg_posting_t;

typedef struct {
    const char *kind;    /* "payment", "refund", "settlement", "resolution", "reversal" */
    int64_t payment_id;  /* 0 = none */
    int64_t refund_id;   /* 0 = none; < 0: a refund row queued in this deferring transaction (fg_db_insert) */
    int64_t reverses_id; /* 0 = none */
    const char *memo;    /* may be NULL */
    int count;
    int refused; /* fg_journal_add was given a line it could not take: the journal is never posted */
    fg_posting_t lines[FG_JOURNAL_LINES_MAX];
} fg_journal_t;

/** The kind an account code implies by its first segment, or -1. */
int fg_account_kind_of(const char *code);

/** "asset", "liability", "income" or "expense" for an fg_account_kind_t;
 *  "unknown" for -1 (a code fg_account_kind_of names no kind for). */
const char *fg_account_kind_name(int kind);

/** Adds a posting line (skipped when amount is 0).  Asserts room. */
void fg_journal_add(fg_journal_t *j, const char *code, uint64_t merchant_id, const char *currency, int64_t amount);

/** 1 when the journal has >= 2 lines, no zero line, and sums to zero per
 *  currency without overflow.  Pure. */
int fg_journal_balanced(const fg_journal_t *j);

/**
 * Posts j inside the caller's transaction: accounts are created on demand,
 * then one journal row and its entries (always the journal first: the
 * checkpoint cut relies on an entry never being a transaction's first
 * write, db/settle.h).  Asserts fg_journal_balanced (an
 * unbalanced journal is a programmer error).  Writes the journal's public id
 * when public_id is not NULL.  Returns 0 or an FG_E* database code
 * (FG_ECONFLICT when a posting for this payment/refund already exists).
 */
int fg_ledger_post(fg_db_t *db, const fg_journal_t *j, int64_t now_ms, char *public_id) FG_MUST_USE;
/** fg_ledger_post with the journal and its entries sent at once, even while
 *  the connection defers its inserts (db/db.h), and the journal's row id
 *  written to *journal_row: for a caller that stores that id in a row of its
 *  own within the transaction (a reconciliation item's journal). */
int fg_ledger_post_now(fg_db_t *db, const fg_journal_t *j, int64_t now_ms, int64_t *journal_row) FG_MUST_USE;
/** fg_ledger_post_now for n journals at once (one multi-row INSERT of the
 *  journals, one of their entries): journal_rows[i] receives j[i]'s row id. */
int fg_ledger_post_many_now(fg_db_t *db, const fg_journal_t *j, int n, int64_t now_ms,
                            int64_t *journal_rows) FG_MUST_USE;

/** Balance of an account in its normal direction (assets and expenses
 *  debit-normal, liabilities and income credit-normal) as of at_ms (< 0 =
 *  now): the sum of its committed entries stamped up to at_ms, read as the
 *  newest checkpoint of the newest epoch with as_of <= at_ms plus the
 *  entries after it. */
int fg_ledger_balance(fg_db_t *db, int64_t account_id, fg_account_kind_t kind, int64_t at_ms,
                      int64_t *balance) FG_MUST_USE;

/* ---- reads (query.c) -------------------------------------------------------
 *
 * What the staff API, reconciliation and reports read: accounts with their
 * balances, one account by its code, journals with their entries.  Reads
 * run inside the caller's transaction or outside any (then the caller ends
 * the read view with fg_db_end).  No transport: the JSON they render is the
 * objects' own, the same wherever it is shown. */

/* Bytes a stored account code and currency can take, NUL included:
 * VARCHAR(128) and CHAR(3) of utf8mb4, up to 4 bytes a character
 * (schema/0002_ledger.sql).  Any row read fits whole. */
#define FG_LEDGER_CODE_CAP (128 * 4 + 1)
#define FG_LEDGER_CURRENCY_CAP (3 * 4 + 1)
_Static_assert(FG_ACCOUNT_CODE_MAX < FG_LEDGER_CODE_CAP, "every code posted can be read back");

/** An account as read.  Owns its text; copy it freely. */
typedef struct {
    int64_t id; /* internal key: pages of accounts continue after it */
    char code[FG_LEDGER_CODE_CAP];
    char currency[FG_LEDGER_CURRENCY_CAP];
    int kind;        /* the fg_account_kind_t its code names (fg_account_kind_of), or -1 */
    int64_t balance; /* in its normal direction (fg_ledger_account_balance); 0 until read */
} fg_ledger_account_t;

/**
 * A page of accounts in id order: the first limit (1..FG_PAGE_LIMIT_MAX)
 * with an id above after_id (0 = from the first), of currency_only's
 * currency (NULL: every one), each with its balance as of at_ms (< 0 = now).  rows has room for limit accounts.  Sets
 * *count to the accounts read and *more to 1 when others follow them (the next page is after rows[*count - 1].id), else
 * 0.  Returns 0 or a database code (rows, *count and *more are then unspecified).
 */
int fg_ledger_accounts_page(fg_db_t *db, int64_t after_id, int64_t limit, const char *currency_only, int64_t at_ms,
                            fg_ledger_account_t *rows, int *count, int *more) FG_MUST_USE;

/**
 * The account with this code in currency, or, when currency is NULL, in
 * whichever currency the code has an account in.  Fills *out, balance 0
 * (fg_ledger_account_balance reads it).  Returns 0, FG_ENOTFOUND (no such
 * account), FG_ECONFLICT (currency is NULL and the code has accounts in
 * several currencies: name one), or a database code.
 */
int fg_ledger_account_find(fg_db_t *db, const char *code, const char *currency, fg_ledger_account_t *out) FG_MUST_USE;

/** Sets account->balance to its balance as of at_ms (< 0 = now), as
 *  fg_ledger_balance reads it; an account whose code names no kind is read
 *  debit-normal, as an asset.  Returns 0 or a database code. */
int fg_ledger_account_balance(fg_db_t *db, fg_ledger_account_t *account, int64_t at_ms) FG_MUST_USE;

/** Appends the account's JSON object: code, kind ("unknown" when its code
 *  names none), currency, balance. */
void fg_ledger_account_json(fg_buf_t *b, const fg_ledger_account_t *account);

/** One entry of a journal as read.  The strings belong to the walk that
 *  handed it over (fg_ledger_journals_page). */
typedef struct {
    const char *account;  /* the account's code */
    const char *currency; /* the entry's */
    int64_t amount;       /* signed minor units: debit > 0, credit < 0 */
} fg_ledger_entry_t;

/** A journal as read, with its entries.  Everything it points to belongs to
 *  the walk that handed it over (fg_ledger_journals_page). */
typedef struct {
    int64_t id;            /* internal key: pages of journals continue below it */
    const char *public_id; /* "jrn_..." */
    const char *kind;      /* as posted: "payment", "refund", "settlement", ... */
    const char *memo;      /* "" when it has none */
    int64_t created_at_ms;
    int entry_count;
    const fg_ledger_entry_t *entries; /* in the order they were posted */
} fg_ledger_journal_t;

/** Which journals a page holds.  Zero-initialised and given a limit: the
 *  newest, unfiltered. */
typedef struct {
    int64_t before_id; /* only ids below it (the last id of the page before); 0 = from the newest */
    int64_t limit;     /* 1..FG_PAGE_LIMIT_MAX */
    int has_from, has_to;
    int64_t from_ms;    /* with has_from: created at or after */
    int64_t to_ms;      /* with has_to: created before */
    int64_t account_id; /* only journals with an entry on this account (fg_ledger_account_t.id); 0 = any */
} fg_journal_query_t;

/** Receives each journal of a page.  j and what it points to are valid until
 *  the call returns.  Return 0 to go on; anything else ends the walk and is
 *  what fg_ledger_journals_page returns. */
typedef int (*fg_ledger_journal_fn)(void *arg, const fg_ledger_journal_t *j);

/**
 * A page of journals, newest (highest id) first: the first q->limit that
 * match q, each handed to fn with its entries.  Sets *more, before the first
 * call of fn, to 1 when more journals match after them (the next page is
 * below the id of the last one handed over), else 0.  Returns 0, the value
 * fn ended the walk with, or a database code (fn may have been called for
 * some journals).
 */
int fg_ledger_journals_page(fg_db_t *db, const fg_journal_query_t *q, fg_ledger_journal_fn fn, void *arg,
                            int *more) FG_MUST_USE;

/** Appends the journal's JSON object: id (its public id), kind, memo,
 *  created_at (RFC 3339, seconds) and its entries, each with account,
 *  currency, debit and credit (the amount on its side, 0 on the other). */
void fg_ledger_journal_json(fg_buf_t *b, const fg_ledger_journal_t *j);

/* ---- checkpoints (checkpoint.c) -------------------------------------------
 *
 * A checkpoint covers exactly the entries with id <= its upto_entry_id, and
 * that id is always a settled cut (db/settle.h): no entry beneath it can
 * still commit.  Never a time horizon: ids and stamps do not come in the
 * same order. */

/** One instance's checkpoint job: how far it got.  Zero-initialise. */
typedef struct {
    int64_t epoch;     /* the epoch done_upto belongs to (0 = not read yet) */
    int64_t done_upto; /* the last cut this job checkpointed up to */
} fg_ledger_checkpointer_t;

/** One round of the job: checkpoints every account with entries between the
 *  last cut and settled, an entry id proven settled (db/settle.h; the
 *  caller's settle points on ledger_entries).  Returns the number of
 *  checkpoints written, or < 0. */
int fg_ledger_checkpoint_round(fg_db_t *db, fg_ledger_checkpointer_t *cp, int64_t settled, int64_t now_ms);

/** Checkpoints, in epoch, every account with entries in (from, cut], each
 *  from its newest checkpoint of the epoch; cut must be settled.  Returns
 *  the number written, or < 0. */
int fg_ledger_checkpoint_upto(fg_db_t *db, int64_t epoch, int64_t from, int64_t cut, int64_t now_ms);

typedef struct {
    int64_t epoch, cut;
    int checkpoints;
    uint64_t blocker; /* when the cut did not settle in time: an open transaction's id */
} fg_ledger_rebuild_t;

/**
 * `feegate ledger rebuild-checkpoints`: observes a cut, waits up to wait_ms
 * for it to settle, appends a new epoch (actor and reason recorded) and fills
 * it with one checkpoint per account up to the cut, summed from the entries
 * alone.  Older epochs stay, unread.  0, FG_EUNAVAILABLE when the cut did not
 * settle in time (out->blocker names a transaction still open; nothing was
 * written), or an FG_E* database code.
 */
int fg_ledger_rebuild_checkpoints(fg_db_t *db, const char *actor, const char *reason, int64_t wait_ms,
                                  fg_ledger_rebuild_t *out) FG_MUST_USE;

/**
 * `feegate ledger check`: every journal has >= 2 entries summing to zero per
 * currency; every checkpoint equals the sum of its account's entries; every
 * succeeded payment has exactly one payment posting and every other payment
 * none; every order's amount_paid and amount_refunded equal its postings.
 * Appends a JSON summary to out; returns the number of violations (each also
 * listed in the summary), or < 0 on a database error.
 */
int fg_ledger_check(fg_db_t *db, fg_buf_t *out);

#endif
