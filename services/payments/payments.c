/*
 * payments.c - the payment row: reading, locking, its public JSON.
 */
#include "payments/payments_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "vietqr/vietqr.h"

/* The payment row's columns around its order's and merchant's public ids
 * (payment_bind reads them in this order). */
/* clang-format off */
#define PAYMENT_HEAD                                                                                               \
    "p.id, p.order_id, p.merchant_id, p.public_id, p.adapter, p.currency, " FG_PAYMENT_STATUS_SQL("p.status")    \
    ", p.provider_txn_id"
#define PAYMENT_TAIL                                                                                               \
    "p.amount, p.amount_received, p.amount_applied, p.amount_unapplied, p.amount_refunded, p.amount_refunding, "  \
    "p.created_at, p.updated_at, p.receipt_id, p.failure_reason"
static const char SQL_PAYMENT[] =
    "SELECT " PAYMENT_HEAD ", o.public_id, o.code, m.public_id, " PAYMENT_TAIL " FROM payments p "
    "JOIN orders o ON o.id = p.order_id JOIN merchants m ON m.id = p.merchant_id "
    "WHERE p.public_id = ? AND (? = 0 OR p.merchant_id = ?)";
/* Locks the payment row only: a FOR UPDATE over the join would also lock the
 * merchant's row, serialising every payment of one merchant (the hot-account
 * collapse the ledger is built to avoid).  Rows read by the scalar subqueries
 * are not locked. */
static const char SQL_PAYMENT_LOCK[] =
    "SELECT " PAYMENT_HEAD ", (SELECT o.public_id FROM orders o WHERE o.id = p.order_id), "
    "(SELECT o.code FROM orders o WHERE o.id = p.order_id), "
    "(SELECT m.public_id FROM merchants m WHERE m.id = p.merchant_id), " PAYMENT_TAIL " FROM payments p "
    "WHERE p.public_id = ? AND (? = 0 OR p.merchant_id = ?) FOR UPDATE";
/* A notification's lock: the payment and its order in one round trip
 * (payment first, as every writer takes them); the merchant is read, not
 * locked, for the reason above. */
static const char SQL_PAYMENT_ORDER_LOCK[] =
    "SELECT " PAYMENT_HEAD ", o.public_id, o.code, (SELECT m.public_id FROM merchants m WHERE m.id = p.merchant_id), "
    PAYMENT_TAIL ", " FG_ORDER_COLUMNS " FROM payments p JOIN orders o ON o.id = p.order_id "
    "WHERE p.public_id = ? FOR UPDATE";
/* A set's lock (notifications, refunds): their payments and orders in one
 * round trip, driven by a JSON array of [member, public id] pairs sorted by
 * public id, so every set takes its rows in the same order. */
static const char SQL_PAYMENTS_ORDERS_LOCK[] =
    "SELECT j.i, " PAYMENT_HEAD ", o.public_id, o.code, (SELECT m.public_id FROM merchants m WHERE m.id = "
    "p.merchant_id), " PAYMENT_TAIL ", " FG_ORDER_COLUMNS " FROM JSON_TABLE(?, '$[*]' COLUMNS (i INT PATH '$[0]', "
    "pid VARCHAR(64) PATH '$[1]')) j STRAIGHT_JOIN payments p ON p.public_id = j.pid JOIN orders o ON o.id = "
    "p.order_id FOR UPDATE";
/* clang-format on */
void fg_payment_row_init(fg_payment_row_t *p) { memset(p, 0, sizeof(*p)); }

void fg_payment_row_free(fg_payment_row_t *p)
{
    fg_buf_t *texts[] = {&p->public_id,       &p->adapter,         &p->currency,
                         &p->provider_txn_id, &p->order_public_id, &p->merchant_public_id,
                         &p->receipt_id,      &p->order_code,      &p->failure_reason};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        fg_buf_free(texts[i]);
}

