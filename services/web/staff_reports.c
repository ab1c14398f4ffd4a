/*
 * staff_reports.c - GET /staff/reports: the collections, outstanding,
 * merchant statement and reconciliation reports (reports/reports.h, the
 * same as GET /v1/reports/collections, …/outstanding, …/merchant-statement
 * and …/reconciliation) shown as a table, and
 * GET /staff/reports/{collections|outstanding|merchant-statement|
 * reconciliation}.{csv|xlsx}: the same table through the report renderers,
 * for the signed-in session.  An accountant's reports are its merchant's
 * (its statement is its own whatever the query says); the reconciliation
 * summary is the city's (auditor, finance, admin), as the API's is.
 */
#include "web/staff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/json.h"
#include "core/money.h"
#include "core/text.h"
#include "merchants/merchants.h"
#include "reports/reports.h"

/* Rows shown on the page; the files hold them all. */
#define PAGE_ROWS_SHOWN 500
/* Merchants offered in the statement's chooser. */
#define MERCHANTS_SHOWN 1000
/* A bank account number (IBAN length at most). */
#define ACCOUNT_MAX 34

typedef enum { KIND_COLLECTIONS, KIND_OUTSTANDING, KIND_STATEMENT, KIND_RECON, KIND_COUNT } kind_t;

/* The report's name in ?report= and in the files' names. */
static const char *const KIND_NAMES[KIND_COUNT] = {"collections", "outstanding", "merchant-statement",
                                                   "reconciliation"};

typedef struct {
    kind_t kind;
    char from[11], to[11], as_of[11], group[64];
    int32_t from_day, to_day, as_of_day;
    uint64_t merchant_id;          /* the statement's merchant; 0 not chosen */
    char merchant[FG_ID_CAP];      /* its public id */
    char account[ACCOUNT_MAX + 1]; /* the reconciliation's account; "" every account */
    char currency[4];              /* ISO 4217: that currency's rows (the statement's account); "" every one */
    fg_merchant_statement_t st;    /* the statement's figures, once run */
} query_t;

static int kind_parse(const char *name, size_t len, kind_t *out)
{
    for (int k = 0; k < KIND_COUNT; k++)
        if (strlen(KIND_NAMES[k]) == len && memcmp(KIND_NAMES[k], name, len) == 0) {
            *out = (kind_t)k;
            return 0;
        }
    return -1;
}

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

/* The statement's merchant: an account scoped to one merchant reads its own;
 * others name one with ?merchant= (none named: 0).  0, or -1 answered. */
static int merchant_param(fg_call_t *call, fg_db_t *db, const fg_staff_ctx_t *s, query_t *q)
{
    size_t len;
    if (fg_staff_scope(s) != 0) {
        q->merchant_id = fg_staff_scope(s);
        snprintf(q->merchant, sizeof(q->merchant), "%s", s->session.staff.merchant_public_id);
        return 0;
    }
    const char *v = fg_call_query(call, "merchant", &len);
    if (v == NULL || len == 0)
        return 0;
    int rc = len < sizeof(q->merchant) ? fg_report_merchant(db, v, len, &q->merchant_id) : FG_ENOTFOUND;
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        fg_staff_not_found(call);
        return -1;
    }
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        return -1;
    }
    memcpy(q->merchant, v, len);
    q->merchant[len] = '\0';
    return 0;
}

/* Reads the query of a report of this kind; -1 after answering (400, 403,
 * 404). */
static int read_query(fg_call_t *call, fg_db_t *db, const fg_staff_ctx_t *s, kind_t kind, query_t *q)
{
    int32_t today = fg_day_of_ms(fg_now_ms());
    size_t len;
    memset(q, 0, sizeof(*q));
    q->kind = kind;
    if (kind == KIND_RECON && !fg_staff_may(s, FG_STAFF_CITY)) {
        fg_staff_forbidden(call);
        return -1;
    }
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
    const char *c = fg_call_query(call, "currency", &len);
    if (c != NULL && len > 0) {
        const fg_currency_t *found = fg_currency_find(c, len);
        if (found == NULL) {
            fg_staff_bad(call, 400, "Tiền tệ là mã ISO 4217 viết hoa, như VND hoặc USD.",
                         "A currency is an ISO 4217 code in upper case, such as VND or USD.");
            return -1;
        }
        snprintf(q->currency, sizeof(q->currency), "%s", found->code);
    }
    const char *a = fg_call_query(call, "account", &len);
    if (kind == KIND_RECON && a != NULL && len > 0) {
        if (fg_bank_account_key(a, len, q->account, sizeof(q->account), ACCOUNT_MAX) < 0) {
            fg_staff_bad(call, 400, "Số tài khoản gồm 1 đến 34 chữ cái và chữ số.",
                         "An account number is 1 to 34 letters and digits.");
            return -1;
        }
    }
    return kind == KIND_STATEMENT ? merchant_param(call, db, s, q) : 0;
}

