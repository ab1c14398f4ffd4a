/*
 * test_settlements.c - gateway payouts end to end: the real feegate against
 * the bank simulator (tests/banksim), the bank's statement and the gateways'
 * settlement files imported over HTTP.
 *
 *   - VNPay withholds its settlement file: its payout line is settled at the
 *     configured fee schedule (recon.fee.vnpay), payments and a refund of the
 *     day, every amount of the journal exact, the batch stored with its rows;
 *   - MoMo's file lists a payment no one made, a payment at the wrong amount
 *     and leaves one out: the payout line (which the schedule cannot
 *     explain) is settled once the file arrives, and the three rows become
 *     settlement_row items, resolved (write-off, undo, accept), the day
 *     closed, the clearing accounts at zero for what was settled, and
 *     `feegate ledger check` green (and red for a batch that does not add up);
 *   - two batches of one day: the payment the first left out is listed by
 *     the second (its ledger_only item matched), the payment both list is
 *     the gateway paying twice (bank_only).
 *   - a school paid only through MoMo hears reconciliation.completed when
 *     the day its batch's payout line was matched on is closed.
 *
 * A gateway's payout settles that gateway's whole business day, so this
 * suite needs a database of its own (FEEGATE_TEST_DATABASE, which ctest
 * sets for every suite): any other payments of the same day would be part
 * of it.
 */
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "banksim_client.h"
#include "harness.h"

#define ACCOUNT "0011001932418"

static fgt_server_t srv;
static fgt_banksim_t bank;
static fgt_merchant_t mer;
static char finance[128], auditor[128];
static char today[16], today_compact[16]; /* the business day (GMT+7) the suite runs on */

/* What both programs read (banksim reads feegate's variables). */
static const char *const SHARED_ENV[][2] = {
    {"FEEGATE_VNPAY_TMN_CODE", "TESTTMN1"},
    {"FEEGATE_VNPAY_HASH_SECRET", "TESTSECRETKEY0123456789ABCDEFGHI"},
    {"FEEGATE_MOMO_PARTNER_CODE", "MOMO"},
    {"FEEGATE_MOMO_ACCESS_KEY", "F8BBA842ECF85"},
    {"FEEGATE_MOMO_SECRET_KEY", "K951B6PE1waDMi640xX08PD3vg6EkVlz"},
    {"FEEGATE_SEPAY_API_KEY", "it-sepay-key"},
    {"FEEGATE_VIETQR_BANK_BIN", "970415"},
    {"FEEGATE_VIETQR_ACCOUNT_NO", ACCOUNT},
};

/* ---- payments through the simulator ------------------------------------------------ */

static void chaos(const char *json)
{
    fgt_response_t r = fgt_banksim_control(&bank, "/control/chaos", json);
    fgt_response_free(&r);
}

/* A payment of amount by method to merchant m, approved at the gateway; its
 * public id and the gateway's transaction number. */
static void pay_to(const fgt_merchant_t *m, const char *method, long long amount, char *payment, char *txn)
{
    char body[300], path[128];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":%lld,\"currency\":\"VND\","
             "\"description\":\"Học phí HK2\"}",
             fgt_unique("ST"), amount);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", m->key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "{\"method\":\"%s\"}", method);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, m->key, fgt_unique("pk"), body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(payment, 40, "%s", fgt_json_str(&r, "id", NULL));
    if (strcmp(method, "vnpay") == 0) {
        /* the payer opens VNPay's pay page: banksim then knows the payment */
        fgt_response_t page = fgt_http("GET", fgt_json_str(&r, "redirect_url", NULL), NULL);
        ck_assert_int_eq(page.status, 200);
        fgt_response_free(&page);
        snprintf(body, sizeof(body), "{\"txn_ref\":\"%s\",\"outcome\":\"approve\"}", payment);
    } else {
        snprintf(body, sizeof(body), "{\"order_id\":\"%s\",\"outcome\":\"approve\"}", payment);
    }
    fgt_response_free(&r);
    r = fgt_banksim_control(&bank, strcmp(method, "vnpay") == 0 ? "/control/vnpay/pay" : "/control/momo/pay", body);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT amount_received FROM payments WHERE public_id = ? AND status = 'succeeded'",
                                payment, NULL),
                     amount);
    long long no = fgt_db_int("SELECT provider_txn_id FROM payments WHERE public_id = ?", payment, NULL);
    ck_assert_int_gt(no, 0);
    snprintf(txn, 24, "%lld", no);
}

/* A payment to the suite's merchant. */
static void pay(const char *method, long long amount, char *payment, char *txn)
{
    pay_to(&mer, method, amount, payment, txn);
}

static void refund(const char *payment, long long amount)
{
    char path[128], body[64];
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", payment);
    snprintf(body, sizeof(body), "{\"amount\":%lld}", amount);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", path, mer.key, fgt_unique("rf"), body, 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    fgt_response_free(&r);
}

/* ---- the bank's and the gateways' files ------------------------------------------- */

