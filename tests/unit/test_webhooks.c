/*
 * test_webhooks.c - the pure parts of services/webhooks: the signature test
 * vector of PROTOCOLS.md, rotation headers, the retry schedule, event type
 * subscriptions, the envelope, and the SSRF address classifier.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <yajl/yajl_tree.h>
#include "webhooks/webhooks.h"

START_TEST(signature_matches_the_protocol_test_vector)
{
    static const char body[] = "{\"id\":\"evt_test\",\"object\":\"event\"}";
    char hex[2 * FG_SHA256_LEN + 1], header[FG_WEBHOOK_SIGNATURE_CAP];
    fg_webhook_sign("whsec_test_secret", 1700000000, body, strlen(body), hex);
    ck_assert_str_eq(hex, "8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724");
    fg_webhook_signature_header("whsec_test_secret", NULL, 1700000000, body, strlen(body), header, sizeof(header));
    ck_assert_str_eq(header, "t=1700000000,v1=8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724");
}
END_TEST

START_TEST(rotation_signs_with_both_secrets)
{
    static const char body[] = "{\"id\":\"evt_test\",\"object\":\"event\"}";
    char header[FG_WEBHOOK_SIGNATURE_CAP], old_hex[2 * FG_SHA256_LEN + 1], new_hex[2 * FG_SHA256_LEN + 1];
    fg_webhook_sign("whsec_new", 1700000000, body, strlen(body), new_hex);
    fg_webhook_sign("whsec_test_secret", 1700000000, body, strlen(body), old_hex);
    ck_assert_str_ne(new_hex, old_hex);
    fg_webhook_signature_header("whsec_new", "whsec_test_secret", 1700000000, body, strlen(body), header,
                                sizeof(header));
    char expected[FG_WEBHOOK_SIGNATURE_CAP];
    snprintf(expected, sizeof(expected), "t=1700000000,v1=%s,v1=%s", new_hex, old_hex);
    ck_assert_str_eq(header, expected);
    /* an empty previous secret is no secret */
    fg_webhook_signature_header("whsec_new", "", 1700000000, body, strlen(body), header, sizeof(header));
    ck_assert_ptr_null(strstr(header + 17, ",v1="));
}
END_TEST

START_TEST(secrets_are_fresh)
{
    char a[FG_WEBHOOK_SECRET_CAP], b[FG_WEBHOOK_SECRET_CAP];
    ck_assert_int_eq(fg_webhook_secret_new(a, sizeof(a)), 0);
    ck_assert_int_eq(fg_webhook_secret_new(b, sizeof(b)), 0);
    ck_assert_int_eq(strncmp(a, "whsec_", 6), 0);
    ck_assert_uint_eq(strlen(a), 6 + 32);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(fg_webhook_secret_new(a, 10), FG_EIO);
}
END_TEST

START_TEST(retry_delays_double_with_equal_jitter_up_to_six_hours)
{
    const int64_t base = 30000;
    ck_assert_int_eq(fg_webhook_retry_delay_ms(base, 1, 0), 15000);
    ck_assert_int_eq(fg_webhook_retry_delay_ms(base, 1, 1000), 30000);
    ck_assert_int_eq(fg_webhook_retry_delay_ms(base, 2, 1000), 60000);
    ck_assert_int_eq(fg_webhook_retry_delay_ms(base, 3, 500), 60000 + 30000);
    for (int n = 1; n < 40; n++) {
        int64_t lo = fg_webhook_retry_delay_ms(base, n, 0), hi = fg_webhook_retry_delay_ms(base, n, 1000);
        ck_assert_int_le(hi, FG_WEBHOOK_RETRY_DELAY_MAX_MS);
        ck_assert_int_eq(lo * 2, hi - hi % 2);
        if (fg_webhook_retry_delay_ms(base, n + 1, 1000) < FG_WEBHOOK_RETRY_DELAY_MAX_MS)
            /* below the cap the next never comes sooner */
            ck_assert_int_ge(fg_webhook_retry_delay_ms(base, n + 1, 0), hi);
    }
    ck_assert_int_eq(fg_webhook_retry_delay_ms(base, 1000, 1000), FG_WEBHOOK_RETRY_DELAY_MAX_MS);
    ck_assert_int_eq(fg_webhook_retry_delay_ms(base, 12, -5), FG_WEBHOOK_RETRY_DELAY_MAX_MS / 2);
    /* three days of attempts at the default base: a bounded number */
    int64_t elapsed = 0;
    int attempts = 0;
    while (elapsed <= FG_WEBHOOK_RETRY_WINDOW_MS)
        elapsed += fg_webhook_retry_delay_ms(base, ++attempts, 1000);
    ck_assert_int_lt(attempts, 30);
    ck_assert_int_gt(attempts, 10);
}
END_TEST

