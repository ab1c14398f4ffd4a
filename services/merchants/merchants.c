/*
 * merchants.c - merchants and their API keys: creating, listing, rotating
 * and revoking.  Every write is one transaction; the staff pages' and the
 * CLI's writes carry an audit row in the same transaction.
 */
#include "merchants/merchants.h"

#include <string.h>
#include "core/crypto.h"
#include "core/text.h"
#include "staff/staff.h"

static const char SQL_MERCHANT[] = "INSERT INTO merchants (public_id, name, created_at) VALUES (?, ?, ?)";
static const char SQL_KEY[] = "INSERT INTO api_keys (public_id, merchant_id, scope, key_hash, key_prefix, created_at) "
                              "VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_REVOKE[] = "UPDATE api_keys SET revoked_at = ? WHERE public_id = ? AND revoked_at IS NULL";
static const char SQL_KEY_LOCK[] = "SELECT COALESCE(k.merchant_id, 0), k.scope = 'export', COALESCE(m.public_id, '') "
                                   "FROM api_keys k LEFT JOIN merchants m ON m.id = k.merchant_id "
                                   "WHERE k.public_id = ? AND k.revoked_at IS NULL FOR UPDATE";
#define MERCHANT_COLUMNS                                                                                               \
    "SELECT id, public_id, name, created_at, COALESCE(payout_bank_bin, ''), COALESCE(payout_account_no, ''), "         \
    "COALESCE(payout_account_name, '') FROM merchants "
static const char SQL_MERCHANTS[] = MERCHANT_COLUMNS "ORDER BY name, id LIMIT ?";
static const char SQL_MERCHANT_FIND[] = MERCHANT_COLUMNS "WHERE public_id = ? LIMIT ?";
static const char SQL_MERCHANT_LOCK[] = MERCHANT_COLUMNS "WHERE public_id = ? LIMIT ? FOR UPDATE";
static const char SQL_KEY_MERCHANT[] = "SELECT COALESCE(m.public_id, '') FROM api_keys k LEFT JOIN merchants m "
                                       "ON m.id = k.merchant_id WHERE k.public_id = ?";
static const char SQL_KEYS[] = "SELECT merchant_id, COALESCE(public_id, ''), key_prefix, created_at, "
                               "COALESCE(revoked_at, 0) FROM api_keys WHERE scope = 'merchant' "
                               "AND (? = 0 OR merchant_id = ?) ORDER BY merchant_id, id DESC LIMIT ?";

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
    explicit_bzero(random, sizeof(random));
    return 0;
}

/* Inserts a new key (its id and secret into id and api_key) of a merchant
 * (merchant_id > 0) or of scope export (merchant_id 0).  Inside the
 * caller's transaction. */
static int insert_key(fg_db_t *db, int64_t merchant_id, char id[FG_ID_CAP], char api_key[FG_API_KEY_CAP])
{
    fg_stmt_t s;
    uint8_t hash[FG_SHA256_LEN];
    if (fg_id_new("key_", id, FG_ID_CAP) < 0 || new_key(api_key, hash) != 0)
        return FG_EIO;
    int rc = fg_stmt_init(&s, db, SQL_KEY);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, id);
    if (merchant_id > 0)
        fg_stmt_int(&s, merchant_id);
    else
        fg_stmt_null(&s);
    fg_stmt_cstr(&s, merchant_id > 0 ? "merchant" : "export");
    fg_stmt_blob(&s, hash, sizeof(hash));
    fg_stmt_str(&s, api_key, KEY_PREFIX_KEPT);
    fg_stmt_int(&s, fg_now_ms());
    return fg_stmt_exec(&s);
}

/* An audit row of a key: {"merchant_id","key_id"[,"revoked_key_id"]}, never the secret. */
static int audit_key(fg_db_t *db, const char *actor, const char *action, const char *merchant, const char *key_id,
                     const char *revoked)
{
    if (actor == NULL)
        return 0;
    fg_buf_t after = FG_BUF_INIT;
    fg_buf_puts(&after, "{");
    fg_json_kv_str(&after, 0, "merchant_id", merchant != NULL && merchant[0] != '\0' ? merchant : NULL);
    fg_json_kv_str(&after, 1, "key_id", key_id);
    if (revoked != NULL)
        fg_json_kv_str(&after, 1, "revoked_key_id", revoked);
    fg_buf_puts(&after, "}");
    int rc = fg_audit_log(db, actor, action, key_id, NULL, after.data);
    fg_buf_free(&after);
    return rc;
}

