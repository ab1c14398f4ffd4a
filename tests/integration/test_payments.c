/*
 * test_payments.c - payments through the sandbox gateway, the inbound
 * webhook pipeline, the ledger and refunds.  `feegate ledger check` runs
 * after every scenario.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/crypto.h"
#include "harness.h"

static fgt_server_t srv;
static char mer[64], key[64];
static const char SECRET[] = "it-sandbox-secret"; /* what main gives the server */

static void teardown(void) {}

static void ledger_holds(void) { ck_assert_int_eq(fgt_ledger_check(), 0); }

static void new_order(long long amount, int partial, const char *expires_at, char *id)
{
    char body[400];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":%lld,\"currency\":\"VND\","
             "\"allow_partial\":%s%s%s%s}",
             fgt_unique("PY"), amount, partial ? "true" : "false", expires_at ? ",\"expires_at\":\"" : "",
             expires_at ? expires_at : "", expires_at ? "\"" : "");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
}

static void new_payment(const char *order, long long amount, char *id)
{
    char path[128], body[96];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    if (amount > 0)
        snprintf(body, sizeof(body), "{\"method\":\"sandbox\",\"amount\":%lld}", amount);
    else
        snprintf(body, sizeof(body), "{\"method\":\"sandbox\"}");
    fgt_response_t r = fgt_req(&srv, FGT_H2TLS, "POST", path, key, fgt_unique("pk"), body, 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    ck_assert_str_eq(fgt_json_str(&r, "method", NULL), "sandbox");
    ck_assert_ptr_nonnull(fgt_json_str(&r, "redirect_url", NULL));
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
}

/* The notification body and its X-Signature header, signed now + skew_s. */
static void notification(const char *payment, const char *txn, const char *status, long long amount, long skew_s,
                         const char *secret, char *body, size_t body_cap, char *header, size_t header_cap)
{
    snprintf(body, body_cap,
             "{\"payment_id\":\"%.47s\",\"provider_txn_id\":\"%.63s\",\"status\":\"%.16s\",\"amount\":%lld}", payment,
             txn, status, amount);
    long long t = (long long)time(NULL) + skew_s;
    char *msg = NULL, hex[2 * FG_SHA256_LEN + 1];
    uint8_t mac[FG_SHA256_LEN];
    ck_assert_int_ge(asprintf(&msg, "%lld.%s", t, body), 0);
    fg_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
    free(msg);
    fg_hex_encode(mac, sizeof(mac), hex);
    snprintf(header, header_cap, "X-Signature: t=%lld,v1=%s", t, hex);
}

static fgt_response_t notify(const char *payment, const char *txn, const char *status, long long amount)
{
    char body[300], header[200];
    notification(payment, txn, status, amount, 0, SECRET, body, sizeof(body), header, sizeof(header));
    return fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
}

static fgt_response_t get(const char *kind, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/%.16s/%.64s", kind, id);
    return fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
}

static void expect_order(const char *order, const char *status, long long paid)
{
    fgt_response_t r = get("orders", order);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), status);
    ck_assert_int_eq(fgt_json_int(&r, "amount_paid", NULL), paid);
    fgt_response_free(&r);
}

static long long journals_of(const char *payment)
{
    return fgt_db_int("SELECT COUNT(*) FROM journals j JOIN payments p ON p.id = j.payment_id "
                      "WHERE p.public_id = ? AND j.kind = 'payment'",
                      payment, NULL);
}

/* Credit-normal balance of a liability account, from its entries. */
static long long liability(const char *code)
{
    return -fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a "
                       "ON a.id = e.account_id WHERE a.code = ?",
                       code, NULL);
}

START_TEST(success_posts_once)
{
    char order[40], pay[40], merchant_account[96];
    snprintf(merchant_account, sizeof(merchant_account), "liabilities:merchant:%s", mer);
    long long before = liability(merchant_account);
    new_order(1500000, 0, NULL, order);
    new_payment(order, 0, pay);
    fgt_response_t r = notify(pay, fgt_unique("TX"), "succeeded", 1500000);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    expect_order(order, "paid", 1500000);
    r = get("payments", pay);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    ck_assert_int_eq(fgt_json_int(&r, "amount_applied", NULL), 1500000);
    /* the events carry exactly what the API shows after the commit */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE type = 'payment.succeeded' AND payload = ?", r.body,
                                NULL),
                     1);
    fgt_response_free(&r);
    r = get("orders", order);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE type = 'order.paid' AND payload = ?", r.body, NULL),
                     1);
    fgt_response_free(&r);
    ck_assert_int_eq(journals_of(pay), 1);
    ck_assert_int_eq(liability(merchant_account) - before, 1500000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events e JOIN orders o ON o.id = e.order_id "
                                "WHERE o.public_id = ? AND e.type IN ('order.paid', 'payment.succeeded')",
                                order, NULL),
                     2);
    ledger_holds();
}
END_TEST

/* A genuine notification is applied however much the path in between added
 * to its headers: the stored copy is cut to its column, the check is not. */
START_TEST(a_genuine_notification_with_70_kib_of_headers_is_applied)
{
    char order[40], pay[40], body[300], header[200];
    new_order(250000, 0, NULL, order);
    new_payment(order, 0, pay);
    notification(pay, fgt_unique("TX"), "succeeded", 250000, 0, SECRET, body, sizeof(body), header, sizeof(header));
    /* the signature header, then 70 KiB of a proxy's own headers */
    size_t pad = 70 * 1024;
    char *extra = malloc(pad + 64);
    size_t n = (size_t)sprintf(extra, "X-Forwarded-Trace: ");
    memset(extra + n, 't', pad);
    extra[n + pad] = '\0';
    const char *headers[] = {header, extra, NULL};
    fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", headers, body, strlen(body));
    free(extra);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    expect_order(order, "paid", 250000);
    ck_assert_int_eq(journals_of(pay), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'sandbox' AND status = 'applied' "
                                "AND body LIKE CONCAT('%', ?, '%') AND LENGTH(headers) = 65535",
                                pay, NULL),
                     1);
    ledger_holds();
}
END_TEST

START_TEST(hundred_identical_notifications_one_journal)
{
    enum { N = 100 };
    char order[40], pay[40], body[300], header[200];
    new_order(200000, 0, NULL, order);
    new_payment(order, 0, pay);
    notification(pay, fgt_unique("TX"), "succeeded", 200000, 0, SECRET, body, sizeof(body), header, sizeof(header));
    fgt_response_t out[N];
    fgt_req_many_over(&srv, FGT_HTTP1, N, 8, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, header, out);
    for (int i = 0; i < N; i++) {
        fgt_expect(out[i], 200, NULL);
        ck_assert_str_eq(out[i].body, out[0].body); /* the same answer for every duplicate */
    }
    for (int i = 0; i < N; i++)
        fgt_response_free(&out[i]);
    ck_assert_int_eq(journals_of(pay), 1);
    expect_order(order, "paid", 200000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'sandbox' AND body = ?", body,
                                NULL),
                     N);
    ledger_holds();
}
END_TEST

