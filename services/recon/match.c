/*
 * match.c - statement lines against the ledger (docs/DESIGN.md §7).
 *
 * The job claims unmatched items (FOR UPDATE SKIP LOCKED, a lease), then
 * decides them as sets (match_set_tx: one statement per rule and per table
 * for the set), falling back to each under its own row lock.
 * Rules, in order, the rule recorded on the item:
 *   0. settlement (payout.c): a gateway's payout line whose batch the
 *      settlement file listed, or, without the file, whose payout the fee
 *      schedule explains: Dr bank (net), Dr fees, Cr clearing (gross);
 *   1. reference: the line's bank reference or end-to-end id is a payment's
 *      provider transaction id, or a transfer the bank feed already applied
 *      (bank_transfers): matched, nothing new is posted;
 *   2. order codes in the memo (as banks rewrite it: case, prefixes, wraps;
 *      the check symbol verified): when the line's amount is exactly what
 *      those orders still owe, each order is paid through the same apply
 *      function as every notification (fg_webhook_apply_one), and the
 *      transfer is recorded in bank_transfers so the feed can never apply it
 *      again; a code whose order owes another amount is amount_mismatch;
 *   3. amount and date: orders owing exactly the amount, due or created
 *      within RULE3_WINDOW_DAYS of the line: suggested, never applied;
 *   4. payer_refund (debits): the money of a line staff resolved to refund
 *      leaving: Dr liabilities:payer_refunds, Cr unreconciled;
 *   5. payout (debits, payouts_match.c): a merchant payout, or a batch of
 *      them, leaving: Dr liabilities:payouts_in_transit, Cr unreconciled.
 * Anything else is bank_only (a payout line whose batch is not known yet
 * goes back to matching when its settlement file arrives).
 */
#include "recon/recon_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "db/group.h"
#include "core/money.h"
#include "ledger/ledger.h"
#include "core/text.h"
#include "orders/orders.h"
#include "payments/payments.h"

/* Items claimed per round, and how long a claim holds. */
#define MATCH_BATCH_MAX 200
/* Claimed items decided together, set-wise (match_set_tx). */
#define MATCH_SET_MAX 64
/* Claimed items matched in one shared transaction (group commit), when
 * their set failed. */
#define MATCH_GROUP_MAX 32
#define MATCH_LEASE_MS (5 * 60 * 1000)
/* Orders one line may pay (codes read from its memo). */
#define CODES_MAX 8
/* Candidates a suggestion lists. */
#define SUGGESTIONS_MAX 5
#define RULE3_WINDOW_DAYS 7

static const char SQL_CLAIM[] = "SELECT id FROM recon_items WHERE state = 'unmatched' AND (lease_until IS NULL OR "
                                "lease_until <= ?) ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED";
/* the claimed ids, as a JSON array: one statement for the round */
static const char SQL_LEASE[] = "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) j JOIN recon_items r ON "
                                "r.id = j.id SET r.lease_until = ?";
/* An item and its line, as item_bind reads them. */
#define ITEM_COLUMNS                                                                                                    \
    "i.state, i.unapplied, i.business_day, l.id, l.account, l.amount, l.value_date, l.bank_ref, l.end_to_end, l.memo, " \
    "l.currency"
static const char SQL_ITEM[] = "SELECT " ITEM_COLUMNS " FROM recon_items i JOIN statement_lines l ON l.id = i.line_id "
                               "WHERE i.id = ? FOR UPDATE";
/* The feed's transfer a statement line now shows is no longer ledger_only. */
static const char SQL_SHOWN[] = "UPDATE recon_items SET state = 'matched', rule = 'reference', updated_at = ? "
                                "WHERE account = ? AND transfer_ref = ? AND kind = 'ledger_posting'";
static const char SQL_PAYMENT_ROW_ID[] = "SELECT id FROM payments WHERE public_id = ?";
static const char SQL_SUGGEST[] =
    "SELECT id FROM orders FORCE INDEX (ix_orders_owed) WHERE currency = ? AND owed = ? "
    "AND ((due_at IS NOT NULL AND due_at BETWEEN ? AND ?) OR created_at BETWEEN ? AND ?) ORDER BY id LIMIT ?";
static const char SQL_SETTLE[] =
    "UPDATE recon_items SET state = ?, rule = ?, detail = ?, journal_id = COALESCE(?, journal_id), unapplied = ?, "
    "lease_until = NULL, updated_at = ? WHERE id = ?";

typedef struct {
    int64_t item_id, line_id, amount;
    int32_t value_date, business_day;
    fg_buf_t account, bank_ref, end_to_end, memo, currency;
    int unapplied; /* its money sits in liabilities:unapplied (recorded by an earlier round) */
    /* the outcome */
    const char *state, *rule;
    char detail[300];
    char adapter[16]; /* matched: whose clearing account the money clears */
    int64_t journal_id;
    int links;
} item_t;

static void item_free(item_t *it)
{
    fg_buf_free(&it->account);
    fg_buf_free(&it->bank_ref);
    fg_buf_free(&it->end_to_end);
    fg_buf_free(&it->memo);
    fg_buf_free(&it->currency);
}

/* Appended: nothing in a round reads a line's links back. */
static fg_db_table_t LINKS = FG_DB_TABLE("INSERT INTO recon_links (item_id, seq, payment_id, order_id, amount, "
                                         "suggested) VALUES ",
                                         "(?, ?, ?, ?, ?, ?)", 6, 0, 35);

static int link(fg_db_t *db, item_t *it, int64_t payment_id, int64_t order_id, int64_t amount, int suggested)
{
    fg_db_value_t v[6] = {FG_DB_INT(it->item_id),
                          FG_DB_INT(++it->links),
                          fg_db_int_or_null(payment_id != 0 ? &payment_id : NULL),
                          fg_db_int_or_null(order_id != 0 ? &order_id : NULL),
                          FG_DB_INT(amount),
                          FG_DB_INT(suggested)};
    return fg_db_insert(db, &LINKS, v, 1, NULL);
}

/* The item's line as the payout rules read it. */
static void line_of(const item_t *it, fg_recon_line_t *l)
{
    *l = (fg_recon_line_t){.line_id = it->line_id,
                           .amount = it->amount,
                           .business_day = it->business_day,
                           .account = it->account.data != NULL ? it->account.data : "",
                           .currency = it->currency.data != NULL ? it->currency.data : "",
                           .bank_ref = it->bank_ref.data != NULL ? it->bank_ref.data : "",
                           .end_to_end = it->end_to_end.data != NULL ? it->end_to_end.data : "",
                           .memo = it->memo.data != NULL ? it->memo.data : "",
                           .memo_len = it->memo.len,
                           .unapplied = it->unapplied};
}

/* Rule 0 (payout.c). */
static int by_settlement(fg_db_t *db, const fg_config_t *cfg, item_t *it, int64_t now, int *decided)
{
    fg_recon_payout_result_t out;
    fg_recon_line_t l;
    line_of(it, &l);
    int rc = fg_recon_by_payout(db, cfg, &l, now, &out);
    *decided = rc == 0 && out.decided;
    if (!*decided)
        return rc;
    it->rule = "settlement";
    it->state = out.state;
    snprintf(it->detail, sizeof(it->detail), "%s", out.detail);
    if (out.journal_id != 0) {
        it->journal_id = out.journal_id;
        it->unapplied = 0; /* the settlement took the money from where it sat */
    }
    return 0;
}

