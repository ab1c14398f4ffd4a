/*
 * test_net.c - the outbound HTTP client: what a failed call says about
 * whether the provider may have seen the request, and the bound on calls in
 * flight that keeps a slow provider from holding every database worker.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "net/http_client.h"

/* A listener that accepts connections (the kernel does) and never answers. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A loopback port nobody listens on. */
static int closed_port(void)
{
    int port, fd = silent_listener(&port);
    close(fd);
    return port;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char url[64];
    int rc;
    fg_http_response_t r;
} call_t;

static void *slow_call(void *arg)
{
    call_t *c = arg;
    c->rc = fg_http_post_json(c->url, "{}", 2, 1500, &c->r);
    return NULL;
}

START_TEST(refused_connection_was_never_sent)
{
    char url[64];
    fg_http_response_t r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", closed_port());
    ck_assert_int_eq(fg_http_post_json(url, "{}", 2, 2000, &r), FG_EUNAVAILABLE);
    ck_assert_int_eq(r.not_sent, 1);
    ck_assert_int_eq(r.timed_out, 0);
    ck_assert_int_eq(r.status, 0);
    fg_http_response_free(&r);
}
END_TEST

START_TEST(timeout_after_sending_may_have_been_seen)
{
    int port, fd = silent_listener(&port);
    call_t c;
    snprintf(c.url, sizeof(c.url), "http://127.0.0.1:%d/x", port);
    slow_call(&c);
    ck_assert_int_eq(c.rc, FG_EUNAVAILABLE);
    ck_assert_int_eq(c.r.timed_out, 1);
    ck_assert_int_eq(c.r.not_sent, 0); /* the request went out: its fate is unknown */
    fg_http_response_free(&c.r);
    close(fd);
}
END_TEST

START_TEST(calls_beyond_the_bound_fail_at_once_unsent)
{
    int port, fd = silent_listener(&port);
    call_t c;
    pthread_t t;
    snprintf(c.url, sizeof(c.url), "http://127.0.0.1:%d/x", port);
    ck_assert_int_eq(pthread_create(&t, NULL, slow_call, &c), 0);
    usleep(300 * 1000); /* the slow call holds the one slot */
    fg_http_response_t r;
    double t0 = now_s();
    ck_assert_int_eq(fg_http_post_json(c.url, "{}", 2, 1500, &r), FG_EUNAVAILABLE);
    ck_assert_msg(now_s() - t0 < 0.2, "a call beyond the bound waited %.3f s", now_s() - t0);
    ck_assert_int_eq(r.not_sent, 1);
    ck_assert_ptr_nonnull(strstr(r.error, "too many"));
    fg_http_response_free(&r);
    pthread_join(t, NULL);
    ck_assert_int_eq(c.r.timed_out, 1);
    fg_http_response_free(&c.r);
    /* the slot is free again */
    slow_call(&c);
    ck_assert_int_eq(c.r.not_sent, 0);
    fg_http_response_free(&c.r);
    close(fd);
}
END_TEST

int main(void)
{
    if (fg_http_client_init(1) != 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("http_client");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, refused_connection_was_never_sent);
    tcase_add_test(tc, timeout_after_sending_may_have_been_seen);
    tcase_add_test(tc, calls_beyond_the_bound_fail_at_once_unsent);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    fg_http_client_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
