/*
 * checkpoint.c - balances, and the checkpoints that keep reading them cheap.
 *
 * A checkpoint row (epoch, account, upto_entry_id, balance, entry_count,
 * as_of) says: the account's entries with id <= upto_entry_id are exactly
 * entry_count entries summing to balance, the latest stamped as_of.  For that
 * to stay true, no entry with an id <= upto_entry_id may commit after the row
 * is written: upto_entry_id is always a settled cut (db/settle.h), never "the
 * highest id I happened to see" nor a time horizon.  A checkpoint is built
 * from the previous one of its epoch plus the entries in between, so each
 * one is right if the first one is.
 *
 * A balance is then the newest checkpoint of the newest epoch (with as_of <=
 * the time asked for) plus the account's later entries stamped up to that
 * time.  Epochs exist for repairs: `feegate ledger rebuild-checkpoints` opens
 * an empty one and fills it from the entries alone; rows of older epochs are
 * never read again, and nothing is updated or deleted.
 */
#include "ledger/ledger.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core/money.h"
#include "core/text.h"

/* Accounts read per query while listing those with new entries. */
#define DUE_ACCOUNTS_PAGE 1000
/* How often a rebuild looks whether its cut has settled. */
#define REBUILD_POLL_MS 50

#define SQL_EPOCH "(SELECT MAX(id) FROM ledger_checkpoint_epochs)"

static const char SQL_CHECKPOINT_AT[] =
    "SELECT upto_entry_id, balance FROM ledger_checkpoints WHERE epoch_id = " SQL_EPOCH
    " AND account_id = ? AND as_of <= ? ORDER BY upto_entry_id DESC LIMIT 1";
static const char SQL_SUM_AFTER[] =
    "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account_id = ? AND id > ? AND created_at <= ?";

static const char SQL_ENTRIES_MARK[] = "SELECT COALESCE(MAX(id), 0) FROM ledger_entries";
static const char SQL_CURRENT_EPOCH[] = "SELECT COALESCE(" SQL_EPOCH ", 0)";
static const char SQL_EPOCH_PROGRESS[] =
    "SELECT COALESCE(MAX(upto_entry_id), 0) FROM ledger_checkpoints WHERE epoch_id = ?";
/* The accounts with entries in a round's range, read from the range (the
 * primary key) and sorted: left to itself MariaDB read ix_entries_account
 * from the account onwards, every entry of the ledger (0.9 s a call at 10 M
 * payments, a few calls a round: the checkpoints fell behind). */
static const char SQL_DUE_ACCOUNTS[] =
    "SELECT DISTINCT account_id FROM ledger_entries FORCE INDEX (PRIMARY) WHERE id > ? AND id <= ? "
    "AND account_id > ? ORDER BY account_id LIMIT ?";
static const char SQL_LAST_CHECKPOINT[] =
    "SELECT upto_entry_id, balance, entry_count, as_of FROM ledger_checkpoints WHERE epoch_id = ? "
    "AND account_id = ? ORDER BY upto_entry_id DESC LIMIT 1";
static const char SQL_RANGE[] = "SELECT COALESCE(SUM(amount), 0), COUNT(*), COALESCE(MAX(created_at), 0) "
                                "FROM ledger_entries WHERE account_id = ? AND id > ? AND id <= ?";
static const char SQL_CHECKPOINT_ADD[] =
    "INSERT IGNORE INTO ledger_checkpoints (epoch_id, account_id, upto_entry_id, balance, as_of, entry_count, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_EPOCH_ADD[] = "INSERT INTO ledger_checkpoint_epochs (actor, reason, created_at) VALUES (?, ?, ?)";

/* Runs a query whose one row has up to four integer columns. */
static int query_ints(fg_stmt_t *s, int64_t *a, int64_t *b, int64_t *c, int64_t *d)
{
    int64_t *cols[] = {a, b, c, d};
    for (int i = 0; i < 4 && cols[i] != NULL; i++)
        fg_stmt_out_int(s, cols[i], NULL);
    return fg_stmt_one(s);
}

/* ---- balances ------------------------------------------------------------ */

