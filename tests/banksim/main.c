/*
 * main.c - banksim: plays VNPay, MoMo and SePay over real HTTP for feegate,
 * and the reminder channels: eSMS and Zalo ZNS over HTTP, an SMTP relay.
 *
 *   banksim --listen 127.0.0.1:PORT --feegate http://127.0.0.1:FEEGATE_PORT
 *           [--statement-dir DIR] [--public-url URL] [--fee GATEWAY:BP[:FIXED]]...
 *           [--smtp-listen HOST:PORT] [reminder channel options, see usage()]
 *
 * Provider settings come from the variables feegate reads (FEEGATE_VNPAY_*,
 * FEEGATE_MOMO_*, FEEGATE_SEPAY_API_KEY, FEEGATE_VIETQR_*), with demo
 * defaults.  Prints "smtp=PORT" (with --smtp-listen), then "listening=PORT"
 * once ready; exits 0 on SIGTERM/SIGINT.
 *
 * One h2o event loop thread serves every request.  Handlers run on it and
 * must not block; those that wait (deliveries to feegate, simulated slow
 * answers) leave work that a worker thread does before the answer goes back
 * to the loop through an h2o multithread queue.
 */
#include "banksim.h"

#include "h2o.h"
#include "h2o/http1.h"
#include "h2o/http2.h"
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Worker threads are started on demand up to this many: every control call
 * that waits for deliveries holds one. */
#define WORKERS_MAX 64
/* On shutdown, open connections get this long to flush and close. */
#define DRAIN_FLUSH_MS 300
#define DRAIN_DEADLINE_MS 10000

bs_config_t bs_config;
atomic_int bs_stopping;
pthread_mutex_t bs_state_lock = PTHREAD_MUTEX_INITIALIZER;

const char BS_JSON_TYPE[] = "application/json; charset=utf-8";
const char BS_HTML_TYPE[] = "text/html; charset=utf-8";
const char BS_TEXT_TYPE[] = "text/plain; charset=utf-8";
const char BS_XML_TYPE[] = "application/xml; charset=utf-8";
const char BS_CSV_TYPE[] = "text/csv; charset=utf-8";

/* ---- answers ------------------------------------------------------------------ */

void bs_res_json(bs_response_t *res, int status, const char *json)
{
    res->status = status;
    res->content_type = BS_JSON_TYPE;
    res->body.len = 0;
    bs_buf_puts(&res->body, json);
}

void bs_res_error(bs_response_t *res, int status, const char *msg)
{
    res->status = status;
    res->content_type = BS_JSON_TYPE;
    res->body.len = 0;
    bs_buf_puts(&res->body, "{\"error\":");
    bs_json_str(&res->body, msg);
    bs_buf_putc(&res->body, '}');
}

void bs_res_page(bs_response_t *res, int status, const char *title, const char *text)
{
    res->status = status;
    res->content_type = BS_HTML_TYPE;
    res->body.len = 0;
    bs_buf_puts(&res->body, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                            "<title>");
    bs_xml_escape(&res->body, title);
    bs_buf_puts(&res->body, "</title></head>\n<body><h1>");
    bs_xml_escape(&res->body, title);
    bs_buf_puts(&res->body, "</h1>\n<p>");
    bs_xml_escape(&res->body, text);
    bs_buf_puts(&res->body, "</p></body></html>\n");
}

/* ---- routes ------------------------------------------------------------------- */

typedef struct {
    const char *method;
    const char *path; /* exact, or a prefix when it ends with '*' */
    bs_handler_fn handler;
} route_t;

