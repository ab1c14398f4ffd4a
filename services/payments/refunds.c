/*
 * refunds.c - the one refund pipeline (docs/DESIGN.md §6), for every adapter
 * and every caller:
 *
 *   1. fg_refund_begin, under the payment's row lock: check the refund and
 *      write it 'pending' with its amount reserved in amount_refunding, so
 *      concurrent refunds together never exceed what the payment received
 *      (refundable = received - refunded - reserved);
 *   2. fg_refund_call_provider: in process for the sandbox (inside the same
 *      transaction), otherwise an HTTP call after COMMIT;
 *   3. fg_refund_record: what became of it (fg_refund_result_t): made ->
 *      succeeded with its reversing journal and its adjustment receipt (the
 *      payment's original receipt adjusted by the refund's negative amount,
 *      in the same transaction); refused or never sent -> failed
 *      with the reservation released; unknown -> still pending and reserved.
 *
 * A refund whose outcome is unknown (the request may have reached the
 * provider, but no signed final answer came back, or the instance stopped
 * between the transactions) is asked about by the status job
 * (fg_providers_refund_round) by the refund's own ids, and recorded through
 * the same fg_refund_record.
 */
#include "payments/payments_internal.h"
#include "payments/providers.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/text.h"
#include "ledger/ledger.h"
#include "momo/momo.h"
#include "receipts/receipts.h"
#include "vnpay/vnpay.h"

/* A refund whose provider call is under way is not asked about until this
 * long after it was written: beyond the longest call (30 s), so the status
 * job never asks while our own request may still be in flight.  A crash
 * between the two transactions leaves the refund to the job after it. */
#define REFUND_CALL_LEASE_MS (2 * 60 * 1000)
/* The job's lease on the refunds it asks about (a round asks its batch one
 * after another, up to 35 s each, so the lease covers the whole round), and
 * the longest backoff. */
#define REFUND_BATCH_MAX 16
#define REFUND_QUERY_LEASE_MS (REFUND_BATCH_MAX * 35 * 1000 + 60 * 1000)
#define REFUND_BACKOFF_MAX_MS (6LL * 3600 * 1000)

_Static_assert(REFUND_CALL_LEASE_MS > 30000, "the lease outlasts a provider call");
/* The longest one provider call takes (a 30 s answer after a 5 s connect). */
#define REFUND_CALL_MAX_MS (35 * 1000)

/* The lease of a set of n refunds: fg_refund_call_providers asks their
 * providers after COMMIT in waves of the calls the process may have in
 * flight, and records none before the last wave ends, so the status job must
 * not ask about any of them before then. */
static int calls_per_wave(int n)
{
    int wave = fg_http_client_max_in_flight();
    return wave > 0 && wave < n ? wave : n;
}

int64_t fg_refund_set_lease_ms(int n)
{
    int wave = calls_per_wave(n);
    int64_t waves = wave > 0 ? (n + wave - 1) / wave : 1;
    return REFUND_CALL_LEASE_MS + (waves - 1) * REFUND_CALL_MAX_MS;
}

static const char SQL_INSERT[] =
    "INSERT INTO refunds (public_id, payment_id, merchant_id, amount, currency, status, reason, next_query_at, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)";
static const char SQL_RESERVE[] =
    "UPDATE payments SET amount_refunding = amount_refunding + ?, updated_at = ? WHERE id = ?";
static const char SQL_ROW[] = "SELECT r.id, r.amount, r.reason, r.created_at, p.public_id, COALESCE(r.receipt_id, '') "
                              "FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.public_id = ?";
static const char SQL_LOCK[] = "SELECT " FG_REFUND_STATUS_SQL("status") " FROM refunds WHERE id = ? FOR UPDATE";
static const char SQL_LATER[] =
    "UPDATE refunds SET next_query_at = ?, updated_at = ? WHERE public_id = ? AND status = 'pending'";
static const char SQL_FINISH[] =
    "UPDATE refunds SET status = ?, provider_refund_id = ?, receipt_id = ?, updated_at = ? "
    "WHERE public_id = ? AND status = 'pending'";
static const char SQL_SETTLE[] =
    "UPDATE payments SET amount_refunded = amount_refunded + ?, amount_refunding = amount_refunding - ?, "
    "updated_at = ? WHERE id = ?";
static const char SQL_ORDER_REFUNDED[] =
    "UPDATE orders SET amount_refunded = amount_refunded + ?, updated_at = ? WHERE id = ?";
static const char SQL_CLAIM[] =
    "SELECT r.id, r.public_id, r.amount, r.query_count, p.public_id, p.adapter, p.provider_txn_id, p.created_at "
    "FROM refunds r JOIN payments p ON p.id = r.payment_id "
    "WHERE r.status = 'pending' AND (r.next_query_at IS NULL OR r.next_query_at <= ?) "
    "AND p.adapter IN ('vnpay', 'momo') ORDER BY r.id LIMIT ? FOR UPDATE SKIP LOCKED";
static const char SQL_LEASE[] = "UPDATE refunds SET next_query_at = ?, query_count = query_count + 1 WHERE id = ?";

void fg_refund_free(fg_refund_t *r)
{
    fg_provider_request_free(&r->request);
    fg_buf_free(&r->json);
}

