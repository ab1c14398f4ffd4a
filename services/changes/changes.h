/*
 * changes.h - the commit-ordered change feed (docs/CHANGES.md).
 *
 * Triggers (schema/0016_changes.sql) write a change_log row for every change
 * of an order, payment, refund, statement and reconciliation item, in the
 * transaction that makes it.  Those rows, and the merchants' events, get
 * their place in the feed (seq) only after they committed, from the
 * sequencer: one pass at a time, serialized on one locked row, numbering the
 * committed rows that have no number yet, in id order.  A reader of
 * "seq > after" can therefore never step over a row that commits late: the
 * late row's number, when it gets one, is higher than every number a reader
 * can have seen (the argument is in docs/CHANGES.md).
 *
 * The feed is read as pages of NDJSON, one object per change; a statement's
 * insert change stands for its lines, expanded when read, so a cursor is a
 * seq and, inside such a statement, a position among its lines.  Pages are
 * signed with a detached JWS (ES256, RFC 7515 appendix F) by the key of
 * export.signing_key_file; the public keys are published as a JWK set.
 */
#ifndef FG_CHANGES_CHANGES_H
#define FG_CHANGES_CHANGES_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"
#include "db/db.h"

/* ---- the sequencer (sequencer.c) ------------------------------------------------ */

/* Rows of each table numbered by one pass (db.h). */
#define FG_SEQUENCE_BATCH FG_DB_SEQUENCE_BATCH

/**
 * One pass of the sequencer, in a transaction of its own: locks the
 * sequencer's row (waiting for it; or, with skip_locked, doing nothing while
 * another pass holds it), gives the committed change_log rows and events
 * that have no seq the next numbers in id order (up to FG_SEQUENCE_BATCH of
 * each), stores the new high-water mark and commits.  Returns how many rows
 * it numbered (FG_SEQUENCE_BATCH or more: call again, more may wait), or an
 * FG_E* code.
 */
int fg_changes_sequence(fg_db_t *db, int skip_locked) FG_MUST_USE;

/** 1 when some committed change or event waits for its number, 0 when none
 *  does (two probes of an index, no lock), or an FG_E* code. */
int fg_changes_pending(fg_db_t *db) FG_MUST_USE;

/** What a reader runs before it reads: one pass, waiting for the
 *  sequencer's row, when something waits for a number; so everything that
 *  committed before the call is listed (unless more than a pass's batch
 *  waited).  0 or an FG_E* code. */
int fg_changes_catch_up(fg_db_t *db) FG_MUST_USE;

/* ---- reading the feed (feed.c) ---------------------------------------------------- */

#define FG_CHANGES_LIMIT_DEFAULT 1000
/* A page holds at most this many objects: ~5 MiB of orders, 25 MiB at worst
 * (statement lines with 2 KiB memos), built in memory and signed whole. */
#define FG_CHANGES_LIMIT_MAX 10000
/* "<seq>.<position>", two int64 in decimal. */
#define FG_CHANGE_CURSOR_CAP 48

/** Where a page continues: after every object of changes up to seq when sub
 *  is 0; otherwise inside the statement change seq, after the object at
 *  position sub of its expansion (1: the statement itself; 2L: its line of
 *  id L; 2L + 1: that line's reconciliation item). */
typedef struct {
    int64_t seq;
    int64_t sub;
} fg_change_cursor_t;

/** Reads "SEQ" or "SEQ.POSITION" (decimal, no sign, no leading zeros, each
 *  within int64; an empty string is the start).  0 or FG_EINVALID. */
int fg_change_cursor_parse(const char *s, size_t len, fg_change_cursor_t *out) FG_MUST_USE;

/** Writes the cursor's text (cap >= FG_CHANGE_CURSOR_CAP). */
void fg_change_cursor_format(const fg_change_cursor_t *c, char *out, size_t cap);

/**
 * Appends to out, as NDJSON, up to limit (1..FG_CHANGES_LIMIT_MAX) objects
 * {"seq","entity","id","op","at","merchant_id","data"} that follow after, in
 * seq order, a statement's insert change followed by its lines and their
 * items.  *next is the cursor after the last object (after itself when there
 * is none), *count the objects written; fewer than limit means the reader
 * has caught up.  Reads only; ends its read-only transaction.  Returns 0,
 * FG_ERANGE when after is beyond the highest seq ever handed out (no cursor
 * this service gave out: a cursor equal to it is the end of the feed, and
 * valid), FG_EINVALID when after points inside a change that is not a
 * statement's insert (no cursor this service gave out either), or a
 * database code.
 */
