/*
 * test_domain_webhooks.c - the webhook endpoint and event operations without
 * HTTP: fg_endpoint_* and fg_event_* run in transactions of their own
 * against the private MariaDB, and the rows they leave are read back.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>
#include "changes/changes.h"
#include "core/ids.h"
#include "core/text.h"
#include "db/db.h"
#include "harness.h"
#include "http/http.h"
#include "webhooks/webhooks.h"

static fg_config_t cfg;
static fg_db_t *db;
static fgt_merchant_t mer, other;
static fg_merchant_ref_t ref, other_ref;

static void setup(void)
{
    fgt_config_load(&cfg);
    db = fgt_db_open(&cfg);
    fgt_merchant_create("Domain webhooks school", mer.id, mer.key);
    fgt_merchant_create("Domain webhooks other", other.id, other.key);
    ref.id = (uint64_t)fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", mer.id, NULL);
    ref.public_id = mer.id;
    other_ref.id = (uint64_t)fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", other.id, NULL);
    other_ref.public_id = other.id;
    ck_assert_int_gt((long long)ref.id, 0);
    ck_assert_int_gt((long long)other_ref.id, 0);
}

/* No delivery worker of a later suite should try what these tests leave. */
static void teardown(void)
{
    static const char *const SQL[] = {
        "UPDATE webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id SET d.status = 'failed', "
        "d.next_attempt_at = NULL WHERE d.status = 'pending' AND w.merchant_id = "
        "(SELECT id FROM merchants WHERE public_id = ?)",
        "UPDATE webhook_endpoints SET status = 'disabled', deleted_at = 0 WHERE deleted_at IS NULL AND merchant_id = "
        "(SELECT id FROM merchants WHERE public_id = ?)",
    };
    for (size_t i = 0; i < sizeof(SQL) / sizeof(SQL[0]); i++) {
        fgt_db_exec(SQL[i], mer.id);
        fgt_db_exec(SQL[i], other.id);
    }
    fg_db_close(db);
    fg_config_free(&cfg);
}

/* ---- running the operations ------------------------------------------------------ */

typedef struct {
    const fg_merchant_ref_t *m;
    const fg_endpoint_input_t *in;
    const char *id; /* the endpoint's public id */
    int enabled;
    int64_t now;
    fg_endpoint_row_t row;
    char secret[FG_WEBHOOK_SECRET_CAP];
    uint64_t deliveries_failed; /* by a delete */
} op_t;

static void op_reset(op_t *o)
{
    fg_endpoint_row_free(&o->row);
    fg_endpoint_row_init(&o->row);
}

static int create_tx(fg_db_t *d, void *arg)
{
    op_t *o = arg;
    op_reset(o);
    return fg_endpoint_create(d, o->m, o->in, o->now, &o->row, o->secret);
}

static int update_tx(fg_db_t *d, void *arg)
{
    op_t *o = arg;
    op_reset(o);
    return fg_endpoint_update(d, o->m, o->id, strlen(o->id), o->in, o->now, &o->row);
}

static int set_enabled_tx(fg_db_t *d, void *arg)
{
    op_t *o = arg;
    op_reset(o);
    return fg_endpoint_set_enabled(d, o->m, o->id, strlen(o->id), o->enabled, o->now, &o->row);
}

static int rotate_tx(fg_db_t *d, void *arg)
{
    op_t *o = arg;
    op_reset(o);
    return fg_endpoint_rotate_secret(d, o->m, o->id, strlen(o->id), o->now, &o->row, o->secret);
}

static int delete_tx(fg_db_t *d, void *arg)
{
    op_t *o = arg;
    op_reset(o);
    return fg_endpoint_delete(d, o->m, o->id, strlen(o->id), o->now, &o->row, &o->deliveries_failed);
}

/* Runs fn for merchant m on endpoint id (NULL when creating) in its own
 * transaction; fills o (free o->row with fg_endpoint_row_free). */
static int run(fg_db_tx_fn fn, const fg_merchant_ref_t *m, const char *id, op_t *o)
{
    o->m = m;
    o->id = id;
    if (o->now == 0)
        o->now = fg_now_ms();
    fg_endpoint_row_init(&o->row);
    return fg_db_tx(db, fn, o);
}

/* A new endpoint of the merchant subscribed to events ("a,b" or "*"); its
 * public id into id, its secret into secret (may be NULL). */
