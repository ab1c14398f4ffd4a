/*
 * test_staff_admin.c - the staff pages of merchants, API keys and webhooks on
 * the real server and database (docs/PAGES.md): an admin creates a merchant
 * and keys whose secret is shown once and works against the API, rotates a
 * key (the old one is refused once the servers' key cache time has passed)
 * and revokes one; finance and auditors read but may not post; a form
 * without its token is 403; an accountant sees its own merchant only; a
 * merchant's webhook endpoints and deliveries are listed, a redelivery
 * through the page makes a new delivery as POST /v1/events/{id}/redeliver
 * does, an endpoint is disabled and enabled; every change leaves its audit
 * row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "harness.h"
#include "staff_client.h"

/* How long the suite's server trusts a key it has verified (auth.cache_ms,
 * set below; 10 s by default), and a margin. */
#define AUTH_CACHE_MS 2000
#define AUTH_CACHE_WAIT_MS (AUTH_CACHE_MS + 1500)
#define TEXT_OF(n) #n
#define TEXT(n) TEXT_OF(n)

static fgt_server_t srv;
static fgt_merchant_t school_a, school_b;
static char admin_email[128], finance_email[128], auditor_email[128], accountant_email[128];

/* ---- helpers ------------------------------------------------------------------------- */

static void login_ok(const char *email, char *session, size_t cap)
{
    fgt_response_t r = login_on(&srv, FGT_HTTP1, email, PASSWORD, session, cap);
    ck_assert_msg(r.status == 303, "login of %s: %ld %.300s", email, r.status, r.body);
    ck_assert_msg(session[0] != '\0', "no session cookie");
    fgt_response_free(&r);
}

/* The page's status for the session. */
static long status_of(const char *session, const char *path)
{
    fgt_response_t r = get(&srv, FGT_HTTP1, session, path);
    long status = r.status;
    fgt_response_free(&r);
    return status;
}

static long long audit_count(const char *actor, const char *action, const char *object)
{
    if (object == NULL)
        return fgt_db_int("SELECT COUNT(*) FROM audit_log WHERE actor = ? AND action = ?", actor, action);
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM audit_log WHERE actor = ? AND action = '%s' AND object = ?",
             action);
    return fgt_db_int(sql, actor, object);
}

/* A staff session's CSRF token: any staff page carries it. */
static void session_csrf(const char *session, char *csrf, size_t cap)
{
    fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff");
    ck_assert_int_eq(r.status, 200);
    csrf_of(&r, csrf, cap);
    fgt_response_free(&r);
}

/* POSTs a form (body after the csrf_token, may be "") with the session's
 * token, or without one when csrf is NULL. */
static fgt_response_t post_form(const char *session, const char *csrf, const char *path, const char *fields)
{
    char body[1024];
    if (csrf != NULL)
        snprintf(body, sizeof(body), "csrf_token=%s%s%s", csrf, fields[0] != '\0' ? "&" : "", fields);
    else
        snprintf(body, sizeof(body), "%s", fields);
    return post(&srv, FGT_HTTP1, session, path, "application/x-www-form-urlencoded", body, 0);
}

/* The text after marker in a page, up to stop, into out; 1 found. */
static int page_value(const fgt_response_t *r, const char *marker, char stop, char *out, size_t cap)
{
    const char *at = r->body != NULL ? strstr(r->body, marker) : NULL;
    if (at == NULL)
        return 0;
    at += strlen(marker);
    const char *end = strchr(at, stop);
    if (end == NULL)
        return 0;
    snprintf(out, cap, "%.*s", (int)(end - at), at);
    return 1;
}

/* The key page of a POST that made a key: its id and secret. */
static void key_of(const fgt_response_t *r, char *id, char *secret)
{
    ck_assert_msg(page_value(r, "<code data-key=\"", '"', id, FGT_ID_CAP), "no key id: %.400s", r->body);
    ck_assert_msg(page_value(r, "data-secret>", '<', secret, FGT_ID_CAP), "no secret: %.400s", r->body);
    ck_assert_int_eq(strncmp(id, "key_", 4), 0);
    ck_assert_int_eq(strncmp(secret, "fg_live_", 8), 0);
    ck_assert_ptr_nonnull(strstr(r->body, "data-page=\"staff-key\""));
    ck_assert_ptr_nonnull(strstr(r->body, "data-once"));
    char copy[200];
    snprintf(copy, sizeof(copy), "data-copy=\"%s\"", secret);
    ck_assert_ptr_nonnull(strstr(r->body, copy));
    ck_assert_str_eq(fgt_header(r, "cache-control"), "no-store");
    ck_assert_ptr_null(fgt_header(r, "location")); /* never in a URL */
}

