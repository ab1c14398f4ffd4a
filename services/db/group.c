/*
 * group.c - group commit (see group.h).
 *
 * Workers queue their work.  At most leaders_max of them lead at a time: a
 * leader takes up to members_max queued works from the head of the queue,
 * runs them in one transaction on its connection, and hands each owner its
 * result.  A worker whose work is still queued when a leader slot is free
 * becomes a leader itself, so nothing waits on a leader that has gone back
 * to its own request.  Each worker sleeps on its own condition variable and
 * is woken only when its result is in or it is at the head of the queue
 * with a slot free: no herd of wake-ups per transaction.
 *
 * A shared transaction defers its inserts (db.h): the members' inbox rows,
 * journals, entries and events go to MariaDB as a few multi-row INSERTs.
 */
#include "db/group.h"

#include "db/db_internal.h"

static pthread_mutex_t known_mutex = PTHREAD_MUTEX_INITIALIZER;
static fg_db_group_t *known;

struct fg_db_group_member {
    struct fg_db_group_member *next;
    fg_db_tx_fn fn;
    void *arg;
    int done;
    int rc;
    int alone;   /* the shared transaction failed: run alone (rc is not the work's) */
    int unknown; /* it was lost during its COMMIT (fg_db_commit_unknown) */
    pthread_cond_t wake;
};
typedef fg_db_group_member_t member_t;

typedef struct {
    member_t *first;
} run_t;

