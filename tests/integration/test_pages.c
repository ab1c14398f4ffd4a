/*
 * test_pages.c - the payer pages (docs/PAGES.md, Payer) on the real server
 * and database, with VNPay and MoMo played by the bank simulator: every
 * page's status and security headers, escaping, the code form, pay buttons
 * and the VietQR transfer, starting a payment from the bill (one pending
 * payment per order and method under concurrent starts, reuse on reload),
 * the per-address and per-order limits held across two instances, the
 * receipt from processing to paid (back from VNPay and from MoMo), an open
 * bill watching itself, the print CSS's page size, closed bills without
 * buttons, and the English toggle.
 *
 * Starts are sent from distinct loopback addresses (127.0.0.N) where the
 * per-address limit must not be shared between tests.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "banksim_client.h"
#include "core/ids.h"
#include "harness.h"

#define LIMIT_PER_ADDRESS 30
#define LIMIT_PER_ORDER 12
#define PAGE_MAX_BYTES (100 * 1024)

static fgt_server_t srv, srv2;
static fgt_banksim_t bank;
static char mer[64], key[64];

static const char *const SHARED_ENV[][2] = {
    {"FEEGATE_VNPAY_TMN_CODE", "TESTTMN1"},
    {"FEEGATE_VNPAY_HASH_SECRET", "TESTSECRETKEY0123456789ABCDEFGHI"},
    {"FEEGATE_MOMO_PARTNER_CODE", "MOMO"},
    {"FEEGATE_MOMO_ACCESS_KEY", "F8BBA842ECF85"},
    {"FEEGATE_MOMO_SECRET_KEY", "K951B6PE1waDMi640xX08PD3vg6EkVlz"},
    {"FEEGATE_VIETQR_BANK_BIN", "970436"},
    {"FEEGATE_VIETQR_ACCOUNT_NO", "0011001932418"},
    {"FEEGATE_VIETQR_ACCOUNT_NAME", "UBND THANH PHO"},
    {"FEEGATE_SANDBOX_SECRET", "pages-sandbox-secret"},
    {"FEEGATE_PAYER_START_LIMIT_PER_ADDRESS", "30"},
    {"FEEGATE_PAYER_START_LIMIT_PER_ORDER", "12"},
    {"FEEGATE_PAYER_START_LIMIT_WINDOW_S", "600"},
    /* the receipt must be seen processing before the status query settles a lost notification */
    {"FEEGATE_PAYMENTS_PENDING_QUERY_AFTER_S", "4"},
};

/* ---- helpers ------------------------------------------------------------------------- */

/* A fresh loopback address for a test's starts, 127.P.P.N: P from the
 * process (each test runs in a process of its own), N counting. */
static const char *new_source(void)
{
    static int next = 2;
    static char out[16][24];
    static int slot;
    char *s = out[slot++ % 16];
    int pid = (int)getpid();
    snprintf(s, 24, "127.%d.%d.%d", (pid >> 8) & 255, pid & 255, next++);
    ck_assert_int_lt(next, 255);
    return s;
}

static void new_order(long long amount, const char *extra, char *id, char *code)
{
    char body[800];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":%lld,\"currency\":\"VND\","
             "\"description\":\"Học phí HK1 – lớp 5A\",\"payer\":{\"name\":\"Nguyễn Văn "
             "<script>alert(1)</script> An\"}%s}",
             fgt_unique("PG"), amount, extra != NULL ? extra : "");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    if (id != NULL)
        snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    snprintf(code, 16, "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
}

static fgt_response_t get(const char *path, const char *cookie)
{
    const char *headers[] = {cookie, NULL};
    return fgt_request(&srv, FGT_HTTP1, "GET", path, cookie != NULL ? headers : NULL, NULL, 0);
}

static fgt_response_t start_from(const fgt_server_t *s, const char *source, const char *code, const char *method)
{
    char path[64], body[32];
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    snprintf(path, sizeof(path), "/pay/%s/start", code);
    snprintf(body, sizeof(body), "method=%s", method);
    return fgt_request_from(s, FGT_HTTP1, source, "POST", path, headers, body, 0);
}

/* Where a start sends the browser: the Location of a 303 (a page of ours),
 * or the link of the pay-go page that takes it to the provider's site (the
 * bill's CSP, form-action 'self', stops a form's redirect to another site);
 * NULL for any other answer.  Points into r. */
static const char *start_target(const fgt_response_t *r)
{
    if (r->status == 303)
        return fgt_header(r, "location");
    static char url[2048];
    const char *go = r->status == 200 && r->body != NULL ? strstr(r->body, "data-page=\"pay-go\"") : NULL;
    const char *href = go != NULL ? strstr(go, "<a class=\"button block\" href=\"") : NULL;
    if (href == NULL)
        return NULL;
    href += strlen("<a class=\"button block\" href=\"");
    const char *end = strchr(href, '"');
    ck_assert_ptr_nonnull(end);
    /* the link is HTML-escaped: &amp; is the only entity a URL of ours has */
    size_t n = 0;
    for (const char *q = href; q < end && n + 1 < sizeof(url); n++) {
        if (strncmp(q, "&amp;", 5) == 0) {
            url[n] = '&';
            q += 5;
        } else {
            url[n] = *q++;
        }
    }
    url[n] = '\0';
    return url;
}

static long long pending_of(const char *code, const char *method)
{
    return fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                      "WHERE o.code = ? AND p.adapter = ? AND p.status = 'pending'",
                      code, method);
}

static long long payments_of(const char *code)
{
    return fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.code = ?", code,
                      NULL);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* What every HTML page carries: the headers, one h1, a named main, no inline
 * script or style, under the size limit. */
static void expect_page(const fgt_response_t *r, const char *name, int tls)
{
    char main_tag[64];
    ck_assert_ptr_nonnull(fgt_header(r, "content-type"));
    ck_assert_str_eq(fgt_header(r, "content-type"), "text/html; charset=utf-8");
    const char *csp = fgt_header(r, "content-security-policy");
    ck_assert_ptr_nonnull(csp);
    ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'"));
    ck_assert_ptr_nonnull(strstr(csp, "script-src 'self'"));
    ck_assert_ptr_nonnull(strstr(csp, "style-src 'self'"));
    ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
    ck_assert_ptr_nonnull(strstr(csp, "connect-src 'self'")); /* an open bill fetches itself */
    ck_assert_ptr_null(strstr(csp, "unsafe-inline"));
    ck_assert_str_eq(fgt_header(r, "x-content-type-options"), "nosniff");
    ck_assert_str_eq(fgt_header(r, "referrer-policy"), "no-referrer");
    if (tls)
        ck_assert_ptr_nonnull(fgt_header(r, "strict-transport-security"));
    else
        ck_assert_ptr_null(fgt_header(r, "strict-transport-security"));
    ck_assert_uint_lt(r->body_len, PAGE_MAX_BYTES);
    ck_assert_int_eq(count_of(r->body, "<h1"), 1);
    snprintf(main_tag, sizeof(main_tag), "<main id=\"main\" data-page=\"%s\"", name);
    ck_assert_msg(strstr(r->body, main_tag) != NULL, "no %s in %s", main_tag, r->body);
    ck_assert_ptr_null(strstr(r->body, "<style"));
    ck_assert_ptr_null(strstr(r->body, " style="));
    ck_assert_int_eq(count_of(r->body, "<script"), 1); /* the one script file, by src */
    ck_assert_ptr_nonnull(strstr(r->body, "<script src=\"/assets/feegate.js\" defer></script>"));
    ck_assert_ptr_null(strstr(r->body, "<script>"));
}

