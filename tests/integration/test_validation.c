/*
 * test_validation.c - every refused create-order request gets its exact
 * status, error code and field, in the error shape, over HTTP/1.1, h2c and
 * HTTP/2 TLS, and writes nothing; the values at the limits are accepted.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "harness.h"

static fgt_server_t srv;
static fgt_merchant_t mer;

/* A merchant of its own for each test; one server for them all (started
 * and stopped by main: a server's start and stop took ten times a test). */
static void setup(void) { fgt_merchant_create("Sở Tư pháp Kiểm Thử", mer.id, mer.key); }

/* ---- bodies ------------------------------------------------------------------ */

#define MIB (1024 * 1024)

/* A valid order with the given merchant_ref and more fields (",…" or ""). */
static void order_with(fg_buf_t *b, const char *ref, const char *fields)
{
    fg_buf_printf(b, "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":5,\"currency\":\"VND\"%s}", ref,
                  fields);
}

static void repeat(fg_buf_t *b, const char *s, int n)
{
    for (int i = 0; i < n; i++)
        fg_buf_puts(b, s);
}

/* ,"metadata":{"a":{"a":…"x"…}}: with the order's own object, depth levels. */
static void nested_objects(fg_buf_t *b, const char *ref, int depth)
{
    fg_buf_t m = FG_BUF_INIT;
    fg_buf_puts(&m, ",\"metadata\":");
    repeat(&m, "{\"a\":", depth - 1);
    fg_buf_puts(&m, "\"x\"");
    repeat(&m, "}", depth - 1);
    order_with(b, ref, m.data);
    fg_buf_free(&m);
}

static void depth_33(fg_buf_t *b, const char *ref) { nested_objects(b, ref, 33); }
static void depth_32(fg_buf_t *b, const char *ref) { nested_objects(b, ref, 32); }

static void arrays_40(fg_buf_t *b, const char *ref)
{
    (void)ref;
    repeat(b, "[", 40);
    repeat(b, "]", 40);
}

/* A valid order padded with spaces to exactly len bytes. */
static void padded_to(fg_buf_t *b, const char *ref, size_t len)
{
    order_with(b, ref, "");
    fg_buf_reserve(b, len - b->len);
    memmove(b->data + (len - b->len), b->data, b->len); /* spaces first: insignificant whitespace */
    memset(b->data, ' ', len - b->len);
    b->len = len;
    b->data[len] = '\0';
}

static void one_mib_plus_one(fg_buf_t *b, const char *ref) { padded_to(b, ref, MIB + 1); }
static void one_mib(fg_buf_t *b, const char *ref) { padded_to(b, ref, MIB); }

static void ref_of(fg_buf_t *b, const char *ref, size_t len)
{
    char long_ref[128];
    snprintf(long_ref, sizeof(long_ref), "%s%0*d", ref, (int)(len - strlen(ref)), 0);
    order_with(b, long_ref, "");
}

static void ref_65(fg_buf_t *b, const char *ref) { ref_of(b, ref, 65); }
static void ref_64(fg_buf_t *b, const char *ref) { ref_of(b, ref, 64); }

/* "ệ" is three bytes of UTF-8: the limit counts characters. */
static void description_of(fg_buf_t *b, const char *ref, int chars)
{
    fg_buf_t d = FG_BUF_INIT;
    fg_buf_puts(&d, ",\"description\":\"");
    repeat(&d, "ệ", chars);
    fg_buf_putc(&d, '"');
    order_with(b, ref, d.data);
    fg_buf_free(&d);
}

static void description_1001(fg_buf_t *b, const char *ref) { description_of(b, ref, 1001); }
static void description_1000(fg_buf_t *b, const char *ref) { description_of(b, ref, 1000); }

/* keys values of value_len characters c. */
static void metadata_of(fg_buf_t *b, const char *ref, int keys, int value_len, const char *c)
{
    fg_buf_t m = FG_BUF_INIT;
    fg_buf_puts(&m, ",\"metadata\":{");
    for (int k = 0; k < keys; k++) {
        fg_buf_printf(&m, "%s\"k%d\":\"", k > 0 ? "," : "", k);
        repeat(&m, c, value_len);
        fg_buf_putc(&m, '"');
    }
    fg_buf_putc(&m, '}');
    order_with(b, ref, m.data);
    fg_buf_free(&m);
}

