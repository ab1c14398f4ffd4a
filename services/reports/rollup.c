/*
 * rollup.c - report_daily, maintained from the ledger exactly once
 * (reports.h, docs/REPORTS.md "Rollups").
 *
 * A round, in one transaction: lock the watermark row (instances take turns),
 * pick the next range of ledger entry ids above it, no further than the
 * settled mark (every id up to it is final: db/settle.h), add the
 * collections of the journals whose first entry lies in the range to
 * report_daily, and move the watermark to the range's end.  A journal is
 * added in the round whose range holds its first entry, and in no other; a
 * round that fails adds nothing and moves nothing.
 */
#include "reports/reports_internal.h"

#include <string.h>
#include "core/error.h"
#include "core/text.h"
#include "db/settle.h"
#include "reports/rollup_sql.h"

static const char SQL_LOCK[] = "SELECT upto_entry_id FROM report_watermarks WHERE name = 'collections' FOR UPDATE";
static const char SQL_MOVE[] =
    "UPDATE report_watermarks SET upto_entry_id = ?, updated_at = ? WHERE name = 'collections'";
/* the end of the next range: at most `batch` entries above the watermark, no further than the settled mark */
static const char SQL_END[] =
    "SELECT COALESCE(MAX(id), ?) FROM (SELECT id FROM ledger_entries WHERE id > ? AND id <= ? ORDER BY id LIMIT ?) x";

/* A round's collections, journal by journal, summed into each rollup from here;
 * every key ends with the currency (schema/0039). */
static const char SQL_DELTA_TABLE[] =
    "CREATE TEMPORARY TABLE IF NOT EXISTS report_delta (day INT NOT NULL, merchant_id BIGINT UNSIGNED NOT NULL, "
    "fee_type VARCHAR(16) NOT NULL, category VARCHAR(64) NOT NULL, adapter VARCHAR(16) NOT NULL, "
    "currency CHAR(3) NOT NULL, payments BIGINT NOT NULL, collected BIGINT NOT NULL, refunded BIGINT NOT NULL, fees BIGINT NOT NULL)";
static const char SQL_DELTA_CLEAR[] = "DELETE FROM report_delta";
#define DELTA "INSERT INTO report_delta SELECT x.d, x.mid, x.ft, x.cat, x.ad, x.cur, "
static const char SQL_ADD_PAYMENTS[] = DELTA "x.n, x.v, 0, 0 FROM (" FG_ROLLUP_PAYMENTS("") ") x";
static const char SQL_ADD_REFUNDS[] = DELTA "0, 0, x.v, 0 FROM (" FG_ROLLUP_REFUNDS("") ") x";
static const char SQL_ADD_FEES[] = DELTA "0, 0, 0, x.v FROM (" FG_ROLLUP_FEES("") ") x";
static const char SQL_ADD_FEES_LATE[] = DELTA "0, 0, 0, x.v FROM (" FG_ROLLUP_FEES_LATE("") ") x";

#define SUMS "SUM(payments), SUM(collected), SUM(refunded), SUM(fees) FROM report_delta "
#define ON_DUP                                                                                                         \
    " ON DUPLICATE KEY UPDATE payments = payments + VALUES(payments), collected = collected + VALUES(collected), "     \
    "refunded = refunded + VALUES(refunded), fees = fees + VALUES(fees)"
static const char *const SQL_ROLL[] = {
    "INSERT INTO report_daily SELECT day, merchant_id, fee_type, category, adapter, currency, " SUMS
    "GROUP BY 1, 2, 3, 4, 5, 6" ON_DUP,
    "INSERT INTO report_monthly SELECT day DIV 100, merchant_id, fee_type, category, adapter, currency, " SUMS
    "GROUP BY 1, 2, 3, 4, 5, 6" ON_DUP,
    "INSERT INTO report_daily_city SELECT day, fee_type, category, adapter, currency, " SUMS
    "GROUP BY 1, 2, 3, 4, 5" ON_DUP,
};

static const char *const SQL_CLEAR[] = {"DELETE FROM report_daily", "DELETE FROM report_monthly",
                                        "DELETE FROM report_daily_city"};

typedef struct {
    int64_t settled, batch, from, to;
    int clear; /* a rebuild: empty the rollups and start again from 0 */
} round_t;

static int add(fg_db_t *db, const char *sql, const round_t *r)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, r->from);
    fg_stmt_int(&s, r->to);
    fg_stmt_int(&s, r->from);
    fg_stmt_int(&s, r->to);
    return fg_stmt_exec(&s);
}

