/*
 * test_staff_payouts.c - the staff payouts pages on the real server and
 * database (docs/PAGES.md, "Payouts"): what each merchant may be paid is the
 * balance POST /v1/payouts checks; a payout made through the form is the
 * API's payout, audited the same; refusals (over the balance, no payout
 * account, a reference taken, a bad amount) are said on the page in its
 * language and write nothing; a form sent twice makes one payout and one
 * batch; roles and CSRF; a batch made through the page, its file the same
 * bytes as the API's, and its payouts shown paid with the statement line and
 * reconciliation item that paid them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "staff_client.h"

#define SEPAY_KEY "it-staff-payouts-sepay"
#define COLLECTION_ACCOUNT "0011001932418"

static fgt_server_t srv;
static char finance_email[128], auditor_email[128];
static char finance_token[96];

/* ---- helpers ------------------------------------------------------------------------- */

static void login_ok(const char *email, char *session, size_t cap)
{
    fgt_response_t r = login_on(&srv, FGT_HTTP1, email, PASSWORD, session, cap);
    ck_assert_msg(r.status == 303, "login of %s: %ld %.300s", email, r.status, r.body);
    fgt_response_free(&r);
}

static void session_csrf(const char *session, char *csrf, size_t cap)
{
    fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff/payouts");
    ck_assert_msg(r.status == 200, "GET /staff/payouts: %ld %.300s", r.status, r.body);
    csrf_of(&r, csrf, cap);
    fgt_response_free(&r);
}

/* The value of the first name="form_key" of a page into out. */
static void form_key_of(const fgt_response_t *r, char *out, size_t cap)
{
    const char *at = strstr(r->body, "name=\"form_key\" value=\"");
    ck_assert_msg(at != NULL, "no form_key on the page");
    at += strlen("name=\"form_key\" value=\"");
    size_t n = strcspn(at, "\"");
    ck_assert_uint_lt(n, cap);
    memcpy(out, at, n);
    out[n] = '\0';
}

static fgt_response_t post_form(const char *session, const char *path, const char *body)
{
    return post(&srv, FGT_HTTP1, session, path, "application/x-www-form-urlencoded", body, 0);
}

/* A payout through the form: csrf, an optional form key, the fields. */
static fgt_response_t payout_post(const char *session, const char *csrf, const char *key, const char *merchant,
                                  const char *amount, const char *reference)
{
    char body[1024], amount_e[96], reference_e[256];
    form_escape(amount, amount_e, sizeof(amount_e));
    form_escape(reference, reference_e, sizeof(reference_e));
    snprintf(body, sizeof(body), "csrf_token=%s%s%s&merchant=%s&amount=%s&reference=%s", csrf,
             key != NULL ? "&form_key=" : "", key != NULL ? key : "", merchant, amount_e, reference_e);
    return post_form(session, "/staff/payouts", body);
}