static void metadata_over_4k(fg_buf_t *b, const char *ref) { metadata_of(b, ref, 10, 450, "ư"); } /* ~9 KB */
static void metadata_under_4k(fg_buf_t *b, const char *ref) { metadata_of(b, ref, 8, 480, "a"); } /* ~3.9 KB */

typedef struct {
    const char *name;
    const char *format; /* the body, "%1$s" being a fresh merchant_ref; or: */
    void (*build)(fg_buf_t *b, const char *ref);
    long status;
    const char *code, *field;
    long long amount; /* echoed when accepted */
} body_case_t;

/* Body fragments; %1$s is a fresh merchant_ref. */
#define REF "\"merchant_ref\":\"%1$s\""
#define FEE ",\"fee_type\":\"tuition\""
#define AMOUNT ",\"amount\":5"
#define VND ",\"currency\":\"VND\""
#define WITH(fields) "{" REF FEE AMOUNT VND fields "}"
#define WITHOUT_AMOUNT(fields) "{" REF FEE VND fields "}"

/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define REFUSE(name, format, build, status, code, field)                                                               \
    {                                                                                                                  \
        name, format, build, status, code, field, 0                                                                    \
    }
#define ACCEPT(name, format, build, amount)                                                                            \
    {                                                                                                                  \
        name, format, build, 201, NULL, NULL, amount                                                                   \
    }
/* clang-format on */

static const body_case_t REFUSED[] = {
    REFUSE("not JSON", "not json", NULL, 400, "invalid_json", NULL),
    REFUSE("truncated JSON", "{" REF, NULL, 400, "invalid_json", NULL),
    REFUSE("an array at the top", "[1,2]", NULL, 400, "invalid_json", NULL),
    REFUSE("no body", "", NULL, 400, "invalid_json", NULL),
    REFUSE("invalid UTF-8 in a string", WITH(",\"description\":\"a\xc3\x28 b\""), NULL, 400, "invalid_utf8", NULL),
    REFUSE("an overlong UTF-8 encoding", WITH(",\"description\":\"\xc0\xaf\""), NULL, 400, "invalid_utf8", NULL),
    REFUSE("33 nested objects", NULL, depth_33, 400, "json_too_deep", NULL),
    REFUSE("40 nested arrays", NULL, arrays_40, 400, "json_too_deep", NULL),
    REFUSE("32 levels pass the depth check", NULL, depth_32, 400, "invalid_type", "metadata"),
    REFUSE("1 MiB + 1 byte", NULL, one_mib_plus_one, 413, "body_too_large", NULL),
    REFUSE("no merchant_ref", "{\"fee_type\":\"tuition\"" AMOUNT VND "}", NULL, 400, "missing_field", "merchant_ref"),
    REFUSE("no fee_type", "{" REF AMOUNT VND "}", NULL, 400, "missing_field", "fee_type"),
    REFUSE("no amount", WITHOUT_AMOUNT(""), NULL, 400, "missing_field", "amount"),
    REFUSE("no currency", "{" REF FEE AMOUNT "}", NULL, 400, "missing_field", "currency"),
    REFUSE("amount as a string", WITHOUT_AMOUNT(",\"amount\":\"100\""), NULL, 400, "invalid_type", "amount"),
    REFUSE("amount with a fraction", WITHOUT_AMOUNT(",\"amount\":1.5"), NULL, 400, "invalid_type", "amount"),
    REFUSE("amount 0", WITHOUT_AMOUNT(",\"amount\":0"), NULL, 422, "amount_invalid", "amount"),
    REFUSE("amount -5", WITHOUT_AMOUNT(",\"amount\":-5"), NULL, 422, "amount_invalid", "amount"),
    REFUSE("amount 10^15 + 1", WITHOUT_AMOUNT(",\"amount\":1000000000000001"), NULL, 422, "amount_too_large", "amount"),
    REFUSE("amount beyond 64 bits", WITHOUT_AMOUNT(",\"amount\":99999999999999999999"), NULL, 422, "amount_too_large",
           "amount"),
    REFUSE("currency XYZ", "{" REF FEE AMOUNT ",\"currency\":\"XYZ\"}", NULL, 422, "invalid_currency", "currency"),
    REFUSE("currency in lower case", "{" REF FEE AMOUNT ",\"currency\":\"vnd\"}", NULL, 422, "invalid_currency",
           "currency"),
    REFUSE("fee_type tax", "{" REF ",\"fee_type\":\"tax\"" AMOUNT VND "}", NULL, 422, "invalid_fee_type", "fee_type"),
    REFUSE("merchant_ref of 65 bytes", NULL, ref_65, 422, "string_too_long", "merchant_ref"),
    REFUSE("description of 1001 characters", NULL, description_1001, 422, "string_too_long", "description"),
    REFUSE("an unknown field", WITH(",\"expire_at\":\"2030-01-01T00:00:00Z\""), NULL, 400, "unknown_field",
           "expire_at"),
    REFUSE("expires_at in the past", WITH(",\"expires_at\":\"2001-01-01T00:00:00Z\""), NULL, 422, "expires_at_in_past",
           "expires_at"),
    REFUSE("expires_at tomorrow", WITH(",\"expires_at\":\"tomorrow\""), NULL, 422, "invalid_timestamp", "expires_at"),
    REFUSE("a metadata number", WITH(",\"metadata\":{\"lop\":10}"), NULL, 400, "invalid_type", "metadata"),
    REFUSE("metadata over 4 KiB", NULL, metadata_over_4k, 422, "metadata_too_large", "metadata"),
    REFUSE("amount twice", WITH(",\"amount\":500000"), NULL, 400, "duplicate_field", "amount"),
    REFUSE("a key twice in metadata", WITH(",\"metadata\":{\"lop\":\"5A\",\"lop\":\"5B\"}"), NULL, 400,
           "duplicate_field", "lop"),
    REFUSE("\\u0000 in merchant_ref", "{\"merchant_ref\":\"%1$s\\u0000-other\"" FEE AMOUNT VND "}", NULL, 422,
           "invalid_characters", NULL),
    REFUSE("a lone high surrogate", WITH(",\"description\":\"a\\ud800b\""), NULL, 422, "invalid_characters", NULL),
    REFUSE("a lone low surrogate", WITH(",\"description\":\"\\udc00\""), NULL, 422, "invalid_characters", NULL),
};

