/*
 * store.c - orders in MariaDB: the row, its JSON, inserts and reads.
 */
#include "orders/orders_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "core/text.h"

/* A new order's columns, in the order order_values() gives them. */
#define ORDER_COLS 20
#define ORDER_INSERT                                                                                                   \
    "INTO orders (public_id, merchant_id, merchant_ref, fee_type, category, amount, currency, allow_partial, "         \
    "payer_name, payer_ref, payer_phone, payer_email, description, due_at, expires_at, metadata, code, created_at, "   \
    "updated_at, derived_rows) VALUES "
#define ORDER_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
static const char SQL_INSERT_IGNORE[] = "INSERT IGNORE " ORDER_INSERT ORDER_ROW;

static const char SQL_BY_PUBLIC_ID[] = "SELECT " FG_ORDER_COLUMNS
                                       " FROM orders o WHERE o.public_id = ? AND o.merchant_id = ?";
static const char SQL_BY_PUBLIC_ID_LOCK[] = "SELECT " FG_ORDER_COLUMNS
                                            " FROM orders o WHERE o.public_id = ? AND o.merchant_id = ? FOR UPDATE";
static const char SQL_BY_ID[] = "SELECT " FG_ORDER_COLUMNS " FROM orders o WHERE o.id = ?";
static const char SQL_BY_ID_LOCK[] = "SELECT " FG_ORDER_COLUMNS " FROM orders o WHERE o.id = ? FOR UPDATE";
static const char SQL_BY_REF[] = "SELECT public_id FROM orders WHERE merchant_id = ? AND merchant_ref = ?";
/* The orders of one merchant with any of a list of merchant_refs (a JSON
 * array of [index, merchant_ref]): one round trip of unique-key lookups. */
static const char SQL_BY_REFS[] =
    "SELECT j.i, o.public_id, o.code FROM JSON_TABLE(?, '$[*]' COLUMNS (i INT PATH '$[0]', r VARCHAR(64) CHARSET utf8mb4 "
    "COLLATE utf8mb4_bin PATH '$[1]')) j STRAIGHT_JOIN orders o ON o.merchant_id = ? AND o.merchant_ref = j.r";
/* The same lookup, reading the whole orders. */
static const char SQL_ROWS_BY_REFS[] =
    "SELECT j.i, " FG_ORDER_COLUMNS " FROM JSON_TABLE(?, '$[*]' COLUMNS (i INT PATH '$[0]', r VARCHAR(64) CHARSET "
    "utf8mb4 COLLATE utf8mb4_bin PATH '$[1]')) j STRAIGHT_JOIN orders o ON o.merchant_id = ? AND o.merchant_ref = j.r";
/* A new order, strict: inserted at once, or queued in a deferring transaction
 * (a group of creates, db/group.c; nothing in a create reads it back), so a
 * group's orders go as a few multi-row INSERTs at COMMIT (a taken
 * merchant_ref then fails the group there, and each member runs alone, as
 * for a taken key).  A queued order's rows of the change feed and of the
 * owed sums are queued with it (derived_rows = 1: its AFTER INSERT triggers
 * write nothing, schema/0032_derived_rows.sql), so they too go as
 * multi-row INSERTs; an order inserted at once leaves them to the
 * triggers. */
static fg_db_table_t ORDERS = FG_DB_TABLE("INSERT " ORDER_INSERT, ORDER_ROW, ORDER_COLS, 1, 5);
/* A change-feed row written by its transaction itself, as the triggers of
 * schema/0016_changes.sql write it (services/changes/feed.c names the
 * values of its JSON array). */
static fg_db_table_t CHANGES = FG_DB_TABLE_NUMBERED(
    "INSERT INTO change_log (entity, entity_id, object_id, merchant_id, parent_id, op, data, at, merchant_public_id, "
    "parent_public_id, seq) VALUES ",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, @fg_seq + ?)", 11, 10);
/* What an order adds to the owed sums, as orders_owed_insert and
 * orders_owed_update write it (schema/0027_owed_totals.sql), but one row for
 * all of a transaction's orders of one key (merchant, fee type, category,
 * due day, currency: schema/0039): a group of a school's tuition bills adds
 * one row, and the sweeper folds one. */