/* The status of GET /v1/orders with key. */
static long api_status(const char *key)
{
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "GET", "/v1/orders", key, NULL, NULL, 0, NULL);
    long status = r.status;
    fgt_response_free(&r);
    return status;
}

/* The merchants page holds no secret of a key: only its 12-character prefix. */
static void merchants_page_hides(const char *session, const char *secret)
{
    fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff/merchants");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, secret));
    ck_assert_ptr_null(strstr(r.body, secret + 12));
    fgt_response_free(&r);
}

/* ---- merchants and keys ------------------------------------------------------------------ */

START_TEST(an_admin_creates_a_merchant_whose_key_is_shown_once_and_works)
{
    char session[200], csrf[128], name[128], fields[512], merchant[FGT_ID_CAP], id[FGT_ID_CAP], secret[FGT_ID_CAP],
        needle[200];
    login_ok(admin_email, session, sizeof(session));
    session_csrf(session, csrf, sizeof(csrf));
    snprintf(name, sizeof(name), "Trường <THCS> %s", fgt_unique("M"));
    char escaped[400];
    form_escape(name, escaped, sizeof(escaped));
    snprintf(fields, sizeof(fields), "name=%s", escaped);
    fgt_response_t r = post_form(session, csrf, "/staff/merchants", fields);
    ck_assert_msg(r.status == 201, "%ld %.300s", r.status, r.body);
    key_of(&r, id, secret);
    ck_assert(page_value(&r, "<code data-merchant=\"", '"', merchant, sizeof(merchant)));
    ck_assert_ptr_null(strstr(r.body, "<THCS>")); /* the name is escaped wherever it shows */
    fgt_response_free(&r);
    /* the secret works against the API, as the merchant's */
    fgt_response_t o = fgt_order_create(&srv, FGT_HTTP1, secret, NULL, fgt_unique("SA"), 150000, NULL);
    fgt_expect(o, 201, NULL);
    fgt_response_free(&o);
    ck_assert_int_eq(fgt_db_orders(merchant), 1);
    /* only its hash is kept, and the list names the merchant and the key, never the secret */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE public_id = ? AND key_hash = UNHEX(SHA2(?, 256))",
                                id, secret),
                     1);
    merchants_page_hides(session, secret);
    r = get(&srv, FGT_HTTP1, session, "/staff/merchants");
    snprintf(needle, sizeof(needle), "<tr data-merchant=\"%s\">", merchant);
    ck_assert_ptr_nonnull(strstr(r.body, needle));
    snprintf(needle, sizeof(needle), "<tr data-key=\"%s\" data-revoked=\"0\">", id);
    ck_assert_ptr_nonnull(strstr(r.body, needle));
    ck_assert_ptr_nonnull(strstr(r.body, "&lt;THCS&gt;"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-form=\"merchant-create\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/staff/merchants\" aria-current=\"page\""));
    fgt_response_free(&r);
    ck_assert_int_eq(audit_count(admin_email, "merchant.create", merchant), 1);
    /* an empty name changes nothing */
    long long before = fgt_db_int("SELECT COUNT(*) FROM merchants WHERE ? IS NOT NULL", "x", NULL);
    r = post_form(session, csrf, "/staff/merchants", "name=");
    ck_assert_int_eq(r.status, 400);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM merchants WHERE ? IS NOT NULL", "x", NULL), before);
}
END_TEST

