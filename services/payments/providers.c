/*
 * providers.c - creating a payment and refunding through a provider that is
 * reached over HTTP (MoMo's create; VNPay's and MoMo's refunds).
 *
 * Each request is two transactions around the provider call:
 *   1. under the order's (or payment's) row lock: validate, write the pending
 *      payment (or the pending refund and its reservation in
 *      amount_refunding), and mark the Idempotency-Key 'running';
 *   2. after the call: record the outcome and store the answer under the key
 *      ('done'), or drop the key after a 5xx so that the request can be
 *      retried.
 * Nothing is half-written: between the two, the rows say "pending", which is
 * what they are; the status-query job settles a payment whose answer was
 * lost.  A refund whose outcome is unknown (the request may have reached the
 * provider, but no signed final answer came back) stays pending, reserved,
 * and is answered 202 under its key; the job asks the provider about it by
 * the refund's own ids (fg_providers_refund_round) and settles it.
 */
#include "payments/providers.h"
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>
#include "core/log.h"
#include "core/text.h"
#include "momo/momo.h"
#include "vnpay/vnpay.h"
#include "ledger/ledger.h"
#include "net/http_client.h"
#include "orders/orders_internal.h"
#include "payments/payments_internal.h"

static const char SQL_PAYMENT_INSERT[] =
    "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)";
static const char SQL_PAYMENT_REFUSED[] =
    "UPDATE payments SET status = 'failed', failure_reason = ?, updated_at = ? WHERE public_id = ? "
    "AND status = 'pending'";
static const char SQL_REFUND_RESERVE[] =
    "UPDATE payments SET amount_refunding = amount_refunding + ?, updated_at = ? WHERE id = ?";
static const char SQL_REFUND_FINISH[] =
    "UPDATE refunds SET status = ?, provider_refund_id = ?, updated_at = ? WHERE public_id = ? AND status = 'pending'";
static const char SQL_REFUND_SETTLE[] =
    "UPDATE payments SET amount_refunded = amount_refunded + ?, amount_refunding = amount_refunding - ?, "
    "updated_at = ? WHERE id = ?";
static const char SQL_ORDER_REFUNDED[] =
    "UPDATE orders SET amount_refunded = amount_refunded + ?, updated_at = ? WHERE id = ?";

/* After FG_ECONFLICT on the running key: the stored answer, 409 in progress
 * or 422 reused (as payments.c does for its own key conflicts). */
static void answer_existing(fg_call_t *call, fg_db_t *db)
{
    int rc = fg_idem_answer_existing(db, call);
    if (rc != 0)
        fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_ERETRY : rc);
}

/* Sends a built request; fills *status and *body (the answer, may be empty).
 * 0 when an answer arrived, FG_EUNAVAILABLE otherwise (reason set). */
static int call_provider(const fg_provider_request_t *req, fg_http_response_t *res, char *reason, size_t cap)
{
    int rc = fg_http_post_json(req->url.data, req->body.data, req->body.len, req->timeout_ms, res);
    if (rc != 0)
        snprintf(reason, cap, "the provider did not answer: %s", res->error);
    return rc;
}

/* ---- create ------------------------------------------------------------------- */

typedef enum {
    CREATE_OK,
    CREATE_ORDER_NOT_FOUND,
    CREATE_NOT_PAYABLE,
    CREATE_BAD_AMOUNT,
    CREATE_RANGE,
    CREATE_UNCONFIGURED
} create_outcome_t;

typedef struct {
    fg_call_t *call;
    const fg_adapter_t *adapter;
    int64_t requested;
    create_outcome_t outcome;
    int idem_conflict;
    char status[24];
    char payment_id[FG_ID_CAP];
    char code[FG_ORDER_CODE_LEN + 1];
    char currency[4];
    int64_t amount, now;
    fg_buf_t description;
    fg_provider_request_t req;
} create_t;

static int create_refuse(create_t *c, create_outcome_t outcome)
{
    c->outcome = outcome;
    return 1;
}