#define OWED_KEY_COLS 5
static fg_db_table_t OWED =
    FG_DB_TABLE("INSERT INTO owed_changes (merchant_id, fee_type, category, due_day, currency, orders, owed) VALUES ",
                "(?, ?, ?, ?, ?, ?, ?)", 7, 0, 10);
/* The outbox is append-only: a deferring transaction queues its events (db.h). */
static fg_db_table_t EVENTS = FG_DB_TABLE_NUMBERED(
    "INSERT INTO events (public_id, merchant_id, type, order_id, payload, created_at, seq) VALUES ",
    "(?, ?, ?, ?, ?, ?, @fg_seq + ?)", 7, 30);

void fg_order_row_init(fg_order_row_t *r) { memset(r, 0, sizeof(*r)); }

void fg_order_row_free(fg_order_row_t *r)
{
    fg_buf_t *texts[] = {&r->public_id,   &r->merchant_ref, &r->fee_type,  &r->category,
                         &r->currency,    &r->payer_name,   &r->payer_ref, &r->payer_phone,
                         &r->payer_email, &r->description,  &r->metadata,  &r->code};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        fg_buf_free(texts[i]);
}

void fg_order_row_bind(fg_stmt_t *s, fg_order_row_t *r)
{
    fg_stmt_out_int(s, &r->id, NULL);
    fg_stmt_out_text(s, &r->public_id, NULL);
    fg_stmt_out_text(s, &r->merchant_ref, NULL);
    fg_stmt_out_text(s, &r->fee_type, NULL);
    fg_stmt_out_text(s, &r->category, &r->category_null);
    fg_stmt_out_int(s, &r->amount, NULL);
    fg_stmt_out_text(s, &r->currency, NULL);
    fg_stmt_out_int(s, &r->amount_paid, NULL);
    fg_stmt_out_int(s, &r->amount_refunded, NULL);
    fg_stmt_out_int(s, &r->allow_partial, NULL);
    fg_stmt_out_enum(s, &r->status, FG_ORDER_STATUS_COUNT);
    fg_stmt_out_text(s, &r->payer_name, &r->payer_name_null);
    fg_stmt_out_text(s, &r->payer_ref, &r->payer_ref_null);
    fg_stmt_out_text(s, &r->payer_phone, &r->payer_phone_null);
    fg_stmt_out_text(s, &r->payer_email, &r->payer_email_null);
    fg_stmt_out_text(s, &r->description, &r->description_null);
    fg_stmt_out_int(s, &r->due_at, &r->due_at_null);
    fg_stmt_out_int(s, &r->expires_at, &r->expires_at_null);
    fg_stmt_out_text(s, &r->metadata, &r->metadata_null);
    fg_stmt_out_text(s, &r->code, NULL);
    fg_stmt_out_int(s, &r->created_at, NULL);
    fg_stmt_out_int(s, &r->updated_at, NULL);
}

static void kv_time(fg_buf_t *b, const char *key, int is_null, int64_t ms)
{
    if (is_null) {
        fg_json_kv_null(b, 1, key);
        return;
    }
    char t[40];
    fg_time_format_rfc3339(ms, 0, t, sizeof(t));
    fg_json_kv_str(b, 1, key, t);
}

static void kv_text(fg_buf_t *b, int comma, const char *key, const fg_buf_t *v, int is_null)
{
    if (is_null)
        fg_json_kv_null(b, comma, key);
    else
        fg_json_kv_strn(b, comma, key, v->data != NULL ? v->data : "", v->len);
}

