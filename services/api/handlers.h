/*
 * handlers.h - the API layer: every route's handler, the only functions
 * besides the pages (web/) that read an fg_call_t and write its answer.
 * routes.c maps routes to them.
 *
 * Each handler parses and validates the request into the typed input of a
 * domain operation, runs the operation in a transaction it composes (storing
 * the idempotent answer in it), and answers.  Domain headers (orders.h,
 * payments.h, ledger.h, webhooks.h) declare no handler and include no http/
 * header (tests/layering-check).
 */
#ifndef FG_API_HANDLERS_H
#define FG_API_HANDLERS_H

#include <stdint.h>
#include "adapter.h"
#include "db/db.h"
#include "http/http.h"

/** Every API route, terminated by an entry with method == NULL (routes.c). */
extern const fg_route_t fg_api_routes[];
/* The routes a worker answers several at once (http.h fg_route_many_t). */
extern const fg_route_many_t fg_api_routes_many[];

/* ---- orders (services/api/orders.c) ---- */

void fg_orders_create(fg_call_t *call, fg_db_t *db);
/* fg_orders_create for several calls taken at once. */
void fg_orders_create_many(fg_call_t **calls, int n, fg_db_t *db);
void fg_orders_batch(fg_call_t *call, fg_db_t *db);
/** The body of POST /v1/orders/batch: {"orders":[…]} with 1 to
 *  FG_ORDER_BATCH_MAX items (each then read by fg_order_input_parse).  0 with
 *  *items the array, or -1 with the error answered on call.  *root is the
 *  tree either way (NULL when the body is no JSON object): free it with
 *  yajl_tree_free. */
int fg_orders_batch_parse(fg_call_t *call, yajl_val *root, yajl_val *items);
void fg_orders_import(fg_call_t *call, fg_db_t *db);
void fg_orders_get(fg_call_t *call, fg_db_t *db);
void fg_orders_list(fg_call_t *call, fg_db_t *db);
void fg_orders_cancel(fg_call_t *call, fg_db_t *db);

/* ---- payments and refunds (services/api/payments.c) ---- */

/** POST /v1/orders/{id}/payments: one transaction for an adapter that starts
 *  in process; for one reached over HTTP (MoMo) the payment is committed
 *  pending, the provider called, and the answer is 201 with its redirect_url,
 *  or 502 provider_unavailable / provider_refused with the payment left
 *  pending / failed. */
void fg_payments_create(fg_call_t *call, fg_db_t *db);
/** The body of POST /v1/orders/{id}/payments: {"method", "amount"?}.  0 with
 *  the method's adapter and the requested amount (0: what the order owes), or
 *  -1 with the error answered on call. */
int fg_payments_create_parse(fg_call_t *call, const fg_adapter_t **adapter, int64_t *requested);
/** GET /v1/payments/{id}: the payment, with its redirect_url and qr while
 *  the payer can still pay through them (fg_payment_offer). */
void fg_payments_get(fg_call_t *call, fg_db_t *db);
/** GET /v1/refunds/{id}: one of the merchant's refunds, the object its POST
 *  answered with its status now; 404 refund_not_found. */
void fg_refunds_get(fg_call_t *call, fg_db_t *db);
/** GET /v1/payments/{id}/refunds: the payment's refunds, newest first,
 *  cursor pages (core/page.h); 404 payment_not_found. */
void fg_refunds_list(fg_call_t *call, fg_db_t *db);
/** POST /v1/payments/{id}/refunds: the refund pipeline (payments.h); 201
 *  made, 202 outcome unknown (left pending for the status job), 409
 *  provider_refused, 502 provider_unavailable (not sent), 422
 *  refund_not_supported / refund_exceeds_refundable. */
void fg_refunds_create(fg_call_t *call, fg_db_t *db);
void fg_refunds_create_many(fg_call_t **calls, int n, fg_db_t *db);
/** The body of POST /v1/payments/{id}/refunds: {"amount", "reason"?}.  0 with
 *  the amount and the reason (NULL when none; it points into *root), or -1
 *  with the error answered on call.  *root is the tree either way (may be
 *  NULL): free it with yajl_tree_free after using the reason. */
int fg_refunds_create_parse(fg_call_t *call, yajl_val *root, int64_t *amount, const char **reason);

/* ---- inbound notifications (services/api/inbound.c) ---- */

/** POST|GET /v1/webhooks/{adapter}: the inbound pipeline for every adapter. */
void fg_webhooks_inbound(fg_call_t *call, fg_db_t *db);
/* fg_webhooks_inbound for several calls taken at once. */
void fg_webhooks_inbound_many(fg_call_t **calls, int n, fg_db_t *db);
/** POST /v1/webhooks/sepay: the bank feed's transfer notification. */
void fg_sepay_webhook(fg_call_t *call, fg_db_t *db);
/* fg_sepay_webhook for several calls taken at once. */
void fg_sepay_webhook_many(fg_call_t **calls, int n, fg_db_t *db);

/* ---- reconciliation (services/api/statements.c) ---- */

/** POST /v1/statements: a bank statement file in (finance, admin). */
void fg_statements_import(fg_call_t *call, fg_db_t *db);
/* GET /v1/statements, GET /v1/statements/{id}, GET /v1/statements/{id}/lines */
void fg_statements_list(fg_call_t *call, fg_db_t *db);
void fg_statements_get(fg_call_t *call, fg_db_t *db);
void fg_statements_lines(fg_call_t *call, fg_db_t *db);
/** POST /v1/settlements?gateway=vnpay|momo: a gateway's settlement file
 *  (finance, admin); 201 with its batches, 200 when they were known. */
