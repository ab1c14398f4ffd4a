/*
 * receipts.c - the receipt routes: GET /v1/receipts/{id}, GET /v1/receipts
 * (by payment or by merchant, cursor pages), and a merchant's receipt
 * settings, POST /v1/merchants/{id}/receipt-settings (admin; audited).
 *
 * Whose receipts: a merchant key reads its own, a staff account scoped to a
 * merchant (a school's accountant) that merchant's, other staff every
 * merchant's.  Another merchant's receipt is 404, as if it did not exist.
 */
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/text.h"
#include "receipts/keys.h"
#include "receipts/receipts.h"
#include "receipts/sign.h"
#include "receipts/xml.h"

/* ---- GET /v1/receipts/{id} and GET /v1/receipts/{id}.xml --------------------------- */

/* The signed XML document of a receipt (receipts/xml.c, sign.c): built from
 * the stored receipt, which never changes, and signed as it is sent, so a
 * key rotation needs no re-signing of old receipts and issuing a receipt
 * costs the payment no signature. */
static void receipt_xml(fg_call_t *call, const fg_receipt_t *r)
{
    fg_buf_t words = FG_BUF_INIT, xml = FG_BUF_INIT, signed_xml = FG_BUF_INIT;
    char err[256] = "";
    /* an adjustment's words without the sign, as its JSON gives them: TCHDon 2 says it is negative */
    int rc = fg_receipt_amount_words(r->amount < 0 && r->amount != INT64_MIN ? -r->amount : r->amount, r->currency,
                                     &words);
    if (rc == 0) {
        fg_buf_putc(&words, '\0');
        rc = fg_receipt_xml(r, words.data, &xml);
    }
    if (rc == 0)
        rc = fg_receipt_sign_xml(fg_receipt_keys(), xml.data, xml.len, &signed_xml, err, sizeof(err));
    if (rc == FG_EUNAVAILABLE) {
        fg_call_error(call, 503, "unavailable", "receipt_signing_unavailable",
                      "receipts.signing_key_file and receipts.certificate_file are not configured", NULL);
    } else if (rc != 0) {
        fg_call_error(call, 500, "internal", "receipt_xml_failed", "the receipt document could not be made", NULL);
    } else {
        fg_call_body(call, 200, "application/xml; charset=utf-8", &signed_xml);
    }
    fg_buf_free(&words);
    fg_buf_free(&xml);
    fg_buf_free(&signed_xml);
}

void fg_receipts_get(fg_call_t *call, fg_db_t *db)
{
    fg_receipt_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        fg_call_db_error(call, db, FG_ENOMEM);
        return;
    }
    size_t len = call->param_lens[0];
    int as_xml = len > 4 && memcmp(call->params[0] + len - 4, ".xml", 4) == 0;
    int rc = fg_receipt_get(db, call->params[0], as_xml ? len - 4 : len, call->merchant_id, r);
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "receipt_not_found", "no such receipt", NULL);
    } else if (rc == FG_ERANGE) {
        fg_call_error(call, 503, "unavailable", "receipt_series_used_up",
                      "the merchant's receipt series is used up: the receipt is issued once an admin sets a new "
                      "serial (POST /v1/merchants/{id}/receipt-settings)",
                      NULL);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else if (as_xml) {
        receipt_xml(call, r);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        fg_receipt_json(&b, r);
        fg_call_json(call, 200, &b);
    }
    free(r);
}

/* ---- GET /v1/receipts ------------------------------------------------------------ */

void fg_receipts_list(fg_call_t *call, fg_db_t *db)
{
    fg_page_t page;
    fg_receipt_query_t q = {.merchant_id = call->merchant_id};
    size_t len = 0;
    const char *v;
    if (fg_call_page(call, &page) != 0)
        return;
    if ((v = fg_call_query(call, "payment_id", &len)) != NULL && len > 0) {
        if (len > FG_RECEIPT_ID_MAX || !fg_printable_ascii(v, len, FG_RECEIPT_ID_MAX)) {
            fg_call_error(call, 400, "invalid_request", "invalid_payment_id", "payment_id is a payment's id",
                          "payment_id");
            return;
        }
        q.payment_id = v;
    }
    if ((v = fg_call_query(call, "merchant_id", &len)) != NULL && len > 0) {
        /* a merchant key, or a staff account scoped to one merchant, reads that merchant's only */
        if (call->merchant_id != 0 ? strcmp(v, call->merchant_public_id) != 0
                                   : len > FG_RECEIPT_ID_MAX || !fg_printable_ascii(v, len, FG_RECEIPT_ID_MAX)) {
            fg_call_error(call, 404, "not_found", "merchant_not_found", "no such merchant", "merchant_id");
            return;
        }
        q.merchant_public_id = v;
    }
    fg_buf_t b = FG_BUF_INIT;
    int rc = fg_receipt_list(db, &q, &page, &b);
    fg_db_end(db);
    if (rc != 0)
        fg_call_db_error(call, db, rc);
    else
        fg_call_json(call, 200, &b);
    fg_buf_free(&b);
}