void fg_order_json(fg_buf_t *b, const fg_order_row_t *r, const char *merchant_public_id, const char *base_url,
                   int64_t now_ms)
{
    fg_buf_putc(b, '{');
    fg_json_kv_strn(b, 0, "id", r->public_id.data, r->public_id.len);
    fg_json_kv_str(b, 1, "object", "order");
    fg_json_kv_str(b, 1, "merchant_id", merchant_public_id);
    fg_json_kv_strn(b, 1, "merchant_ref", r->merchant_ref.data, r->merchant_ref.len);
    fg_json_kv_strn(b, 1, "fee_type", r->fee_type.data, r->fee_type.len);
    kv_text(b, 1, "category", &r->category, r->category_null);
    fg_json_kv_int(b, 1, "amount", r->amount);
    fg_json_kv_strn(b, 1, "currency", r->currency.data, r->currency.len);
    fg_json_kv_int(b, 1, "amount_paid", r->amount_paid);
    fg_json_kv_int(b, 1, "amount_refunded", r->amount_refunded);
    fg_json_kv_bool(b, 1, "allow_partial", (int)r->allow_partial);
    fg_json_kv_str(b, 1, "status",
                   fg_order_status_name(
                       fg_order_effective_status(r->status, !r->expires_at_null, r->expires_at, now_ms)));
    fg_json_key(b, 1, "payer");
    fg_buf_putc(b, '{');
    kv_text(b, 0, "name", &r->payer_name, r->payer_name_null);
    kv_text(b, 1, "ref", &r->payer_ref, r->payer_ref_null);
    kv_text(b, 1, "phone", &r->payer_phone, r->payer_phone_null);
    kv_text(b, 1, "email", &r->payer_email, r->payer_email_null);
    fg_buf_putc(b, '}');
    kv_text(b, 1, "description", &r->description, r->description_null);
    kv_time(b, "due_at", r->due_at_null, r->due_at);
    kv_time(b, "expires_at", r->expires_at_null, r->expires_at);
    fg_json_key(b, 1, "metadata");
    if (r->metadata_null || r->metadata.len == 0)
        fg_buf_puts(b, "{}");
    else
        fg_buf_append(b, r->metadata.data, r->metadata.len); /* stored as canonical JSON by us */
    fg_json_kv_strn(b, 1, "code", r->code.data, r->code.len);
    fg_json_key(b, 1, "pay_url");
    fg_buf_t url = FG_BUF_INIT;
    fg_buf_printf(&url, "%s/pay/%.*s", base_url, (int)r->code.len, r->code.data);
    fg_json_str(b, url.data, url.len);
    fg_buf_free(&url);
    kv_time(b, "created_at", 0, r->created_at);
    kv_time(b, "updated_at", 0, r->updated_at);
    fg_buf_putc(b, '}');
}

static void set_text(fg_buf_t *dst, int *is_null, const char *s)
{
    fg_buf_reset(dst);
    if (is_null != NULL)
        *is_null = s == NULL;
    if (s != NULL)
        fg_buf_puts(dst, s);
}

int fg_order_row_from_input(fg_order_row_t *r, const fg_order_input_t *in, int64_t now_ms)
{
    char id[FG_ID_CAP], code[FG_ORDER_CODE_LEN + 1];
    if (fg_id_new("ord_", id, sizeof(id)) < 0 || fg_order_code_new(code, sizeof(code)) != 0)
        return FG_EIO;
    set_text(&r->public_id, NULL, id);
    set_text(&r->merchant_ref, NULL, in->merchant_ref);
    set_text(&r->fee_type, NULL, in->fee_type);
    set_text(&r->category, &r->category_null, in->category);
    r->amount = in->amount;
    set_text(&r->currency, NULL, in->currency);
    r->amount_paid = r->amount_refunded = 0;
    r->allow_partial = in->allow_partial;
    r->status = FG_ORDER_OPEN;
    set_text(&r->payer_name, &r->payer_name_null, in->payer_name);
    set_text(&r->payer_ref, &r->payer_ref_null, in->payer_ref);
    set_text(&r->payer_phone, &r->payer_phone_null, in->payer_phone);
    set_text(&r->payer_email, &r->payer_email_null, in->payer_email);
    set_text(&r->description, &r->description_null, in->description);
    r->due_at_null = !in->has_due_at;
    r->due_at = in->due_at_ms;
    r->expires_at_null = !in->has_expires_at;
    r->expires_at = in->expires_at_ms;
    set_text(&r->metadata, &r->metadata_null, in->metadata_json.len > 0 ? in->metadata_json.data : NULL);
    set_text(&r->code, NULL, code);
    r->created_at = r->updated_at = now_ms;
    return 0;
}

