/*
 * vnpay.c - VNPay 2.1.0 as PROTOCOLS.md states it.
 *
 * Two signatures:
 *  - query strings (pay URL, IPN, return): every non-empty vnp_* parameter
 *    but vnp_SecureHash(Type), sorted, form-encoded, HMAC-SHA512 in hex.  A
 *    received query is decoded and re-encoded by the same rule, never hashed
 *    as received.
 *  - the merchant_webapi JSON (querydr, refund): HMAC-SHA512 over fixed
 *    fields joined with '|', missing values as empty strings.
 *
 * The dedup key of a notification is vnp_TxnRef:vnp_TransactionNo:
 * vnp_TransactionStatus, the same whether it came by IPN or by querydr, so a
 * late IPN after a querydr (or the reverse) is a duplicate.
 */
#include "vnpay/vnpay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/crypto.h"
#include "core/money.h"
#include "core/text.h"

/* The API's client-side limit: VNPay answers within seconds. */
#define API_TIMEOUT_MS 30000
/* Our server's address as the merchant_webapi asks for it (vnp_IpAddr). */
#define SERVER_IP "127.0.0.1"
/* Field lengths we accept from VNPay (their documented maxima are smaller). */
#define FIELD_MAX 256
#define VERSION "2.1.0"

_Static_assert(FG_AMOUNT_MAX <= INT64_MAX / FG_VNPAY_AMOUNT_SCALE, "amounts x 100 must fit int64");

/* ---- text ------------------------------------------------------------------ */

/* The ASCII base letter of a Latin letter with diacritics used in
 * Vietnamese (and the rest of Latin-1), or 0. */
static char fold(uint32_t cp)
{
    /* Latin Extended Additional: Vietnamese letters with tone marks, in
     * upper/lower pairs: A 1EA0-1EB7, E 1EB8-1EC7, I 1EC8-1ECB, O 1ECC-1EE3,
     * U 1EE4-1EF1, Y 1EF2-1EF9. */
    static const struct {
        uint32_t last;
        char upper;
    } VIET[] = {{0x1EB7, 'A'}, {0x1EC7, 'E'}, {0x1ECB, 'I'}, {0x1EE3, 'O'}, {0x1EF1, 'U'}, {0x1EF9, 'Y'}};
    static const char LATIN1[] = /* U+00C0 .. U+00FF, 0 = no base letter */
        "AAAAAA\0CEEEEIIII\0NOOOOO\0OUUUUY\0\0aaaaaa\0ceeeeiiii\0nooooo\0ouuuuy\0y";
    if (cp >= 0xC0 && cp <= 0xFF)
        return LATIN1[cp - 0xC0];
    switch (cp) {
    case 0x102: return 'A';
    case 0x103: return 'a';
    case 0x110: return 'D';
    case 0x111: return 'd';
    case 0x128: return 'I';
    case 0x129: return 'i';
    case 0x168: return 'U';
    case 0x169: return 'u';
    case 0x1A0: return 'O';
    case 0x1A1: return 'o';
    case 0x1AF: return 'U';
    case 0x1B0: return 'u';
    default: break;
    }
    if (cp >= 0x1EA0 && cp <= 0x1EF9)
        for (size_t i = 0; i < sizeof(VIET) / sizeof(VIET[0]); i++)
            if (cp <= VIET[i].last)
                return (char)(cp % 2 == 0 ? VIET[i].upper : VIET[i].upper + ('a' - 'A'));
    return 0;
}

void fg_vnpay_ascii_text(const char *text, size_t n, fg_buf_t *out)
{
    size_t start = out->len, chars = 0;
    int pending_space = 0;
    for (size_t i = 0; i < n && chars < FG_VNPAY_ORDER_INFO_MAX;) {
        uint32_t cp;
        int len = fg_utf8_decode(text + i, n - i, &cp);
        char c = 0;
        if (len == 0) {
            len = 1; /* a stray byte: a separator */
        } else if (cp >= 0x300 && cp <= 0x36F) {
            i += (size_t)len; /* a combining mark (decomposed text): drop it */
            continue;
        } else if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
            c = (char)cp;
        } else {
            c = fold(cp);
        }
        i += (size_t)len;
        if (c == 0) {
            pending_space = out->len > start;
            continue;
        }
        if (pending_space && chars + 1 < FG_VNPAY_ORDER_INFO_MAX) {
            fg_buf_putc(out, ' ');
            chars++;
        }
        pending_space = 0;
        fg_buf_putc(out, c);
        chars++;
    }
}

