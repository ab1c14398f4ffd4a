/*
 * orders.c - the order routes: create, batch, read, list, cancel.  The HTTP
 * side only: parse the request, run the domain operation
 * (services/orders/orders.c) in a transaction with the idempotent answer,
 * and answer.
 */
#include "orders/orders.h"
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "db/group.h"
#include "metrics/metrics.h"

/* Group commit of single creates (db/group.h): shared transactions at once,
 * and creates per transaction.  Measured with tests/bench/orders. */
#define CREATE_GROUP_LEADERS 2
#define CREATE_GROUP_MEMBERS 32

/* The merchant the call authenticated as. */
static void answer_field_error(fg_call_t *call, const fg_field_error_t *err) { fg_call_field_error(call, err); }

static void duplicate_ref_error(fg_buf_t *b, const char *ref, const fg_buf_t *existing)
{
    fg_buf_puts(b, "{\"error\":{");
    fg_json_kv_str(b, 0, "type", "conflict");
    fg_json_kv_str(b, 1, "code", "duplicate_merchant_ref");
    fg_buf_t msg = FG_BUF_INIT;
    fg_buf_printf(&msg, "an order with merchant_ref \"%s\" already exists: %s", ref, existing->data);
    fg_json_kv_str(b, 1, "message", msg.data);
    fg_buf_free(&msg);
    fg_json_kv_str(b, 1, "field", "merchant_ref");
    fg_json_kv_strn(b, 1, "existing_order_id", existing->data, existing->len);
    fg_buf_puts(b, "}}");
}

/* ---- POST /v1/orders ------------------------------------------------------ */

typedef struct {
    fg_call_t *call;
    fg_merchant_ref_t merchant;
    const fg_order_input_t *input;
    fg_order_row_t row;
    fg_buf_t body;
} create_t;

static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    int64_t now = fg_now_ms();
    int rc;
    c->call->idem_stored = 0; /* a re-run (deadlock, or alone after a shared transaction) starts over */
    if ((rc = fg_order_create(db, &c->merchant, c->input, now, &c->row)) != 0)
        return rc;
    fg_buf_reset(&c->body);
    fg_order_json(&c->body, &c->row, c->merchant.public_id, c->call->cfg->public_base_url, now);
    return fg_idem_store(db, c->call, 201, &c->body);
}

static void answer_duplicate_ref(fg_call_t *call, fg_db_t *db, const char *ref)
{
    fg_buf_t existing = FG_BUF_INIT, body = FG_BUF_INIT;
    int rc = fg_order_find_ref(db, call->merchant_id, ref, strlen(ref), &existing);
    fg_db_end(db);
    if (rc != 0) {
        fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_ERETRY : rc);
    } else {
        duplicate_ref_error(&body, ref, &existing);
        fg_call_json(call, 409, &body);
    }
    fg_buf_free(&existing);
}

static fg_db_group_t create_group = FG_DB_GROUP_INIT("orders.create", CREATE_GROUP_LEADERS, CREATE_GROUP_MEMBERS);

/* Reads the call's order into c (fg_order_input_free after): 0, or answered. */
static int create_parse(create_t *c, fg_order_input_t *input, yajl_val *root)
{
    fg_field_error_t err;
    memset(input, 0, sizeof(*input));
    *c = (create_t){.call = c->call, .merchant = fg_call_merchant(c->call), .input = input};
    fg_order_row_init(&c->row);
    *root = fg_call_json_object(c->call, &err);
    if (*root == NULL || fg_order_input_parse(*root, fg_now_ms(), input, &err) != 0) {
        answer_field_error(c->call, &err);
        return -1;
    }
    return 0;
}

