/*
 * staff_bills.c - a month's bills from a spreadsheet, for a school's or a
 * utility's accountant and for finance (orders/bills.h):
 *
 *   GET  /staff/bills                    the form: merchant, default fee type, file
 *   POST /staff/bills                    upload (multipart): kept, previewed row by row
 *   POST /staff/bills/{upload}/commit    every row an order, in one transaction, or none
 *   GET  /staff/bills/{upload}/result.csv  each row's code and pay link, for a mail merge
 *
 * The same reader, validation and commit as POST /v1/orders/import.  The
 * file waits in bill_uploads between preview and commit (two requests, maybe
 * two instances), tied to whoever uploaded it; the commit reads it again.
 * Finance and admins upload for any merchant; an accountant for its own;
 * auditors only read.
 */
#include "web/staff.h"

#include <stdio.h>
#include <string.h>
#include "core/text.h"
#include "db/group.h"
#include "orders/bills.h"
#include "orders/orders.h"
#include "staff/staff.h"

/* Rows a preview shows: every invalid one up to this, then valid ones up to the same. */
#define PREVIEW_ROWS 200
/* Merchants offered in the form's list. */
#define MERCHANTS_LISTED 500

static const char SQL_MERCHANTS[] = "SELECT id, public_id, name FROM merchants ORDER BY name, id LIMIT ?";
static const char SQL_MERCHANT_BY_PUBLIC[] = "SELECT id, public_id, name FROM merchants WHERE public_id = ?";
static const char SQL_MERCHANT_BY_ID[] = "SELECT id, public_id, name FROM merchants WHERE id = ?";

static const char *const FEE_TYPES[] = {"tuition", "utility", "procedure"};

typedef struct {
    int64_t id;
    fg_buf_t public_id, name;
} merchant_t;

static void merchant_free(merchant_t *m)
{
    fg_buf_free(&m->public_id);
    fg_buf_free(&m->name);
}

static int merchant_load(fg_db_t *db, const char *sql, const char *public_id, int64_t id, merchant_t *m)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    if (public_id != NULL)
        fg_stmt_cstr(&s, public_id);
    else
        fg_stmt_int(&s, id);
    fg_stmt_out_int(&s, &m->id, NULL);
    fg_stmt_out_text(&s, &m->public_id, NULL);
    fg_stmt_out_text(&s, &m->name, NULL);
    rc = fg_stmt_one(&s);
    fg_db_end(db);
    return rc;
}

/* Auditors read; finance, admins and accountants upload. */
static int may_upload(const fg_staff_ctx_t *s) { return s->session.staff.role != FG_ROLE_AUDITOR; }

static void columns_help(fg_html_t *p)
{
    fg_html_printf(p,
                   "<details class=\"card\"><summary>%s</summary><p>%s</p><ul>"
                   "<li><code>Mã hóa đơn</code> / <code>merchant_ref</code> — %s</li>"
                   "<li><code>Số tiền</code> / <code>amount</code> — %s</li>"
                   "<li><code>Người nộp</code>, <code>Mã học sinh</code>, <code>Số điện thoại</code>, "
                   "<code>Email</code></li>"
                   "<li><code>Hạn nộp</code> / <code>due_date</code> — %s</li>"
                   "<li><code>Loại phí</code> / <code>fee_type</code>, <code>Danh mục</code>, <code>Nội dung</code>, "
                   "<code>Lớp</code>, <code>metadata.*</code></li></ul></details>",
                   fg_html_tr(p, "Các cột của tệp", "The file's columns"),
                   fg_html_tr(p, "Dòng đầu tiên đặt tên cột (tiếng Việt hoặc tiếng Anh); cột khác được bỏ qua.",
                              "The first row names the columns (Vietnamese or English); other columns are ignored."),
                   fg_html_tr(p, "bắt buộc, không trùng", "required, unique"),
                   fg_html_tr(p, "bắt buộc, ví dụ 4.500.000", "required, e.g. 4.500.000"),
                   fg_html_tr(p, "dd/mm/yyyy, hết ngày theo giờ Việt Nam",
                              "dd/mm/yyyy, the end of that day in Hà Nội"));
}

