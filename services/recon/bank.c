/*
 * bank.c - the bank account in the ledger mirrors its statements
 * (schema/0009_bank_book.sql, docs/RECONCILIATION.md).
 *
 * An imported statement posts its new lines, one journal per booking day:
 * Dr assets:bank:{account} / Cr assets:bank_unreconciled:{account} (a debit
 * line the other way round).  Its balances are then held against the
 * ledger's own:
 *   - the account's first opening balance comes from
 *     equity:opening_balances:{account};
 *   - an opening that differs from the ledger's bank balance at the end of
 *     the day before the statement, or a closing that differs from it at the
 *     end of the statement's last day, is a gap: posted against the
 *     unreconciled account (so the ledger's bank balance is the bank's) and
 *     listed as a bank_only item of kind balance_gap to resolve.
 * The bank balance at the end of a day is the sum of the postings up to it,
 * so a posting on any day at or before a closed day would change that closed
 * day's balance: every posting goes on its own day when that day is after
 * the account's last closed day, else on the first day after it (an open day
 * between closed ones, or before one, is no place for it either).  So a
 * closed day's balance never changes.  Matching and resolutions then move
 * each line's amount out of the unreconciled account (match.c, resolve.c).
 */
#include "recon/recon_internal.h"

#include <stdio.h>
#include <string.h>
#include "core/day.h"
#include "core/money.h"
#include "ledger/ledger.h"

/* Booking days one statement may span (a CSV export of a year is 366). */
#define DAYS_MAX 1100

static const char SQL_LINE_DAYS[] =
    "SELECT booking_date, SUM(amount) FROM statement_lines FORCE INDEX (ix_statement_lines_statement) WHERE "
    "statement_id = ? GROUP BY booking_date "
    "ORDER BY booking_date";
static const char SQL_POSTING[] = "INSERT INTO bank_postings (account, currency, day, kind, statement_id, amount, "
                                  "journal_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_AS_OF[] =
    "SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM bank_postings WHERE account = ? AND currency = ? AND day <= ?";
static const char SQL_HAS_OPENING[] =
    "SELECT 1 FROM bank_postings WHERE account = ? AND currency = ? AND kind = 'opening' LIMIT 1";
static const char SQL_LAST_CLOSED[] = "SELECT COALESCE(MAX(day), 0) FROM recon_closed_days WHERE account = ?";
/* The first day from ? on whose statement closing the ledger was held to
 * (the last statement of it, not a late one), with that closing. */
static const char SQL_NEXT_CLOSING[] =
    "SELECT closing_date, closing FROM statements WHERE account = ? AND closing_date >= ? AND closing IS NOT NULL AND "
    "late_closing = 0 AND currency = ? ORDER BY closing_date, id DESC LIMIT 1";
static const char SQL_ACCOUNT_ROW[] = "INSERT IGNORE INTO bank_accounts (account, created_at) VALUES (?, ?)";
static const char SQL_ACCOUNT_LOCK[] = "SELECT 1 FROM bank_accounts WHERE account = ? FOR UPDATE";
static const char SQL_GAP_ITEM[] =
    "INSERT INTO recon_items (kind, line_id, statement_id, account, business_day, amount, currency, state, detail, "
    "journal_id, created_at, updated_at) VALUES ('balance_gap', NULL, ?, ?, ?, ?, ?, 'bank_only', ?, ?, ?, ?)";

void fg_recon_bank_account(const char *account, char out[FG_ACCOUNT_CODE_MAX + 1])
{
    snprintf(out, FG_ACCOUNT_CODE_MAX + 1, "assets:bank:%s", account);
}

void fg_recon_unreconciled_account(const char *account, char out[FG_ACCOUNT_CODE_MAX + 1])
{
    snprintf(out, FG_ACCOUNT_CODE_MAX + 1, "assets:bank_unreconciled:%s", account);
}

int32_t fg_recon_prev_day(int32_t day) { return fg_recon_day_of_ms(fg_recon_day_start_ms(day) - 1); }

int fg_recon_bank_as_of(fg_db_t *db, const char *account, const char *currency, int32_t day, int64_t *balance,
                        int64_t *postings)
{
    fg_stmt_t s;
    int64_t count = 0;
    int rc = fg_stmt_init(&s, db, SQL_AS_OF);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, account);
    fg_stmt_cstr(&s, currency);
    fg_stmt_int(&s, day);
    fg_stmt_out_int(&s, balance, NULL);
    fg_stmt_out_int(&s, &count, NULL);
    rc = fg_stmt_one(&s);
    if (postings != NULL)
        *postings = count;
    return rc;
}

int fg_recon_after_closed(fg_db_t *db, const char *account, int32_t *out)
{
    fg_stmt_t s;
    int64_t last = 0;
    int rc = fg_stmt_init(&s, db, SQL_LAST_CLOSED);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, account);
    fg_stmt_out_int(&s, &last, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc;
    *out = last > 0 ? fg_recon_next_day((int32_t)last) : 0;
    return 0;
}

/* The day a bank posting for day goes on: day itself, or the day after the
 * account's last closed day when day is not after it.  (The caller holds the
 * account's row: no day of it closes meanwhile.) */
