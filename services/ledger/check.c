/*
 * check.c - `feegate ledger check`: the ledger's invariants, verified in SQL.
 *
 * Each check is one query returning its violations as (object, detail) rows,
 * so the list below reads as the invariants themselves.
 */
#include "ledger/ledger.h"
#include "ledger/owed_sql.h"
#include "ledger/recon_counts.h"
#include "core/text.h"

#include <string.h>

typedef struct {
    const char *name;
    const char *sql; /* SELECT object, detail ... : one row per violation */
} check_t;

/* The two journal checks look at each journal's own entries (one probe of
 * ix_entries_journal each, in journal order, so the entries are read in the
 * order they were written) instead of grouping every journal at once: the
 * GROUP BY form went through a temporary table of every journal, minutes at
 * 10 M journals.  An unbalanced journal is named once, with the first
 * currency that does not sum to zero. */
static const char SQL_JOURNAL_SHORT[] =
    "SELECT j.public_id, CONCAT('journal has ', (SELECT COUNT(*) FROM ledger_entries e WHERE e.journal_id = j.id), "
    "' entries') FROM journals j WHERE (SELECT COUNT(*) FROM ledger_entries e WHERE e.journal_id = j.id) < 2";
static const char SQL_JOURNAL_UNBALANCED[] =
    "SELECT j.public_id, (SELECT CONCAT(e.currency, ' entries sum to ', SUM(e.amount)) FROM ledger_entries e "
    "WHERE e.journal_id = j.id GROUP BY e.currency HAVING SUM(e.amount) <> 0 ORDER BY e.currency LIMIT 1) AS d "
    "FROM journals j HAVING d IS NOT NULL";
/* Every entry belongs to a journal that exists: the journal checks start
 * from the journals, so entries of a missing one would go unseen there. */
static const char SQL_ENTRY_JOURNAL[] =
    "SELECT CONCAT('entry ', e.id), CONCAT('entry of journal ', e.journal_id, ', which does not exist') FROM "
    "ledger_entries e LEFT JOIN journals j ON j.id = e.journal_id WHERE j.id IS NULL";
/* Every entry names an account that exists, in the account's currency. */
static const char SQL_ENTRY_ACCOUNT[] =
    "SELECT CONCAT('entry ', e.id), IF(a.id IS NULL, CONCAT('entry on account ', e.account_id, ', which does not "
    "exist'), CONCAT('entry in ', e.currency, ' on a ', a.currency, ' account ', a.code)) FROM ledger_entries e "
    "LEFT JOIN ledger_accounts a ON a.id = e.account_id WHERE a.id IS NULL OR e.currency <> a.currency";
/* Each checkpoint of the current epoch is compared with the entries
 * themselves: the sum and count of all of its account's entries up to it, and
 * its as_of no earlier than its predecessor's (same epoch and account) or any
 * entry in between.  Each entry is put in the "bucket" of the first checkpoint
 * of its account at or after it (one dive into the checkpoints' primary key
 * per entry), the checkpoints themselves join their buckets as rows of the
 * same UNION, and one GROUP BY sums each bucket (one pass over the entries, a
 * temporary table of one row per checkpoint); running sums over each
 * account's buckets then give each checkpoint its total.  Linear in the
 * entries, with no sort of them and no join for the optimizer to turn into a
 * per-checkpoint scan: a window over every entry sorted them all (40 s at
 * 2 M entries, against 6 s), and a join of the checkpoints to their grouped
 * buckets was planned by MariaDB, on some statistics, as a "lateral derived"
 * grouping of the account's whole index per checkpoint (quadratic in a busy
 * account: minutes in the fault suite).  epoch_k: a condition on the
 * checkpoints' alias k (and "AND" after it) picking the ones checked, or "";
 * epoch_c: the same as a WHERE on alias c. */
