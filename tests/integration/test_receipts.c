/*
 * test_receipts.c - e-receipts end to end: the real feegate (two instances
 * on one database) and the bank simulator (tests/banksim) for VNPay and the
 * SePay bank feed, on the private MariaDB.
 *
 * Every succeeded payment is issued one receipt in the transaction that
 * marks it succeeded, whichever door the money came through (the sandbox's
 * notification, VNPay's IPN, VNPay's status query, a SePay transfer), each
 * partial payment its own, money wholly unapplied too.  Numbers come from a
 * gapless series per merchant and serial: 64 payments at once on two
 * instances are numbered 1..64, and a transaction rolled back after taking a
 * number gives it back.  The API reads a receipt for its merchant and for
 * staff, never for another merchant; the payer's receipt page names it; the
 * settings route changes the unit and the series without restarting one.
 * Every refund made issues an adjustment receipt (a negative amount
 * referencing the original, which becomes 'adjusted') numbered in the same
 * series; a refund the provider never made issues none.
 */
#define _GNU_SOURCE /* asprintf */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "banksim_client.h"
#include "core/crypto.h"
#include "harness.h"

#define SANDBOX_SECRET "it-sandbox-secret"
#define SEPAY_KEY "it-sepay-key"
#define COLLECTION_ACCOUNT "0011001932499" /* its own: other suites close days of theirs */
#define CONCURRENT 64

static fgt_server_t srv, srv2;
static char mer[64], key[64];
static fgt_banksim_t bank;
static char admin_token[96], auditor_token[96], finance_token[96];

static const char *const SHARED_ENV[][2] = {
    {"FEEGATE_VNPAY_TMN_CODE", "TESTTMN1"},
    {"FEEGATE_VNPAY_HASH_SECRET", "TESTSECRETKEY0123456789ABCDEFGHI"},
    {"FEEGATE_MOMO_PARTNER_CODE", "MOMO"},
    {"FEEGATE_MOMO_ACCESS_KEY", "F8BBA842ECF85"},
    {"FEEGATE_MOMO_SECRET_KEY", "K951B6PE1waDMi640xX08PD3vg6EkVlz"},
    {"FEEGATE_SEPAY_API_KEY", SEPAY_KEY},
    {"FEEGATE_VIETQR_BANK_BIN", "970415"},
    {"FEEGATE_VIETQR_ACCOUNT_NO", COLLECTION_ACCOUNT},
    {"FEEGATE_SANDBOX_SECRET", SANDBOX_SECRET},
};

/* ---- helpers ------------------------------------------------------------------------ */

static fgt_response_t control(const char *path, const char *json) { return fgt_banksim_control(&bank, path, json); }

static void reset(void)
{
    fgt_response_t r = control("/control/reset", "{}");
    fgt_response_free(&r);
}

static void new_order_of(const char *k, long long amount, const char *extra, char *id, char *code)
{
    char body[800];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":%lld,\"currency\":\"VND\","
             "\"description\":\"Học phí HK1 – lớp 5A\",\"payer\":{\"name\":\"Nguyễn Văn A\",\"ref\":\"HS0042\"}%s}",
             fgt_unique("RC"), amount, extra != NULL ? extra : "");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", k, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    if (code != NULL)
        snprintf(code, 16, "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
}

static void new_order(long long amount, const char *extra, char *id, char *code)
{
    new_order_of(key, amount, extra, id, code);
}

static void new_payment_of(const char *k, const char *order, const char *method, long long amount, char *id,
                           char *redirect)
{
    char path[128], body[96];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    if (amount > 0)
        snprintf(body, sizeof(body), "{\"method\":\"%s\",\"amount\":%lld}", method, amount);
    else
        snprintf(body, sizeof(body), "{\"method\":\"%s\"}", method);
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "POST", path, k, fgt_unique("pk"), body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    /* a pending payment has no receipt yet */
    ck_assert(fgt_json_is_null(&r, "receipt_id", NULL));
    if (redirect != NULL)
        snprintf(redirect, 1024, "%s", fgt_json_str(&r, "redirect_url", NULL));
    fgt_response_free(&r);
}

static void new_payment(const char *order, const char *method, long long amount, char *id, char *redirect)
{
    new_payment_of(key, order, method, amount, id, redirect);
}

static void sandbox_body(const char *payment, const char *txn, long long amount, char *body, size_t body_cap,
                         char *header, size_t header_cap)
{
    snprintf(body, body_cap,
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":%lld}", payment,
             txn, amount);
    long long t = (long long)time(NULL);
    char msg[1024], hex[2 * FG_SHA256_LEN + 1];
    uint8_t mac[FG_SHA256_LEN];
    snprintf(msg, sizeof(msg), "%lld.%.900s", t, body); /* a body is at most 300 bytes */
    fg_hmac_sha256(SANDBOX_SECRET, strlen(SANDBOX_SECRET), msg, strlen(msg), mac);
    fg_hex_encode(mac, sizeof(mac), hex);
    snprintf(header, header_cap, "X-Signature: t=%lld,v1=%s", t, hex);
}

static void sandbox_pay(const char *payment, const char *txn, long long amount)
{
    char body[300], header[200];
    sandbox_body(payment, txn, amount, body, sizeof(body), header, sizeof(header));
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

static fgt_response_t get_as(const char *k, const char *kind, const char *id)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/%s/%s", kind, id);
    return fgt_req(&srv, FGT_H2C, "GET", path, k, NULL, NULL, 0, NULL);
}

/* Receipts are numbered by the issuer after the payment commits; a read
 * through the API issues a queued one first, as every read does.  The DB
 * helpers below read the rows after such a read. */
static void read_through_api(const char *path)
{
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, admin_token, NULL, NULL, 0, NULL);
    ck_assert_msg(r.status == 200 || r.status == 503, "%s: %ld %s", path, r.status, r.body);
    fgt_response_free(&r);
}

/* The payment's receipt id into out (the payment must have one). */
static void receipt_of(const char *k, const char *payment, char *out)
{
    fgt_response_t r = get_as(k, "payments", payment);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    const char *id = fgt_json_str(&r, "receipt_id", NULL);
    ck_assert_msg(id != NULL && strncmp(id, "rct_", 4) == 0, "no receipt: %s", r.body);
    snprintf(out, 48, "%s", id);
    ck_assert_ptr_nonnull(fgt_json_str(&r, "receipt_url", NULL));
    fgt_response_free(&r);
    /* read once through the API, which issues it if the issuer has not yet: the DB checks then see it */
    char path[96];
    snprintf(path, sizeof(path), "/v1/receipts/%.64s", out);
    read_through_api(path);
}

static long long receipts_of_payment(const char *payment)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/receipts?payment_id=%.64s", payment);
    read_through_api(path);
    return fgt_db_int("SELECT COUNT(*) FROM receipts r JOIN payments p ON p.id = r.payment_id WHERE p.public_id = ?",
                      payment, NULL);
}

static long long number_of(const char *receipt)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/receipts/%.64s", receipt);
    read_through_api(path);
    return fgt_db_int("SELECT number FROM receipts WHERE public_id = ?", receipt, NULL);
}

