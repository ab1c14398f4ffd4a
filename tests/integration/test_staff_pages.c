/*
 * test_staff_pages.c - the staff pages on the real server and database
 * (docs/PAGES.md): login with its throttle and lockout, the session cookie
 * and its idle and absolute limits, CSRF, the roles on every page (an
 * accountant sees one school and gets 404 for another's order), a statement
 * uploaded through the page against the API, report downloads against the
 * API, and the audit rows all of it leaves.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"
#include "staff_client.h"

/* The throttle of the main server: short waits, an early lockout. */
#define DELAY_MS 1500 /* long enough that a login under a loaded machine still lands inside a wait */
#define LOCKOUT 5
/* The expiry server's session limits. */
#define IDLE_MS 2500
#define ABSOLUTE_MS 6000

#define SANDBOX_SECRET "staff-pages-sandbox-secret"

static fgt_server_t srv, short_srv;
static fgt_merchant_t school_a, school_b;
static char admin_email[128], finance_email[128], auditor_email[128], accountant_email[128];
static char finance_token[96];

/* ---- helpers ------------------------------------------------------------------------- */

static void login_ok(const fgt_server_t *s, const char *email, char *session, size_t cap)
{
    fgt_response_t r = login_on(s, FGT_HTTP1, email, PASSWORD, session, cap);
    ck_assert_msg(r.status == 303, "login of %s: %ld %.300s", email, r.status, r.body);
    ck_assert_str_eq(fgt_header(&r, "location"), "/staff");
    ck_assert_msg(session[0] != '\0', "no session cookie");
    fgt_response_free(&r);
}

/* The page's status for the session. */
static long status_of(const fgt_server_t *s, const char *session, const char *path)
{
    fgt_response_t r = get(s, FGT_HTTP1, session, path);
    long status = r.status;
    fgt_response_free(&r);
    return status;
}

static long long audit_count(const char *actor, const char *action)
{
    return fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE actor = ? AND action = ?", actor, action);
}

/* A form's CSRF token: any staff page of the session carries it. */
static void session_csrf(const fgt_server_t *s, const char *session, char *csrf, size_t cap)
{
    fgt_response_t r = get(s, FGT_HTTP1, session, "/staff");
    ck_assert_int_eq(r.status, 200);
    csrf_of(&r, csrf, cap);
    fgt_response_free(&r);
}

/* A CSV statement imported through the API by finance: 201. */
static void import_statement(const char *file)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance_token);
    const char *h[] = {auth, "Content-Type: text/csv", NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", h, file, 0);
    ck_assert_int_eq(r.status, 201);
    fgt_response_free(&r);
}

/* ---- login ----------------------------------------------------------------------------- */

START_TEST(login_sets_a_strict_cookie_and_stores_only_its_hash)
{
    char session[200], attrs[300], secret[128];
    fgt_response_t r = login_on(&srv, FGT_HTTP1, finance_email, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 303);
    ck_assert(set_cookie(&r, "fg_staff", secret, sizeof(secret), attrs, sizeof(attrs)));
    ck_assert_ptr_nonnull(strstr(attrs, "HttpOnly"));
    ck_assert_ptr_nonnull(strstr(attrs, "SameSite=Strict"));
    ck_assert_ptr_nonnull(strstr(attrs, "Path=/staff"));
    ck_assert_ptr_null(strstr(attrs, "Secure"));  /* plain HTTP */
    ck_assert_ptr_null(strstr(attrs, "Max-Age")); /* the server ends it */
    ck_assert_uint_ge(strlen(secret), 43);
    fgt_response_free(&r);
    /* the database holds the secret's SHA-256, never the secret */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM staff_sessions WHERE secret_hash = UNHEX(SHA2(?, 256))", secret,
                                NULL),
                     1);
    ck_assert_int_eq(
        fgt_db_int("SELECT COUNT(*) FROM staff_sessions WHERE HEX(secret_hash) LIKE CONCAT('%', HEX(?), '%')", secret,
                   NULL),
        0);
    /* the session opens the overview */
    r = get(&srv, FGT_HTTP1, session, "/staff");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-overview\""));
    ck_assert_ptr_nonnull(strstr(r.body, "<svg class=\"chart\""));
    ck_assert_ptr_null(strstr(r.body, "style=")); /* the CSP forbids inline style */
    ck_assert_ptr_null(strstr(r.body, "<script>"));
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-security-policy"), "default-src 'none'"));
    fgt_response_free(&r);

    /* over TLS the cookie is Secure as well */
    r = login_on(&srv, FGT_H2TLS, finance_email, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 303);
    ck_assert(set_cookie(&r, "fg_staff", secret, sizeof(secret), attrs, sizeof(attrs)));
    ck_assert_ptr_nonnull(strstr(attrs, "; Secure"));
    fgt_response_free(&r);
    ck_assert_int_ge(audit_count(finance_email, "staff_session.login"), 2);
    /* behind a TLS-terminating proxy (public.base_url https) the proxy speaks plain HTTP to us, and the cookie
     * is Secure all the same, HSTS sent */
    r = login_on(&short_srv, FGT_HTTP1, finance_email, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 303);
    ck_assert(set_cookie(&r, "fg_staff", secret, sizeof(secret), attrs, sizeof(attrs)));
    ck_assert_ptr_nonnull(strstr(attrs, "; Secure"));
    ck_assert_ptr_nonnull(fgt_header(&r, "strict-transport-security"));
    fgt_response_free(&r);

    /* over HTTP/2 a browser sends each cookie as a header of its own, the stale session's first: the login
     * form's cookie after it is found */
    char pre[128], csrf[96], body[1024], c1[200], c2[200], pw[200];
    r = get(&srv, FGT_H2C, NULL, "/staff/login");
    ck_assert(set_cookie(&r, "fg_staff_login", pre, sizeof(pre), NULL, 0));
    csrf_of(&r, csrf, sizeof(csrf));
    fgt_response_free(&r);
    snprintf(c1, sizeof(c1), "Cookie: fg_staff=%s", "stale-session-secret");
    snprintf(c2, sizeof(c2), "Cookie: fg_staff_login=%s", pre);
    form_escape(finance_email, attrs, sizeof(attrs));
    form_escape(PASSWORD, pw, sizeof(pw));
    snprintf(body, sizeof(body), "csrf_token=%s&email=%s&password=%s", csrf, attrs, pw);
    const char *headers[] = {c1, c2, "Content-Type: application/x-www-form-urlencoded", NULL};
    r = fgt_request(&srv, FGT_H2C, "POST", "/staff/login", headers, body, 0);
    ck_assert_msg(r.status == 303, "%ld %s", r.status, r.body);
    fgt_response_free(&r);
}
END_TEST

START_TEST(a_wrong_password_is_refused_and_audited)
{
    char email[128], session[200];
    user_create("finance", NULL, email);
    fgt_response_t r = login_on(&srv, FGT_HTTP1, email, "not the password at all", session, sizeof(session));
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(session, "");
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-login\""));
    fgt_response_free(&r);
    /* an address that names nobody gets the same answer (a fresh one: failures are counted per address) */
    char nobody[128];
    snprintf(nobody, sizeof(nobody), "nobody-%s@nowhere.gov.vn", fgt_unique("n"));
    r = login_on(&srv, FGT_HTTP1, nobody, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
    ck_assert_int_eq(audit_count(email, "staff_session.login_failed"), 1);
    ck_assert_int_eq(audit_count(email, "staff_session.login"), 0);
    /* what is no address at all gets the same answer, and costs no password check and no row */
    long long unknown = audit_count("unknown", "staff_session.login_failed");
    r = login_on(&srv, FGT_HTTP1, "not-an-address", PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-login\""));
    fgt_response_free(&r);
    ck_assert_int_eq(audit_count("unknown", "staff_session.login_failed"), unknown);
    /* without a session every page sends the browser to the login form */
    r = get(&srv, FGT_HTTP1, NULL, "/staff/orders");
    ck_assert_int_eq(r.status, 303);
    ck_assert_str_eq(fgt_header(&r, "location"), "/staff/login");
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, "fg_staff=forged-value-that-names-no-session", "/staff");
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);
}
END_TEST

START_TEST(a_login_without_its_csrf_token_is_403)
{
    char pre[128], cookie[200], body[400];
    fgt_response_t page = get(&srv, FGT_HTTP1, NULL, "/staff/login");
    ck_assert(set_cookie(&page, "fg_staff_login", pre, sizeof(pre), NULL, 0));
    fgt_response_free(&page);
    snprintf(cookie, sizeof(cookie), "fg_staff_login=%s", pre);
    snprintf(body, sizeof(body), "email=%s&password=%s", finance_email, "correct+horse+battery+staple");
    fgt_response_t r = post(&srv, FGT_HTTP1, cookie, "/staff/login", "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "csrf_token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&email=%s&password=x",
             finance_email);
    r = post(&srv, FGT_HTTP1, cookie, "/staff/login", "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
}
END_TEST

START_TEST(failures_slow_down_then_lock_until_unlocked)
{
    char email[128], session[200], out[512], err[512];
    user_create("auditor", NULL, email);
    fgt_response_t r;
    for (int i = 1; i <= 3; i++) { /* the free failures */
        r = login_on(&srv, FGT_HTTP1, email, "wrong password number", session, sizeof(session));
        ck_assert_msg(r.status == 401, "failure %d: %ld", i, r.status);
        fgt_response_free(&r);
    }
    /* now a wait: even the right password is refused, with Retry-After */
    r = login_on(&srv, FGT_HTTP1, email, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 429);
    ck_assert_ptr_nonnull(fgt_header(&r, "retry-after"));
    ck_assert_str_eq(session, "");
    fgt_response_free(&r);
    fgt_sleep_ms(DELAY_MS + 100);
    r = login_on(&srv, FGT_HTTP1, email, "wrong password number", session, sizeof(session));
    ck_assert_int_eq(r.status, 401); /* failure 4; the next wait doubles */
    fgt_response_free(&r);
    fgt_sleep_ms(DELAY_MS + 100);
    r = login_on(&srv, FGT_HTTP1, email, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 429); /* one delay was not enough this time */
    fgt_response_free(&r);
    fgt_sleep_ms(DELAY_MS + 100);
    r = login_on(&srv, FGT_HTTP1, email, "wrong password number", session, sizeof(session));
    ck_assert_int_eq(r.status, 401); /* failure 5: locked */
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM staff_login_failures WHERE email = ? AND locked_at IS NOT NULL",
                                email, NULL),
                     1);
    fgt_sleep_ms(4 * DELAY_MS);
    r = login_on(&srv, FGT_HTTP1, email, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 423);
    ck_assert_str_eq(session, "");
    fgt_response_free(&r);
    /* an admin lifts it from the command line */
    const char *unlock[] = {"admin", "user", "unlock", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli_run(unlock, NULL, NULL, out, sizeof(out), err, sizeof(err)), 0);
    ck_assert_int_eq(fgt_cli_run(unlock, NULL, NULL, out, sizeof(out), err, sizeof(err)), 1); /* not locked now */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND action = 'staff_user.unlock' "
                                "AND after_json LIKE CONCAT('%', ?, '%')",
                                email, NULL),
                     1);
    login_ok(&srv, email, session, sizeof(session));
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM staff_login_failures WHERE email = ?", email, NULL), 0);
    ck_assert_int_ge(audit_count(email, "staff_session.login_failed"), 7);
}
END_TEST

