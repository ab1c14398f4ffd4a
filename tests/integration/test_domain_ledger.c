/*
 * test_domain_ledger.c - the ledger's reads without HTTP, as reconciliation
 * and reports call them: journals posted with fg_ledger_post inside fg_db_tx,
 * read back as accounts with balances (paged, now and at a time), one
 * account by its code, and journals with their entries (paged, filtered by
 * account and time).  Every case ends with `feegate ledger check`.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "db/db.h"
#include "harness.h"
#include "ledger/ledger.h"

/* Journals one walk of a test keeps. */
#define SEEN_MAX 16
#define HOUR_MS (3600 * 1000LL)

static fg_config_t cfg;
static fg_db_t *db;

static void setup(void)
{
    fgt_config_load(&cfg);
    db = fgt_db_open(&cfg);
}

static void teardown(void)
{
    fg_db_close(db);
    fg_config_free(&cfg);
}

/* ---- posting --------------------------------------------------------------- */

typedef struct {
    fg_journal_t journal;
    int64_t at_ms;
    char public_id[FG_ID_CAP];
} post_t;

static int post_tx(fg_db_t *d, void *arg)
{
    post_t *p = arg;
    return fg_ledger_post(d, &p->journal, p->at_ms, p->public_id);
}

/* Posts a two-line journal stamped at_ms: amount debited to `debit`, credited
 * to `credit`; its public id into public_id (may be NULL). */
static void post2(const char *debit, const char *credit, const char *currency, int64_t amount, const char *memo,
                  int64_t at_ms, char *public_id)
{
    post_t p = {.journal = {.kind = "receipt", .memo = memo}, .at_ms = at_ms};
    fg_journal_add(&p.journal, debit, 0, currency, amount);
    fg_journal_add(&p.journal, credit, 0, currency, -amount);
    ck_assert_int_eq(fg_db_tx(db, post_tx, &p), 0);
    if (public_id != NULL)
        memcpy(public_id, p.public_id, FG_ID_CAP);
}

static void code_of(char *code, const char *prefix, const char *tag)
{
    snprintf(code, FG_ACCOUNT_CODE_MAX + 1, "%s:%s", prefix, tag);
}

static int64_t account_row(const char *code, const char *currency)
{
    long long id = fgt_db_int("SELECT id FROM ledger_accounts WHERE code = ? AND currency = ?", code, currency);
    ck_assert_int_gt(id, 0);
    return id;
}

/* ---- accounts ---------------------------------------------------------------- */

typedef struct {
    char code[FG_ACCOUNT_CODE_MAX + 1];
    const char *currency;
    int kind;
    int64_t now, early; /* balances now and half a second after the first journal */
    int64_t id;
    int seen;
} expected_account_t;

/* The accounts of one tag: a receipt, a fee taken as income, a fee paid out
 * as an expense, and a receipt in a second currency on the same codes. */
static int64_t post_accounts(const char *tag, expected_account_t *want)
{
    int64_t t0 = fg_now_ms() - HOUR_MS;
    code_of(want[0].code, "assets:clearing", tag);
    code_of(want[1].code, "liabilities:held", tag);
    code_of(want[2].code, "income:fees", tag);
    code_of(want[3].code, "expenses:fees", tag);
    memcpy(want[4].code, want[0].code, sizeof(want[4].code));
    memcpy(want[5].code, want[1].code, sizeof(want[5].code));
    post2(want[0].code, want[1].code, "VND", 100000, tag, t0, NULL);
    post2(want[1].code, want[2].code, "VND", 3000, NULL, t0 + 1000, NULL);
    post2(want[0].code, want[1].code, "USD", 50, tag, t0 + 2000, NULL);
    post2(want[3].code, want[0].code, "VND", 1000, tag, t0 + 3000, NULL);
    /* balances in each account's normal direction: debit for assets and
     * expenses, credit for liabilities and income */
    static const struct {
        const char *currency;
        int kind;
        int64_t now, early;
    } BALANCES[] = {
        {"VND", FG_ACCOUNT_ASSET, 99000, 100000}, {"VND", FG_ACCOUNT_LIABILITY, 97000, 100000},
        {"VND", FG_ACCOUNT_INCOME, 3000, 0},      {"VND", FG_ACCOUNT_EXPENSE, 1000, 0},
        {"USD", FG_ACCOUNT_ASSET, 50, 0},         {"USD", FG_ACCOUNT_LIABILITY, 50, 0},
    };
    for (int i = 0; i < 6; i++) {
        want[i].currency = BALANCES[i].currency;
        want[i].kind = BALANCES[i].kind;
        want[i].now = BALANCES[i].now;
        want[i].early = BALANCES[i].early;
        want[i].id = account_row(want[i].code, want[i].currency);
        want[i].seen = 0;
    }
    return t0;
}

