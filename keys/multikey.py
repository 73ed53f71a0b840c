"""Multikey encodings of Ed25519 keys (W3C Controlled Identifiers, "Multikey").

``publicKeyMultibase`` is base58btc (prefix ``z``) of the multicodec header ``0xed 0x01``
followed by the 32-byte public key: it always starts ``z6Mk``. ``secretKeyMultibase`` is
base58btc of ``0x80 0x26`` followed by the 32-byte seed: it starts ``z3u2``.
"""

from __future__ import annotations

from functools import lru_cache

import base58
from nacl.signing import SigningKey

from certreg.keys.errors import CertregError

ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"


class MultikeyError(CertregError, ValueError):
    """A multibase/multicodec value is not an Ed25519 key."""


def _decode_base58btc(value: str, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise MultikeyError(f"{what} must be a base58btc multibase string starting with 'z'")
    try:
        return base58.b58decode(value[1:])
    except ValueError as exc:
        raise MultikeyError(f"{what} is not valid base58btc: {exc}") from None


def encode_public_key(public_key: bytes) -> str:
    if len(public_key) != 32:
        raise MultikeyError("an Ed25519 public key is 32 bytes")
    return "z" + base58.b58encode(ED25519_PUB_HEADER + public_key).decode("ascii")


@lru_cache(maxsize=1024)
def decode_public_key(multibase: str) -> bytes:
    raw = _decode_base58btc(multibase, "publicKeyMultibase")
    if raw[:2] != ED25519_PUB_HEADER or len(raw) != 34:
        raise MultikeyError("publicKeyMultibase is not an Ed25519 public key (0xed01 + 32 bytes)")
    return raw[2:]


def encode_secret_key(seed: bytes) -> str:
    if len(seed) != 32:
        raise MultikeyError("an Ed25519 seed is 32 bytes")
    return "z" + base58.b58encode(ED25519_PRIV_HEADER + seed).decode("ascii")


def decode_secret_key(multibase: str) -> bytes:
    """The 32-byte seed. Also accepts the 64-byte form (seed followed by the public key) that
    Digital Bazaar's ed25519-multikey exports by default, after checking the two halves match."""
    raw = _decode_base58btc(multibase, "secretKeyMultibase")
    if raw[:2] != ED25519_PRIV_HEADER or len(raw) not in (34, 66):
        raise MultikeyError(
            "secretKeyMultibase is not an Ed25519 secret key (0x8026 + 32-byte seed, "
            "or + seed and public key)"
        )
    seed = raw[2:34]
    if len(raw) == 66 and bytes(SigningKey(seed).verify_key) != raw[34:]:
        raise MultikeyError("secretKeyMultibase: the public half does not belong to the seed")
    return seed