static void wait_settled(const char *payment)
{
    for (int i = 0; i < 200; i++) {
        if (fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status <> 'pending'", payment, NULL) == 1)
            return;
        fgt_sleep_ms(100);
    }
    ck_abort_msg("payment %s still pending after 20 s", payment);
}

/* The numbers of a merchant's receipts in one serial are exactly 1..n. */
static void expect_gapless(const char *merchant, const char *serial, long long n)
{
    /* the issuer numbers what the payments queued: wait for it (a few rounds of 200 ms) */
    for (int i = 0; i < 200 && fgt_db_int("SELECT COUNT(*) FROM receipt_queue q JOIN merchants m ON m.id = "
                                          "q.merchant_id WHERE m.public_id = ?",
                                          merchant, NULL) > 0;
         i++)
        fgt_sleep_ms(50);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM receipts r JOIN merchants m ON m.id = r.merchant_id "
                                "WHERE m.public_id = ? AND r.serial = ?",
                                merchant, serial),
                     n);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(DISTINCT r.number) FROM receipts r JOIN merchants m ON m.id = "
                                "r.merchant_id WHERE m.public_id = ? AND r.serial = ?",
                                merchant, serial),
                     n);
    if (n > 0) {
        ck_assert_int_eq(fgt_db_int("SELECT MIN(r.number) FROM receipts r JOIN merchants m ON m.id = r.merchant_id "
                                    "WHERE m.public_id = ? AND r.serial = ?",
                                    merchant, serial),
                         1);
        ck_assert_int_eq(fgt_db_int("SELECT MAX(r.number) FROM receipts r JOIN merchants m ON m.id = r.merchant_id "
                                    "WHERE m.public_id = ? AND r.serial = ?",
                                    merchant, serial),
                         n);
    }
    /* the counter stands at the last number issued */
    ck_assert_int_eq(fgt_db_int("SELECT c.last_number FROM receipt_counters c JOIN merchants m ON m.id = "
                                "c.merchant_id WHERE m.public_id = ? AND c.serial = ?",
                                merchant, serial),
                     n);
}

static fgt_response_t settings(const char *token, const char *merchant, const char *idem, const char *body)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/merchants/%s/receipt-settings", merchant);
    return fgt_req(&srv, FGT_HTTP1, "POST", path, token, idem, body, 0, NULL);
}

static void setup(void) { reset(); }

/* ---- the receipt of a sandbox payment, every field ------------------------------------------ */

START_TEST(sandbox_payment_gets_a_receipt_with_every_field)
{
    char m2[64], k2[64], order[40], code[16], pay[40], rct[48], txn[64];
    fgt_merchant_create("Phường Bến Nghé", m2, k2);
    /* the unit's settings, by a staff admin */
    fgt_response_t r = settings(admin_token, m2, fgt_unique("st"),
                                "{\"unit_name\":\"UBND Phường Bến Nghé\",\"tax_code\":\"0301234567-001\","
                                "\"address\":\"29 Lê Duẩn, Quận 1, TP. Hồ Chí Minh\",\"form\":\"01BLP0-001\","
                                "\"serial\":\"BN-26E\"}");
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "receipt_settings", "tax_code", NULL), "0301234567-001");
    fgt_response_free(&r);
    /* an address is up to 400 characters, Vietnamese ones (two and three bytes each) too */
    char m3[64], k3[64], address[2048], body[2304];
    fgt_merchant_create("Phường Đa Kao", m3, k3);
    size_t len = 0;
    for (int i = 0; i < 400; i++)
        len += (size_t)snprintf(address + len, sizeof(address) - len, "%s", i % 2 ? "ễ" : "Đ");
    snprintf(body, sizeof(body), "{\"address\":\"%s\"}", address);
    r = settings(admin_token, m3, NULL, body);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "{\"address\":\"%sx\"}", address);
    r = settings(admin_token, m3, NULL, body);
    fgt_expect(r, 422, NULL);
    fgt_response_free(&r);

    new_order_of(k2, 4500000, NULL, order, code);
    new_payment_of(k2, order, "sandbox", 0, pay, NULL);
    snprintf(txn, sizeof(txn), "%s", fgt_unique("SBX"));
    sandbox_pay(pay, txn, 4500000);
    receipt_of(k2, pay, rct);

    r = get_as(k2, "receipts", rct);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "id", NULL), rct);
    ck_assert_str_eq(fgt_json_str(&r, "object", NULL), "receipt");
    ck_assert_str_eq(fgt_json_str(&r, "payment_id", NULL), pay);
    ck_assert_str_eq(fgt_json_str(&r, "order_id", NULL), order);
    ck_assert_str_eq(fgt_json_str(&r, "merchant_id", NULL), m2);
    ck_assert_str_eq(fgt_json_str(&r, "series", "form", NULL), "01BLP0-001");
    ck_assert_str_eq(fgt_json_str(&r, "series", "serial", NULL), "BN-26E");
    ck_assert_int_eq(fgt_json_int(&r, "number", NULL), 1);
    ck_assert_str_eq(fgt_json_str(&r, "number_text", NULL), "0000001");
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 4500000);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "VND");
    ck_assert_str_eq(fgt_json_str(&r, "amount_in_words", NULL), "Bốn triệu năm trăm nghìn đồng");
    ck_assert_str_eq(fgt_json_str(&r, "unit", "name", NULL), "UBND Phường Bến Nghé");
    ck_assert_str_eq(fgt_json_str(&r, "unit", "tax_code", NULL), "0301234567-001");
    ck_assert_str_eq(fgt_json_str(&r, "unit", "address", NULL), "29 Lê Duẩn, Quận 1, TP. Hồ Chí Minh");
    ck_assert_str_eq(fgt_json_str(&r, "payer", "name", NULL), "Nguyễn Văn A");
    ck_assert_str_eq(fgt_json_str(&r, "payer", "ref", NULL), "HS0042");
    ck_assert_str_eq(fgt_json_str(&r, "fee_type", NULL), "tuition");
    ck_assert_str_eq(fgt_json_str(&r, "description", NULL), "Học phí HK1 – lớp 5A");
    ck_assert_str_eq(fgt_json_str(&r, "method", NULL), "sandbox");
    ck_assert_str_eq(fgt_json_str(&r, "provider_ref", NULL), txn);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "issued");
    ck_assert_str_eq(fgt_json_str(&r, "kind", NULL), "original");
    ck_assert(fgt_json_is_null(&r, "related_id", NULL));
    const char *paid = fgt_json_str(&r, "paid_at", NULL), *issued = fgt_json_str(&r, "issued_at", NULL);
    const char *local = fgt_json_str(&r, "issued_at_local", NULL), *day = fgt_json_str(&r, "issued_day", NULL);
    ck_assert_msg(paid != NULL && strlen(paid) == 20 && paid[19] == 'Z', "paid_at %s", paid);
    ck_assert_msg(issued != NULL && strlen(issued) == 20 && issued[19] == 'Z', "issued_at %s", issued);
    ck_assert_msg(local != NULL && strlen(local) == 25 && strcmp(local + 19, "+07:00") == 0, "local %s", local);
    ck_assert_msg(day != NULL && strncmp(day, local, 10) == 0, "issued_day %s, local %s", day, local);
    /* the local time is the UTC time seven hours on */
    struct tm tu = {0}, tl = {0};
    ck_assert_ptr_nonnull(strptime(issued, "%Y-%m-%dT%H:%M:%SZ", &tu));
    ck_assert_ptr_nonnull(strptime(local, "%Y-%m-%dT%H:%M:%S", &tl));
    ck_assert_int_eq((long long)(timegm(&tl) - timegm(&tu)), 7 * 3600);
    fgt_response_free(&r);

    /* the event: payment.succeeded names the receipt and the payer's page */
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/pay/%s/receipt?payment=%s", srv.http_port, code, pay);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events e JOIN merchants m ON m.id = e.merchant_id "
                                "WHERE m.public_id = ? AND e.type = 'payment.succeeded' "
                                "AND JSON_VALUE(e.payload, '$.receipt_id') = ?",
                                m2, rct),
                     1);
    char event_url[256];
    ck_assert(fgt_db_str("SELECT JSON_VALUE(e.payload, '$.receipt_url') FROM events e WHERE e.type = "
                         "'payment.succeeded' AND JSON_VALUE(e.payload, '$.receipt_id') = ?",
                         rct, NULL, event_url, sizeof(event_url)));
    ck_assert_msg(strstr(event_url, "/pay/") != NULL && strstr(url, strstr(event_url, "/pay/")) != NULL,
                  "receipt_url %s", event_url);

    /* the payer's receipt page names it */
    char page[160];
    snprintf(page, sizeof(page), "/pay/%s/receipt?payment=%s", code, pay);
    r = fgt_request(&srv, FGT_HTTP1, "GET", page, NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "Biên lai số 0000001, ký hiệu BN-26E") != NULL, "%s", r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "data-receipt-number=\"0000001\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Bốn triệu năm trăm nghìn đồng"));
    ck_assert_ptr_nonnull(strstr(r.body, "0301234567-001"));
    fgt_response_free(&r);

    /* by payment, and the merchant's list */
    char path[160];
    snprintf(path, sizeof(path), "/v1/receipts?payment_id=%s", pay);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, k2, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_uint_eq(data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "id", NULL), rct);
    fgt_response_free(&r);

    /* tenant isolation: another merchant's key gets 404, for one and in lists */
    r = get_as(key, "receipts", rct);
    fgt_expect_error(r, 404, "not_found", "receipt_not_found");
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_uint_eq(fgt_json_array(&r, "data", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/receipts?merchant_id=%s", m2);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 404, "not_found", "merchant_not_found");
    fgt_response_free(&r);
    r = get_as(NULL, "receipts", rct);
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);

    /* staff read every merchant's; an accountant of another merchant does not */
    r = get_as(auditor_token, "receipts", rct);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "number", NULL), 1);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, auditor_token, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_uint_eq(fgt_json_array(&r, "data", NULL)->u.array.len, 1);
    fgt_response_free(&r);
    char email[128], out[512], accountant[96];
    snprintf(email, sizeof(email), "ketoan@%s.edu.vn", fgt_unique("a"));
    const char *create[] = {"feegate", "admin",      "user",       "create", "--email", email,
                            "--role",  "accountant", "--merchant", mer,      NULL};
    ck_assert_int_eq(fgt_cli(create, "correct horse battery staple\n", out, sizeof(out)), 0);
    const char *tok[] = {"feegate", "admin", "token", "create", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli(tok, NULL, out, sizeof(out)), 0);
    const char *t = strstr(out, "\"token\":\"");
    ck_assert_ptr_nonnull(t);
    snprintf(accountant, sizeof(accountant), "%.*s", (int)strcspn(t + 9, "\""), t + 9);
    r = get_as(accountant, "receipts", rct);
    fgt_expect_error(r, 404, "not_found", "receipt_not_found");
    fgt_response_free(&r);
    /* ... and reads its own merchant's */
    char own_order[40], own_pay[40], own_rct[48];
    new_order(55000, NULL, own_order, NULL);
    new_payment(own_order, "sandbox", 0, own_pay, NULL);
    sandbox_pay(own_pay, fgt_unique("SBX"), 55000);
    receipt_of(key, own_pay, own_rct);
    r = get_as(accountant, "receipts", own_rct);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "amount_in_words", NULL), "Năm mươi lăm nghìn đồng");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- settings: validation, audit, idempotency, a series that does not restart --------------------- */

