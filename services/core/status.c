/*
 * status.c - the status string tables (status.h).
 */
#include "core/status.h"

#include <assert.h>
#include <string.h>

#define FG__NAME(name, text) text,
static const char *const ORDER_NAMES[] = {FG_ORDER_STATUS_MAP(FG__NAME)};
static const char *const PAYMENT_NAMES[] = {FG_PAYMENT_STATUS_MAP(FG__NAME)};
static const char *const REFUND_NAMES[] = {FG_REFUND_STATUS_MAP(FG__NAME)};
static const char *const DELIVERY_NAMES[] = {FG_DELIVERY_STATUS_MAP(FG__NAME)};
#undef FG__NAME

_Static_assert(sizeof(ORDER_NAMES) / sizeof(ORDER_NAMES[0]) == FG_ORDER_STATUS_COUNT, "one name per status");
_Static_assert(sizeof(PAYMENT_NAMES) / sizeof(PAYMENT_NAMES[0]) == FG_PAYMENT_STATUS_COUNT, "one name per status");
_Static_assert(sizeof(REFUND_NAMES) / sizeof(REFUND_NAMES[0]) == FG_REFUND_STATUS_COUNT, "one name per status");
_Static_assert(sizeof(DELIVERY_NAMES) / sizeof(DELIVERY_NAMES[0]) == FG_DELIVERY_STATUS_COUNT, "one name per status");

static int parse(const char *const *names, int count, const char *text, size_t len)
{
    for (int i = 0; i < count; i++)
        if (strlen(names[i]) == len && memcmp(names[i], text, len) == 0)
            return i;
    return -1;
}

/* The name and parse functions of one status kind. */
#define STATUS_FUNCTIONS(kind, NAMES, COUNT)                                                                           \
    const char *fg_##kind##_status_name(fg_##kind##_status_t s)                                                        \
    {                                                                                                                  \
        assert((unsigned)s < COUNT);                                                                                   \
        return NAMES[s];                                                                                               \
    }                                                                                                                  \
    int fg_##kind##_status_parse(const char *text, size_t len, fg_##kind##_status_t *out)                              \
    {                                                                                                                  \
        int i = parse(NAMES, COUNT, text, len);                                                                        \
        if (i < 0)                                                                                                     \
            return -1;                                                                                                 \
        *out = (fg_##kind##_status_t)i;                                                                                \
        return 0;                                                                                                      \
    }

STATUS_FUNCTIONS(order, ORDER_NAMES, FG_ORDER_STATUS_COUNT)
STATUS_FUNCTIONS(payment, PAYMENT_NAMES, FG_PAYMENT_STATUS_COUNT)
STATUS_FUNCTIONS(refund, REFUND_NAMES, FG_REFUND_STATUS_COUNT)
STATUS_FUNCTIONS(delivery, DELIVERY_NAMES, FG_DELIVERY_STATUS_COUNT)
