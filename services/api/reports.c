/*
 * reports.c - GET /v1/reports/collections and GET /v1/reports/outstanding
 * (docs/REPORTS.md): the query read and checked here, the report made by
 * reports/, served as JSON, CSV or XLSX (?format=).  A merchant key sees its
 * own rows only; staff see every merchant's, or one's with ?merchant_id=.
 */
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>
#include "core/day.h"
#include "core/money.h"
#include "core/text.h"
#include "recon/recon.h"
#include "reports/reports.h"

typedef enum { FORMAT_JSON, FORMAT_CSV, FORMAT_XLSX } format_t;

static const char CSV_TYPE[] = "text/csv; charset=utf-8";
static const char XLSX_TYPE[] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

static void bad(fg_call_t *call, const char *code, const char *message, const char *field)
{
    fg_call_error(call, 400, "invalid_request", code, message, field);
}

/* ?format=: 0, or -1 answered */
static int read_format(fg_call_t *call, format_t *f)
{
    size_t len;
    const char *v = fg_call_query(call, "format", &len);
    *f = FORMAT_JSON;
    if (v == NULL || len == 0 || strcmp(v, "json") == 0)
        return 0;
    if (strcmp(v, "csv") == 0)
        *f = FORMAT_CSV;
    else if (strcmp(v, "xlsx") == 0)
        *f = FORMAT_XLSX;
    else {
        bad(call, "invalid_format", "format must be json, csv or xlsx", "format");
        return -1;
    }
    return 0;
}

/* ?source=: where a report reads its figures, `usual` (the default) or `scan` (the rows
 * themselves, a check); *scanning set to 1 for scan.  0, or -1 answered. */
static int read_source(fg_call_t *call, const char *usual, const char *scan, int *scanning)
{
    size_t len;
    const char *v = fg_call_query(call, "source", &len);
    if (v == NULL || len == 0)
        return 0;
    if (strcmp(v, scan) != 0 && strcmp(v, usual) != 0) {
        char msg[80];
        snprintf(msg, sizeof(msg), "source must be %s (the default) or %s", usual, scan);
        bad(call, "invalid_source", msg, "source");
        return -1;
    }
    *scanning = strcmp(v, scan) == 0;
    return 0;
}

/* A "YYYY-MM-DD" query parameter; when absent, *day is left as it is unless required.  0, or -1 answered. */
static int read_day(fg_call_t *call, const char *name, int required, int32_t *day)
{
    size_t len;
    const char *v = fg_call_query(call, name, &len);
    char msg[80];
    if (v == NULL || len == 0) {
        if (!required)
            return 0;
        snprintf(msg, sizeof(msg), "%s is required, as YYYY-MM-DD (a business day in GMT+7)", name);
        bad(call, "missing_field", msg, name);
        return -1;
    }
    if (fg_day_parse(v, len, day) != 0) {
        snprintf(msg, sizeof(msg), "%s must be a date as YYYY-MM-DD", name);
        bad(call, "invalid_date", msg, name);
        return -1;
    }
    return 0;
}

/* from and to (both required), to not before from, at most
 * FG_REPORT_DAYS_MAX days: 0, or -1 answered. */
static int read_period(fg_call_t *call, int32_t *from, int32_t *to)
{
    if (read_day(call, "from", 1, from) != 0 || read_day(call, "to", 1, to) != 0)
        return -1;
    if (*to < *from) {
        bad(call, "invalid_period", "to must not be before from", "to");
        return -1;
    }
    if (fg_day_number(*to) - fg_day_number(*from) >= FG_REPORT_DAYS_MAX) {
        char msg[80];
        snprintf(msg, sizeof(msg), "a report covers at most %d days", FG_REPORT_DAYS_MAX);
        fg_call_error(call, 422, "invalid_request", "period_too_long", msg, "to");
        return -1;
    }
    return 0;
}

