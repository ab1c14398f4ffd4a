/*
 * feed.c - pages of the change feed, and their cursors.
 *
 * A page is read by seq from change_log, through ix_change_log_seq, with
 * the public ids of the merchant and of the row a snapshot refers to (a
 * payment's order, a refund's payment, a statement's import), which the
 * sequencer stored when it numbered the row.  A snapshot is a JSON array,
 * rendered here as an object with its entity's keys.  A statement's insert
 * change is followed by its lines, read from statement_lines by statement
 * and id, each with its reconciliation item as it is now; the cursor then
 * names a position inside the statement, so a page may end after any object
 * and the next one starts right after it.
 */
#include "changes/changes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "ledger/recon_counts.h"

/* A page: one index range, no joins (the merchant's and the parent's public
 * ids were stored when the row was numbered: a payment's order, a refund's
 * or an item's payment, a statement's import). */
static const char SQL_PAGE[] =
    "SELECT seq, entity, object_id, op, at, entity_id, data, merchant_public_id, parent_public_id "
    "FROM change_log FORCE INDEX (ix_change_log_seq) WHERE seq > ? ORDER BY seq LIMIT ?";

/* A statement's lines from a line id on, each with its item as it is now
 * (a line matched as it was stored, with no item row, as the matched item
 * it is: ledger/recon_counts.h).
 * The item's snapshot is the one the triggers of recon_items write
 * (schema/0016_changes.sql), rendered with the same keys: keep the two in
 * step. */
/* the SQL reads as one statement */
/* clang-format off */
#define FEED_DAY(col)                                                                                                  \
    "CONCAT(" col " DIV 10000, '-', LPAD(" col " DIV 100 MOD 100, 2, '0'), '-', LPAD(" col " MOD 100, 2, '0'))"
static const char SQL_LINES[] =
    "SELECT l.id, JSON_ARRAY(CONCAT('stm_', l.statement_id), l.account, l.currency, l.amount, l.reversal <> 0, "
    FEED_DAY("l.booking_date") ", " FEED_DAY("l.value_date") ", l.bank_ref, l.end_to_end, l.counterparty, l.memo, "
    "l.type, l.duplicate <> 0, l.created_at), "
    "COALESCE(i.id, IF(l.payment_id IS NULL, NULL, l.id + " FG_RECON_LINE_ITEM_BASE_SQL ")), IF(i.id IS NULL, "
    "JSON_ARRAY('bank_line', CONCAT('stm_', l.statement_id), CONCAT('stl_', l.id), NULL, NULL, NULL, l.account, "
    FEED_DAY("l.value_date") ", l.amount, l.currency, 'matched', 'reference', '" FG_RECON_LINE_ITEM_DETAIL "', "
    "false, NULL, NULL, NULL, false, l.created_at, l.created_at), "
    "JSON_ARRAY(i.kind, CONCAT('stm_', i.statement_id), CONCAT('stl_', i.line_id), i.transfer_ref, i.gateway, "
    "i.transaction_no, i.account, " FEED_DAY("i.business_day") ", i.amount, i.currency, i.state, i.rule, i.detail, "
    "i.unapplied <> 0, i.resolution, i.resolved_at, i.note, i.paid_out_by IS NOT NULL, i.created_at, i.updated_at)), "
    "p.public_id "
    "FROM statement_lines l FORCE INDEX (ix_statement_lines_statement) "
    "LEFT JOIN recon_items i ON i.line_id = l.id AND i.kind = 'bank_line' "
    "LEFT JOIN payments p ON p.id = COALESCE(i.payment_id, l.payment_id) "
    "WHERE l.statement_id = ? AND l.id >= ? ORDER BY l.id LIMIT ?";
/* clang-format on */

/* ---- cursors ---------------------------------------------------------------------- */

/* Decimal digits of INT64_MAX. */
#define INT64_DIGITS_MAX 19

/* One decimal number of s[0..n): digits only, no leading zero, <= INT64_MAX. */
static int parse_number(const char *s, size_t n, int64_t *out)
{
    char digits[INT64_DIGITS_MAX + 1];
    if (n == 0 || n > INT64_DIGITS_MAX || (s[0] == '0' && n > 1))
        return FG_EINVALID;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return FG_EINVALID;
    memcpy(digits, s, n);
    digits[n] = '\0';
    errno = 0;
    long long v = strtoll(digits, NULL, 10);
    if (errno == ERANGE)
        return FG_EINVALID;
    *out = v;
    return 0;
}

