/*
 * test_domain_orders.c - the order operations without HTTP: fg_order_create,
 * fg_order_create_or_existing (a batch's item), fg_order_cancel and
 * fg_order_list run in transactions of their own against the private
 * MariaDB, as services/api/orders.c runs them.  Every case ends with
 * `feegate ledger check`.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "core/text.h"
#include "db/db.h"
#include "db/group.h"
#include "harness.h"
#include "orders/orders.h"
#include "orders/orders_internal.h"
#include "payments/payments_internal.h"

static fg_config_t cfg;
static fg_db_t *db;
static fgt_merchant_t mer;
static fg_merchant_ref_t merchant;

static void setup(void)
{
    fgt_config_load(&cfg);
    db = fgt_db_open(&cfg);
    fgt_merchant_create("Domain orders school", mer.id, mer.key);
    long long row = fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", mer.id, NULL);
    ck_assert_int_gt(row, 0);
    merchant = (fg_merchant_ref_t){.id = (uint64_t)row, .public_id = mer.id};
}

static void teardown(void)
{
    fg_db_close(db);
    fg_config_free(&cfg);
}

/* ---- helpers ------------------------------------------------------------------ */

/* A valid input as fg_order_input_parse would give it: ref, fee_type, amount
 * VND, nothing else. */
static fg_order_input_t input_of(const char *ref, const char *fee_type, long long amount)
{
    fg_order_input_t in;
    memset(&in, 0, sizeof(in));
    in.merchant_ref = ref;
    in.fee_type = fee_type;
    in.amount = amount;
    memcpy(in.currency, "VND", 4);
    return in;
}

typedef struct {
    const fg_order_input_t *in;
    int64_t now;
    fg_order_row_t *out;
    int created;
    fg_buf_t *existing;
} create_t;

static int create_tx(fg_db_t *d, void *arg)
{
    create_t *c = arg;
    return fg_order_create(d, &merchant, c->in, c->now, c->out);
}

static int create_or_existing_tx(fg_db_t *d, void *arg)
{
    create_t *c = arg;
    return fg_order_create_or_existing(d, &merchant, c->in, c->now, c->out, &c->created, c->existing);
}

/* fg_order_create in a transaction of its own; the new order into out. */
static int create(const fg_order_input_t *in, int64_t now, fg_order_row_t *out)
{
    create_t c = {.in = in, .now = now, .out = out};
    return fg_db_tx(db, create_tx, &c);
}

/* Creates an open order (must work); its public id into id (FGT_ID_CAP). */
static void create_open(const char *ref, const char *fee_type, long long amount, char *id)
{
    fg_order_input_t in = input_of(ref, fee_type, amount);
    fg_order_row_t row;
    fg_order_row_init(&row);
    ck_assert_int_eq(create(&in, fg_now_ms(), &row), 0);
    snprintf(id, FGT_ID_CAP, "%.*s", (int)row.public_id.len, row.public_id.data);
    fg_order_row_free(&row);
}

typedef struct {
    const char *id;
    int64_t now;
    fg_order_row_t *out;
} cancel_t;

static int cancel_tx(fg_db_t *d, void *arg)
{
    cancel_t *c = arg;
    return fg_order_cancel(d, &cfg, &merchant, c->id, strlen(c->id), c->now, c->out);
}

/* fg_order_cancel at now in a transaction of its own (rolled back unless 0). */
static int cancel_at(const char *id, int64_t now, fg_order_row_t *out)
{
    cancel_t c = {id, now, out};
    return fg_db_tx(db, cancel_tx, &c);
}

static long long orders_with_ref(const char *ref)
{
    return fgt_db_int("SELECT COUNT(*) FROM orders o JOIN merchants m ON m.id = o.merchant_id "
                      "WHERE m.public_id = ? AND o.merchant_ref = ?",
                      mer.id, ref);
}

static long long events_of(const char *order_id, const char *type)
{
    return fgt_db_int("SELECT COUNT(*) FROM events e JOIN orders o ON o.id = e.order_id "
                      "WHERE o.public_id = ? AND e.type = ?",
                      order_id, type);
}

