/*
 * orders.h - payment orders (docs/DESIGN.md §3, §4): validation, storage, the
 * domain operations the API runs (orders_internal.h), and the background
 * sweeper that expires orders.  The HTTP side is services/api/orders.c.
 */
#ifndef FG_ORDERS_ORDERS_H
#define FG_ORDERS_ORDERS_H

#include <stdint.h>
#include <yajl/yajl_tree.h>
#include "core/buf.h"
#include "core/json.h"
#include "core/ids.h"
#include "core/page.h"
#include "db/db.h"
#include "merchants/merchants.h"
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

/** A fee type's name ("tuition", "utility", "procedure"), as the API and the
 *  fee_type column spell it. */
const char *fg_fee_type_name(fg_fee_type_t t);
/** The fee type named by text[0..len); 0, or FG_EINVALID for any other text. */
int fg_fee_type_parse(const char *text, size_t len, fg_fee_type_t *out) FG_MUST_USE;

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

/**
 * Validates one order object against the contract (required merchant_ref,
 * fee_type, amount, currency; types; ranges 1..10^15; known ISO 4217
 * currency; lengths; RFC 3339 times; expires_at in the future as of now_ms;
 * string-only metadata within limits; no unknown fields).  Returns 0 with in
 * filled, or -1 with err filled.  Call fg_order_input_free either way.
 */
int fg_order_input_parse(yajl_val obj, int64_t now_ms, fg_order_input_t *in, fg_field_error_t *err);
void fg_order_input_free(fg_order_input_t *in);

/* ---- the order ---------------------------------------------------------------- */

/** One order: a row of `orders`, as read or about to be written.  Its text
 *  fields are owned buffers: fg_order_row_init before use, fg_order_row_free
 *  after. */
typedef struct {
    int64_t id;
    fg_buf_t public_id, merchant_ref, fee_type, category, currency;
    fg_order_status_t status; /* as stored: see fg_order_effective_status */
    fg_buf_t payer_name, payer_ref, payer_phone, payer_email, description, metadata, code;
    int category_null, payer_name_null, payer_ref_null, payer_phone_null, payer_email_null, description_null,
        metadata_null, due_at_null, expires_at_null;
    int64_t amount, amount_paid, amount_refunded, allow_partial, due_at, expires_at, created_at, updated_at;
} fg_order_row_t;

void fg_order_row_init(fg_order_row_t *r);
void fg_order_row_free(fg_order_row_t *r);

/* ---- rows a write leaves to its writer instead of the triggers ------------------
 * An insert that sets, or a set-wise UPDATE that flips, its rows'
 * derived_rows column writes their change-feed and owed-sum rows itself
 * (schema/0032_derived_rows.sql): queued as the transaction's other
 * appended rows, as multi-row INSERTs (db.h). */

/** A change_log row as the triggers of schema/0016_changes.sql write it,
 *  with the public ids the sequencer would add: entity_id may be a pending id
 *  (FG_DB_ID); merchant_id and parent_id 0 for NULL (parent_public_id then
 *  NULL); data the entity's JSON array. */
typedef struct {
    const char *entity;
    int64_t entity_id;
    const fg_buf_t *object_id;
    int64_t merchant_id, parent_id;
    const char *merchant_public_id, *parent_public_id;
    const char *op;
    const fg_buf_t *data;
    int64_t at;
} fg_change_row_t;

/** Queues change row c (numbered at COMMIT, or after it: db.h). */
int fg_change_row_queue(fg_db_t *db, const fg_change_row_t *c) FG_MUST_USE;

/** Queues the rows of an UPDATE of merchant m's order r's amount_paid and
 *  status that flipped derived_rows (r as written; its stored status and
 *  amount paid before were was_status and was_paid): its change, and what it
 *  takes from the owed sums, added to the transaction's row of the order's
 *  key. */
int fg_order_paid_derived(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_row_t *r,
                          fg_order_status_t was_status, int64_t was_paid) FG_MUST_USE;

/** Sends the changes and owed rows queued so far now, not at COMMIT: after
 *  an UPDATE whose rows a later write in the transaction may change again
 *  (whose trigger's change then comes after them in the feed).  When the
 *  transaction writes no more changes (last_write) and numbers its rows at
 *  COMMIT (db.h), the changes stay queued for it. */
int fg_derived_send(fg_db_t *db, int last_write) FG_MUST_USE;

/** Appends the order's public JSON (docs/DESIGN.md §3) to b: its status as
 *  effective at now_ms, its pay_url under base_url.  Events carry the same
 *  JSON as the API's answers. */
void fg_order_json(fg_buf_t *b, const fg_order_row_t *r, const char *merchant_public_id, const char *base_url,
                   int64_t now_ms);

/** The public id of this merchant's order with merchant_ref, into
 *  public_id: 0, FG_ENOTFOUND, or a database code.  A read: outside a
 *  transaction the caller ends it with fg_db_end. */
