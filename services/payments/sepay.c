/*
 * sepay.c - transfers on the collection account (POST /v1/webhooks/sepay),
 * reported by the SePay bank feed, settle VietQR orders.
 *
 * 1. The Apikey header is compared in constant time; then the body is read.
 * 2. One transaction per transfer, keyed in webhook_inbox by
 *    (vietqr, "sepay:<id>"): a duplicate hits the key, rolls back and gets the
 *    same {"success":true}.
 *    - an incoming transfer whose memo holds the code of an order (case,
 *      spaces, punctuation tolerated; the check symbol verified) settles it
 *      through the same apply path as every payment (webhook.c): the order's
 *      pending VietQR payment, or a payment row created for the transfer in
 *      this transaction.  A closed order's money goes to unapplied there.
 *    - an incoming transfer that matches no order is money all the same: a
 *      "receipt" journal, Dr assets:clearing:vietqr / Cr liabilities:unapplied,
 *      for staff to resolve.  Never dropped.
 *    - an outgoing transfer is recorded, nothing else (only "in" credits).
 */
#include "payments/payments_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/ids.h"
#include "core/log.h"
#include "core/text.h"
#include "db/group.h"
#include "ledger/ledger.h"
#include "orders/orders_internal.h"
#include "sepay/sepay.h"
#include "vietqr/vietqr.h"

/* Codes looked up per memo: a memo rarely holds more than one. */
#define MEMO_CODES_MAX 8
/* journals.memo holds 500 characters: "<event id> <reference>: <bank memo>",
 * the bank memo cut to what is left. */
#define RECEIPT_MEMO_CHARS 500

/* clang-format off */
static const char SQL_PENDING_QR[] =
    "SELECT public_id, " FG_PAYMENT_STATUS_SQL("status") " FROM payments WHERE order_id = ? "
    "AND adapter = 'vietqr' AND status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE";
/* clang-format on */
/* One money, one effect: a transfer is applied once, by the feed or by a
 * statement line (recon/match.c), whichever records it first. */
static const char SQL_TRANSFER[] =
    "INSERT INTO bank_transfers (account, bank_ref, source, payment_id, amount, created_at) "
    "VALUES (?, ?, ?, (SELECT id FROM payments WHERE public_id = ?), ?, ?)";
static const char SQL_PAYMENT_INSERT[] =
    "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, created_at, "
    "updated_at) SELECT ?, id, merchant_id, 'vietqr', ?, currency, 'pending', ?, ? FROM orders WHERE id = ?";

typedef struct {
    const fg_config_t *cfg;
    const fg_inbound_t *in; /* the transfer as received */
    const fg_sepay_transfer_t *t;
    char event_id[FG_PROVIDER_EVENT_MAX + 1];
    char txn_id[32]; /* "sepay:<id>": the payment's provider transaction */
    fg_ack_t outcome;
    const char *reason;
    const char *inbox_status;
    int64_t order_id;      /* in a set (fg_sepay_receive_many): the order it pays, 0 for none */
    const char *no_credit; /* why it credits nothing (no_credit, read once with the transfer), or NULL */
} sepay_t;

static int record(fg_db_t *db, sepay_t *a, const char *event_id)
{
    /* never the Apikey itself: fg_inbox_headers masks it */
    return fg_inbox_insert(db, a->cfg, a->in, &fg_adapter_vietqr, a->outcome, event_id, a->inbox_status, a->reason,
                           NULL);
}

static int record_tx(fg_db_t *db, void *arg) { return record(db, arg, NULL); }

/* Records a delivery that has no effect (refused, unreadable, duplicate). */
static void record_alone(fg_db_t *db, sepay_t *a, const char *status)
{
    a->inbox_status = status;
    if (fg_db_tx(db, record_tx, a) != 0) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_ERROR, "cannot record bank-feed webhook");
        fg_log_str(&l, "error", fg_db_error(db));
        fg_log_end(&l);
    }
}

/* [memo * MEMO_CODES_MAX + index, code]: the orders the memos name */
/* clang-format off */
static const char SQL_ORDERS_BY_CODES[] =
    "SELECT j.k, o.id, " FG_ORDER_STATUS_SQL("o.status") ", COALESCE(o.expires_at, 0), o.expires_at IS NULL, "
    "o.currency FROM JSON_TABLE(?, '$[*]' COLUMNS (k INT PATH '$[0]', c CHAR(11) CHARSET utf8mb4 COLLATE "
    "utf8mb4_bin PATH '$[1]')) j STRAIGHT_JOIN orders o ON o.code = j.c";
