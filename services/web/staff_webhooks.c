/*
 * staff_webhooks.c - GET /staff/webhooks: a merchant's webhook endpoints
 * (url, events, enabled or disabled and why) and each one's recent
 * deliveries (status, attempts, last error, time), read through the same
 * functions as GET /v1/webhook-endpoints and …/deliveries; POST forms
 * (finance, admin) that redeliver an event as POST /v1/events/{id}/redeliver
 * does and enable or disable an endpoint as POST
 * /v1/webhook-endpoints/{id}/enable|disable does, each with an audit row in
 * the same transaction.  Every role reads; an accountant its own merchant.
 */
#include "web/staff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/text.h"
#include "merchants/merchants.h"
#include "webhooks/webhooks.h"

/* Merchants in the chooser. */
#define MERCHANTS_SHOWN 1000
/* Endpoints of a merchant (a handful), recent deliveries of each. */
#define ENDPOINTS_SHOWN 100
#define DELIVERIES_SHOWN 20
/* chosen_merchant: no merchant asked for (an FG_E* code is negative) */
#define NONE_CHOSEN 1

/* The merchant a call is for: ?merchant= (or the form's merchant), within
 * the session's scope.  0; FG_ENOTFOUND (answered 404 by the caller);
 * NONE_CHOSEN; or a database code. */
static int chosen_merchant(fg_db_t *db, const fg_staff_ctx_t *s, const char *wanted, fg_merchant_row_t *m)
{
    const char *own = s->session.staff.merchant_public_id;
    if (fg_staff_scope(s) != 0) {
        if (wanted != NULL && wanted[0] != '\0' && strcmp(wanted, own) != 0)
            return FG_ENOTFOUND;
        wanted = own;
    }
    if (wanted == NULL || wanted[0] == '\0')
        return NONE_CHOSEN;
    return fg_merchant_find(db, wanted, m);
}

/* A string member of a JSON object, or "". */
static const char *member_str(yajl_val obj, const char *name)
{
    yajl_val v = fg_json_member(obj, name);
    return v != NULL && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
}

/* An RFC 3339 time of the API's JSON, shown as the staff pages show times. */
static void json_time(fg_html_t *p, yajl_val obj, const char *name)
{
    const char *t = member_str(obj, name);
    int64_t ms;
    if (t[0] != '\0' && fg_time_parse_rfc3339(t, strlen(t), &ms) == 0)
        fg_staff_time(p, ms);
}

/* The "data" array of a list object the API would answer, or NULL. */
static yajl_val list_data(const fg_buf_t *b, yajl_val *root)
{
    char error[128];
    *root = b->len > 0 ? yajl_tree_parse(b->data, error, sizeof(error)) : NULL;
    yajl_val data = *root != NULL ? fg_json_member(*root, "data") : NULL;
    return data != NULL && YAJL_IS_ARRAY(data) ? data : NULL;
}

static void chooser(fg_html_t *p, const fg_staff_ctx_t *s, fg_db_t *db, const char *chosen, int *rc)
{
    fg_merchant_row_t *rows;
    int count = 0;
    if (fg_staff_scope(s) != 0)
        return;
    if ((rows = calloc(MERCHANTS_SHOWN, sizeof(*rows))) == NULL) {
        *rc = FG_ENOMEM;
        return;
    }
    if ((*rc = fg_merchant_list(db, rows, MERCHANTS_SHOWN, &count)) == 0) {
        fg_html_printf(p,
                       "<form method=\"get\" action=\"/staff/webhooks\" class=\"card inline\" "
                       "data-form=\"merchant-choose\"><label for=\"merchant\">%s</label><select id=\"merchant\" "
                       "name=\"merchant\">",
                       fg_html_tr(p, "Đơn vị", "Merchant"));
        for (int i = 0; i < count; i++) {
            fg_html_puts(p, "<option value=\"");
            fg_html_text(p, rows[i].public_id);
            fg_html_printf(p, "\"%s>", chosen != NULL && strcmp(chosen, rows[i].public_id) == 0 ? " selected" : "");
            fg_html_text(p, rows[i].name);
            fg_html_puts(p, "</option>");
        }
        fg_html_printf(p, "</select><button type=\"submit\">%s</button></form>", fg_html_tr(p, "Xem", "Show"));
    }
    free(rows);
}

