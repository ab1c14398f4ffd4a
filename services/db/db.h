/*
 * db.h - one MariaDB connection with a prepared-statement cache, typed
 * parameter/result binding, and transactions retried on deadlock.
 *
 * Every statement is a prepared statement; SQL text is always a string
 * literal and is used as the cache key (by pointer).  A connection is used by
 * one thread at a time.  Sessions run with autocommit off, READ COMMITTED,
 * strict SQL mode and UTC.
 */
#ifndef FG_DB_DB_H
#define FG_DB_DB_H

#include <stddef.h>
#include <stdint.h>
#include <mysql.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"

/* The most parameters or result columns one statement binds. */
#define FG_DB_BIND_MAX 48
/* Statements cached per connection; feegate has far fewer distinct ones. */
#define FG_DB_STMT_CACHE_MAX 512
/* A transaction that hits a deadlock (1213) or lock-wait timeout (1205) is
 * re-run this many times in all, with jittered backoff, before giving up.
 * On a Galera cluster 1213 is also the certification failure of a
 * transaction that wrote a row another node wrote meanwhile; a row all
 * nodes write at once (one payment's refunds) sees many of those, and each
 * attempt lets only one writer of the row through. */
#define FG_DB_TX_ATTEMPTS_MAX 16

typedef struct fg_db fg_db_t;

/** Opens a connection as configured (socket or host/port).  On failure
 *  returns FG_EUNAVAILABLE with mysql's message in err. */
int fg_db_open(fg_db_t **out, const fg_config_t *cfg, char *err, size_t err_cap) FG_MUST_USE;
void fg_db_close(fg_db_t *db);

/** The configuration the connection was opened with. */
const fg_config_t *fg_db_config(const fg_db_t *db);
/** The connection is to a node of a Galera cluster (wsrep_on): its row locks
 *  and its list of open transactions are that node's only (docs/GALERA.md). */
int fg_db_in_cluster(const fg_db_t *db);

/** The connection reports read through: to a read server (db.read_socket,
 *  db.read_host: a replica, or another node of the cluster) when one is
 *  configured and answers, read-only (a write there fails); else db itself
 *  (said once in the log when a configured one does not answer; asked again
 *  after 10 s).  Owned by db: closed with it. */
fg_db_t *fg_db_reader(fg_db_t *db);

/** Reconnects if the connection was lost.  0 or FG_EUNAVAILABLE. */
int fg_db_ensure(fg_db_t *db) FG_MUST_USE;
/** Round trip to the server (readiness).  0 or FG_EUNAVAILABLE. */
int fg_db_ping(fg_db_t *db) FG_MUST_USE;

/** The last error text and number of this connection (for logs). */
const char *fg_db_error(fg_db_t *db);
unsigned fg_db_errno(fg_db_t *db);

/* ---- statements ---------------------------------------------------------- */

/** A statement being prepared for one execution: parameters in order, then
 *  (for queries) result columns in order. */
typedef struct {
    fg_db_t *db;
    MYSQL_STMT *stmt;
    int param_count;
    int result_count;
    MYSQL_BIND params[FG_DB_BIND_MAX];
    long long param_ints[FG_DB_BIND_MAX];
    unsigned long param_lens[FG_DB_BIND_MAX];
    MYSQL_BIND results[FG_DB_BIND_MAX];
    my_bool result_nulls[FG_DB_BIND_MAX];
    unsigned long result_lens[FG_DB_BIND_MAX];
    my_bool result_errors[FG_DB_BIND_MAX];
    fg_buf_t *result_blobs[FG_DB_BIND_MAX]; /* variable-length columns */
    int64_t *result_ints[FG_DB_BIND_MAX];
    long long result_int_store[FG_DB_BIND_MAX];
    int *result_int_nulls[FG_DB_BIND_MAX];
    int *result_enums[FG_DB_BIND_MAX]; /* fg_stmt_out_enum */
    int result_enum_counts[FG_DB_BIND_MAX];
    int executed;
    int stream; /* fg_stmt_stream: rows read from the server as fetched, not stored first */
} fg_stmt_t;

/** Looks the statement up in the cache (preparing it on first use) and
 *  resets s.  sql must be a string literal.  0, FG_EDB or FG_EUNAVAILABLE. */
int fg_stmt_init(fg_stmt_t *s, fg_db_t *db, const char *sql) FG_MUST_USE;

/* Parameters, bound in order.  Strings are not copied: they must outlive the
 * execution.  The *_or_null variants bind NULL for a NULL pointer. */
