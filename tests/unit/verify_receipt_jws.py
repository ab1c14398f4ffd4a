#!/usr/bin/env python3
"""verify_receipt_jws.py KEY_PEM PAYLOAD [PAYER_REF]

Checks a receipt's QR payload (a compact JWS, ES256) with Debian's python3
`cryptography` package alone, an implementation independent of feegate's:
the key id is the key's RFC 7638 thumbprint, the header names ES256 and that
id, the signature is R || S (64 bytes) over the first two parts, and the claims
carry the same kid (and, given PAYER_REF, its hash). Prints the claims and exits
0 when every check holds, else prints why on stderr and exits 1.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fail(why):
    print("verify_receipt_jws: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    pem = open(sys.argv[1], "rb").read()
    try:
        public = serialization.load_pem_private_key(pem, password=None).public_key()
    except ValueError:
        public = serialization.load_pem_public_key(pem)
    if not isinstance(public.curve, ec.SECP256R1):
        fail("not a P-256 key")
    numbers = public.public_numbers()
    jwk = {"crv": "P-256", "kty": "EC",
           "x": b64e(numbers.x.to_bytes(32, "big")), "y": b64e(numbers.y.to_bytes(32, "big"))}
    kid = b64e(hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest())

    parts = sys.argv[2].split(".")
    if len(parts) != 3:
        fail("not a compact JWS")
    header = json.loads(b64d(parts[0]))
    if header != {"alg": "ES256", "kid": kid}:
        fail("header %r is not ES256 with kid %s" % (header, kid))
    signature = b64d(parts[2])
    if len(signature) != 64:
        fail("signature is %d bytes, not 64 (R || S)" % len(signature))
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, (parts[0] + "." + parts[1]).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        fail("the signature does not verify")
    claims = json.loads(b64d(parts[1]))
    if claims.get("kid") != kid:
        fail("the claims name kid %r" % claims.get("kid"))
    if len(sys.argv) > 3 and claims.get("payer") != b64e(hashlib.sha256(sys.argv[3].encode()).digest()[:16]):
        fail("the payer hash is not that of %r" % sys.argv[3])
    print(json.dumps(claims, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
