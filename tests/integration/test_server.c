/*
 * test_server.c - the process: liveness, readiness and its recovery when the
 * database goes and comes back, Prometheus metrics, unknown routes and
 * methods, graceful shutdown with requests in flight, configuration errors.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/buf.h"
#include "db/db.h"
#include "banksim_client.h"
#include "harness.h"

static fgt_server_t srv;
static fgt_merchant_t mer;

/* The merchant's key as a request header. */
static char auth[128];
static const char *const auth_headers[] = {auth, NULL};

static void merchant_setup(void)
{
    fgt_merchant_create("UBND Phường Kiểm Thử", mer.id, mer.key);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mer.key);
}

static void setup(void)
{
    merchant_setup();
    fgt_server_start(&srv, NULL);
}

/* A test that stopped the server itself has checked the stop already. */
static void teardown(void)
{
    if (srv.pid > 0)
        ck_assert_int_eq(fgt_server_stop(&srv), 0);
}

/* ---- liveness, readiness, routes ------------------------------------------- */

START_TEST(health_and_readiness)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    fgt_response_t r = fgt_request(&srv, p, "GET", "/healthz", NULL, NULL, 0);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
    ck_assert_str_eq(fgt_header(&r, "content-type"), "application/json; charset=utf-8");
    fgt_response_free(&r);
    r = fgt_request(&srv, p, "GET", "/readyz", NULL, NULL, 0);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(r.json);
    fgt_response_free(&r);
}
END_TEST

/* Every answer, an API error too, is not sniffed, framed or referred; HSTS over TLS only. */
START_TEST(every_answer_has_the_security_headers)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    const char *paths[] = {"/healthz", "/nope", "/v1/orders"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        fgt_response_t r = fgt_req(&srv, p, "GET", paths[i], i == 2 ? mer.key : NULL, NULL, NULL, 0, NULL);
        ck_assert_str_eq(fgt_header(&r, "x-content-type-options"), "nosniff");
        ck_assert_str_eq(fgt_header(&r, "content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
        ck_assert_str_eq(fgt_header(&r, "referrer-policy"), "no-referrer");
        const char *hsts = fgt_header(&r, "strict-transport-security");
        if (p == FGT_H2TLS)
            ck_assert_msg(hsts != NULL && strncmp(hsts, "max-age=", 8) == 0, "%s: HSTS over TLS", paths[i]);
        else
            ck_assert_msg(hsts == NULL, "%s: HSTS over plain HTTP", paths[i]);
        fgt_response_free(&r);
    }
}
END_TEST

START_TEST(unknown_route_and_wrong_method)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    const char *unknown[] = {"/nope", "/v1/order", "/v1/orders/x/y/z", "/v2/orders"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        fgt_response_t r = fgt_req(&srv, p, "GET", unknown[i], mer.key, NULL, NULL, 0, NULL);
        fgt_expect_error(r, 404, "not_found", NULL);
        fgt_response_free(&r);
    }
    /* known paths, other methods: with and without a key, 405 before auth */
    const char *const methods[][2] = {{"DELETE", "/v1/orders"},
                                      {"PUT", "/v1/orders"},
                                      {"PUT", "/v1/orders/batch"},
                                      {"DELETE", "/v1/orders/ord_x"},
                                      {"GET", "/v1/orders/ord_x/cancel"}};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        fgt_response_t r = fgt_req(&srv, p, methods[i][0], methods[i][1], i % 2 ? NULL : mer.key, NULL, NULL, 0, NULL);
        fgt_expect(r, 405, NULL);
        fgt_response_free(&r);
    }
}
END_TEST

/* ---- metrics ------------------------------------------------------------------ */

/* The value of the sample line starting with `series` followed by a space, or
 * -1 when there is no such line. */
static long long sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            char *end;
            long long v = strtoll(line + n + 1, &end, 10);
            ck_assert_msg(end != line + n + 1 && (*end == '\n' || *end == '\0'), "not an integer sample: %.80s", line);
            return v;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return -1;
}

static fgt_response_t get_metrics(void)
{
    fgt_response_t r = fgt_metrics(&srv);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "text/plain"));
    return r;
}