static const body_case_t ACCEPTED[] = {
    ACCEPT("amount 10^15", WITHOUT_AMOUNT(",\"amount\":1000000000000000"), NULL, 1000000000000000LL),
    ACCEPT("merchant_ref of 64 bytes", NULL, ref_64, 5),
    ACCEPT("description of 1000 characters", NULL, description_1000, 5),
    ACCEPT("metadata under 4 KiB", NULL, metadata_under_4k, 5),
    ACCEPT("a body of exactly 1 MiB", NULL, one_mib, 5),
    ACCEPT("a surrogate pair and an escaped backslash before u0000",
           WITH(",\"description\":\"\\ud83d\\ude00 \\\\u0000\""), NULL, 5),
};

static char *case_body(const body_case_t *c, const char *ref, size_t *len)
{
    fg_buf_t b = FG_BUF_INIT;
    if (c->build != NULL)
        c->build(&b, ref);
    else
        fg_buf_printf(&b, c->format, ref);
    return fg_buf_steal(&b, len);
}

static void post(const body_case_t *c, fgt_proto_t p)
{
    size_t len;
    char *body = case_body(c, fgt_unique("V"), &len);
    fgt_response_t r = fgt_req(&srv, p, "POST", "/v1/orders", mer.key, NULL, len > 0 ? body : NULL, len, NULL);
    ck_assert_msg(r.status == c->status, "%s over %s: status %ld, wanted %ld: %.300s", c->name, fgt_proto_names[p],
                  r.status, c->status, r.body);
    fgt_expect(r, c->status, c->code);
    if (c->field != NULL) {
        const char *field = fgt_json_str(&r, "error", "field", NULL);
        ck_assert_msg(field != NULL && strcmp(field, c->field) == 0, "%s: field %s, wanted %s", c->name, field,
                      c->field);
    }
    if (c->status == 201)
        ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), c->amount);
    fgt_response_free(&r);
    free(body);
}

