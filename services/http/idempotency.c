/*
 * idempotency.c - Idempotency-Key storage and replay (docs/DESIGN.md §4).
 *
 * The fast path costs no extra round trip: a handler does its work and then
 * inserts the key row, with its final answer, in the same transaction.  Two
 * requests racing with one key serialise on the unique index: the second
 * waits for the first to commit, hits the duplicate, rolls back everything it
 * did and replays the stored answer.  Work that spans several transactions
 * (a provider call) commits a 'running' row first; a request that finds one
 * gets 409 idempotency_key_in_progress.
 */
#include "http/http.h"

#include <string.h>
#include "core/log.h"
#include "core/text.h"

/* A finished request's key row is not read back by its own transaction: a
 * shared (group commit) transaction queues it and sends it at COMMIT (db.h);
 * a key taken meanwhile then fails the COMMIT and the request runs alone. */
static fg_db_table_t KEYS = FG_DB_TABLE(
    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, status_code, response_body, created_at, "
    "expires_at) VALUES ",
    "(?, ?, ?, 'done', ?, ?, ?, ?)", 7, 0, 5);
/* The 'running' row of work spanning transactions, queued likewise by a
 * set that begins several such requests together (fg_idem_hold). */
static fg_db_table_t RUNNING = FG_DB_TABLE(
    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, response_body, created_at, expires_at) VALUES ",
    "(?, ?, ?, 'running', ?, ?, ?)", 6, 0, 5);
static const char SQL_SELECT[] = "SELECT fingerprint, state, status_code, response_body FROM idempotency_keys "
                                 "WHERE scope = ? AND idem_key = ? AND expires_at > ?";
/* A key is free the moment it expires, whether or not the sweeper came by. */
static const char SQL_FREE_EXPIRED[] =
    "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND expires_at <= ?";
/* A running key with a mark (fg_idem_mark) outlives its lease for the
 * answer's 24 hours: a retry after the lease answers from what it names. */
static const char SQL_SWEEP[] = "DELETE FROM idempotency_keys WHERE expires_at <= ? AND (state = 'done' OR "
                                "response_body IS NULL OR created_at <= ?) LIMIT ?";
/* Work spanning several transactions holds the key as 'running'. */
static const char SQL_RUNNING[] =
    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, created_at, expires_at) "
    "VALUES (?, ?, ?, 'running', ?, ?)";
/* Only the row this request made (created_at): after its lease another may hold the key. */
static const char SQL_DONE[] =
    "UPDATE idempotency_keys SET state = 'done', status_code = ?, response_body = ?, expires_at = ? "
    "WHERE scope = ? AND idem_key = ? AND state = 'running' AND created_at = ?";
/* A running key's mark: what its work left behind before its answer. */
static const char SQL_MARK[] = "UPDATE idempotency_keys SET response_body = ? WHERE scope = ? AND idem_key = ? AND "
                               "state = 'running' AND created_at = ?";
/* A running key whose lease ran out, with its mark. */
static const char SQL_MARKED[] = "SELECT fingerprint, response_body, created_at FROM idempotency_keys WHERE scope = ? "
                                 "AND idem_key = ? AND state = 'running' AND expires_at <= ? AND response_body IS NOT "
                                 "NULL";
/* The answer a resumed key keeps, as if its request had stored it. */
static const char SQL_RESUMED[] = "UPDATE idempotency_keys SET state = 'done', status_code = ?, response_body = ?, "
                                  "expires_at = ? WHERE scope = ? AND idem_key = ? AND state = 'running' AND "
                                  "created_at = ?";
static const char SQL_DROP[] =
    "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND state = 'running' AND created_at = ?";

void fg_idem_fingerprint(const char *method, const char *path, const char *body, size_t body_len,
                         uint8_t out[FG_SHA256_LEN])
{
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_puts(&b, method);
    fg_buf_putc(&b, '\n');
    fg_buf_puts(&b, path);
    fg_buf_printf(&b, "\n%zu\n", body_len); /* the length keeps path and body apart */
    fg_buf_append(&b, body, body_len);
    fg_sha256(b.data, b.len, out);
    fg_buf_free(&b);
}

