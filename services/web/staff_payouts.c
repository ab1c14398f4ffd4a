/*
 * staff_payouts.c - what the city pays each merchant (docs/PAGES.md,
 * "Payouts"; docs/RECONCILIATION.md, "Payouts to merchants"):
 *
 *   GET  /staff/payouts                        what each merchant may be paid, the forms, the
 *                                              payouts (status filter, cursor pages)
 *   POST /staff/payouts                        merchant, amount, reference: a payout
 *   GET  /staff/payouts/{po}                   one payout
 *   POST /staff/payouts/batches                account: the pending payouts into a batch
 *   GET  /staff/payouts/batches/{pob}          a batch and its payouts
 *   GET  /staff/payouts/batches/{pob}/file     its bulk-transfer file for the bank
 *
 * The API's domain operations, nothing of their own: fg_payout_available
 * (what fg_payout_create checks a payout against), fg_payout_create,
 * fg_payout_list, fg_payout_batch_create, fg_payout_batch_file, each writing
 * its audit row in its transaction as for POST /v1/payouts.  Every role
 * reads (an account scoped to one merchant: that merchant's payouts, another
 * merchant's is 404); finance and admins of the city post (others 403);
 * batches hold every merchant's payouts and are the city's pages.  Each form
 * carries a form_key (staff.h): sent twice, it makes one payout or batch.
 */
#include "web/staff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/money.h"
#include "core/page.h"
#include "core/text.h"
#include "merchants/merchants.h"
#include "recon/recon.h"

/* Merchants whose balance the page shows (each read as a payout reads it):
 * a city's units, a few hundred, as on /staff/merchants. */
#define MERCHANTS_SHOWN 1000
/* Payouts on one page of the list, and of a batch's. */
#define PAYOUTS_PAGE_ROWS 50
#define BATCH_PAGE_ROWS 200
/* An amount as typed: 10^15 with its separators, and some spaces. */
#define AMOUNT_TYPED_MAX 32
/* A public id in a form or a path: longer names nothing. */
#define PUBLIC_ID_MAX 64

/* ---- what the page knows of the merchants --------------------------------------------- */

typedef struct {
    fg_merchant_row_t *rows;
    int64_t *available; /* fg_payout_available of each row */
    int count;
} merchants_t;

static void merchants_free(merchants_t *m)
{
    free(m->rows);
    free(m->available);
}

/* The merchants the session may see (a scoped account: its own), each with
 * what may be paid out to it.  0 or a database code. */
static int merchants_load(fg_db_t *db, const fg_staff_ctx_t *s, merchants_t *m)
{
    int rc;
    m->rows = fg_calloc(MERCHANTS_SHOWN, sizeof(*m->rows));
    m->available = fg_calloc(MERCHANTS_SHOWN, sizeof(*m->available));
    if (fg_staff_scope(s) != 0) {
        rc = fg_merchant_find(db, s->session.staff.merchant_public_id, &m->rows[0]);
        m->count = rc == 0 ? 1 : 0;
    } else {
        rc = fg_merchant_list(db, m->rows, MERCHANTS_SHOWN, &m->count);
    }
    for (int i = 0; rc == 0 && i < m->count; i++)
        rc = fg_payout_available(db, m->rows[i].id, m->rows[i].public_id, &m->available[i]);
    fg_db_end(db);
    return rc;
}

static const fg_merchant_row_t *merchant_named(const merchants_t *m, const char *public_id)
{
    for (int i = 0; i < m->count; i++)
        if (strcmp(m->rows[i].public_id, public_id) == 0)
            return &m->rows[i];
    return NULL;
}

/* ---- pieces ----------------------------------------------------------------------------- */

static void cell(fg_html_t *p, const char *cls, const char *vi, const char *en)
{
    fg_html_printf(p, "<td%s%s%s data-label=\"%s\">", cls[0] != '\0' ? " class=\"" : "", cls,
                   cls[0] != '\0' ? "\"" : "", fg_html_tr(p, vi, en));
}

static const char *status_label(const fg_html_t *p, fg_payout_status_t status)
{
    switch (status) {
    case FG_PAYOUT_PENDING: return fg_html_tr(p, "Chờ gom lô", "Pending");
    case FG_PAYOUT_BATCHED: return fg_html_tr(p, "Đã vào lô", "Batched");
    case FG_PAYOUT_PAID: return fg_html_tr(p, "Đã chuyển", "Paid");
    default: return "?";
    }
}

static void status_badge(fg_html_t *p, fg_payout_status_t status)
{
    fg_html_printf(p, "<span class=\"badge %s\" data-payout-status=\"%s\">%s</span>",
                   status == FG_PAYOUT_PAID      ? "ok"
                   : status == FG_PAYOUT_BATCHED ? "warn"
                                                 : "",
                   fg_payout_status_name(status), status_label(p, status));
}

/* A bank account: number · bank (BIN), then the holder. */
static void bank_account(fg_html_t *p, const char *bin, const char *number, const char *name)
{
    const char *bank = fg_payout_bank_name(bin);
    fg_html_puts(p, "<span class=\"nowrap\">");
    fg_html_text(p, number);
    fg_html_puts(p, "</span> · ");
    fg_html_text(p, bank != NULL ? bank : bin);
    fg_html_puts(p, "<br>");
    fg_html_text(p, name);
}

/* When paid: the statement line and the reconciliation item that paid it. */
static void paid_by(fg_html_t *p, int64_t line, int64_t item)
{
    if (line == 0)
        return;
    fg_html_printf(p, "<span data-statement-line=\"%lld\">%s %lld</span>", (long long)line,
                   fg_html_tr(p, "Dòng sao kê", "Statement line"), (long long)line);
    if (item != 0)
        fg_html_printf(p, "<br><span data-reconciliation-item=\"%lld\">%s %lld</span>", (long long)item,
                       fg_html_tr(p, "Mục đối soát", "Reconciliation item"), (long long)item);
}

