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

static const char *status_vi(fg_payment_status_t status)
{
    switch (status) {
    case FG_PAYMENT_PENDING: return "Đang chờ thanh toán (pending)";
    case FG_PAYMENT_SUCCEEDED: return "Thanh toán thành công (succeeded)";
    case FG_PAYMENT_FAILED: return "Thanh toán không thành công (failed)";
    case FG_PAYMENT_EXPIRED: break;
    case FG_PAYMENT_STATUS_COUNT: break;
    }
    return fg_payment_status_name(status);
}

/* Renders the page for the payment named in the path; note (may be NULL) is
 * shown above the payment. */
static void render(fg_call_t *call, fg_db_t *db, const char *note)
{
    sandbox_payment_t p;
    fg_buf_t page = FG_BUF_INIT;
    int rc = payment_load(db, call->params[0], &p);
    call->content_type = "text/html; charset=utf-8";
    fg_buf_puts(&page, fg_web_page_head);
    fg_buf_puts(&page, "<p><strong>Cổng thử nghiệm / Sandbox gateway</strong>: no real money moves here.</p>");
    if (rc == FG_ENOTFOUND) {
        fg_buf_puts(&page, "<h1>Không tìm thấy giao dịch</h1><p>No sandbox payment has this id.</p>");
        call->status = 404;
    } else if (rc != 0) {
        fg_buf_puts(&page, "<h1>Tạm thời không khả dụng</h1><p>Please try again in a moment.</p>");
        call->status = 503;
    } else {
        char amount[48];
        const fg_currency_t *cur = fg_currency_find(p.currency.data, p.currency.len);
        fg_format_amount_vi(p.amount, cur != NULL ? cur->exponent : 0, amount, sizeof(amount));
        if (note != NULL)
            fg_buf_printf(&page, "<p class=\"status\">%s</p>", note);
        fg_buf_puts(&page, "<h1>");
        fg_html_escape(&page, p.merchant.data, p.merchant.len);
        fg_buf_printf(&page, "</h1><div class=\"amount\">%s %s</div><p><span class=\"status\">%s</span></p>", amount,
                      p.currency.data, status_vi(p.status));
        if (p.status == FG_PAYMENT_PENDING) {
            fg_buf_puts(&page, "<form method=\"post\"><button name=\"decision\" value=\"approve\">Thanh toán / "
                               "Approve</button> <button name=\"decision\" value=\"decline\">Từ chối / "
                               "Decline</button></form>");
        }
        fg_buf_printf(&page, "<p><a href=\"/pay/%s\">Xem hóa đơn / Back to the bill</a></p>", p.code.data);
        call->status = 200;
    }
    fg_buf_puts(&page, "</body></html>");
    fg_buf_free(&call->response);
    call->response = page;
    if (rc == 0)
        payment_free(&p);
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
        fg_call_error(call, 400, "invalid_request", "decision_invalid", "decision must be approve or decline",
                      "decision");
        return;
    }
    const char *secret = call->cfg->sandbox_secret;
    if (secret == NULL || secret[0] == '\0') {
        fg_call_error(call, 503, "unavailable", "sandbox_disabled", "sandbox.secret is not configured", NULL);
        return;
    }
    sandbox_payment_t p;
    int rc = payment_load(db, call->params[0], &p);
    if (rc != 0 || p.status != FG_PAYMENT_PENDING) {
        if (rc == 0)
            payment_free(&p);
        render(call, db, rc == 0 ? "Giao dịch đã kết thúc / This payment is already settled" : NULL);
        return;
    }
    /* The notification the gateway sends: a fresh transaction id per choice. */
    uint8_t rnd[10];
    char txn[2 * sizeof(rnd) + 1];
    if (fg_random_bytes(rnd, sizeof(rnd)) != 0) {
        payment_free(&p);
        fg_call_error(call, 500, "internal", "internal_error", "no randomness", NULL);
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
    render(call, db,
           !ok ? "Không ghi nhận được / The gateway's notification was not accepted; try again."
           : strcmp(decision, "approve") == 0 ? "Đã thanh toán / Approved"
                                              : "Đã từ chối / Declined");
}
