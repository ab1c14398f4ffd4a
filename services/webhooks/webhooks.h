/*
 * webhooks.h - outbound merchant webhooks (docs/DESIGN.md §6): endpoints, the event
 * log, fan-out of the `events` outbox into deliveries, and the delivery
 * worker that POSTs them, signed, retried with backoff for 3 days.
 *
 * Delivery is at least once: an attempt is claimed in the database with a
 * lease (FOR UPDATE SKIP LOCKED, then next_attempt_at moved past the HTTP
 * timeout), sent without any lock held, and completed conditionally on the
 * attempt number.  A worker that dies mid-attempt leaves a lease that runs
 * out, and the attempt is made again (with the next attempt number) by any
 * instance.
 */
#ifndef FG_WEBHOOKS_WEBHOOKS_H
#define FG_WEBHOOKS_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/page.h"
#include "core/status.h"
#include "db/settle.h"
#include "merchants/merchants.h"
#include "core/json.h"

/* Retries go on for 3 days after a delivery is created (docs/DESIGN.md §6); an
 * endpoint whose attempts have failed for as long is disabled. */
#define FG_WEBHOOK_RETRY_WINDOW_MS (3LL * 24 * 3600 * 1000)
/* The backoff doubles from webhooks.retry_base_ms up to this. */
#define FG_WEBHOOK_RETRY_DELAY_MAX_MS (6LL * 3600 * 1000)
/* HTTP limits of one attempt. */
#define FG_WEBHOOK_CONNECT_TIMEOUT_MS 5000
#define FG_WEBHOOK_TIMEOUT_MS 15000
/* A claimed attempt is owned for this long: the whole HTTP timeout plus room
 * to record the outcome.  A worker killed mid-attempt delays the retry by at
 * most this much. */
#define FG_WEBHOOK_LEASE_MS (FG_WEBHOOK_TIMEOUT_MS + 10000)
/* A row is in flight while it holds the lease its claim gave it
 * (next_attempt_at = last_attempt_at + FG_WEBHOOK_LEASE_MS, both written by
 * the claiming instance) and that claim began within two leases (so that
 * instances' clocks may differ by up to a lease); an attempt whose outcome is
 * recorded has moved next_attempt_at on.  Nothing that makes rows due again
 * (a receiver back up, an endpoint enabled again) touches a row in flight:
 * its attempt records its own outcome.  Text for an SQL condition taking
 * one parameter, now - FG_WEBHOOK_INFLIGHT_MS. */
#define FG_WEBHOOK_INFLIGHT_MS (2 * FG_WEBHOOK_LEASE_MS)
#define FG_WEBHOOK__STR(x) #x
#define FG_WEBHOOK__XSTR(x) FG_WEBHOOK__STR(x)
#define FG_WEBHOOK_NOT_IN_FLIGHT_SQL                                                                                   \
    "NOT (last_attempt_at IS NOT NULL AND last_attempt_at >= ? AND next_attempt_at IS NOT NULL AND "                   \
    "next_attempt_at <= last_attempt_at + " FG_WEBHOOK__XSTR(FG_WEBHOOK_LEASE_MS) ")"
/* After a rotation the previous secret keeps signing for 24 hours. */
#define FG_WEBHOOK_SECRET_OVERLAP_MS (24LL * 3600 * 1000)
/* Kept of a receiver's answer: its first KiB. */
#define FG_WEBHOOK_RESPONSE_KEEP_BYTES 1024
/* Endpoint URLs: long enough for any real receiver, short enough to index. */
#define FG_WEBHOOK_URL_MAX 2048
#define FG_WEBHOOK_DESCRIPTION_MAX 500
/* Live (not deleted) endpoints one merchant may have: each may hold up to
 * 16 attempts in flight, so a merchant with many could crowd out others. */
#define FG_WEBHOOK_ENDPOINTS_MAX 16
/* Event types one endpoint may list (there are 9, plus "*"). */
#define FG_WEBHOOK_EVENT_TYPES_MAX 16
/* Redeliveries of one event to one endpoint: each is a row kept as the
 * endpoint's history; a receiver that needs more wants a fix, not a resend. */
#define FG_WEBHOOK_REDELIVERIES_MAX 25
/* Secrets: "whsec_" + base64url of this many random bytes. */
#define FG_WEBHOOK_SECRET_RANDOM_BYTES 24
#define FG_WEBHOOK_SECRET_CAP 64
/* Signature header: t=, then one v1= per live secret (at most 2). */
#define FG_WEBHOOK_SIGNATURE_CAP 256