static void payment_bind(fg_stmt_t *s, fg_payment_row_t *p)
{
    fg_stmt_out_int(s, &p->id, NULL);
    fg_stmt_out_int(s, &p->order_id, NULL);
    fg_stmt_out_int(s, &p->merchant_id, NULL);
    fg_stmt_out_text(s, &p->public_id, NULL);
    fg_stmt_out_text(s, &p->adapter, NULL);
    fg_stmt_out_text(s, &p->currency, NULL);
    fg_stmt_out_enum(s, &p->status, FG_PAYMENT_STATUS_COUNT);
    fg_stmt_out_text(s, &p->provider_txn_id, &p->provider_txn_null);
    fg_stmt_out_text(s, &p->order_public_id, NULL);
    fg_stmt_out_text(s, &p->order_code, NULL);
    fg_stmt_out_text(s, &p->merchant_public_id, NULL);
    fg_stmt_out_int(s, &p->amount, NULL);
    fg_stmt_out_int(s, &p->amount_received, &p->received_null);
    fg_stmt_out_int(s, &p->amount_applied, NULL);
    fg_stmt_out_int(s, &p->amount_unapplied, NULL);
    fg_stmt_out_int(s, &p->amount_refunded, NULL);
    fg_stmt_out_int(s, &p->amount_refunding, NULL);
    fg_stmt_out_int(s, &p->created_at, NULL);
    fg_stmt_out_int(s, &p->updated_at, NULL);
    fg_stmt_out_text(s, &p->receipt_id, &p->receipt_null);
    fg_stmt_out_text(s, &p->failure_reason, &p->failure_reason_null);
}

static int fetch_one(fg_stmt_t *s)
{
    int rc = fg_stmt_exec(s);
    if (rc != 0)
        return rc;
    rc = fg_stmt_fetch(s);
    fg_stmt_done(s);
    return rc < 0 ? rc : rc == 1 ? 0 : FG_ENOTFOUND;
}

int fg_payment_load(fg_db_t *db, const char *public_id, uint64_t merchant_id, int for_update, fg_payment_row_t *p)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, for_update ? SQL_PAYMENT_LOCK : SQL_PAYMENT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_stmt_int(&s, (int64_t)merchant_id);
    payment_bind(&s, p);
    return fetch_one(&s);
}

int fg_payment_lock_with_order(fg_db_t *db, const char *public_id, fg_payment_row_t *p, fg_order_row_t *order)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_PAYMENT_ORDER_LOCK);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, public_id);
    payment_bind(&s, p);
    fg_order_row_bind(&s, order);
    return fetch_one(&s);
}

typedef struct {
    const char *id;
    int member;
} lock_pair_t;

static int by_public_id(const void *x, const void *y)
{
    return strcmp(((const lock_pair_t *)x)->id, ((const lock_pair_t *)y)->id);
}

int fg_payment_lock_set(fg_db_t *db, const char *const *ids, int n, fg_payment_found_fn found, void *arg)
{
    lock_pair_t *pairs = fg_malloc((size_t)(n > 0 ? n : 1) * sizeof(*pairs));
    int k = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] != NULL)
            pairs[k++] = (lock_pair_t){ids[i], i};
    qsort(pairs, (size_t)k, sizeof(*pairs), by_public_id);
    fg_buf_t json = FG_BUF_INIT;
    fg_buf_putc(&json, '[');
    for (int j = 0; j < k; j++) {
        fg_buf_printf(&json, "%s[%d,", j > 0 ? "," : "", pairs[j].member);
        fg_json_str(&json, pairs[j].id, strlen(pairs[j].id));
        fg_buf_putc(&json, ']');
    }
    fg_buf_putc(&json, ']');
    free(pairs);
    fg_stmt_t s;
    fg_payment_row_t p;
    fg_order_row_t order;
    int64_t member = 0;
    int rc = k == 0 ? 0 : fg_stmt_init(&s, db, SQL_PAYMENTS_ORDERS_LOCK);
    if (k == 0 || rc != 0) {
        fg_buf_free(&json);
        return rc;
    }
    fg_payment_row_init(&p);
    fg_order_row_init(&order);
    fg_stmt_str(&s, json.data, json.len);
    fg_stmt_out_int(&s, &member, NULL);
    payment_bind(&s, &p);
    fg_order_row_bind(&s, &order);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            found(arg, (int)member, &p, &order); /* takes the rows' buffers */
            fg_payment_row_init(&p);
            fg_order_row_init(&order);
        }
        fg_stmt_done(&s);
    }
    fg_payment_row_free(&p);
    fg_order_row_free(&order);
    fg_buf_free(&json);
    return rc < 0 ? rc : 0;
}

