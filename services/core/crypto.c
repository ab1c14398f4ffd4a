/*
 * crypto.c - hashes, MACs, randomness and encodings over OpenSSL 3.
 */
#include "core/crypto.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/* RAND_bytes takes an int count; larger requests are split into chunks. */
#define RANDOM_CHUNK_BYTES_MAX (1 << 20)

/* A one-shot digest or MAC fails only when OpenSSL cannot allocate or its
 * provider is broken; neither can be answered, so this is fatal. */
_Noreturn static void openssl_failed(const char *what)
{
    fprintf(stderr, "feegate: OpenSSL %s failed\n", what);
    abort();
}

int fg_random_bytes(void *buf, size_t n)
{
    assert(buf != NULL || n == 0);
    unsigned char *p = buf;
    while (n > 0) {
        size_t chunk = n < RANDOM_CHUNK_BYTES_MAX ? n : RANDOM_CHUNK_BYTES_MAX;
        if (RAND_bytes(p, (int)chunk) != 1)
            return FG_EIO;
        p += chunk;
        n -= chunk;
    }
    return 0;
}

void fg_sha256(const void *data, size_t n, uint8_t out[FG_SHA256_LEN])
{
    static const unsigned char empty[1];
    if (SHA256(n > 0 ? data : empty, n, out) == NULL)
        openssl_failed("SHA256");
}

static void hmac(const EVP_MD *md, const void *key, size_t key_len, const void *msg, size_t n, uint8_t *out,
                 unsigned out_len)
{
    /* A NULL key means "reuse the previous key" to the HMAC API, so empty
     * inputs are passed as a real pointer. */
    static const unsigned char empty[1];
    assert(key_len <= INT_MAX);
    unsigned len = 0;
    if (HMAC(md, key_len > 0 ? key : empty, (int)key_len, n > 0 ? msg : empty, n, out, &len) == NULL || len != out_len)
        openssl_failed("HMAC");
}

void fg_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n, uint8_t out[FG_SHA256_LEN])
{
    hmac(EVP_sha256(), key, key_len, msg, n, out, FG_SHA256_LEN);
}

void fg_hmac_sha512(const void *key, size_t key_len, const void *msg, size_t n, uint8_t out[FG_SHA512_LEN])
{
    hmac(EVP_sha512(), key, key_len, msg, n, out, FG_SHA512_LEN);
}

/* ---- encodings ----------------------------------------------------------- */

void fg_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    assert(out != NULL && (in != NULL || n == 0));
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15u];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int fg_hex_decode(const char *in, size_t hex_len, uint8_t *out, size_t cap)
{
    assert(in != NULL || hex_len == 0);
    if (hex_len % 2 != 0 || hex_len / 2 > cap)
        return FG_EINVALID;
    for (size_t i = 0; i < hex_len; i += 2) {
        int hi = hex_value(in[i]), lo = hex_value(in[i + 1]);
        if (hi < 0 || lo < 0)
            return FG_EINVALID;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

size_t fg_base64url_encode(const uint8_t *in, size_t n, char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert(out != NULL && (in != NULL || n == 0));
    size_t len = 0;
    for (size_t i = 0; i < n; i += 3) {
        size_t left = n - i;
        uint32_t bits = (uint32_t)in[i] << 16;
        if (left > 1)
            bits |= (uint32_t)in[i + 1] << 8;
        if (left > 2)
            bits |= in[i + 2];
        out[len++] = alphabet[bits >> 18 & 63u];
        out[len++] = alphabet[bits >> 12 & 63u];
        if (left > 1)
            out[len++] = alphabet[bits >> 6 & 63u];
        if (left > 2)
            out[len++] = alphabet[bits & 63u];
    }
    out[len] = '\0';
    return len;
}

int fg_secure_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    /* Lengths are not secret (a MAC's length is public); contents are. */
    if (a_len != b_len)
        return 0;
    if (a_len == 0)
        return 1;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

fg_sha256_ctx_t *fg_sha256_begin(void)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
        openssl_failed("SHA-256");
    return (fg_sha256_ctx_t *)c;
}

void fg_sha256_update(fg_sha256_ctx_t *c, const void *data, size_t n)
{
    if (n > 0 && EVP_DigestUpdate((EVP_MD_CTX *)c, data, n) != 1)
        openssl_failed("SHA-256");
}

void fg_sha256_end(fg_sha256_ctx_t *c, uint8_t out[FG_SHA256_LEN])
{
    unsigned int len = 0;
    if (EVP_DigestFinal_ex((EVP_MD_CTX *)c, out, &len) != 1 || len != FG_SHA256_LEN)
        openssl_failed("SHA-256");
    EVP_MD_CTX_free((EVP_MD_CTX *)c);
}