/* ---- POST /v1/merchants/{id}/receipt-settings ------------------------------------- */

typedef struct {
    fg_call_t *call;
    fg_receipt_settings_t in;
    fg_buf_t body;
} settings_t;

static int settings_tx(fg_db_t *db, void *arg)
{
    settings_t *a = arg;
    fg_buf_reset(&a->body);
    int rc = fg_receipt_settings_set(db, a->call->params[0], &a->in, a->call->staff_email, &a->body);
    if (rc != 0)
        return rc;
    return fg_idem_store(db, a->call, 200, &a->body);
}

#define SETTINGS_FIELDS 5
static const char *const SETTINGS_NAMES[SETTINGS_FIELDS] = {"unit_name", "tax_code", "address", "form", "serial"};

void fg_merchants_receipt_settings(fg_call_t *call, fg_db_t *db)
{
    fg_field_error_t err;
    const char *field = NULL;
    settings_t a = {.call = call, .body = FG_BUF_INIT};
    int *has[SETTINGS_FIELDS] = {&a.in.has_unit_name, &a.in.has_tax_code, &a.in.has_address, &a.in.has_form,
                                 &a.in.has_serial};
    const char **values[SETTINGS_FIELDS] = {&a.in.unit_name, &a.in.tax_code, &a.in.address, &a.in.form, &a.in.serial};
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL) {
        fg_call_field_error(call, &err);
        return;
    }
    for (size_t i = 0; i < root->u.object.len; i++) {
        size_t k = 0;
        while (k < SETTINGS_FIELDS && strcmp(SETTINGS_NAMES[k], root->u.object.keys[i]) != 0)
            k++;
        if (k == SETTINGS_FIELDS) {
            fg_call_error(call, 400, "invalid_request", "unknown_field",
                          "receipt settings are unit_name, tax_code, address, form and serial", root->u.object.keys[i]);
            goto Exit;
        }
        yajl_val v = root->u.object.values[i];
        *has[k] = 1;
        if (YAJL_IS_NULL(v) && k < 3) { /* unit_name, tax_code and address may be cleared */
            *values[k] = NULL;
            continue;
        }
        if (!YAJL_IS_STRING(v)) {
            fg_call_error(call, 400, "invalid_request", "invalid_type",
                          k < 3 ? "must be a string or null" : "must be a string", SETTINGS_NAMES[k]);
            goto Exit;
        }
        *values[k] = v->u.string;
    }
    if (root->u.object.len == 0) {
        fg_call_error(call, 400, "invalid_request", "missing_field",
                      "give at least one of unit_name, tax_code, address, form and serial", NULL);
        goto Exit;
    }
    if (fg_receipt_settings_check(&a.in, &field) != 0) {
        fg_call_error(call, 422, "invalid_request", "invalid_receipt_settings",
                      "unit_name 1 to 200 characters and address 1 to 400, without control characters or spaces at "
                      "either end; tax_code 10 digits, or 10 digits, '-' and 3 digits; form up to 11 and serial up "
                      "to 11 of A-Z, 0-9, '-' and '/'",
                      field);
        goto Exit;
    }
    int rc = fg_db_tx(db, settings_tx, &a);
    if (rc == 0)
        fg_call_json(call, 200, &a.body);
    else if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "merchant_not_found", "no such merchant", NULL);
    else if (rc == FG_ECONFLICT && call->idem_taken)
        fg_idem_answer_conflict(call, db);
    else
        fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
Exit:
    fg_buf_free(&a.body);
    yajl_tree_free(root);
}