static int create_begin_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    fg_order_row_t order;
    fg_stmt_t s;
    int rc;
    c->now = fg_now_ms();
    c->idem_conflict = 0;
    fg_provider_request_free(&c->req);
    fg_buf_reset(&c->description);
    fg_order_row_init(&order);
    if ((rc = fg_idem_begin(db, c->call, c->now)) != 0) {
        c->idem_conflict = rc == FG_ECONFLICT;
        goto Exit;
    }
    rc = fg_order_load(db, c->call->merchant_id, c->call->params[0], c->call->param_lens[0], 1, &order);
    if (rc == FG_ENOTFOUND) {
        rc = create_refuse(c, CREATE_ORDER_NOT_FOUND);
        goto Exit;
    }
    if (rc != 0)
        goto Exit;
    fg_order_status_t status = fg_order_effective_status(order.status, !order.expires_at_null, order.expires_at,
                                                         c->now);
    snprintf(c->status, sizeof(c->status), "%s", fg_order_status_name(status));
    if (!fg_order_accepts_payment(status)) {
        rc = create_refuse(c, CREATE_NOT_PAYABLE);
        goto Exit;
    }
    if (fg_order_payable_amount(order.amount, order.amount_paid, (int)order.allow_partial, c->requested, &c->amount) !=
        0) {
        rc = create_refuse(c, CREATE_BAD_AMOUNT);
        goto Exit;
    }
    snprintf(c->code, sizeof(c->code), "%s", order.code.data);
    snprintf(c->currency, sizeof(c->currency), "%s", order.currency.data);
    if (!order.description_null)
        fg_buf_append(&c->description, order.description.data, order.description.len);
    if (fg_id_new("pay_", c->payment_id, sizeof(c->payment_id)) < 0) {
        rc = FG_EIO;
        goto Exit;
    }
    fg_payment_start_t in = {
        c->payment_id, c->amount, c->currency, c->code, c->description.len > 0 ? c->description.data : NULL,
        NULL,          c->now};
    if ((rc = c->adapter->start_request(c->call->cfg, &in, &c->req)) != 0) {
        rc = create_refuse(c, rc == FG_ERANGE ? CREATE_RANGE : CREATE_UNCONFIGURED);
        goto Exit;
    }
    if ((rc = fg_stmt_init(&s, db, SQL_PAYMENT_INSERT)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, c->payment_id);
    fg_stmt_int(&s, order.id);
    fg_stmt_int(&s, (int64_t)c->call->merchant_id);
    fg_stmt_cstr(&s, c->adapter->name);
    fg_stmt_int(&s, c->amount);
    fg_stmt_cstr(&s, c->currency);
    fg_stmt_int(&s, c->now);
    fg_stmt_int(&s, c->now);
    rc = fg_stmt_exec(&s);
Exit:
    fg_order_row_free(&order);
    return rc;
}

typedef struct {
    create_t *c;
    int provider_rc; /* 0 started, FG_EINVALID refused, FG_EUNAVAILABLE */
    const char *reason;
    fg_payment_started_t started;
    int status;
    fg_buf_t body;
} create_end_t;

static int create_end_tx(fg_db_t *db, void *arg)
{
    create_end_t *e = arg;
    fg_call_t *call = e->c->call;
    fg_payment_row_t p;
    fg_stmt_t s;
    int rc = 0;
    memset(&p, 0, sizeof(p));
    fg_buf_reset(&e->body);
    if (e->provider_rc == FG_EINVALID) {
        if ((rc = fg_stmt_init(&s, db, SQL_PAYMENT_REFUSED)) != 0)
            goto Exit;
        fg_stmt_str(&s, e->reason, strlen(e->reason) < 200 ? strlen(e->reason) : 200);
        fg_stmt_int(&s, fg_now_ms());
        fg_stmt_cstr(&s, e->c->payment_id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            goto Exit;
    }
    if (e->provider_rc != 0) {
        e->status = 502;
        rc = fg_idem_finish(db, call, e->status, &e->body);
        goto Exit;
    }
    if ((rc = fg_payment_load(db, e->c->payment_id, call->merchant_id, 0, &p)) != 0)
        goto Exit;
    fg_buf_t extra = FG_BUF_INIT;
    fg_json_kv_strn(&extra, 1, "redirect_url", e->started.redirect_url.data, e->started.redirect_url.len);
    fg_payment_json(&e->body, &p, extra.data);
    fg_buf_free(&extra);
    e->status = 201;
    rc = fg_idem_finish(db, call, e->status, &e->body);
Exit:
    fg_payment_row_free(&p);
    return rc;
}

static void create_answer_refusal(fg_call_t *call, const create_t *c)
{
    if (c->outcome == CREATE_ORDER_NOT_FOUND) {
        fg_call_error(call, 404, "not_found", "order_not_found", "no such order", NULL);
    } else if (c->outcome == CREATE_NOT_PAYABLE) {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "the order is %s: only an open or partially paid order can be paid", c->status);
        fg_call_error(call, 409, "conflict", "order_not_payable", msg.data, NULL);
        fg_buf_free(&msg);
    } else if (c->outcome == CREATE_BAD_AMOUNT) {
        fg_call_error(call, 422, "invalid_request", "amount_invalid",
                      "amount must be what the order still owes, or less when it allows partial payment", "amount");
    } else if (c->outcome == CREATE_RANGE) {
        fg_call_error(call, 422, "invalid_request", "amount_out_of_range",
                      "the amount is outside what this payment method accepts (MoMo: 1,000..50,000,000 VND)", "amount");
    } else {
        fg_call_error(call, 422, "invalid_request", "method_unavailable",
                      "this payment method is not configured for this currency", "method");
    }
}

