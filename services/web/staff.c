/*
 * staff.c - what every staff page shares (staff.h): the session gate, the
 * CSRF check, the frame with its navigation, and login and logout.
 *
 * The session cookie (fg_staff) is HttpOnly, SameSite=Strict, Path=/staff,
 * Secure over TLS, and has no Max-Age: the server ends the session (idle,
 * absolute, logout).  Before login a cookie of its own (fg_staff_login)
 * carries the secret the login form's CSRF token is derived from.
 */
#include "web/staff.h"

#include <stdio.h>
#include <string.h>
#include "core/day.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/money.h"
#include "core/text.h"
#include "web/web.h"

#define SESSION_COOKIE "fg_staff"
#define LOGIN_COOKIE "fg_staff_login"
/* The login form's cookie outlives a slow typist, not a day. */
#define LOGIN_COOKIE_MAX_AGE_S 3600
/* Form bodies of the staff pages other than uploads: notes of 1000
 * characters and a few fields. */
#define STAFF_FORM_MAX 16384

/* ---- cookies ------------------------------------------------------------------ */

static void set_cookie(fg_call_t *call, const char *name, const char *value, int max_age_s)
{
    char c[256];
    char age[40] = "";
    if (max_age_s >= 0)
        snprintf(age, sizeof(age), "; Max-Age=%d", max_age_s);
    snprintf(c, sizeof(c), "%s=%s; Path=/staff; HttpOnly; SameSite=Strict%s%s", name, value, age,
             call->is_tls ? "; Secure" : "");
    fg_call_add_header(call, "set-cookie", c);
}

/* A cookie value of ours: base64url only, else none. */
static int read_cookie(fg_call_t *call, const char *name, char *out, size_t cap)
{
    if (!fg_call_cookie(call, name, out, cap))
        return 0;
    for (const char *c = out; *c != '\0'; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '_'))
            return 0;
    return out[0] != '\0';
}

/* ---- answers -------------------------------------------------------------------- */

/* A staff refusal: what went wrong, and the way on.  "Back" returns to the
 * page the form was sent from, as it was filled in (the script shows it:
 * history is the browser's); the overview is always there. */
static void staff_message(fg_call_t *call, int status, const char *name, const char *title_vi, const char *title_en,
                          const char *text_vi, const char *text_en)
{
    fg_html_t p;
    fg_html_begin(&p, call, name, title_vi, title_en, NULL);
    fg_html_printf(&p, "<h1>%s</h1><p>%s</p>", fg_html_tr(&p, title_vi, title_en), fg_html_tr(&p, text_vi, text_en));
    fg_html_printf(&p,
                   "<p class=\"actions\"><button type=\"button\" class=\"secondary\" data-back hidden>%s</button> "
                   "<a class=\"button secondary\" href=\"/staff\" data-home>%s</a></p>",
                   fg_html_tr(&p, "Quay lại trang trước", "Back to the previous page"),
                   fg_html_tr(&p, "Về trang tổng quan", "To the overview"));
    fg_html_end(&p, status);
}

void fg_staff_not_found(fg_call_t *call)
{
    staff_message(call, 404, "staff-not-found", "Không tìm thấy", "Not found", "Không có trang hoặc mục này.",
                  "There is no such page or item.");
}

void fg_staff_forbidden(fg_call_t *call)
{
    staff_message(call, 403, "staff-forbidden", "Không được phép", "Forbidden",
                  "Vai trò của bạn không được dùng chức năng này, hoặc biểu mẫu đã hết hạn: tải lại trang.",
                  "Your role may not use this, or the form has expired: reload the page.");
}

void fg_staff_bad(fg_call_t *call, int status, const char *vi, const char *en)
{
    staff_message(call, status, "staff-error", "Không thực hiện được", "Not done", vi, en);
}

void fg_staff_unavailable(fg_call_t *call, fg_db_t *db, int rc)
{
    fg_db_log_failure(db, "staff page", rc);
    staff_message(call, rc == FG_EUNAVAILABLE || rc == FG_ERETRY ? 503 : 500, "staff-error", "Lỗi hệ thống",
                  "Service error", "Hệ thống đang bận hoặc gặp lỗi. Vui lòng thử lại.",
                  "The service is busy or failed. Please try again.");
}

/* ---- the gate -------------------------------------------------------------------- */