/* ---- query-string signatures -------------------------------------------------- */

static int kv_compare(const void *a, const void *b)
{
    return strcmp(((const fg_kv_t *)a)->name, ((const fg_kv_t *)b)->name);
}

static int signed_name(const char *name)
{
    return strncmp(name, "vnp_", 4) == 0 && strcmp(name, "vnp_SecureHash") != 0 &&
           strcmp(name, "vnp_SecureHashType") != 0;
}

void fg_vnpay_canonical(fg_kv_t *pairs, int n, fg_buf_t *out)
{
    qsort(pairs, (size_t)n, sizeof(*pairs), kv_compare);
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (!signed_name(pairs[i].name) || pairs[i].value == NULL || pairs[i].value[0] == '\0')
            continue;
        if (!first)
            fg_buf_putc(out, '&');
        first = 0;
        fg_form_encode(out, pairs[i].name, strlen(pairs[i].name));
        fg_buf_putc(out, '=');
        fg_form_encode(out, pairs[i].value, strlen(pairs[i].value));
    }
}

void fg_vnpay_hash(const char *secret, const char *data, size_t len, char out[FG_VNPAY_HASH_HEX_LEN + 1])
{
    uint8_t mac[FG_SHA512_LEN];
    fg_hmac_sha512(secret, strlen(secret), data, len, mac);
    fg_hex_encode(mac, sizeof(mac), out);
}

int fg_vnpay_verify_params(const char *secret, const fg_params_t *params, char *reason, size_t cap)
{
    fg_kv_t pairs[FG_PARAMS_MAX];
    int n = 0;
    char expected[FG_VNPAY_HASH_HEX_LEN + 1], got[FG_VNPAY_HASH_HEX_LEN + 1];
    const char *hash = fg_params_get(params, "vnp_SecureHash");
    if (secret == NULL || secret[0] == '\0') {
        snprintf(reason, cap, "vnpay.hash_secret is not configured");
        return FG_EINVALID;
    }
    if (params->repeated != NULL) {
        /* the hash covers one value and a reader may take another: refuse */
        snprintf(reason, cap, "parameter %.60s is given more than once", params->repeated);
        return FG_EINVALID;
    }
    if (hash == NULL || strlen(hash) != FG_VNPAY_HASH_HEX_LEN || params->truncated) {
        snprintf(reason, cap, "vnp_SecureHash missing or malformed");
        return FG_EINVALID;
    }
    for (int i = 0; i < params->count; i++)
        pairs[n++] = (fg_kv_t){params->names[i], params->values[i]};
    fg_buf_t canonical = FG_BUF_INIT;
    fg_vnpay_canonical(pairs, n, &canonical);
    fg_vnpay_hash(secret, canonical.data != NULL ? canonical.data : "", canonical.len, expected);
    fg_buf_free(&canonical);
    memcpy(got, hash, sizeof(got));
    fg_hex_lower(got);
    if (!fg_secure_equal(got, FG_VNPAY_HASH_HEX_LEN, expected, FG_VNPAY_HASH_HEX_LEN)) {
        snprintf(reason, cap, "vnp_SecureHash does not match");
        return FG_EINVALID;
    }
    return 0;
}

/* ---- the payment URL ------------------------------------------------------------ */

static int configured(const fg_config_t *cfg)
{
    return cfg->vnpay_tmn_code[0] != '\0' && cfg->vnpay_hash_secret[0] != '\0';
}

/* "Thanh toan <code> <description>" without diacritics. */
static void order_info(const char *code, const char *description, fg_buf_t *out)
{
    fg_buf_t text = FG_BUF_INIT;
    fg_buf_printf(&text, "Thanh toan %s", code != NULL ? code : "");
    if (description != NULL && description[0] != '\0')
        fg_buf_printf(&text, " %s", description);
    fg_vnpay_ascii_text(text.data, text.len, out);
    fg_buf_free(&text);
}

static int accepts(const fg_config_t *cfg, const char *currency, int64_t amount)
{
    int64_t scaled;
    if (!configured(cfg) || (currency != NULL && strcmp(currency, "VND") != 0))
        return FG_EINVALID; /* VNPay collects VND only */
    return currency == NULL || (amount > 0 && fg_money_mul(amount, FG_VNPAY_AMOUNT_SCALE, &scaled) == 0) ? 0
                                                                                                         : FG_ERANGE;
}

