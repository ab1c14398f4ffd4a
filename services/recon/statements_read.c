/*
 * statements_read.c - what was imported, read back (docs/DESIGN.md §4:
 * GET /v1/statements[/{id}[/lines]]): the imports newest first, one import
 * with its statements, and an import's lines in file order.  Statement rows
 * are facts (never changed, never deleted), so a page read is what any later
 * read of it answers.
 */
#include "recon/recon.h"

#include <stdio.h>
#include <string.h>
#include "core/page.h"
#include "core/text.h"

/* The import's first statement gives its account and currency (as the import's answer did). */
static const char SQL_IMPORTS[] =
    "SELECT i.id, i.public_id, i.format, i.file_bytes, i.statement_count, i.line_count, i.new_lines, "
    "i.overlapped_lines, i.imported_by, i.created_at, COALESCE(s.account, ''), COALESCE(s.currency, ''), "
    "(SELECT COALESCE(SUM(x.credits), 0) FROM statements x WHERE x.import_id = i.id), "
    "(SELECT COALESCE(SUM(x.debits), 0) FROM statements x WHERE x.import_id = i.id), "
    "(SELECT COUNT(*) FROM statements x WHERE x.import_id = i.id AND x.gap IS NOT NULL AND x.gap <> 0) "
    "FROM statement_imports i LEFT JOIN statements s ON s.import_id = i.id AND s.seq_in_file = "
    "(SELECT MIN(seq_in_file) FROM statements x WHERE x.import_id = i.id) "
    "WHERE (? = 0 OR i.id < ?) AND (? IS NULL OR i.public_id = ?) ORDER BY i.id DESC LIMIT ?";
static const char SQL_STATEMENTS[] =
    "SELECT seq_in_file, bank_id, account, currency, opening, closing, opening_date, closing_date, from_date, "
    "to_date, line_count, credits, debits, gap, late_closing FROM statements WHERE import_id = ? ORDER BY seq_in_file";
static const char SQL_IMPORT_ID[] = "SELECT id FROM statement_imports WHERE public_id = ?";
static const char SQL_LINES[] =
    "SELECT l.id, s.seq_in_file, l.account, l.currency, l.amount, l.reversal, l.booking_date, l.value_date, "
    "l.bank_ref, l.end_to_end, l.counterparty, l.memo, l.type, l.source_line, l.duplicate FROM statement_lines l "
    "JOIN statements s ON s.id = l.statement_id WHERE s.import_id = ? AND l.id > ? ORDER BY l.id LIMIT ?";

/* A day kept as yyyymmdd, as "yyyy-mm-dd" (null when absent). */
static void day_kv(fg_buf_t *b, const char *key, int64_t day, int is_null)
{
    if (is_null) {
        fg_json_kv_null(b, 1, key);
        return;
    }
    char text[16];
    snprintf(text, sizeof(text), "%04d-%02d-%02d", (int)(day / 10000 % 10000), (int)(day / 100 % 100),
             (int)(day % 100));
    fg_json_kv_str(b, 1, key, text);
}

static void int_kv(fg_buf_t *b, const char *key, int64_t v, int is_null)
{
    if (is_null)
        fg_json_kv_null(b, 1, key);
    else
        fg_json_kv_int(b, 1, key, v);
}

/* Writes up to limit imports after the row id `after` (or the one named
 * public_id) into b as JSON objects, comma separated; *count and *last_id of
 * those written, *more when another follows. */
