/*
 * return.c - GET /pay/return/{adapter}: where the payer's browser comes back
 * from VNPay or MoMo.  The query's signature is verified with the adapter
 * (constant time); a good one is sent on (303) to the bill's receipt, which
 * shows the payment as OUR database has it.  Only the server-to-server
 * notification (or the status query job) settles a payment, and the receipt
 * says "processing" until one has.
 *
 * A signed answer that the payment did not go through (the payer cancelled
 * at VNPay, MoMo declined) while the payment is still pending here is said
 * at once, with the way back to the bill, instead of a receipt that would
 * say "processing, do not pay again" until the notification or the status
 * query (15 minutes) came.  The payment stays pending; it is marked
 * (payments.returned_unpaid_at), so that the bill's pay button starts a new
 * payment rather than send the payer to this one's page again (a provider
 * takes a transaction reference once).
 */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include "adapter.h"
#include "core/text.h"
#include "web/html.h"
#include "web/payer.h"

static const char SQL_PAYMENT_CODE[] =
    "SELECT o.code, p.id, p.status = 'pending' FROM payments p JOIN orders o ON o.id = p.order_id "
    "WHERE p.public_id = ? AND p.adapter = ?";
static const char SQL_RETURNED_UNPAID[] =
    "UPDATE payments SET returned_unpaid_at = ? WHERE id = ? AND status = 'pending' AND returned_unpaid_at IS NULL";

typedef struct {
    int64_t id, now;
} unpaid_t;

static int mark_unpaid_tx(fg_db_t *db, void *arg)
{
    const unpaid_t *u = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_RETURNED_UNPAID);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, u->now);
    fg_stmt_int(&s, u->id);
    return fg_stmt_exec(&s);
}

/* The provider's signed word that the payment did not go through, with the
 * way back to the bill. */
static void answer_unpaid(fg_call_t *call, const fg_adapter_t *adapter, const char *code)
{
    fg_html_t p;
    fg_html_begin(&p, call, "pay-returned-unpaid", "Thanh toán chưa hoàn tất", "The payment was not completed", NULL);
    fg_html_printf(&p, "<h1>%s</h1><p class=\"error\" role=\"status\" data-provider=\"%s\">",
                   fg_html_tr(&p, "Thanh toán chưa hoàn tất", "The payment was not completed"), adapter->name);
    const char *provider = fg_payer_method_label(&p, adapter->name);
    if (p.lang == FG_LANG_EN)
        fg_html_printf(&p,
                       "%s says the payment did not go through (cancelled or declined). No money was taken for it. "
                       "You can pay the bill again, by this or another method.",
                       provider);
    else
        fg_html_printf(&p,
                       "%s báo giao dịch không thành công (đã hủy hoặc bị từ chối). Bạn chưa bị trừ tiền cho giao "
                       "dịch này. Bạn có thể thanh toán lại hóa đơn bằng phương thức này hoặc phương thức khác.",
                       provider);
    fg_html_puts(&p, "</p><p><a class=\"button block\" href=\"/pay/");
    fg_html_text(&p, code);
    fg_html_printf(&p, "\" data-back-to-bill>%s</a></p>", fg_html_tr(&p, "Quay lại hóa đơn", "Back to the bill"));
    fg_html_end(&p, 200);
}

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
    int64_t id = 0, pending = 0;
    int rc = fg_stmt_init(&s, db, SQL_PAYMENT_CODE);
    if (rc == 0) {
        fg_stmt_cstr(&s, n.payment_id);
        fg_stmt_cstr(&s, adapter->name);
        fg_stmt_out_text(&s, &code, NULL);
        fg_stmt_out_int(&s, &id, NULL);
        fg_stmt_out_int(&s, &pending, NULL);
        rc = fg_stmt_one(&s);
    }
    fg_db_end(db);
    int unpaid = rc == 0 && n.status == FG_NOTIFY_FAILED && !n.maybe_taken && pending;
    if (unpaid) {
        unpaid_t u = {id, fg_now_ms()};
        rc = fg_db_tx(db, mark_unpaid_tx, &u);
    }
    if (unpaid && rc == 0) {
        answer_unpaid(call, adapter, code.data);
    } else if (rc == FG_ENOTFOUND) {
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
