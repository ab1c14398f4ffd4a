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

typedef struct {
    const char *name;
    char *id;
    char *api_key;
} create_t;

static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    fg_stmt_t s;
    uint8_t random[FG_API_KEY_RANDOM_BYTES], hash[FG_SHA256_LEN];
    int64_t now = fg_now_ms();
    int rc;
    if (fg_id_new("mer_", c->id, FG_ID_CAP) < 0 || fg_random_bytes(random, sizeof(random)) != 0)
        return FG_EIO;
    strcpy(c->api_key, "fg_live_");
    fg_base64url_encode(random, sizeof(random), c->api_key + 8);
    fg_sha256(c->api_key, strlen(c->api_key), hash);
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
    fg_stmt_str(&s, c->api_key, 12);
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
