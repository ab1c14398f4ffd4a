/*
 * test_ledger.c - journal balance rules and the payment/refund splits.
 */
#include <check.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include "ledger/ledger.h"
#include "payments/payments.h"

START_TEST(account_kinds)
{
    ck_assert_int_eq(fg_account_kind_of("assets:clearing:vnpay"), FG_ACCOUNT_ASSET);
    ck_assert_int_eq(fg_account_kind_of("liabilities:merchant:mer_X"), FG_ACCOUNT_LIABILITY);
    ck_assert_int_eq(fg_account_kind_of("liabilities:unapplied"), FG_ACCOUNT_LIABILITY);
    ck_assert_int_eq(fg_account_kind_of("expenses:fees:momo"), FG_ACCOUNT_EXPENSE);
    ck_assert_int_eq(fg_account_kind_of("income:interest"), FG_ACCOUNT_INCOME);
    ck_assert_int_eq(fg_account_kind_of("equity:opening_balances:123"), FG_ACCOUNT_EQUITY);
    ck_assert_int_eq(fg_account_kind_of("capital:x"), -1);
    ck_assert_int_eq(fg_account_kind_of("assets"), -1);
}
END_TEST

START_TEST(balanced_journals)
{
    fg_journal_t j = {.kind = "payment"};
    fg_journal_add(&j, "assets:clearing:sandbox", 0, "VND", 150000);
    fg_journal_add(&j, "liabilities:merchant:mer_A", 1, "VND", -100000);
    fg_journal_add(&j, "liabilities:unapplied", 0, "VND", -50000);
    ck_assert_int_eq(j.count, 3);
    ck_assert_int_eq(fg_journal_balanced(&j), 1);
    /* a zero line is not added at all */
    fg_journal_add(&j, "liabilities:unapplied", 0, "VND", 0);
    ck_assert_int_eq(j.count, 3);
}
END_TEST

START_TEST(unbalanced_journals)
{
    fg_journal_t j = {.kind = "payment"};
    fg_journal_add(&j, "assets:clearing:sandbox", 0, "VND", 100);
    ck_assert_int_eq(fg_journal_balanced(&j), 0); /* one line */
    fg_journal_add(&j, "liabilities:merchant:mer_A", 1, "VND", -99);
    ck_assert_int_eq(fg_journal_balanced(&j), 0); /* off by one dong */
    fg_journal_t k = {.kind = "fx"};
    fg_journal_add(&k, "assets:bank:1", 0, "VND", 100);
    fg_journal_add(&k, "liabilities:unapplied", 0, "USD", -100);
    ck_assert_int_eq(fg_journal_balanced(&k), 0); /* each currency must balance on its own */
    fg_journal_t o = {.kind = "overflow"};
    fg_journal_add(&o, "assets:bank:1", 0, "VND", INT64_MAX);
    fg_journal_add(&o, "assets:bank:2", 0, "VND", INT64_MAX);
    fg_journal_add(&o, "liabilities:unapplied", 0, "VND", INT64_MIN);
    fg_journal_add(&o, "liabilities:unapplied", 0, "VND", INT64_MIN + 2);
    ck_assert_int_eq(fg_journal_balanced(&o), 0); /* the running sum overflows: refused */
}
END_TEST

START_TEST(multi_currency_balanced)
{
    fg_journal_t j = {.kind = "settlement"};
    fg_journal_add(&j, "assets:bank:1", 0, "VND", 990);
    fg_journal_add(&j, "expenses:fees:vnpay", 0, "VND", 10);
    fg_journal_add(&j, "assets:clearing:vnpay", 0, "VND", -1000);
    fg_journal_add(&j, "assets:bank:2", 0, "USD", 5);
    fg_journal_add(&j, "liabilities:unapplied", 0, "USD", -5);
    ck_assert_int_eq(fg_journal_balanced(&j), 1);
}
END_TEST

/* fg_payment_split by the order status's name. */
static void split_named(const char *effective, int allow_partial, int64_t amount, int64_t amount_paid, int64_t received,
                        int64_t *applied, int64_t *unapplied)
{
    fg_order_status_t status;
    ck_assert_int_eq(fg_order_status_parse(effective, strlen(effective), &status), 0);
    fg_payment_split(status, allow_partial, amount, amount_paid, received, applied, unapplied);
}

START_TEST(payment_split_rules)
{
    int64_t applied, unapplied;
    split_named("open", 0, 100, 0, 100, &applied, &unapplied); /* exact */
    ck_assert_int_eq(applied, 100);
    ck_assert_int_eq(unapplied, 0);
    split_named("open", 0, 100, 0, 130, &applied, &unapplied); /* overpaid: excess unapplied */
    ck_assert_int_eq(applied, 100);
    ck_assert_int_eq(unapplied, 30);
    split_named("open", 0, 100, 0, 60, &applied, &unapplied); /* partial not allowed */
    ck_assert_int_eq(applied, 0);
    ck_assert_int_eq(unapplied, 60);
    split_named("open", 1, 100, 0, 60, &applied, &unapplied); /* partial allowed */
    ck_assert_int_eq(applied, 60);
    ck_assert_int_eq(unapplied, 0);
    split_named("partially_paid", 1, 100, 60, 40, &applied, &unapplied); /* completes */
    ck_assert_int_eq(applied, 40);
    ck_assert_int_eq(unapplied, 0);
    split_named("partially_paid", 1, 100, 60, 50, &applied, &unapplied);
    ck_assert_int_eq(applied, 40);
    ck_assert_int_eq(unapplied, 10);
    const char *closed[] = {"expired", "cancelled", "paid"};
    for (int i = 0; i < 3; i++) {
        split_named(closed[i], 1, 100, 0, 100, &applied, &unapplied);
        ck_assert_int_eq(applied, 0);
        ck_assert_int_eq(unapplied, 100);
    }
}
END_TEST