int fg_idem_store(fg_db_t *db, fg_call_t *call, int status, const fg_buf_t *body)
{
    if (call->idem_key == NULL)
        return 0;
    if (body->len > FG_IDEM_ANSWER_MAX)
        return FG_ERANGE; /* response_body is a MEDIUMBLOB: the work rolls back, the caller says why */
    int64_t now = fg_now_ms();
    fg_db_value_t v[] = {
        fg_db_cstr(call->idem_scope),
        FG_DB_BLOB(call->idem_key, call->idem_key_len),
        FG_DB_BLOB(call->fingerprint, FG_SHA256_LEN),
        FG_DB_INT(status),
        FG_DB_BLOB(body->data != NULL ? body->data : "", body->len),
        FG_DB_INT(now),
        FG_DB_INT(now + FG_IDEM_TTL_MS),
    };
    int rc = fg_db_insert(db, &KEYS, v, 1, NULL);
    if (rc == 0)
        call->idem_stored = 1;
    call->idem_taken = rc == FG_ECONFLICT;
    return rc;
}

typedef struct {
    fg_call_t *call;
    int64_t now_ms;
    int deleted;
} free_arg_t;

static int free_expired_tx(fg_db_t *db, void *arg)
{
    free_arg_t *a = arg;
    fg_stmt_t s;
    int rc = fg_stmt_init(&s, db, SQL_FREE_EXPIRED);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, a->call->idem_scope);
    fg_stmt_blob(&s, a->call->idem_key, a->call->idem_key_len);
    fg_stmt_int(&s, a->now_ms);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    a->deleted = (int)fg_stmt_affected(&s);
    return 0;
}

typedef struct {
    fg_call_t *call;
    int answered;
    int status;
    fg_buf_t body;
} resume_t;

/* A running key whose request never answered (its lease ran out) and that
 * carries a mark: answered from what the mark names, and the key keeps
 * that answer.  Sets r->answered when it did. */
static int resume_tx(fg_db_t *db, void *arg)
{
    resume_t *r = arg;
    fg_call_t *call = r->call;
    fg_stmt_t s;
    fg_buf_t fingerprint = FG_BUF_INIT, mark = FG_BUF_INIT;
    int64_t created = 0, now = fg_now_ms();
    r->answered = 0;
    fg_buf_reset(&r->body);
    int rc = fg_stmt_init(&s, db, SQL_MARKED);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, call->idem_scope);
    fg_stmt_blob(&s, call->idem_key, call->idem_key_len);
    fg_stmt_int(&s, now);
    fg_stmt_out_text(&s, &fingerprint, NULL);
    fg_stmt_out_text(&s, &mark, NULL);
    fg_stmt_out_int(&s, &created, NULL);
    rc = fg_stmt_one(&s);
    if (rc != 0 || fingerprint.len != FG_SHA256_LEN || memcmp(fingerprint.data, call->fingerprint, FG_SHA256_LEN) != 0)
        goto Exit; /* none (FG_ENOTFOUND), or another request's: as any expired key */
    if ((rc = call->idem_resume(call, db, mark.data, &r->status, &r->body)) != 0 ||
        (rc = fg_stmt_init(&s, db, SQL_RESUMED)) != 0)
        goto Exit;
    fg_stmt_int(&s, r->status);
    fg_stmt_blob(&s, r->body.data != NULL ? r->body.data : "", r->body.len);
    fg_stmt_int(&s, now + FG_IDEM_TTL_MS);
    fg_stmt_cstr(&s, call->idem_scope);
    fg_stmt_blob(&s, call->idem_key, call->idem_key_len);
    fg_stmt_int(&s, created);
    if ((rc = fg_stmt_exec(&s)) == 0)
        r->answered = fg_stmt_affected(&s) == 1;
Exit:
    fg_buf_free(&fingerprint);
    fg_buf_free(&mark);
    return rc;
}

int fg_idem_mark(fg_db_t *db, fg_call_t *call, const char *mark)
{
    fg_stmt_t s;
    if (call->idem_key == NULL)
        return 0;
    int rc = fg_stmt_init(&s, db, SQL_MARK);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(&s, mark);
    fg_stmt_cstr(&s, call->idem_scope);
    fg_stmt_blob(&s, call->idem_key, call->idem_key_len);
    fg_stmt_int(&s, call->idem_since);
    return fg_stmt_exec(&s);
}

