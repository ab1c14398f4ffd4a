/*
 * endpoints.c - the webhook endpoint routes: create, list, read, update,
 * enable/disable, delete, rotate the secret.  Every write is one transaction
 * that also stores the Idempotency-Key's answer; every query is scoped to
 * the caller's merchant (another merchant's endpoint is 404).
 */
#include "webhooks/webhooks_internal.h"
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>
#include "core/ids.h"
#include "core/text.h"
#include "orders/orders.h" /* fg_json_parse_object, fg_field_error_t */

static const char SQL_INSERT[] =
    "INSERT INTO webhook_endpoints (public_id, merchant_id, url, events, description, status, secret, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, 'enabled', ?, ?, ?)";
static const char SQL_UPDATE[] =
    "UPDATE webhook_endpoints SET url = ?, events = ?, description = ?, status = ?, disabled_reason = ?, "
    "failing_since = ?, updated_at = ? WHERE id = ?";
/* Assignments run left to right: previous_secret takes the old secret. */
static const char SQL_ROTATE[] = "UPDATE webhook_endpoints SET previous_secret = secret, "
                                 "previous_secret_expires_at = ?, secret = ?, updated_at = ? WHERE id = ?";
static const char SQL_DELETE[] =
    "UPDATE webhook_endpoints SET deleted_at = ?, status = 'disabled', updated_at = ? WHERE id = ?";
static const char SQL_DELETE_DELIVERIES[] =
    "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'endpoint deleted', "
    "completed_at = ? WHERE endpoint_id = ? AND status = 'pending'";
static const char SQL_LIST[] = "SELECT " FG_ENDPOINT_COLUMNS " FROM webhook_endpoints WHERE merchant_id = ? "
                               "AND deleted_at IS NULL AND id < ? ORDER BY id DESC LIMIT ?";

/* ---- input ------------------------------------------------------------------------ */

typedef struct {
    const char *url; /* NULL when absent */
    int has_events;
    fg_buf_t events; /* canonical "a,b" or "*" */
    int has_description;
    const char *description; /* NULL: absent or null */
    const char *status;      /* "enabled" | "disabled" | NULL */
} endpoint_input_t;

static int fail(fg_field_error_t *err, int status, const char *code, const char *field, const char *message)
{
    err->status = status;
    err->code = code;
    snprintf(err->message, sizeof(err->message), "%s", message);
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    return -1;
}

static int parse_events(yajl_val v, endpoint_input_t *in, fg_field_error_t *err)
{
    if (!YAJL_IS_ARRAY(v))
        return fail(err, 400, "invalid_type", "events", "events must be an array of event types");
    size_t n = v->u.array.len;
    if (n == 0 || n > FG_WEBHOOK_EVENT_TYPES_MAX)
        return fail(err, 422, "invalid_events", "events", "events must list 1 to 16 event types, or \"*\"");
    int all = 0;
    for (size_t i = 0; i < n; i++) {
        yajl_val t = v->u.array.values[i];
        if (!YAJL_IS_STRING(t))
            return fail(err, 400, "invalid_type", "events", "events must be an array of strings");
        const char *type = YAJL_GET_STRING(t);
        if (strcmp(type, "*") == 0) {
            all = 1;
            continue;
        }
        if (!fg_webhook_event_type_known(type, strlen(type)))
            return fail(err, 422, "unknown_event_type", "events", "events lists an unknown event type");
        if (fg_webhook_subscribed(in->events.data != NULL ? in->events.data : "", type))
            continue; /* listed twice */
        if (in->events.len > 0)
            fg_buf_putc(&in->events, ',');
        fg_buf_puts(&in->events, type);
    }
    if (all) {
        fg_buf_reset(&in->events);
        fg_buf_puts(&in->events, "*");
    }
    in->has_events = 1;
    return 0;
}

static int parse_string(yajl_val v, const char *field, size_t max_chars, const char **out, fg_field_error_t *err)
{
    if (!YAJL_IS_STRING(v))
        return fail(err, 400, "invalid_type", field, "expected a string");
    const char *s = YAJL_GET_STRING(v);
    if (fg_utf8_length(s, strlen(s)) > max_chars)
        return fail(err, 422, "string_too_long", field, "the string is too long");
    for (const char *c = s; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20)
            return fail(err, 422, "invalid_characters", field, "the string contains control characters");
    *out = s;
    return 0;
}

