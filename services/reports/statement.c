/*
 * statement.c - a merchant's statement over a period (reports.h), in one
 * currency: the ledger keeps a merchant's account per currency
 * (liabilities:merchant:{id} in VND, in USD, …), and the statement reads one
 * of them (VND unless asked), so its balances and movements are of one
 * currency.
 */
#include "reports/reports_internal.h"

#include <stdio.h>
#include <string.h>
#include "core/day.h"
#include "core/error.h"
#include "core/money.h"
#include "ledger/ledger.h"

static const char SQL_ACCOUNT[] =
    "SELECT m.public_id, m.name, COALESCE((SELECT a.id FROM ledger_accounts a WHERE a.code = "
    "CONCAT('liabilities:merchant:', m.public_id) AND a.currency = ?), 0) FROM merchants m WHERE m.id = ?";

/* the movements of the account, per business day and journal kind (debits positive) */
static const char SQL_MOVES[] =
    "SELECT FLOOR((e.created_at + 25200000) / 86400000), j.kind, SUM(e.amount) FROM ledger_entries e "
    "JOIN journals j ON j.id = e.journal_id WHERE e.account_id = ? AND e.created_at >= ? AND e.created_at < ? "
    "GROUP BY 1, 2 ORDER BY 1";

enum { C_DAY, C_OPENING, C_COLLECTIONS, C_REFUNDS, C_FEES, C_PAYOUTS, C_ADJUSTMENTS, C_CLOSING, C_N };

static void columns(fg_table_t *t)
{
    fg_table_col(t, "day", "Ngày / Day", FG_COL_DAY, 12);
    fg_table_col(t, "opening", "Số dư đầu ngày / Opening", FG_COL_MONEY, 18);
    fg_table_col(t, "collections", "Thu / Collections", FG_COL_MONEY, 18);
    fg_table_col(t, "refunds", "Hoàn trả / Refunds", FG_COL_MONEY, 16);
    fg_table_col(t, "fees", "Phí / Fees", FG_COL_MONEY, 14);
    fg_table_col(t, "payouts", "Đã chuyển / Payouts", FG_COL_MONEY, 18);
    fg_table_col(t, "adjustments", "Điều chỉnh / Adjustments", FG_COL_MONEY, 16);
    fg_table_col(t, "closing", "Số dư cuối ngày / Closing", FG_COL_MONEY, 18);
    t->cols[C_OPENING].summed = 0; /* balances do not add up */
    t->cols[C_CLOSING].summed = 0;
}

/* Adds a movement of the account (debit > 0) to the day's row by its journal kind. */
static int add_move(fg_cell_t *row, const char *kind, int64_t debit)
{
    int64_t credit;
    if (fg_money_sub(0, debit, &credit) != 0)
        return FG_EOVERFLOW;
    if (strcmp(kind, "payment") == 0)
        return fg_money_add(row[C_COLLECTIONS].num, credit, &row[C_COLLECTIONS].num);
    if (strcmp(kind, "refund") == 0)
        return fg_money_add(row[C_REFUNDS].num, debit, &row[C_REFUNDS].num);
    if (strcmp(kind, "fee") == 0)
        return fg_money_add(row[C_FEES].num, debit, &row[C_FEES].num);
    if (strcmp(kind, "payout") == 0)
        return fg_money_add(row[C_PAYOUTS].num, debit, &row[C_PAYOUTS].num);
    return fg_money_add(row[C_ADJUSTMENTS].num, credit, &row[C_ADJUSTMENTS].num);
}

/* closing = opening + collections - refunds - fees - payouts + adjustments */
static int close_row(fg_cell_t *row)
{
    int64_t v = row[C_OPENING].num;
    if (fg_money_add(v, row[C_COLLECTIONS].num, &v) != 0 || fg_money_sub(v, row[C_REFUNDS].num, &v) != 0 ||
        fg_money_sub(v, row[C_FEES].num, &v) != 0 || fg_money_sub(v, row[C_PAYOUTS].num, &v) != 0 ||
        fg_money_add(v, row[C_ADJUSTMENTS].num, &v) != 0)
        return FG_EOVERFLOW;
    row[C_CLOSING].num = v;
    return 0;
}

