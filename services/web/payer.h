/*
 * payer.h - what the payer pages share (docs/PAGES.md, Payer): the bill as
 * its code finds it, money and times as people read them, the pay methods
 * this server offers.
 */
#ifndef FG_WEB_PAYER_H
#define FG_WEB_PAYER_H

#include <stdint.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/status.h"
#include "db/db.h"
#include "web/html.h"

/* A bill as the payer pages show it. */
typedef struct {
    char code[FG_ORDER_CODE_LEN + 1];
    int64_t order_id, merchant_id;
    fg_buf_t order_public_id, merchant_public_id, merchant_name, merchant_ref, fee_type, currency, description,
        payer_name;
    int64_t amount, amount_paid, amount_refunded, due_at, expires_at;
    int due_null, expires_null;
    fg_order_status_t status; /* effective now */
} fg_bill_t;

void fg_bill_init(fg_bill_t *b);
void fg_bill_free(fg_bill_t *b);

/** The bill with this code (as typed: normalised here).  A read: the caller
 *  ends it with fg_db_end.  0; FG_EINVALID (not a code); FG_ENOTFOUND; or a
 *  database code. */
int fg_bill_load(fg_db_t *db, const char *code, size_t len, fg_bill_t *b);
/** The code of the path's {code} segment as fg_bill_load reads it
 *  (percent-decoded, then normalised) into out.  0 or FG_EINVALID. */
int fg_bill_code(const char *code, size_t len, char *out, size_t cap);

/** A short page for a load that failed: 404 for a bad or unknown code,
 *  503 for the database. */
void fg_bill_load_failed(fg_call_t *call, int rc);

/** "4.500.000 ₫" (VND), "12,50 USD" (another currency), escaped. */
void fg_html_money(fg_html_t *p, int64_t amount, const char *currency);

/** A date in GMT+7: "30/09/2025" (vi) or "30 Sep 2025" (en). */
void fg_html_date(fg_html_t *p, int64_t ms);

/** A time in GMT+7: "14:05, 30/09/2025 (GMT+7)". */
void fg_html_datetime(fg_html_t *p, int64_t ms);

/** The order status as the payer reads it, and its badge class. */
const char *fg_bill_status_text(const fg_html_t *p, fg_order_status_t s);
const char *fg_bill_status_class(fg_order_status_t s);

/* The methods a payer starts from the bill page, in the order shown. */
#define FG_PAYER_METHODS 3
extern const char *const fg_payer_methods[FG_PAYER_METHODS];

/** Whether this server offers method (vnpay, momo, sandbox) to payers. */
int fg_payer_method_offered(const fg_config_t *cfg, const char *method);

/** Whether it offers method for a bill of currency and amount (minor units):
 *  the adapter's own rule (fg_adapter_t.accepts). */
int fg_payer_method_takes(const fg_config_t *cfg, const char *method, const char *currency, int64_t amount);

/** The method's name for payers ("VNPay", "MoMo", "Cổng thử nghiệm"). */
const char *fg_payer_method_label(const fg_html_t *p, const char *method);

#endif
