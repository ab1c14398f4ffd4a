/*
 * payments.c - the payment and refund routes: POST /v1/orders/{id}/payments,
 * GET /v1/payments/{id}, POST and GET /v1/payments/{id}/refunds,
 * GET /v1/refunds/{id}.
 *
 * The money work is the payment module's (payments/payments.h); here the
 * request is read, the transactions composed with the Idempotency-Key, and
 * the outcome answered.  A provider reached over HTTP is called between two
 * transactions; the key is held 'running' meanwhile (a request that finds it
 * gets 409 idempotency_key_in_progress).
 */
#include "api/handlers.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "core/text.h"
#include "db/group.h"
#include "orders/orders.h"
#include "payments/payments.h"

/* An amount read as an order's is (orders/validate.c): a value that is no
 * JSON number, or a number with a fraction or an exponent, is of the wrong
 * type (400 invalid_type); digits beyond int64 are an integer out of range,
 * handed on as the largest (negative: the smallest) amount for the caller's
 * range checks to refuse (422).  0 with *out, or -1 for the wrong type. */
static int amount_integer(yajl_val v, int64_t *out)
{
    if (!YAJL_IS_NUMBER(v))
        return -1;
    const char *raw = v->u.number.r;
    const char *digits = raw[0] == '-' ? raw + 1 : raw;
    if (digits[0] == '\0' || strspn(digits, "0123456789") != strlen(digits))
        return -1;
    *out = YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : raw[0] == '-' ? INT64_MIN : INT64_MAX;
    return 0;
}

/* ---- POST /v1/orders/{id}/payments ---------------------------------------- */

typedef struct {
    fg_call_t *call;
    fg_merchant_ref_t merchant;
    fg_payment_new_t pn;
    fg_buf_t body;
    int idem_conflict;
} create_t;

static void payment_body(create_t *c)
{
    fg_buf_t extra = FG_BUF_INIT;
    fg_payment_started_json(&extra, &c->pn.started);
    fg_buf_reset(&c->body);
    fg_payment_json(&c->body, &c->pn.payment, c->call->cfg->public_base_url, extra.data);
    fg_buf_free(&extra);
}

/* An adapter that starts in process: one transaction. */
static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    c->idem_conflict = 0;
    int rc = fg_payment_create(db, c->call->cfg, &c->merchant, c->call->params[0], c->call->param_lens[0], &c->pn);
    if (rc != 0)
        return rc;
    payment_body(c);
    rc = fg_idem_store(db, c->call, 201, &c->body);
    c->idem_conflict = rc == FG_ECONFLICT;
    return rc;
}

/* An adapter reached over HTTP: the pending payment and the running key. */
static int create_begin_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    int rc = fg_idem_begin(db, c->call, fg_now_ms());
    if ((c->idem_conflict = rc == FG_ECONFLICT) || rc != 0)
        return rc;
    return fg_payment_create(db, c->call->cfg, &c->merchant, c->call->params[0], c->call->param_lens[0], &c->pn);
}

/* After the call: the outcome and the answer under the key (a 5xx drops it). */
static int create_end_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    int rc = fg_payment_record_start(db, &c->merchant, &c->pn);
    if (rc != 0)
        return rc;
    fg_buf_reset(&c->body);
    if (c->pn.provider_rc != 0)
        return fg_idem_finish(db, c->call, 502, &c->body);
    payment_body(c);
    return fg_idem_finish(db, c->call, 201, &c->body);
}

static void answer_create_refusal(fg_call_t *call, const create_t *c, int rc)
{
    int remote = c->pn.adapter->start_request != NULL;
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "order_not_found", "no such order", NULL);
    } else if (rc == FG_ESTATE) {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "the order is %s: only an open or partially paid order can be paid",
                      fg_order_status_name(c->pn.order_status));
        fg_call_error(call, 409, "conflict", "order_not_payable", msg.data, NULL);
        fg_buf_free(&msg);
    } else if (rc == FG_EEXCEEDS) {
        fg_call_error(call, 422, "invalid_request", "amount_invalid",
                      "amount must be what the order still owes, or less when it allows partial payment", "amount");
    } else if (rc == FG_ERANGE) {
        fg_call_error(call, 422, "invalid_request", "amount_out_of_range",
                      "the amount is outside what this payment method accepts (MoMo: 1,000..50,000,000 VND)", "amount");
    } else if (remote) {
        fg_call_error(call, 422, "invalid_request", "method_unavailable",
                      "this payment method is not configured for this currency", "method");
    } else {
        fg_call_error(call, 422, "invalid_request", "method_unavailable",
                      "this payment method is not configured, or cannot carry this amount or currency", "method");
    }
}

