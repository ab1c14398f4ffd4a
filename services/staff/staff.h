/*
 * staff.h - the city's finance staff: users with roles, bearer tokens, and
 * the audit log of staff actions.
 *
 * password.c  scrypt password hashes (docs/DESIGN.md §9)
 * staff.c     roles, e-mail addresses, the audit log, token authentication
 * cli.c       `feegate admin user create` and `feegate admin token create`
 *
 * The HTTP side is fg_auth_staff() in http/auth.c: it checks
 * "Authorization: Bearer fg_staff_…" with fg_staff_token_lookup and the
 * route's level, then fills call->staff_id (staff_users.id), staff_role and
 * staff_email.
 * Handlers that change something write fg_audit_log() rows with
 * call->staff_email as the actor, in their own transaction.
 */
#ifndef FG_STAFF_STAFF_H
#define FG_STAFF_STAFF_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/ids.h"
#include "db/db.h"
#include "core/crypto.h"

/* auditor, finance and admin act city-wide; an accountant always for one
 * merchant (staff_users.merchant_id: a school's accountant). */
typedef enum { FG_ROLE_NONE = 0, FG_ROLE_AUDITOR, FG_ROLE_FINANCE, FG_ROLE_ADMIN, FG_ROLE_ACCOUNTANT } fg_role_t;

/* ---- the admin CLI (docs/DESIGN.md §11) ------------------------------------------- */

/** `feegate admin user create --email E --role finance|auditor|admin|accountant
 *  [--merchant mer_…]` (accountant requires --merchant): reads the password from the first line of stdin, stores the
 * user with an scrypt hash and an audit row in one transaction, prints {"id":"usr_…"}. Returns the process exit code:
 * 0, 1 (the e-mail is taken, the database failed) or 2 (usage: a bad option, e-mail, role or password). */
int fg_staff_cli_user_create(const fg_config_t *cfg, int argc, char **argv);

/** `feegate admin token create --email E [--ttl-hours H]`: prints
 *  {"token":"fg_staff_…"}, a staff bearer token valid for H hours (default
 *  720).  The token is shown once; only its SHA-256 is stored.  Returns the
 *  exit code: 0, 1 (no such user, user disabled, database) or 2 (usage). */
int fg_staff_cli_token_create(const fg_config_t *cfg, int argc, char **argv);

/** `feegate admin user unlock --email E`: lifts the login lockout of an
 *  address (and its failure count), with an audit row.  Returns the exit
 *  code: 0, 1 (the address is not locked, database) or 2 (usage). */
int fg_staff_cli_user_unlock(const fg_config_t *cfg, int argc, char **argv);

/** `feegate admin user disable|enable --email E` and `feegate admin token
 *  revoke --email E` (argv[2..3] name which): taking access away from a
 *  staff member who left or whose password or token leaked.  Disabling also
 *  ends the user's sessions and revokes its tokens; revoking, every token of
 *  the user.  One transaction with its audit row; prints a JSON summary.
 *  Exit code. */
int fg_staff_cli_user_access(const fg_config_t *cfg, int argc, char **argv);

/* ---- the audit log --------------------------------------------------------- */

/** Appends one audit_log row inside the caller's transaction: who (actor: a
 *  staff e-mail, or "cli") did what (action, e.g. "staff_user.create") to
 *  which object (a public id), with the object's JSON before and after
 *  (either may be NULL; never put secrets in them).  Strings are borrowed.
 *  0 or an FG_E* code from fg_stmt_exec (FG_ERETRY: re-run the transaction). */
int fg_audit_log(fg_db_t *db, const char *actor, const char *action, const char *object, const char *before_json,
                 const char *after_json) FG_MUST_USE;

/* ---- passwords (password.c) ------------------------------------------------ */

/* scrypt cost N = 2^15, r = 8, p = 1: 32 MiB and about 0.1 s per hash, the
 * OWASP minimum for interactive logins.  The hash string records the
 * parameters, so raising them later leaves old hashes verifiable. */
#define FG_SCRYPT_LOG2_N 15
/* The cost range accepted when hashing or verifying: 2^10 keeps unit tests
 * fast; 2^20 with r = 8 is 1 GiB, the most one verification may allocate. */
#define FG_SCRYPT_LOG2_N_MIN 10
#define FG_SCRYPT_LOG2_N_MAX 20
/* A fresh random salt per hash; a 256-bit derived key. */
#define FG_PASSWORD_SALT_BYTES 16
#define FG_PASSWORD_KEY_BYTES 32
/* "scrypt$15$8$1$" + 22 salt chars + "$" + 43 key chars = 80 bytes; the
 * column is VARCHAR(255), and verification accepts up to that. */
#define FG_PASSWORD_HASH_CAP 256
/* Passwords: at least 12 bytes (NIST SP 800-63B asks for 8; staff move
 * money), at most 1024 so hashing cost stays bounded. */