static int round_tx(fg_db_t *db, void *arg)
{
    round_t *r = arg;
    fg_stmt_t s;
    int rc = fg_db_one_int(db, SQL_LOCK, &r->from);
    if (rc != 0)
        return rc;
    if (r->clear) {
        r->from = 0;
        for (size_t i = 0; i < sizeof(SQL_CLEAR) / sizeof(SQL_CLEAR[0]); i++)
            if ((rc = fg_stmt_init(&s, db, SQL_CLEAR[i])) != 0 || (rc = fg_stmt_exec(&s)) != 0)
                return rc;
    }
    r->to = r->from;
    if (r->settled > r->from) {
        if ((rc = fg_stmt_init(&s, db, SQL_END)) != 0)
            return rc;
        fg_stmt_int(&s, r->from);
        fg_stmt_int(&s, r->from);
        fg_stmt_int(&s, r->settled);
        fg_stmt_int(&s, r->batch);
        fg_stmt_out_int(&s, &r->to, NULL);
        if ((rc = fg_stmt_one(&s)) != 0)
            return rc;
    }
    if (r->to > r->from) {
        if ((rc = fg_db_exec_text(db, SQL_DELTA_TABLE, sizeof(SQL_DELTA_TABLE) - 1)) != 0 ||
            (rc = fg_stmt_init(&s, db, SQL_DELTA_CLEAR)) != 0 || (rc = fg_stmt_exec(&s)) != 0 ||
            (rc = add(db, SQL_ADD_PAYMENTS, r)) != 0 || (rc = add(db, SQL_ADD_REFUNDS, r)) != 0 ||
            (rc = add(db, SQL_ADD_FEES, r)) != 0 || (rc = add(db, SQL_ADD_FEES_LATE, r)) != 0)
            return rc;
        for (size_t i = 0; i < sizeof(SQL_ROLL) / sizeof(SQL_ROLL[0]); i++)
            if ((rc = fg_stmt_init(&s, db, SQL_ROLL[i])) != 0 || (rc = fg_stmt_exec(&s)) != 0)
                return rc;
    }
    if (r->to == r->from && !r->clear)
        return 0; /* nothing new: nothing to write */
    if ((rc = fg_stmt_init(&s, db, SQL_MOVE)) != 0)
        return rc;
    fg_stmt_int(&s, r->to);
    fg_stmt_int(&s, fg_now_ms());
    return fg_stmt_exec(&s);
}

int fg_report_rollup_round(fg_db_t *db, int64_t settled_entry_id, int64_t batch, int64_t *upto)
{
    round_t r = {settled_entry_id, batch > 0 ? batch : 1, 0, 0, 0};
    int rc = fg_db_tx(db, round_tx, &r);
    if (rc == 0 && upto != NULL)
        *upto = r.to;
    return rc != 0 ? rc : r.to > r.from;
}

int fg_report_rollup_clear(fg_db_t *db)
{
    round_t r = {0, 1, 0, 0, 1};
    return fg_db_tx(db, round_tx, &r);
}

static const char SQL_ENTRIES_MARK[] = "SELECT COALESCE(MAX(id), 0) FROM ledger_entries";
#define REBUILD_POLL_MS 100

int fg_report_rollup_rebuild(fg_db_t *db, int64_t wait_ms, int64_t *upto, int64_t *rounds, uint64_t *blocker)
{
    fg_settle_point_t p;
    fg_settle_probe_t probe = {0};
    int reached = 0;
    memset(&p, 0, sizeof(p));
    *upto = 0;
    *rounds = 0;
    int rc = fg_report_rollup_clear(db);
    if (rc != 0)
        return rc;
    /* A settled mark to catch up to: every entry up to it is final.  The
     * server's own jobs read InnoDB's list of transactions too and may keep
     * it from being refreshed for a while (FG_EUNAVAILABLE): try again
     * until wait_ms has passed. */
    int observed = 0;
    for (int64_t waited = 0;; waited += REBUILD_POLL_MS) {
        if (!observed) {
            rc = fg_settle_observe(db, &probe, SQL_ENTRIES_MARK, 1, fg_now_ms(), &p);
            observed = rc == 0;
        }
        if (observed)
            rc = fg_settle_reached(db, &probe, &p, &reached, blocker);
        if (rc != 0 && rc != FG_EUNAVAILABLE)
            goto Exit;
        if (rc == 0 && reached)
            break;
        if (waited >= wait_ms) {
            rc = FG_EUNAVAILABLE;
            goto Exit;
        }
        fg_sleep_ms(REBUILD_POLL_MS);
    }
    while ((rc = fg_report_rollup_round(db, p.mark[0], FG_ROLLUP_BATCH, upto)) == 1)
        (*rounds)++;
Exit:
    fg_settle_point_free(&p);
    fg_settle_probe_close(&probe);
    return rc;
}
