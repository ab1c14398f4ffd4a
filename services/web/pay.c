/*
 * pay.c - GET /pay (the code form) and GET /pay/{code} (the bill).  No
 * account and no key: the code on the bill is the capability.  The bill
 * shows what is owed and its state, a pay button per offered method
 * (POST /pay/{code}/start, start.c) and the VietQR transfer with its QR;
 * a bill that takes no more money says so and offers nothing to press.
 */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include "adapter.h"
#include "core/money.h"
#include "core/text.h"
#include "orders/rules.h"
#include "vietqr/vietqr.h"
#include "core/banks.h"
#include "web/payer.h"

/* How often an open bill looks at itself for a payment (the script; twice
 * that without script). */
#define BILL_WATCH_S 5

void fg_html_escape(fg_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': fg_buf_puts(b, "&amp;"); break;
        case '<': fg_buf_puts(b, "&lt;"); break;
        case '>': fg_buf_puts(b, "&gt;"); break;
        case '"': fg_buf_puts(b, "&quot;"); break;
        case '\'': fg_buf_puts(b, "&#39;"); break;
        default: fg_buf_putc(b, s[i]);
        }
    }
}

/* ---- GET /pay ----------------------------------------------------------------- */

/* The code form; error (trusted, may be NULL) above it, typed (may be NULL)
 * in the field. */
static void find_form(fg_call_t *call, int status, const char *error_vi, const char *error_en, const char *typed)
{
    fg_html_t p;
    fg_html_begin(&p, call, "pay-find", "Thanh toán hóa đơn", "Pay a bill", NULL);
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Thanh toán hóa đơn", "Pay a bill"));
    if (error_vi != NULL)
        fg_html_printf(&p, "<p class=\"error\" role=\"alert\" id=\"code-error\" data-error>%s</p>",
                       fg_html_tr(&p, error_vi, error_en));
    fg_html_printf(&p,
                   "<form class=\"card\" method=\"get\" action=\"/pay\"><label for=\"code\">%s</label>"
                   "<p class=\"muted\" id=\"code-help\">%s</p>"
                   "<input id=\"code\" name=\"code\" type=\"text\" inputmode=\"text\" autocomplete=\"off\" "
                   "autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"64\" required "
                   "aria-describedby=\"code-help%s\"",
                   fg_html_tr(&p, "Mã thanh toán", "Payment code"),
                   fg_html_tr(&p,
                              "11 ký tự in trên hóa đơn, ví dụ 7K3M-9QXW-2A5. Có thể gõ chữ thường, dấu cách "
                              "hoặc dấu gạch.",
                              "The 11 characters printed on your bill, e.g. 7K3M-9QXW-2A5. Lower case, spaces "
                              "and dashes are fine."),
                   error_vi != NULL ? " code-error\" aria-invalid=\"true" : "");
    if (typed != NULL) {
        fg_html_puts(&p, " value=\"");
        fg_html_text(&p, typed);
        fg_html_puts(&p, "\"");
    }
    fg_html_printf(&p, "><button class=\"block\" type=\"submit\">%s</button></form>",
                   fg_html_tr(&p, "Xem hóa đơn", "Show the bill"));
    fg_html_end(&p, status);
}

void fg_web_pay_find(fg_call_t *call, fg_db_t *db)
{
    size_t len = 0;
    const char *typed = fg_call_query(call, "code", &len);
    if (typed == NULL || len == 0) {
        find_form(call, 200, NULL, NULL, NULL);
        return;
    }
    if (len > 64) {
        find_form(call, 400, "Mã quá dài: mã thanh toán có 11 ký tự.",
                  "That is too long: a payment code has 11 characters.", NULL);
        return;
    }
    fg_bill_t b;
    fg_bill_init(&b);
    int rc = fg_bill_load(db, typed, len, &b);
    fg_db_end(db);
    if (rc == 0) {
        char location[32];
        snprintf(location, sizeof(location), "/pay/%s", b.code);
        fg_html_redirect(call, location);
    } else if (rc == FG_EINVALID || rc == FG_ECHECKSUM) {
        find_form(call, 400, "Mã này không đúng. Hãy kiểm tra lại 11 ký tự in trên hóa đơn.",
                  "This code is not right. Check the 11 characters printed on your bill.", typed);
    } else if (rc == FG_ENOTFOUND) {
        find_form(call, 404, "Không có hóa đơn nào có mã này. Hãy kiểm tra lại mã in trên hóa đơn.",
                  "No bill has this code. Check the code printed on your bill.", typed);
    } else {
        fg_bill_load_failed(call, rc);
    }
    fg_bill_free(&b);
}

