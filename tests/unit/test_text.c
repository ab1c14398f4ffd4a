/* Unit tests for services/core/text.c */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/text.h"

#define VALID(s) ck_assert_msg(fg_utf8_valid(s, sizeof(s) - 1) == 1, "rejected: %s", #s)
#define INVALID(s) ck_assert_msg(fg_utf8_valid(s, sizeof(s) - 1) == 0, "accepted: %s", #s)

/* ---- UTF-8 --------------------------------------------------------------- */

START_TEST(utf8_valid_sequences)
{
    VALID("");
    VALID("hoc phi");
    VALID("Nguy\xe1\xbb\x85n V\xc4\x83n \xc4\x90\xe1\xbb\xa9"
          "c");    /* Nguyễn Văn Đức */
    VALID("\x00"); /* NUL is a code point */
    VALID("\x7f");
    VALID("\xc2\x80");         /* U+0080 */
    VALID("\xdf\xbf");         /* U+07FF */
    VALID("\xe0\xa0\x80");     /* U+0800 */
    VALID("\xed\x9f\xbf");     /* U+D7FF */
    VALID("\xee\x80\x80");     /* U+E000 */
    VALID("\xef\xbf\xbf");     /* U+FFFF */
    VALID("\xf0\x90\x80\x80"); /* U+10000 */
    VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF */
}
END_TEST

START_TEST(utf8_invalid_sequences)
{
    INVALID("\x80"); /* stray continuation */
    INVALID("\xbf");
    INVALID("a\x80"
            "b");
    INVALID("\xc0\x80");                 /* overlong NUL */
    INVALID("\xc1\xbf");                 /* overlong */
    INVALID("\xe0\x80\x80");             /* overlong */
    INVALID("\xe0\x9f\xbf");             /* overlong U+07FF */
    INVALID("\xf0\x80\x80\x80");         /* overlong */
    INVALID("\xf0\x8f\xbf\xbf");         /* overlong U+FFFF */
    INVALID("\xed\xa0\x80");             /* U+D800 */
    INVALID("\xed\xbf\xbf");             /* U+DFFF */
    INVALID("\xed\xa0\xbd\xed\xb8\x80"); /* CESU-8 surrogate pair */
    INVALID("\xf4\x90\x80\x80");         /* U+110000 */
    INVALID("\xf7\xbf\xbf\xbf");
    INVALID("\xf8\x88\x80\x80\x80"); /* 5-byte form */
    INVALID("\xfc\x84\x80\x80\x80\x80");
    INVALID("\xfe");
    INVALID("\xff");
    INVALID("\xc3"); /* truncated */
    INVALID("\xe1\xbb");
    INVALID("\xf0\x9f\x98");
    INVALID("\xc3"
            "a"); /* continuation missing */
    INVALID("\xe1\xbb"
            "a");
    INVALID("\xf0\x9f\x98"
            "a");
}
END_TEST

START_TEST(utf8_respects_n)
{
    const char *s = "\xe1\xbb\x85";
    ck_assert_int_eq(fg_utf8_valid(s, 3), 1);
    ck_assert_int_eq(fg_utf8_valid(s, 2), 0);
    ck_assert_int_eq(fg_utf8_valid(s, 0), 1);
    ck_assert_int_eq(fg_utf8_valid(NULL, 0), 1);
}
END_TEST