/* ---- the pages ---------------------------------------------------------------------- */

START_TEST(every_page_answers_with_its_headers)
{
    char code[16], path[96];
    new_order(4500000, ",\"due_at\":\"2030-12-30T17:00:00Z\"", NULL, code);
    for (int tls = 0; tls < 2; tls++) {
        fgt_proto_t proto = tls ? FGT_H2TLS : FGT_HTTP1;
        fgt_response_t r = fgt_request(&srv, proto, "GET", "/pay", NULL, NULL, 0);
        ck_assert_int_eq(r.status, 200);
        expect_page(&r, "pay-find", tls);
        ck_assert_ptr_nonnull(strstr(r.body, "<form class=\"card\" method=\"get\" action=\"/pay\">"));
        ck_assert_ptr_nonnull(strstr(r.body, "<label for=\"code\">"));
        ck_assert_ptr_nonnull(strstr(r.body, "name=\"code\""));
        fgt_response_free(&r);

        snprintf(path, sizeof(path), "/pay/%s", code);
        r = fgt_request(&srv, proto, "GET", path, NULL, NULL, 0);
        ck_assert_int_eq(r.status, 200);
        expect_page(&r, "pay-bill\" data-status=\"open", tls);
        ck_assert_ptr_nonnull(strstr(r.body, "<html lang=\"vi\">"));
        ck_assert_ptr_nonnull(strstr(r.body, "4.500.000\xc2\xa0\xe2\x82\xab")); /* 4.500.000 ₫ */
        ck_assert_ptr_nonnull(strstr(r.body, "<dd data-due>31/12/2030</dd>"));  /* GMT+7, not RFC 3339 */
        ck_assert_ptr_nonnull(strstr(r.body, "data-owed=\"4500000\""));
        ck_assert_ptr_nonnull(strstr(r.body, "<strong>Vietcombank</strong>")); /* the bank's name, not 970436 */
        ck_assert_ptr_nonnull(strstr(r.body, "data-copy=\"0011001932418\""));
        ck_assert_ptr_nonnull(strstr(r.body, "data-copy=\"UBND THANH PHO\""));
        ck_assert_ptr_nonnull(strstr(r.body, "data-copy=\"4500000\""));
        snprintf(path, sizeof(path), "data-copy=\"%s\"", code); /* the memo */
        ck_assert_ptr_nonnull(strstr(r.body, path));
        snprintf(path, sizeof(path), "src=\"/pay/%s/qr.svg\"", code);
        ck_assert_ptr_nonnull(strstr(r.body, path));
        const char *methods[] = {"vnpay", "momo", "sandbox"};
        for (int i = 0; i < 3; i++) {
            char form[160];
            snprintf(form, sizeof(form),
                     "<form method=\"post\" action=\"/pay/%s/start\" data-method=\"%s\"><input type=\"hidden\" "
                     "name=\"method\" value=\"%s\">",
                     code, methods[i], methods[i]);
            ck_assert_msg(strstr(r.body, form) != NULL, "no %s form", methods[i]);
        }
        ck_assert_ptr_nonnull(strstr(r.body, "Thanh toán qua VNPay</button>"));
        /* an open bill watches itself: the script every 5 s, a meta refresh without script */
        ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"open\" data-watch=\"5\">"));
        ck_assert_ptr_nonnull(strstr(r.body, "<noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>"));
        fgt_response_free(&r);

        snprintf(path, sizeof(path), "/pay/%s/receipt", code);
        r = fgt_request(&srv, proto, "GET", path, NULL, NULL, 0);
        ck_assert_int_eq(r.status, 404); /* no payment yet */
        expect_page(&r, "pay-receipt\" data-status=\"none", tls);
        fgt_response_free(&r);

        r = fgt_request(&srv, proto, "GET", "/pay/ZZZZZZZZZZZ", NULL, NULL, 0);
        ck_assert_int_eq(r.status, 404);
        expect_page(&r, "pay-not-found", tls);
        fgt_response_free(&r);

        snprintf(path, sizeof(path), "/pay/%s/qr.svg", code);
        r = fgt_request(&srv, proto, "GET", path, NULL, NULL, 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(fgt_header(&r, "content-type"), "image/svg+xml");
        fgt_response_free(&r);

        r = fgt_request(&srv, proto, "GET", "/assets/feegate.css", NULL, NULL, 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "@media print"));
        /* the receipt prints on A5, on A4 where the paper is wider */
        const char *print = strstr(r.body, "@media print{");
        ck_assert_ptr_nonnull(strstr(print, "@page{size:A5;"));
        ck_assert_ptr_nonnull(strstr(print, "@media print and (min-width:180mm){@page{size:A4;"));
        fgt_response_free(&r);
    }
}
END_TEST

