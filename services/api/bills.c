/*
 * bills.c - POST /v1/orders/import: a month's bills from a CSV or XLSX file
 * (orders/bills.h).  ?dry_run=true previews without writing; otherwise the
 * whole file is created in one transaction or, when a row is invalid,
 * nothing is.  ?result=csv answers the result file (each row's code and pay
 * link, for a mail merge) instead of JSON.
 */
#include "api/handlers.h"

#include <string.h>
#include "core/text.h"
#include "db/group.h"
#include "orders/bills.h"

#define XLSX_MIME "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

typedef struct {
    fg_bills_t *bills;
    fg_merchant_ref_t merchant;
    int64_t now_ms;
} commit_t;

static int commit_set_tx(fg_db_t *db, void *arg)
{
    commit_t *c = arg;
    return fg_bills_commit(db, &c->merchant, c->bills, c->now_ms, 1);
}

static int commit_each_tx(fg_db_t *db, void *arg)
{
    commit_t *c = arg;
    return fg_bills_commit(db, &c->merchant, c->bills, c->now_ms, 0);
}

/* -1 after answering 400 for a bad value; 0 absent (dflt), 1 present. */
static int flag(fg_call_t *call, const char *name, int *out)
{
    const char *v = fg_call_query(call, name, NULL);
    if (v == NULL)
        return 0;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else {
        fg_call_error(call, 400, "invalid_request", "invalid_parameter", "use true or false", name);
        return -1;
    }
    return 1;
}

/* The file's format from ?format=, else Content-Type, else its first bytes;
 * -1 after answering 400. */
static int file_format(fg_call_t *call, fg_sheet_format_t *out)
{
    const char *f = fg_call_query(call, "format", NULL);
    const char *type = fg_call_header(call, "content-type");
    if (f != NULL) {
        if (strcmp(f, "csv") == 0)
            *out = FG_SHEET_CSV;
        else if (strcmp(f, "xlsx") == 0)
            *out = FG_SHEET_XLSX;
        else {
            fg_call_error(call, 400, "invalid_request", "invalid_format", "format is csv or xlsx", "format");
            return -1;
        }
    } else if (type != NULL && strncmp(type, "text/csv", 8) == 0) {
        *out = FG_SHEET_CSV;
    } else if (type != NULL && strncmp(type, XLSX_MIME, strlen(XLSX_MIME)) == 0) {
        *out = FG_SHEET_XLSX;
    } else {
        *out = fg_sheet_sniff(call->body, call->body_len);
    }
    return 0;
}

void fg_orders_import(fg_call_t *call, fg_db_t *db)
{
    int dry_run = 0, csv = 0;
    fg_sheet_format_t format;
    if (flag(call, "dry_run", &dry_run) < 0 || file_format(call, &format) < 0)
        return;
    const char *result = fg_call_query(call, "result", NULL);
    if (result != NULL && strcmp(result, "csv") != 0 && strcmp(result, "json") != 0) {
        fg_call_error(call, 400, "invalid_request", "invalid_parameter", "result is json or csv", "result");
        return;
    }
    csv = result != NULL && strcmp(result, "csv") == 0;
    if (call->body_len == 0) {
        fg_call_error(call, 400, "invalid_request", "missing_body", "send the CSV or XLSX file as the body", NULL);
        return;
    }
    fg_bills_defaults_t defaults = {fg_call_query(call, "fee_type", NULL), fg_call_query(call, "category", NULL)};
    fg_bills_t bills;
    fg_buf_t body = FG_BUF_INIT;
    int64_t now = fg_now_ms();
    fg_bills_init(&bills);
    if (fg_bills_read(&bills, format, call->body, call->body_len, &defaults, now) != 0) {
        fg_call_error(call, 422, "invalid_request", "invalid_file", bills.error, NULL);
        goto Exit;
    }
    int status = 200;
    fg_merchant_ref_t merchant = fg_call_merchant(call);
    if (dry_run) {
        /* the preview names the rows that are orders already, and those whose order differs */
        int rc = fg_bills_lookup(db, &merchant, &bills);
        fg_db_end(db);
        if (rc != 0) {
            fg_call_db_error(call, db, rc);
            goto Exit;
        }
    } else if (bills.invalid > 0) {
        status = 422;
    } else {
        commit_t c = {&bills, merchant, now};
        int rc = fg_db_tx_set_or_each(db, commit_set_tx, commit_each_tx, &c, NULL);
        if (rc == FG_ECONFLICT && bills.invalid > 0) {
            status = 422; /* rows conflict with the merchant's orders: nothing was created */
        } else if (rc != 0) {
            fg_call_db_error(call, db, rc == FG_EINVALID ? FG_ERETRY : rc);
            goto Exit;
        }
    }
    if (csv) {
        fg_bills_csv(&body, &bills, call->cfg->public_base_url);
        fg_call_add_header(call, "content-disposition", "attachment; filename=\"bills-result.csv\"");
        fg_call_body(call, status, "text/csv; charset=utf-8", &body);
    } else if (status == 422) {
        fg_buf_puts(&body, "{\"error\":{");
        fg_json_kv_str(&body, 0, "type", "invalid_request");
        fg_json_kv_str(&body, 1, "code", "invalid_rows");
        fg_buf_printf(&body, ",\"message\":\"%zu of %zu rows are invalid; nothing was created\"}", bills.invalid,
                      bills.count);
        fg_json_key(&body, 1, "bills");
        fg_bills_json(&body, &bills, 0, call->cfg->public_base_url);
        fg_buf_putc(&body, '}');
        fg_call_json(call, status, &body);
    } else {
        fg_bills_json(&body, &bills, !dry_run, call->cfg->public_base_url);
        fg_call_json(call, status, &body);
    }
Exit:
    fg_buf_free(&body);
    fg_bills_free(&bills);
}