START_TEST(refused_and_nothing_written)
{
    const body_case_t *c = &REFUSED[_i];
    for (int p = 0; p < FGT_PROTOS; p++)
        post(c, (fgt_proto_t)p);
    ck_assert_msg(fgt_db_orders(mer.id) == 0, "%s: an order was written", c->name);
}
END_TEST

START_TEST(accepted_at_the_limit)
{
    const body_case_t *c = &ACCEPTED[_i];
    for (int p = 0; p < FGT_PROTOS; p++) {
        post(c, (fgt_proto_t)p);
        ck_assert_int_eq(fgt_db_orders(mer.id), p + 1);
    }
}
END_TEST

/* ---- headers and query parameters --------------------------------------------- */

START_TEST(idempotency_key_limits)
{
    char key[300];
    for (int p = 0; p < FGT_PROTOS; p++) {
        memset(key, 'k', 256);
        key[256] = '\0';
        fgt_response_t r = fgt_order_create(&srv, (fgt_proto_t)p, mer.key, key, fgt_unique("K"), 5, NULL);
        fgt_expect(r, 400, "invalid_idempotency_key");
        fgt_response_free(&r);
        r = fgt_order_create(&srv, (fgt_proto_t)p, mer.key, "schlüssel", fgt_unique("K"), 5, NULL);
        fgt_expect(r, 400, "invalid_idempotency_key"); /* printable ASCII only */
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_orders(mer.id), 0);
    for (int p = 0; p < FGT_PROTOS; p++) {
        snprintf(key, sizeof(key), "%s", fgt_unique("K"));
        memset(key + strlen(key), '~', 255 - strlen(key)); /* exactly 255 */
        key[255] = '\0';
        fgt_response_t r = fgt_order_create(&srv, (fgt_proto_t)p, mer.key, key, fgt_unique("K"), 5, NULL);
        fgt_expect(r, 201, NULL);
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_orders(mer.id), FGT_PROTOS);
}
END_TEST

START_TEST(list_parameters)
{
    static const struct {
        const char *query;
        long status;
        const char *code;
    } CASES[] = {{"limit=0", 400, "invalid_limit"},
                 {"limit=501", 400, "invalid_limit"},
                 {"limit=ten", 400, "invalid_limit"},
                 {"limit=-1", 400, "invalid_limit"},
                 {"cursor=!!", 400, "invalid_cursor"},
                 {"cursor=-5", 400, "invalid_cursor"},
                 {"status=paid-ish", 400, "invalid_status"},
                 {"created_from=yesterday", 400, "invalid_timestamp"},
                 {"limit=1", 200, NULL},
                 {"limit=500", 200, NULL}};
    char path[128];
    for (int p = 0; p < FGT_PROTOS; p++)
        for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
            snprintf(path, sizeof(path), "/v1/orders?%s", CASES[i].query);
            fgt_response_t r = fgt_req(&srv, (fgt_proto_t)p, "GET", path, mer.key, NULL, NULL, 0, NULL);
            fgt_expect(r, CASES[i].status, CASES[i].code);
            fgt_response_free(&r);
        }
}
END_TEST

/* A JSON route takes a body declared as JSON, and nothing else (415). */
START_TEST(json_routes_want_json)
{
    static const struct {
        const char *type; /* NULL: no Content-Type at all */
        long status;
    } CASES[] = {{"text/plain", 415},
                 {"application/x-www-form-urlencoded", 415},
                 {"multipart/form-data; boundary=x", 415},
                 {"application/jsonp", 415},
                 {NULL, 415},
                 {"application/json", 201},
                 {"application/json; charset=utf-8", 201},
                 {"Application/JSON;charset=UTF-8", 201},
                 {"application/json; charset=\"utf-8\"", 201},
                 {"application/json; charset=latin1", 415}, /* JSON is UTF-8: a body said to be another is refused */
                 {"application/json; v=1; charset=iso-8859-1", 415}};
    char auth[200], type[200], body[256];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mer.key);
    long long created = 0;
    for (int p = 0; p < FGT_PROTOS; p++)
        for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
            snprintf(body, sizeof(body),
                     "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":5,\"currency\":\"VND\"}",
                     fgt_unique("CT"));
            /* without a type of our own, curl would send its form type: send an empty one to drop it */
            snprintf(type, sizeof(type), "Content-Type:%s%s", CASES[i].type != NULL ? " " : "",
                     CASES[i].type != NULL ? CASES[i].type : "");
            const char *headers[] = {auth, type, NULL};
            fgt_response_t r = fgt_request(&srv, (fgt_proto_t)p, "POST", "/v1/orders", headers, body, 0);
            fgt_expect(r, CASES[i].status, CASES[i].status == 415 ? "unsupported_media_type" : NULL);
            fgt_response_free(&r);
            created += CASES[i].status == 201;
        }
    ck_assert_int_eq(fgt_db_orders(mer.id), created);
}
END_TEST