/* clang-format on */

/* The order each of memos[0..n) pays (NULL: none asked), in one statement:
 * the first order a memo names that takes payment, else the first it names
 * at all (a closed order's money goes to unapplied there), only VND orders (a
 * NAPAS transfer is VND); 0 when it names none. */
static int orders_named(fg_db_t *db, const char *const *memos, int n, int64_t now, int64_t *order_ids)
{
    /* per memo and code: the VND order's id, and whether it takes payment */
    int64_t(*vnd)[MEMO_CODES_MAX] = fg_calloc((size_t)n, sizeof(*vnd));
    int(*open)[MEMO_CODES_MAX] = fg_calloc((size_t)n, sizeof(*open));
    int *count = fg_calloc((size_t)n, sizeof(*count));
    fg_buf_t json = FG_BUF_INIT, currency = FG_BUF_INIT;
    int64_t k = 0, id = 0, expires = 0, expires_null = 0;
    fg_order_status_t status = FG_ORDER_OPEN;
    fg_stmt_t s;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char codes[MEMO_CODES_MAX][FG_ORDER_CODE_LEN + 1];
        if (memos[i] == NULL)
            continue;
        count[i] = fg_order_code_find_all(memos[i], strlen(memos[i]), codes, MEMO_CODES_MAX);
        for (int c = 0; c < count[i]; c++)
            fg_buf_printf(&json, "%s[%d,\"%s\"]", json.len > 0 ? "," : "[", i * MEMO_CODES_MAX + c, codes[c]);
    }
    if (json.len > 0) {
        fg_buf_putc(&json, ']');
        if ((rc = fg_stmt_init(&s, db, SQL_ORDERS_BY_CODES)) == 0) {
            fg_stmt_str(&s, json.data, json.len);
            fg_stmt_out_int(&s, &k, NULL);
            fg_stmt_out_int(&s, &id, NULL);
            fg_stmt_out_enum(&s, &status, FG_ORDER_STATUS_COUNT);
            fg_stmt_out_int(&s, &expires, NULL);
            fg_stmt_out_int(&s, &expires_null, NULL);
            fg_stmt_out_text(&s, &currency, NULL);
            rc = fg_stmt_exec(&s);
        }
        while (rc == 0 && (rc = fg_stmt_fetch(&s)) == 1) {
            rc = 0;
            int i = (int)(k / MEMO_CODES_MAX), c = (int)(k % MEMO_CODES_MAX);
            if (k < 0 || i >= n || strcmp(currency.data, "VND") != 0)
                continue;
            vnd[i][c] = id;
            open[i][c] = fg_order_accepts_payment(fg_order_effective_status(status, !expires_null, expires, now));
        }
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        int64_t first_open = 0, first = 0;
        for (int c = 0; c < count[i]; c++) {
            if (first_open == 0 && open[i][c])
                first_open = vnd[i][c];
            if (first == 0)
                first = vnd[i][c];
        }
        order_ids[i] = first_open != 0 ? first_open : first;
    }
    fg_buf_free(&json);
    fg_buf_free(&currency);
    free(vnd);
    free(open);
    free(count);
    return rc < 0 ? rc : 0;
}
/* The order's pending VietQR payment (the one its QR was shown for), or a new
 * payment row for this transfer; its public id into payment_id. */
static int payment_for(fg_db_t *db, int64_t order_id, int64_t amount, int64_t now, char *payment_id, size_t cap)
{
    fg_buf_t public_id = FG_BUF_INIT;
    fg_payment_status_t status = FG_PAYMENT_PENDING;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_PENDING_QR);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, order_id);
    fg_stmt_out_text(&s, &public_id, NULL);
    fg_stmt_out_enum(&s, &status, FG_PAYMENT_STATUS_COUNT);
    if ((rc = fg_stmt_exec(&s)) == 0 && (rc = fg_stmt_fetch(&s)) >= 0) {
        fg_stmt_done(&s);
        /* the row as locked: a concurrent transfer may have settled it */
        if (rc == 1 && status == FG_PAYMENT_PENDING) {
            snprintf(payment_id, cap, "%s", public_id.data);
            rc = 0;
            goto Exit;
        }
        if (fg_id_new("pay_", payment_id, cap) < 0) {
            rc = FG_EIO;
            goto Exit;
        }
        if ((rc = fg_stmt_init(&s, db, SQL_PAYMENT_INSERT)) != 0)
            goto Exit;
        fg_stmt_cstr(&s, payment_id);
        fg_stmt_int(&s, amount);
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, order_id);
        rc = fg_stmt_exec(&s);
    }
