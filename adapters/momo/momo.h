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

/** Appends raw: "name=value" for each pair, in the order given, joined by
 *  '&', values as they are. */
void fg_momo_raw(const fg_kv_t *pairs, int n, fg_buf_t *out);

/** Lower-case hex HMAC-SHA256(secret, raw) into out (65 bytes). */
void fg_momo_sign(const char *secret, const char *raw, size_t len, char out[FG_MOMO_SIGNATURE_HEX_LEN + 1]);

/** The raw string of the create request, from its fields. */
void fg_momo_create_raw(const char *access_key, const char *amount, const char *extra_data, const char *ipn_url,
                        const char *order_id, const char *order_info, const char *partner_code,
                        const char *redirect_url, const char *request_id, const char *request_type, fg_buf_t *out);

extern const fg_adapter_t fg_adapter_momo;

#endif
