/*
 * auth.c - API keys: "Authorization: Bearer <key>", looked up by SHA-256.  A
 * key has a scope: a merchant's key opens the merchant routes, an export key
 * (the data-sharing platform's) the change feed and nothing else.  A
 * credential of the wrong kind is 403 (a live staff token on a merchant
 * route, a merchant's key on a staff route), one that is no credential 401.
 * A small in-process cache spares the lookup round trip on every request; a
 * revoked key stops working within auth.cache_ms.
 */
#include "http/server_internal.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>
#include "core/crypto.h"
#include "core/text.h"

/* Cache slots (direct-mapped by hash); a miss only costs one query. */
#define AUTH_CACHE_SLOTS 1024
/* Longest Authorization header value considered. */
#define AUTH_HEADER_MAX 512

typedef enum { SCOPE_MERCHANT, SCOPE_EXPORT } scope_t;

typedef struct {
    uint8_t hash[FG_SHA256_LEN];
    scope_t scope;
    uint64_t merchant_id;
    char merchant_public_id[FG_ID_CAP];
    int64_t expires_ms;
} auth_slot_t;

static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static auth_slot_t cache[AUTH_CACHE_SLOTS];

static const char SQL_KEY[] =
    "SELECT k.scope = 'export', COALESCE(m.id, 0), COALESCE(m.public_id, '') FROM api_keys k "
    "LEFT JOIN merchants m ON m.id = k.merchant_id WHERE k.key_hash = ? AND k.revoked_at IS NULL";

static int cache_get(const uint8_t *hash, fg_call_t *call, scope_t *scope, int64_t now)
{
    auth_slot_t *slot = &cache[(hash[0] | hash[1] << 8) % AUTH_CACHE_SLOTS];
    int hit = 0;
    pthread_mutex_lock(&cache_mutex);
    if (slot->expires_ms > now && memcmp(slot->hash, hash, FG_SHA256_LEN) == 0) {
        *scope = slot->scope;
        call->merchant_id = slot->merchant_id;
        memcpy(call->merchant_public_id, slot->merchant_public_id, FG_ID_CAP);
        hit = 1;
    }
    pthread_mutex_unlock(&cache_mutex);
    return hit;
}

static void cache_put(const uint8_t *hash, const fg_call_t *call, scope_t scope, int64_t now)
{
    if (call->cfg->auth_cache_ms <= 0)
        return;
    auth_slot_t *slot = &cache[(hash[0] | hash[1] << 8) % AUTH_CACHE_SLOTS];
    pthread_mutex_lock(&cache_mutex);
    memcpy(slot->hash, hash, FG_SHA256_LEN);
    slot->scope = scope;
    slot->merchant_id = call->merchant_id;
    memcpy(slot->merchant_public_id, call->merchant_public_id, FG_ID_CAP);
    slot->expires_ms = now + call->cfg->auth_cache_ms;
    pthread_mutex_unlock(&cache_mutex);
}

static int unauthorized(fg_call_t *call, const char *code, const char *message)
{
    fg_call_error(call, 401, "authentication", code, message, NULL);
    return -1;
}

static int forbidden(fg_call_t *call, const char *message)
{
    fg_call_error(call, 403, "permission", "insufficient_scope", message, NULL);
    return -1;
}

/* The key of the Authorization header, or NULL after answering 401. */
static const char *bearer_key(fg_call_t *call)
{
    const char *h = call->authorization;
    if (h == NULL) {
        unauthorized(call, "missing_api_key", "send your API key as \"Authorization: Bearer <key>\"");
        return NULL;
    }
    size_t len = strlen(h);
    if (len < 8 || len > AUTH_HEADER_MAX || strncasecmp(h, "Bearer ", 7) != 0) {
        unauthorized(call, "invalid_api_key", "the Authorization header is not \"Bearer <key>\"");
        return NULL;
    }
    const char *key = h + 7;
    while (*key == ' ')
        key++;
    return key;
}

/* Looks the key up (cache, then database): 0 with its scope and, for a
 * merchant's key, the merchant on call; 1 when it is no live key; or a
 * database code.  Answers nothing. */
