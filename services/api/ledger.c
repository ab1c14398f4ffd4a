/*
 * ledger.c - the ledger's staff routes: accounts with balances, one account
 * (now or ?at=), journals with their entries.  The reads and the objects'
 * JSON are the ledger's (ledger/query.c); here the request is read and the
 * answer written.
 */
#include "ledger/ledger.h"
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>
#include "core/money.h"
#include "core/text.h"

static int bad(fg_call_t *call, const char *code, const char *message, const char *field)
{
    fg_call_error(call, 400, "invalid_request", code, message, field);
    return -1;
}

/* ?at= (absent: now).  0, or -1 after answering 400. */
static int parse_at(fg_call_t *call, int64_t *at_ms)
{
    size_t len;
    const char *v = fg_call_query(call, "at", &len);
    *at_ms = -1;
    if (v != NULL && fg_time_parse_rfc3339(v, len, at_ms) != 0)
        return bad(call, "invalid_timestamp", "at must be an RFC 3339 timestamp", "at");
    return 0;
}

void fg_ledger_accounts_list(fg_call_t *call, fg_db_t *db)
{
    fg_page_t page;
    fg_buf_t b = FG_BUF_INIT;
    int count = 0, more = 0;
    int64_t at;
    size_t len;
    const char *currency = fg_call_query(call, "currency", &len);
    if (fg_call_page(call, &page) != 0 || parse_at(call, &at) != 0)
        return;
    if (currency != NULL && (len != 3 || fg_currency_find(currency, len) == NULL)) {
        bad(call, "invalid_currency", "currency must be an ISO 4217 code such as VND", "currency");
        return;
    }
    fg_ledger_account_t *rows = fg_calloc((size_t)page.limit, sizeof(*rows));
    int rc = fg_ledger_accounts_page(db, page.cursor, page.limit, currency, at, rows, &count, &more);
    if (rc == 0) {
        fg_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
        for (int i = 0; i < count; i++) {
            if (i > 0)
                fg_buf_putc(&b, ',');
            fg_ledger_account_json(&b, &rows[i]);
        }
        fg_page_close(&b, more, count > 0 ? rows[count - 1].id : 0);
        fg_call_json(call, 200, &b);
    } else {
        fg_call_db_error(call, db, rc);
    }
    free(rows);
    fg_buf_free(&b);
}

void fg_ledger_account_get(fg_call_t *call, fg_db_t *db)
{
    fg_ledger_account_t account;
    fg_buf_t b = FG_BUF_INIT;
    int64_t at;
    if (parse_at(call, &at) != 0)
        return;
    int rc = fg_ledger_account_find(db, call->params[0], fg_call_query(call, "currency", NULL), &account);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "account_not_found", "no such ledger account", NULL);
    } else if (rc == FG_ECONFLICT) {
        bad(call, "currency_required",
            "this account exists in several currencies: name one with ?currency=", "currency");
    } else if (rc != 0 || (rc = fg_ledger_account_balance(db, &account, at)) != 0) {
        fg_call_db_error(call, db, rc);
    } else {
        fg_ledger_account_json(&b, &account);
        fg_call_json(call, 200, &b);
    }
    fg_buf_free(&b);
}

/* ?from= or ?to= into *ms when given (and not empty).  0, or -1 after
 * answering 400. */
static int parse_bound(fg_call_t *call, const char *name, const char *message, int64_t *ms, int *given)
{
    size_t len;
    const char *v = fg_call_query(call, name, &len);
    if (v == NULL || len == 0)
        return 0;
    if (fg_time_parse_rfc3339(v, len, ms) != 0)
        return bad(call, "invalid_timestamp", message, name);
    *given = 1;
    return 0;
}

/* ?account= (with ?currency=) into q->account_id when given (and not empty).
 * 0, or -1 after answering. */
static int parse_account(fg_call_t *call, fg_db_t *db, fg_journal_query_t *q)
{
    fg_ledger_account_t account;
    size_t len;
    const char *code = fg_call_query(call, "account", &len);
    if (code == NULL || len == 0)
        return 0;
    int rc = fg_ledger_account_find(db, code, fg_call_query(call, "currency", NULL), &account);
    if (rc == FG_ENOTFOUND) {
        fg_call_error(call, 404, "not_found", "account_not_found", "no such ledger account", "account");
        return -1;
    }
    if (rc == FG_ECONFLICT)
        return bad(call, "currency_required", "name the account's currency with ?currency=", "currency");
    if (rc != 0) {
        fg_call_db_error(call, db, rc);
        return -1;
    }
    q->account_id = account.id;
    return 0;
}

/* The journal list's query: ?limit=, ?cursor=, ?from=, ?to=, ?account=
 * (and ?currency=).  0, or -1 after answering. */
static int parse_journal_query(fg_call_t *call, fg_db_t *db, fg_journal_query_t *q)
{
    fg_page_t page;
    memset(q, 0, sizeof(*q));
    if (fg_call_page(call, &page) != 0)
        return -1;
    q->before_id = page.cursor;
    q->limit = page.limit;
    if (parse_bound(call, "from", "from must be an RFC 3339 timestamp", &q->from_ms, &q->has_from) != 0 ||
        parse_bound(call, "to", "to must be an RFC 3339 timestamp", &q->to_ms, &q->has_to) != 0)
        return -1;
    return parse_account(call, db, q);
}

/* The list's body as the journals come: one object each. */
typedef struct {
    fg_buf_t *body;
    int shown;
    int64_t last_id;
} journal_list_t;

static int journal_list_add(void *arg, const fg_ledger_journal_t *j)
{
    journal_list_t *list = arg;
    if (list->shown++ > 0)
        fg_buf_putc(list->body, ',');
    fg_ledger_journal_json(list->body, j);
    list->last_id = j->id;
    return 0;
}

void fg_ledger_journals_list(fg_call_t *call, fg_db_t *db)
{
    fg_journal_query_t q;
    fg_buf_t b = FG_BUF_INIT;
    journal_list_t list = {&b, 0, 0};
    int more = 0;
    if (parse_journal_query(call, db, &q) != 0)
        return;
    fg_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    int rc = fg_ledger_journals_page(db, &q, journal_list_add, &list, &more);
    if (rc == 0) {
        fg_page_close(&b, more, list.last_id);
        fg_call_json(call, 200, &b);
    } else {
        fg_call_db_error(call, db, rc);
    }
    fg_buf_free(&b);
}
