/*
 * query.c - reading the ledger: accounts with their balances, one account by
 * its code, journals with their entries; and their JSON.
 *
 * A page reads one row more than it shows, to know whether another page
 * follows.  Its rows are read whole before any balance or entry is: a
 * connection runs one statement at a time.
 */
#include "ledger/ledger.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"

static const char SQL_ACCOUNTS[] =
    "SELECT id, code, currency FROM ledger_accounts WHERE id > ? AND (? IS NULL OR currency = ?) ORDER BY id LIMIT ?";
static const char SQL_ACCOUNT_BY_CODE[] =
    "SELECT id, code, currency FROM ledger_accounts WHERE code = ? AND (? IS NULL OR currency = ?) ORDER BY id LIMIT 2";
/* Journals newest first, by the primary key.  With an account, which of
 * the two readings serves depends on how many entries the account has
 * (journal_sql).  Left to MariaDB, the account's condition became a
 * semi-join that read every entry of the account, or of the table: at a
 * million journals the clearing account (an entry in each) took 2.4 s, a
 * dormant account 0.45 s. */
#define JOURNAL_COLUMNS "SELECT j.id, j.public_id, j.kind, COALESCE(j.memo, ''), j.created_at "
#define JOURNAL_DAYS "(? IS NULL OR j.created_at >= ?) AND (? IS NULL OR j.created_at < ?) "
static const char SQL_JOURNALS[] = JOURNAL_COLUMNS "FROM journals j WHERE j.id < ? AND " JOURNAL_DAYS
                                                   "ORDER BY j.id DESC LIMIT ?";
/* An account with many entries (one in most journals): each journal, newest
 * first, asked whether it has one (a scalar subquery, which MariaDB does not
 * turn into a semi-join): the page fills within a few journals (1.5 ms). */
static const char SQL_JOURNALS_BUSY[] = JOURNAL_COLUMNS
    "FROM journals j WHERE j.id < ? AND " JOURNAL_DAYS
    "AND (SELECT COUNT(*) FROM ledger_entries e WHERE e.journal_id = j.id AND e.account_id = ?) > 0 "
    "ORDER BY j.id DESC LIMIT ?";
/* An account with few: its journals from its entries (ix_entries_account),
 * sorted (a merchant with 1,000 entries: 4 ms; asking each journal instead
 * read 51,000 of them, 0.37 s). */
static const char SQL_JOURNALS_FEW[] = JOURNAL_COLUMNS
    "FROM (SELECT DISTINCT e.journal_id FROM ledger_entries e WHERE e.account_id = ? AND e.journal_id < ?) k "
    "JOIN journals j ON j.id = k.journal_id WHERE " JOURNAL_DAYS "ORDER BY j.id DESC LIMIT ?";
/* At least this many entries make an account busy: reading them all costs
 * about what asking journals one by one costs until a page of the account's
 * fills, at a million journals (measured: 4 µs an entry, 7 µs a journal). */
#define JOURNALS_BUSY_ENTRIES 10000
static const char SQL_ACCOUNT_ENTRIES_UPTO[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM ledger_entries WHERE account_id = ? LIMIT ?) x";
static const char SQL_ENTRIES[] =
    "SELECT a.code, e.currency, e.amount FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id "
    "WHERE e.journal_id = ? ORDER BY e.id";

/* ---- accounts ------------------------------------------------------------ */

/* Copies a text column into dst.  The caps hold any value the columns can
 * (ledger.h), so a longer one is not a row of this schema. */
static int text_copy(char *dst, size_t cap, const fg_buf_t *src)
{
    if (src->len >= cap)
        return FG_EDB;
    if (src->len > 0)
        memcpy(dst, src->data, src->len);
    dst[src->len] = '\0';
    return 0;
}

