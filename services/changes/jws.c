/*
 * jws.c - detached JWS signatures (RFC 7515 appendix F) with ES256 over
 * OpenSSL 3, the keys' JWK form (RFC 7517) and ids (RFC 7638 thumbprints),
 * and the export keys of this process.
 *
 * ES256 is ECDSA on P-256 with SHA-256; OpenSSL gives the signature as a DER
 * SEQUENCE of two INTEGERs, JWS wants R || S, each left-padded to 32 bytes
 * (RFC 7518 §3.4).  The signing input is BASE64URL(header) '.'
 * BASE64URL(payload); the payload's base64url is fed to the digest in
 * pieces, never built whole (a page is megabytes).
 */
#include "changes/changes.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <yajl/yajl_tree.h>
#include "core/crypto.h"
#include "core/es256.h"
#include "core/text.h"

/* A P-256 coordinate, and an ES256 signature (R || S). */
#define COORD_BYTES FG_ES256_COORD_BYTES
#define SIGNATURE_BYTES FG_ES256_SIG_BYTES
/* Base64url (unpadded) of n bytes. */
#define B64_LEN(n) (((n)*4 + 2) / 3)
/* Payload bytes encoded per step of the signing input: a multiple of 3, so
 * the pieces' base64url joins up without padding. */
#define SIGN_CHUNK_BYTES (3 * 16384)
/* A key file is a few hundred bytes; anything much larger is not one. */
#define KEY_FILE_MAX (64 * 1024)
/* {"alg":"ES256","kid":"<43 characters>"} */
#define HEADER_CAP 128

_Static_assert(SIGN_CHUNK_BYTES % 3 == 0, "pieces of base64url join only at multiples of 3 bytes");
_Static_assert(B64_LEN(FG_SHA256_LEN) < FG_JWS_KID_CAP, "a thumbprint fits a kid");

struct fg_jws_key {
    EVP_PKEY *pkey;
    int has_private;
    char x[B64_LEN(COORD_BYTES) + 1], y[B64_LEN(COORD_BYTES) + 1];
    char kid[FG_JWS_KID_CAP];
    char header_b64[B64_LEN(HEADER_CAP) + 1]; /* the protected header, encoded once */
};

static int fail(char *err, size_t cap, const char *message)
{
    snprintf(err, cap, "%s", message);
    return FG_EINVALID;
}

/* The thumbprint of RFC 7638 §3.2: the required members in lexical order,
 * no whitespace. */
static void thumbprint(fg_jws_key_t *k)
{
    char json[160];
    uint8_t digest[FG_SHA256_LEN];
    int n = snprintf(json, sizeof(json), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", k->x, k->y);
    assert(n > 0 && (size_t)n < sizeof(json));
    fg_sha256(json, (size_t)n, digest);
    fg_base64url_encode(digest, sizeof(digest), k->kid);
}

static int key_from_pkey(EVP_PKEY *pkey, int has_private, fg_jws_key_t **out, char *err, size_t cap)
{
    char group[32] = "";
    uint8_t x[COORD_BYTES], y[COORD_BYTES];
    if (!EVP_PKEY_is_a(pkey, "EC") || EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1 ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))
        return fail(err, cap, "not an EC key on P-256 (ES256 needs one)");
    if (fg_es256_coordinates(pkey, x, y) != 0)
        return fail(err, cap, "the key's public point cannot be read");
    fg_jws_key_t *k = fg_calloc(1, sizeof(*k));
    k->pkey = pkey;
    k->has_private = has_private;
    fg_base64url_encode(x, sizeof(x), k->x);
    fg_base64url_encode(y, sizeof(y), k->y);
    thumbprint(k);
    char header[HEADER_CAP];
    int n = snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", k->kid);
    assert(n > 0 && (size_t)n < sizeof(header));
    fg_base64url_encode((const uint8_t *)header, (size_t)n, k->header_b64);
    *out = k;
    return 0;
}

int fg_jws_key_parse(const char *pem, size_t len, int need_private, fg_jws_key_t **out, char *err, size_t err_cap)
{
    EVP_PKEY *pkey = NULL;
    int has_private = 1;
    *out = NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        fg_oom();
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey == NULL && !need_private) {
        if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
            fg_oom();
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIO_free(bio);
        has_private = 0;
    }
    if (pkey == NULL)
        return fail(err, err_cap,
                    need_private ? "not a PEM private key (unencrypted PKCS#8 or SEC1)" : "not a PEM key");
    int rc = key_from_pkey(pkey, has_private, out, err, err_cap);
    if (rc != 0)
        EVP_PKEY_free(pkey);
    return rc;
}

