/*
 * reconcile.c - reconciliations: an account over a period of business days,
 * its summary (lines, states, totals, the bank's closing balance) and its
 * items, read live from recon_items.
 */
#include "recon/recon_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/text.h"
#include "ledger/recon_counts.h"
#include "orders/orders_internal.h"
#include "staff/staff.h"

static const char SQL_CREATE[] =
    "INSERT INTO reconciliations (public_id, account, from_day, to_day, created_by, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)";
/* Undecided lines of the period go back to the matching job, without the
 * links of their last look (the job makes them again). */
static const char SQL_REQUEUE[] =
    "UPDATE recon_items SET state = 'unmatched', rule = NULL, detail = NULL, lease_until = NULL, updated_at = ? "
    "WHERE account = ? AND business_day BETWEEN ? AND ? AND kind = 'bank_line' AND state IN ('suggested', "
    "'bank_only', 'amount_mismatch') AND resolution IS NULL";
static const char SQL_UNLINK[] =
    "DELETE k FROM recon_links k JOIN recon_items i ON i.id = k.item_id WHERE i.account = ? AND i.business_day "
    "BETWEEN ? AND ? AND i.kind = 'bank_line' AND i.state IN ('suggested', 'bank_only', 'amount_mismatch') "
    "AND i.resolution IS NULL";
/* Transfers the feed applied in the period, up to the cutoff, that no
 * statement line shows: ledger_only (once each), on the day the feed applied
 * them, or on the first open day when that day is at or before the
 * account's last closed day (as a late statement line is: such a day never
 * changes). */
#define TRANSFER_DAY                                                                                                   \
    "(DATE_FORMAT(DATE_ADD('1970-01-01', INTERVAL ((t.created_at + 25200000) DIV 86400000) DAY), '%Y%m%d') + 0)"
static const char SQL_LEDGER_ONLY[] =
    "INSERT IGNORE INTO recon_items (kind, line_id, transfer_ref, account, business_day, amount, state, detail, "
    "created_at, updated_at) SELECT 'ledger_posting', NULL, t.bank_ref, t.account, IF(" TRANSFER_DAY
    " < ?, ?, " TRANSFER_DAY "), t.amount, 'ledger_only', "
    "'the bank feed applied this transfer; no statement line shows it', ?, ? FROM bank_transfers t "
    "WHERE t.account = ? AND t.source = 'feed' AND t.created_at >= ? AND t.created_at < ? AND t.created_at < ? "
    "AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.account = t.account AND l.bank_ref = t.bank_ref)";
static const char SQL_GET[] =
    "SELECT id, public_id, account, from_day, to_day, created_by, created_at FROM reconciliations WHERE public_id = ?";
/* the items' rows, and the lines matched as stored (ledger/recon_counts.h) */
static const char SQL_STATES[] =
    "SELECT state, COUNT(*), COALESCE(SUM(amount), 0) FROM (SELECT state, amount FROM recon_items WHERE account = ? "
    "AND business_day BETWEEN ? AND ? UNION ALL SELECT 'matched', amount FROM statement_lines WHERE account = ? AND "
    "value_date BETWEEN ? AND ? AND payment_id IS NOT NULL) x GROUP BY state";
/* the period's last closing; not one imported after its day closed (schema/0042) */
static const char SQL_CLOSING[] =
    "SELECT closing, closing_date FROM statements WHERE account = ? AND closing IS NOT NULL AND late_closing = 0 "
    "AND closing_date BETWEEN ? AND ? ORDER BY closing_date DESC, id DESC LIMIT 1";
static const char SQL_UNRECONCILED[] =
    "SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(IF(unapplied = 1, amount, 0)), 0) FROM recon_items WHERE "
    "account = ? AND business_day BETWEEN ? AND ? AND kind IN ('bank_line', 'balance_gap') AND state <> 'matched' "
    "AND (resolution IS NULL OR resolution = 'accept')";
static const char SQL_TRANSIT_FEED[] =
    "SELECT COUNT(*), COALESCE(SUM(t.amount), 0) FROM bank_transfers t WHERE t.account = ? AND t.source = 'feed' "
    "AND t.created_at >= ? AND t.created_at < ? AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.account = "
    "t.account AND l.bank_ref = t.bank_ref)";
/* A gateway's succeeded payments no settled batch lists: settled once the
 * batch's payout line is matched, or at once by a batch that pays nothing
 * (its payments refunded within it: no line will ever come). */
static const char SQL_TRANSIT_GATEWAYS[] =
    "SELECT p.adapter, COUNT(*), COALESCE(SUM(p.amount_received), 0) FROM payments p WHERE p.status = 'succeeded' "
    "AND p.adapter IN ('vnpay', 'momo') AND p.created_at >= ? AND p.created_at < ? AND NOT EXISTS (SELECT 1 FROM "
    "settlement_rows r JOIN settlement_batches b ON b.id = r.batch_id WHERE b.gateway = p.adapter AND "
    "r.transaction_no = p.provider_txn_id AND (b.line_id IS NOT NULL OR b.net = 0)) GROUP BY p.adapter";
