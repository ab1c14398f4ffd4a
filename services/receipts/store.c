/*
 * store.c - receipts: issuing one in the payment's transaction with its
 * number from the series of (merchant, serial), reading them, their JSON,
 * and the collecting unit's receipt settings.
 *
 * The series is one receipt_counters row per (merchant, serial).  A number
 * is taken by one statement, INSERT … ON DUPLICATE KEY UPDATE last_number =
 * LAST_INSERT_ID(last_number + 1): the first receipt of a serial creates the
 * row (two first receipts at once meet on its primary key, and the second
 * one then updates it), every later one increments it, and either way the
 * row stays locked by the transaction until it commits or rolls back.  The
 * number comes back as the statement's insert id.  Rolled back, the
 * increment is undone with the payment's writes: the number is taken again
 * by the next payment, so the series has no gap; two transactions never hold
 * the row at once, so it has no repeat.  The unique key (merchant, serial,
 * number) would refuse a repeat all the same.
 */
#include "receipts/receipts_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/text.h"
#include "staff/staff.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Copies text (NULL = "") into a field of cap bytes, cut back to the start of
 * a UTF-8 sequence when longer (the columns hold no more than the fields). */
static void copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (src == NULL)
        len = 0;
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    if (len > 0)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

static void copy_buf(char *dst, size_t cap, const fg_buf_t *b) { copy_field(dst, cap, b->data, b->len); }

static const char *or_null(const char *s) { return s != NULL && s[0] != '\0' ? s : NULL; }

void fg_receipt_number_text(int64_t number, char out[8])
{
    int64_t n = number < 0 ? 0 : number % 10000000;
    for (int i = 6; i >= 0; i--, n /= 10)
        out[i] = (char)('0' + n % 10);
    out[7] = '\0';
}

int fg_receipt_new_id(char id[FG_RECEIPT_ID_MAX + 1])
{
    _Static_assert(FG_ID_CAP <= FG_RECEIPT_ID_MAX + 1, "a receipt id holds any id");
    return fg_id_new("rct_", id, FG_RECEIPT_ID_MAX + 1) < 0 ? FG_EIO : 0;
}

/* ---- issuing ------------------------------------------------------------------ */

/* The unit as the merchant's settings name it now (not locked: a change that
 * commits meanwhile applies from the next receipt). */
static const char SQL_SETTINGS[] =
    "SELECT COALESCE(receipt_unit_name, name), COALESCE(receipt_tax_code, ''), COALESCE(receipt_address, ''), "
    "receipt_form, receipt_serial FROM merchants WHERE id = ?";
static const char SQL_NEXT_NUMBER[] =
    "INSERT INTO receipt_counters (merchant_id, serial, last_number) VALUES (?, ?, LAST_INSERT_ID(1)) "
    "ON DUPLICATE KEY UPDATE last_number = LAST_INSERT_ID(last_number + 1)";
static const char SQL_LAST_NUMBER[] = "SELECT last_number FROM receipt_counters WHERE merchant_id = ? AND serial = ?";
/* One statement for every kind: an original has no related receipt. */
static const char SQL_RECEIPT_INSERT[] =
    "INSERT INTO receipts (public_id, merchant_id, payment_id, order_id, kind, status, related_id, form, serial, "
    "number, unit_name, unit_tax_code, unit_address, payer_name, payer_ref, bill_ref, fee_type, description, amount, "
    "currency, method, provider_ref, paid_at, issued_at, issued_day) VALUES (?, ?, ?, ?, ?, 'issued', ?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Inserts r (its number taken) for a merchant's payment and order; related
 * is the row an adjustment refers to (0: none).  A key conflict (a second
 * original for a payment, a number taken twice) is FG_EDB, never the
 * duplicate delivery the caller would make of it. */
static int insert_receipt(fg_db_t *db, const fg_receipt_t *r, int64_t merchant_id, int64_t payment_id, int64_t order_id,
                          int64_t related, int64_t now_ms)
{
    char day[11];
    fg_day_format(fg_day_of_ms(now_ms), day);
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_RECEIPT_INSERT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, r->id);
    fg_stmt_int(&s, merchant_id);
    fg_stmt_int(&s, payment_id);
    fg_stmt_int(&s, order_id);
    fg_stmt_cstr(&s, related != 0 ? "adjustment" : "original");
    fg_stmt_int_or_null(&s, related != 0 ? &related : NULL);
    fg_stmt_cstr(&s, r->form);
    fg_stmt_cstr(&s, r->serial);
    fg_stmt_int(&s, r->number);
    fg_stmt_cstr(&s, r->unit_name);
    fg_stmt_cstr(&s, or_null(r->unit_tax_code));
    fg_stmt_cstr(&s, or_null(r->unit_address));
    fg_stmt_cstr(&s, or_null(r->payer_name));
    fg_stmt_cstr(&s, or_null(r->payer_ref));
    fg_stmt_cstr(&s, r->bill_ref);
    fg_stmt_cstr(&s, r->fee_type);
    fg_stmt_cstr(&s, or_null(r->description));
    fg_stmt_int(&s, r->amount);
    fg_stmt_cstr(&s, r->currency);
    fg_stmt_cstr(&s, r->method);
    fg_stmt_cstr(&s, or_null(r->provider_ref));
    fg_stmt_int(&s, r->paid_at_ms);
    fg_stmt_int(&s, r->issued_at_ms);
    fg_stmt_cstr(&s, day);
    rc = fg_stmt_exec(&s);
    if (rc == FG_ECONFLICT) {
        fg_db_log_failure(db, related != 0 ? "adjustment receipt not issued" : "receipt not issued", rc);
        return FG_EDB;
    }
    return rc;
}