static long long merchant_events(void)
{
    return fgt_db_int("SELECT COUNT(*) FROM events e JOIN merchants m ON m.id = e.merchant_id WHERE m.public_id = ?",
                      mer.id, NULL);
}

static void expect_stored_status(const char *order_id, const char *status)
{
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ? AND status = ?", order_id, status), 1);
}

/* ---- create ------------------------------------------------------------------- */

START_TEST(create_writes_an_open_order)
{
    const char *ref = fgt_unique("C");
    fg_order_input_t in = input_of(ref, "tuition", 1500000);
    fg_order_row_t row;
    fg_order_row_init(&row);
    int64_t now = fg_now_ms();
    ck_assert_int_eq(create(&in, now, &row), 0);
    ck_assert_int_gt(row.id, 0);
    ck_assert_int_eq(strncmp(row.public_id.data, "ord_", 4), 0);
    ck_assert_int_eq(row.status, FG_ORDER_OPEN);
    ck_assert_int_eq(row.created_at, now);
    ck_assert_uint_eq(row.code.len, FG_ORDER_CODE_LEN);
    expect_stored_status(row.public_id.data, "open");
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM orders WHERE public_id = ? AND merchant_ref = ?",
                                row.public_id.data, ref),
                     1500000);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ? AND code = ? AND fee_type = "
                                "'tuition' AND currency = 'VND' AND amount_paid = 0",
                                row.public_id.data, row.code.data),
                     1);
    /* and reads back as created */
    fg_order_row_t read;
    fg_order_row_init(&read);
    ck_assert_int_eq(fg_order_get(db, &merchant, row.public_id.data, row.public_id.len, &read), 0);
    fg_db_end(db);
    ck_assert_int_eq(read.id, row.id);
    ck_assert_str_eq(read.merchant_ref.data, ref);
    fg_order_row_free(&read);
    fg_order_row_free(&row);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* A create in a deferring transaction (a group's, db/group.c) writes the
 * order's change-feed row and owed-sum row itself, set-wise at COMMIT
 * (derived_rows = 1); one created alone leaves them to the triggers
 * (schema/0032).  Both ways give the same rows: the change's JSON equals the
 * trigger's JSON_ARRAY of the stored row, value for value, for text that
 * needs escaping, a metadata object, NULLs and a due time whose day in
 * Vietnam is not its UTC day. */
static void rich_input(fg_order_input_t *in, const char *ref, int with_details)
{
    *in = input_of(ref, "tuition", 2750000);
    if (!with_details)
        return;
    in->category = "hoc-phi";
    in->allow_partial = 1;
    in->payer_name = "Nguyễn \"Tý\" \\ Anh";
    in->payer_ref = "HS-07\t/08";
    in->description = "Học phí\nkỳ 2 — </script> ☃";
    in->has_due_at = 1;
    in->due_at_ms = 1767297600000LL; /* 2026-01-01T20:00Z: 2 January in Vietnam (day 20455), 1 January in UTC */
    in->has_expires_at = 1;
    in->expires_at_ms = 1799999999999LL;
    fg_buf_puts(&in->metadata_json, "{\"class\":\"5A\",\"note\":\"a \\\"q\\\" \\u00e9\"}");
}

static int deferred_create_tx(fg_db_t *d, void *arg)
{
    create_t *c = arg;
    ck_assert_int_eq(fg_db_deferring(d), 1);
    return fg_order_create(d, &merchant, c->in, c->now, c->out);
}

START_TEST(a_grouped_create_writes_the_rows_the_triggers_write)
{
    static const char SQL_SAME_AS_TRIGGER[] =
        "SELECT COUNT(*) FROM change_log c JOIN orders o ON c.entity = 'order' AND c.entity_id = o.id "
        "WHERE o.public_id = ? AND o.derived_rows = ? AND c.op = 'insert' AND c.object_id = o.public_id "
        "AND c.merchant_id = o.merchant_id AND c.parent_id IS NULL AND c.at BETWEEN o.created_at - 60000 AND "
        "o.created_at + 60000 AND JSON_EQUALS(c.data, JSON_ARRAY(o.merchant_ref, o.fee_type, o.category, o.amount, "
        "o.currency, o.amount_paid, o.amount_refunded, o.allow_partial <> 0, o.status, o.payer_name, o.payer_ref, "
        "o.description, o.due_at, o.expires_at, JSON_QUERY(COALESCE(NULLIF(o.metadata, ''), '{}'), '$'), o.code, "
        "o.created_at, o.updated_at))";
    static const char SQL_OWED_AS_TRIGGER[] =
        "SELECT COUNT(*) FROM owed_changes w JOIN orders o ON w.merchant_id = o.merchant_id AND w.fee_type = "
        "o.fee_type AND w.category = COALESCE(o.category, '') AND w.due_day = COALESCE(FLOOR((o.due_at + "
        "25200000) / 86400000), -2147483648) AND w.orders = 1 AND w.owed = o.amount WHERE o.public_id = ? AND ? "
        "IS NOT NULL";
    for (int details = 0; details < 2; details++) {
        char ids[2][FGT_ID_CAP];
        for (int grouped = 0; grouped < 2; grouped++) {
            fg_order_input_t in;
            rich_input(&in, fgt_unique(grouped ? "G" : "A"), details);
            fg_order_row_t row;
            fg_order_row_init(&row);
            create_t c = {.in = &in, .now = fg_now_ms(), .out = &row};
            ck_assert_int_eq(grouped ? fg_db_tx_deferring(db, deferred_create_tx, &c) : create(&in, c.now, &row), 0);
            /* queued, the order's id was pending (a negative index into the queue) */
            ck_assert(grouped ? row.id < 0 : row.id > 0);
            snprintf(ids[grouped], FGT_ID_CAP, "%s", row.public_id.data);
            fg_order_row_free(&row);
            fg_buf_free(&in.metadata_json);
            ck_assert_int_eq(fgt_db_int(SQL_SAME_AS_TRIGGER, ids[grouped], grouped ? "1" : "0"), 1);
            ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM change_log c JOIN orders o ON c.entity = 'order' "
                                        "AND c.entity_id = o.id WHERE o.public_id = ?",
                                        ids[grouped], NULL),
                             1);
            /* the alone one's row, then the grouped one's alike (the merchant is this test's) */
            ck_assert_int_eq(fgt_db_int(SQL_OWED_AS_TRIGGER, ids[grouped], "x"), grouped + 1);
        }
        /* the Vietnamese day, not UTC's */
        if (details)
            ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM owed_changes w JOIN orders o ON w.merchant_id = "
                                        "o.merchant_id AND w.due_day = 20455 AND w.category = 'hoc-phi' "
                                        "WHERE o.public_id = ? AND ? IS NOT NULL",
                                        ids[1], "x"),
                             2);
    }
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

