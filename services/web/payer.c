/*
 * payer.c - what the payer pages share (payer.h).
 */
#include "web/payer.h"

#include "adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/money.h"
#include "core/text.h"
#include "orders/rules.h"
#include "web/web.h"

/* clang-format off */
static const char SQL_BILL[] =
    "SELECT o.id, o.public_id, o.merchant_id, m.public_id, m.name, o.merchant_ref, o.fee_type, o.amount, "
    "o.currency, o.amount_paid, o.amount_refunded, " FG_ORDER_STATUS_SQL("o.status") ", o.expires_at, o.due_at, o.description, "
    "o.payer_name FROM orders o JOIN merchants m ON m.id = o.merchant_id WHERE o.code = ?";
/* clang-format on */

const char *const fg_payer_methods[FG_PAYER_METHODS] = {"vnpay", "momo", "sandbox"};

void fg_bill_init(fg_bill_t *b) { memset(b, 0, sizeof(*b)); }

void fg_bill_free(fg_bill_t *b)
{
    fg_buf_t *texts[] = {&b->order_public_id, &b->merchant_public_id, &b->merchant_name, &b->merchant_ref,
                         &b->fee_type,        &b->currency,           &b->description,   &b->payer_name};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        fg_buf_free(texts[i]);
}

int fg_bill_code(const char *code, size_t len, char *out, size_t cap)
{
    /* the path comes percent-encoded: "/pay/151A%20MEPNRHM" is the code with a space typed in */
    size_t decoded_len = 0;
    char *decoded = fg_form_decode(code, len, &decoded_len);
    int bad = fg_order_code_normalize(decoded, decoded_len, out, cap);
    free(decoded);
    return bad != 0 ? FG_EINVALID : 0;
}

int fg_bill_load(fg_db_t *db, const char *code, size_t len, fg_bill_t *b)
{
    fg_stmt_t s;
    int description_null = 1, payer_null = 1;
    if (fg_bill_code(code, len, b->code, sizeof(b->code)) != 0)
        return FG_EINVALID;
    int rc = fg_stmt_init(&s, db, SQL_BILL);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, b->code);
    fg_stmt_out_int(&s, &b->order_id, NULL);
    fg_stmt_out_text(&s, &b->order_public_id, NULL);
    fg_stmt_out_int(&s, &b->merchant_id, NULL);
    fg_stmt_out_text(&s, &b->merchant_public_id, NULL);
    fg_stmt_out_text(&s, &b->merchant_name, NULL);
    fg_stmt_out_text(&s, &b->merchant_ref, NULL);
    fg_stmt_out_text(&s, &b->fee_type, NULL);
    fg_stmt_out_int(&s, &b->amount, NULL);
    fg_stmt_out_text(&s, &b->currency, NULL);
    fg_stmt_out_int(&s, &b->amount_paid, NULL);
    fg_stmt_out_int(&s, &b->amount_refunded, NULL);
    fg_stmt_out_enum(&s, &b->status, FG_ORDER_STATUS_COUNT);
    fg_stmt_out_int(&s, &b->expires_at, &b->expires_null);
    fg_stmt_out_int(&s, &b->due_at, &b->due_null);
    fg_stmt_out_text(&s, &b->description, &description_null);
    fg_stmt_out_text(&s, &b->payer_name, &payer_null);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc != 1)
        return rc == 0 ? FG_ENOTFOUND : rc;
    b->status = fg_order_effective_status(b->status, !b->expires_null, b->expires_at, fg_now_ms());
    return 0;
}

void fg_bill_load_failed(fg_call_t *call, int rc)
{
    if (rc == FG_EINVALID || rc == FG_ENOTFOUND || rc == FG_ECHECKSUM)
        fg_html_message(call, 404, "pay-not-found", "Không tìm thấy hóa đơn", "Bill not found",
                        "Không có hóa đơn nào có mã này. Hãy kiểm tra mã in trên hóa đơn. "
                        "<a href=\"/pay\">Nhập lại mã</a>",
                        "No bill has this code. Check the code printed on your bill. "
                        "<a href=\"/pay\">Enter the code again</a>");
    else
        fg_html_message(call, 503, "pay-unavailable", "Tạm thời không khả dụng", "Temporarily unavailable",
                        "Hệ thống đang bận. Vui lòng thử lại sau ít phút.", "Please try again in a few minutes.");
}

void fg_html_money(fg_html_t *p, int64_t amount, const char *currency)
{
    char text[FG_MONEY_DISPLAY_MAX];
    if (fg_money_display(amount, currency, text, sizeof(text)) > 0)
        fg_html_text(p, text);
}

static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void fg_html_date(fg_html_t *p, int64_t ms)
{
    int32_t day = fg_day_of_ms(ms);
    int y = day / 10000, m = day / 100 % 100, d = day % 100;
    if (m < 1 || m > 12)
        return;
    if (p->lang == FG_LANG_EN)
        fg_html_printf(p, "%d %s %d", d, MONTHS[m - 1], y);
    else
        fg_html_printf(p, "%02d/%02d/%d", d, m, y);
}

void fg_html_datetime(fg_html_t *p, int64_t ms)
{
    int64_t local = ms + FG_DAY_OFFSET_MS;
    int64_t in_day = ((local % FG_DAY_MS) + FG_DAY_MS) % FG_DAY_MS;
    fg_html_printf(p, "%02d:%02d, ", (int)(in_day / 3600000), (int)(in_day / 60000 % 60));
    fg_html_date(p, ms);
    fg_html_puts(p, " (GMT+7)");
}

const char *fg_bill_status_text(const fg_html_t *p, fg_order_status_t s)
{
    switch (s) {
    case FG_ORDER_OPEN: return fg_html_tr(p, "Chưa thanh toán", "Not paid yet");
    case FG_ORDER_PARTIALLY_PAID: return fg_html_tr(p, "Đã thanh toán một phần", "Partly paid");
    case FG_ORDER_PAID: return fg_html_tr(p, "Đã thanh toán đủ", "Paid in full");
    case FG_ORDER_CANCELLED: return fg_html_tr(p, "Đã hủy", "Cancelled");
    case FG_ORDER_EXPIRED: break;
    case FG_ORDER_STATUS_COUNT: break;
    }
    return fg_html_tr(p, "Đã hết hạn", "Expired");
}

const char *fg_bill_status_class(fg_order_status_t s)
{
    if (s == FG_ORDER_PAID)
        return "ok";
    if (s == FG_ORDER_OPEN || s == FG_ORDER_PARTIALLY_PAID)
        return "warn";
    return "bad";
}

int fg_payer_method_offered(const fg_config_t *cfg, const char *method)
{
    return fg_payer_method_takes(cfg, method, NULL, 0);
}

int fg_payer_method_takes(const fg_config_t *cfg, const char *method, const char *currency, int64_t amount)
{
    const fg_adapter_t *a = NULL;
    for (int i = 0; i < FG_PAYER_METHODS && a == NULL; i++)
        if (strcmp(method, fg_payer_methods[i]) == 0)
            a = fg_adapter_find(method);
    return a != NULL && a->accepts(cfg, currency, amount) == 0;
}

const char *fg_payer_method_label(const fg_html_t *p, const char *method)
{
    if (strcmp(method, "vnpay") == 0)
        return "VNPay";
    if (strcmp(method, "momo") == 0)
        return "MoMo";
    if (strcmp(method, "vietqr") == 0)
        return fg_html_tr(p, "Chuyển khoản VietQR", "VietQR bank transfer");
    return fg_html_tr(p, "Cổng thử nghiệm", "Sandbox gateway");
}
