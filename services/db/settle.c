/*
 * settle.c - settle points: the highest id below which nothing can still
 * commit (settle.h has the argument).
 */
#include "db/settle.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include <time.h>
#include "core/log.h"

/* Read-write transactions only: a read-only one has id 0 and cannot have
 * taken an id (settle.h's rule).  The observer's own connection is left out. */
static const char SQL_OPEN_TRX[] = "SELECT trx_id, trx_mysql_thread_id FROM information_schema.INNODB_TRX "
                                   "WHERE trx_id <> 0 AND trx_mysql_thread_id <> CONNECTION_ID()";
static const char SQL_PROBE_ID[] = "SELECT CONNECTION_ID()";
static const char SQL_PROBE_BEGIN[] = "INSERT INTO settle_probes (connection_id) VALUES (?)";

/* InnoDB refreshes its copy of the transaction list when nobody has read it
 * for 100 ms (CACHE_MIN_IDLE_TIME_US); a stale read is retried after this. */
#define PROBE_RETRY_MS 120
/* Retries before giving up: something else reading INNODB_TRX without pause
 * keeps the copy from ever being refreshed. */
#define PROBE_ATTEMPTS_MAX 25

static int by_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Opens the probe's write transaction (rolled back by the caller). */
static int probe_begin(fg_db_t *db, fg_settle_probe_t *probe)
{
    fg_stmt_t s;
    int rc;
    if (probe->db == NULL) {
        char err[256];
        if (fg_db_open(&probe->db, fg_db_config(db), err, sizeof(err)) != 0)
            return FG_EUNAVAILABLE;
        probe->thread_id = 0;
    } else if ((rc = fg_db_ensure(probe->db)) != 0) {
        return rc;
    }
    if (probe->thread_id == 0) {
        /* a new connection: ids only grow, so any probe row of it is new */
        probe->last_trx_id = 0;
        if ((rc = fg_stmt_init(&s, probe->db, SQL_PROBE_ID)) != 0)
            return rc;
        fg_stmt_out_int(&s, &probe->thread_id, NULL);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        rc = fg_stmt_fetch(&s);
        fg_stmt_done(&s);
        if (rc != 1)
            return rc < 0 ? rc : FG_EDB;
    }
    fg_db_end(probe->db);
    if ((rc = fg_stmt_init(&s, probe->db, SQL_PROBE_BEGIN)) != 0)
        return rc;
    fg_stmt_int(&s, probe->thread_id);
    return fg_stmt_exec(&s);
}

/* One read of the list into list[]; *fresh when it shows the probe's open
 * transaction. */
static int read_open_trx(fg_db_t *db, fg_settle_probe_t *probe, uint64_t *list, int *count, int *fresh)
{
    fg_stmt_t s;
    int64_t id = 0, thread = 0;
    int rc, n = 0;
    *fresh = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_OPEN_TRX)) != 0)
        return rc;
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_int(&s, &thread, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (thread == probe->thread_id && (uint64_t)id > probe->last_trx_id) {
            probe->last_trx_id = (uint64_t)id;
            *fresh = 1;
            continue; /* the probe took no id of any table */
        }
        if (n == FG_SETTLE_TRX_MAX) {
            fg_stmt_done(&s);
            rc = FG_ETOOLONG;
            break;
        }
        list[n++] = (uint64_t)id;
    }
    fg_db_end(db);
    *count = n;
    return rc;
}

/* The read-write transactions open now (at a moment after this call
 * began), sorted, into a new array. */
static int open_trx(fg_db_t *db, fg_settle_probe_t *probe, uint64_t **out, int *count)
{
    uint64_t *list = fg_calloc(FG_SETTLE_TRX_MAX, sizeof(*list));
    int rc, fresh = 0, n = 0;
    *out = NULL;
    *count = 0;
    if ((rc = probe_begin(db, probe)) == 0) {
        for (int attempt = 0; attempt < PROBE_ATTEMPTS_MAX && !fresh; attempt++) {
            if (attempt > 0)
                fg_sleep_ms(PROBE_RETRY_MS);
            if ((rc = read_open_trx(db, probe, list, &n, &fresh)) != 0)
                break;
        }
        if (rc == 0 && !fresh)
            rc = FG_EUNAVAILABLE;
    }
    if (probe->db != NULL)
        fg_db_rollback(probe->db);
    if (rc != 0) {
        free(list);
        return rc;
    }
    qsort(list, (size_t)n, sizeof(*list), by_id);
    *out = list;
    *count = n;
    return 0;
}

void fg_settle_probe_close(fg_settle_probe_t *probe)
{
    fg_db_close(probe->db);
    memset(probe, 0, sizeof(*probe));
}

/* The marks: one fresh READ COMMITTED statement, which sees every commit
 * before it. */
static int read_marks(fg_db_t *db, const char *mark_sql, int mark_count, int64_t *marks)
{
    fg_stmt_t s;
    int rc;
    assert(mark_count >= 1 && mark_count <= FG_SETTLE_MARKS_MAX);
    fg_db_end(db);
    if ((rc = fg_stmt_init(&s, db, mark_sql)) != 0)
        return rc;
    for (int i = 0; i < mark_count; i++)
        fg_stmt_out_int(&s, &marks[i], NULL);
    rc = fg_stmt_one(&s);
    fg_db_end(db);
    return rc == FG_ENOTFOUND ? FG_EDB : rc;
}

