/*
 * settlement.c - a gateway's settlement file: the transactions of each
 * payout batch, with its fee and net.
 *
 * The layout (VNPay's and MoMo's merchant portals export the same columns):
 *
 *   batch_ref,transaction_no,order_ref,transaction_time,type,amount,fee,net
 *   VNPSTL20261202,14123456,pay_01J…,2026-12-02 09:31:05,payment,150000,1650,148350
 *
 * type is payment or refund (a refund's amount is negative, its fee 0);
 * amount - fee = net on every row; transaction_time is the gateway's local
 * time (GMT+7), "yyyy-mm-dd hh:mm:ss", and gives the row its business day.
 * The file is read whole (a day's transactions), checked, then stored in one
 * transaction; a batch already stored (from a file, or made from the fee
 * schedule for a payout line that came first: match.c) is not stored again.
 * A payout line that was bank_only or amount_mismatch for want of its batch
 * goes back to the matching job, which settles it and holds each row against
 * our payments (match.c).
 */
#include "recon/recon_internal.h"
#include "recon/statement_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/money.h"
#include "core/text.h"

#define SETTLEMENT_HEADER "batch_ref,transaction_no,order_ref,transaction_time,type,amount,fee,net"
#define ROW_BYTES_MAX 1024
#define FIELDS 8
#define BATCHES_MAX FG_SETTLEMENT_BATCHES_MAX

static const char SQL_BATCH[] =
    "INSERT IGNORE INTO settlement_batches (gateway, batch_ref, currency, row_count, gross, fees, net, imported_by, "
    "created_at) VALUES (?, ?, 'VND', ?, ?, ?, ?, ?, ?)";
static const char SQL_BATCH_ID[] = "SELECT id FROM settlement_batches WHERE gateway = ? AND batch_ref = ?";
static const char SQL_ROW[] = "INSERT INTO settlement_rows (batch_id, seq, transaction_no, order_ref, transaction_day, "
                              "kind, amount, fee, net) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
/* Payout lines that waited for their batch (or that the fee schedule did
 * not explain), without the links of their last look: those whose bank
 * reference or end-to-end id is the batch's, and those whose memo names it
 * when it is a payout name (matching reads memos for those alone,
 * fg_recon_payout_of); a suggestion too.  A line named by mistake only has
 * its matching run again.  Read through the exceptions' state index: there
 * are few. */
#define REQUEUED_WHERE                                                                                                 \
    "WHERE i.kind = 'bank_line' AND i.state IN ('bank_only', 'amount_mismatch', 'suggested') AND "                     \
    "i.resolution IS NULL AND (l.bank_ref = ? OR l.end_to_end = ? OR LOCATE(?, l.memo) > 0)"
static const char SQL_REQUEUE[] =
    "UPDATE recon_items i FORCE INDEX (ix_recon_items_work) JOIN statement_lines l ON l.id = i.line_id SET i.state = "
    "'unmatched', i.rule = NULL, i.detail = NULL, i.lease_until = NULL, i.updated_at = ? " REQUEUED_WHERE;
static const char SQL_UNLINK[] = "DELETE k FROM recon_links k JOIN recon_items i ON i.id = k.item_id JOIN "
                                 "statement_lines l ON l.id = i.line_id " REQUEUED_WHERE;

typedef fg_settlement_batch_t batch_t;

/* Splits one CSV row into at most FIELDS cells (quoted cells allowed); the
 * count, or -1. */
static int split(char *row, char *cells[FIELDS])
{
    int n = 0;
    char *p = row;
    while (n < FIELDS) {
        char *out = p;
        cells[n++] = p;
        if (*p == '"') {
            char *r = p + 1;
            for (;;) {
                if (*r == '\0')
                    return -1;
                if (*r == '"' && r[1] == '"') {
                    *out++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *out++ = *r++;
                }
            }
            if (*r != ',' && *r != '\0')
                return -1;
            char next = *r;
            *out = '\0';
            if (next == '\0')
                return n;
            p = r + 1;
        } else {
            char *comma = strchr(p, ',');
            if (comma == NULL)
                return n;
            *comma = '\0';
            p = comma + 1;
        }
    }
    return *p == '\0' ? n : -1;
}

static int amount_of(const char *text, int64_t *out) { return fg_money_parse(text, strlen(text), 0, 0, out); }

