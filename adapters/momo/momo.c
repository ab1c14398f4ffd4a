/*
 * momo.c - MoMo API v2 as PROTOCOLS.md states it.
 *
 * The payment id is both orderId and requestId at create (a retried create is
 * idempotent at MoMo too); a refund uses the refund id for both.  The IPN's
 * dedup key is orderId:transId:resultCode, the same for a query answer, so
 * an IPN and a query that report one outcome apply once.
 */
#include "momo/momo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/crypto.h"
#include "core/money.h"
#include "core/text.h"
#include "vnpay/vnpay.h"

/* MoMo asks clients to wait at least 30 s for create; query and refund too. */
#define API_TIMEOUT_MS 30000
/* Longest field value we accept from MoMo (orderInfo is the longest). */
#define FIELD_MAX 1024
/* Notification and answer bodies beyond this are not MoMo's. */
#define BODY_MAX (64 * 1024)
/* resultCode 42: "orderId is not found" (query, refund query). */
#define RESULT_NOT_FOUND "42"
/* resultCodes 40 / 41: requestId / orderId already used: the first request
 * with them may have been made, so they refuse nothing. */
#define RESULT_DUPLICATE_REQUEST "40"
#define RESULT_DUPLICATE_ORDER "41"

_Static_assert(FG_MOMO_AMOUNT_MAX <= FG_AMOUNT_MAX, "MoMo's range is inside ours");

void fg_momo_raw(const fg_kv_t *pairs, int n, fg_buf_t *out)
{
    for (int i = 0; i < n; i++)
        fg_buf_printf(out, "%s%s=%s", i > 0 ? "&" : "", pairs[i].name, pairs[i].value != NULL ? pairs[i].value : "");
}

void fg_momo_sign(const char *secret, const char *raw, size_t len, char out[FG_MOMO_SIGNATURE_HEX_LEN + 1])
{
    uint8_t mac[FG_SHA256_LEN];
    fg_hmac_sha256(secret, strlen(secret), raw, len, mac);
    fg_hex_encode(mac, sizeof(mac), out);
}

void fg_momo_create_raw(const char *access_key, const char *amount, const char *extra_data, const char *ipn_url,
                        const char *order_id, const char *order_info, const char *partner_code,
                        const char *redirect_url, const char *request_id, const char *request_type, fg_buf_t *out)
{
    fg_kv_t pairs[] = {{"accessKey", access_key},     {"amount", amount},
                       {"extraData", extra_data},     {"ipnUrl", ipn_url},
                       {"orderId", order_id},         {"orderInfo", order_info},
                       {"partnerCode", partner_code}, {"redirectUrl", redirect_url},
                       {"requestId", request_id},     {"requestType", request_type}};
    fg_momo_raw(pairs, (int)(sizeof(pairs) / sizeof(pairs[0])), out);
}

static int configured(const fg_config_t *cfg)
{
    return cfg->momo_partner_code[0] != '\0' && cfg->momo_access_key[0] != '\0' && cfg->momo_secret_key[0] != '\0';
}

