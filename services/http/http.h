/*
 * http.h - the API request as the domain modules see it.
 *
 * The event loop matches the route, copies what the handler needs out of
 * h2o's request into an fg_call_t, and hands it to a database worker.  The
 * handler runs there, with its own connection, and fills in the response;
 * the loop sends it (if the client is still there).  Handlers never touch
 * h2o objects.
 */
#ifndef FG_HTTP_HTTP_H
#define FG_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "adapter.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/ids.h"
#include "core/page.h"
#include "db/db.h"
#include "db/pool.h"
#include "merchants/merchants.h"
#include "staff/staff.h"

/* JSON request bodies: 1 MiB (docs/DESIGN.md §9).  A batch of 10,000 bills with payer
 * names and descriptions runs to several MiB, so batch routes get 16 MiB. */
#define FG_BODY_MAX (1024 * 1024)
#define FG_BATCH_BODY_MAX (16 * 1024 * 1024)
/* The largest body any route takes: a bank statement file (recon/statement.h). */
#define FG_BODY_LARGEST (64 * 1024 * 1024)
/* Path parameters ({} in a route pattern) and query parameters kept. */
#define FG_PATH_PARAMS_MAX 3
#define FG_QUERY_PARAMS_MAX 32
/* Idempotency-Key: 1..255 printable ASCII (docs/DESIGN.md §4). */
#define FG_IDEM_KEY_MAX 255
/* Replays are served for 24 hours. */
#define FG_IDEM_TTL_MS (24LL * 3600 * 1000)
/* A 'running' Idempotency-Key expires after this unless its request
 * finishes: many times the longest provider call (30 s), short enough that
 * a crashed instance frees the key for a retry soon. */
#define FG_IDEM_RUNNING_LEASE_MS (5 * 60 * 1000)

typedef enum {
    FG_AUTH_NONE = 0,
    FG_AUTH_MERCHANT,          /* Authorization: Bearer <merchant API key> */
    FG_AUTH_MERCHANT_OR_STAFF, /* a merchant API key (its own rows) or a staff token of any role */
    FG_AUTH_EXPORT,            /* Authorization: Bearer <export API key>: the change feed, nothing else */
    FG_AUTH_STAFF_READ,        /* a staff token of any role (finance, auditor, admin) */
    FG_AUTH_STAFF_WRITE,       /* a staff token of role finance or admin */
    FG_AUTH_STAFF_ADMIN,       /* a staff token of role admin */
} fg_auth_t;

typedef struct fg_call fg_call_t;
typedef void (*fg_handler_fn)(fg_call_t *call, fg_db_t *db);

typedef struct {
    const char *method;  /* "GET", "POST" */
    const char *pattern; /* "/v1/orders/{}/cancel": {} is one path segment */
    const char *name;    /* metric label, e.g. "orders.create" */
    fg_auth_t auth;
    int idempotent;  /* honours Idempotency-Key */
    size_t body_max; /* 0 = FG_BODY_MAX */
    fg_handler_fn handler;
} fg_route_t;

/* A route whose requests a worker may answer several at once, taken together
 * from the pool's queue (db/pool.h): many answers calls[0..n), each with its
 * own status and body exactly as handler would one after another.  Each call
 * is authenticated and its Idempotency-Key checked first (those refused are
 * answered and left out); a key found expired in place runs handler again
 * for that call alone, and each answer is stored under its key after. */
typedef void (*fg_many_fn)(fg_call_t **calls, int n, fg_db_t *db);
typedef struct {
    fg_handler_fn handler; /* the routes (every one with this handler) */
    fg_many_fn many;
    int max;     /* the most calls at once, <= FG_POOL_BATCH_MAX */
    int leaders; /* the most workers answering them at once (db/pool.h) */
} fg_route_many_t;

typedef struct {
    char *name;
    char *value; /* percent-decoded, NUL-terminated */
    size_t value_len;
} fg_query_param_t;

