/*
 * staff_order.c - GET /staff/orders/{id}: one order and what happened to
 * it, section by section: payments, refunds, events, webhook deliveries,
 * journals, reminders and receipt e-mails with their delivery status.  Reads only.  An order of another merchant than
 * an accountant's is 404 to it, as one that does not exist.
 */
#include "web/staff.h"

#include <stdlib.h>
#include <string.h>
#include "core/text.h"

/* Rows of each section: an order has a few of each. */
#define SECTION_ROWS_MAX 200
#define SECTION_COLS_MAX 9

/* clang-format off */
static const char SQL_ORDER[] =
    "SELECT o.id, o.merchant_id, o.code, o.merchant_ref, o.fee_type, COALESCE(o.payer_name, ''), o.amount, "
    "o.amount_paid, o.amount_refunded, o.currency, o.status, COALESCE(o.description, ''), o.created_at, "
    "m.public_id, m.name FROM orders o JOIN merchants m ON m.id = o.merchant_id WHERE o.public_id = ?";
static const char SQL_PAYMENTS[] =
    "SELECT public_id, adapter, CAST(amount AS CHAR), status, COALESCE(provider_txn_id, ''), "
    "COALESCE(failure_reason, ''), CAST(created_at AS CHAR) FROM payments WHERE order_id = ? ORDER BY id LIMIT ?";
static const char SQL_REFUNDS[] =
    "SELECT r.public_id, p.public_id, CAST(r.amount AS CHAR), r.status, COALESCE(r.reason, ''), "
    "CAST(r.created_at AS CHAR) FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.order_id = ? "
    "ORDER BY r.id LIMIT ?";
static const char SQL_EVENTS[] =
    "SELECT public_id, type, CAST(created_at AS CHAR) FROM events WHERE order_id = ? ORDER BY id LIMIT ?";
static const char SQL_DELIVERIES[] =
    "SELECT d.public_id, e.public_id, w.url, d.status, CAST(d.attempts AS CHAR), "
    "COALESCE(CAST(d.last_status_code AS CHAR), ''), COALESCE(d.last_error, ''), CAST(d.created_at AS CHAR) "
    "FROM webhook_deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_endpoints w ON w.id = d.endpoint_id "
    "WHERE d.order_id = ? ORDER BY d.id LIMIT ?";
static const char SQL_JOURNALS[] =
    "SELECT j.public_id, j.kind, COALESCE(j.memo, ''), CAST(j.created_at AS CHAR) FROM journals j "
    "WHERE j.payment_id IN (SELECT id FROM payments WHERE order_id = ?) OR j.refund_id IN (SELECT r.id FROM refunds r "
    "JOIN payments p ON p.id = r.payment_id WHERE p.order_id = ?) ORDER BY j.id LIMIT ?";
static const char SQL_REMINDERS[] =
    "SELECT public_id, kind, channel, recipient, COALESCE(CAST(send_day AS CHAR), ''), status, "
    "CAST(attempts AS CHAR), COALESCE(provider_ref, last_error, ''), CAST(COALESCE(sent_at, created_at) AS CHAR) "
    "FROM reminders WHERE order_id = ? ORDER BY id LIMIT ?";
/* clang-format on */

typedef struct {
    const char *hook, *title_vi, *title_en;
    const char *sql;
    int ncols, order_params;
    const char *heads[SECTION_COLS_MAX]; /* "vi|en" */
    char kinds[SECTION_COLS_MAX + 1];    /* t text, l long text (breaks anywhere), m money, w time */
} section_t;

static const section_t SECTIONS[] = {
    {"payments",
     "Thanh toán",
     "Payments",
     SQL_PAYMENTS,
     7,
     1,
     {"Mã|ID", "Kênh|Method", "Số tiền|Amount", "Trạng thái|Status", "Mã giao dịch|Provider ref", "Lỗi|Failure",
      "Lúc|At"},
     "ttmtllw"},
    {"refunds",
     "Hoàn tiền",
     "Refunds",
     SQL_REFUNDS,
     6,
     1,
     {"Mã|ID", "Thanh toán|Payment", "Số tiền|Amount", "Trạng thái|Status", "Lý do|Reason", "Lúc|At"},
     "ttmtlw"},
    {"events", "Sự kiện", "Events", SQL_EVENTS, 3, 1, {"Mã|ID", "Loại|Type", "Lúc|At"}, "ttw"},
    {"deliveries",
     "Gửi webhook",
     "Webhook deliveries",
     SQL_DELIVERIES,
     8,
     1,
     {"Mã|ID", "Sự kiện|Event", "Địa chỉ|URL", "Trạng thái|Status", "Lần gửi|Attempts", "HTTP|HTTP", "Lỗi|Error",
      "Lúc|At"},
     "ttltttlw"},
    {"journals", "Bút toán", "Journals", SQL_JOURNALS, 4, 2, {"Mã|ID", "Loại|Kind", "Ghi chú|Memo", "Lúc|At"}, "ttlw"},
    {"reminders",
     "Nhắc nộp tiền và biên lai gửi đi",
     "Reminders and receipts sent",
     SQL_REMINDERS,
     9,
     1,
     {"Mã|ID", "Loại|Kind", "Kênh|Channel", "Người nhận|Recipient", "Ngày gửi|Send day", "Trạng thái|Status",
      "Lần gửi|Attempts", "Nhà cung cấp / lỗi|Provider ref / error", "Lúc|At"},
     "tttltttlw"},
};