START_TEST(two_payments_race_for_one_order)
{
    char order[40], pay1[40], pay2[40], b1[300], b2[300], h1[200], h2[200];
    new_order(300000, 0, NULL, order);
    new_payment(order, 0, pay1);
    new_payment(order, 0, pay2);
    long long unapplied_before = liability("liabilities:unapplied");
    notification(pay1, fgt_unique("TXA"), "succeeded", 300000, 0, SECRET, b1, sizeof(b1), h1, sizeof(h1));
    notification(pay2, fgt_unique("TXB"), "succeeded", 300000, 0, SECRET, b2, sizeof(b2), h2, sizeof(h2));
    pid_t child = fork();
    if (child == 0) {
        fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/webhooks/sandbox", NULL, NULL, b2, 0, h2);
        _exit(r.status == 200 ? 0 : 1);
    }
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/webhooks/sandbox", NULL, NULL, b1, 0, h1);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    int st;
    waitpid(child, &st, 0);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    expect_order(order, "paid", 300000);                                             /* no double credit */
    ck_assert_int_eq(liability("liabilities:unapplied") - unapplied_before, 300000); /* the second is kept */
    ck_assert_int_eq(journals_of(pay1) + journals_of(pay2), 2);
    ledger_holds();
}
END_TEST

START_TEST(expired_order_money_goes_to_unapplied)
{
    char order[40], pay[40], when[40];
    time_t t = time(NULL) + 2;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    new_order(90000, 0, when, order);
    new_payment(order, 0, pay);
    sleep(3);
    long long before = liability("liabilities:unapplied");
    fgt_response_t r = notify(pay, fgt_unique("TX"), "succeeded", 90000);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    expect_order(order, "expired", 0);
    ck_assert_int_eq(liability("liabilities:unapplied") - before, 90000);
    r = get("payments", pay);
    ck_assert_int_eq(fgt_json_int(&r, "amount_unapplied", NULL), 90000);
    fgt_response_free(&r);
    ledger_holds();
}
END_TEST

START_TEST(partial_payments_sum_to_paid)
{
    char order[40], p1[40], p2[40], p3[40];
    new_order(100000, 1, NULL, order);
    new_payment(order, 30000, p1);
    fgt_response_t r = notify(p1, fgt_unique("TX"), "succeeded", 30000);
    fgt_response_free(&r);
    expect_order(order, "partially_paid", 30000);
    new_payment(order, 50000, p2);
    r = notify(p2, fgt_unique("TX"), "succeeded", 50000);
    fgt_response_free(&r);
    expect_order(order, "partially_paid", 80000);
    new_payment(order, 0, p3); /* what it still owes */
    r = get("payments", p3);
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 20000);
    fgt_response_free(&r);
    r = notify(p3, fgt_unique("TX"), "succeeded", 20000);
    fgt_response_free(&r);
    expect_order(order, "paid", 100000);
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    fgt_expect(r, 409, "order_not_payable");
    fgt_response_free(&r);
    ledger_holds();
}
END_TEST

START_TEST(failure_changes_state_only_and_forgeries_are_refused)
{
    char order[40], pay[40], body[300], header[200];
    new_order(50000, 0, NULL, order);
    new_payment(order, 0, pay);
    fgt_response_t r = notify(pay, fgt_unique("TXF"), "failed", 50000);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    r = get("payments", pay);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "failed");
    fgt_response_free(&r);
    ck_assert_int_eq(journals_of(pay), 0);
    expect_order(order, "open", 0);
    /* forged: wrong secret; stale: 10 minutes old */
    notification(pay, fgt_unique("TXG"), "succeeded", 50000, 0, "not-the-secret", body, sizeof(body), header,
                 sizeof(header));
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
    notification(pay, fgt_unique("TXS"), "succeeded", 50000, -600, SECRET, body, sizeof(body), header, sizeof(header));
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE status = 'rejected' AND body = ?", body,
                                NULL),
                     1);
    expect_order(order, "open", 0);
    ledger_holds();
}
END_TEST

/* ---- a set of notifications applied together --------------------------------------- */

/* A server with one database worker: what arrives while it works waits, and is taken at once. */
static fgt_server_t one;

static long long inbox_rows(const char *body, const char *status)
{
    return fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE body = ? AND status = ?", body, status);
}

/* Every order and payment of the suite's merchant has changes, and its
 * latest is its row as it is now, as the triggers of schema/0016_changes.sql
 * write it (whoever wrote it: a trigger, or a set, schema/0032). */
static void expect_feed_is_rows(void)
{
    static const char SQL_ORDERS[] =
        "SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id LEFT JOIN change_log c ON c.id = "
        "(SELECT MAX(id) FROM change_log WHERE entity = 'order' AND entity_id = o.id) WHERE m.public_id = ? AND ? "
        "IS NOT NULL AND (c.id IS NULL OR c.object_id <> o.public_id OR c.merchant_id <> o.merchant_id OR NOT "
        "JSON_EQUALS(c.data, JSON_ARRAY(o.merchant_ref, o.fee_type, o.category, o.amount, o.currency, "
        "o.amount_paid, o.amount_refunded, o.allow_partial <> 0, o.status, o.payer_name, o.payer_ref, "
        "o.description, o.due_at, o.expires_at, JSON_QUERY(COALESCE(NULLIF(o.metadata, ''), '{}'), '$'), o.code, "
        "o.created_at, o.updated_at)))";
    static const char SQL_PAYMENTS[] =
        "SELECT COUNT(*) FROM payments p JOIN merchants m ON m.id = p.merchant_id LEFT JOIN change_log c ON c.id = "
        "(SELECT MAX(id) FROM change_log WHERE entity = 'payment' AND entity_id = p.id) WHERE m.public_id = ? AND ? "
        "IS NOT NULL AND (c.id IS NULL OR c.object_id <> p.public_id OR c.merchant_id <> p.merchant_id OR "
        "c.parent_id <> p.order_id OR NOT JSON_EQUALS(c.data, JSON_ARRAY(p.adapter, p.amount, p.amount_received, "
        "p.amount_applied, p.amount_unapplied, p.currency, p.amount_refunded, p.status, p.provider_txn_id, "
        "p.failure_reason, p.created_at, p.updated_at)))";
    ck_assert_int_eq(fgt_db_int(SQL_ORDERS, mer, "x"), 0);
    ck_assert_int_eq(fgt_db_int(SQL_PAYMENTS, mer, "x"), 0);
}

static const char *payment_status(const char *pay, char *out)
{
    ck_assert_int_eq(fgt_db_str("SELECT status FROM payments WHERE public_id = ?", pay, NULL, out, 16), 1);
    return out;
}

/* Notifications taken together by one worker: each gets the answer it would get alone (a duplicate,
 * an unknown payment, a forgery, a failure, two payments of one order, a redelivery of an applied
 * one among plain successes), and nothing else changes. */
