/*
 * batch.c - issuing a claimed batch of queued receipts in a handful of
 * statements, whatever its size: the payments, orders and merchants' current
 * settings in one read, each (merchant, serial) series advanced by its count
 * in one array-bound upsert (locked in key order, so two issuers never
 * deadlock on each other), the new last numbers read back, the receipts
 * written in one array-bound insert and the claims deleted in another.  All
 * in the caller's transaction: a rollback returns every number.  A batch
 * that meets a used-up series is left to the one-by-one path
 * (store.c), which issues the others and leaves that merchant's queued.
 */
#include "receipts/receipts_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/text.h"

/* clang-format off */
static const char SQL_DETAILS[] =
    "SELECT q.receipt_public_id, q.payment_id, q.merchant_id, q.amount, q.currency, q.method, "
    "COALESCE(" FG_RECEIPT_PROVIDER_REF_SQL("q.provider_ref") ", ''), q.paid_at, p.public_id, o.id, COALESCE(o.payer_name, ''), "
    "COALESCE(o.payer_ref, ''), o.merchant_ref, o.fee_type, COALESCE(o.description, ''), "
    "COALESCE(m.receipt_unit_name, m.name), COALESCE(m.receipt_tax_code, ''), COALESCE(m.receipt_address, ''), "
    "m.receipt_form, m.receipt_serial FROM receipt_queue q JOIN payments p ON p.id = q.payment_id "
    "JOIN orders o ON o.id = p.order_id JOIN merchants m ON m.id = q.merchant_id "
    "WHERE q.payment_id BETWEEN ? AND ?";
static const char SQL_ADVANCE[] =
    "INSERT INTO receipt_counters (merchant_id, serial, last_number) VALUES (?, ?, ?) "
    "ON DUPLICATE KEY UPDATE last_number = last_number + VALUES(last_number)";
static const char SQL_LAST[] =
    "SELECT merchant_id, serial, last_number FROM receipt_counters WHERE merchant_id BETWEEN ? AND ?";
static const char SQL_WRITE[] =
    "INSERT INTO receipts (public_id, merchant_id, payment_id, order_id, kind, status, related_id, form, serial, "
    "number, unit_name, unit_tax_code, unit_address, payer_name, payer_ref, bill_ref, fee_type, description, amount, "
    "currency, method, provider_ref, paid_at, issued_at, issued_day) VALUES (?, ?, ?, ?, ?, 'issued', "
    "NULLIF(?, 0), ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''), ?, ?, NULLIF(?, ''), ?, "
    "?, ?, NULLIF(?, ''), ?, ?, ?)";
/* the claims, gone in one statement ([payment id]: one claim a payment) */
static const char SQL_UNQUEUE[] =
    "DELETE q FROM JSON_TABLE(?, '$[*]' COLUMNS (p BIGINT UNSIGNED PATH '$')) j "
    "STRAIGHT_JOIN receipt_queue q ON q.payment_id = j.p";
/* clang-format on */

enum {
    T_ID,
    T_CURRENCY,
    T_METHOD,
    T_PROVIDER,
    T_PAYMENT,
    T_PAYER,
    T_PAYER_REF,
    T_BILL,
    T_FEE,
    T_DESCRIPTION,
    T_UNIT,
    T_TAX,
    T_ADDRESS,
    T_FORM,
    T_SERIAL,
    T_COUNT
};

typedef struct {
    char *text[T_COUNT]; /* owned */
    int64_t payment_id, merchant_id, order_id, amount, paid_at, number;
    int64_t related; /* an adjustment's original (row id); 0 for an original */
    int found;
} item_t;

/* The items sorted by series, then payment: numbers go in payment order. */
static int by_series(const void *pa, const void *pb)
{
    const item_t *a = pa, *b = pb;
    if (a->merchant_id != b->merchant_id)
        return a->merchant_id < b->merchant_id ? -1 : 1;
    int c = strcmp(a->text[T_SERIAL], b->text[T_SERIAL]);
    if (c != 0)
        return c;
    return (a->payment_id > b->payment_id) - (a->payment_id < b->payment_id);
}

