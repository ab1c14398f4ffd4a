/*
 * defer.c - inserts a transaction may defer (see db.h): the queue, and the
 * multi-row INSERTs that send it just before COMMIT.
 */
#include "db/db_internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BINDS_MAX (FG_DB_ROWS_MAX * FG_DB_COLS_MAX)

static pthread_mutex_t sql_mutex = PTHREAD_MUTEX_INITIALIZER;

fg_db_value_t fg_db_cstr(const char *s) { return s != NULL ? FG_DB_STR(s, strlen(s)) : FG_DB_NULLV; }
fg_db_value_t fg_db_int_or_null(const int64_t *v) { return v != NULL ? FG_DB_INT(*v) : FG_DB_NULLV; }

void fg_db_defer(fg_db_t *db, int on)
{
    assert(db->queue.row_count == 0 && "switch deferral between transactions only");
    db->queue.deferring = on;
}

int fg_db_deferring(const fg_db_t *db) { return db->queue.deferring; }

/* How many of n rows one statement sends: all of them up to
 * FG_DB_ROWS_EXACT, else the largest of 64, 32 or 16 that fits, so that a
 * table has at most FG_DB_ROWS_EXACT + 2 statement texts per connection. */
static int chunk(const fg_db_table_t *t, int n)
{
    int most = BINDS_MAX / t->cols < FG_DB_ROWS_MAX ? BINDS_MAX / t->cols : FG_DB_ROWS_MAX;
    if (n <= FG_DB_ROWS_EXACT || n <= 0)
        return n < most ? n : most;
    for (int size = FG_DB_ROWS_MAX; size > FG_DB_ROWS_EXACT; size /= 2)
        if (size <= n && size <= most)
            return size;
    return FG_DB_ROWS_EXACT < most ? FG_DB_ROWS_EXACT : most;
}

/* The statement for n rows of t, built once per process; the text lives as
 * long as the process, so its pointer keys the statement cache. */
static const char *sql_of(fg_db_table_t *t, int n)
{
    /* every insert asks: built once, then read without the lock */
    const char *sql = __atomic_load_n(&t->sql[n - 1], __ATOMIC_ACQUIRE);
    if (sql != NULL)
        return sql;
    pthread_mutex_lock(&sql_mutex);
    if (t->sql[n - 1] == NULL) {
        fg_buf_t b = FG_BUF_INIT;
        fg_buf_puts(&b, t->insert);
        for (int i = 0; i < n; i++) {
            if (i > 0)
                fg_buf_puts(&b, ", ");
            fg_buf_puts(&b, t->row);
        }
        if (t->returns_id)
            fg_buf_puts(&b, " RETURNING id");
        __atomic_store_n(&t->sql[n - 1], fg_buf_steal(&b, NULL), __ATOMIC_RELEASE);
    }
    sql = t->sql[n - 1];
    pthread_mutex_unlock(&sql_mutex);
    return sql;
}

struct fg_db_binds {
    MYSQL_BIND binds[BINDS_MAX];
    long long ints[BINDS_MAX];
    unsigned long lens[BINDS_MAX];
};
typedef fg_db_binds_t binds_t;

/* The id a FG_DB_V_ID value stands for: a sent id, or a queued row's. */
static int64_t resolve(const fg_db_t *db, int64_t id)
{
    if (id >= 0)
        return id;
    const fg_db_queued_t *q = &db->queue.rows[-id - 1];
    assert(q->table->returns_id && q->id > 0 && "a child row is sent after its parent");
    return q->id;
}

static void bind_value(const fg_db_t *db, binds_t *b, int i, const fg_db_value_t *v)
{
    MYSQL_BIND *m = &b->binds[i];
    memset(m, 0, sizeof(*m));
    switch (v->type) {
    case FG_DB_V_NULL: m->buffer_type = MYSQL_TYPE_NULL; return;
    case FG_DB_V_INT:
    case FG_DB_V_ID:
        b->ints[i] = v->type == FG_DB_V_ID ? resolve(db, v->i) : v->i;
        m->buffer_type = MYSQL_TYPE_LONGLONG;
        m->buffer = &b->ints[i];
        return;
    default: {
        /* a queued string lives in the queue's text, at offset i */
        const char *s = v->s != NULL ? v->s : v->len == 0 ? "" : db->queue.text.data + v->i;
        b->lens[i] = v->len;
        m->buffer_type = v->type == FG_DB_V_BLOB ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
        m->buffer = (void *)s;
        m->buffer_length = v->len;
        m->length = &b->lens[i];
        return;
    }
    }
}

