/* Unit tests for services/core/buf.c */
#include <check.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/csvw.h"
#include "core/text.h"

/* Appends s as JSON into a fresh buffer and compares with want. */
static void expect_json(const char *s, size_t n, const char *want)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_json_str(&b, s, n);
    ck_assert_str_eq(b.data, want);
    ck_assert_uint_eq(b.len, strlen(want));
    fg_buf_free(&b);
}

/* ---- allocation ---------------------------------------------------------- */

START_TEST(alloc_helpers)
{
    char *p = fg_malloc(0);
    ck_assert_ptr_nonnull(p);
    free(p);
    int *z = fg_calloc(16, sizeof(int));
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(z[i], 0);
    z = fg_realloc(z, 1024 * sizeof(int));
    z[1023] = 7;
    ck_assert_int_eq(z[0], 0);
    free(z);
    free(fg_calloc(0, 0));
    char *s = fg_strdup("hoc phi");
    ck_assert_str_eq(s, "hoc phi");
    free(s);
    s = fg_strndup("hoc phi", 3);
    ck_assert_str_eq(s, "hoc");
    free(s);
    s = fg_strndup("ab", 10);
    ck_assert_str_eq(s, "ab");
    free(s);
    s = fg_strndup("", 0);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

/* Runs in Check's forked child: the abort is the expected outcome. */
START_TEST(oom_aborts) { fg_oom(); }
END_TEST

/* ---- the buffer ---------------------------------------------------------- */

START_TEST(buf_append_and_grow)
{
    fg_buf_t b = FG_BUF_INIT;
    ck_assert_ptr_null(b.data);
    fg_buf_puts(&b, "");
    ck_assert_ptr_nonnull(b.data);
    ck_assert_str_eq(b.data, "");
    ck_assert_uint_eq(b.len, 0);
    for (int i = 0; i < 10000; i++)
        fg_buf_putc(&b, (char)('a' + i % 26));
    ck_assert_uint_eq(b.len, 10000);
    ck_assert_uint_gt(b.cap, b.len);
    ck_assert_int_eq(b.data[b.len], '\0');
    ck_assert_int_eq(b.data[9999], 'a' + 9999 % 26);
    fg_buf_append(&b, "\0x", 2); /* binary data keeps its NUL */
    ck_assert_uint_eq(b.len, 10002);
    ck_assert_int_eq(b.data[10000], '\0');
    ck_assert_int_eq(b.data[10001], 'x');
    fg_buf_append(&b, NULL, 0);
    ck_assert_uint_eq(b.len, 10002);
    size_t cap = b.cap;
    fg_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_str_eq(b.data, "");
    fg_buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    fg_buf_reset(&b); /* on an empty buffer */
    fg_buf_free(&b);
}
END_TEST

START_TEST(buf_reserve)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_reserve(&b, 1000);
    ck_assert_uint_ge(b.cap, 1001); /* room for the NUL too */
    ck_assert_str_eq(b.data, "");
    fg_buf_puts(&b, "abc");
    fg_buf_reserve(&b, 5000);
    ck_assert_uint_ge(b.cap, 5004);
    ck_assert_str_eq(b.data, "abc");
    size_t cap = b.cap;
    fg_buf_reserve(&b, 0);
    ck_assert_uint_eq(b.cap, cap);
    fg_buf_free(&b);
}
END_TEST

START_TEST(buf_printf)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_printf(&b, "%s=%d", "amount", 1500000);
    ck_assert_str_eq(b.data, "amount=1500000");
    fg_buf_printf(&b, "%s", "");
    ck_assert_str_eq(b.data, "amount=1500000");
    /* longer than any initial capacity: exercises the second vsnprintf */
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    fg_buf_printf(&b, "[%s]", big);
    ck_assert_uint_eq(b.len, 14 + 2 + 4999);
    ck_assert_int_eq(b.data[14], '[');
    ck_assert_int_eq(b.data[b.len - 1], ']');
    ck_assert_int_eq(b.data[b.len], '\0');
    fg_buf_printf(&b, "%" PRId64, INT64_MIN);
    ck_assert_str_eq(b.data + 14 + 2 + 4999, "-9223372036854775808");
    fg_buf_free(&b);
}
END_TEST

