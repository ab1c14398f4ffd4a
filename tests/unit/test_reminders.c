/* Unit tests for services/reminders/compose.c: steps, quiet hours, the opt-out
 * token, phone numbers, and what the messages say. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "core/day.h"
#include "reminders/reminders.h"

/* ---- steps ---------------------------------------------------------------------- */

START_TEST(steps_round_trip_sorted)
{
    fg_reminder_policy_t p = {
        .count = 4,
        .steps = {{3, FG_CHANNEL_EMAIL}, {-7, FG_CHANNEL_EMAIL}, {0, FG_CHANNEL_ZALO}, {-1, FG_CHANNEL_SMS}}};
    const char *why;
    char text[FG_REMINDER_STEPS_TEXT_MAX + 1];
    ck_assert_int_eq(fg_reminder_steps_check(&p, &why), 0);
    fg_reminder_steps_format(&p, text, sizeof(text));
    ck_assert_str_eq(text, "-7:email,-1:sms,0:zalo,3:email");
    fg_reminder_policy_t back;
    ck_assert_int_eq(fg_reminder_steps_parse(text, strlen(text), &back), 0);
    ck_assert_int_eq(back.count, 4);
    ck_assert_int_eq(back.steps[1].days, -1);
    ck_assert_int_eq(back.steps[1].channel, FG_CHANNEL_SMS);
    /* the longest policy fits the column */
    fg_reminder_policy_t big = {.count = 8};
    for (int i = 0; i < 8; i++)
        big.steps[i] = (fg_reminder_step_t){-60 + i, FG_CHANNEL_EMAIL};
    fg_reminder_steps_format(&big, text, sizeof(text));
    ck_assert_uint_lt(strlen(text), FG_REMINDER_STEPS_TEXT_MAX);
    ck_assert_int_eq(fg_reminder_steps_parse(text, strlen(text), &back), 0);
    ck_assert_int_eq(back.count, 8);
}
END_TEST

static const char *const bad_steps[] = {
    "",
    "-7",
    "-7:fax",
    "x:email",
    "61:email",
    "-61:email",
    "1:email,1:sms",
    "1:email,,2:sms",
    "1:email,2:email,3:email,4:email,5:email,6:email,7:email,8:email,9:email",
};

START_TEST(steps_refused)
{
    fg_reminder_policy_t p;
    const char *t = bad_steps[_i];
    ck_assert_int_eq(fg_reminder_steps_parse(t, strlen(t), &p), FG_EINVALID);
}
END_TEST

START_TEST(steps_check_says_why)
{
    const char *why;
    fg_reminder_policy_t none = {.count = 0};
    ck_assert_int_eq(fg_reminder_steps_check(&none, &why), FG_EINVALID);
    ck_assert_ptr_nonnull(why);
    fg_reminder_policy_t twice = {.count = 2, .steps = {{-1, FG_CHANNEL_SMS}, {-1, FG_CHANNEL_EMAIL}}};
    ck_assert_int_eq(fg_reminder_steps_check(&twice, &why), FG_EINVALID);
    ck_assert_ptr_nonnull(strstr(why, "one reminder a day"));
}
END_TEST

/* ---- quiet hours ---------------------------------------------------------------- */

static int64_t at(int32_t day, int hour, int minute) { return fg_day_start_ms(day) + (hour * 60 + minute) * 60000LL; }

