/*
 * outstanding.c - orders still owed, aged by due date (reports.h).
 *
 * For a day before today the orders are read as they were at its end: made
 * by then, neither cancelled nor expired by then, and owed what their
 * payment journals posted by then leave.  An order whose status is final
 * (paid, cancelled, expired) and which has not changed since the day ended
 * was final then too, so only open orders and orders changed since are read.
 * For today (or later) the orders are read as they are, through the status
 * index; or, when the report groups by merchant, fee type and category only,
 * not the orders but their sums (schema/0027, ledger/owed_sql.h): owed_totals
 * and the changes not yet folded into it, less the orders past expires_at
 * that the sweeper has not yet expired, read in one statement (one snapshot).
 */
#define _GNU_SOURCE /* qsort_r */
#include "reports/reports_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/error.h"
#include "core/money.h"
#include "ledger/owed_sql.h"

#define SQL_COLUMNS                                                                                                    \
    "SELECT o.public_id, m.public_id, m.name, o.fee_type, o.category, JSON_VALUE(o.metadata, ?), "                     \
    "JSON_VALUE(o.metadata, ?), o.merchant_ref, o.code, o.payer_name, o.payer_ref, o.currency, o.amount, o.due_at, "

static const char SQL_NOW[] = SQL_COLUMNS
    "o.amount_paid FROM orders o JOIN merchants m ON m.id = o.merchant_id "
    "WHERE o.status IN ('open', 'partially_paid') AND (o.expires_at IS NULL OR o.expires_at > ?) "
    "AND o.created_at < ? AND (? = 0 OR o.merchant_id = ?) AND ? > 0";

static const char SQL_AS_OF[] = SQL_COLUMNS
    "COALESCE((SELECT SUM(p.amount_applied) FROM payments p JOIN journals j ON j.kind = 'payment' AND "
    "j.payment_id = p.id WHERE p.order_id = o.id AND j.created_at < ?), 0) "
    "FROM orders o JOIN merchants m ON m.id = o.merchant_id "
    "WHERE (o.status IN ('open', 'partially_paid') OR o.updated_at >= ?) "
    "AND (o.expires_at IS NULL OR o.expires_at >= ?) AND NOT (o.status = 'cancelled' AND o.updated_at < ?) "
    "AND o.created_at < ? AND (? = 0 OR o.merchant_id = ?)";

static const char SQL_SUMS[] =
    "SELECT m.public_id, m.name, x.fee_type, x.category, x.due_day, x.currency, SUM(x.n), SUM(x.v) FROM (SELECT "
    "merchant_id, fee_type, category, due_day, currency, orders AS n, owed AS v FROM owed_totals WHERE (? = 0 OR "
    "merchant_id = ?) UNION ALL SELECT merchant_id, fee_type, category, due_day, currency, orders, owed FROM "
    "owed_changes WHERE (? = 0 OR "
    "merchant_id = ?) UNION ALL SELECT " FG_OWED_KEY(
        "") ", -1, amount_paid - amount FROM orders WHERE status IN "
            "('open', 'partially_paid') AND expires_at <= ? AND amount > amount_paid AND (? = 0 OR merchant_id = ?)) x "
            "JOIN merchants m ON m.id = x.merchant_id GROUP BY x.merchant_id, x.fee_type, x.category, x.due_day, "
            "x.currency HAVING "
            "SUM(x.n) <> 0 OR SUM(x.v) <> 0";

enum { B_NOT_DUE, B_1_30, B_31_60, B_OVER_60, B_N };
static const char *const BUCKETS[B_N] = {"not_due", "1_30", "31_60", "over_60"};
enum { M_COUNT, M_OWED, M_BUCKETS, M_N = M_BUCKETS + B_N };

/* an order's text columns: order, merchant id, name, fee type, category, meta 1, 2, ref, code, payer name,
 * payer ref, currency */
#define TEXTS 12

typedef struct {
    fg_buf_t text[TEXTS];
    int null[TEXTS];
    int64_t amount, due_at, paid;
    int due_null;
} order_t;

enum {
    T_ORDER,
    T_MERCHANT,
    T_MERCHANT_NAME,
    T_FEE_TYPE,
    T_CATEGORY,
    T_META1,
    T_META2,
    T_REF,
    T_CODE,
    T_PAYER,
    T_PAYER_REF,
    T_CURRENCY
};
_Static_assert(T_CURRENCY + 1 == TEXTS, "one text column per T_ name");

/* one order's detail row, kept until sorted */
typedef struct {
    size_t group; /* filled after the grouping: the sort key's first part */
    int64_t days_past_due, owed, paid, amount;
    int32_t due_day;
    char *text[TEXTS];
} detail_t;