static const route_t routes[] = {
    {"GET", "/vnpay/paymentv2/vpcpay.html", bs_vnpay_pay_page},
    {"POST", "/vnpay/paymentv2/decide", bs_vnpay_decide},
    {"POST", "/vnpay/merchant_webapi/api/transaction", bs_vnpay_api},
    {"POST", "/momo/v2/gateway/api/create", bs_momo_create},
    {"POST", "/momo/v2/gateway/api/query", bs_momo_query},
    {"POST", "/momo/v2/gateway/api/refund/query", bs_momo_refund_query},
    {"POST", "/momo/v2/gateway/api/refund", bs_momo_refund},
    {"POST", "/momo/pay/decide", bs_momo_decide},
    {"GET", "/momo/pay/*", bs_momo_pay_page},
    /* eSMS's documented URL ends with a slash; clients that drop it reach it too */
    {"POST", "/esms/MainService.svc/json/SendMultipleMessage_V4_post_json/", bs_esms_send},
    {"POST", "/esms/MainService.svc/json/SendMultipleMessage_V4_post_json", bs_esms_send},
    {"POST", "/zalo/message/template", bs_zalo_send},
    {"POST", "/control/vnpay/pay", bs_vnpay_control_pay},
    {"POST", "/control/momo/pay", bs_momo_control_pay},
    {"POST", "/control/sepay/transfer", bs_sepay_control_transfer},
    {"POST", "/control/chaos", bs_control_chaos},
    {"POST", "/control/reset", bs_control_reset},
    {"GET", "/control/log", bs_control_log},
    {"GET", "/control/statement", bs_control_statement},
    {"POST", "/control/statement/write", bs_control_statement_write},
    {"GET", "/control/settlement", bs_control_settlement},
    {"GET", "/control/fees", bs_control_fees},
    {"POST", "/control/fees", bs_control_fees},
    {"GET", "/control/messages", bs_control_messages},
    {NULL, NULL, NULL},
};

static const route_t *find_route(const char *method, const char *path, int *method_mismatch)
{
    *method_mismatch = 0;
    for (const route_t *r = routes; r->method != NULL; r++) {
        size_t n = strlen(r->path);
        int prefix = r->path[n - 1] == '*';
        int match = prefix ? strncmp(path, r->path, n - 1) == 0 && path[n - 1] != '\0' : strcmp(path, r->path) == 0;
        if (!match)
            continue;
        if (strcmp(method, r->method) == 0)
            return r;
        *method_mismatch = 1;
    }
    return NULL;
}

/* ---- jobs: work done on a worker thread, answered on the loop ------------------- */

typedef struct job job_t;

typedef struct {
    job_t *job; /* NULL once the answer went out */
} req_ref_t;

struct job {
    h2o_multithread_message_t message; /* worker -> loop */
    job_t *next;                       /* worker queue */
    bs_request_t req;
    bs_response_t res;
    h2o_req_t *h2o_req; /* loop thread only; NULL once h2o disposed it */
    req_ref_t *ref;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job_t *head, *tail;
    int threads, idle, stop;
    pthread_t thread[WORKERS_MAX];
} workers = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* The loop, created, run and disposed on its own thread (H2O-NOTES.md). */
static struct {
    pthread_t thread;
    int listen_fd;
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    h2o_socket_t *listener;
    h2o_multithread_receiver_t job_receiver, stop_receiver;
    h2o_multithread_message_t stop_message;
    h2o_linklist_t conns;
    int inflight, stopping;
    pthread_mutex_t ready_lock;
    pthread_cond_t ready_cond;
    int ready;
} loop = {.ready_lock = PTHREAD_MUTEX_INITIALIZER, .ready_cond = PTHREAD_COND_INITIALIZER};

static void request_free(bs_request_t *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->body);
    free(r->authorization);
    free(r->content_type);
    free(r->access_token);
}

static void job_free(job_t *job)
{
    request_free(&job->req);
    bs_buf_free(&job->res.body);
    free(job->res.location);
    free(job);
}