START_TEST(quiet_hours_across_midnight)
{
    int from, to;
    int64_t until;
    ck_assert_int_eq(fg_config_quiet_hours("21:00-07:00", &from, &to), 0);
    ck_assert_int_eq(from, 21 * 60);
    ck_assert_int_eq(to, 7 * 60);
    int32_t d = 20261204, next = 20261205;
    /* daytime: SMS and Zalo go */
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_SMS, from, to, at(d, 7, 0), &until), 0);
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_ZALO, from, to, at(d, 20, 59), &until), 0);
    /* 21:00 GMT+7 (14:00 UTC) is quiet until 07:00 the next day */
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_SMS, from, to, at(d, 21, 0), &until), 1);
    ck_assert_int_eq(until, at(next, 7, 0));
    /* 06:59 is quiet until 07:00 the same day */
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_ZALO, from, to, at(d, 6, 59), &until), 1);
    ck_assert_int_eq(until, at(d, 7, 0));
    /* 00:30 GMT+7 is still the evening of the UTC day before: the business day decides */
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_SMS, from, to, at(d, 0, 30), &until), 1);
    ck_assert_int_eq(until, at(d, 7, 0));
    /* e-mail has no quiet hours */
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_EMAIL, from, to, at(d, 23, 0), &until), 0);
}
END_TEST

START_TEST(quiet_hours_within_a_day_and_none)
{
    int from, to;
    int64_t until;
    int32_t d = 20261204;
    ck_assert_int_eq(fg_config_quiet_hours("12:00-13:30", &from, &to), 0);
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_SMS, from, to, at(d, 12, 15), &until), 1);
    ck_assert_int_eq(until, at(d, 13, 30));
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_SMS, from, to, at(d, 13, 30), &until), 0);
    ck_assert_int_eq(fg_config_quiet_hours("", &from, &to), 0);
    ck_assert_int_eq(fg_reminder_quiet(FG_CHANNEL_SMS, from, to, at(d, 23, 0), &until), 0);
    const char *bad[] = {"21:00",       "21:00-07",     "25:00-07:00", "21:60-07:00",
                         "07:00-07:00", "21:00-07:00x", "9:00-17:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(fg_config_quiet_hours(bad[i], &from, &to), FG_EINVALID);
}
END_TEST

/* ---- token and phone numbers ------------------------------------------------------------ */

START_TEST(token_names_one_order)
{
    char t[FG_REMINDER_TOKEN_LEN + 1];
    fg_reminder_token("s3cret", "ord_01ABC", t);
    ck_assert_uint_eq(strlen(t), FG_REMINDER_TOKEN_LEN);
    ck_assert(fg_reminder_token_valid("s3cret", "ord_01ABC", t, strlen(t)));
    ck_assert(!fg_reminder_token_valid("s3cret", "ord_01ABD", t, strlen(t)));
    ck_assert(!fg_reminder_token_valid("other", "ord_01ABC", t, strlen(t)));
    ck_assert(!fg_reminder_token_valid("", "ord_01ABC", t, strlen(t)));
    ck_assert(!fg_reminder_token_valid("s3cret", "ord_01ABC", t, strlen(t) - 1));
}
END_TEST

START_TEST(phones_in_international_form)
{
    char out[16];
    ck_assert_int_eq(fg_reminder_phone("0912345678", out), 0);
    ck_assert_str_eq(out, "84912345678");
    ck_assert_int_eq(fg_reminder_phone("+84 912 345 678", out), 0);
    ck_assert_str_eq(out, "84912345678");
    ck_assert_int_eq(fg_reminder_phone("0912.345.678", out), 0);
    const char *bad[] = {"",           "12345",         "091234567",   "09123456789", "840912345678", "84012345678",
                         "0912a45678", "++84912345678", "0912345678\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(fg_reminder_phone(bad[i], out) == FG_EINVALID, "%s", bad[i]);
}
END_TEST

START_TEST(vietnamese_without_marks)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_reminder_ascii(&b, "Trường THCS Nguyễn Du – Học phí tháng 9, Đợt 1");
    ck_assert_str_eq(b.data, "Truong THCS Nguyen Du ? Hoc phi thang 9, Dot 1");
    fg_buf_free(&b);
}
END_TEST

/* ---- messages ------------------------------------------------------------------------- */

