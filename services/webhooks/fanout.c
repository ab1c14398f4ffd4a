/*
 * fanout.c - turns committed rows of the `events` outbox into deliveries,
 * one per subscribed, enabled endpoint of the event's merchant.
 *
 * A high-water mark (webhook_fanout.last_event_id) alone would lose events:
 * AUTO_INCREMENT ids are handed out when a transaction inserts, not when it
 * commits, so id 41 may still be uncommitted when id 42 is seen and the mark
 * moves past both.  Each id the mark skips is therefore written down as a
 * gap and looked for again on every round, until it shows up (it is fanned
 * out then) or until it is proven never to come: an id at or below a settled
 * mark (db/settle.h, observed by the fan-out thread about once a second)
 * that is still not visible belonged to a transaction that rolled back, or
 * to an id a deadlock retry used and dropped.  Only where no settle point
 * can be had (no PROCESS privilege) does a gap fall back to expiring after
 * GAP_HORIZON_MS.  Fanning out one event twice is harmless: deliveries are
 * unique on (event, endpoint, redelivery).
 *
 * GET /v1/events does not depend on the gaps: it pages by the seq the change
 * sequencer gives each event after its commit (changes/changes.h).
 *
 * One instance at a time owns a round: it locks the mark's row with
 * FOR UPDATE SKIP LOCKED, and the others skip the round instead of waiting.
 */
#include "webhooks/webhooks_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/text.h"

/* Events read per round: one short transaction each. */
#define FANOUT_BATCH 500
/* Rounds run back to back while batches come back full (catching up). */
#define FANOUT_ROUNDS_MAX 20
/* Without settle points only (see above): how long a skipped id is looked
 * for; no transaction of ours lives anywhere near that long (lock waits time
 * out at 10 s, reads at 30 s). */
#define GAP_HORIZON_MS (5LL * 60 * 1000)
/* Ids recorded for one jump of the mark.  A transaction inserts its events
 * as multi-row statements at COMMIT (a set of 256 notifications: 512 events;
 * on Galera ids step by the cluster's size), so a live transaction may hold
 * ids thousands below the newest.  Larger jumps (an AUTO_INCREMENT set by
 * hand) keep only the ids just below the new event. */
#define GAP_SPAN_MAX 100000
/* Committed gaps read per statement, and read again while one comes back full
 * (up to GAP_READS_MAX a round). */
#define GAP_BATCH 1000
#define GAP_READS_MAX 20
/* Gaps proven dead (or expired) dropped per round: a jump on Galera leaves
 * two of three ids never used. */
#define GAP_SWEEP 50000

_Static_assert(GAP_HORIZON_MS >= 5 * 60 * 1000, "gaps must outlive any transaction, with room");

static const char SQL_LOCK[] = "SELECT last_event_id FROM webhook_fanout WHERE id = 1 FOR UPDATE SKIP LOCKED";
static const char SQL_GAPS_FOUND[] = "SELECT e.id, e.merchant_id, e.type, e.order_id, e.created_at "
                                     "FROM webhook_fanout_gaps g JOIN events e ON e.id = g.event_id "
                                     "ORDER BY e.id LIMIT ?";
/* The gaps a round found committed, and the ids a jump of the mark skipped:
 * one statement each, driven by a JSON array of ids (a set of notifications
 * commits hundreds of events at once, often out of id order). */
static const char SQL_GAPS_DELETE[] =
    "DELETE g FROM webhook_fanout_gaps g JOIN JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) j "
    "ON g.event_id = j.id";
static const char SQL_GAPS_EXPIRE[] = "DELETE FROM webhook_fanout_gaps WHERE noticed_at < ? LIMIT ?";
/* Gaps proven dead: at or below a settled id, and still not an event. */
static const char SQL_GAPS_SETTLED[] =
    "DELETE FROM webhook_fanout_gaps WHERE event_id <= ? "
    "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = webhook_fanout_gaps.event_id) LIMIT ?";
static const char SQL_GAPS_INSERT[] =
    "INSERT IGNORE INTO webhook_fanout_gaps (event_id, noticed_at) SELECT j.id, ? FROM JSON_TABLE(?, '$[*]' "
    "COLUMNS (id BIGINT UNSIGNED PATH '$')) j";
