/*
 * test_banksim_messages.c - the reminder channels banksim plays (eSMS, Zalo
 * ZNS, the SMTP relay): what a sender gets answered, and what
 * GET /control/messages says each provider received, repeats and refusals
 * included.  The SMTP relay is driven with libcurl (STARTTLS, AUTH PLAIN and
 * LOGIN) and, for bad sequences, byte by byte.
 *
 * Two simulators: `plain` as fgt_banksim_start makes it (AUTH, no TLS) and
 * `tls` with a certificate made here (STARTTLS, AUTH only inside TLS).
 */
#define _GNU_SOURCE
#include "banksim_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ESMS_PATH "/esms/MainService.svc/json/SendMultipleMessage_V4_post_json/"

static fgt_banksim_t plain, tls;
static char cert_dir[] = "/tmp/banksim-messages-XXXXXX", cert[128], key[128];

static void setup(void)
{
    fgt_response_t r = fgt_banksim_control(&plain, "/control/reset", "{}");
    fgt_response_free(&r);
    r = fgt_banksim_control(&tls, "/control/reset", "{}");
    fgt_response_free(&r);
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* POST body to banksim's path with one extra header (or NULL). */
static fgt_response_t post(const fgt_banksim_t *b, const char *path, const char *header, const char *body)
{
    fgt_server_t s = {.http_port = b->port};
    const char *headers[] = {"Content-Type: application/json", header, NULL};
    return fgt_request(&s, FGT_HTTP1, "POST", path, headers, body, 0);
}

static fgt_response_t sms(const char *phone, const char *content, const char *request_id)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"ApiKey\":\"esms-test-key\",\"SecretKey\":\"esms-test-secret\",\"Phone\":\"%s\","
             "\"Content\":\"%s\",\"Brandname\":\"FEEGATE\",\"SmsType\":\"2\",\"IsUnicode\":0,"
             "\"RequestId\":\"%s\",\"CallbackUrl\":\"\",\"Sandbox\":0}",
             phone, content, request_id);
    fgt_response_t r = post(&plain, ESMS_PATH, NULL, body);
    ck_assert_int_eq(r.status, 200);
    return r;
}

static fgt_response_t zalo(const char *token, const char *body)
{
    char header[128];
    snprintf(header, sizeof(header), "access_token: %s", token);
    fgt_response_t r = post(&plain, "/zalo/message/template", header, body);
    ck_assert_int_eq(r.status, 200);
    return r;
}

/* The message at index i of a /control/messages answer. */
static yajl_val message_at(const fgt_response_t *r, size_t i)
{
    yajl_val data = fgt_json_array(r, "data", NULL);
    ck_assert_msg(i < data->u.array.len, "no message %zu: %s", i, r->body);
    return data->u.array.values[i];
}

static long long member_int(yajl_val v, const char *name)
{
    yajl_val n = fgt_val_at(v, name, NULL);
    ck_assert_msg(n != NULL && YAJL_IS_INTEGER(n), "no integer %s", name);
    return YAJL_GET_INTEGER(n);
}

static int member_true(yajl_val v, const char *name)
{
    yajl_val b = fgt_val_at(v, name, NULL);
    ck_assert_msg(b != NULL && (YAJL_IS_TRUE(b) || YAJL_IS_FALSE(b)), "no boolean %s", name);
    return YAJL_IS_TRUE(b);
}

/* ---- e-mail through libcurl ------------------------------------------------------------------------- */

typedef struct {
    const char *data;
    size_t pos;
} upload_t;