/* ?currency=: an active ISO 4217 code into out, "" when absent.  0, or -1 answered. */
static int read_currency(fg_call_t *call, char out[4])
{
    size_t len;
    const char *v = fg_call_query(call, "currency", &len);
    out[0] = '\0';
    if (v == NULL || len == 0)
        return 0;
    const fg_currency_t *c = fg_currency_find(v, len);
    if (c == NULL) {
        bad(call, "invalid_currency", "currency must be an ISO 4217 code in upper case, such as VND or USD",
            "currency");
        return -1;
    }
    snprintf(out, 4, "%s", c->code);
    return 0;
}

static int read_group(fg_call_t *call, unsigned allowed, fg_group_by_t *by)
{
    size_t len;
    const char *v = fg_call_query(call, "group_by", &len);
    char msg[160];
    if (fg_group_by_parse(v, v != NULL ? len : 0, allowed, by, msg, sizeof(msg)) != 0) {
        bad(call, "invalid_group_by", msg, "group_by");
        return -1;
    }
    return 0;
}

/* Whose rows: a merchant key its own; staff every merchant or ?merchant_id=.  0, or -1 answered. */
static int read_scope(fg_call_t *call, fg_db_t *db, uint64_t *merchant_id)
{
    size_t len;
    const char *v = fg_call_query(call, "merchant_id", &len);
    /* a merchant key, or a staff account scoped to one merchant, reads that merchant's rows */
    int scoped = !fg_call_is_staff(call) || call->merchant_id != 0;
    *merchant_id = scoped ? call->merchant_id : 0;
    if (v == NULL || len == 0)
        return 0;
    if (scoped) {
        if (strcmp(v, call->merchant_public_id) == 0)
            return 0;
        fg_call_error(call, 404, "not_found", "merchant_not_found", "no such merchant", "merchant_id");
        return -1;
    }
    uint64_t id = 0;
    int rc = fg_report_merchant(db, v, len, &id);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "merchant_not_found", "no such merchant", "merchant_id");
        return -1;
    }
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
        return -1;
    }
    *merchant_id = id;
    return 0;
}

/* The report, or its failure, as the answer. */
static void answer(fg_call_t *call, fg_db_t *db, int rc, fg_table_t *t, format_t format, const char *name,
                   const char *json_head)
{
    if (rc == FG_ETOOLONG) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the report would have more than %d rows: narrow the period or the grouping",
                 FG_TABLE_ROWS_MAX);
        fg_call_error(call, 422, "invalid_request", "report_too_large", msg, NULL);
        return;
    }
    if (rc == FG_EOVERFLOW) {
        fg_call_error(call, 422, "invalid_request", "amount_overflow", "a total does not fit a 64-bit amount", NULL);
        return;
    }
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
        return;
    }
    fg_buf_t b = FG_BUF_INIT;
    char disposition[160];
    if (format == FORMAT_JSON) {
        fg_buf_putc(&b, '{');
        fg_buf_puts(&b, json_head);
        fg_table_json(t, &b);
        fg_buf_putc(&b, '}');
        fg_call_json(call, 200, &b);
        return;
    }
    if (format == FORMAT_CSV) {
        fg_table_csv(t, &b);
        snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.csv\"", name);
        fg_call_add_header(call, "content-disposition", disposition);
        fg_call_body(call, 200, CSV_TYPE, &b);
        return;
    }
    if (fg_table_xlsx(t, "Report", &b) != 0) {
        fg_buf_free(&b);
        fg_call_error(call, 500, "internal", "internal_error", "the spreadsheet could not be written", NULL);
        return;
    }
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.xlsx\"", name);
    fg_call_add_header(call, "content-disposition", disposition);
    fg_call_body(call, 200, XLSX_TYPE, &b);
}

/* The query as echoed at the head of the JSON answer. */
static void json_head(fg_buf_t *h, const char *const *days, const int32_t *values, int n)
{
    char text[11];
    for (int i = 0; i < n; i++) {
        fg_day_format(values[i], text);
        fg_json_kv_str(h, 1, days[i], text);
    }
}

/* ---- GET /v1/reports/collections ---------------------------------------------------- */

