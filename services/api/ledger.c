/*
 * handlers.c - the ledger's staff routes: accounts with balances, one
 * account (now or ?at=), journals with their entries.
 */
#include "ledger/ledger.h"
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>
#include "core/text.h"

static const char *const KIND_NAMES[] = {"asset", "liability", "income", "expense"};

static const char SQL_ACCOUNTS[] = "SELECT id, code, currency FROM ledger_accounts WHERE id > ? ORDER BY id LIMIT ?";
static const char SQL_ACCOUNT_BY_CODE[] =
    "SELECT id, code, currency FROM ledger_accounts WHERE code = ? AND (? IS NULL OR currency = ?) ORDER BY id LIMIT 2";
static const char SQL_JOURNALS[] =
    "SELECT j.id, j.public_id, j.kind, COALESCE(j.memo, ''), j.created_at FROM journals j WHERE j.id < ? "
    "AND (? IS NULL OR j.created_at >= ?) AND (? IS NULL OR j.created_at < ?) "
    "AND (? IS NULL OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.journal_id = j.id AND e.account_id = ?)) "
    "ORDER BY j.id DESC LIMIT ?";
static const char SQL_ENTRIES[] =
    "SELECT a.code, e.currency, e.amount FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id "
    "WHERE e.journal_id = ? ORDER BY e.id";

static int bad(fg_call_t *call, const char *code, const char *message, const char *field)
{
    fg_call_error(call, 400, "invalid_request", code, message, field);
    return -1;
}

/* ?limit= and ?cursor=, the cursor defaulting to cursor_default. */
static int parse_limit_cursor(fg_call_t *call, int64_t *limit, int64_t *cursor, int64_t cursor_default)
{
    fg_page_t page;
    if (fg_call_page(call, &page) != 0)
        return -1;
    *limit = page.limit;
    *cursor = page.cursor != 0 ? page.cursor : cursor_default;
    return 0;
}

static int account_json(fg_buf_t *b, fg_db_t *db, int64_t id, const fg_buf_t *code, const fg_buf_t *currency,
                        int64_t at_ms)
{
    int64_t balance = 0;
    int kind = fg_account_kind_of(code->data);
    int rc = fg_ledger_balance(db, id, kind < 0 ? FG_ACCOUNT_ASSET : (fg_account_kind_t)kind, at_ms, &balance);
    if (rc != 0)
        return rc;
    fg_buf_putc(b, '{');
    fg_json_kv_strn(b, 0, "code", code->data, code->len);
    fg_json_kv_str(b, 1, "kind", kind < 0 ? "unknown" : KIND_NAMES[kind]);
    fg_json_kv_strn(b, 1, "currency", currency->data, currency->len);
    fg_json_kv_int(b, 1, "balance", balance);
    fg_buf_putc(b, '}');
    return 0;
}

void fg_ledger_accounts_list(fg_call_t *call, fg_db_t *db)
{
    int64_t limit, cursor, id = 0, last = 0;
    fg_buf_t code = FG_BUF_INIT, currency = FG_BUF_INIT, b = FG_BUF_INIT;
    fg_stmt_t s;
    int rc, n = 0;
    if (parse_limit_cursor(call, &limit, &cursor, 0) != 0)
        return;
    int64_t *ids = fg_calloc((size_t)limit + 1, sizeof(*ids));
    fg_buf_t *codes = fg_calloc((size_t)limit + 1, sizeof(*codes));
    fg_buf_t *currencies = fg_calloc((size_t)limit + 1, sizeof(*currencies));
    if ((rc = fg_stmt_init(&s, db, SQL_ACCOUNTS)) != 0)
        goto Exit;
    fg_stmt_int(&s, cursor);
    fg_stmt_int(&s, limit + 1);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &code, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        ids[n] = id;
        fg_buf_reset(&codes[n]);
        fg_buf_append(&codes[n], code.data, code.len);
        fg_buf_reset(&currencies[n]);
        fg_buf_append(&currencies[n], currency.data, currency.len);
        n++;
    }
    if (rc < 0)
        goto Exit;
    fg_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    int shown = n > limit ? (int)limit : n;
    for (int i = 0; i < shown && rc == 0; i++) {
        if (i > 0)
            fg_buf_putc(&b, ',');
        rc = account_json(&b, db, ids[i], &codes[i], &currencies[i], -1);
        last = ids[i];
    }
    if (rc != 0)
        goto Exit;
    fg_page_close(&b, n > limit, last);
    fg_call_json(call, 200, &b);