static void *worker_main(void *arg)
{
    for (;;) {
        pthread_mutex_lock(&workers.lock);
        while (workers.head == NULL && !workers.stop) {
            workers.idle++;
            pthread_cond_wait(&workers.cond, &workers.lock);
            workers.idle--;
        }
        job_t *job = workers.head;
        if (job == NULL) {
            pthread_mutex_unlock(&workers.lock);
            return NULL;
        }
        workers.head = job->next;
        if (workers.head == NULL)
            workers.tail = NULL;
        pthread_mutex_unlock(&workers.lock);
        if (job->res.work != NULL)
            job->res.work(&job->req, &job->res);
        if (job->res.delay_ms > 0)
            bs_sleep_ms(job->res.delay_ms);
        /* the loop owns the job from here on */
        h2o_multithread_send_message(&loop.job_receiver, &job->message);
    }
}

static void workers_submit(job_t *job)
{
    pthread_mutex_lock(&workers.lock);
    job->next = NULL;
    if (workers.tail != NULL)
        workers.tail->next = job;
    else
        workers.head = job;
    workers.tail = job;
    if (workers.idle == 0 && workers.threads < WORKERS_MAX &&
        pthread_create(&workers.thread[workers.threads], NULL, worker_main, NULL) == 0)
        workers.threads++;
    pthread_cond_signal(&workers.cond);
    pthread_mutex_unlock(&workers.lock);
}

static void workers_stop(void)
{
    pthread_mutex_lock(&workers.lock);
    workers.stop = 1;
    pthread_cond_broadcast(&workers.cond);
    pthread_mutex_unlock(&workers.lock);
    for (int i = 0; i < workers.threads; i++)
        pthread_join(workers.thread[i], NULL);
}

/* ---- the h2o side --------------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 422: return "Unprocessable Content";
    case 500: return "Internal Server Error";
    default: return "Status";
    }
}

static void send_response(h2o_req_t *req, bs_response_t *res)
{
    req->res.status = res->status;
    req->res.reason = reason(res->status);
    const char *type = res->content_type != NULL ? res->content_type : BS_TEXT_TYPE;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    if (res->location != NULL) {
        h2o_iovec_t v = h2o_strdup(&req->pool, res->location, SIZE_MAX);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, v.base, v.len);
    }
    /* without a content length h2o closes HTTP/1.1 connections after any
     * non-200 answer (H2O-NOTES.md) */
    req->res.content_length = res->body.len;
    h2o_send_inline(req, bs_buf_cstr(&res->body), res->body.len);
}

static void on_req_dispose(void *p)
{
    req_ref_t *ref = p;
    if (ref->job != NULL)
        ref->job->h2o_req = NULL;
}

static void on_job_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        job_t *job = H2O_STRUCT_FROM_MEMBER(job_t, message, m);
        loop.inflight--;
        if (job->h2o_req != NULL) {
            h2o_req_t *req = job->h2o_req;
            job->h2o_req = NULL;
            job->ref->job = NULL; /* the send may dispose the request */
            send_response(req, &job->res);
        }
        job_free(job);
    }
}

static char *header_copy(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    if (i == -1)
        return NULL;
    h2o_iovec_t v = req->headers.entries[i].value;
    return bs_strndup(v.base, v.len);
}

static void request_copy(h2o_req_t *req, bs_request_t *r)
{
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    r->method = bs_strndup(req->method.base, req->method.len);
    r->path = bs_strndup(req->path.base, path_len);
    r->query = req->query_at != SIZE_MAX
                   ? bs_strndup(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1)
                   : bs_strdup("");
    r->body = bs_strndup(req->entity.base != NULL ? req->entity.base : "",
                         req->entity.base != NULL ? req->entity.len : 0);
    r->body_len = req->entity.base != NULL ? req->entity.len : 0;
    r->authorization = header_copy(req, H2O_TOKEN_AUTHORIZATION);
    r->content_type = header_copy(req, H2O_TOKEN_CONTENT_TYPE);
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("access_token"), -1);
    r->access_token = i != -1 ? bs_strndup(req->headers.entries[i].value.base, req->headers.entries[i].value.len)
                              : NULL;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    job_t *job = bs_calloc(1, sizeof(*job));
    request_copy(req, &job->req);
    int method_mismatch;
    const route_t *route = find_route(job->req.method, job->req.path, &method_mismatch);
    if (route == NULL)
        bs_res_error(&job->res, method_mismatch ? 405 : 404, method_mismatch ? "method not allowed" : "no such route");
    else
        route->handler(&job->req, &job->res);
    if (job->res.work == NULL && job->res.delay_ms <= 0) {
        send_response(req, &job->res);
        job_free(job);
        return 0;
    }
    job->h2o_req = req;
    job->ref = h2o_mem_alloc_shared(&req->pool, sizeof(*job->ref), on_req_dispose);
    job->ref->job = job;
    loop.inflight++;
    workers_submit(job);
    return 0;
}

