/*
 * test_orders.c - payment orders end to end over HTTP/1.1, h2c and HTTP/2
 * TLS: create and read, list filters and cursor pages, cancel, expiry (read
 * at once, then swept with its event), and the batch of 10,000.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/buf.h"
#include "harness.h"

static const char BASE_URL[] = "https://pay.example.gov.vn";
static fgt_server_t srv;
static fgt_merchant_t mer;

static void setup(void)
{
    static char base_env[128];
    snprintf(base_env, sizeof(base_env), "FEEGATE_PUBLIC_BASE_URL=%s", BASE_URL);
    const char *env[] = {base_env, NULL};
    fgt_merchant_create("Trường THPT Thanh Toán", mer.id, mer.key);
    fgt_server_start(&srv, env);
}

static void teardown(void) { ck_assert_int_eq(fgt_server_stop(&srv), 0); }

/* ---- helpers ------------------------------------------------------------------ */

static int all_crockford(const char *s, size_t len)
{
    static const char ALPHABET[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* no I, L, O, U */
    if (strlen(s) != len)
        return 0;
    for (; *s != '\0'; s++)
        if (strchr(ALPHABET, *s) == NULL)
            return 0;
    return 1;
}

/* Seconds since the epoch of an RFC 3339 timestamp, or -1 if it is not one. */
static long long rfc3339_seconds(const char *s)
{
    struct tm tm = {0};
    int n = 0, oh = 0, om = 0;
    if (s == NULL ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    const char *rest = s + 19;
    if (*rest == '.') {
        rest++;
        size_t digits = strspn(rest, "0123456789");
        if (digits == 0)
            return -1;
        rest += digits;
    }
    long long offset = 0;
    if ((rest[0] == '+' || rest[0] == '-') && sscanf(rest + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && n == 5 &&
        rest[6] == '\0')
        offset = (rest[0] == '+' ? 1 : -1) * (oh * 3600LL + om * 60);
    else if (strcmp(rest, "Z") != 0)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) - offset;
}

static void format_rfc3339(time_t t, char *out, size_t cap) { strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t)); }

static void copy_str(char *out, size_t cap, const char *s)
{
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_lt(strlen(s), cap);
    snprintf(out, cap, "%s", s);
}

/* Creates an order (201 expected) and copies its id. */
static void create(fgt_proto_t p, const char *ref, long long amount, const char *extra, char id[FGT_ID_CAP])
{
    fgt_response_t r = fgt_order_create(&srv, p, mer.key, NULL, ref, amount, extra);
    fgt_expect(r, 201, NULL);
    copy_str(id, FGT_ID_CAP, fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
}

static fgt_response_t get_order(fgt_proto_t p, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", id);
    return fgt_req(&srv, p, "GET", path, mer.key, NULL, NULL, 0, NULL);
}

static fgt_response_t cancel(fgt_proto_t p, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", id);
    return fgt_req(&srv, p, "POST", path, mer.key, NULL, NULL, 0, NULL);
}

static void expect_status(fgt_proto_t p, const char *id, const char *status)
{
    fgt_response_t r = get_order(p, id);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), status);
    fgt_response_free(&r);
}

/* ---- create and read ------------------------------------------------------------ */

