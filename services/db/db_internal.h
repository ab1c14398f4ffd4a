/*
 * db_internal.h - the connection's insides, shared by db.c and defer.c only.
 */
#ifndef FG_DB_DB_INTERNAL_H
#define FG_DB_DB_INTERNAL_H

#include "db/db.h"
#include "core/text.h"

typedef struct {
    const char *sql; /* the literal, compared by pointer */
    MYSQL_STMT *stmt;
} cached_stmt_t;

/* A row queued by fg_db_insert while the connection defers. */
typedef struct {
    fg_db_table_t *table;
    int first_value; /* index into values */
    int64_t id;      /* its AUTO_INCREMENT id once sent (tables that return ids) */
} fg_db_queued_t;

typedef struct fg_db_binds fg_db_binds_t;

/* The rows a deferring transaction has queued; strings live in text, by offset. */
typedef struct {
    int deferring;
    fg_db_queued_t *rows;
    int row_count, row_cap;
    fg_db_value_t *values;
    int value_count, value_cap;
    fg_buf_t text;
    fg_db_binds_t *binds; /* parameters of one multi-row INSERT */
} fg_db_queue_t;

struct fg_db {
    MYSQL *mysql;
    const fg_config_t *cfg;
    int broken;
    int read_only;      /* fg_db_reader's: every session it opens is READ ONLY, reconnects too */
    int commit_sent;    /* this transaction's COMMIT went to the server (fg_db_commit) */
    int commit_unknown; /* the last transaction was lost during its COMMIT (fg_db_commit_unknown) */
    int node;           /* the index, in fg_config_db_nodes, of the server it uses (or tries first) */
    int cluster;        /* that server is a Galera node (wsrep_on) */
    int canary;         /* fg_db_tx on a cluster: this transaction's row of fg_tx_alive is in (db.c) */
    int trigger_fault;  /* the last error was the cluster's trigger-load fault (db.c fg_db__classify) */
    /* fg_db_reader: the connection to the read servers (db.read_socket, db.read_host), opened when
     * first asked for, with its configuration; when it would not open, not tried again before retry_ms */
    struct fg_db *reader;
    fg_config_t *reader_cfg;
    int64_t reader_retry_ms;
    unsigned last_errno;
    char last_error[512];
    int cache_count;
    cached_stmt_t cache[FG_DB_STMT_CACHE_MAX];
    unsigned jitter_seed;
    fg_db_queue_t queue;
    uint64_t tx_serial; /* advanced whenever a transaction ends (fg_db_tx_serial) */
    /* the answer watch (watch.c), on a cluster: when the current wait for the server began (0: none;
     * atomic), how many waits began (atomic), and what the watch needs to ask the node about it */
    int64_t wait_since_ms;
    uint64_t waits;
    int watch_on, unwatched; /* in the watch's list; the watch's own connection, never in it */
    unsigned long server_thread;
    int watch_fd;
    fg_db_node_t watch_node;
    struct fg_db *watch_next;
};

void fg_db__remember_error(fg_db_t *db, unsigned err, const char *text);
/** The FG_E* code of a MariaDB error number (marks the connection broken when lost). */
int fg_db__classify(fg_db_t *db, unsigned err);
/** The connection's prepared statement for sql (a string that lives as long as the process). */
MYSQL_STMT *fg_db__cached(fg_db_t *db, const char *sql);

/** Sends the queued rows (defer.c); 0 or an FG_E* code.  The queue is empty afterwards either way. */
int fg_db__flush(fg_db_t *db);
/** Drops the queued rows (rollback). */
void fg_db__discard(fg_db_t *db);
void fg_db__queue_free(fg_db_t *db);

/** A connection of the answer watch's own to one server (watch.c); 0, or an FG_E* code. */
int fg_db__open_at(fg_db_t **out, const fg_config_t *cfg, const fg_db_node_t *node);
/** The connection, just made to node, is watched when it is on a cluster (watch.c). */
void fg_db__watch(fg_db_t *db, const fg_db_node_t *node);
/** The connection leaves the watch; before its MYSQL closes. */
void fg_db__unwatch(fg_db_t *db);

/** Around every call that waits for the server's answer: the watch looks at
 *  waits that last.  FG_DB_AWAIT(db, call) is call's value. */
static inline void fg_db__wait(fg_db_t *db)
{
    if (db->watch_on) {
        __atomic_add_fetch(&db->waits, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&db->wait_since_ms, fg_now_ms(), __ATOMIC_RELEASE);
    }
}
static inline int fg_db__waited(fg_db_t *db, int rc)
{
    if (db->watch_on)
        __atomic_store_n(&db->wait_since_ms, 0, __ATOMIC_RELEASE);
    return rc;
}
#define FG_DB_AWAIT(db, call) (fg_db__wait(db), fg_db__waited((db), (int)(call)))

#endif