/* Rule 1 decided: the bank feed recorded this transfer, of `received`. */
static int by_transfer_found(fg_db_t *db, item_t *it, int64_t payment, int64_t received)
{
    fg_stmt_t s;
    it->rule = "reference";
    it->state = received == it->amount ? "matched" : "amount_mismatch";
    snprintf(it->adapter, sizeof(it->adapter), "vietqr"); /* the feed's transfers are VietQR's */
    snprintf(it->detail, sizeof(it->detail), "the bank feed recorded this transfer (%lld)", (long long)received);
    int rc = fg_recon_undo_shown_write_offs(db, 0, it->account.data, it->bank_ref.data, it->bank_ref.len, fg_now_ms());
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_SHOWN)) != 0)
        return rc;
    fg_stmt_int(&s, fg_now_ms());
    fg_stmt_str(&s, it->account.data, it->account.len);
    fg_stmt_str(&s, it->bank_ref.data, it->bank_ref.len);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    return link(db, it, payment, 0, received, 0);
}

/* Rule 1 decided: the line's reference is the provider transaction of a
 * payment of `received`. */
static int by_payment_found(fg_db_t *db, item_t *it, int64_t payment, int64_t order, int64_t received,
                            const char *adapter)
{
    it->rule = "reference";
    it->state = received == it->amount ? "matched" : "amount_mismatch";
    snprintf(it->adapter, sizeof(it->adapter), "%s", adapter);
    snprintf(it->detail, sizeof(it->detail), "the provider's transaction of %lld", (long long)received);
    return link(db, it, payment, order, received, 0);
}

typedef struct {
    int64_t id, owed;
    int partial; /* the order takes part payments */
} owed_t;

/* An order a memo names, as read (locked): what it owes the line. */
static owed_t owed_of(const item_t *it, int64_t id, int64_t amount, int64_t paid, int64_t partial,
                      fg_order_status_t status, int64_t has_expiry, int64_t expires, const fg_buf_t *currency,
                      int64_t now)
{
    int same_currency = it->currency.len == currency->len &&
                        memcmp(it->currency.data, currency->data, currency->len) == 0;
    fg_order_status_t effective = fg_order_effective_status(status, (int)has_expiry, expires, now);
    return (owed_t){id, same_currency && fg_order_accepts_payment(effective) ? amount - paid : 0, partial != 0};
}

/* Rule 2, once the memo's orders are read (found > 0): 1 when the line pays
 * them (each orders[i].owed); else 0, the line an amount_mismatch suggesting
 * them.  FG_E* codes below 0. */
static int codes_decided(fg_db_t *db, item_t *it, owed_t *orders, int found)
{
    int64_t total = 0;
    int rc;
    for (int i = 0; i < found; i++)
        if (fg_money_add(total, orders[i].owed, &total) != 0)
            return FG_EOVERFLOW;
    it->rule = "order_code";
    /* one order that takes part payments may be paid by several lines: this
     * one pays what it brings, never more than the order owes */
    if (found == 1 && orders[0].partial && it->amount > 0 && it->amount < total) {
        orders[0].owed = it->amount;
        total = it->amount;
    }
    if (total == it->amount && total != 0) {
        it->state = "matched";
        snprintf(it->adapter, sizeof(it->adapter), "vietqr"); /* paid as a VietQR transfer (sepay.c) */
        snprintf(it->detail, sizeof(it->detail), "paid %d order(s) named in the memo", found);
        return 1;
    }
    it->state = "amount_mismatch";
    snprintf(it->detail, sizeof(it->detail), "the memo names %d order(s) that still owe %lld, the line is %lld", found,
             (long long)total, (long long)it->amount);
    for (int i = 0; i < found; i++)
        if ((rc = link(db, it, 0, orders[i].id, orders[i].owed, 1)) != 0)
            return rc;
    return 0;
}

/* What a line's payment of order_id says: the key it is applied under once
 * (a second run finds the inbox row) and the body recorded with it. */
typedef struct {
    char key[96], body[160];
    int body_len;
} line_pay_t;

static void line_pay(line_pay_t *p, const item_t *it, int64_t order_id, int64_t amount, int index)
{
    snprintf(p->key, sizeof(p->key), "line:%lld:%lld:%d", (long long)it->line_id, (long long)it->item_id, index);
    p->body_len = snprintf(p->body, sizeof(p->body), "{\"statement_line\":%lld,\"order\":%lld,\"amount\":%lld}",
                           (long long)it->line_id, (long long)order_id, (long long)amount);
}

int fg_recon_pay_order(fg_db_t *db, const fg_config_t *cfg, int64_t item_id, int64_t line_id, int64_t order_id,
                       int64_t amount, int index, int64_t *payment_row)
{
    char payment_id[FG_ID_CAP];
    line_pay_t p;
    fg_stmt_t s;
    fg_ack_t outcome = FG_ACK_ERROR;
    const char *reason = NULL;
    line_pay(&p, &(item_t){.item_id = item_id, .line_id = line_id}, order_id, amount, index);
    fg_inbound_t in = {.method = "STMT", .body = p.body, .body_len = (size_t)p.body_len};
    int rc = fg_transfer_pay_order(db, cfg, &in, order_id, amount, p.key, p.key, &outcome, &reason, payment_id);
    if (rc == 1)
        return FG_ESTATE; /* not applicable: roll the item back and say so */
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_PAYMENT_ROW_ID)) != 0)
        return rc;
    fg_stmt_cstr(&s, payment_id);
    fg_stmt_out_int(&s, payment_row, NULL);
    return fg_stmt_one(&s);
}

static const char SQL_PAYER_REFUND[] =
    "SELECT i.id FROM recon_items i JOIN statement_lines l ON l.id = i.line_id WHERE i.account = ? AND "
    "i.resolution = 'refund' AND i.paid_out_by IS NULL AND i.amount = ? AND l.bank_ref <> '' AND "
    "LOCATE(l.bank_ref, ?) > 0 ORDER BY i.id LIMIT 1 FOR UPDATE";
static const char SQL_PAID_OUT[] = "UPDATE recon_items SET paid_out_by = ?, updated_at = ? WHERE id = ?";

/* A debit that sends back money staff resolved to refund to its payer: the
 * memo names the bank reference of the line that brought it, and the amount
 * is that line's.  Dr liabilities:payer_refunds, Cr the unreconciled
 * account: the money owed to the payer has left. */