static int read_details(fg_db_t *db, const fg_receipt_claim_t *claims, int n, item_t *items)
{
    int64_t lo = claims[0].payment_id, hi = claims[0].payment_id, payment, merchant, amount, paid_at, order;
    fg_buf_t t[T_COUNT];
    fg_stmt_t s;
    for (int i = 1; i < n; i++) {
        lo = claims[i].payment_id < lo ? claims[i].payment_id : lo;
        hi = claims[i].payment_id > hi ? claims[i].payment_id : hi;
    }
    for (int i = 0; i < T_COUNT; i++)
        t[i] = (fg_buf_t)FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_DETAILS);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, lo);
    fg_stmt_int(&s, hi);
    fg_stmt_out_text(&s, &t[T_ID], NULL);
    fg_stmt_out_int(&s, &payment, NULL);
    fg_stmt_out_int(&s, &merchant, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    fg_stmt_out_text(&s, &t[T_CURRENCY], NULL);
    fg_stmt_out_text(&s, &t[T_METHOD], NULL);
    fg_stmt_out_text(&s, &t[T_PROVIDER], NULL);
    fg_stmt_out_int(&s, &paid_at, NULL);
    fg_stmt_out_text(&s, &t[T_PAYMENT], NULL);
    fg_stmt_out_int(&s, &order, NULL);
    for (int c = T_PAYER; c < T_COUNT; c++)
        fg_stmt_out_text(&s, &t[c], NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            /* the range may hold rows another issuer claimed: only ours */
            int k = 0;
            while (k < n && strcmp(claims[k].id, t[T_ID].data) != 0)
                k++;
            if (k == n)
                continue;
            item_t *it = &items[k];
            for (int c = 0; c < T_COUNT; c++)
                it->text[c] = strdup(t[c].data != NULL ? t[c].data : "");
            it->payment_id = payment, it->merchant_id = merchant, it->amount = amount;
            it->paid_at = paid_at, it->order_id = order, it->found = 1;
        }
    }
    for (int i = 0; i < T_COUNT; i++)
        fg_buf_free(&t[i]);
    for (int i = 0; rc == 0 && i < n; i++)
        if (!items[i].found)
            rc = FG_EDB; /* claimed under our lock: it exists */
    return rc < 0 ? rc : 0;
}

/* Advances each series by its count and numbers its items. */
static int take_numbers(fg_db_t *db, item_t *items, int n)
{
    int64_t ids[FG_RECEIPT_CLAIM_MAX], counts[FG_RECEIPT_CLAIM_MAX], merchant, last;
    const char *serials[FG_RECEIPT_CLAIM_MAX];
    unsigned long lens[FG_RECEIPT_CLAIM_MAX];
    int first[FG_RECEIPT_CLAIM_MAX], g = 0;
    for (int i = 0; i < n; i++) {
        if (g == 0 || items[i].merchant_id != ids[g - 1] || strcmp(items[i].text[T_SERIAL], serials[g - 1]) != 0) {
            ids[g] = items[i].merchant_id;
            serials[g] = items[i].text[T_SERIAL];
            lens[g] = strlen(serials[g]);
            counts[g] = 0;
            first[g] = i;
            g++;
        }
        counts[g - 1]++;
    }
    fg_db_column_t cols[3] = {{FG_DB_V_INT, ids, NULL, NULL},
                              {FG_DB_V_STR, NULL, serials, lens},
                              {FG_DB_V_INT, counts, NULL, NULL}};
    int rc = fg_db_bulk(db, SQL_ADVANCE, cols, 3, (unsigned)g, NULL);
    if (rc == FG_EDB && fg_db_errno(db) == 4025) /* ck_receipt_counters_range: a series used up */
        return FG_ERANGE;
    if (rc != 0)
        return rc == FG_ECONFLICT ? FG_EDB : rc;
    fg_buf_t serial = FG_BUF_INIT;
    fg_stmt_t s;
    int numbered = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_LAST)) != 0)
        return rc;
    fg_stmt_int(&s, ids[0]);
    fg_stmt_int(&s, ids[g - 1]);
    fg_stmt_out_int(&s, &merchant, NULL);
    fg_stmt_out_text(&s, &serial, NULL);
    fg_stmt_out_int(&s, &last, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            for (int k = 0; k < g; k++) {
                if (ids[k] != merchant || strcmp(serials[k], serial.data) != 0)
                    continue;
                for (int j = 0; j < counts[k]; j++)
                    items[first[k] + j].number = last - counts[k] + 1 + j;
                numbered++;
            }
        }
    }
    fg_buf_free(&serial);
    if (rc >= 0 && numbered != g)
        rc = FG_EDB;
    return rc < 0 ? rc : 0;
}

/* Starts s (sql), bound to its one parameter: the JSON array of the items'
 * merchant ids (by_merchant) or payment ids, whose text json holds until the
 * statement has run. */
