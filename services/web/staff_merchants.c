/*
 * staff_merchants.c - GET /staff/merchants: the merchants (name, public id,
 * created, payout account) and each one's API keys (id, prefix, created,
 * revoked).  Finance and auditors read the list; an accountant sees its own
 * merchant only; an admin creates merchants and keys, rotates and revokes
 * keys (POST forms, audited by the merchants module in the same transaction
 * as the change), through the same functions as `feegate admin merchant
 * create` and `feegate admin key rotate|revoke`.
 *
 * A new key's secret is on the answer of its POST only: shown once, with a
 * copy button, answered no-store; only its SHA-256 is kept.
 */
#include "web/staff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "merchants/merchants.h"

/* Merchants on the page: a city's units, a few hundred. */
#define MERCHANTS_SHOWN 1000
/* Keys listed: a handful per merchant. */
#define KEYS_SHOWN 5000

static void payout_account(fg_html_t *p, const fg_merchant_row_t *m)
{
    if (m->payout_account_no[0] == '\0') {
        fg_html_printf(p, "<span class=\"muted\">%s</span>", fg_html_tr(p, "Chưa đặt", "Not set"));
        return;
    }
    fg_html_text(p, m->payout_account_no);
    fg_html_puts(p, " · ");
    fg_html_text(p, m->payout_bin);
    fg_html_puts(p, "<br>");
    fg_html_text(p, m->payout_account_name);
}

/* The keys of merchant m (rows are grouped by merchant). */
static void key_table(fg_html_t *p, const fg_staff_ctx_t *s, const fg_merchant_row_t *m, const fg_api_key_row_t *keys,
                      int count)
{
    int admin = fg_staff_may(s, FG_STAFF_ADMIN);
    int shown = 0;
    fg_html_printf(p,
                   "<div class=\"table-wrap\"><table class=\"data\" data-table=\"keys\"><thead><tr><th>%s</th>"
                   "<th>%s</th><th>%s</th><th>%s</th>%s</tr></thead><tbody>",
                   fg_html_tr(p, "Mã khóa", "Key id"), fg_html_tr(p, "Tiền tố", "Prefix"),
                   fg_html_tr(p, "Tạo lúc", "Created"), fg_html_tr(p, "Thu hồi lúc", "Revoked"),
                   admin ? fg_html_tr(p, "<th>Thao tác</th>", "<th>Actions</th>") : "");
    for (int i = 0; i < count; i++) {
        const fg_api_key_row_t *k = &keys[i];
        if (k->merchant_id != m->id)
            continue;
        shown++;
        fg_html_puts(p, "<tr data-key=\"");
        fg_html_text(p, k->public_id);
        fg_html_printf(p, "\" data-revoked=\"%d\"><td><code>", k->revoked_at > 0);
        fg_html_text(p, k->public_id);
        fg_html_puts(p, "</code></td><td><code>");
        fg_html_text(p, k->prefix);
        fg_html_puts(p, "…</code></td><td>");
        fg_staff_time(p, k->created_at);
        fg_html_puts(p, "</td><td>");
        if (k->revoked_at > 0)
            fg_staff_time(p, k->revoked_at);
        else
            fg_html_printf(p, "<span class=\"badge ok\">%s</span>", fg_html_tr(p, "Đang dùng", "Live"));
        fg_html_puts(p, "</td>");
        if (admin) {
            fg_html_puts(p, "<td>");
            if (k->revoked_at == 0) {
                fg_html_puts(p, "<div class=\"inline\"><form method=\"post\" data-form=\"key-rotate\" action=\""
                                "/staff/merchants/keys/");
                fg_html_text(p, k->public_id);
                fg_html_puts(p, "/rotate\" class=\"inline\">");
                fg_staff_csrf_input(p, s);
                fg_html_printf(p,
                               "<button type=\"submit\">%s</button></form><form method=\"post\" "
                               "data-form=\"key-revoke\" action=\"/staff/merchants/keys/",
                               fg_html_tr(p, "Đổi khóa", "Rotate"));
                fg_html_text(p, k->public_id);
                fg_html_puts(p, "/revoke\" class=\"inline\">");
                fg_staff_csrf_input(p, s);
                fg_html_printf(p, "<button type=\"submit\" class=\"secondary\">%s</button></form></div>",
                               fg_html_tr(p, "Thu hồi", "Revoke"));
            }
            fg_html_puts(p, "</td>");
        }
        fg_html_puts(p, "</tr>");
    }
    if (shown == 0)
        fg_html_printf(p, "<tr><td colspan=\"%d\" class=\"muted\">%s</td></tr>", admin ? 5 : 4,
                       fg_html_tr(p, "Chưa có khóa API.", "No API key."));
    fg_html_puts(p, "</tbody></table></div>");
}

