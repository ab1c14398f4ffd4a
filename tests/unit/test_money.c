/* Unit tests for services/core/money.c */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/money.h"

/* ---- currencies ---------------------------------------------------------- */

static void expect_currency(const char *code, int numeric, int exponent)
{
    const fg_currency_t *c = fg_currency_find(code, strlen(code));
    ck_assert_msg(c != NULL, "currency %s not found", code);
    ck_assert_str_eq(c->code, code);
    ck_assert_int_eq(c->numeric, numeric);
    ck_assert_int_eq(c->exponent, exponent);
}

START_TEST(currency_table)
{
    expect_currency("VND", 704, 0);
    expect_currency("USD", 840, 2);
    expect_currency("EUR", 978, 2);
    expect_currency("JPY", 392, 0);
    expect_currency("KRW", 410, 0);
    expect_currency("GBP", 826, 2);
    expect_currency("CNY", 156, 2);
    expect_currency("SGD", 702, 2);
    expect_currency("THB", 764, 2);
    expect_currency("KWD", 414, 3);
    expect_currency("BHD", 48, 3);
    expect_currency("CHF", 756, 2);
    expect_currency("AUD", 36, 2);
    expect_currency("CAD", 124, 2);
    expect_currency("HKD", 344, 2);
    expect_currency("TWD", 901, 2);
    expect_currency("LAK", 418, 2);
    expect_currency("KHR", 116, 2);
    expect_currency("MYR", 458, 2);
    expect_currency("IDR", 360, 2);
    expect_currency("PHP", 608, 2);
    expect_currency("AED", 784, 2);
    expect_currency("ZWG", 924, 2);
}
END_TEST

START_TEST(currency_rejects)
{
    ck_assert_ptr_null(fg_currency_find("vnd", 3));
    ck_assert_ptr_null(fg_currency_find("Vnd", 3));
    ck_assert_ptr_null(fg_currency_find("VN", 2));
    ck_assert_ptr_null(fg_currency_find("VNDD", 4));
    ck_assert_ptr_null(fg_currency_find("", 0));
    ck_assert_ptr_null(fg_currency_find(NULL, 0));
    ck_assert_ptr_null(fg_currency_find("XXX", 3));
    ck_assert_ptr_null(fg_currency_find("XAU", 3)); /* gold is not a currency we collect */
    ck_assert_ptr_null(fg_currency_find("VN\0", 3));
    ck_assert_ptr_null(fg_currency_find(" VN", 3));
    ck_assert_ptr_null(fg_currency_find("HRK", 3)); /* withdrawn 2023 */
    /* len, not a NUL, ends the code */
    const fg_currency_t *c = fg_currency_find("USDollar", 3);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->code, "USD");
}
END_TEST

/* ---- arithmetic ---------------------------------------------------------- */

START_TEST(amount_valid)
{
    ck_assert_int_eq(fg_amount_valid(1), 1);
    ck_assert_int_eq(fg_amount_valid(FG_AMOUNT_MAX), 1);
    ck_assert_int_eq(fg_amount_valid(FG_AMOUNT_MAX - 1), 1);
    ck_assert_int_eq(fg_amount_valid(FG_AMOUNT_MAX + 1), 0);
    ck_assert_int_eq(fg_amount_valid(0), 0);
    ck_assert_int_eq(fg_amount_valid(-1), 0);
    ck_assert_int_eq(fg_amount_valid(INT64_MIN), 0);
    ck_assert_int_eq(fg_amount_valid(INT64_MAX), 0);
}
END_TEST

START_TEST(add_sub_boundaries)
{
    int64_t r = 42;
    ck_assert_int_eq(fg_money_add(INT64_MAX - 1, 1, &r), 0);
    ck_assert_int_eq(r, INT64_MAX);
    r = 42;
    ck_assert_int_eq(fg_money_add(INT64_MAX, 1, &r), FG_EOVERFLOW);
    ck_assert_int_eq(r, 42); /* untouched */
    ck_assert_int_eq(fg_money_add(INT64_MIN, -1, &r), FG_EOVERFLOW);
    ck_assert_int_eq(r, 42);
    ck_assert_int_eq(fg_money_add(INT64_MIN, INT64_MAX, &r), 0);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(fg_money_add(FG_AMOUNT_MAX, FG_AMOUNT_MAX, &r), 0);
    ck_assert_int_eq(r, 2 * FG_AMOUNT_MAX);

    r = 42;
    ck_assert_int_eq(fg_money_sub(INT64_MIN, 1, &r), FG_EOVERFLOW);
    ck_assert_int_eq(r, 42);
    ck_assert_int_eq(fg_money_sub(0, INT64_MIN, &r), FG_EOVERFLOW);
    ck_assert_int_eq(r, 42);
    ck_assert_int_eq(fg_money_sub(INT64_MAX, -1, &r), FG_EOVERFLOW);
    ck_assert_int_eq(fg_money_sub(-1, INT64_MAX, &r), 0);
    ck_assert_int_eq(r, INT64_MIN);
    ck_assert_int_eq(fg_money_sub(0, INT64_MAX, &r), 0);
    ck_assert_int_eq(r, -INT64_MAX);
    ck_assert_int_eq(fg_money_sub(1500000, 1500000, &r), 0);
    ck_assert_int_eq(r, 0);
}
END_TEST