/* 1 when sig (any case) is the signature of raw. */
static int signature_ok(const fg_config_t *cfg, const fg_buf_t *raw, const char *sig)
{
    char expected[FG_MOMO_SIGNATURE_HEX_LEN + 1], got[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    if (sig == NULL || strlen(sig) != FG_MOMO_SIGNATURE_HEX_LEN)
        return 0;
    fg_momo_sign(cfg->momo_secret_key, raw->data != NULL ? raw->data : "", raw->len, expected);
    memcpy(got, sig, sizeof(got));
    fg_hex_lower(got);
    return fg_secure_equal(got, FG_MOMO_SIGNATURE_HEX_LEN, expected, FG_MOMO_SIGNATURE_HEX_LEN);
}

static yajl_val parse_object(const char *body, size_t len)
{
    char error[128];
    if (body == NULL || len == 0 || len > BODY_MAX)
        return NULL;
    char *text = fg_strndup(body, len);
    yajl_val root = fg_json_tree(text, len, error, sizeof(error));
    free(text);
    if (root != NULL && !YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        root = NULL;
    }
    return root;
}

int fg_momo_result_processing(const char *code)
{
    return strcmp(code, "1000") == 0 || strcmp(code, "7000") == 0 || strcmp(code, "7002") == 0 ||
           strcmp(code, "9000") == 0 || strcmp(code, "8000") == 0;
}

/* ---- create -------------------------------------------------------------------- */

static int accepts(const fg_config_t *cfg, const char *currency, int64_t amount)
{
    if (!configured(cfg) || (currency != NULL && strcmp(currency, "VND") != 0))
        return FG_EINVALID;
    return currency == NULL || (amount >= FG_MOMO_AMOUNT_MIN && amount <= FG_MOMO_AMOUNT_MAX) ? 0 : FG_ERANGE;
}

static int start_request(const fg_config_t *cfg, const fg_payment_start_t *in, fg_provider_request_t *req)
{
    char amount[24], sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    int rc = accepts(cfg, in->currency, in->amount);
    if (rc != 0)
        return rc;
    snprintf(amount, sizeof(amount), "%lld", (long long)in->amount);
    fg_buf_t info = FG_BUF_INIT, text = FG_BUF_INIT, redirect = FG_BUF_INIT, ipn = FG_BUF_INIT, raw = FG_BUF_INIT;
    fg_buf_printf(&text, "Thanh toan %s %s", in->order_code != NULL ? in->order_code : "",
                  in->description != NULL ? in->description : "");
    fg_vnpay_ascii_text(text.data, text.len, &info); /* plain ASCII survives every wallet screen */
    fg_buf_printf(&redirect, "%s/pay/return/momo", cfg->public_base_url);
    fg_buf_printf(&ipn, "%s/v1/webhooks/momo", cfg->public_base_url);
    fg_momo_create_raw(cfg->momo_access_key, amount, "", ipn.data, in->payment_id, info.data, cfg->momo_partner_code,
                       redirect.data, in->payment_id, "captureWallet", &raw);
    fg_momo_sign(cfg->momo_secret_key, raw.data, raw.len, sig);
    fg_buf_t *b = &req->body;
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "partnerCode", cfg->momo_partner_code);
    fg_json_kv_str(b, 1, "requestId", in->payment_id);
    fg_json_kv_int(b, 1, "amount", in->amount);
    fg_json_kv_str(b, 1, "orderId", in->payment_id);
    fg_json_kv_str(b, 1, "orderInfo", info.data);
    fg_json_kv_str(b, 1, "redirectUrl", redirect.data);
    fg_json_kv_str(b, 1, "ipnUrl", ipn.data);
    fg_json_kv_str(b, 1, "requestType", "captureWallet");
    fg_json_kv_str(b, 1, "extraData", "");
    fg_json_kv_str(b, 1, "lang", "vi");
    fg_json_kv_str(b, 1, "signature", sig);
    fg_buf_putc(b, '}');
    fg_buf_printf(&req->url, "%s/v2/gateway/api/create", cfg->momo_endpoint);
    req->timeout_ms = API_TIMEOUT_MS;
    fg_buf_free(&info);
    fg_buf_free(&text);
    fg_buf_free(&redirect);
    fg_buf_free(&ipn);
    fg_buf_free(&raw);
    return 0;
}

/* Reads the named fields of an answer as text (absent = ""). */
static void read_fields(yajl_val root, const char *const *names, int n, char (*out)[FIELD_MAX])
{
    for (int i = 0; i < n; i++)
        if (fg_json_text(root, names[i], out[i], FIELD_MAX) != 0)
            out[i][0] = '\0';
}

/* Verifies an answer's signature over names (accessKey first, ours). */
static int answer_signed(const fg_config_t *cfg, yajl_val root, const char *const *names, int n)
{
    char(*v)[FIELD_MAX] = fg_calloc((size_t)n + 1, FIELD_MAX);
    fg_kv_t pairs[16];
    fg_buf_t raw = FG_BUF_INIT;
    read_fields(root, names, n, v);
    fg_json_text(root, "signature", v[n], FIELD_MAX);
    pairs[0] = (fg_kv_t){"accessKey", cfg->momo_access_key};
    for (int i = 1; i < n; i++)
        pairs[i] = (fg_kv_t){names[i], v[i]};
    fg_momo_raw(pairs, n, &raw);
    int ok = signature_ok(cfg, &raw, v[n]);
    fg_buf_free(&raw);
    free(v);
    return ok;
}