START_TEST(payer_and_merchant_names_are_escaped)
{
    char code[16], path[96], id[40];
    fgt_merchant_t evil;
    fgt_merchant_create("Trường <script>alert('x')</script> \"Kim Đồng\"", evil.id, evil.key);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", evil.key, NULL,
                               "{\"merchant_ref\":\"<img src=x onerror=alert(1)>\",\"fee_type\":\"tuition\","
                               "\"amount\":200000,\"currency\":\"VND\",\"description\":\"<b>bold</b> & co\","
                               "\"payer\":{\"name\":\"<script>alert(document.cookie)</script>\"}}",
                               0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(code, sizeof(code), "%s", fgt_json_str(&r, "code", NULL));
    snprintf(id, sizeof(id), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/pay/%s", code);
    r = get(path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, "<script>alert"));
    ck_assert_ptr_null(strstr(r.body, "<img src=x"));
    ck_assert_ptr_null(strstr(r.body, "<b>bold"));
    ck_assert_ptr_nonnull(strstr(r.body, "&lt;script&gt;alert(document.cookie)&lt;/script&gt;"));
    ck_assert_ptr_nonnull(
        strstr(r.body, "Trường &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot;Kim Đồng&quot;"));
    ck_assert_ptr_nonnull(strstr(r.body, "&lt;b&gt;bold&lt;/b&gt; &amp; co"));
    fgt_response_free(&r);

    /* the receipt too */
    r = start_from(&srv, new_source(), code, "sandbox");
    ck_assert_ptr_nonnull(start_target(&r));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/pay/%s/receipt", code);
    r = get(path, NULL);
    ck_assert_int_eq(r.status, 200);
    expect_page(&r, "pay-receipt\" data-status=\"processing", 0);
    ck_assert_ptr_null(strstr(r.body, "<script>alert"));
    ck_assert_ptr_nonnull(strstr(r.body, "&lt;script&gt;alert(document.cookie)&lt;/script&gt;"));
    fgt_response_free(&r);

    /* what was typed in the code form comes back escaped */
    r = get("/pay?code=%3Cscript%3Ealert(1)%3C%2Fscript%3E", NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_null(strstr(r.body, "<script>alert"));
    ck_assert_ptr_nonnull(strstr(r.body, "value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
    fgt_response_free(&r);
}
END_TEST

START_TEST(the_code_is_found_however_it_is_typed)
{
    char code[16], typed[64], path[128], want[32];
    new_order(150000, NULL, NULL, code);
    /* lower case, dashes and spaces, and I/O typed for 1/0 where the code has them */
    char lower[16];
    for (int i = 0; code[i] != '\0'; i++)
        lower[i] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] - 'A' + 'a' : code[i]), lower[i + 1] = '\0';
    snprintf(typed, sizeof(typed), "%.4s-%.4s%%20%%20%s", lower, lower + 4, lower + 8);
    snprintf(path, sizeof(path), "/pay?code=%s", typed);
    snprintf(want, sizeof(want), "/pay/%s", code);
    fgt_response_t r = get(path, NULL);
    ck_assert_int_eq(r.status, 303);
    ck_assert_str_eq(fgt_header(&r, "location"), want);
    ck_assert_ptr_nonnull(fgt_header(&r, "content-security-policy"));
    fgt_response_free(&r);
    /* the path tolerates it too */
    snprintf(path, sizeof(path), "/pay/%.5s-%s", lower, lower + 5);
    r = get(path, NULL);
    ck_assert_int_eq(r.status, 200);
    expect_page(&r, "pay-bill\" data-status=\"open", 0);
    fgt_response_free(&r);
    /* and a space typed into the address bar (percent-encoded in the path) */
    snprintf(path, sizeof(path), "/pay/%.4s%%20%s", code, code + 4);
    r = get(path, NULL);
    ck_assert_int_eq(r.status, 200);
    expect_page(&r, "pay-bill\" data-status=\"open", 0);
    fgt_response_free(&r);

    /* a typo (the check symbol catches it): the form again, saying so */
    snprintf(typed, sizeof(typed), "%s", code);
    typed[3] = typed[3] == 'A' ? 'B' : 'A';
    snprintf(path, sizeof(path), "/pay?code=%s", typed);
    r = get(path, NULL);
    ck_assert_int_eq(r.status, 400);
    expect_page(&r, "pay-find", 0);
    ck_assert_ptr_nonnull(strstr(r.body, "role=\"alert\""));
    ck_assert_ptr_nonnull(strstr(r.body, "aria-invalid=\"true\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Mã này không đúng"));
    fgt_response_free(&r);

    /* a well-formed code no bill has */
    char unknown[16];
    ck_assert_int_eq(fg_order_code_new(unknown, sizeof(unknown)), 0);
    snprintf(path, sizeof(path), "/pay?code=%s", unknown);
    r = get(path, NULL);
    ck_assert_int_eq(r.status, 404);
    expect_page(&r, "pay-find", 0);
    ck_assert_ptr_nonnull(strstr(r.body, "Không có hóa đơn nào có mã này"));
    fgt_response_free(&r);

    /* no code: the form; a long one: refused */
    r = get("/pay?code=", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, "role=\"alert\""));
    fgt_response_free(&r);
    memset(typed, 'A', 63);
    typed[63] = '\0';
    char long_path[256];
    snprintf(long_path, sizeof(long_path), "/pay?code=%s%s", typed, typed);
    r = get(long_path, NULL);
    ck_assert_int_eq(r.status, 400);
    fgt_response_free(&r);
}
END_TEST

/* ---- starting a payment ---------------------------------------------------------------- */

START_TEST(a_reload_reuses_the_pending_payment)
{
    char code[16];
    const char *src = new_source();
    new_order(300000, NULL, NULL, code);
    const char *methods[] = {"vnpay", "momo", "sandbox"};
    for (int i = 0; i < 3; i++) {
        char first[2048];
        fgt_response_t r = start_from(&srv, src, code, methods[i]);
        ck_assert_msg(start_target(&r) != NULL, "%s: %ld %s", methods[i], r.status, r.body);
        snprintf(first, sizeof(first), "%s", start_target(&r));
        ck_assert_ptr_nonnull(fgt_header(&r, "content-security-policy"));
        fgt_response_free(&r);
        if (strcmp(methods[i], "sandbox") != 0)
            ck_assert_msg(strncmp(first, bank.url, strlen(bank.url)) == 0, "%s went to %s", methods[i], first);
        r = start_from(&srv, src, code, methods[i]);
        ck_assert_ptr_nonnull(start_target(&r));
        ck_assert_str_eq(start_target(&r), first);
        fgt_response_free(&r);
        ck_assert_int_eq(pending_of(code, methods[i]), 1);
    }
    ck_assert_int_eq(payments_of(code), 3);
    /* the payment is the API's: its own method, amount and order */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.code = ? "
                                "AND p.amount = 300000 AND p.redirect_url IS NOT NULL",
                                code, NULL),
                     3);

    /* no method, or one this server does not offer: refused, nothing made */
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    char path[64];
    snprintf(path, sizeof(path), "/pay/%s/start", code);
    const char *bodies[] = {"", "method=vietqr", "method=cash", "method=vnpay%00"};
    char toggle[96];
    snprintf(toggle, sizeof(toggle), "<a class=\"lang\" href=\"/pay/%s?lang=en\"", code);
    for (int i = 0; i < 4; i++) {
        fgt_response_t r = fgt_request_from(&srv, FGT_HTTP1, src, "POST", path, headers, bodies[i], 0);
        ck_assert_msg(r.status == 400, "%s answered %ld", bodies[i], r.status);
        expect_page(&r, "pay-start", 0);
        /* the language toggle of a form's answer leads to the bill, not to a GET of the form's path */
        ck_assert_msg(strstr(r.body, toggle) != NULL, "no %s in %s", toggle, r.body);
        fgt_response_free(&r);
    }
    /* POST /pay/{code}/pay, DESIGN §4's name of the pay button, is the same */
    snprintf(path, sizeof(path), "/pay/%s/pay", code);
    fgt_response_t alias = fgt_request_from(&srv, FGT_HTTP1, src, "POST", path, headers, "method=sandbox", 0);
    ck_assert_ptr_nonnull(start_target(&alias));
    fgt_response_free(&alias);
    ck_assert_int_eq(pending_of(code, "sandbox"), 1);
    ck_assert_int_eq(payments_of(code), 3);

    /* a part paid another way meanwhile: the pending payment for the whole would take too much, so the next
     * tap starts one for what is owed now */
    char id[40], first[2048], path2[64], body[300], sig[200];
    new_order(300000, ",\"allow_partial\":true", id, code);
    fgt_response_t r = start_from(&srv, src, code, "vnpay");
    ck_assert_ptr_nonnull(start_target(&r));
    snprintf(first, sizeof(first), "%s", start_target(&r));
    fgt_response_free(&r);
    snprintf(path2, sizeof(path2), "/v1/orders/%s/payments", id);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path2, key, NULL, "{\"method\":\"sandbox\",\"amount\":100000}", 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(body, sizeof(body),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":100000}",
             fgt_json_str(&r, "id", NULL), fgt_unique("SBX"));
    fgt_response_free(&r);
    fgt_sandbox_signature("pages-sandbox-secret", body, sig, sizeof(sig));
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, sig);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    r = start_from(&srv, src, code, "vnpay");
    ck_assert_ptr_nonnull(start_target(&r));
    ck_assert_str_ne(start_target(&r), first);
    ck_assert_ptr_nonnull(strstr(start_target(&r), "vnp_Amount=20000000&"));
    char ip[64];
    snprintf(ip, sizeof(ip), "&vnp_IpAddr=%s&", src); /* the payer's address, for VNPay's checks */
    ck_assert_ptr_nonnull(strstr(start_target(&r), ip));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.code = ? "
                                "AND p.adapter = 'vnpay' AND p.status = 'pending' AND p.amount = 200000",
                                code, NULL),
                     1);
}
END_TEST

