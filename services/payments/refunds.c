/*
 * refunds.c - POST /v1/payments/{id}/refunds.
 *
 * One transaction under the payment's row lock: concurrent refunds of one
 * payment serialise there, so together they can never exceed what it paid.
 * refundable = received - refunded - refunds still pending at the provider.
 */
#include "payments/payments_internal.h"
#include "api/handlers.h"
#include "payments/providers.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "core/text.h"
#include "ledger/ledger.h"
#include "orders/orders_internal.h"

static const char SQL_REFUND[] =
    "INSERT INTO refunds (public_id, payment_id, merchant_id, amount, currency, status, reason, provider_refund_id, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_PAYMENT_REFUNDED[] =
    "UPDATE payments SET amount_refunded = amount_refunded + ?, amount_refunding = amount_refunding + ?, "
    "updated_at = ? WHERE id = ?";
static const char SQL_ORDER_REFUNDED[] =
    "UPDATE orders SET amount_refunded = amount_refunded + ?, updated_at = ? WHERE id = ?";

typedef enum {
    REFUND_OK,
    REFUND_NOT_FOUND,
    REFUND_NOT_SUCCEEDED,
    REFUND_TOO_MUCH,
    REFUND_PROVIDER,
    REFUND_REMOTE
} refund_outcome_t;

typedef struct {
    fg_call_t *call;
    int64_t amount;
    const char *reason;
    refund_outcome_t outcome;
    int64_t refundable;
    fg_buf_t body;
    int idem_conflict;
} refund_t;

static int insert_refund(fg_db_t *db, refund_t *r, const fg_payment_row_t *p, int pending, const char *provider_id,
                         int64_t now, char *id, int64_t *refund_id)
{
    fg_stmt_t s;
    int rc;
    if (fg_id_new("rfd_", id, FG_ID_CAP) < 0)
        return FG_EIO;
    if ((rc = fg_stmt_init(&s, db, SQL_REFUND)) != 0)
        return rc;
    fg_stmt_cstr(&s, id);
    fg_stmt_int(&s, p->id);
    fg_stmt_int(&s, p->merchant_id);
    fg_stmt_int(&s, r->amount);
    fg_stmt_cstr(&s, p->currency.data);
    fg_stmt_cstr(&s, fg_refund_status_name(pending ? FG_REFUND_PENDING : FG_REFUND_SUCCEEDED));
    fg_stmt_cstr(&s, r->reason);
    fg_stmt_cstr(&s, provider_id);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    *refund_id = (int64_t)fg_stmt_insert_id(&s);
    return 0;
}

int fg_refund_post(fg_db_t *db, const fg_payment_row_t *p, int64_t refund_id, int64_t amount, int64_t now,
                   int64_t *from_merchant)
{
    int64_t from_unapplied;
    char clearing[FG_ACCOUNT_CODE_MAX + 1], merchant[FG_ACCOUNT_CODE_MAX + 1];
    /* refunded <= received: the callers reserved this amount under the payment's lock */
    assert(amount > 0 && !p->received_null && p->amount_refunded >= 0 &&
           amount <= p->amount_received - p->amount_refunded);
    fg_refund_split(p->amount_applied, p->amount_refunded, amount, from_merchant, &from_unapplied);
    /* a refund journal names its refund only: (kind, payment) is unique per payment posting */
    fg_journal_t j = {.kind = "refund", .refund_id = refund_id, .memo = p->public_id.data};
    snprintf(clearing, sizeof(clearing), "assets:clearing:%s", p->adapter.data);
    snprintf(merchant, sizeof(merchant), "liabilities:merchant:%s", p->merchant_public_id.data);
    fg_journal_add(&j, merchant, (uint64_t)p->merchant_id, p->currency.data, *from_merchant);
    fg_journal_add(&j, "liabilities:unapplied", 0, p->currency.data, from_unapplied);
    fg_journal_add(&j, clearing, 0, p->currency.data, -amount);
    return fg_ledger_post(db, &j, now, NULL);
}

void fg_refund_json(fg_buf_t *b, const char *id, const fg_payment_row_t *p, int64_t amount, fg_refund_status_t status,
                    const char *reason, int64_t now)
{
    char created[40];
    fg_time_format_rfc3339(now, 0, created, sizeof(created));
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", id);
    fg_json_kv_str(b, 1, "object", "refund");
    fg_json_kv_strn(b, 1, "payment_id", p->public_id.data, p->public_id.len);
    fg_json_kv_strn(b, 1, "order_id", p->order_public_id.data, p->order_public_id.len);
    fg_json_kv_int(b, 1, "amount", amount);
    fg_json_kv_strn(b, 1, "currency", p->currency.data, p->currency.len);
    fg_json_kv_str(b, 1, "status", fg_refund_status_name(status));
    fg_json_kv_str(b, 1, "reason", reason);
    fg_json_kv_str(b, 1, "created_at", created);
    fg_buf_putc(b, '}');
}