_Static_assert(FG_WEBHOOK_LEASE_MS > FG_WEBHOOK_TIMEOUT_MS, "a lease must outlive the attempt it covers");
_Static_assert(FG_WEBHOOK_CONNECT_TIMEOUT_MS < FG_WEBHOOK_TIMEOUT_MS, "connecting is part of the attempt");

/* ---- pure helpers (sign.c) ------------------------------------------------ */

/** Writes "v1=<hex HMAC-SHA256(secret, t + "." + body)>"'s hex part (64
 *  chars and a NUL) into hex_out. */
void fg_webhook_sign(const char *secret, int64_t t, const char *body, size_t body_len,
                     char hex_out[2 * FG_SHA256_LEN + 1]);

/** Builds the Feegate-Signature value "t=<t>,v1=<hex>[,v1=<hex>]" signing
 *  with secret and, when not NULL, previous_secret too.  out holds
 *  FG_WEBHOOK_SIGNATURE_CAP bytes. */
void fg_webhook_signature_header(const char *secret, const char *previous_secret, int64_t t, const char *body,
                                 size_t body_len, char *out, size_t cap);

/** A fresh secret "whsec_…" into out (cap >= FG_WEBHOOK_SECRET_CAP).  0 or
 *  FG_EIO when the random source failed. */
int fg_webhook_secret_new(char *out, size_t cap) FG_MUST_USE;

/** The delay before the attempt after `attempts` failed ones (>= 1):
 *  base * 2^(attempts-1), capped at FG_WEBHOOK_RETRY_DELAY_MAX_MS, then
 *  "equal jitter": half of it fixed, the other half scaled by jitter in
 *  [0, 1] given as jitter_permille 0..1000.  While the doubled delay stays
 *  below the cap, the delay after n+1 failures is never shorter than the one
 *  after n, whatever the jitter. */
int64_t fg_webhook_retry_delay_ms(int64_t base_ms, int attempts, int jitter_permille);

/** 1 when the address is one a merchant endpoint may not reach unless
 *  webhooks.allow_private is set: loopback, private (RFC 1918, fc00::/7),
 *  link-local, carrier-grade NAT, unspecified, multicast, broadcast,
 *  reserved and documentation ranges, and IPv4 inside IPv6 (mapped,
 *  compatible, NAT64) in any of those. */
int fg_webhook_addr_forbidden(const struct sockaddr *addr);

/** 1 when type is one of the event types of docs/DESIGN.md §3. */
int fg_webhook_event_type_known(const char *type, size_t len);

/** 1 when the comma-separated subscription list (or "*") includes type. */
int fg_webhook_subscribed(const char *events, const char *type);

/** Checks an endpoint URL: https (or http when allow_private), a host, no
 *  user:password, no fragment, at most FG_WEBHOOK_URL_MAX bytes; a host that
 *  is an IP literal or localhost must be no forbidden address unless
 *  allow_private (a name is not resolved: each delivery judges the address
 *  it connects to).  Returns 0, or FG_EINVALID with a stable code and
 *  message in *code / msg (msg_cap bytes). */
int fg_webhook_url_check(const char *url, int allow_private, const char **code, char *msg, size_t msg_cap) FG_MUST_USE;

/** Appends the event envelope of docs/DESIGN.md §6: {"id","object":"event","type",
 *  "created":<unix seconds>,"data":{"object":<payload>}}.  payload is the
 *  stored JSON text of the object. */
void fg_webhook_envelope(fg_buf_t *out, const char *public_id, const char *type, int64_t created_ms,
                         const char *payload, size_t payload_len);

/* ---- endpoints (endpoints.c) ------------------------------------------------
 *
 * Every operation acts for one merchant: another merchant's endpoint, or a
 * deleted one, is FG_ENOTFOUND as if it did not exist.  The writes run
 * inside the caller's transaction and are safe to re-run from the start
 * (fg_db_tx re-runs a body after a deadlock). */

/** An endpoint as the API shows it (never with its secrets).  Initialise
 *  with fg_endpoint_row_init, free with fg_endpoint_row_free. */
typedef struct {
    int64_t id;
    fg_buf_t public_id, url, events, description, status, disabled_reason;
    int description_null, disabled_reason_null;
    int64_t previous_secret_expires_at, failing_since, created_at, updated_at;
    int previous_secret_expires_null, failing_since_null;
} fg_endpoint_row_t;

