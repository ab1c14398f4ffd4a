/*
 * staff_overview.c - GET /staff: today's and this month's collections by fee
 * type and by payment method (reports/reports.h, the same report as
 * GET /v1/reports/collections), with a bar chart drawn here as SVG markup.
 * Every figure is of one currency: the totals show one amount per currency
 * (VND first), the tables a row per fee type or method and currency, and the
 * chart scales each currency's bars by that currency's largest.
 * Below them, the latest payments whose money could not be applied to their
 * bill (the order was paid already, cancelled or expired): what staff must
 * refund or apply by hand.  An accountant sees its own merchant's figures.
 */
#include "web/staff.h"

#include <string.h>
#include "core/day.h"
#include "core/text.h"
#include "reports/reports.h"
#include "web/payer.h"

/* The chart's drawing units (the SVG scales to its box, text with it: the
 * box is at most 32rem wide, so that a name reads 13 px on a phone and 20 on
 * a desk; at the whole width of a desk it read 39 px, above the heading). */
#define CHART_WIDTH 400
/* each row's name above its two bars, which take the whole width: a name
 * beside them ran into them ("Lệ phí thủ tục · USD") */
#define CHART_LABEL_HEIGHT 18
#define CHART_ROW_HEIGHT 56
#define CHART_BAR_HEIGHT 14
/* Fee types and methods are a handful; a chart of more is unreadable. */
#define CHART_ROWS_MAX 16

/* The collections of [from, to] grouped by one dimension. */
static int collections(fg_db_t *db, uint64_t merchant, int32_t from, int32_t to, const char *by, fg_table_t *t)
{
    fg_collections_query_t q;
    char msg[160];
    memset(&q, 0, sizeof(q));
    q.from_day = from;
    q.to_day = to;
    q.merchant_id = merchant;
    if (fg_group_by_parse(by, strlen(by), FG_DIMS_COLLECTIONS, &q.group, msg, sizeof(msg)) != 0)
        return FG_EINVALID;
    int rc = fg_report_collections(db, &q, t);
    fg_db_end(db);
    return rc;
}

static int col_of(const fg_table_t *t, const char *key)
{
    for (int c = 0; c < t->ncols; c++)
        if (strcmp(t->cols[c].key, key) == 0)
            return c;
    return -1;
}

/* A row's currency (the report's currency column). */
static const char *currency_of(const fg_table_t *t, const fg_cell_t *row)
{
    const char *c = row[t->currency_col - 1].text;
    return c != NULL ? c : "";
}

/* What a row's key is called on the page: a fee type or a method in the
 * page's language (the reports' codes, "tuition", "vnpay", are the API's;
 * a method as the bill page names it); any other key as it is. */
static const char *key_label(const fg_html_t *p, const char *hook, const char *key)
{
    static const struct {
        const char *key, *vi, *en;
    } FEE_TYPES[] = {
        {"tuition", "Học phí", "Tuition"},
        {"utility", "Điện, nước, dịch vụ", "Utilities"},
        {"procedure", "Lệ phí thủ tục", "Procedure fees"},
    };
    static const char *const METHODS[] = {"vnpay", "momo", "vietqr", "sandbox"};
    if (strcmp(hook, "adapter") == 0) {
        for (size_t i = 0; i < sizeof(METHODS) / sizeof(METHODS[0]); i++)
            if (strcmp(METHODS[i], key) == 0)
                return fg_payer_method_label(p, key);
        return key;
    }
    for (size_t i = 0; i < sizeof(FEE_TYPES) / sizeof(FEE_TYPES[0]); i++)
        if (strcmp(FEE_TYPES[i].key, key) == 0)
            return fg_html_tr(p, FEE_TYPES[i].vi, FEE_TYPES[i].en);
    return key;
}

/* The collected amount of the row whose first column is key and whose currency is currency, or 0. */
static int64_t collected_of(const fg_table_t *t, const char *key, const char *currency)
{
    int c = col_of(t, "collected");
    for (size_t r = 0; r < t->nrows; r++) {
        const fg_cell_t *row = &t->cells[r * (size_t)t->ncols];
        if (row[0].text != NULL && strcmp(row[0].text, key) == 0 && strcmp(currency_of(t, row), currency) == 0)
            return row[c].num;
    }
    return 0;
}

/* A card's total: one amount per currency, VND first (the report's order); 0 ₫ when nothing was collected. */
static void totals(fg_html_t *p, const fg_table_t *t)
{
    int c = col_of(t, "collected");
    if (t->ncurrencies == 0)
        fg_html_puts(p, "<p class=\"amount\" data-currency=\"VND\">0&nbsp;₫</p>");
    for (size_t i = 0; i < t->ncurrencies; i++) {
        fg_html_printf(p, "<p class=\"amount\" data-currency=\"%s\">", t->by_currency[i].currency);
        fg_staff_money(p, t->by_currency[i].totals[c], t->by_currency[i].currency);
        fg_html_puts(p, "</p>");
    }
}

