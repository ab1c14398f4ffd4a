/*
 * zalo.c - Zalo's ZNS template messages (PROTOCOLS.md, "Reminder channels"):
 * POST /zalo/message/template, header access_token, JSON {"phone":"84…",
 * "template_id","template_data":{…},"tracking_id"}.  Zalo answers HTTP 200
 * whatever happened: "error" 0 with the msg_id, or a negative error with a
 * message.  A repeated tracking_id answers the first msg_id and sends
 * nothing more.
 */
#include "banksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The daily quota an official account starts with. */
#define DAILY_QUOTA 500
/* Zalo's documented bounds: template_data parameters and their values, the
 * sender's tracking id. */
#define TEMPLATE_PARAMS_MAX 64
#define TEMPLATE_VALUE_MAX 1024
#define TRACKING_ID_MAX 48

typedef struct {
    int error; /* 0 or a refusal */
    const char *message;
} verdict_t;

/* 84 followed by 9 digits. */
static int phone_valid(const char *p)
{
    if (p == NULL || strlen(p) != 11 || p[0] != '8' || p[1] != '4')
        return 0;
    for (size_t i = 2; i < 11; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

/* An object of at most TEMPLATE_PARAMS_MAX parameters whose values are
 * strings or numbers. */
static int template_data_valid(yajl_val v)
{
    if (!YAJL_IS_OBJECT(v) || v->u.object.len > TEMPLATE_PARAMS_MAX)
        return 0;
    for (size_t i = 0; i < v->u.object.len; i++) {
        yajl_val e = v->u.object.values[i];
        const char *text = YAJL_IS_STRING(e) ? YAJL_GET_STRING(e) : NULL;
        if (!(YAJL_IS_NUMBER(e) || (text != NULL && strlen(text) <= TEMPLATE_VALUE_MAX)))
            return 0;
    }
    return 1;
}

static verdict_t check(const bs_request_t *req, yajl_val root)
{
    if (req->access_token == NULL || !bs_equal_ct(req->access_token, bs_config.zalo_access_token))
        return (verdict_t){-124, "Access token is invalid"};
    if (root == NULL)
        return (verdict_t){-1, "The body is not a JSON object"};
    if (!phone_valid(bs_json_get_str(root, "phone")))
        return (verdict_t){-108, "Phone number is invalid"};
    const char *template_id = bs_json_get_str(root, "template_id");
    int64_t numeric_id = 0;
    if ((template_id == NULL && bs_json_get_int(root, "template_id", &numeric_id) != 0) ||
        (template_id != NULL && (template_id[0] == '\0' || strlen(template_id) > 32)))
        return (verdict_t){-109, "Template ID is invalid"};
    const char *path[] = {"template_data", NULL};
    yajl_val data = yajl_tree_get(root, path, yajl_t_any);
    if (data == NULL || (YAJL_IS_OBJECT(data) && data->u.object.len == 0))
        return (verdict_t){-111, "Template data is empty"};
    if (!template_data_valid(data))
        return (verdict_t){-112, "Template data is invalid"};
    const char *tracking_id = bs_json_get_str(root, "tracking_id");
    if (tracking_id != NULL && strlen(tracking_id) > TRACKING_ID_MAX)
        return (verdict_t){-1, "tracking_id is longer than 48 characters"};
    return (verdict_t){0, "Success"};
}

/* Records the message; fills msg_id and sent_ms.  Returns the verdict. */
static verdict_t deliver(yajl_val root, char msg_id[64], int64_t *sent_ms, const char **note)
{
    char fresh[40], template_id[32];
    const char *data_path[] = {"template_data", NULL};
    bs_buf_t data = BS_BUF_INIT;
    bs_json_render(&data, yajl_tree_get(root, data_path, yajl_t_any));
    const char *id = bs_json_get_str(root, "template_id");
    int64_t numeric_id = 0;
    if (id == NULL && bs_json_get_int(root, "template_id", &numeric_id) == 0)
        snprintf(template_id, sizeof(template_id), "%lld", (long long)numeric_id);
    else
        snprintf(template_id, sizeof(template_id), "%s", id);
    bs_message_id(fresh, 0);
    const char *tracking_id = bs_json_get_str(root, "tracking_id");
    bs_message_t m = {.channel = BS_CHANNEL_ZALO,
                      .key = tracking_id != NULL && tracking_id[0] != '\0' ? tracking_id : fresh,
                      .id = fresh,
                      .to = bs_json_get_str(root, "phone"),
                      .content = bs_buf_cstr(&data),
                      .template_id = template_id};
    int rc = bs_message_record(&m, msg_id, 64, sent_ms);
    bs_buf_free(&data);
    if (rc < 0)
        return (verdict_t){-1, "The simulator holds too many messages (POST /control/reset)"};
    *note = rc == 0 ? "a repeated tracking_id: the first msg_id, nothing sent" : NULL;
    return (verdict_t){0, "Success"};
}

void bs_zalo_send(const bs_request_t *req, bs_response_t *res)
{
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    bs_chaos_t c = bs_chaos_get();
    char msg_id[64] = "";
    int64_t sent_ms = 0;
    const char *note = NULL;
    verdict_t v = check(req, root);
    if (c.zalo_error != 0) {
        v = (verdict_t){c.zalo_error, "Simulated refusal (chaos zalo_error)"};
        note = v.message;
    } else if (v.error == 0) {
        v = deliver(root, msg_id, &sent_ms, &note);
    }
    res->status = 200;
    res->content_type = BS_JSON_TYPE;
    res->delay_ms = c.messages_delay_ms;
    bs_buf_printf(&res->body, "{\"error\":%d,\"message\":", v.error);
    bs_json_str(&res->body, v.message);
    if (v.error == 0) {
        int remaining = DAILY_QUOTA - bs_messages_today(BS_CHANNEL_ZALO);
        bs_buf_puts(&res->body, ",\"data\":{\"msg_id\":");
        bs_json_str(&res->body, msg_id);
        bs_buf_printf(&res->body,
                      ",\"sent_time\":\"%lld\",\"quota\":{\"dailyQuota\":\"%d\","
                      "\"remainingQuota\":\"%d\"}}",
                      (long long)sent_ms, DAILY_QUOTA, remaining > 0 ? remaining : 0);
    }
    bs_buf_putc(&res->body, '}');
    bs_log_add("zalo.send", "in", "POST", req->path, req->body, 200, bs_buf_cstr(&res->body), note);
    if (root != NULL)
        yajl_tree_free(root);
}
