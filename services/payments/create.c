/*
 * create.c - starting a payment on an order (docs/DESIGN.md §3, §5).
 *
 * Under the order's row lock: the order must still take money
 * (fg_order_accepts_payment) and the amount must be payable
 * (fg_order_payable_amount); the payment is written 'pending'.  An adapter
 * that starts in process is started in the same transaction; one reached
 * over HTTP (MoMo) is called after COMMIT and its answer recorded in a
 * second transaction (fg_payment_record_start), so no lock is held during
 * the call and the row says "pending" meanwhile, which is what it is.
 *
 * The payer pages start with reuse_pending: the order's pending payment of
 * the method for what the order owes now is read under the same order lock
 * and answered again, so a reload or a double tap never makes a second one.
 */
#include "payments/payments_internal.h"

#include <stdio.h>
#include <string.h>
#include "core/log.h"
#include "core/text.h"

static const char SQL_INSERT[] =
    "INSERT INTO payments (public_id, order_id, merchant_id, adapter, amount, currency, status, redirect_url, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)";
static const char SQL_REFUSED[] = "UPDATE payments SET status = 'failed', failure_reason = ?, updated_at = ? "
                                  "WHERE public_id = ? AND status = 'pending'";
static const char SQL_STARTED[] = "UPDATE payments SET redirect_url = ? WHERE public_id = ? AND status = 'pending'";
/* Under the order's row lock: every start of this order waits for it, so a
 * committed pending payment is seen (READ COMMITTED) and none is in flight.
 * Only one for what the order owes now: after a part was paid another way,
 * the payment started for the whole would take too much. */
/* a payment the payer came back from unpaid (web/return.c) is not offered again */
static const char SQL_PENDING[] =
    "SELECT public_id, redirect_url, created_at FROM payments WHERE order_id = ? AND adapter = ? AND status = "
    "'pending' AND amount = ? AND returned_unpaid_at IS NULL ORDER BY id DESC LIMIT 1";

void fg_payment_new_free(fg_payment_new_t *pn)
{
    fg_payment_row_free(&pn->payment);
    fg_buf_free(&pn->started.redirect_url);
    fg_buf_free(&pn->started.qr_payload);
    fg_provider_request_free(&pn->request);
    fg_buf_free(&pn->description);
}

/* Forgets what an earlier run of the transaction made (after a deadlock). */
static void reset(fg_payment_new_t *pn)
{
    fg_payment_row_free(&pn->payment);
    fg_payment_row_init(&pn->payment);
    fg_buf_reset(&pn->started.redirect_url);
    fg_buf_reset(&pn->started.qr_payload);
    fg_provider_request_free(&pn->request);
    fg_buf_reset(&pn->description);
    pn->payment_id[0] = '\0';
    pn->reused = 0;
    pn->provider_rc = 0;
    pn->reason[0] = '\0';
}

static int insert(fg_db_t *db, const fg_merchant_ref_t *m, const fg_payment_new_t *pn, int64_t order_id)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_INSERT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, pn->payment_id);
    fg_stmt_int(&s, order_id);
    fg_stmt_int(&s, (int64_t)m->id);
    fg_stmt_cstr(&s, pn->adapter->name);
    fg_stmt_int(&s, pn->amount);
    fg_stmt_cstr(&s, pn->currency);
    if (pn->started.redirect_url.len > 0)
        fg_stmt_str(&s, pn->started.redirect_url.data, pn->started.redirect_url.len);
    else
        fg_stmt_null(&s);
    fg_stmt_int(&s, pn->now);
    fg_stmt_int(&s, pn->now);
    return fg_stmt_exec(&s);
}

/* reuse_pending: 1 when the order has no pending payment of the method to
 * offer again (none, or one whose start failed: no URL a minute on); 0 with
 * pn filled from the one it has; FG_ECONFLICT when that one's redirect URL
 * is not known yet (its start call is in flight) or too old; or a database
 * code. */
static int find_pending(fg_db_t *db, const fg_merchant_ref_t *m, fg_payment_new_t *pn, int64_t order_id)
{
    fg_stmt_t s;
    fg_buf_t id = FG_BUF_INIT;
    int64_t created = 0;
    int url_null = 1;
    int rc = fg_stmt_init(&s, db, SQL_PENDING);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, order_id);
    fg_stmt_cstr(&s, pn->adapter->name);
    fg_stmt_int(&s, pn->amount);
    fg_stmt_out_text(&s, &id, NULL);
    fg_stmt_out_text(&s, &pn->started.redirect_url, &url_null);
    fg_stmt_out_int(&s, &created, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        rc = fg_stmt_fetch(&s);
        fg_stmt_done(&s);
    }
    if (rc == 1) {
        snprintf(pn->payment_id, sizeof(pn->payment_id), "%s", id.data);
        int no_url = url_null || pn->started.redirect_url.len == 0;
        if (no_url && pn->now - created > FG_PAYMENT_START_MAX_MS) {
            /* its start failed (the provider did not answer): a new one, the
             * old left to the status job; nobody has its URL to pay it */
            fg_buf_reset(&pn->started.redirect_url);
            pn->payment_id[0] = '\0';
            rc = 1;
        } else if (no_url || pn->now - created > FG_PAYMENT_REUSE_MS) {
            rc = FG_ECONFLICT;
        } else if ((rc = fg_payment_load(db, pn->payment_id, m->id, 0, &pn->payment)) == 0) {
            pn->reused = 1;
        }
    } else if (rc == 0) {
        fg_buf_reset(&pn->started.redirect_url);
        rc = 1;
    }
    fg_buf_free(&id);
    return rc;
}