/* A transfer of amount naming the order with this code, through the SePay feed. */
static void transfer_in(const char *code, long long amount)
{
    static long long transfers;
    char body[1024], ref[64];
    snprintf(ref, sizeof(ref), "FT%s", fgt_unique("f"));
    snprintf(body, sizeof(body),
             "{\"id\":%lld,\"gateway\":\"Vietcombank\",\"transactionDate\":\"2026-12-02 09:00:00\","
             "\"accountNumber\":\"" COLLECTION_ACCOUNT "\",\"code\":null,\"content\":\"HOC PHI %s\","
             "\"transferType\":\"in\",\"transferAmount\":%lld,\"accumulated\":0,\"subAccount\":null,"
             "\"referenceCode\":\"%s\",\"description\":\"\"}",
             ((long long)time(NULL) % 100000000) * 100000 + (getpid() % 1000) * 100 + transfers++ % 100, code, amount,
             ref);
    const char *headers[] = {"Authorization: Apikey " SEPAY_KEY, "Content-Type: application/json", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/webhooks/sepay", headers, body, 0);
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
}

/* The merchant collects amount: an order paid by a transfer. */
static void fund(const fgt_merchant_t *m, long long amount)
{
    char code[16];
    fgt_response_t r = fgt_order_create(&srv, FGT_H2C, m->key, NULL, fgt_unique("HD"), amount, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(code, sizeof(code), "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
    transfer_in(code, amount);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE code = ? AND status = 'paid'", code, NULL), 1);
}

static void merchant_new(fgt_merchant_t *m, const char *name, int with_account)
{
    char out[1024], err[512];
    fgt_merchant_create(name, m->id, m->key);
    if (!with_account)
        return;
    const char *args[] = {"admin",         "merchant", "set-payout-account",  m->id, "--bin", "970436", "--account",
                          "0071000123456", "--name",   "TRUONG THPT CHI TRA", NULL};
    ck_assert_int_eq(fgt_cli_run(args, NULL, NULL, out, sizeof(out), err, sizeof(err)), 0);
}

/* The number in attr="…" of the element the marker (e.g. data-merchant="mer_…") opens. */
static long long attr_after(const fgt_response_t *r, const char *marker, const char *attr)
{
    const char *at = strstr(r->body, marker);
    ck_assert_msg(at != NULL, "%s not on the page", marker);
    const char *end = strchr(at, '>');
    char key[64];
    snprintf(key, sizeof(key), "%s=\"", attr);
    const char *v = strstr(at, key);
    ck_assert_msg(v != NULL && v < end, "%s has no %s", marker, attr);
    return strtoll(v + strlen(key), NULL, 10);
}

static long long payouts_of(const char *merchant)
{
    return fgt_db_int("SELECT COUNT(*) FROM payouts p JOIN merchants m ON m.id = p.merchant_id WHERE m.public_id = ?",
                      merchant, NULL);
}

static long long audits(const char *action)
{
    return fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = ?", action, NULL);
}

/* The payout id a 303 sends the browser to (/staff/payouts/po_…) into id. */
static void payout_made_at(const fgt_response_t *r, char *id)
{
    ck_assert_msg(r->status == 303, "payout form: %ld %.400s", r->status, r->body);
    const char *location = fgt_header(r, "location");
    ck_assert_ptr_nonnull(location);
    ck_assert_msg(strncmp(location, "/staff/payouts/po_", 18) == 0, "sent to %s", location);
    snprintf(id, FGT_ID_CAP, "%s", location + strlen("/staff/payouts/"));
}

/* POST /v1/payout-batches as finance for account; batches every payout left pending by earlier tests. */
static void batch_leftovers(void)
{
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/payout-batches", finance_token, NULL,
                               "{\"account\":\"" COLLECTION_ACCOUNT "\"}", 0, NULL);
    ck_assert(r.status == 201 || r.status == 409);
    fgt_response_free(&r);
}

/* ---- what each merchant may be paid ---------------------------------------------------- */

START_TEST(the_page_shows_the_balance_a_payout_is_checked_against)
{
    fgt_merchant_t m, bare;
    char session[200], marker[96];
    merchant_new(&m, "Trường Tiểu học Số Dư", 1);
    merchant_new(&bare, "Trường <b>Chưa</b> Có TK", 0);
    fund(&m, 2350000);
    login_ok(finance_email, session, sizeof(session));
    fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff/payouts");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-payouts\""));
    ck_assert_ptr_nonnull(strstr(r.body, "<html lang=\"vi\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/staff/payouts\" aria-current=\"page\""));
    snprintf(marker, sizeof(marker), "data-merchant=\"%s\"", m.id);
    long long shown = attr_after(&r, marker, "data-available");
    ck_assert_int_eq(shown, 2350000);
    ck_assert_ptr_nonnull(strstr(r.body, "2.350.000&nbsp;₫"));
    /* the merchant without a payout account says so; its name escaped */
    snprintf(marker, sizeof(marker), "data-merchant=\"%s\"", bare.id);
    ck_assert_int_eq(attr_after(&r, marker, "data-account"), 0);
    ck_assert_ptr_nonnull(strstr(strstr(r.body, marker), "data-no-account"));
    ck_assert_ptr_nonnull(strstr(r.body, "Trường &lt;b&gt;Chưa&lt;/b&gt; Có TK"));
    ck_assert_ptr_null(strstr(r.body, "<b>Chưa</b>"));
    /* finance sees both forms, the batch form offering the collection account */
    ck_assert_ptr_nonnull(strstr(r.body, "data-form=\"payout-create\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-form=\"batch-create\""));
    ck_assert_ptr_nonnull(strstr(r.body, "<option value=\"" COLLECTION_ACCOUNT "\""));
    ck_assert_ptr_null(strstr(r.body, "style="));
    fgt_response_free(&r);

    /* the API refuses one đồng more, naming the same balance */
    char body[256];
    snprintf(body, sizeof(body), "{\"merchant_id\":\"%s\",\"amount\":%lld,\"reference\":\"%s\"}", m.id, shown + 1,
             fgt_unique("OVER"));
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/payouts", finance_token, NULL, body, 0, NULL);
    fgt_expect_error(r, 422, "invalid_request", "payout_exceeds_balance");
    ck_assert_int_eq(fgt_json_int(&r, "error", "balance", NULL), shown);
    fgt_response_free(&r);

    /* a pending refund holds back part of it, on the page as in the API */
    fgt_db_exec(
        "INSERT INTO refunds (public_id, payment_id, merchant_id, amount, currency, status, reason, "
        "next_query_at, created_at, updated_at) SELECT CONCAT('rfd_', REPLACE(UUID(), '-', '')), p.id, p.merchant_id, 350000, "
        "'VND', 'pending', 'held', NULL, 0, 0 FROM payments p JOIN merchants m ON m.id = p.merchant_id "
        "WHERE m.public_id = ? AND p.status = 'succeeded' LIMIT 1",
        m.id);
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts");
    snprintf(marker, sizeof(marker), "data-merchant=\"%s\"", m.id);
    ck_assert_int_eq(attr_after(&r, marker, "data-available"), 2000000);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/payouts", finance_token, NULL, body, 0, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "error", "balance", NULL), 2000000);
    fgt_response_free(&r);
    fgt_db_exec("UPDATE refunds r JOIN merchants m ON m.id = r.merchant_id SET r.status = 'failed' WHERE "
                "m.public_id = ? AND r.status = 'pending'",
                m.id);
}
END_TEST

