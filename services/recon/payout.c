/*
 * payout.c - rule 0 of the matching job: a gateway's payout line
 * (docs/RECONCILIATION.md, "Gateway settlements").
 *
 * VNPay and MoMo pay a day's transactions to the bank in one batch, net of
 * their fees.  A payout line is settled
 *
 *   - by its settlement file (settlement.c): the stored batch whose
 *     reference the line's bank reference or end-to-end id names (or the
 *     payout its memo names, below), when the batch's net is the line's
 *     amount.  Every row of the file is then held against our payments
 *     (check_rows): a transaction the ledger lacks or that another batch
 *     listed already, an amount that differs from ours, and a succeeded
 *     transaction of the batch's days that no batch lists each become an
 *     item of kind settlement_row for staff;
 *
 *   - else by the gateway's fee schedule (recon.fee.{gateway}), when the
 *     line names a payout by the gateways' convention, "VNPSTL" or "MOMOSTL"
 *     and the yyyymmdd business day (GMT+7) it pays, in its bank reference,
 *     end-to-end id or memo: the gateway's succeeded payments of that day
 *     that no batch lists, less its succeeded refunds of that day that no
 *     batch lists (the gateways deduct a refund from the payout of the day
 *     it is made), each payment's fee by the schedule, refunds without one.
 *     When that net is the line's amount a batch is made of those
 *     transactions (source 'schedule', one row each), so they count as
 *     settled; no schedule, and the line waits for its file as before.
 *
 * Either way the line posts Dr source (net), Dr expenses:fees:{gateway}
 * (fees), Cr assets:clearing:{gateway} (gross), so the clearing account
 * returns to zero for what the batch paid.  A net that differs is
 * amount_mismatch, naming both figures; the line goes back to matching when
 * its file is imported.
 */
#include "recon/recon_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/fee.h"
#include "core/log.h"
#include "core/money.h"
#include "ledger/ledger.h"

/* Transactions one schedule batch may hold: a city's busiest gateway day is
 * tens of thousands; beyond this the line waits for the settlement file
 * rather than hold one transaction open that long. */
#define SCHEDULE_TXNS_MAX 200000
/* Rows sent per round trip when a schedule batch is stored (array binding). */
#define SCHEDULE_ROWS_PER_INSERT 1000
/* Business days one file's batch may cover: gateways pay daily (T+1); a
 * month is far beyond any batch, and bounds the checks' queries. */
#define BATCH_DAYS_MAX 31
#define ROW_COLS 9
_Static_assert(ROW_COLS <= FG_DB_BULK_COLS_MAX, "a settlement row's columns fit a bulk statement");

/* ---- the payout a line names ------------------------------------------------------ */

static const struct {
    const char *prefix, *gateway;
} PAYOUT_PREFIXES[] = {{"VNPSTL", "vnpay"}, {"MOMOSTL", "momo"}};

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c) { return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* A payout name at text[0..len): PREFIX + yyyymmdd, a valid day.  1 or 0. */
static int payout_at(const char *text, size_t len, int p, int32_t *day)
{
    size_t n = strlen(PAYOUT_PREFIXES[p].prefix);
    if (len < n + 8 || memcmp(text, PAYOUT_PREFIXES[p].prefix, n) != 0)
        return 0;
    int v[8];
    for (int i = 0; i < 8; i++) {
        if (!is_digit(text[n + i]))
            return 0;
        v[i] = text[n + i] - '0';
    }
    int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], m = v[4] * 10 + v[5], d = v[6] * 10 + v[7];
    return fg_stmt_date(y, m, d, day) == 0;
}

int fg_recon_payout_name(const char *text, size_t len, int whole, fg_recon_payout_name_t *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t at = 0; at < len; at++) {
        if (whole && at > 0)
            return 0;
        if (at > 0 && is_alnum(text[at - 1]))
            continue; /* inside a word */
        for (int p = 0; p < (int)(sizeof(PAYOUT_PREFIXES) / sizeof(PAYOUT_PREFIXES[0])); p++) {
            size_t n = strlen(PAYOUT_PREFIXES[p].prefix) + 8;
            if (!payout_at(text + at, len - at, p, &out->day))
                continue;
            if ((whole && len != n) || (!whole && at + n < len && is_alnum(text[at + n])))
                continue;
            snprintf(out->gateway, sizeof(out->gateway), "%s", PAYOUT_PREFIXES[p].gateway);
            snprintf(out->batch_ref, sizeof(out->batch_ref), "%s%08d", PAYOUT_PREFIXES[p].prefix, (int)out->day);
            return 1;
        }
    }
    memset(out, 0, sizeof(*out));
    return 0;
}

