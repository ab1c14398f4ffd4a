/*
 * server.c - `feegate serve`: one h2o event loop per core, each with its own
 * SO_REUSEPORT listeners, routing API calls to the database worker pool.
 */
#include "http/server_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "core/netmask.h"
#include "core/log.h"
#include "core/text.h"
#include "http/http1_head.h"
#include "http/ratelimit.h"
#include "h2o.h"
#include "h2o/http1.h"
#include "h2o/http2.h"
#include "metrics/metrics.h"
#include "changes/changes.h"
#include "db/settle.h"
#include "ledger/ledger.h"
#include "orders/orders.h"
#include "payments/payments.h"
#include "payments/providers.h"
#include "recon/recon.h"
#include "receipts/receipts.h"
#include "reminders/reminders.h"
#include "reports/reports.h"
#include "webhooks/webhooks.h"

/* Event loops beyond this are pointless on any machine we run on. */
#define LOOPS_MAX 64
/* On shutdown, in-flight requests get this long to finish. */
#define DRAIN_DEADLINE_MS 30000
/* Once the last request is answered and written, the clients get this long
 * to read the answers (and their last WINDOW_UPDATEs to arrive); then the
 * HTTP/2 connections get their final GOAWAY and are closed by h2o; after
 * this long again the rest (idle HTTP/1.1 keep-alive) are shut down and get
 * this long once more to close. */
#define DRAIN_FLUSH_MS 2000

/* The metrics listener serves /metrics only, on its own address (loopback
 * by default): the counters show business volume per route. */
enum { LISTEN_HTTP, LISTEN_HTTPS, LISTEN_METRICS, LISTEN_KINDS };

typedef struct {
    int index;
    pthread_t thread;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept[LISTEN_KINDS];
    h2o_socket_t *listeners[LISTEN_KINDS];
    h2o_multithread_receiver_t db_receiver;
    h2o_multithread_receiver_t control_receiver;
    h2o_multithread_message_t stop_message;
    int inflight;
    int stopping;
    int goaway_held;        /* HTTP/2's final GOAWAY, held until the loop is idle (drain) */
    h2o_linklist_t sockets; /* every accepted socket still open (conn_t.link) */
} loop_t;

/* An accepted connection's socket, tracked so that shutdown can end the
 * connections that stay open (idle keep-alive, clients that never hang up):
 * libh2o 2.2.5 gives no way to close a connection from outside, and
 * disposing a context with live connections aborts. */
typedef struct {
    h2o_linklist_t link;
    h2o_socket_t *sock;
} conn_t;

typedef struct {
    const fg_config_t *cfg;
    int published_over_tls;                /* public.base_url is https */
    fg_netmask_t proxies[FG_NETMASKS_MAX]; /* http.trusted_proxies */
    int proxy_count;
    h2o_globalconf_t globalconf;
    h2o_hostconf_t *hosts_public[2], *hosts_metrics[2]; /* each listener's one host */
    SSL_CTX *ssl_ctx;
    fg_pool_t *pool;
    int loop_count;
    loop_t loops[LOOPS_MAX];
    struct addrinfo *addrs[LISTEN_KINDS];
    pthread_t sweeper;
    atomic_int sweeper_stop;
    fg_ratelimit_t *by_address, *by_key, *rejected; /* NULL: that limit is off */
    atomic_int connections;                         /* open on every loop */
    pthread_mutex_t start_mutex;
    pthread_cond_t start_cond;
    int started, start_failed;
    char start_error[512];
    const fg_route_many_t *many; /* the routes answered several at once */
} server_t;

static server_t server = {.start_mutex = PTHREAD_MUTEX_INITIALIZER, .start_cond = PTHREAD_COND_INITIALIZER};

/* The latest readiness ping's answer, for every loop: a /readyz within
 * READY_CACHE_MS of the ping is answered from it, so a flood of probes costs
 * the database a ping a second, not one each.  Latest by when the ping began:
 * a ping begun before another and answered after it (the database went away
 * between) does not override it, so every loop says the same. */
static struct {
    pthread_mutex_t mutex;
    int ok;
    int64_t began_ms, answered_ms; /* monotonic; answered_ms 0: none yet */
} readiness = {.mutex = PTHREAD_MUTEX_INITIALIZER};

/* Route slots for metrics: API routes first, then these. */
enum { ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS, ROUTE_NOT_FOUND, ROUTE_MALFORMED, ROUTE_EXTRA_COUNT };
static int route_api_count;

typedef struct req_ref req_ref_t;

/* The request side of a call, kept on the loop thread only. */
typedef struct {
    h2o_req_t *req; /* NULL once h2o disposed the request (client went away) */
    req_ref_t *ref; /* lives in req->pool; valid while req != NULL */
    loop_t *loop;
    int route_index;
    int64_t start_us;
    int is_readyz;
} call_link_t;

struct req_ref {
    call_link_t *link;
};

static int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- responses ----------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Extra headers a handler set ("name\0value\0"…), copied into the request's pool. */
static void add_headers(h2o_req_t *req, const fg_buf_t *headers)
{
    for (size_t at = 0; at < headers->len;) {
        const char *name = headers->data + at;
        size_t name_len = strlen(name);
        const char *value = name + name_len + 1;
        size_t value_len = strlen(value);
        h2o_iovec_t n = h2o_strdup(&req->pool, name, name_len), v = h2o_strdup(&req->pool, value, value_len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
        at += name_len + 1 + value_len + 1;
    }
}

/* X-Forwarded-For headers one request may carry that are read. */
#define FORWARDED_HEADERS_MAX 8

/* The client's numeric address into out ("" when the connection does not
 * say): the TCP peer, or behind a trusted proxy the client its
 * X-Forwarded-For names (fg_forwarded_client). */
static void peer_address(h2o_req_t *req, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    char peer[INET6_ADDRSTRLEN] = "";
    out[0] = '\0';
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (len == 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, peer, sizeof(peer));
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, peer, sizeof(peer));
    if (server.proxy_count == 0) { /* every request asks: no second parse without proxies */
        snprintf(out, cap, "%s", peer);
        return;
    }
    const char *values[FORWARDED_HEADERS_MAX];
    size_t lens[FORWARDED_HEADERS_MAX];
    int count = 0;
    /* more headers than kept: the last ones, the ones our proxies wrote */
    for (ssize_t i = -1; (i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-forwarded-for"), i)) != -1;) {
        if (count == FORWARDED_HEADERS_MAX) {
            memmove(values, values + 1, sizeof(values[0]) * (FORWARDED_HEADERS_MAX - 1));
            memmove(lens, lens + 1, sizeof(lens[0]) * (FORWARDED_HEADERS_MAX - 1));
            count--;
        }
        values[count] = req->headers.entries[i].value.base;
        lens[count++] = req->headers.entries[i].value.len;
    }
    fg_forwarded_client(server.proxies, server.proxy_count, peer, values, lens, count, out, cap);
}

/* A header the answer does not carry yet gets its default value. */
static void header_default(h2o_req_t *req, const char *name, size_t name_len, const char *value, size_t value_len)
{
    if (h2o_find_header_by_str(&req->res.headers, name, name_len, -1) == -1)
        h2o_add_header_by_str(&req->pool, &req->res.headers, name, name_len, 1, NULL, value, value_len);
}

/* Whether the client reached us over TLS: the request arrived over TLS, or
 * public.base_url is https, and a TLS-terminating proxy in front of the
 * plain listener is how clients reach us (cookies are then Secure and HSTS
 * is sent whichever listener the proxy talks to). */
static int reached_over_tls(const h2o_req_t *req)
{
    return req->scheme == &H2O_URL_SCHEME_HTTPS || server.published_over_tls;
}

/* Every answer, API and page alike, unless its handler set its own (a page's
 * CSP allows its stylesheet): not sniffed, not framed, no referrer, and HSTS
 * over TLS. */
static void secure_defaults(h2o_req_t *req)
{
    header_default(req, H2O_STRLIT("x-content-type-options"), H2O_STRLIT("nosniff"));
    header_default(req, H2O_STRLIT("content-security-policy"),
                   H2O_STRLIT("default-src 'none'; frame-ancestors 'none'"));
    header_default(req, H2O_STRLIT("referrer-policy"), H2O_STRLIT("no-referrer"));
    if (reached_over_tls(req))
        header_default(req, H2O_STRLIT("strict-transport-security"), H2O_STRLIT("max-age=31536000"));
}

static void send_body(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len, int replayed)
{
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    if (h2o_find_header(&req->res.headers, H2O_TOKEN_CACHE_CONTROL, -1) == -1) /* a handler may allow caching */
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    if (replayed)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("idempotent-replayed"), 0, NULL,
                              H2O_STRLIT("true"));
    secure_defaults(req);
    /* Without a content length h2o closes HTTP/1.1 connections after any
     * non-200 answer (H2O-NOTES.md). */
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

static const char JSON_TYPE[] = "application/json; charset=utf-8";

/* The API's error body: {"error":{"type":…,"code":…,"message":…}}. */
static void error_json(fg_buf_t *b, const char *type, const char *code, const char *message)
{
    fg_buf_puts(b, "{\"error\":{");
    fg_json_kv_str(b, 0, "type", type);
    fg_json_kv_str(b, 1, "code", code);
    fg_json_kv_str(b, 1, "message", message);
    fg_buf_puts(b, "}}");
}

static void send_error(h2o_req_t *req, int status, const char *type, const char *code, const char *message)
{
    fg_buf_t b = FG_BUF_INIT;
    error_json(&b, type, code, message);
    send_body(req, status, JSON_TYPE, b.data, b.len, 0);
    fg_buf_free(&b);
}

/* ---- h2o's own answers in the API's shape ------------------------------- */

/* h2o answers some requests itself before any handler runs, in text/plain: a
 * body over the largest limit (413), a request it cannot parse, an unknown
 * Expect (417).  Those answers run through the host's fallback path, and this
 * filter there swaps their body for the API's JSON error and adds the
 * security headers every answer carries. */
typedef struct {
    h2o_ostream_t super;
    h2o_iovec_t body;
} json_error_ostream_t;

static void json_error_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                            h2o_send_state_t state)
{
    (void)bufs;
    json_error_ostream_t *os = (json_error_ostream_t *)self;
    /* the original body is dropped; ours goes with the last call (none for HEAD) */
    if (h2o_send_state_is_in_progress(state) || bufcnt == 0 || state == H2O_SEND_STATE_ERROR)
        h2o_ostream_send_next(self, req, NULL, 0, state);
    else
        h2o_ostream_send_next(self, req, &os->body, 1, state);
}

