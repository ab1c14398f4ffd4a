/*
 * keys.c - reading the receipt keys (keys.h), their ids, the JWK set, and
 * the keys of this process.
 */
#include "receipts/keys.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <xmlsec/app.h>
#include <xmlsec/crypto.h>
#include "core/crypto.h"
#include "core/text.h"
#include "receipts/keys_internal.h"
#include "receipts/sign.h"

/* A key or certificate file is a few kilobytes; anything larger is not one. */
#define KEY_FILE_MAX (64 * 1024)
/* Why a file was refused. */
#define WHY_CAP 200

_Static_assert(FG_RECEIPT_B64_LEN(FG_SHA256_LEN) < FG_RECEIPT_KID_CAP, "a SHA-256 in base64url fits a kid");

typedef struct {
    char *data;
    size_t len;
} pem_t;

static int read_file(const char *path, pem_t *out, char *why, size_t cap)
{
    out->data = fg_malloc(KEY_FILE_MAX + 1);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
        free(out->data);
        out->data = NULL;
        return FG_EIO;
    }
    size_t n = fread(out->data, 1, KEY_FILE_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n > KEY_FILE_MAX) {
        snprintf(why, cap, "cannot read %s: %s", path, failed ? "read error" : "larger than a key file");
        free(out->data);
        out->data = NULL;
        return FG_EIO;
    }
    out->data[n] = '\0';
    out->len = n;
    return 0;
}

static BIO *mem_bio(const pem_t *pem)
{
    BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
    if (bio == NULL)
        fg_oom();
    return bio;
}

/* ---- certificates (XML) ------------------------------------------------------------------ */

/* x5t#S256: the base64url SHA-256 of the certificate's DER. */
static void cert_kid(X509 *cert, char kid[FG_RECEIPT_KID_CAP])
{
    unsigned char *der = NULL;
    uint8_t digest[FG_SHA256_LEN];
    int n = i2d_X509(cert, &der);
    if (n <= 0)
        fg_oom();
    fg_sha256(der, (size_t)n, digest);
    OPENSSL_free(der);
    fg_base64url_encode(digest, sizeof(digest), kid);
}

/* Reads a certificate and its public key for xmlsec1 into c. */
static int cert_parse(const pem_t *pem, fg_receipt_cert_t *c, char *why, size_t cap)
{
    BIO *bio = mem_bio(pem);
    c->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (c->cert == NULL) {
        snprintf(why, cap, "not a PEM certificate");
        return FG_EINVALID;
    }
    cert_kid(c->cert, c->kid);
    c->key = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)pem->data, (xmlSecSize)pem->len,
                                          xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
    if (c->key == NULL || xmlSecKeySetName(c->key, BAD_CAST c->kid) < 0) {
        snprintf(why, cap, "the certificate's key cannot be used for XML signatures");
        return FG_EINVALID;
    }
    return 0;
}

static void cert_free(fg_receipt_cert_t *c)
{
    X509_free(c->cert);
    if (c->key != NULL)
        xmlSecKeyDestroy(c->key);
    memset(c, 0, sizeof(*c));
}