static int merchant_options(fg_html_t *p, fg_db_t *db, const fg_staff_ctx_t *s)
{
    if (fg_staff_scope(s) != 0) {
        fg_html_printf(p, "<input type=\"hidden\" name=\"merchant\" value=\"%s\">",
                       s->session.staff.merchant_public_id);
        return 0;
    }
    fg_stmt_t st;
    int64_t id = 0;
    fg_buf_t pub = FG_BUF_INIT, name = FG_BUF_INIT;
    int rc = fg_stmt_init(&st, db, SQL_MERCHANTS);
    if (rc != 0)
        return rc;
    fg_stmt_int(&st, MERCHANTS_LISTED);
    fg_stmt_out_int(&st, &id, NULL);
    fg_stmt_out_text(&st, &pub, NULL);
    fg_stmt_out_text(&st, &name, NULL);
    if ((rc = fg_stmt_exec(&st)) == 0) {
        fg_html_printf(p, "<label for=\"merchant\">%s</label><select id=\"merchant\" name=\"merchant\" required>",
                       fg_html_tr(p, "Đơn vị thu", "Merchant"));
        while ((rc = fg_stmt_fetch(&st)) == 1) {
            fg_html_puts(p, "<option value=\"");
            fg_html_textn(p, pub.data, pub.len);
            fg_html_puts(p, "\">");
            fg_html_textn(p, name.data, name.len);
            fg_html_puts(p, "</option>");
        }
        fg_html_puts(p, "</select>");
    }
    fg_db_end(db);
    fg_buf_free(&pub);
    fg_buf_free(&name);
    return rc < 0 ? rc : 0;
}

static void upload_form(fg_html_t *p, fg_db_t *db, const fg_staff_ctx_t *s, int *rc)
{
    fg_html_puts(p, "<form method=\"post\" action=\"/staff/bills\" enctype=\"multipart/form-data\" class=\"card\" "
                    "data-form=\"bills-upload\">");
    fg_staff_csrf_input(p, s);
    *rc = merchant_options(p, db, s);
    fg_html_printf(p,
                   "<label for=\"fee_type\">%s</label><select id=\"fee_type\" name=\"fee_type\">"
                   "<option value=\"\">%s</option>",
                   fg_html_tr(p, "Loại phí (khi tệp không có cột này)", "Fee type (when the file has no such column)"),
                   fg_html_tr(p, "Theo tệp", "From the file"));
    for (size_t i = 0; i < sizeof(FEE_TYPES) / sizeof(FEE_TYPES[0]); i++)
        fg_html_printf(p, "<option>%s</option>", FEE_TYPES[i]);
    fg_html_printf(p,
                   "</select><label for=\"file\">%s</label><input id=\"file\" name=\"file\" type=\"file\" required "
                   "accept=\".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\">"
                   "<p><button type=\"submit\">%s</button></p></form>",
                   fg_html_tr(p, "Tệp CSV hoặc XLSX (tối đa 10.000 dòng)", "CSV or XLSX file (up to 10,000 rows)"),
                   fg_html_tr(p, "Xem trước", "Preview"));
}

void fg_staff_bills(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    fg_html_t p;
    int rc = 0;
    fg_staff_begin(&p, &s, "staff-bills", "Hóa đơn từ bảng tính", "Bills from a spreadsheet");
    fg_html_printf(&p, "<h1>%s</h1><p>%s</p>", fg_html_tr(&p, "Hóa đơn từ bảng tính", "Bills from a spreadsheet"),
                   fg_html_tr(&p,
                              "Tải lên hóa đơn của tháng: xem trước từng dòng, rồi tạo tất cả (hoặc không tạo gì "
                              "nếu có dòng lỗi), và tải tệp kết quả có mã và đường dẫn thanh toán của từng dòng.",
                              "Upload the month's bills: preview every row, then create them all (or none while a "
                              "row is wrong), and download the result file with each row's code and pay link."));
    if (may_upload(&s))
        upload_form(&p, db, &s, &rc);
    else
        fg_html_printf(&p, "<p class=\"notice\">%s</p>",
                       fg_html_tr(&p, "Vai trò của bạn chỉ được xem.", "Your role may only read."));
    columns_help(&p);
    if (rc != 0) {
        fg_buf_free(&p.body);
        fg_staff_unavailable(call, db, rc);
    } else {
        fg_html_end(&p, 200);
    }
}

