/*
 * staff_orders.c - GET /staff/orders (search by code, merchant ref or payer;
 * status; created from/to; paged) and GET /staff/orders/{id} (the order's
 * timeline: payments, refunds, events, webhook deliveries, journals).
 * Reads only.  An accountant's search is its merchant's, and another
 * merchant's order is 404 to it.
 */
#include "web/staff.h"

#include <stdio.h>
#include <string.h>
#include "core/day.h"
#include "core/text.h"
#include "orders/orders.h"
#include "web/payer.h"

/* Rows on one page of the search. */
#define SEARCH_PAGE_ROWS 50
/* The longest search text kept: a payer's name is 200 characters. */
#define SEARCH_TEXT_MAX 200
/* Rows of each section of a timeline: an order has a few of each. */
#define TIMELINE_ROWS_MAX 200

/* A search text that starts more payers' names than this is searched
 * newest first (below). */
#define SEARCH_COMMON_MIN 2000

/* clang-format off */
/* The page's orders are chosen from orders alone, newest first, then joined:
 * a code, a merchant_ref or a name few payers share comes through the
 * indexes (uq_orders_code, ix_orders_ref: migration 0031; a name through
 * ix_orders_payer_fold, its marks and case folded: 0040),
 * no text or a status through the primary key, newest first (chosen with the
 * join, MariaDB read every order and sorted them: 0.4-0.7 s at 300,000
 * orders where this reads 5-8 ms). */
#define SEARCH_PICK(hint) \
    "SELECT o.id, o.public_id, o.code, o.merchant_ref, COALESCE(o.payer_name, ''), o.amount, o.amount_paid, " \
    "o.currency, o.status, o.created_at, m.public_id, m.name FROM (SELECT o.id FROM orders o " hint " " \
    "WHERE (? = 0 OR o.merchant_id = ?) AND (? < 1 OR o.id < ?) " \
    "AND (? IS NULL OR o.code = ? OR o.merchant_ref = ? OR o.payer_name_fold LIKE CONCAT(?, '%') ESCAPE '!') " \
    "AND (? IS NULL OR o.status = ?) AND (? IS NULL OR o.created_at >= ?) AND (? IS NULL OR o.created_at < ?) " \
    "ORDER BY o.id DESC LIMIT ?) k JOIN orders o ON o.id = k.id JOIN merchants m ON m.id = o.merchant_id " \
    "ORDER BY o.id DESC"
static const char SQL_SEARCH[] = SEARCH_PICK("");
/* a name many payers share ("Nguyễn": four in ten), for every school: its
 * matches are dense newest first (through its index, MariaDB sorted them
 * all: 0.25 s at 300,000 orders where this reads 7 ms) */
static const char SQL_SEARCH_NEWEST[] = SEARCH_PICK("FORCE INDEX (PRIMARY)");
static const char SQL_NAMES_STARTING[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE payer_name_fold LIKE CONCAT(?, '%') ESCAPE '!' LIMIT ?) x";
/* clang-format on */

/* Which search serves text q for scope (0: every school): newest first
 * when q starts more than SEARCH_COMMON_MIN payers' names and every school
 * is searched; else as MariaDB plans it. */
static const char *search_sql(fg_db_t *db, int64_t scope, const char *q, const char *prefix)
{
    if (q == NULL || scope != 0)
        return SQL_SEARCH;
    fg_stmt_t st;
    int common = 0;
    if (fg_stmt_init(&st, db, SQL_NAMES_STARTING) == 0) {
        fg_stmt_cstr(&st, prefix);
        if (fg_stmt_count_reaches(&st, SEARCH_COMMON_MIN + 1, &common) != 0)
            common = 0; /* as MariaDB plans it */
    }
    return common ? SQL_SEARCH_NEWEST : SQL_SEARCH;
}

static const char *const STATUSES[] = {"open", "partially_paid", "paid", "cancelled", "expired"};

typedef struct {
    fg_buf_t q, status, from, to;
    fg_buf_t prefix; /* q as the start of a LIKE pattern: its % and _ taken as themselves */
    char code[FG_ORDER_CODE_LEN + 1];
    int64_t cursor, from_ms, to_ms;
    int has_from, has_to;
} search_t;