static int by_payer_refund(fg_db_t *db, item_t *it, int64_t now, int *decided)
{
    fg_stmt_t s;
    int64_t refunded = 0;
    char from[FG_ACCOUNT_CODE_MAX + 1], memo[160];
    *decided = 0;
    int rc = fg_stmt_init(&s, db, SQL_PAYER_REFUND);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, it->account.data, it->account.len);
    fg_stmt_int(&s, -it->amount);
    fg_stmt_str(&s, it->memo.data, it->memo.len);
    fg_stmt_out_int(&s, &refunded, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc == FG_ENOTFOUND ? 0 : rc;
    *decided = 1;
    it->rule = "payer_refund";
    it->state = "matched";
    snprintf(it->detail, sizeof(it->detail), "returns the money of item %lld to its payer", (long long)refunded);
    fg_recon_unreconciled_account(it->account.data, from);
    snprintf(memo, sizeof(memo), "statement line %lld: item %lld's money returned to its payer", (long long)it->line_id,
             (long long)refunded);
    fg_journal_t j = {.kind = "payer_refund", .memo = memo};
    fg_journal_add(&j, "liabilities:payer_refunds", 0, it->currency.data, -it->amount);
    fg_journal_add(&j, from, 0, it->currency.data, it->amount);
    if ((rc = fg_ledger_post_now(db, &j, now, &it->journal_id)) != 0 || (rc = fg_stmt_init(&s, db, SQL_PAID_OUT)) != 0)
        return rc;
    fg_stmt_int(&s, it->item_id);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, refunded);
    return fg_stmt_exec(&s);
}

/* Rule 5 (payouts_match.c): a merchant payout leaving the bank. */
static int by_merchant_payout(fg_db_t *db, item_t *it, int64_t now, int *decided)
{
    fg_recon_payout_result_t out;
    fg_recon_line_t l;
    line_of(it, &l);
    int rc = fg_recon_by_merchant_payout(db, &l, it->item_id, now, &out);
    *decided = rc == 0 && out.decided;
    if (!*decided)
        return rc;
    it->rule = "payout";
    it->state = out.state;
    snprintf(it->detail, sizeof(it->detail), "%s", out.detail);
    if (out.journal_id != 0) {
        it->journal_id = out.journal_id;
        it->unapplied = 0; /* the payout took the money from where it sat */
    }
    return 0;
}

/* Rule 3: a suggestion only. */
static int by_amount_and_date(fg_db_t *db, item_t *it, int *decided)
{
    fg_stmt_t s;
    int64_t id, ids[SUGGESTIONS_MAX];
    int count = 0;
    int64_t from = fg_recon_day_start_ms(it->value_date) - RULE3_WINDOW_DAYS * 86400000LL;
    int64_t to = fg_recon_day_start_ms(it->value_date) + (RULE3_WINDOW_DAYS + 1) * 86400000LL;
    *decided = 0;
    int rc = fg_stmt_init(&s, db, SQL_SUGGEST);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, it->currency.data, it->currency.len);
    fg_stmt_int(&s, it->amount);
    fg_stmt_int(&s, from);
    fg_stmt_int(&s, to);
    fg_stmt_int(&s, from);
    fg_stmt_int(&s, to);
    fg_stmt_int(&s, SUGGESTIONS_MAX);
    fg_stmt_out_int(&s, &id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        ids[count++] = id;
    if (rc < 0)
        return rc;
    if (count == 0)
        return 0;
    *decided = 1;
    it->rule = "amount_date";
    it->state = "suggested";
    snprintf(it->detail, sizeof(it->detail), "%d open order(s) owe exactly this amount within %d days", count,
             RULE3_WINDOW_DAYS);
    for (int i = 0; i < count; i++)
        if ((rc = link(db, it, 0, ids[i], it->amount, 1)) != 0)
            return rc;
    return 0;
}

/* The ledger side of the outcome (bank.c): the line's amount leaves the
 * unreconciled account (or unapplied money, where an earlier round recorded
 * it) for the clearing account of the money it matched; a credit that pays
 * no order is recorded as unapplied money, never dropped.  A settlement
 * posted its own journal; a mismatch with money the ledger holds already
 * (the feed's, a provider's, a settlement file's) waits for staff. */
static int book_journal(item_t *it, fg_journal_t *j, char memo[160])
{
    char from[FG_ACCOUNT_CODE_MAX + 1], to[FG_ACCOUNT_CODE_MAX + 1];
    int matched = strcmp(it->state, "matched") == 0;
    /* a settlement, a payer refund and a payout posted their own journal */
    int posted = it->rule != NULL && (strcmp(it->rule, "settlement") == 0 || strcmp(it->rule, "payer_refund") == 0 ||
                                      strcmp(it->rule, "payout") == 0);
    int held = it->rule != NULL && strcmp(it->rule, "reference") == 0;
    if (posted || (!matched && (held || it->amount <= 0 || it->unapplied)))
        return 0;
    if (it->unapplied)
        snprintf(from, sizeof(from), "liabilities:unapplied");
    else
        fg_recon_unreconciled_account(it->account.data, from);
    if (matched) {
        snprintf(to, sizeof(to), "assets:clearing:%s", it->adapter[0] != '\0' ? it->adapter : "vietqr");
        snprintf(memo, 160, "statement line %lld matched (%s)", (long long)it->line_id, it->rule);
    } else {
        snprintf(to, sizeof(to), "liabilities:unapplied");
        snprintf(memo, 160, "statement line %lld: money naming no order it can pay, unapplied", (long long)it->line_id);
    }
    *j = (fg_journal_t){.kind = "bank_match", .memo = memo};
    fg_journal_add(j, from, 0, it->currency.data, it->amount);
    fg_journal_add(j, to, 0, it->currency.data, -it->amount);
    it->unapplied = !matched;
    return 1;
}

static int book(fg_db_t *db, item_t *it, int64_t now)
{
    fg_journal_t j;
    char memo[160];
    return book_journal(it, &j, memo) ? fg_ledger_post_now(db, &j, now, &it->journal_id) : 0;
}

typedef struct {
    const fg_config_t *cfg;
    int64_t item_id;
    item_t it;
} match_t;

/* The columns SQL_ITEM and SQL_ITEMS read besides the item's own. */
typedef struct {
    fg_buf_t state;
    int64_t unapplied, business_day, value_date;
} item_cols_t;

static void item_bind(fg_stmt_t *s, item_t *it, item_cols_t *c)
{
    fg_stmt_out_text(s, &c->state, NULL);
    fg_stmt_out_int(s, &c->unapplied, NULL);
    fg_stmt_out_int(s, &c->business_day, NULL);
    fg_stmt_out_int(s, &it->line_id, NULL);
    fg_stmt_out_text(s, &it->account, NULL);
    fg_stmt_out_int(s, &it->amount, NULL);
    fg_stmt_out_int(s, &c->value_date, NULL);
    fg_stmt_out_text(s, &it->bank_ref, NULL);
    fg_stmt_out_text(s, &it->end_to_end, NULL);
    fg_stmt_out_text(s, &it->memo, NULL);
    fg_stmt_out_text(s, &it->currency, NULL);
}

/* The item as read: 1 when it still waits for matching. */
static int item_read(item_t *it, const item_cols_t *c)
{
    it->value_date = (int32_t)c->value_date;
    it->business_day = (int32_t)c->business_day;
    it->unapplied = c->unapplied != 0;
    return c->state.data != NULL && strcmp(c->state.data, "unmatched") == 0;
}