static void endpoint_create(const char *events, char *id, char *secret)
{
    fg_endpoint_input_t in;
    memset(&in, 0, sizeof(in));
    in.url = "https://hooks.example.com/feegate";
    in.has_events = 1;
    fg_buf_puts(&in.events, events);
    op_t o = {.in = &in};
    ck_assert_int_eq(run(create_tx, &ref, NULL, &o), 0);
    snprintf(id, FGT_ID_CAP, "%s", o.row.public_id.data);
    if (secret != NULL)
        snprintf(secret, FG_WEBHOOK_SECRET_CAP, "%s", o.secret);
    fg_endpoint_row_free(&o.row);
    fg_endpoint_input_free(&in);
}

/* A new event of the merchant's of type; its public id into id. */
static void event_create(const char *type, char *id)
{
    char sql[512];
    ck_assert_int_gt(fg_id_new("evt_", id, FGT_ID_CAP), 0);
    /* ids and types are [A-Za-z0-9_.]: safe to write into the statement */
    snprintf(sql, sizeof(sql),
             "INSERT INTO events (public_id, merchant_id, type, order_id, payload, created_at) VALUES "
             "('%s', %llu, '%s', NULL, '{\"id\":\"ord_test\"}', 1000)",
             id, (unsigned long long)ref.id, type);
    fgt_db_exec(sql, NULL);
}

typedef struct {
    const char *event_id, *endpoint_id;
    int64_t now;
    fg_redelivery_t result;
} redeliver_t;

static int redeliver_tx(fg_db_t *d, void *arg)
{
    redeliver_t *r = arg;
    return fg_event_redeliver(d, &ref, r->event_id, strlen(r->event_id), r->endpoint_id, r->now, &r->result);
}

/* Redelivers event_id (to endpoint_id, or NULL: the subscribers); returns
 * fg_db_tx's result and the outcome. */
static int redeliver(const char *event_id, const char *endpoint_id, fg_redelivery_outcome_t *outcome, int *count)
{
    redeliver_t r = {event_id, endpoint_id, fg_now_ms(), {.body = FG_BUF_INIT}};
    int rc = fg_db_tx(db, redeliver_tx, &r);
    *outcome = r.result.outcome;
    *count = r.result.count;
    if (rc == 0) /* the answer lists what was made */
        ck_assert_ptr_nonnull(strstr(r.result.body.data, "\"object\":\"webhook_delivery\""));
    fg_buf_free(&r.result.body);
    return rc;
}

/* ---- reading the rows ---------------------------------------------------------------- */

static long long endpoint_col(const char *id, const char *column)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM webhook_endpoints WHERE public_id = ?", column);
    return fgt_db_int(sql, id, NULL);
}

/* 1 when the endpoint's column equals value (NULL: is NULL). */
static long long endpoint_is(const char *id, const char *column, const char *value)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM webhook_endpoints WHERE public_id = ? AND %s %s", column,
             value != NULL ? "= ?" : "IS NULL");
    return fgt_db_int(sql, id, value);
}

static long long deliveries(const char *endpoint_id, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
             "WHERE w.public_id = ? AND %s",
             where);
    return fgt_db_int(sql, endpoint_id, NULL);
}