/* Answers a create whose transaction returned rc. */
static void create_answer(create_t *c, fg_db_t *db, int rc)
{
    fg_call_t *call = c->call;
    if (rc == 0) {
        fg_call_json(call, 201, &c->body);
    } else if (rc == FG_ECONFLICT) {
        /* The key or the merchant_ref was taken by a request that committed
         * first: the key's stored answer wins, else name the existing order. */
        rc = call->idem_key != NULL ? fg_idem_answer_existing(db, call) : FG_ENOTFOUND;
        if (rc == FG_ENOTFOUND && !call->idem_taken)
            answer_duplicate_ref(call, db, c->input->merchant_ref);
        else if (rc != 0)
            fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_ERETRY : rc);
    } else {
        fg_call_db_error(call, db, rc);
    }
}

static void create_free(create_t *c, fg_order_input_t *input, yajl_val root)
{
    fg_order_input_free(input);
    fg_order_row_free(&c->row);
    fg_buf_free(&c->body);
    if (root != NULL)
        yajl_tree_free(root);
}

void fg_orders_create(fg_call_t *call, fg_db_t *db)
{
    fg_order_input_t input;
    create_t c = {.call = call};
    yajl_val root = NULL;
    if (create_parse(&c, &input, &root) == 0)
        create_answer(&c, db, fg_db_group_tx(&create_group, db, create_tx, &c));
    create_free(&c, &input, root);
}

void fg_orders_create_many(fg_call_t **calls, int n, fg_db_t *db)
{
    create_t *c = fg_calloc((size_t)n, sizeof(*c));
    fg_order_input_t *inputs = fg_calloc((size_t)n, sizeof(*inputs));
    yajl_val *roots = fg_calloc((size_t)n, sizeof(*roots));
    void **valid = fg_calloc((size_t)n, sizeof(*valid)); /* the creates to run, NULL for those answered */
    int count = 0;
    for (int i = 0; i < n; i++) {
        c[i].call = calls[i];
        if (create_parse(&c[i], &inputs[i], &roots[i]) == 0)
            valid[i] = &c[i], count++;
    }
    /* One transaction for them all, the rows sent as multi-row INSERTs at
     * COMMIT; if it fails for any reason (a taken key or merchant_ref among
     * them, a deadlock past the retries), each runs alone and gets its own
     * answer, as fg_orders_create. */
    int rc = count > 1 ? fg_db_group_tx_all(&create_group, db, create_tx, valid, n) : FG_ERETRY;
    int unknown = rc != 0 && count > 1 && fg_db_commit_unknown(db); /* they may be in: not again */
    for (int i = 0; i < n; i++) {
        if (valid[i] != NULL)
            create_answer(&c[i], db,
                          rc == 0   ? 0
                          : unknown ? FG_EUNAVAILABLE
                                    : fg_db_group_tx(&create_group, db, create_tx, &c[i]));
        create_free(&c[i], &inputs[i], roots[i]);
    }
    free(c);
    free(inputs);
    free(roots);
    free(valid);
}

/* ---- POST /v1/orders/batch ------------------------------------------------ */

typedef struct {
    fg_call_t *call;
    fg_merchant_ref_t merchant;
    yajl_val items;
    fg_buf_t body;
    int created;
} batch_t;

static void batch_item_error(fg_buf_t *b, const fg_field_error_t *err)
{
    fg_buf_puts(b, "{\"error\":{");
    fg_json_kv_str(b, 0, "type", "invalid_request");
    fg_json_kv_str(b, 1, "code", err->code);
    fg_json_kv_str(b, 1, "message", err->message);
    if (err->field[0])
        fg_json_kv_str(b, 1, "field", err->field);
    fg_json_kv_int(b, 1, "status", fg_field_status(err));
    fg_buf_puts(b, "}}");
}

static int batch_item(fg_db_t *db, batch_t *bt, yajl_val item, int64_t now, fg_order_row_t *row, fg_buf_t *existing)
{
    fg_field_error_t err;
    fg_order_input_t input;
    int rc = 0, created = 0;
    if (fg_order_input_parse(item, now, &input, &err) != 0) {
        batch_item_error(&bt->body, &err);
        goto Exit;
    }
    if ((rc = fg_order_create_or_existing(db, &bt->merchant, &input, now, row, &created, existing)) != 0)
        goto Exit;
    if (created) {
        fg_order_json(&bt->body, row, bt->merchant.public_id, bt->call->cfg->public_base_url, now);
        bt->created++;
    } else {
        duplicate_ref_error(&bt->body, input.merchant_ref, existing);
    }
Exit:
    fg_order_input_free(&input);
    return rc;
}