#define CHECKPOINT_RUNS(table, epoch_k, epoch_c)                                                                       \
    "SELECT g.account_id, g.upto AS upto_entry_id, g.balance, g.entry_count, g.as_of, SUM(g.s) OVER w AS summed, "     \
    "SUM(g.n) OVER w AS counted, GREATEST(COALESCE(LAG(g.as_of) OVER (PARTITION BY g.account_id ORDER BY g.upto), "    \
    "0), COALESCE(g.latest, 0)) AS latest FROM (SELECT x.account_id, x.upto, SUM(x.amount) AS s, SUM(1 - x.is_cp) "    \
    "AS n, MAX(IF(x.is_cp = 1, NULL, x.stamp)) AS latest, MAX(IF(x.is_cp = 1, x.balance, NULL)) AS balance, "          \
    "MAX(IF(x.is_cp = 1, x.entry_count, NULL)) AS entry_count, MAX(IF(x.is_cp = 1, x.stamp, NULL)) AS as_of FROM "     \
    "(SELECT e.account_id, (SELECT MIN(k.upto_entry_id) FROM " table " k WHERE " epoch_k " k.account_id = "            \
    "e.account_id AND k.upto_entry_id >= e.id) AS upto, e.amount, e.created_at AS stamp, 0 AS is_cp, 0 AS balance, "   \
    "0 AS entry_count FROM ledger_entries e UNION ALL SELECT c.account_id, c.upto_entry_id, 0, c.as_of, 1, "           \
    "c.balance, c.entry_count FROM " table " c " epoch_c ") x GROUP BY x.account_id, x.upto HAVING x.upto IS NOT "     \
    "NULL) g WINDOW w AS (PARTITION BY g.account_id ORDER BY g.upto ROWS UNBOUNDED PRECEDING)"
#define CURRENT_EPOCH "(SELECT MAX(id) FROM ledger_checkpoint_epochs)"
#define CHECKPOINT_WRONG "t.balance <> t.summed OR t.entry_count <> t.counted OR t.latest > t.as_of"
/* clang-format off */
static const char SQL_CHECKPOINTS[] =
    "SELECT CONCAT(a.code, '/', a.currency), CONCAT('checkpoint at entry ', t.upto_entry_id, ' says ', t.balance, "
    "' over ', t.entry_count, ' entries (latest ', t.as_of, ') but the entries sum to ', t.summed, ' over ', "
    "t.counted, ' (latest ', t.latest, ')') FROM ("
    CHECKPOINT_RUNS("ledger_checkpoints", "k.epoch_id = " CURRENT_EPOCH " AND", "WHERE c.epoch_id = " CURRENT_EPOCH)
    ") t JOIN ledger_accounts a ON a.id = t.account_id WHERE " CHECKPOINT_WRONG;
/* Checkpoints written before migration 0006 (cut by time: some covered
 * entries they never counted).  Never read; counted for the record. */
static const char SQL_SUPERSEDED_WRONG[] =
    "SELECT COUNT(*) FROM (" CHECKPOINT_RUNS("ledger_checkpoints_superseded", "", "") ") t WHERE " CHECKPOINT_WRONG;
/* clang-format on */
/* The payment, refund and order checks probe each row's own postings (an
 * index lookup or two per row, in the table's order: linear, with no
 * temporary table) instead of grouping every journal and entry at once,
 * which went through temporary tables of every payment (tens of minutes at
 * 10 M payments).  Each probe's detail is NULL when the row is right.  The
 * probes' joins are STRAIGHT_JOINs from the order's payments down to the
 * entries, each step an index lookup: left to itself MariaDB sometimes began
 * a probe from the refunds or the accounts, a scan per order (minutes). */
static const char SQL_PAYMENTS[] =
    "SELECT p.public_id, (SELECT IF(IF(p.status = 'succeeded', COUNT(*) <> 1, COUNT(*) <> 0), CONCAT(p.status, "
    "' payment has ', COUNT(*), ' payment postings'), NULL) FROM journals j WHERE j.kind = 'payment' AND "
    "j.payment_id = p.id) AS d FROM payments p HAVING d IS NOT NULL";
