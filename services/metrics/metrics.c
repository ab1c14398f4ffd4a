/*
 * metrics.c - Prometheus text metrics.
 */
#include "metrics/metrics.h"

#include <assert.h>
#include <stdatomic.h>
#include "db/group.h"

/* Status codes counted one by one; anything else counts as its class. */
static const int STATUSES[] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 502, 503};
#define STATUS_COUNT ((int)(sizeof(STATUSES) / sizeof(STATUSES[0])))
#define STATUS_SLOTS (STATUS_COUNT + 1) /* + "other" */

/* Latency bucket upper bounds in microseconds (Prometheus renders seconds). */
static const int64_t BUCKETS_US[] = {500,    1000,   2500,   5000,    10000,   25000,   50000,
                                     100000, 250000, 500000, 1000000, 2500000, 10000000};
#define BUCKET_COUNT ((int)(sizeof(BUCKETS_US) / sizeof(BUCKETS_US[0])))

static const char *const *route_names;
static int route_count;
static atomic_uint_fast64_t requests[FG_METRICS_ROUTES_MAX][STATUS_SLOTS];
static atomic_uint_fast64_t other_status[FG_METRICS_ROUTES_MAX];
static atomic_uint_fast64_t buckets[FG_METRICS_ROUTES_MAX][BUCKET_COUNT + 1];
static atomic_uint_fast64_t sum_us[FG_METRICS_ROUTES_MAX];

void fg_metrics_init(const char *const *names, int count)
{
    assert(count <= FG_METRICS_ROUTES_MAX);
    route_names = names;
    route_count = count;
}

static int status_slot(int status)
{
    for (int i = 0; i < STATUS_COUNT; i++)
        if (STATUSES[i] == status)
            return i;
    return STATUS_COUNT;
}