static void json_error_code(int status, const char **type, const char **code, const char **message)
{
    *type = status >= 500 ? "internal" : "invalid_request";
    switch (status) {
    case 404: *type = "not_found", *code = "route_not_found", *message = "no such route"; break;
    case 413: *code = "body_too_large", *message = "the request body is larger than allowed"; break;
    case 417:
        *code = "expectation_failed", *message = "the Expect header names an expectation the server does not meet";
        break;
    default:
        *code = status >= 500 ? "internal_error" : "malformed_request";
        *message = status >= 500 ? "the server could not answer" : "the request could not be read";
        break;
    }
}

static void json_error_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    if (req->res.status >= 400) {
        const char *type, *code, *message;
        json_error_code(req->res.status, &type, &code, &message);
        fg_buf_t b = FG_BUF_INIT;
        error_json(&b, type, code, message);
        json_error_ostream_t *os = (json_error_ostream_t *)h2o_add_ostream(req, sizeof(*os), slot);
        os->super.do_send = json_error_send;
        os->body = h2o_strdup(&req->pool, b.data, b.len);
        fg_buf_free(&b);
        slot = &os->super.next;
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT(JSON_TYPE), 1);
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, H2O_STRLIT("no-store"), 1);
        secure_defaults(req);
        req->res.content_length = os->body.len;
    }
    h2o_setup_next_ostream(req, slot);
}

/* The access line goes to stdout, apart from the operational lines on
 * stderr.  The path is logged without its query: VNPay's IPN carries the
 * whole signed notification there. */
static void log_request(h2o_req_t *req, const char *route, int status, int64_t duration_us)
{
    if (!server.cfg->log_requests)
        return;
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_INFO, "request");
    fg_log_strn(&l, "method", req->method.base, req->method.len);
    fg_log_strn(&l, "path", req->path.base, path_len);
    fg_log_str(&l, "route", route);
    fg_log_int(&l, "status", status);
    fg_log_int(&l, "duration_us", duration_us);
    fg_log_int(&l, "http", req->version >= 0x200 ? 2 : 1);
    fg_log_end_to(&l, STDOUT_FILENO);
}

/* The API routes fg_server_run was given (services/api/routes.c). */
static const fg_route_t *routes;

/* The routes answered several at once: one kind of pool batch per handler,
 * and each route's kind (NULL: one at a time). */
#define MANY_KINDS_MAX 8
typedef struct {
    fg_job_batch_t batch;
    fg_many_fn many;
} many_kind_t;
static many_kind_t many_kinds[MANY_KINDS_MAX];
static fg_job_batch_t *route_batch[FG_METRICS_ROUTES_MAX];

static void run_many(const fg_job_batch_t *batch, fg_job_t **jobs, int n, fg_db_t *db)
{
    const many_kind_t *kind = H2O_STRUCT_FROM_MEMBER(many_kind_t, batch, batch);
    fg_call_t *calls[FG_POOL_BATCH_MAX];
    for (int i = 0; i < n; i++)
        calls[i] = (fg_call_t *)jobs[i]; /* the job is the call's first member */
    fg_call_run_many(kind->many, calls, n, db);
}

/* Gives each route answered several at once its kind of batch. */
static int many_setup(const fg_route_many_t *many, char *err, size_t cap)
{
    for (int k = 0; many != NULL && many[k].handler != NULL; k++) {
        if (k == MANY_KINDS_MAX || many[k].max < 2 || many[k].max > FG_POOL_BATCH_MAX || many[k].leaders < 1) {
            snprintf(err, cap, "batched route %d: at most %d kinds, each of 2 to %d calls, one leader or more", k,
                     MANY_KINDS_MAX, FG_POOL_BATCH_MAX);
            return -1;
        }
        many_kinds[k] = (many_kind_t){{run_many, many[k].max, many[k].leaders, 0}, many[k].many};
        for (int i = 0; i < route_api_count; i++) {
            if (routes[i].handler != many[k].handler)
                continue;
            route_batch[i] = &many_kinds[k].batch;
        }
    }
    return 0;
}

static const char *route_name(int index)
{
    static const char *const extra[ROUTE_EXTRA_COUNT] = {"healthz", "readyz", "metrics", "not_found", "malformed"};
    if (index < route_api_count)
        return routes[index].name;
    return extra[index - route_api_count];
}

static void finish(h2o_req_t *req, int route_index, int64_t start_us, int status)
{
    int64_t duration = monotonic_us() - start_us;
    fg_metrics_observe(route_index, status, duration);
    log_request(req, route_name(route_index), status, duration);
}

/* ---- calls: loop side ---------------------------------------------------- */

static void on_req_dispose(void *p)
{
    req_ref_t *ref = p;
    if (ref->link != NULL)
        ref->link->req = NULL;
}

static void on_call_done(fg_job_t *job)
{
    fg_call_t *call = (fg_call_t *)job;
    call_link_t *link = call->server_private;
    link->loop->inflight--;
    if (link->req != NULL) {
        h2o_req_t *req = link->req;
        link->req = NULL; /* detach before sending: the send may dispose the request */
        link->ref->link = NULL;
        add_headers(req, &call->response_headers);
        send_body(req, call->status, call->content_type != NULL ? call->content_type : JSON_TYPE,
                  call->response.data != NULL ? call->response.data : "", call->response.len, call->replayed);
        finish(req, link->route_index, link->start_us, call->status);
    }
    free(link);
    fg_call_free(call);
}

