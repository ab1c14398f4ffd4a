/*
 * test_reminders.c - reminders and receipt e-mails end to end: a merchant's
 * policy through the API, every channel counted at banksim (its SMTP relay
 * through STARTTLS and AUTH, eSMS, Zalo ZNS), what stops a reminder (a paid,
 * cancelled or opted-out payer; the quiet hours; one a day), receipts by
 * e-mail, reminder.sent events, and exactly once across two instances and a
 * SIGKILL in the middle of sending.
 */
#include <check.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "banksim_client.h"
#include "core/crypto.h"
#include "core/day.h"
#include "core/text.h"
#include "harness.h"

#define SANDBOX_SECRET "reminders-sandbox-secret"
#define LINK_SECRET "reminders-link-secret-0123456789"

static const char *const FORM[] = {"Content-Type: application/x-www-form-urlencoded", NULL};

static fgt_server_t srv, srv2;
static fgt_banksim_t bank;
static int http_port;
static char cert_dir[] = "/tmp/feegate-reminders-XXXXXX", cert[128], cert_key[128];
static char env_store[16][320];
static const char *server_env[20];

/* ---- helpers -------------------------------------------------------------------------- */

/* Noon GMT+7 of the business day `offset` days from today, as RFC 3339 UTC. */
static void due_iso(int offset, char out[32])
{
    int32_t day = fg_day_of_ms(fg_now_ms());
    for (int i = 0; i < (offset > 0 ? offset : -offset); i++)
        day = offset > 0 ? fg_day_next(day) : fg_day_prev(day);
    fg_time_format_rfc3339(fg_day_start_ms(day) + 12 * 3600000LL, 0, out, 32);
}

static void merchant(const char *name, char *id, char *key) { fgt_merchant_create(name, id, key); }

static fgt_response_t set_policy(const char *key, const char *json)
{
    return fgt_req(&srv, FGT_H2C, "POST", "/v1/reminder-policy", key, NULL, json, 0, NULL);
}