static const char SQL_REFUNDS[] =
    "SELECT r.public_id, (SELECT IF(IF(r.status = 'succeeded', COUNT(*) <> 1, COUNT(*) <> 0), CONCAT(r.status, "
    "' refund has ', COUNT(*), ' refund postings'), NULL) FROM journals j WHERE j.kind = 'refund' AND "
    "j.refund_id = r.id) AS d FROM refunds r HAVING d IS NOT NULL";
/* A payment's refund counters against its refunds: what was refunded (made)
 * and what is reserved (pending) decide what may still be refunded. */
static const char SQL_PAYMENT_REFUND_COUNTERS[] =
    "SELECT p.public_id, (SELECT IF(COALESCE(SUM(IF(r.status = 'succeeded', r.amount, 0)), 0) <> p.amount_refunded "
    "OR COALESCE(SUM(IF(r.status = 'pending', r.amount, 0)), 0) <> p.amount_refunding, CONCAT('amount_refunded ', "
    "p.amount_refunded, ' and amount_refunding ', p.amount_refunding, ' but its refunds made add up to ', "
    "COALESCE(SUM(IF(r.status = 'succeeded', r.amount, 0)), 0), ' and its pending ones to ', "
    "COALESCE(SUM(IF(r.status = 'pending', r.amount, 0)), 0)), NULL) FROM refunds r WHERE r.payment_id = p.id) AS d "
    "FROM payments p HAVING d IS NOT NULL";
/* What the merchant account received for an order's payments, net of what
 * its refunds took back, against the order's own counters. */
static const char SQL_ORDERS_PAID[] =
    "SELECT o.public_id, (SELECT CASE WHEN COUNT(*) = 0 THEN IF(o.amount_paid <> 0, CONCAT('amount_paid ', "
    "o.amount_paid, ' without any payment posting'), NULL) WHEN SUM(IF(a.merchant_id IS NULL, 0, -e.amount)) <> "
    "o.amount_paid THEN CONCAT('amount_paid ', o.amount_paid, ' but payment postings credit the merchant ', "
    "SUM(IF(a.merchant_id IS NULL, 0, -e.amount))) END FROM payments p STRAIGHT_JOIN journals j ON j.kind = "
    "'payment' AND j.payment_id = p.id STRAIGHT_JOIN ledger_entries e ON e.journal_id = j.id STRAIGHT_JOIN "
    "ledger_accounts a ON a.id = e.account_id WHERE p.order_id = o.id) AS d FROM orders o HAVING d IS NOT NULL";
static const char SQL_ORDERS_REFUNDED[] =
    "SELECT o.public_id, (SELECT IF(COALESCE(SUM(e.amount), 0) <> o.amount_refunded, CONCAT('amount_refunded ', "
    "o.amount_refunded, ' but refund postings debit the merchant ', COALESCE(SUM(e.amount), 0)), NULL) FROM "
    "payments p STRAIGHT_JOIN refunds r ON r.payment_id = p.id STRAIGHT_JOIN journals j ON j.kind = 'refund' AND "
    "j.refund_id = r.id STRAIGHT_JOIN ledger_entries e ON e.journal_id = j.id STRAIGHT_JOIN ledger_accounts a ON "
    "a.id = e.account_id AND a.merchant_id IS NOT NULL WHERE p.order_id = o.id) AS d FROM orders o HAVING d IS NOT "
    "NULL";

/* Reconciliation: a closed business day's items are all final, and a
 * statement line is one item: its recon_items row, or the match it was
 * stored with (schema/0029), never both. */
static const char SQL_CLOSED_DAYS_FINAL[] =
    "SELECT CONCAT('item:', i.id), CONCAT('closed day ', i.business_day, ' of ', i.account, ' has an item ', i.state, "
    "' without a resolution') FROM recon_items i JOIN recon_closed_days c ON c.account = i.account "
    "AND c.day = i.business_day WHERE i.state <> 'matched' AND i.resolution IS NULL";