/* ---- the preview and the result ------------------------------------------------------ */

static void counts(fg_html_t *p, const fg_bills_t *b)
{
    fg_html_printf(p,
                   "<dl class=\"card stats\" data-rows=\"%zu\" data-invalid=\"%zu\" data-created=\"%zu\" "
                   "data-existing=\"%zu\"><div><dt>%s</dt><dd>%zu</dd></div><div><dt>%s</dt><dd>%zu</dd></div>",
                   b->count, b->invalid, b->created, b->existing, fg_html_tr(p, "Số dòng", "Rows"), b->count,
                   fg_html_tr(p, "Dòng lỗi", "Rows with errors"), b->invalid);
    if (b->created + b->existing > 0)
        fg_html_printf(p, "<div><dt>%s</dt><dd>%zu</dd></div><div><dt>%s</dt><dd>%zu</dd></div>",
                       fg_html_tr(p, "Đã tạo", "Created"), b->created, fg_html_tr(p, "Đã có từ trước", "Already there"),
                       b->existing);
    fg_html_puts(p, "</dl>");
}

static const char *state_label(const fg_html_t *p, fg_bill_state_t st)
{
    switch (st) {
    case FG_BILL_VALID: return fg_html_tr(p, "Hợp lệ", "Valid");
    case FG_BILL_INVALID: return fg_html_tr(p, "Lỗi", "Error");
    case FG_BILL_CREATED: return fg_html_tr(p, "Đã tạo", "Created");
    case FG_BILL_EXISTING: break;
    }
    return fg_html_tr(p, "Đã có", "Already there");
}

static void row_html(fg_html_t *p, const fg_bill_t *r)
{
    const char *cls = r->state == FG_BILL_INVALID ? "bad" : r->state == FG_BILL_VALID ? "" : "ok";
    fg_html_printf(
        p,
        "<tr data-row=\"%zu\" data-state=\"%s\"><td class=\"num\">%zu</td><td><span class=\"badge %s\">%s</span></td><td>",
        r->row_no, r->state == FG_BILL_INVALID ? "invalid" : "ok", r->row_no, cls, state_label(p, r->state));
    fg_html_textn(p, r->merchant_ref.data, r->merchant_ref.len);
    fg_html_puts(p, "</td><td>");
    fg_html_textn(p, r->payer_name.data, r->payer_name.len);
    fg_html_puts(p, "</td><td class=\"num\">");
    if (r->state != FG_BILL_INVALID)
        fg_staff_money(p, r->amount, r->currency);
    fg_html_puts(p, "</td><td>");
    if (r->state == FG_BILL_INVALID) {
        fg_html_text(p, r->error.field[0] != '\0' ? r->error.field : "");
        fg_html_puts(p, r->error.field[0] != '\0' ? ": " : "");
        fg_html_text(p, fg_bill_message(r));
    } else if (r->code.len > 0) {
        fg_html_puts(p, "<code>");
        fg_html_textn(p, r->code.data, r->code.len);
        fg_html_puts(p, "</code>");
    }
    fg_html_puts(p, "</td></tr>");
}