START_TEST(utf8_decode)
{
    uint32_t cp = 0;
    ck_assert_int_eq(fg_utf8_decode("A", 1, &cp), 1);
    ck_assert_uint_eq(cp, 'A');
    ck_assert_int_eq(fg_utf8_decode("\xc4\x83x", 3, &cp), 2);
    ck_assert_uint_eq(cp, 0x103);
    ck_assert_int_eq(fg_utf8_decode("\xe2\x80\xa8", 3, &cp), 3);
    ck_assert_uint_eq(cp, 0x2028);
    ck_assert_int_eq(fg_utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
    ck_assert_uint_eq(cp, 0x10FFFF);
    ck_assert_int_eq(fg_utf8_decode("\xf4\x8f\xbf\xbf", 3, &cp), 0);
    ck_assert_int_eq(fg_utf8_decode("\x80", 1, &cp), 0);
}
END_TEST

START_TEST(utf8_length)
{
    ck_assert_uint_eq(fg_utf8_length("", 0), 0);
    ck_assert_uint_eq(fg_utf8_length("abc", 3), 3);
    const char *name = "Nguy\xe1\xbb\x85n V\xc4\x83n";
    ck_assert_uint_eq(fg_utf8_length(name, strlen(name)), 10);
    ck_assert_uint_eq(fg_utf8_length("\xf0\x9f\x98\x80\xc3\xa9", 6), 2);
    ck_assert_uint_eq(fg_utf8_length("a\0b", 3), 3);
}
END_TEST

/* ---- JSON nesting -------------------------------------------------------- */

static int depth(const char *s, int max) { return fg_json_depth(s, strlen(s), max); }
static int has_comment(const char *s) { return fg_json_has_comment(s, strlen(s)); }

START_TEST(json_depth)
{
    ck_assert_int_eq(depth("", 8), 0);
    ck_assert_int_eq(depth("1", 8), 0);
    ck_assert_int_eq(depth("\"[{\"", 8), 0);
    ck_assert_int_eq(depth("{}", 8), 1);
    ck_assert_int_eq(depth("[]", 8), 1);
    ck_assert_int_eq(depth("{\"a\":[1]}", 8), 2);
    ck_assert_int_eq(depth("[[],[[]],[]]", 8), 3);
    ck_assert_int_eq(depth("[1][2][3]", 8), 1);
    ck_assert_int_eq(depth("{\"a\":\"[[[[\",\"b\":{}}", 8), 2);
    ck_assert_int_eq(depth("{\"a\\\"[[[\":1}", 8), 1);  /* escaped quote stays in the string */
    ck_assert_int_eq(depth("{\"a\\\\\":[[1]]}", 8), 3); /* escaped backslash ends before the quote */
    ck_assert_int_eq(depth("]]]{", 8), 1);              /* stray closers do not go negative */
    ck_assert_int_eq(depth("[[[[", 4), 4);
    ck_assert_int_eq(depth("[[[[[", 4), 5); /* max + 1 */
    ck_assert_int_eq(depth("[[[[[[[[[[[[[[[[[[[[", 4), 5);
    ck_assert_int_eq(depth("{}", 0), 1);
    ck_assert_int_eq(depth("1", 0), 0);
    ck_assert_int_eq(fg_json_depth("[[[[", 2, 8), 2); /* n bounds the input */
    ck_assert_int_eq(fg_json_depth("\"\\", 2, 8), 0); /* escape at the very end */
    /* a '/' outside strings starts a comment, which JSON has not */
    ck_assert_int_eq(has_comment("{\"a\":\"x/y\"}"), 0);
    ck_assert_int_eq(has_comment("{\"a\":\"\\\"/\"}"), 0); /* after an escaped quote, still inside */
    ck_assert_int_eq(has_comment("{\"a\":1}/"), 1);
    ck_assert_int_eq(has_comment("{\"a\":/*\"*/[[]]}"), 1);
}
END_TEST

START_TEST(json_depth_deep_input)
{
    enum { N = 100000 };
    char *s = malloc(N);
    ck_assert_ptr_nonnull(s);
    memset(s, '[', N);
    ck_assert_int_eq(fg_json_depth(s, N, 64), 65);
    ck_assert_int_eq(fg_json_depth(s, N, N), N);
    free(s);
}
END_TEST

/* ---- printable ASCII ----------------------------------------------------- */

START_TEST(printable_ascii)
{
    ck_assert_int_eq(fg_printable_ascii("HP2025-000123", 13, 64), 1);
    ck_assert_int_eq(fg_printable_ascii(" ~!", 3, 3), 1);
    ck_assert_int_eq(fg_printable_ascii("abcd", 4, 3), 0);
    ck_assert_int_eq(fg_printable_ascii("", 0, 64), 0);
    ck_assert_int_eq(fg_printable_ascii("a\tb", 3, 64), 0);
    ck_assert_int_eq(fg_printable_ascii("a\nb", 3, 64), 0);
    ck_assert_int_eq(fg_printable_ascii("a\x7f", 2, 64), 0);
    ck_assert_int_eq(fg_printable_ascii("a\0", 2, 64), 0);
    ck_assert_int_eq(fg_printable_ascii("\xc3\xa9", 2, 64), 0);
    ck_assert_int_eq(fg_printable_ascii("\x1f", 1, 64), 0);
}
END_TEST

/* ---- bank account numbers ------------------------------------------------ */

START_TEST(bank_account_key)
{
    char out[35];
    /* one account however a bank, a feed or a person writes it */
    ck_assert_int_eq(fg_bank_account_key("0011001932418", 13, out, sizeof(out), 34), 13);
    ck_assert_str_eq(out, "0011001932418");
    ck_assert_int_eq(fg_bank_account_key("0011-001 932.418", 16, out, sizeof(out), 34), 13);
    ck_assert_str_eq(out, "0011001932418");
    ck_assert_int_eq(fg_bank_account_key("vn12 abcd-0001", 14, out, sizeof(out), 34), 12);
    ck_assert_str_eq(out, "VN12ABCD0001");
    /* nothing else: no other character, not empty, not over max */
    ck_assert_int_eq(fg_bank_account_key("VCB/0011", 8, out, sizeof(out), 34), -1);
    ck_assert_int_eq(fg_bank_account_key("0011_001", 8, out, sizeof(out), 34), -1);
    ck_assert_int_eq(fg_bank_account_key("S\xc3\x90", 3, out, sizeof(out), 34), -1);
    ck_assert_int_eq(fg_bank_account_key("0011\n", 5, out, sizeof(out), 34), -1);
    ck_assert_int_eq(fg_bank_account_key(" - . ", 5, out, sizeof(out), 34), -1);
    ck_assert_int_eq(fg_bank_account_key("", 0, out, sizeof(out), 34), -1);
    ck_assert_int_eq(fg_bank_account_key("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345678", 35, out, sizeof(out), 34), -1);
    ck_assert_int_eq(fg_bank_account_key("ABCDEFGHIJKLMNOPQRSTUVWXYZ01234567 ", 35, out, sizeof(out), 34), 34);
}
END_TEST

/* ---- RFC 3339 ------------------------------------------------------------ */

typedef struct {
    const char *text;
    int64_t ms;
} time_case_t;

static const time_case_t good_times[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"2026-11-23T05:18:44Z", 1795411124000},
    {"2026-11-23T12:18:44+07:00", 1795411124000},
    {"2026-11-22T23:18:44-06:00", 1795411124000},
    {"2026-11-23T05:18:44.123Z", 1795411124123},
    {"2026-11-23T05:18:44.1Z", 1795411124100},
    {"2026-11-23T05:18:44.12Z", 1795411124120},
    {"2026-11-23T05:18:44.123999999Z", 1795411124123},
    {"2026-11-23t05:18:44z", 1795411124000},
    {"2026-11-23T05:18:44+00:00", 1795411124000},
    {"2026-11-23T05:18:44-00:00", 1795411124000},
    {"2026-11-23T05:18:44.5+07:00", 1795385924500},
    {"2024-02-29T23:59:59Z", 1709251199000},
    {"2000-02-29T00:00:00Z", 951782400000},
    {"1969-12-31T23:59:59.999Z", -1},
    {"1970-01-01T00:00:00+23:59", -86340000},
    {"0000-01-01T00:00:00Z", -62167219200000},
    {"9999-12-31T23:59:59Z", 253402300799000},
};