static long long all_deliveries(void) { return fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries", NULL, NULL); }

/* ---- the tests ------------------------------------------------------------------------- */

START_TEST(create_stores_the_endpoint)
{
    fg_endpoint_input_t in;
    memset(&in, 0, sizeof(in));
    in.url = "https://hooks.example.com/fees";
    in.has_events = 1;
    fg_buf_puts(&in.events, "order.paid,order.expired");
    in.has_description = 1;
    in.description = "accounting";
    op_t o = {.in = &in};
    ck_assert_int_eq(run(create_tx, &ref, NULL, &o), 0);
    const char *id = o.row.public_id.data;
    ck_assert(fg_id_valid("whe_", id, strlen(id)));
    ck_assert_str_eq(o.row.status.data, "enabled");
    ck_assert_str_eq(o.row.events.data, "order.paid,order.expired");
    ck_assert_int_eq(o.row.created_at, o.now);
    ck_assert_int_eq(strncmp(o.secret, "whsec_", 6), 0);
    ck_assert_int_eq(endpoint_col(id, "merchant_id"), (long long)ref.id);
    ck_assert_int_eq(endpoint_is(id, "url", "https://hooks.example.com/fees"), 1);
    ck_assert_int_eq(endpoint_is(id, "events", "order.paid,order.expired"), 1);
    ck_assert_int_eq(endpoint_is(id, "description", "accounting"), 1);
    ck_assert_int_eq(endpoint_is(id, "status", "enabled"), 1);
    ck_assert_int_eq(endpoint_is(id, "secret", o.secret), 1);
    ck_assert_int_eq(endpoint_is(id, "previous_secret", NULL), 1);
    ck_assert_int_eq(endpoint_is(id, "deleted_at", NULL), 1);
    /* the JSON shows the secret only when given it */
    fg_buf_t b = FG_BUF_INIT;
    fg_endpoint_json(&b, &o.row, o.secret, o.now);
    ck_assert_ptr_nonnull(strstr(b.data, o.secret));
    fg_buf_reset(&b);
    fg_endpoint_json(&b, &o.row, NULL, o.now);
    ck_assert_ptr_null(strstr(b.data, "whsec_"));
    fg_buf_free(&b);
    fg_endpoint_row_free(&o.row);
    fg_endpoint_input_free(&in);
}
END_TEST

/* Parses body with fg_endpoint_input_parse; returns its result. */
static int parse(const char *body, int creating, fg_endpoint_input_t *in, fg_field_error_t *err)
{
    yajl_val root = fg_json_parse_object(body, strlen(body), err);
    ck_assert_ptr_nonnull(root);
    int rc = fg_endpoint_input_parse(root, creating, &cfg, in, err);
    /* the input borrows url and description from the tree: check them first */
    if (rc == 0 && in->url != NULL)
        ck_assert_str_eq(in->url, "http://127.0.0.1:9/hook");
    yajl_tree_free(root);
    return rc;
}

START_TEST(input_is_validated)
{
    static const struct {
        const char *body;
        int creating, allow_private, status;
        const char *code, *field;
    } REFUSED[] = {
        {"{\"events\":[\"order.paid\"]}", 1, 1, 400, "missing_field", "url"},
        {"{\"url\":\"http://127.0.0.1:9/hook\"}", 1, 1, 400, "missing_field", "events"},
        {"{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"order.lost\"]}", 1, 1, 422, "unknown_event_type",
         "events"},
        {"{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[]}", 1, 1, 422, "invalid_events", "events"},
        {"{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"*\"],\"status\":\"enabled\"}", 1, 1, 400, "unknown_field",
         "status"},
        {"{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"*\"]}", 1, 0, 422, "url_not_allowed", "url"},
        {"{\"url\":\"https://127.0.0.1/hook\"}", 0, 0, 422, "url_not_allowed", "url"},
        {"{\"status\":\"paused\"}", 0, 1, 422, "invalid_status", "status"},
        {"{\"description\":\"a\\nb\"}", 0, 1, 422, "invalid_characters", "description"},
    };
    fg_endpoint_input_t in;
    fg_field_error_t err;
    for (size_t i = 0; i < sizeof(REFUSED) / sizeof(REFUSED[0]); i++) {
        cfg.webhooks_allow_private = REFUSED[i].allow_private;
        ck_assert_int_eq(parse(REFUSED[i].body, REFUSED[i].creating, &in, &err), -1);
        ck_assert_int_eq(fg_field_status(&err), REFUSED[i].status);
        ck_assert_str_eq(err.code, REFUSED[i].code);
        ck_assert_str_eq(err.field, REFUSED[i].field);
        fg_endpoint_input_free(&in);
    }
    cfg.webhooks_allow_private = 1;
    ck_assert_int_eq(parse("{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"order.paid\",\"order.expired\","
                           "\"order.paid\"]}",
                           1, &in, &err),
                     0);
    ck_assert_str_eq(in.events.data, "order.paid,order.expired"); /* once each, in the order given */
    ck_assert_int_eq(in.status, FG_ENDPOINT_STATUS_KEEP);
    fg_endpoint_input_free(&in);
    ck_assert_int_eq(parse("{\"events\":[\"order.paid\",\"*\"],\"description\":null,\"status\":\"disabled\"}", 0, &in,
                           &err),
                     0);
    ck_assert_str_eq(in.events.data, "*");
    ck_assert_int_eq(in.has_description, 1);
    ck_assert_ptr_null(in.description);
    ck_assert_int_eq(in.status, FG_ENDPOINT_STATUS_DISABLED);
    fg_endpoint_input_free(&in);
}
END_TEST

START_TEST(update_keeps_what_it_does_not_set)
{
    char id[FGT_ID_CAP];
    endpoint_create("order.paid", id, NULL);
    fg_endpoint_input_t in;
    memset(&in, 0, sizeof(in));
    in.has_description = 1;
    in.description = "renamed";
    op_t o = {.in = &in};
    ck_assert_int_eq(run(update_tx, &ref, id, &o), 0);
    ck_assert_str_eq(o.row.description.data, "renamed");
    ck_assert_int_eq(o.row.updated_at, o.now);
    ck_assert_int_eq(endpoint_is(id, "description", "renamed"), 1);
    ck_assert_int_eq(endpoint_is(id, "url", "https://hooks.example.com/feegate"), 1);
    ck_assert_int_eq(endpoint_is(id, "events", "order.paid"), 1);
    ck_assert_int_eq(endpoint_is(id, "status", "enabled"), 1);
    fg_endpoint_row_free(&o.row);
}
END_TEST

START_TEST(disable_parks_and_enable_resumes)
{
    char id[FGT_ID_CAP], evt[FGT_ID_CAP];
    fg_redelivery_outcome_t outcome;
    int count;
    endpoint_create("*", id, NULL);
    event_create("order.paid", evt);
    ck_assert_int_eq(redeliver(evt, id, &outcome, &count), 0); /* a pending delivery */
    fgt_db_exec("UPDATE webhook_endpoints SET failing_since = 5 WHERE public_id = ?", id);

    op_t o = {.enabled = 0};
    ck_assert_int_eq(run(set_enabled_tx, &ref, id, &o), 0);
    ck_assert_str_eq(o.row.status.data, "disabled");
    ck_assert_int_eq(endpoint_is(id, "status", "disabled"), 1);
    ck_assert_int_eq(endpoint_is(id, "disabled_reason", "merchant"), 1);
    ck_assert_int_eq(endpoint_col(id, "failing_since"), 5);
    ck_assert_int_eq(deliveries(id, "d.status = 'pending' AND d.next_attempt_at IS NULL"), 1); /* parked */
    fg_endpoint_row_free(&o.row);

    op_t again = {.enabled = 1};
    ck_assert_int_eq(run(set_enabled_tx, &ref, id, &again), 0);
    ck_assert_str_eq(again.row.status.data, "enabled");
    ck_assert_int_eq(endpoint_is(id, "status", "enabled"), 1);
    ck_assert_int_eq(endpoint_is(id, "disabled_reason", NULL), 1);
    ck_assert_int_eq(endpoint_is(id, "failing_since", NULL), 1); /* the failure clock starts afresh */
    char due[64];
    snprintf(due, sizeof(due), "d.next_attempt_at = %lld", (long long)again.now);
    ck_assert_int_eq(deliveries(id, due), 1); /* due now */
    fg_endpoint_row_free(&again.row);
}
END_TEST

START_TEST(rotation_keeps_the_previous_secret)
{
    char id[FGT_ID_CAP], first[FG_WEBHOOK_SECRET_CAP];
    endpoint_create("*", id, first);
    op_t o = {0};
    ck_assert_int_eq(run(rotate_tx, &ref, id, &o), 0);
    ck_assert_str_ne(o.secret, first);
    ck_assert_int_eq(endpoint_is(id, "secret", o.secret), 1);
    ck_assert_int_eq(endpoint_is(id, "previous_secret", first), 1);
    ck_assert_int_eq(endpoint_col(id, "previous_secret_expires_at"), o.now + FG_WEBHOOK_SECRET_OVERLAP_MS);
    ck_assert_int_eq(o.row.previous_secret_expires_at, o.now + FG_WEBHOOK_SECRET_OVERLAP_MS);
    fg_endpoint_row_free(&o.row);
}
END_TEST

START_TEST(delete_fails_pending_deliveries)
{
    char id[FGT_ID_CAP], evt[FGT_ID_CAP];
    fg_redelivery_outcome_t outcome;
    int count;
    endpoint_create("order.paid", id, NULL);
    event_create("order.paid", evt);
    ck_assert_int_eq(redeliver(evt, id, &outcome, &count), 0);
    op_t o = {0};
    ck_assert_int_eq(run(delete_tx, &ref, id, &o), 0);
    ck_assert_str_eq(o.row.public_id.data, id);
    ck_assert_int_eq(endpoint_col(id, "deleted_at"), o.now);
    ck_assert_int_eq(endpoint_is(id, "status", "disabled"), 1);
    ck_assert_int_eq(deliveries(id, "d.status = 'failed' AND d.last_error = 'endpoint deleted'"), 1);
    ck_assert_int_eq(deliveries(id, "d.status = 'pending'"), 0);
    ck_assert_uint_eq(o.deliveries_failed, 1); /* what the API counts on /metrics */
    fg_buf_t b = FG_BUF_INIT;
    fg_endpoint_deleted_json(&b, &o.row);
    ck_assert_ptr_nonnull(strstr(b.data, "\"deleted\":true"));
    fg_buf_free(&b);
    fg_endpoint_row_free(&o.row);

    /* gone for every operation */
    fg_endpoint_row_t r;
    fg_endpoint_row_init(&r);
    ck_assert_int_eq(fg_endpoint_get(db, &ref, id, strlen(id), &r), FG_ENOTFOUND);
    fg_db_end(db);
    fg_endpoint_row_free(&r);
    op_t gone = {0};
    ck_assert_int_eq(run(delete_tx, &ref, id, &gone), FG_ENOTFOUND);
    fg_endpoint_row_free(&gone.row);
    ck_assert_int_eq(redeliver(evt, id, &outcome, &count), FG_ENOTFOUND);
    ck_assert_int_eq(outcome, FG_REDELIVERY_NO_ENDPOINT);
}
END_TEST

START_TEST(redelivery_writes_one_delivery)
{
    char id[FGT_ID_CAP], evt[FGT_ID_CAP];
    fg_redelivery_outcome_t outcome;
    int count;
    endpoint_create("order.paid", id, NULL);
    event_create("order.paid", evt);
    long long before = all_deliveries();
    ck_assert_int_eq(redeliver(evt, id, &outcome, &count), 0);
    ck_assert_int_eq(outcome, FG_REDELIVERY_MADE);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(all_deliveries(), before + 1);
    ck_assert_int_eq(deliveries(id, "d.redelivery = 1 AND d.status = 'pending' AND d.attempts = 0"), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                                "JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE e.public_id = ? "
                                "AND w.public_id = ? AND d.redelivery = 1 AND d.status = 'pending'",
                                evt, id),
                     1);
    /* to the subscribers this time: the next number */
    ck_assert_int_eq(redeliver(evt, NULL, &outcome, &count), 0);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(deliveries(id, "d.redelivery = 2"), 1);
    ck_assert_int_eq(all_deliveries(), before + 2);

    /* the endpoint's deliveries, newest first */
    fg_page_t page = {FG_PAGE_LIMIT_DEFAULT, 0};
    fg_delivery_status_t pending = FG_DELIVERY_PENDING;
    fg_buf_t b = FG_BUF_INIT;
    ck_assert_int_eq(fg_delivery_list(db, &ref, id, strlen(id), &pending, &page, &b), 0);
    fg_db_end(db);
    ck_assert_ptr_nonnull(strstr(b.data, "\"redelivery\":2"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"redelivery\":1"));
    ck_assert(strstr(b.data, "\"redelivery\":2") < strstr(b.data, "\"redelivery\":1"));
    fg_buf_free(&b);
}
END_TEST