/* Today's camt.053 of the collection account, imported. */
static void import_statement(void)
{
    char auth[200];
    fgt_response_t st = fgt_banksim_get(&bank, "/control/statement?format=camt053");
    ck_assert_int_eq(st.status, 200);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: application/xml", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", headers, st.body, 0);
    ck_assert_msg(r.status == 201, "statement import answered %ld: %s", r.status, r.body);
    ck_assert_int_eq(fgt_json_int(&r, "gaps", NULL), 0);
    fgt_response_free(&r);
    fgt_response_free(&st);
}

static fgt_response_t settlement_file(const char *gateway)
{
    char path[80];
    snprintf(path, sizeof(path), "/control/settlement?gateway=%s", gateway);
    return fgt_banksim_get(&bank, path);
}

/* The payout line's item once the matching job decided it (at most 30 s):
 * its state, through the FIELD() index of the ENUM. */
static const char *line_state(const char *ref)
{
    static const char *const NAMES[] = {"none",      "unmatched",   "matched",         "suggested",
                                        "bank_only", "ledger_only", "amount_mismatch", "duplicate"};
    for (int i = 0; i < 300; i++) {
        long long k = fgt_db_int("SELECT FIELD(i.state, 'unmatched', 'matched', 'suggested', 'bank_only', "
                                 "'ledger_only', 'amount_mismatch', 'duplicate') FROM recon_items i JOIN "
                                 "statement_lines l ON l.id = i.line_id WHERE l.bank_ref = ?",
                                 ref, NULL);
        if (k > 1 && k <= 7)
            return NAMES[k];
        fgt_sleep_ms(100);
    }
    ck_abort_msg("the line %s was not decided in 30 s", ref);
    return NULL;
}

/* The signed sum (debit > 0) of an account's entries in one journal, or in
 * all of them (journal 0). */
static long long entries(const char *code, long long journal)
{
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id "
             "WHERE a.code = ?%s%lld",
             journal != 0 ? " AND e.journal_id = " : " AND 0 = ", journal);
    return fgt_db_int(sql, code, NULL);
}

/* A settlement_row item of the day by its transaction number: id, state
 * (FIELD index as line_state) and amount. */
static long long row_item(const char *txn, const char *column)
{
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM recon_items WHERE kind = 'settlement_row' AND account = ? AND transaction_no = ?", column);
    return fgt_db_int(sql, ACCOUNT, txn);
}

static fgt_response_t resolve(const char *rec, long long item, const char *body)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items/%lld/resolve", rec, item);
    return fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, body, 0, NULL);
}

static void setup(void)
{
    fgt_response_t r = fgt_banksim_control(&bank, "/control/reset", "{}");
    fgt_response_free(&r);
}

/* ---- VNPay: no file, the fee schedule ----------------------------------------------- */