START_TEST(refund_split_rules)
{
    int64_t merchant, unapplied;
    fg_refund_split(100, 0, 30, &merchant, &unapplied);
    ck_assert_int_eq(merchant, 30);
    ck_assert_int_eq(unapplied, 0);
    fg_refund_split(100, 80, 20, &merchant, &unapplied);
    ck_assert_int_eq(merchant, 20);
    ck_assert_int_eq(unapplied, 0);
    fg_refund_split(100, 90, 30, &merchant, &unapplied); /* payment of 130: 100 applied, 30 unapplied */
    ck_assert_int_eq(merchant, 10);
    ck_assert_int_eq(unapplied, 20);
    fg_refund_split(0, 0, 50, &merchant, &unapplied); /* all went to unapplied (expired order) */
    ck_assert_int_eq(merchant, 0);
    ck_assert_int_eq(unapplied, 50);
}
END_TEST

START_TEST(account_kind_names)
{
    ck_assert_str_eq(fg_account_kind_name(FG_ACCOUNT_ASSET), "asset");
    ck_assert_str_eq(fg_account_kind_name(FG_ACCOUNT_LIABILITY), "liability");
    ck_assert_str_eq(fg_account_kind_name(FG_ACCOUNT_INCOME), "income");
    ck_assert_str_eq(fg_account_kind_name(FG_ACCOUNT_EXPENSE), "expense");
    ck_assert_str_eq(fg_account_kind_name(FG_ACCOUNT_EQUITY), "equity");
    ck_assert_str_eq(fg_account_kind_name(fg_account_kind_of("capital:x")), "unknown");
}
END_TEST

/* The objects' JSON, byte for byte as the staff API has always answered it. */
START_TEST(account_and_journal_json)
{
    fg_buf_t b = FG_BUF_INIT;
    fg_ledger_account_t a = {.id = 7, .code = "liabilities:merchant:mer_A", .currency = "VND", .balance = 640000};
    a.kind = fg_account_kind_of(a.code);
    fg_ledger_account_json(&b, &a);
    ck_assert_str_eq(b.data, "{\"code\":\"liabilities:merchant:mer_A\",\"kind\":\"liability\",\"currency\":\"VND\","
                             "\"balance\":640000}");
    fg_buf_reset(&b);
    fg_ledger_account_t odd = {.id = 8, .code = "equity:opening", .currency = "USD", .kind = -1, .balance = -5};
    fg_ledger_account_json(&b, &odd);
    ck_assert_str_eq(b.data, "{\"code\":\"equity:opening\",\"kind\":\"unknown\",\"currency\":\"USD\",\"balance\":-5}");

    fg_buf_reset(&b);
    fg_ledger_entry_t entries[] = {{"assets:clearing:sandbox", "VND", 150000},
                                   {"liabilities:merchant:mer_A", "VND", -150000}};
    fg_ledger_journal_t j = {.id = 3,
                             .public_id = "jrn_X",
                             .kind = "payment",
                             .memo = "pay \"A\"\n",
                             .created_at_ms = 1764547200123,
                             .entry_count = 2,
                             .entries = entries};
    fg_ledger_journal_json(&b, &j);
    ck_assert_str_eq(b.data,
                     "{\"id\":\"jrn_X\",\"kind\":\"payment\",\"memo\":\"pay \\\"A\\\"\\n\","
                     "\"created_at\":\"2025-12-01T00:00:00Z\",\"entries\":[{\"account\":\"assets:clearing:sandbox\","
                     "\"currency\":\"VND\",\"debit\":150000,\"credit\":0},{\"account\":"
                     "\"liabilities:merchant:mer_A\",\"currency\":\"VND\",\"debit\":0,\"credit\":150000}]}");
    fg_buf_reset(&b);
    j.memo = "";
    j.entry_count = 0;
    fg_ledger_journal_json(&b, &j);
    ck_assert_str_eq(b.data, "{\"id\":\"jrn_X\",\"kind\":\"payment\",\"memo\":\"\",\"created_at\":"
                             "\"2025-12-01T00:00:00Z\",\"entries\":[]}");
    fg_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, account_kinds);
    tcase_add_test(tc, balanced_journals);
    tcase_add_test(tc, unbalanced_journals);
    tcase_add_test(tc, multi_currency_balanced);
    tcase_add_test(tc, payment_split_rules);
    tcase_add_test(tc, refund_split_rules);
    tcase_add_test(tc, account_kind_names);
    tcase_add_test(tc, account_and_journal_json);
    suite_add_tcase(s, tc);
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