static const fg_route_t *match_route(h2o_iovec_t method, const char *path, size_t path_len, fg_call_t *params,
                                     int *index, int *method_mismatch)
{
    *method_mismatch = 0;
    for (int r = 0; routes[r].method != NULL; r++) {
        const char *p = routes[r].pattern, *s = path, *end = path + path_len;
        int nparams = 0, ok = 1;
        while (*p != '\0' && ok) {
            if (p[0] == '{' && p[1] == '}') {
                const char *seg = s;
                while (s < end && *s != '/')
                    s++;
                if (s == seg || nparams >= FG_PATH_PARAMS_MAX) {
                    ok = 0;
                    break;
                }
                if (params != NULL) {
                    params->params[nparams] = (char *)seg;
                    params->param_lens[nparams] = (size_t)(s - seg);
                }
                nparams++;
                p += 2;
            } else if (s < end && *p == *s) {
                p++;
                s++;
            } else {
                ok = 0;
            }
        }
        if (!ok || s != end)
            continue;
        if (!h2o_memis(method.base, method.len, routes[r].method, strlen(routes[r].method))) {
            *method_mismatch = 1;
            continue;
        }
        *index = r;
        return &routes[r];
    }
    return NULL;
}

static int header_copy(h2o_req_t *req, const h2o_token_t *token, char **out, size_t *out_len)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    if (i == -1)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    *out = fg_strndup(v.base, v.len);
    if (out_len != NULL)
        *out_len = v.len;
    return 1;
}

static int start_call(h2o_req_t *req, loop_t *loop, const fg_route_t *route, int route_index, const char *path,
                      size_t path_len, int64_t start_us)
{
    size_t body_max = route->body_max != 0 ? route->body_max : FG_BODY_MAX;
    if (req->entity.len > body_max) {
        send_error(req, 413, "invalid_request", "body_too_large", "the request body is larger than allowed");
        finish(req, route_index, start_us, 413);
        return 0;
    }
    fg_call_t *call = fg_calloc(1, sizeof(*call));
    call->route = route;
    call->cfg = server.cfg;
    call->path = fg_strndup(path, path_len);
    int m;
    int idx;
    match_route(req->method, call->path, path_len, call, &idx, &m); /* params now point into call->path */
    for (int i = 0; i < FG_PATH_PARAMS_MAX; i++)
        if (call->params[i] != NULL)
            call->params[i] = fg_strndup(call->params[i], call->param_lens[i]);
    if (req->entity.base != NULL) {
        /* bytes, not a string: a spreadsheet holds NULs (the copy stays NUL-ended for parsers) */
        call->body = fg_malloc(req->entity.len + 1);
        memcpy(call->body, req->entity.base, req->entity.len);
        call->body[req->entity.len] = '\0';
        call->body_len = req->entity.len;
    }
    call->method = fg_strndup(req->method.base, req->method.len);
    call->is_tls = reached_over_tls(req);
    peer_address(req, call->peer, sizeof(call->peer));
    if (req->query_at != SIZE_MAX) {
        call->query_raw = fg_strndup(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
        fg_call_parse_query(call, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    }
    /* An HTTP/2 browser sends each cookie as a header of its own, and h2o
     * 2.2.5 leaves them apart: they are joined into one with "; " (RFC 7540
     * §8.1.2.5), so that a cookie after the first is found. */
    fg_buf_t cookies = FG_BUF_INIT;
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("cookie"))) {
            if (cookies.len > 0)
                fg_buf_puts(&cookies, "; ");
            fg_buf_append(&cookies, h->value.base, h->value.len);
            continue;
        }
        for (size_t k = 0; k < h->name->len; k++)
            fg_buf_putc(&call->headers, (char)h2o_tolower(h->name->base[k]));
        fg_buf_puts(&call->headers, ": ");
        fg_buf_append(&call->headers, h->value.base, h->value.len);
        fg_buf_putc(&call->headers, '\n');
    }
    if (cookies.len > 0) {
        fg_buf_puts(&call->headers, "cookie: ");
        fg_buf_append(&call->headers, cookies.data, cookies.len);
        fg_buf_putc(&call->headers, '\n');
    }
    fg_buf_free(&cookies);
    header_copy(req, H2O_TOKEN_AUTHORIZATION, &call->authorization, NULL);
    ssize_t ik = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (ik != -1) {
        h2o_iovec_t v = req->headers.entries[ik].value;
        call->idem_key = fg_strndup(v.base, v.len);
        call->idem_key_len = v.len;
    }
    call_link_t *link = fg_calloc(1, sizeof(*link));
    link->req = req;
    link->loop = loop;
    link->route_index = route_index;
    link->start_us = start_us;
    call->server_private = link;
    req_ref_t *ref = h2o_mem_alloc_shared(&req->pool, sizeof(*ref), on_req_dispose);
    ref->link = link;
    link->ref = ref;
    call->job.run = fg_call_run;
    call->job.done = on_call_done;
    call->job.batch = route_batch[route_index];
    call->job.receiver = &loop->db_receiver;
    if (fg_pool_submit(server.pool, &call->job) != 0) {
        ref->link = NULL;
        free(link);
        fg_call_free(call);
        send_error(req, 503, "unavailable", "overloaded", "the server is overloaded; retry shortly");
        finish(req, route_index, start_us, 503);
        return 0;
    }
    loop->inflight++;
    return 0;
}

/* ---- readiness: one ping through the pool -------------------------------- */

/* A ping's answer serves the /readyz of the next second (a balancer probes
 * every few seconds; a flood of probes must not become a flood of pings). */
#define READY_CACHE_MS 1000

typedef struct {
    fg_job_t job;
    call_link_t *link;
    int ok;
} ready_job_t;

static void ready_run(fg_job_t *job, fg_db_t *db)
{
    ready_job_t *r = (ready_job_t *)job;
    r->ok = db != NULL && fg_db_ping(db) == 0;
}

static void ready_done(fg_job_t *job)
{
    ready_job_t *r = (ready_job_t *)job;
    r->link->loop->inflight--;
    pthread_mutex_lock(&readiness.mutex);
    if (r->link->start_us / 1000 >= readiness.began_ms) {
        readiness.ok = r->ok;
        readiness.began_ms = r->link->start_us / 1000;
        readiness.answered_ms = monotonic_us() / 1000;
    }
    pthread_mutex_unlock(&readiness.mutex);
    h2o_req_t *req = r->link->req;
    if (req != NULL) {
        r->link->req = NULL;
        r->link->ref->link = NULL;
        if (r->ok)
            send_body(req, 200, JSON_TYPE, H2O_STRLIT("{\"status\":\"ready\"}"), 0);
        else
            send_error(req, 503, "unavailable", "database_unavailable", "the database does not answer");
        finish(req, r->link->route_index, r->link->start_us, r->ok ? 200 : 503);
    }
    free(r->link);
    free(r);
}

static void start_readyz(h2o_req_t *req, loop_t *loop, int64_t start_us)
{
    ready_job_t *r = fg_calloc(1, sizeof(*r));
    r->link = fg_calloc(1, sizeof(call_link_t));
    r->link->req = req;
    r->link->loop = loop;
    r->link->route_index = route_api_count + ROUTE_READYZ;
    r->link->start_us = start_us;
    req_ref_t *ref = h2o_mem_alloc_shared(&req->pool, sizeof(*ref), on_req_dispose);
    ref->link = r->link;
    r->link->ref = ref;
    r->job.run = ready_run;
    r->job.done = ready_done;
    r->job.receiver = &loop->db_receiver;
    if (fg_pool_submit(server.pool, &r->job) != 0) {
        ref->link = NULL;
        free(r->link);
        free(r);
        send_error(req, 503, "unavailable", "overloaded", "the server is overloaded");
        finish(req, route_api_count + ROUTE_READYZ, start_us, 503);
        return;
    }
    loop->inflight++;
}

