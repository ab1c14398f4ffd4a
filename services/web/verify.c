/*
 * verify.c - GET /verify: anyone checks an e-receipt's QR payload (the
 * compact JWS its QR code holds, ?p=…, pasted or read by a scanner app) with
 * the published receipt keys, exactly as `feegate receipt verify` does
 * offline: the signature, then what the receipt says.  It also tells what
 * the register knows now (issued, adjusted by a refund, replaced, cancelled)
 * and, when the payer types their reference (?ref=…), whether the receipt was
 * issued to it (the payload carries only a hash of it).  Reads only.
 */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include "receipts/keys.h"
#include "receipts/qr_payload.h"
#include "receipts/receipts.h"
#include "web/html.h"
#include "web/payer.h"

/* clang-format off */
static const char SQL_RECEIPT_NOW[] =
    "SELECT COALESCE(m.receipt_unit_name, m.name), COALESCE(r.status, '') FROM merchants m "
    "LEFT JOIN receipts r ON r.merchant_id = m.id AND r.serial = ? AND r.number = ? WHERE m.public_id = ?";
/* clang-format on */

static void form(fg_html_t *p, const char *payload, const char *ref)
{
    fg_html_printf(p,
                   "<form class=\"card\" method=\"get\" action=\"/verify\"><label for=\"p\">%s</label>"
                   "<p class=\"muted\" id=\"p-help\">%s</p><textarea id=\"p\" name=\"p\" rows=\"4\" "
                   "maxlength=\"2048\" spellcheck=\"false\" autocomplete=\"off\" required "
                   "aria-describedby=\"p-help\">",
                   fg_html_tr(p, "Nội dung mã QR trên biên lai", "The receipt's QR code content"),
                   fg_html_tr(p,
                              "Quét mã QR trên biên lai bằng ứng dụng đọc mã rồi dán nội dung vào đây (ba đoạn "
                              "ký tự nối bằng dấu chấm).",
                              "Scan the QR code on the receipt with a reader app and paste what it reads here "
                              "(three runs of characters joined by dots)."));
    if (payload != NULL)
        fg_html_text(p, payload);
    fg_html_printf(p, "</textarea><label for=\"ref\">%s</label><p class=\"muted\" id=\"ref-help\">%s</p>",
                   fg_html_tr(p, "Mã người nộp (không bắt buộc)", "Your payer reference (optional)"),
                   fg_html_tr(p, "Ví dụ mã học sinh hoặc mã khách hàng, để kiểm tra biên lai được cấp cho bạn.",
                              "E.g. the pupil's or customer number, to check the receipt was issued to you."));
    fg_html_puts(p, "<input id=\"ref\" name=\"ref\" type=\"text\" maxlength=\"64\" autocomplete=\"off\" "
                    "aria-describedby=\"ref-help\"");
    if (ref != NULL && ref[0] != '\0') {
        fg_html_puts(p, " value=\"");
        fg_html_text(p, ref);
        fg_html_puts(p, "\"");
    }
    fg_html_printf(p, "><button type=\"submit\" class=\"block\">%s</button></form>",
                   fg_html_tr(p, "Kiểm tra", "Check"));
}

static const char *status_text(const fg_html_t *p, const char *status)
{
    if (strcmp(status, "issued") == 0)
        return fg_html_tr(p, "Có trong sổ biên lai, còn hiệu lực.", "On the register, as issued.");
    if (strcmp(status, "adjusted") == 0)
        return fg_html_tr(p, "Có trong sổ biên lai; đã được điều chỉnh khi hoàn tiền.",
                          "On the register; adjusted by a refund since.");
    if (strcmp(status, "replaced") == 0)
        return fg_html_tr(p, "Có trong sổ biên lai; đã được thay thế.", "On the register; replaced since.");
    if (strcmp(status, "cancelled") == 0)
        return fg_html_tr(p, "Có trong sổ biên lai; đã bị hủy.", "On the register; cancelled since.");
    return fg_html_tr(p, "Không tìm thấy trong sổ biên lai của đơn vị.", "Not found on the unit's register.");
}

