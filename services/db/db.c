/*
 * db.c - MariaDB connection, statement cache, binding helpers, transactions.
 */
#include "db/db.h"
#include "db/db_internal.h"
#include "core/log.h"
#include "core/text.h"

#include <assert.h>
#include <errmsg.h>
#include <limits.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds to wait for a connection, and for one write on it.  A statement
 * that takes longer than db.read_timeout_s (30) is answered 503 rather than
 * holding a worker forever; the command line's audits of the whole ledger
 * wait longer (main.c). */
#define CONNECT_TIMEOUT_S 3
#define WRITE_TIMEOUT_S 30

/* Text columns start with this much room; longer values are fetched again. */
#define TEXT_INITIAL_CAP 256

static const char *const SESSION_SETUP[] = {
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET SESSION time_zone = '+00:00'",
    ("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
     "NO_ENGINE_SUBSTITUTION'"),
};

void fg_db__remember_error(fg_db_t *db, unsigned err, const char *text)
{
    db->last_errno = err;
    snprintf(db->last_error, sizeof(db->last_error), "%s", text != NULL ? text : "");
}

int fg_db__classify(fg_db_t *db, unsigned err)
{
    db->trigger_fault = 0;
    /* On a Galera node, a transaction aborted by a replicated write while
     * the server was loading a table's triggers reports the trigger's body
     * as a syntax error ("Trigger '…' has an error in its body: …", or
     * "Unknown trigger has an error in its body: 'Query was empty'"); the
     * same statement succeeds when run again.  Only there, only that. */
    if (err == ER_PARSE_ERROR && db->cluster && strstr(db->last_error, "has an error in its body") != NULL) {
        db->trigger_fault = 1;
        return FG_ERETRY;
    }
    /* The same fault's fourth form: a table a trigger writes (migrated, there
     * a moment before and after) reported missing ("Table 'feegate.change_log'
     * doesn't exist").  On a cluster only. */
    if (err == ER_NO_SUCH_TABLE && db->cluster) {
        db->trigger_fault = 1;
        return FG_ERETRY;
    }
    switch (err) {
    case ER_DUP_ENTRY: return FG_ECONFLICT;
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT: return FG_ERETRY;
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_COMMANDS_OUT_OF_SYNC:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    /* a Galera node that left the Primary component ("WSREP has not yet
     * prepared node for application use"): another node serves */
    case ER_UNKNOWN_COM_ERROR: db->broken = 1; return FG_EUNAVAILABLE;
    default: return FG_EDB;
    }
}

static void drop_cache(fg_db_t *db)
{
    for (int i = 0; i < db->cache_count; i++)
        mysql_stmt_close(db->cache[i].stmt);
    db->cache_count = 0;
}

/* A Galera node answers before it is a synced member of the Primary
 * component and then refuses every statement; a server without Galera has
 * wsrep_on = 0. */
static const char SQL_NODE_READY[] =
    "SELECT @@wsrep_on, @@wsrep_on = 0 OR (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE "
    "VARIABLE_NAME = 'WSREP_READY') = 'ON'";

static int node_ready(MYSQL *m, int *cluster)
{
    *cluster = 0;
    if (mysql_query(m, SQL_NODE_READY) != 0)
        return mysql_errno(m) == ER_UNKNOWN_SYSTEM_VARIABLE; /* a server built without Galera */
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
    int ready = row != NULL && row[1] != NULL && strcmp(row[1], "1") == 0;
    *cluster = row != NULL && row[0] != NULL && strcmp(row[0], "1") == 0;
    if (res != NULL)
        mysql_free_result(res);
    return ready;
}