START_TEST(vnpay_payout_settled_by_the_fee_schedule)
{
    char p1[40], t1[24], p2[40], t2[24], p3[40], t3[24], ref[32];
    snprintf(ref, sizeof(ref), "VNPSTL%s", today_compact);
    /* VNPay charges 1.1 % + 1,650 VND, rounded half up, as feegate's schedule
     * says; fees of 3,300 (1,650.495 rounds down), 2,641 (990.55 up), 15,230 */
    pay("vnpay", 150045, p1, t1);
    pay("vnpay", 90050, p2, t2);
    pay("vnpay", 1234500, p3, t3);
    refund(p3, 200000); /* deducted from the day's payout, no fee back */
    long long gross = 150045 + 90050 + 1234500 - 200000, fees = 3300 + 2641 + 15230, net = gross - fees;
    ck_assert_int_eq(entries("assets:clearing:vnpay", 0), gross);

    /* the payout line arrives; the settlement file does not */
    chaos("{\"settlement_withhold\":\"vnpay\"}");
    fgt_response_t f = settlement_file("vnpay");
    ck_assert_int_eq(f.status, 404);
    fgt_response_free(&f);
    import_statement();
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM statement_lines WHERE bank_ref = ?", ref, NULL), net);
    ck_assert_str_eq(line_state(ref), "matched");
    ck_assert_int_eq(fgt_db_int("SELECT FIELD(i.rule, 'settlement') FROM recon_items i JOIN statement_lines l ON "
                                "l.id = i.line_id WHERE l.bank_ref = ?",
                                ref, NULL),
                     1);

    /* the batch the schedule made: the day's transactions, each payment's fee */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM settlement_batches WHERE batch_ref = ? AND gateway = 'vnpay' "
                                "AND source = 'schedule' AND line_id IS NOT NULL",
                                ref, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT gross FROM settlement_batches WHERE batch_ref = ?", ref, NULL), gross);
    ck_assert_int_eq(fgt_db_int("SELECT fees FROM settlement_batches WHERE batch_ref = ?", ref, NULL), fees);
    ck_assert_int_eq(fgt_db_int("SELECT net FROM settlement_batches WHERE batch_ref = ?", ref, NULL), net);
    ck_assert_int_eq(fgt_db_int("SELECT row_count FROM settlement_batches WHERE batch_ref = ?", ref, NULL), 4);
    static const char *const ROW_FEE = "SELECT r.fee FROM settlement_rows r JOIN settlement_batches b ON b.id = "
                                       "r.batch_id WHERE b.batch_ref = ? AND r.transaction_no = ? AND r.kind = "
                                       "'payment'";
    ck_assert_int_eq(fgt_db_int(ROW_FEE, ref, t1), 3300);
    ck_assert_int_eq(fgt_db_int(ROW_FEE, ref, t2), 2641);
    ck_assert_int_eq(fgt_db_int(ROW_FEE, ref, t3), 15230);
    ck_assert_int_eq(fgt_db_int("SELECT SUM(r.amount) FROM settlement_rows r JOIN settlement_batches b ON b.id = "
                                "r.batch_id WHERE b.batch_ref = ? AND r.kind = 'refund' AND r.fee = 0",
                                ref, NULL),
                     -200000);

    /* the journal: Dr bank (net), Dr fees, Cr clearing (gross), exactly */
    char journal[24];
    snprintf(journal, sizeof(journal), "%lld",
             fgt_db_int("SELECT journal_id FROM settlement_batches WHERE batch_ref = ?", ref, NULL));
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM ledger_entries WHERE journal_id = ?", journal, NULL), 3);
    ck_assert_int_eq(entries("assets:bank_unreconciled:" ACCOUNT, atoll(journal)), net);
    ck_assert_int_eq(entries("expenses:fees:vnpay", atoll(journal)), fees);
    ck_assert_int_eq(entries("assets:clearing:vnpay", atoll(journal)), -gross);
    /* VNPay's clearing account is back at zero: everything it collected is paid */
    ck_assert_int_eq(entries("assets:clearing:vnpay", 0), 0);
    ck_assert_int_eq(entries("expenses:fees:vnpay", 0), fees);
    /* the file, when it comes, finds the batch made already: nothing new */
    chaos("{}");
    f = settlement_file("vnpay");
    ck_assert_int_eq(f.status, 200);
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    /* sent as another gateway's, it is refused, naming the batch, and stores nothing */
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/settlements?gateway=momo", headers, f.body, 0);
    fgt_expect(r, 400, "invalid_settlement");
    ck_assert_ptr_nonnull(
        strstr(fgt_json_str(&r, "error", "message", NULL), "is vnpay's; this file was sent as momo's"));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM settlement_batches WHERE gateway = 'momo'", NULL, NULL), 0);
    r = fgt_request(&srv, FGT_H2C, "POST", "/v1/settlements?gateway=vnpay", headers, f.body, 0);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "new_batches", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "net", NULL), net); /* the gateway's figures are the schedule's */
    fgt_response_free(&r);
    fgt_response_free(&f);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM settlement_batches WHERE gateway = 'vnpay'", NULL, NULL), 1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- MoMo: a file that differs from the ledger ------------------------------------ */

