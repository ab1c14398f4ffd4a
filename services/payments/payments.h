/*
 * payments.h - payments through the bank adapters, the inbound notification
 * pipeline, and refunds (docs/DESIGN.md §3, §5, §6): the money operations
 * every door calls (the API in services/api/, the payer pages in
 * services/web/, the status-query job, and the reconciliation to come).
 *
 * Operations return 0 or a negative FG_E* code (core/error.h).  Those marked
 * "inside the caller's transaction" run in the caller's fg_db_tx body (the
 * caller adds its own writes, e.g. the idempotent answer, and commits) and
 * are safe to run again from the start after a deadlock.  A provider call
 * never runs inside a transaction: work that spans one is split in two
 * transactions around it, and the rows say "pending" in between, which is
 * what they are.
 */
#ifndef FG_PAYMENTS_PAYMENTS_H
#define FG_PAYMENTS_PAYMENTS_H

#include "adapter.h"
#include "core/buf.h"
#include "core/ids.h"
#include "core/page.h"
#include "db/db.h"
#include "merchants/merchants.h"
#include "orders/rules.h"

/* A refund's reason, in characters. */
#define FG_REFUND_REASON_MAX 500
/* A provider's explanation kept for an answer or a log line. */
#define FG_PROVIDER_REASON_CAP 300
/* A pending payment's redirect URL is offered again for this long after the
 * payment started (VNPay's signed URL is valid for 15 minutes). */
#define FG_PAYMENT_REUSE_MS (15 * 60 * 1000)
/* A provider's start call (MoMo's create: 30 s at most) and the record after
 * it are over by then: a pending payment with no redirect URL that is older
 * failed to start, and nobody was shown a way to pay it. */
#define FG_PAYMENT_START_MAX_MS (60 * 1000)

/** The split of money received for an order: what settles it and what goes
 *  to unapplied.  Pure; the rules of docs/DESIGN.md §2 / §3:
 *  - a closed order (paid, cancelled, expired) takes nothing;
 *  - otherwise the order takes up to what it still owes; a partial amount only
 *    when allow_partial, else all of it is unapplied. */
void fg_payment_split(fg_order_status_t effective_status, int allow_partial, int64_t amount, int64_t amount_paid,
                      int64_t received, int64_t *applied, int64_t *unapplied);

/** How a refund draws on the merchant's and the unapplied accounts: the
 *  merchant's share first, up to what this payment credited it.  Pure. */
void fg_refund_split(int64_t payment_applied, int64_t payment_refunded, int64_t amount, int64_t *from_merchant,
                     int64_t *from_unapplied);

/* ---- the payment row (payments.c) ------------------------------------------ */

typedef struct {
    int64_t id, order_id, merchant_id;
    fg_buf_t public_id, adapter, currency, provider_txn_id, order_public_id, merchant_public_id;
    fg_buf_t receipt_id; /* the receipt issued when it succeeded (receipts/receipts.h) */
    fg_buf_t order_code; /* the order's payer code: the receipt page's address */
    fg_buf_t failure_reason;
    fg_payment_status_t status;
    int provider_txn_null, receipt_null, failure_reason_null;
    int64_t amount, amount_received, amount_applied, amount_unapplied, amount_refunded, amount_refunding;
    int received_null;
    int64_t created_at, updated_at;
} fg_payment_row_t;

void fg_payment_row_init(fg_payment_row_t *p);
void fg_payment_row_free(fg_payment_row_t *p);
/** Loads a payment by public id (merchant_id 0 = any merchant), optionally
 *  locking it.  FG_ENOTFOUND if none. */
int fg_payment_load(fg_db_t *db, const char *public_id, uint64_t merchant_id, int for_update,
                    fg_payment_row_t *p) FG_MUST_USE;
/** The payment's public JSON; extra (may be NULL) is appended inside the
 *  object, e.g. ,"redirect_url":"…".  Its receipt_url (the payer's receipt
 *  page, once a receipt was issued) is under base_url (public.base_url). */
void fg_payment_json(fg_buf_t *b, const fg_payment_row_t *p, const char *base_url, const char *extra);
/** The fields a started payment adds to its JSON (redirect_url, qr), for
 *  fg_payment_json's extra. */
void fg_payment_started_json(fg_buf_t *extra, const fg_payment_started_t *started);
/**
 * What a client can still be shown of how to pay p (DESIGN §4's redirect_url
 * and qr), now: nothing once p is no longer pending, or its order no longer
 * takes payments or owes less than p's amount (money sent through it would
 * be held unapplied).  Otherwise the redirect URL as it was stored at the
 * start, never built or signed again, unless the payer came back from it
 * unpaid or its adapter's redirect_valid_ms has passed since the start; and
 * for VietQR the transfer QR, rebuilt from p's amount and its order's code
 * with the configured collection account (as the start built it).  Fills
 * out, which the caller zeroes and frees (both empty: nothing to show).
 * 0, FG_ENOTFOUND, or a database code.
 */
