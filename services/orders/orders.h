/*
 * orders.h - payment orders (docs/DESIGN.md §3, §4): validation, storage, the HTTP
 * handlers, and the background sweeper that expires orders.
 */
#ifndef FG_ORDERS_ORDERS_H
#define FG_ORDERS_ORDERS_H

#include <stdint.h>
#include <yajl/yajl_tree.h>
#include "core/buf.h"
#include "core/ids.h"
#include "db/db.h"
#include "orders/rules.h"

/* Field limits, in bytes of UTF-8 except description (characters).  They
 * match the column sizes in schema/0001_init.sql. */
#define FG_ORDER_REF_MAX 64
#define FG_ORDER_CATEGORY_MAX 64
#define FG_ORDER_DESCRIPTION_MAX 1000
#define FG_ORDER_PAYER_NAME_MAX 200
#define FG_ORDER_PAYER_REF_MAX 64
#define FG_ORDER_PAYER_PHONE_MAX 32
#define FG_ORDER_PAYER_EMAIL_MAX 254
/* metadata: a flat string map, at most 4 KiB serialised (docs/DESIGN.md §3). */
#define FG_ORDER_METADATA_BYTES_MAX 4096
#define FG_ORDER_METADATA_KEYS_MAX 50
#define FG_ORDER_METADATA_KEY_MAX 40
#define FG_ORDER_METADATA_VALUE_MAX 500
/* A batch carries at most this many orders (docs/DESIGN.md §4). */
#define FG_ORDER_BATCH_MAX 10000
/* Orders expired per sweeper transaction: short transactions, short locks. */
#define FG_ORDER_SWEEP_BATCH 200

typedef enum { FG_FEE_TUITION, FG_FEE_UTILITY, FG_FEE_PROCEDURE } fg_fee_type_t;

/** A validated create-order request.  Strings point into the parsed JSON
 *  tree (or are NULL when absent) except metadata_json, which is owned. */
typedef struct {
    const char *merchant_ref;
    const char *fee_type; /* "tuition" | "utility" | "procedure" */
    const char *category;
    int64_t amount;
    char currency[4];
    int allow_partial;
    const char *payer_name, *payer_ref, *payer_phone, *payer_email;
    const char *description;
    int has_due_at, has_expires_at;
    int64_t due_at_ms, expires_at_ms;
    fg_buf_t metadata_json; /* canonical JSON object text, empty when absent */
} fg_order_input_t;

/** Why an input was refused: HTTP status (400 malformed, 422 unacceptable
 *  value), a stable code, a message and the offending field. */
typedef struct {
    int status;
    const char *code;
    char message[160];
    char field[64];
} fg_field_error_t;

/**
 * Validates one order object against the contract (required merchant_ref,
 * fee_type, amount, currency; types; ranges 1..10^15; known ISO 4217
 * currency; lengths; RFC 3339 times; expires_at in the future as of now_ms;
 * string-only metadata within limits; no unknown fields).  Returns 0 with in
 * filled, or -1 with err filled.  Call fg_order_input_free either way.
 */
int fg_order_input_parse(yajl_val obj, int64_t now_ms, fg_order_input_t *in, fg_field_error_t *err);
void fg_order_input_free(fg_order_input_t *in);

/**
 * Parses a request body as JSON after the transport checks: valid UTF-8,
 * nesting <= FG_JSON_DEPTH_MAX, an object at the top.  Returns the tree
 * (caller frees with yajl_tree_free) or NULL with err filled.
 */
yajl_val fg_json_parse_object(const char *body, size_t len, fg_field_error_t *err);

/** One sweeper round: expires due orders (with their order.expired events)
 *  and deletes expired idempotency keys.  Safe on any number of instances. */
void fg_orders_sweep(fg_db_t *db, const fg_config_t *cfg);

#endif