START_TEST(momo_file_rows_held_against_the_ledger)
{
    char m1[40], t1[24], m2[40], t2[24], m3[40], t3[24], ref[32], unknown[24], body[400];
    snprintf(ref, sizeof(ref), "MOMOSTL%s", today_compact);
    snprintf(unknown, sizeof(unknown), "99%s01", today_compact); /* banksim's made-up transaction */
    /* MoMo charges 1.5 %: 1,800, 3,750 and 1,200 */
    pay("momo", 120000, m1, t1);
    pay("momo", 250000, m2, t2);
    pay("momo", 80000, m3, t3);
    /* MoMo's file lists a payment of 45,000 no one made (fee 675), the second
     * payment at 5,000 more (fee 3,825), and leaves the third out; it pays
     * what it lists */
    chaos("{\"settlement_gateway\":\"momo\",\"settlement_unknown_row\":45000,\"settlement_wrong_amount\":5000,"
          "\"settlement_wrong_amount_row\":2,\"settlement_missing_row\":3}");
    long long gross = 120000 + 255000 + 45000, fees = 1800 + 3825 + 675, net = gross - fees;
    import_statement();
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM statement_lines WHERE bank_ref = ?", ref, NULL), net);
    /* the schedule explains another figure: both named, nothing posted */
    ck_assert_str_eq(line_state(ref), "amount_mismatch");
    snprintf(body, sizeof(body), "%%nets %lld %%the line is %lld%%", 450000LL - 6750, net);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items i JOIN statement_lines l ON l.id = i.line_id "
                                "WHERE l.bank_ref = ? AND i.detail LIKE ?",
                                ref, body),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM settlement_batches WHERE gateway = 'momo'", NULL, NULL), 0);

    /* the file arrives: the line is settled by it, each row held against the ledger */
    fgt_response_t f = settlement_file("momo");
    ck_assert_int_eq(f.status, 200);
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/settlements?gateway=momo", headers, f.body, 0);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "gross", NULL), gross);
    ck_assert_int_eq(fgt_json_int(&r, "fees", NULL), fees);
    ck_assert_int_eq(fgt_json_int(&r, "net", NULL), net);
    fgt_response_free(&r);
    fgt_response_free(&f);
    for (int i = 0; i < 300 && strcmp(line_state(ref), "matched") != 0; i++)
        fgt_sleep_ms(100);
    ck_assert_str_eq(line_state(ref), "matched");
    long long journal = fgt_db_int("SELECT journal_id FROM settlement_batches WHERE batch_ref = ? AND source = 'file'",
                                   ref, NULL);
    ck_assert_int_eq(entries("assets:bank_unreconciled:" ACCOUNT, journal), net);
    ck_assert_int_eq(entries("expenses:fees:momo", journal), fees);
    ck_assert_int_eq(entries("assets:clearing:momo", journal), -gross);

    /* three rows differ from the ledger: items on the payout's account and day */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE kind = 'settlement_row' AND account = ? "
                                "AND gateway = 'momo' AND business_day = ?",
                                ACCOUNT, today_compact),
                     3);
    static const char *const STATE = "FIELD(state, 'bank_only', 'amount_mismatch', 'ledger_only')";
    ck_assert_int_eq(row_item(unknown, STATE), 1);
    ck_assert_int_eq(row_item(unknown, "amount"), 45000);
    ck_assert_int_eq(row_item(t2, STATE), 2);
    ck_assert_int_eq(row_item(t2, "amount"), 5000);
    ck_assert_int_eq(row_item(t3, STATE), 3);
    ck_assert_int_eq(row_item(t3, "amount"), -80000);
    ck_assert_int_eq(row_item(t1, "COUNT(*)"), 0);

    /* the day's reconciliation lists them as exceptions; no bank money among them */
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", ACCOUNT, today, today);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    char rec[64], path[200];
    snprintf(rec, sizeof(rec), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s", rec);
    for (int i = 0; i < 300; i++) { /* the payout lines, sent back to matching, decided again */
        r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
        long long pending = fgt_json_int(&r, "pending", NULL);
        fgt_response_free(&r);
        if (pending == 0)
            break;
        fgt_sleep_ms(100);
    }
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "items", NULL), 5); /* two payout lines, three rows */
    ck_assert_int_eq(fgt_json_int(&r, "matched", NULL), 2);
    ck_assert_int_eq(fgt_json_int(&r, "exceptions", NULL), 3);
    ck_assert_int_eq(fgt_json_int(&r, "states", "bank_only", "amount", NULL), 45000);
    ck_assert_int_eq(fgt_json_int(&r, "states", "amount_mismatch", "amount", NULL), 5000);
    ck_assert_int_eq(fgt_json_int(&r, "states", "ledger_only", "amount", NULL), -80000);
    ck_assert_int_eq(fgt_json_int(&r, "unreconciled", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "difference", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "in_transit", "vnpay", "count", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "in_transit", "momo", "count", NULL), 1); /* the payment MoMo left out */
    ck_assert_int_eq(fgt_json_int(&r, "in_transit", "momo", "amount", NULL), 80000);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/items?state=ledger_only", rec);
    r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_uint_eq(data->u.array.len, 1);
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "kind", NULL), "settlement_row");
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "gateway", NULL), "momo");
    ck_assert_str_eq(fgt_val_str(data->u.array.values[0], "transaction_no", NULL), t3);
    fgt_response_free(&r);

    /* not closed while they are open */
    char close_path[200];
    snprintf(close_path, sizeof(close_path), "/v1/reconciliations/%s/close", rec);
    r = fgt_req(&srv, FGT_H2C, "POST", close_path, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 409, "reconciliation_open_items");
    ck_assert_int_eq(fgt_json_int(&r, "error", "open_items", NULL), 3);
    fgt_response_free(&r);

    /* a row holds no bank money: neither applied to an order nor sent back */
    long long unknown_item = row_item(unknown, "id"), wrong_item = row_item(t2, "id"),
              missing_item = row_item(t3, "id");
    r = resolve(rec, unknown_item, "{\"action\":\"refund\",\"note\":\"send it back\"}");
    fgt_expect(r, 422, "action_not_applicable");
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "{\"action\":\"apply\",\"note\":\"x\",\"orders\":[{\"order\":\"%s\",\"amount\":1}]}",
             m1);
    r = resolve(rec, unknown_item, body);
    fgt_expect(r, 422, "action_not_applicable");
    fgt_response_free(&r);

    /* MoMo paid 45,000 for a transaction we lack: written off (Dr clearing,
     * Cr write-off), taken back, written off again */
    long long write_offs = fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'write_off'", NULL, NULL);
    static const char *const steps[] = {"write_off", "undo", "write_off"};
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"action\":\"%s\",\"note\":\"MoMo paid for a transaction we never had (%d)\"}",
                 steps[i], i);
        r = resolve(rec, unknown_item, body);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE kind = 'write_off'", NULL, NULL), write_offs + 2);
    long long wo = fgt_db_int("SELECT resolution_journal_id FROM recon_items WHERE transaction_no = ? AND kind = "
                              "'settlement_row'",
                              unknown, NULL);
    ck_assert_int_eq(entries("assets:clearing:momo", wo), 45000);
    ck_assert_int_eq(entries("expenses:reconciliation", wo), -45000);
    /* the wrong amount: MoMo paid 5,000 more than the payment received */
    r = resolve(rec, wrong_item, "{\"action\":\"write_off\",\"note\":\"MoMo's amount is wrong; they keep it\"}");
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "resolution", NULL), "write_off");
    fgt_response_free(&r);
    /* the payment MoMo left out: accepted, it comes in a later batch */
    r = resolve(rec, missing_item, "{\"action\":\"accept\",\"note\":\"MoMo pays it with tomorrow's batch\"}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", close_path, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert(fgt_json_int(&r, "closed_days", NULL) == 1);
    fgt_response_free(&r);

    /* what was settled left the clearing account exactly: MoMo's account
     * holds only the payment it has not paid yet, VNPay's nothing */
    char payments[200];
    snprintf(payments, sizeof(payments), "%s,%s", m1, m2);
    ck_assert_int_eq(fgt_db_int("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON "
                                "a.id = e.account_id AND a.code = 'assets:clearing:momo' JOIN journals j ON j.id = "
                                "e.journal_id LEFT JOIN payments p ON p.id = j.payment_id WHERE FIND_IN_SET("
                                "p.public_id, ?) OR j.id IN (SELECT b.journal_id FROM settlement_batches b WHERE "
                                "b.batch_ref = ?) OR j.id IN (SELECT i.resolution_journal_id FROM recon_items i "
                                "WHERE i.kind = 'settlement_row')",
                                payments, ref),
                     0);
    ck_assert_int_eq(entries("assets:clearing:momo", 0), 80000);
    ck_assert_int_eq(entries("assets:clearing:vnpay", 0), 0);
    ck_assert_int_eq(entries("expenses:reconciliation", 0), -50000);
    ck_assert_int_eq(entries("assets:bank_unreconciled:" ACCOUNT, 0), 0); /* every bank line explained */
    ck_assert_int_eq(fgt_ledger_check(), 0);
    /* ledger check holds each batch to its rows and its journal */
    fgt_db_exec("UPDATE settlement_batches SET fees = fees + 1, net = net - 1 WHERE batch_ref = ?", ref);
    ck_assert_int_eq(fgt_ledger_check(), 1);
    fgt_db_exec("UPDATE settlement_batches SET fees = fees - 1, net = net + 1 WHERE batch_ref = ?", ref);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- batches that overlap ------------------------------------------------------------ */

/* POST a file to path as content_type; its answer's status. */
static long post_file(const char *path, const char *content_type, const char *body)
{
    char auth[200], type[80];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance);
    snprintf(type, sizeof(type), "Content-Type: %s", content_type);
    const char *headers[] = {auth, type, NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", path, headers, body, 0);
    long status = r.status;
    ck_assert_msg(status == 201, "%s answered %ld: %s", path, status, r.body);
    fgt_response_free(&r);
    return status;
}

/* A settlement file of one batch listing payments (transaction, payment id,
 * amount at 1.5 %) and the statement line (our CSV layout) paying it to
 * account; imported, and the line's state once decided. */
static const char *settle_batch(const char *account, const char *batch, const char *const (*rows)[3], int n)
{
    char file[2048], line[512];
    long long net = 0;
    int len = snprintf(file, sizeof(file), "batch_ref,transaction_no,order_ref,transaction_time,type,amount,fee,net\n");
    for (int i = 0; i < n; i++) {
        long long amount = atoll(rows[i][2]), fee = (amount * 150 + 5000) / 10000;
        len += snprintf(file + len, sizeof(file) - (size_t)len, "%s,%s,%s,%s 10:00:00,payment,%lld,%lld,%lld\n", batch,
                        rows[i][0], rows[i][1], today, amount, fee, amount - fee);
        net += amount - fee;
    }
    post_file("/v1/settlements?gateway=momo", "text/csv", file);
    snprintf(line, sizeof(line),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,%s,%s,%lld,%s,,MOMO,MOMO SETTLEMENT BATCH %s\n",
             account, today, today, net, batch, batch);
    post_file("/v1/statements?format=csv", "text/csv", line);
    return line_state(batch);
}

/* The collections report's fees from the rollups (fees of the day, every gateway) and from the
 * journals (the full scan), for today. */
static long long fees_today(const char *source)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=adapter%s", today, today, source);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    long long fees = fgt_json_int(&r, "totals", "fees", NULL);
    fgt_response_free(&r);
    return fees;
}