static int load_settings(fg_db_t *db, int64_t merchant_id, fg_receipt_t *r)
{
    fg_buf_t name = FG_BUF_INIT, tax = FG_BUF_INIT, address = FG_BUF_INIT, form = FG_BUF_INIT, serial = FG_BUF_INIT;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_SETTINGS);
    if (rc == 0) {
        fg_stmt_int(&s, merchant_id);
        fg_stmt_out_text(&s, &name, NULL);
        fg_stmt_out_text(&s, &tax, NULL);
        fg_stmt_out_text(&s, &address, NULL);
        fg_stmt_out_text(&s, &form, NULL);
        fg_stmt_out_text(&s, &serial, NULL);
        rc = fg_stmt_one(&s);
    }
    if (rc == 0) {
        copy_buf(r->unit_name, sizeof(r->unit_name), &name);
        copy_buf(r->unit_tax_code, sizeof(r->unit_tax_code), &tax);
        copy_buf(r->unit_address, sizeof(r->unit_address), &address);
        copy_buf(r->form, sizeof(r->form), &form);
        copy_buf(r->serial, sizeof(r->serial), &serial);
    }
    fg_buf_free(&name), fg_buf_free(&tax), fg_buf_free(&address), fg_buf_free(&form), fg_buf_free(&serial);
    return rc;
}

/* Takes the next number of (merchant, serial) and keeps its row locked. */
static int next_number(fg_db_t *db, int64_t merchant_id, const char *serial, int64_t *number)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_NEXT_NUMBER);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, merchant_id);
    fg_stmt_cstr(&s, serial);
    rc = fg_stmt_exec(&s);
    if (rc == FG_EDB && fg_db_errno(db) == 4025) /* ck_receipt_counters_range */
        return FG_ERANGE;
    if (rc != 0)
        return rc == FG_ECONFLICT ? FG_EDB : rc;
    *number = (int64_t)fg_stmt_insert_id(&s);
    if (*number > 0)
        return 0;
    /* the insert id not reported: read the row this transaction holds */
    if ((rc = fg_stmt_init(&s, db, SQL_LAST_NUMBER)) != 0)
        return rc;
    fg_stmt_int(&s, merchant_id);
    fg_stmt_cstr(&s, serial);
    fg_stmt_out_int(&s, number, NULL);
    return fg_stmt_one(&s);
}

int fg_receipt_issue(fg_db_t *db, const char *id, const fg_receipt_issue_t *in, int64_t now_ms, fg_receipt_t *out)
{
    fg_receipt_t local, *r = out != NULL ? out : &local;
    memset(r, 0, sizeof(*r));
    copy_field(r->id, sizeof(r->id), id, strlen(id));
    copy_field(r->payment_id, sizeof(r->payment_id), in->payment_public_id, strlen(in->payment_public_id));
    copy_field(r->order_id, sizeof(r->order_id), in->order_public_id, strlen(in->order_public_id));
    copy_field(r->merchant_id, sizeof(r->merchant_id), in->merchant_public_id, strlen(in->merchant_public_id));
    r->kind = FG_RECEIPT_ORIGINAL;
    r->status = FG_RECEIPT_ISSUED;
#define COPY(field, src) copy_field(r->field, sizeof(r->field), (src), (src) != NULL ? strlen(src) : 0)
    COPY(payer_name, in->payer_name);
    COPY(payer_ref, in->payer_ref);
    COPY(bill_ref, in->bill_ref);
    COPY(fee_type, in->fee_type);
    COPY(description, in->description);
    COPY(currency, in->currency);
    COPY(method, in->method);
    COPY(provider_ref, in->provider_ref);
#undef COPY
    r->amount = in->amount;
    r->paid_at_ms = in->paid_at_ms;
    r->issued_at_ms = now_ms;
    int rc = load_settings(db, in->merchant_id, r);
    if (rc == FG_ENOTFOUND)
        rc = FG_EDB; /* the payment's merchant exists: under a foreign key */
    /* last: the counter row is held from here to COMMIT */
    if (rc != 0 || (rc = next_number(db, in->merchant_id, r->serial, &r->number)) != 0)
        return rc;
    if (r->number < 1 || r->number > FG_RECEIPT_NUMBER_MAX)
        return FG_ERANGE;
    return insert_receipt(db, r, in->merchant_id, in->payment_id, in->order_id, 0, now_ms);
}

/* ---- the queue ------------------------------------------------------------------- */

static fg_db_table_t QUEUE =
    FG_DB_TABLE("INSERT INTO receipt_queue (receipt_public_id, payment_id, merchant_id, amount, "
                "currency, method, provider_ref, paid_at) VALUES ",
                "(?, ?, ?, ?, ?, ?, ?, ?)", 8, 0, 40);

int fg_receipt_queue(fg_db_t *db, const char *id, const fg_receipt_issue_t *in)
{
    fg_db_value_t v[] = {
        fg_db_cstr(id),           FG_DB_INT(in->payment_id), FG_DB_INT(in->merchant_id),   FG_DB_INT(in->amount),
        fg_db_cstr(in->currency), fg_db_cstr(in->method),    fg_db_cstr(in->provider_ref), FG_DB_INT(in->paid_at_ms)};
    return fg_db_insert(db, &QUEUE, v, 1, NULL);
}

/* Oldest payments first; a claim skips what another issuer holds, and the
 * receipts of a merchant whose series is used up (they wait for a new
 * serial: claimed, they would fill every round and stall everyone else's). */
static const char SQL_QUEUE_CLAIM[] =
    "SELECT q.receipt_public_id, q.payment_id FROM receipt_queue q WHERE NOT EXISTS (SELECT 1 FROM merchants m JOIN "
    "receipt_counters c ON c.merchant_id = m.id AND c.serial = m.receipt_serial WHERE m.id = q.merchant_id AND "
    "c.last_number >= ?) ORDER BY q.payment_id LIMIT ? FOR UPDATE SKIP LOCKED";
/* clang-format off */
static const char SQL_QUEUED[] =
    "SELECT q.payment_id, q.merchant_id, q.amount, q.currency, q.method, " FG_RECEIPT_PROVIDER_REF_SQL("q.provider_ref")
    ", q.paid_at, p.public_id, "
    "o.id, o.public_id, m.public_id, o.payer_name, o.payer_ref, o.merchant_ref, o.fee_type, o.description "
    "FROM receipt_queue q JOIN payments p ON p.id = q.payment_id JOIN orders o ON o.id = p.order_id "
    "JOIN merchants m ON m.id = q.merchant_id WHERE q.receipt_public_id = ?";