#define FG_PASSWORD_MIN 12
#define FG_PASSWORD_MAX 1024

_Static_assert(FG_SCRYPT_LOG2_N_MIN <= FG_SCRYPT_LOG2_N && FG_SCRYPT_LOG2_N <= FG_SCRYPT_LOG2_N_MAX,
               "the default scrypt cost must be inside the accepted range");

/** Hashes password (NUL-terminated, any bytes) with scrypt at the default
 *  cost into out as "scrypt$15$8$1$<salt>$<key>", salt and key in unpadded
 *  base64url.  cap >= FG_PASSWORD_HASH_CAP.  0, or FG_EIO if the random
 *  source or scrypt failed. */
int fg_password_hash(const char *password, char *out, size_t cap) FG_MUST_USE;

/** The same with N = 2^log2_n, FG_SCRYPT_LOG2_N_MIN..MAX (else FG_ERANGE). */
int fg_password_hash_with(const char *password, int log2_n, char *out, size_t cap) FG_MUST_USE;

/** 1 when password matches stored (a string made by fg_password_hash*),
 *  recomputing scrypt with the parameters and salt the string records and
 *  comparing in constant time.  0 for a wrong password and for any stored
 *  string that is malformed or outside the accepted costs: never negative,
 *  so `if (fg_password_verify(…))` is safe. */
int fg_password_verify(const char *password, const char *stored);

/* ---- roles and e-mail addresses (staff.c) ---------------------------------- */

/** Parses "finance" | "auditor" | "admin" | "accountant" (exact, lower case); FG_ROLE_NONE
 *  for anything else. */
fg_role_t fg_staff_role_parse(const char *name);

/** "finance", "auditor", "admin", "accountant", or "none" (static strings). */
const char *fg_staff_role_name(fg_role_t role);

/* Longest e-mail address: RFC 5321's forward-path limit, and the column size. */
#define FG_STAFF_EMAIL_MAX 254
#define FG_STAFF_EMAIL_MIN 3

/** 1 for a plausible e-mail address: 3..254 bytes of valid UTF-8, exactly one
 *  '@' and not at either end, no spaces or control characters. */
int fg_staff_email_valid(const char *email);

/** Copies a valid email lower-cased (ASCII letters only) into out, the form
 *  stored in staff_users.email; cap >= FG_STAFF_EMAIL_MAX + 1.  0, or
 *  FG_EINVALID if !fg_staff_email_valid(email). */
int fg_staff_email_normalize(const char *email, char *out, size_t cap) FG_MUST_USE;

/* ---- staff tokens ---------------------------------------------------------- */

/* Staff tokens are "fg_staff_" + base64url of 32 random bytes (256 bits).
 * The prefix lets fg_auth_staff refuse anything else without a query, and
 * secret scanners recognise a leaked token. */
#define FG_STAFF_TOKEN_PREFIX "fg_staff_"
#define FG_STAFF_TOKEN_RANDOM_BYTES 32
/* 9 prefix bytes + 43 base64url chars + NUL = 53. */
#define FG_STAFF_TOKEN_CAP 64
/* Token lifetime for `admin token create --ttl-hours`: 30 days by default,
 * at most a year, so a forgotten token does not live forever. */
#define FG_STAFF_TOKEN_TTL_HOURS_DEFAULT 720
#define FG_STAFF_TOKEN_TTL_HOURS_MAX 8760

_Static_assert(sizeof(FG_STAFF_TOKEN_PREFIX) - 1 + (FG_STAFF_TOKEN_RANDOM_BYTES * 4 + 2) / 3 < FG_STAFF_TOKEN_CAP,
               "FG_STAFF_TOKEN_CAP must hold a token");

/* A staff user, as a live token names them. */
typedef struct {
    uint64_t id;
    fg_role_t role;
    char email[FG_STAFF_EMAIL_MAX + 1];
    uint64_t merchant_id;               /* a staff account scoped to one merchant, else 0 */
    char merchant_public_id[FG_ID_CAP]; /* its public id, "" when not scoped */
} fg_staff_t;

/** Finds the live token whose SHA-256 is hash (not revoked, not expired at
 *  now_ms, its user not disabled), from an in-process cache that keeps an
 *  answer of the database cache_ms (auth.cache_ms; 0: not kept) or from the
 *  database.  1 found (*staff filled), 0 none, < 0 an FG_E* database code. */
int fg_staff_token_lookup(fg_db_t *db, const uint8_t hash[FG_SHA256_LEN], int64_t now_ms, int64_t cache_ms,
                          fg_staff_t *staff) FG_MUST_USE;

