/*
 * adapter.h - the one interface every payment provider implements (docs/DESIGN.md §5).
 *
 * Adapters are pure protocol code: no SQL, no HTTP server calls, no clock of
 * their own (the time is passed in).  The payment service owns the
 * transaction; an adapter turns our payment into the provider's request, and
 * the provider's notification bytes into a verified, typed notification and
 * the acknowledgement the provider expects.
 */
#ifndef FG_ADAPTERS_ADAPTER_H
#define FG_ADAPTERS_ADAPTER_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"

#define FG_PROVIDER_TXN_MAX 64
#define FG_PROVIDER_EVENT_MAX 128

/* What the service knows when it starts a payment. */
typedef struct {
    const char *payment_id; /* "pay_…": our reference at the provider */
    int64_t amount;         /* minor units */
    const char *currency;
    const char *order_code;  /* payer-facing code, for memos */
    const char *description; /* may be NULL */
    const char *payer_ip;    /* may be NULL */
    int64_t now_ms;
    int64_t expires_ms; /* the order's expiry (0: none): a provider's pay window ends no later */
} fg_payment_start_t;

typedef struct {
    fg_buf_t redirect_url; /* empty when the method has none */
    fg_buf_t qr_payload;   /* empty when the method has none */
} fg_payment_started_t;

/* An inbound notification as received. */
typedef struct {
    const char *method;
    const char *query; /* raw query string without '?', may be NULL */
    size_t query_len;
    const char *body;
    size_t body_len;
    const char *(*header)(void *ctx, const char *name); /* lower-case name; NULL if absent; may be NULL */
    void *header_ctx;
    const char *headers; /* every header as "name: value\n", as the inbox records them; may be NULL */
    size_t headers_len;
} fg_inbound_t;

typedef enum { FG_NOTIFY_SUCCEEDED, FG_NOTIFY_FAILED, FG_NOTIFY_PENDING } fg_notify_status_t;

/* A verified notification. */
typedef struct {
    char payment_id[48]; /* our payment's public id */
    char provider_txn_id[FG_PROVIDER_TXN_MAX + 1];
    char event_id[FG_PROVIDER_EVENT_MAX + 1]; /* dedup key at this provider */
    fg_notify_status_t status;
    int64_t amount; /* minor units received */
    /* FAILED, yet the money may have left the payer (VNPay's TransactionStatus
     * 00 with another ResponseCode: taken, held as suspect): never told
     * "nothing was taken, pay again" */
    int maybe_taken;
} fg_notification_t;

/* How the service disposed of a notification, for the acknowledgement. */
typedef enum {
    FG_ACK_APPLIED,    /* recorded (a success or a failure) */
    FG_ACK_DUPLICATE,  /* seen before: no new effect */
    FG_ACK_NOT_FOUND,  /* no such payment */
    FG_ACK_BAD_AMOUNT, /* amount does not match */
    FG_ACK_FORGED,     /* signature or timestamp refused */
    FG_ACK_MALFORMED,  /* unreadable */
    FG_ACK_ERROR,      /* ours: retry later */
} fg_ack_t;

/* An HTTP request an adapter wants sent to its provider.  The adapter only
 * builds it; the payment service sends it (services/net) from a database
 * worker or a background thread and hands the answer back for parsing. */
typedef struct {
    fg_buf_t url;       /* absolute http(s) URL */
    fg_buf_t body;      /* JSON, sent as application/json with POST */
    int64_t timeout_ms; /* total time the provider may take (MoMo asks >= 30 s) */
} fg_provider_request_t;

/* What the service knows when it asks a provider about a payment. */
typedef struct {
    const char *payment_id; /* "pay_…": our reference at the provider */
    int64_t amount;         /* what the payment asked for, minor units */
    int64_t created_ms;     /* when the payment was started (VNPay's vnp_TransactionDate) */
    const char *request_id; /* unique per call: the provider's dedup key for this request */
    int64_t now_ms;
} fg_payment_query_t;

/* What the service knows when it asks a provider to refund. */
typedef struct {
    const char *payment_id;      /* "pay_…" */
    const char *provider_txn_id; /* the provider's transaction number */
    int64_t payment_created_ms;
    const char *refund_id; /* "rfd_…": our reference, also the request id */
    int64_t amount;        /* minor units */
    int full;              /* the refund returns everything still refundable */
    const char *reason;    /* may be NULL */
    int64_t now_ms;
} fg_refund_in_t;

/* The *_response functions answer 0, or FG_EINVALID (the provider refused,
 * definitively, or the answer is forged), FG_ENOTFOUND (the provider has no
 * such transaction), FG_EUNAVAILABLE (no usable answer: retry later). */

/** Frees the buffers of r. */
void fg_provider_request_free(fg_provider_request_t *r);