int fg_ledger_balance(fg_db_t *db, int64_t account_id, fg_account_kind_t kind, int64_t at_ms, int64_t *balance)
{
    fg_stmt_t s;
    int64_t upto = 0, base = 0, after = 0;
    int rc;
    if (at_ms < 0)
        at_ms = INT64_MAX;
    if ((rc = fg_stmt_init(&s, db, SQL_CHECKPOINT_AT)) != 0)
        return rc;
    fg_stmt_int(&s, account_id);
    fg_stmt_int(&s, at_ms);
    rc = query_ints(&s, &upto, &base, NULL, NULL);
    if (rc == FG_ENOTFOUND)
        upto = base = 0;
    else if (rc != 0)
        return rc;
    /* every entry <= upto is in base (stamped <= as_of <= at_ms); the later
     * ones count when stamped up to at_ms */
    if ((rc = fg_stmt_init(&s, db, SQL_SUM_AFTER)) != 0)
        return rc;
    fg_stmt_int(&s, account_id);
    fg_stmt_int(&s, upto);
    fg_stmt_int(&s, at_ms);
    if ((rc = query_ints(&s, &after, NULL, NULL, NULL)) != 0)
        return rc;
    int64_t debit_balance;
    if (fg_money_add(base, after, &debit_balance) != 0)
        return FG_EOVERFLOW;
    /* entries are debit-positive; liabilities and income are credit-normal */
    *balance = kind == FG_ACCOUNT_ASSET || kind == FG_ACCOUNT_EXPENSE ? debit_balance : -debit_balance;
    return 0;
}

/* ---- one account's checkpoint -------------------------------------------- */

typedef struct {
    int64_t epoch, account_id, cut, now_ms;
    int written;
} account_checkpoint_t;

static int account_checkpoint_tx(fg_db_t *db, void *arg)
{
    account_checkpoint_t *c = arg;
    fg_stmt_t s;
    int64_t upto = 0, base = 0, count_before = 0, as_of_before = 0;
    int64_t sum = 0, count = 0, newest = 0, total, count_total;
    int rc;
    c->written = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_LAST_CHECKPOINT)) != 0)
        return rc;
    fg_stmt_int(&s, c->epoch);
    fg_stmt_int(&s, c->account_id);
    rc = query_ints(&s, &upto, &base, &count_before, &as_of_before);
    if (rc != 0 && rc != FG_ENOTFOUND)
        return rc;
    if (upto >= c->cut)
        return 0;
    if ((rc = fg_stmt_init(&s, db, SQL_RANGE)) != 0)
        return rc;
    fg_stmt_int(&s, c->account_id);
    fg_stmt_int(&s, upto);
    fg_stmt_int(&s, c->cut);
    if ((rc = query_ints(&s, &sum, &count, &newest, NULL)) != 0)
        return rc;
    if (count == 0)
        return 0;
    if (fg_money_add(base, sum, &total) != 0 || fg_money_add(count_before, count, &count_total) != 0)
        return FG_EOVERFLOW;
    if ((rc = fg_stmt_init(&s, db, SQL_CHECKPOINT_ADD)) != 0)
        return rc;
    fg_stmt_int(&s, c->epoch);
    fg_stmt_int(&s, c->account_id);
    fg_stmt_int(&s, c->cut);
    fg_stmt_int(&s, total);
    /* as_of covers every entry beneath the cut, not only the new ones */
    fg_stmt_int(&s, newest > as_of_before ? newest : as_of_before);
    fg_stmt_int(&s, count_total);
    fg_stmt_int(&s, c->now_ms);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    c->written = (int)fg_stmt_affected(&s);
    return 0;
}

static int scalar(fg_db_t *db, const char *sql, const int64_t *param, int64_t *out)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    if (param != NULL)
        fg_stmt_int(&s, *param);
    rc = query_ints(&s, out, NULL, NULL, NULL);
    fg_db_end(db);
    return rc;
}