static int key_find(fg_call_t *call, fg_db_t *db, const char *key, scope_t *scope)
{
    uint8_t hash[FG_SHA256_LEN];
    fg_sha256(key, strlen(key), hash);
    int64_t now = fg_now_ms();
    if (cache_get(hash, call, scope, now))
        return 0;

    fg_stmt_t s;
    int64_t id = 0, is_export = 0;
    fg_buf_t public_id = FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_KEY);
    if (rc == 0) {
        fg_stmt_blob(&s, hash, sizeof(hash));
        fg_stmt_out_int(&s, &is_export, NULL);
        fg_stmt_out_int(&s, &id, NULL);
        fg_stmt_out_text(&s, &public_id, NULL);
        rc = fg_stmt_exec(&s);
    }
    if (rc == 0) {
        rc = fg_stmt_fetch(&s);
        fg_stmt_done(&s);
    }
    fg_db_end(db);
    if (rc < 0) {
        fg_buf_free(&public_id);
        return rc;
    }
    if (rc == 0 || public_id.len >= FG_ID_CAP || (!is_export && public_id.len == 0)) {
        fg_buf_free(&public_id);
        return 1;
    }
    *scope = is_export ? SCOPE_EXPORT : SCOPE_MERCHANT;
    call->merchant_id = (uint64_t)id;
    memcpy(call->merchant_public_id, public_id.data, public_id.len + 1);
    fg_buf_free(&public_id);
    cache_put(hash, call, *scope, now);
    return 0;
}

/* key_find, answering: 0 with its scope (and merchant) on call, or -1 after
 * answering 401 (no live key) or the database's error. */
static int key_lookup(fg_call_t *call, fg_db_t *db, const char *key, scope_t *scope)
{
    int rc = key_find(call, db, key, scope);
    if (rc < 0) {
        fg_call_db_error(call, db, rc);
        return -1;
    }
    return rc == 0 ? 0 : unauthorized(call, "invalid_api_key", "the API key is not valid");
}

/* A staff token on a route that takes an API key (a merchant's, or the
 * change feed's export key): a live one is the wrong kind of credential
 * (403 code, message, as an API key on a staff route is 403 staff_only),
 * anything else is no credential (401, saying what the route takes).
 * Always -1, answered. */
static int staff_token_on_key_route(fg_call_t *call, fg_db_t *db, const char *token, const char *takes,
                                    const char *code, const char *message)
{
    uint8_t hash[FG_SHA256_LEN];
    fg_staff_t staff;
    char why[200];
    fg_sha256(token, strlen(token), hash);
    int rc = fg_staff_token_lookup(db, hash, fg_now_ms(), call->cfg->auth_cache_ms, &staff);
    if (rc < 0) {
        fg_call_db_error(call, db, rc);
        return -1;
    }
    if (rc == 0) {
        snprintf(why, sizeof(why), "the staff token is not valid, has expired or was revoked; this route takes %s",
                 takes);
        return unauthorized(call, "invalid_api_key", why);
    }
    fg_call_error(call, 403, "permission", code, message, NULL);
    return -1;
}

int fg_auth_merchant(fg_call_t *call, fg_db_t *db)
{
    scope_t scope;
    const char *key = bearer_key(call);
    if (key == NULL)
        return -1;
    if (strncmp(key, FG_STAFF_TOKEN_PREFIX, sizeof(FG_STAFF_TOKEN_PREFIX) - 1) == 0)
        return staff_token_on_key_route(call, db, key, "a merchant's API key", "merchant_only",
                                        "this route is for merchants' API keys; a staff token cannot use it (staff "
                                        "read merchants' data through the staff routes)");
    if (key_lookup(call, db, key, &scope) != 0)
        return -1;
    if (scope != SCOPE_MERCHANT) {
        call->merchant_id = 0;
        call->merchant_public_id[0] = '\0';
        return forbidden(call, "an export key reads the change feed (/v1/exports/changes) and nothing else");
    }
    return 0;
}

int fg_auth_export(fg_call_t *call, fg_db_t *db)
{
    scope_t scope;
    const char *key = bearer_key(call);
    if (key == NULL)
        return -1;
    if (strncmp(key, FG_STAFF_TOKEN_PREFIX, sizeof(FG_STAFF_TOKEN_PREFIX) - 1) == 0)
        return staff_token_on_key_route(call, db, key, "an export key", "insufficient_scope",
                                        "the change feed is read with an export key (feegate admin key create "
                                        "--scope export)");
    if (key_lookup(call, db, key, &scope) != 0)
        return -1;
    call->merchant_id = 0; /* an export key acts for no merchant */
    call->merchant_public_id[0] = '\0';
    if (scope != SCOPE_EXPORT)
        return forbidden(call, "a merchant's API key cannot read the change feed: it needs an export key");
    return 0;
}

/* ---- staff tokens ------------------------------------------------------------ */

