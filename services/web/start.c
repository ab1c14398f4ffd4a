/*
 * start.c - POST /pay/{code}/start: the pay button of the bill page.
 *
 * A public route (no merchant key: the code is the capability) that starts a
 * payment through the same domain operation as POST /v1/orders/{id}/payments
 * (fg_payment_create), with reuse_pending: a reload or a double tap is sent
 * to the order's pending payment of that method, never a second one.  Starts
 * are counted per client address and per order in fixed windows kept in
 * MariaDB (payer_rate_windows), so the limits hold across instances; beyond
 * them the answer is 429 with Retry-After.
 */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include "core/text.h"
#include "orders/rules.h"
#include "payments/payments.h"
#include "web/payer.h"

#define START_METHOD_MAX 16
/* Old windows deleted by the request that opens a window. */
#define RATE_CLEAN_BATCH 500

static const char SQL_HIT[] = "INSERT INTO payer_rate_windows (scope, subject, window_start, hits) "
                              "VALUES (?, ?, ?, 1) ON DUPLICATE KEY UPDATE hits = hits + 1";
static const char SQL_HITS[] =
    "SELECT hits FROM payer_rate_windows WHERE scope = ? AND subject = ? AND window_start = ?";
static const char SQL_CLEAN[] = "DELETE FROM payer_rate_windows WHERE window_start < ? LIMIT 500";

typedef struct {
    const char *address, *code; /* code NULL: not a code, the address alone is counted */
    int64_t window_start, limit_address, limit_order;
    int over; /* a limit is exceeded */
} rate_t;

/* One hit of subject in scope; *hits receives the window's count. */
static int rate_hit(fg_db_t *db, const char *scope, const char *subject, int64_t window_start, int64_t *hits)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_HIT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, scope);
    fg_stmt_cstr(&s, subject);
    fg_stmt_int(&s, window_start);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (fg_stmt_affected(&s) == 1 && strcmp(scope, "address") == 0) {
        /* a new window of an address: windows that have ended go */
        _Static_assert(RATE_CLEAN_BATCH == 500, "SQL_CLEAN's LIMIT");
        if ((rc = fg_stmt_init(&s, db, SQL_CLEAN)) != 0)
            return rc;
        fg_stmt_int(&s, window_start);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
    }
    if ((rc = fg_stmt_init(&s, db, SQL_HITS)) != 0)
        return rc;
    fg_stmt_cstr(&s, scope);
    fg_stmt_cstr(&s, subject);
    fg_stmt_int(&s, window_start);
    fg_stmt_out_int(&s, hits, NULL);
    return fg_stmt_one(&s);
}

static int rate_tx(fg_db_t *db, void *arg)
{
    rate_t *r = arg;
    int64_t hits = 0;
    r->over = 0;
    int rc = rate_hit(db, "address", r->address, r->window_start, &hits);
    if (rc != 0)
        return rc;
    r->over = hits > r->limit_address;
    if (r->code == NULL)
        return 0;
    if ((rc = rate_hit(db, "order", r->code, r->window_start, &hits)) != 0)
        return rc;
    r->over |= hits > r->limit_order;
    return 0;
}

/* ---- the answers ------------------------------------------------------------------ */

/* A short page with a way back to the bill. */
static void answer(fg_call_t *call, int status, const char *code, const char *vi, const char *en)
{
    fg_html_t p;
    fg_html_begin(&p, call, "pay-start", "Thanh toán hóa đơn", "Paying a bill", NULL);
    fg_html_printf(&p, "<h1>%s</h1><p class=\"%s\" role=\"alert\">%s</p>",
                   fg_html_tr(&p, "Chưa bắt đầu được thanh toán", "The payment did not start"),
                   status == 429 || status == 409 ? "notice" : "error", fg_html_tr(&p, vi, en));
    if (code != NULL)
        fg_html_printf(&p, "<p><a class=\"button secondary\" href=\"/pay/%s\">%s</a></p>", code,
                       fg_html_tr(&p, "Quay lại hóa đơn", "Back to the bill"));
    fg_html_end(&p, status);
}

