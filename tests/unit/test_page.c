/*
 * test_page.c - ?limit= and ?cursor= (core/page.h): the one parser every
 * list route uses, and the cursor it gives out.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include "core/page.h"

static fg_page_error_t parse(const char *limit, const char *cursor, fg_page_t *out)
{
    return fg_page_parse(limit, limit != NULL ? strlen(limit) : 0, cursor, cursor != NULL ? strlen(cursor) : 0, out);
}

START_TEST(defaults_when_absent)
{
    fg_page_t p = {-1, -1};
    ck_assert_int_eq(parse(NULL, NULL, &p), FG_PAGE_OK);
    ck_assert_int_eq(p.limit, FG_PAGE_LIMIT_DEFAULT);
    ck_assert_int_eq(p.cursor, 0);
    ck_assert_int_eq(parse(NULL, "", &p), FG_PAGE_OK); /* ?cursor= empty: the first page */
    ck_assert_int_eq(p.cursor, 0);
}
END_TEST

START_TEST(limits)
{
    fg_page_t p;
    ck_assert_int_eq(parse("1", NULL, &p), FG_PAGE_OK);
    ck_assert_int_eq(p.limit, 1);
    ck_assert_int_eq(parse("500", NULL, &p), FG_PAGE_OK);
    ck_assert_int_eq(p.limit, 500);
    static const char *const BAD[] = {"",   "0",   "501", "-1", "+5", " 5", "5 ", "1e2", "0x10", "99999999999999999999",
                                      "5a", "1000"};
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        p.limit = 7;
        ck_assert_msg(parse(BAD[i], NULL, &p) == FG_PAGE_BAD_LIMIT, "limit \"%s\" accepted", BAD[i]);
        ck_assert_int_eq(p.limit, 7); /* nothing written on error */
    }
}
END_TEST

START_TEST(cursors_round_trip)
{
    static const int64_t KEYS[] = {1, 35, 36, 1295, 1296, 123456789, INT64_MAX / 36, INT64_MAX};
    for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++) {
        fg_buf_t b = FG_BUF_INIT;
        fg_page_cursor_json(&b, KEYS[i]);
        ck_assert_int_ge((int)b.len, 3);
        ck_assert_int_eq(b.data[0], '"');
        ck_assert_int_eq(b.data[b.len - 1], '"');
        char text[32];
        ck_assert_uint_le(b.len - 2, FG_PAGE_CURSOR_LEN_MAX);
        memcpy(text, b.data + 1, b.len - 2);
        text[b.len - 2] = '\0';
        fg_page_t p;
        ck_assert_int_eq(parse(NULL, text, &p), FG_PAGE_OK);
        ck_assert_int_eq(p.cursor, KEYS[i]);
        fg_buf_free(&b);
    }
}
END_TEST

START_TEST(bad_cursors)
{
    /* "1y2p0ij32e8e8" is INT64_MAX + 1; 14 digits are always too long */
    static const char *const BAD[] = {"0",  "000", "A",  "zz-", "1y2p0ij32e8e8", "zzzzzzzzzzzzz", "10000000000000",
                                      " 1", "1 ",  "%31"};
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        fg_page_t p = {9, 9};
        ck_assert_msg(parse(NULL, BAD[i], &p) == FG_PAGE_BAD_CURSOR, "cursor \"%s\" accepted", BAD[i]);
        ck_assert_int_eq(p.cursor, 9);
    }
    fg_page_t p;
    ck_assert_int_eq(parse("5", "1y2p0ij32e8e7", &p), FG_PAGE_OK);
    ck_assert_int_eq(p.cursor, INT64_MAX);
    ck_assert_int_eq(parse("0", "zz", &p), FG_PAGE_BAD_LIMIT); /* the limit is looked at first */
}
END_TEST

START_TEST(close_writes_the_list_tail)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_page_close(&b, 0, 0);
    ck_assert_str_eq(b.data, "],\"next_cursor\":null}");
    fg_buf_reset(&b);
    fg_page_close(&b, 1, 36);
    ck_assert_str_eq(b.data, "],\"next_cursor\":\"10\"}");
    fg_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("page");
    TCase *tc = tcase_create("page");
    tcase_add_test(tc, defaults_when_absent);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, cursors_round_trip);
    tcase_add_test(tc, bad_cursors);
    tcase_add_test(tc, close_writes_the_list_tail);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_ENV);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