/* ---- GET /pay/{code} ---------------------------------------------------------- */

static void dl_row(fg_html_t *p, const char *label, const fg_buf_t *value)
{
    if (value->len == 0)
        return;
    fg_html_printf(p, "<dt>%s</dt><dd>", label);
    fg_html_textn(p, value->data, value->len);
    fg_html_puts(p, "</dd>");
}

/* A value with a copy button (added by the script): data-copy holds the text. */
static void dl_copy(fg_html_t *p, const char *label, const char *value, const char *shown)
{
    fg_html_printf(p, "<dt>%s</dt><dd class=\"copy\" data-copy=\"", label);
    fg_html_text(p, value);
    fg_html_puts(p, "\" data-copy-label=\"");
    fg_html_text(p, label);
    fg_html_puts(p, "\"><span>");
    fg_html_text(p, shown != NULL ? shown : value);
    fg_html_puts(p, "</span></dd>");
}

static void bill_facts(fg_html_t *p, const fg_bill_t *b)
{
    fg_html_puts(p, "<section class=\"card\" aria-labelledby=\"bill-h\"><h2 id=\"bill-h\">");
    fg_html_puts(p, fg_html_tr(p, "Hóa đơn", "Bill"));
    fg_html_puts(p, "</h2>");
    if (b->description.len > 0) {
        fg_html_puts(p, "<p data-description>");
        fg_html_textn(p, b->description.data, b->description.len);
        fg_html_puts(p, "</p>");
    }
    fg_html_printf(p, "<p class=\"amount\" data-amount=\"%lld\">", (long long)b->amount);
    fg_html_money(p, b->amount, b->currency.data);
    fg_html_printf(p, "</p><p><span class=\"badge %s\" data-order-status>%s</span></p><dl>",
                   fg_bill_status_class(b->status), fg_bill_status_text(p, b->status));
    dl_row(p, fg_html_tr(p, "Đơn vị thu", "Collected by"), &b->merchant_name);
    dl_row(p, fg_html_tr(p, "Số hóa đơn", "Bill number"), &b->merchant_ref);
    dl_row(p, fg_html_tr(p, "Người nộp", "Payer"), &b->payer_name);
    fg_html_printf(p, "<dt>%s</dt><dd><code data-code>%s</code></dd>", fg_html_tr(p, "Mã thanh toán", "Payment code"),
                   b->code);
    if (!b->due_null) {
        fg_html_printf(p, "<dt>%s</dt><dd data-due>", fg_html_tr(p, "Hạn nộp", "Due by"));
        fg_html_date(p, b->due_at);
        fg_html_puts(p, "</dd>");
    }
    fg_html_printf(p, "<dt>%s</dt><dd data-paid>", fg_html_tr(p, "Đã nộp", "Paid so far"));
    fg_html_money(p, b->amount_paid, b->currency.data);
    if (b->amount_refunded > 0) { /* money sent back to the payer: the bill stays paid, the payer is told */
        fg_html_printf(p, "</dd><dt>%s</dt><dd data-refunded=\"%lld\">",
                       fg_html_tr(p, "Đã hoàn trả cho người nộp", "Refunded to the payer"),
                       (long long)b->amount_refunded);
        fg_html_money(p, b->amount_refunded, b->currency.data);
    }
    fg_html_printf(p, "</dd><dt>%s</dt><dd data-owed=\"%lld\"><strong>", fg_html_tr(p, "Còn phải nộp", "Still owed"),
                   (long long)(b->amount - b->amount_paid));
    fg_html_money(p, b->amount - b->amount_paid, b->currency.data);
    fg_html_puts(p, "</strong></dd></dl></section>");
}

/* The methods that can take what is owed (a USD bill is no VNPay's, a
 * thousand billion dong no MoMo's): only those are offered.  Whether any way
 * is left, the transfer's included, is said under the buttons. */
static int takes(const fg_html_t *p, const fg_bill_t *b, const char *method)
{
    return fg_payer_method_takes(p->call->cfg, method, b->currency.data, b->amount - b->amount_paid);
}