/* Reads {"url","events","description"[,"status"]}; creating requires url
 * and events, status is for updates only. */
static int parse_input(yajl_val root, int creating, endpoint_input_t *in, fg_field_error_t *err)
{
    for (size_t i = 0; i < root->u.object.len; i++) {
        const char *key = root->u.object.keys[i];
        yajl_val v = root->u.object.values[i];
        int rc = 0;
        if (strcmp(key, "url") == 0) {
            rc = parse_string(v, "url", FG_WEBHOOK_URL_MAX, &in->url, err);
        } else if (strcmp(key, "events") == 0) {
            rc = parse_events(v, in, err);
        } else if (strcmp(key, "description") == 0) {
            in->has_description = 1;
            if (!YAJL_IS_NULL(v))
                rc = parse_string(v, "description", FG_WEBHOOK_DESCRIPTION_MAX, &in->description, err);
        } else if (strcmp(key, "status") == 0 && !creating) {
            const char *s = NULL;
            rc = parse_string(v, "status", 16, &s, err);
            if (rc == 0 && strcmp(s, "enabled") != 0 && strcmp(s, "disabled") != 0)
                rc = fail(err, 422, "invalid_status", "status", "status must be \"enabled\" or \"disabled\"");
            in->status = s;
        } else {
            char message[120];
            snprintf(message, sizeof(message), "unknown field \"%.60s\"", key);
            rc = fail(err, 400, "unknown_field", key, message);
        }
        if (rc != 0)
            return rc;
    }
    if (creating && in->url == NULL)
        return fail(err, 400, "missing_field", "url", "url is required");
    if (creating && !in->has_events)
        return fail(err, 400, "missing_field", "events", "events is required");
    return 0;
}

static void answer_field_error(fg_call_t *call, const fg_field_error_t *err)
{
    fg_call_error(call, err->status, "invalid_request", err->code, err->message, err->field[0] ? err->field : NULL);
}

/* Parses and validates a body (NULL or empty allowed when !creating).
 * Returns the tree (free it; may be NULL for an empty body) or answers the
 * call and sets *answered. */
static yajl_val read_input(fg_call_t *call, int creating, endpoint_input_t *in, int *answered)
{
    fg_field_error_t err;
    *answered = 0;
    if (!creating && (call->body == NULL || call->body_len == 0))
        return NULL;
    yajl_val root = fg_json_parse_object(call->body, call->body_len, &err);
    if (root == NULL || parse_input(root, creating, in, &err) != 0) {
        answer_field_error(call, &err);
        *answered = 1;
        return root;
    }
    if (in->url != NULL) {
        const char *code = NULL;
        char message[160];
        if (fg_webhook_url_check(in->url, call->cfg->webhooks_allow_private, 1, &code, message, sizeof(message)) != 0) {
            fg_call_error(call, 422, "invalid_request", code, message, "url");
            *answered = 1;
        }
    }
    return root;
}

/* ---- writes ----------------------------------------------------------------------- */

typedef enum { OP_CREATE, OP_UPDATE, OP_ENABLE, OP_DISABLE, OP_ROTATE, OP_DELETE } op_t;

typedef struct {
    fg_call_t *call;
    op_t op;
    endpoint_input_t *in;
    char secret[FG_WEBHOOK_SECRET_CAP];
    fg_buf_t body;
    int status;
    int idem_conflict;
} mutate_t;

static int insert_endpoint(fg_db_t *db, mutate_t *m, char *public_id, int64_t now)
{
    fg_stmt_t s;
    int rc;
    if (fg_id_new("whe_", public_id, FG_ID_CAP) < 0 || fg_webhook_secret_new(m->secret, sizeof(m->secret)) != 0)
        return FG_EIO;
    if ((rc = fg_stmt_init(&s, db, SQL_INSERT)) != 0)
        return rc;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_int(&s, (int64_t)m->call->merchant_id);
    fg_stmt_cstr(&s, m->in->url);
    fg_stmt_str(&s, m->in->events.data, m->in->events.len);
    fg_stmt_cstr(&s, m->in->description);
    fg_stmt_cstr(&s, m->secret);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    return fg_stmt_exec(&s);
}

