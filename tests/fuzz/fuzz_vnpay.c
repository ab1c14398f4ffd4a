/*
 * fuzz_vnpay.c - VNPay's inbound bytes (adapters/vnpay): the IPN and return
 * query string (verify: parameters, vnp_SecureHash, freshness, the
 * transaction's fields) and the API answers (querydr, refund, refund
 * query).  The first byte picks what the input is, and whether the target
 * signs it with the configured secret first, so that what follows a good
 * signature is reached too.
 */
#include "fuzz.h"

#include "core/text.h"
#include "vnpay/vnpay.h"

/* The answers' signed fields, in the order VNPay joins them with '|'. */
static const char *const QUERYDR_FIELDS[] = {"vnp_ResponseId",    "vnp_Command",         "vnp_ResponseCode",
                                             "vnp_Message",       "vnp_TmnCode",         "vnp_TxnRef",
                                             "vnp_Amount",        "vnp_BankCode",        "vnp_PayDate",
                                             "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus",
                                             "vnp_OrderInfo",     "vnp_PromotionCode",   "vnp_PromotionAmount"};
#define REFUND_FIELD_COUNT 13 /* the first 13: no promotion */

static void check_notification(const fg_notification_t *n)
{
    FUZZ_CHECK(fuzz_terminated(n->payment_id, sizeof(n->payment_id)) && n->payment_id[0] != '\0');
    FUZZ_CHECK(fuzz_terminated(n->provider_txn_id, sizeof(n->provider_txn_id)));
    FUZZ_CHECK(fuzz_terminated(n->event_id, sizeof(n->event_id)));
    FUZZ_CHECK(n->amount >= 1);
}

/* The query with its vnp_SecureHash computed over what it holds. */
static void sign_query(const char *q, size_t len, fg_buf_t *out)
{
    fg_params_t params;
    fg_kv_t pairs[FG_PARAMS_MAX];
    char hash[FG_VNPAY_HASH_HEX_LEN + 1];
    fg_buf_t canonical = FG_BUF_INIT;
    fg_params_parse(&params, q, len);
    for (int i = 0; i < params.count; i++)
        pairs[i] = (fg_kv_t){params.names[i], params.values[i]};
    fg_vnpay_canonical(pairs, params.count, &canonical);
    fg_vnpay_hash(fuzz_configured()->vnpay_hash_secret, canonical.data != NULL ? canonical.data : "", canonical.len,
                  hash);
    fg_buf_append(out, q, len);
    fg_buf_printf(out, "&vnp_SecureHash=%s", hash);
    fg_buf_free(&canonical);
    fg_params_free(&params);
}

/* The answer with its vnp_SecureHash computed over its fields. */
static void sign_answer(const char *body, size_t len, int count, fg_buf_t *out)
{
    char error[128], hash[FG_VNPAY_HASH_HEX_LEN + 1], value[1024];
    char *text = fuzz_text((const uint8_t *)body, len);
    yajl_val root = yajl_tree_parse(text, error, sizeof(error));
    fg_buf_t raw = FG_BUF_INIT;
    for (int i = 0; i < count; i++) {
        if (root == NULL || fg_json_text(root, QUERYDR_FIELDS[i], value, sizeof(value)) != 0)
            value[0] = '\0';
        fg_buf_printf(&raw, "%s%s", i > 0 ? "|" : "", value);
    }
    fg_vnpay_hash(fuzz_configured()->vnpay_hash_secret, raw.data != NULL ? raw.data : "", raw.len, hash);
    fuzz_json_with(body, len, "vnp_SecureHash", hash, out);
    fg_buf_free(&raw);
    if (root != NULL)
        yajl_tree_free(root);
    free(text);
}

/* The payment the answer is about: its vnp_TxnRef, so that the target reaches
 * past the check that it is ours. */
static void payment_of(const char *body, size_t len, char *out, size_t cap)
{
    char error[128];
    char *text = fuzz_text((const uint8_t *)body, len);
    yajl_val root = yajl_tree_parse(text, error, sizeof(error));
    if (root == NULL || fg_json_text(root, "vnp_TxnRef", out, cap) != 0)
        snprintf(out, cap, "pay_fuzz");
    if (root != NULL)
        yajl_tree_free(root);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fuzz_take_byte(&data, &size);
    const char *input = (const char *)data;
    fg_buf_t signed_input = FG_BUF_INIT;
    fg_notification_t n;
    char reason[256], payment_id[64], refund_id[64];
    int rc;
    reason[0] = '\0';
    int sign = (mode & 0x80) != 0;
    switch (mode % 4) {
    case 0: { /* IPN / return: GET with the query string */
        if (sign)
            sign_query(input, size, &signed_input);
        else
            fg_buf_append(&signed_input, input, size);
        fg_inbound_t in = {.method = "GET", .query = signed_input.data, .query_len = signed_input.len};
        /* freshness is checked against the clock: run at the stated time */
        fg_params_t params;
        int64_t now = FUZZ_NOW_MS, at;
        fg_params_parse(&params, input, size);
        const char *date = fg_params_get(&params, "vnp_PayDate");
        if (date != NULL && fg_parse_gmt7(date, &at) == 0 && (mode & 0x40) == 0)
            now = at;
        fg_params_free(&params);
        rc = fg_adapter_vnpay.verify(fuzz_configured(), &in, now, &n, reason, sizeof(reason));
        if (rc == 0)
            check_notification(&n);
        else
            /* FG_EEXCEEDS: signed, its amount unreadable (answered as an invalid amount) */
            FUZZ_CHECK((rc == FG_EINVALID || rc == FG_ERANGE || rc == FG_EEXCEEDS) && reason[0] != '\0');
        break;
    }
    case 1: { /* querydr's answer */
        if (sign)
            sign_answer(input, size, 15, &signed_input);
        else
            fg_buf_append(&signed_input, input, size);
        payment_of(input, size, payment_id, sizeof(payment_id));
        fg_payment_query_t q = {.payment_id = payment_id, .amount = 150000, .now_ms = FUZZ_NOW_MS};
        rc = fg_adapter_vnpay.query_response(fuzz_configured(), &q, 200, signed_input.data, signed_input.len, &n,
                                             reason, sizeof(reason));
        if (rc == 0)
            check_notification(&n);
        break;
    }
    default: { /* the refund's answer, and the refund query's */
        if (sign)
            sign_answer(input, size, REFUND_FIELD_COUNT, &signed_input);
        else
            fg_buf_append(&signed_input, input, size);
        payment_of(input, size, payment_id, sizeof(payment_id));
        fg_refund_in_t r = {.payment_id = payment_id,
                            .provider_txn_id = "14123456",
                            .refund_id = "rfd_fuzz",
                            .amount = 150000,
                            .now_ms = FUZZ_NOW_MS};
        if (mode % 4 == 2)
            rc = fg_adapter_vnpay.refund_response(fuzz_configured(), &r, 200, signed_input.data, signed_input.len,
                                                  refund_id, sizeof(refund_id), reason, sizeof(reason));
        else
            rc = fg_vnpay_refund_query_response(fuzz_configured(), &r, 200, signed_input.data, signed_input.len,
                                                refund_id, sizeof(refund_id), reason, sizeof(reason));
        if (rc == 0)
            FUZZ_CHECK(fuzz_terminated(refund_id, sizeof(refund_id)));
        break;
    }
    }
    fg_buf_free(&signed_input);
    return 0;
}