static int settle(fg_db_t *db, item_t *it, int64_t now)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_SETTLE);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, it->state);
    fg_stmt_cstr(&s, it->rule);
    fg_stmt_cstr(&s, it->detail);
    fg_stmt_int_or_null(&s, it->journal_id != 0 ? &it->journal_id : NULL);
    fg_stmt_int(&s, it->unapplied);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, it->item_id);
    return fg_stmt_exec(&s);
}

typedef struct {
    int limit, count;
    int64_t ids[MATCH_BATCH_MAX];
} claim_t;

static int claim_tx(fg_db_t *db, void *arg)
{
    claim_t *c = arg;
    fg_stmt_t s;
    int64_t id, now = fg_now_ms();
    c->count = 0;
    int rc = fg_stmt_init(&s, db, SQL_CLAIM);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, c->limit);
    fg_stmt_out_int(&s, &id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        c->ids[c->count++] = id;
    if (rc < 0 || c->count == 0)
        return rc < 0 ? rc : 0;
    fg_buf_t ids = FG_BUF_INIT;
    fg_buf_putc(&ids, '[');
    for (int i = 0; i < c->count; i++)
        fg_buf_printf(&ids, "%s%lld", i > 0 ? "," : "", (long long)c->ids[i]);
    fg_buf_putc(&ids, ']');
    if ((rc = fg_stmt_init(&s, db, SQL_LEASE)) == 0) {
        fg_stmt_str(&s, ids.data, ids.len);
        fg_stmt_int(&s, now + MATCH_LEASE_MS);
        rc = fg_stmt_exec(&s);
    }
    fg_buf_free(&ids);
    return rc;
}

/* ---- on import ---------------------------------------------------------------- */

static const char SQL_IMPORT_JOURNAL[] = "UPDATE statements SET match_journal_id = ? WHERE id = ?";

static const char SQL_IMPORT_HAS_LEDGER_ONLY[] =
    "SELECT 1 FROM recon_items WHERE account = ? AND transfer_ref IS NOT NULL LIMIT 1";
static const char SQL_IMPORT_SHOWN[] =
    "UPDATE recon_items r JOIN statement_lines l ON r.account = l.account AND r.transfer_ref = l.bank_ref SET "
    "r.state = 'matched', r.rule = 'reference', r.updated_at = ? WHERE l.statement_id = ? AND "
    "r.kind = 'ledger_posting'";

int fg_recon_import_matched(fg_db_t *db, int64_t statement_id, const char *account, const char *currency, int64_t sum,
                            int64_t now)
{
    char from[FG_ACCOUNT_CODE_MAX + 1], memo[160];
    fg_stmt_t s;
    int64_t journal = 0, one = 0;
    int rc;
    if (sum == 0)
        return 0;
    fg_recon_unreconciled_account(account, from);
    snprintf(memo, sizeof(memo), "statement %lld: lines matched to the bank feed's transfers", (long long)statement_id);
    fg_journal_t j = {.kind = "bank_match", .memo = memo};
    fg_journal_add(&j, from, 0, currency, sum);
    fg_journal_add(&j, "assets:clearing:vietqr", 0, currency, -sum);
    if ((rc = fg_ledger_post_now(db, &j, now, &journal)) != 0 || (rc = fg_stmt_init(&s, db, SQL_IMPORT_JOURNAL)) != 0)
        return rc;
    fg_stmt_int(&s, journal);
    fg_stmt_int(&s, statement_id);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_IMPORT_HAS_LEDGER_ONLY)) != 0)
        return rc;
    fg_stmt_cstr(&s, account);
    fg_stmt_out_int(&s, &one, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc == FG_ENOTFOUND ? 0 : rc; /* no transfer of this account is ledger_only */
    if ((rc = fg_recon_undo_shown_write_offs(db, statement_id, account, NULL, 0, now)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_IMPORT_SHOWN)) != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, statement_id);
    return fg_stmt_exec(&s);
}

/* ---- a group's lines, set-wise ---------------------------------------------------- */

/* The claimed items, locked, in claim order. */
static const char SQL_ITEMS[] = "SELECT i.id, " ITEM_COLUMNS " FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH "
                                "'$')) j STRAIGHT_JOIN recon_items i ON i.id = j.id JOIN statement_lines l ON "
                                "l.id = i.line_id FOR UPDATE";
/* [member, reference]: a settlement batch waits for the line (rule 0) */
static const char SQL_BATCHES_WAITING[] =
    "SELECT DISTINCT j.k FROM JSON_TABLE(?, '$[*]' COLUMNS (k INT PATH '$[0]', r VARCHAR(100) CHARSET utf8mb4 "
    "COLLATE utf8mb4_bin PATH '$[1]')) j STRAIGHT_JOIN settlement_batches b ON b.batch_ref = j.r WHERE b.line_id IS "
    "NULL";
/* [member, account, bank reference]: rule 1's transfers the feed recorded */
static const char SQL_TRANSFERS_FOUND[] =
    "SELECT j.k, COALESCE(t.payment_id, 0), t.amount FROM JSON_TABLE(?, '$[*]' COLUMNS (k INT PATH '$[0]', a "
    "VARCHAR(100) CHARSET utf8mb4 COLLATE utf8mb4_bin PATH '$[1]', r VARCHAR(100) CHARSET utf8mb4 COLLATE "
    "utf8mb4_bin PATH '$[2]')) j STRAIGHT_JOIN bank_transfers t ON t.account = j.a AND t.bank_ref = j.r";
/* [member, adapter, reference]: rule 1's provider transactions: a succeeded payment of one of
 * REFERENCE_ADAPTERS whose provider transaction is the line's bank reference or end-to-end id */
static const char SQL_PAYMENTS_FOUND[] =
    "SELECT j.k, p.id, p.order_id, COALESCE(p.amount_received, 0), p.adapter FROM JSON_TABLE(?, '$[*]' COLUMNS (k "
    "INT PATH '$[0]', a VARCHAR(16) CHARSET utf8mb4 COLLATE utf8mb4_bin PATH '$[1]', r VARCHAR(100) CHARSET utf8mb4 "
    "COLLATE utf8mb4_bin PATH '$[2]')) j STRAIGHT_JOIN payments p ON p.adapter = j.a AND p.provider_txn_id = j.r "
    "WHERE p.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM recon_links k WHERE k.payment_id = p.id AND "
    "k.suggested = 0) ORDER BY p.id";
/* clang-format off */
/* [member * CODES_MAX + index, code]: rule 2's orders, locked */
static const char SQL_ORDERS_BY_CODES[] =
    "SELECT j.k, o.id, o.amount, o.amount_paid, o.allow_partial, " FG_ORDER_STATUS_SQL("o.status") ", "
    "COALESCE(o.expires_at, 0), o.expires_at IS NOT NULL, o.currency FROM JSON_TABLE(?, '$[*]' COLUMNS (k INT PATH "
    "'$[0]', c CHAR(11) CHARSET utf8mb4 COLLATE utf8mb4_bin PATH '$[1]')) j STRAIGHT_JOIN orders o ON o.code = j.c "
    "FOR UPDATE";
