/*
 * staff_recon.c - bank statements and reconciliation for finance staff:
 *
 *   GET/POST /staff/statements                 upload a statement (multipart: file, format)
 *   GET/POST /staff/reconciliations            the runs; start one (account, from, to)
 *   GET /staff/reconciliations/{id}            its summary and exception queue (data-status
 *                                              matching, reloading itself, until every line
 *                                              is decided; then ready)
 *   POST /staff/reconciliations/{id}/items/{item}/resolve   action, note (order, amount for apply)
 *   POST /staff/reconciliations/{id}/close     close the period's days (the API's close)
 *
 * The writes are the API's domain operations (fg_statement_import,
 * fg_reconciliation_create, fg_recon_resolve, fg_reconciliation_close); auditors read, finance and
 * admins act.  An accountant's scope is one school, not the city's bank
 * accounts: these pages are not for it.
 */
#include "web/staff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>
#include "core/day.h"
#include "core/json.h"
#include "core/money.h"
#include "core/text.h"
#include "ledger/recon_counts.h"
#include "recon/recon.h"
#include "web/web.h"

/* Runs listed on the page, newest first. */
#define RUNS_SHOWN 50
/* Items of the exception queue on one page. */
#define ITEMS_SHOWN 200
/* How often a reconciliation whose lines are still being matched reloads,
 * and for how long after it was made: each reload counts as the session's
 * activity, so a page left open on a stalled match must not keep an
 * unattended session alive up to its absolute limit. */
#define MATCHING_REFRESH_S 3
#define MATCHING_REFRESH_FOR_MS (10 * 60 * 1000)

static const char *const FORMATS[] = {"camt.053", "camt.054", "mt940", "csv", "csv-vn"};

/* ---- statements ------------------------------------------------------------------ */

static void upload_form(fg_html_t *p, const fg_staff_ctx_t *s)
{
    if (!fg_staff_may(s, FG_STAFF_WRITE)) {
        fg_html_printf(p, "<p class=\"notice\">%s</p>",
                       fg_html_tr(p, "Vai trò của bạn chỉ được xem.", "Your role may only read."));
        return;
    }
    fg_html_puts(p, "<form method=\"post\" action=\"/staff/statements\" enctype=\"multipart/form-data\" "
                    "class=\"card\" data-form=\"statement-upload\">");
    fg_staff_csrf_input(p, s);
    fg_html_printf(
        p,
        "<label for=\"file\">%s</label><input id=\"file\" name=\"file\" type=\"file\" required>"
        "<label for=\"format\">%s</label><select id=\"format\" name=\"format\"><option value=\"\">%s</option>",
        fg_html_tr(p, "Tệp sao kê", "Statement file"), fg_html_tr(p, "Định dạng", "Format"),
        fg_html_tr(p, "Tự nhận biết", "Detect"));
    for (size_t i = 0; i < sizeof(FORMATS) / sizeof(FORMATS[0]); i++)
        fg_html_printf(p, "<option>%s</option>", FORMATS[i]);
    fg_html_printf(p, "</select><p><button type=\"submit\">%s</button></p></form>", fg_html_tr(p, "Tải lên", "Upload"));
}

static const char SQL_IMPORTS[] =
    "SELECT public_id, format, COALESCE(imported_by, ''), created_at FROM statement_imports ORDER BY id DESC LIMIT ?";

/* A cell under its column's name (data-label: a phone shows the rows of a
 * table.stack as cards, each cell under its name). */
static void cell(fg_html_t *p, const char *cls, const char *vi, const char *en)
{
    fg_html_printf(p, "<td%s%s%s data-label=\"%s\">", cls[0] != '\0' ? " class=\"" : "", cls,
                   cls[0] != '\0' ? "\"" : "", fg_html_tr(p, vi, en));
}

static int imports_table(fg_html_t *p, fg_db_t *db)
{
    fg_stmt_t st;
    fg_buf_t id = FG_BUF_INIT, format = FG_BUF_INIT, by = FG_BUF_INIT;
    int64_t at = 0;
    int rc = fg_stmt_init(&st, db, SQL_IMPORTS);
    if (rc == 0) {
        fg_stmt_int(&st, RUNS_SHOWN);
        fg_stmt_out_text(&st, &id, NULL);
        fg_stmt_out_text(&st, &format, NULL);
        fg_stmt_out_text(&st, &by, NULL);
        fg_stmt_out_int(&st, &at, NULL);
        rc = fg_stmt_exec(&st);
    }
    fg_html_printf(p,
                   "<h2>%s</h2><div class=\"table-wrap\"><table class=\"data stack\" data-table=\"imports\"><thead><tr>"
                   "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
                   fg_html_tr(p, "Lần nhập gần đây", "Recent imports"), fg_html_tr(p, "Mã", "ID"),
                   fg_html_tr(p, "Định dạng", "Format"), fg_html_tr(p, "Người nhập", "By"), fg_html_tr(p, "Lúc", "At"));
    while (rc == 0 && (rc = fg_stmt_fetch(&st)) == 1) {
        rc = 0;
        fg_html_puts(p, "<tr>");
        cell(p, "id", "Mã", "ID");
        fg_html_text(p, id.data);
        fg_html_puts(p, "</td>");
        cell(p, "", "Định dạng", "Format");
        fg_html_text(p, format.data);
        fg_html_puts(p, "</td>");
        cell(p, "", "Người nhập", "By");
        fg_html_text(p, by.len > 0 ? by.data : "");
        fg_html_puts(p, "</td>");
        cell(p, "nowrap", "Lúc", "At");
        fg_staff_time(p, at);
        fg_html_puts(p, "</td></tr>");
    }
    fg_db_end(db);
    fg_html_puts(p, "</tbody></table></div>");
    fg_buf_free(&id);
    fg_buf_free(&format);
    fg_buf_free(&by);
    return rc < 0 ? rc : 0;
}

static void statements_page(fg_call_t *call, fg_db_t *db, fg_staff_ctx_t *s, int status, const char *notice)
{
    fg_html_t p;
    fg_staff_begin(&p, s, "staff-statements", "Sao kê ngân hàng", "Bank statements");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Sao kê ngân hàng", "Bank statements"));
    if (notice != NULL)
        fg_html_puts(&p, notice);
    upload_form(&p, s);
    int rc = imports_table(&p, db);
    if (rc != 0) {
        fg_buf_free(&p.body);
        fg_staff_unavailable(call, db, rc);
        return;
    }
    fg_html_end(&p, status);
}

void fg_staff_statements(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_CITY, &s) == 0)
        statements_page(call, db, &s, 200, NULL);
}