static int account_fill(fg_ledger_account_t *a, int64_t id, const fg_buf_t *code, const fg_buf_t *currency)
{
    memset(a, 0, sizeof(*a));
    a->id = id;
    int rc = text_copy(a->code, sizeof(a->code), code);
    if (rc == 0)
        rc = text_copy(a->currency, sizeof(a->currency), currency);
    a->kind = fg_account_kind_of(a->code);
    return rc;
}

int fg_ledger_account_balance(fg_db_t *db, fg_ledger_account_t *account, int64_t at_ms)
{
    fg_account_kind_t kind = account->kind < 0 ? FG_ACCOUNT_ASSET : (fg_account_kind_t)account->kind;
    return fg_ledger_balance(db, account->id, kind, at_ms, &account->balance);
}

int fg_ledger_accounts_page(fg_db_t *db, int64_t after_id, int64_t limit, const char *currency_only, int64_t at_ms,
                            fg_ledger_account_t *rows, int *count, int *more)
{
    fg_buf_t code = FG_BUF_INIT, currency = FG_BUF_INIT;
    int64_t id = 0;
    fg_stmt_t s;
    int rc, n = 0;
    assert(limit >= 1 && limit <= FG_PAGE_LIMIT_MAX);
    *count = *more = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_ACCOUNTS)) != 0)
        goto Exit;
    fg_stmt_int(&s, after_id);
    fg_stmt_cstr(&s, currency_only);
    fg_stmt_cstr(&s, currency_only);
    fg_stmt_int(&s, limit + 1);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &code, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (n == limit) {
            *more = 1;
        } else if ((rc = account_fill(&rows[n++], id, &code, &currency)) != 0) {
            fg_stmt_done(&s);
            goto Exit;
        }
    }
    if (rc < 0)
        goto Exit;
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = fg_ledger_account_balance(db, &rows[i], at_ms);
    *count = n;
Exit:
    fg_buf_free(&code);
    fg_buf_free(&currency);
    return rc;
}

int fg_ledger_account_find(fg_db_t *db, const char *code, const char *currency, fg_ledger_account_t *out)
{
    fg_buf_t code_read = FG_BUF_INIT, currency_read = FG_BUF_INIT;
    int64_t id = 0;
    fg_stmt_t s;
    int rc, rows = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_ACCOUNT_BY_CODE)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, code);
    fg_stmt_cstr(&s, currency);
    fg_stmt_cstr(&s, currency);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &code_read, NULL);
    fg_stmt_out_text(&s, &currency_read, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        if (rows++ == 0 && (rc = account_fill(out, id, &code_read, &currency_read)) != 0) {
            fg_stmt_done(&s);
            goto Exit;
        }
    if (rc < 0)
        goto Exit;
    rc = rows == 0 ? FG_ENOTFOUND : rows > 1 ? FG_ECONFLICT : 0;
Exit:
    fg_buf_free(&code_read);
    fg_buf_free(&currency_read);
    return rc;
}

void fg_ledger_account_json(fg_buf_t *b, const fg_ledger_account_t *account)
{
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "code", account->code);
    fg_json_kv_str(b, 1, "kind", fg_account_kind_name(account->kind));
    fg_json_kv_str(b, 1, "currency", account->currency);
    fg_json_kv_int(b, 1, "balance", account->balance);
    fg_buf_putc(b, '}');
}

/* ---- journals ------------------------------------------------------------ */

/* A page's journal rows, read before their entries. */
typedef struct {
    int64_t *ids, *created;
    fg_buf_t *public_ids, *kinds, *memos;
    size_t cap;
} journal_rows_t;

/* One journal's entries: the rows handed over, their text (each string
 * NUL-terminated) and where in it each row's strings begin. */
typedef struct {
    fg_ledger_entry_t *rows;
    size_t *text_at; /* account, currency: two per row */
    int cap;
    fg_buf_t text;
} entries_t;