static int start_response(const fg_config_t *cfg, const fg_payment_start_t *in, long http_status, const char *body,
                          size_t len, fg_payment_started_t *out, char *reason, size_t cap)
{
    static const char *const NAMES[] = {"accessKey", "amount",    "message",      "orderId",   "partnerCode",
                                        "payUrl",    "requestId", "responseTime", "resultCode"};
    char code[24], pay_url[FIELD_MAX], message[200], order_id[64];
    yajl_val root = http_status >= 500 ? NULL : parse_object(body, len);
    int rc = 0;
    if (root == NULL) {
        snprintf(reason, cap, "MoMo create answered HTTP %ld without a JSON object", http_status);
        return FG_EUNAVAILABLE;
    }
    fg_json_text(root, "resultCode", code, sizeof(code));
    fg_json_text(root, "message", message, sizeof(message));
    fg_json_text(root, "orderId", order_id, sizeof(order_id));
    if (strcmp(code, "0") != 0) {
        /* only a signed refusal about this payment is final; an unsigned one
         * (anyone on the path could write it) or "still processing" is not */
        int final = code[0] != '\0' && !fg_momo_result_processing(code) &&
                    strcmp(code, RESULT_DUPLICATE_REQUEST) != 0 && strcmp(code, RESULT_DUPLICATE_ORDER) != 0 &&
                    answer_signed(cfg, root, NAMES, 9) && strcmp(order_id, in->payment_id) == 0;
        snprintf(reason, cap, "MoMo %s the payment (resultCode %s%s): %.100s", final ? "refused" : "did not start",
                 code[0] ? code : "?", final ? "" : ", not final", message);
        rc = final ? FG_EINVALID : FG_EUNAVAILABLE;
    } else if (!answer_signed(cfg, root, NAMES, 9) || strcmp(order_id, in->payment_id) != 0) {
        snprintf(reason, cap, "MoMo create answer signature does not match");
        rc = FG_EUNAVAILABLE;
    } else if (fg_json_text(root, "payUrl", pay_url, sizeof(pay_url)) != 0 ||
               (strncmp(pay_url, "https://", 8) != 0 && strncmp(pay_url, "http://", 7) != 0)) {
        snprintf(reason, cap, "MoMo create answer has no payUrl");
        rc = FG_EUNAVAILABLE;
    } else {
        fg_buf_puts(&out->redirect_url, pay_url);
    }
    yajl_tree_free(root);
    return rc;
}

/* ---- IPN and query answers ------------------------------------------------------- */

/* The IPN's fields in raw-string order; [0] is accessKey (not sent). */
enum {
    F_ACCESS_KEY,
    F_AMOUNT,
    F_EXTRA_DATA,
    F_MESSAGE,
    F_ORDER_ID,
    F_ORDER_INFO,
    F_ORDER_TYPE,
    F_PARTNER_CODE,
    F_PAY_TYPE,
    F_REQUEST_ID,
    F_RESPONSE_TIME,
    F_RESULT_CODE,
    F_TRANS_ID,
    F_SIGNATURE,
    F_COUNT
};
static const char *const IPN_NAMES[F_COUNT] = {"accessKey",    "amount",     "extraData",   "message",  "orderId",
                                               "orderInfo",    "orderType",  "partnerCode", "payType",  "requestId",
                                               "responseTime", "resultCode", "transId",     "signature"};

typedef struct {
    char v[F_COUNT][FIELD_MAX];
} fields_t;

/* Verifies the fields' signature, then fills the notification.  0,
 * FG_EINVALID (forged) or FG_ERANGE (signed but unreadable). */
