/*
 * collections.c - collections of a period, grouped as asked (reports.h).
 *
 * Two statements read the period at the finest grain (business day,
 * merchant, fee type, category, adapter, currency, asked-for metadata
 * values), summed
 * by the database: the payment journals with what they credited merchants,
 * and the refund journals with what they debited them.  group.c sums those
 * into the groups asked for.  Both walk the journals of the period through
 * ix_journals_created.
 */
#include "reports/reports_internal.h"

#include <stdio.h>
#include <string.h>
#include "core/day.h"
#include "core/error.h"
#include "core/money.h"
#include "reports/rollup_sql.h"

/* the business day (GMT+7) of a journal, as days since 1970-01-01 */
#define SQL_DAY "FLOOR((j.created_at + 25200000) / 86400000)"

static const char SQL_PAYMENTS[] =
    "SELECT " SQL_DAY ", m.public_id, m.name, o.fee_type, o.category, p.adapter, p.currency, "
    "JSON_VALUE(o.metadata, ?), JSON_VALUE(o.metadata, ?), COUNT(*), SUM(p.amount_applied), "
    "COALESCE(SUM((SELECT SUM(r.fee) FROM settlement_rows r JOIN settlement_batches b ON b.id = r.batch_id "
    "WHERE r.transaction_no = p.provider_txn_id AND r.kind = 'payment' AND b.gateway = p.adapter "
    "AND b.journal_id IS NOT NULL)), 0) "
    "FROM journals j JOIN payments p ON p.id = j.payment_id JOIN orders o ON o.id = p.order_id "
    "JOIN merchants m ON m.id = p.merchant_id "
    "WHERE j.created_at >= ? AND j.created_at < ? AND j.kind = 'payment' AND p.amount_applied > 0 "
    "AND (? = 0 OR p.merchant_id = ?) "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9";

/* what each refund took from the merchant: its journal's merchant entry */
static const char SQL_REFUNDS[] =
    "SELECT " SQL_DAY ", m.public_id, m.name, o.fee_type, o.category, p.adapter, p.currency, "
    "JSON_VALUE(o.metadata, ?), JSON_VALUE(o.metadata, ?), SUM(e.amount) "
    "FROM journals j JOIN refunds f ON f.id = j.refund_id JOIN payments p ON p.id = f.payment_id "
    "JOIN orders o ON o.id = p.order_id JOIN merchants m ON m.id = p.merchant_id "
    "JOIN ledger_entries e ON e.journal_id = j.id "
    "JOIN ledger_accounts a ON a.id = e.account_id AND a.merchant_id = p.merchant_id "
    "WHERE j.created_at >= ? AND j.created_at < ? AND j.kind = 'refund' AND (? = 0 OR p.merchant_id = ?) "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9";

enum { M_COUNT, M_COLLECTED, M_REFUNDED, M_FEES, M_N };

typedef struct {
    int64_t day_number;
    fg_buf_t merchant_id, merchant_name, fee_type, category, adapter, currency, meta[FG_GROUP_META_MAX];
    int category_null, adapter_null, meta_null[FG_GROUP_META_MAX];
    int64_t count, amount, fees;
} fine_t;

static void fine_free(fine_t *f)
{
    fg_buf_free(&f->merchant_id);
    fg_buf_free(&f->merchant_name);
    fg_buf_free(&f->fee_type);
    fg_buf_free(&f->category);
    fg_buf_free(&f->adapter);
    fg_buf_free(&f->currency);
    for (int i = 0; i < FG_GROUP_META_MAX; i++)
        fg_buf_free(&f->meta[i]);
}

/* JSON paths of the asked-for metadata keys; NULL where none (JSON_VALUE gives NULL) */
static void meta_paths(const fg_group_by_t *by, char paths[FG_GROUP_META_MAX][FG_META_KEY_MAX + 8])
{
    for (int i = 0; i < FG_GROUP_META_MAX; i++)
        snprintf(paths[i], FG_META_KEY_MAX + 8, "$.\"%s\"", i < by->meta_count ? by->meta_keys[i] : "");
}