int fg_refund_post(fg_db_t *db, const fg_payment_row_t *p, int64_t refund_id, int64_t amount, int64_t now,
                   int64_t *from_merchant)
{
    int64_t from_unapplied;
    char clearing[FG_ACCOUNT_CODE_MAX + 1], merchant[FG_ACCOUNT_CODE_MAX + 1];
    /* refunded <= received: the callers reserved this amount under the payment's lock */
    assert(amount > 0 && !p->received_null && p->amount_refunded >= 0 &&
           amount <= p->amount_received - p->amount_refunded);
    fg_refund_split(p->amount_applied, p->amount_refunded, amount, from_merchant, &from_unapplied);
    /* a refund journal names its refund only: (kind, payment) is unique per payment posting */
    fg_journal_t j = {.kind = "refund", .refund_id = refund_id, .memo = p->public_id.data};
    snprintf(clearing, sizeof(clearing), "assets:clearing:%s", p->adapter.data);
    snprintf(merchant, sizeof(merchant), "liabilities:merchant:%s", p->merchant_public_id.data);
    fg_journal_add(&j, merchant, (uint64_t)p->merchant_id, p->currency.data, *from_merchant);
    fg_journal_add(&j, "liabilities:unapplied", 0, p->currency.data, from_unapplied);
    fg_journal_add(&j, clearing, 0, p->currency.data, -amount);
    return fg_ledger_post(db, &j, now, NULL);
}

void fg_refund_json(fg_buf_t *b, const char *id, const fg_payment_row_t *p, int64_t amount, fg_refund_status_t status,
                    const char *reason, const char *receipt_id, int64_t now)
{
    char created[40];
    fg_time_format_rfc3339(now, 0, created, sizeof(created));
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", id);
    fg_json_kv_str(b, 1, "object", "refund");
    fg_json_kv_strn(b, 1, "payment_id", p->public_id.data, p->public_id.len);
    fg_json_kv_strn(b, 1, "order_id", p->order_public_id.data, p->order_public_id.len);
    fg_json_kv_int(b, 1, "amount", amount);
    fg_json_kv_strn(b, 1, "currency", p->currency.data, p->currency.len);
    fg_json_kv_str(b, 1, "status", fg_refund_status_name(status));
    fg_json_kv_str(b, 1, "reason", reason);
    fg_json_kv_str(b, 1, "receipt_id", receipt_id != NULL && receipt_id[0] != '\0' ? receipt_id : NULL);
    fg_json_kv_str(b, 1, "created_at", created);
    fg_buf_putc(b, '}');
}

/* ---- 1. begin ------------------------------------------------------------------- */

/* The checks of a refund of p (its row in hand, locked) and what its provider
 * call needs: 0, or FG_ESTATE, FG_EEXCEEDS, FG_EUNSUPPORTED, FG_ERANGE,
 * FG_EIO as fg_refund_begin. */
static int prepare(const fg_config_t *cfg, const fg_payment_row_t *p, fg_refund_t *r)
{
    r->adapter = fg_adapter_find(p->adapter.data);
    r->local = r->adapter != NULL && r->adapter->refund != NULL;
    r->refundable = p->amount_received - p->amount_refunded - p->amount_refunding;
    if (p->status != FG_PAYMENT_SUCCEEDED)
        return FG_ESTATE;
    if (r->amount > r->refundable)
        return FG_EEXCEEDS;
    if (r->adapter == NULL || (!r->local && r->adapter->refund_request == NULL))
        return FG_EUNSUPPORTED;
    if (fg_id_new("rfd_", r->refund_id, sizeof(r->refund_id)) < 0)
        return FG_EIO;
    snprintf(r->payment_id, sizeof(r->payment_id), "%s", p->public_id.data);
    snprintf(r->provider_txn_id, sizeof(r->provider_txn_id), "%s", p->provider_txn_null ? "" : p->provider_txn_id.data);
    /* full (VNPay 02) only for the first refund, of everything received;
     * after any earlier refund, made or pending, the rest is partial (03) */
    int full = p->amount_refunded == 0 && p->amount_refunding == 0 && r->amount == p->amount_received;
    fg_refund_in_t in = {r->payment_id, r->provider_txn_id, p->created_at, r->refund_id, r->amount,
                         full,          r->reason,          r->now};
    r->in = in;
    int rc = r->local ? 0 : r->adapter->refund_request(cfg, &r->in, &r->request);
    return rc == 0 ? 0 : rc == FG_ERANGE ? FG_ERANGE : FG_EUNSUPPORTED;
}

/* A payout reads the merchant's pending refunds under the merchant row's
 * exclusive lock (recon/payouts.c): a refund begun takes it shared, so the
 * two take turns and the payout counts every refund begun before it. */
static const char SQL_MERCHANT_SHARE[] = "SELECT id FROM merchants WHERE id = ? LOCK IN SHARE MODE";

static int merchant_share(fg_db_t *db, int64_t merchant_id)
{
    fg_stmt_t s;
    int64_t id = 0;
    int rc = fg_stmt_init(&s, db, SQL_MERCHANT_SHARE);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, merchant_id);
    fg_stmt_out_int(&s, &id, NULL);
    return fg_stmt_one(&s);
}

int fg_refund_begin(fg_db_t *db, const fg_config_t *cfg, const fg_merchant_ref_t *m, const char *payment_id,
                    fg_refund_t *r)
{
    fg_payment_row_t p;
    fg_stmt_t s;
    fg_payment_row_init(&p);
    fg_provider_request_free(&r->request);
    r->now = fg_now_ms();
    r->refund_id[0] = '\0';
    int rc = fg_payment_load(db, payment_id, m->id, 1, &p);
    if (rc != 0 || (rc = prepare(cfg, &p, r)) != 0 || (rc = merchant_share(db, p.merchant_id)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_INSERT)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, r->refund_id);
    fg_stmt_int(&s, p.id);
    fg_stmt_int(&s, p.merchant_id);
    fg_stmt_int(&s, r->amount);
    fg_stmt_cstr(&s, p.currency.data);
    fg_stmt_cstr(&s, r->reason);
    fg_stmt_int(&s, r->now + REFUND_CALL_LEASE_MS);
    fg_stmt_int(&s, r->now);
    fg_stmt_int(&s, r->now);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_RESERVE)) != 0)
        goto Exit;
    fg_stmt_int(&s, r->amount);
    fg_stmt_int(&s, r->now);
    fg_stmt_int(&s, p.id);
    rc = fg_stmt_exec(&s);
