/*
 * test_providers.c - VNPay, MoMo and VietQR (SePay bank feed) end to end: the
 * real feegate against the bank simulator (tests/banksim) over real HTTP, on
 * the private MariaDB.  Success, failure, duplicates, forgeries, wrong
 * amounts, lost notifications settled by the status query, late payments to
 * expired orders, refunds and a provider that is down.  Every scenario ends
 * with `feegate ledger check` and exact balance changes.
 *
 * feegate's public.base_url must be known before it starts (MoMo's ipnUrl is
 * built from it) and banksim must know feegate's port, so this suite picks
 * both ports itself and starts both programs (banksim_client.h).
 */
#define _GNU_SOURCE /* asprintf */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "banksim_client.h"
#include "core/ids.h"
#include "harness.h"
#include "ledger/recon_counts.h"

static fgt_server_t srv;
static fgt_server_t one; /* one database worker: what arrives while it works is taken at once */
static char mer[64], key[64];
static fgt_banksim_t bank;

/* What both programs read (banksim reads feegate's variables). */
static const char *const SHARED_ENV[][2] = {
    {"FEEGATE_VNPAY_TMN_CODE", "TESTTMN1"},
    {"FEEGATE_VNPAY_HASH_SECRET", "TESTSECRETKEY0123456789ABCDEFGHI"},
    {"FEEGATE_MOMO_PARTNER_CODE", "MOMO"},
    {"FEEGATE_MOMO_ACCESS_KEY", "F8BBA842ECF85"},
    {"FEEGATE_MOMO_SECRET_KEY", "K951B6PE1waDMi640xX08PD3vg6EkVlz"},
    {"FEEGATE_SEPAY_API_KEY", "it-sepay-key"},
    {"FEEGATE_VIETQR_BANK_BIN", "970415"},
    {"FEEGATE_VIETQR_ACCOUNT_NO", "0011001932418"},
    /* the feed pays bills from the collection account only (written as a bank may print it) */
    {"FEEGATE_SEPAY_ACCOUNTS", "0099000000001, 001-100-1932-418"},
};

/* ---- banksim's control API -------------------------------------------------------- */

static fgt_response_t control(const char *path, const char *json) { return fgt_banksim_control(&bank, path, json); }

static void chaos(const char *json)
{
    fgt_response_t r = control("/control/chaos", json);
    fgt_response_free(&r);
}

static void reset(void)
{
    fgt_response_t r = control("/control/reset", "{}");
    fgt_response_free(&r);
}

/* The i-th notification answer of a control call ("ipn" or "responses"). */
static yajl_val answer_at(const fgt_response_t *r, const char *list, size_t i)
{
    yajl_val a = fgt_val_at(r->json, list, NULL);
    ck_assert_msg(a != NULL && YAJL_IS_ARRAY(a), "no %s in %s", list, r->body);
    ck_assert_msg(i < a->u.array.len, "%s has %zu answers: %s", list, a->u.array.len, r->body);
    return a->u.array.values[i];
}

static size_t answers(const fgt_response_t *r, const char *list)
{
    yajl_val a = fgt_val_at(r->json, list, NULL);
    return a != NULL && YAJL_IS_ARRAY(a) ? a->u.array.len : 0;
}

static long long answer_status(const fgt_response_t *r, const char *list, size_t i)
{
    yajl_val s = fgt_val_at(answer_at(r, list, i), "status", NULL);
    ck_assert_ptr_nonnull(s);
    return YAJL_GET_INTEGER(s);
}

static const char *answer_body(const fgt_response_t *r, const char *list, size_t i)
{
    const char *b = fgt_val_str(answer_at(r, list, i), "body", NULL);
    return b != NULL ? b : "";
}

/* ---- feegate -------------------------------------------------------------------------- */

static void ledger_holds(void) { ck_assert_int_eq(fgt_ledger_check(), 0); }

/* Signed sum of an account's entries (debit > 0). */
static long long entries(const char *code)
{
    return fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a "
                      "ON a.id = e.account_id WHERE a.code = ?",
                      code, NULL);
}

typedef struct {
    long long merchant, unapplied, clearing;
} balances_t;

static char merchant_account[96];

static balances_t balances(const char *adapter)
{
    char clearing[64];
    snprintf(clearing, sizeof(clearing), "assets:clearing:%s", adapter);
    return (balances_t){-entries(merchant_account), -entries("liabilities:unapplied"), entries(clearing)};
}

static void expect_moved(const balances_t *before, const char *adapter, long long merchant, long long unapplied)
{
    balances_t now = balances(adapter);
    ck_assert_int_eq(now.merchant - before->merchant, merchant);
    ck_assert_int_eq(now.unapplied - before->unapplied, unapplied);
    ck_assert_int_eq(now.clearing - before->clearing, merchant + unapplied);
}

static void new_order(long long amount, const char *extra, char *id, char *code)
{
    char body[600];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":%lld,\"currency\":\"VND\","
             "\"description\":\"Học phí HK1 – lớp 5A\"%s}",
             fgt_unique("PR"), amount, extra != NULL ? extra : "");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    if (code != NULL)
        snprintf(code, 16, "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
}

static fgt_response_t pay(const char *order, const char *method, const char *idem)
{
    char path[128], body[64];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    snprintf(body, sizeof(body), "{\"method\":\"%s\"}", method);
    return fgt_req(&srv, FGT_HTTP1, "POST", path, key, idem, body, 0, NULL);
}

static void new_payment(const char *order, const char *method, char *id, char *redirect)
{
    fgt_response_t r = pay(order, method, fgt_unique("pk"));
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    ck_assert_str_eq(fgt_json_str(&r, "method", NULL), method);
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    if (redirect != NULL)
        snprintf(redirect, 1024, "%s", fgt_json_str(&r, "redirect_url", NULL));
    fgt_response_free(&r);
}

static fgt_response_t get(const char *kind, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/%s/%s", kind, id);
    return fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
}

static void expect_payment(const char *id, const char *status, long long applied, long long unapplied)
{
    fgt_response_t r = get("payments", id);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), status);
    ck_assert_int_eq(fgt_json_int(&r, "amount_applied", NULL), applied);
    ck_assert_int_eq(fgt_json_int(&r, "amount_unapplied", NULL), unapplied);
    fgt_response_free(&r);
}

static void expect_order(const char *id, const char *status, long long paid)
{
    fgt_response_t r = get("orders", id);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), status);
    ck_assert_int_eq(fgt_json_int(&r, "amount_paid", NULL), paid);
    fgt_response_free(&r);
}

static long long postings(const char *payment)
{
    return fgt_db_int("SELECT COUNT(*) FROM journals j JOIN payments p ON p.id = j.payment_id "
                      "WHERE p.public_id = ? AND j.kind = 'payment'",
                      payment, NULL);
}

/* Waits until the payment leaves 'pending' (the query job), at most 20 s. */
static void wait_settled(const char *payment)
{
    for (int i = 0; i < 200; i++) {
        fgt_response_t r = get("payments", payment);
        int pending = strcmp(fgt_json_str(&r, "status", NULL), "pending") == 0;
        fgt_response_free(&r);
        if (!pending)
            return;
        fgt_sleep_ms(100);
    }
    ck_abort_msg("payment %s still pending after 20 s", payment);
}

/* A VNPay payment whose pay page the payer opened (banksim then knows it). */
static void vnpay_payment(const char *order, char *id)
{
    char redirect[1024];
    new_payment(order, "vnpay", id, redirect);
    ck_assert_msg(strncmp(redirect, bank.url, strlen(bank.url)) == 0, "redirect_url %s", redirect);
    fgt_response_t page = fgt_http("GET", redirect, NULL);
    ck_assert_msg(page.status == 200, "VNPay's pay page refused our URL (%ld): %s", page.status, page.body);
    fgt_response_free(&page);
}

static fgt_response_t vnpay_decide(const char *payment, const char *outcome)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"txn_ref\":\"%s\",\"outcome\":\"%s\"}", payment, outcome);
    return control("/control/vnpay/pay", body);
}

static fgt_response_t momo_decide(const char *payment, const char *outcome)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"order_id\":\"%s\",\"outcome\":\"%s\"}", payment, outcome);
    return control("/control/momo/pay", body);
}

static fgt_response_t transfer(long long amount, const char *content, const char *type)
{
    char body[600];
    snprintf(body, sizeof(body), "{\"amount\":%lld,\"content\":\"%s\",\"transfer_type\":\"%s\"}", amount, content,
             type);
    return control("/control/sepay/transfer", body);
}

static void expect_rsp(const fgt_response_t *r, size_t i, const char *code)
{
    char expected[32];
    snprintf(expected, sizeof(expected), "\"RspCode\":\"%s\"", code);
    ck_assert_int_eq(answer_status(r, "ipn", i), 200);
    ck_assert_msg(strstr(answer_body(r, "ipn", i), expected) != NULL, "IPN %zu answered %s, expected %s", i,
                  answer_body(r, "ipn", i), code);
}

/* Waits until a refund reaches status (the status job), at most 20 s. */
static void wait_refund(const char *refund, const char *status)
{
    for (int i = 0; i < 200; i++) {
        if (fgt_db_int("SELECT COUNT(*) FROM refunds WHERE public_id = ? AND status = ?", refund, status) == 1)
            return;
        fgt_sleep_ms(100);
    }
    ck_abort_msg("refund %s not %s after 20 s", refund, status);
}

static void setup(void) { reset(); }

/* ---- VNPay ------------------------------------------------------------------------------ */

START_TEST(vnpay_success_with_concurrent_duplicates_applies_once)
{
    char order[40], code[16], payment[40];
    balances_t before = balances("vnpay");
    new_order(150000, NULL, order, code);
    vnpay_payment(order, payment);
    chaos("{\"duplicate\":5,\"concurrent\":true}");
    fgt_response_t r = vnpay_decide(payment, "approve");
    ck_assert_uint_eq(answers(&r, "ipn"), 5);
    int confirmed = 0;
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(answer_status(&r, "ipn", i), 200);
        const char *body = answer_body(&r, "ipn", i);
        confirmed += strstr(body, "\"RspCode\":\"00\"") != NULL;
        ck_assert_msg(strstr(body, "\"RspCode\":\"00\"") || strstr(body, "\"RspCode\":\"02\""), "%s", body);
    }
    ck_assert_int_eq(confirmed, 1);
    expect_payment(payment, "succeeded", 150000, 0);
    expect_order(order, "paid", 150000);
    ck_assert_int_eq(postings(payment), 1);
    expect_moved(&before, "vnpay", 150000, 0);

    /* the return page verifies the signature and sends the payer to the receipt, which shows our database */
    const char *return_url = fgt_json_str(&r, "return_url", NULL);
    ck_assert_ptr_nonnull(return_url);
    ck_assert_ptr_nonnull(strstr(return_url, "/pay/return/vnpay?"));
    fgt_response_t page = fgt_request(&srv, FGT_HTTP1, "GET", strstr(return_url, "/pay/return/"), NULL, NULL, 0);
    ck_assert_int_eq(page.status, 303);
    char receipt[256];
    snprintf(receipt, sizeof(receipt), "/pay/%s/receipt?payment=%s", code, payment);
    ck_assert_str_eq(fgt_header(&page, "location"), receipt);
    fgt_response_free(&page);
    page = fgt_request(&srv, FGT_HTTP1, "GET", receipt, NULL, NULL, 0);
    ck_assert_int_eq(page.status, 200);
    ck_assert_ptr_nonnull(strstr(page.body, "data-status=\"paid\""));
    fgt_response_free(&page);
    char *forged = strdup(return_url);
    char *amount = strstr(forged, "vnp_Amount=") + 11;
    *amount = *amount == '9' ? '8' : '9';
    page = fgt_http("GET", forged, NULL);
    ck_assert_int_eq(page.status, 400);
    fgt_response_free(&page);
    free(forged);
    fgt_response_free(&r);
    ledger_holds();
}
END_TEST

