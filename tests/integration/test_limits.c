/*
 * test_limits.c - limits against abuse: request rates per client address on
 * public routes and per key on authenticated ones (429 with Retry-After);
 * sources of refused notifications held back, their inbox rows cut short and
 * pruned after their retention; slow clients timed out and connections
 * capped; TLS 1.2+ with forward-secret AEAD suites only; the certificate
 * reloaded on SIGHUP without dropping open connections.
 */
#define _GNU_SOURCE
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/text.h"
#include "harness.h"

#define SECRET "limits-sandbox-secret"

static fgt_server_t srv;
static fgt_merchant_t a, b;

static void merchants(void)
{
    fgt_merchant_create("Trường Mầm non Giới Hạn", a.id, a.key);
    fgt_merchant_create("Trường Tiểu học Giới Hạn", b.id, b.key);
}

static void stop(void)
{
    if (srv.pid > 0)
        ck_assert_int_eq(fgt_server_stop(&srv), 0);
    srv.pid = 0;
}

/* ---- rates per address and per key --------------------------------------------------- */

START_TEST(public_routes_are_limited_per_address)
{
    static const char *const env[] = {"FEEGATE_LIMITS_ADDRESS_PER_MINUTE=60", "FEEGATE_LIMITS_ADDRESS_BURST=5", NULL};
    fgt_server_start(&srv, env);
    for (int i = 0; i < 5; i++) {
        fgt_response_t r = fgt_request_from(&srv, FGT_HTTP1, "127.0.0.5", "GET", "/pay", NULL, NULL, 0);
        ck_assert_int_eq(r.status, 200);
        fgt_response_free(&r);
    }
    fgt_response_t r = fgt_request_from(&srv, FGT_H2C, "127.0.0.5", "GET", "/pay", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 429);
    long retry = atol(fgt_header(&r, "retry-after"));
    ck_assert_msg(retry >= 1 && retry <= 60, "Retry-After %ld", retry);
    /* a page answers a browser with a page */
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "text/html"));
    ck_assert_ptr_nonnull(strstr(r.body, "Too many requests"));
    fgt_response_free(&r);
    /* another address has its own bucket; static files and the providers' routes are not counted */
    r = fgt_request_from(&srv, FGT_HTTP1, "127.0.0.6", "GET", "/pay", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
    for (int i = 0; i < 10; i++) {
        r = fgt_request_from(&srv, FGT_HTTP1, "127.0.0.5", "GET", "/assets/feegate.css", NULL, NULL, 0);
        ck_assert_int_eq(r.status, 200);
        fgt_response_free(&r);
    }
    /* the metrics say what was refused */
    r = fgt_metrics(&srv);
    ck_assert_ptr_nonnull(strstr(r.body, "route=\"pay.find\",status=\"429\"} 1"));
    fgt_response_free(&r);
    stop();
}
END_TEST

/* Behind a proxy named in http.trusted_proxies, the client is the address
 * the proxy heard from (the rightmost X-Forwarded-For entry that is not a
 * trusted proxy): each client has its own bucket, and what a client writes
 * into the header itself changes nothing.  Anyone else's header is ignored. */
static long status_from(const char *source, const char *xff)
{
    const char *headers[] = {xff, NULL};
    fgt_response_t r = fgt_request_from(&srv, FGT_HTTP1, source, "GET", "/pay", xff != NULL ? headers : NULL, NULL, 0);
    long status = r.status;
    fgt_response_free(&r);
    return status;
}