static const char SQL_CLOSED[] = "SELECT COUNT(*) FROM recon_closed_days WHERE account = ? AND day BETWEEN ? AND ?";
/* A page of items by id: the rows', then the lines matched as stored (their
 * ids from FG_RECON_LINE_ITEM_BASE on, ledger/recon_counts.h). */
static const char SQL_ITEMS[] =
    "(SELECT i.id, i.state, COALESCE(i.rule, ''), COALESCE(i.detail, ''), i.amount, i.business_day, "
    "COALESCE(l.bank_ref, i.transfer_ref, ''), COALESCE(l.memo, ''), i.kind, i.unapplied, "
    "COALESCE(i.resolution, ''), COALESCE(i.gateway, ''), COALESCE(i.transaction_no, ''), i.paid_out_by IS NOT NULL, "
    "i.currency FROM recon_items i "
    "LEFT JOIN statement_lines l "
    "ON l.id = i.line_id WHERE i.account = ? AND i.business_day BETWEEN ? AND ? AND (? IS NULL OR i.state = ?) "
    "AND i.id > ? ORDER BY i.id LIMIT ?) UNION ALL (SELECT l.id + " FG_RECON_LINE_ITEM_BASE_SQL ", 'matched', "
    "'reference', '" FG_RECON_LINE_ITEM_DETAIL "', l.amount, l.value_date, l.bank_ref, l.memo, 'bank_line', 0, '', "
    "'', '', 0, l.currency FROM statement_lines l WHERE l.account = ? AND l.value_date BETWEEN ? AND ? AND l.payment_id IS NOT "
    "NULL AND (? IS NULL OR ? = 'matched') AND l.id > GREATEST(? - " FG_RECON_LINE_ITEM_BASE_SQL ", 0) ORDER BY "
    "l.id LIMIT ?) ORDER BY 1 LIMIT ?";

static const char *const STATES[FG_RECON_STATE_COUNT] = {"unmatched",   "matched",         "suggested", "bank_only",
                                                         "ledger_only", "amount_mismatch", "duplicate"};

const char *fg_recon_state_name(fg_recon_state_t s) { return (unsigned)s < FG_RECON_STATE_COUNT ? STATES[s] : "?"; }

int fg_recon_state_parse(const char *text, size_t len, fg_recon_state_t *out)
{
    for (int i = 0; i < FG_RECON_STATE_COUNT; i++)
        if (strlen(STATES[i]) == len && memcmp(STATES[i], text, len) == 0) {
            *out = (fg_recon_state_t)i;
            return 0;
        }
    return FG_EINVALID;
}

typedef struct {
    const char *account, *who;
    int32_t from, to;
    int64_t ledger_only_after_days;
    char *public_id;
    fg_db_tx_fn last;
    void *last_arg;
} create_t;

int64_t fg_recon_day_start_ms(int32_t day) { return fg_day_start_ms(day); }

/* The start (GMT+7) of the day `business_days` Monday-to-Friday days before
 * the day of now_ms, plus one day: transfers before it are overdue. */
static int64_t ledger_only_cutoff_ms(int64_t now_ms, int64_t business_days)
{
    int64_t days = (now_ms + 7 * 3600000LL) / 86400000LL; /* today, GMT+7 */
    for (int64_t left = business_days; left > 0;) {
        days--;
        int64_t weekday = (days + 4) % 7; /* 0 Sunday: 1970-01-01 was a Thursday */
        if (weekday != 0 && weekday != 6)
            left--;
    }
    return (days + 1) * 86400000LL - 7 * 3600000LL;
}

static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    fg_stmt_t s;
    int64_t now = fg_now_ms();
    if (fg_id_new("rec_", c->public_id, FG_ID_CAP) < 0)
        return FG_EIO;
    /* an import of the account waits, or is waited for: its lines are
     * matched to the feed's transfers before those become ledger_only */
    int rc = fg_recon_account_lock(db, c->account, now);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_UNLINK)) != 0)
        return rc;
    fg_stmt_cstr(&s, c->account);
    fg_stmt_int(&s, c->from);
    fg_stmt_int(&s, c->to);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_REQUEUE)) != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_cstr(&s, c->account);
    fg_stmt_int(&s, c->from);
    fg_stmt_int(&s, c->to);
    int32_t open_day = 0;
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_recon_after_closed(db, c->account, &open_day)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_LEDGER_ONLY)) != 0)
        return rc;
    fg_stmt_int(&s, open_day); /* 0 when no day is closed */
    fg_stmt_int(&s, open_day);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    fg_stmt_cstr(&s, c->account);
    fg_stmt_int(&s, fg_recon_day_start_ms(c->from));
    fg_stmt_int(&s, fg_recon_day_start_ms(c->to) + 86400000LL);
    fg_stmt_int(&s, ledger_only_cutoff_ms(now, c->ledger_only_after_days));
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_CREATE)) != 0)
        return rc;
    fg_stmt_cstr(&s, c->public_id);
    fg_stmt_cstr(&s, c->account);
    fg_stmt_int(&s, c->from);
    fg_stmt_int(&s, c->to);
    fg_stmt_cstr(&s, c->who);
    fg_stmt_int(&s, now);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    return c->last != NULL ? c->last(db, c->last_arg) : 0;
}