static int batch_tx(fg_db_t *db, void *arg)
{
    batch_t *bt = arg;
    int64_t now = fg_now_ms();
    int rc = 0;
    fg_order_row_t row;
    fg_buf_t existing = FG_BUF_INIT;
    fg_order_row_init(&row);
    bt->call->idem_stored = 0; /* a re-run starts over */
    bt->created = 0;
    fg_buf_reset(&bt->body);
    fg_buf_puts(&bt->body, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < bt->items->u.array.len && rc == 0; i++) {
        if (i > 0)
            fg_buf_putc(&bt->body, ',');
        rc = batch_item(db, bt, bt->items->u.array.values[i], now, &row, &existing);
    }
    fg_order_row_free(&row);
    fg_buf_free(&existing);
    if (rc != 0)
        return rc;
    fg_buf_puts(&bt->body, "]}");
    return fg_idem_store(db, bt->call, 200, &bt->body);
}

/* The batch set-wise (fg_order_create_many): every item parsed, one read of
 * the merchant_refs taken, the new orders as multi-row INSERTs at COMMIT
 * (run deferring).  The same answer as batch_tx gives; on any failure the
 * caller runs batch_tx instead. */
static int batch_set_tx(fg_db_t *db, void *arg)
{
    batch_t *bt = arg;
    int64_t now = fg_now_ms();
    int n = (int)bt->items->u.array.len, rc;
    bt->call->idem_stored = 0; /* a re-run starts over */
    fg_order_set_t set;
    fg_order_set_init(&set, n);
    fg_field_error_t *errs = fg_calloc((size_t)n, sizeof(*errs));
    for (int i = 0; i < n; i++)
        if (fg_order_input_parse(bt->items->u.array.values[i], now, &set.inputs[i], &errs[i]) == 0)
            set.in[i] = &set.inputs[i];
    rc = fg_order_create_many(db, &bt->merchant, &set, now);
    bt->created = 0;
    fg_buf_reset(&bt->body);
    fg_buf_puts(&bt->body, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            fg_buf_putc(&bt->body, ',');
        if (set.in[i] == NULL) {
            batch_item_error(&bt->body, &errs[i]);
        } else if (set.created[i]) {
            fg_order_json(&bt->body, &set.rows[i], bt->merchant.public_id, bt->call->cfg->public_base_url, now);
            bt->created++;
        } else {
            duplicate_ref_error(&bt->body, set.inputs[i].merchant_ref, &set.existing_id[i]);
        }
    }
    fg_order_set_free(&set);
    free(errs);
    if (rc != 0)
        return rc;
    fg_buf_puts(&bt->body, "]}");
    return fg_idem_store(db, bt->call, 200, &bt->body);
}

int fg_orders_batch_parse(fg_call_t *call, yajl_val *root, yajl_val *items)
{
    fg_field_error_t err;
    static const char *orders_path[] = {"orders", NULL};
    static const char *const FIELDS[] = {"orders"};
    *items = NULL;
    if ((*root = fg_call_json_object(call, &err)) == NULL || fg_json_known_fields(*root, FIELDS, 1, &err) != 0) {
        answer_field_error(call, &err);
        return -1;
    }
    *items = yajl_tree_get(*root, orders_path, yajl_t_any);
    if (*items == NULL || !YAJL_IS_ARRAY(*items)) {
        fg_call_error(call, 400, "invalid_request", *items == NULL ? "missing_field" : "invalid_type",
                      "orders must be an array of orders", "orders");
    } else if ((*items)->u.array.len == 0 || (*items)->u.array.len > FG_ORDER_BATCH_MAX) {
        fg_call_error(call, 422, "invalid_request", "batch_size", "orders must hold 1 to 10000 orders", "orders");
    } else {
        return 0;
    }
    return -1;
}

