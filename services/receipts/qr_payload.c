/*
 * qr_payload.c - the QR code's compact JWS (qr_payload.h), over OpenSSL 3.
 * OpenSSL writes and reads ECDSA signatures as a DER SEQUENCE of two
 * INTEGERs; JOSE carries R || S, each left-padded to 32 bytes.
 */
#include "receipts/qr_payload.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include "core/crypto.h"
#include "core/es256.h"
#include "core/json.h"
#include "core/money.h"
#include "core/text.h"
#include "receipts/keys_internal.h"

#define SIGNATURE_BYTES FG_ES256_SIG_BYTES
/* {"alg":"ES256","kid":"<43 characters>"}, and room for a foreign header. */
#define HEADER_MAX 256
/* The claims of one receipt are about 250 bytes. */
#define CLAIMS_MAX 1024

void fg_receipt_payer_hash(const char *payer_ref, char out[FG_RECEIPT_PAYER_HASH_CAP])
{
    uint8_t digest[FG_SHA256_LEN];
    fg_sha256(payer_ref, strlen(payer_ref), digest);
    fg_base64url_encode(digest, FG_RECEIPT_PAYER_HASH_BYTES, out);
}

void fg_receipt_claims_json(fg_buf_t *b, const fg_receipt_claims_t *c)
{
    fg_buf_putc(b, '{');
    fg_json_kv_int(b, 0, "num", c->number);
    fg_json_kv_str(b, 1, "form", c->form);
    fg_json_kv_str(b, 1, "ser", c->serial);
    fg_json_kv_str(b, 1, "mer", c->merchant_id);
    fg_json_kv_int(b, 1, "amt", c->amount);
    fg_json_kv_str(b, 1, "cur", c->currency);
    fg_json_kv_int(b, 1, "iat", c->issued_at);
    fg_json_kv_str(b, 1, "payer", c->payer);
    fg_json_kv_str(b, 1, "kid", c->kid);
    fg_buf_putc(b, '}');
}

static void b64url_append(fg_buf_t *b, const void *data, size_t n)
{
    fg_buf_reserve(b, FG_RECEIPT_B64_LEN(n) + 1);
    b->len += fg_base64url_encode(data, n, b->data + b->len);
}

int fg_receipt_qr_payload(const fg_receipt_keys_t *k, const fg_receipt_t *r, fg_buf_t *out, char *err, size_t cap)
{
    if (!k->qr_signs) {
        snprintf(err, cap, "no QR signing key (receipts.qr_key_file)");
        return FG_EUNAVAILABLE;
    }
    int64_t magnitude = r->amount < 0 ? -r->amount : r->amount;
    if (r->number < 1 || r->number > FG_RECEIPT_NUMBER_MAX || r->amount == INT64_MIN || !fg_amount_valid(magnitude) ||
        fg_currency_find(r->currency, strlen(r->currency)) == NULL) {
        snprintf(err, cap, "the receipt's number, amount or currency is out of range");
        return FG_EINVALID;
    }
    const fg_receipt_qr_key_t *key = &k->qr[0];
    fg_receipt_claims_t c = {.number = r->number, .amount = r->amount, .issued_at = r->issued_at_ms / 1000};
    snprintf(c.form, sizeof(c.form), "%s", r->form);
    snprintf(c.serial, sizeof(c.serial), "%s", r->serial);
    snprintf(c.merchant_id, sizeof(c.merchant_id), "%s", r->merchant_id);
    snprintf(c.currency, sizeof(c.currency), "%s", r->currency);
    snprintf(c.kid, sizeof(c.kid), "%s", key->kid);
    fg_receipt_payer_hash(r->payer_ref, c.payer);

    fg_buf_t header = FG_BUF_INIT, claims = FG_BUF_INIT, input = FG_BUF_INIT;
    fg_buf_printf(&header, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", key->kid);
    fg_receipt_claims_json(&claims, &c);
    b64url_append(&input, header.data, header.len);
    fg_buf_putc(&input, '.');
    b64url_append(&input, claims.data, claims.len);

    unsigned char der[128];
    uint8_t raw[SIGNATURE_BYTES];
    size_t der_len = sizeof(der);
    int rc = FG_EIO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        fg_oom();
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
        EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input.data, input.len) == 1 &&
        fg_es256_sig_from_der(der, der_len, raw) == 0) {
        fg_buf_append(out, input.data, input.len);
        fg_buf_putc(out, '.');
        b64url_append(out, raw, sizeof(raw));
        rc = 0;
    } else {
        snprintf(err, cap, "signing the QR payload failed");
    }
    EVP_MD_CTX_free(ctx);
    fg_buf_free(&header);
    fg_buf_free(&claims);
    fg_buf_free(&input);
    return rc;
}

/* ---- verifying ------------------------------------------------------------------------------ */

static int fail(char *err, size_t cap, const char *why)
{
    snprintf(err, cap, "%s", why);
    return FG_EINVALID;
}