START_TEST(create_and_read)
{
    static const struct {
        const char *currency;
        long long amount;
    } MONEY[FGT_PROTOS] = {{"VND", 2500000}, {"USD", 1999}, {"JPY", 500}};
    fgt_proto_t p = (fgt_proto_t)_i;
    char ref[96], body[1024], path[128], id[FGT_ID_CAP];
    snprintf(ref, sizeof(ref), "%s", fgt_unique("HP"));
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"category\":\"hoc-phi\",\"amount\":%lld,"
             "\"currency\":\"%s\",\"description\":\"Học phí học kỳ I\",\"payer\":{\"name\":\"Nguyễn Thị Bích\","
             "\"ref\":\"HS0042\"},\"metadata\":{\"lop\":\"10A1\"}}",
             ref, MONEY[p].amount, MONEY[p].currency);
    time_t before = time(NULL);
    fgt_response_t r = fgt_req(&srv, p, "POST", "/v1/orders", mer.key, NULL, body, 0, NULL);
    time_t after = time(NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_header(&r, "content-type"), "application/json; charset=utf-8");

    const char *order_id = fgt_json_str(&r, "id", NULL), *code = fgt_json_str(&r, "code", NULL);
    ck_assert_msg(order_id != NULL && strncmp(order_id, "ord_", 4) == 0 && all_crockford(order_id + 4, 26), "id %s",
                  order_id);
    copy_str(id, sizeof(id), order_id);
    ck_assert_msg(code != NULL && all_crockford(code, 11), "code %s", code);
    char pay_url[128];
    snprintf(pay_url, sizeof(pay_url), "%s/pay/%s", BASE_URL, code);
    ck_assert_str_eq(fgt_json_str(&r, "pay_url", NULL), pay_url);
    ck_assert_str_eq(fgt_json_str(&r, "object", NULL), "order");
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "open");
    ck_assert_str_eq(fgt_json_str(&r, "merchant_id", NULL), mer.id);
    ck_assert_str_eq(fgt_json_str(&r, "merchant_ref", NULL), ref);
    ck_assert_str_eq(fgt_json_str(&r, "fee_type", NULL), "tuition");
    ck_assert_str_eq(fgt_json_str(&r, "category", NULL), "hoc-phi");
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), MONEY[p].amount);
    ck_assert_str_eq(fgt_json_str(&r, "currency", NULL), MONEY[p].currency);
    ck_assert_int_eq(fgt_json_int(&r, "amount_paid", NULL), 0);
    ck_assert_int_eq(fgt_json_int(&r, "amount_refunded", NULL), 0);
    ck_assert_str_eq(fgt_json_str(&r, "description", NULL), "Học phí học kỳ I");
    ck_assert_str_eq(fgt_json_str(&r, "payer", "name", NULL), "Nguyễn Thị Bích");
    ck_assert_str_eq(fgt_json_str(&r, "payer", "ref", NULL), "HS0042");
    ck_assert_str_eq(fgt_json_str(&r, "metadata", "lop", NULL), "10A1");
    ck_assert(fgt_json_is_null(&r, "expires_at", NULL));
    long long created = rfc3339_seconds(fgt_json_str(&r, "created_at", NULL));
    ck_assert_msg(created >= (long long)before - 1 && created <= (long long)after + 1, "created_at %s",
                  fgt_json_str(&r, "created_at", NULL));
    ck_assert_str_eq(fgt_json_str(&r, "updated_at", NULL), fgt_json_str(&r, "created_at", NULL));

    fgt_response_t g = get_order(p, id); /* the same object, byte for byte */
    fgt_expect(g, 200, NULL);
    ck_assert_uint_eq(g.body_len, r.body_len);
    ck_assert_mem_eq(g.body, r.body, r.body_len);
    fgt_response_free(&g);
    snprintf(path, sizeof(path), "/v1/orders?merchant_ref=%s", ref);
    g = fgt_req(&srv, p, "GET", path, mer.key, NULL, NULL, 0, NULL); /* and in a list */
    fgt_expect(g, 200, NULL);
    ck_assert_ptr_nonnull(strstr(g.body, r.body));
    fgt_response_free(&g);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders_with_ref(mer.id, ref), 1);
}
END_TEST

/* ---- lists ------------------------------------------------------------------------ */

#define LIST_MAX 16

typedef struct {
    int n;
    char ids[LIST_MAX][FGT_ID_CAP];
    char next_cursor[64]; /* "" for null */
} page_t;