int fg_payments_set_update(fg_db_t *db, const char *sql, const char *json, size_t len, int rows)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, json, len);
    if ((rc = fg_stmt_exec(&s)) == 0 && fg_stmt_affected(&s) != (uint64_t)rows)
        rc = FG_ECONFLICT; /* a guard failed under the set's locks: run each alone */
    return rc;
}

void fg_payment_json(fg_buf_t *b, const fg_payment_row_t *p, const char *base_url, const char *extra)
{
    char created[40], updated[40];
    fg_time_format_rfc3339(p->created_at, 0, created, sizeof(created));
    fg_time_format_rfc3339(p->updated_at, 0, updated, sizeof(updated));
    fg_buf_putc(b, '{');
    fg_json_kv_strn(b, 0, "id", p->public_id.data, p->public_id.len);
    fg_json_kv_str(b, 1, "object", "payment");
    fg_json_kv_strn(b, 1, "order_id", p->order_public_id.data, p->order_public_id.len);
    fg_json_kv_strn(b, 1, "merchant_id", p->merchant_public_id.data, p->merchant_public_id.len);
    fg_json_kv_strn(b, 1, "method", p->adapter.data, p->adapter.len);
    fg_json_kv_int(b, 1, "amount", p->amount);
    fg_json_kv_strn(b, 1, "currency", p->currency.data, p->currency.len);
    fg_json_kv_str(b, 1, "status", fg_payment_status_name(p->status));
    if (p->received_null)
        fg_json_kv_null(b, 1, "amount_received");
    else
        fg_json_kv_int(b, 1, "amount_received", p->amount_received);
    fg_json_kv_int(b, 1, "amount_applied", p->amount_applied);
    fg_json_kv_int(b, 1, "amount_unapplied", p->amount_unapplied);
    fg_json_kv_int(b, 1, "amount_refunded", p->amount_refunded);
    if (p->provider_txn_null)
        fg_json_kv_null(b, 1, "provider_txn_id");
    else
        fg_json_kv_strn(b, 1, "provider_txn_id", p->provider_txn_id.data, p->provider_txn_id.len);
    /* null until the payment succeeds: its receipt is issued in the same transaction */
    if (p->receipt_null || p->receipt_id.len == 0) {
        fg_json_kv_null(b, 1, "receipt_id");
        fg_json_kv_null(b, 1, "receipt_url");
    } else {
        /* the payer's receipt page, which names the receipt's number and series */
        fg_buf_t url = FG_BUF_INIT;
        fg_json_kv_strn(b, 1, "receipt_id", p->receipt_id.data, p->receipt_id.len);
        fg_buf_printf(&url, "%s/pay/%s/receipt?payment=%s", base_url,
                      p->order_code.data != NULL ? p->order_code.data : "", p->public_id.data);
        fg_json_kv_strn(b, 1, "receipt_url", url.data, url.len);
        fg_buf_free(&url);
    }
    if (extra != NULL)
        fg_buf_puts(b, extra);
    fg_json_kv_str(b, 1, "created_at", created);
    fg_json_kv_str(b, 1, "updated_at", updated);
    fg_buf_putc(b, '}');
}

