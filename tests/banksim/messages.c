/*
 * messages.c - what the reminder channels received: one store for the SMS,
 * Zalo and e-mail messages, deduplicated by each provider's idempotency key,
 * and GET /control/messages that reports it.
 */
#include "banksim.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const channel_names[BS_CHANNEL_COUNT] = {"email", "sms", "zalo"};

int bs_channel_find(const char *name)
{
    for (int c = 0; c < BS_CHANNEL_COUNT; c++)
        if (name != NULL && strcmp(name, channel_names[c]) == 0)
            return c;
    return -1;
}

typedef struct {
    bs_channel_t channel;
    char *key, *id, *to, *from, *subject, *headers, *content, *template_id;
    int tls, auth, attempts;
    int64_t received_ms, last_ms;
    size_t bytes;
} stored_t;

static pthread_mutex_t messages_lock = PTHREAD_MUTEX_INITIALIZER;
static stored_t *messages[BS_MESSAGES_MAX]; /* arrival order */
static int message_count;
static size_t message_bytes;

static char *copy_or_null(const char *s, size_t *bytes)
{
    if (s == NULL)
        return NULL;
    *bytes += strlen(s);
    return bs_strdup(s);
}

static void stored_free(stored_t *s)
{
    free(s->key);
    free(s->id);
    free(s->to);
    free(s->from);
    free(s->subject);
    free(s->headers);
    free(s->content);
    free(s->template_id);
    free(s);
}

static stored_t *find(bs_channel_t channel, const char *key)
{
    for (int i = 0; i < message_count; i++)
        if (messages[i]->channel == channel && strcmp(messages[i]->key, key) == 0)
            return messages[i];
    return NULL;
}

int bs_message_record(const bs_message_t *m, char *id_out, size_t id_cap, int64_t *received_ms)
{
    int64_t now = bs_now_ms();
    int rc = 1;
    pthread_mutex_lock(&messages_lock);
    stored_t *s = find(m->channel, m->key);
    if (s != NULL) {
        s->attempts++;
        s->last_ms = now;
        rc = 0;
        goto Exit;
    }
    size_t bytes = 0;
    s = bs_calloc(1, sizeof(*s));
    s->channel = m->channel;
    s->key = copy_or_null(m->key, &bytes);
    s->id = copy_or_null(m->id, &bytes);
    s->to = copy_or_null(m->to, &bytes);
    s->from = copy_or_null(m->from, &bytes);
    s->subject = copy_or_null(m->subject, &bytes);
    s->headers = copy_or_null(m->headers, &bytes);
    s->content = copy_or_null(m->content, &bytes);
    s->template_id = copy_or_null(m->template_id, &bytes);
    s->tls = m->tls;
    s->auth = m->auth;
    s->attempts = 1;
    s->received_ms = s->last_ms = now;
    s->bytes = bytes;
    if (message_count == BS_MESSAGES_MAX || message_bytes + bytes > BS_MESSAGES_BYTES_MAX) {
        stored_free(s);
        pthread_mutex_unlock(&messages_lock);
        return -1;
    }
    messages[message_count++] = s;
    message_bytes += bytes;
Exit:
    snprintf(id_out, id_cap, "%s", s->id);
    *received_ms = s->received_ms;
    pthread_mutex_unlock(&messages_lock);
    return rc;
}

int bs_messages_today(bs_channel_t channel)
{
    char today[11], day[11];
    bs_business_date(bs_now_ms(), today);
    int n = 0;
    pthread_mutex_lock(&messages_lock);
    for (int i = 0; i < message_count; i++) {
        bs_business_date(messages[i]->received_ms, day);
        n += messages[i]->channel == channel && strcmp(day, today) == 0;
    }
    pthread_mutex_unlock(&messages_lock);
    return n;
}

void bs_messages_clear(void)
{
    pthread_mutex_lock(&messages_lock);
    for (int i = 0; i < message_count; i++)
        stored_free(messages[i]);
    message_count = 0;
    message_bytes = 0;
    pthread_mutex_unlock(&messages_lock);
}

void bs_message_id(char out[40], int dashed)
{
    unsigned char random[8] = {0};
    if (RAND_bytes(random, sizeof(random)) != 1) {
        fputs("banksim: RAND_bytes failed\n", stderr);
        abort();
    }
    /* the sequence keeps ids unique; the random half keeps them unguessable,
     * as a provider's are */
    unsigned long long seq = (unsigned long long)bs_next_id(), r = 0;
    memcpy(&r, random, sizeof(r));
    char hex[33];
    snprintf(hex, sizeof(hex), "%016llx%016llx", r, seq);
    if (!dashed)
        snprintf(out, 40, "%s", hex);
    else
        snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void bs_json_render(bs_buf_t *b, yajl_val v)
{
    if (v == NULL || YAJL_IS_NULL(v)) {
        bs_buf_puts(b, "null");
    } else if (YAJL_IS_TRUE(v)) {
        bs_buf_puts(b, "true");
    } else if (YAJL_IS_FALSE(v)) {
        bs_buf_puts(b, "false");
    } else if (YAJL_IS_STRING(v)) {
        bs_json_str(b, YAJL_GET_STRING(v));
    } else if (YAJL_IS_NUMBER(v)) {
        bs_buf_puts(b, v->u.number.r);
    } else if (YAJL_IS_ARRAY(v)) {
        bs_buf_putc(b, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i > 0)
                bs_buf_putc(b, ',');
            bs_json_render(b, v->u.array.values[i]);
        }
        bs_buf_putc(b, ']');
    } else {
        bs_buf_putc(b, '{');
        for (size_t i = 0; i < v->u.object.len; i++) {
            if (i > 0)
                bs_buf_putc(b, ',');
            bs_json_str(b, v->u.object.keys[i]);
            bs_buf_putc(b, ':');
            bs_json_render(b, v->u.object.values[i]);
        }
        bs_buf_putc(b, '}');
    }
}