/* Applies an update/enable/disable to the locked row r. */
static int update_endpoint(fg_db_t *db, mutate_t *m, const fg_endpoint_row_t *r, int64_t now)
{
    const endpoint_input_t *in = m->in;
    const char *status = r->status.data;
    if (m->op == OP_ENABLE)
        status = "enabled";
    else if (m->op == OP_DISABLE)
        status = "disabled";
    else if (in != NULL && in->status != NULL)
        status = in->status;
    int was_enabled = strcmp(r->status.data, "enabled") == 0, enabled = strcmp(status, "enabled") == 0;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_UPDATE);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, in != NULL && in->url != NULL ? in->url : r->url.data);
    if (in != NULL && in->has_events)
        fg_stmt_str(&s, in->events.data, in->events.len);
    else
        fg_stmt_str(&s, r->events.data, r->events.len);
    if (in != NULL && in->has_description)
        fg_stmt_cstr(&s, in->description);
    else
        fg_stmt_cstr(&s, r->description_null ? NULL : r->description.data);
    fg_stmt_cstr(&s, status);
    if (enabled)
        fg_stmt_null(&s);
    else
        fg_stmt_cstr(&s, was_enabled ? "merchant" : r->disabled_reason_null ? NULL : r->disabled_reason.data);
    /* enabling again starts the 3-day failure clock afresh */
    fg_stmt_int_or_null(&s, enabled && !was_enabled ? NULL : r->failing_since_null ? NULL : &r->failing_since);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, r->id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (enabled != was_enabled)
        rc = fg_endpoint_park_deliveries(db, r->id, !enabled, now);
    return rc;
}

static int rotate_or_delete(fg_db_t *db, mutate_t *m, const fg_endpoint_row_t *r, int64_t now)
{
    fg_stmt_t s;
    int rc;
    if (m->op == OP_ROTATE) {
        if (fg_webhook_secret_new(m->secret, sizeof(m->secret)) != 0)
            return FG_EIO;
        if ((rc = fg_stmt_init(&s, db, SQL_ROTATE)) != 0)
            return rc;
        fg_stmt_int(&s, now + FG_WEBHOOK_SECRET_OVERLAP_MS);
        fg_stmt_cstr(&s, m->secret);
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, r->id);
        return fg_stmt_exec(&s);
    }
    if ((rc = fg_stmt_init(&s, db, SQL_DELETE)) != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, r->id);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_DELETE_DELIVERIES)) != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, r->id);
    return fg_stmt_exec(&s);
}

static int mutate_tx(fg_db_t *db, void *arg)
{
    mutate_t *m = arg;
    fg_endpoint_row_t r;
    char public_id[FG_ID_CAP];
    int64_t now = fg_now_ms();
    int rc;
    m->idem_conflict = 0;
    fg_buf_reset(&m->body);
    fg_endpoint_row_init(&r);
    if (m->op == OP_CREATE) {
        rc = insert_endpoint(db, m, public_id, now);
    } else {
        snprintf(public_id, sizeof(public_id), "%.*s", (int)m->call->param_lens[0], m->call->params[0]);
        rc = fg_endpoint_load(db, m->call->merchant_id, m->call->params[0], m->call->param_lens[0], 1, &r);
        if (rc == 0)
            rc = m->op == OP_ROTATE || m->op == OP_DELETE ? rotate_or_delete(db, m, &r, now)
                                                          : update_endpoint(db, m, &r, now);
    }
    if (rc != 0)
        goto Exit;
    if (m->op == OP_DELETE) {
        fg_buf_putc(&m->body, '{');
        fg_json_kv_str(&m->body, 0, "id", public_id);
        fg_json_kv_str(&m->body, 1, "object", "webhook_endpoint");
        fg_json_kv_bool(&m->body, 1, "deleted", 1);
        fg_buf_putc(&m->body, '}');
    } else {
        fg_endpoint_row_free(&r);
        fg_endpoint_row_init(&r);
        if ((rc = fg_endpoint_load(db, m->call->merchant_id, public_id, strlen(public_id), 0, &r)) != 0)
            goto Exit;
        int shows_secret = m->op == OP_CREATE || m->op == OP_ROTATE;
        fg_endpoint_json(&m->body, &r, shows_secret ? m->secret : NULL, now);
    }
    rc = fg_idem_store(db, m->call, m->status, &m->body);
    if (rc == FG_ECONFLICT)
        m->idem_conflict = 1;
Exit:
    fg_endpoint_row_free(&r);
    return rc;
}

