/*
 * test_orders.c - create-order validation and the request fingerprint.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "http/http.h"
#include "orders/bills.h"
#include "orders/orders.h"

/* 2026-11-23T00:00:00Z */
static const int64_t NOW_MS = 1795392000000LL;

typedef struct {
    yajl_val root;
    fg_order_input_t in;
    fg_field_error_t err;
    int rc;
} parsed_t;

static void parse(parsed_t *p, const char *json)
{
    memset(p, 0, sizeof(*p));
    p->root = fg_json_parse_object(json, strlen(json), &p->err);
    p->rc = p->root == NULL ? -1 : fg_order_input_parse(p->root, NOW_MS, &p->in, &p->err);
}

static void release(parsed_t *p)
{
    fg_order_input_free(&p->in);
    if (p->root != NULL)
        yajl_tree_free(p->root);
}

/* Asserts that body is refused with this status and code (and field). */
static void expect_error(const char *json, int status, const char *code, const char *field)
{
    parsed_t p;
    parse(&p, json);
    ck_assert_msg(p.rc != 0, "accepted: %s", json);
    ck_assert_int_eq(fg_field_status(&p.err), status);
    ck_assert_str_eq(p.err.code, code);
    if (field != NULL)
        ck_assert_str_eq(p.err.field, field);
    release(&p);
}

#define BASE "\"merchant_ref\":\"HP-1\",\"fee_type\":\"tuition\",\"currency\":\"VND\""

START_TEST(accepts_a_full_order)
{
    parsed_t p;
    parse(&p, "{" BASE ",\"amount\":4500000,\"category\":\"tuition\",\"allow_partial\":true,"
              "\"payer\":{\"name\":\"Nguyễn Văn A\",\"ref\":\"HS001\",\"phone\":\"0901234567\",\"email\":\"a@b.vn\"},"
              "\"description\":\"Học phí HK1\",\"due_at\":\"2026-12-01T00:00:00Z\","
              "\"expires_at\":\"2026-12-31T17:00:00+07:00\",\"metadata\":{\"class\":\"10A1\",\"term\":\"1\"}}");
    ck_assert_int_eq(p.rc, 0);
    ck_assert_str_eq(p.in.merchant_ref, "HP-1");
    ck_assert_int_eq(p.in.amount, 4500000);
    ck_assert_str_eq(p.in.currency, "VND");
    ck_assert_int_eq(p.in.allow_partial, 1);
    ck_assert_str_eq(p.in.payer_name, "Nguyễn Văn A");
    ck_assert_int_eq(p.in.has_expires_at, 1);
    ck_assert_int_eq(p.in.expires_at_ms, 1798711200000LL); /* 2026-12-31T10:00:00Z */
    ck_assert_str_eq(p.in.metadata_json.data, "{\"class\":\"10A1\",\"term\":\"1\"}");
    release(&p);
}
END_TEST

START_TEST(amount_bounds)
{
    parsed_t p;
    parse(&p, "{" BASE ",\"amount\":1000000000000000}");
    ck_assert_int_eq(p.rc, 0);
    ck_assert_int_eq(p.in.amount, 1000000000000000LL);
    release(&p);
    parse(&p, "{" BASE ",\"amount\":1}");
    ck_assert_int_eq(p.rc, 0);
    release(&p);
    expect_error("{" BASE ",\"amount\":1000000000000001}", 422, "amount_too_large", "amount");
    expect_error("{" BASE ",\"amount\":99999999999999999999999}", 422, "amount_too_large", "amount");
    expect_error("{" BASE ",\"amount\":0}", 422, "amount_invalid", "amount");
    expect_error("{" BASE ",\"amount\":-5}", 422, "amount_invalid", "amount");
    /* a reference with a space at either end would share its key with the one without */
    expect_error("{\"merchant_ref\":\"HP-1 \",\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}", 422,
                 "invalid_merchant_ref", "merchant_ref");
    expect_error("{\"merchant_ref\":\" HP-1\",\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}", 422,
                 "invalid_merchant_ref", "merchant_ref");
    expect_error("{" BASE ",\"amount\":1.5}", 400, "invalid_type", "amount");
    expect_error("{" BASE ",\"amount\":1e5}", 400, "invalid_type", "amount");
    expect_error("{" BASE ",\"amount\":\"100\"}", 400, "invalid_type", "amount");
    expect_error("{" BASE "}", 400, "missing_field", "amount");
}
END_TEST

