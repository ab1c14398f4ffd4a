/*
 * metrics.h - request counters and latency histograms, rendered in the
 * Prometheus text format.  Lock-free: relaxed atomics per (route, status).
 */
#ifndef FG_METRICS_METRICS_H
#define FG_METRICS_METRICS_H

#include <stdint.h>
#include "core/buf.h"
#include "db/pool.h"

/* Route slots: the API routes plus the few answered on the loop. */
#define FG_METRICS_ROUTES_MAX 160

/** Registers route names; index i of a later observe is names[i]. */
void fg_metrics_init(const char *const *names, int count);
/** Records one finished request. */
void fg_metrics_observe(int route, int status, int64_t duration_us);
/** Appends every metric, with the pool's gauges, to out. */
void fg_metrics_render(fg_buf_t *out, fg_pool_t *pool);

/* Outbound webhooks (services/webhooks), counted by the instance that made
 * the attempt; the pending gauge is the database's count. */
/** A delivery delivered, latency_ms after its event was created. */
void fg_metrics_webhook_delivered(int64_t latency_ms);
/** A delivery failed for good (3 days of retries). */
void fg_metrics_webhook_failed(void);
/** count deliveries failed for good because their endpoint was deleted
 *  while they were pending (counted by the instance whose request deleted
 *  it, after its commit). */
void fg_metrics_webhook_failed_endpoint_deleted(uint64_t count);
/** An attempt failed and will be retried. */
void fg_metrics_webhook_retried(void);
/** Deliveries pending (waiting or in flight) in the database. */
void fg_metrics_webhook_pending(int64_t count);

/* Inbound notifications applied as sets (services/payments/webhook.c). */
/** A set of members notifications committed together, or (alone) sent back
 *  to run one by one because the shared transaction failed. */
void fg_metrics_notification_set(int members, int alone);
/* An order batch committed: set-wise, or item by item after the set-wise run failed. */
void fg_metrics_order_batch(int item_by_item);

#endif
