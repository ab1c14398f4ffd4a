/*
 * momo.c - MoMo API v2 as PROTOCOLS.md describes it: create (signed, checked,
 * idempotent on requestId), the payer's page, the signed IPN and redirect,
 * query and refund.
 *
 * Every signature is lower-case hex HMAC-SHA256(secretKey, raw) where raw is
 * key=value&... in a->z key order with values not encoded and accessKey
 * inserted.  The answers' raw strings, which PROTOCOLS.md leaves out, follow
 * MoMo's documentation:
 *  - create: accessKey amount message orderId partnerCode payUrl requestId
 *    responseTime resultCode
 *  - query: the IPN's (accessKey amount extraData message orderId orderInfo
 *    orderType partnerCode payType requestId responseTime resultCode transId)
 *  - refund: accessKey amount message orderId partnerCode requestId
 *    responseTime resultCode transId
 */
#include "banksim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MoMo's field lengths: orderId and requestId up to 50 characters. */
#define ID_MAX 50

typedef enum { ORDER_PENDING, ORDER_PAID, ORDER_FAILED } order_state_t;

typedef struct {
    char *order_id, *request_id, *order_info, *redirect_url, *ipn_url;
    char *extra_data, *request_type;
    int64_t amount, paid_amount, refunded;
    order_state_t state;
    int64_t trans_id, response_time;
    int result_code;
    char *create_answer; /* replayed for the same requestId */
} order_t;

typedef struct {
    char *request_id, *order_id, *answer;
    int64_t amount, trans_id, original_trans_id, time_ms;
} refund_t;

static order_t *orders;
static size_t order_count, order_cap;
static refund_t *refunds;
static size_t refund_count, refund_cap;

static void *grow(void *p, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return p;
    *cap = *cap != 0 ? *cap * 2 : 64;
    p = realloc(p, *cap * size);
    if (p == NULL)
        abort();
    return p;
}

static order_t *order_find(const char *order_id)
{
    for (size_t i = 0; i < order_count; i++)
        if (strcmp(orders[i].order_id, order_id) == 0)
            return &orders[i];
    return NULL;
}

static order_t *order_by_request(const char *request_id)
{
    for (size_t i = 0; i < order_count; i++)
        if (strcmp(orders[i].request_id, request_id) == 0)
            return &orders[i];
    return NULL;
}

static order_t *order_by_trans(int64_t trans_id)
{
    for (size_t i = 0; i < order_count; i++)
        if (orders[i].trans_id == trans_id && orders[i].state == ORDER_PAID)
            return &orders[i];
    return NULL;
}

static refund_t *refund_find(const char *request_id, const char *order_id)
{
    for (size_t i = 0; i < refund_count; i++)
        if ((request_id != NULL && strcmp(refunds[i].request_id, request_id) == 0) ||
            (order_id != NULL && strcmp(refunds[i].order_id, order_id) == 0))
            return &refunds[i];
    return NULL;
}

void bs_momo_free(void)
{
    for (size_t i = 0; i < order_count; i++) {
        order_t *o = &orders[i];
        free(o->order_id);
        free(o->request_id);
        free(o->order_info);
        free(o->redirect_url);
        free(o->ipn_url);
        free(o->extra_data);
        free(o->request_type);
        free(o->create_answer);
    }
    free(orders);
    for (size_t i = 0; i < refund_count; i++) {
        free(refunds[i].request_id);
        free(refunds[i].order_id);
        free(refunds[i].answer);
    }
    free(refunds);
}

/* ---- signatures ------------------------------------------------------------------ */

typedef struct {
    const char *name, *value;
} kv_t;

/* HMAC-SHA256 of "name=value&..." over pairs, given in a->z order. */
static void sign(const kv_t *pairs, int n, char out[65])
{
    bs_buf_t raw = BS_BUF_INIT;
    for (int i = 0; i < n; i++)
        bs_buf_printf(&raw, "%s%s=%s", i > 0 ? "&" : "", pairs[i].name, pairs[i].value != NULL ? pairs[i].value : "");
    bs_hmac_sha256_hex(bs_config.momo_secret_key, bs_buf_cstr(&raw), raw.len, out);
    bs_buf_free(&raw);
}

/* A request field as the raw string has it: strings as they are, integers
 * in decimal, absent as "". */
static void field(yajl_val root, const char *name, char *out, size_t cap)
{
    const char *s = bs_json_get_str(root, name);
    int64_t n;
    if (s != NULL)
        snprintf(out, cap, "%s", s);
    else if (bs_json_get_int(root, name, &n) == 0)
        snprintf(out, cap, "%lld", (long long)n);
    else
        out[0] = '\0';
}

/* 1 when root's signature matches the raw string over names (a->z, with
 * accessKey first among them as the configured key). */
