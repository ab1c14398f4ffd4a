/*
 * statements.c - POST /v1/statements: a bank statement file as the request
 * body (docs/DESIGN.md §7).  The format comes from ?format=, else the
 * Content-Type, else the file's first bytes.  201 with the import; 200 with
 * "duplicate_of" for a file imported before; 422 statement_unbalanced when
 * opening + lines differs from closing; 400 invalid_statement naming the
 * line or element (error type invalid_request, as every refused input).
 * Nothing is stored unless the whole file is good.
 */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/text.h"
#include "recon/recon.h"

/* Where the format comes from: 0, or -1 after answering. */
static int format_of(fg_call_t *call, fg_stmt_format_t *format)
{
    size_t len;
    const char *v = fg_call_query(call, "format", &len);
    if (v != NULL && len > 0) {
        if (fg_stmt_format_parse(v, len, format) == 0)
            return 0;
        fg_call_error(call, 400, "invalid_request", "invalid_format",
                      "format must be camt.053, camt.054, mt940, csv or csv-vn", "format");
        return -1;
    }
    int rc = fg_stmt_format_from_content_type(fg_call_header(call, "content-type"), format);
    if (rc == 0)
        return 0;
    if (rc == FG_EINVALID) {
        fg_call_error(call, 415, "invalid_request", "unsupported_media_type",
                      "Content-Type must name a statement format (application/xml, application/vnd.swift.mt940, "
                      "text/csv), or ?format= the file's format",
                      NULL);
        return -1;
    }
    if (fg_stmt_format_sniff(call->body, call->body_len, format) == 0)
        return 0;
    fg_call_error(call, 400, "invalid_request", "unknown_format",
                  "the file is not a statement this service reads; name its format with ?format=", "format");
    return -1;
}

void fg_statements_import(fg_call_t *call, fg_db_t *db)
{
    fg_stmt_format_t format;
    fg_import_result_t r;
    fg_stmt_error_t err;
    char who[320];
    if (call->body_len == 0) {
        fg_call_error(call, 400, "invalid_request", "empty_file", "the request body must be the statement file", NULL);
        return;
    }
    if (format_of(call, &format) != 0)
        return;
    snprintf(who, sizeof(who), "staff:%s", call->staff_email);
    fg_stmt_source_t src = {call->body, call->body_len, NULL};
    int rc = fg_statement_import(db, &src, format, who, &r, &err);
    fg_buf_t b = FG_BUF_INIT;
    if (rc == 0) {
        fg_import_json(&b, &r);
        fg_call_json(call, r.duplicate ? 200 : 201, &b);
    } else if (rc == FG_EINVALID) {
        fg_buf_puts(&b, "{\"error\":{");
        fg_json_kv_str(&b, 0, "type", "invalid_request");
        fg_json_kv_str(&b, 1, "code", "invalid_statement");
        fg_json_kv_str(&b, 1, "message", err.message);
        fg_json_kv_str(&b, 1, "format", fg_stmt_format_name(format));
        if (err.line > 0)
            fg_json_kv_int(&b, 1, "line", err.line);
        if (err.element[0] != '\0')
            fg_json_kv_str(&b, 1, "element", err.element);
        fg_buf_puts(&b, "}}");
        fg_call_json(call, 400, &b);
    } else if (rc == FG_ECHECKSUM) {
        int64_t expected = 0;
        int overflows = fg_money_add(r.opening, r.lines_total, &expected) != 0;
        char msg[200];
        if (overflows)
            snprintf(msg, sizeof(msg), "statement %d: opening %lld + lines %lld is out of range; its closing is %lld",
                     r.unbalanced_index, (long long)r.opening, (long long)r.lines_total, (long long)r.closing);
        else
            snprintf(msg, sizeof(msg),
                     "statement %d: opening %lld + lines %lld = %lld, but its closing balance is %lld",
                     r.unbalanced_index, (long long)r.opening, (long long)r.lines_total, (long long)expected,
                     (long long)r.closing);
        fg_buf_puts(&b, "{\"error\":{");
        fg_json_kv_str(&b, 0, "type", "invalid_request");
        fg_json_kv_str(&b, 1, "code", "statement_unbalanced");
        fg_json_kv_str(&b, 1, "message", msg);
        fg_json_kv_int(&b, 1, "statement", r.unbalanced_index);
        fg_json_kv_int(&b, 1, "opening", r.opening);
        fg_json_kv_int(&b, 1, "lines_total", r.lines_total);
        if (!overflows)
            fg_json_kv_int(&b, 1, "expected_closing", expected);
        fg_json_kv_int(&b, 1, "closing", r.closing);
        fg_buf_puts(&b, "}}");
        fg_call_json(call, 422, &b);
    } else if (rc == FG_ERANGE && call->body_len > FG_STMT_FILE_MAX) {
        fg_call_error(call, 413, "invalid_request", "body_too_large", "a statement file is at most 64 MiB", NULL);
    } else if (rc == FG_ERANGE) { /* more booking days than one import posts (recon/bank.c) */
        fg_call_error(call, 422, "invalid_request", "statement_too_long",
                      "the statement covers more booking days than one import takes (about three years); import it "
                      "in parts, a period at a time",
                      NULL);
    } else {
        fg_call_db_error(call, db, rc);
    }
    fg_buf_free(&b);
}

