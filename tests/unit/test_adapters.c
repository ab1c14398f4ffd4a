/*
 * test_adapters.c - the bank adapters' protocol code: every test vector of
 * PROTOCOLS.md (VNPay's vnp_SecureHash, MoMo's signature, the VietQR CRC and
 * worked example), diacritics stripping, order codes found in noisy transfer
 * memos, and the verification and refusal of notifications and answers.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "adapter.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/money.h"
#include "momo/momo.h"
#include "protocol.h"
#include "sepay/sepay.h"
#include "vietqr/vietqr.h"
#include "vnpay/vnpay.h"

static const char VNPAY_SECRET[] = "TESTSECRETKEY0123456789ABCDEFGHI";
static const char VNPAY_VECTOR[] =
    "vnp_Amount=1500000000&vnp_Command=pay&vnp_CreateDate=20250905093000&vnp_CurrCode=VND&vnp_ExpireDate="
    "20250905094500&vnp_IpAddr=203.0.113.7&vnp_Locale=vn&vnp_OrderInfo=Hoc+phi+HK1+2025+ma+HS+000123&vnp_OrderType="
    "other&vnp_ReturnUrl=https%3A%2F%2Fpay.example.gov.vn%2Freturn&vnp_TmnCode=TESTTMN1&vnp_TxnRef=HP2025-000123&"
    "vnp_Version=2.1.0";
static const char VNPAY_VECTOR_HASH[] = "44de0874a33fdc5d38116666c10f782c87d05ab4c80eec472efe6cb89bc7517392e16cc477f73"
                                        "db9b87090faa739f5a228b79e00bf217a514ee4493da9b1ab83";
/* vnp_PayDate 20250905093512 (GMT+7) of the test IPNs, in Unix ms */
#define VNPAY_PAID_MS 1757039712000LL
/* responseTime of the test MoMo IPNs */
#define MOMO_SENT_MS 1700000000000LL
#define DAY_MS (24LL * 3600 * 1000)
static const char MOMO_ACCESS[] = "F8BBA842ECF85";
static const char MOMO_SECRET[] = "K951B6PE1waDMi640xX08PD3vg6EkVlz";

static fg_config_t cfg;

static void set(const char *key, const char *value)
{
    char err[256];
    ck_assert_msg(fg_config_set(&cfg, key, value, err, sizeof(err)) == 0, "%s", err);
}

static void setup(void)
{
    fg_config_defaults(&cfg);
    set("public.base_url", "https://pay.example.gov.vn");
    set("vnpay.tmn_code", "TESTTMN1");
    set("vnpay.hash_secret", VNPAY_SECRET);
    set("vnpay.api_url", "https://vnpay.example/api");
    set("momo.partner_code", "MOMO");
    set("momo.access_key", MOMO_ACCESS);
    set("momo.secret_key", MOMO_SECRET);
    set("momo.endpoint", "https://momo.example");
    set("vietqr.bank_bin", "970415");
    set("vietqr.account_no", "0011001932418");
    set("sepay.api_key", "sepay-test-key");
}

static void teardown(void) { fg_config_free(&cfg); }

static const char *no_header(void *ctx, const char *name) { return NULL; }

/* ---- VNPay -------------------------------------------------------------------- */

START_TEST(vnpay_hash_matches_the_protocol_test_vector)
{
    fg_kv_t pairs[] = {
        {"vnp_Version", "2.1.0"},
        {"vnp_TxnRef", "HP2025-000123"},
        {"vnp_TmnCode", "TESTTMN1"},
        {"vnp_ReturnUrl", "https://pay.example.gov.vn/return"},
        {"vnp_OrderType", "other"},
        {"vnp_OrderInfo", "Hoc phi HK1 2025 ma HS 000123"},
        {"vnp_Locale", "vn"},
        {"vnp_IpAddr", "203.0.113.7"},
        {"vnp_ExpireDate", "20250905094500"},
        {"vnp_CurrCode", "VND"},
        {"vnp_CreateDate", "20250905093000"},
        {"vnp_Command", "pay"},
        {"vnp_Amount", "1500000000"},
        {"vnp_BankCode", ""},                 /* empty: left out */
        {"vnp_SecureHashType", "HmacSHA512"}, /* never signed */
    };
    fg_buf_t canonical = FG_BUF_INIT;
    char hash[FG_VNPAY_HASH_HEX_LEN + 1];
    fg_vnpay_canonical(pairs, (int)(sizeof(pairs) / sizeof(pairs[0])), &canonical);
    ck_assert_str_eq(canonical.data, VNPAY_VECTOR);
    fg_vnpay_hash(VNPAY_SECRET, canonical.data, canonical.len, hash);
    ck_assert_str_eq(hash, VNPAY_VECTOR_HASH);
    fg_buf_free(&canonical);
}
END_TEST

static int verify_query(const char *query)
{
    fg_params_t params;
    char reason[200];
    fg_params_parse(&params, query, strlen(query));
    int rc = fg_vnpay_verify_params(VNPAY_SECRET, &params, reason, sizeof(reason));
    fg_params_free(&params);
    return rc;
}

START_TEST(vnpay_query_verification_refuses_any_change)
{
    char query[1200], upper[FG_VNPAY_HASH_HEX_LEN + 1];
    snprintf(query, sizeof(query), "%s&vnp_SecureHash=%s", VNPAY_VECTOR, VNPAY_VECTOR_HASH);
    ck_assert_int_eq(verify_query(query), 0);
    /* the order of the received parameters does not matter, nor the hash's case */
    for (size_t i = 0; i < sizeof(upper); i++)
        upper[i] = (char)(VNPAY_VECTOR_HASH[i] >= 'a' && VNPAY_VECTOR_HASH[i] <= 'f' ? VNPAY_VECTOR_HASH[i] - 32
                                                                                     : VNPAY_VECTOR_HASH[i]);
    snprintf(query, sizeof(query), "vnp_SecureHash=%s&vnp_SecureHashType=HmacSHA512&%s", upper, VNPAY_VECTOR);
    ck_assert_int_eq(verify_query(query), 0);
    /* a changed amount, a flipped hash digit, no hash, another secret */
    char *changed = strdup(query);
    char *amount = strstr(changed, "1500000000");
    amount[1] = '6';
    ck_assert_int_eq(verify_query(changed), FG_EINVALID);
    free(changed);
    snprintf(query, sizeof(query), "%s&vnp_SecureHash=5%s", VNPAY_VECTOR, VNPAY_VECTOR_HASH + 1);
    ck_assert_int_eq(verify_query(query), FG_EINVALID);
    ck_assert_int_eq(verify_query(VNPAY_VECTOR), FG_EINVALID);
    fg_params_t params;
    char reason[200];
    snprintf(query, sizeof(query), "%s&vnp_SecureHash=%s", VNPAY_VECTOR, VNPAY_VECTOR_HASH);
    fg_params_parse(&params, query, strlen(query));
    ck_assert_int_eq(fg_vnpay_verify_params("ANOTHERSECRET", &params, reason, sizeof(reason)), FG_EINVALID);
    ck_assert_int_eq(fg_vnpay_verify_params("", &params, reason, sizeof(reason)), FG_EINVALID);
    fg_params_free(&params);
}
END_TEST