static int verified(yajl_val root, const char *const *names, int n)
{
    enum { FIELD_MAX = 2048 };
    kv_t pairs[16];
    char(*values)[FIELD_MAX] = bs_calloc((size_t)n, FIELD_MAX);
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "accessKey") == 0)
            snprintf(values[i], FIELD_MAX, "%s", bs_config.momo_access_key);
        else
            field(root, names[i], values[i], FIELD_MAX);
        pairs[i] = (kv_t){names[i], values[i]};
    }
    char want[65], got[129];
    sign(pairs, n, want);
    free(values);
    field(root, "signature", got, sizeof(got));
    return bs_equal_ct(got, want);
}

static int order_id_valid(const char *s)
{
    /* ^[0-9a-zA-Z]([-_.]*[0-9a-zA-Z]+)*$ : alphanumeric at both ends, and
     * separators only between alphanumerics */
    size_t n = strlen(s);
    if (n == 0 || n > ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && c != '-' && c != '_' && c != '.')
            return 0;
        if (!alnum && (i == 0 || i == n - 1))
            return 0;
    }
    return 1;
}

/* ---- answers ---------------------------------------------------------------------- */

static void error_answer(bs_response_t *res, int http_status, yajl_val root, int result_code, const char *message)
{
    char partner[64], order_id[128], request_id[128];
    field(root, "partnerCode", partner, sizeof(partner));
    field(root, "orderId", order_id, sizeof(order_id));
    field(root, "requestId", request_id, sizeof(request_id));
    res->status = http_status;
    res->content_type = BS_JSON_TYPE;
    res->body.len = 0;
    bs_buf_puts(&res->body, "{\"partnerCode\":");
    bs_json_str(&res->body, partner);
    bs_buf_puts(&res->body, ",\"orderId\":");
    bs_json_str(&res->body, order_id);
    bs_buf_puts(&res->body, ",\"requestId\":");
    bs_json_str(&res->body, request_id);
    bs_buf_printf(&res->body, ",\"responseTime\":%lld,\"resultCode\":%d,\"message\":", (long long)bs_now_ms(),
                  result_code);
    bs_json_str(&res->body, message);
    bs_buf_putc(&res->body, '}');
}

/* An error answer signed over names (a->z, accessKey first), the fields it
 * does not carry as "" (query's "not found", refund refusals). */
static void signed_error_answer(bs_response_t *res, int http_status, yajl_val root, int result_code,
                                const char *message, const char *const *names, int n)
{
    enum { FIELD_MAX = 256 };
    char partner[64], order_id[128], request_id[128], time_s[24], code[16];
    char sig[65];
    kv_t pairs[16];
    field(root, "partnerCode", partner, sizeof(partner));
    field(root, "orderId", order_id, sizeof(order_id));
    field(root, "requestId", request_id, sizeof(request_id));
    snprintf(time_s, sizeof(time_s), "%lld", (long long)bs_now_ms());
    snprintf(code, sizeof(code), "%d", result_code);
    for (int i = 0; i < n && i < 16; i++) {
        const char *v = "";
        if (strcmp(names[i], "accessKey") == 0)
            v = bs_config.momo_access_key;
        else if (strcmp(names[i], "partnerCode") == 0)
            v = partner;
        else if (strcmp(names[i], "orderId") == 0)
            v = order_id;
        else if (strcmp(names[i], "requestId") == 0)
            v = request_id;
        else if (strcmp(names[i], "responseTime") == 0)
            v = time_s;
        else if (strcmp(names[i], "resultCode") == 0)
            v = code;
        else if (strcmp(names[i], "message") == 0)
            v = message;
        pairs[i] = (kv_t){names[i], v};
    }
    sign(pairs, n < 16 ? n : 16, sig);
    res->status = http_status;
    res->content_type = BS_JSON_TYPE;
    res->body.len = 0;
    bs_buf_puts(&res->body, "{\"partnerCode\":");
    bs_json_str(&res->body, partner);
    bs_buf_puts(&res->body, ",\"orderId\":");
    bs_json_str(&res->body, order_id);
    bs_buf_puts(&res->body, ",\"requestId\":");
    bs_json_str(&res->body, request_id);
    bs_buf_printf(&res->body, ",\"responseTime\":%s,\"resultCode\":%d,\"message\":", time_s, result_code);
    bs_json_str(&res->body, message);
    bs_buf_printf(&res->body, ",\"signature\":\"%s\"}", sig);
}

/* The raw-string fields of the query answer (the IPN's) and of the refund
 * answer, for signed error answers. */
static const char *const query_answer_names[] = {"accessKey",    "amount",     "extraData",   "message", "orderId",
                                                 "orderInfo",    "orderType",  "partnerCode", "payType", "requestId",
                                                 "responseTime", "resultCode", "transId"};
static const char *const refund_answer_names[] = {"accessKey", "amount",       "message",    "orderId", "partnerCode",
                                                  "requestId", "responseTime", "resultCode", "transId"};

/* ---- create ------------------------------------------------------------------------ */

static const char *const create_names[] = {"accessKey", "amount",      "extraData",   "ipnUrl",    "orderId",
                                           "orderInfo", "partnerCode", "redirectUrl", "requestId", "requestType"};

