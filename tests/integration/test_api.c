/*
 * test_api.c - payment orders end to end over HTTP/1.1, h2c and HTTP/2 TLS:
 * create, read, list, cancel, expiry, batch, validation, tenant isolation
 * and idempotency keys.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

static fgt_server_t srv;
static char mer_a[64], key_a[64], mer_b[64], key_b[64];

static const char SQL_COUNT_REF[] =
    "SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id WHERE m.public_id = ? AND o.merchant_ref = ?";
static const char SQL_COUNT_MERCHANT[] =
    "SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id WHERE m.public_id = ?";

static char *order_body(const char *ref, long long amount, const char *extra)
{
    char *b;
    if (asprintf(&b,
                 "{\"merchant_ref\":\"%s\",\"fee_type\":\"utility\",\"category\":\"water\",\"amount\":%lld,"
                 "\"currency\":\"VND\",\"description\":\"Tiền nước tháng 11\",\"payer\":{\"name\":\"Nguyễn Văn A\"}%s}",
                 ref, amount, extra != NULL ? extra : "") < 0)
        abort();
    return b;
}

static fgt_resp_t create(fgt_proto_t p, const char *key, const char *ref, long long amount, const char *extra)
{
    char *b = order_body(ref, amount, extra);
    fgt_resp_t r = fgt_req(&srv, p, "POST", "/v1/orders", key, NULL, b, 0, NULL);
    free(b);
    return r;
}

static int crockford(const char *s)
{
    for (; *s; s++)
        if (strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", *s) == NULL)
            return 0;
    return 1;
}

START_TEST(create_and_read_each_protocol)
{
    for (int p = 0; p < FGT_PROTOS; p++) {
        char ref[96];
        snprintf(ref, sizeof(ref), "%s", fgt_unique("HD"));
        fgt_resp_t r = create((fgt_proto_t)p, key_a, ref, 250000, NULL);
        fgt_expect(r, 201, NULL);
        const char *id = fgt_str(&r, "id", NULL), *code = fgt_str(&r, "code", NULL);
        ck_assert_msg(id != NULL && strncmp(id, "ord_", 4) == 0 && strlen(id) == 30, "id %s", id);
        ck_assert_str_eq(fgt_str(&r, "status", NULL), "open");
        ck_assert_str_eq(fgt_str(&r, "currency", NULL), "VND");
        ck_assert_int_eq(fgt_int(&r, "amount", NULL), 250000);
        ck_assert_int_eq(fgt_int(&r, "amount_paid", NULL), 0);
        ck_assert_str_eq(fgt_str(&r, "merchant_id", NULL), mer_a);
        ck_assert_msg(code != NULL && strlen(code) == 11 && crockford(code), "code %s", code);
        char url[128];
        snprintf(url, sizeof(url), "https://pay.example.gov.vn/pay/%s", code);
        ck_assert_str_eq(fgt_str(&r, "pay_url", NULL), url);
        ck_assert_str_eq(fgt_header(&r, "content-type"), "application/json; charset=utf-8");
        char path[128];
        snprintf(path, sizeof(path), "/v1/orders/%s", id);
        fgt_resp_t g = fgt_req(&srv, (fgt_proto_t)p, "GET", path, key_a, NULL, NULL, 0, NULL);
        fgt_expect(g, 200, NULL);
        ck_assert_str_eq(g.body, r.body); /* the same object */
        fgt_resp_free(&g);
        fgt_resp_free(&r);
    }
}
END_TEST