START_TEST(metrics_are_prometheus_text)
{
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_response_t r = fgt_order_create(&srv, (fgt_proto_t)p, mer.key, NULL, fgt_unique("MT"), 30000, NULL);
        fgt_expect(r, 201, NULL);
        fgt_response_free(&r);
    }
    fgt_response_t nf = fgt_request(&srv, FGT_H2C, "GET", "/no/such/route", NULL, NULL, 0);
    fgt_expect(nf, 404, NULL);
    fgt_response_free(&nf);
    {
        fgt_response_t r = get_metrics();
        ck_assert_int_eq(sample(r.body, "feegate_http_requests_total{route=\"orders.create\",status=\"201\"}"), 3);
        ck_assert_int_eq(sample(r.body, "feegate_http_requests_total{route=\"not_found\",status=\"404\"}"), 1);
        ck_assert_int_eq(sample(r.body,
                                "feegate_http_request_duration_seconds_bucket{route=\"orders.create\",le=\"+Inf\"}"),
                         3);
        ck_assert_int_eq(sample(r.body, "feegate_http_request_duration_seconds_count{route=\"orders.create\"}"), 3);
        ck_assert_ptr_nonnull(strstr(r.body, "# TYPE feegate_http_requests_total counter\n"));
        ck_assert_ptr_nonnull(strstr(r.body, "# TYPE feegate_http_request_duration_seconds histogram\n"));
        long long in_use = sample(r.body, "feegate_db_pool_in_use");
        long long waiting = sample(r.body, "feegate_db_pool_waiting");
        ck_assert_msg(in_use >= 0 && in_use <= 16, "feegate_db_pool_in_use %lld", in_use);
        ck_assert_msg(waiting >= 0, "feegate_db_pool_waiting %lld", waiting);
        fgt_response_free(&r);
    }
}
END_TEST

/* The counters show business volume per route: they are served on their
 * own listener (metrics.listen, loopback by default), never on the public
 * ports, whatever Host a request names. */
START_TEST(metrics_only_on_their_own_listener)
{
    const char *hosts[] = {"Host: metrics", "Host: metrics:65535", NULL};
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_response_t r = fgt_request(&srv, (fgt_proto_t)p, "GET", "/metrics", NULL, NULL, 0);
        fgt_expect(r, 404, "route_not_found");
        fgt_response_free(&r);
        for (int h = 0; hosts[h] != NULL; h++) {
            const char *headers[] = {hosts[h], NULL};
            r = fgt_request(&srv, (fgt_proto_t)p, "GET", "/metrics", headers, NULL, 0);
            ck_assert_int_eq(r.status, 404);
            ck_assert_ptr_null(strstr(r.body, "feegate_http_requests_total"));
            fgt_response_free(&r);
        }
    }
    /* and the metrics listener serves nothing else */
    fgt_server_t m = srv;
    m.http_port = srv.metrics_port;
    fgt_response_t r = fgt_request(&m, FGT_HTTP1, "GET", "/v1/orders", NULL, NULL, 0);
    fgt_expect(r, 404, "route_not_found");
    fgt_response_free(&r);
    r = fgt_request(&m, FGT_H2C, "POST", "/metrics", NULL, "{}", 2);
    fgt_expect(r, 405, "method_not_allowed");
    fgt_response_free(&r);
    r = get_metrics();
    ck_assert_ptr_nonnull(strstr(r.body, "# TYPE feegate_http_requests_total counter\n"));
    fgt_response_free(&r);
}
END_TEST

/* ---- graceful shutdown ---------------------------------------------------------- */

enum { SHUTDOWN_BATCHES = 20, SHUTDOWN_ORDERS = 1500 };

/* Sends SIGTERM once every batch has reached the server (running, queued or
 * answered), and notes how many were still in flight then. */
typedef struct {
    pid_t pid;
    long long in_flight;
} terminator_t;

static int terminate_when_all_arrived(void *arg)
{
    terminator_t *t = arg;
    fgt_response_t r = fgt_metrics(&srv);
    ck_assert_int_eq(r.status, 200);
    long long answered = sample(r.body, "feegate_http_requests_total{route=\"orders.batch\",status=\"200\"}");
    long long in_flight = sample(r.body, "feegate_db_pool_in_use") + sample(r.body, "feegate_db_pool_waiting");
    fgt_response_free(&r);
    if (in_flight + (answered > 0 ? answered : 0) < SHUTDOWN_BATCHES)
        return 0;
    t->in_flight = in_flight;
    ck_assert_int_eq(kill(t->pid, SIGTERM), 0);
    return 1;
}

