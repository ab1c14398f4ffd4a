/*
 * pool.h - worker threads, each owning one MariaDB connection, that run
 * database jobs handed over by the event loops and hand the results back.
 *
 * Why threads and not Connector/C's non-blocking API: both were measured at
 * the same end-to-end rate on this hardware (H2O-NOTES.md), and with threads
 * every domain module writes plain sequential transactions with retries,
 * instead of a state machine per statement.  The loops never block: they only
 * enqueue and receive.
 */
#ifndef FG_DB_POOL_H
#define FG_DB_POOL_H

#include <stdint.h>
#include "core/config.h"
#include "db/db.h"
#include "h2o.h"
#include "h2o/multithread.h"

/* Jobs waiting for a connection beyond this are refused (503) rather than
 * queued without bound while the database is slow. */
#define FG_POOL_QUEUE_MAX 65536

typedef struct fg_job fg_job_t;

/* A kind of job a worker may take several of at once: when it takes one from
 * the queue, it also takes up to max - 1 more of the same kind waiting there
 * and runs them together (run).  At most leaders workers run a kind at once;
 * while they do, its jobs wait in the queue, so the next take finds more of
 * them: the number run together follows the load, one when the queue is
 * empty, hundreds when it is deep. */
typedef struct fg_job_batch fg_job_batch_t;
struct fg_job_batch {
    /* runs jobs[0..n) (n >= 2) on the worker; each job's done() follows */
    void (*run)(const fg_job_batch_t *batch, fg_job_t **jobs, int n, fg_db_t *db);
    int max;
    int leaders;
    int running; /* the pool's, under its mutex */
};
/* The most jobs one batch takes, and how far into the queue it looks for them. */
#define FG_POOL_BATCH_MAX 256
#define FG_POOL_BATCH_SCAN (4 * FG_POOL_BATCH_MAX)

struct fg_job {
    /* run on a worker thread with that worker's connection */
    void (*run)(fg_job_t *job, fg_db_t *db);
    /* run on the submitting loop thread once run() returned */
    void (*done)(fg_job_t *job);
    fg_job_batch_t *batch;                /* NULL: always run alone */
    h2o_multithread_receiver_t *receiver; /* the loop's receiver for done() */
    h2o_multithread_message_t message;    /* zeroed by fg_pool_submit */
    h2o_linklist_t queue_link;
};

typedef struct fg_pool fg_pool_t;

/** Starts size worker threads.  Connections are opened lazily by each worker
 *  (and re-opened after a loss), so the server starts with the database down.
 *  Returns NULL when a thread cannot be created: logged, and the workers
 *  already started are stopped. */
fg_pool_t *fg_pool_create(const fg_config_t *cfg, int size);

/** Queues a job (any thread).  Returns 0, or FG_EUNAVAILABLE when the queue
 *  is full or the pool is stopping; done() is then never called. */
int fg_pool_submit(fg_pool_t *pool, fg_job_t *job) FG_MUST_USE;

/** Receiver callback to register on each loop's h2o_multithread queue. */
void fg_pool_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/** Lets the queued jobs finish, stops the threads and frees the pool. */
void fg_pool_destroy(fg_pool_t *pool);

/** Workers running jobs now, and jobs waiting for a worker (for /metrics). */
int fg_pool_busy(fg_pool_t *pool);
int fg_pool_waiting(fg_pool_t *pool);
int fg_pool_size(fg_pool_t *pool);
/** Workers' takes of several jobs at once, and the jobs those took. */
long long fg_pool_batches(fg_pool_t *pool);
long long fg_pool_batched(fg_pool_t *pool);

#endif