static int ipn_from_fields(const fg_config_t *cfg, fields_t *f, fg_notification_t *out, char *reason, size_t cap)
{
    fg_kv_t pairs[F_SIGNATURE];
    fg_buf_t raw = FG_BUF_INIT;
    int64_t result, trans;
    if (!configured(cfg)) {
        snprintf(reason, cap, "momo is not configured");
        return FG_EINVALID;
    }
    snprintf(f->v[F_ACCESS_KEY], FIELD_MAX, "%s", cfg->momo_access_key);
    for (int i = 0; i < F_SIGNATURE; i++)
        pairs[i] = (fg_kv_t){IPN_NAMES[i], f->v[i]};
    fg_momo_raw(pairs, F_SIGNATURE, &raw);
    int ok = signature_ok(cfg, &raw, f->v[F_SIGNATURE]);
    fg_buf_free(&raw);
    if (!ok) {
        snprintf(reason, cap, "signature does not match");
        return FG_EINVALID;
    }
    if (strcmp(f->v[F_PARTNER_CODE], cfg->momo_partner_code) != 0) {
        snprintf(reason, cap, "partnerCode is not ours");
        return FG_EINVALID;
    }
    memset(out, 0, sizeof(*out));
    const char *order_id = f->v[F_ORDER_ID];
    if (order_id[0] == '\0' || strlen(order_id) >= sizeof(out->payment_id) ||
        !fg_printable_ascii(order_id, strlen(order_id), sizeof(out->payment_id) - 1) ||
        fg_parse_digits(f->v[F_AMOUNT], &out->amount) != 0 || !fg_amount_valid(out->amount) ||
        fg_parse_digits(f->v[F_TRANS_ID], &trans) != 0 || strlen(f->v[F_TRANS_ID]) > FG_PROVIDER_TXN_MAX ||
        (f->v[F_RESULT_CODE][0] == '-' ? 1 : fg_parse_digits(f->v[F_RESULT_CODE], &result) != 0)) {
        snprintf(reason, cap, "orderId, amount, transId or resultCode missing or malformed");
        return FG_ERANGE;
    }
    memcpy(out->payment_id, order_id, strlen(order_id) + 1);
    if (trans != 0)
        snprintf(out->provider_txn_id, sizeof(out->provider_txn_id), "%.64s", f->v[F_TRANS_ID]);
    snprintf(out->event_id, sizeof(out->event_id), "%.47s:%.64s:%.12s", order_id, f->v[F_TRANS_ID],
             f->v[F_RESULT_CODE]);
    if (result == 0)
        out->status = FG_NOTIFY_SUCCEEDED;
    else if (result == 9000 || result == 1000 || result == 7000 || result == 7002 || result == 8000)
        out->status = FG_NOTIFY_PENDING; /* authorized or still waiting for the payer */
    else
        out->status = FG_NOTIFY_FAILED;
    return 0;
}

static int verify(const fg_config_t *cfg, const fg_inbound_t *in, int64_t now_ms, fg_notification_t *out, char *reason,
                  size_t cap)
{
    fields_t *f = fg_calloc(1, sizeof(*f));
    int rc;
    if (in->body != NULL && in->body_len > 0) {
        yajl_val root = parse_object(in->body, in->body_len);
        if (root == NULL) {
            snprintf(reason, cap, "body is not a JSON object");
            free(f);
            return FG_ERANGE;
        }
        for (int i = 1; i < F_COUNT; i++)
            if (fg_json_text(root, IPN_NAMES[i], f->v[i], FIELD_MAX) == FG_ETOOLONG)
                f->v[F_SIGNATURE][0] = '\0'; /* an over-long field: refuse as unsigned */
        yajl_tree_free(root);
    } else if (in->query != NULL && in->query_len > 0) {
        /* the payer's redirect carries the same fields in the query string */
        fg_params_t params;
        fg_params_parse(&params, in->query, in->query_len);
        for (int i = 1; i < F_COUNT; i++) {
            const char *v = fg_params_get(&params, IPN_NAMES[i]);
            if (v != NULL && strlen(v) < FIELD_MAX)
                memcpy(f->v[i], v, strlen(v) + 1);
        }
        fg_params_free(&params);
    } else {
        snprintf(reason, cap, "empty notification");
        free(f);
        return FG_ERANGE;
    }
    rc = ipn_from_fields(cfg, f, out, reason, cap);
    /* a signed responseTime (epoch ms) stops replays of old IPNs; MoMo's own
     * retries and query answers (not checked here) are well inside it */
    int64_t sent_at;
    if (rc == 0 && fg_parse_digits(f->v[F_RESPONSE_TIME], &sent_at) != 0) {
        snprintf(reason, cap, "responseTime is not epoch milliseconds");
        rc = FG_ERANGE;
    } else if (rc == 0) {
        rc = fg_notify_fresh(sent_at, now_ms, "responseTime", reason, cap);
    }
    free(f);
    return rc;
}