START_TEST(subscriptions_and_event_types)
{
    ck_assert(fg_webhook_event_type_known("order.paid", 10));
    ck_assert(fg_webhook_event_type_known("reconciliation.completed", 24));
    ck_assert(!fg_webhook_event_type_known("order.pai", 9));
    ck_assert(!fg_webhook_event_type_known("*", 1));
    ck_assert(fg_webhook_subscribed("*", "order.paid"));
    ck_assert(fg_webhook_subscribed("order.paid,order.cancelled", "order.cancelled"));
    ck_assert(fg_webhook_subscribed("order.paid,order.cancelled", "order.paid"));
    ck_assert(!fg_webhook_subscribed("order.paid,order.cancelled", "order.partially_paid"));
    ck_assert(!fg_webhook_subscribed("order.partially_paid", "order.paid"));
    ck_assert(!fg_webhook_subscribed("", "order.paid"));
}
END_TEST

START_TEST(envelope_has_the_design_shape)
{
    fg_buf_t b = FG_BUF_INIT;
    static const char payload[] = "{\"id\":\"ord_1\",\"object\":\"order\",\"status\":\"paid\"}";
    fg_webhook_envelope(&b, "evt_01ABC", "order.paid", 1700000000123LL, payload, strlen(payload));
    char err[128];
    yajl_val root = yajl_tree_parse(b.data, err, sizeof(err));
    ck_assert_ptr_nonnull(root);
    const char *id_path[] = {"id", NULL}, *type_path[] = {"type", NULL}, *created_path[] = {"created", NULL};
    const char *status_path[] = {"data", "object", "status", NULL};
    ck_assert_str_eq(YAJL_GET_STRING(yajl_tree_get(root, id_path, yajl_t_string)), "evt_01ABC");
    ck_assert_str_eq(YAJL_GET_STRING(yajl_tree_get(root, type_path, yajl_t_string)), "order.paid");
    ck_assert_int_eq(YAJL_GET_INTEGER(yajl_tree_get(root, created_path, yajl_t_number)), 1700000000);
    ck_assert_str_eq(YAJL_GET_STRING(yajl_tree_get(root, status_path, yajl_t_string)), "paid");
    yajl_tree_free(root);
    fg_buf_free(&b);
}
END_TEST

static int forbidden4(const char *text)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    ck_assert_int_eq(inet_pton(AF_INET, text, &a.sin_addr), 1);
    return fg_webhook_addr_forbidden((struct sockaddr *)&a);
}

static int forbidden6(const char *text)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    ck_assert_int_eq(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
    return fg_webhook_addr_forbidden((struct sockaddr *)&a);
}