static int fail(fg_db_t *db, MYSQL_STMT *st)
{
    fg_db__remember_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
    return fg_db__classify(db, db->last_errno);
}

/* Executes the statement for rows rows[0..n) (n <= chunk), each given by
 * its values; ids[] receives their AUTO_INCREMENT ids in order (the last
 * insert id when the table returns none). */
static int send_rows(fg_db_t *db, fg_db_table_t *t, int n, const fg_db_value_t *const *rows, int64_t *ids)
{
    if (db->queue.binds == NULL) /* large: allocated once per connection */
        db->queue.binds = fg_malloc(sizeof(*db->queue.binds));
    binds_t *b = db->queue.binds;
    if (fg_db_ensure(db) != 0)
        return FG_EUNAVAILABLE;
    MYSQL_STMT *st = fg_db__cached(db, sql_of(t, n));
    if (st == NULL)
        return fg_db__classify(db, db->last_errno); /* a prepare can meet a deadlock too (Galera) */
    for (int r = 0; r < n; r++)
        for (int c = 0; c < t->cols; c++)
            bind_value(db, b, r * t->cols + c, &rows[r][c]);
    assert(mysql_stmt_param_count(st) == (unsigned long)(n * t->cols));
    if (mysql_stmt_bind_param(st, b->binds) != 0 || FG_DB_AWAIT(db, mysql_stmt_execute(st)) != 0)
        return fail(db, st);
    if (!t->returns_id) {
        ids[0] = (int64_t)mysql_stmt_insert_id(st);
        return 0;
    }
    long long id = 0;
    MYSQL_BIND out;
    memset(&out, 0, sizeof(out));
    out.buffer_type = MYSQL_TYPE_LONGLONG;
    out.buffer = &id;
    int got = 0, rc = 0;
    if (FG_DB_AWAIT(db, mysql_stmt_store_result(st)) != 0 || mysql_stmt_bind_result(st, &out) != 0)
        return fail(db, st);
    while ((rc = mysql_stmt_fetch(st)) == 0)
        if (got < n)
            ids[got++] = id;
    mysql_stmt_free_result(st);
    if (rc != MYSQL_NO_DATA)
        return fail(db, st);
    if (got != n) {
        fg_db__remember_error(db, 0, "multi-row INSERT returned fewer ids than rows");
        return FG_EDB;
    }
    return 0;
}

static void queue_row(fg_db_t *db, fg_db_table_t *t, const fg_db_value_t *values, int64_t *id)
{
    fg_db_queue_t *q = &db->queue;
    if (q->row_count == q->row_cap) {
        q->row_cap = q->row_cap > 0 ? q->row_cap * 2 : 32;
        q->rows = fg_realloc(q->rows, (size_t)q->row_cap * sizeof(*q->rows));
    }
    while (q->value_count + t->cols > q->value_cap) {
        q->value_cap = q->value_cap > 0 ? q->value_cap * 2 : 256;
        q->values = fg_realloc(q->values, (size_t)q->value_cap * sizeof(*q->values));
    }
    fg_db_queued_t *row = &q->rows[q->row_count];
    row->table = t;
    row->first_value = q->value_count;
    row->id = 0;
    for (int c = 0; c < t->cols; c++) {
        fg_db_value_t v = values[c];
        if (v.type == FG_DB_V_STR || v.type == FG_DB_V_BLOB) {
            v.i = (int64_t)q->text.len;
            fg_buf_append(&q->text, v.s != NULL ? v.s : "", v.len);
            v.s = NULL;
        }
        assert(v.type != FG_DB_V_ID || v.i > 0 || -v.i <= q->row_count);
        q->values[q->value_count++] = v;
    }
    q->row_count++;
    if (id != NULL)
        *id = -(int64_t)q->row_count; /* the row's index + 1, negated */
}

