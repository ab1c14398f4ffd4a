/*
 * payments.c - starting a payment on an order, and reading it.
 */
#include "payments/payments_internal.h"
#include "api/handlers.h"
#include "payments/providers.h"

#include <stdio.h>
#include <string.h>
#include "core/text.h"
#include "orders/orders_internal.h"

/* The payment row's columns around its order's and merchant's public ids
 * (payment_bind reads them in this order). */
/* clang-format off */
#define PAYMENT_HEAD                                                                                               \
    "p.id, p.order_id, p.merchant_id, p.public_id, p.adapter, p.currency, " FG_PAYMENT_STATUS_SQL("p.status")    \
    ", p.provider_txn_id"
#define PAYMENT_TAIL                                                                                               \
    "p.amount, p.amount_received, p.amount_applied, p.amount_unapplied, p.amount_refunded, p.amount_refunding, "  \
    "p.created_at, p.updated_at"
static const char SQL_PAYMENT[] =
    "SELECT " PAYMENT_HEAD ", o.public_id, m.public_id, " PAYMENT_TAIL " FROM payments p "
    "JOIN orders o ON o.id = p.order_id JOIN merchants m ON m.id = p.merchant_id "
    "WHERE p.public_id = ? AND (? = 0 OR p.merchant_id = ?)";
/* Locks the payment row only: a FOR UPDATE over the join would also lock the
 * merchant's row, serialising every payment of one merchant (the hot-account
 * collapse the ledger is built to avoid).  Rows read by the scalar subqueries
 * are not locked. */
static const char SQL_PAYMENT_LOCK[] =
    "SELECT " PAYMENT_HEAD ", (SELECT o.public_id FROM orders o WHERE o.id = p.order_id), "
    "(SELECT m.public_id FROM merchants m WHERE m.id = p.merchant_id), " PAYMENT_TAIL " FROM payments p "
    "WHERE p.public_id = ? AND (? = 0 OR p.merchant_id = ?) FOR UPDATE";
/* A notification's lock: the payment and its order in one round trip
 * (payment first, as every writer takes them); the merchant is read, not
 * locked, for the reason above. */
static const char SQL_PAYMENT_ORDER_LOCK[] =
    "SELECT " PAYMENT_HEAD ", o.public_id, (SELECT m.public_id FROM merchants m WHERE m.id = p.merchant_id), "
    PAYMENT_TAIL ", " FG_ORDER_COLUMNS " FROM payments p JOIN orders o ON o.id = p.order_id "
    "WHERE p.public_id = ? FOR UPDATE";
/* clang-format on */
static const char SQL_INSERT[] =
    "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)";

void fg_payment_row_free(fg_payment_row_t *p)
{
    fg_buf_t *texts[] = {&p->public_id,       &p->adapter,         &p->currency,
                         &p->provider_txn_id, &p->order_public_id, &p->merchant_public_id};
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
    fg_stmt_out_text(s, &p->merchant_public_id, NULL);
    fg_stmt_out_int(s, &p->amount, NULL);
    fg_stmt_out_int(s, &p->amount_received, &p->received_null);
    fg_stmt_out_int(s, &p->amount_applied, NULL);
    fg_stmt_out_int(s, &p->amount_unapplied, NULL);
    fg_stmt_out_int(s, &p->amount_refunded, NULL);
    fg_stmt_out_int(s, &p->amount_refunding, NULL);
    fg_stmt_out_int(s, &p->created_at, NULL);
    fg_stmt_out_int(s, &p->updated_at, NULL);
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

void fg_payment_json(fg_buf_t *b, const fg_payment_row_t *p, const char *extra)
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
    if (extra != NULL)
        fg_buf_puts(b, extra);
    fg_json_kv_str(b, 1, "created_at", created);
    fg_json_kv_str(b, 1, "updated_at", updated);
    fg_buf_putc(b, '}');
}

/* ---- POST /v1/orders/{id}/payments ---------------------------------------- */

typedef enum {
    CREATE_OK,
    CREATE_ORDER_NOT_FOUND,
    CREATE_NOT_PAYABLE,
    CREATE_BAD_AMOUNT,
    CREATE_START_REFUSED
} create_outcome_t;