START_TEST(diacritics_are_stripped_for_vnp_order_info)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {"Học phí HK1 2025 mã HS 000123", "Hoc phi HK1 2025 ma HS 000123"},
        {"Đặng Thị Ngọc Ánh – Tiền nước T11/2026!", "Dang Thi Ngoc Anh Tien nuoc T11 2026"},
        {"ƯỚC TÍNH: Ổ ĐĨA, ỹ ỵ ữ ợ ậ ề", "UOC TINH O DIA y y u o a e"},
        {"  lệ phí   hộ tịch  ", "le phi ho tich"},
        {"Hoa\xcc\x80 (NFD)", "Hoa NFD"}, /* a combining grave accent */
        {"bad \xff byte", "bad byte"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fg_buf_t out = FG_BUF_INIT;
        fg_buf_puts(&out, "");
        fg_vnpay_ascii_text(cases[i].in, strlen(cases[i].in), &out);
        ck_assert_str_eq(out.data != NULL ? out.data : "", cases[i].out);
        fg_buf_free(&out);
    }
    /* at most 255 characters */
    char longer[700];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    fg_buf_t out = FG_BUF_INIT;
    fg_vnpay_ascii_text(longer, strlen(longer), &out);
    ck_assert_uint_eq(out.len, FG_VNPAY_ORDER_INFO_MAX);
    fg_buf_free(&out);
}
END_TEST

START_TEST(vnpay_payment_url_is_signed_in_gmt7)
{
    /* 2025-09-05T02:30:00Z is 09:30 in Hanoi */
    fg_payment_start_t in = {
        "pay_01K4C0000000000000000000", 1500000, "VND", "7K3M9QXW2A5", "Học phí HK1", NULL, 1757039400000LL, 0};
    fg_payment_started_t out = {FG_BUF_INIT, FG_BUF_INIT};
    ck_assert_int_eq(fg_adapter_vnpay.start(&cfg, &in, &out), 0);
    const char *url = out.redirect_url.data;
    ck_assert_ptr_nonnull(strstr(url, "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?"));
    ck_assert_ptr_nonnull(strstr(url, "vnp_Amount=150000000&"));
    ck_assert_ptr_nonnull(strstr(url, "vnp_CreateDate=20250905093000&"));
    ck_assert_ptr_nonnull(strstr(url, "vnp_ExpireDate=20250905094500&"));
    ck_assert_ptr_nonnull(strstr(url, "vnp_OrderInfo=Thanh+toan+7K3M9QXW2A5+Hoc+phi+HK1&"));
    ck_assert_ptr_nonnull(strstr(url, "vnp_ReturnUrl=https%3A%2F%2Fpay.example.gov.vn%2Fpay%2Freturn%2Fvnpay&"));
    ck_assert_int_eq(verify_query(strchr(url, '?') + 1), 0);
    fg_buf_free(&out.redirect_url);
    /* a bill expiring at 09:35 ends VNPay's window then, not at 09:45; one expiring later leaves it */
    in.expires_ms = 1757039400000LL + 5 * 60 * 1000;
    ck_assert_int_eq(fg_adapter_vnpay.start(&cfg, &in, &out), 0);
    ck_assert_ptr_nonnull(strstr(out.redirect_url.data, "vnp_ExpireDate=20250905093500&"));
    ck_assert_int_eq(verify_query(strchr(out.redirect_url.data, '?') + 1), 0);
    fg_buf_free(&out.redirect_url);
    in.expires_ms = 1757039400000LL + 60 * 60 * 1000;
    ck_assert_int_eq(fg_adapter_vnpay.start(&cfg, &in, &out), 0);
    ck_assert_ptr_nonnull(strstr(out.redirect_url.data, "vnp_ExpireDate=20250905094500&"));
    fg_buf_free(&out.redirect_url);
    /* a bill expiring within the second the payment starts leaves VNPay no window (it
     * refuses ExpireDate == CreateDate): refused as expired; one in the next second is not */
    in.now_ms = 1757039400200LL;
    in.expires_ms = 1757039400900LL;
    ck_assert_int_eq(fg_adapter_vnpay.start(&cfg, &in, &out), FG_ESTATE);
    ck_assert_uint_eq(out.redirect_url.len, 0);
    in.expires_ms = 1757039401000LL;
    ck_assert_int_eq(fg_adapter_vnpay.start(&cfg, &in, &out), 0);
    ck_assert_ptr_nonnull(strstr(out.redirect_url.data, "vnp_ExpireDate=20250905093001&"));
    fg_buf_free(&out.redirect_url);
    in.now_ms = 1757039400000LL;
    in.expires_ms = 0;
    /* VND only; x100 must not overflow */
    in.currency = "USD";
    ck_assert_int_eq(fg_adapter_vnpay.start(&cfg, &in, &out), FG_EINVALID);
    in.currency = "VND";
    in.amount = INT64_MAX / 50;
    ck_assert_int_eq(fg_adapter_vnpay.start(&cfg, &in, &out), FG_ERANGE);
    fg_buf_free(&out.redirect_url);
}
END_TEST

/* A signed IPN query for the adapter's verify. */
static void vnpay_ipn(const char *amount, const char *response, const char *status, const char *tmn, char *out,
                      size_t cap)
{
    fg_kv_t pairs[] = {{"vnp_Amount", amount},
                       {"vnp_BankCode", "NCB"},
                       {"vnp_BankTranNo", "VNP14226112"},
                       {"vnp_CardType", "ATM"},
                       {"vnp_OrderInfo", "Thanh toan"},
                       {"vnp_PayDate", "20250905093512"},
                       {"vnp_ResponseCode", response},
                       {"vnp_TmnCode", tmn},
                       {"vnp_TransactionNo", "14226112"},
                       {"vnp_TransactionStatus", status},
                       {"vnp_TxnRef", "pay_01K4C0000000000000000000"}};
    fg_buf_t q = FG_BUF_INIT;
    char hash[FG_VNPAY_HASH_HEX_LEN + 1];
    fg_vnpay_canonical(pairs, (int)(sizeof(pairs) / sizeof(pairs[0])), &q);
    fg_vnpay_hash(VNPAY_SECRET, q.data, q.len, hash);
    snprintf(out, cap, "%s&vnp_SecureHash=%s", q.data, hash);
    fg_buf_free(&q);
}

static int vnpay_verify_at(const char *query, int64_t now_ms, fg_notification_t *n)
{
    char reason[200];
    fg_inbound_t in = {"GET", query, strlen(query), NULL, 0, no_header, NULL, NULL, 0};
    return fg_adapter_vnpay.verify(&cfg, &in, now_ms, n, reason, sizeof(reason));
}

/* Verified a minute after the payment. */
static int vnpay_verify(const char *query, fg_notification_t *n)
{
    return vnpay_verify_at(query, VNPAY_PAID_MS + 60000, n);
}

/* A signed IPN query of the usual fields, where a pair named in omit is left
 * out (and one named in empty kept with an empty value). */
static void vnpay_ipn_without(const char *omit, const char *empty, const char *response, const char *status, char *out,
                              size_t cap)
{
    fg_kv_t all[] = {{"vnp_Amount", "150000000"},
                     {"vnp_BankCode", "NCB"},
                     {"vnp_OrderInfo", "Thanh toan"},
                     {"vnp_PayDate", "20250905093512"},
                     {"vnp_ResponseCode", response},
                     {"vnp_TmnCode", "TESTTMN1"},
                     {"vnp_TransactionNo", "14226112"},
                     {"vnp_TransactionStatus", status},
                     {"vnp_TxnRef", "pay_01K4C0000000000000000000"}};
    fg_kv_t pairs[16];
    int n = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if ((omit == NULL || strcmp(all[i].name, omit) != 0) && (empty == NULL || strcmp(all[i].name, empty) != 0))
            pairs[n++] = all[i];
    fg_buf_t q = FG_BUF_INIT;
    char hash[FG_VNPAY_HASH_HEX_LEN + 1];
    fg_vnpay_canonical(pairs, n, &q);
    fg_vnpay_hash(VNPAY_SECRET, q.data, q.len, hash);
    /* an empty value is sent but not signed */
    snprintf(out, cap, "%s&vnp_SecureHash=%s%s%s%s", q.data, hash, empty != NULL ? "&" : "", empty != NULL ? empty : "",
             empty != NULL ? "=" : "");
    fg_buf_free(&q);
}

