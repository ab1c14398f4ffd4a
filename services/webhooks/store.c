/*
 * store.c - webhook endpoints and deliveries in MariaDB: rows, their JSON,
 * and list paging.
 */
#include "webhooks/webhooks_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/ids.h"
#include "core/page.h"
#include "core/text.h"

static const char SQL_ENDPOINT[] = "SELECT " FG_ENDPOINT_COLUMNS
                                   " FROM webhook_endpoints WHERE public_id = ? AND merchant_id = ? "
                                   "AND deleted_at IS NULL";
static const char SQL_ENDPOINT_LOCK[] = "SELECT " FG_ENDPOINT_COLUMNS
                                        " FROM webhook_endpoints WHERE public_id = ? AND merchant_id = ? "
                                        "AND deleted_at IS NULL FOR UPDATE";
/* Parking leaves the attempts in flight (webhooks.h) their leases: made due
 * again by an enable within the lease, they were claimed and sent again while
 * the first copy was still on its way.  Each records its own outcome; one
 * that fails is held by the claim's enabled check. */
static const char SQL_PARK[] =
    "UPDATE webhook_deliveries SET next_attempt_at = NULL WHERE endpoint_id = ? AND status = "
    "'pending' AND " FG_WEBHOOK_NOT_IN_FLIGHT_SQL;
static const char SQL_RESUME[] = "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE endpoint_id = ? "
                                 "AND status = 'pending' AND next_attempt_at IS NULL";
/* The fan-out's (redelivery 0) with ON DUPLICATE KEY: a rerun of a fan-out
 * (a gap rechecked, a round retried) changes nothing.  A redelivery's
 * without: two made at once took the same number, and the second must hear
 * of it rather than answer the first's delivery as its own. */
#define DELIVERY_INSERT_COLUMNS                                                                                        \
    "INSERT INTO webhook_deliveries (public_id, endpoint_id, event_id, order_id, redelivery, status, attempts, "       \
    "next_attempt_at, event_created_at, created_at) "
/* Behind an earlier delivery of its order at the endpoint that is not in
 * flight (webhooks.h), a delivery is due no earlier than that one (a retry
 * it must wait for: dispatch.c, SQL_PARK_BEHIND); only where the endpoint
 * has been failing, as reading the table it inserts into costs the fan-out
 * a temporary table each time.  The subquery's columns are its own row's. */
#define DELIVERY_INSERT_BEHIND                                                                                         \
    DELIVERY_INSERT_COLUMNS                                                                                            \
    "SELECT ?, ?, ?, ?, ?, 'pending', 0, GREATEST(?, COALESCE((SELECT MAX(next_attempt_at) FROM webhook_deliveries "   \
    "FORCE INDEX (ix_webhook_deliveries_order) WHERE endpoint_id = ? AND order_id = ? AND status = 'pending' AND "     \
    "event_id < ? AND " FG_WEBHOOK_NOT_IN_FLIGHT_SQL "), 0)), ?, ?"
#define DELIVERY_INSERT DELIVERY_INSERT_COLUMNS "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)"
static const char SQL_DELIVERY_INSERT[] = DELIVERY_INSERT " ON DUPLICATE KEY UPDATE attempts = attempts";
static const char SQL_DELIVERY_INSERT_BEHIND[] = DELIVERY_INSERT_BEHIND " ON DUPLICATE KEY UPDATE attempts = attempts";
static const char SQL_REDELIVERY_INSERT[] = DELIVERY_INSERT_BEHIND;

/* ---- endpoints ------------------------------------------------------------------- */

void fg_endpoint_row_init(fg_endpoint_row_t *r) { memset(r, 0, sizeof(*r)); }

void fg_endpoint_row_free(fg_endpoint_row_t *r)
{
    fg_buf_t *texts[] = {&r->public_id, &r->url, &r->events, &r->description, &r->status, &r->disabled_reason};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        fg_buf_free(texts[i]);
}

void fg_endpoint_row_bind(fg_stmt_t *s, fg_endpoint_row_t *r)
{
    fg_stmt_out_int(s, &r->id, NULL);
    fg_stmt_out_text(s, &r->public_id, NULL);
    fg_stmt_out_text(s, &r->url, NULL);
    fg_stmt_out_text(s, &r->events, NULL);
    fg_stmt_out_text(s, &r->description, &r->description_null);
    fg_stmt_out_text(s, &r->status, NULL);
    fg_stmt_out_text(s, &r->disabled_reason, &r->disabled_reason_null);
    fg_stmt_out_int(s, &r->previous_secret_expires_at, &r->previous_secret_expires_null);
    fg_stmt_out_int(s, &r->failing_since, &r->failing_since_null);
    fg_stmt_out_int(s, &r->created_at, NULL);
    fg_stmt_out_int(s, &r->updated_at, NULL);
}