/* The hidden fields every form of the page carries. */
static void form_fields(fg_html_t *p, const fg_staff_ctx_t *s, const char *merchant)
{
    fg_staff_csrf_input(p, s);
    fg_html_puts(p, "<input type=\"hidden\" name=\"merchant\" value=\"");
    fg_html_text(p, merchant);
    fg_html_puts(p, "\">");
}

static void deliveries(fg_html_t *p, const fg_staff_ctx_t *s, const char *merchant, const char *endpoint, yajl_val data)
{
    int write = fg_staff_may(s, FG_STAFF_WRITE);
    fg_html_printf(p,
                   "<div class=\"table-wrap\"><table class=\"data\" data-table=\"deliveries\"><thead><tr>"
                   "<th>%s</th><th>%s</th><th>%s</th><th class=\"num\">%s</th><th>%s</th><th>%s</th>%s</tr>"
                   "</thead><tbody>",
                   fg_html_tr(p, "Tạo lúc", "Created"), fg_html_tr(p, "Sự kiện", "Event"),
                   fg_html_tr(p, "Trạng thái", "Status"), fg_html_tr(p, "Lần gửi", "Attempts"),
                   fg_html_tr(p, "Lần gửi cuối", "Last attempt"), fg_html_tr(p, "Lỗi gần nhất", "Last error"),
                   write ? fg_html_tr(p, "<th>Thao tác</th>", "<th>Actions</th>") : "");
    size_t n = data != NULL ? data->u.array.len : 0;
    for (size_t i = 0; i < n; i++) {
        yajl_val d = data->u.array.values[i];
        const char *status = member_str(d, "status");
        yajl_val attempts = fg_json_member(d, "attempts");
        yajl_val code = fg_json_member(d, "last_response_code");
        fg_html_puts(p, "<tr data-delivery=\"");
        fg_html_text(p, member_str(d, "id"));
        fg_html_puts(p, "\" data-event=\"");
        fg_html_text(p, member_str(d, "event_id"));
        fg_html_puts(p, "\" data-status=\"");
        fg_html_text(p, status);
        fg_html_puts(p, "\"><td>");
        json_time(p, d, "created_at");
        fg_html_puts(p, "</td><td><code>");
        fg_html_text(p, member_str(d, "event_id"));
        fg_html_puts(p, "</code><br>");
        fg_html_text(p, member_str(d, "event_type"));
        fg_html_printf(p, "</td><td><span class=\"badge%s\">",
                       strcmp(status, "delivered") == 0 ? " ok"
                       : strcmp(status, "failed") == 0  ? " bad"
                                                        : " warn");
        fg_html_text(p, status);
        fg_html_printf(p, "</span></td><td class=\"num\">%lld</td><td>",
                       attempts != NULL && YAJL_IS_INTEGER(attempts) ? (long long)YAJL_GET_INTEGER(attempts) : 0LL);
        json_time(p, d, "last_attempt_at");
        if (code != NULL && YAJL_IS_INTEGER(code))
            fg_html_printf(p, " · HTTP %lld", (long long)YAJL_GET_INTEGER(code));
        fg_html_puts(p, "</td><td>");
        fg_html_text(p, member_str(d, "last_error"));
        fg_html_puts(p, "</td>");
        if (write) {
            fg_html_puts(p, "<td><form method=\"post\" data-form=\"redeliver\" class=\"inline\" "
                            "action=\"/staff/webhooks/events/");
            fg_html_text(p, member_str(d, "event_id"));
            fg_html_puts(p, "/redeliver\">");
            form_fields(p, s, merchant);
            fg_html_puts(p, "<input type=\"hidden\" name=\"endpoint\" value=\"");
            fg_html_text(p, endpoint);
            fg_html_printf(p, "\"><button type=\"submit\" class=\"secondary\">%s</button></form></td>",
                           fg_html_tr(p, "Gửi lại", "Redeliver"));
        }
        fg_html_puts(p, "</tr>");
    }
    if (n == 0)
        fg_html_printf(p, "<tr><td colspan=\"%d\" class=\"muted\">%s</td></tr>", write ? 7 : 6,
                       fg_html_tr(p, "Chưa gửi lần nào.", "No delivery yet."));
    fg_html_puts(p, "</tbody></table></div>");
}