START_TEST(vnpay_ipn_is_verified_and_parsed)
{
    char query[1500];
    fg_notification_t n;
    vnpay_ipn("150000000", "00", "00", "TESTTMN1", query, sizeof(query));
    ck_assert_int_eq(vnpay_verify(query, &n), 0);
    ck_assert_str_eq(n.payment_id, "pay_01K4C0000000000000000000");
    ck_assert_str_eq(n.provider_txn_id, "14226112");
    ck_assert_str_eq(n.event_id, "pay_01K4C0000000000000000000:14226112:00");
    ck_assert_int_eq(n.status, FG_NOTIFY_SUCCEEDED);
    ck_assert_int_eq(n.amount, 1500000);
    /* paid only when both codes are 00 */
    vnpay_ipn("150000000", "24", "02", "TESTTMN1", query, sizeof(query));
    ck_assert_int_eq(vnpay_verify(query, &n), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_FAILED);
    ck_assert_int_eq(n.maybe_taken, 0); /* the transaction failed: nothing was taken */
    /* status 00 with another response code is not paid, and keyed apart from the paid report;
     * the money may have left the payer (07: taken, held as suspect) */
    vnpay_ipn("150000000", "24", "00", "TESTTMN1", query, sizeof(query));
    ck_assert_int_eq(vnpay_verify(query, &n), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_FAILED);
    ck_assert_int_eq(n.maybe_taken, 1);
    ck_assert_str_eq(n.event_id, "pay_01K4C0000000000000000000:14226112:00-24");
    vnpay_ipn("150000000", "00", "01", "TESTTMN1", query, sizeof(query));
    ck_assert_int_eq(vnpay_verify(query, &n), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_PENDING);
    /* signed but its amount unreadable (not x100): answered as an invalid amount */
    vnpay_ipn("150000050", "00", "00", "TESTTMN1", query, sizeof(query));
    ck_assert_int_eq(vnpay_verify(query, &n), FG_EEXCEEDS);
    /* another merchant's terminal, a forged hash */
    vnpay_ipn("150000000", "00", "00", "OTHERTMN", query, sizeof(query));
    ck_assert_int_eq(vnpay_verify(query, &n), FG_EINVALID);
    vnpay_ipn("150000000", "00", "00", "TESTTMN1", query, sizeof(query));
    char *amount = strstr(query, "vnp_Amount=") + 11;
    amount[0] = '9';
    ck_assert_int_eq(vnpay_verify(query, &n), FG_EINVALID);
    ck_assert_int_eq(vnpay_verify("", &n), FG_ERANGE);
}
END_TEST