static int is_refusal(int rc)
{
    return rc == FG_ENOTFOUND || rc == FG_ESTATE || rc == FG_EEXCEEDS || rc == FG_ERANGE || rc == FG_EUNSUPPORTED;
}

int fg_payments_create_parse(fg_call_t *call, const fg_adapter_t **adapter, int64_t *requested)
{
    fg_field_error_t err;
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL) {
        fg_call_field_error(call, &err);
        return -1;
    }
    static const char *const FIELDS[] = {"method", "amount"};
    if (fg_json_known_fields(root, FIELDS, 2, &err) != 0) {
        fg_call_field_error(call, &err);
        yajl_tree_free(root);
        return -1;
    }
    const char *method_path[] = {"method", NULL}, *amount_path[] = {"amount", NULL};
    yajl_val method = yajl_tree_get(root, method_path, yajl_t_any);
    yajl_val amount = yajl_tree_get(root, amount_path, yajl_t_any);
    int given = amount != NULL && !YAJL_IS_NULL(amount); /* else what the order owes */
    int rc = -1;
    *requested = 0;
    if (method == NULL || !YAJL_IS_STRING(method)) {
        fg_call_error(call, 400, "invalid_request", method == NULL ? "missing_field" : "invalid_type",
                      "method is required: one of vnpay, momo, vietqr, sandbox", "method");
    } else if ((*adapter = fg_adapter_find(YAJL_GET_STRING(method))) == NULL) {
        fg_call_error(call, 422, "invalid_request", "method_unavailable", "this payment method is not available",
                      "method");
    } else if (given && amount_integer(amount, requested) != 0) {
        fg_call_error(call, 400, "invalid_request", "invalid_type", "amount must be an integer number of minor units",
                      "amount");
    } else if (given && *requested < 1) {
        fg_call_error(call, 422, "invalid_request", "amount_invalid", "amount must be a positive integer", "amount");
    } else {
        rc = 0;
    }
    yajl_tree_free(root);
    return rc;
}

static void create_remote(fg_call_t *call, fg_db_t *db, create_t *c)
{
    int rc = fg_db_tx(db, create_begin_tx, c);
    if (rc == FG_ECONFLICT && c->idem_conflict) {
        fg_idem_answer_conflict(call, db);
        return;
    }
    if (is_refusal(rc)) {
        answer_create_refusal(call, c, rc);
        return;
    }
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
        return;
    }
    fg_payment_call_provider(call->cfg, &c->pn);
    rc = fg_db_tx(db, create_end_tx, c);
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else if (c->pn.provider_rc == 0) {
        fg_call_json(call, 201, &c->body);
    } else if (c->pn.provider_rc == FG_EINVALID) {
        fg_call_error(call, 502, "unavailable", "provider_refused", c->pn.reason, NULL);
    } else {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg,
                      "the payment provider is unavailable; payment %s stays pending and is checked with "
                      "the provider later",
                      c->pn.payment_id);
        fg_call_error(call, 502, "unavailable", "provider_unavailable", msg.data, NULL);
        fg_buf_free(&msg);
    }
}

void fg_payments_create(fg_call_t *call, fg_db_t *db)
{
    create_t c = {.call = call, .merchant = fg_call_merchant(call)};
    if (fg_payments_create_parse(call, &c.pn.adapter, &c.pn.requested) != 0)
        goto Exit;
    if (c.pn.adapter->start_request != NULL) {
        create_remote(call, db, &c);
        goto Exit;
    }
    int rc = fg_db_tx(db, create_tx, &c);
    if (rc == 0)
        fg_call_json(call, 201, &c.body);
    else if (is_refusal(rc))
        answer_create_refusal(call, &c, rc);
    else if (rc == FG_ECONFLICT && c.idem_conflict)
        fg_idem_answer_conflict(call, db);
    else
        fg_call_db_error(call, db, rc);
Exit:
    fg_payment_new_free(&c.pn);
    fg_buf_free(&c.body);
}

