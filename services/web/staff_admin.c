/*
 * staff_admin.c - GET /staff/audit (the audit log, newest first, paged;
 * auditors, finance and admins) and GET /staff/users with POST
 * /staff/users/unlock (admins: locked logins and the button that lifts a
 * lockout, fg_staff_unlock as `feegate admin user unlock` does).
 */
#include "web/staff.h"

#include <stdio.h>
#include <string.h>
#include "core/text.h"

/* Audit rows on one page. */
#define AUDIT_PAGE_ROWS 100
/* Locked addresses shown: a handful at any time. */
#define LOCKS_SHOWN 100

static const char SQL_AUDIT[] =
    "SELECT id, actor, action, COALESCE(object, ''), COALESCE(after_json, ''), created_at FROM audit_log "
    "WHERE (? < 1 OR id < ?) AND (? IS NULL OR action = ?) ORDER BY id DESC LIMIT ?";

void fg_staff_audit_page(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    if (fg_staff_open(call, db, FG_STAFF_CITY, &s) != 0)
        return;
    const char *cursor_text = fg_call_query(call, "cursor", NULL);
    size_t action_len = 0;
    const char *action = fg_call_query(call, "action", &action_len);
    long long cursor = 0;
    if (cursor_text != NULL && sscanf(cursor_text, "%lld", &cursor) != 1)
        cursor = 0;
    if (action != NULL && (action_len == 0 || !fg_printable_ascii(action, action_len, 64)))
        action = NULL;
    fg_stmt_t st;
    int64_t id = 0, at = 0, last = 0;
    int rows = 0;
    fg_buf_t actor = FG_BUF_INIT, what = FG_BUF_INIT, object = FG_BUF_INIT, after = FG_BUF_INIT;
    int rc = fg_stmt_init(&st, db, SQL_AUDIT);
    if (rc == 0) {
        fg_stmt_int(&st, cursor);
        fg_stmt_int(&st, cursor);
        fg_stmt_cstr(&st, action);
        fg_stmt_cstr(&st, action);
        fg_stmt_int(&st, AUDIT_PAGE_ROWS + 1);
        fg_stmt_out_int(&st, &id, NULL);
        fg_stmt_out_text(&st, &actor, NULL);
        fg_stmt_out_text(&st, &what, NULL);
        fg_stmt_out_text(&st, &object, NULL);
        fg_stmt_out_text(&st, &after, NULL);
        fg_stmt_out_int(&st, &at, NULL);
        rc = fg_stmt_exec(&st);
    }
    fg_html_t p;
    fg_staff_begin(&p, &s, "staff-audit", "Nhật ký thao tác", "Audit log");
    fg_html_printf(&p,
                   "<h1>%s</h1><form method=\"get\" action=\"/staff/audit\" class=\"inline card\"><label "
                   "for=\"action\">%s</label><input id=\"action\" name=\"action\" value=\"",
                   fg_html_tr(&p, "Nhật ký thao tác", "Audit log"), fg_html_tr(&p, "Thao tác", "Action"));
    fg_html_text(&p, action != NULL ? action : "");
    fg_html_printf(&p,
                   "\"><button type=\"submit\">%s</button></form><div class=\"table-wrap\"><table class=\"data\" "
                   "data-table=\"audit\"><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>"
                   "</thead><tbody>",
                   fg_html_tr(&p, "Lọc", "Filter"), fg_html_tr(&p, "Lúc", "At"), fg_html_tr(&p, "Người", "Actor"),
                   fg_html_tr(&p, "Thao tác", "Action"), fg_html_tr(&p, "Đối tượng", "Object"),
                   fg_html_tr(&p, "Chi tiết", "Detail"));
    while (rc == 0 && (rc = fg_stmt_fetch(&st)) == 1) {
        rc = 0;
        if (++rows > AUDIT_PAGE_ROWS)
            continue;
        last = id;
        fg_html_puts(&p, "<tr data-action=\"");
        fg_html_text(&p, what.data);
        fg_html_puts(&p, "\"><td>");
        fg_staff_time(&p, at);
        fg_html_puts(&p, "</td><td>");
        fg_html_text(&p, actor.data);
        fg_html_puts(&p, "</td><td>");
        fg_html_text(&p, what.data);
        fg_html_puts(&p, "</td><td>");
        fg_html_text(&p, object.len > 0 ? object.data : "");
        fg_html_puts(&p, "</td><td><pre class=\"json\">");
        fg_html_textn(&p, after.len > 0 ? after.data : "", after.len > 400 ? 400 : after.len);
        fg_html_puts(&p, "</pre></td></tr>");
    }
    fg_db_end(db);
    fg_html_puts(&p, "</tbody></table></div>");
    if (rows > AUDIT_PAGE_ROWS) {
        fg_html_printf(&p, "<nav class=\"pager\"><a rel=\"next\" data-next href=\"/staff/audit?cursor=%lld",
                       (long long)last);
        if (action != NULL) {
            fg_html_puts(&p, "&amp;action=");
            fg_html_text(&p, action);
        }
        fg_html_printf(&p, "\">%s</a></nav>", fg_html_tr(&p, "Trang sau →", "Next page →"));
    }
    fg_buf_free(&actor);
    fg_buf_free(&what);
    fg_buf_free(&object);
    fg_buf_free(&after);
    if (rc < 0) {
        fg_buf_free(&p.body);
        fg_staff_unavailable(call, db, rc);
        return;
    }
    fg_html_end(&p, 200);
}

