/*
 * receipt.c - GET /pay/{code}/receipt: the receipt of a bill's payment, where
 * the return from VNPay or MoMo lands (return.c).  ?payment=pay_… names the
 * payment (one of this bill's); without it, the bill's latest succeeded
 * payment, else its latest pending one, else its latest.  Until the
 * provider's notification (or the status query) has settled the payment
 * the receipt says "processing" and refreshes itself every few seconds
 * (a meta refresh: no script needed); then "paid", or "failed".
 */
#include "web/web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/ids.h"
#include "core/text.h"
#include "receipts/keys.h"
#include "receipts/qr_payload.h"
#include "receipts/receipts.h"
#include "web/payer.h"

#define RECEIPT_REFRESH_S 3

/* clang-format off */
static const char SQL_RECEIPT_PAYMENT[] =
    "SELECT public_id, adapter, " FG_PAYMENT_STATUS_SQL("status") ", amount, amount_received, currency, "
    FG_RECEIPT_PROVIDER_REF_SQL("provider_txn_id") ", created_at, COALESCE((SELECT j.created_at FROM journals j WHERE j.kind = 'payment' AND "
    "j.payment_id = payments.id), updated_at) FROM payments WHERE order_id = ? AND (? = '' OR public_id = ?) "
    "ORDER BY status = 'succeeded' DESC, status = 'pending' DESC, id DESC LIMIT 1";
/* an issued receipt, or one still queued for its number (the payment names it at once) */
static const char SQL_BY_RECEIPT[] =
    "SELECT o.code, p.public_id FROM receipts c JOIN payments p ON p.id = c.payment_id JOIN orders o ON o.id = "
    "p.order_id WHERE c.public_id = ? UNION ALL SELECT o.code, p.public_id FROM receipt_queue q JOIN payments p ON "
    "p.id = q.payment_id JOIN orders o ON o.id = p.order_id WHERE q.receipt_public_id = ? LIMIT 1";
static const char SQL_BY_PAYMENT[] =
    "SELECT o.code, p.public_id FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.public_id = ?";
/* clang-format on */

typedef struct {
    fg_buf_t id, adapter, currency, provider_txn;
    fg_payment_status_t status;
    int64_t amount, received, created, updated;
    int received_null, txn_null;
} receipt_payment_t;

static void payment_free(receipt_payment_t *r)
{
    fg_buf_free(&r->id), fg_buf_free(&r->adapter), fg_buf_free(&r->currency), fg_buf_free(&r->provider_txn);
}

static int payment_load(fg_db_t *db, int64_t order_id, const char *wanted, receipt_payment_t *r)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_RECEIPT_PAYMENT);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, order_id);
    fg_stmt_cstr(&s, wanted);
    fg_stmt_cstr(&s, wanted);
    fg_stmt_out_text(&s, &r->id, NULL);
    fg_stmt_out_text(&s, &r->adapter, NULL);
    fg_stmt_out_enum(&s, &r->status, FG_PAYMENT_STATUS_COUNT);
    fg_stmt_out_int(&s, &r->amount, NULL);
    fg_stmt_out_int(&s, &r->received, &r->received_null);
    fg_stmt_out_text(&s, &r->currency, NULL);
    fg_stmt_out_text(&s, &r->provider_txn, &r->txn_null);
    fg_stmt_out_int(&s, &r->created, NULL);
    fg_stmt_out_int(&s, &r->updated, NULL);
    return fg_stmt_one(&s);
}

static const char *receipt_status(fg_payment_status_t s)
{
    if (s == FG_PAYMENT_SUCCEEDED)
        return "paid";
    return s == FG_PAYMENT_PENDING ? "processing" : "failed";
}

static void receipt_headline(fg_html_t *p, const receipt_payment_t *r)
{
    if (r->status == FG_PAYMENT_SUCCEEDED)
        fg_html_printf(p, "<p class=\"badge ok\" role=\"status\">%s</p>",
                       fg_html_tr(p, "Thanh toán thành công", "Payment received"));
    else if (r->status == FG_PAYMENT_PENDING)
        fg_html_printf(p, "<p class=\"notice\" role=\"status\">%s</p>",
                       fg_html_tr(p,
                                  "Đang xử lý: đang chờ ngân hàng xác nhận. Trang này tự cập nhật sau vài giây; "
                                  "không cần thanh toán lại.",
                                  "Processing: waiting for the bank's confirmation. This page updates itself in a "
                                  "few seconds; do not pay again."));
    else
        fg_html_printf(p, "<p class=\"error\" role=\"status\">%s</p>",
                       fg_html_tr(p, "Thanh toán không thành công. Bạn chưa bị trừ tiền cho giao dịch này.",
                                  "The payment did not go through. No money was taken for it."));
}