static void mutate(fg_call_t *call, fg_db_t *db, op_t op, endpoint_input_t *in)
{
    mutate_t m = {.call = call, .op = op, .in = in, .status = op == OP_CREATE ? 201 : 200};
    int rc = fg_db_tx(db, mutate_tx, &m);
    if (rc == 0) {
        fg_call_json(call, m.status, &m.body);
    } else if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "endpoint_not_found", "no such webhook endpoint", NULL);
    } else if (rc == FG_ECONFLICT && m.idem_conflict) {
        /* the key was taken by a request that committed first */
        rc = fg_idem_answer_existing(db, call);
        if (rc != 0)
            fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_ERETRY : rc);
    } else {
        fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
    }
    explicit_bzero(m.secret, sizeof(m.secret));
    fg_buf_free(&m.body);
}

static void with_input(fg_call_t *call, fg_db_t *db, op_t op)
{
    endpoint_input_t in;
    int answered;
    memset(&in, 0, sizeof(in));
    yajl_val root = read_input(call, op == OP_CREATE, &in, &answered);
    if (!answered)
        mutate(call, db, op, &in);
    fg_buf_free(&in.events);
    if (root != NULL)
        yajl_tree_free(root);
}

void fg_webhook_endpoints_create(fg_call_t *call, fg_db_t *db) { with_input(call, db, OP_CREATE); }
void fg_webhook_endpoints_update(fg_call_t *call, fg_db_t *db) { with_input(call, db, OP_UPDATE); }
void fg_webhook_endpoints_enable(fg_call_t *call, fg_db_t *db) { mutate(call, db, OP_ENABLE, NULL); }
void fg_webhook_endpoints_disable(fg_call_t *call, fg_db_t *db) { mutate(call, db, OP_DISABLE, NULL); }
void fg_webhook_endpoints_rotate_secret(fg_call_t *call, fg_db_t *db) { mutate(call, db, OP_ROTATE, NULL); }
void fg_webhook_endpoints_delete(fg_call_t *call, fg_db_t *db) { mutate(call, db, OP_DELETE, NULL); }

/* ---- reads ------------------------------------------------------------------------- */

void fg_webhook_endpoints_get(fg_call_t *call, fg_db_t *db)
{
    fg_endpoint_row_t r;
    fg_endpoint_row_init(&r);
    int rc = fg_endpoint_load(db, call->merchant_id, call->params[0], call->param_lens[0], 0, &r);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "endpoint_not_found", "no such webhook endpoint", NULL);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        fg_endpoint_json(&b, &r, NULL, fg_now_ms());
        fg_call_json(call, 200, &b);
    }
    fg_endpoint_row_free(&r);
}

/* A list item (fg_webhook_list): the endpoint without its secret. */
static void endpoint_item(fg_buf_t *b, const void *row, int64_t now_ms) { fg_endpoint_json(b, row, NULL, now_ms); }

void fg_webhook_endpoints_list(fg_call_t *call, fg_db_t *db)
{
    int64_t limit, cursor, now = fg_now_ms();
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return;
    limit = page.limit;
    cursor = page.cursor;
    fg_stmt_t s;
    fg_endpoint_row_t r;
    fg_buf_t b = FG_BUF_INIT;
    int rc;
    fg_endpoint_row_init(&r);
    if ((rc = fg_stmt_init(&s, db, SQL_LIST)) != 0)
        goto Exit;
    fg_stmt_int(&s, (int64_t)call->merchant_id);
    fg_stmt_int(&s, cursor > 0 ? cursor : INT64_MAX);
    fg_stmt_int(&s, limit + 1); /* one more tells whether a next page exists */
    fg_endpoint_row_bind(&s, &r);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    if ((rc = fg_webhook_list(&s, limit, &r, &r.id, endpoint_item, now, &b)) != 0)
        goto Exit;
    fg_call_json(call, 200, &b);
Exit:
    fg_db_end(db);
    if (rc != 0)
        fg_call_db_error(call, db, rc);
    fg_buf_free(&b);
    fg_endpoint_row_free(&r);
}