int fg_change_cursor_parse(const char *s, size_t len, fg_change_cursor_t *out)
{
    fg_change_cursor_t c = {0, 0};
    if (len > 0) {
        const char *dot = memchr(s, '.', len);
        size_t seq_len = dot != NULL ? (size_t)(dot - s) : len;
        if (parse_number(s, seq_len, &c.seq) != 0)
            return FG_EINVALID;
        if (dot != NULL && (parse_number(dot + 1, len - seq_len - 1, &c.sub) != 0 || c.sub < 1 || c.seq < 1))
            return FG_EINVALID;
    }
    *out = c;
    return 0;
}

void fg_change_cursor_format(const fg_change_cursor_t *c, char *out, size_t cap)
{
    if (c->sub > 0)
        snprintf(out, cap, "%lld.%lld", (long long)c->seq, (long long)c->sub);
    else
        snprintf(out, cap, "%lld", (long long)c->seq);
}

/* ---- rendering --------------------------------------------------------------------- */

/* One row of SQL_PAGE. */
typedef struct {
    int64_t seq, at, entity_id;
    fg_buf_t entity, object_id, op, data, merchant, parent;
    int merchant_null, parent_null;
} change_t;

static void change_free(change_t *c)
{
    fg_buf_free(&c->entity);
    fg_buf_free(&c->object_id);
    fg_buf_free(&c->op);
    fg_buf_free(&c->data);
    fg_buf_free(&c->merchant);
    fg_buf_free(&c->parent);
}

static void change_bind(fg_stmt_t *s, change_t *c)
{
    fg_stmt_out_int(s, &c->seq, NULL);
    fg_stmt_out_text(s, &c->entity, NULL);
    fg_stmt_out_text(s, &c->object_id, NULL);
    fg_stmt_out_text(s, &c->op, NULL);
    fg_stmt_out_int(s, &c->at, NULL);
    fg_stmt_out_int(s, &c->entity_id, NULL);
    fg_stmt_out_text(s, &c->data, NULL);
    fg_stmt_out_text(s, &c->merchant, &c->merchant_null);
    fg_stmt_out_text(s, &c->parent, &c->parent_null);
}

/* {"seq":…,"entity":…,"id":…,"op":…,"at":…,"merchant_id":…,"data": */
static void object_head(fg_buf_t *out, int64_t seq, const char *entity, const char *id, size_t id_len, const char *op,
                        const char *at, const fg_buf_t *merchant)
{
    fg_buf_printf(out, "{\"seq\":%lld", (long long)seq);
    fg_json_kv_str(out, 1, "entity", entity);
    fg_json_kv_strn(out, 1, "id", id, id_len);
    fg_json_kv_str(out, 1, "op", op);
    fg_json_kv_str(out, 1, "at", at);
    if (merchant != NULL)
        fg_json_kv_strn(out, 1, "merchant_id", merchant->data, merchant->len);
    else
        fg_json_kv_null(out, 1, "merchant_id");
    fg_json_key(out, 1, "data");
}

/* ---- snapshots: JSON arrays, rendered as objects ---------------------------------------- */

/* The keys of each entity's snapshot, in the order of the values of the
 * JSON arrays the triggers of schema/0016_changes.sql (and SQL_LINES) write.
 * A key is only ever appended: a shorter, older array renders its keys. */
static const char *const ORDER_KEYS[] = {"merchant_ref",  "fee_type",      "category",        "amount",
                                         "currency",      "amount_paid",   "amount_refunded", "allow_partial",
                                         "status",        "payer_name",    "payer_ref",       "description",
                                         "due_at_ms",     "expires_at_ms", "metadata",        "code",
                                         "created_at_ms", "updated_at_ms"};
static const char *const PAYMENT_KEYS[] = {"method",           "amount",         "amount_received", "amount_applied",
                                           "amount_unapplied", "currency",       "amount_refunded", "status",
                                           "provider_txn_id",  "failure_reason", "created_at_ms",   "updated_at_ms"};