START_TEST(behind_trusted_proxies_each_client_has_its_bucket)
{
    static const char *const env[] = {"FEEGATE_LIMITS_ADDRESS_PER_MINUTE=60", "FEEGATE_LIMITS_ADDRESS_BURST=3",
                                      "FEEGATE_HTTP_TRUSTED_PROXIES=127.0.0.20/31, 192.0.2.1", NULL};
    fgt_server_start(&srv, env);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(status_from("127.0.0.20", "X-Forwarded-For: 203.0.113.1"), 200);
    ck_assert_int_eq(status_from("127.0.0.20", "X-Forwarded-For: 203.0.113.1"), 429);
    /* a second proxy of ours on the way, and the client's own entry on the left: still 203.0.113.1 */
    ck_assert_int_eq(status_from("127.0.0.21", "X-Forwarded-For: 198.51.100.7, 203.0.113.1, 192.0.2.1"), 429);
    /* another client behind the same proxy */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(status_from("127.0.0.20", "X-Forwarded-For: 203.0.113.2:51000"), 200);
    ck_assert_int_eq(status_from("127.0.0.21", "X-Forwarded-For: 203.0.113.2"), 429);
    /* the proxy's own requests are its own */
    ck_assert_int_eq(status_from("127.0.0.20", NULL), 200);
    /* a peer that is not a proxy is the client whatever the header says */
    for (int i = 0; i < 3; i++) {
        char xff[64];
        snprintf(xff, sizeof(xff), "X-Forwarded-For: 203.0.113.%d", 100 + i);
        ck_assert_int_eq(status_from("127.0.0.30", xff), 200);
    }
    ck_assert_int_eq(status_from("127.0.0.30", "X-Forwarded-For: 203.0.113.200"), 429);
    stop();
}
END_TEST

START_TEST(authenticated_routes_are_limited_per_key)
{
    static const char *const env[] = {"FEEGATE_LIMITS_KEY_PER_MINUTE=60", "FEEGATE_LIMITS_KEY_BURST=3", NULL};
    fgt_server_start(&srv, env);
    for (int p = 0; p < 3; p++) {
        fgt_response_t r = fgt_req(&srv, (fgt_proto_t)p, "GET", "/v1/orders", a.key, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        fgt_response_free(&r);
    }
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_response_t r = fgt_req(&srv, (fgt_proto_t)p, "GET", "/v1/orders", a.key, NULL, NULL, 0, NULL);
        fgt_expect(r, 429, "rate_limited");
        ck_assert_str_eq(fgt_json_str(&r, "error", "type", NULL), "rate_limited");
        ck_assert_int_ge(atol(fgt_header(&r, "retry-after")), 1);
        fgt_response_free(&r);
    }
    /* the same key spelled with more spaces (authentication takes it) shares its bucket */
    char spaced[200];
    snprintf(spaced, sizeof(spaced), "Authorization: Bearer    %s", a.key);
    const char *spaced_headers[] = {spaced, NULL};
    fgt_response_t r = fgt_request(&srv, FGT_H2C, "GET", "/v1/orders", spaced_headers, NULL, 0);
    fgt_expect(r, 429, "rate_limited");
    fgt_response_free(&r);
    /* the other merchant's key is not held back by the first one's */
    r = fgt_req(&srv, FGT_H2TLS, "GET", "/v1/orders", b.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_response_free(&r);
    stop();
}
END_TEST

/* /readyz asks the database, and is public: a flood of probes is answered from the last
 * ping (a second old at most), every one of them 200 while the database answers, and costs the
 * database a ping a second a loop, not one each. */
START_TEST(readiness_probes_are_answered_from_a_recent_ping)
{
    fgt_server_start(&srv, NULL);
    long long pings = fgt_db_int("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = "
                                 "'COM_ADMIN_COMMANDS'",
                                 NULL, NULL);
    fgt_request_t reqs[100];
    fgt_response_t out[100];
    for (int i = 0; i < 100; i++)
        reqs[i] = (fgt_request_t){"GET", "/readyz", NULL, NULL, 0, NULL};
    fgt_request_all(&srv, FGT_H2C, 4, 100, reqs, NULL, NULL, out);
    for (int i = 0; i < 100; i++) {
        fgt_expect(out[i], 200, NULL);
        fgt_response_free(&out[i]);
    }
    long long more = fgt_db_int("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = "
                                "'COM_ADMIN_COMMANDS'",
                                NULL, NULL) -
                     pings;
    ck_assert_msg(more < 50, "100 probes cost %lld pings", more);
    stop();
}
END_TEST

/* ---- refused notifications ----------------------------------------------------------- */

START_TEST(sources_of_refused_notifications_are_held_back)
{
    static const char *const env[] = {"FEEGATE_SANDBOX_SECRET=" SECRET, "FEEGATE_LIMITS_REJECTED_PER_MINUTE=60",
                                      "FEEGATE_LIMITS_REJECTED_BURST=3", "FEEGATE_WEBHOOKS_INBOX_REJECTED_BYTES=1024",
                                      NULL};
    fgt_server_start(&srv, env);
    const char *marker = fgt_unique("forged");
    size_t big = 48 * 1024; /* under the sandbox's 64 KiB, so it is judged by its signature */
    char *body = malloc(big + 64);
    int n = sprintf(body, "{\"payment_id\":\"%s\",\"pad\":\"", marker);
    memset(body + n, 'f', big);
    strcpy(body + n + big, "\"}");
    /* signed now, with a key that is not ours */
    char forged_header[200];
    fgt_sandbox_signature("not-our-secret", body, forged_header, sizeof(forged_header));
    char *pad = malloc(20 * 1024 + 16);
    int m = sprintf(pad, "X-Pad: ");
    memset(pad + m, 'h', 20 * 1024);
    pad[m + 20 * 1024] = '\0';
    const char *forged[] = {forged_header, pad, NULL};
    for (int i = 0; i < 3; i++) {
        fgt_response_t r = fgt_request_from(&srv, FGT_HTTP1, "127.0.0.7", "POST", "/v1/webhooks/sandbox", forged, body,
                                            strlen(body));
        ck_assert_int_eq(r.status, 401);
        fgt_response_free(&r);
    }
    /* stored, but only their first 1024 bytes of each part */
    char like[96];
    snprintf(like, sizeof(like), "%%%s%%", marker);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE status = 'rejected' AND body LIKE ? "
                                "AND LENGTH(body) = 1024 AND LENGTH(headers) <= 1024",
                                like, NULL),
                     3);
    /* the fourth is answered 429 before anything is read or stored, on either route */
    fgt_response_t r = fgt_request_from(&srv, FGT_H2C, "127.0.0.7", "POST", "/v1/webhooks/sandbox", forged, body,
                                        strlen(body));
    ck_assert_int_eq(r.status, 429);
    ck_assert_int_ge(atol(fgt_header(&r, "retry-after")), 1);
    fgt_response_free(&r);
    r = fgt_request_from(&srv, FGT_HTTP1, "127.0.0.7", "GET", "/v1/webhooks/vnpay?vnp_TxnRef=x", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 429);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE body LIKE ?", like, NULL), 3);
    free(body);
    free(pad);

    /* a genuine notification from elsewhere is applied as ever */
    char order[64], pay[64], note[300], header[200];
    fgt_response_t o = fgt_order_create(&srv, FGT_HTTP1, a.key, NULL, fgt_unique("LIM"), 90000, NULL);
    fgt_expect(o, 201, NULL);
    snprintf(order, sizeof(order), "%s", fgt_json_str(&o, "id", NULL));
    fgt_response_free(&o);
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", order);
    fgt_response_t p = fgt_req(&srv, FGT_HTTP1, "POST", path, a.key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    fgt_expect(p, 201, NULL);
    snprintf(pay, sizeof(pay), "%s", fgt_json_str(&p, "id", NULL));
    fgt_response_free(&p);
    snprintf(note, sizeof(note),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":90000}", pay,
             fgt_unique("TX"));
    fgt_sandbox_signature(SECRET, note, header, sizeof(header));
    const char *genuine[] = {header, NULL};
    r = fgt_request_from(&srv, FGT_HTTP1, "127.0.0.8", "POST", "/v1/webhooks/sandbox", genuine, note, strlen(note));
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM payments WHERE public_id = ? AND status = 'succeeded'", pay,
                                NULL),
                     1);
    stop();
}
END_TEST

