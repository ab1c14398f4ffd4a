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
 */
#include "recon/recon_internal.h"
#include "recon/statement_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/crypto.h"
#include "core/money.h"
#include "core/text.h"

#define CHUNK_BYTES (64 * 1024)
/* Lines per INSERT: as many as a statement's parameters hold. */
#define LINE_COLS 16
/* Lines per round trip: one prepared INSERT executed for a whole batch
 * (array binding, db.h fg_db_bulk). */
#define BATCH_ROWS 1000
_Static_assert(LINE_COLS <= FG_DB_BULK_COLS_MAX, "a line's columns fit a bulk statement");
/* Lines of one statement whose keys are counted (repeats are duplicates;
 * reference-less lines are told apart by their occurrence): about 48 MiB
 * at most, the one part of an import that grows with a statement's size. */
#define OCCURRENCES_MAX (1 << 21)

static const char SQL_BY_FILE[] = "SELECT public_id FROM statement_imports WHERE file_sha256 = ?";
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
static const char SQL_STATEMENT_DONE[] = "UPDATE statements SET closing = ?, closing_date = ?, line_count = ?, "
                                         "credits = ?, debits = ?, gap = ? WHERE id = ?";
/* Every line this statement brought is an item to reconcile. */
/* Every line this statement brought is an item to reconcile, on its value
 * date, or on the first open day when that day is closed already. */
/* A line the bank feed recorded already is matched as it comes in (rule 1,
 * match.c). */
static const char SQL_ITEMS[] =
    "INSERT INTO recon_items (kind, line_id, account, business_day, amount, currency, state, rule, detail, "
    "journal_id, created_at, updated_at) SELECT 'bank_line', l.id, l.account, IF(EXISTS (SELECT 1 FROM "
    "recon_closed_days c WHERE c.account = l.account AND c.day = l.value_date), ?, l.value_date), l.amount, "
    "l.currency, IF(l.duplicate, 'duplicate', IF(m.fm, 'matched', 'unmatched')), IF(m.fm, 'reference', NULL), "
    "IF(m.fm, 'the bank feed recorded this transfer', NULL), IF(m.fm, ?, NULL), ?, ? FROM statement_lines l "
    "JOIN (SELECT l.id, " FG_RECON_FEED_MATCH_SQL " AS fm FROM statement_lines l LEFT JOIN bank_transfers t ON "
    "t.account = l.account AND t.bank_ref = l.bank_ref WHERE l.statement_id = ?) m ON m.id = l.id";
static const char SQL_LINES[] =
    "INSERT IGNORE INTO statement_lines (statement_id, account, line_key, currency, amount, reversal, booking_date, "
    "value_date, bank_ref, end_to_end, counterparty, memo, type, source_line, duplicate, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* ---- line keys ------------------------------------------------------------------- */

static void key_part(fg_sha256_ctx_t *c, const char *s)
{
    fg_sha256_update(c, s, strlen(s));
    fg_sha256_update(c, "\x1f", 1); /* a unit separator: "ab"+"c" differs from "a"+"bc" */
}

void fg_stmt_line_key(const fg_stmt_line_t *l, int occurrence, uint8_t key[32])
{
    char num[64];
    fg_sha256_ctx_t *c = fg_sha256_begin();
    if (l->bank_ref[0] != '\0') {
        key_part(c, "ref");
        key_part(c, l->bank_ref);
    } else if (l->end_to_end[0] != '\0') {
        /* end-to-end ids are the payer's and need not be unique */
        key_part(c, "e2e");
        key_part(c, l->end_to_end);
        snprintf(num, sizeof(num), "%d|%lld", (int)l->value_date, (long long)l->amount);
        key_part(c, num);
    } else {
        key_part(c, "memo");
        snprintf(num, sizeof(num), "%d|%lld|%d", (int)l->value_date, (long long)l->amount, occurrence);
        key_part(c, num);
        key_part(c, l->memo);
    }
    fg_sha256_end(c, key);
}