int fg_order_new_code(fg_order_row_t *r)
{
    char code[FG_ORDER_CODE_LEN + 1];
    if (fg_order_code_new(code, sizeof(code)) != 0)
        return FG_EIO;
    set_text(&r->code, NULL, code);
    return 0;
}

static fg_db_value_t text_or_null(const fg_buf_t *v, int is_null)
{
    return is_null ? FG_DB_NULLV : FG_DB_STR(v->data, v->len);
}

/* r's columns (ORDER_INSERT), pointing into r. */
static void order_values(const fg_order_row_t *r, uint64_t merchant_id, int derived_rows, fg_db_value_t v[ORDER_COLS])
{
    const fg_db_value_t row[ORDER_COLS] = {
        FG_DB_STR(r->public_id.data, r->public_id.len),
        FG_DB_INT(merchant_id),
        FG_DB_STR(r->merchant_ref.data, r->merchant_ref.len),
        FG_DB_STR(r->fee_type.data, r->fee_type.len),
        text_or_null(&r->category, r->category_null),
        FG_DB_INT(r->amount),
        FG_DB_STR(r->currency.data, r->currency.len),
        FG_DB_INT(r->allow_partial),
        text_or_null(&r->payer_name, r->payer_name_null),
        text_or_null(&r->payer_ref, r->payer_ref_null),
        text_or_null(&r->payer_phone, r->payer_phone_null),
        text_or_null(&r->payer_email, r->payer_email_null),
        text_or_null(&r->description, r->description_null),
        fg_db_int_or_null(r->due_at_null ? NULL : &r->due_at),
        fg_db_int_or_null(r->expires_at_null ? NULL : &r->expires_at),
        text_or_null(&r->metadata, r->metadata_null),
        FG_DB_STR(r->code.data, r->code.len),
        FG_DB_INT(r->created_at),
        FG_DB_INT(r->updated_at),
        FG_DB_INT(derived_rows),
    };
    memcpy(v, row, sizeof(row));
}

static void json_text_or_null(fg_buf_t *b, const fg_buf_t *v, int is_null)
{
    fg_json_strn(b, is_null ? NULL : v->data != NULL ? v->data : "", v->len);
}

static void json_int_or_null(fg_buf_t *b, int64_t v, int is_null)
{
    if (is_null)
        fg_buf_puts(b, "null");
    else
        fg_buf_printf(b, "%" PRId64, v);
}

/* The order's snapshot, as orders_change_insert's JSON_ARRAY writes it. */
static void change_data(fg_buf_t *b, const fg_order_row_t *r)
{
    fg_buf_putc(b, '[');
    fg_json_str(b, r->merchant_ref.data, r->merchant_ref.len);
    fg_buf_putc(b, ',');
    fg_json_str(b, r->fee_type.data, r->fee_type.len);
    fg_buf_putc(b, ',');
    json_text_or_null(b, &r->category, r->category_null);
    fg_buf_printf(b, ",%" PRId64 ",", r->amount);
    fg_json_str(b, r->currency.data, r->currency.len);
    fg_buf_printf(b, ",%" PRId64 ",%" PRId64 ",%s,", r->amount_paid, r->amount_refunded,
                  r->allow_partial != 0 ? "true" : "false");
    fg_json_cstr(b, fg_order_status_name(r->status));
    fg_buf_putc(b, ',');
    json_text_or_null(b, &r->payer_name, r->payer_name_null);
    fg_buf_putc(b, ',');
    json_text_or_null(b, &r->payer_ref, r->payer_ref_null);
    fg_buf_putc(b, ',');
    json_text_or_null(b, &r->description, r->description_null);
    fg_buf_putc(b, ',');
    json_int_or_null(b, r->due_at, r->due_at_null);
    fg_buf_putc(b, ',');
    json_int_or_null(b, r->expires_at, r->expires_at_null);
    fg_buf_putc(b, ',');
    /* canonical object text (validate.c), or {} as JSON_QUERY(COALESCE(NULLIF(..))) */
    if (r->metadata_null || r->metadata.len == 0)
        fg_buf_puts(b, "{}");
    else
        fg_buf_append(b, r->metadata.data, r->metadata.len);
    fg_buf_putc(b, ',');
    fg_json_str(b, r->code.data, r->code.len);
    fg_buf_printf(b, ",%" PRId64 ",%" PRId64 "]", r->created_at, r->updated_at);
}

