/*
 * reconciliation.c - the reconciliation summary per business day and bank
 * account (reports.h): what finance staff check each morning before they
 * close yesterday.
 *
 * Four reads over the period, merged by (account, day): the items by state
 * (recon_day_totals, which keeps their counts per day as the items change:
 * no scan of the period's items), the statements' closing balances, the
 * closed days, and the ledger's bank balance at each day's end (the bank
 * book's postings, bank_postings, summed from the first: the same figure
 * feegate ledger check holds against the closing of a closed day).
 */
#define _GNU_SOURCE /* qsort_r */
#include "reports/reports_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/error.h"
#include "core/money.h"
#include "ledger/recon_counts.h"

/* the items by state: their counts per (account, day), kept with them (schema/0026) */
static const char SQL_ITEMS[] = "SELECT account, business_day, " FG_RECON_COUNT_COLUMNS
                                " FROM recon_day_totals WHERE business_day BETWEEN ? AND ? AND (? = '' OR account = ?) "
                                "AND items <> 0";
/* ?source=items: the same counts from the items themselves, every one of the period read */
static const char SQL_ITEMS_SCAN[] = "SELECT account, business_day, " FG_RECON_COUNTS("") " FROM " FG_RECON_ALL_ITEMS(
    "WHERE business_day BETWEEN ? AND ? AND (? = '' OR account = ?)",
    "AND value_date BETWEEN ? AND ? AND (? = '' OR account = ?)") " x GROUP BY account, business_day";

/* the closing of each day's statement imported last, one row an account and
 * day (the rows are sorted afterwards, and the sort keeps no order among
 * equals); a statement imported after its closing day closed is not that
 * day's (late_closing, schema/0042): a closed day reads what it closed with */
static const char SQL_CLOSINGS[] =
    "SELECT s.account, s.closing_date, s.closing FROM statements s WHERE s.id IN (SELECT MAX(id) FROM statements "
    "WHERE closing_date BETWEEN ? AND ? AND closing IS NOT NULL AND late_closing = 0 AND (? = '' OR account = ?) "
    "GROUP BY account, closing_date)";

static const char SQL_CLOSED[] = "SELECT account, day, closed_by FROM recon_closed_days WHERE day BETWEEN ? AND ? "
                                 "AND (? = '' OR account = ?)";

/* each account's currency: its statement imported last's (an account's
 * statements are of one currency: the bank account's) */
static const char SQL_CURRENCIES[] =
    "SELECT s.account, s.currency FROM statements s WHERE s.id IN (SELECT MAX(id) FROM statements "
    "WHERE (? = '' OR account = ?) GROUP BY account)";

static const char SQL_BANK[] = "SELECT account, day, SUM(amount) FROM bank_postings WHERE day <= ? "
                               "AND (? = '' OR account = ?) GROUP BY account, day ORDER BY account, day";

enum {
    N_LINES,
    N_CREDITS,
    N_DEBITS,
    N_MATCHED,
    N_SUGGESTED,
    N_BANK_ONLY,
    N_LEDGER_ONLY,
    N_MISMATCH,
    N_DUPLICATE,
    N_RESOLVED,
    N_OPEN,
    N_COUNT
};

typedef struct {
    char *account;
    int32_t day;
    int64_t n[N_COUNT];
    int has_closing, has_ledger;
    int64_t closing, ledger;
    char *closed_by;
    char currency[4]; /* the account's (read_currencies), "" until read */
} day_t;

typedef struct {
    day_t *days;
    size_t count, cap;
} days_t;

static day_t *add_day(days_t *d, const char *account, int32_t day)
{
    if (d->count >= FG_TABLE_ROWS_MAX)
        return NULL;
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->days = fg_realloc(d->days, d->cap * sizeof(day_t));
    }
    day_t *x = &d->days[d->count++];
    memset(x, 0, sizeof(*x));
    x->account = fg_strdup(account);
    x->day = day;
    return x;
}

static int cmp_days(const void *pa, const void *pb, void *arg)
{
    const day_t *a = pa, *b = pb;
    (void)arg;
    int c = strcmp(a->account, b->account);
    return c != 0 ? c : (a->day > b->day) - (a->day < b->day);
}

/* (? = '' OR account = ?): no account is '', every account (a NULL would match none) */
static void bind_scope(fg_stmt_t *s, const fg_recon_report_query_t *q)
{
    const char *account = q->account != NULL ? q->account : "";
    fg_stmt_cstr(s, account);
    fg_stmt_cstr(s, account);
}

