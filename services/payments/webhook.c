/*
 * webhook.c - the inbound notification pipeline shared by every adapter.
 *
 * 1. The adapter verifies the signature (constant time) and parses.
 * 2. A verified notification is applied in ONE transaction that first inserts
 *    its webhook_inbox row under the unique key (adapter, provider event id):
 *    a duplicate, sequential or concurrent, on one instance or several, hits
 *    that key, rolls back, and gets the same acknowledgement.
 * 3. Everything else is recorded in webhook_inbox on its own, with the
 *    reason: what did not verify (forged, stale, unreadable) as rejected,
 *    what verified but could not be applied (unknown payment) as failed,
 *    duplicate deliveries as duplicate.
 */
#include "payments/payments_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/json.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "core/text.h"
#include "db/group.h"
#include "ledger/ledger.h"
#include "orders/orders_internal.h"
#include "receipts/receipts.h"
#include "reminders/reminders.h"

/* Stored bodies and queries are cut here; the payload is evidence, not data. */
#define INBOX_BODY_MAX (256 * 1024)
/* The query and headers columns are TEXT: 65,535 bytes. */
#define INBOX_TEXT_MAX 65535

/* len cut to at most max bytes, back to the start of a UTF-8 sequence, so a
 * long query or header block (a signed IPN padded with names outside the
 * signature) is stored cut, never refused by the column. */
static size_t text_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* The inbox is append-only once its transaction commits; a deferring
 * transaction (a group commit) queues its rows (db.h). */
static fg_db_table_t INBOX =
    FG_DB_TABLE("INSERT INTO webhook_inbox (adapter, provider_event_id, status, reason, method, query, headers, body, "
                "response_status, response_body, received_at) VALUES ",
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 11, 0, 10);
static const char SQL_INBOX_STATUS[] =
    "UPDATE webhook_inbox SET status = ?, reason = ?, response_status = ?, response_body = ? WHERE id = ?";
static const char SQL_PAYMENT_FAIL[] =
    "UPDATE payments SET status = 'failed', provider_txn_id = ?, failure_reason = 'provider reported failure', "
    "provider_payload = ?, updated_at = ? WHERE id = ? AND status = 'pending'";
static const char SQL_PAYMENT_SUCCEED[] =
    "UPDATE payments SET status = 'succeeded', provider_txn_id = ?, amount_received = ?, amount_applied = ?, "
    "amount_unapplied = ?, provider_payload = ?, updated_at = ?, receipt_id = ? WHERE id = ? AND status <> 'succeeded'";
static const char SQL_ORDER_PAID[] =
    "UPDATE orders SET amount_paid = ?, status = ?, updated_at = ? WHERE id = ? AND amount_paid = ?";
/* The same three updates for a set's rows, one statement each, driven by a
 * JSON array of the rows' values (one parameter); each row's guard is the
 * single-row form's, and every row must change.  Each flips the rows'
 * derived_rows: the set writes their change-feed and owed-sum rows itself,
 * from the rows in hand, as multi-row INSERTs at COMMIT (set_derived; the
 * update triggers write nothing, schema/0032_derived_rows.sql). */
static const char SQL_SET_ORDERS_PAID[] =
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$[0]', paid BIGINT PATH '$[1]', prev BIGINT PATH "
    "'$[2]', now BIGINT PATH '$[3]', st VARCHAR(16) PATH '$[4]')) j STRAIGHT_JOIN orders o ON o.id = j.id SET "
    "o.amount_paid = j.paid, o.status = j.st, o.updated_at = j.now, o.derived_rows = o.derived_rows ^ 1 WHERE "
    "o.amount_paid = j.prev";
static const char SQL_SET_PAYMENTS_SUCCEED[] =
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$[0]', now BIGINT PATH '$[1]', txn VARCHAR(64) "
    "PATH '$[2]', raw MEDIUMTEXT PATH '$[3]', received BIGINT PATH '$[4]', applied BIGINT PATH '$[5]', unapplied "
    "BIGINT PATH '$[6]', receipt VARCHAR(40) PATH '$[7]')) j STRAIGHT_JOIN payments p ON p.id = j.id SET p.status = "
    "'succeeded', p.provider_txn_id = NULLIF(j.txn, ''), p.amount_received = j.received, p.amount_applied = "
    "j.applied, p.amount_unapplied = j.unapplied, p.provider_payload = j.raw, p.updated_at = j.now, p.receipt_id = "
    "NULLIF(j.receipt, ''), p.derived_rows = p.derived_rows ^ 1 WHERE p.status <> 'succeeded'";
static const char SQL_SET_PAYMENTS_FAIL[] =
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$[0]', now BIGINT PATH '$[1]', txn VARCHAR(64) "
    "PATH '$[2]', raw MEDIUMTEXT PATH '$[3]')) j STRAIGHT_JOIN payments p ON p.id = j.id SET p.status = 'failed', "
    "p.provider_txn_id = NULLIF(j.txn, ''), p.failure_reason = 'provider reported failure', p.provider_payload = "
    "j.raw, p.updated_at = j.now, p.derived_rows = p.derived_rows ^ 1 WHERE p.status = 'pending'";
/* One such statement carries at most this many bytes of JSON (payloads are
 * evidence of any size up to the inbox's cut): larger sets are sent in parts. */
#define SET_UPDATE_JSON_MAX (4 * 1024 * 1024)

typedef struct set set_t;

typedef struct {
    const fg_config_t *cfg;
    const fg_inbound_t *in; /* the notification as received */
    const fg_adapter_t *adapter;
    const fg_notification_t *n;
    fg_ack_t outcome;
    const char *reason;
    const char *inbox_status; /* the row's final status */
    int64_t inbox_id;         /* the row, when inserted first (not deferring) */
    int receipt;              /* a second transaction on a succeeded payment, posted as unapplied money */
    char reason_text[200];
    /* applied in a set (fg_webhook_receive_many); all zero when alone */
    set_t *set;
    int preloaded; /* the set locked this member's rows (found or not) and takes its updates */
    int found;
    int recorded; /* its inbox row, "failed" included, is in the set's transaction */
    fg_payment_row_t pre_p;
    fg_order_row_t pre_o;
    char receipt_id[FG_RECEIPT_ID_MAX + 1]; /* the payment's receipt, kept for the set's update */
} apply_t;