START_TEST(mul_boundaries)
{
    int64_t r = 42;
    ck_assert_int_eq(fg_money_mul(FG_AMOUNT_MAX, 9000, &r), 0);
    ck_assert_int_eq(r, FG_AMOUNT_MAX * 9000);
    ck_assert_int_eq(fg_money_mul(FG_AMOUNT_MAX, 10000, &r), FG_EOVERFLOW);
    ck_assert_int_eq(r, FG_AMOUNT_MAX * 9000);
    ck_assert_int_eq(fg_money_mul(INT64_MIN, -1, &r), FG_EOVERFLOW);
    ck_assert_int_eq(fg_money_mul(INT64_MAX, -1, &r), 0);
    ck_assert_int_eq(r, -INT64_MAX);
    ck_assert_int_eq(fg_money_mul(INT64_MIN, 1, &r), 0);
    ck_assert_int_eq(r, INT64_MIN);
    ck_assert_int_eq(fg_money_mul(INT64_MAX / 2 + 1, 2, &r), FG_EOVERFLOW);
    ck_assert_int_eq(fg_money_mul(INT64_MAX, 0, &r), 0);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(fg_money_mul(-3, 7, &r), 0);
    ck_assert_int_eq(r, -21);
}
END_TEST

/* ---- parsing ------------------------------------------------------------- */

typedef struct {
    const char *text;
    int exponent;
    int decimal_comma;
    int rc;
    int64_t value;
} parse_case_t;

static const parse_case_t parse_cases[] = {
    {"1500000", 0, 0, 0, 1500000},
    {"1500000.00", 0, 0, 0, 1500000},
    {"1500000.0000", 0, 0, 0, 1500000},
    {"1500000.5", 0, 0, FG_EINVALID, 0},
    {"1500000.", 0, 0, FG_EINVALID, 0},
    {"12.5", 2, 0, 0, 1250},
    {"12.50", 2, 0, 0, 1250},
    {"12.05", 2, 0, 0, 1205},
    {"12.500", 2, 0, 0, 1250},
    {"12.501", 2, 0, FG_EINVALID, 0},
    {"-12.5", 2, 0, 0, -1250},
    {"+12.5", 2, 0, 0, 1250},
    {"0.01", 2, 0, 0, 1},
    {"0", 2, 0, 0, 0},
    {"-0", 2, 0, 0, 0},
    {"007", 0, 0, 0, 7},
    /* without minor units, three fraction digits are a thousands group: refused, never 1/1000 */
    {"250.000", 0, 0, FG_EINVALID, 0},
    {"250,000", 0, 1, FG_EINVALID, 0},
    {"250.00", 0, 0, 0, 250},
    {"250000,", 0, 1, FG_EINVALID, 0},
    {"250000,0", 0, 1, 0, 250000},
    {"250.0000", 0, 0, 0, 250},
    {"12.500", 3, 0, 0, 12500},
    {"12,50", 2, 1, 0, 1250},
    {"12,50", 2, 0, FG_EINVALID, 0},
    {"12.50", 2, 1, FG_EINVALID, 0},
    {"1,234.50", 2, 0, FG_EINVALID, 0},
    {"1.234,50", 2, 1, FG_EINVALID, 0},
    {"1.2.3", 2, 0, FG_EINVALID, 0},
    {"12.", 2, 0, FG_EINVALID, 0},
    {".5", 2, 0, FG_EINVALID, 0},
    {"-.5", 2, 0, FG_EINVALID, 0},
    {"", 2, 0, FG_EINVALID, 0},
    {"-", 2, 0, FG_EINVALID, 0},
    {"+", 2, 0, FG_EINVALID, 0},
    {"--1", 2, 0, FG_EINVALID, 0},
    {"+-1", 2, 0, FG_EINVALID, 0},
    {" 12", 2, 0, FG_EINVALID, 0},
    {"12 ", 2, 0, FG_EINVALID, 0},
    {"1 000", 0, 0, FG_EINVALID, 0},
    {"1e5", 0, 0, FG_EINVALID, 0},
    {"0x10", 0, 0, FG_EINVALID, 0},
    {"12abc", 2, 0, FG_EINVALID, 0},
    {"1.5", 3, 0, 0, 1500},
    {"0.001", 3, 0, 0, 1},
    {"0.0001", 3, 0, FG_EINVALID, 0},
    {"9223372036854775807", 0, 0, 0, INT64_MAX},
    {"9223372036854775808", 0, 0, FG_EOVERFLOW, 0},
    {"-9223372036854775808", 0, 0, 0, INT64_MIN},
    {"-9223372036854775809", 0, 0, FG_EOVERFLOW, 0},
    {"99999999999999999999999", 0, 0, FG_EOVERFLOW, 0},
    {"92233720368547758.07", 2, 0, 0, INT64_MAX},
    {"92233720368547758.08", 2, 0, FG_EOVERFLOW, 0},
    {"-92233720368547758.08", 2, 0, 0, INT64_MIN},
    {"92233720368547759", 2, 0, FG_EOVERFLOW, 0},
    {"10000000000000.00", 2, 0, 0, FG_AMOUNT_MAX},
    {"1000000000000000", 0, 0, 0, FG_AMOUNT_MAX},
    {"00000000000000000000000000001", 0, 0, 0, 1},
    {"99999999999999999999999x", 0, 0, FG_EINVALID, 0},
};

