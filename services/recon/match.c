/*
 * match.c - statement lines against the ledger (docs/DESIGN.md §7).
 *
 * The job claims unmatched items (FOR UPDATE SKIP LOCKED, a lease), then
 * matches each in a transaction of its own, under the item's row lock.
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
/* Claimed items matched in one shared transaction (group commit). */
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
static const char SQL_ITEM[] =
    "SELECT i.state, i.unapplied, i.business_day, l.id, l.account, l.amount, l.value_date, l.bank_ref, l.end_to_end, "
    "l.memo, l.currency "
    "FROM recon_items i JOIN statement_lines l ON l.id = i.line_id WHERE i.id = ? FOR UPDATE";
static const char SQL_BY_REFERENCE[] =
    "SELECT p.id, p.order_id, COALESCE(p.amount_received, 0), p.adapter FROM payments p WHERE p.adapter IN "
    "('vnpay', 'momo', 'vietqr', 'sandbox') AND p.provider_txn_id IN (?, ?) AND p.status = 'succeeded' LIMIT 1";
static const char SQL_BY_TRANSFER[] =
    "SELECT COALESCE(t.payment_id, 0), t.amount FROM bank_transfers t WHERE t.account = ? AND t.bank_ref = ?";
/* The feed's transfer a statement line now shows is no longer ledger_only. */
static const char SQL_SHOWN[] = "UPDATE recon_items SET state = 'matched', rule = 'reference', updated_at = ? "
                                "WHERE account = ? AND transfer_ref = ? AND kind = 'ledger_posting'";
/* clang-format off */
static const char SQL_ORDER_BY_CODE[] =
    "SELECT id, amount, amount_paid, allow_partial, " FG_ORDER_STATUS_SQL("status") ", COALESCE(expires_at, 0), "
    "expires_at IS NOT NULL, currency FROM orders WHERE code = ? FOR UPDATE";
/* clang-format on */
static const char SQL_PAYMENT_ROW_ID[] = "SELECT id FROM payments WHERE public_id = ?";
static const char SQL_SUGGEST[] =
    "SELECT id FROM orders WHERE status IN ('open', 'partially_paid') AND currency = ? AND amount - amount_paid = ? "
    "AND ((due_at IS NOT NULL AND due_at BETWEEN ? AND ?) OR created_at BETWEEN ? AND ?) ORDER BY id LIMIT ?";
static const char SQL_LINK[] =
    "INSERT INTO recon_links (item_id, seq, payment_id, order_id, amount, suggested) VALUES (?, ?, ?, ?, ?, ?)";
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

static int link(fg_db_t *db, item_t *it, int64_t payment_id, int64_t order_id, int64_t amount, int suggested)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_LINK);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, it->item_id);
    fg_stmt_int(&s, ++it->links);
    fg_stmt_int_or_null(&s, payment_id != 0 ? &payment_id : NULL);
    fg_stmt_int_or_null(&s, order_id != 0 ? &order_id : NULL);
    fg_stmt_int(&s, amount);
    fg_stmt_int(&s, suggested);
    return fg_stmt_exec(&s);
}