/* The updates a set's members leave to one statement each (fg_db_bulk): an
 * order's amount paid, a payment succeeded, a payment failed. */
typedef struct {
    int64_t id, paid, prev, now;
    const char *status;
    const fg_order_row_t *row; /* the member's order, as written */
    fg_order_status_t was;     /* its stored status before */
    int64_t merchant_id;
    const char *merchant_public_id;
} order_update_t;
typedef struct {
    int64_t id, received, applied, unapplied, now;
    const char *txn, *payload, *receipt;
    size_t payload_len;
    const fg_payment_row_t *row; /* the member's payment, as locked (before the update) */
} payment_update_t;

struct set {
    apply_t *members;
    int count;
    order_update_t *orders;
    payment_update_t *succeeded, *failed;
    int n_orders, n_succeeded, n_failed;
};

/* Headers whose values are credentials; an authorization's first word is its scheme. */
static const struct {
    const char *name;
    int scheme;
} SECRET_HEADERS[] = {{"authorization", 1}, {"proxy-authorization", 1}, {"cookie", 0}, {"x-api-key", 0}};

void fg_inbox_headers(const char *headers, size_t len, fg_buf_t *out)
{
    const char *at = headers, *end = headers != NULL ? headers + len : NULL;
    while (at != NULL && at < end) {
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        const char *stop = nl != NULL ? nl : end;
        const char *colon = memchr(at, ':', (size_t)(stop - at));
        int secret = -1;
        for (size_t i = 0; colon != NULL && i < sizeof(SECRET_HEADERS) / sizeof(SECRET_HEADERS[0]); i++)
            if ((size_t)(colon - at) == strlen(SECRET_HEADERS[i].name) &&
                strncasecmp(at, SECRET_HEADERS[i].name, (size_t)(colon - at)) == 0)
                secret = SECRET_HEADERS[i].scheme;
        if (secret < 0) {
            fg_buf_append(out, at, (size_t)(stop - at));
        } else {
            const char *v = colon + 1, *word;
            while (v < stop && (*v == ' ' || *v == '\t'))
                v++;
            word = v;
            while (secret && word < stop && *word != ' ' && *word != '\t')
                word++;
            fg_buf_append(out, at, (size_t)(colon + 1 - at));
            fg_buf_putc(out, ' ');
            if (secret && word < stop && word > v) { /* "Scheme credentials": keep the scheme */
                fg_buf_append(out, v, (size_t)(word - v));
                fg_buf_putc(out, ' ');
            }
            fg_buf_puts(out, "***");
        }
        if (nl != NULL)
            fg_buf_putc(out, '\n');
        at = stop + 1;
    }
}

/* What a payment keeps as provider_payload: what the signature covered, the
 * query of an adapter that signs it (VNPay's IPN, also when it comes as a
 * POST, whose body nobody signed), else the body. */
static void payload(const fg_adapter_t *adapter, const fg_inbound_t *in, const char **data, size_t *len)
{
    if (adapter->signed_query || in->body == NULL || in->body_len == 0) {
        *data = in->query != NULL ? in->query : "";
        *len = in->query != NULL ? in->query_len : 0;
    } else {
        *data = in->body;
        *len = in->body_len;
    }
}

int fg_inbox_insert(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, const fg_adapter_t *adapter,
                    fg_ack_t outcome, const char *event_id, const char *status, const char *reason, int64_t *id)
{
    size_t text_max = INBOX_TEXT_MAX, body_max = INBOX_BODY_MAX;
    if (strcmp(status, "rejected") == 0 && (size_t)cfg->webhooks_inbox_rejected_bytes < text_max)
        text_max = body_max = (size_t)cfg->webhooks_inbox_rejected_bytes;
    int http_status;
    fg_buf_t ack = FG_BUF_INIT, headers = FG_BUF_INIT;
    const char *type;
    adapter->ack(outcome, &http_status, &ack, &type);
    fg_inbox_headers(in->headers, in->headers_len, &headers);
    fg_db_value_t v[] = {
        fg_db_cstr(adapter->name),
        fg_db_cstr(event_id),
        fg_db_cstr(status),
        fg_db_cstr(reason),
        fg_db_cstr(in->method),
        in->query != NULL ? FG_DB_STR(in->query, text_cut(in->query, in->query_len, text_max)) : FG_DB_NULLV,
        FG_DB_STR(headers.data != NULL ? headers.data : "", text_cut(headers.data, headers.len, text_max)),
        FG_DB_BLOB(in->body != NULL ? in->body : "", in->body_len < body_max ? in->body_len : body_max),
        FG_DB_INT(http_status),
        FG_DB_STR(ack.data != NULL ? ack.data : "", ack.len),
        FG_DB_INT(fg_now_ms()),
    };
    int rc = fg_db_insert(db, &INBOX, v, 1, id);
    fg_buf_free(&ack);
    fg_buf_free(&headers);
    return rc;
}

/* ---- retention of rejected rows ---------------------------------------- */

static const char SQL_INBOX_PRUNE[] =
    "DELETE FROM webhook_inbox WHERE received_at < ? AND status = 'rejected' ORDER BY received_at LIMIT ?";

int fg_inbox_prune(fg_db_t *db, const fg_config_t *cfg, int64_t now_ms, int batch)
{
    if (cfg->webhooks_inbox_rejected_days == 0)
        return 0;
    int64_t args[] = {now_ms - cfg->webhooks_inbox_rejected_days * 86400000LL, batch};
    return fg_db_prune(db, SQL_INBOX_PRUNE, args, 2);
}

/* The inbox row of a notification applied in this transaction, once its
 * outcome is known: queued now when deferring, else the row inserted first
 * brought up to date. */
static int record_outcome(fg_db_t *db, apply_t *a)
{
    if (fg_db_deferring(db))
        return fg_inbox_insert(db, a->cfg, a->in, a->adapter, a->outcome, a->n->event_id, a->inbox_status, a->reason,
                               NULL);
    if (a->outcome == FG_ACK_APPLIED && strcmp(a->inbox_status, "applied") == 0 && a->reason == NULL)
        return 0; /* as inserted */
    int http_status;
    const char *type;
    fg_buf_t ack = FG_BUF_INIT;
    fg_stmt_t s;
    a->adapter->ack(a->outcome, &http_status, &ack, &type);
    int rc = fg_stmt_init(&s, db, SQL_INBOX_STATUS);
    if (rc == 0) {
        fg_stmt_cstr(&s, a->inbox_status);
        fg_stmt_cstr(&s, a->reason);
        fg_stmt_int(&s, http_status);
        fg_stmt_str(&s, ack.data != NULL ? ack.data : "", ack.len);
        fg_stmt_int(&s, a->inbox_id);
        rc = fg_stmt_exec(&s);
    }
    fg_buf_free(&ack);
    return rc;
}