/* GET path; every item must be one of this merchant's orders. */
static void list(fgt_proto_t p, const char *path, page_t *page)
{
    fgt_response_t r = fgt_req(&srv, p, "GET", path, mer.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "object", NULL), "list");
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_uint_le(data->u.array.len, LIST_MAX);
    page->n = (int)data->u.array.len;
    for (int i = 0; i < page->n; i++) {
        ck_assert_str_eq(fgt_val_str(data->u.array.values[i], "merchant_id", NULL), mer.id);
        copy_str(page->ids[i], FGT_ID_CAP, fgt_val_str(data->u.array.values[i], "id", NULL));
    }
    if (fgt_json_is_null(&r, "next_cursor", NULL))
        page->next_cursor[0] = '\0';
    else
        copy_str(page->next_cursor, sizeof(page->next_cursor), fgt_json_str(&r, "next_cursor", NULL));
    fgt_response_free(&r);
}

/* The list at path is exactly want[0..n), in that order. */
static void expect_list(fgt_proto_t p, const char *path, char (*want)[FGT_ID_CAP], const int *order, int n)
{
    page_t page;
    list(p, path, &page);
    ck_assert_msg(page.n == n, "%s: %d orders, wanted %d", path, page.n, n);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(page.ids[i], want[order[i]]);
    ck_assert_str_eq(page.next_cursor, "");
}

START_TEST(list_pages_newest_first)
{
    enum { N = 7 };
    fgt_proto_t p = (fgt_proto_t)_i;
    char ids[N][FGT_ID_CAP], tag[64], ref[96], path[256];
    snprintf(tag, sizeof(tag), "%s", fgt_unique("PG"));
    for (int i = 0; i < N; i++) {
        snprintf(ref, sizeof(ref), "%s-%d", tag, i);
        create(p, ref, 1000 + i, NULL, ids[i]);
    }
    const int newest_first[N] = {6, 5, 4, 3, 2, 1, 0};
    expect_list(p, "/v1/orders", ids, newest_first, N); /* the default limit holds them all */
    page_t page = {.next_cursor = ""};
    int seen = 0;
    static const int SIZES[] = {3, 3, 1};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof(path), "/v1/orders?limit=3%s%s", k > 0 ? "&cursor=" : "", page.next_cursor);
        list(p, path, &page);
        ck_assert_int_eq(page.n, SIZES[k]);
        for (int i = 0; i < page.n; i++, seen++)
            ck_assert_str_eq(page.ids[i], ids[N - 1 - seen]); /* no duplicates, none skipped */
        ck_assert_msg((page.next_cursor[0] != '\0') == (k < 2), "page %d: next_cursor \"%s\"", k, page.next_cursor);
    }
    ck_assert_int_eq(seen, N);
}
END_TEST