/* ---- GET /control/messages ------------------------------------------------------ */

/* "0912345678" and "84912345678" are one number. */
static void phone_normal(const char *phone, char *out, size_t cap)
{
    if (phone[0] == '0')
        snprintf(out, cap, "84%s", phone + 1);
    else
        snprintf(out, cap, "%s", phone);
}

/* Whether the message went to `to`: the phone number (either form), or one of
 * an e-mail's recipients (case aside). */
static int sent_to(const stored_t *s, const char *to)
{
    if (s->channel != BS_CHANNEL_EMAIL) {
        char a[64], b[64];
        phone_normal(s->to, a, sizeof(a));
        phone_normal(to, b, sizeof(b));
        return strcmp(a, b) == 0;
    }
    size_t n = strlen(to);
    for (const char *p = s->to; *p != '\0';) {
        const char *end = strstr(p, ", ");
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && strncasecmp(p, to, n) == 0)
            return 1;
        p += len + (end != NULL ? 2 : 0);
    }
    return 0;
}

static void render_time(bs_buf_t *b, const char *name, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char ts[32];
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    bs_buf_printf(b, ",\"%s\":\"%s\"", name, ts);
}

static void render_email(bs_buf_t *b, const stored_t *s)
{
    bs_buf_puts(b, ",\"from\":");
    bs_json_str(b, s->from);
    bs_buf_puts(b, ",\"recipients\":[");
    for (const char *p = s->to; *p != '\0';) {
        const char *end = strstr(p, ", ");
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (p != s->to)
            bs_buf_putc(b, ',');
        bs_json_strn(b, p, len);
        p += len + (end != NULL ? 2 : 0);
    }
    bs_buf_puts(b, "],\"subject\":");
    bs_json_str(b, s->subject);
    bs_buf_puts(b, ",\"headers\":");
    bs_json_str(b, s->headers);
    bs_buf_printf(b, ",\"tls\":%s,\"auth\":%s", s->tls ? "true" : "false", s->auth ? "true" : "false");
}

static void render(bs_buf_t *b, const stored_t *s)
{
    bs_buf_puts(b, "{\"channel\":");
    bs_json_str(b, channel_names[s->channel]);
    bs_buf_puts(b, ",\"key\":");
    bs_json_str(b, s->key);
    bs_buf_puts(b, ",\"id\":");
    bs_json_str(b, s->id);
    bs_buf_puts(b, ",\"to\":");
    bs_json_str(b, s->to);
    bs_buf_printf(b, ",\"attempts\":%d", s->attempts);
    if (s->channel == BS_CHANNEL_EMAIL)
        render_email(b, s);
    if (s->channel == BS_CHANNEL_ZALO) {
        bs_buf_puts(b, ",\"template_id\":");
        bs_json_str(b, s->template_id);
    }
    bs_buf_puts(b, ",\"content\":");
    bs_json_str(b, s->content);
    render_time(b, "received_at", s->received_ms);
    render_time(b, "last_attempt_at", s->last_ms);
    bs_buf_putc(b, '}');
}

/* ?channel=email|sms|zalo (left out: every channel) &to=… */
void bs_control_messages(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t q;
    bs_params_parse(&q, req->query, strlen(req->query));
    const char *channel_name = bs_params_get(&q, "channel"), *to = bs_params_get(&q, "to");
    int channel = channel_name != NULL ? bs_channel_find(channel_name) : -1;
    if (channel_name != NULL && channel < 0) {
        bs_res_error(res, 400, "channel must be email, sms or zalo");
        goto Exit;
    }
    bs_buf_t data = BS_BUF_INIT;
    int count = 0;
    pthread_mutex_lock(&messages_lock);
    for (int i = 0; i < message_count; i++) {
        const stored_t *s = messages[i];
        if ((channel >= 0 && (int)s->channel != channel) || (to != NULL && !sent_to(s, to)))
            continue;
        if (count++ > 0)
            bs_buf_putc(&data, ',');
        render(&data, s);
    }
    pthread_mutex_unlock(&messages_lock);
    res->status = 200;
    res->content_type = BS_JSON_TYPE;
    bs_buf_printf(&res->body, "{\"count\":%d,\"data\":[%s]}", count, bs_buf_cstr(&data));
    bs_buf_free(&data);
Exit:
    bs_params_free(&q);
}