START_TEST(settings_are_validated_audited_and_keep_each_series)
{
    char m2[64], k2[64], o1[40], o2[40], o3[40], p1[40], p2[40], p3[40], r1[48], r2[48], r3[48];
    fgt_merchant_create("Trường Mầm non Hoa Sen", m2, k2);
    /* refusals change nothing */
    fgt_response_t r = settings(admin_token, m2, NULL, "{\"tax_code\":\"12345\"}");
    fgt_expect_error(r, 422, "invalid_request", "invalid_receipt_settings");
    ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "tax_code");
    fgt_response_free(&r);
    r = settings(admin_token, m2, NULL, "{\"serial\":\"bl 26\"}");
    fgt_expect_error(r, 422, "invalid_request", "invalid_receipt_settings");
    fgt_response_free(&r);
    r = settings(admin_token, m2, NULL, "{\"form\":null}");
    fgt_expect_error(r, 400, "invalid_request", "invalid_type");
    fgt_response_free(&r);
    r = settings(admin_token, m2, NULL, "{\"colour\":\"red\"}");
    fgt_expect_error(r, 400, "invalid_request", "unknown_field");
    fgt_response_free(&r);
    r = settings(finance_token, m2, NULL, "{\"serial\":\"HS-26E\"}");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = settings(k2, m2, NULL, "{\"serial\":\"HS-26E\"}");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = settings(admin_token, "mer_nosuchmerchant", NULL, "{\"serial\":\"HS-26E\"}");
    fgt_expect_error(r, 404, "not_found", "merchant_not_found");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE object = ? AND action = "
                                "'merchant.receipt_settings.set'",
                                m2, NULL),
                     0);
    /* the defaults: the merchant's name, the default series */
    new_order_of(k2, 21000, NULL, o1, NULL);
    new_payment_of(k2, o1, "sandbox", 0, p1, NULL);
    sandbox_pay(p1, fgt_unique("SBX"), 21000);
    receipt_of(k2, p1, r1);
    r = get_as(k2, "receipts", r1);
    ck_assert_str_eq(fgt_json_str(&r, "unit", "name", NULL), "Trường Mầm non Hoa Sen");
    ck_assert(fgt_json_is_null(&r, "unit", "tax_code", NULL));
    ck_assert_str_eq(fgt_json_str(&r, "series", "serial", NULL), "BL-26E");
    ck_assert_str_eq(fgt_json_str(&r, "amount_in_words", NULL), "Hai mươi mốt nghìn đồng");
    fgt_response_free(&r);
    /* a new serial starts its own series; the same key replays the answer */
    const char *idem = fgt_unique("st");
    const char *body = "{\"serial\":\"HS-26E\",\"tax_code\":\"0101234567\"}";
    r = settings(admin_token, m2, idem, body);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "receipt_settings", "serial", NULL), "HS-26E");
    ck_assert_str_eq(fgt_json_str(&r, "receipt_settings", "unit_name", NULL), "Trường Mầm non Hoa Sen");
    fgt_response_t again = settings(admin_token, m2, idem, body);
    fgt_expect(again, 200, NULL);
    ck_assert_str_eq(again.body, r.body);
    ck_assert_str_eq(fgt_header(&again, "idempotent-replayed"), "true");
    fgt_response_free(&again);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE object = ? AND action = "
                                "'merchant.receipt_settings.set' AND before_json LIKE '%BL-26E%' "
                                "AND after_json LIKE '%HS-26E%'",
                                m2, NULL),
                     1);
    new_order_of(k2, 15000, NULL, o2, NULL);
    new_payment_of(k2, o2, "sandbox", 0, p2, NULL);
    sandbox_pay(p2, fgt_unique("SBX"), 15000);
    receipt_of(k2, p2, r2);
    ck_assert_int_eq(number_of(r2), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM receipts WHERE public_id = ? AND serial = 'HS-26E' "
                                "AND unit_tax_code = '0101234567'",
                                r2, NULL),
                     1);
    /* back to the first serial: its series continues, it does not restart */
    r = settings(admin_token, m2, NULL, "{\"serial\":\"BL-26E\",\"tax_code\":null}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    new_order_of(k2, 25000, NULL, o3, NULL);
    new_payment_of(k2, o3, "sandbox", 0, p3, NULL);
    sandbox_pay(p3, fgt_unique("SBX"), 25000);
    receipt_of(k2, p3, r3);
    ck_assert_int_eq(number_of(r3), 2);
    expect_gapless(m2, "BL-26E", 2);
    expect_gapless(m2, "HS-26E", 1);
    /* the issued receipt keeps what it said */
    r = get_as(k2, "receipts", r2);
    ck_assert_str_eq(fgt_json_str(&r, "unit", "tax_code", NULL), "0101234567");
    fgt_response_free(&r);
    /* and the database refuses to edit one */
    ck_assert_uint_ne(fgt_db_try("UPDATE receipts SET amount = 1 WHERE public_id = ?", r2), 0);
    ck_assert_uint_ne(fgt_db_try("DELETE FROM receipts WHERE public_id = ?", r2), 0);
}
END_TEST

