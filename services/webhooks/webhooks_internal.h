/*
 * webhooks_internal.h - rows, SQL column lists, JSON and paging shared by the
 * operations on endpoints and events (endpoints.c, events.c) and the
 * background work (fanout.c, dispatch.c).
 */
#ifndef FG_WEBHOOKS_WEBHOOKS_INTERNAL_H
#define FG_WEBHOOKS_WEBHOOKS_INTERNAL_H

#include "core/status.h"
#include "webhooks/webhooks.h"

/* List pages (docs/DESIGN.md §4). */

/** Binds the columns of FG_ENDPOINT_COLUMNS, in order. */
void fg_endpoint_row_bind(fg_stmt_t *s, fg_endpoint_row_t *r);

#define FG_ENDPOINT_COLUMNS                                                                                            \
    "id, public_id, url, events, description, status, disabled_reason, previous_secret_expires_at, failing_since, "    \
    "created_at, updated_at"

/** Loads the merchant's endpoint by public id (not deleted), optionally
 *  FOR UPDATE.  0, FG_ENOTFOUND, or a database code. */
int fg_endpoint_load(fg_db_t *db, uint64_t merchant_id, const char *public_id, size_t len, int for_update,
                     fg_endpoint_row_t *r) FG_MUST_USE;

/** Parks (next_attempt_at NULL) or resumes (due now) the pending deliveries
 *  of an endpoint being disabled or enabled.  0 or a database code. */
int fg_endpoint_park_deliveries(fg_db_t *db, int64_t endpoint_id, int park, int64_t now_ms) FG_MUST_USE;

/* A delivery as the API shows it. */
typedef struct {
    int64_t id;
    fg_buf_t public_id, endpoint_public_id, event_public_id, event_type, last_error, last_response_body;
    fg_delivery_status_t status;
    int64_t redelivery, attempts, next_attempt_at, last_attempt_at, last_status_code, created_at, completed_at;
    int next_attempt_null, last_attempt_null, last_status_null, last_error_null, body_null, completed_null;
} fg_delivery_row_t;

void fg_delivery_row_init(fg_delivery_row_t *r);
void fg_delivery_row_free(fg_delivery_row_t *r);
/** Binds the columns of FG_DELIVERY_COLUMNS, in order. */
void fg_delivery_row_bind(fg_stmt_t *s, fg_delivery_row_t *r);
void fg_delivery_json(fg_buf_t *b, const fg_delivery_row_t *r);

/* The SELECT list matching fg_delivery_row_bind, over deliveries d, their
 * endpoint w and their event e. */
/* the SQL reads as one list */
/* clang-format off */
#define FG_DELIVERY_COLUMNS                                                                                        \
    "d.id, d.public_id, w.public_id, e.public_id, e.type, " FG_DELIVERY_STATUS_SQL("d.status") ", d.last_error, " \
    "d.last_response_body, d.redelivery, d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_status_code, "  \
    "d.created_at, d.completed_at"
/* clang-format on */

/** Inserts one pending delivery due at due_ms, or (behind: the endpoint has
 *  been failing) with the retry of an earlier delivery of its order at the
 *  endpoint, when one waits for its retry.  Returns 0 (also when the
 *  fan-out had already made it: redelivery 0), FG_ECONFLICT when a
 *  redelivery's number is taken, or a database code. */
int fg_delivery_insert(fg_db_t *db, int behind, int64_t endpoint_id, int64_t event_id, int64_t order_id, int order_null,
                       int64_t redelivery, int64_t event_created_at, int64_t due_ms, int64_t now_ms) FG_MUST_USE;

/** Appends s as a JSON string, replacing invalid UTF-8 with U+FFFD (a
 *  receiver's answer is arbitrary bytes). */
void fg_webhook_json_bytes(fg_buf_t *b, const char *s, size_t n);

/* ---- paging ------------------------------------------------------------------- */

/** Writes {"object":"list","data":[…],"next_cursor":…} into b from an
 *  executed statement that asked for limit + 1 rows: item(b, row, now_ms)
 *  writes each fetched row (the one the statement's results are bound to),
 *  *row_id is its id for the cursor.  Returns 0 or a database error code. */
int fg_webhook_list(fg_stmt_t *s, int64_t limit, const void *row, const int64_t *row_id,
                    void (*item)(fg_buf_t *b, const void *row, int64_t now_ms), int64_t now_ms,
                    fg_buf_t *b) FG_MUST_USE;

#endif