static void head_cell(fg_html_t *p, const char *both, int num)
{
    const char *bar = strchr(both, '|');
    fg_html_printf(p, "<th%s>", num ? " class=\"num\"" : "");
    if (p->lang == FG_LANG_EN)
        fg_html_text(p, bar + 1);
    else
        fg_html_textn(p, both, (size_t)(bar - both));
    fg_html_puts(p, "</th>");
}

static int section(fg_html_t *p, fg_db_t *db, const section_t *sec, int64_t order_id, const char *currency)
{
    fg_stmt_t st;
    fg_buf_t cells[SECTION_COLS_MAX];
    int rows = 0;
    for (int c = 0; c < sec->ncols; c++)
        cells[c] = (fg_buf_t)FG_BUF_INIT;
    int rc = fg_stmt_init(&st, db, sec->sql);
    if (rc == 0) {
        for (int i = 0; i < sec->order_params; i++)
            fg_stmt_int(&st, order_id);
        fg_stmt_int(&st, SECTION_ROWS_MAX);
        for (int c = 0; c < sec->ncols; c++)
            fg_stmt_out_text(&st, &cells[c], NULL);
        rc = fg_stmt_exec(&st);
    }
    const char *title = fg_html_tr(p, sec->title_vi, sec->title_en);
    /* the table fits a desk's width (long texts wrap); on a phone it keeps its width and its
     * box scrolls sideways, a region the keyboard reaches as on the other staff pages */
    fg_html_printf(p,
                   "<section data-section=\"%s\"><h2 id=\"section-%s\">%s</h2><div class=\"table-wrap\" tabindex=\"0\" "
                   "role=\"region\" aria-labelledby=\"section-%s\"><table class=\"data\"><thead><tr>",
                   sec->hook, sec->hook, title, sec->hook);
    for (int c = 0; c < sec->ncols; c++)
        head_cell(p, sec->heads[c], sec->kinds[c] == 'm');
    fg_html_puts(p, "</tr></thead><tbody>");
    while (rc == 0 && (rc = fg_stmt_fetch(&st)) == 1) {
        rc = 0;
        rows++;
        fg_html_puts(p, "<tr>");
        for (int c = 0; c < sec->ncols; c++) {
            const char *v = cells[c].len > 0 ? cells[c].data : "";
            if (sec->kinds[c] == 'm') {
                fg_html_puts(p, "<td class=\"num\">");
                fg_staff_money(p, strtoll(v, NULL, 10), currency);
            } else if (sec->kinds[c] == 'w') {
                fg_html_puts(p, "<td>");
                fg_staff_time(p, strtoll(v, NULL, 10));
            } else {
                fg_html_puts(p, sec->kinds[c] == 'l' ? "<td class=\"long\">" : "<td>");
                fg_html_text(p, v);
            }
            fg_html_puts(p, "</td>");
        }
        fg_html_puts(p, "</tr>");
    }
    if (rows == 0)
        fg_html_printf(p, "<tr><td colspan=\"%d\" class=\"muted\">%s</td></tr>", sec->ncols,
                       fg_html_tr(p, "Chưa có.", "None."));
    fg_html_puts(p, "</tbody></table></div></section>");
    for (int c = 0; c < sec->ncols; c++)
        fg_buf_free(&cells[c]);
    return rc < 0 ? rc : 0;
}

typedef struct {
    int64_t id, merchant_id, amount, paid, refunded, created;
    fg_buf_t code, ref, fee_type, payer, currency, status, description, merchant, merchant_name;
} order_t;