/* ---- reconciliations -------------------------------------------------------------- */

/* "YYYY-MM-DD" as yyyymmdd; 0 or -1. */
/* A required business day "YYYY-MM-DD": absent or not a string is the
 * request's shape (400), a string that is no date its value (422). */
static int required_day(yajl_val root, const char *name, int32_t *out, fg_field_error_t *err)
{
    int y, m, d, n = 0;
    const char *s = NULL;
    if (fg_json_required_string(fg_json_member(root, name), name, 10, &s, err) != 0) {
        if (err->kind != FG_FIELD_UNACCEPTABLE) /* too long: a malformed date, said as one */
            return -1;
    } else if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 &&
               fg_stmt_date(y, m, d, out) == 0) {
        return 0;
    }
    return fg_field_fail(err, FG_FIELD_UNACCEPTABLE, "invalid_date", name, "%s must be a date YYYY-MM-DD", name);
}

typedef struct {
    fg_call_t *call;
    const char *public_id;
    fg_buf_t body;
} created_t;

/* Last in the reconciliation's transaction: its answer, stored under the
 * request's key in the same transaction, so that a retry (or a twin at once)
 * with the key makes no second reconciliation and re-queues nothing again. */
static int created_answer(fg_db_t *db, void *arg)
{
    created_t *a = arg;
    fg_reconciliation_t r;
    a->call->idem_stored = 0; /* a run again after a rollback stores again */
    int rc = fg_reconciliation_read(db, a->public_id, &r);
    if (rc != 0)
        return rc;
    fg_buf_reset(&a->body);
    fg_reconciliation_json(&a->body, &r);
    return fg_idem_store(db, a->call, 201, &a->body);
}

void fg_reconciliations_create(fg_call_t *call, fg_db_t *db)
{
    fg_field_error_t err;
    int32_t from = 0, to = 0;
    const char *account = NULL;
    char id[FG_ID_CAP], who[320];
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL) {
        fg_call_field_error(call, &err);
        return;
    }
    static const char *const FIELDS[] = {"account", "from", "to"};
    if (fg_json_known_fields(root, FIELDS, 3, &err) != 0 ||
        fg_json_required_string(fg_json_member(root, "account"), "account", FG_STMT_ACCOUNT_WRITTEN_MAX, &account,
                                &err) != 0) {
        fg_call_field_error(call, &err);
    } else if (required_day(root, "from", &from, &err) != 0 || required_day(root, "to", &to, &err) != 0) {
        fg_call_field_error(call, &err);
    } else if (from > to) {
        fg_call_error(call, 422, "invalid_request", "invalid_period", "from must not be after to", "from");
    } else {
        snprintf(who, sizeof(who), "staff:%s", call->staff_email);
        created_t a = {call, id, FG_BUF_INIT};
        int rc = fg_reconciliation_create(db, call->cfg, account, from, to, who, id, created_answer, &a);
        if (rc == 0)
            fg_call_json(call, 201, &a.body);
        else if (rc == FG_EINVALID) /* the period is checked above: the account is no account number */
            fg_call_error(call, 422, "invalid_request", "invalid_account",
                          "account is a bank account number: 1 to 34 letters and digits (spaces, dots and dashes "
                          "aside)",
                          "account");
        else if (rc == FG_ECONFLICT && call->idem_taken)
            fg_idem_answer_conflict(call, db);
        else
            fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
        fg_buf_free(&a.body);
    }
    yajl_tree_free(root);
}