/* n batches of `orders` orders each, POST /v1/orders/batch with the
 * merchant's key, into bodies[] and reqs[]. */
static void batch_requests(const char *prefix, int n, int orders, fg_buf_t *bodies, fgt_request_t *reqs)
{
    char tag[96];
    snprintf(tag, sizeof(tag), "%s", fgt_unique(prefix));
    for (int b = 0; b < n; b++) {
        bodies[b] = (fg_buf_t)FG_BUF_INIT;
        fg_buf_puts(&bodies[b], "{\"orders\":[");
        for (int i = 0; i < orders; i++)
            fg_buf_printf(&bodies[b],
                          "%s{\"merchant_ref\":\"%s-%d-%d\",\"fee_type\":\"utility\",\"amount\":%d,"
                          "\"currency\":\"VND\"}",
                          i ? "," : "", tag, b, i, 1000 + i);
        fg_buf_puts(&bodies[b], "]}");
        reqs[b] = (fgt_request_t){"POST", "/v1/orders/batch", auth_headers, bodies[b].data, bodies[b].len, NULL};
    }
}

/* Every batch answered 200 with all its orders open; then the server has
 * stopped cleanly and holds them all.  Frees the answers and bodies. */
static void expect_batches_made(fgt_response_t *out, fg_buf_t *bodies, int n, int orders)
{
    for (int b = 0; b < n; b++) {
        fgt_expect(out[b], 200, NULL);
        yajl_val data = fgt_json_array(&out[b], "data", NULL);
        ck_assert_int_eq(data->u.array.len, orders);
        for (int i = 0; i < orders; i++)
            ck_assert_str_eq(fgt_val_str(data->u.array.values[i], "status", NULL), "open");
        fgt_response_free(&out[b]);
        fg_buf_free(&bodies[b]);
    }
    ck_assert_int_eq(fgt_server_stop(&srv), 0);
    ck_assert_int_eq(fgt_db_orders(mer.id), n * orders);
}

START_TEST(sigterm_finishes_requests_in_flight)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    fg_buf_t bodies[SHUTDOWN_BATCHES];
    fgt_request_t reqs[SHUTDOWN_BATCHES];
    fgt_response_t out[SHUTDOWN_BATCHES];
    batch_requests("GS", SHUTDOWN_BATCHES, SHUTDOWN_ORDERS, bodies, reqs);
    terminator_t t = {srv.pid, -1};
    fgt_request_all(&srv, p, p == FGT_HTTP1 ? SHUTDOWN_BATCHES : 1, SHUTDOWN_BATCHES, reqs, terminate_when_all_arrived,
                    &t, out);
    ck_assert_msg(t.in_flight > 0, "no batch was still running at SIGTERM (%lld): the test proves nothing",
                  t.in_flight);
    expect_batches_made(out, bodies, SHUTDOWN_BATCHES, SHUTDOWN_ORDERS);
}
END_TEST

/* A client on a slow uplink: its request's headers have arrived, its body
 * is still coming when SIGTERM does.  Over HTTP/2 the stop's GOAWAY names the
 * streams already open as the last the server will serve, so their bodies
 * must still be read; over HTTP/1.1 the connection must stay until the
 * request is whole and answered.  Each body (~105 kB) takes ~4 s at the pace set. */
enum { UPLOADS = 2, UPLOAD_ORDERS = 1000, UPLOAD_PACE = 25000 /* bytes/s */ };

static long long clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    pid_t pid;
    long long started, signalled;
} stopper_t;

static int terminate_while_uploading(void *arg)
{
    stopper_t *t = arg;
    if (clock_ms() - t->started < 400)
        return 0;
    ck_assert_int_eq(kill(t->pid, SIGTERM), 0);
    t->signalled = clock_ms();
    return 1;
}

