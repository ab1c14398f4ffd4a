/*
 * momo.h - MoMo API v2 (PROTOCOLS.md): create, IPN, query, refund.  Every
 * signature is lower-case hex HMAC-SHA256(secretKey, raw), raw being
 * "key=value&..." in a fixed a->z order with values not encoded and our own
 * accessKey inserted.  Public pieces for the unit tests.
 */
#ifndef FG_ADAPTERS_MOMO_H
#define FG_ADAPTERS_MOMO_H

#include <stddef.h>
#include "adapter.h"
#include "protocol.h"

/* MoMo's documented amount range for one payment, VND. */
#define FG_MOMO_AMOUNT_MIN 1000LL
#define FG_MOMO_AMOUNT_MAX 50000000LL
#define FG_MOMO_SIGNATURE_HEX_LEN 64
/* How long a payUrl is offered again after the create.  MoMo keeps it open
 * for its own window, which its answer does not state (we send no
 * orderExpireTime): offered as long as VNPay's page, so a client is never
 * shown a page that may have closed (it starts a new payment instead). */
#define FG_MOMO_PAY_URL_OFFER_MS (15 * 60 * 1000)

/** Appends raw: "name=value" for each pair, in the order given, joined by
 *  '&', values as they are. */
void fg_momo_raw(const fg_kv_t *pairs, int n, fg_buf_t *out);

/** Lower-case hex HMAC-SHA256(secret, raw) into out (65 bytes). */
void fg_momo_sign(const char *secret, const char *raw, size_t len, char out[FG_MOMO_SIGNATURE_HEX_LEN + 1]);

/** The raw string of the create request, from its fields. */
void fg_momo_create_raw(const char *access_key, const char *amount, const char *extra_data, const char *ipn_url,
                        const char *order_id, const char *order_info, const char *partner_code,
                        const char *redirect_url, const char *request_id, const char *request_type, fg_buf_t *out);

/** MoMo's resultCodes meaning "still processing": 1000, 7000, 7002 (and
 *  9000 authorized, 8000 waiting) are never a final outcome. */
int fg_momo_result_processing(const char *result_code);

/** The refund status query, POST {endpoint}/v2/gateway/api/refund/query with
 *  the refund's orderId (in->refund_id) and a fresh requestId.  0 or
 *  FG_EINVALID (not configured). */
int fg_momo_refund_query_request(const fg_config_t *cfg, const fg_refund_in_t *in, const char *request_id,
                                 fg_provider_request_t *req);
/** Its answer: 0 the refund was made (provider_refund_id set); FG_ENOTFOUND
 *  a signed "no such refund" (it was not made); FG_EUNAVAILABLE unknown or
 *  still processing (ask again later). */
int fg_momo_refund_query_response(const fg_config_t *cfg, const fg_refund_in_t *in, long http_status, const char *body,
                                  size_t len, char *provider_refund_id, size_t id_cap, char *reason, size_t cap);

extern const fg_adapter_t fg_adapter_momo;

#endif
