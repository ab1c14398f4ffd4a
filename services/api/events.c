/*
 * events.c - the event log (GET /v1/events, GET /v1/events/{id}), manual
 * redelivery (POST /v1/events/{id}/redeliver) and an endpoint's deliveries
 * (GET /v1/webhook-endpoints/{id}/deliveries).
 */
#include "webhooks/webhooks_internal.h"
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>
#include "core/ids.h"
#include "core/text.h"
#include "orders/orders.h" /* fg_json_parse_object, fg_field_error_t */

static const char SQL_EVENT[] =
    "SELECT id, public_id, type, order_id, payload, created_at FROM events WHERE public_id = ? AND merchant_id = ?";
/* Oldest first: a reader catching up passes the last id it has seen. */
static const char SQL_EVENTS[] = "SELECT id, public_id, type, order_id, payload, created_at FROM events "
                                 "WHERE merchant_id = ? AND id > ? AND id <= ? AND (? IS NULL OR type = ?) "
                                 "ORDER BY id LIMIT ?";
/* The fan-out's mark and the lowest id it still waits for (fanout.c), read
 * in one statement: a fan-out round writes both in one transaction. */
static const char SQL_PAGEABLE[] = "SELECT f.last_event_id, (SELECT MIN(g.event_id) FROM webhook_fanout_gaps g) "
                                   "FROM webhook_fanout f WHERE f.id = 1";
static const char SQL_ABOVE_MARK[] = "SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?";
static const char SQL_TARGETS[] =
    "SELECT id, events, status FROM webhook_endpoints WHERE merchant_id = ? AND deleted_at IS NULL "
    "AND (? IS NULL OR public_id = ?) ORDER BY id";
static const char SQL_NEXT_REDELIVERY[] = "SELECT COALESCE(MAX(redelivery), 0) + 1 FROM webhook_deliveries "
                                          "WHERE event_id = ? AND endpoint_id = ?";
static const char SQL_DELIVERY_BY_KEY[] =
    "SELECT " FG_DELIVERY_COLUMNS " FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
    "JOIN events e ON e.id = d.event_id WHERE d.event_id = ? AND d.endpoint_id = ? AND d.redelivery = ?";
static const char SQL_DELIVERIES[] =
    "SELECT " FG_DELIVERY_COLUMNS " FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
    "JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = ? AND d.id < ? AND (? IS NULL OR d.status = ?) "
    "ORDER BY d.id DESC LIMIT ?";

/* Endpoints one redelivery may target (a merchant has a handful). */
#define REDELIVER_TARGETS_MAX 64

typedef struct {
    int64_t id, order_id, created_at;
    int order_null;
    fg_buf_t public_id, type, payload;
} event_row_t;

static void event_row_free(event_row_t *e)
{
    fg_buf_free(&e->public_id);
    fg_buf_free(&e->type);
    fg_buf_free(&e->payload);
}

static void event_bind(fg_stmt_t *s, event_row_t *e)
{
    fg_stmt_out_int(s, &e->id, NULL);
    fg_stmt_out_text(s, &e->public_id, NULL);
    fg_stmt_out_text(s, &e->type, NULL);
    fg_stmt_out_int(s, &e->order_id, &e->order_null);
    fg_stmt_out_text(s, &e->payload, NULL);
    fg_stmt_out_int(s, &e->created_at, NULL);
}

static void event_json(fg_buf_t *b, const event_row_t *e);

/* List items (fg_webhook_list). */
static void event_item(fg_buf_t *b, const void *row, int64_t now_ms)
{
    (void)now_ms;
    event_json(b, row);
}

static void delivery_item(fg_buf_t *b, const void *row, int64_t now_ms)
{
    (void)now_ms;
    fg_delivery_json(b, row);
}

static void event_json(fg_buf_t *b, const event_row_t *e)
{
    fg_webhook_envelope(b, e->public_id.data, e->type.data, e->created_at, e->payload.data, e->payload.len);
}

/* 0, FG_ENOTFOUND or a database code. */
static int event_load(fg_db_t *db, uint64_t merchant_id, const char *public_id, size_t len, event_row_t *e)
{
    fg_stmt_t s;
    if (!fg_id_valid("evt_", public_id, len))
        return FG_ENOTFOUND;
    int rc = fg_stmt_init(&s, db, SQL_EVENT);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, public_id, len);
    fg_stmt_int(&s, (int64_t)merchant_id);
    event_bind(&s, e);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc < 0)
        return rc;
    return rc == 1 ? 0 : FG_ENOTFOUND;
}

static void event_not_found(fg_call_t *call)
{
    fg_call_error(call, 404, "not_found", "event_not_found", "no such event", NULL);
}

/* ---- GET /v1/events/{id} ------------------------------------------------------------ */