typedef struct {
    apply_t *a;
    const char *status;
} record_arg_t;

static int record_tx(fg_db_t *db, void *arg)
{
    record_arg_t *r = arg;
    return fg_inbox_insert(db, r->a->cfg, r->a->in, r->a->adapter, r->a->outcome, NULL, r->status, r->a->reason, NULL);
}

/* Records a notification that has no effect, in its own transaction. */
static void record_alone(fg_db_t *db, apply_t *a, const char *status)
{
    record_arg_t r = {a, status};
    int rc = fg_db_tx(db, record_tx, &r);
    if (rc != 0) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_ERROR, "cannot record inbound webhook");
        fg_log_str(&l, "adapter", a->adapter->name);
        fg_log_str(&l, "error", fg_db_error(db));
        fg_log_end(&l);
    }
}

/* The outbox events of a settled payment, built from the rows in hand (the
 * payment as locked, with what this transaction wrote over it; the order as
 * updated, or NULL when nothing was applied to it): no reloads.  status and
 * provider_txn_id (empty = NULL) are the payment's new values. */
static int post_events(fg_db_t *db, const char *base_url, const fg_payment_row_t *locked, fg_payment_status_t status,
                       const char *provider_txn_id, int64_t received, int64_t applied, int64_t unapplied,
                       const fg_order_row_t *order, const char *receipt_id, int64_t now)
{
    fg_payment_row_t p = *locked; /* borrows the locked row's buffers but this one */
    fg_buf_t body = FG_BUF_INIT;

    p.provider_txn_id = (fg_buf_t)FG_BUF_INIT;
    p.receipt_id = (fg_buf_t)FG_BUF_INIT;
    if (receipt_id != NULL) {
        /* payment.succeeded names the receipt, and its receipt_url where the payer reads it */
        fg_buf_puts(&p.receipt_id, receipt_id);
        p.receipt_null = 0;
    }
    p.status = status;
    fg_buf_puts(&p.provider_txn_id, provider_txn_id);
    p.provider_txn_null = provider_txn_id[0] == '\0';
    if (received > 0) {
        p.amount_received = received;
        p.received_null = 0;
        p.amount_applied = applied;
        p.amount_unapplied = unapplied;
    }
    p.updated_at = now;
    fg_payment_json(&body, &p, base_url, NULL);
    int rc = fg_event_insert(db, (uint64_t)p.merchant_id,
                             status == FG_PAYMENT_SUCCEEDED ? "payment.succeeded" : "payment.failed", p.order_id, &body,
                             now);
    if (rc == 0 && order != NULL) {
        fg_buf_reset(&body);
        fg_order_json(&body, order, p.merchant_public_id.data, base_url, now);
        rc = fg_event_insert(db, (uint64_t)p.merchant_id,
                             order->status == FG_ORDER_PAID ? "order.paid" : "order.partially_paid", p.order_id, &body,
                             now);
    }
    fg_buf_free(&p.provider_txn_id);
    fg_buf_free(&p.receipt_id);
    fg_buf_free(&body);
    return rc;
}

/* A set's member queues its payment's update (the row is locked and in hand). */
static void queue_payment_update(apply_t *a, payment_update_t *u, const fg_payment_row_t *p, int64_t now)
{
    memset(u, 0, sizeof(*u));
    u->id = p->id;
    u->row = p;
    u->now = now;
    u->txn = a->n->provider_txn_id; /* "" is NULL (NULLIF) */
    payload(a->adapter, a->in, &u->payload, &u->payload_len);
}

static int apply_failure(fg_db_t *db, apply_t *a, const fg_payment_row_t *p, int64_t now)
{
    int rc = 0, changed;
    if (a->preloaded) {
        changed = p->status == FG_PAYMENT_PENDING;
        if (changed)
            queue_payment_update(a, &a->set->failed[a->set->n_failed++], p, now);
    } else {
        fg_stmt_t s;
        const char *raw;
        size_t raw_len;
        payload(a->adapter, a->in, &raw, &raw_len);
        if ((rc = fg_stmt_init(&s, db, SQL_PAYMENT_FAIL)) != 0)
            return rc;
        /* a failed transaction may have no provider number: NULL keeps the unique key free */
        fg_stmt_cstr(&s, a->n->provider_txn_id[0] != '\0' ? a->n->provider_txn_id : NULL);
        fg_stmt_str(&s, raw, raw_len);
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, p->id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        changed = fg_stmt_affected(&s) != 0;
    }
    if (!changed) {
        a->reason = "payment is no longer pending: no effect";
        return 1;
    }
    /* The order's row is locked with the payment (apply_tx): every
     * transaction that writes an order's events holds it, so one order's
     * events commit in the order of their ids and reach webhooks in order. */
    return post_events(db, a->cfg->public_base_url, p, FG_PAYMENT_FAILED, a->n->provider_txn_id, 0, 0, 0, NULL, NULL,
                       now);
}

/* Applies what the order (locked, as loaded) can take of received and
 * brings the row in hand up to date. */
