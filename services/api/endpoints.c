/*
 * endpoints.c - the webhook endpoint routes: create, list, read, update,
 * enable/disable, delete, rotate the secret.  Every write is one transaction
 * that also stores the Idempotency-Key's answer; every query is scoped to
 * the caller's merchant (another merchant's endpoint is 404).  The work is
 * the webhooks module's (webhooks/endpoints.c).
 */
#include "api/handlers.h"

#include <string.h>
#include "core/text.h" /* fg_now_ms */
#include "merchants/merchants.h"
#include "metrics/metrics.h"
#include "webhooks/webhooks.h"

_Static_assert(FG_WEBHOOK_ENDPOINTS_MAX == 16, "the endpoint_limit message names the limit");

static void endpoint_not_found(fg_call_t *call)
{
    fg_call_error(call, 404, "not_found", "endpoint_not_found", "no such webhook endpoint", NULL);
}

/* ---- input ------------------------------------------------------------------------ */

/* Parses and validates a body (NULL or empty allowed when !creating: an
 * update that changes nothing).  Returns the tree (free it after in; may be
 * NULL for an empty body), or answers the call and sets *answered. */
static yajl_val read_input(fg_call_t *call, int creating, fg_endpoint_input_t *in, int *answered)
{
    fg_field_error_t err;
    *answered = 0;
    memset(in, 0, sizeof(*in));
    if (!creating && (call->body == NULL || call->body_len == 0))
        return NULL;
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL || fg_endpoint_input_parse(root, creating, call->cfg, in, &err) != 0) {
        fg_call_field_error(call, &err);
        *answered = 1;
    }
    return root;
}

/* ---- writes ----------------------------------------------------------------------- */

typedef enum { OP_CREATE, OP_UPDATE, OP_ENABLE, OP_DISABLE, OP_ROTATE, OP_DELETE } op_t;

typedef struct {
    fg_call_t *call;
    op_t op;
    const fg_endpoint_input_t *in;
    char secret[FG_WEBHOOK_SECRET_CAP];
    fg_buf_t body;
    int status;
    uint64_t deliveries_failed; /* by a delete, counted once it committed */
} mutate_t;

static int run_op(fg_db_t *db, mutate_t *m, fg_endpoint_row_t *r, int64_t now)
{
    fg_merchant_ref_t mer = fg_call_merchant(m->call);
    const char *id = m->call->params[0];
    size_t len = m->call->param_lens[0];
    switch (m->op) {
    case OP_CREATE: return fg_endpoint_create(db, &mer, m->in, now, r, m->secret);
    case OP_UPDATE: return fg_endpoint_update(db, &mer, id, len, m->in, now, r);
    case OP_ENABLE: return fg_endpoint_set_enabled(db, &mer, id, len, 1, now, r);
    case OP_DISABLE: return fg_endpoint_set_enabled(db, &mer, id, len, 0, now, r);
    case OP_ROTATE: return fg_endpoint_rotate_secret(db, &mer, id, len, now, r, m->secret);
    case OP_DELETE: return fg_endpoint_delete(db, &mer, id, len, now, r, &m->deliveries_failed);
    }
    return FG_EINVALID;
}

static int mutate_tx(fg_db_t *db, void *arg)
{
    mutate_t *m = arg;
    fg_endpoint_row_t r;
    int64_t now = fg_now_ms();
    fg_buf_reset(&m->body);
    fg_endpoint_row_init(&r);
    int rc = run_op(db, m, &r, now);
    if (rc != 0)
        goto Exit;
    if (m->op == OP_DELETE)
        fg_endpoint_deleted_json(&m->body, &r);
    else
        fg_endpoint_json(&m->body, &r, m->op == OP_CREATE || m->op == OP_ROTATE ? m->secret : NULL, now);
    rc = fg_idem_store(db, m->call, m->status, &m->body);
Exit:
    fg_endpoint_row_free(&r);
    return rc;
}

static void mutate(fg_call_t *call, fg_db_t *db, op_t op, const fg_endpoint_input_t *in)
{
    mutate_t m = {.call = call, .op = op, .in = in, .status = op == OP_CREATE ? 201 : 200};
    int rc = fg_db_tx(db, mutate_tx, &m);
    if (rc == 0) {
        fg_call_json(call, m.status, &m.body);
        fg_metrics_webhook_failed_endpoint_deleted(m.deliveries_failed);
    } else if (rc == FG_ENOTFOUND) {
        endpoint_not_found(call);
    } else if (rc == FG_ESTATE && op == OP_CREATE) {
        fg_call_error(call, 409, "conflict", "endpoint_limit",
                      "a merchant may have at most 16 webhook endpoints; delete one before adding another", NULL);
    } else if (rc == FG_ECONFLICT && call->idem_taken) {
        /* the key was taken by a request that committed first */
        fg_idem_answer_conflict(call, db);
    } else {
        fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
    }
    explicit_bzero(m.secret, sizeof(m.secret));
    fg_buf_free(&m.body);
}

static void with_input(fg_call_t *call, fg_db_t *db, op_t op)
{
    fg_endpoint_input_t in;
    int answered;
    yajl_val root = read_input(call, op == OP_CREATE, &in, &answered);
    if (!answered)
        mutate(call, db, op, &in);
    fg_endpoint_input_free(&in);
    if (root != NULL)
        yajl_tree_free(root);
}

void fg_webhook_endpoints_create(fg_call_t *call, fg_db_t *db) { with_input(call, db, OP_CREATE); }
void fg_webhook_endpoints_update(fg_call_t *call, fg_db_t *db) { with_input(call, db, OP_UPDATE); }
/* enable, disable and rotate-secret take no input: a body is refused, never passed over */
void fg_webhook_endpoints_enable(fg_call_t *call, fg_db_t *db)
{
    if (fg_call_no_input(call) == 0)
        mutate(call, db, OP_ENABLE, NULL);
}

void fg_webhook_endpoints_disable(fg_call_t *call, fg_db_t *db)
{
    if (fg_call_no_input(call) == 0)
        mutate(call, db, OP_DISABLE, NULL);
}

void fg_webhook_endpoints_rotate_secret(fg_call_t *call, fg_db_t *db)
{
    if (fg_call_no_input(call) == 0)
        mutate(call, db, OP_ROTATE, NULL);
}
void fg_webhook_endpoints_delete(fg_call_t *call, fg_db_t *db) { mutate(call, db, OP_DELETE, NULL); }

/* ---- reads ------------------------------------------------------------------------- */

void fg_webhook_endpoints_get(fg_call_t *call, fg_db_t *db)
{
    fg_merchant_ref_t mer = fg_call_merchant(call);
    fg_endpoint_row_t r;
    fg_endpoint_row_init(&r);
    int rc = fg_endpoint_get(db, &mer, call->params[0], call->param_lens[0], &r);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        endpoint_not_found(call);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        fg_endpoint_json(&b, &r, NULL, fg_now_ms());
        fg_call_json(call, 200, &b);
    }
    fg_endpoint_row_free(&r);
}

void fg_webhook_endpoints_list(fg_call_t *call, fg_db_t *db)
{
    fg_merchant_ref_t mer = fg_call_merchant(call);
    int64_t now = fg_now_ms();
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return;
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_endpoint_list(db, &mer, &page, now, &b);
    fg_db_end(db);
    if (rc == 0)
        fg_call_json(call, 200, &b);
    else
        fg_call_db_error(call, db, rc);
    fg_buf_free(&b);
}