static const char *const REFUND_KEYS[] = {"amount",        "currency",     "status", "reason", "provider_refund_id",
                                          "created_at_ms", "updated_at_ms"};
static const char *const STATEMENT_KEYS[] = {"bank_id",      "account",      "currency",  "opening",      "closing",
                                             "opening_date", "closing_date", "from_date", "to_date",      "line_count",
                                             "credits",      "debits",       "gap",       "created_at_ms"};
static const char *const ITEM_KEYS[] = {"kind",    "statement_id",   "line_id",       "transfer_ref",
                                        "gateway", "transaction_no", "account",       "business_day",
                                        "amount",  "currency",       "state",         "rule",
                                        "detail",  "unapplied",      "resolution",    "resolved_at_ms",
                                        "note",    "paid_out",       "created_at_ms", "updated_at_ms"};
static const char *const LINE_KEYS[] = {"statement_id", "account",    "currency",  "amount",       "reversal",
                                        "booking_date", "value_date", "bank_ref",  "end_to_end",   "counterparty",
                                        "memo",         "type",       "duplicate", "created_at_ms"};

typedef struct {
    const char *entity;
    const char *const *keys;
    int count;
    const char *parent_key; /* the key of the parent's public id, first in the object, or NULL */
} shape_t;

/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define SHAPE(entity, keys, parent) {entity, keys, (int)(sizeof(keys) / sizeof(keys[0])), parent}
/* clang-format on */
static const shape_t SHAPES[] = {
    SHAPE("order", ORDER_KEYS, NULL),
    SHAPE("payment", PAYMENT_KEYS, "order_id"),
    SHAPE("refund", REFUND_KEYS, "payment_id"),
    SHAPE("statement", STATEMENT_KEYS, "import_id"),
    SHAPE("recon_item", ITEM_KEYS, "payment_id"),
};
static const shape_t LINE_SHAPE = SHAPE("statement_line", LINE_KEYS, NULL);

static const shape_t *shape_of(const char *entity)
{
    for (size_t i = 0; i < sizeof(SHAPES) / sizeof(SHAPES[0]); i++)
        if (strcmp(SHAPES[i].entity, entity) == 0)
            return &SHAPES[i];
    return NULL;
}

/* The end of the JSON value that starts at p (a string, a number, a
 * literal, or an array or object, nested), in text MariaDB's JSON functions
 * wrote; NULL when the text ends first. */
static const char *value_end(const char *p, const char *end)
{
    int depth = 0, in_string = 0;
    for (; p < end; p++) {
        char c = *p;
        if (in_string) {
            if (c == '\\') {
                p++;
            } else if (c == '"') {
                in_string = 0;
                if (depth == 0)
                    return p + 1;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            if (depth == 0)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (c == ',' || c == ' ')) {
            return p;
        }
    }
    return NULL;
}

/* Appends a JSON value without the whitespace between its tokens (MariaDB
 * writes ", " and ": "): only strings can hold a space that matters. */
static void append_compact(fg_buf_t *out, const char *json, size_t len)
{
    fg_buf_reserve(out, len);
    char *w = out->data + out->len;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = json[i];
        if (in_string) {
            *w++ = c;
            if (c == '\\' && i + 1 < len)
                *w++ = json[++i];
            else if (c == '"')
                in_string = 0;
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            *w++ = c;
            in_string = c == '"';
        }
    }
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
}

/* Renders a snapshot, a JSON array of shape's values, as the object of its
 * keys, the parent's public id first when the shape has one.  FG_EDB when
 * the array is not one this code wrote (more values than keys, or not an
 * array). */