/* The outcome of an import as a notice (trusted markup, values escaped). */
static void import_notice(fg_buf_t *b, fg_lang_t lang, int rc, const fg_import_result_t *r, const fg_stmt_error_t *err)
{
    int en = lang == FG_LANG_EN;
    if (rc == 0) {
        fg_buf_printf(b,
                      "<div class=\"card\" role=\"status\" data-import=\"%s\" data-duplicate=\"%d\"><p>%s "
                      "<strong class=\"id\">%s</strong></p><dl><dt>%s</dt><dd>",
                      r->public_id, r->duplicate,
                      r->duplicate ? (en ? "This file was imported before:" : "Tệp này đã được nhập trước đó:")
                                   : (en ? "Imported:" : "Đã nhập:"),
                      r->public_id, en ? "Account" : "Tài khoản");
        fg_html_escape(b, r->account, strlen(r->account));
        fg_buf_printf(b, "</dd><dt>%s</dt><dd data-lines=\"%lld\">%lld</dd><dt>%s</dt><dd>%lld</dd></dl></div>",
                      en ? "Lines" : "Số dòng", (long long)r->lines, (long long)r->lines, en ? "New lines" : "Dòng mới",
                      (long long)r->new_lines);
        return;
    }
    fg_buf_puts(b, "<p class=\"error\" role=\"alert\">");
    if (rc == FG_EINVALID) {
        fg_buf_puts(b, en ? "The file is not a valid statement: " : "Tệp không phải sao kê hợp lệ: ");
        fg_html_escape(b, err->message, strlen(err->message));
        if (err->line > 0)
            fg_buf_printf(b, en ? " (line %d)" : " (dòng %d)", err->line);
    } else if (rc == FG_ECHECKSUM) { /* in the statement's currency, as the reconciliation pages write it */
        char opening[FG_MONEY_DISPLAY_MAX], lines[FG_MONEY_DISPLAY_MAX], closing[FG_MONEY_DISPLAY_MAX];
        const char *currency = r->currency[0] != '\0' ? r->currency : "VND";
        (void)fg_money_display(r->opening, currency, opening, sizeof(opening));
        (void)fg_money_display(r->lines_total, currency, lines, sizeof(lines));
        (void)fg_money_display(r->closing, currency, closing, sizeof(closing));
        fg_buf_printf(b, en ? "Statement %d does not balance: opening " : "Sao kê %d không khớp số dư: đầu kỳ ",
                      r->unbalanced_index);
        fg_html_escape(b, opening, strlen(opening));
        fg_buf_puts(b, en ? " + lines " : " + phát sinh ");
        fg_html_escape(b, lines, strlen(lines));
        fg_buf_puts(b, en ? " differs from closing " : " khác cuối kỳ ");
        fg_html_escape(b, closing, strlen(closing));
        fg_buf_putc(b, '.');
    } else {
        fg_buf_puts(b, en ? "The file is too large for this page." : "Tệp quá lớn cho trang này.");
    }
    fg_buf_puts(b, "</p>");
}

void fg_staff_statements_post(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_stmt_format_t format;
    fg_import_result_t r;
    fg_stmt_error_t err;
    char who[320];
    if (fg_staff_open(call, db, FG_STAFF_CITY_WRITE, &s) != 0)
        return;
    const fg_part_t *file = s.multipart ? fg_multipart_get(&s.parts, "file") : NULL;
    const fg_part_t *fmt = s.multipart ? fg_multipart_get(&s.parts, "format") : NULL;
    if (file == NULL || file->len == 0) {
        fg_staff_bad(call, 400, "Hãy chọn tệp sao kê.", "Choose a statement file.");
        return;
    }
    if (fmt != NULL && fmt->len > 0 ? fg_stmt_format_parse(fmt->data, fmt->len, &format) != 0
                                    : fg_stmt_format_sniff(file->data, file->len, &format) != 0) {
        fg_staff_bad(call, 400, "Không nhận ra định dạng tệp: hãy chọn định dạng.",
                     "The file's format is not recognised: choose it.");
        return;
    }
    snprintf(who, sizeof(who), "staff:%s", s.session.staff.email);
    fg_stmt_source_t src = {file->data, file->len, NULL};
    int rc = fg_statement_import(db, &src, format, who, &r, &err);
    if (rc != 0 && rc != FG_EINVALID && rc != FG_ECHECKSUM && rc != FG_ERANGE) {
        fg_staff_unavailable(call, db, rc);
        return;
    }
    if (rc == 0) {
        fg_buf_t after = FG_BUF_INIT;
        fg_import_json(&after, &r);
        int arc = fg_staff_audit(db, &s, "statement.import", r.public_id, after.data);
        fg_buf_free(&after);
        if (arc != 0) {
            fg_staff_unavailable(call, db, arc);
            return;
        }
    }
    fg_buf_t notice = FG_BUF_INIT;
    import_notice(&notice, fg_html_lang(call), rc, &r, &err);
    statements_page(call, db, &s, rc == 0 ? (r.duplicate ? 200 : 201) : rc == FG_ECHECKSUM ? 422 : 400, notice.data);
    fg_buf_free(&notice);
}

/* ---- reconciliation runs ---------------------------------------------------------- */

/* with each run's currency, its account's (the statements'; VND when none), as
 * fg_reconciliation_read names it */
static const char SQL_RUNS[] =
    "SELECT r.public_id, r.account, r.from_day, r.to_day, r.created_by, r.created_at, COALESCE((SELECT s.currency "
    "FROM statements s WHERE s.account = r.account ORDER BY s.id DESC LIMIT 1), 'VND') FROM reconciliations r "
    "ORDER BY r.id DESC LIMIT ?";