int fg_reconciliation_create(fg_db_t *db, const fg_config_t *cfg, const char *account, int32_t from_day, int32_t to_day,
                             const char *who, char public_id[FG_ID_CAP], fg_db_tx_fn last, void *last_arg)
{
    char key[FG_STMT_ACCOUNT_MAX + 1]; /* as statements key it: "VN/0011-001" is "0011001" */
    if (account == NULL || fg_bank_account_key(account, strlen(account), key, sizeof(key), FG_STMT_ACCOUNT_MAX) < 0 ||
        from_day > to_day)
        return FG_EINVALID;
    create_t c = {key, who, from_day, to_day, cfg->recon_ledger_only_after_days, public_id, last, last_arg};
    return fg_db_tx(db, create_tx, &c);
}

static const char SQL_CURRENCY[] = "SELECT currency FROM statements WHERE account = ? ORDER BY id DESC LIMIT 1";

/* The account's currency, as its statements say (the last imported: an
 * account's statements are of one currency, the import checks), into out;
 * VND without one.  0, or the database's error. */
static int currency_of(fg_db_t *db, const char *account, fg_buf_t *buf, char out[4])
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_CURRENCY);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, account);
    fg_stmt_out_text(&s, buf, NULL);
    rc = fg_stmt_one(&s);
    snprintf(out, 4, "%s", rc == 0 && buf->len == 3 ? buf->data : "VND");
    return rc == FG_ENOTFOUND ? 0 : rc;
}

/* The money side of the summary: unreconciled, unapplied, in transit. */
static int summary_money(fg_db_t *db, fg_reconciliation_t *out)
{
    static const char *const ADAPTERS[3] = {"vietqr", "vnpay", "momo"};
    fg_stmt_t s;
    fg_buf_t adapter = FG_BUF_INIT;
    int64_t count = 0, amount = 0, from = fg_recon_day_start_ms(out->from_day),
            to = fg_recon_day_start_ms(out->to_day) + 86400000LL;
    int rc = fg_stmt_init(&s, db, SQL_UNRECONCILED);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, out->account);
    fg_stmt_int(&s, out->from_day);
    fg_stmt_int(&s, out->to_day);
    fg_stmt_out_int(&s, &out->unreconciled, NULL);
    fg_stmt_out_int(&s, &out->unapplied, NULL);
    if ((rc = fg_stmt_one(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_TRANSIT_FEED)) != 0)
        return rc;
    fg_stmt_cstr(&s, out->account);
    fg_stmt_int(&s, from);
    fg_stmt_int(&s, to);
    fg_stmt_out_int(&s, &out->transit_count[0], NULL);
    fg_stmt_out_int(&s, &out->transit_amount[0], NULL);
    if ((rc = fg_stmt_one(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_TRANSIT_GATEWAYS)) != 0)
        return rc;
    fg_stmt_int(&s, from);
    fg_stmt_int(&s, to);
    fg_stmt_out_text(&s, &adapter, NULL);
    fg_stmt_out_int(&s, &count, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1)
            for (int i = 1; i < 3; i++)
                if (strcmp(adapter.data, ADAPTERS[i]) == 0) {
                    out->transit_count[i] = count;
                    out->transit_amount[i] = amount;
                }
        rc = rc < 0 ? rc : 0;
    }
    fg_buf_free(&adapter);
    return rc;
}

int fg_reconciliation_get(fg_db_t *db, const char *public_id, fg_reconciliation_t *out)
{
    int rc = fg_reconciliation_read(db, public_id, out);
    fg_db_end(db);
    return rc;
}

