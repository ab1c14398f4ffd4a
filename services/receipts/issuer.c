/*
 * issuer.c - the receipt issuer of `feegate serve`: numbers and writes the
 * receipts that payments queued (store.c, fg_receipt_issue_queued), a batch
 * per transaction, every instance at once (SKIP LOCKED keeps them apart; a
 * merchant's series counter, locked to COMMIT, keeps its numbers gapless).
 * Reads issue a queued receipt themselves (fg_receipt_ensure), so the job's
 * lag is never seen; it keeps the queue short.
 */
#include "receipts/receipts.h"

#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "core/log.h"
#include "core/text.h"

/* Receipts per transaction: a few hundred statements, well under a second. */
#define ISSUE_BATCH 200
/* While payments come in, the job looks at the queue every ISSUE_POLL_MS and
 * issues all that waits, in batches; a payment's wake does not cut that
 * sleep short.  A round has costs of its own besides its receipts' (the
 * claim's walk past the queue's deleted rows, the details read, the COMMIT):
 * woken by every notification set, the job issued ~40 receipts a round at
 * about 3,000 payments/s, and its rounds took a fifth of the database's time
 * on that path; a round every 50 ms issues them ~150 at a time, and keeps
 * the queue short for the reads that issue themselves (below).  The job
 * keeps polling for ISSUE_ACTIVE_MS after the last payment; then it sleeps
 * until the next payment wakes it, or ISSUE_IDLE_MS: an idle issuer sends no
 * queries (the settle points' probes read InnoDB's list of open
 * transactions, and a job querying all the time keeps that list busy).  A
 * receipt queued by another instance meanwhile is issued by the first read
 * of it, or by the next round; reads never wait for the job (store.c,
 * fg_receipt_ensure). */
#define ISSUE_ACTIVE_MS 3000
#define ISSUE_IDLE_MS 60000
#define ISSUE_POLL_MS 50

typedef struct {
    int issued;
} round_t;

static int round_tx(fg_db_t *db, void *arg)
{
    round_t *r = arg;
    return fg_receipt_issue_queued(db, NULL, ISSUE_BATCH, &r->issued);
}

/* Whether anything is queued: a plain read, no transaction left open, so an
 * idle issuer adds nothing to the list of open transactions the settle
 * points read (db/settle.h). */
static int queued(fg_db_t *db)
{
    static const char SQL_ANY[] = "SELECT EXISTS (SELECT 1 FROM receipt_queue)";
    int64_t any = 0;
    int rc = fg_db_one_int(db, SQL_ANY, &any);
    fg_db_end(db);
    return rc == 0 && any != 0;
}

static struct {
    const fg_config_t *cfg;
    pthread_t thread;
    atomic_int stop;
    int started;
    atomic_llong woken_ms;
    atomic_int resting; /* in the long sleep: a wake ends it */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
} job = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

void fg_receipts_wake(void)
{
    /* every payment calls this: only a resting job is signalled (the store
     * of woken_ms before the load of resting, and the job's store of
     * resting before its load of woken_ms, are sequentially consistent, so
     * one of the two sees the other) */
    atomic_store(&job.woken_ms, (long long)fg_now_ms());
    if (!atomic_load(&job.resting))
        return;
    pthread_mutex_lock(&job.mutex);
    pthread_cond_signal(&job.cond);
    pthread_mutex_unlock(&job.mutex);
}

static int active(void) { return fg_now_ms() - (int64_t)atomic_load(&job.woken_ms) < ISSUE_ACTIVE_MS; }

/* Sleeps ISSUE_POLL_MS while payments come in; else until woken, told to
 * stop, or ISSUE_IDLE_MS. */
static void idle(void)
{
    pthread_mutex_lock(&job.mutex);
    atomic_store(&job.resting, 1); /* before woken_ms is read: fg_receipts_wake */
    int rest = !active();
    atomic_store(&job.resting, rest);
    int64_t ms = rest ? ISSUE_IDLE_MS : ISSUE_POLL_MS;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    if (!atomic_load(&job.stop))
        pthread_cond_timedwait(&job.cond, &job.mutex, &until);
    atomic_store(&job.resting, 0);
    pthread_mutex_unlock(&job.mutex);
}

static void *job_main(void *arg)
{
    (void)arg;
    fg_db_t *db = NULL;
    char err[256];
    mysql_thread_init();
    if (fg_db_open(&db, job.cfg, err, sizeof(err)) != 0) {
        /* the database is down: fg_db_ensure reconnects on every round */
    }
    while (!atomic_load(&job.stop)) {
        round_t r = {0};
        if (fg_db_ensure(db) == 0 && queued(db)) {
            int rc = fg_db_tx(db, round_tx, &r);
            if (rc != 0)
                fg_db_log_failure(db, "receipts not issued", rc);
        }
        if (r.issued == ISSUE_BATCH)
            continue; /* more are queued */
        idle();
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

int fg_receipts_start(const fg_config_t *cfg)
{
    if (job.started)
        return 0;
    job.cfg = cfg;
    atomic_store(&job.stop, 0);
    if (pthread_create(&job.thread, NULL, job_main, NULL) != 0)
        return FG_EIO;
    job.started = 1;
    return 0;
}

void fg_receipts_stop(void)
{
    if (!job.started)
        return;
    pthread_mutex_lock(&job.mutex);
    atomic_store(&job.stop, 1);
    pthread_cond_signal(&job.cond);
    pthread_mutex_unlock(&job.mutex);
    pthread_join(job.thread, NULL);
    job.started = 0;
}