int fg_change_row_queue(fg_db_t *db, const fg_change_row_t *c)
{
    assert(c->merchant_public_id != NULL && c->merchant_public_id[0] != '\0');
    assert((c->parent_id > 0) == (c->parent_public_id != NULL));
    fg_db_value_t v[] = {fg_db_cstr(c->entity),
                         FG_DB_ID(c->entity_id),
                         FG_DB_STR(c->object_id->data, c->object_id->len),
                         c->merchant_id > 0 ? FG_DB_INT(c->merchant_id) : FG_DB_NULLV,
                         c->parent_id > 0 ? FG_DB_INT(c->parent_id) : FG_DB_NULLV,
                         fg_db_cstr(c->op),
                         FG_DB_STR(c->data->data, c->data->len),
                         FG_DB_INT(c->at),
                         fg_db_cstr(c->merchant_public_id),
                         fg_db_cstr(c->parent_public_id),
                         FG_DB_NULLV /* seq: numbered at COMMIT or after it (db.h) */};
    return fg_db_insert(db, &CHANGES, v, 1, NULL);
}

/* The owed sums' day of a due time: days since the epoch in Vietnam's time
 * (UTC+7), FLOOR((due_at + 25200000) / 86400000) as the triggers compute it;
 * INT_MIN without a due time. */
static int64_t owed_day(const fg_order_row_t *r)
{
    if (r->due_at_null)
        return INT32_MIN;
    int64_t t = r->due_at + 25200000;
    return t >= 0 ? t / 86400000 : -((-t + 86400000 - 1) / 86400000);
}

/* Adds orders and owed to the transaction's owed row of r's key. */
static int owed_add(fg_db_t *db, uint64_t merchant_id, const fg_order_row_t *r, int64_t orders, int64_t owed)
{
    fg_db_value_t v[] = {FG_DB_INT(merchant_id),
                         FG_DB_STR(r->fee_type.data, r->fee_type.len),
                         r->category_null ? FG_DB_STR("", 0) : FG_DB_STR(r->category.data, r->category.len),
                         FG_DB_INT(owed_day(r)),
                         FG_DB_STR(r->currency.data, r->currency.len),
                         FG_DB_INT(orders),
                         FG_DB_INT(owed)};
    return fg_db_insert_adding(db, &OWED, v, OWED_KEY_COLS);
}

static int is_owed(fg_order_status_t status, int64_t amount, int64_t paid)
{
    return (status == FG_ORDER_OPEN || status == FG_ORDER_PARTIALLY_PAID) && amount > paid;
}

/* Queues order r's change (its id, pending or sent; op "insert" or "update"). */
static int order_change(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_row_t *r, int64_t id, const char *op,
                        int64_t at)
{
    fg_buf_t data = FG_BUF_INIT;
    change_data(&data, r);
    fg_change_row_t c = {.entity = "order",
                         .entity_id = id,
                         .object_id = &r->public_id,
                         .merchant_id = (int64_t)m->id,
                         .merchant_public_id = m->public_id,
                         .op = op,
                         .data = &data,
                         .at = at};
    int rc = fg_change_row_queue(db, &c);
    fg_buf_free(&data);
    return rc;
}

/* Queues the change and owed rows of the order just queued as id. */
static int insert_derived(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_row_t *r, int64_t id)
{
    int rc = order_change(db, m, r, id, "insert", r->created_at);
    if (rc != 0 || !is_owed(r->status, r->amount, r->amount_paid))
        return rc;
    return owed_add(db, m->id, r, 1, r->amount - r->amount_paid);
}