START_TEST(an_admin_unlocks_from_the_users_page)
{
    char email[128], session[200], admin[200], csrf[96], body[600], e[300];
    user_create("finance", NULL, email);
    /* the lockout as another instance would have left it in the database */
    fgt_db_exec("INSERT INTO staff_login_failures (email, failures, last_failure_at, locked_at) "
                "VALUES (?, 5, 1, 1)",
                email);
    fgt_response_t r = login_on(&srv, FGT_HTTP1, email, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 423);
    fgt_response_free(&r);
    login_ok(&srv, admin_email, admin, sizeof(admin));
    r = get(&srv, FGT_HTTP1, admin, "/staff/users");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, email));
    csrf_of(&r, csrf, sizeof(csrf));
    fgt_response_free(&r);
    form_escape(email, e, sizeof(e));
    snprintf(body, sizeof(body), "email=%s", e); /* no token: refused */
    r = post(&srv, FGT_HTTP1, admin, "/staff/users/unlock", "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "csrf_token=%s&email=%s", csrf, e);
    r = post(&srv, FGT_HTTP1, admin, "/staff/users/unlock", "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);
    ck_assert_int_eq(audit_count(admin_email, "staff_user.unlock"), 1);
    login_ok(&srv, email, session, sizeof(session));
    /* a finance user cannot see the page nor use its button */
    r = get(&srv, FGT_HTTP1, session, "/staff/users");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
}
END_TEST

/* ---- the session's limits, logout, CSRF ----------------------------------------------------- */

START_TEST(an_idle_session_ends)
{
    char session[200];
    login_ok(&short_srv, finance_email, session, sizeof(session));
    ck_assert_int_eq(status_of(&short_srv, session, "/staff"), 200);
    fgt_sleep_ms(IDLE_MS + 300);
    fgt_response_t r = get(&short_srv, FGT_HTTP1, session, "/staff");
    ck_assert_int_eq(r.status, 303);
    ck_assert_str_eq(fgt_header(&r, "location"), "/staff/login");
    fgt_response_free(&r);
}
END_TEST

START_TEST(a_busy_session_ends_at_its_absolute_limit)
{
    char session[200];
    login_ok(&short_srv, finance_email, session, sizeof(session));
    int alive = 0;
    /* a request every second keeps it from idling out; the absolute limit ends it */
    for (int i = 0; i < (ABSOLUTE_MS + 2000) / 1000; i++) {
        long st = status_of(&short_srv, session, "/staff");
        if (st == 200)
            alive++;
        else
            break;
        fgt_sleep_ms(1000);
    }
    ck_assert_int_ge(alive, ABSOLUTE_MS / 1000 - 2); /* it lived past the idle limit */
    ck_assert_int_le(alive, ABSOLUTE_MS / 1000 + 1);
    ck_assert_int_eq(status_of(&short_srv, session, "/staff"), 303);
}
END_TEST

START_TEST(posts_without_the_sessions_token_are_403_and_logout_ends_it)
{
    char session[200], other[200], csrf[96], other_csrf[96], body[400];
    login_ok(&srv, finance_email, session, sizeof(session));
    login_ok(&srv, finance_email, other, sizeof(other));
    session_csrf(&srv, session, csrf, sizeof(csrf));
    session_csrf(&srv, other, other_csrf, sizeof(other_csrf));
    ck_assert_str_ne(csrf, other_csrf); /* tied to the session */
    const char *type = "application/x-www-form-urlencoded";
    long long runs = fgt_db_int("SELECT COUNT(*) FROM reconciliations", NULL, NULL);
    fgt_response_t r = post(&srv, FGT_HTTP1, session, "/staff/reconciliations", type,
                            "account=CSRF1&from=2026-12-01&to=2026-12-02", 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "csrf_token=%s&account=CSRF1&from=2026-12-01&to=2026-12-02", other_csrf);
    r = post(&srv, FGT_HTTP1, session, "/staff/reconciliations", type, body, 0);
    ck_assert_int_eq(r.status, 403); /* another session's token */
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM reconciliations", NULL, NULL), runs);
    /* with its own token the form works and is audited */
    snprintf(body, sizeof(body), "csrf_token=%s&account=CSRF1&from=2026-12-01&to=2026-12-02", csrf);
    r = post(&srv, FGT_HTTP1, session, "/staff/reconciliations", type, body, 0);
    ck_assert_int_eq(r.status, 303);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "location"), "/staff/reconciliations/rec_"));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM reconciliations", NULL, NULL), runs + 1);
    ck_assert_int_ge(audit_count(finance_email, "reconciliation.create"), 1);
    /* logout is a POST with the token too */
    r = post(&srv, FGT_HTTP1, session, "/staff/logout", type, "", 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "csrf_token=%s", csrf);
    r = post(&srv, FGT_HTTP1, session, "/staff/logout", type, body, 0);
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);
    ck_assert_int_eq(status_of(&srv, session, "/staff"), 303);
    ck_assert_int_eq(status_of(&srv, other, "/staff"), 200); /* the other session lives on */
    ck_assert_int_ge(audit_count(finance_email, "staff_session.logout"), 1);
}
END_TEST

/* ---- roles ------------------------------------------------------------------------------------ */

typedef struct {
    const char *path;
    long admin, finance, auditor, accountant;
} page_rule_t;

START_TEST(every_page_checks_the_role)
{
    char admin[200], finance[200], auditor[200], accountant[200];
    login_ok(&srv, admin_email, admin, sizeof(admin));
    login_ok(&srv, finance_email, finance, sizeof(finance));
    login_ok(&srv, auditor_email, auditor, sizeof(auditor));
    login_ok(&srv, accountant_email, accountant, sizeof(accountant));
    static const page_rule_t RULES[] = {
        {"/staff", 200, 200, 200, 200},
        {"/staff/orders", 200, 200, 200, 200},
        {"/staff/statements", 200, 200, 200, 403},
        {"/staff/reconciliations", 200, 200, 200, 403},
        {"/staff/reports", 200, 200, 200, 200},
        {"/staff/reports/collections.csv", 200, 200, 200, 200},
        {"/staff/audit", 200, 200, 200, 403},
        {"/staff/users", 200, 403, 403, 403},
    };
    for (size_t i = 0; i < sizeof(RULES) / sizeof(RULES[0]); i++) {
        const page_rule_t *p = &RULES[i];
        ck_assert_msg(status_of(&srv, admin, p->path) == p->admin, "admin %s", p->path);
        ck_assert_msg(status_of(&srv, finance, p->path) == p->finance, "finance %s", p->path);
        ck_assert_msg(status_of(&srv, auditor, p->path) == p->auditor, "auditor %s", p->path);
        ck_assert_msg(status_of(&srv, accountant, p->path) == p->accountant, "accountant %s", p->path);
    }
    /* navigation shows what the role may use */
    fgt_response_t r = get(&srv, FGT_HTTP1, accountant, "/staff");
    ck_assert_ptr_null(strstr(r.body, "href=\"/staff/statements\""));
    ck_assert_ptr_null(strstr(r.body, "href=\"/staff/audit\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/staff/orders\""));
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, admin, "/staff");
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/staff/users\""));
    fgt_response_free(&r);
    /* an auditor reads but posts nothing, even with a good token */
    char csrf[96], body[400];
    session_csrf(&srv, auditor, csrf, sizeof(csrf));
    snprintf(body, sizeof(body), "csrf_token=%s&account=AUD1&from=2026-12-01&to=2026-12-02", csrf);
    r = post(&srv, FGT_HTTP1, auditor, "/staff/reconciliations", "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, auditor, "/staff/statements");
    ck_assert_ptr_null(strstr(r.body, "enctype=\"multipart/form-data\"")); /* no upload form for it */
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "csrf_token=%s&action=accept&note=x", csrf);
    r = post(&srv, FGT_HTTP1, auditor, "/staff/reconciliations/rec_x/items/1/resolve",
             "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
}
END_TEST

START_TEST(an_accountant_sees_its_school_only)
{
    char accountant[200], finance[200], path[160];
    fgt_response_t a = fgt_order_create(&srv, FGT_HTTP1, school_a.key, NULL, fgt_unique("A"), 4500000,
                                        ",\"payer\":{\"name\":\"Nguyễn Văn An\"}");
    fgt_expect(a, 201, NULL);
    fgt_response_t b = fgt_order_create(&srv, FGT_HTTP1, school_b.key, NULL, fgt_unique("B"), 3000000,
                                        ",\"payer\":{\"name\":\"Trần Thị Bình\"}");
    fgt_expect(b, 201, NULL);
    char a_id[64], b_id[64];
    snprintf(a_id, sizeof(a_id), "%s", fgt_json_str(&a, "id", NULL));
    snprintf(b_id, sizeof(b_id), "%s", fgt_json_str(&b, "id", NULL));
    fgt_response_free(&a);
    fgt_response_free(&b);
    login_ok(&srv, accountant_email, accountant, sizeof(accountant));
    login_ok(&srv, finance_email, finance, sizeof(finance));

    snprintf(path, sizeof(path), "/staff/orders/%s", a_id);
    fgt_response_t r = get(&srv, FGT_HTTP1, accountant, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "Nguyễn Văn An"));
    ck_assert_ptr_nonnull(strstr(r.body, "4.500.000"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-section=\"payments\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-section=\"journals\""));
    fgt_response_free(&r);
    /* another school's order does not exist for it: 404, not 403 */
    snprintf(path, sizeof(path), "/staff/orders/%s", b_id);
    ck_assert_int_eq(status_of(&srv, accountant, path), 404);
    ck_assert_int_eq(status_of(&srv, finance, path), 200);
    ck_assert_int_eq(status_of(&srv, finance, "/staff/orders/ord_nosuchorder"), 404);
    /* its search holds its own orders only */
    r = get(&srv, FGT_HTTP1, accountant, "/staff/orders");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, a_id));
    ck_assert_ptr_null(strstr(r.body, b_id));
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, finance, "/staff/orders?status=open");
    ck_assert_ptr_nonnull(strstr(r.body, a_id));
    ck_assert_ptr_nonnull(strstr(r.body, b_id));
    fgt_response_free(&r);
    /* search by payer name prefix */
    r = get(&srv, FGT_HTTP1, finance, "/staff/orders?q=Tr%E1%BA%A7n");
    ck_assert_ptr_nonnull(strstr(r.body, b_id));
    ck_assert_ptr_null(strstr(r.body, a_id));
    fgt_response_free(&r);
    ck_assert_int_eq(status_of(&srv, finance, "/staff/orders?from=2026-13-45"), 400);
    ck_assert_int_eq(status_of(&srv, finance, "/staff/orders?status=lost"), 400);
    /* the accountant's report is its school's, as that school's key reads it */
    char csv_path[200], api_path[200], auth[200];
    snprintf(csv_path, sizeof(csv_path), "/staff/reports/outstanding.csv?as_of=2030-01-01&group_by=fee_type");
    snprintf(api_path, sizeof(api_path), "/v1/reports/outstanding?as_of=2030-01-01&group_by=fee_type&format=csv");
    r = get(&srv, FGT_HTTP1, accountant, csv_path);
    ck_assert_int_eq(r.status, 200);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", school_a.key);
    const char *h[] = {auth, NULL};
    fgt_response_t api = fgt_request(&srv, FGT_HTTP1, "GET", api_path, h, NULL, 0);
    ck_assert_int_eq(api.status, 200);
    ck_assert_str_eq(r.body, api.body);
    ck_assert_ptr_nonnull(strstr(r.body, "utility"));
    fgt_response_free(&r);
    fgt_response_free(&api);
}
END_TEST