START_TEST(redelivery_refusals)
{
    char on[FGT_ID_CAP], off[FGT_ID_CAP], evt[FGT_ID_CAP], unheard[FGT_ID_CAP];
    fg_redelivery_outcome_t outcome;
    int count;
    endpoint_create("order.paid", on, NULL);
    endpoint_create("*", off, NULL);
    op_t o = {.enabled = 0};
    ck_assert_int_eq(run(set_enabled_tx, &ref, off, &o), 0);
    fg_endpoint_row_free(&o.row);
    event_create("order.paid", evt);
    event_create("reconciliation.completed", unheard);
    long long before = all_deliveries();

    ck_assert_int_eq(redeliver("evt_01J0000000000000000000000Z", NULL, &outcome, &count), FG_ENOTFOUND);
    ck_assert_int_eq(outcome, FG_REDELIVERY_NO_EVENT);
    ck_assert_int_eq(redeliver("ord_1", NULL, &outcome, &count), FG_ENOTFOUND);
    ck_assert_int_eq(outcome, FG_REDELIVERY_NO_EVENT);
    ck_assert_int_eq(redeliver(evt, "whe_01J0000000000000000000000Z", &outcome, &count), FG_ENOTFOUND);
    ck_assert_int_eq(outcome, FG_REDELIVERY_NO_ENDPOINT);
    ck_assert_int_eq(redeliver(evt, off, &outcome, &count), FG_ESTATE);
    ck_assert_int_eq(outcome, FG_REDELIVERY_ENDPOINT_DISABLED);
    /* the enabled endpoint does not subscribe to it, the one that would is disabled */
    ck_assert_int_eq(redeliver(unheard, NULL, &outcome, &count), FG_ENOTFOUND);
    ck_assert_int_eq(outcome, FG_REDELIVERY_NO_SUBSCRIBER);
    ck_assert_int_eq(all_deliveries(), before);
    /* named, an enabled endpoint takes any event */
    ck_assert_int_eq(redeliver(unheard, on, &outcome, &count), 0);
    ck_assert_int_eq(all_deliveries(), before + 1);
}
END_TEST

