/*
 * staff.h - the staff pages (docs/PAGES.md): finance staff, auditors,
 * admins and a school's accountant at a desk.  Every page opens with
 * fg_staff_open, which finds the session its cookie names, checks the
 * role, and for a POST the form's CSRF token; writes go through the same
 * domain functions as the API.
 *
 *     fg_staff_ctx_t s;
 *     if (fg_staff_open(call, db, FG_STAFF_WRITE, &s) != 0)
 *         return;                                  (answered: login, 403)
 *     fg_html_t p;
 *     fg_staff_begin(&p, &s, "staff-orders", "Đơn", "Orders");
 *     …
 *     fg_html_end(&p, 200);
 */
#ifndef FG_WEB_STAFF_H
#define FG_WEB_STAFF_H

#include "http/http.h"
#include "staff/staff.h"
#include "web/html.h"
#include "web/multipart.h"

/* Who may open a page (or post its form).  An account scoped to one merchant
 * (an accountant; another role given --merchant) keeps to that merchant: it
 * never opens the city's pages, which show and change every merchant's
 * (statements, reconciliations, the audit log, staff users), as the API
 * answers it 403 merchant_scoped_staff outside the reports. */
typedef enum {
    FG_STAFF_ANY,        /* every role; a scoped account sees its own merchant only */
    FG_STAFF_CITY,       /* auditor, finance, admin, not scoped */
    FG_STAFF_WRITE,      /* finance, admin (scoped: the page keeps to its merchant) */
    FG_STAFF_ADMIN,      /* admin (scoped: the page keeps to its merchant) */
    FG_STAFF_CITY_WRITE, /* finance, admin, not scoped */
    FG_STAFF_CITY_ADMIN, /* admin, not scoped */
} fg_staff_access_t;

/* A statement uploaded through the page: what a browser sends in one
 * request; larger files go through POST /v1/statements or the CLI. */
#define FG_STAFF_UPLOAD_MAX (16 * 1024 * 1024)

typedef struct {
    fg_call_t *call;
    fg_staff_session_t session;
    char secret[FG_SESSION_SECRET_CAP];
    char csrf[FG_CSRF_TOKEN_CAP];
    int multipart; /* a POST's form came as multipart/form-data: parts */
    fg_multipart_t parts;
} fg_staff_ctx_t;

/** Opens a staff page: the live session of the fg_staff cookie (a GET
 *  without one is sent to /staff/login, a POST gets 403), a role that
 *  `access` allows (else 403), and on a POST the form's csrf_token (else
 *  403).  0, or -1 when the call is answered. */
int fg_staff_open(fg_call_t *call, fg_db_t *db, fg_staff_access_t access, fg_staff_ctx_t *ctx);

/** 1 when the session's role allows access. */
int fg_staff_may(const fg_staff_ctx_t *ctx, fg_staff_access_t access);

/** The merchant the session is scoped to (an accountant's), or 0. */
uint64_t fg_staff_scope(const fg_staff_ctx_t *ctx);

/** fg_html_begin, then the staff stylesheet, the navigation the role may
 *  use, who is signed in, and the logout form. */
void fg_staff_begin(fg_html_t *p, fg_staff_ctx_t *ctx, const char *name, const char *title_vi, const char *title_en);
/** fg_staff_begin with extra attributes of <main> (NULL or e.g.
 *  "data-status=\"ready\"") and, when refresh_s > 0, a page that reloads
 *  itself every refresh_s seconds (fg_html_begin_refresh). */
void fg_staff_begin_refresh(fg_html_t *p, fg_staff_ctx_t *ctx, const char *name, const char *title_vi,
                            const char *title_en, const char *extra_attrs, int refresh_s);

/** The hidden csrf_token input of a form. */
void fg_staff_csrf_input(fg_html_t *p, const fg_staff_ctx_t *ctx);

/** The hidden form_key input of a form that makes something (a payout, a
 *  batch): a fresh key each time the form is shown, so that the form sent
 *  twice (a double click, a reload of its answer) makes one thing. */
void fg_staff_form_key_input(fg_html_t *p);

/** Takes the POST's form_key as the call's idempotency key (http.h,
 *  fg_call_use_key: scoped to the staff member, fingerprinted over the
 *  whole form).  A form without one (a script's POST) runs unprotected, as
 *  an API request without Idempotency-Key does.  1 taken, 0 none. */
int fg_staff_form_key(fg_staff_ctx_t *ctx);

/** Inside the write's transaction: keeps location (a path of ours, what
 *  the form made) as the form's answer under its key; 0 without a key.
 *  FG_ECONFLICT when the same form committed first (roll back, then
 *  fg_staff_form_replay), or a database code. */
int fg_staff_form_store(fg_db_t *db, fg_staff_ctx_t *ctx, const char *location) FG_MUST_USE;