/* Waits (up to 60 s) for the rollups to cover every ledger entry there is now. */
static void rolled_up_to_now(void)
{
    long long upto = fgt_db_int("SELECT MAX(id) FROM ledger_entries", NULL, NULL);
    for (int i = 0; i < 600; i++) {
        if (fgt_db_int("SELECT upto_entry_id FROM report_watermarks WHERE name = 'collections'", NULL, NULL) >= upto)
            return;
        fgt_sleep_ms(100);
    }
    ck_abort_msg("the rollups did not reach entry %lld in 60 s", upto);
}

/* MoMo settles and pays out a transaction whose notification never came (and whose status it
 * would not tell us): the settlement's journal is posted, and rolled up, before the payment's.
 * When the payment is posted at last, its fee is counted in the rollups as in the journals
 * (counted with the settlement alone, it was never counted: the payment was not there yet). */
START_TEST(a_fee_settled_before_its_payment_is_posted_is_counted_once)
{
    char body[300], path[128], payment[48], txn[24], account[40], batch[40];
    snprintf(account, sizeof(account), "%s", fgt_account("STLF"));
    snprintf(batch, sizeof(batch), "MOMOB%s", fgt_unique("f"));
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":150000,\"currency\":\"VND\"}",
             fgt_unique("LATE"));
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", mer.key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, mer.key, fgt_unique("pk"), "{\"method\":\"momo\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(payment, sizeof(payment), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    chaos("{\"lose_ipn\":true,\"fail_api\":true}");
    snprintf(body, sizeof(body), "{\"order_id\":\"%s\",\"outcome\":\"approve\"}", payment);
    r = fgt_banksim_control(&bank, "/control/momo/pay", body);
    ck_assert_int_eq(r.status, 200);
    const char *t = strstr(fgt_json_str(&r, "redirect_url", NULL), "transId=");
    ck_assert_ptr_nonnull(t);
    snprintf(txn, sizeof(txn), "%.*s", (int)strspn(t + 8, "0123456789"), t + 8);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'pending'", payment,
                                NULL),
                     1);
    const char *const rows[][3] = {{txn, payment, "150000"}};
    ck_assert_str_eq(settle_batch(account, batch, rows, 1), "matched");
    rolled_up_to_now();
    long long before = fees_today("");
    ck_assert_int_eq(before, fees_today("&source=journals")); /* the payment is not posted: no fee of it yet */
    /* MoMo answers the status query again: the payment is posted */
    chaos("{}");
    for (int i = 0; i < 600 && fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = "
                                          "'succeeded'",
                                          payment, NULL) == 0;
         i++)
        fgt_sleep_ms(100);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'succeeded'", payment,
                                NULL),
                     1);
    rolled_up_to_now();
    long long fee = (150000LL * 150 + 5000) / 10000;
    ck_assert_int_eq(fees_today("&source=journals"), before + fee);
    ck_assert_int_eq(fees_today(""), before + fee);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A payout line that came before its batch's file, whose bank reference is
 * the bank's own and whose memo names the batch: when the file arrives the
 * line goes back to matching, like one whose reference is the batch's, and
 * the file settles it. */