static const char SQL_LINE_ITEMS[] =
    "SELECT CONCAT('line:', l.id), 'a statement line without its reconciliation item' FROM statement_lines l "
    "WHERE l.payment_id IS NULL AND NOT EXISTS (SELECT 1 FROM recon_items i WHERE i.line_id = l.id) UNION ALL "
    "SELECT CONCAT('line:', l.id), 'a statement line matched as it was stored that has an item as well' FROM "
    "statement_lines l JOIN recon_items i ON i.line_id = l.id WHERE l.payment_id IS NOT NULL";

/* recon_day_totals (schema/0026) counts each (account, day)'s items as
 * they are: the table's row and the items' counts read in one statement. */
#define RECON_TOTALS_SIDE(t) "COALESCE(MAX(IF(u.t = " t ", u.v, NULL)), '" FG_RECON_COUNTS_ZERO "')"
static const char SQL_RECON_TOTALS[] =
    "SELECT CONCAT('day:', u.account, ' ', u.business_day), CONCAT('recon_day_totals (" FG_RECON_COUNT_COLUMNS
    ") hold ', " RECON_TOTALS_SIDE("1") ", ', the items count ', " RECON_TOTALS_SIDE(
        "0") ") FROM (SELECT 1 AS t, "
             "account, business_day, CONCAT_WS(' ', " FG_RECON_COUNT_COLUMNS
             ") AS v FROM recon_day_totals UNION ALL SELECT "
             "0, account, business_day, CONCAT_WS(' ', " FG_RECON_COUNTS("") ") FROM " FG_RECON_ALL_ITEMS(
                 "", "") " x GROUP BY account, "
                         "business_day) u GROUP BY u.account, u.business_day HAVING " RECON_TOTALS_SIDE(
                             "1") " <> " RECON_TOTALS_SIDE("0");

/* The outstanding report's sums (schema/0027, per currency since 0039):
 * owed_totals plus the changes not yet folded hold, key by key, what the
 * owing orders count. */
#define OWED_SIDE(t, c) "SUM(IF(u.t = " t ", u." c ", 0))"
static const char SQL_OWED[] =
    "SELECT CONCAT('owed:', u.merchant_id, ' ', u.fee_type, ' ', u.category, ' ', u.due_day, ' ', u.currency), "
    "CONCAT('the sums "
    "hold ', " OWED_SIDE("1", "n") ", ' orders owing ', " OWED_SIDE("1", "v") ", ', the orders are ', " OWED_SIDE("0", "n") ", ' owing ', " OWED_SIDE(
        "0",
        "v") ") FROM (SELECT 1 AS t, merchant_id, fee_type, category, "
             "due_day, currency, orders AS n, owed AS v FROM owed_totals UNION ALL "
             "SELECT 1, merchant_id, fee_type, category, due_day, currency, orders, "
             "owed FROM owed_changes UNION ALL SELECT 0, " FG_OWED_KEY("") ", 1, amount - amount_paid FROM orders WHERE " FG_OWED_COUNTS("") ") u GROUP BY u.merchant_id, u.fee_type, u.category, u.due_day, u.currency HAVING " OWED_SIDE(
                 "1", "n") " <> " OWED_SIDE("0", "n") " OR " OWED_SIDE("1", "v") " <> " OWED_SIDE("0", "v");

/* The bank account in the ledger (schema/0009_bank_book.sql): its postings
 * by day add up to its ledger balance, and at the end of every closed day it
 * holds what the statement said then: the closing of the day's last statement
 * imported before it closed (not one marked late_closing, imported after). */
static const char SQL_BANK_BOOK[] =
    "SELECT CONCAT('account:', b.account, ' ', b.currency), CONCAT('bank postings sum to ', b.posted, "
    "', the ledger account holds ', COALESCE(l.held, 0)) FROM (SELECT account, currency, SUM(amount) AS posted "
    "FROM bank_postings GROUP BY account, currency) b LEFT JOIN (SELECT a.code, a.currency, SUM(e.amount) AS held "
    "FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id WHERE a.code LIKE 'assets:bank:%' "
    "GROUP BY a.code, a.currency) l ON l.code = CONCAT('assets:bank:', b.account) AND l.currency = b.currency "
    "WHERE b.posted <> COALESCE(l.held, 0)";
