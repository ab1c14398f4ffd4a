/*
 * staff_reports.c - GET /staff/reports: the collections and outstanding
 * reports (reports/reports.h, the same as GET /v1/reports/…) shown as a
 * table, and GET /staff/reports/{collections|outstanding}.{csv|xlsx}: the
 * same table through the report renderers, for the signed-in session.  An
 * accountant's reports are its merchant's.
 */
#include "web/staff.h"

#include <stdio.h>
#include <string.h>
#include "core/day.h"
#include "core/json.h"
#include "core/text.h"
#include "reports/reports.h"

/* Rows shown on the page; the files hold them all. */
#define PAGE_ROWS_SHOWN 500

typedef enum { KIND_COLLECTIONS, KIND_OUTSTANDING } kind_t;

typedef struct {
    kind_t kind;
    char from[11], to[11], as_of[11], group[64];
    int32_t from_day, to_day, as_of_day;
} query_t;

/* A day from ?name= into text and *day; default when absent.  0 or -1. */
static int day_param(fg_call_t *call, const char *name, int32_t def, char text[11], int32_t *day)
{
    size_t len;
    const char *v = fg_call_query(call, name, &len);
    if (v == NULL || len == 0) {
        *day = def;
    } else if (fg_day_parse(v, len, day) != 0) {
        return -1;
    }
    fg_day_format(*day, text);
    return 0;
}

/* Reads the query; -1 after answering 400. */
static int read_query(fg_call_t *call, kind_t kind, query_t *q)
{
    int32_t today = fg_day_of_ms(fg_now_ms());
    size_t len;
    memset(q, 0, sizeof(*q));
    q->kind = kind;
    const char *g = fg_call_query(call, "group_by", &len);
    snprintf(q->group, sizeof(q->group), "%s",
             g != NULL && len > 0 && len < sizeof(q->group) ? g
             : kind == KIND_COLLECTIONS                     ? "day,fee_type"
                                                            : "fee_type");
    if (day_param(call, "from", today / 100 * 100 + 1, q->from, &q->from_day) != 0 ||
        day_param(call, "to", today, q->to, &q->to_day) != 0 ||
        day_param(call, "as_of", today, q->as_of, &q->as_of_day) != 0) {
        fg_staff_bad(call, 400, "Ngày phải có dạng YYYY-MM-DD.", "Dates are YYYY-MM-DD.");
        return -1;
    }
    if (q->to_day < q->from_day || fg_day_number(q->to_day) - fg_day_number(q->from_day) >= FG_REPORT_DAYS_MAX) {
        fg_staff_bad(call, 400, "Kỳ không hợp lệ (tối đa 400 ngày).", "The period is not valid (400 days at most).");
        return -1;
    }
    return 0;
}

/* The report into t: 0, FG_EINVALID (group_by, msg), or the report's code. */
static int run(fg_db_t *db, const query_t *q, uint64_t merchant, fg_table_t *t, char *msg, size_t cap)
{
    fg_group_by_t by;
    unsigned allowed = q->kind == KIND_COLLECTIONS ? FG_DIMS_COLLECTIONS : FG_DIMS_OUTSTANDING;
    if (fg_group_by_parse(q->group, strlen(q->group), allowed, &by, msg, cap) != 0)
        return FG_EINVALID;
    int rc;
    if (q->kind == KIND_COLLECTIONS) {
        fg_collections_query_t c = {q->from_day, q->to_day, merchant, by, 0};
        rc = fg_report_collections(db, &c, t);
    } else {
        fg_outstanding_query_t o = {q->as_of_day, fg_now_ms(), merchant, by, 0};
        rc = fg_report_outstanding(db, &o, t);
    }
    fg_db_end(db);
    return rc;
}

static void label(fg_html_t *p, const char *both)
{
    const char *slash = strstr(both, " / ");
    if (slash == NULL)
        fg_html_text(p, both);
    else if (p->lang == FG_LANG_EN)
        fg_html_text(p, slash + 3);
    else
        fg_html_textn(p, both, (size_t)(slash - both));
}

