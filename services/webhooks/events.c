/*
 * events.c - a merchant's event log (one event, a page of events), manual
 * redelivery of an event, and the deliveries of an endpoint.
 */
#include "webhooks/webhooks_internal.h"

#include <string.h>
#include "core/ids.h"

static const char SQL_EVENT[] = "SELECT id, public_id, type, order_id, payload, created_at, seq FROM events "
                                "WHERE public_id = ? AND merchant_id = ?";
/* In the order of seq: a reader catching up passes the last event it has
 * seen; events without a number yet wait.  Without a type, and for a type
 * the merchant has often, the merchant's events are read in seq order
 * (ix_events_merchant_seq), a type's tested on each; a type it has seldom
 * is found through ix_events_merchant_type (migration 0033) and sorted:
 * read in seq order, a type with ten events among 300,000 took 0.45 s. */
#define EVENT_COLUMNS "SELECT id, public_id, type, order_id, payload, created_at, seq "
static const char SQL_EVENTS[] = EVENT_COLUMNS "FROM events FORCE INDEX (ix_events_merchant_seq) "
                                               "WHERE merchant_id = ? AND seq > ? ORDER BY seq LIMIT ?";
static const char SQL_EVENTS_OF_COMMON_TYPE[] = EVENT_COLUMNS
    "FROM events FORCE INDEX (ix_events_merchant_seq) WHERE merchant_id = ? AND seq > ? AND type = ? "
    "ORDER BY seq LIMIT ?";
static const char SQL_EVENTS_OF_RARE_TYPE[] = EVENT_COLUMNS
    "FROM events FORCE INDEX (ix_events_merchant_type) WHERE merchant_id = ? AND seq > ? AND type = ? "
    "ORDER BY seq LIMIT ?";
/* A type the merchant has this many events of is common: sorting them all
 * costs about what reading in seq order costs until a page of them fills,
 * at a few million events of the merchant. */
#define EVENTS_COMMON_TYPE 10000
static const char SQL_EVENTS_OF_TYPE_UPTO[] = "SELECT COUNT(*) FROM (SELECT 1 FROM events FORCE INDEX "
                                              "(ix_events_merchant_type) WHERE merchant_id = ? AND type = ? LIMIT ?) x";
static const char SQL_TARGETS[] =
    "SELECT id, events, status FROM webhook_endpoints WHERE merchant_id = ? AND deleted_at IS NULL "
    "AND (? IS NULL OR public_id = ?) ORDER BY id";
static const char SQL_NEXT_REDELIVERY[] = "SELECT COALESCE(MAX(redelivery), 0) + 1 FROM webhook_deliveries "
                                          "WHERE event_id = ? AND endpoint_id = ?";
static const char SQL_DELIVERY_BY_KEY[] =
    "SELECT " FG_DELIVERY_COLUMNS " FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
    "JOIN events e ON e.id = d.event_id WHERE d.event_id = ? AND d.endpoint_id = ? AND d.redelivery = ?";
/* An endpoint's deliveries newest first, through ix_webhook_deliveries_endpoint,
 * a status tested on each; with a status few deliveries of any endpoint have
 * (failed ones, while endpoints are healthy), through ix_webhook_deliveries_due
 * and sorted: read newest first, ten failed among 300,000 took 94-138 ms. */
static const char SQL_DELIVERIES[] =
    "SELECT " FG_DELIVERY_COLUMNS " FROM webhook_deliveries d FORCE INDEX (ix_webhook_deliveries_endpoint) "
    "JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id "
    "WHERE d.endpoint_id = ? AND d.id < ? AND (? IS NULL OR d.status = ?) ORDER BY d.id DESC LIMIT ?";
static const char SQL_DELIVERIES_OF_RARE_STATUS[] =
    "SELECT " FG_DELIVERY_COLUMNS " FROM webhook_deliveries d FORCE INDEX (ix_webhook_deliveries_due) "
    "JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id "
    "WHERE d.endpoint_id = ? AND d.id < ? AND d.status = ? ORDER BY d.id DESC LIMIT ?";
