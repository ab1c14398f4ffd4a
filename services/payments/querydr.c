/*
 * querydr.c - asking providers about payments still pending, so that a lost
 * notification still settles (VNPay querydr, MoMo query).
 *
 * Every `feegate serve` runs one job thread.  A round claims due payments
 * (pending, older than payments.pending_query_after_s, next_query_at due)
 * with FOR UPDATE SKIP LOCKED and moves their next_query_at forward by a
 * lease in the same short transaction, so no other instance queries them
 * meanwhile; then, outside any transaction, it asks the provider and applies
 * a final answer through the inbound pipeline's apply path (webhook.c), with
 * the answer as the recorded request.  The answer carries the same event id
 * as the IPN would, so whichever comes second is a duplicate.
 *
 * A payment the provider does not know (the payer never reached its page) is
 * marked expired; one still pending there is asked again later, with
 * exponential backoff.
 */
#include "payments/providers.h"

#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core/ids.h"
#include "core/log.h"
#include "core/text.h"
#include "net/http_client.h"
#include "payments/payments_internal.h"

/* Payments queried per round: a round then lasts at most this many provider
 * calls; the next round follows at once while work is due. */
#define QUERY_BATCH_MAX 16
/* A claimed payment is not claimed again for this long: a round queries its
 * batch one after another, each call taking up to 30 s (+5 s to connect), so
 * the lease covers the whole batch and a live job always finishes first. */
#define QUERY_CALL_MAX_MS (35 * 1000)
#define QUERY_LEASE_MS (QUERY_BATCH_MAX * QUERY_CALL_MAX_MS + 60 * 1000)
/* Backoff between queries of a payment the provider still calls pending. */
#define QUERY_BACKOFF_MAX_MS (6LL * 3600 * 1000)
/* How often the job looks for due payments. */
#define QUERY_POLL_MS 500

_Static_assert(QUERY_LEASE_MS > QUERY_BATCH_MAX * QUERY_CALL_MAX_MS, "the lease outlasts a round's calls");

/* Only these adapters can be asked; the IN list keeps the index on
 * (status, adapter, created_at) usable. */
static const char SQL_CLAIM[] =
    "SELECT id, public_id, adapter, amount, created_at, query_count FROM payments "
    "WHERE status = 'pending' AND adapter IN ('vnpay', 'momo') AND created_at <= ? "
    "AND (next_query_at IS NULL OR next_query_at <= ?) ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED";
static const char SQL_LEASE[] = "UPDATE payments SET next_query_at = ?, query_count = query_count + 1 WHERE id = ?";
static const char SQL_NEXT[] = "UPDATE payments SET next_query_at = ? WHERE id = ? AND status = 'pending'";
static const char SQL_EXPIRE[] =
    "UPDATE payments SET status = 'expired', failure_reason = ?, updated_at = ? WHERE id = ? AND status = 'pending'";

typedef struct {
    int64_t id, amount, created_at, query_count;
    char public_id[FG_ID_CAP];
    char adapter[16];
} due_t;

typedef struct {
    const fg_config_t *cfg;
    int limit, count;
    due_t due[QUERY_BATCH_MAX];
} claim_t;

static int claim_tx(fg_db_t *db, void *arg)
{
    claim_t *c = arg;
    int64_t now = fg_now_ms(), id, amount, created, count;
    fg_buf_t public_id = FG_BUF_INIT, adapter = FG_BUF_INIT;
    fg_stmt_t s;
    c->count = 0;
    int rc = fg_stmt_init(&s, db, SQL_CLAIM);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, now - c->cfg->payments_pending_query_after_s * 1000);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, c->limit);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    fg_stmt_out_text(&s, &adapter, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_int(&s, &created, NULL);
    fg_stmt_out_int(&s, &count, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && c->count < c->limit) {
            due_t *d = &c->due[c->count++];
            d->id = id;
            d->amount = amount;
            d->created_at = created;
            d->query_count = count + 1;
            snprintf(d->public_id, sizeof(d->public_id), "%s", public_id.data);
            snprintf(d->adapter, sizeof(d->adapter), "%s", adapter.data);
        }
        fg_stmt_done(&s);
    }
    fg_buf_free(&public_id);
    fg_buf_free(&adapter);
    for (int i = 0; rc >= 0 && i < c->count; i++) {
        if ((rc = fg_stmt_init(&s, db, SQL_LEASE)) != 0)
            break;
        fg_stmt_int(&s, now + QUERY_LEASE_MS);
        fg_stmt_int(&s, c->due[i].id);
        rc = fg_stmt_exec(&s);
    }
    return rc < 0 ? rc : 0;
}