void fg_reports_collections(fg_call_t *call, fg_db_t *db)
{
    fg_collections_query_t q;
    memset(&q, 0, sizeof(q));
    format_t format;
    if (read_format(call, &format) != 0 || read_period(call, &q.from_day, &q.to_day) != 0 ||
        read_group(call, FG_DIMS_COLLECTIONS, &q.group) != 0)
        return;
    if (read_source(call, "rollups", "journals", &q.from_journals) != 0 || read_currency(call, q.currency) != 0 ||
        read_scope(call, db, &q.merchant_id) != 0)
        return;
    fg_table_t t;
    fg_table_init(&t);
    fg_db_t *rdb = fg_db_reader(db); /* a replica when configured (db.read_host) */
    int rc = fg_report_collections(rdb, &q, &t);
    fg_db_end(rdb);
    fg_buf_t head = FG_BUF_INIT;
    fg_json_kv_str(&head, 0, "report", "collections");
    static const char *const NAMES[] = {"from", "to"};
    int32_t days[2] = {q.from_day, q.to_day};
    json_head(&head, NAMES, days, 2);
    if (q.currency[0] != '\0')
        fg_json_kv_str(&head, 1, "currency", q.currency);
    fg_buf_putc(&head, ',');
    char name[64], from[11], to[11];
    fg_day_format(q.from_day, from);
    fg_day_format(q.to_day, to);
    snprintf(name, sizeof(name), "collections-%s-%s", from, to);
    answer(call, rdb, rc, &t, format, name, head.data);
    fg_buf_free(&head);
    fg_table_free(&t);
}

/* ---- GET /v1/reports/outstanding ---------------------------------------------------- */

void fg_reports_outstanding(fg_call_t *call, fg_db_t *db)
{
    fg_outstanding_query_t q;
    memset(&q, 0, sizeof(q));
    format_t format;
    q.now_ms = fg_now_ms();
    q.as_of = fg_day_of_ms(q.now_ms);
    size_t len;
    const char *detail = fg_call_query(call, "detail", &len);
    if (detail != NULL && len > 0) {
        if (strcmp(detail, "orders") != 0) {
            bad(call, "invalid_detail", "detail must be \"orders\" (one row per order) or left out", "detail");
            return;
        }
        q.detail = 1;
    }
    if (read_source(call, "totals", "orders", &q.from_orders) != 0 || read_format(call, &format) != 0 ||
        read_day(call, "as_of", 0, &q.as_of) != 0 || read_group(call, FG_DIMS_OUTSTANDING, &q.group) != 0 ||
        read_currency(call, q.currency) != 0 || read_scope(call, db, &q.merchant_id) != 0)
        return;
    fg_table_t t;
    fg_table_init(&t);
    fg_db_t *rdb = fg_db_reader(db); /* a replica when configured (db.read_host) */
    int rc = fg_report_outstanding(rdb, &q, &t);
    fg_db_end(rdb);
    fg_buf_t head = FG_BUF_INIT;
    fg_json_kv_str(&head, 0, "report", "outstanding");
    static const char *const NAMES[] = {"as_of"};
    json_head(&head, NAMES, &q.as_of, 1);
    if (q.currency[0] != '\0')
        fg_json_kv_str(&head, 1, "currency", q.currency);
    fg_buf_putc(&head, ',');
    char name[64], as_of[11];
    fg_day_format(q.as_of, as_of);
    snprintf(name, sizeof(name), "outstanding-%s", as_of);
    answer(call, rdb, rc, &t, format, name, head.data);
    fg_buf_free(&head);
    fg_table_free(&t);
}

/* ---- GET /v1/reports/merchant-statement --------------------------------------------- */

