/*
 * test_server.c - the process: health, readiness and its recovery, metrics,
 * unknown routes, graceful shutdown with requests in flight, config errors.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

static char mer[64], key[64];

START_TEST(health_metrics_and_unknown_routes)
{
    fgt_server_t s;
    fgt_server_start(&s, NULL);
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_resp_t r = fgt_req(&s, (fgt_proto_t)p, "GET", "/healthz", NULL, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        ck_assert_str_eq(fgt_str(&r, "status", NULL), "ok");
        fgt_resp_free(&r);
        r = fgt_req(&s, (fgt_proto_t)p, "GET", "/readyz", NULL, NULL, NULL, 0, NULL);
        fgt_expect(r, 200, NULL);
        fgt_resp_free(&r);
        r = fgt_req(&s, (fgt_proto_t)p, "GET", "/nope", NULL, NULL, NULL, 0, NULL);
        fgt_expect(r, 404, "route_not_found");
        ck_assert_str_eq(fgt_str(&r, "error", "type", NULL), "not_found");
        fgt_resp_free(&r);
        r = fgt_req(&s, (fgt_proto_t)p, "DELETE", "/v1/orders", key, NULL, NULL, 0, NULL);
        fgt_expect(r, 405, "method_not_allowed");
        fgt_resp_free(&r);
    }
    char body[200];
    snprintf(body, sizeof(body), "{\"merchant_ref\":\"%s\",\"fee_type\":\"procedure\",\"amount\":30000,\"currency\":\"VND\"}",
             fgt_unique("M"));
    fgt_resp_t r = fgt_req(&s, FGT_H2C, "POST", "/v1/orders", key, NULL, body, 0, NULL);
    fgt_expect(r, 201, NULL);
    fgt_resp_free(&r);
    r = fgt_req(&s, FGT_HTTP1, "GET", "/metrics", NULL, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "text/plain"));
    ck_assert_ptr_nonnull(strstr(r.body, "feegate_http_requests_total{route=\"orders.create\",status=\"201\"} 1"));
    ck_assert_ptr_nonnull(strstr(r.body, "feegate_http_requests_total{route=\"not_found\",status=\"404\"} 3"));
    ck_assert_ptr_nonnull(strstr(r.body, "feegate_http_request_duration_seconds_bucket{route=\"orders.create\",le=\"+Inf\"} 1"));
    ck_assert_ptr_nonnull(strstr(r.body, "feegate_db_pool_in_use "));
    ck_assert_ptr_nonnull(strstr(r.body, "feegate_db_pool_waiting "));
    fgt_resp_free(&r);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
}
END_TEST

/* Kills this server's database connections: those that appeared after it
 * started (ids above the newest one before it). */
static void kill_connections_after(long long first_id)
{
    char id[32];
    long long max = fgt_db_int("SELECT MAX(id) FROM information_schema.processlist", NULL, NULL);
    for (long long i = first_id + 1; i <= max; i++) {
        snprintf(id, sizeof(id), "%lld", i);
        if (fgt_db_int("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND user = 'feegate' "
                       "AND id <> CONNECTION_ID()", id, NULL) == 1)
            fgt_db_exec("KILL CONNECTION ?", id);
    }
}

static long readyz(const fgt_server_t *s)
{
    fgt_resp_t r = fgt_req(s, FGT_H2C, "GET", "/readyz", NULL, NULL, NULL, 0, NULL);
    long status = r.status;
    if (status == 503)
        ck_assert_str_eq(fgt_str(&r, "error", "type", NULL), "unavailable");
    fgt_resp_free(&r);
    return status;
}

static long wait_ready(const fgt_server_t *s, long want)
{
    long got = 0;
    for (int i = 0; i < 100 && (got = readyz(s)) != want; i++)
        usleep(100000);
    return got;
}

