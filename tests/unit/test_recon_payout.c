/* Unit tests for services/recon/payout.c: the payout a statement line names. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "recon/recon_internal.h"

typedef struct {
    const char *text;
    int whole;
    const char *gateway; /* NULL: names no payout */
    int32_t day;
    const char *batch_ref;
} name_case_t;

static const name_case_t cases[] = {
    /* a bank reference or end-to-end id is the name, whole */
    {"VNPSTL20261202", 1, "vnpay", 20261202, "VNPSTL20261202"},
    {"MOMOSTL20240229", 1, "momo", 20240229, "MOMOSTL20240229"},
    {"VNPSTL20261202X", 1, NULL, 0, NULL},
    {"XVNPSTL20261202", 1, NULL, 0, NULL},
    {"VNPSTL2026120", 1, NULL, 0, NULL},   /* seven digits */
    {"VNPSTL20261232", 1, NULL, 0, NULL},  /* no 32 December */
    {"MOMOSTL20250229", 1, NULL, 0, NULL}, /* 2025 is no leap year */
    {"vnpstl20261202", 1, NULL, 0, NULL},  /* the gateways write it in capitals */
    {"SEPAYSTL20261202", 1, NULL, 0, NULL},
    {"", 1, NULL, 0, NULL},
    /* in a memo, a word of it */
    {"VNPAY SETTLEMENT BATCH VNPSTL20261202 TESTTMN1 02/12/2026 3 TXN", 0, "vnpay", 20261202, "VNPSTL20261202"},
    {"MOMO SETTLEMENT BATCH MOMOSTL20261203", 0, "momo", 20261203, "MOMOSTL20261203"},
    {"THANH TOAN/MOMOSTL20261203/MOMO", 0, "momo", 20261203, "MOMOSTL20261203"},
    {"XMOMOSTL20261203", 0, NULL, 0, NULL},
    {"MOMOSTL202612031", 0, NULL, 0, NULL},
    {"MOMOSTL20261203A", 0, NULL, 0, NULL},
    {"HOC PHI 7Z50K5DDM7F", 0, NULL, 0, NULL},
    {"VNPSTL 20261202", 0, NULL, 0, NULL},
};

START_TEST(payout_names)
{
    const name_case_t *c = &cases[_i];
    fg_recon_payout_name_t n;
    memset(&n, 0x55, sizeof(n));
    int found = fg_recon_payout_name(c->text, strlen(c->text), c->whole, &n);
    ck_assert_msg(found == (c->gateway != NULL), "\"%s\" (whole %d): found %d", c->text, c->whole, found);
    if (c->gateway == NULL) {
        ck_assert_str_eq(n.gateway, ""); /* zeroed */
        return;
    }
    ck_assert_str_eq(n.gateway, c->gateway);
    ck_assert_int_eq(n.day, c->day);
    ck_assert_str_eq(n.batch_ref, c->batch_ref);
}
END_TEST

START_TEST(payout_name_respects_len)
{
    fg_recon_payout_name_t n;
    /* only len bytes: the memo's name is cut short */
    const char *memo = "BATCH VNPSTL20261202";
    ck_assert_int_eq(fg_recon_payout_name(memo, strlen(memo) - 1, 0, &n), 0);
    ck_assert_int_eq(fg_recon_payout_name(memo, strlen(memo), 0, &n), 1);
    ck_assert_int_eq(fg_recon_payout_name("VNPSTL20261202", 14, 1, &n), 1);
    ck_assert_int_eq(fg_recon_payout_name("VNPSTL20261202 ", 15, 1, &n), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recon_payout");
    TCase *tc = tcase_create("names");
    tcase_add_loop_test(tc, payout_names, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, payout_name_respects_len);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
