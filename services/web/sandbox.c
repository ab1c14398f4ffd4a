/*
 * sandbox.c - the sandbox gateway's payer page (/sandbox/pay/{payment_id}).
 *
 * The sandbox adapter's redirect_url lands here.  The page shows what the
 * payer is about to pay and offers Approve / Decline.  A choice is not a
 * shortcut into the database: it becomes the signed notification the sandbox
 * gateway would send (X-Signature over the JSON body with sandbox.secret) and
 * goes through the same inbound pipeline as POST /v1/webhooks/sandbox, so the
 * demo exercises verification, the inbox, apply-once and the ledger.
 */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include "core/crypto.h"
#include "core/money.h"
#include "core/text.h"
#include "payments/payments.h"
#include "web/payer.h"

/* clang-format off */
static const char SQL_PAYMENT[] =
    "SELECT p.amount, p.currency, " FG_PAYMENT_STATUS_SQL("p.status") ", p.adapter, o.code, m.name "
    "FROM payments p JOIN orders o ON o.id = p.order_id JOIN merchants m ON m.id = p.merchant_id "
    "WHERE p.public_id = ?";
/* clang-format on */

typedef struct {
    int64_t amount;
    fg_payment_status_t status;
    fg_buf_t currency, adapter, code, merchant;
} sandbox_payment_t;

static void payment_free(sandbox_payment_t *p)
{
    fg_buf_free(&p->currency), fg_buf_free(&p->adapter);
    fg_buf_free(&p->code), fg_buf_free(&p->merchant);
}