/* The reconciliation named by the path, or -1 after answering. */
static int load(fg_call_t *call, fg_db_t *db, fg_reconciliation_t *r)
{
    int rc = fg_reconciliation_get(db, call->params[0], r);
    if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "reconciliation_not_found", "no such reconciliation", NULL);
    else if (rc != 0)
        fg_call_db_error(call, db, rc);
    return rc == 0 ? 0 : -1;
}

void fg_reconciliations_get(fg_call_t *call, fg_db_t *db)
{
    fg_reconciliation_t r;
    if (load(call, db, &r) != 0)
        return;
    fg_buf_t b = FG_BUF_INIT;
    fg_reconciliation_json(&b, &r);
    fg_call_json(call, 200, &b);
}

void fg_reconciliations_items(fg_call_t *call, fg_db_t *db)
{
    fg_reconciliation_t r;
    fg_recon_state_t state;
    fg_page_t page;
    size_t len;
    int has_state = 0, more = 0;
    int64_t last = 0;
    if (fg_call_page(call, &page) != 0)
        return;
    const char *v = fg_call_query(call, "state", &len);
    if (v != NULL && len > 0) {
        if (fg_recon_state_parse(v, len, &state) != 0) {
            fg_call_error(call, 400, "invalid_request", "invalid_state",
                          "state must be unmatched, matched, suggested, bank_only, ledger_only, amount_mismatch or "
                          "duplicate",
                          "state");
            return;
        }
        has_state = 1;
    }
    if (load(call, db, &r) != 0)
        return;
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    int rc = fg_reconciliation_items(db, &r, has_state ? &state : NULL, page.cursor, page.limit, &b, &last, &more);
    if (rc == 0) {
        fg_page_close(&b, more, last);
        fg_call_json(call, 200, &b);
    } else {
        fg_call_db_error(call, db, rc);
    }
    fg_buf_free(&b);
}