/* ---- merchants ---------------------------------------------------------------------- */

typedef struct {
    const char *name, *actor;
    char *id;
    char key_id[FG_ID_CAP];
    char *api_key;
} create_t;

static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    fg_stmt_t s;
    int rc;
    if (fg_id_new("mer_", c->id, FG_ID_CAP) < 0)
        return FG_EIO;
    if ((rc = fg_stmt_init(&s, db, SQL_MERCHANT)) != 0)
        return rc;
    fg_stmt_cstr(&s, c->id);
    fg_stmt_cstr(&s, c->name);
    fg_stmt_int(&s, fg_now_ms());
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if ((rc = insert_key(db, (int64_t)fg_stmt_insert_id(&s), c->key_id, c->api_key)) != 0 || c->actor == NULL)
        return rc;
    fg_buf_t after = FG_BUF_INIT;
    fg_buf_puts(&after, "{");
    fg_json_kv_str(&after, 0, "name", c->name);
    fg_json_kv_str(&after, 1, "key_id", c->key_id);
    fg_buf_puts(&after, "}");
    rc = fg_audit_log(db, c->actor, "merchant.create", c->id, NULL, after.data);
    fg_buf_free(&after);
    return rc;
}

int fg_merchant_create(fg_db_t *db, const char *name, const char *actor, char id[FG_ID_CAP], char *key_id,
                       char api_key[FG_API_KEY_CAP])
{
    size_t len = strlen(name);
    if (len == 0 || !fg_utf8_valid(name, len) || fg_utf8_length(name, len) > FG_MERCHANT_NAME_MAX)
        return FG_EINVALID;
    create_t c = {.name = name, .actor = actor, .id = id, .api_key = api_key};
    int rc = fg_db_tx(db, create_tx, &c);
    if (rc == 0 && key_id != NULL)
        memcpy(key_id, c.key_id, FG_ID_CAP);
    return rc;
}

/* Binds a merchant row's columns (SQL_MERCHANT_COLUMNS) through bufs. */
typedef struct {
    int64_t id, created_at;
    fg_buf_t public_id, name, bin, account_no, account_name;
} merchant_out_t;

static void merchant_bind(fg_stmt_t *s, merchant_out_t *o)
{
    fg_stmt_out_int(s, &o->id, NULL);
    fg_stmt_out_text(s, &o->public_id, NULL);
    fg_stmt_out_text(s, &o->name, NULL);
    fg_stmt_out_int(s, &o->created_at, NULL);
    fg_stmt_out_text(s, &o->bin, NULL);
    fg_stmt_out_text(s, &o->account_no, NULL);
    fg_stmt_out_text(s, &o->account_name, NULL);
}

static void copy_text(char *dst, size_t cap, const fg_buf_t *b)
{
    size_t n = b->len < cap - 1 ? b->len : cap - 1;
    if (n > 0)
        memcpy(dst, b->data, n);
    dst[n] = '\0';
}

static void merchant_copy(fg_merchant_row_t *r, const merchant_out_t *o)
{
    memset(r, 0, sizeof(*r));
    r->id = (uint64_t)o->id;
    r->created_at = o->created_at;
    copy_text(r->public_id, sizeof(r->public_id), &o->public_id);
    copy_text(r->name, sizeof(r->name), &o->name);
    copy_text(r->payout_bin, sizeof(r->payout_bin), &o->bin);
    copy_text(r->payout_account_no, sizeof(r->payout_account_no), &o->account_no);
    copy_text(r->payout_account_name, sizeof(r->payout_account_name), &o->account_name);
}

static void merchant_out_free(merchant_out_t *o)
{
    fg_buf_free(&o->public_id);
    fg_buf_free(&o->name);
    fg_buf_free(&o->bin);
    fg_buf_free(&o->account_no);
    fg_buf_free(&o->account_name);
}

/* Runs one of the merchant SELECTs, with an optional public id bound. */
static int merchant_query(fg_db_t *db, const char *sql, const char *public_id, int cap, fg_merchant_row_t *rows,
                          int *count)
{
    fg_stmt_t s;
    merchant_out_t o;
    memset(&o, 0, sizeof(o));
    *count = 0;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc == 0) {
        if (public_id != NULL)
            fg_stmt_cstr(&s, public_id);
        fg_stmt_int(&s, cap);
        merchant_bind(&s, &o);
        rc = fg_stmt_exec(&s);
    }
    while (rc == 0 && (rc = fg_stmt_fetch(&s)) == 1) {
        rc = 0;
        if (*count < cap)
            merchant_copy(&rows[(*count)++], &o);
    }
    merchant_out_free(&o);
    return rc < 0 ? rc : 0;
}