static const char SQL_CLOSED_DAY_BALANCE[] =
    "SELECT CONCAT('day:', c.account, ' ', c.day), CONCAT('closed with the statement closing at ', s.closing, "
    "', the ledger bank account held ', (SELECT COALESCE(SUM(p.amount), 0) FROM bank_postings p WHERE "
    "p.account = c.account AND p.currency = s.currency AND p.day <= c.day)) FROM recon_closed_days c JOIN "
    "statements s ON s.id = (SELECT MAX(s2.id) FROM statements s2 WHERE s2.account = c.account AND "
    "s2.closing_date = c.day AND s2.closing IS NOT NULL AND s2.late_closing = 0 AND s2.created_at <= c.closed_at) "
    "WHERE s.closing <> "
    "(SELECT COALESCE(SUM(p.amount), 0) FROM bank_postings p WHERE p.account = c.account AND p.currency = "
    "s.currency AND p.day <= c.day)";

/* A gateway's settlement batch (schema/0008, 0011): its rows add up to it,
 * gross - fees = net, and once it settled its payout line, its journal
 * credits the gateway's clearing account the gross and charges the fees. */
static const char SQL_SETTLEMENT_BATCHES[] =
    "SELECT CONCAT('batch:', t.gateway, ' ', t.batch_ref), CONCAT('gross ', t.gross, ', fees ', t.fees, ', net ', "
    "t.net, ' over ', t.row_count, ' rows; the rows add up to ', t.row_gross, ', fees ', t.row_fees, ' over ', "
    "t.rows_found, '; its journal credits clearing ', -t.journal_clearing, ' and charges fees ', t.journal_fees) "
    "FROM (SELECT b.gateway, b.batch_ref, b.gross, b.fees, b.net, b.row_count, b.line_id, COALESCE(r.gross, 0) AS "
    "row_gross, COALESCE(r.fees, 0) AS row_fees, COALESCE(r.n, 0) AS rows_found, (SELECT COALESCE(SUM(e.amount), "
    "0) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE e.journal_id = b.journal_id AND "
    "a.code = CONCAT('assets:clearing:', b.gateway)) AS journal_clearing, (SELECT COALESCE(SUM(e.amount), 0) FROM "
    "ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE e.journal_id = b.journal_id AND a.code = "
    "CONCAT('expenses:fees:', b.gateway)) AS journal_fees FROM settlement_batches b LEFT JOIN (SELECT batch_id, "
    "SUM(amount) AS gross, SUM(fee) AS fees, COUNT(*) AS n FROM settlement_rows GROUP BY batch_id) r ON "
    "r.batch_id = b.id) t WHERE t.row_gross <> t.gross OR t.row_fees <> t.fees OR t.rows_found <> t.row_count OR "
    "t.gross - t.fees <> t.net OR (t.line_id IS NOT NULL AND (t.journal_clearing <> -t.gross OR t.journal_fees <> "
    "t.fees))";

/* Merchant payouts (schema/0015): each payout's journal debits its
 * merchant's account and credits payouts in transit its amount; a payout is
 * paid exactly when it has the journal of the line that paid it; and what
 * sits in transit is what the payouts not yet paid add up to, per currency. */
static const char SQL_PAYOUTS_POSTED[] =
    "SELECT p.public_id, CONCAT('payout of ', p.amount, ': its journal debits the merchant ', "
    "COALESCE(SUM(CASE WHEN a.code = CONCAT('liabilities:merchant:', m.public_id) THEN e.amount END), 0), "
    "' and credits payouts in transit ', -COALESCE(SUM(CASE WHEN a.code = 'liabilities:payouts_in_transit' "
    "THEN e.amount END), 0)) FROM payouts p JOIN merchants m ON m.id = p.merchant_id LEFT JOIN ledger_entries e ON "
    "e.journal_id = p.journal_id LEFT JOIN ledger_accounts a ON a.id = e.account_id GROUP BY p.id, p.public_id, "
    "p.amount, m.public_id HAVING COALESCE(SUM(CASE WHEN a.code = CONCAT('liabilities:merchant:', m.public_id) "
    "THEN e.amount END), 0) <> p.amount OR COALESCE(SUM(CASE WHEN a.code = 'liabilities:payouts_in_transit' THEN "
    "e.amount END), 0) <> -p.amount";