static void valid(fg_html_t *p, fg_db_t *db, const fg_receipt_claims_t *c, const char *ref)
{
    fg_buf_t unit = FG_BUF_INIT, status = FG_BUF_INIT;
    fg_stmt_t s;
    char number[8];
    fg_receipt_number_text(c->number, number);
    int rc = fg_stmt_init(&s, db, SQL_RECEIPT_NOW);
    if (rc == 0) {
        fg_stmt_cstr(&s, c->serial);
        fg_stmt_int(&s, c->number);
        fg_stmt_cstr(&s, c->merchant_id);
        fg_stmt_out_text(&s, &unit, NULL);
        fg_stmt_out_text(&s, &status, NULL);
        rc = fg_stmt_one(&s);
    }
    fg_html_printf(p, "<p class=\"badge ok\" role=\"status\" data-verdict=\"valid\">%s</p>",
                   fg_html_tr(p, "Chữ ký hợp lệ: biên lai do hệ thống cấp và chưa bị sửa.",
                              "The signature is valid: the receipt was issued here and has not been altered."));
    fg_html_printf(p, "<section class=\"card receipt\"><dl><dt>%s</dt><dd data-receipt-number=\"%s\">%s, ",
                   fg_html_tr(p, "Biên lai số", "Receipt no."), number, number);
    fg_html_printf(p, "%s ", fg_html_tr(p, "ký hiệu", "series"));
    fg_html_text(p, c->serial);
    fg_html_printf(p, " (%s ", fg_html_tr(p, "mẫu số", "form"));
    fg_html_text(p, c->form);
    fg_html_printf(p, ")</dd><dt>%s</dt><dd data-unit>", fg_html_tr(p, "Đơn vị thu", "Collected by"));
    fg_html_text(p, rc == 0 ? unit.data : c->merchant_id);
    fg_html_printf(p, "</dd><dt>%s</dt><dd data-amount=\"%lld\">", fg_html_tr(p, "Số tiền", "Amount"),
                   (long long)c->amount);
    fg_html_money(p, c->amount, c->currency);
    fg_html_printf(p, "</dd><dt>%s</dt><dd>", fg_html_tr(p, "Thời gian lập", "Issued"));
    fg_html_datetime(p, c->issued_at * 1000);
    fg_html_printf(p, "</dd><dt>%s</dt><dd data-register=\"%s\">%s</dd>", fg_html_tr(p, "Sổ biên lai", "Register"),
                   rc == 0 && status.len > 0 ? status.data : "unknown",
                   status_text(p, rc == 0 && status.data != NULL ? status.data : ""));
    if (ref != NULL && ref[0] != '\0') {
        char hash[FG_RECEIPT_PAYER_HASH_CAP];
        fg_receipt_payer_hash(ref, hash);
        int same = strcmp(hash, c->payer) == 0;
        fg_html_printf(p, "<dt>%s</dt><dd data-payer-match=\"%s\">%s</dd>", fg_html_tr(p, "Người nộp", "Payer"),
                       same ? "yes" : "no",
                       same
                           ? fg_html_tr(p, "Biên lai được cấp cho mã người nộp này.", "Issued to this payer reference.")
                           : fg_html_tr(p, "Biên lai không được cấp cho mã người nộp này.",
                                        "Not issued to this payer reference."));
    }
    fg_html_printf(p, "<dt>%s</dt><dd><code>", fg_html_tr(p, "Khóa ký", "Signing key"));
    fg_html_text(p, c->kid);
    fg_html_puts(p, "</code></dd></dl></section>");
    fg_buf_free(&unit);
    fg_buf_free(&status);
}

/* What was pasted may be the payload itself or a link carrying it as p=. */
static const char *payload_of(const char *s, size_t *len)
{
    const char *q = strstr(s, "p=");
    if (strchr(s, '?') != NULL && q != NULL)
        s = q + 2;
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
        s++;
    size_t n = strcspn(s, " \r\n\t&#");
    *len = n;
    return s;
}

void fg_web_verify_page(fg_call_t *call, fg_db_t *db)
{
    size_t raw_len = 0, len = 0;
    const char *raw = fg_call_query(call, "p", &raw_len), *ref = fg_call_query(call, "ref", NULL);
    fg_html_t p;
    if (raw == NULL || raw_len == 0) {
        fg_db_end(db);
        fg_html_begin(&p, call, "verify", "Kiểm tra biên lai", "Check a receipt", "data-status=\"form\"");
        fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Kiểm tra biên lai điện tử", "Check an e-receipt"));
        form(&p, NULL, NULL);
        fg_html_end(&p, 200);
        return;
    }
    const char *payload = payload_of(raw, &len);
    fg_receipt_claims_t c;
    char why[300] = "";
    int rc = len == 0 || len > FG_RECEIPT_QR_MAX
                 ? FG_EINVALID
                 : fg_receipt_qr_verify(payload, len, fg_receipt_keys(), &c, why, sizeof(why));
    fg_html_begin(&p, call, "verify", "Kiểm tra biên lai", "Check a receipt",
                  rc == 0 ? "data-status=\"valid\"" : "data-status=\"invalid\"");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Kiểm tra biên lai điện tử", "Check an e-receipt"));
    if (rc == 0) {
        valid(&p, db, &c, ref);
    } else {
        /* the verifier's reason is a technical detail, in English on either page: said so, and marked */
        fg_html_printf(&p,
                       "<p class=\"error\" role=\"alert\" data-verdict=\"invalid\">%s</p><p class=\"muted\">%s "
                       "<span lang=\"en\" data-why>",
                       fg_html_tr(&p, "Không hợp lệ: nội dung này không phải biên lai do hệ thống cấp, hoặc đã bị sửa.",
                                  "Not valid: this is not a receipt issued here, or it was altered."),
                       fg_html_tr(&p, "Chi tiết kỹ thuật (tiếng Anh):", "Technical detail:"));
        fg_html_text(&p, why[0] != '\0' ? why : "empty or too long");
        fg_html_puts(&p, "</span></p>");
    }
    fg_db_end(db);
    fg_html_printf(&p, "<h2>%s</h2>", fg_html_tr(&p, "Kiểm tra biên lai khác", "Check another receipt"));
    form(&p, rc == 0 ? NULL : raw, NULL);
    fg_html_end(&p, 200);
}