/* The resolution in a request body; 0, or -1 after answering. */
static int parse_resolution(fg_call_t *call, yajl_val root, fg_recon_resolution_t *in)
{
    fg_field_error_t err;
    const char *action = NULL;
    static const char *const FIELDS[] = {"action", "note", "orders"}, *const ORDER_FIELDS[] = {"order", "amount"};
    memset(in, 0, sizeof(*in));
    if (fg_json_known_fields(root, FIELDS, 3, &err) != 0 ||
        fg_json_required_string(fg_json_member(root, "action"), "action", 16, &action, &err) != 0 ||
        fg_json_string(fg_json_member(root, "note"), "note", FG_RECON_NOTE_MAX * 4, 1, &in->note, &err) != 0) {
        fg_call_field_error(call, &err);
        return -1;
    }
    if (in->note == NULL || in->note[0] == '\0' || fg_utf8_length(in->note, strlen(in->note)) > FG_RECON_NOTE_MAX) {
        fg_call_error(call, 422, "invalid_request", "note_required",
                      "a resolution needs a note of 1 to 1000 characters", "note");
        return -1;
    }
    static const struct {
        const char *name;
        fg_recon_action_t action;
    } ACTIONS[] = {{"accept", FG_RECON_ACCEPT},
                   {"write_off", FG_RECON_WRITE_OFF},
                   {"undo", FG_RECON_UNDO},
                   {"refund", FG_RECON_REFUND}};
    for (size_t i = 0; i < sizeof(ACTIONS) / sizeof(ACTIONS[0]); i++)
        if (strcmp(action, ACTIONS[i].name) == 0) {
            in->action = ACTIONS[i].action;
            return 0;
        }
    if (strcmp(action, "apply") != 0) {
        fg_call_error(call, 422, "invalid_request", "action_not_supported",
                      "action must be accept, apply, write_off, refund or undo", "action");
        return -1;
    }
    in->action = FG_RECON_APPLY;
    yajl_val orders = fg_json_member(root, "orders");
    if (orders != NULL && YAJL_IS_ARRAY(orders))
        for (size_t i = 0; i < orders->u.array.len; i++)
            if (fg_json_known_fields(orders->u.array.values[i], ORDER_FIELDS, 2, &err) != 0) {
                fg_call_field_error(call, &err);
                return -1;
            }
    if (orders == NULL || !YAJL_IS_ARRAY(orders) || orders->u.array.len == 0 ||
        orders->u.array.len > FG_RECON_ALLOCATIONS_MAX) {
        fg_call_error(call, 422, "invalid_request", "invalid_orders",
                      "apply needs orders: 1 to 20 objects {\"order\",\"amount\"}", "orders");
        return -1;
    }
    for (size_t i = 0; i < orders->u.array.len; i++) {
        yajl_val o = orders->u.array.values[i];
        yajl_val id = fg_json_member(o, "order"), amount = fg_json_member(o, "amount");
        if (id == NULL || !YAJL_IS_STRING(id) || amount == NULL || !YAJL_IS_INTEGER(amount) ||
            YAJL_GET_INTEGER(amount) < 1) {
            fg_call_error(call, 422, "invalid_request", "invalid_orders",
                          "each of orders is {\"order\": an order id, \"amount\": a positive integer}", "orders");
            return -1;
        }
        in->orders[i].order_id = YAJL_GET_STRING(id);
        in->orders[i].amount = YAJL_GET_INTEGER(amount);
    }
    in->order_count = (int)orders->u.array.len;
    return 0;
}

void fg_reconciliations_resolve(fg_call_t *call, fg_db_t *db)
{
    fg_field_error_t err;
    fg_reconciliation_t rec;
    fg_recon_resolution_t in;
    fg_recon_resolved_t out = {.json = FG_BUF_INIT};
    char *end = NULL;
    long long item = strtoll(call->params[1], &end, 10);
    if (end == call->params[1] || *end != '\0' || item < 1) {
        fg_call_error(call, 404, "not_found", "item_not_found", "no such item", NULL);
        return;
    }
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL) {
        fg_call_field_error(call, &err);
        return;
    }
    if (parse_resolution(call, root, &in) != 0 || load(call, db, &rec) != 0)
        goto Exit;
    int rc = fg_recon_resolve(db, call->cfg, &rec, item, &in, call->staff_email, &out);
    char msg[200];
    if (rc == 0) {
        fg_call_json(call, 200, &out.json);
    } else if (rc == FG_ENOTFOUND && out.bad_order >= 0) {
        snprintf(msg, sizeof(msg), "no such order: %s", in.orders[out.bad_order].order_id);
        fg_call_error(call, 422, "invalid_request", "order_not_found", msg, "orders");
    } else if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "item_not_found", "no such item in this reconciliation", NULL);
    } else if (rc == FG_ECONFLICT) {
        snprintf(msg, sizeof(msg), "the item is resolved already (%s)", out.resolution);
        fg_call_error(call, 409, "conflict", "item_resolved", msg, NULL);
    } else if (rc == FG_ESTATE && out.bad_order >= 0 && out.order_currency) {
        snprintf(msg, sizeof(msg), "order %s is in another currency than the line (%s): it cannot take its money",
                 in.orders[out.bad_order].order_id, rec.currency);
        fg_call_error(call, 422, "invalid_request", "order_currency", msg, "orders");
    } else if (rc == FG_ESTATE && out.bad_order >= 0) {
        snprintf(msg, sizeof(msg), "order %s cannot take %lld: it is closed, or that is not what it may be paid",
                 in.orders[out.bad_order].order_id, (long long)in.orders[out.bad_order].amount);
        fg_call_error(call, 422, "invalid_request", "order_not_payable", msg, "orders");
    } else if (rc == FG_ESTATE && out.day_closed) {
        fg_call_error(call, 409, "conflict", "day_closed",
                      "the item's business day is closed, and a closed day never changes: record a correction on an "
                      "open day instead",
                      NULL);
    } else if (rc == FG_ESTATE && in.action == FG_RECON_UNDO) {
        fg_call_error(call, 409, "conflict", "item_not_resolved", "the item has no resolution to undo", NULL);
    } else if (rc == FG_ESTATE) {
        snprintf(msg, sizeof(msg), "the item is %s: only an exception is resolved", out.state);
        fg_call_error(call, 409, "conflict", "item_not_exception", msg, NULL);
    } else if (rc == FG_EUNSUPPORTED && in.action == FG_RECON_UNDO) {
        fg_call_error(call, 422, "invalid_request", "undo_not_supported",
                      strcmp(out.resolution, "apply") == 0
                          ? "an apply is not undone: refund its payments like any other"
                          : "this refund's money has left the bank: it is not undone",
                      "action");
    } else if (rc == FG_EUNSUPPORTED && strcmp(out.kind, "settlement_row") == 0 &&
               (in.action == FG_RECON_APPLY || in.action == FG_RECON_REFUND)) {
        fg_call_error(call, 422, "invalid_request", "action_not_applicable",
                      "a settlement row holds no bank money: accept it or write it off", "action");
    } else if (rc == FG_EUNSUPPORTED && in.action == FG_RECON_REFUND) {
        fg_call_error(call, 422, "invalid_request", "not_a_credit", "only a credit at the bank goes back to a payer",
                      "action");
    } else if (rc == FG_EUNSUPPORTED && in.action == FG_RECON_WRITE_OFF) {
        fg_call_error(call, 500, "internal", "write_off_account_invalid",
                      "recon.write_off_account is not a ledger account code", NULL);
    } else if (rc == FG_EEXCEEDS) {
        fg_call_error(call, 422, "invalid_request", "allocation_exceeds_line",
                      "the orders' amounts add up to more than the line", "orders");
    } else if (rc == FG_EUNSUPPORTED) {
        fg_call_error(call, 422, "invalid_request", "not_a_credit", "only a credit's money can be applied", "action");
    } else {
        fg_call_db_error(call, db, rc);
    }