START_TEST(parse_table)
{
    const parse_case_t *c = &parse_cases[_i];
    int64_t out = 777;
    int rc = fg_money_parse(c->text, strlen(c->text), c->exponent, c->decimal_comma, &out);
    ck_assert_msg(rc == c->rc, "\"%s\" exp %d: rc %d, expected %d", c->text, c->exponent, rc, c->rc);
    if (c->rc == 0)
        ck_assert_int_eq(out, c->value);
    else
        ck_assert_int_eq(out, 777); /* untouched on error */
}
END_TEST

START_TEST(parse_respects_len)
{
    int64_t out = 0;
    ck_assert_int_eq(fg_money_parse("12.50xyz", 5, 2, 0, &out), 0);
    ck_assert_int_eq(out, 1250);
    ck_assert_int_eq(fg_money_parse("12.50", 3, 2, 0, &out), FG_EINVALID); /* "12." */
    ck_assert_int_eq(fg_money_parse(NULL, 0, 2, 0, &out), FG_EINVALID);
    ck_assert_int_eq(fg_money_parse("1\0"
                                    "2",
                                    3, 0, 0, &out),
                     FG_EINVALID);
}
END_TEST

/* ---- formatting ---------------------------------------------------------- */

static void expect_format(int64_t amount, int exponent, const char *want)
{
    char buf[32];
    int n = fg_money_format(amount, exponent, buf, sizeof(buf));
    ck_assert_int_eq(n, (int)strlen(want));
    ck_assert_str_eq(buf, want);
}

START_TEST(format_values)
{
    expect_format(0, 0, "0");
    expect_format(0, 2, "0.00");
    expect_format(1, 2, "0.01");
    expect_format(5, 3, "0.005");
    expect_format(-5, 2, "-0.05");
    expect_format(1250, 2, "12.50");
    expect_format(-1250, 2, "-12.50");
    expect_format(1500000, 0, "1500000");
    expect_format(-1500000, 0, "-1500000");
    expect_format(1234567, 3, "1234.567");
    expect_format(FG_AMOUNT_MAX, 0, "1000000000000000");
    expect_format(INT64_MAX, 0, "9223372036854775807");
    expect_format(INT64_MIN, 0, "-9223372036854775808");
    expect_format(INT64_MAX, 2, "92233720368547758.07");
    expect_format(INT64_MIN, 2, "-92233720368547758.08");
    expect_format(INT64_MIN, 18, "-9.223372036854775808");
}
END_TEST

