/*
 * control.c - the control API for tests and demos: chaos settings (the
 * statement and reminder channel chaos too), the exchange log, statements,
 * gateway settlement files and fee schedules.
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
static bs_chaos_t chaos = {.duplicate = 1, .statement_wrong_amount_line = 1, .settlement_wrong_amount_row = 1};

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

void bs_chaos_take_codes(char out[BS_CODES_CAP])
{
    pthread_mutex_lock(&chaos_lock);
    memcpy(out, chaos.statement_two_codes, BS_CODES_CAP);
    chaos.statement_two_codes[0] = '\0';
    pthread_mutex_unlock(&chaos_lock);
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
                  "\"refund_result\":%d,",
                  c->duplicate, c->concurrent ? "true" : "false", c->reorder ? "true" : "false",
                  c->forge ? "true" : "false", (long long)c->amount_delta, c->lose_ipn ? "true" : "false",
                  (long long)c->delay_ms, c->fail_api ? "true" : "false", c->lose_answer ? "true" : "false",
                  c->refund_result);
    bs_buf_printf(b,
                  "\"statement_duplicate_line\":%d,\"statement_missing_line\":%d,"
                  "\"statement_overlap\":%d,\"statement_wrong_amount\":%lld,"
                  "\"statement_wrong_amount_line\":%d,\"statement_rewrite\":%s,"
                  "\"statement_balanced\":%s,\"statement_two_codes\":",
                  c->statement_duplicate_line, c->statement_missing_line, c->statement_overlap,
                  (long long)c->statement_wrong_amount, c->statement_wrong_amount_line,
                  c->statement_rewrite ? "true" : "false", c->statement_balanced ? "true" : "false");
    bs_json_str(b, c->statement_two_codes);
    bs_buf_puts(b, ",\"settlement_withhold\":[");
    for (int g = BS_GATEWAY_VNPAY, n = 0; g < BS_GATEWAY_COUNT; g++)
        if (c->settlement_withhold[g])
            bs_buf_printf(b, "%s\"%s\"", n++ > 0 ? "," : "", bs_gateway_name((bs_gateway_t)g));
    bs_buf_printf(b,
                  "],\"settlement_gateway\":%s%s%s,\"settlement_unknown_row\":%lld,"
                  "\"settlement_wrong_amount\":%lld,\"settlement_wrong_amount_row\":%d,"
                  "\"settlement_missing_row\":%d,",
                  c->settlement_gateway != BS_GATEWAY_NONE ? "\"" : "",
                  c->settlement_gateway != BS_GATEWAY_NONE ? bs_gateway_name((bs_gateway_t)c->settlement_gateway)
                                                           : "null",
                  c->settlement_gateway != BS_GATEWAY_NONE ? "\"" : "", (long long)c->settlement_unknown_row,
                  (long long)c->settlement_wrong_amount, c->settlement_wrong_amount_row, c->settlement_missing_row);
    bs_buf_puts(b, "\"sms_code\":");
    bs_json_str(b, c->sms_code[0] != '\0' ? c->sms_code : NULL);
    bs_buf_printf(b, ",\"zalo_error\":%d,\"smtp_code\":%d,\"messages_delay_ms\":%lld}", c->zalo_error, c->smtp_code,
                  (long long)c->messages_delay_ms);
}

/* A line position (1..BS_STATEMENT_LINE_MAX) or count; true is 1, false and
 * absent 0.  Returns -1 when out of range. */
static int line_setting(yajl_val root, const char *name, int *out)
{
    int64_t n = 0;
    if (bs_json_get_int(root, name, &n) != 0)
        n = bs_json_get_bool(root, name, 0);
    if (n < 0 || n > BS_STATEMENT_LINE_MAX)
        return -1;
    *out = (int)n;
    return 0;
}

/* Appends code to out (space-separated) after checking its shape; -1 when it
 * is not a code or there are too many. */