/* ---- a payout through the form ---------------------------------------------------------- */

START_TEST(a_payout_made_through_the_form_is_the_apis)
{
    fgt_merchant_t m;
    char session[200], csrf[96], id[FGT_ID_CAP], path[128], reference[64], marker[96];
    merchant_new(&m, "Trường THCS Biểu Mẫu", 1);
    fund(&m, 5000000);
    login_ok(finance_email, session, sizeof(session));
    session_csrf(session, csrf, sizeof(csrf));
    long long audited = audits("payout.create");
    snprintf(reference, sizeof(reference), "%s", fgt_unique("HP-T11/"));
    fgt_response_t r = payout_post(session, csrf, NULL, m.id, "1.500.000", reference);
    payout_made_at(&r, id);
    fgt_response_free(&r);

    /* the API reads the payout the page made: amount, reference, who, pending */
    snprintf(path, sizeof(path), "/v1/payouts/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, finance_token, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 1500000);
    ck_assert_str_eq(fgt_json_str(&r, "reference", NULL), reference);
    ck_assert_str_eq(fgt_json_str(&r, "merchant_id", NULL), m.id);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "pending");
    ck_assert_str_eq(fgt_json_str(&r, "created_by", NULL), finance_email);
    ck_assert_str_eq(fgt_json_str(&r, "beneficiary", "account_number", NULL), "0071000123456");
    fgt_response_free(&r);
    /* audited as the API audits it, the balance before and after */
    ck_assert_int_eq(audits("payout.create"), audited + 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'payout.create' AND object = ? AND "
                                "actor = ? AND JSON_VALUE(before_json, '$.balance') = 5000000 AND "
                                "JSON_VALUE(after_json, '$.balance') = 3500000",
                                id, finance_email),
                     1);

    /* its page, and its row in the list, say what the API says */
    snprintf(path, sizeof(path), "/staff/payouts/%s", id);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-payout\" data-status=\"pending\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-amount=\"1500000\">1.500.000&nbsp;₫"));
    ck_assert_ptr_nonnull(strstr(r.body, reference));
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts?status=pending");
    ck_assert_int_eq(r.status, 200);
    snprintf(marker, sizeof(marker), "data-payout=\"%s\"", id);
    ck_assert_int_eq(attr_after(&r, marker, "data-amount"), 1500000);
    ck_assert_ptr_nonnull(strstr(strstr(r.body, marker), "data-payout-status=\"pending\""));
    snprintf(marker, sizeof(marker), "data-merchant=\"%s\"", m.id);
    ck_assert_int_eq(attr_after(&r, marker, "data-available"), 3500000);
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts?status=paid");
    snprintf(marker, sizeof(marker), "data-payout=\"%s\"", id);
    ck_assert_ptr_null(strstr(r.body, marker));
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts?status=lost");
    ck_assert_int_eq(r.status, 400);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(cursor_pages_hold_every_payout_once)
{
    fgt_merchant_t m;
    char session[200], csrf[96], id[FGT_ID_CAP], path[256];
    merchant_new(&m, "Trường Mầm non Nhiều Trang", 1);
    fund(&m, 60000000);
    login_ok(finance_email, session, sizeof(session));
    session_csrf(session, csrf, sizeof(csrf));
    batch_leftovers();
    for (int i = 0; i < 55; i++) {
        fgt_response_t r = payout_post(session, csrf, NULL, m.id, "100000", fgt_unique("PG"));
        payout_made_at(&r, id);
        fgt_response_free(&r);
    }
    /* pending, 50 a page: the 55 on two pages, none twice */
    int seen = 0, pages = 0;
    snprintf(path, sizeof(path), "/staff/payouts?status=pending");
    for (;;) {
        fgt_response_t r = get(&srv, FGT_HTTP1, session, path);
        ck_assert_int_eq(r.status, 200);
        pages++;
        for (const char *at = strstr(r.body, "<tr data-payout=\""); at != NULL;
             at = strstr(at + 1, "<tr data-payout=\""))
            seen++;
        const char *next = strstr(r.body, "data-next href=\"");
        if (next == NULL) {
            fgt_response_free(&r);
            break;
        }
        next += strlen("data-next href=\"");
        size_t n = strcspn(next, "\"");
        ck_assert_uint_lt(n, sizeof(path));
        memcpy(path, next, n);
        path[n] = '\0';
        char *amp;
        while ((amp = strstr(path, "&amp;")) != NULL) /* the attribute's escaping */
            memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
        ck_assert_ptr_nonnull(strstr(path, "status=pending"));
        fgt_response_free(&r);
        ck_assert_int_lt(pages, 5);
    }
    ck_assert_int_eq(pages, 2);
    ck_assert_int_eq(seen, 55);
}
END_TEST