int fg_order_paid_derived(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_row_t *r,
                          fg_order_status_t was_status, int64_t was_paid)
{
    uint64_t merchant_id = m->id;
    int rc = order_change(db, m, r, r->id, "update", r->updated_at);
    int was = is_owed(was_status, r->amount, was_paid), is = is_owed(r->status, r->amount, r->amount_paid);
    if (rc != 0 || (was == is && was_paid == r->amount_paid))
        return rc;
    if (was && is)
        return owed_add(db, merchant_id, r, 0, was_paid - r->amount_paid);
    if (was)
        rc = owed_add(db, merchant_id, r, -1, was_paid - r->amount);
    return rc == 0 && is ? owed_add(db, merchant_id, r, 1, r->amount - r->amount_paid) : rc;
}

int fg_derived_send(fg_db_t *db, int last_write)
{
    int rc = last_write && fg_db_numbers_at_commit(db) ? 0 : fg_db_send_queued(db, &CHANGES);
    return rc != 0 ? rc : fg_db_send_queued(db, &OWED);
}

int fg_order_insert(fg_db_t *db, const fg_merchant_ref_t *m, fg_order_row_t *r, int ignore_duplicates, int *inserted)
{
    uint64_t merchant_id = m->id;
    fg_db_value_t v[ORDER_COLS];
    int derived = !ignore_duplicates && fg_db_deferring(db);
    order_values(r, merchant_id, derived, v);
    if (!ignore_duplicates) { /* r->id: the new row's, or pending while queued */
        int64_t id = 0;
        int rc = fg_db_insert(db, &ORDERS, v, 1, &id);
        if (rc == 0 && derived)
            rc = insert_derived(db, m, r, id);
        r->id = rc == 0 ? id : 0;
        if (inserted != NULL)
            *inserted = rc == 0;
        return rc;
    }
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_INSERT_IGNORE);
    if (rc != 0)
        return rc;
    for (int i = 0; i < ORDER_COLS; i++)
        fg_stmt_value(&s, &v[i]);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    int ok = fg_stmt_affected(&s) == 1;
    r->id = ok ? (int64_t)fg_stmt_insert_id(&s) : 0;
    if (inserted != NULL)
        *inserted = ok;
    return 0;
}

static int fetch_one(fg_stmt_t *s, fg_order_row_t *r)
{
    int rc;
    fg_order_row_bind(s, r);
    if ((rc = fg_stmt_exec(s)) != 0)
        return rc;
    rc = fg_stmt_fetch(s);
    fg_stmt_done(s);
    if (rc < 0)
        return rc;
    return rc == 1 ? 0 : FG_ENOTFOUND;
}

int fg_order_load(fg_db_t *db, uint64_t merchant_id, const char *public_id, size_t len, int for_update,
                  fg_order_row_t *r)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, for_update ? SQL_BY_PUBLIC_ID_LOCK : SQL_BY_PUBLIC_ID);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, public_id, len);
    fg_stmt_int(&s, (int64_t)merchant_id);
    return fetch_one(&s, r);
}

int fg_order_load_by_id(fg_db_t *db, int64_t id, int for_update, fg_order_row_t *r)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, for_update ? SQL_BY_ID_LOCK : SQL_BY_ID);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, id);
    return fetch_one(&s, r);
}

int fg_order_find_ref(fg_db_t *db, uint64_t merchant_id, const char *ref, size_t len, fg_buf_t *public_id)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_BY_REF);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_stmt_str(&s, ref, len);
    fg_stmt_out_text(&s, public_id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc < 0)
        return rc;
    return rc == 1 ? 0 : FG_ENOTFOUND;
}

/* refs[0..n) (NULL: left out) as SQL_BY_REFS takes them, [[index, ref], …]
 * into json: how many are listed. */
static int refs_json(fg_buf_t *json, const char *const *refs, int n)
{
    int listed = 0;
    fg_buf_putc(json, '[');
    for (int k = 0; k < n; k++) {
        if (refs[k] == NULL)
            continue;
        fg_buf_printf(json, "%s[%d,", listed++ > 0 ? "," : "", k);
        fg_json_cstr(json, refs[k]);
        fg_buf_putc(json, ']');
    }
    fg_buf_putc(json, ']');
    return listed;
}