START_TEST(rejected_inbox_rows_are_pruned_after_their_retention)
{
    const char *old_reason = fgt_unique("old-forgery");
    const char *new_reason = fgt_unique("new-forgery");
    const char *applied_event = fgt_unique("old-applied");
    long long now = (long long)time(NULL) * 1000, old = now - 40LL * 86400000;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_inbox (adapter, provider_event_id, status, reason, method, headers, body, "
             "response_status, response_body, received_at) VALUES ('sandbox', NULL, 'rejected', ?, 'POST', '', '', "
             "401, '', %lld)",
             old);
    fgt_db_exec(sql, old_reason);
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_inbox (adapter, provider_event_id, status, reason, method, headers, body, "
             "response_status, response_body, received_at) VALUES ('sandbox', NULL, 'rejected', ?, 'POST', '', '', "
             "401, '', %lld)",
             now - 86400000LL);
    fgt_db_exec(sql, new_reason);
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_inbox (adapter, provider_event_id, status, reason, method, headers, body, "
             "response_status, response_body, received_at) VALUES ('sandbox', ?, 'applied', NULL, 'POST', '', '', "
             "200, '', %lld)",
             old);
    fgt_db_exec(sql, applied_event);
    static const char *const env[] = {"FEEGATE_WEBHOOKS_INBOX_REJECTED_DAYS=30", NULL};
    fgt_server_start(&srv, env);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        gone = fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE reason = ?", old_reason, NULL) == 0;
        if (!gone)
            fgt_sleep_ms(100);
    }
    ck_assert_msg(gone, "a rejected row 40 days old is still there");
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE reason = ?", new_reason, NULL), 1);
    ck_assert_int_eq(fgt_db_int("SELECT COUNT(*) FROM webhook_inbox WHERE provider_event_id = ?", applied_event, NULL),
                     1);
    stop();
}
END_TEST