/* ---- a series used up: the payment waits for a new serial, nothing is lost ---------------------- */

START_TEST(a_used_up_series_holds_the_receipt_not_the_payment_until_a_new_serial)
{
    char m2[64], k2[64], order[40], pay[40], rct[48], body[300], header[200], path[96];
    fgt_merchant_create("Trường Đại học Số Bảy", m2, k2);
    fgt_response_t r = settings(admin_token, m2, NULL, "{\"serial\":\"FULL-26E\"}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    /* the series stands at its last number */
    fgt_db_exec("INSERT INTO receipt_counters (merchant_id, serial, last_number) SELECT id, 'FULL-26E', 9999999 "
                "FROM merchants WHERE public_id = ?",
                m2);
    new_order_of(k2, 30000, NULL, order, NULL);
    new_payment_of(k2, order, "sandbox", 0, pay, NULL);
    sandbox_body(pay, fgt_unique("SBX"), 30000, body, sizeof(body), header, sizeof(header));
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
    fgt_expect(r, 200, NULL); /* the money is received: nothing about numbering holds a payment */
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'succeeded'", pay,
                                NULL),
                     1);
    /* the payment names its receipt; the receipt waits for a number, and says why */
    r = get_as(k2, "payments", pay);
    snprintf(rct, sizeof(rct), "%s", fgt_json_str(&r, "receipt_id", NULL));
    fgt_response_free(&r);
    fgt_sleep_ms(600); /* the issuer's rounds skip it too */
    r = get_as(k2, "receipts", rct);
    fgt_expect(r, 503, "receipt_series_used_up");
    fgt_response_free(&r);
    /* another merchant's key does not learn that it exists, and issues nothing */
    char m4[64], k4[64];
    fgt_merchant_create("Phường Tân Định", m4, k4);
    r = get_as(k4, "receipts", rct);
    fgt_expect_error(r, 404, "not_found", "receipt_not_found");
    fgt_response_free(&r);
    ck_assert_int_eq(receipts_of_payment(pay), 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM receipt_queue WHERE receipt_public_id = ?", rct, NULL), 1);
    /* a new serial: the issuer numbers it from 1 */
    r = settings(admin_token, m2, NULL, "{\"serial\":\"NEXT-26E\"}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/receipts/%s", rct);
    for (int i = 0; i < 100 && fgt_db_int("SELECT COUNT(*) FROM receipt_queue WHERE receipt_public_id = ?", rct, NULL);
         i++)
        fgt_sleep_ms(50);
    r = get_as(k2, "receipts", rct);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "number", NULL), 1);
    ck_assert_str_eq(fgt_json_str(&r, "series", "serial", NULL), "NEXT-26E");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- partial payments, and money wholly unapplied ------------------------------------------------- */

START_TEST(each_partial_payment_and_unapplied_money_get_a_receipt)
{
    char order[40], p1[40], p2[40], r1[48], r2[48], when[40], late[40], p3[40], r3[48];
    new_order(300000, ",\"allow_partial\":true", order, NULL);
    new_payment(order, "sandbox", 100000, p1, NULL);
    new_payment(order, "sandbox", 200000, p2, NULL);
    sandbox_pay(p1, fgt_unique("SBX"), 100000);
    sandbox_pay(p2, fgt_unique("SBX"), 200000);
    receipt_of(key, p1, r1);
    receipt_of(key, p2, r2);
    ck_assert_str_ne(r1, r2);
    ck_assert_int_eq(number_of(r2), number_of(r1) + 1);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM receipts WHERE public_id = ?", r1, NULL), 100000);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM receipts WHERE public_id = ?", r2, NULL), 200000);
    ck_assert_int_eq(receipts_of_payment(p1), 1);
    ck_assert_int_eq(receipts_of_payment(p2), 1);
    /* a repeated notification issues nothing more */
    long long count = fgt_db_int("SELECT COUNT(*) FROM receipts", NULL, NULL);
    char body[300], header[200];
    ck_assert(fgt_db_str("SELECT provider_txn_id FROM payments WHERE public_id = ?", p1, NULL, when, sizeof(when)));
    sandbox_body(p1, when, 100000, body, sizeof(body), header, sizeof(header));
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM receipts", NULL, NULL), count);

    /* money for an order that expired meanwhile goes wholly to unapplied: the
     * money was collected all the same, so it is receipted */
    time_t t = time(NULL) + 2;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    char extra[80];
    snprintf(extra, sizeof(extra), ",\"expires_at\":\"%s\"", when);
    new_order(90000, extra, late, NULL);
    new_payment(late, "sandbox", 0, p3, NULL);
    fgt_sleep_ms(3000);
    sandbox_pay(p3, fgt_unique("SBX"), 90000);
    r = get_as(key, "payments", p3);
    ck_assert_int_eq(fgt_json_int(&r, "amount_unapplied", NULL), 90000);
    ck_assert_int_eq(fgt_json_int(&r, "amount_applied", NULL), 0);
    fgt_response_free(&r);
    receipt_of(key, p3, r3);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM receipts WHERE public_id = ?", r3, NULL), 90000);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- VNPay through banksim: the IPN and the status query ----------------------------------------- */

