/*
 * orders_internal.h - the order row and its storage, shared by the handlers
 * and the sweeper.
 */
#ifndef FG_ORDERS_INTERNAL_H
#define FG_ORDERS_INTERNAL_H

#include "orders/orders.h"

/* One row of `orders`, as read or about to be written. */
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
/* An order row's columns, in the order fg_order_row_bind binds them, of a
 * table aliased "o". */
/* clang-format off */
#define FG_ORDER_COLUMNS                                                                                           \
    "o.id, o.public_id, o.merchant_ref, o.fee_type, o.category, o.amount, o.currency, o.amount_paid, "             \
    "o.amount_refunded, o.allow_partial, " FG_ORDER_STATUS_SQL("o.status") ", o.payer_name, o.payer_ref, "        \
    "o.payer_phone, o.payer_email, o.description, o.due_at, o.expires_at, o.metadata, o.code, o.created_at, "      \
    "o.updated_at"
/* clang-format on */

/** Binds the FG_ORDER_COLUMNS result columns of a SELECT into r. */
void fg_order_row_bind(fg_stmt_t *s, fg_order_row_t *r);
/** Fills a new row (fresh id and code, status open) from validated input. */
int fg_order_row_from_input(fg_order_row_t *r, const fg_order_input_t *in, int64_t now_ms) FG_MUST_USE;
/** Draws another payer code (after the astronomically rare collision). */
int fg_order_new_code(fg_order_row_t *r) FG_MUST_USE;

/** Appends the order's public JSON. */
void fg_order_json(fg_buf_t *b, const fg_order_row_t *r, const char *merchant_public_id, const char *base_url,
                   int64_t now_ms);

/** INSERT (or INSERT IGNORE, setting *inserted) one order.  FG_ECONFLICT on a
 *  duplicate merchant_ref or code without ignore. */
int fg_order_insert(fg_db_t *db, uint64_t merchant_id, const fg_order_row_t *r, int ignore_duplicates,
                    int *inserted) FG_MUST_USE;
/** Reads an order of this merchant by public id; FG_ENOTFOUND if none. */
int fg_order_load(fg_db_t *db, uint64_t merchant_id, const char *public_id, size_t len, int for_update,
                  fg_order_row_t *r) FG_MUST_USE;
int fg_order_load_by_id(fg_db_t *db, int64_t id, int for_update, fg_order_row_t *r) FG_MUST_USE;
/** The public id of this merchant's order with merchant_ref; FG_ENOTFOUND. */
int fg_order_find_ref(fg_db_t *db, uint64_t merchant_id, const char *ref, size_t len, fg_buf_t *public_id) FG_MUST_USE;
/** Writes an outbox event whose data.object is `object` (JSON).  Only after
 *  another write of the same transaction (the change the event reports):
 *  the fan-out's settle points rely on it (db/settle.h). */
int fg_event_insert(fg_db_t *db, uint64_t merchant_id, const char *type, int64_t order_id, const fg_buf_t *object,
                    int64_t now_ms) FG_MUST_USE;

#endif