static int posting_day(fg_db_t *db, const char *account, int32_t day, int32_t *out)
{
    int32_t after = 0;
    int rc = fg_recon_after_closed(db, account, &after);
    *out = after != 0 && day < after ? after : day;
    return rc;
}

/* Posts amount to the bank account on day (or the first day after the
 * account's closed ones, posting_day) against counter, and records it in
 * bank_postings.  *posted_day and *journal_id receive where it went. */
static int post_bank(fg_db_t *db, const fg_recon_bank_statement_t *st, int32_t day, const char *kind,
                     const char *counter, int64_t amount, const char *memo, int64_t now, int32_t *posted_day,
                     int64_t *journal_id)
{
    char bank[FG_ACCOUNT_CODE_MAX + 1];
    fg_stmt_t s;
    int32_t open = 0;
    int rc = posting_day(db, st->account, day, &open);
    if (rc != 0)
        return rc;
    fg_recon_bank_account(st->account, bank);
    fg_journal_t j = {.kind = "bank_statement", .memo = memo};
    fg_journal_add(&j, bank, 0, st->currency, amount);
    fg_journal_add(&j, counter, 0, st->currency, -amount);
    if ((rc = fg_ledger_post_now(db, &j, now, journal_id)) != 0 || (rc = fg_stmt_init(&s, db, SQL_POSTING)) != 0)
        return rc;
    fg_stmt_cstr(&s, st->account);
    fg_stmt_cstr(&s, st->currency);
    fg_stmt_int(&s, open);
    fg_stmt_cstr(&s, kind);
    fg_stmt_int(&s, st->statement_id);
    fg_stmt_int(&s, amount);
    fg_stmt_int(&s, *journal_id);
    fg_stmt_int(&s, now);
    *posted_day = open;
    return fg_stmt_exec(&s);
}

/* A difference between what the bank says the balance is at the end of day
 * and what the ledger holds: posted against the unreconciled account and
 * listed as an item. */
static int post_gap(fg_db_t *db, const fg_recon_bank_statement_t *st, int32_t day, int64_t bank_says,
                    int64_t ledger_has, const char *which, int64_t now)
{
    char unreconciled[FG_ACCOUNT_CODE_MAX + 1], memo[200], detail[300];
    int64_t gap = bank_says - ledger_has, journal = 0;
    int32_t posted = 0;
    fg_stmt_t s;
    fg_recon_unreconciled_account(st->account, unreconciled);
    char day_text[11], bank_text[32], ledger_text[32];
    const fg_currency_t *cur = fg_currency_find(st->currency, strlen(st->currency));
    int exponent = cur != NULL ? cur->exponent : 0;
    fg_day_format(day, day_text);
    if (fg_money_format(bank_says, exponent, bank_text, sizeof(bank_text)) < 0 ||
        fg_money_format(ledger_has, exponent, ledger_text, sizeof(ledger_text)) < 0)
        return FG_EOVERFLOW; /* int64 amounts always fit: not reached */
    snprintf(memo, sizeof(memo), "statement %lld: %s balance gap at the end of %s", (long long)st->statement_id, which,
             day_text);
    int rc = post_bank(db, st, day, "gap", unreconciled, gap, memo, now, &posted, &journal);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_GAP_ITEM)) != 0)
        return rc;
    snprintf(detail, sizeof(detail),
             "the statement's %s balance at the end of %s is %s %s; the ledger's bank account held %s %s", which,
             day_text, bank_text, st->currency, ledger_text, st->currency);
    fg_stmt_int(&s, st->statement_id);
    fg_stmt_cstr(&s, st->account);
    fg_stmt_int(&s, posted);
    fg_stmt_int(&s, gap);
    fg_stmt_cstr(&s, st->currency);
    fg_stmt_cstr(&s, detail);
    fg_stmt_int(&s, journal);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now);
    return fg_stmt_exec(&s);
}

int fg_recon_account_lock(fg_db_t *db, const char *account, int64_t now)
{
    fg_stmt_t s;
    int64_t one = 0;
    int rc = fg_stmt_init(&s, db, SQL_ACCOUNT_ROW);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, account);
    fg_stmt_int(&s, now);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_ACCOUNT_LOCK)) != 0)
        return rc;
    fg_stmt_cstr(&s, account);
    fg_stmt_out_int(&s, &one, NULL);
    return fg_stmt_one(&s);
}

/* The first statement closing on or after day that the ledger was held to,
 * held again: a gap for what the ledger holds at its end now otherwise. */
static int hold_next_closing(fg_db_t *db, const fg_recon_bank_statement_t *st, int32_t day, int64_t now)
{
    fg_stmt_t s;
    int64_t closing_day = 0, closing = 0, balance = 0;
    int rc = fg_stmt_init(&s, db, SQL_NEXT_CLOSING);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, st->account);
    fg_stmt_int(&s, day);
    fg_stmt_cstr(&s, st->currency);
    fg_stmt_out_int(&s, &closing_day, NULL);
    fg_stmt_out_int(&s, &closing, NULL);
    if ((rc = fg_stmt_one(&s)) != 0)
        return rc == FG_ENOTFOUND ? 0 : rc;
    if ((rc = fg_recon_bank_as_of(db, st->account, st->currency, (int32_t)closing_day, &balance, NULL)) != 0)
        return rc;
    return closing == balance ? 0 : post_gap(db, st, (int32_t)closing_day, closing, balance, "closing", now);
}

