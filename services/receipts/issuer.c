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

/* Receipts per transaction: a few hundred statements, well under a second. */
#define ISSUE_BATCH 100
/* How often the job looks at an empty queue. */
#define ISSUE_POLL_MS 200

typedef struct {
    int issued;
} round_t;

static int round_tx(fg_db_t *db, void *arg)
{
    round_t *r = arg;
    return fg_receipt_issue_queued(db, NULL, ISSUE_BATCH, &r->issued);
}

static struct {
    const fg_config_t *cfg;
    pthread_t thread;
    atomic_int stop;
    int started;
} job;

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
        if (fg_db_ensure(db) == 0) {
            int rc = fg_db_tx(db, round_tx, &r);
            if (rc != 0)
                fg_db_log_failure(db, "receipts not issued", rc);
        }
        if (r.issued == ISSUE_BATCH)
            continue; /* more are queued */
        for (int slept = 0; slept < ISSUE_POLL_MS && !atomic_load(&job.stop); slept += 10) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
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
    atomic_store(&job.stop, 1);
    pthread_join(job.thread, NULL);
    job.started = 0;
}