int fg_changes_read(fg_db_t *db, const fg_change_cursor_t *after, int limit, fg_buf_t *out, fg_change_cursor_t *next,
                    int *count) FG_MUST_USE;

/* ---- signatures (jws.c) ---------------------------------------------------------------- */

/* Base64url of a P-256 coordinate (32 bytes) and of an RFC 7638 thumbprint. */
#define FG_JWS_KID_CAP 48
/* Keys published besides the signing key (export.published_key_files). */
#define FG_JWS_PUBLISHED_MAX 16

/** A P-256 key: its public half, and its private half when it signs. */
typedef struct fg_jws_key fg_jws_key_t;

/** Reads a PEM key (a private key, or with need_private == 0 also a public
 *  one) from memory.  It must be an EC key on P-256.  0 with *out (free with
 *  fg_jws_key_free), or FG_EINVALID with a reason in err. */
int fg_jws_key_parse(const char *pem, size_t len, int need_private, fg_jws_key_t **out, char *err,
                     size_t err_cap) FG_MUST_USE;
/** The same from a file: FG_EIO when it cannot be read. */
int fg_jws_key_load(const char *path, int need_private, fg_jws_key_t **out, char *err, size_t err_cap) FG_MUST_USE;
void fg_jws_key_free(fg_jws_key_t *k);

/** The key's id: its RFC 7638 JWK thumbprint (SHA-256, base64url). */
const char *fg_jws_key_id(const fg_jws_key_t *k);

/** Appends the public key as a JWK: {"kty","crv","x","y","kid","use","alg"}. */
void fg_jws_jwk_json(fg_buf_t *b, const fg_jws_key_t *k);

/**
 * Signs payload (the exact bytes) with ES256 and appends the detached JWS
 * compact serialization (RFC 7515 appendix F): BASE64URL(protected header)
 * ".." BASE64URL(R || S), the protected header {"alg":"ES256","kid":…}; the
 * signing input is the header's base64url, '.', the payload's base64url.
 * The key must hold its private half (asserted).  0 or FG_EIO.
 */
int fg_jws_sign_detached(const fg_jws_key_t *k, const void *payload, size_t len, fg_buf_t *out) FG_MUST_USE;

/** Checks a detached JWS over payload against k: the header's alg must be
 *  ES256 and its kid k's.  0, or FG_EINVALID for any mismatch. */
int fg_jws_verify_detached(const fg_jws_key_t *k, const char *jws, size_t jws_len, const void *payload,
                           size_t len) FG_MUST_USE;

/** The export keys of this process: the signing key (NULL when
 *  export.signing_key_file is empty) and the published ones. */
typedef struct {
    fg_jws_key_t *signing;
    fg_jws_key_t *published[FG_JWS_PUBLISHED_MAX];
    int published_count;
} fg_export_keys_t;

/** Loads export.signing_key_file and export.published_key_files (comma
 *  separated) once, at start-up.  0, or an FG_E* code with one line naming
 *  the key in err. */
int fg_export_keys_load(const fg_config_t *cfg, char *err, size_t err_cap) FG_MUST_USE;
/** The keys loaded (all NULL before fg_export_keys_load); read-only. */
const fg_export_keys_t *fg_export_keys(void);
void fg_export_keys_free(void);

/** Appends {"keys":[…]}: the signing key, then each published key that is
 *  not the signing key, each once. */
void fg_export_jwks_json(fg_buf_t *b, const fg_export_keys_t *keys);

/* ---- the background job (job.c) ------------------------------------------------------ */

/** Starts the sequencer thread of `feegate serve`: a pass every few tens of
 *  milliseconds while rows wait, back to back while passes come back full.
 *  0 or FG_EIO. */
int fg_changes_start(const fg_config_t *cfg) FG_MUST_USE;
/** Stops and joins it; nothing when it did not start. */
void fg_changes_stop(void);

#endif