void fg_orders_batch(fg_call_t *call, fg_db_t *db)
{
    batch_t bt = {.call = call, .merchant = fg_call_merchant(call)};
    yajl_val root = NULL;
    if (fg_orders_batch_parse(call, &root, &bt.items) == 0) {
        /* item by item when the set-wise run fails (a merchant_ref or a
         * key taken meanwhile, a code collision): that is the answer */
        int item_by_item;
        int rc = fg_db_tx_set_or_each(db, batch_set_tx, batch_tx, &bt, &item_by_item);
        if (rc == 0) {
            fg_metrics_order_batch(item_by_item);
            fg_call_json(call, 200, &bt.body);
        } else if (rc == FG_ECONFLICT && call->idem_taken) {
            fg_idem_answer_conflict(call, db);
        } else if (rc == FG_ERANGE && bt.body.len > FG_IDEM_ANSWER_MAX) {
            /* nothing was created: the answer would not fit under the key */
            fg_call_error(call, 422, "invalid_request", "answer_too_large",
                          "the answer to this batch is larger than an Idempotency-Key keeps (16 MiB); send its orders "
                          "in smaller batches",
                          NULL);
        } else {
            fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
        }
    }
    fg_buf_free(&bt.body);
    yajl_tree_free(root);
}

/* ---- GET /v1/orders/{id} -------------------------------------------------- */

static void not_found(fg_call_t *call)
{
    fg_call_error(call, 404, "not_found", "order_not_found", "no such order", NULL);
}

void fg_orders_get(fg_call_t *call, fg_db_t *db)
{
    fg_merchant_ref_t m = fg_call_merchant(call);
    fg_order_row_t row;
    fg_order_row_init(&row);
    int rc = fg_order_get(db, &m, call->params[0], call->param_lens[0], &row);
    if (rc == FG_ENOTFOUND) {
        not_found(call);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        fg_order_json(&b, &row, m.public_id, call->cfg->public_base_url, fg_now_ms());
        fg_call_json(call, 200, &b);
    }
    fg_order_row_free(&row);
}

/* ---- GET /v1/orders ------------------------------------------------------- */

static int bad_param(fg_call_t *call, const char *code, const char *message, const char *field)
{
    fg_call_error(call, 400, "invalid_request", code, message, field);
    return -1;
}

static int parse_time_param(fg_call_t *call, const char *name, int64_t *out, int *has)
{
    size_t len;
    const char *v = fg_call_query(call, name, &len);
    *has = 0;
    if (v == NULL || len == 0)
        return 0;
    if (fg_time_parse_rfc3339(v, len, out) != 0)
        return bad_param(call, "invalid_timestamp", "expected an RFC 3339 timestamp", name);
    *has = 1;
    return 0;
}

/* The list's filters and page from the query string; -1 after answering 400. */
static int parse_list_query(fg_call_t *call, fg_order_query_t *q, fg_page_t *page)
{
    size_t len;
    const char *v;
    memset(q, 0, sizeof(*q));
    if (fg_call_page(call, page) != 0)
        return -1;
    if ((v = fg_call_query(call, "status", &len)) != NULL && len > 0) {
        if (fg_order_status_parse(v, len, &q->status) != 0)
            return bad_param(call, "invalid_status", "unknown status", "status");
        q->has_status = 1;
    }
    if ((v = fg_call_query(call, "fee_type", &len)) != NULL && len > 0) {
        if (fg_fee_type_parse(v, len, &q->fee_type) != 0)
            return bad_param(call, "invalid_fee_type", "fee_type must be tuition, utility or procedure", "fee_type");
        q->has_fee_type = 1;
    }
    if ((v = fg_call_query(call, "merchant_ref", &len)) != NULL && len > 0)
        q->merchant_ref = v;
    if (parse_time_param(call, "created_from", &q->created_from, &q->has_created_from) != 0 ||
        parse_time_param(call, "created_to", &q->created_to, &q->has_created_to) != 0)
        return -1;
    return 0;
}