typedef struct {
    const char *name; /* "sandbox", "vnpay", … also the ledger's clearing account suffix */
    /** Builds the redirect URL or QR payload.  0 or FG_E*: FG_ESTATE when the
     *  order expires before the provider could open a pay window. */
    int (*start)(const fg_config_t *cfg, const fg_payment_start_t *in, fg_payment_started_t *out);
    /** Whether this configuration offers the method for a bill of currency
     *  and amount (minor units; currency NULL: offered at all): 0, or
     *  FG_EINVALID (not configured, or not the currency) / FG_ERANGE (an
     *  amount the provider refuses).  What start checks first, and what the
     *  bill page asks before it offers the method. */
    int (*accepts)(const fg_config_t *cfg, const char *currency, int64_t amount);
    /** Verifies (constant time) and parses a notification.  0; FG_EINVALID
     *  when forged or stale (reason set); FG_EEXCEEDS when well-signed but its
     *  amount cannot be read (answered as an invalid amount); FG_ERANGE when
     *  well-signed but otherwise unreadable. */
    int (*verify)(const fg_config_t *cfg, const fg_inbound_t *in, int64_t now_ms, fg_notification_t *out, char *reason,
                  size_t reason_cap);
    /** The HTTP status and body the provider expects for an outcome. */
    void (*ack)(fg_ack_t outcome, int *status, fg_buf_t *body, const char **content_type);
    /** Asks the provider to refund; 0 = refunded now, 1 = accepted and
     *  pending, FG_E* = refused or unreachable. */
    int (*refund)(const fg_config_t *cfg, const char *payment_id, const char *provider_txn_id, int64_t amount,
                  int64_t now_ms, char *provider_refund_id, size_t cap);
    /** How long after the start the payer can still pay through the
     *  redirect URL: the window the provider keeps its page open (VNPay's,
     *  signed into the URL).  0: as long as the payment is pending (a page
     *  of ours: the sandbox gateway's, the bill's). */
    int64_t redirect_valid_ms;

    /* ---- optional: providers reached over HTTP (NULL when not offered) ---- */

    /** A notification whose amount differs from the payment's is still
     *  applied (the money exists), but acknowledged FG_ACK_BAD_AMOUNT. */
    int amount_must_match;
    /** Its notifications are signed in the query string (VNPay), whatever
     *  the method: the query is what is kept of them, never a body. */
    int signed_query;
    /** The create call for adapters whose start needs the provider (MoMo).
     *  When set, start is not used.  0 or FG_ERANGE (amount outside what the
     *  provider accepts) / FG_EINVALID (not configured). */
    int (*start_request)(const fg_config_t *cfg, const fg_payment_start_t *in, fg_provider_request_t *req);
    /** Parses the create answer (any HTTP status).  0 with out filled;
     *  FG_EINVALID refused (reason set); FG_EUNAVAILABLE unusable. */
    int (*start_response)(const fg_config_t *cfg, const fg_payment_start_t *in, long http_status, const char *body,
                          size_t len, fg_payment_started_t *out, char *reason, size_t cap);
    /** The status query (VNPay querydr, MoMo query).  0 or FG_EINVALID. */
    int (*query_request)(const fg_config_t *cfg, const fg_payment_query_t *in, fg_provider_request_t *req);
    /** Parses and verifies (constant time) the query answer into the same
     *  notification an IPN would give (same event id, so the IPN and the
     *  query dedupe against each other).  0 (out->status may be PENDING);
     *  FG_ENOTFOUND; FG_EINVALID forged; FG_EUNAVAILABLE. */
    int (*query_response)(const fg_config_t *cfg, const fg_payment_query_t *in, long http_status, const char *body,
                          size_t len, fg_notification_t *out, char *reason, size_t cap);
    /** A refund through the provider's API.  0 or FG_EINVALID/FG_ERANGE. */
    int (*refund_request)(const fg_config_t *cfg, const fg_refund_in_t *in, fg_provider_request_t *req);
    /** Parses the refund answer.  0 refunded (provider_refund_id set);
     *  FG_EINVALID refused (reason set); FG_EUNAVAILABLE unusable. */
    int (*refund_response)(const fg_config_t *cfg, const fg_refund_in_t *in, long http_status, const char *body,
                           size_t len, char *provider_refund_id, size_t id_cap, char *reason, size_t cap);
} fg_adapter_t;

/** The adapter for a method name, or NULL. */
const fg_adapter_t *fg_adapter_find(const char *name);

extern const fg_adapter_t fg_adapter_sandbox;
extern const fg_adapter_t fg_adapter_vnpay;
extern const fg_adapter_t fg_adapter_momo;
extern const fg_adapter_t fg_adapter_vietqr;

#endif