/* MoMo does not answer a start: the payer is told to try again, and can once
 * no call can still be in flight (a minute), not only after the status job
 * has settled the payment whose start failed. */
START_TEST(a_momo_start_that_failed_is_tried_again)
{
    char code[16];
    const char *src = new_source();
    new_order(300000, NULL, NULL, code);
    fgt_response_t r = fgt_banksim_control(&bank, "/control/chaos", "{\"fail_api\":true}");
    fgt_response_free(&r);
    r = start_from(&srv, src, code, "momo");
    ck_assert_int_eq(r.status, 502);
    fgt_response_free(&r);
    r = start_from(&srv, src, code, "momo"); /* at once: its call may still be in flight */
    ck_assert_int_eq(r.status, 409);
    fgt_response_free(&r);
    ck_assert_int_eq(payments_of(code), 1);
    fgt_db_exec("UPDATE payments p JOIN orders o ON o.id = p.order_id SET p.created_at = p.created_at - 120000 "
                "WHERE o.code = ?",
                code);
    r = start_from(&srv, src, code, "momo"); /* a minute on: a new start (MoMo is still down) */
    ck_assert_int_eq(r.status, 502);
    fgt_response_free(&r);
    ck_assert_int_eq(payments_of(code), 2);
    r = fgt_banksim_control(&bank, "/control/reset", "{}");
    fgt_response_free(&r);
}
END_TEST

/* n starts of one order and method at once, each on its own connection. */
static void concurrent_starts(const char *code, const char *method, int n, fgt_response_t *out)
{
    char path[64], body[32];
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    fgt_request_t reqs[16];
    snprintf(path, sizeof(path), "/pay/%s/start", code);
    snprintf(body, sizeof(body), "method=%s", method);
    for (int i = 0; i < n; i++)
        reqs[i] = (fgt_request_t){"POST", path, headers, body, 0, new_source()};
    fgt_request_all(&srv, FGT_HTTP1, n, n, reqs, NULL, NULL, out);
}

START_TEST(concurrent_starts_make_one_pending_payment)
{
    enum { N = 10 };
    const char *methods[] = {"vnpay", "sandbox", "momo"};
    for (int m = 0; m < 3; m++) {
        char code[16], location[2048] = "";
        fgt_response_t out[N];
        new_order(420000, NULL, NULL, code);
        concurrent_starts(code, methods[m], N, out);
        int redirected = 0;
        for (int i = 0; i < N; i++) {
            /* MoMo's URL is known only after its create call: a start meanwhile is asked to wait */
            int waiting = strcmp(methods[m], "momo") == 0 && out[i].status == 409;
            ck_assert_msg(start_target(&out[i]) != NULL || waiting, "%s start %d: %ld %s", methods[m], i, out[i].status,
                          out[i].body);
            if (start_target(&out[i]) != NULL) {
                if (location[0] == '\0')
                    snprintf(location, sizeof(location), "%s", start_target(&out[i]));
                ck_assert_str_eq(start_target(&out[i]), location);
                redirected++;
            } else {
                ck_assert_ptr_nonnull(fgt_header(&out[i], "retry-after"));
            }
            fgt_response_free(&out[i]);
        }
        ck_assert_int_ge(redirected, 1);
        ck_assert_int_eq(pending_of(code, methods[m]), 1);
        ck_assert_int_eq(payments_of(code), 1);
        /* and once the first answer is in, every start gets it */
        fgt_response_t r = start_from(&srv, new_source(), code, methods[m]);
        ck_assert_ptr_nonnull(start_target(&r));
        ck_assert_str_eq(start_target(&r), location);
        fgt_response_free(&r);
    }
}
END_TEST