struct fg_call {
    fg_job_t job; /* must stay first: the pool hands jobs back */
    const fg_route_t *route;
    const fg_config_t *cfg;
    /* request, owned by the call */
    char *path;
    char *body;
    size_t body_len;
    char *authorization;
    char *method;
    char *query_raw;  /* the query string as received, without '?'; may be NULL */
    int is_tls;       /* reached over TLS: arrived so, or public.base_url is https (HSTS, Secure cookies) */
    char peer[48];    /* the client's address, numeric ("" when unknown): rate limits, audit */
    fg_buf_t headers; /* every request header as "name: value\n", names lower-case */
    char *idem_key;
    size_t idem_key_len;
    char *params[FG_PATH_PARAMS_MAX];
    size_t param_lens[FG_PATH_PARAMS_MAX];
    int query_count;
    fg_query_param_t query[FG_QUERY_PARAMS_MAX];
    /* set by authentication */
    uint64_t merchant_id;
    char merchant_public_id[FG_ID_CAP];
    uint64_t staff_id;
    fg_role_t staff_role;
    char staff_email[256];
    /* idempotency */
    char idem_scope[48];
    uint8_t fingerprint[FG_SHA256_LEN];
    int idem_stored;    /* the handler stored its answer in its own transaction */
    int idem_taken;     /* fg_idem_store found the key taken by a request that committed first */
    int idem_freed;     /* an expired row under this key was just deleted: run the request again */
    int64_t idem_since; /* fg_idem_begin/hold: when this request took the key 'running' (its row's created_at) */
    int idem_lost;      /* fg_idem_finish found the key another request's (its lease had run out): keep the answer */
    /* Work that leaves something behind before its answer (a refund asked
     * of its provider) marks its running key with it (fg_idem_mark); a
     * retry that finds such a key whose lease ran out, its request never
     * answered (a crash, the database gone), answers from what the mark
     * names through this, instead of running the request again as new
     * (a second refund).  0 with *status and body set; FG_ENOTFOUND when
     * the mark names nothing. */
    int (*idem_resume)(fg_call_t *call, fg_db_t *db, const char *mark, int *status, fg_buf_t *body);
    /* response */
    int status;
    fg_buf_t response;
    const char *content_type;  /* static; NULL = JSON */
    fg_buf_t response_headers; /* extra response headers: "name\0value\0"…, fg_call_add_header */
    int replayed;
    int idem_refused; /* answered about its key (used for another request, still in progress): never stored */
    fg_buf_t header_scratch;
    /* lifecycle, owned by the server */
    void *server_private;
};

_Static_assert(FG_STAFF_EMAIL_MAX < sizeof(((fg_call_t *)0)->staff_email),
               "call->staff_email must hold any staff e-mail address");

/** 1 when role may use a route that requires `required`: MERCHANT_OR_STAFF
 *  allows every role (an accountant acts for its merchant); STAFF_READ allows
 *  auditor, finance and admin; STAFF_WRITE finance and admin; STAFF_ADMIN
 *  admin only.  0 for FG_ROLE_NONE and for non-staff levels (http/auth.c). */
int fg_staff_role_allows(fg_role_t role, fg_auth_t required);

/** The authenticated merchant, as domain operations take it. */
fg_merchant_ref_t fg_call_merchant(const fg_call_t *call);

/** Splits the query string q (len bytes, without '?') into call->query: at
 *  most FG_QUERY_PARAMS_MAX name=value pairs separated by '&', names as
 *  given, values percent- and plus-decoded (fg_form_decode); a pair without
 *  a name is skipped, one without '=' has the value "".  The call owns the
 *  copies (fg_call_free) (http/query.c). */
void fg_call_parse_query(fg_call_t *call, const char *q, size_t len);

/** Value of query parameter name (decoded, NUL-terminated) or NULL. */
const char *fg_call_query(fg_call_t *call, const char *name, size_t *len);

/** Value of request header name (lower-case), NUL-terminated, or NULL.
 *  Returns a pointer into a per-call scratch copy valid until the next call. */
const char *fg_call_header(fg_call_t *call, const char *name);

/** The request body as a JSON object (fg_json_parse_object), once its
 *  Content-Type says application/json (charset optional): a JSON route takes
 *  nothing else, not text/plain, a form or multipart (415).  NULL with err
 *  filled otherwise. */
