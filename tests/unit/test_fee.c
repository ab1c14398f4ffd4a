/* Unit tests for services/core/fee.c */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/fee.h"
#include "core/money.h"

/* ---- parsing --------------------------------------------------------------- */

typedef struct {
    const char *text;
    int64_t ppm, fixed, min, max;
    fg_fee_rounding_t rounding;
} parse_case_t;

static const parse_case_t accepted[] = {
    {"1.1%+1650", 11000, 1650, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"1650+1.1%", 11000, 1650, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"1.5%", 15000, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"2.2%+1100,min=3300,round=up", 22000, 1100, 3300, 0, FG_FEE_ROUND_UP},
    {" 1.25% + 500 , min=1000 , max=50000 , round=down ", 12500, 500, 1000, 50000, FG_FEE_ROUND_DOWN},
    {"1.5%,round=half_up", 15000, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"1.5%,max=9000,min=9000", 15000, 0, 9000, 9000, FG_FEE_ROUND_HALF_UP},
    {"0.0001%", 1, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"1.2345%", 12345, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"001.50%", 15000, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"100%", 1000000, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"100.0000%", 1000000, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"0%", 0, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"0", 0, 0, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"5500", 0, 5500, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"1000000000000000", 0, FG_AMOUNT_MAX, 0, 0, FG_FEE_ROUND_HALF_UP},
    {"0%,min=1000000000000000", 0, 0, FG_AMOUNT_MAX, 0, FG_FEE_ROUND_HALF_UP},
};

START_TEST(parse_accepts)
{
    const parse_case_t *c = &accepted[_i];
    fg_fee_schedule_t s;
    ck_assert_msg(fg_fee_parse(c->text, strlen(c->text), &s) == 0, "\"%s\" refused", c->text);
    ck_assert_int_eq(s.percent_ppm, c->ppm);
    ck_assert_int_eq(s.fixed, c->fixed);
    ck_assert_int_eq(s.min, c->min);
    ck_assert_int_eq(s.max, c->max);
    ck_assert_int_eq(s.rounding, c->rounding);
}
END_TEST

static const char *const refused[] = {
    "",
    " ",
    "1.1", /* a percent needs its sign */
    "%",
    "1.1%%",
    "1.23456%",  /* five decimals */
    "100.0001%", /* over 100 % */
    "101%",
    "1000%",
    "1.%",
    ".5%",
    "1,1%", /* a decimal comma */
    "-1%",
    "1.1 %",
    "1.1%+2.2%", /* two percents */
    "1650+1650", /* two fixed parts */
    "1.1%+",
    "+1650",
    "1.1%+-5",
    "1.1% 1650",
    "1.1%+1650+5",
    "10000000000000000", /* 10^16: over FG_AMOUNT_MAX */
    "1000000000000001",
    "1.1%,",
    "1.1%,min=",
    "1.1%,min=-5",
    "1.1%,min=5,min=6", /* an option twice */
    "1.1%,round=up,round=down",
    "1.1%,max=0",        /* a maximum of nothing */
    "1.1%,min=10,max=5", /* the minimum above the maximum */
    "1.1%,round=nearest",
    "1.1%,round=",
    "1.1%,round=UP",
    "1.1%,foo=1",
    "1.1%;min=5",
    "min=5",
    "1.1%,min=10000000000000000",
};

START_TEST(parse_refuses)
{
    const char *text = refused[_i];
    fg_fee_schedule_t s;
    memset(&s, 0x55, sizeof(s));
    ck_assert_msg(fg_fee_parse(text, strlen(text), &s) == FG_EINVALID, "\"%s\" accepted", text);
    ck_assert_int_eq(s.percent_ppm, 0); /* nothing half-filled */
    ck_assert_int_eq(s.fixed, 0);
}
END_TEST

START_TEST(parse_respects_len)
{
    fg_fee_schedule_t s;
    /* only len bytes are read: "1.1%" of "1.1%+1650" */
    ck_assert_int_eq(fg_fee_parse("1.1%+1650", 4, &s), 0);
    ck_assert_int_eq(s.percent_ppm, 11000);
    ck_assert_int_eq(s.fixed, 0);
    /* a NUL inside the text is not the end of it */
    ck_assert_int_eq(fg_fee_parse("1.1%\0+1650", 10, &s), FG_EINVALID);
    ck_assert_int_eq(fg_fee_parse(NULL, 0, &s), FG_EINVALID);
    /* longer than FG_FEE_TEXT_MAX, even if blanks */
    char text[FG_FEE_TEXT_MAX + 2];
    memset(text, ' ', sizeof(text));
    memcpy(text, "1%", 2);
    ck_assert_int_eq(fg_fee_parse(text, FG_FEE_TEXT_MAX, &s), 0);
    ck_assert_int_eq(fg_fee_parse(text, FG_FEE_TEXT_MAX + 1, &s), FG_EINVALID);
}
END_TEST

/* ---- the fee of one transaction ---------------------------------------------------- */

typedef struct {
    const char *schedule;
    int64_t amount, fee;
} fee_case_t;