START_TEST(find_by_code_and_balances)
{
    const char *tag = fgt_unique("find");
    expected_account_t want[6];
    int64_t t0 = post_accounts(tag, want);
    fg_ledger_account_t a;

    /* one currency: found without naming it; the balance is read apart */
    memset(&a, 0x5a, sizeof(a));
    ck_assert_int_eq(fg_ledger_account_find(db, want[2].code, NULL, &a), 0);
    ck_assert_int_eq(a.id, want[2].id);
    ck_assert_str_eq(a.code, want[2].code);
    ck_assert_str_eq(a.currency, "VND");
    ck_assert_int_eq(a.kind, FG_ACCOUNT_INCOME);
    ck_assert_int_eq(a.balance, 0);
    ck_assert_int_eq(fg_ledger_account_balance(db, &a, -1), 0);
    ck_assert_int_eq(a.balance, 3000);
    ck_assert_int_eq(fg_ledger_account_balance(db, &a, t0 + 999), 0);
    ck_assert_int_eq(a.balance, 0);
    ck_assert_int_eq(fg_ledger_account_balance(db, &a, t0 + 1000), 0);
    ck_assert_int_eq(a.balance, 3000);

    /* two currencies: the code alone is ambiguous; each currency finds its own */
    ck_assert_int_eq(fg_ledger_account_find(db, want[0].code, NULL, &a), FG_ECONFLICT);
    ck_assert_int_eq(fg_ledger_account_find(db, want[1].code, NULL, &a), FG_ECONFLICT);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(fg_ledger_account_find(db, want[i].code, want[i].currency, &a), 0);
        ck_assert_int_eq(a.id, want[i].id);
        ck_assert_str_eq(a.currency, want[i].currency);
        ck_assert_int_eq(a.kind, want[i].kind);
        ck_assert_int_eq(fg_ledger_account_balance(db, &a, -1), 0);
        ck_assert_int_eq(a.balance, want[i].now);
        ck_assert_int_eq(fg_ledger_account_balance(db, &a, t0 + 500), 0);
        ck_assert_int_eq(a.balance, want[i].early);
        ck_assert_int_eq(fg_ledger_account_balance(db, &a, t0 - 1), 0);
        ck_assert_int_eq(a.balance, 0);
    }

    /* no such account: another currency, another code, an empty currency */
    char missing[FG_ACCOUNT_CODE_MAX + 1];
    code_of(missing, "assets:clearing:none", tag);
    ck_assert_int_eq(fg_ledger_account_find(db, want[0].code, "EUR", &a), FG_ENOTFOUND);
    ck_assert_int_eq(fg_ledger_account_find(db, want[2].code, "", &a), FG_ENOTFOUND);
    ck_assert_int_eq(fg_ledger_account_find(db, missing, NULL, &a), FG_ENOTFOUND);
    fg_db_end(db);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* Walks every page of accounts from after_id, limit at a time, with balances
 * as of at_ms, marking the expected ones; returns the pages walked. */