static int imports(fg_db_t *db, const char *public_id, size_t id_len, int64_t after, int64_t limit, fg_buf_t *b,
                   int64_t *count, int64_t *last_id, int *more)
{
    fg_stmt_t s;
    fg_buf_t t[6];
    int64_t id = 0, bytes = 0, statements = 0, lines = 0, fresh = 0, overlapped = 0, created = 0;
    int64_t credits = 0, debits = 0, gaps = 0;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        t[i] = (fg_buf_t)FG_BUF_INIT;
    *count = 0;
    *more = 0;
    int rc = fg_stmt_init(&s, db, SQL_IMPORTS);
    if (rc != 0)
        goto Exit;
    fg_stmt_int(&s, after);
    fg_stmt_int(&s, after);
    if (public_id != NULL) {
        fg_stmt_str(&s, public_id, id_len);
        fg_stmt_str(&s, public_id, id_len);
    } else {
        fg_stmt_null(&s);
        fg_stmt_null(&s);
    }
    fg_stmt_int(&s, limit + 1);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &t[0], NULL);
    fg_stmt_out_text(&s, &t[1], NULL);
    fg_stmt_out_int(&s, &bytes, NULL);
    fg_stmt_out_int(&s, &statements, NULL);
    fg_stmt_out_int(&s, &lines, NULL);
    fg_stmt_out_int(&s, &fresh, NULL);
    fg_stmt_out_int(&s, &overlapped, NULL);
    fg_stmt_out_text(&s, &t[2], NULL);
    fg_stmt_out_int(&s, &created, NULL);
    fg_stmt_out_text(&s, &t[3], NULL);
    fg_stmt_out_text(&s, &t[4], NULL);
    fg_stmt_out_int(&s, &credits, NULL);
    fg_stmt_out_int(&s, &debits, NULL);
    fg_stmt_out_int(&s, &gaps, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        char when[40];
        if (*count == limit) {
            *more = 1; /* the row past the page */
            continue;
        }
        if ((*count)++ > 0)
            fg_buf_putc(b, ',');
        /* the import's answer (fg_import_json), and what only a read of it adds */
        fg_import_result_t r;
        memset(&r, 0, sizeof(r));
        snprintf(r.public_id, sizeof(r.public_id), "%s", t[0].data);
        if (fg_stmt_format_parse(t[1].data, t[1].len, &r.format) != 0) {
            rc = FG_EDB; /* a format this code does not know */
            break;
        }
        r.statements = (int)statements;
        r.lines = lines, r.new_lines = fresh, r.overlapped_lines = overlapped;
        r.credits = credits, r.debits = debits, r.gaps = (int)gaps;
        snprintf(r.account, sizeof(r.account), "%s", t[3].data);
        snprintf(r.currency, sizeof(r.currency), "%s", t[4].data);
        fg_import_json(b, &r);
        b->len--; /* its closing brace */
        fg_json_kv_int(b, 1, "file_bytes", bytes);
        fg_json_kv_str(b, 1, "imported_by", t[2].data);
        fg_time_format_rfc3339(created, 0, when, sizeof(when));
        fg_json_kv_str(b, 1, "created_at", when);
        fg_buf_putc(b, '}');
        *last_id = id;
    }
    fg_stmt_done(&s);
Exit:
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        fg_buf_free(&t[i]);
    return rc < 0 ? rc : 0;
}

int fg_statement_imports_json(fg_db_t *db, const fg_page_t *page, fg_buf_t *out)
{
    int64_t count = 0, last = 0;
    int more = 0;
    fg_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    int rc = imports(db, NULL, 0, page->cursor, page->limit, out, &count, &last, &more);
    if (rc == 0)
        fg_page_close(out, more, last);
    return rc;
}

static int import_row_id(fg_db_t *db, const char *public_id, size_t len, int64_t *id)
{
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_IMPORT_ID);
    if (rc != 0)
        return rc;
    fg_stmt_str(&s, public_id, len);
    fg_stmt_out_int(&s, id, NULL);
    return fg_stmt_one(&s); /* FG_ENOTFOUND when there is none */
}

int fg_statement_import_json(fg_db_t *db, const char *public_id, size_t len, fg_buf_t *out)
{
    int64_t count = 0, last = 0, import_id = 0;
    int more = 0;
    fg_buf_t one = FG_BUF_INIT, bank = FG_BUF_INIT, account = FG_BUF_INIT, currency = FG_BUF_INIT;
    int rc = imports(db, public_id, len, 0, 1, &one, &count, &last, &more);
    if (rc == 0 && count == 0)
        rc = FG_ENOTFOUND;
    if (rc == 0)
        rc = import_row_id(db, public_id, len, &import_id);
    if (rc != 0)
        goto Exit;
    /* the import's object, with its statements before the closing brace */
    fg_buf_append(out, one.data, one.len - 1);
    fg_json_key(out, 1, "statement_list");
    fg_buf_putc(out, '[');
    fg_stmt_t s;
    int64_t v[15] = {0};
    int nulls[15] = {0};
    if ((rc = fg_stmt_init(&s, db, SQL_STATEMENTS)) != 0)
        goto Exit;
    fg_stmt_int(&s, import_id);
    fg_stmt_out_int(&s, &v[0], NULL);
    fg_stmt_out_text(&s, &bank, NULL);
    fg_stmt_out_text(&s, &account, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    for (int i = 4; i < 15; i++)
        fg_stmt_out_int(&s, &v[i], &nulls[i]);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    int n = 0;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (n++ > 0)
            fg_buf_putc(out, ',');
        fg_buf_putc(out, '{');
        fg_json_kv_int(out, 0, "seq", v[0]);
        fg_json_kv_str(out, 1, "bank_id", bank.data);
        fg_json_kv_str(out, 1, "account", account.data);
        fg_json_kv_str(out, 1, "currency", currency.data);
        int_kv(out, "opening", v[4], nulls[4]);
        int_kv(out, "closing", v[5], nulls[5]);
        day_kv(out, "opening_date", v[6], nulls[6]);
        day_kv(out, "closing_date", v[7], nulls[7]);
        day_kv(out, "from_date", v[8], nulls[8]);
        day_kv(out, "to_date", v[9], nulls[9]);
        fg_json_kv_int(out, 1, "lines", v[10]);
        fg_json_kv_int(out, 1, "credits", v[11]);
        fg_json_kv_int(out, 1, "debits", -v[12]); /* stored signed (<= 0), written as a size */
        int_kv(out, "gap", v[13], nulls[13]);
        /* its closing day was closed when it came: not that day's closing */
        fg_json_kv_bool(out, 1, "late_closing", v[14] != 0);
        fg_buf_putc(out, '}');
    }
    fg_stmt_done(&s);
    if (rc < 0)
        goto Exit;
    rc = 0;
    fg_buf_puts(out, "]}");
Exit:
    fg_buf_free(&one);
    fg_buf_free(&bank);
    fg_buf_free(&account);
    fg_buf_free(&currency);
    return rc;
}