typedef struct {
    const due_t *d;
    int64_t next_at; /* 0: expire instead */
    const char *reason;
} later_t;

static int later_tx(fg_db_t *db, void *arg)
{
    later_t *l = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, l->next_at != 0 ? SQL_NEXT : SQL_EXPIRE);
    if (rc != 0)
        return rc;
    if (l->next_at != 0) {
        fg_stmt_int(&s, l->next_at);
    } else {
        fg_stmt_str(&s, l->reason, strlen(l->reason) < 200 ? strlen(l->reason) : 200);
        fg_stmt_int(&s, fg_now_ms());
    }
    fg_stmt_int(&s, l->d->id);
    return fg_stmt_exec(&s);
}

typedef struct {
    const fg_config_t *cfg;
    const fg_inbound_t *in;
    const fg_adapter_t *adapter;
    const fg_notification_t *n;
    fg_ack_t outcome;
    const char *reason;
} apply_arg_t;

static int apply_tx(fg_db_t *db, void *arg)
{
    apply_arg_t *a = arg;
    return fg_webhook_apply_one(db, a->cfg, a->in, a->adapter, a->n, &a->outcome, &a->reason);
}

/* Applies a final answer through the one apply function of every
 * notification, the provider's answer recorded as what was received. */
static int apply_answer(fg_db_t *db, const fg_config_t *cfg, const fg_adapter_t *adapter, const fg_notification_t *n,
                        fg_buf_t *answer)
{
    fg_inbound_t in = {.method = "POST", .body = answer->data != NULL ? answer->data : "", .body_len = answer->len};
    apply_arg_t a = {cfg, &in, adapter, n, FG_ACK_APPLIED, NULL};
    int rc = fg_db_tx(db, apply_tx, &a);
    if (rc == FG_ECONFLICT)
        rc = 0; /* the notification arrived meanwhile: applied once, by it */
    else if (rc == 1) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "query answer not applicable");
        fg_log_str(&l, "payment", n->payment_id);
        fg_log_str(&l, "reason", a.reason != NULL ? a.reason : "");
        fg_log_end(&l);
    }
    return rc < 0 ? rc : 0;
}