int fg_staff_may(const fg_staff_ctx_t *ctx, fg_staff_access_t access)
{
    fg_role_t r = ctx->session.staff.role;
    int city = ctx->session.staff.merchant_id == 0;
    switch (access) {
    case FG_STAFF_ANY: return r != FG_ROLE_NONE;
    case FG_STAFF_CITY: return city && (r == FG_ROLE_AUDITOR || r == FG_ROLE_FINANCE || r == FG_ROLE_ADMIN);
    case FG_STAFF_WRITE: return r == FG_ROLE_FINANCE || r == FG_ROLE_ADMIN;
    case FG_STAFF_ADMIN: return r == FG_ROLE_ADMIN;
    case FG_STAFF_CITY_WRITE: return city && (r == FG_ROLE_FINANCE || r == FG_ROLE_ADMIN);
    case FG_STAFF_CITY_ADMIN: return city && r == FG_ROLE_ADMIN;
    }
    return 0;
}

uint64_t fg_staff_scope(const fg_staff_ctx_t *ctx)
{
    /* an accountant always has one; another role scoped with --merchant too */
    return ctx->session.staff.merchant_id;
}

static int is_post(const fg_call_t *call) { return strcmp(call->method, "POST") == 0; }

/* The POST's csrf_token: from the urlencoded body, or the multipart parts
 * (parsed here, kept in ctx).  1 when it is the session's. */
static int csrf_ok(fg_call_t *call, fg_staff_ctx_t *ctx)
{
    char boundary[FG_MULTIPART_BOUNDARY_CAP];
    const char *type = fg_call_header(call, "content-type");
    if (fg_multipart_boundary(type, boundary) == 0) {
        if (fg_multipart_parse(call->body, call->body_len, boundary, &ctx->parts) != 0)
            return 0;
        ctx->multipart = 1;
        const fg_part_t *t = fg_multipart_get(&ctx->parts, "csrf_token");
        return t != NULL && fg_staff_csrf_check(ctx->secret, t->data, t->len);
    }
    if (call->body_len > STAFF_FORM_MAX)
        return 0;
    fg_buf_t token = FG_BUF_INIT;
    int ok = call->body != NULL && fg_form_field(call->body, call->body_len, "csrf_token", &token) &&
             fg_staff_csrf_check(ctx->secret, token.data, token.len);
    fg_buf_free(&token);
    return ok;
}

int fg_staff_open(fg_call_t *call, fg_db_t *db, fg_staff_access_t access, fg_staff_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->call = call;
    int live = 0;
    if (read_cookie(call, SESSION_COOKIE, ctx->secret, sizeof(ctx->secret))) {
        live = fg_staff_session_lookup(db, call->cfg, ctx->secret, fg_now_ms(), &ctx->session);
        if (live < 0) {
            fg_staff_unavailable(call, db, live);
            return -1;
        }
    }
    if (!live) {
        if (is_post(call))
            fg_staff_forbidden(call);
        else
            fg_html_redirect(call, "/staff/login");
        return -1;
    }
    fg_staff_csrf_token(ctx->secret, ctx->csrf);
    /* staff act as themselves: the call carries who, for logs and domain calls */
    call->staff_id = ctx->session.staff.id;
    call->staff_role = ctx->session.staff.role;
    snprintf(call->staff_email, sizeof(call->staff_email), "%s", ctx->session.staff.email);
    if ((is_post(call) && !csrf_ok(call, ctx)) || !fg_staff_may(ctx, access)) {
        fg_staff_forbidden(call);
        return -1;
    }
    return 0;
}

int fg_staff_field(fg_staff_ctx_t *ctx, const char *name, fg_buf_t *out)
{
    fg_buf_reset(out);
    if (ctx->multipart) {
        const fg_part_t *part = fg_multipart_get(&ctx->parts, name);
        if (part == NULL)
            return 0;
        fg_buf_append(out, part->data, part->len);
        fg_buf_putc(out, '\0');
        out->len--;
        return 1;
    }
    if (ctx->call->body == NULL)
        return 0;
    int found = fg_form_field(ctx->call->body, ctx->call->body_len, name, out);
    fg_buf_putc(out, '\0');
    out->len--;
    return found;
}

/* ---- a form sent twice ------------------------------------------------------------ */

#define FORM_KEY_FIELD "form_key"