/* The signing key and its certificate: the key must be the certificate's. */
static int signing_load(fg_receipt_keys_t *k, const char *key_file, const char *cert_file, char *err, size_t cap)
{
    pem_t key_pem = {0}, cert_pem = {0};
    char why[WHY_CAP + 300];
    EVP_PKEY *pkey = NULL;
    int rc;
    if (cert_file == NULL || cert_file[0] == '\0') {
        snprintf(err, cap, "config: receipts.certificate_file: needed with receipts.signing_key_file");
        return FG_EINVALID;
    }
    if ((rc = read_file(key_file, &key_pem, why, sizeof(why))) != 0) {
        snprintf(err, cap, "config: receipts.signing_key_file: %s", why);
        return rc;
    }
    if ((rc = read_file(cert_file, &cert_pem, why, sizeof(why))) != 0) {
        snprintf(err, cap, "config: receipts.certificate_file: %s", why);
        goto Exit;
    }
    BIO *bio = mem_bio(&key_pem);
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    rc = FG_EINVALID;
    if (pkey == NULL || (!EVP_PKEY_is_a(pkey, "RSA") && !EVP_PKEY_is_a(pkey, "EC"))) {
        snprintf(err, cap, "config: receipts.signing_key_file: %s: not a PEM RSA or EC private key (unencrypted)",
                 key_file);
        goto Exit;
    }
    if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) < 2048) {
        snprintf(err, cap, "config: receipts.signing_key_file: %s: an RSA key needs at least 2048 bits", key_file);
        goto Exit;
    }
    fg_receipt_cert_t *c = &k->certs[0];
    k->cert_count = 1; /* freed with the set, whatever cert_parse left */
    if (cert_parse(&cert_pem, c, why, WHY_CAP) != 0) {
        snprintf(err, cap, "config: receipts.certificate_file: %s: %s", cert_file, why);
        goto Exit;
    }
    if (X509_check_private_key(c->cert, pkey) != 1) {
        snprintf(err, cap, "config: receipts.certificate_file: %s: not the certificate of receipts.signing_key_file",
                 cert_file);
        goto Exit;
    }
    k->signing = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)key_pem.data, (xmlSecSize)key_pem.len,
                                              xmlSecKeyDataFormatPem, NULL, NULL, NULL);
    if (k->signing == NULL ||
        xmlSecCryptoAppKeyCertLoadMemory(k->signing, (const xmlSecByte *)cert_pem.data, (xmlSecSize)cert_pem.len,
                                         xmlSecKeyDataFormatPem) < 0 ||
        xmlSecKeySetName(k->signing, BAD_CAST c->kid) < 0) {
        snprintf(err, cap, "config: receipts.signing_key_file: %s: xmlsec1 cannot use the key", key_file);
        goto Exit;
    }
    rc = 0;
Exit:
    EVP_PKEY_free(pkey);
    if (key_pem.data != NULL)
        OPENSSL_cleanse(key_pem.data, key_pem.len);
    free(key_pem.data);
    free(cert_pem.data);
    return rc;
}

/* ---- P-256 keys (QR) --------------------------------------------------------------------- */

static int qr_key_from_pkey(EVP_PKEY *pkey, int has_private, fg_receipt_qr_key_t *q, char *why, size_t cap)
{
    char group[32] = "", json[160];
    uint8_t x[FG_RECEIPT_COORD_BYTES], y[FG_RECEIPT_COORD_BYTES], digest[FG_SHA256_LEN];
    if (!EVP_PKEY_is_a(pkey, "EC") || EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1 ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
        snprintf(why, cap, "not an EC key on P-256 (ES256 needs one)");
        return FG_EINVALID;
    }
    if (fg_es256_coordinates(pkey, x, y) != 0) {
        snprintf(why, cap, "the key's public point cannot be read");
        return FG_EINVALID;
    }
    q->pkey = pkey;
    q->has_private = has_private;
    fg_base64url_encode(x, sizeof(x), q->x);
    fg_base64url_encode(y, sizeof(y), q->y);
    /* RFC 7638 §3.2: the required members in lexical order, no whitespace */
    int n = snprintf(json, sizeof(json), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", q->x, q->y);
    assert(n > 0 && (size_t)n < sizeof(json));
    fg_sha256(json, (size_t)n, digest);
    fg_base64url_encode(digest, sizeof(digest), q->kid);
    return 0;
}

/* A PEM P-256 key, private (need_private) or either. */
static int qr_key_parse(const pem_t *pem, int need_private, fg_receipt_qr_key_t *q, char *why, size_t cap)
{
    int has_private = 1;
    BIO *bio = mem_bio(pem);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey == NULL && !need_private) {
        bio = mem_bio(pem);
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIO_free(bio);
        has_private = 0;
    }
    if (pkey == NULL) {
        snprintf(why, cap, need_private ? "not a PEM private key (unencrypted PKCS#8 or SEC1)" : "not a PEM key");
        return FG_EINVALID;
    }
    int rc = qr_key_from_pkey(pkey, has_private, q, why, cap);
    if (rc != 0)
        EVP_PKEY_free(pkey);
    return rc;
}

/* ---- the set ------------------------------------------------------------------------------ */

