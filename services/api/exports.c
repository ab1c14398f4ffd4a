/*
 * exports.c - the change feed of the city's data-sharing platform
 * (GET /v1/exports/changes, export keys only) and the keys that verify its
 * pages (GET /.well-known/jwks.json, public).  The work is the changes
 * module's (changes/changes.h, docs/CHANGES.md).
 */
#include "api/handlers.h"

#include <string.h>
#include "changes/changes.h"

static const char NDJSON_TYPE[] = "application/x-ndjson";

/* Digits of FG_CHANGES_LIMIT_MAX, with room for a leading zero or two. */
#define LIMIT_DIGITS_MAX 7

/* ?limit=: 1..FG_CHANGES_LIMIT_MAX, default FG_CHANGES_LIMIT_DEFAULT.  0 or
 * -1 answered. */
static int read_limit(fg_call_t *call, int *limit)
{
    size_t len = 0;
    const char *text = fg_call_query(call, "limit", &len);
    long value = 0;
    *limit = FG_CHANGES_LIMIT_DEFAULT;
    if (text == NULL || len == 0)
        return 0;
    int ok = len <= LIMIT_DIGITS_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        ok = text[i] >= '0' && text[i] <= '9';
        value = value * 10 + (text[i] - '0');
    }
    if (!ok || value < 1 || value > FG_CHANGES_LIMIT_MAX) {
        fg_call_error(call, 400, "invalid_request", "invalid_limit", "limit must be an integer from 1 to 10000",
                      "limit");
        return -1;
    }
    *limit = (int)value;
    return 0;
}

/* ---- GET /v1/exports/changes?after=&limit= -------------------------------------------- */

void fg_exports_changes(fg_call_t *call, fg_db_t *db)
{
    const fg_jws_key_t *key = fg_export_keys()->signing;
    fg_change_cursor_t after, next;
    size_t after_len = 0;
    const char *after_text = fg_call_query(call, "after", &after_len);
    char cursor[FG_CHANGE_CURSOR_CAP];
    int limit, count = 0;
    if (read_limit(call, &limit) != 0)
        return;
    if (fg_change_cursor_parse(after_text != NULL ? after_text : "", after_len, &after) != 0) {
        fg_call_error(call, 400, "invalid_request", "invalid_cursor",
                      "after must be a cursor this feed gave out (X-Feegate-Next-Cursor), or absent", "after");
        return;
    }
    if (key == NULL) {
        fg_call_error(call, 503, "unavailable", "export_signing_key_missing",
                      "the change feed has no signing key (export.signing_key_file)", NULL);
        return;
    }
    fg_buf_t body = FG_BUF_INIT, signature = FG_BUF_INIT;
    /* everything that committed before this request gets its number now */
    int rc = fg_changes_catch_up(db);
    if (rc == 0)
        rc = fg_changes_read(db, &after, limit, &body, &next, &count);
    if (rc == FG_ERANGE) {
        fg_call_error(call, 400, "invalid_request", "invalid_cursor",
                      "after is beyond the end of the feed: it must be a cursor this feed gave out "
                      "(X-Feegate-Next-Cursor), or absent",
                      "after");
    } else if (rc == FG_EINVALID) {
        fg_call_error(call, 400, "invalid_request", "invalid_cursor", "after does not point into a statement's lines",
                      "after");
    } else if (rc != 0) {
        fg_call_db_error(call, db, rc);
    } else if (fg_jws_sign_detached(key, body.data != NULL ? body.data : "", body.len, &signature) != 0) {
        fg_call_error(call, 500, "internal", "signing_failed", "the page could not be signed", NULL);
    } else {
        fg_change_cursor_format(&next, cursor, sizeof(cursor));
        fg_call_add_header(call, "x-feegate-next-cursor", cursor);
        fg_call_add_header(call, "x-feegate-signature", signature.data);
        fg_call_json(call, 200, &body);
        call->content_type = NDJSON_TYPE;
    }
    fg_buf_free(&body);
    fg_buf_free(&signature);
}

/* ---- GET /.well-known/jwks.json ------------------------------------------------------- */

void fg_exports_jwks(fg_call_t *call, fg_db_t *db)
{
    (void)db;
    fg_buf_t body = FG_BUF_INIT;
    fg_export_jwks_json(&body, fg_export_keys());
    fg_call_json(call, 200, &body);
}