int fg_merchant_list(fg_db_t *db, fg_merchant_row_t *rows, int cap, int *count)
{
    int rc = merchant_query(db, SQL_MERCHANTS, NULL, cap, rows, count);
    fg_db_end(db);
    return rc;
}

int fg_merchant_find(fg_db_t *db, const char *public_id, fg_merchant_row_t *out)
{
    int count = 0;
    if (!fg_id_valid("mer_", public_id, strlen(public_id)))
        return FG_ENOTFOUND;
    int rc = merchant_query(db, SQL_MERCHANT_FIND, public_id, 1, out, &count);
    fg_db_end(db);
    return rc != 0 ? rc : count == 1 ? 0 : FG_ENOTFOUND;
}

/* ---- keys ------------------------------------------------------------------------- */

int fg_api_key_list(fg_db_t *db, uint64_t merchant_id, fg_api_key_row_t *rows, int cap, int *count)
{
    fg_stmt_t s;
    int64_t merchant = 0, created = 0, revoked = 0;
    fg_buf_t id = FG_BUF_INIT, prefix = FG_BUF_INIT;
    *count = 0;
    int rc = fg_stmt_init(&s, db, SQL_KEYS);
    if (rc == 0) {
        fg_stmt_int(&s, (int64_t)merchant_id);
        fg_stmt_int(&s, (int64_t)merchant_id);
        fg_stmt_int(&s, cap);
        fg_stmt_out_int(&s, &merchant, NULL);
        fg_stmt_out_text(&s, &id, NULL);
        fg_stmt_out_text(&s, &prefix, NULL);
        fg_stmt_out_int(&s, &created, NULL);
        fg_stmt_out_int(&s, &revoked, NULL);
        rc = fg_stmt_exec(&s);
    }
    while (rc == 0 && (rc = fg_stmt_fetch(&s)) == 1) {
        rc = 0;
        if (*count >= cap)
            continue;
        fg_api_key_row_t *r = &rows[(*count)++];
        r->merchant_id = (uint64_t)merchant;
        copy_text(r->public_id, sizeof(r->public_id), &id);
        copy_text(r->prefix, sizeof(r->prefix), &prefix);
        r->created_at = created;
        r->revoked_at = revoked;
    }
    fg_db_end(db);
    fg_buf_free(&id);
    fg_buf_free(&prefix);
    return rc < 0 ? rc : 0;
}

int fg_api_key_merchant(fg_db_t *db, const char *id, char merchant[FG_ID_CAP])
{
    fg_stmt_t s;
    fg_buf_t public_id = FG_BUF_INIT;
    merchant[0] = '\0';
    int rc = fg_stmt_init(&s, db, SQL_KEY_MERCHANT);
    if (rc == 0) {
        fg_stmt_cstr(&s, id);
        fg_stmt_out_text(&s, &public_id, NULL);
        rc = fg_stmt_one(&s);
    }
    fg_db_end(db);
    if (rc == 0)
        copy_text(merchant, FG_ID_CAP, &public_id);
    fg_buf_free(&public_id);
    return rc;
}

typedef struct {
    const char *merchant, *actor;
    char *id, *api_key;
    int found;
} key_create_t;

static int key_create_tx(fg_db_t *db, void *arg)
{
    key_create_t *k = arg;
    fg_merchant_row_t m;
    int count = 0;
    int rc = merchant_query(db, SQL_MERCHANT_LOCK, k->merchant, 1, &m, &count);
    if (rc != 0)
        return rc;
    if ((k->found = count) == 0)
        return FG_ENOTFOUND;
    if ((rc = insert_key(db, (int64_t)m.id, k->id, k->api_key)) != 0)
        return rc;
    return audit_key(db, k->actor, "api_key.create", k->merchant, k->id, NULL);
}