START_TEST(list_filters)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char ids[4][FGT_ID_CAP], tag[64], ref[96], path[512], first_created[40], future[40];
    snprintf(tag, sizeof(tag), "%s", fgt_unique("FL"));
    for (int i = 0; i < 4; i++) {
        snprintf(ref, sizeof(ref), "%s-%d", tag, i);
        if (i == 0) { /* one tuition order among utility bills */
            char body[256];
            snprintf(body, sizeof(body),
                     "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":700000,\"currency\":\"VND\"}", ref);
            fgt_response_t r = fgt_req(&srv, p, "POST", "/v1/orders", mer.key, NULL, body, 0, NULL);
            fgt_expect(r, 201, NULL);
            copy_str(ids[0], FGT_ID_CAP, fgt_json_str(&r, "id", NULL));
            copy_str(first_created, sizeof(first_created), fgt_json_str(&r, "created_at", NULL));
            fgt_response_free(&r);
        } else {
            create(p, ref, 1000 + i, NULL, ids[i]);
        }
    }
    fgt_response_t r = cancel(p, ids[3]);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    format_rfc3339(time(NULL) + 3600, future, sizeof(future));

    const int cancelled[] = {3}, open[] = {2, 1, 0}, tuition[] = {0}, open_utility[] = {2, 1}, second[] = {1},
              all[] = {3, 2, 1, 0};
    expect_list(p, "/v1/orders?status=cancelled", ids, cancelled, 1);
    expect_list(p, "/v1/orders?status=open", ids, open, 3);
    expect_list(p, "/v1/orders?status=expired", ids, NULL, 0);
    expect_list(p, "/v1/orders?fee_type=tuition", ids, tuition, 1);
    expect_list(p, "/v1/orders?fee_type=utility&status=open", ids, open_utility, 2);
    snprintf(path, sizeof(path), "/v1/orders?merchant_ref=%s-1", tag);
    expect_list(p, path, ids, second, 1);
    snprintf(path, sizeof(path), "/v1/orders?merchant_ref=%s-1&fee_type=tuition", tag);
    expect_list(p, path, ids, NULL, 0);
    snprintf(path, sizeof(path), "/v1/orders?created_from=%s", future);
    expect_list(p, path, ids, NULL, 0);
    snprintf(path, sizeof(path), "/v1/orders?created_to=%s", first_created); /* created_to is exclusive */
    expect_list(p, path, ids, NULL, 0);
    snprintf(path, sizeof(path), "/v1/orders?created_from=%s&created_to=%s", first_created, future);
    expect_list(p, path, ids, all, 4);
}
END_TEST

/* Query values are percent-decoded: a Vietnamese merchant_ref and a '+'
 * offset can only be sent that way. */
START_TEST(list_query_is_percent_decoded)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char ids[1][FGT_ID_CAP], ref[96], path[512];
    const char *unique = fgt_unique("x");
    snprintf(ref, sizeof(ref), "HĐ %s/1", unique); /* Đ is C4 90 in UTF-8 */
    create(p, ref, 45000, NULL, ids[0]);
    const int only[] = {0};
    snprintf(path, sizeof(path), "/v1/orders?merchant_ref=H%%C4%%90%%20%s%%2F1", unique);
    expect_list(p, path, ids, only, 1);
    snprintf(path, sizeof(path), "/v1/orders?merchant_ref=H%%C4%%90+%s/1", unique); /* '+' is a space too */
    expect_list(p, path, ids, only, 1);
    expect_list(p, "/v1/orders?created_from=2000-01-01T07:00:00%2B07:00", ids, only, 1);
    expect_list(p, "/v1/orders?created_from=2000-01-01T07:00:00%2B07:00&created_to=2000-01-01T08:00:00%2B07:00", ids,
                NULL, 0);
}
END_TEST

/* ---- cancel ------------------------------------------------------------------------ */

static const char SQL_EVENTS[] = "SELECT COUNT(*) FROM events e JOIN orders o ON o.id = e.order_id "
                                 "WHERE o.public_id = ? AND e.type = ?";

START_TEST(cancel_is_idempotent)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char id[FGT_ID_CAP];
    create(p, fgt_unique("CX"), 5000, NULL, id);
    for (int i = 0; i < 2; i++) { /* cancelling a cancelled order answers 200 again */
        fgt_response_t r = cancel(p, id);
        fgt_expect(r, 200, NULL);
        ck_assert_str_eq(fgt_json_str(&r, "id", NULL), id);
        ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "cancelled");
        fgt_response_free(&r);
    }
    expect_status(p, id, "cancelled");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ? AND status = 'cancelled'", id, NULL),
                     1);
    ck_assert_int_eq(fgt_db_int(SQL_EVENTS, id, "order.cancelled"), 1);
    fgt_response_t r = cancel(p, "ord_01M0000000000000000000NONE");
    fgt_expect_error(r, 404, "not_found", "order_not_found");
    fgt_response_free(&r);
}
END_TEST

/* ---- expiry --------------------------------------------------------------------------- */