START_TEST(each_notification_of_a_set_keeps_its_own_answer)
{
    enum { PLAIN = 24, PARTLY = 4, N = PLAIN + 8 };
    char orders[PLAIN][40], pays[PLAIN][40], shared_order[40], s1[40], s2[40], failing_order[40], failing[40];
    char early_order[40], early[40], status[16];
    char bodies[N][300], headers[N][200];
    const char *hdrs[N][2];
    fgt_request_t reqs[N];
    fgt_response_t out[N];
    /* the first PARTLY pay half of what their orders ask */
    for (int i = 0; i < PLAIN; i++) {
        new_order(i < PARTLY ? 2 * (10000 + i) : 10000 + i, i < PARTLY, NULL, orders[i]);
        new_payment(orders[i], i < PARTLY ? 10000 + i : 0, pays[i]);
    }
    new_order(70000, 0, NULL, shared_order);
    new_payment(shared_order, 0, s1);
    new_payment(shared_order, 0, s2);
    new_order(20000, 0, NULL, failing_order);
    new_payment(failing_order, 0, failing);
    new_order(30000, 0, NULL, early_order);
    new_payment(early_order, 0, early);
    /* applied before the set; its redelivery is in it */
    int k = PLAIN;
    notification(early, fgt_unique("TXE"), "succeeded", 30000, 0, SECRET, bodies[k], sizeof(bodies[k]), headers[k],
                 sizeof(headers[k]));
    fgt_response_t r = fgt_req(&one, FGT_H2C, "POST", "/v1/webhooks/sandbox", NULL, NULL, bodies[k], 0, headers[k]);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    for (int i = 0; i < PLAIN; i++)
        notification(pays[i], fgt_unique("TXP"), "succeeded", 10000 + i, 0, SECRET, bodies[i], sizeof(bodies[i]),
                     headers[i], sizeof(headers[i]));
    /* [PLAIN] the redelivery; [+1] a second delivery of [0] in the same set; [+2], [+3] the shared order's
     * two payments, each its full amount; [+4] a failure; [+5] an unknown payment; [+6] a forgery (a
     * genuine body under another secret); [+7] a failure of another unknown payment */
    memcpy(bodies[k + 1], bodies[0], sizeof(bodies[0]));
    memcpy(headers[k + 1], headers[0], sizeof(headers[0]));
    notification(s1, fgt_unique("TXS1"), "succeeded", 70000, 0, SECRET, bodies[k + 2], sizeof(bodies[0]),
                 headers[k + 2], sizeof(headers[0]));
    notification(s2, fgt_unique("TXS2"), "succeeded", 70000, 0, SECRET, bodies[k + 3], sizeof(bodies[0]),
                 headers[k + 3], sizeof(headers[0]));
    notification(failing, fgt_unique("TXF"), "failed", 20000, 0, SECRET, bodies[k + 4], sizeof(bodies[0]),
                 headers[k + 4], sizeof(headers[0]));
    notification("pay_nosuchpaymentinthisset", fgt_unique("TXU"), "succeeded", 5000, 0, SECRET, bodies[k + 5],
                 sizeof(bodies[0]), headers[k + 5], sizeof(headers[0]));
    notification(pays[1], fgt_unique("TXX"), "succeeded", 10001, 0, "not-the-secret", bodies[k + 6], sizeof(bodies[0]),
                 headers[k + 6], sizeof(headers[0]));
    notification("pay_anotherunknownpayment", fgt_unique("TXV"), "failed", 5000, 0, SECRET, bodies[k + 7],
                 sizeof(bodies[0]), headers[k + 7], sizeof(headers[0]));
    for (int i = 0; i < N; i++) {
        hdrs[i][0] = headers[i];
        hdrs[i][1] = NULL;
        reqs[i] = (fgt_request_t){"POST", "/v1/webhooks/sandbox", hdrs[i], bodies[i], 0, NULL};
    }
    long long batched = fgt_metric(&one, "feegate_db_pool_batched_requests_total");
    long long members = fgt_metric(&one, "feegate_notification_set_members_total");
    long long alone = fgt_metric(&one, "feegate_notification_sets_run_alone_total");
    long long unapplied = liability("liabilities:unapplied");
    fgt_request_all(&one, FGT_H2C, 1, N, reqs, NULL, NULL, out);
    /* the worker took them several at once */
    ck_assert_int_ge(fgt_metric(&one, "feegate_db_pool_batched_requests_total") - batched, 2);
    /* and applied them as sets, none of which had to fall back to one by one */
    ck_assert_int_ge(fgt_metric(&one, "feegate_notification_set_members_total") - members, 2);
    ck_assert_int_eq(fgt_metric(&one, "feegate_notification_sets_run_alone_total"), alone);
    for (int i = 0; i < PLAIN; i++) {
        fgt_expect(out[i], 200, NULL);
        ck_assert_str_eq(out[i].body, "{\"received\":true}");
        expect_order(orders[i], i < PARTLY ? "partially_paid" : "paid", 10000 + i);
        ck_assert_int_eq(journals_of(pays[i]), 1);
        ck_assert_str_eq(payment_status(pays[i], status), "succeeded");
    }
    /* the redelivery and the second delivery: acknowledged, recorded as duplicates, no effect */
    fgt_expect(out[k], 200, NULL);
    fgt_expect(out[k + 1], 200, NULL);
    ck_assert_int_eq(journals_of(early), 1);
    ck_assert_int_eq(inbox_rows(bodies[k], "applied"), 1);
    ck_assert_int_eq(inbox_rows(bodies[k], "duplicate"), 1);
    ck_assert_int_eq(inbox_rows(bodies[0], "applied"), 1);
    ck_assert_int_eq(inbox_rows(bodies[0], "duplicate"), 1);
    /* one order, two payments: paid once, the other's money kept as unapplied */
    fgt_expect(out[k + 2], 200, NULL);
    fgt_expect(out[k + 3], 200, NULL);
    expect_order(shared_order, "paid", 70000);
    ck_assert_str_eq(payment_status(s1, status), "succeeded");
    ck_assert_str_eq(payment_status(s2, status), "succeeded");
    /* (and the unknown payment's 5000 below) */
    ck_assert_int_eq(liability("liabilities:unapplied") - unapplied, 70000 + 5000);
    /* the failure: the payment failed, the order untouched */
    fgt_expect(out[k + 4], 200, NULL);
    ck_assert_str_eq(payment_status(failing, status), "failed");
    ck_assert_int_eq(journals_of(failing), 0);
    expect_order(failing_order, "open", 0);
    /* unknown payments: 404 each; the success's money is kept as unapplied (applied row, a receipt
     * journal), the failure's row failed; the forgery: 401, a rejected row, payment 1 untouched */
    static const char NOT_FOUND[] = "{\"received\":false,\"error\":\"payment_not_found\"}";
    ck_assert_int_eq(out[k + 5].status, 404);
    ck_assert_str_eq(out[k + 5].body, NOT_FOUND);
    ck_assert_int_eq(inbox_rows(bodies[k + 5], "applied"), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'receipt' AND memo LIKE CONCAT('%', ?, "
                                "'%no such payment of ours')",
                                "pay_nosuchpaymentinthisset", NULL),
                     1);
    ck_assert_int_eq(out[k + 7].status, 404);
    ck_assert_str_eq(out[k + 7].body, NOT_FOUND);
    ck_assert_int_eq(inbox_rows(bodies[k + 7], "failed"), 1);
    ck_assert_int_eq(out[k + 6].status, 401);
    ck_assert_str_eq(out[k + 6].body, "{\"received\":false,\"error\":\"signature_invalid\"}");
    ck_assert_int_eq(inbox_rows(bodies[k + 6], "rejected"), 1);
    ck_assert_int_eq(journals_of(pays[1]), 1);
    for (int i = 0; i < N; i++)
        fgt_response_free(&out[i]);
    /* the set wrote its rows' feed and owed rows itself (it flipped derived_rows), and they are what
     * the triggers would have written; the ledger check holds the owed sums against the orders */
    ck_assert_int_ge(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN merchants m ON m.id = p.merchant_id WHERE "
                                "m.public_id = ? AND p.derived_rows = 1 AND p.status = ?",
                                mer, "succeeded"),
                     2);
    /* (the orders were created by grouped creates, derived_rows 1, which the set's UPDATE flipped) */
    ck_assert_int_ge(fgt_db_int("SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id WHERE "
                                "m.public_id = ? AND o.derived_rows = 0 AND o.status = ?",
                                mer, "partially_paid"),
                     1);
    expect_feed_is_rows();
    ledger_holds();
}
END_TEST