static int start(const fg_config_t *cfg, const fg_payment_start_t *in, fg_payment_started_t *out)
{
    int64_t scaled;
    char amount[24], created[15], expires[15], hash[FG_VNPAY_HASH_HEX_LEN + 1];
    int rc = accepts(cfg, in->currency, in->amount);
    if (rc != 0)
        return rc;
    if (fg_money_mul(in->amount, FG_VNPAY_AMOUNT_SCALE, &scaled) != 0)
        return FG_ERANGE;
    snprintf(amount, sizeof(amount), "%lld", (long long)scaled);
    fg_format_gmt7(in->now_ms, created);
    /* the bill's own expiry cuts the window short: money VNPay took after it
     * would reach an expired order and be held as unapplied */
    int64_t window_end = in->now_ms + FG_VNPAY_PAY_WINDOW_MS;
    if (in->expires_ms > 0 && in->expires_ms < window_end)
        window_end = in->expires_ms;
    /* VNPay counts in whole seconds and refuses a window that closes in the
     * second it opens: the order is as good as expired */
    if (window_end / 1000 <= in->now_ms / 1000)
        return FG_ESTATE;
    fg_format_gmt7(window_end, expires);
    fg_buf_t info = FG_BUF_INIT, return_url = FG_BUF_INIT, query = FG_BUF_INIT;
    order_info(in->order_code, in->description, &info);
    fg_buf_printf(&return_url, "%s/pay/return/vnpay", cfg->public_base_url);
    fg_kv_t pairs[] = {
        {"vnp_Version", VERSION},
        {"vnp_Command", "pay"},
        {"vnp_TmnCode", cfg->vnpay_tmn_code},
        {"vnp_Amount", amount},
        {"vnp_CurrCode", "VND"},
        {"vnp_TxnRef", in->payment_id},
        {"vnp_OrderInfo", info.data != NULL ? info.data : in->payment_id},
        {"vnp_OrderType", "other"},
        {"vnp_Locale", "vn"},
        {"vnp_ReturnUrl", return_url.data},
        {"vnp_IpAddr", in->payer_ip != NULL && in->payer_ip[0] != '\0' ? in->payer_ip : SERVER_IP},
        {"vnp_CreateDate", created},
        {"vnp_ExpireDate", expires},
    };
    fg_vnpay_canonical(pairs, (int)(sizeof(pairs) / sizeof(pairs[0])), &query);
    fg_vnpay_hash(cfg->vnpay_hash_secret, query.data, query.len, hash);
    fg_buf_printf(&out->redirect_url, "%s%c%s&vnp_SecureHash=%s", cfg->vnpay_pay_url,
                  strchr(cfg->vnpay_pay_url, '?') != NULL ? '&' : '?', query.data, hash);
    fg_buf_free(&info);
    fg_buf_free(&return_url);
    fg_buf_free(&query);
    return 0;
}

/* ---- notifications (IPN, return, querydr) ---------------------------------------- */

/* Scales a vnp_Amount (VND x 100) back to VND.  0 or FG_ERANGE. */
static int parse_amount(const char *text, int64_t *out)
{
    int64_t scaled;
    if (fg_parse_digits(text, &scaled) != 0 || scaled % FG_VNPAY_AMOUNT_SCALE != 0)
        return FG_ERANGE;
    *out = scaled / FG_VNPAY_AMOUNT_SCALE;
    return fg_amount_valid(*out) ? 0 : FG_ERANGE;
}

/* Fills a notification from the transaction's fields, the same for the IPN
 * and querydr.  0; FG_EEXCEEDS (the amount cannot be read) or FG_ERANGE,
 * with reason set. */