typedef struct {
    fg_html_t *p;
    const fg_staff_ctx_t *s;
    const merchants_t *merchants; /* names the merchants, when it knows them */
    int rows;
    int64_t last;
} list_t;

static void payout_row(const fg_payout_t *po, void *arg)
{
    list_t *l = arg;
    fg_html_t *p = l->p;
    l->rows++;
    l->last = po->id;
    fg_html_puts(p, "<tr data-payout=\"");
    fg_html_textn(p, po->public_id.data, po->public_id.len);
    fg_html_printf(p, "\" data-status=\"%s\" data-amount=\"%lld\">", fg_payout_status_name(po->status),
                   (long long)po->amount);
    cell(p, "id", "Khoản chi", "Payout");
    fg_html_puts(p, "<a href=\"/staff/payouts/");
    fg_html_textn(p, po->public_id.data, po->public_id.len);
    fg_html_puts(p, "\"><code>");
    fg_html_textn(p, po->public_id.data, po->public_id.len);
    fg_html_puts(p, "</code></a><br>");
    fg_staff_time(p, po->created_at);
    fg_html_puts(p, "</td>");
    cell(p, "", "Đơn vị", "Merchant");
    const fg_merchant_row_t *m = l->merchants != NULL ? merchant_named(l->merchants, po->merchant_id.data) : NULL;
    fg_html_text(p, m != NULL ? m->name : po->merchant_id.data);
    fg_html_puts(p, "</td>");
    cell(p, "num", "Số tiền", "Amount");
    fg_staff_money(p, po->amount, po->currency.data);
    fg_html_puts(p, "</td>");
    cell(p, "long", "Tham chiếu", "Reference");
    fg_html_puts(p, "<span data-reference>");
    fg_html_textn(p, po->reference.data, po->reference.len);
    fg_html_puts(p, "</span></td>");
    cell(p, "", "Trạng thái", "Status");
    status_badge(p, po->status);
    fg_html_puts(p, "</td>");
    cell(p, "id", "Lô", "Batch");
    if (po->batch_id.len > 0 && fg_staff_may(l->s, FG_STAFF_CITY)) {
        fg_html_puts(p, "<a data-batch href=\"/staff/payouts/batches/");
        fg_html_textn(p, po->batch_id.data, po->batch_id.len);
        fg_html_puts(p, "\"><code>");
        fg_html_textn(p, po->batch_id.data, po->batch_id.len);
        fg_html_puts(p, "</code></a>");
    } else if (po->batch_id.len > 0) { /* a batch is every merchant's: the city's page */
        fg_html_puts(p, "<code data-batch>");
        fg_html_textn(p, po->batch_id.data, po->batch_id.len);
        fg_html_puts(p, "</code>");
    }
    fg_html_puts(p, "</td>");
    cell(p, "", "Đã trả bởi", "Paid by");
    paid_by(p, po->paid_line_id, po->paid_item_id);
    fg_html_puts(p, "</td></tr>");
}

static void list_head(fg_html_t *p, const char *label_vi, const char *label_en)
{
    fg_html_printf(p,
                   "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"%s\"><table "
                   "class=\"data stack\" data-table=\"payouts\"><thead><tr><th>%s</th><th>%s</th><th class=\"num\">"
                   "%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
                   fg_html_tr(p, label_vi, label_en), fg_html_tr(p, "Khoản chi", "Payout"),
                   fg_html_tr(p, "Đơn vị", "Merchant"), fg_html_tr(p, "Số tiền", "Amount"),
                   fg_html_tr(p, "Tham chiếu", "Reference"), fg_html_tr(p, "Trạng thái", "Status"),
                   fg_html_tr(p, "Lô", "Batch"), fg_html_tr(p, "Đã trả bởi", "Paid by"));
}

static void list_end(fg_html_t *p, const list_t *l)
{
    if (l->rows == 0)
        fg_html_printf(p, "<tr><td colspan=\"7\" class=\"muted\">%s</td></tr>",
                       fg_html_tr(p, "Không có khoản chi nào.", "No payout."));
    fg_html_puts(p, "</tbody></table></div>");
}

/* The next page's link: base (trusted, ends in '?' or '&'), then the cursor. */
static void pager(fg_html_t *p, int more, int64_t last, const char *base)
{
    if (!more)
        return;
    fg_buf_t cursor = FG_BUF_INIT;
    fg_page_cursor_json(&cursor, last); /* "…": [0-9a-z] between quotes */
    fg_html_printf(p, "<nav class=\"pager\"><a rel=\"next\" data-next href=\"%scursor=%.*s\">%s</a></nav>", base,
                   (int)cursor.len - 2, cursor.data + 1, fg_html_tr(p, "Trang sau →", "Next page →"));
    fg_buf_free(&cursor);
}

/* ---- the payouts page ------------------------------------------------------------------ */

/* A refused form, shown on the page above the form as it was filled in. */
typedef enum {
    FORM_OK,
    FORM_NO_MERCHANT,      /* none chosen, or none such: 400 / 404 */
    FORM_BAD_AMOUNT,       /* not a whole number of đồng in 1..10^15 */
    FORM_BAD_REFERENCE,    /* not 1..64 printable ASCII with a letter or digit */
    FORM_NO_ACCOUNT,       /* payout_account_missing */
    FORM_EXCEEDS_BALANCE,  /* payout_exceeds_balance */
    FORM_REFERENCE_TAKEN,  /* duplicate_reference */
    FORM_BAD_CITY_ACCOUNT, /* invalid_account, unknown_account */
    FORM_NOTHING_PENDING,  /* no_pending_payouts */
    FORM_ACCOUNT_CURRENCY, /* account_currency */
} form_error_t;

typedef struct {
    form_error_t error;
    fg_buf_t merchant, amount, reference, account;
    int64_t amount_value, balance;
    fg_buf_t existing; /* the payout holding the reference */
} form_t;