/* The report into t: 0, FG_EINVALID (group_by, msg), or the report's code
 * (FG_ECHECKSUM: a statement whose movements do not add up). */
static int run(fg_db_t *db, query_t *q, uint64_t merchant, fg_table_t *t, char *msg, size_t cap)
{
    fg_group_by_t by;
    int rc;
    if (q->kind == KIND_COLLECTIONS || q->kind == KIND_OUTSTANDING) {
        unsigned allowed = q->kind == KIND_COLLECTIONS ? FG_DIMS_COLLECTIONS : FG_DIMS_OUTSTANDING;
        if (fg_group_by_parse(q->group, strlen(q->group), allowed, &by, msg, cap) != 0)
            return FG_EINVALID;
    }
    switch (q->kind) {
    case KIND_COLLECTIONS: {
        fg_collections_query_t c = {q->from_day, q->to_day, merchant, by, 0, ""};
        snprintf(c.currency, sizeof(c.currency), "%s", q->currency);
        rc = fg_report_collections(db, &c, t);
        break;
    }
    case KIND_OUTSTANDING: {
        fg_outstanding_query_t o = {q->as_of_day, fg_now_ms(), merchant, by, 0, 0, ""};
        snprintf(o.currency, sizeof(o.currency), "%s", q->currency);
        rc = fg_report_outstanding(db, &o, t);
        break;
    }
    case KIND_STATEMENT:
        q->st.from_day = q->from_day;
        q->st.to_day = q->to_day;
        q->st.merchant_id = q->merchant_id;
        snprintf(q->st.currency, sizeof(q->st.currency), "%s", q->currency); /* "" is VND */
        rc = fg_report_merchant_statement(db, &q->st, t);
        break;
    default: {
        fg_recon_report_query_t r = {q->from_day, q->to_day, q->account, 0, ""};
        snprintf(r.currency, sizeof(r.currency), "%s", q->currency);
        rc = fg_report_reconciliation(db, &r, t);
        break;
    }
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

static void table_html(fg_html_t *p, const fg_table_t *t, const char *statement_currency)
{
    char day[11];
    /* a wide table scrolls sideways: the keyboard reaches it too (a focusable region) */
    fg_html_printf(p,
                   "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"%s\"><table class=\"data\" "
                   "data-table=\"report\"><thead><tr>",
                   fg_html_tr(p, "Bảng số liệu", "The figures"));
    for (int c = 0; c < t->ncols; c++) {
        int num = t->cols[c].type == FG_COL_INT || t->cols[c].type == FG_COL_MONEY;
        fg_html_printf(p, "<th%s data-key=\"%s\">", num ? " class=\"num\"" : "", t->cols[c].key);
        label(p, t->cols[c].label);
        fg_html_puts(p, "</th>");
    }
    fg_html_puts(p, "</tr></thead><tbody>");
    for (size_t r = 0; r < t->nrows && r < PAGE_ROWS_SHOWN; r++) {
        /* a row's amounts are in its currency (a table without the column is VND's) */
        const char *currency = t->currency_col > 0 ? t->cells[r * (size_t)t->ncols + (size_t)(t->currency_col - 1)].text
                                                   : statement_currency;
        fg_html_puts(p, "<tr>");
        for (int c = 0; c < t->ncols; c++) {
            const fg_cell_t *cell = &t->cells[r * (size_t)t->ncols + (size_t)c];
            switch (t->cols[c].type) {
            case FG_COL_TEXT:
                if (strcmp(t->cols[c].key, "status") == 0 && cell->text != NULL &&
                    (strcmp(cell->text, "open") == 0 || strcmp(cell->text, "closed") == 0)) {
                    /* a day's state in the page's language; the code stays for whoever reads the markup */
                    int closed = cell->text[0] == 'c';
                    fg_html_printf(p, "<td data-status=\"%s\">%s", cell->text,
                                   closed ? fg_html_tr(p, "Đã khóa sổ", "Closed") : fg_html_tr(p, "Đang mở", "Open"));
                    break;
                }
                fg_html_puts(p, "<td>");
                fg_html_text(p, cell->text != NULL ? cell->text : "");
                break;
            case FG_COL_INT: fg_html_printf(p, "<td class=\"num\">%lld", (long long)cell->num); break;
            case FG_COL_MONEY:
                fg_html_puts(p, "<td class=\"num\">");
                if (!cell->null)
                    fg_staff_money(p, cell->num, currency);
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

/* The query a report's link or file repeats (trusted: days, checked ids, escaped text). */
static void query_args(fg_html_t *p, const query_t *q)
{
    if (q->kind == KIND_OUTSTANDING) {
        fg_html_printf(p, "as_of=%s&amp;group_by=", q->as_of);
        fg_html_text(p, q->group);
        return;
    }
    fg_html_printf(p, "from=%s&amp;to=%s", q->from, q->to);
    if (q->kind == KIND_COLLECTIONS) {
        fg_html_puts(p, "&amp;group_by=");
        fg_html_text(p, q->group);
    } else if (q->kind == KIND_STATEMENT) {
        fg_html_puts(p, "&amp;merchant=");
        fg_html_text(p, q->merchant);
    } else if (q->account[0] != '\0') {
        fg_html_puts(p, "&amp;account=");
        fg_html_text(p, q->account);
    }
    if (q->currency[0] != '\0')
        fg_html_printf(p, "&amp;currency=%s", q->currency); /* a checked ISO 4217 code */
}

static void download_links(fg_html_t *p, const query_t *q)
{
    for (int x = 0; x < 2; x++) {
        const char *ext = x == 0 ? "csv" : "xlsx";
        fg_html_printf(p, "<a class=\"button secondary\" data-download=\"%s\" href=\"/staff/reports/%s.%s?", ext,
                       KIND_NAMES[q->kind], ext);
        query_args(p, q);
        fg_html_printf(p, "\">%s %s</a> ", fg_html_tr(p, "Tải", "Download"), x == 0 ? "CSV" : "XLSX");
    }
}

static void option(fg_html_t *p, const query_t *q, kind_t kind, const char *vi, const char *en)
{
    fg_html_printf(p, "<option value=\"%s\"%s>%s</option>", KIND_NAMES[kind], q->kind == kind ? " selected" : "",
                   fg_html_tr(p, vi, en));
}

/* The statement's merchant chooser (an account scoped to one merchant has
 * none: its statement is its own).  0 or a database code. */
static int merchant_select(fg_html_t *p, fg_db_t *db, const fg_staff_ctx_t *s, const query_t *q)
{
    if (fg_staff_scope(s) != 0)
        return 0;
    fg_merchant_row_t *rows = calloc(MERCHANTS_SHOWN, sizeof(*rows));
    int count = 0;
    if (rows == NULL)
        return FG_ENOMEM;
    int rc = fg_merchant_list(db, rows, MERCHANTS_SHOWN, &count);
    fg_db_end(db);
    if (rc == 0) {
        fg_html_printf(p,
                       "<div><label for=\"merchant\">%s</label><select id=\"merchant\" name=\"merchant\">"
                       "<option value=\"\">%s</option>",
                       fg_html_tr(p, "Đơn vị (bảng kê)", "Merchant (statement)"),
                       fg_html_tr(p, "Chọn đơn vị", "Choose a merchant"));
        for (int i = 0; i < count; i++) {
            fg_html_puts(p, "<option value=\"");
            fg_html_text(p, rows[i].public_id);
            fg_html_printf(p, "\"%s>", strcmp(q->merchant, rows[i].public_id) == 0 ? " selected" : "");
            fg_html_text(p, rows[i].name);
            fg_html_puts(p, "</option>");
        }
        fg_html_puts(p, "</select></div>");
    }
    free(rows);
    return rc;
}

/* The filters; 0 or a database code (the merchant list). */
static int form(fg_html_t *p, fg_db_t *db, const fg_staff_ctx_t *s, const query_t *q)
{
    fg_html_printf(p,
                   "<form method=\"get\" action=\"/staff/reports\" class=\"filters card\" data-form=\"report\">"
                   "<div><label for=\"report\">%s</label><select id=\"report\" name=\"report\">",
                   fg_html_tr(p, "Báo cáo", "Report"));
    option(p, q, KIND_COLLECTIONS, "Tiền đã thu", "Collections");
    option(p, q, KIND_OUTSTANDING, "Còn phải thu", "Outstanding");
    option(p, q, KIND_STATEMENT, "Bảng kê của đơn vị", "Merchant statement");
    if (fg_staff_may(s, FG_STAFF_CITY))
        option(p, q, KIND_RECON, "Tổng hợp đối soát", "Reconciliation summary");
    fg_html_printf(p,
                   "</select></div><div><label for=\"from\">%s</label><input id=\"from\" name=\"from\" "
                   "type=\"date\" value=\"%s\"></div><div><label for=\"to\">%s</label><input id=\"to\" name=\"to\" "
                   "type=\"date\" value=\"%s\"></div><div><label for=\"as_of\">%s</label><input id=\"as_of\" "
                   "name=\"as_of\" type=\"date\" value=\"%s\"></div><div><label for=\"group_by\">%s</label>"
                   "<input id=\"group_by\" name=\"group_by\" value=\"",
                   fg_html_tr(p, "Từ ngày", "From"), q->from, fg_html_tr(p, "Đến ngày", "To"), q->to,
                   fg_html_tr(p, "Tính đến (còn phải thu)", "As of (outstanding)"), q->as_of,
                   fg_html_tr(p, "Nhóm theo", "Group by"));
    fg_html_text(p, q->group);
    fg_html_printf(p,
                   "\"></div><div><label for=\"currency\">%s</label><input id=\"currency\" name=\"currency\" "
                   "maxlength=\"3\" autocapitalize=\"characters\" placeholder=\"VND\" value=\"%s\"></div>",
                   fg_html_tr(p, "Tiền tệ (trống: mọi loại)", "Currency (empty: every one)"), q->currency);
    int rc = merchant_select(p, db, s, q);
    if (fg_staff_may(s, FG_STAFF_CITY)) {
        fg_html_printf(p,
                       "<div><label for=\"account\">%s</label><input id=\"account\" name=\"account\" "
                       "maxlength=\"34\" inputmode=\"numeric\" value=\"",
                       fg_html_tr(p, "Tài khoản (đối soát)", "Account (reconciliation)"));
        fg_html_text(p, q->account);
        fg_html_puts(p, "\"></div>");
    }
    fg_html_printf(p, "<div><button type=\"submit\">%s</button></div></form>", fg_html_tr(p, "Xem", "Show"));
    return rc;
}

/* The statement's figures over its table: opening, movements, closing. */
static void statement_summary(fg_html_t *p, const query_t *q)
{
    const fg_merchant_statement_t *st = &q->st;
    struct {
        const char *key, *vi, *en;
        int64_t v;
    } const rows[] = {
        {"opening_balance", "Số dư đầu kỳ", "Opening balance", st->opening},
        {"collections", "Đã thu", "Collections", st->collections},
        {"refunds", "Hoàn tiền", "Refunds", st->refunds},
        {"fees", "Phí", "Fees", st->fees},
        {"payouts", "Đã chuyển trả", "Payouts", st->payouts},
        {"adjustments", "Điều chỉnh", "Adjustments", st->adjustments},
        {"closing_balance", "Số dư cuối kỳ", "Closing balance", st->closing},
    };
    fg_html_puts(p, "<h2 data-merchant=\"");
    fg_html_text(p, st->merchant_public_id);
    fg_html_puts(p, "\">");
    fg_html_text(p, st->merchant_name);
    fg_html_printf(p, " · %s %s – %s</h2><dl class=\"card stats\" data-statement>", fg_html_tr(p, "kỳ", "period"),
                   q->from, q->to);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        fg_html_printf(p, "<div><dt>%s</dt><dd data-figure=\"%s\" data-value=\"%lld\">",
                       fg_html_tr(p, rows[i].vi, rows[i].en), rows[i].key, (long long)rows[i].v);
        fg_staff_money(p, rows[i].v, st->currency);
        fg_html_puts(p, "</dd></div>");
    }
    fg_html_puts(p, "</dl>");
}

void fg_staff_reports(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    query_t q;
    fg_table_t t;
    char msg[160];
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    size_t len;
    const char *which = fg_call_query(call, "report", &len);
    kind_t kind = KIND_COLLECTIONS;
    if (which != NULL && len > 0 && kind_parse(which, len, &kind) != 0) {
        fg_staff_bad(call, 400, "Không có báo cáo này.", "There is no such report.");
        return;
    }
    if (read_query(call, db, &s, kind, &q) != 0)
        return;
    fg_table_init(&t);
    int rc = 0, chosen = kind != KIND_STATEMENT || q.merchant_id != 0;
    if (chosen)
        rc = run(db, &q, fg_staff_scope(&s), &t, msg, sizeof(msg));
    if (rc != 0 && rc != FG_EINVALID && rc != FG_ETOOLONG && rc != FG_EOVERFLOW && rc != FG_ECHECKSUM) {
        fg_table_free(&t);
        fg_staff_unavailable(call, db, rc);
        return;
    }
    fg_html_t p;
    fg_staff_begin(&p, &s, "staff-reports", "Báo cáo", "Reports");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Báo cáo", "Reports"));
    int frc = form(&p, db, &s, &q);
    if (frc != 0) {
        fg_table_free(&t);
        fg_buf_free(&p.body);
        fg_staff_unavailable(call, db, frc);
        return;
    }
    int status = 200;
    if (!chosen) {
        fg_html_printf(&p, "<p class=\"notice\" data-choose>%s</p>",
                       fg_html_tr(&p, "Chọn một đơn vị để xem bảng kê của đơn vị đó.",
                                  "Choose a merchant to see its statement."));
    } else if (rc == FG_EINVALID) {
        fg_html_puts(&p, "<p class=\"error\" role=\"alert\">group_by: ");
        fg_html_text(&p, msg);
        fg_html_puts(&p, "</p>");
        status = 400;
    } else if (rc == FG_ECHECKSUM) {
        fg_html_printf(&p, "<p class=\"error\" role=\"alert\">%s</p>",
                       fg_html_tr(&p, "Các khoản biến động không khớp với số dư tài khoản: chạy feegate ledger check.",
                                  "The account's movements do not add up to its balance: run feegate ledger check."));
        status = 500;
    } else if (rc != 0) {
        fg_html_printf(&p, "<p class=\"error\" role=\"alert\">%s</p>",
                       fg_html_tr(&p, "Báo cáo quá lớn: thu hẹp kỳ hoặc nhóm.",
                                  "The report is too large: narrow the period or the grouping."));
        status = 422;
    } else {
        if (kind == KIND_STATEMENT)
            statement_summary(&p, &q);
        fg_html_puts(&p, "<p>");
        download_links(&p, &q);
        fg_html_puts(&p, "</p>");
        table_html(&p, &t, kind == KIND_STATEMENT ? q.st.currency : "VND");
    }
    fg_table_free(&t);
    fg_html_end(&p, status);
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
    const char *dot = strrchr(name, '.');
    kind_t kind;
    if (dot == NULL || (strcmp(dot, ".csv") != 0 && strcmp(dot, ".xlsx") != 0) ||
        kind_parse(name, (size_t)(dot - name), &kind) != 0) {
        fg_staff_not_found(call);
        return;
    }
    int xlsx = strcmp(dot, ".xlsx") == 0;
    if (read_query(call, db, &s, kind, &q) != 0)
        return;
    if (kind == KIND_STATEMENT && q.merchant_id == 0) {
        fg_staff_bad(call, 400, "Bảng kê là của một đơn vị: hãy chọn đơn vị (merchant).",
                     "A statement is one merchant's: choose it (merchant).");
        return;
    }
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
        if (kind == KIND_COLLECTIONS || kind == KIND_OUTSTANDING)
            fg_json_kv_str(&after, 1, "group_by", q.group);
        if (kind == KIND_STATEMENT)
            fg_json_kv_str(&after, 1, "merchant", q.merchant);
        if (q.currency[0] != '\0')
            fg_json_kv_str(&after, 1, "currency", q.currency);
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
