/* Unit tests for services/core/ids.c */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/ids.h"
#include "core/text.h"

#define ALPHABET "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/* ---- Crockford symbols --------------------------------------------------- */

START_TEST(alphabet)
{
    ck_assert_str_eq(fg_crockford_alphabet, ALPHABET);
    for (int i = 0; i < 32; i++)
        ck_assert_int_eq(fg_crockford_value(ALPHABET[i]), i);
}
END_TEST

START_TEST(crockford_value_every_byte)
{
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        const char *p = b != 0 ? strchr(ALPHABET, b >= 'a' && b <= 'z' ? b - 32 : b) : NULL;
        int want = p != NULL ? (int)(p - ALPHABET) : -1;
        if (b == 'I' || b == 'i' || b == 'L' || b == 'l')
            want = 1;
        if (b == 'O' || b == 'o')
            want = 0;
        ck_assert_msg(fg_crockford_value(c) == want, "byte 0x%02x: %d, want %d", b, fg_crockford_value(c), want);
    }
    ck_assert_int_eq(fg_crockford_value('U'), -1);
    ck_assert_int_eq(fg_crockford_value('u'), -1);
    ck_assert_int_eq(fg_crockford_value('z'), 31);
    ck_assert_int_eq(fg_crockford_value('-'), -1);
}
END_TEST

/* ---- ULID ids ------------------------------------------------------------ */