void fg_endpoint_row_init(fg_endpoint_row_t *r);
void fg_endpoint_row_free(fg_endpoint_row_t *r);

/** Appends the endpoint object of docs/DESIGN.md §6; secret (shown once,
 *  after a create or a rotation) may be NULL.  now_ms decides whether a
 *  rotation's overlap is still running. */
void fg_endpoint_json(fg_buf_t *b, const fg_endpoint_row_t *r, const char *secret, int64_t now_ms);

/** Appends the answer to a delete: {"id","object":"webhook_endpoint",
 *  "deleted":true}. */
void fg_endpoint_deleted_json(fg_buf_t *b, const fg_endpoint_row_t *r);

/** A status an update asks for. */
typedef enum {
    FG_ENDPOINT_STATUS_KEEP = 0, /* unchanged */
    FG_ENDPOINT_STATUS_ENABLED,
    FG_ENDPOINT_STATUS_DISABLED,
} fg_endpoint_status_change_t;

/** A validated endpoint create or update.  url and description point into
 *  the parsed JSON tree (or wherever the caller keeps them); events is owned
 *  (fg_endpoint_input_free).  All zero: an update that changes nothing. */
typedef struct {
    const char *url; /* NULL: absent (an update keeps the URL) */
    int has_events;
    fg_buf_t events; /* canonical "a,b" (each type once, in the order given) or "*" */
    int has_description;
    const char *description; /* NULL: absent or null (has_description tells which) */
    fg_endpoint_status_change_t status;
} fg_endpoint_input_t;

/**
 * Validates an endpoint object {"url","events","description"[,"status"]}
 * against the contract: url a string of at most FG_WEBHOOK_URL_MAX
 * characters that passes fg_webhook_url_check (private addresses only with
 * cfg->webhooks_allow_private); events an array of 1 to
 * FG_WEBHOOK_EVENT_TYPES_MAX known types or "*"; description a string of at
 * most FG_WEBHOOK_DESCRIPTION_MAX characters or null; no control
 * characters; no other field, and status ("enabled" | "disabled") only when
 * updating (creating == 0); url and events required when creating.  Returns
 * 0 with in filled, or -1 with err filled.  Call fg_endpoint_input_free
 * either way.
 */
int fg_endpoint_input_parse(yajl_val obj, int creating, const fg_config_t *cfg, fg_endpoint_input_t *in,
                            fg_field_error_t *err);
void fg_endpoint_input_free(fg_endpoint_input_t *in);

/**
 * Creates an enabled endpoint of merchant m from in (url and events set)
 * with a fresh secret.  Inside the caller's transaction; safe to re-run
 * (each run makes a new id and secret).  On 0, *out is the stored endpoint
 * and secret_out (FG_WEBHOOK_SECRET_CAP bytes) its secret, to show once.
 * out is initialised by the caller and freed by it whatever the outcome.
 * Returns 0, FG_ESTATE when the merchant has FG_WEBHOOK_ENDPOINTS_MAX live
 * endpoints already, FG_EIO when the random source failed, or a database
 * code.
 */
int fg_endpoint_create(fg_db_t *db, const fg_merchant_ref_t *m, const fg_endpoint_input_t *in, int64_t now_ms,
                       fg_endpoint_row_t *out, char secret_out[FG_WEBHOOK_SECRET_CAP]) FG_MUST_USE;

/**
 * Applies an update to merchant m's endpoint public_id (len bytes, not
 * NUL-terminated): the fields in sets, the others are kept.  Disabling an
 * enabled endpoint records disabled_reason "merchant" and parks its pending
 * deliveries; enabling a disabled one clears the reason and the failure
 * clock (failing_since) and makes the parked deliveries due now.  Inside the
 * caller's transaction (the row is locked); safe to re-run.  On 0, *out is
 * the updated endpoint (out as for fg_endpoint_create).  Returns 0,
 * FG_ENOTFOUND, or a database code.
 */
int fg_endpoint_update(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                       const fg_endpoint_input_t *in, int64_t now_ms, fg_endpoint_row_t *out) FG_MUST_USE;

/** fg_endpoint_update that only enables (enabled != 0) or disables the
 *  endpoint; the same outcomes.  Enabling an enabled endpoint, or disabling
 *  a disabled one, changes only its updated_at. */
int fg_endpoint_set_enabled(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len, int enabled,
                            int64_t now_ms, fg_endpoint_row_t *out) FG_MUST_USE;