void fg_staff_reconciliations(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_CITY, &s) != 0)
        return;
    fg_stmt_t st;
    fg_buf_t id = FG_BUF_INIT, account = FG_BUF_INIT, by = FG_BUF_INIT, currency = FG_BUF_INIT;
    int64_t from = 0, to = 0, at = 0;
    char day[11];
    fg_html_t p;
    fg_staff_begin(&p, &s, "staff-reconciliations", "Đối soát", "Reconciliation");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Đối soát", "Reconciliation"));
    if (fg_staff_may(&s, FG_STAFF_WRITE)) {
        fg_html_puts(&p, "<form method=\"post\" action=\"/staff/reconciliations\" class=\"filters card\" "
                         "data-form=\"reconciliation-create\">");
        fg_staff_csrf_input(&p, &s);
        fg_html_printf(&p,
                       "<div><label for=\"account\">%s</label><input id=\"account\" name=\"account\" required "
                       "maxlength=\"34\"></div><div><label for=\"from\">%s</label><input id=\"from\" name=\"from\" "
                       "type=\"date\" required></div><div><label for=\"to\">%s</label><input id=\"to\" name=\"to\" "
                       "type=\"date\" required></div><div><button type=\"submit\">%s</button></div></form>",
                       fg_html_tr(&p, "Tài khoản ngân hàng", "Bank account"), fg_html_tr(&p, "Từ ngày", "From"),
                       fg_html_tr(&p, "Đến ngày", "To"), fg_html_tr(&p, "Đối soát", "Reconcile"));
    }
    int rc = fg_stmt_init(&st, db, SQL_RUNS);
    if (rc == 0) {
        fg_stmt_int(&st, RUNS_SHOWN);
        fg_stmt_out_text(&st, &id, NULL);
        fg_stmt_out_text(&st, &account, NULL);
        fg_stmt_out_int(&st, &from, NULL);
        fg_stmt_out_int(&st, &to, NULL);
        fg_stmt_out_text(&st, &by, NULL);
        fg_stmt_out_int(&st, &at, NULL);
        fg_stmt_out_text(&st, &currency, NULL);
        rc = fg_stmt_exec(&st);
    }
    fg_html_printf(&p,
                   "<div class=\"table-wrap\"><table class=\"data\" data-table=\"reconciliations\"><thead><tr>"
                   "<th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
                   fg_html_tr(&p, "Mã", "ID"), fg_html_tr(&p, "Tài khoản", "Account"),
                   fg_html_tr(&p, "Tiền tệ", "Currency"), fg_html_tr(&p, "Kỳ", "Period"),
                   fg_html_tr(&p, "Người tạo", "By"), fg_html_tr(&p, "Lúc", "At"));
    while (rc == 0 && (rc = fg_stmt_fetch(&st)) == 1) {
        rc = 0;
        fg_html_puts(&p, "<tr data-currency=\"");
        fg_html_text(&p, currency.data);
        fg_html_puts(&p, "\"><td><a href=\"/staff/reconciliations/");
        fg_html_text(&p, id.data);
        fg_html_puts(&p, "\">");
        fg_html_text(&p, id.data);
        fg_html_puts(&p, "</a></td><td>");
        fg_html_text(&p, account.data);
        fg_html_puts(&p, "</td><td>");
        fg_html_text(&p, currency.data);
        fg_day_format((int32_t)from, day);
        fg_html_printf(&p, "</td><td>%s – ", day);
        fg_day_format((int32_t)to, day);
        fg_html_printf(&p, "%s</td><td>", day);
        fg_html_text(&p, by.data);
        fg_html_puts(&p, "</td><td>");
        fg_staff_time(&p, at);
        fg_html_puts(&p, "</td></tr>");
    }
    fg_db_end(db);
    fg_html_puts(&p, "</tbody></table></div>");
    fg_buf_free(&id);
    fg_buf_free(&account);
    fg_buf_free(&by);
    fg_buf_free(&currency);
    if (rc < 0) {
        fg_buf_free(&p.body);
        fg_staff_unavailable(call, db, rc);
        return;
    }
    fg_html_end(&p, 200);
}

void fg_staff_reconciliations_post(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_buf_t account = FG_BUF_INIT, from = FG_BUF_INIT, to = FG_BUF_INIT;
    int32_t from_day = 0, to_day = 0;
    char id[FG_ID_CAP], who[320], location[96];
    if (fg_staff_open(call, db, FG_STAFF_CITY_WRITE, &s) != 0)
        goto Exit;
    fg_staff_field(&s, "account", &account);
    fg_staff_field(&s, "from", &from);
    fg_staff_field(&s, "to", &to);
    char key[FG_STMT_ACCOUNT_MAX + 1];
    if (fg_bank_account_key(account.data, account.len, key, sizeof(key), FG_STMT_ACCOUNT_MAX) < 0 ||
        fg_day_parse(from.data, from.len, &from_day) != 0 || fg_day_parse(to.data, to.len, &to_day) != 0 ||
        from_day > to_day) {
        fg_staff_bad(call, 400, "Cần tài khoản và kỳ hợp lệ (từ ngày không sau đến ngày).",
                     "An account and a valid period (from not after to) are needed.");
        goto Exit;
    }
    snprintf(who, sizeof(who), "staff:%s", s.session.staff.email);
    int rc = fg_reconciliation_create(db, call->cfg, key, from_day, to_day, who, id, NULL, NULL);
    if (rc == 0) {
        fg_buf_t after = FG_BUF_INIT;
        fg_buf_putc(&after, '{');
        fg_json_kv_str(&after, 0, "account", key);
        fg_json_kv_str(&after, 1, "from", from.data);
        fg_json_kv_str(&after, 1, "to", to.data);
        fg_buf_putc(&after, '}');
        rc = fg_staff_audit(db, &s, "reconciliation.create", id, after.data);
        fg_buf_free(&after);
    }
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    snprintf(location, sizeof(location), "/staff/reconciliations/%s", id);
    fg_html_redirect(call, location);
Exit:
    fg_buf_free(&account);
    fg_buf_free(&from);
    fg_buf_free(&to);
}

/* ---- one reconciliation and its exception queue ---------------------------------------- */

static int is_exception(const char *state)
{
    return strcmp(state, "suggested") == 0 || strcmp(state, "bank_only") == 0 || strcmp(state, "ledger_only") == 0 ||
           strcmp(state, "amount_mismatch") == 0 || strcmp(state, "duplicate") == 0;
}

/* What staff read for an item's kind, state and resolution (the API's codes
 * stay in the row's data-* attributes and the form's option values). */
typedef struct {
    const char *code, *vi, *en;
} label_t;

static const label_t KINDS[] = {
    {"bank_line", "Dòng sao kê", "Statement line"},
    {"ledger_posting", "Bút toán sổ", "Ledger posting"},
    {"balance_gap", "Chênh số dư", "Balance gap"},
    {"settlement_row", "Dòng quyết toán cổng", "Settlement row"},
};
static const label_t STATES[] = {
    {"unmatched", "Đang đối chiếu", "Being matched"},  {"matched", "Đã khớp", "Matched"},
    {"suggested", "Gợi ý khớp", "Suggested match"},    {"bank_only", "Chỉ có ở ngân hàng", "Bank only"},
    {"ledger_only", "Chỉ có trong sổ", "Ledger only"}, {"amount_mismatch", "Lệch số tiền", "Amount mismatch"},
    {"duplicate", "Trùng lặp", "Duplicate"},
};
static const label_t ACTION_LABELS[] = {
    {"accept", "Chấp nhận", "Accept"},
    {"write_off", "Xóa sổ", "Write off"},
    {"refund", "Hoàn tiền cho người nộp", "Refund the payer"},
    {"apply", "Gán vào hóa đơn", "Apply to an order"},
    {"undo", "Hoàn tác", "Undo"},
};

/* The label of code in labels[0..n), or the code itself when it has none. */
static const char *label_of(const fg_html_t *p, const label_t *labels, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i].code, code) == 0)
            return fg_html_tr(p, labels[i].vi, labels[i].en);
    return code;
}
#define LABEL(p, table, code) label_of((p), (table), sizeof(table) / sizeof((table)[0]), (code))

