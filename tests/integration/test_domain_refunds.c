/*
 * test_domain_refunds.c - payments and refunds without HTTP: an order made
 * with fg_order_create, a sandbox payment started with fg_payment_create and
 * paid through fg_webhook_apply_one, then refunds through the one pipeline
 * (fg_refund_begin, fg_refund_call_provider, fg_refund_record) in
 * transactions of their own against the private MariaDB, as the API, the
 * status job and the reconciliation call them.  Every case ends with
 * `feegate ledger check`.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "db/db.h"
#include "harness.h"
#include "orders/orders.h"
#include "payments/payments.h"

static fg_config_t cfg;
static fg_db_t *db;
static fgt_merchant_t mer;
static fg_merchant_ref_t merchant;

static void setup(void)
{
    fgt_config_load(&cfg);
    /* a collection account, so that VietQR payments can be started */
    free(cfg.vietqr_bank_bin);
    free(cfg.vietqr_account_no);
    cfg.vietqr_bank_bin = strdup("970436");
    cfg.vietqr_account_no = strdup("0011001234567");
    ck_assert(cfg.vietqr_bank_bin != NULL && cfg.vietqr_account_no != NULL);
    db = fgt_db_open(&cfg);
    fgt_merchant_create("Domain refunds utility", mer.id, mer.key);
    long long row = fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", mer.id, NULL);
    ck_assert_int_gt(row, 0);
    merchant = (fg_merchant_ref_t){.id = (uint64_t)row, .public_id = mer.id};
}

static void teardown(void)
{
    fg_db_close(db);
    fg_config_free(&cfg);
}

/* ---- an order, a payment, the money ---------------------------------------------- */

typedef struct {
    const fg_order_input_t *in;
    fg_order_row_t row;
} order_t;

static int order_tx(fg_db_t *d, void *arg)
{
    order_t *o = arg;
    return fg_order_create(d, &merchant, o->in, fg_now_ms(), &o->row);
}

typedef struct {
    const char *order_id;
    fg_payment_new_t pn;
} pay_t;

static int pay_tx(fg_db_t *d, void *arg)
{
    pay_t *p = arg;
    return fg_payment_create(d, &cfg, &merchant, p->order_id, strlen(p->order_id), &p->pn);
}

typedef struct {
    const fg_adapter_t *adapter;
    const fg_inbound_t *in;
    const fg_notification_t *n;
    fg_ack_t outcome;
    const char *reason;
} apply_t;

static int apply_tx(fg_db_t *d, void *arg)
{
    apply_t *a = arg;
    return fg_webhook_apply_one(d, &cfg, a->in, a->adapter, a->n, &a->outcome, &a->reason);
}

/* An order of amount VND paid in full through method ("sandbox" or
 * "vietqr"); its payment's public id into pay. */
static void paid_order(const char *method, long long amount, char pay[FG_ID_CAP])
{
    fg_order_input_t in;
    memset(&in, 0, sizeof(in));
    in.merchant_ref = fgt_unique("R");
    in.fee_type = "utility";
    in.amount = amount;
    memcpy(in.currency, "VND", 4);
    order_t o = {.in = &in};
    fg_order_row_init(&o.row);
    ck_assert_int_eq(fg_db_tx(db, order_tx, &o), 0);

    pay_t p = {.order_id = o.row.public_id.data};
    p.pn.adapter = fg_adapter_find(method);
    ck_assert_ptr_nonnull(p.pn.adapter);
    ck_assert_int_eq(fg_db_tx(db, pay_tx, &p), 0);
    ck_assert_int_eq(p.pn.amount, amount);
    ck_assert_int_eq(p.pn.payment.status, FG_PAYMENT_PENDING);
    snprintf(pay, FG_ID_CAP, "%s", p.pn.payment_id);

    char body[256], txn[64];
    snprintf(txn, sizeof(txn), "%s", fgt_unique("T"));
    snprintf(body, sizeof(body), "{\"payment_id\":\"%s\",\"amount\":%lld}", pay, amount);
    fg_inbound_t inbound = {.method = "POST", .body = body, .body_len = strlen(body)};
    fg_notification_t n;
    memset(&n, 0, sizeof(n));
    snprintf(n.payment_id, sizeof(n.payment_id), "%s", pay);
    snprintf(n.provider_txn_id, sizeof(n.provider_txn_id), "%s", txn);
    snprintf(n.event_id, sizeof(n.event_id), "%s", txn);
    n.status = FG_NOTIFY_SUCCEEDED;
    n.amount = amount;
    apply_t a = {p.pn.adapter, &inbound, &n, FG_ACK_ERROR, NULL};
    ck_assert_int_eq(fg_db_tx(db, apply_tx, &a), 0);
    ck_assert_int_eq(a.outcome, FG_ACK_APPLIED);
    fg_payment_new_free(&p.pn);
    fg_order_row_free(&o.row);
}