void fg_stmt_int(fg_stmt_t *s, int64_t v);
void fg_stmt_int_or_null(fg_stmt_t *s, const int64_t *v);
void fg_stmt_str(fg_stmt_t *s, const char *v, size_t len);
void fg_stmt_cstr(fg_stmt_t *s, const char *v); /* NULL binds NULL */
void fg_stmt_blob(fg_stmt_t *s, const void *v, size_t len);
void fg_stmt_null(fg_stmt_t *s);

/* Result columns, bound in order before fg_stmt_exec.  An int column that is
 * NULL sets *is_null (if given) and leaves 0.  A text/blob column is copied
 * into the buffer (reset first); NULL leaves it empty with data == NULL
 * allowed, and sets *is_null if given. */
void fg_stmt_out_int(fg_stmt_t *s, int64_t *v, int *is_null);
void fg_stmt_out_text(fg_stmt_t *s, fg_buf_t *v, int *is_null);
/* An enum column read as its value 0..count-1 (core/status.h's
 * FG_*_STATUS_SQL): a NULL or any other value fails the fetch with FG_EDB,
 * since the row is not one this code wrote. */
void fg_stmt_out_enum_int(fg_stmt_t *s, int *v, int count);
#define fg_stmt_out_enum(s, v, count)                                                                                  \
    do {                                                                                                               \
        _Static_assert(sizeof(*(v)) == sizeof(int), "an enum stored as an int");                                       \
        fg_stmt_out_enum_int((s), (int *)(void *)(v), (count));                                                        \
    } while (0)

/**
 * Executes.  Returns 0, or:
 *   FG_ECONFLICT  duplicate key (1062): the constraint name is in fg_db_error
 *   FG_ERETRY     deadlock (1213), lock wait timeout (1205), Galera conflict
 *   FG_EUNAVAILABLE connection lost
 *   FG_EDB        any other error
 */
int fg_stmt_exec(fg_stmt_t *s) FG_MUST_USE;
/** Before fg_stmt_exec: the rows are read from the server as they are
 *  fetched instead of all stored first, so a long result costs one row of
 *  memory.  Every row must be fetched (or fg_stmt_done called) before the
 *  connection runs another statement. */
void fg_stmt_stream(fg_stmt_t *s);
/** Rows changed by the last exec (UPDATE/INSERT/DELETE). */
uint64_t fg_stmt_affected(fg_stmt_t *s);
/** Last AUTO_INCREMENT id. */
uint64_t fg_stmt_insert_id(fg_stmt_t *s);
/** Fetches the next row into the bound outputs.  1 = row, 0 = no more,
 *  negative = error.  Call until 0 (or fg_stmt_done) before the next stmt. */
int fg_stmt_fetch(fg_stmt_t *s) FG_MUST_USE;
/** Frees the result set of a query whose rows were not all fetched. */
void fg_stmt_done(fg_stmt_t *s);
/** Executes a query that reads one row into the bound outputs and frees its
 *  result: 0, FG_ENOTFOUND when there is no row, or an FG_E* code. */
int fg_stmt_one(fg_stmt_t *s) FG_MUST_USE;
/** Whether a filter matches at least at_least rows, for choosing how to read
 *  them: s is "SELECT COUNT(*) FROM (SELECT 1 FROM … WHERE … LIMIT ?) x" with
 *  every parameter bound but the last; this binds at_least to it, so the
 *  count reads no more rows than that.  0 with *reached set, or an FG_E*
 *  code. */
int fg_stmt_count_reaches(fg_stmt_t *s, int64_t at_least, int *reached) FG_MUST_USE;
/** Runs sql, a statement without parameters whose one row is one integer
 *  (a probe, a locking read of one value): 0 with *v set, FG_ENOTFOUND when
 *  no row came, or as fg_stmt_exec. */
int fg_db_one_int(fg_db_t *db, const char *sql, int64_t *v) FG_MUST_USE;

/** Logs a failed database step once, as a warning: msg, the FG_E* code's
 *  name and this connection's last error text (db may be NULL). */
void fg_db_log_failure(fg_db_t *db, const char *msg, int rc);

/* ---- inserts a transaction may defer -------------------------------------
 *
 * Rows of append-only tables (the inbox, journals and their entries, events)
 * need not reach MariaDB the moment they are written: nothing in the
 * transaction reads them back.  While a connection defers (fg_db_defer, set
 * by a group commit leader), fg_db_insert queues the row and COMMIT first
 * sends every queued row of a table as multi-row INSERTs, parents before
 * children: a group of eight payments then costs four INSERT round trips
 * instead of forty.  When the connection does not defer, fg_db_insert runs
 * the single-row INSERT at once.  A duplicate key then surfaces at COMMIT
 * instead of at the row; a group commit answers it by running each member
 * alone, without deferral. */

