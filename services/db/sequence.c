/*
 * sequence.c - numbering committed changes and events (db.h, "the change
 * sequence"): a pass, run by the sequencer (services/changes/) in a
 * transaction of its own, or by a transaction that numbers its own rows at
 * COMMIT and first numbers those in sight (defer.c).
 *
 * A pass locks the sequencer's row, reads the rows that have no seq with a
 * plain (non-locking) read, which under READ COMMITTED sees committed rows
 * only (and the transaction's own), numbers them after last_seq in id
 * order and stores the new last_seq.  The row lock makes passes one at a
 * time, so the numbers a pass hands out are all above those of every pass
 * before it, and a pass commits all of its numbers at once.  A row whose
 * transaction is still open is invisible to the pass and gets a higher
 * number from a later one.  On Galera the lock is local to a node; two
 * nodes' passes then both update the sequencer's row, and certification
 * fails one of them (a deadlock error, re-run by fg_db_tx).
 */
#include "db/db.h"

#include <stdio.h>
#include "core/text.h"

static const char SQL_LOCK[] = "SELECT last_seq FROM change_sequencer WHERE id = 1 FOR UPDATE";
static const char SQL_LOCK_SKIP[] = "SELECT last_seq FROM change_sequencer WHERE id = 1 FOR UPDATE SKIP LOCKED";
/* Through ix_*_seq: the rows without a number sit at its NULL end, in id
 * order.  A change's row comes with the public ids the feed shows (its
 * merchant's, and its parent's: a payment's order, a refund's or an item's
 * payment, a statement's import), read here, once, without locks. */
static const char SQL_CHANGES_WAITING[] =
    "SELECT c.id, m.public_id, COALESCE(o.public_id, p.public_id, i.public_id) "
    "FROM change_log c FORCE INDEX (ix_change_log_seq) LEFT JOIN merchants m ON m.id = c.merchant_id "
    "LEFT JOIN orders o ON c.entity = 'payment' AND o.id = c.parent_id "
    "LEFT JOIN payments p ON c.entity IN ('refund', 'recon_item') AND p.id = c.parent_id "
    "LEFT JOIN statement_imports i ON c.entity = 'statement' AND i.id = c.parent_id "
    "WHERE c.seq IS NULL ORDER BY c.id LIMIT ?";
static const char SQL_EVENTS_WAITING[] = "SELECT id, NULL, NULL FROM events WHERE seq IS NULL ORDER BY id LIMIT ?";
/* The rows, a JSON array of [id, merchant, parent], drive the join: every
 * row is found by its primary key and no other is read, so no row of a
 * transaction still open is ever waited for. */
static const char SQL_NUMBER_CHANGES[] =
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (n FOR ORDINALITY, rid BIGINT UNSIGNED PATH '$[0]', "
    "merchant VARCHAR(40) PATH '$[1]', parent VARCHAR(40) PATH '$[2]')) j "
    "STRAIGHT_JOIN change_log c ON c.id = j.rid SET c.seq = ? + j.n, c.merchant_public_id = j.merchant, "
    "c.parent_public_id = j.parent WHERE c.seq IS NULL";
static const char SQL_NUMBER_EVENTS[] =
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (n FOR ORDINALITY, rid BIGINT UNSIGNED PATH '$[0]')) j "
    "STRAIGHT_JOIN events e ON e.id = j.rid SET e.seq = ? + j.n WHERE e.seq IS NULL";
static const char SQL_ADVANCE[] = "UPDATE change_sequencer SET last_seq = ?, updated_at = ? WHERE id = 1";
typedef struct {
    int skip_locked;
    int numbered;
    fg_buf_t ids;
} pass_t;

/* Appends ",<a public id as a JSON string>" or ",null". */
static void json_id(fg_buf_t *b, const fg_buf_t *id, int is_null)
{
    fg_buf_putc(b, ',');
    if (is_null)
        fg_buf_puts(b, "null");
    else
        fg_json_str(b, id->data != NULL ? id->data : "", id->len);
}

/* Reads up to FG_DB_SEQUENCE_BATCH rows of sql (id, merchant's and parent's
 * public ids) into p->ids as a JSON array of [id, merchant, parent]; *count
 * is how many. */