START_TEST(a_new_key_rotation_and_revocation)
{
    char session[200], csrf[128], path[200], id[FGT_ID_CAP], secret[FGT_ID_CAP], new_id[FGT_ID_CAP],
        new_secret[FGT_ID_CAP], needle[200];
    login_ok(admin_email, session, sizeof(session));
    session_csrf(session, csrf, sizeof(csrf));
    /* a second key for school B */
    snprintf(path, sizeof(path), "/staff/merchants/%s/keys", school_b.id);
    fgt_response_t r = post_form(session, csrf, path, "");
    ck_assert_msg(r.status == 201, "%ld %.300s", r.status, r.body);
    key_of(&r, id, secret);
    fgt_response_free(&r);
    ck_assert_int_eq(api_status(secret), 200);
    ck_assert_int_eq(audit_count(admin_email, "api_key.create", id), 1);
    merchants_page_hides(session, secret);

    /* rotate it: a new key, the old one revoked in the same transaction */
    snprintf(path, sizeof(path), "/staff/merchants/keys/%s/rotate", id);
    r = post_form(session, csrf, path, "");
    ck_assert_msg(r.status == 200, "%ld %.300s", r.status, r.body);
    key_of(&r, new_id, new_secret);
    snprintf(needle, sizeof(needle), "data-revoked-key=\"%s\"", id);
    ck_assert_ptr_nonnull(strstr(r.body, needle));
    fgt_response_free(&r);
    ck_assert_str_ne(new_id, id);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE public_id = ? AND revoked_at IS NOT NULL", id,
                                NULL),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys k JOIN merchants m ON m.id = k.merchant_id WHERE "
                                "k.public_id = ? AND m.public_id = ? AND k.revoked_at IS NULL",
                                new_id, school_b.id),
                     1);
    ck_assert_int_eq(audit_count(admin_email, "api_key.rotate", new_id), 1);
    ck_assert_int_eq(api_status(new_secret), 200);
    /* rotating a revoked key again is 404 and makes nothing */
    r = post_form(session, csrf, path, "");
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);
    /* once the servers' key cache time has passed, the old key is refused */
    fgt_sleep_ms(AUTH_CACHE_WAIT_MS);
    ck_assert_int_eq(api_status(secret), 401);
    ck_assert_int_eq(api_status(new_secret), 200);

    /* revoke the new one: back to the list, where it shows revoked */
    snprintf(path, sizeof(path), "/staff/merchants/keys/%s/revoke", new_id);
    r = post_form(session, csrf, path, "");
    ck_assert_int_eq(r.status, 303);
    snprintf(needle, sizeof(needle), "/staff/merchants#%s", school_b.id);
    ck_assert_str_eq(fgt_header(&r, "location"), needle);
    fgt_response_free(&r);
    ck_assert_int_eq(audit_count(admin_email, "api_key.revoke", new_id), 1);
    r = get(&srv, FGT_HTTP1, session, "/staff/merchants");
    snprintf(needle, sizeof(needle), "<tr data-key=\"%s\" data-revoked=\"1\">", new_id);
    ck_assert_ptr_nonnull(strstr(r.body, needle));
    fgt_response_free(&r);
    r = post_form(session, csrf, path, ""); /* once */
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);
    fgt_sleep_ms(AUTH_CACHE_WAIT_MS);
    ck_assert_int_eq(api_status(new_secret), 401);
    ck_assert_int_eq(api_status(school_b.key), 200); /* the merchant's first key is untouched */
    /* the command line does not rotate a revoked key either */
    const char *rotate[] = {"feegate", "admin", "key", "rotate", "--id", new_id, NULL};
    char out[512];
    ck_assert_int_eq(fgt_cli(rotate, NULL, out, sizeof(out)), 1);
}
END_TEST

START_TEST(the_cli_rotates_a_key)
{
    char out[512], key_id[FGT_ID_CAP];
    /* every key has a public id since schema 0020 */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE public_id IS NULL AND ? IS NOT NULL", "x", NULL),
                     0);
    /* a fresh merchant, so that school A's key stays for the other tests */
    const char *create[] = {"feegate", "admin", "merchant", "create", "--name", fgt_unique("Trường CLI2"), NULL};
    ck_assert_int_eq(fgt_cli(create, NULL, out, sizeof(out)), 0);
    const char *at = strstr(out, "\"key_id\":\"");
    ck_assert_ptr_nonnull(at);
    snprintf(key_id, sizeof(key_id), "%.*s", (int)strcspn(at + 10, "\""), at + 10);
    ck_assert_int_ge(audit_count("cli", "merchant.create", NULL), 1);
    const char *rotate[] = {"feegate", "admin", "key", "rotate", "--id", key_id, NULL};
    ck_assert_int_eq(fgt_cli(rotate, NULL, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"api_key\":\"fg_live_"));
    ck_assert_ptr_nonnull(strstr(out, key_id)); /* as revoked_id */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE public_id = ? AND revoked_at IS NOT NULL", key_id,
                                NULL),
                     1);
    ck_assert_int_eq(fgt_cli(rotate, NULL, out, sizeof(out)), 1); /* once */
}
END_TEST