/* text, percent-encoded for a query string, into out. */
static void url_encoded(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0' && n + 4 < cap; c++)
        n += (size_t)(isalnum(*c) || *c == '-' || *c == '_' ? snprintf(out + n, cap - n, "%c", *c)
                                                            : snprintf(out + n, cap - n, "%%%02X", *c));
    out[n] = '\0';
}

/* The /staff/orders page for search text q (encoded here): whether it lists needle, and how many
 * times it names also (when not NULL). */
static int search_finds(const char *cookie, const char *q, const char *needle, const char *also, int *also_count)
{
    char path[400], enc[300];
    url_encoded(q, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/staff/orders?q=%s", enc);
    fgt_response_t r = get(&srv, FGT_HTTP1, cookie, path);
    ck_assert_int_eq(r.status, 200);
    int found = strstr(r.body, needle) != NULL;
    if (also != NULL) {
        *also_count = 0;
        for (const char *at = r.body; (at = strstr(at, also)) != NULL; at += strlen(also))
            (*also_count)++;
    }
    fgt_response_free(&r);
    return found;
}

/* The search finds an order by its code (as people type it), its merchant_ref and the start of its
 * payer's name, through the indexes; a name prefix that more than 2,000 payers share is searched
 * newest first and still fills its first page (services/web/staff_orders.c, migrations 0031, 0040). */
START_TEST(the_order_search_finds_by_code_ref_and_name)
{
    char finance[200], ref[64], name[80], payer[160], id[64], code[16], typed[20], json[200];
    snprintf(ref, sizeof(ref), "%s", fgt_unique("SR"));
    snprintf(name, sizeof(name), "Lâm Khánh %s", fgt_unique("N"));
    snprintf(payer, sizeof(payer), ",\"payer\":{\"name\":\"%s\"}", name);
    fgt_response_t o = fgt_order_create(&srv, FGT_HTTP1, school_a.key, NULL, ref, 1200000, payer);
    fgt_expect(o, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&o, "id", NULL));
    snprintf(code, sizeof(code), "%s", fgt_json_str(&o, "code", NULL));
    fgt_response_free(&o);
    login_ok(&srv, finance_email, finance, sizeof(finance));
    /* the code as people type it: lower case, in two groups */
    snprintf(typed, sizeof(typed), "%.5s %s", code, code + 5);
    for (char *c = typed; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    /* a name as staff type it: without its marks, in any case */
    char bare[80];
    snprintf(bare, sizeof(bare), "lam khanh %s", name + strlen("Lâm Khánh "));
    const char *by[] = {code, typed, ref, name, "Lâm Khánh", "lam khanh", "LÂM KHÁNH", "Lam Khanh", bare};
    for (size_t i = 0; i < sizeof(by) / sizeof(by[0]); i++)
        ck_assert_msg(search_finds(finance, by[i], id, NULL, NULL), "searching \"%s\" did not find %s", by[i], id);
    ck_assert(!search_finds(finance, "Lâm Khánh zzz", id, NULL, NULL));
    ck_assert(!search_finds(finance, "lam khang", id, NULL, NULL));
    /* đ and Đ are d */
    char dang[80], dang_payer[160], dang_id[64], dang_typed[80];
    char tag[40];
    snprintf(tag, sizeof(tag), "%s", fgt_unique("D")); /* fgt_unique's buffer is reused */
    snprintf(dang, sizeof(dang), "Đặng Thị Đào %s", tag);
    snprintf(dang_payer, sizeof(dang_payer), ",\"payer\":{\"name\":\"%s\"}", dang);
    o = fgt_order_create(&srv, FGT_HTTP1, school_a.key, NULL, fgt_unique("SRD"), 410000, dang_payer);
    fgt_expect(o, 201, NULL);
    snprintf(dang_id, sizeof(dang_id), "%s", fgt_json_str(&o, "id", NULL));
    fgt_response_free(&o);
    snprintf(dang_typed, sizeof(dang_typed), "dang thi dao %s", tag);
    ck_assert_msg(search_finds(finance, dang_typed, dang_id, NULL, NULL), "searching \"%s\"", dang_typed);

    /* "%", "_" and the escape character are searched for as written, never as wildcards */
    char odd[80], odd_id[64], odd_payer[160], odd_prefix[40];
    snprintf(odd_prefix, sizeof(odd_prefix), "Quỹ 50%%_!%s", fgt_unique("Q"));
    snprintf(odd, sizeof(odd), "%s Lớp 5", odd_prefix);
    snprintf(odd_payer, sizeof(odd_payer), ",\"payer\":{\"name\":\"%s\"}", odd);
    o = fgt_order_create(&srv, FGT_HTTP1, school_a.key, NULL, fgt_unique("SRW"), 300000, odd_payer);
    fgt_expect(o, 201, NULL);
    snprintf(odd_id, sizeof(odd_id), "%s", fgt_json_str(&o, "id", NULL));
    fgt_response_free(&o);
    ck_assert(search_finds(finance, odd_prefix, odd_id, NULL, NULL));
    const char *wild[] = {"_", "%", "Quỹ 5_%", "Quỹ 50%_!_", "Quỹ 50%_%"};
    for (size_t i = 0; i < sizeof(wild) / sizeof(wild[0]); i++)
        ck_assert_msg(!search_finds(finance, wild[i], odd_id, NULL, NULL), "searching \"%s\" found %s", wild[i],
                      odd_id);

    /* 2,001 payers whose names start alike */
    char common[40];
    snprintf(common, sizeof(common), "Phan %s", fgt_unique("C"));
    snprintf(json, sizeof(json), "{\"c\":\"%s\",\"o\":\"%s\"}", common, id);
    fgt_db_exec("INSERT INTO orders (public_id, merchant_id, merchant_ref, fee_type, amount, currency, code, "
                "created_at, updated_at, payer_name) SELECT CONCAT('ord_', LEFT(MD5(CONCAT(p.c, s.seq)), 26)), "
                "o.merchant_id, CONCAT('common-', LEFT(MD5(CONCAT(p.c, s.seq)), 20)), 'tuition', 100000, 'VND', "
                "UPPER(LEFT(MD5(CONCAT('code', p.c, s.seq)), 11)), o.created_at, o.created_at, "
                "CONCAT(p.c, ' ', s.seq) FROM (SELECT JSON_VALUE(j.v, '$.c') AS c, JSON_VALUE(j.v, '$.o') AS o FROM "
                "(SELECT ? AS v) j) p "
                "JOIN orders o ON o.public_id = p.o JOIN seq_1_to_2001 s",
                json);
    char newest[60];
    snprintf(newest, sizeof(newest), "%s 2001", common);
    int listed = 0;
    ck_assert(search_finds(finance, common, newest, common, &listed));
    ck_assert_int_ge(listed, 50); /* a full first page */
}
END_TEST

/* ---- money that arrives for a bill that no longer takes it ----------------------------------------- */

/* docs/HARDENING.md, "Several payments, cancelled bills": a bill may be
 * cancelled while payments for it are pending (no provider here can void an
 * unpaid payment request); money that still arrives is unapplied, and staff
 * see it on the overview to refund. */
START_TEST(money_for_a_cancelled_bill_is_unapplied_and_shown_to_staff)
{
    char order[64], path[160], pay[2][64];
    fgt_response_t r = fgt_order_create(&srv, FGT_HTTP1, school_a.key, NULL, fgt_unique("CX"), 100000, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(order, sizeof(order), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    /* two pending payments, each for the whole amount owed */
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    for (int i = 0; i < 2; i++) {
        r = fgt_req(&srv, FGT_HTTP1, "POST", path, school_a.key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
        fgt_expect(r, 201, NULL);
        ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 100000);
        snprintf(pay[i], sizeof(pay[i]), "%s", fgt_json_str(&r, "id", NULL));
        fgt_response_free(&r);
    }
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", order);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, school_a.key, fgt_unique("cancel"), NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "cancelled");
    fgt_response_free(&r);
    /* the payer paid anyway */
    char note[300], header[200];
    snprintf(note, sizeof(note),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":100000}", pay[1],
             fgt_unique("TX"));
    fgt_sandbox_signature(SANDBOX_SECRET, note, header, sizeof(header));
    const char *headers[] = {header, NULL};
    r = fgt_request(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", headers, note, strlen(note));
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payments/%s", pay[1]);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, school_a.key, NULL, NULL, 0, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    ck_assert_int_eq(fgt_json_int(&r, "amount_applied", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "amount_unapplied", NULL), 100000);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/orders/%s", order);
    r = fgt_req(&srv, FGT_HTTP1, "GET", path, school_a.key, NULL, NULL, 0, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "cancelled");
    ck_assert_int_eq(fgt_json_int(&r, "amount_paid", NULL), 0);
    fgt_response_free(&r);
    /* finance and the school's accountant see it on the overview; an auditor too (read-only) */
    char session[200], marker[96];
    snprintf(marker, sizeof(marker), "data-payment=\"%s\"", pay[1]);
    const char *who[] = {finance_email, accountant_email, auditor_email};
    for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
        login_ok(&srv, who[i], session, sizeof(session));
        r = get(&srv, FGT_HTTP1, session, "/staff");
        ck_assert_int_eq(r.status, 200);
        const char *row = strstr(r.body, marker);
        ck_assert_msg(row != NULL, "%s does not see the unapplied payment", who[i]);
        ck_assert_ptr_nonnull(strstr(r.body, "data-table=\"unapplied\""));
        ck_assert_ptr_nonnull(strstr(row, "100.000"));
        ck_assert_ptr_nonnull(strstr(row, "cancelled"));
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- the overview is the collections report ------------------------------------------------------ */

/* The whole units of "1.234.000 ₫" right after marker in body (the overview's money). */
static long long money_after(const char *body, const char *marker)
{
    const char *at = strstr(body, marker);
    ck_assert_msg(at != NULL, "no %s on the overview", marker);
    at += strlen(marker);
    ck_assert_msg(*at >= '0' && *at <= '9', "no amount after %s: %.40s", marker, at);
    long long v = 0;
    for (; (*at >= '0' && *at <= '9') || *at == '.'; at++)
        if (*at != '.')
            v = v * 10 + (*at - '0');
    return v;
}

/* The API's VND collections of [from, to] (finance's key), total collected; by fee type into the
 * rows' "fee_type,collected" lines of csv (cap bytes) when csv is not NULL. */
static long long api_collected(const char *from, const char *to, const char *source, char *csv, size_t cap)
{
    char path[200], auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance_token);
    const char *h[] = {auth, NULL};
    snprintf(path, sizeof(path), "/v1/reports/collections?from=%s&to=%s&group_by=fee_type&source=%s&currency=VND", from,
             to, source);
    fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "GET", path, h, NULL, 0);
    ck_assert_msg(r.status == 200, "%s: %ld %s", path, r.status, r.body);
    long long total = fgt_json_int(&r, "totals", "collected", NULL);
    fgt_response_free(&r);
    if (csv == NULL)
        return total;
    snprintf(path + strlen(path), sizeof(path) - strlen(path), "&format=csv");
    r = fgt_request(&srv, FGT_HTTP1, "GET", path, h, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    /* header: fee_type,count,collected,… */
    const char *line = strstr(r.body, "\r\n");
    ck_assert_ptr_nonnull(line);
    ck_assert_int_eq(strncmp(r.body + 3, "fee_type,count,collected,", 25), 0); /* after the BOM */
    csv[0] = '\0';
    for (line += 2; *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        size_t n = end != NULL ? (size_t)(end - line) : strlen(line);
        char key[64];
        long long count = 0, collected = 0;
        if (n > 0 && sscanf(line, "%63[^,],%lld,%lld", key, &count, &collected) == 3)
            snprintf(csv + strlen(csv), cap - strlen(csv), "%s,%lld\n", key, collected);
        line += n + (end != NULL ? 2 : 0);
    }
    fgt_response_free(&r);
    return total;
}

/* An order of school B for a procedure fee in currency, paid in full today through the sandbox. */
static void pay_procedure(const char *currency, long long amount)
{
    char order[64], path[160], pay[64], note[300], header[200], body[300];
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"procedure\",\"amount\":%lld,\"currency\":\"%s\"}",
             fgt_unique("OV"), amount, currency);
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/orders", school_b.key, fgt_unique("ov"), body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(order, sizeof(order), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, school_b.key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(pay, sizeof(pay), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(note, sizeof(note),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":%lld}", pay,
             fgt_unique("TX"), amount);
    fgt_sandbox_signature(SANDBOX_SECRET, note, header, sizeof(header));
    const char *headers[] = {header, NULL};
    r = fgt_request(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", headers, note, strlen(note));
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
}

START_TEST(the_overview_shows_the_collections_reports_figures)
{
    /* payments today by one school: a procedure fee (what the other tests here pay is tuition) in
     * VND, and one in USD (1234 = 12.34 USD), which no VND figure may include */
    const char *fee = "procedure";
    pay_procedure("VND", 730000);
    pay_procedure("USD", 1234);
    fgt_response_t r;

    /* today and this month as business days (GMT+7), as the overview counts them */
    char today[11], month[11];
    time_t now = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    snprintf(month, sizeof(month), "%.8s01", today);

    /* the rollups have the payment (the report's default source) once they agree with the journals */
    long long journals = api_collected(today, today, "journals", NULL, 0);
    ck_assert_int_ge(journals, 730000);
    for (int i = 0; i < 300 && api_collected(today, today, "rollups", NULL, 0) != journals; i++)
        fgt_sleep_ms(100);
    ck_assert_int_eq(api_collected(today, today, "rollups", NULL, 0), journals);

    char session[200], day_rows[4096], month_rows[4096];
    login_ok(&srv, finance_email, session, sizeof(session));
    r = get(&srv, FGT_HTTP1, session, "/staff");
    ck_assert_int_eq(r.status, 200);
    long long day_total = api_collected(today, today, "rollups", day_rows, sizeof(day_rows));
    long long month_total = api_collected(month, today, "rollups", month_rows, sizeof(month_rows));
    ck_assert_int_eq(day_total, journals); /* nothing moved while the page was read */
    const char *today_card = strstr(r.body, "data-total=\"today\""),
               *month_card = strstr(r.body, "data-total=\"month\"");
    ck_assert_ptr_nonnull(today_card);
    ck_assert_ptr_nonnull(month_card);
    ck_assert_int_eq(money_after(today_card, "class=\"amount\" data-currency=\"VND\">"), day_total);
    ck_assert_int_eq(money_after(month_card, "class=\"amount\" data-currency=\"VND\">"), month_total);
    /* the dollars on their own, as dollars, after the dong: 12,34 USD (cents are the minor unit) */
    const char *usd = strstr(today_card, "class=\"amount\" data-currency=\"USD\">");
    ck_assert_ptr_nonnull(usd);
    ck_assert(strstr(today_card, "data-currency=\"VND\"") < usd);
    ck_assert(usd < month_card);
    ck_assert_int_eq(strncmp(strchr(usd, '>') + 1, "12,34&nbsp;USD</p>", 18), 0);
    ck_assert_ptr_nonnull(strstr(month_card, "class=\"amount\" data-currency=\"USD\">12,34&nbsp;USD</p>"));
    /* each fee type's row: today's and the month's collected, as the report has them */
    const char *table = strstr(r.body, "data-table=\"fee_type\"");
    ck_assert_ptr_nonnull(table);
    int rows = 0;
    for (const char *line = month_rows; *line != '\0'; line = strchr(line, '\n') + 1, rows++) {
        char key[64], cell[128];
        long long in_month = 0, in_day = 0;
        ck_assert_int_eq(sscanf(line, "%63[^,],%lld", key, &in_month), 2);
        const char *d = strstr(day_rows, key);
        if (d != NULL && (d == day_rows || d[-1] == '\n') && d[strlen(key)] == ',')
            in_day = strtoll(d + strlen(key) + 1, NULL, 10);
        snprintf(cell, sizeof(cell), "<tr data-currency=\"VND\" data-key=\"%s\"><td>", key);
        const char *row = strstr(table, cell);
        ck_assert_msg(row != NULL, "no row of %s on the overview", key);
        ck_assert_int_eq(money_after(row, "<td class=\"num\">"), in_day);
        /* then the month's count, then its collected */
        const char *label_end = strstr(row + strlen(cell), "</td>"); /* the key's name, then the figures */
        const char *count = strstr(label_end + 5, "</td><td class=\"num\">") + 1;
        const char *collected = strstr(count + 1, "</td><td class=\"num\">") + 1;
        ck_assert_int_eq(money_after(collected, "<td class=\"num\">"), in_month);
        if (strcmp(key, fee) == 0)
            ck_assert_int_ge(in_day, 730000);
    }
    ck_assert_int_ge(rows, 1);
    ck_assert_ptr_nonnull(strstr(month_rows, fee));
    /* the procedure fee's USD row: today's and the month's 12,34 USD, apart from its VND row */
    /* named in the page's language: "procedure" is the API's code */
    const char *usd_row = strstr(table, "<tr data-currency=\"USD\" data-key=\"procedure\"><td>Lệ phí thủ tục</td><td "
                                        "class=\"num\">12,34&nbsp;USD");
    ck_assert_ptr_nonnull(usd_row);
    ck_assert_ptr_nonnull(strstr(usd_row, "<td class=\"num\">1</td><td class=\"num\">12,34&nbsp;USD"));
    /* and its bars, scaled among USD bars only */
    ck_assert_ptr_nonnull(strstr(r.body, "class=\"bar-today\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-value=\"1234\" data-currency=\"USD\""));
    fgt_response_free(&r);
}
END_TEST

/* ---- statements and reports ---------------------------------------------------------------------- */

/* A multipart body of the upload form. */
static char *upload_body(const char *csrf, const char *format, const char *file, size_t *len)
{
    static const char B[] = "----feegateTestBoundary7MA4YWxk";
    size_t cap = strlen(file) + 1024;
    char *body = malloc(cap);
    int n = snprintf(body, cap,
                     "--%s\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n%s\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\n%s\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"statement.csv\"\r\n"
                     "Content-Type: text/csv\r\n\r\n%s\r\n--%s--\r\n",
                     B, csrf, B, format, B, file, B);
    *len = (size_t)n;
    return body;
}

START_TEST(a_statement_uploaded_through_the_page_is_the_apis)
{
    char session[200], csrf[96], file[1024], account[40], auth[200];
    snprintf(account, sizeof(account), "%s", fgt_account("PGS"));
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,2026-12-01,1000000,,,,\n"
             "%s,VND,2026-12-02,2026-12-02,250000,R%s1,,NGUYEN THI B,HOC PHI\n"
             "%s,VND,2026-12-02,2026-12-02,-15000,R%s2,,,PHI\n"
             "%s,VND,closing,2026-12-02,1235000,,,,\n",
             account, account, account, account, account, account);
    login_ok(&srv, finance_email, session, sizeof(session));
    session_csrf(&srv, session, csrf, sizeof(csrf));
    size_t len;
    char *body = upload_body("wrong-token", "csv", file, &len);
    fgt_response_t r = post(&srv, FGT_H2C, session, "/staff/statements",
                            "multipart/form-data; boundary=----feegateTestBoundary7MA4YWxk", body, len);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    free(body);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statement_lines WHERE account = ?", account, NULL), 0);

    body = upload_body(csrf, "csv", file, &len);
    r = post(&srv, FGT_H2C, session, "/staff/statements",
             "multipart/form-data; boundary=----feegateTestBoundary7MA4YWxk", body, len);
    free(body);
    ck_assert_msg(r.status == 201, "upload: %ld %.500s", r.status, r.body);
    const char *at = strstr(r.body, "data-import=\"");
    ck_assert_ptr_nonnull(at);
    char import_id[64];
    snprintf(import_id, sizeof(import_id), "%.*s", (int)strcspn(at + 13, "\""), at + 13);
    ck_assert_ptr_nonnull(strstr(r.body, "data-lines=\"2\""));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statement_lines WHERE account = ?", account, NULL), 2);
    ck_assert_int_eq(audit_count(finance_email, "statement.import"),
                     fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE actor = ? AND action = 'statement.import'",
                                finance_email, NULL));
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'statement.import' AND object = ?",
                                import_id, NULL),
                     1);

    /* the same bytes through the API are that very import */
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance_token);
    const char *h[] = {auth, "Content-Type: text/csv", NULL};
    fgt_response_t api = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", h, file, 0);
    ck_assert_int_eq(api.status, 200);
    ck_assert_str_eq(fgt_json_str(&api, "duplicate_of", NULL), import_id);
    fgt_response_free(&api);
    /* and a file the API imported first is a duplicate through the page */
    char other[40], file2[1024];
    snprintf(other, sizeof(other), "%s", fgt_account("PGT"));
    snprintf(file2, sizeof(file2),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,2026-12-01,0,,,,\n%s,VND,2026-12-02,2026-12-02,700000,R%s,,,NUOC\n"
             "%s,VND,closing,2026-12-02,700000,,,,\n",
             other, other, other, other);
    api = fgt_request(&srv, FGT_H2C, "POST", "/v1/statements", h, file2, 0);
    ck_assert_int_eq(api.status, 201);
    char api_id[64];
    snprintf(api_id, sizeof(api_id), "%s", fgt_json_str(&api, "id", NULL));
    fgt_response_free(&api);
    body = upload_body(csrf, "", file2, &len); /* the format found by its first bytes */
    r = post(&srv, FGT_H2C, session, "/staff/statements",
             "multipart/form-data; boundary=----feegateTestBoundary7MA4YWxk", body, len);
    free(body);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, api_id));
    ck_assert_ptr_nonnull(strstr(r.body, "data-duplicate=\"1\""));
    fgt_response_free(&r);
    /* an unbalanced file stores nothing and says why */
    char bad[1024], third[40];
    snprintf(third, sizeof(third), "PG%s", fgt_unique("U"));
    snprintf(bad, sizeof(bad),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,2026-12-01,0,,,,\n%s,VND,2026-12-02,2026-12-02,5,R%s,,,X\n"
             "%s,VND,closing,2026-12-02,6,,,,\n",
             third, third, third, third);
    body = upload_body(csrf, "csv", bad, &len);
    r = post(&srv, FGT_H2C, session, "/staff/statements",
             "multipart/form-data; boundary=----feegateTestBoundary7MA4YWxk", body, len);
    free(body);
    ck_assert_msg(r.status == 422 || r.status == 400, "unbalanced: %ld", r.status);
    ck_assert_ptr_nonnull(strstr(r.body, "role=\"alert\""));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM statement_lines WHERE account = ?", third, NULL), 0);
    /* a body that is no multipart form is refused */
    r = post(&srv, FGT_H2C, session, "/staff/statements", "multipart/form-data; boundary=xyz", "garbage", 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
}
END_TEST