void fg_staff_merchants(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_merchant_row_t *merchants = NULL;
    fg_api_key_row_t *keys = NULL;
    int count = 0, key_count = 0, rc;
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    uint64_t scope = fg_staff_scope(&s);
    merchants = calloc(MERCHANTS_SHOWN, sizeof(*merchants));
    keys = calloc(KEYS_SHOWN, sizeof(*keys));
    if (merchants == NULL || keys == NULL) {
        rc = FG_ENOMEM;
        goto Fail;
    }
    if (scope != 0) {
        /* an accountant's one merchant */
        rc = fg_merchant_find(db, s.session.staff.merchant_public_id, &merchants[0]);
        count = rc == 0 ? 1 : 0;
    } else {
        rc = fg_merchant_list(db, merchants, MERCHANTS_SHOWN, &count);
    }
    if (rc == 0)
        rc = fg_api_key_list(db, scope, keys, KEYS_SHOWN, &key_count);
    if (rc != 0)
        goto Fail;

    fg_html_t p;
    fg_staff_begin(&p, &s, "staff-merchants", "Đơn vị thu", "Merchants");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Đơn vị thu và khóa API", "Merchants and API keys"));
    if (fg_staff_may(&s, FG_STAFF_ADMIN)) {
        fg_html_printf(&p,
                       "<form method=\"post\" action=\"/staff/merchants\" class=\"card inline\" "
                       "data-form=\"merchant-create\"><label for=\"name\">%s</label><input id=\"name\" name=\"name\" "
                       "required maxlength=\"%d\">",
                       fg_html_tr(&p, "Tên đơn vị mới", "New merchant's name"), FG_MERCHANT_NAME_MAX);
        fg_staff_csrf_input(&p, &s);
        fg_html_printf(&p, "<button type=\"submit\">%s</button></form>",
                       fg_html_tr(&p, "Tạo đơn vị và khóa API", "Create merchant and API key"));
    }
    fg_html_printf(&p,
                   "<div class=\"table-wrap\"><table class=\"data\" data-table=\"merchants\"><thead><tr><th>%s</th>"
                   "<th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
                   fg_html_tr(&p, "Tên", "Name"), fg_html_tr(&p, "Mã", "Id"), fg_html_tr(&p, "Tạo lúc", "Created"),
                   fg_html_tr(&p, "Tài khoản nhận tiền", "Payout account"));
    for (int i = 0; i < count; i++) {
        const fg_merchant_row_t *m = &merchants[i];
        fg_html_puts(&p, "<tr data-merchant=\"");
        fg_html_text(&p, m->public_id);
        fg_html_puts(&p, "\"><td><a href=\"#");
        fg_html_text(&p, m->public_id);
        fg_html_puts(&p, "\">");
        fg_html_text(&p, m->name);
        fg_html_puts(&p, "</a></td><td><code>");
        fg_html_text(&p, m->public_id);
        fg_html_puts(&p, "</code></td><td>");
        fg_staff_time(&p, m->created_at);
        fg_html_puts(&p, "</td><td>");
        payout_account(&p, m);
        fg_html_puts(&p, "</td></tr>");
    }
    if (count == 0)
        fg_html_printf(&p, "<tr><td colspan=\"4\" class=\"muted\">%s</td></tr>",
                       fg_html_tr(&p, "Chưa có đơn vị nào.", "No merchant yet."));
    fg_html_puts(&p, "</tbody></table></div>");
    if (count >= MERCHANTS_SHOWN)
        fg_html_printf(&p, "<p class=\"muted\">%s</p>",
                       fg_html_tr(&p, "Chỉ hiện 1000 đơn vị đầu tiên theo tên.", "The first 1000 merchants by name."));
    for (int i = 0; i < count; i++) {
        const fg_merchant_row_t *m = &merchants[i];
        fg_html_puts(&p, "<section class=\"card\" data-section=\"keys\" id=\"");
        fg_html_text(&p, m->public_id);
        fg_html_puts(&p, "\" data-merchant=\"");
        fg_html_text(&p, m->public_id);
        fg_html_puts(&p, "\"><h2>");
        fg_html_text(&p, m->name);
        fg_html_printf(&p, " — %s</h2>", fg_html_tr(&p, "khóa API", "API keys"));
        key_table(&p, &s, m, keys, key_count);
        if (fg_staff_may(&s, FG_STAFF_ADMIN)) {
            fg_html_puts(&p, "<form method=\"post\" data-form=\"key-create\" action=\"/staff/merchants/");
            fg_html_text(&p, m->public_id);
            fg_html_puts(&p, "/keys\" class=\"inline\">");
            fg_staff_csrf_input(&p, &s);
            fg_html_printf(&p, "<button type=\"submit\" class=\"secondary\">%s</button></form>",
                           fg_html_tr(&p, "Tạo khóa mới", "New key"));
        }
        fg_html_puts(&p, "</section>");
    }
    free(merchants);
    free(keys);
    fg_html_end(&p, 200);
    return;
Fail:
    free(merchants);
    free(keys);
    fg_staff_unavailable(call, db, rc);
}

