/*
 * recon_internal.h - what the reconciliation files share.
 */
#ifndef FG_RECON_INTERNAL_H
#define FG_RECON_INTERNAL_H

#include "recon/recon.h"

/** Inside the caller's transaction: pays order_id `amount` for a statement
 *  line through the notification pipeline, as the bank feed does (a VietQR
 *  payment for the transfer, then fg_webhook_apply_one), keyed by the line,
 *  its item and index so it happens once.  *payment_row receives the
 *  payment's row id.  0; FG_ESTATE (the order cannot take it); or a database
 *  code. */
int fg_recon_pay_order(fg_db_t *db, const fg_config_t *cfg, int64_t item_id, int64_t line_id, int64_t order_id,
                       int64_t amount, int index, int64_t *payment_row) FG_MUST_USE;

/** Midnight GMT+7 (Asia/Ho_Chi_Minh, no daylight saving) starting the
 *  yyyymmdd business day, in ms since the epoch. */
int64_t fg_recon_day_start_ms(int32_t day);

/** The yyyymmdd day after day; the business day (GMT+7) of a time. */
int32_t fg_recon_next_day(int32_t day);
int32_t fg_recon_day_of_ms(int64_t ms);
/** The first day from day on that is not closed for account (within 400
 *  days: else FG_ERANGE).  0 or a database code. */
int fg_recon_open_day(fg_db_t *db, const char *account, int32_t day, int32_t *out) FG_MUST_USE;

#endif
