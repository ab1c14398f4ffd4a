/*
 * receipts.h - e-receipts as the domain issues and reads them: the store, its
 * gapless numbering and the collecting unit's receipt settings (store.c),
 * the amount in Vietnamese words (words.c).
 *
 * Numbering.  A receipt's number is the next of one series per merchant and
 * serial, taken from a counter row (receipt_counters) in the transaction
 * that marks the payment succeeded: the row is locked from the moment the
 * number is taken to COMMIT, so a concurrent payment of the same merchant
 * and serial, on this instance or another, waits for it, and a rollback
 * gives the number back with everything else.  No gap, no repeat.
 *
 * Operations run inside the caller's transaction (like fg_ledger_post) and
 * may be re-run with it; they return 0 or a negative FG_E* code.
 */
#ifndef FG_RECEIPTS_RECEIPTS_H
#define FG_RECEIPTS_RECEIPTS_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/money.h"
#include "core/page.h"
#include "core/config.h"
#include "db/db.h"
#include "receipts/receipt.h"

/* The largest amount a receipt carries in words: the largest order amount. */
#define FG_RECEIPT_AMOUNT_MAX FG_AMOUNT_MAX

/* SQL: the provider reference a payer reads for a payment's reference
 * column col.  A payment a statement line made (reconciliation's rule 2, or
 * staff applying the line) is keyed "line:<line id>:<item>:<n>", unique per
 * adapter; its payer reads the bank's reference of the line (NULL when the
 * bank gave none), never the key. */
#define FG_RECEIPT_PROVIDER_REF_SQL(col)                                                                               \
    "IF(" col " LIKE 'line:%', (SELECT NULLIF(l.bank_ref, '') FROM statement_lines l WHERE l.id = "                    \
    "CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(" col ", ':', 2), ':', -1) AS UNSIGNED)), " col ")"
/* The unit's name and address in characters (the merchant's name has 200). */
#define FG_RECEIPT_UNIT_NAME_CHARS 200
#define FG_RECEIPT_ADDRESS_CHARS 400

/* ---- words (words.c) ------------------------------------------------------- */

/** Appends amount (minor units of currency) in Vietnamese words to out,
 *  first letter upper case: "Bốn triệu năm trăm nghìn đồng" for 4500000 VND;
 *  another currency's major units and its code, the minor units as a
 *  fraction.  A negative amount (an adjustment) starts with "Âm".  0, or
 *  FG_ERANGE beyond ±FG_RECEIPT_AMOUNT_MAX or for an unknown currency
 *  (out untouched). */
int fg_receipt_amount_words(int64_t amount, const char *currency, fg_buf_t *out) FG_MUST_USE;

/** Appends n >= 0 in words, lower case, without a currency ("hai mươi mốt"). */
void fg_receipt_number_words(fg_buf_t *out, int64_t n);

/* ---- issuing (store.c) ----------------------------------------------------- */

/** What a payment's receipt is made of, from the rows the payment pipeline
 *  holds (strings borrowed; NULL = none). */
typedef struct {
    int64_t payment_id, order_id, merchant_id; /* internal ids */
    const char *payment_public_id, *order_public_id, *merchant_public_id;
    const char *payer_name, *payer_ref, *bill_ref, *fee_type, *description;
    int64_t amount; /* what was received */
    const char *currency;
    const char *method;       /* the adapter */
    const char *provider_ref; /* the provider's transaction id */
    int64_t paid_at_ms;
} fg_receipt_issue_t;

/** A new receipt id ("rct_…") into id.  0 or FG_EIO. */
int fg_receipt_new_id(char id[FG_RECEIPT_ID_MAX + 1]) FG_MUST_USE;

/**
 * Inside the caller's transaction, after the payment was marked succeeded
 * (its receipt_id set to id): issues its original receipt with id under the
 * merchant's current settings, numbered from the series of (merchant,
 * serial).  Take it late in the transaction: the counter row stays locked
 * until COMMIT.  out (may be NULL) receives the receipt as written.  0;
 * FG_ERANGE when the series is used up (9,999,999 numbers: the merchant
 * needs a new serial); a database code (never FG_ECONFLICT: a key clash of
 * a receipt is a fault, answered FG_EDB).
 */
int fg_receipt_issue(fg_db_t *db, const char *id, const fg_receipt_issue_t *in, int64_t now_ms,
                     fg_receipt_t *out) FG_MUST_USE;

/** Inside the payment's transaction: queues the receipt id of a payment
 *  that succeeded, with what the receipt will say of it (in->amount,
 *  currency, method, provider_ref, paid_at_ms; ids), for the issuer
 *  (fg_receipt_issue_queued).  A deferred insert in a group commit. */
int fg_receipt_queue(fg_db_t *db, const char *id, const fg_receipt_issue_t *in) FG_MUST_USE;

/** Inside the caller's transaction: issues queued receipts, oldest payment
 *  first: up to limit of any merchant's (claimed with SKIP LOCKED), or the
 *  one named id (waiting for a claim that holds it).  *issued (may be NULL)
 *  counts them.  A merchant whose series is used up keeps its receipts
 *  queued (logged) until an admin sets a new serial: FG_ERANGE when that
 *  is the only one asked for.  0 or a database code. */
int fg_receipt_issue_queued(fg_db_t *db, const char *id, int limit, int *issued) FG_MUST_USE;

/** Issues the receipt id when it is still queued, in a transaction of its
 *  own (outside any other): what every read does before it reads, so that a
 *  receipt id a payment names always opens.  A merchant's read (merchant_id
 *  not 0) issues only that merchant's.  0 (issued, or nothing queued of
 *  it), FG_ERANGE (its series is used up) or a database code. */
int fg_receipt_ensure(fg_db_t *db, const char *id, size_t len, uint64_t merchant_id) FG_MUST_USE;