START_TEST(vnpay_acknowledgements_follow_the_rspcode_contract)
{
    struct {
        fg_ack_t outcome;
        const char *code;
    } cases[] = {{FG_ACK_APPLIED, "00"}, {FG_ACK_DUPLICATE, "02"}, {FG_ACK_NOT_FOUND, "01"}, {FG_ACK_BAD_AMOUNT, "04"},
                 {FG_ACK_FORGED, "97"},  {FG_ACK_MALFORMED, "99"}, {FG_ACK_ERROR, "99"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status;
        const char *type;
        char expected[40];
        fg_buf_t body = FG_BUF_INIT;
        fg_adapter_vnpay.ack(cases[i].outcome, &status, &body, &type);
        ck_assert_int_eq(status, 200);
        snprintf(expected, sizeof(expected), "{\"RspCode\":\"%s\"", cases[i].code);
        ck_assert_ptr_nonnull(strstr(body.data, expected));
        fg_buf_free(&body);
    }
}
END_TEST

/* A querydr answer signed over the 15 fields. */
static void vnpay_answer(const char *code, const char *status, const char *secret, fg_buf_t *out)
{
    const char *v[15] = {"R1",         "querydr",  code,
                         "ok",         "TESTTMN1", "pay_01K4C0000000000000000000",
                         "150000000",  "NCB",      "20250905093512",
                         "14226112",   "01",       status,
                         "Thanh toan", "",         ""};
    static const char *const names[15] = {"vnp_ResponseId",    "vnp_Command",         "vnp_ResponseCode",
                                          "vnp_Message",       "vnp_TmnCode",         "vnp_TxnRef",
                                          "vnp_Amount",        "vnp_BankCode",        "vnp_PayDate",
                                          "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus",
                                          "vnp_OrderInfo",     "vnp_PromotionCode",   "vnp_PromotionAmount"};
    fg_buf_t raw = FG_BUF_INIT;
    char hash[FG_VNPAY_HASH_HEX_LEN + 1];
    fg_buf_putc(out, '{');
    for (int i = 0; i < 15; i++) {
        fg_buf_printf(&raw, "%s%s", i > 0 ? "|" : "", v[i]);
        fg_json_kv_str(out, i > 0, names[i], v[i]);
    }
    fg_vnpay_hash(secret, raw.data, raw.len, hash);
    fg_json_kv_str(out, 1, "vnp_SecureHash", hash);
    fg_buf_putc(out, '}');
    fg_buf_free(&raw);
}

START_TEST(vnpay_querydr_request_and_answers)
{
    fg_payment_query_t q = {"pay_01K4C0000000000000000000", 1500000, 1757039400000LL, "01K4C0REQ", 1757040400000LL};
    fg_provider_request_t req = {FG_BUF_INIT, FG_BUF_INIT, 0};
    ck_assert_int_eq(fg_adapter_vnpay.query_request(&cfg, &q, &req), 0);
    ck_assert_str_eq(req.url.data, "https://vnpay.example/api");
    ck_assert_ptr_nonnull(strstr(req.body.data, "\"vnp_Command\":\"querydr\""));
    ck_assert_ptr_nonnull(strstr(req.body.data, "\"vnp_TransactionDate\":\"20250905093000\""));
    /* the request hash is over the 9 fields in PROTOCOLS.md's order */
    char expected[FG_VNPAY_HASH_HEX_LEN + 1];
    const char *raw = "01K4C0REQ|2.1.0|querydr|TESTTMN1|pay_01K4C0000000000000000000|20250905093000|20250905094640|"
                      "127.0.0.1|Truy van giao dich pay_01K4C0000000000000000000";
    fg_vnpay_hash(VNPAY_SECRET, raw, strlen(raw), expected);
    ck_assert_ptr_nonnull(strstr(req.body.data, expected));
    fg_provider_request_free(&req);

    fg_notification_t n;
    char reason[200];
    fg_buf_t answer = FG_BUF_INIT;
    vnpay_answer("00", "00", VNPAY_SECRET, &answer);
    ck_assert_int_eq(fg_adapter_vnpay.query_response(&cfg, &q, 200, answer.data, answer.len, &n, reason, 200), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_SUCCEEDED);
    ck_assert_int_eq(n.amount, 1500000);
    /* the same event id as the IPN of this transaction */
    ck_assert_str_eq(n.event_id, "pay_01K4C0000000000000000000:14226112:00");
    fg_buf_reset(&answer);
    vnpay_answer("00", "01", VNPAY_SECRET, &answer);
    ck_assert_int_eq(fg_adapter_vnpay.query_response(&cfg, &q, 200, answer.data, answer.len, &n, reason, 200), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_PENDING);
    fg_buf_reset(&answer);
    vnpay_answer("91", "", VNPAY_SECRET, &answer);
    ck_assert_int_eq(fg_adapter_vnpay.query_response(&cfg, &q, 200, answer.data, answer.len, &n, reason, 200),
                     FG_ENOTFOUND);
    fg_buf_reset(&answer);
    vnpay_answer("00", "00", "WRONGSECRET", &answer);
    ck_assert_int_eq(fg_adapter_vnpay.query_response(&cfg, &q, 200, answer.data, answer.len, &n, reason, 200),
                     FG_EINVALID);
    ck_assert_int_eq(fg_adapter_vnpay.query_response(&cfg, &q, 500, "oops", 4, &n, reason, 200), FG_EUNAVAILABLE);
    fg_buf_free(&answer);
}
END_TEST

START_TEST(vnpay_refund_request_types)
{
    fg_refund_in_t in = {"pay_01K4C0000000000000000000",
                         "14226112",
                         1757039400000LL,
                         "rfd_01K4C0RFD0000000000000000",
                         500000,
                         0,
                         "trả lại",
                         1757040400000LL};
    fg_provider_request_t req = {FG_BUF_INIT, FG_BUF_INIT, 0};
    ck_assert_int_eq(fg_adapter_vnpay.refund_request(&cfg, &in, &req), 0);
    ck_assert_ptr_nonnull(strstr(req.body.data, "\"vnp_TransactionType\":\"03\""));
    ck_assert_ptr_nonnull(strstr(req.body.data, "\"vnp_Amount\":\"50000000\""));
    ck_assert_ptr_nonnull(strstr(req.body.data, "\"vnp_RequestId\":\"01K4C0RFD0000000000000000\""));
    fg_provider_request_free(&req);
    in.full = 1;
    ck_assert_int_eq(fg_adapter_vnpay.refund_request(&cfg, &in, &req), 0);
    ck_assert_ptr_nonnull(strstr(req.body.data, "\"vnp_TransactionType\":\"02\""));
    fg_provider_request_free(&req);
    in.provider_txn_id = "";
    ck_assert_int_eq(fg_adapter_vnpay.refund_request(&cfg, &in, &req), FG_EINVALID);
    fg_provider_request_free(&req);
}
END_TEST

/* ---- MoMo --------------------------------------------------------------------------- */

START_TEST(momo_signature_matches_the_protocol_test_vector)
{
    fg_buf_t raw = FG_BUF_INIT;
    char sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    fg_momo_create_raw(MOMO_ACCESS, "50000", "", "https://callback.url/notify", "MOMO1700000000000", "pay with MoMo",
                       "MOMO", "https://momo.vn/return", "MOMO1700000000000", "captureWallet", &raw);
    ck_assert_str_eq(raw.data, "accessKey=F8BBA842ECF85&amount=50000&extraData=&ipnUrl=https://callback.url/notify&"
                               "orderId=MOMO1700000000000&orderInfo=pay with MoMo&partnerCode=MOMO&redirectUrl="
                               "https://momo.vn/return&requestId=MOMO1700000000000&requestType=captureWallet");
    fg_momo_sign(MOMO_SECRET, raw.data, raw.len, sig);
    ck_assert_str_eq(sig, "4378bb95714712f6be833da81f743910a01e5ba6279bfe596b8a08e891259424");
    fg_buf_free(&raw);
}
END_TEST

START_TEST(momo_create_request_is_signed_and_bounded)
{
    fg_payment_start_t in = {"pay_01K4C0000000000000000000", 50000, "VND", "7K3M9QXW2A5", NULL, NULL, 0, 0};
    fg_provider_request_t req = {FG_BUF_INIT, FG_BUF_INIT, 0};
    ck_assert_int_eq(fg_adapter_momo.start_request(&cfg, &in, &req), 0);
    ck_assert_str_eq(req.url.data, "https://momo.example/v2/gateway/api/create");
    ck_assert_int_ge(req.timeout_ms, 30000);
    fg_buf_t raw = FG_BUF_INIT;
    char sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    fg_momo_create_raw(MOMO_ACCESS, "50000", "", "https://pay.example.gov.vn/v1/webhooks/momo",
                       "pay_01K4C0000000000000000000", "Thanh toan 7K3M9QXW2A5", "MOMO",
                       "https://pay.example.gov.vn/pay/return/momo", "pay_01K4C0000000000000000000", "captureWallet",
                       &raw);
    fg_momo_sign(MOMO_SECRET, raw.data, raw.len, sig);
    ck_assert_ptr_nonnull(strstr(req.body.data, sig));
    ck_assert_ptr_nonnull(strstr(req.body.data, "\"requestId\":\"pay_01K4C0000000000000000000\""));
    fg_buf_free(&raw);
    fg_provider_request_free(&req);
    in.amount = 999;
    ck_assert_int_eq(fg_adapter_momo.start_request(&cfg, &in, &req), FG_ERANGE);
    in.amount = 50000001;
    ck_assert_int_eq(fg_adapter_momo.start_request(&cfg, &in, &req), FG_ERANGE);
    fg_provider_request_free(&req);
}
END_TEST

/* A MoMo IPN body signed with secret. */
static void momo_ipn(const char *amount, const char *result, const char *secret, const char *partner, fg_buf_t *out)
{
    fg_kv_t pairs[] = {{"accessKey", MOMO_ACCESS},
                       {"amount", amount},
                       {"extraData", ""},
                       {"message", "Successful."},
                       {"orderId", "pay_01K4C0000000000000000000"},
                       {"orderInfo", "Thanh toan"},
                       {"orderType", "momo_wallet"},
                       {"partnerCode", partner},
                       {"payType", "qr"},
                       {"requestId", "pay_01K4C0000000000000000000"},
                       {"responseTime", "1700000000000"},
                       {"resultCode", result},
                       {"transId", "4088878653"}};
    fg_buf_t raw = FG_BUF_INIT;
    char sig[FG_MOMO_SIGNATURE_HEX_LEN + 1];
    fg_momo_raw(pairs, 13, &raw);
    fg_momo_sign(secret, raw.data, raw.len, sig);
    fg_buf_printf(out,
                  "{\"partnerCode\":\"%s\",\"orderId\":\"pay_01K4C0000000000000000000\",\"requestId\":"
                  "\"pay_01K4C0000000000000000000\",\"amount\":%s,\"orderInfo\":\"Thanh toan\",\"orderType\":"
                  "\"momo_wallet\",\"transId\":4088878653,\"resultCode\":%s,\"message\":\"Successful.\",\"payType\":"
                  "\"qr\",\"responseTime\":1700000000000,\"extraData\":\"\",\"signature\":\"%s\"}",
                  partner, amount, result, sig);
    fg_buf_free(&raw);
}

static int momo_verify_at(const fg_buf_t *body, int64_t now_ms, fg_notification_t *n)
{
    char reason[200];
    fg_inbound_t in = {"POST", NULL, 0, body->data, body->len, no_header, NULL, NULL, 0};
    return fg_adapter_momo.verify(&cfg, &in, now_ms, n, reason, sizeof(reason));
}

static int momo_verify(const fg_buf_t *body, fg_notification_t *n)
{
    return momo_verify_at(body, MOMO_SENT_MS + 2000, n);
}

START_TEST(momo_ipn_is_verified_and_parsed)
{
    fg_buf_t body = FG_BUF_INIT;
    fg_notification_t n;
    momo_ipn("50000", "0", MOMO_SECRET, "MOMO", &body);
    ck_assert_int_eq(momo_verify(&body, &n), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_SUCCEEDED);
    ck_assert_int_eq(n.amount, 50000);
    ck_assert_str_eq(n.provider_txn_id, "4088878653");
    ck_assert_str_eq(n.event_id, "pay_01K4C0000000000000000000:4088878653:0");
    fg_buf_reset(&body);
    momo_ipn("50000", "1006", MOMO_SECRET, "MOMO", &body);
    ck_assert_int_eq(momo_verify(&body, &n), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_FAILED);
    fg_buf_reset(&body);
    momo_ipn("50000", "9000", MOMO_SECRET, "MOMO", &body);
    ck_assert_int_eq(momo_verify(&body, &n), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_PENDING);
    /* forged: another secret; a changed amount; another partner */
    fg_buf_reset(&body);
    momo_ipn("50000", "0", "not-the-secret", "MOMO", &body);
    ck_assert_int_eq(momo_verify(&body, &n), FG_EINVALID);
    fg_buf_reset(&body);
    momo_ipn("50000", "0", MOMO_SECRET, "MOMO", &body);
    char *amount = strstr(body.data, "\"amount\":50000") + 10;
    amount[0] = '6';
    ck_assert_int_eq(momo_verify(&body, &n), FG_EINVALID);
    fg_buf_reset(&body);
    momo_ipn("50000", "0", MOMO_SECRET, "OTHER", &body);
    ck_assert_int_eq(momo_verify(&body, &n), FG_EINVALID);
    fg_buf_reset(&body);
    fg_buf_puts(&body, "[1,2]");
    ck_assert_int_eq(momo_verify(&body, &n), FG_ERANGE);
    /* a signed IPN with a second "amount" after the signed one: one body, one meaning */
    fg_buf_reset(&body);
    momo_ipn("50000", "0", MOMO_SECRET, "MOMO", &body);
    ck_assert_int_eq(momo_verify(&body, &n), 0);
    ck_assert_int_eq(body.data[body.len - 1], '}');
    body.len--;
    fg_buf_puts(&body, ",\"amount\":60000}");
    ck_assert_int_eq(momo_verify(&body, &n), FG_ERANGE);
    fg_buf_free(&body);
    /* the answer MoMo expects: 204, duplicates too */
    int status;
    const char *type;
    fg_buf_t ack = FG_BUF_INIT;
    fg_adapter_momo.ack(FG_ACK_DUPLICATE, &status, &ack, &type);
    ck_assert_int_eq(status, 204);
    fg_adapter_momo.ack(FG_ACK_APPLIED, &status, &ack, &type);
    ck_assert_int_eq(status, 204);
    ck_assert_uint_eq(ack.len, 0);
    fg_buf_free(&ack);
}
END_TEST

START_TEST(momo_query_and_refund_requests)
{
    fg_payment_query_t q = {"pay_01K4C0000000000000000000", 50000, 0, "01K4C0REQ", 0};
    fg_provider_request_t req = {FG_BUF_INIT, FG_BUF_INIT, 0};
    char sig[FG_MOMO_SIGNATURE_HEX_LEN + 1], reason[200];
    ck_assert_int_eq(fg_adapter_momo.query_request(&cfg, &q, &req), 0);
    ck_assert_str_eq(req.url.data, "https://momo.example/v2/gateway/api/query");
    const char *raw =
        "accessKey=F8BBA842ECF85&orderId=pay_01K4C0000000000000000000&partnerCode=MOMO&requestId=01K4C0REQ";
    fg_momo_sign(MOMO_SECRET, raw, strlen(raw), sig);
    ck_assert_ptr_nonnull(strstr(req.body.data, sig));
    fg_provider_request_free(&req);
    fg_refund_in_t in = {
        "pay_01K4C0000000000000000000", "4088878653", 0, "rfd_01K4C0RFD0000000000000000", 20000, 0, NULL, 0};
    ck_assert_int_eq(fg_adapter_momo.refund_request(&cfg, &in, &req), 0);
    ck_assert_str_eq(req.url.data, "https://momo.example/v2/gateway/api/refund");
    raw = "accessKey=F8BBA842ECF85&amount=20000&description=Hoan tien pay 01K4C0000000000000000000&orderId="
          "rfd_01K4C0RFD0000000000000000&partnerCode=MOMO&requestId=rfd_01K4C0RFD0000000000000000&transId=4088878653";
    fg_momo_sign(MOMO_SECRET, raw, strlen(raw), sig);
    ck_assert_ptr_nonnull(strstr(req.body.data, sig));
    fg_provider_request_free(&req);
    /* query answers: signed (as an IPN) or a bare "not found" */
    fg_buf_t body = FG_BUF_INIT;
    fg_notification_t n;
    momo_ipn("50000", "0", MOMO_SECRET, "MOMO", &body);
    ck_assert_int_eq(fg_adapter_momo.query_response(&cfg, &q, 200, body.data, body.len, &n, reason, 200), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_SUCCEEDED);
    /* "not found" expires a payment only when MoMo signed it */
    const char *missing = "{\"orderId\":\"pay_01K4C0000000000000000000\",\"resultCode\":42,\"message\":\"not found\"}";
    ck_assert_int_eq(fg_adapter_momo.query_response(&cfg, &q, 200, missing, strlen(missing), &n, reason, 200),
                     FG_EUNAVAILABLE);
    raw = "accessKey=F8BBA842ECF85&amount=&extraData=&message=not found&orderId=pay_01K4C0000000000000000000&"
          "orderInfo=&orderType=&partnerCode=MOMO&payType=&requestId=01K4C0REQ&responseTime=1&resultCode=42&transId=";
    fg_momo_sign(MOMO_SECRET, raw, strlen(raw), sig);
    char signed_missing[512];
    snprintf(signed_missing, sizeof(signed_missing),
             "{\"partnerCode\":\"MOMO\",\"orderId\":\"pay_01K4C0000000000000000000\",\"requestId\":\"01K4C0REQ\","
             "\"responseTime\":1,\"resultCode\":42,\"message\":\"not found\",\"signature\":\"%s\"}",
             sig);
    ck_assert_int_eq(fg_adapter_momo.query_response(&cfg, &q, 200, signed_missing, strlen(signed_missing), &n, reason,
                                                    200),
                     FG_ENOTFOUND);
    /* refund answers: processing codes and unsigned refusals are not final */
    char refund_id[80];
    const char *codes[] = {"7000", "1000", "7002", "1088"};
    const int expected[] = {FG_EUNAVAILABLE, FG_EUNAVAILABLE, FG_EUNAVAILABLE, FG_EINVALID};
    for (int i = 0; i < 4; i++) {
        fg_buf_t rraw = FG_BUF_INIT;
        fg_buf_printf(&rraw,
                      "accessKey=F8BBA842ECF85&amount=20000&message=m&orderId=rfd_01K4C0RFD0000000000000000&"
                      "partnerCode=MOMO&requestId=rfd_01K4C0RFD0000000000000000&responseTime=1&resultCode=%s&"
                      "transId=99",
                      codes[i]);
        fg_momo_sign(MOMO_SECRET, rraw.data, rraw.len, sig);
        char answer[600];
        snprintf(answer, sizeof(answer),
                 "{\"partnerCode\":\"MOMO\",\"orderId\":\"rfd_01K4C0RFD0000000000000000\",\"requestId\":"
                 "\"rfd_01K4C0RFD0000000000000000\",\"amount\":20000,\"transId\":99,\"resultCode\":%s,"
                 "\"message\":\"m\",\"responseTime\":1,\"signature\":\"%s\"}",
                 codes[i], sig);
        ck_assert_int_eq(fg_adapter_momo.refund_response(&cfg, &in, 200, answer, strlen(answer), refund_id,
                                                         sizeof(refund_id), reason, sizeof(reason)),
                         expected[i]);
        fg_buf_free(&rraw);
    }
    const char *unsigned_refusal = "{\"orderId\":\"rfd_01K4C0RFD0000000000000000\",\"resultCode\":1088}";
    ck_assert_int_eq(fg_adapter_momo.refund_response(&cfg, &in, 200, unsigned_refusal, strlen(unsigned_refusal),
                                                     refund_id, sizeof(refund_id), reason, sizeof(reason)),
                     FG_EUNAVAILABLE);
    ck_assert_int_eq(fg_adapter_momo.query_response(&cfg, &q, 500, "", 0, &n, reason, 200), FG_EUNAVAILABLE);
    fg_buf_free(&body);
}
END_TEST

/* ---- VietQR and the bank feed ------------------------------------------------------- */

START_TEST(vietqr_crc_and_worked_example)
{
    ck_assert_uint_eq(fg_crc16_ccitt_false("123456789", 9), 0x29B1);
    fg_buf_t payload = FG_BUF_INIT;
    ck_assert_int_eq(fg_vietqr_payload("970415", "0011001932418", 120000, "ung ho lu lut", &payload), 0);
    ck_assert_str_eq(payload.data,
                     "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA53037045406"
                     "1200005802VN62170813ung ho lu lut6304C15C");
    fg_buf_free(&payload);
    /* the adapter's payload for an order: the code is the memo */
    fg_payment_start_t in = {"pay_01K4C0000000000000000000", 250000, "VND", "7K3M9QXW2A5", NULL, NULL, 0, 0};
    fg_payment_started_t out = {FG_BUF_INIT, FG_BUF_INIT};
    ck_assert_int_eq(fg_adapter_vietqr.start(&cfg, &in, &out), 0);
    ck_assert_ptr_nonnull(strstr(out.qr_payload.data, "5406250000"));
    ck_assert_ptr_nonnull(strstr(out.qr_payload.data, "62150811"
                                                      "7K3M9QXW2A5"
                                                      "6304"));
    ck_assert_str_eq(out.redirect_url.data, "https://pay.example.gov.vn/pay/7K3M9QXW2A5");
    /* the CRC covers everything before it */
    size_t n = out.qr_payload.len;
    char crc[5];
    snprintf(crc, sizeof(crc), "%04X", fg_crc16_ccitt_false(out.qr_payload.data, n - 4));
    ck_assert_str_eq(out.qr_payload.data + n - 4, crc);
    fg_buf_free(&out.qr_payload);
    fg_buf_free(&out.redirect_url);
    /* refusals */
    fg_buf_t b = FG_BUF_INIT;
    ck_assert_int_eq(fg_vietqr_payload("97041", "0011001932418", 1, "x", &b), FG_EINVALID);
    ck_assert_int_eq(fg_vietqr_payload("970415", "00110019324180011001", 1, "x", &b), FG_EINVALID);
    ck_assert_int_eq(fg_vietqr_payload("970415", "0011001932418", 1, "a purpose longer than 25 chars", &b),
                     FG_EINVALID);
    ck_assert_int_eq(fg_vietqr_payload("970415", "0011001932418", 0, "x", &b), FG_ERANGE);
    ck_assert_int_eq(fg_vietqr_payload("970415", "0011001932418", 10000000000000LL, "x", &b), FG_ERANGE);
    fg_buf_free(&b);
    in.currency = "USD";
    ck_assert_int_eq(fg_adapter_vietqr.start(&cfg, &in, &out), FG_EINVALID);
}
END_TEST

START_TEST(memo_codes_are_found_through_noise)
{
    char code[FG_ORDER_CODE_LEN + 1], memo[200], found[8][FG_ORDER_CODE_LEN + 1];
    ck_assert_int_eq(fg_order_code_new(code, sizeof(code)), 0);
    char lower[FG_ORDER_CODE_LEN + 1];
    for (int i = 0; i <= FG_ORDER_CODE_LEN; i++)
        lower[i] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] + 32 : code[i]);
    const char *formats[] = {"%s", "HP so %.4s-%.4s %s nop tien", "MBVCB.3278907687.%.3s.%.5s.%s.CT tu 0011",
                             "chuyen khoan %.2s %.3s %.3s %s"};
    for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
        for (int variant = 0; variant < 2; variant++) {
            const char *c = variant ? lower : code;
            if (f == 0)
                snprintf(memo, sizeof(memo), formats[0], c);
            else if (f == 1)
                snprintf(memo, sizeof(memo), formats[1], c, c + 4, c + 8);
            else if (f == 2)
                snprintf(memo, sizeof(memo), formats[2], c, c + 3, c + 8);
            else
                snprintf(memo, sizeof(memo), formats[3], c, c + 2, c + 5, c + 8);
            int count = fg_order_code_find_all(memo, strlen(memo), found, 8);
            int hit = 0;
            for (int i = 0; i < count; i++)
                hit |= strcmp(found[i], code) == 0;
            ck_assert_msg(hit, "code %s not found in memo \"%s\"", code, memo);
        }
    }
    /* one wrong symbol fails the check symbol */
    char wrong[FG_ORDER_CODE_LEN + 1];
    memcpy(wrong, code, sizeof(wrong));
    wrong[3] = wrong[3] == 'A' ? 'B' : 'A';
    snprintf(memo, sizeof(memo), "nop tien %s", wrong);
    int count = fg_order_code_find_all(memo, strlen(memo), found, 8);
    for (int i = 0; i < count; i++)
        ck_assert_str_ne(found[i], code);
    char normalized[FG_ORDER_CODE_LEN + 1];
    snprintf(memo, sizeof(memo), " %.5s - %s ", lower, lower + 5);
    ck_assert_int_eq(fg_order_code_normalize(memo, strlen(memo), normalized, sizeof(normalized)), 0);
    ck_assert_str_eq(normalized, code);
}
END_TEST