static void ack(fg_ack_t outcome, int *status, fg_buf_t *body, const char **content_type)
{
    *content_type = "application/json; charset=utf-8";
    switch (outcome) {
    case FG_ACK_FORGED:
        *status = 401;
        fg_buf_puts(body, "{\"error\":\"signature_invalid\"}");
        break;
    case FG_ACK_MALFORMED:
        *status = 400;
        fg_buf_puts(body, "{\"error\":\"malformed\"}");
        break;
    case FG_ACK_ERROR:
        *status = 503; /* ours: the query job settles it later anyway */
        fg_buf_puts(body, "{\"error\":\"temporarily_unavailable\"}");
        break;
    default:
        *status = 204; /* MoMo's contract, duplicates included */
        break;
    }
}

static int query_request(const fg_config_t *cfg, const fg_payment_query_t *in, fg_provider_request_t *req)
{
    char sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    if (!configured(cfg))
        return FG_EINVALID;
    fg_kv_t pairs[] = {{"accessKey", cfg->momo_access_key},
                       {"orderId", in->payment_id},
                       {"partnerCode", cfg->momo_partner_code},
                       {"requestId", in->request_id}};
    fg_buf_t raw = FG_BUF_INIT;
    fg_momo_raw(pairs, 4, &raw);
    fg_momo_sign(cfg->momo_secret_key, raw.data, raw.len, sig);
    fg_buf_free(&raw);
    fg_buf_putc(&req->body, '{');
    fg_json_kv_str(&req->body, 0, "partnerCode", cfg->momo_partner_code);
    fg_json_kv_str(&req->body, 1, "requestId", in->request_id);
    fg_json_kv_str(&req->body, 1, "orderId", in->payment_id);
    fg_json_kv_str(&req->body, 1, "lang", "vi");
    fg_json_kv_str(&req->body, 1, "signature", sig);
    fg_buf_putc(&req->body, '}');
    fg_buf_printf(&req->url, "%s/v2/gateway/api/query", cfg->momo_endpoint);
    req->timeout_ms = API_TIMEOUT_MS;
    return 0;
}

static int query_response(const fg_config_t *cfg, const fg_payment_query_t *in, long http_status, const char *body,
                          size_t len, fg_notification_t *out, char *reason, size_t cap)
{
    yajl_val root = http_status >= 500 ? NULL : parse_object(body, len);
    char code[24];
    if (root == NULL) {
        snprintf(reason, cap, "MoMo query answered HTTP %ld without a JSON object", http_status);
        return FG_EUNAVAILABLE;
    }
    fields_t *f = fg_calloc(1, sizeof(*f));
    for (int i = 1; i < F_COUNT; i++)
        fg_json_text(root, IPN_NAMES[i], f->v[i], FIELD_MAX);
    fg_json_text(root, "resultCode", code, sizeof(code));
    yajl_tree_free(root);
    int rc;
    if (strcmp(code, RESULT_NOT_FOUND) == 0) {
        /* "no such order" expires the payment: only when MoMo signed it */
        fg_kv_t pairs[F_SIGNATURE];
        fg_buf_t raw = FG_BUF_INIT;
        snprintf(f->v[F_ACCESS_KEY], FIELD_MAX, "%s", cfg->momo_access_key);
        for (int i = 0; i < F_SIGNATURE; i++)
            pairs[i] = (fg_kv_t){IPN_NAMES[i], f->v[i]};
        fg_momo_raw(pairs, F_SIGNATURE, &raw);
        int ok = configured(cfg) && signature_ok(cfg, &raw, f->v[F_SIGNATURE]) &&
                 strcmp(f->v[F_ORDER_ID], in->payment_id) == 0 &&
                 strcmp(f->v[F_PARTNER_CODE], cfg->momo_partner_code) == 0;
        fg_buf_free(&raw);
        snprintf(reason, cap, ok ? "MoMo has no such order" : "MoMo query answered 42 without a valid signature");
        rc = ok ? FG_ENOTFOUND : FG_EUNAVAILABLE;
    } else if (f->v[F_SIGNATURE][0] == '\0') {
        snprintf(reason, cap, "MoMo query failed (resultCode %s)", code[0] ? code : "?");
        rc = FG_EUNAVAILABLE;
    } else if ((rc = ipn_from_fields(cfg, f, out, reason, cap)) != 0) {
        rc = FG_EUNAVAILABLE; /* a forged or unreadable answer says nothing */
    } else if (strcmp(out->payment_id, in->payment_id) != 0) {
        snprintf(reason, cap, "MoMo answered about another orderId");
        rc = FG_EUNAVAILABLE;
    }
    free(f);
    return rc;
}