START_TEST(private_and_reserved_addresses_are_forbidden)
{
    static const char *const v4_bad[] = {"127.0.0.1",      "127.255.0.9", "10.1.2.3",        "172.16.0.1",
                                         "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1",
                                         "0.0.0.0",        "224.0.0.1",   "255.255.255.255", "198.18.0.1",
                                         "192.0.2.5",      "203.0.113.9"};
    static const char *const v4_ok[] = {"8.8.8.8",     "1.1.1.1",       "172.32.0.1",
                                        "100.128.0.1", "203.162.4.191", "14.160.87.1"};
    for (size_t i = 0; i < sizeof(v4_bad) / sizeof(v4_bad[0]); i++)
        ck_assert_msg(forbidden4(v4_bad[i]), "%s", v4_bad[i]);
    for (size_t i = 0; i < sizeof(v4_ok) / sizeof(v4_ok[0]); i++)
        ck_assert_msg(!forbidden4(v4_ok[i]), "%s", v4_ok[i]);
    static const char *const v6_bad[] = {"::1",
                                         "::",
                                         "fe80::1",
                                         "fd12:3456::1",
                                         "fc00::1",
                                         "ff02::1",
                                         "::ffff:127.0.0.1",
                                         "::ffff:10.0.0.1",
                                         "64:ff9b::a00:1",
                                         "2002:7f00:1::1",
                                         "2001:db8::1",
                                         "2001::1"};
    static const char *const v6_ok[] = {"2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
                                        "2402:800::1"};
    for (size_t i = 0; i < sizeof(v6_bad) / sizeof(v6_bad[0]); i++)
        ck_assert_msg(forbidden6(v6_bad[i]), "%s", v6_bad[i]);
    for (size_t i = 0; i < sizeof(v6_ok) / sizeof(v6_ok[0]); i++)
        ck_assert_msg(!forbidden6(v6_ok[i]), "%s", v6_ok[i]);
}
END_TEST

START_TEST(urls_are_checked_without_resolving_names)
{
    const char *code = NULL;
    char msg[160];
    ck_assert_int_eq(fg_webhook_url_check("https://hooks.truong.edu.vn/feegate", 0, &code, msg, sizeof(msg)), 0);
    ck_assert_int_eq(fg_webhook_url_check("http://hooks.truong.edu.vn/feegate", 1, &code, msg, sizeof(msg)), 0);
    ck_assert_int_eq(fg_webhook_url_check("http://hooks.truong.edu.vn/feegate", 0, &code, msg, sizeof(msg)),
                     FG_EINVALID);
    ck_assert_str_eq(code, "url_not_allowed");
    static const char *const invalid[] = {"",
                                          "hooks.example/x",
                                          "https://u:p@hooks.example/",
                                          "https://hooks.example/#frag",
                                          "https://hooks example/",
                                          "https://hooks.example/\x01",
                                          "https://hooks.example:0/x"};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        ck_assert_msg(fg_webhook_url_check(invalid[i], 1, &code, msg, sizeof(msg)) == FG_EINVALID, "%s", invalid[i]);
        ck_assert_str_eq(code, "invalid_url");
    }
    ck_assert_int_eq(fg_webhook_url_check("gopher://hooks.example/", 1, &code, msg, sizeof(msg)), FG_EINVALID);
    ck_assert_str_eq(code, "url_not_allowed");
    /* literal addresses resolve without DNS */
    ck_assert_int_eq(fg_webhook_url_check("https://127.0.0.1:8443/x", 0, &code, msg, sizeof(msg)), FG_EINVALID);
    ck_assert_str_eq(code, "url_not_allowed");
    ck_assert_int_eq(fg_webhook_url_check("https://127.0.0.1:8443/x", 1, &code, msg, sizeof(msg)), 0);
    ck_assert_int_eq(fg_webhook_url_check("https://[::1]/x", 0, &code, msg, sizeof(msg)), FG_EINVALID);
    ck_assert_int_eq(fg_webhook_url_check("https://8.8.8.8/x", 0, &code, msg, sizeof(msg)), 0);
    ck_assert_int_eq(fg_webhook_url_check("https://hooks.example:65535/x", 1, &code, msg, sizeof(msg)), 0);
    /* a name is not resolved (the delivery judges the address it connects to); localhost is refused at once */
    ck_assert_int_eq(fg_webhook_url_check("https://no-such-host.invalid/x", 0, &code, msg, sizeof(msg)), 0);
    static const char *const loopback[] = {"https://localhost/x",       "https://LOCALHOST./x",
                                           "https://a.b.localhost:8/x", "https://2130706433/x",
                                           "https://0x7f.0.0.1/x",      "https://[::ffff:127.0.0.1]/x"};
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        ck_assert_msg(fg_webhook_url_check(loopback[i], 0, &code, msg, sizeof(msg)) == FG_EINVALID, "%s", loopback[i]);
        ck_assert_str_eq(code, "url_not_allowed");
    }
    ck_assert_int_eq(fg_webhook_url_check("https://notlocalhost/x", 0, &code, msg, sizeof(msg)), 0);
}
END_TEST