static int read_fine(fg_db_t *db, const char *sql, const fg_collections_query_t *q, int payments, fg_grouper_t *g)
{
    char paths[FG_GROUP_META_MAX][FG_META_KEY_MAX + 8];
    meta_paths(&q->group, paths);
    fine_t f;
    memset(&f, 0, sizeof(f));
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    for (int i = 0; i < FG_GROUP_META_MAX; i++)
        fg_stmt_cstr(&s, i < q->group.meta_count ? paths[i] : NULL);
    fg_stmt_int(&s, fg_day_start_ms(q->from_day));
    fg_stmt_int(&s, fg_day_start_ms(q->to_day) + FG_DAY_MS);
    fg_stmt_int(&s, (int64_t)q->merchant_id);
    fg_stmt_int(&s, (int64_t)q->merchant_id);
    fg_stmt_out_int(&s, &f.day_number, NULL);
    fg_stmt_out_text(&s, &f.merchant_id, NULL);
    fg_stmt_out_text(&s, &f.merchant_name, NULL);
    fg_stmt_out_text(&s, &f.fee_type, NULL);
    fg_stmt_out_text(&s, &f.category, &f.category_null);
    fg_stmt_out_text(&s, &f.adapter, &f.adapter_null);
    fg_stmt_out_text(&s, &f.currency, NULL);
    for (int i = 0; i < FG_GROUP_META_MAX; i++)
        fg_stmt_out_text(&s, &f.meta[i], &f.meta_null[i]);
    if (payments) {
        fg_stmt_out_int(&s, &f.count, NULL);
        fg_stmt_out_int(&s, &f.amount, NULL);
        fg_stmt_out_int(&s, &f.fees, NULL);
    } else {
        fg_stmt_out_int(&s, &f.amount, NULL);
    }
    if ((rc = fg_stmt_exec(&s)) != 0) {
        fine_free(&f);
        return rc;
    }
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        fg_dimvals_t v = {
            .day = fg_day_of_ms(f.day_number * FG_DAY_MS - FG_DAY_OFFSET_MS),
            .merchant_id = f.merchant_id.data,
            .merchant_name = f.merchant_name.data,
            .fee_type = f.fee_type.data,
            .category = f.category_null ? NULL : f.category.data,
            .adapter = f.adapter_null ? NULL : f.adapter.data,
            .currency = f.currency.data,
        };
        for (int i = 0; i < FG_GROUP_META_MAX; i++)
            v.meta[i] = f.meta_null[i] ? NULL : f.meta[i].data;
        int64_t m[M_N] = {0, 0, 0, 0};
        if (payments) {
            m[M_COUNT] = f.count;
            m[M_COLLECTED] = f.amount;
            m[M_FEES] = f.fees;
        } else {
            m[M_REFUNDED] = f.amount; /* the merchant's debit: positive */
        }
        if ((rc = fg_grouper_add(g, &v, m)) != 0) {
            fg_stmt_done(&s);
            break;
        }
    }
    fine_free(&f);
    return rc < 0 ? rc : 0;
}

/* ---- from the rollups ------------------------------------------------------------- */

static const char SQL_WATERMARK[] = "SELECT upto_entry_id FROM report_watermarks WHERE name = 'collections'";

#define ROLLUP_COLUMNS "r.fee_type, r.category, r.adapter, r.currency, r.payments, r.collected, r.refunded, r.fees "
/* one merchant's days (its index) */
static const char SQL_ROLLUPS_MERCHANT[] = "SELECT r.day, m.public_id, m.name, " ROLLUP_COLUMNS
                                           "FROM report_daily r JOIN merchants m ON m.id = r.merchant_id "
                                           "WHERE r.merchant_id = ? AND r.day BETWEEN ? AND ?";
/* every merchant's days */
static const char SQL_ROLLUPS_DAILY[] = "SELECT r.day, m.public_id, m.name, " ROLLUP_COLUMNS
                                        "FROM report_daily r JOIN merchants m ON m.id = r.merchant_id "
                                        "WHERE r.day BETWEEN ? AND ?";
/* every merchant's whole months (yyyymm), as their first day */
static const char SQL_ROLLUPS_MONTHLY[] = "SELECT r.month * 100 + 1, m.public_id, m.name, " ROLLUP_COLUMNS
                                          "FROM report_monthly r JOIN merchants m ON m.id = r.merchant_id "
                                          "WHERE r.month BETWEEN ? AND ?";
/* the city's days, no merchant */
static const char SQL_ROLLUPS_CITY[] = "SELECT r.day, NULL, NULL, " ROLLUP_COLUMNS
                                       "FROM report_daily_city r WHERE r.day BETWEEN ? AND ?";

/* the journals above the watermark, from the ledger: (lo, hi] = (watermark, any) */
#define TAIL(select, n, v)                                                                                             \
    "SELECT x.d, m.public_id, m.name, x.ft, x.cat, x.ad, x.cur, " n ", " v " FROM (" select ") x "                     \
    "JOIN merchants m ON m.id = x.mid"
#define TAIL_WHERE(t) "AND " t " >= ? AND " t " < ? AND (? = 0 OR p.merchant_id = ?)"
static const char SQL_TAIL_PAYMENTS[] = TAIL(FG_ROLLUP_PAYMENTS(TAIL_WHERE("j.created_at")), "x.n", "x.v");
static const char SQL_TAIL_REFUNDS[] = TAIL(FG_ROLLUP_REFUNDS(TAIL_WHERE("j.created_at")), "0", "x.v");
static const char SQL_TAIL_FEES[] = TAIL(FG_ROLLUP_FEES(TAIL_WHERE("pj.created_at")), "0", "x.v");
static const char SQL_TAIL_FEES_LATE[] = TAIL(FG_ROLLUP_FEES_LATE(TAIL_WHERE("j.created_at")), "0", "x.v");