int fg_recon_bank_statement(fg_db_t *db, const fg_recon_bank_statement_t *st, int64_t now, int64_t *opening_gap)
{
    char unreconciled[FG_ACCOUNT_CODE_MAX + 1], equity[FG_ACCOUNT_CODE_MAX + 1], memo[160];
    int32_t days[DAYS_MAX];
    int64_t sums[DAYS_MAX];
    fg_stmt_t s;
    int64_t day = 0, sum = 0, journal = 0, balance = 0, postings = 0, one = 0;
    int32_t posted = 0;
    int count = 0;
    *opening_gap = 0;
    fg_recon_unreconciled_account(st->account, unreconciled);
    /* one import of an account at a time (the import took the lock at the
     * statement's start): the balances read below are the ones the
     * postings after them build on */
    int rc = fg_recon_account_lock(db, st->account, now);
    if (rc != 0)
        return rc;
    /* the opening: the account's first, or held against the day before */
    if (st->has_opening && st->first_day != 0) {
        int32_t before = fg_recon_prev_day(st->first_day);
        int has_opening = 0;
        if ((rc = fg_stmt_init(&s, db, SQL_HAS_OPENING)) != 0)
            return rc;
        fg_stmt_cstr(&s, st->account);
        fg_stmt_cstr(&s, st->currency);
        fg_stmt_out_int(&s, &one, NULL);
        if ((rc = fg_stmt_one(&s)) == 0)
            has_opening = 1;
        else if (rc != FG_ENOTFOUND)
            return rc;
        if ((rc = fg_recon_bank_as_of(db, st->account, st->currency, before, &balance, &postings)) != 0)
            return rc;
        if (!has_opening) {
            /* what the account held before feegate knew it: from equity */
            snprintf(equity, sizeof(equity), "equity:opening_balances:%s", st->account);
            snprintf(memo, sizeof(memo), "statement %lld: the account's opening balance", (long long)st->statement_id);
            if (st->opening - balance != 0 && (rc = post_bank(db, st, before, "opening", equity, st->opening - balance,
                                                              memo, now, &posted, &journal)) != 0)
                return rc;
        } else if (st->opening != balance) {
            *opening_gap = st->opening - balance;
            if ((rc = post_gap(db, st, before, st->opening, balance, "opening", now)) != 0)
                return rc;
        }
    }
    /* the lines this statement brought, by booking day */
    if ((rc = fg_stmt_init(&s, db, SQL_LINE_DAYS)) != 0)
        return rc;
    fg_stmt_int(&s, st->statement_id);
    fg_stmt_out_int(&s, &day, NULL);
    fg_stmt_out_int(&s, &sum, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (count == DAYS_MAX) {
            fg_stmt_done(&s);
            return FG_ERANGE;
        }
        days[count] = (int32_t)day;
        sums[count++] = sum;
    }
    if (rc < 0)
        return rc;
    int32_t late_to = 0; /* where lines of days at or before the last closed day went */
    for (int i = 0; i < count; i++) {
        if (sums[i] == 0)
            continue;
        snprintf(memo, sizeof(memo), "statement %lld: the lines booked on %d", (long long)st->statement_id,
                 (int)days[i]);
        if ((rc = post_bank(db, st, days[i], "lines", unreconciled, sums[i], memo, now, &posted, &journal)) != 0)
            return rc;
        if (posted != days[i])
            late_to = posted;
    }
    /* Late lines moved the balance of every day from late_to on, and an
     * earlier statement's closing on one of them was held to the ledger (its
     * gap posted then): held again, at the first such day, so the balance
     * the bank gave for it stays the ledger's (in the usual case a gap that
     * takes the late lines back out: an opening gap of the next day's
     * statement often explained the same money before the lines came; both
     * are items, and staff see them side by side). */
    if (late_to != 0 && (rc = hold_next_closing(db, st, late_to, now)) != 0)
        return rc;
    /* the closing against the ledger's balance at the end of the last day,
     * unless that day is at or before a closed day: its lines went after the
     * closed days, and the balance of those days stays what they closed with
     * (the statement keeps its closing, which is not a closed day's: import.c) */
    int32_t open = 0;
    if (st->has_closing && st->last_day != 0 && (rc = posting_day(db, st->account, st->last_day, &open)) != 0)
        return rc;
    if (st->has_closing && st->last_day != 0 && open == st->last_day) {
        if ((rc = fg_recon_bank_as_of(db, st->account, st->currency, st->last_day, &balance, NULL)) != 0)
            return rc;
        if (st->closing != balance && (rc = post_gap(db, st, st->last_day, st->closing, balance, "closing", now)) != 0)
            return rc;
    }
    return 0;
}
