/*
 * sweeper.c - moves orders past expires_at to `expired` (with their
 * order.expired events).
 *
 * Every instance runs it; rows are claimed with FOR UPDATE SKIP LOCKED so
 * instances split the work and no order is expired (or announced) twice.
 */
#include "orders/orders_internal.h"

#include <stdio.h>
#include "core/log.h"
#include "core/text.h"

/* One status at a time: over both ('open', 'partially_paid'), ORDER BY
 * expires_at cannot follow the (status, expires_at) index, so every due order
 * was read, sorted and locked, and held for the whole round (a school's
 * 10,000 bills expiring at one midnight: payments and cancels on all of them
 * waited on the round).  In index order, the statement locks what it takes. */
static const char SQL_DUE[] = "SELECT id FROM orders WHERE status = ? AND expires_at <= ? "
                              "ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED";
static const char SQL_EXPIRE[] = "UPDATE orders SET status = 'expired', updated_at = ? WHERE id = ?";
static const char SQL_MERCHANT[] = "SELECT o.merchant_id, m.public_id FROM orders o JOIN merchants m "
                                   "ON m.id = o.merchant_id WHERE o.id = ?";

typedef struct {
    const char *base_url;
    int expired;
} expire_t;

static int expire_one(fg_db_t *db, const expire_t *e, int64_t id, int64_t now)
{
    fg_stmt_t s;
    fg_order_row_t row;
    fg_buf_t merchant = FG_BUF_INIT, body = FG_BUF_INIT;
    int64_t merchant_id = 0;
    int rc;
    fg_order_row_init(&row);
    if ((rc = fg_stmt_init(&s, db, SQL_EXPIRE)) != 0)
        goto Exit;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, id);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_order_load_by_id(db, id, 0, &row)) != 0)
        goto Exit;
    if ((rc = fg_stmt_init(&s, db, SQL_MERCHANT)) != 0)
        goto Exit;
    fg_stmt_int(&s, id);
    fg_stmt_out_int(&s, &merchant_id, NULL);
    fg_stmt_out_text(&s, &merchant, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc != 1) {
        rc = rc < 0 ? rc : FG_EDB;
        goto Exit;
    }
    fg_order_json(&body, &row, merchant.data, e->base_url, now);
    rc = fg_event_insert(db, (uint64_t)merchant_id, "order.expired", id, &body, now);
Exit:
    fg_order_row_free(&row);
    fg_buf_free(&merchant);
    fg_buf_free(&body);
    return rc;
}

static int expire_tx(fg_db_t *db, void *arg)
{
    expire_t *e = arg;
    int64_t now = fg_now_ms(), ids[FG_ORDER_SWEEP_BATCH], id = 0;
    int n = 0, rc;
    fg_stmt_t s;
    e->expired = 0;
    static const char *const STATUSES[] = {"open", "partially_paid"};
    for (size_t k = 0; k < sizeof(STATUSES) / sizeof(STATUSES[0]) && n < FG_ORDER_SWEEP_BATCH; k++) {
        if ((rc = fg_stmt_init(&s, db, SQL_DUE)) != 0)
            return rc;
        fg_stmt_cstr(&s, STATUSES[k]);
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, FG_ORDER_SWEEP_BATCH - n);
        fg_stmt_out_int(&s, &id, NULL);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        while ((rc = fg_stmt_fetch(&s)) == 1 && n < FG_ORDER_SWEEP_BATCH)
            ids[n++] = id;
        fg_stmt_done(&s);
        if (rc < 0)
            return rc;
    }
    for (int i = 0; i < n; i++)
        if ((rc = expire_one(db, e, ids[i], now)) != 0)
            return rc;
    e->expired = n;
    return 0;
}

void fg_orders_sweep(fg_db_t *db, const fg_config_t *cfg)
{
    expire_t e = {cfg->public_base_url, 0};
    if (fg_db_ensure(db) != 0)
        return;
    do {
        int rc = fg_db_tx(db, expire_tx, &e);
        if (rc != 0) {
            fg_log_t l;
            fg_log_begin(&l, FG_LOG_WARN, "order expiry round failed");
            fg_log_str(&l, "error", fg_strerror(rc));
            fg_log_end(&l);
            return;
        }
    } while (e.expired == FG_ORDER_SWEEP_BATCH);
}