START_TEST(a_reconciliation_reloads_itself_until_its_lines_are_matched)
{
    char session[200], csrf[96], file[1024], account[40], body[400], path[160];
    snprintf(account, sizeof(account), "%s", fgt_account("PGR"));
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,2026-12-01,1000000,,,,\n"
             "%s,VND,2026-12-02,2026-12-02,-22000,R%s1,,,PHI QUAN LY TAI KHOAN\n"
             "%s,VND,closing,2026-12-02,978000,,,,\n",
             account, account, account, account);
    import_statement(file);
    login_ok(&srv, finance_email, session, sizeof(session));
    session_csrf(&srv, session, csrf, sizeof(csrf));
    snprintf(body, sizeof(body), "csrf_token=%s&account=%s&from=2026-12-02&to=2026-12-02", csrf, account);
    fgt_response_t r = post(&srv, FGT_HTTP1, session, "/staff/reconciliations", "application/x-www-form-urlencoded",
                            body, 0);
    ck_assert_int_eq(r.status, 303);
    snprintf(path, sizeof(path), "%s", fgt_header(&r, "location"));
    fgt_response_free(&r);
    /* the line as the matching job holds it (leased far ahead, so it stays undecided); first the
     * job's own round on it must be over, or its decision would land after this and undo it */
    for (int tries = 0; tries < 300 && fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND "
                                                  "state <> 'unmatched' AND lease_until IS NULL",
                                                  account, NULL) == 0;
         tries++)
        fgt_sleep_ms(50);
    fgt_db_exec("UPDATE recon_items SET state = 'unmatched', rule = NULL, lease_until = 4102444800000 "
                "WHERE account = ?",
                account);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-reconciliation\" data-status=\"matching\""));
    ck_assert_ptr_nonnull(strstr(r.body, "<meta http-equiv=\"refresh\" content=\"3\">"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-matching=\"1\""));
    fgt_response_free(&r);
    /* ten minutes on and still matching (a stalled match): the page no longer reloads itself, which would
     * keep an unattended session alive */
    fgt_db_exec("UPDATE reconciliations SET created_at = created_at - 660000 WHERE account = ?", account);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"matching\""));
    ck_assert_ptr_null(strstr(r.body, "http-equiv=\"refresh\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-matching=\"1\""));
    fgt_response_free(&r);
    /* decided: the queue is final and the page stays still */
    fgt_db_exec("UPDATE recon_items SET state = 'bank_only', lease_until = NULL WHERE account = ?", account);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-reconciliation\" data-status=\"ready\""));
    ck_assert_ptr_null(strstr(r.body, "http-equiv=\"refresh\""));
    ck_assert_ptr_null(strstr(r.body, "data-matching"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-state=\"bank_only\""));
    /* the matcher's words in the page's language, not as it stores them */
    ck_assert_msg(strstr(r.body, "Khoản ghi nợ: không lô quyết toán, khoản hoàn tiền hay chi trả nào ứng với nó.") !=
                      NULL,
                  "%.4000s", r.body);
    ck_assert_ptr_null(strstr(r.body, "a debit: no settlement batch"));
    /* a resolve without a note is refused, saying so, and changes nothing */
    long long item = fgt_db_int("SELECT id FROM recon_items WHERE account = ?", account, NULL);
    fgt_response_free(&r);
    snprintf(path + strlen(path), sizeof(path) - strlen(path), "/items/%lld/resolve", item);
    snprintf(body, sizeof(body), "csrf_token=%s&action=write_off&note=", csrf);
    r = post(&srv, FGT_HTTP1, session, path, "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-error\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Cần ghi chú"));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND resolution IS NULL", account,
                                NULL),
                     1);

    /* an item resolved by apply is never undone: the page says so and offers no form; an undo posted
     * anyway is refused with that reason, not a generic one */
    fgt_db_exec("UPDATE recon_items SET resolution = 'apply' WHERE account = ?", account);
    char run[160];
    snprintf(run, sizeof(run), "%.*s", (int)(strstr(path, "/items/") - path), path);
    r = get(&srv, FGT_HTTP1, session, run);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-resolution=\"apply\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-undo=\"unsupported\""));
    ck_assert_ptr_null(strstr(r.body, "data-form=\"resolve\""));
    ck_assert_ptr_null(strstr(r.body, "value=\"undo\""));
    fgt_response_free(&r);
    snprintf(body, sizeof(body), "csrf_token=%s&action=undo&note=sai", csrf);
    r = post(&srv, FGT_HTTP1, session, path, "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 422);
    ck_assert_msg(strstr(r.body, "Việc gán vào hóa đơn không hoàn tác được") != NULL, "%.2000s", r.body);
    fgt_response_free(&r);
    /* a write-off is undone from the page */
    fgt_db_exec("UPDATE recon_items SET resolution = 'write_off' WHERE account = ?", account);
    r = get(&srv, FGT_HTTP1, session, run);
    ck_assert_ptr_nonnull(strstr(r.body, "value=\"undo\""));
    ck_assert_ptr_null(strstr(r.body, "data-undo=\"unsupported\""));
    fgt_response_free(&r);
}
END_TEST

