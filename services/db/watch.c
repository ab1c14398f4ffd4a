/*
 * watch.c - the answer watch: a Galera node that never answers a statement.
 *
 * A node that aborts a transaction for a replicated write ("brute force")
 * while it executes one of the transaction's prepared statements can drop
 * the statement's answer: the server's thread goes back to waiting for the
 * next command (PROCESSLIST says Sleep, the transaction still open) while
 * the client waits for an answer that never comes, until db.read_timeout_s
 * (30 s) ends the wait and the connection.  Seen in the refund race of
 * tests/galera (twelve refunds of one payment on three nodes): two rounds in
 * five stalled 30 s in the SELECT … FOR UPDATE that locks a refund set's
 * payments.  The same abort can also leave the server's thread stuck as
 * "Killed" (its kill never finished) while the client waits: seen in the
 * same suite, the thread stayed so until the client's read timeout closed
 * the socket (60 s: the thread went the moment the socket closed), and the
 * suite's next requests on every node then waited seconds in COMMIT
 * ("Waiting for certification").  Closing the client's socket is what lets
 * such a thread finish.
 *
 * The watch is one thread.  Every cluster connection says when it starts and
 * ends each wait for the server (fg_db__wait, fg_db__waited in
 * db_internal.h).  Once a second the thread looks at the waits older than
 * WAIT_MS; for each it asks that connection's node, on a connection of its
 * own, what the server thread is doing.  A server thread idle (or killed)
 * for IDLE_MS while its client still waits has nothing more to send: the
 * watch shuts the client's socket down, the waiting call fails as a lost connection,
 * and fg_db_tx runs the transaction again on a new connection (one lost
 * before COMMIT was sent wrote nothing; the node rolls the open transaction
 * back when the socket closes).  A wait the node is still working on (a
 * lock wait, a long read, a COMMIT being certified) is never touched.
 */
#include "db/db_internal.h"
#include "core/log.h"
#include "core/text.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A wait this old is looked at; the node's thread idle this long while it
 * lasts means the answer was lost.  Both well above any scheduling delay. */
#define WAIT_MS 3000
#define IDLE_MS 2000
#define ROUND_MS 1000
#define SUSPECTS_MAX 64

static pthread_mutex_t watch_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static fg_db_t *watched; /* the connections watched, linked by watch_next */
/* what the watch's own connections need of the configuration (user, password,
 * database, timeouts: the process's, which lives as long as it does) */
static fg_config_t watch_cfg;
/* the watch's own connection to each server it has asked (writers' and readers') */
#define ASKERS_MAX (2 * FG_DB_NODES_MAX)
static struct {
    fg_db_node_t node;
    fg_db_t *db;
} askers[ASKERS_MAX];
static int askers_used;
static unsigned long long dropped; /* answers found lost (atomic) */

typedef struct {
    fg_db_t *db;
    uint64_t wait;
    unsigned long thread;
    fg_db_node_t node;
} suspect_t;

static const char SQL_SERVER_THREAD[] =
    "SELECT COMMAND, CAST(TIME_MS AS SIGNED) FROM information_schema.PROCESSLIST WHERE ID = ?";

/* 1 when the node's thread for the connection is idle for IDLE_MS or more
 * (its answer sent or dropped), 2 when it is killed as long (its kill not
 * finishing while the client holds the socket: a statement's rollback here
 * takes milliseconds), 0 when it works or the node cannot say. */
static int idle_on_node(const fg_db_node_t *node, unsigned long thread)
{
    int k = 0;
    while (k < askers_used && (strcmp(askers[k].node.socket, node->socket) != 0 ||
                               strcmp(askers[k].node.host, node->host) != 0 || askers[k].node.port != node->port))
        k++;
    if (k == ASKERS_MAX)
        return 0;
    if (k == askers_used)
        askers[askers_used++].node = *node;
    if (askers[k].db != NULL && askers[k].db->broken) {
        /* made again at its own server: fg_db_ensure would try the list's first */
        fg_db_close(askers[k].db);
        askers[k].db = NULL;
    }
    if (askers[k].db == NULL && fg_db__open_at(&askers[k].db, &watch_cfg, node) != 0)
        return 0;
    fg_db_t *asker = askers[k].db;
    fg_stmt_t s;
    fg_buf_t command = FG_BUF_INIT;
    int64_t idle_ms = 0;
    int idle = 0;
    if (fg_stmt_init(&s, asker, SQL_SERVER_THREAD) == 0) {
        fg_stmt_int(&s, (int64_t)thread);
        fg_stmt_out_text(&s, &command, NULL);
        fg_stmt_out_int(&s, &idle_ms, NULL);
        if (fg_stmt_one(&s) == 0 && command.data != NULL && idle_ms >= IDLE_MS)
            idle = strcmp(command.data, "Sleep") == 0 ? 1 : strcmp(command.data, "Killed") == 0 ? 2 : 0;
    }
    fg_db_end(asker);
    fg_buf_free(&command);
    return idle;
}