static int walk_accounts(int64_t after_id, int64_t limit, int64_t at_ms, expected_account_t *want, int wanted)
{
    fg_ledger_account_t *rows = calloc((size_t)limit, sizeof(*rows));
    int pages = 0, more = 1;
    ck_assert_ptr_nonnull(rows);
    while (more) {
        int count = -1;
        more = -1;
        ck_assert_int_eq(fg_ledger_accounts_page(db, after_id, limit, NULL, at_ms, rows, &count, &more), 0);
        pages++;
        ck_assert_int_ge(count, 0);
        ck_assert_int_le(count, limit);
        ck_assert(more == 0 || (more == 1 && count == limit));
        for (int i = 0; i < count; i++) {
            ck_assert_int_gt(rows[i].id, after_id);
            ck_assert_int_eq(rows[i].kind, fg_account_kind_of(rows[i].code));
            after_id = rows[i].id;
            for (int k = 0; k < wanted; k++) {
                if (rows[i].id != want[k].id)
                    continue;
                want[k].seen++;
                ck_assert_str_eq(rows[i].code, want[k].code);
                ck_assert_str_eq(rows[i].currency, want[k].currency);
                ck_assert_int_eq(rows[i].balance, at_ms < 0 ? want[k].now : want[k].early);
            }
        }
    }
    free(rows);
    fg_db_end(db);
    return pages;
}