static void vnpay_payment(const char *order, char *id)
{
    char redirect[1024];
    new_payment(order, "vnpay", 0, id, redirect);
    fgt_response_t page = fgt_http("GET", redirect, NULL);
    ck_assert_msg(page.status == 200, "VNPay's pay page refused our URL (%ld): %s", page.status, page.body);
    fgt_response_free(&page);
}

static void vnpay_decide(const char *payment)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"txn_ref\":\"%s\",\"outcome\":\"approve\"}", payment);
    fgt_response_t r = control("/control/vnpay/pay", body);
    fgt_response_free(&r);
}

START_TEST(vnpay_ipn_and_status_query_issue_receipts)
{
    char order[40], pay[40], rct[48], order2[40], pay2[40], rct2[48], txn[80];
    new_order(150000, NULL, order, NULL);
    vnpay_payment(order, pay);
    vnpay_decide(pay);
    wait_settled(pay);
    receipt_of(key, pay, rct);
    ck_assert(fgt_db_str("SELECT provider_txn_id FROM payments WHERE public_id = ?", pay, NULL, txn, sizeof(txn)));
    fgt_response_t r = get_as(key, "receipts", rct);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "method", NULL), "vnpay");
    ck_assert_str_eq(fgt_json_str(&r, "provider_ref", NULL), txn);
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 150000);
    ck_assert_str_eq(fgt_json_str(&r, "amount_in_words", NULL), "Một trăm năm mươi nghìn đồng");
    fgt_response_free(&r);
    ck_assert_int_eq(receipts_of_payment(pay), 1);
    /* the IPN lost: the status query settles the payment, and issues its receipt */
    new_order(210000, NULL, order2, NULL);
    vnpay_payment(order2, pay2);
    fgt_response_t c = control("/control/chaos", "{\"lose_ipn\":true}");
    fgt_response_free(&c);
    vnpay_decide(pay2);
    wait_settled(pay2);
    receipt_of(key, pay2, rct2);
    ck_assert_int_eq(receipts_of_payment(pay2), 1);
    ck_assert_int_eq(number_of(rct2), number_of(rct) + 1);
    /* the IPN after all: nothing more */
    reset();
    vnpay_decide(pay2);
    ck_assert_int_eq(receipts_of_payment(pay2), 1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- the SePay bank feed: a transfer, and a transaction rolled back after numbering ---------------- */

static long long sepay_seq(void)
{
    static long long seq;
    return 700000000000LL + (long long)time(NULL) % 100000000 * 100 + ++seq;
}

static fgt_response_t sepay_transfer(long long id, long long amount, const char *content, const char *reference)
{
    char *body = NULL, header[96];
    ck_assert_int_ge(asprintf(&body,
                              "{\"id\":%lld,\"gateway\":\"Vietcombank\",\"transactionDate\":\"2026-11-20 10:00:00\","
                              "\"accountNumber\":\"" COLLECTION_ACCOUNT "\",\"code\":null,\"content\":\"%s\","
                              "\"transferType\":\"in\",\"transferAmount\":%lld,\"accumulated\":0,"
                              "\"subAccount\":null,\"referenceCode\":\"%s\",\"description\":\"\"}",
                              id, content, amount, reference),
                     0);
    snprintf(header, sizeof(header), "Authorization: Apikey %s", SEPAY_KEY);
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sepay", NULL, NULL, body, 0, header);
    free(body);
    return r;
}

static void payment_of_order(const char *order, char *out)
{
    ck_assert(fgt_db_str("SELECT p.public_id FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.public_id = ? "
                         "AND p.status = 'succeeded' ORDER BY p.id DESC LIMIT 1",
                         order, NULL, out, 40));
}

START_TEST(sepay_transfers_issue_receipts_and_a_rollback_leaves_no_gap)
{
    char m2[64], k2[64], order[40], code[16], pay[40], rct[48], memo[128];
    fgt_merchant_create("Trường THPT Chuyển Khoản", m2, k2);
    /* through banksim's feed: the memo names the order */
    new_order_of(k2, 250000, NULL, order, code);
    snprintf(memo, sizeof(memo), "HP %s NGUYEN VAN A", code);
    char body[400];
    snprintf(body, sizeof(body), "{\"amount\":250000,\"content\":\"%s\",\"transfer_type\":\"in\"}", memo);
    fgt_response_t r = control("/control/sepay/transfer", body);
    fgt_response_free(&r);
    payment_of_order(order, pay);
    receipt_of(k2, pay, rct);
    r = get_as(k2, "receipts", rct);
    ck_assert_str_eq(fgt_json_str(&r, "method", NULL), "vietqr");
    ck_assert_int_eq(fgt_json_int(&r, "number", NULL), 1);
    ck_assert_str_eq(fgt_json_str(&r, "amount_in_words", NULL), "Hai trăm năm mươi nghìn đồng");
    fgt_response_free(&r);

    /* a transfer the feed sends under a new id but with the bank reference of
     * one already applied: numbered, then refused by the one-money-one-effect
     * key at the end of its transaction and rolled back */
    char o2[40], c2[16], o3[40], c3[16], ref[40], pay3[40], rct3[48];
    new_order_of(k2, 99000, NULL, o2, c2);
    snprintf(ref, sizeof(ref), "%s", fgt_unique("FT"));
    snprintf(memo, sizeof(memo), "HP %s", c2);
    r = sepay_transfer(sepay_seq(), 99000, memo, ref);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    expect_gapless(m2, "BL-26E", 2);
    long long payments_before = fgt_db_int("SELECT COUNT(*) FROM payments p JOIN merchants m ON m.id = "
                                           "p.merchant_id WHERE m.public_id = ?",
                                           m2, NULL);
    r = sepay_transfer(sepay_seq(), 99000, memo, ref); /* the same bank reference again */
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(r.body, "{\"success\":true}");
    fgt_response_free(&r);
    /* it reached numbering (its order is paid: a payment of its own, wholly
     * unapplied, which gets a receipt) and was rolled back: nothing stays */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN merchants m ON m.id = p.merchant_id "
                                "WHERE m.public_id = ?",
                                m2, NULL),
                     payments_before);
    expect_gapless(m2, "BL-26E", 2);
    /* the next payment takes the number the rollback gave back */
    new_order_of(k2, 1005000, NULL, o3, c3);
    snprintf(memo, sizeof(memo), "HP %s", c3);
    r = sepay_transfer(sepay_seq(), 1005000, memo, fgt_unique("FT"));
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    payment_of_order(o3, pay3);
    receipt_of(k2, pay3, rct3);
    ck_assert_int_eq(number_of(rct3), 3);
    r = get_as(k2, "receipts", rct3);
    ck_assert_str_eq(fgt_json_str(&r, "amount_in_words", NULL), "Một triệu không trăm linh năm nghìn đồng");
    fgt_response_free(&r);
    expect_gapless(m2, "BL-26E", 3);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- a bank statement line settles what the feed lost, and issues its receipt ------------------ */