int fg_recon_payout_of(const fg_recon_line_t *l, fg_recon_payout_name_t *out)
{
    return fg_recon_payout_name(l->bank_ref, strlen(l->bank_ref), 1, out) ||
           fg_recon_payout_name(l->end_to_end, strlen(l->end_to_end), 1, out) ||
           fg_recon_payout_name(l->memo, l->memo_len, 0, out);
}

/* The configured schedule of gateway: 1 with *out, 0 when none. */
static int schedule_of(const fg_config_t *cfg, const char *gateway, fg_fee_schedule_t *out)
{
    const char *text = strcmp(gateway, "vnpay") == 0  ? cfg->recon_fee_vnpay
                       : strcmp(gateway, "momo") == 0 ? cfg->recon_fee_momo
                                                      : NULL;
    return text != NULL && text[0] != '\0' && fg_fee_parse(text, strlen(text), out) == 0;
}

/* ---- posting ------------------------------------------------------------------------- */

/* Dr source (net), Dr expenses:fees:{gateway} (fees), Cr
 * assets:clearing:{gateway} (gross). */
static int post(fg_db_t *db, const fg_recon_line_t *l, const char *gateway, const char *batch_ref, int64_t gross,
                int64_t fees, int64_t net, const char *how, int64_t now, int64_t *journal_id)
{
    char source[FG_ACCOUNT_CODE_MAX + 1], fee_account[FG_ACCOUNT_CODE_MAX + 1], clearing[FG_ACCOUNT_CODE_MAX + 1],
        memo[200];
    if (l->unapplied)
        snprintf(source, sizeof(source), "liabilities:unapplied");
    else
        fg_recon_unreconciled_account(l->account, source);
    snprintf(fee_account, sizeof(fee_account), "expenses:fees:%s", gateway);
    snprintf(clearing, sizeof(clearing), "assets:clearing:%s", gateway);
    snprintf(memo, sizeof(memo), "%s settlement batch %s (%s)", gateway, batch_ref, how);
    fg_journal_t j = {.kind = "settlement", .memo = memo};
    fg_journal_add(&j, source, 0, l->currency, net);
    fg_journal_add(&j, fee_account, 0, l->currency, fees);
    fg_journal_add(&j, clearing, 0, l->currency, -gross);
    return fg_ledger_post_now(db, &j, now, journal_id);
}

/* ---- holding a file's rows against the ledger ------------------------------------ */

/* clang-format off */
#define ITEM_INSERT                                                                                                    \
    "INSERT INTO recon_items (kind, gateway, settlement_batch_id, transaction_no, account, business_day, amount, "     \
    "currency, state, detail, created_at, updated_at) "
/* A row whose transaction a settled batch of the gateway, or an earlier row
 * of its own batch, lists too: the gateway pays it twice. */
#define LISTED_BEFORE                                                                                                  \
    "EXISTS (SELECT 1 FROM settlement_rows r2 JOIN settlement_batches b2 ON b2.id = r2.batch_id WHERE "               \
    "b2.gateway = b.gateway AND r2.transaction_no = r.transaction_no AND r2.kind = r.kind AND ((b2.id <> b.id AND "   \
    "b2.line_id IS NOT NULL) OR (b2.id = b.id AND r2.seq < r.seq)))"
#define ROWS_OF_BATCH "FROM settlement_rows r JOIN settlement_batches b ON b.id = r.batch_id "
/* clang-format on */

static const char SQL_ROW_TWICE[] = ITEM_INSERT
    "SELECT 'settlement_row', b.gateway, b.id, r.transaction_no, ?, ?, r.amount, b.currency, 'bank_only', "
    "LEFT(CONCAT('the ', b.gateway, ' batch ', b.batch_ref, ' lists ', r.kind, ' ', r.transaction_no, "
    "' of ', r.amount, ', which a batch settled before lists too'), 300), ?, ? " ROWS_OF_BATCH
    "WHERE r.batch_id = ? AND " LISTED_BEFORE;
static const char SQL_ROW_UNKNOWN_PAYMENT[] = ITEM_INSERT
    "SELECT 'settlement_row', b.gateway, b.id, r.transaction_no, ?, ?, r.amount, b.currency, 'bank_only', "
    "LEFT(CONCAT('the ', b.gateway, ' batch ', b.batch_ref, ' lists payment ', r.transaction_no, ' (', "
    "r.order_ref, ') of ', r.amount, '; the ledger has no such succeeded payment'), 300), ?, ? " ROWS_OF_BATCH
    "WHERE r.batch_id = ? AND r.kind = 'payment' AND NOT " LISTED_BEFORE
    " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.adapter = b.gateway AND p.provider_txn_id = "
    "r.transaction_no AND p.status = 'succeeded')";