START_TEST(accounts_in_pages)
{
    const char *tag = fgt_unique("pages");
    expected_account_t want[6];
    int64_t t0 = post_accounts(tag, want), first = want[0].id, last = want[0].id;
    for (int i = 1; i < 6; i++) {
        first = want[i].id < first ? want[i].id : first;
        last = want[i].id > last ? want[i].id : last;
    }

    /* two at a time from just before the tag's first account: each once, in order */
    ck_assert_int_ge(walk_accounts(first - 1, 2, -1, want, 6), 3);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(want[i].seen, 1);
    /* as of half a second after the first journal */
    walk_accounts(first - 1, 2, t0 + 500, want, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(want[i].seen, 2);

    /* the last account ends the list; nothing comes after it */
    int64_t newest = fgt_db_int("SELECT MAX(id) FROM ledger_accounts", NULL, NULL);
    fg_ledger_account_t rows[3];
    int count = -1, more = -1;
    ck_assert_int_eq(fg_ledger_accounts_page(db, newest, 3, NULL, -1, rows, &count, &more), 0);
    ck_assert_int_eq(count, 0);
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(fg_ledger_accounts_page(db, last - 1, 1, NULL, -1, rows, &count, &more), 0);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(rows[0].id, last);
    ck_assert_int_eq(more, last < newest);
    /* a full page: exactly limit accounts, and more when the next exists */
    ck_assert_int_eq(fg_ledger_accounts_page(db, first - 1, 3, NULL, -1, rows, &count, &more), 0);
    ck_assert_int_eq(count, 3);
    ck_assert_int_eq(more, 1);
    ck_assert_int_eq(rows[0].id, first);
    fg_db_end(db);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* ---- journals ----------------------------------------------------------------- */

typedef struct {
    int64_t id, created_at_ms;
    char public_id[FG_ID_CAP], kind[32], memo[128];
    int entry_count;
    struct {
        char account[FG_ACCOUNT_CODE_MAX + 1];
        char currency[4];
        int64_t amount;
    } entries[FG_JOURNAL_LINES_MAX];
} seen_journal_t;

typedef struct {
    int count;
    int stop_with; /* returned after the first journal when not 0 */
    seen_journal_t rows[SEEN_MAX];
} seen_t;

static int keep_journal(void *arg, const fg_ledger_journal_t *j)
{
    seen_t *seen = arg;
    ck_assert_int_lt(seen->count, SEEN_MAX);
    ck_assert_int_le(j->entry_count, FG_JOURNAL_LINES_MAX);
    seen_journal_t *s = &seen->rows[seen->count++];
    s->id = j->id;
    s->created_at_ms = j->created_at_ms;
    snprintf(s->public_id, sizeof(s->public_id), "%s", j->public_id);
    snprintf(s->kind, sizeof(s->kind), "%s", j->kind);
    snprintf(s->memo, sizeof(s->memo), "%s", j->memo);
    s->entry_count = j->entry_count;
    for (int i = 0; i < j->entry_count; i++) {
        snprintf(s->entries[i].account, sizeof(s->entries[i].account), "%s", j->entries[i].account);
        snprintf(s->entries[i].currency, sizeof(s->entries[i].currency), "%s", j->entries[i].currency);
        s->entries[i].amount = j->entries[i].amount;
    }
    return seen->stop_with;
}

/* One page of q into seen (emptied first); returns *more. */
static int journals(const fg_journal_query_t *q, seen_t *seen)
{
    int more = -1;
    seen->count = 0;
    ck_assert_int_eq(fg_ledger_journals_page(db, q, keep_journal, seen, &more), 0);
    ck_assert(more == 0 || more == 1);
    fg_db_end(db);
    return more;
}

typedef struct {
    char clearing[FG_ACCOUNT_CODE_MAX + 1], held[FG_ACCOUNT_CODE_MAX + 1], income[FG_ACCOUNT_CODE_MAX + 1];
    int64_t t0, clearing_id;
    char ids[5][FG_ID_CAP]; /* journal i: 100 * (i + 1) received at t0 + i seconds */
    char other[FG_ID_CAP];  /* on another tag's accounts, at t0 + 2.5 s */
} journal_set_t;

/* Five receipts on one tag's accounts, the third of three lines (a fee taken
 * as income) and the fourth without a memo, and one on another tag's
 * accounts stamped between the third and the fourth. */
static void post_journals(journal_set_t *set)
{
    const char *tag = fgt_unique("jrn"), *other = fgt_unique("jrn-other");
    char other_clearing[FG_ACCOUNT_CODE_MAX + 1], other_held[FG_ACCOUNT_CODE_MAX + 1];
    code_of(set->clearing, "assets:clearing", tag);
    code_of(set->held, "liabilities:held", tag);
    code_of(set->income, "income:fees", tag);
    code_of(other_clearing, "assets:clearing", other);
    code_of(other_held, "liabilities:held", other);
    set->t0 = fg_now_ms() - HOUR_MS;
    for (int i = 0; i < 5; i++) {
        int64_t amount = 100 * (i + 1), at = set->t0 + 1000 * i;
        if (i == 2) {
            post_t p = {.journal = {.kind = "settlement", .memo = "with a fee"}, .at_ms = at};
            fg_journal_add(&p.journal, set->clearing, 0, "VND", amount);
            fg_journal_add(&p.journal, set->held, 0, "VND", -(amount - 10));
            fg_journal_add(&p.journal, set->income, 0, "VND", -10);
            ck_assert_int_eq(fg_db_tx(db, post_tx, &p), 0);
            memcpy(set->ids[i], p.public_id, FG_ID_CAP);
        } else {
            post2(set->clearing, set->held, "VND", amount, i == 3 ? NULL : tag, at, set->ids[i]);
        }
        if (i == 2)
            post2(other_clearing, other_held, "VND", 7, other, set->t0 + 2500, set->other);
    }
    set->clearing_id = account_row(set->clearing, "VND");
}

/* seen->rows[at] is journal i of the set. */
static void expect_journal(const journal_set_t *set, const seen_t *seen, int at, int i)
{
    const seen_journal_t *j = &seen->rows[at];
    int64_t amount = 100 * (i + 1);
    ck_assert_str_eq(j->public_id, set->ids[i]);
    ck_assert_int_eq(j->created_at_ms, set->t0 + 1000 * i);
    ck_assert_str_eq(j->kind, i == 2 ? "settlement" : "receipt");
    if (i == 3)
        ck_assert_str_eq(j->memo, "");
    else if (i == 2)
        ck_assert_str_eq(j->memo, "with a fee");
    ck_assert_int_eq(j->entry_count, i == 2 ? 3 : 2);
    /* in the order posted */
    ck_assert_str_eq(j->entries[0].account, set->clearing);
    ck_assert_str_eq(j->entries[0].currency, "VND");
    ck_assert_int_eq(j->entries[0].amount, amount);
    ck_assert_str_eq(j->entries[1].account, set->held);
    ck_assert_int_eq(j->entries[1].amount, i == 2 ? -(amount - 10) : -amount);
    if (i == 2) {
        ck_assert_str_eq(j->entries[2].account, set->income);
        ck_assert_int_eq(j->entries[2].amount, -10);
    }
}

START_TEST(journals_of_an_account_in_pages)
{
    journal_set_t set;
    seen_t seen = {0};
    post_journals(&set);
    fg_journal_query_t q = {.limit = 2, .account_id = set.clearing_id};

    /* newest first, two at a time, each page continuing below the last id */
    ck_assert_int_eq(journals(&q, &seen), 1);
    ck_assert_int_eq(seen.count, 2);
    expect_journal(&set, &seen, 0, 4);
    expect_journal(&set, &seen, 1, 3);
    ck_assert_int_gt(seen.rows[0].id, seen.rows[1].id);
    q.before_id = seen.rows[1].id;
    ck_assert_int_eq(journals(&q, &seen), 1);
    ck_assert_int_eq(seen.count, 2);
    expect_journal(&set, &seen, 0, 2);
    expect_journal(&set, &seen, 1, 1);
    q.before_id = seen.rows[1].id;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 1);
    expect_journal(&set, &seen, 0, 0);

    /* the whole set in one page: exactly the limit, nothing more */
    q.before_id = 0;
    q.limit = 5;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 5);
    for (int k = 0; k < 5; k++)
        expect_journal(&set, &seen, k, 4 - k);

    /* an account with one journal: its own only */
    fg_ledger_account_t income;
    ck_assert_int_eq(fg_ledger_account_find(db, set.income, "VND", &income), 0);
    q.account_id = income.id;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 1);
    expect_journal(&set, &seen, 0, 2);

    /* the walk stops where the callback says, and says why */
    q.account_id = set.clearing_id;
    seen.count = 0;
    seen.stop_with = 7;
    int more = -1;
    ck_assert_int_eq(fg_ledger_journals_page(db, &q, keep_journal, &seen, &more), 7);
    ck_assert_int_eq(seen.count, 1);
    ck_assert_int_eq(more, 0);
    fg_db_end(db);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* An account with an entry in ten thousand journals is read journal by
 * journal, newest first (query.c, SQL_JOURNALS_BUSY); the other tests' few
 * entries are read from the account's entries (SQL_JOURNALS_FEW).  Either
 * way: the same pages. */