/* The id after "marker" in text (up to a character no id holds), or "". */
static void id_after(const char *text, const char *marker, char *out, size_t cap)
{
    const char *at = strstr(text, marker);
    if (at == NULL) {
        out[0] = '\0';
        return;
    }
    at += strlen(marker);
    snprintf(out, cap, "%.*s", (int)strspn(at, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), at);
}

/* A command that shows a secret once and cannot write it (stdout on a full
 * disk) exits 1 and names on stderr what it made, never the secret: the key
 * or token is then rotated or revoked, not left working unseen. */
START_TEST(a_secret_that_cannot_be_written_is_named_for_revoking)
{
    char err[2048], key_id[FGT_ID_CAP], other_id[FGT_ID_CAP], email[128];
    const char *create[] = {"admin", "merchant", "create", "--name", fgt_unique("Trường đĩa đầy"), NULL};
    ck_assert_int_eq(fgt_cli_run_to("/dev/full", create, NULL, NULL, err, sizeof(err), 60000), 1);
    ck_assert_msg(strstr(err, "feegate: cannot write to stdout") == err, "%s", err);
    ck_assert_msg(strstr(err, "fg_live_") == NULL, "the secret is on stderr: %s", err);
    id_after(err, "with key ", key_id, sizeof(key_id));
    ck_assert_msg(strncmp(key_id, "key_", 4) == 0, "no key id: %s", err);
    ck_assert_msg(strstr(err, "feegate admin key rotate --id ") != NULL, "%s", err);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE public_id = ? AND revoked_at IS NULL", key_id,
                                NULL),
                     1);
    /* the rotation it advises, its own output lost too: the new key is named */
    const char *rotate[] = {"admin", "key", "rotate", "--id", key_id, NULL};
    ck_assert_int_eq(fgt_cli_run_to("/dev/full", rotate, NULL, NULL, err, sizeof(err), 60000), 1);
    ck_assert_msg(strstr(err, "fg_live_") == NULL, "the secret is on stderr: %s", err);
    id_after(err, ": key ", other_id, sizeof(other_id));
    ck_assert_msg(strncmp(other_id, "key_", 4) == 0 && strcmp(other_id, key_id) != 0, "no new key id: %s", err);
    ck_assert_msg(strstr(err, key_id) != NULL, "%s", err);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE public_id = ? AND revoked_at IS NULL", other_id,
                                NULL),
                     1);
    const char *export_key[] = {"admin", "key", "create", "--scope", "export", NULL};
    ck_assert_int_eq(fgt_cli_run_to("/dev/full", export_key, NULL, NULL, err, sizeof(err), 60000), 1);
    ck_assert_msg(strstr(err, "fg_live_") == NULL, "the secret is on stderr: %s", err);
    id_after(err, "export key ", other_id, sizeof(other_id));
    ck_assert_msg(strncmp(other_id, "key_", 4) == 0, "no key id: %s", err);
    ck_assert_msg(strstr(err, "feegate admin key revoke --id ") != NULL, "%s", err);
    /* a staff user, then a token for it */
    snprintf(email, sizeof(email), "full@%s.gov.vn", fgt_unique("disk"));
    const char *user[] = {"admin", "user", "create", "--email", email, "--role", "finance", NULL};
    ck_assert_int_eq(fgt_cli_run_to("/dev/full", user, NULL, "correct horse battery staple\n", err, sizeof(err), 60000),
                     1);
    ck_assert_msg(strstr(err, "usr_") != NULL && strstr(err, email) != NULL, "%s", err);
    const char *token[] = {"admin", "token", "create", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli_run_to("/dev/full", token, NULL, NULL, err, sizeof(err), 60000), 1);
    ck_assert_msg(strstr(err, "fg_staff_") == NULL, "the secret is on stderr: %s", err);
    ck_assert_msg(strstr(err, "feegate admin token revoke --email ") != NULL, "%s", err);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM staff_tokens t JOIN staff_users u ON u.id = t.user_id WHERE "
                                "u.email = ? AND t.revoked_at IS NULL",
                                email, NULL),
                     1);
    /* a command that prints no secret fails the same way when its output is lost */
    const char *revoke[] = {"admin", "token", "revoke", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli_run_to("/dev/full", revoke, NULL, NULL, err, sizeof(err), 60000), 1);
    ck_assert_msg(strstr(err, "cannot write to stdout") != NULL, "%s", err);
}
END_TEST

