/*
 * keys.h - the keys of e-receipts, read from PEM files (config receipts.*):
 *
 *   receipts.signing_key_file     the private key (RSA or EC) that signs the XML (XMLDSig)
 *   receipts.certificate_file     its X.509 certificate, carried in every signature
 *   receipts.qr_key_file          the P-256 private key that signs the QR payload (ES256)
 *   receipts.published_key_files  earlier (or next) keys kept verifiable, comma separated:
 *                                 a certificate verifies XML receipts, a P-256 key (public or
 *                                 private) QR payloads
 *
 * Every key has an id, which every signature names: a certificate's is the
 * base64url SHA-256 of its DER (JWK "x5t#S256", the XMLDSig KeyName), a QR
 * key's its RFC 7638 JWK thumbprint (the JWS "kid").  Rotating a key means
 * moving the old file into published_key_files: receipts signed with it keep
 * verifying while it is listed there.
 *
 * A loaded key set is read-only and may be used by any number of threads.
 */
#ifndef FG_RECEIPTS_KEYS_H
#define FG_RECEIPTS_KEYS_H

#include <stddef.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"

/* Files in receipts.published_key_files. */
#define FG_RECEIPT_PUBLISHED_MAX 16
/* A key id: base64url of a SHA-256 (43 characters) and its NUL. */
#define FG_RECEIPT_KID_CAP 48

typedef struct fg_receipt_keys fg_receipt_keys_t;

typedef struct {
    const char *signing_key_file;    /* "" or NULL: no XML signing here */
    const char *certificate_file;    /* needed with signing_key_file */
    const char *qr_key_file;         /* "" or NULL: no QR signing here */
    const char *published_key_files; /* comma separated; "" or NULL */
} fg_receipt_key_files_t;

/** Reads the files into a new key set (*out, fg_receipt_keys_free).  0, or
 *  FG_EIO / FG_EINVALID with one line naming the config key and the file in
 *  err: an unreadable file, a signing key without its certificate or not
 *  matching it, a QR key not on P-256, a published file that is neither a
 *  certificate nor a P-256 key. */
int fg_receipt_keys_load(const fg_receipt_key_files_t *files, fg_receipt_keys_t **out, char *err,
                         size_t err_cap) FG_MUST_USE;
/** The same from the config's receipts.* keys. */
int fg_receipt_keys_from_config(const fg_config_t *cfg, fg_receipt_keys_t **out, char *err, size_t err_cap) FG_MUST_USE;
void fg_receipt_keys_free(fg_receipt_keys_t *k);

/** The id of the XML signing certificate, or NULL without one. */
const char *fg_receipt_keys_signing_kid(const fg_receipt_keys_t *k);
/** The id of the QR signing key, or NULL without one. */
const char *fg_receipt_keys_qr_kid(const fg_receipt_keys_t *k);

/** The public JWK set: {"keys":[…]}: the QR keys (current first, then the
 *  published ones; kty EC, crv P-256, alg ES256, use sig, kid), then the XML
 *  signing certificates (their public key, kid = x5t#S256, x5c, use sig). */
void fg_receipt_jwks_json(fg_buf_t *b, const fg_receipt_keys_t *k);

/* ---- the keys of this process ----------------------------------------------------------- */

/** Loads the config's keys as the process's (fg_receipt_keys()); call it
 *  once, before threads start.  0, or an error with one line in err. */
int fg_receipt_keys_open(const fg_config_t *cfg, char *err, size_t err_cap) FG_MUST_USE;
/** The process's keys: never NULL (an empty set before fg_receipt_keys_open). */
const fg_receipt_keys_t *fg_receipt_keys(void);
void fg_receipt_keys_close(void);

#endif
