/*
 * es256.h - the pieces of ES256 (ECDSA P-256 with SHA-256, RFC 7518 §3.4)
 * and of JOSE's encodings that the change feed's JWS (changes/jws.c) and the
 * receipts' QR payload (receipts/qr_payload.c, keys.c) both need.
 */
#ifndef FG_CORE_ES256_H
#define FG_CORE_ES256_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* A P-256 coordinate; an ES256 signature in JOSE form is two of them (R || S). */
#define FG_ES256_COORD_BYTES 32
#define FG_ES256_SIG_BYTES (2 * FG_ES256_COORD_BYTES)

/** Decodes unpadded base64url into out; the length of the bytes, or -1 (a
 *  character outside the alphabet, an impossible length, more than cap). */
long fg_base64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/** x and y of an EC public key, big-endian and left-padded.  0 or FG_EINVALID. */
int fg_es256_coordinates(EVP_PKEY *pkey, uint8_t x[FG_ES256_COORD_BYTES], uint8_t y[FG_ES256_COORD_BYTES]);

/** R || S from OpenSSL's DER signature.  0 or FG_EIO. */
int fg_es256_sig_from_der(const unsigned char *der, size_t der_len, uint8_t raw[FG_ES256_SIG_BYTES]);

/** OpenSSL's DER form of R || S into *der (freed with OPENSSL_free).  0 or FG_EIO. */
int fg_es256_sig_to_der(const uint8_t raw[FG_ES256_SIG_BYTES], unsigned char **der, int *der_len);

#endif