/* Rule 0 (payout.c). */
static int by_settlement(fg_db_t *db, const fg_config_t *cfg, item_t *it, int64_t now, int *decided)
{
    fg_recon_payout_result_t out;
    fg_recon_line_t l = {.line_id = it->line_id,
                         .amount = it->amount,
                         .business_day = it->business_day,
                         .account = it->account.data != NULL ? it->account.data : "",
                         .currency = it->currency.data != NULL ? it->currency.data : "",
                         .bank_ref = it->bank_ref.data != NULL ? it->bank_ref.data : "",
                         .end_to_end = it->end_to_end.data != NULL ? it->end_to_end.data : "",
                         .memo = it->memo.data != NULL ? it->memo.data : "",
                         .memo_len = it->memo.len,
                         .unapplied = it->unapplied};
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

/* Rule 1.  1 when it decided the item, 0 when it does not apply. */
static int by_reference(fg_db_t *db, item_t *it, int *decided)
{
    fg_stmt_t s;
    fg_buf_t adapter = FG_BUF_INIT;
    int64_t payment = 0, order = 0, received = 0;
    int rc;
    *decided = 0;
    if (it->bank_ref.len == 0 && it->end_to_end.len == 0)
        return 0;
    if (it->bank_ref.len > 0) {
        if ((rc = fg_stmt_init(&s, db, SQL_BY_TRANSFER)) != 0)
            return rc;
        fg_stmt_str(&s, it->account.data, it->account.len);
        fg_stmt_str(&s, it->bank_ref.data, it->bank_ref.len);
        fg_stmt_out_int(&s, &payment, NULL);
        fg_stmt_out_int(&s, &received, NULL);
        if ((rc = fg_stmt_one(&s)) == 0) {
            *decided = 1;
            it->rule = "reference";
            it->state = received == it->amount ? "matched" : "amount_mismatch";
            snprintf(it->adapter, sizeof(it->adapter), "vietqr"); /* the feed's transfers are VietQR's */
            snprintf(it->detail, sizeof(it->detail), "the bank feed recorded this transfer (%lld)",
                     (long long)received);
            if ((rc = fg_stmt_init(&s, db, SQL_SHOWN)) != 0)
                return rc;
            fg_stmt_int(&s, fg_now_ms());
            fg_stmt_str(&s, it->account.data, it->account.len);
            fg_stmt_str(&s, it->bank_ref.data, it->bank_ref.len);
            if ((rc = fg_stmt_exec(&s)) != 0)
                return rc;
            return link(db, it, payment, 0, received, 0);
        }
        if (rc != FG_ENOTFOUND)
            return rc;
    }
    if ((rc = fg_stmt_init(&s, db, SQL_BY_REFERENCE)) != 0)
        return rc;
    fg_stmt_str(&s, it->bank_ref.len > 0 ? it->bank_ref.data : "-", it->bank_ref.len > 0 ? it->bank_ref.len : 1);
    fg_stmt_str(&s, it->end_to_end.len > 0 ? it->end_to_end.data : "-",
                it->end_to_end.len > 0 ? it->end_to_end.len : 1);
    fg_stmt_out_int(&s, &payment, NULL);
    fg_stmt_out_int(&s, &order, NULL);
    fg_stmt_out_int(&s, &received, NULL);
    fg_stmt_out_text(&s, &adapter, NULL);
    rc = fg_stmt_one(&s);
    if (rc == 0)
        snprintf(it->adapter, sizeof(it->adapter), "%s", adapter.data);
    fg_buf_free(&adapter);
    if (rc == FG_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    *decided = 1;
    it->rule = "reference";
    it->state = received == it->amount ? "matched" : "amount_mismatch";
    snprintf(it->detail, sizeof(it->detail), "the provider's transaction of %lld", (long long)received);
    return link(db, it, payment, order, received, 0);
}

typedef struct {
    int64_t id, owed;
    int partial; /* the order takes part payments */
} owed_t;

int fg_recon_pay_order(fg_db_t *db, const fg_config_t *cfg, int64_t item_id, int64_t line_id, int64_t order_id,
                       int64_t amount, int index, int64_t *payment_row)
{
    char body[400], key[96], payment_id[FG_ID_CAP];
    fg_stmt_t s;
    fg_ack_t outcome = FG_ACK_ERROR;
    const char *reason = NULL;
    /* a line's item pays each order once: a second run finds the inbox row */
    snprintf(key, sizeof(key), "line:%lld:%lld:%d", (long long)line_id, (long long)item_id, index);
    int len = snprintf(body, sizeof(body), "{\"statement_line\":%lld,\"order\":%lld,\"amount\":%lld}",
                       (long long)line_id, (long long)order_id, (long long)amount);
    fg_inbound_t in = {.method = "STMT", .body = body, .body_len = (size_t)len};
    int rc = fg_transfer_pay_order(db, cfg, &in, order_id, amount, key, key, &outcome, &reason, payment_id);
    if (rc == 1)
        return FG_ESTATE; /* not applicable: roll the item back and say so */
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_PAYMENT_ROW_ID)) != 0)
        return rc;
    fg_stmt_cstr(&s, payment_id);
    fg_stmt_out_int(&s, payment_row, NULL);
    return fg_stmt_one(&s);
}