START_TEST(id_format_vectors)
{
    char out[FG_ID_CAP];
    static const uint8_t zeros[10] = {0};
    static const uint8_t ones[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t counting[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

    /* the time part of the example in the ULID spec */
    ck_assert_int_eq(fg_id_format("", 1469918176385, zeros, out, sizeof(out)), 26);
    ck_assert_str_eq(out, "01ARYZ6S410000000000000000");
    ck_assert_int_eq(fg_id_format("ord_", 0, zeros, out, sizeof(out)), 30);
    ck_assert_str_eq(out, "ord_00000000000000000000000000");
    ck_assert_int_eq(fg_id_format("pay_", (UINT64_C(1) << 48) - 1, ones, out, sizeof(out)), 30);
    ck_assert_str_eq(out, "pay_7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    ck_assert_int_eq(fg_id_format("ev_", 1700000000123, counting, out, sizeof(out)), 29);
    ck_assert_str_eq(out, "ev_01HF7YAT3V041061050R3GG28A");
}
END_TEST

START_TEST(id_format_orders_by_time)
{
    static const uint8_t ones[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t zeros[10] = {0};
    char a[FG_ID_CAP], b[FG_ID_CAP];
    for (uint64_t t = 1; t < (UINT64_C(1) << 48); t = t * 3 + 1) {
        ck_assert_int_eq(fg_id_format("x_", t - 1, ones, a, sizeof(a)), 28);
        ck_assert_int_eq(fg_id_format("x_", t, zeros, b, sizeof(b)), 28);
        ck_assert_msg(strcmp(a, b) < 0, "%s !< %s", a, b);
    }
}
END_TEST

START_TEST(id_new_is_valid_unique_and_recent)
{
    char a[FG_ID_CAP], b[FG_ID_CAP];
    int64_t before = fg_now_ms();
    ck_assert_int_eq(fg_id_new("ord_", a, sizeof(a)), 30);
    ck_assert_int_eq(fg_id_new("ord_", b, sizeof(b)), 30);
    int64_t after = fg_now_ms();
    ck_assert_int_eq(fg_id_valid("ord_", a, strlen(a)), 1);
    ck_assert_int_eq(fg_id_valid("ord_", b, strlen(b)), 1);
    ck_assert_str_ne(a, b);
    /* decode the 10 time symbols back */
    int64_t t = 0;
    for (int i = 0; i < 10; i++)
        t = t * 32 + fg_crockford_value(a[4 + i]);
    ck_assert_int_ge(t, before);
    ck_assert_int_le(t, after);
}
END_TEST

START_TEST(id_valid_rejects)
{
    const char *good = "ord_01ARYZ6S410000000000000000";
    ck_assert_int_eq(fg_id_valid("ord_", good, strlen(good)), 1);
    ck_assert_int_eq(fg_id_valid("pay_", good, strlen(good)), 0);
    ck_assert_int_eq(fg_id_valid("ord_", good, strlen(good) - 1), 0);
    ck_assert_int_eq(fg_id_valid("ord_", good + 4, 26), 0);
    ck_assert_int_eq(fg_id_valid("", good + 4, 26), 1);
    ck_assert_int_eq(fg_id_valid("ord_", "ord_01aryz6s410000000000000000", 30), 0); /* lower case */
    ck_assert_int_eq(fg_id_valid("ord_", "ord_01ARYZ6S41000000000000000I", 30), 0);
    ck_assert_int_eq(fg_id_valid("ord_", "ord_01ARYZ6S41000000000000000U", 30), 0);
    ck_assert_int_eq(fg_id_valid("ord_", "ord_01ARYZ6S41000000000000000-", 30), 0);
    ck_assert_int_eq(fg_id_valid("ord_", "ord_01ARYZ6S41000000000000000\0", 30), 0);
    ck_assert_int_eq(fg_id_valid("ord_", "ord_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 30), 1);
    ck_assert_int_eq(fg_id_valid("ord_", "ord_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 30), 0); /* > 128 bits */
    ck_assert_int_eq(fg_id_valid("ord_", "ord_01ARYZ6S4100000000000000000", 31), 0);
    ck_assert_int_eq(fg_id_valid("ord_", NULL, 0), 0);
}
END_TEST

/* ---- order codes --------------------------------------------------------- */

START_TEST(check_vectors)
{
    ck_assert_int_eq(fg_order_code_check("0000000000"), '0');
    ck_assert_int_eq(fg_order_code_check("0000000001"), 'Y');
    ck_assert_int_eq(fg_order_code_check("7K3M9QXW2A"), '2');
    ck_assert_int_eq(fg_order_code_check("ABCDEFGHJK"), '2');
    ck_assert_int_eq(fg_order_code_check("ZZZZZZZZZZ"), 'A');
    /* Crockford reading of lower case and I/L/O */
    ck_assert_int_eq(fg_order_code_check("7k3m9qxw2a"), '2');
    ck_assert_int_eq(fg_order_code_check("OOOOOOOOOI"), 'Y');
}
END_TEST

START_TEST(code_new_is_valid)
{
    char seen[64][FG_ORDER_CODE_LEN + 1];
    for (int i = 0; i < 64; i++) {
        char code[FG_ORDER_CODE_LEN + 1];
        ck_assert_int_eq(fg_order_code_new(code, sizeof(code)), 0);
        ck_assert_uint_eq(strlen(code), FG_ORDER_CODE_LEN);
        ck_assert_uint_eq(strspn(code, ALPHABET), FG_ORDER_CODE_LEN);
        ck_assert_int_eq(code[10], fg_order_code_check(code));
        char norm[FG_ORDER_CODE_LEN + 1];
        ck_assert_int_eq(fg_order_code_normalize(code, strlen(code), norm, sizeof(norm)), 0);
        ck_assert_str_eq(norm, code);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(seen[j], code);
        memcpy(seen[i], code, sizeof(code));
    }
}
END_TEST

START_TEST(check_catches_every_single_substitution)
{
    for (int round = 0; round < 20; round++) {
        char code[FG_ORDER_CODE_LEN + 1], norm[FG_ORDER_CODE_LEN + 1];
        ck_assert_int_eq(fg_order_code_new(code, sizeof(code)), 0);
        for (int pos = 0; pos < FG_ORDER_CODE_LEN; pos++) {
            for (int v = 0; v < 32; v++) {
                char typo[FG_ORDER_CODE_LEN + 1];
                memcpy(typo, code, sizeof(typo));
                if (ALPHABET[v] == code[pos])
                    continue;
                typo[pos] = ALPHABET[v];
                ck_assert_int_eq(fg_order_code_normalize(typo, FG_ORDER_CODE_LEN, norm, sizeof(norm)), FG_ECHECKSUM);
            }
        }
    }
}
END_TEST

/* Luhn mod 32 misses exactly one adjacent transposition: "0Z" <-> "Z0". */
START_TEST(check_catches_transpositions_but_0Z)
{
    for (int pos = 0; pos + 1 < FG_ORDER_CODE_DATA_LEN; pos++) {
        for (int a = 0; a < 32; a++) {
            for (int b = 0; b < 32; b++) {
                if (a == b)
                    continue;
                char data[FG_ORDER_CODE_DATA_LEN + 1] = "7K3M9QXW2A", swapped[FG_ORDER_CODE_DATA_LEN + 1];
                data[pos] = ALPHABET[a];
                data[pos + 1] = ALPHABET[b];
                memcpy(swapped, data, sizeof(data));
                swapped[pos] = ALPHABET[b];
                swapped[pos + 1] = ALPHABET[a];
                int missed = fg_order_code_check(data) == fg_order_code_check(swapped);
                int expected_miss = (a == 0 && b == 31) || (a == 31 && b == 0);
                ck_assert_msg(missed == expected_miss, "%s vs %s", data, swapped);
            }
        }
    }
}
END_TEST

START_TEST(normalize_as_typed)
{
    char out[FG_ORDER_CODE_LEN + 1];
    static const char *const typed[] = {
        "7K3M9QXW2A2",
        "7k3m9qxw2a2",
        "7K3M-9QXW-2A2",
        " 7K3M 9QXW 2A2 ",
        "7K3M.9QXW_2A2",
        "7k3m-9qxw 2a2\n",
        ("7K3M\xc2\xa0"
         "9QXW2A2"), /* NBSP bytes dropped */
    };
    for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
        memset(out, 'x', sizeof(out));
        ck_assert_int_eq(fg_order_code_normalize(typed[i], strlen(typed[i]), out, sizeof(out)), 0);
        ck_assert_str_eq(out, "7K3M9QXW2A2");
    }
    /* I/L read as 1, O as 0: "0000000001Y" typed with letters */
    ck_assert_int_eq(fg_order_code_normalize("oooo-oooo-oiy", 13, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "000000000"
                          "1Y");
    ck_assert_int_eq(fg_order_code_normalize("OOOOOOOOOLY", 11, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "0000000001Y");
}
END_TEST

START_TEST(normalize_rejects)
{
    char out[FG_ORDER_CODE_LEN + 1] = "untouched!!";
    ck_assert_int_eq(fg_order_code_normalize("", 0, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_order_code_normalize(NULL, 0, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_order_code_normalize("7K3M9QXW2A", 10, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_order_code_normalize("7K3M9QXW2A22", 12, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_order_code_normalize("7K3M9QXW2A3", 11, out, sizeof(out)), FG_ECHECKSUM);
    ck_assert_int_eq(fg_order_code_normalize("7K3M9QXWA22", 11, out, sizeof(out)), FG_ECHECKSUM);
    ck_assert_int_eq(fg_order_code_normalize("7K3M9QXU2A2", 11, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_order_code_normalize("---- ----", 9, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_order_code_normalize("HP 7K3M9QXW2A2", 14, out, sizeof(out)), FG_EINVALID);
    ck_assert_str_eq(out, "untouched!!");
    /* len, not NUL, bounds the input */
    ck_assert_int_eq(fg_order_code_normalize("7K3M9QXW2A2ZZZ", 11, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "7K3M9QXW2A2");
}
END_TEST

/* ---- finding codes in memos ---------------------------------------------- */

static int find(const char *memo, char (*out)[FG_ORDER_CODE_LEN + 1], int max)
{
    return fg_order_code_find_all(memo, strlen(memo), out, max);
}

/* 1 when code is among the n found. */
static int contains(char (*found)[FG_ORDER_CODE_LEN + 1], int n, const char *code)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(found[i], code) == 0)
            return 1;
    }
    return 0;
}

START_TEST(find_in_vietnamese_memos)
{
    /* Layouts of the code as payers type it, with the code's symbols in %.4s
     * %.4s %.3s pieces or whole.  Vietnamese diacritics are UTF-8. */
    static const char *const layouts[] = {
        "NGUYEN VAN A chuyen tien hoc phi %.4s %.4s %.3s",
        ("Nguy\xe1\xbb\x85n V\xc4\x83n A chuy\xe1\xbb\x83n ti\xe1\xbb\x81n h\xe1\xbb\x8d"
         "c ph\xc3\xad %.4s-%.4s-%.3s"),
        "%.4s%.4s%.3s",
        "HP%.4s%.4s%.3s nop tien",
        "MBVCB.123456789.%.4s %.4s%.3s.Tr\xe1\xba\xa7n Th\xe1\xbb\x8b B",
        "thanh to\xc3\xa1n \xc4\x91\xc6\xa1n h\xc3\xa0ng:%.4s\xe2\x80\x94%.4s\xe2\x80\x94%.3s c\xe1\xba\xa3m \xc6\xa1n",
    };
    for (int round = 0; round < 20; round++) {
        char code[FG_ORDER_CODE_LEN + 1];
        ck_assert_int_eq(fg_order_code_new(code, sizeof(code)), 0);
        for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
            char memo[256];
            snprintf(memo, sizeof(memo), layouts[i], code, code + 4, code + 8);
            ck_assert_int_eq(fg_utf8_valid(memo, strlen(memo)), 1);
            char found[8][FG_ORDER_CODE_LEN + 1];
            int n = find(memo, found, 8);
            ck_assert_msg(contains(found, n, code), "%s not found in \"%s\"", code, memo);
        }
    }
}
END_TEST

START_TEST(find_lower_case_and_lookalikes)
{
    char found[4][FG_ORDER_CODE_LEN + 1];
    int n = find("ck hoc phi ma oooo oooo oiy ok", found, 4);
    ck_assert(contains(found, n, "0000000001Y"));
    n = find("chuyen khoan 7k3m 9qxw 2a2", found, 4);
    ck_assert_int_ge(n, 1);
    ck_assert_str_eq(found[0], "7K3M9QXW2A2");
}
END_TEST

START_TEST(find_first_appearance_distinct_and_bounded)
{
    char a[FG_ORDER_CODE_LEN + 1], b[FG_ORDER_CODE_LEN + 1];
    do {
        ck_assert_int_eq(fg_order_code_new(a, sizeof(a)), 0);
        ck_assert_int_eq(fg_order_code_new(b, sizeof(b)), 0);
    } while (strcmp(a, b) == 0);
    char memo[128];
    snprintf(memo, sizeof(memo), "%s + %s, lai %s", a, b, a);
    char found[8][FG_ORDER_CODE_LEN + 1];
    int n = find(memo, found, 8);
    ck_assert_int_ge(n, 2);
    ck_assert_str_eq(found[0], a);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(found[i], found[j]);
    }
    ck_assert(contains(found, n, b));
    ck_assert_int_eq(find(memo, found, 1), 1);
    ck_assert_str_eq(found[0], a);
    ck_assert_int_eq(find(memo, NULL, 0), 0);
}
END_TEST

START_TEST(find_nothing)
{
    char found[4][FG_ORDER_CODE_LEN + 1];
    ck_assert_int_eq(fg_order_code_find_all("", 0, found, 4), 0);
    ck_assert_int_eq(fg_order_code_find_all(NULL, 0, found, 4), 0);
    ck_assert_int_eq(find("chuyen tien", found, 4), 0);
    ck_assert_int_eq(find("7K3M9QXW2A3", found, 4), 0); /* bad check */
    ck_assert_int_eq(find("7K3M9QXW2A", found, 4), 0);  /* too short */
    ck_assert_int_eq(find("UUUUUUUUUUU", found, 4), 0); /* not Crockford */
    ck_assert_int_eq(find("- . , ; \xe1\xbb\x85", found, 4), 0);
    /* a code split inside one token cannot be found: "x7K3M" + "9QXW2A2" */
    ck_assert_int_eq(find("x7K3M 9QXW2A2", found, 4), 0);
}
END_TEST

START_TEST(find_respects_len)
{
    char found[4][FG_ORDER_CODE_LEN + 1];
    const char *memo = "HP 7K3M9QXW2A2";
    ck_assert_int_eq(fg_order_code_find_all(memo, strlen(memo) - 1, found, 4), 0);
    ck_assert_int_eq(fg_order_code_find_all(memo, strlen(memo), found, 4), 1);
    ck_assert_str_eq(found[0], "7K3M9QXW2A2");
}
END_TEST

START_TEST(find_in_long_token_windows)
{
    /* Every 11-window of a long token is a candidate, each 1 in 32 passing
     * the check: all found ones must verify. */
    const char *memo = "ZZZZ7K3M9QXW2A2QQQQ";
    char found[16][FG_ORDER_CODE_LEN + 1];
    int n = find(memo, found, 16);
    ck_assert(contains(found, n, "7K3M9QXW2A2"));
    for (int i = 0; i < n; i++) {
        char norm[FG_ORDER_CODE_LEN + 1];
        ck_assert_int_eq(fg_order_code_normalize(found[i], FG_ORDER_CODE_LEN, norm, sizeof(norm)), 0);
        ck_assert_ptr_nonnull(strstr(memo, found[i]));
    }
}
END_TEST

static Suite *ids_suite(void)
{
    Suite *s = suite_create("ids");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, alphabet);
    tcase_add_test(tc, crockford_value_every_byte);
    tcase_add_test(tc, id_format_vectors);
    tcase_add_test(tc, id_format_orders_by_time);
    tcase_add_test(tc, id_new_is_valid_unique_and_recent);
    tcase_add_test(tc, id_valid_rejects);
    tcase_add_test(tc, check_vectors);
    tcase_add_test(tc, code_new_is_valid);
    tcase_add_test(tc, check_catches_every_single_substitution);
    tcase_add_test(tc, check_catches_transpositions_but_0Z);
    tcase_add_test(tc, normalize_as_typed);
    tcase_add_test(tc, normalize_rejects);
    tcase_add_test(tc, find_in_vietnamese_memos);
    tcase_add_test(tc, find_lower_case_and_lookalikes);
    tcase_add_test(tc, find_first_appearance_distinct_and_bounded);
    tcase_add_test(tc, find_nothing);
    tcase_add_test(tc, find_respects_len);
    tcase_add_test(tc, find_in_long_token_windows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ids_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