static int init_with_ids(fg_stmt_t *s, fg_db_t *db, const char *sql, const item_t *items, int n, int by_merchant,
                         fg_buf_t *json)
{
    for (int i = 0; i < n; i++)
        fg_buf_printf(json, "%s%lld", i > 0 ? "," : "[",
                      (long long)(by_merchant ? items[i].merchant_id : items[i].payment_id));
    fg_buf_putc(json, ']');
    int rc = fg_stmt_init(s, db, sql);
    if (rc == 0)
        fg_stmt_str(s, json->data, json->len);
    return rc;
}

/* Deletes the items' claims (locked by this transaction since the claim):
 * one statement, not one execution a row, which cost a receipt about as
 * much as writing it. */
static int unqueue(fg_db_t *db, const item_t *items, int n)
{
    fg_buf_t json = FG_BUF_INIT;
    fg_stmt_t s;
    int rc = init_with_ids(&s, db, SQL_UNQUEUE, items, n, 0, &json);
    if (rc == 0)
        rc = fg_stmt_exec(&s);
    if (rc == 0 && fg_stmt_affected(&s) != (uint64_t)n)
        rc = FG_EDB; /* claimed under our lock: each is there, once */
    fg_buf_free(&json);
    return rc;
}

/* Writes the numbered items: originals (unqueued), or adjustments. */
static int write_receipts(fg_db_t *db, const item_t *items, int n, int64_t now_ms, int adjustments)
{
    enum {
        C_ID,
        C_MERCHANT,
        C_PAYMENT,
        C_ORDER,
        C_KIND,
        C_RELATED,
        C_FORM,
        C_SERIAL,
        C_NUMBER,
        C_UNIT,
        C_TAX,
        C_ADDRESS,
        C_PAYER,
        C_PAYER_REF,
        C_BILL,
        C_FEE,
        C_DESCRIPTION,
        C_AMOUNT,
        C_CURRENCY,
        C_METHOD,
        C_PROVIDER,
        C_PAID,
        C_ISSUED,
        C_DAY,
        C_COUNT
    };
    /* which text of an item each string column takes; -1 for the integer ones */
    static const int TEXT_OF[C_COUNT] = {
        T_ID,       -1,       -1,         -1,      -1,          -1,     T_FORM, T_SERIAL,      -1,
        T_UNIT,     T_TAX,    T_ADDRESS,  T_PAYER, T_PAYER_REF, T_BILL, T_FEE,  T_DESCRIPTION, -1,
        T_CURRENCY, T_METHOD, T_PROVIDER, -1,      -1,          -1};
    char day[11];
    fg_day_format(fg_day_of_ms(now_ms), day);
    const char **strs = calloc((size_t)C_COUNT * (size_t)n, sizeof(*strs));
    unsigned long *lens = calloc((size_t)C_COUNT * (size_t)n, sizeof(*lens));
    int64_t *ints = calloc((size_t)C_COUNT * (size_t)n, sizeof(*ints));
    if (strs == NULL || lens == NULL || ints == NULL) {
        free(strs), free(lens), free(ints);
        return FG_ENOMEM;
    }
    fg_db_column_t cols[C_COUNT];
    for (int c = 0; c < C_COUNT; c++) {
        const char **cs = strs + (size_t)c * (size_t)n;
        unsigned long *cl = lens + (size_t)c * (size_t)n;
        int64_t *ci = ints + (size_t)c * (size_t)n;
        for (int i = 0; i < n; i++) {
            const item_t *it = &items[i];
            if (c == C_DAY)
                cs[i] = day;
            else if (c == C_KIND)
                cs[i] = adjustments ? "adjustment" : "original";
            else if (TEXT_OF[c] >= 0)
                cs[i] = it->text[TEXT_OF[c]];
            cl[i] = cs[i] != NULL ? strlen(cs[i]) : 0;
            ci[i] = c == C_MERCHANT  ? it->merchant_id
                    : c == C_PAYMENT ? it->payment_id
                    : c == C_ORDER   ? it->order_id
                    : c == C_NUMBER  ? it->number
                    : c == C_AMOUNT  ? it->amount
                    : c == C_PAID    ? it->paid_at
                    : c == C_ISSUED  ? now_ms
                    : c == C_RELATED ? it->related
                                     : 0;
        }
        int text = c == C_DAY || c == C_KIND || TEXT_OF[c] >= 0;
        cols[c] = text ? (fg_db_column_t){FG_DB_V_STR, NULL, cs, cl} : (fg_db_column_t){FG_DB_V_INT, ci, NULL, NULL};
    }
    int rc = fg_db_bulk(db, SQL_WRITE, cols, C_COUNT, (unsigned)n, NULL);
    free(strs), free(lens), free(ints);
    if (rc == 0 && !adjustments)
        rc = unqueue(db, items, n);
    return rc == FG_ECONFLICT ? FG_EDB : rc;
}