void fg_settlements_import(fg_call_t *call, fg_db_t *db);
/** POST /v1/reconciliations {"account","from","to"}: a period to reconcile;
 *  GET /v1/reconciliations/{id}: its summary; GET …/items?state=: its items. */
void fg_reconciliations_create(fg_call_t *call, fg_db_t *db);
void fg_reconciliations_get(fg_call_t *call, fg_db_t *db);
void fg_reconciliations_items(fg_call_t *call, fg_db_t *db);
/** POST /v1/reconciliations/{id}/items/{item}/resolve {"action","note",…}
 *  (finance, admin; audited). */
void fg_reconciliations_resolve(fg_call_t *call, fg_db_t *db);
/** POST /v1/reconciliations/{id}/close: closes its business days once every
 *  item is matched or resolved (finance, admin; audited). */
void fg_reconciliations_close(fg_call_t *call, fg_db_t *db);

/* ---- payouts to merchants (services/api/payouts.c) ---- */

/** POST /v1/payouts {"merchant_id","amount","reference","currency"?}
 *  (finance, admin; audited): 201 with the payout; 200 with the merchant's
 *  payout of that reference and amount made before; 404
 *  merchant_not_found; 409 duplicate_reference (another amount); 422
 *  payout_exceeds_balance (with "balance") or payout_account_missing.
 *  GET /v1/payouts?merchant_id=&status= (any staff role), GET …/{id}. */
void fg_payouts_create(fg_call_t *call, fg_db_t *db);
void fg_payouts_list(fg_call_t *call, fg_db_t *db);
void fg_payouts_get(fg_call_t *call, fg_db_t *db);
/** POST /v1/payout-batches {"account"} (finance, admin; audited): 201 with
 *  the batch of every pending payout; 409 no_pending_payouts.
 *  GET /v1/payout-batches/{id}, and …/file: the bank's bulk-transfer CSV. */
void fg_payout_batches_create(fg_call_t *call, fg_db_t *db);
void fg_payout_batches_get(fg_call_t *call, fg_db_t *db);
void fg_payout_batches_file(fg_call_t *call, fg_db_t *db);
/** POST /v1/merchants/{id}/payout-account {"bank_bin","account_number",
 *  "account_name"} (admin; audited): where the merchant's payouts go. */
void fg_merchants_payout_account(fg_call_t *call, fg_db_t *db);

/* ---- receipts (services/api/receipts.c) ---- */

/** GET /v1/receipts/{id}: the receipt (merchant key: its own; staff: every
 *  merchant's, an accountant its merchant's); 404 receipt_not_found. */
void fg_receipts_get(fg_call_t *call, fg_db_t *db);
/** GET /v1/receipts?payment_id=&merchant_id=&limit=&cursor=: newest first. */
void fg_receipts_list(fg_call_t *call, fg_db_t *db);
/** POST /v1/merchants/{id}/receipt-settings {"unit_name","tax_code",
 *  "address","form","serial"}, each optional (admin; audited): what the
 *  merchant's receipts say of the collecting unit, and their series. */
void fg_merchants_receipt_settings(fg_call_t *call, fg_db_t *db);
/* reminders.c */
void fg_reminder_policy_read_route(fg_call_t *call, fg_db_t *db);
void fg_reminder_policy_write_route(fg_call_t *call, fg_db_t *db);
void fg_orders_reminders(fg_call_t *call, fg_db_t *db);

/* ---- reports (services/api/reports.c) ---- */

/** GET /v1/reports/collections?from=&to=&group_by=&format=&merchant_id=
 *  (a merchant key: its own rows; staff: every merchant or one). */
void fg_reports_collections(fg_call_t *call, fg_db_t *db);
/** GET /v1/reports/outstanding?as_of=&group_by=&detail=orders&format=&merchant_id= */
void fg_reports_outstanding(fg_call_t *call, fg_db_t *db);
/** GET /v1/reports/merchant-statement?merchant_id=&from=&to=&format=: what the city owes one merchant. */
void fg_reports_merchant_statement(fg_call_t *call, fg_db_t *db);
/** GET /v1/reports/reconciliation?from=&to=&account=&format= (staff): per bank account and business day. */
void fg_reports_reconciliation(fg_call_t *call, fg_db_t *db);

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

/* ---- the change feed (services/api/exports.c) ---- */

/** GET /v1/exports/changes?after=&limit= (export keys only): NDJSON, one
 *  object per change in commit order, the cursor to continue from in
 *  X-Feegate-Next-Cursor and a detached JWS of the body in
 *  X-Feegate-Signature (docs/CHANGES.md).  503 without a signing key. */
void fg_exports_changes(fg_call_t *call, fg_db_t *db);
/** GET /.well-known/jwks.json (public): the keys that verify the feed's
 *  pages, the signing key first. */
void fg_exports_jwks(fg_call_t *call, fg_db_t *db);

/* ---- e-receipts' keys (services/api/receipt_keys.c) ---- */

/** GET /.well-known/feegate-receipt-keys (public, cacheable): the JWK set
 *  that verifies receipts' QR payloads and XML signatures offline. */
void fg_receipt_keys_jwks(fg_call_t *call, fg_db_t *db);

#endif