START_TEST(a_payout_line_naming_its_batch_in_the_memo_is_settled_by_the_file)
{
    char p1[40], t1[24], account[40], own[40], file[1024], line[512];
    static const char BATCH[] = "MOMOSTL20250101"; /* a day no other test's batch is named after */
    snprintf(account, sizeof(account), "%s", fgt_account("STLM"));
    snprintf(own, sizeof(own), "FT%s", fgt_unique("m"));
    pay("momo", 200000, p1, t1);
    long long fee = (200000LL * 150 + 5000) / 10000, net = 200000 - fee;
    snprintf(line, sizeof(line),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,%s,%s,%lld,%s,,MOMO,MOMO TT %s PHI DICH VU\n",
             account, today, today, net, own, BATCH);
    post_file("/v1/statements?format=csv", "text/csv", line);
    const char *before = line_state(own);
    ck_assert_msg(strcmp(before, "matched") != 0, "the line matched before its batch's file came");
    snprintf(file, sizeof(file),
             "batch_ref,transaction_no,order_ref,transaction_time,type,amount,fee,net\n"
             "%s,%s,%s,%s 10:00:00,payment,200000,%lld,%lld\n",
             BATCH, t1, p1, today, fee, net);
    post_file("/v1/settlements?gateway=momo", "text/csv", file);
    for (int i = 0; i < 300 && strcmp(line_state(own), "matched") != 0; i++)
        fgt_sleep_ms(100);
    ck_assert_str_eq(line_state(own), "matched");
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(a_later_batch_lists_what_an_earlier_one_left_out)
{
    char m4[40], t4[24], m5[40], t5[24], account[40], batch_a[40], batch_b[40];
    snprintf(account, sizeof(account), "%s", fgt_account("STLX"));
    snprintf(batch_a, sizeof(batch_a), "MOMOB%s", fgt_unique("a"));
    snprintf(batch_b, sizeof(batch_b), "MOMOB%s", fgt_unique("b"));
    pay("momo", 100000, m4, t4);
    pay("momo", 60000, m5, t5);
    /* batch A lists the first payment only: the second is MoMo's omission */
    const char *const a_rows[][3] = {{t4, m4, "100000"}};
    ck_assert_str_eq(settle_batch(account, batch_a, a_rows, 1), "matched");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND kind = 'settlement_row'",
                                account, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM recon_items WHERE account = ? AND transaction_no = ? AND state = "
                                "'ledger_only'",
                                account, t5),
                     -60000);
    /* batch B lists it after all, and the first payment again */
    const char *const b_rows[][3] = {{t5, m5, "60000"}, {t4, m4, "100000"}};
    ck_assert_str_eq(settle_batch(account, batch_b, b_rows, 2), "matched");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND transaction_no = ? AND state "
                                "= 'matched' AND detail LIKE '%lists it'",
                                account, t5),
                     1);
    /* the first payment, paid twice: the gateway's money we do not own */
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM recon_items WHERE account = ? AND transaction_no = ? AND state = "
                                "'bank_only' AND kind = 'settlement_row'",
                                account, t4),
                     100000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND kind = 'settlement_row'",
                                account, NULL),
                     2);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A day whose MoMo payment was refunded in full within the batch: the batch
 * nets nothing, so no payout line will ever come; its payment is settled by
 * the file, not money still on its way to the bank. */