static int notification(const char *txn_ref, const char *amount, const char *transaction_no, const char *response_code,
                        const char *transaction_status, fg_notification_t *out, char *reason, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (txn_ref == NULL || txn_ref[0] == '\0' || strlen(txn_ref) >= sizeof(out->payment_id) ||
        !fg_printable_ascii(txn_ref, strlen(txn_ref), sizeof(out->payment_id) - 1)) {
        snprintf(reason, cap, "vnp_TxnRef missing or too long");
        return FG_ERANGE;
    }
    if (transaction_no == NULL || strlen(transaction_no) > FG_PROVIDER_TXN_MAX ||
        (transaction_no[0] != '\0' && fg_parse_digits(transaction_no, &(int64_t){0}) != 0)) {
        snprintf(reason, cap, "vnp_TransactionNo is not a number");
        return FG_ERANGE;
    }
    if (transaction_status == NULL || strlen(transaction_status) != 2) {
        snprintf(reason, cap, "vnp_TransactionStatus missing");
        return FG_ERANGE;
    }
    if (parse_amount(amount, &out->amount) != 0) {
        snprintf(reason, cap, "vnp_Amount is not a positive multiple of 100 within range");
        return FG_EEXCEEDS;
    }
    int paid = strcmp(transaction_status, "00") == 0 && (response_code == NULL || strcmp(response_code, "00") == 0);
    if (paid && strspn(transaction_no, "0") == strlen(transaction_no)) {
        snprintf(reason, cap, "a successful transaction without vnp_TransactionNo");
        return FG_ERANGE;
    }
    memcpy(out->payment_id, txn_ref, strlen(txn_ref) + 1);
    /* a failed transaction may carry no number (or 0): leave it empty */
    if (transaction_no[0] != '\0' && strspn(transaction_no, "0") != strlen(transaction_no))
        snprintf(out->provider_txn_id, sizeof(out->provider_txn_id), "%s", transaction_no);
    /* TransactionStatus 00 with a ResponseCode other than 00 is not paid:
     * keyed apart (with the code), so that a later paid report of the same
     * transaction is not taken for a duplicate of it */
    if (!paid && strcmp(transaction_status, "00") == 0)
        snprintf(out->event_id, sizeof(out->event_id), "%s:%s:00-%.8s", txn_ref, out->provider_txn_id, response_code);
    else
        snprintf(out->event_id, sizeof(out->event_id), "%s:%s:%s", txn_ref, out->provider_txn_id, transaction_status);
    if (paid)
        out->status = FG_NOTIFY_SUCCEEDED;
    else if (strcmp(transaction_status, "01") == 0 || strcmp(transaction_status, "07") == 0)
        out->status = FG_NOTIFY_PENDING; /* not finished / held for review */
    else
        out->status = FG_NOTIFY_FAILED;
    out->maybe_taken = !paid && strcmp(transaction_status, "00") == 0;
    return 0;
}

/* What an IPN or return query must carry, not empty.  An empty vnp_* value
 * is left out of vnp_SecureHash, so anyone can add one: it is not VNPay's
 * word, and a request that relies on it is refused as forged. */
static const char *const REQUIRED[] = {"vnp_TmnCode",           "vnp_TxnRef", "vnp_Amount", "vnp_ResponseCode",
                                       "vnp_TransactionStatus", "vnp_PayDate"};

static int verify(const fg_config_t *cfg, const fg_inbound_t *in, int64_t now_ms, fg_notification_t *out, char *reason,
                  size_t cap)
{
    fg_params_t params;
    int64_t paid_at;
    int rc;
    if (in->query == NULL || in->query_len == 0) {
        snprintf(reason, cap, "no vnp_ parameters in the query string");
        return FG_ERANGE;
    }
    fg_params_parse(&params, in->query, in->query_len);
    /* refuses repeated names before anything is read */
    if ((rc = fg_vnpay_verify_params(cfg->vnpay_hash_secret, &params, reason, cap)) != 0)
        goto Exit;
    for (size_t i = 0; i < sizeof(REQUIRED) / sizeof(REQUIRED[0]); i++) {
        const char *v = fg_params_get(&params, REQUIRED[i]);
        if (v == NULL || v[0] == '\0') {
            snprintf(reason, cap, "%s %s", REQUIRED[i], v == NULL ? "missing" : "is empty, so not signed");
            rc = v == NULL ? FG_ERANGE : FG_EINVALID;
            goto Exit;
        }
    }
    if (strcmp(fg_params_get(&params, "vnp_TmnCode"), cfg->vnpay_tmn_code) != 0) {
        snprintf(reason, cap, "vnp_TmnCode is not ours");
        rc = FG_EINVALID;
        goto Exit;
    }
    if (fg_parse_gmt7(fg_params_get(&params, "vnp_PayDate"), &paid_at) != 0) {
        snprintf(reason, cap, "vnp_PayDate is not yyyyMMddHHmmss");
        rc = FG_ERANGE;
        goto Exit;
    }
    /* VNPay retries an IPN until it is confirmed: only old replays are refused */
    if ((rc = fg_notify_fresh(paid_at, now_ms, "vnp_PayDate", reason, cap)) != 0)
        goto Exit;
    const char *transaction_no = fg_params_get(&params, "vnp_TransactionNo");
    rc = notification(fg_params_get(&params, "vnp_TxnRef"), fg_params_get(&params, "vnp_Amount"),
                      transaction_no != NULL ? transaction_no : "", fg_params_get(&params, "vnp_ResponseCode"),
                      fg_params_get(&params, "vnp_TransactionStatus"), out, reason, cap);
Exit:
    fg_params_free(&params);
    return rc;
}