/* Polls sql (one parameter) until it counts want, at most timeout_ms;
 * returns the last count. */
static long long count_becomes(const char *sql, const char *a, const char *b, long long want, long timeout_ms)
{
    long long got = fgt_db_int(sql, a, b);
    for (long waited = 0; got != want && waited < timeout_ms; waited += 100) {
        fgt_sleep_ms(100);
        got = fgt_db_int(sql, a, b);
    }
    return got;
}

START_TEST(expiry_reads_at_once_then_is_swept)
{
    char id[FGT_ID_CAP], when[40], extra[96], path[256];
    time_t expires = time(NULL) + 3; /* 2 to 3 s ahead */
    format_rfc3339(expires, when, sizeof(when));
    snprintf(extra, sizeof(extra), ",\"expires_at\":\"%s\"", when);
    fgt_response_t r = fgt_order_create(&srv, FGT_H2C, mer.key, NULL, fgt_unique("EX"), 7000, extra);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "expires_at", NULL), when);
    copy_str(id, sizeof(id), fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    expect_status(FGT_HTTP1, id, "open");

    while (time(NULL) <= expires) /* until it has passed */
        fgt_sleep_ms(20);
    for (int p = 0; p < FGT_PROTOS; p++)
        expect_status((fgt_proto_t)p, id, "expired");
    snprintf(path, sizeof(path), "/v1/orders?status=expired&created_from=%s", "2000-01-01T00:00:00Z");
    page_t page;
    list(FGT_H2TLS, path, &page);
    ck_assert_int_eq(page.n, 1);
    ck_assert_str_eq(page.ids[0], id);
    list(FGT_H2TLS, "/v1/orders?status=open", &page);
    ck_assert_int_eq(page.n, 0);

    ck_assert_int_eq(count_becomes("SELECT COUNT(*) FROM orders WHERE public_id = ? AND status = 'expired'", id, NULL,
                                   1, 5000),
                     1);
    ck_assert_int_eq(count_becomes(SQL_EVENTS, id, "order.expired", 1, 5000), 1);
    fgt_sleep_ms(500); /* five more sweeps: still one event */
    ck_assert_int_eq(fgt_db_int(SQL_EVENTS, id, "order.expired"), 1);

    r = cancel(FGT_H2C, id);
    fgt_expect_error(r, 409, "conflict", "order_not_cancellable");
    fgt_response_free(&r);
    expect_status(FGT_H2C, id, "expired");
}
END_TEST

/* ---- batch ------------------------------------------------------------------------------ */

enum { BATCH = 10000 };

/* What the batch holds at index i, and what it must answer there. */
typedef struct {
    const char *code;   /* NULL for an order that must be created */
    int duplicate_of;   /* batch index whose order it names, or -1 */
    int names_existing; /* names the order created before the batch */
} batch_expect_t;

static batch_expect_t batch_item(fg_buf_t *b, const char *tag, const char *existing_ref, int i)
{
    const char *sep = i > 0 ? "," : "";
    switch (i) {
    case 10:
        fg_buf_printf(b, "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"utility\",\"amount\":0,\"currency\":\"VND\"}",
                      sep, tag, i);
        return (batch_expect_t){"amount_invalid", -1, 0};
    case 20:
        fg_buf_printf(b, "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"utility\",\"amount\":5,\"currency\":\"XYZ\"}",
                      sep, tag, i);
        return (batch_expect_t){"invalid_currency", -1, 0};
    case 30:
        fg_buf_printf(b, "%s{\"merchant_ref\":\"%s-%d\",\"amount\":5,\"currency\":\"VND\"}", sep, tag, i);
        return (batch_expect_t){"missing_field", -1, 0};
    case 40: /* the ref of item 39, again */
        fg_buf_printf(b, "%s{\"merchant_ref\":\"%s-39\",\"fee_type\":\"utility\",\"amount\":5,\"currency\":\"VND\"}",
                      sep, tag);
        return (batch_expect_t){"duplicate_merchant_ref", 39, 0};
    case 50:
        fg_buf_printf(b, "%s{\"merchant_ref\":\"%s\",\"fee_type\":\"utility\",\"amount\":5,\"currency\":\"VND\"}", sep,
                      existing_ref);
        return (batch_expect_t){"duplicate_merchant_ref", -1, 1};
    case 60: /* the existing order's ref in other letters' case: another ref, created */
        fg_buf_printf(b,
                      "%s{\"merchant_ref\":\"%s-EXISTING\",\"fee_type\":\"utility\",\"amount\":%d,"
                      "\"currency\":\"VND\"}",
                      sep, tag, 100000 + i);
        return (batch_expect_t){NULL, -1, 0};
    default:
        fg_buf_printf(b,
                      "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"utility\",\"amount\":%d,\"currency\":\"VND\","
                      "\"payer\":{\"ref\":\"KH%05d\"}}",
                      sep, tag, i, 100000 + i, i);
        return (batch_expect_t){NULL, -1, 0};
    }
}