static const char SQL_ROW_PAYMENT_AMOUNT[] = ITEM_INSERT
    "SELECT 'settlement_row', b.gateway, b.id, r.transaction_no, ?, ?, r.amount - p.amount_received, "
    "b.currency, 'amount_mismatch', LEFT(CONCAT('the ', b.gateway, ' batch ', b.batch_ref, ' lists "
    "payment ', r.transaction_no, ' at ', r.amount, '; our payment ', p.public_id, ' received ', "
    "p.amount_received), 300), ?, ? " ROWS_OF_BATCH
    "JOIN payments p ON p.adapter = b.gateway AND p.provider_txn_id = r.transaction_no AND p.status = "
    "'succeeded' WHERE r.batch_id = ? AND r.kind = 'payment' AND r.amount <> p.amount_received AND "
    "NOT " LISTED_BEFORE;
static const char SQL_ROW_UNKNOWN_REFUND[] = ITEM_INSERT
    "SELECT 'settlement_row', b.gateway, b.id, r.transaction_no, ?, ?, r.amount, b.currency, 'bank_only', "
    "LEFT(CONCAT('the ', b.gateway, ' batch ', b.batch_ref, ' lists refund ', r.transaction_no, ' (', "
    "r.order_ref, ') of ', r.amount, '; the ledger has no such succeeded refund'), 300), ?, ? " ROWS_OF_BATCH
    "WHERE r.batch_id = ? AND r.kind = 'refund' AND NOT " LISTED_BEFORE
    " AND NOT EXISTS (SELECT 1 FROM refunds f JOIN payments p ON p.id = f.payment_id WHERE p.adapter = "
    "b.gateway AND f.provider_refund_id = r.transaction_no AND f.status = 'succeeded')";
static const char SQL_ROW_REFUND_AMOUNT[] = ITEM_INSERT
    "SELECT 'settlement_row', b.gateway, b.id, r.transaction_no, ?, ?, r.amount + f.amount, b.currency, "
    "'amount_mismatch', LEFT(CONCAT('the ', b.gateway, ' batch ', b.batch_ref, ' lists refund ', "
    "r.transaction_no, ' at ', r.amount, '; our refund ', f.public_id, ' is ', -f.amount), 300), ?, ? " ROWS_OF_BATCH
    "JOIN refunds f ON f.provider_refund_id = r.transaction_no AND f.status = 'succeeded' "
    "JOIN payments p ON p.id = f.payment_id AND p.adapter = b.gateway WHERE r.batch_id = ? AND r.kind = "
    "'refund' AND r.amount <> -f.amount AND NOT " LISTED_BEFORE;
/* Our transactions of a day the batch covers that no batch lists. */
static const char SQL_MISSING_PAYMENTS[] = ITEM_INSERT
    "SELECT 'settlement_row', p.adapter, ?, p.provider_txn_id, ?, ?, -p.amount_received, p.currency, "
    "'ledger_only', LEFT(CONCAT('our payment ', p.public_id, ' (', p.adapter, ' ', p.provider_txn_id, "
    "', ', p.amount_received, ') succeeded on ', ?, '; no ', p.adapter, ' batch lists it'), 300), ?, ? "
    "FROM payments p JOIN journals j ON j.payment_id = p.id AND j.kind = 'payment' WHERE p.adapter = ? "
    "AND p.status = 'succeeded' AND p.currency = ? AND p.provider_txn_id IS NOT NULL AND j.created_at >= "
    "? AND j.created_at < ? AND NOT EXISTS (SELECT 1 FROM settlement_rows r JOIN settlement_batches b ON "
    "b.id = r.batch_id WHERE b.gateway = p.adapter AND r.kind = 'payment' AND r.transaction_no = "
    "p.provider_txn_id) AND NOT EXISTS (SELECT 1 FROM recon_items i WHERE i.gateway = p.adapter AND "
    "i.transaction_no = p.provider_txn_id AND i.kind = 'settlement_row' AND i.state = 'ledger_only')";