/* Connects to one server and sets the session up; 0, or -1 with the error remembered. */
static int connect_node(fg_db_t *db, const fg_db_node_t *node)
{
    const fg_config_t *cfg = db->cfg;
    unsigned int timeout;
    my_bool off = 0;

    db->mysql = mysql_init(NULL);
    if (db->mysql == NULL)
        fg_oom();
    timeout = CONNECT_TIMEOUT_S;
    mysql_optionsv(db->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    timeout = (unsigned)cfg->db_read_timeout_s;
    mysql_optionsv(db->mysql, MYSQL_OPT_READ_TIMEOUT, &timeout);
    timeout = WRITE_TIMEOUT_S;
    mysql_optionsv(db->mysql, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_optionsv(db->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(db->mysql, MYSQL_OPT_RECONNECT, &off);
    const char *socket = node->socket[0] != '\0' ? node->socket : NULL;
    const char *host = socket != NULL ? "localhost" : node->host;
    if (mysql_real_connect(db->mysql, host, cfg->db_user, cfg->db_password, cfg->db_name, (unsigned)node->port, socket,
                           CLIENT_FOUND_ROWS) == NULL)
        goto Fail;
    if (!node_ready(db->mysql, &db->cluster)) {
        fg_db__remember_error(db, ER_UNKNOWN_COM_ERROR, "the node is not a synced member of its cluster");
        goto Close;
    }
    for (size_t i = 0; i < sizeof(SESSION_SETUP) / sizeof(SESSION_SETUP[0]); i++)
        if (mysql_query(db->mysql, SESSION_SETUP[i]) != 0)
            goto Fail;
    /* On a cluster, a transaction's first statement waits until this node
     * has applied what any node committed before it (MariaDB checks only
     * there, never inside a transaction, hence every kind of statement: a
     * notification's transaction begins with its inbox INSERT): a payment
     * made through one instance is then seen by the notification another
     * instance (or another connection, on another node) receives next. */
    if (db->cluster && mysql_query(db->mysql, "SET SESSION wsrep_sync_wait = 7") != 0)
        goto Fail;
    /* fg_db_tx's proof, on a cluster, that COMMIT ends the transaction its
     * body ran in (SQL_CANARY_IN below); a temporary table is the
     * connection's own and never replicated */
    if (db->cluster && mysql_query(db->mysql, "CREATE TEMPORARY TABLE IF NOT EXISTS fg_tx_alive (id TINYINT UNSIGNED "
                                              "NOT NULL PRIMARY KEY) ENGINE=InnoDB") != 0)
        goto Fail;
    /* after the temporary table: a read-only session may not create one */
    if (db->read_only && mysql_query(db->mysql, "SET SESSION TRANSACTION READ ONLY") != 0)
        goto Fail;
    if (mysql_autocommit(db->mysql, 0) != 0)
        goto Fail;
    return 0;
Fail:
    fg_db__remember_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
Close:
    mysql_close(db->mysql);
    db->mysql = NULL;
    return -1;
}

/* The server it used last, else the next in the list that answers: an
 * instance stays on a node until it fails, then moves on (a cluster's other
 * nodes hold the same data). */
static int connect_now(fg_db_t *db)
{
    fg_db_node_t nodes[FG_DB_NODES_MAX];
    int count = fg_config_db_nodes(db->cfg, nodes);
    fg_db__unwatch(db);
    if (db->mysql != NULL) {
        drop_cache(db);
        mysql_close(db->mysql);
        db->mysql = NULL;
    }
    for (int i = 0; i < count; i++) {
        int n = (db->node + i) % count;
        if (connect_node(db, &nodes[n]) == 0) {
            /* said once per process and move, not by each connection of the pool */
            static int announced;
            if (n != db->node && __atomic_exchange_n(&announced, n + 1, __ATOMIC_RELAXED) != n + 1) {
                fg_log_t l;
                fg_log_begin(&l, FG_LOG_WARN, "database: moved to another server");
                fg_log_str(&l, "server", nodes[n].socket[0] != '\0' ? nodes[n].socket : nodes[n].host);
                fg_log_end(&l);
            }
            db->node = n;
            db->broken = 0;
            fg_db__watch(db, &nodes[n]);
            return 0;
        }
    }
    db->broken = 1;
    return FG_EUNAVAILABLE;
}

const fg_config_t *fg_db_config(const fg_db_t *db) { return db->cfg; }

int fg_db_in_cluster(const fg_db_t *db) { return db->mysql != NULL && db->cluster; }

int fg_db__open_at(fg_db_t **out, const fg_config_t *cfg, const fg_db_node_t *node)
{
    fg_db_t *db = fg_calloc(1, sizeof(*db));
    db->cfg = cfg;
    db->unwatched = 1;
    if (connect_node(db, node) != 0 || mysql_query(db->mysql, "SET SESSION wsrep_sync_wait = 0") != 0) {
        fg_db_close(db);
        return FG_EUNAVAILABLE;
    }
    *out = db;
    return 0;
}

int fg_db_open(fg_db_t **out, const fg_config_t *cfg, char *err, size_t err_cap)
{
    fg_db_t *db = fg_calloc(1, sizeof(*db));
    db->cfg = cfg;
    db->jitter_seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)db;
    *out = db;
    if (connect_now(db) != 0) {
        snprintf(err, err_cap, "database: %s", db->last_error);
        return FG_EUNAVAILABLE;
    }
    return 0;
}

#define READER_RETRY_MS 10000

fg_db_t *fg_db_reader(fg_db_t *db)
{
    const fg_config_t *cfg = db->cfg;
    if (cfg->db_read_socket[0] == '\0' && cfg->db_read_host[0] == '\0')
        return db;
    if (db->reader != NULL && fg_db_ensure(db->reader) == 0)
        return db->reader;
    int64_t now = fg_now_ms();
    if (now < db->reader_retry_ms)
        return db;
    char err[sizeof(db->last_error) + 16] = "";
    fg_db_close(db->reader);
    db->reader = NULL;
    if (db->reader_cfg == NULL) { /* the read servers in place of the writers' */
        db->reader_cfg = fg_malloc(sizeof(*db->reader_cfg));
        *db->reader_cfg = *cfg;
        db->reader_cfg->db_socket = (char *)"";
        db->reader_cfg->db_sockets = cfg->db_read_socket;
        db->reader_cfg->db_hosts = cfg->db_read_host;
        db->reader_cfg->db_read_socket = db->reader_cfg->db_read_host = (char *)"";
    }
    fg_db_t *r = NULL;
    if (fg_db_open(&r, db->reader_cfg, err, sizeof(err)) == 0 &&
        mysql_query(r->mysql, "SET SESSION TRANSACTION READ ONLY") == 0) {
        r->read_only = 1; /* and again on every reconnect (connect_node) */
        db->reader = r;
        return r;
    }
    if (r != NULL && r->mysql != NULL)
        snprintf(err, sizeof(err), "database: %s", mysql_error(r->mysql));
    fg_db_close(r);
    db->reader_retry_ms = now + READER_RETRY_MS;
    static int warned; /* once per process */
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED)) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN,
                     "database: the read server does not answer; reports read from the writers' server");
        fg_log_str(&l, "error", err);
        fg_log_end(&l);
    }
    return db;
}

