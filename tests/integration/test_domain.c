/*
 * test_domain.c - the money door without HTTP: notifications applied through
 * fg_webhook_apply_one exactly as the reconciliation job, the status-query
 * job and the bank feed call it, against the private MariaDB.  Every case
 * ends with `feegate ledger check`.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "db/db.h"
#include "harness.h"
#include "payments/payments_internal.h"

static fg_config_t cfg;
static fg_db_t *db;
static fgt_merchant_t mer;
static long long merchant_row;

static void setup(void)
{
    fgt_config_load(&cfg);
    db = fgt_db_open(&cfg);
    fgt_merchant_create("Domain water utility", mer.id, mer.key);
    merchant_row = fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", mer.id, NULL);
    ck_assert_int_gt(merchant_row, 0);
}

static void teardown(void)
{
    fg_db_close(db);
    fg_config_free(&cfg);
}

/* A pending sandbox payment pay of amount on the order whose `order_of`
 * condition (one ? for key) holds. */
static void insert_payment(const char *pay, long long amount, const char *order_of, const char *key)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, created_at, "
             "updated_at) SELECT '%s', id, merchant_id, 'sandbox', %lld, 'VND', 'pending', 0, 0 FROM orders WHERE %s",
             pay, amount, order_of);
    fgt_db_exec(sql, key);
}

/* An order of amount (status as given) with a pending sandbox payment of
 * the same amount; the payment's public id into pay. */
static void order_with_payment(long long amount, int allow_partial, const char *status, char *pay)
{
    char sql[1024], order[FGT_ID_CAP];
    const char *tag = fgt_unique("D");
    /* tags are [A-Za-z0-9-] (fgt_unique): safe to write into the statement */
    snprintf(sql, sizeof(sql),
             "INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, amount, currency, allow_partial, "
             "status, code, created_at, updated_at) VALUES ('ord_%s', %lld, '%s', 'utility', %lld, 'VND', %d, "
             "'%s', UPPER(LEFT(SHA2('%s', 256), 11)), 0, 0)",
             tag, merchant_row, tag, amount, allow_partial, status, tag);
    fgt_db_exec(sql, NULL);
    snprintf(order, sizeof(order), "ord_%s", tag);
    snprintf(pay, FGT_ID_CAP, "pay_%s", tag);
    insert_payment(pay, amount, "public_id = ?", order);
}

/* A second pending sandbox payment of amount on the order of payment first;
 * its public id (first's and "2") into pay. */
static void second_payment(const char *first, long long amount, char *pay)
{
    snprintf(pay, FGT_ID_CAP, "%.60s2", first);
    insert_payment(pay, amount, "id = (SELECT order_id FROM payments WHERE public_id = ?)", first);
}

typedef struct {
    const fg_inbound_t *in;
    const fg_notification_t *n;
    fg_ack_t outcome;
    const char *reason;
} apply_t;

static int apply_tx(fg_db_t *d, void *arg)
{
    apply_t *a = arg;
    return fg_webhook_apply_one(d, &cfg, a->in, fg_adapter_find("sandbox"), a->n, &a->outcome, &a->reason);
}

/* Applies a succeeded notification of amount for pay, as provider
 * transaction txn; returns fg_db_tx's result and the outcome. */
static int apply(const char *pay, const char *txn, long long amount, fg_ack_t *outcome)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"amount\":%lld}", pay, txn,
             amount);
    fg_inbound_t in = {.method = "POST", .body = body, .body_len = strlen(body)};
    fg_notification_t n;
    memset(&n, 0, sizeof(n));
    snprintf(n.payment_id, sizeof(n.payment_id), "%s", pay);
    snprintf(n.provider_txn_id, sizeof(n.provider_txn_id), "%s", txn);
    snprintf(n.event_id, sizeof(n.event_id), "%s", txn);
    n.status = FG_NOTIFY_SUCCEEDED;
    n.amount = amount;
    apply_t a = {&in, &n, FG_ACK_ERROR, NULL};
    int rc = fg_db_tx(db, apply_tx, &a);
    *outcome = a.outcome;
    return rc;
}