START_TEST(a_batch_netting_nothing_leaves_nothing_in_transit)
{
    char m[40], t[24], batch[40], file[600], body[200], path[200];
    snprintf(batch, sizeof(batch), "MOMOB%s", fgt_unique("z"));
    pay("momo", 200000, m, t);
    refund(m, 200000);
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", ACCOUNT, today, today);
    long long count[2], amount[2];
    for (int k = 0; k < 2; k++) {
        if (k == 1) { /* the file: the payment and its refund, no fee taken (a school's fee-free contract) */
            snprintf(file, sizeof(file),
                     "batch_ref,transaction_no,order_ref,transaction_time,type,amount,fee,net\n"
                     "%s,%s,%s,%s 10:00:00,payment,200000,0,200000\n"
                     "%s,R%s,%s,%s 11:00:00,refund,-200000,0,-200000\n",
                     batch, t, m, today, batch, t, m, today);
            post_file("/v1/settlements?gateway=momo", "text/csv", file);
        }
        fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
        fgt_expect(r, 201, NULL);
        snprintf(path, sizeof(path), "/v1/reconciliations/%s", fgt_json_str(&r, "id", NULL));
        fgt_response_free(&r);
        r = fgt_req(&srv, FGT_H2C, "GET", path, auditor, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        count[k] = fgt_json_int(&r, "in_transit", "momo", "count", NULL);
        amount[k] = fgt_json_int(&r, "in_transit", "momo", "amount", NULL);
        fgt_response_free(&r);
    }
    ck_assert_int_ge(count[0], 1);
    ck_assert_int_eq(count[1], count[0] - 1);
    ck_assert_int_eq(amount[1], amount[0] - 200000);
    ck_assert_int_eq(fgt_db_int("SELECT net FROM settlement_batches WHERE batch_ref = ?", batch, NULL), 0);
}
END_TEST

/* A school paid only through MoMo: its money reaches the bank in a gateway's
 * settlement batch, never on a transfer line of its own.  When the day is
 * closed it hears reconciliation.completed all the same, naming the payment
 * the batch settled and when the day closed (RFC 3339, as every time the API
 * writes). */
START_TEST(a_merchant_paid_by_a_gateway_batch_hears_its_day_reconciled)
{
    fgt_merchant_t school;
    char p[40], t[24], account[40], batch[40], body[300], rec[64], path[200];
    fgt_merchant_create("Trường Mầm non Ví Điện Tử", school.id, school.key);
    snprintf(account, sizeof(account), "%s", fgt_account("STLR"));
    snprintf(batch, sizeof(batch), "MOMOB%s", fgt_unique("r"));
    pay_to(&school, "momo", 175000, p, t);
    const char *const rows[][3] = {{t, p, "175000"}};
    ck_assert_str_eq(settle_batch(account, batch, rows, 1), "matched");

    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}", account, today, today);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/reconciliations", finance, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(rec, sizeof(rec), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    /* MoMo payments of the day that no batch lists (the other tests'): the
     * batch's ledger_only items, none of them the school's; accepted */
    for (long long item; (item = fgt_db_int("SELECT COALESCE(MIN(id), 0) FROM recon_items WHERE account = ? AND "
                                            "state <> 'matched' AND resolution IS NULL",
                                            account, NULL)) > 0;) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", item);
        ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE id = ? AND kind = 'settlement_row'", id,
                                    NULL),
                         1);
        r = resolve(rec, item, "{\"action\":\"accept\",\"note\":\"MoMo pays it in another batch\"}");
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    snprintf(path, sizeof(path), "/v1/reconciliations/%s/close", rec);
    r = fgt_req(&srv, FGT_H2C, "POST", path, finance, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);

    static const char *const EVENT = "FROM events e JOIN merchants m ON m.id = e.merchant_id WHERE m.public_id = ? "
                                     "AND e.type = 'reconciliation.completed' AND JSON_VALUE(e.payload, '$.id') = ?";
    char sql[800];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) %s", EVENT);
    ck_assert_int_eq(fgt_db_int(sql, school.id, rec), 1);
    snprintf(sql, sizeof(sql), "SELECT JSON_VALUE(e.payload, '$.payments') %s", EVENT);
    ck_assert_int_eq(fgt_db_int(sql, school.id, rec), 1);
    snprintf(sql, sizeof(sql), "SELECT JSON_VALUE(e.payload, '$.amount') %s", EVENT);
    ck_assert_int_eq(fgt_db_int(sql, school.id, rec), 175000);
    snprintf(sql, sizeof(sql), "SELECT JSON_VALUE(e.payload, '$.payouts') %s", EVENT);
    ck_assert_int_eq(fgt_db_int(sql, school.id, rec), 0);
    /* closed_at is an RFC 3339 UTC time, within a minute of now */
    snprintf(sql, sizeof(sql),
             "SELECT JSON_TYPE(JSON_EXTRACT(e.payload, '$.closed_at')) = 'STRING' AND JSON_VALUE(e.payload, "
             "'$.closed_at') REGEXP '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' AND ABS(TIMESTAMPDIFF("
             "SECOND, STR_TO_DATE(JSON_VALUE(e.payload, '$.closed_at'), '%%Y-%%m-%%dT%%H:%%i:%%sZ'), UTC_TIMESTAMP())) "
             "< 60 %s",
             EVENT);
    ck_assert_int_eq(fgt_db_int(sql, school.id, rec), 1);
    /* and the school reads it where it reads every event (listed once settled) */
    int listed = 0;
    for (int i = 0; i < 100 && !listed; i++) {
        r = fgt_req(&srv, FGT_H2C, "GET", "/v1/events?type=reconciliation.completed", school.key, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        listed = strstr(r.body, rec) != NULL;
        fgt_response_free(&r);
        if (!listed)
            fgt_sleep_ms(100);
    }
    ck_assert_msg(listed, "reconciliation.completed %s never listed to the school", rec);
}
END_TEST

