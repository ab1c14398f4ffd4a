/*
 * payouts.c - the payout routes (docs/RECONCILIATION.md, "Payouts to
 * merchants"): payouts, their batches and the bank's bulk-transfer file, and
 * a merchant's payout account.  The HTTP side only: read the request, run
 * the operation (services/recon/payouts.c) in a transaction with the
 * idempotent answer, and answer.
 */
#include "recon/recon.h"
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>
#include "core/money.h"
#include "core/text.h"

/* The ids staff name in a path or filter: a public id is at most this long,
 * anything longer names nothing. */
#define PUBLIC_ID_MAX 64

/* ---- POST /v1/payouts ------------------------------------------------------------- */

typedef struct {
    fg_call_t *call;
    const fg_payout_input_t *in;
    fg_payout_outcome_t outcome;
    int64_t balance;
    fg_payout_t payout;
    fg_buf_t body;
} create_t;

static int create_tx(fg_db_t *db, void *arg)
{
    create_t *c = arg;
    fg_payout_free(&c->payout); /* a re-run (deadlock) starts over */
    memset(&c->payout, 0, sizeof(c->payout));
    int rc = fg_payout_create(db, c->in, c->call->staff_email, fg_now_ms(), &c->outcome, &c->balance, &c->payout);
    if (rc != 0)
        return rc;
    if (c->outcome != FG_PAYOUT_MADE && c->outcome != FG_PAYOUT_SAME)
        return 1; /* refused: nothing was written; answered below */
    fg_buf_reset(&c->body);
    fg_payout_json(&c->body, &c->payout);
    return fg_idem_store(db, c->call, c->outcome == FG_PAYOUT_MADE ? 201 : 200, &c->body);
}

static void answer_refusal(fg_call_t *call, const create_t *c)
{
    fg_buf_t b = FG_BUF_INIT, msg = FG_BUF_INIT;
    switch (c->outcome) {
    case FG_PAYOUT_NO_MERCHANT:
        fg_call_error(call, 404, "not_found", "merchant_not_found", "no such merchant", "merchant_id");
        break;
    case FG_PAYOUT_NO_ACCOUNT:
        fg_call_error(call, 422, "invalid_request", "payout_account_missing",
                      "the merchant has no payout account (bank BIN, account number and name): an admin sets it with "
                      "POST /v1/merchants/{id}/payout-account or feegate admin merchant set-payout-account",
                      "merchant_id");
        break;
    case FG_PAYOUT_EXCEEDS_BALANCE:
        fg_buf_printf(&msg,
                      "amount %lld exceeds the merchant's balance of %lld %s (what the city collected for it, less its "
                      "refunds, those still pending too, and every payout already made)",
                      (long long)c->in->amount, (long long)c->balance, FG_PAYOUT_CURRENCY);
        fg_buf_puts(&b, "{\"error\":{");
        fg_json_kv_str(&b, 0, "type", "invalid_request");
        fg_json_kv_str(&b, 1, "code", "payout_exceeds_balance");
        fg_json_kv_str(&b, 1, "message", msg.data);
        fg_json_kv_str(&b, 1, "field", "amount");
        fg_json_kv_int(&b, 1, "balance", c->balance);
        fg_json_kv_int(&b, 1, "amount", c->in->amount);
        fg_buf_puts(&b, "}}");
        fg_call_json(call, 422, &b);
        break;
    default: /* FG_PAYOUT_REFERENCE_TAKEN */
        fg_buf_printf(&msg, "the merchant's payout %s has the reference \"%s\" and another amount (%lld)",
                      c->payout.public_id.data, c->in->reference, (long long)c->payout.amount);
        fg_buf_puts(&b, "{\"error\":{");
        fg_json_kv_str(&b, 0, "type", "conflict");
        fg_json_kv_str(&b, 1, "code", "duplicate_reference");
        fg_json_kv_str(&b, 1, "message", msg.data);
        fg_json_kv_str(&b, 1, "field", "reference");
        fg_json_kv_strn(&b, 1, "existing_payout_id", c->payout.public_id.data, c->payout.public_id.len);
        fg_buf_puts(&b, "}}");
        fg_call_json(call, 409, &b);
        break;
    }
    fg_buf_free(&b);
    fg_buf_free(&msg);
}

void fg_payouts_create(fg_call_t *call, fg_db_t *db)
{
    fg_field_error_t err;
    fg_payout_input_t in;
    create_t c = {.call = call, .in = &in, .body = FG_BUF_INIT};
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL) {
        fg_call_field_error(call, &err);
        return;
    }
    if (fg_payout_input_parse(root, &in, &err) != 0) {
        fg_call_field_error(call, &err);
        goto Exit;
    }
    int rc = fg_db_tx(db, create_tx, &c);
    if (rc == 0)
        fg_call_json(call, c.outcome == FG_PAYOUT_MADE ? 201 : 200, &c.body);
    else if (rc == 1)
        answer_refusal(call, &c);
    else if (rc == FG_ECONFLICT && call->idem_taken)
        fg_idem_answer_conflict(call, db);
    else
        fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
