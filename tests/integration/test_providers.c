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
 * both ports itself and starts both programs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/ids.h"
#include "harness.h"

static fgt_server_t srv;
static char mer[64], key[64];
static pid_t banksim_pid;
static int banksim_port;
static char banksim_url[64];

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
};

/* ---- processes ------------------------------------------------------------------ */

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len))
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

static const char *feegate_bin(void)
{
    const char *b = getenv("FEEGATE_BIN");
    return b != NULL && b[0] != '\0' ? b : getenv("FEEGATE_BIN_DEFAULT");
}

static void start_banksim(int feegate_port)
{
    const char *bin = getenv("BANKSIM_BIN");
    int out[2];
    char feegate[64];
    if (bin == NULL || pipe(out) != 0) {
        fprintf(stderr, "BANKSIM_BIN is not set\n");
        exit(1);
    }
    snprintf(feegate, sizeof(feegate), "http://127.0.0.1:%d", feegate_port);
    pid_t parent = getpid();
    banksim_pid = fork();
    if (banksim_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent || dup2(out[1], 1) < 0)
            _exit(127);
        close(out[0]);
        execl(bin, bin, "--listen", "127.0.0.1:0", "--feegate", feegate, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "listening=%d", &banksim_port) == 1)
            break;
    if (banksim_port <= 0) {
        fprintf(stderr, "banksim did not say listening=PORT\n");
        exit(1);
    }
    /* keep reading banksim's stdout so that it never blocks on a full pipe */
    if (fork() == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        while (fgets(line, sizeof(line), f) != NULL) {
        }
        _exit(0);
    }
    fclose(f);
    snprintf(banksim_url, sizeof(banksim_url), "http://127.0.0.1:%d", banksim_port);
}

/* fgt_server_start picks its own ports; feegate's base URL must be known
 * first here, so this starts `feegate serve` the same way on chosen ports. */
static void start_feegate(int http_port)
{
    static char env[16][256];
    int n = 0;
    memset(&srv, 0, sizeof(srv));
    srv.http_port = http_port;
    do
        srv.https_port = free_port();
    while (srv.https_port == http_port);
    snprintf(srv.log_path, sizeof(srv.log_path), "/tmp/feegate-it-%d-%d.log", (int)getpid(), http_port);
    snprintf(env[n++], 256, "FEEGATE_HTTP_LISTEN=127.0.0.1:%d", http_port);
    snprintf(env[n++], 256, "FEEGATE_HTTPS_LISTEN=127.0.0.1:%d", srv.https_port);
    snprintf(env[n++], 256, "FEEGATE_PUBLIC_BASE_URL=http://127.0.0.1:%d", http_port);
    snprintf(env[n++], 256, "FEEGATE_VNPAY_PAY_URL=%s/vnpay/paymentv2/vpcpay.html", banksim_url);
    snprintf(env[n++], 256, "FEEGATE_VNPAY_API_URL=%s/vnpay/merchant_webapi/api/transaction", banksim_url);
    snprintf(env[n++], 256, "FEEGATE_MOMO_ENDPOINT=%s/momo", banksim_url);
    snprintf(env[n++], 256, "FEEGATE_PAYMENTS_PENDING_QUERY_AFTER_S=2");
    snprintf(env[n++], 256, "FEEGATE_LOG_REQUESTS=false");
    snprintf(env[n++], 256, "FEEGATE_ORDERS_SWEEP_INTERVAL_MS=100");
    snprintf(env[n++], 256, "FEEGATE_SERVER_THREADS=2");
    snprintf(env[n++], 256, "FEEGATE_DB_POOL_SIZE=16");
    int log = open(srv.log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t parent = getpid();
    srv.pid = fork();
    if (srv.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent || dup2(log, 1) < 0 || dup2(log, 2) < 0)
            _exit(127);
        for (int i = 0; i < n; i++)
            putenv(env[i]);
        execl(feegate_bin(), feegate_bin(), "serve", (char *)NULL);
        _exit(127);
    }
    close(log);
    for (int waited = 0;; waited += 20) {
        fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "GET", "/healthz", NULL, NULL, 0);
        long status = r.status;
        fgt_response_free(&r);
        if (status == 200)
            return;
        if (waited > 20000 || waitpid(srv.pid, NULL, WNOHANG) == srv.pid) {
            fprintf(stderr, "feegate did not start; see %s\n", srv.log_path);
            exit(1);
        }
        fgt_sleep_ms(20);
    }
}

/* ---- banksim's control API -------------------------------------------------------- */

