/* Unit tests for services/http/ratelimit.c and services/http/http1_head.c */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http/http1_head.h"
#include "http/ratelimit.h"

#define K(s) (s), strlen(s)

/* ---- token buckets ----------------------------------------------------------- */

START_TEST(burst_then_refill_at_the_rate)
{
    /* 60 a minute = one a second, a burst of 3 */
    fg_ratelimit_t *rl = fg_ratelimit_new(60, 3, 64);
    int64_t t = 1000000;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fg_ratelimit_take(rl, K("10.0.0.1"), t), 0);
    ck_assert_int_eq(fg_ratelimit_take(rl, K("10.0.0.1"), t), 1);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("10.0.0.1"), t + 500), 1);
    /* a whole token after one second, not before */
    ck_assert_int_eq(fg_ratelimit_take(rl, K("10.0.0.1"), t + 999), 1);
    ck_assert_int_eq(fg_ratelimit_take(rl, K("10.0.0.1"), t + 1000), 0);
    ck_assert_int_eq(fg_ratelimit_take(rl, K("10.0.0.1"), t + 1000), 1);
    /* another key has its own bucket */
    ck_assert_int_eq(fg_ratelimit_take(rl, K("10.0.0.2"), t + 1000), 0);
    /* a long idle refills to the burst, no further */
    int64_t later = t + 86400000LL * 400;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fg_ratelimit_take(rl, K("10.0.0.1"), later), 0);
    ck_assert_int_gt(fg_ratelimit_take(rl, K("10.0.0.1"), later), 0);
    fg_ratelimit_free(rl);
}
END_TEST

START_TEST(slow_rates_name_whole_seconds)
{
    /* 2 a minute: a token every 30 s */
    fg_ratelimit_t *rl = fg_ratelimit_new(2, 1, 64);
    ck_assert_int_eq(fg_ratelimit_take(rl, K("k"), 0), 0);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("k"), 0), 30);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("k"), 10000), 20);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("k"), 29999), 1);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("k"), 30000), 0);
    fg_ratelimit_free(rl);
}
END_TEST

START_TEST(charging_after_the_fact_and_waiting_take_nothing_extra)
{
    fg_ratelimit_t *rl = fg_ratelimit_new(60, 2, 64);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("src"), 0), 0);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("src"), 0), 0); /* waiting takes nothing */
    fg_ratelimit_charge(rl, K("src"), 0);
    fg_ratelimit_charge(rl, K("src"), 0);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("src"), 0), 1);
    fg_ratelimit_charge(rl, K("src"), 0); /* an empty bucket stays empty, never negative */
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("src"), 1000), 0);
    fg_ratelimit_free(rl);
}
END_TEST

START_TEST(a_full_table_forgets_the_oldest_key)
{
    fg_ratelimit_t *rl = fg_ratelimit_new(60, 1, 1); /* 64 slots */
    char key[32];
    ck_assert_int_eq(fg_ratelimit_take(rl, K("first"), 0), 0);
    ck_assert_int_gt(fg_ratelimit_take(rl, K("first"), 0), 0);
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ck_assert_int_eq(fg_ratelimit_take(rl, key, strlen(key), 1 + i), 0);
    }
    /* pushed out long ago: it starts again with a full bucket */
    ck_assert_int_eq(fg_ratelimit_take(rl, K("first"), 20000), 0);
    fg_ratelimit_free(rl);
}
END_TEST

/* A client address's bucket: IPv4 as it is, IPv6 by its /64 (one subscriber's 2^64 addresses
 * share it), IPv4-mapped IPv6 as its IPv4. */
START_TEST(addresses_are_bucketed_by_subscriber)
{
    static const struct {
        const char *address, *key;
    } CASES[] = {{"203.0.113.7", "203.0.113.7"},
                 {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
                 {"2001:db8:1:2::1", "2001:db8:1:2::/64"},
                 {"2001:db8:1:3::1", "2001:db8:1:3::/64"},
                 {"::ffff:198.51.100.9", "198.51.100.9"},
                 {"::1", "::/64"},
                 {"", ""},
                 {"not:an address", "not:an address"}};
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        char key[64];
        size_t n = fg_ratelimit_address_key(CASES[i].address, key, sizeof(key));
        ck_assert_str_eq(key, CASES[i].key);
        ck_assert_uint_eq(n, strlen(CASES[i].key));
    }
    /* so rotating through one /64 empties one bucket */
    fg_ratelimit_t *rl = fg_ratelimit_new(60, 2, 64);
    char key[64], address[64];
    for (int i = 0; i < 3; i++) {
        snprintf(address, sizeof(address), "2001:db8:5:6::%x", i + 1);
        size_t n = fg_ratelimit_address_key(address, key, sizeof(key));
        ck_assert_int_eq(fg_ratelimit_take(rl, key, n, 1000) > 0, i == 2);
    }
    fg_ratelimit_free(rl);
}
END_TEST

START_TEST(a_limit_of_zero_is_off)
{
    fg_ratelimit_t *rl = fg_ratelimit_new(0, 10, 64);
    ck_assert_ptr_null(rl);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(fg_ratelimit_take(rl, K("k"), 0), 0);
    ck_assert_int_eq(fg_ratelimit_wait(rl, K("k"), 0), 0);
    fg_ratelimit_charge(rl, K("k"), 0);
    fg_ratelimit_free(rl);
}
END_TEST

/* ---- HTTP/1.1 request heads -------------------------------------------------------------- */

static const char *const good_heads[] = {
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    "POST /v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\nX-Content-Length-Hint: 3\r\nContent-Length: 0\r\n\r\nGET /next HTTP/1.1\n\n",
    "GET / HTTP/1.0\r\n\r\n",
};

static const char *const bad_heads[] = {
    "GET / HTTP/1.1\nHost: x\n\n",
    "GET / HTTP/1.1\r\nHost: x\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\n\n",
    "GET / HTTP/1.1\r\nHost: x\rY: 1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "POST / HTTP/1.1\r\nContent-Length: 2\r\nCONTENT-LENGTH: 9\r\n\r\n{}",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}",
    "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
    "GET / HTTP/1.1\r\nno colon\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\n",
    "",
};

START_TEST(well_formed_heads_pass)
{
    const char *why = NULL;
    const char *h = good_heads[_i];
    ck_assert_msg(fg_http1_head_check(h, strlen(h), &why) == 0, "%s refused: %s", h, why);
}
END_TEST

START_TEST(ambiguous_heads_are_refused)
{
    const char *why = NULL;
    const char *h = bad_heads[_i];
    ck_assert_msg(fg_http1_head_check(h, strlen(h), &why) == -1, "accepted: %s", h);
    ck_assert_ptr_nonnull(why);
}
END_TEST

static Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("buckets");
    tcase_add_test(tc, burst_then_refill_at_the_rate);
    tcase_add_test(tc, slow_rates_name_whole_seconds);
    tcase_add_test(tc, charging_after_the_fact_and_waiting_take_nothing_extra);
    tcase_add_test(tc, a_full_table_forgets_the_oldest_key);
    tcase_add_test(tc, a_limit_of_zero_is_off);
    tcase_add_test(tc, addresses_are_bucketed_by_subscriber);
    suite_add_tcase(s, tc);
    tc = tcase_create("http1_head");
    tcase_add_loop_test(tc, well_formed_heads_pass, 0, (int)(sizeof(good_heads) / sizeof(good_heads[0])));
    tcase_add_loop_test(tc, ambiguous_heads_are_refused, 0, (int)(sizeof(bad_heads) / sizeof(bad_heads[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ratelimit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