static int bucket_of(int64_t days_past_due)
{
    return days_past_due <= 0 ? B_NOT_DUE : days_past_due <= 30 ? B_1_30 : days_past_due <= 60 ? B_31_60 : B_OVER_60;
}

static char *dup_or_null(const fg_buf_t *b, int is_null) { return is_null ? NULL : fg_strdup(b->data ? b->data : ""); }

typedef struct {
    detail_t *rows;
    size_t count, cap;
} details_t;

static void details_free(details_t *d)
{
    for (size_t i = 0; i < d->count; i++)
        for (int t = 0; t < TEXTS; t++)
            free(d->rows[i].text[t]);
    free(d->rows);
}

static int cmp_text(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* group keys first (as the report groups), then the currency (as groups are also by currency), most
 * overdue first, then the order's code */
static int cmp_details(const void *pa, const void *pb, void *arg)
{
    const detail_t *a = pa, *b = pb;
    const fg_group_by_t *by = arg;
    for (int d = 0; d < by->count; d++) {
        int c = 0;
        switch (by->dims[d].kind) {
        case FG_DIM_MERCHANT:
            c = cmp_text(a->text[T_MERCHANT_NAME], b->text[T_MERCHANT_NAME]);
            if (c == 0)
                c = cmp_text(a->text[T_MERCHANT], b->text[T_MERCHANT]);
            break;
        case FG_DIM_FEE_TYPE: c = cmp_text(a->text[T_FEE_TYPE], b->text[T_FEE_TYPE]); break;
        case FG_DIM_CATEGORY: c = cmp_text(a->text[T_CATEGORY], b->text[T_CATEGORY]); break;
        case FG_DIM_META: c = cmp_text(a->text[T_META1 + by->dims[d].meta], b->text[T_META1 + by->dims[d].meta]); break;
        default: break;
        }
        if (c != 0)
            return c;
    }
    int c = fg_currency_cmp(a->text[T_CURRENCY], b->text[T_CURRENCY]);
    if (c != 0)
        return c;
    if (a->days_past_due != b->days_past_due)
        return a->days_past_due > b->days_past_due ? -1 : 1;
    return cmp_text(a->text[T_CODE], b->text[T_CODE]);
}

static void detail_columns(fg_table_t *t)
{
    fg_table_col(t, "order_id", "Mã hóa đơn / Order", FG_COL_TEXT, 32);
    fg_table_col(t, "merchant_ref", "Số hóa đơn / Bill no.", FG_COL_TEXT, 16);
    fg_table_col(t, "code", "Mã thanh toán / Pay code", FG_COL_TEXT, 14);
    fg_table_col(t, "payer_name", "Người nộp / Payer", FG_COL_TEXT, 28);
    fg_table_col(t, "payer_ref", "Mã người nộp / Payer ref", FG_COL_TEXT, 16);
    fg_table_col(t, "amount", "Số tiền / Amount", FG_COL_MONEY, 16);
    fg_table_col(t, "paid", "Đã nộp / Paid", FG_COL_MONEY, 16);
    fg_table_col(t, "owed", "Còn nợ / Owed", FG_COL_MONEY, 16);
    fg_table_col(t, "due_date", "Hạn nộp / Due", FG_COL_DAY, 12);
    fg_table_col(t, "days_past_due", "Số ngày quá hạn / Days past due", FG_COL_INT, 12);
    fg_table_col(t, "bucket", "Nhóm tuổi nợ / Bucket", FG_COL_TEXT, 12);
    fg_table_currency_col(t); /* last, as in every report */
}

static size_t set_text(fg_cell_t *row, size_t c, const char *s)
{
    fg_cell_text(&row[c], s, s != NULL ? strlen(s) : 0);
    return c + 1;
}

static int emit_details(const fg_outstanding_query_t *q, details_t *d, fg_table_t *out)
{
    if (d->count > 1)
        qsort_r(d->rows, d->count, sizeof(detail_t), cmp_details, (void *)&q->group);
    fg_group_columns(&q->group, out);
    detail_columns(out);
    for (size_t i = 0; i < d->count; i++) {
        const detail_t *r = &d->rows[i];
        fg_cell_t *row = fg_table_row(out);
        if (row == NULL)
            return FG_ETOOLONG;
        size_t c = 0;
        for (int k = 0; k < q->group.count; k++) {
            switch (q->group.dims[k].kind) {
            case FG_DIM_MERCHANT:
                c = set_text(row, c, r->text[T_MERCHANT]);
                c = set_text(row, c, r->text[T_MERCHANT_NAME]);
                break;
            case FG_DIM_FEE_TYPE: c = set_text(row, c, r->text[T_FEE_TYPE]); break;
            case FG_DIM_CATEGORY: c = set_text(row, c, r->text[T_CATEGORY]); break;
            case FG_DIM_META: c = set_text(row, c, r->text[T_META1 + q->group.dims[k].meta]); break;
            default: break;
            }
        }
        c = set_text(row, c, r->text[T_ORDER]);
        c = set_text(row, c, r->text[T_REF]);
        c = set_text(row, c, r->text[T_CODE]);
        c = set_text(row, c, r->text[T_PAYER]);
        c = set_text(row, c, r->text[T_PAYER_REF]);
        row[c++].num = r->amount;
        row[c++].num = r->paid;
        row[c++].num = r->owed;
        row[c++].num = r->due_day;
        row[c++].num = r->days_past_due > 0 ? r->days_past_due : 0;
        c = set_text(row, c, BUCKETS[bucket_of(r->days_past_due)]);
        set_text(row, c, r->text[T_CURRENCY]);
    }
    /* the amounts add up; a sum of due dates or of days does not mean anything */
    for (int c = 0; c < out->ncols; c++)
        if (strcmp(out->cols[c].key, "days_past_due") == 0)
            out->cols[c].summed = 0;
    return fg_table_total(out);
}

static int emit_groups(const fg_outstanding_query_t *q, fg_grouper_t *g, fg_table_t *out)
{
    fg_group_columns(&q->group, out);
    int c_count = fg_table_col(out, "count", "Số hóa đơn / Orders", FG_COL_INT, 12);
    int c_owed = fg_table_col(out, "owed", "Còn nợ / Owed", FG_COL_MONEY, 18);
    int c_b[B_N];
    c_b[B_NOT_DUE] = fg_table_col(out, "not_due", "Chưa đến hạn / Not due", FG_COL_MONEY, 16);
    c_b[B_1_30] = fg_table_col(out, "overdue_1_30", "Quá hạn 1–30 ngày / 1–30 days", FG_COL_MONEY, 16);
    c_b[B_31_60] = fg_table_col(out, "overdue_31_60", "Quá hạn 31–60 ngày / 31–60 days", FG_COL_MONEY, 16);
    c_b[B_OVER_60] = fg_table_col(out, "overdue_over_60", "Quá hạn trên 60 ngày / Over 60 days", FG_COL_MONEY, 16);
    int c_currency = fg_table_currency_col(out);
    size_t n = fg_grouper_sort(g);
    for (size_t i = 0; i < n; i++) {
        fg_cell_t *row = fg_table_row(out);
        if (row == NULL)
            return FG_ETOOLONG;
        const int64_t *m = fg_grouper_emit(g, i, row, c_currency);
        row[c_count].num = m[M_COUNT];
        row[c_owed].num = m[M_OWED];
        for (int b = 0; b < B_N; b++)
            row[c_b[b]].num = m[M_BUCKETS + b];
    }
    return fg_table_total(out);
}

/* Today's report from the sums: a row per merchant, fee type, category, due day and currency. */
static int outstanding_from_sums(fg_db_t *db, const fg_outstanding_query_t *q, fg_table_t *out)
{
    fg_buf_t merchant = FG_BUF_INIT, name = FG_BUF_INIT, fee_type = FG_BUF_INIT, category = FG_BUF_INIT,
             currency = FG_BUF_INIT;
    int64_t due_day = 0, count = 0, owed = 0;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_SUMS);
    if (rc != 0)
        return rc;
    for (int i = 0; i < 4; i++)
        fg_stmt_int(&s, (int64_t)q->merchant_id);
    fg_stmt_int(&s, q->now_ms);
    fg_stmt_int(&s, (int64_t)q->merchant_id);
    fg_stmt_int(&s, (int64_t)q->merchant_id);
    fg_stmt_out_text(&s, &merchant, NULL);
    fg_stmt_out_text(&s, &name, NULL);
    fg_stmt_out_text(&s, &fee_type, NULL);
    fg_stmt_out_text(&s, &category, NULL);
    fg_stmt_out_int(&s, &due_day, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    fg_stmt_out_int(&s, &count, NULL);
    fg_stmt_out_int(&s, &owed, NULL);
    fg_grouper_t *g = fg_grouper_new(&q->group, M_N, q->currency);
    int64_t as_of_number = fg_day_number(q->as_of);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        fg_dimvals_t v = {
            .merchant_id = merchant.data,
            .merchant_name = name.data,
            .fee_type = fee_type.data,
            .category = category.len > 0 ? category.data : NULL, /* '' stands for none */
            .currency = currency.data,
        };
        int64_t m[M_N] = {0};
        m[M_COUNT] = count;
        m[M_OWED] = owed;
        m[M_BUCKETS + bucket_of(due_day == FG_OWED_NO_DUE_DAY ? 0 : as_of_number - due_day)] = owed;
        if ((rc = fg_grouper_add(g, &v, m)) != 0) {
            fg_stmt_done(&s);
            break;
        }
    }
    if (rc == 0)
        rc = emit_groups(q, g, out);
Exit:
    fg_buf_free(&merchant);
    fg_buf_free(&name);
    fg_buf_free(&fee_type);
    fg_buf_free(&category);
    fg_buf_free(&currency);
    fg_grouper_free(g);
    return rc;
}