void fg_staff_users(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_login_lock_t locks[LOCKS_SHOWN];
    int count = 0;
    if (fg_staff_open(call, db, FG_STAFF_CITY_ADMIN, &s) != 0)
        return;
    int rc = fg_staff_locked_list(db, locks, LOCKS_SHOWN, &count);
    if (rc != 0) {
        fg_staff_unavailable(call, db, rc);
        return;
    }
    fg_html_t p;
    fg_staff_begin(&p, &s, "staff-users", "Người dùng", "Users");
    fg_html_printf(&p,
                   "<h1>%s</h1><h2>%s</h2><div class=\"table-wrap\"><table class=\"data\" data-table=\"locked\">"
                   "<thead><tr><th>%s</th><th class=\"num\">%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
                   fg_html_tr(&p, "Người dùng", "Users"), fg_html_tr(&p, "Tài khoản bị khóa", "Locked logins"),
                   fg_html_tr(&p, "Thư điện tử", "E-mail"), fg_html_tr(&p, "Lần sai", "Failures"),
                   fg_html_tr(&p, "Khóa lúc", "Locked at"), fg_html_tr(&p, "Thao tác", "Action"));
    for (int i = 0; i < count; i++) {
        fg_html_puts(&p, "<tr data-locked=\"");
        fg_html_text(&p, locks[i].email);
        fg_html_puts(&p, "\"><td>");
        fg_html_text(&p, locks[i].email);
        fg_html_printf(&p, "</td><td class=\"num\">%lld</td><td>", (long long)locks[i].failures);
        fg_staff_time(&p, locks[i].locked_at);
        fg_html_puts(&p, "</td><td><form method=\"post\" action=\"/staff/users/unlock\" class=\"inline\">");
        fg_staff_csrf_input(&p, &s);
        fg_html_puts(&p, "<input type=\"hidden\" name=\"email\" value=\"");
        fg_html_text(&p, locks[i].email);
        fg_html_printf(&p, "\"><button type=\"submit\">%s</button></form></td></tr>",
                       fg_html_tr(&p, "Mở khóa", "Unlock"));
    }
    if (count == 0)
        fg_html_printf(&p, "<tr><td colspan=\"4\" class=\"muted\">%s</td></tr>",
                       fg_html_tr(&p, "Không có tài khoản nào bị khóa.", "No login is locked."));
    fg_html_puts(&p, "</tbody></table></div>");
    fg_html_end(&p, 200);
}

void fg_staff_users_unlock(fg_call_t *call, fg_db_t *db)
{
    fg_staff_ctx_t s;
    fg_buf_t email = FG_BUF_INIT;
    char normal[FG_STAFF_EMAIL_MAX + 1];
    if (fg_staff_open(call, db, FG_STAFF_CITY_ADMIN, &s) != 0)
        goto Exit;
    fg_staff_field(&s, "email", &email);
    if (email.len == 0 || fg_staff_email_normalize(email.data, normal, sizeof(normal)) != 0) {
        fg_staff_bad(call, 400, "Thư điện tử không hợp lệ.", "Not an e-mail address.");
        goto Exit;
    }
    int rc = fg_staff_unlock(db, normal, s.session.staff.email);
    if (rc == FG_ENOTFOUND)
        fg_staff_not_found(call);
    else if (rc != 0)
        fg_staff_unavailable(call, db, rc);
    else
        fg_html_redirect(call, "/staff/users");
Exit:
    fg_buf_free(&email);
}