yajl_val fg_call_json_object(fg_call_t *call, fg_field_error_t *err);

/** For a POST whose action takes no input (cancel, close, enable, …): no
 *  body, or an empty JSON object, is 0; anything else is answered as any
 *  JSON body that is not what the route takes (415 not JSON, 400 invalid
 *  JSON or unknown_field naming the first member) and is -1, so that a
 *  body the caller meant something by is never acted on without it. */
int fg_call_no_input(fg_call_t *call) FG_MUST_USE;

/** Sets an error response in the docs/DESIGN.md §4 shape:
 *  {"error":{"type","code","message","field"?}}.  field may be NULL. */
void fg_call_error(fg_call_t *call, int status, const char *type, const char *code, const char *message,
                   const char *field);

/** The HTTP status of a refused input: 400 for a malformed request, 422 for
 *  an unacceptable value, 415 for a body not sent as JSON (docs/DESIGN.md §4). */
int fg_field_status(const fg_field_error_t *err);

/** Answers a refused input: fg_field_status, type invalid_request, the
 *  error's code and message, and its field when it names one. */
void fg_call_field_error(fg_call_t *call, const fg_field_error_t *err);

/** Sets a JSON response, taking the contents of body (which is left empty). */
void fg_call_json(fg_call_t *call, int status, fg_buf_t *body);

/** Sets a response of another type (content_type static), taking body. */
void fg_call_body(fg_call_t *call, int status, const char *content_type, fg_buf_t *body);

/** Adds a response header (name lower-case; both copied; no CR or LF in value). */
void fg_call_add_header(fg_call_t *call, const char *name, const char *value);

/** The seconds until the call's client address may send another
 *  notification after its refused ones (limits.rejected_*); 0: it may now. */
int64_t fg_limits_rejected_wait(const fg_call_t *call);

/** Counts a refused notification (forged, unreadable) against the call's
 *  client address. */
void fg_limits_rejected_charge(const fg_call_t *call);

/** 1 when the call carries a staff token rather than a merchant API key. */
int fg_call_is_staff(const fg_call_t *call);

/** The request as an inbound notification (adapter.h): method, raw query,
 *  body and headers, borrowed from the call (valid while it lives). */
fg_inbound_t fg_call_inbound(fg_call_t *call);

/** Reads ?limit= and ?cursor= (core/page.h).  0, or -1 after answering 400
 *  invalid_limit / invalid_cursor. */
int fg_call_page(fg_call_t *call, fg_page_t *page) FG_MUST_USE;

/** 503 for a database that is down, 500 otherwise, from an FG_E* code. */
void fg_call_db_error(fg_call_t *call, fg_db_t *db, int err);

/* ---- idempotency (services/http/idempotency.c) ---------------------------- */

/** Inside the handler's transaction, after the work and before COMMIT: stores
 *  this answer under the call's Idempotency-Key (no-op without a key).
 *  Returns 0, FG_ECONFLICT if the key was taken meanwhile (call->idem_taken
 *  is then set: roll back, then fg_idem_answer_existing), FG_ERANGE when the
 *  answer is larger than FG_IDEM_ANSWER_MAX, or another FG_E* database code. */
int fg_idem_store(fg_db_t *db, fg_call_t *call, int status, const fg_buf_t *body) FG_MUST_USE;
/* The largest answer a key keeps (its column is a MEDIUMBLOB); a larger one
 * makes fg_idem_store return FG_ERANGE. */
#define FG_IDEM_ANSWER_MAX ((size_t)16 * 1024 * 1024 - 1)

/** Work that spans several transactions (a provider call between them):
 *  commits nothing itself, but inside the caller's first transaction marks
 *  the key 'running' for FG_IDEM_RUNNING_LEASE_MS, so a second request with
 *  it gets 409 idempotency_key_in_progress.  No-op without a key.  0,
 *  FG_ECONFLICT (the key is taken: roll back, fg_idem_answer_existing), or
 *  a database code. */
int fg_idem_begin(fg_db_t *db, fg_call_t *call, int64_t now_ms) FG_MUST_USE;