/* ---- refusals --------------------------------------------------------------------------- */

START_TEST(refusals_are_said_on_the_page_and_write_nothing)
{
    fgt_merchant_t m, bare;
    char session[200], csrf[96], english[260], id[FGT_ID_CAP], reference[64];
    merchant_new(&m, "Trường Tiểu học Từ Chối", 1);
    merchant_new(&bare, "Trường Không Tài Khoản", 0);
    fund(&m, 1000000);
    fund(&bare, 1000000);
    login_ok(finance_email, session, sizeof(session));
    session_csrf(session, csrf, sizeof(csrf));
    snprintf(english, sizeof(english), "%s; lang=en", session);
    long long payouts = fgt_db_int("SELECT COUNT(*) FROM payouts", NULL, NULL);
    long long journals = fgt_db_int("SELECT COUNT(*) FROM journals", NULL, NULL);
    long long audited = audits("payout.create");

    /* more than the balance: the figure and the balance, in Vietnamese, the form as filled in */
    fgt_response_t r = payout_post(session, csrf, NULL, m.id, "1.000.001", "HP-OVER-1");
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-payouts\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-error=\"payout_exceeds_balance\""));
    ck_assert_ptr_nonnull(strstr(r.body, "vượt quá số có thể chi trả"));
    ck_assert_ptr_nonnull(strstr(r.body, "1.000.001&nbsp;₫"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-balance=\"1000000\""));
    ck_assert_ptr_nonnull(strstr(r.body, "value=\"HP-OVER-1\""));
    ck_assert_ptr_nonnull(strstr(r.body, "value=\"1.000.001\""));
    fgt_response_free(&r);
    /* in English when the page is */
    r = payout_post(english, csrf, NULL, m.id, "1000001", "HP-OVER-1");
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "<html lang=\"en\""));
    ck_assert_ptr_nonnull(strstr(r.body, "is more than the merchant may be paid"));
    fgt_response_free(&r);
    /* no payout account */
    r = payout_post(session, csrf, NULL, bare.id, "1000", "HP-NOACC");
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "data-error=\"payout_account_missing\""));
    ck_assert_ptr_nonnull(strstr(r.body, "chưa có tài khoản nhận tiền"));
    fgt_response_free(&r);
    /* no merchant, a bad amount, a bad reference */
    r = payout_post(session, csrf, NULL, "mer_nobody", "1000", "HP-X");
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.body, "data-error=\"merchant_not_found\""));
    fgt_response_free(&r);
    const char *const amounts[] = {"0", "-5", "1,5", "12.34", "1.5000", "abc", "10000000000000000", ""};
    for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
        r = payout_post(session, csrf, NULL, m.id, amounts[i], "HP-AMT");
        ck_assert_msg(r.status == 400 && strstr(r.body, "data-error=\"invalid_amount\"") != NULL, "amount \"%s\": %ld",
                      amounts[i], r.status);
        fgt_response_free(&r);
    }
    r = payout_post(session, csrf, NULL, m.id, "1000", "---");
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "data-error=\"invalid_reference\""));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payouts", NULL, NULL), payouts);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals", NULL, NULL), journals);
    ck_assert_int_eq(audits("payout.create"), audited);

    /* a reference taken by another amount: 409 naming the payout; the same amount is that payout */
    snprintf(reference, sizeof(reference), "%s", fgt_unique("HP-DUP"));
    r = payout_post(session, csrf, NULL, m.id, "400000", reference);
    payout_made_at(&r, id);
    fgt_response_free(&r);
    r = payout_post(session, csrf, NULL, m.id, "300000", reference);
    ck_assert_int_eq(r.status, 409);
    ck_assert_ptr_nonnull(strstr(r.body, "data-error=\"duplicate_reference\""));
    ck_assert_ptr_nonnull(strstr(r.body, id));
    fgt_response_free(&r);
    r = payout_post(session, csrf, NULL, m.id, "400.000", reference);
    ck_assert_int_eq(r.status, 303);
    ck_assert_str_eq(fgt_header(&r, "location") + strlen("/staff/payouts/"), id);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payouts", NULL, NULL), payouts + 1);
    ck_assert_int_eq(audits("payout.create"), audited + 1);
}
END_TEST