void fg_providers_create_payment(fg_call_t *call, fg_db_t *db, const fg_adapter_t *adapter, int64_t requested)
{
    create_t c = {.call = call, .adapter = adapter, .requested = requested};
    create_end_t e = {.c = &c};
    char reason[300] = "";
    fg_http_response_t res;
    int rc = fg_db_tx(db, create_begin_tx, &c);
    if (rc == FG_ECONFLICT && c.idem_conflict) {
        answer_existing(call, db);
        goto Exit;
    }
    if (rc == 1) {
        create_answer_refusal(call, &c);
        goto Exit;
    }
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
        goto Exit;
    }
    fg_payment_start_t in = {
        c.payment_id, c.amount, c.currency, c.code, c.description.len > 0 ? c.description.data : NULL, NULL, c.now};
    e.provider_rc = call_provider(&c.req, &res, reason, sizeof(reason));
    if (e.provider_rc == 0)
        e.provider_rc = adapter->start_response(call->cfg, &in, res.status, res.body.data, res.body.len, &e.started,
                                                reason, sizeof(reason));
    if (e.provider_rc != 0 && e.provider_rc != FG_EINVALID)
        e.provider_rc = FG_EUNAVAILABLE;
    fg_http_response_free(&res);
    e.reason = reason;
    if (e.provider_rc != 0) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "payment not started at the provider");
        fg_log_str(&l, "adapter", adapter->name);
        fg_log_str(&l, "payment", c.payment_id);
        fg_log_str(&l, "reason", reason);
        fg_log_end(&l);
    }
    rc = fg_db_tx(db, create_end_tx, &e);
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else if (e.status == 201) {
        fg_call_json(call, 201, &e.body);
    } else if (e.provider_rc == FG_EINVALID) {
        fg_call_error(call, 502, "unavailable", "provider_refused", reason, NULL);
    } else {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg,
                      "the payment provider is unavailable; payment %s stays pending and is checked with "
                      "the provider later",
                      c.payment_id);
        fg_call_error(call, 502, "unavailable", "provider_unavailable", msg.data, NULL);
        fg_buf_free(&msg);
    }
Exit:
    fg_buf_free(&e.body);
    fg_buf_free(&e.started.redirect_url);
    fg_buf_free(&e.started.qr_payload);
    fg_buf_free(&c.description);
    fg_provider_request_free(&c.req);
}

/* ---- refunds -------------------------------------------------------------------- */

/* A refund whose provider call is under way is not asked about until this
 * long after it was written: beyond the longest call (30 s), so the status
 * job never asks while our own request may still be in flight.  A crash
 * between the two transactions leaves the refund to the job after it. */
#define REFUND_CALL_LEASE_MS (2 * 60 * 1000)
/* The job's lease on the refunds it asks about (a round asks its batch one
 * after another, up to 35 s each, so the lease covers the whole round), and
 * the longest backoff. */
#define REFUND_BATCH_MAX 16
#define REFUND_QUERY_LEASE_MS (REFUND_BATCH_MAX * 35 * 1000 + 60 * 1000)
#define REFUND_BACKOFF_MAX_MS (6LL * 3600 * 1000)

_Static_assert(REFUND_CALL_LEASE_MS > 30000, "the lease outlasts a provider call");

static const char SQL_REFUND_INSERT_LEASED[] =
    "INSERT INTO refunds (public_id, payment_id, merchant_id, amount, currency, status, reason, next_query_at, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)";
static const char SQL_REFUND_ROW[] =
    "SELECT r.id, r.amount, r.reason, r.created_at, p.public_id FROM refunds r JOIN payments p "
    "ON p.id = r.payment_id WHERE r.public_id = ?";
