/*
 * return.c - GET /pay/return/{adapter}: where the payer's browser comes back
 * from VNPay or MoMo.  The query's signature is verified with the adapter
 * (constant time); a good one is sent on (303) to the bill's receipt, which
 * shows the payment as OUR database has it.  It changes nothing: only the
 * server-to-server notification (or the status query job) settles a
 * payment, and the receipt says "processing" until one has.
 */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include "adapter.h"
#include "core/text.h"
#include "web/html.h"

static const char SQL_PAYMENT_CODE[] = "SELECT o.code FROM payments p JOIN orders o ON o.id = p.order_id "
                                       "WHERE p.public_id = ? AND p.adapter = ?";

void fg_web_return_page(fg_call_t *call, fg_db_t *db)
{
    char reason[200] = "";
    fg_notification_t n;
    fg_buf_t code = FG_BUF_INIT;
    fg_stmt_t s;
    const fg_adapter_t *adapter = fg_adapter_find(call->params[0]);
    if (adapter == NULL || adapter->verify == NULL) {
        fg_html_message(call, 404, "pay-return", "Không tìm thấy", "Not found", "Không có phương thức thanh toán này.",
                        "There is no such payment method.");
        return;
    }
    fg_inbound_t in = fg_call_inbound(call);
    in.body = NULL; /* a return link is its query alone */
    in.body_len = 0;
    if (adapter->verify(call->cfg, &in, fg_now_ms(), &n, reason, sizeof(reason)) != 0) {
        fg_html_message(call, 400, "pay-return", "Liên kết không hợp lệ", "This link is not valid",
                        "Liên kết trở về này không hợp lệ (chữ ký không khớp hoặc đã quá 7 ngày). Hãy mở lại hóa "
                        "đơn bằng mã thanh toán. <a href=\"/pay\">Nhập mã</a>",
                        "This return link is not valid (its signature does not verify, or it is more than 7 days "
                        "old). Open your bill with its payment code. <a href=\"/pay\">Enter the code</a>");
        return;
    }
    int rc = fg_stmt_init(&s, db, SQL_PAYMENT_CODE);
    if (rc == 0) {
        fg_stmt_cstr(&s, n.payment_id);
        fg_stmt_cstr(&s, adapter->name);
        fg_stmt_out_text(&s, &code, NULL);
        rc = fg_stmt_one(&s);
    }
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        fg_html_message(call, 404, "pay-return", "Không tìm thấy giao dịch", "Payment not found",
                        "Không có giao dịch nào có mã này.", "No payment has this reference.");
    } else if (rc != 0) {
        fg_html_message(call, 503, "pay-return", "Tạm thời không khả dụng", "Temporarily unavailable",
                        "Vui lòng thử lại sau ít phút.", "Please try again in a few minutes.");
    } else {
        char location[128];
        size_t id_len = strlen(n.payment_id);
        int plain = id_len > 0 &&
                    strspn(n.payment_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == id_len;
        snprintf(location, sizeof(location), "/pay/%s/receipt%s%s", code.data, plain ? "?payment=" : "",
                 plain ? n.payment_id : "");
        fg_html_redirect(call, location);
    }
    fg_buf_free(&code);
}