static void table(fg_html_t *p, const fg_table_t *month, const fg_table_t *today, const char *head_vi,
                  const char *head_en, const char *hook)
{
    int count = col_of(month, "count"), collected = col_of(month, "collected"), net = col_of(month, "net");
    fg_html_printf(p,
                   "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"%s\"><table "
                   "class=\"data\" data-table=\"%s\"><thead><tr><th>%s</th>"
                   "<th class=\"num\">%s</th><th class=\"num\">%s</th><th class=\"num\">%s</th>"
                   "<th class=\"num\">%s</th></tr></thead><tbody>",
                   fg_html_tr(p, head_vi, head_en), hook, fg_html_tr(p, head_vi, head_en),
                   fg_html_tr(p, "Hôm nay", "Today"), fg_html_tr(p, "Số giao dịch tháng", "Payments this month"),
                   fg_html_tr(p, "Đã thu tháng này", "Collected this month"), fg_html_tr(p, "Thực thu", "Net"));
    for (size_t r = 0; r < month->nrows; r++) {
        const fg_cell_t *row = &month->cells[r * (size_t)month->ncols];
        const char *key = row[0].text != NULL ? row[0].text : "", *currency = currency_of(month, row);
        fg_html_printf(p, "<tr data-currency=\"%s\" data-key=\"", currency); /* a checked ISO 4217 code */
        fg_html_text(p, key);
        fg_html_puts(p, "\"><td>");
        fg_html_text(p, key_label(p, hook, key));
        fg_html_puts(p, "</td><td class=\"num\">");
        fg_staff_money(p, collected_of(today, key, currency), currency);
        fg_html_printf(p, "</td><td class=\"num\">%lld</td><td class=\"num\">", (long long)row[count].num);
        fg_staff_money(p, row[collected].num, currency);
        fg_html_puts(p, "</td><td class=\"num\">");
        fg_staff_money(p, row[net].num, currency);
        fg_html_puts(p, "</td></tr>");
    }
    if (month->nrows == 0)
        fg_html_printf(p, "<tr><td colspan=\"5\" class=\"muted\">%s</td></tr>",
                       fg_html_tr(p, "Chưa thu khoản nào trong tháng.", "Nothing collected this month."));
    fg_html_puts(p, "</tbody></table></div>");
}

/* The largest amount collected this month in one currency among the chart's rows (at least 1). */
static int64_t chart_max(const fg_table_t *month, size_t rows, const char *currency)
{
    int collected = col_of(month, "collected");
    int64_t max = 1;
    for (size_t r = 0; r < rows; r++) {
        const fg_cell_t *row = &month->cells[r * (size_t)month->ncols];
        if (strcmp(currency_of(month, row), currency) == 0 && row[collected].num > max)
            max = row[collected].num;
    }
    return max;
}

/* A bar's width in whole units, value * span / max (0 <= value <= max), and
 * one more so that a small amount still shows.  The product is made only
 * when it fits int64; otherwise max is scaled down first.  The division is
 * not by a fixed 1,000 as for dong alone: a few dollars are a few hundred
 * cents, and would have drawn no bar at all. */
static int bar_width(int64_t value, int64_t max, int span)
{
    if (value <= 0)
        return 0;
    int64_t units = max <= INT64_MAX / span ? value * span / max : value / (max / span + 1);
    return (int)units + 1;
}

/* One row per fee type and currency: this month's bar and, over it, today's.  Bars of one currency
 * share a scale; a cent and a dong are not drawn to the same one. */
