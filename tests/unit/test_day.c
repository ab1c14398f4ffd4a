/* Business days in GMT+7 (core/day.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "core/day.h"

START_TEST(parse_and_format)
{
    int32_t d = 0;
    char out[11];
    ck_assert_int_eq(fg_day_parse("2024-02-29", 10, &d), 0);
    ck_assert_int_eq(d, 20240229);
    fg_day_format(d, out);
    ck_assert_str_eq(out, "2024-02-29");
    ck_assert_int_eq(fg_day_parse("2023-02-29", 10, &d), -1);
    ck_assert_int_eq(fg_day_parse("2023-13-01", 10, &d), -1);
    ck_assert_int_eq(fg_day_parse("2023-1-011", 10, &d), -1);
    ck_assert_int_eq(fg_day_parse("2023-01-0x", 10, &d), -1);
    ck_assert_int_eq(fg_day_parse("2023-01-01", 9, &d), -1);
    ck_assert_int_eq(fg_day_parse(NULL, 10, &d), -1);
}
END_TEST

START_TEST(gmt7_boundaries)
{
    /* 2026-12-01T23:30:00Z is 06:30 on the 2nd in Ha Noi */
    int64_t t = 1796167800000LL;
    ck_assert_int_eq(fg_day_of_ms(t), 20261202);
    int64_t midnight = t - 6 * 3600000LL - 30 * 60000LL; /* 17:00Z on the 1st */
    ck_assert_int_eq(fg_day_of_ms(midnight), 20261202);
    ck_assert_int_eq(fg_day_of_ms(midnight - 1), 20261201);
    ck_assert_int_eq(fg_day_start_ms(20261202), midnight);
    ck_assert_int_eq(fg_day_of_ms(fg_day_start_ms(19700101)), 19700101);
    ck_assert_int_eq(fg_day_number(19700101), 0);
    ck_assert_int_eq(fg_day_number(20000301) - fg_day_number(20000228), 2);
}
END_TEST

START_TEST(next_day)
{
    ck_assert_int_eq(fg_day_next(20240228), 20240229);
    ck_assert_int_eq(fg_day_next(20240229), 20240301);
    ck_assert_int_eq(fg_day_next(20231231), 20240101);
    ck_assert_int_eq(fg_day_next(20230430), 20230501);
    ck_assert_int_eq(fg_day_prev(20240301), 20240229);
    ck_assert_int_eq(fg_day_prev(20240101), 20231231);
    for (int32_t d = 20200101; d < 20300101; d = fg_day_next(d))
        ck_assert_int_eq(fg_day_number(fg_day_next(d)), fg_day_number(d) + 1);
}
END_TEST

START_TEST(time_in_gmt7)
{
    char out[17];
    fg_day_time_format(1796167800000LL, out); /* 2026-12-01T23:30:00Z */
    ck_assert_str_eq(out, "2026-12-02 06:30");
    fg_day_time_format(fg_day_start_ms(20261202), out);
    ck_assert_str_eq(out, "2026-12-02 00:00");
    fg_day_time_format(fg_day_start_ms(20261202) - 60000, out);
    ck_assert_str_eq(out, "2026-12-01 23:59");
    fg_day_time_format(fg_day_start_ms(20261202) + 18 * 3600000LL + 59 * 60000 + 59999, out);
    ck_assert_str_eq(out, "2026-12-02 18:59");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("day");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parse_and_format);
    tcase_add_test(tc, gmt7_boundaries);
    tcase_add_test(tc, next_day);
    tcase_add_test(tc, time_in_gmt7);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
