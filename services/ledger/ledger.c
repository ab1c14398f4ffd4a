/*
 * ledger.c - postings, balances, checkpoints.
 */
#include "ledger/ledger.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/money.h"
#include "core/text.h"

/* Account ids are immutable once committed, so they are cached in-process:
 * a payment then costs no account lookups.  Direct-mapped; a collision only
 * costs a query. */
#define ACCOUNT_CACHE_SLOTS 4096

typedef struct {
    char key[FG_ACCOUNT_CODE_MAX + 5]; /* code + '/' + currency */
    int64_t id;
} account_slot_t;

static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static account_slot_t account_cache[ACCOUNT_CACHE_SLOTS];

static const char SQL_ACCOUNT_GET[] = "SELECT id FROM ledger_accounts WHERE code = ? AND currency = ?";
static const char SQL_ACCOUNT_ADD[] =
    "INSERT IGNORE INTO ledger_accounts (code, currency, kind, merchant_id, created_at) VALUES (?, ?, ?, ?, ?)";
/* Journals and their entries are append-only: queued in a deferring
 * transaction (db.h), each journal's entries in one multi-row INSERT otherwise. */
static fg_db_table_t JOURNALS =
    FG_DB_TABLE("INSERT INTO journals (public_id, kind, payment_id, refund_id, reverses_id, memo, created_at) VALUES ",
                "(?, ?, ?, ?, ?, ?, ?)", 7, 1, 20);
static fg_db_table_t ENTRIES =
    FG_DB_TABLE("INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at) VALUES ",
                "(?, ?, ?, ?, ?)", 5, 0, 21);
_Static_assert(FG_JOURNAL_LINES_MAX <= FG_DB_ROWS_MAX, "a journal's entries go in one statement");

int fg_account_kind_of(const char *code)
{
    if (strncmp(code, "assets:", 7) == 0)
        return FG_ACCOUNT_ASSET;
    if (strncmp(code, "liabilities:", 12) == 0)
        return FG_ACCOUNT_LIABILITY;
    if (strncmp(code, "income:", 7) == 0)
        return FG_ACCOUNT_INCOME;
    if (strncmp(code, "expenses:", 9) == 0)
        return FG_ACCOUNT_EXPENSE;
    if (strncmp(code, "equity:", 7) == 0)
        return FG_ACCOUNT_EQUITY;
    return -1;
}

const char *fg_account_kind_name(int kind)
{
    static const char *const NAMES[] = {"asset", "liability", "income", "expense", "equity"};
    return kind >= 0 && kind < (int)(sizeof(NAMES) / sizeof(NAMES[0])) ? NAMES[kind] : "unknown";
}

void fg_journal_add(fg_journal_t *j, const char *code, uint64_t merchant_id, const char *currency, int64_t amount)
{
    if (amount == 0)
        return;
    assert(j->count < FG_JOURNAL_LINES_MAX);
    assert(strlen(code) <= FG_ACCOUNT_CODE_MAX && fg_account_kind_of(code) >= 0);
    if (j->count >= FG_JOURNAL_LINES_MAX || strlen(code) > FG_ACCOUNT_CODE_MAX || fg_account_kind_of(code) < 0) {
        j->refused = 1; /* a release build too: posting refuses the journal (prepare) */
        return;
    }
    fg_posting_t *p = &j->lines[j->count++];
    snprintf(p->code, sizeof(p->code), "%s", code);
    p->kind = (fg_account_kind_t)fg_account_kind_of(code);
    p->merchant_id = merchant_id;
    snprintf(p->currency, sizeof(p->currency), "%s", currency);
    p->amount = amount;
}

int fg_journal_balanced(const fg_journal_t *j)
{
    if (j->count < 2 || j->count > FG_JOURNAL_LINES_MAX)
        return 0;
    for (int i = 0; i < j->count; i++) {
        if (j->lines[i].amount == 0)
            return 0;
        /* sum this currency once, at its first line */
        int first = 1;
        for (int k = 0; k < i; k++)
            if (strcmp(j->lines[k].currency, j->lines[i].currency) == 0)
                first = 0;
        if (!first)
            continue;
        int64_t sum = 0;
        for (int k = i; k < j->count; k++)
            if (strcmp(j->lines[k].currency, j->lines[i].currency) == 0 &&
                fg_money_add(sum, j->lines[k].amount, &sum) != 0)
                return 0;
        if (sum != 0)
            return 0;
    }
    return 1;
}