/* A batch under an Idempotency-Key whose answer is larger than the key keeps
 * (16 MiB: descriptions of line separators, each escaped to six bytes) is
 * refused with a clear 422 and creates nothing; without a key it is taken. */
#define BIG_ANSWER_ORDERS 2800
START_TEST(a_batch_whose_answer_a_key_cannot_keep_is_refused)
{
    char tag[64];
    snprintf(tag, sizeof(tag), "%s", fgt_unique("BA"));
    fg_buf_t body = FG_BUF_INIT;
    fg_buf_puts(&body, "{\"orders\":[");
    for (int i = 0; i < BIG_ANSWER_ORDERS; i++) {
        fg_buf_printf(&body,
                      "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"tuition\",\"amount\":1000,"
                      "\"currency\":\"VND\",\"description\":\"",
                      i > 0 ? "," : "", tag, i);
        for (int k = 0; k < 1000; k++)
            fg_buf_puts(&body, "\xe2\x80\xa8"); /* U+2028 */
        fg_buf_puts(&body, "\"}");
    }
    fg_buf_puts(&body, "]}");
    char pattern[80];
    snprintf(pattern, sizeof(pattern), "%s-%%", tag);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders/batch", mer.key, fgt_unique("big"), body.data,
                               body.len, NULL);
    fgt_expect_error(r, 422, "invalid_request", "answer_too_large");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE merchant_ref LIKE ?", pattern, NULL), 0);
    r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders/batch", mer.key, NULL, body.data, body.len, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_int_gt((long long)r.body_len, (long long)(16 * 1024 * 1024));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE merchant_ref LIKE ?", pattern, NULL),
                     BIG_ANSWER_ORDERS);
    fg_buf_free(&body);
    ck_assert_int_eq(fgt_ledger_check(), 0); /* and their changes in the feed are their rows */
}
END_TEST

