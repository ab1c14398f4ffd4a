/*
 * qr.c - GET /pay/{code}/qr.svg: the bill's VietQR code as SVG, for the pay
 * page and for printing.  The payload is the order's EMVCo VietQR with what
 * the order still owes and its code as the transfer memo.
 */
#include "web/web.h"

#include <qrencode.h>
#include <stdio.h>
#include <string.h>
#include "adapter.h"
#include "core/text.h"
#include "orders/orders.h"
#include "vietqr/vietqr.h"

/* White border around the code, in modules (ISO/IEC 18004 asks for 4). */
#define QUIET_ZONE 4

/* clang-format off */
static const char SQL_OWED[] =
    "SELECT amount, amount_paid, currency, " FG_ORDER_STATUS_SQL("status") ", expires_at FROM orders "
    "WHERE code = ?";
/* clang-format on */

static void text_answer(fg_call_t *call, int status, const char *text)
{
    fg_buf_free(&call->response);
    fg_buf_puts(&call->response, text);
    call->status = status;
    call->content_type = "text/plain; charset=utf-8";
}

/* Appends the SVG of qr: one path of unit squares, black on white; with
 * the XML declaration when it is a file of its own. */
static void svg(fg_buf_t *b, const QRcode *qr, int standalone)
{
    int size = qr->width + 2 * QUIET_ZONE;
    if (standalone)
        fg_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fg_buf_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                  "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
                  "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                  size, size, size * 8, size * 8, size, size);
    for (int y = 0; y < qr->width; y++)
        for (int x = 0; x < qr->width; x++)
            if (qr->data[y * qr->width + x] & 1)
                fg_buf_printf(b, "M%d %dh1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE);
    fg_buf_puts(b, "\"/></svg>\n");
}

int fg_web_qr_draw(fg_buf_t *out, const char *text, int standalone)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return -1;
    svg(out, qr, standalone);
    QRcode_free(qr);
    return 0;
}

void fg_web_qr_svg(fg_call_t *call, fg_db_t *db)
{
    char code[FG_ORDER_CODE_LEN + 1];
    int64_t amount = 0, paid = 0, expires = 0;
    int expires_null = 1, rc = FG_ENOTFOUND;
    fg_buf_t currency = FG_BUF_INIT, payload = FG_BUF_INIT;
    fg_order_status_t status = FG_ORDER_OPEN;
    fg_stmt_t s;
    if (fg_order_code_normalize(call->params[0], call->param_lens[0], code, sizeof(code)) == 0 &&
        (rc = fg_stmt_init(&s, db, SQL_OWED)) == 0) {
        fg_stmt_cstr(&s, code);
        fg_stmt_out_int(&s, &amount, NULL);
        fg_stmt_out_int(&s, &paid, NULL);
        fg_stmt_out_text(&s, &currency, NULL);
        fg_stmt_out_enum(&s, &status, FG_ORDER_STATUS_COUNT);
        fg_stmt_out_int(&s, &expires, &expires_null);
        if ((rc = fg_stmt_exec(&s)) == 0) {
            rc = fg_stmt_fetch(&s);
            fg_stmt_done(&s);
            rc = rc == 1 ? 0 : rc == 0 ? FG_ENOTFOUND : rc;
        }
    }
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        text_answer(call, 404, "no bill has this code\n");
        goto Exit;
    }
    if (rc != 0) {
        text_answer(call, 503, "temporarily unavailable\n");
        goto Exit;
    }
    fg_order_status_t shown = fg_order_effective_status(status, !expires_null, expires, fg_now_ms());
    if (!fg_order_accepts_payment(shown)) {
        text_answer(call, 410, "this bill cannot be paid any more\n");
        goto Exit;
    }
    if (fg_adapter_vietqr.accepts(call->cfg, currency.data, amount - paid) != 0 ||
        fg_vietqr_payload(call->cfg->vietqr_bank_bin, call->cfg->vietqr_account_no, amount - paid, code, &payload) !=
            0) {
        text_answer(call, 404, "VietQR transfers are not offered for this bill\n");
        goto Exit;
    }
    fg_buf_free(&call->response);
    if (fg_web_qr_draw(&call->response, payload.data, 1) != 0) {
        text_answer(call, 500, "the QR code could not be drawn\n");
        goto Exit;
    }
    call->status = 200;
    call->content_type = "image/svg+xml";
Exit:
    fg_buf_free(&currency);
    fg_buf_free(&payload);
}