int fg_payment_offer(fg_db_t *db, const fg_config_t *cfg, const fg_payment_row_t *p, int64_t now_ms,
                     fg_payment_started_t *out) FG_MUST_USE;

/* ---- starting a payment (create.c) ----------------------------------------- */

/** A payment being started on an order: the request, then what the
 *  operations found and made.  Zero it, fill the first block, and free it
 *  with fg_payment_new_free. */
typedef struct {
    const fg_adapter_t *adapter;
    int64_t requested;    /* 0 = what the order still owes */
    int reuse_pending;    /* the payer pages: a pending payment of this method is reused, never a second made */
    const char *payer_ip; /* the payer's address for the provider's checks (VNPay vnp_IpAddr); NULL: unknown */
    /* filled by fg_payment_create */
    int reused; /* reuse_pending found the pending payment: payment_id, payment and started are it */
    fg_order_status_t order_status; /* the order's effective status (FG_ESTATE names it) */
    char payment_id[FG_ID_CAP];
    int64_t amount, now;
    fg_payment_row_t payment;      /* the row as written (adapters without start_request) */
    fg_payment_started_t started;  /* what the payer is shown: redirect URL, QR payload */
    fg_provider_request_t request; /* for an adapter with start_request: the call to make */
    fg_payment_start_t start;      /* the start as the adapter saw it (points into this struct) */
    char code[FG_ORDER_CODE_LEN + 1], currency[4];
    fg_buf_t description;
    /* filled by fg_payment_call_provider */
    int provider_rc; /* 0 started, FG_EINVALID refused, FG_EUNAVAILABLE no usable answer */
    char reason[FG_PROVIDER_REASON_CAP];
} fg_payment_new_t;

void fg_payment_new_free(fg_payment_new_t *pn);

/**
 * Inside the caller's transaction, under the order's row lock: checks that
 * the order takes this payment and writes it 'pending'.  An adapter that
 * starts locally (sandbox, VNPay's signed URL, a VietQR payload) is started
 * here: pn->payment and pn->started are filled.  An adapter with
 * start_request (MoMo) gets its provider call built in pn->request, to be
 * made after COMMIT with fg_payment_call_provider.
 * The redirect URL is kept with the payment (payments.redirect_url).
 *
 * With pn->reuse_pending, the order's pending payment of this method (read
 * under the same order lock, so two starts of one order find each other)
 * is answered instead of a new one: pn->reused, pn->payment_id, pn->payment
 * and pn->started.redirect_url; it is FG_ECONFLICT when that payment's
 * redirect URL is not known yet (its provider call is in flight) or older
 * than FG_PAYMENT_REUSE_MS (pn->payment_id names it; it is settled by its
 * notification or the status query).
 *
 * Returns 0; FG_ENOTFOUND (no such order of m); FG_ESTATE (the order does
 * not take payments: pn->order_status); FG_EEXCEEDS (requested is more than
 * is owed, or less while the order is not partial); FG_ERANGE (outside what
 * the provider carries); FG_EUNSUPPORTED (the method is not configured or
 * cannot carry this amount or currency); FG_ECONFLICT (above); or a
 * database code.  Anything but 0 must roll back.
 */
int fg_payment_create(fg_db_t *db, const fg_config_t *cfg, const fg_merchant_ref_t *m, const char *order_id,
                      size_t order_id_len, fg_payment_new_t *pn) FG_MUST_USE;

/** Outside any transaction: sends pn->request and parses the answer into
 *  pn->started; sets pn->provider_rc and pn->reason.  Blocking (up to the
 *  provider's timeout): call from a database worker or a job thread. */
void fg_payment_call_provider(const fg_config_t *cfg, fg_payment_new_t *pn);

/** Inside the caller's transaction after fg_payment_call_provider: a
 *  refusal fails the payment, a start keeps its redirect URL; then loads it
 *  into pn->payment.  0 or a database code. */
int fg_payment_record_start(fg_db_t *db, const fg_merchant_ref_t *m, fg_payment_new_t *pn) FG_MUST_USE;

/* ---- refunds (refunds.c) ---------------------------------------------------- */

/* What became of a refund at its provider: the one outcome every refund
 * path records, the API's and the status job's. */