static const char *disabled_why(const fg_html_t *p, const char *reason)
{
    if (strcmp(reason, "failing") == 0)
        return fg_html_tr(p, "tự tắt: gửi thất bại suốt 3 ngày", "turned off: deliveries failed for 3 days");
    if (strcmp(reason, "merchant") == 0)
        return fg_html_tr(p, "đã tắt bằng tay", "turned off by hand");
    return "";
}

/* One endpoint (an item of the API's list) and its deliveries. */
static int endpoint_section(fg_html_t *p, const fg_staff_ctx_t *s, fg_db_t *db, const fg_merchant_ref_t *ref,
                            yajl_val e)
{
    const char *id = member_str(e, "id"), *status = member_str(e, "status");
    int enabled = strcmp(status, "enabled") == 0;
    fg_html_puts(p, "<section class=\"card\" data-endpoint=\"");
    fg_html_text(p, id);
    fg_html_printf(p, "\" data-endpoint-status=\"%s\" id=\"", enabled ? "enabled" : "disabled");
    fg_html_text(p, id);
    fg_html_puts(p, "\"><h2 data-url>");
    fg_html_text(p, member_str(e, "url"));
    fg_html_printf(p, "</h2><dl><dt>%s</dt><dd><code>", fg_html_tr(p, "Mã", "Id"));
    fg_html_text(p, id);
    fg_html_printf(p, "</code></dd><dt>%s</dt><dd data-events>", fg_html_tr(p, "Sự kiện", "Events"));
    yajl_val events = fg_json_member(e, "events");
    for (size_t i = 0; events != NULL && YAJL_IS_ARRAY(events) && i < events->u.array.len; i++) {
        yajl_val t = events->u.array.values[i];
        if (i > 0)
            fg_html_puts(p, ", ");
        fg_html_text(p, YAJL_IS_STRING(t) ? YAJL_GET_STRING(t) : "");
    }
    fg_html_printf(p, "</dd><dt>%s</dt><dd><span class=\"badge %s\">%s</span>", fg_html_tr(p, "Trạng thái", "Status"),
                   enabled ? "ok" : "bad",
                   enabled ? fg_html_tr(p, "Đang bật", "Enabled") : fg_html_tr(p, "Đã tắt", "Disabled"));
    if (!enabled) {
        const char *reason = member_str(e, "disabled_reason");
        fg_html_puts(p, " <span data-disabled-reason=\"");
        fg_html_text(p, reason);
        fg_html_puts(p, "\">");
        fg_html_text(p, disabled_why(p, reason));
        fg_html_puts(p, "</span>");
    }
    const char *description = member_str(e, "description");
    if (description[0] != '\0') {
        fg_html_printf(p, "</dd><dt>%s</dt><dd>", fg_html_tr(p, "Mô tả", "Description"));
        fg_html_text(p, description);
    }
    fg_html_puts(p, "</dd></dl>");
    if (fg_staff_may(s, FG_STAFF_WRITE)) {
        fg_html_puts(p, "<form method=\"post\" data-form=\"endpoint-status\" class=\"inline\" "
                        "action=\"/staff/webhooks/endpoints/");
        fg_html_text(p, id);
        fg_html_puts(p, "\">");
        form_fields(p, s, ref->public_id);
        fg_html_printf(p,
                       "<input type=\"hidden\" name=\"action\" value=\"%s\"><button type=\"submit\"%s>%s</button>"
                       "</form>",
                       enabled ? "disable" : "enable", enabled ? " class=\"secondary\"" : "",
                       enabled ? fg_html_tr(p, "Tắt", "Disable") : fg_html_tr(p, "Bật lại", "Enable"));
    }
    fg_html_printf(p, "<h3>%s</h3>", fg_html_tr(p, "Lần gửi gần đây", "Recent deliveries"));
    fg_page_t page = {DELIVERIES_SHOWN, 0};
    fg_buf_t b = FG_BUF_INIT;
    yajl_val root = NULL;
    int rc = fg_delivery_list(db, ref, id, strlen(id), NULL, &page, &b);
    if (rc == 0)
        deliveries(p, s, ref->public_id, id, list_data(&b, &root));
    if (root != NULL)
        yajl_tree_free(root);
    fg_buf_free(&b);
    fg_html_puts(p, "</section>");
    return rc;
}