/* clang-format on */
/* The queue row alone is locked: FOR UPDATE on the join above would hold the
 * payment, order and merchant rows too, to the end of a transaction that may
 * issue 200 receipts, and a merchant's order creation (its foreign key's
 * shared lock on the merchant row) would wait behind a receipt read. */
static const char SQL_QUEUED_LOCK[] = "SELECT 1 FROM receipt_queue WHERE receipt_public_id = ? FOR UPDATE";
static const char SQL_QUEUED_OF_PAYMENT[] = "SELECT receipt_public_id FROM receipt_queue WHERE payment_id = ?";
static const char SQL_QUEUE_DONE[] = "DELETE FROM receipt_queue WHERE receipt_public_id = ?";

#define QUEUED_TEXT 13

/* Issues the queued receipt id (its row locked here: a claim that holds it
 * makes this wait, then find it gone): 1 issued, 0 none queued, FG_ERANGE,
 * or a database code. */
static int issue_one(fg_db_t *db, const char *id)
{
    int64_t payment = 0, merchant = 0, amount = 0, paid_at = 0, order = 0;
    int null[QUEUED_TEXT] = {0};
    fg_buf_t t[QUEUED_TEXT];
    fg_stmt_t s;
    for (int i = 0; i < QUEUED_TEXT; i++)
        t[i] = (fg_buf_t)FG_BUF_INIT;
    int rc = fg_stmt_init(&s, db, SQL_QUEUED_LOCK);
    if (rc == 0) {
        fg_stmt_cstr(&s, id);
        fg_stmt_out_int(&s, &payment, NULL);
        rc = fg_stmt_one(&s);
    }
    if (rc == 0 && (rc = fg_stmt_init(&s, db, SQL_QUEUED)) == 0) {
        fg_stmt_cstr(&s, id);
        fg_stmt_out_int(&s, &payment, NULL);
        fg_stmt_out_int(&s, &merchant, NULL);
        fg_stmt_out_int(&s, &amount, NULL);
        fg_stmt_out_text(&s, &t[0], NULL);     /* currency */
        fg_stmt_out_text(&s, &t[1], NULL);     /* method */
        fg_stmt_out_text(&s, &t[2], &null[2]); /* provider_ref */
        fg_stmt_out_int(&s, &paid_at, NULL);
        fg_stmt_out_text(&s, &t[3], NULL); /* payment public id */
        fg_stmt_out_int(&s, &order, NULL);
        fg_stmt_out_text(&s, &t[4], NULL);       /* order public id */
        fg_stmt_out_text(&s, &t[5], NULL);       /* merchant public id */
        fg_stmt_out_text(&s, &t[6], &null[6]);   /* payer name */
        fg_stmt_out_text(&s, &t[7], &null[7]);   /* payer ref */
        fg_stmt_out_text(&s, &t[8], NULL);       /* bill ref */
        fg_stmt_out_text(&s, &t[9], NULL);       /* fee type */
        fg_stmt_out_text(&s, &t[10], &null[10]); /* description */
        rc = fg_stmt_one(&s);
    }
    if (rc == 0) {
        fg_receipt_issue_t in = {
            .payment_id = payment,
            .order_id = order,
            .merchant_id = merchant,
            .payment_public_id = t[3].data,
            .order_public_id = t[4].data,
            .merchant_public_id = t[5].data,
            .payer_name = null[6] ? NULL : t[6].data,
            .payer_ref = null[7] ? NULL : t[7].data,
            .bill_ref = t[8].data,
            .fee_type = t[9].data,
            .description = null[10] ? NULL : t[10].data,
            .amount = amount,
            .currency = t[0].data,
            .method = t[1].data,
            .provider_ref = null[2] ? NULL : t[2].data,
            .paid_at_ms = paid_at,
        };
        rc = fg_receipt_issue(db, id, &in, fg_now_ms(), NULL);
        if (rc == 0 && (rc = fg_stmt_init(&s, db, SQL_QUEUE_DONE)) == 0) {
            fg_stmt_cstr(&s, id);
            rc = fg_stmt_exec(&s);
        }
        if (rc == 0)
            rc = 1;
    } else if (rc == FG_ENOTFOUND) {
        rc = 0;
    }
    for (int i = 0; i < QUEUED_TEXT; i++)
        fg_buf_free(&t[i]);
    return rc;
}

#define CLAIM_MAX FG_RECEIPT_CLAIM_MAX

int fg_receipt_issue_queued(fg_db_t *db, const char *id, int limit, int *issued)
{
    fg_receipt_claim_t claims[FG_RECEIPT_CLAIM_MAX];
    fg_buf_t one = FG_BUF_INIT;
    int64_t payment = 0;
    fg_stmt_t s;
    int n = 0, rc, done = 0;
    if (issued != NULL)
        *issued = 0;
    if (id != NULL) {
        rc = issue_one(db, id);
        if (issued != NULL && rc == 1)
            *issued = 1;
        return rc < 0 ? rc : 0;
    }
    if ((rc = fg_stmt_init(&s, db, SQL_QUEUE_CLAIM)) != 0)
        return rc;
    fg_stmt_int(&s, FG_RECEIPT_NUMBER_MAX);
    fg_stmt_int(&s, limit < FG_RECEIPT_CLAIM_MAX ? limit : FG_RECEIPT_CLAIM_MAX);
    fg_stmt_out_text(&s, &one, NULL);
    fg_stmt_out_int(&s, &payment, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        while ((rc = fg_stmt_fetch(&s)) == 1 && n < FG_RECEIPT_CLAIM_MAX) {
            snprintf(claims[n].id, sizeof(claims[n].id), "%s", one.data);
            claims[n++].payment_id = payment;
        }
        fg_stmt_done(&s);
    }
    fg_buf_free(&one);
    if (rc < 0 || n == 0)
        return rc < 0 ? rc : 0;
    /* the whole batch in a few statements; one that meets a used-up series goes one by one */
    rc = fg_receipt_issue_batch(db, claims, n, fg_now_ms());
    if (rc == 0)
        done = n;
    for (int i = 0; rc == FG_ERANGE && i < n; i++) {
        int one_rc = issue_one(db, claims[i].id);
        if (one_rc == FG_ERANGE) { /* that merchant's series is used up: its receipts wait for a new serial */
            fg_log_t l;
            fg_log_begin(&l, FG_LOG_WARN, "receipt series used up: the receipt waits for a new serial");
            fg_log_str(&l, "receipt", claims[i].id);
            fg_log_end(&l);
        } else if (one_rc < 0) {
            rc = one_rc;
            break;
        } else if (one_rc == 1) {
            done++;
        }
        if (i == n - 1)
            rc = 0;
    }
    if (issued != NULL)
        *issued = done;
    return rc < 0 ? rc : 0;
}

