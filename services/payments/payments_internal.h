/*
 * payments_internal.h - what the payment module's files share and no other
 * module needs: the payment-with-order lock of the notification pipeline,
 * the inbox, the refund journal, the provider call.
 */
#ifndef FG_PAYMENTS_INTERNAL_H
#define FG_PAYMENTS_INTERNAL_H

#include "net/http_client.h"
#include "orders/orders_internal.h"
#include "payments/payments.h"

/** Locks a payment (any merchant's) and its order, in that order, and
 *  loads both.  FG_ENOTFOUND if none. */
int fg_payment_lock_with_order(fg_db_t *db, const char *public_id, fg_payment_row_t *p,
                               fg_order_row_t *order) FG_MUST_USE;
/* Receives one locked payment and its order: the rows are the callee's now
 * (free them with fg_payment_row_free and fg_order_row_free). */
typedef void (*fg_payment_found_fn)(void *arg, int member, fg_payment_row_t *p, fg_order_row_t *order);
/** Locks several payments and their orders in one statement, in payment
 *  public id order (as every set takes them), and hands each found pair to
 *  found with its member index.  ids[i] is member i's payment public id, or
 *  NULL for a member that takes no part.  0 or FG_E*. */
int fg_payment_lock_set(fg_db_t *db, const char *const *ids, int n, fg_payment_found_fn found, void *arg) FG_MUST_USE;
/** Runs a set's array-driven UPDATE (sql, one parameter: the rows as a JSON
 *  array) and checks that each of its rows changed: FG_ECONFLICT when not
 *  (a guard failed under the set's locks: the caller runs each alone). */
int fg_payments_set_update(fg_db_t *db, const char *sql, const char *json, size_t len, int rows) FG_MUST_USE;

/** The request's headers as webhook_inbox keeps them ("name: value\n"): the
 *  values of credential headers (authorization, proxy-authorization, cookie,
 *  x-api-key) are replaced by "***", an authorization's scheme word kept
 *  ("Apikey ***").  Appends to out. */
void fg_inbox_headers(const char *headers, size_t len, fg_buf_t *out);

/** Inserts (or, in a deferring transaction, queues) a webhook_inbox row for
 *  the notification as received (in): status and reason as given, the
 *  response the adapter gives for outcome.  A rejected row keeps only the
 *  first webhooks.inbox_rejected_bytes of its body, query and headers (the
 *  routes are open to anyone).  *id (may be NULL) as fg_db_insert. */
int fg_inbox_insert(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, const fg_adapter_t *adapter,
                    fg_ack_t outcome, const char *event_id, const char *status, const char *reason,
                    int64_t *id) FG_MUST_USE;

/** The reversing journal of a refund the provider made: Dr the merchant's
 *  share (and unapplied's), Cr clearing (fg_refund_split); *from_merchant
 *  receives the merchant's share. */
int fg_refund_post(fg_db_t *db, const fg_payment_row_t *p, int64_t refund_id, int64_t amount, int64_t now,
                   int64_t *from_merchant) FG_MUST_USE;
/** The refund's public JSON; receipt_id its adjustment receipt (NULL or ""
 *  = none: not succeeded, or the payment has no original receipt). */
void fg_refund_json(fg_buf_t *b, const char *id, const fg_payment_row_t *p, int64_t amount, fg_refund_status_t status,
                    const char *reason, const char *receipt_id, int64_t created);

/** Sends a provider request built by an adapter.  0 when an answer arrived
 *  in res, FG_EUNAVAILABLE otherwise with reason set ("the provider did not
 *  answer: …") and res->not_sent telling whether the request never left.
 *  Free res with fg_http_response_free either way. */
int fg_provider_send(const fg_provider_request_t *req, fg_http_response_t *res, char *reason, size_t cap) FG_MUST_USE;

#endif
