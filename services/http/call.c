/*
 * call.c - what every API call does on its worker: authenticate, honour the
 * Idempotency-Key, run the handler; and the response helpers.
 */
#include "http/server_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "core/log.h"
#include "core/text.h"

fg_merchant_ref_t fg_call_merchant(const fg_call_t *call)
{
    fg_merchant_ref_t m = {call->merchant_id, call->merchant_public_id};
    return m;
}

const char *fg_call_query(fg_call_t *call, const char *name, size_t *len)
{
    for (int i = 0; i < call->query_count; i++)
        if (strcmp(call->query[i].name, name) == 0) {
            if (len != NULL)
                *len = call->query[i].value_len;
            return call->query[i].value;
        }
    return NULL;
}

const char *fg_call_header(fg_call_t *call, const char *name)
{
    return fg_headers_get(call->headers.data, call->headers.len, name, &call->header_scratch);
}

int fg_field_status(const fg_field_error_t *err)
{
    return err->kind == FG_FIELD_MALFORMED ? 400 : err->kind == FG_FIELD_MEDIA_TYPE ? 415 : 422;
}

/* The charset parameter of a media type's parameters ("; charset=utf-8"),
 * unquoted, in value (empty when there is none). */
static void charset_of(const char *params, char *value, size_t cap)
{
    value[0] = '\0';
    for (const char *p = params; (p = strchr(p, ';')) != NULL;) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "charset=", 8) != 0)
            continue;
        p += 8;
        size_t n = 0;
        if (*p == '"')
            p++;
        while (p[n] != '\0' && p[n] != ';' && p[n] != '"' && p[n] != ' ' && p[n] != '\t' && n + 1 < cap) {
            value[n] = p[n];
            n++;
        }
        value[n] = '\0';
        return;
    }
}

/* "application/json", any case, with parameters or none after it; a
 * charset, if named, UTF-8 (JSON is UTF-8 only: RFC 8259 §8.1, and the body
 * is read as UTF-8 whatever the header says). */
static int is_json_type(const char *type)
{
    static const char JSON[] = "application/json";
    size_t n = sizeof(JSON) - 1;
    char charset[32];
    if (type == NULL || strncasecmp(type, JSON, n) != 0)
        return 0;
    if (!(type[n] == '\0' || type[n] == ';' || type[n] == ' ' || type[n] == '\t'))
        return 0;
    charset_of(type + n, charset, sizeof(charset));
    return charset[0] == '\0' || strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "utf8") == 0;
}

yajl_val fg_call_json_object(fg_call_t *call, fg_field_error_t *err)
{
    if (call->body_len > 0 && !is_json_type(fg_call_header(call, "content-type"))) {
        fg_field_fail(err, FG_FIELD_MEDIA_TYPE, "unsupported_media_type", NULL,
                      "send the body as JSON in UTF-8 with \"Content-Type: application/json\"");
        return NULL;
    }
    return fg_json_parse_object(call->body, call->body_len, err);
}

int fg_call_no_input(fg_call_t *call)
{
    fg_field_error_t err;
    if (call->body_len == 0)
        return 0;
    yajl_val root = fg_call_json_object(call, &err);
    int rc = root == NULL ? -1 : fg_json_known_fields(root, NULL, 0, &err);
    if (root != NULL)
        yajl_tree_free(root);
    if (rc != 0)
        fg_call_field_error(call, &err);
    return rc;
}

void fg_call_field_error(fg_call_t *call, const fg_field_error_t *err)
{
    fg_call_error(call, fg_field_status(err), "invalid_request", err->code, err->message,
                  err->field[0] ? err->field : NULL);
}

void fg_call_error(fg_call_t *call, int status, const char *type, const char *code, const char *message,
                   const char *field)
{
    fg_buf_reset(&call->response);
    fg_buf_puts(&call->response, "{\"error\":{");
    fg_json_kv_str(&call->response, 0, "type", type);
    fg_json_kv_str(&call->response, 1, "code", code);
    fg_json_kv_str(&call->response, 1, "message", message);
    if (field != NULL)
        fg_json_kv_str(&call->response, 1, "field", field);
    fg_buf_puts(&call->response, "}}");
    call->status = status;
}

void fg_call_json(fg_call_t *call, int status, fg_buf_t *body)
{
    fg_buf_free(&call->response);
    call->response = *body;
    *body = (fg_buf_t)FG_BUF_INIT;
    call->status = status;
}