START_TEST(vnpay_decline_forgery_and_reordered_failure)
{
    char order[40], payment[40], other_order[40], other[40];
    balances_t before = balances("vnpay");
    new_order(90000, NULL, order, NULL);
    vnpay_payment(order, payment);
    fgt_response_t r = vnpay_decide(payment, "decline");
    expect_rsp(&r, 0, "00"); /* a recorded failure is confirmed */
    fgt_response_free(&r);
    expect_payment(payment, "failed", 0, 0);
    expect_order(order, "open", 0);
    ck_assert_int_eq(postings(payment), 0);

    /* a forged approval: 97, nothing changes */
    new_order(120000, NULL, other_order, NULL);
    vnpay_payment(other_order, other);
    chaos("{\"forge\":true}");
    r = vnpay_decide(other, "approve");
    expect_rsp(&r, 0, "97");
    fgt_response_free(&r);
    expect_payment(other, "pending", 0, 0);
    reset();
    /* the real approval followed by a stale failure of an earlier attempt */
    chaos("{\"reorder\":true}");
    r = vnpay_decide(other, "approve");
    ck_assert_uint_eq(answers(&r, "ipn"), 2);
    expect_rsp(&r, 0, "00");
    expect_rsp(&r, 1, "02");
    fgt_response_free(&r);
    expect_payment(other, "succeeded", 120000, 0);
    expect_order(other_order, "paid", 120000);
    expect_moved(&before, "vnpay", 120000, 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'vnpay' AND status = 'rejected' "
                                "AND query LIKE CONCAT('%', ?, '%')",
                                other, NULL),
                     1);
    ledger_holds();
}
END_TEST

START_TEST(vnpay_wrong_amount_is_applied_and_answered_04)
{
    char order[40], payment[40];
    balances_t before = balances("vnpay");
    new_order(150000, NULL, order, NULL);
    vnpay_payment(order, payment);
    chaos("{\"amount_delta\":10000}");
    fgt_response_t r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "04");
    fgt_response_free(&r);
    /* the money exists: the order takes what it owed, the excess is unapplied */
    expect_payment(payment, "succeeded", 150000, 10000);
    expect_order(order, "paid", 150000);
    expect_moved(&before, "vnpay", 150000, 10000);
    /* VNPay retries: a duplicate, 02, no second posting */
    reset();
    r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "02");
    fgt_response_free(&r);
    ck_assert_int_eq(postings(payment), 1);
    ledger_holds();
}
END_TEST

START_TEST(vnpay_lost_ipn_is_settled_by_querydr)
{
    char order[40], payment[40];
    balances_t before = balances("vnpay");
    new_order(210000, NULL, order, NULL);
    vnpay_payment(order, payment);
    chaos("{\"lose_ipn\":true}");
    fgt_response_t r = vnpay_decide(payment, "approve");
    ck_assert_uint_eq(answers(&r, "ipn"), 0);
    fgt_response_free(&r);
    wait_settled(payment);
    expect_payment(payment, "succeeded", 210000, 0);
    expect_order(order, "paid", 210000);
    expect_moved(&before, "vnpay", 210000, 0);
    /* the IPN arrives after all: already confirmed */
    reset();
    r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "02");
    fgt_response_free(&r);
    ck_assert_int_eq(postings(payment), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'vnpay' AND status = 'applied' "
                                "AND provider_event_id LIKE CONCAT(?, ':%')",
                                payment, NULL),
                     1);
    ledger_holds();
}
END_TEST

/* A payer who opened VNPay's page and walked away: VNPay calls the transaction unfinished for
 * ever. Once payments.pending_expire_after_s (a day) has passed since it began (its 15-minute
 * window long over), the status job expires it instead of asking again every 6 hours for ever. */
START_TEST(a_payment_unfinished_for_a_day_is_expired)
{
    char order[40], payment[40];
    /* an instance that gives up after 6 s (a day by default) beside the suite's two */
    static const char *const env[] = {"FEEGATE_PAYMENTS_PENDING_EXPIRE_AFTER_S=6", NULL};
    fgt_server_t mine;
    fgt_banksim_feegate_start(&mine, &bank, fgt_free_port(), env);
    new_order(95000, NULL, order, NULL);
    vnpay_payment(order, payment); /* opened, never decided */
    /* asked about (from 2 s on), still unfinished: pending */
    for (int i = 0; i < 50 && fgt_db_int("SELECT query_count FROM payments WHERE public_id = ?", payment, NULL) == 0;
         i++)
        fgt_sleep_ms(100);
    ck_assert_int_ge(fgt_db_int("SELECT query_count FROM payments WHERE public_id = ?", payment, NULL), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'pending'", payment,
                                NULL),
                     1);
    /* after 6 s, the instance that gives up asks about it (kept due, so that every instance's job
     * keeps claiming it and that one soon does; the suite's keep it pending): expired */
    for (int i = 0; i < 300 && fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'expired'",
                                          payment, NULL) == 0;
         i++) {
        fgt_db_exec("UPDATE payments SET next_query_at = NULL WHERE public_id = ? AND status = 'pending'", payment);
        fgt_sleep_ms(100);
    }
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'expired' AND "
                                "failure_reason LIKE 'still unfinished at the provider%'",
                                payment, NULL),
                     1);
    expect_order(order, "open", 0);
    ck_assert_int_eq(fgt_server_stop(&mine), 0);
    ledger_holds();
}
END_TEST

START_TEST(vnpay_late_payment_to_an_expired_order_is_unapplied)
{
    char order[40], payment[40], extra[96], expires[40];
    time_t t = time(NULL) + 3;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(extra, sizeof(extra), ",\"expires_at\":\"%s\"", expires);
    balances_t before = balances("vnpay");
    new_order(175000, extra, order, NULL);
    vnpay_payment(order, payment);
    fgt_sleep_ms(4000);
    fgt_response_t r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "00");
    fgt_response_free(&r);
    expect_payment(payment, "succeeded", 0, 175000);
    expect_order(order, "expired", 0);
    expect_moved(&before, "vnpay", 0, 175000);
    ledger_holds();
}
END_TEST

START_TEST(vnpay_refund_and_a_provider_that_is_down)
{
    char order[40], payment[40], path[128];
    new_order(300000, NULL, order, NULL);
    vnpay_payment(order, payment);
    fgt_response_t r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "00");
    fgt_response_free(&r);
    balances_t before = balances("vnpay");
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    const char *idem = fgt_unique("rf");
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":100000,\"reason\":\"nộp thừa\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    char first[600];
    snprintf(first, sizeof(first), "%s", r.body);
    fgt_response_free(&r);
    expect_moved(&before, "vnpay", -100000, 0);
    /* the same key replays the answer; the refund is not made twice */
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":100000,\"reason\":\"nộp thừa\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(r.body, first);
    ck_assert_str_eq(fgt_header(&r, "idempotent-replayed"), "true");
    fgt_response_free(&r);
    expect_moved(&before, "vnpay", -100000, 0);
    /* VNPay answers 500: the refund may have been made, so it stays pending
     * and reserved (202), and the key keeps that answer */
    chaos("{\"fail_api\":true}");
    idem = fgt_unique("rf");
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":50000}", 0, NULL);
    fgt_expect(r, 202, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    char pending_id[64];
    snprintf(pending_id, sizeof(pending_id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    expect_moved(&before, "vnpay", -100000, 0);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", payment, NULL), 50000);
    reset();
    /* the status job asks VNPay, which never made it: failed, reservation released */
    wait_refund(pending_id, "failed");
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", payment, NULL), 0);
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, fgt_unique("rf"), "{\"amount\":50000}", 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    expect_moved(&before, "vnpay", -150000, 0);
    /* beyond what is refundable: refused before the provider */
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, NULL, "{\"amount\":150001}", 0, NULL);
    fgt_expect_error(r, 422, "invalid_request", "refund_exceeds_refundable");
    fgt_response_free(&r);
    expect_order(order, "paid", 300000);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunded FROM orders WHERE public_id = ?", order, NULL), 150000);
    ledger_holds();
}
END_TEST

/* ---- MoMo ------------------------------------------------------------------------------- */

START_TEST(momo_success_duplicates_forgery_and_refund)
{
    char order[40], payment[40], redirect[1024], path[128];
    balances_t before = balances("momo");
    new_order(50000, NULL, order, NULL);
    new_payment(order, "momo", payment, redirect);
    char expected[160];
    snprintf(expected, sizeof(expected), "%s/momo/pay/%s", bank.url, payment);
    ck_assert_str_eq(redirect, expected); /* MoMo's payUrl */
    chaos("{\"forge\":true}");
    fgt_response_t r = momo_decide(payment, "approve");
    ck_assert_int_eq(answer_status(&r, "ipn", 0), 401);
    fgt_response_free(&r);
    expect_payment(payment, "pending", 0, 0);
    reset();
    chaos("{\"duplicate\":4,\"concurrent\":true}");
    r = momo_decide(payment, "approve");
    ck_assert_uint_eq(answers(&r, "ipn"), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(answer_status(&r, "ipn", i), 204);
    fgt_response_free(&r);
    expect_payment(payment, "succeeded", 50000, 0);
    expect_order(order, "paid", 50000);
    ck_assert_int_eq(postings(payment), 1);
    expect_moved(&before, "momo", 50000, 0);
    reset();
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, fgt_unique("rf"), "{\"amount\":20000}", 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    fgt_response_free(&r);
    expect_moved(&before, "momo", 30000, 0);
    /* below MoMo's minimum: refused before the call */
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, NULL, "{\"amount\":500}", 0, NULL);
    fgt_expect_error(r, 422, "invalid_request", "amount_out_of_range");
    fgt_response_free(&r);
    ledger_holds();
}
END_TEST

START_TEST(momo_decline_wrong_amount_and_lost_ipn)
{
    char order[40], payment[40], order2[40], payment2[40], order3[40], payment3[40];
    balances_t before = balances("momo");
    new_order(60000, NULL, order, NULL);
    new_payment(order, "momo", payment, NULL);
    fgt_response_t r = momo_decide(payment, "decline");
    ck_assert_int_eq(answer_status(&r, "ipn", 0), 204);
    fgt_response_free(&r);
    expect_payment(payment, "failed", 0, 0);
    expect_order(order, "open", 0);

    new_order(70000, NULL, order2, NULL);
    new_payment(order2, "momo", payment2, NULL);
    chaos("{\"amount_delta\":-5000}");
    r = momo_decide(payment2, "approve");
    ck_assert_int_eq(answer_status(&r, "ipn", 0), 204);
    fgt_response_free(&r);
    /* 65,000 for a 70,000 bill that takes no partial payment: all unapplied */
    expect_payment(payment2, "succeeded", 0, 65000);
    expect_order(order2, "open", 0);
    reset();

    new_order(80000, NULL, order3, NULL);
    new_payment(order3, "momo", payment3, NULL);
    chaos("{\"lose_ipn\":true}");
    r = momo_decide(payment3, "approve");
    ck_assert_uint_eq(answers(&r, "ipn"), 0);
    fgt_response_free(&r);
    wait_settled(payment3);
    expect_payment(payment3, "succeeded", 80000, 0);
    expect_order(order3, "paid", 80000);
    expect_moved(&before, "momo", 80000, 65000);
    ledger_holds();
}
END_TEST

START_TEST(momo_down_leaves_the_payment_pending_and_the_key_retryable)
{
    char order[40];
    new_order(45000, NULL, order, NULL);
    const char *idem = fgt_unique("pk");
    chaos("{\"fail_api\":true}");
    fgt_response_t r = pay(order, "momo", idem);
    fgt_expect_error(r, 502, "unavailable", "provider_unavailable");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.public_id = ? AND p.status = 'pending'",
                                order, NULL),
                     1);
    reset();
    r = pay(order, "momo", idem);
    fgt_expect(r, 201, NULL);
    ck_assert_ptr_nonnull(fgt_json_str(&r, "redirect_url", NULL));
    fgt_response_free(&r);
    /* a payment MoMo never saw is found out by the query job: expired */
    for (int i = 0; i < 100 && fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                          "WHERE o.public_id = ? AND p.status = 'expired'",
                                          order, NULL) == 0;
         i++)
        fgt_sleep_ms(100);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.public_id = ? AND p.status = 'expired'",
                                order, NULL),
                     1);
    /* out of MoMo's range: refused, nothing written */
    char small[40];
    new_order(500, NULL, small, NULL);
    r = pay(small, "momo", NULL);
    fgt_expect_error(r, 422, "invalid_request", "amount_out_of_range");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.public_id = ?",
                                small, NULL),
                     0);
    ledger_holds();
}
END_TEST