void fg_staff_form_key_input(fg_html_t *p)
{
    char key[FG_ID_CAP];
    if (fg_id_new("form_", key, sizeof(key)) < 0)
        return; /* no randomness: the form still works, unprotected */
    fg_html_printf(p, "<input type=\"hidden\" name=\"" FORM_KEY_FIELD "\" value=\"%s\">", key);
}

int fg_staff_form_key(fg_staff_ctx_t *ctx)
{
    fg_buf_t key = FG_BUF_INIT;
    int taken = fg_staff_field(ctx, FORM_KEY_FIELD, &key) && key.len > 0 &&
                fg_call_use_key(ctx->call, key.data, key.len) == 0;
    fg_buf_free(&key);
    return taken;
}

int fg_staff_form_store(fg_db_t *db, fg_staff_ctx_t *ctx, const char *location)
{
    fg_buf_t answer = FG_BUF_INIT;
    fg_buf_puts(&answer, location);
    int rc = fg_idem_store(db, ctx->call, 303, &answer);
    fg_buf_free(&answer);
    return rc;
}

int fg_staff_form_replay(fg_staff_ctx_t *ctx, fg_db_t *db)
{
    fg_call_t *call = ctx->call;
    fg_buf_t answer = FG_BUF_INIT;
    int status = 0, answered = 1;
    int rc = fg_idem_lookup(db, call, &status, &answer);
    fg_db_end(db);
    fg_buf_putc(&answer, '\0');
    if (rc == 0 && status == 303 && strncmp(answer.data, "/staff/", 7) == 0)
        fg_html_redirect(call, answer.data);
    else if (rc == 0 || rc == FG_ECONFLICT)
        fg_staff_bad(call, 409,
                     "Biểu mẫu này đã được gửi với nội dung khác, hoặc vẫn đang được xử lý. Hãy tải lại trang rồi "
                     "thử lại.",
                     "This form was already sent with other values, or is still being handled. Reload the page, "
                     "then try again.");
    else if (rc == FG_ENOTFOUND)
        answered = 0;
    else
        fg_staff_unavailable(call, db, rc);
    fg_buf_free(&answer);
    fg_call_forget_key(call);
    return answered ? (rc == 0 || rc == FG_ECONFLICT ? 1 : -1) : 0;
}

typedef struct {
    const fg_staff_ctx_t *ctx;
    const char *action, *object, *after;
} audit_t;

static int audit_tx(fg_db_t *db, void *arg)
{
    audit_t *a = arg;
    return fg_audit_log(db, a->ctx->session.staff.email, a->action, a->object, NULL, a->after);
}

/* One row, committed alone: the action it records has committed. */
int fg_staff_audit(fg_db_t *db, const fg_staff_ctx_t *ctx, const char *action, const char *object,
                   const char *after_json)
{
    audit_t a = {ctx, action, object, after_json};
    return fg_db_tx(db, audit_tx, &a);
}

/* ---- formatting ------------------------------------------------------------------ */

void fg_staff_money(fg_html_t *p, int64_t amount, const char *currency)
{
    char text[48];
    int vnd = currency == NULL || strcmp(currency, "VND") == 0;
    /* each currency with its own minor-unit digits: 100 is 1,00 USD, 1,000 KWD is 1,000 */
    const fg_currency_t *c = vnd ? NULL : fg_currency_find(currency, strlen(currency));
    (void)fg_money_format_vi(amount, c != NULL ? c->exponent : 0, text, sizeof(text));
    fg_html_text(p, text);
    if (vnd) {
        fg_html_puts(p, "&nbsp;₫");
    } else {
        fg_html_puts(p, "&nbsp;");
        fg_html_text(p, currency);
    }
}

void fg_staff_time(fg_html_t *p, int64_t ms)
{
    if (ms <= 0)
        return;
    char text[17];
    fg_day_time_format(ms, text);
    fg_html_text(p, text);
}

/* ---- the frame -------------------------------------------------------------------- */

typedef struct {
    const char *path, *vi, *en;
    fg_staff_access_t access;
} nav_item_t;

