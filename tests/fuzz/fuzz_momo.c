/*
 * fuzz_momo.c - MoMo's inbound bytes (adapters/momo): the IPN as a JSON body
 * and as the payer's redirect query (verify: fields, signature, partner,
 * freshness) and the API answers (create, query, refund, refund query).  The
 * first byte picks what the input is and whether the target signs it with the
 * configured key first, so that what follows a good signature is reached too.
 */
#include "fuzz.h"

#include "momo/momo.h"
#include "protocol.h"

#define FIELD_CAP 1024 /* momo.c's FIELD_MAX */

/* The signed fields after accessKey, in MoMo's order. */
static const char *const IPN_NAMES[] = {"amount",    "extraData",    "message",     "orderId",
                                        "orderInfo", "orderType",    "partnerCode", "payType",
                                        "requestId", "responseTime", "resultCode",  "transId"};
static const char *const CREATE_NAMES[] = {"amount", "message",   "orderId",      "partnerCode",
                                           "payUrl", "requestId", "responseTime", "resultCode"};
static const char *const REFUND_NAMES[] = {"amount",    "message",      "orderId",    "partnerCode",
                                           "requestId", "responseTime", "resultCode", "transId"};

typedef struct {
    const char *const *names;
    int count;
} names_t;

static void sign_raw(const fg_buf_t *raw, char sig[FG_MOMO_SIGNATURE_HEX_LEN + 1])
{
    fg_momo_sign(fuzz_configured()->momo_secret_key, raw->data != NULL ? raw->data : "", raw->len, sig);
}

/* The JSON body with its signature computed over the named fields. */
static void sign_json(const char *body, size_t len, names_t names, fg_buf_t *out)
{
    char error[128], value[FIELD_CAP], sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    char *text = fuzz_text((const uint8_t *)body, len);
    yajl_val root = yajl_tree_parse(text, error, sizeof(error));
    fg_buf_t raw = FG_BUF_INIT;
    fg_buf_printf(&raw, "accessKey=%s", fuzz_configured()->momo_access_key);
    for (int i = 0; i < names.count; i++) {
        if (root == NULL || fg_json_text(root, names.names[i], value, sizeof(value)) != 0)
            value[0] = '\0';
        fg_buf_printf(&raw, "&%s=%s", names.names[i], value);
    }
    sign_raw(&raw, sig);
    fuzz_json_with(body, len, "signature", sig, out);
    fg_buf_free(&raw);
    if (root != NULL)
        yajl_tree_free(root);
    free(text);
}

/* The redirect query with its signature computed over the IPN's fields. */
static void sign_query(const char *q, size_t len, fg_buf_t *out)
{
    char sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    fg_params_t params;
    fg_buf_t raw = FG_BUF_INIT;
    fg_params_parse(&params, q, len);
    fg_buf_printf(&raw, "accessKey=%s", fuzz_configured()->momo_access_key);
    for (size_t i = 0; i < sizeof(IPN_NAMES) / sizeof(IPN_NAMES[0]); i++) {
        const char *v = fg_params_get(&params, IPN_NAMES[i]);
        fg_buf_printf(&raw, "&%s=%s", IPN_NAMES[i], v != NULL && strlen(v) < FIELD_CAP ? v : "");
    }
    fg_params_free(&params);
    sign_raw(&raw, sig);
    fg_buf_append(out, q, len);
    fg_buf_printf(out, "&signature=%s", sig);
    fg_buf_free(&raw);
}

static void order_of(const char *body, size_t len, char *out, size_t cap)
{
    char error[128];
    char *text = fuzz_text((const uint8_t *)body, len);
    yajl_val root = yajl_tree_parse(text, error, sizeof(error));
    if (root == NULL || fg_json_text(root, "orderId", out, cap) != 0)
        snprintf(out, cap, "pay_fuzz");
    if (root != NULL)
        yajl_tree_free(root);
    free(text);
}

static void check_notification(const fg_notification_t *n)
{
    FUZZ_CHECK(fuzz_terminated(n->payment_id, sizeof(n->payment_id)) && n->payment_id[0] != '\0');
    FUZZ_CHECK(fuzz_terminated(n->provider_txn_id, sizeof(n->provider_txn_id)));
    FUZZ_CHECK(fuzz_terminated(n->event_id, sizeof(n->event_id)));
    FUZZ_CHECK(n->amount >= 1);
}