typedef struct {
    const char *id;
    uint64_t merchant_id; /* 0: any merchant's */
    int result;
} ensure_t;

/* The merchant's receipts queued before this one (and it), in payment order:
 * a read that comes before the issuer keeps the series in that order too. */
static const char SQL_QUEUED_BEFORE[] =
    "SELECT b.receipt_public_id FROM receipt_queue q JOIN receipt_queue b ON b.merchant_id = q.merchant_id "
    "AND b.payment_id <= q.payment_id WHERE q.receipt_public_id = ? AND (? = 0 OR q.merchant_id = ?) "
    "ORDER BY b.payment_id LIMIT ?";

static int ensure_tx(fg_db_t *db, void *arg)
{
    ensure_t *e = arg;
    char ids[CLAIM_MAX][FG_RECEIPT_ID_MAX + 1];
    fg_buf_t one = FG_BUF_INIT;
    fg_stmt_t s;
    int n = 0, rc = fg_stmt_init(&s, db, SQL_QUEUED_BEFORE);
    if (rc == 0) {
        fg_stmt_cstr(&s, e->id);
        fg_stmt_int(&s, (int64_t)e->merchant_id);
        fg_stmt_int(&s, (int64_t)e->merchant_id);
        fg_stmt_int(&s, CLAIM_MAX);
        fg_stmt_out_text(&s, &one, NULL);
        if ((rc = fg_stmt_exec(&s)) == 0) {
            while ((rc = fg_stmt_fetch(&s)) == 1 && n < CLAIM_MAX)
                snprintf(ids[n++], sizeof(ids[0]), "%s", one.data);
            fg_stmt_done(&s);
        }
    }
    fg_buf_free(&one);
    e->result = 0;
    if (n == 0)
        return rc < 0 ? rc : 0; /* not queued, or another merchant's: a read never issues those */
    /* each locked as it is issued (issue_one waits for a claim that holds it); the named one last */
    for (int i = 0; rc >= 0 && i < n && strcmp(ids[i], e->id) != 0; i++)
        rc = issue_one(db, ids[i]);
    if (rc >= 0)
        rc = e->result = issue_one(db, e->id);
    return rc < 0 ? rc : 0;
}

int fg_receipt_ensure(fg_db_t *db, const char *id, size_t len, uint64_t merchant_id)
{
    char copy[FG_RECEIPT_ID_MAX + 1];
    if (len == 0 || len > FG_RECEIPT_ID_MAX)
        return 0;
    memcpy(copy, id, len);
    copy[len] = '\0';
    ensure_t e = {copy, merchant_id, 0};
    fg_db_end(db);
    return fg_db_tx(db, ensure_tx, &e);
}

/* ---- reading ------------------------------------------------------------------- */

/* clang-format off */
#define RECEIPT_COLUMNS                                                                                            \
    "r.id, r.public_id, p.public_id, o.public_id, m.public_id, r.kind + 0, r.status + 0, "                        \
    "COALESCE((SELECT x.public_id FROM receipts x WHERE x.id = r.related_id), ''), r.form, r.serial, r.number, "  \
    "r.unit_name, COALESCE(r.unit_tax_code, ''), COALESCE(r.unit_address, ''), COALESCE(r.payer_name, ''), "      \
    "COALESCE(r.payer_ref, ''), r.bill_ref, r.fee_type, COALESCE(r.description, ''), r.amount, r.currency, "       \
    "r.method, COALESCE(r.provider_ref, ''), r.paid_at, r.issued_at FROM receipts r "                            \
    "JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = r.order_id "                                  \
    "JOIN merchants m ON m.id = r.merchant_id "
/* clang-format on */
static const char SQL_RECEIPT_OF[] = "SELECT COALESCE(receipt_id, '') FROM payments WHERE public_id = ?";
static const char SQL_RECEIPT_GET[] = "SELECT " RECEIPT_COLUMNS
                                      "WHERE r.public_id = ? AND (? = 0 OR r.merchant_id = ?)";
static const char SQL_RECEIPT_OF_PAYMENT[] = "SELECT " RECEIPT_COLUMNS
                                             "WHERE p.public_id = ? AND (? = 0 OR r.merchant_id = ?) "
                                             "AND r.kind = 'original'";
static const char SQL_RECEIPT_LIST[] = "SELECT " RECEIPT_COLUMNS
                                       "WHERE (? = 0 OR r.merchant_id = ?) AND (? = '' OR m.public_id = ?) "
                                       "AND (? = '' OR p.public_id = ?) "
                                       "AND (? = 0 OR r.id < ?) ORDER BY r.id DESC LIMIT ?";

#define TEXT_COLUMNS 19
typedef struct {
    fg_receipt_t *r;
    int64_t kind, status;
    fg_buf_t text[TEXT_COLUMNS];
} row_t;