Exit:
    fg_payment_row_free(&p);
    return rc;
}

/* ---- 2. the provider ----------------------------------------------------------------- */

void fg_refund_call_provider(const fg_config_t *cfg, fg_refund_t *r)
{
    r->provider_refund_id[0] = '\0';
    r->why[0] = '\0';
    if (r->local) {
        /* in process: made now (0), accepted for later (1), or not made */
        int rc = r->adapter->refund(cfg, r->payment_id, r->provider_txn_id, r->amount, r->now, r->provider_refund_id,
                                    sizeof(r->provider_refund_id));
        r->result = rc == 0 ? FG_REFUND_MADE : rc == 1 ? FG_REFUND_UNKNOWN : FG_REFUND_NOT_SENT;
        if (rc < 0)
            snprintf(r->why, sizeof(r->why), "the payment provider refused or did not answer");
        return;
    }
    fg_http_response_t res;
    if (fg_provider_send(&r->request, &res, r->why, sizeof(r->why)) != 0) {
        /* no answer: only a request that never left is known not to be made */
        r->result = res.not_sent ? FG_REFUND_NOT_SENT : FG_REFUND_UNKNOWN;
    } else {
        int rc = r->adapter->refund_response(cfg, &r->in, res.status, res.body.data, res.body.len,
                                             r->provider_refund_id, sizeof(r->provider_refund_id), r->why,
                                             sizeof(r->why));
        r->result = rc == 0 ? FG_REFUND_MADE : rc == FG_EINVALID ? FG_REFUND_REFUSED : FG_REFUND_UNKNOWN;
    }
    fg_http_response_free(&res);
    if (r->result != FG_REFUND_MADE) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN,
                     r->result == FG_REFUND_UNKNOWN ? "refund outcome unknown: left pending for the status query"
                                                    : "refund not made by the provider");
        fg_log_str(&l, "adapter", r->adapter->name);
        fg_log_str(&l, "refund", r->refund_id);
        fg_log_str(&l, "reason", r->why);
        fg_log_end(&l);
    }
}

typedef struct {
    const fg_config_t *cfg;
    fg_refund_t *r;
    pthread_t thread;
    int started;
} provider_call_t;

static void *provider_call(void *arg)
{
    provider_call_t *c = arg;
    fg_refund_call_provider(c->cfg, c->r);
    return NULL;
}

void fg_refund_call_providers(const fg_config_t *cfg, fg_refund_t *const *r, int n)
{
    if (n <= 0)
        return;
    /* in waves within the process's bound on calls in flight, so that the
     * set itself never takes a call's slot from another of its calls */
    int wave = calls_per_wave(n);
    provider_call_t *c = fg_calloc((size_t)wave, sizeof(*c));
    for (int first = 0; first < n; first += wave) {
        int k = n - first < wave ? n - first : wave;
        for (int i = 1; i < k; i++) {
            c[i] = (provider_call_t){.cfg = cfg, .r = r[first + i]};
            c[i].started = pthread_create(&c[i].thread, NULL, provider_call, &c[i]) == 0;
            if (!c[i].started) /* no thread to spare: in line */
                fg_refund_call_provider(cfg, r[first + i]);
        }
        fg_refund_call_provider(cfg, r[first]);
        for (int i = 1; i < k; i++)
            if (c[i].started)
                pthread_join(c[i].thread, NULL);
    }
    free(c);
}

/* ---- 3. record ------------------------------------------------------------------------ */

/* A made refund's adjustment receipt, of the payment's original (the
 * caller's last statement: its series' counter row stays locked to COMMIT).
 * FG_ERANGE with *series_full set when the series is used up: the refund is
 * then not recorded (rolled back with the rest) until an admin sets a new
 * serial. */
static int adjust_receipt(fg_db_t *db, const fg_payment_row_t *p, int64_t amount, const char *provider_refund_id,
                          const char *receipt_id, const char *refund_id, int64_t now, int *series_full)
{
    fg_receipt_adjust_t adj = {.payment_id = p->id,
                               .amount = amount,
                               .provider_ref = provider_refund_id != NULL && provider_refund_id[0] != '\0'
                                                   ? provider_refund_id
                                                   : NULL};
    int rc = fg_receipt_adjust(db, receipt_id, &adj, now, NULL);
    if (rc == FG_ENOTFOUND)
        return FG_EDB; /* the payment names its receipt: it exists */
    if (rc == FG_ERANGE) {
        *series_full = 1;
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "refund not recorded: the receipt series is used up");
        fg_log_str(&l, "refund", refund_id);
        fg_log_end(&l);
    }
    return rc;
}

/* The ledger and the counters of a refund the provider made. */
static int settle(fg_db_t *db, const fg_payment_row_t *p, int64_t amount, int64_t refund_row_id, int64_t now)
{
    int64_t from_merchant;
    fg_stmt_t s;
    int rc = fg_refund_post(db, p, refund_row_id, amount, now, &from_merchant);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_SETTLE)) != 0)
        return rc;
    fg_stmt_int(&s, amount);
    fg_stmt_int(&s, amount);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, p->id);
    if ((rc = fg_stmt_exec(&s)) != 0 || from_merchant == 0)
        return rc;
    if ((rc = fg_stmt_init(&s, db, SQL_ORDER_REFUNDED)) != 0)
        return rc;
    fg_stmt_int(&s, from_merchant);
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, p->order_id);
    return fg_stmt_exec(&s);
}

/* fg_refund_record for a refund known by its id (merchant_id 0 = any
 * merchant's), as the status job also calls it: UNKNOWN is asked about again
 * at next_query_at.  body receives the refund's JSON, *status_out its status. */