void fg_events_get(fg_call_t *call, fg_db_t *db)
{
    event_row_t e;
    memset(&e, 0, sizeof(e));
    int rc = event_load(db, call->merchant_id, call->params[0], call->param_lens[0], &e);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        event_not_found(call);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        event_json(&b, &e);
        fg_call_json(call, 200, &b);
    }
    event_row_free(&e);
}

/* ---- GET /v1/events?type=&after= ---------------------------------------------------- */

/* The internal key of ?after=evt_… (the merchant's own), or -1 answered. */
static int64_t after_param(fg_call_t *call, fg_db_t *db)
{
    size_t len;
    const char *after = fg_call_query(call, "after", &len);
    if (after == NULL || len == 0)
        return 0;
    event_row_t e;
    memset(&e, 0, sizeof(e));
    int rc = event_load(db, call->merchant_id, after, len, &e);
    int64_t id = e.id;
    event_row_free(&e);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 400, "invalid_request", "invalid_after", "after must be the id of one of your events",
                      "after");
        return -1;
    }
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
        return -1;
    }
    return id;
}

/* A page must not step over an event that is still to commit: ids are
 * taken at INSERT, so id 41 may commit after 42 is visible, and a reader
 * whose ?after= passed 42 would never see 41.  A page therefore ends below
 * the first id that may still come: a gap the fan-out is still waiting for
 * (each is resolved within about two settle rounds, ~2 s: it commits, or a
 * settle point proves it never will; fanout.c), or a hole among the ids the
 * fan-out has not read yet.  Above the fan-out's mark only an unbroken run
 * of ids counts; with an AUTO_INCREMENT step other than 1 (Galera) that run
 * is empty and pages end at the mark, which trails commits by one fan-out
 * round (20 ms). */
/* Ids above the fan-out's mark looked at; the fan-out reads every 20 ms, so
 * there are few unless it is behind (then pages stop here). */
#define ABOVE_MARK_MAX 2000

/* The highest event id a page may include. */
static int pageable_upto(fg_db_t *db, int64_t *upto)
{
    fg_stmt_t s;
    int64_t mark = 0, gap = 0, id = 0;
    int gap_null = 1;
    int rc = fg_stmt_init(&s, db, SQL_PAGEABLE);
    if (rc != 0)
        return rc;
    fg_stmt_out_int(&s, &mark, NULL);
    fg_stmt_out_int(&s, &gap, &gap_null);
    if ((rc = fg_stmt_one(&s)) != 0 && rc != FG_ENOTFOUND)
        return rc;
    *upto = mark;
    if ((rc = fg_stmt_init(&s, db, SQL_ABOVE_MARK)) != 0)
        return rc;
    fg_stmt_int(&s, mark);
    fg_stmt_int(&s, ABOVE_MARK_MAX);
    fg_stmt_out_int(&s, &id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (id != *upto + 1) {
            fg_stmt_done(&s); /* a hole: what is above it may wait on it */
            rc = 0;
            break;
        }
        *upto = id;
    }
    if (rc < 0)
        return rc;
    if (!gap_null && gap - 1 < *upto)
        *upto = gap - 1;
    return 0;
}

void fg_events_list(fg_call_t *call, fg_db_t *db)
{
    int64_t limit, cursor;
    size_t type_len = 0;
    const char *type = fg_call_query(call, "type", &type_len);
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return;
    limit = page.limit;
    cursor = page.cursor;
    if (type != NULL && type_len == 0)
        type = NULL;
    if (type != NULL && !fg_webhook_event_type_known(type, type_len)) {
        fg_call_error(call, 400, "invalid_request", "invalid_type", "unknown event type", "type");
        return;
    }
    int64_t after = after_param(call, db), upto = 0;
    if (after < 0)
        return;
    fg_stmt_t s;
    event_row_t e;
    fg_buf_t b = FG_BUF_INIT;
    int rc;
    memset(&e, 0, sizeof(e));
    if ((rc = pageable_upto(db, &upto)) != 0 || (rc = fg_stmt_init(&s, db, SQL_EVENTS)) != 0)
        goto Exit;
    fg_stmt_int(&s, (int64_t)call->merchant_id);
    fg_stmt_int(&s, cursor > after ? cursor : after);
    fg_stmt_int(&s, upto);
    fg_stmt_cstr(&s, type);
    fg_stmt_cstr(&s, type);
    fg_stmt_int(&s, limit + 1);
    event_bind(&s, &e);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    if ((rc = fg_webhook_list(&s, limit, &e, &e.id, event_item, 0, &b)) != 0)
        goto Exit;
    fg_call_json(call, 200, &b);
Exit:
    fg_db_end(db);
    if (rc != 0)
        fg_call_db_error(call, db, rc);
    fg_buf_free(&b);
    event_row_free(&e);
}

