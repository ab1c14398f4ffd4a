/*
 * providers.h - the status-query job: asks the providers (VNPay, MoMo) about
 * payments and refunds whose outcome is not known yet, and records their
 * answers through the same operations as every other door (payments.h).
 *
 * A provider call never runs inside a database transaction and never on an
 * event loop: the job runs on its own thread.
 */
#ifndef FG_PAYMENTS_PROVIDERS_H
#define FG_PAYMENTS_PROVIDERS_H

#include "adapter.h"
#include "db/db.h"

/** Queries the providers about due pending payments, at most limit of them,
 *  and applies what they report.  Returns how many were queried, or < 0 on a
 *  database error.  Blocking: run from a background thread. */
int fg_providers_query_round(fg_db_t *db, const fg_config_t *cfg, int limit);

/** Asks the providers about due refunds whose outcome is unknown (a lost
 *  or "still processing" answer, or a crash between the two transactions),
 *  at most limit of them, and settles those the provider answers finally:
 *  made -> succeeded with its journal, not made -> failed with the
 *  reservation released.  Returns how many were asked, or < 0 on a database
 *  error.  Blocking: run from a background thread. */
int fg_providers_refund_round(fg_db_t *db, const fg_config_t *cfg, int limit);

/** Starts / stops the background query job of this instance. */
int fg_providers_start(const fg_config_t *cfg) FG_MUST_USE;
void fg_providers_stop(void);

#endif