int fg_settle_observe(fg_db_t *db, fg_settle_probe_t *probe, const char *mark_sql, int mark_count, int64_t now_ms,
                      fg_settle_point_t *p)
{
    int rc;
    memset(p, 0, sizeof(*p));
    if ((rc = read_marks(db, mark_sql, mark_count, p->mark)) != 0)
        return rc;
    /* A Galera node lists only its own open transactions, and an id another
     * node handed out may be below the mark and commit later: no proof. */
    if (fg_db_in_cluster(db))
        return FG_EUNSUPPORTED;
    /* only after the marks: S must hold every writer that took an id below them */
    if ((rc = open_trx(db, probe, &p->trx, &p->trx_count)) != 0)
        return rc;
    p->taken_ms = now_ms;
    return 0;
}

/* The first id of p's S that is still in the sorted open list, or 0. */
static uint64_t still_open(const fg_settle_point_t *p, const uint64_t *open, int open_count)
{
    int i = 0, k = 0;
    while (i < p->trx_count && k < open_count) {
        if (p->trx[i] == open[k])
            return p->trx[i];
        if (p->trx[i] < open[k])
            i++;
        else
            k++;
    }
    return 0;
}

int fg_settle_reached(fg_db_t *db, fg_settle_probe_t *probe, const fg_settle_point_t *p, int *reached,
                      uint64_t *blocker)
{
    uint64_t *open = NULL;
    int open_count = 0;
    int rc = open_trx(db, probe, &open, &open_count);
    if (rc != 0)
        return rc;
    uint64_t first = still_open(p, open, open_count);
    free(open);
    *reached = first == 0;
    if (blocker != NULL)
        *blocker = first;
    return 0;
}

void fg_settle_point_free(fg_settle_point_t *p)
{
    free(p->trx);
    p->trx = NULL;
    p->trx_count = 0;
}

int fg_settle_round(fg_db_t *db, fg_settle_queue_t *q, int64_t now_ms)
{
    fg_settle_point_t p;
    int rc = fg_settle_observe(db, &q->probe, q->mark_sql, q->mark_count, now_ms, &p);
    if (rc != 0) {
        fg_settle_point_free(&p);
        return rc;
    }
    /* p's list is fresh for every older point too: newest first, a reached
     * point settles every older one */
    int reached = -1;
    for (int i = q->count - 1; i >= 0 && reached < 0; i--)
        if (still_open(&q->pending[i], p.trx, p.trx_count) == 0)
            reached = i;
    if (reached >= 0) {
        for (int m = 0; m < q->mark_count; m++)
            if (q->pending[reached].mark[m] > q->settled[m])
                q->settled[m] = q->pending[reached].mark[m];
        for (int i = 0; i <= reached; i++)
            fg_settle_point_free(&q->pending[i]);
        memmove(&q->pending[0], &q->pending[reached + 1], (size_t)(q->count - reached - 1) * sizeof(q->pending[0]));
        q->count -= reached + 1;
    }
    if (q->count == FG_SETTLE_PENDING_MAX)
        fg_settle_point_free(&q->pending[--q->count]); /* keep the oldest: it settles first */
    q->pending[q->count++] = p;
    return 0;
}

void fg_settle_queue_free(fg_settle_queue_t *q)
{
    for (int i = 0; i < q->count; i++)
        fg_settle_point_free(&q->pending[i]);
    q->count = 0;
    fg_settle_probe_close(&q->probe);
}

int fg_settle_shared_poll(fg_settle_shared_t *s, fg_db_t *db, int64_t now_ms, int64_t *settled)
{
    int rc = 0;
    if (now_ms >= atomic_load(&s->next_round_ms) && pthread_mutex_trylock(&s->mutex) == 0) {
        if (now_ms >= atomic_load(&s->next_round_ms)) {
            rc = fg_settle_round(db, &s->queue, now_ms);
            if (rc == FG_EUNSUPPORTED && !s->failing)
                fg_db_log_failure(db,
                                  "no settle points on a Galera cluster: ledger checkpoints and report rollups wait "
                                  "(balances and reports read the ledger instead) and webhook gaps expire by age",
                                  rc);
            else if (rc != 0 && !s->failing)
                fg_db_log_failure(db,
                                  "settle point failed: ledger checkpoints wait, and webhook gaps expire by age after "
                                  "a minute, until one works (needs the PROCESS privilege)",
                                  rc);
            if (rc == 0)
                atomic_store(&s->failing_since_ms, 0);
            else if (!s->failing)
                atomic_store(&s->failing_since_ms, now_ms);
            s->failing = rc != 0;
            for (int m = 0; m < s->queue.mark_count; m++)
                atomic_store(&s->published[m], s->queue.settled[m]);
            atomic_store(&s->next_round_ms, now_ms + FG_SETTLE_SHARED_INTERVAL_MS);
        }
        pthread_mutex_unlock(&s->mutex);
    }
    for (int m = 0; m < s->queue.mark_count; m++)
        settled[m] = atomic_load(&s->published[m]);
    return rc;
}

int64_t fg_settle_shared_failing_ms(fg_settle_shared_t *s, int64_t now_ms)
{
    int64_t since = atomic_load(&s->failing_since_ms);
    return since == 0 ? 0 : now_ms > since ? now_ms - since : 1;
}

void fg_settle_shared_free(fg_settle_shared_t *s)
{
    pthread_mutex_lock(&s->mutex);
    fg_settle_queue_free(&s->queue);
    pthread_mutex_unlock(&s->mutex);
}
