/*
 * vnpay.h - VNPay 2.1.0 (PROTOCOLS.md): the signed payment URL, the IPN, the
 * merchant_webapi querydr and refund.  The pieces below are public for the
 * unit tests and the return page; the service uses fg_adapter_vnpay.
 */
#ifndef FG_ADAPTERS_VNPAY_H
#define FG_ADAPTERS_VNPAY_H

#include <stddef.h>
#include <stdint.h>
#include "adapter.h"
#include "protocol.h"

/* VNPay carries VND x 100 in vnp_Amount. */
#define FG_VNPAY_AMOUNT_SCALE 100
/* vnp_SecureHash: hex of HMAC-SHA512. */
#define FG_VNPAY_HASH_HEX_LEN 128
/* vnp_OrderInfo is limited to 255 characters by VNPay. */
#define FG_VNPAY_ORDER_INFO_MAX 255
/* How long the payer has on VNPay's page (vnp_ExpireDate). */
#define FG_VNPAY_PAY_WINDOW_MS (15 * 60 * 1000)

/** Appends the string VNPay signs: every pair whose name starts with "vnp_"
 *  and whose value is not empty, except vnp_SecureHash and
 *  vnp_SecureHashType, sorted by name (byte order), form-encoded and joined
 *  as name=value&...  pairs is sorted in place. */
void fg_vnpay_canonical(fg_kv_t *pairs, int n, fg_buf_t *out);

/** Lower-case hex HMAC-SHA512(secret, data) into out (129 bytes). */
void fg_vnpay_hash(const char *secret, const char *data, size_t len, char out[FG_VNPAY_HASH_HEX_LEN + 1]);

/** Checks the vnp_SecureHash of decoded query parameters in constant time.
 *  0, or FG_EINVALID with reason set. */
int fg_vnpay_verify_params(const char *secret, const fg_params_t *params, char *reason, size_t cap);

/** Writes text (UTF-8) as VNPay accepts vnp_OrderInfo: Vietnamese letters
 *  without their diacritics (đ -> d, Ệ -> E), ASCII letters and digits kept,
 *  everything else a space, runs of spaces collapsed, trimmed, at most
 *  FG_VNPAY_ORDER_INFO_MAX characters.  Invalid UTF-8 bytes become spaces. */
void fg_vnpay_ascii_text(const char *text, size_t n, fg_buf_t *out);

/** Asks about a refund: a querydr for the payment's vnp_TxnRef that names
 *  the refund's own vnp_RequestId in vnp_RefundRequestId (outside the
 *  request hash, whose fields are fixed).  request_id is a fresh id for this
 *  query.  0 or FG_EINVALID (not configured). */
int fg_vnpay_refund_query_request(const fg_config_t *cfg, const fg_refund_in_t *in, const char *request_id,
                                  fg_provider_request_t *req);
/** Its signed answer: 0 the refund was made (vnp_TransactionType 02/03,
 *  vnp_TransactionStatus 00, the refund's amount; provider_refund_id set);
 *  FG_ENOTFOUND no refund under that request id (91) or refused (09);
 *  FG_EUNAVAILABLE anything else (still processing, unsigned, unreadable). */
int fg_vnpay_refund_query_response(const fg_config_t *cfg, const fg_refund_in_t *in, long http_status, const char *body,
                                   size_t len, char *provider_refund_id, size_t id_cap, char *reason, size_t cap);
/** The vnp_RequestId of a refund: its id without the "rfd_" prefix (VNPay's
 *  request ids are at most 32 characters), the same on every attempt. */
const char *fg_vnpay_refund_request_id(const char *refund_id);

extern const fg_adapter_t fg_adapter_vnpay;

#endif