/* A period of account reconciled through the page (day..day), its items
 * decided; *path receives the run's page. */
static void page_reconciliation(const char *session, const char *csrf, const char *account, const char *day, char *path,
                                size_t cap)
{
    char body[300];
    snprintf(body, sizeof(body), "csrf_token=%s&account=%s&from=%s&to=%s", csrf, account, day, day);
    fgt_response_t r = post(&srv, FGT_HTTP1, session, "/staff/reconciliations", "application/x-www-form-urlencoded",
                            body, 0);
    ck_assert_int_eq(r.status, 303);
    snprintf(path, cap, "%s", fgt_header(&r, "location"));
    fgt_response_free(&r);
    for (int tries = 0; tries < 300 && fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND state = "
                                                  "'unmatched' OR account = ? AND lease_until IS NOT NULL",
                                                  account, account) > 0;
         tries++)
        fgt_sleep_ms(50);
}

/* The page's close, posted: its status, and the body into out (cap bytes). */
static long close_from_page(const char *session, const char *csrf, const char *run, char *out, size_t cap)
{
    char path[240], body[120];
    snprintf(path, sizeof(path), "%.200s/close", run);
    snprintf(body, sizeof(body), "csrf_token=%s", csrf);
    fgt_response_t r = post(&srv, FGT_HTTP1, session, path, "application/x-www-form-urlencoded", body, 0);
    long status = r.status;
    snprintf(out, cap, "%s", r.body != NULL ? r.body : "");
    fgt_response_free(&r);
    return status;
}

/* A finance officer closes periods from the reconciliation page: refused,
 * each time saying why, while an item is open, while an earlier day is open
 * (days close in order) and while the period's last day is not over; closed,
 * the page says so and offers the form no more.  An auditor sees no form. */
START_TEST(a_period_is_closed_from_its_page)
{
    char session[200], auditor[200], csrf[96], file[1024], account[40], first[160], second[160];
    char body[400], *out = malloc(65536);
    ck_assert_ptr_nonnull(out);
    snprintf(account, sizeof(account), "%s", fgt_account("PCL"));
    snprintf(file, sizeof(file),
             "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
             "%s,VND,opening,2026-11-30,1000000,,,,\n"
             "%s,VND,2026-12-01,2026-12-01,-11000,R%s1,,,PHI SMS BANKING\n"
             "%s,VND,2026-12-02,2026-12-02,-22000,R%s2,,,PHI QUAN LY TAI KHOAN\n"
             "%s,VND,closing,2026-12-02,967000,,,,\n",
             account, account, account, account, account, account);
    import_statement(file);
    login_ok(&srv, finance_email, session, sizeof(session));
    session_csrf(&srv, session, csrf, sizeof(csrf));
    page_reconciliation(session, csrf, account, "2026-12-02", second, sizeof(second));
    fgt_response_t r = get(&srv, FGT_HTTP1, session, second);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-form=\"close\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Khóa sổ kỳ"));
    fgt_response_free(&r);
    login_ok(&srv, auditor_email, auditor, sizeof(auditor));
    r = get(&srv, FGT_HTTP1, auditor, second);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, "data-form=\"close\""));
    fgt_response_free(&r);
    /* the bank's fee is an open item */
    ck_assert_int_eq(close_from_page(session, csrf, second, out, 65536), 409);
    ck_assert_msg(strstr(out, "Còn 1 mục chưa khớp hoặc chưa xử lý") != NULL, "%.3000s", out);
    ck_assert_ptr_nonnull(strstr(out, "data-page=\"staff-error\""));
    /* its language link is the run's page (a GET of the form's own path is no page) */
    char toggle[240];
    snprintf(toggle, sizeof(toggle), "class=\"lang\" href=\"%s?lang=en\"", second);
    ck_assert_msg(strstr(out, toggle) != NULL, "%.3000s", out);
    char path[200], d[16];
    long long item = fgt_db_int("SELECT id FROM recon_items WHERE account = ? AND business_day = 20261202 AND "
                                "kind = 'bank_line'",
                                account, NULL);
    snprintf(path, sizeof(path), "%s/items/%lld/resolve", second, item);
    snprintf(body, sizeof(body), "csrf_token=%s&action=write_off&note=ph%%C3%%AD+ng%%C3%%A2n+h%%C3%%A0ng", csrf);
    r = post(&srv, FGT_HTTP1, session, path, "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);
    /* the 1st, which the bank booked a fee on, is open: days close in order */
    ck_assert_int_eq(close_from_page(session, csrf, second, out, 65536), 409);
    ck_assert_msg(strstr(out, "Ngày 2026-12-01, trước kỳ này, chưa khóa sổ") != NULL, "%.3000s", out);
    snprintf(d, sizeof(d), "20261202");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_closed_days WHERE account = ? AND day = ?", account, d), 0);
    page_reconciliation(session, csrf, account, "2026-12-01", first, sizeof(first));
    item = fgt_db_int("SELECT id FROM recon_items WHERE account = ? AND business_day = 20261201 AND kind = "
                      "'bank_line'",
                      account, NULL);
    snprintf(path, sizeof(path), "%s/items/%lld/resolve", first, item);
    r = post(&srv, FGT_HTTP1, session, path, "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);
    ck_assert_int_eq(close_from_page(session, csrf, first, out, 65536), 303);
    ck_assert_int_eq(close_from_page(session, csrf, second, out, 65536), 303);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_closed_days WHERE account = ? AND day = ?", account, d), 1);
    r = get(&srv, FGT_HTTP1, session, second);
    ck_assert_ptr_nonnull(strstr(r.body, "data-closed=\"true\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Kỳ đã khóa sổ"));
    ck_assert_ptr_null(strstr(r.body, "data-form=\"close\""));
    /* its items are final: the written-off fee offers no undo, it says the day is closed */
    ck_assert_ptr_null(strstr(r.body, "data-form=\"resolve\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-final"));
    fgt_response_free(&r);
    /* closing again changes nothing */
    ck_assert_int_eq(close_from_page(session, csrf, second, out, 65536), 303);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE action = 'reconciliation.close' AND "
                                "after_json LIKE CONCAT('%', ?, '%')",
                                account, NULL),
                     3);
    /* today is not over (recon.close_after_hour 24): said, with when it may close */
    char today[16];
    time_t t = time(NULL) + 7 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    page_reconciliation(session, csrf, account, today, path, sizeof(path));
    ck_assert_int_eq(close_from_page(session, csrf, path, out, 65536), 409);
    ck_assert_msg(strstr(out, "Ngày cuối của kỳ chưa qua: khóa sổ được từ ") != NULL, "%.3000s", out);
    ck_assert_ptr_nonnull(strstr(out, " 00:00 (GMT+7)"));
    free(out);
}
END_TEST

