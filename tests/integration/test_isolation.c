/*
 * test_isolation.c - the isolation sweep: every route of the server's own
 * table (fg_api_routes, services/api/routes.c), called as someone who must
 * not get what it asks for.  A new route is swept without a test of its own;
 * one the sweep cannot classify fails it with what to add here.
 *
 * Two merchants, A and B, each with real objects made through the API and
 * the pages (orders, a paid payment and its refund, a webhook endpoint and
 * its events, keys, a bills upload), plus the city's (a statement, a
 * reconciliation and its item, a payout and a batch).  Then, for every route:
 *
 *   - no credentials, an unknown key and A's revoked key: 401 with the JSON
 *     error (the API); a page sends a GET to /staff/login and refuses a POST
 *     with 403 (docs/PAGES.md), also when it is sent a key or a staff token
 *     instead of its session cookie, or a cookie no session has;
 *   - a key of the wrong scope: A's merchant key on staff and export routes,
 *     the export key on merchant and staff routes, staff tokens on merchant
 *     and export routes: 401 or 403 as services/http/auth.c answers;
 *   - every staff role (admin, finance, auditor city-wide; an accountant,
 *     admin, finance and auditor scoped to A) on each API route and page it
 *     may not use: 403 (the city's pages are no scoped account's);
 *   - A's key, and the accounts scoped to A, with B's ids in the path (or
 *     naming B in the query): 404, never 200 with B's data nor 500; a list A
 *     may read answers 200 without any of B's ids or amounts; B's
 *     Idempotency-Keys replayed by A get A's own answer; B's objects named
 *     inside A's requests (a body, a query, a form's merchant) are 404;
 *   - POSTs carry a body that would act, and B's rows (and the city's) are
 *     the same afterwards, read with SQL.
 *
 * Public routes (payer pages, provider notifications, login, assets) are
 * listed below with the answer a caller without credentials gets.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "api/handlers.h"
#include "harness.h"
#include "http/http.h"
#include "staff_client.h"

#define SEPAY_KEY "it-sepay-key"
#define SANDBOX_SECRET "it-sandbox-secret"
#define BOUNDARY "----feegateIsolationBoundary"
#define PATH_CAP 512
/* What A's orders are for, and B's (no other sum of the world is B's): a
 * figure of B's in what A reads is a leak. */
#define A_AMOUNT 300000
#define B_AMOUNT 734000
#define B_AMOUNT_DIGITS "734000"
#define B_AMOUNT_DOTS "734.000"
#define REPORT_CAP (96 * 1024)

/* ---- the world ---------------------------------------------------------------------- */

typedef struct {
    char id[FGT_ID_CAP], key[FGT_ID_CAP], key_id[FGT_ID_CAP];
    char order_open[FGT_ID_CAP], code_open[FGT_ID_CAP], order_paid[FGT_ID_CAP], code_paid[FGT_ID_CAP];
    char payment[FGT_ID_CAP], refund[FGT_ID_CAP], endpoint[FGT_ID_CAP], event[FGT_ID_CAP], upload[FGT_ID_CAP];
    char receipt[FGT_ID_CAP]; /* the paid order's receipt */
    char account[96];         /* liabilities:merchant:{id} */
    /* the Idempotency-Keys and merchant_ref the open order and the endpoint were made with, and its secret */
    char idem_order[FGT_ID_CAP], ref_open[FGT_ID_CAP], idem_endpoint[FGT_ID_CAP], secret[128];
} merchant_world_t;

#define ENDPOINT_BODY "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"*\"]}"

typedef struct {
    const char *role; /* --role */
    const char *name; /* in messages */
    int scoped;       /* to A (--merchant): an accountant, or another role given a merchant */
    char email[128], token[128], session[256], csrf[128];
} staff_t;

/* The city's roles, then the accounts scoped to A: they act for A as A's key does. */
enum { ADMIN, FINANCE, AUDITOR, ACCOUNTANT, ADMIN_OF_A, FINANCE_OF_A, AUDITOR_OF_A, ROLES };

static fgt_server_t srv;
static merchant_world_t A, B;
static staff_t staff[ROLES] = {
    {.role = "admin", .name = "admin"},
    {.role = "finance", .name = "finance"},
    {.role = "auditor", .name = "auditor"},
    {.role = "accountant", .name = "A's accountant", .scoped = 1},
    {.role = "admin", .name = "an admin scoped to A", .scoped = 1},
    {.role = "finance", .name = "finance scoped to A", .scoped = 1},
    {.role = "auditor", .name = "an auditor scoped to A", .scoped = 1},
};
static char revoked_key[FGT_ID_CAP], export_key[FGT_ID_CAP], revoked_token[128];
static staff_t ended = {.role = "admin", .name = "admin (logged out)"}; /* a session that was */
static char bank_account[40], recon[FGT_ID_CAP], item[32], payout[FGT_ID_CAP], batch[FGT_ID_CAP];
static char statement[FGT_ID_CAP];
static char b_before[16384], city_before[4096];

/* Outside a test (in main) a failure prints and exits, as the harness does. */
#define must(cond, ...)                                                                                                \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "test_isolation: ");                                                                       \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n");                                                                                     \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

/* ---- what the sweep found ------------------------------------------------------------- */