START_TEST(momo_create_in_flight_answers_409_to_the_same_key)
{
    char auth[128], idem_header[128], order2[40], path2[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    snprintf(idem_header, sizeof(idem_header), "Idempotency-Key: %s", fgt_unique("slow"));
    const char *headers[] = {auth, idem_header, "Content-Type: application/json", NULL};
    fgt_response_t again;
    /* MoMo answers slowly: two requests with one key at once; one runs, the other finds it running */
    chaos("{\"delay_ms\":1500}");
    new_order(41000, NULL, order2, NULL);
    snprintf(path2, sizeof(path2), "/v1/orders/%s/payments", order2);
    fgt_request_t two[2] = {{"POST", path2, headers, "{\"method\":\"momo\"}", 0, NULL},
                            {"POST", path2, headers, "{\"method\":\"momo\"}", 0, NULL}};
    fgt_response_t both[2];
    fgt_request_all(&srv, FGT_HTTP1, 2, 2, two, NULL, NULL, both);
    int created = 0, in_progress = 0;
    for (int i = 0; i < 2; i++) {
        created += both[i].status == 201;
        if (both[i].status == 409) {
            fgt_expect_error(both[i], 409, "idempotency", "idempotency_key_in_progress");
            in_progress++;
        }
    }
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(in_progress, 1);
    /* once done, the key replays the stored answer */
    again = fgt_req(&srv, FGT_HTTP1, "POST", path2, key, idem_header + strlen("Idempotency-Key: "),
                    "{\"method\":\"momo\"}", 0, NULL);
    fgt_expect(again, 201, NULL);
    ck_assert_str_eq(fgt_header(&again, "idempotent-replayed"), "true");
    ck_assert_str_eq(again.body, both[both[0].status == 201 ? 0 : 1].body);
    fgt_response_free(&again);
    fgt_response_free(&both[0]);
    fgt_response_free(&both[1]);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.public_id = ?",
                                order2, NULL),
                     1);
    ledger_holds();
}
END_TEST

/* ---- VietQR and the SePay bank feed --------------------------------------------------------- */

START_TEST(vietqr_transfer_settles_the_order_by_its_memo)
{
    char order[40], code[16], payment[40], memo[128], lower[16];
    balances_t before = balances("vietqr");
    new_order(250000, NULL, order, code);
    fgt_response_t r = pay(order, "vietqr", fgt_unique("pk"));
    fgt_expect(r, 201, NULL);
    snprintf(payment, sizeof(payment), "%s", fgt_json_str(&r, "id", NULL));
    const char *payload = fgt_json_str(&r, "qr", "payload", NULL);
    ck_assert_ptr_nonnull(payload);
    ck_assert_ptr_nonnull(strstr(payload, "0006970415"));
    ck_assert_ptr_nonnull(strstr(payload, "5406250000"));
    ck_assert_ptr_nonnull(strstr(payload, code));
    /* read back, the payment still carries its QR (rebuilt: the same payload) and the bill's page */
    fgt_response_t again = get("payments", payment);
    ck_assert_str_eq(again.body, r.body);
    fgt_response_free(&again);
    fgt_response_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/pay/%s/qr.svg", code);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, NULL, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "<svg"));
    ck_assert_str_eq(fgt_header(&r, "content-type"), "image/svg+xml");
    fgt_response_free(&r);
    /* the payer typed the code in lower case, split with a dash */
    for (int i = 0; code[i] != '\0'; i++)
        lower[i] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] + 32 : code[i]), lower[i + 1] = '\0';
    snprintf(memo, sizeof(memo), "MBVCB.123 HP %.5s-%s NGUYEN VAN A", lower, lower + 5);
    r = transfer(250000, memo, "in");
    ck_assert_int_eq(answer_status(&r, "responses", 0), 200);
    ck_assert_str_eq(answer_body(&r, "responses", 0), "{\"success\":true}");
    fgt_response_free(&r);
    expect_payment(payment, "succeeded", 250000, 0); /* the QR's own payment */
    /* paid: nothing more to pay through it */
    r = get("payments", payment);
    ck_assert_ptr_null(fgt_val_at(r.json, "qr", NULL));
    ck_assert_ptr_null(fgt_val_at(r.json, "redirect_url", NULL));
    fgt_response_free(&r);
    expect_order(order, "paid", 250000);
    expect_moved(&before, "vietqr", 250000, 0);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, NULL, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 410); /* nothing left to pay */
    fgt_response_free(&r);
    ledger_holds();
}
END_TEST

/* A pending VNPay or MoMo payment read back carries the URL its create answered, the same bytes
 * (VNPay's is signed with its create time: never signed again), while the provider's page is open;
 * after the window it is left out, and the payment is the same otherwise. */
START_TEST(a_provider_page_is_offered_again_only_within_its_window)
{
    static const char *const METHODS[] = {"vnpay", "momo"};
    for (size_t i = 0; i < sizeof(METHODS) / sizeof(METHODS[0]); i++) {
        char order[40], payment[40], redirect[1024];
        new_order(90000, NULL, order, NULL);
        new_payment(order, METHODS[i], payment, redirect);
        fgt_response_t r = get("payments", payment);
        fgt_expect(r, 200, NULL);
        ck_assert_str_eq(fgt_json_str(&r, "redirect_url", NULL), redirect);
        ck_assert_ptr_null(fgt_val_at(r.json, "qr", NULL));
        fgt_response_free(&r);
        /* sixteen minutes on (the status job told to leave it alone meanwhile): VNPay's
         * vnp_ExpireDate has passed */
        fgt_db_exec("UPDATE payments SET created_at = created_at - 960000, next_query_at = 9000000000000 "
                    "WHERE public_id = ?",
                    payment);
        r = get("payments", payment);
        fgt_expect(r, 200, NULL);
        ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
        ck_assert_ptr_null(fgt_val_at(r.json, "redirect_url", NULL));
        fgt_response_free(&r);
        /* back to its start as written (the change feed holds it so) */
        fgt_db_exec("UPDATE payments SET created_at = created_at + 960000, next_query_at = NULL WHERE public_id = ?",
                    payment);
        char stored[1024];
        ck_assert(
            fgt_db_str("SELECT redirect_url FROM payments WHERE public_id = ?", payment, NULL, stored, sizeof(stored)));
        ck_assert_str_eq(stored, redirect); /* kept as it was */
    }
}
END_TEST

START_TEST(vietqr_duplicates_forgery_unknown_memo_and_outgoing)
{
    char order[40], code[16], memo[128];
    balances_t before = balances("vietqr");
    new_order(99000, NULL, order, code);
    snprintf(memo, sizeof(memo), "nop tien %s", code);
    /* a forged key: refused, nothing */
    chaos("{\"forge\":true}");
    fgt_response_t r = transfer(99000, memo, "in");
    ck_assert_int_eq(answer_status(&r, "responses", 0), 401);
    fgt_response_free(&r);
    expect_order(order, "open", 0);
    reset();
    /* one transfer delivered 6 times at once: one effect, the same answer */
    chaos("{\"duplicate\":6,\"concurrent\":true}");
    r = transfer(99000, memo, "in");
    ck_assert_uint_eq(answers(&r, "responses"), 6);
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(answer_status(&r, "responses", i), 200);
        ck_assert_str_eq(answer_body(&r, "responses", i), "{\"success\":true}");
    }
    fgt_response_free(&r);
    reset();
    expect_order(order, "paid", 99000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.public_id = ? AND p.status = 'succeeded'",
                                order, NULL),
                     1);
    /* money for no order: kept as unapplied, never dropped */
    r = transfer(33000, "ung ho quy khuyen hoc", "in");
    ck_assert_int_eq(answer_status(&r, "responses", 0), 200);
    fgt_response_free(&r);
    /* a code with a wrong check symbol names no order */
    char wrong[16];
    snprintf(wrong, sizeof(wrong), "%s", code);
    wrong[10] = wrong[10] == '0' ? '1' : '0';
    snprintf(memo, sizeof(memo), "HP %s", wrong);
    r = transfer(1000, memo, "in");
    ck_assert_int_eq(answer_status(&r, "responses", 0), 200);
    fgt_response_free(&r);
    /* an outgoing transfer credits nothing */
    r = transfer(5000, "chi tra", "out");
    ck_assert_int_eq(answer_status(&r, "responses", 0), 200);
    fgt_response_free(&r);
    /* nor one on another account the feed watches, though its memo names an open bill */
    char other[40], other_code[16], body[400];
    new_order(45000, NULL, other, other_code);
    snprintf(body, sizeof(body),
             "{\"amount\":45000,\"content\":\"HP %s\",\"transfer_type\":\"in\",\"account_no\":\"0991000099999\"}",
             other_code);
    r = control("/control/sepay/transfer", body);
    ck_assert_int_eq(answer_status(&r, "responses", 0), 200);
    fgt_response_free(&r);
    expect_order(other, "open", 0);
    ck_assert_int_eq(
        fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'vietqr' AND reason LIKE "
                   "'transfer to an account sepay.accounts does not list%' AND body LIKE CONCAT('%', ?, '%')",
                   other_code, NULL),
        1);
    /* nor one whose account is no account number: kept as sent, no statement could show it under
     * the same key, and its line would pay the bill again */
    snprintf(body, sizeof(body),
             "{\"amount\":45000,\"content\":\"HP %s\",\"transfer_type\":\"in\",\"account_no\":\"VCB/0011001932418\"}",
             other_code);
    r = control("/control/sepay/transfer", body);
    ck_assert_int_eq(answer_status(&r, "responses", 0), 200);
    fgt_response_free(&r);
    expect_order(other, "open", 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'vietqr' AND reason LIKE "
                                "'accountNumber is not an account number%' AND body LIKE CONCAT('%', ?, '%')",
                                other_code, NULL),
                     1);
    expect_moved(&before, "vietqr", 99000, 34000);
    ledger_holds();
}
END_TEST

START_TEST(vietqr_late_and_short_transfers_are_unapplied)
{
    char order[40], code[16], memo[64], extra[96], expires[40], order2[40], code2[16];
    time_t t = time(NULL) + 2;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(extra, sizeof(extra), ",\"expires_at\":\"%s\"", expires);
    balances_t before = balances("vietqr");
    new_order(120000, extra, order, code);
    new_order(130000, NULL, order2, code2);
    fgt_sleep_ms(3000);
    snprintf(memo, sizeof(memo), "%s", code);
    fgt_response_t r = transfer(120000, memo, "in");
    ck_assert_int_eq(answer_status(&r, "responses", 0), 200);
    fgt_response_free(&r);
    expect_order(order, "expired", 0);
    snprintf(memo, sizeof(memo), "tra tien %s", code2);
    r = transfer(100000, memo, "in"); /* short, and the order takes no partial payment */
    ck_assert_int_eq(answer_status(&r, "responses", 0), 200);
    fgt_response_free(&r);
    expect_order(order2, "open", 0);
    expect_moved(&before, "vietqr", 0, 220000);
    ledger_holds();
}
END_TEST