/* ---- GET /v1/payments/{id} ------------------------------------------------ */

/* A client that lost the create's answer can still send the payer to the
 * provider's page or show the QR: a pending payment carries its redirect_url
 * and qr while they can still be paid through (fg_payment_offer); once the
 * payment is settled, or its order no longer owes it, they are left out. */
void fg_payments_get(fg_call_t *call, fg_db_t *db)
{
    fg_payment_row_t p;
    fg_payment_started_t started = {FG_BUF_INIT, FG_BUF_INIT};
    fg_buf_t b = FG_BUF_INIT, extra = FG_BUF_INIT;
    fg_payment_row_init(&p);
    int rc = fg_payment_load(db, call->params[0], call->merchant_id, 0, &p);
    if (rc == 0 && (rc = fg_payment_offer(db, call->cfg, &p, fg_now_ms(), &started)) == 0) {
        fg_payment_started_json(&extra, &started);
        fg_payment_json(&b, &p, call->cfg->public_base_url, extra.len > 0 ? extra.data : NULL);
    }
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "payment_not_found", "no such payment", NULL);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_call_json(call, 200, &b);
    }
    fg_db_end(db);
    fg_payment_row_free(&p);
    fg_buf_free(&started.redirect_url);
    fg_buf_free(&started.qr_payload);
    fg_buf_free(&b);
    fg_buf_free(&extra);
}

/* ---- GET /v1/refunds/{id} ------------------------------------------------- */

void fg_refunds_get(fg_call_t *call, fg_db_t *db)
{
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_refund_get(db, call->merchant_id, call->params[0], &b);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "refund_not_found", "no such refund", NULL);
    else if (rc != 0)
        fg_call_db_error(call, db, rc);
    else
        fg_call_json(call, 200, &b);
    fg_buf_free(&b);
}

/* ---- GET /v1/payments/{id}/refunds ---------------------------------------- */

void fg_refunds_list(fg_call_t *call, fg_db_t *db)
{
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return;
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_refund_list(db, call->merchant_id, call->params[0], &page, &b);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "payment_not_found", "no such payment", NULL);
    else if (rc != 0)
        fg_call_db_error(call, db, rc);
    else
        fg_call_json(call, 200, &b);
    fg_buf_free(&b);
}

/* ---- POST /v1/payments/{id}/refunds --------------------------------------- */

/* Refunds a worker takes together are begun as one set (fg_refunds_create_many,
 * below); one taken alone, and each member of a set that failed, runs
 * through group commit (db/group.h): the reservation (with a provider in
 * process, the whole refund) and, after an outside provider's answer, the
 * record.  A refused member (more than is refundable, a payment not
 * refundable) fails its set or shared transaction, and every member then
 * runs alone, so each gets its own answer.  Provider calls stay outside any
 * transaction; a set's go out at once (fg_refund_call_providers). */
#define REFUND_GROUP_LEADERS 2
#define REFUND_GROUP_MEMBERS 32
static fg_db_group_t refund_group = FG_DB_GROUP_INIT("refunds", REFUND_GROUP_LEADERS, REFUND_GROUP_MEMBERS);

typedef struct {
    fg_call_t *call;
    fg_merchant_ref_t merchant;
    fg_refund_t r;
    int idem_conflict;
    int not_sent; /* the provider in process did not take it: nothing was written */
} refund_t;

/* The refund's answer, stored under the key in the same transaction (a 5xx
 * drops the key so that the request can be retried). */
static int refund_answer(fg_db_t *db, refund_t *x)
{
    fg_call_t *call = x->call;
    fg_refund_t *r = &x->r;
    if (r->local || r->result == FG_REFUND_MADE) {
        fg_call_json(call, 201, &r->json);
    } else if (r->result == FG_REFUND_UNKNOWN) {
        /* the provider may have made it: never answer "retry", which would
         * send a second refund under a new id */
        fg_call_json(call, 202, &r->json);
    } else if (r->result == FG_REFUND_REFUSED) {
        fg_call_error(call, 409, "conflict", "provider_refused", r->why, NULL);
    } else {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "the payment provider is unreachable; refund %s was not sent and can be retried",
                      r->refund_id);
        fg_call_error(call, 502, "unavailable", "provider_unavailable", msg.data, NULL);
        fg_buf_free(&msg);
    }
    return fg_idem_finish(db, call, call->status, &call->response);
}

