/*
 * merchants.h - collecting units (schools, utilities, offices) and their API
 * keys.
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

/**
 * Creates a merchant and its first API key in one transaction.  Writes the
 * merchant's public id and the key (shown once; only its SHA-256 is kept).
 * Returns 0, FG_EINVALID for an empty or over-long name, or a database code.
 */
int fg_merchant_create(fg_db_t *db, const char *name, char id[FG_ID_CAP], char api_key[FG_API_KEY_CAP]) FG_MUST_USE;

/**
 * Creates an API key of scope export: the data-sharing platform's, which
 * reads the change feed and nothing else and belongs to no merchant.  Writes
 * the key's public id ("key_…") and the key (shown once; only its SHA-256 is
 * kept).  Returns 0 or a database code.
 */
int fg_api_key_create_export(fg_db_t *db, char id[FG_ID_CAP], char api_key[FG_API_KEY_CAP]) FG_MUST_USE;

/** Revokes the API key with this public id ("key_…"): it stops working
 *  within the servers' key cache time (10 s).  0, FG_ENOTFOUND when there is
 *  no such key or it was revoked already, or a database code. */
int fg_api_key_revoke(fg_db_t *db, const char *id) FG_MUST_USE;

#endif