void fg_db_close(fg_db_t *db)
{
    if (db == NULL)
        return;
    fg_db_close(db->reader);
    free(db->reader_cfg);
    fg_db__unwatch(db);
    if (db->mysql != NULL) {
        drop_cache(db);
        mysql_close(db->mysql);
    }
    fg_db__queue_free(db);
    free(db);
}

int fg_db_ensure(fg_db_t *db)
{
    if (!db->broken && db->mysql != NULL)
        return 0;
    return connect_now(db);
}

int fg_db_ping(fg_db_t *db)
{
    if (fg_db_ensure(db) != 0)
        return FG_EUNAVAILABLE;
    if (mysql_ping(db->mysql) != 0) {
        fg_db__remember_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
        db->broken = 1;
        return FG_EUNAVAILABLE;
    }
    return 0;
}

const char *fg_db_error(fg_db_t *db) { return db->last_error; }
unsigned fg_db_errno(fg_db_t *db) { return db->last_errno; }

/* ---- statements ---------------------------------------------------------- */

MYSQL_STMT *fg_db__cached(fg_db_t *db, const char *sql)
{
    for (int i = 0; i < db->cache_count; i++)
        if (db->cache[i].sql == sql)
            return db->cache[i].stmt;
    assert(db->cache_count < FG_DB_STMT_CACHE_MAX && "raise FG_DB_STMT_CACHE_MAX");
    MYSQL_STMT *stmt = mysql_stmt_init(db->mysql);
    if (stmt == NULL)
        fg_oom();
    if (FG_DB_AWAIT(db, mysql_stmt_prepare(stmt, sql, strlen(sql))) != 0) {
        fg_db__remember_error(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
        fg_db__classify(db, db->last_errno);
        mysql_stmt_close(stmt);
        return NULL;
    }
    db->cache[db->cache_count].sql = sql;
    db->cache[db->cache_count].stmt = stmt;
    db->cache_count++;
    return stmt;
}

int fg_stmt_init(fg_stmt_t *s, fg_db_t *db, const char *sql)
{
    s->db = db;
    s->param_count = 0;
    s->result_count = 0;
    s->executed = 0;
    s->stream = 0;
    s->stmt = NULL;
    if (fg_db_ensure(db) != 0)
        return FG_EUNAVAILABLE;
    s->stmt = fg_db__cached(db, sql);
    if (s->stmt == NULL)
        return fg_db__classify(db, db->last_errno); /* a prepare can meet a deadlock too (Galera) */
    return 0;
}

static MYSQL_BIND *next_param(fg_stmt_t *s)
{
    assert(s->param_count < FG_DB_BIND_MAX);
    MYSQL_BIND *b = &s->params[s->param_count];
    memset(b, 0, sizeof(*b));
    return b;
}

void fg_stmt_int(fg_stmt_t *s, int64_t v)
{
    MYSQL_BIND *b = next_param(s);
    s->param_ints[s->param_count] = v;
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &s->param_ints[s->param_count];
    s->param_count++;
}

void fg_stmt_null(fg_stmt_t *s)
{
    MYSQL_BIND *b = next_param(s);
    b->buffer_type = MYSQL_TYPE_NULL;
    s->param_count++;
}

void fg_stmt_int_or_null(fg_stmt_t *s, const int64_t *v)
{
    if (v == NULL)
        fg_stmt_null(s);
    else
        fg_stmt_int(s, *v);
}

static void bind_bytes(fg_stmt_t *s, enum enum_field_types type, const void *v, size_t len)
{
    MYSQL_BIND *b = next_param(s);
    s->param_lens[s->param_count] = len;
    b->buffer_type = type;
    b->buffer = (void *)v;
    b->buffer_length = len;
    b->length = &s->param_lens[s->param_count];
    s->param_count++;
}

void fg_stmt_str(fg_stmt_t *s, const char *v, size_t len) { bind_bytes(s, MYSQL_TYPE_STRING, v, len); }
void fg_stmt_blob(fg_stmt_t *s, const void *v, size_t len) { bind_bytes(s, MYSQL_TYPE_BLOB, v, len); }

void fg_stmt_value(fg_stmt_t *s, const fg_db_value_t *v)
{
    assert(v->type != FG_DB_V_ID);
    if (v->type == FG_DB_V_INT)
        fg_stmt_int(s, v->i);
    else if (v->type == FG_DB_V_STR)
        fg_stmt_str(s, v->s, v->len);
    else if (v->type == FG_DB_V_BLOB)
        fg_stmt_blob(s, v->s, v->len);
    else
        fg_stmt_null(s);
}

void fg_stmt_cstr(fg_stmt_t *s, const char *v)
{
    if (v == NULL)
        fg_stmt_null(s);
    else
        fg_stmt_str(s, v, strlen(v));
}

void fg_stmt_out_int(fg_stmt_t *s, int64_t *v, int *is_null)
{
    assert(s->result_count < FG_DB_BIND_MAX);
    int i = s->result_count++;
    s->result_ints[i] = v;
    s->result_int_nulls[i] = is_null;
    s->result_blobs[i] = NULL;
    s->result_enums[i] = NULL;
}

void fg_stmt_out_enum_int(fg_stmt_t *s, int *v, int count)
{
    assert(s->result_count < FG_DB_BIND_MAX && count > 0);
    int i = s->result_count++;
    s->result_ints[i] = NULL;
    s->result_int_nulls[i] = NULL;
    s->result_blobs[i] = NULL;
    s->result_enums[i] = v;
    s->result_enum_counts[i] = count;
}

void fg_stmt_out_text(fg_stmt_t *s, fg_buf_t *v, int *is_null)
{
    assert(s->result_count < FG_DB_BIND_MAX);
    int i = s->result_count++;
    s->result_ints[i] = NULL;
    s->result_int_nulls[i] = is_null;
    s->result_blobs[i] = v;
    s->result_enums[i] = NULL;
}

static int fail_stmt(fg_stmt_t *s)
{
    fg_db__remember_error(s->db, mysql_stmt_errno(s->stmt), mysql_stmt_error(s->stmt));
    return fg_db__classify(s->db, s->db->last_errno);
}

int fg_stmt_exec(fg_stmt_t *s)
{
    assert((unsigned long)s->param_count == mysql_stmt_param_count(s->stmt));
    if (s->param_count > 0 && mysql_stmt_bind_param(s->stmt, s->params) != 0)
        return fail_stmt(s);
    if (FG_DB_AWAIT(s->db, mysql_stmt_execute(s->stmt)) != 0)
        return fail_stmt(s);
    s->executed = 1;
    return 0;
}

int fg_db_bulk(fg_db_t *db, const char *sql, const fg_db_column_t *cols, int ncols, unsigned n, uint64_t *affected)
{
    MYSQL_BIND binds[FG_DB_BULK_COLS_MAX];
    assert(ncols > 0 && ncols <= FG_DB_BULK_COLS_MAX && n > 0);
    if (fg_db_ensure(db) != 0)
        return FG_EUNAVAILABLE;
    MYSQL_STMT *stmt = fg_db__cached(db, sql);
    if (stmt == NULL)
        return fg_db__classify(db, db->last_errno); /* a prepare can meet a deadlock too (Galera) */
    assert((unsigned long)ncols == mysql_stmt_param_count(stmt));
    memset(binds, 0, sizeof(binds[0]) * (size_t)ncols);
    for (int i = 0; i < ncols; i++) {
        if (cols[i].type == FG_DB_V_INT) {
            binds[i].buffer_type = MYSQL_TYPE_LONGLONG;
            binds[i].buffer = (void *)cols[i].ints;
        } else {
            /* column-wise: an array of pointers and one of lengths */
            binds[i].buffer_type = cols[i].type == FG_DB_V_BLOB ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
            binds[i].buffer = (void *)cols[i].data;
            binds[i].length = (unsigned long *)cols[i].lengths;
        }
    }
    unsigned size = n;
    int rc = 0;
    if (mysql_stmt_attr_set(stmt, STMT_ATTR_ARRAY_SIZE, &size) != 0 || mysql_stmt_bind_param(stmt, binds) != 0 ||
        FG_DB_AWAIT(db, mysql_stmt_execute(stmt)) != 0) {
        fg_db__remember_error(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
        rc = fg_db__classify(db, db->last_errno);
    } else if (affected != NULL) {
        *affected = mysql_stmt_affected_rows(stmt);
    }
    return rc;
}

uint64_t fg_stmt_affected(fg_stmt_t *s) { return mysql_stmt_affected_rows(s->stmt); }
uint64_t fg_stmt_insert_id(fg_stmt_t *s) { return mysql_stmt_insert_id(s->stmt); }

static void bind_results(fg_stmt_t *s)
{
    for (int i = 0; i < s->result_count; i++) {
        MYSQL_BIND *b = &s->results[i];
        memset(b, 0, sizeof(*b));
        b->is_null = &s->result_nulls[i];
        b->length = &s->result_lens[i];
        b->error = &s->result_errors[i];
        if (s->result_blobs[i] == NULL) {
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &s->result_int_store[i];
        } else {
            /* not reset: after the last row, fetch writes nothing and the
             * value of that row must survive */
            fg_buf_t *t = s->result_blobs[i];
            fg_buf_reserve(t, TEXT_INITIAL_CAP);
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = t->data;
            b->buffer_length = t->cap - 1;
        }
    }
}

static int store_column(fg_stmt_t *s, int i)
{
    int null = s->result_nulls[i];
    if (s->result_int_nulls[i] != NULL)
        *s->result_int_nulls[i] = null;
    if (s->result_enums[i] != NULL) {
        long long v = s->result_int_store[i];
        if (null || v < 0 || v >= s->result_enum_counts[i]) {
            fg_db__remember_error(s->db, 0, "a status column holds a value this code does not know");
            return FG_EDB;
        }
        *s->result_enums[i] = (int)v;
        return 0;
    }
    if (s->result_blobs[i] == NULL) {
        long long v = s->result_int_store[i];
        if (!null && s->result_errors[i] && (v == LLONG_MAX || v == LLONG_MIN)) {
            /* a sum (DECIMAL) beyond int64, clamped by the client: never a wrong figure */
            fg_db__remember_error(s->db, 0, "a number column holds a value beyond 64 bits");
            return FG_EOVERFLOW;
        }
        *s->result_ints[i] = null ? 0 : v;
        return 0;
    }
    fg_buf_t *t = s->result_blobs[i];
    size_t len = null ? 0 : s->result_lens[i];
    if (len > t->cap - 1) {
        fg_buf_reserve(t, len + 1);
        MYSQL_BIND b;
        memset(&b, 0, sizeof(b));
        b.buffer_type = MYSQL_TYPE_BLOB;
        b.buffer = t->data;
        b.buffer_length = len;
        if (mysql_stmt_fetch_column(s->stmt, &b, (unsigned)i, 0) != 0)
            return fail_stmt(s);
    }
    t->len = len;
    t->data[len] = '\0';
    return 0;
}

void fg_stmt_stream(fg_stmt_t *s) { s->stream = 1; }

int fg_stmt_fetch(fg_stmt_t *s)
{
    assert(s->executed);
    if (s->executed == 1) {
        assert((unsigned)s->result_count == mysql_stmt_field_count(s->stmt));
        if (!s->stream && FG_DB_AWAIT(s->db, mysql_stmt_store_result(s->stmt)) != 0)
            return fail_stmt(s);
        s->executed = 2;
    }
    bind_results(s);
    if (mysql_stmt_bind_result(s->stmt, s->results) != 0)
        return fail_stmt(s);
    /* a stored result is in memory; a streamed one comes from the server */
    int rc = s->stream ? FG_DB_AWAIT(s->db, mysql_stmt_fetch(s->stmt)) : mysql_stmt_fetch(s->stmt);
    if (rc == MYSQL_NO_DATA) {
        mysql_stmt_free_result(s->stmt);
        s->executed = 3;
        return 0;
    }
    if (rc != 0 && rc != MYSQL_DATA_TRUNCATED)
        return fail_stmt(s);
    for (int i = 0; i < s->result_count; i++) {
        int err = store_column(s, i);
        if (err != 0)
            return err;
    }
    return 1;
}

int fg_stmt_one(fg_stmt_t *s)
{
    int rc = fg_stmt_exec(s);
    if (rc != 0)
        return rc;
    rc = fg_stmt_fetch(s);
    fg_stmt_done(s);
    return rc < 0 ? rc : rc == 1 ? 0 : FG_ENOTFOUND;
}

int fg_db_one_int(fg_db_t *db, const char *sql, int64_t *v)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_out_int(&s, v, NULL);
    return fg_stmt_one(&s);
}

int fg_stmt_count_reaches(fg_stmt_t *s, int64_t at_least, int *reached)
{
    int64_t count = 0;
    fg_stmt_int(s, at_least);
    fg_stmt_out_int(s, &count, NULL);
    int rc = fg_stmt_one(s);
    if (rc != 0)
        return rc == FG_ENOTFOUND ? FG_EDB : rc; /* a COUNT(*) always has its row */
    *reached = count >= at_least;
    return 0;
}

void fg_db_log_failure(fg_db_t *db, const char *msg, int rc)
{
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_WARN, msg);
    fg_log_str(&l, "error", fg_strerror(rc));
    fg_log_str(&l, "detail", db != NULL ? fg_db_error(db) : "");
    fg_log_end(&l);
}