static int order_read(fg_db_t *db, const char *public_id, order_t *o)
{
    fg_stmt_t st;
    int rc = fg_stmt_init(&st, db, SQL_ORDER);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&st, public_id);
    fg_stmt_out_int(&st, &o->id, NULL);
    fg_stmt_out_int(&st, &o->merchant_id, NULL);
    fg_stmt_out_text(&st, &o->code, NULL);
    fg_stmt_out_text(&st, &o->ref, NULL);
    fg_stmt_out_text(&st, &o->fee_type, NULL);
    fg_stmt_out_text(&st, &o->payer, NULL);
    fg_stmt_out_int(&st, &o->amount, NULL);
    fg_stmt_out_int(&st, &o->paid, NULL);
    fg_stmt_out_int(&st, &o->refunded, NULL);
    fg_stmt_out_text(&st, &o->currency, NULL);
    fg_stmt_out_text(&st, &o->status, NULL);
    fg_stmt_out_text(&st, &o->description, NULL);
    fg_stmt_out_int(&st, &o->created, NULL);
    fg_stmt_out_text(&st, &o->merchant, NULL);
    fg_stmt_out_text(&st, &o->merchant_name, NULL);
    return fg_stmt_one(&st);
}

static void order_free(order_t *o)
{
    fg_buf_t *b[] = {&o->code,   &o->ref,         &o->fee_type, &o->payer,        &o->currency,
                     &o->status, &o->description, &o->merchant, &o->merchant_name};
    for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
        fg_buf_free(b[i]);
}

static void row(fg_html_t *p, const char *vi, const char *en, const fg_buf_t *v)
{
    fg_html_printf(p, "<dt>%s</dt><dd>", fg_html_tr(p, vi, en));
    fg_html_text(p, v->len > 0 ? v->data : "");
    fg_html_puts(p, "</dd>");
}

void fg_staff_order(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    order_t o;
    memset(&o, 0, sizeof(o));
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    int rc = order_read(db, call->params[0], &o);
    uint64_t scope = fg_staff_scope(&s);
    if (rc == FG_ENOTFOUND || (rc == 0 && scope != 0 && (uint64_t)o.merchant_id != scope)) {
        fg_db_end(db);
        fg_staff_not_found(call);
        goto Exit;
    }
    if (rc != 0) {
        fg_db_end(db);
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    fg_html_t p;
    fg_staff_begin(&p, &s, "staff-order", "Hóa đơn", "Order");
    fg_html_printf(&p, "<h1>%s ", fg_html_tr(&p, "Hóa đơn", "Order"));
    fg_html_text(&p, o.code.data);
    fg_html_puts(&p, "</h1><div class=\"card\"><dl class=\"grid2\" data-order=\"");
    fg_html_text(&p, call->params[0]);
    fg_html_puts(&p, "\"><div>");
    row(&p, "Đơn vị", "Merchant", &o.merchant_name);
    row(&p, "Số hóa đơn", "Merchant ref", &o.ref);
    row(&p, "Loại phí", "Fee type", &o.fee_type);
    row(&p, "Người nộp", "Payer", &o.payer);
    row(&p, "Nội dung", "Description", &o.description);
    fg_html_printf(&p, "</div><div><dt>%s</dt><dd>", fg_html_tr(&p, "Số tiền", "Amount"));
    fg_staff_money(&p, o.amount, o.currency.data);
    fg_html_printf(&p, "</dd><dt>%s</dt><dd>", fg_html_tr(&p, "Đã nộp", "Paid"));
    fg_staff_money(&p, o.paid, o.currency.data);
    fg_html_printf(&p, "</dd><dt>%s</dt><dd>", fg_html_tr(&p, "Đã hoàn", "Refunded"));
    fg_staff_money(&p, o.refunded, o.currency.data);
    fg_html_printf(&p, "</dd><dt>%s</dt><dd><span class=\"badge\" data-status=\"",
                   fg_html_tr(&p, "Trạng thái", "Status"));
    fg_html_text(&p, o.status.data);
    fg_html_puts(&p, "\">");
    fg_html_text(&p, o.status.data);
    fg_html_printf(&p, "</span></dd><dt>%s</dt><dd>", fg_html_tr(&p, "Tạo lúc", "Created"));
    fg_staff_time(&p, o.created);
    fg_html_puts(&p, "</dd></div></dl></div>");
    for (size_t i = 0; i < sizeof(SECTIONS) / sizeof(SECTIONS[0]) && rc == 0; i++)
        rc = section(&p, db, &SECTIONS[i], o.id, o.currency.data);
    fg_db_end(db);
    if (rc != 0) {
        fg_buf_free(&p.body);
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    fg_html_end(&p, 200);
Exit:
    order_free(&o);
}