START_TEST(batch_of_ten_thousand)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    static batch_expect_t want[BATCH];
    char tag[64], existing_ref[96], existing_id[FGT_ID_CAP], ref[96];
    snprintf(tag, sizeof(tag), "%s", fgt_unique("BT"));
    snprintf(existing_ref, sizeof(existing_ref), "%s-existing", tag);
    create(p, existing_ref, 100, NULL, existing_id);

    fg_buf_t body = FG_BUF_INIT;
    int good = 0;
    fg_buf_puts(&body, "{\"orders\":[");
    for (int i = 0; i < BATCH; i++) {
        want[i] = batch_item(&body, tag, existing_ref, i);
        good += want[i].code == NULL;
    }
    fg_buf_puts(&body, "]}");
    long long set_runs = fgt_metric(&srv, "feegate_order_batches_total{run=\"set\"}");
    long long item_runs = fgt_metric(&srv, "feegate_order_batches_total{run=\"item_by_item\"}");
    fgt_response_t r = fgt_req(&srv, p, "POST", "/v1/orders/batch", mer.key, NULL, body.data, body.len, NULL);
    fg_buf_free(&body);
    fgt_expect(r, 200, NULL);
    /* one lookup of the refs and multi-row inserts; nothing fell back */
    ck_assert_int_eq(fgt_metric(&srv, "feegate_order_batches_total{run=\"set\"}"), set_runs + 1);
    ck_assert_int_eq(fgt_metric(&srv, "feegate_order_batches_total{run=\"item_by_item\"}"), item_runs);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    ck_assert_int_eq(data->u.array.len, BATCH); /* one entry per input, in input order */
    for (int i = 0; i < BATCH; i++) {
        yajl_val item = data->u.array.values[i];
        const char *code = fgt_val_str(item, "error", "code", NULL);
        if (want[i].code == NULL) {
            ck_assert_msg(code == NULL, "item %d refused: %s", i, code);
            if (i == 60)
                snprintf(ref, sizeof(ref), "%s-EXISTING", tag);
            else
                snprintf(ref, sizeof(ref), "%s-%d", tag, i);
            ck_assert_str_eq(fgt_val_str(item, "merchant_ref", NULL), ref);
            ck_assert_str_eq(fgt_val_str(item, "status", NULL), "open");
            yajl_val amount = fgt_val_at(item, "amount", NULL);
            ck_assert(amount != NULL && YAJL_IS_INTEGER(amount) && YAJL_GET_INTEGER(amount) == 100000 + i);
            continue;
        }
        ck_assert_msg(code != NULL && strcmp(code, want[i].code) == 0, "item %d: code %s, wanted %s", i, code,
                      want[i].code);
        ck_assert_ptr_nonnull(fgt_val_str(item, "error", "type", NULL));
        ck_assert_ptr_nonnull(fgt_val_str(item, "error", "message", NULL));
        const char *existing = fgt_val_str(item, "error", "existing_order_id", NULL);
        if (want[i].duplicate_of >= 0)
            ck_assert_str_eq(existing, fgt_val_str(data->u.array.values[want[i].duplicate_of], "id", NULL));
        else if (want[i].names_existing)
            ck_assert_str_eq(existing, existing_id);
    }
    ck_assert_str_eq(fgt_val_str(data->u.array.values[30], "error", "field", NULL), "fee_type");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_orders(mer.id), 1 + good); /* exactly the good ones, and the one before */
}
END_TEST

/* Two batches of the same refs at once: whichever commits first creates them
 * all, and the other names those orders, item by item, whether it lost the
 * race before its lookup (set-wise, all found) or after (its INSERTs meet the
 * winner's rows at COMMIT: it runs item by item).  Rounds until the second
 * kind was seen, at most RACE_ROUNDS. */
enum { RACE_ORDERS = 2000, RACE_ROUNDS = 6 };

static char *batch_of(int n);