int fg_reconciliation_read(fg_db_t *db, const char *public_id, fg_reconciliation_t *out)
{
    fg_stmt_t s;
    fg_buf_t pid = FG_BUF_INIT, account = FG_BUF_INIT, who = FG_BUF_INIT, state = FG_BUF_INIT;
    int64_t from = 0, to = 0, count = 0, sum = 0, closing = 0, closing_date = 0;
    memset(out, 0, sizeof(*out));
    int rc = fg_stmt_init(&s, db, SQL_GET);
    if (rc != 0)
        goto Exit;
    fg_stmt_cstr(&s, public_id);
    fg_stmt_out_int(&s, &out->id, NULL);
    fg_stmt_out_text(&s, &pid, NULL);
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_int(&s, &from, NULL);
    fg_stmt_out_int(&s, &to, NULL);
    fg_stmt_out_text(&s, &who, NULL);
    fg_stmt_out_int(&s, &out->created_at, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        goto Exit;
    snprintf(out->public_id, sizeof(out->public_id), "%s", pid.data);
    snprintf(out->account, sizeof(out->account), "%s", account.data);
    snprintf(out->created_by, sizeof(out->created_by), "%s", who.data);
    out->from_day = (int32_t)from;
    out->to_day = (int32_t)to;
    if ((rc = currency_of(db, out->account, &state, out->currency)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_STATES)) != 0)
        goto Exit;
    for (int i = 0; i < 2; i++) { /* items, then lines */
        fg_stmt_cstr(&s, out->account);
        fg_stmt_int(&s, from);
        fg_stmt_int(&s, to);
    }
    fg_stmt_out_text(&s, &state, NULL);
    fg_stmt_out_int(&s, &count, NULL);
    fg_stmt_out_int(&s, &sum, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        fg_recon_state_t st;
        if (fg_recon_state_parse(state.data, state.len, &st) != 0)
            continue;
        out->count[st] = count;
        out->total[st] = sum;
        out->items += count;
    }
    if (rc < 0)
        goto Exit;
    if ((rc = fg_stmt_init(&s, db, SQL_CLOSING)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, out->account);
    fg_stmt_int(&s, from);
    fg_stmt_int(&s, to);
    fg_stmt_out_int(&s, &closing, NULL);
    fg_stmt_out_int(&s, &closing_date, NULL);
    rc = fg_stmt_one(&s);
    if (rc == FG_ENOTFOUND || rc == 0) {
        fg_stmt_t c;
        int64_t closed = 0;
        int crc = fg_stmt_init(&c, db, SQL_CLOSED);
        if (crc == 0) {
            fg_stmt_cstr(&c, out->account);
            fg_stmt_int(&c, from);
            fg_stmt_int(&c, to);
            fg_stmt_out_int(&c, &closed, NULL);
            crc = fg_stmt_one(&c);
        }
        if (crc != 0) {
            rc = crc;
            goto Exit;
        }
        out->closed_days = closed;
    }
    if (rc == 0) {
        out->has_bank_closing = 1;
        out->bank_closing = closing;
        out->bank_closing_day = (int32_t)closing_date;
        if ((rc = fg_recon_bank_as_of(db, out->account, out->currency, out->bank_closing_day, &out->ledger_balance,
                                      NULL)) != 0)
            goto Exit;
    }
    if ((rc = rc == FG_ENOTFOUND ? 0 : rc) != 0 || (rc = summary_money(db, out)) != 0)
        goto Exit;
Exit:
    fg_buf_free(&pid);
    fg_buf_free(&account);
    fg_buf_free(&who);
    fg_buf_free(&state);
    return rc;
}

/* yyyymmdd (years 1..9999) as "YYYY-MM-DD". */
static void day_text(int32_t day, char out[16])
{
    unsigned y = (unsigned)(day / 10000) % 10000, m = (unsigned)(day / 100 % 100) % 100, d = (unsigned)(day % 100);
    snprintf(out, 16, "%04u-%02u-%02u", y, m, d);
}

/* Days in [from, to]. */
static int64_t days_in(int32_t from, int32_t to) { return fg_day_number(to) - fg_day_number(from) + 1; }

/* '{' and the members every reconciliation object opens with: id, object,
 * account, currency (what its amounts are in), from, to. */
static void reconciliation_head(fg_buf_t *b, const fg_reconciliation_t *r)
{
    char from[16], to[16];
    day_text(r->from_day, from);
    day_text(r->to_day, to);
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", r->public_id);
    fg_json_kv_str(b, 1, "object", "reconciliation");
    fg_json_kv_str(b, 1, "account", r->account);
    fg_json_kv_str(b, 1, "currency", r->currency);
    fg_json_kv_str(b, 1, "from", from);
    fg_json_kv_str(b, 1, "to", to);
}

void fg_reconciliation_json(fg_buf_t *b, const fg_reconciliation_t *r)
{
    char day[16];
    reconciliation_head(b, r);
    fg_json_kv_int(b, 1, "items", r->items);
    fg_json_kv_int(b, 1, "matched", r->count[FG_RECON_MATCHED]);
    fg_json_key(b, 1, "states");
    fg_buf_putc(b, '{');
    for (int i = 0; i < FG_RECON_STATE_COUNT; i++) {
        fg_json_key(b, i > 0, STATES[i]);
        fg_buf_putc(b, '{');
        fg_json_kv_int(b, 0, "count", r->count[i]);
        fg_json_kv_int(b, 1, "amount", r->total[i]);
        fg_buf_putc(b, '}');
    }
    fg_buf_putc(b, '}');
    int64_t exceptions = r->items - r->count[FG_RECON_MATCHED] - r->count[FG_RECON_UNMATCHED];
    fg_json_kv_int(b, 1, "exceptions", exceptions);
    fg_json_kv_int(b, 1, "pending", r->count[FG_RECON_UNMATCHED]);
    if (r->has_bank_closing) {
        day_text(r->bank_closing_day, day);
        fg_json_kv_int(b, 1, "bank_closing", r->bank_closing);
        fg_json_kv_str(b, 1, "bank_closing_day", day);
        fg_json_kv_int(b, 1, "ledger_balance", r->ledger_balance);
        fg_json_kv_int(b, 1, "difference", r->bank_closing - r->ledger_balance);
    } else {
        fg_json_kv_null(b, 1, "bank_closing");
        fg_json_kv_null(b, 1, "bank_closing_day");
        fg_json_kv_null(b, 1, "ledger_balance");
        fg_json_kv_null(b, 1, "difference");
    }
    fg_json_kv_int(b, 1, "unreconciled", r->unreconciled);
    fg_json_kv_int(b, 1, "unapplied", r->unapplied);
    fg_json_key(b, 1, "in_transit");
    fg_buf_putc(b, '{');
    static const char *const ADAPTERS[3] = {"vietqr", "vnpay", "momo"};
    for (int i = 0; i < 3; i++) {
        fg_json_key(b, i > 0, ADAPTERS[i]);
        fg_buf_putc(b, '{');
        fg_json_kv_int(b, 0, "count", r->transit_count[i]);
        fg_json_kv_int(b, 1, "amount", r->transit_amount[i]);
        fg_buf_putc(b, '}');
    }
    fg_buf_putc(b, '}');
    fg_json_kv_int(b, 1, "closed_days", r->closed_days);
    fg_json_kv_bool(b, 1, "closed", r->closed_days > 0 && r->closed_days == days_in(r->from_day, r->to_day));
    fg_json_kv_str(b, 1, "created_by", r->created_by);
    fg_buf_putc(b, '}');
}

int fg_reconciliation_items(fg_db_t *db, const fg_reconciliation_t *r, const fg_recon_state_t *state, int64_t after,
                            int64_t limit, fg_buf_t *out, int64_t *last_id, int *more)
{
    fg_stmt_t s;
    fg_buf_t st = FG_BUF_INIT, rule = FG_BUF_INIT, detail = FG_BUF_INIT, ref = FG_BUF_INIT, memo = FG_BUF_INIT,
             kind = FG_BUF_INIT, resolution = FG_BUF_INIT, gateway = FG_BUF_INIT, transaction_no = FG_BUF_INIT,
             currency = FG_BUF_INIT;
    int64_t id = 0, amount = 0, day = 0, unapplied = 0, paid_out = 0;
    int count = 0;
    *more = 0;
    int rc = fg_stmt_init(&s, db, SQL_ITEMS);
    if (rc != 0)
        goto Exit;
    const char *state_name = state != NULL ? STATES[*state] : NULL;
    for (int i = 0; i < 2; i++) { /* the items' rows, the lines matched as stored */
        fg_stmt_cstr(&s, r->account);
        fg_stmt_int(&s, r->from_day);
        fg_stmt_int(&s, r->to_day);
        fg_stmt_cstr(&s, state_name);
        fg_stmt_cstr(&s, state_name);
        fg_stmt_int(&s, after);
        fg_stmt_int(&s, limit + 1);
    }
    fg_stmt_int(&s, limit + 1);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &st, NULL);
    fg_stmt_out_text(&s, &rule, NULL);
    fg_stmt_out_text(&s, &detail, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_int(&s, &day, NULL);
    fg_stmt_out_text(&s, &ref, NULL);
    fg_stmt_out_text(&s, &memo, NULL);
    fg_stmt_out_text(&s, &kind, NULL);
    fg_stmt_out_int(&s, &unapplied, NULL);
    fg_stmt_out_text(&s, &resolution, NULL);
    fg_stmt_out_text(&s, &gateway, NULL);
    fg_stmt_out_text(&s, &transaction_no, NULL);
    fg_stmt_out_int(&s, &paid_out, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (count == limit) {
            *more = 1;
            fg_stmt_done(&s);
            break;
        }
        char dtext[16];
        day_text((int32_t)day, dtext);
        if (count++ > 0)
            fg_buf_putc(out, ',');
        fg_buf_putc(out, '{');
        fg_json_kv_int(out, 0, "id", id);
        fg_json_kv_str(out, 1, "object", "reconciliation_item");
        fg_json_kv_str(out, 1, "state", st.data);
        if (rule.len > 0)
            fg_json_kv_str(out, 1, "rule", rule.data);
        else
            fg_json_kv_null(out, 1, "rule");
        fg_json_kv_str(out, 1, "detail", detail.data);
        fg_json_kv_int(out, 1, "amount", amount);
        /* the line's (its statement's): the reconciliation's currency */
        fg_json_kv_str(out, 1, "currency", currency.len == 3 ? currency.data : r->currency);
        fg_json_kv_str(out, 1, "business_day", dtext);
        fg_json_kv_str(out, 1, "bank_ref", ref.data);
        fg_json_kv_str(out, 1, "memo", memo.data);
        fg_json_kv_str(out, 1, "kind", kind.data);
        fg_json_kv_bool(out, 1, "unapplied", unapplied != 0);
        if (resolution.len > 0)
            fg_json_kv_str(out, 1, "resolution", resolution.data);
        else
            fg_json_kv_null(out, 1, "resolution");
        /* a refund whose money has left the bank (matching rule 4): final, its undo is refused */
        fg_json_kv_bool(out, 1, "paid_out", paid_out != 0);
        if (gateway.len > 0) { /* a settlement row: whose, and which transaction */
            fg_json_kv_str(out, 1, "gateway", gateway.data);
            fg_json_kv_str(out, 1, "transaction_no", transaction_no.len > 0 ? transaction_no.data : "");
        }
        fg_buf_putc(out, '}');
        *last_id = id;
    }
    rc = rc < 0 ? rc : 0;
Exit:
    fg_db_end(db);
    fg_buf_free(&st);
    fg_buf_free(&rule);
    fg_buf_free(&detail);
    fg_buf_free(&ref);
    fg_buf_free(&memo);
    fg_buf_free(&kind);
    fg_buf_free(&resolution);
    fg_buf_free(&gateway);
    fg_buf_free(&transaction_no);
    fg_buf_free(&currency);
    return rc;
}

/* ---- closing ------------------------------------------------------------------------ */

static const char SQL_LOCK_REC[] = "SELECT id FROM reconciliations WHERE public_id = ? FOR UPDATE";
/* Items of the period that are neither matched nor resolved. */
static const char SQL_OPEN_ITEMS[] =
    "SELECT COUNT(*) FROM recon_items WHERE account = ? AND business_day BETWEEN ? AND ? AND state <> 'matched' "
    "AND resolution IS NULL";
/* Transfers the feed applied in the period that no statement line shows and
 * that are no item yet (not overdue as ledger_only): money in transit, so
 * the day cannot close. */
static const char SQL_IN_TRANSIT[] =
    "SELECT COUNT(*) FROM bank_transfers t WHERE t.account = ? AND t.source = 'feed' AND t.created_at >= ? "
    "AND t.created_at < ? AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.account = t.account "
    "AND l.bank_ref = t.bank_ref) AND NOT EXISTS (SELECT 1 FROM recon_items i WHERE i.account = t.account "
    "AND i.transfer_ref = t.bank_ref)";
/* The merchants whose money the period's items reconciled, by every route,
 * each hears that those collections (and payouts) are reconciled:
 *   - the payments an item matched or applied (its links, or the payment an
 *     item matched at import keeps), and a line matched as stored keeps;
 *   - the payments a gateway's settlement batch lists whose payout line the
 *     period matched (a payment listed twice counted once);
 *   - the payouts to the merchant a debit line of the period paid.
 * Per merchant: payments, their amount, payouts, their amount. */
#define MERCHANT_PAYMENTS                                                                                              \
    "SELECT k.payment_id, k.amount FROM recon_items i JOIN recon_links k ON k.item_id = i.id AND k.suggested = 0 "     \
    "WHERE i.account = ? AND i.business_day BETWEEN ? AND ? AND (i.state = 'matched' OR i.resolution = 'apply') "      \
    "UNION ALL SELECT i.payment_id, i.amount FROM recon_items i WHERE i.account = ? AND i.business_day BETWEEN ? "     \
    "AND ? AND i.state = 'matched' AND i.payment_id IS NOT NULL UNION ALL SELECT l.payment_id, l.amount FROM "         \
    "statement_lines l WHERE l.account = ? AND l.value_date BETWEEN ? AND ? AND l.payment_id IS NOT NULL "             \
    "UNION ALL SELECT DISTINCT p.id, p.amount_received FROM recon_items i JOIN settlement_batches b ON b.line_id = "   \
    "i.line_id JOIN settlement_rows r ON r.batch_id = b.id AND r.kind = 'payment' JOIN payments p ON p.adapter = "     \
    "b.gateway AND p.provider_txn_id = r.transaction_no AND p.status = 'succeeded' WHERE i.account = ? AND "           \
    "i.business_day BETWEEN ? AND ? AND i.kind = 'bank_line' AND i.state = 'matched'"
static const char SQL_MERCHANTS[] =
    "SELECT x.merchant_id, COUNT(DISTINCT x.payment_id), COALESCE(SUM(x.amount), 0), COUNT(DISTINCT x.payout_id), "
    "COALESCE(SUM(x.payout_amount), 0) FROM (SELECT p.merchant_id, p.id AS payment_id, y.amount, NULL AS payout_id, "
    "NULL AS payout_amount FROM (" MERCHANT_PAYMENTS ") y JOIN payments p ON p.id = y.payment_id UNION ALL SELECT "
    "o.merchant_id, NULL, NULL, o.id, o.amount FROM recon_items i JOIN payouts o ON o.paid_item_id = i.id WHERE "
    "i.account = ? AND i.business_day BETWEEN ? AND ? AND i.state = 'matched' AND o.status = 'paid') x GROUP BY "
    "x.merchant_id ORDER BY x.merchant_id";
/* The routes SQL_MERCHANTS reads, each bound to the account and period. */
#define MERCHANT_ROUTES 5
static const char SQL_IS_CLOSED[] = "SELECT 1 FROM recon_closed_days WHERE account = ? AND day = ?";
static const char SQL_CLOSE_DAY[] =
    "INSERT IGNORE INTO recon_closed_days (account, day, reconciliation_id, closed_by, closed_at) VALUES (?, ?, ?, ?, ?)";

/* A day of the period whose statement closing is not the ledger's bank
 * balance at its end (the first, if any): the one thing `feegate ledger
 * check` holds a closed day to (closed_day_bank_balance).  In the normal
 * course a difference is a balance gap, an item that must be resolved
 * first; a day could differ only if it were left open while a later day
 * closed and lines of it came after (they go after the closed day), which
 * SQL_EARLIER_OPEN refuses. */
static const char SQL_UNEQUAL_DAY[] =
    "SELECT s.closing_date FROM statements s WHERE s.id IN (SELECT MAX(id) FROM statements WHERE account = ? AND "
    "closing_date BETWEEN ? AND ? AND closing IS NOT NULL AND late_closing = 0 GROUP BY closing_date) AND s.closing "
    "<> (SELECT COALESCE(SUM(p.amount), 0) FROM bank_postings p WHERE p.account = s.account AND p.currency = "
    "s.currency AND p.day <= s.closing_date) ORDER BY s.closing_date LIMIT 1";
/* The earliest day between the account's last closed day and the period
 * that has anything to reconcile, items or the bank's lines or balance gap
 * posted on it: days close in order.  (The account's opening balance, posted
 * from equity on the day before its first statement, is what it held before
 * feegate knew it: nothing to reconcile.  A day before the last closed day
 * that is not closed, left so before days closed in order, never changes
 * (its late lines and items go after the closed days) and holds no one up.)
 * NULL when there is none. */
#define AFTER_LAST_CLOSED "> (SELECT COALESCE(MAX(day), 0) FROM recon_closed_days WHERE account = ?)"
static const char SQL_EARLIER_OPEN[] =
    "SELECT MIN(d) FROM (SELECT MIN(day) AS d FROM bank_postings WHERE account = ? AND day < ? AND kind <> "
    "'opening' AND day " AFTER_LAST_CLOSED " UNION ALL SELECT MIN(business_day) FROM recon_day_totals WHERE "
    "account = ? AND business_day < ? AND items > 0 AND business_day " AFTER_LAST_CLOSED ") x";

typedef struct {
    const fg_reconciliation_t *rec;
    const char *actor;
    int days_closed;
    fg_recon_close_refusal_t *why;
} close_t;

int32_t fg_recon_next_day(int32_t day) { return fg_day_next(day); }

/* One merchant's part of a closed reconciliation. */
typedef struct {
    int64_t merchant, payments, amount, payouts, payout_amount;
} reconciled_t;

/* The reconciliation.completed object of one merchant's part. */
static void completed_json(fg_buf_t *b, const fg_reconciliation_t *rec, const reconciled_t *m, int64_t now)
{
    char closed_at[40];
    fg_time_format_rfc3339(now, 0, closed_at, sizeof(closed_at));
    reconciliation_head(b, rec);
    fg_json_kv_int(b, 1, "payments", m->payments);
    fg_json_kv_int(b, 1, "amount", m->amount);
    fg_json_kv_int(b, 1, "payouts", m->payouts);
    fg_json_kv_int(b, 1, "payout_amount", m->payout_amount);
    fg_json_kv_str(b, 1, "closed_at", closed_at);
    fg_buf_putc(b, '}');
}

/* reconciliation.completed, to each merchant whose collections or payouts
 * the days from..to of the period reconciled (those this close closed: a
 * day another period closed before was told of then): which, how much. */
static int completed_events(fg_db_t *db, const fg_reconciliation_t *rec, int32_t from, int32_t to, int64_t now)
{
    enum { MERCHANTS_MAX = 1000 };
    reconciled_t row = {0}, *rows = malloc(sizeof(reconciled_t) * MERCHANTS_MAX);
    int count = 0;
    fg_stmt_t s;
    if (rows == NULL)
        return FG_ENOMEM;
    int rc = fg_stmt_init(&s, db, SQL_MERCHANTS);
    if (rc != 0)
        goto Exit;
    for (int i = 0; i < MERCHANT_ROUTES; i++) { /* links, items, lines, gateway batches, payouts */
        fg_stmt_cstr(&s, rec->account);
        fg_stmt_int(&s, from);
        fg_stmt_int(&s, to);
    }
    fg_stmt_out_int(&s, &row.merchant, NULL);
    fg_stmt_out_int(&s, &row.payments, NULL);
    fg_stmt_out_int(&s, &row.amount, NULL);
    fg_stmt_out_int(&s, &row.payouts, NULL);
    fg_stmt_out_int(&s, &row.payout_amount, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1 && count < MERCHANTS_MAX)
        rows[count++] = row;
    if (rc == 1)
        fg_stmt_done(&s); /* more merchants than one city has: the first thousand hear of it */
    if (rc < 0)
        goto Exit;
    rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        fg_buf_t object = FG_BUF_INIT;
        completed_json(&object, rec, &rows[i], now);
        rc = fg_event_insert(db, (uint64_t)rows[i].merchant, "reconciliation.completed", 0, &object, now);
        fg_buf_free(&object);
    }
Exit:
    free(rows);
    return rc;
}