/* ---- a form sent twice --------------------------------------------------------------------- */

START_TEST(a_form_sent_twice_makes_one_payout_and_one_batch)
{
    fgt_merchant_t m;
    char session[200], csrf[96], key[64], batch_key[64], first[FGT_ID_CAP], again[FGT_ID_CAP], body[512];
    merchant_new(&m, "Trường THPT Bấm Hai Lần", 1);
    fund(&m, 3000000);
    batch_leftovers();
    login_ok(finance_email, session, sizeof(session));
    fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff/payouts");
    csrf_of(&r, csrf, sizeof(csrf));
    form_key_of(&r, key, sizeof(key));
    ck_assert_ptr_nonnull(strstr(strstr(r.body, "data-form=\"batch-create\""), "name=\"form_key\""));
    const char *b = strstr(strstr(r.body, "data-form=\"batch-create\""), "name=\"form_key\" value=\"");
    snprintf(batch_key, sizeof(batch_key), "%.*s", (int)strcspn(b + 23, "\""), b + 23);
    ck_assert_str_ne(key, batch_key);
    fgt_response_free(&r);
    long long audited = audits("payout.create");

    /* a double click: two sends of one form, at once */
    snprintf(body, sizeof(body), "csrf_token=%s&form_key=%s&merchant=%s&amount=700000&reference=HP-TWICE", csrf, key,
             m.id);
    char cookie[220];
    snprintf(cookie, sizeof(cookie), "Cookie: %s", session);
    const char *headers[] = {cookie, "Content-Type: application/x-www-form-urlencoded", NULL};
    fgt_request_t reqs[2] = {{"POST", "/staff/payouts", headers, body, 0, NULL},
                             {"POST", "/staff/payouts", headers, body, 0, NULL}};
    fgt_response_t out[2];
    fgt_request_all(&srv, FGT_HTTP1, 2, 2, reqs, NULL, NULL, out);
    payout_made_at(&out[0], first);
    payout_made_at(&out[1], again);
    ck_assert_str_eq(first, again);
    fgt_response_free(&out[0]);
    fgt_response_free(&out[1]);
    ck_assert_int_eq(payouts_of(m.id), 1);
    ck_assert_int_eq(audits("payout.create"), audited + 1);
    /* and again later (a reload of the answer): the same payout */
    r = post_form(session, "/staff/payouts", body);
    payout_made_at(&r, again);
    ck_assert_str_eq(first, again);
    fgt_response_free(&r);
    /* the same form sent back with another amount: refused, nothing written */
    snprintf(body, sizeof(body), "csrf_token=%s&form_key=%s&merchant=%s&amount=800000&reference=HP-TWICE2", csrf, key,
             m.id);
    r = post_form(session, "/staff/payouts", body);
    ck_assert_int_eq(r.status, 409);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-error\""));
    fgt_response_free(&r);
    ck_assert_int_eq(payouts_of(m.id), 1);

    /* the batch form twice at once: one batch, both sent to it */
    long long batches = fgt_db_int("SELECT COUNT(*) FROM payout_batches", NULL, NULL);
    snprintf(body, sizeof(body), "csrf_token=%s&form_key=%s&account=" COLLECTION_ACCOUNT, csrf, batch_key);
    fgt_request_t breqs[2] = {{"POST", "/staff/payouts/batches", headers, body, 0, NULL},
                              {"POST", "/staff/payouts/batches", headers, body, 0, NULL}};
    fgt_request_all(&srv, FGT_HTTP1, 2, 2, breqs, NULL, NULL, out);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(out[i].status == 303, "batch form: %ld %.300s", out[i].status, out[i].body);
    ck_assert_str_eq(fgt_header(&out[0], "location"), fgt_header(&out[1], "location"));
    ck_assert_ptr_nonnull(strstr(fgt_header(&out[0], "location"), "/staff/payouts/batches/pob_"));
    fgt_response_free(&out[0]);
    fgt_response_free(&out[1]);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payout_batches", NULL, NULL), batches + 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payouts WHERE public_id = ? AND status = 'batched'", first, NULL),
                     1);
    /* a new form (no key, or a fresh one) finds nothing pending */
    snprintf(body, sizeof(body), "csrf_token=%s&account=" COLLECTION_ACCOUNT, csrf);
    r = post_form(session, "/staff/payouts/batches", body);
    ck_assert_int_eq(r.status, 409);
    ck_assert_ptr_nonnull(strstr(r.body, "data-error=\"no_pending_payouts\""));
    fgt_response_free(&r);
}
END_TEST