/* Occurrences of (value date, amount, memo) among a statement's lines that
 * have no reference: an open-addressing table of 64-bit digests. */
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

/* The occurrence (1, 2, …) of this reference-less line in its statement. */
static int occurrence_of(occurrences_t *o, const fg_stmt_line_t *l, int *occurrence)
{
    uint8_t digest[FG_SHA256_LEN];
    char num[64];
    snprintf(num, sizeof(num), "%d|%lld|", (int)l->value_date, (long long)l->amount);
    fg_sha256_ctx_t *c = fg_sha256_begin();
    fg_sha256_update(c, num, strlen(num));
    fg_sha256_update(c, l->memo, strlen(l->memo));
    fg_sha256_end(c, digest);
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
    int64_t sum; /* of the current statement's lines */
} check_t;

static int check_statement(void *arg, const fg_stmt_header_t *h)
{
    check_t *c = arg;
    c->out->statements++;
    c->sum = 0;
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

static int check_line(void *arg, const fg_stmt_header_t *h, const fg_stmt_line_t *l)
{
    check_t *c = arg;
    fg_import_result_t *o = c->out;
    int64_t *side = l->amount > 0 ? &o->credits : &o->debits;
    if (!fg_amount_valid(l->amount > 0 ? l->amount : -l->amount) || fg_money_add(c->sum, l->amount, &c->sum) != 0 ||
        fg_money_add(*side, l->amount, side) != 0)
        return fg_stmt_fail(c->err, l->source_line, NULL, "line %u: amount out of range", (unsigned)l->source_line);
    o->lines++;
    return 0;
}

static int check_statement_end(void *arg, const fg_stmt_header_t *h)
{
    check_t *c = arg;
    int64_t expected;
    if (!h->has_opening || !h->has_closing)
        return 0; /* a notification (camt.054) carries no balances */
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

/* ---- storing ------------------------------------------------------------------------ */

typedef struct columns columns_t;

typedef struct {
    char account[FG_STMT_ACCOUNT_MAX + 1], currency[4];
    uint8_t key[FG_SHA256_LEN];
    int duplicate;
    fg_stmt_line_t line;
} row_t;

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
    int32_t st_first, st_last; /* the statement's first and last booking day */
    check_t check;             /* every statement balances, every amount in range */
    occurrences_t occ;         /* reference-less lines of the statement */
    occurrences_t keys;        /* every key of the statement: a repeat is a duplicate */
    row_t rows[BATCH_ROWS];
    columns_t *columns; /* the batch as flush binds it */
    int pending;
} store_t;

/* The columns of a batch, column-wise for array binding. */
struct columns {
    int64_t statement[BATCH_ROWS], amount[BATCH_ROWS], reversal[BATCH_ROWS], booking[BATCH_ROWS], value[BATCH_ROWS],
        source[BATCH_ROWS], duplicate[BATCH_ROWS], created[BATCH_ROWS];
    const char *text[8][BATCH_ROWS];
    unsigned long len[8][BATCH_ROWS];
};

static int flush(store_t *s)
{
    uint64_t inserted = 0;
    if (s->pending == 0)
        return 0;
    columns_t *c = s->columns;
    for (int i = 0; i < s->pending; i++) {
        const row_t *r = &s->rows[i];
        const fg_stmt_line_t *l = &r->line;
        const char *texts[8] = {r->account,    (const char *)r->key, r->currency, l->bank_ref,
                                l->end_to_end, l->counterparty,      l->memo,     l->type};
        for (int t = 0; t < 8; t++) {
            c->text[t][i] = texts[t];
            c->len[t][i] = t == 1 ? (unsigned long)sizeof(r->key) : (unsigned long)strlen(texts[t]);
        }
        c->statement[i] = s->statement_id;
        c->amount[i] = l->amount;
        c->reversal[i] = l->reversal;
        c->booking[i] = l->booking_date;
        c->value[i] = l->value_date;
        c->source[i] = l->source_line;
        c->duplicate[i] = r->duplicate;
        c->created[i] = s->now;
    }
#define INT_COL(a)                                                                                                     \
    {                                                                                                                  \
        FG_DB_V_INT, (a), NULL, NULL                                                                                   \
    }
#define TEXT_COL(t, type)                                                                                              \
    {                                                                                                                  \
        (type), NULL, c->text[t], c->len[t]                                                                            \
    }
    const fg_db_column_t cols[LINE_COLS] = {
        INT_COL(c->statement),    TEXT_COL(0, FG_DB_V_STR), TEXT_COL(1, FG_DB_V_BLOB), TEXT_COL(2, FG_DB_V_STR),
        INT_COL(c->amount),       INT_COL(c->reversal),     INT_COL(c->booking),       INT_COL(c->value),
        TEXT_COL(3, FG_DB_V_STR), TEXT_COL(4, FG_DB_V_STR), TEXT_COL(5, FG_DB_V_STR),  TEXT_COL(6, FG_DB_V_STR),
        TEXT_COL(7, FG_DB_V_STR), INT_COL(c->source),       INT_COL(c->duplicate),     INT_COL(c->created)};
#undef INT_COL
#undef TEXT_COL
    int rc = fg_db_bulk(s->db, SQL_LINES, cols, LINE_COLS, (unsigned)s->pending, &inserted);
    if (rc != 0)
        return rc;
    s->out->new_lines += (int64_t)inserted;
    s->out->overlapped_lines += s->pending - (int64_t)inserted;
    s->pending = 0;
    return 0;
}

static int store_statement(void *arg, const fg_stmt_header_t *h)
{
    store_t *s = arg;
    fg_stmt_t st;
    int rc = check_statement(&s->check, h);
    if (rc != 0)
        return rc;
    s->seq++;
    s->st_lines = s->st_credits = s->st_debits = 0;
    s->st_first = s->st_last = 0;
    occurrences_reset(&s->occ);
    occurrences_reset(&s->keys);
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

static int store_line(void *arg, const fg_stmt_header_t *h, const fg_stmt_line_t *l)
{
    store_t *s = arg;
    int occurrence = 0, rc = check_line(&s->check, h, l);
    if (rc != 0)
        return rc;
    if (l->bank_ref[0] == '\0' && l->end_to_end[0] == '\0' && (rc = occurrence_of(&s->occ, l, &occurrence)) != 0)
        return rc == FG_ERANGE ? fg_stmt_fail(s->err, l->source_line, NULL,
                                              "line %u: too many lines without a reference in one statement",
                                              (unsigned)l->source_line)
                               : rc;
    row_t *r = &s->rows[s->pending++];
    snprintf(r->account, sizeof(r->account), "%s", h->account);
    snprintf(r->currency, sizeof(r->currency), "%s", h->currency);
    r->line = *l;
    fg_stmt_line_key(l, occurrence, r->key);
    /* the same key twice in one statement: the bank listed the line twice;
     * the repeat is kept under a key of its own, as a duplicate exception */
    int seen = 0;
    if ((rc = occurrence_of_digest(&s->keys, r->key, &seen)) != 0)
        return rc == FG_ERANGE ? fg_stmt_fail(s->err, l->source_line, NULL, "line %u: too many lines in one statement",
                                              (unsigned)l->source_line)
                               : rc;
    r->duplicate = seen > 1;
    if (r->duplicate) {
        char n[16];
        snprintf(n, sizeof(n), "#%d", seen);
        fg_sha256_ctx_t *c = fg_sha256_begin();
        fg_sha256_update(c, r->key, sizeof(r->key));
        fg_sha256_update(c, n, strlen(n));
        fg_sha256_end(c, r->key);
    }
    s->st_lines++;
    if (s->st_first == 0 || l->booking_date < s->st_first)
        s->st_first = l->booking_date;
    if (l->booking_date > s->st_last)
        s->st_last = l->booking_date;
    if (l->amount > 0)
        s->st_credits += l->amount; /* bounded: check_line checked every sum */
    else
        s->st_debits += l->amount;
    return s->pending == BATCH_ROWS ? flush(s) : 0;
}

static int store_statement_end(void *arg, const fg_stmt_header_t *h)
{
    store_t *s = arg;
    fg_stmt_t st;
    int rc = flush(s);
    /* FG_ECHECKSUM when it does not balance: the transaction rolls back */
    if (rc != 0 || (rc = check_statement_end(&s->check, h)) != 0)
        return rc;
    int32_t open_day = 0;
    int64_t matched = 0;
    if ((rc = fg_recon_open_day(s->db, h->account, fg_recon_day_of_ms(s->now), &open_day)) != 0 ||
        (rc = fg_recon_import_match_begin(s->db, s->statement_id, h->account, h->currency, s->now, &matched)) != 0 ||
        (rc = fg_stmt_init(&st, s->db, SQL_ITEMS)) != 0)
        return rc;
    fg_stmt_int(&st, open_day);
    fg_stmt_int(&st, matched);
    fg_stmt_int(&st, s->now);
    fg_stmt_int(&st, s->now);
    fg_stmt_int(&st, s->statement_id);
    if ((rc = fg_stmt_exec(&st)) != 0 ||
        (rc = fg_recon_import_match_end(s->db, s->statement_id, h->account, s->now)) != 0)
        return rc;
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
    fg_stmt_int(&st, s->statement_id);
    return fg_stmt_exec(&st);
}

static int store_chunk(void *arg, const char *data, size_t len)
{
    store_t *s = arg;
    return fg_stmt_parser_feed(s->parser, data, len, s->err);
}

static int store_tx(fg_db_t *db, void *arg)
{
    store_t *s = arg;
    fg_stmt_t st;
    int64_t bytes;
    s->db = db;
    s->seq = 0;
    s->pending = 0;
    s->out->new_lines = s->out->overlapped_lines = 0;
    s->out->gaps = s->out->statements = 0;
    s->out->lines = s->out->credits = s->out->debits = 0;
    s->check = (check_t){s->err, s->out, 0};
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
    fg_stmt_sink_t sink = {s, store_statement, store_line, store_statement_end};
    fg_stmt_parser_free(s->parser);
    if ((s->parser = fg_stmt_parser_new(s->format, &sink)) == NULL)
        return FG_ENOMEM;
    if ((rc = read_source(s->src, store_chunk, s, &bytes)) != 0 || (rc = fg_stmt_parser_finish(s->parser, s->err)) != 0)
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
    fg_buf_t id = FG_BUF_INIT;
    int rc = fg_stmt_init(&st, db, SQL_BY_FILE);
    if (rc == 0) {
        fg_stmt_blob(&st, sha, FG_SHA256_LEN);
        fg_stmt_out_text(&st, &id, NULL);
        if ((rc = fg_stmt_one(&st)) == 0) {
            snprintf(out->public_id, sizeof(out->public_id), "%s", id.data);
            out->duplicate = 1;
        }
    }
    fg_db_end(db);
    fg_buf_free(&id);
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
        return rc;                      /* 0: imported before */
    store_t *s = calloc(1, sizeof(*s)); /* ~2.5 MiB of batched rows: not for a worker's stack */
    if (s == NULL)
        return FG_ENOMEM;
    if ((s->columns = calloc(1, sizeof(*s->columns))) == NULL) {
        free(s);
        return FG_ENOMEM;
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
    fg_stmt_parser_free(s->parser);
    occurrences_free(&s->occ);
    occurrences_free(&s->keys);
    free(s->columns);
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
    fg_json_kv_int(b, 1, "debits", r->debits);
    fg_json_kv_int(b, 1, "gaps", r->gaps);
    if (r->duplicate)
        fg_json_kv_str(b, 1, "duplicate_of", r->public_id);
    else
        fg_json_kv_null(b, 1, "duplicate_of");
    fg_buf_putc(b, '}');
}