static const char SQL_MISSING_REFUNDS[] = ITEM_INSERT
    "SELECT 'settlement_row', p.adapter, ?, COALESCE(f.provider_refund_id, f.public_id), ?, ?, f.amount, "
    "f.currency, 'ledger_only', LEFT(CONCAT('our refund ', f.public_id, ' (', p.adapter, ' ', "
    "COALESCE(f.provider_refund_id, 'no provider id'), ', ', -f.amount, ') succeeded on ', ?, '; no ', "
    "p.adapter, ' batch lists it'), 300), ?, ? FROM refunds f JOIN payments p ON p.id = f.payment_id JOIN "
    "journals j ON j.refund_id = f.id AND j.kind = 'refund' WHERE p.adapter = ? AND f.status = "
    "'succeeded' AND f.currency = ? AND j.created_at >= ? AND j.created_at < ? AND NOT EXISTS (SELECT 1 "
    "FROM settlement_rows r JOIN settlement_batches b ON b.id = r.batch_id WHERE b.gateway = p.adapter "
    "AND r.kind = 'refund' AND r.transaction_no = COALESCE(f.provider_refund_id, f.public_id)) AND NOT "
    "EXISTS (SELECT 1 FROM recon_items i WHERE i.gateway = p.adapter AND i.transaction_no = "
    "COALESCE(f.provider_refund_id, f.public_id) AND i.kind = 'settlement_row' AND i.state = "
    "'ledger_only')";
static const char SQL_BATCH_DAYS[] = "SELECT DISTINCT transaction_day FROM settlement_rows WHERE batch_id = ? AND "
                                     "transaction_day IS NOT NULL ORDER BY transaction_day LIMIT ?";
/* A transaction an earlier batch was found to lack, that this batch lists:
 * not the gateway's omission after all. */
static const char SQL_LISTED_AFTER_ALL[] =
    "UPDATE recon_items i JOIN settlement_rows r ON r.batch_id = ? AND r.transaction_no = i.transaction_no SET "
    "i.state = 'matched', i.detail = LEFT(CONCAT(i.detail, '; the batch ', ?, ' lists it'), 300), i.updated_at = ? "
    "WHERE i.kind = 'settlement_row' AND i.gateway = ? AND i.state = 'ledger_only' AND i.resolution IS NULL";

/* A check that adds items of the batch's rows: account, day, now, now, batch. */
static int row_check(fg_db_t *db, const char *sql, const fg_recon_line_t *l, int64_t batch_id, int64_t now,
                     int64_t *items)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, l->account);
    fg_stmt_int(&s, l->business_day);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, batch_id);
    if ((rc = fg_stmt_exec(&s)) == 0)
        *items += (int64_t)fg_stmt_affected(&s);
    return rc;
}

static int listed_after_all(fg_db_t *db, int64_t batch_id, const char *gateway, const char *batch_ref, int64_t now)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_LISTED_AFTER_ALL);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, batch_id);
    fg_stmt_cstr(&s, batch_ref);
    fg_stmt_int(&s, now);
    fg_stmt_cstr(&s, gateway);
    return fg_stmt_exec(&s);
}

/* Our transactions of one day the batch covers that no batch lists. */
static int missing_on(fg_db_t *db, const char *sql, const fg_recon_line_t *l, int64_t batch_id, const char *gateway,
                      int32_t day, int64_t now, int64_t *items)
{
    char day_text[16];
    fg_stmt_t s;
    snprintf(day_text, sizeof(day_text), "%04d-%02d-%02d", (int)(day / 10000 % 10000), (int)(day / 100 % 100),
             (int)(day % 100));
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, batch_id);
    fg_stmt_cstr(&s, l->account);
    fg_stmt_int(&s, l->business_day);
    fg_stmt_cstr(&s, day_text);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    fg_stmt_cstr(&s, gateway);
    fg_stmt_cstr(&s, l->currency);
    fg_stmt_int(&s, fg_recon_day_start_ms(day));
    fg_stmt_int(&s, fg_recon_day_start_ms(day) + 86400000LL);
    if ((rc = fg_stmt_exec(&s)) == 0)
        *items += (int64_t)fg_stmt_affected(&s);
    return rc;
}

/* Every row of a file's batch held against the ledger, and the ledger's
 * transactions of the batch's days against the rows: differences become
 * settlement_row items on the payout line's account and business day. */