static void form_free(form_t *f)
{
    fg_buf_free(&f->merchant);
    fg_buf_free(&f->amount);
    fg_buf_free(&f->reference);
    fg_buf_free(&f->account);
    fg_buf_free(&f->existing);
}

static const char *text_of(const fg_buf_t *b) { return b->data != NULL ? b->data : ""; }

static void form_error(fg_html_t *p, const form_t *f)
{
    static const char *const CODES[] = {"",
                                        "merchant_not_found",
                                        "invalid_amount",
                                        "invalid_reference",
                                        "payout_account_missing",
                                        "payout_exceeds_balance",
                                        "duplicate_reference",
                                        "unknown_account",
                                        "no_pending_payouts",
                                        "account_currency"};
    fg_html_printf(p, "<p class=\"error\" role=\"alert\" data-error=\"%s\">", CODES[f->error]);
    switch (f->error) {
    case FORM_NO_MERCHANT:
        fg_html_puts(p, fg_html_tr(p, "Hãy chọn một đơn vị có trong danh sách.", "Choose a merchant of the list."));
        break;
    case FORM_BAD_AMOUNT:
        fg_html_puts(p,
                     fg_html_tr(p, "Số tiền là số đồng nguyên, từ 1 đến 1.000.000.000.000.000 (ví dụ 1.500.000).",
                                "The amount is a whole number of đồng, 1 to 1.000.000.000.000.000 (e.g. 1.500.000)."));
        break;
    case FORM_BAD_REFERENCE:
        fg_html_printf(p, "%s",
                       fg_html_tr(p, "Tham chiếu gồm 1 đến 64 ký tự ASCII in được, có ít nhất một chữ hoặc số.",
                                  "The reference is 1 to 64 printable ASCII characters, with a letter or "
                                  "digit."));
        break;
    case FORM_NO_ACCOUNT:
        fg_html_puts(p, fg_html_tr(p,
                                   "Đơn vị chưa có tài khoản nhận tiền: quản trị viên cần đặt tài khoản trước. Chưa "
                                   "ghi gì.",
                                   "The merchant has no payout account: an admin must set it first. Nothing was "
                                   "written."));
        break;
    case FORM_EXCEEDS_BALANCE:
        fg_html_puts(p, fg_html_tr(p, "Số tiền ", "The amount "));
        fg_staff_money(p, f->amount_value, FG_PAYOUT_CURRENCY);
        fg_html_puts(p, fg_html_tr(p, " vượt quá số có thể chi trả cho đơn vị (",
                                   " is more than the merchant may be paid ("));
        fg_html_printf(p, "<span data-balance=\"%lld\">", (long long)f->balance);
        fg_staff_money(p, f->balance, FG_PAYOUT_CURRENCY);
        fg_html_puts(p, fg_html_tr(p, "</span>). Chưa ghi gì.", "</span>). Nothing was written."));
        break;
    case FORM_REFERENCE_TAKEN:
        fg_html_puts(p, fg_html_tr(p, "Đơn vị đã có khoản chi ", "The merchant's payout "));
        fg_html_puts(p, "<a href=\"/staff/payouts/");
        fg_html_text(p, text_of(&f->existing));
        fg_html_puts(p, "\">");
        fg_html_text(p, text_of(&f->existing));
        fg_html_puts(p, fg_html_tr(p, "</a> với tham chiếu này và số tiền khác. Chưa ghi gì.",
                                   "</a> has this reference and another amount. Nothing was written."));
        break;
    case FORM_BAD_CITY_ACCOUNT:
        fg_html_puts(p, fg_html_tr(p,
                                   "Tài khoản chi không phải tài khoản của thành phố (tài khoản thu, hoặc tài khoản "
                                   "đã nhập sao kê). Chưa gom lô nào.",
                                   "That is not one of the city's accounts (the collection account, or one whose "
                                   "statements are imported). No batch was made."));
        break;
    case FORM_NOTHING_PENDING:
        fg_html_puts(p, fg_html_tr(p, "Không có khoản chi nào đang chờ gom lô.", "No payout waits for a batch."));
        break;
    case FORM_ACCOUNT_CURRENCY:
        fg_html_puts(p, fg_html_tr(p,
                                   "Sao kê của tài khoản này không bằng đồng: lô chi trả được chi từ tài khoản bằng "
                                   "đồng. Chưa gom lô nào.",
                                   "This account's statements are not in đồng: a batch is paid from an account in "
                                   "đồng. No batch was made."));
        break;
    case FORM_OK: break;
    }
    fg_html_puts(p, "</p>");
}

/* What each merchant may be paid: the balance fg_payout_create checks. */
static void owed_table(fg_html_t *p, const merchants_t *m)
{
    fg_html_printf(p,
                   "<section class=\"card\" data-section=\"owed\"><h2 id=\"owed\">%s</h2><p class=\"muted\">%s</p>"
                   "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-labelledby=\"owed\"><table "
                   "class=\"data stack\" data-table=\"owed\"><thead><tr><th>%s</th><th>%s</th><th class=\"num\">%s"
                   "</th></tr></thead><tbody>",
                   fg_html_tr(p, "Số tiền có thể chi trả", "What each merchant may be paid"),
                   fg_html_tr(p,
                              "Số dư sổ cái của đơn vị, trừ các khoản hoàn tiền đang chờ: đúng số được kiểm tra "
                              "khi tạo khoản chi.",
                              "The merchant's ledger balance less its refunds still pending: what a payout is "
                              "checked against."),
                   fg_html_tr(p, "Đơn vị", "Merchant"), fg_html_tr(p, "Tài khoản nhận tiền", "Payout account"),
                   fg_html_tr(p, "Có thể chi trả", "May be paid"));
    for (int i = 0; i < m->count; i++) {
        const fg_merchant_row_t *r = &m->rows[i];
        int has_account = r->payout_account_no[0] != '\0';
        fg_html_puts(p, "<tr data-merchant=\"");
        fg_html_text(p, r->public_id);
        fg_html_printf(p, "\" data-available=\"%lld\" data-account=\"%d\">", (long long)m->available[i], has_account);
        cell(p, "", "Đơn vị", "Merchant");
        fg_html_text(p, r->name);
        fg_html_puts(p, "<br><code>");
        fg_html_text(p, r->public_id);
        fg_html_puts(p, "</code></td>");
        cell(p, "", "Tài khoản nhận tiền", "Payout account");
        if (has_account)
            bank_account(p, r->payout_bin, r->payout_account_no, r->payout_account_name);
        else
            fg_html_printf(p, "<span class=\"muted\" data-no-account>%s</span>",
                           fg_html_tr(p, "Chưa có tài khoản nhận tiền", "No payout account"));
        fg_html_puts(p, "</td>");
        cell(p, "num", "Có thể chi trả", "May be paid");
        fg_staff_money(p, m->available[i], FG_PAYOUT_CURRENCY);
        fg_html_puts(p, "</td></tr>");
    }
    if (m->count == 0)
        fg_html_printf(p, "<tr><td colspan=\"3\" class=\"muted\">%s</td></tr>",
                       fg_html_tr(p, "Chưa có đơn vị nào.", "No merchant yet."));
    fg_html_puts(p, "</tbody></table></div></section>");
}