static void journal_rows_init(journal_rows_t *r, size_t cap)
{
    r->cap = cap;
    r->ids = fg_calloc(cap, sizeof(*r->ids));
    r->created = fg_calloc(cap, sizeof(*r->created));
    r->public_ids = fg_calloc(cap, sizeof(*r->public_ids));
    r->kinds = fg_calloc(cap, sizeof(*r->kinds));
    r->memos = fg_calloc(cap, sizeof(*r->memos));
}

static void journal_rows_free(journal_rows_t *r)
{
    for (size_t i = 0; i < r->cap; i++)
        fg_buf_free(&r->public_ids[i]), fg_buf_free(&r->kinds[i]), fg_buf_free(&r->memos[i]);
    free(r->ids), free(r->created), free(r->public_ids), free(r->kinds), free(r->memos);
}

static void text_put(fg_buf_t *dst, const fg_buf_t *src)
{
    fg_buf_reset(dst);
    fg_buf_append(dst, src->data, src->len);
}

/* Which reading of an account's journals serves (above): *sql is
 * SQL_JOURNALS_BUSY or SQL_JOURNALS_FEW. */
static int journal_sql(fg_db_t *db, int64_t account_id, const char **sql)
{
    fg_stmt_t s;
    int busy = 0, rc = fg_stmt_init(&s, db, SQL_ACCOUNT_ENTRIES_UPTO);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, account_id);
    if ((rc = fg_stmt_count_reaches(&s, JOURNALS_BUSY_ENTRIES, &busy)) == 0)
        *sql = busy ? SQL_JOURNALS_BUSY : SQL_JOURNALS_FEW;
    return rc;
}

/* The journal rows of q's page (at most q->limit + 1) into r; *n of them. */
static int journal_rows_read(fg_db_t *db, const fg_journal_query_t *q, journal_rows_t *r, int *n)
{
    fg_buf_t public_id = FG_BUF_INIT, kind = FG_BUF_INIT, memo = FG_BUF_INIT;
    int64_t id = 0, created = 0, before = q->before_id != 0 ? q->before_id : INT64_MAX;
    fg_stmt_t s;
    int rc;
    const char *sql = SQL_JOURNALS;
    *n = 0;
    if (q->account_id != 0 && (rc = journal_sql(db, q->account_id, &sql)) != 0)
        goto Exit;
    if ((rc = fg_stmt_init(&s, db, sql)) != 0)
        goto Exit;
    if (sql == SQL_JOURNALS_FEW)
        fg_stmt_int(&s, q->account_id);
    fg_stmt_int(&s, before);
    for (int i = 0; i < 2; i++)
        fg_stmt_int_or_null(&s, q->has_from ? &q->from_ms : NULL);
    for (int i = 0; i < 2; i++)
        fg_stmt_int_or_null(&s, q->has_to ? &q->to_ms : NULL);
    if (sql == SQL_JOURNALS_BUSY)
        fg_stmt_int(&s, q->account_id);
    fg_stmt_int(&s, (int64_t)r->cap);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    fg_stmt_out_text(&s, &kind, NULL);
    fg_stmt_out_text(&s, &memo, NULL);
    fg_stmt_out_int(&s, &created, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    /* the LIMIT is r->cap: every row has its place */
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        assert((size_t)*n < r->cap);
        r->ids[*n] = id;
        r->created[*n] = created;
        text_put(&r->public_ids[*n], &public_id);
        text_put(&r->kinds[*n], &kind);
        text_put(&r->memos[*n], &memo);
        (*n)++;
    }
    rc = rc < 0 ? rc : 0;
Exit:
    fg_buf_free(&public_id), fg_buf_free(&kind), fg_buf_free(&memo);
    return rc;
}

static void entry_text(entries_t *e, const fg_buf_t *src)
{
    fg_buf_append(&e->text, src->data, src->len);
    fg_buf_putc(&e->text, '\0');
}