static char *create_answer(const order_t *o)
{
    char amount[24], time_s[24], sig[65];
    bs_buf_t pay_url = BS_BUF_INIT, b = BS_BUF_INIT;
    bs_buf_printf(&pay_url, "%s/momo/pay/", bs_config.base_url);
    bs_form_encode(&pay_url, o->order_id);
    snprintf(amount, sizeof(amount), "%lld", (long long)o->amount);
    snprintf(time_s, sizeof(time_s), "%lld", (long long)o->response_time);
    kv_t pairs[] = {{"accessKey", bs_config.momo_access_key},
                    {"amount", amount},
                    {"message", "Successful."},
                    {"orderId", o->order_id},
                    {"partnerCode", bs_config.momo_partner_code},
                    {"payUrl", pay_url.data},
                    {"requestId", o->request_id},
                    {"responseTime", time_s},
                    {"resultCode", "0"}};
    sign(pairs, (int)(sizeof(pairs) / sizeof(pairs[0])), sig);
    bs_buf_puts(&b, "{\"partnerCode\":");
    bs_json_str(&b, bs_config.momo_partner_code);
    bs_buf_puts(&b, ",\"orderId\":");
    bs_json_str(&b, o->order_id);
    bs_buf_puts(&b, ",\"requestId\":");
    bs_json_str(&b, o->request_id);
    bs_buf_printf(&b,
                  ",\"amount\":%s,\"responseTime\":%s,"
                  "\"message\":\"Successful.\",\"resultCode\":0,\"payUrl\":",
                  amount, time_s);
    bs_json_str(&b, pay_url.data);
    bs_buf_puts(&b, ",\"deeplink\":");
    bs_buf_t link = BS_BUF_INIT;
    bs_buf_puts(&link, "momo://app?action=payWithApp&orderId=");
    bs_form_encode(&link, o->order_id);
    bs_json_str(&b, link.data);
    bs_buf_puts(&b, ",\"qrCodeUrl\":");
    bs_json_str(&b, link.data);
    bs_buf_printf(&b, ",\"signature\":\"%s\"}", sig);
    bs_buf_free(&link);
    bs_buf_free(&pay_url);
    return bs_buf_take(&b);
}

/* Returns the problem's MoMo resultCode (0: none) and message. */
static int create_problem(yajl_val root, int64_t *amount, const char **message)
{
    static const char *const required[] = {"partnerCode", "requestId", "orderId",     "orderInfo",
                                           "redirectUrl", "ipnUrl",    "requestType", "signature"};
    *message = "Bad format request.";
    if (root == NULL)
        return 20;
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        const char *v = bs_json_get_str(root, required[i]);
        if (v == NULL || v[0] == '\0')
            return 20;
    }
    if (bs_json_get_int(root, "amount", amount) != 0)
        return 20;
    *message = "Merchant authentication failed (partnerCode or signature).";
    if (strcmp(bs_json_get_str(root, "partnerCode"), bs_config.momo_partner_code) != 0 ||
        !verified(root, create_names, 10))
        return 13;
    *message = "Invalid amount: 1,000 .. 50,000,000 VND.";
    if (*amount < BS_MOMO_AMOUNT_MIN || *amount > BS_MOMO_AMOUNT_MAX)
        return 22;
    *message = "Invalid orderId.";
    if (!order_id_valid(bs_json_get_str(root, "orderId")))
        return 42;
    *message = "Unsupported requestType.";
    if (strcmp(bs_json_get_str(root, "requestType"), "captureWallet") != 0)
        return 20;
    return 0;
}

static order_t *order_add(yajl_val root, int64_t amount)
{
    orders = grow(orders, &order_cap, order_count, sizeof(*orders));
    order_t *o = &orders[order_count++];
    memset(o, 0, sizeof(*o));
    const char *extra = bs_json_get_str(root, "extraData");
    o->order_id = bs_strdup(bs_json_get_str(root, "orderId"));
    o->request_id = bs_strdup(bs_json_get_str(root, "requestId"));
    o->order_info = bs_strdup(bs_json_get_str(root, "orderInfo"));
    o->redirect_url = bs_strdup(bs_json_get_str(root, "redirectUrl"));
    o->ipn_url = bs_strdup(bs_json_get_str(root, "ipnUrl"));
    o->request_type = bs_strdup(bs_json_get_str(root, "requestType"));
    o->extra_data = bs_strdup(extra != NULL ? extra : "");
    o->amount = amount;
    o->state = ORDER_PENDING;
    o->result_code = 1000;
    o->response_time = bs_now_ms();
    return o;
}