static int vietqr_takes(const fg_html_t *p, const fg_bill_t *b)
{
    return fg_adapter_vietqr.accepts(p->call->cfg, b->currency.data, b->amount - b->amount_paid) == 0;
}

static void pay_buttons(fg_html_t *p, const fg_bill_t *b)
{
    int offered = 0, configured = 0;
    for (int i = 0; i < FG_PAYER_METHODS; i++) {
        offered += takes(p, b, fg_payer_methods[i]);
        configured += fg_payer_method_offered(p->call->cfg, fg_payer_methods[i]);
    }
    if (offered == 0) {
        if ((configured > 0 || fg_adapter_vietqr.accepts(p->call->cfg, NULL, 0) == 0) && !vietqr_takes(p, b))
            fg_html_printf(p, "<section class=\"card\" data-no-method><p>%s</p></section>",
                           fg_html_tr(p,
                                      "Hóa đơn này không thanh toán trực tuyến được (loại tiền hoặc số tiền): "
                                      "vui lòng liên hệ đơn vị thu.",
                                      "This bill cannot be paid online here (its currency or amount): please "
                                      "contact the collecting unit."));
        return;
    }
    fg_html_printf(p, "<section class=\"card\" aria-labelledby=\"pay-h\"><h2 id=\"pay-h\">%s</h2>",
                   fg_html_tr(p, "Thanh toán trực tuyến", "Pay online"));
    for (int i = 0; i < FG_PAYER_METHODS; i++) {
        const char *m = fg_payer_methods[i];
        if (!takes(p, b, m))
            continue;
        fg_html_printf(p,
                       "<form method=\"post\" action=\"/pay/%s/start\" data-method=\"%s\">"
                       "<input type=\"hidden\" name=\"method\" value=\"%s\"><button class=\"block%s\" "
                       "type=\"submit\">%s %s</button></form>",
                       b->code, m, m, strcmp(m, "sandbox") == 0 ? " secondary" : "",
                       fg_html_tr(p, "Thanh toán qua", "Pay with"), fg_payer_method_label(p, m));
    }
    fg_html_puts(p, "</section>");
}

static void vietqr_transfer(fg_html_t *p, const fg_bill_t *b)
{
    const fg_config_t *cfg = p->call->cfg;
    if (!vietqr_takes(p, b))
        return;
    char owed[48];
    (void)fg_money_format_vi(b->amount - b->amount_paid, 0, owed, sizeof(owed));
    const fg_bank_t *bank = fg_bank_find(cfg->vietqr_bank_bin);
    fg_html_printf(p,
                   "<section class=\"card\" aria-labelledby=\"qr-h\" data-vietqr><h2 id=\"qr-h\">%s</h2>"
                   "<p class=\"muted\">%s</p><img class=\"qr\" src=\"/pay/%s/qr.svg\" alt=\"%s\" width=\"264\" "
                   "height=\"264\"><dl>",
                   fg_html_tr(p, "Chuyển khoản VietQR", "Bank transfer (VietQR)"),
                   fg_html_tr(p,
                              "Quét mã bằng ứng dụng ngân hàng, hoặc chuyển khoản với đúng số tiền và nội dung "
                              "dưới đây.",
                              "Scan the code with your banking app, or transfer exactly this amount with this "
                              "memo."),
                   b->code, fg_html_tr(p, "Mã VietQR của hóa đơn", "The bill's VietQR code"));
    fg_html_printf(p, "<dt>%s</dt><dd data-bank>", fg_html_tr(p, "Ngân hàng", "Bank"));
    if (bank != NULL) {
        fg_html_printf(p, "<strong>%s</strong><br><span class=\"muted\">%s</span>", bank->short_name, bank->full_name);
    } else {
        fg_html_puts(p, "BIN ");
        fg_html_text(p, cfg->vietqr_bank_bin);
    }
    fg_html_puts(p, "</dd>");
    dl_copy(p, fg_html_tr(p, "Số tài khoản", "Account number"), cfg->vietqr_account_no, NULL);
    if (cfg->vietqr_account_name[0] != '\0')
        dl_copy(p, fg_html_tr(p, "Tên tài khoản", "Account name"), cfg->vietqr_account_name, NULL);
    char shown[64];
    snprintf(shown, sizeof(shown), "%s\xc2\xa0\xe2\x82\xab", owed);
    char plain[32];
    snprintf(plain, sizeof(plain), "%lld", (long long)(b->amount - b->amount_paid));
    dl_copy(p, fg_html_tr(p, "Số tiền", "Amount"), plain, shown);
    dl_copy(p, fg_html_tr(p, "Nội dung chuyển khoản", "Transfer memo"), b->code, NULL);
    fg_html_puts(p, "</dl></section>");
}