/* The entries of one journal into e; *count of them. */
static int entries_read(fg_db_t *db, int64_t journal_id, entries_t *e, int *count)
{
    fg_buf_t code = FG_BUF_INIT, currency = FG_BUF_INIT;
    int64_t amount = 0;
    fg_stmt_t s;
    int rc, n = 0;
    fg_buf_reset(&e->text);
    if ((rc = fg_stmt_init(&s, db, SQL_ENTRIES)) != 0)
        goto Exit;
    fg_stmt_int(&s, journal_id);
    fg_stmt_out_text(&s, &code, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (n == e->cap) {
            e->cap = e->cap == 0 ? FG_JOURNAL_LINES_MAX : 2 * e->cap;
            e->rows = fg_realloc(e->rows, (size_t)e->cap * sizeof(*e->rows));
            e->text_at = fg_realloc(e->text_at, (size_t)e->cap * 2 * sizeof(*e->text_at));
        }
        e->text_at[2 * n] = e->text.len;
        entry_text(e, &code);
        e->text_at[2 * n + 1] = e->text.len;
        entry_text(e, &currency);
        e->rows[n++].amount = amount;
    }
    if (rc < 0)
        goto Exit;
    rc = 0;
    /* the text is whole now: it moves no more */
    for (int i = 0; i < n; i++) {
        e->rows[i].account = e->text.data + e->text_at[2 * i];
        e->rows[i].currency = e->text.data + e->text_at[2 * i + 1];
    }
    *count = n;
Exit:
    fg_buf_free(&code), fg_buf_free(&currency);
    return rc;
}

static const char *text_or_empty(const fg_buf_t *b) { return b->data != NULL ? b->data : ""; }

int fg_ledger_journals_page(fg_db_t *db, const fg_journal_query_t *q, fg_ledger_journal_fn fn, void *arg, int *more)
{
    journal_rows_t r;
    entries_t e = {NULL, NULL, 0, FG_BUF_INIT};
    int rc, n = 0;
    assert(q->limit >= 1 && q->limit <= FG_PAGE_LIMIT_MAX);
    *more = 0;
    journal_rows_init(&r, (size_t)q->limit + 1);
    if ((rc = journal_rows_read(db, q, &r, &n)) != 0)
        goto Exit;
    *more = n > q->limit;
    int shown = *more ? (int)q->limit : n;
    for (int i = 0; i < shown && rc == 0; i++) {
        fg_ledger_journal_t j = {
            .id = r.ids[i],
            .public_id = text_or_empty(&r.public_ids[i]),
            .kind = text_or_empty(&r.kinds[i]),
            .memo = text_or_empty(&r.memos[i]),
            .created_at_ms = r.created[i],
        };
        if ((rc = entries_read(db, j.id, &e, &j.entry_count)) == 0) {
            j.entries = e.rows;
            rc = fn(arg, &j);
        }
    }
Exit:
    journal_rows_free(&r);
    free(e.rows), free(e.text_at), fg_buf_free(&e.text);
    return rc;
}

void fg_ledger_journal_json(fg_buf_t *b, const fg_ledger_journal_t *j)
{
    char created[40];
    fg_time_format_rfc3339(j->created_at_ms, 0, created, sizeof(created));
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", j->public_id);
    fg_json_kv_str(b, 1, "kind", j->kind);
    fg_json_kv_str(b, 1, "memo", j->memo);
    fg_json_kv_str(b, 1, "created_at", created);
    fg_json_key(b, 1, "entries");
    fg_buf_putc(b, '[');
    for (int i = 0; i < j->entry_count; i++) {
        const fg_ledger_entry_t *e = &j->entries[i];
        fg_buf_puts(b, i > 0 ? ",{" : "{");
        fg_json_kv_str(b, 0, "account", e->account);
        fg_json_kv_str(b, 1, "currency", e->currency);
        fg_json_kv_int(b, 1, "debit", e->amount > 0 ? e->amount : 0);
        fg_json_kv_int(b, 1, "credit", e->amount < 0 ? -e->amount : 0);
        fg_buf_putc(b, '}');
    }
    fg_buf_putc(b, ']');
    fg_buf_putc(b, '}');
}