void bs_momo_create(const bs_request_t *req, bs_response_t *res)
{
    if (bs_chaos_api(res)) {
        bs_log_add("momo.create", "in", "POST", req->path, req->body, 500, NULL, "simulated failure (chaos fail_api)");
        return;
    }
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    int64_t amount = 0;
    const char *message;
    int code = create_problem(root, &amount, &message);
    if (code != 0) {
        error_answer(res, 400, root, code, message);
        goto Exit;
    }
    pthread_mutex_lock(&bs_state_lock);
    const char *order_id = bs_json_get_str(root, "orderId");
    order_t *o = order_by_request(bs_json_get_str(root, "requestId"));
    if (o != NULL && strcmp(o->order_id, order_id) == 0) {
        bs_res_json(res, 200, o->create_answer); /* a retried create */
    } else if (o != NULL) {
        error_answer(res, 400, root, 40, "Duplicated requestId.");
    } else if (order_find(order_id) != NULL) {
        error_answer(res, 400, root, 41, "Duplicated orderId.");
    } else {
        o = order_add(root, amount);
        o->create_answer = create_answer(o);
        bs_res_json(res, 200, o->create_answer);
    }
    pthread_mutex_unlock(&bs_state_lock);
Exit:
    bs_log_add("momo.create", "in", "POST", req->path, req->body, res->status, bs_buf_cstr(&res->body), NULL);
    if (root != NULL)
        yajl_tree_free(root);
}

/* ---- the payer's page ---------------------------------------------------------------- */

void bs_momo_pay_page(const bs_request_t *req, bs_response_t *res)
{
    const char *raw = req->path + strlen("/momo/pay/");
    char *order_id = bs_url_decode(raw, strlen(raw));
    pthread_mutex_lock(&bs_state_lock);
    const order_t *o = order_find(order_id);
    if (o == NULL) {
        pthread_mutex_unlock(&bs_state_lock);
        bs_res_page(res, 404, "MoMo", "no such order");
        free(order_id);
        return;
    }
    bs_buf_t *b = &res->body;
    res->status = 200;
    res->content_type = BS_HTML_TYPE;
    bs_buf_puts(b, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                   "<title>MoMo - Thanh toan</title></head>\n<body>\n"
                   "<h1>MoMo payment (simulator)</h1>\n<dl><dt>Order</dt>"
                   "<dd id=\"order_id\">");
    bs_xml_escape(b, o->order_id);
    bs_buf_puts(b, "</dd><dt>Description</dt><dd>");
    bs_xml_escape(b, o->order_info);
    bs_buf_printf(b,
                  "</dd><dt>Amount</dt><dd id=\"amount\">%lld VND</dd>"
                  "<dt>Status</dt><dd id=\"status\">%s</dd></dl>\n",
                  (long long)o->amount,
                  o->state == ORDER_PENDING ? "pending"
                  : o->state == ORDER_PAID  ? "paid"
                                            : "failed");
    bs_buf_puts(b, "<form method=\"post\" action=\"/momo/pay/decide\">\n"
                   "<input type=\"hidden\" name=\"order_id\" value=\"");
    bs_xml_escape(b, o->order_id);
    bs_buf_puts(b, "\">\n<button type=\"submit\" name=\"outcome\" value=\"approve\">"
                   "Approve</button>\n<button type=\"submit\" name=\"outcome\" "
                   "value=\"decline\">Decline</button>\n</form>\n</body></html>\n");
    pthread_mutex_unlock(&bs_state_lock);
    free(order_id);
}

/* ---- deciding: IPN and redirect ------------------------------------------------------- */

typedef struct {
    char amount[24], trans_id[24], result_code[8], response_time[24];
    const char *message;
    char *order_id, *request_id, *order_info, *extra_data;
} ipn_t;

static void ipn_fill(ipn_t *n, const order_t *o, int64_t amount, int64_t trans_id, int result_code, int64_t time_ms)
{
    snprintf(n->amount, sizeof(n->amount), "%lld", (long long)amount);
    snprintf(n->trans_id, sizeof(n->trans_id), "%lld", (long long)trans_id);
    snprintf(n->result_code, sizeof(n->result_code), "%d", result_code);
    snprintf(n->response_time, sizeof(n->response_time), "%lld", (long long)time_ms);
    n->message = result_code == 0 ? "Successful." : "Transaction denied by user.";
    n->order_id = bs_strdup(o->order_id);
    n->request_id = bs_strdup(o->request_id);
    n->order_info = bs_strdup(o->order_info);
    n->extra_data = bs_strdup(o->extra_data);
}

static void ipn_free(ipn_t *n)
{
    free(n->order_id);
    free(n->request_id);
    free(n->order_info);
    free(n->extra_data);
}

/* The IPN's pairs in raw-string order. */
static int ipn_pairs(const ipn_t *n, kv_t *p)
{
    p[0] = (kv_t){"accessKey", bs_config.momo_access_key};
    p[1] = (kv_t){"amount", n->amount};
    p[2] = (kv_t){"extraData", n->extra_data};
    p[3] = (kv_t){"message", n->message};
    p[4] = (kv_t){"orderId", n->order_id};
    p[5] = (kv_t){"orderInfo", n->order_info};
    p[6] = (kv_t){"orderType", "momo_wallet"};
    p[7] = (kv_t){"partnerCode", bs_config.momo_partner_code};
    p[8] = (kv_t){"payType", "qr"};
    p[9] = (kv_t){"requestId", n->request_id};
    p[10] = (kv_t){"responseTime", n->response_time};
    p[11] = (kv_t){"resultCode", n->result_code};
    p[12] = (kv_t){"transId", n->trans_id};
    return 13;
}