static void closed_notice(fg_html_t *p, const fg_bill_t *b)
{
    const char *vi, *en;
    if (b->status == FG_ORDER_PAID && b->amount_refunded > 0 && b->amount_refunded >= b->amount_paid) {
        vi = "Hóa đơn này đã được thanh toán đủ, và toàn bộ số tiền đã được hoàn trả cho người nộp. Hãy liên hệ "
             "đơn vị thu nếu cần.";
        en = "This bill was paid in full, and the whole payment was refunded to the payer. Ask the issuer if you "
             "need help.";
    } else if (b->status == FG_ORDER_PAID && b->amount_refunded > 0) {
        vi = "Hóa đơn này đã được thanh toán đủ; một phần số tiền đã được hoàn trả cho người nộp (xem bên trên).";
        en = "This bill is paid in full; part of the payment was refunded to the payer (see above).";
    } else if (b->status == FG_ORDER_PAID) {
        vi = "Hóa đơn này đã được thanh toán đủ. Không cần thanh toán thêm.";
        en = "This bill is paid in full. Nothing more is due.";
    } else if (b->status == FG_ORDER_CANCELLED) {
        vi = "Hóa đơn này đã bị hủy và không nhận thanh toán. Nếu cần, hãy liên hệ đơn vị thu.";
        en = "This bill was cancelled and takes no payment. Ask the issuer if you need help.";
    } else {
        vi = "Hóa đơn này đã hết hạn thanh toán và không nhận thanh toán nữa. Hãy liên hệ đơn vị thu.";
        en = "This bill has expired and takes no more payments. Ask the issuer for help.";
    }
    /* paid in full is good news, in the paid badge's green; cancelled and expired stay a warning */
    int refunded_whole = b->amount_refunded > 0 && b->amount_refunded >= b->amount_paid;
    fg_html_printf(p, "<p class=\"notice%s\"%s data-closed>%s</p>",
                   b->status == FG_ORDER_PAID && !refunded_whole ? " ok" : "",
                   refunded_whole ? " data-refunded-whole" : "", fg_html_tr(p, vi, en));
    if (b->status == FG_ORDER_PAID || b->amount_paid > 0)
        fg_html_printf(p, "<p><a href=\"/pay/%s/receipt\">%s</a></p>", b->code,
                       fg_html_tr(p, "Xem biên lai", "See the receipt"));
}

void fg_web_pay_page(fg_call_t *call, fg_db_t *db)
{
    fg_bill_t b;
    fg_bill_init(&b);
    int rc = fg_bill_load(db, call->params[0], call->param_lens[0], &b);
    fg_db_end(db);
    if (rc != 0) {
        fg_bill_load_failed(call, rc);
        fg_bill_free(&b);
        return;
    }
    char attrs[64];
    snprintf(attrs, sizeof(attrs), "data-status=\"%s\"", fg_order_status_name(b.status));
    fg_html_t p;
    if (fg_order_accepts_payment(b.status)) /* a transfer or another device may pay it while it is open */
        fg_html_begin_watch(&p, call, "pay-bill", "Hóa đơn", "Bill", attrs, BILL_WATCH_S);
    else
        fg_html_begin(&p, call, "pay-bill", "Hóa đơn", "Bill", attrs);
    fg_html_puts(&p, "<h1>");
    fg_html_textn(&p, b.merchant_name.data, b.merchant_name.len);
    fg_html_puts(&p, "</h1>");
    bill_facts(&p, &b);
    if (fg_order_accepts_payment(b.status)) {
        pay_buttons(&p, &b);
        vietqr_transfer(&p, &b);
        if (b.amount_paid > 0)
            fg_html_printf(&p, "<p><a href=\"/pay/%s/receipt\">%s</a></p>", b.code,
                           fg_html_tr(&p, "Xem biên lai đã nộp", "See the receipt of what was paid"));
    } else {
        closed_notice(&p, &b);
    }
    fg_html_end(&p, 200);
    fg_bill_free(&b);
}
