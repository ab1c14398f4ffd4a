/*
 * test_staff.c - scrypt password hashes, the role matrix, e-mail addresses.
 * (Token authentication and the CLI need the database: integration tests.)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http/http.h"
#include "staff/staff.h"

/* The cheapest accepted cost keeps these tests fast; one test runs the
 * default cost to pin the stored format. */
#define TEST_LOG2_N FG_SCRYPT_LOG2_N_MIN
#define PASSWORD "correct horse battery"

/* Splits "scrypt$n$r$p$salt$key" at its '$' signs: fields[0..5]. */
static int split(char *s, char *fields[6])
{
    int n = 0;
    for (char *tok = strtok(s, "$"); tok != NULL && n < 7; tok = strtok(NULL, "$"))
        if (n < 6)
            fields[n++] = tok;
        else
            n++;
    return n;
}

START_TEST(hash_format_default_cost)
{
    char stored[FG_PASSWORD_HASH_CAP], copy[FG_PASSWORD_HASH_CAP], *f[6];
    ck_assert_int_eq(fg_password_hash(PASSWORD, stored, sizeof(stored)), 0);
    ck_assert_int_eq(strncmp(stored, "scrypt$15$8$1$", 14), 0);
    strcpy(copy, stored);
    ck_assert_int_eq(split(copy, f), 6);
    ck_assert_str_eq(f[0], "scrypt");
    ck_assert_int_eq(strlen(f[4]), 22); /* 16 salt bytes, unpadded base64url */
    ck_assert_int_eq(strlen(f[5]), 43); /* 32 key bytes */
    ck_assert_uint_eq(strspn(f[4], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 22);
    ck_assert_int_eq(fg_password_verify(PASSWORD, stored), 1);
    ck_assert_int_eq(fg_password_verify(PASSWORD "!", stored), 0);
}
END_TEST

START_TEST(hash_and_verify)
{
    char stored[FG_PASSWORD_HASH_CAP], other[FG_PASSWORD_HASH_CAP];
    ck_assert_int_eq(fg_password_hash_with(PASSWORD, TEST_LOG2_N, stored, sizeof(stored)), 0);
    ck_assert_int_eq(strncmp(stored, "scrypt$10$8$1$", 14), 0);
    ck_assert_int_eq(fg_password_verify(PASSWORD, stored), 1);
    ck_assert_int_eq(fg_password_verify("correct horse batterY", stored), 0);
    ck_assert_int_eq(fg_password_verify("correct horse batter", stored), 0);
    ck_assert_int_eq(fg_password_verify("", stored), 0);
    /* A fresh salt each time: the same password hashes differently. */
    ck_assert_int_eq(fg_password_hash_with(PASSWORD, TEST_LOG2_N, other, sizeof(other)), 0);
    ck_assert_str_ne(stored, other);
    ck_assert_int_eq(fg_password_verify(PASSWORD, other), 1);
    /* Any password bytes, including non-ASCII and very long ones. */
    char long_password[FG_PASSWORD_MAX + 1];
    memset(long_password, 'x', FG_PASSWORD_MAX);
    long_password[FG_PASSWORD_MAX] = '\0';
    ck_assert_int_eq(fg_password_hash_with(long_password, TEST_LOG2_N, other, sizeof(other)), 0);
    ck_assert_int_eq(fg_password_verify(long_password, other), 1);
    ck_assert_int_eq(fg_password_hash_with("mật khẩu rất dài", TEST_LOG2_N, other, sizeof(other)), 0);
    ck_assert_int_eq(fg_password_verify("mật khẩu rất dài", other), 1);
    ck_assert_int_eq(fg_password_verify("mat khau rat dai", other), 0);
}
END_TEST

START_TEST(hash_refuses_bad_cost_and_small_buffer)
{
    char stored[FG_PASSWORD_HASH_CAP];
    ck_assert_int_eq(fg_password_hash_with(PASSWORD, FG_SCRYPT_LOG2_N_MIN - 1, stored, sizeof(stored)), FG_ERANGE);
    ck_assert_int_eq(fg_password_hash_with(PASSWORD, FG_SCRYPT_LOG2_N_MAX + 1, stored, sizeof(stored)), FG_ERANGE);
    ck_assert_int_eq(fg_password_hash_with(PASSWORD, TEST_LOG2_N, stored, 40), FG_ETOOLONG);
}
END_TEST

/* Replaces the character at i with another base64url character. */
static void flip(char *s, size_t i) { s[i] = s[i] == 'A' ? 'B' : 'A'; }

START_TEST(tampered_hashes_fail)
{
    char stored[FG_PASSWORD_HASH_CAP], t[FG_PASSWORD_HASH_CAP + 8];
    ck_assert_int_eq(fg_password_hash_with(PASSWORD, TEST_LOG2_N, stored, sizeof(stored)), 0);
    size_t len = strlen(stored), salt_at = strlen("scrypt$10$8$1$"), key_at = len - 43;
    /* a changed key byte, a changed salt byte */
    strcpy(t, stored);
    flip(t, key_at + 5);
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    strcpy(t, stored);
    flip(t, salt_at + 3);
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    /* another cost, block size or parallelism derives another key */
    strcpy(t, stored);
    t[8] = '1'; /* scrypt$11$… */
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    snprintf(t, sizeof(t), "scrypt$10$4$1$%s", stored + salt_at);
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    snprintf(t, sizeof(t), "scrypt$10$8$2$%s", stored + salt_at);
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    /* truncated or extended key */
    strcpy(t, stored);
    t[len - 1] = '\0';
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    snprintf(t, sizeof(t), "%sAAAA", stored);
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    /* the last key character carries 2 unused bits: a non-canonical spelling
     * of the same key is refused, so each hash has one form */
    strcpy(t, stored);
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    t[len - 1] = alphabet[(strchr(alphabet, t[len - 1]) - alphabet) ^ 1];
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
}
END_TEST

START_TEST(malformed_hashes_fail)
{
    char stored[FG_PASSWORD_HASH_CAP], t[FG_PASSWORD_HASH_CAP * 2];
    ck_assert_int_eq(fg_password_hash_with(PASSWORD, TEST_LOG2_N, stored, sizeof(stored)), 0);
    const char *rest = stored + strlen("scrypt$10$8$1$"); /* "<salt>$<key>" */
    static const char *const heads[] = {
        "scrypt$010$8$1$", /* leading zero */
        "scrypt$+10$8$1$", /* sign */
        "scrypt$ 10$8$1$", /* space */
        "scrypt$9$8$1$",   /* below the accepted cost */
        "scrypt$21$8$1$",  /* above it */
        "scrypt$10$0$1$",  /* r = 0 */
        "scrypt$10$8$0$",  /* p = 0 */
        "scrypt$20$32$1$", /* 4 GiB: refused before allocating */
        "scrypt$10$8$$",   /* empty field */
        "Scrypt$10$8$1$",  /* another scheme */
        "bcrypt$10$8$1$",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        snprintf(t, sizeof(t), "%s%s", heads[i], rest);
        ck_assert_msg(fg_password_verify(PASSWORD, t) == 0, "accepted %s", t);
    }
    static const char *const whole[] = {
        "",
        "plain",
        "scrypt$",
        "scrypt$10$8$1$",
        "scrypt$10$8$1$AAAAAAAAAAAAAAAAAAAAAA",                          /* no key */
        "scrypt$10$8$1$AAAAAAAAAAAAAAAAAAAAAA$",                         /* empty key */
        "scrypt$10$8$1$$AAAAAAAAAAAAAAAAAAAAAA",                         /* empty salt */
        "scrypt$10$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA",                     /* 3-byte salt */
        "scrypt$10$8$1$!!!!!!!!!!!!!!!!!!!!!!$????????",                 /* not base64url */
        "scrypt$10$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA", /* padding */
    };
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
        ck_assert_msg(fg_password_verify(PASSWORD, whole[i]) == 0, "accepted %s", whole[i]);
    /* extra fields, an over-long string, NULLs */
    snprintf(t, sizeof(t), "%s$AAAA", stored);
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    memset(t, 'A', sizeof(t) - 1);
    t[sizeof(t) - 1] = '\0';
    memcpy(t, stored, strlen(stored));
    ck_assert_int_eq(fg_password_verify(PASSWORD, t), 0);
    ck_assert_int_eq(fg_password_verify(NULL, stored), 0);
    ck_assert_int_eq(fg_password_verify(PASSWORD, NULL), 0);
    /* the untouched string still verifies */
    ck_assert_int_eq(fg_password_verify(PASSWORD, stored), 1);
}
END_TEST

START_TEST(role_matrix)
{
    const fg_role_t roles[] = {FG_ROLE_NONE, FG_ROLE_AUDITOR, FG_ROLE_FINANCE, FG_ROLE_ADMIN, FG_ROLE_ACCOUNTANT};
    const fg_auth_t levels[] = {FG_AUTH_NONE,        FG_AUTH_MERCHANT,    FG_AUTH_STAFF_READ,
                                FG_AUTH_STAFF_WRITE, FG_AUTH_STAFF_ADMIN, FG_AUTH_MERCHANT_OR_STAFF};
    /* rows: roles; columns: levels */
    const int allowed[5][6] = {
        {0, 0, 0, 0, 0, 0}, /* none */
        {0, 0, 1, 0, 0, 1}, /* auditor: read only */
        {0, 0, 1, 1, 0, 1}, /* finance: read and write */
        {0, 0, 1, 1, 1, 1}, /* admin: everything staff */
        {0, 0, 0, 0, 0, 1}, /* accountant: its merchant's rows, as its key would */
    };
    for (int r = 0; r < 5; r++)
        for (int l = 0; l < 6; l++)
            ck_assert_msg(fg_staff_role_allows(roles[r], levels[l]) == allowed[r][l], "role %s level %d",
                          fg_staff_role_name(roles[r]), (int)levels[l]);
}
END_TEST

START_TEST(role_names)
{
    ck_assert_int_eq(fg_staff_role_parse("finance"), FG_ROLE_FINANCE);
    ck_assert_int_eq(fg_staff_role_parse("auditor"), FG_ROLE_AUDITOR);
    ck_assert_int_eq(fg_staff_role_parse("admin"), FG_ROLE_ADMIN);
    ck_assert_int_eq(fg_staff_role_parse("Admin"), FG_ROLE_NONE);
    ck_assert_int_eq(fg_staff_role_parse("admin "), FG_ROLE_NONE);
    ck_assert_int_eq(fg_staff_role_parse("none"), FG_ROLE_NONE);
    ck_assert_int_eq(fg_staff_role_parse(""), FG_ROLE_NONE);
    ck_assert_int_eq(fg_staff_role_parse(NULL), FG_ROLE_NONE);
    ck_assert_int_eq(fg_staff_role_parse("accountant"), FG_ROLE_ACCOUNTANT);
    const fg_role_t roles[] = {FG_ROLE_AUDITOR, FG_ROLE_FINANCE, FG_ROLE_ADMIN, FG_ROLE_ACCOUNTANT};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(fg_staff_role_parse(fg_staff_role_name(roles[i])), roles[i]);
    ck_assert_str_eq(fg_staff_role_name(FG_ROLE_NONE), "none");
}
END_TEST

START_TEST(emails)
{
    ck_assert_int_eq(fg_staff_email_valid("ke.toan@hanoi.gov.vn"), 1);
    ck_assert_int_eq(fg_staff_email_valid("a@b"), 1);
    ck_assert_int_eq(fg_staff_email_valid("kế.toán@hà-nội.vn"), 1);
    ck_assert_int_eq(fg_staff_email_valid("ab"), 0);
    ck_assert_int_eq(fg_staff_email_valid("abc"), 0);
    ck_assert_int_eq(fg_staff_email_valid("@b.vn"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a@"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a@@b"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a@b@c"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a b@c.vn"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a@c.vn "), 0);
    ck_assert_int_eq(fg_staff_email_valid("a\n@c.vn"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a\t@c.vn"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a\x7f@c.vn"), 0);
    ck_assert_int_eq(fg_staff_email_valid("a\xff@c.vn"), 0); /* not UTF-8 */
    ck_assert_int_eq(fg_staff_email_valid(""), 0);
    ck_assert_int_eq(fg_staff_email_valid(NULL), 0);
    /* 254 bytes pass, 255 do not */
    char e[FG_STAFF_EMAIL_MAX + 2];
    memset(e, 'a', sizeof(e) - 1);
    e[sizeof(e) - 1] = '\0';
    e[10] = '@';
    ck_assert_int_eq(fg_staff_email_valid(e), 0);
    e[FG_STAFF_EMAIL_MAX] = '\0';
    ck_assert_int_eq(fg_staff_email_valid(e), 1);
}
END_TEST

START_TEST(email_normalize)
{
    char out[FG_STAFF_EMAIL_MAX + 1];
    ck_assert_int_eq(fg_staff_email_normalize("Ke.Toan@HaNoi.GOV.vn", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "ke.toan@hanoi.gov.vn");
    /* only ASCII letters are folded; UTF-8 passes through unchanged */
    ck_assert_int_eq(fg_staff_email_normalize("KẾ@B.VN", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "kẾ@b.vn");
    ck_assert_int_eq(fg_staff_email_normalize("no at sign", out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_staff_email_normalize("a@b.vn", out, 4), FG_EINVALID);
}
END_TEST

/* CSRF tokens: derived from the session's secret, compared in constant time. */
START_TEST(csrf_tokens)
{
    char a[FG_SESSION_SECRET_CAP], b[FG_SESSION_SECRET_CAP], ta[FG_CSRF_TOKEN_CAP], tb[FG_CSRF_TOKEN_CAP];
    ck_assert_int_eq(fg_staff_secret_new(a), 0);
    ck_assert_int_eq(fg_staff_secret_new(b), 0);
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strlen(a), 43);
    fg_staff_csrf_token(a, ta);
    fg_staff_csrf_token(b, tb);
    ck_assert_uint_eq(strlen(ta), 43);
    ck_assert_str_ne(ta, tb);
    ck_assert_str_ne(ta, a); /* the token does not give the secret away */
    ck_assert(fg_staff_csrf_check(a, ta, strlen(ta)));
    ck_assert(!fg_staff_csrf_check(a, tb, strlen(tb)));     /* another session's */
    ck_assert(!fg_staff_csrf_check(a, ta, strlen(ta) - 1)); /* cut short */
    ck_assert(!fg_staff_csrf_check(a, "", 0));
    ck_assert(!fg_staff_csrf_check(a, NULL, 0));
    ck_assert(!fg_staff_csrf_check("", ta, strlen(ta)));
    ck_assert(!fg_staff_csrf_check(NULL, ta, strlen(ta)));
    char again[FG_CSRF_TOKEN_CAP];
    fg_staff_csrf_token(a, again);
    ck_assert_str_eq(ta, again); /* stable for the session's life */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("staff");
    TCase *passwords = tcase_create("passwords");
    tcase_set_timeout(passwords, 60); /* sanitizer builds run scrypt slowly */
    tcase_add_test(passwords, hash_format_default_cost);
    tcase_add_test(passwords, hash_and_verify);
    tcase_add_test(passwords, hash_refuses_bad_cost_and_small_buffer);
    tcase_add_test(passwords, tampered_hashes_fail);
    tcase_add_test(passwords, malformed_hashes_fail);
    suite_add_tcase(s, passwords);
    TCase *roles = tcase_create("roles");
    tcase_add_test(roles, role_matrix);
    tcase_add_test(roles, role_names);
    tcase_add_test(roles, csrf_tokens);
    suite_add_tcase(s, roles);
    TCase *emails_case = tcase_create("emails");
    tcase_add_test(emails_case, emails);
    tcase_add_test(emails_case, email_normalize);
    suite_add_tcase(s, emails_case);
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