static const char *query_text(fg_call_t *call, const char *name, fg_buf_t *out)
{
    size_t len;
    const char *v = fg_call_query(call, name, &len);
    fg_buf_reset(out);
    if (v != NULL && len > 0 && len <= SEARCH_TEXT_MAX && fg_utf8_valid(v, len))
        fg_buf_append(out, v, len);
    fg_buf_putc(out, '\0');
    out->len--;
    return out->len > 0 ? out->data : NULL;
}

/* The search text as the start of a LIKE pattern (… LIKE CONCAT(?, '%')
 * ESCAPE '!'): a name with "%" or "_" in it is searched for as written, not
 * as wildcards ("_" alone matched every payer). */
static void like_prefix(const fg_buf_t *q, fg_buf_t *out)
{
    fg_buf_reset(out);
    for (size_t i = 0; i < q->len; i++) {
        if (q->data[i] == '!' || q->data[i] == '%' || q->data[i] == '_')
            fg_buf_putc(out, '!');
        fg_buf_putc(out, q->data[i]);
    }
    fg_buf_putc(out, '\0');
    out->len--;
}

/* Reads the filters; -1 after answering 400. */
static int search_read(fg_call_t *call, search_t *f)
{
    int32_t day;
    const char *v;
    query_text(call, "q", &f->q);
    if ((v = query_text(call, "status", &f->status)) != NULL) {
        int known = 0;
        for (size_t i = 0; i < sizeof(STATUSES) / sizeof(STATUSES[0]); i++)
            known |= strcmp(v, STATUSES[i]) == 0;
        if (!known) {
            fg_staff_bad(call, 400, "Trạng thái không hợp lệ.", "Unknown status.");
            return -1;
        }
    }
    if ((v = query_text(call, "from", &f->from)) != NULL) {
        if (fg_day_parse(v, strlen(v), &day) != 0)
            goto Bad_date;
        f->from_ms = fg_day_start_ms(day);
        f->has_from = 1;
    }
    if ((v = query_text(call, "to", &f->to)) != NULL) {
        if (fg_day_parse(v, strlen(v), &day) != 0)
            goto Bad_date;
        f->to_ms = fg_day_start_ms(fg_day_next(day));
        f->has_to = 1;
    }
    v = fg_call_query(call, "cursor", NULL);
    if (v != NULL && sscanf(v, "%lld", (long long *)&f->cursor) != 1)
        f->cursor = 0;
    like_prefix(&f->q, &f->prefix);
    /* a code as people type it: spaces, dashes, lower case */
    if (f->q.len > 0 && fg_order_code_normalize(f->q.data, f->q.len, f->code, sizeof(f->code)) != 0)
        f->code[0] = '\0';
    return 0;
Bad_date:
    fg_staff_bad(call, 400, "Ngày phải có dạng YYYY-MM-DD.", "Dates are YYYY-MM-DD.");
    return -1;
}

static void filter_form(fg_html_t *p, const search_t *f)
{
    fg_html_printf(p,
                   "<form method=\"get\" action=\"/staff/orders\" class=\"filters card\" role=\"search\">"
                   "<div><label for=\"q\">%s</label><input id=\"q\" name=\"q\" value=\"",
                   fg_html_tr(p, "Mã, số hóa đơn hoặc người nộp", "Code, merchant ref or payer"));
    fg_html_text(p, f->q.len > 0 ? f->q.data : "");
    fg_html_printf(p,
                   "\"></div><div><label for=\"status\">%s</label><select id=\"status\" name=\"status\">"
                   "<option value=\"\">%s</option>",
                   fg_html_tr(p, "Trạng thái", "Status"), fg_html_tr(p, "Tất cả", "Any"));
    for (size_t i = 0; i < sizeof(STATUSES) / sizeof(STATUSES[0]); i++)
        fg_html_printf(p, "<option%s>%s</option>",
                       f->status.len > 0 && strcmp(f->status.data, STATUSES[i]) == 0 ? " selected" : "", STATUSES[i]);
    fg_html_printf(p,
                   "</select></div><div><label for=\"from\">%s</label><input id=\"from\" name=\"from\" "
                   "type=\"date\" value=\"",
                   fg_html_tr(p, "Từ ngày", "From"));
    fg_html_text(p, f->from.len > 0 ? f->from.data : "");
    fg_html_printf(p, "\"></div><div><label for=\"to\">%s</label><input id=\"to\" name=\"to\" type=\"date\" value=\"",
                   fg_html_tr(p, "Đến ngày", "To"));
    fg_html_text(p, f->to.len > 0 ? f->to.data : "");
    fg_html_printf(p, "\"></div><div><button type=\"submit\">%s</button></div></form>", fg_html_tr(p, "Tìm", "Search"));
}