static int add_code(char out[BS_CODES_CAP], int *count, const char *code)
{
    size_t n = code != NULL ? strlen(code) : 0, used = strlen(out);
    if (n == 0 || n > BS_ORDER_CODE_MAX || *count == BS_TRANSFER_CODES_MAX || used + n + 2 > BS_CODES_CAP)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)code[i] <= ' ' || (unsigned char)code[i] > '~')
            return -1;
    snprintf(out + used, BS_CODES_CAP - used, "%s%s", used > 0 ? " " : "", code);
    (*count)++;
    return 0;
}

int bs_codes_parse(yajl_val v, char out[BS_CODES_CAP])
{
    int count = 0;
    out[0] = '\0';
    if (v == NULL)
        return 0;
    if (YAJL_IS_STRING(v))
        return add_code(out, &count, YAJL_GET_STRING(v));
    if (!YAJL_IS_ARRAY(v))
        return -1;
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val e = v->u.array.values[i];
        if (!YAJL_IS_STRING(e) || add_code(out, &count, YAJL_GET_STRING(e)) != 0)
            return -1;
    }
    return 0;
}

/* The statement members of a chaos body into c; NULL or what is wrong. */
static const char *statement_chaos(yajl_val root, bs_chaos_t *c)
{
    if (line_setting(root, "statement_duplicate_line", &c->statement_duplicate_line) != 0 ||
        line_setting(root, "statement_missing_line", &c->statement_missing_line) != 0 ||
        line_setting(root, "statement_overlap", &c->statement_overlap) != 0 ||
        line_setting(root, "statement_wrong_amount_line", &c->statement_wrong_amount_line) != 0)
        return "statement line positions and statement_overlap must be 0..100000";
    if (c->statement_wrong_amount_line == 0)
        c->statement_wrong_amount_line = 1;
    if (bs_json_get_int(root, "statement_wrong_amount", &c->statement_wrong_amount) == 0 &&
        (c->statement_wrong_amount > AMOUNT_DELTA_MAX || c->statement_wrong_amount < -AMOUNT_DELTA_MAX))
        return "statement_wrong_amount is out of range";
    c->statement_rewrite = bs_json_get_bool(root, "statement_rewrite", 0);
    c->statement_balanced = bs_json_get_bool(root, "statement_balanced", 0);
    const char *path[] = {"statement_two_codes", NULL};
    if (bs_codes_parse(yajl_tree_get(root, path, yajl_t_any), c->statement_two_codes) != 0)
        return "statement_two_codes must be an order code or a list of at most 8 (no spaces, 32 characters each)";
    return NULL;
}

/* The gateways v names: "vnpay", "momo", a list of them, or true (both).
 * -1 when it names anything else. */
static int gateways_parse(yajl_val v, int out[BS_GATEWAY_COUNT])
{
    memset(out, 0, sizeof(int) * BS_GATEWAY_COUNT);
    if (v == NULL || YAJL_IS_FALSE(v))
        return 0;
    if (YAJL_IS_TRUE(v)) {
        for (int g = BS_GATEWAY_VNPAY; g < BS_GATEWAY_COUNT; g++)
            out[g] = 1;
        return 0;
    }
    size_t n = YAJL_IS_ARRAY(v) ? v->u.array.len : 1;
    for (size_t i = 0; i < n; i++) {
        yajl_val e = YAJL_IS_ARRAY(v) ? v->u.array.values[i] : v;
        bs_gateway_t g = YAJL_IS_STRING(e) ? bs_gateway_find(YAJL_GET_STRING(e)) : BS_GATEWAY_NONE;
        if (g == BS_GATEWAY_NONE)
            return -1;
        out[g] = 1;
    }
    return 0;
}