/* ---- refund ------------------------------------------------------------------------ */

static int refund_request(const fg_config_t *cfg, const fg_refund_in_t *in, fg_provider_request_t *req)
{
    char amount[24], sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    int64_t trans;
    if (!configured(cfg) || in->provider_txn_id == NULL || fg_parse_digits(in->provider_txn_id, &trans) != 0)
        return FG_EINVALID;
    if (in->amount < FG_MOMO_AMOUNT_MIN || in->amount > FG_MOMO_AMOUNT_MAX)
        return FG_ERANGE;
    snprintf(amount, sizeof(amount), "%lld", (long long)in->amount);
    fg_buf_t text = FG_BUF_INIT, description = FG_BUF_INIT, raw = FG_BUF_INIT;
    fg_buf_printf(&text, "Hoan tien %s %s", in->payment_id, in->reason != NULL ? in->reason : "");
    fg_vnpay_ascii_text(text.data, text.len, &description);
    fg_kv_t pairs[] = {{"accessKey", cfg->momo_access_key},     {"amount", amount},
                       {"description", description.data},       {"orderId", in->refund_id},
                       {"partnerCode", cfg->momo_partner_code}, {"requestId", in->refund_id},
                       {"transId", in->provider_txn_id}};
    fg_momo_raw(pairs, 7, &raw);
    fg_momo_sign(cfg->momo_secret_key, raw.data, raw.len, sig);
    fg_buf_putc(&req->body, '{');
    fg_json_kv_str(&req->body, 0, "partnerCode", cfg->momo_partner_code);
    fg_json_kv_str(&req->body, 1, "orderId", in->refund_id);
    fg_json_kv_str(&req->body, 1, "requestId", in->refund_id);
    fg_json_kv_int(&req->body, 1, "amount", in->amount);
    fg_json_kv_int(&req->body, 1, "transId", trans);
    fg_json_kv_str(&req->body, 1, "lang", "vi");
    fg_json_kv_str(&req->body, 1, "description", description.data);
    fg_json_kv_str(&req->body, 1, "signature", sig);
    fg_buf_putc(&req->body, '}');
    fg_buf_printf(&req->url, "%s/v2/gateway/api/refund", cfg->momo_endpoint);
    req->timeout_ms = API_TIMEOUT_MS;
    fg_buf_free(&text);
    fg_buf_free(&description);
    fg_buf_free(&raw);
    return 0;
}

/* The refund answer's raw-string fields (also the refund query's). */
static const char *const REFUND_NAMES[] = {"accessKey", "amount",       "message",    "orderId", "partnerCode",
                                           "requestId", "responseTime", "resultCode", "transId"};

/* Judges a refund (or refund query) answer.  0 made; FG_EINVALID a signed
 * final refusal; FG_ENOTFOUND a signed "not found"; FG_EUNAVAILABLE unknown. */