static const char SQL_NEW[] =
    "SELECT id, merchant_id, type, order_id, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?";
static const char SQL_ADVANCE[] = "UPDATE webhook_fanout SET last_event_id = ?, updated_at = ? WHERE id = 1";
/* The enabled endpoints of the merchants of a batch of events, one read,
 * share-locked to the round's COMMIT: an endpoint deleted meanwhile waits
 * for the round, and its delete then fails the deliveries the round made
 * (unlocked, they were made after it and stayed pending for good). */
static const char SQL_ENDPOINTS[] =
    "SELECT w.merchant_id, w.id, w.events, w.failing_since IS NOT NULL FROM JSON_TABLE(?, '$[*]' COLUMNS (m BIGINT "
    "UNSIGNED PATH '$')) j "
    "STRAIGHT_JOIN webhook_endpoints w ON w.merchant_id = j.m AND w.status = 'enabled' AND w.deleted_at IS NULL "
    "ORDER BY w.merchant_id, w.id LOCK IN SHARE MODE";

typedef struct {
    int64_t id, merchant_id, order_id, created_at;
    int order_null;
    char type[48];
} event_t;

typedef struct {
    int64_t merchant_id, id, failing; /* failing: an attempt failed since the last that worked */
    char *events;
} endpoint_t;

/* The endpoints of the merchants of the events in hand, by merchant. */
typedef struct {
    int count, cap;
    endpoint_t *list;
} endpoint_cache_t;

typedef struct {
    int64_t settled; /* an event id proven settled, 0 = none */
    endpoint_cache_t cache;
    event_t events[GAP_BATCH];   /* gaps that committed */
    event_t fresh[FANOUT_BATCH]; /* events past the mark */
    int created;
    int full; /* the batch of new events was full: more may wait */
} round_t;

static void cache_clear(endpoint_cache_t *c)
{
    for (int i = 0; i < c->count; i++)
        free(c->list[i].events);
    c->count = 0;
}

static int by_merchant(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Loads the endpoints of the merchants of events[0..count) (replacing what
 * the cache held), in one read. */
static int cache_load(fg_db_t *db, endpoint_cache_t *c, const event_t *events, int count)
{
    fg_stmt_t s;
    fg_buf_t json = FG_BUF_INIT, list = FG_BUF_INIT;
    int64_t merchant = 0, id = 0, failing = 0,
            *merchants = fg_malloc((size_t)(count > 0 ? count : 1) * sizeof(int64_t));
    int distinct = 0, rc;
    cache_clear(c);
    for (int i = 0; i < count; i++)
        merchants[i] = events[i].merchant_id;
    qsort(merchants, (size_t)count, sizeof(int64_t), by_merchant);
    fg_buf_putc(&json, '[');
    for (int i = 0; i < count; i++)
        if (i == 0 || merchants[i] != merchants[i - 1])
            fg_buf_printf(&json, "%s%lld", distinct++ > 0 ? "," : "", (long long)merchants[i]);
    fg_buf_putc(&json, ']');
    free(merchants);
    if (distinct == 0 || (rc = fg_stmt_init(&s, db, SQL_ENDPOINTS)) != 0) {
        fg_buf_free(&json);
        return distinct == 0 ? 0 : rc;
    }
    fg_stmt_str(&s, json.data, json.len);
    fg_stmt_out_int(&s, &merchant, NULL);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &list, NULL);
    fg_stmt_out_int(&s, &failing, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            if (c->count == c->cap) {
                c->cap = c->cap > 0 ? 2 * c->cap : 8;
                c->list = fg_realloc(c->list, (size_t)c->cap * sizeof(c->list[0]));
            }
            c->list[c->count++] = (endpoint_t){merchant, id, failing, fg_strdup(list.data != NULL ? list.data : "")};
        }
    }
    fg_buf_free(&json);
    fg_buf_free(&list);
    return rc < 0 ? rc : 0;
}