/* Runs SQL_SELECT for the call's live key, its columns bound to the
 * outputs: the caller fetches its row (none when no live row has the key). */
static int key_select(fg_stmt_t *s, fg_db_t *db, const fg_call_t *call, fg_buf_t *fingerprint, fg_buf_t *state,
                      int64_t *status, fg_buf_t *body)
{
    int rc = fg_stmt_init(s, db, SQL_SELECT);
    if (rc != 0)
        return rc;
    fg_stmt_cstr(s, call->idem_scope);
    fg_stmt_blob(s, call->idem_key, call->idem_key_len);
    fg_stmt_int(s, fg_now_ms());
    fg_stmt_out_text(s, fingerprint, NULL);
    fg_stmt_out_text(s, state, NULL);
    fg_stmt_out_int(s, status, NULL);
    fg_stmt_out_text(s, body, NULL);
    return fg_stmt_exec(s);
}

int fg_idem_answer_existing(fg_db_t *db, fg_call_t *call)
{
    fg_stmt_t s;
    fg_buf_t fingerprint = FG_BUF_INIT, state = FG_BUF_INIT, body = FG_BUF_INIT;
    int64_t status = 0;
    int rc;

    fg_db_end(db);
    if ((rc = key_select(&s, db, call, &fingerprint, &state, &status, &body)) != 0)
        goto Exit;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc < 0)
        goto Exit;
    if (rc == 0 && call->idem_resume != NULL) {
        /* a running key that outlived its lease and says what its work made */
        resume_t r = {.call = call, .body = FG_BUF_INIT};
        rc = fg_db_tx(db, resume_tx, &r);
        if (rc == 0 && r.answered) {
            fg_call_json(call, r.status, &r.body);
            call->replayed = 1;
        }
        fg_buf_free(&r.body);
        if (rc == 0 && r.answered)
            goto Exit;
        if (rc != 0 && rc != FG_ENOTFOUND)
            goto Exit;
        rc = 0;
    }
    if (rc == 0) {
        /* No live row: either the key is gone, or its row outlived its
         * lifetime and still holds the unique index.  A key this request
         * found taken (idem_taken) and now gone was expired and swept in
         * between: free either way, so the request runs again as new. */
        free_arg_t a = {call, fg_now_ms(), 0};
        if ((rc = fg_db_tx(db, free_expired_tx, &a)) != 0)
            goto Exit;
        if (a.deleted > 0 || call->idem_taken) {
            call->idem_freed = 1;
            rc = FG_ERETRY;
        } else {
            rc = FG_ENOTFOUND;
        }
        goto Exit;
    }
    rc = 0;
    if (fingerprint.len != FG_SHA256_LEN || memcmp(fingerprint.data, call->fingerprint, FG_SHA256_LEN) != 0) {
        fg_call_error(call, 422, "idempotency", "idempotency_key_reused",
                      "this Idempotency-Key was used with a different request", "Idempotency-Key");
        call->idem_refused = 1;
    } else if (strcmp(state.data, "running") == 0) {
        /* never the key's answer: the request holding it may still fail and free it */
        fg_call_error(call, 409, "idempotency", "idempotency_key_in_progress",
                      "a request with this Idempotency-Key is still in progress; retry later", "Idempotency-Key");
        call->idem_refused = 1;
    } else {
        fg_call_json(call, (int)status, &body);
        call->replayed = 1;
    }
Exit:
    fg_db_end(db);
    fg_buf_free(&fingerprint);
    fg_buf_free(&state);
    fg_buf_free(&body);
    return rc;
}

int fg_idem_lookup(fg_db_t *db, const fg_call_t *call, int *status, fg_buf_t *body)
{
    fg_stmt_t s;
    fg_buf_t fingerprint = FG_BUF_INIT, state = FG_BUF_INIT;
    int64_t code = 0;
    int rc;
    if (call->idem_key == NULL)
        return FG_ENOTFOUND;
    if ((rc = key_select(&s, db, call, &fingerprint, &state, &code, body)) != 0)
        goto Exit;
    rc = fg_stmt_fetch(&s);
    fg_stmt_done(&s);
    if (rc <= 0) {
        rc = rc == 0 ? FG_ENOTFOUND : rc;
        goto Exit;
    }
    rc = 0;
    if (fingerprint.len != FG_SHA256_LEN || memcmp(fingerprint.data, call->fingerprint, FG_SHA256_LEN) != 0 ||
        strcmp(state.data, "done") != 0)
        rc = FG_ECONFLICT;
    *status = (int)code;
Exit:
    fg_buf_free(&fingerprint);
    fg_buf_free(&state);
    return rc;
}