Exit:
    fg_buf_free(&out.json);
    yajl_tree_free(root);
}

/* A close's 409 with what it is about: the business day (yyyy-mm-dd) in
 * "day", or the count in "open_items". */
static void close_conflict(fg_call_t *call, const char *code, const char *message, const char *day, int64_t open_items)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_puts(&b, "{\"error\":{");
    fg_json_kv_str(&b, 0, "type", "conflict");
    fg_json_kv_str(&b, 1, "code", code);
    fg_json_kv_str(&b, 1, "message", message);
    if (day != NULL)
        fg_json_kv_str(&b, 1, "day", day);
    else
        fg_json_kv_int(&b, 1, "open_items", open_items);
    fg_buf_puts(&b, "}}");
    fg_call_json(call, 409, &b);
}

void fg_reconciliations_close(fg_call_t *call, fg_db_t *db)
{
    fg_reconciliation_t r;
    fg_recon_close_refusal_t why;
    if (fg_call_no_input(call) != 0 || load(call, db, &r) != 0)
        return;
    int rc = fg_reconciliation_close(db, &r, call->staff_email, call->cfg->recon_close_after_hour, &why);
    if (rc == FG_EUNSUPPORTED) {
        char msg[200], at[17];
        fg_day_time_format(why.closable_at, at);
        snprintf(msg, sizeof(msg),
                 "the period's last business day is not over: it may be closed from %s GMT+7 "
                 "(recon.close_after_hour)",
                 at);
        fg_call_error(call, 409, "conflict", "day_not_over", msg, "to");
    } else if (rc == FG_ESTATE) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "%lld item(s) of the period are neither matched nor resolved, or money the feed applied is still in "
                 "transit",
                 (long long)why.open_items);
        close_conflict(call, "reconciliation_open_items", msg, NULL, why.open_items);
    } else if (rc == FG_ECONFLICT || rc == FG_ECHECKSUM) {
        char msg[300], day[11];
        fg_day_format(why.day, day);
        if (rc == FG_ECONFLICT)
            snprintf(msg, sizeof(msg),
                     "%s, before the period, is not closed: the account's days close in order (reconcile and close "
                     "it first; a line of it the bank sends after a later day closed could no longer reach it)",
                     day);
        else
            snprintf(msg, sizeof(msg),
                     "on %s the statement's closing balance is not the ledger's bank balance: the day cannot close "
                     "with a difference (docs/RECONCILIATION.md, \"Closed days\")",
                     day);
        close_conflict(call, rc == FG_ECONFLICT ? "earlier_day_open" : "bank_balance_differs", msg, day, 0);
    } else if (rc == FG_ERANGE) {
        fg_call_error(call, 422, "invalid_request", "period_too_long", "a period to close is at most a year", NULL);
    } else if (rc != 0 || (rc = fg_reconciliation_get(db, call->params[0], &r)) != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        fg_reconciliation_json(&b, &r);
        fg_call_json(call, 200, &b);
    }
}