static void ack(fg_ack_t outcome, int *status, fg_buf_t *body, const char **content_type)
{
    static const char *const CODES[] = {"00", "02", "01", "04", "97", "99", "99"};
    static const char *const MESSAGES[] = {"Confirm Success", "Order already confirmed", "Order not found",
                                           "Invalid amount",  "Invalid signature",       "Invalid request",
                                           "Unknown error"};
    _Static_assert(sizeof(CODES) / sizeof(CODES[0]) == FG_ACK_ERROR + 1, "one RspCode per outcome");
    *status = 200; /* VNPay reads RspCode; it retries until 00 or 02 */
    *content_type = "application/json; charset=utf-8";
    fg_buf_printf(body, "{\"RspCode\":\"%s\",\"Message\":\"%s\"}", CODES[outcome], MESSAGES[outcome]);
}

/* ---- merchant_webapi ------------------------------------------------------------- */

/* Adds "name":"value" to a JSON object being written and value to the
 * '|'-joined hash input. */
static void api_field(fg_buf_t *json, fg_buf_t *raw, const char *name, const char *value)
{
    int first = json->len <= 1; /* only the '{' so far */
    fg_json_kv_str(json, !first, name, value);
    if (!first)
        fg_buf_putc(raw, '|');
    fg_buf_puts(raw, value);
}

static void api_finish(const fg_config_t *cfg, fg_buf_t *json, fg_buf_t *raw)
{
    char hash[FG_VNPAY_HASH_HEX_LEN + 1];
    fg_vnpay_hash(cfg->vnpay_hash_secret, raw->data, raw->len, hash);
    fg_json_kv_str(json, 1, "vnp_SecureHash", hash);
    fg_buf_putc(json, '}');
}

static int query_request(const fg_config_t *cfg, const fg_payment_query_t *in, fg_provider_request_t *req)
{
    char created[15], now[15];
    if (!configured(cfg))
        return FG_EINVALID;
    fg_format_gmt7(in->created_ms, created);
    fg_format_gmt7(in->now_ms, now);
    fg_buf_t raw = FG_BUF_INIT, info = FG_BUF_INIT;
    fg_buf_printf(&info, "Truy van giao dich %s", in->payment_id);
    fg_buf_putc(&req->body, '{');
    api_field(&req->body, &raw, "vnp_RequestId", in->request_id);
    api_field(&req->body, &raw, "vnp_Version", VERSION);
    api_field(&req->body, &raw, "vnp_Command", "querydr");
    api_field(&req->body, &raw, "vnp_TmnCode", cfg->vnpay_tmn_code);
    api_field(&req->body, &raw, "vnp_TxnRef", in->payment_id);
    api_field(&req->body, &raw, "vnp_TransactionDate", created);
    api_field(&req->body, &raw, "vnp_CreateDate", now);
    api_field(&req->body, &raw, "vnp_IpAddr", SERVER_IP);
    api_field(&req->body, &raw, "vnp_OrderInfo", info.data);
    api_finish(cfg, &req->body, &raw);
    fg_buf_puts(&req->url, cfg->vnpay_api_url);
    req->timeout_ms = API_TIMEOUT_MS;
    fg_buf_free(&raw);
    fg_buf_free(&info);
    return 0;
}

/* The answer fields, in querydr's hash order; refund hashes the first 12
 * and vnp_OrderInfo (VNPay's documentation). */
enum {
    A_RESPONSE_ID,
    A_COMMAND,
    A_RESPONSE_CODE,
    A_MESSAGE,
    A_TMN_CODE,
    A_TXN_REF,
    A_AMOUNT,
    A_BANK_CODE,
    A_PAY_DATE,
    A_TRANSACTION_NO,
    A_TRANSACTION_TYPE,
    A_TRANSACTION_STATUS,
    A_ORDER_INFO,
    A_PROMOTION_CODE,
    A_PROMOTION_AMOUNT,
    A_FIELDS
};
static const char *const ANSWER_NAMES[A_FIELDS] = {"vnp_ResponseId",    "vnp_Command",         "vnp_ResponseCode",
                                                   "vnp_Message",       "vnp_TmnCode",         "vnp_TxnRef",
                                                   "vnp_Amount",        "vnp_BankCode",        "vnp_PayDate",
                                                   "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus",
                                                   "vnp_OrderInfo",     "vnp_PromotionCode",   "vnp_PromotionAmount"};