START_TEST(sigterm_lets_a_body_still_arriving_finish)
{
    fgt_proto_t p = (fgt_proto_t)_i;
    fg_buf_t bodies[UPLOADS];
    fgt_request_t reqs[UPLOADS];
    fgt_response_t out[UPLOADS];
    batch_requests("UP", UPLOADS, UPLOAD_ORDERS, bodies, reqs);
    stopper_t t = {srv.pid, clock_ms(), 0};
    fgt_upload_pace(UPLOAD_PACE);
    fgt_request_all(&srv, p, p == FGT_HTTP1 ? UPLOADS : 1, UPLOADS, reqs, terminate_while_uploading, &t, out);
    fgt_upload_pace(0);
    long long after = clock_ms() - t.signalled;
    ck_assert_msg(t.signalled > 0 && after > 1500,
                  "the bodies were whole %lld ms after SIGTERM: the test proves nothing", after);
    expect_batches_made(out, bodies, UPLOADS, UPLOAD_ORDERS);
}
END_TEST

/* Browsers, proxies and load balancers keep idle connections open. */
START_TEST(sigterm_with_idle_connections_exits_0)
{
    fgt_idle_t *idle[FGT_PROTOS];
    for (int p = 0; p < FGT_PROTOS; p++)
        idle[p] = fgt_idle_open(&srv, (fgt_proto_t)p);
    fgt_sleep_ms(100);
    ck_assert_int_eq(fgt_server_stop(&srv), 0);
    for (int p = 0; p < FGT_PROTOS; p++)
        fgt_idle_close(idle[p]);
}
END_TEST

/* A request whose client has gone while its job waits on a database worker (here behind a
 * lock the test holds on the order): SIGTERM comes, the last connection is gone, and the loop
 * must still wait for the job's answer to come back through it before it is disposed (the
 * answer, sent to a disposed loop, was a crash). The job finishes, the server exits 0. */
START_TEST(sigterm_waits_for_the_job_of_a_client_gone)
{
    char ref[40], sql[200], request[640];
    snprintf(ref, sizeof(ref), "%s", fgt_unique("GONE"));
    fgt_response_t r = fgt_order_create(&srv, FGT_HTTP1, mer.key, NULL, ref, 125000, NULL);
    fgt_expect(r, 201, NULL);
    char order[48];
    snprintf(order, sizeof(order), "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    fg_config_t cfg;
    fgt_config_load(&cfg);
    fg_db_t *held = fgt_db_open(&cfg);
    snprintf(sql, sizeof(sql), "SELECT id FROM orders WHERE public_id = '%s' FOR UPDATE", order);
    ck_assert_int_eq(fg_db_exec_text(held, "START TRANSACTION", 17), 0);
    ck_assert_int_eq(fg_db_exec_text(held, sql, strlen(sql)), 0);

    /* over h2c, whose connection h2o keeps reading (an HTTP/1 connection is not read while its
     * request runs, so its close is seen only when the answer is written): the client gives up
     * after half a second, while the cancel waits for the order's row, and closes */
    snprintf(request, sizeof(request),
             "curl -s -o /dev/null --http2-prior-knowledge -m 0.5 -X POST -H 'Authorization: Bearer %s' -H "
             "'Idempotency-Key: %s' http://127.0.0.1:%d/v1/orders/%s/cancel",
             mer.key, fgt_unique("gone"), srv.http_port, order);
    ck_assert_int_eq(WEXITSTATUS(system(request)), 28); /* curl: timed out */
    fgt_sleep_ms(200);
    ck_assert_int_eq(kill(srv.pid, SIGTERM), 0);
    fgt_sleep_ms(700); /* the stop has found no connection left */
    ck_assert_int_eq(fg_db_exec_text(held, "COMMIT", 6), 0);
    fg_db_close(held);
    fg_config_free(&cfg);
    ck_assert_int_eq(fgt_server_stop(&srv), 0);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM orders WHERE public_id = ? AND status = 'cancelled'", order,
                                NULL),
                     1);
}
END_TEST

/* ---- readiness follows the database ---------------------------------------------- */

static long readyz(const fgt_server_t *s)
{
    fgt_response_t r = fgt_request(s, FGT_H2C, "GET", "/readyz", NULL, NULL, 0);
    long status = r.status;
    if (status == 503)
        fgt_expect_error(r, 503, "unavailable", NULL);
    else
        fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    return status;
}

/* Polls /readyz until it answers want (at most 10 s); returns the last answer. */
static long readyz_becomes(const fgt_server_t *s, long want)
{
    long got = readyz(s);
    for (int i = 0; i < 100 && got != want; i++) {
        fgt_sleep_ms(100);
        got = readyz(s);
    }
    return got;
}