START_TEST(report_downloads_are_the_apis_files)
{
    char session[200], auth[200];
    login_ok(&srv, finance_email, session, sizeof(session));
    static const char *const PAIRS[][2] = {
        {"/staff/reports/collections.csv?from=2026-01-01&to=2026-12-31&group_by=fee_type",
         "/v1/reports/collections?from=2026-01-01&to=2026-12-31&group_by=fee_type&format=csv"},
        {"/staff/reports/outstanding.csv?as_of=2030-01-01&group_by=merchant",
         "/v1/reports/outstanding?as_of=2030-01-01&group_by=merchant&format=csv"},
    };
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance_token);
    const char *h[] = {auth, NULL};
    for (size_t i = 0; i < 2; i++) {
        fgt_response_t page = get(&srv, FGT_HTTP1, session, PAIRS[i][0]);
        ck_assert_int_eq(page.status, 200);
        ck_assert_ptr_nonnull(strstr(fgt_header(&page, "content-type"), "text/csv"));
        ck_assert_ptr_nonnull(strstr(fgt_header(&page, "content-disposition"), "attachment"));
        ck_assert_int_eq(memcmp(page.body, "\xEF\xBB\xBF", 3), 0); /* UTF-8 with BOM */
        fgt_response_t api = fgt_request(&srv, FGT_HTTP1, "GET", PAIRS[i][1], h, NULL, 0);
        ck_assert_int_eq(api.status, 200);
        ck_assert_str_eq(page.body, api.body);
        fgt_response_free(&page);
        fgt_response_free(&api);
    }
    fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff/reports/outstanding.csv?as_of=2030-01-01");
    ck_assert_ptr_nonnull(strstr(r.body, "fee_type,count,owed"));
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, session, "/staff/reports/collections.xlsx?from=2026-12-01&to=2026-12-31");
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(memcmp(r.body, "PK", 2), 0); /* a zip: the spreadsheet */
    fgt_response_free(&r);
    ck_assert_int_eq(status_of(&srv, session, "/staff/reports/ledger.csv"), 404);
    ck_assert_int_eq(status_of(&srv, session, "/staff/reports/collections.csv?from=2026-12-31&to=2026-01-01"), 400);
    ck_assert_int_ge(audit_count(finance_email, "report.download"), 4);
    /* the page itself shows the table and links to both files */
    r = get(&srv, FGT_HTTP1, session, "/staff/reports?report=outstanding&as_of=2030-01-01");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-download=\"csv\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-download=\"xlsx\""));
    fgt_response_free(&r);
    /* without a session there is no file */
    r = get(&srv, FGT_HTTP1, NULL, "/staff/reports/collections.csv");
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);
}
END_TEST

/* The page's file and the API's answer to the same query: the same bytes. */
static void same_file(const char *session, const char *page_path, const char *api_path, const char *type)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance_token);
    const char *h[] = {auth, NULL};
    fgt_response_t page = get(&srv, FGT_HTTP1, session, page_path);
    ck_assert_msg(page.status == 200, "%s: %ld %.300s", page_path, page.status, page.body);
    ck_assert_ptr_nonnull(strstr(fgt_header(&page, "content-type"), type));
    ck_assert_ptr_nonnull(strstr(fgt_header(&page, "content-disposition"), "attachment"));
    fgt_response_t api = fgt_request(&srv, FGT_HTTP1, "GET", api_path, h, NULL, 0);
    ck_assert_msg(api.status == 200, "%s: %ld %.300s", api_path, api.status, api.body);
    if (strcmp(type, "text/csv") == 0) {
        ck_assert_int_eq(memcmp(page.body, "\xEF\xBB\xBF", 3), 0); /* UTF-8 with BOM */
        ck_assert_str_eq(page.body, api.body);
    } else {
        ck_assert_int_eq(memcmp(page.body, "PK", 2), 0); /* a zip: the spreadsheet */
        ck_assert_int_eq(memcmp(api.body, "PK", 2), 0);
    }
    fgt_response_free(&page);
    fgt_response_free(&api);
}

/* A dollar account's reconciliation is in dollars on every staff page: its items 12,34 USD and
 * -0,50 USD, what is unreconciled, the runs list's currency, apply's amount field and what it
 * refuses (before, every amount was written as dong: "1.234 ₫"); and the reports page's currency
 * field keeps the reconciliation summary to that currency's accounts. */
START_TEST(a_dollar_accounts_reconciliation_is_shown_in_dollars)
{
    char session[200], csrf[96], file[1024], account[40], vnd_account[40], body[400], path[300], run[160];
    snprintf(account, sizeof(account), "%s", fgt_account("PUSD"));
    snprintf(vnd_account, sizeof(vnd_account), "%s", fgt_account("PVND"));
    for (int i = 0; i < 2; i++) {
        const char *acc = i == 0 ? account : vnd_account;
        if (i == 0)
            snprintf(file, sizeof(file),
                     "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
                     "%s,USD,opening,2026-11-25,1000.00,,,,\n"
                     "%s,USD,2026-11-26,2026-11-26,12.34,C%s,,NGUYEN VAN A,HOC PHI\n"
                     "%s,USD,2026-11-26,2026-11-26,-0.50,D%s,,,PHI\n"
                     "%s,USD,closing,2026-11-26,1011.84,,,,\n",
                     acc, acc, acc, acc, acc, acc);
        else
            snprintf(file, sizeof(file),
                     "account,currency,booking_date,value_date,amount,bank_ref,end_to_end,counterparty,memo\n"
                     "%s,VND,opening,2026-11-25,1000000,,,,\n"
                     "%s,VND,2026-11-26,2026-11-26,-22000,D%s,,,PHI\n"
                     "%s,VND,closing,2026-11-26,978000,,,,\n",
                     acc, acc, acc, acc);
        import_statement(file);
    }
    login_ok(&srv, finance_email, session, sizeof(session));
    session_csrf(&srv, session, csrf, sizeof(csrf));
    snprintf(body, sizeof(body), "csrf_token=%s&account=%s&from=2026-11-26&to=2026-11-26", csrf, account);
    fgt_response_t r = post(&srv, FGT_HTTP1, session, "/staff/reconciliations", "application/x-www-form-urlencoded",
                            body, 0);
    ck_assert_int_eq(r.status, 303);
    snprintf(run, sizeof(run), "%s", fgt_header(&r, "location"));
    fgt_response_free(&r);
    for (int tries = 0; tries < 1200 && fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND "
                                                   "state = 'unmatched'",
                                                   account, NULL) > 0;
         tries++)
        fgt_sleep_ms(100);

    r = get(&srv, FGT_HTTP1, session, run);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"ready\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-currency=\"USD\""));
    ck_assert_msg(strstr(r.body, ">12,34&nbsp;USD<") != NULL, "%.4000s", r.body);
    ck_assert_ptr_nonnull(strstr(r.body, ">-0,50&nbsp;USD<"));
    ck_assert_ptr_nonnull(strstr(r.body, ">11,84&nbsp;USD<")); /* unreconciled: 12,34 - 0,50 */
    ck_assert_msg(strstr(r.body, "₫") == NULL, "a dollar amount written as dong: %.4000s", r.body);
    /* apply's amount is cents of USD, as the API's, and the field says so */
    ck_assert_ptr_nonnull(strstr(r.body, "name=\"amount\" inputmode=\"numeric\" data-currency=\"USD\" "
                                         "data-exponent=\"2\""));
    ck_assert_ptr_nonnull(strstr(r.body, "1234 là 12,34\xc2\xa0USD"));
    fgt_response_free(&r);
    /* the runs list names each run's currency */
    r = get(&srv, FGT_HTTP1, session, "/staff/reconciliations");
    snprintf(path, sizeof(path), "<tr data-currency=\"USD\"><td><a href=\"%s\"", run);
    ck_assert_msg(strstr(r.body, path) != NULL, "%.3000s", r.body);
    fgt_response_free(&r);
    /* an amount typed as the page writes it is refused, never read as 1234 cents nor as 12 */
    long long item = fgt_db_int("SELECT id FROM recon_items WHERE account = ? AND amount = 1234", account, NULL);
    snprintf(path, sizeof(path), "%s/items/%lld/resolve", run, item);
    snprintf(body, sizeof(body), "csrf_token=%s&action=apply&note=hoc+phi&order=ord_x&amount=12%%2C34", csrf);
    r = post(&srv, FGT_HTTP1, session, path, "application/x-www-form-urlencoded", body, 0);
    ck_assert_int_eq(r.status, 400);
    ck_assert_msg(strstr(r.body, "đơn vị nhỏ nhất của USD (1234 là 12,34") != NULL, "%.3000s", r.body);
    ck_assert_ptr_null(strstr(r.body, "₫"));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM recon_items WHERE account = ? AND resolution IS NOT NULL",
                                account, NULL),
                     0);

    /* the reports page's currency field keeps the summary to that currency's accounts */
    snprintf(path, sizeof(path), "/staff/reports?report=reconciliation&from=2026-11-26&to=2026-11-26&currency=USD");
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, account));
    ck_assert_ptr_null(strstr(r.body, vnd_account));
    ck_assert_ptr_nonnull(strstr(r.body, ">12,34&nbsp;USD<"));
    ck_assert_ptr_nonnull(strstr(r.body, "reconciliation.csv?from=2026-11-26&amp;to=2026-11-26&amp;currency=USD"));
    /* the day's state in the page's language, its code kept in the markup */
    ck_assert_ptr_nonnull(strstr(r.body, "<td data-status=\"open\">Đang mở</td>"));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/reports?report=reconciliation&from=2026-11-26&to=2026-11-26&currency=VND");
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, account));
    ck_assert_ptr_nonnull(strstr(r.body, vnd_account));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/reports?report=reconciliation&from=2026-11-26&to=2026-11-26&currency=usd");
    ck_assert_int_eq(status_of(&srv, session, path), 400);
}
END_TEST