static int settle_order(fg_db_t *db, set_t *set, const fg_payment_row_t *p, fg_order_row_t *order, int64_t received,
                        int64_t now, int64_t *applied, int64_t *unapplied)
{
    fg_stmt_t s;
    fg_order_status_t status = fg_order_effective_status(order->status, !order->expires_at_null, order->expires_at,
                                                         now);
    fg_payment_split(status, (int)order->allow_partial, order->amount, order->amount_paid, received, applied,
                     unapplied);
    if (*applied == 0)
        return 0;
    int64_t paid = order->amount_paid + *applied;               /* <= amount: no overflow */
    assert(paid > order->amount_paid && paid <= order->amount); /* 0 <= amount_paid <= amount */
    fg_order_status_t next = paid == order->amount ? FG_ORDER_PAID : FG_ORDER_PARTIALLY_PAID;
    if (set != NULL) { /* the set's one update of its orders; the row is locked */
        set->orders[set->n_orders++] = (order_update_t){
            order->id,     paid,           order->amount_paid,        now, fg_order_status_name(next), order,
            order->status, p->merchant_id, p->merchant_public_id.data};
        order->amount_paid = paid;
        order->status = next;
        order->updated_at = now;
        return 0;
    }
    int rc = fg_stmt_init(&s, db, SQL_ORDER_PAID);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, paid);
    fg_stmt_cstr(&s, fg_order_status_name(next));
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, order->id);
    fg_stmt_int(&s, order->amount_paid);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (fg_stmt_affected(&s) != 1)
        return FG_ERETRY; /* cannot happen under the row lock; re-run rather than guess */
    order->amount_paid = paid;
    order->status = next;
    order->updated_at = now;
    return 0;
}

/* The notification's money kept as unapplied money for staff: a "receipt"
 * journal without a payment (Dr the adapter's clearing, Cr unapplied), named
 * in the inbox row's reason after why. */
static int post_unapplied(fg_db_t *db, apply_t *a, const char *currency, const char *memo, const char *why, int64_t now)
{
    char clearing[FG_ACCOUNT_CODE_MAX + 1], journal[FG_ID_CAP];
    snprintf(clearing, sizeof(clearing), "assets:clearing:%s", a->adapter->name);
    fg_journal_t j = {.kind = "receipt", .memo = memo};
    fg_journal_add(&j, clearing, 0, currency, a->n->amount);
    fg_journal_add(&j, "liabilities:unapplied", 0, currency, -a->n->amount);
    int rc = fg_ledger_post(db, &j, now, journal);
    if (rc != 0)
        return rc;
    snprintf(a->reason_text, sizeof(a->reason_text), "%s: recorded as unapplied money, journal %s", why, journal);
    a->reason = a->reason_text;
    return 0;
}

/* A second provider transaction on a payment that already succeeded: the
 * money was received twice.  It is kept as unapplied money (the payment
 * keeps its one posting), the inbox row stays applied with the journal
 * named, and the provider gets its success acknowledgement. */
static int apply_receipt(fg_db_t *db, apply_t *a, const fg_payment_row_t *p, int64_t now)
{
    char memo[256];
    snprintf(memo, sizeof(memo), "%s: another %s transaction %.64s after %.64s", p->public_id.data, a->adapter->name,
             a->n->provider_txn_id, p->provider_txn_id.data);
    int rc = post_unapplied(db, a, p->currency.data, memo, "second provider transaction on a succeeded payment", now);
    a->receipt = rc == 0;
    return rc;
}

/* A verified success that names no payment of this adapter (ours lost, or
 * another's sharing the merchant credentials): the provider says it took
 * the money, so it is kept as unapplied money (DESIGN §6), once under the
 * notification's event id; the provider is still told the payment is
 * unknown.  The gateways carry VND only. */
static int apply_stray(fg_db_t *db, apply_t *a, int64_t now)
{
    char memo[256];
    snprintf(memo, sizeof(memo), "%s transaction %.64s for %.47s, no such payment of ours", a->adapter->name,
             a->n->provider_txn_id, a->n->payment_id);
    int rc = post_unapplied(db, a, "VND", memo, a->reason, now);
    if (rc == 0)
        a->inbox_status = "applied";
    return rc;
}