/* The reservation and the running key; a provider in process is asked and
 * answered in this same transaction. */
static int refund_begin_tx(fg_db_t *db, void *arg)
{
    refund_t *x = arg;
    fg_call_t *call = x->call;
    call->idem_stored = 0; /* a re-run starts over */
    x->not_sent = 0;
    int rc = fg_idem_begin(db, call, fg_now_ms());
    if ((x->idem_conflict = rc == FG_ECONFLICT) || rc != 0)
        return rc;
    if ((rc = fg_refund_begin(db, call->cfg, &x->merchant, call->params[0], &x->r)) != 0)
        return rc;
    if (!x->r.local) /* asked after COMMIT: the key says which refund it is until it is answered */
        return fg_idem_mark(db, call, x->r.refund_id);
    fg_refund_call_provider(call->cfg, &x->r);
    if ((x->not_sent = x->r.result == FG_REFUND_NOT_SENT))
        return FG_EUNAVAILABLE; /* nothing is written */
    if ((rc = fg_refund_record(db, call->cfg, &x->merchant, &x->r)) != 0)
        return rc;
    return refund_answer(db, x);
}

static int refund_end_tx(fg_db_t *db, void *arg)
{
    refund_t *x = arg;
    x->call->idem_stored = 0;
    int rc = fg_refund_record(db, x->call->cfg, &x->merchant, &x->r);
    if (rc == FG_ESTATE)
        rc = FG_ERETRY; /* cannot happen: only the job settles a refund before this, after a lease */
    return rc != 0 ? rc : refund_answer(db, x);
}

/* A refund made that cannot be recorded: its adjustment receipt's series is
 * used up (docs/RECEIPTS.md).  pending: the provider was asked and the
 * refund stays pending for the status job; otherwise nothing was made. */
static void answer_series_full(fg_call_t *call, int pending)
{
    fg_call_error(call, 503, "unavailable", "receipt_series_used_up",
                  pending ? "the merchant's receipt series is used up: the refund stays pending until an admin sets a "
                            "new serial"
                          : "the merchant's receipt series is used up: no refund is made until an admin sets a new "
                            "serial",
                  NULL);
}

static void answer_refund_refusal(fg_call_t *call, const fg_refund_t *r, int rc)
{
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "payment_not_found", "no such payment", NULL);
    } else if (rc == FG_ESTATE) {
        fg_call_error(call, 409, "conflict", "payment_not_refundable", "only a succeeded payment can be refunded",
                      NULL);
    } else if (rc == FG_EEXCEEDS) {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "amount exceeds what is refundable (%lld)", (long long)r->refundable);
        fg_call_error(call, 422, "invalid_request", "refund_exceeds_refundable", msg.data, "amount");
        fg_buf_free(&msg);
    } else if (rc == FG_ERANGE) {
        fg_call_error(call, 422, "invalid_request", "amount_out_of_range",
                      "the amount is outside what this provider refunds (MoMo: 1,000..50,000,000 VND)", "amount");
    } else if (rc == FG_EUNSUPPORTED) {
        fg_call_error(call, 422, "invalid_request", "refund_not_supported",
                      "this payment cannot be refunded through its provider (a bank transfer is returned by an "
                      "outgoing transfer)",
                      NULL);
    } else {
        fg_call_error(call, 502, "unavailable", "provider_unavailable",
                      "the payment provider refused or did not answer", NULL);
    }
}