START_TEST(format_capacity)
{
    char buf[32];
    memset(buf, 'x', sizeof(buf));
    ck_assert_int_eq(fg_money_format(1250, 2, buf, 5), FG_ETOOLONG); /* "12.50" + NUL needs 6 */
    ck_assert_int_eq(fg_money_format(1250, 2, buf, 6), 5);
    ck_assert_str_eq(buf, "12.50");
    ck_assert_int_eq(fg_money_format(INT64_MIN, 2, buf, 21), FG_ETOOLONG);
    ck_assert_int_eq(fg_money_format(INT64_MIN, 2, buf, 22), 21);
    ck_assert_int_eq(fg_money_format(0, 0, buf, 0), FG_ETOOLONG);
}
END_TEST

/* The pages' amounts: dots between thousands, a comma before the fraction. */
START_TEST(pages_write_amounts_the_vietnamese_way)
{
    static const struct {
        int64_t amount;
        int exponent;
        const char *want;
    } cases[] = {
        {0, 0, "0"},
        {5, 0, "5"},
        {1500000, 0, "1.500.000"},
        {-250000, 0, "-250.000"},
        {5, 2, "0,05"},
        {12, 3, "0,012"},
        {1, 3, "0,001"},
        {50, 2, "0,50"},
        {105, 2, "1,05"},
        {123456, 2, "1.234,56"},
        {-7, 2, "-0,07"},
        {INT64_MAX, 0, "9.223.372.036.854.775.807"},
        {INT64_MIN, 2, "-92.233.720.368.547.758,08"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        int n = fg_money_format_vi(cases[i].amount, cases[i].exponent, out, sizeof(out));
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "%lld e%d: %s, want %s", (long long)cases[i].amount,
                      cases[i].exponent, out, cases[i].want);
        ck_assert_int_eq(n, (int)strlen(cases[i].want));
    }
    char small[4];
    ck_assert_int_eq(fg_money_format_vi(1000, 0, small, sizeof(small)), FG_ETOOLONG);
}
END_TEST

/* What pages and messages show: the currency's own digits, a no-break space, ₫ or the code. */
START_TEST(money_is_displayed_with_its_currency)
{
    static const struct {
        int64_t amount;
        const char *currency, *want;
    } cases[] = {
        {4500000, "VND", "4.500.000\xc2\xa0₫"},
        {1234567, NULL, "1.234.567\xc2\xa0₫"},
        {123456, "USD", "1.234,56\xc2\xa0USD"},
        {1000, "KWD", "1,000\xc2\xa0KWD"},
        {1500, "JPY", "1.500\xc2\xa0JPY"},
        {1500, "XXX", "1.500\xc2\xa0XXX"}, /* no such currency: taken as without minor units */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[FG_MONEY_DISPLAY_MAX];
        ck_assert_int_eq(fg_money_display(cases[i].amount, cases[i].currency, out, sizeof(out)),
                         (int)strlen(cases[i].want));
        ck_assert_str_eq(out, cases[i].want);
    }
    char small[8];
    ck_assert_int_eq(fg_money_display(4500000, "VND", small, sizeof(small)), FG_ETOOLONG);
}
END_TEST

START_TEST(format_parse_round_trip)
{
    static const int64_t amounts[] = {
        0, 1, -1, 9, 10, 99, 100, 101, 1500000, -1500000, FG_AMOUNT_MAX, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (int exponent = 0; exponent <= 4; exponent++) {
        for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
            char buf[32];
            int n = fg_money_format(amounts[i], exponent, buf, sizeof(buf));
            ck_assert_int_gt(n, 0);
            int64_t back = 0;
            ck_assert_int_eq(fg_money_parse(buf, (size_t)n, exponent, 0, &back), 0);
            ck_assert_int_eq(back, amounts[i]);
        }
    }
}
END_TEST

static Suite *money_suite(void)
{
    Suite *s = suite_create("money");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, currency_table);
    tcase_add_test(tc, currency_rejects);
    tcase_add_test(tc, amount_valid);
    tcase_add_test(tc, add_sub_boundaries);
    tcase_add_test(tc, mul_boundaries);
    tcase_add_loop_test(tc, parse_table, 0, (int)(sizeof(parse_cases) / sizeof(parse_cases[0])));
    tcase_add_test(tc, parse_respects_len);
    tcase_add_test(tc, format_values);
    tcase_add_test(tc, format_capacity);
    tcase_add_test(tc, format_parse_round_trip);
    tcase_add_test(tc, pages_write_amounts_the_vietnamese_way);
    tcase_add_test(tc, money_is_displayed_with_its_currency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(money_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
