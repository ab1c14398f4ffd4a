/*
 * sign.h - the receipt document signed with XMLDSig through xmlsec1 (the
 * OpenSSL back end): an enveloped signature (Reference URI="" with the
 * enveloped-signature transform, inclusive C14N 2001-03-15, SHA-256 digest,
 * RSA-SHA256 or ECDSA-SHA256 by the key) under DSCKS/NBan, its KeyInfo
 * carrying the key id (KeyName) and the X.509 certificate.  The stock
 * `xmlsec1 --verify --trusted-pem CERT receipt.xml` verifies it.
 */
#ifndef FG_RECEIPTS_SIGN_H
#define FG_RECEIPTS_SIGN_H

#include <stddef.h>
#include "core/buf.h"
#include "core/error.h"
#include "receipts/keys.h"

/* The largest document signed or verified. */
#define FG_RECEIPT_XML_MAX (1024 * 1024)

/** Initialises libxml2 and xmlsec1 for this process, once (pthread_once).
 *  Every function below calls it; main calls it before starting threads. */
void fg_receipt_xml_init(void);
/** Shuts xmlsec1 and libxml2 down at exit, after every thread has stopped. */
void fg_receipt_xml_cleanup(void);

/** Signs the receipt document xml (from fg_receipt_xml) with k's signing
 *  key and certificate, appending the signed document to signed_out.  0, or
 *  FG_EUNAVAILABLE (no signing key), FG_EINVALID (not a receipt document)
 *  or FG_EIO, with one line in err. */
int fg_receipt_sign_xml(const fg_receipt_keys_t *k, const char *xml, size_t len, fg_buf_t *signed_out, char *err,
                        size_t cap) FG_MUST_USE;

/** What a verified document says. */
typedef struct {
    char kid[FG_RECEIPT_KID_CAP]; /* the certificate that verified it */
    char form[16], serial[16], number[16];
    char amount[32], currency[8];
} fg_receipt_xml_info_t;

/** Verifies a signed receipt document against k's certificates (the one its
 *  KeyName names; the certificate inside the document is not trusted).  0
 *  and info filled, or FG_EINVALID with one line saying why in err. */
int fg_receipt_verify_xml(const fg_receipt_keys_t *k, const char *xml, size_t len, fg_receipt_xml_info_t *info,
                          char *err, size_t cap) FG_MUST_USE;

#endif