/* A base64url part decoded as a JSON object (yajl_tree_free), or NULL. */
static yajl_val json_part(const char *b64, size_t n, size_t max)
{
    unsigned char *bytes = fg_malloc(max + 1);
    long len = fg_base64url_decode(b64, n, bytes, max);
    yajl_val v = NULL;
    if (len > 0) {
        fg_field_error_t why;
        bytes[len] = '\0';
        v = fg_json_parse_object((const char *)bytes, (size_t)len, &why);
    }
    free(bytes);
    return v;
}

static int claim_string(yajl_val root, const char *name, char *out, size_t cap)
{
    yajl_val v = fg_json_member(root, name);
    if (v == NULL || !YAJL_IS_STRING(v) || strlen(v->u.string) >= cap)
        return -1;
    snprintf(out, cap, "%s", v->u.string);
    return 0;
}

static int claim_integer(yajl_val root, const char *name, int64_t *out)
{
    yajl_val v = fg_json_member(root, name);
    if (v == NULL || !YAJL_IS_INTEGER(v))
        return -1;
    *out = (int64_t)v->u.number.i;
    return 0;
}

int fg_receipt_qr_verify(const char *payload, size_t len, const fg_receipt_keys_t *k, fg_receipt_claims_t *out,
                         char *err, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > FG_RECEIPT_QR_MAX || !fg_printable_ascii(payload, len, FG_RECEIPT_QR_MAX))
        return fail(err, cap, "not a receipt QR payload (a compact JWS of printable ASCII, at most 2048 characters)");
    const char *dot1 = memchr(payload, '.', len);
    const char *dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - payload)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - payload)) != NULL)
        return fail(err, cap, "not a compact JWS (three parts separated by dots)");
    size_t header_len = (size_t)(dot1 - payload), claims_len = (size_t)(dot2 - dot1 - 1);
    size_t sig_len = len - (size_t)(dot2 + 1 - payload);

    yajl_val header = json_part(payload, header_len, HEADER_MAX);
    yajl_val alg = fg_json_member(header, "alg"), kid = fg_json_member(header, "kid");
    if (header == NULL || alg == NULL || !YAJL_IS_STRING(alg) || kid == NULL || !YAJL_IS_STRING(kid) ||
        fg_json_member(header, "crit") != NULL) {
        yajl_tree_free(header);
        return fail(err, cap, "the JWS header is not {\"alg\":\"ES256\",\"kid\":…}");
    }
    if (strcmp(alg->u.string, "ES256") != 0) {
        yajl_tree_free(header);
        return fail(err, cap, "the payload is not signed with ES256");
    }
    const fg_receipt_qr_key_t *key = fg_receipt_keys_qr(k, kid->u.string);
    if (key == NULL) {
        snprintf(err, cap, "signed with key %.60s, which is not among the configured QR keys", kid->u.string);
        yajl_tree_free(header);
        return FG_EINVALID;
    }
    yajl_tree_free(header);

    uint8_t raw[SIGNATURE_BYTES + 1];
    unsigned char *der = NULL;
    int der_len = 0, ok = 0;
    if (fg_base64url_decode(dot2 + 1, sig_len, raw, sizeof(raw)) != SIGNATURE_BYTES)
        return fail(err, cap, "the signature is not 64 bytes (R || S)");
    if (fg_es256_sig_to_der(raw, &der, &der_len) != 0)
        return fail(err, cap, "the signature cannot be read");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        fg_oom();
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
         EVP_DigestVerify(ctx, der, (size_t)der_len, (const unsigned char *)payload, (size_t)(dot2 - payload)) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    if (!ok)
        return fail(err, cap, "the signature does not match the payload (changed after signing, or another key)");

    yajl_val claims = json_part(dot1 + 1, claims_len, CLAIMS_MAX);
    fg_receipt_claims_t c = {0};
    int read = claims != NULL && claim_integer(claims, "num", &c.number) == 0 &&
               claim_string(claims, "form", c.form, sizeof(c.form)) == 0 &&
               claim_string(claims, "ser", c.serial, sizeof(c.serial)) == 0 &&
               claim_string(claims, "mer", c.merchant_id, sizeof(c.merchant_id)) == 0 &&
               claim_integer(claims, "amt", &c.amount) == 0 &&
               claim_string(claims, "cur", c.currency, sizeof(c.currency)) == 0 &&
               claim_integer(claims, "iat", &c.issued_at) == 0 &&
               claim_string(claims, "payer", c.payer, sizeof(c.payer)) == 0 &&
               claim_string(claims, "kid", c.kid, sizeof(c.kid)) == 0;
    yajl_tree_free(claims);
    if (!read)
        return fail(err, cap, "the signed claims are not a receipt's (num, form, ser, mer, amt, cur, iat, payer, kid)");
    if (strcmp(c.kid, key->kid) != 0)
        return fail(err, cap, "the claims name another key than the header");
    *out = c;
    return 0;
}