static int render_data(fg_buf_t *out, const shape_t *shape, const fg_buf_t *data, const fg_buf_t *parent,
                       int parent_null)
{
    const char *p = data->data != NULL ? data->data : "", *end = p + data->len;
    int n = 0;
    fg_buf_putc(out, '{');
    if (shape->parent_key != NULL) {
        fg_json_key(out, 0, shape->parent_key);
        if (parent_null)
            fg_buf_puts(out, "null");
        else
            fg_json_str(out, parent->data, parent->len);
        n++;
    }
    while (p < end && *p != '[')
        p++;
    if (p++ == end)
        return FG_EDB;
    for (int i = 0;; i++) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (p == end)
            return FG_EDB;
        if (*p == ']')
            break;
        const char *v = value_end(p, end);
        if (v == NULL || v == p || i == shape->count)
            return FG_EDB;
        fg_json_key(out, n++ > 0, shape->keys[i]);
        append_compact(out, p, (size_t)(v - p));
        p = v;
    }
    fg_buf_putc(out, '}');
    return 0;
}

static int render_change(fg_buf_t *out, const change_t *c, const char *at)
{
    const shape_t *shape = shape_of(c->entity.data);
    if (shape == NULL)
        return FG_EDB;
    object_head(out, c->seq, c->entity.data, c->object_id.data, c->object_id.len, c->op.data, at,
                c->merchant_null ? NULL : &c->merchant);
    int rc = render_data(out, shape, &c->data, &c->parent, c->parent_null);
    fg_buf_puts(out, "}\n");
    return rc;
}

/* ---- a page ---------------------------------------------------------------------------- */

typedef struct {
    fg_db_t *db;
    int limit, count;
    fg_buf_t *out;
    fg_change_cursor_t cur; /* after the last object written */
} page_t;

/* One row of SQL_LINES. */
typedef struct {
    int64_t line_id, item_id;
    int item_null, payment_null;
    fg_buf_t line, item, payment;
} line_t;

static void line_free(line_t *l)
{
    fg_buf_free(&l->line);
    fg_buf_free(&l->item);
    fg_buf_free(&l->payment);
}

/* Writes the objects of line l (at positions 2L and 2L + 1) that come after
 * the page's cursor, while the page has room; the cursor follows.  Returns
 * 0, 1 when the page filled before the line was done, or FG_EDB for a
 * snapshot this code did not write. */
static int render_line(page_t *p, const change_t *c, const char *at, const line_t *l)
{
    char id[FG_CHANGE_CURSOR_CAP];
    int64_t line_pos = 2 * l->line_id, item_pos = line_pos + 1;
    if (line_pos > p->cur.sub) {
        if (p->count == p->limit)
            return 1;
        int n = snprintf(id, sizeof(id), "stl_%lld", (long long)l->line_id);
        object_head(p->out, c->seq, "statement_line", id, (size_t)n, "insert", at, NULL);
        if (render_data(p->out, &LINE_SHAPE, &l->line, NULL, 1) != 0)
            return FG_EDB;
        fg_buf_puts(p->out, "}\n");
        p->count++;
        p->cur.sub = line_pos;
    }
    if (item_pos > p->cur.sub) {
        if (!l->item_null) {
            if (p->count == p->limit)
                return 1;
            int n = snprintf(id, sizeof(id), "rci_%lld", (long long)l->item_id);
            object_head(p->out, c->seq, "recon_item", id, (size_t)n, "insert", at, NULL);
            if (render_data(p->out, shape_of("recon_item"), &l->item, &l->payment, l->payment_null) != 0)
                return FG_EDB;
            fg_buf_puts(p->out, "}\n");
            p->count++;
        }
        p->cur.sub = item_pos;
    }
    return 0;
}

/* Continues the expansion of statement change c after the page's cursor
 * (inside c: p->cur.seq == c->seq, p->cur.sub >= 1) until its last line or
 * a full page.  At the end of the statement the cursor becomes c->seq. */
