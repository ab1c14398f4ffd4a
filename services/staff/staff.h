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

#endif