typedef struct {
    char v[A_FIELDS][FIELD_MAX];
} answer_t;

/* Parses and verifies an API answer.  0, FG_EINVALID (bad signature) or
 * FG_EUNAVAILABLE (not a JSON answer). */
static int api_answer(const fg_config_t *cfg, long http_status, const char *body, size_t len, int is_querydr,
                      answer_t *a, char *reason, size_t cap)
{
    static const int REFUND_ORDER[] = {A_RESPONSE_ID, A_COMMAND,        A_RESPONSE_CODE,    A_MESSAGE,
                                       A_TMN_CODE,    A_TXN_REF,        A_AMOUNT,           A_BANK_CODE,
                                       A_PAY_DATE,    A_TRANSACTION_NO, A_TRANSACTION_TYPE, A_TRANSACTION_STATUS,
                                       A_ORDER_INFO};
    char error[128], got[FG_VNPAY_HASH_HEX_LEN + 1], expected[FG_VNPAY_HASH_HEX_LEN + 1];
    if (http_status != 200 || body == NULL || len == 0 || len > 64 * 1024) {
        snprintf(reason, cap, "VNPay answered HTTP %ld", http_status);
        return FG_EUNAVAILABLE;
    }
    char *text = fg_strndup(body, len);
    yajl_val root = fg_json_tree(text, len, error, sizeof(error));
    free(text);
    int rc = 0;
    if (root == NULL || !YAJL_IS_OBJECT(root)) {
        snprintf(reason, cap, "VNPay's answer is not a JSON object");
        rc = FG_EUNAVAILABLE;
        goto Exit;
    }
    for (int i = 0; i < A_FIELDS; i++)
        if (fg_json_text(root, ANSWER_NAMES[i], a->v[i], sizeof(a->v[i])) == FG_ETOOLONG) {
            snprintf(reason, cap, "VNPay's answer has an over-long %s", ANSWER_NAMES[i]);
            rc = FG_EUNAVAILABLE;
            goto Exit;
        }
    fg_buf_t raw = FG_BUF_INIT;
    int count = is_querydr ? A_FIELDS : (int)(sizeof(REFUND_ORDER) / sizeof(REFUND_ORDER[0]));
    for (int i = 0; i < count; i++) {
        if (i > 0)
            fg_buf_putc(&raw, '|');
        fg_buf_puts(&raw, a->v[is_querydr ? i : REFUND_ORDER[i]]);
    }
    fg_vnpay_hash(cfg->vnpay_hash_secret, raw.data, raw.len, expected);
    fg_buf_free(&raw);
    if (fg_json_text(root, "vnp_SecureHash", got, sizeof(got)) != 0 ||
        (fg_hex_lower(got), !fg_secure_equal(got, strlen(got), expected, FG_VNPAY_HASH_HEX_LEN))) {
        snprintf(reason, cap, "VNPay's answer signature does not match (code %s)", a->v[A_RESPONSE_CODE]);
        rc = FG_EINVALID;
    }
Exit:
    if (root != NULL)
        yajl_tree_free(root);
    return rc;
}

static int query_response(const fg_config_t *cfg, const fg_payment_query_t *in, long http_status, const char *body,
                          size_t len, fg_notification_t *out, char *reason, size_t cap)
{
    answer_t *a = fg_calloc(1, sizeof(*a));
    int rc = api_answer(cfg, http_status, body, len, 1, a, reason, cap);
    if (rc != 0)
        goto Exit;
    if (strcmp(a->v[A_RESPONSE_CODE], "91") == 0) {
        snprintf(reason, cap, "VNPay has no such transaction");
        rc = FG_ENOTFOUND;
    } else if (strcmp(a->v[A_RESPONSE_CODE], "00") != 0) {
        snprintf(reason, cap, "querydr answered %s: %.80s", a->v[A_RESPONSE_CODE], a->v[A_MESSAGE]);
        rc = FG_EUNAVAILABLE;
    } else if (strcmp(a->v[A_TXN_REF], in->payment_id) != 0) {
        snprintf(reason, cap, "querydr answered about another vnp_TxnRef");
        rc = FG_EINVALID;
    } else if (notification(a->v[A_TXN_REF], a->v[A_AMOUNT], a->v[A_TRANSACTION_NO], NULL, a->v[A_TRANSACTION_STATUS],
                            out, reason, cap) != 0) {
        rc = FG_EUNAVAILABLE;
    }
Exit:
    free(a);
    return rc;
}

