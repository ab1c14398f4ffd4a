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
#include "db/settle.h"

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
/* After a rotation the previous secret keeps signing for 24 hours. */
#define FG_WEBHOOK_SECRET_OVERLAP_MS (24LL * 3600 * 1000)
/* Kept of a receiver's answer: its first KiB. */
#define FG_WEBHOOK_RESPONSE_KEEP_BYTES 1024
/* Endpoint URLs: long enough for any real receiver, short enough to index. */
#define FG_WEBHOOK_URL_MAX 2048
#define FG_WEBHOOK_DESCRIPTION_MAX 500
/* Event types one endpoint may list (there are 9, plus "*"). */
#define FG_WEBHOOK_EVENT_TYPES_MAX 16
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
 *  user:password, no fragment, at most FG_WEBHOOK_URL_MAX bytes; when
 *  resolve is set, the host must resolve, and to no forbidden address unless
 *  allow_private.  Returns 0, or FG_EINVALID with a stable code and message
 *  in *code / msg (msg_cap bytes). */
int fg_webhook_url_check(const char *url, int allow_private, int resolve, const char **code, char *msg,
                         size_t msg_cap) FG_MUST_USE;

/** Appends the event envelope of docs/DESIGN.md §6: {"id","object":"event","type",
 *  "created":<unix seconds>,"data":{"object":<payload>}}.  payload is the
 *  stored JSON text of the object. */
void fg_webhook_envelope(fg_buf_t *out, const char *public_id, const char *type, int64_t created_ms,
                         const char *payload, size_t payload_len);

/* ---- HTTP handlers (endpoints.c, events.c) -------------------------------- */

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

#endif