START_TEST(second_transaction_on_a_paid_payment_goes_to_unapplied)
{
    char order[40], pay[40], merchant_account[96], tx1[64], tx2[64];
    snprintf(merchant_account, sizeof(merchant_account), "liabilities:merchant:%s", mer);
    snprintf(tx1, sizeof(tx1), "%s", fgt_unique("TX1"));
    snprintf(tx2, sizeof(tx2), "%s", fgt_unique("TX2"));
    long long merchant_before = liability(merchant_account), unapplied_before = liability("liabilities:unapplied");
    long long clearing_before = -liability("assets:clearing:sandbox");
    long long receipts_before = fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'receipt'", NULL, NULL);
    new_order(180000, 0, NULL, order);
    new_payment(order, 0, pay);
    fgt_response_t r = notify(pay, tx1, "succeeded", 180000);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    /* the same transaction again: a duplicate, nothing more */
    r = notify(pay, tx1, "succeeded", 180000);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(liability("liabilities:unapplied") - unapplied_before, 0);
    /* another transaction for the same payment: money received twice, kept as unapplied */
    r = notify(pay, tx2, "succeeded", 180000);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(r.body, "{\"received\":true}");
    fgt_response_free(&r);
    ck_assert_int_eq(liability(merchant_account) - merchant_before, 180000);
    ck_assert_int_eq(liability("liabilities:unapplied") - unapplied_before, 180000);
    ck_assert_int_eq(-liability("assets:clearing:sandbox") - clearing_before, 360000);
    ck_assert_int_eq(journals_of(pay), 1); /* the payment keeps its one posting */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'receipt'", NULL, NULL) - receipts_before,
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'receipt' AND payment_id IS NULL AND "
                                "memo LIKE CONCAT(?, '%')",
                                pay, NULL),
                     1);
    ck_assert_int_eq(
        fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE adapter = 'sandbox' AND provider_event_id = ? "
                   "AND status = 'applied' AND reason LIKE 'second provider transaction%'",
                   tx2, NULL),
        1);
    r = get("payments", pay);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    ck_assert_int_eq(fgt_json_int(&r, "amount_applied", NULL), 180000);
    ck_assert_int_eq(fgt_json_int(&r, "amount_unapplied", NULL), 0);
    fgt_response_free(&r);
    expect_order(order, "paid", 180000);
    /* the provider retries the second one: a duplicate, no second receipt */
    r = notify(pay, tx2, "succeeded", 180000);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(liability("liabilities:unapplied") - unapplied_before, 180000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'receipt'", NULL, NULL) - receipts_before,
                     1);
    ledger_holds();
}
END_TEST

START_TEST(refunds_never_exceed_the_payment)
{
    enum { N = 10 };
    char order[40], pay[40], path[128];
    new_order(100000, 0, NULL, order);
    new_payment(order, 0, pay);
    fgt_response_t r = notify(pay, fgt_unique("TX"), "succeeded", 100000);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", pay);
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, NULL, "{\"amount\":100001}", 0, NULL);
    fgt_expect(r, 422, "refund_exceeds_refundable");
    fgt_response_free(&r);
    fgt_response_t out[N];
    fgt_req_many(&srv, FGT_HTTP1, N, "POST", path, key, NULL, "{\"amount\":30000,\"reason\":\"hoàn tiền\"}", NULL, out);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        if (out[i].status == 201)
            ok++;
        else
            fgt_expect(out[i], 422, "refund_exceeds_refundable");
        fgt_response_free(&out[i]);
    }
    ck_assert_int_eq(ok, 3);
    r = get("payments", pay);
    ck_assert_int_eq(fgt_json_int(&r, "amount_refunded", NULL), 90000);
    fgt_response_free(&r);
    r = get("orders", order);
    ck_assert_int_eq(fgt_json_int(&r, "amount_refunded", NULL), 90000);
    fgt_response_free(&r);
    ledger_holds();
}
END_TEST

/* A refund is read back as the object its POST answered (GET /v1/refunds/{id}, the same bytes
 * while nothing changed, and the same as its key's replay), and a payment's refunds are listed
 * newest first in cursor pages; an unknown refund or payment is 404. */
START_TEST(refunds_are_read_back_and_listed)
{
    enum { N = 3 };
    char order[40], pay[40], path[160], ids[N][64], idems[N][40], bodies[N][64];
    new_order(100000, 0, NULL, order);
    new_payment(order, 0, pay);
    fgt_response_t r = notify(pay, fgt_unique("TX"), "succeeded", 100000);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", pay);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq((long long)fgt_json_array(&r, "data", NULL)->u.array.len, 0);
    ck_assert(fgt_json_is_null(&r, "next_cursor", NULL));
    fgt_response_free(&r);
    for (int i = 0; i < N; i++) {
        snprintf(idems[i], sizeof(idems[i]), "%s", fgt_unique("rk"));
        snprintf(bodies[i], sizeof(bodies[i]), "{\"amount\":%d,\"reason\":\"hoàn %d\"}", 10000 * (i + 1), i);
        fgt_response_t made = fgt_req(&srv, FGT_H2C, "POST", path, key, idems[i], bodies[i], 0, NULL);
        fgt_expect(made, 201, NULL);
        snprintf(ids[i], sizeof(ids[i]), "%s", fgt_json_str(&made, "id", NULL));
        r = get("refunds", ids[i]);
        fgt_expect(r, 200, NULL);
        ck_assert_str_eq(r.body, made.body);
        fgt_response_free(&r);
        r = fgt_req(&srv, FGT_H2C, "POST", path, key, idems[i], bodies[i], 0, NULL); /* the key's replay */
        ck_assert_str_eq(fgt_header(&r, "idempotent-replayed"), "true");
        ck_assert_str_eq(r.body, made.body);
        fgt_response_free(&r);
        fgt_response_free(&made);
    }
    r = get("refunds", ids[0]);
    ck_assert_str_eq(fgt_json_str(&r, "object", NULL), "refund");
    ck_assert_str_eq(fgt_json_str(&r, "payment_id", NULL), pay);
    ck_assert_str_eq(fgt_json_str(&r, "order_id", NULL), order);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    ck_assert_str_eq(fgt_json_str(&r, "reason", NULL), "hoàn 0");
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 10000);
    fgt_response_free(&r);
    /* newest first, two to a page, then the last with no cursor after it */
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds?limit=2", pay);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((long long)data->u.array.len, 2);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "id", NULL), ids[2]);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[1], "id", NULL), ids[1]);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM refunds WHERE public_id = ?", ids[2], NULL), 30000);
    const char *cursor = fgt_json_str(&r, "next_cursor", NULL);
    ck_assert_ptr_nonnull(cursor);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds?limit=2&cursor=%s", pay, cursor);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq((long long)data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "id", NULL), ids[0]);
    ck_assert(fgt_json_is_null(&r, "next_cursor", NULL));
    /* an item of the list is the refund as GET /v1/refunds/{id} gives it */
    fgt_response_t first = get("refunds", ids[0]);
    ck_assert_ptr_nonnull(strstr(r.body, first.body));
    fgt_response_free(&first);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds?limit=0", pay);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect(r, 400, "invalid_limit");
    fgt_response_free(&r);
    r = get("refunds", "rfd_01J00000000000000000000000");
    fgt_expect_error(r, 404, "not_found", "refund_not_found");
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payments/pay_%s/refunds", fgt_unique("none"));
    r = fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 404, "not_found", "payment_not_found");
    fgt_response_free(&r);
    ledger_holds();
}
END_TEST

/* GET /v1/payments/{id} carries the redirect_url (and qr) the create answered while the payer can
 * still pay through it, and leaves them out once the payment is settled, its order is paid another
 * way, or the payer came back from the page unpaid. */