static int check_rows(fg_db_t *db, const fg_recon_line_t *l, int64_t batch_id, const char *gateway,
                      const char *batch_ref, int64_t now, int64_t *items)
{
    static const char *const ROW_CHECKS[] = {SQL_ROW_TWICE, SQL_ROW_UNKNOWN_PAYMENT, SQL_ROW_PAYMENT_AMOUNT,
                                             SQL_ROW_UNKNOWN_REFUND, SQL_ROW_REFUND_AMOUNT};
    int32_t days[BATCH_DAYS_MAX + 1];
    int64_t day = 0;
    int count = 0;
    fg_stmt_t s;
    *items = 0;
    int rc = listed_after_all(db, batch_id, gateway, batch_ref, now);
    for (size_t i = 0; rc == 0 && i < sizeof(ROW_CHECKS) / sizeof(ROW_CHECKS[0]); i++)
        rc = row_check(db, ROW_CHECKS[i], l, batch_id, now, items);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_BATCH_DAYS)) != 0)
        return rc;
    fg_stmt_int(&s, batch_id);
    fg_stmt_int(&s, BATCH_DAYS_MAX + 1);
    fg_stmt_out_int(&s, &day, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        days[count++] = (int32_t)day;
    if (rc < 0)
        return rc;
    if (count > BATCH_DAYS_MAX) {
        fg_log_t lg;
        fg_log_begin(&lg, FG_LOG_WARN, "settlement batch covers more days than are checked for omissions");
        fg_log_str(&lg, "batch", batch_ref);
        fg_log_int(&lg, "days_checked", BATCH_DAYS_MAX);
        fg_log_end(&lg);
        count = BATCH_DAYS_MAX;
    }
    for (int i = 0; rc == 0 && i < count; i++) {
        if ((rc = missing_on(db, SQL_MISSING_PAYMENTS, l, batch_id, gateway, days[i], now, items)) == 0)
            rc = missing_on(db, SQL_MISSING_REFUNDS, l, batch_id, gateway, days[i], now, items);
    }
    return rc;
}

/* ---- by the settlement file ----------------------------------------------------------- */

static const char SQL_FILE_BATCH[] =
    "SELECT id, gateway, batch_ref, gross, fees, net FROM settlement_batches WHERE batch_ref IN (?, ?, ?) "
    "AND line_id IS NULL LIMIT 1 FOR UPDATE";
static const char SQL_BATCH_SETTLED[] = "UPDATE settlement_batches SET line_id = ?, journal_id = ? WHERE id = ?";

/* A reference to look up, "-" (which no batch has) for none. */
static void ref_param(fg_stmt_t *s, const char *ref)
{
    size_t n = strlen(ref);
    fg_stmt_str(s, n > 0 ? ref : "-", n > 0 ? n : 1);
}

static int by_file(fg_db_t *db, const fg_recon_line_t *l, const fg_recon_payout_name_t *named, int64_t now,
                   fg_recon_payout_result_t *out)
{
    fg_stmt_t s;
    fg_buf_t gateway = FG_BUF_INIT, batch_ref = FG_BUF_INIT;
    int64_t id = 0, gross = 0, fees = 0, net = 0, items = 0;
    int rc = fg_stmt_init(&s, db, SQL_FILE_BATCH);
    if (rc != 0)
        return rc;
    ref_param(&s, l->bank_ref);
    ref_param(&s, l->end_to_end);
    ref_param(&s, named->batch_ref);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &gateway, NULL);
    fg_stmt_out_text(&s, &batch_ref, NULL);
    fg_stmt_out_int(&s, &gross, NULL);
    fg_stmt_out_int(&s, &fees, NULL);
    fg_stmt_out_int(&s, &net, NULL);
    if ((rc = fg_stmt_one(&s)) != 0) {
        rc = rc == FG_ENOTFOUND ? 0 : rc;
        goto Exit;
    }
    out->decided = 1;
    if (net != l->amount) {
        out->state = "amount_mismatch";
        snprintf(out->detail, sizeof(out->detail), "the %s batch's settlement file nets %lld, the line is %lld",
                 gateway.data, (long long)net, (long long)l->amount);
        goto Exit;
    }
    if ((rc = post(db, l, gateway.data, batch_ref.data, gross, fees, net, "settlement file", now, &out->journal_id)) !=
            0 ||
        (rc = fg_stmt_init(&s, db, SQL_BATCH_SETTLED)) != 0)
        goto Exit;
    fg_stmt_int(&s, l->line_id);
    fg_stmt_int(&s, out->journal_id);
    fg_stmt_int(&s, id);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = check_rows(db, l, id, gateway.data, batch_ref.data, now, &items)) != 0)
        goto Exit;
    out->state = "matched";
    out->row_items = items;
    snprintf(out->detail, sizeof(out->detail),
             "%s settlement: gross %lld, fees %lld, net %lld; %lld row(s) differ "
             "from the ledger",
             gateway.data, (long long)gross, (long long)fees, (long long)net, (long long)items);
Exit:
    fg_buf_free(&gateway);
    fg_buf_free(&batch_ref);
    return rc;
}

/* ---- by the fee schedule ------------------------------------------------------------- */