START_TEST(required_fields_and_types)
{
    expect_error("{\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}", 400, "missing_field", "merchant_ref");
    expect_error("{\"merchant_ref\":\"a\",\"currency\":\"VND\",\"amount\":5}", 400, "missing_field", "fee_type");
    expect_error("{\"merchant_ref\":\"a\",\"fee_type\":\"tuition\",\"amount\":5}", 400, "missing_field", "currency");
    expect_error("{\"merchant_ref\":7,\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}", 400, "invalid_type",
                 "merchant_ref");
    expect_error("{\"merchant_ref\":\"\",\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}", 422,
                 "empty_string", "merchant_ref");
    expect_error("{" BASE ",\"amount\":5,\"allow_partial\":\"yes\"}", 400, "invalid_type", "allow_partial");
    expect_error("{" BASE ",\"amount\":5,\"payer\":\"x\"}", 400, "invalid_type", "payer");
    expect_error("{" BASE ",\"amount\":5,\"payer\":{\"nick\":\"x\"}}", 400, "unknown_field", "payer.nick");
    expect_error("{" BASE ",\"amount\":5,\"ammount\":5}", 400, "unknown_field", "ammount");
}
END_TEST

START_TEST(enumerations)
{
    expect_error("{\"merchant_ref\":\"a\",\"fee_type\":\"tax\",\"currency\":\"VND\",\"amount\":5}", 422,
                 "invalid_fee_type", "fee_type");
    expect_error("{\"merchant_ref\":\"a\",\"fee_type\":\"utility\",\"currency\":\"XYZ\",\"amount\":5}", 422,
                 "invalid_currency", "currency");
    expect_error("{\"merchant_ref\":\"a\",\"fee_type\":\"utility\",\"currency\":\"vnd\",\"amount\":5}", 422,
                 "invalid_currency", "currency");
    expect_error("{\"merchant_ref\":\"a\",\"fee_type\":\"utility\",\"currency\":\"VNDX\",\"amount\":5}", 422,
                 "invalid_currency", "currency");
}
END_TEST

START_TEST(lengths)
{
    char json[8192], ref[80], desc[4096];
    memset(ref, 'R', 65);
    ref[65] = '\0';
    snprintf(json, sizeof(json), "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}",
             ref);
    expect_error(json, 422, "string_too_long", "merchant_ref");
    ref[64] = '\0';
    snprintf(json, sizeof(json), "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"currency\":\"VND\",\"amount\":5}",
             ref);
    parsed_t p;
    parse(&p, json);
    ck_assert_int_eq(p.rc, 0);
    release(&p);
    /* 1000 characters of "ệ" (3 bytes each) pass; 1001 do not. */
    desc[0] = '\0';
    for (int i = 0; i < 1000; i++)
        strcat(desc, "ệ");
    snprintf(json, sizeof(json), "{" BASE ",\"amount\":5,\"description\":\"%s\"}", desc);
    parse(&p, json);
    ck_assert_int_eq(p.rc, 0);
    release(&p);
    strcat(desc, "ệ");
    snprintf(json, sizeof(json), "{" BASE ",\"amount\":5,\"description\":\"%s\"}", desc);
    expect_error(json, 422, "string_too_long", "description");
    expect_error("{" BASE ",\"amount\":5,\"category\":\"a\\u0001b\"}", 422, "invalid_characters", "category");
}
END_TEST

START_TEST(times)
{
    expect_error("{" BASE ",\"amount\":5,\"expires_at\":\"tomorrow\"}", 422, "invalid_timestamp", "expires_at");
    expect_error("{" BASE ",\"amount\":5,\"expires_at\":\"2026-11-22T23:59:59Z\"}", 422, "expires_at_in_past",
                 "expires_at");
    expect_error("{" BASE ",\"amount\":5,\"due_at\":\"2026-02-30T00:00:00Z\"}", 422, "invalid_timestamp", "due_at");
    parsed_t p;
    parse(&p, "{" BASE ",\"amount\":5,\"due_at\":\"2020-01-01T00:00:00Z\",\"expires_at\":null}");
    ck_assert_int_eq(p.rc, 0);
    ck_assert_int_eq(p.in.has_due_at, 1);
    ck_assert_int_eq(p.in.has_expires_at, 0);
    release(&p);
}
END_TEST