static void chart(fg_html_t *p, const fg_table_t *month, const fg_table_t *today)
{
    int collected = col_of(month, "collected");
    size_t rows = month->nrows < CHART_ROWS_MAX ? month->nrows : CHART_ROWS_MAX;
    int height = (int)rows * CHART_ROW_HEIGHT + 10;
    fg_html_printf(p,
                   "<svg class=\"chart\" data-chart=\"collections\" viewBox=\"0 0 %d %d\" role=\"img\" "
                   "aria-labelledby=\"chart-title\"><title id=\"chart-title\">%s</title>",
                   CHART_WIDTH, height,
                   fg_html_tr(p, "Đã thu theo loại phí: hôm nay và tháng này",
                              "Collected by fee type: today and this month"));
    const int span = CHART_WIDTH - 10;
    for (size_t r = 0; r < rows; r++) {
        const fg_cell_t *row = &month->cells[r * (size_t)month->ncols];
        const char *key = row[0].text != NULL ? row[0].text : "", *currency = currency_of(month, row);
        int64_t m = row[collected].num, d = collected_of(today, key, currency), max = chart_max(month, rows, currency);
        int wm = bar_width(m, max, span), wd = bar_width(d, max, span);
        int y = (int)r * CHART_ROW_HEIGHT + 5;
        fg_html_printf(p, "<text x=\"0\" y=\"%d\">", y + CHART_LABEL_HEIGHT - 4);
        fg_html_text(p, key_label(p, "fee_type", key));
        if (strcmp(currency, "VND") != 0)
            fg_html_printf(p, " · %s", currency);
        fg_html_printf(p,
                       "</text><rect class=\"bar-month\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                       "data-value=\"%lld\" data-currency=\"%s\"></rect>"
                       "<rect class=\"bar-today\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                       "data-value=\"%lld\" data-currency=\"%s\"></rect>",
                       0, y + CHART_LABEL_HEIGHT, wm, CHART_BAR_HEIGHT, (long long)m, currency, 0,
                       y + CHART_LABEL_HEIGHT + CHART_BAR_HEIGHT + 2, wd, CHART_BAR_HEIGHT, (long long)d, currency);
    }
    fg_html_printf(p,
                   "</svg><p class=\"legend\"><span><span class=\"swatch month\"></span>%s</span>"
                   "<span><span class=\"swatch today\"></span>%s</span></p>",
                   fg_html_tr(p, "Tháng này", "This month"), fg_html_tr(p, "Hôm nay", "Today"));
}

/* ---- money not applied to a bill ------------------------------------------------ */

#define UNAPPLIED_ROWS 20

static const char SQL_UNAPPLIED[] =
    "SELECT p.public_id, o.public_id, o.code, m.name, p.adapter, COALESCE(p.amount_received, 0), "
    "p.amount_unapplied, p.amount_refunded, p.currency, o.status, p.updated_at "
    "FROM payments p JOIN orders o ON o.id = p.order_id JOIN merchants m ON m.id = p.merchant_id "
    "WHERE p.amount_unapplied > 0 AND (? = 0 OR p.merchant_id = ?) ORDER BY p.updated_at DESC LIMIT ?";

typedef struct {
    fg_buf_t payment, order, code, merchant, adapter, currency, status;
    int64_t received, unapplied, refunded, at;
} unapplied_row_t;

static void unapplied_row(fg_html_t *p, const unapplied_row_t *r)
{
    fg_html_puts(p, "<tr data-payment=\"");
    fg_html_text(p, r->payment.data);
    fg_html_puts(p, "\"><td>");
    fg_staff_time(p, r->at);
    fg_html_puts(p, "</td><td><a href=\"/staff/orders/");
    fg_html_text(p, r->order.data);
    fg_html_puts(p, "\">");
    fg_html_text(p, r->code.data);
    fg_html_puts(p, "</a> <span class=\"badge\" data-status=\"");
    fg_html_text(p, r->status.data);
    fg_html_puts(p, "\">");
    fg_html_text(p, r->status.data);
    fg_html_puts(p, "</span></td><td class=\"num\" data-unapplied>");
    fg_staff_money(p, r->unapplied, r->currency.data);
    fg_html_puts(p, "</td><td class=\"num\">");
    fg_staff_money(p, r->refunded, r->currency.data);
    fg_html_puts(p, "</td><td class=\"num\">");
    fg_staff_money(p, r->received, r->currency.data);
    fg_html_puts(p, "</td><td>");
    fg_html_text(p, r->adapter.data);
    fg_html_puts(p, "</td><td>");
    fg_html_text(p, r->merchant.data);
    fg_html_puts(p, "</td></tr>");
}