static char report[REPORT_CAP];
static size_t report_len;
static int failures, calls;

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failure(const char *fmt, ...)
{
    failures++;
    if (report_len + 2 >= sizeof(report))
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(report + report_len, sizeof(report) - report_len - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    report_len += (size_t)n < sizeof(report) - report_len - 1 ? (size_t)n : sizeof(report) - report_len - 2;
    report[report_len++] = '\n';
    report[report_len] = '\0';
}

static void sweep_done(const char *what)
{
    fprintf(stderr, "isolation: %s: %d calls, %d unexpected answers\n%s", what, calls, failures, report);
    /* Check carries a message of a few kilobytes: the whole list is on stderr above */
    ck_assert_msg(failures == 0, "%s: %d of %d answers were not the expected ones:\n%.3000s", what, failures, calls,
                  report);
}

/* ---- classifying a route -------------------------------------------------------------- */

/* Who may open a staff page or post its form (fg_staff_open in services/web/staff*.c): the
 * city's pages (CITY*) are no scoped account's; the others keep a scoped account to its merchant. */
typedef enum { PAGE_ANY, PAGE_CITY, PAGE_WRITE, PAGE_ADMIN, PAGE_CITY_WRITE, PAGE_CITY_ADMIN } page_access_t;

static const struct {
    const char *name;
    page_access_t access;
} PAGES[] = {
    {"staff.logout", PAGE_ANY},
    {"staff.overview", PAGE_ANY},
    {"staff.orders", PAGE_ANY},
    {"staff.order", PAGE_ANY},
    {"staff.statements", PAGE_CITY},
    {"staff.statements_post", PAGE_CITY_WRITE},
    {"staff.reconciliations", PAGE_CITY},
    {"staff.reconciliations_post", PAGE_CITY_WRITE},
    {"staff.reconciliation", PAGE_CITY},
    {"staff.resolve", PAGE_CITY_WRITE},
    {"staff.reconciliation_close", PAGE_CITY_WRITE},
    {"staff.bills", PAGE_ANY},
    {"staff.bills_post", PAGE_ANY},
    {"staff.bills_commit", PAGE_ANY},
    {"staff.bills_result", PAGE_ANY},
    {"staff.reports", PAGE_ANY},
    {"staff.report_file", PAGE_ANY},
    {"staff.audit", PAGE_CITY},
    {"staff.users", PAGE_CITY_ADMIN},
    {"staff.users_unlock", PAGE_CITY_ADMIN},
    {"staff.merchants", PAGE_ANY},
    {"staff.merchants_create", PAGE_CITY_ADMIN},
    {"staff.key_create", PAGE_ADMIN},
    {"staff.key_rotate", PAGE_ADMIN},
    {"staff.key_revoke", PAGE_ADMIN},
    {"staff.webhooks", PAGE_ANY},
    {"staff.webhook_endpoint", PAGE_WRITE},
    {"staff.redeliver", PAGE_WRITE},
    {"staff.payouts", PAGE_ANY},
    {"staff.payout", PAGE_ANY},
    {"staff.payout_create", PAGE_CITY_WRITE},
    {"staff.payout_batch_create", PAGE_CITY_WRITE},
    {"staff.payout_batch", PAGE_CITY},
    {"staff.payout_batch_file", PAGE_CITY},
};

/* Routes anyone may call (FG_AUTH_NONE and not a staff page), and what a
 * caller without credentials gets for B's ids: they check what they are
 * sent themselves (a signature, the bank feed's key, a payer code). */
static const struct {
    const char *name;
    long status;
    const char *why;
} PUBLIC[] = {
    {"webhooks.sepay", 401, "the bank feed: Authorization: Apikey"},
    {"webhooks.inbound", 401, "a provider's notification: its signature"},
    {"webhooks.inbound_get", 400, "a provider's notification by GET: its signature"},
    {"exports.jwks", 200, "the change feed's public keys"},
    {"receipts.keys", 200, "the e-receipts' public keys"},
    {"staff.css", 200, "the staff stylesheet"},
    {"staff.login", 200, "the login form"},
    {"staff.login_post", 403, "the login form: without its CSRF token"},
    {"web.asset", 404, "the payer pages' files"},
    {"pay.return", 400, "the browser back from a gateway: its signature"},
    {"pay.qr", 200, "a bill's VietQR: the payer code is the bill's bearer"},
    {"pay.receipt", 404, "a bill's receipt: the payer code (B's open bill has no payment)"},
    {"pay.start", 400, "paying a bill: the payer code (without a method)"},
    {"pay.pay", 400, "paying a bill, DESIGN §4's name: the payer code (without a method)"},
    {"pay.receipt_by_id", 303,
     "a receipt by its id (80 random bits, the receipt's bearer): to its bill's receipt page"},
    {"pay.find", 200, "the payer's code form"},
    {"pay.page", 200, "a bill: the payer code"},
    {"sandbox.page", 200, "the sandbox gateway's page"},
    {"sandbox.decide", 400, "the sandbox gateway's choice (none given)"},
    {"verify.page", 200, "checking an e-receipt's QR payload: the form, or the verdict"},
    {"reminders.opt_out_page", 404, "a reminder's opt-out link: its token (an HMAC of the order's id)"},
    {"reminders.opt_out", 404, "stopping a payer's reminders: the link's token"},
};

typedef enum { ROUTE_API, ROUTE_PAGE, ROUTE_PUBLIC, ROUTE_UNKNOWN } route_kind_t;

static int page_index(const char *name)
{
    for (size_t i = 0; i < sizeof(PAGES) / sizeof(PAGES[0]); i++)
        if (strcmp(PAGES[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int public_index(const char *name)
{
    for (size_t i = 0; i < sizeof(PUBLIC) / sizeof(PUBLIC[0]); i++)
        if (strcmp(PUBLIC[i].name, name) == 0)
            return (int)i;
    return -1;
}

static route_kind_t route_kind(const fg_route_t *rt)
{
    if (rt->auth != FG_AUTH_NONE)
        return page_index(rt->name) >= 0 || public_index(rt->name) >= 0 ? ROUTE_UNKNOWN : ROUTE_API;
    int page = page_index(rt->name), pub = public_index(rt->name);
    if (page >= 0 && pub < 0 && strncmp(rt->pattern, "/staff", 6) == 0)
        return ROUTE_PAGE;
    if (pub >= 0 && page < 0)
        return ROUTE_PUBLIC;
    return ROUTE_UNKNOWN;
}

/* Every route is classified, or the sweep says what to add. */
static int classified(const fg_route_t *rt)
{
    if (route_kind(rt) != ROUTE_UNKNOWN)
        return 1;
    failure("%s %s (%s): unclassified: a route without FG_AUTH_* needs an entry in test_isolation.c's PAGES "
            "(a staff page: which roles fg_staff_open lets in) or PUBLIC (anyone: the answer without credentials)",
            rt->method, rt->pattern, rt->name);
    return 0;
}

/* ---- ids and bodies ---------------------------------------------------------------------- */

/* The id a {} takes, by the pattern before it: B's objects, or the city's;
 * *bs tells which. */
static const char *id_for(const char *prefix, int *bs)
{
    static char buf[64];
    const struct {
        const char *prefix;
        const char *id;
        int bs; /* one of B's objects (not the city's, nor a name) */
    } IDS[] = {
        {"/v1/orders/", B.order_open, 1},
        {"/v1/payments/", B.payment, 1},
        {"/v1/refunds/", B.refund, 1},
        {"/v1/receipts/", B.receipt, 1},
        {"/v1/webhooks/", "sandbox", 0},
        {"/v1/webhook-endpoints/", B.endpoint, 1},
        {"/v1/events/", B.event, 1},
        {"/v1/reconciliations/", recon, 0},
        {"/v1/statements/", statement, 0},
        {"/v1/reconciliations/{}/items/", item, 0},
        {"/v1/payouts/", payout, 0},
        {"/v1/payout-batches/", batch, 0},
        {"/v1/merchants/", B.id, 1},
        {"/v1/ledger/accounts/", B.account, 1},
        {"/staff/orders/", B.order_paid, 1},
        {"/staff/reconciliations/", recon, 0},
        {"/staff/reconciliations/{}/items/", item, 0},
        {"/staff/bills/", B.upload, 1},
        {"/staff/reports/", "collections.csv", 0},
        {"/staff/merchants/", B.id, 1},
        {"/staff/merchants/keys/", B.key_id, 1},
        {"/staff/webhooks/endpoints/", B.endpoint, 1},
        {"/staff/webhooks/events/", B.event, 1},
        {"/staff/payouts/batches/", batch, 0},
        {"/staff/payouts/", payout, 1},
        {"/assets/", "nothing.css", 0},
        {"/pay/return/", "vnpay", 0},
        {"/pay/receipt/", B.receipt, 1},
        {"/pay/", B.code_open, 1},
        {"/sandbox/pay/", B.payment, 1},
        {"/reminders/opt-out/", B.order_open, 1},
        {"/reminders/opt-out/{}/", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0},
    };
    for (size_t i = 0; i < sizeof(IDS) / sizeof(IDS[0]); i++)
        if (strcmp(IDS[i].prefix, prefix) == 0) {
            snprintf(buf, sizeof(buf), "%s", IDS[i].id);
            *bs = IDS[i].bs;
            return buf;
        }
    return NULL;
}

/* The route's path with B's (or the city's) ids; 0 after a failure naming
 * what the sweep lacks.  *bs (may be NULL): whether one is B's. */
static int path_of_b(const fg_route_t *rt, char *out, size_t cap, int *bs_any)
{
    char prefix[PATH_CAP];
    int bs = 0, any = 0;
    size_t n = 0;
    const char *p = rt->pattern;
    while (*p != '\0' && n + 1 < cap) {
        if (p[0] == '{' && p[1] == '}') {
            snprintf(prefix, sizeof(prefix), "%.*s", (int)(p - rt->pattern), rt->pattern);
            const char *id = id_for(prefix, &bs);
            any |= bs;
            if (id == NULL) {
                failure("%s %s (%s): no id for the {} after %s: add one to test_isolation.c's id_for", rt->method,
                        rt->pattern, rt->name, prefix);
                return 0;
            }
            n += (size_t)snprintf(out + n, cap - n, "%s", id);
            p += 2;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    if (bs_any != NULL)
        *bs_any = any;
    return 1;
}

static int path_of(const fg_route_t *rt, char *out, size_t cap) { return path_of_b(rt, out, cap, NULL); }

/* The query that names B on a route without ids in its path, or "". */
static const char *query_naming_b(const fg_route_t *rt)
{
    static char q[256];
    q[0] = '\0';
    if (strcmp(rt->name, "reports.collections") == 0 || strcmp(rt->name, "reports.merchant_statement") == 0)
        snprintf(q, sizeof(q), "?merchant_id=%s&from=2026-01-01&to=2026-12-31", B.id);
    else if (strcmp(rt->name, "reports.outstanding") == 0)
        snprintf(q, sizeof(q), "?merchant_id=%s", B.id);
    else if (strcmp(rt->name, "staff.webhooks") == 0)
        snprintf(q, sizeof(q), "?merchant=%s", B.id);
    else if (strcmp(rt->name, "staff.orders") == 0)
        snprintf(q, sizeof(q), "?q=%s", B.code_paid);
    return q;
}

/* A body that would act if the route let the caller in: JSON for the API. */
static const char *api_body(const fg_route_t *rt)
{
    static char body[1024];
    const char *n = rt->name;
    if (strcmp(n, "orders.create") == 0)
        snprintf(body, sizeof(body),
                 "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":150000,\"currency\":\"VND\"}",
                 fgt_unique("ISO"));
    else if (strcmp(n, "orders.batch") == 0)
        snprintf(body, sizeof(body),
                 "{\"orders\":[{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":150000,\"currency\":"
                 "\"VND\"}]}",
                 fgt_unique("ISO"));
    else if (strcmp(n, "orders.import") == 0)
        snprintf(body, sizeof(body), "merchant_ref,amount\r\n%s,150000\r\n", fgt_unique("ISO"));
    else if (strcmp(n, "orders.cancel") == 0)
        snprintf(body, sizeof(body), "{}"); /* a cancel takes no input */
    else if (strcmp(n, "payments.create") == 0)
        snprintf(body, sizeof(body), "{\"method\":\"sandbox\"}");
    else if (strcmp(n, "refunds.create") == 0)
        snprintf(body, sizeof(body), "{\"amount\":1000,\"reason\":\"isolation\"}");
    else if (strcmp(n, "webhook_endpoints.create") == 0 || strcmp(n, "webhook_endpoints.update") == 0)
        snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:9/elsewhere\",\"events\":[\"*\"]}");
    else if (strcmp(n, "webhook_endpoints.enable") == 0 || strcmp(n, "webhook_endpoints.disable") == 0 ||
             strcmp(n, "webhook_endpoints.rotate_secret") == 0 || strcmp(n, "events.redeliver") == 0 ||
             strcmp(n, "reconciliations.close") == 0)
        snprintf(body, sizeof(body), "{}");
    else if (strcmp(n, "statements.import") == 0 || strcmp(n, "settlements.import") == 0)
        snprintf(body, sizeof(body),
                 "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
                 "%s,VND,opening,2026-12-01,1000,,,,\n%s,VND,closing,2026-12-01,1000,,,,\n",
                 bank_account, bank_account);
    else if (strcmp(n, "reconciliations.create") == 0)
        snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-12-02\",\"to\":\"2026-12-02\"}",
                 bank_account);
    else if (strcmp(n, "reconciliations.resolve") == 0)
        snprintf(body, sizeof(body), "{\"action\":\"accept\",\"note\":\"isolation\"}");
    else if (strcmp(n, "payouts.create") == 0)
        snprintf(body, sizeof(body), "{\"merchant_id\":\"%s\",\"amount\":1000,\"reference\":\"%s\"}", B.id,
                 fgt_unique("ISO"));
    else if (strcmp(n, "payout_batches.create") == 0)
        snprintf(body, sizeof(body), "{\"account\":\"ISOLATION\"}");
    else if (strcmp(n, "merchants.payout_account") == 0)
        snprintf(body, sizeof(body),
                 "{\"bank_bin\":\"970436\",\"account_number\":\"0071000999777\",\"account_name\":\"KHAC\"}");
    else if (strcmp(n, "reminder_policy.set") == 0)
        snprintf(body, sizeof(body), "{\"steps\":[{\"days\":-1,\"channel\":\"sms\"}],\"enabled\":false}");
    else if (strcmp(n, "merchants.receipt_settings") == 0)
        snprintf(body, sizeof(body), "{\"unit_name\":\"KHAC\",\"tax_code\":\"0101234567\",\"serial\":\"KHAC\"}");
    else
        return NULL;
    return body;
}

/* A form that would act, after the csrf_token: fields for a page's POST. */
static const char *page_fields(const fg_route_t *rt)
{
    static char f[512];
    const char *n = rt->name;
    if (strcmp(n, "staff.logout") == 0 || strcmp(n, "staff.bills_commit") == 0 || strcmp(n, "staff.key_create") == 0 ||
        strcmp(n, "staff.key_rotate") == 0 || strcmp(n, "staff.key_revoke") == 0 ||
        strcmp(n, "staff.reconciliation_close") == 0)
        f[0] = '\0';
    else if (strcmp(n, "staff.statements_post") == 0)
        snprintf(f, sizeof(f), "(multipart: statement_body)");
    else if (strcmp(n, "staff.reconciliations_post") == 0)
        snprintf(f, sizeof(f), "account=%s&from=2026-12-02&to=2026-12-02", bank_account);
    else if (strcmp(n, "staff.resolve") == 0)
        snprintf(f, sizeof(f), "action=accept&note=isolation");
    else if (strcmp(n, "staff.bills_post") == 0)
        snprintf(f, sizeof(f), "merchant=%s&fee_type=tuition", B.id);
    else if (strcmp(n, "staff.users_unlock") == 0)
        snprintf(f, sizeof(f), "email=%s", staff[ADMIN].email);
    else if (strcmp(n, "staff.merchants_create") == 0)
        snprintf(f, sizeof(f), "name=Isolation");
    else if (strcmp(n, "staff.webhook_endpoint") == 0)
        snprintf(f, sizeof(f), "merchant=%s&action=disable", B.id);
    else if (strcmp(n, "staff.redeliver") == 0)
        snprintf(f, sizeof(f), "merchant=%s", B.id);
    else if (strcmp(n, "staff.payout_create") == 0)
        snprintf(f, sizeof(f), "merchant=%s&amount=1000&reference=ISOLATION", B.id);
    else if (strcmp(n, "staff.payout_batch_create") == 0)
        snprintf(f, sizeof(f), "account=%s", bank_account);
    else
        return NULL;
    return f;
}

/* The bills page's upload form (multipart) for merchant: its length. */
static size_t bills_body(char *out, size_t cap, const char *csrf, const char *merchant)
{
    int n = snprintf(out, cap,
                     "--%s\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n%s\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"merchant\"\r\n\r\n%s\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"fee_type\"\r\n\r\ntuition\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lop.csv\"\r\n"
                     "Content-Type: text/csv\r\n\r\nmerchant_ref,amount\r\n%s,150000\r\n\r\n--%s--\r\n",
                     BOUNDARY, csrf, BOUNDARY, merchant, BOUNDARY, BOUNDARY, fgt_unique("LOP"), BOUNDARY);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The statements page's upload form (multipart): a CSV statement of the city's account. */
static size_t statement_body(char *out, size_t cap, const char *csrf)
{
    int n = snprintf(out, cap,
                     "--%s\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n%s\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ncsv\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sao-ke.csv\"\r\n"
                     "Content-Type: text/csv\r\n\r\n"
                     "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
                     "%s,VND,opening,2026-12-03,985000,,,,\n%s,VND,2026-12-03,2026-12-03,5000,R%s,,,LAI\n"
                     "%s,VND,closing,2026-12-03,990000,,,,\n\r\n--%s--\r\n",
                     BOUNDARY, csrf, BOUNDARY, BOUNDARY, bank_account, bank_account, fgt_unique("s"), bank_account,
                     BOUNDARY);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- calls ---------------------------------------------------------------------------------- */

/* Counts a call; with ISOLATION_TRACE set, prints it and its answer. */
static fgt_response_t traced(fgt_response_t r, const fg_route_t *rt, const char *path, const char *as)
{
    calls++;
    if (getenv("ISOLATION_TRACE") != NULL)
        fprintf(stderr, "  %ld %s %s as %.24s\n", r.status, rt->method, path, as != NULL ? as : "nobody");
    return r;
}

/* An API call with bearer (NULL: no Authorization) and the route's body. */
static fgt_response_t api_call(const fg_route_t *rt, const char *path_in, const char *bearer)
{
    char auth[256], idem[96], path[PATH_CAP];
    /* what the route needs besides its body to act */
    snprintf(path, sizeof(path), "%s%s", path_in, strcmp(rt->name, "settlements.import") == 0 ? "?gateway=vnpay" : "");
    const char *headers[4];
    int h = 0;
    if (bearer != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
        headers[h++] = auth;
    }
    const char *body = NULL;
    if (strcmp(rt->method, "POST") == 0) {
        body = api_body(rt);
        headers[h++] = strcmp(rt->name, "orders.import") == 0 || strstr(rt->name, ".import") != NULL
                           ? "Content-Type: text/csv"
                           : "Content-Type: application/json";
        if (rt->idempotent) {
            snprintf(idem, sizeof(idem), "Idempotency-Key: %s", fgt_unique("iso"));
            headers[h++] = idem;
        }
    }
    headers[h] = NULL;
    return traced(fgt_request(&srv, FGT_HTTP1, rt->method, path, headers, body, 0), rt, path, bearer);
}

/* A page call: with who's session (NULL: none; then extra, e.g. an
 * Authorization header or a made-up cookie, may stand in for it). */
static fgt_response_t page_call(const fg_route_t *rt, const char *path, const staff_t *who, const char *extra)
{
    char cookie[300], type[128], form[2048];
    const char *headers[4];
    int h = 0;
    if (who != NULL) {
        snprintf(cookie, sizeof(cookie), "Cookie: %s", who->session);
        headers[h++] = cookie;
    }
    if (extra != NULL)
        headers[h++] = extra;
    const char *body = NULL;
    size_t len = 0;
    if (strcmp(rt->name, "staff.bills_post") == 0 || strcmp(rt->name, "staff.statements_post") == 0) {
        /* a file upload: multipart (bills naming B) */
        const char *csrf = who != NULL ? who->csrf : "nothing";
        len = strcmp(rt->name, "staff.bills_post") == 0 ? bills_body(form, sizeof(form), csrf, B.id)
                                                        : statement_body(form, sizeof(form), csrf);
        snprintf(type, sizeof(type), "Content-Type: multipart/form-data; boundary=%s", BOUNDARY);
        headers[h++] = type;
        body = form;
    } else if (strcmp(rt->method, "POST") == 0) {
        const char *fields = page_fields(rt);
        snprintf(form, sizeof(form), "csrf_token=%s%s%s", who != NULL ? who->csrf : "nothing",
                 fields != NULL && fields[0] != '\0' ? "&" : "", fields != NULL ? fields : "");
        snprintf(type, sizeof(type), "Content-Type: application/x-www-form-urlencoded");
        headers[h++] = type;
        body = form;
    }
    headers[h] = NULL;
    return traced(fgt_request(&srv, FGT_HTTP1, rt->method, path, headers, body, len), rt, path,
                  who != NULL ? who->role : extra);
}

/* ---- what an answer must be ------------------------------------------------------------------ */

/* The API's refusal: one of the statuses, as the JSON error shape. */
static void expect_api(const fg_route_t *rt, const char *who, const fgt_response_t *r, long s1, long s2)
{
    if (r->status != s1 && r->status != s2) {
        failure("%s %s (%s) as %s: %ld, wanted %ld%s%.0ld: %.200s", rt->method, rt->pattern, rt->name, who, r->status,
                s1, s2 != s1 ? " or " : "", s2 != s1 ? s2 : 0, r->body != NULL ? r->body : "");
        return;
    }
    const char *type = fgt_header(r, "content-type");
    if (type == NULL || strcmp(type, "application/json; charset=utf-8") != 0 ||
        fgt_json_str(r, "error", "type", NULL) == NULL || fgt_json_str(r, "error", "code", NULL) == NULL ||
        fgt_json_str(r, "error", "message", NULL) == NULL)
        failure("%s %s (%s) as %s: %ld is not the JSON error shape: %.200s", rt->method, rt->pattern, rt->name, who,
                r->status, r->body != NULL ? r->body : "");
}

/* A page without a live session: a GET goes to the login form, a POST is 403. */
static void expect_no_session(const fg_route_t *rt, const char *who, const fgt_response_t *r)
{
    if (strcmp(rt->method, "GET") == 0) {
        const char *loc = fgt_header(r, "location");
        if (r->status != 303 || loc == NULL || strcmp(loc, "/staff/login") != 0)
            failure("%s %s (%s) as %s: %ld (Location %s), wanted 303 to /staff/login", rt->method, rt->pattern,
                    rt->name, who, r->status, loc != NULL ? loc : "none");
    } else if (r->status != 403 || r->body == NULL || strstr(r->body, "data-page=\"staff-forbidden\"") == NULL) {
        failure("%s %s (%s) as %s: %ld, wanted the 403 page staff-forbidden: %.200s", rt->method, rt->pattern, rt->name,
                who, r->status, r->body != NULL ? r->body : "");
    }
}

static void expect_page(const fg_route_t *rt, const char *who, const fgt_response_t *r, long status, const char *page)
{
    char mark[64];
    snprintf(mark, sizeof(mark), "data-page=\"%s\"", page);
    if (r->status != status || r->body == NULL || strstr(r->body, mark) == NULL)
        failure("%s %s (%s) as %s: %ld, wanted %ld %s: %.200s", rt->method, rt->pattern, rt->name, who, r->status,
                status, page, r->body != NULL ? r->body : "");
}

/* A body A may read holds nothing of B's: no id of B's objects, nor B's
 * amounts (which no object of A's has), other than what the caller sent in
 * the path (a page's language link repeats it). */
static void expect_nothing_of_b(const fg_route_t *rt, const char *who, const char *sent, const fgt_response_t *r)
{
    const char *const mine[] = {B.id,      B.order_open, B.code_open,     B.order_paid,  B.code_paid,
                                B.payment, B.refund,     B.endpoint,      B.event,       B.upload,
                                B.key_id,  B.receipt,    B_AMOUNT_DIGITS, B_AMOUNT_DOTS, NULL};
    for (int i = 0; mine[i] != NULL; i++)
        if (mine[i][0] != '\0' && strstr(sent, mine[i]) == NULL && r->body != NULL && strstr(r->body, mine[i]) != NULL)
            failure("%s %s (%s) as %s: %ld shows B's %s", rt->method, rt->pattern, rt->name, who, r->status, mine[i]);
}

/* ---- B's rows and the city's, to see that nothing acted ------------------------------------- */

static const char SQL_B[] =
    "SELECT CONCAT_WS(' | ', m.name, COALESCE(m.payout_bank_bin, '-'), COALESCE(m.payout_account_no, '-'), "
    "COALESCE(m.payout_account_name, '-'), COALESCE(m.receipt_unit_name, '-'), COALESCE(m.receipt_tax_code, '-'), "
    "COALESCE(m.receipt_address, '-'), m.receipt_form, m.receipt_serial, "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', c.serial, c.last_number)) FROM receipt_counters c WHERE c.merchant_id = m.id), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', x.public_id, x.status, x.number)) FROM receipts x WHERE x.merchant_id = m.id), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', o.public_id, o.status, o.amount, o.amount_paid, o.amount_refunded) ORDER BY "
    "o.id) FROM orders o WHERE o.merchant_id = m.id), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', p.public_id, p.status, p.amount_refunded, p.amount_refunding) ORDER BY p.id) "
    "FROM payments p WHERE p.merchant_id = m.id), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', r.public_id, r.status, r.amount) ORDER BY r.id) FROM refunds r WHERE "
    "r.merchant_id = m.id), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', e.public_id, e.url, e.events, e.status, e.secret, COALESCE(e.deleted_at, 0)) "
    "ORDER BY e.id) FROM webhook_endpoints e WHERE e.merchant_id = m.id), "
    "(SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.merchant_id "
    "= m.id AND d.redelivery > 0), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', k.id, COALESCE(k.revoked_at, 0)) ORDER BY k.id) FROM api_keys k WHERE "
    "k.merchant_id = m.id), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', y.public_id, y.status) ORDER BY y.id) FROM payouts y WHERE y.merchant_id = "
    "m.id), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', u.public_id, COALESCE(u.committed_at, 0)) ORDER BY u.id) FROM bill_uploads u "
    "WHERE u.merchant_id = m.id)) FROM merchants m WHERE m.public_id = ?";

static const char SQL_CITY[] =
    "SELECT CONCAT_WS(' | ', (SELECT COUNT(*) FROM merchants), (SELECT COUNT(*) FROM api_keys), "
    "(SELECT COUNT(*) FROM payouts), (SELECT COUNT(*) FROM payout_batches), (SELECT COUNT(*) FROM statement_imports), "
    "(SELECT COUNT(*) FROM reconciliations), (SELECT COUNT(*) FROM recon_closed_days), "
    "(SELECT GROUP_CONCAT(CONCAT_WS(',', i.id, i.state, COALESCE(i.resolution, '-')) ORDER BY i.id) FROM recon_items i "
    "WHERE i.account = ?), (SELECT COUNT(*) FROM audit_log WHERE action <> 'report.download'), "
    "(SELECT CONCAT(COUNT(*), ' staff, ', COUNT(disabled_at), ' disabled') FROM staff_users), "
    "(SELECT COUNT(locked_at) FROM staff_login_failures))";

static void rows_now(char *b, size_t b_cap, char *city, size_t city_cap)
{
    fgt_db_str(SQL_B, B.id, NULL, b, b_cap);
    fgt_db_str(SQL_CITY, bank_account, NULL, city, city_cap);
}

/* Each sweep compares with the rows as it found them: one that acted does not fail the next. */
static void rows_before(void) { rows_now(b_before, sizeof(b_before), city_before, sizeof(city_before)); }

static void expect_rows_unchanged(void)
{
    static char b[sizeof(b_before)], city[sizeof(city_before)];
    rows_now(b, sizeof(b), city, sizeof(city));
    if (strcmp(b, b_before) != 0)
        failure("B's rows changed:\n  before %s\n  after  %s", b_before, b);
    if (strcmp(city, city_before) != 0)
        failure("the city's rows changed:\n  before %s\n  after  %s", city_before, city);
}

/* ---- the sweeps --------------------------------------------------------------------------------- */

static const fg_route_t *route_at(int i) { return fg_api_routes[i].method != NULL ? &fg_api_routes[i] : NULL; }

START_TEST(every_route_is_classified)
{
    int api = 0, pages = 0, open = 0;
    for (int i = 0; route_at(i) != NULL; i++) {
        const fg_route_t *rt = route_at(i);
        if (!classified(rt))
            continue;
        char path[PATH_CAP];
        path_of(rt, path, sizeof(path)); /* every {} has an id */
        route_kind_t k = route_kind(rt);
        api += k == ROUTE_API;
        pages += k == ROUTE_PAGE;
        open += k == ROUTE_PUBLIC;
        if (k != ROUTE_PUBLIC && strcmp(rt->method, "GET") != 0 &&
            (k == ROUTE_API ? api_body(rt) == NULL && strcmp(rt->method, "DELETE") != 0 : page_fields(rt) == NULL))
            failure("%s %s (%s): no body: give the sweep one that would act (api_body or page_fields)", rt->method,
                    rt->pattern, rt->name);
    }
    /* the lists name no route the table has lost */
    for (size_t i = 0; i < sizeof(PAGES) / sizeof(PAGES[0]) + sizeof(PUBLIC) / sizeof(PUBLIC[0]); i++) {
        const char *name = i < sizeof(PAGES) / sizeof(PAGES[0]) ? PAGES[i].name
                                                                : PUBLIC[i - sizeof(PAGES) / sizeof(PAGES[0])].name;
        int found = 0;
        for (int j = 0; route_at(j) != NULL && !found; j++)
            found = strcmp(route_at(j)->name, name) == 0;
        if (!found)
            failure("%s is in test_isolation.c's lists but not in the route table: remove it", name);
    }
    fprintf(stderr, "isolation: %d API routes, %d staff pages, %d public routes\n", api, pages, open);
    ck_assert_int_gt(api, 0);
    ck_assert_int_gt(pages, 0);
    sweep_done("classification");
}
END_TEST

/* No credentials, a made-up key, A's revoked key; for pages also a key, a
 * staff token or a made-up cookie instead of the session; public routes
 * answer what PUBLIC says. */
START_TEST(without_credentials)
{
    rows_before();
    char bogus[96];
    snprintf(bogus, sizeof(bogus), "fg_live_%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for (int i = 0; route_at(i) != NULL; i++) {
        const fg_route_t *rt = route_at(i);
        char path[PATH_CAP];
        if (!classified(rt) || !path_of(rt, path, sizeof(path)))
            continue;
        fgt_response_t r;
        switch (route_kind(rt)) {
        case ROUTE_API: {
            const char *const keys[] = {NULL, bogus, revoked_key, "fg_staff_madeup", revoked_token, "not-a-bearer"};
            const char *const names[] = {
                "nobody",         "a made-up key", "a revoked key", "a made-up staff token", "a revoked admin token",
                "a malformed key"};
            /* 401 everywhere: a credential of the wrong kind is 403 only when it is live (it is
             * looked up whatever its shape; with_the_wrong_kind_of_credentials) */
            for (int k = 0; k < 6; k++) {
                r = api_call(rt, path, keys[k]);
                expect_api(rt, names[k], &r, 401, 401);
                fgt_response_free(&r);
            }
            break;
        }
        case ROUTE_PAGE: {
            char key_h[160], token_h[200];
            snprintf(key_h, sizeof(key_h), "Authorization: Bearer %s", A.key);
            snprintf(token_h, sizeof(token_h), "Authorization: Bearer %s", staff[ADMIN].token);
            const char *const extras[] = {NULL, key_h, token_h, "Cookie: fg_staff=madeup"};
            const char *const names[] = {"nobody", "a merchant key", "an admin's API token", "a made-up cookie"};
            for (int k = 0; k < 4; k++) {
                r = page_call(rt, path, NULL, extras[k]);
                expect_no_session(rt, names[k], &r);
                fgt_response_free(&r);
            }
            r = page_call(rt, path, &ended, NULL);
            expect_no_session(rt, "a logged-out session", &r);
            fgt_response_free(&r);
            break;
        }
        case ROUTE_PUBLIC: {
            long want = PUBLIC[public_index(rt->name)].status;
            r = page_call(rt, path, NULL, NULL);
            if (r.status != want)
                failure("%s %s (%s), public (%s): %ld, wanted %ld: %.200s", rt->method, rt->pattern, rt->name,
                        PUBLIC[public_index(rt->name)].why, r.status, want, r.body != NULL ? r.body : "");
            fgt_response_free(&r);
            break;
        }
        case ROUTE_UNKNOWN: break;
        }
    }
    expect_rows_unchanged();
    sweep_done("without credentials");
}
END_TEST

/* A key or token of a scope the route does not take. */
START_TEST(with_the_wrong_kind_of_credentials)
{
    rows_before();
    for (int i = 0; route_at(i) != NULL; i++) {
        const fg_route_t *rt = route_at(i);
        char path[PATH_CAP];
        if (!classified(rt) || route_kind(rt) != ROUTE_API || !path_of(rt, path, sizeof(path)))
            continue;
        fgt_response_t r;
        switch (rt->auth) {
        case FG_AUTH_MERCHANT:
        case FG_AUTH_MERCHANT_OR_STAFF:
            /* the export key reads the change feed and nothing else */
            r = api_call(rt, path, export_key);
            expect_api(rt, "the export key", &r, 403, 403);
            fgt_response_free(&r);
            if (rt->auth == FG_AUTH_MERCHANT) {
                /* a staff token is no merchant key */
                for (int s = 0; s < ROLES; s++) {
                    char who[64];
                    snprintf(who, sizeof(who), "%s's token", staff[s].name);
                    r = api_call(rt, path, staff[s].token);
                    expect_api(rt, who, &r, 401, 403);
                    fgt_response_free(&r);
                }
            }
            break;
        case FG_AUTH_EXPORT:
            r = api_call(rt, path, A.key);
            expect_api(rt, "A's merchant key", &r, 403, 403);
            fgt_response_free(&r);
            for (int s = 0; s < ROLES; s++) {
                char who[64];
                snprintf(who, sizeof(who), "%s's token", staff[s].name);
                r = api_call(rt, path, staff[s].token);
                expect_api(rt, who, &r, 403, 403);
                fgt_response_free(&r);
            }
            break;
        case FG_AUTH_STAFF_READ:
        case FG_AUTH_STAFF_WRITE:
        case FG_AUTH_STAFF_ADMIN:
            r = api_call(rt, path, A.key);
            expect_api(rt, "A's merchant key", &r, 403, 403);
            fgt_response_free(&r);
            r = api_call(rt, path, export_key);
            expect_api(rt, "the export key", &r, 403, 403);
            fgt_response_free(&r);
            break;
        case FG_AUTH_NONE: break;
        }
    }
    expect_rows_unchanged();
    sweep_done("the wrong kind of credentials");
}
END_TEST

/* An account scoped to a merchant reads that merchant's reports through the API and nothing
 * else (services/http/auth.c: 403 merchant_scoped_staff), and opens only the pages every role
 * opens, for its merchant; the city's roles as their names say. */
static int api_role_allows(int s, fg_auth_t auth)
{
    const char *r = staff[s].role;
    if (auth == FG_AUTH_MERCHANT_OR_STAFF)
        return 1;
    if (staff[s].scoped)
        return 0;
    switch (auth) {
    case FG_AUTH_STAFF_READ: return 1;
    case FG_AUTH_STAFF_WRITE: return strcmp(r, "finance") == 0 || strcmp(r, "admin") == 0;
    case FG_AUTH_STAFF_ADMIN: return strcmp(r, "admin") == 0;
    default: return 0;
    }
}

static int page_role_allows(int s, page_access_t access)
{
    const char *r = staff[s].role;
    int city = !staff[s].scoped, write = strcmp(r, "finance") == 0 || strcmp(r, "admin") == 0,
        admin = strcmp(r, "admin") == 0;
    switch (access) {
    case PAGE_ANY: return 1;
    case PAGE_CITY: return city;
    case PAGE_WRITE: return write;
    case PAGE_ADMIN: return admin;
    case PAGE_CITY_WRITE: return city && write;
    case PAGE_CITY_ADMIN: return city && admin;
    }
    return 0;
}

/* Each staff role on every staff route and page its role may not use. */
START_TEST(with_each_staff_role)
{
    rows_before();
    int refused = 0;
    for (int i = 0; route_at(i) != NULL; i++) {
        const fg_route_t *rt = route_at(i);
        char path[PATH_CAP];
        if (!classified(rt) || !path_of(rt, path, sizeof(path)))
            continue;
        route_kind_t k = route_kind(rt);
        for (int s = 0; s < ROLES; s++) {
            char who[64];
            fgt_response_t r;
            if (k == ROUTE_API && rt->auth >= FG_AUTH_STAFF_READ && !api_role_allows(s, rt->auth)) {
                snprintf(who, sizeof(who), "%s's token", staff[s].name);
                r = api_call(rt, path, staff[s].token);
                expect_api(rt, who, &r, 403, 403);
                fgt_response_free(&r);
                refused++;
            } else if (k == ROUTE_PAGE && !page_role_allows(s, PAGES[page_index(rt->name)].access)) {
                snprintf(who, sizeof(who), "%s's session", staff[s].name);
                r = page_call(rt, path, &staff[s], NULL);
                expect_page(rt, who, &r, 403, "staff-forbidden");
                fgt_response_free(&r);
                refused++;
            }
        }
        /* a form without the session's CSRF token is refused whoever posts it */
        if (k == ROUTE_PAGE && strcmp(rt->method, "POST") == 0) {
            staff_t forged = staff[ADMIN];
            snprintf(forged.csrf, sizeof(forged.csrf), "forged");
            fgt_response_t r = page_call(rt, path, &forged, NULL);
            expect_page(rt, "admin without the CSRF token", &r, 403, "staff-forbidden");
            fgt_response_free(&r);
        }
    }
    fprintf(stderr, "isolation: %d refusals of a role\n", refused);
    ck_assert_int_gt(refused, 0);
    expect_rows_unchanged();
    sweep_done("each staff role");
}
END_TEST

/* A's key and the staff accounts scoped to A ask for B's objects. */
START_TEST(with_another_merchants_ids)
{
    rows_before();
    for (int i = 0; route_at(i) != NULL; i++) {
        const fg_route_t *rt = route_at(i);
        char path[PATH_CAP];
        int ids = 0;
        if (!classified(rt) || !path_of_b(rt, path, sizeof(path), &ids))
            continue;
        route_kind_t k = route_kind(rt);
        int get = strcmp(rt->method, "GET") == 0;
        if (k == ROUTE_API && (rt->auth == FG_AUTH_MERCHANT || rt->auth == FG_AUTH_MERCHANT_OR_STAFF)) {
            /* a route without ids acts for the caller only: a list must hold nothing of B's */
            if (!ids && !get)
                continue;
            strncat(path, query_naming_b(rt), sizeof(path) - strlen(path) - 1);
            /* A's key, and for a route staff use too, every account scoped to A */
            for (int c = -1; c < ROLES; c++) {
                if (c >= 0 && (rt->auth != FG_AUTH_MERCHANT_OR_STAFF || !staff[c].scoped))
                    continue;
                char who[64];
                snprintf(who, sizeof(who), "%s%s", c < 0 ? "A's key" : staff[c].name, c < 0 ? "" : "'s token");
                fgt_response_t r = api_call(rt, path, c < 0 ? A.key : staff[c].token);
                if (ids || r.status != 200)
                    expect_api(rt, who, &r, 404, 404);
                expect_nothing_of_b(rt, who, path, &r);
                fgt_response_free(&r);
            }
        } else if (k == ROUTE_PAGE) {
            if (!get && !ids && strcmp(rt->name, "staff.bills_post") != 0)
                continue; /* logout, the city's forms: nothing of one merchant's */
            strncat(path, query_naming_b(rt), sizeof(path) - strlen(path) - 1);
            fgt_response_t r;
            /* every account scoped to A on every page its role opens */
            for (int s = 0; s < ROLES; s++) {
                if (!staff[s].scoped || !page_role_allows(s, PAGES[page_index(rt->name)].access))
                    continue;
                char who[64];
                snprintf(who, sizeof(who), "%s's session", staff[s].name);
                r = page_call(rt, path, &staff[s], NULL);
                /* a form may refuse the role before it looks for what it names (an auditor posts no bills) */
                if (!get && r.status == 403)
                    expect_page(rt, who, &r, 403, "staff-forbidden");
                else if (ids || (r.status != 200 && r.status != 201))
                    expect_page(rt, who, &r, 404, "staff-not-found");
                if (get)
                    expect_nothing_of_b(rt, who, path, &r);
                fgt_response_free(&r);
            }
            /* a bills upload is its uploader's (finance here) only: to anyone else it is not there */
            if (strstr(path, B.upload) != NULL)
                for (int s = 0; s < ROLES; s++) {
                    if (s == FINANCE || staff[s].scoped)
                        continue;
                    char who[64];
                    snprintf(who, sizeof(who), "%s, not the uploader", staff[s].name);
                    r = page_call(rt, path, &staff[s], NULL);
                    if (s == AUDITOR && !get) /* auditors post no bills form: refused before the lookup */
                        expect_page(rt, who, &r, 403, "staff-forbidden");
                    else
                        expect_page(rt, who, &r, 404, "staff-not-found");
                    fgt_response_free(&r);
                }
        }
    }
    expect_rows_unchanged();
    sweep_done("another merchant's ids");
}
END_TEST

/* A POST of A's with B's Idempotency-Key, path and body: A's own answer, never B's stored one. */
static void expect_own_answer(const char *what, const fgt_response_t *r, const char *const *bs)
{
    if (r->status != 201)
        failure("%s: %ld, wanted 201 (A's own): %.200s", what, r->status, r->body != NULL ? r->body : "");
    for (int i = 0; bs[i] != NULL; i++)
        if (r->body != NULL && strstr(r->body, bs[i]) != NULL)
            failure("%s: the answer shows B's %s: %.200s", what, bs[i], r->body);
}

START_TEST(with_another_merchants_idempotency_keys)
{
    rows_before();
    fgt_response_t r = fgt_order_create(&srv, FGT_HTTP1, A.key, B.idem_order, B.ref_open, B_AMOUNT, NULL);
    calls++;
    const char *const order[] = {B.id, B.order_open, B.code_open, NULL};
    expect_own_answer("POST /v1/orders as A with B's Idempotency-Key", &r, order);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhook-endpoints", A.key, B.idem_endpoint, ENDPOINT_BODY, 0, NULL);
    calls++;
    const char *const endpoint[] = {B.id, B.endpoint, B.secret, NULL};
    expect_own_answer("POST /v1/webhook-endpoints as A with B's Idempotency-Key", &r, endpoint);
    fgt_response_free(&r);
    expect_rows_unchanged();
    sweep_done("another merchant's Idempotency-Keys");
}
END_TEST

/* B's objects named inside a request about A's own: in the body, the query or a form's
 * merchant field. */
START_TEST(with_another_merchants_ids_inside_a_request)
{
    rows_before();
    char path[PATH_CAP], body[512];
    const fg_route_t redeliver = {"POST", "/v1/events/{A's}/redeliver", "events.redeliver", FG_AUTH_MERCHANT, 1, 0,
                                  NULL};
    snprintf(path, sizeof(path), "/v1/events/%s/redeliver", A.event);
    snprintf(body, sizeof(body), "{\"endpoint_id\":\"%s\"}", B.endpoint);
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "POST", path, A.key, fgt_unique("iso"), body, 0, NULL);
    calls++;
    expect_api(&redeliver, "A's key, to B's endpoint", &r, 404, 404);
    fgt_response_free(&r);

    const fg_route_t receipt = {"GET", "/pay/{A's code}/receipt?payment={B's}", "pay.receipt", FG_AUTH_NONE, 0, 0,
                                NULL};
    snprintf(path, sizeof(path), "/pay/%s/receipt?payment=%s", A.code_paid, B.payment);
    r = fgt_request(&srv, FGT_HTTP1, "GET", path, NULL, NULL, 0);
    calls++;
    if (r.status != 404)
        failure("GET %s: %ld, wanted 404 (B's payment is no payment of A's bill)", receipt.pattern, r.status);
    expect_nothing_of_b(&receipt, "a payer", path, &r);
    fgt_response_free(&r);

    /* the staff webhook forms: B's event or endpoint under A's name is no object of A's */
    const struct {
        const char *name, *pattern, *id, *fields;
    } FORMS[] = {
        {"staff.redeliver", "/staff/webhooks/events/%s/redeliver", B.event, "merchant=%s"},
        {"staff.webhook_endpoint", "/staff/webhooks/endpoints/%s", B.endpoint, "merchant=%s&action=disable"},
    };
    for (size_t i = 0; i < sizeof(FORMS) / sizeof(FORMS[0]); i++) {
        char fields[256], form[512];
        snprintf(path, sizeof(path), FORMS[i].pattern, FORMS[i].id);
        snprintf(fields, sizeof(fields), FORMS[i].fields, A.id);
        snprintf(form, sizeof(form), "csrf_token=%s&%s", staff[FINANCE].csrf, fields);
        r = post(&srv, FGT_HTTP1, staff[FINANCE].session, path, "application/x-www-form-urlencoded", form, 0);
        calls++;
        const fg_route_t rt = {"POST", FORMS[i].pattern, FORMS[i].name, FG_AUTH_NONE, 0, 0, NULL};
        expect_page(&rt, "finance, naming A", &r, 404, "staff-not-found");
        fgt_response_free(&r);
    }
    expect_rows_unchanged();
    sweep_done("another merchant's ids inside a request");
}
END_TEST

/* ---- building the world (in main, before the tests fork) ----------------------------------- */

static yajl_val cli_json(const char *const *args)
{
    char out[2048], err[1024];
    int rc = fgt_cli_run(args, NULL, NULL, out, sizeof(out), err, sizeof(err));
    must(rc == 0, "feegate %s %s %s: exit %d: %s", args[0], args[1], args[2], rc, err);
    yajl_val v = yajl_tree_parse(out, NULL, 0);
    must(v != NULL, "not JSON: %s", out);
    return v;
}

static void copy_str(yajl_val v, const char *name, char *out, size_t cap)
{
    const char *s = fgt_val_str(v, name, NULL);
    must(s != NULL, "no %s", name);
    snprintf(out, cap, "%s", s);
}

static fgt_response_t expect_status(fgt_response_t r, long status, const char *what)
{
    must(r.status == status, "%s: %ld, wanted %ld: %.400s", what, r.status, status, r.body != NULL ? r.body : "");
    return r;
}

static void json_id(const fgt_response_t *r, const char *name, char *out)
{
    const char *v = fgt_json_str(r, name, NULL);
    must(v != NULL, "no %s in %.300s", name, r->body);
    snprintf(out, FGT_ID_CAP, "%s", v);
}

static void order_new(const merchant_world_t *m, const char *idem, const char *ref, char *id, char *code)
{
    fgt_response_t r = fgt_order_create(&srv, FGT_HTTP1, m->key, idem, ref, m == &B ? B_AMOUNT : A_AMOUNT, NULL);
    expect_status(r, 201, "create an order");
    json_id(&r, "id", id);
    json_id(&r, "code", code);
    fgt_response_free(&r);
}

static void merchant_build(merchant_world_t *m, const char *name)
{
    const char *create[] = {"admin", "merchant", "create", "--name", name, NULL};
    yajl_val v = cli_json(create);
    copy_str(v, "id", m->id, sizeof(m->id));
    copy_str(v, "api_key", m->key, sizeof(m->key));
    copy_str(v, "key_id", m->key_id, sizeof(m->key_id));
    yajl_tree_free(v);
    snprintf(m->account, sizeof(m->account), "liabilities:merchant:%s", m->id);
}

/* Orders, a paid payment and a refund, a webhook endpoint and its events. */
static void merchant_objects(merchant_world_t *m)
{
    char path[PATH_CAP];
    snprintf(m->idem_endpoint, sizeof(m->idem_endpoint), "%s", fgt_unique("idem-whe"));
    snprintf(m->idem_order, sizeof(m->idem_order), "%s", fgt_unique("idem-ord"));
    snprintf(m->ref_open, sizeof(m->ref_open), "%s", fgt_unique("ISO"));
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhook-endpoints", m->key, m->idem_endpoint,
                               ENDPOINT_BODY, 0, NULL);
    expect_status(r, 201, "create an endpoint");
    json_id(&r, "id", m->endpoint);
    const char *secret = fgt_json_str(&r, "secret", NULL);
    must(secret != NULL, "no secret: %s", r.body);
    snprintf(m->secret, sizeof(m->secret), "%s", secret);
    fgt_response_free(&r);
    order_new(m, m->idem_order, m->ref_open, m->order_open, m->code_open);
    order_new(m, NULL, fgt_unique("ISO"), m->order_paid, m->code_paid);
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", m->order_paid);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, m->key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    expect_status(r, 201, "start a payment");
    json_id(&r, "id", m->payment);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/sandbox/pay/%s", m->payment);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, NULL, NULL, "decision=approve", 0,
                "Content-Type: application/x-www-form-urlencoded");
    expect_status(r, 200, "approve the payment");
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", m->payment);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, m->key, NULL, "{\"amount\":50000,\"reason\":\"thu thừa\"}", 0, NULL);
    expect_status(r, 201, "refund");
    json_id(&r, "id", m->refund);
    fgt_response_free(&r);
    must(fgt_db_str("SELECT receipt_id FROM payments WHERE public_id = ?", m->payment, NULL, m->receipt,
                    sizeof(m->receipt)),
         "no receipt for %s", m->payment);
    must(fgt_db_str("SELECT e.public_id FROM events e JOIN merchants m ON m.id = e.merchant_id WHERE m.public_id = ? "
                    "ORDER BY e.id LIMIT 1",
                    m->id, NULL, m->event, sizeof(m->event)),
         "no event of %s", m->id);
}

/* A login through the form: the session cookie and its CSRF token. */
static void staff_login(staff_t *s)
{
    char pre[160], cookie[200], csrf[128], body[1024], email[300], pw[200], secret[200];
    fgt_response_t page = expect_status(fgt_request(&srv, FGT_HTTP1, "GET", "/staff/login", NULL, NULL, 0), 200,
                                        "the login form");
    must(set_cookie(&page, "fg_staff_login", pre, sizeof(pre), NULL, 0), "no login cookie");
    const char *at = strstr(page.body, "name=\"csrf_token\" value=\"");
    must(at != NULL, "no csrf_token on the login form");
    at += strlen("name=\"csrf_token\" value=\"");
    snprintf(csrf, sizeof(csrf), "%.*s", (int)strcspn(at, "\""), at);
    fgt_response_free(&page);
    snprintf(cookie, sizeof(cookie), "fg_staff_login=%s", pre);
    form_escape(s->email, email, sizeof(email));
    form_escape(PASSWORD, pw, sizeof(pw));
    snprintf(body, sizeof(body), "csrf_token=%s&email=%s&password=%s", csrf, email, pw);
    fgt_response_t r =
        expect_status(post(&srv, FGT_HTTP1, cookie, "/staff/login", "application/x-www-form-urlencoded", body, 0), 303,
                      "log in");
    must(set_cookie(&r, "fg_staff", secret, sizeof(secret), NULL, 0) && secret[0] != '\0', "no session cookie");
    fgt_response_free(&r);
    snprintf(s->session, sizeof(s->session), "fg_staff=%s", secret);
    r = expect_status(get(&srv, FGT_HTTP1, s->session, "/staff"), 200, "the overview");
    at = strstr(r.body, "name=\"csrf_token\" value=\"");
    must(at != NULL, "no csrf_token on the overview");
    at += strlen("name=\"csrf_token\" value=\"");
    snprintf(s->csrf, sizeof(s->csrf), "%.*s", (int)strcspn(at, "\""), at);
    fgt_response_free(&r);
}

static void staff_build(staff_t *s, const char *merchant)
{
    char out[1024];
    snprintf(s->email, sizeof(s->email), "%s-%s@iso.gov.vn", s->role, fgt_unique("u"));
    const char *with[] = {"feegate", "admin", "user",       "create", "--email", s->email,
                          "--role",  s->role, "--merchant", merchant, NULL};
    const char *without[] = {"feegate", "admin", "user", "create", "--email", s->email, "--role", s->role, NULL};
    must(fgt_cli(merchant != NULL ? with : without, PASSWORD "\n", out, sizeof(out)) == 0, "user create %s", s->role);
    const char *tok[] = {"feegate", "admin", "token", "create", "--email", s->email, NULL};
    must(fgt_cli(tok, NULL, out, sizeof(out)) == 0, "token create %s", s->role);
    const char *t = strstr(out, "\"token\":\"");
    must(t != NULL, "no token: %s", out);
    snprintf(s->token, sizeof(s->token), "%.*s", (int)strcspn(t + 9, "\""), t + 9);
    staff_login(s);
}

/* B's bills file, uploaded by finance through the page (kept, not committed). */
static void bills_upload(void)
{
    char body[2048], type[128];
    size_t n = bills_body(body, sizeof(body), staff[FINANCE].csrf, B.id);
    snprintf(type, sizeof(type), "multipart/form-data; boundary=%s", BOUNDARY);
    fgt_response_t r = post(&srv, FGT_HTTP1, staff[FINANCE].session, "/staff/bills", type, body, n);
    must(r.status == 200 || r.status == 201, "upload B's bills: %ld %.300s", r.status, r.body);
    fgt_response_free(&r);
    must(fgt_db_str("SELECT u.public_id FROM bill_uploads u JOIN merchants m ON m.id = u.merchant_id WHERE "
                    "m.public_id = ? ORDER BY u.id DESC LIMIT 1",
                    B.id, NULL, B.upload, sizeof(B.upload)),
         "no upload of B's");
}

/* A statement line, its reconciliation and item; a payout of B's and a batch. */
static void city_objects(void)
{
    char file[1024], auth[200], body[512], out[1024];
    snprintf(bank_account, sizeof(bank_account), "%s", fgt_account("ISO"));
    bank_account[20] = '\0';
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,2026-12-01,1000000,,,,\n"
             "%s,VND,2026-12-02,2026-12-02,-15000,R%s,,,PHI\n"
             "%s,VND,closing,2026-12-02,985000,,,,\n",
             bank_account, bank_account, fgt_unique("r"), bank_account);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", staff[FINANCE].token);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "POST", "/v1/statements?format=csv", headers, file, 0);
    must(r.status == 201 || r.status == 200, "import a statement: %ld %.300s", r.status, r.body);
    json_id(&r, "id", statement);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"from\":\"2026-12-02\",\"to\":\"2026-12-02\"}", bank_account);
    r = expect_status(fgt_req(&srv, FGT_HTTP1, "POST", "/v1/reconciliations", staff[FINANCE].token, NULL, body, 0,
                              NULL),
                      201, "a reconciliation");
    json_id(&r, "id", recon);
    fgt_response_free(&r);
    must(fgt_db_str("SELECT id FROM recon_items WHERE account = ? ORDER BY id LIMIT 1", bank_account, NULL, item,
                    sizeof(item)),
         "no item of %s", bank_account);
    /* the matching job decides the line (bank_only) before the sweep reads the rows */
    for (int i = 0; i < 200 && fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = "
                                          "'unmatched'",
                                          bank_account, NULL) != 0;
         i++)
        fgt_sleep_ms(50);
    must(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = 'unmatched'", bank_account, NULL) ==
             0,
         "the matching job left %s's line undecided", bank_account);

    char err[512];
    const char *account[] = {"admin",         "merchant", "set-payout-account", B.id, "--bin", "970436", "--account",
                             "0071000123456", "--name",   "TRUONG B",           NULL};
    must(fgt_cli_run(account, NULL, NULL, out, sizeof(out), err, sizeof(err)) == 0, "set-payout-account: %s", err);
    snprintf(body, sizeof(body), "{\"merchant_id\":\"%s\",\"amount\":10000,\"reference\":\"%s\"}", B.id,
             fgt_unique("CT"));
    r = expect_status(fgt_req(&srv, FGT_HTTP1, "POST", "/v1/payouts", staff[FINANCE].token, NULL, body, 0, NULL), 201,
                      "a payout");
    json_id(&r, "id", payout);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "{\"account\":\"%s\"}", bank_account);
    r = expect_status(fgt_req(&srv, FGT_HTTP1, "POST", "/v1/payout-batches", staff[FINANCE].token, NULL, body, 0, NULL),
                      201, "a payout batch");
    json_id(&r, "id", batch);
    fgt_response_free(&r);
}

