/*
 * owed.c - the outstanding report's sums (schema/0027, ledger/owed_sql.h):
 * the sweeper's fold of owed_changes into owed_totals, and the recount of
 * `feegate reports rebuild`.
 *
 * A fold, in one transaction: lock the 'owed' row of report_watermarks (so
 * folds and recounts take turns), read the oldest committed changes (a
 * non-locking read: a change whose order write has not committed is not
 * seen, and waits for a later fold), add them to owed_totals key by key, and
 * delete exactly those rows.  A change is folded once: deleted in the
 * transaction that adds it; a reader sees it either in owed_changes or in
 * owed_totals, never in both.
 *
 * A recount, one merchant per transaction, at REPEATABLE READ (fg_db_tx_repeatable): lock the
 * 'owed' row, then read the merchant's owing orders with a locking read
 * (next-key locks on its open and partially paid orders: until the recount
 * commits no order of the merchant can start or stop owing, or owe another
 * amount, and every writer that had touched one has committed, its change
 * with it), then replace the merchant's sums by that count and delete its
 * changes.
 */
#include "reports/reports_internal.h"

#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/money.h"
#include "ledger/owed_sql.h"

static const char SQL_TURN[] = "SELECT upto_entry_id FROM report_watermarks WHERE name = 'owed' FOR UPDATE";
static const char SQL_CHANGES[] =
    "SELECT id, merchant_id, fee_type, category, due_day, currency, orders, owed FROM owed_changes ORDER BY id LIMIT ?";
static const char SQL_ADD[] =
    "INSERT INTO owed_totals (merchant_id, fee_type, category, due_day, currency, orders, owed) VALUES (?, ?, ?, ?, ?, "
    "?, ?) "
    "ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders), owed = owed + VALUES(owed)";
static const char SQL_DROP_EMPTY[] = "DELETE FROM owed_totals WHERE merchant_id = ? AND fee_type = ? AND category = ? "
                                     "AND due_day = ? AND currency = ? AND orders = 0 AND owed = 0";
static const char SQL_DELETE_RANGE[] = "DELETE FROM owed_changes WHERE id BETWEEN ? AND ?";

/* a category of 64 characters of up to 4 bytes, NUL included */
#define CATEGORY_CAP (64 * 4 + 1)
#define FEE_TYPE_CAP 17
/* an ISO 4217 code, NUL included */
#define CURRENCY_CAP 4

typedef struct {
    int64_t id, merchant_id, due_day, orders, owed;
    char fee_type[FEE_TYPE_CAP];
    char category[CATEGORY_CAP];
    char currency[CURRENCY_CAP];
} sum_t;

static void copy_text(char *dst, size_t cap, const fg_buf_t *b)
{
    size_t n = b->data != NULL ? b->len : 0;
    if (n >= cap)
        n = cap - 1; /* the columns are narrower than cap: never taken */
    if (n > 0)
        memcpy(dst, b->data, n);
    dst[n] = '\0';
}

static int cmp_key(const void *pa, const void *pb)
{
    const sum_t *a = pa, *b = pb;
    if (a->merchant_id != b->merchant_id)
        return a->merchant_id < b->merchant_id ? -1 : 1;
    int c = strcmp(a->fee_type, b->fee_type);
    if (c == 0)
        c = strcmp(a->category, b->category);
    if (c == 0 && a->due_day != b->due_day)
        c = a->due_day < b->due_day ? -1 : 1;
    if (c == 0)
        c = strcmp(a->currency, b->currency);
    return c;
}

static int same_key(const sum_t *a, const sum_t *b) { return cmp_key(a, b) == 0; }

/* Sorts rows by key and sums each key's rows into its first: the count of keys. */
static int sum_by_key(sum_t *rows, size_t n, size_t *keys)
{
    if (n > 1)
        qsort(rows, n, sizeof(sum_t), cmp_key);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && same_key(&rows[k - 1], &rows[i])) {
            if (fg_money_add(rows[k - 1].orders, rows[i].orders, &rows[k - 1].orders) != 0 ||
                fg_money_add(rows[k - 1].owed, rows[i].owed, &rows[k - 1].owed) != 0)
                return FG_EOVERFLOW;
            continue;
        }
        rows[k++] = rows[i];
    }
    *keys = k;
    return 0;
}

static int bind_key(fg_stmt_t *s, fg_db_t *db, const char *sql, const sum_t *r)
{
    int rc = fg_stmt_init(s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(s, r->merchant_id);
    fg_stmt_cstr(s, r->fee_type);
    fg_stmt_cstr(s, r->category);
    fg_stmt_int(s, r->due_day);
    fg_stmt_cstr(s, r->currency);
    return 0;
}

/* Adds a key's sums to owed_totals; a key that comes to nothing loses its row. */
static int add_sum(fg_db_t *db, const sum_t *r)
{
    fg_stmt_t s;
    int rc = bind_key(&s, db, SQL_ADD, r);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, r->orders);
    fg_stmt_int(&s, r->owed);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = bind_key(&s, db, SQL_DROP_EMPTY, r)) != 0)
        return rc;
    return fg_stmt_exec(&s);
}