/* ---- a new key, shown once ------------------------------------------------------------ */

/* The answer of a POST that made a key: its secret, once, never cached. */
static void key_shown(fg_call_t *call, fg_staff_ctx_t *s, int status, const char *merchant_id, const char *key_id,
                      const char *api_key, const char *revoked_id)
{
    fg_html_t p;
    fg_staff_begin(&p, s, "staff-key", "Khóa API mới", "New API key");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Khóa API mới", "New API key"));
    fg_html_printf(&p, "<p class=\"notice\" role=\"alert\" data-once>%s</p>",
                   fg_html_tr(&p,
                              "Hãy sao chép khóa này ngay và gửi cho đơn vị qua kênh an toàn: khóa chỉ hiện một lần, "
                              "sẽ không hiện lại, và feegate không lưu khóa ở dạng đọc được.",
                              "Copy this key now and hand it to the merchant over a safe channel: it is shown once, "
                              "will not be shown again, and feegate does not keep it in readable form."));
    fg_html_printf(&p, "<dl class=\"card\"><dt>%s</dt><dd><code data-merchant=\"",
                   fg_html_tr(&p, "Đơn vị", "Merchant"));
    fg_html_text(&p, merchant_id);
    fg_html_puts(&p, "\">");
    fg_html_text(&p, merchant_id);
    fg_html_printf(&p, "</code></dd><dt>%s</dt><dd><code data-key=\"", fg_html_tr(&p, "Mã khóa", "Key id"));
    fg_html_text(&p, key_id);
    fg_html_puts(&p, "\">");
    fg_html_text(&p, key_id);
    fg_html_printf(&p, "</code></dd><dt>%s</dt><dd class=\"copy\" data-copy=\"", fg_html_tr(&p, "Khóa", "Key"));
    fg_html_text(&p, api_key);
    fg_html_puts(&p, "\" data-copy-label=\"API key\"><span class=\"secret\" data-secret>");
    fg_html_text(&p, api_key);
    fg_html_puts(&p, "</span></dd>");
    if (revoked_id != NULL) {
        fg_html_printf(&p, "<dt>%s</dt><dd><code data-revoked-key=\"", fg_html_tr(&p, "Khóa cũ đã thu hồi", "Revoked"));
        fg_html_text(&p, revoked_id);
        fg_html_puts(&p, "\">");
        fg_html_text(&p, revoked_id);
        fg_html_printf(&p, "</code> <span class=\"muted\">%s</span></dd>",
                       fg_html_tr(&p, "(ngừng hoạt động trong vòng 10 giây)", "(stops working within 10 seconds)"));
    }
    fg_html_printf(&p, "</dl><p><a href=\"/staff/merchants#");
    fg_html_text(&p, merchant_id);
    fg_html_printf(&p, "\">%s</a></p>", fg_html_tr(&p, "← Về danh sách đơn vị", "← Back to the merchants"));
    fg_call_add_header(call, "cache-control", "no-store");
    fg_html_end(&p, status);
}

/* 1 when a session scoped to one merchant (an admin given --merchant) may
 * not touch merchant's keys: they are another merchant's. */
static int out_of_scope(const fg_staff_ctx_t *s, const char *merchant)
{
    return fg_staff_scope(s) != 0 && strcmp(merchant, s->session.staff.merchant_public_id) != 0;
}