static int two_digits(const char *p, int max)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    int v = (p[0] - '0') * 10 + (p[1] - '0');
    return v <= max ? v : -1;
}

/* The yyyymmdd business day of a transaction_time "yyyy-mm-dd hh:mm:ss"
 * ('T' for the space allowed; the time may be left out).  0 or -1. */
static int day_of(const char *text, int32_t *day)
{
    size_t n = strlen(text);
    if (n != 10 && n != 19)
        return -1;
    for (int i = 0; i < 4; i++)
        if (text[i] < '0' || text[i] > '9')
            return -1;
    int y = atoi(text), m = two_digits(text + 5, 12), d = two_digits(text + 8, 31);
    if (text[4] != '-' || text[7] != '-' || m < 1 || d < 1 || fg_stmt_date(y, m, d, day) != 0)
        return -1;
    if (n == 10)
        return 0;
    return (text[10] == ' ' || text[10] == 'T') && two_digits(text + 11, 23) >= 0 && text[13] == ':' &&
                   two_digits(text + 14, 59) >= 0 && text[16] == ':' && two_digits(text + 17, 59) >= 0
               ? 0
               : -1;
}

typedef struct {
    const char *gateway, *who;
    const char *data;
    size_t len;
    batch_t *batches;
    int count;
    int64_t rows;
} store_t;

/* Calls fn for every row after the header: 0, fn's non-zero, or FG_EINVALID
 * with err (line numbers from 1). */
typedef int (*row_fn)(void *arg, uint32_t line, char *cells[FIELDS]);

static int each_row(const char *data, size_t len, row_fn fn, void *arg, fg_stmt_error_t *err)
{
    char row[ROW_BYTES_MAX + 1];
    uint32_t line = 0;
    size_t off = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        off = 3;
    while (off < len) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t n = (nl != NULL ? (size_t)(nl - data) : len) - off;
        line++;
        if (n > 0 && data[off + n - 1] == '\r')
            n--;
        if (n > ROW_BYTES_MAX)
            return fg_stmt_fail(err, line, NULL, "line %u is longer than %d bytes", (unsigned)line, ROW_BYTES_MAX);
        memcpy(row, data + off, n);
        row[n] = '\0';
        off = nl != NULL ? (size_t)(nl - data) + 1 : len;
        if (memchr(row, '\0', n) != NULL || !fg_utf8_valid(row, n))
            return fg_stmt_fail(err, line, NULL, "line %u is not UTF-8 text", (unsigned)line);
        if (line == 1) {
            if (strcmp(row, SETTLEMENT_HEADER) != 0)
                return fg_stmt_fail(err, 1, NULL, "line 1 must be the header %s", SETTLEMENT_HEADER);
            continue;
        }
        if (n == 0)
            continue;
        char *cells[FIELDS];
        if (split(row, cells) != FIELDS)
            return fg_stmt_fail(err, line, NULL, "line %u: expected %d cells", (unsigned)line, FIELDS);
        int rc = fn(arg, line, cells);
        if (rc != 0)
            return rc;
    }
    return line == 0 ? fg_stmt_fail(err, 0, NULL, "the file is empty") : 0;
}

typedef struct {
    store_t *st;
    fg_stmt_error_t *err;
} check_t;