static int take_turn(fg_db_t *db)
{
    int64_t unused = 0;
    return fg_db_one_int(db, SQL_TURN, &unused);
}

/* A growing list of rows. */
typedef struct {
    sum_t *rows;
    size_t count, cap;
} sums_t;

/* Reads the rows of s (bound with its parameters; its columns: [id,] merchant_id, fee_type,
 * category, due_day, currency, orders, owed) into out, at most max: FG_ETOOLONG past it. */
static int read_rows(fg_stmt_t *s, int with_id, size_t max, sums_t *out)
{
    fg_buf_t fee_type = FG_BUF_INIT, category = FG_BUF_INIT, currency = FG_BUF_INIT;
    sum_t r;
    memset(&r, 0, sizeof(r));
    out->count = 0;
    if (with_id)
        fg_stmt_out_int(s, &r.id, NULL);
    fg_stmt_out_int(s, &r.merchant_id, NULL);
    fg_stmt_out_text(s, &fee_type, NULL);
    fg_stmt_out_text(s, &category, NULL);
    fg_stmt_out_int(s, &r.due_day, NULL);
    fg_stmt_out_text(s, &currency, NULL);
    fg_stmt_out_int(s, &r.orders, NULL);
    fg_stmt_out_int(s, &r.owed, NULL);
    int rc = fg_stmt_exec(s);
    if (rc != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(s)) == 1) {
        if (out->count == max) {
            fg_stmt_done(s);
            rc = FG_ETOOLONG;
            break;
        }
        if (out->count == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 16;
            out->rows = fg_realloc(out->rows, out->cap * sizeof(sum_t));
        }
        copy_text(r.fee_type, sizeof(r.fee_type), &fee_type);
        copy_text(r.category, sizeof(r.category), &category);
        copy_text(r.currency, sizeof(r.currency), &currency);
        out->rows[out->count++] = r;
    }
Exit:
    fg_buf_free(&fee_type);
    fg_buf_free(&category);
    fg_buf_free(&currency);
    return rc < 0 ? rc : 0;
}

/* ---- fold ------------------------------------------------------------------------- */

typedef struct {
    int64_t batch, folded;
    sums_t changes;
} fold_t;

static int delete_ranges(fg_db_t *db, const sum_t *rows, size_t n)
{
    /* rows in id order: each run of consecutive ids is one range, and holds
     * no id that was not read (an id between two read ones would break the run) */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && rows[j].id == rows[j - 1].id + 1)
            j++;
        fg_stmt_t s;
        int rc = fg_stmt_init(&s, db, SQL_DELETE_RANGE);
        if (rc != 0)
            return rc;
        fg_stmt_int(&s, rows[i].id);
        fg_stmt_int(&s, rows[j - 1].id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        if (fg_stmt_affected(&s) != (uint64_t)(j - i))
            return FG_ERETRY; /* gone meanwhile: not possible while the turn is held; read them again */
        i = j;
    }
    return 0;
}

static int fold_tx(fg_db_t *db, void *arg)
{
    fold_t *f = arg;
    f->folded = 0;
    int rc = take_turn(db);
    if (rc != 0)
        return rc == FG_ENOTFOUND ? FG_EDB : rc;
    fg_stmt_t s;
    size_t keys = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_CHANGES)) != 0)
        return rc;
    fg_stmt_int(&s, f->batch); /* LIMIT ?: never more than batch rows */
    sums_t *c = &f->changes;
    if ((rc = read_rows(&s, 1, (size_t)f->batch, c)) != 0 || c->count == 0)
        return rc;
    if ((rc = delete_ranges(db, c->rows, c->count)) != 0 || (rc = sum_by_key(c->rows, c->count, &keys)) != 0)
        return rc;
    for (size_t i = 0; i < keys && rc == 0; i++)
        rc = add_sum(db, &c->rows[i]);
    if (rc == 0)
        f->folded = (int64_t)c->count;
    return rc;
}

int fg_report_owed_fold(fg_db_t *db, int64_t batch, int64_t *folded)
{
    *folded = 0;
    if (batch <= 0 || batch > FG_OWED_FOLD_BATCH)
        return FG_EINVALID;
    fold_t f;
    memset(&f, 0, sizeof(f));
    f.batch = batch;
    int rc = fg_db_tx(db, fold_tx, &f);
    if (rc == 0)
        *folded = f.folded;
    free(f.changes.rows);
    return rc;
}