/* Sends n rows at once, in chunks. */
static int send_now(fg_db_t *db, fg_db_table_t *t, const fg_db_value_t *values, int n, int64_t *id)
{
    const fg_db_value_t *rows[FG_DB_ROWS_MAX];
    int64_t ids[FG_DB_ROWS_MAX];
    for (int done = 0; done < n;) {
        int c = chunk(t, n - done);
        for (int r = 0; r < c; r++)
            rows[r] = values + (size_t)(done + r) * (size_t)t->cols;
        int rc = send_rows(db, t, c, rows, ids);
        if (rc != 0)
            return rc;
        if (id != NULL)
            for (int r = 0; r < (t->returns_id ? c : 1); r++)
                id[done + r] = ids[r];
        done += c;
    }
    return 0;
}

int fg_db_insert(fg_db_t *db, fg_db_table_t *t, const fg_db_value_t *values, int n, int64_t *id)
{
    assert(t->cols > 0 && t->cols <= FG_DB_COLS_MAX && n > 0);
    if (!db->queue.deferring)
        return send_now(db, t, values, n, id);
    for (int r = 0; r < n; r++)
        queue_row(db, t, values + (size_t)r * (size_t)t->cols, id != NULL ? &id[r] : NULL);
    return 0;
}

/* The queued value v as bytes, for comparing: a string's text, an int's value. */
static int same_value(const fg_db_t *db, const fg_db_value_t *queued, const fg_db_value_t *v)
{
    if (queued->type != v->type)
        return 0;
    if (v->type == FG_DB_V_NULL)
        return 1;
    if (v->type != FG_DB_V_STR && v->type != FG_DB_V_BLOB)
        return queued->i == v->i;
    const char *s = v->s != NULL ? v->s : "";
    return queued->len == v->len && (v->len == 0 || memcmp(db->queue.text.data + queued->i, s, v->len) == 0);
}

int fg_db_insert_adding(fg_db_t *db, fg_db_table_t *t, const fg_db_value_t *values, int key_cols)
{
    assert(t->cols > 0 && t->cols <= FG_DB_COLS_MAX && key_cols >= 0 && key_cols < t->cols && !t->returns_id);
    for (int c = key_cols; c < t->cols; c++)
        assert(values[c].type == FG_DB_V_INT && "only INT values are added");
    if (!db->queue.deferring)
        return send_now(db, t, values, 1, NULL);
    fg_db_queue_t *q = &db->queue;
    for (int r = 0; r < q->row_count; r++) {
        if (q->rows[r].table != t || q->rows[r].id != 0) /* another table's, or sent already */
            continue;
        fg_db_value_t *row = &q->values[q->rows[r].first_value];
        int c = 0;
        while (c < key_cols && same_value(db, &row[c], &values[c]))
            c++;
        if (c < key_cols)
            continue;
        int64_t sums[FG_DB_COLS_MAX];
        for (; c < t->cols; c++)
            if (__builtin_add_overflow(row[c].i, values[c].i, &sums[c]))
                return FG_EOVERFLOW;
        for (c = key_cols; c < t->cols; c++)
            row[c].i = sums[c];
        return 0;
    }
    queue_row(db, t, values, NULL);
    return 0;
}

int fg_db_insert_now(fg_db_t *db, fg_db_table_t *t, const fg_db_value_t *values, int n, int64_t *id)
{
    assert(t->cols > 0 && t->cols <= FG_DB_COLS_MAX && n > 0);
    return send_now(db, t, values, n, id);
}

/* Sends t's queued rows not sent yet, in the order queued, as consecutive
 * chunks; *sent counts them. */
static int send_table(fg_db_t *db, fg_db_table_t *t, int *sent)
{
    fg_db_queue_t *q = &db->queue;
    const fg_db_value_t *rows[FG_DB_ROWS_MAX];
    int index[FG_DB_ROWS_MAX];
    int64_t ids[FG_DB_ROWS_MAX];
    int left = 0, rc = 0;
    for (int j = 0; j < q->row_count; j++)
        left += q->rows[j].table == t && q->rows[j].id == 0;
    for (int j = 0; rc == 0 && left > 0;) {
        int c = chunk(t, left), n = 0;
        for (; n < c; j++)
            if (q->rows[j].table == t && q->rows[j].id == 0) {
                index[n] = j;
                rows[n++] = &q->values[q->rows[j].first_value];
            }
        rc = send_rows(db, t, c, rows, ids);
        for (int r = 0; rc == 0 && r < n; r++)
            q->rows[index[r]].id = t->returns_id ? ids[r] : 1; /* 1: sent */
        left -= n;
        *sent += n;
    }
    return rc;
}

int fg_db_send_queued(fg_db_t *db, fg_db_table_t *t)
{
    int sent = 0;
    return send_table(db, t, &sent);
}