int fg_jws_key_load(const char *path, int need_private, fg_jws_key_t **out, char *err, size_t err_cap)
{
    char pem[KEY_FILE_MAX];
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_cap, "cannot read %s: %s", path, strerror(errno));
        return FG_EIO;
    }
    size_t n = fread(pem, 1, sizeof(pem), f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n == sizeof(pem)) {
        snprintf(err, err_cap, "cannot read %s: %s", path, failed ? "read error" : "larger than a key file");
        return FG_EIO;
    }
    char why[160];
    int rc = fg_jws_key_parse(pem, n, need_private, out, why, sizeof(why));
    if (rc != 0)
        snprintf(err, err_cap, "%s: %s", path, why);
    return rc;
}

void fg_jws_key_free(fg_jws_key_t *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *fg_jws_key_id(const fg_jws_key_t *k) { return k->kid; }

void fg_jws_jwk_json(fg_buf_t *b, const fg_jws_key_t *k)
{
    fg_buf_printf(b,
                  "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"%s\",\"use\":\"sig\","
                  "\"alg\":\"ES256\"}",
                  k->x, k->y, k->kid);
}

/* ---- signing and verifying ------------------------------------------------------------ */

/* Base64url of the signing input, which is as long as a page: twelve bits
 * (two characters) per lookup, built once. */
static char pairs[4096][2];
static pthread_once_t pairs_once = PTHREAD_ONCE_INIT;

static void pairs_build(void)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 4096; i++) {
        pairs[i][0] = alphabet[i >> 6];
        pairs[i][1] = alphabet[i & 63];
    }
}

/* Unpadded base64url of n bytes into out (4 * ceil(n / 3) + 1 bytes);
 * returns its length.  The same as fg_base64url_encode, faster. */
static size_t encode_piece(const uint8_t *in, size_t n, char *out)
{
    size_t full = n - n % 3, o = 0;
    pthread_once(&pairs_once, pairs_build);
    for (size_t i = 0; i < full; i += 3, o += 4) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        memcpy(out + o, pairs[v >> 12], 2);
        memcpy(out + o + 2, pairs[v & 0xfff], 2);
    }
    return o + fg_base64url_encode(in + full, n - full, out + o);
}

/* Feeds the signing input (header_b64 '.' BASE64URL(payload)) to ctx. */
static int feed_input(EVP_MD_CTX *ctx, int verify, const char *header_b64, size_t header_len, const uint8_t *payload,
                      size_t len)
{
    int (*update)(EVP_MD_CTX *, const void *, size_t) = verify ? EVP_DigestVerifyUpdate : EVP_DigestSignUpdate;
    if (update(ctx, header_b64, header_len) != 1 || update(ctx, ".", 1) != 1)
        return FG_EIO;
    char *piece_b64 = fg_malloc(B64_LEN(SIGN_CHUNK_BYTES) + 1);
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0; at += SIGN_CHUNK_BYTES) {
        size_t piece = len - at < SIGN_CHUNK_BYTES ? len - at : SIGN_CHUNK_BYTES;
        size_t n = encode_piece(payload + at, piece, piece_b64);
        if (update(ctx, piece_b64, n) != 1)
            rc = FG_EIO;
    }
    free(piece_b64);
    return rc;
}