/* A staff bearer token's answer on a staff route. */
static long token_status(const char *token)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %.160s", token);
    const char *headers[] = {auth, NULL};
    fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "GET", "/v1/payouts", headers, NULL, 0);
    long status = r.status;
    fgt_response_free(&r);
    return status;
}

static void new_token(const char *email, char *token, size_t cap)
{
    char out[512];
    const char *create[] = {"feegate", "admin", "token", "create", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli(create, NULL, out, sizeof(out)), 0);
    const char *at = strstr(out, "\"token\":\"");
    ck_assert_ptr_nonnull(at);
    snprintf(token, cap, "%.*s", (int)strcspn(at + 9, "\""), at + 9);
}

/* Someone left, or a password or a token leaked: the CLI takes the access
 * away (sessions, tokens, login) and gives it back, each step audited. */
START_TEST(the_cli_disables_a_staff_member_and_revokes_tokens)
{
    char email[128], session[200], t1[160], t2[160], t3[160], out[512];
    user_create("finance", NULL, email);
    login_ok(email, session, sizeof(session));
    ck_assert_int_eq(status_of(session, "/staff"), 200);
    new_token(email, t1, sizeof(t1));
    new_token(email, t2, sizeof(t2));
    /* the tokens, revoked (t1 is first used after: no server has it cached) */
    const char *revoke[] = {"feegate", "admin", "token", "revoke", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli(revoke, NULL, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "\"tokens_revoked\":2") != NULL, "%s", out);
    ck_assert_int_eq(token_status(t1), 401);
    ck_assert_int_eq(status_of(session, "/staff"), 200); /* the session is not a token */
    new_token(email, t3, sizeof(t3));
    /* disabled: the session ends, the new token is revoked, the password no longer logs in */
    const char *disable[] = {"feegate", "admin", "user", "disable", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli(disable, NULL, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "\"changed\":true,\"sessions_ended\":1,\"tokens_revoked\":1") != NULL, "%s", out);
    ck_assert_int_eq(status_of(session, "/staff"), 303);
    ck_assert_int_eq(token_status(t3), 401);
    fgt_response_t r = login_on(&srv, FGT_HTTP1, email, PASSWORD, session, sizeof(session));
    ck_assert_int_eq(r.status, 401);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_cli(disable, NULL, out, sizeof(out)), 0); /* again: nothing more to do */
    ck_assert_msg(strstr(out, "\"changed\":false,\"sessions_ended\":0,\"tokens_revoked\":0") != NULL, "%s", out);
    /* enabled: the password logs in again; the tokens stay revoked */
    const char *enable[] = {"feegate", "admin", "user", "enable", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli(enable, NULL, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "\"disabled\":false,\"changed\":true") != NULL, "%s", out);
    login_ok(email, session, sizeof(session));
    ck_assert_int_eq(token_status(t2), 401);
    const char *nobody[] = {"feegate", "admin", "user", "disable", "--email", "nobody@nowhere.gov.vn", NULL};
    ck_assert_int_eq(fgt_cli(nobody, NULL, out, sizeof(out)), 1);
    const char *bad[] = {"feegate", "admin", "user", "disable", NULL};
    ck_assert_int_eq(fgt_cli(bad, NULL, out, sizeof(out)), 2);
    ck_assert_int_eq(audit_count("cli", "staff_token.revoke", NULL) >= 1, 1);
    ck_assert_int_eq(audit_count("cli", "staff_user.disable", NULL) >= 2, 1);
    ck_assert_int_eq(audit_count("cli", "staff_user.enable", NULL) >= 1, 1);
}
END_TEST