static int apply_success(fg_db_t *db, apply_t *a, const fg_payment_row_t *p, fg_order_row_t *order, int64_t now)
{
    int64_t applied = 0, unapplied = 0;
    fg_stmt_t s;
    if (p->status == FG_PAYMENT_SUCCEEDED) {
        if (a->n->provider_txn_id[0] == '\0' || p->provider_txn_null) {
            /* nothing tells this apart from a repeat of the transaction that settled it */
            a->reason = "payment already succeeded; no distinct provider transaction";
            return 1;
        }
        if (strcmp(p->provider_txn_id.data, a->n->provider_txn_id) == 0) {
            a->reason = "payment already succeeded with this provider transaction";
            return 1;
        }
        return apply_receipt(db, a, p, now);
    }
    char *receipt_id = a->receipt_id;
    int issues = a->cfg->receipts_issue; /* receipts.issue false: a deployment without e-receipts */
    receipt_id[0] = '\0';
    int rc = issues ? fg_receipt_new_id(receipt_id) : 0;
    if (rc != 0 ||
        (rc = settle_order(db, a->preloaded ? a->set : NULL, p, order, a->n->amount, now, &applied, &unapplied)) != 0)
        return rc;
    if (a->preloaded) {
        payment_update_t *u = &a->set->succeeded[a->set->n_succeeded++];
        queue_payment_update(a, u, p, now);
        u->received = a->n->amount;
        u->applied = applied;
        u->unapplied = unapplied;
        u->receipt = receipt_id; /* "" is NULL (NULLIF) */
    } else {
        if ((rc = fg_stmt_init(&s, db, SQL_PAYMENT_SUCCEED)) != 0)
            return rc;
        /* a failed transaction may have no provider number: NULL keeps the unique key free */
        fg_stmt_cstr(&s, a->n->provider_txn_id[0] != '\0' ? a->n->provider_txn_id : NULL);
        fg_stmt_int(&s, a->n->amount);
        fg_stmt_int(&s, applied);
        fg_stmt_int(&s, unapplied);
        const char *raw;
        size_t raw_len;
        payload(a->adapter, a->in, &raw, &raw_len);
        fg_stmt_str(&s, raw, raw_len);
        fg_stmt_int(&s, now);
        fg_stmt_cstr(&s, issues ? receipt_id : NULL);
        fg_stmt_int(&s, p->id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
    }
    fg_journal_t j = {.kind = "payment", .payment_id = p->id, .memo = p->public_id.data};
    char clearing[FG_ACCOUNT_CODE_MAX + 1], merchant[FG_ACCOUNT_CODE_MAX + 1];
    snprintf(clearing, sizeof(clearing), "assets:clearing:%s", a->adapter->name);
    snprintf(merchant, sizeof(merchant), "liabilities:merchant:%s", p->merchant_public_id.data);
    fg_journal_add(&j, clearing, 0, p->currency.data, a->n->amount);
    fg_journal_add(&j, merchant, (uint64_t)p->merchant_id, p->currency.data, -applied);
    fg_journal_add(&j, "liabilities:unapplied", 0, p->currency.data, -unapplied);
    if ((rc = fg_ledger_post(db, &j, now, NULL)) != 0)
        return rc;
    /* The receipt: money received is receipted whatever the order could take
     * of it, unapplied money too (it was collected; a refund later adjusts
     * the receipt).  Queued here, numbered by the issuer after COMMIT
     * (docs/RECEIPTS.md): the payment takes no series lock, and a used-up
     * series no longer holds the money. */
    fg_receipt_issue_t ri = {
        .payment_id = p->id,
        .order_id = order->id,
        .merchant_id = p->merchant_id,
        .payment_public_id = p->public_id.data,
        .order_public_id = p->order_public_id.data,
        .merchant_public_id = p->merchant_public_id.data,
        .payer_name = order->payer_name_null ? NULL : order->payer_name.data,
        .payer_ref = order->payer_ref_null ? NULL : order->payer_ref.data,
        .bill_ref = order->merchant_ref.data,
        .fee_type = order->fee_type.data,
        .description = order->description_null ? NULL : order->description.data,
        .amount = a->n->amount,
        .currency = p->currency.data,
        .method = a->adapter->name,
        .provider_ref = a->n->provider_txn_id[0] != '\0' ? a->n->provider_txn_id : NULL,
        .paid_at_ms = now,
    };
    if (!issues)
        return post_events(db, a->cfg->public_base_url, p, FG_PAYMENT_SUCCEEDED, a->n->provider_txn_id, a->n->amount,
                           applied, unapplied, applied > 0 ? order : NULL, NULL, now);
    /* numbered by the issuer (receipts/issuer.c) after COMMIT, in batches: the payment names its id now */
    if ((rc = fg_receipt_queue(db, receipt_id, &ri)) != 0)
        return rc;
    fg_receipts_wake(); /* before COMMIT: the issuer keeps looking for a few seconds */
    /* the payer's copy by e-mail, when they gave an address: queued in this transaction */
    if ((rc = fg_reminder_queue_receipt(db, a->cfg, (uint64_t)p->merchant_id, order->id, receipt_id,
                                        order->payer_email_null ? NULL : order->payer_email.data, now)) != 0)
        return rc;
    return post_events(db, a->cfg->public_base_url, p, FG_PAYMENT_SUCCEEDED, a->n->provider_txn_id, a->n->amount,
                       applied, unapplied, applied > 0 ? order : NULL, receipt_id, now);
}

static int apply_tx(fg_db_t *db, void *arg)
{
    apply_t *a = arg;
    fg_payment_row_t own_p;
    fg_order_row_t own_order;
    fg_payment_row_t *p = a->preloaded ? &a->pre_p : &own_p;
    fg_order_row_t *order = a->preloaded ? &a->pre_o : &own_order;
    int64_t now = fg_now_ms();
    memset(&own_p, 0, sizeof(own_p));
    fg_order_row_init(&own_order);
    a->outcome = FG_ACK_APPLIED;
    a->reason = NULL;
    a->inbox_status = "applied";
    a->receipt = 0;
    a->inbox_id = 0;
    a->recorded = 0;
    /* Not deferring, the row goes first: a concurrent duplicate waits on its
     * unique key and fails here.  Deferring, a duplicate fails at COMMIT and
     * the group runs each member alone (db/group.h), so through this path. */
    int rc = fg_db_deferring(db) ? 0
                                 : fg_inbox_insert(db, a->cfg, a->in, a->adapter, a->outcome, a->n->event_id, "applied",
                                                   NULL, &a->inbox_id);
    if (rc == FG_ECONFLICT) {
        a->outcome = FG_ACK_DUPLICATE;
        return rc;
    }
    if (rc != 0)
        return rc;
    if (a->preloaded)
        rc = a->found ? 0 : FG_ENOTFOUND;
    else
        rc = fg_payment_lock_with_order(db, a->n->payment_id, p, order);
    if (rc == FG_ENOTFOUND || (rc == 0 && strcmp(p->adapter.data, a->adapter->name) != 0)) {
        a->outcome = FG_ACK_NOT_FOUND;
        a->reason = rc == FG_ENOTFOUND ? "no such payment" : "the payment belongs to another adapter";
        rc = a->n->status == FG_NOTIFY_SUCCEEDED && a->n->amount > 0 ? apply_stray(db, a, now) : 1;
    } else if (rc == 0 && a->n->status == FG_NOTIFY_SUCCEEDED) {
        rc = apply_success(db, a, p, order, now);
        if (rc == 0 && !a->receipt && a->adapter->amount_must_match && a->n->amount != p->amount) {
            /* the money exists and was applied (split as usual); the provider is told the amount is wrong */
            a->outcome = FG_ACK_BAD_AMOUNT;
            a->reason = "amount differs from the payment's: applied, acknowledged as invalid amount";
        }
    } else if (rc == 0 && a->n->status == FG_NOTIFY_FAILED) {
        rc = apply_failure(db, a, p, now);
    }
    if (rc == 1 && a->outcome == FG_ACK_APPLIED) {
        /* verified and recorded, but no effect: keep the row, say why */
        a->outcome = FG_ACK_DUPLICATE;
        a->inbox_status = "duplicate";
        rc = record_outcome(db, a);
    } else if (rc == 1 && a->set != NULL) {
        /* in a set, not applicable (no such payment): its "failed" row is
         * the set's too, without the event id (as recorded alone), and the
         * others go on */
        a->inbox_status = "failed";
        a->recorded = 1;
        rc = fg_inbox_insert(db, a->cfg, a->in, a->adapter, a->outcome, NULL, "failed", a->reason, NULL);
    } else if (rc == 0) {
        rc = record_outcome(db, a);
    }
    fg_payment_row_free(&own_p);
    fg_order_row_free(&own_order);
    return rc;
}

/* Group commit of notifications (db/group.h): a member's duplicate or any
 * failure sends every member of the group back to run alone. */
#define APPLY_GROUP_LEADERS 4
#define APPLY_GROUP_MEMBERS 8
static fg_db_group_t apply_group = FG_DB_GROUP_INIT("notifications", APPLY_GROUP_LEADERS, APPLY_GROUP_MEMBERS);

/* Verifies a notification; one that does not verify is recorded (rejected)
 * and answered.  Returns 0 when verified. */
static int verify(fg_db_t *db, apply_t *a, fg_notification_t *n)
{
    char reason[200] = "";
    int rc = a->adapter->verify(a->cfg, a->in, fg_now_ms(), n, reason, sizeof(reason));
    if (rc == 0)
        return 0;
    /* a signed notice whose amount cannot be read is told so (VNPay 04), not "invalid request" */
    a->outcome = rc == FG_EINVALID ? FG_ACK_FORGED : rc == FG_EEXCEEDS ? FG_ACK_BAD_AMOUNT : FG_ACK_MALFORMED;
    a->reason = reason;
    /* not verified (several adapters refuse an unreadable request before
     * its signature can be checked), so anyone's: rejected, kept as a
     * bounded prefix and pruned (fg_inbox_insert, fg_inbox_prune) */
    record_alone(db, a, "rejected");
    a->reason = NULL; /* reason is gone with this frame */
    return -1;
}

/* What a verified notification's transaction (rc) leaves to do: the row of
 * one with no effect recorded on its own; the outcome of one not recorded. */
static int conclude(fg_db_t *db, apply_t *a, int rc)
{
    if (rc == 0 || (rc == 1 && a->outcome == FG_ACK_DUPLICATE)) {
        /* applied, or recorded with no effect in the same transaction */
        return 0;
    }
    if (rc == FG_ECONFLICT && a->outcome == FG_ACK_DUPLICATE) {
        a->reason = "duplicate delivery";
        record_alone(db, a, "duplicate");
        return 0;
    }
    if (rc == 1) {
        record_alone(db, a, "failed");
        return 0;
    }
    a->outcome = FG_ACK_ERROR;
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, "webhook not applied");
    fg_log_str(&l, "adapter", a->adapter->name);
    fg_log_str(&l, "error", fg_db_error(db));
    fg_log_end(&l);
    return rc;
}