static int check_row(void *arg, uint32_t line, char *cells[FIELDS])
{
    check_t *c = arg;
    store_t *st = c->st;
    int64_t amount, fee, net, sum;
    int refund = strcmp(cells[4], "refund") == 0;
    if (cells[0][0] == '\0' || strlen(cells[0]) > FG_STMT_REF_MAX || cells[1][0] == '\0' ||
        strlen(cells[1]) > FG_STMT_REF_MAX || strlen(cells[2]) > FG_STMT_REF_MAX)
        return fg_stmt_fail(c->err, line, NULL, "line %u: batch_ref and transaction_no are 1 to %d characters",
                            (unsigned)line, FG_STMT_REF_MAX);
    if (!refund && strcmp(cells[4], "payment") != 0)
        return fg_stmt_fail(c->err, line, NULL, "line %u: type must be payment or refund", (unsigned)line);
    int32_t day;
    if (day_of(cells[3], &day) != 0)
        return fg_stmt_fail(c->err, line, NULL, "line %u: transaction_time must be yyyy-mm-dd hh:mm:ss (GMT+7)",
                            (unsigned)line);
    if (amount_of(cells[5], &amount) != 0 || amount_of(cells[6], &fee) != 0 || amount_of(cells[7], &net) != 0 ||
        amount == 0 || (refund ? amount > 0 : amount < 0) || fee < 0)
        return fg_stmt_fail(c->err, line, NULL,
                            "line %u: amount, fee and net must be whole VND (a payment's amount > 0, a refund's < 0, "
                            "fee >= 0)",
                            (unsigned)line);
    if (fg_money_sub(amount, fee, &sum) != 0 || sum != net)
        return fg_stmt_fail(c->err, line, NULL, "line %u: amount - fee is not net", (unsigned)line);
    /* a batch named by another gateway's convention is that gateway's: a
     * VNPay file sent as MoMo's would post VNPay's money to MoMo's clearing
     * and fee accounts */
    fg_recon_payout_name_t named;
    if (fg_recon_payout_name(cells[0], strlen(cells[0]), 1, &named) && strcmp(named.gateway, st->gateway) != 0)
        return fg_stmt_fail(c->err, line, NULL, "line %u: batch %s is %s's; this file was sent as %s's", (unsigned)line,
                            cells[0], named.gateway, st->gateway);
    int b = 0;
    while (b < st->count && strcmp(st->batches[b].batch_ref, cells[0]) != 0)
        b++;
    if (b == st->count) {
        if (st->count == BATCHES_MAX)
            return fg_stmt_fail(c->err, line, NULL, "more than %d batches in one file", BATCHES_MAX);
        snprintf(st->batches[st->count++].batch_ref, sizeof(st->batches[0].batch_ref), "%s", cells[0]);
    }
    batch_t *bt = &st->batches[b];
    if (fg_money_add(bt->gross, amount, &bt->gross) != 0 || fg_money_add(bt->fees, fee, &bt->fees) != 0 ||
        fg_money_add(bt->net, net, &bt->net) != 0)
        return fg_stmt_fail(c->err, line, NULL, "line %u: the batch's sums overflow", (unsigned)line);
    bt->rows++;
    st->rows++;
    return 0;
}

typedef struct {
    fg_db_t *db;
    store_t *st;
    int64_t batch_ids[BATCHES_MAX];
    int64_t seq;
} rows_t;

static int store_row(void *arg, uint32_t line, char *cells[FIELDS])
{
    rows_t *r = arg;
    int b = 0;
    while (b < r->st->count && strcmp(r->st->batches[b].batch_ref, cells[0]) != 0)
        b++;
    if (b == r->st->count || !r->st->batches[b].stored)
        return 0; /* a batch stored before: its rows are there */
    int64_t amount, fee, net;
    int32_t day;
    fg_stmt_t s;
    if (amount_of(cells[5], &amount) != 0 || amount_of(cells[6], &fee) != 0 || amount_of(cells[7], &net) != 0 ||
        day_of(cells[3], &day) != 0)
        return FG_EINVALID; /* checked in the first pass */
    int rc = fg_stmt_init(&s, r->db, SQL_ROW);
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, r->batch_ids[b]);
    fg_stmt_int(&s, ++r->seq);
    fg_stmt_cstr(&s, cells[1]);
    fg_stmt_cstr(&s, cells[2]);
    fg_stmt_int(&s, day);
    fg_stmt_cstr(&s, cells[4]);
    fg_stmt_int(&s, amount);
    fg_stmt_int(&s, fee);
    fg_stmt_int(&s, net);
    return fg_stmt_exec(&s);
}