/* The settlement members of a chaos body into c; NULL or what is wrong. */
static const char *settlement_chaos(yajl_val root, bs_chaos_t *c)
{
    const char *path_withhold[] = {"settlement_withhold", NULL};
    if (gateways_parse(yajl_tree_get(root, path_withhold, yajl_t_any), c->settlement_withhold) != 0)
        return "settlement_withhold must be vnpay, momo, a list of them, or true";
    const char *gateway = bs_json_get_str(root, "settlement_gateway");
    c->settlement_gateway = gateway != NULL ? bs_gateway_find(gateway) : BS_GATEWAY_NONE;
    if (gateway != NULL && c->settlement_gateway == BS_GATEWAY_NONE)
        return "settlement_gateway must be vnpay or momo (left out: both)";
    if (bs_json_get_int(root, "settlement_unknown_row", &c->settlement_unknown_row) == 0 &&
        (c->settlement_unknown_row < 0 || c->settlement_unknown_row > AMOUNT_DELTA_MAX))
        return "settlement_unknown_row is an amount in VND, 0 (off) to 10^12";
    if (bs_json_get_int(root, "settlement_wrong_amount", &c->settlement_wrong_amount) == 0 &&
        (c->settlement_wrong_amount > AMOUNT_DELTA_MAX || c->settlement_wrong_amount < -AMOUNT_DELTA_MAX))
        return "settlement_wrong_amount is out of range";
    if (line_setting(root, "settlement_wrong_amount_row", &c->settlement_wrong_amount_row) != 0 ||
        line_setting(root, "settlement_missing_row", &c->settlement_missing_row) != 0)
        return "settlement row positions must be 0..100000";
    if (c->settlement_wrong_amount_row == 0)
        c->settlement_wrong_amount_row = 1;
    return NULL;
}

/* The reminder channels' members of a chaos body into c; NULL or what is
 * wrong. */