/* The rows: every invalid one first (up to PREVIEW_ROWS), then the others up to as many. */
static void rows_table(fg_html_t *p, const fg_bills_t *b)
{
    fg_html_printf(
        p,
        "<div class=\"table-wrap\"><table class=\"data\" data-table=\"bills\"><thead><tr><th class=\"num\">%s</th>"
        "<th>%s</th><th>%s</th><th>%s</th><th class=\"num\">%s</th><th>%s</th></tr></thead><tbody>",
        fg_html_tr(p, "Dòng", "Row"), fg_html_tr(p, "Trạng thái", "Status"), fg_html_tr(p, "Mã hóa đơn", "Bill number"),
        fg_html_tr(p, "Người nộp", "Payer"), fg_html_tr(p, "Số tiền", "Amount"),
        fg_html_tr(p, "Lỗi hoặc mã thanh toán", "Error or pay code"));
    size_t shown = 0, others = 0;
    for (size_t i = 0; i < b->count && shown < PREVIEW_ROWS; i++)
        if (b->rows[i].state == FG_BILL_INVALID)
            row_html(p, &b->rows[i]), shown++;
    for (size_t i = 0; i < b->count && others < PREVIEW_ROWS; i++)
        if (b->rows[i].state != FG_BILL_INVALID)
            row_html(p, &b->rows[i]), others++;
    fg_html_puts(p, "</tbody></table></div>");
    if (shown + others < b->count)
        fg_html_printf(p, "<p class=\"muted\">%s %zu / %zu</p>", fg_html_tr(p, "Đang hiện", "Showing"), shown + others,
                       b->count);
}

static void preview_page(fg_call_t *call, fg_staff_ctx_t *s, int status, const char *upload, const merchant_t *m,
                         const fg_bills_t *b, const char *file_error)
{
    fg_html_t p;
    fg_staff_begin(&p, s, "staff-bills-preview", "Xem trước hóa đơn", "Bills preview");
    fg_html_printf(&p, "<h1>%s</h1><p>", fg_html_tr(&p, "Xem trước hóa đơn", "Bills preview"));
    fg_html_textn(&p, m->name.data, m->name.len);
    fg_html_puts(&p, "</p>");
    if (file_error != NULL) {
        fg_html_printf(&p, "<p class=\"error\" role=\"alert\">%s ",
                       fg_html_tr(&p, "Không đọc được tệp:", "The file cannot be read:"));
        fg_html_text(&p, file_error);
        fg_html_printf(&p, "</p><p><a href=\"/staff/bills\">%s</a></p>",
                       fg_html_tr(&p, "Chọn tệp khác", "Choose another file"));
        fg_html_end(&p, status);
        return;
    }
    counts(&p, b);
    if (b->invalid > 0) {
        fg_html_printf(&p, "<p class=\"error\" role=\"alert\">%s</p>",
                       fg_html_tr(&p, "Có dòng lỗi: sửa tệp rồi tải lên lại. Chưa hóa đơn nào được tạo.",
                                  "Some rows are wrong: fix the file and upload it again. No bill was created."));
    } else {
        fg_html_printf(&p, "<form method=\"post\" action=\"/staff/bills/%s/commit\" data-form=\"bills-commit\">",
                       upload);
        fg_staff_csrf_input(&p, s);
        fg_html_printf(&p, "<button type=\"submit\">%s (%zu)</button></form>",
                       fg_html_tr(&p, "Tạo các hóa đơn", "Create the bills"), b->count);
    }
    rows_table(&p, b);
    fg_html_end(&p, status);
}

static void result_page(fg_call_t *call, fg_staff_ctx_t *s, const char *upload, const merchant_t *m,
                        const fg_bills_t *b)
{
    fg_html_t p;
    fg_staff_begin(&p, s, "staff-bills-result", "Đã tạo hóa đơn", "Bills created");
    fg_html_printf(&p, "<h1>%s</h1><p>", fg_html_tr(&p, "Đã tạo hóa đơn", "Bills created"));
    fg_html_textn(&p, m->name.data, m->name.len);
    fg_html_puts(&p, "</p>");
    counts(&p, b);
    fg_html_printf(&p, "<p><a class=\"button\" data-download=\"csv\" href=\"/staff/bills/%s/result.csv\">%s</a></p>",
                   upload, fg_html_tr(&p, "Tải tệp kết quả (CSV)", "Download the result file (CSV)"));
    rows_table(&p, b);
    fg_html_end(&p, 200);
}

/* ---- POST /staff/bills ----------------------------------------------------------------- */

