/*
 * control.c - the control API for tests and demos: chaos settings, the
 * exchange log and statements.
 */
#include "banksim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- chaos ------------------------------------------------------------------ */

/* A wrong amount beyond this is a typo in a test, not a scenario. */
#define AMOUNT_DELTA_MAX INT64_C(1000000000000)

static pthread_mutex_t chaos_lock = PTHREAD_MUTEX_INITIALIZER;
static bs_chaos_t chaos = {.duplicate = 1};

bs_chaos_t bs_chaos_get(void)
{
    pthread_mutex_lock(&chaos_lock);
    bs_chaos_t c = chaos;
    pthread_mutex_unlock(&chaos_lock);
    return c;
}

int bs_chaos_api(bs_response_t *res)
{
    bs_chaos_t c = bs_chaos_get();
    res->delay_ms = c.delay_ms;
    if (!c.fail_api)
        return 0;
    bs_res_error(res, 500, "simulated provider failure");
    return 1;
}

int bs_chaos_lose_answer(bs_response_t *res)
{
    if (!bs_chaos_get().lose_answer)
        return 0;
    res->body.len = 0;
    bs_res_error(res, 500, "simulated lost answer (chaos lose_answer)");
    return 1;
}

static void chaos_render(bs_buf_t *b, const bs_chaos_t *c)
{
    bs_buf_printf(b,
                  "{\"duplicate\":%d,\"concurrent\":%s,\"reorder\":%s,"
                  "\"forge\":%s,\"amount_delta\":%lld,\"lose_ipn\":%s,"
                  "\"delay_ms\":%lld,\"fail_api\":%s,\"lose_answer\":%s,"
                  "\"refund_result\":%d}",
                  c->duplicate, c->concurrent ? "true" : "false", c->reorder ? "true" : "false",
                  c->forge ? "true" : "false", (long long)c->amount_delta, c->lose_ipn ? "true" : "false",
                  (long long)c->delay_ms, c->fail_api ? "true" : "false", c->lose_answer ? "true" : "false",
                  c->refund_result);
}

/* Each call replaces every setting: members left out go back to normal. */
void bs_control_chaos(const bs_request_t *req, bs_response_t *res)
{
    yajl_val root = bs_json_parse_object(req->body, req->body_len);
    if (root == NULL) {
        bs_res_error(res, 400, "the body must be a JSON object");
        return;
    }
    bs_chaos_t c = {.duplicate = 1};
    int64_t n = 1;
    if (bs_json_get_int(root, "duplicate", &n) == 0) {
        if (n < 0 || n > BS_DUPLICATE_MAX) {
            bs_res_error(res, 422, "duplicate must be 0..64");
            goto Exit;
        }
        c.duplicate = n < 1 ? 1 : (int)n;
    }
    c.concurrent = bs_json_get_bool(root, "concurrent", 0);
    c.reorder = bs_json_get_bool(root, "reorder", 0);
    c.forge = bs_json_get_bool(root, "forge", 0);
    c.lose_ipn = bs_json_get_bool(root, "lose_ipn", 0);
    c.fail_api = bs_json_get_bool(root, "fail_api", 0);
    c.lose_answer = bs_json_get_bool(root, "lose_answer", 0);
    int64_t result = 0;
    if (bs_json_get_int(root, "refund_result", &result) == 0) {
        if (result < 0 || result > 9999) {
            bs_res_error(res, 422, "refund_result must be 0..9999");
            goto Exit;
        }
        c.refund_result = (int)result;
    }
    if (bs_json_get_int(root, "amount_delta", &c.amount_delta) == 0 &&
        (c.amount_delta > AMOUNT_DELTA_MAX || c.amount_delta < -AMOUNT_DELTA_MAX)) {
        bs_res_error(res, 422, "amount_delta is out of range");
        goto Exit;
    }
    if (bs_json_get_int(root, "delay_ms", &c.delay_ms) == 0 && (c.delay_ms < 0 || c.delay_ms > BS_DELAY_MAX_MS)) {
        bs_res_error(res, 422, "delay_ms must be 0..120000");
        goto Exit;
    }
    pthread_mutex_lock(&chaos_lock);
    chaos = c;
    pthread_mutex_unlock(&chaos_lock);
    bs_buf_t b = BS_BUF_INIT;
    bs_buf_puts(&b, "{\"chaos\":");
    chaos_render(&b, &c);
    bs_buf_putc(&b, '}');
    bs_log_add("control.chaos", "in", "POST", "/control/chaos", req->body, 200, bs_buf_cstr(&b), NULL);
    bs_res_json(res, 200, bs_buf_cstr(&b));
    bs_buf_free(&b);
Exit:
    yajl_tree_free(root);
}

void bs_control_reset(const bs_request_t *req, bs_response_t *res)
{
    bs_chaos_t c = {.duplicate = 1};
    pthread_mutex_lock(&chaos_lock);
    chaos = c;
    pthread_mutex_unlock(&chaos_lock);
    bs_log_add("control.reset", "in", "POST", "/control/reset", NULL, 200, NULL, NULL);
    bs_buf_t b = BS_BUF_INIT;
    bs_buf_puts(&b, "{\"chaos\":");
    chaos_render(&b, &c);
    bs_buf_putc(&b, '}');
    bs_res_json(res, 200, bs_buf_cstr(&b));
    bs_buf_free(&b);
}

/* ---- log: a ring of rendered JSON entries ------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_entries[BS_LOG_MAX];
static int64_t log_seq; /* seq of the newest entry; entry seq s is at s % MAX */