START_TEST(sepay_webhook_is_authenticated_and_parsed)
{
    ck_assert_int_eq(fg_sepay_authorized("sepay-test-key", "Apikey sepay-test-key"), 1);
    ck_assert_int_eq(fg_sepay_authorized("sepay-test-key", "apikey sepay-test-key"), 1);
    ck_assert_int_eq(fg_sepay_authorized("sepay-test-key", "Apikey sepay-test-kez"), 0);
    ck_assert_int_eq(fg_sepay_authorized("sepay-test-key", "Apikey sepay-test-key-forged"), 0);
    ck_assert_int_eq(fg_sepay_authorized("sepay-test-key", "Bearer sepay-test-key"), 0);
    ck_assert_int_eq(fg_sepay_authorized("sepay-test-key", NULL), 0);
    ck_assert_int_eq(fg_sepay_authorized("", "Apikey "), 0);

    const char *body = "{\"id\":92704,\"gateway\":\"Vietcombank\",\"transactionDate\":\"2023-03-25 14:02:37\","
                       "\"accountNumber\":\"0011001932418\",\"code\":null,\"content\":\"chuyen tien hoc phi\","
                       "\"transferType\":\"in\",\"transferAmount\":2277000,\"accumulated\":19077000,"
                       "\"subAccount\":null,\"referenceCode\":\"MBVCB.3278907687\",\"description\":\"\"}";
    fg_sepay_transfer_t t;
    char reason[200];
    ck_assert_int_eq(fg_sepay_parse(body, strlen(body), &t, reason, sizeof(reason)), 0);
    ck_assert_int_eq(t.id, 92704);
    ck_assert_int_eq(t.amount, 2277000);
    ck_assert_int_eq(t.incoming, 1);
    ck_assert_str_eq(t.content, "chuyen tien hoc phi");
    ck_assert_str_eq(t.reference_code, "MBVCB.3278907687");
    ck_assert_str_eq(t.account_number, "0011001932418");
    ck_assert_int_eq(t.account_keyed, 1);
    /* the account as statements key it; one that is no account number kept as sent, and said */
    static const struct {
        const char *sent, *kept;
        int keyed;
    } ACCOUNTS[] = {{"0011-001 932.418", "0011001932418", 1},
                    {"vn12abcd0001", "VN12ABCD0001", 1},
                    {"VCB/0011001932418", "VCB/0011001932418", 0},
                    {"", "", 0}};
    for (size_t i = 0; i < sizeof(ACCOUNTS) / sizeof(ACCOUNTS[0]); i++) {
        char spelt[256];
        snprintf(spelt, sizeof(spelt),
                 "{\"id\":3,\"transferType\":\"in\",\"transferAmount\":5,\"accountNumber\":\"%s\"}", ACCOUNTS[i].sent);
        ck_assert_int_eq(fg_sepay_parse(spelt, strlen(spelt), &t, reason, sizeof(reason)), 0);
        ck_assert_str_eq(t.account_number, ACCOUNTS[i].kept);
        ck_assert_int_eq(t.account_keyed, ACCOUNTS[i].keyed);
    }
    const char *refused[] = {
        "{\"id\":1,\"transferType\":\"in\",\"transferAmount\":0}",
        "{\"id\":1,\"transferType\":\"sideways\",\"transferAmount\":5}",
        "{\"id\":-4,\"transferType\":\"in\",\"transferAmount\":5}",
        "{\"transferType\":\"in\",\"transferAmount\":5}",
        "{\"id\":1,\"transferType\":\"in\",\"transferAmount\":5.5}",
        "{\"id\":1,\"transferType\":\"in\",\"transferAmount\":1000000000000001}",
        "{\"id\":1,\"transferType\":\"in\",\"transferAmount\":5,\"content\":\"HP A\",\"content\":\"HP B\"}",
        "{\"id\":1,\"transferType\":\"in\",\"transferAmount\":5,\"transferAmount\":6}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ck_assert_int_eq(fg_sepay_parse(refused[i], strlen(refused[i]), &t, reason, sizeof(reason)), FG_ERANGE);
    const char *out = "{\"id\":2,\"transferType\":\"out\",\"transferAmount\":5,\"content\":null}";
    ck_assert_int_eq(fg_sepay_parse(out, strlen(out), &t, reason, sizeof(reason)), 0);
    ck_assert_int_eq(t.incoming, 0);
    ck_assert_str_eq(t.content, "");
}
END_TEST

START_TEST(form_encoding_and_query_parsing)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_form_encode(&b, "a b/c~ệ", strlen("a b/c~ệ"));
    ck_assert_str_eq(b.data, "a+b%2Fc%7E%E1%BB%87");
    fg_buf_free(&b);
    fg_params_t p;
    const char *q = "x=1+2&y=%E1%BB%87&z&=skip&bad=%G1";
    fg_params_parse(&p, q, strlen(q));
    ck_assert_str_eq(fg_params_get(&p, "x"), "1 2");
    ck_assert_str_eq(fg_params_get(&p, "y"), "ệ");
    ck_assert_str_eq(fg_params_get(&p, "z"), "");
    ck_assert_str_eq(fg_params_get(&p, "bad"), "%G1");
    ck_assert_ptr_null(fg_params_get(&p, "w"));
    fg_params_free(&p);
    char date[15];
    fg_format_gmt7(1757039400000LL, date);
    ck_assert_str_eq(date, "20250905093000");
    fg_format_gmt7(1735664400000LL, date); /* 2024-12-31T17:00:00Z: New Year in Hanoi */
    ck_assert_str_eq(date, "20250101000000");
}
END_TEST