static int store_tx(fg_db_t *db, void *arg)
{
    store_t *st = arg;
    rows_t r = {.db = db, .st = st};
    fg_stmt_error_t ignored;
    int64_t now = fg_now_ms();
    for (int b = 0; b < st->count; b++) {
        batch_t *bt = &st->batches[b];
        fg_stmt_t s;
        int rc = fg_stmt_init(&s, db, SQL_BATCH);
        if (rc != 0)
            return rc;
        fg_stmt_cstr(&s, st->gateway);
        fg_stmt_cstr(&s, bt->batch_ref);
        fg_stmt_int(&s, bt->rows);
        fg_stmt_int(&s, bt->gross);
        fg_stmt_int(&s, bt->fees);
        fg_stmt_int(&s, bt->net);
        fg_stmt_cstr(&s, st->who);
        fg_stmt_int(&s, now);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
        bt->stored = fg_stmt_affected(&s) == 1;
        if ((rc = fg_stmt_init(&s, db, SQL_BATCH_ID)) != 0)
            return rc;
        fg_stmt_cstr(&s, st->gateway);
        fg_stmt_cstr(&s, bt->batch_ref);
        fg_stmt_out_int(&s, &r.batch_ids[b], NULL);
        if ((rc = fg_stmt_one(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_UNLINK)) != 0)
            return rc;
        /* a memo names only a payout name (VNPSTL/MOMOSTL + its day), as
         * matching reads it; another batch reference (NULL) is looked for
         * in the references alone */
        fg_recon_payout_name_t named;
        const char *in_memo = fg_recon_payout_name(bt->batch_ref, strlen(bt->batch_ref), 1, &named) ? bt->batch_ref
                                                                                                    : NULL;
        fg_stmt_cstr(&s, bt->batch_ref);
        fg_stmt_cstr(&s, bt->batch_ref);
        fg_stmt_cstr(&s, in_memo);
        if ((rc = fg_stmt_exec(&s)) != 0 || (rc = fg_stmt_init(&s, db, SQL_REQUEUE)) != 0)
            return rc;
        fg_stmt_int(&s, now);
        fg_stmt_cstr(&s, bt->batch_ref);
        fg_stmt_cstr(&s, bt->batch_ref);
        fg_stmt_cstr(&s, in_memo);
        if ((rc = fg_stmt_exec(&s)) != 0)
            return rc;
    }
    return each_row(st->data, st->len, store_row, &r, &ignored);
}

int fg_settlement_check(const char *gateway, const char *data, size_t len,
                        fg_settlement_batch_t batches[FG_SETTLEMENT_BATCHES_MAX], int *count, int64_t *rows,
                        fg_stmt_error_t *err)
{
    store_t st = {gateway, NULL, data, len, batches, 0, 0};
    check_t c = {&st, err};
    memset(err, 0, sizeof(*err));
    int rc = each_row(data, len, check_row, &c, err);
    if (rc == 0 && st.count == 0)
        rc = fg_stmt_fail(err, 0, NULL, "the file lists no transaction");
    *count = st.count;
    *rows = st.rows;
    return rc;
}

int fg_settlement_import(fg_db_t *db, const char *gateway, const char *data, size_t len, const char *who,
                         fg_settlement_result_t *out, fg_stmt_error_t *err)
{
    batch_t batches[BATCHES_MAX];
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    memset(batches, 0, sizeof(batches));
    if (strcmp(gateway, "vnpay") != 0 && strcmp(gateway, "momo") != 0)
        return FG_EUNSUPPORTED;
    if (len > FG_STMT_FILE_MAX)
        return FG_ERANGE;
    store_t st = {gateway, who, data, len, batches, 0, 0};
    int rc = fg_settlement_check(gateway, data, len, batches, &st.count, &st.rows, err);
    if (rc != 0)
        return rc;
    if ((rc = fg_db_tx(db, store_tx, &st)) != 0)
        return rc;
    out->batches = st.count;
    out->rows = st.rows;
    for (int b = 0; b < st.count; b++) {
        out->new_batches += batches[b].stored;
        if (b == 0) {
            snprintf(out->batch_ref, sizeof(out->batch_ref), "%s", batches[0].batch_ref);
            out->gross = batches[0].gross;
            out->fees = batches[0].fees;
            out->net = batches[0].net;
        }
    }
    return 0;
}

void fg_settlement_json(fg_buf_t *b, const char *gateway, const fg_settlement_result_t *r)
{
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "object", "settlement_import");
    fg_json_kv_str(b, 1, "gateway", gateway);
    fg_json_kv_int(b, 1, "batches", r->batches);
    fg_json_kv_int(b, 1, "new_batches", r->new_batches);
    fg_json_kv_int(b, 1, "rows", r->rows);
    fg_json_kv_str(b, 1, "batch_ref", r->batch_ref);
    fg_json_kv_int(b, 1, "gross", r->gross);
    fg_json_kv_int(b, 1, "fees", r->fees);
    fg_json_kv_int(b, 1, "net", r->net);
    fg_buf_putc(b, '}');
}