void fg_staff_webhooks(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_merchant_row_t m;
    fg_buf_t list = FG_BUF_INIT;
    yajl_val root = NULL;
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    const char *wanted = fg_call_query(call, "merchant", NULL);
    int rc = chosen_merchant(db, &s, wanted, &m);
    if (rc == FG_ENOTFOUND) {
        fg_staff_not_found(call);
        return;
    }
    if (rc != 0 && rc != NONE_CHOSEN) {
        fg_staff_unavailable(call, db, rc);
        return;
    }
    int chosen = rc == 0;
    fg_html_t p;
    fg_staff_begin(&p, &s, "staff-webhooks", "Webhook", "Webhooks");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Webhook của đơn vị", "Merchants' webhooks"));
    rc = 0;
    chooser(&p, &s, db, chosen ? m.public_id : NULL, &rc);
    if (rc == 0 && chosen) {
        fg_merchant_ref_t ref = {m.id, m.public_id};
        fg_page_t page = {ENDPOINTS_SHOWN, 0};
        fg_html_puts(&p, "<h2 data-merchant=\"");
        fg_html_text(&p, m.public_id);
        fg_html_puts(&p, "\">");
        fg_html_text(&p, m.name);
        fg_html_puts(&p, " <code>");
        fg_html_text(&p, m.public_id);
        fg_html_puts(&p, "</code></h2>");
        rc = fg_endpoint_list(db, &ref, &page, fg_now_ms(), &list);
        yajl_val data = rc == 0 ? list_data(&list, &root) : NULL;
        size_t n = data != NULL ? data->u.array.len : 0;
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = endpoint_section(&p, &s, db, &ref, data->u.array.values[i]);
        if (rc == 0 && n == 0)
            fg_html_printf(&p, "<p class=\"muted\" data-none>%s</p>",
                           fg_html_tr(&p, "Đơn vị chưa đăng ký webhook nào.", "The merchant has no webhook endpoint."));
    } else if (rc == 0) {
        fg_html_printf(&p, "<p class=\"muted\">%s</p>",
                       fg_html_tr(&p, "Chọn một đơn vị để xem webhook của đơn vị đó.",
                                  "Choose a merchant to see its webhooks."));
    }
    fg_db_end(db);
    if (root != NULL)
        yajl_tree_free(root);
    fg_buf_free(&list);
    if (rc != 0) {
        fg_buf_free(&p.body);
        fg_staff_unavailable(call, db, rc);
        return;
    }
    fg_html_end(&p, 200);
}

/* ---- the forms ------------------------------------------------------------------------ */

/* Back to the merchant's webhooks, at the endpoint. */
static void back(fg_call_t *call, const char *merchant, const char *endpoint)
{
    char location[160];
    snprintf(location, sizeof(location), "/staff/webhooks?merchant=%s%s%s", merchant, endpoint[0] != '\0' ? "#" : "",
             endpoint);
    fg_html_redirect(call, location);
}

/* Reads the form's merchant into m within the session's scope; -1 when the
 * call is answered. */
static int form_merchant(fg_staff_ctx_t *s, fg_db_t *db, fg_merchant_row_t *m)
{
    fg_buf_t merchant = FG_BUF_INIT;
    fg_staff_field(s, "merchant", &merchant);
    int rc = chosen_merchant(db, s, merchant.len > 0 ? merchant.data : NULL, m);
    fg_buf_free(&merchant);
    if (rc == 0)
        return 0;
    if (rc == FG_ENOTFOUND || rc == NONE_CHOSEN)
        fg_staff_not_found(s->call);
    else
        fg_staff_unavailable(s->call, db, rc);
    return -1;
}

typedef struct {
    const fg_staff_ctx_t *s;
    fg_merchant_ref_t ref;
    const char *endpoint;
    int enable;
} endpoint_op_t;

static int endpoint_tx(fg_db_t *db, void *arg)
{
    endpoint_op_t *o = arg;
    fg_endpoint_row_t r;
    fg_endpoint_row_init(&r);
    int rc = fg_endpoint_set_enabled(db, &o->ref, o->endpoint, strlen(o->endpoint), o->enable, fg_now_ms(), &r);
    if (rc == 0) {
        fg_buf_t after = FG_BUF_INIT;
        fg_buf_puts(&after, "{");
        fg_json_kv_str(&after, 0, "merchant_id", o->ref.public_id);
        fg_json_kv_str(&after, 1, "status", r.status.data);
        fg_buf_puts(&after, "}");
        rc = fg_audit_log(db, o->s->session.staff.email,
                          o->enable ? "webhook_endpoint.enable" : "webhook_endpoint.disable", o->endpoint, NULL,
                          after.data);
        fg_buf_free(&after);
    }
    fg_endpoint_row_free(&r);
    return rc;
}