static void payout_form(fg_html_t *p, const fg_staff_ctx_t *s, const merchants_t *m, const form_t *f)
{
    fg_html_printf(p,
                   "<section class=\"card\" data-section=\"payout-create\"><h2>%s</h2><form method=\"post\" "
                   "action=\"/staff/payouts\" class=\"filters\" data-form=\"payout-create\">",
                   fg_html_tr(p, "Tạo khoản chi trả", "Make a payout"));
    fg_staff_csrf_input(p, s);
    fg_staff_form_key_input(p);
    fg_html_printf(p,
                   "<div><label for=\"payout-merchant\">%s</label><select id=\"payout-merchant\" "
                   "name=\"merchant\" required><option value=\"\">%s</option>",
                   fg_html_tr(p, "Đơn vị", "Merchant"), fg_html_tr(p, "— Chọn đơn vị —", "— Choose —"));
    for (int i = 0; i < m->count; i++) {
        const fg_merchant_row_t *r = &m->rows[i];
        fg_html_puts(p, "<option value=\"");
        fg_html_text(p, r->public_id);
        fg_html_printf(p, "\"%s>", strcmp(text_of(&f->merchant), r->public_id) == 0 ? " selected" : "");
        fg_html_text(p, r->name);
        if (r->payout_account_no[0] == '\0')
            fg_html_printf(p, " (%s)", fg_html_tr(p, "chưa có tài khoản nhận tiền", "no payout account"));
        fg_html_puts(p, "</option>");
    }
    fg_html_printf(p,
                   "</select></div><div><label for=\"payout-amount\">%s</label><input id=\"payout-amount\" "
                   "name=\"amount\" inputmode=\"numeric\" autocomplete=\"off\" required maxlength=\"%d\" value=\"",
                   fg_html_tr(p, "Số tiền (đồng)", "Amount (đồng)"), AMOUNT_TYPED_MAX);
    fg_html_text(p, text_of(&f->amount));
    fg_html_printf(p,
                   "\"></div><div><label for=\"payout-reference\">%s</label><input id=\"payout-reference\" "
                   "name=\"reference\" autocomplete=\"off\" required maxlength=\"%d\" value=\"",
                   fg_html_tr(p, "Tham chiếu (hiện trên lệnh chuyển)", "Reference (on the transfer)"),
                   FG_PAYOUT_REFERENCE_MAX);
    fg_html_text(p, text_of(&f->reference));
    fg_html_printf(p, "\"></div><div><button type=\"submit\">%s</button></div></form></section>",
                   fg_html_tr(p, "Tạo khoản chi", "Make the payout"));
}

typedef struct {
    fg_html_t *p;
    const char *chosen;
    int count;
} accounts_t;

static void account_option(const char *account, void *arg)
{
    accounts_t *a = arg;
    a->count++;
    fg_html_puts(a->p, "<option value=\"");
    fg_html_text(a->p, account);
    fg_html_printf(a->p, "\"%s>", strcmp(a->chosen, account) == 0 ? " selected" : "");
    fg_html_text(a->p, account);
    fg_html_puts(a->p, "</option>");
}

/* The batch form: the accounts fg_payout_batch_create accepts.  0 or a
 * database code. */
static int batch_form(fg_html_t *p, fg_db_t *db, const fg_staff_ctx_t *s, const form_t *f)
{
    accounts_t a = {p, text_of(&f->account), 0};
    fg_html_printf(p,
                   "<section class=\"card\" data-section=\"batch-create\"><h2>%s</h2><p class=\"muted\">%s</p>"
                   "<form method=\"post\" action=\"/staff/payouts/batches\" class=\"inline\" "
                   "data-form=\"batch-create\">",
                   fg_html_tr(p, "Gom khoản chờ vào lô chuyển khoản", "Batch the pending payouts"),
                   fg_html_tr(p,
                              "Mọi khoản đang chờ (cũ trước, tối đa 5.000) vào một tệp chuyển khoản hàng loạt, chi "
                              "từ tài khoản của thành phố.",
                              "Every pending payout (oldest first, at most 5,000) into one bulk-transfer file, paid "
                              "from an account of the city."));
    fg_staff_csrf_input(p, s);
    fg_staff_form_key_input(p);
    fg_html_printf(p, "<label for=\"batch-account\">%s</label><select id=\"batch-account\" name=\"account\" required>",
                   fg_html_tr(p, "Chi từ tài khoản", "Pay from account"));
    int rc = fg_payout_batch_accounts(db, s->call->cfg, account_option, &a);
    fg_db_end(db);
    fg_html_printf(p, "</select><button type=\"submit\"%s>%s</button></form>", a.count == 0 ? " disabled" : "",
                   fg_html_tr(p, "Gom lô", "Make the batch"));
    if (a.count == 0)
        fg_html_printf(p, "<p class=\"notice\" data-no-city-account>%s</p>",
                       fg_html_tr(p,
                                  "Chưa có tài khoản nào: cấu hình tài khoản thu (vietqr.account_no) hoặc nhập sao kê "
                                  "của tài khoản chi trước.",
                                  "No account yet: configure the collection account (vietqr.account_no) or import "
                                  "a statement of the paying account first."));
    fg_html_puts(p, "</section>");
    return rc;
}

