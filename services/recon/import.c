/*
 * import.c - a statement file into statement_imports, statements and
 * statement_lines (schema/0007_statements.sql).
 *
 * The file is read twice, streaming (memory bounded by a constant and the
 * key counts of one statement):
 *   1. its SHA-256 only: a file imported before is answered with that import;
 *   2. parsed in one transaction: the import row, each statement's row, its
 *      lines stored a thousand at a time (INSERT IGNORE keyed (account,
 *      line_key), so a line an earlier file brought is skipped and counted
 *      as overlapped), and each statement checked as it ends (opening +
 *      lines = closing).  Any refusal rolls the whole transaction back:
 *      nothing of a bad file is ever stored.
 *
 * The second read is a pipeline of two threads: a reader thread parses the
 * file, computes each line's key and fills batches; the calling thread, the
 * only one that touches the connection, takes the batches in file order and
 * stores them.  Parsing the next batch overlaps the database's work on the
 * one before, and BATCHES bound what is in flight.  The calling thread sees
 * every event (a statement's start, its lines, its end, the reader's
 * refusal) in the order the file has them, so the first fault in the file is
 * the one reported, as with a single thread.
 */
#include "recon/recon_internal.h"
#include "recon/statement_internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/crypto.h"
#include "core/day.h"
#include "core/money.h"
#include "core/text.h"

#define CHUNK_BYTES (64 * 1024)
/* A line's columns, and those of them that are text. */
#define LINE_COLS 17
#define TEXT_COLS 8
/* Lines per round trip: one prepared INSERT executed for a whole batch
 * (array binding, db.h fg_db_bulk). */
#define BATCH_ROWS 1000
/* A line's text at most (reference, end-to-end id, counterparty, memo,
 * type), and the bytes of text one batch holds: a batch is sent early when
 * the next line might not fit, so a batch of long memos is smaller. */
#define ROW_TEXT_MAX (2 * FG_STMT_REF_MAX + FG_STMT_NAME_MAX + FG_STMT_MEMO_MAX + FG_STMT_TYPE_MAX + 5)
#define BATCH_TEXT_BYTES (512 * 1024)
/* Batches of an import: one the reader fills, one being stored, one ready
 * between them (about 1 MiB each). */
#define BATCHES 3
/* What a reader's sink returns to stop its parser when the storing thread
 * has given up: not an error of the file. */
#define READER_STOPPED 1
_Static_assert(LINE_COLS <= FG_DB_BULK_COLS_MAX, "a line's columns fit a bulk statement");
_Static_assert(BATCH_TEXT_BYTES >= 64 * ROW_TEXT_MAX, "a batch holds many lines of the longest text");
/* Lines of one statement whose keys are counted (repeats are duplicates;
 * reference-less lines are told apart by their occurrence): about 48 MiB
 * at most, the one part of an import that grows with a statement's size. */
#define OCCURRENCES_MAX (1 << 21)

/* an import of the file, with what it found (the first statement's account) */
static const char SQL_BY_FILE[] =
    "SELECT i.public_id, i.file_bytes, i.statement_count, i.line_count, i.new_lines, i.overlapped_lines, "
    "COALESCE(f.account, ''), COALESCE(f.currency, ''), (SELECT COALESCE(SUM(s.credits), 0) FROM statements s WHERE "
    "s.import_id = i.id), (SELECT COALESCE(SUM(s.debits), 0) FROM statements s WHERE s.import_id = i.id), (SELECT "
    "COUNT(*) FROM statements s WHERE s.import_id = i.id AND s.gap IS NOT NULL) FROM statement_imports i LEFT JOIN "
    "statements f ON f.import_id = i.id AND f.seq_in_file = (SELECT MIN(seq_in_file) FROM statements WHERE import_id = "
    "i.id) WHERE i.file_sha256 = ?";
static const char SQL_IMPORT[] =
    "INSERT INTO statement_imports (public_id, file_sha256, format, file_bytes, statement_count, line_count, "
    "new_lines, overlapped_lines, imported_by, created_at) VALUES (?, ?, ?, ?, 0, 0, 0, 0, ?, ?)";
static const char SQL_IMPORT_DONE[] =
    "UPDATE statement_imports SET statement_count = ?, line_count = ?, new_lines = ?, "
    "overlapped_lines = ? WHERE id = ?";
static const char SQL_STATEMENT[] =
    "INSERT INTO statements (import_id, seq_in_file, bank_id, account, currency, opening, closing, opening_date, "
    "closing_date, from_date, to_date, line_count, credits, debits, gap, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, 0, 0, 0, ?, ?)";
/* A statement of the account in another currency: an account holds one
 * (reconciliations, reports and payout batches read it off its statements). */
static const char SQL_OTHER_CURRENCY[] = "SELECT currency FROM statements WHERE account = ? AND currency <> ? LIMIT 1";
/* A closing on a day at or before the account's last closed day is kept as
 * the bank sent it, marked late: such a day's balance never changes (the
 * lines of it that come now go after the closed days: bank.c posting_day),
 * and a closed day's closing stays the one it closed with (schema/0042). */
static const char SQL_STATEMENT_DONE[] =
    "UPDATE statements SET closing = ?, closing_date = ?, line_count = ?, credits = ?, debits = ?, gap = ?, "
    "late_closing = COALESCE(? <= (SELECT MAX(day) FROM recon_closed_days c WHERE c.account = ?), 0) WHERE id = ?";
/* Every line this statement brought is an item to reconcile, on its value
 * date, or on the first open day when that day is at or before the
 * account's last closed day (such a day never changes, as its postings
 * show: bank.c posting_day).  A line
 * whose reference is a transfer the bank feed recorded at the same amount
 * (not a duplicate, no settlement batch waiting for it) finds it in the join
 * and is matched as it comes in, keeping the feed's payment (rule 1,
 * match.c, fg_recon_import_matched).  The
 * day after the account's last closed day is read before, once (where a
 * join or a dependent EXISTS looked each line's day up in the table), and the statement's lines through its index,
 * always: with few statements of many lines each, the optimizer would scan every line ever imported. */
static const char SQL_ITEMS[] =
    "INSERT INTO recon_items (kind, line_id, account, business_day, amount, currency, state, rule, detail, "
    "payment_id, created_at, updated_at) SELECT 'bank_line', l.id, l.account, IF(l.value_date < ?, ?, "
    "l.value_date), l.amount, l.currency, IF(l.duplicate, 'duplicate', "
    "IF(t.bank_ref IS NOT NULL, 'matched', 'unmatched')), IF(t.bank_ref IS NOT NULL, 'reference', NULL), "
    "IF(t.bank_ref IS NOT NULL, 'the bank feed recorded this transfer', NULL), t.payment_id, ?, ? FROM "
    "statement_lines l FORCE INDEX (ix_statement_lines_statement) LEFT JOIN bank_transfers t ON t.account = "
    "l.account AND t.bank_ref = l.bank_ref AND t.amount = l.amount AND l.amount > 0 AND l.bank_ref <> '' AND "
    "l.duplicate = 0 AND NOT EXISTS (SELECT 1 FROM settlement_batches b WHERE b.line_id IS NULL AND b.batch_ref IN "
    "(l.bank_ref, l.end_to_end)) WHERE l.statement_id = ? AND l.payment_id IS NULL RETURNING business_day, state, "
    "amount, rule";