/* ---- gateway settlements ------------------------------------------------------------ */

void fg_settlements_import(fg_call_t *call, fg_db_t *db)
{
    size_t len;
    fg_settlement_result_t r;
    fg_stmt_error_t err;
    char who[320];
    const char *gateway = fg_call_query(call, "gateway", &len);
    if (gateway == NULL || (strcmp(gateway, "vnpay") != 0 && strcmp(gateway, "momo") != 0)) {
        fg_call_error(call, 400, "invalid_request", "invalid_gateway", "?gateway= must be vnpay or momo", "gateway");
        return;
    }
    snprintf(who, sizeof(who), "staff:%s", call->staff_email);
    int rc = fg_settlement_import(db, gateway, call->body != NULL ? call->body : "", call->body_len, who, &r, &err);
    fg_buf_t b = FG_BUF_INIT;
    if (rc == 0) {
        fg_settlement_json(&b, gateway, &r);
        fg_call_json(call, r.new_batches > 0 ? 201 : 200, &b);
    } else if (rc == FG_EINVALID) {
        fg_buf_puts(&b, "{\"error\":{");
        fg_json_kv_str(&b, 0, "type", "invalid_request");
        fg_json_kv_str(&b, 1, "code", "invalid_settlement");
        fg_json_kv_str(&b, 1, "message", err.message);
        if (err.line > 0)
            fg_json_kv_int(&b, 1, "line", err.line);
        fg_buf_puts(&b, "}}");
        fg_call_json(call, 400, &b);
    } else if (rc == FG_ERANGE) {
        fg_call_error(call, 413, "invalid_request", "body_too_large", "a settlement file is at most 64 MiB", NULL);
    } else {
        fg_call_db_error(call, db, rc);
    }
    fg_buf_free(&b);
}

/* ---- GET /v1/statements[/{id}[/lines]] ------------------------------------------------ */

/* What a read answered: the body, 404 for no such import, or the database's error. */
static void answer_read(fg_call_t *call, fg_db_t *db, int rc, fg_buf_t *body)
{
    fg_db_end(db);
    if (rc == 0)
        fg_call_json(call, 200, body);
    else if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "statement_import_not_found", "no such statement import", NULL);
    else
        fg_call_db_error(call, db, rc);
    fg_buf_free(body);
}

void fg_statements_list(fg_call_t *call, fg_db_t *db)
{
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return;
    fg_buf_t b = FG_BUF_INIT;
    answer_read(call, db, fg_statement_imports_json(db, &page, &b), &b);
}

void fg_statements_get(fg_call_t *call, fg_db_t *db)
{
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_id_valid("imp_", call->params[0], call->param_lens[0])
                 ? fg_statement_import_json(db, call->params[0], call->param_lens[0], &b)
                 : FG_ENOTFOUND;
    answer_read(call, db, rc, &b);
}

void fg_statements_lines(fg_call_t *call, fg_db_t *db)
{
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return;
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_id_valid("imp_", call->params[0], call->param_lens[0])
                 ? fg_statement_lines_json(db, call->params[0], call->param_lens[0], &page, &b)
                 : FG_ENOTFOUND;
    answer_read(call, db, rc, &b);
}