/** fg_idem_begin for a set that begins several such requests in one
 *  deferring transaction, leased lease_ms (at least FG_IDEM_RUNNING_LEASE_MS:
 *  a set's provider calls go in waves): the 'running' row is queued and sent at COMMIT,
 *  where a key taken meanwhile fails the set (each then runs alone, with
 *  fg_idem_begin).  Not for work that finishes in the same transaction (use
 *  fg_idem_store): fg_idem_finish would not find a row still queued. */
int fg_idem_hold(fg_db_t *db, fg_call_t *call, int64_t now_ms, int64_t lease_ms, const char *mark) FG_MUST_USE;

/** Marks the call's running key with what its work made (mark: up to 64
 *  bytes, e.g. a refund's id), in the transaction that made it; hold takes
 *  the mark itself (NULL: none).  See fg_call_t.idem_resume.  0 or a
 *  database code. */
int fg_idem_mark(fg_db_t *db, fg_call_t *call, const char *mark) FG_MUST_USE;

/** Inside the caller's last transaction: stores the answer under the running
 *  key (status < 500), or drops the key so a 5xx can be retried.  Only the
 *  row this request made: one whose lease ran out and that another request
 *  took since is left to it (logged; the answer is not stored).  0 or a
 *  database code. */
int fg_idem_finish(fg_db_t *db, fg_call_t *call, int status, const fg_buf_t *body) FG_MUST_USE;

/** After a conflict: answers from the stored key: a replay of the stored
 *  answer, 422 idempotency_key_reused for another request, or 409
 *  idempotency_key_in_progress.  Returns 0 when answered, FG_ENOTFOUND if
 *  there is no such key (anymore), FG_ERETRY when the key's row had outlived
 *  its 24 hours and was deleted now (call->idem_freed is set: the request is
 *  new and fg_call_run runs the handler again), or a database error code. */
int fg_idem_answer_existing(fg_db_t *db, fg_call_t *call) FG_MUST_USE;

/** After FG_ECONFLICT on the call's key (another request with it committed
 *  first): answers from the stored key as fg_idem_answer_existing does, or
 *  with a retryable error when the key is gone again. */
void fg_idem_answer_conflict(fg_call_t *call, fg_db_t *db);

/** A key that comes with the request some other way than the header (a
 *  staff form's hidden field: docs/PAGES.md, "A form sent twice"): 1..255
 *  printable ASCII, scoped to the signed-in staff member (call->staff_id),
 *  fingerprinted over method, path and body as the header's key is.  The
 *  call owns the copy; fg_call_forget_key drops it.  0, or FG_EINVALID for
 *  a key out of its rules (the call is left without one). */
int fg_call_use_key(fg_call_t *call, const char *key, size_t len) FG_MUST_USE;

/** Drops the call's key, so that nothing is stored under it after the
 *  handler: what the handler did not store itself is not an answer to
 *  replay (a page that refused a form is shown again, not replayed). */
void fg_call_forget_key(fg_call_t *call);

/** The answer stored under the call's key, without answering the call:
 *  0 with *status and body (appended) when a request with the same
 *  fingerprint finished with it; FG_ECONFLICT when the key holds another
 *  request or one still running; FG_ENOTFOUND when no live row has it; or
 *  a database code. */
int fg_idem_lookup(fg_db_t *db, const fg_call_t *call, int *status, fg_buf_t *body) FG_MUST_USE;

/** Deletes expired keys, at most limit rows.  Returns rows deleted or < 0. */
int fg_idem_sweep(fg_db_t *db, int64_t now_ms, int limit);

/** The request fingerprint: SHA-256 over method, path and body. */
void fg_idem_fingerprint(const char *method, const char *path, const char *body, size_t body_len,
                         uint8_t out[FG_SHA256_LEN]);

/* ---- the server (services/http/server.c) --------------------------------- */

/** Runs `feegate serve` with these routes (terminated by an entry with
 *  method == NULL; the API's are services/api/routes.c) and the routes among
 *  them answered several at once (terminated by handler == NULL) until
 *  SIGTERM/SIGINT; returns the exit code. */
int fg_server_run(const fg_config_t *cfg, const fg_route_t *routes, const fg_route_many_t *many);

#endif
