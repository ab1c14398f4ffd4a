/*
 * rules.h - what an order's state allows, in one place.  Pure: no
 * transport, no database; every door (the API, the payer pages, a bank
 * feed, the status-query job) asks these.
 */
#ifndef FG_ORDERS_RULES_H
#define FG_ORDERS_RULES_H

#include <stdint.h>
#include "core/error.h"
#include "core/status.h"

/** The status an order has at now_ms: open and partially paid orders past
 *  their expires_at (has_expiry) are expired even before the sweeper has
 *  written it. */
fg_order_status_t fg_order_effective_status(fg_order_status_t stored, int has_expiry, int64_t expires_at,
                                            int64_t now_ms);

/** Whether an order in this effective status still takes money towards
 *  itself (open or partially paid); money for any other lands unapplied. */
int fg_order_accepts_payment(fg_order_status_t effective);

/**
 * The amount a new payment for an order carries: requested, or all that is
 * still owed when requested is 0.  0 with *out set, or FG_ERANGE when
 * requested is more than is owed, or less while the order does not allow
 * partial payment.  Asserts 0 <= amount_paid <= amount and requested >= 0.
 */
int fg_order_payable_amount(int64_t amount, int64_t amount_paid, int allow_partial, int64_t requested,
                            int64_t *out) FG_MUST_USE;

#endif