typedef struct {
    h2o_linklist_t link;
    h2o_socket_t *sock;
} conn_t;

static void on_socket_close(void *data)
{
    conn_t *conn = data;
    h2o_linklist_unlink(&conn->link);
    free(conn);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    h2o_socket_t *sock;
    if (err != NULL || (sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    conn_t *conn = bs_calloc(1, sizeof(*conn));
    conn->sock = sock;
    h2o_linklist_insert(&loop.conns, &conn->link);
    sock->on_close.cb = on_socket_close;
    sock->on_close.data = conn;
    h2o_accept(&loop.accept, sock);
}

static void on_stop(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    if (loop.stopping)
        return;
    loop.stopping = 1;
    h2o_socket_read_stop(loop.listener);
    h2o_socket_close(loop.listener);
    loop.listener = NULL;
    h2o_context_request_shutdown(&loop.ctx);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the jobs in flight (they end early: bs_stopping is set), lets
 * connections flush and close, then shuts down the ones that stay open.
 * Returns 1 when every connection is gone and the context may be disposed. */
static int drain(void)
{
    int64_t deadline = monotonic_ms() + DRAIN_DEADLINE_MS, idle_since = 0;
    int shut = 0;
    for (;;) {
        int64_t now = monotonic_ms();
        if (loop.inflight == 0 && h2o_linklist_is_empty(&loop.conns))
            return 1;
        if (loop.inflight == 0) {
            if (idle_since == 0)
                idle_since = now;
            if (now - idle_since > DRAIN_FLUSH_MS * (shut ? 2 : 1)) {
                if (shut)
                    return 0;
                for (h2o_linklist_t *l = loop.conns.next; l != &loop.conns; l = l->next)
                    shutdown(h2o_socket_get_fd(H2O_STRUCT_FROM_MEMBER(conn_t, link, l)->sock), SHUT_RDWR);
                shut = 1;
            }
        }
        if (now > deadline)
            return 0;
        h2o_evloop_run(loop.ctx.loop, 10);
    }
}

static void loop_setup(void)
{
    h2o_config_init(&loop.globalconf);
    loop.globalconf.max_request_entity_size = BS_BODY_MAX;
    loop.globalconf.server_name = h2o_iovec_init(H2O_STRLIT("banksim"));
    h2o_hostconf_t *host = h2o_config_register_host(&loop.globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
    handler->on_req = on_req;
    h2o_linklist_init_anchor(&loop.conns);
    h2o_context_init(&loop.ctx, h2o_evloop_create(), &loop.globalconf);
    h2o_multithread_register_receiver(loop.ctx.queue, &loop.job_receiver, on_job_done);
    h2o_multithread_register_receiver(loop.ctx.queue, &loop.stop_receiver, on_stop);
    loop.accept.ctx = &loop.ctx;
    loop.accept.hosts = loop.globalconf.hosts;
    loop.listener = h2o_evloop_socket_create(loop.ctx.loop, loop.listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(loop.listener, on_accept);
}

static void loop_dispose(void)
{
    h2o_multithread_unregister_receiver(loop.ctx.queue, &loop.job_receiver);
    h2o_multithread_unregister_receiver(loop.ctx.queue, &loop.stop_receiver);
    h2o_evloop_t *evloop = loop.ctx.loop;
    /* request_shutdown arms this timer even when every connection is gone */
    if (h2o_timeout_is_linked(&loop.ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&loop.ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&loop.ctx);
    h2o_evloop_destroy(evloop);
    h2o_config_dispose(&loop.globalconf);
}

static void *loop_main(void *arg)
{
    loop_setup();
    pthread_mutex_lock(&loop.ready_lock);
    loop.ready = 1;
    pthread_cond_broadcast(&loop.ready_cond);
    pthread_mutex_unlock(&loop.ready_lock);
    while (!loop.stopping)
        h2o_evloop_run(loop.ctx.loop, INT32_MAX);
    if (!drain()) {
        /* disposing a context with live connections aborts in libh2o 2.2.5 */
        fputs("banksim: connections still open at exit\n", stderr);
        return NULL;
    }
    loop_dispose();
    return NULL;
}

/* ---- configuration and start -------------------------------------------------- */

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

static void usage(FILE *f)
{
    fputs("usage: banksim --listen HOST:PORT --feegate URL [--statement-dir DIR]"
          " [--public-url URL]\n"
          "               [--fee vnpay|momo:BP[:FIXED]]...\n"
          "  PORT 0 picks a free port; prints listening=PORT when ready.\n"
          "  --fee: the gateway's fee, BP basis points (rounded half up to whole\n"
          "  VND) plus FIXED VND a payment, kept from its settlement (default 0).\n"
          "  Environment: FEEGATE_VNPAY_TMN_CODE FEEGATE_VNPAY_HASH_SECRET\n"
          "  FEEGATE_MOMO_PARTNER_CODE FEEGATE_MOMO_ACCESS_KEY"
          " FEEGATE_MOMO_SECRET_KEY\n"
          "  FEEGATE_SEPAY_API_KEY FEEGATE_VIETQR_BANK_BIN"
          " FEEGATE_VIETQR_ACCOUNT_NO\n"
          "  BANKSIM_OPENING_BALANCE (VND, default 100000000)\n"
          "Reminder channels (messages listed by GET /control/messages):\n"
          "  --esms-api-key KEY --esms-secret-key KEY --esms-brandname NAME\n"
          "      eSMS's credentials (esms-test-key, esms-test-secret, FEEGATE)\n"
          "  --zalo-access-token TOKEN   Zalo ZNS's access_token (zalo-test-token)\n"
          "  --smtp-listen HOST:PORT     an SMTP relay; prints smtp=PORT first\n"
          "  --smtp-tls-cert FILE --smtp-tls-key FILE   offer STARTTLS (PEM)\n"
          "  --smtp-user USER --smtp-password PASSWORD  require AUTH PLAIN/LOGIN\n",
          f);
}

static int copy_arg(char *dst, size_t cap, const char *v, const char *name)
{
    if (v == NULL || strlen(v) >= cap) {
        fprintf(stderr, "banksim: %s needs a value (shorter than %zu bytes)\n", name, cap);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int fee_arg(const char *v)
{
    bs_gateway_t g;
    bs_fee_t fee;
    if (v == NULL || bs_fee_parse(v, &g, &fee) != 0) {
        fprintf(stderr, "banksim: --fee needs vnpay|momo:BP[:FIXED] (BP 0..10000, FIXED 0..1000000000), not %s\n",
                v != NULL ? v : "nothing");
        return -1;
    }
    pthread_mutex_lock(&bs_state_lock);
    bs_fee_set(g, fee);
    pthread_mutex_unlock(&bs_state_lock);
    return 0;
}

/* The reminder channels' options: 0 when a is one (its value taken), 1 when
 * it is none of them, -1 when its value is missing. */
static int channel_arg(const char *a, const char *v)
{
    static const struct {
        const char *name;
        const char **value;
    } options[] = {
        {"--esms-api-key", &bs_config.esms_api_key},     {"--esms-secret-key", &bs_config.esms_secret_key},
        {"--esms-brandname", &bs_config.esms_brandname}, {"--zalo-access-token", &bs_config.zalo_access_token},
        {"--smtp-listen", &bs_config.smtp_listen},       {"--smtp-tls-cert", &bs_config.smtp_tls_cert},
        {"--smtp-tls-key", &bs_config.smtp_tls_key},     {"--smtp-user", &bs_config.smtp_user},
        {"--smtp-password", &bs_config.smtp_password},
    };
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        if (strcmp(a, options[i].name) != 0)
            continue;
        if (v == NULL || v[0] == '\0') {
            fprintf(stderr, "banksim: %s needs a value\n", a);
            return -1;
        }
        *options[i].value = v;
        return 0;
    }
    return 1;
}

/* The options that only make sense together; -1 (said why) when one is alone. */
static int channel_args_check(void)
{
    const char *problem = NULL;
    if ((bs_config.smtp_tls_cert == NULL) != (bs_config.smtp_tls_key == NULL))
        problem = "--smtp-tls-cert and --smtp-tls-key go together";
    else if ((bs_config.smtp_user == NULL) != (bs_config.smtp_password == NULL))
        problem = "--smtp-user and --smtp-password go together";
    else if (bs_config.smtp_listen == NULL && (bs_config.smtp_tls_cert != NULL || bs_config.smtp_user != NULL))
        problem = "the --smtp-… options need --smtp-listen";
    if (problem != NULL)
        fprintf(stderr, "banksim: %s\n", problem);
    return problem != NULL ? -1 : 0;
}

static int parse_args(int argc, char **argv, char *listen, size_t cap, char *public_url, size_t url_cap)
{
    /* Every option takes a value: i steps over both. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc;
        if (strcmp(a, "--listen") == 0)
            rc = copy_arg(listen, cap, v, a);
        else if (strcmp(a, "--feegate") == 0)
            rc = copy_arg(bs_config.feegate_url, sizeof(bs_config.feegate_url), v, a);
        else if (strcmp(a, "--statement-dir") == 0)
            rc = copy_arg(bs_config.statement_dir, sizeof(bs_config.statement_dir), v, a);
        else if (strcmp(a, "--public-url") == 0)
            rc = copy_arg(public_url, url_cap, v, a);
        else if (strcmp(a, "--fee") == 0)
            rc = fee_arg(v);
        else if ((rc = channel_arg(a, v)) != 1) {
            /* a reminder channel's option: rc says how it went */
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "banksim: unknown argument %s\n", a);
            usage(stderr);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    if (listen[0] == '\0' || bs_config.feegate_url[0] == '\0') {
        usage(stderr);
        return -1;
    }
    if (channel_args_check() != 0)
        return -1;
    size_t n = strlen(bs_config.feegate_url);
    while (n > 0 && bs_config.feegate_url[n - 1] == '/')
        bs_config.feegate_url[--n] = '\0';
    return 0;
}

static void read_env(void)
{
    bs_config.vnpay_tmn_code = env_or("FEEGATE_VNPAY_TMN_CODE", "TESTTMN1");
    bs_config.vnpay_hash_secret = env_or("FEEGATE_VNPAY_HASH_SECRET", "TESTSECRETKEY0123456789ABCDEFGHI");
    bs_config.momo_partner_code = env_or("FEEGATE_MOMO_PARTNER_CODE", "MOMO");
    bs_config.momo_access_key = env_or("FEEGATE_MOMO_ACCESS_KEY", "F8BBA842ECF85");
    bs_config.momo_secret_key = env_or("FEEGATE_MOMO_SECRET_KEY", "K951B6PE1waDMi640xX08PD3vg6EkVlz");
    bs_config.sepay_api_key = env_or("FEEGATE_SEPAY_API_KEY", "banksim-sepay-key");
    bs_config.vietqr_bank_bin = env_or("FEEGATE_VIETQR_BANK_BIN", "970415");
    bs_config.vietqr_account_no = env_or("FEEGATE_VIETQR_ACCOUNT_NO", "0011001932418");
    bs_config.opening_balance = strtoll(env_or("BANKSIM_OPENING_BALANCE", "100000000"), NULL, 10);
    /* the reminder channels' defaults, unless given as options */
    if (bs_config.esms_api_key == NULL)
        bs_config.esms_api_key = "esms-test-key";
    if (bs_config.esms_secret_key == NULL)
        bs_config.esms_secret_key = "esms-test-secret";
    if (bs_config.esms_brandname == NULL)
        bs_config.esms_brandname = "FEEGATE";
    if (bs_config.zalo_access_token == NULL)
        bs_config.zalo_access_token = "zalo-test-token";
}

/* Binds listen ("host:port", "[v6]:port"); fills bs_config's host and port. */
static int open_listener(const char *listen_arg)
{
    char host[256];
    const char *colon = strrchr(listen_arg, ':');
    if (colon == NULL || (size_t)(colon - listen_arg) >= sizeof(host)) {
        fprintf(stderr, "banksim: bad --listen \"%s\"\n", listen_arg);
        return -1;
    }
    const char *h = listen_arg, *h_end = colon;
    if (*h == '[' && h_end > h && h_end[-1] == ']')
        h++, h_end--;
    memcpy(host, h, (size_t)(h_end - h));
    host[h_end - h] = '\0';
    snprintf(bs_config.listen_host, sizeof(bs_config.listen_host), "%s", host);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int rc = getaddrinfo(host[0] != '\0' ? host : NULL, colon + 1, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "banksim: cannot resolve %s: %s\n", listen_arg, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_storage bound;
    socklen_t len = sizeof(bound);
    if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &len) != 0) {
        fprintf(stderr, "banksim: cannot listen on %s: %s\n", listen_arg, strerror(errno));
        if (fd != -1)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    bs_config.port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                       : ((struct sockaddr_in *)&bound)->sin_port);
    loop.listen_fd = fd;
    return 0;
}

static void set_base_url(const char *public_url)
{
    const char *host = bs_config.listen_host;
    if (public_url[0] != '\0') {
        snprintf(bs_config.base_url, sizeof(bs_config.base_url), "%s", public_url);
        return;
    }
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        host = "127.0.0.1";
    const char *fmt = strchr(host, ':') != NULL ? "http://[%s]:%d" : "http://%s:%d";
    snprintf(bs_config.base_url, sizeof(bs_config.base_url), fmt, host, bs_config.port);
}

int main(int argc, char **argv)
{
    char listen_arg[300] = "", public_url[300] = "";
    if (parse_args(argc, argv, listen_arg, sizeof(listen_arg), public_url, sizeof(public_url)) != 0)
        return 2;
    read_env();
    if (open_listener(listen_arg) != 0 || (bs_config.smtp_listen != NULL && bs_smtp_open() != 0))
        return 1;
    set_base_url(public_url);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    sigset_t signals;
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL); /* every thread inherits it */

    pthread_create(&loop.thread, NULL, loop_main, NULL);
    pthread_mutex_lock(&loop.ready_lock);
    while (!loop.ready)
        pthread_cond_wait(&loop.ready_cond, &loop.ready_lock);
    pthread_mutex_unlock(&loop.ready_lock);
    if (bs_config.smtp_listen != NULL) {
        bs_smtp_start();
        printf("smtp=%d\n", bs_config.smtp_port);
    }
    printf("listening=%d\n", bs_config.port);
    fflush(stdout);
    fprintf(stderr, "banksim: serving %s, notifying %s\n", bs_config.base_url, bs_config.feegate_url);

    int sig = 0;
    sigwait(&signals, &sig);
    atomic_store(&bs_stopping, 1);
    h2o_multithread_send_message(&loop.stop_receiver, &loop.stop_message);
    pthread_join(loop.thread, NULL);
    bs_smtp_stop();
    workers_stop();
    bs_vnpay_free();
    bs_momo_free();
    bs_bookings_free();
    bs_log_free();
    bs_messages_clear();
    curl_global_cleanup();
    return 0;
}
