/*
 * test_framing.c - HTTP/1.1 framing read strictly: a request whose end two
 * readers could place differently (several Content-Length, Content-Length
 * with Transfer-Encoding, bare LF line ends, folded headers) is answered 400
 * and its connection closed, so the bytes after it never run as a request;
 * h2o's own early answers (a body over the largest limit, an unknown
 * Expect) come in the API's JSON error shape.  Raw bytes over TCP and TLS.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "core/buf.h"
#include "harness.h"

static fgt_server_t srv;
static fgt_merchant_t a, b;

static void setup(void)
{
    fgt_merchant_create("Trường Tiểu học Khung", a.id, a.key);
    fgt_merchant_create("Trường THCS Khung", b.id, b.key);
    fgt_server_start(&srv, NULL);
}

static void teardown(void) { ck_assert_int_eq(fgt_server_stop(&srv), 0); }

/* Sends the bytes and reads until the server closes (or 10 s pass: then
 * *closed is 0).  The answer bytes go into out. */
static void exchange(int tls, const char *bytes, size_t len, fg_buf_t *out, int *closed)
{
    fgt_tls_t *t = NULL;
    int fd = -1;
    if (tls) {
        t = fgt_tls_connect(srv.https_port, "\x08http/1.1", 0, NULL);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(fgt_tls_write(t, bytes, len), (int)len);
    } else {
        fd = fgt_tcp_connect(srv.http_port);
        ck_assert_int_eq(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
    }
    *closed = 0;
    for (;;) {
        char chunk[16384];
        ssize_t n;
        if (t != NULL) {
            n = fgt_tls_read(t, chunk, sizeof(chunk), 10000);
        } else {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            n = poll(&p, 1, 10000) <= 0 ? -1 : recv(fd, chunk, sizeof(chunk), 0);
        }
        if (n < 0)
            break;
        if (n == 0) {
            *closed = 1;
            break;
        }
        fg_buf_append(out, chunk, (size_t)n);
    }
    fgt_tls_close(t);
    if (fd >= 0)
        close(fd);
}

static int count_answers(const fg_buf_t *out)
{
    int n = 0;
    for (const char *p = out->data; p != NULL && (p = strstr(p, "HTTP/1.1 ")) != NULL; p += 9)
        n++;
    return n;
}

/* One answer with this status and error code, and the connection closed.
 * code NULL: h2o's parser refuses the request line or a header name itself,
 * with its own fixed 400 before any of ours can run. */
static void expect_refused(int tls, const char *bytes, int status, const char *code)
{
    fg_buf_t out = FG_BUF_INIT;
    int closed;
    exchange(tls, bytes, strlen(bytes), &out, &closed);
    fg_buf_putc(&out, '\0');
    char line[32];
    snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
    ck_assert_msg(strncmp(out.data, line, strlen(line)) == 0, "wanted %s, got: %.300s", line, out.data);
    ck_assert_msg(count_answers(&out) == 1, "the bytes after the refused request ran: %s", out.data);
    ck_assert_msg(closed, "the connection stayed open after a refused request");
    ck_assert_msg(strcasestr(out.data, "connection: close") != NULL, "no Connection: close: %s", out.data);
    if (code == NULL) {
        fg_buf_free(&out);
        return;
    }
    ck_assert_msg(strcasestr(out.data, "content-type: application/json") != NULL, "not JSON: %s", out.data);
    ck_assert_msg(strcasestr(out.data, "x-content-type-options: nosniff") != NULL, "no nosniff: %s", out.data);
    char want[96];
    snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
    ck_assert_msg(strstr(out.data, want) != NULL, "wanted %s in %s", want, out.data);
    fg_buf_free(&out);
}

/* The example: the first Content-Length frames "{}", the second the
 * whole rest; the rest is another merchant's read that must never run. */
START_TEST(conflicting_content_length_is_refused_and_nothing_after_it_runs)
{
    int tls = _i;
    char smuggled[512], bytes[1024];
    snprintf(smuggled, sizeof(smuggled), "GET /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             b.key);
    snprintf(bytes, sizeof(bytes),
             "POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: 2\r\nContent-Length: %zu\r\n\r\n{}%s",
             a.key, 2 + strlen(smuggled), smuggled);
    expect_refused(tls, bytes, 400, "malformed_request");
    /* two equal values are still two headers */
    expect_refused(tls,
                   "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}"
                   "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                   400, "malformed_request");
}
END_TEST

START_TEST(content_length_with_transfer_encoding_is_refused)
{
    expect_refused(_i,
                   "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                   400, "malformed_request");
}
END_TEST

START_TEST(bare_lf_folded_and_spaced_headers_are_refused)
{
    int tls = _i;
    expect_refused(tls, "GET /healthz HTTP/1.1\nHost: x\n\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
                   "malformed_request");
    expect_refused(tls, "GET /healthz HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", 400, "malformed_request");
    expect_refused(tls, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400, "malformed_request");
    expect_refused(tls, "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}", 400, NULL);
}
END_TEST

/* Strictness must not cost a well-formed client anything: pipelined requests,
 * a body, chunked encoding and leading empty lines all still work. */
START_TEST(well_formed_pipelines_still_work)
{
    int tls = _i;
    fg_buf_t out = FG_BUF_INIT;
    int closed;
    char bytes[2048];
    snprintf(bytes, sizeof(bytes),
             "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: 2\r\n\r\n{}"
             "POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
             "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             a.key, a.key);
    exchange(tls, bytes, strlen(bytes), &out, &closed);
    fg_buf_putc(&out, '\0');
    ck_assert_msg(count_answers(&out) == 4, "wanted 4 answers: %s", out.data);
    ck_assert_msg(strncmp(out.data, "HTTP/1.1 200 ", 13) == 0, "%s", out.data);
    /* the two orders are read, and refused for what they say, not how they are framed */
    const char *at = out.data;
    for (int i = 1; i < 3; i++) {
        at = strstr(at + 9, "HTTP/1.1 ");
        ck_assert_msg(strncmp(at, "HTTP/1.1 400 ", 13) == 0 || strncmp(at, "HTTP/1.1 422 ", 13) == 0, "%.300s", at);
        const char *next = strstr(at + 9, "HTTP/1.1 ");
        const char *malformed = strstr(at, "malformed_request");
        ck_assert_msg(malformed == NULL || malformed > next, "a well-framed request was refused: %.400s", at);
        const char *keep = strcasestr(at, "connection: keep-alive");
        ck_assert_msg(keep != NULL && keep < next, "the connection did not stay open: %.400s", at);
    }
    ck_assert_msg(closed, "Connection: close was not honoured");
    fg_buf_free(&out);
    /* a redirect's status line names it: the staff pages send a visitor to the login */
    static const char see_other[] = "GET /staff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    exchange(tls, see_other, strlen(see_other), &out, &closed);
    fg_buf_putc(&out, '\0');
    ck_assert_msg(strncmp(out.data, "HTTP/1.1 303 See Other\r\n", 24) == 0, "%.200s", out.data);
    fg_buf_free(&out);
}
END_TEST

/* h2o answers these before any handler runs; they come in the API's shape. */
START_TEST(early_answers_are_json)
{
    int tls = _i;
    expect_refused(tls, "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n", 413,
                   "body_too_large");
    expect_refused(tls, "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 200-maybe\r\n\r\n{}", 417,
                   "expectation_failed");
}
END_TEST

/* A body over its route's limit is the API's JSON 413 on every protocol:
 * a batch of 16 MiB + 1 byte (up to 64 MiB the whole body reaches the route;
 * docs/HARDENING.md says what HTTP/2 does beyond). */
START_TEST(a_body_over_its_routes_limit_is_json_413_on_every_protocol)
{
    size_t len = 16 * 1024 * 1024 + 1;
    char *body = malloc(len);
    memset(body, ' ', len);
    body[0] = '{';
    body[len - 1] = '}';
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_response_t r = fgt_req(&srv, (fgt_proto_t)p, "POST", "/v1/orders/batch", a.key, fgt_unique("big"), body,
                                   len, NULL);
        fgt_expect(r, 413, "body_too_large");
        ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "application/json"));
        fgt_response_free(&r);
    }
    free(body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("framing");
    TCase *tc = fgt_tcase(s, "http1", setup, teardown);
    /* _i: 0 plain, 1 TLS */
    tcase_add_loop_test(tc, conflicting_content_length_is_refused_and_nothing_after_it_runs, 0, 2);
    tcase_add_loop_test(tc, content_length_with_transfer_encoding_is_refused, 0, 2);
    tcase_add_loop_test(tc, bare_lf_folded_and_spaced_headers_are_refused, 0, 2);
    tcase_add_loop_test(tc, well_formed_pipelines_still_work, 0, 2);
    tcase_add_loop_test(tc, early_answers_are_json, 0, 2);
    tcase_add_test(tc, a_body_over_its_routes_limit_is_json_413_on_every_protocol);
    return fgt_run(s);
}