Exit:
    fg_payout_free(&c.payout);
    fg_buf_free(&c.body);
    yajl_tree_free(root);
}

/* ---- GET /v1/payouts, GET /v1/payouts/{id} ----------------------------------------- */

typedef struct {
    fg_buf_t body;
    int64_t count, last_id;
} list_page_t;

static void list_one(const fg_payout_t *p, void *arg)
{
    list_page_t *lp = arg;
    if (lp->count++ > 0)
        fg_buf_putc(&lp->body, ',');
    fg_payout_json(&lp->body, p);
    lp->last_id = p->id;
}

void fg_payouts_list(fg_call_t *call, fg_db_t *db)
{
    fg_payout_query_t q = {0};
    fg_page_t page;
    size_t len;
    int more = 0;
    if (fg_call_page(call, &page) != 0)
        return;
    const char *v = fg_call_query(call, "status", &len);
    if (v != NULL && len > 0) {
        if (fg_payout_status_parse(v, len, &q.status) != 0) {
            fg_call_error(call, 400, "invalid_request", "invalid_status", "status must be pending, batched or paid",
                          "status");
            return;
        }
        q.has_status = 1;
    }
    v = fg_call_query(call, "merchant_id", &len);
    if (v != NULL && len > PUBLIC_ID_MAX) {
        fg_call_error(call, 400, "invalid_request", "invalid_merchant_id", "merchant_id is a merchant's id (mer_…)",
                      "merchant_id");
        return;
    }
    q.merchant_id = v != NULL && len > 0 ? v : NULL;
    list_page_t lp = {.body = FG_BUF_INIT};
    fg_buf_puts(&lp.body, "{\"object\":\"list\",\"data\":[");
    int rc = fg_payout_list(db, &q, &page, list_one, &lp, &more);
    fg_db_end(db);
    if (rc == 0) {
        fg_page_close(&lp.body, more, lp.last_id);
        fg_call_json(call, 200, &lp.body);
    } else {
        fg_call_db_error(call, db, rc);
    }
    fg_buf_free(&lp.body);
}

void fg_payouts_get(fg_call_t *call, fg_db_t *db)
{
    fg_payout_t p = {0};
    int rc = call->param_lens[0] <= PUBLIC_ID_MAX ? fg_payout_get(db, call->params[0], call->param_lens[0], &p)
                                                  : FG_ENOTFOUND;
    fg_db_end(db);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "payout_not_found", "no such payout", NULL);
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_buf_t b = FG_BUF_INIT;
        fg_payout_json(&b, &p);
        fg_call_json(call, 200, &b);
    }
    fg_payout_free(&p);
}

/* ---- POST /v1/payout-batches ------------------------------------------------------- */

typedef struct {
    fg_call_t *call;
    const char *account;
    fg_payout_batch_t batch;
    fg_buf_t body;
} batch_t;

static int batch_tx(fg_db_t *db, void *arg)
{
    batch_t *bt = arg;
    fg_payout_batch_free(&bt->batch);
    memset(&bt->batch, 0, sizeof(bt->batch));
    int rc = fg_payout_batch_create(db, bt->call->cfg, bt->account, bt->call->staff_email, fg_now_ms(), &bt->batch);
    if (rc != 0)
        return rc;
    fg_buf_reset(&bt->body);
    fg_payout_batch_json(&bt->body, &bt->batch);
    return fg_idem_store(db, bt->call, 201, &bt->body);
}

void fg_payout_batches_create(fg_call_t *call, fg_db_t *db)
{
    fg_field_error_t err;
    batch_t bt = {.call = call, .body = FG_BUF_INIT};
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL) {
        fg_call_field_error(call, &err);
        return;
    }
    static const char *const FIELDS[] = {"account"};
    if (fg_json_known_fields(root, FIELDS, 1, &err) != 0 ||
        fg_json_required_string(fg_json_member(root, "account"), "account", FG_STMT_ACCOUNT_WRITTEN_MAX, &bt.account,
                                &err) != 0) {
        fg_call_field_error(call, &err);
        goto Exit;
    }
    int rc = fg_db_tx(db, batch_tx, &bt);
    if (rc == 0)
        fg_call_json(call, 201, &bt.body);
    else if (rc == FG_EINVALID)
        fg_call_error(call, 422, "invalid_request", "invalid_account",
                      "account is the city's bank account paying the batch: 1 to 34 letters and digits (spaces, dots "
                      "and dashes aside)",
                      "account");
    else if (rc == FG_ENOTFOUND)
        fg_call_error(call, 422, "invalid_request", "unknown_account",
                      "account is not one of the city's bank accounts: it must be the collection account "
                      "(vietqr.account_no, sepay.accounts) or an account whose statements are imported, so that its "
                      "statement can show the batch paid",
                      "account");
    else if (rc == FG_EUNSUPPORTED)
        fg_call_error(call, 422, "invalid_request", "account_currency",
                      "the account's statements are in another currency than the payouts (VND): a batch is paid "
                      "from an account in đồng",
                      "account");
    else if (rc == FG_ESTATE)
        fg_call_error(call, 409, "conflict", "no_pending_payouts", "no payout waits for a batch", NULL);
    else if (rc == FG_ECONFLICT && call->idem_taken)
        fg_idem_answer_conflict(call, db);
    else
        fg_call_db_error(call, db, rc == FG_ECONFLICT ? FG_ERETRY : rc);