int main(void)
{
    for (size_t i = 0; i < sizeof(SHARED_ENV) / sizeof(SHARED_ENV[0]); i++)
        setenv(SHARED_ENV[i][0], SHARED_ENV[i][1], 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    time_t t = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    strftime(today_compact, sizeof(today_compact), "%Y%m%d", &tm);
    int http_port = fgt_free_port();
    fgt_banksim_start(&bank, http_port);
    /* VNPay charges 1.1 % + 1,650 VND, MoMo 1.5 %, both rounded half up */
    char fees_url[128];
    snprintf(fees_url, sizeof(fees_url), "%s/control/fees", bank.url);
    fgt_response_t r = fgt_http("POST", fees_url,
                                "{\"vnpay\":{\"percent_bp\":110,\"fixed\":1650},"
                                "\"momo\":{\"percent_bp\":150,\"fixed\":0}}");
    if (r.status != 200) {
        fprintf(stderr, "banksim /control/fees answered %ld: %s\n", r.status, r.body);
        return 1;
    }
    fgt_response_free(&r);
    fgt_merchant_create("Trường THPT Quyết Toán", mer.id, mer.key);
    fgt_staff_token("finance", finance);
    fgt_staff_token("auditor", auditor);
    /* the suite reconciles today's statement and closes today: the day need not be over */
    const char *env[] = {"FEEGATE_RECON_FEE_VNPAY=1.1%+1650", "FEEGATE_RECON_FEE_MOMO=1.5%",
                         "FEEGATE_RECON_CLOSE_AFTER_HOUR=0", NULL};
    fgt_banksim_feegate_start(&srv, &bank, http_port, env);

    Suite *s = suite_create("settlements");
    TCase *tc = tcase_create("payouts");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, vnpay_payout_settled_by_the_fee_schedule);
    tcase_add_test(tc, momo_file_rows_held_against_the_ledger);
    tcase_add_test(tc, a_later_batch_lists_what_an_earlier_one_left_out);
    tcase_add_test(tc, a_payout_line_naming_its_batch_in_the_memo_is_settled_by_the_file);
    tcase_add_test(tc, a_fee_settled_before_its_payment_is_posted_is_counted_once);
    tcase_add_test(tc, a_batch_netting_nothing_leaves_nothing_in_transit);
    tcase_add_test(tc, a_merchant_paid_by_a_gateway_batch_hears_its_day_reconciled);
    suite_add_tcase(s, tc);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    fgt_banksim_stop(&bank);
    curl_global_cleanup();
    return rc;
}