typedef enum {
    FG_REFUND_MADE,     /* the provider made it */
    FG_REFUND_REFUSED,  /* a final refusal: not made */
    FG_REFUND_NOT_SENT, /* the request never left: not made */
    FG_REFUND_UNKNOWN,  /* it may have reached the provider: ask later */
} fg_refund_result_t;

/** A refund through one pipeline: fg_refund_begin reserves it (pending),
 *  fg_refund_call_provider asks the provider, fg_refund_record records what
 *  became of it.  Zero it, fill the first block, free it with
 *  fg_refund_free. */
typedef struct {
    int64_t amount;
    const char *reason; /* may be NULL */
    /* filled by fg_refund_begin */
    int64_t refundable, now;
    char refund_id[FG_ID_CAP], payment_id[FG_ID_CAP];
    const fg_adapter_t *adapter;
    int local;         /* the adapter refunds in process (adapter->refund): no HTTP call */
    fg_refund_in_t in; /* the refund as the adapter sees it */
    char provider_txn_id[FG_PROVIDER_TXN_MAX + 1];
    fg_provider_request_t request; /* the provider call (adapters with refund_request) */
    /* filled by fg_refund_call_provider */
    fg_refund_result_t result;
    char provider_refund_id[FG_PROVIDER_TXN_MAX + 1];
    char why[FG_PROVIDER_REASON_CAP];
    /* filled by fg_refund_record */
    fg_refund_status_t status;
    fg_buf_t json;           /* the refund's public JSON */
    int receipt_series_full; /* not recorded (FG_ERANGE): the adjustment receipt's series is used up */
} fg_refund_t;

void fg_refund_free(fg_refund_t *r);

/**
 * Inside the caller's transaction, under the payment's row lock (concurrent
 * refunds of one payment serialise there, so together they never exceed what
 * it received): checks the refund and writes it 'pending' with its amount
 * reserved in the payment's amount_refunding.  refundable = received -
 * refunded - reserved.  Returns 0; FG_ENOTFOUND (no such payment of m);
 * FG_ESTATE (the payment has not succeeded); FG_EEXCEEDS (more than
 * r->refundable); FG_EUNSUPPORTED (its method cannot refund); FG_ERANGE
 * (outside what the provider refunds); or a database code.
 */
int fg_refund_begin(fg_db_t *db, const fg_config_t *cfg, const fg_merchant_ref_t *m, const char *payment_id,
                    fg_refund_t *r) FG_MUST_USE;

/** Asks the provider to make the refund and sets r->result (and
 *  provider_refund_id / why).  In process for a local adapter (then it may
 *  run inside the transaction of fg_refund_begin); otherwise an HTTP call
 *  that must run outside any transaction. */
void fg_refund_call_provider(const fg_config_t *cfg, fg_refund_t *r);
/** fg_refund_call_provider for n refunds at once (a thread for each but the
 *  first, which runs on the caller's; in waves no larger than the bound on
 *  provider calls in flight), returning when all have answered: a set's
 *  outside calls take about as long as its slowest, not their sum. */
void fg_refund_call_providers(const fg_config_t *cfg, fg_refund_t *const *r, int n);

/**
 * Inside the caller's transaction: records r->result for the pending refund
 * r->refund_id: MADE settles it (the reversing journal, the counters,
 * refund.succeeded); REFUSED and NOT_SENT fail it and release its
 * reservation (refund.failed); UNKNOWN leaves it pending and reserved, asked
 * about again after payments.pending_query_after_s.  Fills r->status and
 * r->json.  0; FG_ESTATE when it was no longer pending (r->status says what
 * it is); FG_ENOTFOUND; or a database code.
 */
int fg_refund_record(fg_db_t *db, const fg_config_t *cfg, const fg_merchant_ref_t *m, fg_refund_t *r) FG_MUST_USE;

/** The state of the merchant's refund refund_id as it stands, for a retry
 *  whose first request was never answered (its key's mark): json its
 *  object, *status its status; a pending one's status query comes after
 *  payments.pending_query_after_s.  0, FG_ENOTFOUND or a database code. */
int fg_refund_state(fg_db_t *db, const fg_config_t *cfg, uint64_t merchant_id, const char *refund_id, fg_buf_t *json,
                    fg_refund_status_t *status) FG_MUST_USE;

/** The merchant's refund refund_id as GET /v1/refunds/{id} answers it: the
 *  object POST /v1/payments/{id}/refunds answered, with its status now.
 *  Appends to json.  0, FG_ENOTFOUND (none of the merchant's) or a
 *  database code. */
int fg_refund_get(fg_db_t *db, uint64_t merchant_id, const char *refund_id, fg_buf_t *json) FG_MUST_USE;