static void dd_text(fg_html_t *p, const char *label, const char *hook, const fg_buf_t *v)
{
    if (v->len == 0)
        return;
    fg_html_printf(p, "<dt>%s</dt><dd %s>", label, hook);
    fg_html_textn(p, v->data, v->len);
    fg_html_puts(p, "</dd>");
}

/* "Biên lai số 0000123, ký hiệu BL-26E": the e-receipt issued for the
 * payment (with its amount in words), once it succeeded. */
static void receipt_number(fg_html_t *p, const fg_receipt_t *e)
{
    char number[8];
    fg_receipt_number_text(e->number, number);
    fg_html_printf(p, "<p class=\"receipt-number\" data-receipt-number=\"%s\" data-receipt-serial=\"", number);
    fg_html_text(p, e->serial);
    fg_html_printf(p, "\">%s %s, %s ", fg_html_tr(p, "Biên lai số", "Receipt no."), number,
                   fg_html_tr(p, "ký hiệu", "series"));
    fg_html_text(p, e->serial);
    fg_html_printf(p, " (%s ", fg_html_tr(p, "mẫu số", "form"));
    fg_html_text(p, e->form);
    fg_html_puts(p, ")</p>");
}

static void receipt_words(fg_html_t *p, const fg_receipt_t *e)
{
    fg_buf_t words = FG_BUF_INIT;
    if (fg_receipt_amount_words(e->amount, e->currency, &words) == 0) {
        fg_html_printf(p, "<dt>%s</dt><dd data-amount-words>", fg_html_tr(p, "Số tiền bằng chữ", "Amount in words"));
        fg_html_textn(p, words.data, words.len);
        fg_html_puts(p, "</dd>");
    }
    fg_buf_free(&words);
}

/* The receipt's offline-verifiable QR: a compact JWS (ES256) of its number,
 * series, merchant, amount, time and a hash of the payer's reference, which
 * `feegate receipt verify`, the published keys
 * (/.well-known/feegate-receipt-keys) and any JWS library check without
 * asking us.  Left out when no QR key is configured. */
static void receipt_qr(fg_html_t *p, const fg_receipt_t *e)
{
    fg_buf_t payload = FG_BUF_INIT, drawn = FG_BUF_INIT;
    char err[160];
    if (fg_receipt_qr_payload(fg_receipt_keys(), e, &payload, err, sizeof(err)) == 0) {
        fg_buf_putc(&payload, '\0');
        if (fg_web_qr_draw(&drawn, payload.data, 0) == 0) {
            fg_html_puts(p, "<figure class=\"receipt-qr\" data-receipt-qr=\"");
            fg_html_text(p, payload.data);
            fg_html_puts(p, "\">");
            fg_html_puts(p, drawn.data); /* our own markup: digits and path commands */
            fg_html_printf(p, "<figcaption>%s <a href=\"/verify?p=",
                           fg_html_tr(p, "Mã QR có chữ ký để kiểm tra biên lai, không cần mạng.",
                                      "A signed QR code to check this receipt offline."));
            fg_html_text(p, payload.data); /* base64url and dots: nothing to encode in a query */
            fg_html_printf(p, "\" data-verify-link>%s</a></figcaption></figure>",
                           fg_html_tr(p, "Kiểm tra", "Check it"));
        }
    }
    fg_buf_free(&payload);
    fg_buf_free(&drawn);
}

/* clang-format off */
static const char SQL_ADJUSTMENTS[] =
    "SELECT a.number, a.serial, a.amount, a.issued_at FROM receipts a JOIN receipts o ON o.id = a.related_id "
    "WHERE o.public_id = ? ORDER BY a.id LIMIT 20";
/* clang-format on */

/* An original that refunds adjusted stays as issued, and says so: each
 * adjustment receipt (number, series, the negative amount, when). */