/** After the write found the form's key taken or was refused (the first of
 *  two sends took what the second would have): when the same form finished
 *  first, answers as it did (303 to what it made) and returns 1; when the
 *  key holds another form or one still running, answers 409 and returns 1;
 *  0 when the key tells nothing (the caller answers its refusal); < 0
 *  after answering a database failure.  Drops the key either way. */
int fg_staff_form_replay(fg_staff_ctx_t *ctx, fg_db_t *db);

/** A field of the POST's form (urlencoded or multipart) into out
 *  (NUL-terminated); 1 present, 0 absent. */
int fg_staff_field(fg_staff_ctx_t *ctx, const char *name, fg_buf_t *out);

/** Short answers: 404 (what the session may not see does not exist for
 *  it), 403, 400 with a message (trusted text, both languages). */
void fg_staff_not_found(fg_call_t *call);
void fg_staff_forbidden(fg_call_t *call);
void fg_staff_bad(fg_call_t *call, int status, const char *vi, const char *en);
void fg_staff_unavailable(fg_call_t *call, fg_db_t *db, int rc);

/** An audit row for a page action the domain does not audit itself
 *  (actor: the session's e-mail).  0 or a database code. */
int fg_staff_audit(fg_db_t *db, const fg_staff_ctx_t *ctx, const char *action, const char *object,
                   const char *after_json) FG_MUST_USE;

/** Money as people write it: "4.500.000 ₫" (VND) or "12,50 USD". */
void fg_staff_money(fg_html_t *p, int64_t amount, const char *currency);

/** A time in ms as "YYYY-MM-DD HH:MM" in GMT+7; "" for 0. */
void fg_staff_time(fg_html_t *p, int64_t ms);

/* ---- the pages (routes in api/routes.c) ---- */

void fg_staff_login_page(fg_call_t *call, fg_db_t *db);
void fg_staff_login_post(fg_call_t *call, fg_db_t *db);
void fg_staff_logout(fg_call_t *call, fg_db_t *db);
void fg_staff_overview(fg_call_t *call, fg_db_t *db);
void fg_staff_orders(fg_call_t *call, fg_db_t *db);
void fg_staff_order(fg_call_t *call, fg_db_t *db);
void fg_staff_statements(fg_call_t *call, fg_db_t *db);
void fg_staff_statements_post(fg_call_t *call, fg_db_t *db);
void fg_staff_reconciliations(fg_call_t *call, fg_db_t *db);
void fg_staff_reconciliations_post(fg_call_t *call, fg_db_t *db);
void fg_staff_reconciliation(fg_call_t *call, fg_db_t *db);
void fg_staff_resolve(fg_call_t *call, fg_db_t *db);
void fg_staff_reconciliation_close(fg_call_t *call, fg_db_t *db);
void fg_staff_reports(fg_call_t *call, fg_db_t *db);
void fg_staff_report_file(fg_call_t *call, fg_db_t *db);
void fg_staff_audit_page(fg_call_t *call, fg_db_t *db);
void fg_staff_users(fg_call_t *call, fg_db_t *db);
void fg_staff_users_unlock(fg_call_t *call, fg_db_t *db);
void fg_staff_bills(fg_call_t *call, fg_db_t *db);
void fg_staff_bills_post(fg_call_t *call, fg_db_t *db);
void fg_staff_bills_commit(fg_call_t *call, fg_db_t *db);
void fg_staff_bills_result(fg_call_t *call, fg_db_t *db);
void fg_staff_merchants(fg_call_t *call, fg_db_t *db);
void fg_staff_merchants_create(fg_call_t *call, fg_db_t *db);
void fg_staff_key_create(fg_call_t *call, fg_db_t *db);
void fg_staff_key_rotate(fg_call_t *call, fg_db_t *db);
void fg_staff_key_revoke(fg_call_t *call, fg_db_t *db);
void fg_staff_webhooks(fg_call_t *call, fg_db_t *db);
void fg_staff_payouts(fg_call_t *call, fg_db_t *db);
void fg_staff_payout_create(fg_call_t *call, fg_db_t *db);
void fg_staff_payout(fg_call_t *call, fg_db_t *db);
void fg_staff_payout_batch_create(fg_call_t *call, fg_db_t *db);
void fg_staff_payout_batch(fg_call_t *call, fg_db_t *db);
void fg_staff_payout_batch_file(fg_call_t *call, fg_db_t *db);
void fg_staff_webhook_endpoint_post(fg_call_t *call, fg_db_t *db);
void fg_staff_redeliver(fg_call_t *call, fg_db_t *db);
/** GET /assets/staff.css: the staff pages' own stylesheet. */
void fg_staff_css(fg_call_t *call, fg_db_t *db);

#endif
