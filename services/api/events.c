/*
 * events.c - the event log (GET /v1/events, GET /v1/events/{id}), manual
 * redelivery (POST /v1/events/{id}/redeliver) and an endpoint's deliveries
 * (GET /v1/webhook-endpoints/{id}/deliveries).  The work is the webhooks
 * module's (webhooks/events.c).
 */
#include "api/handlers.h"

#include <string.h>
#include "changes/changes.h"
#include "core/text.h" /* fg_now_ms */
#include "merchants/merchants.h"
#include "webhooks/webhooks.h"

static void event_not_found(fg_call_t *call)
{
    fg_call_error(call, 404, "not_found", "event_not_found", "no such event", NULL);
}

/* ---- GET /v1/events/{id} ------------------------------------------------------------ */

void fg_events_get(fg_call_t *call, fg_db_t *db)
{
    fg_merchant_ref_t mer = fg_call_merchant(call);
    fg_event_row_t e;
    fg_event_row_init(&e);
    int rc = fg_event_get(db, &mer, call->params[0], call->param_lens[0], &e);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        event_not_found(call);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        fg_event_json(&b, &e);
        fg_call_json(call, 200, &b);
    }
    fg_event_row_free(&e);
}

/* ---- GET /v1/events?type=&after= ---------------------------------------------------- */

void fg_events_list(fg_call_t *call, fg_db_t *db)
{
    fg_merchant_ref_t mer = fg_call_merchant(call);
    fg_event_filter_t filter = {NULL, 0, NULL, 0};
    fg_page_t page;
    filter.type = fg_call_query(call, "type", &filter.type_len);
    if (fg_call_page(call, &page) != 0)
        return;
    if (filter.type != NULL && filter.type_len == 0)
        filter.type = NULL;
    filter.after = fg_call_query(call, "after", &filter.after_len);
    if (filter.after != NULL && filter.after_len == 0)
        filter.after = NULL;
    fg_buf_t b = FG_BUF_INIT;
    /* every event that committed before this request gets its place now */
    int rc = fg_changes_catch_up(db);
    if (rc == 0)
        rc = fg_event_list(db, &mer, &filter, &page, &b);
    fg_db_end(db);
    if (rc == 0)
        fg_call_json(call, 200, &b);
    else if (rc == FG_EINVALID)
        fg_call_error(call, 400, "invalid_request", "invalid_type", "unknown event type", "type");
    else if (rc == FG_ENOTFOUND)
        fg_call_error(call, 400, "invalid_request", "invalid_after", "after must be the id of one of your events",
                      "after");
    else if (rc == FG_ERANGE)
        fg_call_error(call, 400, "invalid_request", "invalid_cursor", "cursor is not one this API gave out", "cursor");
    else
        fg_call_db_error(call, db, rc);
    fg_buf_free(&b);
}

/* ---- POST /v1/events/{id}/redeliver ------------------------------------------------- */

typedef struct {
    fg_call_t *call;
    const char *endpoint_id; /* the one endpoint asked for, or NULL */
    fg_redelivery_t result;
} redeliver_t;

static int redeliver_tx(fg_db_t *db, void *arg)
{
    redeliver_t *r = arg;
    fg_merchant_ref_t mer = fg_call_merchant(r->call);
    int rc = fg_event_redeliver(db, &mer, r->call->params[0], r->call->param_lens[0], r->endpoint_id, fg_now_ms(),
                                &r->result);
    if (rc != 0)
        return rc;
    return fg_idem_store(db, r->call, 201, &r->result.body);
}

/* The answer when nothing was redelivered. */
static void answer_refusal(fg_call_t *call, fg_redelivery_outcome_t outcome)
{
    switch (outcome) {
    case FG_REDELIVERY_NO_EVENT: event_not_found(call); break;
    case FG_REDELIVERY_NO_ENDPOINT:
        fg_call_error(call, 404, "not_found", "endpoint_not_found", "no such webhook endpoint", "endpoint_id");
        break;
    case FG_REDELIVERY_ENDPOINT_DISABLED:
        fg_call_error(call, 409, "conflict", "endpoint_disabled", "the webhook endpoint is disabled", "endpoint_id");
        break;
    case FG_REDELIVERY_LIMIT: {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "this event has been redelivered %d times to the endpoint (to each subscribed one, when none is "
                 "named): its deliveries show what the receiver answered",
                 FG_WEBHOOK_REDELIVERIES_MAX);
        fg_call_error(call, 409, "conflict", "redelivery_limit", msg, NULL);
        break;
    }
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
    if ((*root = fg_call_json_object(call, &err)) == NULL) {
        fg_call_field_error(call, &err);
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
    redeliver_t r = {.call = call, .result = {.body = FG_BUF_INIT}};
    if (redeliver_input(call, &root, &r.endpoint_id) == 0) {
        int rc = fg_db_tx(db, redeliver_tx, &r);
        if (rc == 0) {
            fg_call_json(call, 201, &r.result.body);
            fg_webhooks_wake();
        } else if ((rc == FG_ENOTFOUND || rc == FG_ESTATE) && r.result.outcome != FG_REDELIVERY_MADE) {
            answer_refusal(call, r.result.outcome);
        } else if (rc == FG_ECONFLICT && call->idem_taken) {
            fg_idem_answer_conflict(call, db);
        } else {
            fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
        }
    }
    fg_buf_free(&r.result.body);
    if (root != NULL)
        yajl_tree_free(root);
}

/* ---- GET /v1/webhook-endpoints/{id}/deliveries --------------------------------------- */

void fg_webhook_endpoints_deliveries(fg_call_t *call, fg_db_t *db)
{
    fg_merchant_ref_t mer = fg_call_merchant(call);
    size_t status_len = 0;
    const char *status = fg_call_query(call, "status", &status_len);
    fg_delivery_status_t wanted;
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return;
    if (status != NULL && status_len == 0)
        status = NULL;
    if (status != NULL && fg_delivery_status_parse(status, status_len, &wanted) != 0) {
        fg_call_error(call, 400, "invalid_request", "invalid_status", "status must be pending, delivered or failed",
                      "status");
        return;
    }
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_delivery_list(db, &mer, call->params[0], call->param_lens[0], status != NULL ? &wanted : NULL, &page,
                              &b);
    fg_db_end(db);
    if (rc == 0)
        fg_call_json(call, 200, &b);
    else if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "endpoint_not_found", "no such webhook endpoint", NULL);
    else
        fg_call_db_error(call, db, rc);
    fg_buf_free(&b);
}