static size_t upload(char *buf, size_t size, size_t count, void *arg)
{
    upload_t *u = arg;
    size_t left = strlen(u->data + u->pos), n = size * count < left ? size * count : left;
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

typedef struct {
    const fgt_banksim_t *b;
    const char *mechanism; /* "PLAIN" or "LOGIN" */
    const char *password;
    const char *const *recipients; /* NULL-terminated */
    const char *message;
} mail_t;

/* Sends m over SMTP: through STARTTLS (the certificate verified) to `tls`,
 * in the clear to `plain`.  Returns the CURLcode. */
static CURLcode send_mail(const mail_t *m)
{
    CURL *c = curl_easy_init();
    struct curl_slist *rcpt = NULL, *resolve = NULL;
    char url[64], entry[64], options[32];
    upload_t u = {m->message, 0};
    ck_assert_ptr_nonnull(c);
    for (const char *const *r = m->recipients; *r != NULL; r++)
        rcpt = curl_slist_append(rcpt, *r);
    snprintf(url, sizeof(url), "smtp://localhost:%d", m->b->smtp_port);
    snprintf(entry, sizeof(entry), "localhost:%d:127.0.0.1", m->b->smtp_port);
    snprintf(options, sizeof(options), "AUTH=%s", m->mechanism);
    resolve = curl_slist_append(resolve, entry);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, "<reminders@feegate.test>");
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_USERNAME, FGT_BANKSIM_SMTP_USER);
    curl_easy_setopt(c, CURLOPT_PASSWORD, m->password);
    curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, options);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, upload);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (m->b == &tls) {
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        curl_easy_setopt(c, CURLOPT_CAINFO, cert);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(rcpt);
    curl_slist_free_all(resolve);
    curl_easy_cleanup(c);
    return rc;
}

static const char *const two_parents[] = {"<phuhuynh.an@example.vn>", "<Phuhuynh.Binh@example.vn>", NULL};

/* A reminder with a Vietnamese subject as feegate encodes it, and a body
 * line that starts with a dot (curl stuffs it, the relay unstuffs it). */
static const char reminder[] = "From: Feegate <reminders@feegate.test>\r\n"
                               "To: phuhuynh.an@example.vn\r\n"
                               "Message-ID: <reminder-1@feegate.test>\r\n"
                               "Subject: =?UTF-8?B?Tmjhuq9jIG7hu5lwIGjhu41jIHBow60=?=\r\n"
                               " =?UTF-8?Q?_HP2025-000124?=\r\n"
                               "MIME-Version: 1.0\r\n"
                               "Content-Type: text/plain; charset=UTF-8\r\n"
                               "\r\n"
                               "Hoc phi thang 12: 2.277.000 VND.\r\n"
                               ".NET va cac ngay nghi\r\n";

/* ---- raw SMTP ---------------------------------------------------------------------------------------- */

/* Sends line (when not NULL) and returns the reply's code (its last line's). */
static int smtp_say(int fd, const char *line)
{
    char reply[2048];
    size_t len = 0;
    if (line != NULL)
        ck_assert_int_eq(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t)strlen(line));
    for (;;) {
        ssize_t n = recv(fd, reply + len, sizeof(reply) - 1 - len, 0);
        ck_assert_msg(n > 0, "the relay hung up after %s", line != NULL ? line : "connecting");
        len += (size_t)n;
        reply[len] = '\0';
        /* complete when the last line is "NNN text\r\n" */
        char *end = len >= 2 && strcmp(reply + len - 2, "\r\n") == 0 ? reply + len - 2 : NULL;
        if (end == NULL)
            continue;
        char *last = end;
        while (last > reply && last[-1] != '\n')
            last--;
        if (end - last >= 4 && last[3] == ' ')
            return atoi(last);
    }
}

static int smtp_open(const fgt_banksim_t *b)
{
    int fd = fgt_tcp_connect(b->smtp_port);
    struct timeval timeout = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ck_assert_int_eq(smtp_say(fd, NULL), 220);
    return fd;
}

/* ---- SMS --------------------------------------------------------------------------------------------- */

