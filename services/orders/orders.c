/*
 * orders.c - the domain operations on orders: create (alone or as one order
 * of a batch), read, list, cancel.  No transport: the API
 * (services/api/orders.c) parses requests, runs these in its transactions
 * and answers.
 */
#define _GNU_SOURCE /* qsort_r */
#include "orders/orders_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A code collision (50 random bits) is retried with a new code this often. */
#define CODE_ATTEMPTS_MAX 4

/* ---- create ----------------------------------------------------------------- */

/* The duplicate the database reported was the order code's: its message
 * ends with the key's name (the duplicate value before it is the caller's,
 * a merchant_ref may hold any text). */
static int code_taken(fg_db_t *db)
{
    static const char KEY[] = "for key 'uq_orders_code'";
    const char *e = fg_db_error(db);
    size_t n = strlen(e), k = sizeof(KEY) - 1;
    return n >= k && strcmp(e + n - k, KEY) == 0;
}

/* Inserts r, drawing a new code on the (rare) code collision.  Strict
 * (existing_id NULL): FG_ECONFLICT when the merchant_ref is taken.  Ignore
 * mode: a taken merchant_ref sets *created to 0 and existing_id to the
 * public id of the order that has it. */
static int insert_with_code_retry(fg_db_t *db, const fg_merchant_ref_t *m, fg_order_row_t *r, fg_buf_t *existing_id,
                                  int *created)
{
    int ignore = existing_id != NULL;
    for (int attempt = 0; attempt < CODE_ATTEMPTS_MAX; attempt++) {
        int ok = 0;
        int rc = fg_order_insert(db, m, r, ignore, &ok);
        if (rc == 0 && ignore && !ok) {
            /* Ignored: merchant_ref taken, or (almost never) the code. */
            fg_buf_reset(existing_id);
            rc = fg_order_find_ref(db, m->id, r->merchant_ref.data, r->merchant_ref.len, existing_id);
            if (rc == 0) {
                *created = 0;
                return 0;
            }
            if (rc != FG_ENOTFOUND)
                return rc;
        } else if (rc == FG_ECONFLICT && !code_taken(db)) {
            return FG_ECONFLICT;
        } else if (rc != FG_ECONFLICT) {
            if (created != NULL)
                *created = rc == 0;
            return rc;
        }
        if (fg_order_new_code(r) != 0)
            return FG_EIO;
    }
    return FG_EDB;
}

int fg_order_create(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_input_t *in, int64_t now_ms,
                    fg_order_row_t *out)
{
    int rc = fg_order_row_from_input(out, in, now_ms);
    if (rc != 0)
        return rc;
    return insert_with_code_retry(db, m, out, NULL, NULL);
}

int fg_order_create_or_existing(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_input_t *in, int64_t now_ms,
                                fg_order_row_t *out, int *created, fg_buf_t *existing_id)
{
    *created = 0;
    int rc = fg_order_row_from_input(out, in, now_ms);
    if (rc != 0)
        return rc;
    return insert_with_code_retry(db, m, out, existing_id, created);
}

static int compare_ref(const void *a, const void *b, void *arg)
{
    const fg_order_input_t *const *in = arg;
    int x = *(const int *)a, y = *(const int *)b;
    int c = strcmp(in[x]->merchant_ref, in[y]->merchant_ref);
    return c != 0 ? c : (x > y) - (x < y);
}

void fg_order_set_init(fg_order_set_t *set, int n)
{
    set->n = n;
    set->inputs = fg_calloc((size_t)n, sizeof(*set->inputs));
    set->in = fg_calloc((size_t)n, sizeof(*set->in));
    set->rows = fg_calloc((size_t)n, sizeof(*set->rows));
    set->created = fg_calloc((size_t)n, sizeof(*set->created));
    set->existing_id = fg_calloc((size_t)n, sizeof(*set->existing_id));
    set->existing_code = fg_calloc((size_t)n, sizeof(*set->existing_code));
    for (int i = 0; i < n; i++)
        fg_order_row_init(&set->rows[i]);
}

void fg_order_set_free(fg_order_set_t *set)
{
    for (int i = 0; i < set->n; i++) {
        fg_order_input_free(&set->inputs[i]);
        fg_order_row_free(&set->rows[i]);
        fg_buf_free(&set->existing_id[i]);
        fg_buf_free(&set->existing_code[i]);
    }
    free(set->inputs);
    free(set->in);
    free(set->rows);
    free(set->created);
    free(set->existing_id);
    free(set->existing_code);
}