/* The status filter: ?status=, or none (every status). */
static int status_filter(fg_call_t *call, fg_payout_query_t *q)
{
    size_t len = 0;
    const char *v = fg_call_query(call, "status", &len);
    if (v == NULL || len == 0)
        return 0;
    if (fg_payout_status_parse(v, len, &q->status) != 0)
        return -1;
    q->has_status = 1;
    return 0;
}

static void filter_form(fg_html_t *p, const fg_payout_query_t *q)
{
    fg_html_printf(p,
                   "<form method=\"get\" action=\"/staff/payouts\" class=\"inline card\" data-form=\"payout-filter\">"
                   "<label for=\"status\">%s</label><select id=\"status\" name=\"status\"><option value=\"\">%s"
                   "</option>",
                   fg_html_tr(p, "Trạng thái", "Status"), fg_html_tr(p, "Tất cả", "All"));
    for (int i = 0; i < FG_PAYOUT_STATUS_COUNT; i++)
        fg_html_printf(p, "<option value=\"%s\"%s>%s</option>", fg_payout_status_name((fg_payout_status_t)i),
                       q->has_status && (int)q->status == i ? " selected" : "", status_label(p, (fg_payout_status_t)i));
    fg_html_printf(p, "</select><button type=\"submit\">%s</button></form>", fg_html_tr(p, "Lọc", "Filter"));
}

/* The page, with f's refusal (status 4xx) or none (200). */
static void payouts_page(fg_call_t *call, fg_db_t *db, fg_staff_ctx_t *s, int status, const form_t *f)
{
    merchants_t m = {0};
    fg_payout_query_t q = {0};
    fg_page_t page = {PAYOUTS_PAGE_ROWS, 0};
    size_t cursor_len = 0;
    const char *cursor = fg_call_query(call, "cursor", &cursor_len);
    if (status_filter(call, &q) != 0 || fg_page_parse(NULL, 0, cursor, cursor_len, &page) != FG_PAGE_OK) {
        fg_staff_bad(call, 400, "Bộ lọc không hợp lệ.", "Not a valid filter.");
        return;
    }
    page.limit = PAYOUTS_PAGE_ROWS;
    q.merchant_id = fg_staff_scope(s) != 0 ? s->session.staff.merchant_public_id : NULL;
    int rc = merchants_load(db, s, &m);
    if (rc != 0)
        goto Fail;
    fg_html_t p;
    fg_staff_begin(&p, s, "staff-payouts", "Chi trả cho đơn vị", "Payouts");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Chi trả cho đơn vị", "Payouts to merchants"));
    if (f->error != FORM_OK)
        form_error(&p, f);
    owed_table(&p, &m);
    if (fg_staff_may(s, FG_STAFF_CITY_WRITE)) {
        payout_form(&p, s, &m, f);
        if ((rc = batch_form(&p, db, s, f)) != 0)
            goto FailPage;
    }
    fg_html_printf(&p, "<h2 id=\"payouts\">%s</h2>", fg_html_tr(&p, "Các khoản chi trả", "Payouts"));
    filter_form(&p, &q);
    list_t l = {&p, s, &m, 0, 0};
    int more = 0;
    list_head(&p, "Các khoản chi trả", "Payouts");
    rc = fg_payout_list(db, &q, &page, payout_row, &l, &more);
    fg_db_end(db);
    if (rc != 0)
        goto FailPage;
    list_end(&p, &l);
    char base[64];
    snprintf(base, sizeof(base), "/staff/payouts?%s%s%s", q.has_status ? "status=" : "",
             q.has_status ? fg_payout_status_name(q.status) : "", q.has_status ? "&amp;" : "");
    pager(&p, more, l.last, base);
    merchants_free(&m);
    fg_html_end(&p, status);
    return;
FailPage:
    fg_buf_free(&p.body);
Fail:
    merchants_free(&m);
    fg_staff_unavailable(call, db, rc);
}

void fg_staff_payouts(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    form_t f = {0};
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    payouts_page(call, db, &s, 200, &f);
}

/* ---- making a payout --------------------------------------------------------------------- */

/* An amount of đồng as staff type it: digits, optionally in groups of three
 * after a '.' or a space ("1.500.000", "1 500 000").  0, or -1. */
static int amount_parse(const char *text, size_t len, int64_t *out)
{
    int64_t v = 0;
    size_t group = 0, groups = 0;
    char separator = 0;
    if (len == 0 || len > AMOUNT_TYPED_MAX || text[0] < '0' || text[0] > '9')
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c >= '0' && c <= '9') {
            if (v > (FG_AMOUNT_MAX - (c - '0')) / 10)
                return -1;
            v = v * 10 + (c - '0');
            group++;
            continue;
        }
        /* a separator: one kind throughout, after a full group (the first may be shorter) */
        if ((c != '.' && c != ' ') || (separator != 0 && c != separator) || (groups > 0 && group != 3) || group == 0 ||
            group > 3)
            return -1;
        separator = c;
        groups++;
        group = 0;
    }
    if ((groups > 0 && group != 3) || v < 1)
        return -1;
    *out = v;
    return 0;
}