static int refund_answer(const fg_config_t *cfg, const fg_refund_in_t *in, const char *what, long http_status,
                         const char *body, size_t len, char *provider_refund_id, size_t id_cap, char *reason,
                         size_t cap)
{
    char code[24], message[200], order_id[64], trans[32];
    yajl_val root = http_status >= 500 ? NULL : parse_object(body, len);
    int rc;
    if (root == NULL) {
        snprintf(reason, cap, "MoMo %s answered HTTP %ld without a JSON object", what, http_status);
        return FG_EUNAVAILABLE;
    }
    fg_json_text(root, "resultCode", code, sizeof(code));
    fg_json_text(root, "message", message, sizeof(message));
    fg_json_text(root, "orderId", order_id, sizeof(order_id));
    fg_json_text(root, "transId", trans, sizeof(trans));
    int trusted = configured(cfg) && answer_signed(cfg, root, REFUND_NAMES, 9) && strcmp(order_id, in->refund_id) == 0;
    if (!trusted) {
        snprintf(reason, cap, "MoMo %s answer (resultCode %s) is not signed for this refund", what,
                 code[0] ? code : "?");
        rc = FG_EUNAVAILABLE;
    } else if (strcmp(code, "0") == 0) {
        snprintf(provider_refund_id, id_cap, "%s", trans);
        rc = 0;
    } else if (strcmp(code, RESULT_NOT_FOUND) == 0) {
        snprintf(reason, cap, "MoMo has no such refund");
        rc = FG_ENOTFOUND;
    } else if (code[0] == '\0' || fg_momo_result_processing(code) || strcmp(code, RESULT_DUPLICATE_REQUEST) == 0 ||
               strcmp(code, RESULT_DUPLICATE_ORDER) == 0) {
        snprintf(reason, cap, "MoMo %s: resultCode %s (%.100s), outcome not final", what, code[0] ? code : "?",
                 message);
        rc = FG_EUNAVAILABLE;
    } else {
        snprintf(reason, cap, "MoMo refused the refund (resultCode %s): %.100s", code, message);
        rc = FG_EINVALID;
    }
    yajl_tree_free(root);
    return rc;
}

static int refund_response(const fg_config_t *cfg, const fg_refund_in_t *in, long http_status, const char *body,
                           size_t len, char *provider_refund_id, size_t id_cap, char *reason, size_t cap)
{
    int rc = refund_answer(cfg, in, "refund", http_status, body, len, provider_refund_id, id_cap, reason, cap);
    return rc == FG_ENOTFOUND ? FG_EINVALID : rc; /* the original transaction is not there: refused */
}

int fg_momo_refund_query_request(const fg_config_t *cfg, const fg_refund_in_t *in, const char *request_id,
                                 fg_provider_request_t *req)
{
    char sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    if (!configured(cfg))
        return FG_EINVALID;
    fg_kv_t pairs[] = {{"accessKey", cfg->momo_access_key},
                       {"orderId", in->refund_id},
                       {"partnerCode", cfg->momo_partner_code},
                       {"requestId", request_id}};
    fg_buf_t raw = FG_BUF_INIT;
    fg_momo_raw(pairs, 4, &raw);
    fg_momo_sign(cfg->momo_secret_key, raw.data, raw.len, sig);
    fg_buf_free(&raw);
    fg_buf_putc(&req->body, '{');
    fg_json_kv_str(&req->body, 0, "partnerCode", cfg->momo_partner_code);
    fg_json_kv_str(&req->body, 1, "requestId", request_id);
    fg_json_kv_str(&req->body, 1, "orderId", in->refund_id);
    fg_json_kv_str(&req->body, 1, "lang", "vi");
    fg_json_kv_str(&req->body, 1, "signature", sig);
    fg_buf_putc(&req->body, '}');
    fg_buf_printf(&req->url, "%s/v2/gateway/api/refund/query", cfg->momo_endpoint);
    req->timeout_ms = API_TIMEOUT_MS;
    return 0;
}

int fg_momo_refund_query_response(const fg_config_t *cfg, const fg_refund_in_t *in, long http_status, const char *body,
                                  size_t len, char *provider_refund_id, size_t id_cap, char *reason, size_t cap)
{
    int rc = refund_answer(cfg, in, "refund query", http_status, body, len, provider_refund_id, id_cap, reason, cap);
    return rc == FG_EINVALID ? FG_EUNAVAILABLE : rc; /* only "not found" says it was not made */
}

const fg_adapter_t fg_adapter_momo = {
    .name = "momo",
    .start = NULL,
    .accepts = accepts,
    .verify = verify,
    .ack = ack,
    .refund = NULL,
    .redirect_valid_ms = FG_MOMO_PAY_URL_OFFER_MS,
    .amount_must_match = 1,
    .start_request = start_request,
    .start_response = start_response,
    .query_request = query_request,
    .query_response = query_response,
    .refund_request = refund_request,
    .refund_response = refund_response,
};