static const char SQL_PAYOUTS_IN_TRANSIT[] =
    "SELECT p.public_id, CONCAT(p.status, ' payout ', IF(p.paid_journal_id IS NULL, 'without', 'with'), "
    "' the journal of a line that paid it') FROM payouts p WHERE (p.status = 'paid') <> (p.paid_journal_id IS NOT "
    "NULL) UNION ALL SELECT CONCAT('account:liabilities:payouts_in_transit ', c.currency), CONCAT('holds ', "
    "-c.held, ', the payouts not yet paid add up to ', c.owed) FROM (SELECT k.currency, (SELECT "
    "COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.code = "
    "'liabilities:payouts_in_transit' AND a.currency = k.currency) AS held, (SELECT COALESCE(SUM(p.amount), 0) FROM "
    "payouts p WHERE p.currency = k.currency AND p.status <> 'paid') AS owed FROM (SELECT currency FROM payouts "
    "UNION SELECT currency FROM ledger_accounts WHERE code = 'liabilities:payouts_in_transit') k) c WHERE "
    "-c.held <> c.owed";

static const check_t CHECKS[] = {
    {"journal_has_two_entries", SQL_JOURNAL_SHORT},
    {"journal_sums_to_zero", SQL_JOURNAL_UNBALANCED},
    {"entry_names_its_journal", SQL_ENTRY_JOURNAL},
    {"entry_names_its_account", SQL_ENTRY_ACCOUNT},
    {"checkpoint_equals_entries", SQL_CHECKPOINTS},
    {"payment_posted_once", SQL_PAYMENTS},
    {"refund_posted_once", SQL_REFUNDS},
    {"payment_refund_counters", SQL_PAYMENT_REFUND_COUNTERS},
    {"order_paid_equals_postings", SQL_ORDERS_PAID},
    {"order_refunded_equals_postings", SQL_ORDERS_REFUNDED},
    {"closed_day_items_final", SQL_CLOSED_DAYS_FINAL},
    {"statement_line_has_item", SQL_LINE_ITEMS},
    {"recon_day_totals_equal_items", SQL_RECON_TOTALS},
    {"owed_totals_equal_orders", SQL_OWED},
    {"bank_postings_equal_ledger", SQL_BANK_BOOK},
    {"closed_day_bank_balance", SQL_CLOSED_DAY_BALANCE},
    {"settlement_batch_posted", SQL_SETTLEMENT_BATCHES},
    {"payout_posted", SQL_PAYOUTS_POSTED},
    {"payouts_in_transit", SQL_PAYOUTS_IN_TRANSIT},
};

static const char SQL_COUNTS[] =
    "SELECT (SELECT COUNT(*) FROM journals), (SELECT COUNT(*) FROM ledger_entries), "
    "(SELECT COUNT(*) FROM ledger_accounts), "
    "(SELECT COUNT(*) FROM ledger_checkpoints WHERE epoch_id = (SELECT MAX(id) FROM ledger_checkpoint_epochs)), "
    "(SELECT COUNT(*) FROM payments WHERE status = 'succeeded'), "
    "(SELECT COUNT(*) FROM refunds WHERE status = 'succeeded'), "
    "(SELECT COALESCE(MAX(id), 0) FROM ledger_checkpoint_epochs), "
    "(SELECT COUNT(*) FROM ledger_checkpoints WHERE epoch_id < (SELECT MAX(id) FROM ledger_checkpoint_epochs)), "
    "(SELECT COUNT(*) FROM ledger_checkpoints_superseded)";
#define COUNTS 9

/* Violations listed in full; beyond this only counted. */
#define VIOLATIONS_LISTED_MAX 1000