START_TEST(the_statement_and_reconciliation_reports_are_the_apis)
{
    char session[200], page_path[300], api_path[300], marker[160], auth[200];
    /* money in school A's account this year: a paid order */
    char order[64], path[160], pay[64], note[300], header[200];
    fgt_response_t r = fgt_order_create(&srv, FGT_HTTP1, school_a.key, NULL, fgt_unique("ST"), 415000, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(order, sizeof(order), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, school_a.key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(pay, sizeof(pay), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(note, sizeof(note),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":415000}", pay,
             fgt_unique("TX"));
    fgt_sandbox_signature(SANDBOX_SECRET, note, header, sizeof(header));
    const char *headers[] = {header, NULL};
    r = fgt_request(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", headers, note, strlen(note));
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);

    login_ok(&srv, finance_email, session, sizeof(session));
    /* the files: the same as the API's */
    snprintf(page_path, sizeof(page_path),
             "/staff/reports/merchant-statement.csv?from=2026-01-01&to=2026-12-31&merchant=%s", school_a.id);
    snprintf(api_path, sizeof(api_path),
             "/v1/reports/merchant-statement?from=2026-01-01&to=2026-12-31&merchant_id=%s&format=csv", school_a.id);
    same_file(session, page_path, api_path, "text/csv");
    snprintf(page_path, sizeof(page_path),
             "/staff/reports/merchant-statement.xlsx?from=2026-01-01&to=2026-12-31&merchant=%s", school_a.id);
    snprintf(api_path, sizeof(api_path),
             "/v1/reports/merchant-statement?from=2026-01-01&to=2026-12-31&merchant_id=%s&format=xlsx", school_a.id);
    same_file(session, page_path, api_path, "spreadsheetml");
    same_file(session, "/staff/reports/reconciliation.csv?from=2026-01-01&to=2026-12-31",
              "/v1/reports/reconciliation?from=2026-01-01&to=2026-12-31&format=csv", "text/csv");
    /* every account's days (the reconciliation test above made some): not just the header */
    r = get(&srv, FGT_HTTP1, session, "/staff/reports/reconciliation.csv?from=2026-01-01&to=2026-12-31");
    ck_assert_msg(strstr(r.body, "\r\n") != NULL && strstr(r.body, "\r\n")[2] != '\0', "no rows: %s", r.body);
    fgt_response_free(&r);
    same_file(session, "/staff/reports/reconciliation.csv?from=2026-01-01&to=2026-12-31&account=0011001932418",
              "/v1/reports/reconciliation?from=2026-01-01&to=2026-12-31&account=0011001932418&format=csv", "text/csv");
    same_file(session, "/staff/reports/reconciliation.xlsx?from=2026-01-01&to=2026-12-31",
              "/v1/reports/reconciliation?from=2026-01-01&to=2026-12-31&format=xlsx", "spreadsheetml");

    /* the page: the statement's figures are the API's, with both downloads */
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", finance_token);
    const char *h[] = {auth, NULL};
    snprintf(api_path, sizeof(api_path), "/v1/reports/merchant-statement?from=2026-01-01&to=2026-12-31&merchant_id=%s",
             school_a.id);
    fgt_response_t api = fgt_request(&srv, FGT_HTTP1, "GET", api_path, h, NULL, 0);
    ck_assert_int_eq(api.status, 200);
    ck_assert_int_ge(fgt_json_int(&api, "collections", NULL), 415000);
    snprintf(page_path, sizeof(page_path),
             "/staff/reports?report=merchant-statement&from=2026-01-01&to=2026-12-31&merchant=%s", school_a.id);
    r = get(&srv, FGT_HTTP1, session, page_path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-statement"));
    static const char *const FIGURES[] = {"opening_balance", "collections", "refunds",        "fees",
                                          "payouts",         "adjustments", "closing_balance"};
    for (size_t i = 0; i < sizeof(FIGURES) / sizeof(FIGURES[0]); i++) {
        snprintf(marker, sizeof(marker), "data-figure=\"%s\" data-value=\"%lld\"", FIGURES[i],
                 fgt_json_int(&api, FIGURES[i], NULL));
        ck_assert_msg(strstr(r.body, marker) != NULL, "no %s on the page", marker);
    }
    snprintf(marker, sizeof(marker),
             "href=\"/staff/reports/merchant-statement.csv?from=2026-01-01&amp;to=2026-12-31&amp;merchant=%s\"",
             school_a.id);
    ck_assert_ptr_nonnull(strstr(r.body, marker));
    ck_assert_ptr_nonnull(strstr(r.body, "data-download=\"xlsx\" href=\"/staff/reports/merchant-statement.xlsx?"));
    fgt_response_free(&r);
    fgt_response_free(&api);
    r = get(&srv, FGT_HTTP1, session, "/staff/reports?report=reconciliation&from=2026-01-01&to=2026-12-31");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(
        strstr(r.body, "href=\"/staff/reports/reconciliation.csv?from=2026-01-01&amp;to=2026-12-31\""));
    ck_assert_ptr_nonnull(strstr(r.body, "<option value=\"reconciliation\" selected>"));
    fgt_response_free(&r);
    /* no merchant chosen: the page asks for one; the file is 400; an unknown one is 404 */
    r = get(&srv, FGT_HTTP1, session, "/staff/reports?report=merchant-statement");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-choose"));
    ck_assert_ptr_null(strstr(r.body, "data-download"));
    fgt_response_free(&r);
    ck_assert_int_eq(status_of(&srv, session, "/staff/reports/merchant-statement.csv"), 400);
    ck_assert_int_eq(status_of(&srv, session, "/staff/reports/merchant-statement.csv?merchant=mer_nope"), 404);
    ck_assert_int_eq(status_of(&srv, session, "/staff/reports?report=ledger"), 400);
    ck_assert_int_eq(status_of(&srv, session,
                               "/staff/reports/reconciliation.csv?account=1234567890123456789012345678901234567"),
                     400);

    /* school A's accountant: its own statement whatever it names, no reconciliation */
    char accountant[200];
    login_ok(&srv, accountant_email, accountant, sizeof(accountant));
    snprintf(page_path, sizeof(page_path),
             "/staff/reports/merchant-statement.csv?from=2026-01-01&to=2026-12-31&merchant=%s", school_b.id);
    snprintf(api_path, sizeof(api_path),
             "/v1/reports/merchant-statement?from=2026-01-01&to=2026-12-31&merchant_id=%s&format=csv", school_a.id);
    same_file(accountant, page_path, api_path, "text/csv");
    ck_assert_int_eq(status_of(&srv, accountant, "/staff/reports?report=reconciliation"), 403);
    ck_assert_int_eq(status_of(&srv, accountant, "/staff/reports/reconciliation.csv"), 403);
    r = get(&srv, FGT_HTTP1, accountant, "/staff/reports?report=merchant-statement");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, "value=\"reconciliation\""));
    ck_assert_ptr_null(strstr(r.body, "<select id=\"merchant\""));
    snprintf(marker, sizeof(marker), "<h2 data-merchant=\"%s\">", school_a.id);
    ck_assert_ptr_nonnull(strstr(r.body, marker));
    fgt_response_free(&r);
    /* an auditor reads the reconciliation summary too */
    char auditor[200];
    login_ok(&srv, auditor_email, auditor, sizeof(auditor));
    ck_assert_int_eq(status_of(&srv, auditor, "/staff/reports/reconciliation.csv?from=2026-01-01&to=2026-12-31"), 200);
    ck_assert_int_ge(audit_count(finance_email, "report.download"), 5);
}
END_TEST

START_TEST(the_audit_page_lists_staff_actions)
{
    char session[200];
    login_ok(&srv, auditor_email, session, sizeof(session));
    fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff/audit?action=staff_session.login");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, auditor_email));
    ck_assert_ptr_nonnull(strstr(r.body, "data-action=\"staff_session.login\""));
    ck_assert_ptr_null(strstr(r.body, "data-action=\"statement.import\""));
    fgt_response_free(&r);
}
END_TEST

/* ---- bills from a spreadsheet ----------------------------------------------------------- */

static char *bills_body_named(const char *csrf, const char *merchant, const char *name, const char *file, size_t *len)
{
    static const char B[] = "----feegateTestBoundary7MA4YWxk";
    size_t cap = strlen(file) + 1024;
    char *body = malloc(cap);
    int n = snprintf(body, cap,
                     "--%s\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n%s\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"merchant\"\r\n\r\n%s\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"fee_type\"\r\n\r\ntuition\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                     "Content-Type: text/csv\r\n\r\n%s\r\n--%s--\r\n",
                     B, csrf, B, merchant, B, B, name, file, B);
    *len = (size_t)n;
    return body;
}

static char *bills_body(const char *csrf, const char *merchant, const char *file, size_t *len)
{
    return bills_body_named(csrf, merchant, "lop-5a.csv", file, len);
}

static fgt_response_t bills_upload(const char *session, const char *csrf, const char *merchant, const char *file)
{
    size_t len;
    char *body = bills_body(csrf, merchant, file, &len);
    fgt_response_t r = post(&srv, FGT_H2C, session, "/staff/bills",
                            "multipart/form-data; boundary=----feegateTestBoundary7MA4YWxk", body, len);
    free(body);
    return r;
}

/* The value of attribute name="…" of the element whose tag holds marker. */
static void attr_after(const fgt_response_t *r, const char *marker, const char *name, char *out, size_t cap)
{
    const char *at = strstr(r->body, marker);
    ck_assert_msg(at != NULL, "no %s in %.300s", marker, r->body);
    while (at > r->body && *at != '<')
        at--;
    char pat[64];
    snprintf(pat, sizeof(pat), "%s=\"", name);
    at = strstr(at, pat);
    ck_assert_ptr_nonnull(at);
    at += strlen(pat);
    snprintf(out, cap, "%.*s", (int)strcspn(at, "\""), at);
}

/* The merchant's orders whose merchant_ref starts with prefix. */
static long long orders_like(const char *merchant, const char *prefix)
{
    return fgt_db_int("SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id "
                      "WHERE m.public_id = ? AND o.merchant_ref LIKE CONCAT(?, '-%')",
                      merchant, prefix);
}

START_TEST(bills_are_previewed_then_created_from_the_page)
{
    char session[200], csrf[96], file[1024], bad[512], action[128], path[160];
    const char *p = fgt_unique("LOP5A");
    snprintf(file, sizeof(file),
             "M\xC3\xA3 h\xC3\xB3"
             "a \xC4\x91\xC6\xA1n,H\xE1\xBB\x8D t\xC3\xAAn,L\xE1\xBB\x9Bp,S\xE1\xBB\x91 ti\xE1\xBB\x81n\r\n"
             "%s-1,Nguy\xE1\xBB\x85n <i>An</i>,5A,1.200.000\r\n%s-2,Tr\xE1\xBA\xA7n B\xC3\xACnh,5A,1200000\r\n",
             p, p);
    snprintf(bad, sizeof(bad), "merchant_ref,amount\r\n%s-9,abc\r\n", p);

    /* an auditor reads the page but may not upload */
    char auditor[200], auditor_csrf[96];
    login_ok(&srv, auditor_email, auditor, sizeof(auditor));
    ck_assert_int_eq(status_of(&srv, auditor, "/staff/bills"), 200);
    session_csrf(&srv, auditor, auditor_csrf, sizeof(auditor_csrf));
    fgt_response_t r = bills_upload(auditor, auditor_csrf, school_b.id, file);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);

    /* the accountant of school A: a bad file is shown with its errors and creates nothing */
    login_ok(&srv, accountant_email, session, sizeof(session));
    session_csrf(&srv, session, csrf, sizeof(csrf));
    r = bills_upload(session, csrf, school_a.id, bad);
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "data-invalid=\"1\""));
    ck_assert_ptr_null(strstr(r.body, "data-form=\"bills-commit\""));
    fgt_response_free(&r);

    /* a file name that is not UTF-8 (a legacy client's Latin-1 "lôp"): the file is still taken */
    size_t latin_len;
    char *latin = bills_body_named(csrf, school_a.id, "l\xF4p-5a.csv", file, &latin_len);
    r = post(&srv, FGT_H2C, session, "/staff/bills", "multipart/form-data; boundary=----feegateTestBoundary7MA4YWxk",
             latin, latin_len);
    free(latin);
    ck_assert_msg(r.status == 200, "preview: %ld %.400s", r.status, r.body);
    fgt_response_free(&r);

    /* a good one, naming school B in the form: it goes to school A, the accountant's own */
    r = bills_upload(session, csrf, school_b.id, file);
    ck_assert_msg(r.status == 200, "preview: %ld %.400s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "data-rows=\"2\" data-invalid=\"0\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Nguy\xE1\xBB\x85n &lt;i&gt;An&lt;/i&gt;"));
    attr_after(&r, "data-form=\"bills-commit\"", "action", action, sizeof(action));
    fgt_response_free(&r);
    ck_assert_int_eq(orders_like(school_a.id, p), 0);
    ck_assert_int_eq(orders_like(school_b.id, p), 0);

    /* the commit without its token is refused; with it, both orders exist */
    r = post(&srv, FGT_H2C, session, action, "application/x-www-form-urlencoded", "csrf_token=nope", 0);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    char form[160];
    snprintf(form, sizeof(form), "csrf_token=%s", csrf);
    r = post(&srv, FGT_H2C, session, action, "application/x-www-form-urlencoded", form, 0);
    ck_assert_msg(r.status == 200, "commit: %ld %.400s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "data-created=\"2\""));
    attr_after(&r, "data-download=\"csv\"", "href", path, sizeof(path));
    fgt_response_free(&r);
    ck_assert_int_eq(orders_like(school_a.id, p), 2);
    ck_assert_int_eq(orders_like(school_b.id, p), 0);
    ck_assert_int_eq(audit_count(accountant_email, "bills.import"), 1);

    /* a double submit creates nothing more and shows what the first made */
    r = post(&srv, FGT_H2C, session, action, "application/x-www-form-urlencoded", form, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-created=\"0\" data-existing=\"2\""));
    fgt_response_free(&r);
    ck_assert_int_eq(audit_count(accountant_email, "bills.import"), 1);

    /* the result file: each row's code and pay link */
    r = get(&srv, FGT_H2C, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "text/csv"));
    /* two rows, each with the pay link of an order of school A */
    const char *link = r.body;
    for (int i = 0; i < 2; i++) {
        link = strstr(link, "/pay/");
        ck_assert_msg(link != NULL, "row %d has no pay link: %s", i, r.body);
        char code[16];
        snprintf(code, sizeof(code), "%.*s", (int)strcspn(link + 5, ",\r\n"), link + 5);
        ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id "
                                    "WHERE o.code = ? AND m.public_id = ?",
                                    code, school_a.id),
                         1);
        link += 5;
    }
    fgt_response_free(&r);

    /* the upload is its uploader's: another staff member finds nothing there */
    char finance[200];
    login_ok(&srv, finance_email, finance, sizeof(finance));
    ck_assert_int_eq(status_of(&srv, finance, path), 404);
}
END_TEST