static void option(fg_html_t *p, const char *action)
{
    fg_html_printf(p, "<option value=\"%s\">%s</option>", action, LABEL(p, ACTION_LABELS, action));
}

/* The minor-unit digits of a reconciliation's currency (VND's none; an
 * unknown code is taken as without minor units, as fg_money_display does). */
static int exponent_of(const char *currency)
{
    const fg_currency_t *c = fg_currency_find(currency, strlen(currency));
    return c != NULL ? c->exponent : 0;
}

/* What an amount typed for apply is: minor units of the reconciliation's
 * currency, as the API's "amount" (đồng; 1234 is 12,34 USD). */
static void amount_unit(fg_html_t *p, const char *currency)
{
    char example[FG_MONEY_DISPLAY_MAX];
    if (exponent_of(currency) == 0) {
        fg_html_printf(p, "%s ", fg_html_tr(p, "đơn vị", "in"));
        fg_html_text(p, strcmp(currency, "VND") == 0 ? "đồng" : currency);
        return;
    }
    (void)fg_money_display(1234, currency, example, sizeof(example));
    fg_html_printf(p, "%s ", fg_html_tr(p, "đơn vị nhỏ nhất của", "minor units of"));
    fg_html_text(p, currency);
    fg_html_printf(p, ": 1234 %s ", fg_html_tr(p, "là", "is"));
    fg_html_text(p, example);
}

/* The item's resolve form: the action, the note it requires and, for apply,
 * the order and amount (shown only while apply is chosen, where scripts run;
 * the amount in minor units of the reconciliation's currency, as the API's).
 * money_back: the item is money received on a statement line, which may be
 * applied to an order or refunded; anything else is accepted or written off.
 * A resolved item offers undo, except an apply, which is never undone
 * (services/recon/resolve.c: its payments are refunded like any other), and
 * a refund whose money has left the bank (paid_out): it says so instead of
 * offering a form that could only be refused. */
static void resolve_form(fg_html_t *p, const fg_staff_ctx_t *s, const fg_reconciliation_t *rec, long long item,
                         const char *resolution, int money_back, int paid_out)
{
    int resolved = resolution[0] != '\0';
    if (strcmp(resolution, "apply") == 0) {
        fg_html_printf(p, "<p class=\"muted\" data-undo=\"unsupported\">%s</p>",
                       fg_html_tr(p,
                                  "Không hoàn tác được: tiền đã vào hóa đơn. Muốn trả lại, hãy hoàn tiền khoản thanh "
                                  "toán của hóa đơn.",
                                  "Cannot be undone: the money went to the order. To give it back, refund the order's "
                                  "payment."));
        return;
    }
    if (resolved && paid_out) {
        fg_html_printf(p, "<p class=\"muted\" data-undo=\"unsupported\">%s</p>",
                       fg_html_tr(p, "Không hoàn tác được: tiền hoàn đã rời ngân hàng.",
                                  "Cannot be undone: the refund's money has left the bank."));
        return;
    }
    fg_html_printf(p,
                   "<form method=\"post\" action=\"/staff/reconciliations/%s/items/%lld/resolve\" "
                   "class=\"resolve\" data-form=\"resolve\">",
                   rec->public_id, item);
    fg_staff_csrf_input(p, s);
    fg_html_printf(p, "<div><label for=\"action-%lld\">%s</label><select id=\"action-%lld\" name=\"action\">", item,
                   fg_html_tr(p, "Xử lý", "Action"), item);
    if (resolved) {
        option(p, "undo");
    } else {
        option(p, "accept");
        option(p, "write_off");
        if (money_back) {
            option(p, "refund");
            option(p, "apply");
        }
    }
    fg_html_printf(p,
                   "</select></div><div><label for=\"note-%lld\">%s</label><input id=\"note-%lld\" name=\"note\" "
                   "required maxlength=\"1000\"></div>",
                   item, fg_html_tr(p, "Ghi chú", "Note"), item);
    if (!resolved && money_back) {
        fg_html_printf(p,
                       "<div data-for=\"apply\"><label for=\"order-%lld\">%s</label><input id=\"order-%lld\" "
                       "name=\"order\" placeholder=\"ord_…\"></div><div data-for=\"apply\"><label "
                       "for=\"amount-%lld\">%s (",
                       item, fg_html_tr(p, "Hóa đơn (khi gán)", "Order (to apply)"), item, item,
                       fg_html_tr(p, "Số tiền khi gán", "Amount to apply"));
        amount_unit(p, rec->currency);
        fg_html_printf(p, ")</label><input id=\"amount-%lld\" name=\"amount\" inputmode=\"numeric\" data-currency=\"",
                       item);
        fg_html_text(p, rec->currency);
        fg_html_printf(p, "\" data-exponent=\"%d\"></div>", exponent_of(rec->currency));
    }
    fg_html_printf(p, "<button type=\"submit\">%s</button></form>", fg_html_tr(p, "Lưu", "Save"));
}

/* A string member of an item, or "" (null, absent or another type). */
static const char *str_of(yajl_val obj, const char *key)
{
    yajl_val v = fg_json_member(obj, key);
    return v != NULL && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
}

/* A boolean member of an item: 1 when true, 0 otherwise (false, null or absent). */
static int bool_of(yajl_val obj, const char *key)
{
    yajl_val v = fg_json_member(obj, key);
    return v != NULL && YAJL_IS_TRUE(v);
}

/* A cell that names its column for the narrow layout, where the table's rows
 * stand as cards and the header is not shown. */
/* The matcher's words about an item (services/recon: stored in English,
 * amounts in minor units), in the page's language with amounts in the
 * item's currency, for the texts it writes most; 0 when it is none of them
 * (the page then shows it as written, marked English). */