int fg_webhook_receive(fg_db_t *db, const fg_config_t *cfg, const fg_adapter_t *adapter, const fg_inbound_t *in,
                       fg_ack_t *outcome)
{
    fg_notification_t n;
    apply_t a = {.cfg = cfg, .n = &n, .adapter = adapter, .in = in};
    int rc = 0;
    if (verify(db, &a, &n) == 0)
        rc = conclude(db, &a, fg_db_group_tx(&apply_group, db, apply_tx, &a));
    *outcome = a.outcome;
    return rc;
}

/* ---- several notifications in one transaction ----------------------------
 *
 * The worker that takes several notifications from the queue at once
 * (fg_webhook_receive_many) applies them as a set: one statement locks every
 * payment and order of the set (in public id order, as every set does), each
 * member runs the usual decisions on its rows in hand, and what it writes
 * goes out as one statement per kind: three array-bound UPDATEs (orders,
 * payments succeeded, payments failed) and the multi-row INSERTs of the
 * deferred rows, then one COMMIT.  Members that share an order (two payments
 * of one order, or one payment notified twice) lock and update their rows
 * themselves, in line, so each sees the other's write.  A member with no
 * effect (a payment unknown, already settled) records its row in the set and
 * the others go on; anything else that fails the set (a duplicate event
 * meeting its unique key at COMMIT, a deadlock past the retries) sends every
 * member back to run alone, as fg_webhook_receive: each answer stays its own. */

static void set_found(void *arg, int member, fg_payment_row_t *p, fg_order_row_t *order)
{
    set_t *set = arg;
    assert(member >= 0 && member < set->count);
    apply_t *a = &set->members[member];
    if (a->found) { /* cannot happen: each member is asked once */
        fg_payment_row_free(p);
        fg_order_row_free(order);
        return;
    }
    a->pre_p = *p;
    a->pre_o = *order;
    a->found = 1;
}

/* A set of n members (zeroed) and room for their updates. */
static void set_init(set_t *set, int n)
{
    *set = (set_t){.members = fg_calloc((size_t)n, sizeof(apply_t)), .count = n};
    set->orders = fg_malloc((size_t)n * sizeof(*set->orders));
    set->succeeded = fg_malloc((size_t)n * sizeof(*set->succeeded));
    set->failed = fg_malloc((size_t)n * sizeof(*set->failed));
}

static void set_free(set_t *set)
{
    free(set->members);
    free(set->orders);
    free(set->succeeded);
    free(set->failed);
}

static void set_unload(set_t *set)
{
    for (int i = 0; i < set->count; i++) {
        apply_t *a = &set->members[i];
        if (a->found) {
            fg_payment_row_free(&a->pre_p);
            fg_order_row_free(&a->pre_o);
        }
        a->found = a->preloaded = 0;
    }
    set->n_orders = set->n_succeeded = set->n_failed = 0;
}

/* Locks and loads the set's rows; members sharing an order go in line. */
static int set_load(fg_db_t *db, set_t *set, const int *in_set)
{
    const char **ids = fg_malloc((size_t)set->count * sizeof(*ids));
    for (int i = 0; i < set->count; i++)
        ids[i] = in_set[i] > 0 ? set->members[i].n->payment_id : NULL;
    int rc = fg_payment_lock_set(db, ids, set->count, set_found, set);
    free(ids);
    for (int i = 0; rc == 0 && i < set->count; i++) {
        apply_t *a = &set->members[i];
        if (in_set[i] <= 0)
            continue;
        a->preloaded = 1;
        for (int k = 0; a->found && k < set->count; k++) {
            const apply_t *b = &set->members[k];
            if (k != i && in_set[k] > 0 && b->found && b->pre_o.id == a->pre_o.id)
                a->preloaded = 0; /* a shared order: locked and updated in line */
        }
    }
    return rc;
}

/* Sends one set update for json's rows (a JSON array, closed here). */
static int set_update_send(fg_db_t *db, const char *sql, fg_buf_t *json, int rows)
{
    fg_buf_putc(json, ']');
    int rc = fg_payments_set_update(db, sql, json->data, json->len, rows);
    fg_buf_reset(json);
    return rc;
}

/* Row i of a kind of update as a JSON array (kind 0 orders, 1 payments
 * succeeded, 2 payments failed). */