int fg_order_find_ref(fg_db_t *db, uint64_t merchant_id, const char *ref, size_t len, fg_buf_t *public_id) FG_MUST_USE;

/* ---- domain operations (orders.c) ------------------------------------------------
 * The writes run inside the caller's transaction (fg_db_tx or fg_db_group_tx)
 * and may be re-run with it; m is the merchant they act for.  out (and
 * existing_id) are initialised by the caller, who frees them whatever the
 * outcome. */

/**
 * Creates an open order from validated input, created at now_ms: a new
 * public id and payer code (a new code is drawn on the rare code collision).
 * 0 with out the new order, FG_ECONFLICT when the merchant has an order with
 * this merchant_ref already (nothing written), or a database code.
 */
int fg_order_create(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_input_t *in, int64_t now_ms,
                    fg_order_row_t *out) FG_MUST_USE;

/**
 * One order of a batch: as fg_order_create, but a taken merchant_ref is no
 * error (INSERT IGNORE, so the batch's transaction goes on): 0 with *created
 * 1 and out the new order, or 0 with *created 0 and existing_id the public id
 * of the order that has the merchant_ref (nothing written); or a database
 * code.
 */
int fg_order_create_or_existing(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_input_t *in, int64_t now_ms,
                                fg_order_row_t *out, int *created, fg_buf_t *existing_id) FG_MUST_USE;

/** The orders of a batch, created set-wise (fg_order_create_many): the
 *  caller parses each item into inputs[i] and points in[i] at it (NULL: not
 *  to create); the outcome of each is in created[i] with rows[i], or in
 *  existing_id[i] and existing_code[i]. */
typedef struct {
    int n;
    fg_order_input_t *inputs;
    const fg_order_input_t **in;
    fg_order_row_t *rows;
    int *created;
    fg_buf_t *existing_id, *existing_code;
} fg_order_set_t;

void fg_order_set_init(fg_order_set_t *set, int n);
void fg_order_set_free(fg_order_set_t *set);

/**
 * Creates set->in's orders set-wise.  One read finds the merchant_refs the
 * merchant has already; a merchant_ref twice in the batch names its first
 * order; the rest are inserted, as multi-row INSERTs at COMMIT while the
 * connection defers (fg_db_tx_deferring).  created[i] 1 with rows[i] the new
 * order, or 0 with existing_id[i] the public id that has the merchant_ref and
 * existing_code[i] its payer code (both empty for an item not created).  A
 * merchant_ref taken meanwhile by another transaction, or a code collision,
 * fails the transaction with FG_ECONFLICT (at COMMIT when deferring): the
 * caller then creates the orders one by one (fg_order_create_or_existing).
 */
int fg_order_create_many(fg_db_t *db, const fg_merchant_ref_t *m, fg_order_set_t *set, int64_t now_ms) FG_MUST_USE;

/** Reads the merchant's order with this public id into out (its stored
 *  status: fg_order_effective_status tells the status at a time).  0,
 *  FG_ENOTFOUND, or a database code. */
int fg_order_get(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                 fg_order_row_t *out) FG_MUST_USE;

/** What a list of orders is filtered by; a zeroed one lists them all. */
typedef struct {
    int has_status;
    fg_order_status_t status; /* the effective status at the list's now_ms */
    int has_fee_type;
    fg_fee_type_t fee_type;
    const char *merchant_ref; /* NUL-terminated; NULL: any */
    int has_created_from, has_created_to;
    int64_t created_from, created_to; /* ms: created_from <= created_at < created_to */
} fg_order_query_t;

/** Called with each order of a list page, in order; the row is valid only
 *  during the call. */
typedef void (*fg_order_each_fn)(const fg_order_row_t *r, void *arg);

/**
 * One page of the merchant's orders that match q, newest first
 * (docs/DESIGN.md §4): those with an id below page->cursor (0: from the
 * newest), at most page->limit of them, each passed to each.  *more is set
 * when the query has rows after this page (the next page continues after
 * the last row's id).  0 or a database code (rows may have been passed
 * already).
 */
int fg_order_list(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_query_t *q, const fg_page_t *page,
                  int64_t now_ms, fg_order_each_fn each, void *arg, int *more) FG_MUST_USE;

/**
 * Cancels the merchant's order with this public id as of now_ms, locking it,
 * and writes its order.cancelled event (the order's JSON, with
 * cfg->public_base_url).  Only an open order with nothing paid can be
 * cancelled; cancelling a cancelled order changes nothing and succeeds.
 * 0 with out the cancelled order, FG_ENOTFOUND, FG_ESTATE with out the order
 * as it is (any other effective status, or money paid), or a database code.
 */
int fg_order_cancel(fg_db_t *db, const fg_config_t *cfg, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                    int64_t now_ms, fg_order_row_t *out) FG_MUST_USE;

/** One sweeper round: expires due orders (with their order.expired events)
 *  and deletes expired idempotency keys.  Safe on any number of instances. */
void fg_orders_sweep(fg_db_t *db, const fg_config_t *cfg);

#endif
