/*
 * test_changes.c - the change feed's signatures and cursors
 * (changes/changes.h): ES256 detached JWS checked against OpenSSL used
 * directly (its own base64, digest and DER signature), a key's JWK and
 * thumbprint and a signature made by another implementation (Python's
 * cryptography package, for this fixed test key), and the cursor grammar.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "changes/changes.h"

/* A P-256 key made for this test only. */
static const char KEY_PEM[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgr3QNG+89SBC1BjFX\n"
                              "x9oeHPuG7gTwUXKLKKxU1HjPi3ahRANCAASaVdkPK46QBBIZBU0tPD4qAm801QrI\n"
                              "mxZVqUv1n7faTiyKICkeOtYdgur0wIO/ys0CtVHEkNAFRbvzAbUam5Ty\n"
                              "-----END PRIVATE KEY-----\n";
static const char PUBLIC_PEM[] = "-----BEGIN PUBLIC KEY-----\n"
                                 "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmlXZDyuOkAQSGQVNLTw+KgJvNNUK\n"
                                 "yJsWValL9Z+32k4siiApHjrWHYLq9MCDv8rNArVRxJDQBUW78wG1GpuU8g==\n"
                                 "-----END PUBLIC KEY-----\n";
/* Computed for KEY_PEM by Python's cryptography package (RFC 7638 by hand). */
static const char KEY_X[] = "mlXZDyuOkAQSGQVNLTw-KgJvNNUKyJsWValL9Z-32k4";
static const char KEY_Y[] = "LIogKR461h2C6vTAg7_KzQK1UcSQ0AVFu_MBtRqblPI";
static const char KEY_KID[] = "h9iBB-9iEk98Wv9udGxf9wNSst23EvnDZYm8NAc8GVI";
/* Python's ES256 detached JWS over FOREIGN_PAYLOAD with KEY_PEM. */
static const char FOREIGN_PAYLOAD[] = "{\"seq\":1}\n{\"seq\":2}\n";
static const char FOREIGN_JWS[] =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6Img5aUJCLTlpRWs5OFd2OXVkR3hmOXdOU3N0MjNFdm5EWlltOE5BYzhHVkkifQ.."
    "3ONMzj3IAL0_rNdoCjrvdvZD0YgXJ57coj9VkMF6BSR1jJAJ7GZYqN4teA7NBb9hOWyh9OSDeDRjomWlf4njLg";

static fg_jws_key_t *load(const char *pem, int need_private)
{
    fg_jws_key_t *k = NULL;
    char err[200];
    ck_assert_int_eq(fg_jws_key_parse(pem, strlen(pem), need_private, &k, err, sizeof(err)), 0);
    return k;
}

/* ---- OpenSSL on its own: base64 (standard alphabet, padded) made url-safe ---- */

static char *b64url(const unsigned char *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    ck_assert_ptr_nonnull(out);
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

static size_t unb64url(const char *in, size_t n, unsigned char *out)
{
    char *padded = malloc(n + 4);
    ck_assert_ptr_nonnull(padded);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        padded[len++] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (len % 4 != 0)
        padded[len++] = '=';
    int decoded = EVP_DecodeBlock(out, (unsigned char *)padded, (int)len);
    ck_assert_int_ge(decoded, 0);
    size_t pads = n % 4 == 0 ? 0 : 4 - n % 4;
    free(padded);
    return (size_t)decoded - pads;
}

/* Verifies jws over payload with OpenSSL only: the signing input rebuilt,
 * hashed with EVP_Digest, R || S turned into DER, EVP_PKEY_verify. */
static int openssl_verifies(const char *jws, const void *payload, size_t len)
{
    const char *dots = strstr(jws, "..");
    ck_assert_ptr_nonnull(dots);
    char *payload_b64 = b64url(payload, len);
    size_t header_len = (size_t)(dots - jws), input_len = header_len + 1 + strlen(payload_b64);
    char *input = malloc(input_len + 1);
    ck_assert_ptr_nonnull(input);
    memcpy(input, jws, header_len);
    input[header_len] = '.';
    memcpy(input + header_len + 1, payload_b64, strlen(payload_b64));
    unsigned char digest[32], raw[96], *der = NULL;
    unsigned digest_len = 0;
    ck_assert_int_eq(EVP_Digest(input, input_len, digest, &digest_len, EVP_sha256(), NULL), 1);
    ck_assert_uint_eq(unb64url(dots + 2, strlen(dots + 2), raw), 64);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ck_assert_int_eq(ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL)), 1);
    int der_len = i2d_ECDSA_SIG(sig, &der);
    BIO *bio = BIO_new_mem_buf(PUBLIC_PEM, -1);
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    ck_assert_int_eq(EVP_PKEY_verify_init(ctx), 1);
    int ok = EVP_PKEY_verify(ctx, der, (size_t)der_len, digest, digest_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    free(input);
    free(payload_b64);
    return ok;
}

START_TEST(the_key_as_a_jwk)
{
    fg_jws_key_t *k = load(KEY_PEM, 1), *pub = load(PUBLIC_PEM, 0);
    ck_assert_str_eq(fg_jws_key_id(k), KEY_KID);
    ck_assert_str_eq(fg_jws_key_id(pub), KEY_KID); /* the public half names the same key */
    fg_buf_t b = FG_BUF_INIT;
    fg_jws_jwk_json(&b, k);
    char want[512];
    snprintf(want, sizeof(want),
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"%s\",\"use\":\"sig\","
             "\"alg\":\"ES256\"}",
             KEY_X, KEY_Y, KEY_KID);
    ck_assert_str_eq(b.data, want);
    fg_buf_free(&b);
    fg_jws_key_free(k);
    fg_jws_key_free(pub);
}
END_TEST

START_TEST(a_signature_openssl_verifies_on_its_own)
{
    fg_jws_key_t *k = load(KEY_PEM, 1);
    static const char *const PAYLOADS[] = {"", "a", "ab", "abc", "{\"seq\":1,\"entity\":\"order\"}\n"};
    for (size_t i = 0; i < sizeof(PAYLOADS) / sizeof(PAYLOADS[0]); i++) {
        fg_buf_t jws = FG_BUF_INIT;
        ck_assert_int_eq(fg_jws_sign_detached(k, PAYLOADS[i], strlen(PAYLOADS[i]), &jws), 0);
        ck_assert_msg(openssl_verifies(jws.data, PAYLOADS[i], strlen(PAYLOADS[i])), "payload %zu", i);
        ck_assert(!openssl_verifies(jws.data, "other", 5));
        /* the protected header is exactly alg and kid; the payload is detached */
        const char *dots = strstr(jws.data, "..");
        unsigned char header[256];
        size_t n = unb64url(jws.data, (size_t)(dots - jws.data), header);
        header[n] = '\0';
        char want[128];
        snprintf(want, sizeof(want), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", KEY_KID);
        ck_assert_str_eq((char *)header, want);
        ck_assert_ptr_null(strchr(dots + 2, '.'));
        fg_buf_free(&jws);
    }
    fg_jws_key_free(k);
}
END_TEST

/* A payload of several signing pieces whose length is no multiple of 3:
 * the pieces' base64url must join up exactly as one encoding would. */
START_TEST(a_large_payload_is_signed_in_pieces)
{
    fg_jws_key_t *k = load(KEY_PEM, 1), *pub = load(PUBLIC_PEM, 0);
    size_t len = 3 * 16384 * 5 + 7;
    char *payload = malloc(len);
    ck_assert_ptr_nonnull(payload);
    for (size_t i = 0; i < len; i++)
        payload[i] = (char)(i * 131 + 7);
    fg_buf_t jws = FG_BUF_INIT;
    ck_assert_int_eq(fg_jws_sign_detached(k, payload, len, &jws), 0);
    ck_assert(openssl_verifies(jws.data, payload, len));
    ck_assert_int_eq(fg_jws_verify_detached(pub, jws.data, jws.len, payload, len), 0);
    payload[len - 1] ^= 1;
    ck_assert_int_eq(fg_jws_verify_detached(pub, jws.data, jws.len, payload, len), FG_EINVALID);
    fg_buf_free(&jws);
    free(payload);
    fg_jws_key_free(k);
    fg_jws_key_free(pub);
}
END_TEST

START_TEST(another_implementations_signature_verifies)
{
    fg_jws_key_t *pub = load(PUBLIC_PEM, 0);
    size_t n = strlen(FOREIGN_JWS), len = strlen(FOREIGN_PAYLOAD);
    ck_assert_int_eq(fg_jws_verify_detached(pub, FOREIGN_JWS, n, FOREIGN_PAYLOAD, len), 0);
    ck_assert(openssl_verifies(FOREIGN_JWS, FOREIGN_PAYLOAD, len));
    ck_assert_int_eq(fg_jws_verify_detached(pub, FOREIGN_JWS, n, FOREIGN_PAYLOAD, len - 1), FG_EINVALID);
    /* a flipped signature bit, a payload that is not detached, no signature */
    char *bad = strdup(FOREIGN_JWS);
    bad[n - 3] = bad[n - 3] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(fg_jws_verify_detached(pub, bad, n, FOREIGN_PAYLOAD, len), FG_EINVALID);
    free(bad);
    ck_assert_int_eq(fg_jws_verify_detached(pub, "eyJ9.e30.AAAA", 13, FOREIGN_PAYLOAD, len), FG_EINVALID);
    ck_assert_int_eq(fg_jws_verify_detached(pub, "eyJ9..", 6, FOREIGN_PAYLOAD, len), FG_EINVALID);
    fg_jws_key_free(pub);
}
END_TEST

/* A header that names another algorithm or key is refused, whatever the
 * signature: alg "none" must never pass. */
START_TEST(the_header_must_name_es256_and_the_key)
{
    fg_jws_key_t *pub = load(PUBLIC_PEM, 0);
    const char *sig = strstr(FOREIGN_JWS, "..");
    static const char *const HEADERS[] = {"{\"alg\":\"none\",\"kid\":\"h9iBB-9iEk98Wv9udGxf9wNSst23EvnDZYm8NAc8GVI\"}",
                                          "{\"alg\":\"ES256\",\"kid\":\"another\"}", "{\"alg\":\"ES256\"}", "not json"};
    for (size_t i = 0; i < sizeof(HEADERS) / sizeof(HEADERS[0]); i++) {
        char *h = b64url((const unsigned char *)HEADERS[i], strlen(HEADERS[i]));
        char jws[512];
        int n = snprintf(jws, sizeof(jws), "%s%s", h, sig);
        ck_assert_int_eq(fg_jws_verify_detached(pub, jws, (size_t)n, FOREIGN_PAYLOAD, strlen(FOREIGN_PAYLOAD)),
                         FG_EINVALID);
        free(h);
    }
    fg_jws_key_free(pub);
}
END_TEST

static void refused(const char *pem, int need_private)
{
    fg_jws_key_t *k = NULL;
    char err[200] = "";
    ck_assert_int_eq(fg_jws_key_parse(pem, strlen(pem), need_private, &k, err, sizeof(err)), FG_EINVALID);
    ck_assert_ptr_null(k);
    ck_assert(err[0] != '\0');
}

static char *generated_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data); /* not NUL-terminated */
    char *pem = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(pem);
    memcpy(pem, data, (size_t)n);
    pem[n] = '\0';
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return pem;
}