typedef struct {
    fg_staff_ctx_t *s;
    fg_payout_input_t in;
    fg_payout_outcome_t outcome;
    int64_t balance;
    fg_payout_t payout;
    char location[FG_ID_CAP + 32];
} create_t;

static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    fg_payout_free(&c->payout); /* a re-run (deadlock) starts over */
    memset(&c->payout, 0, sizeof(c->payout));
    int rc = fg_payout_create(db, &c->in, c->s->call->staff_email, fg_now_ms(), &c->outcome, &c->balance, &c->payout);
    if (rc != 0)
        return rc;
    if (c->outcome != FG_PAYOUT_MADE && c->outcome != FG_PAYOUT_SAME)
        return 1; /* refused: nothing was written */
    snprintf(c->location, sizeof(c->location), "/staff/payouts/%s", c->payout.public_id.data);
    return fg_staff_form_store(db, c->s, c->location);
}

/* The form's fields, checked as fg_payout_input_parse checks the API's. */
static void create_read(fg_staff_ctx_t *s, form_t *f, fg_payout_input_t *in)
{
    fg_staff_field(s, "merchant", &f->merchant);
    fg_staff_field(s, "amount", &f->amount);
    fg_staff_field(s, "reference", &f->reference);
    if (f->merchant.len == 0 || !fg_printable_ascii(f->merchant.data, f->merchant.len, PUBLIC_ID_MAX))
        f->error = FORM_NO_MERCHANT;
    else if (amount_parse(text_of(&f->amount), f->amount.len, &f->amount_value) != 0)
        f->error = FORM_BAD_AMOUNT;
    else if (!fg_payout_reference_ok(text_of(&f->reference), f->reference.len))
        f->error = FORM_BAD_REFERENCE;
    in->merchant_id = text_of(&f->merchant);
    in->amount = f->amount_value;
    in->reference = text_of(&f->reference);
}

