/*
 * test_auth.c - API keys and tenant isolation over HTTP/1.1, h2c and HTTP/2
 * TLS: no key or a wrong key is 401, a live staff token 403; another
 * merchant's order is 404 (never 403) for reads, lists and cancels, and
 * stays untouched; merchant_ref is unique per merchant only; a revoked key
 * or token is refused within auth.cache_ms.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static fgt_server_t srv;
static fgt_merchant_t a, b;

static void setup(void)
{
    fgt_merchant_create("Trường Mầm non Hoa Sen", a.id, a.key);
    fgt_merchant_create("Công ty Điện lực Kiểm Thử", b.id, b.key);
}

/* One request to every merchant route, with the given Authorization header
 * (NULL: none); each must be status with type and code, and create nothing. */
static void every_route_answers(fgt_proto_t p, const char *authorization, long status, const char *type,
                                const char *code)
{
    static const char *const ROUTES[][2] = {{"POST", "/v1/orders"},
                                            {"POST", "/v1/orders/batch"},
                                            {"GET", "/v1/orders"},
                                            {"GET", "/v1/orders/ord_x"},
                                            {"POST", "/v1/orders/ord_x/cancel"}};
    char ref[96];
    snprintf(ref, sizeof(ref), "%s", fgt_unique("AU"));
    char *body = fgt_order_body(ref, 5, NULL);
    const char *headers[] = {authorization, NULL};
    for (size_t i = 0; i < sizeof(ROUTES) / sizeof(ROUTES[0]); i++) {
        int post = strcmp(ROUTES[i][0], "POST") == 0;
        fgt_response_t r = fgt_request(&srv, p, ROUTES[i][0], ROUTES[i][1], headers, post ? body : NULL, 0);
        fgt_expect_error(r, status, type, code);
        fgt_response_free(&r);
    }
    free(body);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE merchant_ref = ?", ref, NULL), 0);
}

/* Each must be 401 with code. */
static void every_route_refuses(fgt_proto_t p, const char *authorization, const char *code)
{
    every_route_answers(p, authorization, 401, "authentication", code);
}

START_TEST(missing_key_is_401) { every_route_refuses((fgt_proto_t)_i, NULL, "missing_api_key"); }
END_TEST

START_TEST(wrong_key_is_401)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char forged[FGT_ID_CAP + 32], other_scheme[FGT_ID_CAP + 32];
    snprintf(forged, sizeof(forged), "Authorization: Bearer %.*sX", (int)strlen(a.key) - 1, a.key);
    snprintf(other_scheme, sizeof(other_scheme), "Authorization: Basic %s", a.key);
    const char *wrong[] = {forged, other_scheme, "Authorization: Bearer fg_live_not-a-key", "Authorization: Bearer"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
        every_route_refuses(p, wrong[i], "invalid_api_key");
    ck_assert_int_eq(fgt_db_orders(a.id), 0);
}
END_TEST

/* A staff token is a credential, of the wrong kind for a merchant route: a
 * live one is 403 merchant_only (as a merchant's key on a staff route is 403
 * staff_only); a made-up or revoked one is no credential at all, 401. */
START_TEST(a_staff_token_on_merchant_routes_is_403)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char token[96], live[160], forged[160];
    fgt_staff_token("finance", token);
    snprintf(live, sizeof(live), "Authorization: Bearer %s", token);
    size_t len = strlen(token);
    snprintf(forged, sizeof(forged), "Authorization: Bearer %.*s%c", (int)len - 1, token,
             token[len - 1] == 'X' ? 'Y' : 'X');
    every_route_answers(p, live, 403, "permission", "merchant_only");
    every_route_refuses(p, forged, "invalid_api_key");
    every_route_refuses(p, "Authorization: Bearer fg_staff_madeup", "invalid_api_key");
    ck_assert_int_eq(fgt_db_orders(a.id), 0);
}
END_TEST

/* The other way round: a live API key on a staff route is 403 staff_only;
 * a made-up or revoked one is no credential at all, 401, as a made-up staff
 * token on a merchant route is. */