/* ---- refunds whose outcome is unknown ---------------------------------------------------- */

/* banksim's newest log sequence number. */
static long long log_seq(void)
{
    char url[160];
    snprintf(url, sizeof(url), "%s/control/log?since=9000000000000000000", bank.url);
    fgt_response_t r = fgt_http("GET", url, NULL);
    ck_assert_int_eq(r.status, 200);
    yajl_val seq = fgt_val_at(r.json, "last_seq", NULL);
    long long n = seq != NULL && YAJL_IS_INTEGER(seq) ? YAJL_GET_INTEGER(seq) : 0;
    fgt_response_free(&r);
    return n;
}

/* banksim's log entries of kind after since whose request holds needle;
 * the request bodies of the last one into last (may be NULL). */
static int log_count(long long since, const char *kind, const char *needle, char *last, size_t cap)
{
    char url[160];
    int n = 0;
    snprintf(url, sizeof(url), "%s/control/log?since=%lld", bank.url, since);
    fgt_response_t r = fgt_http("GET", url, NULL);
    ck_assert_int_eq(r.status, 200);
    yajl_val entries = fgt_val_at(r.json, "entries", NULL);
    ck_assert_msg(entries != NULL && YAJL_IS_ARRAY(entries), "%s", r.body);
    for (size_t i = 0; i < entries->u.array.len; i++) {
        const char *k = fgt_val_str(entries->u.array.values[i], "kind", NULL);
        const char *req = fgt_val_str(entries->u.array.values[i], "request", NULL);
        if (k == NULL || strcmp(k, kind) != 0 || (needle != NULL && (req == NULL || strstr(req, needle) == NULL)))
            continue;
        n++;
        if (last != NULL)
            snprintf(last, cap, "%s", req != NULL ? req : "");
    }
    fgt_response_free(&r);
    return n;
}

START_TEST(vnpay_refund_with_a_lost_answer_is_made_once_and_settled_later)
{
    char order[40], payment[40], path[128], refund[64], first[800];
    new_order(200000, NULL, order, NULL);
    vnpay_payment(order, payment);
    fgt_response_t r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "00");
    fgt_response_free(&r);
    balances_t before = balances("vnpay");
    long long seq = log_seq();
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    const char *idem = fgt_unique("rf");
    /* VNPay makes the refund but its answer is lost (HTTP 500 after the fact) */
    chaos("{\"lose_answer\":true}");
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":200000}", 0, NULL);
    fgt_expect(r, 202, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    snprintf(refund, sizeof(refund), "%s", fgt_json_str(&r, "id", NULL));
    snprintf(first, sizeof(first), "%s", r.body);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", payment, NULL), 200000);
    expect_moved(&before, "vnpay", 0, 0);
    /* the merchant retries with the same key: the pending answer, no second refund */
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":200000}", 0, NULL);
    fgt_expect(r, 202, NULL);
    ck_assert_str_eq(r.body, first);
    ck_assert_str_eq(fgt_header(&r, "idempotent-replayed"), "true");
    fgt_response_free(&r);
    /* nothing more is refundable while it is pending */
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, fgt_unique("rf"), "{\"amount\":1000}", 0, NULL);
    fgt_expect_error(r, 422, "invalid_request", "refund_exceeds_refundable");
    fgt_response_free(&r);
    reset();
    /* the status job asks VNPay about the refund and settles it */
    wait_refund(refund, "succeeded");
    char body[1024];
    ck_assert_int_eq(log_count(seq, "vnpay.refund", payment, body, sizeof(body)), 1);
    ck_assert_ptr_nonnull(strstr(body, "\"vnp_TransactionType\":\"02\"")); /* the first refund, of everything */
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", payment, NULL), 0);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunded FROM payments WHERE public_id = ?", payment, NULL), 200000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals j JOIN refunds f ON f.id = j.refund_id "
                                "WHERE f.public_id = ?",
                                refund, NULL),
                     1);
    expect_moved(&before, "vnpay", -200000, 0);
    char like[80];
    snprintf(like, sizeof(like), "%%%s%%", refund);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE type = 'refund.succeeded' AND payload LIKE ?", like,
                                NULL),
                     1);
    ledger_holds();
}
END_TEST

typedef struct {
    const fgt_server_t *s;
    const char *path, *idem;
    long status;
} refund_call_t;

static void *refund_thread(void *arg)
{
    refund_call_t *c = arg;
    fgt_response_t r = fgt_req(c->s, FGT_H2C, "POST", c->path, key, c->idem, "{\"amount\":50000}", 0, NULL);
    c->status = r.status;
    fgt_response_free(&r);
    return NULL;
}

/* The server dies while VNPay is asked for a refund (the refund is begun,
 * the answer never recorded), and the merchant retries with the same
 * Idempotency-Key once the key's lease has run out: the answer is that
 * refund as it stands, never a second refund sent to VNPay (a third of the
 * payment: a second would fit). */
START_TEST(a_refund_retried_after_a_crash_is_the_same_refund)
{
    char order[40], payment[40], path[128];
    static const char *const env[] = {"FEEGATE_RECON_LEDGER_ONLY_AFTER_DAYS=0", "FEEGATE_RECON_CLOSE_AFTER_HOUR=0",
                                      NULL};
    fgt_server_t mine;
    int port = fgt_free_port();
    fgt_banksim_feegate_start(&mine, &bank, port, env);
    new_order(150000, NULL, order, NULL);
    vnpay_payment(order, payment);
    fgt_response_t r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "00");
    fgt_response_free(&r);
    long long seq = log_seq();
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    const char *idem = fgt_unique("rf");
    chaos("{\"delay_ms\":4000}"); /* VNPay answers the refund after 4 s */
    refund_call_t call = {&mine, path, idem, 0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, refund_thread, &call), 0);
    for (int i = 0; i < 300 && fgt_db_int("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id "
                                          "WHERE p.public_id = ?",
                                          payment, NULL) == 0;
         i++)
        fgt_sleep_ms(10);
    fgt_sleep_ms(300); /* the refund is committed and VNPay is being asked */
    kill(mine.pid, SIGKILL);
    waitpid(mine.pid, NULL, 0);
    mine.pid = 0;
    pthread_join(t, NULL);
    ck_assert_int_eq(call.status, 0); /* never answered */
    long long refunds = fgt_db_int("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id WHERE "
                                   "p.public_id = ?",
                                   payment, NULL);
    ck_assert_int_eq(refunds, 1);
    /* the key is running, and names the refund */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM idempotency_keys k JOIN refunds f ON f.public_id = "
                                "k.response_body JOIN payments p ON p.id = f.payment_id WHERE k.idem_key = ? AND "
                                "k.state = 'running' AND p.public_id = ?",
                                idem, payment),
                     1);
    /* its lease runs out (5 minutes) */
    fgt_db_exec("UPDATE idempotency_keys SET expires_at = 1 WHERE idem_key = ?", idem);
    reset();
    fgt_banksim_feegate_start(&mine, &bank, port, env);
    fgt_sleep_ms(1500); /* the sweeper's rounds come by and leave the key */
    r = fgt_req(&mine, FGT_H2C, "POST", path, key, idem, "{\"amount\":50000}", 0, NULL);
    ck_assert_msg(r.status == 202 || r.status == 201, "%ld %s", r.status, r.body);
    ck_assert_str_eq(fgt_header(&r, "idempotent-replayed"), "true");
    char refund[64];
    snprintf(refund, sizeof(refund), "%s", fgt_json_str(&r, "id", NULL));
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds WHERE public_id = ?", refund, NULL), 1);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id WHERE "
                                "p.public_id = ?",
                                payment, NULL),
                     1);
    ck_assert_int_eq(log_count(seq, "vnpay.refund", payment, NULL, 0), 1); /* VNPay was asked once */
    /* the same again: the stored answer */
    r = fgt_req(&mine, FGT_H2C, "POST", path, key, idem, "{\"amount\":50000}", 0, NULL);
    ck_assert_msg(r.status == 202 || r.status == 201, "%ld %s", r.status, r.body);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_server_stop(&mine), 0);
    /* VNPay made it while the server was down: the status job settles it */
    wait_refund(refund, "succeeded");
    ledger_holds();
}
END_TEST

START_TEST(vnpay_partial_then_remainder_refund_sends_03)
{
    char order[40], payment[40], path[128], body[1024];
    new_order(300000, NULL, order, NULL);
    vnpay_payment(order, payment);
    fgt_response_t r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "00");
    fgt_response_free(&r);
    balances_t before = balances("vnpay");
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    long long seq = log_seq();
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, fgt_unique("rf"), "{\"amount\":100000}", 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(log_count(seq, "vnpay.refund", payment, body, sizeof(body)), 1);
    ck_assert_ptr_nonnull(strstr(body, "\"vnp_TransactionType\":\"03\""));
    /* the remainder equals what is refundable, but is not the whole payment: 03 */
    seq = log_seq();
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, fgt_unique("rf"), "{\"amount\":200000}", 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    fgt_response_free(&r);
    ck_assert_int_eq(log_count(seq, "vnpay.refund", payment, body, sizeof(body)), 1);
    ck_assert_ptr_nonnull(strstr(body, "\"vnp_TransactionType\":\"03\""));
    ck_assert_ptr_null(strstr(body, "\"vnp_TransactionType\":\"02\""));
    expect_moved(&before, "vnpay", -300000, 0);
    ledger_holds();
}
END_TEST

START_TEST(momo_refund_still_processing_stays_pending_until_settled)
{
    char order[40], payment[40], redirect[1024], path[128], refund[64];
    new_order(60000, NULL, order, NULL);
    new_payment(order, "momo", payment, redirect);
    fgt_response_t r = momo_decide(payment, "approve");
    ck_assert_int_eq(answer_status(&r, "ipn", 0), 204);
    fgt_response_free(&r);
    balances_t before = balances("momo");
    long long seq = log_seq();
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    const char *idem = fgt_unique("rf");
    /* MoMo answers "processing" (7000, signed): not a refusal, not a success */
    chaos("{\"refund_result\":7000}");
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":25000}", 0, NULL);
    fgt_expect(r, 202, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    snprintf(refund, sizeof(refund), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":25000}", 0, NULL);
    fgt_expect(r, 202, NULL);
    ck_assert_str_eq(fgt_header(&r, "idempotent-replayed"), "true");
    /* the merchant polls it: pending, as the POST answered, and listed with its payment */
    fgt_response_t polled = get("refunds", refund);
    fgt_expect(polled, 200, NULL);
    ck_assert_str_eq(polled.body, r.body);
    fgt_response_free(&polled);
    polled = fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect(polled, 200, NULL);
    ck_assert_ptr_nonnull(strstr(polled.body, r.body));
    fgt_response_free(&polled);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", payment, NULL), 25000);
    reset();
    wait_refund(refund, "succeeded"); /* MoMo's refund/query reports it made */
    r = get("refunds", refund);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 25000);
    fgt_response_free(&r);
    r = get("payments", payment);
    ck_assert_int_eq(fgt_json_int(&r, "amount_refunded", NULL), 25000);
    fgt_response_free(&r);
    ck_assert_int_eq(log_count(seq, "momo.refund", NULL, NULL, 0), 1);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", payment, NULL), 0);
    expect_moved(&before, "momo", -25000, 0);
    ledger_holds();
}
END_TEST