int fg_endpoint_load(fg_db_t *db, uint64_t merchant_id, const char *public_id, size_t len, int for_update,
                     fg_endpoint_row_t *r)
{
    fg_stmt_t s;
    if (!fg_id_valid("whe_", public_id, len))
        return FG_ENOTFOUND;
    int rc = fg_stmt_init(&s, db, for_update ? SQL_ENDPOINT_LOCK : SQL_ENDPOINT);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, public_id, len);
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_endpoint_row_bind(&s, r);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc < 0)
        return rc;
    return rc == 1 ? 0 : FG_ENOTFOUND;
}

static void kv_time(fg_buf_t *b, const char *key, int is_null, int64_t ms)
{
    char ts[40];
    if (is_null) {
        fg_json_kv_null(b, 1, key);
        return;
    }
    fg_time_format_rfc3339(ms, 0, ts, sizeof(ts));
    fg_json_kv_str(b, 1, key, ts);
}

void fg_endpoint_json(fg_buf_t *b, const fg_endpoint_row_t *r, const char *secret, int64_t now_ms)
{
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", r->public_id.data);
    fg_json_kv_str(b, 1, "object", "webhook_endpoint");
    fg_json_kv_strn(b, 1, "url", r->url.data, r->url.len);
    fg_json_key(b, 1, "events");
    fg_buf_putc(b, '[');
    const char *p = r->events.data != NULL ? r->events.data : "";
    for (int first = 1; *p != '\0'; first = 0) {
        size_t n = strcspn(p, ",");
        if (!first)
            fg_buf_putc(b, ',');
        fg_json_str(b, p, n);
        p += n;
        if (*p == ',')
            p++;
    }
    fg_buf_putc(b, ']');
    if (r->description_null)
        fg_json_kv_null(b, 1, "description");
    else
        fg_json_kv_strn(b, 1, "description", r->description.data, r->description.len);
    fg_json_kv_str(b, 1, "status", r->status.data);
    fg_json_kv_str(b, 1, "disabled_reason", r->disabled_reason_null ? NULL : r->disabled_reason.data);
    kv_time(b, "failing_since", r->failing_since_null, r->failing_since);
    kv_time(b, "secret_rotation_ends_at", r->previous_secret_expires_null || r->previous_secret_expires_at <= now_ms,
            r->previous_secret_expires_at);
    kv_time(b, "created_at", 0, r->created_at);
    kv_time(b, "updated_at", 0, r->updated_at);
    if (secret != NULL)
        fg_json_kv_str(b, 1, "secret", secret);
    fg_buf_putc(b, '}');
}

void fg_endpoint_deleted_json(fg_buf_t *b, const fg_endpoint_row_t *r)
{
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", r->public_id.data);
    fg_json_kv_str(b, 1, "object", "webhook_endpoint");
    fg_json_kv_bool(b, 1, "deleted", 1);
    fg_buf_putc(b, '}');
}

int fg_endpoint_park_deliveries(fg_db_t *db, int64_t endpoint_id, int park, int64_t now_ms)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, park ? SQL_PARK : SQL_RESUME);
    if (rc != 0)
        return rc;
    if (!park)
        fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, endpoint_id);
    if (park)
        fg_stmt_int(&s, now_ms - FG_WEBHOOK_INFLIGHT_MS);
    return fg_stmt_exec(&s);
}

/* ---- deliveries ------------------------------------------------------------------- */

void fg_delivery_row_init(fg_delivery_row_t *r) { memset(r, 0, sizeof(*r)); }

void fg_delivery_row_free(fg_delivery_row_t *r)
{
    fg_buf_t *texts[] = {&r->public_id,  &r->endpoint_public_id, &r->event_public_id,
                         &r->event_type, &r->last_error,         &r->last_response_body};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        fg_buf_free(texts[i]);
}

void fg_delivery_row_bind(fg_stmt_t *s, fg_delivery_row_t *r)
{
    fg_stmt_out_int(s, &r->id, NULL);
    fg_stmt_out_text(s, &r->public_id, NULL);
    fg_stmt_out_text(s, &r->endpoint_public_id, NULL);
    fg_stmt_out_text(s, &r->event_public_id, NULL);
    fg_stmt_out_text(s, &r->event_type, NULL);
    fg_stmt_out_enum(s, &r->status, FG_DELIVERY_STATUS_COUNT);
    fg_stmt_out_text(s, &r->last_error, &r->last_error_null);
    fg_stmt_out_text(s, &r->last_response_body, &r->body_null);
    fg_stmt_out_int(s, &r->redelivery, NULL);
    fg_stmt_out_int(s, &r->attempts, NULL);
    fg_stmt_out_int(s, &r->next_attempt_at, &r->next_attempt_null);
    fg_stmt_out_int(s, &r->last_attempt_at, &r->last_attempt_null);
    fg_stmt_out_int(s, &r->last_status_code, &r->last_status_null);
    fg_stmt_out_int(s, &r->created_at, NULL);
    fg_stmt_out_int(s, &r->completed_at, &r->completed_null);
}