int fg_db_numbers_at_commit(const fg_db_t *db) { return db->queue.deferring && db->mysql != NULL && !db->cluster; }

enum { ROWS_ALL, ROWS_PLAIN, ROWS_NUMBERED };

static int of_kind(const fg_db_queued_t *row, int kind)
{
    return row->id == 0 && (kind == ROWS_ALL || row->table->numbered == (kind == ROWS_NUMBERED));
}

/* Sends the queued rows of kind not sent yet, tables in increasing rank
 * (rows sent before, fg_db_send_queued, stay sent). */
static int send_ranked(fg_db_t *db, int kind)
{
    fg_db_queue_t *q = &db->queue;
    int rc = 0, pending = 0;
    for (int i = 0; i < q->row_count; i++)
        pending += of_kind(&q->rows[i], kind);
    for (int done = 0, rank = -1; rc == 0 && done < pending;) {
        int next = -1;
        for (int i = 0; i < q->row_count; i++)
            if (of_kind(&q->rows[i], kind) && q->rows[i].table->rank > rank &&
                (next < 0 || q->rows[i].table->rank < next))
                next = q->rows[i].table->rank;
        assert(next >= 0);
        rank = next;
        /* every table of this rank (normally one) */
        for (int i = 0; rc == 0 && i < q->row_count; i++)
            if (q->rows[i].table->rank == rank && of_kind(&q->rows[i], kind))
                rc = send_table(db, q->rows[i].table, &done);
    }
    return rc;
}

/* Numbers the queued rows of numbered tables in the order queued (db.h,
 * "numbering at COMMIT"): the sequencer's row taken and moved past them,
 * each row's seq column the offset of its number from the old last_seq. */
static int number_queued(fg_db_t *db)
{
    fg_db_queue_t *q = &db->queue;
    int64_t count = 0;
    for (int i = 0; i < q->row_count; i++)
        if (of_kind(&q->rows[i], ROWS_NUMBERED))
            q->values[q->rows[i].first_value + q->rows[i].table->cols - 1] = FG_DB_INT(++count);
    if (count == 0)
        return 0;
    /* @fg_seq: the old last_seq, which the rows' "@fg_seq + ?" read */
    static const char SQL_TAKE[] =
        "UPDATE change_sequencer SET last_seq = (@fg_seq := last_seq) + ?, updated_at = ? WHERE id = 1";
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_TAKE);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, count);
    fg_stmt_int(&s, fg_now_ms());
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (fg_stmt_affected(&s) != 1) { /* the row is made by migration 0016 and never deleted */
        fg_db__remember_error(db, 0, "change_sequencer has no row");
        return FG_EDB;
    }
    return 0;
}

/* Numbers the rows in sight that wait for a number (a pass), to the end:
 * the queued rows' numbers must come after all of them. */
static int catch_up(fg_db_t *db)
{
    int numbered = 0, rc;
    while ((rc = fg_db_sequence_pass_in(db, 0, &numbered)) == 0 && numbered >= FG_DB_SEQUENCE_BATCH)
        ;
    return rc;
}

int fg_db__flush(fg_db_t *db)
{
    fg_db_queue_t *q = &db->queue;
    int numbering = 0, rc;
    if (fg_db_numbers_at_commit(db))
        for (int i = 0; i < q->row_count && !numbering; i++)
            numbering = of_kind(&q->rows[i], ROWS_NUMBERED);
    /* the other rows first: the sequencer's row is held for as short as can be */
    rc = send_ranked(db, numbering ? ROWS_PLAIN : ROWS_ALL);
    if (rc == 0 && numbering && (rc = fg_db_sequence_waiting(db)) > 0)
        rc = catch_up(db);
    if (rc == 0 && numbering && (rc = number_queued(db)) == 0)
        rc = send_ranked(db, ROWS_NUMBERED);
    fg_db__discard(db);
    return rc;
}

void fg_db__discard(fg_db_t *db)
{
    db->queue.row_count = 0;
    db->queue.value_count = 0;
    fg_buf_reset(&db->queue.text);
}

void fg_db__queue_free(fg_db_t *db)
{
    free(db->queue.rows);
    free(db->queue.values);
    free(db->queue.binds);
    fg_buf_free(&db->queue.text);
    memset(&db->queue, 0, sizeof(db->queue));
}