START_TEST(a_pending_payment_is_read_back_with_its_redirect_url)
{
    char order[40], pay[40], other[40], path[128];
    new_order(70000, 0, NULL, order);
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    fgt_response_t made = fgt_req(&srv, FGT_H2C, "POST", path, key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    fgt_expect(made, 201, NULL);
    snprintf(pay, sizeof(pay), "%s", fgt_json_str(&made, "id", NULL));
    fgt_response_t r = get("payments", pay);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(r.body, made.body); /* the create's answer, whole */
    ck_assert_ptr_nonnull(fgt_json_str(&r, "redirect_url", NULL));
    ck_assert_ptr_null(fgt_val_at(r.json, "qr", NULL));
    fgt_response_free(&r);
    /* the payer came back from it unpaid: the bill's button starts a new payment, so does a client */
    fgt_db_exec("UPDATE payments SET returned_unpaid_at = created_at WHERE public_id = ?", pay);
    r = get("payments", pay);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    ck_assert_ptr_null(fgt_val_at(r.json, "redirect_url", NULL));
    fgt_response_free(&r);
    fgt_db_exec("UPDATE payments SET returned_unpaid_at = NULL WHERE public_id = ?", pay);
    /* the order paid through another payment: nothing more may be paid through this one */
    new_payment(order, 0, other);
    r = notify(other, fgt_unique("TX"), "succeeded", 70000);
    fgt_response_free(&r);
    r = get("payments", pay);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    ck_assert_ptr_null(fgt_val_at(r.json, "redirect_url", NULL));
    fgt_response_free(&r);
    /* settled: the payment's own fields only, as its event carries them */
    r = get("payments", other);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    ck_assert_ptr_null(fgt_val_at(r.json, "redirect_url", NULL));
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events WHERE type = 'payment.succeeded' AND payload = ?", r.body,
                                NULL),
                     1);
    fgt_response_free(&r);
    fgt_response_free(&made);
    ledger_holds();
}
END_TEST

/* A payment's and a refund's amount are read as an order's: a JSON value of the wrong type is 400
 * invalid_type, a missing refund amount says so, and an integer out of range is 422. */
START_TEST(payment_and_refund_amounts_are_read_as_an_order_s)
{
    typedef struct {
        const char *body;
        long status;
        const char *code;
    } refusal_t;
    static const refusal_t PAYMENTS[] = {
        {"{\"method\":\"sandbox\",\"amount\":\"5\"}", 400, "invalid_type"},
        {"{\"method\":\"sandbox\",\"amount\":5.5}", 400, "invalid_type"},
        {"{\"method\":\"sandbox\",\"amount\":1e3}", 400, "invalid_type"},
        {"{\"method\":\"sandbox\",\"amount\":true}", 400, "invalid_type"},
        {"{\"method\":\"sandbox\",\"amount\":0}", 422, "amount_invalid"},
        {"{\"method\":\"sandbox\",\"amount\":-5}", 422, "amount_invalid"},
        {"{\"method\":\"sandbox\",\"amount\":50001}", 422, "amount_invalid"},
        {"{\"method\":\"sandbox\",\"amount\":99999999999999999999}", 422, "amount_invalid"},
    };
    static const refusal_t REFUNDS[] = {
        {"{}", 400, "missing_field"},
        {"{\"amount\":null}", 400, "missing_field"},
        {"{\"amount\":\"5\"}", 400, "invalid_type"},
        {"{\"amount\":5.5}", 400, "invalid_type"},
        {"{\"amount\":0}", 422, "amount_invalid"},
        {"{\"amount\":99999999999999999999}", 422, "refund_exceeds_refundable"},
        {"{\"amount\":-99999999999999999999}", 422, "amount_invalid"},
    };
    char order[40], pay[40], path[128];
    new_order(50000, 0, NULL, order);
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    for (size_t i = 0; i < sizeof(PAYMENTS) / sizeof(PAYMENTS[0]); i++) {
        fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", path, key, NULL, PAYMENTS[i].body, 0, NULL);
        ck_assert_msg(r.status == PAYMENTS[i].status, "%s: %ld %s", PAYMENTS[i].body, r.status, r.body);
        fgt_expect(r, PAYMENTS[i].status, PAYMENTS[i].code);
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "amount");
        fgt_response_free(&r);
    }
    new_payment(order, 0, pay);
    fgt_response_t r = notify(pay, fgt_unique("TX"), "succeeded", 50000);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", pay);
    for (size_t i = 0; i < sizeof(REFUNDS) / sizeof(REFUNDS[0]); i++) {
        r = fgt_req(&srv, FGT_H2C, "POST", path, key, NULL, REFUNDS[i].body, 0, NULL);
        ck_assert_msg(r.status == REFUNDS[i].status, "%s: %ld %s", REFUNDS[i].body, r.status, r.body);
        fgt_expect(r, REFUNDS[i].status, REFUNDS[i].code);
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "amount");
        if (strcmp(REFUNDS[i].code, "missing_field") == 0)
            ck_assert_str_eq(fgt_json_str(&r, "error", "message", NULL),
                             "amount is required: an integer number of minor units");
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds r JOIN payments p ON p.id = r.payment_id "
                                "WHERE p.public_id = ?",
                                pay, NULL),
                     0);
    ledger_holds();
}
END_TEST

/* Refunds arriving together are taken together (a set that fails, counted
 * as "refunds.set" failures on /metrics, or members sharing a transaction of
 * the "refunds" group), and each keeps its own answer: two refunds of one
 * payment that together exceed it (one made, one 422, whichever came
 * first), a refund of a payment not yet paid (409), of no payment (404), and
 * plain ones. */
enum { RF_PLAIN = 24, RF_N = RF_PLAIN + 3, RF_ROUNDS = 3 };