/**
 * Gives merchant m's endpoint public_id a fresh secret; the one it had keeps
 * signing beside it for FG_WEBHOOK_SECRET_OVERLAP_MS (it replaces any
 * previous secret still in its overlap).  Inside the caller's transaction;
 * safe to re-run.  On 0, *out is the endpoint and secret_out
 * (FG_WEBHOOK_SECRET_CAP bytes) the new secret, to show once.  Returns 0,
 * FG_ENOTFOUND, FG_EIO when the random source failed, or a database code.
 */
int fg_endpoint_rotate_secret(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                              int64_t now_ms, fg_endpoint_row_t *out,
                              char secret_out[FG_WEBHOOK_SECRET_CAP]) FG_MUST_USE;

/**
 * Deletes merchant m's endpoint public_id: it is marked deleted and
 * disabled, and its pending deliveries fail with "endpoint deleted" (the
 * rows are kept).  Inside the caller's transaction; safe to re-run.  On 0,
 * *out is the endpoint as it was before (for fg_endpoint_deleted_json) and
 * *deliveries_failed how many deliveries it failed, for the caller to count
 * (fg_metrics_webhook_failed_endpoint_deleted) once the transaction commits.
 * Returns 0, FG_ENOTFOUND, or a database code.
 */
int fg_endpoint_delete(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len, int64_t now_ms,
                       fg_endpoint_row_t *out, uint64_t *deliveries_failed) FG_MUST_USE;

/** Reads merchant m's endpoint public_id into *out (initialised by the
 *  caller, freed by it).  0, FG_ENOTFOUND, or a database code. */
int fg_endpoint_get(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                    fg_endpoint_row_t *out) FG_MUST_USE;

/** Appends one page of merchant m's endpoints, newest first, as the list
 *  object of docs/DESIGN.md §4 ({"object":"list","data":[…],"next_cursor"})
 *  to out; now_ms as for fg_endpoint_json.  0 or a database code. */
int fg_endpoint_list(fg_db_t *db, const fg_merchant_ref_t *m, const fg_page_t *page, int64_t now_ms,
                     fg_buf_t *out) FG_MUST_USE;

/* ---- the event log, redelivery, deliveries (events.c) -------------------------- */

/** An event of the log.  Initialise with fg_event_row_init, free with
 *  fg_event_row_free. */
typedef struct {
    int64_t id, order_id, created_at;
    int64_t seq; /* its place in the log (changes/changes.h); seq_null until numbered */
    int order_null, seq_null;
    fg_buf_t public_id, type, payload;
} fg_event_row_t;

void fg_event_row_init(fg_event_row_t *e);
void fg_event_row_free(fg_event_row_t *e);

/** Appends the event's envelope (fg_webhook_envelope). */
void fg_event_json(fg_buf_t *b, const fg_event_row_t *e);

/** Reads merchant m's event public_id (len bytes) into *out (initialised by
 *  the caller, freed by it).  0, FG_ENOTFOUND, or a database code. */
int fg_event_get(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                 fg_event_row_t *out) FG_MUST_USE;

/** Which events a page of the log shows.  Strings are len bytes, not
 *  NUL-terminated; NULL: no filter. */
typedef struct {
    const char *type; /* only events of this type */
    size_t type_len;
    const char *after; /* only events after this one of the merchant's (its public id) */
    size_t after_len;
} fg_event_filter_t;

/**
 * Appends one page of merchant m's events in the order of their seq, which
 * the change sequencer hands out after commit (changes/changes.h), as the
 * list object of docs/DESIGN.md §4 to out; the cursor is the last seq.  An
 * event that commits late gets a higher seq than every event listed before
 * it, so a reader passing the last event it saw misses none; an event not
 * numbered yet is not listed yet, and after such an event the page is empty.
 * Returns 0, FG_EINVALID when the filter's type is not a known event type,
 * FG_ENOTFOUND when its after is not one of the merchant's events,
 * FG_ERANGE when the page's cursor is beyond the highest seq ever handed out
 * (no cursor this log gave out), or a database code.
 */
int fg_event_list(fg_db_t *db, const fg_merchant_ref_t *m, const fg_event_filter_t *filter, const fg_page_t *page,
                  fg_buf_t *out) FG_MUST_USE;

/** Deletes up to batch deliveries that ended (delivered or failed) more
 *  than webhooks.deliveries_retain_days before now_ms, oldest first, in one
 *  transaction.  The number deleted (batch: call again), 0 also when the
 *  retention is off, or a database code. */