/* The most rows one multi-row INSERT sends; more are sent in chunks (of 64,
 * 32 or 16 rows, then the rest at once up to FG_DB_ROWS_EXACT). */
#define FG_DB_ROWS_MAX 64
#define FG_DB_ROWS_EXACT 16
/* The most columns such a table has. */
#define FG_DB_COLS_MAX 20

typedef struct {
    const char *insert; /* "INSERT INTO t (a, b, c) VALUES " */
    const char *row;    /* "(?, ?, ?)" */
    int cols;
    int returns_id;                  /* later rows refer to this table's AUTO_INCREMENT ids */
    int rank;                        /* sent in increasing rank: a parent's is lower than its children's */
    int numbered;                    /* its last column is a place in the change sequence (below) */
    const char *sql[FG_DB_ROWS_MAX]; /* for 1..FG_DB_ROWS_MAX rows, built on first use */
} fg_db_table_t;

/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define FG_DB_TABLE(insert, row, cols, returns_id, rank)                                                               \
    {                                                                                                                  \
        (insert), (row), (cols), (returns_id), (rank), 0, { NULL }                                                     \
    }
/* A table of the change sequence (change_log, events: schema/0016_changes.sql): its row's last
 * column is `seq`, written "@fg_seq + ?" and queued as NULL.  A deferring transaction on a single
 * server numbers such rows at COMMIT ("numbering at COMMIT" below); elsewhere they go with seq NULL
 * and the sequencer numbers them after the commit. */
#define FG_DB_TABLE_NUMBERED(insert, row, cols, rank)                                                                  \
    {                                                                                                                  \
        (insert), (row), (cols), 0, (rank), 1, { NULL }                                                                \
    }
/* clang-format on */

enum { FG_DB_V_NULL, FG_DB_V_INT, FG_DB_V_STR, FG_DB_V_BLOB, FG_DB_V_ID };
typedef struct {
    int type;
    int64_t i; /* INT and ID; a queued string's offset */
    const char *s;
    size_t len;
} fg_db_value_t;

#define FG_DB_INT(v) ((fg_db_value_t){FG_DB_V_INT, (int64_t)(v), NULL, 0})
#define FG_DB_NULLV ((fg_db_value_t){FG_DB_V_NULL, 0, NULL, 0})
#define FG_DB_STR(p, n) ((fg_db_value_t){FG_DB_V_STR, 0, (p), (n)})
#define FG_DB_BLOB(p, n) ((fg_db_value_t){FG_DB_V_BLOB, 0, (const char *)(const void *)(p), (n)})
/* an id fg_db_insert returned, sent or pending */
#define FG_DB_ID(v) ((fg_db_value_t){FG_DB_V_ID, (int64_t)(v), NULL, 0})
/* a C string, or NULL for SQL NULL */
fg_db_value_t fg_db_cstr(const char *s);
/* an int, or NULL for SQL NULL */
fg_db_value_t fg_db_int_or_null(const int64_t *v);
/** Binds v as the statement's next parameter (as fg_stmt_int, _str, _blob or
 *  _null): a row built for fg_db_insert serves a statement of its own too.
 *  Not FG_DB_V_ID (a pending id means nothing outside the queue). */
void fg_stmt_value(fg_stmt_t *s, const fg_db_value_t *v);

/** Inserts n rows of t (n * t->cols values, row after row), at once as
 *  multi-row INSERTs or, while deferring, queued (values are copied).  id
 *  (may be NULL) receives, for a table that returns ids, each row's id: sent,
 *  or pending (negative, usable only through FG_DB_ID in a later row of the
 *  same transaction); for other tables, id[0] is the last insert id when
 *  sent at once.  0 or an FG_E* code as fg_stmt_exec. */
int fg_db_insert(fg_db_t *db, fg_db_table_t *t, const fg_db_value_t *values, int n, int64_t *id) FG_MUST_USE;
/** One row of t whose values after the first key_cols are INTs to be
 *  summed (a delta of a total, such as owed_changes): inserted at once, or,
 *  while deferring, added to the queued row of t with the same first key_cols
 *  values and not sent yet, else queued.  A transaction's deltas of one key
 *  then cost one row.
 *  0, FG_EOVERFLOW (a sum past int64; nothing added), or as fg_db_insert. */