static int64_t backoff_ms(const fg_config_t *cfg, int64_t query_count)
{
    int64_t ms = cfg->payments_pending_query_after_s * 1000;
    for (int64_t i = 1; i < query_count && ms < QUERY_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < QUERY_BACKOFF_MAX_MS ? ms : QUERY_BACKOFF_MAX_MS;
}

static int query_one(fg_db_t *db, const fg_config_t *cfg, const due_t *d)
{
    const fg_adapter_t *adapter = fg_adapter_find(d->adapter);
    char request_id[FG_ID_CAP], reason[300] = "";
    fg_provider_request_t req = {FG_BUF_INIT, FG_BUF_INIT, 0};
    fg_http_response_t res;
    fg_notification_t n;
    int64_t now = fg_now_ms();
    int rc;
    if (adapter == NULL || adapter->query_request == NULL || fg_id_new("", request_id, sizeof(request_id)) < 0)
        return 0;
    fg_payment_query_t in = {d->public_id, d->amount, d->created_at, request_id, now};
    if ((rc = adapter->query_request(cfg, &in, &req)) != 0) {
        snprintf(reason, sizeof(reason), "%s is not configured", adapter->name);
    } else if ((rc = fg_http_post_json(req.url.data, req.body.data, req.body.len, req.timeout_ms, &res)) != 0) {
        snprintf(reason, sizeof(reason), "no answer: %s", res.error);
        fg_http_response_free(&res);
    } else {
        rc = adapter->query_response(cfg, &in, res.status, res.body.data, res.body.len, &n, reason, sizeof(reason));
        if (rc == 0 && n.status != FG_NOTIFY_PENDING)
            rc = apply_answer(db, cfg, adapter, &n, &res.body);
        else if (rc == 0)
            rc = 1; /* still pending at the provider */
        fg_http_response_free(&res);
    }
    fg_provider_request_free(&req);
    if (rc == 0)
        return 0;
    /* a payment the provider still calls unfinished a day (payments.
     * pending_expire_after_s) after it began is expired: every provider's pay
     * window (VNPay's 15 minutes, MoMo's under two hours) is long over, so
     * nobody can pay it any more, and it is no longer asked about every 6
     * hours for ever; a notification that still comes applies as for any
     * expired payment */
    int give_up = rc == 1 && now - d->created_at > cfg->payments_pending_expire_after_s * 1000;
    later_t l = {d, rc == FG_ENOTFOUND || give_up ? 0 : now + backoff_ms(cfg, d->query_count), reason};
    if (rc == FG_ENOTFOUND)
        l.reason = "the provider has no such transaction: the payer never paid";
    else if (give_up)
        l.reason = "still unfinished at the provider long after it began: its pay window is over";
    else if (rc != 1) {
        fg_log_t line; /* "l" is the later_t above */
        fg_log_begin(&line, FG_LOG_WARN, "provider query failed");
        fg_log_str(&line, "payment", d->public_id);
        fg_log_str(&line, "reason", reason);
        fg_log_end(&line);
    }
    return fg_db_tx(db, later_tx, &l);
}

int fg_providers_query_round(fg_db_t *db, const fg_config_t *cfg, int limit)
{
    claim_t c = {.cfg = cfg, .limit = limit < QUERY_BATCH_MAX ? limit : QUERY_BATCH_MAX};
    int rc = fg_db_tx(db, claim_tx, &c);
    if (rc != 0)
        return rc;
    for (int i = 0; i < c.count; i++)
        if ((rc = query_one(db, cfg, &c.due[i])) < 0) {
            fg_log_t l;
            fg_log_begin(&l, FG_LOG_WARN, "provider query not recorded");
            fg_log_str(&l, "payment", c.due[i].public_id);
            fg_log_str(&l, "error", fg_db_error(db));
            fg_log_end(&l);
        }
    return c.count;
}

/* ---- the job thread ------------------------------------------------------------- */

static struct {
    const fg_config_t *cfg;
    pthread_t thread;
    atomic_int stop;
    int started;
} job;

static void *job_main(void *arg)
{
    fg_db_t *db = NULL;
    char err[256];
    mysql_thread_init();
    if (fg_db_open(&db, job.cfg, err, sizeof(err)) != 0) {
        /* the database is down: fg_db_ensure reconnects on every round */
    }
    while (!atomic_load(&job.stop)) {
        int queried = 0;
        if (fg_db_ensure(db) == 0) {
            queried = fg_providers_query_round(db, job.cfg, QUERY_BATCH_MAX);
            fg_providers_refund_round(db, job.cfg, QUERY_BATCH_MAX); /* refunds of unknown outcome (refunds.c) */
        }
        if (queried == QUERY_BATCH_MAX)
            continue; /* more may be due */
        for (int slept = 0; slept < QUERY_POLL_MS && !atomic_load(&job.stop); slept += 10) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

int fg_providers_start(const fg_config_t *cfg)
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

void fg_providers_stop(void)
{
    if (!job.started)
        return;
    atomic_store(&job.stop, 1);
    pthread_join(job.thread, NULL);
    job.started = 0;
}