static int pass_tx(fg_db_t *d, void *arg)
{
    int numbered = 0;
    (void)arg;
    return fg_db_sequence_pass_in(d, 0, &numbered);
}

/* An event about no order, in the caller's transaction. */
static int event_tx(fg_db_t *d, void *arg)
{
    fg_buf_t object = FG_BUF_INIT;
    fg_buf_puts(&object, "{}");
    int rc = fg_event_insert(d, merchant.id, (const char *)arg, 0, &object, fg_now_ms());
    fg_buf_free(&object);
    return rc;
}

/* A change's place in the sequence: its seq, or -1 while it has none. */
static long long seq_of(const char *order_id)
{
    return fgt_db_int("SELECT COALESCE(MAX(c.seq), -1) FROM change_log c WHERE c.object_id = ? AND ? IS NOT NULL",
                      order_id, "x");
}

static long long last_seq(void)
{
    return fgt_db_int("SELECT last_seq FROM change_sequencer WHERE id = ? AND ? IS NOT NULL", "1", "x");
}

/* A deferring transaction numbers its change rows itself at COMMIT (db.h),
 * with the public ids the feed shows; one that finds a row still waiting for
 * its number (a write alone, its trigger's row) numbers that one first. */
START_TEST(a_deferring_create_numbers_its_rows_at_commit)
{
    ck_assert_int_eq(fg_db_tx(db, pass_tx, NULL), 0); /* nothing waits (no sequencer runs here) */
    char ids[3][FGT_ID_CAP];
    for (int i = 0; i < 3; i++) {
        fg_order_input_t in = input_of(fgt_unique("N"), "tuition", 1000 + i);
        fg_order_row_t row;
        fg_order_row_init(&row);
        create_t c = {.in = &in, .now = fg_now_ms(), .out = &row};
        /* the second alone: its trigger's row waits for the sequencer */
        ck_assert_int_eq(i == 1 ? create(&in, c.now, &row) : fg_db_tx_deferring(db, deferred_create_tx, &c), 0);
        snprintf(ids[i], FGT_ID_CAP, "%s", row.public_id.data);
        fg_order_row_free(&row);
        if (i == 0) /* numbered as it committed: the last number handed out */
            ck_assert_int_eq(seq_of(ids[0]), last_seq());
        if (i == 1)
            ck_assert_int_eq(seq_of(ids[1]), -1);
    }
    /* the third numbered the waiting row first, then its own */
    ck_assert_int_eq(seq_of(ids[1]), seq_of(ids[0]) + 1);
    ck_assert_int_eq(seq_of(ids[2]), seq_of(ids[1]) + 1);
    ck_assert_int_eq(seq_of(ids[2]), last_seq());
    /* an event too: queued, numbered at COMMIT; alone, left to the sequencer */
    static const char SQL_EVENT_SEQ[] = "SELECT COALESCE(MAX(e.seq), -1) FROM events e JOIN merchants m ON "
                                        "m.id = e.merchant_id WHERE m.public_id = ? AND e.type = ?";
    ck_assert_int_eq(fg_db_tx_deferring(db, event_tx, (void *)"test.numbered"), 0);
    ck_assert_int_eq(fgt_db_int(SQL_EVENT_SEQ, mer.id, "test.numbered"), seq_of(ids[2]) + 1);
    ck_assert_int_eq(fg_db_tx(db, event_tx, (void *)"test.alone"), 0);
    ck_assert_int_eq(fgt_db_int(SQL_EVENT_SEQ, mer.id, "test.alone"), -1);
    ck_assert_int_eq(fg_db_tx(db, pass_tx, NULL), 0);
    ck_assert_int_eq(fgt_db_int(SQL_EVENT_SEQ, mer.id, "test.alone"), seq_of(ids[2]) + 2);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM change_log WHERE object_id = ? AND merchant_public_id = ? "
                                    "AND parent_public_id IS NULL",
                                    ids[i], mer.id),
                         1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