typedef struct {
    char transaction_no[FG_STMT_REF_MAX + 1];
    char order_ref[FG_STMT_REF_MAX + 1];
    int64_t amount, fee; /* a refund's amount < 0, its fee 0 */
    int refund;
} txn_t;

typedef struct {
    txn_t *txns;
    size_t count, cap;
    int64_t gross, fees, net;
} schedule_t;

static const char SQL_KNOWN_BATCH[] =
    "SELECT COALESCE(line_id, 0) FROM settlement_batches WHERE gateway = ? AND batch_ref = ?";
static const char SQL_DAY_PAYMENTS[] =
    "SELECT p.provider_txn_id, p.public_id, p.amount_received FROM payments p JOIN journals j ON j.payment_id = p.id "
    "AND j.kind = 'payment' WHERE p.adapter = ? AND p.status = 'succeeded' AND p.currency = ? AND p.provider_txn_id "
    "IS NOT NULL AND j.created_at >= ? AND j.created_at < ? AND NOT EXISTS (SELECT 1 FROM settlement_rows r JOIN "
    "settlement_batches b ON b.id = r.batch_id WHERE b.gateway = p.adapter AND r.kind = 'payment' AND "
    "r.transaction_no = p.provider_txn_id) ORDER BY j.created_at, p.id LIMIT ?";
static const char SQL_DAY_REFUNDS[] =
    "SELECT COALESCE(f.provider_refund_id, f.public_id), p.public_id, f.amount FROM refunds f JOIN payments p ON "
    "p.id = f.payment_id JOIN journals j ON j.refund_id = f.id AND j.kind = 'refund' WHERE p.adapter = ? AND "
    "f.status = 'succeeded' AND f.currency = ? AND j.created_at >= ? AND j.created_at < ? AND NOT EXISTS (SELECT 1 "
    "FROM settlement_rows r JOIN settlement_batches b ON b.id = r.batch_id WHERE b.gateway = p.adapter AND r.kind = "
    "'refund' AND r.transaction_no = COALESCE(f.provider_refund_id, f.public_id)) ORDER BY j.created_at, f.id LIMIT ?";
static const char SQL_SCHEDULE_BATCH[] =
    "INSERT INTO settlement_batches (gateway, source, batch_ref, currency, business_day, row_count, gross, fees, net, "
    "line_id, journal_id, imported_by, created_at) VALUES (?, 'schedule', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_SCHEDULE_ROWS[] =
    "INSERT INTO settlement_rows (batch_id, seq, transaction_no, order_ref, transaction_day, kind, amount, fee, net) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Reads the day's payments (refund 0) or refunds (1) no batch lists into sc,
 * with their fees.  FG_ERANGE beyond SCHEDULE_TXNS_MAX. */
static int read_day(fg_db_t *db, const fg_recon_line_t *l, const char *gateway, int32_t day,
                    const fg_fee_schedule_t *fee, int refund, schedule_t *sc)
{
    fg_stmt_t s;
    fg_buf_t no = FG_BUF_INIT, ref = FG_BUF_INIT;
    int64_t amount = 0;
    int rc = fg_stmt_init(&s, db, refund ? SQL_DAY_REFUNDS : SQL_DAY_PAYMENTS);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, gateway);
    fg_stmt_cstr(&s, l->currency);
    fg_stmt_int(&s, fg_recon_day_start_ms(day));
    fg_stmt_int(&s, fg_recon_day_start_ms(day) + 86400000LL);
    fg_stmt_int(&s, SCHEDULE_TXNS_MAX + 1);
    fg_stmt_out_text(&s, &no, NULL);
    fg_stmt_out_text(&s, &ref, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (sc->count == SCHEDULE_TXNS_MAX) {
            fg_stmt_done(&s);
            rc = FG_ERANGE;
            goto Exit;
        }
        if (sc->count == sc->cap) {
            size_t cap = sc->cap != 0 ? sc->cap * 2 : 64;
            txn_t *grown = realloc(sc->txns, cap * sizeof(*grown));
            if (grown == NULL) {
                fg_stmt_done(&s);
                rc = FG_ENOMEM;
                goto Exit;
            }
            sc->txns = grown;
            sc->cap = cap;
        }
        txn_t *t = &sc->txns[sc->count++];
        snprintf(t->transaction_no, sizeof(t->transaction_no), "%s", no.data != NULL ? no.data : "");
        snprintf(t->order_ref, sizeof(t->order_ref), "%s", ref.data != NULL ? ref.data : "");
        t->refund = refund;
        t->amount = refund ? -amount : amount;
        t->fee = 0;
        if ((!refund && (rc = fg_fee_of(fee, amount, &t->fee)) != 0) ||
            (rc = fg_money_add(sc->gross, t->amount, &sc->gross)) != 0 ||
            (rc = fg_money_add(sc->fees, t->fee, &sc->fees)) != 0) {
            fg_stmt_done(&s);
            goto Exit;
        }
    }
    rc = rc < 0 ? rc : 0;
