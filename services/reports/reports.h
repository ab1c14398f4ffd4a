/*
 * reports.h - what finance staff open every morning (docs/REPORTS.md):
 * collections grouped as asked, and the orders still owed, aged by due date.
 * Transport-free: the API (api/reports.c) and the staff pages call these and
 * render the table as JSON, CSV or XLSX (reports/table.h).
 *
 * Days are business days in GMT+7 (core/day.h).  Every figure comes from the
 * ledger's journals: a payment counts on the business day its payment journal
 * was posted, a refund on the day of its refund journal.
 */
#ifndef FG_REPORTS_REPORTS_H
#define FG_REPORTS_REPORTS_H

#include <stddef.h>
#include <stdint.h>
#include "db/db.h"
#include "reports/table.h"

#define FG_GROUP_DIMS_MAX 8
/* metadata keys grouped by in one report */
#define FG_GROUP_META_MAX 2
#define FG_META_KEY_MAX 40
/* The longest period one report covers. */
#define FG_REPORT_DAYS_MAX 400
/* A merchant's name as read back: VARCHAR(200) of utf8mb4, NUL included. */
#define FG_REPORT_NAME_CAP (200 * 4 + 1)

typedef enum {
    FG_DIM_DAY,
    FG_DIM_MONTH,
    FG_DIM_MERCHANT,
    FG_DIM_FEE_TYPE,
    FG_DIM_CATEGORY,
    FG_DIM_ADAPTER,
    FG_DIM_META,
} fg_dim_kind_t;

typedef struct {
    fg_dim_kind_t kind;
    int meta; /* FG_DIM_META: which of the query's metadata keys */
} fg_dim_t;

typedef struct {
    int count;
    fg_dim_t dims[FG_GROUP_DIMS_MAX];
    int meta_count;
    char meta_keys[FG_GROUP_META_MAX][FG_META_KEY_MAX + 1];
} fg_group_by_t;

/** Parses "day,merchant,metadata.class": dimensions out of `allowed` (a
 *  bit per fg_dim_kind_t), each once, at most FG_GROUP_META_MAX metadata
 *  keys of 1..40 characters [A-Za-z0-9_-].  0, or -1 with a message. */
int fg_group_by_parse(const char *s, size_t len, unsigned allowed, fg_group_by_t *out, char *msg, size_t msg_cap);

#define FG_DIMS_COLLECTIONS                                                                                            \
    (1u << FG_DIM_DAY | 1u << FG_DIM_MONTH | 1u << FG_DIM_MERCHANT | 1u << FG_DIM_FEE_TYPE | 1u << FG_DIM_CATEGORY |   \
     1u << FG_DIM_ADAPTER | 1u << FG_DIM_META)
#define FG_DIMS_OUTSTANDING (1u << FG_DIM_MERCHANT | 1u << FG_DIM_FEE_TYPE | 1u << FG_DIM_CATEGORY | 1u << FG_DIM_META)

typedef struct {
    int32_t from_day, to_day; /* yyyymmdd, inclusive */
    uint64_t merchant_id;     /* 0 = every merchant */
    fg_group_by_t group;
    int from_journals; /* read the period's journals instead of the rollups (a check; metadata groups always do) */
    char currency[4];  /* ISO 4217: that currency's rows only; "" = every currency */
} fg_collections_query_t;

/**
 * Collections of the period, one row per group and currency: the group's
 * keys, then
 *   count      payments credited to a merchant
 *   collected  what they credited the merchants (the payment journals'
 *              merchant entries)
 *   refunded   what refunds posted in the period took back from merchants
 *   net        collected - refunded
 *   fees       the gateways' fees on those payments, from their settlement
 *              rows (0 until settled; the city's expense, not the merchant's)
 *   currency   the ISO 4217 code the amounts of the row are in
 * Fills out (initialised by the caller) with its totals.  0, FG_ETOOLONG
 * (more than FG_TABLE_ROWS_MAX rows), FG_EOVERFLOW, or a database code.
 */
int fg_report_collections(fg_db_t *db, const fg_collections_query_t *q, fg_table_t *out) FG_MUST_USE;

typedef struct {
    int32_t as_of;        /* yyyymmdd: owed at the end of that business day */
    int64_t now_ms;       /* as_of on or after today reads the orders as they are */
    uint64_t merchant_id; /* 0 = every merchant */
    fg_group_by_t group;
    int detail;       /* 1 = one row per order */
    int from_orders;  /* read every owing order instead of owed_totals (a check; details, metadata groups and a
                         past as_of always do) */
    char currency[4]; /* ISO 4217: orders of that currency only; "" = every currency */
} fg_outstanding_query_t;

/**
 * Orders still owed at the end of as_of: open or partially paid then, not
 * cancelled and not expired by then, with the amount their payments posted
 * by then leaves owed.  Aged by due date (business days past due_at):
 * not_due (no due date, or not past it), 1-30, 31-60, over 60.  Grouped, one
 * row per group with count, owed and each bucket's amount; or, detail, one
 * row per order with its payer, code, amounts, due date, days past due and
 * bucket, most overdue first within each group.  Every row names its
 * currency (the last column); a group's orders are of one currency.
 *
 * Grouped by merchant, fee type or category for today (or later), it reads
 * the sums of schema/0027 (owed_totals and the changes not yet folded, less
 * the orders past expires_at that the sweeper has not expired yet) instead of
 * the orders: a few rows per merchant and due day, whatever the count of open
 * orders.
 */