void bs_log_add(const char *kind, const char *direction, const char *method, const char *url, const char *request,
                int status, const char *answer, const char *note)
{
    char ts[40], ms[8];
    int64_t now = bs_now_ms();
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ms, sizeof(ms), ".%03dZ", (int)(now % 1000));
    bs_buf_t b = BS_BUF_INIT;
    pthread_mutex_lock(&log_lock);
    int64_t seq = ++log_seq;
    bs_buf_printf(&b, "{\"seq\":%lld,\"time\":\"%s%s\",\"kind\":", (long long)seq, ts, ms);
    bs_json_str(&b, kind);
    bs_buf_puts(&b, ",\"direction\":");
    bs_json_str(&b, direction);
    bs_buf_puts(&b, ",\"method\":");
    bs_json_str(&b, method);
    bs_buf_puts(&b, ",\"url\":");
    bs_json_str(&b, url);
    bs_buf_puts(&b, ",\"request\":");
    bs_json_str(&b, request);
    bs_buf_printf(&b, ",\"status\":%d,\"answer\":", status);
    bs_json_str(&b, answer);
    bs_buf_puts(&b, ",\"note\":");
    bs_json_str(&b, note);
    bs_buf_putc(&b, '}');
    int slot = (int)(seq % BS_LOG_MAX);
    free(log_entries[slot]);
    log_entries[slot] = bs_buf_take(&b);
    pthread_mutex_unlock(&log_lock);
}

void bs_log_render(bs_buf_t *b, int64_t since)
{
    pthread_mutex_lock(&log_lock);
    int64_t first = log_seq - BS_LOG_MAX + 1;
    if (first < since + 1)
        first = since + 1;
    if (first < 1)
        first = 1;
    bs_buf_puts(b, "{\"entries\":[");
    for (int64_t s = first; s <= log_seq; s++) {
        if (s > first)
            bs_buf_putc(b, ',');
        bs_buf_puts(b, log_entries[s % BS_LOG_MAX]);
    }
    bs_buf_printf(b, "],\"last_seq\":%lld}", (long long)log_seq);
    pthread_mutex_unlock(&log_lock);
}

void bs_log_free(void)
{
    pthread_mutex_lock(&log_lock);
    for (int i = 0; i < BS_LOG_MAX; i++) {
        free(log_entries[i]);
        log_entries[i] = NULL;
    }
    pthread_mutex_unlock(&log_lock);
}

void bs_control_log(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t q;
    bs_params_parse(&q, req->query, strlen(req->query));
    const char *since = bs_params_get(&q, "since");
    bs_buf_t b = BS_BUF_INIT;
    bs_log_render(&b, since != NULL ? strtoll(since, NULL, 10) : 0);
    bs_params_free(&q);
    bs_res_json(res, 200, bs_buf_cstr(&b));
    bs_buf_free(&b);
}

/* ---- statements --------------------------------------------------------------- */

/* The date of the query (or body), defaulting to today in GMT+7. */
static int statement_date(const bs_params_t *q, yajl_val body, char out[11])
{
    const char *d = bs_params_get(q, "date");
    if (d == NULL && body != NULL)
        d = bs_json_get_str(body, "date");
    if (d == NULL) {
        bs_business_date(bs_now_ms(), out);
        return 0;
    }
    if (!bs_date_valid(d))
        return -1;
    memcpy(out, d, 11);
    return 0;
}

void bs_control_statement(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t q;
    bs_params_parse(&q, req->query, strlen(req->query));
    char date[11];
    const char *format = bs_params_get(&q, "format");
    if (format == NULL)
        format = "camt053";
    if (statement_date(&q, NULL, date) != 0) {
        bs_res_error(res, 400, "date must be YYYY-MM-DD");
    } else if (bs_statement_render(&res->body, date, format) != 0) {
        bs_res_error(res, 400, "format must be camt053 or mt940");
    } else {
        res->status = 200;
        res->content_type = strcmp(format, "mt940") == 0 ? BS_TEXT_TYPE : BS_XML_TYPE;
    }
    bs_params_free(&q);
}

static int write_file(const char *path, const bs_buf_t *b, char *err, size_t cap)
{
    char tmp[1300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void bs_control_statement_write(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t q;
    bs_params_parse(&q, req->query, strlen(req->query));
    yajl_val body = req->body_len > 0 ? bs_json_parse_object(req->body, req->body_len) : NULL;
    static const char *const formats[2][2] = {{"camt053", "camt053.xml"}, {"mt940", "mt940.sta"}};
    char date[11], err[1400] = "";
    bs_buf_t out = BS_BUF_INIT;
    if (bs_config.statement_dir[0] == '\0') {
        bs_res_error(res, 409, "banksim was started without --statement-dir");
        goto Exit;
    }
    if (statement_date(&q, body, date) != 0) {
        bs_res_error(res, 400, "date must be YYYY-MM-DD");
        goto Exit;
    }
    bs_buf_printf(&out, "{\"date\":\"%s\",\"files\":[", date);
    for (int i = 0; i < 2; i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s.%s", bs_config.statement_dir, date, formats[i][1]);
        bs_buf_t doc = BS_BUF_INIT;
        bs_statement_render(&doc, date, formats[i][0]);
        int rc = write_file(path, &doc, err, sizeof(err));
        bs_buf_free(&doc);
        if (rc != 0) {
            bs_res_error(res, 500, err);
            goto Exit;
        }
        if (i > 0)
            bs_buf_putc(&out, ',');
        bs_json_str(&out, path);
    }
    bs_buf_puts(&out, "]}");
    bs_res_json(res, 200, bs_buf_cstr(&out));
Exit:
    bs_buf_free(&out);
    if (body != NULL)
        yajl_tree_free(body);
    bs_params_free(&q);
}
