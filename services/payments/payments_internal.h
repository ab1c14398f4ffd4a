/*
 * payments_internal.h - the payment row, shared by the payment, webhook and
 * refund code.
 */
#ifndef FG_PAYMENTS_INTERNAL_H
#define FG_PAYMENTS_INTERNAL_H

#include "orders/orders_internal.h"
#include "payments/payments.h"

typedef struct {
    int64_t id, order_id, merchant_id;
    fg_buf_t public_id, adapter, currency, provider_txn_id, order_public_id, merchant_public_id;
    fg_payment_status_t status;
    int provider_txn_null;
    int64_t amount, amount_received, amount_applied, amount_unapplied, amount_refunded, amount_refunding;
    int received_null;
    int64_t created_at, updated_at;
} fg_payment_row_t;

void fg_payment_row_free(fg_payment_row_t *p);
/** Loads a payment by public id (merchant_id 0 = any merchant), optionally
 *  locking it.  FG_ENOTFOUND if none. */
int fg_payment_load(fg_db_t *db, const char *public_id, uint64_t merchant_id, int for_update,
                    fg_payment_row_t *p) FG_MUST_USE;
/** Locks a payment (any merchant's) and its order, in that order, and
 *  loads both.  FG_ENOTFOUND if none. */
int fg_payment_lock_with_order(fg_db_t *db, const char *public_id, fg_payment_row_t *p,
                               fg_order_row_t *order) FG_MUST_USE;
/** The payment's public JSON; extra (may be NULL) is appended inside the
 *  object, e.g. ,"redirect_url":"…". */
void fg_payment_json(fg_buf_t *b, const fg_payment_row_t *p, const char *extra);

/** The request's headers as webhook_inbox keeps them ("name: value\n"): the
 *  values of credential headers (authorization, proxy-authorization, cookie,
 *  x-api-key) are replaced by "***", an authorization's scheme word kept
 *  ("Apikey ***").  Appends to out. */
void fg_inbox_headers(const char *headers, size_t len, fg_buf_t *out);

/** Inserts (or, in a deferring transaction, queues) a webhook_inbox row for
 *  the notification as received (in): status and reason as given, the
 *  response the adapter gives for outcome.  *id (may be NULL) as
 *  fg_db_insert. */
int fg_inbox_insert(fg_db_t *db, const fg_inbound_t *in, const fg_adapter_t *adapter, fg_ack_t outcome,
                    const char *event_id, const char *status, const char *reason, int64_t *id) FG_MUST_USE;

/**
 * Inside the caller's transaction: records a verified notification in
 * webhook_inbox under (adapter, event id) and applies it once.  Every door
 * money comes through uses this one function: the webhook route, the SePay
 * bank feed, and the status-query job (whose in is the provider's answer).
 * in is the notification as received (recorded raw); cfg supplies the pay
 * links of the events.  Returns 0 (commit: applied, or recorded with no
 * effect and *outcome FG_ACK_DUPLICATE), 1 (not applicable, e.g. no such
 * payment: roll back; *outcome and *reason say why), FG_ECONFLICT (a
 * duplicate: roll back) or an FG_E* database code.
 */
int fg_webhook_apply_one(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, const fg_adapter_t *adapter,
                         const fg_notification_t *n, fg_ack_t *outcome, const char **reason) FG_MUST_USE;

/** The reversing journal of a refund the provider made: Dr the merchant's
 *  share (and unapplied's), Cr clearing (fg_refund_split); *from_merchant
 *  receives the merchant's share. */
int fg_refund_post(fg_db_t *db, const fg_payment_row_t *p, int64_t refund_id, int64_t amount, int64_t now,
                   int64_t *from_merchant) FG_MUST_USE;
/** The refund's public JSON. */
void fg_refund_json(fg_buf_t *b, const char *id, const fg_payment_row_t *p, int64_t amount, fg_refund_status_t status,
                    const char *reason, int64_t created);

#endif