START_TEST(list_filters_and_pages)
{
    char tag[64], id[7][40];
    snprintf(tag, sizeof(tag), "%s", fgt_unique("LS"));
    for (int i = 0; i < 7; i++) {
        char ref[96];
        snprintf(ref, sizeof(ref), "%s-%d", tag, i);
        fgt_resp_t r;
        if (i == 0) { /* one tuition order among utility bills */
            char body[256];
            snprintf(body, sizeof(body),
                     "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":1000,\"currency\":\"VND\"}", ref);
            r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_a, NULL, body, 0, NULL);
        } else {
            r = create(FGT_H2C, key_a, ref, 1000 + i, NULL);
        }
        fgt_expect(r, 201, NULL);
        snprintf(id[i], sizeof(id[i]), "%s", fgt_str(&r, "id", NULL));
        fgt_resp_free(&r);
    }
    /* pages of 3 over this merchant's newest orders: the 7 come first, newest first */
    char path[512], cursor[64] = "";
    int seen = 0;
    for (int page = 0; page < 3; page++) {
        snprintf(path, sizeof(path), "/v1/orders?limit=3%s%s", cursor[0] ? "&cursor=" : "", cursor);
        fgt_resp_t r = fgt_req(&srv, FGT_HTTP1, "GET", path, key_a, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        const char *data_path[] = {"data", NULL};
        yajl_val data = yajl_tree_get(r.json, data_path, yajl_t_array);
        ck_assert_ptr_nonnull(data);
        ck_assert_int_eq(data->u.array.len, 3);
        for (size_t i = 0; i < data->u.array.len && seen < 7; i++) {
            const char *idp[] = {"id", NULL};
            ck_assert_str_eq(yajl_tree_get(data->u.array.values[i], idp, yajl_t_string)->u.string, id[6 - seen]);
            seen++;
        }
        const char *next = fgt_str(&r, "next_cursor", NULL);
        ck_assert_ptr_nonnull(next);
        snprintf(cursor, sizeof(cursor), "%s", next);
        fgt_resp_free(&r);
    }
    /* filters */
    snprintf(path, sizeof(path), "/v1/orders?merchant_ref=%s-3", tag);
    fgt_resp_t r = fgt_req(&srv, FGT_H2TLS, "GET", path, key_a, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, id[3]));
    ck_assert_ptr_null(strstr(r.body, id[4]));
    ck_assert_ptr_null(fgt_str(&r, "next_cursor", NULL));
    fgt_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/orders?fee_type=tuition&merchant_ref=%s-0", tag);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key_a, NULL, NULL, 0, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, id[0]));
    fgt_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/orders?fee_type=utility&merchant_ref=%s-0", tag);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key_a, NULL, NULL, 0, NULL);
    ck_assert_ptr_null(strstr(r.body, id[0]));
    fgt_resp_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/orders?status=open&created_from=2000-01-01T00:00:00Z&limit=500", key_a,
                NULL, NULL, 0, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, id[5]));
    fgt_resp_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/orders?created_to=2000-01-01T00:00:00Z", key_a, NULL, NULL, 0, NULL);
    ck_assert_str_eq(r.body, "{\"object\":\"list\",\"data\":[],\"next_cursor\":null}");
    fgt_resp_free(&r);
}
END_TEST

START_TEST(cancel)
{
    fgt_resp_t r = create(FGT_H2TLS, key_a, fgt_unique("CX"), 5000, NULL);
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", fgt_str(&r, "id", NULL));
    fgt_resp_free(&r);
    for (int i = 0; i < 2; i++) { /* cancelling again answers the same */
        r = fgt_req(&srv, FGT_H2TLS, "POST", path, key_a, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        ck_assert_str_eq(fgt_str(&r, "status", NULL), "cancelled");
        fgt_resp_free(&r);
    }
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/orders/ord_01M000000000000000000000000/cancel", key_a, NULL, NULL, 0,
                NULL);
    fgt_expect(r, 404, "order_not_found");
    fgt_resp_free(&r);
}
END_TEST

START_TEST(expiry_reads_at_once_and_is_swept)
{
    char extra[96], when[40];
    time_t t = time(NULL) + 2;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    snprintf(extra, sizeof(extra), ",\"expires_at\":\"%s\"", when);
    fgt_resp_t r = create(FGT_H2C, key_a, fgt_unique("EX"), 7000, extra);
    fgt_expect(r, 201, NULL);
    char id[40], path[128];
    snprintf(id, sizeof(id), "%s", fgt_str(&r, "id", NULL));
    fgt_resp_free(&r);
    sleep(3);
    snprintf(path, sizeof(path), "/v1/orders/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key_a, NULL, NULL, 0, NULL);
    ck_assert_str_eq(fgt_str(&r, "status", NULL), "expired");
    fgt_resp_free(&r);
    long long moved = 0;
    for (int i = 0; i < 50 && moved != 1; i++, usleep(100000))
        moved = fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ? AND status = 'expired'", id, NULL);
    ck_assert_int_eq(moved, 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events e JOIN orders o ON o.id = e.order_id "
                                "WHERE o.public_id = ? AND e.type = 'order.expired'", id, NULL), 1);
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", id);
    r = fgt_req(&srv, FGT_H2C, "POST", path, key_a, NULL, NULL, 0, NULL);
    fgt_expect(r, 409, "order_not_cancellable");
    fgt_resp_free(&r);
}
END_TEST

