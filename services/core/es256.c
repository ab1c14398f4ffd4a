/*
 * es256.c - ES256 signature forms, P-256 coordinates, base64url decoding.
 */
#include "core/es256.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include "core/error.h"

long fg_base64url_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t len = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i], v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-')
            v = 62;
        else if (c == '_')
            v = 63;
        else
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len == cap)
                return -1;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)len;
}

int fg_es256_coordinates(EVP_PKEY *pkey, uint8_t x[FG_ES256_COORD_BYTES], uint8_t y[FG_ES256_COORD_BYTES])
{
    BIGNUM *bx = NULL, *by = NULL;
    int ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
             EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
             BN_bn2binpad(bx, x, FG_ES256_COORD_BYTES) == FG_ES256_COORD_BYTES &&
             BN_bn2binpad(by, y, FG_ES256_COORD_BYTES) == FG_ES256_COORD_BYTES;
    BN_free(bx);
    BN_free(by);
    return ok ? 0 : FG_EINVALID;
}

int fg_es256_sig_from_der(const unsigned char *der, size_t der_len, uint8_t raw[FG_ES256_SIG_BYTES])
{
    const unsigned char *p = der;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL)
        return FG_EIO;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = BN_bn2binpad(r, raw, FG_ES256_COORD_BYTES) == FG_ES256_COORD_BYTES &&
             BN_bn2binpad(s, raw + FG_ES256_COORD_BYTES, FG_ES256_COORD_BYTES) == FG_ES256_COORD_BYTES;
    ECDSA_SIG_free(sig);
    return ok ? 0 : FG_EIO;
}

int fg_es256_sig_to_der(const uint8_t raw[FG_ES256_SIG_BYTES], unsigned char **der, int *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, FG_ES256_COORD_BYTES, NULL);
    BIGNUM *s = BN_bin2bn(raw + FG_ES256_COORD_BYTES, FG_ES256_COORD_BYTES, NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return FG_EIO;
    }
    *der = NULL;
    *der_len = i2d_ECDSA_SIG(sig, der);
    ECDSA_SIG_free(sig);
    return *der_len > 0 ? 0 : FG_EIO;
}