static const char SQL_REFUND_LOCK[] = "SELECT " FG_REFUND_STATUS_SQL("status") " FROM refunds WHERE id = ? FOR UPDATE";
static const char SQL_REFUND_LATER[] =
    "UPDATE refunds SET next_query_at = ?, updated_at = ? WHERE public_id = ? AND status = 'pending'";
static const char SQL_REFUND_CLAIM[] =
    "SELECT r.id, r.public_id, r.amount, r.query_count, p.public_id, p.adapter, p.provider_txn_id, p.created_at "
    "FROM refunds r JOIN payments p ON p.id = r.payment_id "
    "WHERE r.status = 'pending' AND (r.next_query_at IS NULL OR r.next_query_at <= ?) "
    "AND p.adapter IN ('vnpay', 'momo') ORDER BY r.id LIMIT ? FOR UPDATE SKIP LOCKED";
static const char SQL_REFUND_LEASE[] =
    "UPDATE refunds SET next_query_at = ?, query_count = query_count + 1 WHERE id = ?";

typedef enum {
    REFUND_OK,
    REFUND_NOT_FOUND,
    REFUND_NOT_SUCCEEDED,
    REFUND_TOO_MUCH,
    REFUND_NOT_SUPPORTED,
    REFUND_RANGE
} refund_outcome_t;

typedef struct {
    fg_call_t *call;
    int64_t amount;
    const char *reason;
    refund_outcome_t outcome;
    int idem_conflict;
    int64_t refundable, now;
    char refund_id[FG_ID_CAP];
    const fg_adapter_t *adapter;
    fg_provider_request_t req;
} refund_t;

static int refund_begin_tx(fg_db_t *db, void *arg)
{
    refund_t *r = arg;
    fg_payment_row_t p;
    fg_stmt_t s;
    int rc;
    memset(&p, 0, sizeof(p));
    r->now = fg_now_ms();
    r->idem_conflict = 0;
    fg_provider_request_free(&r->req);
    if ((rc = fg_idem_begin(db, r->call, r->now)) != 0) {
        r->idem_conflict = rc == FG_ECONFLICT;
        goto Exit;
    }
    rc = fg_payment_load(db, r->call->params[0], r->call->merchant_id, 1, &p);
    r->outcome = rc == FG_ENOTFOUND ? REFUND_NOT_FOUND : REFUND_OK;
    if (rc != 0)
        goto Exit;
    r->adapter = fg_adapter_find(p.adapter.data);
    r->refundable = p.amount_received - p.amount_refunded - p.amount_refunding;
    if (p.status != FG_PAYMENT_SUCCEEDED)
        r->outcome = REFUND_NOT_SUCCEEDED;
    else if (r->amount > r->refundable)
        r->outcome = REFUND_TOO_MUCH;
    else if (r->adapter == NULL || r->adapter->refund_request == NULL)
        r->outcome = REFUND_NOT_SUPPORTED;
    if (r->outcome != REFUND_OK) {
        rc = 1;
        goto Exit;
    }
    if (fg_id_new("rfd_", r->refund_id, sizeof(r->refund_id)) < 0) {
        rc = FG_EIO;
        goto Exit;
    }
    /* full (VNPay 02) only for the first refund, of everything received;
     * after any earlier refund, made or pending, the rest is partial (03) */
    int full = p.amount_refunded == 0 && p.amount_refunding == 0 && r->amount == p.amount_received;
    fg_refund_in_t in = {p.public_id.data, p.provider_txn_id.data,
                         p.created_at,     r->refund_id,
                         r->amount,        full,
                         r->reason,        r->now};
    if ((rc = r->adapter->refund_request(r->call->cfg, &in, &r->req)) != 0) {
        r->outcome = rc == FG_ERANGE ? REFUND_RANGE : REFUND_NOT_SUPPORTED;
        rc = 1;
        goto Exit;
    }
    if ((rc = fg_stmt_init(&s, db, SQL_REFUND_INSERT_LEASED)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, r->refund_id);
    fg_stmt_int(&s, p.id);
    fg_stmt_int(&s, p.merchant_id);
    fg_stmt_int(&s, r->amount);
    fg_stmt_cstr(&s, p.currency.data);
    fg_stmt_cstr(&s, r->reason);
    fg_stmt_int(&s, r->now + REFUND_CALL_LEASE_MS);
    fg_stmt_int(&s, r->now);
    fg_stmt_int(&s, r->now);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_REFUND_RESERVE)) != 0)
        goto Exit;
    fg_stmt_int(&s, r->amount);
    fg_stmt_int(&s, r->now);
    fg_stmt_int(&s, p.id);
    rc = fg_stmt_exec(&s);