static void row_bind(fg_stmt_t *s, row_t *w)
{
    fg_receipt_t *r = w->r;
    fg_stmt_out_int(s, &r->row_id, NULL);
    for (int i = 0; i < 4; i++) /* id, payment, order, merchant */
        fg_stmt_out_text(s, &w->text[i], NULL);
    fg_stmt_out_int(s, &w->kind, NULL);
    fg_stmt_out_int(s, &w->status, NULL);
    for (int i = 4; i < 7; i++) /* related, form, serial */
        fg_stmt_out_text(s, &w->text[i], NULL);
    fg_stmt_out_int(s, &r->number, NULL);
    for (int i = 7; i < 15; i++) /* unit name .. description */
        fg_stmt_out_text(s, &w->text[i], NULL);
    fg_stmt_out_int(s, &r->amount, NULL);
    for (int i = 15; i < 18; i++) /* currency, method, provider ref */
        fg_stmt_out_text(s, &w->text[i], NULL);
    fg_stmt_out_int(s, &r->paid_at_ms, NULL);
    fg_stmt_out_int(s, &r->issued_at_ms, NULL);
}

/* The fetched row into w->r: 0, or FG_EDB for a kind or status this code
 * does not know. */
static int row_take(row_t *w)
{
    fg_receipt_t *r = w->r;
    static const fg_receipt_kind_t KINDS[] = {FG_RECEIPT_ORIGINAL, FG_RECEIPT_REPLACEMENT, FG_RECEIPT_ADJUSTMENT};
    static const fg_receipt_status_t STATUSES[] = {FG_RECEIPT_ISSUED, FG_RECEIPT_ADJUSTED, FG_RECEIPT_REPLACED,
                                                   FG_RECEIPT_CANCELLED};
    if (w->kind < 1 || w->kind > 3 || w->status < 1 || w->status > 4)
        return FG_EDB;
    r->kind = KINDS[w->kind - 1];
    r->status = STATUSES[w->status - 1];
    struct {
        char *dst;
        size_t cap;
    } f[TEXT_COLUMNS] = {
        {r->id, sizeof(r->id)},
        {r->payment_id, sizeof(r->payment_id)},
        {r->order_id, sizeof(r->order_id)},
        {r->merchant_id, sizeof(r->merchant_id)},
        {r->related_id, sizeof(r->related_id)},
        {r->form, sizeof(r->form)},
        {r->serial, sizeof(r->serial)},
        {r->unit_name, sizeof(r->unit_name)},
        {r->unit_tax_code, sizeof(r->unit_tax_code)},
        {r->unit_address, sizeof(r->unit_address)},
        {r->payer_name, sizeof(r->payer_name)},
        {r->payer_ref, sizeof(r->payer_ref)},
        {r->bill_ref, sizeof(r->bill_ref)},
        {r->fee_type, sizeof(r->fee_type)},
        {r->description, sizeof(r->description)},
        {r->currency, sizeof(r->currency)},
        {r->method, sizeof(r->method)},
        {r->provider_ref, sizeof(r->provider_ref)},
        {NULL, 0},
    };
    for (int i = 0; i < TEXT_COLUMNS && f[i].dst != NULL; i++)
        copy_buf(f[i].dst, f[i].cap, &w->text[i]);
    return 0;
}

static void row_free(row_t *w)
{
    for (int i = 0; i < TEXT_COLUMNS; i++)
        fg_buf_free(&w->text[i]);
}

static int read_one(fg_db_t *db, const char *sql, const char *key, size_t key_len, uint64_t merchant_id,
                    fg_receipt_t *out)
{
    row_t w;
    memset(&w, 0, sizeof(w));
    memset(out, 0, sizeof(*out));
    w.r = out;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, sql);
    if (rc == 0) {
        fg_stmt_str(&s, key, key_len);
        fg_stmt_int(&s, (int64_t)merchant_id);
        fg_stmt_int(&s, (int64_t)merchant_id);
        row_bind(&s, &w);
        rc = fg_stmt_one(&s);
    }
    if (rc == 0)
        rc = row_take(&w);
    row_free(&w);
    return rc;
}

int fg_receipt_get(fg_db_t *db, const char *id, size_t id_len, uint64_t merchant_id, fg_receipt_t *out)
{
    if (id_len == 0 || id_len > FG_RECEIPT_ID_MAX)
        return FG_ENOTFOUND;
    int rc = read_one(db, SQL_RECEIPT_GET, id, id_len, merchant_id, out);
    if (rc != FG_ENOTFOUND || (rc = fg_receipt_ensure(db, id, id_len, merchant_id)) != 0)
        return rc;
    return read_one(db, SQL_RECEIPT_GET, id, id_len, merchant_id, out);
}

int fg_receipt_of_payment(fg_db_t *db, const char *payment_id, uint64_t merchant_id, fg_receipt_t *out)
{
    size_t len = strlen(payment_id);
    if (len == 0 || len > FG_RECEIPT_ID_MAX)
        return FG_ENOTFOUND;
    int rc = read_one(db, SQL_RECEIPT_OF_PAYMENT, payment_id, len, merchant_id, out);
    if (rc != FG_ENOTFOUND)
        return rc;
    /* still queued: the payment names it */
    fg_buf_t id = FG_BUF_INIT;
    fg_stmt_t s;
    if ((rc = fg_stmt_init(&s, db, SQL_RECEIPT_OF)) == 0) {
        fg_stmt_cstr(&s, payment_id);
        fg_stmt_out_text(&s, &id, NULL);
        rc = fg_stmt_one(&s);
    }
    if (rc == 0 && id.len > 0 && (rc = fg_receipt_ensure(db, id.data, id.len, merchant_id)) == 0)
        rc = read_one(db, SQL_RECEIPT_OF_PAYMENT, payment_id, len, merchant_id, out);
    else if (rc == 0)
        rc = FG_ENOTFOUND;
    fg_buf_free(&id);
    return rc;
}

/* ---- adjusting ----------------------------------------------------------------- */

/* The payment's original receipt, locked: two refunds of one payment adjust
 * it one after the other. */