Exit:
    fg_buf_free(&public_id);
    return rc;
}

/* Appends s to out, at most *room characters of it, never cutting a
 * character; a byte that is not UTF-8 becomes '?'. */
static void memo_append(fg_buf_t *out, const char *s, size_t *room)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n && (*room) > 0; (*room)--) {
        uint32_t cp;
        int len = fg_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            fg_buf_putc(out, '?');
            i++;
        } else {
            fg_buf_append(out, s + i, (size_t)len);
            i += (size_t)len;
        }
    }
}

/** The receipt journal's memo for a transfer: at most RECEIPT_MEMO_CHARS
 *  characters of valid UTF-8, whatever the bank sent. */
static void receipt_memo(const sepay_t *a, fg_buf_t *memo)
{
    size_t room = RECEIPT_MEMO_CHARS;
    memo_append(memo, a->event_id, &room);
    memo_append(memo, " ", &room);
    memo_append(memo, a->t->reference_code, &room);
    memo_append(memo, ": ", &room);
    memo_append(memo, a->t->content, &room);
}

/* Money that matches no order: recorded as unapplied, for staff. */
static int receipt(fg_db_t *db, sepay_t *a, int64_t now)
{
    fg_buf_t memo = FG_BUF_INIT;
    a->inbox_status = "applied";
    a->reason = "no open order matches the memo: recorded as unapplied money";
    int rc = record(db, a, a->event_id);
    if (rc != 0)
        return rc;
    receipt_memo(a, &memo);
    fg_journal_t j = {.kind = "receipt", .memo = memo.data};
    fg_journal_add(&j, "assets:clearing:vietqr", 0, "VND", a->t->amount);
    fg_journal_add(&j, "liabilities:unapplied", 0, "VND", -a->t->amount);
    rc = fg_ledger_post(db, &j, now, NULL);
    fg_buf_free(&memo);
    return rc;
}

int fg_bank_transfer_record(fg_db_t *db, const char *account, const char *bank_ref, const char *source, int64_t amount,
                            const char *payment_id, int64_t now)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_TRANSFER);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, account);
    fg_stmt_cstr(&s, bank_ref);
    fg_stmt_cstr(&s, source);
    fg_stmt_cstr(&s, payment_id); /* NULL: no payment, e.g. money recorded unapplied */
    fg_stmt_int(&s, amount);
    fg_stmt_int(&s, now);
    return fg_stmt_exec(&s);
}

static const char SQL_TRANSFERS[] =
    "INSERT INTO bank_transfers (account, bank_ref, source, payment_id, amount, created_at) SELECT j.a, j.r, ?, "
    "NULLIF(j.p, 0), j.amount, ? FROM JSON_TABLE(?, '$[*]' COLUMNS (a VARCHAR(100) PATH '$[0]', r VARCHAR(100) "
    "PATH '$[1]', p BIGINT PATH '$[2]', amount BIGINT PATH '$[3]')) j";

void fg_bank_transfers_add(fg_buf_t *json, const char *account, size_t account_len, const char *bank_ref,
                           size_t bank_ref_len, int64_t payment_row, int64_t amount)
{
    fg_buf_puts(json, json->len > 0 ? ",[" : "[[");
    fg_json_str(json, account, account_len);
    fg_buf_putc(json, ',');
    fg_json_str(json, bank_ref, bank_ref_len);
    fg_buf_printf(json, ",%lld,%lld]", (long long)payment_row, (long long)amount);
}

int fg_bank_transfers_record(fg_db_t *db, fg_buf_t *json, const char *source, int64_t now)
{
    fg_stmt_t s;
    if (json->len == 0)
        return 0;
    fg_buf_putc(json, ']');
    int rc = fg_stmt_init(&s, db, SQL_TRANSFERS);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, source);
    fg_stmt_int(&s, now);
    fg_stmt_str(&s, json->data, json->len);
    return fg_stmt_exec(&s);
}

