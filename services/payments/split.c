/*
 * split.c - where received and refunded money goes.  Pure arithmetic.
 */
#include "payments/payments.h"

#include <assert.h>
#include <string.h>

void fg_payment_split(fg_order_status_t effective_status, int allow_partial, int64_t amount, int64_t amount_paid,
                      int64_t received, int64_t *applied, int64_t *unapplied)
{
    assert(received > 0 && amount_paid >= 0 && amount_paid <= amount);
    int open = fg_order_accepts_payment(effective_status);
    int64_t owed = amount - amount_paid; /* no overflow: 0 <= amount_paid <= amount */
    *applied = 0;
    if (open && (received >= owed || allow_partial))
        *applied = received < owed ? received : owed;
    *unapplied = received - *applied;
    /* the money invariant: every dong received is applied or unapplied */
    assert(*applied >= 0 && *unapplied >= 0 && *applied + *unapplied == received && *applied <= owed);
}

void fg_refund_split(int64_t payment_applied, int64_t payment_refunded, int64_t amount, int64_t *from_merchant,
                     int64_t *from_unapplied)
{
    assert(amount > 0 && payment_applied >= 0 && payment_refunded >= 0);
    int64_t merchant_refunded = payment_refunded < payment_applied ? payment_refunded : payment_applied;
    int64_t merchant_left = payment_applied - merchant_refunded;
    *from_merchant = amount < merchant_left ? amount : merchant_left;
    *from_unapplied = amount - *from_merchant;
    assert(*from_merchant >= 0 && *from_unapplied >= 0 && *from_merchant + *from_unapplied == amount);
}
