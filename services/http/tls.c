/*
 * tls.c - the HTTPS context.
 */
#include "http/server_internal.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include "h2o.h"
#include "h2o/http2.h"

/* An ephemeral certificate lives as long as the process; 30 days is plenty. */
#define EPHEMERAL_CERT_DAYS 30

static void openssl_error(char *err, size_t cap, const char *what)
{
    char detail[256];
    ERR_error_string_n(ERR_get_error(), detail, sizeof(detail));
    snprintf(err, cap, "https: %s: %s", what, detail);
}

static int use_ephemeral(SSL_CTX *ctx, char *err, size_t cap)
{
    int rc = -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (key == NULL || x == NULL)
        goto Exit;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * EPHEMERAL_CERT_DAYS);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
    if (san == NULL)
        goto Exit;
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    if (X509_sign(x, key, EVP_sha256()) == 0 || SSL_CTX_use_certificate(ctx, x) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1)
        goto Exit;
    rc = 0;
Exit:
    if (rc != 0)
        openssl_error(err, cap, "cannot make an ephemeral certificate");
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

SSL_CTX *fg_tls_create(const fg_config_t *cfg, char *err, size_t err_cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        openssl_error(err, err_cap, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* HTTP/2 forbids the weak TLS 1.2 suites (RFC 7540 §9.2.2): forward-secret AEAD only. */
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    if (cfg->https_cert[0] == '\0') {
        if (use_ephemeral(ctx, err, err_cap) != 0)
            goto Fail;
    } else if (SSL_CTX_use_certificate_chain_file(ctx, cfg->https_cert) != 1) {
        openssl_error(err, err_cap, "https.cert");
        goto Fail;
    } else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->https_key[0] ? cfg->https_key : cfg->https_cert,
                                           SSL_FILETYPE_PEM) != 1 ||
               SSL_CTX_check_private_key(ctx) != 1) {
        openssl_error(err, err_cap, "https.key");
        goto Fail;
    }
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    return ctx;
Fail:
    SSL_CTX_free(ctx);
    return NULL;
}