void fg_reports_merchant_statement(fg_call_t *call, fg_db_t *db)
{
    fg_merchant_statement_t st;
    memset(&st, 0, sizeof(st));
    format_t format;
    if (read_format(call, &format) != 0 || read_period(call, &st.from_day, &st.to_day) != 0 ||
        read_currency(call, st.currency) != 0)
        return;
    if (read_scope(call, db, &st.merchant_id) != 0)
        return;
    if (st.merchant_id == 0) {
        bad(call, "missing_field", "merchant_id is required: a statement is one merchant's", "merchant_id");
        return;
    }
    fg_table_t t;
    fg_table_init(&t);
    fg_db_t *rdb = fg_db_reader(db); /* a replica when configured (db.read_host) */
    int rc = fg_report_merchant_statement(rdb, &st, &t);
    fg_db_end(rdb);
    if (rc == FG_ECHECKSUM) {
        fg_call_error(call, 500, "internal", "ledger_inconsistent",
                      "the account's movements do not add up to its balance; run feegate ledger check", NULL);
        fg_table_free(&t);
        return;
    }
    fg_buf_t head = FG_BUF_INIT;
    fg_json_kv_str(&head, 0, "report", "merchant_statement");
    fg_json_kv_str(&head, 1, "merchant_id", st.merchant_public_id);
    fg_json_kv_str(&head, 1, "merchant_name", st.merchant_name);
    static const char *const NAMES[] = {"from", "to"};
    int32_t days[2] = {st.from_day, st.to_day};
    json_head(&head, NAMES, days, 2);
    fg_json_kv_str(&head, 1, "currency", st.currency); /* VND unless ?currency= named another */
    fg_json_kv_int(&head, 1, "opening_balance", st.opening);
    fg_json_kv_int(&head, 1, "collections", st.collections);
    fg_json_kv_int(&head, 1, "refunds", st.refunds);
    fg_json_kv_int(&head, 1, "fees", st.fees);
    fg_json_kv_int(&head, 1, "payouts", st.payouts);
    fg_json_kv_int(&head, 1, "adjustments", st.adjustments);
    fg_json_kv_int(&head, 1, "closing_balance", st.closing);
    fg_buf_putc(&head, ',');
    char name[96], from[11], to[11];
    fg_day_format(st.from_day, from);
    fg_day_format(st.to_day, to);
    snprintf(name, sizeof(name), "statement-%s-%s-%s", st.merchant_public_id, from, to);
    answer(call, rdb, rc, &t, format, name, head.data);
    fg_buf_free(&head);
    fg_table_free(&t);
}

/* ---- GET /v1/reports/reconciliation ------------------------------------------------- */

void fg_reports_reconciliation(fg_call_t *call, fg_db_t *db)
{
    fg_recon_report_query_t q;
    memset(&q, 0, sizeof(q));
    format_t format;
    size_t len;
    if (read_format(call, &format) != 0 || read_period(call, &q.from_day, &q.to_day) != 0)
        return;
    char key[FG_STMT_ACCOUNT_MAX + 1]; /* as statements key it */
    const char *account = fg_call_query(call, "account", &len);
    if (account != NULL && len == 0)
        account = NULL; /* "account=": every account, as without it */
    if (account != NULL && fg_bank_account_key(account, len, key, sizeof(key), FG_STMT_ACCOUNT_MAX) < 0) {
        bad(call, "invalid_account",
            "account is a bank account number: 1 to 34 letters and digits (spaces, dots and dashes aside)", "account");
        return;
    }
    q.account = account != NULL ? key : NULL;
    if (read_source(call, "totals", "items", &q.from_items) != 0 || read_currency(call, q.currency) != 0)
        return;
    fg_table_t t;
    fg_table_init(&t);
    fg_db_t *rdb = fg_db_reader(db); /* a replica when configured (db.read_host) */
    int rc = fg_report_reconciliation(rdb, &q, &t);
    fg_db_end(rdb);
    fg_buf_t head = FG_BUF_INIT;
    fg_json_kv_str(&head, 0, "report", "reconciliation");
    static const char *const NAMES[] = {"from", "to"};
    int32_t days[2] = {q.from_day, q.to_day};
    json_head(&head, NAMES, days, 2);
    if (q.account != NULL && q.account[0] != '\0')
        fg_json_kv_str(&head, 1, "account", q.account);
    if (q.currency[0] != '\0')
        fg_json_kv_str(&head, 1, "currency", q.currency);
    fg_buf_putc(&head, ',');
    char name[64], from[11], to[11];
    fg_day_format(q.from_day, from);
    fg_day_format(q.to_day, to);
    snprintf(name, sizeof(name), "reconciliation-%s-%s", from, to);
    answer(call, rdb, rc, &t, format, name, head.data);
    fg_buf_free(&head);
    fg_table_free(&t);
}