static void set_update_row(fg_buf_t *json, const set_t *set, int kind, int i)
{
    if (kind == 0) {
        const order_update_t *u = &set->orders[i];
        fg_buf_printf(json, "[%lld,%lld,%lld,%lld,\"%s\"]", (long long)u->id, (long long)u->paid, (long long)u->prev,
                      (long long)u->now, u->status);
        return;
    }
    const payment_update_t *u = kind == 1 ? &set->succeeded[i] : &set->failed[i];
    fg_buf_printf(json, "[%lld,%lld,", (long long)u->id, (long long)u->now);
    fg_json_str(json, u->txn, strlen(u->txn));
    fg_buf_putc(json, ',');
    fg_json_str(json, u->payload, u->payload_len);
    if (kind == 1) {
        fg_buf_printf(json, ",%lld,%lld,%lld,", (long long)u->received, (long long)u->applied, (long long)u->unapplied);
        fg_json_str(json, u->receipt != NULL ? u->receipt : "", u->receipt != NULL ? strlen(u->receipt) : 0);
    }
    fg_buf_putc(json, ']');
}

/* A payment's snapshot after the set's update u (kind 1 succeeded, 2
 * failed), as payments_change_update's JSON_ARRAY writes it
 * (schema/0016_changes.sql). */
static void payment_change_data(fg_buf_t *b, const payment_update_t *u, int kind)
{
    const fg_payment_row_t *p = u->row;
    int succeeded = kind == 1;
    fg_buf_putc(b, '[');
    fg_json_str(b, p->adapter.data, p->adapter.len);
    fg_buf_printf(b, ",%" PRId64 ",", p->amount);
    if (succeeded)
        fg_buf_printf(b, "%" PRId64 ",%" PRId64 ",%" PRId64 ",", u->received, u->applied, u->unapplied);
    else if (p->received_null)
        fg_buf_printf(b, "null,%" PRId64 ",%" PRId64 ",", p->amount_applied, p->amount_unapplied);
    else
        fg_buf_printf(b, "%" PRId64 ",%" PRId64 ",%" PRId64 ",", p->amount_received, p->amount_applied,
                      p->amount_unapplied);
    fg_json_str(b, p->currency.data, p->currency.len);
    fg_buf_printf(b, ",%" PRId64 ",", p->amount_refunded);
    fg_json_cstr(b, succeeded ? "succeeded" : "failed");
    fg_buf_putc(b, ',');
    fg_json_strn(b, u->txn[0] != '\0' ? u->txn : NULL, strlen(u->txn)); /* NULLIF(txn, '') */
    fg_buf_putc(b, ',');
    if (succeeded)
        fg_json_strn(b,
                     p->failure_reason_null           ? NULL
                     : p->failure_reason.data != NULL ? p->failure_reason.data
                                                      : "",
                     p->failure_reason.len);
    else
        fg_json_cstr(b, "provider reported failure");
    fg_buf_printf(b, ",%" PRId64 ",%" PRId64 "]", p->created_at, u->now);
}

/* The change-feed and owed-sum rows of the set's updates (which flipped
 * their rows' derived_rows), sent at once unless the transaction writes
 * nothing more (last_write: fg_derived_send). */
static int set_derived(fg_db_t *db, const set_t *set, int last_write)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < set->n_orders; i++) {
        const order_update_t *u = &set->orders[i];
        fg_merchant_ref_t m = {(uint64_t)u->merchant_id, u->merchant_public_id};
        rc = fg_order_paid_derived(db, &m, u->row, u->was, u->prev);
    }
    fg_buf_t data = FG_BUF_INIT;
    for (int kind = 1; kind <= 2; kind++) {
        int n = kind == 1 ? set->n_succeeded : set->n_failed;
        for (int i = 0; rc == 0 && i < n; i++) {
            const payment_update_t *u = kind == 1 ? &set->succeeded[i] : &set->failed[i];
            fg_buf_reset(&data);
            payment_change_data(&data, u, kind);
            const fg_payment_row_t *p = u->row;
            fg_change_row_t c = {.entity = "payment",
                                 .entity_id = u->id,
                                 .object_id = &p->public_id,
                                 .merchant_id = p->merchant_id,
                                 .parent_id = p->order_id,
                                 .merchant_public_id = p->merchant_public_id.data,
                                 .parent_public_id = p->order_public_id.data,
                                 .op = "update",
                                 .data = &data,
                                 .at = u->now};
            rc = fg_change_row_queue(db, &c);
        }
    }
    fg_buf_free(&data);
    return rc != 0 ? rc : fg_derived_send(db, last_write);
}

/* The set's updates: one statement per kind (more for very large payloads),
 * and the change-feed and owed rows they leave to the set (last_write: the
 * transaction writes nothing after them). */
static int set_update(fg_db_t *db, const set_t *set, int last_write)
{
    static const char *const SQL[] = {SQL_SET_ORDERS_PAID, SQL_SET_PAYMENTS_SUCCEED, SQL_SET_PAYMENTS_FAIL};
    const int counts[] = {set->n_orders, set->n_succeeded, set->n_failed};
    fg_buf_t json = FG_BUF_INIT;
    int rc = 0;
    for (int kind = 0; kind < 3 && rc == 0; kind++) {
        int rows = 0;
        for (int i = 0; i < counts[kind] && rc == 0; i++) {
            fg_buf_putc(&json, rows == 0 ? '[' : ',');
            set_update_row(&json, set, kind, i);
            rows++;
            if (json.len >= SET_UPDATE_JSON_MAX || i + 1 == counts[kind]) {
                rc = set_update_send(db, SQL[kind], &json, rows);
                rows = 0;
            }
        }
    }
    fg_buf_free(&json);
    return rc != 0 ? rc : set_derived(db, set, last_write);
}

/* Which of the set's events the inbox holds already (redeliveries): one
 * round trip of unique-key probes, before the set's transaction, so that a
 * redelivery runs alone after it instead of failing the set at COMMIT. */
static const char SQL_INBOX_KNOWN[] =
    "SELECT j.i FROM JSON_TABLE(?, '$[*]' COLUMNS (i INT PATH '$[0]', a VARCHAR(32) PATH '$[1]', "
    "e VARCHAR(128) PATH '$[2]')) j STRAIGHT_JOIN webhook_inbox w ON w.adapter = j.a AND w.provider_event_id = j.e";