START_TEST(a_statement_line_issues_the_receipt_of_a_transfer_the_feed_lost)
{
    char order[40], code[16], pay[40], rct[48], body[200], url[256];
    new_order(180000, NULL, order, code);
    fgt_response_t r = control("/control/chaos", "{\"lose_ipn\":true}");
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "{\"amount\":180000,\"content\":\"HP %s\",\"transfer_type\":\"in\"}", code);
    r = control("/control/sepay/transfer", body);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.public_id = ? AND p.status = 'succeeded'",
                                order, NULL),
                     0);
    /* the bank's camt.053 of the day, imported by finance; the matching job applies the line */
    snprintf(url, sizeof(url), "%s/control/statement?format=camt053", bank.url);
    fgt_response_t st = fgt_http("GET", url, NULL);
    ck_assert_int_eq(st.status, 200);
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance_token);
    const char *headers[] = {auth, "Content-Type: application/octet-stream", NULL};
    r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements?format=camt.053", headers, st.body, 0);
    ck_assert_msg(r.status == 201 || r.status == 200, "camt.053 import answered %ld: %s", r.status, r.body);
    fgt_response_free(&r);
    fgt_response_free(&st);
    int paid = 0;
    for (int i = 0; i < 300 && !paid; i++) {
        paid = fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                          "WHERE o.public_id = ? AND p.status = 'succeeded'",
                          order, NULL) == 1;
        if (!paid)
            fgt_sleep_ms(100);
    }
    ck_assert_msg(paid, "the statement line did not settle %s in 30 s", order);
    payment_of_order(order, pay);
    receipt_of(key, pay, rct);
    r = get_as(key, "receipts", rct);
    ck_assert_str_eq(fgt_json_str(&r, "method", NULL), "vietqr");
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 180000);
    ck_assert_str_eq(fgt_json_str(&r, "amount_in_words", NULL), "Một trăm tám mươi nghìn đồng");
    fgt_response_free(&r);
    ck_assert_int_eq(receipts_of_payment(pay), 1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- 64 payments at once on two instances ------------------------------------------------------- */

typedef struct {
    const fgt_server_t *s;
    int n;
    fgt_request_t *reqs;
    fgt_response_t *out;
} burst_t;

static void *burst(void *arg)
{
    burst_t *b = arg;
    fgt_request_all(b->s, FGT_HTTP1, b->n, b->n, b->reqs, NULL, NULL, b->out);
    return NULL;
}

START_TEST(concurrent_payments_on_two_instances_are_numbered_without_gap_or_repeat)
{
    char m2[64], k2[64];
    static char orders[CONCURRENT][40], pays[CONCURRENT][40], bodies[CONCURRENT][300], headers[CONCURRENT][200];
    static const char *hdrs[CONCURRENT][2];
    static fgt_request_t reqs[CONCURRENT];
    static fgt_response_t out[CONCURRENT];
    fgt_merchant_create("Trường Tiểu học Đồng Thời", m2, k2);
    for (int i = 0; i < CONCURRENT; i++) {
        new_order_of(k2, 10000 + i, NULL, orders[i], NULL);
        new_payment_of(k2, orders[i], "sandbox", 0, pays[i], NULL);
        sandbox_body(pays[i], fgt_unique("SBX"), 10000 + i, bodies[i], sizeof(bodies[i]), headers[i],
                     sizeof(headers[i]));
        hdrs[i][0] = headers[i];
        hdrs[i][1] = NULL;
        reqs[i] =
            (fgt_request_t){.method = "POST", .path = "/v1/webhooks/sandbox", .headers = hdrs[i], .body = bodies[i]};
    }
    /* half to each instance, both at once */
    burst_t a = {&srv, CONCURRENT / 2, reqs, out},
            b = {&srv2, CONCURRENT / 2, reqs + CONCURRENT / 2, out + CONCURRENT / 2};
    pthread_t ta, tb;
    ck_assert_int_eq(pthread_create(&ta, NULL, burst, &a), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, burst, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    for (int i = 0; i < CONCURRENT; i++) {
        ck_assert_msg(out[i].status == 200, "notification %d: %ld %s", i, out[i].status,
                      out[i].body != NULL ? out[i].body : "");
        fgt_response_free(&out[i]);
    }
    /* every payment has its one receipt, with the payment's amount */
    for (int i = 0; i < CONCURRENT; i++) {
        ck_assert_int_eq(receipts_of_payment(pays[i]), 1);
        char amount[24];
        snprintf(amount, sizeof(amount), "%d", 10000 + i);
        ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM receipts r JOIN payments p ON p.id = r.payment_id "
                                    "WHERE p.public_id = ? AND r.amount = ? AND p.receipt_id = r.public_id",
                                    pays[i], amount),
                         1);
    }
    /* numbers 1..64: consecutive, no gap, no repeat */
    long long numbers[CONCURRENT + 1];
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT r.number FROM receipts r JOIN merchants m ON m.id = r.merchant_id WHERE m.public_id = '%s' "
             "ORDER BY r.number",
             m2);
    int n = fgt_db_ints(sql, numbers, CONCURRENT + 1);
    ck_assert_int_eq(n, CONCURRENT);
    for (int i = 0; i < n; i++)
        ck_assert_msg(numbers[i] == i + 1, "number %d is %lld", i, numbers[i]);
    expect_gapless(m2, "BL-26E", CONCURRENT);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- refunds: an adjustment receipt for each refund made ------------------------------------------ */

static fgt_response_t refund_of(const char *k, const char *payment, long long amount)
{
    char path[128], body[64];
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    snprintf(body, sizeof(body), "{\"amount\":%lld}", amount);
    return fgt_req(&srv, FGT_H2C, "POST", path, k, fgt_unique("rf"), body, 0, NULL);
}

/* A refund the provider made: 201 succeeded, its adjustment's id into out. */
static void refund_made(const char *k, const char *payment, long long amount, char *out)
{
    fgt_response_t r = refund_of(k, payment, amount);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    const char *id = fgt_json_str(&r, "receipt_id", NULL);
    ck_assert_msg(id != NULL && strncmp(id, "rct_", 4) == 0, "a refund without its adjustment: %s", r.body);
    snprintf(out, 48, "%s", id);
    fgt_response_free(&r);
}

/* A VNPay refund made at the provider whose adjustment cannot be numbered
 * (the series is used up): it stays pending for the status job, and its
 * Idempotency-Key keeps that answer, so a retry with the key (even after the
 * key's running lease) never sends a second refund. */