/* ---- refused parameters, stored headers, long memos ------------------------------------------ */

/* GET /v1/webhooks/vnpay?<prefix><query>: feegate's RspCode answer. */
static fgt_response_t vnpay_ipn_with(const char *prefix, const char *query)
{
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "/v1/webhooks/vnpay?%s%s", prefix, query), 0);
    fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "GET", path, NULL, NULL, 0);
    free(path);
    return r;
}

START_TEST(vnpay_empty_duplicate_parameters_are_refused)
{
    char order[40], payment[40];
    balances_t before = balances("vnpay");
    new_order(160000, NULL, order, NULL);
    vnpay_payment(order, payment);
    /* the IPN is lost; the payer holds the signed return URL, the same parameters */
    chaos("{\"lose_ipn\":true}");
    fgt_response_t r = vnpay_decide(payment, "approve");
    const char *return_url = fgt_json_str(&r, "return_url", NULL);
    ck_assert_ptr_nonnull(return_url);
    char *query = strdup(strchr(return_url, '?') + 1);
    fgt_response_free(&r);
    /* an empty duplicate is not signed: it must neither fail the payment nor blank its number */
    const char *attacks[] = {"vnp_ResponseCode=&", "vnp_TransactionNo=&", "vnp_TransactionStatus=&"};
    for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
        fgt_response_t a = vnpay_ipn_with(attacks[i], query);
        ck_assert_int_eq(a.status, 200);
        ck_assert_msg(strstr(a.body, "\"RspCode\":\"97\"") != NULL, "%s answered %s", attacks[i], a.body);
        fgt_response_free(&a);
    }
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'vnpay' AND status = 'rejected' "
                                "AND provider_event_id IS NULL AND reason LIKE '%more than once%' "
                                "AND query LIKE CONCAT('%', ?, '%')",
                                payment, NULL),
                     3);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'failed'", payment,
                                NULL),
                     0);
    /* the return page refuses the same link */
    char url[2048];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/pay/return/vnpay?vnp_ResponseCode=&%s", srv.http_port, query);
    fgt_response_t page = fgt_http("GET", url, NULL);
    ck_assert_int_eq(page.status, 400);
    fgt_response_free(&page);
    /* the real outcome still settles it (the query job asks VNPay), once */
    wait_settled(payment);
    expect_payment(payment, "succeeded", 160000, 0);
    expect_order(order, "paid", 160000);
    ck_assert_int_eq(postings(payment), 1);
    expect_moved(&before, "vnpay", 160000, 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND provider_txn_id IS NULL",
                                payment, NULL),
                     0);
    free(query);
    ledger_holds();
}
END_TEST

START_TEST(vnpay_ipn_payload_is_kept_and_a_blank_duplicate_changes_nothing)
{
    char order[40], payment[40];
    balances_t before = balances("vnpay");
    new_order(170000, NULL, order, NULL);
    vnpay_payment(order, payment);
    fgt_response_t r = vnpay_decide(payment, "approve");
    expect_rsp(&r, 0, "00");
    char *query = strdup(strchr(fgt_json_str(&r, "return_url", NULL), '?') + 1);
    fgt_response_free(&r);
    /* the GET IPN has no body: its query is the provider payload */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND provider_payload LIKE "
                                "CONCAT('%vnp_TxnRef=', ?, '%vnp_SecureHash=%')",
                                payment, payment),
                     1);
    fgt_response_t a = vnpay_ipn_with("vnp_TransactionNo=&", query);
    ck_assert_ptr_nonnull(strstr(a.body, "\"RspCode\":\"97\""));
    fgt_response_free(&a);
    /* the genuine query again is VNPay's retry: already confirmed */
    a = vnpay_ipn_with("", query);
    ck_assert_ptr_nonnull(strstr(a.body, "\"RspCode\":\"02\""));
    fgt_response_free(&a);
    ck_assert_int_eq(postings(payment), 1);
    expect_moved(&before, "vnpay", 170000, 0);
    free(query);

    /* the IPN's signed query sent as a POST with a body nobody signed: applied, and the query is what is kept */
    char order2[40], payment2[40];
    new_order(171000, NULL, order2, NULL);
    vnpay_payment(order2, payment2);
    chaos("{\"lose_ipn\":true}");
    r = vnpay_decide(payment2, "approve");
    query = strdup(strchr(fgt_json_str(&r, "return_url", NULL), '?') + 1);
    fgt_response_free(&r);
    reset();
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "/v1/webhooks/vnpay?%s", query), 0);
    const char *json[] = {"Content-Type: application/json", NULL};
    a = fgt_request(&srv, FGT_HTTP1, "POST", path, json, "{\"vnp_Amount\":\"1\",\"note\":\"not signed\"}", 0);
    ck_assert_ptr_nonnull(strstr(a.body, "\"RspCode\":\"00\""));
    fgt_response_free(&a);
    free(path);
    expect_payment(payment2, "succeeded", 171000, 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND provider_payload LIKE "
                                "CONCAT('%vnp_TxnRef=', ?, '%vnp_SecureHash=%') AND provider_payload NOT LIKE '%not "
                                "signed%'",
                                payment2, payment2),
                     1);
    free(query);
    ledger_holds();
}
END_TEST

/* Names outside vnp_* are outside the signature: a genuine IPN that picked up
 * 70 KB of them on the way verifies and is applied; the stored query is cut
 * to its column. */
START_TEST(vnpay_ipn_with_a_70_kb_unsigned_pad_is_applied)
{
    char order[40], payment[40];
    balances_t before = balances("vnpay");
    new_order(180000, NULL, order, NULL);
    vnpay_payment(order, payment);
    chaos("{\"lose_ipn\":true}");
    fgt_response_t r = vnpay_decide(payment, "approve");
    char *query = strdup(strchr(fgt_json_str(&r, "return_url", NULL), '?') + 1);
    fgt_response_free(&r);
    size_t pad = 70 * 1000;
    char *padded = malloc(strlen(query) + pad + 8);
    size_t n = (size_t)sprintf(padded, "%s&pad=", query);
    memset(padded + n, 'p', pad);
    padded[n + pad] = '\0';
    fgt_response_t a = vnpay_ipn_with("", padded);
    /* 00; or 02 when the query job asked VNPay first: either way it verified */
    ck_assert_msg(strstr(a.body, "\"RspCode\":\"00\"") != NULL || strstr(a.body, "\"RspCode\":\"02\"") != NULL,
                  "answered %s", a.body);
    fgt_response_free(&a);
    expect_payment(payment, "succeeded", 180000, 0);
    expect_order(order, "paid", 180000);
    ck_assert_int_eq(postings(payment), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'vnpay' "
                                "AND status IN ('applied', 'duplicate') "
                                "AND query LIKE CONCAT('%vnp_TxnRef=', ?, '%') AND LENGTH(query) = 65535",
                                payment, NULL),
                     1);
    expect_moved(&before, "vnpay", 180000, 0);
    free(padded);
    free(query);
    ledger_holds();
}
END_TEST

/* POST /v1/webhooks/sepay with a body of our own and the given Authorization. */
static fgt_response_t sepay_post(const char *body, const char *authorization)
{
    char header[128];
    snprintf(header, sizeof(header), "Authorization: %s", authorization);
    return fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sepay", NULL, NULL, body, 0, header);
}

START_TEST(sepay_key_is_not_stored_and_a_long_memo_is_recorded)
{
    static long long seq;
    long long id = 900000000000LL + (long long)time(NULL) % 100000000 * 100 + ++seq;
    char event[48], content[1200], reference[128], *body = NULL;
    balances_t before = balances("vietqr");
    /* 250 three-byte characters after 200 ASCII bytes: 950 bytes, cut at 500 characters
     * together with a 100-character reference code */
    size_t n = (size_t)snprintf(content, sizeof(content), "%s", "ung ho quy khuyen hoc ");
    while (n < 200)
        content[n++] = 'x';
    for (int i = 0; i < 250; i++, n += 3)
        memcpy(content + n, "\xe1\xbb\x87", 3); /* ệ */
    content[n] = '\0';
    memset(reference, 'R', 100);
    reference[100] = '\0';
    ck_assert_int_ge(asprintf(&body,
                              "{\"id\":%lld,\"gateway\":\"Vietcombank\",\"transactionDate\":\"2026-11-20 10:00:00\","
                              "\"accountNumber\":\"0011001932418\",\"code\":null,\"content\":\"%s\","
                              "\"transferType\":\"in\",\"transferAmount\":42000,\"accumulated\":0,\"subAccount\":null,"
                              "\"referenceCode\":\"%s\",\"description\":\"\"}",
                              id, content, reference),
                     0);
    fgt_response_t r = sepay_post(body, "Apikey it-sepay-key");
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(r.body, "{\"success\":true}");
    fgt_response_free(&r);
    snprintf(event, sizeof(event), "sepay:%lld", id);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE provider_event_id = ? AND status = 'applied'",
                                event, NULL),
                     1);
    /* the key is not in the stored headers; the scheme is */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE headers LIKE '%it-sepay-key%'", NULL, NULL),
                     0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE provider_event_id = ? "
                                "AND headers LIKE '%authorization: Apikey ***%'",
                                event, NULL),
                     1);
    /* the receipt journal holds the memo cut to 500 characters, on a character boundary */
    ck_assert_int_eq(fgt_db_int("SELECT CHAR_LENGTH(memo) FROM journals WHERE kind = 'receipt' AND memo LIKE "
                                "CONCAT(?, ' ', ?, ': ung ho quy khuyen hoc %')",
                                event, reference),
                     500);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'receipt' AND memo LIKE CONCAT(?, ' %') "
                                "AND RIGHT(memo, 1) = ?",
                                event, "\xe1\xbb\x87"),
                     1);
    expect_moved(&before, "vietqr", 0, 42000);
    /* SePay's retry is a duplicate; a wrong key is refused and not stored either */
    r = sepay_post(body, "Apikey it-sepay-key");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    r = sepay_post(body, "Apikey some-guessed-key-42");
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE headers LIKE '%some-guessed-key-42%'", NULL,
                                NULL),
                     0);
    expect_moved(&before, "vietqr", 0, 42000);
    free(body);
    ledger_holds();
}
END_TEST

/* ---- statements from the bank ------------------------------------------------------ */

/* The day's statement of the collection account from the bank, in format. */
static fgt_response_t bank_statement(const char *format)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/control/statement?format=%s", bank.url, format);
    fgt_response_t r = fgt_http("GET", url, NULL);
    ck_assert_msg(r.status == 200, "banksim statement %s answered %ld", format, r.status);
    return r;
}

static fgt_response_t import_statement(const char *token, const char *format, const char *body)
{
    char auth[200], path[80];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    snprintf(path, sizeof(path), "/v1/statements?format=%s", format);
    const char *headers[] = {auth, "Content-Type: application/octet-stream", NULL};
    return fgt_request(&srv, FGT_H2C, "POST", path, headers, body, 0);
}

/* The state the matching job gave the line with this bank reference, once it
 * decided (at most 30 s). */