START_TEST(sms_is_recorded_once_per_request_id)
{
    fgt_response_t first = sms("0912345678", "Nhac nop hoc phi HP2025-000124", "remind-1");
    ck_assert_str_eq(fgt_json_str(&first, "CodeResult", NULL), "100");
    const char *sms_id = fgt_json_str(&first, "SMSID", NULL);
    ck_assert_ptr_nonnull(sms_id);
    /* a retry with the same RequestId: the same SMSID, not a second message */
    fgt_response_t again = sms("0912345678", "Nhac nop hoc phi HP2025-000124", "remind-1");
    ck_assert_str_eq(fgt_json_str(&again, "CodeResult", NULL), "100");
    ck_assert_str_eq(fgt_json_str(&again, "SMSID", NULL), sms_id);
    fgt_response_t other = sms("84987654321", "Nhac nop hoc phi HP2025-000125", "remind-2");
    ck_assert_str_ne(fgt_json_str(&other, "SMSID", NULL), sms_id);

    fgt_response_t m = fgt_banksim_messages(&plain, "sms");
    ck_assert_int_eq(fgt_json_int(&m, "count", NULL), 2);
    yajl_val one = message_at(&m, 0);
    ck_assert_str_eq(fgt_val_str(one, "channel", NULL), "sms");
    ck_assert_str_eq(fgt_val_str(one, "key", NULL), "remind-1");
    ck_assert_str_eq(fgt_val_str(one, "id", NULL), sms_id);
    ck_assert_str_eq(fgt_val_str(one, "to", NULL), "0912345678");
    ck_assert_str_eq(fgt_val_str(one, "content", NULL), "Nhac nop hoc phi HP2025-000124");
    ck_assert_int_eq(member_int(one, "attempts"), 2);
    ck_assert_int_eq(strlen(fgt_val_str(one, "received_at", NULL)), 20); /* 2026-01-02T03:04:05Z */
    ck_assert_int_eq(member_int(message_at(&m, 1), "attempts"), 1);
    fgt_response_free(&m);
    /* ?to= knows both forms of a number */
    m = fgt_banksim_get(&plain, "/control/messages?channel=sms&to=84912345678");
    ck_assert_int_eq(fgt_json_int(&m, "count", NULL), 1);
    ck_assert_str_eq(fgt_val_str(message_at(&m, 0), "key", NULL), "remind-1");
    fgt_response_free(&m);
    /* the other channels received nothing */
    m = fgt_banksim_messages(&plain, "zalo");
    ck_assert_int_eq(fgt_json_int(&m, "count", NULL), 0);
    fgt_response_free(&m);
    m = fgt_banksim_get(&plain, "/control/messages?channel=fax");
    ck_assert_int_eq(m.status, 400);
    fgt_response_free(&m);
    fgt_response_free(&first);
    fgt_response_free(&again);
    fgt_response_free(&other);
}
END_TEST

