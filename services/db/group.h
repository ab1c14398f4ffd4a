/*
 * group.h - group commit: concurrent small write transactions of one kind
 * share one MariaDB transaction and one COMMIT.
 *
 * A create-order is two INSERTs and a COMMIT; with binary logging and
 * durable commits, the COMMIT (and its round trip, and the wake-ups around
 * it) is a large part of the cost.  fg_db_group_tx is a drop-in for fg_db_tx:
 * the caller's work function runs either alone or, while other workers are
 * already busy, together with theirs in one transaction run by whichever
 * worker leads the group.  The outcome each caller sees is exactly what
 * fg_db_tx would give: if the shared transaction fails for any reason (a
 * duplicate key of one member, a deadlock that outlasted the retries, a lost
 * connection), it is rolled back whole and every member runs alone on its
 * own connection.  So a conflict of one request never touches another's.
 *
 * Work functions must be re-runnable (fg_db_tx already re-runs them on
 * deadlock) and must not depend on which connection runs them.  In a shared
 * transaction the connection defers inserts (fg_db_insert): a work must not
 * read back rows it inserted that way, and a duplicate key among them fails
 * the COMMIT, so the whole group, rather than the one statement.
 */
#ifndef FG_DB_GROUP_H
#define FG_DB_GROUP_H

#include <pthread.h>
#include "db/db.h"

typedef struct fg_db_group_member fg_db_group_member_t;

/* One kind of work: at most leaders_max shared transactions at once, each of
 * at most members_max works.  Static, initialised with FG_DB_GROUP_INIT. */
typedef struct fg_db_group {
    pthread_mutex_t mutex;
    fg_db_group_member_t *head, **tail; /* tail NULL until the first use */
    int leaders, leaders_max, members_max;
    const char *name; /* /metrics' group label */
    /* under mutex: shared transactions committed, the works in them, and
     * shared transactions that failed (their works then ran alone) */
    unsigned long long shared, shared_works, failed;
    struct fg_db_group *next_known; /* the groups used so far (fg_db_groups_render) */
} fg_db_group_t;

/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define FG_DB_GROUP_INIT(name, leaders_max, members_max)                                                               \
    {                                                                                                                  \
        PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, (leaders_max), (members_max), (name), 0, 0, 0, NULL                  \
    }
/* clang-format on */

/** Like fg_db_tx(db, fn, arg), possibly sharing the transaction (see above). */
int fg_db_group_tx(fg_db_group_t *g, fg_db_t *db, fg_db_tx_fn fn, void *arg) FG_MUST_USE;

/** fg_db_tx(db, fn, arg) with the connection deferring its inserts, as a
 *  shared transaction runs (fn must not read back what it inserted). */
int fg_db_tx_deferring(fg_db_t *db, fg_db_tx_fn fn, void *arg) FG_MUST_USE;

/** Runs fn on each of args[0..n) that is not NULL, all in one deferring
 *  transaction, counted on g's /metrics series (g's queue is not used):
 *  works a caller holds together (the requests a worker took together from
 *  its queue, db/pool.h; a delivery of several transfers; a job's claimed
 *  rows).  0 when they committed together; anything else rolled back all of
 *  them, and the caller runs each alone (fg_db_tx, fg_db_group_tx), so that
 *  each gets the answer it would get alone; except when the connection was
 *  lost during COMMIT (fg_db_commit_unknown): they may have committed, and
 *  each is answered FG_EUNAVAILABLE without running again. */
int fg_db_group_tx_all(fg_db_group_t *g, fg_db_t *db, fg_db_tx_fn fn, void *const *args, int n) FG_MUST_USE;
/** set(arg) in one deferring transaction, counted on g's /metrics series as
 *  a shared transaction of `works` works (g's queue is not used): the
 *  set-wise form of works a caller holds together (a delivery of several
 *  transfers).  As fg_db_group_tx_all: anything but 0 rolled back all of
 *  them, and the caller runs each alone (unless fg_db_commit_unknown). */
int fg_db_group_tx_set(fg_db_group_t *g, fg_db_t *db, fg_db_tx_fn set, void *arg, int works) FG_MUST_USE;

/** Work that has a set-wise form and a one-by-one form with the same answer
 *  (an order batch, a bills file): set(arg) in one deferring transaction,
 *  and when that fails for any reason (a key taken meanwhile, a deadlock
 *  past the retries), each(arg) in a new transaction (fg_db_tx), whose
 *  outcome is the answer; *ran_each (may be NULL) says which ran last.  A
 *  set lost during its COMMIT (fg_db_commit_unknown) is not run again:
 *  FG_EUNAVAILABLE. */
int fg_db_tx_set_or_each(fg_db_t *db, fg_db_tx_fn set, fg_db_tx_fn each, void *arg, int *ran_each) FG_MUST_USE;

/** Appends, for /metrics, each used group's counters (Prometheus text):
 *  feegate_db_group_transactions_total, _works_total, _failed_total. */
void fg_db_groups_render(fg_buf_t *out);

#endif