Exit:
    fg_payment_row_free(&p);
    return rc;
}

/* What became of a refund at the provider. */
typedef enum {
    RFD_MADE,     /* the provider made it (a signed answer) */
    RFD_REFUSED,  /* a signed, final refusal: not made */
    RFD_NOT_SENT, /* the request never left: not made */
    RFD_UNKNOWN,  /* it may have reached the provider: ask later */
} refund_result_t;

/* The ledger and the counters of a refund the provider made. */
static int refund_settle(fg_db_t *db, const fg_payment_row_t *p, int64_t amount, int64_t refund_row_id, int64_t now)
{
    int64_t from_merchant;
    fg_stmt_t s;
    int rc = fg_refund_post(db, p, refund_row_id, amount, now, &from_merchant);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_REFUND_SETTLE)) != 0)
        return rc;
    fg_stmt_int(&s, amount);
    fg_stmt_int(&s, amount);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, p->id);
    if ((rc = fg_stmt_exec(&s)) != 0 || from_merchant == 0)
        return rc;
    if ((rc = fg_stmt_init(&s, db, SQL_ORDER_REFUNDED)) != 0)
        return rc;
    fg_stmt_int(&s, from_merchant);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, p->order_id);
    return fg_stmt_exec(&s);
}

/* Inside the caller's transaction: records the outcome of a pending refund.
 * RFD_MADE settles it (journal, counters, refund.succeeded); RFD_REFUSED and
 * RFD_NOT_SENT fail it and release its reservation (refund.failed);
 * RFD_UNKNOWN leaves it pending, reserved, asked about again at next_query_at.
 * body receives the refund's JSON.  0; 1 when it was no longer pending
 * (*status_out says what it is); FG_ENOTFOUND; or a database error. */
static int refund_record(fg_db_t *db, const char *refund_id, uint64_t merchant_id, refund_result_t result,
                         const char *provider_refund_id, int64_t next_query_at, fg_buf_t *body, char *status_out,
                         size_t status_cap)
{
    fg_payment_row_t p;
    fg_stmt_t s;
    fg_buf_t reason = FG_BUF_INIT, payment_id = FG_BUF_INIT;
    fg_refund_status_t status = FG_REFUND_PENDING;
    int64_t now = fg_now_ms(), row_id = 0, amount = 0, created = 0;
    int reason_null = 0;
    memset(&p, 0, sizeof(p));
    fg_buf_reset(body);
    int rc = fg_stmt_init(&s, db, SQL_REFUND_ROW);
    if (rc != 0)
        goto Exit;
    fg_stmt_cstr(&s, refund_id);
    fg_stmt_out_int(&s, &row_id, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_text(&s, &reason, &reason_null);
    fg_stmt_out_int(&s, &created, NULL);
    fg_stmt_out_text(&s, &payment_id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_fetch(&s)) < 0)
        goto Exit;
    fg_stmt_done(&s);
    if (rc != 1) {
        rc = FG_ENOTFOUND;
        goto Exit;
    }
    /* the payment's row lock first, as every refund of it takes it */
    if ((rc = fg_payment_load(db, payment_id.data, merchant_id, 1, &p)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_REFUND_LOCK)) != 0)
        goto Exit;
    fg_stmt_int(&s, row_id);
    fg_stmt_out_enum(&s, &status, FG_REFUND_STATUS_COUNT);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_fetch(&s)) < 0)
        goto Exit;
    fg_stmt_done(&s);
    if (rc != 1) {
        rc = FG_ENOTFOUND;
        goto Exit;
    }
    const char *why = reason_null ? NULL : reason.data;
    if (status != FG_REFUND_PENDING) {
        snprintf(status_out, status_cap, "%s", fg_refund_status_name(status));
        fg_refund_json(body, refund_id, &p, amount, status, why, created);
        rc = 1;
        goto Exit;
    }
    if (result == RFD_UNKNOWN) {
        if ((rc = fg_stmt_init(&s, db, SQL_REFUND_LATER)) != 0)
            goto Exit;
        fg_stmt_int(&s, next_query_at);
        fg_stmt_int(&s, now);
        fg_stmt_cstr(&s, refund_id);
        if ((rc = fg_stmt_exec(&s)) == 0)
            fg_refund_json(body, refund_id, &p, amount, FG_REFUND_PENDING, why, created);
        snprintf(status_out, status_cap, "%s", fg_refund_status_name(FG_REFUND_PENDING));
        goto Exit;
    }
    fg_refund_status_t final = result == RFD_MADE ? FG_REFUND_SUCCEEDED : FG_REFUND_FAILED;
    if ((rc = fg_stmt_init(&s, db, SQL_REFUND_FINISH)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, fg_refund_status_name(final));
    fg_stmt_cstr(&s, result == RFD_MADE ? provider_refund_id : NULL);
    fg_stmt_int(&s, now);
    fg_stmt_cstr(&s, refund_id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    if (result == RFD_MADE) {
        rc = refund_settle(db, &p, amount, row_id, now);
    } else if ((rc = fg_stmt_init(&s, db, SQL_REFUND_SETTLE)) == 0) {
        fg_stmt_int(&s, 0);
        fg_stmt_int(&s, amount); /* release the reservation */
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, p.id);
        rc = fg_stmt_exec(&s);
    }
    if (rc != 0)
        goto Exit;
    fg_refund_json(body, refund_id, &p, amount, final, why, created);
    rc = fg_event_insert(db, (uint64_t)p.merchant_id, result == RFD_MADE ? "refund.succeeded" : "refund.failed",
                         p.order_id, body, now);
    snprintf(status_out, status_cap, "%s", fg_refund_status_name(final));
Exit:
    fg_payment_row_free(&p);
    fg_buf_free(&reason);
    fg_buf_free(&payment_id);
    return rc;
}