static fg_reminder_text_t sample(int english)
{
    fg_reminder_text_t t = {.english = english,
                            .unit = "Trường THCS Nguyễn Du",
                            .payer_name = "Nguyễn Văn An",
                            .bill = "Học phí tháng 9",
                            .owed = 4500000,
                            .currency = "VND",
                            .due_day = 20261210,
                            .code = "151AMEPNRHM",
                            .pay_url = "https://pay.example.vn/pay/151AMEPNRHM",
                            .opt_out_url = "https://pay.example.vn/reminders/opt-out/ord_1/tok",
                            .message_id = "rmd_01J",
                            .from = "thu@school.example.vn",
                            .to = "an@example.vn",
                            .now_ms = at(20261204, 9, 0)};
    return t;
}

START_TEST(email_says_what_is_owed)
{
    fg_reminder_text_t t = sample(0);
    fg_buf_t b = FG_BUF_INIT;
    fg_reminder_compose_email(&t, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "Message-ID: <rmd_01J@feegate>\r\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "Date: Fri, 04 Dec 2026 09:00:00 +0700\r\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "Subject: =?UTF-8?B?"));
    ck_assert_ptr_nonnull(strstr(b.data, "List-Unsubscribe: <https://pay.example.vn/reminders/opt-out/ord_1/tok>"));
    ck_assert_ptr_nonnull(strstr(b.data, "Kính gửi Nguyễn Văn An,"));
    ck_assert_ptr_nonnull(strstr(b.data, "4.500.000\xc2\xa0₫"));
    ck_assert_ptr_nonnull(strstr(b.data, "10/12/2026"));
    ck_assert_ptr_nonnull(strstr(b.data, "151AMEPNRHM"));
    ck_assert_ptr_nonnull(strstr(b.data, "https://pay.example.vn/pay/151AMEPNRHM"));
    /* every line ends in CRLF and stays under SMTP's 998 */
    const char *line = b.data;
    for (const char *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        ck_assert(nl > b.data && nl[-1] == '\r');
        ck_assert_int_lt(nl - line, 998);
    }
    fg_buf_reset(&b);
    t = sample(1);
    fg_reminder_compose_email(&t, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "Dear Nguyễn Văn An,"));
    ck_assert_ptr_nonnull(strstr(b.data, "Still owed:  4.500.000\xc2\xa0₫"));
    fg_buf_free(&b);
}
END_TEST

START_TEST(sms_is_plain_text)
{
    fg_reminder_text_t t = sample(0);
    fg_buf_t b = FG_BUF_INIT;
    fg_reminder_compose_sms(&t, &b);
    ck_assert_str_eq(b.data, "Truong THCS Nguyen Du: nhac nop 4.500.000 d cho Hoc phi thang 9, han 10/12/2026. Ma "
                             "151AMEPNRHM. Nop tai https://pay.example.vn/pay/151AMEPNRHM Tu choi: "
                             "https://pay.example.vn/reminders/opt-out/ord_1/tok");
    for (size_t i = 0; i < b.len; i++)
        ck_assert((unsigned char)b.data[i] < 0x80);
    fg_buf_free(&b);
}
END_TEST

START_TEST(zalo_template_data)
{
    fg_reminder_text_t t = sample(0);
    fg_buf_t b = FG_BUF_INIT;
    fg_reminder_compose_zalo(&t, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "\"amount\":\"4.500.000\xc2\xa0₫\""));
    ck_assert_ptr_nonnull(strstr(b.data, "\"due_date\":\"10/12/2026\""));
    ck_assert_ptr_nonnull(strstr(b.data, "\"code\":\"151AMEPNRHM\""));
    fg_buf_free(&b);
}
END_TEST

