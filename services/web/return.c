/*
 * return.c - GET /pay/return/{adapter}: where the payer's browser comes back
 * from VNPay or MoMo.  The query's signature is verified with the adapter
 * (constant time), then the page shows the payment as OUR database has it.
 * It changes nothing: only the server-to-server notification (or the status
 * query job) settles a payment.
 */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include "adapter.h"
#include "core/money.h"
#include "core/status.h"
#include "core/text.h"

/* clang-format off */
static const char SQL_PAYMENT[] =
    "SELECT " FG_PAYMENT_STATUS_SQL("p.status") ", p.amount, p.currency, o.code, m.name FROM payments p "
    "JOIN orders o ON o.id = p.order_id JOIN merchants m ON m.id = p.merchant_id "
    "WHERE p.public_id = ? AND p.adapter = ?";
/* clang-format on */

static void page(fg_call_t *call, int status, const char *title, const char *text)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_puts(&b, fg_web_page_head);
    fg_buf_puts(&b, "<h1>");
    fg_html_escape(&b, title, strlen(title));
    fg_buf_puts(&b, "</h1><p>");
    fg_html_escape(&b, text, strlen(text));
    fg_buf_puts(&b, "</p></body></html>");
    fg_buf_free(&call->response);
    call->response = b;
    call->status = status;
    call->content_type = "text/html; charset=utf-8";
}

static const char *status_text(fg_payment_status_t status)
{
    if (status == FG_PAYMENT_SUCCEEDED)
        return "Thanh toán thành công (payment succeeded)";
    if (status == FG_PAYMENT_FAILED)
        return "Thanh toán không thành công (payment failed)";
    if (status == FG_PAYMENT_EXPIRED)
        return "Giao dịch đã hết hạn (payment expired)";
    return "Đang chờ xác nhận từ ngân hàng (waiting for the bank's confirmation; this page updates when you "
           "reload it)";
}

void fg_web_return_page(fg_call_t *call, fg_db_t *db)
{
    char reason[200] = "", amount_text[48];
    fg_notification_t n;
    fg_payment_status_t status = FG_PAYMENT_PENDING;
    fg_buf_t currency = FG_BUF_INIT, code = FG_BUF_INIT, merchant = FG_BUF_INIT;
    int64_t amount = 0;
    fg_stmt_t s;
    const fg_adapter_t *adapter = fg_adapter_find(call->params[0]);
    if (adapter == NULL || adapter->verify == NULL) {
        page(call, 404, "Không tìm thấy", "No such payment method.");
        return;
    }
    fg_inbound_t in = fg_call_inbound(call);
    in.body = NULL; /* a return link is its query alone */
    in.body_len = 0;
    int rc = adapter->verify(call->cfg, &in, fg_now_ms(), &n, reason, sizeof(reason));
    if (rc != 0) {
        page(call, 400, "Liên kết không hợp lệ",
             "This return link is not valid (its signature does not verify, or it is more than 7 days old).");
        return;
    }
    if ((rc = fg_stmt_init(&s, db, SQL_PAYMENT)) == 0) {
        fg_stmt_cstr(&s, n.payment_id);
        fg_stmt_cstr(&s, adapter->name);
        fg_stmt_out_enum(&s, &status, FG_PAYMENT_STATUS_COUNT);
        fg_stmt_out_int(&s, &amount, NULL);
        fg_stmt_out_text(&s, &currency, NULL);
        fg_stmt_out_text(&s, &code, NULL);
        fg_stmt_out_text(&s, &merchant, NULL);
        if ((rc = fg_stmt_exec(&s)) == 0) {
            rc = fg_stmt_fetch(&s);
            fg_stmt_done(&s);
            rc = rc == 1 ? 0 : rc == 0 ? FG_ENOTFOUND : rc;
        }
    }
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        page(call, 404, "Không tìm thấy giao dịch", "No payment has this reference.");
    } else if (rc != 0) {
        page(call, 503, "Tạm thời không khả dụng", "Please try again in a moment.");
    } else {
        const fg_currency_t *cur = fg_currency_find(currency.data, currency.len);
        fg_format_amount_vi(amount, cur != NULL ? cur->exponent : 0, amount_text, sizeof(amount_text));
        fg_buf_t b = FG_BUF_INIT;
        fg_buf_puts(&b, fg_web_page_head);
        fg_buf_puts(&b, "<h1>");
        fg_html_escape(&b, merchant.data, merchant.len);
        fg_buf_printf(&b,
                      "</h1><div class=\"amount\">%s %s</div><p><span class=\"status\" id=\"status\" "
                      "data-status=\"%s\">",
                      amount_text, currency.data, fg_payment_status_name(status));
        fg_html_escape(&b, status_text(status), strlen(status_text(status)));
        fg_buf_printf(&b,
                      "</span></p><dl><dt>Mã giao dịch / Payment</dt><dd><code>%s</code></dd>"
                      "<dt>Mã thanh toán / Payment code</dt><dd><a href=\"/pay/%s\"><code>%s</code></a></dd>"
                      "</dl></body></html>",
                      n.payment_id, code.data, code.data);
        fg_buf_free(&call->response);
        call->response = b;
        call->status = 200;
        call->content_type = "text/html; charset=utf-8";
    }
    fg_buf_free(&currency);
    fg_buf_free(&code);
    fg_buf_free(&merchant);
}