void fg_staff_webhook_endpoint_post(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_merchant_row_t m;
    fg_buf_t action = FG_BUF_INIT;
    if (fg_staff_open(call, db, FG_STAFF_WRITE, &s) != 0 || form_merchant(&s, db, &m) != 0)
        goto Exit;
    fg_staff_field(&s, "action", &action);
    int enable = action.len > 0 && strcmp(action.data, "enable") == 0;
    if (!enable && (action.len == 0 || strcmp(action.data, "disable") != 0)) {
        fg_staff_bad(call, 400, "Thao tác phải là bật hoặc tắt.", "The action must be enable or disable.");
        goto Exit;
    }
    endpoint_op_t o = {&s, {m.id, m.public_id}, call->params[0], enable};
    int rc = fg_db_tx(db, endpoint_tx, &o);
    if (rc == FG_ENOTFOUND)
        fg_staff_not_found(call);
    else if (rc != 0)
        fg_staff_unavailable(call, db, rc);
    else
        back(call, m.public_id, call->params[0]);
Exit:
    fg_buf_free(&action);
}

typedef struct {
    const fg_staff_ctx_t *s;
    fg_merchant_ref_t ref;
    const char *event, *endpoint;
    fg_redelivery_t result;
} redeliver_op_t;

static int redeliver_tx(fg_db_t *db, void *arg)
{
    redeliver_op_t *o = arg;
    int rc = fg_event_redeliver(db, &o->ref, o->event, strlen(o->event), o->endpoint, fg_now_ms(), &o->result);
    if (rc != 0)
        return rc;
    fg_buf_t after = FG_BUF_INIT;
    fg_buf_puts(&after, "{");
    fg_json_kv_str(&after, 0, "merchant_id", o->ref.public_id);
    fg_json_kv_str(&after, 1, "endpoint_id", o->endpoint);
    fg_buf_printf(&after, ",\"deliveries\":%d}", o->result.count);
    rc = fg_audit_log(db, o->s->session.staff.email, "webhook_event.redeliver", o->event, NULL, after.data);
    fg_buf_free(&after);
    return rc;
}

void fg_staff_redeliver(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_merchant_row_t m;
    fg_buf_t endpoint = FG_BUF_INIT;
    redeliver_op_t o = {.result = {.body = FG_BUF_INIT}};
    if (fg_staff_open(call, db, FG_STAFF_WRITE, &s) != 0 || form_merchant(&s, db, &m) != 0)
        goto Exit;
    fg_staff_field(&s, "endpoint", &endpoint);
    o.s = &s;
    o.ref = (fg_merchant_ref_t){m.id, m.public_id};
    o.event = call->params[0];
    o.endpoint = endpoint.len > 0 ? endpoint.data : NULL;
    int rc = fg_db_tx(db, redeliver_tx, &o);
    if (rc == 0) {
        fg_webhooks_wake();
        back(call, m.public_id, o.endpoint != NULL ? o.endpoint : "");
    } else if ((rc == FG_ENOTFOUND || rc == FG_ESTATE) && o.result.outcome != FG_REDELIVERY_MADE) {
        switch (o.result.outcome) {
        case FG_REDELIVERY_ENDPOINT_DISABLED:
            fg_staff_bad(call, 409, "Webhook này đang tắt: bật lại rồi gửi lại.",
                         "The endpoint is disabled: enable it, then redeliver.");
            break;
        case FG_REDELIVERY_NO_SUBSCRIBER:
            fg_staff_bad(call, 422, "Không có webhook đang bật nào nhận loại sự kiện này.",
                         "No enabled endpoint subscribes to this event's type.");
            break;
        case FG_REDELIVERY_LIMIT:
            fg_staff_bad(call, 409,
                         "Sự kiện này đã được gửi lại quá nhiều lần đến webhook: xem các lần gửi để biết bên nhận đã "
                         "trả lời gì.",
                         "This event has been redelivered to the endpoint too many times: its deliveries show what "
                         "the receiver answered.");
            break;
        default: fg_staff_not_found(call); break;
        }
    } else {
        fg_staff_unavailable(call, db, rc);
    }
Exit:
    fg_buf_free(&o.result.body);
    fg_buf_free(&endpoint);
}