int fg_api_key_create(fg_db_t *db, const char *merchant_id, const char *actor, char id[FG_ID_CAP],
                      char api_key[FG_API_KEY_CAP])
{
    key_create_t k = {merchant_id, actor, id, api_key, 0};
    if (!fg_id_valid("mer_", merchant_id, strlen(merchant_id)))
        return FG_ENOTFOUND;
    return fg_db_tx(db, key_create_tx, &k);
}

/* ---- export keys ---------------------------------------------------------------------- */

typedef struct {
    char *id;
    char *api_key;
} export_key_t;

static int export_key_tx(fg_db_t *db, void *arg)
{
    export_key_t *k = arg;
    return insert_key(db, 0, k->id, k->api_key);
}

int fg_api_key_create_export(fg_db_t *db, char id[FG_ID_CAP], char api_key[FG_API_KEY_CAP])
{
    export_key_t k = {id, api_key};
    return fg_db_tx(db, export_key_tx, &k);
}

/* ---- rotation and revocation ------------------------------------------------------------- */

/* Revokes the live key id; *revoked how many rows (0 or 1). */
static int revoke_key(fg_db_t *db, const char *id, uint64_t *revoked)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_REVOKE);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, fg_now_ms());
    fg_stmt_cstr(&s, id);
    if ((rc = fg_stmt_exec(&s)) == 0)
        *revoked = fg_stmt_affected(&s);
    return rc;
}

/* Locks the live key id: its merchant (0 for an export key) and the
 * merchant's public id.  0, FG_ENOTFOUND, or a database code. */
static int lock_key(fg_db_t *db, const char *id, int64_t *merchant, fg_buf_t *merchant_public_id)
{
    fg_stmt_t s;
    int64_t is_export = 0;
    int rc = fg_stmt_init(&s, db, SQL_KEY_LOCK);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, id);
    fg_stmt_out_int(&s, merchant, NULL);
    fg_stmt_out_int(&s, &is_export, NULL);
    fg_stmt_out_text(&s, merchant_public_id, NULL);
    rc = fg_stmt_one(&s);
    if (rc == 0 && !is_export && *merchant <= 0)
        return FG_ENOTFOUND;
    return rc;
}

typedef struct {
    const char *id, *actor;
    char *new_id, *api_key;
    uint64_t revoked;
} rotate_t;

static int rotate_tx(fg_db_t *db, void *arg)
{
    rotate_t *r = arg;
    int64_t merchant = 0;
    fg_buf_t merchant_public_id = FG_BUF_INIT;
    int rc = lock_key(db, r->id, &merchant, &merchant_public_id);
    if (rc == 0)
        rc = insert_key(db, merchant, r->new_id, r->api_key);
    if (rc == 0)
        rc = revoke_key(db, r->id, &r->revoked);
    if (rc == 0 && r->revoked != 1)
        rc = FG_ENOTFOUND;
    if (rc == 0)
        rc = audit_key(db, r->actor, "api_key.rotate", merchant_public_id.data, r->new_id, r->id);
    fg_buf_free(&merchant_public_id);
    return rc;
}

int fg_api_key_rotate(fg_db_t *db, const char *id, const char *actor, char new_id[FG_ID_CAP],
                      char api_key[FG_API_KEY_CAP])
{
    rotate_t r = {id, actor, new_id, api_key, 0};
    if (!fg_id_valid("key_", id, strlen(id)))
        return FG_ENOTFOUND;
    return fg_db_tx(db, rotate_tx, &r);
}

typedef struct {
    const char *id, *actor;
    uint64_t revoked;
} revoke_t;

static int revoke_tx(fg_db_t *db, void *arg)
{
    revoke_t *r = arg;
    int64_t merchant = 0;
    fg_buf_t merchant_public_id = FG_BUF_INIT;
    int rc = lock_key(db, r->id, &merchant, &merchant_public_id);
    if (rc == 0)
        rc = revoke_key(db, r->id, &r->revoked);
    if (rc == 0 && r->revoked == 1)
        rc = audit_key(db, r->actor, "api_key.revoke", merchant_public_id.data, r->id, NULL);
    fg_buf_free(&merchant_public_id);
    return rc;
}

int fg_api_key_revoke(fg_db_t *db, const char *id, const char *actor)
{
    revoke_t r = {id, actor, 0};
    if (!fg_id_valid("key_", id, strlen(id)))
        return FG_ENOTFOUND;
    int rc = fg_db_tx(db, revoke_tx, &r);
    return rc != 0 ? rc : r.revoked == 1 ? 0 : FG_ENOTFOUND;
}