/* Numbers the read items by series and writes them. */
static int number_and_write(fg_db_t *db, item_t *items, int n, int64_t now_ms, int adjustments)
{
    qsort(items, (size_t)n, sizeof(items[0]), by_series);
    int rc = take_numbers(db, items, n);
    for (int i = 0; rc == 0 && i < n; i++)
        if (items[i].number < 1 || items[i].number > FG_RECEIPT_NUMBER_MAX)
            rc = FG_ERANGE;
    return rc != 0 ? rc : write_receipts(db, items, n, now_ms, adjustments);
}

static void items_free(item_t *items, int n)
{
    for (int i = 0; i < n; i++)
        for (int c = 0; c < T_COUNT; c++)
            free(items[i].text[c]);
    free(items);
}

int fg_receipt_issue_batch(fg_db_t *db, const fg_receipt_claim_t *claims, int n, int64_t now_ms)
{
    if (n <= 0)
        return 0;
    item_t *items = fg_calloc((size_t)n, sizeof(*items));
    int rc = read_details(db, claims, n, items);
    if (rc == 0)
        rc = number_and_write(db, items, n, now_ms, 0);
    items_free(items, n);
    return rc;
}

/* ---- adjustments ----------------------------------------------------------------- */

/* clang-format off */
/* The payments' originals, locked ([payment id], in payment order): what an
 * adjustment copies of them. */
static const char SQL_ORIGINALS[] =
    "SELECT r.id, r.payment_id, r.merchant_id, r.order_id, COALESCE(r.payer_name, ''), COALESCE(r.payer_ref, ''), "
    "r.bill_ref, r.fee_type, COALESCE(r.description, ''), r.unit_name, COALESCE(r.unit_tax_code, ''), "
    "COALESCE(r.unit_address, ''), r.currency, r.method FROM JSON_TABLE(?, '$[*]' COLUMNS (p BIGINT PATH '$')) j "
    "STRAIGHT_JOIN receipts r ON r.original_of = j.p FOR UPDATE";
/* clang-format on */
/* The series each merchant issues from now ([merchant id]). */
static const char SQL_SERIES[] =
    "SELECT m.id, m.receipt_form, m.receipt_serial FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) j "
    "STRAIGHT_JOIN merchants m ON m.id = j.id";
static const char SQL_ADJUSTED[] = "UPDATE receipts SET status = 'adjusted' WHERE id = ?";

static int by_payment(const void *pa, const void *pb)
{
    const fg_receipt_adjustment_t *a = *(const fg_receipt_adjustment_t *const *)pa;
    const fg_receipt_adjustment_t *b = *(const fg_receipt_adjustment_t *const *)pb;
    return (a->in.payment_id > b->in.payment_id) - (a->in.payment_id < b->in.payment_id);
}

/* The originals of a's payments, locked and read into items (in a's order);
 * FG_ENOTFOUND when one has none issued. */