enum { BUSY_JOURNALS = 10000 };

START_TEST(journals_of_a_busy_account)
{
    const char *tag = fgt_unique("busy");
    char clearing[FG_ACCOUNT_CODE_MAX + 1], held[FG_ACCOUNT_CODE_MAX + 1], newest[3][FG_ID_CAP], oldest[FG_ID_CAP];
    code_of(clearing, "assets:clearing", tag);
    code_of(held, "liabilities:held", tag);
    int64_t t0 = fg_now_ms() - HOUR_MS;
    post2(clearing, held, "VND", 5, tag, t0, oldest); /* makes the two accounts */
    /* balanced journals of 1 dong each, stamped after the first */
    fgt_db_exec("INSERT INTO journals (public_id, kind, memo, created_at) SELECT CONCAT(?, '-', LPAD(seq, 5, '0')), "
                "'receipt', NULL, UNIX_TIMESTAMP() * 1000 - 3000000 + seq FROM seq_1_to_10000",
                tag);
    fgt_db_exec("INSERT INTO ledger_entries (journal_id, account_id, amount, currency, created_at) "
                "SELECT j.id, a.id, IF(a.code LIKE 'assets:%', 1, -1), 'VND', j.created_at FROM (SELECT ? AS tag) t "
                "JOIN ledger_accounts a ON a.code IN (CONCAT('assets:clearing:', t.tag), "
                "CONCAT('liabilities:held:', t.tag)) AND a.currency = 'VND' "
                "JOIN journals j ON j.public_id LIKE CONCAT(t.tag, '-%') ORDER BY j.id, a.code LIKE 'assets:%' DESC",
                tag);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM ledger_entries e JOIN ledger_accounts a ON a.id = "
                                "e.account_id WHERE a.code = ?",
                                clearing, NULL),
                     BUSY_JOURNALS + 1);
    for (int i = 0; i < 3; i++)
        post2(clearing, held, "VND", 10 + i, tag, fg_now_ms() - 1000 + i, newest[i]);

    fg_journal_query_t q = {.limit = 2, .account_id = account_row(clearing, "VND")};
    seen_t seen = {0};
    ck_assert_int_eq(journals(&q, &seen), 1);
    ck_assert_int_eq(seen.count, 2);
    ck_assert_str_eq(seen.rows[0].public_id, newest[2]);
    ck_assert_str_eq(seen.rows[1].public_id, newest[1]);
    q.before_id = seen.rows[1].id;
    ck_assert_int_eq(journals(&q, &seen), 1);
    ck_assert_str_eq(seen.rows[0].public_id, newest[0]);
    char bulk_newest[64];
    snprintf(bulk_newest, sizeof(bulk_newest), "%s-%05d", tag, BUSY_JOURNALS);
    ck_assert_str_eq(seen.rows[1].public_id, bulk_newest);
    ck_assert_int_eq(seen.rows[1].entry_count, 2);
    ck_assert_str_eq(seen.rows[1].entries[0].account, clearing);
    ck_assert_int_eq(seen.rows[1].entries[0].amount, 1);
    /* the last page: the bulk's first and the account's first journal, nothing more */
    q.before_id = fgt_db_int("SELECT id FROM journals WHERE public_id = CONCAT(?, '-00002')", tag, NULL);
    q.limit = 5;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 2);
    ck_assert_int_eq(seen.rows[1].id, fgt_db_int("SELECT id FROM journals WHERE public_id = ?", oldest, NULL));
    ck_assert_str_eq(seen.rows[1].public_id, oldest);
    /* between times: the three posted last */
    q.before_id = 0;
    q.has_from = 1;
    q.from_ms = fg_now_ms() - 1500;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 3);
    ck_assert_str_eq(seen.rows[2].public_id, newest[0]);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