START_TEST(refunds_arriving_together_keep_their_own_answers)
{
    static const char SHARED[] = "feegate_db_group_transactions_total{group=\"refunds\"}";
    static const char SET_FAILED[] = "feegate_db_group_failed_total{group=\"refunds.set\"}";
    char orders[RF_PLAIN][40], pays[RF_PLAIN][40], pending_order[40], pending[40], paths[RF_N][128], auth[128];
    const char *hdrs[] = {auth, NULL};
    fgt_request_t reqs[RF_N];
    fgt_response_t out[RF_N];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    long long together_before = fgt_metric_or_zero(&srv, SHARED) + fgt_metric_or_zero(&srv, SET_FAILED);
    for (int round = 0; round < RF_ROUNDS &&
                        fgt_metric_or_zero(&srv, SHARED) + fgt_metric_or_zero(&srv, SET_FAILED) == together_before;
         round++) {
        for (int i = 0; i < RF_PLAIN; i++) {
            new_order(100000, 0, NULL, orders[i]);
            new_payment(orders[i], 0, pays[i]);
            fgt_response_t r = notify(pays[i], fgt_unique("TXR"), "succeeded", 100000);
            fgt_expect(r, 200, NULL);
            fgt_response_free(&r);
        }
        new_order(50000, 0, NULL, pending_order);
        new_payment(pending_order, 0, pending);
        for (int i = 0; i < RF_PLAIN; i++) {
            snprintf(paths[i], sizeof(paths[i]), "/v1/payments/%.39s/refunds", pays[i]);
            reqs[i] = (fgt_request_t){"POST", paths[i], hdrs, "{\"amount\":40000,\"reason\":\"hoàn học phí\"}",
                                      0,      NULL};
        }
        reqs[RF_PLAIN] = (fgt_request_t){"POST", paths[0], hdrs, "{\"amount\":70000}", 0, NULL};
        snprintf(paths[RF_PLAIN + 1], sizeof(paths[0]), "/v1/payments/%s/refunds", pending);
        reqs[RF_PLAIN + 1] = (fgt_request_t){"POST", paths[RF_PLAIN + 1], hdrs, "{\"amount\":1000}", 0, NULL};
        snprintf(paths[RF_PLAIN + 2], sizeof(paths[0]), "/v1/payments/pay_%.40s/refunds", fgt_unique("none"));
        reqs[RF_PLAIN + 2] = (fgt_request_t){"POST", paths[RF_PLAIN + 2], hdrs, "{\"amount\":1000}", 0, NULL};
        fgt_request_all(&srv, FGT_HTTP1, RF_N, RF_N, reqs, NULL, NULL, out);
        for (int i = 1; i < RF_PLAIN; i++) {
            fgt_expect(out[i], 201, NULL);
            ck_assert_int_eq(fgt_json_int(&out[i], "amount", NULL), 40000);
            ck_assert_str_eq(fgt_json_str(&out[i], "status", NULL), "succeeded");
            fgt_response_t r = get("payments", pays[i]);
            ck_assert_int_eq(fgt_json_int(&r, "amount_refunded", NULL), 40000);
            fgt_response_free(&r);
        }
        /* payment 0: one of its two refunds made, the other beyond what was left */
        int first_made = out[0].status == 201;
        fgt_expect(out[first_made ? 0 : RF_PLAIN], 201, NULL);
        fgt_expect(out[first_made ? RF_PLAIN : 0], 422, "refund_exceeds_refundable");
        fgt_response_t r = get("payments", pays[0]);
        ck_assert_int_eq(fgt_json_int(&r, "amount_refunded", NULL), first_made ? 40000 : 70000);
        fgt_response_free(&r);
        r = get("orders", orders[0]);
        ck_assert_int_eq(fgt_json_int(&r, "amount_refunded", NULL), first_made ? 40000 : 70000);
        fgt_response_free(&r);
        fgt_expect(out[RF_PLAIN + 1], 409, "payment_not_refundable");
        fgt_expect(out[RF_PLAIN + 2], 404, "payment_not_found");
        for (int i = 0; i < RF_N; i++)
            fgt_response_free(&out[i]);
    }
    ck_assert_msg(fgt_metric_or_zero(&srv, SHARED) + fgt_metric_or_zero(&srv, SET_FAILED) > together_before,
                  "no refunds were taken together in %d rounds", RF_ROUNDS);
    ledger_holds();
}
END_TEST

/* The balance GET /v1/ledger/accounts?limit=500<query> lists, read with token, for the
 * account code, paged through with next_cursor however many accounts the
 * database holds (NOT_LISTED when it is not listed); no account listed is in
 * currency absent (when given). */
#define NOT_LISTED LLONG_MIN
static long long listed_balance(const char *token, const char *query, const char *code, const char *absent)
{
    char cursor[64] = "", path[200], wrong[40];
    long long balance = NOT_LISTED;
    snprintf(wrong, sizeof(wrong), "\"currency\":\"%s\"", absent != NULL ? absent : "");
    for (int page = 0; page < 1000 && balance == NOT_LISTED; page++) {
        snprintf(path, sizeof(path), "/v1/ledger/accounts?limit=500%s%s%s", query, cursor[0] ? "&cursor=" : "", cursor);
        fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, token, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        ck_assert_msg(absent == NULL || strstr(r.body, wrong) == NULL, "%s lists %s: %s", path, absent, r.body);
        yajl_val accounts = fgt_json_array(&r, "data", NULL);
        for (size_t i = 0; i < accounts->u.array.len && balance == NOT_LISTED; i++)
            if (strcmp(fgt_val_str(accounts->u.array.values[i], "code", NULL), code) == 0)
                balance = YAJL_GET_INTEGER(fgt_val_at(accounts->u.array.values[i], "balance", NULL));
        const char *next = fgt_json_str(&r, "next_cursor", NULL);
        int more = next != NULL;
        if (more)
            snprintf(cursor, sizeof(cursor), "%s", next);
        fgt_response_free(&r);
        if (!more)
            break;
    }
    return balance;
}

/* Refunds a worker takes together are begun as one set ("refunds.set" on /metrics: one lock of all
 * their payments, one update per table) and each is made as it would be alone: its amount, its
 * payment's and order's counters (two payments of one order add up on the order), its journal, its
 * adjustment receipt and its stored answer.  Then members that cannot be made as asked (two refunds
 * of one payment, more than is refundable, no such payment) and a key sent twice, taken together:
 * each gets its own answer. */
enum { RS_N = 12, RS_ODD = 7 };

static void refund_request(fgt_request_t *req, char *path, const char *pay, const char *body, const char *idem,
                           char *idem_header, const char **hdrs, const char *auth)
{
    snprintf(path, 128, "/v1/payments/%.60s/refunds", pay);
    snprintf(idem_header, 96, "Idempotency-Key: %.70s", idem);
    hdrs[0] = auth;
    hdrs[1] = idem_header;
    hdrs[2] = NULL;
    *req = (fgt_request_t){"POST", path, hdrs, body, 0, NULL};
}