/* Reads up to max events of a query whose only parameters are (a, max). */
static int read_events(fg_db_t *db, const char *sql, int64_t a, int use_a, event_t *out, int max, int *count)
{
    fg_stmt_t s;
    event_t e;
    fg_buf_t type = FG_BUF_INIT;
    *count = 0;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    memset(&e, 0, sizeof(e));
    if (use_a)
        fg_stmt_int(&s, a);
    fg_stmt_int(&s, max);
    fg_stmt_out_int(&s, &e.id, NULL);
    fg_stmt_out_int(&s, &e.merchant_id, NULL);
    fg_stmt_out_text(&s, &type, NULL);
    fg_stmt_out_int(&s, &e.order_id, &e.order_null);
    fg_stmt_out_int(&s, &e.created_at, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while (*count < max && (rc = fg_stmt_fetch(&s)) == 1) {
            snprintf(e.type, sizeof(e.type), "%s", type.data != NULL ? type.data : "");
            out[(*count)++] = e;
        }
        if (*count == max)
            fg_stmt_done(&s);
    }
    fg_buf_free(&type);
    return rc < 0 ? rc : 0;
}

/* Fans an event out to the endpoints the cache holds for its merchant (the
 * cache was loaded for the batch the event is in). */
static int fan_out_event(fg_db_t *db, round_t *r, const event_t *e, int64_t now)
{
    int lo = 0, hi = r->cache.count, rc = 0;
    while (lo < hi) { /* the first endpoint of the merchant: the list is sorted by merchant */
        int mid = lo + (hi - lo) / 2;
        if (r->cache.list[mid].merchant_id < e->merchant_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; rc == 0 && i < r->cache.count && r->cache.list[i].merchant_id == e->merchant_id; i++) {
        if (!fg_webhook_subscribed(r->cache.list[i].events, e->type))
            continue;
        rc = fg_delivery_insert(db, (int)r->cache.list[i].failing, r->cache.list[i].id, e->id, e->order_id,
                                e->order_null, 0, e->created_at, now, now);
        if (rc == 0)
            r->created++;
    }
    return rc;
}

static int exec_int2(fg_db_t *db, const char *sql, int64_t a, int64_t b, int with_b)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, a);
    if (with_b)
        fg_stmt_int(&s, b);
    return fg_stmt_exec(&s);
}

/* Events that were gaps and have committed since: fan out, forget the gap.
 * Gaps proven never to commit are dropped. */
/* Runs sql, whose parameters are (a when with_a, then) a JSON array of ids. */
static int exec_ids(fg_db_t *db, const char *sql, int with_a, int64_t a, const fg_buf_t *ids)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc != 0)
        return rc;
    if (with_a)
        fg_stmt_int(&s, a);
    fg_stmt_str(&s, ids->data, ids->len);
    return fg_stmt_exec(&s);
}

static int recheck_gaps(fg_db_t *db, round_t *r, int64_t now)
{
    int count = GAP_BATCH, rc = 0;
    /* every gap that committed (each read deletes what it fanned out, so the
     * next reads the rest): an event left behind would go out after a later
     * event of its order */
    for (int reads = 0; rc == 0 && count == GAP_BATCH && reads < GAP_READS_MAX; reads++) {
        fg_buf_t ids = FG_BUF_INIT;
        rc = read_events(db, SQL_GAPS_FOUND, 0, 0, r->events, GAP_BATCH, &count);
        if (rc == 0 && count > 0)
            rc = cache_load(db, &r->cache, r->events, count);
        fg_buf_putc(&ids, '[');
        for (int i = 0; rc == 0 && i < count; i++) {
            rc = fan_out_event(db, r, &r->events[i], now);
            fg_buf_printf(&ids, "%s%lld", i > 0 ? "," : "", (long long)r->events[i].id);
        }
        fg_buf_putc(&ids, ']');
        if (rc == 0 && count > 0)
            rc = exec_ids(db, SQL_GAPS_DELETE, 0, 0, &ids);
        fg_buf_free(&ids);
    }
    if (rc == 0 && r->settled > 0)
        rc = exec_int2(db, SQL_GAPS_SETTLED, r->settled, GAP_SWEEP, 1);
    else if (rc == 0)
        rc = exec_int2(db, SQL_GAPS_EXPIRE, now - GAP_HORIZON_MS, GAP_SWEEP, 1);
    return rc;
}