/* The notification a transfer makes for its payment. */
static void transfer_note(fg_notification_t *n, const char *payment_id, const char *txn_id, const char *event_id,
                          int64_t amount)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->payment_id, sizeof(n->payment_id), "%s", payment_id);
    snprintf(n->provider_txn_id, sizeof(n->provider_txn_id), "%s", txn_id);
    snprintf(n->event_id, sizeof(n->event_id), "%s", event_id);
    n->status = FG_NOTIFY_SUCCEEDED;
    n->amount = amount;
}

int fg_transfer_pay_order(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, int64_t order_id, int64_t amount,
                          const char *txn_id, const char *event_id, fg_ack_t *outcome, const char **reason,
                          char payment_id[FG_ID_CAP])
{
    fg_notification_t n;
    int rc = payment_for(db, order_id, amount, fg_now_ms(), payment_id, FG_ID_CAP);
    if (rc != 0)
        return rc;
    transfer_note(&n, payment_id, txn_id, event_id, amount);
    return fg_webhook_apply_one(db, cfg, in, &fg_adapter_vietqr, &n, outcome, reason);
}

/* The orders' pending VietQR payments, locked, oldest first (an order's
 * first is the one its QR was shown for); JSON array of order ids. */
static const char SQL_PENDING_QR_SET[] =
    "SELECT p.order_id, p.public_id FROM JSON_TABLE(?, '$[*]' COLUMNS (o BIGINT PATH '$')) j STRAIGHT_JOIN payments p "
    "ON p.order_id = j.o WHERE p.adapter = 'vietqr' AND p.status = 'pending' ORDER BY p.id FOR UPDATE";
/* A payment for each order that has none: [[public id, order id, amount], …]. */
static const char SQL_PAYMENT_INSERT_SET[] =
    "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, created_at, "
    "updated_at) SELECT j.pid, o.id, o.merchant_id, 'vietqr', j.amount, o.currency, 'pending', ?, ? FROM "
    "JSON_TABLE(?, '$[*]' COLUMNS (pid VARCHAR(40) PATH '$[0]', o BIGINT PATH '$[1]', amount BIGINT PATH '$[2]')) j "
    "STRAIGHT_JOIN orders o ON o.id = j.o";

/* payment_for for each of p[0..n): one locking read, one INSERT. */
static int payments_for(fg_db_t *db, fg_transfer_pay_t *p, int n, int64_t now)
{
    fg_buf_t json = FG_BUF_INIT, public_id = FG_BUF_INIT;
    fg_stmt_t s;
    int64_t order = 0;
    int missing = 0;
    for (int i = 0; i < n; i++) {
        p[i].payment_id[0] = '\0';
        fg_buf_printf(&json, "%s%lld", i > 0 ? "," : "[", (long long)p[i].order_id);
    }
    fg_buf_putc(&json, ']');
    int rc = fg_stmt_init(&s, db, SQL_PENDING_QR_SET);
    if (rc != 0)
        goto Exit;
    fg_stmt_str(&s, json.data, json.len);
    fg_stmt_out_int(&s, &order, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        for (int i = 0; i < n; i++)
            if (p[i].order_id == order && p[i].payment_id[0] == '\0')
                snprintf(p[i].payment_id, sizeof(p[i].payment_id), "%s", public_id.data);
    if (rc < 0)
        goto Exit;
    fg_buf_reset(&json);
    for (int i = 0; i < n; i++) {
        if (p[i].payment_id[0] != '\0')
            continue;
        if (fg_id_new("pay_", p[i].payment_id, sizeof(p[i].payment_id)) < 0) {
            rc = FG_EIO;
            goto Exit;
        }
        fg_buf_printf(&json, "%s[\"%s\",%lld,%lld]", missing++ > 0 ? "," : "[", p[i].payment_id,
                      (long long)p[i].order_id, (long long)p[i].amount);
    }
    rc = 0;
    if (missing == 0)
        goto Exit;
    fg_buf_putc(&json, ']');
    if ((rc = fg_stmt_init(&s, db, SQL_PAYMENT_INSERT_SET)) != 0)
        goto Exit;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    fg_stmt_str(&s, json.data, json.len);
    if ((rc = fg_stmt_exec(&s)) == 0 && fg_stmt_affected(&s) != (uint64_t)missing)
        rc = FG_ESTATE; /* an order gone: each alone says which */
Exit:
    fg_buf_free(&json);
    fg_buf_free(&public_id);
    return rc;
}

int fg_transfer_pay_orders(fg_db_t *db, const fg_config_t *cfg, fg_transfer_pay_t *p, int n)
{
    int64_t now = fg_now_ms();
    int rc = payments_for(db, p, n, now);
    if (rc != 0)
        return rc;
    fg_webhook_apply_t *items = fg_calloc((size_t)n, sizeof(*items));
    for (int i = 0; i < n; i++) {
        transfer_note(&p[i].note, p[i].payment_id, p[i].txn_id, p[i].event_id, p[i].amount);
        items[i] = (fg_webhook_apply_t){.in = &p[i].in, .n = &p[i].note};
    }
    rc = fg_webhook_apply_set(db, cfg, &fg_adapter_vietqr, items, n);
    for (int i = 0; i < n; i++)
        p[i].payment_row = items[i].payment_row;
    free(items);
    return rc;
}

/* Why a transfer credits nothing, or NULL: an outgoing one; one whose
 * account is missing or no account number; one on an account
 * sepay.accounts does not list, when it lists them (a SePay
 * workspace often watches several of a unit's accounts): its memo may name
 * a bill, but the money is not where bills are paid, and no statement of
 * the collection accounts will show it. */
static const char *no_credit(const sepay_t *a)
{
    if (!a->t->incoming)
        return "outgoing transfer: no credit";
    /* kept under a spelling no statement can show, its statement line would
     * pay the bill a second time: the statement alone applies it */
    if (!a->t->account_keyed)
        return "accountNumber is not an account number: no credit";
    const char *list = a->cfg->sepay_accounts;
    if (list[0] == '\0')
        return NULL;
    /* both keyed: the list at start (core/config.c), the account by the adapter */
    size_t len = strlen(a->t->account_number);
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, ",");
        if (n == len && memcmp(p, a->t->account_number, n) == 0)
            return NULL;
        p += n + (p[n] == ',');
    }
    return "transfer to an account sepay.accounts does not list: no credit";
}