void fg_metrics_observe(int route, int status, int64_t duration_us)
{
    if (route < 0 || route >= route_count)
        return;
    int slot = status_slot(status);
    if (slot == STATUS_COUNT)
        atomic_store_explicit(&other_status[route], (uint64_t)status, memory_order_relaxed);
    atomic_fetch_add_explicit(&requests[route][slot], 1, memory_order_relaxed);
    int b = 0;
    while (b < BUCKET_COUNT && duration_us > BUCKETS_US[b])
        b++;
    atomic_fetch_add_explicit(&buckets[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sum_us[route], (uint64_t)(duration_us > 0 ? duration_us : 0), memory_order_relaxed);
}

static void render_requests(fg_buf_t *out)
{
    fg_buf_puts(out, "# HELP feegate_http_requests_total HTTP requests answered, by route and status.\n"
                     "# TYPE feegate_http_requests_total counter\n");
    for (int r = 0; r < route_count; r++)
        for (int s = 0; s < STATUS_SLOTS; s++) {
            uint64_t n = atomic_load_explicit(&requests[r][s], memory_order_relaxed);
            if (n == 0)
                continue;
            if (s < STATUS_COUNT)
                fg_buf_printf(out, "feegate_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", route_names[r],
                              STATUSES[s], (unsigned long long)n);
            else
                fg_buf_printf(out, "feegate_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", route_names[r],
                              (unsigned long long)n);
        }
}

static void render_latency(fg_buf_t *out)
{
    fg_buf_puts(out, "# HELP feegate_http_request_duration_seconds Time from request to response, by route.\n"
                     "# TYPE feegate_http_request_duration_seconds histogram\n");
    for (int r = 0; r < route_count; r++) {
        uint64_t cumulative = 0;
        for (int b = 0; b <= BUCKET_COUNT; b++) {
            cumulative += atomic_load_explicit(&buckets[r][b], memory_order_relaxed);
            if (b < BUCKET_COUNT)
                fg_buf_printf(out, "feegate_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                              route_names[r], (double)BUCKETS_US[b] / 1e6, (unsigned long long)cumulative);
            else
                fg_buf_printf(out, "feegate_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                              route_names[r], (unsigned long long)cumulative);
        }
        uint64_t sum = atomic_load_explicit(&sum_us[r], memory_order_relaxed);
        fg_buf_printf(out, "feegate_http_request_duration_seconds_sum{route=\"%s\"} %llu.%06llu\n", route_names[r],
                      (unsigned long long)(sum / 1000000), (unsigned long long)(sum % 1000000));
        fg_buf_printf(out, "feegate_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r],
                      (unsigned long long)cumulative);
    }
}

/* ---- outbound webhooks ---- */

/* Delivery latency bucket upper bounds in milliseconds: from a commit to its
 * webhook's arrival, sub-second normally, up to hours when retried. */
static const int64_t WEBHOOK_BUCKETS_MS[] = {10,   25,   50,    100,   250,   500,    1000,
                                             2500, 5000, 10000, 30000, 60000, 300000, 3600000};
#define WEBHOOK_BUCKET_COUNT ((int)(sizeof(WEBHOOK_BUCKETS_MS) / sizeof(WEBHOOK_BUCKETS_MS[0])))

static atomic_uint_fast64_t webhook_delivered, webhook_failed, webhook_failed_deleted, webhook_retried,
    webhook_latency_sum_ms;
static atomic_uint_fast64_t webhook_buckets[WEBHOOK_BUCKET_COUNT + 1];
static atomic_int_fast64_t webhook_pending;

void fg_metrics_webhook_delivered(int64_t latency_ms)
{
    int b = 0;
    while (b < WEBHOOK_BUCKET_COUNT && latency_ms > WEBHOOK_BUCKETS_MS[b])
        b++;
    atomic_fetch_add_explicit(&webhook_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&webhook_latency_sum_ms, (uint64_t)(latency_ms > 0 ? latency_ms : 0),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&webhook_delivered, 1, memory_order_relaxed);
}

void fg_metrics_webhook_failed(void) { atomic_fetch_add_explicit(&webhook_failed, 1, memory_order_relaxed); }

void fg_metrics_webhook_failed_endpoint_deleted(uint64_t count)
{
    atomic_fetch_add_explicit(&webhook_failed_deleted, count, memory_order_relaxed);
}

void fg_metrics_webhook_retried(void) { atomic_fetch_add_explicit(&webhook_retried, 1, memory_order_relaxed); }

void fg_metrics_webhook_pending(int64_t count) { atomic_store_explicit(&webhook_pending, count, memory_order_relaxed); }

static atomic_uint_fast64_t sets_committed, set_members, sets_alone;

void fg_metrics_notification_set(int members, int alone)
{
    if (alone) {
        atomic_fetch_add_explicit(&sets_alone, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&sets_committed, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&set_members, (uint_fast64_t)members, memory_order_relaxed);
}

static atomic_uint_fast64_t batches_set, batches_item;

void fg_metrics_order_batch(int item_by_item)
{
    atomic_fetch_add_explicit(item_by_item ? &batches_item : &batches_set, 1, memory_order_relaxed);
}

static void render_sets(fg_buf_t *out)
{
    fg_buf_printf(out,
                  "# HELP feegate_order_batches_total Order batches created, by how: set-wise (one lookup of the "
                  "merchant_refs, multi-row inserts) or item by item (after the set-wise run failed).\n"
                  "# TYPE feegate_order_batches_total counter\n"
                  "feegate_order_batches_total{run=\"set\"} %llu\n"
                  "feegate_order_batches_total{run=\"item_by_item\"} %llu\n",
                  (unsigned long long)atomic_load_explicit(&batches_set, memory_order_relaxed),
                  (unsigned long long)atomic_load_explicit(&batches_item, memory_order_relaxed));
    fg_buf_printf(out,
                  "# HELP feegate_notification_sets_total Sets of inbound notifications applied in one transaction.\n"
                  "# TYPE feegate_notification_sets_total counter\n"
                  "feegate_notification_sets_total %llu\n"
                  "# HELP feegate_notification_set_members_total Notifications applied in those sets.\n"
                  "# TYPE feegate_notification_set_members_total counter\n"
                  "feegate_notification_set_members_total %llu\n"
                  "# HELP feegate_notification_sets_run_alone_total Sets whose transaction failed, each member then "
                  "run alone.\n"
                  "# TYPE feegate_notification_sets_run_alone_total counter\n"
                  "feegate_notification_sets_run_alone_total %llu\n",
                  (unsigned long long)atomic_load_explicit(&sets_committed, memory_order_relaxed),
                  (unsigned long long)atomic_load_explicit(&set_members, memory_order_relaxed),
                  (unsigned long long)atomic_load_explicit(&sets_alone, memory_order_relaxed));
}

static void render_webhooks(fg_buf_t *out)
{
    fg_buf_printf(
        out,
        "# HELP feegate_webhook_deliveries_pending Outbound webhook deliveries waiting or in flight.\n"
        "# TYPE feegate_webhook_deliveries_pending gauge\n"
        "feegate_webhook_deliveries_pending %lld\n"
        "# HELP feegate_webhook_deliveries_delivered_total Outbound webhook deliveries a receiver accepted.\n"
        "# TYPE feegate_webhook_deliveries_delivered_total counter\n"
        "feegate_webhook_deliveries_delivered_total %llu\n"
        "# HELP feegate_webhook_deliveries_failed_total Outbound webhook deliveries failed for good, by reason: "
        "retries_exhausted (given up after 3 days), endpoint_deleted (pending when their endpoint was deleted).\n"
        "# TYPE feegate_webhook_deliveries_failed_total counter\n"
        "feegate_webhook_deliveries_failed_total{reason=\"retries_exhausted\"} %llu\n"
        "feegate_webhook_deliveries_failed_total{reason=\"endpoint_deleted\"} %llu\n"
        "# HELP feegate_webhook_attempts_retried_total Outbound webhook attempts that failed and will be retried.\n"
        "# TYPE feegate_webhook_attempts_retried_total counter\n"
        "feegate_webhook_attempts_retried_total %llu\n"
        "# HELP feegate_webhook_delivery_latency_seconds From an event's commit to its delivery.\n"
        "# TYPE feegate_webhook_delivery_latency_seconds histogram\n",
        (long long)atomic_load_explicit(&webhook_pending, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&webhook_delivered, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&webhook_failed, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&webhook_failed_deleted, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&webhook_retried, memory_order_relaxed));
    uint64_t cumulative = 0;
    for (int b = 0; b <= WEBHOOK_BUCKET_COUNT; b++) {
        cumulative += atomic_load_explicit(&webhook_buckets[b], memory_order_relaxed);
        if (b < WEBHOOK_BUCKET_COUNT)
            fg_buf_printf(out, "feegate_webhook_delivery_latency_seconds_bucket{le=\"%g\"} %llu\n",
                          (double)WEBHOOK_BUCKETS_MS[b] / 1e3, (unsigned long long)cumulative);
        else
            fg_buf_printf(out, "feegate_webhook_delivery_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                          (unsigned long long)cumulative);
    }
    uint64_t sum = atomic_load_explicit(&webhook_latency_sum_ms, memory_order_relaxed);
    fg_buf_printf(out,
                  "feegate_webhook_delivery_latency_seconds_sum %llu.%03llu\n"
                  "feegate_webhook_delivery_latency_seconds_count %llu\n",
                  (unsigned long long)(sum / 1000), (unsigned long long)(sum % 1000), (unsigned long long)cumulative);
}

void fg_metrics_render(fg_buf_t *out, fg_pool_t *pool)
{
    render_requests(out);
    render_latency(out);
    render_webhooks(out);
    render_sets(out);
    fg_db_groups_render(out);
    fg_buf_printf(out,
                  "# HELP feegate_db_answers_lost_total Statements a cluster node never answered: the connection "
                  "was dropped and the transaction run again.\n"
                  "# TYPE feegate_db_answers_lost_total counter\n"
                  "feegate_db_answers_lost_total %llu\n",
                  fg_db_answers_lost());
    fg_buf_printf(out,
                  "# HELP feegate_db_pool_connections Database connections in the pool.\n"
                  "# TYPE feegate_db_pool_connections gauge\n"
                  "feegate_db_pool_connections %d\n"
                  "# HELP feegate_db_pool_in_use Database connections running a request now.\n"
                  "# TYPE feegate_db_pool_in_use gauge\n"
                  "feegate_db_pool_in_use %d\n"
                  "# HELP feegate_db_pool_waiting Requests waiting for a database connection.\n"
                  "# TYPE feegate_db_pool_waiting gauge\n"
                  "feegate_db_pool_waiting %d\n"
                  "# HELP feegate_db_pool_batches_total Times a worker took several requests of one kind at once.\n"
                  "# TYPE feegate_db_pool_batches_total counter\n"
                  "feegate_db_pool_batches_total %lld\n"
                  "# HELP feegate_db_pool_batched_requests_total Requests taken in those batches.\n"
                  "# TYPE feegate_db_pool_batched_requests_total counter\n"
                  "feegate_db_pool_batched_requests_total %lld\n",
                  fg_pool_size(pool), fg_pool_busy(pool), fg_pool_waiting(pool), fg_pool_batches(pool),
                  fg_pool_batched(pool));
}
