/*
 * pay.c - the payer's page for one bill.  No account and no key: the code on
 * the bill is the capability.  Shows what is owed and its state; payment
 * buttons come with the payment adapters.
 */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include "core/money.h"
#include "core/text.h"
#include "orders/orders.h"
#include "vietqr/vietqr.h"

/* clang-format off */
static const char SQL_BY_CODE[] =
    "SELECT o.merchant_ref, o.fee_type, o.amount, o.currency, o.amount_paid, " FG_ORDER_STATUS_SQL("o.status")
    ", o.expires_at, o.due_at, o.description, o.payer_name, m.name FROM orders o "
    "JOIN merchants m ON m.id = o.merchant_id WHERE o.code = ?";
/* clang-format on */

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

void fg_format_amount_vi(int64_t amount, int exponent, char *out, size_t cap)
{
    char digits[32];
    uint64_t v = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    fg_buf_t b = FG_BUF_INIT;
    int whole = n - exponent;
    if (amount < 0)
        fg_buf_putc(&b, '-');
    if (whole <= 0) {
        fg_buf_putc(&b, '0');
    } else {
        for (int i = 0; i < whole; i++) {
            if (i > 0 && (whole - i) % 3 == 0)
                fg_buf_putc(&b, '.');
            fg_buf_putc(&b, digits[i]);
        }
    }
    if (exponent > 0) {
        fg_buf_putc(&b, ',');
        for (int i = whole; i < n; i++)
            if (i >= 0)
                fg_buf_putc(&b, digits[i]);
        for (int i = n; i < whole + exponent && whole < 0; i++)
            fg_buf_putc(&b, '0');
    }
    snprintf(out, cap, "%s", b.data);
    fg_buf_free(&b);
}

const char fg_web_page_head[] =
    "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>feegate</title>"
    "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1d2733}"
    "h1{font-size:1.2rem}.amount{font-size:2rem;font-weight:700;margin:.5rem 0}dt{color:#5b6b7c;font-size:.85rem}"
    "dd{margin:0 0 .6rem 0}.status{display:inline-block;padding:.15rem .5rem;border-radius:.3rem;background:#e8eef5}"
    "</style></head><body>";

static const char *status_vi(fg_order_status_t status)
{
    switch (status) {
    case FG_ORDER_OPEN: return "Chưa thanh toán (open)";
    case FG_ORDER_PARTIALLY_PAID: return "Đã thanh toán một phần (partially paid)";
    case FG_ORDER_PAID: return "Đã thanh toán (paid)";
    case FG_ORDER_CANCELLED: return "Đã hủy (cancelled)";
    case FG_ORDER_EXPIRED: break;
    case FG_ORDER_STATUS_COUNT: break;
    }
    return "Hết hạn (expired)";
}

static void row(fg_buf_t *b, const char *label, const fg_buf_t *value)
{
    if (value->len == 0)
        return;
    fg_buf_printf(b, "<dt>%s</dt><dd>", label);
    fg_html_escape(b, value->data, value->len);
    fg_buf_puts(b, "</dd>");
}