Exit:
    if (rc != 0)
        fg_call_db_error(call, db, rc);
    for (int64_t i = 0; i <= limit; i++)
        fg_buf_free(&codes[i]), fg_buf_free(&currencies[i]);
    free(ids);
    free(codes);
    free(currencies);
    fg_buf_free(&code);
    fg_buf_free(&currency);
    fg_buf_free(&b);
}

/* Resolves {code} (and ?currency=) to one account.  0, FG_ENOTFOUND, or 1
 * when the code exists in several currencies and none was named. */
static int find_account(fg_call_t *call, fg_db_t *db, int64_t *id, fg_buf_t *code, fg_buf_t *currency)
{
    const char *cur = fg_call_query(call, "currency", NULL);
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_ACCOUNT_BY_CODE), rows = 0;
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, call->params[0]);
    fg_stmt_cstr(&s, cur);
    fg_stmt_cstr(&s, cur);
    fg_stmt_out_int(&s, id, NULL);
    fg_stmt_out_text(&s, code, NULL);
    fg_stmt_out_text(&s, currency, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    int64_t first = 0;
    while ((rc = fg_stmt_fetch(&s)) == 1)
        if (rows++ == 0)
            first = *id;
    if (rc < 0)
        return rc;
    *id = first;
    return rows == 0 ? FG_ENOTFOUND : rows > 1 ? 1 : 0;
}

void fg_ledger_account_get(fg_call_t *call, fg_db_t *db)
{
    int64_t id = 0, at = -1;
    fg_buf_t code = FG_BUF_INIT, currency = FG_BUF_INIT, b = FG_BUF_INIT;
    size_t len;
    const char *at_text = fg_call_query(call, "at", &len);
    if (at_text != NULL && fg_time_parse_rfc3339(at_text, len, &at) != 0) {
        bad(call, "invalid_timestamp", "at must be an RFC 3339 timestamp", "at");
        return;
    }
    int rc = find_account(call, db, &id, &code, &currency);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "account_not_found", "no such ledger account", NULL);
    } else if (rc == 1) {
        bad(call, "currency_required",
            "this account exists in several currencies: name one with ?currency=", "currency");
    } else if (rc == 0 && (rc = account_json(&b, db, id, &code, &currency, at)) == 0) {
        fg_call_json(call, 200, &b);
    }
    if (rc < 0 && rc != FG_ENOTFOUND)
        fg_call_db_error(call, db, rc);
    fg_buf_free(&code);
    fg_buf_free(&currency);
    fg_buf_free(&b);
}

static int entries_json(fg_buf_t *b, fg_db_t *db, int64_t journal_id)
{
    fg_buf_t code = FG_BUF_INIT, currency = FG_BUF_INIT;
    int64_t amount = 0;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_ENTRIES), n = 0;
    if (rc != 0)
        return rc;
    fg_stmt_int(&s, journal_id);
    fg_stmt_out_text(&s, &code, NULL);
    fg_stmt_out_text(&s, &currency, NULL);
    fg_stmt_out_int(&s, &amount, NULL);
    if ((rc = fg_stmt_exec(&s)) == 0) {
        fg_json_key(b, 1, "entries");
        fg_buf_putc(b, '[');
        while ((rc = fg_stmt_fetch(&s)) == 1) {
            fg_buf_puts(b, n++ > 0 ? ",{" : "{");
            fg_json_kv_strn(b, 0, "account", code.data, code.len);
            fg_json_kv_strn(b, 1, "currency", currency.data, currency.len);
            fg_json_kv_int(b, 1, "debit", amount > 0 ? amount : 0);
            fg_json_kv_int(b, 1, "credit", amount < 0 ? -amount : 0);
            fg_buf_putc(b, '}');
        }
        fg_buf_putc(b, ']');
        rc = rc < 0 ? rc : 0;
    }
    fg_buf_free(&code);
    fg_buf_free(&currency);
    return rc;
}

typedef struct {
    int64_t limit, cursor, from, to, account;
    int has_from, has_to, has_account;
} journal_query_t;

