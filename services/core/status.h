/*
 * status.h - the lifecycle states of orders, payments, refunds and webhook
 * deliveries: one enum and one string table each (X-macros, like the error
 * table in error.h).
 *
 * The names are the API's and the database's (the ENUM columns of schema/):
 * code compares enums, never strings; a name is written only at the edges
 * (JSON, an UPDATE's parameter, a page).  FG_*_STATUS_SQL(column) reads a
 * column as the enum's value, so rows bind it as an integer.
 */
#ifndef FG_CORE_STATUS_H
#define FG_CORE_STATUS_H

#include <stddef.h>

/* docs/DESIGN.md §3: open -> partially_paid -> paid; open -> cancelled;
 * open|partially_paid -> expired. */
#define FG_ORDER_STATUS_MAP(X)                                                                                         \
    X(OPEN, "open")                                                                                                    \
    X(PARTIALLY_PAID, "partially_paid")                                                                                \
    X(PAID, "paid")                                                                                                    \
    X(CANCELLED, "cancelled")                                                                                          \
    X(EXPIRED, "expired")

/* pending -> succeeded | failed | expired */
#define FG_PAYMENT_STATUS_MAP(X)                                                                                       \
    X(PENDING, "pending")                                                                                              \
    X(SUCCEEDED, "succeeded")                                                                                          \
    X(FAILED, "failed")                                                                                                \
    X(EXPIRED, "expired")

/* pending -> succeeded | failed */
#define FG_REFUND_STATUS_MAP(X)                                                                                        \
    X(PENDING, "pending")                                                                                              \
    X(SUCCEEDED, "succeeded")                                                                                          \
    X(FAILED, "failed")

/* pending -> delivered | failed (after three days of retries) */
#define FG_DELIVERY_STATUS_MAP(X)                                                                                      \
    X(PENDING, "pending")                                                                                              \
    X(DELIVERED, "delivered")                                                                                          \
    X(FAILED, "failed")

#define FG__STATUS_ENUM(prefix, name, text) prefix##name,
#define FG__ORDER_ENUM(name, text) FG__STATUS_ENUM(FG_ORDER_, name, text)
#define FG__PAYMENT_ENUM(name, text) FG__STATUS_ENUM(FG_PAYMENT_, name, text)
#define FG__REFUND_ENUM(name, text) FG__STATUS_ENUM(FG_REFUND_, name, text)
#define FG__DELIVERY_ENUM(name, text) FG__STATUS_ENUM(FG_DELIVERY_, name, text)

typedef enum { FG_ORDER_STATUS_MAP(FG__ORDER_ENUM) FG_ORDER_STATUS_COUNT } fg_order_status_t;
typedef enum { FG_PAYMENT_STATUS_MAP(FG__PAYMENT_ENUM) FG_PAYMENT_STATUS_COUNT } fg_payment_status_t;
typedef enum { FG_REFUND_STATUS_MAP(FG__REFUND_ENUM) FG_REFUND_STATUS_COUNT } fg_refund_status_t;
typedef enum { FG_DELIVERY_STATUS_MAP(FG__DELIVERY_ENUM) FG_DELIVERY_STATUS_COUNT } fg_delivery_status_t;

/* A column read as the enum's value: FIELD() is 1-based, 0 for a name not in
 * the list, so an unknown name reads as -1 (the loaders refuse it). */
#define FG__STATUS_SQL_ITEM(name, text) ", '" text "'"
#define FG_ORDER_STATUS_SQL(column) "(FIELD(" column FG_ORDER_STATUS_MAP(FG__STATUS_SQL_ITEM) ") - 1)"
#define FG_PAYMENT_STATUS_SQL(column) "(FIELD(" column FG_PAYMENT_STATUS_MAP(FG__STATUS_SQL_ITEM) ") - 1)"
#define FG_REFUND_STATUS_SQL(column) "(FIELD(" column FG_REFUND_STATUS_MAP(FG__STATUS_SQL_ITEM) ") - 1)"
#define FG_DELIVERY_STATUS_SQL(column) "(FIELD(" column FG_DELIVERY_STATUS_MAP(FG__STATUS_SQL_ITEM) ") - 1)"

/** The status's name (a static string); asserts a valid value. */
const char *fg_order_status_name(fg_order_status_t s);
const char *fg_payment_status_name(fg_payment_status_t s);
const char *fg_refund_status_name(fg_refund_status_t s);
const char *fg_delivery_status_name(fg_delivery_status_t s);

/** The status named by text[0..len): 0, or -1 for no such name. */
int fg_order_status_parse(const char *text, size_t len, fg_order_status_t *out);
int fg_payment_status_parse(const char *text, size_t len, fg_payment_status_t *out);
int fg_refund_status_parse(const char *text, size_t len, fg_refund_status_t *out);
int fg_delivery_status_parse(const char *text, size_t len, fg_delivery_status_t *out);

#endif
