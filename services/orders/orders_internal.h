/*
 * orders_internal.h - the storage of orders: the row's columns, inserts,
 * locked reads and the outbox, shared by the domain operations (orders.c),
 * the sweeper and the payments module.
 */
#ifndef FG_ORDERS_INTERNAL_H
#define FG_ORDERS_INTERNAL_H

#include "orders/orders.h"

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

/** INSERT (or INSERT IGNORE, setting *inserted) one order, setting r->id to
 *  its new row's id.  FG_ECONFLICT on a duplicate merchant_ref or code
 *  without ignore.  In a deferring transaction (a group of creates) the
 *  strict INSERT is queued (db.h fg_db_insert): r->id is then pending, and
 *  a duplicate fails the COMMIT instead. */
/* The public ids (and payer codes, when codes is not NULL) of the merchant's
 * orders with refs[0..n) (NULL: not looked up) into public_ids[0..n) and
 * codes[0..n) (left empty when none): one round trip.  0 or a database code. */
int fg_order_find_refs(fg_db_t *db, uint64_t merchant_id, const char *const *refs, int n, fg_buf_t *public_ids,
                       fg_buf_t *codes) FG_MUST_USE;
/* As fg_order_find_refs, the whole orders: rows[i] (initialised by the
 * caller, who frees them) and found[i] 1 for each refs[i] the merchant has
 * used.  One round trip; 0 or a database code. */
int fg_order_rows_by_refs(fg_db_t *db, uint64_t merchant_id, const char *const *refs, int n, fg_order_row_t *rows,
                          int *found) FG_MUST_USE;
int fg_order_insert(fg_db_t *db, const fg_merchant_ref_t *m, fg_order_row_t *r, int ignore_duplicates,
                    int *inserted) FG_MUST_USE;
/** Reads an order of this merchant by public id; FG_ENOTFOUND if none. */
int fg_order_load(fg_db_t *db, uint64_t merchant_id, const char *public_id, size_t len, int for_update,
                  fg_order_row_t *r) FG_MUST_USE;
int fg_order_load_by_id(fg_db_t *db, int64_t id, int for_update, fg_order_row_t *r) FG_MUST_USE;
/** Writes an outbox event whose data.object is `object` (JSON), about
 *  order_id (0: about no one order, e.g. a reconciliation).  Only after
 *  another write of the same transaction (the change the event reports):
 *  the fan-out's settle points rely on it (db/settle.h). */
int fg_event_insert(fg_db_t *db, uint64_t merchant_id, const char *type, int64_t order_id, const fg_buf_t *object,
                    int64_t now_ms) FG_MUST_USE;

#endif