/* ---- sessions of the staff pages (session.c) -------------------------------- *
 *
 * A browser signs in with e-mail and password and gets a random secret in a
 * cookie; the database keeps its SHA-256 only.  The session ends at logout,
 * after cfg->staff_session_idle_ms without a request, and
 * cfg->staff_session_absolute_ms after login.  Forms carry a CSRF token
 * derived from the secret (HMAC-SHA256), so it is tied to the session and
 * needs no storage.  Failed logins are counted per address in the database:
 * after FG_LOGIN_FREE_FAILURES the next try waits, the wait doubling each
 * failure up to FG_LOGIN_DELAY_MAX_MS, and cfg->staff_login_lockout_failures
 * lock the address until an admin unlocks it.  Every login, failed login,
 * logout and unlock writes an audit_log row. */

/* 32 random bytes (256 bits), base64url: 43 characters. */
#define FG_SESSION_SECRET_BYTES 32
#define FG_SESSION_SECRET_CAP 48
/* base64url of an HMAC-SHA256: 43 characters. */
#define FG_CSRF_TOKEN_CAP 48
/* Failures that cost no wait: a typo or two, and a caps-lock. */
#define FG_LOGIN_FREE_FAILURES 3
/* The longest wait between tries before the lockout. */
#define FG_LOGIN_DELAY_MAX_MS (15 * 60 * 1000)

_Static_assert((FG_SESSION_SECRET_BYTES * 4 + 2) / 3 < FG_SESSION_SECRET_CAP, "a secret fits");
_Static_assert((FG_SHA256_LEN * 4 + 2) / 3 < FG_CSRF_TOKEN_CAP, "a CSRF token fits");

typedef enum {
    FG_LOGIN_OK,        /* out->secret names the new session */
    FG_LOGIN_BAD,       /* wrong address or password, or a disabled user */
    FG_LOGIN_THROTTLED, /* too soon after the last failure: out->retry_after_ms */
    FG_LOGIN_LOCKED,    /* locked until an admin unlocks */
} fg_login_outcome_t;

typedef struct {
    fg_login_outcome_t outcome;
    int64_t retry_after_ms;
    fg_staff_t staff;                   /* FG_LOGIN_OK */
    char secret[FG_SESSION_SECRET_CAP]; /* FG_LOGIN_OK: the cookie's value, never stored */
    char user_public_id[FG_ID_CAP];     /* FG_LOGIN_OK */
} fg_login_result_t;

/** Signs in email with password from peer at now: checks the throttle,
 *  verifies the password (scrypt; an unknown address costs the same), and
 *  either records the failure or starts a session, with the audit row, each
 *  in one transaction.  0 with out->outcome, or an FG_E* database code. */
int fg_staff_login(fg_db_t *db, const fg_config_t *cfg, const char *email, const char *password, const char *peer,
                   int64_t now, fg_login_result_t *out) FG_MUST_USE;

/** A live session, as a request sees it. */
typedef struct {
    int64_t id;
    fg_staff_t staff;
    char user_public_id[FG_ID_CAP];
} fg_staff_session_t;

/** The live session whose cookie value is secret (ended, idle or past its
 *  absolute limit at now are not live; nor is a disabled user's), marked
 *  seen at now.  1 found, 0 none, < 0 a database code. */
int fg_staff_session_lookup(fg_db_t *db, const fg_config_t *cfg, const char *secret, int64_t now,
                            fg_staff_session_t *out) FG_MUST_USE;

/** Ends the session (logout) with an audit row.  0 or a database code. */
int fg_staff_session_end(fg_db_t *db, const fg_staff_session_t *session, const char *peer, int64_t now) FG_MUST_USE;

/** The CSRF token of the session (or pre-login cookie) value secret. */
void fg_staff_csrf_token(const char *secret, char out[FG_CSRF_TOKEN_CAP]);

/** 1 when token (len bytes) is secret's CSRF token, compared in constant
 *  time; 0 otherwise (a NULL or empty secret or token included). */
int fg_staff_csrf_check(const char *secret, const char *token, size_t len);

/** Fills secret with a fresh random value (pre-login cookies).  0 or FG_EIO. */
int fg_staff_secret_new(char secret[FG_SESSION_SECRET_CAP]) FG_MUST_USE;

/** Lifts the lockout of email (normalised by the caller) and clears its
 *  failures, with an audit row by actor.  0, FG_ENOTFOUND (not locked), or
 *  a database code. */
int fg_staff_unlock(fg_db_t *db, const char *email, const char *actor) FG_MUST_USE;

/** An address that is locked out, for the users page. */
typedef struct {
    char email[FG_STAFF_EMAIL_MAX + 1];
    int64_t failures, locked_at;
} fg_login_lock_t;

/** Up to cap locked addresses, most recent first, into out; *count.  0 or a
 *  database code. */
int fg_staff_locked_list(fg_db_t *db, fg_login_lock_t *out, int cap, int *count) FG_MUST_USE;

#endif