/* A status fewer deliveries than this have, of every endpoint, is rare. */
#define DELIVERIES_RARE_STATUS 10000
static const char SQL_DELIVERIES_OF_STATUS_UPTO[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries FORCE INDEX (ix_webhook_deliveries_due) "
    "WHERE status = ? LIMIT ?) x";

/* Endpoints one redelivery may target (a merchant has a handful). */
#define REDELIVER_TARGETS_MAX 64

/* ---- events ------------------------------------------------------------------------ */

void fg_event_row_init(fg_event_row_t *e) { memset(e, 0, sizeof(*e)); }

void fg_event_row_free(fg_event_row_t *e)
{
    fg_buf_free(&e->public_id);
    fg_buf_free(&e->type);
    fg_buf_free(&e->payload);
}

static void event_bind(fg_stmt_t *s, fg_event_row_t *e)
{
    fg_stmt_out_int(s, &e->id, NULL);
    fg_stmt_out_text(s, &e->public_id, NULL);
    fg_stmt_out_text(s, &e->type, NULL);
    fg_stmt_out_int(s, &e->order_id, &e->order_null);
    fg_stmt_out_text(s, &e->payload, NULL);
    fg_stmt_out_int(s, &e->created_at, NULL);
    fg_stmt_out_int(s, &e->seq, &e->seq_null);
}

void fg_event_json(fg_buf_t *b, const fg_event_row_t *e)
{
    fg_webhook_envelope(b, e->public_id.data, e->type.data, e->created_at, e->payload.data, e->payload.len);
}

/* List items (fg_webhook_list). */
static void event_item(fg_buf_t *b, const void *row, int64_t now_ms)
{
    (void)now_ms;
    fg_event_json(b, row);
}

static void delivery_item(fg_buf_t *b, const void *row, int64_t now_ms)
{
    (void)now_ms;
    fg_delivery_json(b, row);
}

int fg_event_get(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len, fg_event_row_t *out)
{
    fg_stmt_t s;
    if (!fg_id_valid("evt_", public_id, len))
        return FG_ENOTFOUND;
    int rc = fg_stmt_init(&s, db, SQL_EVENT);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, public_id, len);
    fg_stmt_int(&s, (int64_t)m->id);
    event_bind(&s, out);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc < 0)
        return rc;
    return rc == 1 ? 0 : FG_ENOTFOUND;
}

/* ---- a page of the log ---------------------------------------------------------------- */

/* The seq of the filter's after (0 when none; -1 when that event has no
 * number yet): 0, FG_ENOTFOUND when it is not one of the merchant's events,
 * or a database code. */
static int after_seq(fg_db_t *db, const fg_merchant_ref_t *m, const fg_event_filter_t *filter, int64_t *seq)
{
    fg_event_row_t e;
    *seq = 0;
    if (filter->after == NULL)
        return 0;
    fg_event_row_init(&e);
    int rc = fg_event_get(db, m, filter->after, filter->after_len, &e);
    *seq = e.seq_null ? -1 : e.seq;
    fg_event_row_free(&e);
    return rc;
}

/* Which read serves a list of one type (above). */
static int events_sql(fg_db_t *db, const fg_merchant_ref_t *m, const fg_event_filter_t *filter, const char **sql)
{
    fg_stmt_t s;
    int common = 0, rc = fg_stmt_init(&s, db, SQL_EVENTS_OF_TYPE_UPTO);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, (int64_t)m->id);
    fg_stmt_str(&s, filter->type, filter->type_len);
    if ((rc = fg_stmt_count_reaches(&s, EVENTS_COMMON_TYPE, &common)) == 0)
        *sql = common ? SQL_EVENTS_OF_COMMON_TYPE : SQL_EVENTS_OF_RARE_TYPE;
    return rc;
}