static int detail_words(fg_html_t *p, const char *detail, const char *currency, char *out, size_t cap)
{
    static const struct {
        const char *en, *vi, *en_page;
    } FIXED[] = {
        {"no payment or order matches", "Không khoản thanh toán hay hóa đơn nào khớp.", "No payment or order matches."},
        {"a debit: no settlement batch, payer refund or payout names it",
         "Khoản ghi nợ: không lô quyết toán, khoản hoàn tiền hay chi trả nào ứng với nó.",
         "A debit: no settlement batch, payer refund or payout names it."},
        {"the bank feed recorded this transfer", "Nguồn báo có của ngân hàng đã ghi nhận giao dịch này.",
         "The bank feed recorded this transfer."},
        {"the bank feed applied this transfer; no statement line shows it",
         "Nguồn báo có đã ghi nhận giao dịch này; chưa dòng sao kê nào thể hiện nó.",
         "The bank feed applied this transfer; no statement line shows it."},
    };
    int vi = p->lang != FG_LANG_EN;
    for (size_t i = 0; i < sizeof(FIXED) / sizeof(FIXED[0]); i++)
        if (strcmp(detail, FIXED[i].en) == 0) {
            snprintf(out, cap, "%s", vi ? FIXED[i].vi : FIXED[i].en_page);
            return 1;
        }
    int n = 0, days = 0, used = 0;
    long long owed = 0, line = 0;
    char a[FG_MONEY_DISPLAY_MAX], b[FG_MONEY_DISPLAY_MAX];
    if (sscanf(detail, "the memo names %d order(s) that still owe %lld, the line is %lld%n", &n, &owed, &line, &used) ==
            3 &&
        detail[used] == '\0') {
        (void)fg_money_display(owed, currency, a, sizeof(a));
        (void)fg_money_display(line, currency, b, sizeof(b));
        snprintf(out, cap,
                 vi ? "Nội dung ghi %d hóa đơn còn nợ %s; dòng sao kê là %s."
                    : "The memo names %d order(s) that still owe %s; the line is %s.",
                 n, a, b);
        return 1;
    }
    if (sscanf(detail, "%d open order(s) owe exactly this amount within %d days%n", &n, &days, &used) == 2 &&
        detail[used] == '\0') {
        snprintf(out, cap,
                 vi ? "%d hóa đơn đang mở còn nợ đúng số tiền này, trong vòng %d ngày."
                    : "%d open order(s) owe exactly this amount within %d days.",
                 n, days);
        return 1;
    }
    char gateway[16], batch[64];
    if (sscanf(detail,
               "the %15s payout %63[^:]: its settlement file is not imported yet (it is matched when the file "
               "comes)%n",
               gateway, batch, &used) == 2 &&
        detail[used] == '\0') {
        snprintf(out, cap,
                 vi ? "Khoản chuyển về của %s, lô %s: tệp quyết toán chưa được nhập (sẽ đối chiếu khi tệp đến)."
                    : "The %s payout %s: its settlement file is not imported yet (it is matched when the file comes).",
                 gateway, batch);
        return 1;
    }
    if (sscanf(detail, "paid %d order(s) named in the memo%n", &n, &used) == 1 && detail[used] == '\0') {
        snprintf(out, cap, vi ? "Đã thanh toán %d hóa đơn ghi trong nội dung." : "Paid %d order(s) named in the memo.",
                 n);
        return 1;
    }
    return 0;
}

/* 1 when every day of the period is closed: its items never change. */
static int period_closed(const fg_reconciliation_t *r)
{
    return r->closed_days >= fg_day_number(r->to_day) - fg_day_number(r->from_day) + 1;
}

/* An item's row; its amount in the reconciliation's currency (the item's
 * own, which is the same: the account's). */

static void item_row(fg_html_t *p, const fg_staff_ctx_t *s, const fg_reconciliation_t *rec, yajl_val it)
{
    yajl_val idv = fg_json_member(it, "id"), amountv = fg_json_member(it, "amount");
    const char *state = str_of(it, "state"), *resolution = str_of(it, "resolution"), *kind = str_of(it, "kind");
    const char *memo = str_of(it, "memo"), *detail = str_of(it, "detail"), *currency = str_of(it, "currency");
    long long id = idv != NULL && YAJL_IS_INTEGER(idv) ? YAJL_GET_INTEGER(idv) : 0;
    int64_t amount = amountv != NULL && YAJL_IS_INTEGER(amountv) ? YAJL_GET_INTEGER(amountv) : 0;
    fg_html_printf(p, "<tr data-item=\"%lld\" data-state=\"", id);
    fg_html_text(p, state);
    fg_html_puts(p, "\">");
    cell(p, "", "Mục", "Item");
    if (id >= FG_RECON_LINE_ITEM_BASE) /* a line matched as it was imported: named by its line */
        fg_html_printf(p, "<span title=\"%s\">L%lld</span>",
                       fg_html_tr(p, "Dòng sao kê khớp khi nhập", "Statement line, matched as imported"),
                       id - (long long)FG_RECON_LINE_ITEM_BASE);
    else
        fg_html_printf(p, "%lld", id);
    fg_html_puts(p, "</td>");
    cell(p, "", "Loại", "Kind");
    fg_html_text(p, LABEL(p, KINDS, kind));
    fg_html_puts(p, "</td>");
    cell(p, "", "Trạng thái", "State");
    fg_html_text(p, LABEL(p, STATES, state));
    if (resolution[0] != '\0') {
        fg_html_puts(p, " · <span data-resolution=\"");
        fg_html_text(p, resolution);
        fg_html_puts(p, "\">");
        fg_html_text(p, LABEL(p, ACTION_LABELS, resolution));
        fg_html_puts(p, "</span>");
    }
    fg_html_puts(p, "</td>");
    cell(p, "nowrap", "Ngày", "Day");
    fg_html_text(p, str_of(it, "business_day"));
    fg_html_puts(p, "</td>");
    cell(p, "num", "Số tiền", "Amount");
    fg_staff_money(p, amount, currency[0] != '\0' ? currency : rec->currency);
    fg_html_puts(p, "</td>");
    cell(p, "", "Nội dung", "Memo");
    fg_html_text(p, memo);
    char words[400];
    if (detail[0] != '\0' &&
        detail_words(p, detail, currency[0] != '\0' ? currency : rec->currency, words, sizeof(words))) {
        fg_html_puts(p, "<span class=\"why\">");
        fg_html_text(p, words);
        fg_html_puts(p, "</span>");
    } else if (detail[0] != '\0') { /* the matcher's words, written in English */
        fg_html_puts(p, "<span class=\"why\" lang=\"en\">");
        fg_html_text(p, detail);
        fg_html_puts(p, "</span>");
    }
    fg_html_puts(p, "</td><td class=\"act\">");
    int actionable = fg_staff_may(s, FG_STAFF_WRITE) && (is_exception(state) || resolution[0] != '\0');
    if (actionable && period_closed(rec)) /* a closed day's items are final: no form that could only be refused */
        fg_html_printf(p, "<p class=\"muted\" data-final>%s</p>", fg_html_tr(p, "Đã khóa sổ", "Closed"));
    else if (actionable)
        resolve_form(p, s, rec, id, resolution, strcmp(kind, "bank_line") == 0 && amount > 0, bool_of(it, "paid_out"));
    fg_html_puts(p, "</td></tr>");
}

