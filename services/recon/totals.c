/*
 * totals.c - recon_day_totals, the reconciliation summary's counts per bank
 * account and business day (schema/0026, ledger/recon_counts.h).
 *
 * The table's triggers count every item change but one: the items of the
 * statement lines an import inserts, which the import adds here itself, one
 * row per day, from the rows its INSERT returns (fg_recon_totals_insert_items).
 *
 * The rebuild recounts one (account, day) per transaction and needs no
 * pause in the writes: it first locks the day's totals row (creating it if
 * need be), then counts the day's committed items.  A writer whose change is
 * not committed yet either holds that row already (its trigger or its import
 * ran first: the rebuild waits for it and then counts its items) or will
 * wait for the rebuild's commit to add its difference to the recount (its
 * items were not counted: uncommitted, under READ COMMITTED).  Either way
 * each change is counted once.
 */
#include "recon/recon_internal.h"

#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/money.h"
#include "ledger/recon_counts.h"

static const char SQL_ADD[] =
    "INSERT INTO recon_day_totals (account, business_day, " FG_RECON_COUNT_COLUMNS
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE items = items + VALUES(items), "
    "line_count = line_count + VALUES(line_count), credits = credits + VALUES(credits), debits = debits + "
    "VALUES(debits), matched = matched + VALUES(matched), suggested = suggested + VALUES(suggested), bank_only = "
    "bank_only + VALUES(bank_only), ledger_only = ledger_only + VALUES(ledger_only), amount_mismatch = "
    "amount_mismatch + VALUES(amount_mismatch), duplicate = duplicate + VALUES(duplicate), resolved = resolved + "
    "VALUES(resolved), open_items = open_items + VALUES(open_items)";

/* A statement's lines span a few days; an MT940 file of a year, a year of them. */
#define STATEMENT_DAYS_MAX 4000

typedef struct {
    char *account;
    int64_t day;
    int64_t n[FG_RECON_COUNTS_N];
} group_t;

static void groups_free(group_t *g, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(g[i].account);
    free(g);
}

/* Appends row (its account from account) to a growing list; FG_ETOOLONG at max. */
static int push_group(group_t **list, size_t *count, size_t *cap, size_t max, const group_t *row,
                      const fg_buf_t *account)
{
    if (*count == max)
        return FG_ETOOLONG;
    if (*count == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *list = fg_realloc(*list, *cap * sizeof(group_t));
    }
    (*list)[*count] = *row;
    (*list)[*count].account = fg_strdup(account->data != NULL ? account->data : "");
    (*count)++;
    return 0;
}

static int add_group(fg_db_t *db, const group_t *g)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_ADD);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, g->account);
    fg_stmt_int(&s, g->day);
    for (int k = 0; k < FG_RECON_COUNTS_N; k++)
        fg_stmt_int(&s, g->n[k]);
    return fg_stmt_exec(&s);
}

/* One returned item (bank_line, neither suggested nor resolved yet) counted into its day's group. */
static int count_item(group_t *g, int64_t amount, const fg_buf_t *state, const fg_buf_t *rule, int64_t *matched)
{
    enum { ITEMS, LINES, CREDITS, DEBITS, MATCHED, DUPLICATE = 9, OPEN = 11 };
    int is_matched = state->data != NULL && strcmp(state->data, "matched") == 0;
    g->n[ITEMS]++;
    g->n[LINES]++;
    /* a credit adds its amount to credits, a debit its size to debits (amounts are checked on import) */
    int64_t *side = &g->n[amount > 0 ? CREDITS : DEBITS];
    if (fg_money_add(*side, amount > 0 ? amount : -amount, side) != 0)
        return FG_EOVERFLOW;
    g->n[MATCHED] += is_matched;
    g->n[DUPLICATE] += state->data != NULL && strcmp(state->data, "duplicate") == 0;
    g->n[OPEN] += !is_matched;
    if (is_matched && rule->data != NULL && strcmp(rule->data, "reference") == 0 &&
        fg_money_add(*matched, amount, matched) != 0)
        return FG_EOVERFLOW;
    return 0;
}