START_TEST(metadata)
{
    expect_error("{" BASE ",\"amount\":5,\"metadata\":{\"a\":1}}", 400, "invalid_type", "metadata");
    expect_error("{" BASE ",\"amount\":5,\"metadata\":[\"a\"]}", 400, "invalid_type", "metadata");
    char json[16384], meta[12000];
    size_t n = 0;
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(meta + n, sizeof(meta) - n, "%s\"k%d\":\"%0450d\"", i ? "," : "", i, 0);
    snprintf(json, sizeof(json), "{" BASE ",\"amount\":5,\"metadata\":{%s}}", meta);
    expect_error(json, 422, "metadata_too_large", "metadata");
}
END_TEST

START_TEST(transport_checks)
{
    expect_error("not json", 400, "invalid_json", NULL);
    expect_error("[1,2]", 400, "invalid_json", NULL);
    expect_error("", 400, "invalid_json", NULL);
    expect_error("{\"merchant_ref\":\"a\xff\"}", 400, "invalid_utf8", NULL);
    char deep[200];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"metadata\":");
    for (int i = 0; i < 32; i++)
        deep[n++] = '[';
    for (int i = 0; i < 32; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    expect_error(deep, 400, "json_too_deep", NULL); /* 33 levels */
    /* a comment is not JSON; a quote inside one must not hide the brackets after it */
    expect_error("{\"merchant_ref\":\"HP-1\" /* note */}", 400, "invalid_json", NULL);
    enum { LEVELS = 5000 };
    char *hidden = malloc(2 * LEVELS + 32);
    ck_assert_ptr_nonnull(hidden);
    n = (size_t)sprintf(hidden, "{\"a\":/*\"*/");
    for (int i = 0; i < LEVELS; i++)
        hidden[n++] = '[';
    for (int i = 0; i < LEVELS; i++)
        hidden[n++] = ']';
    n += (size_t)sprintf(hidden + n, "/*\"*/}");
    expect_error(hidden, 400, "invalid_json", NULL);
    free(hidden);
}
END_TEST

/* A key given twice is refused, naming the first repeat in document order
 * (a member's key before anything its value holds), however many keys. */
START_TEST(duplicate_keys)
{
    expect_error("{\"a\":1,\"b\":{\"c\":1,\"c\":2},\"a\":2}", 400, "duplicate_field", "c");
    expect_error("{\"a\":{\"x\":1},\"b\":1,\"b\":2,\"a\":3}", 400, "duplicate_field", "b");
    expect_error("{\"z\":[{\"k\":1},{\"k\":1,\"k\":2}],\"y\":0,\"y\":1}", 400, "duplicate_field", "k");

    /* 5000 distinct keys and one repeat at the end, then none: found and
     * parsed (the check sorts the keys; comparing every pair took seconds) */
    enum { KEYS = 5000 };
    size_t cap = (size_t)KEYS * 16 + 64, n = 0;
    char *body = malloc(cap);
    ck_assert_ptr_nonnull(body);
    body[n++] = '{';
    for (int i = 0; i < KEYS; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s\"k%d\":0", i > 0 ? "," : "", i);
    snprintf(body + n, cap - n, ",\"k7\":1}");
    expect_error(body, 400, "duplicate_field", "k7");
    snprintf(body + n, cap - n, "}");
    fg_field_error_t err;
    yajl_val root = fg_json_parse_object(body, strlen(body), &err);
    ck_assert_ptr_nonnull(root);
    ck_assert_uint_eq(root->u.object.len, KEYS);
    yajl_tree_free(root);
    free(body);
}
END_TEST

/* An unknown key longer than the error's field is named by its first whole
 * characters: the cut never leaves half of one (the error's JSON stays UTF-8),
 * for a key of two-byte letters as of three-byte ones. */