void fg_web_pay_page(fg_call_t *call, fg_db_t *db)
{
    char code[FG_ORDER_CODE_LEN + 1], amount_text[48], paid_text[48];
    fg_order_status_t status = FG_ORDER_OPEN;
    fg_buf_t ref = FG_BUF_INIT, fee = FG_BUF_INIT, currency = FG_BUF_INIT, description = FG_BUF_INIT,
             payer = FG_BUF_INIT, merchant = FG_BUF_INIT, page = FG_BUF_INIT;
    int64_t amount = 0, paid = 0, expires = 0, due = 0;
    int expires_null = 1, due_null = 1, rc = FG_ENOTFOUND;
    fg_stmt_t s;

    call->content_type = "text/html; charset=utf-8";
    if (fg_order_code_normalize(call->params[0], call->param_lens[0], code, sizeof(code)) == 0 &&
        (rc = fg_stmt_init(&s, db, SQL_BY_CODE)) == 0) {
        fg_stmt_cstr(&s, code);
        fg_stmt_out_text(&s, &ref, NULL);
        fg_stmt_out_text(&s, &fee, NULL);
        fg_stmt_out_int(&s, &amount, NULL);
        fg_stmt_out_text(&s, &currency, NULL);
        fg_stmt_out_int(&s, &paid, NULL);
        fg_stmt_out_enum(&s, &status, FG_ORDER_STATUS_COUNT);
        fg_stmt_out_int(&s, &expires, &expires_null);
        fg_stmt_out_int(&s, &due, &due_null);
        fg_stmt_out_text(&s, &description, NULL);
        fg_stmt_out_text(&s, &payer, NULL);
        fg_stmt_out_text(&s, &merchant, NULL);
        if ((rc = fg_stmt_exec(&s)) == 0) {
            rc = fg_stmt_fetch(&s);
            fg_stmt_done(&s);
            rc = rc == 1 ? 0 : rc == 0 ? FG_ENOTFOUND : rc;
        }
    }
    fg_buf_puts(&page, fg_web_page_head);
    if (rc == FG_ENOTFOUND) {
        fg_buf_puts(&page, "<h1>Không tìm thấy hóa đơn</h1><p>No bill has this code. Check the code printed on "
                           "your bill.</p></body></html>");
        call->status = 404;
    } else if (rc != 0) {
        fg_buf_puts(&page, "<h1>Tạm thời không khả dụng</h1><p>Please try again in a moment.</p></body></html>");
        call->status = 503;
    } else {
        const fg_currency_t *cur = fg_currency_find(currency.data, currency.len);
        int exponent = cur != NULL ? cur->exponent : 0;
        fg_format_amount_vi(amount, exponent, amount_text, sizeof(amount_text));
        fg_format_amount_vi(paid, exponent, paid_text, sizeof(paid_text));
        fg_order_status_t shown = fg_order_effective_status(status, !expires_null, expires, fg_now_ms());
        fg_buf_puts(&page, "<h1>");
        fg_html_escape(&page, merchant.data, merchant.len);
        fg_buf_printf(&page, "</h1><div class=\"amount\">%s %s</div><p><span class=\"status\">%s</span></p><dl>",
                      amount_text, currency.data, status_vi(shown));
        row(&page, "Mã hóa đơn / Bill number", &ref);
        row(&page, "Người nộp / Payer", &payer);
        row(&page, "Nội dung / Description", &description);
        fg_buf_printf(&page, "<dt>Mã thanh toán / Payment code</dt><dd><code>%s</code></dd>", code);
        fg_buf_printf(&page, "<dt>Đã nộp / Paid</dt><dd>%s %s</dd>", paid_text, currency.data);
        if (!due_null) {
            char t[40];
            fg_time_format_rfc3339(due, 0, t, sizeof(t));
            fg_buf_printf(&page, "<dt>Hạn nộp / Due</dt><dd>%s</dd>", t);
        }
        fg_buf_puts(&page, "</dl>");
        if (fg_order_accepts_payment(shown) && strcmp(currency.data, "VND") == 0 && fg_vietqr_configured(call->cfg)) {
            /* a NAPAS 247 transfer: the QR carries the amount and the code as memo */
            char owed_text[48];
            fg_format_amount_vi(amount - paid, exponent, owed_text, sizeof(owed_text));
            fg_buf_printf(&page,
                          "<h2>Chuyển khoản VietQR / Bank transfer</h2><p><img src=\"/pay/%s/qr.svg\" "
                          "alt=\"VietQR\" width=\"264\" height=\"264\"></p><dl><dt>Số tiền / Amount</dt>"
                          "<dd>%s VND</dd><dt>Ngân hàng (BIN) / Bank</dt><dd>",
                          code, owed_text);
            fg_html_escape(&page, call->cfg->vietqr_bank_bin, strlen(call->cfg->vietqr_bank_bin));
            fg_buf_puts(&page, "</dd><dt>Số tài khoản / Account</dt><dd>");
            fg_html_escape(&page, call->cfg->vietqr_account_no, strlen(call->cfg->vietqr_account_no));
            if (call->cfg->vietqr_account_name[0] != '\0') {
                fg_buf_puts(&page, " — ");
                fg_html_escape(&page, call->cfg->vietqr_account_name, strlen(call->cfg->vietqr_account_name));
            }
            fg_buf_printf(&page, "</dd><dt>Nội dung / Memo</dt><dd><code>%s</code></dd></dl>", code);
        }
        fg_buf_puts(&page, "</body></html>");
        call->status = 200;
    }
    fg_buf_free(&call->response);
    call->response = page;
    fg_buf_free(&ref), fg_buf_free(&fee), fg_buf_free(&currency);
    fg_buf_free(&description), fg_buf_free(&payer), fg_buf_free(&merchant);
}
