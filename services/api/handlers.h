/*
 * handlers.h - the API layer: every route's handler, the only functions
 * besides the pages (web/) that read an fg_call_t and write its answer.
 * routes.c maps routes to them.
 *
 * Each handler parses and validates the request, runs its work in one
 * transaction (storing the idempotent answer in it), and answers.  Domain
 * headers (orders.h, payments.h, ledger.h, webhooks.h) declare no handler and
 * include no http/ header; the handlers' files include this one.
 */
#ifndef FG_API_HANDLERS_H
#define FG_API_HANDLERS_H

#include <stdint.h>
#include "adapter.h"
#include "db/db.h"
#include "http/http.h"

/** Every API route, terminated by an entry with method == NULL (routes.c). */
extern const fg_route_t fg_api_routes[];

/* ---- orders (services/api/orders.c) ---- */

void fg_orders_create(fg_call_t *call, fg_db_t *db);
void fg_orders_batch(fg_call_t *call, fg_db_t *db);
void fg_orders_get(fg_call_t *call, fg_db_t *db);
void fg_orders_list(fg_call_t *call, fg_db_t *db);
void fg_orders_cancel(fg_call_t *call, fg_db_t *db);

/* ---- payments and refunds (services/payments/payments.c, refunds.c) ---- */

void fg_payments_create(fg_call_t *call, fg_db_t *db);
void fg_payments_get(fg_call_t *call, fg_db_t *db);
void fg_refunds_create(fg_call_t *call, fg_db_t *db);

/* ---- inbound notifications (services/payments/webhook.c, sepay.c) ---- */

/** POST|GET /v1/webhooks/{adapter}: the inbound pipeline for every adapter. */
void fg_webhooks_inbound(fg_call_t *call, fg_db_t *db);

/* ---- provider calls inside payment and refund requests (services/payments/providers.c) ---- */

/** POST /v1/orders/{id}/payments for an adapter with start_request (MoMo):
 *  the payment row is committed pending, the provider is called, and the
 *  answer is 201 with its redirect_url, or 502 provider_unavailable /
 *  provider_refused with the payment left pending / failed. */
void fg_providers_create_payment(fg_call_t *call, fg_db_t *db, const fg_adapter_t *adapter, int64_t requested);
/** POST /v1/payments/{id}/refunds for a payment whose adapter refunds over
 *  HTTP (or cannot refund: 422 refund_not_supported). */
void fg_providers_refund(fg_call_t *call, fg_db_t *db, int64_t amount, const char *reason);
/** POST /v1/webhooks/sepay: the bank feed's transfer notification. */
void fg_sepay_webhook(fg_call_t *call, fg_db_t *db);

/* ---- ledger, staff routes (services/api/ledger.c) ---- */

void fg_ledger_accounts_list(fg_call_t *call, fg_db_t *db);
void fg_ledger_account_get(fg_call_t *call, fg_db_t *db);
void fg_ledger_journals_list(fg_call_t *call, fg_db_t *db);

/* ---- outbound webhooks (services/api/endpoints.c, events.c) ---- */

void fg_webhook_endpoints_create(fg_call_t *call, fg_db_t *db);
void fg_webhook_endpoints_list(fg_call_t *call, fg_db_t *db);
void fg_webhook_endpoints_get(fg_call_t *call, fg_db_t *db);
void fg_webhook_endpoints_update(fg_call_t *call, fg_db_t *db);
void fg_webhook_endpoints_enable(fg_call_t *call, fg_db_t *db);
void fg_webhook_endpoints_disable(fg_call_t *call, fg_db_t *db);
void fg_webhook_endpoints_delete(fg_call_t *call, fg_db_t *db);
void fg_webhook_endpoints_rotate_secret(fg_call_t *call, fg_db_t *db);
void fg_webhook_endpoints_deliveries(fg_call_t *call, fg_db_t *db);
void fg_events_list(fg_call_t *call, fg_db_t *db);
void fg_events_get(fg_call_t *call, fg_db_t *db);
void fg_events_redeliver(fg_call_t *call, fg_db_t *db);

#endif