static void receipt_adjustments(fg_html_t *p, fg_db_t *db, const fg_receipt_t *e)
{
    int64_t number = 0, amount = 0, issued = 0;
    fg_buf_t serial = FG_BUF_INIT;
    fg_stmt_t s;
    if (e->status == FG_RECEIPT_ISSUED || fg_stmt_init(&s, db, SQL_ADJUSTMENTS) != 0)
        return;
    fg_stmt_cstr(&s, e->id);
    fg_stmt_out_int(&s, &number, NULL);
    fg_stmt_out_text(&s, &serial, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_int(&s, &issued, NULL);
    fg_html_printf(p, "<section class=\"notice\" data-receipt-adjusted><p>%s</p><ul>",
                   e->status == FG_RECEIPT_ADJUSTED
                       ? fg_html_tr(p, "Biên lai này đã được điều chỉnh khi hoàn tiền; biên lai gốc giữ nguyên:",
                                    "This receipt was adjusted by a refund; the original stands as issued:")
                       : fg_html_tr(p, "Biên lai này đã bị hủy hoặc thay thế.",
                                    "This receipt was cancelled or replaced."));
    if (fg_stmt_exec(&s) == 0) {
        while (fg_stmt_fetch(&s) == 1) {
            char text[8];
            fg_receipt_number_text(number, text);
            fg_html_printf(p, "<li data-adjustment=\"%s\">%s %s, %s ", text,
                           fg_html_tr(p, "Biên lai điều chỉnh số", "Adjustment receipt no."), text,
                           fg_html_tr(p, "ký hiệu", "series"));
            fg_html_text(p, serial.data != NULL ? serial.data : "");
            fg_html_puts(p, ": ");
            fg_html_money(p, amount, e->currency);
            fg_html_puts(p, " (");
            fg_html_datetime(p, issued);
            fg_html_puts(p, ")</li>");
        }
    }
    fg_html_puts(p, "</ul></section>");
    fg_buf_free(&serial);
}

static void receipt_body(fg_html_t *p, fg_db_t *db, const fg_bill_t *b, const receipt_payment_t *r,
                         const fg_receipt_t *e)
{
    fg_html_printf(p, "<h1>%s</h1>", fg_html_tr(p, "Biên lai thanh toán", "Payment receipt"));
    receipt_headline(p, r);
    if (e != NULL) {
        receipt_number(p, e);
        receipt_adjustments(p, db, e);
    }
    fg_html_puts(p, "<section class=\"card receipt\" aria-label=\"");
    fg_html_puts(p, fg_html_tr(p, "Biên lai", "Receipt"));
    fg_html_printf(p, "\"><p class=\"amount\" data-amount=\"%lld\">",
                   (long long)(r->received_null ? r->amount : r->received));
    fg_html_money(p, r->received_null ? r->amount : r->received, r->currency.data);
    fg_html_puts(p, "</p><dl>");
    if (e != NULL)
        receipt_words(p, e);
    if (e != NULL) { /* the unit as the receipt names it */
        fg_html_printf(p, "<dt>%s</dt><dd data-unit>", fg_html_tr(p, "Đơn vị thu", "Collected by"));
        fg_html_text(p, e->unit_name);
        fg_html_puts(p, "</dd>");
        if (e->unit_tax_code[0] != '\0') {
            fg_html_printf(p, "<dt>%s</dt><dd data-tax-code>", fg_html_tr(p, "Mã số thuế", "Tax code"));
            fg_html_text(p, e->unit_tax_code);
            fg_html_puts(p, "</dd>");
        }
    } else {
        dd_text(p, fg_html_tr(p, "Đơn vị thu", "Collected by"), "data-unit", &b->merchant_name);
    }
    dd_text(p, fg_html_tr(p, "Người nộp", "Payer"), "data-payer", &b->payer_name);
    dd_text(p, fg_html_tr(p, "Số hóa đơn", "Bill number"), "data-bill", &b->merchant_ref);
    dd_text(p, fg_html_tr(p, "Nội dung", "For"), "data-description", &b->description);
    fg_html_printf(p, "<dt>%s</dt><dd><code>%s</code></dd>", fg_html_tr(p, "Mã thanh toán", "Payment code"), b->code);
    fg_html_printf(p, "<dt>%s</dt><dd data-method=\"", fg_html_tr(p, "Phương thức", "Method"));
    fg_html_textn(p, r->adapter.data, r->adapter.len);
    fg_html_printf(p, "\">%s</dd>", fg_payer_method_label(p, r->adapter.data));
    if (!r->txn_null)
        dd_text(p, fg_html_tr(p, "Mã giao dịch ngân hàng", "Provider reference"), "data-provider-ref",
                &r->provider_txn);
    dd_text(p, fg_html_tr(p, "Mã giao dịch feegate", "feegate reference"), "data-payment", &r->id);
    fg_html_printf(p, "<dt>%s</dt><dd data-time>",
                   r->status == FG_PAYMENT_SUCCEEDED ? fg_html_tr(p, "Thời gian", "Paid at")
                                                     : fg_html_tr(p, "Bắt đầu lúc", "Started at"));
    fg_html_datetime(p, r->status == FG_PAYMENT_SUCCEEDED ? r->updated : r->created);
    fg_html_printf(p, "</dd><dt>%s</dt><dd><span class=\"badge %s\" data-order-status=\"%s\">%s</span></dd></dl>",
                   fg_html_tr(p, "Hóa đơn", "Bill"), fg_bill_status_class(b->status), fg_order_status_name(b->status),
                   fg_bill_status_text(p, b->status));
    if (e != NULL)
        receipt_qr(p, e);
    fg_html_puts(p, "</section><p class=\"no-print\">");
    if (r->status == FG_PAYMENT_SUCCEEDED)
        fg_html_printf(p, "<button type=\"button\" class=\"secondary\" data-print hidden>%s</button> ",
                       fg_html_tr(p, "In biên lai", "Print the receipt"));
    fg_html_printf(p, "<a href=\"/pay/%s\">%s</a></p>", b->code, fg_html_tr(p, "Xem hóa đơn", "See the bill"));
}

void fg_web_receipt_page(fg_call_t *call, fg_db_t *db)
{
    fg_bill_t b;
    receipt_payment_t r;
    memset(&r, 0, sizeof(r));
    fg_bill_init(&b);
    const char *wanted = fg_call_query(call, "payment", NULL);
    if (wanted == NULL || strlen(wanted) > FG_ID_CAP)
        wanted = "";
    fg_receipt_t *e = NULL;
    int rc = fg_bill_load(db, call->params[0], call->param_lens[0], &b);
    if (rc == 0)
        rc = payment_load(db, b.order_id, wanted, &r);
    if (rc == 0 && r.status == FG_PAYMENT_SUCCEEDED && (e = malloc(sizeof(*e))) != NULL &&
        fg_receipt_of_payment(db, r.id.data, 0, e) != 0) {
        free(e); /* none issued (a payment older than receipts): the page without it */
        e = NULL;
    }
    if (rc == FG_ENOTFOUND && b.order_id != 0) {
        fg_db_end(db);
        fg_html_t p;
        fg_html_begin(&p, call, "pay-receipt", "Biên lai", "Receipt", "data-status=\"none\"");
        fg_html_printf(&p, "<h1>%s</h1><p>%s</p><p><a href=\"/pay/%s\">%s</a></p>",
                       fg_html_tr(&p, "Chưa có thanh toán", "No payment yet"),
                       fg_html_tr(&p, "Hóa đơn này chưa có thanh toán nào.", "This bill has no payment yet."), b.code,
                       fg_html_tr(&p, "Xem hóa đơn", "See the bill"));
        fg_html_end(&p, 404);
    } else if (rc != 0) {
        fg_db_end(db);
        fg_bill_load_failed(call, rc);
    } else {
        char attrs[48];
        snprintf(attrs, sizeof(attrs), "data-status=\"%s\"", receipt_status(r.status));
        fg_html_t p;
        fg_html_begin_refresh(&p, call, "pay-receipt", "Biên lai thanh toán", "Payment receipt", attrs,
                              r.status == FG_PAYMENT_PENDING ? RECEIPT_REFRESH_S : 0);
        receipt_body(&p, db, &b, &r, e);
        fg_db_end(db);
        fg_html_end(&p, 200);
    }
    free(e);
    payment_free(&r);
    fg_bill_free(&b);
}

void fg_web_receipt_by_id(fg_call_t *call, fg_db_t *db)
{
    const char *id = call->params[0];
    size_t len = call->param_lens[0];
    int receipt = fg_id_valid("rct_", id, len);
    fg_buf_t code = FG_BUF_INIT, payment = FG_BUF_INIT;
    int rc = FG_ENOTFOUND;
    if (receipt || fg_id_valid("pay_", id, len)) {
        fg_stmt_t s;
        if ((rc = fg_stmt_init(&s, db, receipt ? SQL_BY_RECEIPT : SQL_BY_PAYMENT)) == 0) {
            fg_stmt_str(&s, id, len);
            if (receipt)
                fg_stmt_str(&s, id, len);
            fg_stmt_out_text(&s, &code, NULL);
            fg_stmt_out_text(&s, &payment, NULL);
            rc = fg_stmt_one(&s);
        }
        fg_db_end(db);
    }
    if (rc == 0) {
        fg_buf_t location = FG_BUF_INIT;
        fg_buf_printf(&location, "/pay/%s/receipt?payment=%s", code.data, payment.data);
        fg_html_redirect(call, location.data);
        fg_buf_free(&location);
    } else if (rc == FG_ENOTFOUND) {
        fg_html_message(call, 404, "pay-not-found", "Không tìm thấy biên lai", "Receipt not found",
                        "Không có biên lai nào có mã này. <a href=\"/pay\">Tìm hóa đơn theo mã</a>",
                        "No receipt has this id. <a href=\"/pay\">Find a bill by its code</a>");
    } else {
        fg_bill_load_failed(call, rc);
    }
    fg_buf_free(&code);
    fg_buf_free(&payment);
}