START_TEST(batch_of_ten_thousand)
{
    enum { N = 10000 };
    char tag[64], existing[96];
    snprintf(tag, sizeof(tag), "%s", fgt_unique("BT"));
    snprintf(existing, sizeof(existing), "%s-exists", tag);
    fgt_resp_t r = create(FGT_H2C, key_a, existing, 100, NULL);
    char existing_id[40];
    snprintf(existing_id, sizeof(existing_id), "%s", fgt_str(&r, "id", NULL));
    fgt_resp_free(&r);
    size_t cap = (size_t)N * 160 + 64, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body + len, cap - len, "{\"orders\":[");
    for (int i = 0; i < N; i++) {
        const char *sep = i ? "," : "";
        if (i == 10)
            len += (size_t)snprintf(body + len, cap - len, "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"utility\","
                                    "\"amount\":0,\"currency\":\"VND\"}", sep, tag, i);
        else if (i == 20)
            len += (size_t)snprintf(body + len, cap - len, "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"utility\","
                                    "\"amount\":5,\"currency\":\"XYZ\"}", sep, tag, i);
        else if (i == 30)
            len += (size_t)snprintf(body + len, cap - len, "%s{\"merchant_ref\":\"%s-%d\",\"amount\":5,"
                                    "\"currency\":\"VND\"}", sep, tag, i);
        else if (i == 40) /* the same ref as item 39 */
            len += (size_t)snprintf(body + len, cap - len, "%s{\"merchant_ref\":\"%s-39\",\"fee_type\":\"utility\","
                                    "\"amount\":5,\"currency\":\"VND\"}", sep, tag);
        else if (i == 50)
            len += (size_t)snprintf(body + len, cap - len, "%s{\"merchant_ref\":\"%s\",\"fee_type\":\"utility\","
                                    "\"amount\":5,\"currency\":\"VND\"}", sep, existing);
        else
            len += (size_t)snprintf(body + len, cap - len, "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"utility\","
                                    "\"amount\":%d,\"currency\":\"VND\",\"payer\":{\"ref\":\"KH%05d\"}}", sep, tag, i,
                                    100000 + i, i);
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders/batch", key_a, NULL, body, len, NULL);
    fgt_expect(r, 200, NULL);
    const char *data_path[] = {"data", NULL};
    yajl_val data = yajl_tree_get(r.json, data_path, yajl_t_array);
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(data->u.array.len, N);
    const char *code_path[] = {"error", "code", NULL}, *ref_path[] = {"merchant_ref", NULL},
               *exist_path[] = {"error", "existing_order_id", NULL};
    for (int i = 0; i < N; i++) {
        yajl_val item = data->u.array.values[i];
        yajl_val code = yajl_tree_get(item, code_path, yajl_t_string);
        const char *want = i == 10 ? "amount_invalid" : i == 20 ? "invalid_currency" : i == 30 ? "missing_field"
                         : i == 40 || i == 50 ? "duplicate_merchant_ref" : NULL;
        if (want != NULL) {
            ck_assert_msg(code != NULL && strcmp(code->u.string, want) == 0, "item %d", i);
            continue;
        }
        ck_assert_msg(code == NULL, "item %d failed: %s", i, code ? code->u.string : "");
        char ref[96];
        snprintf(ref, sizeof(ref), "%s-%d", tag, i);
        ck_assert_str_eq(yajl_tree_get(item, ref_path, yajl_t_string)->u.string, ref);
    }
    ck_assert_str_eq(yajl_tree_get(data->u.array.values[50], exist_path, yajl_t_string)->u.string, existing_id);
    char like[96];
    snprintf(like, sizeof(like), "%s-%%", tag);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id "
                                "WHERE m.public_id = ? AND o.merchant_ref LIKE ?", mer_a, like),
                     N - 5 + 1 /* + the existing one */);
    fgt_resp_free(&r);
    free(body);
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/orders/batch", key_a, NULL, "{\"orders\":[]}", 0, NULL);
    fgt_expect(r, 422, "batch_size");
    fgt_resp_free(&r);
}
END_TEST