START_TEST(registry_knows_every_adapter)
{
    const char *names[] = {"sandbox", "vnpay", "momo", "vietqr"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const fg_adapter_t *a = fg_adapter_find(names[i]);
        ck_assert_ptr_nonnull(a);
        ck_assert_str_eq(a->name, names[i]);
        ck_assert_ptr_nonnull(a->ack);
        ck_assert_msg(a->start != NULL || a->start_request != NULL, "%s cannot start a payment", names[i]);
    }
    ck_assert_ptr_null(fg_adapter_find("sepay")); /* a bank feed, not a payment method */
    ck_assert_ptr_null(fg_adapter_find("paypal"));
}
END_TEST

START_TEST(repeated_query_parameters_are_ambiguous)
{
    fg_params_t p;
    const char *q = "a=1&b=2&%61=3&c=&c=";
    fg_params_parse(&p, q, strlen(q));
    ck_assert_int_eq(p.count, 5);
    ck_assert_ptr_nonnull(p.repeated);
    ck_assert_str_eq(p.repeated, "a"); /* "%61" decodes to "a" */
    ck_assert_ptr_null(fg_params_get(&p, "a"));
    ck_assert_ptr_null(fg_params_get(&p, "c"));
    ck_assert_str_eq(fg_params_get(&p, "b"), "2");
    fg_params_free(&p);
    q = "a=1&b=2";
    fg_params_parse(&p, q, strlen(q));
    ck_assert_ptr_null(p.repeated);
    ck_assert_str_eq(fg_params_get(&p, "a"), "1");
    fg_params_free(&p);
    /* a signed query with any name given twice is refused, even a name nobody signs */
    char query[1400];
    snprintf(query, sizeof(query), "%s&vnp_SecureHash=%s", VNPAY_VECTOR, VNPAY_VECTOR_HASH);
    ck_assert_int_eq(verify_query(query), 0);
    snprintf(query, sizeof(query), "vnp_BankCode=&%s&vnp_SecureHash=%s&vnp_BankCode=", VNPAY_VECTOR, VNPAY_VECTOR_HASH);
    ck_assert_int_eq(verify_query(query), FG_EINVALID);
    snprintf(query, sizeof(query), "%s&vnp_SecureHash=%s&utm=1&utm=2", VNPAY_VECTOR, VNPAY_VECTOR_HASH);
    ck_assert_int_eq(verify_query(query), FG_EINVALID);
    snprintf(query, sizeof(query), "%s&vnp_SecureHash=%s&vnp_SecureHash=%s", VNPAY_VECTOR, VNPAY_VECTOR_HASH,
             VNPAY_VECTOR_HASH);
    ck_assert_int_eq(verify_query(query), FG_EINVALID);
}
END_TEST