int fg_payment_create(fg_db_t *db, const fg_config_t *cfg, const fg_merchant_ref_t *m, const char *order_id,
                      size_t order_id_len, fg_payment_new_t *pn)
{
    fg_order_row_t order;
    int rc;
    reset(pn);
    pn->now = fg_now_ms();
    fg_order_row_init(&order);
    if ((rc = fg_order_load(db, m->id, order_id, order_id_len, 1, &order)) != 0)
        goto Exit;
    pn->order_status = fg_order_effective_status(order.status, !order.expires_at_null, order.expires_at, pn->now);
    if (!fg_order_accepts_payment(pn->order_status)) {
        rc = FG_ESTATE;
        goto Exit;
    }
    if (fg_order_payable_amount(order.amount, order.amount_paid, (int)order.allow_partial, pn->requested,
                                &pn->amount) != 0) {
        rc = FG_EEXCEEDS;
        goto Exit;
    }
    if (pn->reuse_pending && (rc = find_pending(db, m, pn, order.id)) != 1)
        goto Exit;
    snprintf(pn->code, sizeof(pn->code), "%s", order.code.data);
    snprintf(pn->currency, sizeof(pn->currency), "%s", order.currency.data);
    if (!order.description_null)
        fg_buf_append(&pn->description, order.description.data, order.description.len);
    if (fg_id_new("pay_", pn->payment_id, sizeof(pn->payment_id)) < 0) {
        rc = FG_EIO;
        goto Exit;
    }
    fg_payment_start_t start = {pn->payment_id,
                                pn->amount,
                                pn->currency,
                                pn->code,
                                pn->description.len > 0 ? pn->description.data : NULL,
                                pn->payer_ip,
                                pn->now,
                                order.expires_at_null ? 0 : order.expires_at};
    pn->start = start;
    if (pn->adapter->start_request != NULL) {
        /* reached over HTTP: the call is built now, made after COMMIT */
        if ((rc = pn->adapter->start_request(cfg, &pn->start, &pn->request)) != 0) {
            rc = rc == FG_ERANGE ? FG_ERANGE : FG_EUNSUPPORTED;
            goto Exit;
        }
        rc = insert(db, m, pn, order.id);
        goto Exit;
    }
    /* the method is not configured, or cannot carry this amount or currency, or
     * the order expires before the provider's window opens: the caller rolls back */
    if ((rc = pn->adapter->start(cfg, &pn->start, &pn->started)) != 0) {
        if (rc == FG_ESTATE)
            pn->order_status = FG_ORDER_EXPIRED;
        else
            rc = FG_EUNSUPPORTED;
        goto Exit;
    }
    if ((rc = insert(db, m, pn, order.id)) == 0)
        rc = fg_payment_load(db, pn->payment_id, m->id, 0, &pn->payment);
Exit:
    fg_order_row_free(&order);
    return rc;
}

void fg_payment_call_provider(const fg_config_t *cfg, fg_payment_new_t *pn)
{
    fg_http_response_t res;
    pn->provider_rc = fg_provider_send(&pn->request, &res, pn->reason, sizeof(pn->reason));
    if (pn->provider_rc == 0)
        pn->provider_rc = pn->adapter->start_response(cfg, &pn->start, res.status, res.body.data, res.body.len,
                                                      &pn->started, pn->reason, sizeof(pn->reason));
    if (pn->provider_rc != 0 && pn->provider_rc != FG_EINVALID)
        pn->provider_rc = FG_EUNAVAILABLE;
    fg_http_response_free(&res);
    if (pn->provider_rc != 0) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "payment not started at the provider");
        fg_log_str(&l, "adapter", pn->adapter->name);
        fg_log_str(&l, "payment", pn->payment_id);
        fg_log_str(&l, "reason", pn->reason);
        fg_log_end(&l);
    }
}

int fg_payment_record_start(fg_db_t *db, const fg_merchant_ref_t *m, fg_payment_new_t *pn)
{
    fg_stmt_t s;
    int rc;
    fg_payment_row_free(&pn->payment);
    fg_payment_row_init(&pn->payment);
    if (pn->provider_rc == FG_EINVALID) {
        size_t len = strlen(pn->reason);
        if ((rc = fg_stmt_init(&s, db, SQL_REFUSED)) != 0)
            return rc;
        fg_stmt_str(&s, pn->reason, len < 200 ? len : 200);
        fg_stmt_int(&s, fg_now_ms());
        fg_stmt_cstr(&s, pn->payment_id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
    } else if (pn->provider_rc == 0 && pn->started.redirect_url.len > 0) {
        if ((rc = fg_stmt_init(&s, db, SQL_STARTED)) != 0)
            return rc;
        fg_stmt_str(&s, pn->started.redirect_url.data, pn->started.redirect_url.len);
        fg_stmt_cstr(&s, pn->payment_id);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
    }
    return fg_payment_load(db, pn->payment_id, m->id, 0, &pn->payment);
}