START_TEST(receipt_email)
{
    fg_receipt_mail_t r = {.unit = "UBND Phường Bến Nghé",
                           .payer_name = "Trần Thị Bình",
                           .receipt_id = "rct_1",
                           .form = "01BLP0-001",
                           .serial = "BL-26E",
                           .bill = "Lệ phí chứng thực",
                           .currency = "VND",
                           .receipt_url = "https://pay.example.vn/pay/X/receipt?payment=pay_1",
                           .number = 42,
                           .amount = 25000,
                           .paid_at_ms = at(20261204, 23, 30),
                           .message_id = "rmd_2",
                           .from = "a@b.vn",
                           .to = "c@d.vn",
                           .now_ms = at(20261204, 23, 31)};
    fg_buf_t b = FG_BUF_INIT;
    fg_reminder_compose_receipt_email(&r, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "0000042"));
    ck_assert_ptr_nonnull(strstr(b.data, "25.000\xc2\xa0₫"));
    ck_assert_ptr_nonnull(strstr(b.data, "04/12/2026 23:30 (GMT+7)"));
    ck_assert_ptr_nonnull(strstr(b.data, "https://pay.example.vn/pay/X/receipt?payment=pay_1"));
    ck_assert_ptr_null(strstr(b.data, "List-Unsubscribe"));
    fg_buf_free(&b);
}
END_TEST

/* A bill in another currency: its amount as the pages write it, "1.234,56 USD" (not "1234.56 USD"),
 * in the e-mail, and without the no-break space in the SMS. */
START_TEST(a_foreign_currency_reads_as_on_the_pages)
{
    fg_reminder_text_t t = sample(1);
    t.owed = 123456;
    t.currency = "USD";
    fg_buf_t b = FG_BUF_INIT;
    fg_reminder_compose_email(&t, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "Still owed:  1.234,56\xc2\xa0USD\r\n"));
    ck_assert_ptr_null(strstr(b.data, "1234.56"));
    fg_buf_reset(&b);
    fg_reminder_compose_sms(&t, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "please pay 1.234,56 USD for"));
    fg_buf_reset(&b);
    t.owed = 1234567;
    t.currency = "VND";
    fg_reminder_compose_email(&t, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "Still owed:  1.234.567\xc2\xa0₫\r\n"));
    fg_buf_free(&b);
}
END_TEST

START_TEST(a_receipt_in_a_foreign_currency)
{
    fg_receipt_mail_t r = {.unit = "Trường Quốc tế Sài Gòn",
                           .receipt_id = "rct_2",
                           .form = "01BLP0-001",
                           .serial = "BL-26E",
                           .bill = "Tuition",
                           .currency = "USD",
                           .receipt_url = "https://pay.example.vn/pay/X/receipt?payment=pay_2",
                           .number = 7,
                           .amount = 123456,
                           .paid_at_ms = at(20261204, 10, 0),
                           .message_id = "rmd_3",
                           .from = "a@b.vn",
                           .to = "c@d.vn",
                           .now_ms = at(20261204, 10, 1)};
    fg_buf_t b = FG_BUF_INIT;
    fg_reminder_compose_receipt_email(&r, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "Số tiền / Amount:  1.234,56\xc2\xa0USD\r\n"));
    fg_buf_reset(&b);
    r.amount = 1234567;
    r.currency = "VND";
    fg_reminder_compose_receipt_email(&r, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "Số tiền / Amount:  1.234.567\xc2\xa0₫\r\n"));
    fg_buf_free(&b);
}
END_TEST

static Suite *reminders_suite(void)
{
    Suite *s = suite_create("reminders");
    TCase *tc = tcase_create("compose");
    tcase_add_test(tc, steps_round_trip_sorted);
    tcase_add_loop_test(tc, steps_refused, 0, (int)(sizeof(bad_steps) / sizeof(bad_steps[0])));
    tcase_add_test(tc, steps_check_says_why);
    tcase_add_test(tc, quiet_hours_across_midnight);
    tcase_add_test(tc, quiet_hours_within_a_day_and_none);
    tcase_add_test(tc, token_names_one_order);
    tcase_add_test(tc, phones_in_international_form);
    tcase_add_test(tc, vietnamese_without_marks);
    tcase_add_test(tc, email_says_what_is_owed);
    tcase_add_test(tc, sms_is_plain_text);
    tcase_add_test(tc, zalo_template_data);
    tcase_add_test(tc, receipt_email);
    tcase_add_test(tc, a_foreign_currency_reads_as_on_the_pages);
    tcase_add_test(tc, a_receipt_in_a_foreign_currency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reminders_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