static int statement_read(fg_db_t *db, fg_merchant_statement_t *st, fg_table_t *out)
{
    int64_t account = 0, from = fg_day_start_ms(st->from_day), to = fg_day_start_ms(fg_day_next(st->to_day));
    fg_buf_t public_id = FG_BUF_INIT, name = FG_BUF_INIT;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_ACCOUNT);
    if (rc != 0)
        return rc;
    if (st->currency[0] == '\0')
        snprintf(st->currency, sizeof(st->currency), "VND");
    fg_stmt_cstr(&s, st->currency);
    fg_stmt_int(&s, (int64_t)st->merchant_id);
    fg_stmt_out_text(&s, &public_id, NULL);
    fg_stmt_out_text(&s, &name, NULL);
    fg_stmt_out_int(&s, &account, NULL);
    rc = fg_stmt_one(&s);
    if (rc == 0) {
        snprintf(st->merchant_public_id, sizeof(st->merchant_public_id), "%s", public_id.data);
        snprintf(st->merchant_name, sizeof(st->merchant_name), "%s", name.data != NULL ? name.data : "");
    }
    fg_buf_free(&public_id);
    fg_buf_free(&name);
    columns(out);
    snprintf(out->currency, sizeof(out->currency), "%s", st->currency); /* the XLSX form's major units */
    st->opening = st->closing = st->collections = st->refunds = st->fees = st->payouts = st->adjustments = 0;
    if (rc != 0 || account == 0)
        return rc != 0 ? rc : fg_table_total(out); /* nothing was ever posted for it */
    /* nothing is posted before 1970 (a period from its first day has no
     * earlier instant to ask about: a time below 0 asks for now) */
    if ((from > 0 && (rc = fg_ledger_balance(db, account, FG_ACCOUNT_LIABILITY, from - 1, &st->opening)) != 0) ||
        (rc = fg_ledger_balance(db, account, FG_ACCOUNT_LIABILITY, to - 1, &st->closing)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_MOVES)) != 0)
        return rc;
    int64_t day_number = 0, amount = 0, balance = st->opening;
    fg_buf_t kind = FG_BUF_INIT;
    fg_stmt_int(&s, account);
    fg_stmt_int(&s, from);
    fg_stmt_int(&s, to);
    fg_stmt_out_int(&s, &day_number, NULL);
    fg_stmt_out_text(&s, &kind, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0) {
        fg_buf_free(&kind);
        return rc;
    }
    fg_cell_t *row = NULL;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        int32_t day = fg_day_of_ms(day_number * FG_DAY_MS - FG_DAY_OFFSET_MS);
        if (row == NULL || row[C_DAY].num != day) {
            if (row != NULL && (rc = close_row(row)) != 0)
                break;
            if (row != NULL)
                balance = row[C_CLOSING].num;
            if ((row = fg_table_row(out)) == NULL) {
                rc = FG_ETOOLONG;
                break;
            }
            row[C_DAY].num = day;
            row[C_OPENING].num = balance;
        }
        if ((rc = add_move(row, kind.data != NULL ? kind.data : "", amount)) != 0)
            break;
    }
    if (rc != 0)
        fg_stmt_done(&s);
    fg_buf_free(&kind);
    if (rc != 0)
        return rc;
    if (row != NULL && (rc = close_row(row)) != 0)
        return rc;
    if ((rc = fg_table_total(out)) != 0)
        return rc;
    st->collections = out->totals[C_COLLECTIONS];
    st->refunds = out->totals[C_REFUNDS];
    st->fees = out->totals[C_FEES];
    st->payouts = out->totals[C_PAYOUTS];
    st->adjustments = out->totals[C_ADJUSTMENTS];
    int64_t last = row != NULL ? row[C_CLOSING].num : st->opening;
    return last == st->closing ? 0 : FG_ECHECKSUM;
}

/* The balances and the movements in one snapshot: a posting that commits
 * between two reads would make them disagree (a false ledger_inconsistent). */
int fg_report_merchant_statement(fg_db_t *db, fg_merchant_statement_t *st, fg_table_t *out)
{
    int rc = fg_db_begin_snapshot(db);
    if (rc == 0)
        rc = statement_read(db, st, out);
    if (rc == 0)
        rc = fg_db_commit(db);
    else
        fg_db_rollback(db);
    return rc;
}