void fg_idem_answer_conflict(fg_call_t *call, fg_db_t *db)
{
    int rc = fg_idem_answer_existing(db, call);
    if (rc != 0)
        fg_call_db_error(call, db, rc == FG_ENOTFOUND ? FG_ERETRY : rc);
}

int fg_idem_sweep(fg_db_t *db, int64_t now_ms, int limit)
{
    int64_t args[] = {now_ms, now_ms - FG_IDEM_TTL_MS, limit};
    return fg_db_prune(db, SQL_SWEEP, args, 3);
}

int fg_idem_begin(fg_db_t *db, fg_call_t *call, int64_t now_ms)
{
    fg_stmt_t s;
    int rc;
    if (call->idem_key == NULL)
        return 0;
    if ((rc = fg_stmt_init(&s, db, SQL_RUNNING)) != 0)
        return rc;
    fg_stmt_cstr(&s, call->idem_scope);
    fg_stmt_blob(&s, call->idem_key, call->idem_key_len);
    fg_stmt_blob(&s, call->fingerprint, FG_SHA256_LEN);
    fg_stmt_int(&s, now_ms);
    fg_stmt_int(&s, now_ms + FG_IDEM_RUNNING_LEASE_MS);
    rc = fg_stmt_exec(&s);
    call->idem_taken = rc == FG_ECONFLICT;
    call->idem_since = now_ms;
    return rc;
}

int fg_idem_hold(fg_db_t *db, fg_call_t *call, int64_t now_ms, int64_t lease_ms, const char *mark)
{
    if (call->idem_key == NULL)
        return 0;
    if (lease_ms < FG_IDEM_RUNNING_LEASE_MS)
        lease_ms = FG_IDEM_RUNNING_LEASE_MS;
    call->idem_since = now_ms;
    fg_db_value_t v[] = {
        fg_db_cstr(call->idem_scope),
        FG_DB_BLOB(call->idem_key, call->idem_key_len),
        FG_DB_BLOB(call->fingerprint, FG_SHA256_LEN),
        mark != NULL ? fg_db_cstr(mark) : FG_DB_NULLV,
        FG_DB_INT(now_ms),
        FG_DB_INT(now_ms + lease_ms),
    };
    int rc = fg_db_insert(db, &RUNNING, v, 1, NULL);
    call->idem_taken = rc == FG_ECONFLICT;
    return rc;
}

int fg_idem_finish(fg_db_t *db, fg_call_t *call, int status, const fg_buf_t *body)
{
    fg_stmt_t s;
    int rc;
    if (call->idem_key == NULL)
        return 0;
    if (status >= 500) {
        if ((rc = fg_stmt_init(&s, db, SQL_DROP)) != 0)
            return rc;
        fg_stmt_cstr(&s, call->idem_scope);
        fg_stmt_blob(&s, call->idem_key, call->idem_key_len);
        fg_stmt_int(&s, call->idem_since);
        return fg_stmt_exec(&s);
    }
    if ((rc = fg_stmt_init(&s, db, SQL_DONE)) != 0)
        return rc;
    fg_stmt_int(&s, status);
    fg_stmt_blob(&s, body->data != NULL ? body->data : "", body->len);
    fg_stmt_int(&s, fg_now_ms() + FG_IDEM_TTL_MS);
    fg_stmt_cstr(&s, call->idem_scope);
    fg_stmt_blob(&s, call->idem_key, call->idem_key_len);
    fg_stmt_int(&s, call->idem_since);
    if ((rc = fg_stmt_exec(&s)) != 0)
        return rc;
    if (fg_stmt_affected(&s) == 1) {
        call->idem_stored = 1;
    } else {
        call->idem_lost = 1;
        fg_log_t l;
        fg_log_begin(&l, FG_LOG_WARN, "idempotency key taken by another request after its lease: answer not stored");
        fg_log_str(&l, "scope", call->idem_scope);
        fg_log_end(&l);
    }
    return 0;
}