int fg_refunds_create_parse(fg_call_t *call, yajl_val *root, int64_t *amount_out, const char **reason_out)
{
    fg_field_error_t err;
    *root = fg_call_json_object(call, &err);
    if (*root == NULL) {
        fg_call_field_error(call, &err);
        return -1;
    }
    static const char *const FIELDS[] = {"amount", "reason"};
    if (fg_json_known_fields(*root, FIELDS, 2, &err) != 0) {
        fg_call_field_error(call, &err);
        return -1;
    }
    const char *amount_path[] = {"amount", NULL}, *reason_path[] = {"reason", NULL};
    yajl_val amount = yajl_tree_get(*root, amount_path, yajl_t_any);
    yajl_val reason = yajl_tree_get(*root, reason_path, yajl_t_any);
    if (amount == NULL || YAJL_IS_NULL(amount)) {
        fg_call_error(call, 400, "invalid_request", "missing_field",
                      "amount is required: an integer number of minor units", "amount");
        return -1;
    }
    if (amount_integer(amount, amount_out) != 0) {
        fg_call_error(call, 400, "invalid_request", "invalid_type", "amount must be an integer number of minor units",
                      "amount");
        return -1;
    }
    if (*amount_out < 1) {
        fg_call_error(call, 422, "invalid_request", "amount_invalid", "amount must be positive", "amount");
        return -1;
    }
    const char *text = reason != NULL && YAJL_IS_STRING(reason) ? reason->u.string : NULL;
    if (reason != NULL && !YAJL_IS_NULL(reason) &&
        (text == NULL || fg_utf8_length(text, strlen(text)) > FG_REFUND_REASON_MAX)) {
        fg_call_error(call, 422, "invalid_request", "invalid_reason",
                      "reason must be a string of at most 500 characters", "reason");
        return -1;
    }
    *reason_out = text;
    return 0;
}

/* After the provider's answer: the record, and the answer. */
static void refund_recorded(refund_t *x, fg_db_t *db)
{
    int rc = fg_db_group_tx(&refund_group, db, refund_end_tx, x);
    if (rc != 0 && fg_db_commit_unknown(db)) {
        /* lost during COMMIT: the record may be in; the key says which when it is retried */
        fg_call_db_error(x->call, db, rc);
        return;
    }
    if (rc != 0) {
        /* The provider was asked but its answer cannot be recorded (the
         * adjustment receipt's series is used up; the database failed past
         * the retries).  The refund stays pending for the status job, and
         * the key keeps that answer (202, pending): a key left running would
         * expire and let a retry with it send a second refund. */
        fg_refund_result_t asked = x->r.result;
        x->r.result = FG_REFUND_UNKNOWN;
        int pending = fg_db_tx(db, refund_end_tx, x);
        x->r.result = asked;
        if (pending == 0)
            return;
    }
    if (rc == FG_ERANGE && x->r.receipt_series_full)
        answer_series_full(x->call, 1);
    else if (rc != 0)
        fg_call_db_error(x->call, db, rc);
}

/* What follows a refund's first transaction (rc): its answer, or for an
 * outside provider the call after COMMIT and the record. */
static void refund_conclude(refund_t *x, fg_db_t *db, int rc)
{
    fg_call_t *call = x->call;
    if (rc == FG_ERANGE && x->r.receipt_series_full) {
        answer_series_full(call, 0);
    } else if (rc == FG_ECONFLICT && x->idem_conflict) {
        fg_idem_answer_conflict(call, db);
    } else if (is_refusal(rc) || (rc == FG_EUNAVAILABLE && x->not_sent)) {
        /* FG_EUNAVAILABLE is the database's too (a lost connection): that is
         * a 503 to retry, not the provider's 502 */
        answer_refund_refusal(call, &x->r, rc);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else if (!x->r.local) {
        /* the provider is asked after COMMIT; the refund stays pending and
         * reserved whatever happens next, and the status job settles it */
        fg_refund_call_provider(call->cfg, &x->r);
        refund_recorded(x, db);
    }
}

/* A retry of a refund request whose first run was never answered (a crash
 * or the database gone between asking the provider and recording its
 * answer): the refund its key names, as it stands now, never a second one. */
static int refund_resume(fg_call_t *call, fg_db_t *db, const char *mark, int *status, fg_buf_t *body)
{
    fg_refund_status_t state = FG_REFUND_PENDING;
    int rc = fg_refund_state(db, call->cfg, call->merchant_id, mark, body, &state);
    if (rc != 0)
        return rc;
    if (state == FG_REFUND_FAILED) {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "refund %s was not made by the payment provider", mark);
        fg_buf_reset(body);
        fg_buf_puts(body, "{\"error\":{");
        fg_json_kv_str(body, 0, "type", "conflict");
        fg_json_kv_str(body, 1, "code", "provider_refused");
        fg_json_kv_str(body, 1, "message", msg.data);
        fg_buf_puts(body, "}}");
        fg_buf_free(&msg);
    }
    *status = state == FG_REFUND_PENDING ? 202 : state == FG_REFUND_SUCCEEDED ? 201 : 409;
    return 0;
}