/* Every JSON body refuses a field it does not know, as an order does: a
 * misspelt "amount" on a payment would otherwise charge what the order owes
 * in full, and a misspelt field anywhere else would be dropped without a
 * word.  Nothing is made. */
START_TEST(every_body_refuses_unknown_fields)
{
    const char *ref = fgt_unique("UF");
    fgt_response_t r = fgt_order_create(&srv, FGT_HTTP1, mer.key, NULL, ref, 900, ",\"allow_partial\":true");
    fgt_expect(r, 201, NULL);
    char order[FGT_ID_CAP], path[200];
    snprintf(order, sizeof(order), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    char staff[200];
    fgt_staff_token("finance", staff);
    static const struct {
        const char *path; /* %s: the order's id */
        int staff;
        const char *body, *field;
    } CASES[] = {
        {"/v1/orders/%s/payments", 0, "{\"method\":\"sandbox\",\"amout\":300}", "amout"},
        {"/v1/orders/%s/payments", 0, "{\"method\":\"sandbox\",\"return_url\":\"https://example.com/\"}", "return_url"},
        {"/v1/payments/pay_01M98V05JRZJAQEG22MA7S0A3E/refunds", 0, "{\"amount\":100,\"reson\":\"x\"}", "reson"},
        {"/v1/reconciliations", 1,
         "{\"account\":\"0011001932418\",\"from\":\"2026-12-01\",\"to\":\"2026-12-01\","
         "\"acount\":\"1\"}",
         "acount"},
        {"/v1/reconciliations/rec_01M98V05JRZJAQEG22MA7S0A3E/items/1/resolve", 1,
         "{\"action\":\"accept\",\"note\":\"ok\",\"notes\":\"ok\"}", "notes"},
        {"/v1/orders/batch", 0, "{\"orders\":[{\"merchant_ref\":\"B1\"}],\"dry_run\":true}", "dry_run"},
        {"/v1/payout-batches", 1, "{\"account\":\"0011001932418\",\"acount\":\"x\"}", "acount"},
        {"/v1/reminder-policy", 0, "{\"steps\":[{\"days\":-1,\"channel\":\"sms\",\"chanel\":\"zalo\"}]}", "chanel"},
        {"/v1/reconciliations/rec_01M98V05JRZJAQEG22MA7S0A3E/items/1/resolve", 1,
         "{\"action\":\"apply\",\"note\":\"ok\",\"orders\":[{\"order\":\"ord_x\",\"amount\":1,\"amt\":2}]}", "amt"},
    };
    long long payments = fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL);
    long long recs = fgt_db_int("SELECT COUNT(*) FROM reconciliations", NULL, NULL);
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        snprintf(path, sizeof(path), CASES[i].path, order);
        r = fgt_req(&srv, FGT_HTTP1, "POST", path, CASES[i].staff ? staff : mer.key, fgt_unique("uf"), CASES[i].body, 0,
                    "Content-Type: application/json");
        fgt_expect_error(r, 400, "invalid_request", "unknown_field");
        ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), CASES[i].field);
        fgt_response_free(&r);
    }
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments", NULL, NULL), payments);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM reconciliations", NULL, NULL), recs);
    /* a body without its one field names what is missing */
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/payout-batches", staff, fgt_unique("uf"), "{}", 0,
                "Content-Type: application/json");
    fgt_expect_error(r, 400, "invalid_request", "missing_field");
    ck_assert_str_eq(fgt_json_str(&r, "error", "field", NULL), "account");
    fgt_response_free(&r);
    /* the same bodies without the stray field are taken */
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, mer.key, fgt_unique("uf"), "{\"method\":\"sandbox\",\"amount\":300}", 0,
                "Content-Type: application/json");
    fgt_expect(r, 201, NULL);
    ck_assert_int_eq(fgt_json_int(&r, "amount", NULL), 300);
    fgt_response_free(&r);
}
END_TEST