START_TEST(a_long_unknown_key_is_cut_between_characters)
{
    static const char *const LETTERS[] = {"\xc3\xa9" /* é: 2 bytes */, "\xe1\xba\xbf" /* ế: 3 bytes */,
                                          "\xf0\x9f\x92\xb0" /* 💰: 4 bytes */};
    for (size_t v = 0; v < 3 * sizeof(LETTERS) / sizeof(LETTERS[0]); v++) {
        /* the letters alone, after an "a" (the cuts fall elsewhere), and as a key of payer */
        size_t l = v % 3, lead = v / 3 == 1, payer = v / 3 == 2;
        char key[400] = "", body[600];
        if (lead)
            strcat(key, "a");
        for (int i = 0; i < 40; i++)
            strcat(key, LETTERS[l]);
        if (payer)
            snprintf(body, sizeof(body), "{" BASE ",\"amount\":5,\"payer\":{\"%s\":1}}", key);
        else
            snprintf(body, sizeof(body), "{" BASE ",\"amount\":5,\"%s\":1}", key);
        parsed_t p;
        parse(&p, body);
        ck_assert_int_ne(p.rc, 0);
        ck_assert_str_eq(p.err.code, "unknown_field");
        const char *name = payer ? p.err.field + 6 : p.err.field; /* after "payer." */
        if (payer)
            ck_assert_int_eq(strncmp(p.err.field, "payer.", 6), 0);
        size_t n = strlen(LETTERS[l]), field = strlen(name), message = strlen(p.err.message);
        ck_assert_uint_gt(field, lead);
        ck_assert_uint_eq((field - lead) % n, 0); /* whole letters only */
        ck_assert_int_eq(memcmp(name, key, field), 0);
        ck_assert_uint_le(strlen(p.err.field), sizeof(p.err.field) - 1);
        ck_assert_uint_gt(strlen(p.err.field) + n, sizeof(p.err.field) - 1); /* and as many as fit */
        ck_assert_msg(fg_utf8_valid(p.err.message, message), "%s", p.err.message);
        ck_assert_ptr_nonnull(strstr(p.err.message, "\""));
        ck_assert_int_eq(p.err.message[message - 1], '"'); /* the key's cut, then its closing quote */
        release(&p);
    }
}
END_TEST

/* A bills file naming one metadata key in two columns is refused at its
 * header, as two amount columns are (each row's order would repeat the key). */
START_TEST(bills_header_names_each_column_once)
{
    static const char *const FILES[][2] = {
        {"merchant_ref,amount,metadata.khu_vuc,metadata.khu_vuc\nA,1,x,y\n", "metadata.khu_vuc"},
        {"merchant_ref,Số tiền,amount\nA,1,1\n", "amount"},
        {"merchant_ref,amount,Lớp,metadata.class\nA,1,5A,5B\n", "metadata.class"},
    };
    for (size_t i = 0; i < sizeof(FILES) / sizeof(FILES[0]); i++) {
        fg_bills_t b;
        fg_bills_init(&b);
        ck_assert_int_eq(fg_bills_read(&b, FG_SHEET_CSV, FILES[i][0], strlen(FILES[i][0]), NULL, NOW_MS), FG_EINVALID);
        ck_assert_msg(strstr(b.error, "two columns") != NULL && strstr(b.error, FILES[i][1]) != NULL, "%s", b.error);
        fg_bills_free(&b);
    }
    const char *ok = "merchant_ref,amount,metadata.khu_vuc,metadata.Khu_vuc\nA,1,x,y\n";
    fg_bills_t b;
    fg_bills_init(&b);
    fg_bills_defaults_t defaults = {"tuition", NULL};
    ck_assert_int_eq(fg_bills_read(&b, FG_SHEET_CSV, ok, strlen(ok), &defaults, NOW_MS), 0);
    ck_assert_uint_eq(b.count, 1);
    ck_assert_int_eq(b.rows[0].state, FG_BILL_VALID);
    fg_bills_free(&b);
}
END_TEST

/* A date column: dd/mm/yyyy, yyyy-mm-dd, or a spreadsheet's day number of the years 2000 to
 * 2099; a bare 15 or 2025 is a mistaken cell, refused, not a day of 1900 or 1905. */