/* ---- validation: exact status and code, and nothing written -------------- */

static void refused(const char *body, size_t len, long status, const char *code)
{
    long long before = fgt_db_int(SQL_COUNT_MERCHANT, mer_b, NULL);
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_resp_t r = fgt_req(&srv, (fgt_proto_t)p, "POST", "/v1/orders", key_b, NULL, body, len, NULL);
        fgt_expect(r, status, code);
        ck_assert_str_eq(fgt_header(&r, "content-type"), "application/json; charset=utf-8");
        fgt_resp_free(&r);
    }
    ck_assert_int_eq(fgt_db_int(SQL_COUNT_MERCHANT, mer_b, NULL), before);
}

#define V(fields) "{\"merchant_ref\":\"V-1\",\"fee_type\":\"tuition\",\"currency\":\"VND\"" fields "}"

START_TEST(validation_errors_write_nothing)
{
    refused("not json", 0, 400, "invalid_json");
    refused("[1,2]", 0, 400, "invalid_json");
    refused("{\"merchant_ref\":\"a\xc3\x28\"}", 0, 400, "invalid_utf8");
    char deep[128] = "{\"metadata\":";
    for (int i = 0; i < 33; i++)
        strcat(deep, "[");
    for (int i = 0; i < 33; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    refused(deep, 0, 400, "json_too_deep");
    size_t big_len = 1024 * 1024 + 1;
    char *big = malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '{', big[big_len - 1] = '}';
    refused(big, big_len, 413, "body_too_large");
    free(big);
    refused("{\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}", 0, 400, "missing_field");
    refused(V(""), 0, 400, "missing_field");
    refused(V(",\"amount\":\"100\""), 0, 400, "invalid_type");
    refused(V(",\"amount\":1.5"), 0, 400, "invalid_type");
    refused(V(",\"amount\":0"), 0, 422, "amount_invalid");
    refused(V(",\"amount\":-5"), 0, 422, "amount_invalid");
    refused(V(",\"amount\":1000000000000001"), 0, 422, "amount_too_large");
    refused(V(",\"amount\":99999999999999999999"), 0, 422, "amount_too_large");
    refused("{\"merchant_ref\":\"a\",\"fee_type\":\"tuition\",\"currency\":\"XYZ\",\"amount\":5}", 0, 422,
            "invalid_currency");
    refused("{\"merchant_ref\":\"a\",\"fee_type\":\"tax\",\"currency\":\"VND\",\"amount\":5}", 0, 422,
            "invalid_fee_type");
    refused("{\"merchant_ref\":\"" "0123456789012345678901234567890123456789012345678901234567890123" "4\","
            "\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}", 0, 422, "string_too_long");
    refused(V(",\"amount\":5,\"colour\":\"red\""), 0, 400, "unknown_field");
    refused(V(",\"amount\":5,\"expires_at\":\"2001-01-01T00:00:00Z\""), 0, 422, "expires_at_in_past");
    refused(V(",\"amount\":5,\"expires_at\":\"tomorrow\""), 0, 422, "invalid_timestamp");
    refused(V(",\"amount\":5,\"metadata\":{\"a\":1}"), 0, 400, "invalid_type");
}
END_TEST

START_TEST(amount_boundary_accepted)
{
    fgt_resp_t r = create(FGT_H2TLS, key_b, fgt_unique("MAX"), 1000000000000000LL, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_int(&r, "amount", NULL), 1000000000000000LL);
    fgt_resp_free(&r);
}
END_TEST

START_TEST(list_parameter_errors)
{
    const char *paths[] = {"/v1/orders?limit=0", "/v1/orders?limit=501", "/v1/orders?cursor=!!", "/v1/orders?status=x"};
    const char *codes[] = {"invalid_limit", "invalid_limit", "invalid_cursor", "invalid_status"};
    for (int i = 0; i < 4; i++) {
        fgt_resp_t r = fgt_req(&srv, FGT_H2C, "GET", paths[i], key_a, NULL, NULL, 0, NULL);
        fgt_expect(r, 400, codes[i]);
        fgt_resp_free(&r);
    }
}
END_TEST

/* ---- authentication and tenant isolation -------------------------------- */

START_TEST(keys_and_tenants)
{
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_resp_t r = fgt_req(&srv, (fgt_proto_t)p, "GET", "/v1/orders", NULL, NULL, NULL, 0, NULL);
        fgt_expect(r, 401, "missing_api_key");
        ck_assert_str_eq(fgt_str(&r, "error", "type", NULL), "authentication");
        fgt_resp_free(&r);
        r = fgt_req(&srv, (fgt_proto_t)p, "GET", "/v1/orders", "fg_live_wrong", NULL, NULL, 0, NULL);
        fgt_expect(r, 401, "invalid_api_key");
        fgt_resp_free(&r);
    }
    char ref[96], path[128], id[40];
    snprintf(ref, sizeof(ref), "%s", fgt_unique("TN"));
    fgt_resp_t r = create(FGT_H2C, key_a, ref, 900, NULL);
    snprintf(id, sizeof(id), "%s", fgt_str(&r, "id", NULL));
    fgt_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/orders/%s", id);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key_b, NULL, NULL, 0, NULL);
    fgt_expect(r, 404, "order_not_found");
    fgt_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", id);
    r = fgt_req(&srv, FGT_H2C, "POST", path, key_b, NULL, NULL, 0, NULL);
    fgt_expect(r, 404, "order_not_found");
    fgt_resp_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ? AND status = 'open'", id, NULL), 1);
    snprintf(path, sizeof(path), "/v1/orders?merchant_ref=%s", ref);
    r = fgt_req(&srv, FGT_H2C, "GET", path, key_b, NULL, NULL, 0, NULL);
    ck_assert_ptr_null(strstr(r.body, id));
    fgt_resp_free(&r);
    r = create(FGT_H2C, key_b, ref, 900, NULL); /* the same ref at another merchant is fine */
    fgt_expect(r, 201, NULL);
    fgt_resp_free(&r);
}
END_TEST