static void answer_limited(fg_call_t *call, const rate_t *r, int64_t now)
{
    char seconds[24];
    int64_t window_ms = call->cfg->payer_start_limit_window_s * 1000;
    int64_t left = (r->window_start + window_ms - now + 999) / 1000;
    snprintf(seconds, sizeof(seconds), "%lld", (long long)(left < 1 ? 1 : left));
    fg_call_add_header(call, "retry-after", seconds);
    fg_html_t p;
    fg_html_begin(&p, call, "pay-limited", "Quá nhiều lần thử", "Too many attempts", NULL);
    fg_html_printf(&p, "<h1>%s</h1><p class=\"notice\" role=\"alert\" data-retry-after=\"%s\">",
                   fg_html_tr(&p, "Quá nhiều lần thử", "Too many attempts"), seconds);
    if (p.lang == FG_LANG_EN)
        fg_html_printf(&p,
                       "Too many payments were started from here or for this bill. Please try again in %lld "
                       "minute(s).",
                       (long long)((left + 59) / 60));
    else
        fg_html_printf(&p,
                       "Đã có quá nhiều lần bắt đầu thanh toán từ thiết bị này hoặc cho hóa đơn này. Vui lòng "
                       "thử lại sau %lld phút.",
                       (long long)((left + 59) / 60));
    fg_html_puts(&p, "</p>");
    if (r->code != NULL)
        fg_html_printf(&p, "<p><a class=\"button secondary\" href=\"/pay/%s\">%s</a></p>", r->code,
                       fg_html_tr(&p, "Quay lại hóa đơn", "Back to the bill"));
    fg_html_end(&p, 429);
}

/* ---- the payment ---------------------------------------------------------------- */

typedef struct {
    fg_merchant_ref_t merchant;
    const fg_config_t *cfg;
    const char *order_id;
    fg_payment_new_t pn;
} start_t;

static int create_tx(fg_db_t *db, void *arg)
{
    start_t *st = arg;
    return fg_payment_create(db, st->cfg, &st->merchant, st->order_id, strlen(st->order_id), &st->pn);
}

static int record_tx(fg_db_t *db, void *arg)
{
    start_t *st = arg;
    return fg_payment_record_start(db, &st->merchant, &st->pn);
}

/* fg_payment_create and, for a provider reached over HTTP, its call and
 * record.  0 with st->pn.started.redirect_url, or an FG_E* code. */
static int start_payment(fg_db_t *db, start_t *st)
{
    int rc = fg_db_tx(db, create_tx, st);
    if (rc != 0 || st->pn.reused || st->pn.adapter->start_request == NULL)
        return rc;
    fg_payment_call_provider(st->cfg, &st->pn);
    if ((rc = fg_db_tx(db, record_tx, st)) != 0)
        return rc;
    return st->pn.provider_rc;
}

static void answer_failure(fg_call_t *call, const char *code, int rc)
{
    if (rc == FG_ESTATE) {
        char location[40];
        snprintf(location, sizeof(location), "/pay/%s", code);
        fg_html_redirect(call, location); /* the bill says why */
    } else if (rc == FG_ECONFLICT) {
        fg_call_add_header(call, "retry-after", "30");
        answer(call, 409, code,
               "Một thanh toán bằng phương thức này đang chờ ngân hàng xác nhận. Vui lòng đợi vài phút rồi xem lại "
               "hóa đơn, hoặc chọn phương thức khác.",
               "A payment by this method is waiting for the bank's confirmation. Please check the bill again in a "
               "few minutes, or choose another method.");
    } else if (rc == FG_ERANGE || rc == FG_EUNSUPPORTED || rc == FG_EEXCEEDS) {
        answer(call, 422, code, "Phương thức này không nhận được số tiền của hóa đơn. Vui lòng chọn phương thức khác.",
               "This method cannot take this bill's amount. Please choose another method.");
    } else if (rc == FG_EINVALID || rc == FG_EUNAVAILABLE) {
        answer(call, 502, code,
               "Cổng thanh toán không phản hồi. Bạn chưa bị trừ tiền. Vui lòng thử lại sau ít phút hoặc chọn "
               "phương thức khác.",
               "The payment gateway did not answer. No money was taken. Please try again in a few minutes or "
               "choose another method.");
    } else {
        answer(call, 503, code, "Hệ thống đang bận. Vui lòng thử lại sau ít phút.",
               "Please try again in a few minutes.");
    }
}