/* A transfer's first step: an outgoing one, or one whose memo names no
 * order, is recorded (and done: *order_id 0); else *order_id is the order it
 * pays. */
static int transfer_start(fg_db_t *db, sepay_t *a, int64_t now, int64_t *order_id)
{
    *order_id = 0;
    a->outcome = FG_ACK_APPLIED;
    a->reason = NULL;
    if ((a->reason = a->no_credit) != NULL) {
        a->inbox_status = "applied";
        return record(db, a, a->event_id);
    }
    const char *memo = a->t->content;
    int rc = orders_named(db, &memo, 1, now, order_id);
    if (rc == 0 && *order_id == 0)
        rc = receipt(db, a, now);
    return rc;
}

/* The reference a transfer is recorded under: the bank's, or when the feed
 * gave none, "SEPAY-<id>" (never a bank's reference).  So every transfer the
 * feed applied is in bank_transfers, and one that no statement line shows
 * comes up as ledger_only for staff instead of sitting unseen in clearing.
 * Only those: one going out, or to an account sepay.accounts does not list,
 * credits nothing and is not recorded there (recorded, a payout leaving the
 * account came up as money in transit, an exception to close the period
 * with, and a statement's credit line at the same reference was taken for
 * money the feed had applied). */
static const char *transfer_ref(const sepay_t *a, char buf[32])
{
    if (a->t->reference_code[0] != '\0')
        return a->t->reference_code;
    snprintf(buf, 32, "SEPAY-%lld", (long long)a->t->id);
    return buf;
}

/* A transfer's last step, so that one statement both records it and finds
 * out (FG_ECONFLICT: a statement line applied this transfer first; all of
 * this rolls back and the delivery is answered as a duplicate). */
static int transfer_finish(fg_db_t *db, const sepay_t *a, int64_t now, const char *payment_id)
{
    char buf[32];
    return fg_bank_transfer_record(db, a->t->account_number, transfer_ref(a, buf), "feed", a->t->amount,
                                   payment_id[0] != '\0' ? payment_id : NULL, now);
}