static int waiting_rows(fg_db_t *db, const char *sql, pass_t *p, int *count)
{
    fg_stmt_t s;
    int64_t id = 0;
    fg_buf_t merchant = FG_BUF_INIT, parent = FG_BUF_INIT;
    int merchant_null = 1, parent_null = 1;
    *count = 0;
    fg_buf_reset(&p->ids);
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, FG_DB_SEQUENCE_BATCH);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &merchant, &merchant_null);
    fg_stmt_out_text(&s, &parent, &parent_null);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        fg_buf_putc(&p->ids, '[');
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            fg_buf_printf(&p->ids, "%s[%lld", (*count)++ > 0 ? "," : "", (long long)id);
            json_id(&p->ids, &merchant, merchant_null);
            json_id(&p->ids, &parent, parent_null);
            fg_buf_putc(&p->ids, ']');
        }
        fg_buf_putc(&p->ids, ']');
    }
    fg_buf_free(&merchant);
    fg_buf_free(&parent);
    return rc < 0 ? rc : 0;
}

/* Numbers the rows of one table after *last; moves *last past them. */
static int number_table(fg_db_t *db, const char *waiting, const char *number, pass_t *p, int64_t *last)
{
    fg_stmt_t s;
    int count = 0;
    int rc = waiting_rows(db, waiting, p, &count);
    if (rc != 0 || count == 0)
        return rc;
    if ((rc = fg_stmt_init(&s, db, number)) != 0)
        return rc;
    fg_stmt_str(&s, p->ids.data, p->ids.len);
    fg_stmt_int(&s, *last);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    /* Under the sequencer's lock nobody else numbers these rows, and a
     * committed row cannot vanish (change_log refuses DELETE): a shortfall
     * means the lock did not hold, and the pass must not commit. */
    if (fg_stmt_affected(&s) != (uint64_t)count)
        return FG_ERETRY;
    *last += count;
    p->numbered += count;
    return 0;
}

/* The pass's statements after the lock; p->numbered counts the rows. */
static int pass_locked(fg_db_t *db, pass_t *p, int64_t last)
{
    fg_stmt_t s;
    int64_t start = last;
    int rc;
    if ((rc = number_table(db, SQL_CHANGES_WAITING, SQL_NUMBER_CHANGES, p, &last)) != 0 ||
        (rc = number_table(db, SQL_EVENTS_WAITING, SQL_NUMBER_EVENTS, p, &last)) != 0 || last == start)
        return rc;
    if ((rc = fg_stmt_init(&s, db, SQL_ADVANCE)) != 0)
        return rc;
    fg_stmt_int(&s, last);
    fg_stmt_int(&s, fg_now_ms());
    return fg_stmt_exec(&s);
}

int fg_db_sequence_pass_in(fg_db_t *db, int skip_locked, int *numbered)
{
    pass_t p = {skip_locked, 0, FG_BUF_INIT};
    int64_t last = 0;
    *numbered = 0;
    int rc = fg_db_one_int(db, skip_locked ? SQL_LOCK_SKIP : SQL_LOCK, &last);
    if (rc != 0)
        return rc == FG_ENOTFOUND && skip_locked ? 0 : rc; /* another pass holds it */
    rc = pass_locked(db, &p, last);
    fg_buf_free(&p.ids);
    *numbered = p.numbered;
    return rc;
}

int fg_db_sequence_last(fg_db_t *db, int64_t *last)
{
    static const char SQL[] = "SELECT last_seq FROM change_sequencer WHERE id = 1";
    *last = 0;
    int rc = fg_db_one_int(db, SQL, last);
    return rc == FG_ENOTFOUND ? FG_EDB : rc; /* migration 0016 wrote the row */
}

int fg_db_sequence_waiting(fg_db_t *db)
{
    static const char SQL[] = "SELECT EXISTS (SELECT 1 FROM change_log WHERE seq IS NULL) "
                              "OR EXISTS (SELECT 1 FROM events WHERE seq IS NULL)";
    int64_t any = 0;
    int rc = fg_db_one_int(db, SQL, &any);
    if (rc != 0)
        return rc == FG_ENOTFOUND ? FG_EDB : rc; /* an EXISTS always has its row */
    return any != 0;
}