int fg_recon_totals_insert_items(fg_db_t *db, fg_stmt_t *s, const char *account, int64_t *matched)
{
    fg_buf_t state = FG_BUF_INIT, rule = FG_BUF_INIT, name = FG_BUF_INIT;
    group_t *groups = NULL;
    size_t count = 0, cap = 0;
    int64_t day = 0, amount = 0;
    *matched = 0;
    fg_buf_puts(&name, account);
    fg_stmt_out_int(s, &day, NULL);
    fg_stmt_out_text(s, &state, NULL);
    fg_stmt_out_int(s, &amount, NULL);
    fg_stmt_out_text(s, &rule, NULL);
    fg_stmt_stream(s); /* a row per line: read as they come, a statement of any size in constant memory */
    int rc = fg_stmt_exec(s);
    if (rc != 0)
        goto Exit;
    size_t last = 0; /* a statement's lines come day after day: look at the last group first */
    while ((rc = fg_stmt_fetch(s)) == 1) {
        size_t i = last < count && groups[last].day == day ? last : count;
        for (size_t k = 0; i == count && k < count; k++)
            if (groups[k].day == day)
                i = k;
        if (i == count) {
            group_t row;
            memset(&row, 0, sizeof(row));
            row.day = day;
            /* FG_ETOOLONG: the import rolls back, no statement spans eleven years */
            if ((rc = push_group(&groups, &count, &cap, STATEMENT_DAYS_MAX, &row, &name)) != 0) {
                fg_stmt_done(s);
                goto Exit;
            }
        }
        last = i;
        if ((rc = count_item(&groups[i], amount, &state, &rule, matched)) != 0) {
            fg_stmt_done(s);
            goto Exit;
        }
    }
    if (rc < 0)
        goto Exit;
    rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = add_group(db, &groups[i]);
Exit:
    fg_buf_free(&state);
    fg_buf_free(&rule);
    fg_buf_free(&name);
    groups_free(groups, count);
    return rc;
}

/* ---- lines matched as stored (schema/0029) ----------------------------------------- */

static const char SQL_LINE_DAYS[] =
    "SELECT value_date, COUNT(*), SUM(amount) FROM statement_lines FORCE INDEX (ix_statement_lines_statement) "
    "WHERE statement_id = ? AND payment_id IS NOT NULL GROUP BY value_date";

/* Appends day (its lines and sum) to d; FG_ETOOLONG past a statement's days. */
static int line_days_append(fg_recon_line_days_t *d, int64_t day, int64_t lines, int64_t sum)
{
    if (d->count == STATEMENT_DAYS_MAX)
        return FG_ETOOLONG;
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->days = fg_realloc(d->days, d->cap * sizeof(*d->days));
    }
    d->days[d->count++] = (fg_recon_line_day_t){day, lines, sum};
    return 0;
}

int fg_recon_line_days_add(fg_recon_line_days_t *d, int64_t day, int64_t amount)
{
    /* a statement's lines come day after day: look at the last day first */
    size_t i = d->count > 0 && d->days[d->count - 1].day == day ? d->count - 1 : d->count;
    for (size_t k = 0; i == d->count && k < d->count; k++)
        if (d->days[k].day == day)
            i = k;
    int rc = i == d->count ? line_days_append(d, day, 0, 0) : 0;
    if (rc != 0)
        return rc;
    d->days[i].lines++;
    return fg_money_add(d->days[i].sum, amount, &d->days[i].sum) != 0 ? FG_EOVERFLOW : 0;
}

int fg_recon_line_days_read(fg_db_t *db, int64_t statement_id, fg_recon_line_days_t *d)
{
    fg_stmt_t s;
    int64_t day = 0, lines = 0, sum = 0;
    d->count = 0;
    int rc = fg_stmt_init(&s, db, SQL_LINE_DAYS);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, statement_id);
    fg_stmt_out_int(&s, &day, NULL);
    fg_stmt_out_int(&s, &lines, NULL);
    fg_stmt_out_int(&s, &sum, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        if ((rc = line_days_append(d, day, lines, sum)) != 0) {
            fg_stmt_done(&s);
            return rc;
        }
    return rc < 0 ? rc : 0;
}

int fg_recon_totals_add_lines(fg_db_t *db, const char *account, const fg_recon_line_days_t *d, int64_t *matched)
{
    enum { ITEMS, LINES, CREDITS, MATCHED = 4 };
    int rc = 0;
    for (size_t i = 0; i < d->count && rc == 0; i++) {
        group_t g;
        memset(&g, 0, sizeof(g));
        g.account = (char *)account; /* read only: add_group binds it */
        g.day = d->days[i].day;
        g.n[ITEMS] = g.n[LINES] = g.n[MATCHED] = d->days[i].lines;
        g.n[CREDITS] = d->days[i].sum;
        if (fg_money_add(*matched, d->days[i].sum, matched) != 0)
            return FG_EOVERFLOW;
        rc = add_group(db, &g);
    }
    return rc;
}

void fg_recon_line_days_free(fg_recon_line_days_t *d)
{
    free(d->days);
    memset(d, 0, sizeof(*d));
}

/* ---- rebuild -------------------------------------------------------------------- */

