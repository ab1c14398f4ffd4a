/*
 * keys_internal.h - what a loaded receipt key set holds; read by keys.c,
 * sign.c and qr_payload.c only.
 */
#ifndef FG_RECEIPTS_KEYS_INTERNAL_H
#define FG_RECEIPTS_KEYS_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <xmlsec/keys.h>
#include "core/es256.h"
#include "receipts/keys.h"

/* A P-256 coordinate; an ES256 signature is two of them (R || S). */
#define FG_RECEIPT_COORD_BYTES FG_ES256_COORD_BYTES
/* Unpadded base64url of n bytes. */
#define FG_RECEIPT_B64_LEN(n) (((n)*4 + 2) / 3)

/* A certificate that verifies XML receipts. */
typedef struct {
    X509 *cert;
    xmlSecKeyPtr key; /* its public key, for xmlsec1 */
    char kid[FG_RECEIPT_KID_CAP];
} fg_receipt_cert_t;

/* A P-256 key that verifies (and, the current one, signs) QR payloads. */
typedef struct {
    EVP_PKEY *pkey;
    int has_private;
    char x[FG_RECEIPT_B64_LEN(FG_RECEIPT_COORD_BYTES) + 1], y[FG_RECEIPT_B64_LEN(FG_RECEIPT_COORD_BYTES) + 1];
    char kid[FG_RECEIPT_KID_CAP];
} fg_receipt_qr_key_t;

struct fg_receipt_keys {
    xmlSecKeyPtr signing; /* the XML signing key with its certificate, named by its kid; or NULL */
    fg_receipt_cert_t certs[FG_RECEIPT_PUBLISHED_MAX + 1]; /* certs[0] is the signing one when signing != NULL */
    int cert_count;
    fg_receipt_qr_key_t qr[FG_RECEIPT_PUBLISHED_MAX + 1]; /* qr[0] signs when qr_signs */
    int qr_count;
    int qr_signs;
};

/** The certificate with this id, or NULL. */
const fg_receipt_cert_t *fg_receipt_keys_cert(const fg_receipt_keys_t *k, const char *kid);
/** The QR key with this id, or NULL. */
const fg_receipt_qr_key_t *fg_receipt_keys_qr(const fg_receipt_keys_t *k, const char *kid);

#endif