/* Under watch_mutex: the waits old enough to be looked at. */
static int suspects(suspect_t *out, int64_t now)
{
    int n = 0;
    for (fg_db_t *db = watched; db != NULL && n < SUSPECTS_MAX; db = db->watch_next) {
        int64_t since = __atomic_load_n(&db->wait_since_ms, __ATOMIC_ACQUIRE);
        if (since != 0 && now - since >= WAIT_MS)
            out[n++] = (suspect_t){db, __atomic_load_n(&db->waits, __ATOMIC_ACQUIRE), db->server_thread,
                                   db->watch_node};
    }
    return n;
}

/* Under watch_mutex: s's connection is still watched, on the same server
 * thread (not a new connection at the same address), in the same wait. */
static int still_waiting(const suspect_t *s)
{
    for (fg_db_t *db = watched; db != NULL; db = db->watch_next)
        if (db == s->db)
            return db->server_thread == s->thread && __atomic_load_n(&db->waits, __ATOMIC_ACQUIRE) == s->wait &&
                   __atomic_load_n(&db->wait_since_ms, __ATOMIC_ACQUIRE) != 0;
    return 0;
}

static void *watch_main(void *arg)
{
    (void)arg;
    suspect_t found[SUSPECTS_MAX];
    mysql_thread_init();
    for (;;) {
        fg_sleep_ms(ROUND_MS);
        pthread_mutex_lock(&watch_mutex);
        int n = suspects(found, fg_now_ms());
        pthread_mutex_unlock(&watch_mutex);
        for (int i = 0; i < n; i++) {
            int idle = idle_on_node(&found[i].node, found[i].thread);
            if (idle == 0)
                continue;
            pthread_mutex_lock(&watch_mutex);
            int lost = still_waiting(&found[i]);
            if (lost) /* the socket stays open until fg_db__unwatch, which takes the mutex */
                shutdown(found[i].db->watch_fd, SHUT_RDWR);
            pthread_mutex_unlock(&watch_mutex);
            if (lost) {
                __atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
                fg_log_t l;
                fg_log_begin(&l, FG_LOG_WARN,
                             "database: the node left a statement without an answer; connection dropped, the "
                             "transaction runs again");
                fg_log_int(&l, "server_thread", (int64_t)found[i].thread);
                fg_log_str(&l, "server_thread_was", idle == 2 ? "killed" : "idle");
                fg_log_end(&l);
            }
        }
    }
    return NULL;
}

static void start(void)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, watch_main, NULL) != 0) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "database: the answer watch did not start");
        fg_log_end(&l);
    }
    pthread_attr_destroy(&attr);
}

void fg_db__watch(fg_db_t *db, const fg_db_node_t *node)
{
    if (db->unwatched || !db->cluster || db->watch_on)
        return;
    db->server_thread = mysql_thread_id(db->mysql);
    db->watch_fd = mysql_get_socket(db->mysql);
    __atomic_store_n(&db->wait_since_ms, 0, __ATOMIC_RELEASE);
    pthread_mutex_lock(&watch_mutex);
    if (watch_cfg.db_user == NULL)
        watch_cfg = *db->cfg;
    db->watch_node = *node;
    db->watch_next = watched;
    watched = db;
    db->watch_on = 1;
    pthread_mutex_unlock(&watch_mutex);
    pthread_once(&watch_once, start);
}

void fg_db__unwatch(fg_db_t *db)
{
    if (!db->watch_on)
        return;
    pthread_mutex_lock(&watch_mutex);
    for (fg_db_t **p = &watched; *p != NULL; p = &(*p)->watch_next)
        if (*p == db) {
            *p = db->watch_next;
            break;
        }
    db->watch_on = 0;
    pthread_mutex_unlock(&watch_mutex);
}

unsigned long long fg_db_answers_lost(void) { return __atomic_load_n(&dropped, __ATOMIC_RELAXED); }
