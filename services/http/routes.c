/*
 * routes.c - every API route, in one table.
 */
#include "http/http.h"
#include "orders/orders.h"
#include "web/web.h"

const fg_route_t fg_routes[] = {
    {"POST", "/v1/orders/batch", "orders.batch", FG_AUTH_MERCHANT, 1, FG_BATCH_BODY_MAX, fg_orders_batch},
    {"POST", "/v1/orders", "orders.create", FG_AUTH_MERCHANT, 1, 0, fg_orders_create},
    {"GET", "/v1/orders", "orders.list", FG_AUTH_MERCHANT, 0, 0, fg_orders_list},
    {"GET", "/v1/orders/{}", "orders.get", FG_AUTH_MERCHANT, 0, 0, fg_orders_get},
    {"POST", "/v1/orders/{}/cancel", "orders.cancel", FG_AUTH_MERCHANT, 1, 0, fg_orders_cancel},
    {"GET", "/pay/{}", "pay.page", FG_AUTH_NONE, 0, 0, fg_web_pay_page},
    {NULL, NULL, NULL, FG_AUTH_NONE, 0, 0, NULL},
};