int fg_order_find_refs(fg_db_t *db, uint64_t merchant_id, const char *const *refs, int n, fg_buf_t *public_ids,
                       fg_buf_t *codes)
{
    fg_buf_t json = FG_BUF_INIT, id = FG_BUF_INIT, code = FG_BUF_INIT;
    int64_t i = 0;
    int rc;
    for (int k = 0; k < n; k++) {
        fg_buf_reset(&public_ids[k]);
        if (codes != NULL)
            fg_buf_reset(&codes[k]);
    }
    int listed = refs_json(&json, refs, n);
    fg_stmt_t s;
    if (listed == 0) {
        rc = 0;
        goto Exit;
    }
    if ((rc = fg_stmt_init(&s, db, SQL_BY_REFS)) != 0)
        goto Exit;
    fg_stmt_str(&s, json.data, json.len);
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_stmt_out_int(&s, &i, NULL);
    fg_stmt_out_text(&s, &id, NULL);
    fg_stmt_out_text(&s, &code, NULL);
    rc = fg_stmt_exec(&s);
    while (rc == 0 && (rc = fg_stmt_fetch(&s)) == 1) {
        rc = 0;
        if (i < 0 || i >= n)
            continue;
        fg_buf_append(&public_ids[i], id.data, id.len);
        if (codes != NULL)
            fg_buf_append(&codes[i], code.data, code.len);
    }
    fg_stmt_done(&s);
Exit:
    fg_buf_free(&json);
    fg_buf_free(&id);
    fg_buf_free(&code);
    return rc < 0 ? rc : 0;
}

int fg_order_rows_by_refs(fg_db_t *db, uint64_t merchant_id, const char *const *refs, int n, fg_order_row_t *rows,
                          int *found)
{
    fg_buf_t json = FG_BUF_INIT;
    fg_order_row_t row;
    int64_t i = 0;
    int rc = 0;
    fg_order_row_init(&row);
    memset(found, 0, (size_t)n * sizeof(*found));
    if (refs_json(&json, refs, n) == 0)
        goto Exit;
    fg_stmt_t s;
    if ((rc = fg_stmt_init(&s, db, SQL_ROWS_BY_REFS)) != 0)
        goto Exit;
    fg_stmt_str(&s, json.data, json.len);
    fg_stmt_int(&s, (int64_t)merchant_id);
    fg_stmt_out_int(&s, &i, NULL);
    fg_order_row_bind(&s, &row);
    rc = fg_stmt_exec(&s);
    while (rc == 0 && (rc = fg_stmt_fetch(&s)) == 1) {
        rc = 0;
        if (i < 0 || i >= n || found[i])
            continue;
        /* the row's buffers move to rows[i]; the next fetch fills new ones */
        fg_order_row_free(&rows[i]);
        rows[i] = row;
        fg_order_row_init(&row);
        found[i] = 1;
    }
    fg_stmt_done(&s);
Exit:
    fg_order_row_free(&row);
    fg_buf_free(&json);
    return rc < 0 ? rc : 0;
}

int fg_event_insert(fg_db_t *db, uint64_t merchant_id, const char *type, int64_t order_id, const fg_buf_t *object,
                    int64_t now_ms)
{
    char id[FG_ID_CAP];
    if (fg_id_new("evt_", id, sizeof(id)) < 0)
        return FG_EIO;
    fg_db_value_t v[] = {fg_db_cstr(id),
                         FG_DB_INT(merchant_id),
                         fg_db_cstr(type),
                         order_id > 0 ? FG_DB_INT(order_id) : FG_DB_NULLV, /* 0: about no order */
                         FG_DB_STR(object->data != NULL ? object->data : "", object->len),
                         FG_DB_INT(now_ms),
                         FG_DB_NULLV /* seq: numbered at COMMIT or after it (db.h) */};
    return fg_db_insert(db, &EVENTS, v, 1, NULL);
}