int fg_staff_role_allows(fg_role_t role, fg_auth_t required)
{
    switch (required) {
    case FG_AUTH_MERCHANT_OR_STAFF:
        /* an accountant reads its merchant's rows, as that merchant's key would */
        return role == FG_ROLE_ACCOUNTANT || fg_staff_role_allows(role, FG_AUTH_STAFF_READ);
    case FG_AUTH_STAFF_READ: return role == FG_ROLE_AUDITOR || role == FG_ROLE_FINANCE || role == FG_ROLE_ADMIN;
    case FG_AUTH_STAFF_WRITE: return role == FG_ROLE_FINANCE || role == FG_ROLE_ADMIN;
    case FG_AUTH_STAFF_ADMIN: return role == FG_ROLE_ADMIN;
    default: return 0;
    }
}

static int deny(fg_call_t *call, int status, const char *code, const char *message)
{
    fg_call_error(call, status, status == 401 ? "authentication" : "permission", code, message, NULL);
    return -1;
}

static const char *role_needed(fg_auth_t required)
{
    switch (required) {
    case FG_AUTH_STAFF_READ: return "this route needs a staff role (auditor, finance or admin)";
    case FG_AUTH_STAFF_WRITE: return "this route needs the finance or admin role";
    default: return "this route needs the admin role";
    }
}

/* An API key on a staff route: a live one (a merchant's or an export key) is
 * the wrong kind of credential, 403 staff_only, as a live staff token on a
 * merchant route is 403 merchant_only; a made-up or revoked one is no
 * credential, 401.  Always -1, answered. */
static int api_key_on_staff_route(fg_call_t *call, fg_db_t *db, const char *key)
{
    scope_t scope;
    int rc = key_find(call, db, key, &scope);
    call->merchant_id = 0; /* a key acts for no one on a staff route */
    call->merchant_public_id[0] = '\0';
    if (rc < 0) {
        fg_call_db_error(call, db, rc);
        return -1;
    }
    if (rc != 0)
        return deny(call, 401, "invalid_token",
                    "the API key is not valid, and this route takes a staff token in any case");
    return deny(call, 403, "staff_only", "this route is for staff; merchant API keys cannot use it");
}

int fg_auth_bears_staff_token(const fg_call_t *call)
{
    const char *h = call->authorization;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    return strncmp(h, FG_STAFF_TOKEN_PREFIX, sizeof(FG_STAFF_TOKEN_PREFIX) - 1) == 0;
}

int fg_auth_staff(fg_call_t *call, fg_db_t *db)
{
    static const size_t PREFIX_LEN = sizeof(FG_STAFF_TOKEN_PREFIX) - 1;
    const char *h = call->authorization;
    if (h == NULL)
        return deny(call, 401, "missing_token", "send a staff token as \"Authorization: Bearer <token>\"");
    if (strnlen(h, AUTH_HEADER_MAX + 1) > AUTH_HEADER_MAX || strncasecmp(h, "Bearer ", 7) != 0)
        return deny(call, 401, "invalid_token", "the Authorization header is not \"Bearer <token>\"");
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    if (strncmp(token, "fg_live_", 8) == 0)
        return api_key_on_staff_route(call, db, token);
    /* Anything without our prefix cannot be a token: no query needed. */
    if (strncmp(token, FG_STAFF_TOKEN_PREFIX, PREFIX_LEN) != 0)
        return deny(call, 401, "invalid_token", "the staff token is not valid");
    uint8_t hash[FG_SHA256_LEN];
    fg_sha256(token, strlen(token), hash);
    fg_staff_t staff;
    int rc = fg_staff_token_lookup(db, hash, fg_now_ms(), call->cfg->auth_cache_ms, &staff);
    if (rc < 0) {
        fg_call_db_error(call, db, rc);
        return -1;
    }
    if (rc == 0)
        return deny(call, 401, "invalid_token", "the staff token is not valid, has expired or was revoked");
    if (!fg_staff_role_allows(staff.role, call->route->auth))
        return deny(call, 403, "insufficient_role", role_needed(call->route->auth));
    if (staff.merchant_id != 0 && call->route->auth != FG_AUTH_MERCHANT_OR_STAFF)
        return deny(call, 403, "merchant_scoped_staff",
                    "this staff account is scoped to one merchant: it reads that merchant's reports only");
    call->staff_id = staff.id;
    call->staff_role = staff.role;
    /* a scoped account acts for its merchant, as that merchant's key would */
    call->merchant_id = staff.merchant_id;
    memcpy(call->merchant_public_id, staff.merchant_public_id, sizeof(call->merchant_public_id));
    memcpy(call->staff_email, staff.email, strlen(staff.email) + 1);
    return 0;
}