static int published_load(fg_receipt_keys_t *k, const char *path, char *why, size_t cap)
{
    pem_t pem;
    int rc = read_file(path, &pem, why, cap);
    if (rc != 0)
        return rc;
    char reason[WHY_CAP];
    if (strstr(pem.data, "-----BEGIN CERTIFICATE-----") != NULL) {
        if (k->cert_count == FG_RECEIPT_PUBLISHED_MAX + 1) {
            snprintf(why, cap, "more than %d files", FG_RECEIPT_PUBLISHED_MAX);
            rc = FG_EINVALID;
        } else if ((rc = cert_parse(&pem, &k->certs[k->cert_count], reason, sizeof(reason))) != 0) {
            cert_free(&k->certs[k->cert_count]);
            snprintf(why, cap, "%s: %s", path, reason);
        } else if (fg_receipt_keys_cert(k, k->certs[k->cert_count].kid) != NULL) {
            cert_free(&k->certs[k->cert_count]); /* listed already */
        } else {
            k->cert_count++;
        }
    } else {
        fg_receipt_qr_key_t q = {0};
        if (k->qr_count == FG_RECEIPT_PUBLISHED_MAX + 1) {
            snprintf(why, cap, "more than %d files", FG_RECEIPT_PUBLISHED_MAX);
            rc = FG_EINVALID;
        } else if ((rc = qr_key_parse(&pem, 0, &q, reason, sizeof(reason))) != 0) {
            snprintf(why, cap, "%s: neither a certificate nor a P-256 key: %s", path, reason);
        } else if (fg_receipt_keys_qr(k, q.kid) != NULL) {
            EVP_PKEY_free(q.pkey); /* listed already */
        } else {
            k->qr[k->qr_count++] = q;
        }
    }
    OPENSSL_cleanse(pem.data, pem.len);
    free(pem.data);
    return rc;
}

static int set(const char *s) { return s != NULL && s[0] != '\0'; }

int fg_receipt_keys_load(const fg_receipt_key_files_t *files, fg_receipt_keys_t **out, char *err, size_t err_cap)
{
    char why[WHY_CAP + 300];
    int rc = 0;
    fg_receipt_xml_init();
    fg_receipt_keys_t *k = fg_calloc(1, sizeof(*k));
    *out = NULL;
    if (set(files->signing_key_file))
        rc = signing_load(k, files->signing_key_file, files->certificate_file, err, err_cap);
    else if (set(files->certificate_file) && (rc = published_load(k, files->certificate_file, why, sizeof(why))) != 0)
        snprintf(err, err_cap, "config: receipts.certificate_file: %s", why);
    if (rc == 0 && set(files->qr_key_file)) {
        pem_t pem;
        if ((rc = read_file(files->qr_key_file, &pem, why, sizeof(why))) == 0) {
            char reason[WHY_CAP];
            rc = qr_key_parse(&pem, 1, &k->qr[0], reason, sizeof(reason));
            if (rc != 0)
                snprintf(why, sizeof(why), "%s: %s", files->qr_key_file, reason);
            OPENSSL_cleanse(pem.data, pem.len);
            free(pem.data);
        }
        if (rc == 0) {
            k->qr_count = 1;
            k->qr_signs = 1;
        } else {
            snprintf(err, err_cap, "config: receipts.qr_key_file: %s", why);
        }
    }
    const char *p = set(files->published_key_files) ? files->published_key_files : "";
    char *path;
    while (rc == 0 && (path = fg_list_next(&p)) != NULL) {
        if ((rc = published_load(k, path, why, sizeof(why))) != 0)
            snprintf(err, err_cap, "config: receipts.published_key_files: %s", why);
        free(path);
    }
    if (rc != 0) {
        fg_receipt_keys_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

int fg_receipt_keys_from_config(const fg_config_t *cfg, fg_receipt_keys_t **out, char *err, size_t err_cap)
{
    fg_receipt_key_files_t files = {cfg->receipts_signing_key_file, cfg->receipts_certificate_file,
                                    cfg->receipts_qr_key_file, cfg->receipts_published_key_files};
    return fg_receipt_keys_load(&files, out, err, err_cap);
}

void fg_receipt_keys_free(fg_receipt_keys_t *k)
{
    if (k == NULL)
        return;
    if (k->signing != NULL)
        xmlSecKeyDestroy(k->signing);
    for (int i = 0; i < k->cert_count; i++)
        cert_free(&k->certs[i]);
    for (int i = 0; i < k->qr_count; i++)
        EVP_PKEY_free(k->qr[i].pkey);
    free(k);
}

const char *fg_receipt_keys_signing_kid(const fg_receipt_keys_t *k)
{
    return k->signing != NULL ? k->certs[0].kid : NULL;
}

const char *fg_receipt_keys_qr_kid(const fg_receipt_keys_t *k) { return k->qr_signs ? k->qr[0].kid : NULL; }

const fg_receipt_cert_t *fg_receipt_keys_cert(const fg_receipt_keys_t *k, const char *kid)
{
    for (int i = 0; i < k->cert_count; i++)
        if (k->certs[i].cert != NULL && strcmp(k->certs[i].kid, kid) == 0)
            return &k->certs[i];
    return NULL;
}

const fg_receipt_qr_key_t *fg_receipt_keys_qr(const fg_receipt_keys_t *k, const char *kid)
{
    for (int i = 0; i < k->qr_count; i++)
        if (strcmp(k->qr[i].kid, kid) == 0)
            return &k->qr[i];
    return NULL;
}

/* ---- the JWK set -------------------------------------------------------------------------- */

/* A big-endian integer parameter of a key, base64url, as a JSON member. */
static void jwk_bn(fg_buf_t *b, EVP_PKEY *pkey, const char *param, const char *name, int pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
        return;
    int n = pad > 0 ? pad : BN_num_bytes(bn);
    uint8_t *bytes = fg_malloc((size_t)n + 1);
    char *text = fg_malloc(FG_RECEIPT_B64_LEN((size_t)n) + 1);
    if (BN_bn2binpad(bn, bytes, n) == n) {
        fg_base64url_encode(bytes, (size_t)n, text);
        fg_buf_printf(b, ",\"%s\":\"%s\"", name, text);
    }
    free(bytes);
    free(text);
    BN_free(bn);
}

static void jwk_cert(fg_buf_t *b, const fg_receipt_cert_t *c)
{
    EVP_PKEY *pkey = X509_get0_pubkey(c->cert);
    unsigned char *der = NULL;
    int der_len = i2d_X509(c->cert, &der);
    if (pkey == NULL || der_len <= 0) {
        OPENSSL_free(der);
        return;
    }
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        fg_buf_puts(b, "{\"kty\":\"RSA\"");
        jwk_bn(b, pkey, OSSL_PKEY_PARAM_RSA_N, "n", 0);
        jwk_bn(b, pkey, OSSL_PKEY_PARAM_RSA_E, "e", 0);
    } else {
        char group[32] = "";
        EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL);
        const char *crv = strcmp(group, "secp384r1") == 0   ? "P-384"
                          : strcmp(group, "secp521r1") == 0 ? "P-521"
                                                            : "P-256";
        int size = strcmp(crv, "P-384") == 0 ? 48 : strcmp(crv, "P-521") == 0 ? 66 : 32;
        fg_buf_printf(b, "{\"kty\":\"EC\",\"crv\":\"%s\"", crv);
        jwk_bn(b, pkey, OSSL_PKEY_PARAM_EC_PUB_X, "x", size);
        jwk_bn(b, pkey, OSSL_PKEY_PARAM_EC_PUB_Y, "y", size);
    }
    char *x5c = fg_malloc(4 * ((size_t)der_len / 3 + 1) + 1);
    EVP_EncodeBlock((unsigned char *)x5c, der, der_len);
    fg_buf_printf(b, ",\"kid\":\"%s\",\"use\":\"sig\",\"x5t#S256\":\"%s\",\"x5c\":[\"%s\"]}", c->kid, c->kid, x5c);
    free(x5c);
    OPENSSL_free(der);
}