START_TEST(only_an_admin_posts_and_every_post_needs_its_token)
{
    char session[200], csrf[128], path[200];
    const char *readers[] = {finance_email, auditor_email};
    for (int i = 0; i < 2; i++) {
        login_ok(readers[i], session, sizeof(session));
        session_csrf(session, csrf, sizeof(csrf));
        fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff/merchants");
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, school_a.id));
        ck_assert_ptr_nonnull(strstr(r.body, school_b.id));
        ck_assert_ptr_null(strstr(r.body, "data-form=\"merchant-create\""));
        ck_assert_ptr_null(strstr(r.body, "data-form=\"key-rotate\""));
        ck_assert_ptr_nonnull(strstr(r.body, "href=\"/staff/merchants\""));
        ck_assert_ptr_nonnull(strstr(r.body, "href=\"/staff/webhooks\""));
        fgt_response_free(&r);
        r = post_form(session, csrf, "/staff/merchants", "name=X");
        ck_assert_int_eq(r.status, 403);
        fgt_response_free(&r);
        snprintf(path, sizeof(path), "/staff/merchants/%s/keys", school_a.id);
        r = post_form(session, csrf, path, "");
        ck_assert_int_eq(r.status, 403);
        fgt_response_free(&r);
    }
    long long keys = fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE ? IS NOT NULL", "x", NULL);
    login_ok(admin_email, session, sizeof(session));
    snprintf(path, sizeof(path), "/staff/merchants/%s/keys", school_a.id);
    fgt_response_t r = post_form(session, NULL, path, "");
    ck_assert_int_eq(r.status, 403);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-forbidden\""));
    fgt_response_free(&r);
    r = post_form(session, "forged", path, "");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    r = post_form(NULL, NULL, path, "csrf_token=x");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE ? IS NOT NULL", "x", NULL), keys);
    /* a merchant or key that does not exist */
    session_csrf(session, csrf, sizeof(csrf));
    r = post_form(session, csrf, "/staff/merchants/mer_00000000000000000000000000/keys", "");
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);
    r = post_form(session, csrf, "/staff/merchants/keys/nonsense/revoke", "");
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);

    /* an admin scoped to school A makes no merchant and no key of school B's */
    char scoped[128];
    user_create("admin", school_a.id, scoped);
    login_ok(scoped, session, sizeof(session));
    session_csrf(session, csrf, sizeof(csrf));
    r = post_form(session, csrf, "/staff/merchants", "name=Scoped");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/merchants/%s/keys", school_b.id);
    r = post_form(session, csrf, path, "");
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys k JOIN merchants m ON m.id = k.merchant_id "
                                "WHERE m.public_id = ? AND k.revoked_at IS NULL AND ? IS NOT NULL",
                                school_b.id, "x"),
                     1);
    fgt_response_t list = get(&srv, FGT_HTTP1, session, "/staff/merchants");
    ck_assert_ptr_null(strstr(list.body, school_b.id));
    fgt_response_free(&list);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM api_keys WHERE ? IS NOT NULL", "x", NULL), keys);
}
END_TEST

START_TEST(an_accountant_sees_its_own_merchant_only)
{
    char session[200], csrf[128], path[200];
    login_ok(accountant_email, session, sizeof(session));
    fgt_response_t r = get(&srv, FGT_HTTP1, session, "/staff/merchants");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, school_a.id));
    ck_assert_ptr_null(strstr(r.body, school_b.id));
    ck_assert_ptr_null(strstr(r.body, "data-form="));
    ck_assert_ptr_nonnull(strstr(r.body, "data-table=\"keys\""));
    fgt_response_free(&r);
    r = get(&srv, FGT_HTTP1, session, "/staff/webhooks");
    ck_assert_int_eq(r.status, 200);
    snprintf(path, sizeof(path), "<h2 data-merchant=\"%s\">", school_a.id);
    ck_assert_ptr_nonnull(strstr(r.body, path));
    ck_assert_ptr_null(strstr(r.body, school_b.id));
    ck_assert_ptr_null(strstr(r.body, "data-form=\"merchant-choose\""));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/webhooks?merchant=%s", school_b.id);
    ck_assert_int_eq(status_of(session, path), 404);
    /* reading only: every form is 403 */
    session_csrf(session, csrf, sizeof(csrf));
    snprintf(path, sizeof(path), "/staff/merchants/%s/keys", school_a.id);
    r = post_form(session, csrf, path, "");
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    char fields[200];
    snprintf(fields, sizeof(fields), "merchant=%s", school_a.id);
    r = post_form(session, csrf, "/staff/webhooks/events/evt_00000000000000000000000000/redeliver", fields);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
}
END_TEST

/* ---- webhooks ---------------------------------------------------------------------------- */

