/*
 * fuzz_api_body.c - the request bodies of the main write routes, read by the
 * same functions their handlers call before any transaction: POST
 * /v1/orders (fg_order_input_parse), /v1/orders/batch
 * (fg_orders_batch_parse, then each item), /v1/orders/{id}/payments
 * (fg_payments_create_parse), /v1/payments/{id}/refunds
 * (fg_refunds_create_parse), /v1/webhook_endpoints (fg_endpoint_input_parse,
 * create and update) and /v1/payouts (fg_payout_input_parse).  The first
 * byte picks the route.
 */
#include "fuzz.h"

#include "api/handlers.h"
#include "core/text.h"
#include "http/server_internal.h"
#include "orders/orders.h"
#include "recon/recon.h"
#include "webhooks/webhooks.h"

static fg_call_t *call_new(const char *body, size_t len, int json_type)
{
    fg_call_t *call = calloc(1, sizeof(*call));
    call->cfg = fuzz_configured();
    call->body = malloc(len + 1);
    memcpy(call->body, body, len + 1);
    call->body_len = len;
    call->method = strdup("POST");
    fg_buf_puts(&call->headers,
                json_type ? "content-type: application/json; charset=utf-8\n" : "content-type: text/plain\n");
    return call;
}

/* A refusal is answered with a JSON error and a 4xx status. */
static void check_refused(fg_call_t *call)
{
    FUZZ_CHECK(call->status >= 400 && call->status < 500);
    FUZZ_CHECK(call->response.len > 0 && call->response.data[0] == '{');
}

static void order(const char *text, yajl_val obj)
{
    fg_order_input_t in;
    fg_field_error_t err;
    memset(&in, 0, sizeof(in));
    if (fg_order_input_parse(obj, FUZZ_NOW_MS, &in, &err) == 0) {
        FUZZ_CHECK(in.merchant_ref != NULL && in.amount >= 1);
    } else {
        FUZZ_CHECK(err.code != NULL);
    }
    fg_order_input_free(&in);
    (void)text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned route = fuzz_take_byte(&data, &size);
    char *body = fuzz_text(data, size);
    fg_call_t *call = call_new(body, size, (route & 0x80) == 0);
    fg_field_error_t err;
    yajl_val root = NULL;
    switch (route % 7) {
    case 0: /* POST /v1/orders */
        if ((root = fg_call_json_object(call, &err)) != NULL)
            order(body, root);
        break;
    case 1: { /* POST /v1/orders/batch */
        yajl_val items;
        if (fg_orders_batch_parse(call, &root, &items) == 0) {
            FUZZ_CHECK(YAJL_IS_ARRAY(items) && items->u.array.len >= 1);
            for (size_t i = 0; i < items->u.array.len; i++)
                order(body, items->u.array.values[i]);
        } else {
            check_refused(call);
        }
        break;
    }
    case 2: { /* POST /v1/orders/{id}/payments */
        const fg_adapter_t *adapter = NULL;
        int64_t requested = -1;
        if (fg_payments_create_parse(call, &adapter, &requested) == 0)
            FUZZ_CHECK(adapter != NULL && requested >= 0);
        else
            check_refused(call);
        break;
    }
    case 3: { /* POST /v1/payments/{id}/refunds */
        int64_t amount = 0;
        const char *reason = NULL;
        if (fg_refunds_create_parse(call, &root, &amount, &reason) == 0)
            FUZZ_CHECK(amount >= 1 && (reason == NULL || fg_utf8_length(reason, strlen(reason)) <= 500));
        else
            check_refused(call);
        break;
    }
    case 4:
    case 5: { /* POST /v1/webhook_endpoints, PATCH /v1/webhook_endpoints/{id} */
        fg_endpoint_input_t in;
        memset(&in, 0, sizeof(in));
        if ((root = fg_call_json_object(call, &err)) != NULL &&
            fg_endpoint_input_parse(root, route % 7 == 4, call->cfg, &in, &err) != 0)
            FUZZ_CHECK(err.code != NULL);
        fg_endpoint_input_free(&in);
        break;
    }
    default: { /* POST /v1/payouts */
        fg_payout_input_t in;
        memset(&in, 0, sizeof(in));
        if ((root = fg_call_json_object(call, &err)) != NULL && fg_payout_input_parse(root, &in, &err) == 0)
            FUZZ_CHECK(in.amount >= 1);
        break;
    }
    }
    yajl_tree_free(root);
    fg_call_free(call);
    free(body);
    return 0;
}