Exit:
    fg_buf_free(&no);
    fg_buf_free(&ref);
    return rc;
}

/* One round trip's worth of rows, column-wise for fg_db_bulk. */
typedef struct {
    int64_t batch[SCHEDULE_ROWS_PER_INSERT], seq[SCHEDULE_ROWS_PER_INSERT], day[SCHEDULE_ROWS_PER_INSERT],
        amount[SCHEDULE_ROWS_PER_INSERT], fee[SCHEDULE_ROWS_PER_INSERT], net[SCHEDULE_ROWS_PER_INSERT];
    const char *no[SCHEDULE_ROWS_PER_INSERT], *ref[SCHEDULE_ROWS_PER_INSERT], *kind[SCHEDULE_ROWS_PER_INSERT];
    unsigned long no_len[SCHEDULE_ROWS_PER_INSERT], ref_len[SCHEDULE_ROWS_PER_INSERT],
        kind_len[SCHEDULE_ROWS_PER_INSERT];
} rows_chunk_t;

/* The schedule batch's rows, SCHEDULE_ROWS_PER_INSERT per round trip. */
static int store_rows(fg_db_t *db, const schedule_t *sc, int64_t batch_id, int32_t day)
{
    rows_chunk_t *c = malloc(sizeof(*c));
    int rc = 0;
    if (c == NULL)
        return FG_ENOMEM;
    for (size_t first = 0; rc == 0 && first < sc->count; first += SCHEDULE_ROWS_PER_INSERT) {
        unsigned n = 0;
        for (size_t i = first; i < sc->count && n < SCHEDULE_ROWS_PER_INSERT; i++, n++) {
            const txn_t *t = &sc->txns[i];
            c->batch[n] = batch_id;
            c->seq[n] = (int64_t)i + 1;
            c->no[n] = t->transaction_no;
            c->no_len[n] = strlen(t->transaction_no);
            c->ref[n] = t->order_ref;
            c->ref_len[n] = strlen(t->order_ref);
            c->day[n] = day;
            c->kind[n] = t->refund ? "refund" : "payment";
            c->kind_len[n] = strlen(c->kind[n]);
            c->amount[n] = t->amount;
            c->fee[n] = t->fee;
            c->net[n] = t->amount - t->fee; /* |amount| <= FG_AMOUNT_MAX, and so its fee: no overflow */
        }
        const fg_db_column_t cols[ROW_COLS] = {
            {FG_DB_V_INT, c->batch, NULL, NULL},   {FG_DB_V_INT, c->seq, NULL, NULL},
            {FG_DB_V_STR, NULL, c->no, c->no_len}, {FG_DB_V_STR, NULL, c->ref, c->ref_len},
            {FG_DB_V_INT, c->day, NULL, NULL},     {FG_DB_V_STR, NULL, c->kind, c->kind_len},
            {FG_DB_V_INT, c->amount, NULL, NULL},  {FG_DB_V_INT, c->fee, NULL, NULL},
            {FG_DB_V_INT, c->net, NULL, NULL}};
        rc = fg_db_bulk(db, SQL_SCHEDULE_ROWS, cols, ROW_COLS, n, NULL);
    }
    free(c);
    return rc;
}