static int read_items(fg_db_t *db, const fg_recon_report_query_t *q, days_t *d)
{
    fg_stmt_t s;
    fg_buf_t account = FG_BUF_INIT;
    int64_t day = 0, items = 0, n[N_COUNT];
    int rc = fg_stmt_init(&s, db, q->from_items ? SQL_ITEMS_SCAN : SQL_ITEMS);
    if (rc != 0)
        return rc;
    for (int twice = 0; twice < (q->from_items ? 2 : 1); twice++) { /* the scan: items, then lines */
        fg_stmt_int(&s, q->from_day);
        fg_stmt_int(&s, q->to_day);
        bind_scope(&s, q);
    }
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_int(&s, &day, NULL);
    fg_stmt_out_int(&s, &items, NULL);
    for (int i = 0; i < N_COUNT; i++)
        fg_stmt_out_int(&s, &n[i], NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            day_t *x = add_day(d, account.data, (int32_t)day);
            if (x == NULL) {
                fg_stmt_done(&s);
                rc = FG_ETOOLONG;
                break;
            }
            memcpy(x->n, n, sizeof(n));
        }
    }
    fg_buf_free(&account);
    return rc;
}

static int read_closings(fg_db_t *db, const fg_recon_report_query_t *q, days_t *d, int closed)
{
    fg_stmt_t s;
    fg_buf_t account = FG_BUF_INIT, by = FG_BUF_INIT;
    int64_t day = 0, closing = 0;
    int rc = fg_stmt_init(&s, db, closed ? SQL_CLOSED : SQL_CLOSINGS);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, q->from_day);
    fg_stmt_int(&s, q->to_day);
    bind_scope(&s, q);
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_int(&s, &day, NULL);
    if (closed)
        fg_stmt_out_text(&s, &by, NULL);
    else
        fg_stmt_out_int(&s, &closing, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            day_t *x = add_day(d, account.data, (int32_t)day);
            if (x == NULL) {
                fg_stmt_done(&s);
                rc = FG_ETOOLONG;
                break;
            }
            if (closed) {
                x->closed_by = fg_strdup(by.data != NULL ? by.data : "");
            } else {
                x->has_closing = 1;
                x->closing = closing;
            }
        }
    }
    fg_buf_free(&account);
    fg_buf_free(&by);
    return rc;
}

/* Sorts, then folds the rows of one (account, day) into its first. */
static void merge(days_t *d)
{
    if (d->count > 1)
        qsort_r(d->days, d->count, sizeof(day_t), cmp_days, NULL);
    size_t out = 0;
    for (size_t i = 0; i < d->count; i++) {
        day_t *x = &d->days[i];
        if (out > 0 && cmp_days(&d->days[out - 1], x, NULL) == 0) {
            day_t *into = &d->days[out - 1];
            for (int k = 0; k < N_COUNT; k++)
                into->n[k] += x->n[k]; /* counts and per-day sums from one read: never both nonzero */
            if (x->has_closing) {
                into->has_closing = 1;
                into->closing = x->closing;
            }
            if (x->closed_by != NULL && into->closed_by == NULL) {
                into->closed_by = x->closed_by;
                x->closed_by = NULL;
            }
            free(x->account);
            free(x->closed_by);
            continue;
        }
        d->days[out++] = *x;
    }
    d->count = out;
}

/* The ledger's bank balance at the end of each listed day: the bank book's postings up to it. */
static int read_ledger(fg_db_t *db, const fg_recon_report_query_t *q, days_t *d)
{
    fg_stmt_t s;
    fg_buf_t account = FG_BUF_INIT;
    int64_t day = 0, amount = 0;
    int rc = fg_stmt_init(&s, db, SQL_BANK);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, q->to_day);
    bind_scope(&s, q);
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_int(&s, &day, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0) {
        fg_buf_free(&account);
        return rc;
    }
    /* both in (account, day) order: walk them together */
    size_t i = 0;
    char current[128] = "";
    int64_t running = 0;
    int have = 0;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        const char *acc = account.data != NULL ? account.data : "";
        /* listed days before this posting take the running balance of their account so far */
        while (i < d->count && (strcmp(d->days[i].account, acc) < 0 ||
                                (strcmp(d->days[i].account, acc) == 0 && d->days[i].day < day))) {
            if (have && strcmp(d->days[i].account, current) == 0) {
                d->days[i].has_ledger = 1;
                d->days[i].ledger = running;
            }
            i++;
        }
        if (strcmp(acc, current) != 0) {
            snprintf(current, sizeof(current), "%s", acc);
            running = 0;
            have = 0;
        }
        if (fg_money_add(running, amount, &running) != 0) {
            fg_stmt_done(&s);
            rc = FG_EOVERFLOW;
            break;
        }
        have = 1;
        while (i < d->count && strcmp(d->days[i].account, acc) == 0 && d->days[i].day == day) {
            d->days[i].has_ledger = 1;
            d->days[i].ledger = running;
            i++;
        }
    }
    for (; rc == 0 && i < d->count; i++) {
        if (strcmp(d->days[i].account, current) == 0 && have) {
            d->days[i].has_ledger = 1;
            d->days[i].ledger = running;
        }
    }
    fg_buf_free(&account);
    return rc;
}

/* The currency of every listed day's account (its statements'; VND, the
 * city's, for an account no statement has named yet), so that the report
 * sums each currency apart and writes each amount in its own units. */