typedef struct {
    refund_t *r;
    refund_result_t result;
    char provider_refund_id[FG_PROVIDER_TXN_MAX + 1];
    const char *reason;
    fg_buf_t body;
} refund_end_t;

static int refund_end_tx(fg_db_t *db, void *arg)
{
    refund_end_t *e = arg;
    refund_t *r = e->r;
    char status[16] = "";
    int64_t next = fg_now_ms() + r->call->cfg->payments_pending_query_after_s * 1000;
    int rc = refund_record(db, r->refund_id, r->call->merchant_id, e->result, e->provider_refund_id, next, &e->body,
                           status, sizeof(status));
    if (rc == 1)
        rc = FG_ERETRY; /* cannot happen: only the job settles a refund before this, after a lease */
    if (rc != 0)
        return rc;
    /* the answer, stored under the key in this transaction (a 5xx drops it) */
    if (e->result == RFD_MADE) {
        fg_call_json(r->call, 201, &e->body);
    } else if (e->result == RFD_UNKNOWN) {
        /* the provider may have made it: never answer "retry", which would
         * send a second refund under a new id */
        fg_call_json(r->call, 202, &e->body);
    } else if (e->result == RFD_REFUSED) {
        fg_call_error(r->call, 409, "conflict", "provider_refused", e->reason, NULL);
    } else {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "the payment provider is unreachable; refund %s was not sent and can be retried",
                      r->refund_id);
        fg_call_error(r->call, 502, "unavailable", "provider_unavailable", msg.data, NULL);
        fg_buf_free(&msg);
    }
    return fg_idem_finish(db, r->call, r->call->status, &r->call->response);
}

static void refund_answer_refusal(fg_call_t *call, const refund_t *r)
{
    if (r->outcome == REFUND_NOT_FOUND) {
        fg_call_error(call, 404, "not_found", "payment_not_found", "no such payment", NULL);
    } else if (r->outcome == REFUND_NOT_SUCCEEDED) {
        fg_call_error(call, 409, "conflict", "payment_not_refundable", "only a succeeded payment can be refunded",
                      NULL);
    } else if (r->outcome == REFUND_TOO_MUCH) {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "amount exceeds what is refundable (%lld)", (long long)r->refundable);
        fg_call_error(call, 422, "invalid_request", "refund_exceeds_refundable", msg.data, "amount");
        fg_buf_free(&msg);
    } else if (r->outcome == REFUND_RANGE) {
        fg_call_error(call, 422, "invalid_request", "amount_out_of_range",
                      "the amount is outside what this provider refunds (MoMo: 1,000..50,000,000 VND)", "amount");
    } else {
        fg_call_error(call, 422, "invalid_request", "refund_not_supported",
                      "this payment cannot be refunded through its provider (a bank transfer is returned by an "
                      "outgoing transfer)",
                      NULL);
    }
}