START_TEST(a_refund_that_cannot_be_recorded_stays_pending_under_its_key)
{
    char order[40], pay[40], rct[48], path[128], refund[48], sql[400];
    new_order(150000, NULL, order, NULL);
    vnpay_payment(order, pay);
    vnpay_decide(pay);
    wait_settled(pay);
    receipt_of(key, pay, rct);
    static const char SERIES[] = "receipt_counters c JOIN receipts x ON x.merchant_id = c.merchant_id AND x.serial = "
                                 "c.serial WHERE x.public_id = ?";
    snprintf(sql, sizeof(sql), "SELECT c.last_number FROM %s", SERIES);
    long long last = fgt_db_int(sql, rct, NULL);
    snprintf(sql, sizeof(sql), "UPDATE %s", SERIES);
    char *set = strstr(sql, " WHERE");
    ck_assert_ptr_nonnull(set);
    char update[500];
    snprintf(update, sizeof(update), "%.*s SET c.last_number = 9999999%s", (int)(set - sql), sql, set);
    fgt_db_exec(update, rct);

    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", pay);
    const char *idem = fgt_unique("rfkey");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":50000}", 0, NULL);
    fgt_expect(r, 202, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    snprintf(refund, sizeof(refund), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    /* the key holds that answer (not a running lease that would expire and let the retry refund again) */
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":50000}", 0, NULL);
    fgt_expect(r, 202, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "id", NULL), refund);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id WHERE "
                                "p.public_id = ?",
                                pay, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = ? AND state = 'done'", idem,
                                NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", pay, NULL), 50000);
    snprintf(update, sizeof(update), "%.*s SET c.last_number = %lld%s", (int)(set - sql), sql, last, set);
    fgt_db_exec(update, rct);
}
END_TEST

/* The adjustment as the API reads it: its kind, original, amount and words. */
static void expect_adjustment(const char *k, const char *adjustment, const char *original, long long amount,
                              const char *words)
{
    fgt_response_t r = get_as(k, "receipts", adjustment);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "kind", NULL), "adjustment");
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "issued");
    ck_assert_str_eq(fgt_json_str(&r, "related_id", NULL), original);
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), -amount);
    ck_assert_str_eq(fgt_json_str(&r, "amount_in_words", NULL), words);
    fgt_response_t o = get_as(k, "receipts", original);
    fgt_expect(o, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&o, "kind", NULL), "original");
    ck_assert_str_eq(fgt_json_str(&o, "status", NULL), "adjusted");
    /* the unit, the payer and the fee as the original has them */
    const char *same[][2] = {{"unit", "name"},   {"payer", "name"},    {"payer", "ref"},   {"bill_ref", NULL},
                             {"fee_type", NULL}, {"payment_id", NULL}, {"order_id", NULL}, {"method", NULL}};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        ck_assert_str_eq(fgt_json_str(&r, same[i][0], same[i][1], NULL),
                         fgt_json_str(&o, same[i][0], same[i][1], NULL));
    fgt_response_free(&o);
    fgt_response_free(&r);
}