/** The issuer's thread in `feegate serve` (receipts/issuer.c). */
int fg_receipts_start(const fg_config_t *cfg) FG_MUST_USE;
void fg_receipts_stop(void);
/** Tells this process's issuer that a payment queued a receipt: it looks at
 *  the queue often for a few seconds, then sleeps until the next. */
void fg_receipts_wake(void);

/** A refund that succeeded, as its adjustment receipt is made of it. */
typedef struct {
    int64_t payment_id;       /* internal id of the refunded payment */
    int64_t amount;           /* the refund: > 0; the adjustment carries -amount */
    const char *provider_ref; /* the provider's refund id; NULL = none */
} fg_receipt_adjust_t;

/**
 * Inside the caller's transaction, after the refund was marked succeeded:
 * issues its adjustment receipt with id (kind adjustment, TCHDon 2): the
 * amount -in->amount, related_id the payment's original receipt, its unit,
 * payer, fee, description and method copied from the original, numbered
 * from the series of (merchant, current serial) by the same counter as an
 * original.  The original (locked first) becomes 'adjusted'; only its
 * status changes.  out (may be NULL) receives the adjustment as written.
 * 0; FG_ENOTFOUND when the payment has no original receipt (it succeeded
 * before receipts existed: nothing is written); FG_ERANGE when the series
 * is used up; a database code.
 */
int fg_receipt_adjust(fg_db_t *db, const char *id, const fg_receipt_adjust_t *in, int64_t now_ms,
                      fg_receipt_t *out) FG_MUST_USE;

/** One adjustment of fg_receipt_adjust_many: its receipt id and its refund. */
typedef struct {
    const char *id;
    fg_receipt_adjust_t in;
} fg_receipt_adjustment_t;

/**
 * fg_receipt_adjust for n (at most 200) refunds of distinct payments at
 * once, in a handful of statements (batch.c): the payments' originals
 * locked and read in one (in payment order), the merchants' current series
 * in one, the originals marked adjusted in one, each (merchant, serial)
 * advanced by its count in one (numbers in payment order within a series),
 * the adjustments written in one.  0; FG_ENOTFOUND when a payment has no
 * issued original (nothing written: adjust each with fg_receipt_adjust,
 * which issues a queued original first); FG_ERANGE when a series is used
 * up; a database code.
 */
int fg_receipt_adjust_many(fg_db_t *db, const fg_receipt_adjustment_t *a, int n, int64_t now_ms) FG_MUST_USE;

/* ---- reading (store.c) ----------------------------------------------------- */

/** The receipt id (public) within merchant_id (0 = any merchant).
 *  FG_ENOTFOUND when there is none (or another merchant's). */
int fg_receipt_get(fg_db_t *db, const char *id, size_t id_len, uint64_t merchant_id, fg_receipt_t *out) FG_MUST_USE;

/** The original receipt of the payment with public id payment_id, within
 *  merchant_id (0 = any).  FG_ENOTFOUND when none was issued. */
int fg_receipt_of_payment(fg_db_t *db, const char *payment_id, uint64_t merchant_id, fg_receipt_t *out) FG_MUST_USE;

typedef struct {
    uint64_t merchant_id;           /* 0 = every merchant */
    const char *merchant_public_id; /* a merchant's public id; NULL = any */
    const char *payment_id;         /* a payment's public id; NULL = any */
} fg_receipt_query_t;

/** Appends {"object":"list","data":[…],"next_cursor":…} of receipts, newest
 *  first.  0 or a database code. */
int fg_receipt_list(fg_db_t *db, const fg_receipt_query_t *q, const fg_page_t *page, fg_buf_t *out) FG_MUST_USE;

/** The receipt's public JSON (GET /v1/receipts/{id}); amount_in_words is
 *  of the amount without its sign (an adjustment's kind says it is negative). */
void fg_receipt_json(fg_buf_t *b, const fg_receipt_t *r);

/** "Biên lai số 0000123, ký hiệu BL-26E" parts: the number as its seven
 *  digits into out (8 bytes). */
void fg_receipt_number_text(int64_t number, char out[8]);

/* ---- settings (store.c) ------------------------------------------------- */

/** A change of a merchant's receipt settings: a field not given (has_* 0)
 *  stays; unit_name, tax_code and address may be given as NULL (the
 *  merchant's name; none; none).  Strings borrowed. */
typedef struct {
    int has_unit_name, has_tax_code, has_address, has_form, has_serial;
    const char *unit_name, *tax_code, *address, *form, *serial;
} fg_receipt_settings_t;

/** 1 for a tax code (MST) of 10 digits, or 10 digits, '-' and 3 digits
 *  (a dependent unit). */
int fg_receipt_tax_code_valid(const char *s);
/** 1 for a form symbol or serial: 1..max of A-Z, 0-9, '-' and '/'. */
int fg_receipt_symbol_valid(const char *s, size_t max);

/** Checks a change; *field names the first bad one.  0 or FG_EINVALID. */
int fg_receipt_settings_check(const fg_receipt_settings_t *in, const char **field) FG_MUST_USE;

/**
 * Inside the caller's transaction: applies a change to the settings of the
 * merchant with public id merchant_id under its row lock, audited as actor
 * ("merchant.receipt_settings.set", before and after).  The series of the
 * old serial is kept: a later change back continues it.  json (may be NULL)
 * receives {"merchant_id","receipt_settings":{…}}.  0; FG_EINVALID (check
 * first); FG_ENOTFOUND; or a database code.
 */
int fg_receipt_settings_set(fg_db_t *db, const char *merchant_id, const fg_receipt_settings_t *in, const char *actor,
                            fg_buf_t *json) FG_MUST_USE;

#endif