static const char *reminder_chaos(yajl_val root, bs_chaos_t *c)
{
    int64_t n = 0;
    if (bs_json_get_int(root, "sms_code", &n) == 0) {
        if (n < 0 || n > 999 || n == 100)
            return "sms_code is an eSMS CodeResult other than 100 (e.g. \"99\")";
        snprintf(c->sms_code, sizeof(c->sms_code), "%d", (int)n);
    }
    if (bs_json_get_int(root, "zalo_error", &n) == 0) {
        if (n < -999 || n > 0)
            return "zalo_error is a negative Zalo error (e.g. -124; 0 = off)";
        c->zalo_error = (int)n;
    }
    if (bs_json_get_int(root, "smtp_code", &n) == 0) {
        if (n != 0 && (n < 400 || n > 599))
            return "smtp_code is a reply code 400..599 (0 = off)";
        c->smtp_code = (int)n;
    }
    if (bs_json_get_int(root, "messages_delay_ms", &c->messages_delay_ms) == 0 &&
        (c->messages_delay_ms < 0 || c->messages_delay_ms > BS_DELAY_MAX_MS))
        return "messages_delay_ms must be 0..120000";
    return NULL;
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
    const char *problem = NULL;
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
    if ((problem = statement_chaos(root, &c)) != NULL || (problem = settlement_chaos(root, &c)) != NULL ||
        (problem = reminder_chaos(root, &c)) != NULL) {
        bs_res_error(res, 422, problem);
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
    bs_chaos_t c = {.duplicate = 1, .statement_wrong_amount_line = 1, .settlement_wrong_amount_row = 1};
    pthread_mutex_lock(&chaos_lock);
    chaos = c;
    pthread_mutex_unlock(&chaos_lock);
    bs_messages_clear();
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
    bs_format_t f;
    if (statement_date(&q, NULL, date) != 0) {
        bs_res_error(res, 400, "date must be YYYY-MM-DD");
    } else if (bs_format_find(format != NULL ? format : "camt053", bs_params_get(&q, "per"), &f) != 0) {
        bs_res_error(res, 400, "format must be camt053, camt054 (per=day|credit), mt940 or csv-vn");
    } else {
        bs_chaos_t c = bs_chaos_get();
        pthread_mutex_lock(&bs_state_lock);
        bs_statement_render(&res->body, date, f, &c);
        pthread_mutex_unlock(&bs_state_lock);
        res->status = 200;
        res->content_type = bs_format_type(f);
    }
    bs_params_free(&q);
}

void bs_control_settlement(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t q;
    bs_params_parse(&q, req->query, strlen(req->query));
    char date[11];
    bs_gateway_t g = bs_gateway_find(bs_params_get(&q, "gateway"));
    if (statement_date(&q, NULL, date) != 0) {
        bs_res_error(res, 400, "date must be YYYY-MM-DD");
    } else if (g == BS_GATEWAY_NONE) {
        bs_res_error(res, 400, "gateway must be vnpay or momo");
    } else if (bs_chaos_get().settlement_withhold[g]) {
        bs_res_error(res, 404, "the gateway withholds its settlement file (chaos settlement_withhold)");
    } else {
        bs_chaos_t c = bs_chaos_get();
        pthread_mutex_lock(&bs_state_lock);
        bs_settlement_render(&res->body, date, g, &c);
        pthread_mutex_unlock(&bs_state_lock);
        res->status = 200;
        res->content_type = BS_CSV_TYPE;
    }
    bs_params_free(&q);
}

static int write_file(const char *path, const bs_buf_t *b, char *err, size_t cap)
{
    char tmp[1300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL && fwrite(b->data, 1, b->len, f) == b->len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The files statement/write makes for a day: DIR/<date>.<suffix>. */
typedef struct {
    const char *suffix;
    int settlement; /* a gateway's settlement file rather than a statement */
    bs_format_t format;
    bs_gateway_t gateway;
} day_file_t;

static const day_file_t day_files[] = {
    {"camt053.xml", 0, BS_FORMAT_CAMT053, BS_GATEWAY_NONE},
    {"mt940.sta", 0, BS_FORMAT_MT940, BS_GATEWAY_NONE},
    {"camt054.xml", 0, BS_FORMAT_CAMT054, BS_GATEWAY_NONE},
    {"camt054-credits.xml", 0, BS_FORMAT_CAMT054_CREDITS, BS_GATEWAY_NONE},
    {"vn.csv", 0, BS_FORMAT_CSV_VN, BS_GATEWAY_NONE},
    {"settlement-vnpay.csv", 1, BS_FORMAT_CAMT053, BS_GATEWAY_VNPAY},
    {"settlement-momo.csv", 1, BS_FORMAT_CAMT053, BS_GATEWAY_MOMO},
};
#define DAY_FILE_COUNT (sizeof(day_files) / sizeof(day_files[0]))

void bs_control_statement_write(const bs_request_t *req, bs_response_t *res)
{
    bs_params_t q;
    bs_params_parse(&q, req->query, strlen(req->query));
    yajl_val body = req->body_len > 0 ? bs_json_parse_object(req->body, req->body_len) : NULL;
    char date[11], err[1400] = "";
    bs_buf_t out = BS_BUF_INIT, docs[DAY_FILE_COUNT];
    memset(docs, 0, sizeof(docs));
    if (bs_config.statement_dir[0] == '\0') {
        bs_res_error(res, 409, "banksim was started without --statement-dir");
        goto Exit;
    }
    if (statement_date(&q, body, date) != 0) {
        bs_res_error(res, 400, "date must be YYYY-MM-DD");
        goto Exit;
    }
    /* every file from one state of the account, written once the lock is released */
    bs_chaos_t c = bs_chaos_get();
    pthread_mutex_lock(&bs_state_lock);
    for (size_t i = 0; i < DAY_FILE_COUNT; i++) {
        if (day_files[i].settlement)
            bs_settlement_render(&docs[i], date, day_files[i].gateway, &c);
        else
            bs_statement_render(&docs[i], date, day_files[i].format, &c);
    }
    pthread_mutex_unlock(&bs_state_lock);
    bs_buf_printf(&out, "{\"date\":\"%s\",\"files\":[", date);
    for (size_t i = 0, listed = 0; i < DAY_FILE_COUNT; i++) {
        char path[1200];
        if (day_files[i].settlement && c.settlement_withhold[day_files[i].gateway])
            continue; /* withheld: not written (an older file of the day stays as it was) */
        snprintf(path, sizeof(path), "%s/%s.%s", bs_config.statement_dir, date, day_files[i].suffix);
        if (write_file(path, &docs[i], err, sizeof(err)) != 0) {
            bs_res_error(res, 500, err);
            goto Exit;
        }
        if (listed++ > 0)
            bs_buf_putc(&out, ',');
        bs_json_str(&out, path);
    }
    bs_buf_puts(&out, "]}");
    bs_res_json(res, 200, bs_buf_cstr(&out));
Exit:
    for (size_t i = 0; i < DAY_FILE_COUNT; i++)
        bs_buf_free(&docs[i]);
    bs_buf_free(&out);
    if (body != NULL)
        yajl_tree_free(body);
    bs_params_free(&q);
}

/* ---- fees ------------------------------------------------------------------------------------ */

static void fees_render(bs_buf_t *b)
{
    bs_buf_puts(b, "{\"fees\":{");
    for (int g = BS_GATEWAY_VNPAY; g < BS_GATEWAY_COUNT; g++) {
        bs_fee_t fee = bs_fee_get((bs_gateway_t)g);
        bs_buf_printf(b, "%s\"%s\":{\"percent_bp\":%lld,\"fixed\":%lld}", g > BS_GATEWAY_VNPAY ? "," : "",
                      bs_gateway_name((bs_gateway_t)g), (long long)fee.percent_bp, (long long)fee.fixed);
    }
    bs_buf_puts(b, "}}");
}

/* A member of a fee schedule: 0 when absent, -1 when outside 0..max. */
static int fee_member(yajl_val v, const char *name, int64_t max, int64_t *out)
{
    if (bs_json_get_int(v, name, out) != 0)
        *out = 0;
    return *out < 0 || *out > max ? -1 : 0;
}

/* GET answers the schedules; POST {"vnpay":{"percent_bp","fixed"},"momo":{…}}
 * replaces those of the gateways it names (a member left out is 0). */
void bs_control_fees(const bs_request_t *req, bs_response_t *res)
{
    yajl_val root = NULL;
    bs_fee_t fees[BS_GATEWAY_COUNT] = {{0}};
    int given[BS_GATEWAY_COUNT] = {0};
    if (strcmp(req->method, "POST") == 0) {
        if ((root = bs_json_parse_object(req->body, req->body_len)) == NULL) {
            bs_res_error(res, 400, "the body must be a JSON object");
            return;
        }
        for (size_t i = 0; i < root->u.object.len; i++) {
            bs_gateway_t g = bs_gateway_find(root->u.object.keys[i]);
            yajl_val v = root->u.object.values[i];
            if (g == BS_GATEWAY_NONE || !YAJL_IS_OBJECT(v)) {
                bs_res_error(res, 422, "the body names gateways (vnpay, momo), each with an object");
                goto Exit;
            }
            if (fee_member(v, "percent_bp", BS_FEE_BP_MAX, &fees[g].percent_bp) != 0 ||
                fee_member(v, "fixed", BS_FEE_FIXED_MAX, &fees[g].fixed) != 0) {
                bs_res_error(res, 422, "percent_bp must be 0..10000 and fixed 0..1000000000 (VND)");
                goto Exit;
            }
            given[g] = 1;
        }
    }
    pthread_mutex_lock(&bs_state_lock);
    for (int g = BS_GATEWAY_VNPAY; g < BS_GATEWAY_COUNT; g++)
        if (given[g])
            bs_fee_set((bs_gateway_t)g, fees[g]);
    res->status = 200;
    res->content_type = BS_JSON_TYPE;
    fees_render(&res->body);
    pthread_mutex_unlock(&bs_state_lock);
    if (root != NULL)
        bs_log_add("control.fees", "in", "POST", "/control/fees", req->body, 200, bs_buf_cstr(&res->body), NULL);
Exit:
    if (root != NULL)
        yajl_tree_free(root);
}