/* Turns the merchant's reminders off, so that later tests' rounds leave it alone. */
static void policy_off(const char *key)
{
    fgt_response_t r = set_policy(key, "{\"steps\":[{\"days\":0,\"channel\":\"email\"}],\"enabled\":false}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

/* An order due `due` days from today (no due day when due is 99), payer contacts as given (NULL: none). */
static void order(const char *key, int due, const char *email, const char *phone, const char *ref, char *id, char *code)
{
    char body[1200], due_at[32], payer[400];
    due_iso(due, due_at);
    snprintf(payer, sizeof(payer), "\"payer\":{\"name\":\"Nguyễn Văn An\"%s%s%s%s%s%s%s%s%s}",
             email ? ",\"email\":\"" : "", email ? email : "", email ? "\"" : "", phone ? ",\"phone\":\"" : "",
             phone ? phone : "", phone ? "\"" : "", ref ? ",\"ref\":\"" : "", ref ? ref : "", ref ? "\"" : "");
    snprintf(body, sizeof(body),
             "{\"merchant_ref\":\"%s\",\"fee_type\":\"tuition\",\"amount\":4500000,\"currency\":\"VND\","
             "\"description\":\"Học phí tháng 9\",%s%s%s%s}",
             fgt_unique("RM"), payer, due != 99 ? ",\"due_at\":\"" : "", due != 99 ? due_at : "",
             due != 99 ? "\"" : "");
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", "/v1/orders", key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(id, 40, "%s", fgt_json_str(&r, "id", NULL));
    if (code != NULL)
        snprintf(code, 16, "%s", fgt_json_str(&r, "code", NULL));
    fgt_response_free(&r);
}

/* Pays the order in full through the sandbox gateway (a signed notification). */
static void pay(const char *key, const char *order_id)
{
    char path[128], body[300], header[200];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order_id);
    fgt_response_t r = fgt_req(&srv, FGT_HTTP1, "POST", path, key, fgt_unique("pk"), "{\"method\":\"sandbox\"}", 0,
                               NULL);
    fgt_expect(r, 201, NULL);
    snprintf(body, sizeof(body),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":4500000}",
             fgt_json_str(&r, "id", NULL), fgt_unique("SBX"));
    fgt_response_free(&r);
    fgt_sandbox_signature(SANDBOX_SECRET, body, header, sizeof(header));
    r = fgt_req(&srv, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", NULL, NULL, body, 0, header);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}

/* What banksim recorded on channel for to: the answer (free it). */
static fgt_response_t messages(const char *channel, const char *to)
{
    char path[300];
    snprintf(path, sizeof(path), "/control/messages?channel=%.8s&to=%.200s", channel, to);
    return fgt_banksim_get(&bank, path);
}

static long long count_of(const char *channel, const char *to)
{
    fgt_response_t r = messages(channel, to);
    ck_assert_int_eq(r.status, 200);
    long long n = fgt_json_int(&r, "count", NULL);
    fgt_response_free(&r);
    return n;
}

/* Waits until banksim has want messages on channel for to (at most 30 s). */
static void wait_count(const char *channel, const char *to, long long want)
{
    long long n = 0;
    for (int i = 0; i < 300 && (n = count_of(channel, to)) < want; i++)
        fgt_sleep_ms(100);
    ck_assert_msg(n == want, "%s to %s: %lld messages, want %lld", channel, to, n, want);
}

static fgt_response_t reminders_of(const char *key, const char *order_id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s/reminders", order_id);
    return fgt_req(&srv, FGT_H2C, "GET", path, key, NULL, NULL, 0, NULL);
}

/* Waits until the order's newest message has status (at most 30 s); returns the list (free it). */
static fgt_response_t wait_status(const char *key, const char *order_id, const char *status)
{
    for (int i = 0; i < 300; i++) {
        fgt_response_t r = reminders_of(key, order_id);
        yajl_val data = fgt_json_array(&r, "data", NULL);
        if (data != NULL && data->u.array.len > 0 &&
            strcmp(fgt_val_str(data->u.array.values[0], "status", NULL), status) == 0)
            return r;
        fgt_response_free(&r);
        fgt_sleep_ms(100);
    }
    ck_abort_msg("the messages of %s never reached %s", order_id, status);
    return (fgt_response_t){0};
}

static long long events_about(const char *key, const char *order_id)
{
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", "/v1/events?type=reminder.sent&limit=500", key, NULL, NULL, 0,
                               NULL);
    fgt_expect(r, 200, NULL);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    long long n = 0;
    for (size_t i = 0; data != NULL && i < data->u.array.len; i++) {
        const char *o = fgt_val_str(data->u.array.values[i], "data", "object", "order_id", NULL);
        if (o == NULL)
            o = fgt_val_str(data->u.array.values[i], "data", "order_id", NULL);
        if (o != NULL && strcmp(o, order_id) == 0)
            n++;
    }
    fgt_response_free(&r);
    return n;
}

static void reset(void)
{
    fgt_response_t r = fgt_banksim_control(&bank, "/control/reset", "{}");
    fgt_response_free(&r);
}

/* ---- the policy ------------------------------------------------------------------------------ */

START_TEST(a_policy_is_validated_and_kept_per_merchant)
{
    char m1[64], k1[64], m2[64], k2[64];
    merchant("Trường Tiểu học Chính Sách", m1, k1);
    merchant("Công ty Nước Chính Sách", m2, k2);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "GET", "/v1/reminder-policy", k1, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert(YAJL_IS_FALSE(fgt_val_at(r.json, "enabled", NULL)));
    ck_assert_uint_eq(fgt_json_array(&r, "steps", NULL)->u.array.len, 0);
    fgt_response_free(&r);

    static const struct {
        const char *body;
        long status;
        const char *code;
    } bad[] = {
        {"{}", 400, "missing_field"},
        {"{\"x\":1,\"steps\":[]}", 400, "unknown_field"},
        {"{\"steps\":[]}", 422, "invalid_reminder_policy"},
        {"{\"steps\":{}}", 400, "invalid_type"},
        {"{\"steps\":[{\"days\":-1,\"channel\":\"fax\"}]}", 422, "invalid_reminder_policy"},
        {"{\"steps\":[{\"days\":61,\"channel\":\"sms\"}]}", 422, "invalid_reminder_policy"},
        {"{\"steps\":[{\"days\":\"1\",\"channel\":\"sms\"}]}", 400, "invalid_type"},
        {"{\"steps\":[{\"days\":1,\"channel\":\"sms\",\"x\":2}]}", 400, "unknown_field"},
        {"{\"steps\":[{\"days\":1,\"channel\":\"sms\"},{\"days\":1,\"channel\":\"email\"}]}", 422,
         "invalid_reminder_policy"},
        {"{\"steps\":[{\"days\":1,\"channel\":\"sms\"}],\"language\":\"fr\"}", 422, "invalid_language"},
        {"{\"steps\":[{\"days\":1,\"channel\":\"sms\"}],\"enabled\":1}", 400, "invalid_type"},
        {"{\"steps\":[{\"days\":-9,\"channel\":\"sms\"},{\"days\":-8,\"channel\":\"sms\"},{\"days\":-7,\"channel\":"
         "\"sms\"},{\"days\":-6,\"channel\":\"sms\"},{\"days\":-5,\"channel\":\"sms\"},{\"days\":-4,\"channel\":\"sms\"},"
         "{\"days\":-3,\"channel\":\"sms\"},{\"days\":-2,\"channel\":\"sms\"},{\"days\":-1,\"channel\":\"sms\"}]}",
         422, "invalid_reminder_policy"},
        {"not json", 400, NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = set_policy(k1, bad[i].body);
        ck_assert_msg(r.status == bad[i].status, "%s: %ld %s", bad[i].body, r.status, r.body);
        if (bad[i].code != NULL)
            ck_assert_str_eq(fgt_json_str(&r, "error", "code", NULL), bad[i].code);
        fgt_response_free(&r);
    }
    /* nothing was stored by any of them */
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/reminder-policy", k1, NULL, NULL, 0, NULL);
    ck_assert_uint_eq(fgt_json_array(&r, "steps", NULL)->u.array.len, 0);
    fgt_response_free(&r);

    r = set_policy(k1, "{\"steps\":[{\"days\":3,\"channel\":\"email\"},{\"days\":-7,\"channel\":\"email\"},"
                       "{\"days\":0,\"channel\":\"zalo\"},{\"days\":-1,\"channel\":\"sms\"}],\"language\":\"en\"}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/reminder-policy", k1, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    yajl_val steps = fgt_json_array(&r, "steps", NULL);
    ck_assert_uint_eq(steps->u.array.len, 4);
    /* sorted by day */
    ck_assert_int_eq(fgt_val_at(steps->u.array.values[0], "days", NULL)->u.number.i, -7);
    ck_assert_str_eq(fgt_val_str(steps->u.array.values[1], "channel", NULL), "sms");
    ck_assert_str_eq(fgt_json_str(&r, "language", NULL), "en");
    ck_assert(YAJL_IS_TRUE(fgt_val_at(r.json, "enabled", NULL)));
    fgt_response_free(&r);
    /* the other merchant's is its own */
    r = fgt_req(&srv, FGT_H2C, "GET", "/v1/reminder-policy", k2, NULL, NULL, 0, NULL);
    ck_assert_uint_eq(fgt_json_array(&r, "steps", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    /* off again */
    r = set_policy(k1, "{\"steps\":[{\"days\":0,\"channel\":\"email\"}],\"enabled\":false}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}
END_TEST

/* ---- every channel, once ------------------------------------------------------------------------- */

START_TEST(each_step_reaches_its_channel_once_and_never_a_closed_order)
{
    char m[64], k[64], a[40], b[40], c[40], d[40], paid[40], cancelled[40], no_contact[40], code_a[16];
    char ea[80], ed[80], epaid[80], ecan[80], pb[16], pc[16];
    merchant("Trường THCS Nhắc Nộp", m, k);
    snprintf(ea, sizeof(ea), "%s@phuhuynh.example.vn", fgt_unique("a"));
    snprintf(ed, sizeof(ed), "%s@phuhuynh.example.vn", fgt_unique("d"));
    snprintf(epaid, sizeof(epaid), "%s@phuhuynh.example.vn", fgt_unique("p"));
    snprintf(ecan, sizeof(ecan), "%s@phuhuynh.example.vn", fgt_unique("c"));
    snprintf(pb, sizeof(pb), "09%08d", (int)(fg_now_ms() % 100000000));
    snprintf(pc, sizeof(pc), "03%08d", (int)(fg_now_ms() % 100000000));
    order(k, 7, ea, NULL, NULL, a, code_a);     /* 7 days before: e-mail */
    order(k, 1, NULL, pb, NULL, b, NULL);       /* the day before: SMS */
    order(k, 0, NULL, pc, NULL, c, NULL);       /* the due day: Zalo */
    order(k, -3, ed, NULL, NULL, d, NULL);      /* 3 days late: e-mail */
    order(k, 7, epaid, NULL, NULL, paid, NULL); /* paid before its reminder */
    order(k, 7, ecan, NULL, NULL, cancelled, NULL);
    order(k, 1, NULL, NULL, NULL, no_contact, NULL); /* nobody to reach */
    pay(k, paid);
    char path[96];
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", cancelled);
    fgt_response_t r = fgt_req(&srv, FGT_H2C, "POST", path, k, fgt_unique("cx"), "{}", 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);

    r = set_policy(k, "{\"steps\":[{\"days\":-7,\"channel\":\"email\"},{\"days\":-1,\"channel\":\"sms\"},"
                      "{\"days\":0,\"channel\":\"zalo\"},{\"days\":3,\"channel\":\"email\"}]}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    wait_count("email", ea, 1);
    wait_count("sms", pb, 1);
    wait_count("zalo", pc, 1);
    wait_count("email", ed, 1);

    /* what the payer reads */
    r = messages("email", ea);
    yajl_val e = fgt_json_array(&r, "data", NULL)->u.array.values[0];
    const char *body = fgt_val_str(e, "content", NULL);
    ck_assert_ptr_nonnull(strstr(body, "4.500.000\xc2\xa0₫"));
    ck_assert_ptr_nonnull(strstr(body, code_a));
    ck_assert_ptr_nonnull(strstr(body, "/pay/"));
    ck_assert_ptr_nonnull(strstr(body, "/reminders/opt-out/"));
    ck_assert_ptr_nonnull(strstr(fgt_val_str(e, "subject", NULL), "Nhắc nộp tiền: Học phí tháng 9"));
    ck_assert(YAJL_IS_TRUE(fgt_val_at(e, "tls", NULL)));
    ck_assert(YAJL_IS_TRUE(fgt_val_at(e, "auth", NULL)));
    ck_assert_str_eq(fgt_val_str(e, "key", NULL) + strlen(fgt_val_str(e, "key", NULL)) - strlen("@feegate>"),
                     "@feegate>");
    fgt_response_free(&r);
    r = messages("sms", pb);
    const char *sms = fgt_val_str(fgt_json_array(&r, "data", NULL)->u.array.values[0], "content", NULL);
    ck_assert_ptr_nonnull(strstr(sms, "nhac nop 4.500.000 d cho Hoc phi thang 9"));
    fgt_response_free(&r);
    r = messages("zalo", pc);
    yajl_val z = fgt_json_array(&r, "data", NULL)->u.array.values[0];
    ck_assert_str_eq(fgt_val_str(z, "template_id", NULL), "231000");
    ck_assert_ptr_nonnull(strstr(fgt_val_str(z, "content", NULL), "\"amount\":\"4.500.000\xc2\xa0₫\""));
    fgt_response_free(&r);

    /* recorded, shown, told */
    r = wait_status(k, a, "sent");
    yajl_val row = fgt_json_array(&r, "data", NULL)->u.array.values[0];
    ck_assert_str_eq(fgt_val_str(row, "channel", NULL), "email");
    ck_assert_str_eq(fgt_val_str(row, "kind", NULL), "reminder");
    ck_assert_int_eq(fgt_val_at(row, "step_days", NULL)->u.number.i, -7);
    ck_assert_ptr_nonnull(fgt_val_str(row, "provider_ref", NULL));
    fgt_response_free(&r);
    r = wait_status(k, b, "sent");
    ck_assert_ptr_nonnull(fgt_val_str(fgt_json_array(&r, "data", NULL)->u.array.values[0], "provider_ref", NULL));
    fgt_response_free(&r);
    for (int i = 0; i < 100 && events_about(k, a) == 0; i++)
        fgt_sleep_ms(100);
    ck_assert_int_eq(events_about(k, a), 1);

    /* more planning rounds (1 s each) change nothing: one a day */
    fgt_sleep_ms(3000);
    ck_assert_int_eq(count_of("email", ea), 1);
    ck_assert_int_eq(count_of("sms", pb), 1);
    ck_assert_int_eq(count_of("zalo", pc), 1);
    ck_assert_int_eq(count_of("email", ed), 1);
    ck_assert_int_eq(events_about(k, a), 1);
    /* a paid and a cancelled order got none (the paid one got its receipt only) */
    r = messages("email", epaid);
    yajl_val got = fgt_json_array(&r, "data", NULL);
    for (size_t i = 0; i < got->u.array.len; i++)
        ck_assert_ptr_null(strstr(fgt_val_str(got->u.array.values[i], "subject", NULL), "Nhắc nộp"));
    fgt_response_free(&r);
    ck_assert_int_eq(count_of("email", ecan), 0);
    r = reminders_of(k, no_contact);
    ck_assert_uint_eq(fgt_json_array(&r, "data", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    /* another merchant cannot read them */
    char m2[64], k2[64];
    merchant("Trường Khác", m2, k2);
    r = reminders_of(k2, a);
    fgt_expect(r, 404, "order_not_found");
    fgt_response_free(&r);
    policy_off(k);
}
END_TEST

/* ---- receipts by e-mail ---------------------------------------------------------------------------- */

START_TEST(a_payer_with_an_email_gets_the_receipt)
{
    char m[64], k[64], o[40], code[16], email[80];
    merchant("UBND Phường Biên Lai", m, k);
    snprintf(email, sizeof(email), "%s@congdan.example.vn", fgt_unique("r"));
    order(k, 99, email, NULL, NULL, o, code);
    pay(k, o);
    wait_count("email", email, 1);
    fgt_response_t r = messages("email", email);
    yajl_val e = fgt_json_array(&r, "data", NULL)->u.array.values[0];
    ck_assert_ptr_nonnull(strstr(fgt_val_str(e, "subject", NULL), "Biên lai số 0000001"));
    const char *body = fgt_val_str(e, "content", NULL);
    ck_assert_ptr_nonnull(strstr(body, "4.500.000\xc2\xa0₫"));
    ck_assert_ptr_nonnull(strstr(body, "/receipt?payment=pay_"));
    fgt_response_free(&r);
    r = wait_status(k, o, "sent");
    yajl_val row = fgt_json_array(&r, "data", NULL)->u.array.values[0];
    ck_assert_str_eq(fgt_val_str(row, "kind", NULL), "receipt");
    ck_assert(strncmp(fgt_val_str(row, "receipt_id", NULL), "rct_", 4) == 0);
    fgt_response_free(&r);
    fgt_sleep_ms(1500);
    ck_assert_int_eq(count_of("email", email), 1);
}
END_TEST

/* ---- opting out ----------------------------------------------------------------------------------- */

START_TEST(the_opt_out_link_stops_the_payers_reminders)
{
    char m[64], k[64], o1[40], o2[40], e1[80], e2[80], ref[32];
    merchant("Trường Mầm non Từ Chối", m, k);
    snprintf(e1, sizeof(e1), "%s@example.vn", fgt_unique("o1"));
    snprintf(e2, sizeof(e2), "%s@example.vn", fgt_unique("o2"));
    snprintf(ref, sizeof(ref), "%s", fgt_unique("HS"));
    order(k, 0, e1, NULL, ref, o1, NULL);
    order(k, 2, e2, NULL, ref, o2, NULL); /* the same pupil's next bill */
    fgt_response_t r = set_policy(k, "{\"steps\":[{\"days\":0,\"channel\":\"email\"}]}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    wait_count("email", e1, 1);
    r = messages("email", e1);
    const char *body = fgt_val_str(fgt_json_array(&r, "data", NULL)->u.array.values[0], "content", NULL);
    const char *link = strstr(body, "/reminders/opt-out/");
    ck_assert_ptr_nonnull(link);
    char path[200];
    size_t n = strcspn(link, "\r\n ");
    ck_assert_uint_lt(n, sizeof(path));
    memcpy(path, link, n);
    path[n] = '\0';
    fgt_response_free(&r);

    /* a wrong token is nothing */
    char wrong[200];
    snprintf(wrong, sizeof(wrong), "%.*sAAAA", (int)(strlen(path) - 4), path);
    r = fgt_request(&srv, FGT_HTTP1, "GET", wrong, NULL, NULL, 0);
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);
    r = fgt_request(&srv, FGT_HTTP1, "POST", wrong, FORM, "", 0);
    ck_assert_int_eq(r.status, 404);
    fgt_response_free(&r);
    /* GET shows, changes nothing */
    r = fgt_request(&srv, FGT_HTTP1, "GET", path, NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"receiving\""));
    ck_assert_ptr_nonnull(strstr(r.body, ref));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM reminder_opt_outs WHERE payer_key = CONCAT('ref:', ?)", ref,
                                NULL),
                     0);
    /* the button posts */
    r = fgt_request(&srv, FGT_HTTP1, "POST", path, FORM, "", 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"opted-out\""));
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM reminder_opt_outs WHERE payer_key = CONCAT('ref:', ?)", ref,
                                NULL),
                     1);
    /* the next bill comes due today: no reminder */
    char due[32];
    due_iso(0, due);
    int64_t due_ms;
    ck_assert_int_eq(fg_time_parse_rfc3339(due, strlen(due), &due_ms), 0);
    char sql[200];
    snprintf(sql, sizeof(sql), "UPDATE orders SET due_at = %lld WHERE public_id = ?", (long long)due_ms);
    fgt_db_exec(sql, o2);
    fgt_sleep_ms(3000);
    ck_assert_int_eq(count_of("email", e2), 0);
    r = reminders_of(k, o2);
    ck_assert_uint_eq(fgt_json_array(&r, "data", NULL)->u.array.len, 0);
    fgt_response_free(&r);
    /* the page says so */
    r = fgt_request(&srv, FGT_HTTP1, "GET", path, NULL, NULL, 0);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"opted-out\""));
    fgt_response_free(&r);
    policy_off(k);
}
END_TEST

/* ---- quiet hours, then paid ------------------------------------------------------------------------------ */

/* Restarts the suite's instance with extra settings (NULL: the suite's own). */
static void restart(const char *const *extra)
{
    ck_assert_int_eq(fgt_server_stop(&srv), 0);
    const char *env[24];
    int n = 0;
    for (int i = 0; server_env[i] != NULL; i++)
        env[n++] = server_env[i];
    for (int i = 0; extra != NULL && extra[i] != NULL; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    fgt_banksim_feegate_start(&srv, &bank, http_port, env);
}

START_TEST(sms_and_zalo_wait_out_the_quiet_hours_and_a_bill_paid_meanwhile_gets_none)
{
    char m[64], k[64], o_sms[40], o_zalo[40], o_mail[40], p1[16], p2[16], mail[80], quiet[64];
    /* quiet hours from a minute ago to two hours on (GMT+7) */
    int64_t now = fg_now_ms() + 7 * 3600000LL;
    int minute = (int)(now / 60000 % 1440), from = (minute + 1439) % 1440, to = (minute + 120) % 1440;
    snprintf(quiet, sizeof(quiet), "FEEGATE_REMINDERS_QUIET_HOURS=%02d:%02d-%02d:%02d", from / 60, from % 60, to / 60,
             to % 60);
    const char *const extra[] = {quiet, NULL};
    ck_assert_int_eq(fgt_server_stop(&srv2), 0); /* one instance, quiet */
    restart(extra);
    merchant("Điện lực Giờ Yên Tĩnh", m, k);
    snprintf(p1, sizeof(p1), "09%08d", (int)(fg_now_ms() % 100000000) ^ 1);
    snprintf(p2, sizeof(p2), "08%08d", (int)(fg_now_ms() % 100000000));
    snprintf(mail, sizeof(mail), "%s@example.vn", fgt_unique("q"));
    order(k, 1, NULL, p1, NULL, o_sms, NULL);
    order(k, 0, NULL, p2, NULL, o_zalo, NULL);
    order(k, 2, mail, NULL, NULL, o_mail, NULL);
    fgt_response_t r = set_policy(k, "{\"steps\":[{\"days\":-2,\"channel\":\"email\"},{\"days\":-1,\"channel\":"
                                     "\"sms\"},{\"days\":0,\"channel\":\"zalo\"}]}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    /* e-mail goes in the quiet hours */
    wait_count("email", mail, 1);
    fgt_sleep_ms(2500);
    ck_assert_int_eq(count_of("sms", p1), 0);
    ck_assert_int_eq(count_of("zalo", p2), 0);
    /* what waits is queued for the end of the quiet hours (or, when they run past midnight, belongs to tomorrow) */
    r = reminders_of(k, o_sms);
    yajl_val data = fgt_json_array(&r, "data", NULL);
    for (size_t i = 0; i < data->u.array.len; i++)
        ck_assert_str_ne(fgt_val_str(data->u.array.values[i], "status", NULL), "sent");
    fgt_response_free(&r);
    /* the Zalo bill is paid meanwhile; the quiet hours end (the instance restarts without them) */
    pay(k, o_zalo);
    restart(NULL);
    /* the quiet hours are over: what waited for their end is due */
    fgt_db_exec("UPDATE reminders r JOIN orders o ON o.id = r.order_id SET r.not_before = 0 WHERE o.public_id = ? "
                "AND r.status = 'queued'",
                o_sms);
    fgt_db_exec("UPDATE reminders r JOIN orders o ON o.id = r.order_id SET r.not_before = 0 WHERE o.public_id = ? "
                "AND r.status = 'queued'",
                o_zalo);
    fgt_server_start(&srv2, server_env);
    /* the SMS bill, still open, gets its SMS when it is planned for today; the paid one never */
    if (to > from) { /* the quiet hours end today: the reminders were planned for today */
        wait_count("sms", p1, 1);
        r = wait_status(k, o_zalo, "cancelled");
        yajl_val row = fgt_json_array(&r, "data", NULL)->u.array.values[0];
        ck_assert_str_eq(fgt_val_str(row, "last_error", NULL), "the order is paid");
        fgt_response_free(&r);
    }
    fgt_sleep_ms(2000);
    ck_assert_int_eq(count_of("zalo", p2), 0);
    policy_off(k);
}
END_TEST

/* ---- exactly once ---------------------------------------------------------------------------------------- */

#define ONCE_ORDERS 6

START_TEST(each_message_is_sent_once_across_two_instances_and_a_sigkill)
{
    char m[64], k[64], ms[64], ks[64], mails[ONCE_ORDERS][80], phones[ONCE_ORDERS][16];
    char orders[2 * ONCE_ORDERS][40];
    merchant("Trường Một Lần Mail", m, k);
    merchant("Trường Một Lần SMS", ms, ks);
    for (int i = 0; i < ONCE_ORDERS; i++) {
        snprintf(mails[i], sizeof(mails[i]), "%s@example.vn", fgt_unique("once"));
        snprintf(phones[i], sizeof(phones[i]), "07%08d", (int)((fg_now_ms() + i * 7919) % 100000000));
        order(k, 0, mails[i], NULL, NULL, orders[i], NULL);
        order(ks, 0, NULL, phones[i], NULL, orders[ONCE_ORDERS + i], NULL);
    }
    /* each provider answers 1.5 s after it has the message: a sender killed then has sent and not recorded */
    fgt_response_t r = fgt_banksim_control(&bank, "/control/chaos", "{\"messages_delay_ms\":1500}");
    fgt_response_free(&r);
    /* one instance sends, so that the first message at a provider is the one the kill lands on */
    ck_assert_int_eq(fgt_server_stop(&srv2), 0);
    r = set_policy(k, "{\"steps\":[{\"days\":0,\"channel\":\"email\"}]}");
    fgt_response_free(&r);
    r = set_policy(ks, "{\"steps\":[{\"days\":0,\"channel\":\"sms\"}]}");
    fgt_response_free(&r);
    /* the first message reaches a provider: kill the first instance in the middle of its sending */
    for (int i = 0; i < 300 && count_of("email", mails[0]) + count_of("sms", phones[0]) == 0; i++)
        fgt_sleep_ms(50);
    fgt_sleep_ms(300);
    kill(srv.pid, SIGKILL);
    waitpid(srv.pid, NULL, 0);
    srv.pid = 0;
    fgt_banksim_feegate_start(&srv, &bank, http_port, server_env);
    fgt_server_start(&srv2, server_env);
    /* every message ends sent: those the killed instance held after their lease (5 s), by either instance */
    for (int i = 0; i < 2 * ONCE_ORDERS; i++) {
        r = wait_status(i < ONCE_ORDERS ? k : ks, orders[i], "sent");
        fgt_response_free(&r);
    }
    r = fgt_banksim_control(&bank, "/control/chaos", "{}");
    fgt_response_free(&r);
    long long attempts = 0;
    for (int i = 0; i < ONCE_ORDERS; i++) {
        ck_assert_int_eq(count_of("email", mails[i]), 1);
        ck_assert_int_eq(count_of("sms", phones[i]), 1);
        r = messages("email", mails[i]);
        attempts += fgt_val_at(fgt_json_array(&r, "data", NULL)->u.array.values[0], "attempts", NULL)->u.number.i;
        fgt_response_free(&r);
        r = messages("sms", phones[i]);
        attempts += fgt_val_at(fgt_json_array(&r, "data", NULL)->u.array.values[0], "attempts", NULL)->u.number.i;
        fgt_response_free(&r);
        ck_assert_int_eq(events_about(k, orders[i]), 1);
        ck_assert_int_eq(events_about(ks, orders[ONCE_ORDERS + i]), 1);
    }
    /* the kill landed between a send and its record: that message went twice to its provider, which took it once */
    ck_assert_int_gt(attempts, 2 * ONCE_ORDERS);
    policy_off(k);
    policy_off(ks);
}
END_TEST

/* A round sends its messages one after another.  With the provider taking
 * 2 s a message and a lease of 5 s, the third message of a round of four
 * starts after its claim's lease has nearly run out and the fourth after it
 * has: each is renewed as its turn comes, or left to the other instance when
 * that one has taken it meanwhile.  The relay sees each message once. */
#define SLOW_ORDERS 4

START_TEST(a_slow_provider_gets_each_message_of_a_round_once)
{
    char m[64], k[64], mails[SLOW_ORDERS][80], orders[SLOW_ORDERS][40];
    merchant("Trường Chậm Mail", m, k);
    for (int i = 0; i < SLOW_ORDERS; i++) {
        snprintf(mails[i], sizeof(mails[i]), "%s@example.vn", fgt_unique("slow"));
        order(k, 0, mails[i], NULL, NULL, orders[i], NULL);
    }
    fgt_response_t r = fgt_banksim_control(&bank, "/control/chaos", "{\"messages_delay_ms\":2000}");
    fgt_response_free(&r);
    r = set_policy(k, "{\"steps\":[{\"days\":0,\"channel\":\"email\"}]}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    for (int i = 0; i < SLOW_ORDERS; i++) {
        r = wait_status(k, orders[i], "sent");
        fgt_response_free(&r);
    }
    r = fgt_banksim_control(&bank, "/control/chaos", "{}");
    fgt_response_free(&r);
    for (int i = 0; i < SLOW_ORDERS; i++) {
        r = messages("email", mails[i]);
        yajl_val data = fgt_json_array(&r, "data", NULL);
        ck_assert_int_eq(data->u.array.len, 1);
        ck_assert_msg(fgt_val_at(data->u.array.values[0], "attempts", NULL)->u.number.i == 1,
                      "message %d of the round reached the relay more than once", i + 1);
        fgt_response_free(&r);
        ck_assert_int_eq(events_about(k, orders[i]), 1);
    }
    policy_off(k);
}
END_TEST

/* A round is judged when it is claimed, then sent one message after
 * another.  A bill cancelled while the round is at the provider with an
 * earlier message must not get its reminder when its turn comes. */
START_TEST(a_bill_closed_while_its_round_is_sent_gets_no_reminder)
{
    char m[64], k[64], mails[SLOW_ORDERS][80], orders[SLOW_ORDERS][40];
    merchant("Trường Đóng Giữa Chừng", m, k);
    ck_assert_int_eq(fgt_server_stop(&srv2), 0); /* one sender: the first message at the relay is its round's */
    for (int i = 0; i < SLOW_ORDERS; i++) {
        snprintf(mails[i], sizeof(mails[i]), "%s@example.vn", fgt_unique("mid"));
        order(k, 0, mails[i], NULL, NULL, orders[i], NULL);
    }
    fgt_response_t r = fgt_banksim_control(&bank, "/control/chaos", "{\"messages_delay_ms\":2000}");
    fgt_response_free(&r);
    r = set_policy(k, "{\"steps\":[{\"days\":0,\"channel\":\"email\"}]}");
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    /* the round's first message is at the relay (2 s): every other bill is cancelled now */
    int first = -1;
    for (int i = 0; i < 300 && first < 0; i++) {
        for (int k2 = 0; k2 < SLOW_ORDERS && first < 0; k2++)
            if (count_of("email", mails[k2]) > 0)
                first = k2;
        if (first < 0)
            fgt_sleep_ms(20);
    }
    ck_assert_int_ge(first, 0);
    for (int i = 0; i < SLOW_ORDERS; i++) {
        if (i == first)
            continue;
        char path[96];
        snprintf(path, sizeof(path), "/v1/orders/%.39s/cancel", orders[i]);
        r = fgt_req(&srv, FGT_H2C, "POST", path, k, NULL, "{}", 0, NULL);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    r = wait_status(k, orders[first], "sent");
    fgt_response_free(&r);
    for (int i = 0; i < SLOW_ORDERS; i++) {
        if (i == first)
            continue;
        r = wait_status(k, orders[i], "cancelled");
        fgt_response_free(&r);
    }
    r = fgt_banksim_control(&bank, "/control/chaos", "{}");
    fgt_response_free(&r);
    for (int i = 0; i < SLOW_ORDERS; i++)
        ck_assert_int_eq(count_of("email", mails[i]), i == first ? 1 : 0);
    policy_off(k);
    fgt_server_start(&srv2, server_env);
}
END_TEST

/* A message whose last allowed try was cut off (its sender stopped while
 * sending, its lease ran out) may have been delivered.  An SMS gets one more
 * try under its RequestId (eSMS takes it once); an e-mail is failed, saying
 * its outcome is not known, rather than sent twice. */
START_TEST(a_last_try_cut_off_is_tried_once_more_only_where_the_provider_deduplicates)
{
    char m[64], k[64], ms[64], ks[64], mail[80], phone[16], o_mail[40], o_sms[40];
    merchant("Trường Lần Cuối Mail", m, k);
    merchant("Trường Lần Cuối SMS", ms, ks);
    snprintf(mail, sizeof(mail), "%s@example.vn", fgt_unique("last"));
    snprintf(phone, sizeof(phone), "09%08d", (int)(fg_now_ms() % 100000000));
    order(k, 0, mail, NULL, NULL, o_mail, NULL);
    order(ks, 0, NULL, phone, NULL, o_sms, NULL);
    fgt_response_t r = set_policy(k, "{\"steps\":[{\"days\":0,\"channel\":\"email\"}]}");
    fgt_response_free(&r);
    r = set_policy(ks, "{\"steps\":[{\"days\":0,\"channel\":\"sms\"}]}");
    fgt_response_free(&r);
    r = wait_status(k, o_mail, "sent");
    fgt_response_free(&r);
    r = wait_status(ks, o_sms, "sent");
    fgt_response_free(&r);
    long long sms_before = count_of("sms", phone), mail_before = count_of("email", mail);
    /* both as if their eighth and last try had been cut off, the sender gone */
    const char *orders[] = {o_mail, o_sms};
    for (int i = 0; i < 2; i++)
        fgt_db_exec("UPDATE reminders r JOIN orders o ON o.id = r.order_id SET r.status = 'sending', r.attempts = 8, "
                    "r.lease_until = 1, r.provider_ref = NULL, r.sent_at = NULL WHERE o.public_id = ?",
                    orders[i]);
    r = wait_status(ks, o_sms, "sent"); /* tried once more: eSMS knows its RequestId */
    fgt_response_free(&r);
    r = wait_status(k, o_mail, "failed");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT r.attempts FROM reminders r JOIN orders o ON o.id = r.order_id WHERE "
                                "o.public_id = ?",
                                o_sms, NULL),
                     9);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM reminders r JOIN orders o ON o.id = r.order_id WHERE "
                                "o.public_id = ? AND r.last_error LIKE '%outcome is not known%'",
                                o_mail, NULL),
                     1);
    ck_assert_int_eq(count_of("email", mail), mail_before);
    ck_assert_int_le(count_of("sms", phone), sms_before + 1);
    policy_off(k);
    policy_off(ks);
}
END_TEST

/* ---- main ---------------------------------------------------------------------------------------------- */

static void make_cert(void)
{
    char cmd[1024];
    if (mkdtemp(cert_dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(cert, sizeof(cert), "%s/cert.pem", cert_dir);
    snprintf(cert_key, sizeof(cert_key), "%s/key.pem", cert_dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
             "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout %s -out %s 2>/dev/null",
             cert_key, cert);
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl could not make a certificate\n");
        exit(1);
    }
}

int main(void)
{
    /* the tests restart and kill the suite's servers: they run in this process, not a fork of it */
    setenv("CK_FORK", "no", 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    make_cert();
    http_port = fgt_free_port();
    const char *const tls_args[] = {"--smtp-tls-cert", cert, "--smtp-tls-key", cert_key, NULL};
    fgt_banksim_start_with(&bank, http_port, tls_args);
    int n = 0;
    snprintf(env_store[n++], 320, "FEEGATE_SANDBOX_SECRET=%s", SANDBOX_SECRET);
    snprintf(env_store[n++], 320, "FEEGATE_REMINDERS_LINK_SECRET=%s", LINK_SECRET);
    snprintf(env_store[n++], 320, "FEEGATE_REMINDERS_PLAN_INTERVAL_S=1");
    snprintf(env_store[n++], 320, "FEEGATE_REMINDERS_LEASE_S=5");
    snprintf(env_store[n++], 320, "FEEGATE_REMINDERS_QUIET_HOURS=");
    snprintf(env_store[n++], 320, "FEEGATE_SMTP_URL=smtp://127.0.0.1:%d", bank.smtp_port);
    snprintf(env_store[n++], 320, "FEEGATE_SMTP_FROM=thu-phi@feegate.example.vn");
    snprintf(env_store[n++], 320, "FEEGATE_SMTP_USERNAME=%s", FGT_BANKSIM_SMTP_USER);
    snprintf(env_store[n++], 320, "FEEGATE_SMTP_PASSWORD=%s", FGT_BANKSIM_SMTP_PASSWORD);
    snprintf(env_store[n++], 320, "FEEGATE_SMTP_CA_FILE=%s", cert);
    snprintf(env_store[n++], 320, "FEEGATE_SMS_URL=%s/esms/MainService.svc/json/SendMultipleMessage_V4_post_json/",
             bank.url);
    snprintf(env_store[n++], 320, "FEEGATE_SMS_API_KEY=esms-test-key");
    snprintf(env_store[n++], 320, "FEEGATE_SMS_SECRET_KEY=esms-test-secret");
    snprintf(env_store[n++], 320, "FEEGATE_SMS_BRANDNAME=FEEGATE");
    snprintf(env_store[n++], 320, "FEEGATE_ZALO_URL=%s/zalo/message/template", bank.url);
    snprintf(env_store[n++], 320, "FEEGATE_ZALO_ACCESS_TOKEN=zalo-test-token");
    for (int i = 0; i < n; i++)
        server_env[i] = env_store[i];
    server_env[n] = "FEEGATE_ZALO_TEMPLATE_ID=231000";
    server_env[n + 1] = NULL;
    fgt_banksim_feegate_start(&srv, &bank, http_port, server_env);
    fgt_server_start(&srv2, server_env);

    Suite *s = suite_create("reminders");
    TCase *tc = tcase_create("reminders");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, reset, NULL);
    tcase_add_test(tc, a_policy_is_validated_and_kept_per_merchant);
    tcase_add_test(tc, each_step_reaches_its_channel_once_and_never_a_closed_order);
    tcase_add_test(tc, a_payer_with_an_email_gets_the_receipt);
    tcase_add_test(tc, the_opt_out_link_stops_the_payers_reminders);
    tcase_add_test(tc, each_message_is_sent_once_across_two_instances_and_a_sigkill);
    tcase_add_test(tc, a_slow_provider_gets_each_message_of_a_round_once);
    tcase_add_test(tc, a_bill_closed_while_its_round_is_sent_gets_no_reminder);
    tcase_add_test(tc, a_last_try_cut_off_is_tried_once_more_only_where_the_provider_deduplicates);
    tcase_add_test(tc, sms_and_zalo_wait_out_the_quiet_hours_and_a_bill_paid_meanwhile_gets_none);
    suite_add_tcase(s, tc);
    int rc = fgt_run(s);
    if (fgt_server_stop(&srv2) != 0)
        rc = 1;
    if (fgt_server_stop(&srv) != 0)
        rc = 1;
    fgt_banksim_stop(&bank);
    unlink(cert);
    unlink(cert_key);
    rmdir(cert_dir);
    return rc;
}