#define CONNECTIONS_MAX 4096
static const char SQL_FEEGATE_CONNECTIONS[] =
    "SELECT id FROM information_schema.processlist WHERE user = 'feegate' AND db = DATABASE() "
    "AND id <> CONNECTION_ID() AND command <> 'Daemon'";

static int contains(const long long *ids, int n, long long id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

START_TEST(readiness_follows_the_database)
{
    char dir[] = "/tmp/fgt-db-XXXXXX", link_path[128], env[160];
    const char *real_socket = getenv("FEEGATE_DB_SOCKET");
    ck_assert_ptr_nonnull(real_socket);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(link_path, sizeof(link_path), "%s/mysqld.sock", dir);
    snprintf(env, sizeof(env), "FEEGATE_DB_SOCKET=%s", link_path);
    const char *extra[] = {env, NULL};
    static long long before[CONNECTIONS_MAX], after[CONNECTIONS_MAX];
    int before_n = fgt_db_ints(SQL_FEEGATE_CONNECTIONS, before, CONNECTIONS_MAX);

    fgt_server_t s;
    fgt_server_start(&s, extra); /* the database "is down": nothing at that path yet */
    fgt_response_t r = fgt_request(&s, FGT_HTTP1, "GET", "/healthz", NULL, NULL, 0);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    ck_assert_int_eq(readyz(&s), 503);
    r = fgt_req(&s, FGT_H2C, "GET", "/v1/orders", mer.key, NULL, NULL, 0, NULL);
    fgt_expect_error(r, 503, "unavailable", NULL); /* the API says so too */
    fgt_response_free(&r);

    ck_assert_int_eq(symlink(real_socket, link_path), 0); /* it comes up */
    ck_assert_int_eq(readyz_becomes(&s, 200), 200);

    ck_assert_int_eq(unlink(link_path), 0); /* it goes away, taking this server's connections */
    int after_n = fgt_db_ints(SQL_FEEGATE_CONNECTIONS, after, CONNECTIONS_MAX);
    int killed = 0;
    for (int i = 0; i < after_n; i++)
        if (!contains(before, before_n, after[i])) {
            fgt_db_kill(after[i]);
            killed++;
        }
    ck_assert_int_ge(killed, 1);
    ck_assert_int_eq(readyz_becomes(&s, 503), 503);
    ck_assert_int_eq(readyz(&s), 503); /* and stays so, the process still running */
    r = fgt_request(&s, FGT_H2TLS, "GET", "/healthz", NULL, NULL, 0);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);

    ck_assert_int_eq(symlink(real_socket, link_path), 0); /* back again */
    ck_assert_int_eq(readyz_becomes(&s, 200), 200);
    r = fgt_req(&s, FGT_H2C, "GET", "/v1/orders", mer.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);

    ck_assert_int_eq(fgt_server_stop(&s), 0);
    unlink(link_path);
    rmdir(dir);
}
END_TEST

/* ---- configuration errors ----------------------------------------------------------- */

static void config_error(const char *assignment, const char *key_name)
{
    char out[1024], err[1024];
    const char *args[] = {"serve", NULL}, *env[] = {assignment, NULL};
    int status = fgt_cli_run(args, env, NULL, out, sizeof(out), err, sizeof(err));
    ck_assert_msg(status == 2, "%s: exit status %d, wanted 2; stderr: %s", assignment, status, err);
    ck_assert_msg(strstr(err, key_name) != NULL, "%s: stderr does not name %s: %s", assignment, key_name, err);
    size_t len = strlen(err);
    ck_assert_msg(len > 0 && strchr(err, '\n') == err + len - 1, "%s: not exactly one line on stderr: %s", assignment,
                  err);
    ck_assert_msg(out[0] == '\0', "%s: stdout not empty: %s", assignment, out);
}

START_TEST(bad_configuration_is_one_line_and_exit_2)
{
    config_error("FEEGATE_DB_PORT=abc", "db.port");
    config_error("FEEGATE_HTTP_LISTEN=nonsense", "http.listen");
    config_error("FEEGATE_DB_POOL_SIZE=0", "db.pool_size");
}
END_TEST

/* "FEEGATE_HTTP_LISTEN=127.0.0.1:<free port>" and the same for https and
 * metrics into env[0..2], env[3] NULL: a `serve` run by a test never
 * touches the default ports, even one that should not start. */
