/*
 * esms.c - eSMS's SMS brandname API (PROTOCOLS.md, "Reminder channels"):
 * POST /esms/MainService.svc/json/SendMultipleMessage_V4_post_json/ with
 * {"ApiKey","SecretKey","Phone","Content","Brandname","SmsType","IsUnicode",
 * "RequestId","CallbackUrl","Sandbox"}.  eSMS answers HTTP 200 whatever
 * happened; "CodeResult" says it, as a string: "100" with the SMSID, or its
 * published refusal codes (101 wrong keys, 104 unknown brandname, 300 no
 * message type, 99 any other invalid request).  A repeated RequestId answers
 * the first SMSID and sends nothing more.
 */
#include "banksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A customer-care SMS of at most 4 parts: 4 x 153 GSM characters, or 4 x 67
 * when it is sent as Unicode. */
#define CONTENT_CHARS_MAX 612
#define CONTENT_UNICODE_CHARS_MAX 268

typedef struct {
    const char *code; /* "100" or a refusal */
    const char *error;
} verdict_t;

/* UTF-8 characters of s (bytes that do not start one are not counted). */
static size_t characters(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* 0xxxxxxxxx (10 digits) or 84xxxxxxxxx (11). */
static int phone_valid(const char *p)
{
    size_t n = p != NULL ? strlen(p) : 0;
    if (!((n == 10 && p[0] == '0') || (n == 11 && p[0] == '8' && p[1] == '4')))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

static verdict_t check(yajl_val root)
{
    if (root == NULL)
        return (verdict_t){"99", "The request is not a JSON object"};
    const char *api_key = bs_json_get_str(root, "ApiKey"), *secret = bs_json_get_str(root, "SecretKey");
    if (api_key == NULL || secret == NULL || !bs_equal_ct(api_key, bs_config.esms_api_key) ||
        !bs_equal_ct(secret, bs_config.esms_secret_key))
        return (verdict_t){"101", "Sai thong tin ApiKey hoac SecretKey (wrong ApiKey or SecretKey)"};
    int64_t type = 0, unicode = 0;
    if (bs_json_get_int(root, "SmsType", &type) != 0)
        return (verdict_t){"300", "Thieu loai tin nhan (SmsType is missing)"};
    const char *brandname = bs_json_get_str(root, "Brandname");
    if (brandname == NULL || strcmp(brandname, bs_config.esms_brandname) != 0)
        return (verdict_t){"104", "Brandname khong ton tai (the Brandname is not registered)"};
    if (type != 2)
        return (verdict_t){"99", "The brandname is registered for customer care messages (SmsType 2) only"};
    if (!phone_valid(bs_json_get_str(root, "Phone")))
        return (verdict_t){"99", "Phone must be 0xxxxxxxxx or 84xxxxxxxxx"};
    const char *content = bs_json_get_str(root, "Content");
    if (content == NULL || content[0] == '\0')
        return (verdict_t){"99", "Content is missing"};
    if (bs_json_get_int(root, "IsUnicode", &unicode) == 0 && unicode != 0 && unicode != 1)
        return (verdict_t){"99", "IsUnicode must be 0 or 1"};
    if (characters(content) > (unicode == 1 ? CONTENT_UNICODE_CHARS_MAX : CONTENT_CHARS_MAX))
        return (verdict_t){"99", "Content is longer than 4 SMS parts"};
    const char *request_id = bs_json_get_str(root, "RequestId");
    if (request_id != NULL && strlen(request_id) > BS_MESSAGE_KEY_MAX)
        return (verdict_t){"99", "RequestId is too long"};
    return (verdict_t){"100", NULL};
}

/* Records the SMS (a sandbox one is answered but neither sent nor kept);
 * fills sms_id.  Returns the verdict to answer. */
static verdict_t deliver(yajl_val root, char sms_id[64], const char **note)
{
    char fresh[40];
    int64_t received_ms, sandbox = 0;
    bs_message_id(fresh, 1);
    snprintf(sms_id, 64, "%s", fresh);
    if (bs_json_get_int(root, "Sandbox", &sandbox) == 0 && sandbox == 1) {
        *note = "sandbox: not sent, not kept";
        return (verdict_t){"100", NULL};
    }
    const char *request_id = bs_json_get_str(root, "RequestId");
    bs_message_t m = {.channel = BS_CHANNEL_SMS,
                      .key = request_id != NULL && request_id[0] != '\0' ? request_id : fresh,
                      .id = fresh,
                      .to = bs_json_get_str(root, "Phone"),
                      .content = bs_json_get_str(root, "Content")};
    int rc = bs_message_record(&m, sms_id, 64, &received_ms);
    if (rc < 0)
        return (verdict_t){"99", "The simulator holds too many messages (POST /control/reset)"};
    *note = rc == 0 ? "a repeated RequestId: the first SMSID, nothing sent" : NULL;
    return (verdict_t){"100", NULL};
}

void bs_esms_send(const bs_request_t *req, bs_response_t *res)
{
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    bs_chaos_t c = bs_chaos_get();
    char sms_id[64] = "";
    const char *note = NULL;
    verdict_t v = check(root);
    if (c.sms_code[0] != '\0') {
        v = (verdict_t){c.sms_code, "simulated refusal (chaos sms_code)"};
        note = v.error;
    } else if (strcmp(v.code, "100") == 0) {
        v = deliver(root, sms_id, &note);
    }
    res->status = 200;
    res->content_type = BS_JSON_TYPE;
    res->delay_ms = c.messages_delay_ms;
    bs_buf_printf(&res->body, "{\"CodeResult\":\"%s\",\"CountRegenerate\":0", v.code);
    if (strcmp(v.code, "100") == 0) {
        bs_buf_puts(&res->body, ",\"SMSID\":");
        bs_json_str(&res->body, sms_id);
    } else {
        bs_buf_puts(&res->body, ",\"ErrorMessage\":");
        bs_json_str(&res->body, v.error);
    }
    bs_buf_putc(&res->body, '}');
    bs_log_add("esms.send", "in", "POST", req->path, req->body, 200, bs_buf_cstr(&res->body), note);
    if (root != NULL)
        yajl_tree_free(root);
}
