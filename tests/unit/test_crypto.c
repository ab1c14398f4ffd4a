/* Unit tests for services/core/crypto.c */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/crypto.h"

static void expect_hex(const uint8_t *digest, size_t n, const char *want)
{
    char hex[2 * FG_SHA512_LEN + 1];
    ck_assert_uint_le(n, FG_SHA512_LEN);
    fg_hex_encode(digest, n, hex);
    ck_assert_str_eq(hex, want);
}

static void expect_hmac_sha256(const char *key, const char *msg, const char *want)
{
    uint8_t mac[FG_SHA256_LEN];
    fg_hmac_sha256(key, strlen(key), msg, strlen(msg), mac);
    expect_hex(mac, sizeof(mac), want);
}

/* ---- digests and MACs ---------------------------------------------------- */

START_TEST(sha256_vectors)
{
    uint8_t d[FG_SHA256_LEN];
    fg_sha256("abc", 3, d);
    expect_hex(d, sizeof(d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fg_sha256("", 0, d);
    expect_hex(d, sizeof(d), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    fg_sha256(NULL, 0, d);
    expect_hex(d, sizeof(d), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    char *million = malloc(1000000);
    ck_assert_ptr_nonnull(million);
    memset(million, 'a', 1000000);
    fg_sha256(million, 1000000, d);
    expect_hex(d, sizeof(d), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}
END_TEST

/* The VNPAY signature: HMAC-SHA512 over the sorted, URL-encoded query. */
START_TEST(hmac_sha512_vnpay)
{
    const char *key = "TESTSECRETKEY0123456789ABCDEFGHI";
    const char *msg = "vnp_Amount=1500000000&vnp_Command=pay&vnp_CreateDate=20250905093000&vnp_CurrCode=VND"
                      "&vnp_ExpireDate=20250905094500&vnp_IpAddr=203.0.113.7&vnp_Locale=vn"
                      "&vnp_OrderInfo=Hoc+phi+HK1+2025+ma+HS+000123&vnp_OrderType=other"
                      "&vnp_ReturnUrl=https%3A%2F%2Fpay.example.gov.vn%2Freturn&vnp_TmnCode=TESTTMN1"
                      "&vnp_TxnRef=HP2025-000123&vnp_Version=2.1.0";
    uint8_t mac[FG_SHA512_LEN];
    fg_hmac_sha512(key, strlen(key), msg, strlen(msg), mac);
    expect_hex(mac, sizeof(mac),
               "44de0874a33fdc5d38116666c10f782c87d05ab4c80eec472efe6cb89bc7517392e16cc477f73db9b87090faa739f5a2"
               "28b79e00bf217a514ee4493da9b1ab83");
}
END_TEST

START_TEST(hmac_sha256_webhook_and_momo)
{
    expect_hmac_sha256("whsec_test_secret", "1700000000.{\"id\":\"evt_test\",\"object\":\"event\"}",
                       "8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724");
    expect_hmac_sha256("K951B6PE1waDMi640xX08PD3vg6EkVlz",
                       "accessKey=F8BBA842ECF85&amount=50000&extraData=&ipnUrl=https://callback.url/notify"
                       "&orderId=MOMO1700000000000&orderInfo=pay with MoMo&partnerCode=MOMO"
                       "&redirectUrl=https://momo.vn/return&requestId=MOMO1700000000000"
                       "&requestType=captureWallet",
                       "4378bb95714712f6be833da81f743910a01e5ba6279bfe596b8a08e891259424");
}
END_TEST

START_TEST(hmac_edge_keys)
{
    /* empty key and message, with and without pointers */
    expect_hmac_sha256("", "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    uint8_t mac[FG_SHA256_LEN];
    fg_hmac_sha256(NULL, 0, NULL, 0, mac);
    expect_hex(mac, sizeof(mac), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    uint8_t mac512[FG_SHA512_LEN];
    fg_hmac_sha512(NULL, 0, NULL, 0, mac512);
    expect_hex(mac512, sizeof(mac512),
               "b936cee86c9f87aa5d3c6f2e84cb5a4239a5fe50480a6ec66b70ab5b1f4ac6730c6c515421b327ec1d69402e53dfb4"
               "9ad7381eb067b338fd7b0cb22247225d47");
    /* a key longer than the block is hashed first */
    char key[201];
    memset(key, 'k', 200);
    key[200] = '\0';
    expect_hmac_sha256(key, "long key", "0b10c8c6ad1000acb54ef1bc8eebb614fd3bd38ab9b3873365b91f33c612a6b3");
    /* an empty key after a real one is still the empty key */
    fg_hmac_sha256("whsec_test_secret", 17, "x", 1, mac);
    fg_hmac_sha256(NULL, 0, NULL, 0, mac);
    expect_hex(mac, sizeof(mac), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}
END_TEST

/* ---- randomness ---------------------------------------------------------- */

START_TEST(random_bytes)
{
    uint8_t a[32] = {0}, b[32] = {0};
    ck_assert_int_eq(fg_random_bytes(a, sizeof(a)), 0);
    ck_assert_int_eq(fg_random_bytes(b, sizeof(b)), 0);
    ck_assert_int_eq(fg_secure_equal(a, sizeof(a), b, sizeof(b)), 0);
    ck_assert_int_eq(fg_random_bytes(NULL, 0), 0);
    /* over 4096 bytes every byte value shows up */
    enum { N = 4096 };
    uint8_t *big = malloc(N);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(fg_random_bytes(big, N), 0);
    int seen[256] = {0}, distinct = 0;
    for (int i = 0; i < N; i++) {
        if (!seen[big[i]]++)
            distinct++;
    }
    ck_assert_int_ge(distinct, 250);
    free(big);
}
END_TEST

/* ---- encodings ----------------------------------------------------------- */

START_TEST(hex_round_trip)
{
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char hex[513];
    fg_hex_encode(all, sizeof(all), hex);
    ck_assert_uint_eq(strlen(hex), 512);
    ck_assert_int_eq(strncmp(hex, "000102", 6), 0);
    ck_assert_str_eq(hex + 506, "fdfeff");
    uint8_t back[256];
    ck_assert_int_eq(fg_hex_decode(hex, 512, back, sizeof(back)), 0);
    ck_assert_int_eq(memcmp(all, back, sizeof(all)), 0);
    fg_hex_encode(NULL, 0, hex);
    ck_assert_str_eq(hex, "");
}
END_TEST

START_TEST(hex_decode_cases)
{
    uint8_t out[4] = {0};
    ck_assert_int_eq(fg_hex_decode("DeAdBeEf", 8, out, sizeof(out)), 0);
    ck_assert_uint_eq(out[0], 0xde);
    ck_assert_uint_eq(out[1], 0xad);
    ck_assert_uint_eq(out[2], 0xbe);
    ck_assert_uint_eq(out[3], 0xef);
    ck_assert_int_eq(fg_hex_decode("", 0, out, sizeof(out)), 0);
    ck_assert_int_eq(fg_hex_decode("abc", 3, out, sizeof(out)), FG_EINVALID);         /* odd */
    ck_assert_int_eq(fg_hex_decode("0011223344", 10, out, sizeof(out)), FG_EINVALID); /* > cap */
    ck_assert_int_eq(fg_hex_decode("0g", 2, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_hex_decode("g0", 2, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_hex_decode(" 0", 2, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_hex_decode("0\0", 2, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_hex_decode("+1", 2, out, sizeof(out)), FG_EINVALID);
    ck_assert_int_eq(fg_hex_decode("0x", 2, out, sizeof(out)), FG_EINVALID);
}
END_TEST

static void expect_b64(const char *in, size_t n, const char *want)
{
    char out[64];
    size_t len = fg_base64url_encode((const uint8_t *)in, n, out);
    ck_assert_str_eq(out, want);
    ck_assert_uint_eq(len, strlen(want));
}

START_TEST(base64url)
{
    /* RFC 4648 test vectors, unpadded */
    expect_b64("", 0, "");
    expect_b64("f", 1, "Zg");
    expect_b64("fo", 2, "Zm8");
    expect_b64("foo", 3, "Zm9v");
    expect_b64("foob", 4, "Zm9vYg");
    expect_b64("fooba", 5, "Zm9vYmE");
    expect_b64("foobar", 6, "Zm9vYmFy");
    /* the URL-safe alphabet: '-' and '_' instead of '+' and '/' */
    expect_b64("\xfb\xff\xbf", 3, "-_-_");
    expect_b64("\0\0\0", 3, "AAAA");
}
END_TEST

START_TEST(secure_equal)
{
    ck_assert_int_eq(fg_secure_equal("abc", 3, "abc", 3), 1);
    ck_assert_int_eq(fg_secure_equal("abc", 3, "abd", 3), 0);
    ck_assert_int_eq(fg_secure_equal("abc", 3, "abcd", 4), 0);
    ck_assert_int_eq(fg_secure_equal("abcd", 3, "abc", 3), 1);
    ck_assert_int_eq(fg_secure_equal("", 0, "", 0), 1);
    ck_assert_int_eq(fg_secure_equal(NULL, 0, NULL, 0), 1);
    ck_assert_int_eq(fg_secure_equal("a\0b", 3, "a\0c", 3), 0);
    ck_assert_int_eq(fg_secure_equal("xbc", 3, "abc", 3), 0);
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, hmac_sha512_vnpay);
    tcase_add_test(tc, hmac_sha256_webhook_and_momo);
    tcase_add_test(tc, hmac_edge_keys);
    tcase_add_test(tc, random_bytes);
    tcase_add_test(tc, hex_round_trip);
    tcase_add_test(tc, hex_decode_cases);
    tcase_add_test(tc, base64url);
    tcase_add_test(tc, secure_equal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crypto_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