START_TEST(keys_that_cannot_sign_es256_are_refused)
{
    refused("", 0);
    refused("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", 1);
    refused(PUBLIC_PEM, 1); /* the signing key must be private */
    char *p384 = generated_pem(EVP_EC_gen("P-384"));
    refused(p384, 1);
    free(p384);
    char *rsa = generated_pem(EVP_RSA_gen(2048));
    refused(rsa, 0);
    free(rsa);
    fg_jws_key_t *k = NULL;
    char err[300];
    ck_assert_int_eq(fg_jws_key_load("/nonexistent/key.pem", 1, &k, err, sizeof(err)), FG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/key.pem"));
}
END_TEST

/* ---- cursors ----------------------------------------------------------------- */

START_TEST(cursors)
{
    static const struct {
        const char *text;
        int64_t seq, sub;
    } GOOD[] = {{"", 0, 0},
                {"0", 0, 0},
                {"17", 17, 0},
                {"17.1", 17, 1},
                {"17.2468", 17, 2468},
                {"9223372036854775807", INT64_MAX, 0},
                {"5.9223372036854775807", 5, INT64_MAX}};
    for (size_t i = 0; i < sizeof(GOOD) / sizeof(GOOD[0]); i++) {
        fg_change_cursor_t c = {-1, -1};
        ck_assert_msg(fg_change_cursor_parse(GOOD[i].text, strlen(GOOD[i].text), &c) == 0, "\"%s\"", GOOD[i].text);
        ck_assert_int_eq(c.seq, GOOD[i].seq);
        ck_assert_int_eq(c.sub, GOOD[i].sub);
        char text[FG_CHANGE_CURSOR_CAP];
        fg_change_cursor_format(&c, text, sizeof(text));
        ck_assert_str_eq(text, GOOD[i].text[0] != '\0' ? GOOD[i].text : "0");
    }
    static const char *const BAD[] = {"01",
                                      "1.",
                                      ".1",
                                      "1.0",
                                      "0.5",
                                      "-1",
                                      "+1",
                                      "1a",
                                      " 1",
                                      "1 ",
                                      "1.2.3",
                                      "1.02",
                                      "9223372036854775808",
                                      "99999999999999999999",
                                      "1e3",
                                      "0x10"};
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        fg_change_cursor_t c = {7, 7};
        ck_assert_msg(fg_change_cursor_parse(BAD[i], strlen(BAD[i]), &c) == FG_EINVALID, "\"%s\" accepted", BAD[i]);
        ck_assert_int_eq(c.seq, 7); /* nothing written on error */
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("changes");
    TCase *tc = tcase_create("changes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_key_as_a_jwk);
    tcase_add_test(tc, a_signature_openssl_verifies_on_its_own);
    tcase_add_test(tc, a_large_payload_is_signed_in_pieces);
    tcase_add_test(tc, another_implementations_signature_verifies);
    tcase_add_test(tc, the_header_must_name_es256_and_the_key);
    tcase_add_test(tc, keys_that_cannot_sign_es256_are_refused);
    tcase_add_test(tc, cursors);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_ENV);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