START_TEST(starts_are_limited_per_order_and_per_address_across_instances)
{
    char code[16], other[16];
    new_order(500000, NULL, NULL, code);
    /* per order: from many addresses, alternating between the two instances */
    for (int i = 0; i < LIMIT_PER_ORDER; i++) {
        fgt_response_t r = start_from(i % 2 ? &srv2 : &srv, new_source(), code, "sandbox");
        ck_assert_msg(start_target(&r) != NULL, "start %d: %ld", i, r.status);
        fgt_response_free(&r);
    }
    fgt_response_t r = start_from(&srv2, new_source(), code, "sandbox");
    ck_assert_int_eq(r.status, 429);
    expect_page(&r, "pay-limited", 0);
    const char *retry = fgt_header(&r, "retry-after");
    ck_assert_ptr_nonnull(retry);
    ck_assert_int_ge(atoi(retry), 1);
    ck_assert_int_le(atoi(retry), 600);
    ck_assert_ptr_nonnull(strstr(r.body, "Quá nhiều lần thử"));
    fgt_response_free(&r);
    r = start_from(&srv, new_source(), code, "vnpay"); /* another method of the same order: still limited */
    ck_assert_int_eq(r.status, 429);
    fgt_response_free(&r);
    /* the code percent-encoded in the path names the same bill, and the same limit */
    char path[64];
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    snprintf(path, sizeof(path), "/pay/%%%02X%s/start", (unsigned char)code[0], code + 1);
    r = fgt_request_from(&srv, FGT_HTTP1, new_source(), "POST", path, form, "method=vnpay", 0);
    ck_assert_msg(r.status == 429, "%s: %ld", path, r.status);
    fgt_response_free(&r);
    ck_assert_int_eq(payments_of(code), 1);

    /* per address: one address over many orders, on both instances */
    const char *src = new_source();
    int sent = 0;
    while (sent < LIMIT_PER_ADDRESS) {
        new_order(510000, NULL, NULL, other);
        for (int i = 0; i < 6 && sent < LIMIT_PER_ADDRESS; i++, sent++) {
            r = start_from(sent % 2 ? &srv2 : &srv, src, other, "sandbox");
            ck_assert_msg(start_target(&r) != NULL, "start %d: %ld", sent, r.status);
            fgt_response_free(&r);
        }
    }
    new_order(520000, NULL, NULL, other);
    r = start_from(&srv, src, other, "sandbox");
    ck_assert_int_eq(r.status, 429);
    ck_assert_ptr_nonnull(fgt_header(&r, "retry-after"));
    fgt_response_free(&r);
    ck_assert_int_eq(payments_of(other), 0);
    /* another address is not held back */
    r = start_from(&srv2, new_source(), other, "sandbox");
    ck_assert_ptr_nonnull(start_target(&r));
    fgt_response_free(&r);
    /* the counters are rows of the current window only */
    ck_assert_int_eq(fgt_db_int("SELECT hits FROM payer_rate_windows WHERE scope = 'address' AND subject = ?", src,
                                NULL),
                     LIMIT_PER_ADDRESS + 1);
}
END_TEST

/* ---- the receipt ------------------------------------------------------------------------ */

static void expect_receipt(const char *path, const char *status)
{
    char attr[64];
    fgt_response_t r = get(path, NULL);
    ck_assert_int_eq(r.status, 200);
    snprintf(attr, sizeof(attr), "pay-receipt\" data-status=\"%s", status);
    expect_page(&r, attr, 0);
    int refreshes = strstr(r.body, "<meta http-equiv=\"refresh\" content=\"3\">") != NULL;
    ck_assert_int_eq(refreshes, strcmp(status, "processing") == 0);
    ck_assert_ptr_nonnull(strstr(r.body, "<dd data-unit>Trường THCS Trang Thanh Toán</dd>"));
    ck_assert_ptr_nonnull(strstr(r.body, "(GMT+7)</dd>"));
    fgt_response_free(&r);
}

/* Waits until the receipt says status, at most 20 s. */
static void wait_receipt(const char *path, const char *status)
{
    char attr[64];
    snprintf(attr, sizeof(attr), "data-status=\"%s\"", status);
    for (int i = 0; i < 200; i++) {
        fgt_response_t r = get(path, NULL);
        int done = strstr(r.body, attr) != NULL;
        fgt_response_free(&r);
        if (done)
            return;
        fgt_sleep_ms(100);
    }
    ck_abort_msg("%s never said %s", path, status);
}

/* The bill's VNPay button tapped and VNPay's page opened by the payer: the payment's id (its
 * vnp_TxnRef) into payment (48 bytes). */
static void vnpay_page_opened(const char *code, char *payment)
{
    char pay_url[2048];
    fgt_response_t r = start_from(&srv, new_source(), code, "vnpay");
    ck_assert_ptr_nonnull(start_target(&r));
    snprintf(pay_url, sizeof(pay_url), "%s", start_target(&r));
    fgt_response_free(&r);
    r = fgt_http("GET", pay_url, NULL);
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
    snprintf(payment, 48, "%s", strstr(pay_url, "vnp_TxnRef=") + strlen("vnp_TxnRef="));
    *strchrnul(payment, '&') = '\0';
}

START_TEST(vnpay_return_lands_on_a_receipt_processing_then_paid)
{
    char code[16], order[40], payment[48], receipt[128];
    new_order(275000, NULL, order, code);
    vnpay_page_opened(code, payment);

    /* the notification is lost on the way: the browser comes back first */
    fgt_response_t r = fgt_banksim_control(&bank, "/control/chaos", "{\"lose_ipn\":true}");
    fgt_response_free(&r);
    char body[160];
    snprintf(body, sizeof(body), "{\"txn_ref\":\"%s\",\"outcome\":\"approve\"}", payment);
    r = fgt_banksim_control(&bank, "/control/vnpay/pay", body);
    const char *return_url = fgt_json_str(&r, "return_url", NULL);
    ck_assert_ptr_nonnull(return_url);
    fgt_response_t back = get(strstr(return_url, "/pay/return/vnpay"), NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(back.status, 303);
    snprintf(receipt, sizeof(receipt), "/pay/%s/receipt?payment=%s", code, payment);
    ck_assert_str_eq(fgt_header(&back, "location"), receipt);
    fgt_response_free(&back);
    r = fgt_banksim_control(&bank, "/control/reset", "{}");
    fgt_response_free(&r);
    expect_receipt(receipt, "processing");

    /* the status query settles it: then paid, with VNPay's reference */
    wait_receipt(receipt, "paid");
    expect_receipt(receipt, "paid");
    r = get(receipt, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "data-method=\"vnpay\">VNPay</dd>"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-provider-ref>"));
    ck_assert_ptr_nonnull(strstr(r.body, "275.000\xc2\xa0\xe2\x82\xab"));
    ck_assert_ptr_nonnull(strstr(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;")); /* the payer */
    ck_assert_ptr_nonnull(strstr(r.body, "data-print hidden"));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'succeeded'", payment,
                                NULL),
                     1);

    /* a forged return link: refused, changes nothing */
    r = get("/pay/return/vnpay?vnp_TxnRef=pay_x&vnp_SecureHash=00", NULL);
    ck_assert_int_eq(r.status, 400);
    expect_page(&r, "pay-return", 0);
    fgt_response_free(&r);
}
END_TEST

/* The payer cancels at VNPay and its notification has not come: the signed return says so at
 * once, with the way back to the bill, instead of a receipt saying "processing, do not pay
 * again"; the payment stays pending (only the notification or the status query settles it),
 * and the next tap on the bill starts a new payment rather than send the payer to the
 * cancelled one's page. */
START_TEST(a_payment_cancelled_at_vnpay_says_so_and_the_next_tap_starts_anew)
{
    char code[16], payment[48], body[160], back_link[64];
    new_order(96000, NULL, NULL, code);
    vnpay_page_opened(code, payment);
    fgt_response_t r = fgt_banksim_control(&bank, "/control/chaos", "{\"lose_ipn\":true}");
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "{\"txn_ref\":\"%s\",\"outcome\":\"decline\"}", payment);
    r = fgt_banksim_control(&bank, "/control/vnpay/pay", body);
    const char *return_url = fgt_json_str(&r, "return_url", NULL);
    ck_assert_ptr_nonnull(return_url);
    ck_assert_ptr_nonnull(strstr(return_url, "vnp_ResponseCode=24"));
    fgt_response_t back = get(strstr(return_url, "/pay/return/vnpay"), NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(back.status, 200);
    expect_page(&back, "pay-returned-unpaid", 0);
    ck_assert_ptr_nonnull(strstr(back.body, "data-provider=\"vnpay\""));
    ck_assert_ptr_nonnull(strstr(back.body, "Bạn chưa bị trừ tiền"));
    snprintf(back_link, sizeof(back_link), "href=\"/pay/%s\" data-back-to-bill", code);
    ck_assert_ptr_nonnull(strstr(back.body, back_link));
    fgt_response_free(&back);
    r = fgt_banksim_control(&bank, "/control/reset", "{}");
    fgt_response_free(&r);
    /* still pending: the return is the payer's browser, not the provider's notification */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'pending' AND "
                                "returned_unpaid_at IS NOT NULL",
                                payment, NULL),
                     1);
    /* the next tap: a new payment, a new VNPay page */
    r = start_from(&srv, new_source(), code, "vnpay");
    ck_assert_ptr_nonnull(start_target(&r));
    ck_assert_ptr_null(strstr(start_target(&r), payment));
    ck_assert_ptr_nonnull(strstr(start_target(&r), "vnp_TxnRef=pay_"));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.code = ? "
                                "AND p.adapter = 'vnpay' AND p.status = 'pending'",
                                code, NULL),
                     2);
}
END_TEST