/* ---- slow clients and connection count ------------------------------------------------ */

/* Reads until the server closes (0) or timeout_ms pass (-1). */
static int wait_closed(int fd, int timeout_ms)
{
    char buf[4096];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            return -1;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return 0;
    }
}

START_TEST(a_slow_client_is_timed_out)
{
    static const char *const env[] = {"FEEGATE_HTTP_REQUEST_TIMEOUT_S=1", NULL};
    fgt_server_start(&srv, env);
    int fd = fgt_tcp_connect(srv.http_port);
    static const char part[] = "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"amo";
    ck_assert_int_eq(send(fd, part, sizeof(part) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(part) - 1));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(wait_closed(fd, 5000) == 0, "a client that stopped sending was not cut off within 5 s");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_msg(ms >= 500, "closed after %ld ms, before its timeout", ms);
    close(fd);
    stop();
}
END_TEST

START_TEST(connections_beyond_the_cap_are_closed)
{
    static const char *const env[] = {"FEEGATE_HTTP_MAX_CONNECTIONS=4", NULL};
    fgt_server_start(&srv, env);
    fgt_sleep_ms(300); /* the start-up probe's connection is gone */
    int held[4];
    for (int i = 0; i < 4; i++)
        held[i] = fgt_tcp_connect(srv.http_port);
    fgt_sleep_ms(200);
    int extra = fgt_tcp_connect(srv.http_port);
    ck_assert_msg(wait_closed(extra, 3000) == 0, "the fifth connection was kept");
    close(extra);
    /* the held ones still work */
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(send(held[0], get, sizeof(get) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(get) - 1));
    char answer[512] = {0};
    struct pollfd p = {.fd = held[0], .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 3000), 1);
    ck_assert_int_gt(recv(held[0], answer, sizeof(answer) - 1, 0), 0);
    ck_assert_msg(strncmp(answer, "HTTP/1.1 200", 12) == 0, "%s", answer);
    for (int i = 0; i < 4; i++)
        close(held[i]);
    /* room again once they are gone */
    int ok = 0;
    for (int i = 0; i < 50 && !ok; i++) {
        fgt_sleep_ms(100);
        fgt_response_t r = fgt_request(&srv, FGT_HTTP1, "GET", "/healthz", NULL, NULL, 0);
        ok = r.status == 200;
        fgt_response_free(&r);
    }
    ck_assert(ok);
    stop();
}
END_TEST

/* ---- TLS -------------------------------------------------------------------------------- */