static unsigned slot_of(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h % ACCOUNT_CACHE_SLOTS;
}

static int64_t cache_get(const char *key)
{
    account_slot_t *s = &account_cache[slot_of(key)];
    int64_t id = 0;
    pthread_mutex_lock(&cache_mutex);
    if (strcmp(s->key, key) == 0)
        id = s->id;
    pthread_mutex_unlock(&cache_mutex);
    return id;
}

static void cache_put(const char *key, int64_t id)
{
    account_slot_t *s = &account_cache[slot_of(key)];
    pthread_mutex_lock(&cache_mutex);
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->id = id;
    pthread_mutex_unlock(&cache_mutex);
}

static int account_select(fg_db_t *db, const fg_posting_t *p, int64_t *id)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_ACCOUNT_GET);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, p->code);
    fg_stmt_cstr(&s, p->currency);
    fg_stmt_out_int(&s, id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    return rc < 0 ? rc : rc == 1 ? 0 : FG_ENOTFOUND;
}

/* The transaction (connection and fg_db_tx_serial) of this thread that last
 * created an account: an id it reads back may be its own uncommitted row. */
static __thread const fg_db_t *creator;
static __thread uint64_t creator_serial;

/* The account's id, creating it on first use.  Only ids of committed rows
 * are cached: a transaction that created an account caches nothing it reads
 * (its own row, read back by a later posting of the same transaction, could
 * still roll back, and the id would name nothing). */
static int account_id(fg_db_t *db, const fg_posting_t *p, int64_t now_ms, int64_t *id)
{
    char key[FG_ACCOUNT_CODE_MAX + 5];
    snprintf(key, sizeof(key), "%s/%s", p->code, p->currency);
    if ((*id = cache_get(key)) != 0)
        return 0;
    int rc = account_select(db, p, id);
    if (rc == 0) {
        if (creator != db || creator_serial != fg_db_tx_serial(db))
            cache_put(key, *id);
        return 0;
    }
    if (rc != FG_ENOTFOUND)
        return rc;
    fg_stmt_t s;
    if ((rc = fg_stmt_init(&s, db, SQL_ACCOUNT_ADD)) != 0)
        return rc;
    fg_stmt_cstr(&s, p->code);
    fg_stmt_cstr(&s, p->currency);
    fg_stmt_cstr(&s, fg_account_kind_name(p->kind));
    if (p->merchant_id != 0)
        fg_stmt_int(&s, (int64_t)p->merchant_id);
    else
        fg_stmt_null(&s);
    fg_stmt_int(&s, now_ms);
    creator = db;
    creator_serial = fg_db_tx_serial(db);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    /* the row exists now (ours or another's, committed): not finding it is
     * a defect, while a deadlock or a lost connection keeps its code and is
     * retried like any other */
    rc = account_select(db, p, id);
    return rc == FG_ENOTFOUND ? FG_EDB : rc;
}

/* j's row of JOURNALS (7 values), under public id jid. */
static void journal_values(fg_db_value_t *v, const fg_journal_t *j, const char *jid, int64_t now_ms)
{
    v[0] = fg_db_cstr(jid);
    v[1] = fg_db_cstr(j->kind);
    v[2] = fg_db_int_or_null(j->payment_id != 0 ? &j->payment_id : NULL);
    v[3] = j->refund_id < 0 ? FG_DB_ID(j->refund_id) : fg_db_int_or_null(j->refund_id != 0 ? &j->refund_id : NULL);
    v[4] = fg_db_int_or_null(j->reverses_id != 0 ? &j->reverses_id : NULL);
    v[5] = fg_db_cstr(j->memo);
    v[6] = FG_DB_INT(now_ms);
}

/* j's rows of ENTRIES (5 values each) for journal (a row id, sent or
 * pending) and the accounts of its lines. */
static void entry_values(fg_db_value_t *v, const fg_journal_t *j, int64_t journal, const int64_t *accounts,
                         int64_t now_ms)
{
    for (int i = 0; i < j->count; i++) {
        fg_db_value_t *e = &v[i * 5];
        e[0] = FG_DB_ID(journal);
        e[1] = FG_DB_INT(accounts[i]);
        e[2] = FG_DB_INT(j->lines[i].amount);
        e[3] = fg_db_cstr(j->lines[i].currency);
        e[4] = FG_DB_INT(now_ms);
    }
}