static void world_build(void)
{
    char name[128];
    snprintf(name, sizeof(name), "Trường A %s", fgt_unique("iso"));
    merchant_build(&A, name);
    snprintf(name, sizeof(name), "Trường B %s", fgt_unique("iso"));
    merchant_build(&B, name);
    /* A's first key, rotated before it was ever used: revoked; A works with the new one */
    const char *rotate[] = {"admin", "key", "rotate", "--id", A.key_id, NULL};
    yajl_val v = cli_json(rotate);
    snprintf(revoked_key, sizeof(revoked_key), "%s", A.key);
    copy_str(v, "api_key", A.key, sizeof(A.key));
    copy_str(v, "id", A.key_id, sizeof(A.key_id));
    yajl_tree_free(v);
    const char *exp[] = {"admin", "key", "create", "--scope", "export", NULL};
    v = cli_json(exp);
    copy_str(v, "api_key", export_key, sizeof(export_key));
    yajl_tree_free(v);
    for (int s = 0; s < ROLES; s++)
        staff_build(&staff[s], staff[s].scoped ? A.id : NULL);
    /* a second admin token, revoked; a second admin session, logged out */
    char out[512];
    const char *tok[] = {"feegate", "admin", "token", "create", "--email", staff[ADMIN].email, NULL};
    must(fgt_cli(tok, NULL, out, sizeof(out)) == 0, "token create");
    const char *t = strstr(out, "\"token\":\"");
    must(t != NULL, "no token: %s", out);
    snprintf(revoked_token, sizeof(revoked_token), "%.*s", (int)strcspn(t + 9, "\""), t + 9);
    fgt_db_exec("UPDATE staff_tokens SET revoked_at = created_at WHERE token_hash = UNHEX(SHA2(?, 256))",
                revoked_token);
    must(fgt_db_int("SELECT COUNT(*) FROM staff_tokens WHERE revoked_at IS NOT NULL AND token_hash = "
                    "UNHEX(SHA2(?, 256))",
                    revoked_token, NULL) == 1,
         "the token was not revoked");
    snprintf(ended.email, sizeof(ended.email), "%s", staff[ADMIN].email);
    staff_login(&ended);
    char form[256];
    snprintf(form, sizeof(form), "csrf_token=%s", ended.csrf);
    fgt_response_t r = post(&srv, FGT_HTTP1, ended.session, "/staff/logout", "application/x-www-form-urlencoded", form,
                            0);
    must(r.status == 303, "log out: %ld", r.status);
    fgt_response_free(&r);
    merchant_objects(&A);
    merchant_objects(&B);
    bills_upload();
    city_objects();
}

int main(void)
{
    Suite *s = suite_create("isolation");
    TCase *tc = fgt_tcase(s, "sweep", NULL, NULL);
    tcase_add_test(tc, every_route_is_classified);
    tcase_add_test(tc, without_credentials);
    tcase_add_test(tc, with_the_wrong_kind_of_credentials);
    tcase_add_test(tc, with_each_staff_role);
    tcase_add_test(tc, with_another_merchants_ids);
    tcase_add_test(tc, with_another_merchants_idempotency_keys);
    tcase_add_test(tc, with_another_merchants_ids_inside_a_request);
    const char *env[] = {"FEEGATE_SANDBOX_SECRET=" SANDBOX_SECRET,
                         "FEEGATE_SEPAY_API_KEY=" SEPAY_KEY,
                         "FEEGATE_WEBHOOKS_ALLOW_PRIVATE=true",
                         "FEEGATE_WEBHOOKS_RETRY_BASE_MS=600000",
                         "FEEGATE_VIETQR_BANK_BIN=970436",
                         "FEEGATE_VIETQR_ACCOUNT_NO=0011001932418",
                         NULL};
    fgt_server_start(&srv, env);
    world_build();
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