static long long payment_col(const char *pay, const char *column)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM payments WHERE public_id = ?", column);
    return fgt_db_int(sql, pay, NULL);
}

static long long order_refunded(const char *pay)
{
    return fgt_db_int("SELECT o.amount_refunded FROM orders o JOIN payments p ON p.order_id = o.id "
                      "WHERE p.public_id = ?",
                      pay, NULL);
}

static long long refunds_of(const char *pay, const char *status)
{
    return fgt_db_int("SELECT COUNT(*) FROM refunds r JOIN payments p ON p.id = r.payment_id "
                      "WHERE p.public_id = ? AND r.status = ?",
                      pay, status);
}

static long long refund_events(const char *refund_id, const char *type)
{
    char like[80];
    snprintf(like, sizeof(like), "%%\"id\":\"%s\"%%", refund_id);
    return fgt_db_int("SELECT COUNT(*) FROM events WHERE type = ? AND payload LIKE ?", type, like);
}

/* ---- the pipeline, as the API runs it for an adapter in process ------------------ */

typedef struct {
    fg_db_t *db;
    const char *pay;
    fg_refund_t r;
    int force; /* record this result instead of asking the provider */
    fg_refund_result_t forced;
} refund_arg_t;

static int refund_tx(fg_db_t *d, void *arg)
{
    refund_arg_t *x = arg;
    int rc = fg_refund_begin(d, &cfg, &merchant, x->pay, &x->r);
    if (rc != 0)
        return rc;
    if (x->force)
        x->r.result = x->forced;
    else
        fg_refund_call_provider(&cfg, &x->r);
    return fg_refund_record(d, &cfg, &merchant, &x->r);
}

/* Refunds amount of pay in one transaction; the fg_db_tx result. */
static int refund(const char *pay, long long amount, refund_arg_t *x)
{
    memset(x, 0, sizeof(*x));
    x->pay = pay;
    x->r.amount = amount;
    x->r.reason = "overcharged";
    return fg_db_tx(db, refund_tx, x);
}

/* fg_refund_record alone, for a refund begun earlier. */
static int record_tx(fg_db_t *d, void *arg)
{
    refund_arg_t *x = arg;
    return fg_refund_record(d, &cfg, &merchant, &x->r);
}