/* Rule 1 as the lines are stored (schema/0029): which credits of a batch (a
 * JSON array of [row, reference, end-to-end id, amount, value day]) are
 * transfers the bank feed recorded with their payment, at the same amount,
 * with no settlement batch waiting for them, on a day after the account's
 * last closed day (no closed day at or after it).  Those
 * lines are stored with the payment and get no item; the rest go to
 * SQL_ITEMS, which decides for them as before (a feed transfer that made no
 * payment is matched there, with its item). */
static const char SQL_MATCH_BATCH[] =
    "SELECT j.i, t.payment_id FROM JSON_TABLE(?, '$[*]' COLUMNS (i INT PATH '$[0]', r VARCHAR(64) PATH '$[1]', "
    "e VARCHAR(64) PATH '$[2]', a BIGINT PATH '$[3]', d INT PATH '$[4]')) j STRAIGHT_JOIN bank_transfers t ON "
    "t.account = ? AND t.bank_ref = j.r AND t.amount = j.a AND t.payment_id IS NOT NULL WHERE NOT EXISTS (SELECT "
    "1 FROM settlement_batches b WHERE b.line_id IS NULL AND b.batch_ref IN (j.r, j.e)) AND NOT EXISTS (SELECT 1 "
    "FROM recon_closed_days c WHERE c.account = ? AND c.day >= j.d)";
/* Which of a batch's keys (a JSON array of hex strings, one parameter)
 * the account holds already: one round trip of index lookups. */
static const char SQL_KNOWN_KEYS[] =
    "SELECT l.line_key, l.amount FROM JSON_TABLE(?, '$[*]' COLUMNS (k CHAR(64) PATH '$')) j JOIN statement_lines l "
    "ON l.account = ? AND l.line_key = UNHEX(j.k)";
/* The first of a batch's lines (by its place) whose key is stored with
 * another amount: a bank reference imported before, now with a new amount.
 * A reference the bank gave two lines of one statement (kept as a line and
 * its repeat) may come in another order in the next export: a line whose
 * amount one of its reference's stored lines has is that line. */
static const char SQL_CHANGED_LINE[] =
    "SELECT j.i, l.amount FROM JSON_TABLE(?, '$[*]' COLUMNS (i INT PATH '$[0]', k CHAR(64) PATH '$[1]', "
    "a BIGINT PATH '$[2]')) j JOIN statement_lines l ON l.account = ? AND l.line_key = UNHEX(j.k) AND l.amount <> j.a "
    "AND NOT EXISTS (SELECT 1 FROM statement_lines x WHERE x.account = l.account AND x.bank_ref = l.bank_ref AND "
    "x.amount = j.a) ORDER BY j.i LIMIT 1";
static const char SQL_LINES[] =
    "INSERT IGNORE INTO statement_lines (statement_id, account, line_key, currency, amount, reversal, booking_date, "
    "value_date, bank_ref, end_to_end, counterparty, memo, type, source_line, duplicate, payment_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, 0), ?)";

/* ---- line keys ------------------------------------------------------------------- */

/* The bytes a key is the SHA-256 of: its parts, each followed by a unit
 * separator ("ab"+"c" differs from "a"+"bc"); numbers in decimal. */
#define KEY_TEXT_MAX (FG_STMT_MEMO_MAX + 192)

static char *key_part(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    p[n] = '\x1f';
    return p + n + 1;
}