void fg_receipt_jwks_json(fg_buf_t *b, const fg_receipt_keys_t *k)
{
    int n = 0;
    fg_buf_puts(b, "{\"keys\":[");
    for (int i = 0; i < k->qr_count; i++, n++)
        fg_buf_printf(b,
                      "%s{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"%s\",\"use\":\"sig\","
                      "\"alg\":\"ES256\"}",
                      n > 0 ? "," : "", k->qr[i].x, k->qr[i].y, k->qr[i].kid);
    for (int i = 0; i < k->cert_count; i++, n++) {
        if (n > 0)
            fg_buf_putc(b, ',');
        jwk_cert(b, &k->certs[i]);
    }
    fg_buf_puts(b, "]}");
}

/* ---- the keys of this process ------------------------------------------------------------- */

static fg_receipt_keys_t *process_keys;
static const fg_receipt_keys_t no_keys;

int fg_receipt_keys_open(const fg_config_t *cfg, char *err, size_t err_cap)
{
    fg_receipt_keys_close();
    return fg_receipt_keys_from_config(cfg, &process_keys, err, err_cap);
}

const fg_receipt_keys_t *fg_receipt_keys(void) { return process_keys != NULL ? process_keys : &no_keys; }

void fg_receipt_keys_close(void)
{
    fg_receipt_keys_free(process_keys);
    process_keys = NULL;
}
