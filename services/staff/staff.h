/*
 * staff.h - the city's finance staff: users with roles, bearer tokens, and
 * the audit log of staff actions.
 */
#ifndef FG_STAFF_STAFF_H
#define FG_STAFF_STAFF_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/config.h"
#include "db/db.h"
#include "http/http.h"

/** `feegate admin user create --email E --role finance|auditor|admin`:
 *  reads the password from stdin (first line), stores it with scrypt, prints
 *  {"id":"usr_…"}.  Returns the process exit code (2 for usage errors). */
int fg_staff_cli_user_create(const fg_config_t *cfg, int argc, char **argv);

/** `feegate admin token create --email E`: prints {"token":"…"}, a staff
 *  bearer token (shown once, stored as SHA-256).  Returns the exit code. */
int fg_staff_cli_token_create(const fg_config_t *cfg, int argc, char **argv);

/** Appends one audit record (in the caller's transaction): who did what to
 *  which object, with the object's JSON before and after (either may be NULL). */
int fg_audit_log(fg_db_t *db, const char *actor, const char *action, const char *object, const char *before_json,
                 const char *after_json) FG_MUST_USE;

/* scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s here): OWASP's floor
 * for interactive logins; the string stores the parameters, so they can rise. */
#define FG_SCRYPT_LOG2_N 15
#define FG_PASSWORD_MIN 12
#define FG_PASSWORD_MAX 1024

/** Hashes a password as "scrypt$<log2 N>$8$1$<salt b64url>$<key b64url>".
 *  0 or FG_EIO. */
int fg_password_hash(const char *password, int log2_n, char *out, size_t cap) FG_MUST_USE;
/** 1 when password matches the stored string (constant-time compare), else 0. */
int fg_password_verify(const char *password, const char *stored);

/** 1 when role may use a route requiring `required` (a staff auth level). */
int fg_staff_role_allows(fg_role_t role, fg_auth_t required);
/** Parses "finance" | "auditor" | "admin"; FG_ROLE_NONE otherwise. */
fg_role_t fg_staff_role_parse(const char *name);
/** 1 for a plausible e-mail address: 3..254 bytes, one '@' not at either end,
 *  no spaces or control characters. */
int fg_staff_email_valid(const char *email);

#endif