/* The table of the latest payments with unapplied money; 0 or a database code. */
static int unapplied(fg_html_t *p, fg_db_t *db, uint64_t scope)
{
    unapplied_row_t r;
    fg_stmt_t st;
    memset(&r, 0, sizeof(r));
    int rows = 0, rc = fg_stmt_init(&st, db, SQL_UNAPPLIED);
    if (rc == 0) {
        fg_stmt_int(&st, (int64_t)scope);
        fg_stmt_int(&st, (int64_t)scope);
        fg_stmt_int(&st, UNAPPLIED_ROWS);
        fg_stmt_out_text(&st, &r.payment, NULL);
        fg_stmt_out_text(&st, &r.order, NULL);
        fg_stmt_out_text(&st, &r.code, NULL);
        fg_stmt_out_text(&st, &r.merchant, NULL);
        fg_stmt_out_text(&st, &r.adapter, NULL);
        fg_stmt_out_int(&st, &r.received, NULL);
        fg_stmt_out_int(&st, &r.unapplied, NULL);
        fg_stmt_out_int(&st, &r.refunded, NULL);
        fg_stmt_out_text(&st, &r.currency, NULL);
        fg_stmt_out_text(&st, &r.status, NULL);
        fg_stmt_out_int(&st, &r.at, NULL);
        rc = fg_stmt_exec(&st);
    }
    if (rc == 0) {
        fg_html_printf(p,
                       "<h2 id=\"unapplied\">%s</h2><p class=\"muted\">%s</p><div class=\"table-wrap\" "
                       "tabindex=\"0\" role=\"region\" aria-labelledby=\"unapplied\"><table class=\"data\" "
                       "data-table=\"unapplied\"><thead><tr><th>%s</th><th>%s</th><th class=\"num\">%s</th>"
                       "<th class=\"num\">%s</th><th class=\"num\">%s</th><th>%s</th><th>%s</th></tr></thead>"
                       "<tbody>",
                       fg_html_tr(p, "Tiền chưa vào hóa đơn", "Money not applied to a bill"),
                       fg_html_tr(p,
                                  "Khoản nộp đến khi hóa đơn đã thanh toán, đã hủy hoặc đã hết hạn: cần hoàn trả "
                                  "hoặc xử lý.",
                                  "Payments that arrived when their bill was already paid, cancelled or expired: to "
                                  "refund or settle by hand."),
                       fg_html_tr(p, "Lúc", "When"), fg_html_tr(p, "Hóa đơn", "Order"),
                       fg_html_tr(p, "Chưa vào hóa đơn", "Unapplied"), fg_html_tr(p, "Đã hoàn", "Refunded"),
                       fg_html_tr(p, "Đã nhận", "Received"), fg_html_tr(p, "Kênh", "Method"),
                       fg_html_tr(p, "Đơn vị", "Merchant"));
        while ((rc = fg_stmt_fetch(&st)) == 1) {
            rows++;
            unapplied_row(p, &r);
        }
        if (rows == 0)
            fg_html_printf(p, "<tr><td colspan=\"7\" class=\"muted\">%s</td></tr>",
                           fg_html_tr(p, "Không có khoản nào.", "None."));
        fg_html_puts(p, "</tbody></table></div>");
    }
    fg_db_end(db);
    fg_buf_t *bufs[] = {&r.payment, &r.order, &r.code, &r.merchant, &r.adapter, &r.currency, &r.status};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        fg_buf_free(bufs[i]);
    return rc < 0 ? rc : 0;
}

void fg_staff_overview(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    int32_t today = fg_day_of_ms(fg_now_ms());
    int32_t month_start = today / 100 * 100 + 1;
    uint64_t scope = fg_staff_scope(&s);
    fg_table_t fee_day, fee_month, ad_day, ad_month;
    fg_table_init(&fee_day);
    fg_table_init(&fee_month);
    fg_table_init(&ad_day);
    fg_table_init(&ad_month);
    int rc = collections(db, scope, today, today, "fee_type", &fee_day);
    if (rc == 0)
        rc = collections(db, scope, month_start, today, "fee_type", &fee_month);
    if (rc == 0)
        rc = collections(db, scope, today, today, "adapter", &ad_day);
    if (rc == 0)
        rc = collections(db, scope, month_start, today, "adapter", &ad_month);
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    fg_html_t p;
    char day_text[11];
    fg_staff_begin(&p, &s, "staff-overview", "Tổng quan", "Overview");
    fg_day_format(today, day_text);
    fg_html_printf(&p, "<h1>%s</h1><p class=\"muted\">%s %s</p>", fg_html_tr(&p, "Tổng quan thu phí", "Collections"),
                   fg_html_tr(&p, "Ngày làm việc", "Business day"), day_text);
    fg_html_printf(&p, "<div class=\"grid2\"><div class=\"card\" data-total=\"today\"><h2>%s</h2>",
                   fg_html_tr(&p, "Hôm nay", "Today"));
    totals(&p, &fee_day);
    fg_html_printf(&p, "</div><div class=\"card\" data-total=\"month\"><h2>%s</h2>",
                   fg_html_tr(&p, "Tháng này", "This month"));
    totals(&p, &fee_month);
    fg_html_puts(&p, "</div></div><div class=\"card\">");
    chart(&p, &fee_month, &fee_day);
    fg_html_printf(&p, "</div><h2>%s</h2>", fg_html_tr(&p, "Theo loại phí", "By fee type"));
    table(&p, &fee_month, &fee_day, "Loại phí", "Fee type", "fee_type");
    fg_html_printf(&p, "<h2>%s</h2>", fg_html_tr(&p, "Theo kênh thanh toán", "By payment method"));
    table(&p, &ad_month, &ad_day, "Kênh", "Method", "adapter");
    rc = unapplied(&p, db, scope);
    fg_html_end(&p, rc != 0 ? 500 : 200);
Exit:
    fg_table_free(&fee_day);
    fg_table_free(&fee_month);
    fg_table_free(&ad_day);
    fg_table_free(&ad_month);
}