void fg_staff_bills_post(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    merchant_t m = {0, FG_BUF_INIT, FG_BUF_INIT};
    fg_bills_t bills;
    fg_buf_t merchant = FG_BUF_INIT, fee = FG_BUF_INIT;
    fg_bills_init(&bills);
    const fg_part_t *file = s.multipart ? fg_multipart_get(&s.parts, "file") : NULL;
    if (!may_upload(&s)) {
        fg_staff_forbidden(call);
        goto Exit;
    }
    if (file == NULL || file->len == 0) {
        fg_staff_bad(call, 400, "Hãy chọn tệp CSV hoặc XLSX.", "Choose a CSV or XLSX file.");
        goto Exit;
    }
    if (file->len > FG_BILL_UPLOAD_MAX) {
        fg_staff_bad(call, 413, "Tệp lớn hơn 8 MiB: hãy dùng API POST /v1/orders/import.",
                     "The file is larger than 8 MiB: use the API, POST /v1/orders/import.");
        goto Exit;
    }
    fg_staff_field(&s, "merchant", &merchant);
    fg_staff_field(&s, "fee_type", &fee);
    /* an accountant uploads for its own merchant, whatever the form says */
    const char *want = fg_staff_scope(&s) != 0 ? s.session.staff.merchant_public_id
                       : merchant.data != NULL ? merchant.data
                                               : "";
    int rc = merchant_load(db, SQL_MERCHANT_BY_PUBLIC, want, 0, &m);
    if (rc == FG_ENOTFOUND) {
        fg_staff_bad(call, 422, "Hãy chọn đơn vị thu.", "Choose the merchant.");
        goto Exit;
    }
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    const char *fee_type = fee.len > 0 ? fee.data : NULL;
    fg_bills_defaults_t defaults = {fee_type, NULL};
    fg_sheet_format_t format = fg_sheet_sniff(file->data, file->len);
    int64_t now = fg_now_ms();
    if (fg_bills_read(&bills, format, file->data, file->len, &defaults, now) != 0) {
        preview_page(call, &s, 422, "", &m, &bills, bills.error);
        goto Exit;
    }
    char upload[FG_ID_CAP];
    rc = fg_bill_upload_save(db, s.session.staff.id, (uint64_t)m.id, file->filename, format, fee_type, file->data,
                             file->len, now, upload);
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    fg_merchant_ref_t ref = {(uint64_t)m.id, m.public_id.data};
    if ((rc = fg_bills_lookup(db, &ref, &bills)) != 0) {
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    fg_db_end(db);
    preview_page(call, &s, bills.invalid > 0 ? 422 : 200, upload, &m, &bills, NULL);
Exit:
    merchant_free(&m);
    fg_buf_free(&merchant);
    fg_buf_free(&fee);
    fg_bills_free(&bills);
}

/* ---- an upload again: commit and result --------------------------------------------------- */

typedef struct {
    const fg_staff_ctx_t *s;
    const char *upload;
    fg_merchant_ref_t merchant;
    fg_bills_t *bills;
    int64_t now_ms;
    int again; /* committed before: nothing to do but show it */
    int setwise;
} commit_t;

static int commit_tx(fg_db_t *db, void *arg)
{
    commit_t *c = arg;
    c->again = 0;
    int rc = fg_bill_upload_mark(db, c->upload, c->now_ms);
    if (rc == FG_ECONFLICT) {
        c->again = 1;
        return 0;
    }
    if (rc == 0)
        rc = fg_bills_commit(db, &c->merchant, c->bills, c->now_ms, c->setwise);
    if (rc == 0) {
        char after[160];
        snprintf(after, sizeof(after), "{\"merchant\":\"%s\",\"rows\":%zu,\"created\":%zu,\"existing\":%zu}",
                 c->merchant.public_id, c->bills->count, c->bills->created, c->bills->existing);
        rc = fg_audit_log(db, c->s->session.staff.email, "bills.import", c->upload, NULL, after);
    }
    return rc;
}

/* The file set-wise, or (fg_db_tx_set_or_each, when that fails) row by row. */
static int commit_set_tx(fg_db_t *db, void *arg)
{
    ((commit_t *)arg)->setwise = 1;
    return commit_tx(db, arg);
}

static int commit_each_tx(fg_db_t *db, void *arg)
{
    ((commit_t *)arg)->setwise = 0;
    return commit_tx(db, arg);
}

/* The upload the path names, read again as of now: 0 with m and bills, or -1 after answering. */
static int reopen(fg_call_t *call, fg_db_t *db, fg_staff_ctx_t *s, int64_t now, fg_bill_upload_t *u, merchant_t *m,
                  fg_bills_t *bills)
{
    const char *upload = call->params[0];
    int rc = fg_bill_upload_load(db, upload, s->session.staff.id, now, u);
    if (rc == 0)
        rc = merchant_load(db, SQL_MERCHANT_BY_ID, NULL, (int64_t)u->merchant_id, m);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND || (rc == 0 && fg_staff_scope(s) != 0 && fg_staff_scope(s) != u->merchant_id)) {
        fg_staff_not_found(call);
        return -1;
    }
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        return -1;
    }
    fg_bills_defaults_t defaults = {u->fee_type.len > 0 ? u->fee_type.data : NULL, NULL};
    if (fg_bills_read(bills, u->format, u->content.data, u->content.len, &defaults, now) != 0) {
        preview_page(call, s, 422, upload, m, bills, bills->error);
        return -1;
    }
    return 0;
}