/* ---- idempotency keys ---------------------------------------------------- */

START_TEST(replay_reuse_and_scope)
{
    char key[96], ref[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("K"));
    snprintf(ref, sizeof(ref), "%s", fgt_unique("ID"));
    char *body = order_body(ref, 4200, NULL);
    fgt_resp_t first = fgt_req(&srv, FGT_H2TLS, "POST", "/v1/orders", key_a, key, body, 0, NULL);
    fgt_expect(first, 201, NULL);
    ck_assert_ptr_null(fgt_header(&first, "idempotent-replayed"));
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_resp_t again = fgt_req(&srv, (fgt_proto_t)p, "POST", "/v1/orders", key_a, key, body, 0, NULL);
        ck_assert_int_eq(again.status, first.status);
        ck_assert_int_eq(again.body_len, first.body_len);
        ck_assert_mem_eq(again.body, first.body, first.body_len);
        ck_assert_str_eq(fgt_header(&again, "idempotent-replayed"), "true");
        fgt_resp_free(&again);
    }
    char *other = order_body(fgt_unique("ID2"), 4200, NULL);
    fgt_resp_t reused = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_a, key, other, 0, NULL);
    fgt_expect(reused, 422, "idempotency_key_reused");
    ck_assert_str_eq(fgt_str(&reused, "error", "type", NULL), "idempotency");
    fgt_resp_t scoped = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_b, key, other, 0, NULL);
    fgt_expect(scoped, 201, NULL);
    ck_assert_ptr_null(fgt_header(&scoped, "idempotent-replayed"));
    ck_assert_int_eq(fgt_db_int("SELECT expires_at - created_at FROM idempotency_keys WHERE idem_key = ? LIMIT 1", key,
                                NULL), 24LL * 3600 * 1000);
    fgt_resp_t dup = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_a, NULL, body, 0, NULL);
    fgt_expect(dup, 409, "duplicate_merchant_ref");
    ck_assert_str_eq(fgt_str(&dup, "error", "existing_order_id", NULL), fgt_str(&first, "id", NULL));
    fgt_resp_free(&first), fgt_resp_free(&reused), fgt_resp_free(&scoped), fgt_resp_free(&dup);
    free(body);
    free(other);
}
END_TEST

