/*
 * staff.c - passwords (scrypt), roles, staff tokens, the audit log, and the
 * admin CLI commands.
 */
#include "staff/staff.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/crypto.h"
#include "core/ids.h"
#include "core/text.h"
#include "http/server_internal.h"

#define SALT_BYTES 16
#define KEY_BYTES 32
#define TOKEN_RANDOM_BYTES 32
#define TOKEN_TTL_HOURS_DEFAULT 720
#define TOKEN_TTL_HOURS_MAX 8760
/* Verified tokens are trusted this long without a query; a revoked token
 * stops working within it. */
#define TOKEN_CACHE_TTL_MS 10000
#define TOKEN_CACHE_SLOTS 256
#define EXIT_USAGE 2

/* ---- passwords ----------------------------------------------------------- */

static int scrypt(const char *password, const uint8_t *salt, size_t salt_len, int log2_n, uint8_t *key)
{
    return EVP_PBE_scrypt(password, strlen(password), salt, salt_len, (uint64_t)1 << log2_n, 8, 1,
                          (uint64_t)1 << 26, key, KEY_BYTES) == 1 ? 0 : FG_EIO;
}

int fg_password_hash(const char *password, int log2_n, char *out, size_t cap)
{
    uint8_t salt[SALT_BYTES], key[KEY_BYTES];
    char salt64[32], key64[64];
    if (fg_random_bytes(salt, sizeof(salt)) != 0 || scrypt(password, salt, sizeof(salt), log2_n, key) != 0)
        return FG_EIO;
    fg_base64url_encode(salt, sizeof(salt), salt64);
    fg_base64url_encode(key, sizeof(key), key64);
    return snprintf(out, cap, "scrypt$%d$8$1$%s$%s", log2_n, salt64, key64) < (int)cap ? 0 : FG_ETOOLONG;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Decodes unpadded base64url; returns the byte count or -1. */
static int b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return (int)n;
}

int fg_password_verify(const char *password, const char *stored)
{
    int log2_n, r, p;
    char salt64[64], key64[128];
    uint8_t salt[48], expected[KEY_BYTES + 8], key[KEY_BYTES];
    if (sscanf(stored, "scrypt$%d$%d$%d$%63[A-Za-z0-9_-]$%127[A-Za-z0-9_-]", &log2_n, &r, &p, salt64, key64) != 5 ||
        log2_n < 1 || log2_n > 20 || r != 8 || p != 1)
        return 0;
    int salt_len = b64url_decode(salt64, strlen(salt64), salt, sizeof(salt));
    int key_len = b64url_decode(key64, strlen(key64), expected, sizeof(expected));
    if (salt_len < 8 || key_len != KEY_BYTES || scrypt(password, salt, (size_t)salt_len, log2_n, key) != 0)
        return 0;
    return fg_secure_equal(key, KEY_BYTES, expected, KEY_BYTES);
}

/* ---- roles --------------------------------------------------------------- */

fg_role_t fg_staff_role_parse(const char *name)
{
    if (strcmp(name, "finance") == 0) return FG_ROLE_FINANCE;
    if (strcmp(name, "auditor") == 0) return FG_ROLE_AUDITOR;
    if (strcmp(name, "admin") == 0) return FG_ROLE_ADMIN;
    return FG_ROLE_NONE;
}

int fg_staff_role_allows(fg_role_t role, fg_auth_t required)
{
    switch (required) {
    case FG_AUTH_STAFF_READ: return role == FG_ROLE_AUDITOR || role == FG_ROLE_FINANCE || role == FG_ROLE_ADMIN;
    case FG_AUTH_STAFF_WRITE: return role == FG_ROLE_FINANCE || role == FG_ROLE_ADMIN;
    case FG_AUTH_STAFF_ADMIN: return role == FG_ROLE_ADMIN;
    default: return 0;
    }
}