START_TEST(refunds_issue_adjustments_numbered_in_the_same_series)
{
    char m2[64], k2[64], order[40], pay[40], redirect[1024], original[48], adj1[48], adj2[48], adj3[48];
    char order2[40], pay2[40], original2[48], adj4[48], pending[64];
    fgt_merchant_create("Trường THPT Điều Chỉnh", m2, k2);
    new_order_of(k2, 300000, NULL, order, NULL);
    new_payment_of(k2, order, "vnpay", 0, pay, redirect);
    fgt_response_t page = fgt_http("GET", redirect, NULL);
    ck_assert_msg(page.status == 200, "VNPay's pay page refused our URL (%ld): %s", page.status, page.body);
    fgt_response_free(&page);
    vnpay_decide(pay);
    wait_settled(pay);
    receipt_of(k2, pay, original);
    ck_assert_int_eq(number_of(original), 1);

    /* a partial refund: an adjustment with the next number, the original adjusted */
    refund_made(k2, pay, 100000, adj1);
    ck_assert_int_eq(number_of(adj1), 2);
    expect_adjustment(k2, adj1, original, 100000, "Một trăm nghìn đồng");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM receipts WHERE public_id = ? AND amount = -100000 AND "
                                "related_id = (SELECT id FROM receipts WHERE public_id = ?)",
                                adj1, original),
                     1);
    /* the payment still names its original */
    fgt_response_t r = get_as(k2, "payments", pay);
    ck_assert_str_eq(fgt_json_str(&r, "receipt_id", NULL), original);
    /* and the payer's receipt page shows the original, saying it was adjusted and by which receipt */
    char receipt_path[1200];
    const char *url = fgt_json_str(&r, "receipt_url", NULL);
    snprintf(receipt_path, sizeof(receipt_path), "%s", strstr(url, "/pay/"));
    fgt_response_free(&r);
    r = fgt_request(&srv, FGT_HTTP1, "GET", receipt_path, NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-receipt-number=\"0000001\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-receipt-adjusted"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-adjustment=\"0000002\""));
    fgt_response_free(&r);

    /* a payment in between takes the next number */
    new_order_of(k2, 50000, NULL, order2, NULL);
    new_payment_of(k2, order2, "sandbox", 0, pay2, NULL);
    sandbox_pay(pay2, fgt_unique("SBX"), 50000);
    receipt_of(k2, pay2, original2);
    ck_assert_int_eq(number_of(original2), 3);

    /* a second refund: another adjustment of the same original */
    refund_made(k2, pay, 50000, adj2);
    ck_assert_int_eq(number_of(adj2), 4);
    ck_assert_str_ne(adj1, adj2);
    expect_adjustment(k2, adj2, original, 50000, "Năm mươi nghìn đồng");

    /* VNPay does not answer: pending, no adjustment; the status job then
     * finds it never made: failed, and still none */
    r = control("/control/chaos", "{\"fail_api\":true}");
    fgt_response_free(&r);
    r = refund_of(k2, pay, 30000);
    fgt_expect(r, 202, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    ck_assert(fgt_json_is_null(&r, "receipt_id", NULL));
    snprintf(pending, sizeof(pending), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    reset();
    int failed = 0;
    for (int i = 0; i < 200 && !failed; i++) {
        failed = fgt_db_int("SELECT COUNT(*) FROM refunds WHERE public_id = ? AND status = 'failed'", pending, NULL) ==
                 1;
        if (!failed)
            fgt_sleep_ms(100);
    }
    ck_assert_msg(failed, "refund %s not failed after 20 s", pending);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds WHERE public_id = ? AND receipt_id IS NULL", pending,
                                NULL),
                     1);
    ck_assert_int_eq(receipts_of_payment(pay), 3);

    /* VNPay makes it but its answer is lost: pending; the status job finds
     * it made and records it succeeded, with its adjustment */
    r = control("/control/chaos", "{\"lose_answer\":true}");
    fgt_response_free(&r);
    r = refund_of(k2, pay, 40000);
    fgt_expect(r, 202, NULL);
    ck_assert(fgt_json_is_null(&r, "receipt_id", NULL));
    snprintf(pending, sizeof(pending), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    reset();
    int made = 0;
    for (int i = 0; i < 200 && !made; i++) {
        made = fgt_db_int("SELECT COUNT(*) FROM refunds WHERE public_id = ? AND status = 'succeeded'", pending, NULL) ==
               1;
        if (!made)
            fgt_sleep_ms(100);
    }
    ck_assert_msg(made, "refund %s not succeeded after 20 s", pending);
    char adj_job[48];
    ck_assert(
        fgt_db_str("SELECT receipt_id FROM refunds WHERE public_id = ?", pending, NULL, adj_job, sizeof(adj_job)));
    ck_assert_int_eq(number_of(adj_job), 5);
    expect_adjustment(k2, adj_job, original, 40000, "Bốn mươi nghìn đồng");

    /* the rest of it, then the whole of a payment: adjustments too */
    refund_made(k2, pay, 110000, adj3);
    ck_assert_int_eq(number_of(adj3), 6);
    expect_adjustment(k2, adj3, original, 110000, "Một trăm mười nghìn đồng");
    refund_made(k2, pay2, 50000, adj4);
    ck_assert_int_eq(number_of(adj4), 7);
    expect_adjustment(k2, adj4, original2, 50000, "Năm mươi nghìn đồng");
    ck_assert_int_eq(receipts_of_payment(pay), 5);
    ck_assert_int_eq(receipts_of_payment(pay2), 2);
    /* every refund names its adjustment, which the list of the payment shows */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id "
                                "JOIN receipts x ON x.public_id = f.receipt_id AND x.kind = 'adjustment' "
                                "AND x.amount = -f.amount WHERE p.merchant_id = (SELECT id FROM merchants "
                                "WHERE public_id = ?) AND f.status = 'succeeded'",
                                m2, NULL),
                     5);
    char path[160];
    snprintf(path, sizeof(path), "/v1/receipts?payment_id=%s", pay);
    r = fgt_req(&srv, FGT_H2C, "GET", path, k2, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, adj3));
    ck_assert_ptr_nonnull(strstr(r.body, original));
    fgt_response_free(&r);
    /* no gap and no repeat across payments and refunds */
    expect_gapless(m2, "BL-26E", 7);

    /* the series used up: a refund is not made (nothing written), then is
     * under a new serial, which the adjustment is numbered in */
    char order3[40], pay3[40], original3[48], adj5[48];
    new_order_of(k2, 80000, NULL, order3, NULL);
    new_payment_of(k2, order3, "sandbox", 0, pay3, NULL);
    sandbox_pay(pay3, fgt_unique("SBX"), 80000);
    receipt_of(k2, pay3, original3);
    ck_assert_int_eq(number_of(original3), 8);
    fgt_db_exec("UPDATE receipt_counters SET last_number = 9999999 WHERE serial = 'BL-26E' AND merchant_id = "
                "(SELECT id FROM merchants WHERE public_id = ?)",
                m2);
    long long refunds = fgt_db_int("SELECT COUNT(*) FROM refunds", NULL, NULL);
    r = refund_of(k2, pay3, 20000);
    fgt_expect_error(r, 503, "unavailable", "receipt_series_used_up");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds", NULL, NULL), refunds);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunded + amount_refunding FROM payments WHERE public_id = ?", pay3,
                                NULL),
                     0);
    r = get_as(k2, "receipts", original3);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "issued");
    fgt_response_free(&r);
    ck_assert_int_eq(receipts_of_payment(pay3), 1);
    r = settings(admin_token, m2, NULL, "{\"serial\":\"DC-26E\"}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    refund_made(k2, pay3, 20000, adj5);
    ck_assert_int_eq(number_of(adj5), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM receipts WHERE public_id = ? AND serial = 'DC-26E'", adj5, NULL),
                     1);
    expect_adjustment(k2, adj5, original3, 20000, "Hai mươi nghìn đồng");

    /* a payment that names no receipt (as one that succeeded before receipts
     * existed): its refund is made and adjusts nothing, taking no number */
    char order4[40], pay4[40], none[48];
    new_order_of(k2, 60000, NULL, order4, NULL);
    new_payment_of(k2, order4, "sandbox", 0, pay4, NULL);
    sandbox_pay(pay4, fgt_unique("SBX"), 60000);
    receipt_of(k2, pay4, none);
    ck_assert_int_eq(number_of(none), 2);
    fgt_db_exec("UPDATE payments SET receipt_id = NULL WHERE public_id = ?", pay4);
    r = refund_of(k2, pay4, 60000);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    ck_assert(fgt_json_is_null(&r, "receipt_id", NULL));
    fgt_response_free(&r);
    ck_assert_int_eq(receipts_of_payment(pay4), 1);
    r = get_as(k2, "receipts", none);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "issued");
    fgt_response_free(&r);
    expect_gapless(m2, "DC-26E", 2);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

int main(void)
{
    for (size_t i = 0; i < sizeof(SHARED_ENV) / sizeof(SHARED_ENV[0]); i++)
        setenv(SHARED_ENV[i][0], SHARED_ENV[i][1], 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int http_port = fgt_free_port();
    fgt_banksim_start(&bank, http_port);
    fgt_merchant_create("Trường THCS Biên Lai", mer, key);
    fgt_banksim_feegate_start(&srv, &bank, http_port, NULL);
    /* the second instance runs the status jobs too: it speaks to the same providers */
    static char env2[3][320];
    snprintf(env2[0], sizeof(env2[0]), "FEEGATE_VNPAY_API_URL=%s/vnpay/merchant_webapi/api/transaction", bank.url);
    snprintf(env2[1], sizeof(env2[1]), "FEEGATE_MOMO_ENDPOINT=%s/momo", bank.url);
    snprintf(env2[2], sizeof(env2[2]), "FEEGATE_PAYMENTS_PENDING_QUERY_AFTER_S=2");
    static const char *const srv2_env[] = {env2[0], env2[1], env2[2], NULL};
    fgt_server_start(&srv2, srv2_env);
    fgt_staff_token("admin", admin_token);
    fgt_staff_token("auditor", auditor_token);
    fgt_staff_token("finance", finance_token);

    Suite *s = suite_create("receipts");
    TCase *tc = tcase_create("receipts");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, sandbox_payment_gets_a_receipt_with_every_field);
    tcase_add_test(tc, settings_are_validated_audited_and_keep_each_series);
    tcase_add_test(tc, a_used_up_series_holds_the_receipt_not_the_payment_until_a_new_serial);
    tcase_add_test(tc, each_partial_payment_and_unapplied_money_get_a_receipt);
    tcase_add_test(tc, vnpay_ipn_and_status_query_issue_receipts);
    tcase_add_test(tc, sepay_transfers_issue_receipts_and_a_rollback_leaves_no_gap);
    tcase_add_test(tc, a_statement_line_issues_the_receipt_of_a_transfer_the_feed_lost);
    tcase_add_test(tc, concurrent_payments_on_two_instances_are_numbered_without_gap_or_repeat);
    tcase_add_test(tc, refunds_issue_adjustments_numbered_in_the_same_series);
    tcase_add_test(tc, a_refund_that_cannot_be_recorded_stays_pending_under_its_key);
    suite_add_tcase(s, tc);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv2) != 0)
        rc = 1;
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    fgt_banksim_stop(&bank);
    return rc;
}