START_TEST(partial_refunds_add_up_to_what_was_received)
{
    char pay[FG_ID_CAP];
    refund_arg_t x;
    paid_order("sandbox", 100000, pay);
    ck_assert_int_eq(refund(pay, 30000, &x), 0);
    ck_assert_int_eq(x.r.result, FG_REFUND_MADE);
    ck_assert_int_eq(x.r.status, FG_REFUND_SUCCEEDED);
    ck_assert_ptr_nonnull(strstr(x.r.json.data, "\"status\":\"succeeded\""));
    ck_assert_int_eq(refund_events(x.r.refund_id, "refund.succeeded"), 1);
    fg_refund_free(&x.r);
    ck_assert_int_eq(payment_col(pay, "amount_refunded"), 30000);
    ck_assert_int_eq(payment_col(pay, "amount_refunding"), 0);
    ck_assert_int_eq(order_refunded(pay), 30000);

    ck_assert_int_eq(refund(pay, 70000, &x), 0);
    fg_refund_free(&x.r);
    ck_assert_int_eq(payment_col(pay, "amount_refunded"), 100000);
    ck_assert_int_eq(refunds_of(pay, "succeeded"), 2);
    /* the reversing journals take back exactly what the payment credited */
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN journals j "
                                "ON j.id = e.journal_id JOIN refunds r ON r.id = j.refund_id JOIN payments p "
                                "ON p.id = r.payment_id WHERE p.public_id = ? AND e.amount > 0",
                                pay, NULL),
                     100000);

    ck_assert_int_eq(refund(pay, 1, &x), FG_EEXCEEDS);
    ck_assert_int_eq(x.r.refundable, 0);
    fg_refund_free(&x.r);
    ck_assert_int_eq(refunds_of(pay, "succeeded"), 2);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(exceeding_refund_changes_nothing)
{
    char pay[FG_ID_CAP];
    refund_arg_t x;
    paid_order("sandbox", 50000, pay);
    ck_assert_int_eq(refund(pay, 50001, &x), FG_EEXCEEDS);
    ck_assert_int_eq(x.r.refundable, 50000);
    fg_refund_free(&x.r);
    ck_assert_int_eq(refunds_of(pay, "pending") + refunds_of(pay, "succeeded") + refunds_of(pay, "failed"), 0);
    ck_assert_int_eq(payment_col(pay, "amount_refunded"), 0);
    ck_assert_int_eq(payment_col(pay, "amount_refunding"), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(refusals_name_their_reason)
{
    char pay[FG_ID_CAP], qr[FG_ID_CAP];
    refund_arg_t x;
    ck_assert_int_eq(refund("pay_doesnotexist", 1000, &x), FG_ENOTFOUND);
    fg_refund_free(&x.r);

    /* a payment still pending has received nothing to refund */
    fg_order_input_t in;
    memset(&in, 0, sizeof(in));
    in.merchant_ref = fgt_unique("P");
    in.fee_type = "tuition";
    in.amount = 20000;
    memcpy(in.currency, "VND", 4);
    order_t o = {.in = &in};
    fg_order_row_init(&o.row);
    ck_assert_int_eq(fg_db_tx(db, order_tx, &o), 0);
    pay_t p = {.order_id = o.row.public_id.data};
    p.pn.adapter = fg_adapter_find("sandbox");
    ck_assert_int_eq(fg_db_tx(db, pay_tx, &p), 0);
    snprintf(pay, sizeof(pay), "%s", p.pn.payment_id);
    fg_payment_new_free(&p.pn);
    fg_order_row_free(&o.row);
    ck_assert_int_eq(refund(pay, 1000, &x), FG_ESTATE);
    fg_refund_free(&x.r);

    /* another merchant's payment does not exist for this one */
    paid_order("sandbox", 30000, pay);
    fg_merchant_ref_t mine = merchant;
    merchant.id = mine.id + 1000000;
    ck_assert_int_eq(refund(pay, 1000, &x), FG_ENOTFOUND);
    fg_refund_free(&x.r);
    merchant = mine;

    /* a bank transfer is returned by an outgoing transfer, not through the API */
    paid_order("vietqr", 40000, qr);
    ck_assert_int_eq(refund(qr, 1000, &x), FG_EUNSUPPORTED);
    fg_refund_free(&x.r);
    ck_assert_int_eq(refunds_of(qr, "pending") + refunds_of(pay, "pending"), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(refused_refund_releases_its_reservation)
{
    char pay[FG_ID_CAP];
    refund_arg_t x;
    paid_order("sandbox", 60000, pay);
    memset(&x, 0, sizeof(x));
    x.pay = pay;
    x.r.amount = 60000;
    x.force = 1;
    x.forced = FG_REFUND_REFUSED;
    ck_assert_int_eq(fg_db_tx(db, refund_tx, &x), 0);
    ck_assert_int_eq(x.r.status, FG_REFUND_FAILED);
    ck_assert_int_eq(refund_events(x.r.refund_id, "refund.failed"), 1);
    fg_refund_free(&x.r);
    ck_assert_int_eq(refunds_of(pay, "failed"), 1);
    ck_assert_int_eq(payment_col(pay, "amount_refunding"), 0);
    ck_assert_int_eq(payment_col(pay, "amount_refunded"), 0);
    /* all of it is refundable again */
    ck_assert_int_eq(refund(pay, 60000, &x), 0);
    fg_refund_free(&x.r);
    ck_assert_int_eq(payment_col(pay, "amount_refunded"), 60000);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(unknown_outcome_stays_reserved_until_recorded)
{
    char pay[FG_ID_CAP];
    refund_arg_t x, other;
    paid_order("sandbox", 80000, pay);
    memset(&x, 0, sizeof(x));
    x.pay = pay;
    x.r.amount = 50000;
    x.force = 1;
    x.forced = FG_REFUND_UNKNOWN;
    ck_assert_int_eq(fg_db_tx(db, refund_tx, &x), 0);
    ck_assert_int_eq(x.r.status, FG_REFUND_PENDING);
    ck_assert_int_eq(payment_col(pay, "amount_refunding"), 50000);
    /* the reservation counts against every other refund meanwhile */
    ck_assert_int_eq(refund(pay, 30001, &other), FG_EEXCEEDS);
    ck_assert_int_eq(other.r.refundable, 30000);
    fg_refund_free(&other.r);

    /* the provider's final answer arrives (as the status job records it) */
    x.r.result = FG_REFUND_MADE;
    snprintf(x.r.provider_refund_id, sizeof(x.r.provider_refund_id), "prv-%s", fgt_unique("F"));
    ck_assert_int_eq(fg_db_tx(db, record_tx, &x), 0);
    ck_assert_int_eq(x.r.status, FG_REFUND_SUCCEEDED);
    ck_assert_int_eq(payment_col(pay, "amount_refunding"), 0);
    ck_assert_int_eq(payment_col(pay, "amount_refunded"), 50000);
    /* a second answer for the same refund changes nothing */
    ck_assert_int_eq(fg_db_tx(db, record_tx, &x), FG_ESTATE);
    ck_assert_int_eq(x.r.status, FG_REFUND_SUCCEEDED);
    ck_assert_int_eq(payment_col(pay, "amount_refunded"), 50000);
    ck_assert_int_eq(refund_events(x.r.refund_id, "refund.succeeded"), 1);
    fg_refund_free(&x.r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- concurrent refunds of one payment -------------------------------------------- */

#define RACERS 6

typedef struct {
    const char *pay;
    int rc;
} racer_t;

static void *race(void *arg)
{
    racer_t *t = arg;
    fg_db_t *own = fgt_db_open(&cfg);
    refund_arg_t x;
    memset(&x, 0, sizeof(x));
    x.pay = t->pay;
    x.r.amount = 40000;
    t->rc = fg_db_tx(own, refund_tx, &x);
    fg_refund_free(&x.r);
    fg_db_close(own);
    return NULL;
}

START_TEST(concurrent_refunds_never_exceed_the_payment)
{
    char pay[FG_ID_CAP];
    paid_order("sandbox", 100000, pay);
    pthread_t threads[RACERS];
    racer_t racers[RACERS];
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (racer_t){pay, 1};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    int made = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
        made += racers[i].rc == 0;
        refused += racers[i].rc == FG_EEXCEEDS;
    }
    /* 2 x 40,000 fit in 100,000; a third would not */
    ck_assert_int_eq(made, 2);
    ck_assert_int_eq(refused, RACERS - 2);
    ck_assert_int_eq(payment_col(pay, "amount_refunded"), 80000);
    ck_assert_int_eq(payment_col(pay, "amount_refunding"), 0);
    ck_assert_int_eq(refunds_of(pay, "succeeded"), 2);
    ck_assert_int_eq(order_refunded(pay), 80000);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("domain_refunds");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, partial_refunds_add_up_to_what_was_received);
    tcase_add_test(tc, exceeding_refund_changes_nothing);
    tcase_add_test(tc, refusals_name_their_reason);
    tcase_add_test(tc, refused_refund_releases_its_reservation);
    tcase_add_test(tc, unknown_outcome_stays_reserved_until_recorded);
    tcase_add_test(tc, concurrent_refunds_never_exceed_the_payment);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