/* "https://" and a host of labels of 'a' as long as labels[] says (0 ends it), then "/x". */
static void host_url(char *out, size_t cap, const int *labels)
{
    size_t n = (size_t)snprintf(out, cap, "https://");
    for (int i = 0; labels[i] > 0; i++) {
        if (i > 0)
            out[n++] = '.';
        ck_assert_uint_lt(n + (size_t)labels[i] + 3, cap);
        memset(out + n, 'a', (size_t)labels[i]);
        n += (size_t)labels[i];
    }
    snprintf(out + n, cap - n, "/x");
}

/* A host is an IP literal or a name a resolver could answer: no empty,
 * over-long or hyphen-edged labels, no other characters. */
START_TEST(a_url_without_a_usable_host_is_refused)
{
    const char *code = NULL;
    char msg[160], longest[300], too_long[300], label63[96], label64[96];
    /* letters: labels of digits alone ("0000.0") are an IPv4 address to inet_aton */
    host_url(longest, sizeof(longest), (const int[]){63, 63, 63, 61, 0}); /* 253 characters */
    host_url(too_long, sizeof(too_long), (const int[]){63, 63, 63, 62, 0});
    host_url(label63, sizeof(label63), (const int[]){63, 7, 0});
    host_url(label64, sizeof(label64), (const int[]){64, 7, 0});
    const char *const invalid[] = {"https:///nohost",
                                   "https://-/a",
                                   "https://a..b/a",
                                   "https://.a/x",
                                   "https://a-.example/x",
                                   "https://-a.example/x",
                                   "https://exa_mple.com/x",
                                   "https://a.b../x",
                                   "https://?x",
                                   "https:nohost/x",
                                   too_long,
                                   label64};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        code = NULL;
        ck_assert_msg(fg_webhook_url_check(invalid[i], 1, &code, msg, sizeof(msg)) == FG_EINVALID, "%s", invalid[i]);
        ck_assert_msg(code != NULL && strcmp(code, "invalid_url") == 0, "%s: %s", invalid[i], code);
    }
    const char *const valid[] = {"https://a/x",
                                 "https://x-1.example./x",
                                 "https://EXAMPLE.com:443/x",
                                 "https://1.2.3.4/x",
                                 "https://[2606:4700::1]/x",
                                 longest,
                                 label63};
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        ck_assert_msg(fg_webhook_url_check(valid[i], 0, &code, msg, sizeof(msg)) == 0, "%s: %s", valid[i], msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhooks");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, signature_matches_the_protocol_test_vector);
    tcase_add_test(tc, rotation_signs_with_both_secrets);
    tcase_add_test(tc, secrets_are_fresh);
    tcase_add_test(tc, retry_delays_double_with_equal_jitter_up_to_six_hours);
    tcase_add_test(tc, subscriptions_and_event_types);
    tcase_add_test(tc, envelope_has_the_design_shape);
    tcase_add_test(tc, private_and_reserved_addresses_are_forbidden);
    tcase_add_test(tc, urls_are_checked_without_resolving_names);
    tcase_add_test(tc, a_url_without_a_usable_host_is_refused);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