void fg_refunds_create(fg_call_t *call, fg_db_t *db)
{
    call->idem_resume = refund_resume;
    refund_t x = {.call = call, .merchant = fg_call_merchant(call)};
    yajl_val root = NULL;
    if (fg_refunds_create_parse(call, &root, &x.r.amount, &x.r.reason) == 0)
        refund_conclude(&x, db, fg_db_group_tx(&refund_group, db, refund_begin_tx, &x));
    fg_refund_free(&x.r);
    if (root != NULL)
        yajl_tree_free(root);
}

/* Refunds a worker took together from its queue, begun as one set
 * (fg_refund_set: one lock of all their payments, one update per table);
 * their keys are written with them, 'done' for a refund made in process,
 * 'running' for one whose provider is asked after COMMIT. */
static fg_db_group_t refund_set_group = FG_DB_GROUP_INIT("refunds.set", 1, 1);

typedef struct {
    refund_t **x; /* x[k]'s refund is members[k] */
    fg_refund_member_t *members;
    int n;
} refund_set_run_t;

static int refund_set_tx(fg_db_t *db, void *arg)
{
    refund_set_run_t *run = arg;
    int rc = fg_refund_set(db, run->x[0]->call->cfg, run->members, run->n);
    for (int i = 0; rc == 0 && i < run->n; i++) {
        refund_t *x = run->x[i];
        x->call->idem_stored = 0;
        /* a set's provider calls go in waves: its keys are leased past the last (and its record) */
        rc = x->r.local ? fg_idem_store(db, x->call, 201, &x->r.json)
                        : fg_idem_hold(db, x->call, x->r.now, FG_IDEM_RUNNING_LEASE_MS + fg_refund_set_lease_ms(run->n),
                                       x->r.refund_id);
    }
    return rc;
}

void fg_refunds_create_many(fg_call_t **calls, int n, fg_db_t *db)
{
    refund_t *all = fg_calloc((size_t)n, sizeof(*all)), **x = fg_calloc((size_t)n, sizeof(*x));
    fg_refund_member_t *members = fg_calloc((size_t)n, sizeof(*members));
    yajl_val *roots = fg_calloc((size_t)n, sizeof(*roots));
    int count = 0;
    for (int i = 0; i < n; i++) {
        calls[i]->idem_resume = refund_resume;
        all[i] = (refund_t){.call = calls[i], .merchant = fg_call_merchant(calls[i])};
        if (fg_refunds_create_parse(calls[i], &roots[i], &all[i].r.amount, &all[i].r.reason) != 0)
            continue; /* answered */
        members[count] = (fg_refund_member_t){&all[i].merchant, calls[i]->params[0], &all[i].r};
        x[count++] = &all[i];
    }
    refund_set_run_t run = {x, members, count};
    int rc = count > 1 ? fg_db_group_tx_set(&refund_set_group, db, refund_set_tx, &run, count) : FG_ERETRY;
    if (rc != 0 && count > 1 && fg_db_commit_unknown(db)) {
        /* lost during COMMIT: the refunds may be reserved, and run again
         * they would be reserved twice; each is answered 503 (a retry under
         * its Idempotency-Key finds what committed) */
        for (int i = 0; i < count; i++)
            refund_conclude(x[i], db, FG_EUNAVAILABLE);
    } else if (rc != 0) {
        for (int i = 0; i < count; i++)
            refund_conclude(x[i], db, fg_db_group_tx(&refund_group, db, refund_begin_tx, x[i]));
    } else {
        /* the outside providers are asked all at once, then each refund recorded */
        fg_refund_t **asked = fg_malloc((size_t)count * sizeof(*asked));
        int n_calls = 0;
        for (int i = 0; i < count; i++)
            if (x[i]->r.local)
                fg_call_json(x[i]->call, 201, &x[i]->r.json); /* its key is stored with it */
            else
                asked[n_calls++] = &x[i]->r;
        fg_refund_call_providers(x[0]->call->cfg, asked, n_calls);
        for (int i = 0; i < count; i++)
            if (!x[i]->r.local)
                refund_recorded(x[i], db);
        free(asked);
    }
    for (int i = 0; i < n; i++) {
        fg_refund_free(&all[i].r);
        if (roots[i] != NULL)
            yajl_tree_free(roots[i]);
    }
    free(all);
    free(x);
    free(members);
    free(roots);
}