int fg_db_insert_adding(fg_db_t *db, fg_db_table_t *t, const fg_db_value_t *values, int key_cols) FG_MUST_USE;
/** Sends t's queued rows now, as multi-row INSERTs, instead of at COMMIT
 *  (later rows of t still wait for it): for rows that must come before the
 *  transaction's next statements.  Their parents' pending ids must be sent.
 *  0 or as fg_db_insert. */
int fg_db_send_queued(fg_db_t *db, fg_db_table_t *t) FG_MUST_USE;
/** fg_db_insert sent at once even while the connection defers: id gets the
 *  rows' real ids, for a caller that stores one in a row of its own. */
int fg_db_insert_now(fg_db_t *db, fg_db_table_t *t, const fg_db_value_t *values, int n, int64_t *id) FG_MUST_USE;
/** Whether fg_db_insert queues rows on this connection. */
void fg_db_defer(fg_db_t *db, int on);
int fg_db_deferring(const fg_db_t *db);

/* ---- numbering at COMMIT ---------------------------------------------------
 *
 * The change feed and the event list are read in `seq` order, numbers handed
 * out in commit order by whoever holds change_sequencer's row
 * (services/changes/sequencer.c, docs/CHANGES.md).  A deferring transaction
 * on a single server numbers its queued rows of numbered tables itself: at
 * COMMIT, after its other rows are sent, one UPDATE takes the sequencer's row
 * and moves last_seq past them (defer.c), the rows go with their
 * numbers, and the lock is held until the COMMIT is durable: the transaction
 * is then a sequencer pass of its own rows, and no number is ever given to a
 * row after a higher one became visible.  The rows are never updated again
 * (a row numbered after its commit costs an UPDATE of the row and of its
 * index entry, a trigger's checks and the row's images in the binary log).
 * The numbers must follow every row already in the sequence's order: so
 * first (before taking the lock) one probe asks whether any change or event
 * row without a number is in sight, committed by another transaction and not
 * numbered yet, or written by this one in line (by a trigger, or sent before
 * COMMIT: fg_db_send_queued).  If one is, the queued rows too go without
 * numbers and the sequencer numbers them all after the commit, in id order,
 * as for any transaction (a transaction that wrote a row another has written
 * since, held its row lock until it committed, so its rows are in sight).
 * Among the transaction's own rows, those queued come after those written in
 * line: a change that a later statement of the transaction may follow with
 * one of the same row written in line must be sent before it.
 * On a Galera cluster the sequencer's row would be a certification conflict
 * of every pair of concurrent transactions: there the rows go with seq NULL. */
/** Whether queued rows of numbered tables are numbered at this transaction's
 *  COMMIT (deferring, on a single server). */
int fg_db_numbers_at_commit(const fg_db_t *db);

/* Rows of each table (change_log, events) numbered by one pass: one
 * transaction, one UPDATE per table, short enough that a reader waiting for
 * the sequencer's row waits a fraction of a second. */
#define FG_DB_SEQUENCE_BATCH 10000

/** A pass of the sequence in the caller's transaction (sequence.c): locks
 *  the sequencer's row (waiting for it; or, with skip_locked, doing nothing
 *  while another transaction holds it), gives the change_log rows and events
 *  in sight that have no seq the next numbers in id order (up to
 *  FG_DB_SEQUENCE_BATCH of each) and stores the new last_seq; *numbered is
 *  how many.  0 or an FG_E* code. */
int fg_db_sequence_pass_in(fg_db_t *db, int skip_locked, int *numbered) FG_MUST_USE;
/** 1 when a change or event without a number is in sight (committed, or
 *  written by the caller's transaction), 0 when none is (two probes of the
 *  NULL end of the seq indexes, no lock), or an FG_E* code. */
int fg_db_sequence_waiting(fg_db_t *db) FG_MUST_USE;
/** The highest number the sequence has handed out (change_sequencer's
 *  last_seq, read without a lock; 0 before the first): every seq a reader
 *  was ever shown is at most this, because a number and the last_seq that
 *  covers it commit together.  Read in a transaction that began after the
 *  reader was shown its number (on a cluster wsrep_sync_wait makes the
 *  node catch up at a transaction's first statement), so a cursor just
 *  given out, by this node or another, is never above it.  0 or an FG_E*
 *  code. */
int fg_db_sequence_last(fg_db_t *db, int64_t *last) FG_MUST_USE;

/* ---- bulk statements (array binding) -------------------------------------- */

/* The most columns a bulk statement binds. */
#define FG_DB_BULK_COLS_MAX 32

