/*
 * crypto.h - the few cryptographic primitives feegate uses, over OpenSSL.
 */
#ifndef FG_CORE_CRYPTO_H
#define FG_CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define FG_SHA256_LEN 32
#define FG_SHA512_LEN 64

/** Fills buf with n cryptographically secure random bytes.  0 or FG_EIO. */
int fg_random_bytes(void *buf, size_t n) FG_MUST_USE;

void fg_sha256(const void *data, size_t n, uint8_t out[FG_SHA256_LEN]);
/** A SHA-256 computed over data fed in pieces (a file read in chunks). */
typedef struct fg_sha256_ctx fg_sha256_ctx_t;
fg_sha256_ctx_t *fg_sha256_begin(void); /* aborts when OpenSSL cannot allocate */
void fg_sha256_update(fg_sha256_ctx_t *c, const void *data, size_t n);
/** Writes the digest and frees c. */
void fg_sha256_end(fg_sha256_ctx_t *c, uint8_t out[FG_SHA256_LEN]);
void fg_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n, uint8_t out[FG_SHA256_LEN]);
void fg_hmac_sha512(const void *key, size_t key_len, const void *msg, size_t n, uint8_t out[FG_SHA512_LEN]);

/** Lower-case hex of n bytes into out (cap >= 2n + 1). */
void fg_hex_encode(const uint8_t *in, size_t n, char *out);
/** Decodes 2n hex digits (either case) into n bytes.  0 or FG_EINVALID. */
int fg_hex_decode(const char *in, size_t hex_len, uint8_t *out, size_t cap);

/** Unpadded base64url of n bytes into out (cap >= 4*ceil(n/3)+1); returns length. */
size_t fg_base64url_encode(const uint8_t *in, size_t n, char *out);

/** Constant-time equality of two byte strings (lengths compared too). */
int fg_secure_equal(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