int fg_order_create_many(fg_db_t *db, const fg_merchant_ref_t *m, fg_order_set_t *set, int64_t now_ms)
{
    int n = set->n;
    const fg_order_input_t *const *in = set->in;
    fg_order_row_t *out = set->rows;
    fg_buf_t *existing_id = set->existing_id, *existing_code = set->existing_code;
    const char **refs = fg_calloc((size_t)n, sizeof(*refs));
    int *order = fg_calloc((size_t)n, sizeof(*order));
    int rc = 0, listed = 0;
    for (int i = 0; i < n; i++) {
        set->created[i] = 0;
        if (in[i] != NULL)
            refs[i] = in[i]->merchant_ref, order[listed++] = i;
    }
    if ((rc = fg_order_find_refs(db, m->id, refs, n, existing_id, existing_code)) != 0)
        goto Exit;
    /* a merchant_ref twice in the batch: the later one names the earlier */
    qsort_r(order, (size_t)listed, sizeof(*order), compare_ref, (void *)in);
    for (int k = 0; k < listed && rc == 0; k++) {
        int i = order[k];
        if (existing_id[i].len > 0)
            continue;
        if (k > 0 && strcmp(in[order[k - 1]]->merchant_ref, in[i]->merchant_ref) == 0) {
            int f = order[k - 1], found = existing_id[f].len > 0;
            const fg_buf_t *id = found ? &existing_id[f] : &out[f].public_id;
            const fg_buf_t *code = found ? &existing_code[f] : &out[f].code;
            fg_buf_append(&existing_id[i], id->data, id->len);
            fg_buf_append(&existing_code[i], code->data, code->len);
            continue;
        }
        if ((rc = fg_order_row_from_input(&out[i], in[i], now_ms)) == 0) {
            int ok = 0;
            rc = fg_order_insert(db, m, &out[i], 0, &ok);
            set->created[i] = rc == 0;
        }
    }
Exit:
    free(refs);
    free(order);
    return rc;
}

/* ---- read ------------------------------------------------------------------- */

int fg_order_get(fg_db_t *db, const fg_merchant_ref_t *m, const char *public_id, size_t len, fg_order_row_t *out)
{
    return fg_order_load(db, m->id, public_id, len, 0, out);
}

/* The effective status (expired at once when past expires_at) is what the
 * status filter matches, so a list agrees with a read of each order; each
 * status is read through an index, newest first, so a filter that matches
 * few of a merchant's orders reads few.  Paid and cancelled are the stored
 * status; open and partially paid the stored status while not past
 * expires_at (ix_orders_merchant_status: the expression alone read every
 * order of the merchant's, 0.23 s for a filter nothing matched at 300,000
 * orders, 7 ms so). */
#define LIST_FILTERS                                                                                                   \
    "AND (? IS NULL OR fee_type = ?) AND (? IS NULL OR merchant_ref = ?) AND (? IS NULL OR created_at >= ?) "          \
    "AND (? IS NULL OR created_at < ?) "
static const char SQL_LIST[] = "SELECT " FG_ORDER_COLUMNS " FROM orders o WHERE merchant_id = ? AND id < ? "
                               "AND (? IS NULL OR (status = ? AND (? NOT IN ('open', 'partially_paid') OR "
                               "expires_at IS NULL OR expires_at > ?))) " LIST_FILTERS "ORDER BY id DESC LIMIT ?";
/* Expired is two sets: the orders the sweeper has marked expired
 * (ix_orders_merchant_status), and the open or partially paid ones past
 * expires_at that it has not reached yet (ix_orders_expiry: its backlog,
 * every merchant's, a few rows while it keeps up), each newest first, merged. */
static const char SQL_LIST_EXPIRED[] =
    "SELECT * FROM ((SELECT " FG_ORDER_COLUMNS " FROM orders o WHERE merchant_id = ? AND id < ? AND status = "
    "'expired' " LIST_FILTERS "ORDER BY id DESC LIMIT ?) UNION ALL (SELECT " FG_ORDER_COLUMNS
    " FROM orders o FORCE INDEX (ix_orders_expiry) WHERE status IN ('open', 'partially_paid') AND expires_at <= ? "
    "AND merchant_id = ? AND id < ? " LIST_FILTERS "ORDER BY id DESC LIMIT ?)) e ORDER BY 1 DESC LIMIT ?";

