/*
 * settle.h - when every AUTO_INCREMENT id up to a mark is final.
 *
 * InnoDB hands out AUTO_INCREMENT ids when a transaction inserts, not when it
 * commits, and a group commit sends its rows only at COMMIT: id 41 may still
 * be uncommitted (or roll back) after id 42 is visible.  A reader that says
 * "I have seen everything up to id N" from what is visible is therefore
 * wrong.  A settle point proves it instead:
 *
 *   1. read the mark M: the highest committed id of a table (a fresh
 *      READ COMMITTED statement);
 *   2. then read the set S of read-write transactions InnoDB has open;
 *   3. later, once no transaction of S is open any more, every id <= M is
 *      final: committed and visible, or rolled back and never to appear.
 *
 * Why: let m <= M be inserted by transaction T.  The counter only grows, so m
 * was handed out before M, hence before M committed, hence before step 1.
 * T had already written another row by then (callers guarantee it: see the
 * rule below), so T was a read-write transaction with its own id, listed by
 * InnoDB from that write until it ends.  At step 2 T was either listed in S
 * or already over; at step 3 it is over.  Transaction ids are never reused.
 *
 * The rule a table must follow: every INSERT that takes an id of it comes
 * after another write of the same transaction (ledger entries after their
 * journal, events after the order or payment they describe).  A transaction
 * whose first statement takes the id would not yet be listed in the instant
 * between taking the id and starting its write.
 *
 * Reading S: information_schema.INNODB_TRX is served from a copy InnoDB
 * refreshes only when nobody has read it for 100 ms, so a read may show the
 * transactions of some time ago, before M was read.  Every read of S is
 * therefore proven fresh by a probe: a second connection opens a write
 * transaction (a row of settle_probes, never committed) after everything
 * the read must come after, and the read counts only once it lists that
 * transaction (with an id above any of the probe's before: ids only grow).
 * Otherwise it is retried after the copy's lifetime, a bounded number of
 * times.
 *
 * One database server, any number of feegate instances: each keeps its own
 * points.  The account needs the PROCESS privilege (INNODB_TRX); without it
 * observing fails and the caller does without (deploy/mariadb grants it).
 * On a Galera cluster S must be read from every node.
 */
#ifndef FG_DB_SETTLE_H
#define FG_DB_SETTLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "db/db.h"

/* Open read-write transactions remembered per point.  A point is refused
 * (FG_ETOOLONG) rather than truncated: a partial S proves nothing.  Every
 * instance's pool together holds far fewer connections. */
#define FG_SETTLE_TRX_MAX 4096
/* Tables one point marks at once (one column each in its mark query). */
#define FG_SETTLE_MARKS_MAX 4

/** The probe connection (see above): opened on first use, closed by
 *  fg_settle_probe_close.  Zero-initialise. */
typedef struct {
    fg_db_t *db;
    int64_t thread_id;    /* its CONNECTION_ID() */
    uint64_t last_trx_id; /* the newest probe transaction seen listed */
} fg_settle_probe_t;

void fg_settle_probe_close(fg_settle_probe_t *probe);

typedef struct {
    int64_t mark[FG_SETTLE_MARKS_MAX]; /* every id <= mark[i] of table i is final once reached */
    int64_t taken_ms;                  /* when the point was observed (for logs) */
    int trx_count;
    uint64_t *trx; /* sorted ids of S, owned (fg_settle_point_free) */
} fg_settle_point_t;

/**
 * Observes a point: runs mark_sql (a string literal: one row of mark_count
 * integer columns, each the highest committed id of one table, e.g. "SELECT
 * COALESCE(MAX(id), 0) FROM ledger_entries"), then reads S.  The connection
 * must not be inside a transaction that wrote.  0, FG_ETOOLONG, or an FG_E*
 * database code (no PROCESS privilege: FG_EDB with MariaDB's message in
 * fg_db_error; FG_EUNAVAILABLE when no fresh list of transactions could be
 * had).
 */