/* Rule 2. */
static int by_codes(fg_db_t *db, const fg_config_t *cfg, item_t *it, int64_t now, int *decided)
{
    char codes[CODES_MAX][FG_ORDER_CODE_LEN + 1];
    owed_t orders[CODES_MAX];
    int found = 0, rc;
    int64_t total = 0;
    *decided = 0;
    int n = fg_order_code_find_all(it->memo.data, it->memo.len, codes, CODES_MAX);
    for (int i = 0; i < n; i++) {
        fg_stmt_t s;
        int64_t id, amount, paid, partial, expires, has_expiry;
        fg_order_status_t status = FG_ORDER_OPEN;
        fg_buf_t currency = FG_BUF_INIT;
        if ((rc = fg_stmt_init(&s, db, SQL_ORDER_BY_CODE)) != 0)
            return rc;
        fg_stmt_cstr(&s, codes[i]);
        fg_stmt_out_int(&s, &id, NULL);
        fg_stmt_out_int(&s, &amount, NULL);
        fg_stmt_out_int(&s, &paid, NULL);
        fg_stmt_out_int(&s, &partial, NULL);
        fg_stmt_out_enum(&s, &status, FG_ORDER_STATUS_COUNT);
        fg_stmt_out_int(&s, &expires, NULL);
        fg_stmt_out_int(&s, &has_expiry, NULL);
        fg_stmt_out_text(&s, &currency, NULL);
        rc = fg_stmt_one(&s);
        int same_currency = rc == 0 && it->currency.len == currency.len &&
                            memcmp(it->currency.data, currency.data, currency.len) == 0;
        fg_buf_free(&currency);
        if (rc == FG_ENOTFOUND)
            continue; /* a window of the memo that only looks like a code */
        if (rc != 0)
            return rc;
        fg_order_status_t effective = fg_order_effective_status(status, (int)has_expiry, expires, now);
        orders[found].id = id;
        orders[found].partial = partial != 0;
        orders[found].owed = same_currency && fg_order_accepts_payment(effective) ? amount - paid : 0;
        if (fg_money_add(total, orders[found].owed, &total) != 0)
            return FG_EOVERFLOW;
        found++;
    }
    if (found == 0)
        return 0;
    *decided = 1;
    it->rule = "order_code";
    /* one order that takes part payments may be paid by several lines: this
     * one pays what it brings, never more than the order owes */
    if (found == 1 && orders[0].partial && it->amount > 0 && it->amount < total) {
        orders[0].owed = it->amount;
        total = it->amount;
    }
    if (total != it->amount || total == 0) {
        it->state = "amount_mismatch";
        snprintf(it->detail, sizeof(it->detail), "the memo names %d order(s) that still owe %lld, the line is %lld",
                 found, (long long)total, (long long)it->amount);
        for (int i = 0; i < found; i++)
            if ((rc = link(db, it, 0, orders[i].id, orders[i].owed, 1)) != 0)
                return rc;
        return 0;
    }
    /* the transfer, once: a feed delivery of it later finds this row */
    /* FG_ECONFLICT: the feed got there first; a later round matches by reference */
    if (it->bank_ref.len > 0 && (rc = fg_bank_transfer_record(db, it->account.data, it->bank_ref.data, "statement",
                                                              it->amount, NULL, now)) != 0)
        return rc;
    for (int i = 0; i < found; i++) {
        int64_t payment = 0;
        if ((rc = fg_recon_pay_order(db, cfg, it->item_id, it->line_id, orders[i].id, orders[i].owed, i, &payment)) !=
                0 ||
            (rc = link(db, it, payment, orders[i].id, orders[i].owed, 0)) != 0)
            return rc;
    }
    it->state = "matched";
    snprintf(it->adapter, sizeof(it->adapter), "vietqr"); /* fg_recon_pay_order pays as a VietQR transfer */
    snprintf(it->detail, sizeof(it->detail), "paid %d order(s) named in the memo", found);
    return 0;
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
    fg_recon_line_t l = {.line_id = it->line_id,
                         .amount = it->amount,
                         .business_day = it->business_day,
                         .account = it->account.data != NULL ? it->account.data : "",
                         .currency = it->currency.data != NULL ? it->currency.data : "",
                         .bank_ref = it->bank_ref.data != NULL ? it->bank_ref.data : "",
                         .end_to_end = it->end_to_end.data != NULL ? it->end_to_end.data : "",
                         .memo = it->memo.data != NULL ? it->memo.data : "",
                         .memo_len = it->memo.len,
                         .unapplied = it->unapplied};
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
static int book(fg_db_t *db, item_t *it, int64_t now)
{
    char from[FG_ACCOUNT_CODE_MAX + 1], to[FG_ACCOUNT_CODE_MAX + 1], memo[160];
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
        snprintf(memo, sizeof(memo), "statement line %lld matched (%s)", (long long)it->line_id, it->rule);
    } else {
        snprintf(to, sizeof(to), "liabilities:unapplied");
        snprintf(memo, sizeof(memo), "statement line %lld: money naming no order it can pay, unapplied",
                 (long long)it->line_id);
    }
    fg_journal_t j = {.kind = "bank_match", .memo = memo};
    fg_journal_add(&j, from, 0, it->currency.data, it->amount);
    fg_journal_add(&j, to, 0, it->currency.data, -it->amount);
    it->unapplied = !matched;
    return fg_ledger_post_now(db, &j, now, &it->journal_id);
}

