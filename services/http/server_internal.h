/*
 * server_internal.h - pieces shared by server.c, call.c and tls.c.
 */
#ifndef FG_HTTP_SERVER_INTERNAL_H
#define FG_HTTP_SERVER_INTERNAL_H

#include <openssl/ssl.h>
#include "http/http.h"

/** Builds the TLS context (TLS >= 1.2, ALPN h2 + http/1.1) from https.cert and
 *  https.key, or an ephemeral self-signed certificate when none is set.
 *  NULL with a message in err on failure. */
SSL_CTX *fg_tls_create(const fg_config_t *cfg, char *err, size_t err_cap);

/** Runs on a worker: authentication, idempotency bookkeeping, the handler. */
void fg_call_run(fg_job_t *job, fg_db_t *db);
/** Runs on a worker: calls[0..n) of one route batched by many, each
 *  authenticated, answered and its answer stored as fg_call_run would. */
void fg_call_run_many(fg_many_fn many, fg_call_t **calls, int n, fg_db_t *db);

/** Authenticates a merchant API key (services/http/auth.c).  0, or sets a 401
 *  (403 for an export key or a live staff token, 503) answer on call and
 *  returns non-zero. */
int fg_auth_merchant(fg_call_t *call, fg_db_t *db);

/** Authenticates an export API key (the change feed's routes): 401 for no or
 *  a bad key, 403 for a merchant's key or a staff token.  0, or sets the
 *  answer and returns non-zero. */
int fg_auth_export(fg_call_t *call, fg_db_t *db);

/** Authenticates a staff bearer token (services/staff/) and checks the
 *  route's role: 401 for no or a bad token, 403 for a merchant key or a role
 *  that may not use the route.  0, or sets the answer and returns non-zero. */
int fg_auth_staff(fg_call_t *call, fg_db_t *db);

/** 1 when the Authorization header carries a staff token (by its prefix). */
int fg_auth_bears_staff_token(const fg_call_t *call);

/** Frees everything the call owns. */
void fg_call_free(fg_call_t *call);

#endif