Exit:
    fg_payout_batch_free(&bt.batch);
    fg_buf_free(&bt.body);
    yajl_tree_free(root);
}

/* ---- GET /v1/payout-batches/{id}[/file] -------------------------------------------- */

/* The batch named by the path, or -1 after answering. */
static int batch_load(fg_call_t *call, fg_db_t *db, fg_payout_batch_t *b)
{
    int rc = call->param_lens[0] <= PUBLIC_ID_MAX ? fg_payout_batch_get(db, call->params[0], call->param_lens[0], b)
                                                  : FG_ENOTFOUND;
    if (rc == FG_ENOTFOUND)
        fg_call_error(call, 404, "not_found", "payout_batch_not_found", "no such payout batch", NULL);
    else if (rc != 0)
        fg_call_db_error(call, db, rc);
    return rc == 0 ? 0 : -1;
}

void fg_payout_batches_get(fg_call_t *call, fg_db_t *db)
{
    fg_payout_batch_t batch = {0};
    if (batch_load(call, db, &batch) == 0) {
        fg_buf_t b = FG_BUF_INIT;
        fg_payout_batch_json(&b, &batch);
        fg_call_json(call, 200, &b);
    }
    fg_db_end(db);
    fg_payout_batch_free(&batch);
}

void fg_payout_batches_file(fg_call_t *call, fg_db_t *db)
{
    fg_payout_batch_t batch = {0};
    fg_buf_t csv = FG_BUF_INIT;
    if (batch_load(call, db, &batch) == 0) {
        int rc = fg_payout_batch_file(db, &batch, &csv);
        if (rc == 0) {
            char disposition[96];
            snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.csv\"", batch.public_id.data);
            fg_call_add_header(call, "content-disposition", disposition);
            fg_call_body(call, 200, "text/csv; charset=utf-8", &csv);
        } else if (rc == FG_ECHECKSUM || rc == FG_EOVERFLOW) {
            fg_call_error(call, 500, "internal", "batch_file_mismatch",
                          "the batch's payouts do not add up to its count and total: the file is not given out", NULL);
        } else {
            fg_call_db_error(call, db, rc);
        }
    }
    fg_db_end(db);
    fg_payout_batch_free(&batch);
    fg_buf_free(&csv);
}

/* ---- POST /v1/merchants/{id}/payout-account ---------------------------------------- */

typedef struct {
    fg_call_t *call;
    fg_payout_account_t account;
    fg_buf_t body;
} account_t;

static int account_tx(fg_db_t *db, void *arg)
{
    account_t *a = arg;
    fg_buf_reset(&a->body);
    int rc = fg_payout_account_set(db, a->call->params[0], &a->account, a->call->staff_email, &a->body);
    if (rc != 0)
        return rc;
    return fg_idem_store(db, a->call, 200, &a->body);
}

static const char *const ACCOUNT_FIELDS[] = {"bank_bin", "account_number", "account_name"};

void fg_merchants_payout_account(fg_call_t *call, fg_db_t *db)
{
    fg_field_error_t err;
    const char *field = NULL;
    account_t a = {.call = call, .body = FG_BUF_INIT};
    const char **values[] = {&a.account.bank_bin, &a.account.account_no, &a.account.account_name};
    yajl_val root = fg_call_json_object(call, &err);
    if (root == NULL) {
        fg_call_field_error(call, &err);
        return;
    }
    for (size_t i = 0; i < root->u.object.len; i++) {
        size_t k = 0;
        while (k < 3 && strcmp(ACCOUNT_FIELDS[k], root->u.object.keys[i]) != 0)
            k++;
        if (k == 3) {
            fg_call_error(call, 400, "invalid_request", "unknown_field",
                          "a payout account has bank_bin, account_number and account_name", root->u.object.keys[i]);
            goto Exit;
        }
    }
    for (size_t k = 0; k < 3; k++)
        if (fg_json_required_string(fg_json_member(root, ACCOUNT_FIELDS[k]), ACCOUNT_FIELDS[k], 1024, values[k],
                                    &err) != 0) {
            fg_call_field_error(call, &err);
            goto Exit;
        }
    int checked = fg_payout_account_check(&a.account, &field);
    if (checked == FG_ENOTFOUND) {
        fg_call_error(call, 422, "invalid_request", "unknown_bank",
                      "bank_bin names no NAPAS member bank feegate knows: the BIN VietQR gives the bank (970436 is "
                      "Vietcombank); a transfer to any other would come back",
                      "bank_bin");
        goto Exit;
    }
    if (checked != 0) {
        fg_call_error(call, 422, "invalid_request", "invalid_payout_account",
                      "bank_bin is the bank's 6-digit NAPAS BIN, account_number 1 to 34 letters and digits, "
                      "account_name 1 to 100 characters without control characters or spaces at either end",
                      field);
        goto Exit;
    }
    int rc = fg_db_tx(db, account_tx, &a);
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