static void summary(fg_html_t *p, const fg_reconciliation_t *r)
{
    char from[11], to[11];
    fg_day_format(r->from_day, from);
    fg_day_format(r->to_day, to);
    fg_html_printf(p, "<div class=\"card\"><dl class=\"grid2\" data-reconciliation=\"%s\" data-currency=\"",
                   r->public_id);
    fg_html_text(p, r->currency);
    fg_html_printf(p, "\"><div><dt>%s</dt><dd>", fg_html_tr(p, "Tài khoản", "Account"));
    fg_html_text(p, r->account);
    fg_html_printf(p, "</dd><dt>%s</dt><dd data-field=\"currency\">", fg_html_tr(p, "Tiền tệ", "Currency"));
    fg_html_text(p, r->currency);
    fg_html_printf(p, "</dd><dt>%s</dt><dd>%s – %s</dd><dt>%s</dt><dd>", fg_html_tr(p, "Kỳ", "Period"), from, to,
                   fg_html_tr(p, "Người tạo", "By"));
    fg_html_text(p, r->created_by);
    int64_t exceptions = 0;
    for (int i = FG_RECON_SUGGESTED; i < FG_RECON_STATE_COUNT; i++)
        exceptions += r->count[i];
    fg_html_printf(p,
                   "</dd></div><div><dt>%s</dt><dd>%lld</dd><dt>%s</dt><dd>%lld</dd><dt>%s</dt>"
                   "<dd data-exceptions=\"%lld\">%lld</dd><dt>%s</dt><dd>",
                   fg_html_tr(p, "Mục", "Items"), (long long)r->items, fg_html_tr(p, "Đã khớp", "Matched"),
                   (long long)r->count[FG_RECON_MATCHED], fg_html_tr(p, "Ngoại lệ", "Exceptions"),
                   (long long)exceptions, (long long)exceptions, fg_html_tr(p, "Chưa đối soát", "Unreconciled"));
    fg_staff_money(p, r->unreconciled, r->currency);
    fg_html_puts(p, "</dd></div></dl></div>");
}

/* Whether the period's days are closed, and for finance the form that
 * closes them: a closed day never changes, so the page says what closing
 * asks before the button (every refusal is explained on its own page). */
static void close_section(fg_html_t *p, const fg_staff_ctx_t *s, const fg_reconciliation_t *r)
{
    if (period_closed(r)) {
        fg_html_printf(p, "<p class=\"notice\" role=\"status\" data-closed=\"true\">%s</p>",
                       fg_html_tr(p, "Kỳ đã khóa sổ: các ngày của kỳ không thay đổi nữa.",
                                  "The period is closed: its days never change again."));
        return;
    }
    if (!fg_staff_may(s, FG_STAFF_CITY_WRITE))
        return;
    fg_html_printf(p,
                   "<form method=\"post\" action=\"/staff/reconciliations/%s/close\" class=\"card\" "
                   "data-form=\"close\" data-closed=\"false\"><p>%s</p>",
                   r->public_id,
                   fg_html_tr(p,
                              "Khóa sổ khi mọi mục đã khớp hoặc đã xử lý, ngày cuối của kỳ đã qua và các ngày trước "
                              "kỳ đã khóa. Ngày đã khóa không thay đổi nữa: dòng sao kê đến sau được đối soát vào ngày "
                              "mở kế tiếp.",
                              "Close once every item is matched or resolved, the period's last day is over and the "
                              "days before it are closed. A closed day never changes again: a statement line that "
                              "comes later is reconciled on the next open day."));
    fg_staff_csrf_input(p, s);
    fg_html_printf(p, "<button type=\"submit\">%s</button></form>", fg_html_tr(p, "Khóa sổ kỳ", "Close the period"));
}

void fg_staff_reconciliation(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_reconciliation_t r;
    if (fg_staff_open(call, db, FG_STAFF_CITY, &s) != 0)
        return;
    int rc = fg_reconciliation_get(db, call->params[0], &r);
    if (rc == FG_ENOTFOUND) {
        fg_db_end(db);
        fg_staff_not_found(call);
        return;
    }
    fg_buf_t items = FG_BUF_INIT;
    int64_t last = 0;
    int more = 0;
    fg_buf_putc(&items, '[');
    if (rc == 0)
        rc = fg_reconciliation_items(db, &r, NULL, 0, ITEMS_SHOWN, &items, &last, &more);
    fg_db_end(db);
    fg_buf_putc(&items, ']');
    yajl_val list = rc == 0 ? yajl_tree_parse(items.data, NULL, 0) : NULL;
    fg_buf_free(&items);
    if (rc != 0 || list == NULL || !YAJL_IS_ARRAY(list)) {
        yajl_tree_free(list);
        fg_staff_unavailable(call, db, rc != 0 ? rc : FG_EDB);
        return;
    }
    fg_html_t p;
    /* lines the matching job has not decided yet (a run sends the undecided
     * ones back to it): the page reloads itself until the queue is final */
    int matching = r.count[FG_RECON_UNMATCHED] > 0;
    int reload = matching && fg_now_ms() - r.created_at < MATCHING_REFRESH_FOR_MS;
    fg_staff_begin_refresh(&p, &s, "staff-reconciliation", "Đối soát", "Reconciliation",
                           matching ? "data-status=\"matching\"" : "data-status=\"ready\"",
                           reload ? MATCHING_REFRESH_S : 0);
    fg_html_printf(&p, "<h1>%s %s</h1>", fg_html_tr(&p, "Đối soát", "Reconciliation"), r.public_id);
    if (matching)
        fg_html_printf(&p, "<p class=\"notice\" role=\"status\" data-matching=\"%lld\">%s</p>",
                       (long long)r.count[FG_RECON_UNMATCHED],
                       reload ? fg_html_tr(&p, "Đang đối chiếu các dòng sao kê; trang tự tải lại.",
                                           "Statement lines are being matched; the page reloads itself.")
                              : fg_html_tr(&p, "Đang đối chiếu các dòng sao kê; tải lại trang để xem tiến độ.",
                                           "Statement lines are being matched; reload the page to see how far."));
    summary(&p, &r);
    close_section(&p, &s, &r);
    fg_html_printf(&p,
                   "<h2>%s</h2><div class=\"table-wrap\"><table class=\"data stack\" data-table=\"items\"><thead><tr>"
                   "<th>#</th><th>%s</th><th>%s</th><th>%s</th><th class=\"num\">%s</th><th>%s</th><th>%s</th>"
                   "</tr></thead><tbody>",
                   fg_html_tr(&p, "Các mục và hàng ngoại lệ", "Items and the exception queue"),
                   fg_html_tr(&p, "Loại", "Kind"), fg_html_tr(&p, "Trạng thái", "State"), fg_html_tr(&p, "Ngày", "Day"),
                   fg_html_tr(&p, "Số tiền", "Amount"), fg_html_tr(&p, "Nội dung", "Memo"),
                   fg_html_tr(&p, "Xử lý", "Resolve"));
    for (size_t i = 0; i < list->u.array.len; i++)
        item_row(&p, &s, &r, list->u.array.values[i]);
    if (list->u.array.len == 0)
        fg_html_printf(&p, "<tr><td colspan=\"7\" class=\"muted\">%s</td></tr>",
                       fg_html_tr(&p, "Kỳ này chưa có mục nào.", "No items in this period yet."));
    fg_html_puts(&p, "</tbody></table></div>");
    if (more)
        fg_html_printf(&p, "<p class=\"muted\">%s</p>",
                       fg_html_tr(&p, "Còn nhiều mục hơn: dùng API để xem hết.",
                                  "More items follow: the API lists them all."));
    yajl_tree_free(list);
    fg_html_end(&p, 200);
}