START_TEST(sms_refusals_deliver_nothing)
{
    static const struct {
        const char *body, *code;
    } cases[] = {
        {"{\"ApiKey\":\"wrong\",\"SecretKey\":\"esms-test-secret\",\"Phone\":\"0912345678\",\"Content\":\"x\","
         "\"Brandname\":\"FEEGATE\",\"SmsType\":\"2\"}",
         "101"},
        {"{\"ApiKey\":\"esms-test-key\",\"SecretKey\":\"esms-test-secret\",\"Phone\":\"0912345678\",\"Content\":\"x\","
         "\"Brandname\":\"OTHER\",\"SmsType\":\"2\"}",
         "104"},
        {"{\"ApiKey\":\"esms-test-key\",\"SecretKey\":\"esms-test-secret\",\"Phone\":\"091234\",\"Content\":\"x\","
         "\"Brandname\":\"FEEGATE\",\"SmsType\":\"2\"}",
         "99"},
        {"{\"ApiKey\":\"esms-test-key\",\"SecretKey\":\"esms-test-secret\",\"Phone\":\"0912345678\","
         "\"Brandname\":\"FEEGATE\",\"SmsType\":\"2\"}",
         "99"},
        {"not json", "99"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fgt_response_t r = post(&plain, ESMS_PATH, NULL, cases[i].body);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(strcmp(fgt_json_str(&r, "CodeResult", NULL), cases[i].code) == 0, "case %zu: %s", i, r.body);
        ck_assert_ptr_null(fgt_json_str(&r, "SMSID", NULL));
        ck_assert_ptr_nonnull(fgt_json_str(&r, "ErrorMessage", NULL));
        fgt_response_free(&r);
    }
    /* chaos sms_code: every SMS refused with it */
    fgt_response_t c = fgt_banksim_control(&plain, "/control/chaos", "{\"sms_code\":\"99\"}");
    ck_assert_str_eq(fgt_json_str(&c, "chaos", "sms_code", NULL), "99");
    fgt_response_free(&c);
    fgt_response_t r = sms("0912345678", "Nhac nop hoc phi", "refused-1");
    ck_assert_str_eq(fgt_json_str(&r, "CodeResult", NULL), "99");
    fgt_response_free(&r);
    c = fgt_banksim_control(&plain, "/control/reset", "{}");
    ck_assert(fgt_json_is_null(&c, "chaos", "sms_code", NULL));
    fgt_response_free(&c);
    fgt_response_t m = fgt_banksim_messages(&plain, "sms");
    ck_assert_int_eq(fgt_json_int(&m, "count", NULL), 0);
    fgt_response_free(&m);
    /* after the reset the same RequestId goes through */
    r = sms("0912345678", "Nhac nop hoc phi", "refused-1");
    ck_assert_str_eq(fgt_json_str(&r, "CodeResult", NULL), "100");
    fgt_response_free(&r);
    c = fgt_banksim_get(&plain, "/control/messages");
    ck_assert_int_eq(fgt_json_int(&c, "count", NULL), 1);
    fgt_response_free(&c);
}
END_TEST

/* ---- Zalo ---------------------------------------------------------------------------------------------- */

START_TEST(zalo_is_recorded_once_per_tracking_id)
{
    static const char body[] = "{\"phone\":\"84912345678\",\"template_id\":\"231456\","
                               "\"template_data\":{\"student\":\"Nguyễn Văn An\",\"amount\":2277000},"
                               "\"tracking_id\":\"zns-1\"}";
    fgt_response_t first = zalo("zalo-test-token", body);
    ck_assert_int_eq(fgt_json_int(&first, "error", NULL), 0);
    ck_assert_str_eq(fgt_json_str(&first, "message", NULL), "Success");
    const char *msg_id = fgt_json_str(&first, "data", "msg_id", NULL);
    ck_assert_ptr_nonnull(msg_id);
    const char *sent = fgt_json_str(&first, "data", "sent_time", NULL);
    ck_assert_ptr_nonnull(sent);
    ck_assert(llabs(atoll(sent) - (long long)time(NULL) * 1000) < 60000);
    ck_assert_str_eq(fgt_json_str(&first, "data", "quota", "dailyQuota", NULL), "500");
    ck_assert_str_eq(fgt_json_str(&first, "data", "quota", "remainingQuota", NULL), "499");
    fgt_response_t again = zalo("zalo-test-token", body);
    ck_assert_str_eq(fgt_json_str(&again, "data", "msg_id", NULL), msg_id);
    ck_assert_str_eq(fgt_json_str(&again, "data", "sent_time", NULL), sent);

    fgt_response_t m = fgt_banksim_messages(&plain, "zalo");
    ck_assert_int_eq(fgt_json_int(&m, "count", NULL), 1);
    yajl_val one = message_at(&m, 0);
    ck_assert_str_eq(fgt_val_str(one, "key", NULL), "zns-1");
    ck_assert_str_eq(fgt_val_str(one, "id", NULL), msg_id);
    ck_assert_str_eq(fgt_val_str(one, "to", NULL), "84912345678");
    ck_assert_str_eq(fgt_val_str(one, "template_id", NULL), "231456");
    ck_assert_str_eq(fgt_val_str(one, "content", NULL), "{\"student\":\"Nguyễn Văn An\",\"amount\":2277000}");
    ck_assert_int_eq(member_int(one, "attempts"), 2);
    fgt_response_free(&m);
    fgt_response_free(&first);
    fgt_response_free(&again);
}
END_TEST

START_TEST(zalo_refusals_deliver_nothing)
{
    static const struct {
        const char *token, *body;
        int error;
    } cases[] = {
        {"wrong-token", "{\"phone\":\"84912345678\",\"template_id\":\"1\",\"template_data\":{\"a\":\"b\"}}", -124},
        {"zalo-test-token", "{\"phone\":\"0912345678\",\"template_id\":\"1\",\"template_data\":{\"a\":\"b\"}}", -108},
        {"zalo-test-token", "{\"phone\":\"849123456789\",\"template_id\":\"1\",\"template_data\":{\"a\":\"b\"}}", -108},
        {"zalo-test-token", "{\"phone\":\"84912345678\",\"template_data\":{\"a\":\"b\"}}", -109},
        {"zalo-test-token", "{\"phone\":\"84912345678\",\"template_id\":\"1\"}", -111},
        {"zalo-test-token", "[1,2]", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fgt_response_t r = zalo(cases[i].token, cases[i].body);
        ck_assert_msg(fgt_json_int(&r, "error", NULL) == cases[i].error, "case %zu: %s", i, r.body);
        ck_assert_ptr_nonnull(fgt_json_str(&r, "message", NULL));
        ck_assert_ptr_null(fgt_val_at(r.json, "data", NULL));
        fgt_response_free(&r);
    }
    fgt_response_t c = fgt_banksim_control(&plain, "/control/chaos", "{\"zalo_error\":-124}");
    fgt_response_free(&c);
    fgt_response_t r = zalo("zalo-test-token", "{\"phone\":\"84912345678\",\"template_id\":\"1\","
                                               "\"template_data\":{\"a\":\"b\"},\"tracking_id\":\"z\"}");
    ck_assert_int_eq(fgt_json_int(&r, "error", NULL), -124);
    fgt_response_free(&r);
    fgt_response_t m = fgt_banksim_messages(&plain, NULL);
    ck_assert_int_eq(fgt_json_int(&m, "count", NULL), 0);
    fgt_response_free(&m);
    r = post(&plain, "/control/chaos", NULL, "{\"zalo_error\":5}");
    ck_assert_int_eq(r.status, 422);
    fgt_response_free(&r);
}
END_TEST

/* ---- e-mail --------------------------------------------------------------------------------------------- */

START_TEST(email_through_starttls_and_auth_is_recorded_once_per_message_id)
{
    mail_t m = {&tls, "PLAIN", FGT_BANKSIM_SMTP_PASSWORD, two_parents, reminder};
    ck_assert_int_eq(send_mail(&m), CURLE_OK);
    m.mechanism = "LOGIN"; /* a retry of the same message, another mechanism */
    ck_assert_int_eq(send_mail(&m), CURLE_OK);

    fgt_response_t r = fgt_banksim_messages(&tls, "email");
    ck_assert_int_eq(fgt_json_int(&r, "count", NULL), 1);
    yajl_val one = message_at(&r, 0);
    ck_assert_str_eq(fgt_val_str(one, "key", NULL), "<reminder-1@feegate.test>");
    ck_assert_str_eq(fgt_val_str(one, "from", NULL), "reminders@feegate.test");
    ck_assert_str_eq(fgt_val_str(one, "to", NULL), "phuhuynh.an@example.vn, Phuhuynh.Binh@example.vn");
    ck_assert_str_eq(fgt_val_str(one, "subject", NULL), "Nhắc nộp học phí HP2025-000124");
    ck_assert_str_eq(fgt_val_str(one, "content", NULL), "Hoc phi thang 12: 2.277.000 VND.\r\n"
                                                        ".NET va cac ngay nghi\r\n");
    ck_assert_int_eq(member_int(one, "attempts"), 2);
    ck_assert(member_true(one, "tls"));
    ck_assert(member_true(one, "auth"));
    fgt_response_free(&r);
    r = fgt_banksim_get(&tls, "/control/messages?channel=email&to=phuhuynh.binh@example.vn");
    ck_assert_int_eq(fgt_json_int(&r, "count", NULL), 1);
    fgt_response_free(&r);

    /* the harness's relay: AUTH in the clear (no certificate), same rules */
    m.b = &plain;
    ck_assert_int_eq(send_mail(&m), CURLE_OK);
    m.password = "wrong";
    ck_assert_int_eq(send_mail(&m), CURLE_LOGIN_DENIED);
    r = fgt_banksim_messages(&plain, "email");
    ck_assert_int_eq(fgt_json_int(&r, "count", NULL), 1);
    one = message_at(&r, 0);
    ck_assert(!member_true(one, "tls"));
    ck_assert(member_true(one, "auth"));
    ck_assert_int_eq(member_int(one, "attempts"), 1);
    fgt_response_free(&r);
}
END_TEST

START_TEST(smtp_refuses_bad_sequences)
{
    int fd = smtp_open(&tls);
    ck_assert_int_eq(smtp_say(fd, "MAIL FROM:<a@feegate.test>\r\n"), 503); /* no EHLO */
    ck_assert_int_eq(smtp_say(fd, "EHLO client.test\r\n"), 250);
    ck_assert_int_eq(smtp_say(fd, "MAIL FROM:<a@feegate.test>\r\n"), 530);                      /* no AUTH */
    ck_assert_int_eq(smtp_say(fd, "AUTH PLAIN AGZlZWdhdGUtcmVsYXkAcmVsYXktc2VjcmV0\r\n"), 538); /* no TLS */
    ck_assert_int_eq(smtp_say(fd, "RCPT TO:<b@example.vn>\r\n"), 503);
    ck_assert_int_eq(smtp_say(fd, "DATA\r\n"), 503);
    ck_assert_int_eq(smtp_say(fd, "VRFY b@example.vn\r\n"), 502);
    ck_assert_int_eq(smtp_say(fd, "FROB\r\n"), 500);
    ck_assert_int_eq(smtp_say(fd, "RSET\r\n"), 250);
    ck_assert_int_eq(smtp_say(fd, "NOOP\r\n"), 250);
    ck_assert_int_eq(smtp_say(fd, "QUIT\r\n"), 221);
    close(fd);

    /* the relay without TLS: AUTH, then a transaction, byte by byte */
    fd = smtp_open(&plain);
    ck_assert_int_eq(smtp_say(fd, "EHLO client.test\r\n"), 250);
    ck_assert_int_eq(smtp_say(fd, "STARTTLS\r\n"), 502);
    ck_assert_int_eq(smtp_say(fd, "AUTH PLAIN AGZlZWdhdGUtcmVsYXkAcmVsYXktc2VjcmV0\r\n"), 235);
    ck_assert_int_eq(smtp_say(fd, "AUTH PLAIN AGZlZWdhdGUtcmVsYXkAcmVsYXktc2VjcmV0\r\n"), 503);
    ck_assert_int_eq(smtp_say(fd, "MAIL FROM:<a@feegate.test> SIZE=2000000\r\n"), 552);
    ck_assert_int_eq(smtp_say(fd, "MAIL FROM:a@feegate.test\r\n"), 501);
    ck_assert_int_eq(smtp_say(fd, "MAIL FROM:<a@feegate.test>\r\n"), 250);
    ck_assert_int_eq(smtp_say(fd, "MAIL FROM:<a@feegate.test>\r\n"), 503);
    ck_assert_int_eq(smtp_say(fd, "DATA\r\n"), 503);
    ck_assert_int_eq(smtp_say(fd, "RCPT TO:<not an address>\r\n"), 501);
    for (int i = 0; i < 100; i++) {
        char rcpt[64];
        snprintf(rcpt, sizeof(rcpt), "RCPT TO:<parent%d@example.vn>\r\n", i);
        ck_assert_int_eq(smtp_say(fd, rcpt), 250);
    }
    ck_assert_int_eq(smtp_say(fd, "RCPT TO:<one-too-many@example.vn>\r\n"), 452);
    ck_assert_int_eq(smtp_say(fd, "DATA\r\n"), 354);
    ck_assert_int_eq(smtp_say(fd, "Subject: no Message-ID\r\n\r\n..leading dot\r\n.\r\n"), 250);
    ck_assert_int_eq(smtp_say(fd, "QUIT\r\n"), 221);
    close(fd);
    fgt_response_t r = fgt_banksim_messages(&plain, "email");
    ck_assert_int_eq(fgt_json_int(&r, "count", NULL), 1);
    yajl_val one = message_at(&r, 0);
    ck_assert_str_eq(fgt_val_str(one, "content", NULL), ".leading dot\r\n");
    ck_assert_str_eq(fgt_val_str(one, "subject", NULL), "no Message-ID");
    yajl_val recipients = fgt_val_at(one, "recipients", NULL);
    ck_assert(recipients != NULL && YAJL_IS_ARRAY(recipients));
    ck_assert_int_eq(recipients->u.array.len, 100);
    fgt_response_free(&r);
}
END_TEST

START_TEST(smtp_code_chaos_refuses_the_message)
{
    fgt_response_t c = fgt_banksim_control(&tls, "/control/chaos", "{\"smtp_code\":451}");
    fgt_response_free(&c);
    mail_t m = {&tls, "PLAIN", FGT_BANKSIM_SMTP_PASSWORD, two_parents, reminder};
    ck_assert_int_ne(send_mail(&m), CURLE_OK);
    fgt_response_t r = fgt_banksim_messages(&tls, "email");
    ck_assert_int_eq(fgt_json_int(&r, "count", NULL), 0);
    fgt_response_free(&r);
    r = post(&tls, "/control/chaos", NULL, "{\"smtp_code\":250}");
    ck_assert_int_eq(r.status, 422);
    fgt_response_free(&r);
    setup();
    ck_assert_int_eq(send_mail(&m), CURLE_OK);
    r = fgt_banksim_messages(&tls, "email");
    ck_assert_int_eq(fgt_json_int(&r, "count", NULL), 1);
    fgt_response_free(&r);
}
END_TEST

/* ---- messages_delay_ms: the message is recorded before the answer --------------------------------------- */

typedef struct {
    long long elapsed_ms;
    CURLcode mail;
    char code[8];
} delayed_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *delayed_sms(void *arg)
{
    delayed_t *d = arg;
    long long start = now_ms();
    fgt_response_t r = sms("0912345678", "Nhac nop hoc phi", "slow-1");
    d->elapsed_ms = now_ms() - start;
    snprintf(d->code, sizeof(d->code), "%s", fgt_json_str(&r, "CodeResult", NULL));
    fgt_response_free(&r);
    return NULL;
}

static void *delayed_mail(void *arg)
{
    delayed_t *d = arg;
    mail_t m = {&tls, "PLAIN", FGT_BANKSIM_SMTP_PASSWORD, two_parents, reminder};
    long long start = now_ms();
    d->mail = send_mail(&m);
    d->elapsed_ms = now_ms() - start;
    return NULL;
}

/* Waits until the channel on b holds a message; fails after a second. */
static void wait_recorded(const fgt_banksim_t *b, const char *channel)
{
    for (int i = 0;; i++) {
        fgt_response_t r = fgt_banksim_messages(b, channel);
        long long count = fgt_json_int(&r, "count", NULL);
        fgt_response_free(&r);
        if (count == 1)
            return;
        ck_assert_msg(i < 100, "the %s message was not recorded while its answer waited", channel);
        fgt_sleep_ms(10);
    }
}

START_TEST(messages_delay_holds_the_answer_after_recording)
{
    const long long delay_ms = 1200;
    fgt_response_t c = fgt_banksim_control(&plain, "/control/chaos", "{\"messages_delay_ms\":1200}");
    ck_assert_int_eq(fgt_json_int(&c, "chaos", "messages_delay_ms", NULL), delay_ms);
    fgt_response_free(&c);
    c = fgt_banksim_control(&tls, "/control/chaos", "{\"messages_delay_ms\":1200}");
    fgt_response_free(&c);
    delayed_t s = {0}, m = {0};
    pthread_t sms_thread, mail_thread;
    ck_assert_int_eq(pthread_create(&sms_thread, NULL, delayed_sms, &s), 0);
    ck_assert_int_eq(pthread_create(&mail_thread, NULL, delayed_mail, &m), 0);
    long long start = now_ms();
    wait_recorded(&plain, "sms");
    wait_recorded(&tls, "email");
    ck_assert_int_lt(now_ms() - start, delay_ms); /* both recorded before their answers */
    pthread_join(sms_thread, NULL);
    pthread_join(mail_thread, NULL);
    ck_assert_str_eq(s.code, "100");
    ck_assert_int_ge(s.elapsed_ms, delay_ms);
    ck_assert_int_eq(m.mail, CURLE_OK);
    ck_assert_int_ge(m.elapsed_ms, delay_ms);
}
END_TEST

/* ---- main ---------------------------------------------------------------------------------------------------- */

static void make_cert(void)
{
    char cmd[1024];
    if (mkdtemp(cert_dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(cert, sizeof(cert), "%s/cert.pem", cert_dir);
    snprintf(key, sizeof(key), "%s/key.pem", cert_dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost -keyout %s -out %s 2>/dev/null",
             key, cert);
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl could not make a certificate\n");
        exit(1);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    make_cert();
    fgt_banksim_start(&plain, 9); /* no notifications in this suite */
    const char *const tls_args[] = {"--smtp-tls-cert", cert, "--smtp-tls-key", key, NULL};
    fgt_banksim_start_with(&tls, 9, tls_args);

    Suite *s = suite_create("banksim_messages");
    TCase *tc = fgt_tcase(s, "channels", setup, NULL);
    tcase_add_test(tc, sms_is_recorded_once_per_request_id);
    tcase_add_test(tc, sms_refusals_deliver_nothing);
    tcase_add_test(tc, zalo_is_recorded_once_per_tracking_id);
    tcase_add_test(tc, zalo_refusals_deliver_nothing);
    tcase_add_test(tc, email_through_starttls_and_auth_is_recorded_once_per_message_id);
    tcase_add_test(tc, smtp_refuses_bad_sequences);
    tcase_add_test(tc, smtp_code_chaos_refuses_the_message);
    tcase_add_test(tc, messages_delay_holds_the_answer_after_recording);
    int rc = fgt_run(s);
    fgt_banksim_stop(&plain);
    fgt_banksim_stop(&tls);
    unlink(cert);
    unlink(key);
    rmdir(cert_dir);
    curl_global_cleanup();
    return rc;
}