static long long payment_col(const char *pay, const char *column)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM payments WHERE public_id = ?", column);
    return fgt_db_int(sql, pay, NULL);
}

static long long order_paid(const char *pay)
{
    return fgt_db_int("SELECT o.amount_paid FROM orders o JOIN payments p ON p.order_id = o.id WHERE p.public_id = ?",
                      pay, NULL);
}

static long long order_status_is(const char *pay, const char *status)
{
    return fgt_db_int("SELECT COUNT(*) FROM orders o JOIN payments p ON p.order_id = o.id WHERE p.public_id = ? "
                      "AND o.status = ?",
                      pay, status);
}

/* Credits of the payment's journal to the merchant and to unapplied. */
static long long posted(const char *pay, const char *account_like)
{
    return fgt_db_int("SELECT COALESCE(-SUM(e.amount), 0) FROM journals j JOIN payments p ON p.id = j.payment_id "
                      "JOIN ledger_entries e ON e.journal_id = j.id JOIN ledger_accounts a ON a.id = e.account_id "
                      "WHERE p.public_id = ? AND a.code LIKE ?",
                      pay, account_like);
}

START_TEST(success_settles_the_order)
{
    char pay[FGT_ID_CAP];
    fg_ack_t outcome;
    order_with_payment(250000, 0, "open", pay);
    ck_assert_int_eq(apply(pay, fgt_unique("TX"), 250000, &outcome), 0);
    ck_assert_int_eq(outcome, FG_ACK_APPLIED);
    ck_assert_int_eq(payment_col(pay, "amount_applied"), 250000);
    ck_assert_int_eq(payment_col(pay, "amount_unapplied"), 0);
    ck_assert_int_eq(order_paid(pay), 250000);
    ck_assert_int_eq(order_status_is(pay, "paid"), 1);
    ck_assert_int_eq(posted(pay, "liabilities:merchant:%"), 250000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE provider_event_id = "
                                "(SELECT provider_txn_id FROM payments WHERE public_id = ?) AND status = 'applied'",
                                pay, NULL),
                     1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(duplicate_has_one_effect)
{
    char pay[FGT_ID_CAP], txn[64];
    fg_ack_t outcome;
    order_with_payment(120000, 0, "open", pay);
    snprintf(txn, sizeof(txn), "%s", fgt_unique("TX"));
    ck_assert_int_eq(apply(pay, txn, 120000, &outcome), 0);
    for (int i = 0; i < 3; i++) /* the same event again: its inbox key is taken, nothing changes */
        ck_assert_int_eq(apply(pay, txn, 120000, &outcome), FG_ECONFLICT);
    ck_assert_int_eq(order_paid(pay), 120000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals j JOIN payments p ON p.id = j.payment_id "
                                "WHERE p.public_id = ?",
                                pay, NULL),
                     1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(overpayment_goes_unapplied)
{
    char pay[FGT_ID_CAP];
    fg_ack_t outcome;
    order_with_payment(100000, 0, "open", pay);
    ck_assert_int_eq(apply(pay, fgt_unique("TX"), 130000, &outcome), 0);
    ck_assert_int_eq(payment_col(pay, "amount_received"), 130000);
    ck_assert_int_eq(payment_col(pay, "amount_applied"), 100000);
    ck_assert_int_eq(payment_col(pay, "amount_unapplied"), 30000);
    ck_assert_int_eq(order_paid(pay), 100000);
    ck_assert_int_eq(posted(pay, "liabilities:merchant:%"), 100000);
    ck_assert_int_eq(posted(pay, "liabilities:unapplied"), 30000);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(closed_order_takes_nothing)
{
    static const char *const CLOSED[] = {"cancelled", "expired", "paid"};
    for (int i = 0; i < 3; i++) {
        char pay[FGT_ID_CAP];
        fg_ack_t outcome;
        if (strcmp(CLOSED[i], "paid") == 0) {
            /* paid by a first payment, then a second payment of the order is notified */
            char first[FGT_ID_CAP];
            order_with_payment(80000, 1, "open", first);
            ck_assert_int_eq(apply(first, fgt_unique("TX"), 80000, &outcome), 0);
            second_payment(first, 80000, pay);
        } else {
            order_with_payment(80000, 1, CLOSED[i], pay);
        }
        long long paid_before = order_paid(pay);
        ck_assert_int_eq(apply(pay, fgt_unique("TX"), 80000, &outcome), 0);
        /* the money is never refused: recorded, all of it unapplied, for staff */
        ck_assert_int_eq(payment_col(pay, "amount_received"), 80000);
        ck_assert_int_eq(payment_col(pay, "amount_applied"), 0);
        ck_assert_int_eq(payment_col(pay, "amount_unapplied"), 80000);
        ck_assert_int_eq(order_paid(pay), paid_before);
        ck_assert_int_eq(order_status_is(pay, CLOSED[i]), 1);
        ck_assert_int_eq(posted(pay, "liabilities:unapplied"), 80000);
    }
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(partial_payments_add_up)
{
    char pay[FGT_ID_CAP], pay2[FGT_ID_CAP];
    fg_ack_t outcome;
    order_with_payment(90000, 1, "open", pay);
    second_payment(pay, 50000, pay2); /* a second payment row on the same order */
    ck_assert_int_eq(apply(pay, fgt_unique("TX"), 40000, &outcome), 0);
    ck_assert_int_eq(order_status_is(pay, "partially_paid"), 1);
    ck_assert_int_eq(apply(pay2, fgt_unique("TX"), 60000, &outcome), 0); /* 10,000 more than owed */
    ck_assert_int_eq(order_status_is(pay, "paid"), 1);
    ck_assert_int_eq(order_paid(pay), 90000);
    ck_assert_int_eq(payment_col(pay2, "amount_applied"), 50000);
    ck_assert_int_eq(payment_col(pay2, "amount_unapplied"), 10000);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* The provider took money for a payment we do not have: answered "not
 * found", the money kept as unapplied (one receipt journal), once. */
START_TEST(unknown_payment_is_not_applicable)
{
    fg_ack_t outcome;
    long long journals = fgt_db_int("SELECT COUNT(*) FROM journals", NULL, NULL);
    char txn[64];
    snprintf(txn, sizeof(txn), "%s", fgt_unique("TX"));
    ck_assert_int_eq(apply("pay_NOSUCHPAYMENT00000000000", txn, 1000, &outcome), 0);
    ck_assert_int_eq(outcome, FG_ACK_NOT_FOUND);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals", NULL, NULL), journals + 1);
    ck_assert_int_eq(
        fgt_db_int("SELECT COUNT(*) FROM journals j JOIN ledger_entries e ON e.journal_id = j.id JOIN "
                   "ledger_accounts a ON a.id = e.account_id WHERE j.memo LIKE CONCAT('%', ?, '%') AND a.code = "
                   "'liabilities:unapplied' AND e.amount = -1000",
                   txn, NULL),
        1);
    ck_assert_int_eq(apply("pay_NOSUCHPAYMENT00000000000", txn, 1000, &outcome), FG_ECONFLICT); /* once */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals", NULL, NULL), journals + 1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

static Suite *domain_suite(void)
{
    Suite *s = suite_create("domain");
    TCase *tc = fgt_tcase(s, "apply", setup, teardown);
    tcase_add_test(tc, success_settles_the_order);
    tcase_add_test(tc, duplicate_has_one_effect);
    tcase_add_test(tc, overpayment_goes_unapplied);
    tcase_add_test(tc, closed_order_takes_nothing);
    tcase_add_test(tc, partial_payments_add_up);
    tcase_add_test(tc, unknown_payment_is_not_applicable);
    return s;
}

int main(void) { return fgt_run(domain_suite()); }
