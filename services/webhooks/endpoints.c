/*
 * endpoints.c - a merchant's webhook endpoints: the validation of an
 * endpoint's fields, and creating, updating, enabling/disabling, rotating the
 * secret of, deleting, reading and listing endpoints.  Every query is scoped
 * to the merchant (another merchant's endpoint does not exist for it).
 */
#include "webhooks/webhooks_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "core/ids.h"
#include "core/text.h"

static const char SQL_INSERT[] =
    "INSERT INTO webhook_endpoints (public_id, merchant_id, url, events, description, status, secret, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, 'enabled', ?, ?, ?)";
/* Creates of one merchant take turns on its row, so two at once cannot both
 * see room for one more endpoint.  The row is written, not only locked
 * (schema/0038): on a Galera cluster a lock is one node's, and two creates on
 * two nodes that both wrote it cannot both be certified. */
static const char SQL_MERCHANT_TURN[] = "UPDATE merchants SET endpoints_made = endpoints_made + 1 WHERE id = ?";
static const char SQL_LIVE_COUNT[] =
    "SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = ? AND deleted_at IS NULL";
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

static int parse_events(yajl_val v, fg_endpoint_input_t *in, fg_field_error_t *err)
{
    if (!YAJL_IS_ARRAY(v))
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "events",
                             "events must be an array of event types");
    size_t n = v->u.array.len;
    if (n == 0 || n > FG_WEBHOOK_EVENT_TYPES_MAX)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_events", "events",
                             "events must list 1 to 16 event types, or \"*\"");
    int all = 0;
    for (size_t i = 0; i < n; i++) {
        yajl_val t = v->u.array.values[i];
        if (!YAJL_IS_STRING(t))
            return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", "events",
                                 "events must be an array of strings");
        const char *type = YAJL_GET_STRING(t);
        if (strcmp(type, "*") == 0) {
            all = 1;
            continue;
        }
        if (!fg_webhook_event_type_known(type, strlen(type)))
            return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "unknown_event_type", "events",
                                 "events lists an unknown event type");
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
        return fg_field_fail(err, FG_FIELD_MALFORMED, "invalid_type", field, "expected a string");
    const char *s = YAJL_GET_STRING(v);
    if (fg_utf8_length(s, strlen(s)) > max_chars)
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "string_too_long", field, "the string is too long");
    for (const char *c = s; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20)
            return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_characters", field,
                                 "the string contains control characters");
    *out = s;
    return 0;
}

static int parse_status(yajl_val v, fg_endpoint_input_t *in, fg_field_error_t *err)
{
    const char *s = NULL;
    if (parse_string(v, "status", 16, &s, err) != 0)
        return -1;
    if (strcmp(s, "enabled") == 0)
        in->status = FG_ENDPOINT_STATUS_ENABLED;
    else if (strcmp(s, "disabled") == 0)
        in->status = FG_ENDPOINT_STATUS_DISABLED;
    else
        return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_status", "status",
                             "status must be \"enabled\" or \"disabled\"");
    return 0;
}

/* The fields one by one; creating leaves status an unknown field. */
static int parse_fields(yajl_val root, int creating, fg_endpoint_input_t *in, fg_field_error_t *err)
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
            rc = parse_status(v, in, err);
        } else {
            rc = fg_field_fail(err, FG_FIELD_MALFORMED, "unknown_field", key, "unknown field \"%.60s\"", key);
        }
        if (rc != 0)
            return rc;
    }
    if (creating && in->url == NULL)
        return fg_field_fail(err, FG_FIELD_MALFORMED, "missing_field", "url", "url is required");
    if (creating && !in->has_events)
        return fg_field_fail(err, FG_FIELD_MALFORMED, "missing_field", "events", "events is required");
    return 0;
}

int fg_endpoint_input_parse(yajl_val obj, int creating, const fg_config_t *cfg, fg_endpoint_input_t *in,
                            fg_field_error_t *err)
{
    memset(in, 0, sizeof(*in));
    if (parse_fields(obj, creating, in, err) != 0)
        return -1;
    if (in->url != NULL) {
        const char *code = NULL;
        char message[sizeof(err->message)];
        if (fg_webhook_url_check(in->url, cfg->webhooks_allow_private, &code, message, sizeof(message)) != 0)
            return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, code, "url", "%s", message);
    }
    return 0;
}

void fg_endpoint_input_free(fg_endpoint_input_t *in) { fg_buf_free(&in->events); }

/* ---- writes ----------------------------------------------------------------------- */

/* Reloads the endpoint just written into out (no lock: the caller's
 * transaction holds it). */
static int reload(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, fg_endpoint_row_t *out)
{
    fg_endpoint_row_free(out);
    fg_endpoint_row_init(out);
    return fg_endpoint_load(db, m->id, public_id, strlen(public_id), 0, out);
}