static int refund_tx(fg_db_t *db, void *arg)
{
    refund_t *r = arg;
    fg_payment_row_t p;
    char id[FG_ID_CAP], provider_id[128] = "";
    int64_t now = fg_now_ms(), refund_id = 0, from_merchant = 0;
    fg_stmt_t s;
    memset(&p, 0, sizeof(p));
    r->idem_conflict = 0;
    int rc = fg_payment_load(db, r->call->params[0], r->call->merchant_id, 1, &p);
    if (rc == FG_ENOTFOUND) {
        r->outcome = REFUND_NOT_FOUND;
        rc = 1;
        goto Exit;
    }
    if (rc != 0)
        goto Exit;
    if (p.status != FG_PAYMENT_SUCCEEDED) {
        r->outcome = REFUND_NOT_SUCCEEDED;
        rc = 1;
        goto Exit;
    }
    r->refundable = p.amount_received - p.amount_refunded - p.amount_refunding;
    if (r->amount > r->refundable) {
        r->outcome = REFUND_TOO_MUCH;
        rc = 1;
        goto Exit;
    }
    const fg_adapter_t *adapter = fg_adapter_find(p.adapter.data);
    if (adapter == NULL || adapter->refund == NULL) {
        /* refunded over HTTP around the provider call (providers.c), or not at all */
        r->outcome = REFUND_REMOTE;
        rc = 1;
        goto Exit;
    }
    int pending = adapter != NULL ? adapter->refund(r->call->cfg, p.public_id.data, p.provider_txn_id.data, r->amount,
                                                    now, provider_id, sizeof(provider_id))
                                  : FG_EUNAVAILABLE;
    if (pending < 0) {
        r->outcome = REFUND_PROVIDER;
        rc = 1;
        goto Exit;
    }
    if ((rc = insert_refund(db, r, &p, pending, provider_id, now, id, &refund_id)) != 0)
        goto Exit;
    if (!pending && (rc = fg_refund_post(db, &p, refund_id, r->amount, now, &from_merchant)) != 0)
        goto Exit;
    if ((rc = fg_stmt_init(&s, db, SQL_PAYMENT_REFUNDED)) != 0)
        goto Exit;
    fg_stmt_int(&s, pending ? 0 : r->amount);
    fg_stmt_int(&s, pending ? r->amount : 0);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, p.id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    if (from_merchant > 0) {
        if ((rc = fg_stmt_init(&s, db, SQL_ORDER_REFUNDED)) != 0)
            goto Exit;
        fg_stmt_int(&s, from_merchant);
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, p.order_id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            goto Exit;
    }
    fg_buf_reset(&r->body);
    fg_refund_json(&r->body, id, &p, r->amount, pending ? FG_REFUND_PENDING : FG_REFUND_SUCCEEDED, r->reason, now);
    if (!pending &&
        (rc = fg_event_insert(db, (uint64_t)p.merchant_id, "refund.succeeded", p.order_id, &r->body, now)) != 0)
        goto Exit;
    r->outcome = REFUND_OK;
    rc = fg_idem_store(db, r->call, 201, &r->body);
    if (rc == FG_ECONFLICT)
        r->idem_conflict = 1;
Exit:
    fg_payment_row_free(&p);
    return rc;
}

static int parse_refund(fg_call_t *call, refund_t *r, yajl_val *root)
{
    fg_field_error_t err;
    *root = fg_json_parse_object(call->body, call->body_len, &err);
    if (*root == NULL) {
        fg_call_error(call, err.status, "invalid_request", err.code, err.message, NULL);
        return -1;
    }
    const char *amount_path[] = {"amount", NULL}, *reason_path[] = {"reason", NULL};
    yajl_val amount = yajl_tree_get(*root, amount_path, yajl_t_any);
    yajl_val reason = yajl_tree_get(*root, reason_path, yajl_t_any);
    if (amount == NULL || !YAJL_IS_INTEGER(amount)) {
        fg_call_error(call, 400, "invalid_request", amount == NULL ? "missing_field" : "invalid_type",
                      "amount must be an integer number of minor units", "amount");
        return -1;
    }
    if (YAJL_GET_INTEGER(amount) < 1) {
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
    r->amount = YAJL_GET_INTEGER(amount);
    r->reason = text;
    return 0;
}

void fg_refunds_create(fg_call_t *call, fg_db_t *db)
{
    refund_t r = {.call = call};
    yajl_val root = NULL;
    if (parse_refund(call, &r, &root) != 0)
        goto Exit;
    int rc = fg_db_tx(db, refund_tx, &r);
    if (rc == 0) {
        fg_call_json(call, 201, &r.body);
    } else if (rc == 1 && r.outcome == REFUND_NOT_FOUND) {
        fg_call_error(call, 404, "not_found", "payment_not_found", "no such payment", NULL);
    } else if (rc == 1 && r.outcome == REFUND_NOT_SUCCEEDED) {
        fg_call_error(call, 409, "conflict", "payment_not_refundable", "only a succeeded payment can be refunded",
                      NULL);
    } else if (rc == 1 && r.outcome == REFUND_TOO_MUCH) {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "amount exceeds what is refundable (%lld)", (long long)r.refundable);
        fg_call_error(call, 422, "invalid_request", "refund_exceeds_refundable", msg.data, "amount");
        fg_buf_free(&msg);
    } else if (rc == 1 && r.outcome == REFUND_REMOTE) {
        fg_providers_refund(call, db, r.amount, r.reason);
    } else if (rc == 1) {
        fg_call_error(call, 502, "unavailable", "provider_unavailable",
                      "the payment provider refused or did not answer", NULL);
    } else if (rc == FG_ECONFLICT && r.idem_conflict) {
        if ((rc = fg_idem_answer_existing(db, call)) != 0)
            fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_ERETRY : rc);
    } else {
        fg_call_db_error(call, db, rc);
    }
Exit:
    fg_buf_free(&r.body);
    if (root != NULL)
        yajl_tree_free(root);
}