/* The IPN's JSON body: numbers for amount, transId, resultCode and
 * responseTime, strings for the rest. */
static void ipn_json(const ipn_t *n, int forge, bs_buf_t *b)
{
    kv_t p[16];
    int count = ipn_pairs(n, p);
    char sig[65];
    sign(p, count, sig);
    if (forge)
        bs_forge_hex(sig);
    bs_buf_putc(b, '{');
    for (int i = 1; i < count; i++) { /* accessKey is not sent */
        int number = strcmp(p[i].name, "amount") == 0 || strcmp(p[i].name, "transId") == 0 ||
                     strcmp(p[i].name, "resultCode") == 0 || strcmp(p[i].name, "responseTime") == 0;
        bs_buf_printf(b, "%s\"%s\":", i > 1 ? "," : "", p[i].name);
        if (number)
            bs_buf_puts(b, p[i].value);
        else
            bs_json_str(b, p[i].value);
    }
    bs_buf_printf(b, ",\"signature\":\"%s\"}", sig);
}

/* The redirect's query: the same fields, form-encoded. */
static void ipn_query(const ipn_t *n, int forge, bs_buf_t *b)
{
    kv_t p[16];
    int count = ipn_pairs(n, p);
    char sig[65];
    sign(p, count, sig);
    if (forge)
        bs_forge_hex(sig);
    for (int i = 1; i < count; i++) {
        bs_buf_printf(b, "%s%s=", i > 1 ? "&" : "", p[i].name);
        bs_form_encode(b, p[i].value);
    }
    bs_buf_printf(b, "&signature=%s", sig);
}

typedef struct {
    ipn_t primary, stale;
    int has_stale, forge, lose, copies, concurrent;
    char *ipn_url, *redirect_url;
} outcome_t;

/* As VNPay's: forged notices change nothing; a decided order's notice is
 * re-sent as it was.  Caller holds bs_state_lock. */
static const char *decide_locked(order_t *o, int approve, outcome_t *out)
{
    bs_chaos_t c = bs_chaos_get();
    out->forge = c.forge;
    out->lose = c.lose_ipn;
    out->copies = c.duplicate;
    out->concurrent = c.concurrent;
    if (o->state != ORDER_PENDING) {
        if ((o->state == ORDER_PAID) != approve)
            return "this order was already decided the other way";
        ipn_fill(&out->primary, o, o->paid_amount, o->trans_id, o->result_code, o->response_time);
    } else {
        int64_t now = bs_now_ms(), trans_id = bs_next_id();
        int64_t amount = o->amount + (approve ? c.amount_delta : 0);
        if (amount < 1)
            amount = 1; /* a negative delta never turns a payment into a debit */
        int code = approve ? 0 : 1006;
        ipn_fill(&out->primary, o, amount, trans_id, code, now);
        if (!c.forge) {
            o->state = approve ? ORDER_PAID : ORDER_FAILED;
            o->paid_amount = amount;
            o->trans_id = trans_id;
            o->result_code = code;
            o->response_time = now;
            if (approve) {
                char text[600];
                snprintf(text, sizeof(text), "MOMO %s %s", o->order_id, o->order_info);
                bs_book(now, amount, out->primary.trans_id, o->order_id, text, "momo", NULL);
            }
        }
    }
    if (approve && c.reorder) {
        ipn_fill(&out->stale, o, o->amount, bs_next_id(), 1006, bs_now_ms());
        out->has_stale = 1;
    }
    out->ipn_url = bs_strdup(o->ipn_url);
    out->redirect_url = bs_strdup(o->redirect_url);
    return NULL;
}

static void deliver_ipn(const ipn_t *n, int copies, const outcome_t *o, bs_buf_t *answers)
{
    bs_buf_t body = BS_BUF_INIT;
    ipn_json(n, o->forge, &body);
    bs_notice_t notice = {
        .kind = "momo.ipn", .method = "POST", .url = o->ipn_url, .body = body.data, .content_type = "application/json"};
    bs_deliver(&notice, copies, o->concurrent, answers);
    bs_buf_free(&body);
}

static int decide(const char *order_id, int approve, bs_buf_t *answers, char **redirect, const char **problem)
{
    outcome_t o = {0};
    pthread_mutex_lock(&bs_state_lock);
    order_t *order = order_find(order_id);
    *problem = order == NULL ? "unknown order_id" : decide_locked(order, approve, &o);
    pthread_mutex_unlock(&bs_state_lock);
    if (*problem != NULL)
        return order == NULL ? 404 : 409;
    bs_buf_putc(answers, '[');
    if (!o.lose) {
        deliver_ipn(&o.primary, o.copies, &o, answers);
        if (o.has_stale)
            deliver_ipn(&o.stale, 1, &o, answers);
    } else {
        bs_log_add("momo.ipn", "out", "POST", o.ipn_url, NULL, 0, NULL, "lost on purpose (chaos lose_ipn)");
    }
    bs_buf_putc(answers, ']');
    bs_buf_t u = BS_BUF_INIT;
    bs_buf_printf(&u, "%s%c", o.redirect_url, strchr(o.redirect_url, '?') != NULL ? '&' : '?');
    ipn_query(&o.primary, o.forge, &u);
    *redirect = bs_buf_take(&u);
    ipn_free(&o.primary);
    if (o.has_stale)
        ipn_free(&o.stale);
    free(o.ipn_url);
    free(o.redirect_url);
    return 0;
}