/* A filter's value twice: "? IS NULL OR column = ?". */
static void bind_optional(fg_stmt_t *s, const char *v)
{
    fg_stmt_cstr(s, v);
    fg_stmt_cstr(s, v);
}

static void bind_optional_int(fg_stmt_t *s, int has, const int64_t *v)
{
    fg_stmt_int_or_null(s, has ? v : NULL);
    fg_stmt_int_or_null(s, has ? v : NULL);
}

/* The list's optional filters, LIST_FILTERS. */
static void bind_filters(fg_stmt_t *s, const fg_order_query_t *q)
{
    bind_optional(s, q->has_fee_type ? fg_fee_type_name(q->fee_type) : NULL);
    bind_optional(s, q->merchant_ref);
    bind_optional_int(s, q->has_created_from, &q->created_from);
    bind_optional_int(s, q->has_created_to, &q->created_to);
}

int fg_order_list(fg_db_t *db, const fg_merchant_ref_t *m, const fg_order_query_t *q, const fg_page_t *page,
                  int64_t now_ms, fg_order_each_fn each, void *arg, int *more)
{
    const char *status = q->has_status ? fg_order_status_name(q->status) : NULL;
    int64_t cursor = page->cursor != 0 ? page->cursor : INT64_MAX; /* newest first */
    fg_stmt_t s;
    fg_order_row_t row;
    int rc;
    int64_t count = 0;
    *more = 0;
    fg_order_row_init(&row);
    if ((rc = fg_stmt_init(&s, db, q->has_status && q->status == FG_ORDER_EXPIRED ? SQL_LIST_EXPIRED : SQL_LIST)) != 0)
        goto Exit;
    if (q->has_status && q->status == FG_ORDER_EXPIRED) {
        fg_stmt_int(&s, (int64_t)m->id);
        fg_stmt_int(&s, cursor);
        bind_filters(&s, q);
        fg_stmt_int(&s, page->limit + 1);
        fg_stmt_int(&s, now_ms);
        fg_stmt_int(&s, (int64_t)m->id);
        fg_stmt_int(&s, cursor);
        bind_filters(&s, q);
        fg_stmt_int(&s, page->limit + 1);
    } else {
        fg_stmt_int(&s, (int64_t)m->id);
        fg_stmt_int(&s, cursor);
        fg_stmt_cstr(&s, status);
        fg_stmt_cstr(&s, status);
        fg_stmt_cstr(&s, status);
        fg_stmt_int(&s, now_ms);
        bind_filters(&s, q);
    }
    fg_stmt_int(&s, page->limit + 1); /* one more tells whether a next page exists */
    fg_order_row_bind(&s, &row);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (count == page->limit) {
            fg_stmt_done(&s);
            break;
        }
        count++;
        each(&row, arg);
    }
    if (rc < 0)
        goto Exit;
    *more = rc == 1;
    rc = 0;
Exit:
    fg_order_row_free(&row);
    return rc;
}

/* ---- cancel ----------------------------------------------------------------- */

static const char SQL_CANCEL[] = "UPDATE orders SET status = 'cancelled', updated_at = ? WHERE id = ?";

int fg_order_cancel(fg_db_t *db, const fg_config_t *cfg, const fg_merchant_ref_t *m, const char *public_id, size_t len,
                    int64_t now_ms, fg_order_row_t *out)
{
    fg_stmt_t s;
    int rc = fg_order_load(db, m->id, public_id, len, 1, out);
    if (rc != 0)
        return rc;
    fg_order_status_t status = fg_order_effective_status(out->status, !out->expires_at_null, out->expires_at, now_ms);
    if (status == FG_ORDER_CANCELLED)
        return 0; /* cancelled before: its event was written then */
    if (status != FG_ORDER_OPEN || out->amount_paid != 0)
        return FG_ESTATE;
    if ((rc = fg_stmt_init(&s, db, SQL_CANCEL)) != 0)
        return rc;
    fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, out->id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    out->status = FG_ORDER_CANCELLED;
    out->updated_at = now_ms;
    fg_buf_t object = FG_BUF_INIT;
    fg_order_json(&object, out, m->public_id, cfg->public_base_url, now_ms);
    rc = fg_event_insert(db, m->id, "order.cancelled", out->id, &object, now_ms);
    fg_buf_free(&object);
    return rc;
}
