/* Unit tests for services/receipts: the amount in Vietnamese words
 * (words.c) and the checks of a unit's receipt settings (store.c). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "receipts/receipts.h"

static void expect_words(int64_t amount, const char *currency, const char *want)
{
    fg_buf_t b = FG_BUF_INIT;
    ck_assert_int_eq(fg_receipt_amount_words(amount, currency, &b), 0);
    ck_assert_msg(b.data != NULL && strcmp(b.data, want) == 0, "%lld %s: \"%s\", want \"%s\"", (long long)amount,
                  currency, b.data != NULL ? b.data : "", want);
    fg_buf_free(&b);
}

/* ---- the cases PROTOCOLS.md gives ------------------------------------------------ */

START_TEST(protocol_cases)
{
    expect_words(4500000, "VND", "Bốn triệu năm trăm nghìn đồng");
    expect_words(1005000, "VND", "Một triệu không trăm linh năm nghìn đồng");
    expect_words(21000, "VND", "Hai mươi mốt nghìn đồng");
    expect_words(15000, "VND", "Mười lăm nghìn đồng");
    expect_words(25000, "VND", "Hai mươi lăm nghìn đồng");
}
END_TEST

START_TEST(round_amounts)
{
    expect_words(0, "VND", "Không đồng");
    expect_words(1, "VND", "Một đồng");
    expect_words(10, "VND", "Mười đồng");
    expect_words(1000, "VND", "Một nghìn đồng");
    expect_words(10000, "VND", "Mười nghìn đồng");
    expect_words(100000, "VND", "Một trăm nghìn đồng");
    expect_words(1000000, "VND", "Một triệu đồng");
    expect_words(1000000000, "VND", "Một tỷ đồng");
    expect_words(2005000000, "VND", "Hai tỷ không trăm linh năm triệu đồng");
    /* the largest amount an order may have: 10^15 */
    expect_words(1000000000000000LL, "VND", "Một triệu tỷ đồng");
    expect_words(FG_RECEIPT_AMOUNT_MAX, "VND", "Một triệu tỷ đồng");
}
END_TEST

START_TEST(places_inside_groups)
{
    expect_words(5, "VND", "Năm đồng");
    expect_words(15, "VND", "Mười lăm đồng");
    expect_words(21, "VND", "Hai mươi mốt đồng");
    expect_words(11, "VND", "Mười một đồng");
    expect_words(105, "VND", "Một trăm linh năm đồng");
    expect_words(101, "VND", "Một trăm linh một đồng");
    expect_words(110, "VND", "Một trăm mười đồng");
    expect_words(115, "VND", "Một trăm mười lăm đồng");
    expect_words(999, "VND", "Chín trăm chín mươi chín đồng");
    expect_words(1001, "VND", "Một nghìn không trăm linh một đồng");
    expect_words(1010, "VND", "Một nghìn không trăm mười đồng");
    expect_words(1100, "VND", "Một nghìn một trăm đồng");
    expect_words(1000005, "VND", "Một triệu không trăm linh năm đồng");
    expect_words(250000, "VND", "Hai trăm năm mươi nghìn đồng");
    expect_words(1500000, "VND", "Một triệu năm trăm nghìn đồng");
    expect_words(12345678, "VND", "Mười hai triệu ba trăm bốn mươi lăm nghìn sáu trăm bảy mươi tám đồng");
    expect_words(1000001000, "VND", "Một tỷ không trăm linh một nghìn đồng");
    expect_words(1200000000000LL, "VND", "Một nghìn hai trăm tỷ đồng");
    expect_words(999999999999999LL, "VND",
                 "Chín trăm chín mươi chín nghìn chín trăm chín mươi chín tỷ chín trăm chín mươi chín triệu chín trăm "
                 "chín mươi chín nghìn chín trăm chín mươi chín đồng");
}
END_TEST

START_TEST(adjustments_and_other_currencies)
{
    expect_words(-50000, "VND", "Âm năm mươi nghìn đồng");
    expect_words(12050, "USD", "Một trăm hai mươi USD và năm mươi phần 100");
    expect_words(12000, "USD", "Một trăm hai mươi USD");
    expect_words(5, "USD", "Không USD và năm phần 100");
}
END_TEST

START_TEST(out_of_range)
{
    fg_buf_t b = FG_BUF_INIT;
    ck_assert_int_eq(fg_receipt_amount_words(FG_RECEIPT_AMOUNT_MAX + 1, "VND", &b), FG_ERANGE);
    ck_assert_int_eq(fg_receipt_amount_words(-FG_RECEIPT_AMOUNT_MAX - 1, "VND", &b), FG_ERANGE);
    ck_assert_int_eq(fg_receipt_amount_words(INT64_MIN, "VND", &b), FG_ERANGE);
    ck_assert_int_eq(fg_receipt_amount_words(1000, "XXQ", &b), FG_ERANGE);
    ck_assert_int_eq(fg_receipt_amount_words(1000, NULL, &b), FG_ERANGE);
    ck_assert_uint_eq(b.len, 0);
    fg_buf_free(&b);
}
END_TEST