/* ---- roles and CSRF ------------------------------------------------------------------------ */

START_TEST(roles_and_csrf)
{
    fgt_merchant_t school, water;
    char accountant_email[128], scoped_finance_email[128];
    merchant_new(&school, "Trường THPT Vai Trò", 1);
    merchant_new(&water, "Cấp nước Vai Trò", 1);
    user_create("accountant", school.id, accountant_email);
    user_create("finance", school.id, scoped_finance_email);
    fund(&school, 1000000);
    fund(&water, 1000000);
    char session[200], csrf[96], fin[200], fin_csrf[96], path[128], school_payout[FGT_ID_CAP], water_payout[FGT_ID_CAP],
        marker[96];
    login_ok(finance_email, fin, sizeof(fin));
    session_csrf(fin, fin_csrf, sizeof(fin_csrf));
    fgt_response_t r = payout_post(fin, fin_csrf, NULL, school.id, "100000", fgt_unique("R-S"));
    payout_made_at(&r, school_payout);
    fgt_response_free(&r);
    r = payout_post(fin, fin_csrf, NULL, water.id, "100000", fgt_unique("R-W"));
    payout_made_at(&r, water_payout);
    fgt_response_free(&r);
    long long payouts = fgt_db_int("SELECT COUNT(*) FROM payouts", NULL, NULL);

    /* finance without the form's token: 403, nothing made */
    char body[512];
    snprintf(body, sizeof(body), "merchant=%s&amount=1000&reference=NOCSRF", school.id);
    r = post_form(fin, "/staff/payouts", body);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "csrf_token=%s&merchant=%s&amount=1000&reference=NOCSRF", "AAAAwrongtoken", school.id);
    r = post_form(fin, "/staff/payouts", body);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = post_form(fin, "/staff/payouts/batches", "account=" COLLECTION_ACCOUNT);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    /* no session at all */
    r = get(&srv, FGT_HTTP1, NULL, "/staff/payouts");
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);

    /* an auditor reads everything, sees no form, and posts nothing */
    login_ok(auditor_email, session, sizeof(session));
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, "data-form=\"payout-create\""));
    ck_assert_ptr_null(strstr(r.body, "data-form=\"batch-create\""));
    snprintf(marker, sizeof(marker), "data-payout=\"%s\"", water_payout);
    ck_assert_ptr_nonnull(strstr(r.body, marker));
    csrf_of(&r, csrf, sizeof(csrf));
    fgt_response_free(&r);
    r = payout_post(session, csrf, NULL, school.id, "1000", "AUDITOR");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "csrf_token=%s&account=" COLLECTION_ACCOUNT, csrf);
    r = post_form(session, "/staff/payouts/batches", body);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);

    /* the school's accountant: its own merchant only; another's payout is 404; batches are the city's */
    login_ok(accountant_email, session, sizeof(session));
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, "data-form=\"payout-create\""));
    snprintf(marker, sizeof(marker), "data-payout=\"%s\"", school_payout);
    ck_assert_ptr_nonnull(strstr(r.body, marker));
    snprintf(marker, sizeof(marker), "data-payout=\"%s\"", water_payout);
    ck_assert_ptr_null(strstr(r.body, marker));
    snprintf(marker, sizeof(marker), "data-merchant=\"%s\"", water.id);
    ck_assert_ptr_null(strstr(r.body, marker));
    snprintf(marker, sizeof(marker), "data-merchant=\"%s\"", school.id);
    ck_assert_ptr_nonnull(strstr(r.body, marker));
    csrf_of(&r, csrf, sizeof(csrf));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/payouts/%s", water_payout);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-not-found\""));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/payouts/%s", school_payout);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
    r = payout_post(session, csrf, NULL, school.id, "1000", "ACCOUNTANT");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts/batches/pob_anything");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    /* finance scoped to one merchant: the city's forms are not its */
    login_ok(scoped_finance_email, session, sizeof(session));
    session_csrf(session, csrf, sizeof(csrf));
    r = payout_post(session, csrf, NULL, school.id, "1000", "SCOPED");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts");
    ck_assert_ptr_null(strstr(r.body, "data-form=\"payout-create\""));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payouts", NULL, NULL), payouts);
}
END_TEST