static int transfer_tx(fg_db_t *db, void *arg)
{
    sepay_t *a = arg;
    int64_t now = fg_now_ms(), order_id = 0;
    char payment_id[FG_ID_CAP] = "";
    int rc = transfer_start(db, a, now, &order_id);
    if (rc == 0 && order_id != 0)
        rc = fg_transfer_pay_order(db, a->cfg, a->in, order_id, a->t->amount, a->txn_id, a->event_id, &a->outcome,
                                   &a->reason, payment_id);
    /* one that credits nothing is not the feed's money: not in bank_transfers */
    return rc != 0 || a->no_credit != NULL ? rc : transfer_finish(db, a, now, payment_id);
}

/* Transfers taken together, set-wise: the orders their memos name found in
 * one statement; a transfer going out, or naming no order, recorded (its
 * rows wait for COMMIT); those that pay an order paid as one set
 * (fg_transfer_pay_orders: one lock of the orders' pending payments, one
 * INSERT of the missing ones, then one locking read and one update per
 * table); every transfer recorded in one statement.  Two that pay one
 * order, or any that is not cleanly applied, fail the set: each then runs
 * alone (transfer_tx), with its own answer. */
typedef struct {
    const fg_config_t *cfg;
    sepay_t **members; /* NULL: not in the set */
    int n;
    fg_transfer_pay_t *pays;
    int *paying; /* members' indexes, in pays' order */
} transfer_set_t;

static int transfer_set_tx(fg_db_t *db, void *arg)
{
    transfer_set_t *r = arg;
    int64_t now = fg_now_ms();
    fg_buf_t transfers = FG_BUF_INIT;
    const char **memos = fg_calloc((size_t)r->n, sizeof(*memos));
    int64_t *orders = fg_calloc((size_t)r->n, sizeof(*orders));
    for (int i = 0; i < r->n; i++)
        memos[i] = r->members[i] != NULL && r->members[i]->no_credit == NULL ? r->members[i]->t->content : NULL;
    int paying = 0, rc = orders_named(db, memos, r->n, now, orders);
    for (int i = 0; i < r->n; i++)
        if (r->members[i] != NULL)
            r->members[i]->order_id = orders[i];
    free(memos);
    free(orders);
    for (int i = 0; rc == 0 && i < r->n; i++) {
        sepay_t *a = r->members[i];
        if (a == NULL)
            continue;
        a->outcome = FG_ACK_APPLIED;
        a->reason = NULL;
        if ((a->reason = a->no_credit) != NULL) {
            a->inbox_status = "applied";
            rc = record(db, a, a->event_id);
        } else if (a->order_id == 0) {
            rc = receipt(db, a, now);
        } else {
            for (int j = 0; j < paying; j++)
                if (r->pays[j].order_id == a->order_id)
                    rc = FG_ESTATE; /* one order paid twice in a set: each alone, in turn */
            r->pays[paying] = (fg_transfer_pay_t){.in = *a->in,
                                                  .order_id = a->order_id,
                                                  .amount = a->t->amount,
                                                  .txn_id = a->txn_id,
                                                  .event_id = a->event_id};
            r->paying[paying++] = i;
        }
    }
    if (rc == 0 && paying > 0)
        rc = fg_transfer_pay_orders(db, r->cfg, r->pays, paying);
    /* every transfer once: one statement finds out whether a statement line applied one first */
    for (int i = 0; rc == 0 && i < r->n; i++) {
        sepay_t *a = r->members[i];
        if (a == NULL || a->no_credit != NULL)
            continue; /* credits nothing: not the feed's money (transfer_tx) */
        int64_t row = 0;
        for (int j = 0; j < paying; j++)
            if (r->paying[j] == i)
                row = r->pays[j].payment_row;
        char buf[32];
        const char *ref = transfer_ref(a, buf);
        fg_bank_transfers_add(&transfers, a->t->account_number, strlen(a->t->account_number), ref, strlen(ref), row,
                              a->t->amount);
    }
    if (rc == 0)
        rc = fg_bank_transfers_record(db, &transfers, "feed", now);
    fg_buf_free(&transfers);
    return rc;
}

/* Group commit of transfers, as for other notifications (webhook.c). */
static fg_db_group_t transfer_group = FG_DB_GROUP_INIT("sepay.transfers", 4, 8);

/* Authorizes and reads a transfer; one refused is recorded.  0 when it is
 * to be applied. */