void fg_providers_refund(fg_call_t *call, fg_db_t *db, int64_t amount, const char *reason)
{
    refund_t r = {.call = call, .amount = amount, .reason = reason};
    refund_end_t e = {.r = &r};
    char why[300] = "";
    fg_http_response_t res;
    int rc = fg_db_tx(db, refund_begin_tx, &r);
    if (rc == FG_ECONFLICT && r.idem_conflict) {
        answer_existing(call, db);
        goto Exit;
    }
    if (rc == 1) {
        refund_answer_refusal(call, &r);
        goto Exit;
    }
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
        goto Exit;
    }
    fg_refund_in_t in = {call->params[0], NULL, 0, r.refund_id, r.amount, 0, r.reason, r.now};
    if (call_provider(&r.req, &res, why, sizeof(why)) != 0) {
        /* no answer: only a request that never left is known not to be made */
        e.result = res.not_sent ? RFD_NOT_SENT : RFD_UNKNOWN;
    } else {
        int prc = r.adapter->refund_response(call->cfg, &in, res.status, res.body.data, res.body.len,
                                             e.provider_refund_id, sizeof(e.provider_refund_id), why, sizeof(why));
        e.result = prc == 0 ? RFD_MADE : prc == FG_EINVALID ? RFD_REFUSED : RFD_UNKNOWN;
    }
    fg_http_response_free(&res);
    e.reason = why;
    if (e.result != RFD_MADE) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN,
                     e.result == RFD_UNKNOWN ? "refund outcome unknown: left pending for the status query"
                                             : "refund not made by the provider");
        fg_log_str(&l, "adapter", r.adapter->name);
        fg_log_str(&l, "refund", r.refund_id);
        fg_log_str(&l, "reason", why);
        fg_log_end(&l);
    }
    rc = fg_db_tx(db, refund_end_tx, &e);
    if (rc != 0)
        fg_call_db_error(call, db, rc); /* the refund stays pending, reserved: the status job settles it */
Exit:
    fg_buf_free(&e.body);
    fg_provider_request_free(&r.req);
}

/* ---- the status job's side: refunds whose outcome is unknown --------------------- */

typedef struct {
    int64_t id, amount, query_count, payment_created;
    char refund_id[FG_ID_CAP], payment_id[FG_ID_CAP], adapter[16];
    char provider_txn_id[FG_PROVIDER_TXN_MAX + 1];
} due_refund_t;

typedef struct {
    int limit, count;
    due_refund_t due[REFUND_BATCH_MAX];
} refund_claim_t;

static int refund_claim_tx(fg_db_t *db, void *arg)
{
    refund_claim_t *c = arg;
    int64_t now = fg_now_ms(), id, amount, count, created;
    fg_buf_t refund_id = FG_BUF_INIT, payment_id = FG_BUF_INIT, adapter = FG_BUF_INIT, txn = FG_BUF_INIT;
    int txn_null = 0;
    fg_stmt_t s;
    c->count = 0;
    int rc = fg_stmt_init(&s, db, SQL_REFUND_CLAIM);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, c->limit);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &refund_id, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_int(&s, &count, NULL);
    fg_stmt_out_text(&s, &payment_id, NULL);
    fg_stmt_out_text(&s, &adapter, NULL);
    fg_stmt_out_text(&s, &txn, &txn_null);
    fg_stmt_out_int(&s, &created, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && c->count < c->limit) {
            due_refund_t *d = &c->due[c->count++];
            d->id = id;
            d->amount = amount;
            d->query_count = count + 1;
            d->payment_created = created;
            snprintf(d->refund_id, sizeof(d->refund_id), "%s", refund_id.data);
            snprintf(d->payment_id, sizeof(d->payment_id), "%s", payment_id.data);
            snprintf(d->adapter, sizeof(d->adapter), "%s", adapter.data);
            snprintf(d->provider_txn_id, sizeof(d->provider_txn_id), "%s", txn_null ? "" : txn.data);
        }
        fg_stmt_done(&s);
    }
    fg_buf_free(&refund_id);
    fg_buf_free(&payment_id);
    fg_buf_free(&adapter);
    fg_buf_free(&txn);
    for (int i = 0; rc >= 0 && i < c->count; i++) {
        if ((rc = fg_stmt_init(&s, db, SQL_REFUND_LEASE)) != 0)
            break;
        fg_stmt_int(&s, now + REFUND_QUERY_LEASE_MS);
        fg_stmt_int(&s, c->due[i].id);
        rc = fg_stmt_exec(&s);
    }
    return rc < 0 ? rc : 0;
}