/* The link to the next page: the same filters, after cursor. */
static void next_link(fg_html_t *p, fg_call_t *call, const search_t *f, int64_t after)
{
    fg_html_puts(p, "<nav class=\"pager\"><a rel=\"next\" data-next href=\"/staff/orders?");
    const char *names[] = {"q", "status", "from", "to"};
    const fg_buf_t *values[] = {&f->q, &f->status, &f->from, &f->to};
    for (int i = 0; i < 4; i++) {
        if (values[i]->len == 0)
            continue;
        fg_html_printf(p, "%s=", names[i]);
        for (size_t k = 0; k < values[i]->len; k++) {
            unsigned char c = (unsigned char)values[i]->data[k];
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
                fg_html_printf(p, "%c", c);
            else
                fg_html_printf(p, "%%%02X", c);
        }
        fg_html_puts(p, "&amp;");
    }
    fg_html_printf(p, "cursor=%lld\">%s</a></nav>", (long long)after, fg_html_tr(p, "Trang sau →", "Next page →"));
    (void)call;
}

void fg_staff_orders(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    search_t f;
    memset(&f, 0, sizeof(f));
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0 || search_read(call, &f) != 0)
        goto Exit;
    int64_t scope = (int64_t)fg_staff_scope(&s);
    const char *q = f.q.len > 0 ? f.q.data : NULL, *code = f.code[0] != '\0' ? f.code : q;
    const char *status = f.status.len > 0 ? f.status.data : NULL;
    fg_stmt_t st;
    int64_t id = 0, amount = 0, paid = 0, created = 0, last = 0;
    fg_buf_t pub = FG_BUF_INIT, ocode = FG_BUF_INIT, ref = FG_BUF_INIT, payer = FG_BUF_INIT, cur = FG_BUF_INIT,
             ostatus = FG_BUF_INIT, mer = FG_BUF_INIT, mname = FG_BUF_INIT;
    fg_html_t p;
    int rows = 0, rc = fg_stmt_init(&st, db, search_sql(db, scope, q, f.prefix.data));
    if (rc == 0) {
        fg_stmt_int(&st, scope);
        fg_stmt_int(&st, scope);
        fg_stmt_int(&st, f.cursor);
        fg_stmt_int(&st, f.cursor);
        fg_stmt_cstr(&st, q);
        fg_stmt_cstr(&st, code);
        fg_stmt_cstr(&st, q);
        fg_stmt_cstr(&st, q != NULL ? f.prefix.data : NULL);
        fg_stmt_cstr(&st, status);
        fg_stmt_cstr(&st, status);
        fg_stmt_int_or_null(&st, f.has_from ? &f.from_ms : NULL);
        fg_stmt_int_or_null(&st, f.has_from ? &f.from_ms : NULL);
        fg_stmt_int_or_null(&st, f.has_to ? &f.to_ms : NULL);
        fg_stmt_int_or_null(&st, f.has_to ? &f.to_ms : NULL);
        fg_stmt_int(&st, SEARCH_PAGE_ROWS + 1);
        fg_stmt_out_int(&st, &id, NULL);
        fg_stmt_out_text(&st, &pub, NULL);
        fg_stmt_out_text(&st, &ocode, NULL);
        fg_stmt_out_text(&st, &ref, NULL);
        fg_stmt_out_text(&st, &payer, NULL);
        fg_stmt_out_int(&st, &amount, NULL);
        fg_stmt_out_int(&st, &paid, NULL);
        fg_stmt_out_text(&st, &cur, NULL);
        fg_stmt_out_text(&st, &ostatus, NULL);
        fg_stmt_out_int(&st, &created, NULL);
        fg_stmt_out_text(&st, &mer, NULL);
        fg_stmt_out_text(&st, &mname, NULL);
        rc = fg_stmt_exec(&st);
    }
    if (rc != 0) {
        fg_db_end(db);
        fg_staff_unavailable(call, db, rc);
        goto Free;
    }
    fg_staff_begin(&p, &s, "staff-orders", "Hóa đơn", "Orders");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Tìm hóa đơn", "Find orders"));
    filter_form(&p, &f);
    fg_html_printf(&p,
                   "<div class=\"table-wrap\"><table class=\"data\" data-table=\"orders\"><thead><tr><th>%s</th>"
                   "<th>%s</th><th>%s</th><th>%s</th><th class=\"num\">%s</th><th class=\"num\">%s</th><th>%s</th>"
                   "<th>%s</th></tr></thead><tbody>",
                   fg_html_tr(&p, "Mã thanh toán", "Code"), fg_html_tr(&p, "Số hóa đơn", "Merchant ref"),
                   fg_html_tr(&p, "Người nộp", "Payer"), fg_html_tr(&p, "Đơn vị", "Merchant"),
                   fg_html_tr(&p, "Số tiền", "Amount"), fg_html_tr(&p, "Đã nộp", "Paid"),
                   fg_html_tr(&p, "Trạng thái", "Status"), fg_html_tr(&p, "Tạo lúc", "Created"));
    while ((rc = fg_stmt_fetch(&st)) == 1) {
        if (++rows > SEARCH_PAGE_ROWS)
            continue;
        last = id;
        fg_html_puts(&p, "<tr data-order=\"");
        fg_html_text(&p, pub.data);
        fg_html_puts(&p, "\"><td><a href=\"/staff/orders/");
        fg_html_text(&p, pub.data);
        fg_html_puts(&p, "\">");
        fg_html_text(&p, ocode.data);
        fg_html_puts(&p, "</a></td><td>");
        fg_html_text(&p, ref.data);
        fg_html_puts(&p, "</td><td>");
        fg_html_text(&p, payer.data);
        fg_html_puts(&p, "</td><td>");
        fg_html_text(&p, mname.data);
        fg_html_puts(&p, "</td><td class=\"num\">");
        fg_staff_money(&p, amount, cur.data);
        fg_html_puts(&p, "</td><td class=\"num\">");
        fg_staff_money(&p, paid, cur.data);
        /* the status in words, as the payer's bill says it; data-status keeps its name */
        fg_order_status_t os;
        int known = fg_order_status_parse(ostatus.data, ostatus.len, &os) == 0;
        fg_html_printf(&p, "</td><td><span class=\"badge %s\" data-status=\"", known ? fg_bill_status_class(os) : "");
        fg_html_text(&p, ostatus.data);
        fg_html_puts(&p, "\">");
        fg_html_text(&p, known ? fg_bill_status_text(&p, os) : ostatus.data);
        fg_html_puts(&p, "</span></td><td>");
        fg_staff_time(&p, created);
        fg_html_puts(&p, "</td></tr>");
    }
    fg_db_end(db);
    if (rows == 0)
        fg_html_printf(&p, "<tr><td colspan=\"8\" class=\"muted\">%s</td></tr>",
                       fg_html_tr(&p, "Không có hóa đơn nào khớp.", "No order matches."));
    fg_html_puts(&p, "</tbody></table></div>");
    if (rows > SEARCH_PAGE_ROWS)
        next_link(&p, call, &f, last);
    fg_html_end(&p, rc < 0 ? 500 : 200);
Free:
    fg_buf_free(&pub);
    fg_buf_free(&ocode);
    fg_buf_free(&ref);
    fg_buf_free(&payer);
    fg_buf_free(&cur);
    fg_buf_free(&ostatus);
    fg_buf_free(&mer);
    fg_buf_free(&mname);
Exit:
    fg_buf_free(&f.q);
    fg_buf_free(&f.prefix);
    fg_buf_free(&f.status);
    fg_buf_free(&f.from);
    fg_buf_free(&f.to);
}