START_TEST(vnpay_empty_duplicates_cannot_rewrite_a_signed_ipn)
{
    char signed_query[1500], query[1700];
    fg_notification_t n;
    vnpay_ipn("150000000", "00", "00", "TESTTMN1", signed_query, sizeof(signed_query));
    ck_assert_int_eq(vnpay_verify(signed_query, &n), 0);
    /* empty values are not signed: prepended, they used to win fg_params_get */
    const char *prefixes[] = {"vnp_TransactionNo=&", "vnp_ResponseCode=&", "vnp_TransactionStatus=&", "vnp_TxnRef=&",
                              "vnp_Amount=&",        "vnp_PayDate=&",      "vnp_TxnRef=pay_other&"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        snprintf(query, sizeof(query), "%s%s", prefixes[i], signed_query);
        ck_assert_msg(vnpay_verify(query, &n) == FG_EINVALID, "accepted %s", prefixes[i]);
        snprintf(query, sizeof(query), "%s&%.*s", signed_query, (int)strlen(prefixes[i]) - 1, prefixes[i]);
        ck_assert_msg(vnpay_verify(query, &n) == FG_EINVALID, "accepted a trailing %s", prefixes[i]);
    }
    /* a required field VNPay did not sign cannot be supplied empty either */
    vnpay_ipn_without("vnp_ResponseCode", NULL, "00", "00", signed_query, sizeof(signed_query));
    ck_assert_int_eq(vnpay_verify(signed_query, &n), FG_ERANGE); /* signed, but incomplete */
    snprintf(query, sizeof(query), "vnp_ResponseCode=&%s", signed_query);
    ck_assert_int_eq(vnpay_verify(query, &n), FG_EINVALID);
    const char *required[] = {"vnp_TxnRef", "vnp_Amount", "vnp_TransactionStatus", "vnp_PayDate", "vnp_TmnCode"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        vnpay_ipn_without(NULL, required[i], "00", "00", signed_query, sizeof(signed_query));
        ck_assert_msg(vnpay_verify(signed_query, &n) == FG_EINVALID, "accepted an empty %s", required[i]);
        vnpay_ipn_without(required[i], NULL, "00", "00", signed_query, sizeof(signed_query));
        ck_assert_msg(vnpay_verify(signed_query, &n) != 0, "accepted no %s", required[i]);
    }
    /* a success needs its transaction number; a failure may have none */
    vnpay_ipn_without("vnp_TransactionNo", NULL, "00", "00", signed_query, sizeof(signed_query));
    ck_assert_int_eq(vnpay_verify(signed_query, &n), FG_ERANGE);
    snprintf(query, sizeof(query), "vnp_TransactionNo=&%s", signed_query);
    ck_assert_int_eq(vnpay_verify(query, &n), FG_ERANGE);
    vnpay_ipn_without("vnp_TransactionNo", NULL, "24", "02", signed_query, sizeof(signed_query));
    ck_assert_int_eq(vnpay_verify(signed_query, &n), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_FAILED);
    ck_assert_str_eq(n.provider_txn_id, "");
    ck_assert_str_eq(n.event_id, "pay_01K4C0000000000000000000::02");
}
END_TEST