/* ---- POST /v1/events/{id}/redeliver ------------------------------------------------- */

typedef struct {
    fg_call_t *call;
    const char *endpoint_id; /* the one endpoint asked for, or NULL */
    fg_buf_t body;
    int idem_conflict;
    int outcome; /* 404 event, 404 endpoint, 409 disabled, 422 none */
} redeliver_t;

enum { NONE = 0, NO_EVENT, NO_ENDPOINT, ENDPOINT_DISABLED, NO_TARGET };

typedef struct {
    int64_t id;
    int enabled, subscribed;
} target_t;

static int load_targets(fg_db_t *db, redeliver_t *r, const char *type, target_t *out, int *count)
{
    fg_stmt_t s;
    fg_buf_t events = FG_BUF_INIT, status = FG_BUF_INIT;
    int64_t id = 0;
    int rc = fg_stmt_init(&s, db, SQL_TARGETS);
    *count = 0;
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, (int64_t)r->call->merchant_id);
    fg_stmt_cstr(&s, r->endpoint_id);
    fg_stmt_cstr(&s, r->endpoint_id);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &events, NULL);
    fg_stmt_out_text(&s, &status, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && *count < REDELIVER_TARGETS_MAX)
            out[(*count)++] = (target_t){id, strcmp(status.data, "enabled") == 0,
                                         fg_webhook_subscribed(events.data, type)};
        if (rc == 1)
            fg_stmt_done(&s);
        rc = rc < 0 ? rc : 0;
    }
    fg_buf_free(&events);
    fg_buf_free(&status);
    return rc;
}

/* Creates the n-th redelivery of event e to endpoint t and appends it. */
static int redeliver_one(fg_db_t *db, redeliver_t *r, const event_row_t *e, int64_t endpoint_id, int64_t now)
{
    fg_stmt_t s;
    int64_t n = 1;
    fg_delivery_row_t d;
    int rc = fg_stmt_init(&s, db, SQL_NEXT_REDELIVERY);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, e->id);
    fg_stmt_int(&s, endpoint_id);
    fg_stmt_out_int(&s, &n, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc < 0)
        return rc;
    rc = fg_delivery_insert(db, endpoint_id, e->id, e->order_id, e->order_null, n, e->created_at, now, now);
    if (rc == FG_ECONFLICT)
        return FG_ERETRY; /* a concurrent redelivery took this number: run again */
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_DELIVERY_BY_KEY)) != 0)
        return rc;
    fg_delivery_row_init(&d);
    fg_stmt_int(&s, e->id);
    fg_stmt_int(&s, endpoint_id);
    fg_stmt_int(&s, n);
    fg_delivery_row_bind(&s, &d);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        rc = fg_stmt_fetch(&s);
        fg_stmt_done(&s);
        if (rc == 1)
            fg_delivery_json(&r->body, &d);
        rc = rc == 1 ? 0 : rc < 0 ? rc : FG_EDB;
    }
    fg_delivery_row_free(&d);
    return rc;
}

static int redeliver_tx(fg_db_t *db, void *arg)
{
    redeliver_t *r = arg;
    event_row_t e;
    target_t targets[REDELIVER_TARGETS_MAX];
    int count = 0, made = 0;
    int64_t now = fg_now_ms();
    memset(&e, 0, sizeof(e));
    r->idem_conflict = 0;
    r->outcome = NONE;
    fg_buf_reset(&r->body);
    int rc = event_load(db, r->call->merchant_id, r->call->params[0], r->call->param_lens[0], &e);
    if (rc == FG_ENOTFOUND) {
        r->outcome = NO_EVENT;
        rc = 1;
    }
    if (rc != 0 || (rc = load_targets(db, r, e.type.data, targets, &count)) != 0)
        goto Exit;
    fg_buf_puts(&r->body, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < count && rc == 0; i++) {
        /* named: any enabled endpoint; otherwise: the subscribed, enabled ones */
        if (!targets[i].enabled || (r->endpoint_id == NULL && !targets[i].subscribed))
            continue;
        if (made++ > 0)
            fg_buf_putc(&r->body, ',');
        rc = redeliver_one(db, r, &e, targets[i].id, now);
    }
    if (rc != 0)
        goto Exit;
    if (made == 0) {
        r->outcome = r->endpoint_id == NULL ? NO_TARGET : count == 0 ? NO_ENDPOINT : ENDPOINT_DISABLED;
        rc = 1;
        goto Exit;
    }
    fg_buf_puts(&r->body, "]}");
    rc = fg_idem_store(db, r->call, 201, &r->body);
    if (rc == FG_ECONFLICT)
        r->idem_conflict = 1;
Exit:
    event_row_free(&e);
    return rc;
}