typedef struct {
    const due_refund_t *d;
    refund_result_t result;
    const char *provider_refund_id;
    int64_t next_at;
    fg_buf_t body;
    char status[16];
} refund_job_t;

static int refund_job_tx(fg_db_t *db, void *arg)
{
    refund_job_t *j = arg;
    int rc = refund_record(db, j->d->refund_id, 0, j->result, j->provider_refund_id, j->next_at, &j->body, j->status,
                           sizeof(j->status));
    return rc == 1 ? 0 : rc; /* settled meanwhile: nothing to do */
}

static int64_t refund_backoff_ms(const fg_config_t *cfg, int64_t query_count)
{
    int64_t ms = cfg->payments_pending_query_after_s * 1000;
    if (ms <= 0)
        ms = 1000;
    for (int64_t i = 1; i < query_count && ms < REFUND_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < REFUND_BACKOFF_MAX_MS ? ms : REFUND_BACKOFF_MAX_MS;
}

/* Asks the provider about one refund and records what it says. */
static int refund_query_one(fg_db_t *db, const fg_config_t *cfg, const due_refund_t *d)
{
    char request_id[FG_ID_CAP], reason[300] = "", provider_refund_id[FG_PROVIDER_TXN_MAX + 1] = "";
    fg_provider_request_t req = {FG_BUF_INIT, FG_BUF_INIT, 0};
    fg_http_response_t res;
    int64_t now = fg_now_ms();
    int is_vnpay = strcmp(d->adapter, "vnpay") == 0, rc;
    if (fg_id_new("", request_id, sizeof(request_id)) < 0)
        return 0;
    fg_refund_in_t in = {d->payment_id, d->provider_txn_id, d->payment_created, d->refund_id, d->amount, 0, NULL, now};
    rc = is_vnpay ? fg_vnpay_refund_query_request(cfg, &in, request_id, &req)
                  : fg_momo_refund_query_request(cfg, &in, request_id, &req);
    if (rc != 0) {
        snprintf(reason, sizeof(reason), "%s is not configured", d->adapter);
        rc = FG_EUNAVAILABLE;
    } else if (fg_http_post_json(req.url.data, req.body.data, req.body.len, req.timeout_ms, &res) != 0) {
        snprintf(reason, sizeof(reason), "no answer: %s", res.error);
        rc = FG_EUNAVAILABLE;
        fg_http_response_free(&res);
    } else {
        rc = is_vnpay
                 ? fg_vnpay_refund_query_response(cfg, &in, res.status, res.body.data, res.body.len, provider_refund_id,
                                                  sizeof(provider_refund_id), reason, sizeof(reason))
                 : fg_momo_refund_query_response(cfg, &in, res.status, res.body.data, res.body.len, provider_refund_id,
                                                 sizeof(provider_refund_id), reason, sizeof(reason));
        fg_http_response_free(&res);
    }
    fg_provider_request_free(&req);
    refund_job_t j = {.d = d, .provider_refund_id = provider_refund_id};
    j.result = rc == 0 ? RFD_MADE : rc == FG_ENOTFOUND ? RFD_REFUSED : RFD_UNKNOWN;
    j.next_at = now + refund_backoff_ms(cfg, d->query_count);
    if (j.result == RFD_UNKNOWN) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "refund status query gave no final answer");
        fg_log_str(&l, "refund", d->refund_id);
        fg_log_str(&l, "reason", reason);
        fg_log_end(&l);
    }
    rc = fg_db_tx(db, refund_job_tx, &j);
    fg_buf_free(&j.body);
    return rc;
}

int fg_providers_refund_round(fg_db_t *db, const fg_config_t *cfg, int limit)
{
    refund_claim_t c = {.limit = limit < REFUND_BATCH_MAX ? limit : REFUND_BATCH_MAX};
    int rc = fg_db_tx(db, refund_claim_tx, &c);
    if (rc != 0)
        return rc;
    for (int i = 0; i < c.count; i++)
        if (refund_query_one(db, cfg, &c.due[i]) < 0) {
            fg_log_t l;
            fg_log_begin(&l, FG_LOG_WARN, "refund status not recorded");
            fg_log_str(&l, "refund", c.due[i].refund_id);
            fg_log_str(&l, "error", fg_db_error(db));
            fg_log_end(&l);
        }
    return c.count;
}