static const char SQL_ORIGINAL_LOCK[] = "SELECT id, public_id, merchant_id, order_id FROM receipts "
                                        "WHERE payment_id = ? AND kind = 'original' FOR UPDATE";
static const char SQL_ORIGINAL_ADJUSTED[] = "UPDATE receipts SET status = 'adjusted' WHERE id = ?";
int fg_receipt_adjust(fg_db_t *db, const char *id, const fg_receipt_adjust_t *in, int64_t now_ms, fg_receipt_t *out)
{
    fg_receipt_t local, *r = out != NULL ? out : &local;
    fg_buf_t original = FG_BUF_INIT;
    int64_t original_row = 0, merchant_id = 0, order_id = 0;
    if (in->amount <= 0 || in->amount > FG_RECEIPT_AMOUNT_MAX)
        return FG_ERANGE;
    fg_stmt_t s;
    int rc = 0;
    for (int pass = 0; pass < 2; pass++) {
        if ((rc = fg_stmt_init(&s, db, SQL_ORIGINAL_LOCK)) == 0) {
            fg_stmt_int(&s, in->payment_id);
            fg_stmt_out_int(&s, &original_row, NULL);
            fg_stmt_out_text(&s, &original, NULL);
            fg_stmt_out_int(&s, &merchant_id, NULL);
            fg_stmt_out_int(&s, &order_id, NULL);
            rc = fg_stmt_one(&s);
        }
        if (rc != FG_ENOTFOUND || pass == 1)
            break;
        /* the original may still be queued: issue it first, in this transaction */
        fg_buf_t queued = FG_BUF_INIT;
        if ((rc = fg_stmt_init(&s, db, SQL_QUEUED_OF_PAYMENT)) == 0) {
            fg_stmt_int(&s, in->payment_id);
            fg_stmt_out_text(&s, &queued, NULL);
            rc = fg_stmt_one(&s);
        }
        if (rc == 0)
            rc = issue_one(db, queued.data);
        fg_buf_free(&queued);
        if (rc < 0 && rc != FG_ENOTFOUND)
            goto Exit;
    }
    /* the original as issued: unit, payer and fee are copied from it */
    if (rc == 0)
        rc = read_one(db, SQL_RECEIPT_GET, original.data, original.len, 0, r);
    if (rc == FG_ENOTFOUND && original_row != 0)
        rc = FG_EDB; /* read under its own lock: it exists */
    if (rc != 0)
        goto Exit;
    fg_receipt_t unit; /* the series the merchant issues from now */
    memset(&unit, 0, sizeof(unit));
    if ((rc = load_settings(db, merchant_id, &unit)) != 0) {
        rc = rc == FG_ENOTFOUND ? FG_EDB : rc;
        goto Exit;
    }
    copy_field(r->related_id, sizeof(r->related_id), r->id, strlen(r->id));
    copy_field(r->id, sizeof(r->id), id, strlen(id));
    copy_field(r->form, sizeof(r->form), unit.form, strlen(unit.form));
    copy_field(r->serial, sizeof(r->serial), unit.serial, strlen(unit.serial));
    copy_field(r->provider_ref, sizeof(r->provider_ref), in->provider_ref,
               in->provider_ref != NULL ? strlen(in->provider_ref) : 0);
    r->kind = FG_RECEIPT_ADJUSTMENT;
    r->status = FG_RECEIPT_ISSUED;
    r->amount = -in->amount;
    r->paid_at_ms = now_ms;
    r->issued_at_ms = now_ms;
    r->row_id = 0;
    if ((rc = fg_stmt_init(&s, db, SQL_ORIGINAL_ADJUSTED)) != 0)
        goto Exit;
    fg_stmt_int(&s, original_row);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    /* last: the counter row is held from here to COMMIT */
    if ((rc = next_number(db, merchant_id, r->serial, &r->number)) != 0)
        goto Exit;
    if (r->number < 1 || r->number > FG_RECEIPT_NUMBER_MAX) {
        rc = FG_ERANGE;
        goto Exit;
    }
    rc = insert_receipt(db, r, merchant_id, in->payment_id, order_id, original_row, now_ms);
Exit:
    fg_buf_free(&original);
    return rc;
}

int fg_receipt_list(fg_db_t *db, const fg_receipt_query_t *q, const fg_page_t *page, fg_buf_t *out)
{
    fg_receipt_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return FG_ENOMEM;
    row_t w;
    memset(&w, 0, sizeof(w));
    w.r = r;
    const char *payment = q->payment_id != NULL ? q->payment_id : "";
    const char *merchant = q->merchant_public_id != NULL ? q->merchant_public_id : "";
    fg_stmt_t s;
    int rc = 0, n = 0, more = 0;
    if (payment[0] != '\0') { /* the payment's receipt may still be queued: issue it first */
        fg_buf_t id = FG_BUF_INIT;
        if ((rc = fg_stmt_init(&s, db, SQL_RECEIPT_OF)) == 0) {
            fg_stmt_cstr(&s, payment);
            fg_stmt_out_text(&s, &id, NULL);
            rc = fg_stmt_one(&s);
        }
        if (rc == 0 && id.len > 0)
            rc = fg_receipt_ensure(db, id.data, id.len, q->merchant_id);
        fg_buf_free(&id);
        if (rc == FG_ENOTFOUND || rc == FG_ERANGE)
            rc = 0; /* no such payment: an empty list; a used-up series: listed once issued */
    }
    if (rc == 0)
        rc = fg_stmt_init(&s, db, SQL_RECEIPT_LIST);
    int64_t last = 0;
    if (rc == 0) {
        fg_stmt_int(&s, (int64_t)q->merchant_id);
        fg_stmt_int(&s, (int64_t)q->merchant_id);
        fg_stmt_cstr(&s, merchant);
        fg_stmt_cstr(&s, merchant);
        fg_stmt_cstr(&s, payment);
        fg_stmt_cstr(&s, payment);
        fg_stmt_int(&s, page->cursor);
        fg_stmt_int(&s, page->cursor);
        fg_stmt_int(&s, page->limit + 1);
        row_bind(&s, &w);
        rc = fg_stmt_exec(&s);
    }
    if (rc == 0) {
        fg_buf_puts(out, "{\"object\":\"list\",\"data\":[");
        int got;
        while ((got = fg_stmt_fetch(&s)) == 1) {
            if (n == page->limit) {
                more = 1;
                continue;
            }
            if ((rc = row_take(&w)) != 0)
                break;
            if (n++ > 0)
                fg_buf_putc(out, ',');
            fg_receipt_json(out, r);
            last = r->row_id;
        }
        if (got < 0 && rc == 0)
            rc = got;
        fg_stmt_done(&s);
        if (rc == 0)
            fg_page_close(out, more, last);
    }
    row_free(&w);
    free(r);
    return rc;
}