static int close_tx(fg_db_t *db, void *arg)
{
    close_t *c = arg;
    fg_stmt_t s;
    int64_t id = 0, now = fg_now_ms();
    char object[FG_ID_CAP + 8], after[160];
    int32_t first_new = 0, last_new = 0; /* days close in order: those this close closed are one run */
    c->days_closed = 0;
    int rc = fg_stmt_init(&s, db, SQL_LOCK_REC);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, c->rec->public_id);
    fg_stmt_out_int(&s, &id, NULL);
    /* no import of the account is half done: what it writes is counted, or
     * it waits and puts its lines on the next open day */
    if ((rc = fg_stmt_one(&s)) != 0 || (rc = fg_recon_account_lock(db, c->rec->account, now)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_OPEN_ITEMS)) != 0)
        return rc;
    fg_stmt_cstr(&s, c->rec->account);
    fg_stmt_int(&s, c->rec->from_day);
    fg_stmt_int(&s, c->rec->to_day);
    fg_stmt_out_int(&s, &c->why->open_items, NULL);
    if ((rc = fg_stmt_one(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_IN_TRANSIT)) != 0)
        return rc;
    int64_t in_transit = 0;
    fg_stmt_cstr(&s, c->rec->account);
    fg_stmt_int(&s, fg_recon_day_start_ms(c->rec->from_day));
    fg_stmt_int(&s, fg_recon_day_start_ms(c->rec->to_day) + 86400000LL);
    fg_stmt_out_int(&s, &in_transit, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc;
    c->why->open_items += in_transit;
    if (c->why->open_items > 0)
        return FG_ESTATE;
    int64_t day_found = 0;
    int none = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_EARLIER_OPEN)) != 0)
        return rc;
    for (int i = 0; i < 2; i++) { /* postings, items */
        fg_stmt_cstr(&s, c->rec->account);
        fg_stmt_int(&s, c->rec->from_day);
        fg_stmt_cstr(&s, c->rec->account);
    }
    fg_stmt_out_int(&s, &day_found, &none);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc;
    if (!none) {
        c->why->day = (int32_t)day_found;
        return FG_ECONFLICT; /* closing after it would send its late lines past it */
    }
    if ((rc = fg_stmt_init(&s, db, SQL_UNEQUAL_DAY)) != 0)
        return rc;
    fg_stmt_cstr(&s, c->rec->account);
    fg_stmt_int(&s, c->rec->from_day);
    fg_stmt_int(&s, c->rec->to_day);
    fg_stmt_out_int(&s, &day_found, NULL);
    if ((rc = fg_stmt_one(&s)) == 0) {
        c->why->day = (int32_t)day_found;
        return FG_ECHECKSUM; /* closed, it would read a difference no one could resolve */
    }
    if (rc != FG_ENOTFOUND)
        return rc;
    for (int32_t day = c->rec->from_day; day <= c->rec->to_day; day = fg_recon_next_day(day)) {
        if ((rc = fg_stmt_init(&s, db, SQL_CLOSE_DAY)) != 0)
            return rc;
        fg_stmt_cstr(&s, c->rec->account);
        fg_stmt_int(&s, day);
        fg_stmt_int(&s, id);
        fg_stmt_cstr(&s, c->actor);
        fg_stmt_int(&s, now);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        c->days_closed++;
        if (fg_stmt_affected(&s) > 0) {
            first_new = first_new == 0 ? day : first_new;
            last_new = day;
        }
    }
    snprintf(object, sizeof(object), "%s", c->rec->public_id);
    snprintf(after, sizeof(after), "{\"account\":\"%s\",\"from\":%d,\"to\":%d,\"closed\":true}", c->rec->account,
             (int)c->rec->from_day, (int)c->rec->to_day);
    if ((rc = fg_audit_log(db, c->actor, "reconciliation.close", object, NULL, after)) != 0)
        return rc;
    /* closing again changes nothing and tells no one again */
    return first_new != 0 ? completed_events(db, c->rec, first_new, last_new, now) : 0;
}