static void decide_work(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t f;
    bs_params_parse(&f, req->body, req->body_len);
    const char *order_id = bs_params_get(&f, "order_id");
    const char *outcome = bs_params_get(&f, "outcome");
    bs_buf_t answers = BS_BUF_INIT;
    char *redirect = NULL;
    const char *problem = "order_id and outcome=approve|decline are required";
    int status = 400;
    if (order_id != NULL && outcome != NULL && (strcmp(outcome, "approve") == 0 || strcmp(outcome, "decline") == 0))
        status = decide(order_id, strcmp(outcome, "approve") == 0, &answers, &redirect, &problem);
    if (status != 0) {
        bs_res_page(res, status, "MoMo - Loi", problem);
    } else {
        bs_res_page(res, 302, "MoMo", "redirecting to the merchant");
        res->location = redirect;
    }
    bs_buf_free(&answers);
    bs_params_free(&f);
}

void bs_momo_decide(const bs_request_t *req, bs_response_t *res) { res->work = decide_work; }

/* An order the control call names without a create: it gets feegate's IPN
 * URL and a redirect back to feegate's home. */
static void order_from_control(yajl_val root, const char *order_id)
{
    int64_t amount = 0;
    if (order_find(order_id) != NULL || bs_json_get_int(root, "amount", &amount) != 0 || amount <= 0)
        return;
    orders = grow(orders, &order_cap, order_count, sizeof(*orders));
    order_t *o = &orders[order_count++];
    memset(o, 0, sizeof(*o));
    bs_buf_t u = BS_BUF_INIT;
    const char *ipn_url = bs_json_get_str(root, "ipn_url");
    if (ipn_url == NULL)
        bs_buf_printf(&u, "%s/v1/webhooks/momo", bs_config.feegate_url);
    o->ipn_url = ipn_url != NULL ? bs_strdup(ipn_url) : bs_buf_take(&u);
    const char *info = bs_json_get_str(root, "order_info");
    o->order_id = bs_strdup(order_id);
    o->request_id = bs_strdup(order_id);
    o->order_info = bs_strdup(info != NULL ? info : order_id);
    o->redirect_url = bs_strdup(bs_config.feegate_url);
    o->extra_data = bs_strdup("");
    o->request_type = bs_strdup("captureWallet");
    o->amount = amount;
    o->state = ORDER_PENDING;
    o->result_code = 1000;
    o->response_time = bs_now_ms();
}

static void control_pay_work(const bs_request_t *req, bs_response_t *res)
{
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    const char *order_id = bs_json_get_str(root, "order_id");
    const char *outcome = bs_json_get_str(root, "outcome");
    if (order_id == NULL || order_id[0] == '\0' || outcome == NULL ||
        (strcmp(outcome, "approve") != 0 && strcmp(outcome, "decline") != 0)) {
        bs_res_error(res, 400, "order_id and outcome (approve|decline) are required");
        goto Exit;
    }
    pthread_mutex_lock(&bs_state_lock);
    order_from_control(root, order_id);
    pthread_mutex_unlock(&bs_state_lock);
    bs_buf_t answers = BS_BUF_INIT;
    char *redirect = NULL;
    const char *problem = NULL;
    int status = decide(order_id, strcmp(outcome, "approve") == 0, &answers, &redirect, &problem);
    if (status != 0) {
        bs_res_error(res, status, status == 404 ? "unknown order_id: create it first or give amount" : problem);
    } else {
        res->status = 200;
        res->content_type = BS_JSON_TYPE;
        bs_buf_printf(&res->body, "{\"ipn\":%s,\"redirect_url\":", bs_buf_cstr(&answers));
        bs_json_str(&res->body, redirect);
        bs_buf_putc(&res->body, '}');
    }
    bs_buf_free(&answers);
    free(redirect);
Exit:
    if (root != NULL)
        yajl_tree_free(root);
}

void bs_momo_control_pay(const bs_request_t *req, bs_response_t *res) { res->work = control_pay_work; }

/* ---- query ------------------------------------------------------------------------------ */

static const char *const query_names[] = {"accessKey", "orderId", "partnerCode", "requestId"};