static size_t collect(char *data, size_t size, size_t count, void *arg)
{
    fgt_response_t *r = arg;
    size_t n = size * count;
    r->body = realloc(r->body, r->body_len + n + 1);
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* One request to an absolute URL (banksim, or a return URL), JSON parsed. */
static fgt_response_t http(const char *method, const char *url, const char *json)
{
    fgt_response_t r;
    memset(&r, 0, sizeof(r));
    r.body = calloc(1, 1);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    if (json != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    r.curl_code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    char err[128];
    r.json = yajl_tree_parse(r.body, err, sizeof(err));
    return r;
}

static fgt_response_t control(const char *path, const char *json)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", banksim_url, path);
    fgt_response_t r = http("POST", url, json);
    ck_assert_msg(r.status == 200, "banksim %s answered %ld: %s", path, r.status, r.body);
    return r;
}

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
    ck_assert_msg(strncmp(redirect, banksim_url, strlen(banksim_url)) == 0, "redirect_url %s", redirect);
    fgt_response_t page = http("GET", redirect, NULL);
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
    snprintf(body, sizeof(body), "{\"amount\":%lld,\"content\":\"%s\",\"transfer_type\":\"%s\"}", amount, content, type);
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

    /* the return page verifies the signature and shows our database */
    const char *return_url = fgt_json_str(&r, "return_url", NULL);
    ck_assert_ptr_nonnull(return_url);
    fgt_response_t page = http("GET", return_url, NULL);
    ck_assert_int_eq(page.status, 200);
    ck_assert_ptr_nonnull(strstr(page.body, "data-status=\"succeeded\""));
    fgt_response_free(&page);
    char *forged = strdup(return_url);
    char *amount = strstr(forged, "vnp_Amount=") + 11;
    *amount = *amount == '9' ? '8' : '9';
    page = http("GET", forged, NULL);
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
    /* VNPay is down: 502, nothing refunded, nothing reserved, retryable */
    chaos("{\"fail_api\":true}");
    idem = fgt_unique("rf");
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":50000}", 0, NULL);
    fgt_expect_error(r, 502, "unavailable", "provider_unavailable");
    fgt_response_free(&r);
    expect_moved(&before, "vnpay", -100000, 0);
    ck_assert_int_eq(fgt_db_int("SELECT amount_refunding FROM payments WHERE public_id = ?", payment, NULL), 0);
    reset();
    r = fgt_req(&srv, FGT_H2C, "POST", path, key, idem, "{\"amount\":50000}", 0, NULL);
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
    snprintf(expected, sizeof(expected), "%s/momo/pay/%s", banksim_url, payment);
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
    fgt_request_t two[2] = {{"POST", path2, headers, "{\"method\":\"momo\"}", 0},
                            {"POST", path2, headers, "{\"method\":\"momo\"}", 0}};
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
    expect_order(order, "paid", 250000);
    expect_moved(&before, "vietqr", 250000, 0);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, NULL, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 410); /* nothing left to pay */
    fgt_response_free(&r);
    ledger_holds();
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

int main(void)
{
    for (size_t i = 0; i < sizeof(SHARED_ENV) / sizeof(SHARED_ENV[0]); i++)
        setenv(SHARED_ENV[i][0], SHARED_ENV[i][1], 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int http_port = free_port();
    start_banksim(http_port);
    fgt_merchant_create("Trường THCS Ngân Hàng", mer, key);
    snprintf(merchant_account, sizeof(merchant_account), "liabilities:merchant:%s", mer);
    start_feegate(http_port);

    Suite *s = suite_create("providers");
    TCase *tc = tcase_create("banksim");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, vnpay_success_with_concurrent_duplicates_applies_once);
    tcase_add_test(tc, vnpay_decline_forgery_and_reordered_failure);
    tcase_add_test(tc, vnpay_wrong_amount_is_applied_and_answered_04);
    tcase_add_test(tc, vnpay_lost_ipn_is_settled_by_querydr);
    tcase_add_test(tc, vnpay_late_payment_to_an_expired_order_is_unapplied);
    tcase_add_test(tc, vnpay_refund_and_a_provider_that_is_down);
    tcase_add_test(tc, momo_success_duplicates_forgery_and_refund);
    tcase_add_test(tc, momo_decline_wrong_amount_and_lost_ipn);
    tcase_add_test(tc, momo_down_leaves_the_payment_pending_and_the_key_retryable);
    tcase_add_test(tc, momo_create_in_flight_answers_409_to_the_same_key);
    tcase_add_test(tc, vietqr_transfer_settles_the_order_by_its_memo);
    tcase_add_test(tc, vietqr_duplicates_forgery_unknown_memo_and_outgoing);
    tcase_add_test(tc, vietqr_late_and_short_transfers_are_unapplied);
    suite_add_tcase(s, tc);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    kill(banksim_pid, SIGTERM);
    waitpid(banksim_pid, NULL, 0);
    curl_global_cleanup();
    return rc;
}