int fg_reconciliation_close(fg_db_t *db, const fg_reconciliation_t *rec, const char *actor, int64_t close_after_hour,
                            fg_recon_close_refusal_t *why)
{
    memset(why, 0, sizeof(*why));
    close_t c = {rec, actor, 0, why};
    if (rec->to_day - rec->from_day > 10000) /* more than about a year: refused, never looped over */
        return FG_ERANGE;
    /* A day closed before the bank's last statement of it: that statement's
     * later lines go to the next open day, but its closing balance is the
     * day's, and the closed day would read a difference no one can resolve. */
    why->closable_at = fg_recon_day_start_ms(rec->to_day) + close_after_hour * 3600000LL;
    if (fg_now_ms() < why->closable_at)
        return FG_EUNSUPPORTED;
    return fg_db_tx(db, close_tx, &c);
}

int32_t fg_recon_day_of_ms(int64_t ms) { return fg_day_of_ms(ms); }

int fg_recon_open_day(fg_db_t *db, const char *account, int32_t day, int32_t *out)
{
    for (int i = 0; i < 400; i++, day = fg_recon_next_day(day)) {
        fg_stmt_t s;
        int64_t one = 0;
        int rc = fg_stmt_init(&s, db, SQL_IS_CLOSED);
        if (rc != 0)
            return rc;
        fg_stmt_cstr(&s, account);
        fg_stmt_int(&s, day);
        fg_stmt_out_int(&s, &one, NULL);
        if ((rc = fg_stmt_one(&s)) == FG_ENOTFOUND) {
            *out = day;
            return 0;
        }
        if (rc != 0)
            return rc;
    }
    return FG_ERANGE;
}