/* The deliveries of event in the database. */
static long long event_deliveries(const char *event)
{
    return fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                      "WHERE e.public_id = ? AND ? IS NOT NULL",
                      event, "x");
}

START_TEST(webhooks_are_listed_redelivered_disabled_and_enabled)
{
    char session[200], csrf[128], path[300], fields[300], endpoint[FGT_ID_CAP], order[FGT_ID_CAP], event[FGT_ID_CAP],
        needle[300];
    /* an endpoint nothing answers at, every event type */
    fgt_response_t r =
        fgt_req(&srv, FGT_H2C, "POST", "/v1/webhook-endpoints", school_a.key, NULL,
                "{\"url\":\"http://127.0.0.1:9/hooks\",\"events\":[\"*\"],\"description\":\"kế <toán>\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(endpoint, sizeof(endpoint), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    r = fgt_order_create(&srv, FGT_H2C, school_a.key, NULL, fgt_unique("WH"), 50000, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(order, sizeof(order), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", order);
    r = fgt_req(&srv, FGT_H2C, "POST", path, school_a.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    /* the fan-out makes the delivery, which fails: nothing listens */
    long long deliveries = 0;
    for (int i = 0; i < 100 && deliveries == 0; i++) {
        deliveries = fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = "
                                "d.endpoint_id WHERE w.public_id = ? AND d.attempts > 0 AND ? IS NOT NULL",
                                endpoint, "x");
        if (deliveries == 0)
            fgt_sleep_ms(100);
    }
    ck_assert_int_eq(deliveries, 1);

    login_ok(finance_email, session, sizeof(session));
    r = get(&srv, FGT_HTTP1, session, "/staff/webhooks");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-form=\"merchant-choose\""));
    ck_assert_ptr_null(strstr(r.body, "data-endpoint="));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/webhooks?merchant=%s", school_a.id);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-page=\"staff-webhooks\""));
    snprintf(needle, sizeof(needle), "data-endpoint=\"%s\" data-endpoint-status=\"enabled\"", endpoint);
    ck_assert_ptr_nonnull(strstr(r.body, needle));
    ck_assert_ptr_nonnull(strstr(r.body, "<h2 data-url>http://127.0.0.1:9/hooks</h2>"));
    ck_assert_ptr_nonnull(strstr(r.body, "kế &lt;toán&gt;"));
    ck_assert(page_value(&r, "data-event=\"", '"', event, sizeof(event)));
    ck_assert_int_eq(strncmp(event, "evt_", 4), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "data-form=\"redeliver\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-form=\"endpoint-status\""));
    fgt_response_free(&r);

    /* redeliver through the page: one more delivery of the event, as the API makes */
    long long before = event_deliveries(event);
    session_csrf(session, csrf, sizeof(csrf));
    snprintf(fields, sizeof(fields), "merchant=%s&endpoint=%s", school_a.id, endpoint);
    snprintf(path, sizeof(path), "/staff/webhooks/events/%s/redeliver", event);
    r = post_form(session, NULL, path, fields); /* without the token */
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    ck_assert_int_eq(event_deliveries(event), before);
    r = post_form(session, csrf, path, fields);
    ck_assert_msg(r.status == 303, "%ld %.300s", r.status, r.body);
    snprintf(needle, sizeof(needle), "/staff/webhooks?merchant=%s#%s", school_a.id, endpoint);
    ck_assert_str_eq(fgt_header(&r, "location"), needle);
    fgt_response_free(&r);
    ck_assert_int_eq(event_deliveries(event), before + 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                                "WHERE e.public_id = ? AND d.redelivery = 1 AND ? IS NOT NULL",
                                event, "x"),
                     1);
    ck_assert_int_eq(audit_count(finance_email, "webhook_event.redeliver", event), 1);
    /* the API redelivers the same way: the next number */
    char api_path[200];
    snprintf(api_path, sizeof(api_path), "/v1/events/%s/redeliver", event);
    r = fgt_req(&srv, FGT_H2C, "POST", api_path, school_a.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(event_deliveries(event), before + 2);
    /* another merchant's event through the page is 404 */
    snprintf(fields, sizeof(fields), "merchant=%s", school_b.id);
    r = post_form(session, csrf, path, fields);
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);

    /* disable, then a redelivery to it is refused; enable again */
    snprintf(path, sizeof(path), "/staff/webhooks/endpoints/%s", endpoint);
    snprintf(fields, sizeof(fields), "merchant=%s&action=disable", school_a.id);
    r = post_form(session, csrf, path, fields);
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);
    ck_assert_int_eq(audit_count(finance_email, "webhook_endpoint.disable", endpoint), 1);
    snprintf(path, sizeof(path), "/staff/webhooks?merchant=%s", school_a.id);
    r = get(&srv, FGT_HTTP1, session, path);
    snprintf(needle, sizeof(needle), "data-endpoint=\"%s\" data-endpoint-status=\"disabled\"", endpoint);
    ck_assert_ptr_nonnull(strstr(r.body, needle));
    ck_assert_ptr_nonnull(strstr(r.body, "data-disabled-reason=\"merchant\""));
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/webhooks/events/%s/redeliver", event);
    snprintf(fields, sizeof(fields), "merchant=%s&endpoint=%s", school_a.id, endpoint);
    r = post_form(session, csrf, path, fields);
    ck_assert_int_eq(r.status, 409);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/staff/webhooks/endpoints/%s", endpoint);
    snprintf(fields, sizeof(fields), "merchant=%s&action=enable", school_a.id);
    r = post_form(session, csrf, path, fields);
    ck_assert_int_eq(r.status, 303);
    fgt_response_free(&r);
    ck_assert_int_eq(audit_count(finance_email, "webhook_endpoint.enable", endpoint), 1);
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/webhook-endpoints", school_a.key, NULL, NULL, 0, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"enabled\""));
    fgt_response_free(&r);
    snprintf(fields, sizeof(fields), "merchant=%s&action=neither", school_a.id);
    r = post_form(session, csrf, path, fields);
    ck_assert_int_eq(r.status, 400);
    fgt_response_free(&r);

    /* an auditor reads, without forms, and may not post */
    login_ok(auditor_email, session, sizeof(session));
    snprintf(path, sizeof(path), "/staff/webhooks?merchant=%s", school_a.id);
    r = get(&srv, FGT_HTTP1, session, path);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, endpoint));
    ck_assert_ptr_null(strstr(r.body, "data-form=\"redeliver\""));
    fgt_response_free(&r);
    session_csrf(session, csrf, sizeof(csrf));
    snprintf(path, sizeof(path), "/staff/webhooks/events/%s/redeliver", event);
    snprintf(fields, sizeof(fields), "merchant=%s", school_a.id);
    before = event_deliveries(event);
    r = post_form(session, csrf, path, fields);
    ck_assert_int_eq(r.status, 403);
    fgt_response_free(&r);
    ck_assert_int_eq(event_deliveries(event), before);
    ck_assert_int_eq(status_of(session, "/staff/webhooks?merchant=mer_00000000000000000000000000"), 404);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("staff_admin");
    TCase *tc = fgt_tcase(s, "admin", NULL, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, an_admin_creates_a_merchant_whose_key_is_shown_once_and_works);
    tcase_add_test(tc, a_new_key_rotation_and_revocation);
    tcase_add_test(tc, the_cli_rotates_a_key);
    tcase_add_test(tc, a_secret_that_cannot_be_written_is_named_for_revoking);
    tcase_add_test(tc, the_cli_disables_a_staff_member_and_revokes_tokens);
    tcase_add_test(tc, only_an_admin_posts_and_every_post_needs_its_token);
    tcase_add_test(tc, an_accountant_sees_its_own_merchant_only);
    tcase_add_test(tc, webhooks_are_listed_redelivered_disabled_and_enabled);

    fgt_merchant_create(fgt_unique("Trường Tiểu học A"), school_a.id, school_a.key);
    fgt_merchant_create(fgt_unique("Trường Tiểu học B"), school_b.id, school_b.key);
    user_create("admin", NULL, admin_email);
    user_create("finance", NULL, finance_email);
    user_create("auditor", NULL, auditor_email);
    user_create("accountant", school_a.id, accountant_email);
    static const char *const ENV[] = {"FEEGATE_WEBHOOKS_ALLOW_PRIVATE=true", "FEEGATE_WEBHOOKS_RETRY_BASE_MS=60000",
                                      "FEEGATE_AUTH_CACHE_MS=" TEXT(AUTH_CACHE_MS), NULL};
    fgt_server_start(&srv, ENV);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