static void table_html(fg_html_t *p, const fg_table_t *t)
{
    char day[11];
    fg_html_puts(p, "<div class=\"table-wrap\"><table class=\"data\" data-table=\"report\"><thead><tr>");
    for (int c = 0; c < t->ncols; c++) {
        int num = t->cols[c].type == FG_COL_INT || t->cols[c].type == FG_COL_MONEY;
        fg_html_printf(p, "<th%s data-key=\"%s\">", num ? " class=\"num\"" : "", t->cols[c].key);
        label(p, t->cols[c].label);
        fg_html_puts(p, "</th>");
    }
    fg_html_puts(p, "</tr></thead><tbody>");
    for (size_t r = 0; r < t->nrows && r < PAGE_ROWS_SHOWN; r++) {
        fg_html_puts(p, "<tr>");
        for (int c = 0; c < t->ncols; c++) {
            const fg_cell_t *cell = &t->cells[r * (size_t)t->ncols + (size_t)c];
            switch (t->cols[c].type) {
            case FG_COL_TEXT:
                fg_html_puts(p, "<td>");
                fg_html_text(p, cell->text != NULL ? cell->text : "");
                break;
            case FG_COL_INT: fg_html_printf(p, "<td class=\"num\">%lld", (long long)cell->num); break;
            case FG_COL_MONEY:
                fg_html_puts(p, "<td class=\"num\">");
                if (!cell->null)
                    fg_staff_money(p, cell->num, "VND");
                break;
            case FG_COL_DAY:
                fg_day_format((int32_t)cell->num, day);
                fg_html_printf(p, "<td>%s", cell->num != 0 ? day : "");
                break;
            case FG_COL_MONTH:
                fg_html_printf(p, "<td>%04d-%02d", (int)(cell->num / 100), (int)(cell->num % 100));
                break;
            }
            fg_html_puts(p, "</td>");
        }
        fg_html_puts(p, "</tr>");
    }
    if (t->nrows == 0)
        fg_html_printf(p, "<tr><td colspan=\"%d\" class=\"muted\">%s</td></tr>", t->ncols,
                       fg_html_tr(p, "Không có số liệu.", "No figures."));
    fg_html_puts(p, "</tbody></table></div>");
}

static void download_links(fg_html_t *p, const query_t *q)
{
    const char *name = q->kind == KIND_COLLECTIONS ? "collections" : "outstanding";
    for (int x = 0; x < 2; x++) {
        const char *ext = x == 0 ? "csv" : "xlsx";
        fg_html_printf(p, "<a class=\"button secondary\" data-download=\"%s\" href=\"/staff/reports/%s.%s?", ext, name,
                       ext);
        if (q->kind == KIND_COLLECTIONS)
            fg_html_printf(p, "from=%s&amp;to=%s", q->from, q->to);
        else
            fg_html_printf(p, "as_of=%s", q->as_of);
        fg_html_puts(p, "&amp;group_by=");
        fg_html_text(p, q->group);
        fg_html_printf(p, "\">%s %s</a> ", fg_html_tr(p, "Tải", "Download"), x == 0 ? "CSV" : "XLSX");
    }
}

static void form(fg_html_t *p, const query_t *q)
{
    fg_html_printf(
        p,
        "<form method=\"get\" action=\"/staff/reports\" class=\"filters card\">"
        "<div><label for=\"report\">%s</label><select id=\"report\" name=\"report\">"
        "<option value=\"collections\"%s>%s</option><option value=\"outstanding\"%s>%s</option></select></div>",
        fg_html_tr(p, "Báo cáo", "Report"), q->kind == KIND_COLLECTIONS ? " selected" : "",
        fg_html_tr(p, "Tiền đã thu", "Collections"), q->kind == KIND_OUTSTANDING ? " selected" : "",
        fg_html_tr(p, "Còn phải thu", "Outstanding"));
    fg_html_printf(p,
                   "<div><label for=\"from\">%s</label><input id=\"from\" name=\"from\" type=\"date\" value=\"%s\">"
                   "</div><div><label for=\"to\">%s</label><input id=\"to\" name=\"to\" type=\"date\" value=\"%s\">"
                   "</div><div><label for=\"as_of\">%s</label><input id=\"as_of\" name=\"as_of\" type=\"date\" "
                   "value=\"%s\"></div><div><label for=\"group_by\">%s</label><input id=\"group_by\" "
                   "name=\"group_by\" value=\"",
                   fg_html_tr(p, "Từ ngày", "From"), q->from, fg_html_tr(p, "Đến ngày", "To"), q->to,
                   fg_html_tr(p, "Tính đến (còn phải thu)", "As of (outstanding)"), q->as_of,
                   fg_html_tr(p, "Nhóm theo", "Group by"));
    fg_html_text(p, q->group);
    fg_html_printf(p, "\"></div><div><button type=\"submit\">%s</button></div></form>", fg_html_tr(p, "Xem", "Show"));
}

