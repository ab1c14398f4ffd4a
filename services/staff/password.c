/*
 * password.c - staff password hashes with scrypt (RFC 7914) over OpenSSL.
 *
 * A hash is stored as one self-describing string,
 *
 *     scrypt$<log2 N>$<r>$<p>$<salt>$<key>
 *
 * with salt and key in unpadded base64url, so that the cost can rise later
 * without invalidating old hashes: verification always recomputes with the
 * parameters the string records.  The parser is strict (decimal without
 * leading zeros or signs, canonical base64url) so that each hash has exactly
 * one spelling and a tampered string is refused rather than reinterpreted.
 */
#include "staff/staff.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include "core/crypto.h"

/* The block size r and parallelism p we write.  Verification accepts other
 * values within these bounds, so a future change of r or p stays readable. */
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_R_MAX 32
#define SCRYPT_P_MAX 16
/* Salts and keys read back must be 16..64 bytes: shorter is no protection,
 * longer was never written. */
#define DECODED_MIN 16
#define DECODED_MAX 64
/* 64 bytes are 86 base64url characters. */
#define ENCODED_MAX 88

_Static_assert(FG_PASSWORD_SALT_BYTES >= DECODED_MIN && FG_PASSWORD_SALT_BYTES <= DECODED_MAX, "salt size");
_Static_assert(FG_PASSWORD_KEY_BYTES >= DECODED_MIN && FG_PASSWORD_KEY_BYTES <= DECODED_MAX, "key size");
_Static_assert((DECODED_MAX * 4 + 2) / 3 < ENCODED_MAX, "ENCODED_MAX must hold DECODED_MAX bytes");

/* Memory scrypt needs, as OpenSSL counts it: B (p * 128 * r) plus V
 * (128 * r * (N + 2)).  Passed as maxmem so the default 32 MiB cap of
 * OpenSSL does not refuse our own N = 2^15 (which needs just over 32 MiB). */
static uint64_t scrypt_memory(int log2_n, uint64_t r, uint64_t p)
{
    return 128 * r * (((uint64_t)1 << log2_n) + 2 + p);
}

static int derive(const char *password, const uint8_t *salt, size_t salt_len, int log2_n, uint64_t r, uint64_t p,
                  uint8_t *key, size_t key_len)
{
    int ok = EVP_PBE_scrypt(password, strlen(password), salt, salt_len, (uint64_t)1 << log2_n, r, p,
                            scrypt_memory(log2_n, r, p), key, key_len);
    return ok == 1 ? 0 : FG_EIO;
}

int fg_password_hash_with(const char *password, int log2_n, char *out, size_t cap)
{
    uint8_t salt[FG_PASSWORD_SALT_BYTES], key[FG_PASSWORD_KEY_BYTES];
    char salt64[ENCODED_MAX], key64[ENCODED_MAX];
    int rc;
    if (log2_n < FG_SCRYPT_LOG2_N_MIN || log2_n > FG_SCRYPT_LOG2_N_MAX)
        return FG_ERANGE;
    if ((rc = fg_random_bytes(salt, sizeof(salt))) != 0)
        goto Exit;
    if ((rc = derive(password, salt, sizeof(salt), log2_n, SCRYPT_R, SCRYPT_P, key, sizeof(key))) != 0)
        goto Exit;
    fg_base64url_encode(salt, sizeof(salt), salt64);
    fg_base64url_encode(key, sizeof(key), key64);
    int n = snprintf(out, cap, "scrypt$%d$%d$%d$%s$%s", log2_n, SCRYPT_R, SCRYPT_P, salt64, key64);
    rc = n > 0 && (size_t)n < cap ? 0 : FG_ETOOLONG;
Exit:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int fg_password_hash(const char *password, char *out, size_t cap)
{
    return fg_password_hash_with(password, FG_SCRYPT_LOG2_N, out, cap);
}

/* ---- parsing ------------------------------------------------------------- */

static int base64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes canonical unpadded base64url in[0..len) into out.  Refuses other
 * characters, a length of 1 mod 4 (no whole byte), non-zero leftover bits,
 * and more than cap bytes.  Returns the byte count or -1. */
static int base64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = base64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0)
        return -1;
    return (int)n;
}

/* Reads a decimal 1..max without sign or leading zero, then the '$' after
 * it; advances *p.  Returns the value or -1. */
static int take_number(const char **p, int max)
{
    const char *s = *p;
    int v = 0;
    if (*s < '1' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (v > max)
            return -1;
    }
    if (*s != '$')
        return -1;
    *p = s + 1;
    return v;
}

typedef struct {
    int log2_n, r, p;
    uint8_t salt[DECODED_MAX], key[DECODED_MAX];
    int salt_len, key_len;
} parsed_t;

static int parse(const char *stored, parsed_t *h)
{
    static const char PREFIX[] = "scrypt$";
    if (strnlen(stored, FG_PASSWORD_HASH_CAP) >= FG_PASSWORD_HASH_CAP || strncmp(stored, PREFIX, 7) != 0)
        return FG_EINVALID;
    const char *s = stored + 7;
    if ((h->log2_n = take_number(&s, FG_SCRYPT_LOG2_N_MAX)) < FG_SCRYPT_LOG2_N_MIN ||
        (h->r = take_number(&s, SCRYPT_R_MAX)) < 1 || (h->p = take_number(&s, SCRYPT_P_MAX)) < 1)
        return FG_EINVALID;
    const char *dollar = strchr(s, '$');
    if (dollar == NULL)
        return FG_EINVALID;
    h->salt_len = base64url_decode(s, (size_t)(dollar - s), h->salt, sizeof(h->salt));
    h->key_len = base64url_decode(dollar + 1, strlen(dollar + 1), h->key, sizeof(h->key));
    /* the key is exactly what fg_password_hash makes: scrypt's output is a
     * prefix-stable stream, so a shorter stored key would still "match" */
    if (h->salt_len < DECODED_MIN || h->key_len != FG_PASSWORD_KEY_BYTES)
        return FG_EINVALID;
    /* One verification may allocate at most what the largest accepted N
     * takes at our r: a stored string cannot make us allocate gigabytes. */
    if (scrypt_memory(h->log2_n, (uint64_t)h->r, (uint64_t)h->p) >
        scrypt_memory(FG_SCRYPT_LOG2_N_MAX, SCRYPT_R, SCRYPT_P))
        return FG_EINVALID;
    return 0;
}

int fg_password_verify(const char *password, const char *stored)
{
    parsed_t h;
    uint8_t key[DECODED_MAX];
    int match = 0;
    if (password == NULL || stored == NULL || parse(stored, &h) != 0)
        return 0;
    if (derive(password, h.salt, (size_t)h.salt_len, h.log2_n, (uint64_t)h.r, (uint64_t)h.p, key, (size_t)h.key_len) ==
        0)
        match = fg_secure_equal(key, (size_t)h.key_len, h.key, (size_t)h.key_len);
    OPENSSL_cleanse(key, sizeof(key));
    return match == 1;
}