void fg_stmt_done(fg_stmt_t *s)
{
    if (s->stmt != NULL && s->executed && s->executed != 3) {
        mysql_stmt_free_result(s->stmt);
        s->executed = 3;
    }
}

/* ---- transactions -------------------------------------------------------- */

/* A Galera node can roll a transaction back under its client (a write from
 * another node needed its rows: a "brute force" abort) and, seen here about
 * once in ten runs of twelve racing refunds, let the client's next statements
 * run without an error, in a new transaction that COMMIT then ends: the body's
 * first writes gone, its last ones committed, its answer given.  So on a
 * cluster fg_db_tx makes a row in a temporary table its transaction's first
 * write and deletes it just before COMMIT: a transaction that lost it is not
 * the one the body began, and is rolled back and run again. */
static const char SQL_CANARY_IN[] = "INSERT INTO fg_tx_alive SELECT 1";
static const char SQL_CANARY_OUT[] = "DELETE FROM fg_tx_alive";

/* Runs sql, a statement without parameters or rows. */
static int run(fg_db_t *db, const char *sql, uint64_t *affected)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0 || (rc = fg_stmt_exec(&s)) != 0)
        return rc;
    *affected = fg_stmt_affected(&s);
    return 0;
}

static void say_lost(fg_db_t *db)
{
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_WARN, "database: the cluster rolled the transaction back without an error; run again");
    fg_log_end(&l);
    fg_db__remember_error(db, ER_LOCK_DEADLOCK, "the transaction was rolled back by the cluster");
}