static const char *line_state(const char *ref)
{
    static char state[32];
    for (int i = 0; i < 300; i++) {
        /* its item's, or matched: the import matched it as it stored it (no item row) */
        long long k = fgt_db_int("SELECT IF(i.id IS NULL, IF(l.payment_id IS NULL, 0, 2), FIELD(i.state, "
                                 "'unmatched', 'matched', 'suggested', 'bank_only', 'ledger_only', 'amount_mismatch', "
                                 "'duplicate')) FROM statement_lines l LEFT JOIN recon_items i ON i.line_id = l.id "
                                 "WHERE l.bank_ref = ? ORDER BY l.id DESC LIMIT 1",
                                 ref, NULL);
        static const char *const NAMES[] = {"none",      "unmatched",   "matched",         "suggested",
                                            "bank_only", "ledger_only", "amount_mismatch", "duplicate"};
        if (k > 1 && k <= 7) {
            snprintf(state, sizeof(state), "%s", NAMES[k]);
            return state;
        }
        fgt_sleep_ms(100);
    }
    ck_abort_msg("the line %s was not decided in 30 s", ref);
    return NULL;
}

START_TEST(bank_statements_settle_what_the_feed_lost)
{
    char finance[128], a[40], ac[16], b[40], bc[16], c[40], cc[16], d[40], dc[16], ref_a[64], ref_b[64], ref_cd[64];
    fgt_staff_token("finance", finance);
    new_order(150000, NULL, a, ac);
    new_order(250000, NULL, b, bc);
    new_order(100000, NULL, c, cc);
    new_order(120000, NULL, d, dc);
    /* A: the feed reports the transfer */
    fgt_response_t r = transfer(150000, ac, "in");
    snprintf(ref_a, sizeof(ref_a), "%s", fgt_json_str(&r, "reference_code", NULL));
    fgt_response_free(&r);
    expect_order(a, "paid", 150000);
    /* a VNPay payment today, so that VNPay pays a batch out */
    char v[40], vpay[64];
    new_order(90000, NULL, v, NULL);
    vnpay_payment(v, vpay);
    r = vnpay_decide(vpay, "approve");
    fgt_response_free(&r);
    wait_settled(vpay);
    /* B, and one transfer for C and D: the feed loses them; the bank
     * rewrites memos as banks do (prefix, upper case, a wrap inside a code) */
    chaos("{\"lose_ipn\":true,\"statement_rewrite\":true}");
    r = transfer(250000, bc, "in");
    snprintf(ref_b, sizeof(ref_b), "%s", fgt_json_str(&r, "reference_code", NULL));
    fgt_response_free(&r);
    char body[200];
    snprintf(body, sizeof(body),
             "{\"amount\":220000,\"content\":\"HOC PHI 2 CON\",\"codes\":[\"%s\",\"%s\"],\"transfer_type\":\"in\"}", cc,
             dc);
    r = control("/control/sepay/transfer", body);
    snprintf(ref_cd, sizeof(ref_cd), "%s", fgt_json_str(&r, "reference_code", NULL));
    fgt_response_free(&r);
    expect_order(b, "open", 0);

    /* the bank's camt.053 of the day settles what the feed lost */
    fgt_response_t st = bank_statement("camt053");
    r = import_statement(finance, "camt.053", st.body);
    ck_assert_msg(r.status == 201 || r.status == 200, "camt.053 import answered %ld: %s", r.status, r.body);
    fgt_response_free(&r);
    fgt_response_free(&st);
    ck_assert_str_eq(line_state(ref_a), "matched");
    ck_assert_str_eq(line_state(ref_b), "matched");
    ck_assert_str_eq(line_state(ref_cd), "matched");
    expect_order(b, "paid", 250000);
    expect_order(c, "paid", 100000);
    expect_order(d, "paid", 120000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.public_id = ? AND p.status = 'succeeded'",
                                a, NULL),
                     1);

    /* the same day as MT940 and as camt.054: every line known already */
    static const char *const again[][2] = {{"mt940", "mt940"}, {"camt054", "camt.054"}};
    for (int i = 0; i < 2; i++) {
        st = bank_statement(again[i][0]);
        r = import_statement(finance, again[i][1], st.body);
        ck_assert_msg(r.status == 201 || r.status == 200, "%s import answered %ld: %s", again[i][1], r.status, r.body);
        ck_assert_int_eq(fgt_json_int(&r, "new_lines", NULL), 0);
        fgt_response_free(&r);
        fgt_response_free(&st);
    }
    /* the Vietnamese CSV export reads too */
    st = bank_statement("csv-vn");
    r = import_statement(finance, "csv-vn", st.body);
    ck_assert_msg(r.status == 201 || r.status == 200, "csv-vn import answered %ld: %s", r.status, r.body);
    fgt_response_free(&r);
    fgt_response_free(&st);
    /* VNPay's payout of the day: a bank_only line until its settlement file
     * arrives, then Dr bank (net), Dr fees, Cr clearing (gross) */
    char stl_url[256], stl_ref[40], stl_path[64];
    snprintf(stl_url, sizeof(stl_url), "%s/control/settlement?gateway=vnpay", bank.url);
    fgt_response_t stl = fgt_http("GET", stl_url, NULL);
    ck_assert_int_eq(stl.status, 200);
    const char *comma = strchr(strchr(stl.body, '\n') + 1, ',');
    ck_assert_ptr_nonnull(comma);
    snprintf(stl_ref, sizeof(stl_ref), "%.*s", (int)(comma - (strchr(stl.body, '\n') + 1)), strchr(stl.body, '\n') + 1);
    ck_assert_str_eq(line_state(stl_ref), "bank_only");
    snprintf(stl_path, sizeof(stl_path), "/v1/settlements?gateway=vnpay");
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *stl_headers[] = {auth, "Content-Type: text/csv", NULL};
    r = fgt_request(&srv, FGT_H2C, "POST", stl_path, stl_headers, stl.body, 0);
    fgt_expect(r, 201, NULL);
    long long net = fgt_json_int(&r, "net", NULL), gross = fgt_json_int(&r, "gross", NULL);
    fgt_response_free(&r);
    fgt_response_free(&stl);
    for (int i = 0; i < 300 && strcmp(line_state(stl_ref), "matched") != 0; i++)
        fgt_sleep_ms(100);
    ck_assert_str_eq(line_state(stl_ref), "matched");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals j JOIN settlement_batches b ON b.journal_id = j.id "
                                "WHERE b.batch_ref = ? AND j.kind = 'settlement'",
                                stl_ref, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT net FROM settlement_batches WHERE batch_ref = ?", stl_ref, NULL), net);
    ck_assert_int_ge(gross, net);

    /* B was paid once, by the statement (a late feed delivery finds the
     * transfer recorded: test_reconcile.c) */
    chaos("{}");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.public_id = ? AND p.status = 'succeeded'",
                                b, NULL),
                     1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* The 1-based position of the line with this reference in a camt.053. */
static int line_position(const char *camt, const char *ref)
{
    char needle[80];
    snprintf(needle, sizeof(needle), ">%s<", ref);
    const char *at = strstr(camt, needle);
    ck_assert_msg(at != NULL, "no line %s in the statement", ref);
    int n = 0;
    for (const char *p = strstr(camt, "<Ntry>"); p != NULL && p < at; p = strstr(p + 1, "<Ntry>"))
        n++;
    return n;
}

/* Resolves item of reconciliation rec with this body; the answer's status. */
static long resolve_item(const char *token, const char *rec, long long item, const char *body)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items/%lld/resolve", rec, item);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", path, token, NULL, body, 0, NULL);
    long status = r.status;
    ck_assert_msg(status == 200, "resolving %lld answered %ld: %s", item, status, r.body);
    fgt_response_free(&r);
    return status;
}

/* The first item in state of a line with this reference: a row's, or a line
 * the import matched as it stored it (its id from FG_RECON_LINE_ITEM_BASE on). */
static long long item_by_ref(const char *ref, const char *state)
{
    return fgt_db_int(
        "SELECT x.id FROM (SELECT ? AS r, ? AS s) p JOIN (SELECT i.id, i.state, l.bank_ref FROM "
        "recon_items i JOIN statement_lines l ON l.id = i.line_id UNION ALL SELECT l.id + " FG_RECON_LINE_ITEM_BASE_SQL
        ", 'matched', l.bank_ref FROM statement_lines l WHERE l.payment_id "
        "IS NOT NULL) x ON x.bank_ref = p.r AND x.state = p.s ORDER BY x.id LIMIT 1",
        ref, state);
}