void fg_call_body(fg_call_t *call, int status, const char *content_type, fg_buf_t *body)
{
    fg_call_json(call, status, body);
    call->content_type = content_type;
}

void fg_call_add_header(fg_call_t *call, const char *name, const char *value)
{
    assert(strpbrk(value, "\r\n") == NULL);
    fg_buf_append(&call->response_headers, name, strlen(name) + 1);
    fg_buf_append(&call->response_headers, value, strlen(value) + 1);
}

int fg_call_is_staff(const fg_call_t *call) { return call->staff_id != 0; }

void fg_call_db_error(fg_call_t *call, fg_db_t *db, int err)
{
    if (err == FG_EUNAVAILABLE) {
        fg_call_error(call, 503, "unavailable", "database_unavailable", "the database is not reachable; retry later",
                      NULL);
        return;
    }
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, "database error");
    fg_log_str(&l, "route", call->route->name);
    fg_log_int(&l, "errno", fg_db_errno(db));
    fg_log_str(&l, "error", fg_strerror(err));
    fg_log_str(&l, "detail", fg_db_error(db));
    fg_log_end(&l);
    if (err == FG_ERETRY)
        fg_call_error(call, 503, "unavailable", "database_busy", "the database is busy; retry", NULL);
    else
        fg_call_error(call, 500, "internal", "internal_error", "an internal error occurred", NULL);
}

void fg_call_free(fg_call_t *call)
{
    free(call->path);
    free(call->body);
    free(call->authorization);
    free(call->method);
    free(call->query_raw);
    fg_buf_free(&call->headers);
    fg_buf_free(&call->header_scratch);
    free(call->idem_key);
    for (int i = 0; i < FG_PATH_PARAMS_MAX; i++)
        free(call->params[i]);
    for (int i = 0; i < call->query_count; i++) {
        free(call->query[i].name);
        free(call->query[i].value);
    }
    fg_buf_free(&call->response);
    fg_buf_free(&call->response_headers);
    free(call);
}

/* The key must be 1..255 printable ASCII (docs/DESIGN.md §4). */
static int idempotency_prepare(fg_call_t *call)
{
    if (call->idem_key == NULL)
        return 0;
    if (!call->route->idempotent) {
        free(call->idem_key); /* harmless on routes that create nothing */
        call->idem_key = NULL;
        return 0;
    }
    if (!fg_printable_ascii(call->idem_key, call->idem_key_len, FG_IDEM_KEY_MAX)) {
        fg_call_error(call, 400, "invalid_request", "invalid_idempotency_key",
                      "Idempotency-Key must be 1 to 255 printable ASCII characters", "Idempotency-Key");
        return -1;
    }
    if (call->route->auth == FG_AUTH_MERCHANT ||
        (call->route->auth == FG_AUTH_MERCHANT_OR_STAFF && call->staff_id == 0))
        snprintf(call->idem_scope, sizeof(call->idem_scope), "%s", call->merchant_public_id);
    else
        snprintf(call->idem_scope, sizeof(call->idem_scope), "staff:%llu", (unsigned long long)call->staff_id);
    fg_idem_fingerprint(call->route->method, call->path, call->body != NULL ? call->body : "", call->body_len,
                        call->fingerprint);
    return 0;
}

int fg_call_use_key(fg_call_t *call, const char *key, size_t len)
{
    fg_call_forget_key(call);
    if (key == NULL || !fg_printable_ascii(key, len, FG_IDEM_KEY_MAX))
        return FG_EINVALID;
    call->idem_key = fg_malloc(len + 1);
    memcpy(call->idem_key, key, len);
    call->idem_key[len] = '\0';
    call->idem_key_len = len;
    snprintf(call->idem_scope, sizeof(call->idem_scope), "staff:%llu", (unsigned long long)call->staff_id);
    fg_idem_fingerprint(call->method, call->path, call->body != NULL ? call->body : "", call->body_len,
                        call->fingerprint);
    return 0;
}

void fg_call_forget_key(fg_call_t *call)
{
    free(call->idem_key);
    call->idem_key = NULL;
    call->idem_key_len = 0;
}

/* A 4xx answered without a transaction of the handler's own (validation) is
 * stored too, so that a retry gets the same answer; 5xx are never stored. */
typedef struct {
    fg_call_t *call;
} store_arg_t;

static int store_tx(fg_db_t *db, void *arg)
{
    store_arg_t *a = arg;
    return fg_idem_store(db, a->call, a->call->status, &a->call->response);
}