static int set_known_events(fg_db_t *db, const set_t *set, int *in_set)
{
    fg_buf_t json = FG_BUF_INIT;
    fg_stmt_t s;
    int64_t member = 0;
    int asked = 0, rc;
    fg_buf_putc(&json, '[');
    for (int i = 0; i < set->count; i++) {
        const apply_t *a = &set->members[i];
        if (in_set[i] <= 0 || a->n->event_id[0] == '\0')
            continue;
        fg_buf_printf(&json, "%s[%d,", asked++ > 0 ? "," : "", i);
        fg_json_str(&json, a->adapter->name, strlen(a->adapter->name));
        fg_buf_putc(&json, ',');
        fg_json_str(&json, a->n->event_id, strlen(a->n->event_id));
        fg_buf_putc(&json, ']');
    }
    fg_buf_putc(&json, ']');
    if (asked == 0 || (rc = fg_stmt_init(&s, db, SQL_INBOX_KNOWN)) != 0) {
        fg_buf_free(&json);
        return asked == 0 ? 0 : rc;
    }
    fg_stmt_str(&s, json.data, json.len);
    fg_stmt_out_int(&s, &member, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1)
            if (member >= 0 && member < set->count)
                in_set[member] = -1;
        fg_stmt_done(&s);
    }
    fg_db_end(db);
    fg_buf_free(&json);
    return rc < 0 ? rc : 0;
}

typedef struct {
    set_t *set;
    const int *in_set;
} set_run_t;

static int set_tx(fg_db_t *db, void *arg)
{
    set_run_t *r = arg;
    set_t *set = r->set;
    set_unload(set); /* a re-run (deadlock) starts from nothing */
    int rc = set_load(db, set, r->in_set);
    for (int i = 0; rc == 0 && i < set->count; i++)
        if (r->in_set[i] > 0)
            rc = apply_tx(db, &set->members[i]);
    return rc != 0 ? rc : set_update(db, set, 1);
}

void fg_webhook_receive_many(fg_db_t *db, const fg_config_t *cfg, fg_webhook_item_t *items, int n)
{
    if (n == 1) {
        (void)fg_webhook_receive(db, cfg, items[0].adapter, &items[0].in, &items[0].outcome);
        return;
    }
    fg_notification_t *notes = fg_calloc((size_t)n, sizeof(*notes));
    set_t set;
    set_init(&set, n);
    int *in_set = fg_calloc((size_t)n, sizeof(int)), verified = 0;
    for (int i = 0; i < n; i++) {
        apply_t *a = &set.members[i];
        *a = (apply_t){.cfg = cfg, .in = &items[i].in, .adapter = items[i].adapter, .n = &notes[i], .set = &set};
        fg_order_row_init(&a->pre_o);
        if (verify(db, a, &notes[i]) != 0)
            continue;
        /* a second delivery of an event in the same set runs after it, alone */
        in_set[i] = 1;
        for (int j = 0; j < i && in_set[i]; j++)
            if (in_set[j] && set.members[j].adapter == a->adapter && strcmp(notes[j].event_id, notes[i].event_id) == 0)
                in_set[i] = 2;
        verified += in_set[i] == 1;
    }
    for (int i = 0; i < n; i++)
        in_set[i] = in_set[i] == 1 ? 1 : in_set[i] == 2 ? -1 : 0; /* -1: alone, after the set */
    /* a probe that fails leaves every member in: the unique key still decides */
    if (verified > 0 && set_known_events(db, &set, in_set) != 0)
        fg_db_end(db);
    verified = 0;
    for (int i = 0; i < n; i++)
        verified += in_set[i] > 0;
    int rc = 0, unknown = 0;
    if (verified > 0) {
        set_run_t run = {&set, in_set};
        rc = fg_db_tx_deferring(db, set_tx, &run);
        unknown = rc != 0 && fg_db_commit_unknown(db);
        set_unload(&set);
        fg_metrics_notification_set(verified, rc != 0);
    }
    for (int i = 0; i < n; i++) {
        apply_t *a = &set.members[i];
        if (in_set[i] == 0) { /* not verified: answered */
            items[i].outcome = a->outcome;
            continue;
        }
        if (in_set[i] > 0 && unknown) {
            /* lost during COMMIT: it may be in, and is not run again; the
             * provider is answered an error and delivers it again (inbox key) */
            a->set = NULL;
            (void)conclude(db, a, FG_EUNAVAILABLE);
        } else if (in_set[i] < 0 || rc != 0) {
            a->set = NULL;
            (void)conclude(db, a, fg_db_group_tx(&apply_group, db, apply_tx, a));
        }
        items[i].outcome = a->outcome;
    }
    set_free(&set);
    free(in_set);
    free(notes);
}

int fg_webhook_apply_set(fg_db_t *db, const fg_config_t *cfg, const fg_adapter_t *adapter, fg_webhook_apply_t *items,
                         int n)
{
    assert(fg_db_deferring(db) && n > 0);
    set_t set;
    set_init(&set, n);
    int *in_set = fg_malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) {
        set.members[i] = (apply_t){.cfg = cfg, .in = items[i].in, .adapter = adapter, .n = items[i].n, .set = &set};
        fg_order_row_init(&set.members[i].pre_o);
        in_set[i] = 1;
    }
    int rc = set_load(db, &set, in_set);
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = apply_tx(db, &set.members[i]);
        items[i].outcome = set.members[i].outcome;
        items[i].payment_row = set.members[i].pre_p.id;
        /* anything but a clean application (no such payment, a second
         * transaction, an amount refused) is for the member alone */
        if (rc == 1 || (rc == 0 && (items[i].outcome != FG_ACK_APPLIED || set.members[i].receipt)))
            rc = FG_ESTATE;
    }
    if (rc == 0)
        rc = set_update(db, &set, 0);
    set_unload(&set);
    set_free(&set);
    free(in_set);
    return rc;
}

int fg_webhook_apply_one(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, const fg_adapter_t *adapter,
                         const fg_notification_t *n, fg_ack_t *outcome, const char **reason)
{
    apply_t a = {.cfg = cfg, .in = in, .adapter = adapter, .n = n};
    int rc = apply_tx(db, &a);
    *outcome = a.outcome;
    *reason = a.reason;
    return rc;
}