/* The resolution of the form: 0, or -1 after answering 400. */
static int read_resolution(fg_staff_ctx_t *s, fg_buf_t *action, fg_buf_t *note, fg_buf_t *order, fg_buf_t *amount,
                           fg_recon_resolution_t *in)
{
    static const struct {
        const char *name;
        fg_recon_action_t action;
    } ACTIONS[] = {{"accept", FG_RECON_ACCEPT},
                   {"apply", FG_RECON_APPLY},
                   {"write_off", FG_RECON_WRITE_OFF},
                   {"undo", FG_RECON_UNDO},
                   {"refund", FG_RECON_REFUND}};
    memset(in, 0, sizeof(*in));
    fg_staff_field(s, "action", action);
    fg_staff_field(s, "note", note);
    fg_staff_field(s, "order", order);
    fg_staff_field(s, "amount", amount);
    if (note->len == 0 || !fg_utf8_valid(note->data, note->len) ||
        fg_utf8_length(note->data, note->len) > FG_RECON_NOTE_MAX) {
        fg_staff_bad(s->call, 400, "Cần ghi chú (1 đến 1000 ký tự).", "A note of 1 to 1000 characters is required.");
        return -1;
    }
    in->note = note->data;
    int known = 0;
    for (size_t i = 0; i < sizeof(ACTIONS) / sizeof(ACTIONS[0]); i++)
        if (action->len > 0 && strcmp(action->data, ACTIONS[i].name) == 0) {
            in->action = ACTIONS[i].action;
            known = 1;
        }
    if (!known) {
        fg_staff_bad(s->call, 400, "Cách xử lý không hợp lệ.", "Unknown action.");
        return -1;
    }
    return 0;
}

/* Apply's order and amount: the amount in minor units of the
 * reconciliation's currency, digits only, as the API's "amount" (đồng; 1234
 * is 12,34 USD), never read as major units.  0, or -1 after answering 400. */
static int read_apply(fg_staff_ctx_t *s, const fg_reconciliation_t *rec, const fg_buf_t *order, const fg_buf_t *amount,
                      fg_recon_resolution_t *in)
{
    int64_t v = 0;
    int digits = amount->len > 0 && amount->len <= 16;
    for (size_t i = 0; digits && i < amount->len; i++)
        if (amount->data[i] < '0' || amount->data[i] > '9')
            digits = 0;
        else
            v = v * 10 + (amount->data[i] - '0'); /* 16 digits: far inside int64 */
    if (order->len == 0 || !digits || !fg_amount_valid(v)) {
        char example[FG_MONEY_DISPLAY_MAX], vi[320], en[320];
        int minor = exponent_of(rec->currency) > 0;
        /* the code is an imported statement's, a checked ISO 4217 code: letters only */
        const char *unit = minor || strcmp(rec->currency, "VND") != 0 ? rec->currency : "đồng";
        (void)fg_money_display(minor ? 1234 : 1500000, rec->currency, example, sizeof(example));
        snprintf(vi, sizeof(vi),
                 "Gán vào hóa đơn cần mã hóa đơn và số tiền dương, viết bằng chữ số theo %s%s (%s là %s).",
                 minor ? "đơn vị nhỏ nhất của " : "", unit, minor ? "1234" : "1500000", example);
        snprintf(en, sizeof(en), "Apply needs an order id and a positive amount, in digits, in %s%s (%s is %s).",
                 minor ? "minor units of " : "", unit, minor ? "1234" : "1500000", example);
        fg_staff_bad(s->call, 400, vi, en);
        return -1;
    }
    in->order_count = 1;
    in->orders[0].order_id = order->data;
    in->orders[0].amount = v;
    return 0;
}

/* A resolve fg_recon_resolve refused (rc), in words: the same cases as the
 * API's codes (services/api/statements.c), each with its own reason. */
static void refused(fg_call_t *call, const fg_reconciliation_t *rec, int rc, const fg_recon_resolution_t *in,
                    const fg_recon_resolved_t *out)
{
    int status = rc == FG_ECONFLICT || rc == FG_ESTATE ? 409 : 422;
    const char *vi, *en;
    char amount[FG_MONEY_DISPLAY_MAX], vi_amount[400], en_amount[400];
    int64_t applied = 0;
    for (int i = 0; i < in->order_count; i++)
        applied += in->orders[i].amount; /* at most 20 of 10^15 */
    (void)fg_money_display(out->bad_order >= 0 && out->bad_order < in->order_count ? in->orders[out->bad_order].amount
                                                                                   : applied,
                           rec->currency, amount, sizeof(amount));
    if (rc == FG_ENOTFOUND) { /* an allocation's order */
        vi = "Không có hóa đơn này.", en = "No such order.";
    } else if (rc == FG_ECONFLICT) {
        vi = "Mục đã được xử lý: hoàn tác trước rồi xử lý lại.", en = "The item is resolved already: undo it first.";
    } else if (rc == FG_ESTATE && out->bad_order >= 0 && out->order_currency) {
        status = 422;
        vi = "Hóa đơn được lập bằng loại tiền khác với dòng sao kê: không gán được.";
        en = "The order is in another currency than the statement line: it cannot take its money.";
    } else if (rc == FG_ESTATE && out->bad_order >= 0) {
        status = 422;
        snprintf(vi_amount, sizeof(vi_amount), "Hóa đơn không nhận được %s (đã đóng, hoặc không được trả số tiền đó).",
                 amount);
        snprintf(en_amount, sizeof(en_amount),
                 "The order cannot take %s (it is closed, or that is not what it may be paid).", amount);
        vi = vi_amount, en = en_amount;
    } else if (rc == FG_ESTATE && out->day_closed) {
        vi = "Ngày của mục đã khóa sổ và không thay đổi nữa: ghi bút toán điều chỉnh vào một ngày còn mở.";
        en = "The item's business day is closed and never changes: record a correction on an open day.";
    } else if (rc == FG_ESTATE && in->action == FG_RECON_UNDO) {
        vi = "Mục chưa được xử lý: không có gì để hoàn tác.",
        en = "The item is not resolved: there is nothing to undo.";
    } else if (rc == FG_ESTATE) {
        vi = "Mục không phải ngoại lệ (đã khớp hoặc đang đối chiếu).", en = "The item is not an exception (matched, or "
                                                                            "still being matched).";
    } else if (rc == FG_EUNSUPPORTED && in->action == FG_RECON_UNDO && strcmp(out->resolution, "apply") == 0) {
        vi = "Việc gán vào hóa đơn không hoàn tác được: hãy hoàn tiền khoản thanh toán của hóa đơn.";
        en = "An apply cannot be undone: refund the order's payment instead.";
    } else if (rc == FG_EUNSUPPORTED && in->action == FG_RECON_UNDO) {
        vi = "Tiền hoàn đã rời ngân hàng: không hoàn tác được.", en = "The refund's money has left the bank: it cannot "
                                                                      "be undone.";
    } else if (rc == FG_EUNSUPPORTED && strcmp(out->kind, "settlement_row") == 0) {
        vi = "Dòng quyết toán không có tiền ở ngân hàng: hãy chấp nhận hoặc xóa sổ.";
        en = "A settlement row holds no bank money: accept it or write it off.";
    } else if (rc == FG_EUNSUPPORTED && in->action == FG_RECON_WRITE_OFF) {
        status = 500;
        vi = "Tài khoản xóa sổ (recon.write_off_account) không phải tài khoản sổ cái.";
        en = "recon.write_off_account is not a ledger account code.";
    } else if (rc == FG_EUNSUPPORTED) {
        vi = "Chỉ khoản tiền vào ngân hàng mà sổ chưa có mới gán hoặc hoàn được.";
        en = "Only a credit at the bank that the ledger holds nothing of can be applied or refunded.";
    } else if (rc == FG_EEXCEEDS) {
        snprintf(vi_amount, sizeof(vi_amount), "Tổng số tiền gán (%s) vượt quá dòng sao kê.", amount);
        snprintf(en_amount, sizeof(en_amount), "The amounts applied (%s) add up to more than the line.", amount);
        vi = vi_amount, en = en_amount;
    } else {
        vi = "Không xử lý được mục này theo cách đã chọn.", en = "This item cannot be resolved that way.";
    }
    fg_staff_bad(call, status, vi, en);
}