static int refund_request(const fg_config_t *cfg, const fg_refund_in_t *in, fg_provider_request_t *req)
{
    int64_t scaled;
    char amount[24], paid[15], now[15];
    if (!configured(cfg) || in->provider_txn_id == NULL || in->provider_txn_id[0] == '\0')
        return FG_EINVALID;
    if (fg_money_mul(in->amount, FG_VNPAY_AMOUNT_SCALE, &scaled) != 0)
        return FG_ERANGE;
    snprintf(amount, sizeof(amount), "%lld", (long long)scaled);
    fg_format_gmt7(in->payment_created_ms, paid);
    fg_format_gmt7(in->now_ms, now);
    fg_buf_t raw = FG_BUF_INIT, info = FG_BUF_INIT, text = FG_BUF_INIT;
    fg_buf_printf(&text, "Hoan tien %s %s", in->payment_id, in->reason != NULL ? in->reason : "");
    fg_vnpay_ascii_text(text.data, text.len, &info);
    fg_buf_putc(&req->body, '{');
    api_field(&req->body, &raw, "vnp_RequestId", fg_vnpay_refund_request_id(in->refund_id));
    api_field(&req->body, &raw, "vnp_Version", VERSION);
    api_field(&req->body, &raw, "vnp_Command", "refund");
    api_field(&req->body, &raw, "vnp_TmnCode", cfg->vnpay_tmn_code);
    api_field(&req->body, &raw, "vnp_TransactionType", in->full ? "02" : "03");
    api_field(&req->body, &raw, "vnp_TxnRef", in->payment_id);
    api_field(&req->body, &raw, "vnp_Amount", amount);
    api_field(&req->body, &raw, "vnp_TransactionNo", in->provider_txn_id);
    api_field(&req->body, &raw, "vnp_TransactionDate", paid);
    api_field(&req->body, &raw, "vnp_CreateBy", "feegate");
    api_field(&req->body, &raw, "vnp_CreateDate", now);
    api_field(&req->body, &raw, "vnp_IpAddr", SERVER_IP);
    api_field(&req->body, &raw, "vnp_OrderInfo", info.data != NULL ? info.data : "Hoan tien");
    api_finish(cfg, &req->body, &raw);
    fg_buf_puts(&req->url, cfg->vnpay_api_url);
    req->timeout_ms = API_TIMEOUT_MS;
    fg_buf_free(&raw);
    fg_buf_free(&info);
    fg_buf_free(&text);
    return 0;
}

const char *fg_vnpay_refund_request_id(const char *refund_id)
{
    const char *sep = strchr(refund_id, '_');
    return sep != NULL ? sep + 1 : refund_id;
}

static int refund_response(const fg_config_t *cfg, const fg_refund_in_t *in, long http_status, const char *body,
                           size_t len, char *provider_refund_id, size_t id_cap, char *reason, size_t cap)
{
    answer_t *a = fg_calloc(1, sizeof(*a));
    int rc = api_answer(cfg, http_status, body, len, 0, a, reason, cap);
    if (rc == FG_EINVALID)
        rc = FG_EUNAVAILABLE; /* an answer we cannot trust says nothing either way */
    if (rc != 0)
        goto Exit;
    const char *code = a->v[A_RESPONSE_CODE];
    if (strcmp(code, "00") == 0 && strcmp(a->v[A_TXN_REF], in->payment_id) == 0) {
        snprintf(provider_refund_id, id_cap, "%s", a->v[A_TRANSACTION_NO]);
    } else if (strcmp(code, "00") == 0) {
        snprintf(reason, cap, "VNPay's refund answer names another vnp_TxnRef");
        rc = FG_EUNAVAILABLE;
    } else if (strcmp(code, "91") == 0 || strcmp(code, "95") == 0 || strcmp(code, "97") == 0) {
        /* signed, and about a refund that cannot have been made: 91 no such
         * transaction, 95 the original did not succeed, 97 our checksum */
        snprintf(reason, cap, "VNPay refused the refund (%s)", code);
        rc = FG_EINVALID;
    } else {
        /* 94 duplicate request (an earlier attempt may have been made), 99
         * other error, anything else: the outcome is not known */
        snprintf(reason, cap, "VNPay answered the refund with %.8s: outcome not known", code);
        rc = FG_EUNAVAILABLE;
    }
Exit:
    free(a);
    return rc;
}

