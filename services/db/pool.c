/*
 * pool.c - the database worker pool.
 */
#include "db/pool.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"

struct fg_pool {
    const fg_config_t *cfg;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    h2o_linklist_t queue;
    int waiting;
    int stopping;
    atomic_int busy;
    atomic_llong batches, batched; /* takes of several jobs, and the jobs they took */
    atomic_int connect_warnings;
    int size;
    pthread_t *threads;
};

/* Under the mutex: whether a worker may take job now. */
static int takeable(const fg_job_t *job) { return job->batch == NULL || job->batch->running < job->batch->leaders; }

/* Under the mutex: the first job a worker may take (looking no further than
 * FG_POOL_BATCH_SCAN jobs in), or NULL. */
static fg_job_t *first_takeable(fg_pool_t *pool)
{
    int seen = 0;
    for (h2o_linklist_t *l = pool->queue.next; l != &pool->queue && seen < FG_POOL_BATCH_SCAN; l = l->next, seen++) {
        fg_job_t *job = H2O_STRUCT_FROM_MEMBER(fg_job_t, queue_link, l);
        if (takeable(job))
            return job;
    }
    return NULL;
}

/* Under the mutex: takes first and, when it batches, the jobs of its kind
 * waiting behind it (up to the kind's max, looking no further than
 * FG_POOL_BATCH_SCAN jobs in). */
static int take(fg_pool_t *pool, fg_job_t *first, fg_job_t **jobs)
{
    int n = 0, max = first->batch != NULL ? first->batch->max : 1, seen = 0;
    assert(max >= 1 && max <= FG_POOL_BATCH_MAX);
    for (h2o_linklist_t *l = &first->queue_link, *next; l != &pool->queue && n < max && seen < FG_POOL_BATCH_SCAN;
         l = next, seen++) {
        next = l->next;
        fg_job_t *job = H2O_STRUCT_FROM_MEMBER(fg_job_t, queue_link, l);
        if (job != first && job->batch != first->batch)
            continue;
        h2o_linklist_unlink(&job->queue_link);
        jobs[n++] = job;
    }
    if (first->batch != NULL)
        first->batch->running++;
    pool->waiting -= n;
    return n;
}

static void *worker_main(void *arg)
{
    fg_pool_t *pool = arg;
    fg_db_t *db = NULL;
    char err[256];

    mysql_thread_init();
    if (fg_db_open(&db, pool->cfg, err, sizeof(err)) != 0 && atomic_fetch_add(&pool->connect_warnings, 1) == 0) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "database not reachable at start; will retry");
        fg_log_str(&l, "error", fg_db_error(db));
        fg_log_end(&l);
    }
    for (;;) {
        pthread_mutex_lock(&pool->mutex);
        fg_job_t *first;
        while ((first = first_takeable(pool)) == NULL && !(pool->stopping && h2o_linklist_is_empty(&pool->queue)))
            pthread_cond_wait(&pool->cond, &pool->mutex);
        if (first == NULL) {
            pthread_mutex_unlock(&pool->mutex);
            break;
        }
        fg_job_t *jobs[FG_POOL_BATCH_MAX];
        int n = take(pool, first, jobs);
        atomic_fetch_add(&pool->busy, 1);
        if (n > 1) {
            atomic_fetch_add(&pool->batches, 1);
            atomic_fetch_add(&pool->batched, n);
        }
        pthread_mutex_unlock(&pool->mutex);

        if (n == 1)
            jobs[0]->run(jobs[0], db);
        else
            jobs[0]->batch->run(jobs[0]->batch, jobs, n, db);
        fg_db_end(db);
        if (first->batch != NULL) { /* another worker may take this kind now */
            pthread_mutex_lock(&pool->mutex);
            first->batch->running--;
            if (pool->stopping) /* the waiting workers may be done */
                pthread_cond_broadcast(&pool->cond);
            else if (!h2o_linklist_is_empty(&pool->queue))
                pthread_cond_signal(&pool->cond);
            pthread_mutex_unlock(&pool->mutex);
        }
        atomic_fetch_sub(&pool->busy, 1);
        for (int i = 0; i < n; i++)
            h2o_multithread_send_message(jobs[i]->receiver, &jobs[i]->message);
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

/* The pool cannot start (the system is out of threads or memory): said
 * through the log, and the caller does not start either. */
static void log_start_failure(const char *msg, const char *thread, int rc)
{
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, msg);
    if (thread != NULL)
        fg_log_str(&l, "thread", thread);
    fg_log_str(&l, "error", strerror(rc));
    fg_log_end(&l);
}

/* Stops the first started workers and frees the pool. */
static void stop_workers(fg_pool_t *pool, int started)
{
    pthread_mutex_lock(&pool->mutex);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 0; i < started; i++)
        pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->cond);
    free(pool);
}

fg_pool_t *fg_pool_create(const fg_config_t *cfg, int size)
{
    assert(size > 0);
    fg_pool_t *pool = fg_calloc(1, sizeof(*pool));
    pool->cfg = cfg;
    pool->size = size;
    int rc = pthread_mutex_init(&pool->mutex, NULL);
    if (rc == 0 && (rc = pthread_cond_init(&pool->cond, NULL)) != 0)
        pthread_mutex_destroy(&pool->mutex);
    if (rc != 0) {
        log_start_failure("database worker pool did not start", NULL, rc);
        free(pool);
        return NULL;
    }
    h2o_linklist_init_anchor(&pool->queue);
    pool->threads = fg_calloc((size_t)size, sizeof(pthread_t));
    for (int i = 0; i < size; i++)
        if ((rc = pthread_create(&pool->threads[i], NULL, worker_main, pool)) != 0) {
            log_start_failure("thread did not start", "database worker", rc);
            stop_workers(pool, i);
            return NULL;
        }
    return pool;
}

int fg_pool_submit(fg_pool_t *pool, fg_job_t *job)
{
    memset(&job->message, 0, sizeof(job->message));
    memset(&job->queue_link, 0, sizeof(job->queue_link));
    pthread_mutex_lock(&pool->mutex);
    if (pool->stopping || pool->waiting >= FG_POOL_QUEUE_MAX) {
        pthread_mutex_unlock(&pool->mutex);
        return FG_EUNAVAILABLE;
    }
    h2o_linklist_insert(&pool->queue, &job->queue_link);
    pool->waiting++;
    /* a job of a kind whose leaders are all busy waits for one of them to
     * come back for it: waking an idle worker would only make it look */
    if (takeable(job))
        pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->mutex);
    return 0;
}

void fg_pool_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        fg_job_t *job = H2O_STRUCT_FROM_MEMBER(fg_job_t, message.link, messages->next);
        h2o_linklist_unlink(&job->message.link);
        job->done(job);
    }
}

void fg_pool_destroy(fg_pool_t *pool)
{
    if (pool == NULL)
        return;
    stop_workers(pool, pool->size);
}

int fg_pool_busy(fg_pool_t *pool) { return atomic_load(&pool->busy); }
int fg_pool_size(fg_pool_t *pool) { return pool->size; }
long long fg_pool_batches(fg_pool_t *pool) { return atomic_load(&pool->batches); }
long long fg_pool_batched(fg_pool_t *pool) { return atomic_load(&pool->batched); }

int fg_pool_waiting(fg_pool_t *pool)
{
    pthread_mutex_lock(&pool->mutex);
    int n = pool->waiting;
    pthread_mutex_unlock(&pool->mutex);
    return n;
}