/* ---- the one h2o handler ------------------------------------------------- */

static __thread loop_t *current_loop;

/* An HTTP/1 request whose head two readers could split differently is
 * refused with 400 and its connection closed, so that no byte after it runs
 * as a request (http1_head.c).  h2o keeps the head at the start of the
 * connection's input until the answer is sent. */
static int http1_head_refused(h2o_req_t *req, int64_t start_us)
{
    if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL)
        return 0;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || sock->input == NULL)
        return 0;
    const char *why = NULL;
    if (fg_http1_head_check(sock->input->bytes, sock->input->size, &why) == 0)
        return 0;
    req->http1_is_persistent = 0;
    send_error(req, 400, "invalid_request", "malformed_request", why);
    finish(req, route_api_count + ROUTE_MALFORMED, start_us, 400);
    return 1;
}

/* ---- rate limits (http/ratelimit.h) -------------------------------------- */

/* Public routes limited by address, apart from the providers' notifications
 * (limited only when refused: fg_limits_rejected_*) and static files. */
static int address_limited(const fg_route_t *route)
{
    return route->auth == FG_AUTH_NONE && strncmp(route->name, "webhooks.", 9) != 0 &&
           strcmp(route->name, "web.asset") != 0 && strcmp(route->name, "staff.css") != 0 &&
           strcmp(route->name, "exports.jwks") != 0;
}

static void send_rate_limited(h2o_req_t *req, int64_t wait_s)
{
    char seconds[24];
    int n = snprintf(seconds, sizeof(seconds), "%lld", (long long)wait_s);
    h2o_iovec_t v = h2o_strdup(&req->pool, seconds, (size_t)n);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, v.base, v.len);
    if (h2o_memis(req->path.base, req->path.len < 4 ? req->path.len : 4, H2O_STRLIT("/v1/")) ||
        h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1) != -1) {
        send_error(req, 429, "rate_limited", "rate_limited", "too many requests; retry after the Retry-After seconds");
        return;
    }
    static const char PAGE[] = "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\">"
                               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                               "<title>Quá nhiều yêu cầu / Too many requests</title>"
                               "<h1>Quá nhiều yêu cầu</h1><p>Vui lòng đợi một chút rồi thử lại.</p>"
                               "<h1 lang=\"en\">Too many requests</h1><p lang=\"en\">Please wait a moment, then try "
                               "again.</p></html>";
    send_body(req, 429, "text/html; charset=utf-8", PAGE, sizeof(PAGE) - 1, 0);
}

/* 429 with Retry-After (and 1 returned) when the request's bucket is empty:
 * a public route's by its client address, an authenticated one's by the
 * credential it carries. */
static int rate_limited(h2o_req_t *req, const fg_route_t *route, int index, int64_t start_us)
{
    int64_t wait;
    if (address_limited(route)) {
        char peer[48], bucket[64];
        peer_address(req, peer, sizeof(peer));
        size_t n = fg_ratelimit_address_key(peer, bucket, sizeof(bucket));
        wait = fg_ratelimit_take(server.by_address, bucket, n, fg_now_ms());
    } else if (route->auth != FG_AUTH_NONE && server.by_key != NULL) {
        ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
        if (i == -1)
            return 0; /* 401 without a database round trip */
        h2o_iovec_t v = req->headers.entries[i].value;
        /* the credential, not its spelling: "bearer K", "Bearer K" and "Bearer   K" share a
         * bucket (authentication skips the spaces before the key, auth.c) */
        if (v.len > 7 && strncasecmp(v.base, "Bearer ", 7) == 0)
            v = h2o_iovec_init(v.base + 7, v.len - 7);
        while (v.len > 0 && v.base[0] == ' ')
            v = h2o_iovec_init(v.base + 1, v.len - 1);
        wait = fg_ratelimit_take(server.by_key, v.base, v.len, fg_now_ms());
    } else {
        return 0;
    }
    if (wait == 0)
        return 0;
    send_rate_limited(req, wait);
    finish(req, index, start_us, 429);
    return 1;
}

int64_t fg_limits_rejected_wait(const fg_call_t *call)
{
    char bucket[64];
    size_t n = fg_ratelimit_address_key(call->peer, bucket, sizeof(bucket));
    return fg_ratelimit_wait(server.rejected, bucket, n, fg_now_ms());
}

void fg_limits_rejected_charge(const fg_call_t *call)
{
    char bucket[64];
    size_t n = fg_ratelimit_address_key(call->peer, bucket, sizeof(bucket));
    fg_ratelimit_charge(server.rejected, bucket, n, fg_now_ms());
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    loop_t *loop = current_loop;
    int64_t start_us = monotonic_us();
    if (http1_head_refused(req, start_us))
        return 0;
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *path = req->path.base;
    int is_get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));

    if (is_get && h2o_memis(path, path_len, H2O_STRLIT("/healthz"))) {
        send_body(req, 200, JSON_TYPE, H2O_STRLIT("{\"status\":\"ok\"}"), 0);
        finish(req, route_api_count + ROUTE_HEALTHZ, start_us, 200);
        return 0;
    }
    if (is_get && h2o_memis(path, path_len, H2O_STRLIT("/readyz"))) {
        pthread_mutex_lock(&readiness.mutex);
        int cached = readiness.answered_ms != 0 && start_us / 1000 - readiness.answered_ms < READY_CACHE_MS,
            ok = readiness.ok;
        pthread_mutex_unlock(&readiness.mutex);
        if (cached) {
            if (ok)
                send_body(req, 200, JSON_TYPE, H2O_STRLIT("{\"status\":\"ready\"}"), 0);
            else
                send_error(req, 503, "unavailable", "database_unavailable", "the database does not answer");
            finish(req, route_api_count + ROUTE_READYZ, start_us, ok ? 200 : 503);
            return 0;
        }
        start_readyz(req, loop, start_us);
        return 0;
    }
    int index = -1, method_mismatch = 0;
    const fg_route_t *route = match_route(req->method, path, path_len, NULL, &index, &method_mismatch);
    if (route == NULL) {
        int status = method_mismatch ? 405 : 404;
        send_error(req, status, method_mismatch ? "invalid_request" : "not_found",
                   method_mismatch ? "method_not_allowed" : "route_not_found",
                   method_mismatch ? "this method is not allowed on this path" : "no such route");
        finish(req, route_api_count + ROUTE_NOT_FOUND, start_us, status);
        return 0;
    }
    if (rate_limited(req, route, index, start_us))
        return 0;
    return start_call(req, loop, route, index, path, path_len, start_us);
}

/* The metrics listener's handler: GET /metrics, nothing else. */
static int on_metrics_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    int64_t start_us = monotonic_us();
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    if (!h2o_memis(req->path.base, path_len, H2O_STRLIT("/metrics"))) {
        send_error(req, 404, "not_found", "route_not_found", "this address serves GET /metrics only");
        finish(req, route_api_count + ROUTE_NOT_FOUND, start_us, 404);
        return 0;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        send_error(req, 405, "invalid_request", "method_not_allowed", "this method is not allowed on this path");
        finish(req, route_api_count + ROUTE_METRICS, start_us, 405);
        return 0;
    }
    fg_buf_t b = FG_BUF_INIT;
    fg_metrics_render(&b, server.pool);
    send_body(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, 0);
    fg_buf_free(&b);
    finish(req, route_api_count + ROUTE_METRICS, start_us, 200);
    return 0;
}

/* ---- listeners and loops ------------------------------------------------- */