typedef struct {
    fg_call_t *call;
    const fg_adapter_t *adapter;
    int64_t requested; /* 0 = what the order still owes */
    fg_buf_t body;
    create_outcome_t outcome;
    char status[24];
    int idem_conflict;
} create_t;

static int insert_payment(fg_db_t *db, create_t *c, const fg_order_row_t *order, int64_t amount, int64_t now,
                          fg_payment_row_t *p)
{
    char id[FG_ID_CAP];
    fg_stmt_t s;
    int rc;
    if (fg_id_new("pay_", id, sizeof(id)) < 0)
        return FG_EIO;
    if ((rc = fg_stmt_init(&s, db, SQL_INSERT)) != 0)
        return rc;
    fg_stmt_cstr(&s, id);
    fg_stmt_int(&s, order->id);
    fg_stmt_int(&s, (int64_t)c->call->merchant_id);
    fg_stmt_cstr(&s, c->adapter->name);
    fg_stmt_int(&s, amount);
    fg_stmt_str(&s, order->currency.data, order->currency.len);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    return fg_payment_load(db, id, c->call->merchant_id, 0, p);
}

static int start_payment(create_t *c, const fg_order_row_t *order, const fg_payment_row_t *p, int64_t now)
{
    fg_payment_started_t started = {FG_BUF_INIT, FG_BUF_INIT};
    fg_payment_start_t in = {p->public_id.data,
                             p->amount,
                             p->currency.data,
                             order->code.data,
                             order->description_null ? NULL : order->description.data,
                             NULL,
                             now};
    int rc = c->adapter->start(c->call->cfg, &in, &started);
    if (rc == 0) {
        fg_buf_t extra = FG_BUF_INIT;
        if (started.redirect_url.len > 0)
            fg_json_kv_strn(&extra, 1, "redirect_url", started.redirect_url.data, started.redirect_url.len);
        if (started.qr_payload.len > 0) {
            fg_json_key(&extra, 1, "qr");
            fg_buf_putc(&extra, '{');
            fg_json_kv_strn(&extra, 0, "payload", started.qr_payload.data, started.qr_payload.len);
            fg_buf_putc(&extra, '}');
        }
        fg_buf_reset(&c->body);
        fg_payment_json(&c->body, p, extra.data);
        fg_buf_free(&extra);
    }
    fg_buf_free(&started.redirect_url);
    fg_buf_free(&started.qr_payload);
    return rc;
}

static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    fg_order_row_t order;
    fg_payment_row_t p;
    int64_t now = fg_now_ms();
    int rc;
    memset(&p, 0, sizeof(p));
    fg_order_row_init(&order);
    c->idem_conflict = 0;
    rc = fg_order_load(db, c->call->merchant_id, c->call->params[0], c->call->param_lens[0], 1, &order);
    if (rc == FG_ENOTFOUND) {
        c->outcome = CREATE_ORDER_NOT_FOUND;
        rc = 1;
        goto Exit;
    }
    if (rc != 0)
        goto Exit;
    fg_order_status_t status = fg_order_effective_status(order.status, !order.expires_at_null, order.expires_at, now);
    snprintf(c->status, sizeof(c->status), "%s", fg_order_status_name(status));
    if (!fg_order_accepts_payment(status)) {
        c->outcome = CREATE_NOT_PAYABLE;
        rc = 1;
        goto Exit;
    }
    int64_t amount;
    if (fg_order_payable_amount(order.amount, order.amount_paid, (int)order.allow_partial, c->requested, &amount) !=
        0) {
        c->outcome = CREATE_BAD_AMOUNT;
        rc = 1;
        goto Exit;
    }
    if ((rc = insert_payment(db, c, &order, amount, now, &p)) != 0)
        goto Exit;
    if ((rc = start_payment(c, &order, &p, now)) != 0) {
        /* the method is not configured, or cannot carry this amount or currency: nothing is written */
        c->outcome = CREATE_START_REFUSED;
        rc = 1;
        goto Exit;
    }
    c->outcome = CREATE_OK;
    rc = fg_idem_store(db, c->call, 201, &c->body);
    if (rc == FG_ECONFLICT)
        c->idem_conflict = 1;