START_TEST(batches_racing_for_the_same_refs)
{
    char auth[128];
    const char *headers[] = {auth, NULL};
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mer.key);
    long long item_runs = fgt_metric(&srv, "feegate_order_batches_total{run=\"item_by_item\"}");
    int rounds = 0, orders = 0;
    while (rounds < RACE_ROUNDS && fgt_metric(&srv, "feegate_order_batches_total{run=\"item_by_item\"}") == item_runs) {
        char *body = batch_of(RACE_ORDERS);
        fgt_request_t reqs[2];
        fgt_response_t out[2];
        for (int b = 0; b < 2; b++)
            reqs[b] = (fgt_request_t){"POST", "/v1/orders/batch", headers, body, 0, NULL};
        fgt_request_all(&srv, FGT_HTTP1, 2, 2, reqs, NULL, NULL, out);
        yajl_val data[2];
        for (int b = 0; b < 2; b++) {
            fgt_expect(out[b], 200, NULL);
            data[b] = fgt_json_array(&out[b], "data", NULL);
            ck_assert_int_eq(data[b]->u.array.len, RACE_ORDERS);
        }
        for (int i = 0; i < RACE_ORDERS; i++) {
            yajl_val x = data[0]->u.array.values[i], y = data[1]->u.array.values[i];
            const char *x_id = fgt_val_str(x, "id", NULL), *y_id = fgt_val_str(y, "id", NULL);
            ck_assert_msg((x_id == NULL) != (y_id == NULL), "item %d: created by %s", i,
                          x_id != NULL ? "both" : "neither");
            yajl_val loser = x_id != NULL ? y : x;
            ck_assert_str_eq(fgt_val_str(loser, "error", "code", NULL), "duplicate_merchant_ref");
            ck_assert_str_eq(fgt_val_str(loser, "error", "existing_order_id", NULL), x_id != NULL ? x_id : y_id);
        }
        fgt_response_free(&out[0]);
        fgt_response_free(&out[1]);
        free(body);
        rounds++;
        orders += RACE_ORDERS;
        ck_assert_int_eq(fgt_db_orders(mer.id), orders);
    }
    printf("orders: batches racing: %d round(s) until one ran item by item%s\n", rounds,
           fgt_metric(&srv, "feegate_order_batches_total{run=\"item_by_item\"}") > item_runs ? "" : " (never seen)");
}
END_TEST

/* A batch of n copies of one valid order. */
static char *batch_of(int n)
{
    fg_buf_t b = FG_BUF_INIT;
    const char *tag = fgt_unique("SZ");
    fg_buf_puts(&b, "{\"orders\":[");
    for (int i = 0; i < n; i++)
        fg_buf_printf(&b, "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"utility\",\"amount\":5,\"currency\":\"VND\"}",
                      i ? "," : "", tag, i);
    fg_buf_puts(&b, "]}");
    return fg_buf_steal(&b, NULL);
}

START_TEST(batch_shape_and_size)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    char *too_many = batch_of(BATCH + 1);
    static const struct {
        const char *body;
        long status;
        const char *code;
    } REFUSED[] = {{"{\"orders\":[]}", 422, "batch_size"},
                   {NULL, 422, "batch_size"}, /* 10,001 */
                   {"{}", 400, "missing_field"},
                   {"{\"orders\":{}}", 400, "invalid_type"},
                   {"{\"orders\":[{\"merchant_ref\":\"x\"}],\"extra\":1}", 400, "unknown_field"},
                   {"[]", 400, "invalid_json"}};
    for (size_t i = 0; i < sizeof(REFUSED) / sizeof(REFUSED[0]); i++) {
        const char *body = REFUSED[i].body != NULL ? REFUSED[i].body : too_many;
        fgt_response_t r = fgt_req(&srv, p, "POST", "/v1/orders/batch", mer.key, NULL, body, 0, NULL);
        fgt_expect(r, REFUSED[i].status, REFUSED[i].code);
        fgt_response_free(&r);
    }
    free(too_many);
    ck_assert_int_eq(fgt_db_orders(mer.id), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("orders");
    TCase *tc = fgt_tcase(s, "orders", setup, teardown);
    tcase_add_loop_test(tc, create_and_read, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, list_pages_newest_first, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, list_filters, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, list_query_is_percent_decoded, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, cancel_is_idempotent, 0, FGT_PROTOS);
    tcase_add_test(tc, expiry_reads_at_once_then_is_swept);
    tcase_add_loop_test(tc, batch_of_ten_thousand, 0, FGT_PROTOS);
    tcase_add_test(tc, batches_racing_for_the_same_refs);
    tcase_add_test(tc, a_batch_whose_answer_a_key_cannot_keep_is_refused);
    tcase_add_loop_test(tc, batch_shape_and_size, 0, FGT_PROTOS);
    return fgt_run(s);
}