/* ---- recount ---------------------------------------------------------------------- */

static const char SQL_MERCHANTS[] = "SELECT id FROM merchants WHERE id > ? ORDER BY id LIMIT 1";
/* what the merchant's orders owe, key by key, each owing order locked (and the gaps between) */
static const char SQL_COUNT[] =
    "SELECT " FG_OWED_KEY("") ", COUNT(*), SUM(amount - amount_paid) FROM orders "
                              "FORCE INDEX (ix_orders_merchant_status) WHERE merchant_id = ? AND status IN "
                              "('open', 'partially_paid') AND amount > amount_paid GROUP BY 1, 2, 3, 4, 5 "
                              "ORDER BY 1, 2, 3, 4, 5 LOCK IN SHARE MODE";
/* what the sums say of it: owed_totals and the changes not yet folded */
static const char SQL_HELD[] =
    "SELECT merchant_id, fee_type, category, due_day, currency, SUM(orders), SUM(owed) FROM (SELECT merchant_id, "
    "fee_type, category, due_day, currency, orders, owed FROM owed_totals WHERE merchant_id = ? UNION ALL SELECT "
    "merchant_id, fee_type, category, due_day, currency, orders, owed FROM owed_changes WHERE merchant_id = ?) x "
    "GROUP BY 1, 2, 3, 4, 5 HAVING SUM(orders) <> 0 OR SUM(owed) <> 0 ORDER BY 1, 2, 3, 4, 5";
static const char SQL_CLEAR_TOTALS[] = "DELETE FROM owed_totals WHERE merchant_id = ?";
static const char SQL_CLEAR_CHANGES[] = "DELETE FROM owed_changes WHERE merchant_id = ?";

/* One merchant's keys: its fee types, categories, due days and currencies with orders owing. */
#define RECOUNT_KEYS_MAX 1000000

static int read_sums(fg_db_t *db, const char *sql, int64_t merchant_id, int twice, sums_t *out)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, merchant_id);
    if (twice)
        fg_stmt_int(&s, merchant_id);
    if ((rc = read_rows(&s, 0, RECOUNT_KEYS_MAX, out)) == 0 && out->count > 1)
        qsort(out->rows, out->count, sizeof(sum_t), cmp_key); /* the server's order and ours may differ */
    return rc;
}

typedef struct {
    int64_t merchant_id;
    int corrected;
    sums_t counted, held;
} recount_t;

static int same_sums(const sums_t *a, const sums_t *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (!same_key(&a->rows[i], &b->rows[i]) || a->rows[i].orders != b->rows[i].orders ||
            a->rows[i].owed != b->rows[i].owed)
            return 0;
    return 1;
}

static int clear_merchant(fg_db_t *db, const char *sql, int64_t merchant_id)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, merchant_id);
    return fg_stmt_exec(&s);
}

static int recount_tx(fg_db_t *db, void *arg)
{
    recount_t *r = arg;
    r->corrected = 0;
    int rc = take_turn(db);
    if (rc != 0)
        return rc == FG_ENOTFOUND ? FG_EDB : rc;
    if ((rc = read_sums(db, SQL_COUNT, r->merchant_id, 0, &r->counted)) != 0 ||
        (rc = read_sums(db, SQL_HELD, r->merchant_id, 1, &r->held)) != 0)
        return rc;
    if (same_sums(&r->counted, &r->held))
        return 0;
    r->corrected = 1;
    if ((rc = clear_merchant(db, SQL_CLEAR_CHANGES, r->merchant_id)) != 0 ||
        (rc = clear_merchant(db, SQL_CLEAR_TOTALS, r->merchant_id)) != 0)
        return rc;
    for (size_t i = 0; i < r->counted.count && rc == 0; i++)
        rc = add_sum(db, &r->counted.rows[i]);
    return rc;
}

static int next_merchant(fg_db_t *db, int64_t after, int64_t *id)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_MERCHANTS);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, after);
    fg_stmt_out_int(&s, id, NULL);
    rc = fg_stmt_one(&s);
    fg_db_end(db);
    return rc;
}

int fg_report_owed_rebuild(fg_db_t *db, int64_t *merchants, int64_t *corrected)
{
    recount_t r;
    memset(&r, 0, sizeof(r));
    *merchants = *corrected = 0;
    int64_t id = 0;
    int rc;
    while ((rc = next_merchant(db, id, &id)) == 0) {
        r.merchant_id = id;
        if ((rc = fg_db_tx_repeatable(db, recount_tx, &r)) != 0)
            break;
        (*merchants)++;
        *corrected += r.corrected;
    }
    free(r.counted.rows);
    free(r.held.rows);
    return rc == FG_ENOTFOUND ? 0 : rc;
}