static void query_answer(bs_buf_t *b, const order_t *o, const char *request_id)
{
    ipn_t n = {0};
    int code = o->state == ORDER_PENDING ? 1000 : o->result_code;
    ipn_fill(&n, o, o->state == ORDER_PENDING ? o->amount : o->paid_amount, o->trans_id, code, bs_now_ms());
    if (code == 1000)
        n.message = "Transaction is initiated, waiting for user confirmation.";
    free(n.request_id);
    n.request_id = bs_strdup(request_id); /* the answer echoes the query's id */
    ipn_json(&n, 0, b);
    b->len--; /* reopen the object for the refunds */
    bs_buf_puts(b, ",\"refundTrans\":[");
    int first = 1;
    for (size_t i = 0; i < refund_count; i++) {
        const refund_t *r = &refunds[i];
        if (o->trans_id == 0 || r->original_trans_id != o->trans_id)
            continue;
        bs_buf_printf(b, "%s{\"orderId\":", first ? "" : ",");
        bs_json_str(b, r->order_id);
        bs_buf_printf(b,
                      ",\"amount\":%lld,\"resultCode\":0,\"transId\":%lld,"
                      "\"createdTime\":%lld}",
                      (long long)r->amount, (long long)r->trans_id, (long long)r->time_ms);
        first = 0;
    }
    bs_buf_printf(b, "],\"lastUpdated\":%lld}", (long long)o->response_time);
    ipn_free(&n);
}

void bs_momo_query(const bs_request_t *req, bs_response_t *res)
{
    if (bs_chaos_api(res)) {
        bs_log_add("momo.query", "in", "POST", req->path, req->body, 500, NULL, "simulated failure (chaos fail_api)");
        return;
    }
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    const char *order_id = bs_json_get_str(root, "orderId");
    const char *request_id = bs_json_get_str(root, "requestId");
    const char *partner = bs_json_get_str(root, "partnerCode");
    if (order_id == NULL || request_id == NULL || partner == NULL) {
        error_answer(res, 400, root, 20, "Bad format request.");
    } else if (strcmp(partner, bs_config.momo_partner_code) != 0 || !verified(root, query_names, 4)) {
        error_answer(res, 400, root, 13, "Merchant authentication failed.");
    } else {
        pthread_mutex_lock(&bs_state_lock);
        const order_t *o = order_find(order_id);
        if (o == NULL) {
            signed_error_answer(res, 200, root, 42, "Invalid orderId or orderId is not found.", query_answer_names, 13);
        } else {
            res->status = 200;
            res->content_type = BS_JSON_TYPE;
            query_answer(&res->body, o, request_id);
        }
        pthread_mutex_unlock(&bs_state_lock);
    }
    bs_log_add("momo.query", "in", "POST", req->path, req->body, res->status, bs_buf_cstr(&res->body), NULL);
    if (root != NULL)
        yajl_tree_free(root);
}

/* ---- refund -------------------------------------------------------------------------------- */

static const char *const refund_names[] = {"accessKey",   "amount",    "description", "orderId",
                                           "partnerCode", "requestId", "transId"};

static char *refund_answer(const refund_t *r, int64_t time_ms, int result)
{
    char amount[24], trans_id[24], time_s[24], sig[65], code[16];
    const char *message = result == 0 ? "Successful." : "Transaction is being processed.";
    snprintf(code, sizeof(code), "%d", result);
    snprintf(amount, sizeof(amount), "%lld", (long long)r->amount);
    snprintf(trans_id, sizeof(trans_id), "%lld", (long long)r->trans_id);
    snprintf(time_s, sizeof(time_s), "%lld", (long long)time_ms);
    kv_t pairs[] = {{"accessKey", bs_config.momo_access_key},
                    {"amount", amount},
                    {"message", message},
                    {"orderId", r->order_id},
                    {"partnerCode", bs_config.momo_partner_code},
                    {"requestId", r->request_id},
                    {"responseTime", time_s},
                    {"resultCode", code},
                    {"transId", trans_id}};
    sign(pairs, (int)(sizeof(pairs) / sizeof(pairs[0])), sig);
    bs_buf_t b = BS_BUF_INIT;
    bs_buf_puts(&b, "{\"partnerCode\":");
    bs_json_str(&b, bs_config.momo_partner_code);
    bs_buf_puts(&b, ",\"orderId\":");
    bs_json_str(&b, r->order_id);
    bs_buf_puts(&b, ",\"requestId\":");
    bs_json_str(&b, r->request_id);
    bs_buf_printf(&b,
                  ",\"amount\":%s,\"transId\":%s,\"resultCode\":%s,"
                  "\"message\":\"%s\",\"responseTime\":%s,"
                  "\"signature\":\"%s\"}",
                  amount, trans_id, code, message, time_s, sig);
    return bs_buf_take(&b);
}