/* The transaction still holds its canary row: 1, or 0 when it does not (or
 * the question failed, which a lost transaction also explains). */
static int canary_alive(fg_db_t *db)
{
    static const char sql[] = "SELECT COUNT(*) FROM fg_tx_alive";
    fg_stmt_t s;
    int64_t n = 0;
    if (fg_stmt_init(&s, db, sql) != 0)
        return 0;
    fg_stmt_out_int(&s, &n, NULL);
    if (fg_stmt_one(&s) != 0 || n != 1) {
        say_lost(db);
        return 0;
    }
    return 1;
}

int fg_db_commit(fg_db_t *db)
{
    db->tx_serial++; /* committed or not, what follows is another transaction */
    int rc = fg_db__flush(db);
    if (rc != 0)
        return rc;
    if (db->canary) {
        uint64_t out = 0;
        db->canary = 0;
        if ((rc = run(db, SQL_CANARY_OUT, &out)) != 0)
            return rc;
        if (out != 1) {
            say_lost(db);
            return FG_ERETRY;
        }
    }
    db->commit_sent = 1;
    if (fg_db_commit_fault != NULL)
        fg_db_commit_fault(db);
    if (FG_DB_AWAIT(db, mysql_commit(db->mysql)) != 0) {
        fg_db__remember_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
        return fg_db__classify(db, db->last_errno);
    }
    return 0;
}