void fg_staff_bills_commit(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    fg_bill_upload_t u;
    merchant_t m = {0, FG_BUF_INIT, FG_BUF_INIT};
    fg_bills_t bills;
    fg_bill_upload_init(&u);
    fg_bills_init(&bills);
    int64_t now = fg_now_ms();
    if (!may_upload(&s)) {
        fg_staff_forbidden(call);
        goto Exit;
    }
    if (reopen(call, db, &s, now, &u, &m, &bills) != 0)
        goto Exit;
    if (bills.invalid > 0) { /* time made a row invalid since the preview: nothing is created */
        preview_page(call, &s, 422, call->params[0], &m, &bills, NULL);
        goto Exit;
    }
    commit_t c = {&s, call->params[0], {(uint64_t)m.id, m.public_id.data}, &bills, now, 0, 1};
    int rc = fg_db_tx_set_or_each(db, commit_set_tx, commit_each_tx, &c, NULL);
    if (rc == 0 && c.again) /* a double submit: show what the first made */
        rc = fg_bills_lookup(db, &c.merchant, &bills);
    fg_db_end(db);
    if (rc == FG_ECONFLICT && bills.invalid > 0) { /* an order made since the preview differs from its row */
        preview_page(call, &s, 422, call->params[0], &m, &bills, NULL);
        goto Exit;
    }
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    result_page(call, &s, call->params[0], &m, &bills);
Exit:
    merchant_free(&m);
    fg_bills_free(&bills);
    fg_bill_upload_free(&u);
}

void fg_staff_bills_result(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    fg_bill_upload_t u;
    merchant_t m = {0, FG_BUF_INIT, FG_BUF_INIT};
    fg_bills_t bills;
    fg_bill_upload_init(&u);
    fg_bills_init(&bills);
    if (reopen(call, db, &s, fg_now_ms(), &u, &m, &bills) != 0)
        goto Exit;
    fg_merchant_ref_t ref = {(uint64_t)m.id, m.public_id.data};
    int rc = fg_bills_lookup(db, &ref, &bills);
    fg_db_end(db);
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        goto Exit;
    }
    fg_buf_t csv = FG_BUF_INIT;
    fg_bills_csv(&csv, &bills, call->cfg->public_base_url);
    fg_call_add_header(call, "content-disposition", "attachment; filename=\"bills-result.csv\"");
    fg_html_security_headers(call);
    fg_call_body(call, 200, "text/csv; charset=utf-8", &csv);
Exit:
    merchant_free(&m);
    fg_bills_free(&bills);
    fg_bill_upload_free(&u);
}