static int run_members(fg_db_t *db, void *arg)
{
    run_t *r = arg;
    for (member_t *m = r->first; m != NULL; m = m->next) {
        int rc = m->fn(db, m->arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Under the mutex: takes up to members_max queued works. */
static member_t *take(fg_db_group_t *g, int *count)
{
    member_t *first = g->head, *last = NULL;
    int n = 0;
    for (member_t *m = first; m != NULL && n < g->members_max; m = m->next) {
        last = m;
        n++;
    }
    if (last == NULL)
        return NULL;
    g->head = last->next;
    if (g->head == NULL)
        g->tail = &g->head;
    last->next = NULL;
    *count = n;
    return first;
}

/* Under the mutex: wakes the head of the queue if it could lead now. */
static void wake_head(fg_db_group_t *g)
{
    if (g->head != NULL && g->leaders < g->leaders_max)
        pthread_cond_signal(&g->head->wake);
}

/* Under the mutex: at the group's first use, its queue is set up and it
 * joins the groups /metrics lists. */
static void first_use(fg_db_group_t *g)
{
    if (g->tail != NULL)
        return;
    g->tail = &g->head;
    pthread_mutex_lock(&known_mutex);
    g->next_known = known;
    known = g;
    pthread_mutex_unlock(&known_mutex);
}

/* Under the mutex: one shared transaction of n works ended with rc. */
static void count(fg_db_group_t *g, int n, int rc)
{
    if (rc == 0)
        g->shared++, g->shared_works += (unsigned long long)n;
    else
        g->failed++;
}

int fg_db_group_tx(fg_db_group_t *g, fg_db_t *db, fg_db_tx_fn fn, void *arg)
{
    member_t self = {.fn = fn, .arg = arg};
    pthread_cond_init(&self.wake, NULL);
    pthread_mutex_lock(&g->mutex);
    first_use(g);
    *g->tail = &self;
    g->tail = &self.next;
    while (!self.done) {
        /* Lead while a slot is free and work is queued; self may already be
         * in another leader's transaction, with nothing left to take: wait. */
        if (g->leaders < g->leaders_max && g->head != NULL) {
            int n = 0;
            member_t *first = take(g, &n);
            g->leaders++;
            wake_head(g); /* another slot may be free for what is left */
            pthread_mutex_unlock(&g->mutex);
            run_t run = {first};
            /* all or none, inserts deferred (a work alone too: its rows of the
             * change sequence are then numbered at COMMIT, db.h) */
            int rc = fg_db_tx_deferring(db, run_members, &run);
            /* lost during COMMIT: the works may have committed, none runs again */
            int unknown = rc != 0 && fg_db_commit_unknown(db);
            pthread_mutex_lock(&g->mutex);
            if (n > 1)
                count(g, n, rc);
            for (member_t *m = first, *next; m != NULL; m = next) {
                next = m->next;
                /* alone, only a duplicate found at COMMIT may differ from what the work sees undeferred */
                m->alone = !(rc == 0 || unknown || (n == 1 && rc != FG_ECONFLICT));
                m->unknown = unknown;
                m->rc = rc;
                m->done = 1;
                if (m != &self)
                    pthread_cond_signal(&m->wake);
            }
            g->leaders--;
            wake_head(g);
        } else {
            pthread_cond_wait(&self.wake, &g->mutex);
        }
    }
    pthread_mutex_unlock(&g->mutex);
    pthread_cond_destroy(&self.wake);
    if (self.alone)
        return fg_db_tx(db, fn, arg);
    db->commit_unknown = self.unknown; /* the leader's connection lost it: the caller asks its own */
    return self.rc;
}

int fg_db_tx_deferring(fg_db_t *db, fg_db_tx_fn fn, void *arg)
{
    fg_db_defer(db, 1);
    int rc = fg_db_tx(db, fn, arg);
    fg_db_defer(db, 0);
    return rc;
}

typedef struct {
    fg_db_tx_fn fn;
    void *const *args;
    int n;
} all_t;

static int run_all(fg_db_t *db, void *arg)
{
    all_t *all = arg;
    int rc = 0;
    for (int i = 0; rc == 0 && i < all->n; i++)
        if (all->args[i] != NULL)
            rc = all->fn(db, all->args[i]);
    return rc;
}

int fg_db_group_tx_set(fg_db_group_t *g, fg_db_t *db, fg_db_tx_fn set, void *arg, int works)
{
    int rc = fg_db_tx_deferring(db, set, arg);
    pthread_mutex_lock(&g->mutex);
    first_use(g);
    count(g, works, rc);
    pthread_mutex_unlock(&g->mutex);
    return rc;
}

int fg_db_group_tx_all(fg_db_group_t *g, fg_db_t *db, fg_db_tx_fn fn, void *const *args, int n)
{
    all_t all = {fn, args, n};
    int works = 0;
    for (int i = 0; i < n; i++)
        works += args[i] != NULL;
    return fg_db_group_tx_set(g, db, run_all, &all, works);
}

int fg_db_tx_set_or_each(fg_db_t *db, fg_db_tx_fn set, fg_db_tx_fn each, void *arg, int *ran_each)
{
    int rc = fg_db_tx_deferring(db, set, arg);
    int again = rc != 0 && !fg_db_commit_unknown(db); /* the set may have committed: not again */
    if (ran_each != NULL)
        *ran_each = again;
    return again ? fg_db_tx(db, each, arg) : rc;
}

void fg_db_groups_render(fg_buf_t *out)
{
    static const char *const SERIES[3][2] = {{"transactions",
                                              "Transactions of group commit shared by two or more works."},
                                             {"works", "Works run in those shared transactions."},
                                             {"failed",
                                              "Shared transactions that failed: each of their works then ran alone."}};
    for (int k = 0; k < 3; k++) {
        fg_buf_printf(out, "# HELP feegate_db_group_%s_total %s\n# TYPE feegate_db_group_%s_total counter\n",
                      SERIES[k][0], SERIES[k][1], SERIES[k][0]);
        pthread_mutex_lock(&known_mutex);
        for (fg_db_group_t *g = known; g != NULL; g = g->next_known) {
            pthread_mutex_lock(&g->mutex);
            unsigned long long v = k == 0 ? g->shared : k == 1 ? g->shared_works : g->failed;
            pthread_mutex_unlock(&g->mutex);
            fg_buf_printf(out, "feegate_db_group_%s_total{group=\"%s\"} %llu\n", SERIES[k][0], g->name, v);
        }
        pthread_mutex_unlock(&known_mutex);
    }
}