/** One page of the refunds of the merchant's payment payment_id, newest
 *  first, as a list body {"object":"list","data":[…],"next_cursor":…}
 *  (core/page.h) appended to out; each refund as fg_refund_get gives it.
 *  0, FG_ENOTFOUND (no such payment of the merchant) or a database code. */
int fg_refund_list(fg_db_t *db, uint64_t merchant_id, const char *payment_id, const fg_page_t *page,
                   fg_buf_t *out) FG_MUST_USE;

/** One refund of a set (fg_refund_set): its merchant, the payment it names,
 *  and the refund (zeroed, amount and reason filled, as for
 *  fg_refund_begin). */
typedef struct {
    const fg_merchant_ref_t *merchant;
    const char *payment_id;
    fg_refund_t *r;
} fg_refund_member_t;

/**
 * Inside the caller's deferring transaction: n refunds begun as one set
 * (payments/refunds.c).  0 when every member was begun: a provider in
 * process was asked and the refund recorded (r->status, r->json as
 * fg_refund_record leaves them); an outside provider's refund was written
 * 'pending' with its amount reserved, for the caller to ask the provider
 * after COMMIT and record with fg_refund_record.  FG_ESTATE when any member
 * would not be begun and made as asked (no such payment, a refusal, a
 * provider that does not make it, two members of one payment): roll back and
 * run each alone (fg_refund_begin), which gives each its own answer.  Or a
 * database code.
 */
int fg_refund_set(fg_db_t *db, const fg_config_t *cfg, fg_refund_member_t *m, int n) FG_MUST_USE;
/** How long a set of n refunds is leased: its provider calls go after
 *  COMMIT in waves (fg_refund_call_providers), none recorded before the
 *  last; the set's Idempotency-Keys are held at least as long. */
int64_t fg_refund_set_lease_ms(int n);

/* ---- notifications (webhook.c, sepay.c) ----------------------------------------- */

/**
 * The inbound pipeline for a notification as received: verified by the
 * adapter, recorded in webhook_inbox under (adapter, event id) and applied
 * exactly once, in its own transactions.  *outcome is what to acknowledge
 * with adapter->ack (FG_ACK_ERROR when it could not be recorded: the
 * provider retries).  0, or the database code behind FG_ACK_ERROR.
 */
int fg_webhook_receive(fg_db_t *db, const fg_config_t *cfg, const fg_adapter_t *adapter, const fg_inbound_t *in,
                       fg_ack_t *outcome);

/* One notification of several received at once. */
typedef struct {
    const fg_adapter_t *adapter;
    fg_inbound_t in;
    fg_ack_t outcome; /* out: as fg_webhook_receive's */
} fg_webhook_item_t;

/**
 * fg_webhook_receive for n notifications at once (a worker took them
 * together): the verified ones are applied in one transaction with set-wise
 * statements (webhook.c), each with exactly the outcome it would have alone.
 */
void fg_webhook_receive_many(fg_db_t *db, const fg_config_t *cfg, fg_webhook_item_t *items, int n);

/** Deletes up to batch rejected webhook_inbox rows (forged, unreadable:
 *  they never had an effect) received webhooks.inbox_rejected_days or more
 *  before now_ms, in one transaction; applied, duplicate and failed rows are
 *  kept.  The rows deleted (0 when retention is off), or a negative FG_E*
 *  code. */
int fg_inbox_prune(fg_db_t *db, const fg_config_t *cfg, int64_t now_ms, int batch);

/** The bank feed's (SePay's) transfer notification, as fg_webhook_receive:
 *  authorization is the request's Authorization header (may be NULL).
 *  Acknowledge with fg_adapter_vietqr.ack. */
int fg_sepay_receive(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, const char *authorization,
                     fg_ack_t *outcome);

/* One transfer of several received at once. */
typedef struct {
    fg_inbound_t in;
    const char *authorization; /* the request's Authorization header, may be NULL */
    fg_ack_t outcome;          /* out: as fg_sepay_receive's */
} fg_sepay_item_t;

/** fg_sepay_receive for n transfers at once: those authorized and readable
 *  run in one transaction; if it fails, each alone, with its own outcome. */
void fg_sepay_receive_many(fg_db_t *db, const fg_config_t *cfg, fg_sepay_item_t *items, int n);

/**
 * Inside the caller's transaction: a credit transfer to the VietQR
 * collection account pays order_id `amount`, as the bank feed and a
 * statement line do: through the order's pending VietQR payment (the one its
 * QR was shown for) or a new one, then fg_webhook_apply_one with provider
 * transaction txn_id and event event_id (in is the transfer as received).
 * payment_id receives the payment's public id.  Returns as
 * fg_webhook_apply_one.
 */