START_TEST(another_merchants_objects_do_not_exist)
{
    char id[FGT_ID_CAP], evt[FGT_ID_CAP];
    endpoint_create("*", id, NULL);
    event_create("order.paid", evt);
    long long updated = endpoint_col(id, "updated_at");
    fg_endpoint_input_t in;
    memset(&in, 0, sizeof(in));
    in.url = "https://elsewhere.example.com/";
    static const fg_db_tx_fn WRITES[] = {update_tx, set_enabled_tx, rotate_tx, delete_tx};
    for (size_t i = 0; i < sizeof(WRITES) / sizeof(WRITES[0]); i++) {
        op_t o = {.in = &in};
        ck_assert_int_eq(run(WRITES[i], &other_ref, id, &o), FG_ENOTFOUND);
        fg_endpoint_row_free(&o.row);
        op_t bad = {.in = &in};
        ck_assert_int_eq(run(WRITES[i], &ref, "whe_nope", &bad), FG_ENOTFOUND);
        fg_endpoint_row_free(&bad.row);
    }
    ck_assert_int_eq(endpoint_col(id, "updated_at"), updated);
    ck_assert_int_eq(endpoint_is(id, "url", "https://hooks.example.com/feegate"), 1);

    fg_endpoint_row_t r;
    fg_endpoint_row_init(&r);
    ck_assert_int_eq(fg_endpoint_get(db, &other_ref, id, strlen(id), &r), FG_ENOTFOUND);
    ck_assert_int_eq(fg_endpoint_get(db, &ref, id, strlen(id), &r), 0);
    ck_assert_str_eq(r.public_id.data, id);
    fg_endpoint_row_free(&r);
    fg_event_row_t e;
    fg_event_row_init(&e);
    ck_assert_int_eq(fg_event_get(db, &other_ref, evt, strlen(evt), &e), FG_ENOTFOUND);
    ck_assert_int_eq(fg_event_get(db, &ref, evt, strlen(evt), &e), 0);
    ck_assert_str_eq(e.type.data, "order.paid");
    fg_event_row_free(&e);
    fg_page_t page = {FG_PAGE_LIMIT_DEFAULT, 0};
    fg_buf_t b = FG_BUF_INIT;
    ck_assert_int_eq(fg_delivery_list(db, &other_ref, id, strlen(id), NULL, &page, &b), FG_ENOTFOUND);
    fg_buf_reset(&b);
    ck_assert_int_eq(fg_endpoint_list(db, &other_ref, &page, fg_now_ms(), &b), 0);
    ck_assert_ptr_null(strstr(b.data, id));
    fg_buf_reset(&b);
    ck_assert_int_eq(fg_endpoint_list(db, &ref, &page, fg_now_ms(), &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, id));
    fg_buf_free(&b);
    fg_db_end(db);
}
END_TEST