/* The checks of a journal before it is written: balanced, its accounts'
 * ids (created on first use) and a public id. */
static int prepare(fg_db_t *db, const fg_journal_t *j, int64_t now_ms, int64_t *accounts, char jid[FG_ID_CAP])
{
    assert(fg_journal_balanced(j) && "an unbalanced journal must never reach the database");
    if (j->refused || !fg_journal_balanced(j)) { /* checked in every build, not only where asserts run */
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_ERROR, "ledger: a journal that does not balance was refused");
        fg_log_str(&l, "kind", j->kind != NULL ? j->kind : "");
        fg_log_int(&l, "lines", j->count);
        fg_log_end(&l);
        return FG_EINVALID;
    }
    for (int i = 0; i < j->count; i++) {
        int rc = account_id(db, &j->lines[i], now_ms, &accounts[i]);
        if (rc != 0)
            return rc;
    }
    return fg_id_new("jrn_", jid, FG_ID_CAP) < 0 ? FG_EIO : 0;
}

/* journal_row != NULL: sent at once (fg_db_insert_now) for its row id. */
static int post(fg_db_t *db, const fg_journal_t *j, int64_t now_ms, char *public_id, int64_t *journal_row)
{
    int (*insert)(fg_db_t *, fg_db_table_t *, const fg_db_value_t *, int,
                  int64_t *) = journal_row != NULL ? fg_db_insert_now : fg_db_insert;
    int64_t accounts[FG_JOURNAL_LINES_MAX], journal_id = 0;
    char jid[FG_ID_CAP];
    fg_db_value_t v[FG_JOURNAL_LINES_MAX * 5];
    int rc = prepare(db, j, now_ms, accounts, jid);
    if (rc != 0)
        return rc;
    journal_values(v, j, jid, now_ms);
    if ((rc = insert(db, &JOURNALS, v, 1, &journal_id)) != 0)
        return rc;
    entry_values(v, j, journal_id, accounts, now_ms);
    if ((rc = insert(db, &ENTRIES, v, j->count, NULL)) != 0)
        return rc;
    if (public_id != NULL)
        memcpy(public_id, jid, strlen(jid) + 1);
    if (journal_row != NULL)
        *journal_row = journal_id;
    return 0;
}

int fg_ledger_post(fg_db_t *db, const fg_journal_t *j, int64_t now_ms, char *public_id)
{
    return post(db, j, now_ms, public_id, NULL);
}

int fg_ledger_post_now(fg_db_t *db, const fg_journal_t *j, int64_t now_ms, int64_t *journal_row)
{
    assert(journal_row != NULL);
    return post(db, j, now_ms, NULL, journal_row);
}

int fg_ledger_post_many_now(fg_db_t *db, const fg_journal_t *j, int n, int64_t now_ms, int64_t *journal_rows)
{
    fg_db_value_t *v = fg_malloc((size_t)n * FG_JOURNAL_LINES_MAX * 5 * sizeof(*v));
    char(*jid)[FG_ID_CAP] = fg_malloc((size_t)n * sizeof(*jid));
    int64_t(*accounts)[FG_JOURNAL_LINES_MAX] = fg_malloc((size_t)n * sizeof(*accounts));
    int rc = 0, entries = 0;
    for (int k = 0; rc == 0 && k < n; k++) {
        assert(j[k].refund_id >= 0 && "a queued refund's journal goes through fg_ledger_post");
        if ((rc = prepare(db, &j[k], now_ms, accounts[k], jid[k])) == 0)
            journal_values(&v[k * 7], &j[k], jid[k], now_ms);
    }
    if (rc == 0)
        rc = fg_db_insert_now(db, &JOURNALS, v, n, journal_rows);
    for (int k = 0; rc == 0 && k < n; entries += j[k++].count)
        entry_values(&v[entries * 5], &j[k], journal_rows[k], accounts[k], now_ms);
    if (rc == 0)
        rc = fg_db_insert_now(db, &ENTRIES, v, entries, NULL);
    free(v);
    free(jid);
    free(accounts);
    return rc;
}