static int read_originals(fg_db_t *db, const fg_receipt_adjustment_t *a, int n, item_t *items)
{
    enum { O_PAYER, O_PAYER_REF, O_BILL, O_FEE, O_DESCRIPTION, O_UNIT, O_TAX, O_ADDRESS, O_CURRENCY, O_METHOD, O_N };
    static const int TEXT_OF[O_N] = {T_PAYER, T_PAYER_REF, T_BILL,    T_FEE,      T_DESCRIPTION,
                                     T_UNIT,  T_TAX,       T_ADDRESS, T_CURRENCY, T_METHOD};
    const fg_receipt_adjustment_t **sorted = fg_malloc((size_t)n * sizeof(*sorted));
    fg_buf_t json = FG_BUF_INIT, t[O_N];
    int64_t row = 0, payment = 0, merchant = 0, order = 0;
    fg_stmt_t s;
    for (int i = 0; i < n; i++)
        sorted[i] = &a[i];
    qsort(sorted, (size_t)n, sizeof(sorted[0]), by_payment); /* locked in payment order */
    for (int i = 0; i < n; i++)
        fg_buf_printf(&json, "%s%lld", i > 0 ? "," : "[", (long long)sorted[i]->in.payment_id);
    fg_buf_putc(&json, ']');
    for (int c = 0; c < O_N; c++)
        t[c] = (fg_buf_t)FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_ORIGINALS);
    if (rc == 0) {
        fg_stmt_str(&s, json.data, json.len);
        fg_stmt_out_int(&s, &row, NULL);
        fg_stmt_out_int(&s, &payment, NULL);
        fg_stmt_out_int(&s, &merchant, NULL);
        fg_stmt_out_int(&s, &order, NULL);
        for (int c = 0; c < O_N; c++)
            fg_stmt_out_text(&s, &t[c], NULL);
        rc = fg_stmt_exec(&s);
    }
    while (rc == 0 && (rc = fg_stmt_fetch(&s)) == 1) {
        rc = 0;
        for (int i = 0; i < n; i++) {
            item_t *it = &items[i];
            if (a[i].in.payment_id != payment || it->found)
                continue;
            for (int c = 0; c < O_N; c++)
                it->text[TEXT_OF[c]] = strdup(t[c].data != NULL ? t[c].data : "");
            it->payment_id = payment, it->merchant_id = merchant, it->order_id = order, it->related = row;
            it->found = 1;
        }
    }
    for (int i = 0; rc == 0 && i < n; i++)
        if (!items[i].found)
            rc = FG_ENOTFOUND; /* not issued yet, or none: each alone */
    for (int c = 0; c < O_N; c++)
        fg_buf_free(&t[c]);
    fg_buf_free(&json);
    free(sorted);
    return rc < 0 ? rc : 0;
}

/* The series each item's merchant issues from now. */
static int read_series(fg_db_t *db, item_t *items, int n)
{
    fg_buf_t json = FG_BUF_INIT, form = FG_BUF_INIT, serial = FG_BUF_INIT;
    int64_t merchant = 0;
    fg_stmt_t s;
    int rc = init_with_ids(&s, db, SQL_SERIES, items, n, 1, &json);
    if (rc == 0) {
        fg_stmt_out_int(&s, &merchant, NULL);
        fg_stmt_out_text(&s, &form, NULL);
        fg_stmt_out_text(&s, &serial, NULL);
        rc = fg_stmt_exec(&s);
    }
    while (rc == 0 && (rc = fg_stmt_fetch(&s)) == 1) {
        rc = 0;
        for (int i = 0; i < n; i++)
            if (items[i].merchant_id == merchant && items[i].text[T_SERIAL] == NULL) {
                items[i].text[T_FORM] = strdup(form.data);
                items[i].text[T_SERIAL] = strdup(serial.data);
            }
    }
    for (int i = 0; rc == 0 && i < n; i++)
        if (items[i].text[T_SERIAL] == NULL)
            rc = FG_EDB; /* the receipt's merchant exists: under a foreign key */
    fg_buf_free(&json);
    fg_buf_free(&form);
    fg_buf_free(&serial);
    return rc < 0 ? rc : 0;
}

int fg_receipt_adjust_many(fg_db_t *db, const fg_receipt_adjustment_t *a, int n, int64_t now_ms)
{
    assert(n > 0 && n <= FG_RECEIPT_CLAIM_MAX);
    for (int i = 0; i < n; i++)
        if (a[i].in.amount <= 0 || a[i].in.amount > FG_RECEIPT_AMOUNT_MAX)
            return FG_ERANGE;
    item_t *items = fg_calloc((size_t)n, sizeof(*items));
    int rc = read_originals(db, a, n, items);
    if (rc == 0)
        rc = read_series(db, items, n);
    int64_t *originals = fg_malloc((size_t)n * sizeof(*originals));
    for (int i = 0; rc == 0 && i < n; i++) {
        items[i].text[T_ID] = strdup(a[i].id);
        items[i].text[T_PROVIDER] = strdup(a[i].in.provider_ref != NULL ? a[i].in.provider_ref : "");
        items[i].amount = -a[i].in.amount;
        items[i].paid_at = now_ms;
        originals[i] = items[i].related;
    }
    if (rc == 0) {
        fg_db_column_t id = {FG_DB_V_INT, originals, NULL, NULL};
        rc = fg_db_bulk(db, SQL_ADJUSTED, &id, 1, (unsigned)n, NULL);
    }
    free(originals);
    if (rc == 0)
        rc = number_and_write(db, items, n, now_ms, 1);
    items_free(items, n);
    return rc;
}