/** One column of a bulk statement: n values of one type, column-wise. */
typedef struct {
    int type;                /* FG_DB_V_INT, FG_DB_V_STR or FG_DB_V_BLOB */
    const int64_t *ints;     /* FG_DB_V_INT: n values */
    const char *const *data; /* FG_DB_V_STR / FG_DB_V_BLOB: n pointers */
    const unsigned long *lengths;
} fg_db_column_t;

/** Executes sql, a statement with ncols parameters written for one row (e.g.
 *  INSERT IGNORE … VALUES (?, ?, …)), once for each of n rows in one round
 *  trip (MariaDB's array binding: still a prepared statement, the values
 *  never become SQL text).  sql must be a string literal used only here.
 *  *affected (may be NULL) receives the rows it changed.  0 or an FG_E* code
 *  as fg_stmt_exec. */
int fg_db_bulk(fg_db_t *db, const char *sql, const fg_db_column_t *cols, int ncols, unsigned n,
               uint64_t *affected) FG_MUST_USE;

/* ---- transactions -------------------------------------------------------- */

/** The body of a transaction.  Must be safe to run again from the start: it
 *  is re-run after a deadlock.  Return 0 to commit; anything else rolls back
 *  and is returned by fg_db_tx (FG_ERETRY from a statement triggers a re-run;
 *  a positive value lets the body signal a business outcome). */
typedef int (*fg_db_tx_fn)(fg_db_t *db, void *arg);

/** Runs fn in one transaction: commit on 0 (sending deferred rows first),
 *  roll back otherwise, re-run on FG_ERETRY (also from the COMMIT itself) up
 *  to FG_DB_TX_ATTEMPTS_MAX. */
int fg_db_tx(fg_db_t *db, fg_db_tx_fn fn, void *arg) FG_MUST_USE;
/** After fg_db_tx (or a variant) answered FG_EUNAVAILABLE: 1 when the
 *  connection was lost during COMMIT, so whether the transaction committed
 *  is unknown.  Its work must then not be run again (a shared transaction's
 *  members alone, say): the caller answers "unavailable" and a retry under
 *  the same Idempotency-Key, inbox key or bank reference finds what did
 *  commit.  0 after any other outcome. */
int fg_db_commit_unknown(const fg_db_t *db);
/** Fault injection for tests: when set, called with the connection as its
 *  COMMIT is about to go out (after the deferred rows), where a test loses
 *  the connection to play a COMMIT lost in flight.  NULL in the server. */
extern void (*fg_db_commit_fault)(fg_db_t *db);
/** Retention: runs sql, a DELETE bound with args[0..n) (its LIMIT last),
 *  in one transaction of its own.  The number of rows deleted (the LIMIT:
 *  more may be left), or a database code. */
int fg_db_prune(fg_db_t *db, const char *sql, const int64_t *args, int n);
/** fg_db_tx at REPEATABLE READ (the session's level is READ COMMITTED):
 *  locking reads lock the gaps they scan too. */
int fg_db_tx_repeatable(fg_db_t *db, fg_db_tx_fn fn, void *arg) FG_MUST_USE;

/** Ends any read-only transaction the connection is in (no round trip when
 *  none is open).  Call after reads outside fg_db_tx. */
void fg_db_end(fg_db_t *db);

/** Runs one statement text that takes no parameters and returns no rows
 *  (DDL in migrations).  Not cached.  0 or an FG_E* code as fg_stmt_exec. */
int fg_db_exec_text(fg_db_t *db, const char *sql, size_t len) FG_MUST_USE;
/** Ends any open transaction and starts a read-only one at REPEATABLE READ
 *  with a consistent snapshot: the reads that follow see one set of commits
 *  (a report's several reads that must agree).  End it with fg_db_commit or
 *  fg_db_rollback.  0 or an FG_E* code. */
int fg_db_begin_snapshot(fg_db_t *db) FG_MUST_USE;
/** Sends deferred rows, then COMMITs; rolls nothing back on failure. */
int fg_db_commit(fg_db_t *db) FG_MUST_USE;
void fg_db_rollback(fg_db_t *db);
/** A number that changes whenever the connection's transaction ends (commit
 *  or rollback): equal values, the same transaction.  For a cache that must
 *  not keep what an uncommitted transaction wrote (ledger.c's accounts). */
uint64_t fg_db_tx_serial(const fg_db_t *db);

/** Statements a Galera node left without an answer, found by the answer watch
 *  (watch.c), whose connections it dropped so that their transactions ran again. */
unsigned long long fg_db_answers_lost(void);

#endif