static void answer_outcome(fg_call_t *call, int outcome)
{
    switch (outcome) {
    case NO_EVENT: event_not_found(call); break;
    case NO_ENDPOINT:
        fg_call_error(call, 404, "not_found", "endpoint_not_found", "no such webhook endpoint", "endpoint_id");
        break;
    case ENDPOINT_DISABLED:
        fg_call_error(call, 409, "conflict", "endpoint_disabled", "the webhook endpoint is disabled", "endpoint_id");
        break;
    default:
        fg_call_error(call, 422, "invalid_request", "no_subscribed_endpoint",
                      "no enabled webhook endpoint subscribes to this event's type", NULL);
        break;
    }
}

/* Reads the optional body {"endpoint_id":"whe_…"}; 0, or -1 answered. */
static int redeliver_input(fg_call_t *call, yajl_val *root, const char **endpoint_id)
{
    fg_field_error_t err;
    *root = NULL;
    *endpoint_id = NULL;
    if (call->body == NULL || call->body_len == 0)
        return 0;
    if ((*root = fg_json_parse_object(call->body, call->body_len, &err)) == NULL) {
        fg_call_error(call, err.status, "invalid_request", err.code, err.message, NULL);
        return -1;
    }
    for (size_t i = 0; i < (*root)->u.object.len; i++) {
        yajl_val v = (*root)->u.object.values[i];
        if (strcmp((*root)->u.object.keys[i], "endpoint_id") != 0) {
            fg_call_error(call, 400, "invalid_request", "unknown_field", "the only field is \"endpoint_id\"",
                          (*root)->u.object.keys[i]);
            return -1;
        }
        if (!YAJL_IS_STRING(v)) {
            fg_call_error(call, 400, "invalid_request", "invalid_type", "endpoint_id must be a string", "endpoint_id");
            return -1;
        }
        *endpoint_id = YAJL_GET_STRING(v);
    }
    return 0;
}

void fg_events_redeliver(fg_call_t *call, fg_db_t *db)
{
    yajl_val root;
    redeliver_t r = {.call = call};
    if (redeliver_input(call, &root, &r.endpoint_id) == 0) {
        int rc = fg_db_tx(db, redeliver_tx, &r);
        if (rc == 0) {
            fg_call_json(call, 201, &r.body);
            fg_webhooks_wake();
        } else if (rc == 1) {
            answer_outcome(call, r.outcome);
        } else if (rc == FG_ECONFLICT && r.idem_conflict) {
            rc = fg_idem_answer_existing(db, call);
            if (rc != 0)
                fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_ERETRY : rc);
        } else {
            fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
        }
    }
    fg_buf_free(&r.body);
    if (root != NULL)
        yajl_tree_free(root);
}

/* ---- GET /v1/webhook-endpoints/{id}/deliveries --------------------------------------- */

void fg_webhook_endpoints_deliveries(fg_call_t *call, fg_db_t *db)
{
    int64_t limit, cursor;
    size_t status_len = 0;
    const char *status = fg_call_query(call, "status", &status_len);
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return;
    limit = page.limit;
    cursor = page.cursor;
    if (status != NULL && status_len == 0)
        status = NULL;
    fg_delivery_status_t wanted;
    if (status != NULL && fg_delivery_status_parse(status, status_len, &wanted) != 0) {
        fg_call_error(call, 400, "invalid_request", "invalid_status", "status must be pending, delivered or failed",
                      "status");
        return;
    }
    fg_endpoint_row_t w;
    fg_delivery_row_t d;
    fg_stmt_t s;
    fg_buf_t b = FG_BUF_INIT;
    fg_endpoint_row_init(&w);
    fg_delivery_row_init(&d);
    int rc = fg_endpoint_load(db, call->merchant_id, call->params[0], call->param_lens[0], 0, &w);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_DELIVERIES)) != 0)
        goto Exit;
    fg_stmt_int(&s, w.id);
    fg_stmt_int(&s, cursor > 0 ? cursor : INT64_MAX);
    fg_stmt_cstr(&s, status);
    fg_stmt_cstr(&s, status);
    fg_stmt_int(&s, limit + 1);
    fg_delivery_row_bind(&s, &d);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    if ((rc = fg_webhook_list(&s, limit, &d, &d.id, delivery_item, 0, &b)) != 0)
        goto Exit;
    fg_call_json(call, 200, &b);
Exit:
    fg_db_end(db);
    if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "endpoint_not_found", "no such webhook endpoint", NULL);
    else if (rc != 0)
        fg_call_db_error(call, db, rc);
    fg_buf_free(&b);
    fg_endpoint_row_free(&w);
    fg_delivery_row_free(&d);
}
