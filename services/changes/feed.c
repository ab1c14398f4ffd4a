/*
 * feed.c - pages of the change feed, and their cursors.
 *
 * A page is read by seq from change_log, through ix_change_log_seq, with
 * the public ids of the merchant and of the row a snapshot refers to (a
 * payment's order, a refund's payment, a statement's import), which the
 * sequencer stored when it numbered the row.  A statement's
 * insert change is followed by its lines, read from statement_lines by
 * statement and id, each with its reconciliation item as it is now; the
 * cursor then names a position inside the statement, so a page may end after
 * any object and the next one starts right after it.
 */
#include "changes/changes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"

/* A page: one index range, no joins (the merchant's and the parent's public
 * ids were stored when the row was numbered: a payment's order, a refund's
 * or an item's payment, a statement's import). */
static const char SQL_PAGE[] =
    "SELECT seq, entity, object_id, op, at, entity_id, data, merchant_public_id, parent_public_id "
    "FROM change_log FORCE INDEX (ix_change_log_seq) WHERE seq > ? ORDER BY seq LIMIT ?";

/* A statement's lines from a line id on, each with its item as it is now.
 * The item's object is the one the triggers of recon_items write
 * (schema/0016_changes.sql): keep the two in step. */
/* the SQL reads as one statement */
/* clang-format off */
#define FEED_TIME(col)                                                                                                 \
    "CONCAT(DATE_FORMAT(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL " col " DIV 1000 SECOND, '%Y-%m-%dT%H:%i:%s.'), "  \
    "LPAD(" col " MOD 1000, 3, '0'), 'Z')"
#define FEED_DAY(col)                                                                                                  \
    "CONCAT(" col " DIV 10000, '-', LPAD(" col " DIV 100 MOD 100, 2, '0'), '-', LPAD(" col " MOD 100, 2, '0'))"
static const char SQL_LINES[] =
    "SELECT l.id, JSON_OBJECT('statement_id', CONCAT('stm_', l.statement_id), 'account', l.account, "
    "'currency', l.currency, 'amount', l.amount, 'reversal', l.reversal <> 0, "
    "'booking_date', " FEED_DAY("l.booking_date") ", 'value_date', " FEED_DAY("l.value_date") ", "
    "'bank_ref', l.bank_ref, 'end_to_end', l.end_to_end, 'counterparty', l.counterparty, 'memo', l.memo, "
    "'type', l.type, 'duplicate', l.duplicate <> 0, 'created_at', " FEED_TIME("l.created_at") "), "
    "i.id, JSON_OBJECT('kind', i.kind, 'statement_id', CONCAT('stm_', i.statement_id), "
    "'line_id', CONCAT('stl_', i.line_id), 'transfer_ref', i.transfer_ref, 'gateway', i.gateway, "
    "'transaction_no', i.transaction_no, 'account', i.account, 'business_day', " FEED_DAY("i.business_day") ", "
    "'amount', i.amount, 'currency', i.currency, 'state', i.state, 'rule', i.rule, 'detail', i.detail, "
    "'unapplied', i.unapplied <> 0, 'resolution', i.resolution, 'resolved_at', " FEED_TIME("i.resolved_at") ", "
    "'note', i.note, 'paid_out', i.paid_out_by IS NOT NULL, 'created_at', " FEED_TIME("i.created_at") ", "
    "'updated_at', " FEED_TIME("i.updated_at") "), p.public_id "
    "FROM statement_lines l FORCE INDEX (ix_statement_lines_statement) "
    "LEFT JOIN recon_items i ON i.line_id = l.id AND i.kind = 'bank_line' "
    "LEFT JOIN payments p ON p.id = i.payment_id "
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

/* The key under which the feed adds the parent's public id to the data of
 * an entity, or NULL for none. */
static const char *parent_key(const fg_buf_t *entity)
{
    if (strcmp(entity->data, "payment") == 0)
        return "order_id";
    if (strcmp(entity->data, "refund") == 0 || strcmp(entity->data, "recon_item") == 0)
        return "payment_id";
    if (strcmp(entity->data, "statement") == 0)
        return "import_id";
    return NULL;
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

/* Appends a JSON text without the whitespace between its tokens (MariaDB
 * writes ", " and ": "; a page of a million objects is a tenth smaller
 * without them).  The text is well-formed, written by MariaDB's JSON
 * functions: only strings can hold a space that matters. */
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

/* A snapshot (a JSON object, never empty) with the key and value of a
 * reference put first: {"key":"value",…}. */
static void data_with(fg_buf_t *out, const fg_buf_t *data, const char *key, const fg_buf_t *value, int value_null)
{
    if (key == NULL || data->len < 2) {
        append_compact(out, data->data, data->len);
        return;
    }
    fg_buf_putc(out, '{');
    fg_json_key(out, 0, key);
    if (value_null)
        fg_buf_puts(out, "null");
    else
        fg_json_str(out, value->data, value->len);
    if (data->len > 2)
        fg_buf_putc(out, ',');
    append_compact(out, data->data + 1, data->len - 1);
}

static void render_change(fg_buf_t *out, const change_t *c, const char *at)
{
    object_head(out, c->seq, c->entity.data, c->object_id.data, c->object_id.len, c->op.data, at,
                c->merchant_null ? NULL : &c->merchant);
    data_with(out, &c->data, parent_key(&c->entity), &c->parent, c->parent_null);
    fg_buf_puts(out, "}\n");
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
 * 1 when the page filled before the line was done. */
static int render_line(page_t *p, const change_t *c, const char *at, const line_t *l)
{
    char id[FG_CHANGE_CURSOR_CAP];
    int64_t line_pos = 2 * l->line_id, item_pos = line_pos + 1;
    if (line_pos > p->cur.sub) {
        if (p->count == p->limit)
            return 1;
        int n = snprintf(id, sizeof(id), "stl_%lld", (long long)l->line_id);
        object_head(p->out, c->seq, "statement_line", id, (size_t)n, "insert", at, NULL);
        append_compact(p->out, l->line.data, l->line.len);
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
            data_with(p->out, &l->item, "payment_id", &l->payment, l->payment_null);
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
        if (full) {
            fg_stmt_done(&s);
            rc = 0;
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
            render_change(p->out, c, at);
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
    change_t c;
    char at[40];
    int rc = 0;
    memset(&c, 0, sizeof(c));
    if (p.cur.sub > 0) {
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
