/*
 * receipt_keys.c - GET /.well-known/feegate-receipt-keys (public, no
 * credentials): the JWK set that verifies e-receipts offline (receipts/keys.h):
 * the QR payload's ES256 keys, current and published, and the XML signing
 * certificates (x5c).  Keys change only when the server restarts with other
 * files, so the answer may be cached for an hour.
 */
#include "api/handlers.h"

#include "receipts/keys.h"

void fg_receipt_keys_jwks(fg_call_t *call, fg_db_t *db)
{
    (void)db;
    fg_buf_t body = FG_BUF_INIT;
    fg_receipt_jwks_json(&body, fg_receipt_keys());
    fg_call_add_header(call, "cache-control", "public, max-age=3600");
    fg_call_json(call, 200, &body);
}