/* Rule 0 without a file: the payout named settles at the fee schedule. */
static int by_schedule(fg_db_t *db, const fg_recon_line_t *l, const fg_recon_payout_name_t *named,
                       const fg_fee_schedule_t *fee, int64_t now, fg_recon_payout_result_t *out)
{
    schedule_t sc = {0};
    fg_stmt_t s;
    int64_t settled_by = 0, batch_id = 0;
    char schedule_text[FG_FEE_TEXT_MAX + 1], who[FG_FEE_TEXT_MAX + 16], day_text[16];
    if (fg_fee_format(fee, schedule_text, sizeof(schedule_text)) < 0)
        snprintf(schedule_text, sizeof(schedule_text), "?");
    snprintf(day_text, sizeof(day_text), "%04d-%02d-%02d", (int)(named->day / 10000 % 10000),
             (int)(named->day / 100 % 100), (int)(named->day % 100));
    /* a batch of that name exists: rule 0 found it unless a line settled it */
    int rc = fg_stmt_init(&s, db, SQL_KNOWN_BATCH);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, named->gateway);
    fg_stmt_cstr(&s, named->batch_ref);
    fg_stmt_out_int(&s, &settled_by, NULL);
    if ((rc = fg_stmt_one(&s)) == 0) {
        out->decided = 1;
        out->state = "bank_only";
        snprintf(out->detail, sizeof(out->detail),
                 "the %s payout %s was settled already (statement line %lld): a second payout of it", named->gateway,
                 named->batch_ref, (long long)settled_by);
        return 0;
    }
    if (rc != FG_ENOTFOUND)
        return rc;
    out->decided = 1;
    if ((rc = read_day(db, l, named->gateway, named->day, fee, 0, &sc)) == 0)
        rc = read_day(db, l, named->gateway, named->day, fee, 1, &sc);
    if (rc == FG_ERANGE) {
        out->state = "bank_only";
        snprintf(out->detail, sizeof(out->detail),
                 "the %s payout of %s has more than %d transactions to settle by the fee schedule: import its "
                 "settlement file",
                 named->gateway, day_text, SCHEDULE_TXNS_MAX);
        rc = 0;
        goto Exit;
    }
    if (rc != 0 || (rc = fg_money_sub(sc.gross, sc.fees, &sc.net)) != 0)
        goto Exit;
    if (sc.net != l->amount) {
        out->state = "amount_mismatch";
        snprintf(out->detail, sizeof(out->detail),
                 "the %s fee schedule %s nets %lld for %zu transaction(s) of %s no batch lists (gross %lld, fees "
                 "%lld); the line is %lld",
                 named->gateway, schedule_text, (long long)sc.net, sc.count, day_text, (long long)sc.gross,
                 (long long)sc.fees, (long long)l->amount);
        goto Exit;
    }
    snprintf(who, sizeof(who), "schedule:%s", schedule_text);
    if ((rc = post(db, l, named->gateway, named->batch_ref, sc.gross, sc.fees, sc.net, "fee schedule", now,
                   &out->journal_id)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_SCHEDULE_BATCH)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, named->gateway);
    fg_stmt_cstr(&s, named->batch_ref);
    fg_stmt_cstr(&s, l->currency);
    fg_stmt_int(&s, named->day);
    fg_stmt_int(&s, (int64_t)sc.count);
    fg_stmt_int(&s, sc.gross);
    fg_stmt_int(&s, sc.fees);
    fg_stmt_int(&s, sc.net);
    fg_stmt_int(&s, l->line_id);
    fg_stmt_int(&s, out->journal_id);
    fg_stmt_cstr(&s, who);
    fg_stmt_int(&s, now);
    /* FG_ECONFLICT: another line of the same payout got there first; the
     * lease runs out and a later round finds its batch */
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    batch_id = (int64_t)fg_stmt_insert_id(&s);
    if ((rc = store_rows(db, &sc, batch_id, named->day)) != 0 ||
        (rc = listed_after_all(db, batch_id, named->gateway, named->batch_ref, now)) != 0)
        goto Exit;
    out->state = "matched";
    snprintf(out->detail, sizeof(out->detail),
             "%s settlement by the fee schedule %s: %zu transaction(s) of %s, gross %lld, fees %lld, net %lld",
             named->gateway, schedule_text, sc.count, day_text, (long long)sc.gross, (long long)sc.fees,
             (long long)sc.net);
Exit:
    free(sc.txns);
    return rc;
}

int fg_recon_by_payout(fg_db_t *db, const fg_config_t *cfg, const fg_recon_line_t *l, int64_t now,
                       fg_recon_payout_result_t *out)
{
    fg_recon_payout_name_t named;
    fg_fee_schedule_t fee;
    memset(out, 0, sizeof(*out));
    fg_recon_payout_of(l, &named);
    if (l->bank_ref[0] == '\0' && l->end_to_end[0] == '\0' && named.gateway[0] == '\0')
        return 0;
    int rc = by_file(db, l, &named, now, out);
    if (rc != 0 || out->decided || named.gateway[0] == '\0')
        return rc;
    if (schedule_of(cfg, named.gateway, &fee))
        return by_schedule(db, l, &named, &fee, now, out);
    /* a gateway's payout before its file, with no schedule to explain it:
     * its money is the gateway's payments, never an order's to be offered
     * (rule 3 would suggest a bill owing the same amount); the file sends
     * it back to matching (settlement.c) */
    out->decided = 1;
    out->state = "bank_only";
    snprintf(out->detail, sizeof(out->detail),
             "the %s payout %s: its settlement file is not imported yet (it is matched when the file comes)",
             named.gateway, named.batch_ref);
    return 0;
}