START_TEST(journals_between_times)
{
    journal_set_t set;
    seen_t seen = {0};
    post_journals(&set);

    /* from is inclusive, to exclusive */
    fg_journal_query_t q = {.limit = 10, .account_id = set.clearing_id};
    q.has_from = q.has_to = 1;
    q.from_ms = set.t0 + 1000;
    q.to_ms = set.t0 + 3000;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 2);
    expect_journal(&set, &seen, 0, 2);
    expect_journal(&set, &seen, 1, 1);

    /* from alone, to alone */
    q.has_to = 0;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 4);
    expect_journal(&set, &seen, 3, 1);
    q.has_from = 0;
    q.has_to = 1;
    q.to_ms = set.t0 + 1;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 1);
    expect_journal(&set, &seen, 0, 0);

    /* any account: the other tag's journal is between the third and the fourth */
    q.account_id = 0;
    q.has_from = q.has_to = 1;
    q.from_ms = set.t0 + 2000;
    q.to_ms = set.t0 + 3001;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_ge(seen.count, 3);
    int other = -1, third = -1, fourth = -1;
    for (int k = 0; k < seen.count; k++) {
        other = strcmp(seen.rows[k].public_id, set.other) == 0 ? k : other;
        third = strcmp(seen.rows[k].public_id, set.ids[2]) == 0 ? k : third;
        fourth = strcmp(seen.rows[k].public_id, set.ids[3]) == 0 ? k : fourth;
    }
    ck_assert_int_ge(other, 0);
    ck_assert_int_eq(seen.rows[other].created_at_ms, set.t0 + 2500);
    ck_assert_int_eq(seen.rows[other].entries[0].amount, 7);
    /* newest first means by id: the other journal was posted after the third */
    ck_assert_int_ge(third, 0);
    ck_assert_int_ge(fourth, 0);
    ck_assert_int_lt(fourth, other);
    ck_assert_int_lt(other, third);

    /* an empty range */
    q.account_id = set.clearing_id;
    q.from_ms = set.t0 + 500;
    q.to_ms = set.t0 + 999;
    ck_assert_int_eq(journals(&q, &seen), 0);
    ck_assert_int_eq(seen.count, 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

typedef struct {
    const journal_set_t *set;
    char public_id[FG_ID_CAP];
    seen_t seen;
    int more;
} own_read_t;

/* Posts and reads the journal back in the same transaction, then rolls back. */
static int post_and_read_tx(fg_db_t *d, void *arg)
{
    own_read_t *r = arg;
    fg_journal_t j = {.kind = "receipt", .memo = "uncommitted"};
    fg_journal_add(&j, r->set->clearing, 0, "VND", 999);
    fg_journal_add(&j, r->set->held, 0, "VND", -999);
    int rc = fg_ledger_post(d, &j, fg_now_ms(), r->public_id);
    if (rc != 0)
        return rc;
    fg_journal_query_t q = {.limit = 1, .account_id = r->set->clearing_id};
    r->seen.count = 0;
    if ((rc = fg_ledger_journals_page(d, &q, keep_journal, &r->seen, &r->more)) != 0)
        return rc;
    return 1; /* a refusal after the reads: nothing stays */
}

START_TEST(reads_inside_a_transaction)
{
    journal_set_t set;
    post_journals(&set);
    own_read_t r = {.set = &set};
    ck_assert_int_eq(fg_db_tx(db, post_and_read_tx, &r), 1);
    ck_assert_int_eq(r.seen.count, 1);
    ck_assert_int_eq(r.more, 1);
    ck_assert_str_eq(r.seen.rows[0].public_id, r.public_id);
    ck_assert_str_eq(r.seen.rows[0].memo, "uncommitted");
    ck_assert_int_eq(r.seen.rows[0].entries[0].amount, 999);
    /* rolled back: the newest is the set's again */
    seen_t seen = {0};
    fg_journal_query_t q = {.limit = 1, .account_id = set.clearing_id};
    ck_assert_int_eq(journals(&q, &seen), 1);
    expect_journal(&set, &seen, 0, 4);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM journals WHERE public_id = ?", r.public_id, NULL), 0);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

/* Posts two journals to a new account in one transaction, then refuses:
 * the account is rolled back with them. */
static int new_account_rolled_back_tx(fg_db_t *d, void *arg)
{
    const char *code = arg;
    for (int i = 0; i < 2; i++) {
        fg_journal_t j = {.kind = "receipt", .memo = "rolled back"};
        fg_journal_add(&j, "assets:clearing:sandbox", 0, "VND", 500);
        fg_journal_add(&j, code, 0, "VND", -500);
        int rc = fg_ledger_post(d, &j, fg_now_ms(), NULL);
        if (rc != 0)
            return rc;
    }
    return 1;
}

START_TEST(an_account_made_by_a_rolled_back_transaction_is_made_again)
{
    /* the second posting reads the account the transaction itself made: that
     * id must not outlive the rollback (in the process's account cache) */
    char code[FG_ACCOUNT_CODE_MAX + 1], id[FG_ID_CAP];
    code_of(code, "liabilities:merchant", fgt_unique("RB"));
    static const char ACCOUNTS[] = "SELECT COUNT(*) FROM ledger_accounts WHERE code = ? AND currency = ?";
    ck_assert_int_eq(fg_db_tx(db, new_account_rolled_back_tx, code), 1);
    ck_assert_int_eq(fgt_db_int(ACCOUNTS, code, "VND"), 0);
    post2("assets:clearing:sandbox", code, "VND", 700, "after the rollback", fg_now_ms(), id);
    /* every entry of the journal names an account that exists: the one made again */
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM ledger_entries e JOIN journals j ON j.id = e.journal_id JOIN "
                                "ledger_accounts a ON a.id = e.account_id WHERE j.public_id = ?",
                                id, NULL),
                     2);
    ck_assert_int_eq(fgt_db_int(ACCOUNTS, code, "VND"), 1);
    ck_assert_int_eq(fgt_ledger_check(), 0);
}
END_TEST

static Suite *domain_ledger_suite(void)
{
    Suite *s = suite_create("domain_ledger");
    TCase *tc = fgt_tcase(s, "reads", setup, teardown);
    tcase_add_test(tc, find_by_code_and_balances);
    tcase_add_test(tc, accounts_in_pages);
    tcase_add_test(tc, journals_of_an_account_in_pages);
    tcase_add_test(tc, journals_between_times);
    tcase_add_test(tc, journals_of_a_busy_account);
    tcase_add_test(tc, reads_inside_a_transaction);
    tcase_add_test(tc, an_account_made_by_a_rolled_back_transaction_is_made_again);
    return s;
}

int main(void) { return fgt_run(domain_ledger_suite()); }
