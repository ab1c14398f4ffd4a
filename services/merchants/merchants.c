/*
 * merchants.c - merchant and API key creation.
 */
#include "merchants/merchants.h"

#include <string.h>
#include "core/crypto.h"
#include "core/text.h"

static const char SQL_MERCHANT[] = "INSERT INTO merchants (public_id, name, created_at) VALUES (?, ?, ?)";
static const char SQL_KEY[] =
    "INSERT INTO api_keys (merchant_id, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?)";
static const char SQL_EXPORT_KEY[] = "INSERT INTO api_keys (public_id, merchant_id, scope, key_hash, key_prefix, "
                                     "created_at) VALUES (?, NULL, 'export', ?, ?, ?)";
static const char SQL_REVOKE[] = "UPDATE api_keys SET revoked_at = ? WHERE public_id = ? AND revoked_at IS NULL";

/* The key's prefix kept in the clear, to recognise a key without its secret. */
#define KEY_PREFIX_KEPT 12

/* A new key "fg_live_" + base64url(32 random bytes) and its SHA-256. */
static int new_key(char api_key[FG_API_KEY_CAP], uint8_t hash[FG_SHA256_LEN])
{
    uint8_t random[FG_API_KEY_RANDOM_BYTES];
    if (fg_random_bytes(random, sizeof(random)) != 0)
        return FG_EIO;
    strcpy(api_key, "fg_live_");
    fg_base64url_encode(random, sizeof(random), api_key + 8);
    fg_sha256(api_key, strlen(api_key), hash);
    return 0;
}

typedef struct {
    const char *name;
    char *id;
    char *api_key;
} create_t;

static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    fg_stmt_t s;
    uint8_t hash[FG_SHA256_LEN];
    int64_t now = fg_now_ms();
    int rc;
    if (fg_id_new("mer_", c->id, FG_ID_CAP) < 0 || new_key(c->api_key, hash) != 0)
        return FG_EIO;
    if ((rc = fg_stmt_init(&s, db, SQL_MERCHANT)) != 0)
        return rc;
    fg_stmt_cstr(&s, c->id);
    fg_stmt_cstr(&s, c->name);
    fg_stmt_int(&s, now);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    int64_t merchant_id = (int64_t)fg_stmt_insert_id(&s);
    if ((rc = fg_stmt_init(&s, db, SQL_KEY)) != 0)
        return rc;
    fg_stmt_int(&s, merchant_id);
    fg_stmt_blob(&s, hash, sizeof(hash));
    fg_stmt_str(&s, c->api_key, KEY_PREFIX_KEPT);
    fg_stmt_int(&s, now);
    return fg_stmt_exec(&s);
}

int fg_merchant_create(fg_db_t *db, const char *name, char id[FG_ID_CAP], char api_key[FG_API_KEY_CAP])
{
    size_t len = strlen(name);
    if (len == 0 || !fg_utf8_valid(name, len) || fg_utf8_length(name, len) > FG_MERCHANT_NAME_MAX)
        return FG_EINVALID;
    create_t c = {name, id, api_key};
    return fg_db_tx(db, create_tx, &c);
}

/* ---- export keys ---------------------------------------------------------------------- */

typedef struct {
    char *id;
    char *api_key;
} export_key_t;

static int export_key_tx(fg_db_t *db, void *arg)
{
    export_key_t *k = arg;
    fg_stmt_t s;
    uint8_t hash[FG_SHA256_LEN];
    if (fg_id_new("key_", k->id, FG_ID_CAP) < 0 || new_key(k->api_key, hash) != 0)
        return FG_EIO;
    int rc = fg_stmt_init(&s, db, SQL_EXPORT_KEY);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, k->id);
    fg_stmt_blob(&s, hash, sizeof(hash));
    fg_stmt_str(&s, k->api_key, KEY_PREFIX_KEPT);
    fg_stmt_int(&s, fg_now_ms());
    return fg_stmt_exec(&s);
}

int fg_api_key_create_export(fg_db_t *db, char id[FG_ID_CAP], char api_key[FG_API_KEY_CAP])
{
    export_key_t k = {id, api_key};
    return fg_db_tx(db, export_key_tx, &k);
}

typedef struct {
    const char *id;
    uint64_t revoked;
} revoke_t;

static int revoke_tx(fg_db_t *db, void *arg)
{
    revoke_t *r = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_REVOKE);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, fg_now_ms());
    fg_stmt_cstr(&s, r->id);
    if ((rc = fg_stmt_exec(&s)) == 0)
        r->revoked = fg_stmt_affected(&s);
    return rc;
}

int fg_api_key_revoke(fg_db_t *db, const char *id)
{
    revoke_t r = {id, 0};
    if (!fg_id_valid("key_", id, strlen(id)))
        return FG_ENOTFOUND;
    int rc = fg_db_tx(db, revoke_tx, &r);
    return rc != 0 ? rc : r.revoked == 1 ? 0 : FG_ENOTFOUND;
}
