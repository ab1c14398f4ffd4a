/*
 * inbound.c - the routes providers call: POST|GET /v1/webhooks/{adapter}
 * and POST /v1/webhooks/sepay.  The notification is handed to the payment
 * module as received (an fg_inbound_t) and acknowledged the way its
 * provider expects.
 */
#include "api/handlers.h"

#include "payments/payments.h"
#include "vietqr/vietqr.h"

static void acknowledge(fg_call_t *call, const fg_adapter_t *adapter, fg_ack_t outcome)
{
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
    fg_inbound_t in = fg_call_inbound(call);
    (void)fg_webhook_receive(db, call->cfg, adapter, &in, &outcome); /* an error is FG_ACK_ERROR: retried */
    acknowledge(call, adapter, outcome);
}

void fg_sepay_webhook(fg_call_t *call, fg_db_t *db)
{
    fg_ack_t outcome;
    fg_inbound_t in = fg_call_inbound(call);
    (void)fg_sepay_receive(db, call->cfg, &in, fg_call_header(call, "authorization"), &outcome);
    acknowledge(call, &fg_adapter_vietqr, outcome);
}