START_TEST(notification_times_are_checked_in_a_wide_window)
{
    int64_t ms;
    ck_assert_int_eq(fg_parse_gmt7("20250905093512", &ms), 0);
    ck_assert_int_eq(ms, VNPAY_PAID_MS);
    ck_assert_int_eq(fg_parse_gmt7("20240229000000", &ms), 0);
    ck_assert_int_eq(ms, 1709139600000LL);
    ck_assert_int_eq(fg_parse_gmt7("20000301070000", &ms), 0);
    ck_assert_int_eq(ms, 951868800000LL);
    ck_assert_int_eq(fg_parse_gmt7("99991231235959", &ms), 0);
    ck_assert_int_eq(ms, 253402275599000LL);
    const char *bad[] = {"20250230000000",
                         "20230229000000",
                         "21000229000000",
                         "20251301000000",
                         "20250900000000",
                         "20250905240000",
                         "20250905236000",
                         "20250905235960",
                         "19691231235959",
                         "2025090509351",
                         "202509050935120",
                         "2025-09-05 093",
                         "",
                         "2025090509351x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(fg_parse_gmt7(bad[i], &ms) == FG_EINVALID, "parsed %s", bad[i]);
    ck_assert_int_eq(fg_parse_gmt7(NULL, &ms), FG_EINVALID);
    /* for a date round trip, GMT+7 formatting and parsing agree */
    char text[15];
    fg_format_gmt7(1735664400000LL, text);
    ck_assert_int_eq(fg_parse_gmt7(text, &ms), 0);
    ck_assert_int_eq(ms, 1735664400000LL);

    char reason[200];
    int64_t now = VNPAY_PAID_MS;
    ck_assert_int_eq(fg_notify_fresh(now - FG_NOTIFY_MAX_AGE_MS, now, "t", reason, sizeof(reason)), 0);
    ck_assert_int_eq(fg_notify_fresh(now - FG_NOTIFY_MAX_AGE_MS - 1, now, "t", reason, sizeof(reason)), FG_EINVALID);
    ck_assert_int_eq(fg_notify_fresh(now + FG_NOTIFY_MAX_AHEAD_MS, now, "t", reason, sizeof(reason)), 0);
    ck_assert_int_eq(fg_notify_fresh(now + FG_NOTIFY_MAX_AHEAD_MS + 1, now, "t", reason, sizeof(reason)), FG_EINVALID);

    /* VNPay: its retries of days ago still count; an old replay and a date far ahead do not */
    char query[1500];
    fg_notification_t n;
    vnpay_ipn("150000000", "00", "00", "TESTTMN1", query, sizeof(query));
    ck_assert_int_eq(vnpay_verify_at(query, VNPAY_PAID_MS, &n), 0);
    ck_assert_int_eq(vnpay_verify_at(query, VNPAY_PAID_MS + 6 * DAY_MS, &n), 0);
    ck_assert_int_eq(vnpay_verify_at(query, VNPAY_PAID_MS + 8 * DAY_MS, &n), FG_EINVALID);
    ck_assert_int_eq(vnpay_verify_at(query, VNPAY_PAID_MS - 30 * 60000, &n), 0); /* clocks differ a little */
    ck_assert_int_eq(vnpay_verify_at(query, VNPAY_PAID_MS - 2 * 3600000LL, &n), FG_EINVALID);
    /* a querydr answer we asked for carries the old PayDate: not held to the window */
    fg_payment_query_t q = {"pay_01K4C0000000000000000000", 1500000, 1757039400000LL, "01K4C0REQ",
                            VNPAY_PAID_MS + 60 * DAY_MS};
    fg_buf_t answer = FG_BUF_INIT;
    vnpay_answer("00", "00", VNPAY_SECRET, &answer);
    ck_assert_int_eq(fg_adapter_vnpay.query_response(&cfg, &q, 200, answer.data, answer.len, &n, reason, 200), 0);
    ck_assert_int_eq(n.status, FG_NOTIFY_SUCCEEDED);
    fg_buf_free(&answer);

    /* MoMo: responseTime in epoch ms, the same window */
    fg_buf_t body = FG_BUF_INIT;
    momo_ipn("50000", "0", MOMO_SECRET, "MOMO", &body);
    ck_assert_int_eq(momo_verify_at(&body, MOMO_SENT_MS + 6 * DAY_MS, &n), 0);
    ck_assert_int_eq(momo_verify_at(&body, MOMO_SENT_MS + 8 * DAY_MS, &n), FG_EINVALID);
    ck_assert_int_eq(momo_verify_at(&body, MOMO_SENT_MS - 2 * 3600000LL, &n), FG_EINVALID);
    fg_payment_query_t mq = {"pay_01K4C0000000000000000000", 50000, 0, "01K4C0REQ", MOMO_SENT_MS + 60 * DAY_MS};
    ck_assert_int_eq(fg_adapter_momo.query_response(&cfg, &mq, 200, body.data, body.len, &n, reason, 200), 0);
    fg_buf_free(&body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("adapters");
    TCase *tc = tcase_create("protocols");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, vnpay_hash_matches_the_protocol_test_vector);
    tcase_add_test(tc, vnpay_query_verification_refuses_any_change);
    tcase_add_test(tc, diacritics_are_stripped_for_vnp_order_info);
    tcase_add_test(tc, vnpay_payment_url_is_signed_in_gmt7);
    tcase_add_test(tc, vnpay_ipn_is_verified_and_parsed);
    tcase_add_test(tc, vnpay_acknowledgements_follow_the_rspcode_contract);
    tcase_add_test(tc, vnpay_querydr_request_and_answers);
    tcase_add_test(tc, vnpay_refund_request_types);
    tcase_add_test(tc, momo_signature_matches_the_protocol_test_vector);
    tcase_add_test(tc, momo_create_request_is_signed_and_bounded);
    tcase_add_test(tc, momo_ipn_is_verified_and_parsed);
    tcase_add_test(tc, momo_query_and_refund_requests);
    tcase_add_test(tc, vietqr_crc_and_worked_example);
    tcase_add_test(tc, memo_codes_are_found_through_noise);
    tcase_add_test(tc, sepay_webhook_is_authenticated_and_parsed);
    tcase_add_test(tc, form_encoding_and_query_parsing);
    tcase_add_test(tc, registry_knows_every_adapter);
    tcase_add_test(tc, repeated_query_parameters_are_ambiguous);
    tcase_add_test(tc, vnpay_empty_duplicates_cannot_rewrite_a_signed_ipn);
    tcase_add_test(tc, notification_times_are_checked_in_a_wide_window);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