START_TEST(event_list_refuses_a_bad_filter)
{
    char evt[FGT_ID_CAP];
    event_create("order.paid", evt);
    fg_page_t page = {FG_PAGE_LIMIT_DEFAULT, 0};
    fg_buf_t b = FG_BUF_INIT;
    fg_event_filter_t unknown_type = {"order.lost", 10, NULL, 0};
    ck_assert_int_eq(fg_event_list(db, &ref, &unknown_type, &page, &b), FG_EINVALID);
    fg_event_filter_t not_yours = {NULL, 0, evt, strlen(evt)};
    ck_assert_int_eq(fg_event_list(db, &other_ref, &not_yours, &page, &b), FG_ENOTFOUND);
    fg_event_filter_t after_mine = {"order.paid", 10, evt, strlen(evt)};
    ck_assert_int_eq(fg_event_list(db, &ref, &after_mine, &page, &b), 0);
    ck_assert_ptr_null(strstr(b.data, evt)); /* after it: not it */
    fg_buf_free(&b);
    fg_db_end(db);
}
END_TEST

/* The ids of a list page's items into ids (at most cap); returns how many,
 * *more whether next_cursor is set. */
static int page_ids(const fg_buf_t *b, char ids[][FGT_ID_CAP], int cap, int *more)
{
    char err[128];
    yajl_val root = yajl_tree_parse(b->data, err, sizeof(err));
    ck_assert_ptr_nonnull(root);
    const char *data_path[] = {"data", NULL}, *cursor_path[] = {"next_cursor", NULL}, *id_path[] = {"id", NULL};
    yajl_val data = yajl_tree_get(root, data_path, yajl_t_array);
    ck_assert_ptr_nonnull(data);
    int n = (int)data->u.array.len;
    ck_assert_int_le(n, cap);
    for (int i = 0; i < n; i++)
        snprintf(ids[i], FGT_ID_CAP, "%s",
                 YAJL_GET_STRING(yajl_tree_get(data->u.array.values[i], id_path, yajl_t_string)));
    *more = YAJL_IS_STRING(yajl_tree_get(root, cursor_path, yajl_t_any));
    yajl_tree_free(root);
    return n;
}