void fg_webhook_json_bytes(fg_buf_t *b, const char *s, size_t n)
{
    fg_buf_t clean = FG_BUF_INIT;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int len = fg_utf8_decode(s + i, n - i, &cp);
        if (len > 0 && cp != 0) {
            fg_buf_append(&clean, s + i, (size_t)len);
            i += (size_t)len;
        } else {
            fg_buf_puts(&clean, "\xef\xbf\xbd"); /* U+FFFD */
            i++;
        }
    }
    fg_json_str(b, clean.data != NULL ? clean.data : "", clean.len);
    fg_buf_free(&clean);
}

void fg_delivery_json(fg_buf_t *b, const fg_delivery_row_t *r)
{
    int finished = r->status != FG_DELIVERY_PENDING;
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", r->public_id.data);
    fg_json_kv_str(b, 1, "object", "webhook_delivery");
    fg_json_kv_str(b, 1, "endpoint_id", r->endpoint_public_id.data);
    fg_json_kv_str(b, 1, "event_id", r->event_public_id.data);
    fg_json_kv_str(b, 1, "event_type", r->event_type.data);
    fg_json_kv_str(b, 1, "status", fg_delivery_status_name(r->status));
    fg_json_kv_int(b, 1, "attempts", r->attempts);
    fg_json_kv_int(b, 1, "redelivery", r->redelivery);
    kv_time(b, "last_attempt_at", r->last_attempt_null, r->last_attempt_at);
    if (r->last_status_null)
        fg_json_kv_null(b, 1, "last_response_code");
    else
        fg_json_kv_int(b, 1, "last_response_code", r->last_status_code);
    fg_json_key(b, 1, "last_response_body");
    if (r->body_null)
        fg_buf_puts(b, "null");
    else
        fg_webhook_json_bytes(b, r->last_response_body.data != NULL ? r->last_response_body.data : "",
                              r->last_response_body.len);
    fg_json_kv_str(b, 1, "last_error", r->last_error_null ? NULL : r->last_error.data);
    kv_time(b, "next_attempt_at", finished || r->next_attempt_null, r->next_attempt_at);
    kv_time(b, "created_at", 0, r->created_at);
    kv_time(b, "completed_at", r->completed_null, r->completed_at);
    fg_buf_putc(b, '}');
}

int fg_delivery_insert(fg_db_t *db, int behind, int64_t endpoint_id, int64_t event_id, int64_t order_id, int order_null,
                       int64_t redelivery, int64_t event_created_at, int64_t due_ms, int64_t now_ms)
{
    char id[FG_ID_CAP];
    fg_stmt_t s;
    int rc;
    behind = redelivery > 0 || (behind && !order_null); /* the statement that parks (a redelivery's always) */
    if (fg_id_new("whd_", id, sizeof(id)) < 0)
        return FG_EIO;
    const char *sql = redelivery > 0 ? SQL_REDELIVERY_INSERT
                      : behind       ? SQL_DELIVERY_INSERT_BEHIND
                                     : SQL_DELIVERY_INSERT;
    if ((rc = fg_stmt_init(&s, db, sql)) != 0)
        return rc;
    fg_stmt_cstr(&s, id);
    fg_stmt_int(&s, endpoint_id);
    fg_stmt_int(&s, event_id);
    fg_stmt_int_or_null(&s, order_null ? NULL : &order_id);
    fg_stmt_int(&s, redelivery);
    fg_stmt_int(&s, due_ms);
    if (behind) {
        fg_stmt_int(&s, endpoint_id);
        fg_stmt_int_or_null(&s, order_null ? NULL : &order_id);
        fg_stmt_int(&s, event_id);
        fg_stmt_int(&s, now_ms - FG_WEBHOOK_INFLIGHT_MS);
    }
    fg_stmt_int(&s, event_created_at);
    fg_stmt_int(&s, now_ms);
    return fg_stmt_exec(&s);
}

/* ---- paging ------------------------------------------------------------------------ */

int fg_webhook_list(fg_stmt_t *s, int64_t limit, const void *row, const int64_t *row_id,
                    void (*item)(fg_buf_t *b, const void *row, int64_t now_ms), int64_t now_ms, fg_buf_t *b)
{
    int64_t count = 0, last_id = 0;
    int rc;
    fg_buf_puts(b, "{\"object\":\"list\",\"data\":[");
    while ((rc = fg_stmt_fetch(s)) == 1) {
        if (count == limit) {
            fg_stmt_done(s);
            break;
        }
        if (count++ > 0)
            fg_buf_putc(b, ',');
        item(b, row, now_ms);
        last_id = *row_id;
    }
    if (rc < 0)
        return rc;
    fg_page_close(b, rc == 1, last_id);
    return 0;
}