static void idempotency_finish(fg_call_t *call, fg_db_t *db)
{
    /* idem_lost: the work was done and is answered; its key now belongs to another request */
    if (call->idem_key == NULL || call->idem_stored || call->idem_lost || call->replayed || call->idem_refused ||
        call->status >= 500 || call->status == 0)
        return;
    store_arg_t a = {call};
    int rc = fg_db_tx(db, store_tx, &a);
    if (rc == FG_ECONFLICT) {
        rc = fg_idem_answer_existing(db, call);
        if (rc == FG_ERETRY && call->idem_freed) {
            call->idem_freed = 0;
            rc = fg_db_tx(db, store_tx, &a);
            if (rc == FG_ECONFLICT && (rc = fg_idem_answer_existing(db, call)) == FG_ERETRY)
                call->idem_freed = 0;
        }
        if (rc != 0)
            fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_EDB : rc);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    }
}

/* Authentication and the Idempotency-Key's checks: 0, or answered. */
static int call_prepare(fg_call_t *call, fg_db_t *db)
{
    if (call->route->auth == FG_AUTH_MERCHANT && fg_auth_merchant(call, db) != 0)
        return -1;
    if (call->route->auth == FG_AUTH_MERCHANT_OR_STAFF &&
        (fg_auth_bears_staff_token(call) ? fg_auth_staff(call, db) : fg_auth_merchant(call, db)) != 0)
        return -1;
    if (call->route->auth == FG_AUTH_EXPORT && fg_auth_export(call, db) != 0)
        return -1;
    if (call->route->auth >= FG_AUTH_STAFF_READ && fg_auth_staff(call, db) != 0)
        return -1;
    return idempotency_prepare(call);
}

/* After the handler: a request whose key had expired in place runs again,
 * once, as a new one; the answer is stored under its key. */
static void call_finish(fg_call_t *call, fg_db_t *db)
{
    if (call->idem_freed) {
        call->idem_freed = 0;
        call->idem_taken = 0;
        call->status = 0;
        call->content_type = NULL;
        call->replayed = 0;
        call->idem_refused = 0;
        fg_buf_free(&call->response);
        fg_buf_reset(&call->response_headers);
        call->route->handler(call, db);
        call->idem_freed = 0;
    }
    if (call->status == 0)
        fg_call_error(call, 500, "internal", "internal_error", "the handler gave no answer", NULL);
    idempotency_finish(call, db);
}

void fg_call_run(fg_job_t *job, fg_db_t *db)
{
    fg_call_t *call = (fg_call_t *)job;
    if (call_prepare(call, db) != 0)
        return;
    call->route->handler(call, db);
    call_finish(call, db);
}

void fg_call_run_many(fg_many_fn many, fg_call_t **calls, int n, fg_db_t *db)
{
    fg_call_t **ready = fg_malloc((size_t)n * sizeof(*ready));
    int m = 0;
    for (int i = 0; i < n; i++)
        if (call_prepare(calls[i], db) == 0)
            ready[m++] = calls[i];
    if (m > 0)
        many(ready, m, db);
    for (int i = 0; i < m; i++)
        call_finish(ready[i], db);
    free(ready);
}

int fg_call_page(fg_call_t *call, fg_page_t *page)
{
    size_t limit_len = 0, cursor_len = 0;
    const char *limit = fg_call_query(call, "limit", &limit_len);
    const char *cursor = fg_call_query(call, "cursor", &cursor_len);
    switch (fg_page_parse(limit, limit_len, cursor, cursor_len, page)) {
    case FG_PAGE_OK: return 0;
    case FG_PAGE_BAD_LIMIT:
        fg_call_error(call, 400, "invalid_request", "invalid_limit", "limit must be an integer from 1 to 500", "limit");
        return -1;
    case FG_PAGE_BAD_CURSOR:
        fg_call_error(call, 400, "invalid_request", "invalid_cursor", "cursor is not one this API gave out", "cursor");
        return -1;
    }
    return -1;
}

static const char *call_header(void *ctx, const char *name) { return fg_call_header(ctx, name); }

fg_inbound_t fg_call_inbound(fg_call_t *call)
{
    fg_inbound_t in = {call->method, call->query_raw,    call->query_raw != NULL ? strlen(call->query_raw) : 0,
                       call->body,   call->body_len,     call_header,
                       call,         call->headers.data, call->headers.len};
    return in;
}