/* One page of fg_event_list: as page_ids. */
static int event_page(const char *type, const char *after, int limit, char ids[][FGT_ID_CAP], int cap, int *more)
{
    fg_page_t page = {limit, 0};
    fg_event_filter_t f = {type, type != NULL ? strlen(type) : 0, after, after != NULL ? strlen(after) : 0};
    fg_buf_t b = FG_BUF_INIT;
    ck_assert_int_eq(fg_event_list(db, &ref, &f, &page, &b), 0);
    fg_db_end(db);
    int n = page_ids(&b, ids, cap, more);
    fg_buf_free(&b);
    return n;
}

/* 10,010 events of ref's, numbered; public ids tag + their five-digit
 * number (valid ids: a fresh id's first 21 of 26 characters, then the
 * digits); every 2,000th an order.cancelled, the rest payment.succeeded. */
enum { BULK_TAG_CAP = 4 + 21 + 1 };

static void bulk_events(char tag[BULK_TAG_CAP])
{
    char sql[512], id[FGT_ID_CAP];
    ck_assert_int_gt(fg_id_new("evt_", id, sizeof(id)), 0);
    snprintf(tag, BULK_TAG_CAP, "%.*s", BULK_TAG_CAP - 1, id);
    snprintf(sql, sizeof(sql),
             "INSERT INTO events (public_id, merchant_id, type, order_id, payload, created_at) "
             "SELECT CONCAT(?, LPAD(seq, 5, '0')), %llu, IF(seq MOD 2000 = 0, 'order.cancelled', "
             "'payment.succeeded'), NULL, '{\"id\":\"ord_test\"}', 1000 FROM seq_1_to_10010 ORDER BY seq",
             (unsigned long long)ref.id);
    fgt_db_exec(sql, tag);
    int rc;
    while ((rc = fg_changes_pending(db)) > 0)
        ck_assert_int_ge(fg_changes_sequence(db, 0), 0);
    ck_assert_int_eq(rc, 0);
}

/* A type the merchant has seldom is found through its index, one it has
 * often (10,000 or more) by reading in seq order (events.c): both page in
 * seq order, a type's events only.  10,010 events, every 2,000th a
 * cancellation. */
START_TEST(event_list_by_type_pages_in_seq_order)
{
    char tag[BULK_TAG_CAP], ids[8][FGT_ID_CAP], want[FGT_ID_CAP];
    int more = -1;
    bulk_events(tag);

    /* the seldom type, two to a page: 2000, 4000 | 6000, 8000 | 10000 */
    for (int p = 0, at = 2000; p < 3; p++) {
        char after[FGT_ID_CAP];
        if (p > 0)
            snprintf(after, sizeof(after), "%s%05d", tag, at - 2000);
        int n = event_page("order.cancelled", p > 0 ? after : NULL, 2, ids, 8, &more);
        ck_assert_int_eq(n, p < 2 ? 2 : 1);
        ck_assert_int_eq(more, p < 2);
        for (int i = 0; i < n; i++, at += 2000) {
            snprintf(want, sizeof(want), "%s%05d", tag, at);
            ck_assert_str_eq(ids[i], want);
        }
    }
    /* the frequent type: 1, 2, 3, then after 1999 it skips 2000 */
    ck_assert_int_eq(event_page("payment.succeeded", NULL, 3, ids, 8, &more), 3);
    ck_assert_int_eq(more, 1);
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof(want), "%s%05d", tag, i + 1);
        ck_assert_str_eq(ids[i], want);
    }
    char after[FGT_ID_CAP];
    snprintf(after, sizeof(after), "%s01999", tag);
    ck_assert_int_eq(event_page("payment.succeeded", after, 2, ids, 8, &more), 2);
    snprintf(want, sizeof(want), "%s02001", tag);
    ck_assert_str_eq(ids[0], want);
    snprintf(want, sizeof(want), "%s02002", tag);
    ck_assert_str_eq(ids[1], want);
    /* and no type: every event */
    ck_assert_int_eq(event_page(NULL, after, 2, ids, 8, &more), 2);
    snprintf(want, sizeof(want), "%s02000", tag);
    ck_assert_str_eq(ids[0], want);
}
END_TEST

/* One page of fg_delivery_list of endpoint id: as page_ids. */
static int delivery_page(const char *id, const fg_delivery_status_t *status, int64_t cursor, int limit,
                         char ids[][FGT_ID_CAP], int cap, int *more)
{
    fg_page_t page = {limit, cursor};
    fg_buf_t b = FG_BUF_INIT;
    ck_assert_int_eq(fg_delivery_list(db, &ref, id, strlen(id), status, &page, &b), 0);
    fg_db_end(db);
    int n = page_ids(&b, ids, cap, more);
    fg_buf_free(&b);
    return n;
}