static int sepay_check(fg_db_t *db, sepay_t *a, fg_sepay_transfer_t *t, const char *authorization)
{
    char reason[200] = "";
    if (!fg_sepay_authorized(a->cfg->sepay_api_key, authorization)) {
        a->outcome = FG_ACK_FORGED;
        a->reason = "Authorization is not Apikey <sepay.api_key>";
        record_alone(db, a, "rejected");
        return -1;
    }
    if (fg_sepay_parse(a->in->body, a->in->body_len, t, reason, sizeof(reason)) != 0) {
        a->outcome = FG_ACK_MALFORMED;
        a->reason = reason;
        record_alone(db, a, "failed");
        a->reason = NULL; /* reason is gone with this frame */
        return -1;
    }
    snprintf(a->txn_id, sizeof(a->txn_id), "sepay:%lld", (long long)t->id);
    snprintf(a->event_id, sizeof(a->event_id), "%s", a->txn_id);
    a->no_credit = no_credit(a);
    return 0;
}

/* What a transfer's transaction (rc) leaves to do. */
static int sepay_conclude(fg_db_t *db, sepay_t *a, int rc)
{
    if (rc == 0)
        return 0; /* applied, recorded as unapplied money, or recorded with no effect */
    if (rc == FG_ECONFLICT) {
        a->outcome = FG_ACK_DUPLICATE;
        a->reason = "duplicate delivery";
        record_alone(db, a, "duplicate");
        return 0;
    }
    a->outcome = FG_ACK_ERROR; /* SePay retries */
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, "bank-feed transfer not applied");
    fg_log_str(&l, "event", a->event_id);
    fg_log_str(&l, "error", fg_db_error(db));
    fg_log_end(&l);
    return rc;
}

int fg_sepay_receive(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, const char *authorization,
                     fg_ack_t *outcome)
{
    fg_sepay_transfer_t t;
    sepay_t a = {.cfg = cfg, .in = in, .t = &t};
    int rc = 0;
    if (sepay_check(db, &a, &t, authorization) == 0)
        rc = sepay_conclude(db, &a, fg_db_group_tx(&transfer_group, db, transfer_tx, &a));
    *outcome = a.outcome;
    return rc;
}

void fg_sepay_receive_many(fg_db_t *db, const fg_config_t *cfg, fg_sepay_item_t *items, int n)
{
    sepay_t *a = fg_calloc((size_t)n, sizeof(*a));
    fg_sepay_transfer_t *t = fg_calloc((size_t)n, sizeof(*t));
    int *valid = fg_calloc((size_t)n, sizeof(*valid)), count = 0;
    for (int i = 0; i < n; i++) {
        a[i] = (sepay_t){.cfg = cfg, .in = &items[i].in, .t = &t[i]};
        valid[i] = sepay_check(db, &a[i], &t[i], items[i].authorization) == 0;
        /* the same transfer twice among them: the second runs alone, after */
        for (int j = 0; j < i && valid[i]; j++)
            if (valid[j] && strcmp(a[j].event_id, a[i].event_id) == 0)
                valid[i] = 2;
        count += valid[i] == 1;
    }
    /* One set-wise transaction for them all (transfer_set_tx); if it fails
     * for any reason (a transfer delivered before, or applied by a statement
     * line first; two paying one order; a deadlock past the retries), each
     * runs alone with its own answer, as fg_sepay_receive. */
    int rc = FG_ERETRY, unknown = 0;
    if (count > 1) {
        sepay_t **members = fg_calloc((size_t)n, sizeof(*members)); /* the first of each transfer */
        for (int i = 0; i < n; i++)
            members[i] = valid[i] == 1 ? &a[i] : NULL;
        transfer_set_t set = {cfg, members, n, fg_calloc((size_t)n, sizeof(fg_transfer_pay_t)),
                              fg_calloc((size_t)n, sizeof(int))};
        rc = fg_db_group_tx_set(&transfer_group, db, transfer_set_tx, &set, count);
        unknown = rc != 0 && fg_db_commit_unknown(db); /* they may be in: answered so, not run again */
        free(set.pays);
        free(set.paying);
        free(members);
    }
    for (int i = 0; i < n; i++) {
        if (valid[i] == 1 && unknown)
            (void)sepay_conclude(db, &a[i], FG_EUNAVAILABLE); /* SePay delivers it again */
        else if (valid[i] == 2 || (valid[i] == 1 && rc != 0))
            (void)sepay_conclude(db, &a[i], fg_db_group_tx(&transfer_group, db, transfer_tx, &a[i]));
        items[i].outcome = a[i].outcome;
    }
    free(a);
    free(t);
    free(valid);
}