int fg_vnpay_refund_query_request(const fg_config_t *cfg, const fg_refund_in_t *in, const char *request_id,
                                  fg_provider_request_t *req)
{
    char created[15], now[15];
    if (!configured(cfg))
        return FG_EINVALID;
    fg_format_gmt7(in->payment_created_ms, created);
    fg_format_gmt7(in->now_ms, now);
    fg_buf_t raw = FG_BUF_INIT, info = FG_BUF_INIT;
    fg_buf_printf(&info, "Truy van hoan tien %s", in->refund_id);
    fg_buf_putc(&req->body, '{');
    api_field(&req->body, &raw, "vnp_RequestId", request_id);
    api_field(&req->body, &raw, "vnp_Version", VERSION);
    api_field(&req->body, &raw, "vnp_Command", "querydr");
    api_field(&req->body, &raw, "vnp_TmnCode", cfg->vnpay_tmn_code);
    api_field(&req->body, &raw, "vnp_TxnRef", in->payment_id);
    api_field(&req->body, &raw, "vnp_TransactionDate", created);
    api_field(&req->body, &raw, "vnp_CreateDate", now);
    api_field(&req->body, &raw, "vnp_IpAddr", SERVER_IP);
    api_field(&req->body, &raw, "vnp_OrderInfo", info.data);
    fg_json_kv_str(&req->body, 1, "vnp_RefundRequestId", fg_vnpay_refund_request_id(in->refund_id));
    api_finish(cfg, &req->body, &raw);
    fg_buf_puts(&req->url, cfg->vnpay_api_url);
    req->timeout_ms = API_TIMEOUT_MS;
    fg_buf_free(&raw);
    fg_buf_free(&info);
    return 0;
}

int fg_vnpay_refund_query_response(const fg_config_t *cfg, const fg_refund_in_t *in, long http_status, const char *body,
                                   size_t len, char *provider_refund_id, size_t id_cap, char *reason, size_t cap)
{
    answer_t *a = fg_calloc(1, sizeof(*a));
    int64_t amount = 0;
    int rc = api_answer(cfg, http_status, body, len, 1, a, reason, cap);
    if (rc == FG_EINVALID)
        rc = FG_EUNAVAILABLE;
    if (rc != 0)
        goto Exit;
    const char *code = a->v[A_RESPONSE_CODE], *type = a->v[A_TRANSACTION_TYPE], *status = a->v[A_TRANSACTION_STATUS];
    if (strcmp(a->v[A_TXN_REF], in->payment_id) != 0) {
        snprintf(reason, cap, "querydr answered about another vnp_TxnRef");
        rc = FG_EUNAVAILABLE;
    } else if (strcmp(code, "91") == 0) {
        snprintf(reason, cap, "VNPay has no refund under this request id");
        rc = FG_ENOTFOUND;
    } else if (strcmp(code, "00") != 0 || (strcmp(type, "02") != 0 && strcmp(type, "03") != 0)) {
        snprintf(reason, cap, "querydr about the refund answered %.8s (type %.8s)", code, type);
        rc = FG_EUNAVAILABLE;
    } else if (strcmp(status, "09") == 0) {
        snprintf(reason, cap, "VNPay refused the refund (status 09)");
        rc = FG_ENOTFOUND;
    } else if (strcmp(status, "00") != 0) {
        snprintf(reason, cap, "the refund is still processed at VNPay (status %.8s)", status);
        rc = FG_EUNAVAILABLE;
    } else if (parse_amount(a->v[A_AMOUNT], &amount) != 0 || amount != in->amount) {
        snprintf(reason, cap, "querydr reports the refund with another amount");
        rc = FG_EUNAVAILABLE;
    } else {
        snprintf(provider_refund_id, id_cap, "%s", a->v[A_TRANSACTION_NO]);
    }
Exit:
    free(a);
    return rc;
}

const fg_adapter_t fg_adapter_vnpay = {
    .name = "vnpay",
    .start = start,
    .accepts = accepts,
    .verify = verify,
    .ack = ack,
    .refund = NULL,
    .redirect_valid_ms = FG_VNPAY_PAY_WINDOW_MS, /* vnp_ExpireDate, or the order's expiry when sooner */
    .amount_must_match = 1,
    .signed_query = 1,
    .query_request = query_request,
    .query_response = query_response,
    .refund_request = refund_request,
    .refund_response = refund_response,
};