START_TEST(buf_steal)
{
    fg_buf_t b = FG_BUF_INIT;
    size_t len = 99;
    char *s = fg_buf_steal(&b, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(len, 0);
    free(s);
    fg_buf_puts(&b, "ma HS 000123");
    s = fg_buf_steal(&b, &len);
    ck_assert_str_eq(s, "ma HS 000123");
    ck_assert_uint_eq(len, 12);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    free(s);
    fg_buf_puts(&b, "x");
    s = fg_buf_steal(&b, NULL);
    ck_assert_str_eq(s, "x");
    free(s);
}
END_TEST

/* ---- JSON ---------------------------------------------------------------- */

START_TEST(json_escapes)
{
    expect_json("", 0, "\"\"");
    expect_json(NULL, 0, "\"\"");
    expect_json("hoc phi", 7, "\"hoc phi\"");
    expect_json("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
    expect_json("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    expect_json("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    expect_json("a\0b", 3, "\"a\\u0000b\"");
    /* Vietnamese stays as UTF-8 */
    expect_json("Nguy\xe1\xbb\x85n", 8, "\"Nguy\xe1\xbb\x85n\"");
    /* U+2028 / U+2029 are escaped, U+2027 / U+202A are not */
    expect_json("a\xe2\x80\xa8"
                "b\xe2\x80\xa9",
                8, "\"a\\u2028b\\u2029\"");
    expect_json("\xe2\x80\xa7\xe2\x80\xaa", 6, "\"\xe2\x80\xa7\xe2\x80\xaa\"");
    /* 4-byte sequences pass through */
    expect_json("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
    /* malformed UTF-8 becomes U+FFFD so the output is still JSON */
    expect_json("a\xff"
                "b",
                3, "\"a\\ufffdb\"");
    expect_json("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");            /* overlong '/' */
    expect_json("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    expect_json("x\xe1\xbb", 3, "\"x\\ufffd\\ufffd\"");          /* truncated */
    /* n, not the NUL, bounds the input */
    expect_json("abcdef", 3, "\"abc\"");
}
END_TEST

START_TEST(json_output_is_valid_utf8_for_all_bytes)
{
    char in[256];
    for (int i = 0; i < 256; i++)
        in[i] = (char)i;
    fg_buf_t b = FG_BUF_INIT;
    fg_json_str(&b, in, sizeof(in));
    ck_assert_int_eq(fg_utf8_valid(b.data, b.len), 1);
    for (size_t i = 0; i < b.len; i++)
        ck_assert_int_ge((unsigned char)b.data[i], 0x20); /* no raw control bytes */
    ck_assert_int_eq(fg_json_depth(b.data, b.len, 4), 0);
    fg_buf_free(&b);
}
END_TEST

START_TEST(json_key_values)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_putc(&b, '{');
    fg_json_kv_str(&b, 0, "id", "ord_01ARYZ6S410000000000000000");
    fg_json_kv_str(&b, 1, "memo", NULL);
    fg_json_kv_strn(&b, 1, "code", "7K3M9QXW2A2zzz", 11);
    fg_json_kv_strn(&b, 1, "none", NULL, 0);
    fg_json_kv_int(&b, 1, "amount", 1500000);
    fg_json_kv_int(&b, 1, "min", INT64_MIN);
    fg_json_kv_int(&b, 1, "max", INT64_MAX);
    fg_json_kv_bool(&b, 1, "paid", 1);
    fg_json_kv_bool(&b, 1, "refunded", 0);
    fg_json_kv_null(&b, 1, "error");
    fg_json_key(&b, 1, "list");
    fg_buf_puts(&b, "[]");
    fg_json_key(&b, 1, "q\"k");
    fg_json_cstr(&b, "v\n");
    fg_json_key(&b, 1, "n");
    fg_json_cstr(&b, NULL);
    fg_buf_putc(&b, '}');
    ck_assert_str_eq(b.data, "{\"id\":\"ord_01ARYZ6S410000000000000000\",\"memo\":null,"
                             "\"code\":\"7K3M9QXW2A2\",\"none\":null,\"amount\":1500000,"
                             "\"min\":-9223372036854775808,\"max\":9223372036854775807,"
                             "\"paid\":true,\"refunded\":false,\"error\":null,\"list\":[],"
                             "\"q\\\"k\":\"v\\n\",\"n\":null}");
    fg_buf_free(&b);
}
END_TEST

START_TEST(csv_rfc4180_with_bom)
{
    static const char *const names[] = {"Mã", "amount", NULL};
    fg_buf_t b = FG_BUF_INIT;
    fg_csv_header(&b, names);
    fg_csv_cstr(&b, 0, "Nguyễn \"Văn\", A");
    fg_csv_int(&b, 1, -4500000);
    fg_csv_end_row(&b);
    fg_csv_cstr(&b, 0, "=HYPERLINK(1)");
    fg_csv_cstr(&b, 1, NULL);
    fg_csv_text(&b, 1, "a\nb", 3);
    fg_csv_end_row(&b);
    ck_assert_str_eq(b.data, "\xEF\xBB\xBFMã,amount\r\n"
                             "\"Nguyễn \"\"Văn\"\", A\",-4500000\r\n"
                             "'=HYPERLINK(1),,\"a\nb\"\r\n");
    fg_buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, alloc_helpers);
    tcase_add_test_raise_signal(tc, oom_aborts, SIGABRT);
    tcase_add_test(tc, buf_append_and_grow);
    tcase_add_test(tc, buf_reserve);
    tcase_add_test(tc, buf_printf);
    tcase_add_test(tc, buf_steal);
    tcase_add_test(tc, json_escapes);
    tcase_add_test(tc, json_output_is_valid_utf8_for_all_bytes);
    tcase_add_test(tc, json_key_values);
    tcase_add_test(tc, csv_rfc4180_with_bom);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(buf_suite());
    /* oom_aborts needs a child process to die in */
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
