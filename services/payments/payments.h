/*
 * payments.h - payments through the bank adapters, the inbound webhook
 * pipeline, and refunds (docs/DESIGN.md §3, §5, §6).
 */
#ifndef FG_PAYMENTS_PAYMENTS_H
#define FG_PAYMENTS_PAYMENTS_H

#include "adapter.h"
#include "db/db.h"
#include "orders/rules.h"

/* A refund's reason, in characters. */
#define FG_REFUND_REASON_MAX 500

/** The split of money received for an order: what settles it and what goes
 *  to unapplied.  Pure; the rules of docs/DESIGN.md §2 / §3:
 *  - a closed order (paid, cancelled, expired) takes nothing;
 *  - otherwise the order takes up to what it still owes; a partial amount only
 *    when allow_partial, else all of it is unapplied. */
void fg_payment_split(fg_order_status_t effective_status, int allow_partial, int64_t amount, int64_t amount_paid,
                      int64_t received, int64_t *applied, int64_t *unapplied);

/** How a refund draws on the merchant's and the unapplied accounts: the
 *  merchant's share first, up to what this payment credited it.  Pure. */
void fg_refund_split(int64_t payment_applied, int64_t payment_refunded, int64_t amount, int64_t *from_merchant,
                     int64_t *from_unapplied);

#endif
