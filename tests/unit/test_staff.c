/*
 * test_staff.c - password hashing, roles and e-mail checks.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "staff/staff.h"

START_TEST(hash_and_verify)
{
    char stored[256], other[256];
    ck_assert_int_eq(fg_password_hash("correct horse battery", 10, stored, sizeof(stored)), 0);
    ck_assert_int_eq(strncmp(stored, "scrypt$10$8$1$", 14), 0);
    ck_assert_int_eq(fg_password_verify("correct horse battery", stored), 1);
    ck_assert_int_eq(fg_password_verify("correct horse batterY", stored), 0);
    ck_assert_int_eq(fg_password_verify("", stored), 0);
    /* a fresh salt each time */
    ck_assert_int_eq(fg_password_hash("correct horse battery", 10, other, sizeof(other)), 0);
    ck_assert_str_ne(stored, other);
    /* tampering with any part fails */
    char tampered[256];
    strcpy(tampered, stored);
    tampered[strlen(tampered) - 2] = tampered[strlen(tampered) - 2] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(fg_password_verify("correct horse battery", tampered), 0);
    strcpy(tampered, stored);
    tampered[8] = '1'; /* scrypt$11$…: another cost, another key */
    ck_assert_int_eq(fg_password_verify("correct horse battery", tampered), 0);
    ck_assert_int_eq(fg_password_verify("x", "plain"), 0);
    ck_assert_int_eq(fg_password_verify("x", "scrypt$99$8$1$AAAA$AAAA"), 0);
    ck_assert_int_eq(fg_password_verify("x", "scrypt$10$8$1$!!$??"), 0);
}
END_TEST

START_TEST(default_cost_round_trip)
{
    char stored[256];
    ck_assert_int_eq(fg_password_hash("a long enough password", FG_SCRYPT_LOG2_N, stored, sizeof(stored)), 0);
    ck_assert_int_eq(strncmp(stored, "scrypt$15$8$1$", 14), 0);
    ck_assert_int_eq(fg_password_verify("a long enough password", stored), 1);
}
END_TEST

START_TEST(role_matrix)
{
    const fg_role_t roles[] = {FG_ROLE_NONE, FG_ROLE_AUDITOR, FG_ROLE_FINANCE, FG_ROLE_ADMIN};
    const fg_auth_t levels[] = {FG_AUTH_STAFF_READ, FG_AUTH_STAFF_WRITE, FG_AUTH_STAFF_ADMIN};
    const int allowed[4][3] = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}, {1, 1, 1}};
    for (int r = 0; r < 4; r++)
        for (int l = 0; l < 3; l++)
            ck_assert_int_eq(fg_staff_role_allows(roles[r], levels[l]), allowed[r][l]);
    ck_assert_int_eq(fg_staff_role_allows(FG_ROLE_ADMIN, FG_AUTH_MERCHANT), 0);
    ck_assert_int_eq(fg_staff_role_parse("finance"), FG_ROLE_FINANCE);
    ck_assert_int_eq(fg_staff_role_parse("auditor"), FG_ROLE_AUDITOR);
    ck_assert_int_eq(fg_staff_role_parse("admin"), FG_ROLE_ADMIN);
    ck_assert_int_eq(fg_staff_role_parse("Admin"), FG_ROLE_NONE);
    ck_assert_int_eq(fg_staff_role_parse(""), FG_ROLE_NONE);
}
END_TEST

START_TEST(emails)
{
    ck_assert_int_eq(fg_staff_email_valid("ke.toan@hanoi.gov.vn"), 1);
    ck_assert_int_eq(fg_staff_email_valid("a@b"), 1);
    ck_assert_int_eq(fg_staff_email_valid("ab"), 0);
    ck_assert_int_eq(fg_staff_email_valid("@b.vn"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a@"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a@@b"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a b@c.vn"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a\n@c.vn"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("staff");
    TCase *tc = tcase_create("staff");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hash_and_verify);
    tcase_add_test(tc, default_cost_round_trip);
    tcase_add_test(tc, role_matrix);
    tcase_add_test(tc, emails);
    suite_add_tcase(s, tc);
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
