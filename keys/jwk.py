"""Ed25519 keys as JSON Web Keys (RFC 8037: ``kty`` OKP, ``crv`` Ed25519), via jwcrypto.

For verifiers and wallets that speak JOSE (``publicKeyJwk``, OID4VCI proofs); the seed in
:func:`private_jwk` is the same 32 bytes as :attr:`keys.keypair.KeyPair.seed`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jwcrypto.common import base64url_decode, base64url_encode
from jwcrypto.jwk import JWK
from nacl.signing import SigningKey

from certreg.keys.errors import CertregError

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class JwkError(CertregError, ValueError):
    """A JWK is not an Ed25519 key."""


def public_jwk(public_key_raw: bytes) -> dict[str, Any]:
    """``{"kty": "OKP", "crv": "Ed25519", "x": …}`` for a 32-byte Ed25519 public key."""
    if not isinstance(public_key_raw, bytes) or len(public_key_raw) != 32:
        raise JwkError("an Ed25519 public key is 32 bytes")
    key = JWK(kty="OKP", crv="Ed25519", x=base64url_encode(public_key_raw))
    return key.export_public(as_dict=True)


def private_jwk(seed: bytes) -> dict[str, Any]:
    """The private JWK (with ``d``) for a 32-byte Ed25519 seed. Keep it secret."""
    if not isinstance(seed, bytes) or len(seed) != 32:
        raise JwkError("an Ed25519 seed is 32 bytes")
    public = bytes(SigningKey(seed).verify_key)
    key = JWK(kty="OKP", crv="Ed25519", x=base64url_encode(public), d=base64url_encode(seed))
    return key.export_private(as_dict=True)


def public_key_from_jwk(jwk: Mapping[str, Any]) -> bytes:
    """The raw 32-byte Ed25519 public key of a public JWK.

    A JWK carrying ``d`` is refused: a published key (``publicKeyJwk``) must never contain the
    private part, and accepting it silently would hide that the secret has leaked.
    """
    if not isinstance(jwk, Mapping):
        raise JwkError("a JWK must be a JSON object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise JwkError(
            f"only Ed25519 JWKs (kty OKP, crv Ed25519) are supported, got "
            f"kty {jwk.get('kty')!r}, crv {jwk.get('crv')!r}"
        )
    if "d" in jwk:
        raise JwkError("this JWK contains a private key ('d'); a public JWK must not")
    x = jwk.get("x")
    # Checked by hand: Python's base64 decoder silently skips characters outside the alphabet.
    if not isinstance(x, str) or not _BASE64URL.fullmatch(x) or len(x) % 4 == 1:
        raise JwkError("the JWK's 'x' must be base64url without padding")
    raw = base64url_decode(x)
    if len(raw) != 32:
        raise JwkError(f"the JWK's 'x' is {len(raw)} bytes; an Ed25519 public key is 32")
    return raw