/* A POST whose action takes no input (cancel, an endpoint's enable, disable and rotate-secret, a
 * reconciliation's close) refuses a body that says something, as every other JSON route does,
 * and does nothing: a caller who sent {"reason":…} or a text body is told, not acted on. No body,
 * or {}, acts. */
START_TEST(actions_without_input_refuse_a_body)
{
    char path[200];
    fgt_response_t r = fgt_order_create(&srv, FGT_HTTP1, mer.key, NULL, fgt_unique("NI"), 900, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    static const struct {
        const char *type, *body, *code;
        long status;
    } BAD[] = {{"Content-Type: application/json", "{\"reason\":\"duplicate bill\"}", "unknown_field", 400},
               {"Content-Type: application/json", "not json", "invalid_json", 400},
               {"Content-Type: application/json", "[1]", "invalid_json", 400},
               {"Content-Type: text/plain", "cancel it", "unsupported_media_type", 415}};
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        r = fgt_req(&srv, FGT_HTTP1, "POST", path, mer.key, NULL, BAD[i].body, 0, BAD[i].type);
        fgt_expect(r, BAD[i].status, BAD[i].code);
        fgt_response_free(&r);
    }
    char endpoint[200], ep_path[260], body[300];
    snprintf(body, sizeof(body), "{\"url\":\"https://example.com/hook\",\"events\":[\"*\"]}");
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhook-endpoints", mer.key, NULL, body, 0,
                "Content-Type: application/json");
    fgt_expect(r, 201, NULL);
    snprintf(endpoint, sizeof(endpoint), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    static const char *const ACTIONS[] = {"disable", "enable", "rotate-secret"};
    for (size_t i = 0; i < sizeof(ACTIONS) / sizeof(ACTIONS[0]); i++) {
        snprintf(ep_path, sizeof(ep_path), "/v1/webhook-endpoints/%s/%s", endpoint, ACTIONS[i]);
        r = fgt_req(&srv, FGT_HTTP1, "POST", ep_path, mer.key, NULL, "{\"zzz\":1}", 0,
                    "Content-Type: application/json");
        fgt_expect(r, 400, "unknown_field");
        fgt_response_free(&r);
    }
    /* nothing was done: the order open, the endpoint enabled */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id WHERE "
                                "m.public_id = ? AND o.status = 'cancelled'",
                                mer.id, NULL),
                     0);
    ck_assert_int_eq(fgt_db_int("SELECT status = 'enabled' FROM webhook_endpoints WHERE public_id = ?", endpoint, NULL),
                     1);
    /* {} and no body act */
    r = fgt_req(&srv, FGT_HTTP1, "POST", path, mer.key, NULL, "{}", 0, "Content-Type: application/json");
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "cancelled");
    fgt_response_free(&r);
    snprintf(ep_path, sizeof(ep_path), "/v1/webhook-endpoints/%s/disable", endpoint);
    r = fgt_req(&srv, FGT_HTTP1, "POST", ep_path, mer.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT status = 'enabled' FROM webhook_endpoints WHERE public_id = ?", endpoint, NULL),
                     0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("validation");
    TCase *tc = fgt_tcase(s, "validation", setup, NULL);
    tcase_add_loop_test(tc, refused_and_nothing_written, 0, (int)(sizeof(REFUSED) / sizeof(REFUSED[0])));
    tcase_add_loop_test(tc, accepted_at_the_limit, 0, (int)(sizeof(ACCEPTED) / sizeof(ACCEPTED[0])));
    tcase_add_test(tc, idempotency_key_limits);
    tcase_add_test(tc, list_parameters);
    tcase_add_test(tc, json_routes_want_json);
    tcase_add_test(tc, every_body_refuses_unknown_fields);
    tcase_add_test(tc, actions_without_input_refuse_a_body);
    fgt_server_start(&srv, NULL);
    int rc = fgt_run(s);
    return fgt_server_stop(&srv) == 0 ? rc : 1;
}