typedef struct {
    const fg_order_input_t *in;
    int n;
} creates_t;

static int deferred_creates_tx(fg_db_t *d, void *arg)
{
    const creates_t *c = arg;
    int64_t now = fg_now_ms();
    int rc = 0;
    for (int i = 0; rc == 0 && i < c->n; i++) {
        fg_order_row_t row;
        fg_order_row_init(&row);
        rc = fg_order_create(d, &merchant, &c->in[i], now, &row);
        fg_order_row_free(&row);
    }
    return rc;
}

/* A group's orders of one key (merchant, fee type, category, due day) add
 * one owed row of their sums; another key gets a row of its own.  Every
 * order still gets its own change. */
START_TEST(a_groups_orders_of_one_key_add_one_owed_row)
{
    fg_order_input_t in[4];
    for (int i = 0; i < 4; i++) {
        in[i] = input_of(fgt_unique("K"), "tuition", 1000000 + i);
        in[i].category = i < 3 ? "hoc-phi" : "ban-tru";
    }
    creates_t c = {in, 4};
    ck_assert_int_eq(fg_db_tx_deferring(db, deferred_creates_tx, &c), 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM owed_changes w JOIN merchants m ON m.id = w.merchant_id "
                                "WHERE m.public_id = ? AND w.category = 'hoc-phi' AND w.fee_type = ? AND "
                                "w.due_day = -2147483648 AND w.orders = 3 AND w.owed = 3000003",
                                mer.id, "tuition"),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM owed_changes w JOIN merchants m ON m.id = w.merchant_id "
                                "WHERE m.public_id = ? AND w.category = 'ban-tru' AND w.fee_type = ? AND "
                                "w.orders = 1 AND w.owed = 1000003",
                                mer.id, "tuition"),
                     1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM owed_changes w JOIN merchants m ON m.id = w.merchant_id "
                                "WHERE m.public_id = ? AND ? IS NOT NULL",
                                mer.id, "x"),
                     2);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM change_log c JOIN merchants m ON m.id = c.merchant_id "
                                "WHERE m.public_id = ? AND c.entity = ?",
                                mer.id, "order"),
                     4);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(duplicate_merchant_ref_conflicts)
{
    const char *ref = fgt_unique("DUP");
    char first[FGT_ID_CAP];
    create_open(ref, "utility", 200000, first);
    long long events = merchant_events();
    fg_order_input_t in = input_of(ref, "procedure", 999);
    fg_order_row_t row;
    fg_order_row_init(&row);
    ck_assert_int_eq(create(&in, fg_now_ms(), &row), FG_ECONFLICT);
    fg_order_row_free(&row);
    /* nothing written: the first order as it was, alone with its ref */
    ck_assert_int_eq(orders_with_ref(ref), 1);
    ck_assert_int_eq(fgt_db_int("SELECT amount FROM orders WHERE public_id = ?", first, NULL), 200000);
    ck_assert_int_eq(merchant_events(), events);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(batch_item_names_the_existing_order)
{
    const char *ref = fgt_unique("B");
    fg_order_input_t in = input_of(ref, "utility", 75000);
    fg_order_row_t row;
    fg_buf_t existing = FG_BUF_INIT;
    fg_order_row_init(&row);
    create_t c = {.in = &in, .now = fg_now_ms(), .out = &row, .created = -1, .existing = &existing};
    ck_assert_int_eq(fg_db_tx(db, create_or_existing_tx, &c), 0);
    ck_assert_int_eq(c.created, 1);
    char first[FGT_ID_CAP];
    snprintf(first, sizeof(first), "%s", row.public_id.data);
    expect_stored_status(first, "open");
    /* the same merchant_ref again: no error, no row; the first order named */
    c.created = -1;
    ck_assert_int_eq(fg_db_tx(db, create_or_existing_tx, &c), 0);
    ck_assert_int_eq(c.created, 0);
    ck_assert_str_eq(existing.data, first);
    ck_assert_int_eq(orders_with_ref(ref), 1);
    fg_buf_free(&existing);
    fg_order_row_free(&row);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- cancel ------------------------------------------------------------------- */

START_TEST(cancel_open_order)
{
    char id[FGT_ID_CAP];
    create_open(fgt_unique("X"), "utility", 300000, id);
    fg_order_row_t row;
    fg_order_row_init(&row);
    int64_t now = fg_now_ms();
    ck_assert_int_eq(cancel_at(id, now, &row), 0);
    ck_assert_int_eq(row.status, FG_ORDER_CANCELLED);
    ck_assert_int_eq(row.updated_at, now);
    expect_stored_status(id, "cancelled");
    ck_assert_int_eq(events_of(id, "order.cancelled"), 1);
    /* the event carries the order's JSON as cancelled */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM events e JOIN orders o ON o.id = e.order_id WHERE "
                                "o.public_id = ? AND e.type = 'order.cancelled' AND "
                                "JSON_VALUE(e.payload, '$.status') = 'cancelled' AND JSON_VALUE(e.payload, '$.id') = ?",
                                id, id),
                     1);
    /* cancelling it again (as POST .../cancel answers 200 again): no change, no second event */
    ck_assert_int_eq(cancel_at(id, now + 1000, &row), 0);
    ck_assert_int_eq(row.status, FG_ORDER_CANCELLED);
    ck_assert_int_eq(row.updated_at, now);
    ck_assert_int_eq(events_of(id, "order.cancelled"), 1);
    fg_order_row_free(&row);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

typedef struct {
    const fg_inbound_t *in;
    const fg_notification_t *n;
    fg_ack_t outcome;
    const char *reason;
} apply_t;

static int apply_tx(fg_db_t *d, void *arg)
{
    apply_t *a = arg;
    return fg_webhook_apply_one(d, &cfg, a->in, fg_adapter_find("sandbox"), a->n, &a->outcome, &a->reason);
}

/* Pays order id in full through the money door: a pending sandbox payment
 * of its amount, then the provider's succeeded notification applied. */
static void pay_in_full(const char *id)
{
    fg_notification_t n;
    char pay[sizeof(n.payment_id)], sql[512], body[256];
    snprintf(pay, sizeof(pay), "pay_%s", fgt_unique("P"));
    /* pay is "pay_" + [A-Za-z0-9-] (fgt_unique): safe to write into the statement */
    snprintf(sql, sizeof(sql),
             "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, created_at, "
             "updated_at) SELECT '%s', id, merchant_id, 'sandbox', amount, 'VND', 'pending', 0, 0 FROM orders "
             "WHERE public_id = ?",
             pay);
    fgt_db_exec(sql, id);
    long long amount = fgt_db_int("SELECT amount FROM orders WHERE public_id = ?", id, NULL);
    const char *txn = fgt_unique("TX");
    snprintf(body, sizeof(body), "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"amount\":%lld}", pay, txn,
             amount);
    fg_inbound_t in = {.method = "POST", .body = body, .body_len = strlen(body)};
    memset(&n, 0, sizeof(n));
    snprintf(n.payment_id, sizeof(n.payment_id), "%s", pay);
    snprintf(n.provider_txn_id, sizeof(n.provider_txn_id), "%s", txn);
    snprintf(n.event_id, sizeof(n.event_id), "%s", txn);
    n.status = FG_NOTIFY_SUCCEEDED;
    n.amount = amount;
    apply_t a = {&in, &n, FG_ACK_ERROR, NULL};
    ck_assert_int_eq(fg_db_tx(db, apply_tx, &a), 0);
    ck_assert_int_eq(a.outcome, FG_ACK_APPLIED);
}

START_TEST(paid_order_is_not_cancellable)
{
    char id[FGT_ID_CAP];
    create_open(fgt_unique("P"), "tuition", 450000, id);
    pay_in_full(id);
    expect_stored_status(id, "paid");
    fg_order_row_t row;
    fg_order_row_init(&row);
    ck_assert_int_eq(cancel_at(id, fg_now_ms(), &row), FG_ESTATE);
    /* out holds the order as it is, for the answer to name its status */
    ck_assert_int_eq(row.status, FG_ORDER_PAID);
    ck_assert_int_eq(row.amount_paid, 450000);
    expect_stored_status(id, "paid");
    ck_assert_int_eq(events_of(id, "order.cancelled"), 0);
    fg_order_row_free(&row);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(expired_order_is_not_cancellable)
{
    /* expires in a minute; cancelled as of two minutes on: already expired */
    int64_t now = fg_now_ms();
    fg_order_input_t in = input_of(fgt_unique("E"), "utility", 10000);
    in.has_expires_at = 1;
    in.expires_at_ms = now + 60000;
    fg_order_row_t row;
    fg_order_row_init(&row);
    ck_assert_int_eq(create(&in, now, &row), 0);
    char id[FGT_ID_CAP];
    snprintf(id, sizeof(id), "%s", row.public_id.data);
    ck_assert_int_eq(cancel_at(id, now + 120000, &row), FG_ESTATE);
    ck_assert_int_eq(fg_order_effective_status(row.status, !row.expires_at_null, row.expires_at, now + 120000),
                     FG_ORDER_EXPIRED);
    expect_stored_status(id, "open");
    ck_assert_int_eq(events_of(id, "order.cancelled"), 0);
    fg_order_row_free(&row);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(unknown_order_is_not_found)
{
    char other_id[FGT_ID_CAP];
    create_open(fgt_unique("O"), "utility", 10000, other_id);
    fg_order_row_t row;
    fg_order_row_init(&row);
    ck_assert_int_eq(cancel_at("ord_01M0000000000000000000NONE", fg_now_ms(), &row), FG_ENOTFOUND);
    /* another merchant's order is not found either */
    fg_merchant_ref_t mine = merchant;
    fgt_merchant_t other;
    fgt_merchant_create("Domain orders other school", other.id, other.key);
    long long other_row = fgt_db_int("SELECT id FROM merchants WHERE public_id = ?", other.id, NULL);
    ck_assert_int_gt(other_row, 0);
    merchant = (fg_merchant_ref_t){.id = (uint64_t)other_row, .public_id = other.id};
    ck_assert_int_eq(cancel_at(other_id, fg_now_ms(), &row), FG_ENOTFOUND);
    ck_assert_int_eq(fg_order_get(db, &merchant, other_id, strlen(other_id), &row), FG_ENOTFOUND);
    fg_db_end(db);
    merchant = mine;
    expect_stored_status(other_id, "open");
    fg_order_row_free(&row);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- list --------------------------------------------------------------------- */

#define LIST_CAP 16

typedef struct {
    char ids[LIST_CAP][FGT_ID_CAP];
    int64_t last_id;
    int count;
} listed_t;

static void collect(const fg_order_row_t *r, void *arg)
{
    listed_t *l = arg;
    ck_assert_int_lt(l->count, LIST_CAP);
    snprintf(l->ids[l->count++], FGT_ID_CAP, "%s", r->public_id.data);
    l->last_id = r->id;
}

/* Lists one page and checks that it holds exactly want (NULL-terminated),
 * in that order; returns *more and the last row's id in *last_id. */
static int expect_list(const fg_order_query_t *q, const fg_page_t *page, int64_t now, const char *const *want,
                       int64_t *last_id)
{
    listed_t l;
    memset(&l, 0, sizeof(l));
    int more = -1;
    ck_assert_int_eq(fg_order_list(db, &merchant, q, page, now, collect, &l, &more), 0);
    fg_db_end(db);
    int n = 0;
    while (want[n] != NULL)
        n++;
    ck_assert_int_eq(l.count, n);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(l.ids[i], want[i]);
    if (last_id != NULL)
        *last_id = l.last_id;
    return more;
}

START_TEST(list_filters_by_status)
{
    char a[FGT_ID_CAP], b[FGT_ID_CAP], c[FGT_ID_CAP], e[FGT_ID_CAP];
    const char *ref_c = fgt_unique("L");
    create_open(fgt_unique("L"), "utility", 1000, a);
    create_open(fgt_unique("L"), "tuition", 2000, b);
    create_open(ref_c, "utility", 3000, c);
    int64_t now = fg_now_ms();
    fg_order_input_t in = input_of(fgt_unique("L"), "procedure", 4000);
    in.has_expires_at = 1;
    in.expires_at_ms = now + 60000;
    fg_order_row_t row;
    fg_order_row_init(&row);
    ck_assert_int_eq(create(&in, now, &row), 0);
    snprintf(e, sizeof(e), "%s", row.public_id.data);
    ck_assert_int_eq(cancel_at(b, fg_now_ms(), &row), 0);
    fg_order_row_free(&row);

    fg_page_t page = {.limit = FG_PAGE_LIMIT_DEFAULT, .cursor = 0};
    fg_order_query_t q;
    memset(&q, 0, sizeof(q));
    const char *all[] = {e, c, b, a, NULL};
    ck_assert_int_eq(expect_list(&q, &page, now, all, NULL), 0);

    q.has_status = 1;
    q.status = FG_ORDER_CANCELLED;
    const char *cancelled[] = {b, NULL};
    ck_assert_int_eq(expect_list(&q, &page, now, cancelled, NULL), 0);

    q.status = FG_ORDER_OPEN;
    const char *open[] = {e, c, a, NULL};
    ck_assert_int_eq(expect_list(&q, &page, now, open, NULL), 0);
    /* two minutes on, e is expired (before the sweeper writes it) */
    const char *open_later[] = {c, a, NULL}, *expired_later[] = {e, NULL};
    ck_assert_int_eq(expect_list(&q, &page, now + 120000, open_later, NULL), 0);
    q.status = FG_ORDER_EXPIRED;
    ck_assert_int_eq(expect_list(&q, &page, now + 120000, expired_later, NULL), 0);
    /* one the sweeper has marked expired and one it has not reached: both, newest first, a page at a time */
    char x[FGT_ID_CAP];
    in = input_of(fgt_unique("L"), "procedure", 5000);
    in.has_expires_at = 1;
    in.expires_at_ms = now + 60000;
    fg_order_row_init(&row);
    ck_assert_int_eq(create(&in, now, &row), 0);
    snprintf(x, sizeof(x), "%s", row.public_id.data);
    fg_order_row_free(&row);
    fgt_db_exec("UPDATE orders SET status = 'expired' WHERE public_id = ?", x);
    const char *both_expired[] = {x, e, NULL}, *none_expired[] = {NULL}, *px[] = {x, NULL}, *pe[] = {e, NULL};
    ck_assert_int_eq(expect_list(&q, &page, now + 120000, both_expired, NULL), 0);
    ck_assert_int_eq(expect_list(&q, &page, now, px, NULL), 0); /* e not yet past its time */
    fg_page_t one = {.limit = 1, .cursor = 0};
    int64_t at = 0;
    ck_assert_int_eq(expect_list(&q, &one, now + 120000, px, &at), 1);
    one.cursor = at;
    ck_assert_int_eq(expect_list(&q, &one, now + 120000, pe, &at), 0);
    q.has_fee_type = 1;
    q.fee_type = FG_FEE_UTILITY;
    ck_assert_int_eq(expect_list(&q, &page, now + 120000, none_expired, NULL), 0);
    q.has_fee_type = 0;
    q.status = FG_ORDER_OPEN; /* x is no longer open, whatever the time */
    ck_assert_int_eq(expect_list(&q, &page, now, open, NULL), 0);
    fgt_db_exec("UPDATE orders SET status = 'cancelled' WHERE public_id = ?", x); /* out of the lists below */

    /* with the other filters */
    q.status = FG_ORDER_OPEN;
    q.has_fee_type = 1;
    q.fee_type = FG_FEE_UTILITY;
    const char *open_utility[] = {c, a, NULL};
    ck_assert_int_eq(expect_list(&q, &page, now, open_utility, NULL), 0);
    q.merchant_ref = ref_c;
    const char *by_ref[] = {c, NULL};
    ck_assert_int_eq(expect_list(&q, &page, now, by_ref, NULL), 0);
    q.merchant_ref = NULL;
    q.has_fee_type = 0;
    q.has_created_from = 1;
    q.created_from = now + 3600000;
    const char *none[] = {NULL};
    ck_assert_int_eq(expect_list(&q, &page, now, none, NULL), 0);
    q.has_created_from = 0;

    /* pages of one, newest first, continuing after the last row's id */
    page.limit = 1;
    int64_t last = 0;
    const char *p1[] = {e, NULL}, *p2[] = {c, NULL}, *p3[] = {a, NULL};
    ck_assert_int_eq(expect_list(&q, &page, now, p1, &last), 1);
    page.cursor = last;
    ck_assert_int_eq(expect_list(&q, &page, now, p2, &last), 1);
    page.cursor = last;
    ck_assert_int_eq(expect_list(&q, &page, now, p3, &last), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

static Suite *domain_orders_suite(void)
{
    Suite *s = suite_create("domain_orders");
    TCase *tc = fgt_tcase(s, "orders", setup, teardown);
    tcase_add_test(tc, create_writes_an_open_order);
    tcase_add_test(tc, a_grouped_create_writes_the_rows_the_triggers_write);
    tcase_add_test(tc, a_groups_orders_of_one_key_add_one_owed_row);
    tcase_add_test(tc, a_deferring_create_numbers_its_rows_at_commit);
    tcase_add_test(tc, duplicate_merchant_ref_conflicts);
    tcase_add_test(tc, batch_item_names_the_existing_order);
    tcase_add_test(tc, cancel_open_order);
    tcase_add_test(tc, paid_order_is_not_cancellable);
    tcase_add_test(tc, expired_order_is_not_cancellable);
    tcase_add_test(tc, unknown_order_is_not_found);
    tcase_add_test(tc, list_filters_by_status);
    return s;
}

int main(void) { return fgt_run(domain_orders_suite()); }