/* 0, FG_ENOTFOUND (also for a payment of another adapter) or a db error. */
static int payment_load(fg_db_t *db, const char *public_id, sandbox_payment_t *p)
{
    fg_stmt_t s;
    memset(p, 0, sizeof(*p));
    int rc = fg_stmt_init(&s, db, SQL_PAYMENT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_out_int(&s, &p->amount, NULL);
    fg_stmt_out_text(&s, &p->currency, NULL);
    fg_stmt_out_enum(&s, &p->status, FG_PAYMENT_STATUS_COUNT);
    fg_stmt_out_text(&s, &p->adapter, NULL);
    fg_stmt_out_text(&s, &p->code, NULL);
    fg_stmt_out_text(&s, &p->merchant, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0) {
        payment_free(p);
        return rc;
    }
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    fg_db_end(db);
    if (rc == 1 && strcmp(p->adapter.data, "sandbox") == 0)
        return 0;
    payment_free(p);
    return rc < 0 ? rc : FG_ENOTFOUND;
}

static const char *status_text(const fg_html_t *p, fg_payment_status_t status)
{
    switch (status) {
    case FG_PAYMENT_PENDING: return fg_html_tr(p, "Đang chờ thanh toán", "Waiting for payment");
    case FG_PAYMENT_SUCCEEDED: return fg_html_tr(p, "Thanh toán thành công", "Payment succeeded");
    case FG_PAYMENT_FAILED: return fg_html_tr(p, "Thanh toán không thành công", "Payment failed");
    case FG_PAYMENT_EXPIRED: break;
    case FG_PAYMENT_STATUS_COUNT: break;
    }
    return fg_html_tr(p, "Giao dịch đã hết hạn", "Payment expired");
}

/* A note shown above the payment after a choice: both languages, trusted. */
typedef struct {
    const char *vi, *en;
} note_t;

/* Renders the page for the payment named in the path; note (may be NULL) is
 * shown above the payment. */
static void render(fg_call_t *call, fg_db_t *db, const note_t *note)
{
    sandbox_payment_t sp;
    int rc = payment_load(db, call->params[0], &sp);
    if (rc == FG_ENOTFOUND) {
        fg_html_message(call, 404, "sandbox-pay", "Không tìm thấy giao dịch", "Payment not found",
                        "Không có giao dịch thử nghiệm nào có mã này.", "No sandbox payment has this id.");
        return;
    }
    if (rc != 0) {
        fg_html_message(call, 503, "sandbox-pay", "Tạm thời không khả dụng", "Temporarily unavailable",
                        "Vui lòng thử lại sau ít phút.", "Please try again in a few minutes.");
        return;
    }
    char attrs[48];
    snprintf(attrs, sizeof(attrs), "data-status=\"%s\"", fg_payment_status_name(sp.status));
    fg_html_t p;
    fg_html_begin(&p, call, "sandbox-pay", "Cổng thử nghiệm", "Sandbox gateway", attrs);
    fg_html_printf(&p, "<p class=\"notice\"><strong>%s</strong>: %s</p>",
                   fg_html_tr(&p, "Cổng thử nghiệm", "Sandbox gateway"),
                   fg_html_tr(&p, "không có tiền thật nào được chuyển ở đây.", "no real money moves here."));
    if (note != NULL)
        fg_html_printf(&p, "<p class=\"badge\" role=\"status\">%s</p>", fg_html_tr(&p, note->vi, note->en));
    fg_html_puts(&p, "<h1>");
    fg_html_textn(&p, sp.merchant.data, sp.merchant.len);
    fg_html_printf(&p, "</h1><section class=\"card\"><p class=\"amount\">");
    fg_html_money(&p, sp.amount, sp.currency.data);
    fg_html_printf(&p, "</p><p><span class=\"badge\">%s</span></p>", status_text(&p, sp.status));
    if (sp.status == FG_PAYMENT_PENDING)
        fg_html_printf(&p,
                       "<form method=\"post\"><button class=\"block\" name=\"decision\" value=\"approve\">%s</button>"
                       "<button class=\"block secondary\" name=\"decision\" value=\"decline\">%s</button></form>",
                       fg_html_tr(&p, "Thanh toán", "Approve"), fg_html_tr(&p, "Từ chối", "Decline"));
    fg_html_printf(&p, "</section><p><a href=\"/pay/%s/receipt?payment=", sp.code.data);
    fg_html_text(&p, call->params[0]);
    fg_html_printf(&p, "\">%s</a> · <a href=\"/pay/%s\">%s</a></p>", fg_html_tr(&p, "Xem biên lai", "See the receipt"),
                   sp.code.data, fg_html_tr(&p, "Xem hóa đơn", "Back to the bill"));
    fg_html_end(&p, 200);
    payment_free(&sp);
}

void fg_web_sandbox_page(fg_call_t *call, fg_db_t *db) { render(call, db, NULL); }

/* "approve" or "decline" from the form body decision=…; NULL otherwise. */
static const char *form_decision(const fg_call_t *call)
{
    static const char *const CHOICES[] = {"approve", "decline"};
    const char *b = call->body != NULL ? call->body : "";
    size_t n = call->body_len;
    for (size_t i = 0; i < sizeof(CHOICES) / sizeof(CHOICES[0]); i++) {
        char want[32];
        int len = snprintf(want, sizeof(want), "decision=%s", CHOICES[i]);
        for (size_t at = 0; at + (size_t)len <= n; at++) {
            if ((at == 0 || b[at - 1] == '&') && memcmp(b + at, want, (size_t)len) == 0 &&
                (at + (size_t)len == n || b[at + (size_t)len] == '&'))
                return CHOICES[i];
        }
    }
    return NULL;
}

typedef struct {
    const fg_buf_t *headers;
    fg_buf_t scratch;
} header_ctx_t;

static const char *header_of(void *ctx, const char *name)
{
    header_ctx_t *hc = ctx;
    return fg_headers_get(hc->headers->data, hc->headers->len, name, &hc->scratch);
}

void fg_web_sandbox_decide(fg_call_t *call, fg_db_t *db)
{
    const char *decision = form_decision(call);
    if (decision == NULL) {
        fg_html_message(call, 400, "sandbox-pay", "Lựa chọn không hợp lệ", "Not a choice",
                        "Hãy chọn Thanh toán hoặc Từ chối.", "Choose Approve or Decline.");
        return;
    }
    const char *secret = call->cfg->sandbox_secret;
    if (secret == NULL || secret[0] == '\0') {
        fg_html_message(call, 503, "sandbox-pay", "Cổng thử nghiệm đang tắt", "The sandbox is off",
                        "Máy chủ này chưa cấu hình sandbox.secret.", "This server has no sandbox.secret.");
        return;
    }
    sandbox_payment_t p;
    int rc = payment_load(db, call->params[0], &p);
    if (rc != 0 || p.status != FG_PAYMENT_PENDING) {
        if (rc == 0)
            payment_free(&p);
        static const note_t settled = {"Giao dịch đã kết thúc", "This payment is already settled"};
        render(call, db, rc == 0 ? &settled : NULL);
        return;
    }
    /* The notification the gateway sends: a fresh transaction id per choice. */
    uint8_t rnd[10];
    char txn[2 * sizeof(rnd) + 1];
    if (fg_random_bytes(rnd, sizeof(rnd)) != 0) {
        payment_free(&p);
        fg_html_message(call, 500, "sandbox-pay", "Lỗi máy chủ", "Server error", "Vui lòng thử lại.",
                        "Please try again.");
        return;
    }
    fg_hex_encode(rnd, sizeof(rnd), txn);
    fg_buf_t body = FG_BUF_INIT, msg = FG_BUF_INIT, headers = FG_BUF_INIT;
    fg_buf_printf(&body, "{\"payment_id\":\"%s\",\"provider_txn_id\":\"sbx_%s\",\"status\":\"%s\",\"amount\":%lld}",
                  call->params[0], txn, strcmp(decision, "approve") == 0 ? "succeeded" : "failed", (long long)p.amount);
    long long t = (long long)(fg_now_ms() / 1000);
    fg_buf_printf(&msg, "%lld.", t);
    fg_buf_append(&msg, body.data, body.len);
    uint8_t mac[FG_SHA256_LEN];
    char hex[2 * FG_SHA256_LEN + 1];
    fg_hmac_sha256(secret, strlen(secret), msg.data, msg.len, mac);
    fg_hex_encode(mac, sizeof(mac), hex);
    fg_buf_printf(&headers, "content-type: application/json\nx-signature: t=%lld,v1=%s\n", t, hex);

    /* The notification as POST /v1/webhooks/sandbox receives it. */
    header_ctx_t hc = {&headers, FG_BUF_INIT};
    fg_inbound_t in = {"POST", NULL, 0, body.data, body.len, header_of, &hc, headers.data, headers.len};
    fg_ack_t outcome = FG_ACK_ERROR;
    int ok = fg_webhook_receive(db, call->cfg, &fg_adapter_sandbox, &in, &outcome) == 0 &&
             (outcome == FG_ACK_APPLIED || outcome == FG_ACK_DUPLICATE);
    fg_buf_free(&hc.scratch);
    fg_buf_free(&body), fg_buf_free(&msg), fg_buf_free(&headers);
    payment_free(&p);
    static const note_t refused = {"Không ghi nhận được; hãy thử lại.",
                                   "The gateway's notification was not accepted; try again."};
    static const note_t approved = {"Đã thanh toán", "Approved"}, declined = {"Đã từ chối", "Declined"};
    render(call, db, !ok ? &refused : strcmp(decision, "approve") == 0 ? &approved : &declined);
}