START_TEST(momo_return_lands_on_the_receipt)
{
    char code[16], pay_url[2048], payment[48], receipt[128], body[160];
    new_order(312000, NULL, NULL, code);
    fgt_response_t r = start_from(&srv, new_source(), code, "momo");
    ck_assert_ptr_nonnull(start_target(&r));
    snprintf(pay_url, sizeof(pay_url), "%s", start_target(&r));
    fgt_response_free(&r);
    ck_assert_msg(strncmp(pay_url, bank.url, strlen(bank.url)) == 0, "MoMo's page: %s", pay_url);
    ck_assert_int_eq(fgt_db_str("SELECT p.public_id FROM payments p JOIN orders o ON o.id = p.order_id "
                                "WHERE o.code = ? AND p.adapter = ?",
                                code, "momo", payment, sizeof(payment)),
                     1);
    r = fgt_http("GET", pay_url, NULL); /* the payer opens MoMo's page */
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);

    /* approved at MoMo: its IPN is applied, then the browser comes back by the redirect */
    snprintf(body, sizeof(body), "{\"order_id\":\"%s\",\"outcome\":\"approve\"}", payment);
    r = fgt_banksim_control(&bank, "/control/momo/pay", body);
    ck_assert_int_eq(r.status, 200);
    const char *redirect = fgt_json_str(&r, "redirect_url", NULL);
    ck_assert_ptr_nonnull(redirect);
    ck_assert_ptr_nonnull(strstr(redirect, "/pay/return/momo?"));
    fgt_response_t back = get(strstr(redirect, "/pay/return/momo"), NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(back.status, 303);
    snprintf(receipt, sizeof(receipt), "/pay/%s/receipt?payment=%s", code, payment);
    ck_assert_str_eq(fgt_header(&back, "location"), receipt);
    fgt_response_free(&back);
    expect_receipt(receipt, "paid");
    r = get(receipt, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "data-method=\"momo\">MoMo</dd>"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-provider-ref>"));
    ck_assert_ptr_nonnull(strstr(r.body, "312.000\xc2\xa0\xe2\x82\xab"));
    fgt_response_free(&r);

    /* a return link whose signature does not verify: refused, changes nothing */
    r = get("/pay/return/momo?partnerCode=MOMO&orderId=pay_x&resultCode=0&signature=00", NULL);
    ck_assert_int_eq(r.status, 400);
    expect_page(&r, "pay-return", 0);
    fgt_response_free(&r);
}
END_TEST

START_TEST(sandbox_receipt_turns_paid_when_the_notification_arrives)
{
    char code[16], location[256], path[128], receipt[128];
    new_order(180000, NULL, NULL, code);
    fgt_response_t r = start_from(&srv, new_source(), code, "sandbox");
    ck_assert_ptr_nonnull(start_target(&r));
    snprintf(location, sizeof(location), "%s", start_target(&r));
    fgt_response_free(&r);
    const char *sandbox = strstr(location, "/sandbox/pay/");
    ck_assert_ptr_nonnull(sandbox);
    snprintf(path, sizeof(path), "%s", sandbox);
    snprintf(receipt, sizeof(receipt), "/pay/%s/receipt?payment=%s", code, sandbox + strlen("/sandbox/pay/"));

    r = get(path, NULL);
    ck_assert_int_eq(r.status, 200);
    expect_page(&r, "sandbox-pay\" data-status=\"pending", 0);
    fgt_response_free(&r);
    expect_receipt(receipt, "processing");

    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    r = fgt_request(&srv, FGT_HTTP1, "POST", path, headers, "decision=approve", 0);
    ck_assert_int_eq(r.status, 200);
    expect_page(&r, "sandbox-pay\" data-status=\"succeeded", 0);
    fgt_response_free(&r);
    expect_receipt(receipt, "paid");

    /* without ?payment= the receipt shows the bill's paid payment */
    snprintf(path, sizeof(path), "/pay/%s/receipt", code);
    expect_receipt(path, "paid");

    /* GET /pay/receipt/{id} (DESIGN §4): by the payment's id or its receipt's, to the bill's receipt page */
    const char *payment = sandbox + strlen("/sandbox/pay/");
    char rct[64] = "";
    /* the id the payment names at once, the receipt issued or still queued for its number */
    fgt_db_str("SELECT receipt_id FROM payments WHERE public_id = ?", payment, NULL, rct, sizeof(rct));
    const char *ids[] = {payment, rct};
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(ids[i][0] != '\0', "no receipt was issued");
        snprintf(path, sizeof(path), "/pay/receipt/%s", ids[i]);
        r = get(path, NULL);
        ck_assert_int_eq(r.status, 303);
        ck_assert_str_eq(fgt_header(&r, "location"), receipt);
        fgt_response_free(&r);
    }
    r = get("/pay/receipt/rct_00000000000000000000000000", NULL);
    ck_assert_int_eq(r.status, 404);
    expect_page(&r, "pay-not-found", 0);
    fgt_response_free(&r);

    /* paid at is when the payment was posted, whatever changed the row later (a refund an hour on) */
    r = get(receipt, NULL);
    const char *at = strstr(r.body, "<dd data-time>");
    ck_assert_ptr_nonnull(at);
    char paid_at[64];
    snprintf(paid_at, sizeof(paid_at), "%.40s", at);
    fgt_response_free(&r);
    fgt_db_exec("UPDATE payments SET updated_at = updated_at + 3600000 WHERE public_id = ?", payment);
    r = get(receipt, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, paid_at));
    fgt_response_free(&r);
}
END_TEST