static void own_ports(char listens[3][64], const char *env[4])
{
    static const char *const NAMES[] = {"FEEGATE_HTTP_LISTEN", "FEEGATE_HTTPS_LISTEN", "FEEGATE_METRICS_LISTEN"};
    int ports[3];
    for (int i = 0; i < 3; i++) {
        int clash;
        do {
            ports[i] = fgt_free_port();
            clash = 0;
            for (int k = 0; k < i; k++)
                clash |= ports[k] == ports[i];
        } while (clash);
        snprintf(listens[i], 64, "%s=127.0.0.1:%d", NAMES[i], ports[i]);
        env[i] = listens[i];
    }
    env[3] = NULL;
}

/* Every listener sets SO_REUSEPORT: a second server on an address a running
 * one listens on (an old binary, a staging config) would join its port and
 * take part of its traffic.  It refuses to start, naming the listener, and
 * the first serves on. */
START_TEST(a_second_server_on_an_address_in_use_does_not_start)
{
    static const char *const HOSTS[] = {"127.0.0.1", "0.0.0.0"};
    char err[4096], listens[3][64];
    const char *args[] = {"serve", NULL}, *env[4];
    for (size_t i = 0; i < sizeof(HOSTS) / sizeof(HOSTS[0]); i++) {
        own_ports(listens, env);
        snprintf(listens[0], sizeof(listens[0]), "FEEGATE_HTTP_LISTEN=%s:%d", HOSTS[i], srv.http_port);
        int status = fgt_cli_run_to("/dev/null", args, env, NULL, err, sizeof(err), 20000);
        ck_assert_msg(status == 1, "%s: exit status %d (-2: still serving), wanted 1; stderr: %s", listens[0], status,
                      err);
        ck_assert_msg(strstr(err, "http.listen") != NULL && strstr(err, "in use") != NULL, "%s", err);
    }
    own_ports(listens, env);
    snprintf(listens[2], sizeof(listens[2]), "FEEGATE_METRICS_LISTEN=127.0.0.1:%d", srv.metrics_port);
    ck_assert_int_eq(fgt_cli_run_to("/dev/null", args, env, NULL, err, sizeof(err), 20000), 1);
    ck_assert_msg(strstr(err, "metrics.listen") != NULL && strstr(err, "in use") != NULL, "%s", err);
    fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "GET", "/healthz", NULL, NULL, 0);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
}
END_TEST

/* A usage error: exit 2, a line naming what is wrong, nothing on stdout.
 * Killed after 20 s: a `serve` that took no notice would run on. */
static void usage_error(const char *const *args, const char *const *env, const char *why)
{
    static char err[8192];
    char out_path[64];
    struct stat st;
    snprintf(out_path, sizeof(out_path), "/tmp/feegate-usage-%d.out", (int)getpid());
    int status = fgt_cli_run_to(out_path, args, env, NULL, err, sizeof(err), 20000);
    ck_assert_msg(status == 2, "%s %s: exit status %d (-2: still running), wanted 2; stderr: %s", args[0],
                  args[1] ? args[1] : "", status, err);
    ck_assert_msg(strstr(err, why) != NULL, "%s %s: stderr lacks \"%s\": %s", args[0], args[1] ? args[1] : "", why,
                  err);
    ck_assert_int_eq(stat(out_path, &st), 0);
    ck_assert_msg(st.st_size == 0, "%s %s: stdout not empty", args[0], args[1] ? args[1] : "");
    unlink(out_path);
}

/* An option the command does not know, a word left over, a flag given
 * twice or without its value, a --config without its file: each stops the
 * command before it does anything, where it used to run without them (on
 * the defaults, for a --config). */