static int note_gaps(fg_db_t *db, int64_t from, int64_t to, int64_t now)
{
    if (to - from >= GAP_SPAN_MAX) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "webhook fan-out: event ids jump");
        fg_log_int(&l, "from", from);
        fg_log_int(&l, "to", to);
        fg_log_int(&l, "kept", GAP_SPAN_MAX);
        fg_log_end(&l);
        from = to - GAP_SPAN_MAX + 1;
    }
    fg_buf_t ids = FG_BUF_INIT;
    fg_buf_putc(&ids, '[');
    for (int64_t id = from; id <= to; id++)
        fg_buf_printf(&ids, "%s%lld", id > from ? "," : "", (long long)id);
    fg_buf_putc(&ids, ']');
    int rc = exec_ids(db, SQL_GAPS_INSERT, 1, now, &ids);
    fg_buf_free(&ids);
    return rc;
}

static int round_tx(fg_db_t *db, void *arg)
{
    round_t *r = arg;
    fg_stmt_t s;
    int64_t mark = 0, now = fg_now_ms();
    int count = 0;
    r->created = 0;
    r->full = 0;
    cache_clear(&r->cache); /* a re-run must not trust what a rolled-back attempt read */
    int rc = fg_stmt_init(&s, db, SQL_LOCK);
    if (rc != 0)
        return rc;
    fg_stmt_out_int(&s, &mark, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc <= 0)
        return rc; /* 0: another instance holds the round */
    /* the new events are read before the gaps: an event that committed
     * before a new one (an earlier event of its order, say) is then visible
     * to the gaps' read, so it goes out in this round too, never after the
     * later one */
    if ((rc = read_events(db, SQL_NEW, mark, 1, r->fresh, FANOUT_BATCH, &count)) != 0 ||
        (rc = recheck_gaps(db, r, now)) != 0 || (rc = cache_load(db, &r->cache, r->fresh, count)) != 0)
        return rc;
    for (int i = 0; rc == 0 && i < count; i++) {
        const event_t *e = &r->fresh[i];
        if (e->id > mark + 1)
            rc = note_gaps(db, mark + 1, e->id - 1, now);
        if (rc == 0)
            rc = fan_out_event(db, r, e, now);
        mark = e->id;
    }
    if (rc == 0 && count > 0)
        rc = exec_int2(db, SQL_ADVANCE, mark, now, 1);
    r->full = count == FANOUT_BATCH;
    return rc;
}

/* Whether a round has anything to do: an event past the mark, or a gap to
 * look for again.  One plain read, no lock: an idle server asks this some
 * fifty times a second instead of locking the mark, reading the events and
 * the gaps, sweeping the gaps and committing (five statements a poll). */
static const char SQL_WORK[] = "SELECT COALESCE((SELECT MAX(id) FROM events) > "
                               "(SELECT last_event_id FROM webhook_fanout WHERE id = 1), 0) "
                               "OR EXISTS (SELECT 1 FROM webhook_fanout_gaps)";

int fg_webhooks_fanout(fg_db_t *db, int64_t settled)
{
    int64_t work = 0;
    int rc = fg_db_one_int(db, SQL_WORK, &work);
    fg_db_end(db);
    if (rc != 0)
        return rc == FG_ENOTFOUND ? FG_EDB : rc; /* the expression always has its row */
    if (!work)
        return 0;
    round_t *r = fg_calloc(1, sizeof(*r)); /* ~100 KiB: not for the stack */
    r->settled = settled;
    int created = 0;
    for (int round = 0; round < FANOUT_ROUNDS_MAX; round++) {
        rc = fg_db_tx(db, round_tx, r);
        cache_clear(&r->cache);
        if (rc != 0)
            break;
        created += r->created;
        if (!r->full)
            break;
    }
    free(r->cache.list);
    free(r);
    return rc != 0 ? rc : created;
}