#define NAMES(a) ((names_t){a, (int)(sizeof(a) / sizeof(a[0]))})

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    const char *input = (const char *)data;
    int sign = (mode & 0x80) != 0;
    fg_buf_t body = FG_BUF_INIT;
    fg_notification_t n;
    char reason[256], order_id[64], refund_id[64];
    int rc;
    order_of(input, size, order_id, sizeof(order_id));
    switch (mode % 6) {
    case 0:
    case 1: { /* the IPN (a POST with JSON) or the redirect (a GET with the query) */
        int query = mode % 6 == 1;
        if (sign && query)
            sign_query(input, size, &body);
        else if (sign)
            sign_json(input, size, NAMES(IPN_NAMES), &body);
        else
            fg_buf_append(&body, input, size);
        fg_inbound_t in = {.method = query ? "GET" : "POST"};
        if (query) {
            in.query = body.data;
            in.query_len = body.len;
        } else {
            in.body = body.data;
            in.body_len = body.len;
        }
        /* freshness: responseTime is epoch ms; run near it unless told not to */
        rc = fg_adapter_momo.verify(fuzz_configured(), &in, (mode & 0x40) ? FUZZ_NOW_MS : 0, &n, reason,
                                    sizeof(reason));
        if (rc != 0 && (mode & 0x40) == 0 && (rc == FG_EINVALID || rc == FG_ERANGE)) {
            /* run again at the time it states, as a fresh IPN */
            char text[32];
            fg_params_t params;
            int64_t at = 0;
            if (query) {
                fg_params_parse(&params, input, size);
                const char *v = fg_params_get(&params, "responseTime");
                if (v != NULL && fg_parse_digits(v, &at) != 0)
                    at = 0;
                fg_params_free(&params);
            } else {
                char error[128];
                char *t = fuzz_text(data, size);
                yajl_val root = yajl_tree_parse(t, error, sizeof(error));
                if (root != NULL && fg_json_text(root, "responseTime", text, sizeof(text)) == 0 &&
                    fg_parse_digits(text, &at) != 0)
                    at = 0;
                if (root != NULL)
                    yajl_tree_free(root);
                free(t);
            }
            if (at != 0)
                rc = fg_adapter_momo.verify(fuzz_configured(), &in, at, &n, reason, sizeof(reason));
        }
        if (rc == 0)
            check_notification(&n);
        else
            FUZZ_CHECK(rc == FG_EINVALID || rc == FG_ERANGE);
        break;
    }
    case 2: { /* the create answer */
        if (sign)
            sign_json(input, size, NAMES(CREATE_NAMES), &body);
        else
            fg_buf_append(&body, input, size);
        fg_payment_start_t start = {
            .payment_id = order_id, .amount = 150000, .currency = "VND", .order_code = "HD1", .now_ms = FUZZ_NOW_MS};
        fg_payment_started_t started = {FG_BUF_INIT, FG_BUF_INIT};
        rc = fg_adapter_momo.start_response(fuzz_configured(), &start, (mode & 0x40) ? 400 : 200, body.data, body.len,
                                            &started, reason, sizeof(reason));
        if (rc == 0)
            FUZZ_CHECK(started.redirect_url.len > 0);
        fg_buf_free(&started.redirect_url);
        fg_buf_free(&started.qr_payload);
        break;
    }
    case 3: { /* the status query's answer */
        if (sign)
            sign_json(input, size, NAMES(IPN_NAMES), &body);
        else
            fg_buf_append(&body, input, size);
        fg_payment_query_t q = {.payment_id = order_id, .amount = 150000, .now_ms = FUZZ_NOW_MS};
        rc = fg_adapter_momo.query_response(fuzz_configured(), &q, 200, body.data, body.len, &n, reason,
                                            sizeof(reason));
        if (rc == 0)
            check_notification(&n);
        break;
    }
    default: { /* the refund's answer, and the refund query's */
        if (sign)
            sign_json(input, size, NAMES(REFUND_NAMES), &body);
        else
            fg_buf_append(&body, input, size);
        fg_refund_in_t r = {.payment_id = order_id,
                            .provider_txn_id = "3123456789",
                            .refund_id = order_id,
                            .amount = 150000,
                            .now_ms = FUZZ_NOW_MS};
        if (mode % 6 == 4)
            rc = fg_adapter_momo.refund_response(fuzz_configured(), &r, 200, body.data, body.len, refund_id,
                                                 sizeof(refund_id), reason, sizeof(reason));
        else
            rc = fg_momo_refund_query_response(fuzz_configured(), &r, 200, body.data, body.len, refund_id,
                                               sizeof(refund_id), reason, sizeof(reason));
        if (rc == 0)
            FUZZ_CHECK(fuzz_terminated(refund_id, sizeof(refund_id)));
        break;
    }
    }
    fg_buf_free(&body);
    return 0;
}