/* Reads rows of (yyyymmdd day, merchant, name, fee type, category, adapter, currency, measures...) into the groups.
 * measure_of[i] is the M_ slot of the i-th measure column. */
static int read_rows(fg_db_t *db, fg_stmt_t *s, int nmeasures, const int *measure_of, fg_grouper_t *g)
{
    fine_t f;
    memset(&f, 0, sizeof(f));
    int64_t day = 0, m[4] = {0, 0, 0, 0};
    fg_stmt_out_int(s, &day, NULL);
    fg_stmt_out_text(s, &f.merchant_id, NULL);
    fg_stmt_out_text(s, &f.merchant_name, NULL);
    fg_stmt_out_text(s, &f.fee_type, NULL);
    fg_stmt_out_text(s, &f.category, NULL);
    fg_stmt_out_text(s, &f.adapter, NULL);
    fg_stmt_out_text(s, &f.currency, NULL);
    for (int i = 0; i < nmeasures; i++)
        fg_stmt_out_int(s, &m[i], NULL);
    int rc = fg_stmt_exec(s);
    (void)db;
    while (rc == 0 && (rc = fg_stmt_fetch(s)) == 1) {
        fg_dimvals_t v = {
            .day = (int32_t)day,
            .merchant_id = f.merchant_id.data,
            .merchant_name = f.merchant_name.data,
            .fee_type = f.fee_type.data,
            .category = f.category.len > 0 ? f.category.data : NULL, /* '' stands for none */
            .adapter = f.adapter.data,
            .currency = f.currency.data,
        };
        int64_t measures[M_N] = {0, 0, 0, 0};
        for (int i = 0; i < nmeasures; i++)
            measures[measure_of[i]] = m[i];
        if ((rc = fg_grouper_add(g, &v, measures)) != 0) {
            fg_stmt_done(s);
            break;
        }
    }
    fine_free(&f);
    return rc < 0 ? rc : 0;
}

static int read_tail(fg_db_t *db, const char *sql, const fg_collections_query_t *q, int64_t watermark, int measure,
                     fg_grouper_t *g)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, watermark);
    fg_stmt_int(&s, INT64_MAX);
    fg_stmt_int(&s, watermark);
    fg_stmt_int(&s, INT64_MAX);
    fg_stmt_int(&s, fg_day_start_ms(q->from_day));
    fg_stmt_int(&s, fg_day_start_ms(fg_day_next(q->to_day)));
    fg_stmt_int(&s, (int64_t)q->merchant_id);
    fg_stmt_int(&s, (int64_t)q->merchant_id);
    const int slots[2] = {M_COUNT, measure};
    return read_rows(db, &s, 2, slots, g);
}

static int read_range(fg_db_t *db, const char *sql, int64_t a, int64_t b, int64_t c, int nparams, fg_grouper_t *g)
{
    static const int SLOTS[4] = {M_COUNT, M_COLLECTED, M_REFUNDED, M_FEES};
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, a);
    fg_stmt_int(&s, b);
    if (nparams == 3)
        fg_stmt_int(&s, c);
    return read_rows(db, &s, 4, SLOTS, g);
}

static int32_t month_next(int32_t m) { return m % 100 == 12 ? (m / 100 + 1) * 100 + 1 : m + 1; }
static int32_t month_prev(int32_t m) { return m % 100 == 1 ? (m / 100 - 1) * 100 + 12 : m - 1; }

static int group_has(const fg_group_by_t *by, fg_dim_kind_t kind)
{
    for (int d = 0; d < by->count; d++)
        if (by->dims[d].kind == kind)
            return 1;
    return 0;
}

/* The rolled-up part, from the smallest rollup that answers the question:
 * one merchant's days; the city's days when no merchant is grouped by; every
 * merchant's whole months, and days at the period's ragged ends, when days
 * are not grouped by either; every merchant's days otherwise. */
