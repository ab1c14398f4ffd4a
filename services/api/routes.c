/*
 * routes.c - every API route, in one table.
 */
#include "api/handlers.h"
#include "http/http.h"
#include "recon/statement.h"
#include "web/web.h"

_Static_assert(FG_STMT_FILE_MAX <= FG_BODY_LARGEST, "the server takes a statement file");

const fg_route_t fg_api_routes[] = {
    {"POST", "/v1/orders/batch", "orders.batch", FG_AUTH_MERCHANT, 1, FG_BATCH_BODY_MAX, fg_orders_batch},
    {"POST", "/v1/orders", "orders.create", FG_AUTH_MERCHANT, 1, 0, fg_orders_create},
    {"GET", "/v1/orders", "orders.list", FG_AUTH_MERCHANT, 0, 0, fg_orders_list},
    {"GET", "/v1/orders/{}", "orders.get", FG_AUTH_MERCHANT, 0, 0, fg_orders_get},
    {"POST", "/v1/orders/{}/cancel", "orders.cancel", FG_AUTH_MERCHANT, 1, 0, fg_orders_cancel},
    {"POST", "/v1/orders/{}/payments", "payments.create", FG_AUTH_MERCHANT, 1, 0, fg_payments_create},
    {"GET", "/v1/payments/{}", "payments.get", FG_AUTH_MERCHANT, 0, 0, fg_payments_get},
    {"POST", "/v1/payments/{}/refunds", "refunds.create", FG_AUTH_MERCHANT, 1, 0, fg_refunds_create},
    {"POST", "/v1/webhooks/sepay", "webhooks.sepay", FG_AUTH_NONE, 0, 0, fg_sepay_webhook},
    {"POST", "/v1/webhooks/{}", "webhooks.inbound", FG_AUTH_NONE, 0, 0, fg_webhooks_inbound},
    {"GET", "/v1/webhooks/{}", "webhooks.inbound_get", FG_AUTH_NONE, 0, 0, fg_webhooks_inbound},
    {"POST", "/v1/webhook-endpoints", "webhook_endpoints.create", FG_AUTH_MERCHANT, 1, 0, fg_webhook_endpoints_create},
    {"GET", "/v1/webhook-endpoints", "webhook_endpoints.list", FG_AUTH_MERCHANT, 0, 0, fg_webhook_endpoints_list},
    {"GET", "/v1/webhook-endpoints/{}", "webhook_endpoints.get", FG_AUTH_MERCHANT, 0, 0, fg_webhook_endpoints_get},
    {"POST", "/v1/webhook-endpoints/{}", "webhook_endpoints.update", FG_AUTH_MERCHANT, 1, 0,
     fg_webhook_endpoints_update},
    {"DELETE", "/v1/webhook-endpoints/{}", "webhook_endpoints.delete", FG_AUTH_MERCHANT, 0, 0,
     fg_webhook_endpoints_delete},
    {"POST", "/v1/webhook-endpoints/{}/enable", "webhook_endpoints.enable", FG_AUTH_MERCHANT, 1, 0,
     fg_webhook_endpoints_enable},
    {"POST", "/v1/webhook-endpoints/{}/disable", "webhook_endpoints.disable", FG_AUTH_MERCHANT, 1, 0,
     fg_webhook_endpoints_disable},
    {"POST", "/v1/webhook-endpoints/{}/rotate-secret", "webhook_endpoints.rotate_secret", FG_AUTH_MERCHANT, 1, 0,
     fg_webhook_endpoints_rotate_secret},
    {"GET", "/v1/webhook-endpoints/{}/deliveries", "webhook_endpoints.deliveries", FG_AUTH_MERCHANT, 0, 0,
     fg_webhook_endpoints_deliveries},
    {"GET", "/v1/events", "events.list", FG_AUTH_MERCHANT, 0, 0, fg_events_list},
    {"GET", "/v1/events/{}", "events.get", FG_AUTH_MERCHANT, 0, 0, fg_events_get},
    {"POST", "/v1/events/{}/redeliver", "events.redeliver", FG_AUTH_MERCHANT, 1, 0, fg_events_redeliver},
    {"POST", "/v1/statements", "statements.import", FG_AUTH_STAFF_WRITE, 0, FG_STMT_FILE_MAX, fg_statements_import},
    {"POST", "/v1/settlements", "settlements.import", FG_AUTH_STAFF_WRITE, 0, FG_STMT_FILE_MAX, fg_settlements_import},
    {"POST", "/v1/reconciliations", "reconciliations.create", FG_AUTH_STAFF_WRITE, 1, 0, fg_reconciliations_create},
    {"GET", "/v1/reconciliations/{}", "reconciliations.get", FG_AUTH_STAFF_READ, 0, 0, fg_reconciliations_get},
    {"GET", "/v1/reconciliations/{}/items", "reconciliations.items", FG_AUTH_STAFF_READ, 0, 0,
     fg_reconciliations_items},
    {"POST", "/v1/reconciliations/{}/items/{}/resolve", "reconciliations.resolve", FG_AUTH_STAFF_WRITE, 1, 0,
     fg_reconciliations_resolve},
    {"POST", "/v1/reconciliations/{}/close", "reconciliations.close", FG_AUTH_STAFF_WRITE, 1, 0,
     fg_reconciliations_close},
    {"GET", "/v1/ledger/accounts", "ledger.accounts", FG_AUTH_STAFF_READ, 0, 0, fg_ledger_accounts_list},
    {"GET", "/v1/ledger/accounts/{}", "ledger.account", FG_AUTH_STAFF_READ, 0, 0, fg_ledger_account_get},
    {"GET", "/v1/ledger/journals", "ledger.journals", FG_AUTH_STAFF_READ, 0, 0, fg_ledger_journals_list},
    {"GET", "/v1/exports/changes", "exports.changes", FG_AUTH_EXPORT, 0, 0, fg_exports_changes},
    {"GET", "/.well-known/jwks.json", "exports.jwks", FG_AUTH_NONE, 0, 0, fg_exports_jwks},
    {"GET", "/pay/return/{}", "pay.return", FG_AUTH_NONE, 0, 0, fg_web_return_page},
    {"GET", "/pay/{}/qr.svg", "pay.qr", FG_AUTH_NONE, 0, 0, fg_web_qr_svg},
    {"GET", "/pay/{}", "pay.page", FG_AUTH_NONE, 0, 0, fg_web_pay_page},
    {"GET", "/sandbox/pay/{}", "sandbox.page", FG_AUTH_NONE, 0, 0, fg_web_sandbox_page},
    {"POST", "/sandbox/pay/{}", "sandbox.decide", FG_AUTH_NONE, 0, 4096, fg_web_sandbox_decide},
    {NULL, NULL, NULL, FG_AUTH_NONE, 0, 0, NULL},
};