int fg_ledger_checkpoint_upto(fg_db_t *db, int64_t epoch, int64_t from, int64_t cut, int64_t now_ms)
{
    static __thread int64_t due[DUE_ACCOUNTS_PAGE];
    int64_t after_account = 0, id = 0;
    int written = 0, rc;
    assert(from <= cut);
    for (;;) {
        fg_stmt_t s;
        int n = 0;
        if ((rc = fg_stmt_init(&s, db, SQL_DUE_ACCOUNTS)) != 0)
            return rc;
        fg_stmt_int(&s, from);
        fg_stmt_int(&s, cut);
        fg_stmt_int(&s, after_account);
        fg_stmt_int(&s, DUE_ACCOUNTS_PAGE);
        fg_stmt_out_int(&s, &id, NULL);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        while ((rc = fg_stmt_fetch(&s)) == 1)
            due[n++] = id;
        fg_db_end(db);
        if (rc < 0)
            return rc;
        for (int i = 0; i < n; i++) {
            account_checkpoint_t c = {epoch, due[i], cut, now_ms, 0};
            if ((rc = fg_db_tx(db, account_checkpoint_tx, &c)) != 0)
                return rc;
            written += c.written;
        }
        if (n < DUE_ACCOUNTS_PAGE)
            return written;
        after_account = due[n - 1];
    }
}

/* ---- the background round ------------------------------------------------ */

int fg_ledger_checkpoint_round(fg_db_t *db, fg_ledger_checkpointer_t *cp, int64_t settled, int64_t now_ms)
{
    int64_t epoch = 0;
    int rc;
    if ((rc = scalar(db, SQL_CURRENT_EPOCH, NULL, &epoch)) != 0)
        return rc;
    if (epoch == 0)
        return 0; /* not migrated */
    if (epoch != cp->epoch) {
        /* start where any instance got to in this epoch: accounts below that
         * were checkpointed by it (or, after a crash, are read from an older
         * checkpoint plus more entries: slower, never wrong) */
        if ((rc = scalar(db, SQL_EPOCH_PROGRESS, &epoch, &cp->done_upto)) != 0)
            return rc;
        cp->epoch = epoch;
    }
    int64_t cut = settled;
    if (cut <= cp->done_upto)
        return 0;
    if ((rc = fg_ledger_checkpoint_upto(db, epoch, cp->done_upto, cut, now_ms)) < 0)
        return rc;
    cp->done_upto = cut;
    return rc;
}

/* ---- repair: a new epoch, filled from the entries alone ------------------- */

typedef struct {
    const char *actor, *reason;
    int64_t now_ms;
    int64_t epoch;
} epoch_add_t;

static int epoch_add_tx(fg_db_t *db, void *arg)
{
    epoch_add_t *e = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_EPOCH_ADD);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, e->actor);
    fg_stmt_cstr(&s, e->reason);
    fg_stmt_int(&s, e->now_ms);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    e->epoch = (int64_t)fg_stmt_insert_id(&s);
    return 0;
}

int fg_ledger_rebuild_checkpoints(fg_db_t *db, const char *actor, const char *reason, int64_t wait_ms,
                                  fg_ledger_rebuild_t *out)
{
    fg_settle_point_t p;
    fg_settle_probe_t probe = {0};
    int reached = 0, rc;
    memset(out, 0, sizeof(*out));
    /* the cut first: the new epoch is empty until it is filled, and balances
     * read from an empty epoch are sums of entries, right but slower */
    if ((rc = fg_settle_observe(db, &probe, SQL_ENTRIES_MARK, 1, fg_now_ms(), &p)) != 0)
        goto Exit;
    for (int64_t waited = 0;; waited += REBUILD_POLL_MS) {
        if ((rc = fg_settle_reached(db, &probe, &p, &reached, &out->blocker)) != 0)
            goto Exit;
        if (reached)
            break;
        if (waited >= wait_ms) {
            rc = FG_EUNAVAILABLE;
            goto Exit;
        }
        fg_sleep_ms(REBUILD_POLL_MS);
    }
    epoch_add_t e = {actor, reason, fg_now_ms(), 0};
    if ((rc = fg_db_tx(db, epoch_add_tx, &e)) != 0)
        goto Exit;
    out->epoch = e.epoch;
    out->cut = p.mark[0];
    if (p.mark[0] > 0 && (rc = fg_ledger_checkpoint_upto(db, e.epoch, 0, p.mark[0], fg_now_ms())) < 0)
        goto Exit;
    out->checkpoints = p.mark[0] > 0 ? rc : 0;
    rc = 0;
Exit:
    fg_settle_point_free(&p);
    fg_settle_probe_close(&probe);
    return rc;
}