/* The delivery of event tag + number n, made by delivery_list_by_status_pages_newest_first. */
static void delivery_id(char *out, const char *tag, int n) { snprintf(out, FGT_ID_CAP, "whd_%s%05d", tag + 4, n); }

static int64_t delivery_row(const char *tag, int n)
{
    char id[FGT_ID_CAP];
    delivery_id(id, tag, n);
    return fgt_db_int("SELECT id FROM webhook_deliveries WHERE public_id = ?", id, NULL);
}

/* A status few deliveries have (failed, of every endpoint) is found through
 * its index, a frequent one (10,000 or more delivered) by reading the
 * endpoint's newest first (events.c): both page newest first, the status's
 * deliveries only. */
START_TEST(delivery_list_by_status_pages_newest_first)
{
    char tag[BULK_TAG_CAP], endpoint[FGT_ID_CAP], ids[8][FGT_ID_CAP], want[FGT_ID_CAP];
    int more = -1;
    endpoint_create("*", endpoint, NULL);
    bulk_events(tag);
    char sql[640];
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_deliveries (public_id, endpoint_id, event_id, status, attempts, event_created_at, "
             "created_at, completed_at) SELECT CONCAT('whd_', SUBSTRING(e.public_id, 5)), w.id, e.id, "
             "IF(e.type = 'order.cancelled', 'failed', 'delivered'), 1, e.created_at, 1000, 1000 FROM events e "
             "JOIN webhook_endpoints w ON w.public_id = '%s' WHERE e.public_id LIKE CONCAT(?, '%%') ORDER BY e.id",
             endpoint);
    fgt_db_exec(sql, tag);
    ck_assert_int_ge(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries WHERE status = ?", "delivered", NULL), 10000);
    ck_assert_int_lt(fgt_db_int("SELECT COUNT(*) FROM webhook_deliveries WHERE status = ?", "failed", NULL), 10000);

    /* failed, two to a page: 10000, 8000 | 6000, 4000 | 2000 */
    fg_delivery_status_t failed = FG_DELIVERY_FAILED, delivered = FG_DELIVERY_DELIVERED;
    int64_t cursor = 0;
    for (int p = 0, at = 10000; p < 3; p++) {
        int n = delivery_page(endpoint, &failed, cursor, 2, ids, 8, &more);
        ck_assert_int_eq(n, p < 2 ? 2 : 1);
        ck_assert_int_eq(more, p < 2);
        for (int i = 0; i < n; i++, at -= 2000) {
            delivery_id(want, tag, at);
            ck_assert_str_eq(ids[i], want);
        }
        cursor = delivery_row(tag, at + 2000);
    }
    /* delivered: 10010, 10009, 10008; below 8001: 7999 (8000 failed) */
    ck_assert_int_eq(delivery_page(endpoint, &delivered, 0, 3, ids, 8, &more), 3);
    ck_assert_int_eq(more, 1);
    for (int i = 0; i < 3; i++) {
        delivery_id(want, tag, 10010 - i);
        ck_assert_str_eq(ids[i], want);
    }
    ck_assert_int_eq(delivery_page(endpoint, &delivered, delivery_row(tag, 8001), 1, ids, 8, &more), 1);
    delivery_id(want, tag, 7999);
    ck_assert_str_eq(ids[0], want);
    /* any status: 8000 itself */
    ck_assert_int_eq(delivery_page(endpoint, NULL, delivery_row(tag, 8001), 1, ids, 8, &more), 1);
    delivery_id(want, tag, 8000);
    ck_assert_str_eq(ids[0], want);
}
END_TEST

static Suite *domain_webhooks_suite(void)
{
    Suite *s = suite_create("domain_webhooks");
    TCase *tc = fgt_tcase(s, "endpoints", setup, teardown);
    tcase_add_test(tc, create_stores_the_endpoint);
    tcase_add_test(tc, input_is_validated);
    tcase_add_test(tc, update_keeps_what_it_does_not_set);
    tcase_add_test(tc, disable_parks_and_enable_resumes);
    tcase_add_test(tc, rotation_keeps_the_previous_secret);
    tcase_add_test(tc, delete_fails_pending_deliveries);
    tcase_add_test(tc, another_merchants_objects_do_not_exist);
    tc = fgt_tcase(s, "events", setup, teardown);
    tcase_add_test(tc, redelivery_writes_one_delivery);
    tcase_add_test(tc, redelivery_refusals);
    tcase_add_test(tc, event_list_refuses_a_bad_filter);
    tcase_add_test(tc, event_list_by_type_pages_in_seq_order);
    tcase_add_test(tc, delivery_list_by_status_pages_newest_first);
    return s;
}

int main(void) { return fgt_run(domain_webhooks_suite()); }