static const nav_item_t NAV[] = {
    {"/staff", "Tổng quan", "Overview", FG_STAFF_ANY},
    {"/staff/orders", "Hóa đơn", "Orders", FG_STAFF_ANY},
    {"/staff/bills", "Nhập hóa đơn", "Bills upload", FG_STAFF_ANY},
    {"/staff/statements", "Sao kê", "Statements", FG_STAFF_CITY},
    {"/staff/reconciliations", "Đối soát", "Reconciliation", FG_STAFF_CITY},
    {"/staff/payouts", "Chi trả", "Payouts", FG_STAFF_ANY},
    {"/staff/reports", "Báo cáo", "Reports", FG_STAFF_ANY},
    {"/staff/merchants", "Đơn vị", "Merchants", FG_STAFF_ANY},
    {"/staff/webhooks", "Webhook", "Webhooks", FG_STAFF_ANY},
    {"/staff/audit", "Nhật ký", "Audit log", FG_STAFF_CITY},
    {"/staff/users", "Người dùng", "Users", FG_STAFF_CITY_ADMIN},
};

void fg_staff_csrf_input(fg_html_t *p, const fg_staff_ctx_t *ctx)
{
    fg_html_printf(p, "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">", ctx->csrf);
}

void fg_staff_begin(fg_html_t *p, fg_staff_ctx_t *ctx, const char *name, const char *title_vi, const char *title_en)
{
    fg_staff_begin_refresh(p, ctx, name, title_vi, title_en, NULL, 0);
}

void fg_staff_begin_refresh(fg_html_t *p, fg_staff_ctx_t *ctx, const char *name, const char *title_vi,
                            const char *title_en, const char *extra_attrs, int refresh_s)
{
    fg_html_begin_refresh(p, ctx->call, name, title_vi, title_en, extra_attrs, refresh_s);
    /* a stylesheet link is allowed in the body; the frame's head is shared */
    fg_html_puts(p, "<link rel=\"stylesheet\" href=\"/assets/staff.css\"><nav class=\"staff-nav\" "
                    "aria-label=\"staff\"><ul>");
    for (size_t i = 0; i < sizeof(NAV) / sizeof(NAV[0]); i++) {
        if (!fg_staff_may(ctx, NAV[i].access))
            continue;
        size_t n = strlen(NAV[i].path);
        /* a section's own pages (an order, a reconciliation) are under its path */
        int here = strcmp(ctx->call->path, NAV[i].path) == 0 ||
                   (i > 0 && strncmp(ctx->call->path, NAV[i].path, n) == 0 && ctx->call->path[n] == '/');
        fg_html_printf(p, "<li><a href=\"%s\"%s>%s</a></li>", NAV[i].path, here ? " aria-current=\"page\"" : "",
                       fg_html_tr(p, NAV[i].vi, NAV[i].en));
    }
    fg_html_puts(p, "</ul><form method=\"post\" action=\"/staff/logout\" class=\"logout\"><span class=\"who\">");
    fg_html_text(p, ctx->session.staff.email);
    fg_html_printf(p, " · <span data-role=\"%s\">%s</span>", fg_staff_role_name(ctx->session.staff.role),
                   fg_staff_role_name(ctx->session.staff.role));
    if (ctx->session.staff.merchant_public_id[0] != '\0') {
        fg_html_puts(p, " · ");
        fg_html_text(p, ctx->session.staff.merchant_public_id);
    }
    fg_html_puts(p, "</span>");
    fg_staff_csrf_input(p, ctx);
    fg_html_printf(p, "<button type=\"submit\" class=\"secondary\">%s</button></form></nav>",
                   fg_html_tr(p, "Đăng xuất", "Log out"));
}

/* ---- login and logout -------------------------------------------------------------- */

static void login_form(fg_call_t *call, int status, const char *secret, const char *email, const char *error_vi,
                       const char *error_en)
{
    fg_html_t p;
    char csrf[FG_CSRF_TOKEN_CAP];
    fg_staff_csrf_token(secret, csrf);
    fg_html_begin(&p, call, "staff-login", "Đăng nhập", "Log in", NULL);
    fg_html_puts(&p, "<link rel=\"stylesheet\" href=\"/assets/staff.css\">");
    fg_html_printf(&p, "<h1>%s</h1>", fg_html_tr(&p, "Đăng nhập cho cán bộ", "Staff login"));
    if (error_vi != NULL)
        fg_html_printf(&p, "<p class=\"error\" role=\"alert\" data-error>%s</p>", fg_html_tr(&p, error_vi, error_en));
    fg_html_printf(&p,
                   "<form method=\"post\" action=\"/staff/login\" class=\"card login\">"
                   "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">"
                   "<label for=\"email\">%s</label>"
                   "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"",
                   csrf, fg_html_tr(&p, "Thư điện tử", "E-mail"));
    fg_html_text(&p, email != NULL ? email : "");
    fg_html_printf(&p,
                   "\"><label for=\"password\">%s</label>"
                   "<input id=\"password\" name=\"password\" type=\"password\" "
                   "autocomplete=\"current-password\" required>"
                   "<button type=\"submit\" class=\"block\">%s</button></form>",
                   fg_html_tr(&p, "Mật khẩu", "Password"), fg_html_tr(&p, "Đăng nhập", "Log in"));
    fg_html_end(&p, status);
}

void fg_staff_login_page(fg_call_t *call, fg_db_t *db)
{
    char secret[FG_SESSION_SECRET_CAP];
    fg_staff_session_t session;
    if (read_cookie(call, SESSION_COOKIE, secret, sizeof(secret)) &&
        fg_staff_session_lookup(db, call->cfg, secret, fg_now_ms(), &session) == 1) {
        fg_html_redirect(call, "/staff");
        return;
    }
    if (!read_cookie(call, LOGIN_COOKIE, secret, sizeof(secret))) {
        if (fg_staff_secret_new(secret) != 0) {
            fg_staff_unavailable(call, db, FG_EIO);
            return;
        }
        set_cookie(call, LOGIN_COOKIE, secret, LOGIN_COOKIE_MAX_AGE_S);
    }
    login_form(call, 200, secret, NULL, NULL, NULL);
}

void fg_staff_login_post(fg_call_t *call, fg_db_t *db)
{
    char pre[FG_SESSION_SECRET_CAP], retry[32];
    fg_buf_t token = FG_BUF_INIT, email = FG_BUF_INIT, password = FG_BUF_INIT;
    fg_login_result_t r;
    const char *body = call->body != NULL ? call->body : "";
    if (!read_cookie(call, LOGIN_COOKIE, pre, sizeof(pre)) ||
        !fg_form_field(body, call->body_len, "csrf_token", &token) ||
        !fg_staff_csrf_check(pre, token.data, token.len)) {
        fg_staff_forbidden(call);
        goto Exit;
    }
    fg_form_field(body, call->body_len, "email", &email);
    fg_form_field(body, call->body_len, "password", &password);
    fg_buf_putc(&email, '\0');
    fg_buf_putc(&password, '\0');
    if (strlen(password.data) + 1 != password.len || password.len > FG_PASSWORD_MAX + 1 ||
        strlen(email.data) + 1 != email.len) {
        login_form(call, 401, pre, NULL, "Sai thư điện tử hoặc mật khẩu.", "Wrong e-mail or password.");
        goto Exit;
    }
    int rc = fg_staff_login(db, call->cfg, email.data, password.data, call->peer, fg_now_ms(), &r);
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
    } else if (r.outcome == FG_LOGIN_OK) {
        set_cookie(call, SESSION_COOKIE, r.secret, -1);
        set_cookie(call, LOGIN_COOKIE, "", 0);
        fg_html_redirect(call, "/staff");
    } else if (r.outcome == FG_LOGIN_THROTTLED) {
        snprintf(retry, sizeof(retry), "%lld", (long long)((r.retry_after_ms + 999) / 1000));
        fg_call_add_header(call, "retry-after", retry);
        login_form(call, 429, pre, email.data, "Đăng nhập sai nhiều lần. Vui lòng đợi rồi thử lại.",
                   "Too many failed logins. Wait a moment, then try again.");
    } else if (r.outcome == FG_LOGIN_LOCKED) {
        login_form(call, 423, pre, email.data,
                   "Tài khoản bị khóa do đăng nhập sai nhiều lần. Liên hệ quản trị viên để mở khóa.",
                   "The account is locked after too many failed logins. Ask an admin to unlock it.");
    } else {
        login_form(call, 401, pre, email.data, "Sai thư điện tử hoặc mật khẩu.", "Wrong e-mail or password.");
    }
Exit:
    if (password.data != NULL)
        memset(password.data, 0, password.len);
    fg_buf_free(&token);
    fg_buf_free(&email);
    fg_buf_free(&password);
}

void fg_staff_logout(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_ANY, &s) != 0)
        return;
    int rc = fg_staff_session_end(db, &s.session, call->peer, fg_now_ms());
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        return;
    }
    set_cookie(call, SESSION_COOKIE, "", 0);
    fg_html_redirect(call, "/staff/login");
}