static void paid_payment(long long amount, char *order, char *pay)
{
    new_order(amount, 0, NULL, order);
    new_payment(order, 0, pay);
    fgt_response_t r = notify(pay, fgt_unique("TXS"), "succeeded", amount);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

static long long refunded(const char *kind, const char *id)
{
    fgt_response_t r = get(kind, id);
    long long v = fgt_json_int(&r, "amount_refunded", NULL);
    fgt_response_free(&r);
    return v;
}

START_TEST(refunds_taken_together_are_begun_set_wise)
{
    static const char WORKS[] = "feegate_db_group_works_total{group=\"refunds.set\"}";
    char orders[RS_N][40], pays[RS_N][40], paths[RS_N][128], idems[RS_N][48], idem_h[RS_N][96], auth[128];
    char bodies[RS_N][64], refund_ids[RS_N][48];
    const char *hdrs[RS_N][3];
    fgt_request_t reqs[RS_N];
    fgt_response_t out[RS_N];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    long long works_before = fgt_metric_or_zero(&one, WORKS);
    for (int round = 0; round < 5 && fgt_metric_or_zero(&one, WORKS) - works_before < 2; round++) {
        /* payments 0 and 1: two payments of one order */
        new_order(200000, 1, NULL, orders[0]);
        snprintf(orders[1], sizeof(orders[1]), "%s", orders[0]);
        new_payment(orders[0], 100000, pays[0]);
        new_payment(orders[0], 100000, pays[1]);
        for (int i = 0; i < 2; i++) {
            fgt_response_t r = notify(pays[i], fgt_unique("TXS"), "succeeded", 100000);
            fgt_expect(r, 200, NULL);
            fgt_response_free(&r);
        }
        for (int i = 2; i < RS_N; i++)
            paid_payment(100000, orders[i], pays[i]);
        /* the originals issued (reading a receipt issues it when still queued): the set adjusts
         * them together */
        for (int i = 0; i < RS_N; i++) {
            char receipt_path[128];
            fgt_response_t p = get("payments", pays[i]);
            snprintf(receipt_path, sizeof(receipt_path), "/v1/receipts/%.60s", fgt_json_str(&p, "receipt_id", NULL));
            fgt_response_free(&p);
            p = fgt_req(&one, FGT_H2C, "GET", receipt_path, key, NULL, NULL, 0, NULL);
            fgt_expect(p, 200, NULL);
            ck_assert_str_eq(fgt_json_str(&p, "status", NULL), "issued");
            fgt_response_free(&p);
        }
        for (int i = 0; i < RS_N; i++) {
            snprintf(bodies[i], sizeof(bodies[i]), "{\"amount\":%d,\"reason\":\"hoàn học phí\"}", 10000 + i);
            snprintf(idems[i], sizeof(idems[i]), "%s", fgt_unique("rfs"));
            refund_request(&reqs[i], paths[i], pays[i], bodies[i], idems[i], idem_h[i], hdrs[i], auth);
        }
        fgt_request_all(&one, FGT_H2C, 1, RS_N, reqs, NULL, NULL, out);
        for (int i = 0; i < RS_N; i++) {
            fgt_expect(out[i], 201, NULL);
            ck_assert_int_eq(fgt_json_int(&out[i], "amount", NULL), 10000 + i);
            ck_assert_str_eq(fgt_json_str(&out[i], "status", NULL), "succeeded");
            ck_assert_str_eq(fgt_json_str(&out[i], "payment_id", NULL), pays[i]);
            snprintf(refund_ids[i], sizeof(refund_ids[i]), "%s", fgt_json_str(&out[i], "id", NULL));
            ck_assert_int_eq(refunded("payments", pays[i]), 10000 + i);
            if (i >= 2)
                ck_assert_int_eq(refunded("orders", orders[i]), 10000 + i);
            /* its journal, and an adjustment receipt when the payment has a receipt */
            ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals j JOIN refunds r ON r.id = j.refund_id "
                                        "WHERE r.public_id = ? AND r.status = 'succeeded'",
                                        refund_ids[i], NULL),
                             1);
            fgt_response_t p = get("payments", pays[i]);
            const char *original = fgt_json_str(&p, "receipt_id", NULL),
                       *adjustment = fgt_json_str(&out[i], "receipt_id", NULL);
            ck_assert_ptr_nonnull(original);
            ck_assert_ptr_nonnull(adjustment);
            /* the adjustment: minus the refund, of the payment's original, which is now adjusted */
            ck_assert_int_eq(fgt_db_int("SELECT a.amount FROM receipts a JOIN receipts o ON o.id = a.related_id "
                                        "WHERE a.public_id = ? AND a.kind = 'adjustment' AND o.public_id = ? "
                                        "AND o.kind = 'original' AND o.status = 'adjusted'",
                                        adjustment, original),
                             -(10000 + i));
            fgt_response_free(&p);
        }
        ck_assert_int_eq(refunded("orders", orders[0]), 10000 + 10001);
        /* the school's series has each number once and no gap: the set's adjustments numbered together */
        ck_assert_int_eq(fgt_db_int("SELECT COUNT(DISTINCT r.number) * 2 - COUNT(*) - (MAX(r.number) - MIN(r.number) + "
                                    "1) FROM receipts r JOIN merchants m ON m.id = r.merchant_id WHERE m.public_id = ? "
                                    "AND r.serial = m.receipt_serial",
                                    mer, NULL),
                         0);
        /* a key sent again is answered from what the set stored */
        fgt_response_t again = fgt_req(&one, FGT_H2C, "POST", paths[3], key, idems[3], bodies[3], 0, NULL);
        fgt_expect(again, 201, NULL);
        ck_assert_str_eq(fgt_json_str(&again, "id", NULL), refund_ids[3]);
        ck_assert_str_eq(again.body, out[3].body);
        fgt_response_free(&again);
        ck_assert_int_eq(refunded("payments", pays[3]), 10003);
        for (int i = 0; i < RS_N; i++)
            fgt_response_free(&out[i]);
    }
    ck_assert_msg(fgt_metric_or_zero(&one, WORKS) - works_before >= 2, "no refunds were begun as a set in 5 rounds");

    /* the last round's payments refunded again, together: each original, already adjusted, is
     * adjusted a second time, and its payment has two adjustments */
    for (int i = 0; i < RS_N; i++) {
        snprintf(bodies[i], sizeof(bodies[i]), "{\"amount\":1000}");
        snprintf(idems[i], sizeof(idems[i]), "%s", fgt_unique("rf2"));
        refund_request(&reqs[i], paths[i], pays[i], bodies[i], idems[i], idem_h[i], hdrs[i], auth);
    }
    fgt_request_all(&one, FGT_H2C, 1, RS_N, reqs, NULL, NULL, out);
    for (int i = 0; i < RS_N; i++) {
        fgt_expect(out[i], 201, NULL);
        ck_assert_int_eq(refunded("payments", pays[i]), 11000 + i);
        ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM receipts a JOIN receipts o ON o.id = a.related_id JOIN "
                                    "payments p ON p.id = o.payment_id WHERE p.public_id = ? AND a.kind = "
                                    "'adjustment' AND o.status = 'adjusted'",
                                    pays[i], NULL),
                         2);
        fgt_response_free(&out[i]);
    }

    /* 0 and 1: one payment twice; 2: more than it received; 3: no payment; 4 and 5: one key twice */
    for (int i = 0; i < 4; i++)
        paid_payment(100000, orders[i], pays[i]);
    const char *odd_pay[RS_ODD] = {pays[0], pays[0], pays[1], "pay_0000000000000000000000nothing",
                                   pays[2], pays[2], pays[3]};
    const int odd_amount[RS_ODD] = {30000, 30000, 100001, 1000, 20000, 20000, 10000};
    for (int i = 0; i < RS_ODD; i++) {
        snprintf(bodies[i], sizeof(bodies[i]), "{\"amount\":%d}", odd_amount[i]);
        snprintf(idems[i], sizeof(idems[i]), "%s", i == 5 ? idems[4] : fgt_unique("rfo"));
        refund_request(&reqs[i], paths[i], odd_pay[i], bodies[i], idems[i], idem_h[i], hdrs[i], auth);
    }
    fgt_request_all(&one, FGT_H2C, 1, RS_ODD, reqs, NULL, NULL, out);
    fgt_expect(out[0], 201, NULL);
    fgt_expect(out[1], 201, NULL);
    fgt_expect(out[2], 422, "refund_exceeds_refundable");
    fgt_expect(out[3], 404, "payment_not_found");
    fgt_expect(out[4], 201, NULL);
    fgt_expect(out[5], 201, NULL);
    ck_assert_str_eq(fgt_json_str(&out[4], "id", NULL), fgt_json_str(&out[5], "id", NULL));
    fgt_expect(out[6], 201, NULL);
    ck_assert_int_eq(refunded("payments", pays[0]), 60000);
    ck_assert_int_eq(refunded("orders", orders[0]), 60000);
    ck_assert_int_eq(refunded("payments", pays[1]), 0);
    ck_assert_int_eq(refunded("payments", pays[2]), 20000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM refunds r JOIN payments p ON p.id = r.payment_id "
                                "WHERE p.public_id = ?",
                                pays[2], NULL),
                     1);
    ck_assert_int_eq(refunded("payments", pays[3]), 10000);
    for (int i = 0; i < RS_ODD; i++)
        fgt_response_free(&out[i]);
    ledger_holds();
}
END_TEST