static int expand_statement(page_t *p, const change_t *c, const char *at)
{
    fg_stmt_t s;
    line_t l;
    int rc = 0, full = 0;
    memset(&l, 0, sizeof(l));
    while (rc == 0 && !full) {
        /* each line is one or two objects: as many lines as the page has
         * room for objects, one more to see whether the statement goes on,
         * and the line the cursor is in (fetched again: its item may be
         * due); so a query ends with a full page or the last line */
        int64_t want = p->limit - p->count + 2, fetched = 0;
        if ((rc = fg_stmt_init(&s, p->db, SQL_LINES)) != 0)
            break;
        fg_stmt_int(&s, c->entity_id);
        fg_stmt_int(&s, p->cur.sub / 2);
        fg_stmt_int(&s, want);
        fg_stmt_out_int(&s, &l.line_id, NULL);
        fg_stmt_out_text(&s, &l.line, NULL);
        fg_stmt_out_int(&s, &l.item_id, &l.item_null);
        fg_stmt_out_text(&s, &l.item, NULL);
        fg_stmt_out_text(&s, &l.payment, &l.payment_null);
        if ((rc = fg_stmt_exec(&s)) != 0)
            break;
        while (!full && (rc = fg_stmt_fetch(&s)) == 1) {
            fetched++;
            full = render_line(p, c, at, &l);
        }
        if (full != 0) {
            fg_stmt_done(&s);
            rc = full < 0 ? full : 0;
        } else if (rc == 0 && fetched < want) {
            p->cur.sub = 0; /* every line of the statement is out */
            break;
        }
    }
    line_free(&l);
    return rc;
}

/* Writes the changes after the page's cursor (which is at a whole change)
 * until the page is full or the feed ends; a statement's insert change is
 * expanded as it comes, after which the query starts again. */
static int read_changes(page_t *p, change_t *c)
{
    fg_stmt_t s;
    char at[40];
    int rc;
    while (p->count < p->limit) {
        int64_t want = p->limit - p->count;
        int expand = 0;
        if ((rc = fg_stmt_init(&s, p->db, SQL_PAGE)) != 0)
            return rc;
        fg_stmt_int(&s, p->cur.seq);
        fg_stmt_int(&s, want);
        change_bind(&s, c);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            fg_time_format_rfc3339(c->at, 1, at, sizeof(at));
            if ((rc = render_change(p->out, c, at)) != 0) {
                fg_stmt_done(&s);
                return rc;
            }
            p->count++;
            p->cur = (fg_change_cursor_t){c->seq, 0};
            if (strcmp(c->entity.data, "statement") == 0 && strcmp(c->op.data, "insert") == 0) {
                fg_stmt_done(&s); /* its lines next, then the changes after it */
                expand = 1;
                break;
            }
        }
        if (rc < 0)
            return rc;
        if (expand) {
            p->cur.sub = 1; /* the statement's own object is out */
            if ((rc = expand_statement(p, c, at)) != 0)
                return rc;
            continue;
        }
        return 0; /* the page is full, or the feed ends here */
    }
    return 0;
}

/* Loads change seq into c: 0, or FG_EINVALID when there is no such change. */
static int load_change(fg_db_t *db, int64_t seq, change_t *c)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_PAGE);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, seq - 1);
    fg_stmt_int(&s, 1);
    change_bind(&s, c);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc == FG_ENOTFOUND ? FG_EINVALID : rc;
    return c->seq == seq ? 0 : FG_EINVALID;
}

int fg_changes_read(fg_db_t *db, const fg_change_cursor_t *after, int limit, fg_buf_t *out, fg_change_cursor_t *next,
                    int *count)
{
    page_t p = {db, limit, 0, out, *after};
    int64_t last = 0;
    change_t c;
    char at[40];
    int rc = 0;
    memset(&c, 0, sizeof(c));
    /* a cursor past every number handed out was never given out: refused,
     * not answered with an empty page a reader would wait on for ever.  The
     * bound is read first, in a transaction of this read (db.h) */
    fg_db_end(db);
    if (p.cur.seq > 0 && (rc = fg_db_sequence_last(db, &last)) == 0 && p.cur.seq > last)
        rc = FG_ERANGE;
    if (rc == 0 && p.cur.sub > 0) {
        /* inside a statement's expansion: the rest of its lines first */
        if ((rc = load_change(db, p.cur.seq, &c)) == 0 &&
            (strcmp(c.entity.data, "statement") != 0 || strcmp(c.op.data, "insert") != 0))
            rc = FG_EINVALID;
        if (rc == 0) {
            fg_time_format_rfc3339(c.at, 1, at, sizeof(at));
            rc = expand_statement(&p, &c, at);
        }
    }
    if (rc == 0 && p.cur.sub == 0)
        rc = read_changes(&p, &c);
    fg_db_end(db);
    change_free(&c);
    *next = p.cur;
    *count = p.count;
    return rc;
}