typedef struct {
    const fg_config_t *cfg;
    int64_t item_id;
    item_t it;
} match_t;

static int match_tx(fg_db_t *db, void *arg)
{
    match_t *m = arg;
    item_t *it = &m->it;
    fg_buf_t state = FG_BUF_INIT;
    fg_stmt_t s;
    int64_t now = fg_now_ms(), value_date = 0;
    int decided = 0;
    item_free(it);
    memset(it, 0, sizeof(*it));
    it->item_id = m->item_id;
    int rc = fg_stmt_init(&s, db, SQL_ITEM);
    if (rc != 0)
        return rc;
    int64_t unapplied = 0, business_day = 0;
    fg_stmt_int(&s, it->item_id);
    fg_stmt_out_text(&s, &state, NULL);
    fg_stmt_out_int(&s, &unapplied, NULL);
    fg_stmt_out_int(&s, &business_day, NULL);
    fg_stmt_out_int(&s, &it->line_id, NULL);
    fg_stmt_out_text(&s, &it->account, NULL);
    fg_stmt_out_int(&s, &it->amount, NULL);
    fg_stmt_out_int(&s, &value_date, NULL);
    fg_stmt_out_text(&s, &it->bank_ref, NULL);
    fg_stmt_out_text(&s, &it->end_to_end, NULL);
    fg_stmt_out_text(&s, &it->memo, NULL);
    fg_stmt_out_text(&s, &it->currency, NULL);
    rc = fg_stmt_one(&s);
    it->value_date = (int32_t)value_date;
    it->business_day = (int32_t)business_day;
    it->unapplied = unapplied != 0;
    int unmatched = rc == 0 && strcmp(state.data, "unmatched") == 0;
    fg_buf_free(&state);
    if (rc != 0 || !unmatched)
        return rc == FG_ENOTFOUND ? 0 : rc; /* decided meanwhile: nothing to do */
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
    } else if ((rc = by_reference(db, it, &decided)) != 0 || decided ||
               (rc = by_codes(db, m->cfg, it, now, &decided)) != 0 || decided ||
               (rc = by_amount_and_date(db, it, &decided)) != 0 || decided) {
        if (rc != 0)
            return rc;
    } else {
        it->state = "bank_only";
        snprintf(it->detail, sizeof(it->detail), "no payment or order matches");
    }
    if ((rc = book(db, it, now)) != 0 || (rc = fg_stmt_init(&s, db, SQL_SETTLE)) != 0)
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
    if ((rc = fg_stmt_init(&s, db, SQL_IMPORT_SHOWN)) != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, statement_id);
    return fg_stmt_exec(&s);
}

/* The round's items, MATCH_GROUP_MAX to a transaction: a statement's lines
 * share COMMITs (and their journals, entries and inbox rows go as multi-row
 * INSERTs), while each item is still decided under its own row lock, in
 * claim order, seeing what the items before it wrote (only appends are
 * deferred, and no rule reads an append back: a transfer record, a payment,
 * an order's amount paid are written at once).  When the shared
 * transaction fails for any reason (a key an item took meanwhile, a
 * deadlock past the retries, an order no longer payable), each of its items
 * runs alone and keeps its own outcome. */
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

int fg_recon_match_round(fg_db_t *db, const fg_config_t *cfg, int limit)
{
    claim_t c = {.limit = limit < MATCH_BATCH_MAX ? limit : MATCH_BATCH_MAX};
    int rc = fg_db_tx(db, claim_tx, &c);
    if (rc != 0)
        return rc;
    match_t m[MATCH_GROUP_MAX];
    void *args[MATCH_GROUP_MAX];
    for (int first = 0; first < c.count; first += MATCH_GROUP_MAX) {
        int n = c.count - first < MATCH_GROUP_MAX ? c.count - first : MATCH_GROUP_MAX;
        for (int i = 0; i < n; i++) {
            m[i] = (match_t){.cfg = cfg, .item_id = c.ids[first + i]};
            args[i] = &m[i];
        }
        if (n == 1 || fg_db_group_tx_all(&match_group, db, match_tx, args, n) != 0)
            for (int i = 0; i < n; i++)
                match_alone(db, &m[i]);
        for (int i = 0; i < n; i++)
            item_free(&m[i].it);
    }
    return c.count;
}