/* v in decimal, as printf's %lld writes it. */
static char *put_int(char *p, int64_t v)
{
    char digits[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *p++ = '-';
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* The text of the key, in buf (KEY_TEXT_MAX bytes); its length. */
static size_t key_text(const fg_stmt_line_t *l, int occurrence, char *buf)
{
    char *p = buf;
    if (l->bank_ref[0] != '\0') {
        /* a reversal (RC/RD, RvslInd) may reuse the reference of the line it
         * reverses: it is a line of its own */
        p = key_part(p, l->reversal ? "ref-reversal" : "ref", l->reversal ? 12 : 3);
        p = key_part(p, l->bank_ref, strlen(l->bank_ref));
    } else if (l->end_to_end[0] != '\0') {
        /* end-to-end ids are the payer's and need not be unique (an app's
         * fixed text, "VCBMOBILE", on every transfer it makes): the memo
         * keeps two payers' equal transfers of one day apart, so a later
         * file's line is never dropped as one imported before */
        p = key_part(p, "e2e", 3);
        p = key_part(p, l->end_to_end, strlen(l->end_to_end));
        p = put_int(p, l->value_date);
        *p++ = '|';
        p = put_int(p, l->amount);
        *p++ = '\x1f';
        p = key_part(p, l->memo, strlen(l->memo));
    } else {
        p = key_part(p, "memo", 4);
        p = put_int(p, l->value_date);
        *p++ = '|';
        p = put_int(p, l->amount);
        *p++ = '|';
        p = put_int(p, occurrence);
        *p++ = '\x1f';
        p = key_part(p, l->memo, strlen(l->memo));
    }
    return (size_t)(p - buf);
}
_Static_assert(KEY_TEXT_MAX >= 5 + 3 * 21 + 3 + FG_STMT_MEMO_MAX + 1, "the longest key text fits");
_Static_assert(KEY_TEXT_MAX >= 4 + FG_STMT_REF_MAX + 1 + 2 * 21 + 2, "a reference's key text fits");
_Static_assert(KEY_TEXT_MAX >= 4 + FG_STMT_REF_MAX + 1 + 2 * 21 + 2 + FG_STMT_MEMO_MAX + 1,
               "an end-to-end id's key text fits");

void fg_stmt_line_key(const fg_stmt_line_t *l, int occurrence, uint8_t key[32])
{
    char text[KEY_TEXT_MAX];
    fg_sha256(text, key_text(l, occurrence, text), key);
}

/* Occurrences of (account, value date, amount, memo) among a file's lines
 * that have no reference: an open-addressing table of 64-bit digests.  Counted
 * across the file, not each statement: a day a bank splits into pages
 * (MT940 :60M:/:62M:, several camt Stmt) holds the same payment twice as two
 * lines, and an export that repeats page one counts it again the same way. */
typedef struct {
    uint64_t *keys;
    uint32_t *counts;
    size_t cap, used;
} occurrences_t;

static void occurrences_reset(occurrences_t *o)
{
    if (o->keys != NULL)
        memset(o->keys, 0, o->cap * sizeof(*o->keys));
    o->used = 0;
}

static void occurrences_free(occurrences_t *o)
{
    free(o->keys);
    free(o->counts);
    memset(o, 0, sizeof(*o));
}

static int occurrences_grow(occurrences_t *o)
{
    size_t cap = o->cap == 0 ? 1024 : o->cap * 2;
    uint64_t *keys = calloc(cap, sizeof(*keys));
    uint32_t *counts = calloc(cap, sizeof(*counts));
    if (keys == NULL || counts == NULL) {
        free(keys);
        free(counts);
        return FG_ENOMEM;
    }
    for (size_t i = 0; i < o->cap; i++) {
        if (o->keys[i] == 0)
            continue;
        size_t j = o->keys[i] & (cap - 1);
        while (keys[j] != 0)
            j = (j + 1) & (cap - 1);
        keys[j] = o->keys[i];
        counts[j] = o->counts[i];
    }
    free(o->keys);
    free(o->counts);
    o->keys = keys;
    o->counts = counts;
    o->cap = cap;
    return 0;
}

/* The occurrence (1, 2, …) of a digest among those counted in o. */
static int occurrence_of_digest(occurrences_t *o, const uint8_t digest[FG_SHA256_LEN], int *occurrence)
{
    uint64_t k;
    memcpy(&k, digest, sizeof(k));
    k |= 1; /* 0 marks an empty slot */
    if (o->used * 2 >= o->cap) {
        if (o->used >= OCCURRENCES_MAX)
            return FG_ERANGE;
        int rc = occurrences_grow(o);
        if (rc != 0)
            return rc;
    }
    size_t j = k & (o->cap - 1);
    while (o->keys[j] != 0 && o->keys[j] != k)
        j = (j + 1) & (o->cap - 1);
    if (o->keys[j] == 0) {
        o->keys[j] = k;
        o->counts[j] = 0;
        o->used++;
    }
    *occurrence = (int)++o->counts[j];
    return 0;
}

/* The occurrence (1, 2, …) of this reference-less line of account in the file. */
static int occurrence_of(occurrences_t *o, const char *account, const fg_stmt_line_t *l, int *occurrence)
{
    uint8_t digest[FG_SHA256_LEN];
    char text[KEY_TEXT_MAX + FG_STMT_ACCOUNT_MAX + 1];
    size_t account_len = strlen(account);
    memcpy(text, account, account_len);
    text[account_len] = '|';
    char *p = put_int(text + account_len + 1, l->value_date);
    *p++ = '|';
    p = put_int(p, l->amount);
    *p++ = '|';
    size_t n = strlen(l->memo);
    memcpy(p, l->memo, n);
    fg_sha256(text, (size_t)(p - text) + n, digest);
    return occurrence_of_digest(o, digest, occurrence);
}

/* ---- reading the source ------------------------------------------------------------- */

typedef int (*chunk_fn)(void *arg, const char *data, size_t len);

/* Calls fn for each chunk of the file, from its start.  FG_ERANGE beyond
 * FG_STMT_FILE_MAX, FG_EIO when it cannot be read, or fn's non-zero. */
static int read_source(const fg_stmt_source_t *src, chunk_fn fn, void *arg, int64_t *bytes)
{
    *bytes = 0;
    if (src->data != NULL) {
        if (src->len > FG_STMT_FILE_MAX)
            return FG_ERANGE;
        *bytes = (int64_t)src->len;
        for (size_t off = 0; off < src->len; off += CHUNK_BYTES) {
            size_t n = src->len - off < CHUNK_BYTES ? src->len - off : CHUNK_BYTES;
            int rc = fn(arg, src->data + off, n);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    char *buf = malloc(CHUNK_BYTES);
    int rc = 0;
    if (buf == NULL)
        return FG_ENOMEM;
    if (fseek(src->file, 0, SEEK_SET) != 0)
        rc = FG_EIO;
    while (rc == 0) {
        size_t n = fread(buf, 1, CHUNK_BYTES, src->file);
        if (n == 0) {
            rc = ferror(src->file) ? FG_EIO : 0;
            break;
        }
        *bytes += (int64_t)n;
        if (*bytes > FG_STMT_FILE_MAX)
            rc = FG_ERANGE;
        else
            rc = fn(arg, buf, n);
    }
    free(buf);
    return rc;
}

/* ---- checks, as the lines go by ---------------------------------------------------- */

typedef struct {
    fg_stmt_error_t *err;
    fg_import_result_t *out;
    int64_t sum;          /* of the current statement's lines */
    int32_t today;        /* the business day of the import: no bank books on a day that has not begun */
    int32_t first_booked; /* the current statement's earliest booking day, 0 before its first line */
} check_t;

static int check_statement(void *arg, const fg_stmt_header_t *h)
{
    check_t *c = arg;
    c->out->statements++;
    c->sum = 0;
    c->first_booked = 0;
    if (c->out->statements == 1) {
        snprintf(c->out->account, sizeof(c->out->account), "%s", h->account);
        snprintf(c->out->currency, sizeof(c->out->currency), "%s", h->currency);
    }
    if (h->account[0] == '\0')
        return fg_stmt_fail(c->err, 0, NULL, "statement %d names no account", c->out->statements);
    if (fg_currency_find(h->currency, strlen(h->currency)) == NULL)
        return fg_stmt_fail(c->err, 0, NULL, "statement %d: unknown currency \"%s\"", c->out->statements, h->currency);
    return 0;
}

static int check_line(check_t *c, int64_t amount, int32_t booked, int64_t source_line)
{
    fg_import_result_t *o = c->out;
    if (booked > c->today) { /* a wrong date, or a file of someone's test: never money of a day to come */
        char day[11];
        fg_day_format(booked, day);
        return fg_stmt_fail(c->err, (uint32_t)source_line, NULL,
                            "line %u: booked on %s, a day that has not begun (GMT+7)", (unsigned)source_line, day);
    }
    if (c->first_booked == 0 || booked < c->first_booked)
        c->first_booked = booked;
    int64_t *side = amount > 0 ? &o->credits : &o->debits;
    /* debits stop short of INT64_MIN: the answer writes their size (fg_import_json) */
    if (!fg_amount_valid(amount > 0 ? amount : -amount) || fg_money_add(c->sum, amount, &c->sum) != 0 ||
        fg_money_add(*side, amount, side) != 0 || *side == INT64_MIN)
        return fg_stmt_fail(c->err, (uint32_t)source_line, NULL, "line %u: amount out of range", (unsigned)source_line);
    o->lines++;
    return 0;
}

static int check_statement_end(void *arg, const fg_stmt_header_t *h)
{
    check_t *c = arg;
    int64_t expected;
    /* the dates the bank book posts by (import.c's first day: the period's
     * start, else the first line's, the closing's or the opening's) */
    static const char *const WHAT[] = {"closing balance is dated", "opening balance is dated", "period begins on"};
    int32_t dates[] = {h->has_closing ? h->closing_date : 0, h->has_opening ? h->opening_date : 0, h->from_date};
    for (int i = 0; i < 3; i++)
        if (dates[i] > c->today) {
            char day[11];
            fg_day_format(dates[i], day);
            return fg_stmt_fail(c->err, 0, NULL, "statement %d: its %s %s, a day that has not begun",
                                c->out->statements, WHAT[i], day);
        }
    if (h->from_date != 0 && c->first_booked != 0 && h->from_date > c->first_booked) {
        char from[11], first[11];
        fg_day_format(h->from_date, from);
        fg_day_format(c->first_booked, first);
        return fg_stmt_fail(c->err, 0, NULL, "statement %d: its period begins on %s, after its first line (%s)",
                            c->out->statements, from, first);
    }
    if (!h->has_opening || !h->has_closing) {
        /* a notification (camt.054) carries no balances; a statement must */
        if (c->out->format == FG_STMT_CAMT053)
            return fg_stmt_fail(c->err, 0, "Stmt/Bal",
                                "statement %d has no %s balance: a camt.053 carries its opening (OPBD or PRCD) and "
                                "closing (CLBD) balances; a notification without them is camt.054",
                                c->out->statements, h->has_opening ? "closing" : "opening");
        return 0;
    }
    /* the bank book's arithmetic (differences against the ledger, gaps
     * against the previous closing) stays far inside int64 */
    if (h->opening > FG_AMOUNT_MAX || h->opening < -FG_AMOUNT_MAX || h->closing > FG_AMOUNT_MAX ||
        h->closing < -FG_AMOUNT_MAX)
        return fg_stmt_fail(c->err, 0, NULL, "statement %d: a balance is beyond %lld", c->out->statements,
                            (long long)FG_AMOUNT_MAX);
    if (fg_money_add(h->opening, c->sum, &expected) != 0 || expected != h->closing) {
        c->out->unbalanced_index = c->out->statements;
        c->out->opening = h->opening;
        c->out->lines_total = c->sum;
        c->out->closing = h->closing;
        return FG_ECHECKSUM;
    }
    return 0;
}

static int hash_chunk(void *arg, const char *data, size_t len)
{
    fg_sha256_update(arg, data, len);
    return 0;
}

/* ---- batches ------------------------------------------------------------------------ */

/* Lines of one statement, column-wise as array binding takes them, with
 * what surrounds them in the file: the statement's start before them, its
 * end after them.  The reader fills everything but the statement's row id
 * and the time, which the storing thread sets. */
typedef struct {
    bool begins, ends;
    fg_stmt_header_t begin, end;
    char account[FG_STMT_ACCOUNT_MAX + 1], currency[4];
    unsigned rows;
    size_t text_used;
    int64_t statement[BATCH_ROWS], amount[BATCH_ROWS], reversal[BATCH_ROWS], booking[BATCH_ROWS], value[BATCH_ROWS],
        source[BATCH_ROWS], duplicate[BATCH_ROWS], created[BATCH_ROWS];
    int64_t payment[BATCH_ROWS]; /* the feed's payment a line is matched to as stored, or 0 */
    const char *text[TEXT_COLS][BATCH_ROWS];
    unsigned long len[TEXT_COLS][BATCH_ROWS];
    uint8_t key[BATCH_ROWS][FG_SHA256_LEN];
    char text_bytes[BATCH_TEXT_BYTES];
} batch_t;

static void batch_start(batch_t *b, const fg_stmt_header_t *h)
{
    b->begins = b->ends = false;
    b->rows = 0;
    b->text_used = 0;
    memcpy(b->account, h->account, sizeof(b->account));
    memcpy(b->currency, h->currency, sizeof(b->currency));
}

static bool batch_full(const batch_t *b)
{
    return b->rows == BATCH_ROWS || BATCH_TEXT_BYTES - b->text_used < ROW_TEXT_MAX;
}

/* Text column t of row i: a copy of s in the batch. */
static void batch_text(batch_t *b, int t, unsigned i, const char *s)
{
    size_t n = strlen(s);
    char *at = b->text_bytes + b->text_used;
    assert(b->text_used + n <= BATCH_TEXT_BYTES);
    memcpy(at, s, n);
    b->text_used += n;
    b->text[t][i] = at;
    b->len[t][i] = (unsigned long)n;
}

static void batch_add(batch_t *b, const fg_stmt_line_t *l, const uint8_t key[FG_SHA256_LEN], int duplicate)
{
    unsigned i = b->rows++;
    assert(i < BATCH_ROWS);
    memcpy(b->key[i], key, FG_SHA256_LEN);
    b->text[0][i] = b->account;
    b->len[0][i] = (unsigned long)strlen(b->account);
    b->text[1][i] = (const char *)b->key[i];
    b->len[1][i] = FG_SHA256_LEN;
    b->text[2][i] = b->currency;
    b->len[2][i] = (unsigned long)strlen(b->currency);
    batch_text(b, 3, i, l->bank_ref);
    batch_text(b, 4, i, l->end_to_end);
    batch_text(b, 5, i, l->counterparty);
    batch_text(b, 6, i, l->memo);
    batch_text(b, 7, i, l->type);
    b->amount[i] = l->amount;
    b->reversal[i] = l->reversal;
    b->booking[i] = l->booking_date;
    b->value[i] = l->value_date;
    b->source[i] = l->source_line;
    b->duplicate[i] = duplicate;
}

/* ---- storing ------------------------------------------------------------------------ */

typedef struct {
    fg_db_t *db;
    const fg_stmt_source_t *src;
    fg_stmt_format_t format;
    const char *imported_by;
    const uint8_t *sha;
    fg_import_result_t *out;
    fg_stmt_error_t *err;
    fg_stmt_parser_t *parser;
    int64_t now, import_id, statement_id;
    int seq;
    int64_t st_lines, st_credits, st_debits;
    int32_t st_first, st_last;       /* the statement's first and last booking day */
    int64_t st_itemized;             /* lines sent without a payment: SQL_ITEMS decides for them */
    bool st_recount;                 /* INSERT IGNORE skipped lines: read st_matched back */
    fg_recon_line_days_t st_matched; /* lines sent with a payment, per day */
    check_t check;                   /* every statement balances, every amount in range */
    batch_t *batch;                  /* the lines flush sends next, or NULL */
    batch_t *owned[BATCHES];
    bool probe;     /* the last batch overlapped: ask which keys are known before sending */
    fg_buf_t known; /* the keys the last probe found */

    /* The reader thread's own: its parser's error, its key counts. */
    fg_stmt_error_t reader_err;
    occurrences_t occ;  /* reference-less lines of the file */
    occurrences_t keys; /* every key of the statement: a repeat is a duplicate */
    batch_t *filling;   /* the batch it adds to, or NULL */

    /* Between the two threads, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    batch_t *spare[BATCHES], *ready[BATCHES];
    int spare_count, ready_first, ready_count;
    bool stop;        /* the storing thread gave up: the reader ends (atomic) */
    bool reader_done; /* nothing more comes; reader_rc says why */
    int reader_rc;
} store_t;

static int compare_key(const void *a, const void *b) { return memcmp(a, b, FG_SHA256_LEN); }

/* A known key as drop_known keeps it: the key, then the stored amount. */
#define KNOWN_LEN (FG_SHA256_LEN + sizeof(int64_t))

static void key_hex(const uint8_t key[FG_SHA256_LEN], char *out)
{
    static const char HEX[] = "0123456789abcdef";
    for (int k = 0; k < FG_SHA256_LEN; k++) {
        out[2 * k] = HEX[key[k] >> 4];
        out[2 * k + 1] = HEX[key[k] & 15];
    }
}

/* A line keyed by its bank reference is the same line in every file that
 * has it: a bank never changes a booked line (a correction is a reversal and
 * a line of its own).  A file giving a reference imported before another
 * amount is refused whole; skipped as overlapped, its amount would be lost. */
static int changed_line(store_t *s, const batch_t *b, unsigned i, int64_t stored)
{
    char was[32], now[32];
    const fg_currency_t *cur = fg_currency_find(b->currency, strlen(b->currency));
    int exponent = cur != NULL ? cur->exponent : 0;
    if (fg_money_format(stored, exponent, was, sizeof(was)) < 0 ||
        fg_money_format(b->amount[i], exponent, now, sizeof(now)) < 0)
        was[0] = now[0] = '\0';
    return fg_stmt_fail(s->err, (uint32_t)b->source[i], NULL,
                        "line %u: bank reference %.*s was imported with the amount %s %s, this file gives %s %s "
                        "(a bank corrects a booked line by a reversal, never by changing it)",
                        (unsigned)b->source[i], (int)b->len[3][i], b->text[3][i], was, b->currency, now, b->currency);
}

/* After INSERT IGNORE skipped some of a batch's lines: any of them keyed by
 * a reference stored with another amount refuses the file. */
static int check_changed(store_t *s, const batch_t *b)
{
    fg_buf_t json = FG_BUF_INIT;
    fg_stmt_t st;
    int64_t row = -1, stored = 0;
    unsigned asked = 0;
    fg_buf_putc(&json, '[');
    for (unsigned i = 0; i < b->rows; i++) {
        char hex[2 * FG_SHA256_LEN];
        if (b->len[3][i] == 0)
            continue; /* no reference: the amount is part of the key */
        key_hex(b->key[i], hex);
        fg_buf_printf(&json, "%s[%u,\"%.*s\",%lld]", asked++ > 0 ? "," : "", i, (int)sizeof(hex), hex,
                      (long long)b->amount[i]);
    }
    fg_buf_putc(&json, ']');
    int rc = 0;
    if (asked > 0 && (rc = fg_stmt_init(&st, s->db, SQL_CHANGED_LINE)) == 0) {
        fg_stmt_str(&st, json.data, json.len);
        fg_stmt_cstr(&st, b->account);
        fg_stmt_out_int(&st, &row, NULL);
        fg_stmt_out_int(&st, &stored, NULL);
        rc = fg_stmt_one(&st);
        if (rc == FG_ENOTFOUND)
            rc = 0, row = -1;
    }
    fg_buf_free(&json);
    if (rc != 0)
        return rc;
    return row >= 0 && row < (int64_t)b->rows ? changed_line(s, b, (unsigned)row, stored) : 0;
}

/* Asks which of the batch's keys the account holds already (committed, or
 * stored by this transaction) and drops those rows from the batch: they are
 * the overlapped lines INSERT IGNORE would skip.  A key another import has
 * not committed yet is not seen, so its row is sent, and INSERT IGNORE
 * decides as before.  *known: how many rows were dropped. */
static int drop_known(store_t *s, batch_t *b, unsigned *known)
{
    fg_buf_t json = FG_BUF_INIT, key = FG_BUF_INIT;
    fg_stmt_t st;
    int64_t amount = 0;
    unsigned found = 0, kept = 0;
    fg_buf_reserve(&json, (size_t)b->rows * (2 * FG_SHA256_LEN + 3) + 2);
    fg_buf_putc(&json, '[');
    for (unsigned i = 0; i < b->rows; i++) {
        char hex[2 * FG_SHA256_LEN + 3];
        hex[0] = i > 0 ? ',' : ' ';
        hex[1] = '"';
        key_hex(b->key[i], hex + 2);
        hex[2 + 2 * FG_SHA256_LEN] = '"';
        fg_buf_append(&json, hex, sizeof(hex));
    }
    fg_buf_putc(&json, ']');
    fg_buf_reset(&s->known);
    int rc = fg_stmt_init(&st, s->db, SQL_KNOWN_KEYS);
    if (rc == 0) {
        fg_stmt_str(&st, json.data, json.len);
        fg_stmt_cstr(&st, b->account);
        fg_stmt_out_text(&st, &key, NULL);
        fg_stmt_out_int(&st, &amount, NULL);
        rc = fg_stmt_exec(&st);
    }
    while (rc == 0 && (rc = fg_stmt_fetch(&st)) == 1) {
        rc = 0;
        if (key.len == FG_SHA256_LEN && found < b->rows) {
            fg_buf_append(&s->known, key.data, FG_SHA256_LEN);
            fg_buf_append(&s->known, &amount, sizeof(amount));
            found++;
        }
    }
    fg_stmt_done(&st);
    fg_buf_free(&json);
    fg_buf_free(&key);
    if (rc < 0)
        return rc;
    qsort(s->known.data, found, KNOWN_LEN, compare_key);
    for (unsigned i = 0; i < b->rows; i++) {
        const char *k = found > 0 ? bsearch(b->key[i], s->known.data, found, KNOWN_LEN, compare_key) : NULL;
        if (k != NULL) {
            int64_t stored;
            memcpy(&stored, k + FG_SHA256_LEN, sizeof(stored));
            if (stored == b->amount[i])
                continue;
            /* known with another amount: sent, so that INSERT IGNORE skips
             * it and check_changed decides on it with the other lines */
        }
        if (kept != i) { /* column-wise: every column moves; a key's bytes stay where they are */
            b->amount[kept] = b->amount[i];
            b->reversal[kept] = b->reversal[i];
            b->booking[kept] = b->booking[i];
            b->value[kept] = b->value[i];
            b->source[kept] = b->source[i];
            b->duplicate[kept] = b->duplicate[i];
            for (int t = 0; t < TEXT_COLS; t++) {
                b->text[t][kept] = b->text[t][i];
                b->len[t][kept] = b->len[t][i];
            }
        }
        kept++;
    }
    *known = b->rows - kept;
    b->rows = kept;
    return 0;
}

/* Sets b->payment for the batch's lines the bank feed recorded already
 * (SQL_MATCH_BATCH): one round trip of index probes. */
static int match_batch(store_t *s, batch_t *b)
{
    fg_buf_t json = FG_BUF_INIT;
    fg_stmt_t st;
    int64_t row = 0, payment = 0;
    unsigned asked = 0;
    fg_buf_putc(&json, '[');
    for (unsigned i = 0; i < b->rows; i++) {
        b->payment[i] = 0;
        if (b->amount[i] <= 0 || b->duplicate[i] || b->len[3][i] == 0)
            continue;
        fg_buf_printf(&json, "%s[%u,", asked++ > 0 ? "," : "", i);
        fg_json_str(&json, b->text[3][i], b->len[3][i]);
        fg_buf_putc(&json, ',');
        fg_json_str(&json, b->text[4][i], b->len[4][i]);
        fg_buf_printf(&json, ",%lld,%lld]", (long long)b->amount[i], (long long)b->value[i]);
    }
    fg_buf_putc(&json, ']');
    int rc = 0;
    if (asked > 0 && (rc = fg_stmt_init(&st, s->db, SQL_MATCH_BATCH)) == 0) {
        fg_stmt_str(&st, json.data, json.len);
        fg_stmt_cstr(&st, b->account);
        fg_stmt_cstr(&st, b->account);
        fg_stmt_out_int(&st, &row, NULL);
        fg_stmt_out_int(&st, &payment, NULL);
        if ((rc = fg_stmt_exec(&st)) == 0) {
            while ((rc = fg_stmt_fetch(&st)) == 1)
                if (row >= 0 && row < (int64_t)b->rows)
                    b->payment[row] = payment;
            rc = rc < 0 ? rc : 0;
        }
    }
    fg_buf_free(&json);
    return rc;
}

static int flush(store_t *s)
{
    uint64_t inserted = 0;
    batch_t *b = s->batch;
    s->batch = NULL;
    if (b == NULL || b->rows == 0)
        return 0;
    for (unsigned i = 0; i < b->rows; i++) {
        int rc = check_line(&s->check, b->amount[i], (int32_t)b->booking[i], b->source[i]);
        if (rc != 0)
            return rc;
        s->st_lines++;
        if (s->st_first == 0 || b->booking[i] < s->st_first)
            s->st_first = (int32_t)b->booking[i];
        if (b->booking[i] > s->st_last)
            s->st_last = (int32_t)b->booking[i];
        if (b->amount[i] > 0)
            s->st_credits += b->amount[i]; /* bounded: check_line checked every sum */
        else
            s->st_debits += b->amount[i];
        b->statement[i] = s->statement_id;
        b->created[i] = s->now;
    }
    /* A line that overlaps an earlier file costs the server an insert and its
     * undo through INSERT IGNORE; overlaps come in runs (a bank's exports
     * overlap by days), so after a batch that overlapped, the next one is
     * first probed for its known keys, until a probe finds none. */
    if (s->probe) {
        unsigned known = 0;
        int rc = drop_known(s, b, &known);
        if (rc != 0)
            return rc;
        s->out->overlapped_lines += known;
        s->probe = known > 0;
        if (b->rows == 0)
            return 0;
    }
    int rc = match_batch(s, b);
    if (rc != 0)
        return rc;
#define INT_COL(a)                                                                                                     \
    {                                                                                                                  \
        FG_DB_V_INT, (a), NULL, NULL                                                                                   \
    }
#define TEXT_COL(t, type)                                                                                              \
    {                                                                                                                  \
        (type), NULL, b->text[t], b->len[t]                                                                            \
    }
    const fg_db_column_t cols[LINE_COLS] = {
        INT_COL(b->statement),    TEXT_COL(0, FG_DB_V_STR), TEXT_COL(1, FG_DB_V_BLOB), TEXT_COL(2, FG_DB_V_STR),
        INT_COL(b->amount),       INT_COL(b->reversal),     INT_COL(b->booking),       INT_COL(b->value),
        TEXT_COL(3, FG_DB_V_STR), TEXT_COL(4, FG_DB_V_STR), TEXT_COL(5, FG_DB_V_STR),  TEXT_COL(6, FG_DB_V_STR),
        TEXT_COL(7, FG_DB_V_STR), INT_COL(b->source),       INT_COL(b->duplicate),     INT_COL(b->payment),
        INT_COL(b->created)};
#undef INT_COL
#undef TEXT_COL
    if ((rc = fg_db_bulk(s->db, SQL_LINES, cols, LINE_COLS, b->rows, &inserted)) != 0 ||
        (inserted < b->rows && (rc = check_changed(s, b)) != 0))
        return rc;
    /* what the statement's end adds up: exact while every line sent was
     * stored; else it reads the statement's matched lines back */
    s->st_recount = s->st_recount || inserted < b->rows;
    for (unsigned i = 0; i < b->rows && rc == 0; i++)
        if (b->payment[i] == 0)
            s->st_itemized++;
        else if (!s->st_recount)
            rc = fg_recon_line_days_add(&s->st_matched, b->value[i], b->amount[i]);
    if (rc != 0)
        return rc;
    s->out->new_lines += (int64_t)inserted;
    s->out->overlapped_lines += (int64_t)b->rows - (int64_t)inserted;
    s->probe = s->probe || inserted < b->rows;
    return 0;
}

static int store_statement(void *arg, const fg_stmt_header_t *h)
{
    store_t *s = arg;
    fg_stmt_t st;
    int rc = check_statement(&s->check, h);
    /* before the lines read the closed days and match feed transfers */
    if (rc != 0 || (rc = fg_recon_account_lock(s->db, h->account, s->now)) != 0 ||
        (rc = fg_stmt_init(&st, s->db, SQL_OTHER_CURRENCY)) != 0)
        return rc;
    fg_buf_t other = FG_BUF_INIT;
    fg_stmt_cstr(&st, h->account);
    fg_stmt_cstr(&st, h->currency);
    fg_stmt_out_text(&st, &other, NULL);
    if ((rc = fg_stmt_one(&st)) == 0)
        rc = fg_stmt_fail(s->err, 0, NULL, "statement %d: account %s holds %s, not %s: an account has one currency",
                          s->out->statements, h->account, other.data != NULL ? other.data : "?", h->currency);
    fg_buf_free(&other);
    if (rc != FG_ENOTFOUND)
        return rc;
    s->seq++;
    s->st_lines = s->st_credits = s->st_debits = 0;
    s->st_first = s->st_last = 0;
    s->st_itemized = 0;
    s->st_recount = false;
    s->st_matched.count = 0;
    int64_t opening_date = h->opening_date, from = h->from_date, to = h->to_date;
    if ((rc = fg_stmt_init(&st, s->db, SQL_STATEMENT)) != 0)
        return rc;
    fg_stmt_int(&st, s->import_id);
    fg_stmt_int(&st, s->seq);
    fg_stmt_cstr(&st, h->id);
    fg_stmt_cstr(&st, h->account);
    fg_stmt_cstr(&st, h->currency);
    fg_stmt_int_or_null(&st, h->has_opening ? &h->opening : NULL);
    fg_stmt_int_or_null(&st, opening_date != 0 ? &opening_date : NULL);
    fg_stmt_int_or_null(&st, from != 0 ? &from : NULL);
    fg_stmt_int_or_null(&st, to != 0 ? &to : NULL);
    fg_stmt_int_or_null(&st, NULL); /* the gap, once the bank book knows it */
    fg_stmt_int(&st, s->now);
    if ((rc = fg_stmt_exec(&st)) != 0)
        return rc;
    s->statement_id = (int64_t)fg_stmt_insert_id(&st);
    return 0;
}

static int store_statement_end(void *arg, const fg_stmt_header_t *h)
{
    store_t *s = arg;
    fg_stmt_t st;
    int rc = flush(s);
    /* FG_ECHECKSUM when it does not balance: the transaction rolls back */
    if (rc != 0 || (rc = check_statement_end(&s->check, h)) != 0)
        return rc;
    int64_t matched = 0, matched_lines = 0;
    if (s->st_itemized > 0) { /* lines not matched as stored: their items */
        int32_t open_day = 0;
        if ((rc = fg_recon_after_closed(s->db, h->account, &open_day)) != 0 ||
            (rc = fg_stmt_init(&st, s->db, SQL_ITEMS)) != 0)
            return rc;
        fg_stmt_int(&st, open_day); /* 0 when no day is closed: no line is before it */
        fg_stmt_int(&st, open_day);
        fg_stmt_int(&st, s->now);
        fg_stmt_int(&st, s->now);
        fg_stmt_int(&st, s->statement_id);
        if ((rc = fg_recon_totals_insert_items(s->db, &st, h->account, &matched)) != 0)
            return rc;
    }
    if (s->st_recount && (rc = fg_recon_line_days_read(s->db, s->statement_id, &s->st_matched)) != 0)
        return rc;
    if ((rc = fg_recon_totals_add_lines(s->db, h->account, &s->st_matched, &matched_lines)) != 0 ||
        fg_money_add(matched, matched_lines, &matched) != 0 ||
        (rc = fg_recon_import_matched(s->db, s->statement_id, h->account, h->currency, matched, s->now)) != 0)
        return rc != 0 ? rc : FG_EOVERFLOW;
    /* the bank account in the ledger: the lines, the opening and closing */
    int32_t first = h->from_date != 0      ? h->from_date
                    : s->st_first != 0     ? s->st_first
                    : h->closing_date != 0 ? h->closing_date
                                           : h->opening_date;
    int32_t last = h->closing_date != 0 ? h->closing_date : h->to_date != 0 ? h->to_date : s->st_last;
    fg_recon_bank_statement_t book = {s->statement_id, h->account,     h->currency,
                                      h->has_opening,  h->has_closing, h->opening,
                                      h->closing,      first,          last};
    int64_t gap = 0;
    if ((rc = fg_recon_bank_statement(s->db, &book, s->now, &gap)) != 0)
        return rc;
    if (gap != 0)
        s->out->gaps++;
    if ((rc = fg_stmt_init(&st, s->db, SQL_STATEMENT_DONE)) != 0)
        return rc;
    int64_t closing_date = h->closing_date;
    fg_stmt_int_or_null(&st, h->has_closing ? &h->closing : NULL);
    fg_stmt_int_or_null(&st, closing_date != 0 ? &closing_date : NULL);
    fg_stmt_int(&st, s->st_lines);
    fg_stmt_int(&st, s->st_credits);
    fg_stmt_int(&st, s->st_debits);
    fg_stmt_int_or_null(&st, gap != 0 ? &gap : NULL);
    /* no closing, no day: never late */
    fg_stmt_int_or_null(&st, h->has_closing && closing_date != 0 ? &closing_date : NULL);
    fg_stmt_cstr(&st, h->account);
    fg_stmt_int(&st, s->statement_id);
    return fg_stmt_exec(&st);
}

/* The batch's statement start, lines and end, in that order. */
static int store_batch(store_t *s, batch_t *b)
{
    int rc = b->begins ? store_statement(s, &b->begin) : 0;
    if (rc != 0)
        return rc;
    s->batch = b;
    if ((rc = flush(s)) != 0)
        return rc;
    return b->ends ? store_statement_end(s, &b->end) : 0;
}

/* ---- the reader thread ------------------------------------------------------------- */

/* Read by the reader between batches too (a chunk of the file without
 * lines), hence atomic. */
static bool stopped(store_t *s) { return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); }

/* A free batch for the reader (it waits for one), or NULL when the storing
 * thread gave up. */
static batch_t *take_free(store_t *s)
{
    batch_t *b = NULL;
    pthread_mutex_lock(&s->lock);
    while (s->spare_count == 0 && !stopped(s))
        pthread_cond_wait(&s->changed, &s->lock);
    if (!stopped(s))
        b = s->spare[--s->spare_count];
    pthread_mutex_unlock(&s->lock);
    return b;
}

/* Hands the batch being filled to the storing thread: 0, or READER_STOPPED. */
static int publish(store_t *s)
{
    batch_t *b = s->filling;
    bool stop;
    s->filling = NULL;
    pthread_mutex_lock(&s->lock);
    stop = stopped(s);
    if (stop) {
        s->spare[s->spare_count++] = b;
    } else {
        assert(s->ready_count < BATCHES);
        s->ready[(s->ready_first + s->ready_count++) % BATCHES] = b;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    return stop ? READER_STOPPED : 0;
}

/* The batch to add to, started for the statement h: 0 or READER_STOPPED. */
static int batch_for(store_t *s, const fg_stmt_header_t *h)
{
    int rc = 0;
    if (s->filling != NULL && (s->filling->ends || batch_full(s->filling)) && (rc = publish(s)) != 0)
        return rc;
    if (s->filling == NULL) {
        if ((s->filling = take_free(s)) == NULL)
            return READER_STOPPED;
        batch_start(s->filling, h);
    }
    return 0;
}

static int read_statement(void *arg, const fg_stmt_header_t *h)
{
    store_t *s = arg;
    int rc;
    if (s->filling != NULL && (rc = publish(s)) != 0)
        return rc;
    if ((rc = batch_for(s, h)) != 0)
        return rc;
    occurrences_reset(&s->keys);
    s->filling->begins = true;
    s->filling->begin = *h;
    return 0;
}

/* A line: its key (an occurrence among the statement's reference-less
 * lines; a repeat of a key in the statement is a duplicate, keyed apart),
 * then a row of the batch. */
static int read_line(void *arg, const fg_stmt_header_t *h, const fg_stmt_line_t *l)
{
    store_t *s = arg;
    uint8_t key[FG_SHA256_LEN];
    int occurrence = 0, rc;
    if (l->bank_ref[0] == '\0' && l->end_to_end[0] == '\0' &&
        (rc = occurrence_of(&s->occ, h->account, l, &occurrence)) != 0)
        return rc == FG_ERANGE
                   ? fg_stmt_fail(&s->reader_err, l->source_line, NULL,
                                  "line %u: too many lines without a reference in one file", (unsigned)l->source_line)
                   : rc;
    fg_stmt_line_key(l, occurrence, key);
    /* the same key twice in one statement: the bank listed the line twice;
     * the repeat is kept under a key of its own, as a duplicate exception */
    int seen = 0;
    if ((rc = occurrence_of_digest(&s->keys, key, &seen)) != 0)
        return rc == FG_ERANGE ? fg_stmt_fail(&s->reader_err, l->source_line, NULL,
                                              "line %u: too many lines in one statement", (unsigned)l->source_line)
                               : rc;
    if (seen > 1) {
        char text[FG_SHA256_LEN + 16];
        memcpy(text, key, FG_SHA256_LEN);
        text[FG_SHA256_LEN] = '#';
        char *end = put_int(text + FG_SHA256_LEN + 1, seen);
        fg_sha256(text, (size_t)(end - text), key);
    }
    if ((rc = batch_for(s, h)) != 0)
        return rc;
    batch_add(s->filling, l, key, seen > 1);
    return 0;
}

static int read_statement_end(void *arg, const fg_stmt_header_t *h)
{
    store_t *s = arg;
    int rc = batch_for(s, h);
    if (rc != 0)
        return rc;
    s->filling->ends = true;
    s->filling->end = *h;
    return publish(s);
}

static int read_chunk(void *arg, const char *data, size_t len)
{
    store_t *s = arg;
    if (stopped(s))
        return READER_STOPPED;
    return fg_stmt_parser_feed(s->parser, data, len, &s->reader_err);
}

/* Parses the file into batches, then says why it ended: 0 at the end of a
 * valid file, the parser's or the source's refusal, or READER_STOPPED. */
static void *reader_main(void *arg)
{
    store_t *s = arg;
    int64_t bytes;
    int rc = read_source(s->src, read_chunk, s, &bytes);
    if (rc == 0)
        rc = fg_stmt_parser_finish(s->parser, &s->reader_err);
    /* what came before a refusal is stored (and checked) first */
    if (s->filling != NULL && publish(s) != 0)
        rc = READER_STOPPED;
    pthread_mutex_lock(&s->lock);
    s->reader_done = true;
    s->reader_rc = rc;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- the storing thread ------------------------------------------------------------ */

/* The next batch in file order (waiting for it), or NULL when the reader
 * has ended and every batch was taken. */
static batch_t *take_ready(store_t *s)
{
    batch_t *b = NULL;
    pthread_mutex_lock(&s->lock);
    while (s->ready_count == 0 && !s->reader_done)
        pthread_cond_wait(&s->changed, &s->lock);
    if (s->ready_count > 0) {
        b = s->ready[s->ready_first];
        s->ready_first = (s->ready_first + 1) % BATCHES;
        s->ready_count--;
    }
    pthread_mutex_unlock(&s->lock);
    return b;
}

static void give_back(store_t *s, batch_t *b, bool stop)
{
    pthread_mutex_lock(&s->lock);
    if (b != NULL)
        s->spare[s->spare_count++] = b;
    if (stop)
        __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Runs the reader thread and stores what it reads, in order, until the end
 * of the file or the first refusal (the reader's or this thread's). */
static int store_lines(store_t *s)
{
    pthread_t reader;
    int rc = 0;
    bool from_reader = false;
    fg_stmt_sink_t sink = {s, read_statement, read_line, read_statement_end};
    fg_stmt_parser_free(s->parser);
    if ((s->parser = fg_stmt_parser_new(s->format, &sink)) == NULL)
        return FG_ENOMEM;
    s->batch = s->filling = NULL;
    occurrences_reset(&s->occ); /* a re-run (after a deadlock) counts from the start */
    s->probe = false;
    s->reader_done = false;
    __atomic_store_n(&s->stop, false, __ATOMIC_RELEASE);
    s->reader_rc = 0;
    s->ready_first = s->ready_count = 0;
    s->spare_count = BATCHES;
    memcpy(s->spare, s->owned, sizeof(s->spare));
    memset(&s->reader_err, 0, sizeof(s->reader_err));
    if (pthread_create(&reader, NULL, reader_main, s) != 0)
        return FG_ENOMEM;
    for (;;) {
        batch_t *b = take_ready(s);
        if (b == NULL) {
            rc = s->reader_rc; /* the reader has ended: no lock needed */
            from_reader = true;
            break;
        }
        rc = store_batch(s, b);
        give_back(s, b, rc != 0);
        if (rc != 0)
            break;
    }
    pthread_join(reader, NULL);
    assert(rc != READER_STOPPED); /* only this thread stops the reader, after its own refusal */
    if (from_reader && rc != 0)
        *s->err = s->reader_err;
    return rc;
}

static int store_tx(fg_db_t *db, void *arg)
{
    store_t *s = arg;
    fg_stmt_t st;
    s->db = db;
    s->seq = 0;
    s->out->new_lines = s->out->overlapped_lines = 0;
    s->out->gaps = s->out->statements = 0;
    s->out->lines = s->out->credits = s->out->debits = 0;
    s->check = (check_t){s->err, s->out, 0, fg_day_of_ms(s->now), 0};
    if (fg_id_new("imp_", s->out->public_id, sizeof(s->out->public_id)) < 0)
        return FG_EIO;
    int rc = fg_stmt_init(&st, db, SQL_IMPORT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&st, s->out->public_id);
    fg_stmt_blob(&st, s->sha, FG_SHA256_LEN);
    fg_stmt_cstr(&st, fg_stmt_format_name(s->format));
    fg_stmt_int(&st, s->out->file_bytes);
    fg_stmt_cstr(&st, s->imported_by);
    fg_stmt_int(&st, s->now);
    if ((rc = fg_stmt_exec(&st)) != 0)
        return rc;
    s->import_id = (int64_t)fg_stmt_insert_id(&st);
    if ((rc = store_lines(s)) != 0)
        return rc;
    if (s->out->statements == 0)
        return fg_stmt_fail(s->err, 0, NULL, "the file holds no statement");
    if ((rc = fg_stmt_init(&st, db, SQL_IMPORT_DONE)) != 0)
        return rc;
    fg_stmt_int(&st, s->out->statements);
    fg_stmt_int(&st, s->out->lines);
    fg_stmt_int(&st, s->out->new_lines);
    fg_stmt_int(&st, s->out->overlapped_lines);
    fg_stmt_int(&st, s->import_id);
    return fg_stmt_exec(&st);
}

static int find_import(fg_db_t *db, const uint8_t sha[FG_SHA256_LEN], fg_import_result_t *out)
{
    fg_stmt_t st;
    fg_buf_t id = FG_BUF_INIT, account = FG_BUF_INIT, currency = FG_BUF_INIT;
    int64_t statements = 0, gaps = 0;
    int rc = fg_stmt_init(&st, db, SQL_BY_FILE);
    if (rc == 0) {
        fg_stmt_blob(&st, sha, FG_SHA256_LEN);
        fg_stmt_out_text(&st, &id, NULL);
        fg_stmt_out_int(&st, &out->file_bytes, NULL);
        fg_stmt_out_int(&st, &statements, NULL);
        fg_stmt_out_int(&st, &out->lines, NULL);
        fg_stmt_out_int(&st, &out->new_lines, NULL);
        fg_stmt_out_int(&st, &out->overlapped_lines, NULL);
        fg_stmt_out_text(&st, &account, NULL);
        fg_stmt_out_text(&st, &currency, NULL);
        fg_stmt_out_int(&st, &out->credits, NULL);
        fg_stmt_out_int(&st, &out->debits, NULL);
        fg_stmt_out_int(&st, &gaps, NULL);
        if ((rc = fg_stmt_one(&st)) == 0) {
            /* the earlier import's own figures: nothing was added now */
            snprintf(out->public_id, sizeof(out->public_id), "%s", id.data);
            snprintf(out->account, sizeof(out->account), "%s", account.data != NULL ? account.data : "");
            snprintf(out->currency, sizeof(out->currency), "%s", currency.data != NULL ? currency.data : "");
            out->statements = (int)statements;
            out->gaps = (int)gaps;
            out->duplicate = 1;
        }
    }
    fg_db_end(db);
    fg_buf_free(&id);
    fg_buf_free(&account);
    fg_buf_free(&currency);
    return rc;
}

int fg_statement_import(fg_db_t *db, const fg_stmt_source_t *src, fg_stmt_format_t format, const char *imported_by,
                        fg_import_result_t *out, fg_stmt_error_t *err)
{
    uint8_t sha[FG_SHA256_LEN];
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    out->format = format;
    /* the file's SHA-256 first (cheap): a file imported before is answered
     * without parsing it */
    fg_sha256_ctx_t *hash = fg_sha256_begin();
    int rc = read_source(src, hash_chunk, hash, &out->file_bytes);
    fg_sha256_end(hash, sha);
    if (rc != 0)
        return rc;
    if ((rc = find_import(db, sha, out)) != FG_ENOTFOUND)
        return rc; /* 0: imported before */
    store_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return FG_ENOMEM;
    rc = 0;
    for (int i = 0; i < BATCHES; i++)
        if ((s->owned[i] = malloc(sizeof(batch_t))) == NULL) /* ~1 MiB each: not for a worker's stack */
            rc = FG_ENOMEM;
    if (rc != 0 || pthread_mutex_init(&s->lock, NULL) != 0) {
        rc = FG_ENOMEM;
        goto Exit;
    }
    if (pthread_cond_init(&s->changed, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        rc = FG_ENOMEM;
        goto Exit;
    }
    s->src = src;
    s->format = format;
    s->imported_by = imported_by;
    s->sha = sha;
    s->out = out;
    s->err = err;
    s->now = fg_now_ms();
    rc = fg_db_tx(db, store_tx, s);
    if (rc == FG_ECONFLICT && find_import(db, sha, out) == 0)
        rc = 0; /* the same file, imported by another request meanwhile */
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
Exit:
    fg_stmt_parser_free(s->parser);
    occurrences_free(&s->occ);
    occurrences_free(&s->keys);
    fg_buf_free(&s->known);
    fg_recon_line_days_free(&s->st_matched);
    for (int i = 0; i < BATCHES; i++)
        free(s->owned[i]);
    free(s);
    return rc;
}

void fg_import_json(fg_buf_t *b, const fg_import_result_t *r)
{
    fg_buf_putc(b, '{');
    fg_json_kv_str(b, 0, "id", r->public_id);
    fg_json_kv_str(b, 1, "object", "statement_import");
    fg_json_kv_str(b, 1, "format", fg_stmt_format_name(r->format));
    fg_json_kv_str(b, 1, "account", r->account);
    fg_json_kv_str(b, 1, "currency", r->currency);
    fg_json_kv_int(b, 1, "statements", r->statements);
    fg_json_kv_int(b, 1, "lines", r->lines);
    fg_json_kv_int(b, 1, "new_lines", r->new_lines);
    fg_json_kv_int(b, 1, "overlapped_lines", r->overlapped_lines);
    fg_json_kv_int(b, 1, "credits", r->credits);
    /* both totals are sizes, as a bank statement's summary and the reconciliation
     * report write them: credits - debits is what the lines add to the balance */
    fg_json_kv_int(b, 1, "debits", -r->debits);
    fg_json_kv_int(b, 1, "gaps", r->gaps);
    if (r->duplicate)
        fg_json_kv_str(b, 1, "duplicate_of", r->public_id);
    else
        fg_json_kv_null(b, 1, "duplicate_of");
    fg_buf_putc(b, '}');
}