/* ---- closed bills -------------------------------------------------------------------------- */

static void expect_closed(const char *code, const char *status)
{
    char path[64], attr[64];
    snprintf(path, sizeof(path), "/pay/%s", code);
    fgt_response_t r = get(path, NULL);
    ck_assert_int_eq(r.status, 200);
    snprintf(attr, sizeof(attr), "pay-bill\" data-status=\"%s", status);
    expect_page(&r, attr, 0);
    ck_assert_ptr_nonnull(strstr(r.body, "data-closed>"));
    ck_assert_ptr_null(strstr(r.body, "<form"));
    ck_assert_ptr_null(strstr(r.body, "<button"));
    ck_assert_ptr_null(strstr(r.body, "qr.svg"));
    ck_assert_ptr_null(strstr(r.body, "data-copy"));
    ck_assert_ptr_null(strstr(r.body, "data-watch")); /* nothing more to wait for */
    ck_assert_ptr_null(strstr(r.body, "http-equiv=\"refresh\""));
    fgt_response_free(&r);
    /* a start anyway (an old tab) goes back to the bill and makes nothing */
    long long before = payments_of(code);
    r = start_from(&srv, new_source(), code, "vnpay");
    ck_assert_ptr_nonnull(start_target(&r));
    ck_assert_str_eq(start_target(&r), path);
    fgt_response_free(&r);
    ck_assert_int_eq(payments_of(code), before);
}

START_TEST(expired_cancelled_and_paid_bills_offer_no_button)
{
    char code[16], order[40], path[96];
    /* paid */
    new_order(90000, NULL, NULL, code);
    fgt_response_t r = start_from(&srv, new_source(), code, "sandbox");
    snprintf(path, sizeof(path), "%s", strstr(start_target(&r), "/sandbox/pay/"));
    fgt_response_free(&r);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    r = fgt_request(&srv, FGT_HTTP1, "POST", path, headers, "decision=approve", 0);
    fgt_response_free(&r);
    expect_closed(code, "paid");
    char payment[96], refund_path[160];
    snprintf(payment, sizeof(payment), "%s", path + strlen("/sandbox/pay/"));
    snprintf(path, sizeof(path), "/pay/%s", code);
    r = get(path, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "đã được thanh toán đủ. Không cần thanh toán thêm"));
    ck_assert_ptr_null(strstr(r.body, "data-refunded"));
    fgt_response_free(&r);
    /* refunded, in part then in whole: the bill stays paid and says what went back to the payer */
    snprintf(refund_path, sizeof(refund_path), "/v1/payments/%s/refunds", payment);
    static const long long REFUNDS[] = {30000, 60000};
    for (int i = 0; i < 2; i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"amount\":%lld}", REFUNDS[i]);
        r = fgt_req(&srv, FGT_H2C, "POST", refund_path, key, NULL, body, 0, "Content-Type: application/json");
        ck_assert_msg(r.status == 201 || r.status == 202, "refund: %ld %s", r.status, r.body);
        fgt_response_free(&r);
        long long want = i == 0 ? 30000 : 90000;
        for (int tries = 0;
             tries < 100 && fgt_db_int("SELECT o.amount_refunded FROM orders o WHERE o.code = ?", code, NULL) != want;
             tries++)
            fgt_sleep_ms(50);
        r = get(path, NULL);
        char attr[48];
        snprintf(attr, sizeof(attr), "data-refunded=\"%lld\"", want);
        ck_assert_msg(strstr(r.body, attr) != NULL, "no %s on the bill", attr);
        ck_assert_int_eq(strstr(r.body, "data-refunded-whole") != NULL, i == 1);
        ck_assert_ptr_null(strstr(r.body, "Không cần thanh toán thêm"));
        fgt_response_free(&r);
    }
    expect_closed(code, "paid");

    /* cancelled */
    new_order(91000, NULL, order, code);
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", order);
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, NULL, "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    expect_closed(code, "cancelled");

    /* expired */
    char expires[96];
    time_t soon = time(NULL) + 2;
    struct tm tm;
    gmtime_r(&soon, &tm);
    strftime(expires, sizeof(expires), ",\"expires_at\":\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
    new_order(92000, expires, NULL, code);
    fgt_sleep_ms(3000);
    expect_closed(code, "expired");
}
END_TEST

/* Only the methods that can take what is owed are offered: MoMo takes
 * 1,000..50,000,000 VND, VietQR amounts of 13 digits, VNPay and VietQR VND
 * only; the sandbox anything.  With none left the bill says so. */
static void offered(const fgt_server_t *s, const char *currency, long long amount, const char *want, int vietqr,
                    int none)
{
    char body[300], path[64], code[16];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":%lld,\"currency\":\"%s\"}", fgt_unique("PM"),
             amount, currency);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(code, sizeof(code), "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/pay/%s", code);
    r = fgt_request(s, FGT_HTTP1, "GET", path, NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    char shown[64] = "";
    static const char *const METHODS[] = {"vnpay", "momo", "sandbox"};
    for (int i = 0; i < 3; i++) {
        char form[48];
        snprintf(form, sizeof(form), "data-method=\"%s\"><input", METHODS[i]);
        if (strstr(r.body, form) != NULL)
            snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "%s%s", shown[0] ? "," : "", METHODS[i]);
    }
    ck_assert_msg(strcmp(shown, want) == 0, "%s %lld: offered %s, wanted %s", currency, amount, shown, want);
    ck_assert_int_eq(strstr(r.body, "data-vietqr") != NULL, vietqr);
    ck_assert_int_eq(strstr(r.body, "data-no-method") != NULL, none);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/pay/%s/qr.svg", code); /* no transfer offered, no QR drawn */
    r = fgt_request(s, FGT_HTTP1, "GET", path, NULL, NULL, 0);
    ck_assert_int_eq(r.status, vietqr ? 200 : 404);
    fgt_response_free(&r);
}

