/*
 * inbound.c - the routes providers call: POST|GET /v1/webhooks/{adapter}
 * and POST /v1/webhooks/sepay.  The notification is handed to the payment
 * module as received (an fg_inbound_t) and acknowledged the way its
 * provider expects.
 */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>

#include "payments/payments.h"
#include "vietqr/vietqr.h"

/* A source whose notifications keep being refused (forged, unreadable) is
 * answered 429 before anything is read or stored, until its bucket refills:
 * the routes are open to anyone and each refusal writes an inbox row.  A
 * genuine provider is never charged, so never held back. */
static int source_held_back(fg_call_t *call)
{
    int64_t wait = fg_limits_rejected_wait(call);
    if (wait == 0)
        return 0;
    char seconds[24];
    snprintf(seconds, sizeof(seconds), "%lld", (long long)wait);
    fg_call_add_header(call, "retry-after", seconds);
    fg_call_error(call, 429, "rate_limited", "rate_limited",
                  "too many refused notifications from this address; retry after the Retry-After seconds", NULL);
    return 1;
}

static void acknowledge(fg_call_t *call, const fg_adapter_t *adapter, fg_ack_t outcome)
{
    if (outcome == FG_ACK_FORGED || outcome == FG_ACK_MALFORMED)
        fg_limits_rejected_charge(call);
    int status;
    const char *type;
    fg_buf_t body = FG_BUF_INIT;
    adapter->ack(outcome, &status, &body, &type);
    fg_call_json(call, status, &body);
    call->content_type = type;
}

void fg_webhooks_inbound(fg_call_t *call, fg_db_t *db)
{
    const fg_adapter_t *adapter = fg_adapter_find(call->params[0]);
    fg_ack_t outcome;
    if (adapter == NULL || adapter->verify == NULL) {
        fg_call_error(call, 404, "not_found", "adapter_not_found", "no such payment adapter", NULL);
        return;
    }
    if (source_held_back(call))
        return;
    fg_inbound_t in = fg_call_inbound(call);
    (void)fg_webhook_receive(db, call->cfg, adapter, &in, &outcome); /* an error is FG_ACK_ERROR: retried */
    acknowledge(call, adapter, outcome);
}

void fg_webhooks_inbound_many(fg_call_t **calls, int n, fg_db_t *db)
{
    fg_webhook_item_t *items = fg_calloc((size_t)n, sizeof(*items));
    fg_call_t **taken = fg_calloc((size_t)n, sizeof(*taken));
    int m = 0;
    for (int i = 0; i < n; i++) {
        fg_call_t *call = calls[i];
        const fg_adapter_t *adapter = fg_adapter_find(call->params[0]);
        if (adapter == NULL || adapter->verify == NULL) {
            fg_call_error(call, 404, "not_found", "adapter_not_found", "no such payment adapter", NULL);
            continue;
        }
        if (source_held_back(call))
            continue;
        items[m] = (fg_webhook_item_t){.adapter = adapter, .in = fg_call_inbound(call)};
        taken[m++] = call;
    }
    if (m > 0)
        fg_webhook_receive_many(db, calls[0]->cfg, items, m);
    for (int i = 0; i < m; i++)
        acknowledge(taken[i], items[i].adapter, items[i].outcome);
    free(items);
    free(taken);
}

void fg_sepay_webhook(fg_call_t *call, fg_db_t *db)
{
    fg_ack_t outcome;
    if (source_held_back(call))
        return;
    fg_inbound_t in = fg_call_inbound(call);
    (void)fg_sepay_receive(db, call->cfg, &in, fg_call_header(call, "authorization"), &outcome);
    acknowledge(call, &fg_adapter_vietqr, outcome);
}

void fg_sepay_webhook_many(fg_call_t **calls, int n, fg_db_t *db)
{
    fg_sepay_item_t *items = fg_calloc((size_t)n, sizeof(*items));
    fg_call_t **taken = fg_calloc((size_t)n, sizeof(*taken));
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (source_held_back(calls[i]))
            continue;
        items[m] = (fg_sepay_item_t){.in = fg_call_inbound(calls[i]),
                                     .authorization = fg_call_header(calls[i], "authorization")};
        taken[m++] = calls[i];
    }
    if (m > 0)
        fg_sepay_receive_many(db, calls[0]->cfg, items, m);
    for (int i = 0; i < m; i++)
        acknowledge(taken[i], &fg_adapter_vietqr, items[i].outcome);
    free(items);
    free(taken);
}