/* clang-format on */
/* [item, state, rule, detail, journal, unapplied]: SQL_SETTLE for each */
static const char SQL_SETTLE_SET[] =
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$[0]', state VARCHAR(20) PATH '$[1]', rule VARCHAR(20) "
    "PATH '$[2]', detail VARCHAR(400) PATH '$[3]', journal BIGINT PATH '$[4]', unapplied INT PATH '$[5]')) j "
    "STRAIGHT_JOIN recon_items r ON r.id = j.id SET r.state = j.state, r.rule = NULLIF(j.rule, ''), r.detail = "
    "j.detail, r.journal_id = COALESCE(NULLIF(j.journal, 0), r.journal_id), r.unapplied = j.unapplied, "
    "r.lease_until = NULL, r.updated_at = ?";

/* Rule 1's provider transactions are looked up under these adapters: the
 * ones whose money reaches the bank account payment by payment, the bank's
 * reference being the transaction's.  VNPay and MoMo pay the city in
 * settlement batches (rule 0), and their transaction numbers (VNPay's are 8
 * digits) are no bank's references: a line whose reference happened to
 * equal one took a payment the settlement pays too. */
static const char *const REFERENCE_ADAPTERS[] = {"vietqr", "sandbox"};

/* How a claimed item is decided in its set. */
enum {
    ROUTE_NONE, /* decided meanwhile: nothing to do */
    ROUTE_SET,  /* with the others, set-wise */
    ROUTE_EACH  /* by itself, after them (decide) */
};

typedef struct {
    int route;
    int decided;
    /* rule 1: a transfer the feed recorded, a provider transaction */
    int transfer_found, payment_found;
    int64_t transfer_payment, transfer_amount;
    int64_t payment, payment_order, payment_received;
    char payment_adapter[16];
    /* rule 2: the memo's codes and, by code, the orders they name */
    int codes;
    char code[CODES_MAX][FG_ORDER_CODE_LEN + 1];
    int has_order[CODES_MAX];
    owed_t order[CODES_MAX];
    int pay_first, pays; /* its payments among the set's */
} member_t;

typedef struct {
    const fg_config_t *cfg;
    match_t *m;
    int n;
    member_t *mb;
} match_set_t;

static void buf_copy(fg_buf_t *to, const fg_buf_t *from)
{
    fg_buf_reset(to);
    fg_buf_append(to, from->data != NULL ? from->data : "", from->len);
}

/* Locks the set's items in claim order; those waiting for matching join it. */
static int set_load(fg_db_t *db, match_set_t *set)
{
    fg_buf_t ids = FG_BUF_INIT;
    item_t row;
    item_cols_t c = {FG_BUF_INIT, 0, 0, 0};
    int64_t id = 0;
    fg_stmt_t s;
    memset(&row, 0, sizeof(row));
    for (int i = 0; i < set->n; i++) {
        item_t *it = &set->m[i].it;
        item_free(it);
        memset(it, 0, sizeof(*it));
        it->item_id = set->m[i].item_id;
        set->mb[i] = (member_t){.route = ROUTE_NONE};
        fg_buf_printf(&ids, "%s%lld", i > 0 ? "," : "[", (long long)it->item_id);
    }
    fg_buf_putc(&ids, ']');
    int rc = fg_stmt_init(&s, db, SQL_ITEMS);
    if (rc != 0)
        goto Exit;
    fg_stmt_str(&s, ids.data, ids.len);
    fg_stmt_out_int(&s, &id, NULL);
    item_bind(&s, &row, &c);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        for (int i = 0; i < set->n; i++) {
            item_t *it = &set->m[i].it;
            if (it->item_id != id || !item_read(it, &c))
                continue;
            it->line_id = row.line_id;
            it->amount = row.amount;
            buf_copy(&it->account, &row.account);
            buf_copy(&it->bank_ref, &row.bank_ref);
            buf_copy(&it->end_to_end, &row.end_to_end);
            buf_copy(&it->memo, &row.memo);
            buf_copy(&it->currency, &row.currency);
            set->mb[i].route = ROUTE_SET;
        }
    }
Exit:
    fg_buf_free(&ids);
    fg_buf_free(&c.state);
    item_free(&row);
    return rc < 0 ? rc : 0;
}

/* 1 when member i's transfer (account, bank reference) is an earlier
 * member's still in the set: the earlier one's effects decide it. */
static int transfer_taken(const match_set_t *set, int i)
{
    const item_t *it = &set->m[i].it;
    if (it->bank_ref.len == 0)
        return 0;
    for (int j = 0; j < i; j++) {
        const item_t *o = &set->m[j].it;
        if (set->mb[j].route == ROUTE_SET && o->bank_ref.len == it->bank_ref.len && o->account.len == it->account.len &&
            memcmp(o->bank_ref.data, it->bank_ref.data, it->bank_ref.len) == 0 &&
            memcmp(o->account.data, it->account.data, it->account.len) == 0)
            return 1;
    }
    return 0;
}

static void json_ref(fg_buf_t *b, int k, const char *adapter, const fg_buf_t *account, const fg_buf_t *ref)
{
    fg_buf_printf(b, "%s[%d", b->len > 0 ? "," : "[", k);
    if (adapter != NULL) {
        fg_buf_putc(b, ',');
        fg_json_cstr(b, adapter);
    }
    if (account != NULL) {
        fg_buf_putc(b, ',');
        fg_json_str(b, account->data, account->len);
    }
    fg_buf_putc(b, ',');
    fg_json_str(b, ref->data, ref->len);
    fg_buf_putc(b, ']');
}

/* Closes the JSON array in b and prepares sql with it as its one
 * parameter. */
static int json_stmt(fg_db_t *db, fg_stmt_t *s, const char *sql, fg_buf_t *b)
{
    fg_buf_putc(b, ']');
    int rc = fg_stmt_init(s, db, sql);
    if (rc == 0)
        fg_stmt_str(s, b->data, b->len);
    return rc;
}

/* Which items go by themselves: debits and payout lines (rules 0, 4, 5),
 * lines a settlement batch waits for, a transfer an earlier member has. */
