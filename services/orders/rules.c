/*
 * rules.c - what an order's state allows (rules.h).
 */
#include "orders/rules.h"

#include <assert.h>

fg_order_status_t fg_order_effective_status(fg_order_status_t stored, int has_expiry, int64_t expires_at,
                                            int64_t now_ms)
{
    if (has_expiry && expires_at <= now_ms && fg_order_accepts_payment(stored))
        return FG_ORDER_EXPIRED;
    return stored;
}

int fg_order_accepts_payment(fg_order_status_t effective)
{
    return effective == FG_ORDER_OPEN || effective == FG_ORDER_PARTIALLY_PAID;
}

int fg_order_payable_amount(int64_t amount, int64_t amount_paid, int allow_partial, int64_t requested, int64_t *out)
{
    assert(amount_paid >= 0 && amount_paid <= amount && requested >= 0);
    int64_t owed = amount - amount_paid; /* no overflow: 0 <= amount_paid <= amount */
    if (requested == 0) {
        *out = owed;
        return 0;
    }
    if (requested > owed || (!allow_partial && requested != owed))
        return FG_ERANGE;
    *out = requested;
    return 0;
}