START_TEST(ledger_routes_for_staff)
{
    char order[40], pay[40], finance[96], auditor[96], path[256];
    new_order(640000, 0, NULL, order);
    new_payment(order, 0, pay);
    fgt_response_t r = notify(pay, fgt_unique("TX"), "succeeded", 640000);
    fgt_response_free(&r);
    fgt_staff_token("finance", finance);
    fgt_staff_token("auditor", auditor);
    char code[96];
    snprintf(code, sizeof(code), "liabilities:merchant:%s", mer);
    snprintf(path, sizeof(path), "/v1/ledger/accounts/%s", code);
    const char *tokens[] = {finance, auditor};
    for (int i = 0; i < 2; i++) {
        r = fgt_req(&srv, FGT_H2TLS, "GET", path, tokens[i], NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        ck_assert_str_eq(fgt_json_str(&r, "code", NULL), code);
        ck_assert_str_eq(fgt_json_str(&r, "kind", NULL), "liability");
        ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), "VND");
        ck_assert_int_eq(fgt_json_int(&r, "balance", NULL), liability(code)); /* credit-normal, from the entries */
        ck_assert_int_ge(fgt_json_int(&r, "balance", NULL), 640000);
        fgt_response_free(&r);
    }
    r = fgt_req(&srv, FGT_H2C, "GET",
                "/v1/ledger/accounts/assets:clearing:sandbox?currency=VND&at=2000-01-01T00:00:00Z", finance, NULL, NULL,
                0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "balance", NULL), 0); /* nothing had happened yet in 2000 */
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
    fgt_expect(r, 403, "staff_only");
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", path, NULL, NULL, NULL, 0, NULL);
    fgt_expect(r, 401, "missing_token");
    fgt_response_free(&r);
    /* the account is listed: paged through with next_cursor, however many accounts the database holds */
    ck_assert(listed_balance(auditor, "", code, NULL) != NOT_LISTED);
    /* the list of one currency, as of a moment: every account of it, each at its balance then */
    ck_assert(listed_balance(auditor, "&currency=USD&at=2000-01-01T00:00:00Z", code, "VND") ==
              NOT_LISTED); /* in dong */
    ck_assert_int_eq(listed_balance(auditor, "&currency=VND&at=2000-01-01T00:00:00Z", code, "USD"),
                     0); /* 640,000 came later */
    const char *const refused[] = {"/v1/ledger/accounts?currency=XYZ", "/v1/ledger/accounts?currency=vn",
                                   "/v1/ledger/accounts?at=yesterday"};
    for (int i = 0; i < 3; i++) {
        r = fgt_req(&srv, FGT_H2C, "GET", refused[i], auditor, NULL, NULL, 0, NULL);
        fgt_expect(r, 400, i < 2 ? "invalid_currency" : "invalid_timestamp");
        fgt_response_free(&r);
    }
    snprintf(path, sizeof(path), "/v1/ledger/journals?account=%s&limit=2", code);
    r = fgt_req(&srv, FGT_H2C, "GET", path, finance, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "\"kind\":\"payment\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"credit\":640000"));
    fgt_response_free(&r);
    /* the ledger is append-only, whoever asks */
    ck_assert_uint_ne(fgt_db_try("UPDATE ledger_entries SET amount = amount + 1 WHERE id = (SELECT MAX(id) FROM "
                                 "ledger_entries WHERE currency = ?)",
                                 "VND"),
                      0);
    ck_assert_uint_ne(fgt_db_try("DELETE FROM journals WHERE memo = ?", pay), 0);
    ck_assert_int_ge(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = ?", "staff_user.create", NULL), 2);
    ledger_holds();
}
END_TEST

/* The sandbox redirect_url is a page a demo payer can use: approving there
 * goes through the signed webhook pipeline, once; a second choice changes
 * nothing. */
START_TEST(sandbox_page_approves_through_the_pipeline)
{
    char order[40], pay[40], path[128];
    new_order(250000, 0, NULL, order);
    new_payment(order, 0, pay);
    snprintf(path, sizeof(path), "/sandbox/pay/%s", pay);
    fgt_response_t r = fgt_req(&srv, FGT_H2TLS, "GET", path, NULL, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "value=\"approve\""));
    ck_assert_ptr_nonnull(strstr(r.body, "250.000\xc2\xa0\xe2\x82\xab")); /* 250.000 ₫ */
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"pending\""));
    fgt_response_free(&r);

    r = fgt_req(&srv, FGT_HTTP1, "POST", path, NULL, NULL, "decision=maybe", 0, NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"sandbox-pay\""));
    fgt_response_free(&r);
    ck_assert_int_eq(journals_of(pay), 0);

    r = fgt_req(&srv, FGT_HTTP1, "POST", path, NULL, NULL, "decision=approve", 0,
                "Content-Type: application/x-www-form-urlencoded");
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "role=\"status\">Đã thanh toán<"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"succeeded\""));
    fgt_response_free(&r);
    expect_order(order, "paid", 250000);
    ck_assert_int_eq(journals_of(pay), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox w JOIN payments p ON p.provider_txn_id = "
                                "w.provider_event_id WHERE p.public_id = ? AND w.status = 'applied'",
                                pay, NULL),
                     1);

    r = fgt_req(&srv, FGT_H2C, "POST", path, NULL, NULL, "decision=decline", 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_null(strstr(r.body, "value=\"approve\""));        /* no buttons once settled */
    ck_assert_ptr_nonnull(strstr(r.body, "Giao dịch đã kết thúc")); /* already settled */
    fgt_response_free(&r);
    r = get("payments", pay);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    fgt_response_free(&r);
    ck_assert_int_eq(journals_of(pay), 1);

    r = fgt_req(&srv, FGT_H2C, "GET", "/sandbox/pay/pay_nosuchpayment", NULL, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);
    ledger_holds();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("payments");
    TCase *tc = tcase_create("sandbox");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, success_posts_once);
    tcase_add_test(tc, hundred_identical_notifications_one_journal);
    tcase_add_test(tc, a_genuine_notification_with_70_kib_of_headers_is_applied);
    tcase_add_test(tc, two_payments_race_for_one_order);
    tcase_add_test(tc, expired_order_money_goes_to_unapplied);
    tcase_add_test(tc, partial_payments_sum_to_paid);
    tcase_add_test(tc, failure_changes_state_only_and_forgeries_are_refused);
    tcase_add_test(tc, refunds_never_exceed_the_payment);
    tcase_add_test(tc, refunds_are_read_back_and_listed);
    tcase_add_test(tc, a_pending_payment_is_read_back_with_its_redirect_url);
    tcase_add_test(tc, payment_and_refund_amounts_are_read_as_an_order_s);
    tcase_add_test(tc, refunds_arriving_together_keep_their_own_answers);
    tcase_add_test(tc, refunds_taken_together_are_begun_set_wise);
    tcase_add_test(tc, ledger_routes_for_staff);
    tcase_add_test(tc, sandbox_page_approves_through_the_pipeline);
    tcase_add_test(tc, second_transaction_on_a_paid_payment_goes_to_unapplied);
    tcase_add_test(tc, each_notification_of_a_set_keeps_its_own_answer);
    suite_add_tcase(s, tc);
    fgt_merchant_create("Trường Tiểu học Thanh Toán", mer, key);
    const char *env[] = {"FEEGATE_SANDBOX_SECRET=it-sandbox-secret",
                         "FEEGATE_PUBLIC_BASE_URL=https://pay.example.gov.vn", NULL};
    const char *env_one[] = {"FEEGATE_SANDBOX_SECRET=it-sandbox-secret",
                             "FEEGATE_PUBLIC_BASE_URL=https://pay.example.gov.vn", "FEEGATE_DB_POOL_SIZE=1", NULL};
    fgt_server_start(&srv, env);
    fgt_server_start(&one, env_one);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    if (fgt_server_stop(&one) != 0)
        rc = 1;
    return rc;
}