static int read_rolled(fg_db_t *db, const fg_collections_query_t *q, fg_grouper_t *g)
{
    if (q->merchant_id != 0)
        return read_range(db, SQL_ROLLUPS_MERCHANT, (int64_t)q->merchant_id, q->from_day, q->to_day, 3, g);
    if (!group_has(&q->group, FG_DIM_MERCHANT))
        return read_range(db, SQL_ROLLUPS_CITY, q->from_day, q->to_day, 0, 2, g);
    if (group_has(&q->group, FG_DIM_DAY))
        return read_range(db, SQL_ROLLUPS_DAILY, q->from_day, q->to_day, 0, 2, g);
    /* whole months (yyyymm): the first starting on or after from, the last ending on or before to */
    int32_t first = q->from_day / 100, last = q->to_day / 100;
    if (q->from_day % 100 != 1)
        first = month_next(first);
    if (fg_day_next(q->to_day) / 100 == last) /* to is not its month's last day */
        last = month_prev(last);
    if (first > last)
        return read_range(db, SQL_ROLLUPS_DAILY, q->from_day, q->to_day, 0, 2, g);
    int32_t first_day = first * 100 + 1, after_last = month_next(last) * 100 + 1;
    int rc = read_range(db, SQL_ROLLUPS_MONTHLY, first, last, 0, 2, g);
    if (rc == 0 && q->from_day < first_day)
        rc = read_range(db, SQL_ROLLUPS_DAILY, q->from_day, fg_day_prev(first_day), 0, 2, g);
    if (rc == 0 && after_last <= q->to_day)
        rc = read_range(db, SQL_ROLLUPS_DAILY, after_last, q->to_day, 0, 2, g);
    return rc;
}

/* The rollups up to the watermark and the ledger above it, in one snapshot so
 * that a round committing meanwhile is seen entirely on one side. */
static int read_rollups(fg_db_t *db, const fg_collections_query_t *q, fg_grouper_t *g)
{
    int64_t watermark = 0;
    int rc = fg_db_begin_snapshot(db);
    if (rc == 0)
        rc = fg_db_one_int(db, SQL_WATERMARK, &watermark);
    if (rc == 0)
        rc = read_rolled(db, q, g);
    if (rc == 0)
        rc = read_tail(db, SQL_TAIL_PAYMENTS, q, watermark, M_COLLECTED, g);
    if (rc == 0)
        rc = read_tail(db, SQL_TAIL_REFUNDS, q, watermark, M_REFUNDED, g);
    if (rc == 0)
        rc = read_tail(db, SQL_TAIL_FEES, q, watermark, M_FEES, g);
    if (rc == 0)
        rc = read_tail(db, SQL_TAIL_FEES_LATE, q, watermark, M_FEES, g);
    if (rc == 0)
        rc = fg_db_commit(db);
    else
        fg_db_rollback(db);
    return rc;
}

int fg_report_collections(fg_db_t *db, const fg_collections_query_t *q, fg_table_t *out)
{
    fg_grouper_t *g = fg_grouper_new(&q->group, M_N, q->currency);
    int rc;
    if (q->group.meta_count > 0 || q->from_journals) {
        /* metadata is not rolled up: the period's journals, read whole */
        rc = read_fine(db, SQL_PAYMENTS, q, 1, g);
        if (rc == 0)
            rc = read_fine(db, SQL_REFUNDS, q, 0, g);
    } else {
        rc = read_rollups(db, q, g);
    }
    if (rc != 0) {
        fg_grouper_free(g);
        return rc;
    }
    fg_group_columns(&q->group, out);
    int c_count = fg_table_col(out, "count", "Số giao dịch / Payments", FG_COL_INT, 12);
    int c_collected = fg_table_col(out, "collected", "Đã thu / Collected", FG_COL_MONEY, 18);
    int c_refunded = fg_table_col(out, "refunded", "Hoàn trả / Refunded", FG_COL_MONEY, 16);
    int c_net = fg_table_col(out, "net", "Thực thu / Net", FG_COL_MONEY, 18);
    int c_fees = fg_table_col(out, "fees", "Phí cổng / Fees", FG_COL_MONEY, 14);
    /* last, so that a reader of the columns before it by position reads them as before */
    int c_currency = fg_table_currency_col(out);
    size_t n = fg_grouper_sort(g);
    for (size_t i = 0; i < n && rc == 0; i++) {
        fg_cell_t *row = fg_table_row(out);
        if (row == NULL) {
            rc = FG_ETOOLONG;
            break;
        }
        const int64_t *m = fg_grouper_emit(g, i, row, c_currency);
        row[c_count].num = m[M_COUNT];
        row[c_collected].num = m[M_COLLECTED];
        row[c_refunded].num = m[M_REFUNDED];
        row[c_fees].num = m[M_FEES];
        rc = fg_money_sub(m[M_COLLECTED], m[M_REFUNDED], &row[c_net].num);
    }
    fg_grouper_free(g);
    return rc != 0 ? rc : fg_table_total(out);
}

static const char SQL_MERCHANT[] = "SELECT id FROM merchants WHERE public_id = ?";

int fg_report_merchant(fg_db_t *db, const char *public_id, size_t len, uint64_t *id)
{
    int64_t v = 0;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_MERCHANT);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, public_id, len);
    fg_stmt_out_int(&s, &v, NULL);
    if ((rc = fg_stmt_one(&s)) == 0)
        *id = (uint64_t)v;
    return rc;
}