START_TEST(bills_dates_are_days_of_this_century)
{
    const char *file = "merchant_ref,amount,hạn nộp\nA,1,46387\nB,1,15\nC,1,2025\nD,1,31/12/2026\nE,1,73051\n";
    fg_bills_t b;
    fg_bills_init(&b);
    fg_bills_defaults_t defaults = {"tuition", NULL};
    ck_assert_int_eq(fg_bills_read(&b, FG_SHEET_CSV, file, strlen(file), &defaults, NOW_MS), 0);
    ck_assert_uint_eq(b.count, 5);
    static const fg_bill_state_t WANT[] = {FG_BILL_VALID, FG_BILL_INVALID, FG_BILL_INVALID, FG_BILL_VALID,
                                           FG_BILL_INVALID};
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(b.rows[i].state == WANT[i], "row %zu: state %d", i + 2, b.rows[i].state);
    ck_assert_ptr_nonnull(strstr(b.rows[0].order_json.data, "\"due_at\":\"2026-12-31T16:59:59Z\""));
    ck_assert_ptr_nonnull(strstr(b.rows[3].order_json.data, "\"due_at\":\"2026-12-31T16:59:59Z\""));
    ck_assert_str_eq(b.rows[1].error.code, "invalid_date");
    fg_bills_free(&b);
}
END_TEST

START_TEST(fingerprint_covers_method_path_and_body)
{
    uint8_t a[FG_SHA256_LEN], b[FG_SHA256_LEN];
    fg_idem_fingerprint("POST", "/v1/orders", "{}", 2, a);
    fg_idem_fingerprint("POST", "/v1/orders", "{}", 2, b);
    ck_assert_mem_eq(a, b, FG_SHA256_LEN);
    fg_idem_fingerprint("POST", "/v1/orders", "{ }", 3, b);
    ck_assert(memcmp(a, b, FG_SHA256_LEN) != 0);
    fg_idem_fingerprint("POST", "/v1/orders/batch", "{}", 2, b);
    ck_assert(memcmp(a, b, FG_SHA256_LEN) != 0);
    fg_idem_fingerprint("PUT", "/v1/orders", "{}", 2, b);
    ck_assert(memcmp(a, b, FG_SHA256_LEN) != 0);
    /* the separator keeps path and body apart: "/a" + "\nb" != "/a\n" + "b" */
    fg_idem_fingerprint("POST", "/a", "\nb", 2, a);
    fg_idem_fingerprint("POST", "/a\n", "b", 1, b);
    ck_assert(memcmp(a, b, FG_SHA256_LEN) != 0);
}
END_TEST

/* fg_order_effective_status by the statuses' names. */
static const char *effective_named(const char *stored, int has_expiry, int64_t expires_at, int64_t now_ms)
{
    fg_order_status_t status;
    ck_assert_int_eq(fg_order_status_parse(stored, strlen(stored), &status), 0);
    return fg_order_status_name(fg_order_effective_status(status, has_expiry, expires_at, now_ms));
}

START_TEST(effective_status)
{
    ck_assert_str_eq(effective_named("open", 1, NOW_MS, NOW_MS), "expired");
    ck_assert_str_eq(effective_named("open", 1, NOW_MS + 1, NOW_MS), "open");
    ck_assert_str_eq(effective_named("partially_paid", 1, NOW_MS - 1, NOW_MS), "expired");
    ck_assert_str_eq(effective_named("paid", 1, NOW_MS - 1, NOW_MS), "paid");
    ck_assert_str_eq(effective_named("open", 0, 0, NOW_MS), "open");
}
END_TEST

START_TEST(payable_amount_and_acceptance)
{
    int64_t out = -1;
    ck_assert_int_eq(fg_order_payable_amount(100, 0, 0, 0, &out), 0); /* everything owed */
    ck_assert_int_eq(out, 100);
    ck_assert_int_eq(fg_order_payable_amount(100, 40, 1, 0, &out), 0);
    ck_assert_int_eq(out, 60);
    ck_assert_int_eq(fg_order_payable_amount(100, 40, 1, 25, &out), 0); /* a part, allowed */
    ck_assert_int_eq(out, 25);
    ck_assert_int_eq(fg_order_payable_amount(100, 40, 0, 60, &out), 0); /* exactly what is owed */
    ck_assert_int_eq(out, 60);
    out = -1;
    ck_assert_int_eq(fg_order_payable_amount(100, 40, 0, 25, &out), FG_ERANGE); /* a part, not allowed */
    ck_assert_int_eq(fg_order_payable_amount(100, 40, 1, 61, &out), FG_ERANGE); /* more than owed */
    ck_assert_int_eq(out, -1);
    ck_assert(fg_order_accepts_payment(FG_ORDER_OPEN));
    ck_assert(fg_order_accepts_payment(FG_ORDER_PARTIALLY_PAID));
    ck_assert(!fg_order_accepts_payment(FG_ORDER_PAID));
    ck_assert(!fg_order_accepts_payment(FG_ORDER_CANCELLED));
    ck_assert(!fg_order_accepts_payment(FG_ORDER_EXPIRED));
}
END_TEST