int fg_jws_sign_detached(const fg_jws_key_t *k, const void *payload, size_t len, fg_buf_t *out)
{
    assert(k->has_private);
    unsigned char der[128];
    uint8_t raw[SIGNATURE_BYTES];
    char sig_b64[B64_LEN(SIGNATURE_BYTES) + 1];
    size_t der_len = sizeof(der), header_len = strlen(k->header_b64);
    int rc = FG_EIO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        fg_oom();
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
        feed_input(ctx, 0, k->header_b64, header_len, payload, len) == 0 &&
        EVP_DigestSignFinal(ctx, der, &der_len) == 1 && fg_es256_sig_from_der(der, der_len, raw) == 0) {
        fg_base64url_encode(raw, sizeof(raw), sig_b64);
        fg_buf_append(out, k->header_b64, header_len);
        fg_buf_puts(out, "..");
        fg_buf_puts(out, sig_b64);
        rc = 0;
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* The protected header names ES256 and the key's id. */
static int header_matches(const fg_jws_key_t *k, const char *b64, size_t n)
{
    uint8_t json[HEADER_CAP * 2];
    char text[sizeof(json) + 1];
    long len = fg_base64url_decode(b64, n, json, sizeof(json));
    if (len < 0)
        return 0;
    memcpy(text, json, (size_t)len);
    text[len] = '\0';
    yajl_val root = yajl_tree_parse(text, NULL, 0);
    const char *alg_path[] = {"alg", NULL}, *kid_path[] = {"kid", NULL};
    yajl_val alg = root != NULL ? yajl_tree_get(root, alg_path, yajl_t_string) : NULL;
    yajl_val kid = root != NULL ? yajl_tree_get(root, kid_path, yajl_t_string) : NULL;
    int ok = alg != NULL && kid != NULL && strcmp(alg->u.string, "ES256") == 0 && strcmp(kid->u.string, k->kid) == 0;
    yajl_tree_free(root);
    return ok;
}

int fg_jws_verify_detached(const fg_jws_key_t *k, const char *jws, size_t jws_len, const void *payload, size_t len)
{
    const char *dots = memchr(jws, '.', jws_len);
    uint8_t raw[SIGNATURE_BYTES + 1];
    unsigned char *der = NULL;
    int der_len = 0, rc = FG_EINVALID;
    if (dots == NULL || (size_t)(dots - jws) + 2 > jws_len || dots[1] != '.')
        return FG_EINVALID; /* detached: nothing between the two dots */
    size_t header_len = (size_t)(dots - jws);
    const char *sig = dots + 2;
    if (!header_matches(k, jws, header_len) ||
        fg_base64url_decode(sig, jws_len - header_len - 2, raw, sizeof(raw)) != SIGNATURE_BYTES ||
        fg_es256_sig_to_der(raw, &der, &der_len) != 0)
        return FG_EINVALID;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        fg_oom();
    if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
        feed_input(ctx, 1, jws, header_len, payload, len) == 0 && EVP_DigestVerifyFinal(ctx, der, (size_t)der_len) == 1)
        rc = 0;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return rc;
}

/* ---- the export keys of this process ---------------------------------------------------- */

static fg_export_keys_t export_keys;

int fg_export_keys_load(const fg_config_t *cfg, char *err, size_t err_cap)
{
    char why[512];
    int rc = 0;
    fg_export_keys_free();
    if (cfg->export_signing_key_file[0] != '\0' &&
        (rc = fg_jws_key_load(cfg->export_signing_key_file, 1, &export_keys.signing, why, sizeof(why))) != 0) {
        snprintf(err, err_cap, "config: export.signing_key_file: %s", why);
        return rc;
    }
    const char *p = cfg->export_published_key_files;
    char *path;
    while (rc == 0 && (path = fg_list_next(&p)) != NULL) {
        if (export_keys.published_count == FG_JWS_PUBLISHED_MAX) {
            snprintf(why, sizeof(why), "more than %d files", FG_JWS_PUBLISHED_MAX);
            rc = FG_EINVALID;
        } else {
            rc = fg_jws_key_load(path, 0, &export_keys.published[export_keys.published_count], why, sizeof(why));
            if (rc == 0)
                export_keys.published_count++;
        }
        free(path);
    }
    if (rc != 0) {
        snprintf(err, err_cap, "config: export.published_key_files: %s", why);
        fg_export_keys_free();
    }
    return rc;
}

const fg_export_keys_t *fg_export_keys(void) { return &export_keys; }

void fg_export_keys_free(void)
{
    fg_jws_key_free(export_keys.signing);
    for (int i = 0; i < export_keys.published_count; i++)
        fg_jws_key_free(export_keys.published[i]);
    memset(&export_keys, 0, sizeof(export_keys));
}

void fg_export_jwks_json(fg_buf_t *b, const fg_export_keys_t *keys)
{
    const fg_jws_key_t *listed[FG_JWS_PUBLISHED_MAX + 1];
    int n = 0;
    if (keys->signing != NULL)
        listed[n++] = keys->signing;
    for (int i = 0; i < keys->published_count; i++) {
        int seen = 0;
        for (int j = 0; j < n && !seen; j++)
            seen = strcmp(listed[j]->kid, keys->published[i]->kid) == 0;
        if (!seen)
            listed[n++] = keys->published[i];
    }
    fg_buf_puts(b, "{\"keys\":[");
    for (int i = 0; i < n; i++) {
        if (i > 0)
            fg_buf_putc(b, ',');
        fg_jws_jwk_json(b, listed[i]);
    }
    fg_buf_puts(b, "]}");
}