Exit:
    fg_order_row_free(&order);
    fg_payment_row_free(&p);
    return rc;
}

static int parse_create(fg_call_t *call, create_t *c)
{
    fg_field_error_t err;
    yajl_val root = fg_json_parse_object(call->body, call->body_len, &err);
    if (root == NULL) {
        fg_call_error(call, err.status, "invalid_request", err.code, err.message, NULL);
        return -1;
    }
    const char *method_path[] = {"method", NULL}, *amount_path[] = {"amount", NULL};
    yajl_val method = yajl_tree_get(root, method_path, yajl_t_any);
    yajl_val amount = yajl_tree_get(root, amount_path, yajl_t_any);
    int rc = -1;
    if (method == NULL || !YAJL_IS_STRING(method)) {
        fg_call_error(call, 400, "invalid_request", method == NULL ? "missing_field" : "invalid_type",
                      "method is required: one of vnpay, momo, vietqr, sandbox", "method");
    } else if ((c->adapter = fg_adapter_find(YAJL_GET_STRING(method))) == NULL) {
        fg_call_error(call, 422, "invalid_request", "method_unavailable", "this payment method is not available",
                      "method");
    } else if (amount != NULL && !YAJL_IS_NULL(amount) && (!YAJL_IS_INTEGER(amount) || YAJL_GET_INTEGER(amount) < 1)) {
        fg_call_error(call, 422, "invalid_request", "amount_invalid", "amount must be a positive integer", "amount");
    } else {
        c->requested = amount != NULL && YAJL_IS_INTEGER(amount) ? YAJL_GET_INTEGER(amount) : 0;
        rc = 0;
    }
    yajl_tree_free(root);
    return rc;
}

void fg_payments_create(fg_call_t *call, fg_db_t *db)
{
    create_t c = {.call = call};
    if (parse_create(call, &c) != 0)
        return;
    if (c.adapter->start_request != NULL) {
        /* the provider is called between two transactions (providers.c) */
        fg_providers_create_payment(call, db, c.adapter, c.requested);
        return;
    }
    int rc = fg_db_tx(db, create_tx, &c);
    if (rc == 0) {
        fg_call_json(call, 201, &c.body);
    } else if (rc == 1 && c.outcome == CREATE_ORDER_NOT_FOUND) {
        fg_call_error(call, 404, "not_found", "order_not_found", "no such order", NULL);
    } else if (rc == 1 && c.outcome == CREATE_NOT_PAYABLE) {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "the order is %s: only an open or partially paid order can be paid", c.status);
        fg_call_error(call, 409, "conflict", "order_not_payable", msg.data, NULL);
        fg_buf_free(&msg);
    } else if (rc == 1 && c.outcome == CREATE_START_REFUSED) {
        fg_call_error(call, 422, "invalid_request", "method_unavailable",
                      "this payment method is not configured, or cannot carry this amount or currency", "method");
    } else if (rc == 1) {
        fg_call_error(call, 422, "invalid_request", "amount_invalid",
                      "amount must be what the order still owes, or less when it allows partial payment", "amount");
    } else if (rc == FG_ECONFLICT && c.idem_conflict) {
        if ((rc = fg_idem_answer_existing(db, call)) != 0)
            fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_ERETRY : rc);
    } else {
        fg_call_db_error(call, db, rc);
    }
    fg_buf_free(&c.body);
}

/* ---- GET /v1/payments/{id} ------------------------------------------------ */

void fg_payments_get(fg_call_t *call, fg_db_t *db)
{
    fg_payment_row_t p;
    memset(&p, 0, sizeof(p));
    int rc = fg_payment_load(db, call->params[0], call->merchant_id, 0, &p);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "payment_not_found", "no such payment", NULL);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        fg_payment_json(&b, &p, NULL);
        fg_call_json(call, 200, &b);
    }
    fg_payment_row_free(&p);
}