static int run_check(fg_db_t *db, const check_t *c, fg_buf_t *list, int *listed)
{
    fg_stmt_t s;
    fg_buf_t object = FG_BUF_INIT, detail = FG_BUF_INIT;
    int rc, found = 0;
    if ((rc = fg_stmt_init(&s, db, c->sql)) != 0)
        return rc;
    fg_stmt_out_text(&s, &object, NULL);
    fg_stmt_out_text(&s, &detail, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        found++;
        if ((*listed)++ >= VIOLATIONS_LISTED_MAX)
            continue;
        if (*listed > 1)
            fg_buf_putc(list, ',');
        fg_buf_putc(list, '{');
        fg_json_kv_str(list, 0, "check", c->name);
        fg_json_kv_strn(list, 1, "object", object.data, object.len);
        fg_json_kv_strn(list, 1, "detail", detail.data, detail.len);
        fg_buf_putc(list, '}');
    }
    rc = rc < 0 ? rc : found;
Exit:
    fg_buf_free(&object);
    fg_buf_free(&detail);
    return rc;
}

/* The one row of n counts sql returns.  0 or an FG_E* code. */
static int read_counts(fg_db_t *db, const char *sql, int64_t *counts, int n)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    for (int i = 0; i < n; i++)
        fg_stmt_out_int(&s, &counts[i], NULL);
    return fg_stmt_one(&s);
}

int fg_ledger_check(fg_db_t *db, fg_buf_t *out)
{
    fg_buf_t list = FG_BUF_INIT, timings = FG_BUF_INIT;
    int64_t counts[COUNTS + 1] = {0};
    int violations = 0, listed = 0, rc = 0;
    for (size_t i = 0; i < sizeof(CHECKS) / sizeof(CHECKS[0]); i++) {
        int64_t started = fg_now_ms();
        rc = run_check(db, &CHECKS[i], &list, &listed);
        if (rc < 0)
            goto Exit;
        violations += rc;
        fg_json_kv_int(&timings, i > 0, CHECKS[i].name, fg_now_ms() - started);
    }
    if ((rc = read_counts(db, SQL_COUNTS, counts, COUNTS)) != 0)
        goto Exit;
    /* a pass over every entry: only when there is a superseded checkpoint */
    if (counts[8] > 0 && (rc = read_counts(db, SQL_SUPERSEDED_WRONG, &counts[COUNTS], 1)) != 0)
        goto Exit;
    fg_buf_putc(out, '{');
    fg_json_kv_bool(out, 0, "ok", violations == 0);
    fg_json_kv_int(out, 1, "journals", counts[0]);
    fg_json_kv_int(out, 1, "entries", counts[1]);
    fg_json_kv_int(out, 1, "accounts", counts[2]);
    fg_json_kv_int(out, 1, "checkpoints", counts[3]);
    fg_json_kv_int(out, 1, "payments_succeeded", counts[4]);
    fg_json_kv_int(out, 1, "refunds_succeeded", counts[5]);
    fg_json_kv_int(out, 1, "checkpoint_epoch", counts[6]);
    /* kept for the record, never read: a wrong one there is history, not a violation */
    fg_json_kv_int(out, 1, "checkpoints_earlier_epochs", counts[7]);
    fg_json_kv_int(out, 1, "checkpoints_before_0006", counts[8]);
    fg_json_kv_int(out, 1, "checkpoints_before_0006_wrong", counts[9]);
    fg_json_kv_int(out, 1, "checks", (int64_t)(sizeof(CHECKS) / sizeof(CHECKS[0])));
    fg_json_kv_int(out, 1, "violations_count", violations);
    /* how long each check took, in milliseconds: where a large ledger's check spends its time */
    fg_json_key(out, 1, "check_ms");
    fg_buf_putc(out, '{');
    if (timings.len > 0)
        fg_buf_append(out, timings.data, timings.len);
    fg_buf_putc(out, '}');
    fg_json_key(out, 1, "violations");
    fg_buf_putc(out, '[');
    if (list.len > 0)
        fg_buf_append(out, list.data, list.len);
    fg_buf_puts(out, "]}");
    rc = violations;
Exit:
    fg_db_end(db);
    fg_buf_free(&list);
    fg_buf_free(&timings);
    return rc;
}
