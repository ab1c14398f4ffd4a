/* Unit tests for services/core/netmask.c: network lists and the client an
 * X-Forwarded-For chain names behind trusted proxies. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "core/netmask.h"

#define K(s) (s), strlen(s)

START_TEST(lists_parse_and_match)
{
    fg_netmask_t m[FG_NETMASKS_MAX];
    int n = fg_netmasks_parse(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,172.16.0.0/12", m, FG_NETMASKS_MAX);
    ck_assert_int_eq(n, 4);
    ck_assert(fg_netmasks_match(m, n, K("10.200.3.4")));
    ck_assert(fg_netmasks_match(m, n, K("192.0.2.7")));
    ck_assert(!fg_netmasks_match(m, n, K("192.0.2.8")));
    ck_assert(fg_netmasks_match(m, n, K("172.31.255.255")));
    ck_assert(!fg_netmasks_match(m, n, K("172.32.0.0")));
    ck_assert(fg_netmasks_match(m, n, K("2001:db8:ffff::1")));
    ck_assert(!fg_netmasks_match(m, n, K("2001:db9::1")));
    /* an IPv4-mapped IPv6 peer is its IPv4 address */
    ck_assert(fg_netmasks_match(m, n, K("::ffff:10.1.2.3")));
    ck_assert(!fg_netmasks_match(m, n, K("11.0.0.1")));
    ck_assert(!fg_netmasks_match(m, n, K("not-an-address")));
    ck_assert(!fg_netmasks_match(m, n, K("")));
    /* /0 takes everything of its family */
    ck_assert_int_eq(fg_netmasks_parse("0.0.0.0/0", m, FG_NETMASKS_MAX), 1);
    ck_assert(fg_netmasks_match(m, 1, K("203.0.113.9")));
    ck_assert(!fg_netmasks_match(m, 1, K("2001:db8::1")));
    ck_assert_int_eq(fg_netmasks_parse("", m, FG_NETMASKS_MAX), 0);
    ck_assert_int_eq(fg_netmasks_parse("   ", m, FG_NETMASKS_MAX), 0);
    ck_assert(!fg_netmasks_match(m, 0, K("10.0.0.1")));
}
END_TEST

static const char *const bad_lists[] = {
    "10.0.0.0/33", "10.0.0.1/8", /* host bits beyond the prefix */
    "10.0.0.0/",   "10.0.0.0/8x", "10.0.0.0/-1",          "2001:db8::/129", "proxy.example",
    "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/8,,10.0.0.1", "1.2.3",          "10.0.0.0/0008",
};

START_TEST(bad_lists_are_refused)
{
    fg_netmask_t m[FG_NETMASKS_MAX];
    ck_assert_msg(fg_netmasks_parse(bad_lists[_i], m, FG_NETMASKS_MAX) == FG_EINVALID, "\"%s\" accepted",
                  bad_lists[_i]);
}
END_TEST

START_TEST(lists_are_bounded)
{
    fg_netmask_t m[2];
    ck_assert_int_eq(fg_netmasks_parse("10.0.0.1,10.0.0.2", m, 2), 2);
    ck_assert_int_eq(fg_netmasks_parse("10.0.0.1,10.0.0.2,10.0.0.3", m, 2), FG_EINVALID);
}
END_TEST

/* The client of a request from peer with one X-Forwarded-For header xff
 * (NULL: none), behind the proxies 10.0.0.0/8 and 2001:db8::1. */
static const char *client(const char *peer, const char *xff)
{
    static char out[64];
    fg_netmask_t m[FG_NETMASKS_MAX];
    int n = fg_netmasks_parse("10.0.0.0/8,2001:db8::1", m, FG_NETMASKS_MAX);
    ck_assert_int_eq(n, 2);
    size_t len = xff != NULL ? strlen(xff) : 0;
    fg_forwarded_client(m, n, peer, &xff, &len, xff != NULL, out, sizeof(out));
    return out;
}

START_TEST(the_client_is_the_first_address_left_of_the_proxies)
{
    ck_assert_str_eq(client("10.0.0.5", "203.0.113.7"), "203.0.113.7");
    /* a client's own X-Forwarded-For is on the left: the proxy appended the address it heard from */
    ck_assert_str_eq(client("10.0.0.5", "198.51.100.1, 203.0.113.7"), "203.0.113.7");
    /* two proxies of ours, one after the other */
    ck_assert_str_eq(client("10.0.0.5", "203.0.113.7, 10.9.9.9"), "203.0.113.7");
    ck_assert_str_eq(client("2001:db8::1", "203.0.113.7,2001:db8::1"), "203.0.113.7");
    /* a peer that is not a proxy is the client, whatever it says */
    ck_assert_str_eq(client("192.0.2.50", "203.0.113.7"), "192.0.2.50");
    ck_assert_str_eq(client("::ffff:192.0.2.50", "203.0.113.7"), "192.0.2.50");
    /* a proxy's own request, no header */
    ck_assert_str_eq(client("10.0.0.5", NULL), "10.0.0.5");
    /* all of them proxies: the leftmost */
    ck_assert_str_eq(client("10.0.0.5", "10.1.1.1, 10.2.2.2"), "10.1.1.1");
    /* ports and brackets, canonical forms */
    ck_assert_str_eq(client("10.0.0.5", "203.0.113.7:4711"), "203.0.113.7");
    ck_assert_str_eq(client("10.0.0.5", "[2001:DB8:0::7]:4711"), "2001:db8::7");
    ck_assert_str_eq(client("10.0.0.5", "2001:db8:0:0::7"), "2001:db8::7");
    /* not an address: the last proxy reached stands */
    ck_assert_str_eq(client("10.0.0.5", "unknown"), "10.0.0.5");
    ck_assert_str_eq(client("10.0.0.5", "203.0.113.7, unknown, 10.3.3.3"), "10.3.3.3");
    ck_assert_str_eq(client("10.0.0.5", ""), "10.0.0.5");
    ck_assert_str_eq(client("10.0.0.5", "[2001:db8::7"), "10.0.0.5");
}
END_TEST

START_TEST(headers_are_read_last_first)
{
    fg_netmask_t m[FG_NETMASKS_MAX];
    int n = fg_netmasks_parse("10.0.0.0/8", m, FG_NETMASKS_MAX);
    const char *values[] = {"198.51.100.1", "203.0.113.7, 10.4.4.4"};
    size_t lens[] = {strlen(values[0]), strlen(values[1])};
    char out[64];
    fg_forwarded_client(m, n, "10.0.0.5", values, lens, 2, out, sizeof(out));
    ck_assert_str_eq(out, "203.0.113.7");
    const char *proxies[] = {"198.51.100.1", "10.4.4.4"};
    size_t plens[] = {strlen(proxies[0]), strlen(proxies[1])};
    fg_forwarded_client(m, n, "10.0.0.5", proxies, plens, 2, out, sizeof(out));
    ck_assert_str_eq(out, "198.51.100.1");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("netmask");
    TCase *tc = tcase_create("netmask");
    tcase_add_test(tc, lists_parse_and_match);
    tcase_add_loop_test(tc, bad_lists_are_refused, 0, (int)(sizeof(bad_lists) / sizeof(bad_lists[0])));
    tcase_add_test(tc, lists_are_bounded);
    tcase_add_test(tc, the_client_is_the_first_address_left_of_the_proxies);
    tcase_add_test(tc, headers_are_read_last_first);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