/* ---- settings -------------------------------------------------------------------- */

START_TEST(tax_codes)
{
    ck_assert(fg_receipt_tax_code_valid("0101234567"));
    ck_assert(fg_receipt_tax_code_valid("0101234567-001"));
    ck_assert(!fg_receipt_tax_code_valid(""));
    ck_assert(!fg_receipt_tax_code_valid(NULL));
    ck_assert(!fg_receipt_tax_code_valid("010123456"));
    ck_assert(!fg_receipt_tax_code_valid("01012345678"));
    ck_assert(!fg_receipt_tax_code_valid("0101234567-01"));
    ck_assert(!fg_receipt_tax_code_valid("0101234567-0011"));
    ck_assert(!fg_receipt_tax_code_valid("0101234567_001"));
    ck_assert(!fg_receipt_tax_code_valid("010123456A"));
    ck_assert(!fg_receipt_tax_code_valid("0101234567-00A"));
    ck_assert(!fg_receipt_tax_code_valid(" 0101234567"));
}
END_TEST

START_TEST(symbols)
{
    ck_assert(fg_receipt_symbol_valid("01BLP0-001", FG_RECEIPT_FORM_MAX));
    ck_assert(fg_receipt_symbol_valid("BL-26E", FG_RECEIPT_SERIAL_MAX));
    ck_assert(fg_receipt_symbol_valid("AA/26E", FG_RECEIPT_SERIAL_MAX));
    ck_assert(!fg_receipt_symbol_valid("", FG_RECEIPT_SERIAL_MAX));
    ck_assert(!fg_receipt_symbol_valid("bl-26e", FG_RECEIPT_SERIAL_MAX));
    ck_assert(!fg_receipt_symbol_valid("BL 26E", FG_RECEIPT_SERIAL_MAX));
    ck_assert(!fg_receipt_symbol_valid("ABCDEFGHIJKL", FG_RECEIPT_SERIAL_MAX));
}
END_TEST

START_TEST(settings_check)
{
    const char *field = "x";
    fg_receipt_settings_t ok = {.has_unit_name = 1,
                                .unit_name = "Trường Tiểu học Kim Đồng",
                                .has_tax_code = 1,
                                .tax_code = "0101234567-001",
                                .has_address = 1,
                                .address = "12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội",
                                .has_form = 1,
                                .form = "01BLP0-001",
                                .has_serial = 1,
                                .serial = "BL-26E"};
    ck_assert_int_eq(fg_receipt_settings_check(&ok, &field), 0);
    ck_assert_ptr_null(field);
    fg_receipt_settings_t cleared = {.has_unit_name = 1, .has_tax_code = 1, .has_address = 1};
    ck_assert_int_eq(fg_receipt_settings_check(&cleared, &field), 0);
    fg_receipt_settings_t bad = ok;
    bad.tax_code = "123";
    ck_assert_int_eq(fg_receipt_settings_check(&bad, &field), FG_EINVALID);
    ck_assert_str_eq(field, "tax_code");
    bad = ok;
    bad.unit_name = " leading space";
    ck_assert_int_eq(fg_receipt_settings_check(&bad, &field), FG_EINVALID);
    ck_assert_str_eq(field, "unit_name");
    bad = ok;
    bad.address = "line\nbreak";
    ck_assert_int_eq(fg_receipt_settings_check(&bad, &field), FG_EINVALID);
    ck_assert_str_eq(field, "address");
    bad = ok;
    bad.has_serial = 1;
    bad.serial = NULL; /* form and serial cannot be cleared */
    ck_assert_int_eq(fg_receipt_settings_check(&bad, &field), FG_EINVALID);
    ck_assert_str_eq(field, "serial");
    char long_name[FG_RECEIPT_UNIT_NAME_CHARS + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    bad = ok;
    bad.unit_name = long_name;
    ck_assert_int_eq(fg_receipt_settings_check(&bad, &field), FG_EINVALID);
}
END_TEST

START_TEST(number_text)
{
    char t[8];
    fg_receipt_number_text(1, t);
    ck_assert_str_eq(t, "0000001");
    fg_receipt_number_text(1234567, t);
    ck_assert_str_eq(t, "1234567");
    fg_receipt_number_text(FG_RECEIPT_NUMBER_MAX, t);
    ck_assert_str_eq(t, "9999999");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("receipts");
    TCase *t = tcase_create("words");
    tcase_add_test(t, protocol_cases);
    tcase_add_test(t, round_amounts);
    tcase_add_test(t, places_inside_groups);
    tcase_add_test(t, adjustments_and_other_currencies);
    tcase_add_test(t, out_of_range);
    suite_add_tcase(s, t);
    t = tcase_create("settings");
    tcase_add_test(t, tax_codes);
    tcase_add_test(t, symbols);
    tcase_add_test(t, settings_check);
    tcase_add_test(t, number_text);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