int fg_statement_lines_json(fg_db_t *db, const char *public_id, size_t len, const fg_page_t *page, fg_buf_t *out)
{
    int64_t import_id = 0, v[6] = {0}, last = 0, count = 0;
    fg_buf_t t[8];
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        t[i] = (fg_buf_t)FG_BUF_INIT;
    fg_stmt_t s;
    int rc = import_row_id(db, public_id, len, &import_id);
    if (rc != 0)
        goto Exit;
    if ((rc = fg_stmt_init(&s, db, SQL_LINES)) != 0)
        goto Exit;
    fg_stmt_int(&s, import_id);
    fg_stmt_int(&s, page->cursor);
    fg_stmt_int(&s, page->limit + 1);
    int64_t id = 0, seq = 0, booking = 0, value = 0;
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_int(&s, &seq, NULL);
    fg_stmt_out_text(&s, &t[0], NULL);
    fg_stmt_out_text(&s, &t[1], NULL);
    fg_stmt_out_int(&s, &v[0], NULL);
    fg_stmt_out_int(&s, &v[1], NULL);
    fg_stmt_out_int(&s, &booking, NULL);
    fg_stmt_out_int(&s, &value, NULL);
    fg_stmt_out_text(&s, &t[2], NULL);
    fg_stmt_out_text(&s, &t[3], NULL);
    fg_stmt_out_text(&s, &t[4], NULL);
    fg_stmt_out_text(&s, &t[5], NULL);
    fg_stmt_out_text(&s, &t[6], NULL);
    fg_stmt_out_int(&s, &v[2], NULL);
    fg_stmt_out_int(&s, &v[3], NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    fg_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    int more = 0;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        if (count == page->limit) {
            more = 1;
            continue; /* the extra row: another page follows */
        }
        if (count++ > 0)
            fg_buf_putc(out, ',');
        fg_buf_putc(out, '{');
        fg_json_kv_int(out, 0, "id", id); /* what a payout's statement_line_id names */
        fg_json_kv_int(out, 1, "statement", seq);
        fg_json_kv_str(out, 1, "account", t[0].data);
        fg_json_kv_str(out, 1, "currency", t[1].data);
        fg_json_kv_int(out, 1, "amount", v[0]);
        fg_json_kv_bool(out, 1, "reversal", v[1] != 0);
        day_kv(out, "booking_date", booking, 0);
        day_kv(out, "value_date", value, 0);
        fg_json_kv_str(out, 1, "bank_ref", t[2].data);
        fg_json_kv_str(out, 1, "end_to_end", t[3].data);
        fg_json_kv_str(out, 1, "counterparty", t[4].data);
        fg_json_kv_str(out, 1, "memo", t[5].data);
        fg_json_kv_str(out, 1, "type", t[6].data);
        fg_json_kv_int(out, 1, "source_line", v[2]);
        fg_json_kv_bool(out, 1, "duplicate", v[3] != 0);
        fg_buf_putc(out, '}');
        last = id;
    }
    fg_stmt_done(&s);
    if (rc < 0)
        goto Exit;
    rc = 0;
    fg_page_close(out, more, last);
Exit:
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        fg_buf_free(&t[i]);
    return rc;
}