int fg_report_outstanding(fg_db_t *db, const fg_outstanding_query_t *q, fg_table_t *out)
{
    int64_t end = fg_day_start_ms(fg_day_next(q->as_of));
    int now = end > q->now_ms; /* as_of is today or later */
    if (now && !q->detail && q->group.meta_count == 0 && !q->from_orders)
        return outstanding_from_sums(db, q, out);
    char paths[FG_GROUP_META_MAX][FG_META_KEY_MAX + 8];
    for (int i = 0; i < FG_GROUP_META_MAX; i++)
        snprintf(paths[i], sizeof(paths[i]), "$.\"%s\"", i < q->group.meta_count ? q->group.meta_keys[i] : "");
    order_t o;
    memset(&o, 0, sizeof(o));
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, now ? SQL_NOW : SQL_AS_OF);
    if (rc != 0)
        return rc;
    for (int i = 0; i < FG_GROUP_META_MAX; i++)
        fg_stmt_cstr(&s, i < q->group.meta_count ? paths[i] : NULL);
    if (now) {
        fg_stmt_int(&s, q->now_ms);
        fg_stmt_int(&s, end);
        fg_stmt_int(&s, (int64_t)q->merchant_id);
        fg_stmt_int(&s, (int64_t)q->merchant_id);
        fg_stmt_int(&s, 1);
    } else {
        for (int i = 0; i < 5; i++)
            fg_stmt_int(&s, end);
        fg_stmt_int(&s, (int64_t)q->merchant_id);
        fg_stmt_int(&s, (int64_t)q->merchant_id);
    }
    for (int t = 0; t < TEXTS; t++)
        fg_stmt_out_text(&s, &o.text[t], &o.null[t]);
    fg_stmt_out_int(&s, &o.amount, NULL);
    fg_stmt_out_int(&s, &o.due_at, &o.due_null);
    fg_stmt_out_int(&s, &o.paid, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    fg_grouper_t *g = q->detail ? NULL : fg_grouper_new(&q->group, M_N, q->currency);
    details_t d = {NULL, 0, 0};
    int64_t as_of_number = fg_day_number(q->as_of);
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        int64_t owed;
        if (fg_money_sub(o.amount, o.paid, &owed) != 0 || owed <= 0)
            continue; /* paid in full by then */
        if (q->detail && q->currency[0] != '\0' && strcmp(o.text[T_CURRENCY].data, q->currency) != 0)
            continue; /* another currency than the one asked for (the grouper drops them itself) */
        int32_t due_day = o.due_null ? 0 : fg_day_of_ms(o.due_at);
        int64_t past = o.due_null ? 0 : as_of_number - fg_day_number(due_day);
        if (q->detail) {
            if (d.count >= FG_TABLE_ROWS_MAX) {
                rc = FG_ETOOLONG;
                fg_stmt_done(&s);
                break;
            }
            if (d.count == d.cap) {
                d.cap = d.cap ? d.cap * 2 : 64;
                d.rows = fg_realloc(d.rows, d.cap * sizeof(detail_t));
            }
            detail_t *r = &d.rows[d.count++];
            memset(r, 0, sizeof(*r));
            for (int t = 0; t < TEXTS; t++)
                r->text[t] = dup_or_null(&o.text[t], o.null[t]);
            r->amount = o.amount;
            r->paid = o.paid;
            r->owed = owed;
            r->due_day = due_day;
            r->days_past_due = past;
            continue;
        }
        fg_dimvals_t v = {
            .merchant_id = o.text[T_MERCHANT].data,
            .merchant_name = o.text[T_MERCHANT_NAME].data,
            .fee_type = o.text[T_FEE_TYPE].data,
            .category = o.null[T_CATEGORY] ? NULL : o.text[T_CATEGORY].data,
            .meta = {o.null[T_META1] ? NULL : o.text[T_META1].data, o.null[T_META2] ? NULL : o.text[T_META2].data},
            .currency = o.text[T_CURRENCY].data,
        };
        int64_t m[M_N] = {0};
        m[M_COUNT] = 1;
        m[M_OWED] = owed;
        m[M_BUCKETS + bucket_of(past)] = owed;
        if ((rc = fg_grouper_add(g, &v, m)) != 0) {
            fg_stmt_done(&s);
            break;
        }
    }
    for (int t = 0; t < TEXTS; t++)
        fg_buf_free(&o.text[t]);
    if (rc == 0)
        rc = q->detail ? emit_details(q, &d, out) : emit_groups(q, g, out);
    details_free(&d);
    fg_grouper_free(g);
    return rc;
}
