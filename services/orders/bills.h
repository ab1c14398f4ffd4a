/*
 * bills.h - a month's bills from a spreadsheet (CSV or XLSX): what a school
 * or a utility keeps its bills in.  Each row becomes the same order object
 * POST /v1/orders takes and is validated by the same parser, so a file and
 * the API accept exactly the same orders.
 *
 * The header row names the columns, in English (the API's field names) or in
 * Vietnamese ("Mã hóa đơn", "Số tiền", "Người nộp", "Hạn nộp", "Lớp", …; a
 * bilingual "Số tiền / Amount" works too); unknown columns are ignored and
 * listed.  Amounts may carry thousands separators ("4.500.000"); dates are
 * dd/mm/yyyy, yyyy-mm-dd or a spreadsheet's day number, and a due date means
 * the end of that day in GMT+7.
 *
 * Reading (fg_bills_read) never writes.  Committing (fg_bills_commit) is all
 * or nothing: a file with any invalid row is refused whole, so that what
 * the preview showed is what happens; a row whose merchant_ref the merchant
 * has already used is reported with the existing order (its own amount,
 * payer and code), so uploading the same file twice creates nothing the
 * second time.  An import never changes an order: a row whose order holds
 * something else than the row says (another amount, currency, payer, …) is
 * an invalid row, a conflict naming what differs and the order's value, as
 * POST /v1/orders answers 409 duplicate_merchant_ref.
 */
#ifndef FG_ORDERS_BILLS_H
#define FG_ORDERS_BILLS_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/json.h"
#include "core/sheet.h"
#include "db/db.h"
#include "merchants/merchants.h"

/* A bills file is at most this large, and holds at most FG_ORDER_BATCH_MAX rows. */
#define FG_BILLS_FILE_MAX (16u << 20)

typedef enum { FG_BILL_VALID, FG_BILL_INVALID, FG_BILL_CREATED, FG_BILL_EXISTING } fg_bill_state_t;

typedef struct {
    size_t row_no; /* as the spreadsheet numbers it */
    fg_bill_state_t state;
    fg_buf_t order_json;    /* the order object the row stands for */
    fg_field_error_t error; /* FG_BILL_INVALID: why */
    /* the row's, or (EXISTING) the order's: what the order holds, never the file */
    fg_buf_t merchant_ref, payer_name;
    int64_t amount;
    char currency[4];
    fg_buf_t order_id, code; /* CREATED and EXISTING; a conflict's order_id */
    /* INVALID because the merchant_ref's order differs from the row: the
     * whole message (error.message is too short for it) and the JSON array
     * of {"field","order","row"} */
    int conflict;
    fg_buf_t conflict_message, differences;
} fg_bill_t;

typedef struct {
    fg_bill_t *rows;
    size_t count, cap;
    size_t invalid, created, existing;
    fg_buf_t ignored_columns; /* JSON array text of the columns not used */
    char error[256];          /* fg_bills_read's FG_EINVALID: what is wrong with the file */
} fg_bills_t;

/** Defaults for columns the file leaves out (NULL: none). */
typedef struct {
    const char *fee_type;
    const char *category;
} fg_bills_defaults_t;

void fg_bills_init(fg_bills_t *b);
void fg_bills_free(fg_bills_t *b);

/** Reads and validates every row of the file as of now_ms.  0 (rows may be
 *  invalid: b->invalid counts them), or FG_EINVALID with b->error (not a
 *  table, no header, a required column missing, no rows, too many rows). */
int fg_bills_read(fg_bills_t *b, fg_sheet_format_t format, const char *data, size_t len,
                  const fg_bills_defaults_t *defaults, int64_t now_ms) FG_MUST_USE;

/** Creates the orders of valid rows for merchant m inside the caller's
 *  transaction (may be re-run with it).  The file must have no invalid row
 *  as read.  setwise: one lookup of the file's refs and the new orders
 *  inserted together (fg_order_create_many: run it deferring, and on failure
 *  again with setwise 0, row by row: fg_db_tx_set_or_each).  0;
 *  FG_ECONFLICT with b->invalid > 0 when rows conflict with the merchant's
 *  orders (fg_bills_lookup; the caller rolls back: nothing is created); or a
 *  database code. */
int fg_bills_commit(fg_db_t *db, const fg_merchant_ref_t *m, fg_bills_t *b, int64_t now_ms, int setwise) FG_MUST_USE;

/** Why an invalid row is invalid, for people (the row's own buffer). */
const char *fg_bill_message(const fg_bill_t *bill);

/** The outcome as JSON: {"object":"bills_import","committed",counts,
 *  "ignored_columns","rows":[{"row","status","merchant_ref","amount",
 *  "payer_name","order_id","code","pay_url","error"}]}; a conflict's error
 *  is {"type":"conflict","code":"duplicate_merchant_ref","message","field"
 *  (the first that differs),"existing_order_id","differences":[{"field",
 *  "order","row"}]}. */
void fg_bills_json(fg_buf_t *out, const fg_bills_t *b, int committed, const char *base_url);

/** The result file for a mail merge (CSV with BOM): row, status,
 *  merchant_ref, payer_name, amount, code, pay_url, error. */
void fg_bills_csv(fg_buf_t *out, const fg_bills_t *b, const char *base_url);

/** Settles the valid rows whose merchant_ref the merchant has used: EXISTING
 *  with the order's id, code, amount and payer, or INVALID (a conflict,
 *  counted in b->invalid) when the order differs from what the row says.
 *  One read; writes nothing.  0 or a database code. */
int fg_bills_lookup(fg_db_t *db, const fg_merchant_ref_t *m, fg_bills_t *b) FG_MUST_USE;

/* ---- a file between its preview and its commit (schema/0019) ---- */

/* A file uploaded from a page is at most this large (the API takes FG_BILLS_FILE_MAX). */
#define FG_BILL_UPLOAD_MAX (8u << 20)
/* Uploads are kept this long. */
#define FG_BILL_UPLOAD_TTL_MS (24 * 3600 * 1000LL)

typedef struct {
    uint64_t merchant_id;
    fg_sheet_format_t format;
    fg_buf_t file_name, fee_type, content;
    int committed;
} fg_bill_upload_t;

void fg_bill_upload_init(fg_bill_upload_t *u);
void fg_bill_upload_free(fg_bill_upload_t *u);

/** Keeps a file for its commit (deleting uploads older than
 *  FG_BILL_UPLOAD_TTL_MS first): 0 with its public id in public_id
 *  (FG_ID_CAP), or a database code.  One transaction (fg_db_tx). */
int fg_bill_upload_save(fg_db_t *db, uint64_t staff_id, uint64_t merchant_id, const char *file_name,
                        fg_sheet_format_t format, const char *fee_type, const char *data, size_t len, int64_t now_ms,
                        char *public_id) FG_MUST_USE;

/** The upload public_id that staff member staff_id made (another's is
 *  FG_ENOTFOUND), younger than the TTL: 0, FG_ENOTFOUND or a database code. */
int fg_bill_upload_load(fg_db_t *db, const char *public_id, uint64_t staff_id, int64_t now_ms,
                        fg_bill_upload_t *out) FG_MUST_USE;

/** Inside the commit's transaction: marks the upload committed.  0, or
 *  FG_ECONFLICT when it was committed already (by a double submit). */
int fg_bill_upload_mark(fg_db_t *db, const char *public_id, int64_t now_ms) FG_MUST_USE;

#endif