int fg_settle_observe(fg_db_t *db, fg_settle_probe_t *probe, const char *mark_sql, int mark_count, int64_t now_ms,
                      fg_settle_point_t *p) FG_MUST_USE;

/** Sets *reached to 1 when no transaction of p's S is open any more (every
 *  id <= p->mark is final), else 0 and *blocker to one still open (its
 *  InnoDB id, for logs; may be NULL).  0 or an FG_E* database code. */
int fg_settle_reached(fg_db_t *db, fg_settle_probe_t *probe, const fg_settle_point_t *p, int *reached,
                      uint64_t *blocker) FG_MUST_USE;

void fg_settle_point_free(fg_settle_point_t *p);

/* ---- a queue of points, oldest first ---------------------------------------- */

/* Points waiting at once: one per round, so a transaction open for this many
 * rounds only delays progress (the newest point replaces the last slot). */
#define FG_SETTLE_PENDING_MAX 8

typedef struct {
    const char *mark_sql; /* as fg_settle_observe */
    int mark_count;
    fg_settle_probe_t probe;
    int count;
    fg_settle_point_t pending[FG_SETTLE_PENDING_MAX];
    int64_t settled[FG_SETTLE_MARKS_MAX]; /* the highest marks proven final so far (0 = none) */
} fg_settle_queue_t;

/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define FG_SETTLE_QUEUE_INIT(sql, count)                                                                               \
    {                                                                                                                  \
        (sql), (count), {0}, 0, {{{0}, 0, 0, NULL}}, { 0 }                                                             \
    }
/* clang-format on */

/**
 * One round, with one read of the open transactions: reads the marks, then
 * the transactions open now; every pending point none of whose S is still
 * open is reached (newest first: a reached point settles every older one,
 * and raises q->settled to its marks); the marks and the list just read
 * become a new pending point.  0 or an FG_E* code; q->settled is valid
 * either way.
 */
int fg_settle_round(fg_db_t *db, fg_settle_queue_t *q, int64_t now_ms) FG_MUST_USE;

void fg_settle_queue_free(fg_settle_queue_t *q);

/* ---- one queue per process, shared by its background threads ------------------ */

/* InnoDB's copy of the transaction list is refreshed only after 100 ms
 * without a reader: every reader delays the others, so a process keeps one
 * queue for all its tables and rounds at most this often. */
#define FG_SETTLE_SHARED_INTERVAL_MS 1000

typedef struct {
    pthread_mutex_t mutex; /* held by the thread running a round */
    fg_settle_queue_t queue;
    _Atomic int64_t next_round_ms;
    _Atomic int64_t published[FG_SETTLE_MARKS_MAX]; /* queue.settled, for readers that do not wait */
    int failing;                                    /* the last round failed (logged once) */
    _Atomic int64_t failing_since_ms;               /* when rounds began to fail (0: the latest worked) */
} fg_settle_shared_t;

/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define FG_SETTLE_SHARED_INIT(sql, count)                                                                              \
    {                                                                                                                  \
        PTHREAD_MUTEX_INITIALIZER, FG_SETTLE_QUEUE_INIT(sql, count), 0, {0}, 0, 0                                      \
    }
/* clang-format on */

/**
 * Copies the settled marks into settled[0..mark_count), first running a
 * round on db when one is due and no other thread is running one (nobody
 * waits: a thread that finds a round under way reads the marks published
 * before it).  Returns 0, or the round's FG_E* code (settled still holds the
 * last proven marks; the first failure of a run is logged).
 */
int fg_settle_shared_poll(fg_settle_shared_t *s, fg_db_t *db, int64_t now_ms, int64_t *settled) FG_MUST_USE;

/** How long rounds have been failing at now_ms (0: the latest worked): the
 *  settled marks are the last proven, and stay so for as long as rounds keep
 *  failing (a reader that must move on, as the fan-out's gaps, does without
 *  them once that has lasted). */
int64_t fg_settle_shared_failing_ms(fg_settle_shared_t *s, int64_t now_ms);

void fg_settle_shared_free(fg_settle_shared_t *s);

#endif