START_TEST(arguments_are_checked_before_anything_runs)
{
    char listens[3][64], path[] = "/tmp/feegate-config-XXXXXX", config_arg[64];
    const char *env[4];
    own_ports(listens, env);
    const char *serve_extra[] = {"serve", "--bogus", NULL};
    usage_error(serve_extra, env, "unknown argument \"--bogus\"");
    const char *serve_word[] = {"serve", "now", NULL};
    usage_error(serve_word, env, "unknown argument \"now\"");
    const char *dangling[] = {"admin", "key", "revoke", "--id", "key_none", "--config", NULL};
    usage_error(dangling, NULL, "--config needs a FILE");
    /* --config=FILE is read as --config FILE is */
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "[http]\nlisten = nowhere\n", 25), 25);
    close(fd);
    snprintf(config_arg, sizeof(config_arg), "--config=%s", path);
    const char *with_equals[] = {config_arg, "serve", NULL};
    usage_error(with_equals, env, "http.listen: expected host:port");
    const char *twice[] = {"--config", path, "ledger", "check", config_arg, NULL};
    usage_error(twice, NULL, "--config given twice");
    unlink(path);
    const char *migrate[] = {"migrate", "--dri", "/nonexistent", NULL};
    usage_error(migrate, NULL, "unknown argument \"--dri\"");
    const char *check[] = {"ledger", "check", "everything", NULL};
    usage_error(check, NULL, "unknown argument \"everything\"");
    const char *name = fgt_unique("Trường gõ nhầm");
    const char *misspelt[] = {"admin", "merchant", "create", "--name", name, "--nmae", "x", NULL};
    usage_error(misspelt, NULL, "unknown argument \"--nmae\"");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM merchants WHERE name = ?", name, NULL), 0);
    const char *repeated[] = {"admin", "key", "rotate", "--id", "key_a", "--id", "key_b", NULL};
    usage_error(repeated, NULL, "--id given twice");
    const char *no_value[] = {"statements", "import", "/nonexistent/statement.xml", "--format", NULL};
    usage_error(no_value, NULL, "--format needs a value");
    const char *payout[] = {"admin",    "merchant", "set-payout-account", "mer_none", "--bin", "970436", "--account",
                            "12345678", "--name",   "TRUONG A",           "--bnk",    "1",     NULL};
    usage_error(payout, NULL, "unknown argument \"--bnk\"");
    const char *version[] = {"version", "extra", NULL}, *help[] = {"--help", "--verbose", NULL};
    usage_error(version, NULL, "unknown argument \"extra\"");
    usage_error(help, NULL, "unknown argument \"--verbose\"");
}
END_TEST

/* A misspelt FEEGATE_ variable leaves its setting at the default: every
 * command that reads the configuration says so, not only serve. */
START_TEST(every_command_warns_of_unknown_environment_variables)
{
    char out[1024], err[4096];
    const char *args[] = {"admin", "key", "revoke", "--id", "key_none", NULL};
    const char *env[] = {"FEEGATE_DB_NAEM=feegate_elsewhere", NULL};
    ck_assert_int_eq(fgt_cli_run(args, env, NULL, out, sizeof(out), err, sizeof(err)), 1);
    ck_assert_msg(strstr(err, "an environment variable names no setting and is ignored") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "FEEGATE_DB_NAEM") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "no key key_none") != NULL, "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server");
    TCase *tc = fgt_tcase(s, "process", setup, teardown);
    tcase_add_loop_test(tc, every_answer_has_the_security_headers, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, health_and_readiness, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, unknown_route_and_wrong_method, 0, FGT_PROTOS);
    tcase_add_test(tc, metrics_are_prometheus_text);
    tcase_add_test(tc, metrics_only_on_their_own_listener);
    tcase_add_loop_test(tc, sigterm_finishes_requests_in_flight, 0, FGT_PROTOS);
    tcase_add_loop_test(tc, sigterm_lets_a_body_still_arriving_finish, 0, FGT_PROTOS);
    tcase_add_test(tc, sigterm_with_idle_connections_exits_0);
    tcase_add_test(tc, sigterm_waits_for_the_job_of_a_client_gone);
    tcase_add_test(tc, a_second_server_on_an_address_in_use_does_not_start);
    /* its own server on a database socket that comes and goes; no other
     * server may connect meanwhile (its connections are told apart by id) */
    tc = fgt_tcase(s, "readiness", merchant_setup, NULL);
    tcase_add_test(tc, readiness_follows_the_database);
    tc = fgt_tcase(s, "configuration", NULL, NULL);
    tcase_add_test(tc, bad_configuration_is_one_line_and_exit_2);
    tcase_add_test(tc, arguments_are_checked_before_anything_runs);
    tcase_add_test(tc, every_command_warns_of_unknown_environment_variables);
    return fgt_run(s);
}