int fg_transfer_pay_order(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, int64_t order_id, int64_t amount,
                          const char *txn_id, const char *event_id, fg_ack_t *outcome, const char **reason,
                          char payment_id[FG_ID_CAP]) FG_MUST_USE;

/** One order a transfer pays, of several paid at once (fg_transfer_pay_orders). */
typedef struct {
    fg_inbound_t in; /* the transfer as received */
    int64_t order_id, amount;
    const char *txn_id, *event_id;
    char payment_id[FG_ID_CAP]; /* out: the payment's public id */
    int64_t payment_row;        /* out: its row id */
    fg_notification_t note;     /* the notification it makes */
} fg_transfer_pay_t;

/**
 * fg_transfer_pay_order for n transfers at once, set-wise, inside the
 * caller's deferring transaction: one statement locks the orders' pending
 * VietQR payments, one inserts a payment for each order that has none, and
 * fg_webhook_apply_set applies them all.  Orders and event ids distinct.  0
 * when every one was applied as asked; anything else (one not applicable,
 * a database error): roll back, and pay each alone for its own answer.
 */
int fg_transfer_pay_orders(fg_db_t *db, const fg_config_t *cfg, fg_transfer_pay_t *p, int n) FG_MUST_USE;

/** Inside the caller's transaction: one money, one effect.  Records that the
 *  bank transfer (account, bank_ref) of amount was applied, by source "feed"
 *  or "statement", for payment_id (NULL: none, e.g. recorded unapplied).
 *  FG_ECONFLICT when it was recorded before: roll back, it has its effect. */
int fg_bank_transfer_record(fg_db_t *db, const char *account, const char *bank_ref, const char *source, int64_t amount,
                            const char *payment_id, int64_t now) FG_MUST_USE;

/** Adds a transfer to json, the array fg_bank_transfers_record takes (start
 *  it empty): account and bank_ref as received, payment_row the payment it
 *  paid (0: none). */
void fg_bank_transfers_add(fg_buf_t *json, const char *account, size_t account_len, const char *bank_ref,
                           size_t bank_ref_len, int64_t payment_row, int64_t amount);
/** fg_bank_transfer_record for the transfers in json, in one statement
 *  (none: nothing).  FG_ECONFLICT when one was recorded before. */
int fg_bank_transfers_record(fg_db_t *db, fg_buf_t *json, const char *source, int64_t now) FG_MUST_USE;

/**
 * Inside the caller's transaction: records a verified notification in
 * webhook_inbox under (adapter, event id) and applies it once.  Every door
 * money comes through uses this one function: the webhook route, the SePay
 * bank feed, and the status-query job (whose in is the provider's answer).
 * in is the notification as received (recorded raw); cfg supplies the pay
 * links of the events.  Returns 0 (commit: applied, or recorded with no
 * effect and *outcome FG_ACK_DUPLICATE), 1 (not applicable, e.g. no such
 * payment: roll back; *outcome and *reason say why), FG_ECONFLICT (a
 * duplicate: roll back) or an FG_E* database code.
 */
int fg_webhook_apply_one(fg_db_t *db, const fg_config_t *cfg, const fg_inbound_t *in, const fg_adapter_t *adapter,
                         const fg_notification_t *n, fg_ack_t *outcome, const char **reason) FG_MUST_USE;

/** One notification of fg_webhook_apply_set: in as received, n verified;
 *  outcome is set. */
typedef struct {
    const fg_inbound_t *in;
    const fg_notification_t *n;
    fg_ack_t outcome;
    int64_t payment_row; /* out: the payment's row id */
} fg_webhook_apply_t;

/**
 * fg_webhook_apply_one for n verified notifications of one adapter at once,
 * inside the caller's deferring transaction (db/group.h), set-wise as a
 * worker's queued notifications are (fg_webhook_receive_many): one statement
 * locks every payment and its order, in public id order; each is decided
 * on its rows in hand; one statement per kind updates the orders and the
 * payments, and the inbox rows, journals, entries and events go at COMMIT.
 * Their payments must be distinct and of distinct orders, their event ids
 * distinct.  0 when every one of them was applied (each outcome
 * FG_ACK_APPLIED); anything else (one not applicable, a second transaction
 * on a succeeded payment, a database error): roll the transaction back and
 * apply each alone, for its own answer.
 */
int fg_webhook_apply_set(fg_db_t *db, const fg_config_t *cfg, const fg_adapter_t *adapter, fg_webhook_apply_t *items,
                         int n) FG_MUST_USE;

#endif