/* Refunds under bs_state_lock; fills res. */
static void refund_locked(yajl_val root, bs_response_t *res)
{
    const char *request_id = bs_json_get_str(root, "requestId");
    const char *order_id = bs_json_get_str(root, "orderId");
    int64_t amount = 0, trans_id = 0;
    refund_t *seen = refund_find(request_id, NULL);
    if (seen != NULL) {
        if (strcmp(seen->order_id, order_id) == 0)
            bs_res_json(res, 200, seen->answer); /* a retried refund */
        else
            error_answer(res, 400, root, 40, "Duplicated requestId.");
        return;
    }
    if (refund_find(NULL, order_id) != NULL || order_find(order_id) != NULL) {
        error_answer(res, 400, root, 41, "Duplicated orderId.");
        return;
    }
    bs_json_get_int(root, "amount", &amount);
    bs_json_get_int(root, "transId", &trans_id);
    order_t *o = order_by_trans(trans_id);
    if (o == NULL) {
        signed_error_answer(res, 200, root, 1088,
                            "The original transaction is not found or not "
                            "eligible for refund.",
                            refund_answer_names, 9);
    } else if (amount < BS_MOMO_AMOUNT_MIN || amount > o->paid_amount - o->refunded) {
        signed_error_answer(res, 200, root, 1081,
                            "Refund rejected: the amount exceeds what can be "
                            "refunded.",
                            refund_answer_names, 9);
    } else {
        refunds = grow(refunds, &refund_cap, refund_count, sizeof(*refunds));
        refund_t *r = &refunds[refund_count++];
        int64_t now = bs_now_ms();
        *r = (refund_t){.request_id = bs_strdup(request_id),
                        .order_id = bs_strdup(order_id),
                        .amount = amount,
                        .trans_id = bs_next_id(),
                        .original_trans_id = trans_id,
                        .time_ms = now};
        r->answer = refund_answer(r, now, 0);
        o->refunded += amount;
        char ref[24], text[700];
        snprintf(ref, sizeof(ref), "%lld", (long long)r->trans_id);
        snprintf(text, sizeof(text), "MOMO HOAN TIEN %s %s", o->order_id, o->order_info);
        bs_book(now, -amount, ref, o->order_id, text, "momo.refund", NULL);
        int result = bs_chaos_get().refund_result;
        if (result == 0) {
            bs_res_json(res, 200, r->answer);
        } else { /* made, but answered "still processing" */
            char *answer = refund_answer(r, now, result);
            bs_res_json(res, 200, answer);
            free(answer);
        }
    }
}

void bs_momo_refund(const bs_request_t *req, bs_response_t *res)
{
    if (bs_chaos_api(res)) {
        bs_log_add("momo.refund", "in", "POST", req->path, req->body, 500, NULL, "simulated failure (chaos fail_api)");
        return;
    }
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    const char *partner = bs_json_get_str(root, "partnerCode");
    int64_t n;
    if (partner == NULL || bs_json_get_str(root, "orderId") == NULL || bs_json_get_str(root, "requestId") == NULL ||
        bs_json_get_int(root, "amount", &n) != 0 || bs_json_get_int(root, "transId", &n) != 0) {
        error_answer(res, 400, root, 20, "Bad format request.");
    } else if (strcmp(partner, bs_config.momo_partner_code) != 0 || !verified(root, refund_names, 7)) {
        error_answer(res, 400, root, 13, "Merchant authentication failed.");
    } else {
        pthread_mutex_lock(&bs_state_lock);
        refund_locked(root, res);
        pthread_mutex_unlock(&bs_state_lock);
        bs_chaos_lose_answer(res);
    }
    bs_log_add("momo.refund", "in", "POST", req->path, req->body, res->status, bs_buf_cstr(&res->body), NULL);
    if (root != NULL)
        yajl_tree_free(root);
}

/* ---- refund query ----------------------------------------------------------------------------- */

/* POST /v2/gateway/api/refund/query {partnerCode, orderId (the refund's),
 * requestId, lang, signature over accessKey orderId partnerCode requestId}:
 * the refund's own signed answer when it was made, else a signed 42. */
void bs_momo_refund_query(const bs_request_t *req, bs_response_t *res)
{
    if (bs_chaos_api(res)) {
        bs_log_add("momo.refund_query", "in", "POST", req->path, req->body, 500, NULL,
                   "simulated failure (chaos fail_api)");
        return;
    }
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    const char *order_id = bs_json_get_str(root, "orderId");
    const char *partner = bs_json_get_str(root, "partnerCode");
    if (order_id == NULL || bs_json_get_str(root, "requestId") == NULL || partner == NULL) {
        error_answer(res, 400, root, 20, "Bad format request.");
    } else if (strcmp(partner, bs_config.momo_partner_code) != 0 || !verified(root, query_names, 4)) {
        error_answer(res, 400, root, 13, "Merchant authentication failed.");
    } else {
        pthread_mutex_lock(&bs_state_lock);
        const refund_t *r = refund_find(NULL, order_id);
        if (r != NULL)
            bs_res_json(res, 200, r->answer);
        else
            signed_error_answer(res, 200, root, 42, "Invalid orderId or orderId is not found.", refund_answer_names, 9);
        pthread_mutex_unlock(&bs_state_lock);
    }
    bs_log_add("momo.refund_query", "in", "POST", req->path, req->body, res->status, bs_buf_cstr(&res->body), NULL);
    if (root != NULL)
        yajl_tree_free(root);
}