static int parse_journal_query(fg_call_t *call, fg_db_t *db, journal_query_t *q)
{
    size_t len;
    const char *v;
    memset(q, 0, sizeof(*q));
    if (parse_limit_cursor(call, &q->limit, &q->cursor, INT64_MAX) != 0)
        return -1;
    if ((v = fg_call_query(call, "from", &len)) != NULL && len > 0) {
        if (fg_time_parse_rfc3339(v, len, &q->from) != 0)
            return bad(call, "invalid_timestamp", "from must be an RFC 3339 timestamp", "from");
        q->has_from = 1;
    }
    if ((v = fg_call_query(call, "to", &len)) != NULL && len > 0) {
        if (fg_time_parse_rfc3339(v, len, &q->to) != 0)
            return bad(call, "invalid_timestamp", "to must be an RFC 3339 timestamp", "to");
        q->has_to = 1;
    }
    if ((v = fg_call_query(call, "account", &len)) != NULL && len > 0) {
        fg_buf_t code = FG_BUF_INIT, currency = FG_BUF_INIT;
        char *saved = call->params[0];
        call->params[0] = (char *)v; /* find_account reads the code from the path slot */
        int rc = find_account(call, db, &q->account, &code, &currency);
        call->params[0] = saved;
        fg_buf_free(&code);
        fg_buf_free(&currency);
        if (rc == FG_ENOTFOUND) {
            fg_call_error(call, 404, "not_found", "account_not_found", "no such ledger account", "account");
            return -1;
        }
        if (rc == 1)
            return bad(call, "currency_required", "name the account's currency with ?currency=", "currency");
        if (rc != 0) {
            fg_call_db_error(call, db, rc);
            return -1;
        }
        q->has_account = 1;
    }
    return 0;
}

void fg_ledger_journals_list(fg_call_t *call, fg_db_t *db)
{
    journal_query_t q;
    fg_buf_t p = FG_BUF_INIT, k = FG_BUF_INIT, m = FG_BUF_INIT, b = FG_BUF_INIT;
    int64_t id = 0, at = 0;
    fg_stmt_t s;
    int rc, n = 0;
    if (parse_journal_query(call, db, &q) != 0)
        return;
    size_t rows = (size_t)q.limit + 1;
    int64_t *ids = fg_calloc(rows, sizeof(*ids)), *created = fg_calloc(rows, sizeof(*created));
    fg_buf_t *pub = fg_calloc(rows, sizeof(*pub)), *kinds = fg_calloc(rows, sizeof(*kinds)),
             *memos = fg_calloc(rows, sizeof(*memos));
    if ((rc = fg_stmt_init(&s, db, SQL_JOURNALS)) != 0)
        goto Exit;
    fg_stmt_int(&s, q.cursor);
    for (int i = 0; i < 2; i++)
        fg_stmt_int_or_null(&s, q.has_from ? &q.from : NULL);
    for (int i = 0; i < 2; i++)
        fg_stmt_int_or_null(&s, q.has_to ? &q.to : NULL);
    for (int i = 0; i < 2; i++)
        fg_stmt_int_or_null(&s, q.has_account ? &q.account : NULL);
    fg_stmt_int(&s, q.limit + 1);
    fg_stmt_out_int(&s, &id, NULL);
    fg_stmt_out_text(&s, &p, NULL);
    fg_stmt_out_text(&s, &k, NULL);
    fg_stmt_out_text(&s, &m, NULL);
    fg_stmt_out_int(&s, &at, NULL);
    if ((rc = fg_stmt_exec(&s)) != 0)
        goto Exit;
    while ((rc = fg_stmt_fetch(&s)) == 1) {
        ids[n] = id;
        created[n] = at;
        fg_buf_reset(&pub[n]), fg_buf_append(&pub[n], p.data, p.len);
        fg_buf_reset(&kinds[n]), fg_buf_append(&kinds[n], k.data, k.len);
        fg_buf_reset(&memos[n]), fg_buf_append(&memos[n], m.data != NULL ? m.data : "", m.len);
        n++;
    }
    if (rc < 0)
        goto Exit;
    rc = 0;
    fg_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    int shown = n > q.limit ? (int)q.limit : n;
    for (int i = 0; i < shown && rc == 0; i++) {
        char t[40];
        fg_time_format_rfc3339(created[i], 0, t, sizeof(t));
        fg_buf_puts(&b, i > 0 ? ",{" : "{");
        fg_json_kv_strn(&b, 0, "id", pub[i].data, pub[i].len);
        fg_json_kv_strn(&b, 1, "kind", kinds[i].data, kinds[i].len);
        fg_json_kv_strn(&b, 1, "memo", memos[i].data != NULL ? memos[i].data : "", memos[i].len);
        fg_json_kv_str(&b, 1, "created_at", t);
        rc = entries_json(&b, db, ids[i]);
        fg_buf_putc(&b, '}');
    }
    if (rc != 0)
        goto Exit;
    fg_page_close(&b, n > q.limit, shown > 0 ? ids[shown - 1] : 0);
    fg_call_json(call, 200, &b);
Exit:
    if (rc != 0)
        fg_call_db_error(call, db, rc);
    for (size_t i = 0; i < rows; i++)
        fg_buf_free(&pub[i]), fg_buf_free(&kinds[i]), fg_buf_free(&memos[i]);
    free(ids), free(created), free(pub), free(kinds), free(memos);
    fg_buf_free(&p), fg_buf_free(&k), fg_buf_free(&m), fg_buf_free(&b);
}