void fg_staff_payout_create(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    form_t f = {0};
    create_t c = {.s = &s};
    if (fg_staff_open(call, db, FG_STAFF_CITY_WRITE, &s) != 0)
        return;
    fg_staff_form_key(&s);
    create_read(&s, &f, &c.in);
    if (f.error != FORM_OK) {
        payouts_page(call, db, &s, 400, &f);
        goto Exit;
    }
    int rc = fg_db_tx(db, create_tx, &c);
    if (rc == 0) {
        fg_html_redirect(call, c.location);
        goto Exit;
    }
    if ((rc == 1 || rc == FG_ECONFLICT) && fg_staff_form_replay(&s, db) != 0)
        goto Exit; /* the same form, sent twice: answered as the first */
    if (rc != 1) {
        fg_staff_unavailable(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
        goto Exit;
    }
    f.balance = c.balance;
    f.error = c.outcome == FG_PAYOUT_NO_MERCHANT       ? FORM_NO_MERCHANT
              : c.outcome == FG_PAYOUT_NO_ACCOUNT      ? FORM_NO_ACCOUNT
              : c.outcome == FG_PAYOUT_EXCEEDS_BALANCE ? FORM_EXCEEDS_BALANCE
                                                       : FORM_REFERENCE_TAKEN;
    if (f.error == FORM_REFERENCE_TAKEN)
        fg_buf_append(&f.existing, c.payout.public_id.data, c.payout.public_id.len);
    fg_buf_putc(&f.existing, '\0');
    payouts_page(call, db, &s, f.error == FORM_NO_MERCHANT ? 404 : f.error == FORM_REFERENCE_TAKEN ? 409 : 422, &f);
Exit:
    fg_call_forget_key(call); /* stored in the payout's transaction, or nothing to keep */
    fg_payout_free(&c.payout);
    form_free(&f);
}

/* ---- one payout --------------------------------------------------------------------------- */

static void term(fg_html_t *p, const char *vi, const char *en)
{
    fg_html_printf(p, "<dt>%s</dt><dd>", fg_html_tr(p, vi, en));
}

void fg_staff_payout(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_payout_t po = {0};
    fg_merchant_row_t m = {0};
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    int rc = call->param_lens[0] <= PUBLIC_ID_MAX ? fg_payout_get(db, call->params[0], call->param_lens[0], &po)
                                                  : FG_ENOTFOUND;
    if (rc == 0 && fg_staff_scope(&s) != 0 && strcmp(po.merchant_id.data, s.session.staff.merchant_public_id) != 0)
        rc = FG_ENOTFOUND; /* another merchant's: not there for this session */
    if (rc == 0 && fg_merchant_find(db, po.merchant_id.data, &m) != 0)
        snprintf(m.name, sizeof(m.name), "%s", po.merchant_id.data);
    fg_db_end(db);
    if (rc != 0) {
        if (rc == FG_ENOTFOUND)
            fg_staff_not_found(call);
        else
            fg_staff_unavailable(call, db, rc);
        fg_payout_free(&po);
        return;
    }
    char attrs[96];
    snprintf(attrs, sizeof(attrs), "data-status=\"%s\"", fg_payout_status_name(po.status));
    fg_html_t p;
    fg_staff_begin_refresh(&p, &s, "staff-payout", "Khoản chi trả", "Payout", attrs, 0);
    fg_html_printf(&p, "<h1>%s <code data-payout=\"", fg_html_tr(&p, "Khoản chi", "Payout"));
    fg_html_text(&p, po.public_id.data);
    fg_html_puts(&p, "\">");
    fg_html_text(&p, po.public_id.data);
    fg_html_printf(&p, "</code></h1><div class=\"card\"><dl class=\"grid2\"><div>");
    term(&p, "Đơn vị", "Merchant");
    fg_html_text(&p, m.name);
    fg_html_puts(&p, " <code data-merchant=\"");
    fg_html_text(&p, po.merchant_id.data);
    fg_html_puts(&p, "\">");
    fg_html_text(&p, po.merchant_id.data);
    fg_html_printf(&p, "</code></dd>");
    term(&p, "Số tiền", "Amount");
    fg_html_printf(&p, "<span data-amount=\"%lld\">", (long long)po.amount);
    fg_staff_money(&p, po.amount, po.currency.data);
    fg_html_puts(&p, "</span></dd>");
    term(&p, "Tham chiếu", "Reference");
    fg_html_puts(&p, "<span data-reference>");
    fg_html_text(&p, po.reference.data);
    fg_html_puts(&p, "</span></dd>");
    term(&p, "Trạng thái", "Status");
    status_badge(&p, po.status);
    fg_html_puts(&p, "</dd>");
    term(&p, "Người nhận", "Beneficiary");
    bank_account(&p, po.bank_bin.data, po.account_no.data, po.account_name.data);
    fg_html_puts(&p, "</dd></div><div>");
    term(&p, "Lô", "Batch");
    if (po.batch_id.len > 0 && fg_staff_may(&s, FG_STAFF_CITY)) {
        fg_html_puts(&p, "<a data-batch href=\"/staff/payouts/batches/");
        fg_html_text(&p, po.batch_id.data);
        fg_html_puts(&p, "\"><code>");
        fg_html_text(&p, po.batch_id.data);
        fg_html_puts(&p, "</code></a>");
    } else if (po.batch_id.len > 0) {
        fg_html_puts(&p, "<code data-batch>");
        fg_html_text(&p, po.batch_id.data);
        fg_html_puts(&p, "</code>");
    } else {
        fg_html_printf(&p, "<span class=\"muted\">%s</span>", fg_html_tr(&p, "Chưa vào lô", "Not batched yet"));
    }
    fg_html_puts(&p, "</dd>");
    term(&p, "Đã trả bởi", "Paid by");
    paid_by(&p, po.paid_line_id, po.paid_item_id);
    if (po.paid_at > 0) {
        fg_html_puts(&p, "<br>");
        fg_staff_time(&p, po.paid_at);
    }
    fg_html_puts(&p, "</dd>");
    term(&p, "Bút toán", "Journals");
    fg_html_puts(&p, "<code data-journal>");
    fg_html_text(&p, text_of(&po.journal_id));
    fg_html_puts(&p, "</code>");
    if (po.paid_journal_id.len > 0) {
        fg_html_puts(&p, "<br><code data-paid-journal>");
        fg_html_text(&p, po.paid_journal_id.data);
        fg_html_puts(&p, "</code>");
    }
    fg_html_puts(&p, "</dd>");
    term(&p, "Tạo bởi", "Made by");
    fg_html_text(&p, po.created_by.data);
    fg_html_puts(&p, "<br>");
    fg_staff_time(&p, po.created_at);
    fg_html_printf(&p, "</dd></div></dl></div><p><a href=\"/staff/payouts\">%s</a></p>",
                   fg_html_tr(&p, "← Về danh sách chi trả", "← Back to the payouts"));
    fg_payout_free(&po);
    fg_html_end(&p, 200);
}

/* ---- batches ---------------------------------------------------------------------------------- */

typedef struct {
    fg_staff_ctx_t *s;
    const char *account;
    fg_payout_batch_t batch;
    char location[FG_ID_CAP + 40];
} batch_t;

static int batch_tx(fg_db_t *db, void *arg)
{
    batch_t *b = arg;
    fg_payout_batch_free(&b->batch);
    memset(&b->batch, 0, sizeof(b->batch));
    int rc = fg_payout_batch_create(db, b->s->call->cfg, b->account, b->s->call->staff_email, fg_now_ms(), &b->batch);
    if (rc != 0)
        return rc;
    snprintf(b->location, sizeof(b->location), "/staff/payouts/batches/%s", b->batch.public_id.data);
    return fg_staff_form_store(db, b->s, b->location);
}

void fg_staff_payout_batch_create(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    form_t f = {0};
    batch_t b = {.s = &s};
    if (fg_staff_open(call, db, FG_STAFF_CITY_WRITE, &s) != 0)
        return;
    fg_staff_form_key(&s);
    fg_staff_field(&s, "account", &f.account);
    b.account = text_of(&f.account);
    int rc = f.account.len <= FG_STMT_ACCOUNT_WRITTEN_MAX ? fg_db_tx(db, batch_tx, &b) : FG_EINVALID;
    if (rc == 0) {
        fg_html_redirect(call, b.location);
        goto Exit;
    }
    /* the first of two sends batched what the second found: answered as the first */
    if ((rc == FG_ESTATE || rc == FG_ECONFLICT) && fg_staff_form_replay(&s, db) != 0)
        goto Exit;
    if (rc == FG_EINVALID || rc == FG_ENOTFOUND) {
        f.error = FORM_BAD_CITY_ACCOUNT;
        payouts_page(call, db, &s, 422, &f);
    } else if (rc == FG_EUNSUPPORTED) {
        f.error = FORM_ACCOUNT_CURRENCY;
        payouts_page(call, db, &s, 422, &f);
    } else if (rc == FG_ESTATE) {
        f.error = FORM_NOTHING_PENDING;
        payouts_page(call, db, &s, 409, &f);
    } else {
        fg_staff_unavailable(call, db, rc);
    }
Exit:
    fg_call_forget_key(call);
    fg_payout_batch_free(&b.batch);
    form_free(&f);
}

/* The batch the path names, or -1 after answering. */
static int batch_load(fg_call_t *call, fg_db_t *db, fg_payout_batch_t *b)
{
    int rc = call->param_lens[0] <= PUBLIC_ID_MAX ? fg_payout_batch_get(db, call->params[0], call->param_lens[0], b)
                                                  : FG_ENOTFOUND;
    if (rc != 0) {
        fg_db_end(db);
        fg_payout_batch_free(b);
    }
    if (rc == FG_ENOTFOUND)
        fg_staff_not_found(call);
    else if (rc != 0)
        fg_staff_unavailable(call, db, rc);
    return rc == 0 ? 0 : -1;
}

static void batch_summary(fg_html_t *p, const fg_payout_batch_t *b)
{
    fg_html_printf(p, "<div class=\"card\"><dl class=\"grid2\"><div>");
    term(p, "Tham chiếu (ghi vào lệnh chuyển)", "Reference (for the upload's description)");
    fg_html_puts(p, "<code data-reference>");
    fg_html_text(p, b->public_id.data);
    fg_html_puts(p, "</code></dd>");
    term(p, "Chi từ tài khoản", "Paid from account");
    fg_html_puts(p, "<span data-account>");
    fg_html_text(p, b->account.data);
    fg_html_puts(p, "</span></dd>");
    term(p, "Số khoản", "Payouts");
    fg_html_printf(p, "<span data-count=\"%lld\">%lld</span></dd>", (long long)b->payout_count,
                   (long long)b->payout_count);
    term(p, "Tổng", "Total");
    fg_html_printf(p, "<span data-total=\"%lld\">", (long long)b->total);
    fg_staff_money(p, b->total, b->currency.data);
    fg_html_puts(p, "</span></dd></div><div>");
    term(p, "Trạng thái", "Status");
    fg_html_printf(p, "<span class=\"badge %s\">%s</span></dd>", b->paid ? "ok" : "warn",
                   b->paid ? fg_html_tr(p, "Đã chuyển", "Paid") : fg_html_tr(p, "Chờ ngân hàng", "Awaiting the bank"));
    term(p, "Đã trả bởi", "Paid by");
    paid_by(p, b->paid_line_id, b->paid_item_id);
    fg_html_puts(p, "</dd>");
    term(p, "Tạo bởi", "Made by");
    fg_html_text(p, b->created_by.data);
    fg_html_puts(p, "<br>");
    fg_staff_time(p, b->created_at);
    fg_html_puts(p, "</dd></div></dl>");
    fg_html_puts(p, "<p class=\"actions\"><a class=\"button\" data-download=\"csv\" href=\"/staff/payouts/batches/");
    fg_html_text(p, b->public_id.data);
    fg_html_printf(p, "/file\" download>%s</a></p></div>",
                   fg_html_tr(p, "Tải tệp chuyển khoản (CSV)", "Download the transfer file (CSV)"));
}

void fg_staff_payout_batch(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_payout_batch_t b = {0};
    fg_page_t page = {BATCH_PAGE_ROWS, 0};
    size_t cursor_len = 0;
    if (fg_staff_open(call, db, FG_STAFF_CITY, &s) != 0)
        return;
    const char *cursor = fg_call_query(call, "cursor", &cursor_len);
    if (fg_page_parse(NULL, 0, cursor, cursor_len, &page) != FG_PAGE_OK) {
        fg_staff_bad(call, 400, "Trang không hợp lệ.", "Not a valid page.");
        return;
    }
    page.limit = BATCH_PAGE_ROWS;
    if (batch_load(call, db, &b) != 0)
        return;
    merchants_t m = {0};
    int rc = merchants_load(db, &s, &m), more = 0;
    char attrs[64];
    snprintf(attrs, sizeof(attrs), "data-status=\"%s\"", b.paid ? "paid" : "pending");
    fg_html_t p;
    fg_staff_begin_refresh(&p, &s, "staff-payout-batch", "Lô chi trả", "Payout batch", attrs, 0);
    fg_html_printf(&p, "<h1>%s <code data-batch=\"", fg_html_tr(&p, "Lô chi trả", "Payout batch"));
    fg_html_text(&p, b.public_id.data);
    fg_html_puts(&p, "\">");
    fg_html_text(&p, b.public_id.data);
    fg_html_puts(&p, "</code></h1>");
    batch_summary(&p, &b);
    fg_html_printf(&p, "<h2>%s</h2>", fg_html_tr(&p, "Các khoản trong lô", "The batch's payouts"));
    list_t l = {&p, &s, &m, 0, 0};
    fg_payout_query_t q = {.batch_id = b.public_id.data};
    list_head(&p, "Các khoản trong lô", "The batch's payouts");
    if (rc == 0)
        rc = fg_payout_list(db, &q, &page, payout_row, &l, &more);
    fg_db_end(db);
    merchants_free(&m);
    if (rc != 0) {
        fg_buf_free(&p.body);
        fg_payout_batch_free(&b);
        fg_staff_unavailable(call, db, rc);
        return;
    }
    list_end(&p, &l);
    char base[FG_ID_CAP + 40];
    snprintf(base, sizeof(base), "/staff/payouts/batches/%s?", b.public_id.data);
    pager(&p, more, l.last, base);
    fg_html_printf(&p, "<p><a href=\"/staff/payouts\">%s</a></p>",
                   fg_html_tr(&p, "← Về danh sách chi trả", "← Back to the payouts"));
    fg_payout_batch_free(&b);
    fg_html_end(&p, 200);
}

/* The bytes of GET /v1/payout-batches/{id}/file. */
void fg_staff_payout_batch_file(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_payout_batch_t b = {0};
    fg_buf_t csv = FG_BUF_INIT;
    if (fg_staff_open(call, db, FG_STAFF_CITY, &s) != 0 || batch_load(call, db, &b) != 0)
        return;
    int rc = fg_payout_batch_file(db, &b, &csv);
    fg_db_end(db);
    if (rc == FG_ECHECKSUM || rc == FG_EOVERFLOW) {
        fg_staff_bad(call, 500, "Các khoản của lô không khớp số khoản và tổng của lô: tệp không được phát hành.",
                     "The batch's payouts do not add up to its count and total: the file is not given out.");
    } else if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
    } else {
        char disposition[96];
        snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.csv\"", b.public_id.data);
        fg_call_add_header(call, "content-disposition", disposition);
        fg_html_security_headers(call);
        fg_call_body(call, 200, "text/csv; charset=utf-8", &csv);
    }
    fg_buf_free(&csv);
    fg_payout_batch_free(&b);
}