static int set_route(fg_db_t *db, match_set_t *set)
{
    fg_buf_t refs = FG_BUF_INIT;
    fg_stmt_t s;
    int64_t k = 0;
    int rc = 0;
    for (int i = 0; i < set->n; i++) {
        item_t *it = &set->m[i].it;
        fg_recon_line_t l;
        fg_recon_payout_name_t named;
        if (set->mb[i].route != ROUTE_SET)
            continue;
        line_of(it, &l);
        if (it->amount < 0 || fg_recon_payout_of(&l, &named) || transfer_taken(set, i)) {
            set->mb[i].route = ROUTE_EACH;
            continue;
        }
        if (it->bank_ref.len > 0)
            json_ref(&refs, i, NULL, NULL, &it->bank_ref);
        if (it->end_to_end.len > 0)
            json_ref(&refs, i, NULL, NULL, &it->end_to_end);
    }
    if (refs.len == 0)
        goto Exit;
    if ((rc = json_stmt(db, &s, SQL_BATCHES_WAITING, &refs)) != 0)
        goto Exit;
    fg_stmt_out_int(&s, &k, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        if (k >= 0 && k < set->n)
            set->mb[k].route = ROUTE_EACH;
Exit:
    fg_buf_free(&refs);
    return rc < 0 ? rc : 0;
}

/* Rule 1 for the set: the feed's transfers and the provider transactions
 * their references name, two statements. */
static int set_references(fg_db_t *db, match_set_t *set)
{
    fg_buf_t transfers = FG_BUF_INIT, refs = FG_BUF_INIT, adapter = FG_BUF_INIT;
    fg_stmt_t s;
    int64_t k = 0, payment = 0, order = 0, amount = 0;
    int rc = 0;
    for (int i = 0; i < set->n; i++) {
        item_t *it = &set->m[i].it;
        if (set->mb[i].route != ROUTE_SET)
            continue;
        if (it->bank_ref.len > 0)
            json_ref(&transfers, i, NULL, &it->account, &it->bank_ref);
        for (size_t a = 0; a < sizeof(REFERENCE_ADAPTERS) / sizeof(REFERENCE_ADAPTERS[0]); a++) {
            if (it->bank_ref.len > 0)
                json_ref(&refs, i, REFERENCE_ADAPTERS[a], NULL, &it->bank_ref);
            if (it->end_to_end.len > 0)
                json_ref(&refs, i, REFERENCE_ADAPTERS[a], NULL, &it->end_to_end);
        }
    }
    if (transfers.len > 0) {
        if ((rc = json_stmt(db, &s, SQL_TRANSFERS_FOUND, &transfers)) != 0)
            goto Exit;
        fg_stmt_out_int(&s, &k, NULL);
        fg_stmt_out_int(&s, &payment, NULL);
        fg_stmt_out_int(&s, &amount, NULL);
        if ((rc = fg_stmt_exec(&s)) != 0)
            goto Exit;
        while ((rc = fg_stmt_fetch(&s)) == 1)
            if (k >= 0 && k < set->n)
                set->mb[k] = (member_t){.route = ROUTE_SET,
                                        .transfer_found = 1,
                                        .transfer_payment = payment,
                                        .transfer_amount = amount};
        if (rc < 0)
            goto Exit;
    }
    if (refs.len > 0) {
        if ((rc = json_stmt(db, &s, SQL_PAYMENTS_FOUND, &refs)) != 0)
            goto Exit;
        fg_stmt_out_int(&s, &k, NULL);
        fg_stmt_out_int(&s, &payment, NULL);
        fg_stmt_out_int(&s, &order, NULL);
        fg_stmt_out_int(&s, &amount, NULL);
        fg_stmt_out_text(&s, &adapter, NULL);
        if ((rc = fg_stmt_exec(&s)) != 0)
            goto Exit;
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            if (k < 0 || k >= set->n || set->mb[k].payment_found)
                continue;  /* the first (oldest) of the line's */
            int taken = 0; /* a payment matches one line: two that name it are not both its money */
            for (int i = 0; i < set->n && !taken; i++)
                taken = set->mb[i].payment_found && set->mb[i].payment == payment;
            if (taken)
                continue;
            member_t *m = &set->mb[k];
            m->payment_found = 1;
            m->payment = payment;
            m->payment_order = order;
            m->payment_received = amount;
            snprintf(m->payment_adapter, sizeof(m->payment_adapter), "%s", adapter.data);
        }
        if (rc < 0)
            goto Exit;
    }
    rc = 0;
    for (int i = 0; rc == 0 && i < set->n; i++) {
        member_t *m = &set->mb[i];
        item_t *it = &set->m[i].it;
        if (m->route != ROUTE_SET)
            continue;
        m->decided = m->transfer_found || m->payment_found;
        if (m->transfer_found)
            rc = by_transfer_found(db, it, m->transfer_payment, m->transfer_amount);
        else if (m->payment_found)
            rc = by_payment_found(db, it, m->payment, m->payment_order, m->payment_received, m->payment_adapter);
    }
Exit:
    fg_buf_free(&transfers);
    fg_buf_free(&refs);
    fg_buf_free(&adapter);
    return rc < 0 ? rc : 0;
}

/* 1 when code is among the codes of members j0..i of the set: one order
 * named by two lines is paid by the first to name it. */
static int code_taken(const match_set_t *set, int j0, int i, const char *code)
{
    for (int j = j0; j <= i; j++) {
        const member_t *m = &set->mb[j];
        if (m->route != ROUTE_SET)
            continue;
        for (int c = 0; c < m->codes; c++)
            if (strcmp(m->code[c], code) == 0)
                return 1;
    }
    return 0;
}

/* Rule 2 for the set: the orders every undecided member's memo names, in
 * one locking read. */
static int set_orders(fg_db_t *db, match_set_t *set, int64_t now)
{
    fg_buf_t codes = FG_BUF_INIT, currency = FG_BUF_INIT;
    fg_stmt_t s;
    int64_t k = 0, id = 0, amount = 0, paid = 0, partial = 0, expires = 0, has_expiry = 0;
    fg_order_status_t status = FG_ORDER_OPEN;
    int rc = 0;
    for (int i = 0; i < set->n; i++) {
        member_t *m = &set->mb[i];
        item_t *it = &set->m[i].it;
        char found[CODES_MAX][FG_ORDER_CODE_LEN + 1];
        if (m->route != ROUTE_SET || m->decided)
            continue;
        int n = fg_order_code_find_all(it->memo.data, it->memo.len, found, CODES_MAX);
        for (int c = 0; c < n && m->route == ROUTE_SET; c++) {
            if (i > 0 && code_taken(set, 0, i - 1, found[c]))
                m->route = ROUTE_EACH; /* an earlier line's order: decided after it */
            else if (!code_taken(set, i, i, found[c]))
                memcpy(m->code[m->codes++], found[c], sizeof(m->code[0])); /* a code the memo repeats counts once */
        }
        if (m->route != ROUTE_SET) {
            m->codes = 0;
            continue;
        }
        for (int c = 0; c < m->codes; c++)
            fg_buf_printf(&codes, "%s[%d,\"%s\"]", codes.len > 0 ? "," : "[", i * CODES_MAX + c, m->code[c]);
    }
    if (codes.len == 0)
        goto Exit;
    if ((rc = json_stmt(db, &s, SQL_ORDERS_BY_CODES, &codes)) != 0)
        goto Exit;
    fg_stmt_out_int(&s, &k, NULL);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_int(&s, &paid, NULL);
    fg_stmt_out_int(&s, &partial, NULL);
    fg_stmt_out_enum(&s, &status, FG_ORDER_STATUS_COUNT);
    fg_stmt_out_int(&s, &expires, NULL);
    fg_stmt_out_int(&s, &has_expiry, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        int i = (int)(k / CODES_MAX), c = (int)(k % CODES_MAX);
        if (k < 0 || i >= set->n)
            continue;
        set->mb[i].has_order[c] = 1;
        set->mb[i].order[c] = owed_of(&set->m[i].it, id, amount, paid, partial, status, has_expiry, expires, &currency,
                                      now);
    }
Exit:
    fg_buf_free(&codes);
    fg_buf_free(&currency);
    return rc < 0 ? rc : 0;
}