/* A bill uploaded again with another amount is not "already there" with the
 * file's amount: the row is a conflict naming the order's amount, and nothing
 * can be created, whether the order was there at the preview or made after it. */
START_TEST(a_corrected_bill_is_a_conflict_not_already_there)
{
    char session[200], csrf[96], file[512], action[128], form[160];
    login_ok(&srv, finance_email, session, sizeof(session));
    session_csrf(&srv, session, csrf, sizeof(csrf));
    snprintf(form, sizeof(form), "csrf_token=%s", csrf);
    const char *p = fgt_unique("SUA");
    snprintf(file, sizeof(file), "merchant_ref,amount\r\n%s-1,1.200.000\r\n%s-2,1.200.000\r\n", p, p);
    fgt_response_t r = bills_upload(session, csrf, school_b.id, file);
    attr_after(&r, "data-form=\"bills-commit\"", "action", action, sizeof(action));
    fgt_response_free(&r);
    r = post(&srv, FGT_H2C, session, action, "application/x-www-form-urlencoded", form, 0);
    ck_assert_msg(strstr(r.body, "data-created=\"2\"") != NULL, "commit: %ld %.400s", r.status, r.body);
    fgt_response_free(&r);

    /* the same bills, the second with another amount: previewed as a conflict, no commit offered */
    snprintf(file, sizeof(file), "merchant_ref,amount\r\n%s-1,1.200.000\r\n%s-2,1.300.000\r\n", p, p);
    r = bills_upload(session, csrf, school_b.id, file);
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "data-invalid=\"1\""));
    ck_assert_msg(strstr(r.body, "amount is 1200000 (this row: 1300000)") != NULL, "%.3000s", r.body);
    ck_assert_ptr_null(strstr(r.body, "data-form=\"bills-commit\""));
    fgt_response_free(&r);

    /* an order made between the preview and the commit, for another amount: nothing is created */
    const char *q = fgt_unique("SAU");
    char ref[96];
    snprintf(file, sizeof(file), "merchant_ref,amount\r\n%s-1,500.000\r\n%s-2,500.000\r\n", q, q);
    r = bills_upload(session, csrf, school_b.id, file);
    ck_assert_int_eq(r.status, 200);
    attr_after(&r, "data-form=\"bills-commit\"", "action", action, sizeof(action));
    fgt_response_free(&r);
    snprintf(ref, sizeof(ref), "%s-2", q);
    r = fgt_order_create(&srv, FGT_HTTP1, school_b.key, NULL, ref, 600000, NULL);
    ck_assert_int_eq(r.status, 201);
    fgt_response_free(&r);
    r = post(&srv, FGT_H2C, session, action, "application/x-www-form-urlencoded", form, 0);
    ck_assert_int_eq(r.status, 422);
    ck_assert_msg(strstr(r.body, "amount is 600000 (this row: 500000)") != NULL, "%.3000s", r.body);
    ck_assert_ptr_null(strstr(r.body, "data-form=\"bills-commit\""));
    fgt_response_free(&r);
    ck_assert_int_eq(orders_like(school_b.id, q), 1);
}
END_TEST

/* A CSV of n bills, merchant refs prefix-1 … prefix-n; malloc'd. */
static char *bills_csv(const char *prefix, int n)
{
    size_t cap = 32 + (size_t)n * (strlen(prefix) + 24), len = 0;
    char *csv = malloc(cap);
    len += (size_t)snprintf(csv, cap, "merchant_ref,amount\r\n");
    for (int i = 1; i <= n; i++)
        len += (size_t)snprintf(csv + len, cap - len, "%s-%d,%d\r\n", prefix, i, 10000 + i);
    return csv;
}

START_TEST(a_file_of_10000_bills_is_taken_and_one_more_is_refused)
{
    char session[200], csrf[96], action[128], form[160];
    login_ok(&srv, finance_email, session, sizeof(session));
    session_csrf(&srv, session, csrf, sizeof(csrf));

    /* 10,001 rows: refused whole, with the reason, and nothing kept to commit */
    const char *over = fgt_unique("CAP1");
    char *csv = bills_csv(over, 10001);
    fgt_response_t r = bills_upload(session, csrf, school_b.id, csv);
    free(csv);
    ck_assert_msg(r.status == 422 || r.status == 413 || r.status == 400, "10,001 rows: %ld", r.status);
    ck_assert_msg(strstr(r.body, "a file holds at most 10000 bills; row 10002 is one too many") != NULL,
                  "no reason in %.600s", r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "role=\"alert\""));
    ck_assert_ptr_null(strstr(r.body, "data-form=\"bills-commit\""));
    fgt_response_free(&r);
    ck_assert_int_eq(orders_like(school_b.id, over), 0);

    /* 10,000 rows: previewed without an error, then created, all of them */
    const char *full = fgt_unique("CAP2");
    csv = bills_csv(full, 10000);
    r = bills_upload(session, csrf, school_b.id, csv);
    free(csv);
    ck_assert_msg(r.status == 200, "10,000 rows: %ld %.400s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "data-rows=\"10000\" data-invalid=\"0\""));
    attr_after(&r, "data-form=\"bills-commit\"", "action", action, sizeof(action));
    fgt_response_free(&r);
    snprintf(form, sizeof(form), "csrf_token=%s", csrf);
    r = post(&srv, FGT_H2C, session, action, "application/x-www-form-urlencoded", form, 0);
    ck_assert_msg(r.status == 200, "commit: %ld %.400s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "data-created=\"10000\""));
    fgt_response_free(&r);
    ck_assert_int_eq(orders_like(school_b.id, full), 10000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("staff_pages");
    TCase *tc = fgt_tcase(s, "pages", NULL, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, login_sets_a_strict_cookie_and_stores_only_its_hash);
    tcase_add_test(tc, a_wrong_password_is_refused_and_audited);
    tcase_add_test(tc, a_login_without_its_csrf_token_is_403);
    tcase_add_test(tc, failures_slow_down_then_lock_until_unlocked);
    tcase_add_test(tc, an_admin_unlocks_from_the_users_page);
    tcase_add_test(tc, an_idle_session_ends);
    tcase_add_test(tc, a_busy_session_ends_at_its_absolute_limit);
    tcase_add_test(tc, posts_without_the_sessions_token_are_403_and_logout_ends_it);
    tcase_add_test(tc, every_page_checks_the_role);
    tcase_add_test(tc, an_accountant_sees_its_school_only);
    tcase_add_test(tc, the_order_search_finds_by_code_ref_and_name);
    tcase_add_test(tc, a_statement_uploaded_through_the_page_is_the_apis);
    tcase_add_test(tc, a_reconciliation_reloads_itself_until_its_lines_are_matched);
    tcase_add_test(tc, a_dollar_accounts_reconciliation_is_shown_in_dollars);
    tcase_add_test(tc, a_period_is_closed_from_its_page);
    tcase_add_test(tc, report_downloads_are_the_apis_files);
    tcase_add_test(tc, the_statement_and_reconciliation_reports_are_the_apis);
    tcase_add_test(tc, the_audit_page_lists_staff_actions);
    tcase_add_test(tc, bills_are_previewed_then_created_from_the_page);
    tcase_add_test(tc, a_corrected_bill_is_a_conflict_not_already_there);
    tcase_add_test(tc, money_for_a_cancelled_bill_is_unapplied_and_shown_to_staff);
    tcase_add_test(tc, the_overview_shows_the_collections_reports_figures);
    tcase_add_test(tc, a_file_of_10000_bills_is_taken_and_one_more_is_refused);

    fgt_merchant_create("Trường Tiểu học A", school_a.id, school_a.key);
    fgt_merchant_create("Trường Tiểu học B", school_b.id, school_b.key);
    user_create("admin", NULL, admin_email);
    user_create("finance", NULL, finance_email);
    user_create("auditor", NULL, auditor_email);
    user_create("accountant", school_a.id, accountant_email);
    fgt_staff_token("finance", finance_token);
    static const char *const MAIN_ENV[] = {"FEEGATE_STAFF_LOGIN_DELAY_MS=1500",
                                           "FEEGATE_STAFF_LOGIN_LOCKOUT_FAILURES=5",
                                           "FEEGATE_SANDBOX_SECRET=" SANDBOX_SECRET, NULL};
    static const char *const SHORT_ENV[] = {"FEEGATE_STAFF_SESSION_IDLE_MS=2500",
                                            "FEEGATE_STAFF_SESSION_ABSOLUTE_MS=6000",
                                            "FEEGATE_PUBLIC_BASE_URL=https://thu.example.gov.vn", NULL};
    _Static_assert(DELAY_MS == 1500 && LOCKOUT == 5 && IDLE_MS == 2500 && ABSOLUTE_MS == 6000,
                   "the servers' settings above");
    fgt_server_start(&srv, MAIN_ENV);
    fgt_server_start(&short_srv, SHORT_ENV);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0 || fgt_server_stop(&short_srv) != 0)
        rc = 1;
    return rc;
}