START_TEST(a_bank_day_with_every_exception_resolved_and_closed)
{
    /* the bank's chaos in one day: a transfer booked twice, one that never
     * arrived, one for another amount, one transfer for two orders, money
     * matching an open order only by amount, money naming nothing; each
     * exception resolved, the day closed, the ledger's bank account the
     * bank's */
    char finance[128], p[40], pc[16], q[40], qc[16], r_[40], rc_[16], s_[40], sc[16], t[40], tc[16], u[40], uc[16],
        y[40], refs[7][64];
    fgt_staff_token("finance", finance);
    chaos("{}");
    new_order(110000, NULL, p, pc);
    new_order(120000, NULL, q, qc);
    new_order(130000, NULL, r_, rc_);
    new_order(140000, NULL, s_, sc);
    new_order(50000, NULL, t, tc);
    new_order(60000, NULL, u, uc);
    /* Y's amount is unique to this run: the suggestion names Y alone */
    long long y_amount = 700000 + fgt_db_int("SELECT COUNT(*) FROM orders", NULL, NULL) % 90000;
    new_order(y_amount, NULL, y, NULL);
    const char *codes[4] = {pc, qc, rc_, sc};
    for (int i = 0; i < 4; i++) { /* P, Q, R, S: the feed reports them */
        fgt_response_t r = transfer(110000 + 10000 * i, codes[i], "in");
        snprintf(refs[i], sizeof(refs[i]), "%s", fgt_json_str(&r, "reference_code", NULL));
        fgt_response_free(&r);
    }
    expect_order(s_, "paid", 140000);
    /* the feed loses the rest */
    chaos("{\"lose_ipn\":true}");
    char body[300];
    snprintf(body, sizeof(body),
             "{\"amount\":110000,\"content\":\"HOC PHI 2 CON\",\"codes\":[\"%s\",\"%s\"],\"transfer_type\":\"in\"}", tc,
             uc);
    fgt_response_t r = control("/control/sepay/transfer", body);
    snprintf(refs[4], sizeof(refs[4]), "%s", fgt_json_str(&r, "reference_code", NULL));
    fgt_response_free(&r);
    r = transfer(y_amount, "CHUYEN TIEN", "in");
    snprintf(refs[5], sizeof(refs[5]), "%s", fgt_json_str(&r, "reference_code", NULL));
    fgt_response_free(&r);
    r = transfer(333331, "UNG HO", "in");
    snprintf(refs[6], sizeof(refs[6]), "%s", fgt_json_str(&r, "reference_code", NULL));
    fgt_response_free(&r);
    expect_order(t, "open", 0);

    /* the day's statement as the bank's books have it */
    chaos("{}");
    fgt_response_t plain = bank_statement("camt053");
    int pos_q = line_position(plain.body, refs[1]), pos_r = line_position(plain.body, refs[2]),
        pos_s = line_position(plain.body, refs[3]);
    fgt_response_free(&plain);
    snprintf(body, sizeof(body),
             "{\"statement_balanced\":true,\"statement_rewrite\":true,\"statement_missing_line\":%d,"
             "\"statement_duplicate_line\":%d,\"statement_wrong_amount_line\":%d,\"statement_wrong_amount\":-1000}",
             pos_r, pos_q - (pos_r < pos_q ? 1 : 0), pos_s);
    chaos(body);
    fgt_response_t st = bank_statement("camt053");
    chaos("{}");
    r = import_statement(finance, "camt.053", st.body);
    ck_assert_msg(r.status == 201, "camt.053 import answered %ld: %s", r.status, r.body);
    fgt_response_free(&r);
    fgt_response_free(&st);
    ck_assert_str_eq(line_state(refs[0]), "matched");
    ck_assert_int_gt(item_by_ref(refs[1], "duplicate"), 0);
    ck_assert_int_gt(item_by_ref(refs[1], "matched"), 0);
    ck_assert_str_eq(line_state(refs[3]), "amount_mismatch");
    ck_assert_str_eq(line_state(refs[4]), "matched");
    expect_order(t, "paid", 50000);
    expect_order(u, "paid", 60000);
    ck_assert_str_eq(line_state(refs[5]), "suggested");
    ck_assert_str_eq(line_state(refs[6]), "bank_only");
    char account[40];
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statement_lines WHERE bank_ref = ?", refs[2], NULL),
                     0); /* R never arrived */
    /* the collection account the simulator's bank keeps */
    snprintf(account, sizeof(account), "%s", getenv("FEEGATE_VIETQR_ACCOUNT_NO"));
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statement_lines WHERE bank_ref = ? AND account = ?", refs[0],
                                account),
                     1);

    /* the day reconciled: R's transfer only the ledger knows */
    char today[16], rec[64], path[200];
    time_t now = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, today, today);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(rec, sizeof(rec), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    long long ledger_only = fgt_db_int("SELECT id FROM recon_items WHERE transfer_ref = ? AND state = 'ledger_only'",
                                       refs[2], NULL);
    ck_assert_int_gt(ledger_only, 0);
    for (int i = 0; i < 300 && fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = "
                                          "'unmatched'",
                                          account, NULL) > 0;
         i++)
        fgt_sleep_ms(100);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s", rec);
    r = fgt_req(&srv, FGT_H2C, "GET", path, finance, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    static const char *const exceptions[] = {"suggested", "bank_only", "ledger_only", "amount_mismatch", "duplicate"};
    for (int i = 0; i < 5; i++)
        ck_assert_msg(fgt_json_int(&r, "states", exceptions[i], "count", NULL) >= 1, "no %s item", exceptions[i]);
    ck_assert_int_eq(fgt_json_int(&r, "difference", NULL), 0);
    fgt_response_free(&r);

    /* each exception resolved as finance would */
    resolve_item(finance, rec, item_by_ref(refs[1], "duplicate"),
                 "{\"action\":\"refund\",\"note\":\"the payer's bank debited twice; returned\"}");
    resolve_item(finance, rec, ledger_only, "{\"action\":\"write_off\",\"note\":\"the bank never received it\"}");
    resolve_item(finance, rec, item_by_ref(refs[3], "amount_mismatch"),
                 "{\"action\":\"write_off\",\"note\":\"1,000 VND transfer fee taken by the payer's bank\"}");
    snprintf(
        body, sizeof(body),
        "{\"action\":\"apply\",\"note\":\"the parent called: Y's fee\",\"orders\":[{\"order\":\"%s\",\"amount\":%lld}]}",
        y, y_amount);
    resolve_item(finance, rec, item_by_ref(refs[5], "suggested"), body);
    expect_order(y, "paid", y_amount);
    resolve_item(finance, rec, item_by_ref(refs[6], "bank_only"),
                 "{\"action\":\"accept\",\"note\":\"a donation; kept as unapplied money\"}");
    /* whatever else the day left open (the earlier tests' lines): accepted */
    for (int i = 0; i < 200; i++) {
        long long open = fgt_db_int("SELECT COALESCE(MIN(i.id), 0) FROM recon_items i JOIN reconciliations c ON "
                                    "c.public_id = ? WHERE i.account = c.account AND i.business_day BETWEEN "
                                    "c.from_day AND c.to_day AND i.state <> 'matched' AND i.resolution IS NULL",
                                    rec, NULL);
        if (open == 0)
            break;
        resolve_item(finance, rec, open, "{\"action\":\"accept\",\"note\":\"investigated\"}");
    }
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/close", rec);
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE type = 'reconciliation.completed' AND "
                                "JSON_VALUE(payload, '$.id') = ?",
                                rec, NULL),
                     1);
    /* the write-offs: R's 130,000 the bank never had, S's 1,000 the payer's
     * bank kept */
    char item[24];
    long long s_item = fgt_db_int("SELECT i.id FROM recon_items i JOIN statement_lines l ON l.id = i.line_id WHERE "
                                  "l.bank_ref = ?",
                                  refs[3], NULL);
    static const char WRITTEN_OFF[] =
        "SELECT e.amount FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id JOIN recon_items i ON "
        "i.resolution_journal_id = e.journal_id WHERE i.id = ? AND a.code = 'expenses:reconciliation'";
    snprintf(item, sizeof(item), "%lld", ledger_only);
    ck_assert_int_eq(fgt_db_int(WRITTEN_OFF, item, NULL), 130000);
    snprintf(item, sizeof(item), "%lld", s_item);
    ck_assert_int_eq(fgt_db_int(WRITTEN_OFF, item, NULL), 1000);
    /* the ledger's bank account is what the bank's statement says */
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON "
                                "a.id = e.account_id WHERE a.code = CONCAT('assets:bank:', ?)",
                                account, NULL),
                     fgt_db_int("SELECT closing FROM statements WHERE account = ? ORDER BY id DESC LIMIT 1", account,
                                NULL));
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- bank-feed transfers taken together ------------------------------------------------ */

/* A SePay transfer body: a fresh transfer id into *id. */
static char *sepay_body(long long *id, long long amount, const char *content, const char *type)
{
    static long long seq;
    char *body = NULL;
    /* each test runs in a process of its own (its seq starts again): the pid keeps them apart */
    *id = 910000000000LL + (long long)time(NULL) % 10000 * 10000000 + (long long)(getpid() % 1000) * 10000 + ++seq;
    ck_assert_int_ge(asprintf(&body,
                              "{\"id\":%lld,\"gateway\":\"Vietcombank\",\"transactionDate\":\"2026-11-20 10:00:00\","
                              "\"accountNumber\":\"0011001932418\",\"code\":null,\"content\":\"%s\","
                              "\"transferType\":\"%s\",\"transferAmount\":%lld,\"accumulated\":0,\"subAccount\":null,"
                              "\"referenceCode\":\"FT%lld\",\"description\":\"\"}",
                              *id, content, type, amount, *id),
                     0);
    return body;
}

/* Inbox rows of a transfer (by its body: a duplicate's row has no event id) in a status. */
static long long inbox_rows(const char *body, const char *status)
{
    return fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'vietqr' AND body = ? AND status = ?", body,
                      status);
}

/* Transfers a worker takes together share one transaction; each keeps the answer and effect it
 * would have alone: transfers paying orders, money for no order, an outgoing transfer, one
 * transfer twice, a redelivery of one applied before, and a forged key. */
START_TEST(sepay_transfers_taken_together_keep_their_own_answers)
{
    enum { PAID = 12, N = PAID + 5 };
    char orders[PAID][40], codes[PAID][16], memo[64], auth[N][80];
    char *bodies[N];
    long long ids[N];
    const char *headers[N][3];
    fgt_request_t reqs[N];
    fgt_response_t out[N];
    balances_t before = balances("vietqr");
    for (int i = 0; i < PAID; i++)
        new_order(40000 + i, NULL, orders[i], codes[i]);
    /* applied before: its redelivery is among them */
    long long early_id;
    char *early = sepay_body(&early_id, 7000, "ung ho thu vien", "in");
    fgt_response_t r = fgt_req(&one, FGT_H2C, "POST", "/v1/webhooks/sepay", NULL, NULL, early, 0,
                               "Authorization: Apikey it-sepay-key");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    for (int i = 0; i < PAID; i++) {
        snprintf(memo, sizeof(memo), "HP %.15s CHUYEN TIEN", codes[i]);
        bodies[i] = sepay_body(&ids[i], 40000 + i, memo, "in");
    }
    bodies[PAID] = sepay_body(&ids[PAID], 9000, "khong ro noi dung", "in"); /* no order: unapplied */
    bodies[PAID + 1] = sepay_body(&ids[PAID + 1], 5000, "chi tra", "out");  /* outgoing: nothing */
    bodies[PAID + 2] = strdup(bodies[0]);                                   /* the first transfer again */
    ids[PAID + 2] = ids[0];
    bodies[PAID + 3] = strdup(early); /* a redelivery */
    ids[PAID + 3] = early_id;
    bodies[PAID + 4] = sepay_body(&ids[PAID + 4], 8000, "gia mao", "in"); /* under a wrong key */
    for (int i = 0; i < N; i++) {
        snprintf(auth[i], sizeof(auth[i]), "Authorization: Apikey %s", i == PAID + 4 ? "not-the-key" : "it-sepay-key");
        headers[i][0] = auth[i];
        headers[i][1] = "Content-Type: application/json";
        headers[i][2] = NULL;
        reqs[i] = (fgt_request_t){"POST", "/v1/webhooks/sepay", headers[i], bodies[i], 0, NULL};
    }
    long long batched = fgt_metric(&one, "feegate_db_pool_batched_requests_total");
    fgt_request_all(&one, FGT_H2C, 1, N, reqs, NULL, NULL, out);
    ck_assert_int_ge(fgt_metric(&one, "feegate_db_pool_batched_requests_total") - batched, 2);
    for (int i = 0; i < N - 1; i++) {
        ck_assert_msg(out[i].status == 200, "transfer %d: %ld %s", i, out[i].status, out[i].body);
        ck_assert_str_eq(out[i].body, "{\"success\":true}");
    }
    ck_assert_int_eq(out[PAID + 4].status, 401);
    for (int i = 0; i < PAID; i++) {
        expect_order(orders[i], "paid", 40000 + i);
        ck_assert_int_eq(inbox_rows(bodies[i], "applied"), 1);
    }
    ck_assert_int_eq(inbox_rows(bodies[0], "duplicate"), 1);
    ck_assert_int_eq(inbox_rows(early, "applied"), 1);
    ck_assert_int_eq(inbox_rows(early, "duplicate"), 1);
    ck_assert_int_eq(inbox_rows(bodies[PAID + 4], "rejected"), 1);
    ck_assert_int_eq(inbox_rows(bodies[PAID + 4], "applied"), 0);
    long long paid = 0;
    for (int i = 0; i < PAID; i++)
        paid += 40000 + i;
    expect_moved(&before, "vietqr", paid, 7000 + 9000); /* the early transfer and the one for no order */
    for (int i = 0; i < N; i++) {
        fgt_response_free(&out[i]);
        free(bodies[i]);
    }
    free(early);
    ledger_holds();
}
END_TEST

/* Transfers a worker takes together that each pay their own order are applied as one set
 * (fg_webhook_apply_set: one locking read, one update per table), money for no order and an
 * outgoing transfer among them; then two transfers naming one order, which the set leaves to
 * run alone, in turn: the first pays the order, the second's money is unapplied, as alone. */