int fg_staff_email_valid(const char *email)
{
    size_t n = strlen(email);
    const char *at = strchr(email, '@');
    if (n < 3 || n > 254 || at == NULL || at == email || at == email + n - 1 || strchr(at + 1, '@') != NULL)
        return 0;
    for (const char *p = email; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* ---- audit --------------------------------------------------------------- */

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

/* ---- authentication ------------------------------------------------------ */

typedef struct {
    uint8_t hash[FG_SHA256_LEN];
    uint64_t id;
    fg_role_t role;
    char email[256];
    int64_t expires_ms;
} token_slot_t;

static pthread_mutex_t token_mutex = PTHREAD_MUTEX_INITIALIZER;
static token_slot_t token_cache[TOKEN_CACHE_SLOTS];

static const char SQL_TOKEN[] =
    "SELECT u.id, u.role, u.email FROM staff_tokens t JOIN staff_users u ON u.id = t.user_id "
    "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND u.disabled_at IS NULL";

static int deny(fg_call_t *call, int status, const char *code, const char *message)
{
    fg_call_error(call, status, status == 401 ? "authentication" : "permission", code, message, NULL);
    return -1;
}

static int lookup_token(fg_call_t *call, fg_db_t *db, const uint8_t *hash, int64_t now)
{
    token_slot_t *slot = &token_cache[hash[0] % TOKEN_CACHE_SLOTS];
    pthread_mutex_lock(&token_mutex);
    int hit = slot->expires_ms > now && memcmp(slot->hash, hash, FG_SHA256_LEN) == 0;
    if (hit) {
        call->staff_id = slot->id;
        call->staff_role = slot->role;
        snprintf(call->staff_email, sizeof(call->staff_email), "%s", slot->email);
    }
    pthread_mutex_unlock(&token_mutex);
    if (hit)
        return 1;
    fg_stmt_t s;
    int64_t id = 0;
    fg_buf_t role = FG_BUF_INIT, email = FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_TOKEN);
    if (rc == 0) {
        fg_stmt_blob(&s, hash, FG_SHA256_LEN);
        fg_stmt_int(&s, now);
        fg_stmt_out_int(&s, &id, NULL);
        fg_stmt_out_text(&s, &role, NULL);
        fg_stmt_out_text(&s, &email, NULL);
        if ((rc = fg_stmt_exec(&s)) == 0) {
            rc = fg_stmt_fetch(&s);
            fg_stmt_done(&s);
        }
    }
    fg_db_end(db);
    if (rc == 1) {
        call->staff_id = (uint64_t)id;
        call->staff_role = fg_staff_role_parse(role.data);
        snprintf(call->staff_email, sizeof(call->staff_email), "%s", email.data);
        pthread_mutex_lock(&token_mutex);
        memcpy(slot->hash, hash, FG_SHA256_LEN);
        slot->id = call->staff_id;
        slot->role = call->staff_role;
        memcpy(slot->email, call->staff_email, sizeof(slot->email));
        slot->expires_ms = now + TOKEN_CACHE_TTL_MS;
        pthread_mutex_unlock(&token_mutex);
    }
    fg_buf_free(&role);
    fg_buf_free(&email);
    return rc;
}

int fg_auth_staff(fg_call_t *call, fg_db_t *db)
{
    const char *h = call->authorization;
    if (h == NULL)
        return deny(call, 401, "missing_token", "send a staff token as \"Authorization: Bearer <token>\"");
    if (strncasecmp(h, "Bearer ", 7) != 0 || strlen(h) > 512)
        return deny(call, 401, "invalid_token", "the Authorization header is not \"Bearer <token>\"");
    const char *token = h + 7;
    if (strncmp(token, "fg_live_", 8) == 0)
        return deny(call, 403, "staff_only", "this route is for staff; merchant API keys cannot use it");
    uint8_t hash[FG_SHA256_LEN];
    fg_sha256(token, strlen(token), hash);
    int rc = lookup_token(call, db, hash, fg_now_ms());
    if (rc < 0) {
        fg_call_db_error(call, db, rc);
        return -1;
    }
    if (rc == 0)
        return deny(call, 401, "invalid_token", "the staff token is not valid");
    if (!fg_staff_role_allows(call->staff_role, call->route->auth))
        return deny(call, 403, "insufficient_role", "your role may not use this route");
    return 0;
}

/* ---- CLI ----------------------------------------------------------------- */

static const char *option(int argc, char **argv, const char *name)
{
    for (int i = 4; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static int open_db(const fg_config_t *cfg, fg_db_t **db)
{
    char err[512];
    if (fg_db_open(db, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "feegate: %s\n", err);
        return 1;
    }
    return 0;
}

typedef struct {
    const char *email, *role, *hash;
    char id[FG_ID_CAP];
} user_t;

static const char SQL_USER[] =
    "INSERT INTO staff_users (public_id, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)";

static int user_tx(fg_db_t *db, void *arg)
{
    user_t *u = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_USER);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, u->id);
    fg_stmt_cstr(&s, u->email);
    fg_stmt_cstr(&s, u->role);
    fg_stmt_cstr(&s, u->hash);
    fg_stmt_int(&s, fg_now_ms());
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    fg_buf_t after = FG_BUF_INIT;
    fg_buf_putc(&after, '{');
    fg_json_kv_str(&after, 0, "id", u->id);
    fg_json_kv_str(&after, 1, "email", u->email);
    fg_json_kv_str(&after, 1, "role", u->role);
    fg_buf_putc(&after, '}');
    rc = fg_audit_log(db, "cli", "staff_user.create", u->id, NULL, after.data);
    fg_buf_free(&after);
    return rc;
}

int fg_staff_cli_user_create(const fg_config_t *cfg, int argc, char **argv)
{
    const char *email = option(argc, argv, "--email"), *role = option(argc, argv, "--role");
    char password[FG_PASSWORD_MAX + 2], lower[256], hash[256];
    if (email == NULL || role == NULL || fg_staff_role_parse(role) == FG_ROLE_NONE) {
        fprintf(stderr, "feegate: usage: admin user create --email E --role finance|auditor|admin "
                        "(password on stdin)\n");
        return EXIT_USAGE;
    }
    if (!fg_staff_email_valid(email)) {
        fprintf(stderr, "feegate: --email is not a valid e-mail address\n");
        return EXIT_USAGE;
    }
    if (fgets(password, sizeof(password), stdin) == NULL)
        password[0] = '\0';
    password[strcspn(password, "\r\n")] = '\0';
    if (strlen(password) < FG_PASSWORD_MIN || strlen(password) > FG_PASSWORD_MAX) {
        fprintf(stderr, "feegate: the password (first line of stdin) must be %d to %d bytes\n", FG_PASSWORD_MIN,
                FG_PASSWORD_MAX);
        return EXIT_USAGE;
    }
    size_t n = strlen(email);
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)email[i]);
    user_t u = {lower, role, hash, ""};
    if (fg_password_hash(password, FG_SCRYPT_LOG2_N, hash, sizeof(hash)) != 0 || fg_id_new("usr_", u.id, sizeof(u.id)) < 0) {
        fprintf(stderr, "feegate: cannot hash the password\n");
        return 1;
    }
    memset(password, 0, sizeof(password));
    fg_db_t *db = NULL;
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        int err = fg_db_tx(db, user_tx, &u);
        if (err == FG_ECONFLICT) {
            fprintf(stderr, "feegate: a staff user with this email already exists\n");
            rc = 1;
        } else if (err != 0) {
            fprintf(stderr, "feegate: cannot create the user: %s\n", fg_db_error(db));
            rc = 1;
        } else {
            printf("{\"id\":\"%s\"}\n", u.id);
        }
    }
    fg_db_close(db);
    return rc;
}