/* The merchant's live endpoints, counted under its row's lock. */
static int live_endpoints(fg_db_t *db, uint64_t merchant_id)
{
    fg_stmt_t s;
    int64_t n = 0;
    int rc = fg_stmt_init(&s, db, SQL_MERCHANT_TURN);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, (int64_t)merchant_id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (fg_stmt_affected(&s) != 1)
        return FG_ENOTFOUND;
    if ((rc = fg_stmt_init(&s, db, SQL_LIVE_COUNT)) != 0)
        return rc;
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_stmt_out_int(&s, &n, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc != 1)
        return rc < 0 ? rc : FG_EDB;
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

int fg_endpoint_create(fg_db_t *db, const fg_merchant_ref_t *m, const fg_endpoint_input_t *in, int64_t now_ms,
                       fg_endpoint_row_t *out, char secret_out[FG_WEBHOOK_SECRET_CAP])
{
    char public_id[FG_ID_CAP];
    fg_stmt_t s;
    int rc;
    assert(in->url != NULL && in->has_events);
    if ((rc = live_endpoints(db, m->id)) < 0)
        return rc;
    if (rc >= FG_WEBHOOK_ENDPOINTS_MAX)
        return FG_ESTATE;
    if (fg_id_new("whe_", public_id, sizeof(public_id)) < 0 ||
        fg_webhook_secret_new(secret_out, FG_WEBHOOK_SECRET_CAP) != 0)
        return FG_EIO;
    if ((rc = fg_stmt_init(&s, db, SQL_INSERT)) != 0)
        return rc;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_int(&s, (int64_t)m->id);
    fg_stmt_cstr(&s, in->url);
    fg_stmt_str(&s, in->events.data, in->events.len);
    fg_stmt_cstr(&s, in->description);
    fg_stmt_cstr(&s, secret_out);
    fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, now_ms);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    return reload(db, m, public_id, out);
}

/* Applies in to the locked row r. */
static int apply_update(fg_db_t *db, const fg_endpoint_input_t *in, const fg_endpoint_row_t *r, int64_t now_ms)
{
    const char *status = r->status.data;
    if (in->status == FG_ENDPOINT_STATUS_ENABLED)
        status = "enabled";
    else if (in->status == FG_ENDPOINT_STATUS_DISABLED)
        status = "disabled";
    int was_enabled = strcmp(r->status.data, "enabled") == 0, enabled = strcmp(status, "enabled") == 0;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_UPDATE);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, in->url != NULL ? in->url : r->url.data);
    if (in->has_events)
        fg_stmt_str(&s, in->events.data, in->events.len);
    else
        fg_stmt_str(&s, r->events.data, r->events.len);
    if (in->has_description)
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
    fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, r->id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (enabled != was_enabled)
        rc = fg_endpoint_park_deliveries(db, r->id, !enabled, now_ms);
    return rc;
}

int fg_endpoint_update(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                       const fg_endpoint_input_t *in, int64_t now_ms, fg_endpoint_row_t *out)
{
    char id[FG_ID_CAP];
    int rc = fg_endpoint_load(db, m->id, public_id, len, 1, out);
    if (rc != 0)
        return rc;
    snprintf(id, sizeof(id), "%s", out->public_id.data);
    if ((rc = apply_update(db, in, out, now_ms)) != 0)
        return rc;
    return reload(db, m, id, out);
}

int fg_endpoint_set_enabled(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len, int enabled,
                            int64_t now_ms, fg_endpoint_row_t *out)
{
    fg_endpoint_input_t in;
    memset(&in, 0, sizeof(in));
    in.status = enabled ? FG_ENDPOINT_STATUS_ENABLED : FG_ENDPOINT_STATUS_DISABLED;
    return fg_endpoint_update(db, m, public_id, len, &in, now_ms, out);
}

int fg_endpoint_rotate_secret(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                              int64_t now_ms, fg_endpoint_row_t *out, char secret_out[FG_WEBHOOK_SECRET_CAP])
{
    char id[FG_ID_CAP];
    fg_stmt_t s;
    int rc = fg_endpoint_load(db, m->id, public_id, len, 1, out);
    if (rc != 0)
        return rc;
    snprintf(id, sizeof(id), "%s", out->public_id.data);
    if (fg_webhook_secret_new(secret_out, FG_WEBHOOK_SECRET_CAP) != 0)
        return FG_EIO;
    if ((rc = fg_stmt_init(&s, db, SQL_ROTATE)) != 0)
        return rc;
    fg_stmt_int(&s, now_ms + FG_WEBHOOK_SECRET_OVERLAP_MS);
    fg_stmt_cstr(&s, secret_out);
    fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, out->id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    return reload(db, m, id, out);
}

int fg_endpoint_delete(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len, int64_t now_ms,
                       fg_endpoint_row_t *out, uint64_t *deliveries_failed)
{
    fg_stmt_t s;
    *deliveries_failed = 0;
    int rc = fg_endpoint_load(db, m->id, public_id, len, 1, out);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_DELETE)) != 0)
        return rc;
    fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, out->id);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_DELETE_DELIVERIES)) != 0)
        return rc;
    fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, out->id);
    if ((rc = fg_stmt_exec(&s)) == 0)
        *deliveries_failed = fg_stmt_affected(&s);
    return rc;
}

/* ---- reads ------------------------------------------------------------------------- */

int fg_endpoint_get(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len, fg_endpoint_row_t *out)
{
    return fg_endpoint_load(db, m->id, public_id, len, 0, out);
}

/* A list item (fg_webhook_list): the endpoint without its secret. */
static void endpoint_item(fg_buf_t *b, const void *row, int64_t now_ms) { fg_endpoint_json(b, row, NULL, now_ms); }

int fg_endpoint_list(fg_db_t *db, const fg_merchant_ref_t *m, const fg_page_t *page, int64_t now_ms, fg_buf_t *out)
{
    fg_stmt_t s;
    fg_endpoint_row_t r;
    int rc;
    fg_endpoint_row_init(&r);
    if ((rc = fg_stmt_init(&s, db, SQL_LIST)) != 0)
        goto Exit;
    fg_stmt_int(&s, (int64_t)m->id);
    fg_stmt_int(&s, page->cursor > 0 ? page->cursor : INT64_MAX);
    fg_stmt_int(&s, page->limit + 1); /* one more tells whether a next page exists */
    fg_endpoint_row_bind(&s, &r);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    rc = fg_webhook_list(&s, page->limit, &r, &r.id, endpoint_item, now_ms, out);
Exit:
    fg_endpoint_row_free(&r);
    return rc;
}