static void on_socket_close(void *data)
{
    conn_t *conn = data;
    atomic_fetch_sub(&server.connections, 1);
    h2o_linklist_unlink(&conn->link);
    free(conn);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    h2o_socket_t *sock;
    if (err != NULL || (sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    loop_t *loop = current_loop;
    /* beyond http.max_connections a new connection is closed at once: slow
     * clients cannot hold every descriptor */
    if (atomic_load(&server.connections) >= server.cfg->http_max_connections) {
        h2o_socket_close(sock);
        return;
    }
    conn_t *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        h2o_socket_close(sock);
        return;
    }
    atomic_fetch_add(&server.connections, 1);
    conn->sock = sock;
    h2o_linklist_insert(&loop->sockets, &conn->link);
    sock->on_close.cb = on_socket_close;
    sock->on_close.data = conn;
    h2o_accept(listener->data, sock);
}

static int resolve(const char *listen, struct addrinfo **out, char *err, size_t cap)
{
    char host[256];
    int port;
    if (fg_config_split_listen(listen, host, sizeof(host), &port) != 0) {
        snprintf(err, cap, "bad listen address \"%s\"", listen);
        return -1;
    }
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    int rc = getaddrinfo(host[0] != '\0' ? host : NULL, service, &hints, out);
    if (rc != 0) {
        snprintf(err, cap, "cannot resolve \"%s\": %s", listen, gai_strerror(rc));
        return -1;
    }
    return 0;
}

static int open_listener(const struct addrinfo *ai, char *err, size_t cap)
{
    int fd, on = 1;
    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        snprintf(err, cap, "cannot listen: %s", strerror(errno));
        if (fd != -1)
            close(fd);
        return -1;
    }
    return fd;
}

/* Every listener sets SO_REUSEPORT, one per loop, and the kernel lets any
 * other socket with it join the port: a second `feegate serve` on an
 * address in use (an old binary, a staging config) would start without a
 * word and take part of the traffic.  A socket bound without SO_REUSEPORT
 * is refused (EADDRINUSE) while anything listens there, so one is bound and
 * closed first.  SO_REUSEADDR keeps connections of a previous run in
 * TIME_WAIT from refusing it.  0, or -1 with err naming the listener. */
static int probe_address(const char *key, const char *listen, const struct addrinfo *ai, char *err, size_t cap)
{
    int fd, on = 1, rc = 0;
    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno == EADDRINUSE)
            snprintf(err, cap,
                     "%s \"%s\": the address is in use (another feegate serve, or another program, listens "
                     "there)",
                     key, listen);
        else
            snprintf(err, cap, "%s \"%s\": cannot listen: %s", key, listen, strerror(errno));
        rc = -1;
    }
    if (fd != -1)
        close(fd);
    return rc;
}

/* A new TLS context for a loop's HTTPS listener (SIGHUP): the message holds
 * one reference for the loop. */
typedef struct {
    h2o_multithread_message_t super;
    SSL_CTX *ssl_ctx;
} tls_message_t;

/* The loop takes the new context for connections accepted from now on; the
 * ones already open keep theirs (each SSL holds a reference to its context),
 * so nothing is dropped. */
static void take_tls(loop_t *loop, tls_message_t *m)
{
    SSL_CTX *old = loop->accept[LISTEN_HTTPS].ssl_ctx;
    loop->accept[LISTEN_HTTPS].ssl_ctx = m->ssl_ctx;
    SSL_CTX_free(old);
    free(m);
}

static void on_control(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    loop_t *loop = H2O_STRUCT_FROM_MEMBER(loop_t, control_receiver, receiver);
    int stop = 0;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        if (m == &loop->stop_message)
            stop = 1;
        else
            take_tls(loop, (tls_message_t *)m);
    }
    if (!stop || loop->stopping)
        return;
    loop->stopping = 1;
    for (int k = 0; k < LISTEN_KINDS; k++)
        if (loop->listeners[k] != NULL) {
            h2o_socket_read_stop(loop->listeners[k]);
            h2o_socket_close(loop->listeners[k]);
            loop->listeners[k] = NULL;
        }
    h2o_context_request_shutdown(&loop->ctx);
    /* libh2o 2.2.5 sends HTTP/2's final GOAWAY a second after the first;
     * from then on it drops the DATA frames of the streams it still serves,
     * and it closes the connection as soon as none of them is sending an
     * answer, with the answer's last bytes possibly still unwritten: that
     * cuts requests whose bodies were still arriving, those a handler was
     * still working on, and large answers to slow readers.  Its timer is
     * held here (the first GOAWAY has told clients to open no more streams),
     * and drain lets it run once the loop is idle: then it only closes
     * HTTP/2 connections that have nothing left to do. */
    h2o_timeout_entry_t *goaway = &loop->ctx.http2._graceful_shutdown_timeout;
    if (h2o_timeout_is_linked(goaway)) {
        h2o_timeout_unlink(goaway);
        loop->goaway_held = 1;
    }
}

/* An HTTP/1.1 request is being received from its first byte until the whole
 * of it is in and h2o hands it to a handler (processed_at). */
static int count_receiving_http1(h2o_req_t *req, void *arg)
{
    if (req->timestamps.request_begin_at.tv_sec != 0 && h2o_timeval_is_null(&req->processed_at.at))
        ++*(int *)arg;
    return 0;
}

/* An HTTP/2 stream not yet wholly answered (response_end_at): its request
 * still arriving, with a handler, or its answer being sent.  Every stream
 * h2o lists has had its HEADERS. */
static int count_unanswered_http2(h2o_req_t *req, void *arg)
{
    if (h2o_timeval_is_null(&req->timestamps.response_end_at))
        ++*(int *)arg;
    return 0;
}

/* Whether the loop has a request h2o still holds unfinished: an HTTP/1.1
 * one being received, an HTTP/2 stream not wholly answered. */
static int requests_unfinished(loop_t *loop)
{
    int n = 0;
    server.globalconf.http1.callbacks.foreach_request(&loop->ctx, count_receiving_http1, &n);
    server.globalconf.http2.callbacks.foreach_request(&loop->ctx, count_unanswered_http2, &n);
    return n > 0;
}

/* Stops gracefully: waits (up to DRAIN_DEADLINE_MS) for in-flight requests
 * and for the ones still being received (a slow client's body) until every
 * request is answered and written, then (DRAIN_FLUSH_MS apart) sends
 * HTTP/2's final GOAWAY and shuts down the sockets of the connections that
 * stay open so that h2o closes them through its own paths; the flush window
 * starts over whenever anything is in flight again.  Returns 1 when every
 * connection is gone and every job has come back (the context may be
 * disposed), 0 otherwise. */
static int drain(loop_t *loop)
{
    int64_t deadline = monotonic_us() + (int64_t)DRAIN_DEADLINE_MS * 1000, idle_since = 0;
    int shut = 0;
    for (;;) {
        int64_t now = monotonic_us();
        /* a request whose client has gone still has its job on a database
         * worker: its answer comes back through this loop's receiver, which
         * disposing would unregister and free under it */
        if (h2o_linklist_is_empty(&loop->sockets) && loop->inflight == 0)
            return 1;
        int writing = 0;
        for (h2o_linklist_t *l = loop->sockets.next; l != &loop->sockets && !writing; l = l->next)
            writing = h2o_socket_is_writing(H2O_STRUCT_FROM_MEMBER(conn_t, link, l)->sock);
        if (loop->inflight == 0 && !writing && !requests_unfinished(loop)) {
            if (idle_since == 0)
                idle_since = now;
            if (now - idle_since > (int64_t)DRAIN_FLUSH_MS * 1000) {
                if (shut)
                    return 0;
                if (loop->goaway_held) {
                    /* h2o sends it and closes each HTTP/2 connection, none
                     * with anything left to send or read */
                    loop->goaway_held = 0;
                    h2o_timeout_link(loop->ctx.loop, &loop->ctx.zero_timeout,
                                     &loop->ctx.http2._graceful_shutdown_timeout);
                } else {
                    for (h2o_linklist_t *l = loop->sockets.next; l != &loop->sockets; l = l->next) {
                        conn_t *conn = H2O_STRUCT_FROM_MEMBER(conn_t, link, l);
                        shutdown(h2o_socket_get_fd(conn->sock), SHUT_RDWR);
                    }
                    shut = 1;
                }
                idle_since = now;
            }
        } else {
            idle_since = 0;
        }
        if (now > deadline)
            return 0;
        h2o_evloop_run(loop->ctx.loop, 10);
    }
}

