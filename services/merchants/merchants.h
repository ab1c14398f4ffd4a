/*
 * merchants.h - collecting units (schools, utilities, offices) and their API
 * keys: creating, listing, rotating and revoking them (the CLI and the staff
 * pages call the same functions).
 */
#ifndef FG_MERCHANTS_MERCHANTS_H
#define FG_MERCHANTS_MERCHANTS_H

#include <stdint.h>
#include "core/buf.h"
#include "core/ids.h"
#include "db/db.h"

/* Random bytes in an API key: 32 from OpenSSL, as the contract demands. */
#define FG_API_KEY_RANDOM_BYTES 32
/* "fg_live_" + base64url(32 bytes) = 8 + 43 characters. */
#define FG_API_KEY_CAP 64
#define FG_MERCHANT_NAME_MAX 200

/** The merchant a domain operation acts for, as authenticated: its row id
 *  and its public id (which the objects' JSON and events name). */
typedef struct {
    uint64_t id;
    const char *public_id;
} fg_merchant_ref_t;

/** A merchant as the staff pages list it. */
typedef struct {
    uint64_t id;
    char public_id[FG_ID_CAP];
    char name[FG_MERCHANT_NAME_MAX * 4 + 1];
    int64_t created_at;
    /* where payouts go (fg_payout_account_set); "" when not set */
    char payout_bin[8];
    char payout_account_no[40];
    char payout_account_name[404];
} fg_merchant_row_t;

/** An API key as the staff pages list it (never its secret). */
typedef struct {
    uint64_t merchant_id;
    char public_id[FG_ID_CAP];
    char prefix[20];
    int64_t created_at;
    int64_t revoked_at; /* 0: live */
} fg_api_key_row_t;

/**
 * Creates a merchant and its first API key in one transaction.  Writes the
 * merchant's public id, the key's public id ("key_…") and the key (shown
 * once; only its SHA-256 is kept).  When actor is not NULL, an audit_log row
 * "merchant.create" by actor is written in the same transaction.  key_id may
 * be NULL.  Returns 0, FG_EINVALID for an empty or over-long name, or a
 * database code.
 */
int fg_merchant_create(fg_db_t *db, const char *name, const char *actor, char id[FG_ID_CAP], char *key_id,
                       char api_key[FG_API_KEY_CAP]) FG_MUST_USE;

/** Up to cap merchants, by name, into rows; *count how many.  0 or a
 *  database code. */
int fg_merchant_list(fg_db_t *db, fg_merchant_row_t *rows, int cap, int *count) FG_MUST_USE;

/** The merchant with this public id ("mer_…").  0, FG_ENOTFOUND, or a
 *  database code. */
int fg_merchant_find(fg_db_t *db, const char *public_id, fg_merchant_row_t *out) FG_MUST_USE;

/** Up to cap of the merchants' API keys, newest first within each merchant
 *  (merchant_id 0: every merchant's, else that merchant's), into rows;
 *  *count how many.  0 or a database code. */
int fg_api_key_list(fg_db_t *db, uint64_t merchant_id, fg_api_key_row_t *rows, int cap, int *count) FG_MUST_USE;

/** The public id of the merchant whose key id is ("" for an export key),
 *  into merchant.  0, FG_ENOTFOUND, or a database code. */
int fg_api_key_merchant(fg_db_t *db, const char *id, char merchant[FG_ID_CAP]) FG_MUST_USE;

/**
 * Creates a new API key for the merchant with public id merchant_id, with an
 * audit_log row "api_key.create" by actor (not NULL) in the same
 * transaction.  Writes the key's public id and the key (shown once).
 * Returns 0, FG_ENOTFOUND when there is no such merchant, or a database code.
 */
int fg_api_key_create(fg_db_t *db, const char *merchant_id, const char *actor, char id[FG_ID_CAP],
                      char api_key[FG_API_KEY_CAP]) FG_MUST_USE;

/**
 * Rotates the live API key with public id id: in one transaction a new key
 * of the same merchant and scope is created and the old one revoked (it
 * stops working within the servers' key cache time, 10 s), with an
 * audit_log row "api_key.rotate" by actor (not NULL).  Writes the new key's
 * public id and the key (shown once).  Returns 0, FG_ENOTFOUND when there is
 * no such key or it was revoked already, or a database code.
 */
int fg_api_key_rotate(fg_db_t *db, const char *id, const char *actor, char new_id[FG_ID_CAP],
                      char api_key[FG_API_KEY_CAP]) FG_MUST_USE;

/**
 * Creates an API key of scope export: the data-sharing platform's, which
 * reads the change feed and nothing else and belongs to no merchant.  Writes
 * the key's public id ("key_…") and the key (shown once; only its SHA-256 is
 * kept).  Returns 0 or a database code.
 */
int fg_api_key_create_export(fg_db_t *db, char id[FG_ID_CAP], char api_key[FG_API_KEY_CAP]) FG_MUST_USE;

/** Revokes the API key with this public id ("key_…"): it stops working
 *  within the servers' key cache time (10 s).  When actor is not NULL, an
 *  audit_log row "api_key.revoke" by actor is written in the same
 *  transaction.  0, FG_ENOTFOUND when there is no such key or it was revoked
 *  already, or a database code. */
int fg_api_key_revoke(fg_db_t *db, const char *id, const char *actor) FG_MUST_USE;

#endif