START_TEST(an_api_key_on_staff_routes_is_403_only_when_live)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char live[FGT_ID_CAP + 32], forged[FGT_ID_CAP + 32];
    snprintf(live, sizeof(live), "Authorization: Bearer %s", a.key);
    snprintf(forged, sizeof(forged), "Authorization: Bearer %.*s%c", (int)strlen(a.key) - 1, a.key,
             a.key[strlen(a.key) - 1] == 'X' ? 'Y' : 'X');
    static const char *const ROUTES[] = {"/v1/ledger/accounts", "/v1/payouts", "/v1/statements"};
    for (size_t i = 0; i < sizeof(ROUTES) / sizeof(ROUTES[0]); i++) {
        const char *h_live[] = {live, NULL}, *h_forged[] = {forged, NULL},
                   *h_madeup[] = {"Authorization: Bearer fg_live_not-a-key", NULL};
        fgt_response_t r = fgt_request(&srv, p, "GET", ROUTES[i], h_live, NULL, 0);
        fgt_expect_error(r, 403, "permission", "staff_only");
        fgt_response_free(&r);
        r = fgt_request(&srv, p, "GET", ROUTES[i], h_forged, NULL, 0);
        fgt_expect_error(r, 401, "authentication", "invalid_token");
        fgt_response_free(&r);
        r = fgt_request(&srv, p, "GET", ROUTES[i], h_madeup, NULL, 0);
        fgt_expect_error(r, 401, "authentication", "invalid_token");
        fgt_response_free(&r);
    }
}
END_TEST

/* The change feed takes an export key: a live staff token there is 403
 * insufficient_scope, a made-up or forged one 401, as on merchant routes. */
START_TEST(a_staff_token_on_the_change_feed_is_403_only_when_live)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char token[96], live[160], forged[160];
    fgt_staff_token("finance", token);
    snprintf(live, sizeof(live), "Authorization: Bearer %s", token);
    size_t len = strlen(token);
    snprintf(forged, sizeof(forged), "Authorization: Bearer %.*s%c", (int)len - 1, token,
             token[len - 1] == 'X' ? 'Y' : 'X');
    const char *h_live[] = {live, NULL}, *h_forged[] = {forged, NULL},
               *h_madeup[] = {"Authorization: Bearer fg_staff_madeup", NULL};
    fgt_response_t r = fgt_request(&srv, p, "GET", "/v1/exports/changes", h_live, NULL, 0);
    fgt_expect_error(r, 403, "permission", "insufficient_scope");
    fgt_response_free(&r);
    r = fgt_request(&srv, p, "GET", "/v1/exports/changes", h_forged, NULL, 0);
    fgt_expect_error(r, 401, "authentication", "invalid_api_key");
    fgt_response_free(&r);
    r = fgt_request(&srv, p, "GET", "/v1/exports/changes", h_madeup, NULL, 0);
    fgt_expect_error(r, 401, "authentication", "invalid_api_key");
    fgt_response_free(&r);
}
END_TEST

/* ---- tenant isolation ------------------------------------------------------------ */

static fgt_response_t as(const fgt_merchant_t *m, fgt_proto_t p, const char *method, const char *path)
{
    return fgt_req(&srv, p, method, path, m->key, NULL, NULL, 0, NULL);
}

START_TEST(another_merchants_order_is_404)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char ref[96], id[FGT_ID_CAP], order_path[128], cancel_path[160], by_ref[160];
    snprintf(ref, sizeof(ref), "%s", fgt_unique("TN"));
    fgt_response_t created = fgt_order_create(&srv, p, a.key, NULL, ref, 900000, NULL);
    fgt_expect(created, 201, NULL);
    snprintf(id, sizeof(id), "%s", fgt_json_str(&created, "id", NULL));
    snprintf(order_path, sizeof(order_path), "/v1/orders/%s", id);
    snprintf(cancel_path, sizeof(cancel_path), "/v1/orders/%s/cancel", id);
    snprintf(by_ref, sizeof(by_ref), "/v1/orders?merchant_ref=%s", ref);

    fgt_response_t r = as(&b, p, "GET", order_path);
    fgt_expect_error(r, 404, "not_found", "order_not_found");
    fgt_response_free(&r);
    r = as(&b, p, "POST", cancel_path);
    fgt_expect_error(r, 404, "not_found", "order_not_found");
    fgt_response_free(&r);
    const char *lists[] = {by_ref, "/v1/orders?limit=500", "/v1/orders?status=open&limit=500"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        r = as(&b, p, "GET", lists[i]);
        fgt_expect(r, 200, NULL);
        yajl_val data = fgt_json_array(&r, "data", NULL);
        for (size_t k = 0; k < data->u.array.len; k++)
            ck_assert_str_eq(fgt_val_str(data->u.array.values[k], "merchant_id", NULL), b.id);
        ck_assert_ptr_null(strstr(r.body, id));
        fgt_response_free(&r);
    }

    r = as(&a, p, "GET", order_path); /* A's order is untouched */
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "open");
    ck_assert_str_eq(r.body, created.body);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ? AND status = 'open'", id, NULL), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events e JOIN orders o ON o.id = e.order_id "
                                "WHERE o.public_id = ?",
                                id, NULL),
                     0);
    fgt_response_free(&created);
}
END_TEST