typedef struct {
    fg_buf_t body;
    const char *merchant_public_id, *base_url;
    int64_t now, count, last_id;
} list_page_t;

static void list_one(const fg_order_row_t *r, void *arg)
{
    list_page_t *lp = arg;
    if (lp->count++ > 0)
        fg_buf_putc(&lp->body, ',');
    fg_order_json(&lp->body, r, lp->merchant_public_id, lp->base_url, lp->now);
    lp->last_id = r->id;
}

void fg_orders_list(fg_call_t *call, fg_db_t *db)
{
    fg_order_query_t q;
    fg_page_t page;
    if (parse_list_query(call, &q, &page) != 0)
        return;
    fg_merchant_ref_t m = fg_call_merchant(call);
    list_page_t lp = {.body = FG_BUF_INIT,
                      .merchant_public_id = m.public_id,
                      .base_url = call->cfg->public_base_url,
                      .now = fg_now_ms()};
    int more = 0;
    fg_buf_puts(&lp.body, "{\"object\":\"list\",\"data\":[");
    int rc = fg_order_list(db, &m, &q, &page, lp.now, list_one, &lp, &more);
    if (rc == 0) {
        fg_page_close(&lp.body, more, lp.last_id);
        fg_call_json(call, 200, &lp.body);
    } else {
        fg_call_db_error(call, db, rc);
    }
    fg_buf_free(&lp.body);
}

/* ---- POST /v1/orders/{id}/cancel ------------------------------------------ */

typedef struct {
    fg_call_t *call;
    fg_merchant_ref_t merchant;
    fg_order_row_t row;
    fg_buf_t body;
    int refused; /* FG_ENOTFOUND or FG_ESTATE: answered 404 or 409 */
} cancel_t;

static int cancel_tx(fg_db_t *db, void *arg)
{
    cancel_t *c = arg;
    int64_t now = fg_now_ms();
    c->refused = 0;
    int rc = fg_order_cancel(db, c->call->cfg, &c->merchant, c->call->params[0], c->call->param_lens[0], now, &c->row);
    if (rc == FG_ENOTFOUND || rc == FG_ESTATE) {
        c->refused = rc;
        return 1;
    }
    if (rc != 0)
        return rc;
    fg_buf_reset(&c->body);
    fg_order_json(&c->body, &c->row, c->merchant.public_id, c->call->cfg->public_base_url, now);
    return fg_idem_store(db, c->call, 200, &c->body);
}

void fg_orders_cancel(fg_call_t *call, fg_db_t *db)
{
    if (fg_call_no_input(call) != 0)
        return;
    cancel_t c = {.call = call, .merchant = fg_call_merchant(call)};
    fg_order_row_init(&c.row);
    int rc = fg_db_tx(db, cancel_tx, &c);
    if (rc == 0) {
        fg_call_json(call, 200, &c.body);
    } else if (rc == 1 && c.refused == FG_ENOTFOUND) {
        not_found(call);
    } else if (rc == 1) {
        fg_buf_t msg = FG_BUF_INIT;
        fg_buf_printf(&msg, "only an open order with nothing paid can be cancelled; this one is %s",
                      fg_order_status_name(fg_order_effective_status(c.row.status, !c.row.expires_at_null,
                                                                     c.row.expires_at, fg_now_ms())));
        fg_call_error(call, 409, "conflict", "order_not_cancellable", msg.data, NULL);
        fg_buf_free(&msg);
    } else if (rc == FG_ECONFLICT && call->idem_taken) {
        fg_idem_answer_conflict(call, db);
    } else {
        fg_call_db_error(call, db, rc);
    }
    fg_order_row_free(&c.row);
    fg_buf_free(&c.body);
}