START_TEST(rfc3339_parse_good)
{
    const time_case_t *c = &good_times[_i];
    int64_t ms = 42;
    ck_assert_msg(fg_time_parse_rfc3339(c->text, strlen(c->text), &ms) == 0, "rejected %s", c->text);
    ck_assert_int_eq(ms, c->ms);
}
END_TEST

static const char *const bad_times[] = {
    "",
    "2026-11-23",
    "2026-11-23T05:18:44",  /* no offset */
    "2026-11-23 05:18:44Z", /* space instead of T */
    "2026-11-23T05:18Z",
    "2026-11-23T05:18:44ZZ",
    "2026-11-23T05:18:44Z ",
    " 2026-11-23T05:18:44Z",
    "2026-13-01T00:00:00Z",
    "2026-00-01T00:00:00Z",
    "2026-11-00T00:00:00Z",
    "2026-11-31T00:00:00Z",
    "2025-02-29T00:00:00Z", /* not a leap year */
    "1900-02-29T00:00:00Z", /* not a leap year */
    "2026-04-31T00:00:00Z",
    "2026-11-23T24:00:00Z",
    "2026-11-23T05:60:00Z",
    "2026-11-23T05:18:60Z",
    "2026-11-23T05:18:44.Z",
    "2026-11-23T05:18:44,123Z",
    "2026-11-23T05:18:44+24:00",
    "2026-11-23T05:18:44+07:60",
    "2026-11-23T05:18:44+0700",
    "2026-11-23T05:18:44+07",
    "2026-11-23T05:18:44 +07:00",
    "2026-1-23T05:18:44Z",
    "26-11-23T05:18:44Z",
    "2026/11/23T05:18:44Z",
    "2026-11-23T05:18:4aZ",
    "+026-11-23T05:18:44Z",
    "2026-11-23T05:18:44.12a3Z",
    "2026-11-23T05:18:44-07:00x",
};