int fg_event_list(fg_db_t *db, const fg_merchant_ref_t *m, const fg_event_filter_t *filter, const fg_page_t *page,
                  fg_buf_t *out)
{
    int64_t after = 0, last = 0;
    fg_stmt_t s;
    fg_event_row_t e;
    int rc;
    if (filter->type != NULL && !fg_webhook_event_type_known(filter->type, filter->type_len))
        return FG_EINVALID;
    /* a cursor past every number handed out was never given out: refused,
     * not answered with an empty page a reader would wait on for ever */
    if (page->cursor > 0 && (rc = fg_db_sequence_last(db, &last)) != 0)
        return rc;
    if (page->cursor > last)
        return FG_ERANGE;
    if ((rc = after_seq(db, m, filter, &after)) != 0)
        return rc;
    if (after < 0) { /* what follows an event not in the log yet is not either */
        fg_buf_puts(out, "{\"object\":\"list\",\"data\":[");
        fg_page_close(out, 0, 0);
        return 0;
    }
    fg_event_row_init(&e);
    const char *sql = SQL_EVENTS;
    if (filter->type != NULL && (rc = events_sql(db, m, filter, &sql)) != 0)
        goto Exit;
    if ((rc = fg_stmt_init(&s, db, sql)) != 0)
        goto Exit;
    fg_stmt_int(&s, (int64_t)m->id);
    fg_stmt_int(&s, page->cursor > after ? page->cursor : after);
    if (filter->type != NULL)
        fg_stmt_str(&s, filter->type, filter->type_len);
    fg_stmt_int(&s, page->limit + 1);
    event_bind(&s, &e);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    rc = fg_webhook_list(&s, page->limit, &e, &e.seq, event_item, 0, out);
Exit:
    fg_event_row_free(&e);
    return rc;
}

/* ---- redelivery ------------------------------------------------------------------------ */

typedef struct {
    int64_t id;
    int enabled, subscribed;
} target_t;

/* The merchant's endpoints (or the one named) with whether each is enabled
 * and subscribes to type. */
static int load_targets(fg_db_t *db, const fg_merchant_ref_t *m, const char *endpoint_id, const char *type,
                        target_t *out, int *count)
{
    fg_stmt_t s;
    fg_buf_t events = FG_BUF_INIT, status = FG_BUF_INIT;
    int64_t id = 0;
    int rc = fg_stmt_init(&s, db, SQL_TARGETS);
    *count = 0;
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, (int64_t)m->id);
    fg_stmt_cstr(&s, endpoint_id);
    fg_stmt_cstr(&s, endpoint_id);
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

/* Creates the next redelivery of event e to the endpoint and appends it to
 * body (after a comma unless first); FG_ESTATE when it has had
 * FG_WEBHOOK_REDELIVERIES_MAX of them (body unchanged). */
static int redeliver_one(fg_db_t *db, const fg_event_row_t *e, int64_t endpoint_id, int64_t now_ms, int first,
                         fg_buf_t *body)
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
    if (n > FG_WEBHOOK_REDELIVERIES_MAX)
        return FG_ESTATE;
    rc = fg_delivery_insert(db, 1, endpoint_id, e->id, e->order_id, e->order_null, n, e->created_at, now_ms, now_ms);
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
        if (rc == 1 && !first)
            fg_buf_putc(body, ',');
        if (rc == 1)
            fg_delivery_json(body, &d);
        rc = rc == 1 ? 0 : rc < 0 ? rc : FG_EDB;
    }
    fg_delivery_row_free(&d);
    return rc;
}

/* Redelivers e to its targets; FG_ENOTFOUND / FG_ESTATE (out->outcome set)
 * when there is none.  Unnamed, a target that has had its
 * FG_WEBHOOK_REDELIVERIES_MAX is passed over (the answer lists the others):
 * refused only when every one has. */
static int redeliver_event(fg_db_t *db, const fg_merchant_ref_t *m, const fg_event_row_t *e, const char *endpoint_id,
                           int64_t now_ms, fg_redelivery_t *out)
{
    target_t targets[REDELIVER_TARGETS_MAX];
    int count = 0, at_limit = 0;
    int rc = load_targets(db, m, endpoint_id, e->type.data, targets, &count);
    if (rc != 0)
        return rc;
    fg_buf_puts(&out->body, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < count && rc == 0; i++) {
        /* named: any enabled endpoint; otherwise: the subscribed, enabled ones */
        if (!targets[i].enabled || (endpoint_id == NULL && !targets[i].subscribed))
            continue;
        rc = redeliver_one(db, e, targets[i].id, now_ms, out->count == 0, &out->body);
        if (rc == FG_ESTATE && endpoint_id == NULL) {
            at_limit++;
            rc = 0;
        } else if (rc == 0) {
            out->count++;
        }
    }
    if (rc == 0 && out->count == 0 && at_limit > 0)
        rc = FG_ESTATE;
    if (rc == FG_ESTATE)
        out->outcome = FG_REDELIVERY_LIMIT; /* the caller rolls back */
    if (rc != 0)
        return rc;
    if (out->count == 0) {
        out->outcome = endpoint_id == NULL ? FG_REDELIVERY_NO_SUBSCRIBER
                       : count == 0        ? FG_REDELIVERY_NO_ENDPOINT
                                           : FG_REDELIVERY_ENDPOINT_DISABLED;
        return out->outcome == FG_REDELIVERY_ENDPOINT_DISABLED ? FG_ESTATE : FG_ENOTFOUND;
    }
    fg_buf_puts(&out->body, "]}");
    return 0;
}