static int loop_init(loop_t *loop, char *err, size_t cap);
static void loop_dispose(loop_t *loop);

/* Everything h2o of a loop is created, run and disposed on the loop's own
 * thread: libh2o 2.2.5 keeps its buffer recycling lists in thread-local
 * storage and every buffer remembers the list of the thread that made it, so
 * a context initialised on the main thread would have both loops recycling
 * into the main thread's list at once (a heap-corrupting race). */
static void *loop_main(void *arg)
{
    loop_t *loop = arg;
    char err[512] = "";
    current_loop = loop;
    int rc = loop_init(loop, err, sizeof(err));
    pthread_mutex_lock(&server.start_mutex);
    if (rc != 0) {
        snprintf(server.start_error, sizeof(server.start_error), "%s", err);
        server.start_failed = 1;
    }
    server.started++;
    pthread_cond_broadcast(&server.start_cond);
    while (server.started < server.loop_count)
        pthread_cond_wait(&server.start_cond, &server.start_mutex);
    int failed = server.start_failed;
    pthread_mutex_unlock(&server.start_mutex);
    if (!failed) {
        while (!loop->stopping)
            h2o_evloop_run(loop->ctx.loop, INT32_MAX);
        if (!drain(loop)) {
            /* a connection h2o would not close, or a job still on a worker:
             * disposing would abort, or free what the job's answer needs */
            fg_log_t l;
            fg_log_begin(&l, FG_LOG_WARN, "connections or requests still open at exit");
            fg_log_int(&l, "loop", loop->index);
            fg_log_int(&l, "requests", loop->inflight);
            fg_log_end(&l);
            return NULL;
        }
    }
    loop_dispose(loop);
    return NULL;
}