static const char SQL_DAYS[] = "SELECT account, business_day FROM recon_items GROUP BY account, business_day UNION "
                               "SELECT account, value_date FROM statement_lines WHERE payment_id IS NOT NULL GROUP BY "
                               "account, value_date UNION SELECT account, business_day FROM recon_day_totals";
static const char SQL_LOCK_DAY[] = "INSERT INTO recon_day_totals (account, business_day, " FG_RECON_COUNT_COLUMNS
                                   ") VALUES (?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) ON DUPLICATE KEY UPDATE "
                                   "items = items";
static const char SQL_HELD[] = "SELECT " FG_RECON_COUNT_COLUMNS
                               " FROM recon_day_totals WHERE account = ? AND business_day = ?";
static const char SQL_COUNT_DAY[] = "SELECT " FG_RECON_COUNTS(
    "") " FROM " FG_RECON_ALL_ITEMS("WHERE account = ? AND business_day = ?",
                                    "AND account = ? AND value_date = ?") " x";
static const char SQL_SET_DAY[] =
    "UPDATE recon_day_totals SET items = ?, line_count = ?, credits = ?, debits = ?, matched = ?, suggested = ?, "
    "bank_only = ?, ledger_only = ?, amount_mismatch = ?, duplicate = ?, resolved = ?, open_items = ? WHERE "
    "account = ? AND business_day = ?";
static const char SQL_DROP_DAY[] = "DELETE FROM recon_day_totals WHERE account = ? AND business_day = ?";

/* A city's accounts over decades of days. */
#define REBUILD_DAYS_MAX 1000000

typedef struct {
    const group_t *day;
    int corrected;
} recount_t;

static int read_counts(fg_db_t *db, const char *sql, int keys, const group_t *day, int64_t n[FG_RECON_COUNTS_N])
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    for (int i = 0; i < keys; i++) { /* SQL_COUNT_DAY names the day twice: its items, its lines */
        fg_stmt_cstr(&s, day->account);
        fg_stmt_int(&s, day->day);
    }
    for (int k = 0; k < FG_RECON_COUNTS_N; k++) {
        n[k] = 0;
        fg_stmt_out_int(&s, &n[k], NULL); /* SUM over no rows is NULL: 0 */
    }
    return fg_stmt_one(&s);
}

static int recount_tx(fg_db_t *db, void *arg)
{
    recount_t *r = arg;
    fg_stmt_t s;
    int64_t held[FG_RECON_COUNTS_N], counted[FG_RECON_COUNTS_N];
    r->corrected = 0;
    int rc = fg_stmt_init(&s, db, SQL_LOCK_DAY);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, r->day->account);
    fg_stmt_int(&s, r->day->day);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = read_counts(db, SQL_HELD, 1, r->day, held)) != 0 ||
        (rc = read_counts(db, SQL_COUNT_DAY, 2, r->day, counted)) != 0)
        return rc;
    if (counted[0] == 0) { /* no item on this day (any more): no row */
        r->corrected = held[0] != 0 || memcmp(held, counted, sizeof(held)) != 0;
        if ((rc = fg_stmt_init(&s, db, SQL_DROP_DAY)) != 0)
            return rc;
        fg_stmt_cstr(&s, r->day->account);
        fg_stmt_int(&s, r->day->day);
        return fg_stmt_exec(&s);
    }
    if (memcmp(held, counted, sizeof(held)) == 0)
        return 0;
    r->corrected = 1;
    if ((rc = fg_stmt_init(&s, db, SQL_SET_DAY)) != 0)
        return rc;
    for (int k = 0; k < FG_RECON_COUNTS_N; k++)
        fg_stmt_int(&s, counted[k]);
    fg_stmt_cstr(&s, r->day->account);
    fg_stmt_int(&s, r->day->day);
    return fg_stmt_exec(&s);
}

int fg_recon_totals_rebuild(fg_db_t *db, int64_t *days, int64_t *corrected)
{
    fg_stmt_t s;
    fg_buf_t account = FG_BUF_INIT;
    group_t row, *list = NULL;
    size_t count = 0, cap = 0;
    *days = *corrected = 0;
    memset(&row, 0, sizeof(row));
    int rc = fg_stmt_init(&s, db, SQL_DAYS);
    if (rc != 0)
        return rc;
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_int(&s, &row.day, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if ((rc = push_group(&list, &count, &cap, REBUILD_DAYS_MAX, &row, &account)) != 0) {
            fg_stmt_done(&s);
            goto Exit;
        }
    }
    if (rc < 0)
        goto Exit;
    rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        recount_t r = {&list[i], 0};
        if ((rc = fg_db_tx(db, recount_tx, &r)) == 0) {
            (*days)++;
            *corrected += r.corrected;
        }
    }
Exit:
    fg_buf_free(&account);
    groups_free(list, count);
    return rc;
}