START_TEST(rfc3339_parse_bad)
{
    const char *s = bad_times[_i];
    int64_t ms = 42;
    ck_assert_msg(fg_time_parse_rfc3339(s, strlen(s), &ms) == FG_EINVALID, "accepted \"%s\"", s);
    ck_assert_int_eq(ms, 42);
}
END_TEST

START_TEST(rfc3339_parse_respects_n)
{
    int64_t ms = 0;
    const char *s = "2026-11-23T05:18:44Zjunk";
    ck_assert_int_eq(fg_time_parse_rfc3339(s, 20, &ms), 0);
    ck_assert_int_eq(ms, 1795411124000);
    ck_assert_int_eq(fg_time_parse_rfc3339(s, 19, &ms), FG_EINVALID);
    ck_assert_int_eq(fg_time_parse_rfc3339(NULL, 0, &ms), FG_EINVALID);
}
END_TEST

static void expect_format(int64_t ms, int with_ms, const char *want)
{
    char buf[32];
    int n = fg_time_format_rfc3339(ms, with_ms, buf, sizeof(buf));
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(n, (int)strlen(want));
}

START_TEST(rfc3339_format)
{
    expect_format(0, 0, "1970-01-01T00:00:00Z");
    expect_format(0, 1, "1970-01-01T00:00:00.000Z");
    expect_format(1795411124123, 0, "2026-11-23T05:18:44Z");
    expect_format(1795411124123, 1, "2026-11-23T05:18:44.123Z");
    expect_format(1795411124007, 1, "2026-11-23T05:18:44.007Z");
    expect_format(1709251199999, 1, "2024-02-29T23:59:59.999Z");
    expect_format(-1, 1, "1969-12-31T23:59:59.999Z");
    expect_format(-1000, 0, "1969-12-31T23:59:59Z");
    expect_format(-1001, 1, "1969-12-31T23:59:58.999Z");
    expect_format(253402300799000, 0, "9999-12-31T23:59:59Z");
}
END_TEST

START_TEST(rfc3339_round_trip)
{
    static const int64_t samples[] = {
        0, 1, 999, 1000, 951782400000, 1709251199999, 1795411124123, -1, -86400001, 253402300799999};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char buf[32];
        int n = fg_time_format_rfc3339(samples[i], 1, buf, sizeof(buf));
        ck_assert_int_gt(n, 0);
        int64_t back = 0;
        ck_assert_int_eq(fg_time_parse_rfc3339(buf, (size_t)n, &back), 0);
        ck_assert_int_eq(back, samples[i]);
    }
}
END_TEST

START_TEST(now_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000;
    int64_t now = fg_now_ms();
    ck_assert_int_ge(now, before);
    ck_assert_int_lt(now, before + 5000);
    ck_assert_int_gt(now, 1700000000000); /* after 2023 */
    ck_assert_int_le(now, fg_now_ms());
}
END_TEST

START_TEST(list_items_trimmed_and_empty_ones_skipped)
{
    const char *p = " a.pem , ,b.pem,,  c d.pem ,";
    const char *want[] = {"a.pem", "b.pem", "c d.pem"};
    for (size_t i = 0; i < 3; i++) {
        char *item = fg_list_next(&p);
        ck_assert_ptr_nonnull(item);
        ck_assert_str_eq(item, want[i]);
        free(item);
    }
    ck_assert_ptr_null(fg_list_next(&p));
    const char *empty = "";
    ck_assert_ptr_null(fg_list_next(&empty));
    const char *blanks = " ,  , ";
    ck_assert_ptr_null(fg_list_next(&blanks));
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, utf8_valid_sequences);
    tcase_add_test(tc, utf8_invalid_sequences);
    tcase_add_test(tc, utf8_respects_n);
    tcase_add_test(tc, utf8_decode);
    tcase_add_test(tc, utf8_length);
    tcase_add_test(tc, json_depth);
    tcase_add_test(tc, json_depth_deep_input);
    tcase_add_test(tc, printable_ascii);
    tcase_add_test(tc, bank_account_key);
    tcase_add_loop_test(tc, rfc3339_parse_good, 0, (int)(sizeof(good_times) / sizeof(good_times[0])));
    tcase_add_loop_test(tc, rfc3339_parse_bad, 0, (int)(sizeof(bad_times) / sizeof(bad_times[0])));
    tcase_add_test(tc, rfc3339_parse_respects_n);
    tcase_add_test(tc, rfc3339_format);
    tcase_add_test(tc, rfc3339_round_trip);
    tcase_add_test(tc, now_ms);
    tcase_add_test(tc, list_items_trimmed_and_empty_ones_skipped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