typedef struct {
    const char *email;
    int64_t ttl_ms;
    char token[96];
    int found;
} token_t;

static const char SQL_USER_BY_EMAIL[] =
    "SELECT id, public_id FROM staff_users WHERE email = ? AND disabled_at IS NULL";
static const char SQL_TOKEN_ADD[] =
    "INSERT INTO staff_tokens (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)";

static int token_tx(fg_db_t *db, void *arg)
{
    token_t *t = arg;
    fg_stmt_t s;
    int64_t user_id = 0;
    fg_buf_t public_id = FG_BUF_INIT;
    uint8_t random[TOKEN_RANDOM_BYTES], hash[FG_SHA256_LEN];
    int64_t now = fg_now_ms();
    int rc = fg_stmt_init(&s, db, SQL_USER_BY_EMAIL);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, t->email);
    fg_stmt_out_int(&s, &user_id, NULL);
    fg_stmt_out_text(&s, &public_id, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    t->found = rc == 1;
    if (rc != 1) {
        rc = rc < 0 ? rc : 1;
        goto Exit;
    }
    if (fg_random_bytes(random, sizeof(random)) != 0) {
        rc = FG_EIO;
        goto Exit;
    }
    strcpy(t->token, "fg_staff_");
    fg_base64url_encode(random, sizeof(random), t->token + 9);
    fg_sha256(t->token, strlen(t->token), hash);
    if ((rc = fg_stmt_init(&s, db, SQL_TOKEN_ADD)) != 0)
        goto Exit;
    fg_stmt_int(&s, user_id);
    fg_stmt_blob(&s, hash, sizeof(hash));
    fg_stmt_int(&s, now);
    fg_stmt_int(&s, now + t->ttl_ms);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    rc = fg_audit_log(db, "cli", "staff_token.create", public_id.data, NULL, NULL);
Exit:
    fg_buf_free(&public_id);
    return rc;
}

int fg_staff_cli_token_create(const fg_config_t *cfg, int argc, char **argv)
{
    const char *email = option(argc, argv, "--email"), *ttl = option(argc, argv, "--ttl-hours");
    char lower[256];
    long hours = ttl != NULL ? strtol(ttl, NULL, 10) : TOKEN_TTL_HOURS_DEFAULT;
    if (email == NULL || strlen(email) >= sizeof(lower) || hours < 1 || hours > TOKEN_TTL_HOURS_MAX) {
        fprintf(stderr, "feegate: usage: admin token create --email E [--ttl-hours 1..8760]\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i <= strlen(email); i++)
        lower[i] = (char)tolower((unsigned char)email[i]);
    token_t t = {lower, (int64_t)hours * 3600 * 1000, "", 0};
    fg_db_t *db = NULL;
    int rc = open_db(cfg, &db);
    if (rc == 0) {
        int err = fg_db_tx(db, token_tx, &t);
        if (err == 1 && !t.found) {
            fprintf(stderr, "feegate: no active staff user has this email\n");
            rc = 1;
        } else if (err != 0) {
            fprintf(stderr, "feegate: cannot create the token: %s\n", fg_db_error(db));
            rc = 1;
        } else {
            printf("{\"token\":\"%s\"}\n", t.token);
        }
    }
    fg_db_close(db);
    return rc;
}