void fg_payment_started_json(fg_buf_t *extra, const fg_payment_started_t *started)
{
    if (started->redirect_url.len > 0)
        fg_json_kv_strn(extra, 1, "redirect_url", started->redirect_url.data, started->redirect_url.len);
    if (started->qr_payload.len > 0) {
        fg_json_key(extra, 1, "qr");
        fg_buf_putc(extra, '{');
        fg_json_kv_strn(extra, 0, "payload", started->qr_payload.data, started->qr_payload.len);
        fg_buf_putc(extra, '}');
    }
}

/* What a pending payment's start left that may still be shown: its stored
 * redirect URL, whether the payer came back from it unpaid (web/return.c),
 * and what its order owes now. */
/* clang-format off */
static const char SQL_OFFER[] =
    "SELECT p.redirect_url, p.returned_unpaid_at IS NOT NULL, " FG_ORDER_STATUS_SQL("o.status") ", o.expires_at, "
    "o.amount - o.amount_paid FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.id = ?";
/* clang-format on */

int fg_payment_offer(fg_db_t *db, const fg_config_t *cfg, const fg_payment_row_t *p, int64_t now_ms,
                     fg_payment_started_t *out)
{
    fg_stmt_t s;
    fg_buf_t url = FG_BUF_INIT;
    fg_order_status_t status = FG_ORDER_OPEN;
    int64_t returned = 0, expires = 0, owed = 0;
    int url_null = 1, expires_null = 1;
    if (p->status != FG_PAYMENT_PENDING)
        return 0;
    int rc = fg_stmt_init(&s, db, SQL_OFFER);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, p->id);
    fg_stmt_out_text(&s, &url, &url_null);
    fg_stmt_out_int(&s, &returned, NULL);
    fg_stmt_out_enum(&s, &status, FG_ORDER_STATUS_COUNT);
    fg_stmt_out_int(&s, &expires, &expires_null);
    fg_stmt_out_int(&s, &owed, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        rc = fg_stmt_fetch(&s);
        fg_stmt_done(&s);
        rc = rc == 1 ? 0 : rc == 0 ? FG_ENOTFOUND : rc;
    }
    /* a bill paid another way, cancelled or expired meanwhile: nothing may be
     * paid through this payment any more (VNPay's window closed with the
     * order's expiry; a transfer would be held unapplied) */
    if (rc != 0 || !fg_order_accepts_payment(fg_order_effective_status(status, !expires_null, expires, now_ms)) ||
        owed < p->amount)
        goto Exit;
    const fg_adapter_t *adapter = fg_adapter_find(p->adapter.data);
    /* the URL as the start made it: a provider's signed page is never signed
     * again here (a new vnp_CreateDate would open another window on the
     * same transaction reference) */
    if (adapter != NULL && !url_null && url.len > 0 && !returned &&
        (adapter->redirect_valid_ms == 0 || now_ms - p->created_at < adapter->redirect_valid_ms))
        fg_buf_append(&out->redirect_url, url.data, url.len);
    /* a VietQR payload is a function of the amount, the order's code and the
     * collection account: rebuilt, it is the one the start gave */
    if (adapter == &fg_adapter_vietqr && fg_vietqr_configured(cfg) && strcmp(p->currency.data, "VND") == 0 &&
        p->order_code.len > 0 &&
        fg_vietqr_payload(cfg->vietqr_bank_bin, cfg->vietqr_account_no, p->amount, p->order_code.data,
                          &out->qr_payload) != 0)
        fg_buf_reset(&out->qr_payload);
Exit:
    fg_buf_free(&url);
    return rc;
}

int fg_provider_send(const fg_provider_request_t *req, fg_http_response_t *res, char *reason, size_t cap)
{
    int rc = fg_http_post_json(req->url.data, req->body.data, req->body.len, req->timeout_ms, res);
    if (rc != 0) {
        snprintf(reason, cap, "the provider did not answer: %s", res->error);
        return FG_EUNAVAILABLE;
    }
    return 0;
}