static int read_currencies(fg_db_t *db, const fg_recon_report_query_t *q, days_t *d)
{
    fg_stmt_t s;
    fg_buf_t account = FG_BUF_INIT, currency = FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_CURRENCIES);
    if (rc != 0)
        return rc;
    bind_scope(&s, q);
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1)
            for (size_t i = 0; i < d->count; i++)
                if (account.data != NULL && currency.data != NULL && strcmp(d->days[i].account, account.data) == 0)
                    snprintf(d->days[i].currency, sizeof(d->days[i].currency), "%s", currency.data);
    }
    fg_buf_free(&account);
    fg_buf_free(&currency);
    return rc < 0 ? rc : 0;
}

static void columns(fg_table_t *t)
{
    fg_table_col(t, "account", "Tài khoản / Account", FG_COL_TEXT, 18);
    fg_table_col(t, "day", "Ngày / Day", FG_COL_DAY, 12);
    fg_table_col(t, "lines", "Số dòng sao kê / Lines", FG_COL_INT, 10);
    fg_table_col(t, "credits", "Ghi có / Credits", FG_COL_MONEY, 18);
    fg_table_col(t, "debits", "Ghi nợ / Debits", FG_COL_MONEY, 18);
    fg_table_col(t, "matched", "Khớp / Matched", FG_COL_INT, 10);
    fg_table_col(t, "suggested", "Gợi ý / Suggested", FG_COL_INT, 10);
    fg_table_col(t, "bank_only", "Chỉ ngân hàng / Bank only", FG_COL_INT, 10);
    fg_table_col(t, "ledger_only", "Chỉ sổ cái / Ledger only", FG_COL_INT, 10);
    fg_table_col(t, "amount_mismatch", "Lệch số tiền / Amount mismatch", FG_COL_INT, 10);
    fg_table_col(t, "duplicate", "Trùng / Duplicate", FG_COL_INT, 10);
    fg_table_col(t, "resolved", "Đã xử lý / Resolved", FG_COL_INT, 10);
    fg_table_col(t, "open", "Còn mở / Open", FG_COL_INT, 10);
    int c = fg_table_col(t, "bank_closing", "Số dư ngân hàng / Bank closing", FG_COL_MONEY, 18);
    t->cols[c].summed = 0;
    c = fg_table_col(t, "ledger_balance", "Số dư sổ cái / Ledger balance", FG_COL_MONEY, 18);
    t->cols[c].summed = 0;
    c = fg_table_col(t, "difference", "Chênh lệch / Difference", FG_COL_MONEY, 14);
    t->cols[c].summed = 0; /* a difference of balances: a gap kept 30 days is one gap, not 30 */
    fg_table_col(t, "status", "Trạng thái / Status", FG_COL_TEXT, 10);
    fg_table_col(t, "closed_by", "Người khóa sổ / Closed by", FG_COL_TEXT, 24);
    fg_table_currency_col(t); /* last, as in every report */
}

int fg_report_reconciliation(fg_db_t *db, const fg_recon_report_query_t *q, fg_table_t *out)
{
    days_t d = {NULL, 0, 0};
    int rc = read_items(db, q, &d);
    if (rc == 0)
        rc = read_closings(db, q, &d, 0);
    if (rc == 0)
        rc = read_closings(db, q, &d, 1);
    if (rc == 0) {
        merge(&d);
        rc = read_ledger(db, q, &d);
    }
    if (rc == 0)
        rc = read_currencies(db, q, &d);
    columns(out);
    for (size_t i = 0; rc == 0 && i < d.count; i++) {
        const day_t *x = &d.days[i];
        const char *currency = x->currency[0] != '\0' ? x->currency : "VND";
        if (q->currency[0] != '\0' && strcmp(currency, q->currency) != 0)
            continue; /* ?currency=: that currency's accounts only, as the other reports keep its rows */
        fg_cell_t *row = fg_table_row(out);
        if (row == NULL) {
            rc = FG_ETOOLONG;
            break;
        }
        int c = 0;
        fg_cell_text(&row[c++], x->account, strlen(x->account));
        row[c++].num = x->day;
        for (int k = 0; k < N_COUNT; k++)
            row[c++].num = x->n[k];
        row[c].num = x->closing;
        row[c++].null = !x->has_closing;
        row[c].num = x->ledger;
        row[c++].null = !x->has_ledger;
        if (x->has_closing && fg_money_sub(x->closing, x->has_ledger ? x->ledger : 0, &row[c].num) != 0)
            rc = FG_EOVERFLOW;
        row[c++].null = !x->has_closing;
        const char *status = x->closed_by != NULL ? "closed" : "open";
        fg_cell_text(&row[c++], status, strlen(status));
        if (x->closed_by != NULL)
            fg_cell_text(&row[c], x->closed_by, strlen(x->closed_by));
        c++;
        fg_cell_text(&row[c++], currency, strlen(currency));
    }
    for (size_t i = 0; i < d.count; i++) {
        free(d.days[i].account);
        free(d.days[i].closed_by);
    }
    free(d.days);
    return rc != 0 ? rc : fg_table_total(out);
}