int fg_delivery_prune(fg_db_t *db, const fg_config_t *cfg, int64_t now_ms, int batch);

/** Why a redelivery made nothing (fg_event_redeliver). */
typedef enum {
    FG_REDELIVERY_MADE = 0,
    FG_REDELIVERY_NO_EVENT,          /* FG_ENOTFOUND: no such event of the merchant's */
    FG_REDELIVERY_NO_ENDPOINT,       /* FG_ENOTFOUND: the endpoint named is not the merchant's (or deleted) */
    FG_REDELIVERY_NO_SUBSCRIBER,     /* FG_ENOTFOUND: no endpoint named, and no enabled one subscribes */
    FG_REDELIVERY_ENDPOINT_DISABLED, /* FG_ESTATE: the endpoint named is disabled */
    FG_REDELIVERY_LIMIT,             /* FG_ESTATE: a target has had FG_WEBHOOK_REDELIVERIES_MAX of the event */
} fg_redelivery_outcome_t;

/** What fg_event_redeliver made.  body is owned by the caller: initialise
 *  it FG_BUF_INIT and free it. */
typedef struct {
    fg_redelivery_outcome_t outcome;
    int count;     /* deliveries made */
    fg_buf_t body; /* on 0: {"object":"list","data":[<the deliveries made>]} */
} fg_redelivery_t;

/**
 * Sends merchant m's event event_id (len bytes) again: one new pending
 * delivery, due now, numbered one past the pair's last redelivery, to the
 * endpoint endpoint_id (a NUL-terminated public id) when it is not NULL
 * (any enabled endpoint of the merchant's, subscribed or not), otherwise to
 * each enabled endpoint that subscribes to the event's type.  Inside the
 * caller's transaction; safe to re-run (out is reset first).  Wake the
 * delivery worker (fg_webhooks_wake) after the commit.  Returns 0 with out
 * filled; FG_ENOTFOUND or FG_ESTATE with out->outcome saying why nothing was
 * made; FG_ERETRY when a concurrent redelivery took the number (run the
 * transaction again); or another database code.
 */
int fg_event_redeliver(fg_db_t *db, const fg_merchant_ref_t *m, const char *event_id, size_t len,
                       const char *endpoint_id, int64_t now_ms, fg_redelivery_t *out) FG_MUST_USE;

/** Appends one page of the deliveries of merchant m's endpoint endpoint_id
 *  (len bytes), newest first, those in *status only when status is not
 *  NULL, as the list object of docs/DESIGN.md §4 to out.  0, FG_ENOTFOUND
 *  (no such endpoint), or a database code. */
int fg_delivery_list(fg_db_t *db, const fg_merchant_ref_t *m, const char *endpoint_id, size_t len,
                     const fg_delivery_status_t *status, const fg_page_t *page, fg_buf_t *out) FG_MUST_USE;

/* ---- background work (fanout.c, dispatch.c) ------------------------------- */

/** One fan-out round: turns events committed since the last round (and any
 *  found in earlier gaps) into deliveries for the merchants' enabled,
 *  subscribed endpoints.  Safe on any number of instances (one at a time
 *  holds the high-water mark row; the others skip the round).  settled is
 *  an event id proven settled (db/settle.h; 0 = none known): gaps at or
 *  below it that are still missing rolled back and are forgotten.  Returns
 *  the number of deliveries created, or a negative FG_E* code. */
int fg_webhooks_fanout(fg_db_t *db, int64_t settled) FG_MUST_USE;

/** Starts this instance's fan-out and delivery threads (never on an event
 *  loop).  The fan-out learns settled event ids from settle's mark number
 *  events_mark (its mark query must read MAX(id) of events there).  0, or
 *  FG_EIO when a thread or libcurl could not be started. */
int fg_webhooks_start(const fg_config_t *cfg, fg_settle_shared_t *settle, int events_mark) FG_MUST_USE;

/** Stops them: no new attempts are claimed; attempts in flight get a few
 *  seconds to finish, the rest are aborted and their leases given back so
 *  that any instance retries them at once.  Safe to call when not started. */
void fg_webhooks_stop(void);

/** Wakes this process's delivery thread (new deliveries are due: call it
 *  after committing a transaction that made some, e.g. a redelivery).  Any
 *  thread; a no-op when the worker is not running. */
void fg_webhooks_wake(void);

#endif