START_TEST(merchant_ref_is_unique_per_merchant)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char ref[96];
    snprintf(ref, sizeof(ref), "%s", fgt_unique("SAME"));
    fgt_response_t ra = fgt_order_create(&srv, p, a.key, NULL, ref, 100, NULL);
    fgt_response_t rb = fgt_order_create(&srv, p, b.key, NULL, ref, 200, NULL);
    fgt_expect(ra, 201, NULL);
    fgt_expect(rb, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&ra, "merchant_id", NULL), a.id);
    ck_assert_str_eq(fgt_json_str(&rb, "merchant_id", NULL), b.id);
    ck_assert_str_ne(fgt_json_str(&ra, "id", NULL), fgt_json_str(&rb, "id", NULL));
    ck_assert_int_eq(fgt_db_orders_with_ref(a.id, ref), 1);
    ck_assert_int_eq(fgt_db_orders_with_ref(b.id, ref), 1);
    fgt_response_free(&ra);
    fgt_response_free(&rb);
}
END_TEST

/* The status of GET path on server s with credential as the bearer. */
static long bearer_status(const fgt_server_t *s, const char *path, const char *credential)
{
    fgt_response_t r = fgt_req(s, FGT_HTTP1, "GET", path, credential, NULL, NULL, 0, NULL);
    long status = r.status;
    fgt_response_free(&r);
    return status;
}

/* auth.cache_ms: an instance trusts a key or a staff token it has checked
 * for that long (10 s by default: the suite's server); with 0 it asks the
 * database every time, and a revoked key or token is refused at its very
 * next request. */
START_TEST(without_the_cache_a_revoked_key_or_token_is_refused_at_once)
{
    char key_id[FGT_ID_CAP], token[96], email[200], out[512];
    fgt_staff_token("finance", token);
    const char *env[] = {"FEEGATE_AUTH_CACHE_MS=0", NULL};
    fgt_server_t uncached;
    fgt_server_start(&uncached, env);
    const fgt_server_t *both[] = {&srv, &uncached};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(bearer_status(both[i], "/v1/orders", a.key), 200);
        ck_assert_int_eq(bearer_status(both[i], "/v1/statements", token), 200);
    }
    ck_assert_int_eq(fgt_db_str("SELECT k.public_id FROM api_keys k JOIN merchants m ON m.id = k.merchant_id "
                                "WHERE m.public_id = ? AND k.revoked_at IS NULL",
                                a.id, NULL, key_id, sizeof(key_id)),
                     1);
    const char *revoke_key[] = {"feegate", "admin", "key", "revoke", "--id", key_id, NULL};
    ck_assert_int_eq(fgt_cli(revoke_key, NULL, out, sizeof(out)), 0);
    ck_assert_int_eq(fgt_db_str("SELECT u.email FROM staff_tokens t JOIN staff_users u ON u.id = t.user_id "
                                "WHERE t.token_hash = UNHEX(SHA2(?, 256))",
                                token, NULL, email, sizeof(email)),
                     1);
    const char *revoke_token[] = {"feegate", "admin", "token", "revoke", "--email", email, NULL};
    ck_assert_int_eq(fgt_cli(revoke_token, NULL, out, sizeof(out)), 0);
    ck_assert_int_eq(bearer_status(&uncached, "/v1/orders", a.key), 401);
    ck_assert_int_eq(bearer_status(&uncached, "/v1/statements", token), 401);
    /* the instance with the cache checked both a moment ago: it still trusts them */
    ck_assert_int_eq(bearer_status(&srv, "/v1/orders", a.key), 200);
    ck_assert_int_eq(bearer_status(&srv, "/v1/statements", token), 200);
    ck_assert_int_eq(fgt_server_stop(&uncached), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = fgt_tcase(s, "auth", setup, NULL);
    tcase_add_loop_test(tc, missing_key_is_401, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, wrong_key_is_401, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, a_staff_token_on_merchant_routes_is_403, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, an_api_key_on_staff_routes_is_403_only_when_live, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, a_staff_token_on_the_change_feed_is_403_only_when_live, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, another_merchants_order_is_404, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, merchant_ref_is_unique_per_merchant, 0, FGT_PROTOS);
    tcase_add_test(tc, without_the_cache_a_revoked_key_or_token_is_refused_at_once);
    fgt_server_start(&srv, NULL); /* one server for every test; each has merchants of its own */
    int rc = fgt_run(s);
    return fgt_server_stop(&srv) == 0 ? rc : 1;
}
