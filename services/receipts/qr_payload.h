/*
 * qr_payload.h - the offline-verifiable payload of a receipt's QR code: a
 * compact JWS (RFC 7515 §7.1) signed with ES256 (ECDSA on P-256 with
 * SHA-256, the signature as R || S, 64 bytes, RFC 7518 §3.4):
 *
 *   BASE64URL({"alg":"ES256","kid":KID}) '.' BASE64URL(claims) '.' BASE64URL(R || S)
 *
 * The claims, compact JSON in this order:
 *   num    the receipt number (SHDon), an integer
 *   form   the form symbol (KHMSHDon)
 *   ser    the serial symbol (KHHDon)
 *   mer    the merchant (collecting unit) id
 *   amt    the amount in minor units, an integer (negative for an adjustment)
 *   cur    the ISO 4217 currency
 *   iat    when the receipt was issued, Unix seconds
 *   payer  base64url of the first 16 bytes of SHA-256(payer reference): the payer can
 *          check it against their own reference, nobody can read it off the code
 *   kid    the key id, as in the header
 * The verifier finds the key by kid among the current and published QR keys
 * (the JWK set at /.well-known/feegate-receipt-keys).
 */
#ifndef FG_RECEIPTS_QR_PAYLOAD_H
#define FG_RECEIPTS_QR_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/error.h"
#include "receipts/keys.h"
#include "receipts/receipt.h"

/* The longest payload accepted by the verifier. */
#define FG_RECEIPT_QR_MAX 2048
/* The payer hash: 16 bytes of SHA-256 in base64url (22 characters) and a NUL. */
#define FG_RECEIPT_PAYER_HASH_BYTES 16
#define FG_RECEIPT_PAYER_HASH_CAP 23

typedef struct {
    int64_t number;
    char form[FG_RECEIPT_FORM_MAX + 1];
    char serial[FG_RECEIPT_SERIAL_MAX + 1];
    char merchant_id[FG_RECEIPT_ID_MAX + 1];
    int64_t amount;
    char currency[4];
    int64_t issued_at; /* Unix seconds */
    char payer[FG_RECEIPT_PAYER_HASH_CAP];
    char kid[FG_RECEIPT_KID_CAP];
} fg_receipt_claims_t;

/** The payer hash of a payer reference. */
void fg_receipt_payer_hash(const char *payer_ref, char out[FG_RECEIPT_PAYER_HASH_CAP]);

/** Appends r's signed payload to out with k's QR key.  0, or
 *  FG_EUNAVAILABLE (no receipts.qr_key_file), FG_EINVALID (r out of range)
 *  or FG_EIO, with one line in err. */
int fg_receipt_qr_payload(const fg_receipt_keys_t *k, const fg_receipt_t *r, fg_buf_t *out, char *err,
                          size_t cap) FG_MUST_USE;

/** Verifies a payload with k's QR keys (current and published) and reads
 *  its claims.  0, or FG_EINVALID with one line saying why in err. */
int fg_receipt_qr_verify(const char *payload, size_t len, const fg_receipt_keys_t *k, fg_receipt_claims_t *out,
                         char *err, size_t cap) FG_MUST_USE;

/** The claims as compact JSON, in the payload's order. */
void fg_receipt_claims_json(fg_buf_t *b, const fg_receipt_claims_t *c);

#endif