static const char *const KIND_NAMES[] = {[FG_RECEIPT_ORIGINAL] = "original",
                                         [FG_RECEIPT_REPLACEMENT] = "replacement",
                                         [FG_RECEIPT_ADJUSTMENT] = "adjustment"};
static const char *const STATUS_NAMES[] = {[FG_RECEIPT_ISSUED] = "issued",
                                           [FG_RECEIPT_ADJUSTED] = "adjusted",
                                           [FG_RECEIPT_REPLACED] = "replaced",
                                           [FG_RECEIPT_CANCELLED] = "cancelled"};

/* "YYYY-MM-DDTHH:MM:SS+07:00": the time as the payer reads it. */
static void local_time(int64_t ms, char out[32])
{
    char utc[40];
    fg_time_format_rfc3339(ms + FG_DAY_OFFSET_MS, 0, utc, sizeof(utc));
    size_t n = strlen(utc);
    if (n > 0 && utc[n - 1] == 'Z')
        utc[n - 1] = '\0';
    snprintf(out, 32, "%.19s+07:00", utc);
}

void fg_receipt_json(fg_buf_t *b, const fg_receipt_t *r)
{
    char paid[40], issued[40], issued_local[32], paid_local[32], day[11], number[8];
    fg_buf_t words = FG_BUF_INIT;
    fg_time_format_rfc3339(r->paid_at_ms, 0, paid, sizeof(paid));
    fg_time_format_rfc3339(r->issued_at_ms, 0, issued, sizeof(issued));
    local_time(r->issued_at_ms, issued_local);
    local_time(r->paid_at_ms, paid_local);
    fg_day_format(fg_day_of_ms(r->issued_at_ms), day);
    fg_receipt_number_text(r->number, number);
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", r->id);
    fg_json_kv_str(b, 1, "object", "receipt");
    fg_json_kv_str(b, 1, "payment_id", r->payment_id);
    fg_json_kv_str(b, 1, "order_id", r->order_id);
    fg_json_kv_str(b, 1, "merchant_id", r->merchant_id);
    fg_json_kv_str(b, 1, "kind", KIND_NAMES[r->kind]);
    fg_json_kv_str(b, 1, "status", STATUS_NAMES[r->status]);
    fg_json_kv_str(b, 1, "related_id", or_null(r->related_id));
    fg_json_key(b, 1, "series");
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "form", r->form);
    fg_json_kv_str(b, 1, "serial", r->serial);
    fg_buf_putc(b, '}');
    fg_json_kv_int(b, 1, "number", r->number);
    fg_json_kv_str(b, 1, "number_text", number);
    fg_json_kv_int(b, 1, "amount", r->amount);
    fg_json_kv_str(b, 1, "currency", r->currency);
    /* an adjustment's words are of its amount without the sign: the kind says it gives money back */
    if (fg_receipt_amount_words(r->amount < 0 && r->amount != INT64_MIN ? -r->amount : r->amount, r->currency,
                                &words) == 0)
        fg_json_kv_strn(b, 1, "amount_in_words", words.data, words.len);
    else
        fg_json_kv_null(b, 1, "amount_in_words");
    fg_json_key(b, 1, "unit");
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "name", r->unit_name);
    fg_json_kv_str(b, 1, "tax_code", or_null(r->unit_tax_code));
    fg_json_kv_str(b, 1, "address", or_null(r->unit_address));
    fg_buf_putc(b, '}');
    fg_json_key(b, 1, "payer");
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "name", or_null(r->payer_name));
    fg_json_kv_str(b, 1, "ref", or_null(r->payer_ref));
    fg_buf_putc(b, '}');
    fg_json_kv_str(b, 1, "bill_ref", r->bill_ref);
    fg_json_kv_str(b, 1, "fee_type", r->fee_type);
    fg_json_kv_str(b, 1, "description", or_null(r->description));
    fg_json_kv_str(b, 1, "method", r->method);
    fg_json_kv_str(b, 1, "provider_ref", or_null(r->provider_ref));
    fg_json_kv_str(b, 1, "paid_at", paid);
    fg_json_kv_str(b, 1, "paid_at_local", paid_local);
    fg_json_kv_str(b, 1, "issued_at", issued);
    fg_json_kv_str(b, 1, "issued_at_local", issued_local);
    fg_json_kv_str(b, 1, "issued_day", day);
    fg_buf_putc(b, '}');
    fg_buf_free(&words);
}

/* ---- settings -------------------------------------------------------------------- */

int fg_receipt_tax_code_valid(const char *s)
{
    if (s == NULL)
        return 0;
    size_t n = strlen(s);
    if (n != 10 && n != 14)
        return 0;
    if (strspn(s, "0123456789") != 10)
        return 0;
    return n == 10 || (s[10] == '-' && strspn(s + 11, "0123456789") == 3);
}

int fg_receipt_symbol_valid(const char *s, size_t max)
{
    if (s == NULL)
        return 0;
    size_t n = strlen(s);
    return n >= 1 && n <= max && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/") == n;
}

/* A name or address: valid UTF-8, 1..chars characters (and the bytes its
 * field holds), no control characters, no space at either end. */