static int record(fg_db_t *db, const char *refund_id, uint64_t merchant_id, fg_refund_result_t result,
                  const char *provider_refund_id, int64_t next_query_at, fg_buf_t *body, fg_refund_status_t *status_out,
                  int *series_full)
{
    fg_payment_row_t p;
    fg_stmt_t s;
    fg_buf_t reason = FG_BUF_INIT, payment_id = FG_BUF_INIT, receipt = FG_BUF_INIT;
    char receipt_id[FG_RECEIPT_ID_MAX + 1] = "";
    fg_refund_status_t status = FG_REFUND_PENDING;
    int64_t now = fg_now_ms(), row_id = 0, amount = 0, created = 0;
    int reason_null = 0;
    memset(&p, 0, sizeof(p));
    fg_buf_reset(body);
    int rc = fg_stmt_init(&s, db, SQL_ROW);
    if (rc != 0)
        goto Exit;
    fg_stmt_cstr(&s, refund_id);
    fg_stmt_out_int(&s, &row_id, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_text(&s, &reason, &reason_null);
    fg_stmt_out_int(&s, &created, NULL);
    fg_stmt_out_text(&s, &payment_id, NULL);
    fg_stmt_out_text(&s, &receipt, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_fetch(&s)) < 0)
        goto Exit;
    fg_stmt_done(&s);
    if (rc != 1) {
        rc = FG_ENOTFOUND;
        goto Exit;
    }
    /* the payment's row lock first, as every refund of it takes it */
    if ((rc = fg_payment_load(db, payment_id.data, merchant_id, 1, &p)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_LOCK)) != 0)
        goto Exit;
    fg_stmt_int(&s, row_id);
    fg_stmt_out_enum(&s, &status, FG_REFUND_STATUS_COUNT);
    if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_fetch(&s)) < 0)
        goto Exit;
    fg_stmt_done(&s);
    if (rc != 1) {
        rc = FG_ENOTFOUND;
        goto Exit;
    }
    const char *why = reason_null ? NULL : reason.data;
    if (status != FG_REFUND_PENDING) {
        *status_out = status;
        fg_refund_json(body, refund_id, &p, amount, status, why, receipt.data, created);
        rc = FG_ESTATE;
        goto Exit;
    }
    if (result == FG_REFUND_UNKNOWN) {
        if ((rc = fg_stmt_init(&s, db, SQL_LATER)) != 0)
            goto Exit;
        fg_stmt_int(&s, next_query_at);
        fg_stmt_int(&s, now);
        fg_stmt_cstr(&s, refund_id);
        if ((rc = fg_stmt_exec(&s)) == 0)
            fg_refund_json(body, refund_id, &p, amount, FG_REFUND_PENDING, why, NULL, created);
        *status_out = FG_REFUND_PENDING;
        goto Exit;
    }
    fg_refund_status_t final = result == FG_REFUND_MADE ? FG_REFUND_SUCCEEDED : FG_REFUND_FAILED;
    /* a made refund adjusts the payment's original receipt, when it has one
     * (a payment that succeeded before receipts existed has none) */
    int adjusts = result == FG_REFUND_MADE && !p.receipt_null && p.receipt_id.len > 0;
    if (adjusts && (rc = fg_receipt_new_id(receipt_id)) != 0)
        goto Exit;
    if ((rc = fg_stmt_init(&s, db, SQL_FINISH)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, fg_refund_status_name(final));
    fg_stmt_cstr(&s, result == FG_REFUND_MADE ? provider_refund_id : NULL);
    fg_stmt_cstr(&s, adjusts ? receipt_id : NULL);
    fg_stmt_int(&s, now);
    fg_stmt_cstr(&s, refund_id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    if (result == FG_REFUND_MADE) {
        rc = settle(db, &p, amount, row_id, now);
        if (rc == 0 && adjusts)
            rc = adjust_receipt(db, &p, amount, provider_refund_id, receipt_id, refund_id, now, series_full);
    } else if ((rc = fg_stmt_init(&s, db, SQL_SETTLE)) == 0) {
        fg_stmt_int(&s, 0);
        fg_stmt_int(&s, amount); /* release the reservation */
        fg_stmt_int(&s, now);
        fg_stmt_int(&s, p.id);
        rc = fg_stmt_exec(&s);
    }
    if (rc != 0)
        goto Exit;
    fg_refund_json(body, refund_id, &p, amount, final, why, adjusts ? receipt_id : NULL, created);
    rc = fg_event_insert(db, (uint64_t)p.merchant_id, result == FG_REFUND_MADE ? "refund.succeeded" : "refund.failed",
                         p.order_id, body, now);
    *status_out = final;
Exit:
    fg_payment_row_free(&p);
    fg_buf_free(&reason);
    fg_buf_free(&payment_id);
    fg_buf_free(&receipt);
    return rc;
}

int fg_refund_record(fg_db_t *db, const fg_config_t *cfg, const fg_merchant_ref_t *m, fg_refund_t *r)
{
    int64_t next = fg_now_ms() + cfg->payments_pending_query_after_s * 1000;
    r->receipt_series_full = 0;
    return record(db, r->refund_id, m->id, r->result, r->provider_refund_id, next, &r->json, &r->status,
                  &r->receipt_series_full);
}

int fg_refund_state(fg_db_t *db, const fg_config_t *cfg, uint64_t merchant_id, const char *refund_id, fg_buf_t *json,
                    fg_refund_status_t *status)
{
    int series_full = 0;
    int64_t next = fg_now_ms() + cfg->payments_pending_query_after_s * 1000;
    int rc = record(db, refund_id, merchant_id, FG_REFUND_UNKNOWN, NULL, next, json, status, &series_full);
    return rc == FG_ESTATE ? 0 : rc; /* settled already: as it was settled */
}

/* ---- reading refunds -----------------------------------------------------------------
 *
 * A refund is read back as the object its POST answered (fg_refund_json,
 * with the payment's ids), so that a client polling a refund answered 202
 * pending sees the same fields with the status of now. */

/* A refund's columns as its JSON needs them (refund_bind reads them in this order). */
/* clang-format off */
#define REFUND_COLUMNS                                                                                              \
    "r.id, r.public_id, r.amount, " FG_REFUND_STATUS_SQL("r.status") ", r.reason, COALESCE(r.receipt_id, ''), "  \
    "r.created_at"
/* clang-format on */
static const char SQL_REFUND_OF_MERCHANT[] = "SELECT " REFUND_COLUMNS ", p.public_id FROM refunds r "
                                             "JOIN payments p ON p.id = r.payment_id "
                                             "WHERE r.public_id = ? AND r.merchant_id = ?";
/* Newest first, along ix_refunds_payment (payment_id, then the primary key). */
static const char SQL_REFUNDS_OF_PAYMENT[] =
    "SELECT " REFUND_COLUMNS " FROM refunds r WHERE r.payment_id = ? AND r.id < ? ORDER BY r.id DESC LIMIT ?";

typedef struct {
    int64_t id, amount, created;
    fg_buf_t public_id, reason, receipt;
    int reason_null;
    fg_refund_status_t status;
} refund_row_t;

static void refund_bind(fg_stmt_t *s, refund_row_t *r)
{
    fg_stmt_out_int(s, &r->id, NULL);
    fg_stmt_out_text(s, &r->public_id, NULL);
    fg_stmt_out_int(s, &r->amount, NULL);
    fg_stmt_out_enum(s, &r->status, FG_REFUND_STATUS_COUNT);
    fg_stmt_out_text(s, &r->reason, &r->reason_null);
    fg_stmt_out_text(s, &r->receipt, NULL);
    fg_stmt_out_int(s, &r->created, NULL);
}

static void refund_row_free(refund_row_t *r)
{
    fg_buf_free(&r->public_id);
    fg_buf_free(&r->reason);
    fg_buf_free(&r->receipt);
}

static void refund_row_json(fg_buf_t *b, const refund_row_t *r, const fg_payment_row_t *p)
{
    fg_refund_json(b, r->public_id.data, p, r->amount, r->status, r->reason_null ? NULL : r->reason.data,
                   r->receipt.data, r->created);
}

int fg_refund_get(fg_db_t *db, uint64_t merchant_id, const char *refund_id, fg_buf_t *json)
{
    refund_row_t r;
    fg_payment_row_t p;
    fg_buf_t payment_id = FG_BUF_INIT;
    fg_stmt_t s;
    memset(&r, 0, sizeof(r));
    fg_payment_row_init(&p);
    int rc = fg_stmt_init(&s, db, SQL_REFUND_OF_MERCHANT);
    if (rc != 0)
        goto Exit;
    fg_stmt_cstr(&s, refund_id);
    fg_stmt_int(&s, (int64_t)merchant_id);
    refund_bind(&s, &r);
    fg_stmt_out_text(&s, &payment_id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    rc = rc == 1 ? 0 : rc == 0 ? FG_ENOTFOUND : rc;
    /* the payment's ids never change: read after the refund, they are its */
    if (rc == 0 && (rc = fg_payment_load(db, payment_id.data, merchant_id, 0, &p)) == 0)
        refund_row_json(json, &r, &p);
Exit:
    refund_row_free(&r);
    fg_payment_row_free(&p);
    fg_buf_free(&payment_id);
    return rc;
}

int fg_refund_list(fg_db_t *db, uint64_t merchant_id, const char *payment_id, const fg_page_t *page, fg_buf_t *out)
{
    refund_row_t r;
    fg_payment_row_t p;
    fg_stmt_t s;
    int64_t count = 0, last = 0;
    memset(&r, 0, sizeof(r));
    fg_payment_row_init(&p);
    int rc = fg_payment_load(db, payment_id, merchant_id, 0, &p);
    if (rc != 0 || (rc = fg_stmt_init(&s, db, SQL_REFUNDS_OF_PAYMENT)) != 0)
        goto Exit;
    fg_stmt_int(&s, p.id);
    fg_stmt_int(&s, page->cursor > 0 ? page->cursor : INT64_MAX);
    fg_stmt_int(&s, page->limit + 1); /* one more tells whether a next page exists */
    refund_bind(&s, &r);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    fg_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    while ((rc = fg_stmt_fetch(&s)) == 1 && count < page->limit) {
        if (count++ > 0)
            fg_buf_putc(out, ',');
        refund_row_json(out, &r, &p);
        last = r.id;
    }
    if (rc == 1)
        fg_stmt_done(&s); /* the row past the page */
    if (rc < 0)
        goto Exit;
    fg_page_close(out, rc == 1, last);
    rc = 0;
Exit:
    refund_row_free(&r);
    fg_payment_row_free(&p);
    return rc;
}

/* ---- several refunds in one transaction ------------------------------------------
 *
 * The refunds a worker takes together (fg_refund_set) are begun as a set:
 * one statement locks every payment and its order (in payment public id
 * order, as the notification sets take them), each member is checked
 * against its rows in hand, and what it writes goes out as one statement
 * per kind: the refund rows (written once: final for a provider in process,
 * 'pending' and reserved for one asked after COMMIT), journals, entries and
 * events as multi-row INSERTs at COMMIT, and one array-driven UPDATE each
 * for the payments' and the orders' counters.  Only an adjustment receipt,
 * numbered in its merchant's series, is written member by member.  A member
 * that would not be made as asked (no such payment of its merchant, a
 * refusal, a provider in process that does not make it, a used-up receipt
 * series) or that shares its payment with another fails the set, and the
 * caller runs each alone: every answer stays its own. */

static fg_db_table_t REFUNDS =
    FG_DB_TABLE("INSERT INTO refunds (public_id, payment_id, merchant_id, amount, currency, status, reason, "
                "provider_refund_id, receipt_id, next_query_at, created_at, updated_at) VALUES ",
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 12, 1, 15);
static const char SQL_SET_PAYMENTS[] =
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (rid BIGINT UNSIGNED PATH '$[0]', refunded BIGINT PATH '$[1]', "
    "refunding BIGINT PATH '$[2]', at BIGINT PATH '$[3]')) j STRAIGHT_JOIN payments p ON p.id = j.rid "
    "SET p.amount_refunded = p.amount_refunded + j.refunded, p.amount_refunding = p.amount_refunding + j.refunding, "
    "p.updated_at = j.at";
static const char SQL_SET_ORDERS[] =
    "UPDATE JSON_TABLE(?, '$[*]' COLUMNS (rid BIGINT UNSIGNED PATH '$[0]', refunded BIGINT PATH '$[1]', "
    "at BIGINT PATH '$[2]')) j STRAIGHT_JOIN orders o ON o.id = j.rid "
    "SET o.amount_refunded = o.amount_refunded + j.refunded, o.updated_at = j.at";

typedef struct {
    fg_refund_member_t *m;
    int n;
    fg_payment_row_t *p; /* each member's payment and order, locked */
    fg_order_row_t *o;
    int *found;
    int64_t *order_sum; /* the merchant's share refunded, summed on the first member of each order */
    /* the adjustment receipts of the refunds made in process, issued together (fg_receipt_adjust_many) */
    fg_receipt_adjustment_t *adjust;
    char (*receipt)[FG_RECEIPT_ID_MAX + 1];
    int adjusts;
} refund_set_t;

static void set_found(void *arg, int member, fg_payment_row_t *p, fg_order_row_t *o)
{
    refund_set_t *set = arg;
    if (member < 0 || member >= set->n || set->found[member]) { /* cannot happen: each pair names its member */
        fg_payment_row_free(p);
        fg_order_row_free(o);
        return;
    }
    set->p[member] = *p;
    set->o[member] = *o;
    set->found[member] = 1;
}

/* Locks the set's payments and orders in one statement; FG_ESTATE when two
 * members name one payment (they go in line, alone). */
static int set_lock(fg_db_t *db, refund_set_t *set)
{
    const char **ids = fg_malloc((size_t)set->n * sizeof(*ids));
    for (int i = 0; i < set->n; i++)
        ids[i] = set->m[i].payment_id;
    int rc = fg_payment_lock_set(db, ids, set->n, set_found, set);
    free(ids);
    for (int i = 0; rc == 0 && i < set->n; i++)
        for (int k = 0; set->found[i] && k < i; k++)
            if (set->found[k] && set->p[k].id == set->p[i].id)
                rc = FG_ESTATE;
    return rc;
}

/* Member i's refund, its rows in hand: the refund row, and for a provider
 * in process the provider's answer, the journal, the receipt and the event
 * (queued); its counters go to payments (and orders, one row per order). */
static int set_member(fg_db_t *db, const fg_config_t *cfg, refund_set_t *set, int i, fg_buf_t *payments, int *n_orders)
{
    fg_refund_member_t *m = &set->m[i];
    fg_refund_t *r = m->r;
    const fg_payment_row_t *p = &set->p[i];
    int64_t from_merchant = 0, row_id = 0;
    char receipt_id[FG_RECEIPT_ID_MAX + 1] = "";
    if (!set->found[i] || p->merchant_id != (int64_t)m->merchant->id || prepare(cfg, p, r) != 0)
        return FG_ESTATE; /* refused: answered alone */
    if (r->local) {
        fg_refund_call_provider(cfg, r);
        if (r->result != FG_REFUND_MADE)
            return FG_ESTATE;
    }
    /* a made refund adjusts the payment's original receipt, when it has one */
    int adjusts = r->local && !p->receipt_null && p->receipt_id.len > 0;
    int rc = adjusts ? fg_receipt_new_id(receipt_id) : 0;
    int64_t lease = r->now + fg_refund_set_lease_ms(set->n);
    fg_db_value_t v[] = {
        fg_db_cstr(r->refund_id),
        FG_DB_INT(p->id),
        FG_DB_INT(p->merchant_id),
        FG_DB_INT(r->amount),
        fg_db_cstr(p->currency.data),
        fg_db_cstr(fg_refund_status_name(r->local ? FG_REFUND_SUCCEEDED : FG_REFUND_PENDING)),
        fg_db_cstr(r->reason),
        fg_db_cstr(r->local ? r->provider_refund_id : NULL),
        fg_db_cstr(adjusts ? receipt_id : NULL),
        FG_DB_INT(lease),
        FG_DB_INT(r->now),
        FG_DB_INT(r->now),
    };
    if (rc != 0 || (rc = fg_db_insert(db, &REFUNDS, v, 1, &row_id)) != 0)
        return rc;
    if (r->local) {
        if ((rc = fg_refund_post(db, p, row_id, r->amount, r->now, &from_merchant)) != 0)
            return rc;
        if (adjusts) {
            int k = set->adjusts++;
            memcpy(set->receipt[k], receipt_id, sizeof(receipt_id));
            set->adjust[k] = (fg_receipt_adjustment_t){set->receipt[k],
                                                       {.payment_id = p->id,
                                                        .amount = r->amount,
                                                        .provider_ref = r->provider_refund_id[0] != '\0'
                                                                            ? r->provider_refund_id
                                                                            : NULL}};
        }
        fg_buf_reset(&r->json);
        fg_refund_json(&r->json, r->refund_id, p, r->amount, FG_REFUND_SUCCEEDED, r->reason,
                       adjusts ? receipt_id : NULL, r->now);
        r->status = FG_REFUND_SUCCEEDED;
        if ((rc = fg_event_insert(db, (uint64_t)p->merchant_id, "refund.succeeded", p->order_id, &r->json, r->now)) !=
            0)
            return rc;
    }
    fg_buf_printf(payments, "%s[%lld,%lld,%lld,%lld]", payments->len > 1 ? "," : "", (long long)p->id,
                  (long long)(r->local ? r->amount : 0), (long long)(r->local ? 0 : r->amount), (long long)r->now);
    if (from_merchant != 0) {
        /* two payments of one order: one row, their sum, on the order's first member */
        int first = i;
        for (int k = 0; k < i && first == i; k++)
            if (set->order_sum[k] != 0 && set->o[k].id == set->o[i].id)
                first = k;
        *n_orders += first == i;
        set->order_sum[first] += from_merchant;
    }
    return 0;
}

/* The set's adjustment receipts, together; when an original is not issued
 * yet, each by itself (fg_receipt_adjust issues it first).  A used-up
 * series fails the set: each refund alone is then refused and says so. */
static int set_adjust(fg_db_t *db, refund_set_t *set, int64_t now)
{
    int rc = fg_receipt_adjust_many(db, set->adjust, set->adjusts, now);
    if (rc == FG_ENOTFOUND) {
        rc = 0;
        for (int k = 0; rc == 0 && k < set->adjusts; k++)
            rc = fg_receipt_adjust(db, set->adjust[k].id, &set->adjust[k].in, now, NULL);
    }
    return rc == FG_ERANGE ? FG_ESTATE : rc == FG_ENOTFOUND ? FG_EDB : rc;
}

int fg_refund_set(fg_db_t *db, const fg_config_t *cfg, fg_refund_member_t *m, int n)
{
    assert(fg_db_deferring(db) && n > 0);
    refund_set_t set = {m,
                        n,
                        fg_calloc((size_t)n, sizeof(fg_payment_row_t)),
                        fg_calloc((size_t)n, sizeof(fg_order_row_t)),
                        fg_calloc((size_t)n, sizeof(int)),
                        fg_calloc((size_t)n, sizeof(int64_t)),
                        fg_calloc((size_t)n, sizeof(fg_receipt_adjustment_t)),
                        fg_calloc((size_t)n, FG_RECEIPT_ID_MAX + 1),
                        0};
    fg_buf_t payments = FG_BUF_INIT, orders = FG_BUF_INIT;
    int64_t now = fg_now_ms();
    int n_orders = 0;
    for (int i = 0; i < n; i++) {
        fg_provider_request_free(&m[i].r->request);
        m[i].r->now = now;
        m[i].r->refund_id[0] = '\0';
    }
    int rc = set_lock(db, &set);
    for (int i = 0; rc == 0 && i < n; i++) { /* each merchant once (merchant_share) */
        int seen = 0;
        for (int k = 0; k < i && !seen; k++)
            seen = m[k].merchant->id == m[i].merchant->id;
        if (!seen)
            rc = merchant_share(db, (int64_t)m[i].merchant->id);
    }
    fg_buf_putc(&payments, '[');
    for (int i = 0; rc == 0 && i < n; i++)
        rc = set_member(db, cfg, &set, i, &payments, &n_orders);
    fg_buf_putc(&payments, ']');
    if (rc == 0 && set.adjusts > 0)
        rc = set_adjust(db, &set, now);
    if (rc == 0)
        rc = fg_payments_set_update(db, SQL_SET_PAYMENTS, payments.data, payments.len, n);
    if (rc == 0 && n_orders > 0) {
        fg_buf_putc(&orders, '[');
        for (int i = 0; i < n; i++)
            if (set.order_sum[i] != 0)
                fg_buf_printf(&orders, "%s[%lld,%lld,%lld]", orders.len > 1 ? "," : "", (long long)set.o[i].id,
                              (long long)set.order_sum[i], (long long)now);
        fg_buf_putc(&orders, ']');
        rc = fg_payments_set_update(db, SQL_SET_ORDERS, orders.data, orders.len, n_orders);
    }
    for (int i = 0; i < n; i++)
        if (set.found[i]) {
            fg_payment_row_free(&set.p[i]);
            fg_order_row_free(&set.o[i]);
        }
    free(set.p);
    free(set.o);
    free(set.found);
    free(set.order_sum);
    free(set.adjust);
    free(set.receipt);
    fg_buf_free(&payments);
    fg_buf_free(&orders);
    return rc;
}

/* ---- the status job's side: refunds whose outcome is unknown --------------------- */

typedef struct {
    int64_t id, amount, query_count, payment_created;
    char refund_id[FG_ID_CAP], payment_id[FG_ID_CAP], adapter[16];
    char provider_txn_id[FG_PROVIDER_TXN_MAX + 1];
} due_refund_t;

typedef struct {
    int limit, count;
    due_refund_t due[REFUND_BATCH_MAX];
} refund_claim_t;

static int refund_claim_tx(fg_db_t *db, void *arg)
{
    refund_claim_t *c = arg;
    int64_t now = fg_now_ms(), id, amount, count, created;
    fg_buf_t refund_id = FG_BUF_INIT, payment_id = FG_BUF_INIT, adapter = FG_BUF_INIT, txn = FG_BUF_INIT;
    int txn_null = 0;
    fg_stmt_t s;
    c->count = 0;
    int rc = fg_stmt_init(&s, db, SQL_CLAIM);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, c->limit);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &refund_id, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_int(&s, &count, NULL);
    fg_stmt_out_text(&s, &payment_id, NULL);
    fg_stmt_out_text(&s, &adapter, NULL);
    fg_stmt_out_text(&s, &txn, &txn_null);
    fg_stmt_out_int(&s, &created, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && c->count < c->limit) {
            due_refund_t *d = &c->due[c->count++];
            d->id = id;
            d->amount = amount;
            d->query_count = count + 1;
            d->payment_created = created;
            snprintf(d->refund_id, sizeof(d->refund_id), "%s", refund_id.data);
            snprintf(d->payment_id, sizeof(d->payment_id), "%s", payment_id.data);
            snprintf(d->adapter, sizeof(d->adapter), "%s", adapter.data);
            snprintf(d->provider_txn_id, sizeof(d->provider_txn_id), "%s", txn_null ? "" : txn.data);
        }
        fg_stmt_done(&s);
    }
    fg_buf_free(&refund_id);
    fg_buf_free(&payment_id);
    fg_buf_free(&adapter);
    fg_buf_free(&txn);
    for (int i = 0; rc >= 0 && i < c->count; i++) {
        if ((rc = fg_stmt_init(&s, db, SQL_LEASE)) != 0)
            break;
        fg_stmt_int(&s, now + REFUND_QUERY_LEASE_MS);
        fg_stmt_int(&s, c->due[i].id);
        rc = fg_stmt_exec(&s);
    }
    return rc < 0 ? rc : 0;
}

typedef struct {
    const due_refund_t *d;
    fg_refund_result_t result;
    const char *provider_refund_id;
    int64_t next_at;
    fg_buf_t body;
    fg_refund_status_t status;
} refund_job_t;

static int refund_job_tx(fg_db_t *db, void *arg)
{
    refund_job_t *j = arg;
    int series_full = 0;
    int rc = record(db, j->d->refund_id, 0, j->result, j->provider_refund_id, j->next_at, &j->body, &j->status,
                    &series_full);
    return rc == FG_ESTATE ? 0 : rc; /* settled meanwhile: nothing to do */
}

static int64_t refund_backoff_ms(const fg_config_t *cfg, int64_t query_count)
{
    int64_t ms = cfg->payments_pending_query_after_s * 1000;
    if (ms <= 0)
        ms = 1000;
    for (int64_t i = 1; i < query_count && ms < REFUND_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < REFUND_BACKOFF_MAX_MS ? ms : REFUND_BACKOFF_MAX_MS;
}

/* Asks the provider about one refund and records what it says. */
static int refund_query_one(fg_db_t *db, const fg_config_t *cfg, const due_refund_t *d)
{
    char request_id[FG_ID_CAP], reason[300] = "", provider_refund_id[FG_PROVIDER_TXN_MAX + 1] = "";
    fg_provider_request_t req = {FG_BUF_INIT, FG_BUF_INIT, 0};
    fg_http_response_t res;
    int64_t now = fg_now_ms();
    int is_vnpay = strcmp(d->adapter, "vnpay") == 0, rc;
    if (fg_id_new("", request_id, sizeof(request_id)) < 0)
        return 0;
    fg_refund_in_t in = {d->payment_id, d->provider_txn_id, d->payment_created, d->refund_id, d->amount, 0, NULL, now};
    rc = is_vnpay ? fg_vnpay_refund_query_request(cfg, &in, request_id, &req)
                  : fg_momo_refund_query_request(cfg, &in, request_id, &req);
    if (rc != 0) {
        snprintf(reason, sizeof(reason), "%s is not configured", d->adapter);
        rc = FG_EUNAVAILABLE;
    } else if (fg_http_post_json(req.url.data, req.body.data, req.body.len, req.timeout_ms, &res) != 0) {
        snprintf(reason, sizeof(reason), "no answer: %s", res.error);
        rc = FG_EUNAVAILABLE;
        fg_http_response_free(&res);
    } else {
        rc = is_vnpay
                 ? fg_vnpay_refund_query_response(cfg, &in, res.status, res.body.data, res.body.len, provider_refund_id,
                                                  sizeof(provider_refund_id), reason, sizeof(reason))
                 : fg_momo_refund_query_response(cfg, &in, res.status, res.body.data, res.body.len, provider_refund_id,
                                                 sizeof(provider_refund_id), reason, sizeof(reason));
        fg_http_response_free(&res);
    }
    fg_provider_request_free(&req);
    refund_job_t j = {.d = d, .provider_refund_id = provider_refund_id};
    j.result = rc == 0 ? FG_REFUND_MADE : rc == FG_ENOTFOUND ? FG_REFUND_REFUSED : FG_REFUND_UNKNOWN;
    j.next_at = now + refund_backoff_ms(cfg, d->query_count);
    if (j.result == FG_REFUND_UNKNOWN) {
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "refund status query gave no final answer");
        fg_log_str(&l, "refund", d->refund_id);
        fg_log_str(&l, "reason", reason);
        fg_log_end(&l);
    }
    rc = fg_db_tx(db, refund_job_tx, &j);
    fg_buf_free(&j.body);
    return rc;
}

int fg_providers_refund_round(fg_db_t *db, const fg_config_t *cfg, int limit)
{
    refund_claim_t c = {.limit = limit < REFUND_BATCH_MAX ? limit : REFUND_BATCH_MAX};
    int rc = fg_db_tx(db, refund_claim_tx, &c);
    if (rc != 0)
        return rc;
    for (int i = 0; i < c.count; i++)
        if (refund_query_one(db, cfg, &c.due[i]) < 0) {
            fg_log_t l;
            fg_log_begin(&l, FG_LOG_WARN, "refund status not recorded");
            fg_log_str(&l, "refund", c.due[i].refund_id);
            fg_log_str(&l, "error", fg_db_error(db));
            fg_log_end(&l);
        }
    return c.count;
}