START_TEST(failed_validation_is_replayed_too)
{
    char key[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("KV"));
    fgt_resp_t a = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_a, key, V(",\"amount\":0"), 0, NULL);
    fgt_resp_t b = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_a, key, V(",\"amount\":0"), 0, NULL);
    fgt_expect(a, 422, "amount_invalid");
    fgt_expect(b, 422, "amount_invalid");
    ck_assert_str_eq(a.body, b.body);
    ck_assert_str_eq(fgt_header(&b, "idempotent-replayed"), "true");
    fgt_resp_free(&a), fgt_resp_free(&b);
    char bad[300];
    memset(bad, 'k', 256);
    bad[256] = '\0';
    a = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_a, bad, V(",\"amount\":5"), 0, NULL);
    fgt_expect(a, 400, "invalid_idempotency_key");
    fgt_resp_free(&a);
}
END_TEST

static void fifty_at_once(fgt_proto_t proto)
{
    enum { N = 50 };
    fgt_resp_t out[N];
    char key[96], ref[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("KC"));
    snprintf(ref, sizeof(ref), "%s", fgt_unique("CC"));
    char *body = order_body(ref, 777, NULL);
    fgt_req_many(&srv, proto, N, "POST", "/v1/orders", key_a, key, body, NULL, out);
    int created = 0, fresh = 0;
    const char *first_body = NULL;
    for (int i = 0; i < N; i++) {
        if (out[i].status == 201) {
            created++;
            if (fgt_header(&out[i], "idempotent-replayed") == NULL)
                fresh++;
            if (first_body == NULL)
                first_body = out[i].body;
            ck_assert_str_eq(out[i].body, first_body);
        } else {
            fgt_expect(out[i], 409, "idempotency_key_in_progress");
        }
    }
    ck_assert_int_ge(created, 1);
    ck_assert_int_le(fresh, 1);
    ck_assert_int_eq(fgt_db_int(SQL_COUNT_REF, mer_a, ref), 1);
    for (int i = 0; i < N; i++)
        fgt_resp_free(&out[i]);
    free(body);
}

START_TEST(fifty_concurrent_h2c) { fifty_at_once(FGT_H2C); }
END_TEST

START_TEST(fifty_concurrent_http1) { fifty_at_once(FGT_HTTP1); }
END_TEST

START_TEST(expired_keys_are_swept)
{
    char key[96];
    snprintf(key, sizeof(key), "%s", fgt_unique("KS"));
    char *body = order_body(fgt_unique("SW"), 10, NULL);
    fgt_resp_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_a, key, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_resp_free(&r);
    fgt_db_exec("UPDATE idempotency_keys SET expires_at = 1 WHERE idem_key = ?", key);
    long long left = 1;
    for (int i = 0; i < 50 && left != 0; i++, usleep(100000))
        left = fgt_db_int("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = ?", key, NULL);
    ck_assert_int_eq(left, 0);
    char *other = order_body(fgt_unique("SW2"), 10, NULL);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key_a, key, other, 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_ptr_null(fgt_header(&r, "idempotent-replayed"));
    fgt_resp_free(&r);
    free(body);
    free(other);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("orders");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, create_and_read_each_protocol);
    tcase_add_test(tc, list_filters_and_pages);
    tcase_add_test(tc, cancel);
    tcase_add_test(tc, expiry_reads_at_once_and_is_swept);
    tcase_add_test(tc, batch_of_ten_thousand);
    tcase_add_test(tc, validation_errors_write_nothing);
    tcase_add_test(tc, amount_boundary_accepted);
    tcase_add_test(tc, list_parameter_errors);
    tcase_add_test(tc, keys_and_tenants);
    tcase_add_test(tc, replay_reuse_and_scope);
    tcase_add_test(tc, failed_validation_is_replayed_too);
    tcase_add_test(tc, fifty_concurrent_h2c);
    tcase_add_test(tc, fifty_concurrent_http1);
    tcase_add_test(tc, expired_keys_are_swept);
    suite_add_tcase(s, tc);
    fgt_merchant("Trường THPT Kiểm Thử A", mer_a, key_a);
    fgt_merchant("Công ty Nước Kiểm Thử B", mer_b, key_b);
    fgt_server_start(&srv, NULL);
    int rc = fgt_run(s);
    int exit_status = fgt_server_stop(&srv);
    if (exit_status != 0) {
        fprintf(stderr, "feegate serve exited %d after SIGTERM\n", exit_status);
        rc = 1;
    }
    return rc;
}