static int text_valid(const char *s, size_t chars, size_t bytes)
{
    size_t n = strlen(s);
    if (n == 0 || n > bytes || !fg_utf8_valid(s, n) || fg_utf8_length(s, n) > chars || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

int fg_receipt_settings_check(const fg_receipt_settings_t *in, const char **field)
{
    *field = "unit_name";
    if (in->has_unit_name && in->unit_name != NULL &&
        !text_valid(in->unit_name, FG_RECEIPT_UNIT_NAME_CHARS, FG_RECEIPT_NAME_MAX))
        return FG_EINVALID;
    *field = "tax_code";
    if (in->has_tax_code && in->tax_code != NULL && !fg_receipt_tax_code_valid(in->tax_code))
        return FG_EINVALID;
    *field = "address";
    if (in->has_address && in->address != NULL &&
        !text_valid(in->address, FG_RECEIPT_ADDRESS_CHARS, FG_RECEIPT_ADDRESS_MAX))
        return FG_EINVALID;
    *field = "form";
    if (in->has_form && !fg_receipt_symbol_valid(in->form, FG_RECEIPT_FORM_MAX))
        return FG_EINVALID;
    *field = "serial";
    if (in->has_serial && !fg_receipt_symbol_valid(in->serial, FG_RECEIPT_SERIAL_MAX))
        return FG_EINVALID;
    *field = NULL;
    return 0;
}

/* clang-format off */
static const char SQL_SETTINGS_LOCK[] =
    "SELECT id, name, receipt_unit_name, receipt_tax_code, receipt_address, receipt_form, receipt_serial "
    "FROM merchants WHERE public_id = ? FOR UPDATE";
/* clang-format on */
static const char SQL_SETTINGS_SET[] = "UPDATE merchants SET receipt_unit_name = ?, receipt_tax_code = ?, "
                                       "receipt_address = ?, receipt_form = ?, receipt_serial = ? WHERE id = ?";

typedef struct {
    fg_buf_t name, unit_name, tax_code, address, form, serial;
    int unit_name_null, tax_code_null, address_null;
} settings_row_t;

static void settings_json(fg_buf_t *b, const char *merchant_name, const char *unit_name, const char *tax_code,
                          const char *address, const char *form, const char *serial)
{
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "unit_name", unit_name != NULL ? unit_name : merchant_name);
    fg_json_kv_bool(b, 1, "unit_name_is_merchant_name", unit_name == NULL);
    fg_json_kv_str(b, 1, "tax_code", tax_code);
    fg_json_kv_str(b, 1, "address", address);
    fg_json_kv_str(b, 1, "form", form);
    fg_json_kv_str(b, 1, "serial", serial);
    fg_buf_putc(b, '}');
}

static const char *nullable(const fg_buf_t *b, int is_null) { return is_null ? NULL : b->data != NULL ? b->data : ""; }

int fg_receipt_settings_set(fg_db_t *db, const char *merchant_id, const fg_receipt_settings_t *in, const char *actor,
                            fg_buf_t *json)
{
    settings_row_t m;
    memset(&m, 0, sizeof(m));
    fg_buf_t before = FG_BUF_INIT, after = FG_BUF_INIT;
    int64_t id = 0;
    const char *field;
    fg_stmt_t s;
    int rc = fg_receipt_settings_check(in, &field);
    if (rc == 0 && (rc = fg_stmt_init(&s, db, SQL_SETTINGS_LOCK)) == 0) {
        fg_stmt_cstr(&s, merchant_id);
        fg_stmt_out_int(&s, &id, NULL);
        fg_stmt_out_text(&s, &m.name, NULL);
        fg_stmt_out_text(&s, &m.unit_name, &m.unit_name_null);
        fg_stmt_out_text(&s, &m.tax_code, &m.tax_code_null);
        fg_stmt_out_text(&s, &m.address, &m.address_null);
        fg_stmt_out_text(&s, &m.form, NULL);
        fg_stmt_out_text(&s, &m.serial, NULL);
        rc = fg_stmt_one(&s);
    }
    if (rc != 0)
        goto Exit;
    const char *name = m.name.data != NULL ? m.name.data : "";
    const char *old_unit = nullable(&m.unit_name, m.unit_name_null), *old_tax = nullable(&m.tax_code, m.tax_code_null),
               *old_address = nullable(&m.address, m.address_null);
    const char *old_form = m.form.data != NULL ? m.form.data : "",
               *old_serial = m.serial.data != NULL ? m.serial.data : "";
    const char *unit = in->has_unit_name ? in->unit_name : old_unit, *tax = in->has_tax_code ? in->tax_code : old_tax,
               *address = in->has_address ? in->address : old_address, *form = in->has_form ? in->form : old_form,
               *serial = in->has_serial ? in->serial : old_serial;
    if ((rc = fg_stmt_init(&s, db, SQL_SETTINGS_SET)) != 0)
        goto Exit;
    fg_stmt_cstr(&s, unit);
    fg_stmt_cstr(&s, tax);
    fg_stmt_cstr(&s, address);
    fg_stmt_cstr(&s, form);
    fg_stmt_cstr(&s, serial);
    fg_stmt_int(&s, id);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    settings_json(&before, name, old_unit, old_tax, old_address, old_form, old_serial);
    fg_buf_putc(&after, '{');
    fg_json_kv_str(&after, 0, "merchant_id", merchant_id);
    fg_json_key(&after, 1, "receipt_settings");
    settings_json(&after, name, unit, tax, address, form, serial);
    fg_buf_putc(&after, '}');
    if ((rc = fg_audit_log(db, actor, "merchant.receipt_settings.set", merchant_id, before.data, after.data)) != 0)
        goto Exit;
    if (json != NULL)
        fg_buf_append(json, after.data, after.len);
Exit:
    fg_buf_free(&m.name), fg_buf_free(&m.unit_name), fg_buf_free(&m.tax_code), fg_buf_free(&m.address);
    fg_buf_free(&m.form), fg_buf_free(&m.serial);
    fg_buf_free(&before);
    fg_buf_free(&after);
    return rc;
}
