/*
 * job.c - the sequencer thread of `feegate serve`.
 *
 * Every instance runs one; their passes take turns on the sequencer's row
 * (a pass that finds it held skips its turn rather than queue behind it).
 * While rows wait, passes follow each other every SEQUENCE_BUSY_MS, back to
 * back while they come back full; idle, a probe of two indexes every
 * SEQUENCE_IDLE_MS.  A change is therefore in the feed some tens of
 * milliseconds after it commits, and at once for a reader, which runs a
 * pass itself before reading (fg_changes_catch_up).
 */
#include "changes/changes.h"

#include <pthread.h>
#include <stdatomic.h>
#include <mysql.h>
#include "core/log.h"
#include "core/text.h"

/* Between passes while rows wait: short enough that a change reaches the
 * feed within tens of milliseconds, long enough that a steady trickle of
 * commits is numbered in batches, not one by one. */
#define SEQUENCE_BUSY_MS 20
/* Between probes while nothing waits. */
#define SEQUENCE_IDLE_MS 50
/* After a failed pass (the database is down): the failure is logged once. */
#define SEQUENCE_FAILED_MS 1000
/* Sleeps are cut into slices this long so that a stop is seen soon. */
#define SLEEP_SLICE_MS 10

static struct {
    const fg_config_t *cfg;
    pthread_t thread;
    atomic_int stop;
    int started;
} job;

static void nap(int64_t ms)
{
    for (int64_t slept = 0; slept < ms && !atomic_load(&job.stop); slept += SLEEP_SLICE_MS)
        fg_sleep_ms(SLEEP_SLICE_MS);
}

/* One turn: a pass when the probe finds rows waiting.  Returns the rows
 * numbered, or an FG_E* code. */
static int turn(fg_db_t *db)
{
    int rc = fg_changes_pending(db);
    if (rc <= 0)
        return rc;
    return fg_changes_sequence(db, 1);
}

static void *job_main(void *arg)
{
    (void)arg;
    fg_db_t *db = NULL;
    char err[256];
    int failing = 0;
    mysql_thread_init();
    if (fg_db_open(&db, job.cfg, err, sizeof(err)) != 0) {
        /* reconnected by fg_db_ensure on every turn */
    }
    while (!atomic_load(&job.stop)) {
        int rc = turn(db);
        if (rc < 0 && !failing)
            fg_db_log_failure(db, "change sequencer: a pass failed; changes wait for their numbers", rc);
        failing = rc < 0;
        if (rc >= FG_SEQUENCE_BATCH)
            continue; /* a full batch: more wait */
        nap(rc < 0 ? SEQUENCE_FAILED_MS : rc > 0 ? SEQUENCE_BUSY_MS : SEQUENCE_IDLE_MS);
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

int fg_changes_start(const fg_config_t *cfg)
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

void fg_changes_stop(void)
{
    if (!job.started)
        return;
    atomic_store(&job.stop, 1);
    pthread_join(job.thread, NULL);
    job.started = 0;
}