START_TEST(tls_below_1_2_and_weak_suites_are_refused)
{
    fgt_server_start(&srv, NULL);
    ck_assert_ptr_null(fgt_tls_connect(srv.https_port, NULL, TLS1_1_VERSION, NULL));
    ck_assert_ptr_null(fgt_tls_connect(srv.https_port, NULL, TLS1_VERSION, NULL));
    /* TLS 1.2 without forward secrecy, or with CBC */
    ck_assert_ptr_null(fgt_tls_connect(srv.https_port, NULL, TLS1_2_VERSION, "AES128-GCM-SHA256"));
    ck_assert_ptr_null(fgt_tls_connect(srv.https_port, NULL, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"));
    fgt_tls_t *t = fgt_tls_connect(srv.https_port, NULL, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256");
    ck_assert_ptr_nonnull(t);
    fgt_tls_close(t);
    t = fgt_tls_connect(srv.https_port, NULL, 0, NULL);
    ck_assert_ptr_nonnull(t);
    fgt_tls_close(t);
    stop();
}
END_TEST

static void make_cert(const char *cert, const char *key, const char *cn)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=%s "
             "-keyout %s.new -out %s.new 2>/dev/null && mv %s.new %s && mv %s.new %s",
             cn, key, cert, key, key, cert, cert);
    ck_assert_int_eq(system(cmd), 0);
}

static void cn_of_a_new_connection(char *out, size_t cap)
{
    fgt_tls_t *t = fgt_tls_connect(srv.https_port, "\x08http/1.1", 0, NULL);
    ck_assert_ptr_nonnull(t);
    fgt_tls_peer_cn(t, out, cap);
    fgt_tls_close(t);
}

static void get_health(fgt_tls_t *t)
{
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char answer[4096] = {0};
    size_t len = 0;
    ck_assert_int_eq(fgt_tls_write(t, get, sizeof(get) - 1), (int)(sizeof(get) - 1));
    /* the head and the body may come in records of their own */
    while (strstr(answer, "{\"status\":\"ok\"}") == NULL) {
        int n = fgt_tls_read(t, answer + len, sizeof(answer) - len, 5000);
        ck_assert_msg(n > 0, "the connection ended or went quiet: %s", answer);
        len += (size_t)n;
    }
    ck_assert_msg(strncmp(answer, "HTTP/1.1 200", 12) == 0, "%s", answer);
}

START_TEST(sighup_reloads_the_certificate_without_dropping_connections)
{
    char dir[] = "/tmp/feegate-certs-XXXXXX", cert[128], key[128], cert_env[160], key_env[160], cn[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    make_cert(cert, key, "before.feegate.test");
    snprintf(cert_env, sizeof(cert_env), "FEEGATE_HTTPS_CERT=%s", cert);
    snprintf(key_env, sizeof(key_env), "FEEGATE_HTTPS_KEY=%s", key);
    const char *env[] = {cert_env, key_env, NULL};
    fgt_server_start(&srv, env);
    fgt_tls_t *open = fgt_tls_connect(srv.https_port, "\x08http/1.1", 0, NULL);
    ck_assert_ptr_nonnull(open);
    fgt_tls_peer_cn(open, cn, sizeof(cn));
    ck_assert_str_eq(cn, "before.feegate.test");
    get_health(open);

    make_cert(cert, key, "after.feegate.test");
    ck_assert_int_eq(kill(srv.pid, SIGHUP), 0);
    int reloaded = 0;
    for (int i = 0; i < 50 && !reloaded; i++) {
        cn_of_a_new_connection(cn, sizeof(cn));
        reloaded = strcmp(cn, "after.feegate.test") == 0;
        if (!reloaded)
            fgt_sleep_ms(100);
    }
    ck_assert_msg(reloaded, "new connections still get %s", cn);
    /* the connection opened before goes on with its own */
    get_health(open);
    fgt_tls_close(open);

    /* files that do not load leave the served certificate in place */
    FILE *f = fopen(cert, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a certificate\n", f);
    fclose(f);
    ck_assert_int_eq(kill(srv.pid, SIGHUP), 0);
    fgt_sleep_ms(500);
    cn_of_a_new_connection(cn, sizeof(cn));
    ck_assert_str_eq(cn, "after.feegate.test");
    fgt_response_t r = fgt_request(&srv, FGT_H2TLS, "GET", "/healthz", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
    stop();
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = fgt_tcase(s, "limits", merchants, stop);
    tcase_add_test(tc, public_routes_are_limited_per_address);
    tcase_add_test(tc, behind_trusted_proxies_each_client_has_its_bucket);
    tcase_add_test(tc, authenticated_routes_are_limited_per_key);
    tcase_add_test(tc, readiness_probes_are_answered_from_a_recent_ping);
    tcase_add_test(tc, sources_of_refused_notifications_are_held_back);
    tcase_add_test(tc, rejected_inbox_rows_are_pruned_after_their_retention);
    tcase_add_test(tc, a_slow_client_is_timed_out);
    tcase_add_test(tc, connections_beyond_the_cap_are_closed);
    tcase_add_test(tc, tls_below_1_2_and_weak_suites_are_refused);
    tcase_add_test(tc, sighup_reloads_the_certificate_without_dropping_connections);
    return fgt_run(s);
}