/* The orders member m's memo names that exist, in the memo's order, into
 * orders; how many. */
static int member_orders(const member_t *m, owed_t orders[CODES_MAX])
{
    int found = 0;
    for (int c = 0; c < m->codes; c++)
        if (m->has_order[c])
            orders[found++] = m->order[c];
    return found;
}

/* Rule 3 for a credit no earlier rule decided: a suggestion, else bank_only. */
static int by_suggestion(fg_db_t *db, item_t *it)
{
    int decided = 0;
    int rc = by_amount_and_date(db, it, &decided);
    if (rc == 0 && !decided) {
        it->state = "bank_only";
        snprintf(it->detail, sizeof(it->detail), "no payment or order matches");
    }
    return rc;
}

/* Rule 2 decided for the set: mismatches suggest their orders; the lines
 * that pay record their transfers (one statement) and pay their orders
 * (fg_transfer_pay_orders: one lock, one update per table). */
static int set_pay(fg_db_t *db, match_set_t *set, int64_t now)
{
    fg_buf_t transfers = FG_BUF_INIT;
    int pays = 0, rc = 0;
    for (int i = 0; rc == 0 && i < set->n; i++) {
        member_t *m = &set->mb[i];
        item_t *it = &set->m[i].it;
        owed_t orders[CODES_MAX];
        if (m->route != ROUTE_SET || m->decided)
            continue;
        int found = member_orders(m, orders);
        if (found == 0)
            continue; /* rule 3 */
        m->decided = 1;
        if ((rc = codes_decided(db, it, orders, found)) <= 0)
            continue;
        rc = 0;
        /* the orders it pays, compacted in the memo's order */
        memcpy(m->order, orders, sizeof(orders[0]) * (size_t)found);
        m->pay_first = pays;
        m->pays = found;
        pays += found;
        if (it->bank_ref.len > 0)
            fg_bank_transfers_add(&transfers, it->account.data, it->account.len, it->bank_ref.data, it->bank_ref.len, 0,
                                  it->amount);
    }
    if (rc != 0 || pays == 0)
        goto Exit;
    /* the transfers, once: FG_ECONFLICT when the feed got there first (each alone then says so) */
    if ((rc = fg_bank_transfers_record(db, &transfers, "statement", now)) != 0)
        goto Exit;
    fg_transfer_pay_t *p = fg_calloc((size_t)pays, sizeof(*p));
    line_pay_t *text = fg_calloc((size_t)pays, sizeof(*text));
    for (int i = 0; i < set->n; i++) {
        member_t *m = &set->mb[i];
        for (int c = 0; m->route == ROUTE_SET && c < m->pays; c++) {
            int at = m->pay_first + c;
            line_pay(&text[at], &set->m[i].it, m->order[c].id, m->order[c].owed, c);
            p[at] = (fg_transfer_pay_t){.in = {.method = "STMT",
                                               .body = text[at].body,
                                               .body_len = (size_t)text[at].body_len},
                                        .order_id = m->order[c].id,
                                        .amount = m->order[c].owed,
                                        .txn_id = text[at].key,
                                        .event_id = text[at].key};
        }
    }
    rc = fg_transfer_pay_orders(db, set->cfg, p, pays);
    for (int i = 0; rc == 0 && i < set->n; i++) {
        member_t *m = &set->mb[i];
        for (int c = 0; rc == 0 && m->route == ROUTE_SET && c < m->pays; c++)
            rc = link(db, &set->m[i].it, p[m->pay_first + c].payment_row, m->order[c].id, m->order[c].owed, 0);
    }
    free(p);
    free(text);
Exit:
    fg_buf_free(&transfers);
    return rc;
}

/* The set's outcomes: rule 3 for what is still undecided, then every
 * member's journal (one statement for the journals, one for their entries)
 * and its item (one UPDATE). */
static int set_settle(fg_db_t *db, match_set_t *set, int64_t now)
{
    fg_journal_t *journals = fg_calloc((size_t)set->n, sizeof(*journals));
    char(*memos)[160] = fg_calloc((size_t)set->n, sizeof(*memos));
    int64_t *rows = fg_calloc((size_t)set->n, sizeof(*rows));
    int *of = fg_calloc((size_t)set->n, sizeof(*of));
    fg_buf_t json = FG_BUF_INIT;
    int posts = 0, settled = 0, rc = 0;
    for (int i = 0; rc == 0 && i < set->n; i++) {
        item_t *it = &set->m[i].it;
        if (set->mb[i].route != ROUTE_SET)
            continue;
        if (!set->mb[i].decided && (rc = by_suggestion(db, it)) != 0)
            break;
        if (book_journal(it, &journals[posts], memos[posts]))
            of[posts++] = i;
    }
    if (rc == 0 && posts > 0 && (rc = fg_ledger_post_many_now(db, journals, posts, now, rows)) == 0)
        for (int p = 0; p < posts; p++)
            set->m[of[p]].it.journal_id = rows[p];
    for (int i = 0; rc == 0 && i < set->n; i++) {
        item_t *it = &set->m[i].it;
        if (set->mb[i].route != ROUTE_SET)
            continue;
        fg_buf_printf(&json, "%s[%lld,", settled++ > 0 ? "," : "[", (long long)it->item_id);
        fg_json_cstr(&json, it->state);
        fg_buf_putc(&json, ',');
        fg_json_cstr(&json, it->rule != NULL ? it->rule : "");
        fg_buf_putc(&json, ',');
        fg_json_cstr(&json, it->detail);
        fg_buf_printf(&json, ",%lld,%d]", (long long)it->journal_id, it->unapplied);
    }
    if (rc == 0 && settled > 0) {
        fg_stmt_t s;
        fg_buf_putc(&json, ']');
        if ((rc = fg_stmt_init(&s, db, SQL_SETTLE_SET)) == 0) {
            fg_stmt_str(&s, json.data, json.len);
            fg_stmt_int(&s, now);
            if ((rc = fg_stmt_exec(&s)) == 0 && fg_stmt_affected(&s) != (uint64_t)settled)
                rc = FG_ESTATE; /* cannot be: the items are locked */
        }
    }
    fg_buf_free(&json);
    free(journals);
    free(memos);
    free(rows);
    free(of);
    return rc;
}

/* Rules 1 to 3 for a credit by itself: the set's lookups for a set of one
 * (set_references, set_orders), its orders paid one by one. */