START_TEST(only_methods_that_can_take_the_bill_are_offered)
{
    offered(&srv, "VND", 250000, "vnpay,momo,sandbox", 1, 0);
    offered(&srv, "VND", 60000000, "vnpay,sandbox", 1, 0);           /* over MoMo's 50,000,000 */
    offered(&srv, "VND", 1000000000000000LL, "vnpay,sandbox", 0, 0); /* over VietQR's 13 digits */
    offered(&srv, "USD", 1999, "sandbox", 0, 0);                     /* no Vietnamese bank takes dollars */
    /* an instance without the sandbox: a dollar bill has no way to be paid here, and says so */
    static const char *const env[] = {"FEEGATE_SANDBOX_SECRET=", NULL};
    fgt_server_t plain;
    fgt_server_start(&plain, env);
    offered(&plain, "USD", 1999, "", 0, 1);
    offered(&plain, "VND", 250000, "vnpay,momo", 1, 0);
    ck_assert_int_eq(fgt_server_stop(&plain), 0);
}
END_TEST

/* ---- language and speed --------------------------------------------------------------------- */

START_TEST(english_is_a_remembered_toggle)
{
    char code[16], path[96];
    new_order(4500000, NULL, NULL, code);
    snprintf(path, sizeof(path), "/pay/%s?lang=en", code);
    fgt_response_t r = get(path, NULL);
    ck_assert_int_eq(r.status, 200);
    const char *cookie = fgt_header(&r, "set-cookie");
    ck_assert_ptr_nonnull(cookie);
    ck_assert_str_eq(cookie, "lang=en; Path=/; Max-Age=31536000; SameSite=Lax");
    ck_assert_ptr_nonnull(strstr(r.body, "<html lang=\"en\">"));
    ck_assert_ptr_nonnull(strstr(r.body, "Pay with VNPay</button>"));
    char toggle[128];
    snprintf(toggle, sizeof(toggle), "<a class=\"lang\" href=\"/pay/%s?lang=vi\"", code);
    ck_assert_ptr_nonnull(strstr(r.body, toggle));
    fgt_response_free(&r);

    /* remembered: the cookie alone */
    snprintf(path, sizeof(path), "/pay/%s", code);
    r = get(path, "Cookie: lang=en");
    ck_assert_ptr_nonnull(strstr(r.body, "<html lang=\"en\">"));
    ck_assert_ptr_nonnull(strstr(r.body, "Still owed"));
    ck_assert_ptr_null(fgt_header(&r, "set-cookie"));
    fgt_response_free(&r);
    r = get("/pay", "Cookie: lang=en");
    ck_assert_ptr_nonnull(strstr(r.body, "Payment code"));
    fgt_response_free(&r);
    /* the toggle keeps the rest of the query */
    r = get("/pay?code=abc&lang=en", NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/pay?code=abc&amp;lang=vi\""));
    ck_assert_ptr_nonnull(strstr(r.body, "This code is not right"));
    fgt_response_free(&r);
    /* over TLS the cookie is Secure */
    snprintf(path, sizeof(path), "/pay/%s?lang=vi", code);
    r = fgt_request(&srv, FGT_H2TLS, "GET", path, NULL, NULL, 0);
    ck_assert_str_eq(fgt_header(&r, "set-cookie"), "lang=vi; Path=/; Max-Age=31536000; SameSite=Lax; Secure");
    ck_assert_ptr_nonnull(strstr(r.body, "<html lang=\"vi\">"));
    fgt_response_free(&r);
}
END_TEST

START_TEST(pages_are_served_in_under_50_ms)
{
    char code[16], path[96];
    new_order(4500000, NULL, NULL, code);
    snprintf(path, sizeof(path), "/pay/%s", code);
    const char *paths[] = {"/pay", path};
    for (int p = 0; p < 2; p++) {
        double times[21];
        for (int i = 0; i < 21; i++) {
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            fgt_response_t r = get(paths[p], NULL);
            clock_gettime(CLOCK_MONOTONIC, &b);
            ck_assert_int_eq(r.status, 200);
            fgt_response_free(&r);
            times[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        }
        int below = 0;
        for (int i = 0; i < 21; i++)
            below += times[i] < 50.0;
        ck_assert_msg(below >= 11, "%s: the median request took 50 ms or more", paths[p]);
    }
}
END_TEST

int main(void)
{
    for (size_t i = 0; i < sizeof(SHARED_ENV) / sizeof(SHARED_ENV[0]); i++)
        setenv(SHARED_ENV[i][0], SHARED_ENV[i][1], 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int http_port = fgt_free_port();
    fgt_banksim_start(&bank, http_port);
    fgt_merchant_create("Trường THCS Trang Thanh Toán", mer, key);
    static const char *const env[] = {"FEEGATE_PAYMENTS_PENDING_QUERY_AFTER_S=4", NULL};
    fgt_banksim_feegate_start(&srv, &bank, http_port, env);
    /* a second instance on the same database: the limits are the database's */
    fgt_banksim_feegate_start(&srv2, &bank, fgt_free_port(), env);
    fgt_db_exec("DELETE FROM payer_rate_windows", NULL);

    Suite *s = suite_create("pages");
    TCase *tc = tcase_create("payer");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_page_answers_with_its_headers);
    tcase_add_test(tc, payer_and_merchant_names_are_escaped);
    tcase_add_test(tc, the_code_is_found_however_it_is_typed);
    tcase_add_test(tc, a_reload_reuses_the_pending_payment);
    tcase_add_test(tc, a_momo_start_that_failed_is_tried_again);
    tcase_add_test(tc, concurrent_starts_make_one_pending_payment);
    tcase_add_test(tc, starts_are_limited_per_order_and_per_address_across_instances);
    tcase_add_test(tc, vnpay_return_lands_on_a_receipt_processing_then_paid);
    tcase_add_test(tc, a_payment_cancelled_at_vnpay_says_so_and_the_next_tap_starts_anew);
    tcase_add_test(tc, momo_return_lands_on_the_receipt);
    tcase_add_test(tc, sandbox_receipt_turns_paid_when_the_notification_arrives);
    tcase_add_test(tc, expired_cancelled_and_paid_bills_offer_no_button);
    tcase_add_test(tc, only_methods_that_can_take_the_bill_are_offered);
    tcase_add_test(tc, english_is_a_remembered_toggle);
    tcase_add_test(tc, pages_are_served_in_under_50_ms);
    suite_add_tcase(s, tc);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv2) != 0)
        rc = 1;
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    fgt_banksim_stop(&bank);
    curl_global_cleanup();
    return rc;
}