#define SET_PAID 16
START_TEST(sepay_transfers_taken_together_are_applied_set_wise)
{
    static const char SHARED[] = "feegate_db_group_works_total{group=\"sepay.transfers\"}";
    enum { N = SET_PAID + 2 };
    char orders[SET_PAID][40], codes[SET_PAID][16], memo[64], *bodies[N];
    const char *headers[] = {"Authorization: Apikey it-sepay-key", "Content-Type: application/json", NULL};
    fgt_request_t reqs[N];
    fgt_response_t out[N];
    long long ids[N], shared_before = fgt_metric_or_zero(&one, SHARED);
    for (int round = 0; round < 5 && fgt_metric_or_zero(&one, SHARED) - shared_before < 2; round++) {
        balances_t before = balances("vietqr");
        long long paid = 0;
        for (int i = 0; i < SET_PAID; i++) {
            new_order(61000 + 10 * i + round, NULL, orders[i], codes[i]);
            snprintf(memo, sizeof(memo), "MBVCB.%d HOC PHI %.15s", 88000 + i, codes[i]);
            bodies[i] = sepay_body(&ids[i], 61000 + 10 * i + round, memo, "in");
            paid += 61000 + 10 * i + round;
        }
        bodies[SET_PAID] = sepay_body(&ids[SET_PAID], 4100, "khong ro noi dung", "in"); /* no order */
        bodies[SET_PAID + 1] = sepay_body(&ids[SET_PAID + 1], 2300, "chi tra", "out");  /* outgoing */
        for (int i = 0; i < N; i++)
            reqs[i] = (fgt_request_t){"POST", "/v1/webhooks/sepay", headers, bodies[i], 0, NULL};
        fgt_request_all(&one, FGT_H2C, 1, N, reqs, NULL, NULL, out);
        for (int i = 0; i < N; i++) {
            ck_assert_msg(out[i].status == 200, "transfer %d: %ld %s", i, out[i].status, out[i].body);
            ck_assert_str_eq(out[i].body, "{\"success\":true}");
            ck_assert_msg(inbox_rows(bodies[i], "applied") == 1, "transfer %d: %lld applied rows, %lld rows", i,
                          inbox_rows(bodies[i], "applied"),
                          fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE body = ?", bodies[i], NULL));
            fgt_response_free(&out[i]);
        }
        for (int i = 0; i < SET_PAID; i++) {
            expect_order(orders[i], "paid", 61000 + 10 * i + round);
            ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE "
                                        "o.public_id = ? AND p.status = 'succeeded'",
                                        orders[i], NULL),
                             1);
        }
        expect_moved(&before, "vietqr", paid, 4100);
        for (int i = 0; i < N; i++)
            free(bodies[i]);
    }
    ck_assert_msg(fgt_metric_or_zero(&one, SHARED) - shared_before >= 2, "no set of transfers committed in 5 rounds");

    /* two transfers for one order, and one for another, at once */
    char twice[40], twice_code[16], other[40], other_code[16];
    new_order(73000, NULL, twice, twice_code);
    new_order(74000, NULL, other, other_code);
    balances_t before = balances("vietqr");
    snprintf(memo, sizeof(memo), "HP %.15s", twice_code);
    bodies[0] = sepay_body(&ids[0], 73000, memo, "in");
    bodies[1] = sepay_body(&ids[1], 73000, memo, "in");
    snprintf(memo, sizeof(memo), "HP %.15s", other_code);
    bodies[2] = sepay_body(&ids[2], 74000, memo, "in");
    for (int i = 0; i < 3; i++)
        reqs[i] = (fgt_request_t){"POST", "/v1/webhooks/sepay", headers, bodies[i], 0, NULL};
    fgt_request_all(&one, FGT_H2C, 1, 3, reqs, NULL, NULL, out);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(out[i].status == 200, "transfer %d: %ld %s", i, out[i].status, out[i].body);
        ck_assert_int_eq(inbox_rows(bodies[i], "applied"), 1);
        fgt_response_free(&out[i]);
        free(bodies[i]);
    }
    expect_order(twice, "paid", 73000);
    expect_order(other, "paid", 74000);
    /* the order's money once; the other transfer's kept as unapplied money on a payment of its own */
    expect_moved(&before, "vietqr", 73000 + 74000, 73000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE "
                                "o.public_id = ? AND p.status = 'succeeded'",
                                twice, NULL),
                     2);
    ledger_holds();
}
END_TEST

/* Refunds of VNPay and MoMo payments taken together: the set writes them 'pending' and reserved with
 * their keys held, and after its COMMIT each is sent to its provider once and recorded: 201 each, the
 * payments' counters, one provider call per refund, and a key sent again answered from its record. */
enum { RV_VNPAY = 5, RV_N = RV_VNPAY + 2 };

START_TEST(provider_refunds_taken_together_are_begun_set_wise)
{
    static const char WORKS[] = "feegate_db_group_works_total{group=\"refunds.set\"}";
    char orders[RV_N][40], pays[RV_N][40], paths[RV_N][128], idems[RV_N][48], idem_h[RV_N][96], auth[128];
    char redirect[1024], first_id[48];
    const char *hdrs[RV_N][3];
    fgt_request_t reqs[RV_N];
    fgt_response_t out[RV_N];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    long long works_before = fgt_metric_or_zero(&one, WORKS);
    for (int round = 0; round < 5 && fgt_metric_or_zero(&one, WORKS) - works_before < 2; round++) {
        for (int i = 0; i < RV_N; i++) {
            new_order(80000 + i, NULL, orders[i], NULL);
            fgt_response_t r;
            if (i < RV_VNPAY) {
                vnpay_payment(orders[i], pays[i]);
                r = vnpay_decide(pays[i], "approve");
                expect_rsp(&r, 0, "00");
            } else {
                new_payment(orders[i], "momo", pays[i], redirect);
                r = momo_decide(pays[i], "approve");
                ck_assert_int_eq(answer_status(&r, "ipn", 0), 204);
            }
            fgt_response_free(&r);
            snprintf(paths[i], sizeof(paths[i]), "/v1/payments/%.60s/refunds", pays[i]);
            snprintf(idems[i], sizeof(idems[i]), "%s", fgt_unique("rfv"));
            snprintf(idem_h[i], sizeof(idem_h[i]), "Idempotency-Key: %.47s", idems[i]);
            hdrs[i][0] = auth;
            hdrs[i][1] = idem_h[i];
            hdrs[i][2] = NULL;
            reqs[i] = (fgt_request_t){"POST", paths[i], hdrs[i], "{\"amount\":30000}", 0, NULL};
        }
        balances_t vnpay = balances("vnpay"), momo = balances("momo");
        long long seq = log_seq();
        fgt_request_all(&one, FGT_H2C, 1, RV_N, reqs, NULL, NULL, out);
        for (int i = 0; i < RV_N; i++) {
            fgt_expect(out[i], 201, NULL);
            ck_assert_str_eq(fgt_json_str(&out[i], "status", NULL), "succeeded");
            ck_assert_int_eq(fgt_db_int("SELECT amount_refunded FROM payments WHERE public_id = ?", pays[i], NULL),
                             30000);
            ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", pays[i], NULL), 0);
            if (i < RV_VNPAY)
                ck_assert_int_eq(log_count(seq, "vnpay.refund", pays[i], NULL, 0), 1);
        }
        ck_assert_int_eq(log_count(seq, "momo.refund", NULL, NULL, 0), RV_N - RV_VNPAY);
        balances_t vnpay_now = balances("vnpay"), momo_now = balances("momo");
        ck_assert_int_eq(vnpay_now.merchant - vnpay.merchant, -30000LL * RV_N);
        ck_assert_int_eq(vnpay_now.clearing - vnpay.clearing, -30000LL * RV_VNPAY);
        ck_assert_int_eq(momo_now.clearing - momo.clearing, -30000LL * (RV_N - RV_VNPAY));
        snprintf(first_id, sizeof(first_id), "%s", fgt_json_str(&out[0], "id", NULL));
        fgt_response_t again = fgt_req(&one, FGT_H2C, "POST", paths[0], key, idems[0], "{\"amount\":30000}", 0, NULL);
        fgt_expect(again, 201, NULL);
        ck_assert_str_eq(fgt_json_str(&again, "id", NULL), first_id);
        ck_assert_str_eq(fgt_header(&again, "idempotent-replayed"), "true");
        fgt_response_free(&again);
        ck_assert_int_eq(log_count(seq, "vnpay.refund", pays[0], NULL, 0), 1);
        for (int i = 0; i < RV_N; i++)
            fgt_response_free(&out[i]);
    }
    ck_assert_msg(fgt_metric_or_zero(&one, WORKS) - works_before >= 2, "no refunds were begun as a set in 5 rounds");
    ledger_holds();
}
END_TEST

int main(void)
{
    for (size_t i = 0; i < sizeof(SHARED_ENV) / sizeof(SHARED_ENV[0]); i++)
        setenv(SHARED_ENV[i][0], SHARED_ENV[i][1], 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int http_port = fgt_free_port();
    fgt_banksim_start(&bank, http_port);
    fgt_merchant_create("Trường THCS Ngân Hàng", mer, key);
    snprintf(merchant_account, sizeof(merchant_account), "liabilities:merchant:%s", mer);
    /* a transfer the feed applied is ledger_only the day no statement shows it */
    static const char *const env[] = {"FEEGATE_RECON_LEDGER_ONLY_AFTER_DAYS=0", "FEEGATE_RECON_CLOSE_AFTER_HOUR=0",
                                      NULL};
    fgt_banksim_feegate_start(&srv, &bank, http_port, env);
    static const char *const env_one[] = {"FEEGATE_RECON_LEDGER_ONLY_AFTER_DAYS=0", "FEEGATE_RECON_CLOSE_AFTER_HOUR=0",
                                          "FEEGATE_DB_POOL_SIZE=1", NULL};
    fgt_banksim_feegate_start(&one, &bank, fgt_free_port(), env_one); /* a second instance, like the first */

    Suite *s = suite_create("providers");
    TCase *tc = tcase_create("banksim");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, vnpay_success_with_concurrent_duplicates_applies_once);
    tcase_add_test(tc, vnpay_decline_forgery_and_reordered_failure);
    tcase_add_test(tc, vnpay_wrong_amount_is_applied_and_answered_04);
    tcase_add_test(tc, vnpay_lost_ipn_is_settled_by_querydr);
    tcase_add_test(tc, a_payment_unfinished_for_a_day_is_expired);
    tcase_add_test(tc, vnpay_late_payment_to_an_expired_order_is_unapplied);
    tcase_add_test(tc, vnpay_refund_and_a_provider_that_is_down);
    tcase_add_test(tc, momo_success_duplicates_forgery_and_refund);
    tcase_add_test(tc, momo_decline_wrong_amount_and_lost_ipn);
    tcase_add_test(tc, momo_down_leaves_the_payment_pending_and_the_key_retryable);
    tcase_add_test(tc, momo_create_in_flight_answers_409_to_the_same_key);
    tcase_add_test(tc, vietqr_transfer_settles_the_order_by_its_memo);
    tcase_add_test(tc, a_provider_page_is_offered_again_only_within_its_window);
    tcase_add_test(tc, vietqr_duplicates_forgery_unknown_memo_and_outgoing);
    tcase_add_test(tc, vietqr_late_and_short_transfers_are_unapplied);
    tcase_add_test(tc, vnpay_empty_duplicate_parameters_are_refused);
    tcase_add_test(tc, vnpay_ipn_payload_is_kept_and_a_blank_duplicate_changes_nothing);
    tcase_add_test(tc, vnpay_ipn_with_a_70_kb_unsigned_pad_is_applied);
    tcase_add_test(tc, sepay_key_is_not_stored_and_a_long_memo_is_recorded);
    tcase_add_test(tc, sepay_transfers_taken_together_keep_their_own_answers);
    tcase_add_test(tc, sepay_transfers_taken_together_are_applied_set_wise);
    tcase_add_test(tc, provider_refunds_taken_together_are_begun_set_wise);
    tcase_add_test(tc, vnpay_refund_with_a_lost_answer_is_made_once_and_settled_later);
    tcase_add_test(tc, vnpay_partial_then_remainder_refund_sends_03);
    tcase_add_test(tc, a_refund_retried_after_a_crash_is_the_same_refund);
    tcase_add_test(tc, momo_refund_still_processing_stays_pending_until_settled);
    tcase_add_test(tc, bank_statements_settle_what_the_feed_lost);
    tcase_add_test(tc, a_bank_day_with_every_exception_resolved_and_closed);
    suite_add_tcase(s, tc);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    if (fgt_server_stop(&one) != 0)
        rc = 1;
    fgt_banksim_stop(&bank);
    curl_global_cleanup();
    return rc;
}