/* ---- a batch and its file -------------------------------------------------------------------- */

/* A camt.053 of account for 2026-12-03 with one debit of amount naming memo, opening at
 * 900,000,000 (as test_payouts.c writes them). */
static char *statement_with_debit(const char *account, long long amount, const char *memo)
{
    char *out = malloc(4096);
    ck_assert_ptr_nonnull(out);
    snprintf(out, 4096,
             "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">"
             "<BkToCstmrStmt><GrpHdr><MsgId>%s</MsgId><CreDtTm>2026-12-03T23:59:00+07:00</CreDtTm></GrpHdr>"
             "<Stmt><Id>%s-20261203</Id><Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>VND</Ccy></Acct>"
             "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">900000000</Amt>"
             "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-02</Dt></Dt></Bal>"
             "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">%lld</Amt>"
             "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-03</Dt></Dt></Bal>\n"
             "<Ntry><Amt Ccy=\"VND\">%lld</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
             "<BookgDt><Dt>2026-12-03</Dt></BookgDt><ValDt><Dt>2026-12-03</Dt></ValDt>"
             "<AcctSvcrRef>%s</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>%s</Ustrd></RmtInf></TxDtls>"
             "</NtryDtls></Ntry>\n</Stmt></BkToCstmrStmt></Document>\n",
             fgt_unique("M"), account, account, 900000000 - amount, amount, fgt_unique("BR"), memo);
    return out;
}

static void statement_import(const char *file)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance_token);
    const char *headers[] = {auth, "Content-Type: application/xml", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", headers, file, 0);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
}

