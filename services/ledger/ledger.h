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
#include "db/db.h"
#include "db/settle.h"

/* A journal has 2..FG_JOURNAL_LINES_MAX entries: a payment needs 3 (clearing,
 * merchant, unapplied), a settlement with fees 3, a refund 3. */
#define FG_JOURNAL_LINES_MAX 8
#define FG_ACCOUNT_CODE_MAX 127

typedef enum { FG_ACCOUNT_ASSET, FG_ACCOUNT_LIABILITY, FG_ACCOUNT_INCOME, FG_ACCOUNT_EXPENSE } fg_account_kind_t;

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
    int64_t refund_id;   /* 0 = none */
    int64_t reverses_id; /* 0 = none */
    const char *memo;    /* may be NULL */
    int count;
    fg_posting_t lines[FG_JOURNAL_LINES_MAX];
} fg_journal_t;

/** The kind an account code implies by its first segment, or -1. */
int fg_account_kind_of(const char *code);

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

/** Balance of an account in its normal direction (assets and expenses
 *  debit-normal, liabilities and income credit-normal) as of at_ms (< 0 =
 *  now): the sum of its committed entries stamped up to at_ms, read as the
 *  newest checkpoint of the newest epoch with as_of <= at_ms plus the
 *  entries after it. */
int fg_ledger_balance(fg_db_t *db, int64_t account_id, fg_account_kind_t kind, int64_t at_ms,
                      int64_t *balance) FG_MUST_USE;

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