/* On to the provider's page.  A path of ours is a redirect; another site is a
 * page that goes there by itself, with a link: the bill's CSP (form-action
 * 'self') would stop the browser from following a redirect there. */
static void go(fg_call_t *call, const fg_adapter_t *adapter, const char *url)
{
    if (url[0] == '/') {
        fg_html_redirect(call, url);
        return;
    }
    fg_html_t p;
    fg_html_begin_go(&p, call, "pay-go", "Chuyển đến trang thanh toán", "On to the payment page", url);
    fg_html_printf(&p, "<h1>%s</h1><p>",
                   fg_html_tr(&p, "Đang chuyển đến trang thanh toán…", "Taking you to the payment page…"));
    fg_html_text(&p, adapter != NULL ? fg_payer_method_label(&p, adapter->name) : "");
    fg_html_puts(&p, "</p><p><a class=\"button block\" href=\"");
    fg_html_text(&p, url);
    fg_html_printf(&p, "\">%s</a></p>", fg_html_tr(&p, "Tiếp tục", "Continue"));
    fg_html_end(&p, 200);
}

void fg_web_pay_start(fg_call_t *call, fg_db_t *db)
{
    char code[FG_ORDER_CODE_LEN + 1];
    /* the code as the bill is found by (a percent-encoded one counts against the same bill) */
    int code_ok = fg_bill_code(call->params[0], call->param_lens[0], code, sizeof(code)) == 0;
    int64_t now = fg_now_ms(), window_ms = call->cfg->payer_start_limit_window_s * 1000;
    rate_t r = {call->peer[0] != '\0' ? call->peer : "unknown",
                code_ok ? code : NULL,
                now - now % window_ms,
                call->cfg->payer_start_limit_per_address,
                call->cfg->payer_start_limit_per_order,
                0};
    int rc = fg_db_tx(db, rate_tx, &r);
    if (rc != 0) {
        answer_failure(call, code_ok ? code : NULL, rc);
        return;
    }
    if (r.over) {
        answer_limited(call, &r, now);
        return;
    }
    fg_buf_t method = FG_BUF_INIT;
    fg_bill_t b;
    fg_bill_init(&b);
    if (!fg_form_field(call->body, call->body_len, "method", &method) || method.len > START_METHOD_MAX ||
        (method.data != NULL && strlen(method.data) != method.len) ||
        !fg_payer_method_offered(call->cfg, method.data != NULL ? method.data : "")) {
        answer(call, 400, code_ok ? code : NULL, "Vui lòng chọn một phương thức thanh toán trên hóa đơn.",
               "Please choose a payment method on the bill.");
        goto Exit;
    }
    if ((rc = fg_bill_load(db, call->params[0], call->param_lens[0], &b)) != 0) {
        fg_db_end(db);
        fg_bill_load_failed(call, rc);
        goto Exit;
    }
    fg_db_end(db);
    start_t st = {{(uint64_t)b.merchant_id, b.merchant_public_id.data}, call->cfg, b.order_public_id.data, {0}};
    st.pn.adapter = fg_adapter_find(method.data);
    st.pn.reuse_pending = 1;
    st.pn.payer_ip = call->peer[0] != '\0' ? call->peer : NULL;
    rc = start_payment(db, &st);
    if (rc == 0 && st.pn.started.redirect_url.len > 0)
        go(call, st.pn.adapter, st.pn.started.redirect_url.data);
    else
        answer_failure(call, b.code, rc == 0 ? FG_EUNAVAILABLE : rc);
    fg_payment_new_free(&st.pn);
Exit:
    fg_bill_free(&b);
    fg_buf_free(&method);
}