static int loop_init(loop_t *loop, char *err, size_t cap)
{
    h2o_linklist_init_anchor(&loop->sockets);
    h2o_context_init(&loop->ctx, h2o_evloop_create(), &server.globalconf);
    h2o_multithread_register_receiver(loop->ctx.queue, &loop->db_receiver, fg_pool_on_done);
    h2o_multithread_register_receiver(loop->ctx.queue, &loop->control_receiver, on_control);
    for (int k = 0; k < LISTEN_KINDS; k++) {
        loop->accept[k].ctx = &loop->ctx;
        loop->accept[k].hosts = k == LISTEN_METRICS ? server.hosts_metrics : server.hosts_public;
        loop->accept[k].ssl_ctx = NULL;
        if (k == LISTEN_HTTPS && server.ssl_ctx != NULL) {
            SSL_CTX_up_ref(server.ssl_ctx); /* the loop's own reference (take_tls) */
            loop->accept[k].ssl_ctx = server.ssl_ctx;
        }
        if (server.addrs[k] == NULL)
            continue;
        int fd = open_listener(server.addrs[k], err, cap);
        if (fd == -1)
            return -1; /* loop_dispose still runs on this thread */
        loop->listeners[k] = h2o_evloop_socket_create(loop->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
        loop->listeners[k]->data = &loop->accept[k];
        h2o_socket_read_start(loop->listeners[k], on_accept);
    }
    return 0;
}

static void loop_dispose(loop_t *loop)
{
    h2o_multithread_unregister_receiver(loop->ctx.queue, &loop->db_receiver);
    h2o_multithread_unregister_receiver(loop->ctx.queue, &loop->control_receiver);
    h2o_evloop_t *evloop = loop->ctx.loop;
    /* request_shutdown arms this timer even when every connection is gone */
    if (h2o_timeout_is_linked(&loop->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&loop->ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&loop->ctx);
    h2o_evloop_destroy(evloop);
    SSL_CTX_free(loop->accept[LISTEN_HTTPS].ssl_ctx); /* the loop's reference; NULL is a no-op */
    loop->accept[LISTEN_HTTPS].ssl_ctx = NULL;
}

/* ---- background work ----------------------------------------------------- */

/* Idempotency keys deleted per sweep statement: short deletes, short locks. */
#define IDEM_SWEEP_BATCH 1000

/* Settle points (db/settle.h), one queue for the process: ledger entries for
 * the balance checkpoints, events for the webhook fan-out's gaps. */
enum { SETTLE_ENTRIES, SETTLE_EVENTS, SETTLE_MARKS };
static fg_settle_shared_t settle = FG_SETTLE_SHARED_INIT(
    "SELECT (SELECT COALESCE(MAX(id), 0) FROM ledger_entries), (SELECT COALESCE(MAX(id), 0) FROM events)",
    SETTLE_MARKS);

/* Statement lines claimed per matching round, and how long one sweep keeps
 * matching while rounds come full. */
#define RECON_MATCH_BATCH 200
#define RECON_MATCH_BUDGET_MS 1000

/* Folds of the outstanding sums per sweeper round, FG_OWED_FOLD_BATCH changes each. */
#define OWED_FOLDS_PER_ROUND 20

/* Rejected inbox rows are pruned every minute, at most 20 x 1000 a round. */
#define INBOX_PRUNE_INTERVAL_MS 60000
#define INBOX_PRUNE_BATCH 1000
#define INBOX_PRUNE_ROUNDS 20

static void *sweeper_main(void *arg)
{
    fg_db_t *db = NULL;
    char err[256];
    mysql_thread_init();
    if (fg_db_open(&db, server.cfg, err, sizeof(err)) != 0) {
        /* retried on every round by fg_db_ensure */
    }
    int64_t next_checkpoint_ms = 0, next_prune_ms = 0, settled[SETTLE_MARKS] = {0};
    fg_ledger_checkpointer_t checkpointer = {0};
    int checkpoint_warned = 0, rollup_warned = 0, owed_warned = 0;
    int64_t rolled_upto = 0; /* the rollups' watermark as this thread last saw it */
    while (!atomic_load(&server.sweeper_stop)) {
        fg_orders_sweep(db, server.cfg);
        /* statement lines against the ledger, shared by every instance
         * (recon/match.c): batch after batch while they come full, for at
         * most RECON_MATCH_BUDGET_MS, so that a day's statement of tens of
         * thousands of lines is matched in seconds and the sweep's other
         * duties still come round; with lines still waiting at the end of
         * the budget, the sweep does not sleep before the next */
        int match_backlog = 0;
        for (int64_t until = fg_now_ms() + RECON_MATCH_BUDGET_MS;
             fg_recon_match_round(db, server.cfg, RECON_MATCH_BATCH) == RECON_MATCH_BATCH;)
            if (fg_now_ms() >= until) {
                match_backlog = 1;
                break;
            }
        while (fg_idem_sweep(db, fg_now_ms(), IDEM_SWEEP_BATCH) == IDEM_SWEEP_BATCH)
            ;
        if (fg_now_ms() >= next_prune_ms) {
            /* rejected inbox rows and ended outbound deliveries (0037) past
             * their retention, a bounded batch at a time */
            static int (*const PRUNES[])(fg_db_t *, const fg_config_t *, int64_t, int) = {fg_inbox_prune,
                                                                                          fg_delivery_prune};
            for (size_t k = 0; k < sizeof(PRUNES) / sizeof(PRUNES[0]); k++)
                for (int i = 0; i < INBOX_PRUNE_ROUNDS &&
                                PRUNES[k](db, server.cfg, fg_now_ms(), INBOX_PRUNE_BATCH) == INBOX_PRUNE_BATCH;
                     i++)
                    ;
            next_prune_ms = fg_now_ms() + INBOX_PRUNE_INTERVAL_MS;
        }
        if (fg_now_ms() >= next_checkpoint_ms) {
            /* checkpoints only ever cover entries below a settled cut (a
             * failed settle round is logged by the settle module) */
            (void)!fg_settle_shared_poll(&settle, db, fg_now_ms(), settled);
            int rc = fg_ledger_checkpoint_round(db, &checkpointer, settled[SETTLE_ENTRIES], fg_now_ms());
            if (rc < 0 && !checkpoint_warned++)
                /* said once until a round works again: balances stay right meanwhile */
                fg_db_log_failure(db,
                                  "ledger checkpoint round failed; balances stay right, read from older checkpoints "
                                  "and more entries until one works",
                                  rc);
            else if (rc >= 0)
                checkpoint_warned = 0;
            next_checkpoint_ms = fg_now_ms() + server.cfg->ledger_checkpoint_interval_ms;
        }
        /* the report rollups follow the settled entries, a batch a round (reports/rollup.c) */
        if (settled[SETTLE_ENTRIES] > rolled_upto) {
            int rc = fg_report_rollup_round(db, settled[SETTLE_ENTRIES], FG_ROLLUP_BATCH, &rolled_upto);
            if (rc < 0 && !rollup_warned++)
                fg_db_log_failure(db, "report rollup round failed; reports stay right, reading more of the ledger", rc);
            else if (rc >= 0)
                rollup_warned = 0;
        }
        /* the outstanding report's sums take in what the orders' writers left
         * (reports/owed.c); a backlog is folded over several rounds, never past
         * the next checkpoint's time: the checkpoints share this thread */
        int64_t folded = 0;
        for (int i = 0; i < OWED_FOLDS_PER_ROUND && (i == 0 || fg_now_ms() < next_checkpoint_ms); i++) {
            int rc = fg_report_owed_fold(db, FG_OWED_FOLD_BATCH, &folded);
            if (rc < 0 && !owed_warned++)
                fg_db_log_failure(db, "outstanding sums fold failed; the report stays right, reading more changes", rc);
            else if (rc >= 0)
                owed_warned = 0;
            if (rc < 0 || folded < FG_OWED_FOLD_BATCH)
                break;
        }
        for (int64_t slept = 0;
             !match_backlog && slept < server.cfg->orders_sweep_interval_ms && !atomic_load(&server.sweeper_stop);
             slept += 10) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    fg_db_close(db);
    mysql_thread_end();
    return NULL;
}

/* ---- start and stop ------------------------------------------------------ */

static int setup(const fg_config_t *cfg, char *err, size_t cap)
{
    server.cfg = cfg;
    server.published_over_tls = strncmp(cfg->public_base_url, "https://", 8) == 0;
    server.proxy_count = fg_netmasks_parse(cfg->http_trusted_proxies, server.proxies, FG_NETMASKS_MAX);
    if (server.proxy_count < 0)
        server.proxy_count = 0; /* cannot happen: the configuration checked the list */
    h2o_config_init(&server.globalconf);
    /* the largest body any route takes (a statement file); each route's own
     * limit is checked in on_req */
    server.globalconf.max_request_entity_size = FG_BODY_LARGEST;
    server.globalconf.server_name = h2o_iovec_init(H2O_STRLIT("feegate"));
    server.globalconf.http1.req_timeout = (uint64_t)cfg->http_request_timeout_s * 1000;
    server.globalconf.http2.idle_timeout = (uint64_t)cfg->http_idle_timeout_s * 1000;
    server.globalconf.handshake_timeout = 10000; /* a TLS handshake that takes longer is a stuck client */
    server.by_address = fg_ratelimit_new(cfg->limits_address_per_minute, cfg->limits_address_burst, 65536);
    server.by_key = fg_ratelimit_new(cfg->limits_key_per_minute, cfg->limits_key_burst, 16384);
    server.rejected = fg_ratelimit_new(cfg->limits_rejected_per_minute, cfg->limits_rejected_burst, 16384);
    h2o_hostconf_t *host = h2o_config_register_host(&server.globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
    handler->on_req = on_req;
    h2o_filter_t *errors = h2o_create_filter(&host->fallback_path, sizeof(*errors));
    errors->on_setup_ostream = json_error_setup;
    server.hosts_public[0] = host;
    /* a host of its own, reached only through the metrics listener's accept
     * context: no Host header on the public ports can name it */
    h2o_hostconf_t *metrics = h2o_config_register_host(&server.globalconf, h2o_iovec_init(H2O_STRLIT("metrics")),
                                                       65535);
    h2o_handler_t *metrics_handler = h2o_create_handler(h2o_config_register_path(metrics, "/", 0),
                                                        sizeof(*metrics_handler));
    metrics_handler->on_req = on_metrics_req;
    errors = h2o_create_filter(&metrics->fallback_path, sizeof(*errors));
    errors->on_setup_ostream = json_error_setup;
    server.hosts_metrics[0] = metrics;

    static const char *names[FG_METRICS_ROUTES_MAX];
    route_api_count = 0;
    while (routes[route_api_count].method != NULL) {
        if (route_api_count + ROUTE_EXTRA_COUNT >= FG_METRICS_ROUTES_MAX) {
            snprintf(err, cap, "the route table outgrew FG_METRICS_ROUTES_MAX (%d)", FG_METRICS_ROUTES_MAX);
            return -1;
        }
        names[route_api_count] = routes[route_api_count].name, route_api_count++;
    }
    for (int i = 0; i < ROUTE_EXTRA_COUNT; i++)
        names[route_api_count + i] = route_name(route_api_count + i);
    fg_metrics_init(names, route_api_count + ROUTE_EXTRA_COUNT);
    if (many_setup(server.many, err, cap) != 0)
        return -1;

    if (cfg->http_listen[0] != '\0' && resolve(cfg->http_listen, &server.addrs[LISTEN_HTTP], err, cap) != 0)
        return -1;
    if (cfg->https_listen[0] != '\0') {
        if (resolve(cfg->https_listen, &server.addrs[LISTEN_HTTPS], err, cap) != 0)
            return -1;
        if ((server.ssl_ctx = fg_tls_create(cfg, err, cap)) == NULL)
            return -1;
    }
    if (cfg->metrics_listen[0] != '\0' && resolve(cfg->metrics_listen, &server.addrs[LISTEN_METRICS], err, cap) != 0)
        return -1;
    if (server.addrs[LISTEN_HTTP] == NULL && server.addrs[LISTEN_HTTPS] == NULL) {
        snprintf(err, cap, "http.listen and https.listen are both empty: nothing to serve");
        return -1;
    }
    const char *const keys[LISTEN_KINDS] = {"http.listen", "https.listen", "metrics.listen"};
    const char *const listens[LISTEN_KINDS] = {cfg->http_listen, cfg->https_listen, cfg->metrics_listen};
    for (int k = 0; k < LISTEN_KINDS; k++)
        if (server.addrs[k] != NULL && probe_address(keys[k], listens[k], server.addrs[k], err, cap) != 0)
            return -1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    server.loop_count = cfg->server_threads > 0 ? cfg->server_threads : (int)(cores > 0 ? cores : 1);
    if (server.loop_count > LOOPS_MAX)
        server.loop_count = LOOPS_MAX;
    return 0;
}

static void teardown(void)
{
    for (int k = 0; k < LISTEN_KINDS; k++)
        if (server.addrs[k] != NULL)
            freeaddrinfo(server.addrs[k]);
    if (server.ssl_ctx != NULL)
        SSL_CTX_free(server.ssl_ctx);
    fg_ratelimit_free(server.by_address);
    fg_ratelimit_free(server.by_key);
    fg_ratelimit_free(server.rejected);
    server.by_address = server.by_key = server.rejected = NULL;
    h2o_config_dispose(&server.globalconf);
}

/* A thread the server cannot run without did not start (the system is out
 * of threads or memory): said through the log, then start-up is undone. */
static void log_thread_failure(const char *thread, int rc)
{
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, "thread did not start");
    fg_log_str(&l, "thread", thread);
    fg_log_str(&l, "error", strerror(rc));
    fg_log_end(&l);
}

/* SIGHUP: https.cert and https.key are read again and every loop takes the
 * new context for the connections it accepts from then on; open connections
 * go on with the old one.  Files that do not load leave the old context in
 * place, said in the log. */
static void reload_tls(void)
{
    fg_log_t l;
    char err[512];
    if (server.ssl_ctx == NULL || server.cfg->https_cert[0] == '\0') {
        fg_log_begin(&l, FG_LOG_INFO, "SIGHUP: no https.cert configured, nothing to reload");
        fg_log_end(&l);
        return;
    }
    SSL_CTX *fresh = fg_tls_create(server.cfg, err, sizeof(err));
    if (fresh == NULL) {
        fg_log_begin(&l, FG_LOG_ERROR, "SIGHUP: certificate not reloaded; serving the previous one");
        fg_log_str(&l, "error", err);
        fg_log_end(&l);
        return;
    }
    for (int i = 0; i < server.loop_count; i++) {
        tls_message_t *m = fg_calloc(1, sizeof(*m));
        SSL_CTX_up_ref(fresh);
        m->ssl_ctx = fresh;
        h2o_multithread_send_message(&server.loops[i].control_receiver, &m->super);
    }
    SSL_CTX_free(server.ssl_ctx);
    server.ssl_ctx = fresh;
    fg_log_begin(&l, FG_LOG_INFO, "SIGHUP: certificate reloaded");
    fg_log_str(&l, "cert", server.cfg->https_cert);
    fg_log_end(&l);
}

/* SIGTERM and SIGINT are taken by sigwait() in fg_server_run, so no thread
 * may receive them: blocked here, before any thread exists, every thread
 * inherits the mask.  A client that hangs up must not kill the process
 * (SIGPIPE).  Without either, a SIGTERM would end the process at once instead
 * of draining it, so start-up stops.  Returns 0 or FG_EIO. */
static int block_signals(sigset_t *signals)
{
    sigemptyset(signals);
    sigaddset(signals, SIGTERM);
    sigaddset(signals, SIGINT);
    sigaddset(signals, SIGHUP);
    int rc = signal(SIGPIPE, SIG_IGN) == SIG_ERR ? errno : pthread_sigmask(SIG_BLOCK, signals, NULL);
    if (rc == 0)
        return 0;
    fg_log_t l;
    fg_log_begin(&l, FG_LOG_ERROR, "cannot set up signal handling");
    fg_log_str(&l, "error", strerror(rc));
    fg_log_end(&l);
    return FG_EIO;
}

/* Creates the loop threads and waits until each has initialised itself
 * (loop_main).  They serve only if every one could: when a thread cannot be
 * created, the ones already running are told to wait for no more and find
 * start_failed set.  Returns the number of threads created, each to be
 * joined (stop_loops). */
static int start_loops(void)
{
    int created = 0;
    while (created < server.loop_count) {
        loop_t *loop = &server.loops[created];
        loop->index = created;
        int rc = pthread_create(&loop->thread, NULL, loop_main, loop);
        if (rc != 0) {
            log_thread_failure("event loop", rc);
            pthread_mutex_lock(&server.start_mutex);
            server.start_failed = 1;
            server.loop_count = created;
            pthread_cond_broadcast(&server.start_cond);
            pthread_mutex_unlock(&server.start_mutex);
            break;
        }
        created++;
    }
    pthread_mutex_lock(&server.start_mutex);
    while (server.started < created)
        pthread_cond_wait(&server.start_cond, &server.start_mutex);
    pthread_mutex_unlock(&server.start_mutex);
    return created;
}

/* Loops that serve are told to stop and drain; loops that never served have
 * disposed of themselves already and are only joined. */
static void stop_loops(int created, int serving)
{
    for (int i = 0; serving && i < created; i++)
        h2o_multithread_send_message(&server.loops[i].control_receiver, &server.loops[i].stop_message);
    for (int i = 0; i < created; i++)
        pthread_join(server.loops[i].thread, NULL);
}

int fg_server_run(const fg_config_t *cfg, const fg_route_t *api_routes, const fg_route_many_t *many)
{
    routes = api_routes;
    server.many = many;
    char err[512];
    int rc = 1, loops_created = 0, serving = 0, sweeper_started = 0, thread_rc, sig = 0;
    sigset_t signals;
    fg_log_t l;

    if (setup(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "feegate: %s\n", err);
        goto Exit;
    }
    if (block_signals(&signals) != 0)
        goto Exit;
    if ((server.pool = fg_pool_create(cfg, cfg->db_pool_size)) == NULL)
        goto Exit; /* logged by the pool */
    loops_created = start_loops();
    if (server.start_failed) {
        if (server.start_error[0] != '\0') /* else a thread that did not start, logged */
            fprintf(stderr, "feegate: %s\n", server.start_error);
        goto Stop;
    }
    serving = 1;
    if ((thread_rc = pthread_create(&server.sweeper, NULL, sweeper_main, NULL)) != 0) {
        log_thread_failure("sweeper", thread_rc);
        goto Stop;
    }
    sweeper_started = 1;
    if (fg_providers_start(cfg) != 0) {
        fg_log_begin(&l, FG_LOG_ERROR, "provider query job did not start");
        fg_log_end(&l);
        goto Stop;
    }
    if (fg_webhooks_start(cfg, &settle, SETTLE_EVENTS) != 0) {
        fg_log_begin(&l, FG_LOG_ERROR, "webhook delivery worker did not start");
        fg_log_end(&l);
        goto Stop;
    }
    if (fg_receipts_start(cfg) != 0) {
        fg_log_begin(&l, FG_LOG_ERROR, "receipt issuer did not start");
        fg_log_end(&l);
        goto Stop;
    }
    if (fg_reminders_start(cfg) != 0) {
        fg_log_begin(&l, FG_LOG_ERROR, "reminder sender did not start");
        fg_log_end(&l);
        goto Stop;
    }
    if (fg_changes_start(cfg) != 0) {
        fg_log_begin(&l, FG_LOG_ERROR, "change sequencer did not start");
        fg_log_end(&l);
        goto Stop;
    }
    fg_log_begin(&l, FG_LOG_INFO, "feegate serving");
    fg_log_str(&l, "version", FEEGATE_VERSION);
    fg_log_str(&l, "http", cfg->http_listen);
    fg_log_str(&l, "https", cfg->https_listen);
    fg_log_str(&l, "metrics", cfg->metrics_listen);
    fg_log_int(&l, "loops", server.loop_count);
    fg_log_int(&l, "db_pool", cfg->db_pool_size);
    fg_log_end(&l);

    for (;;) {
        if (sigwait(&signals, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        reload_tls();
    }
    fg_log_begin(&l, FG_LOG_INFO, "shutting down");
    fg_log_int(&l, "signal", sig);
    fg_log_end(&l);
    rc = 0;
Stop:
    /* the loops first (they drain the requests in flight), then the jobs,
     * whose stop functions do nothing for a job that did not start */
    stop_loops(loops_created, serving);
    if (sweeper_started) {
        atomic_store(&server.sweeper_stop, 1);
        pthread_join(server.sweeper, NULL);
    }
    fg_providers_stop();
    fg_webhooks_stop();
    fg_reminders_stop();
    fg_receipts_stop();
    fg_changes_stop();
    fg_settle_shared_free(&settle); /* both of its threads have stopped */
    fg_pool_destroy(server.pool);
    fflush(stdout);
Exit:
    teardown();
    return rc;
}
