/*
 * staff.c - roles, e-mail addresses, the audit log, and the lookup of staff
 * bearer tokens (the server's authenticator, fg_auth_staff in http/auth.c,
 * asks it).
 *
 * Tokens are looked up by SHA-256, joined to their user for the role and the
 * disabled flag.  Like the merchant-key authenticator (http/auth.c), a small
 * in-process cache spares the round trip on every request: a revoked token
 * or a disabled user stops working within the cache time the caller gives
 * (auth.cache_ms).
 */
#include "staff/staff.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "core/crypto.h"
#include "core/text.h"

/* Cache slots, direct-mapped by hash: staff are a few dozen people, and a
 * miss costs only one indexed query. */
#define TOKEN_CACHE_SLOTS 256

/* ---- roles ----------------------------------------------------------------- */

fg_role_t fg_staff_role_parse(const char *name)
{
    if (name == NULL)
        return FG_ROLE_NONE;
    if (strcmp(name, "finance") == 0)
        return FG_ROLE_FINANCE;
    if (strcmp(name, "auditor") == 0)
        return FG_ROLE_AUDITOR;
    if (strcmp(name, "admin") == 0)
        return FG_ROLE_ADMIN;
    if (strcmp(name, "accountant") == 0)
        return FG_ROLE_ACCOUNTANT;
    return FG_ROLE_NONE;
}

const char *fg_staff_role_name(fg_role_t role)
{
    switch (role) {
    case FG_ROLE_FINANCE: return "finance";
    case FG_ROLE_AUDITOR: return "auditor";
    case FG_ROLE_ADMIN: return "admin";
    case FG_ROLE_ACCOUNTANT: return "accountant";
    default: return "none";
    }
}

/* ---- e-mail addresses ------------------------------------------------------ */

int fg_staff_email_valid(const char *email)
{
    if (email == NULL)
        return 0;
    size_t n = strnlen(email, FG_STAFF_EMAIL_MAX + 1);
    if (n < FG_STAFF_EMAIL_MIN || n > FG_STAFF_EMAIL_MAX || !fg_utf8_valid(email, n))
        return 0;
    const char *at = strchr(email, '@');
    if (at == NULL || at == email || at == email + n - 1 || strchr(at + 1, '@') != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)email[i];
        if (c <= ' ' || c == 0x7f)
            return 0;
    }
    return 1;
}

int fg_staff_email_normalize(const char *email, char *out, size_t cap)
{
    if (!fg_staff_email_valid(email))
        return FG_EINVALID;
    size_t n = strlen(email);
    if (n >= cap)
        return FG_EINVALID;
    /* ASCII letters only: UTF-8 bytes are >= 0x80 and left as they are. */
    for (size_t i = 0; i <= n; i++)
        out[i] = email[i] >= 'A' && email[i] <= 'Z' ? (char)(email[i] - 'A' + 'a') : email[i];
    return 0;
}

/* ---- the audit log --------------------------------------------------------- */

static const char SQL_AUDIT[] =
    "INSERT INTO audit_log (actor, action, object, before_json, after_json, created_at) VALUES (?, ?, ?, ?, ?, ?)";

int fg_audit_log(fg_db_t *db, const char *actor, const char *action, const char *object, const char *before_json,
                 const char *after_json)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_AUDIT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, actor);
    fg_stmt_cstr(&s, action);
    fg_stmt_cstr(&s, object);
    fg_stmt_cstr(&s, before_json);
    fg_stmt_cstr(&s, after_json);
    fg_stmt_int(&s, fg_now_ms());
    return fg_stmt_exec(&s);
}

/* ---- token authentication -------------------------------------------------- */

typedef struct {
    uint8_t hash[FG_SHA256_LEN];
    fg_staff_t staff;
    int64_t expires_ms; /* the cache TTL, or the token's own expiry if sooner */
} token_slot_t;

static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static token_slot_t cache[TOKEN_CACHE_SLOTS];

static token_slot_t *cache_slot(const uint8_t *hash) { return &cache[(hash[0] | hash[1] << 8) % TOKEN_CACHE_SLOTS]; }

static int cache_get(const uint8_t *hash, fg_staff_t *out, int64_t now)
{
    token_slot_t *slot = cache_slot(hash);
    int hit = 0;
    pthread_mutex_lock(&cache_mutex);
    if (slot->expires_ms > now && memcmp(slot->hash, hash, FG_SHA256_LEN) == 0) {
        *out = slot->staff;
        hit = 1;
    }
    pthread_mutex_unlock(&cache_mutex);
    return hit;
}

static void cache_put(const uint8_t *hash, const fg_staff_t *staff, int64_t until, int64_t token_expires_ms)
{
    token_slot_t *slot = cache_slot(hash);
    pthread_mutex_lock(&cache_mutex);
    memcpy(slot->hash, hash, FG_SHA256_LEN);
    slot->staff = *staff;
    slot->expires_ms = token_expires_ms < until ? token_expires_ms : until;
    pthread_mutex_unlock(&cache_mutex);
}

static const char SQL_TOKEN[] =
    "SELECT u.id, u.role, u.email, t.expires_at, COALESCE(u.merchant_id, 0), COALESCE(m.public_id, '') "
    "FROM staff_tokens t JOIN staff_users u ON u.id = t.user_id LEFT JOIN merchants m ON m.id = u.merchant_id "
    "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND u.disabled_at IS NULL";

int fg_staff_token_lookup(fg_db_t *db, const uint8_t hash[FG_SHA256_LEN], int64_t now, int64_t cache_ms,
                          fg_staff_t *staff)
{
    if (cache_get(hash, staff, now))
        return 1;
    fg_stmt_t s;
    int64_t id = 0, expires_ms = 0, merchant = 0;
    fg_buf_t role = FG_BUF_INIT, email = FG_BUF_INIT, merchant_public = FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_TOKEN);
    if (rc == 0) {
        fg_stmt_blob(&s, hash, FG_SHA256_LEN);
        fg_stmt_int(&s, now);
        fg_stmt_out_int(&s, &id, NULL);
        fg_stmt_out_text(&s, &role, NULL);
        fg_stmt_out_text(&s, &email, NULL);
        fg_stmt_out_int(&s, &expires_ms, NULL);
        fg_stmt_out_int(&s, &merchant, NULL);
        fg_stmt_out_text(&s, &merchant_public, NULL);
        rc = fg_stmt_exec(&s);
    }
    if (rc == 0) {
        rc = fg_stmt_fetch(&s);
        fg_stmt_done(&s);
    }
    fg_db_end(db);
    if (rc == 1 && email.len <= FG_STAFF_EMAIL_MAX && merchant_public.len < FG_ID_CAP) {
        staff->id = (uint64_t)id;
        staff->role = fg_staff_role_parse(role.data);
        memcpy(staff->email, email.data, email.len + 1);
        staff->merchant_id = (uint64_t)merchant;
        memcpy(staff->merchant_public_id, merchant_public.len > 0 ? merchant_public.data : "", merchant_public.len + 1);
        if (cache_ms > 0)
            cache_put(hash, staff, now + cache_ms, expires_ms);
    } else if (rc == 1) {
        rc = 0; /* longer than the column allows: cannot happen, refuse */
    }
    fg_buf_free(&role);
    fg_buf_free(&email);
    fg_buf_free(&merchant_public);
    return rc;
}