int fg_report_outstanding(fg_db_t *db, const fg_outstanding_query_t *q, fg_table_t *out) FG_MUST_USE;

typedef struct {
    int32_t from_day, to_day;
    uint64_t merchant_id;
    char currency[4]; /* the account's ISO 4217 currency; "" is VND */
    /* out */
    int64_t opening, closing; /* the merchant account's balance before from_day and at the end of to_day */
    int64_t collections, refunds, fees, payouts, adjustments;
    char merchant_public_id[64], merchant_name[FG_REPORT_NAME_CAP];
} fg_merchant_statement_t;

/**
 * What the city owes a merchant over a period in one currency, from its
 * ledger account liabilities:merchant:{id} of that currency: the opening balance, then per business day the
 * journals that moved it, by kind: collections (payment journals), refunds,
 * fees (fee journals; the gateways' fees are the city's expense, DESIGN §2),
 * payouts, and adjustments (any other journal: reconciliation resolutions,
 * reversals), and the closing balance.  One row per day that moved.  The
 * balances come from the ledger's checkpoints (fg_ledger_balance), the
 * movements from the entries, so opening + movements = closing is a check
 * the report makes: FG_ECHECKSUM if it fails.
 */
int fg_report_merchant_statement(fg_db_t *db, fg_merchant_statement_t *st, fg_table_t *out) FG_MUST_USE;

typedef struct {
    int32_t from_day, to_day;
    const char *account; /* NULL or "" = every account */
    int from_items;      /* count the items themselves instead of their day totals (a check of recon_day_totals) */
    char currency[4];    /* ISO 4217: the accounts of that currency only (their statements'); "" = every currency */
} fg_recon_report_query_t;

/**
 * The reconciliation summary, one row per bank account and business day
 * that has statement lines, reconciliation items, a closing balance or a
 * closing: lines, credits, debits, items by state (matched, suggested,
 * bank_only, ledger_only, amount_mismatch, duplicate), resolved and still
 * open items, the bank's closing balance of the day (the last statement's;
 * null if none closed that day), the ledger's bank balance at the day's end,
 * their difference, and whether the day is closed (and by whom).
 */
int fg_report_reconciliation(fg_db_t *db, const fg_recon_report_query_t *q, fg_table_t *out) FG_MUST_USE;

/* Ledger entries a rollup round covers at most. */
#define FG_ROLLUP_BATCH 50000

/**
 * One round of the rollup job: adds to report_daily the collections of the
 * journals whose first ledger entry is above the watermark and at most
 * settled_entry_id (an id every entry up to which is final, db/settle.h),
 * at most `batch` entries' worth, and moves the watermark, in one
 * transaction.  1 when it moved, 0 when there was nothing to add, or an
 * FG_E* code.  *upto (may be NULL) gets the watermark.
 */
int fg_report_rollup_round(fg_db_t *db, int64_t settled_entry_id, int64_t batch, int64_t *upto) FG_MUST_USE;

/** Empties the rollups and sets the watermark to 0 (feegate reports
 *  rebuild, which then runs rounds up to a settled mark). */
int fg_report_rollup_clear(fg_db_t *db) FG_MUST_USE;

/** feegate reports rebuild: empties the rollups, waits (up to wait_ms) for a
 *  settled mark of the ledger's entries, and runs rounds up to it.  Reports
 *  stay right meanwhile (they read what the rollups lack from the ledger).
 *  0 with the watermark in *upto and the rounds run; FG_EUNAVAILABLE when a
 *  transaction (*blocker) stayed open too long; or an FG_E* code. */
int fg_report_rollup_rebuild(fg_db_t *db, int64_t wait_ms, int64_t *upto, int64_t *rounds,
                             uint64_t *blocker) FG_MUST_USE;

/* Changes one fold takes at most. */
#define FG_OWED_FOLD_BATCH 5000

/** One fold of the outstanding report's sums (reports/owed.c): adds up to
 *  `batch` committed rows of owed_changes to owed_totals and deletes them, in
 *  one transaction.  0 with the count in *folded, or an FG_E* code. */
int fg_report_owed_fold(fg_db_t *db, int64_t batch, int64_t *folded) FG_MUST_USE;

/** feegate reports rebuild: recounts owed_totals from the orders, one
 *  merchant per transaction, while the server writes.  0 with the merchants
 *  recounted and those whose sums were wrong, or an FG_E* code. */
int fg_report_owed_rebuild(fg_db_t *db, int64_t *merchants, int64_t *corrected) FG_MUST_USE;

/** The row id of the merchant with public id `public_id`: 0, FG_ENOTFOUND,
 *  or a database code. */
int fg_report_merchant(fg_db_t *db, const char *public_id, size_t len, uint64_t *id) FG_MUST_USE;

#endif