/* The merchant of key id is in the session's scope: 1, or 0 answered. */
static int key_in_scope(fg_call_t *call, fg_db_t *db, const fg_staff_ctx_t *s, const char *id)
{
    char merchant[FG_ID_CAP];
    if (fg_staff_scope(s) == 0)
        return 1;
    int rc = fg_api_key_merchant(db, id, merchant);
    if (rc == 0 && !out_of_scope(s, merchant))
        return 1;
    if (rc == 0 || rc == FG_ENOTFOUND)
        fg_staff_not_found(call);
    else
        fg_staff_unavailable(call, db, rc);
    return 0;
}

/* A merchant's name: no control characters (a form field may carry any). */
static int name_ok(const fg_buf_t *name)
{
    if (name->len == 0 || strlen(name->data) != name->len)
        return 0;
    for (size_t i = 0; i < name->len; i++)
        if ((unsigned char)name->data[i] < 0x20 || name->data[i] == 0x7f)
            return 0;
    return 1;
}

void fg_staff_merchants_create(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_buf_t name = FG_BUF_INIT;
    char id[FG_ID_CAP], key_id[FG_ID_CAP], key[FG_API_KEY_CAP];
    if (fg_staff_open(call, db, FG_STAFF_ADMIN, &s) != 0)
        goto Exit;
    if (fg_staff_scope(&s) != 0) { /* one merchant's admin makes no merchants */
        fg_staff_forbidden(call);
        goto Exit;
    }
    fg_staff_field(&s, "name", &name);
    int rc = name_ok(&name) ? fg_merchant_create(db, name.data, s.session.staff.email, id, key_id, key) : FG_EINVALID;
    if (rc == FG_EINVALID)
        fg_staff_bad(call, 400, "Tên đơn vị phải có từ 1 đến 200 ký tự.", "The name must be 1 to 200 characters.");
    else if (rc != 0)
        fg_staff_unavailable(call, db, rc);
    else
        key_shown(call, &s, 201, id, key_id, key, NULL);
    explicit_bzero(key, sizeof(key));
Exit:
    fg_buf_free(&name);
}

void fg_staff_key_create(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    char id[FG_ID_CAP], key[FG_API_KEY_CAP];
    if (fg_staff_open(call, db, FG_STAFF_ADMIN, &s) != 0)
        return;
    const char *merchant = call->params[0];
    if (out_of_scope(&s, merchant)) {
        fg_staff_not_found(call);
        return;
    }
    int rc = fg_api_key_create(db, merchant, s.session.staff.email, id, key);
    if (rc == FG_ENOTFOUND)
        fg_staff_not_found(call);
    else if (rc != 0)
        fg_staff_unavailable(call, db, rc);
    else
        key_shown(call, &s, 201, merchant, id, key, NULL);
    explicit_bzero(key, sizeof(key));
}

void fg_staff_key_rotate(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    char id[FG_ID_CAP], key[FG_API_KEY_CAP], merchant[FG_ID_CAP];
    if (fg_staff_open(call, db, FG_STAFF_ADMIN, &s) != 0)
        return;
    const char *old = call->params[0];
    if (!key_in_scope(call, db, &s, old))
        return;
    int rc = fg_api_key_rotate(db, old, s.session.staff.email, id, key);
    if (rc == FG_ENOTFOUND) {
        fg_staff_not_found(call);
    } else if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
    } else {
        if (fg_api_key_merchant(db, id, merchant) != 0)
            merchant[0] = '\0';
        key_shown(call, &s, 200, merchant, id, key, old);
    }
    explicit_bzero(key, sizeof(key));
}

void fg_staff_key_revoke(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    char merchant[FG_ID_CAP], location[FG_ID_CAP + 32];
    if (fg_staff_open(call, db, FG_STAFF_ADMIN, &s) != 0)
        return;
    const char *id = call->params[0];
    if (!key_in_scope(call, db, &s, id))
        return;
    int rc = fg_api_key_revoke(db, id, s.session.staff.email);
    if (rc == FG_ENOTFOUND) {
        fg_staff_not_found(call);
    } else if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
    } else {
        if (fg_api_key_merchant(db, id, merchant) != 0)
            merchant[0] = '\0';
        snprintf(location, sizeof(location), "/staff/merchants%s%s", merchant[0] != '\0' ? "#" : "", merchant);
        fg_html_redirect(call, location);
    }
}