uint64_t fg_db_tx_serial(const fg_db_t *db) { return db->tx_serial; }

void fg_db_rollback(fg_db_t *db)
{
    db->tx_serial++;
    fg_db__discard(db);
    db->canary = 0;
    if (db->mysql == NULL || db->broken)
        return;
    if (FG_DB_AWAIT(db, mysql_rollback(db->mysql)) != 0) {
        fg_db__remember_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
        fg_db__classify(db, db->last_errno);
    }
}

void fg_db_end(fg_db_t *db)
{
    unsigned int status = 0;
    if (db->mysql == NULL || db->broken)
        return;
    if (mariadb_get_infov(db->mysql, MARIADB_CONNECTION_SERVER_STATUS, &status) != 0 ||
        (status & SERVER_STATUS_IN_TRANS) != 0)
        fg_db_rollback(db);
}

static void backoff(fg_db_t *db, int attempt)
{
    /* Jittered exponential backoff: 1..2^attempt ms, so racing transactions
     * that deadlocked do not collide again in lockstep. */
    long span_ms = 1L << (attempt < 8 ? attempt : 8);
    long ms = 1 + (long)(rand_r(&db->jitter_seed) % span_ms);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char SQL_REPEATABLE[] = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ";

/* The trigger-load fault (fg_db__classify) can outlive the transaction it
 * hit: the node keeps the wrongly loaded triggers with the table in its table
 * cache, and every statement on that table fails the same way until the
 * server evicts it (seconds).  A transaction that meets the fault a second
 * time evicts the node's tables itself (FLUSH LOCAL TABLES: this node
 * only, never replicated), so the next attempt loads the triggers again.
 * The flush marks every table for reopening and then waits, up to
 * lock_wait_timeout, for the statements using them to end; a statement
 * waiting for a row lock held by a transaction whose next statement waits
 * for the flush never ends, and with the server's default (a day) the flush
 * held its own transaction and that one's until the read timeout (60 s in
 * the Galera suite: its refund race).  So the flush waits a second at
 * most: the tables in use are reopened after their statements anyway.  At
 * most one eviction per process every EVICT_EVERY_MS; without the RELOAD
 * privilege, said once and never tried again. */
#define EVICT_EVERY_MS 200
#define EVICT_SQL "SET STATEMENT lock_wait_timeout = 1 FOR FLUSH LOCAL TABLES"
static int64_t evicted_at_ms; /* atomic */
static int evict_refused;     /* atomic */

static void evict_tables(fg_db_t *db)
{
    int64_t now = fg_now_ms(), last = __atomic_load_n(&evicted_at_ms, __ATOMIC_RELAXED);
    if (__atomic_load_n(&evict_refused, __ATOMIC_RELAXED) || now - last < EVICT_EVERY_MS ||
        !__atomic_compare_exchange_n(&evicted_at_ms, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;
    fg_log_t l;
    if (mysql_query(db->mysql, EVICT_SQL) != 0) {
        unsigned err = mysql_errno(db->mysql);
        if (err == ER_LOCK_WAIT_TIMEOUT) {
            fg_log_begin(&l, FG_LOG_WARN,
                         "database: evicted the node's unused tables (the ones in use are "
                         "reopened after their statements)");
            fg_log_end(&l);
            return;
        }
        int refused = err == ER_SPECIFIC_ACCESS_DENIED_ERROR || err == ER_DBACCESS_DENIED_ERROR;
        fg_log_begin(&l, FG_LOG_WARN,
                     refused ? "database: cannot evict the node's tables after a trigger-load "
                               "fault: grant feegate RELOAD (docs/GALERA.md)"
                             : "database: evicting the node's tables failed");
        fg_log_str(&l, "detail", mysql_error(db->mysql));
        fg_log_end(&l);
        if (refused)
            __atomic_store_n(&evict_refused, 1, __ATOMIC_RELAXED);
        else
            fg_db__classify(db, err);
        return;
    }
    fg_log_begin(&l, FG_LOG_WARN, "database: evicted the node's tables after a repeated trigger-load fault");
    fg_log_end(&l);
}

static int tx_run(fg_db_t *db, fg_db_tx_fn fn, void *arg, int repeatable);

int fg_db_tx(fg_db_t *db, fg_db_tx_fn fn, void *arg) { return tx_run(db, fn, arg, 0); }

int fg_db_tx_repeatable(fg_db_t *db, fg_db_tx_fn fn, void *arg) { return tx_run(db, fn, arg, 1); }

typedef struct {
    const char *sql;
    const int64_t *args;
    int n, deleted;
} prune_t;

static int prune_tx(fg_db_t *db, void *arg)
{
    prune_t *p = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, p->sql);
    if (rc != 0)
        return rc;
    for (int i = 0; i < p->n; i++)
        fg_stmt_int(&s, p->args[i]);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    p->deleted = (int)fg_stmt_affected(&s);
    return 0;
}

int fg_db_prune(fg_db_t *db, const char *sql, const int64_t *args, int n)
{
    prune_t p = {sql, args, n, 0};
    int rc = fg_db_tx(db, prune_tx, &p);
    return rc != 0 ? rc : p.deleted;
}

int fg_db_commit_unknown(const fg_db_t *db) { return db->commit_unknown; }

void (*fg_db_commit_fault)(fg_db_t *db);

static int tx_run(fg_db_t *db, fg_db_tx_fn fn, void *arg, int repeatable)
{
    int rc = FG_ERETRY;
    db->commit_unknown = 0;
    for (int attempt = 1; attempt <= FG_DB_TX_ATTEMPTS_MAX; attempt++) {
        if (fg_db_ensure(db) != 0)
            return FG_EUNAVAILABLE;
        fg_db_end(db); /* start from a clean transaction */
        fg_db__discard(db);
        db->canary = 0;
        db->commit_sent = 0;
        uint64_t unused = 0;
        rc = 0;
        if (repeatable) /* before the transaction's first statement: it applies to the next one */
            rc = run(db, SQL_REPEATABLE, &unused);
        if (rc == 0 && db->cluster && (rc = run(db, SQL_CANARY_IN, &unused)) == 0)
            db->canary = 1;
        if (rc == 0)
            rc = fn(db, arg);
        /* a body that failed on what it had written itself (its refund row
         * gone, say) may have lost its transaction, not met a real refusal */
        if (rc != 0 && rc != FG_ERETRY && rc != FG_EUNAVAILABLE && db->canary && !canary_alive(db))
            rc = FG_ERETRY;
        if (rc == 0)
            rc = fg_db_commit(db);
        if (rc == 0)
            return 0;
        int sent = db->commit_sent;
        fg_db_rollback(db);
        /* The server went away before COMMIT was sent (in the body, or while
         * the deferred rows went out): nothing was written (an open
         * transaction dies with its connection), so the body runs again on
         * the next server that answers (a cluster's other node).  Lost during
         * COMMIT, the outcome is unknown: the caller hears so
         * (fg_db_commit_unknown) and must not run the work again itself. */
        if (rc == FG_EUNAVAILABLE && !sent && db->broken) {
            backoff(db, attempt);
            continue;
        }
        db->commit_unknown = rc == FG_EUNAVAILABLE && sent;
        if (rc != FG_ERETRY)
            return rc;
        if (db->trigger_fault && attempt >= 2 && !db->broken)
            evict_tables(db);
        backoff(db, attempt);
    }
    return rc;
}

int fg_db_begin_snapshot(fg_db_t *db)
{
    static const char RR[] = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ";
    static const char SNAPSHOT[] = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
    fg_db_end(db);
    int rc = fg_db_exec_text(db, RR, sizeof(RR) - 1);
    return rc != 0 ? rc : fg_db_exec_text(db, SNAPSHOT, sizeof(SNAPSHOT) - 1);
}

int fg_db_exec_text(fg_db_t *db, const char *sql, size_t len)
{
    if (fg_db_ensure(db) != 0)
        return FG_EUNAVAILABLE;
    if (FG_DB_AWAIT(db, mysql_real_query(db->mysql, sql, len)) != 0) {
        fg_db__remember_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
        return fg_db__classify(db, db->last_errno);
    }
    /* Drain any result sets (a migration may hold several statements). */
    do {
        MYSQL_RES *res = mysql_store_result(db->mysql);
        if (res != NULL)
            mysql_free_result(res);
    } while (mysql_next_result(db->mysql) == 0);
    if (mysql_errno(db->mysql) != 0) {
        fg_db__remember_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
        return fg_db__classify(db, db->last_errno);
    }
    return 0;
}