int fg_event_redeliver(fg_db_t *db, const fg_merchant_ref_t *m, const char *event_id, size_t len,
                       const char *endpoint_id, int64_t now_ms, fg_redelivery_t *out)
{
    fg_event_row_t e;
    out->outcome = FG_REDELIVERY_MADE;
    out->count = 0;
    fg_buf_reset(&out->body);
    fg_event_row_init(&e);
    int rc = fg_event_get(db, m, event_id, len, &e);
    if (rc == FG_ENOTFOUND)
        out->outcome = FG_REDELIVERY_NO_EVENT;
    else if (rc == 0)
        rc = redeliver_event(db, m, &e, endpoint_id, now_ms, out);
    fg_event_row_free(&e);
    return rc;
}

/* ---- an endpoint's deliveries ---------------------------------------------------------- */

/* Which read serves a list of one status (above). */
static int deliveries_sql(fg_db_t *db, const char *status, const char **sql)
{
    fg_stmt_t s;
    int common = 0, rc = fg_stmt_init(&s, db, SQL_DELIVERIES_OF_STATUS_UPTO);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, status);
    if ((rc = fg_stmt_count_reaches(&s, DELIVERIES_RARE_STATUS, &common)) == 0)
        *sql = common ? SQL_DELIVERIES : SQL_DELIVERIES_OF_RARE_STATUS;
    return rc;
}

int fg_delivery_list(fg_db_t *db, const fg_merchant_ref_t *m, const char *endpoint_id, size_t len,
                     const fg_delivery_status_t *status, const fg_page_t *page, fg_buf_t *out)
{
    fg_endpoint_row_t w;
    fg_delivery_row_t d;
    fg_stmt_t s;
    fg_endpoint_row_init(&w);
    fg_delivery_row_init(&d);
    const char *sql = SQL_DELIVERIES, *name = status != NULL ? fg_delivery_status_name(*status) : NULL;
    int rc = fg_endpoint_load(db, m->id, endpoint_id, len, 0, &w);
    if (rc == 0 && name != NULL)
        rc = deliveries_sql(db, name, &sql);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, sql)) != 0)
        goto Exit;
    fg_stmt_int(&s, w.id);
    fg_stmt_int(&s, page->cursor > 0 ? page->cursor : INT64_MAX);
    fg_stmt_cstr(&s, name);
    if (sql == SQL_DELIVERIES)
        fg_stmt_cstr(&s, name);
    fg_stmt_int(&s, page->limit + 1);
    fg_delivery_row_bind(&s, &d);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    rc = fg_webhook_list(&s, page->limit, &d, &d.id, delivery_item, 0, out);
Exit:
    fg_endpoint_row_free(&w);
    fg_delivery_row_free(&d);
    return rc;
}

/* ---- retention ------------------------------------------------------------------------- */

/* Ended deliveries oldest first (ix_webhook_deliveries_completed, 0037):
 * pending ones have no completed_at. */
static const char SQL_DELIVERY_PRUNE[] = "DELETE FROM webhook_deliveries WHERE completed_at < ? AND status <> "
                                         "'pending' ORDER BY completed_at LIMIT ?";

int fg_delivery_prune(fg_db_t *db, const fg_config_t *cfg, int64_t now_ms, int batch)
{
    if (cfg->webhooks_deliveries_retain_days == 0)
        return 0;
    int64_t args[] = {now_ms - cfg->webhooks_deliveries_retain_days * 86400000LL, batch};
    return fg_db_prune(db, SQL_DELIVERY_PRUNE, args, 2);
}