START_TEST(readiness_follows_the_database)
{
    char dir[] = "/tmp/fgt-dbXXXXXX", link_path[128], env[160];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(link_path, sizeof(link_path), "%s/mysqld.sock", dir);
    snprintf(env, sizeof(env), "FEEGATE_DB_SOCKET=%s", link_path);
    const char *extra[] = {env, NULL};
    long long before = fgt_db_int("SELECT MAX(id) FROM information_schema.processlist", NULL, NULL);
    fgt_server_t s;
    fgt_server_start(&s, extra); /* the database "is down": no socket there */
    ck_assert_int_eq(readyz(&s), 503);
    fgt_resp_t r = fgt_req(&s, FGT_H2C, "GET", "/healthz", NULL, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    fgt_resp_free(&r);
    ck_assert_int_eq(symlink(getenv("FEEGATE_DB_SOCKET"), link_path), 0); /* it comes up */
    ck_assert_int_eq(wait_ready(&s, 200), 200);
    unlink(link_path); /* it goes away again, taking the connections */
    kill_connections_after(before);
    ck_assert_int_eq(wait_ready(&s, 503), 503);
    ck_assert_int_eq(symlink(getenv("FEEGATE_DB_SOCKET"), link_path), 0);
    ck_assert_int_eq(wait_ready(&s, 200), 200);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
    unlink(link_path);
    rmdir(dir);
}
END_TEST

START_TEST(graceful_shutdown_finishes_in_flight_requests)
{
    enum { N = 12, ORDERS = 400 };
    fgt_server_t s;
    fgt_server_start(&s, NULL);
    pid_t child = fork();
    if (child == 0) { /* SIGTERM while the batches are running */
        usleep(150000);
        kill(s.pid, SIGTERM);
        _exit(0);
    }
    size_t cap = ORDERS * 120 + 32, len = 0;
    char *body = malloc(cap);
    const char *tag = fgt_unique("GS");
    len += (size_t)snprintf(body, cap, "{\"orders\":[");
    for (int i = 0; i < ORDERS; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s{\"merchant_ref\":\"%s-%d\",\"fee_type\":\"utility\","
                                "\"amount\":1000,\"currency\":\"VND\"}", i ? "," : "", tag, i);
    snprintf(body + len, cap - len, "]}");
    fgt_resp_t out[N];
    /* every batch has distinct refs only within itself: later ones answer duplicates, still 200 */
    fgt_req_many(&s, FGT_HTTP1, N, "POST", "/v1/orders/batch", key, NULL, body, NULL, out);
    int completed = 0;
    for (int i = 0; i < N; i++) {
        if (out[i].status == 200) {
            const char *path[] = {"data", NULL};
            yajl_val data = yajl_tree_get(out[i].json, path, yajl_t_array);
            ck_assert_msg(data != NULL && data->u.array.len == ORDERS, "a truncated answer");
            completed++;
        }
        fgt_resp_free(&out[i]);
    }
    waitpid(child, NULL, 0);
    int st = fgt_server_stop(&s);
    ck_assert_int_eq(st, 0);
    ck_assert_int_ge(completed, 1); /* those accepted before the signal were answered in full */
    free(body);
}
END_TEST

static void config_error(const char *assignment, const char *key_name)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        putenv((char *)assignment);
        const char *b = getenv("FEEGATE_BIN") ? getenv("FEEGATE_BIN") : getenv("FEEGATE_BIN_DEFAULT");
        execl(b, b, "serve", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[1024] = "";
    ssize_t n = read(fds[0], out, sizeof(out) - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "exit %d for %s", WEXITSTATUS(st), assignment);
    ck_assert_msg(strstr(out, key_name) != NULL, "%s not named in: %s", key_name, out);
    ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1, "more than one line: %s", out);
}

START_TEST(bad_config_is_one_line_and_exit_2)
{
    config_error("FEEGATE_DB_PORT=abc", "db.port");
    config_error("FEEGATE_HTTP_LISTEN=nonsense", "http.listen");
    config_error("FEEGATE_DB_POOL_SIZE=0", "db.pool_size");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("process");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, health_metrics_and_unknown_routes);
    tcase_add_test(tc, readiness_follows_the_database);
    tcase_add_test(tc, graceful_shutdown_finishes_in_flight_requests);
    tcase_add_test(tc, bad_config_is_one_line_and_exit_2);
    suite_add_tcase(s, tc);
    fgt_merchant("UBND Phường Kiểm Thử", mer, key);
    return fgt_run(s);
}