void fg_staff_reports(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    query_t q;
    fg_table_t t;
    char msg[160];
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    const char *which = fg_call_query(call, "report", NULL);
    kind_t kind = which != NULL && strcmp(which, "outstanding") == 0 ? KIND_OUTSTANDING : KIND_COLLECTIONS;
    if (read_query(call, kind, &q) != 0)
        return;
    fg_table_init(&t);
    int rc = run(db, &q, fg_staff_scope(&s), &t, msg, sizeof(msg));
    if (rc != 0 && rc != FG_EINVALID && rc != FG_ETOOLONG && rc != FG_EOVERFLOW) {
        fg_table_free(&t);
        fg_staff_unavailable(call, db, rc);
        return;
    }
    fg_html_t p;
    fg_staff_begin(&p, &s, "staff-reports", "Báo cáo", "Reports");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Báo cáo", "Reports"));
    form(&p, &q);
    if (rc == FG_EINVALID) {
        fg_html_puts(&p, "<p class=\"error\" role=\"alert\">group_by: ");
        fg_html_text(&p, msg);
        fg_html_puts(&p, "</p>");
    } else if (rc != 0) {
        fg_html_printf(&p, "<p class=\"error\" role=\"alert\">%s</p>",
                       fg_html_tr(&p, "Báo cáo quá lớn: thu hẹp kỳ hoặc nhóm.",
                                  "The report is too large: narrow the period or the grouping."));
    } else {
        fg_html_puts(&p, "<p>");
        download_links(&p, &q);
        fg_html_puts(&p, "</p>");
        table_html(&p, &t);
    }
    fg_table_free(&t);
    fg_html_end(&p, rc == 0 ? 200 : rc == FG_EINVALID ? 400 : 422);
}

void fg_staff_report_file(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    query_t q;
    fg_table_t t;
    char msg[160], disposition[96];
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    const char *name = call->params[0];
    kind_t kind;
    int xlsx;
    if (strcmp(name, "collections.csv") == 0 || strcmp(name, "collections.xlsx") == 0)
        kind = KIND_COLLECTIONS;
    else if (strcmp(name, "outstanding.csv") == 0 || strcmp(name, "outstanding.xlsx") == 0)
        kind = KIND_OUTSTANDING;
    else {
        fg_staff_not_found(call);
        return;
    }
    xlsx = strstr(name, ".xlsx") != NULL;
    if (read_query(call, kind, &q) != 0)
        return;
    fg_table_init(&t);
    int rc = run(db, &q, fg_staff_scope(&s), &t, msg, sizeof(msg));
    fg_buf_t b = FG_BUF_INIT;
    if (rc == FG_EINVALID || rc == FG_ETOOLONG || rc == FG_EOVERFLOW) {
        fg_staff_bad(call, rc == FG_EINVALID ? 400 : 422, "Không tạo được báo cáo với các tham số này.",
                     "The report cannot be made with these parameters.");
    } else if (rc != 0 || (xlsx && (rc = fg_table_xlsx(&t, "Report", &b)) != 0)) {
        fg_staff_unavailable(call, db, rc);
    } else {
        if (!xlsx)
            fg_table_csv(&t, &b);
        fg_buf_t after = FG_BUF_INIT;
        fg_buf_putc(&after, '{');
        fg_json_kv_str(&after, 0, "file", name);
        fg_json_kv_str(&after, 1, "group_by", q.group);
        fg_buf_putc(&after, '}');
        /* the file goes out even if its audit row could not be written: it was logged as a failure */
        rc = fg_staff_audit(db, &s, "report.download", NULL, after.data);
        if (rc != 0)
            fg_db_log_failure(db, "audit of a report download", rc);
        fg_buf_free(&after);
        snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s\"", name);
        fg_call_add_header(call, "content-disposition", disposition);
        fg_html_security_headers(call);
        fg_call_body(call, 200,
                     xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                          : "text/csv; charset=utf-8",
                     &b);
    }
    fg_buf_free(&b);
    fg_table_free(&t);
}