START_TEST(status_names_round_trip)
{
    static const char *const ORDER[] = {"open", "partially_paid", "paid", "cancelled", "expired"};
    for (int i = 0; i < FG_ORDER_STATUS_COUNT; i++) {
        fg_order_status_t s;
        ck_assert_str_eq(fg_order_status_name((fg_order_status_t)i), ORDER[i]);
        ck_assert_int_eq(fg_order_status_parse(ORDER[i], strlen(ORDER[i]), &s), 0);
        ck_assert_int_eq(s, i);
    }
    fg_payment_status_t p;
    fg_refund_status_t r;
    fg_delivery_status_t d;
    ck_assert_int_eq(fg_payment_status_parse("expired", 7, &p), 0);
    ck_assert_int_eq(p, FG_PAYMENT_EXPIRED);
    ck_assert_int_eq(fg_refund_status_parse("expired", 7, &r), -1); /* refunds never expire */
    ck_assert_int_eq(fg_delivery_status_parse("delivered", 9, &d), 0);
    ck_assert_int_eq(d, FG_DELIVERY_DELIVERED);
    ck_assert_int_eq(fg_order_status_parse("open ", 5, (fg_order_status_t *)&p), -1);
    ck_assert_int_eq(fg_order_status_parse("ope", 3, (fg_order_status_t *)&p), -1);
    ck_assert_str_eq(FG_ORDER_STATUS_SQL("o.status"),
                     "(FIELD(o.status, 'open', 'partially_paid', 'paid', 'cancelled', 'expired') - 1)");
}
END_TEST

START_TEST(fee_type_names_round_trip)
{
    static const char *const FEE[] = {"tuition", "utility", "procedure"};
    const fg_fee_type_t types[] = {FG_FEE_TUITION, FG_FEE_UTILITY, FG_FEE_PROCEDURE};
    fg_fee_type_t t;
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(fg_fee_type_name(types[i]), FEE[i]);
        ck_assert_int_eq(fg_fee_type_parse(FEE[i], strlen(FEE[i]), &t), 0);
        ck_assert_int_eq(t, types[i]);
    }
    ck_assert_int_eq(fg_fee_type_parse("tax", 3, &t), FG_EINVALID);
    ck_assert_int_eq(fg_fee_type_parse("utilit", 6, &t), FG_EINVALID);
    ck_assert_int_eq(fg_fee_type_parse("utility\0", 8, &t), FG_EINVALID);
    ck_assert_int_eq(fg_fee_type_parse("", 0, &t), FG_EINVALID);
}
END_TEST

static Suite *orders_suite(void)
{
    Suite *s = suite_create("orders");
    TCase *tc = tcase_create("validation");
    tcase_add_test(tc, accepts_a_full_order);
    tcase_add_test(tc, amount_bounds);
    tcase_add_test(tc, required_fields_and_types);
    tcase_add_test(tc, enumerations);
    tcase_add_test(tc, lengths);
    tcase_add_test(tc, times);
    tcase_add_test(tc, metadata);
    tcase_add_test(tc, transport_checks);
    tcase_add_test(tc, duplicate_keys);
    tcase_add_test(tc, bills_header_names_each_column_once);
    tcase_add_test(tc, bills_dates_are_days_of_this_century);
    tcase_add_test(tc, fingerprint_covers_method_path_and_body);
    tcase_add_test(tc, effective_status);
    tcase_add_test(tc, payable_amount_and_acceptance);
    tcase_add_test(tc, status_names_round_trip);
    tcase_add_test(tc, fee_type_names_round_trip);
    tcase_add_test(tc, a_long_unknown_key_is_cut_between_characters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(orders_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