static int credit_alone(fg_db_t *db, match_t *m, int64_t now)
{
    item_t *it = &m->it;
    member_t mb = {.route = ROUTE_SET};
    match_set_t one = {m->cfg, m, 1, &mb};
    owed_t orders[CODES_MAX];
    int rc = set_references(db, &one);
    if (rc != 0 || mb.decided || (rc = set_orders(db, &one, now)) != 0)
        return rc;
    int found = member_orders(&mb, orders);
    if (found == 0)
        return by_suggestion(db, it);
    if ((rc = codes_decided(db, it, orders, found)) <= 0)
        return rc;
    /* the transfer, once: a feed delivery of it later finds this row */
    /* FG_ECONFLICT: the feed got there first; a later round matches by reference */
    if (it->bank_ref.len > 0 && (rc = fg_bank_transfer_record(db, it->account.data, it->bank_ref.data, "statement",
                                                              it->amount, NULL, now)) != 0)
        return rc;
    for (int i = 0; i < found; i++) {
        int64_t payment = 0;
        if ((rc = fg_recon_pay_order(db, m->cfg, it->item_id, it->line_id, orders[i].id, orders[i].owed, i,
                                     &payment)) != 0 ||
            (rc = link(db, it, payment, orders[i].id, orders[i].owed, 0)) != 0)
            return rc;
    }
    return 0;
}

/* Decides a locked item waiting for matching, by the rules in order, and
 * writes the outcome. */
static int decide(fg_db_t *db, match_t *m, int64_t now)
{
    item_t *it = &m->it;
    int decided = 0, rc;
    if ((rc = by_settlement(db, m->cfg, it, now, &decided)) != 0 || decided) {
        if (rc != 0)
            return rc;
    } else if (it->amount < 0 && ((rc = by_payer_refund(db, it, now, &decided)) != 0 || decided)) {
        if (rc != 0)
            return rc;
    } else if (it->amount < 0 && ((rc = by_merchant_payout(db, it, now, &decided)) != 0 || decided)) {
        if (rc != 0)
            return rc;
    } else if (it->amount < 0) {
        it->state = "bank_only";
        snprintf(it->detail, sizeof(it->detail), "a debit: no settlement batch, payer refund or payout names it");
    } else if ((rc = credit_alone(db, m, now)) != 0) {
        return rc;
    }
    if ((rc = book(db, it, now)) != 0)
        return rc;
    return settle(db, it, now);
}

static int match_tx(fg_db_t *db, void *arg)
{
    match_t *m = arg;
    item_t *it = &m->it;
    item_cols_t c = {FG_BUF_INIT, 0, 0, 0};
    fg_stmt_t s;
    item_free(it);
    memset(it, 0, sizeof(*it));
    it->item_id = m->item_id;
    int rc = fg_stmt_init(&s, db, SQL_ITEM);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, it->item_id);
    item_bind(&s, it, &c);
    rc = fg_stmt_one(&s);
    int unmatched = rc == 0 && item_read(it, &c);
    fg_buf_free(&c.state);
    if (rc != 0 || !unmatched)
        return rc == FG_ENOTFOUND ? 0 : rc; /* decided meanwhile: nothing to do */
    return decide(db, m, fg_now_ms());
}

/* A group's items decided together, each as it would be alone: one locking
 * read of the items, one lookup per rule for all of them (the waiting
 * settlement batches, the feed's transfers, the provider transactions, the
 * orders their memos name), the orders paid as one set, one statement for
 * the transfers, journals, entries and items each.  Debits, payout lines,
 * lines a settlement batch waits for, and lines whose transfer or order an
 * earlier member has, are decided one by one after the others (decide),
 * seeing what they wrote: the outcome is the one the items would get in
 * that order.  Anything that fails the set rolls it back whole; the caller
 * then runs the items as before. */
static int match_set_tx(fg_db_t *db, void *arg)
{
    match_set_t *set = arg;
    int64_t now = fg_now_ms();
    int rc = set_load(db, set);
    if (rc == 0)
        rc = set_route(db, set);
    if (rc == 0)
        rc = set_references(db, set);
    if (rc == 0)
        rc = set_orders(db, set, now);
    if (rc == 0)
        rc = set_pay(db, set, now);
    if (rc == 0)
        rc = set_settle(db, set, now);
    for (int i = 0; rc == 0 && i < set->n; i++)
        if (set->mb[i].route == ROUTE_EACH)
            rc = decide(db, &set->m[i], now);
    return rc;
}

/* The round's items, MATCH_SET_MAX to a set decided together
 * (match_set_tx).  When a set fails for any reason (a key an item took
 * meanwhile, a transfer the feed recorded first, an order no longer payable,
 * a deadlock past the retries), its items go MATCH_GROUP_MAX to a shared
 * transaction, each decided under its own row lock, in claim order, seeing
 * what the items before it wrote (only appends are deferred, and no rule
 * reads an append back: a transfer record, a payment, an order's amount
 * paid are written at once); and when that fails too, each runs alone and
 * keeps its own outcome. */
static fg_db_group_t match_set_group = FG_DB_GROUP_INIT("recon.match.set", 1, MATCH_SET_MAX);
static fg_db_group_t match_group = FG_DB_GROUP_INIT("recon.match", 1, MATCH_GROUP_MAX);

static void match_alone(fg_db_t *db, match_t *m)
{
    int rc = fg_db_tx(db, match_tx, m);
    if (rc != 0) {
        /* left claimed: the lease runs out and a later round tries again */
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "statement line not matched this round");
        fg_log_int(&l, "item", m->item_id);
        fg_log_str(&l, "error", fg_strerror(rc));
        fg_log_end(&l);
    }
}

/* m[0..n) one by one, MATCH_GROUP_MAX to a shared transaction. */
static void match_groups(fg_db_t *db, match_t *m, int n)
{
    void *args[MATCH_GROUP_MAX];
    for (int first = 0; first < n; first += MATCH_GROUP_MAX) {
        int count = n - first < MATCH_GROUP_MAX ? n - first : MATCH_GROUP_MAX;
        for (int i = 0; i < count; i++)
            args[i] = &m[first + i];
        /* lost during COMMIT, they may be matched: left claimed, a later round looks again */
        if (count == 1 ||
            (fg_db_group_tx_all(&match_group, db, match_tx, args, count) != 0 && !fg_db_commit_unknown(db)))
            for (int i = 0; i < count; i++)
                match_alone(db, &m[first + i]);
    }
}

int fg_recon_match_round(fg_db_t *db, const fg_config_t *cfg, int limit)
{
    claim_t c = {.limit = limit < MATCH_BATCH_MAX ? limit : MATCH_BATCH_MAX};
    int rc = fg_db_tx(db, claim_tx, &c);
    if (rc != 0)
        return rc;
    match_t m[MATCH_SET_MAX];
    member_t *mb = fg_calloc(MATCH_SET_MAX, sizeof(*mb));
    for (int first = 0; first < c.count; first += MATCH_SET_MAX) {
        int n = c.count - first < MATCH_SET_MAX ? c.count - first : MATCH_SET_MAX;
        for (int i = 0; i < n; i++)
            m[i] = (match_t){.cfg = cfg, .item_id = c.ids[first + i]};
        match_set_t set = {cfg, m, n, mb};
        if (n == 1 ||
            (fg_db_group_tx_set(&match_set_group, db, match_set_tx, &set, n) != 0 && !fg_db_commit_unknown(db)))
            match_groups(db, m, n);
        for (int i = 0; i < n; i++)
            item_free(&m[i].it);
    }
    free(mb);
    return c.count;
}