static const fee_case_t fees[] = {
    /* VNPay's 1.1 % + 1,650: 1,650.495 rounds down, 1,650.506 up */
    {"1.1%+1650", 150000, 3300},
    {"1.1%+1650", 150045, 3300},
    {"1.1%+1650", 150046, 3301},
    {"1.1%+1650", 90050, 2641},    /* 990.55 -> 991 */
    {"1.1%+1650", 1234500, 15230}, /* 13,579.5 -> 13,580: the simulator's smoke case */
    {"1.1%+1650", 0, 1650},
    /* exactly half a đồng in each mode */
    {"1%", 50, 1},
    {"1%,round=up", 50, 1},
    {"1%,round=down", 50, 0},
    {"1%", 149, 1},
    {"1%", 150, 2},
    {"1%,round=down", 199, 1},
    {"1%,round=up", 101, 2},
    {"1%,round=up", 100, 1}, /* exact: nothing to round */
    {"0.0001%", 1, 0},
    {"0.0001%,round=up", 1, 1},
    {"0.0001%", 500000, 1}, /* 0.5 */
    {"0.0001%", 499999, 0},
    /* a minimum and a maximum */
    {"1.5%,min=2000", 100000, 2000},
    {"1.5%,min=2000", 200000, 3000},
    {"1.5%,max=10000", 1000000, 10000},
    {"1.5%,min=9000,max=9000", 1, 9000},
    {"5500", 123456789, 5500},
    {"0", 123456789, 0},
    /* the largest amounts: the split at 10^6 keeps the product in range */
    {"1.2345%", 999999999999999, 12345000000000},
    {"100%+1000000000000000", FG_AMOUNT_MAX, 2 * FG_AMOUNT_MAX},
    {"100%", INT64_MAX, INT64_MAX},
};

START_TEST(fee_of_one_transaction)
{
    const fee_case_t *c = &fees[_i];
    fg_fee_schedule_t s;
    int64_t fee = -1;
    ck_assert_int_eq(fg_fee_parse(c->schedule, strlen(c->schedule), &s), 0);
    ck_assert_int_eq(fg_fee_of(&s, c->amount, &fee), 0);
    ck_assert_msg(fee == c->fee, "%s of %lld is %lld, expected %lld", c->schedule, (long long)c->amount, (long long)fee,
                  (long long)c->fee);
}
END_TEST

START_TEST(fee_refuses_and_overflows)
{
    fg_fee_schedule_t s;
    int64_t fee = 7;
    ck_assert_int_eq(fg_fee_parse("1.1%+1650", 9, &s), 0);
    ck_assert_int_eq(fg_fee_of(&s, -1, &fee), FG_EINVALID);
    ck_assert_int_eq(fee, 7);
    ck_assert_int_eq(fg_fee_parse("100%+1", 6, &s), 0);
    ck_assert_int_eq(fg_fee_of(&s, INT64_MAX, &fee), FG_EOVERFLOW);
    ck_assert_int_eq(fee, 7);
}
END_TEST

/* ---- the text form back -------------------------------------------------------------- */

START_TEST(format_normalises)
{
    static const char *const cases[][2] = {
        {"1.1%+1650", "1.1%+1650"},
        {"1650 + 1.10%", "1.1%+1650"},
        {"1.5%", "1.5%"},
        {"2.2%+1100,round=up,min=3300", "2.2%+1100,min=3300,round=up"},
        {"1.5%,round=half_up", "1.5%"},
        {"0.0001%", "0.0001%"},
        {"1.2345%,max=10,round=down", "1.2345%,max=10,round=down"},
        {"100%", "100%"},
        {"5500", "5500"},
        {"0", "0%"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fg_fee_schedule_t s, again;
        char text[FG_FEE_TEXT_MAX + 1];
        ck_assert_int_eq(fg_fee_parse(cases[i][0], strlen(cases[i][0]), &s), 0);
        int n = fg_fee_format(&s, text, sizeof(text));
        ck_assert_int_eq(n, (int)strlen(cases[i][1]));
        ck_assert_str_eq(text, cases[i][1]);
        ck_assert_int_eq(fg_fee_parse(text, (size_t)n, &again), 0);
        ck_assert_mem_eq(&s, &again, sizeof(s));
    }
    fg_fee_schedule_t s;
    char small[5];
    ck_assert_int_eq(fg_fee_parse("1.1%+1650", 9, &s), 0);
    ck_assert_int_eq(fg_fee_format(&s, small, sizeof(small)), FG_ETOOLONG);
}
END_TEST

static Suite *fee_suite(void)
{
    Suite *s = suite_create("fee");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, parse_accepts, 0, (int)(sizeof(accepted) / sizeof(accepted[0])));
    tcase_add_loop_test(tc, parse_refuses, 0, (int)(sizeof(refused) / sizeof(refused[0])));
    tcase_add_test(tc, parse_respects_len);
    tcase_add_loop_test(tc, fee_of_one_transaction, 0, (int)(sizeof(fees) / sizeof(fees[0])));
    tcase_add_test(tc, fee_refuses_and_overflows);
    tcase_add_test(tc, format_normalises);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fee_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