void fg_staff_resolve(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_reconciliation_t rec = {0};
    fg_recon_resolution_t in;
    fg_recon_resolved_t out = {.json = FG_BUF_INIT, .bad_order = -1};
    fg_buf_t action = FG_BUF_INIT, note = FG_BUF_INIT, order = FG_BUF_INIT, amount = FG_BUF_INIT;
    char location[128], *end = NULL;
    if (fg_staff_open(call, db, FG_STAFF_CITY_WRITE, &s) != 0 ||
        read_resolution(&s, &action, &note, &order, &amount, &in) != 0)
        goto Exit;
    long long item = strtoll(call->params[1], &end, 10);
    int rc = end != call->params[1] && *end == '\0' && item >= 1 ? fg_reconciliation_get(db, call->params[0], &rec)
                                                                 : FG_ENOTFOUND;
    fg_db_end(db);
    /* apply's amount is read in the reconciliation's currency */
    if (rc == 0 && in.action == FG_RECON_APPLY && read_apply(&s, &rec, &order, &amount, &in) != 0)
        goto Exit;
    if (rc == 0)
        rc = fg_recon_resolve(db, call->cfg, &rec, item, &in, s.session.staff.email, &out);
    if (rc == 0) {
        snprintf(location, sizeof(location), "/staff/reconciliations/%s", rec.public_id);
        fg_html_redirect(call, location);
    } else if (rc == FG_ENOTFOUND && out.bad_order < 0) {
        fg_staff_not_found(call);
    } else if (rc == FG_ENOTFOUND || rc == FG_ECONFLICT || rc == FG_ESTATE || rc == FG_EUNSUPPORTED ||
               rc == FG_EEXCEEDS || rc == FG_EINVALID) {
        refused(call, &rec, rc, &in, &out);
    } else {
        fg_staff_unavailable(call, db, rc);
    }
Exit:
    fg_buf_free(&out.json);
    fg_buf_free(&action);
    fg_buf_free(&note);
    fg_buf_free(&order);
    fg_buf_free(&amount);
}

/* ---- closing the period ------------------------------------------------------------ */

void fg_staff_reconciliation_close(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_reconciliation_t rec;
    fg_recon_close_refusal_t why;
    char location[128], vi[400], en[400], day[11];
    if (fg_staff_open(call, db, FG_STAFF_CITY_WRITE, &s) != 0)
        return;
    int rc = fg_reconciliation_get(db, call->params[0], &rec);
    fg_db_end(db);
    if (rc == 0)
        rc = fg_reconciliation_close(db, &rec, s.session.staff.email, call->cfg->recon_close_after_hour, &why);
    if (rc == 0) {
        snprintf(location, sizeof(location), "/staff/reconciliations/%s", rec.public_id);
        fg_html_redirect(call, location);
        return;
    }
    if (rc == FG_ENOTFOUND) {
        fg_staff_not_found(call);
        return;
    }
    if (rc == FG_EUNSUPPORTED) {
        char at[17];
        fg_day_time_format(why.closable_at, at);
        snprintf(vi, sizeof(vi), "Ngày cuối của kỳ chưa qua: khóa sổ được từ %s (GMT+7).", at);
        snprintf(en, sizeof(en), "The period's last day is not over: it may be closed from %s (GMT+7).", at);
    } else if (rc == FG_ESTATE) {
        snprintf(vi, sizeof(vi),
                 "Còn %lld mục chưa khớp hoặc chưa xử lý, hoặc tiền hệ thống đã ghi nhận chưa về ngân hàng: xử lý "
                 "hết rồi khóa sổ.",
                 (long long)why.open_items);
        snprintf(en, sizeof(en),
                 "%lld item(s) are neither matched nor resolved, or money already recorded has not reached the "
                 "bank: resolve them first.",
                 (long long)why.open_items);
    } else if (rc == FG_ECONFLICT) {
        fg_day_format(why.day, day);
        snprintf(vi, sizeof(vi),
                 "Ngày %s, trước kỳ này, chưa khóa sổ: các ngày của tài khoản khóa theo thứ tự. Hãy đối soát và khóa "
                 "sổ ngày đó trước.",
                 day);
        snprintf(en, sizeof(en),
                 "%s, before this period, is not closed: an account's days close in order. Reconcile and close it "
                 "first.",
                 day);
    } else if (rc == FG_ECHECKSUM) {
        fg_day_format(why.day, day);
        snprintf(vi, sizeof(vi), "Ngày %s: số dư cuối ngày trên sao kê khác số dư ngân hàng trên sổ cái.", day);
        snprintf(en, sizeof(en), "On %s the statement's closing balance is not the ledger's bank balance.", day);
    } else if (rc == FG_ERANGE) {
        fg_staff_bad(call, 422, "Một kỳ khóa sổ dài nhất một năm.", "A period to close is at most a year.");
        return;
    } else {
        fg_staff_unavailable(call, db, rc);
        return;
    }
    fg_staff_bad(call, 409, vi, en);
}