START_TEST(a_batch_through_the_page_its_file_and_its_payouts_paid)
{
    fgt_merchant_t m;
    char session[200], csrf[96], p1[FGT_ID_CAP], p2[FGT_ID_CAP], batch[FGT_ID_CAP], path[160], body[512], marker[160],
        account[40];
    merchant_new(&m, "Công ty Nước Lô Chuyển", 1);
    fund(&m, 9000000);
    batch_leftovers();
    login_ok(finance_email, session, sizeof(session));
    session_csrf(session, csrf, sizeof(csrf));
    fgt_response_t r = payout_post(session, csrf, NULL, m.id, "1000000", fgt_unique("LO1"));
    payout_made_at(&r, p1);
    fgt_response_free(&r);
    r = payout_post(session, csrf, NULL, m.id, "2500000", fgt_unique("LO2"));
    payout_made_at(&r, p2);
    fgt_response_free(&r);

    /* an account the city does not know: said on the page, nothing batched */
    long long batches = fgt_db_int("SELECT COUNT(*) FROM payout_batches", NULL, NULL);
    snprintf(account, sizeof(account), "%s", fgt_account("ACBP"));
    snprintf(body, sizeof(body), "csrf_token=%s&account=%s", csrf, account);
    r = post_form(session, "/staff/payouts/batches", body);
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "data-error=\"unknown_account\""));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payout_batches", NULL, NULL), batches);
    /* once its statement is imported it is offered, and accepted */
    {
        /* an empty statement: opening equals closing */
        char *empty = malloc(2048);
        ck_assert_ptr_nonnull(empty);
        snprintf(empty, 2048,
                 "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">"
                 "<BkToCstmrStmt><GrpHdr><MsgId>%s</MsgId><CreDtTm>2026-12-02T23:59:00+07:00</CreDtTm></GrpHdr>"
                 "<Stmt><Id>%s-20261202</Id><Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>VND</Ccy></Acct>"
                 "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">900000000</Amt>"
                 "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>"
                 "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">900000000</Amt>"
                 "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-02</Dt></Dt></Bal>\n"
                 "</Stmt></BkToCstmrStmt></Document>\n",
                 fgt_unique("M"), account, account);
        statement_import(empty);
        free(empty);
    }
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts");
    snprintf(marker, sizeof(marker), "<option value=\"%s\"", account);
    ck_assert_ptr_nonnull(strstr(strstr(r.body, "data-form=\"batch-create\""), marker));
    fgt_response_free(&r);
    r = post_form(session, "/staff/payouts/batches", body);
    ck_assert_msg(r.status == 303, "batch: %ld %.300s", r.status, r.body);
    const char *location = fgt_header(&r, "location");
    ck_assert_msg(strncmp(location, "/staff/payouts/batches/pob_", 27) == 0, "sent to %s", location);
    snprintf(batch, sizeof(batch), "%s", location + strlen("/staff/payouts/batches/"));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'payout_batch.create' AND object = ? "
                                "AND actor = ?",
                                batch, finance_email),
                     1);

    /* the batch's page: both payouts, the total, the link to its file */
    snprintf(path, sizeof(path), "/staff/payouts/batches/%s", batch);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-payout-batch\" data-status=\"pending\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-total=\"3500000\">3.500.000&nbsp;₫"));
    snprintf(marker, sizeof(marker), "data-payout=\"%s\"", p1);
    ck_assert_ptr_nonnull(strstr(r.body, marker));
    snprintf(marker, sizeof(marker), "data-payout=\"%s\"", p2);
    ck_assert_ptr_nonnull(strstr(r.body, marker));
    snprintf(marker, sizeof(marker), "data-download=\"csv\" href=\"/staff/payouts/batches/%s/file\"", batch);
    ck_assert_ptr_nonnull(strstr(r.body, marker));
    fgt_response_free(&r);

    /* the file: the API's bytes */
    snprintf(path, sizeof(path), "/staff/payouts/batches/%s/file", batch);
    fgt_response_t page_file = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(page_file.status, 200);
    ck_assert_ptr_nonnull(strstr(fgt_header(&page_file, "content-type"), "text/csv"));
    ck_assert_ptr_nonnull(strstr(fgt_header(&page_file, "content-disposition"), batch));
    snprintf(path, sizeof(path), "/v1/payout-batches/%s/file", batch);
    fgt_response_t api_file = fgt_req(&srv, FGT_H2C, "GET", path, finance_token, NULL, NULL, 0, NULL);
    ck_assert_int_eq(api_file.status, 200);
    ck_assert_uint_eq(page_file.body_len, api_file.body_len);
    ck_assert(memcmp(page_file.body, api_file.body, api_file.body_len) == 0);
    ck_assert_ptr_nonnull(strstr(page_file.body, p1));
    ck_assert_ptr_nonnull(strstr(page_file.body, "0071000123456"));
    fgt_response_free(&page_file);
    fgt_response_free(&api_file);

    /* the bank pays the batch in one line naming it: both payouts paid, by that line */
    char *file = statement_with_debit(account, 3500000, batch);
    statement_import(file);
    free(file);
    for (int i = 0; i < 300 && fgt_db_int("SELECT COUNT(*) FROM payouts WHERE batch_id = (SELECT id FROM "
                                          "payout_batches WHERE public_id = ?) AND status = 'paid'",
                                          batch, NULL) < 2;
         i++)
        fgt_sleep_ms(100);
    snprintf(path, sizeof(path), "/v1/payouts/%s", p2);
    r = fgt_req(&srv, FGT_H2C, "GET", path, finance_token, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "paid");
    long long line = fgt_json_int(&r, "statement_line_id", NULL);
    long long item = fgt_json_int(&r, "reconciliation_item_id", NULL);
    fgt_response_free(&r);
    ck_assert_int_gt(line, 0);
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts?status=paid");
    snprintf(marker, sizeof(marker), "data-payout=\"%s\"", p2);
    const char *row = strstr(r.body, marker);
    ck_assert_ptr_nonnull(row);
    char expect[96];
    snprintf(expect, sizeof(expect), "data-statement-line=\"%lld\"", line);
    ck_assert_ptr_nonnull(strstr(row, expect));
    snprintf(expect, sizeof(expect), "data-reconciliation-item=\"%lld\"", item);
    ck_assert_ptr_nonnull(strstr(row, expect));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/payouts/batches/%s", batch);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"paid\""));
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, session, "/staff/payouts/batches/pob_nothing");
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("staff_payouts");
    TCase *tc = tcase_create("pages");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, the_page_shows_the_balance_a_payout_is_checked_against);
    tcase_add_test(tc, a_payout_made_through_the_form_is_the_apis);
    tcase_add_test(tc, cursor_pages_hold_every_payout_once);
    tcase_add_test(tc, refusals_are_said_on_the_page_and_write_nothing);
    tcase_add_test(tc, a_form_sent_twice_makes_one_payout_and_one_batch);
    tcase_add_test(tc, roles_and_csrf);
    tcase_add_test(tc, a_batch_through_the_page_its_file_and_its_payouts_paid);
    suite_add_tcase(s, tc);

    user_create("finance", NULL, finance_email);
    user_create("auditor", NULL, auditor_email);
    fgt_staff_token("finance", finance_token);
    const char *env[] = {"FEEGATE_SEPAY_API_KEY=" SEPAY_KEY, "FEEGATE_VIETQR_BANK_BIN=970436",
                         "FEEGATE_VIETQR_ACCOUNT_NO=" COLLECTION_ACCOUNT, NULL};
    fgt_server_start(&srv, env);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
