"""Ed25519 keys for certreg: Multikey and JWK encodings, did:key and did:web documents, and an
encrypted key store with rotation history. Imports nothing else from certreg.

Names are loaded lazily (PEP 562): ``certreg verify`` and every command that needs only a key
pair or a DID document does not import jwcrypto and cryptography (about 35 ms), which only the
JWK encodings use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what mypy and readers see; at run time __getattr__ loads each on first use
    from certreg.keys.did import (
        DID_CONTEXT,
        DidError,
        KeyRecord,
        build_did_web_document,
        did_key_document,
        did_key_from_public,
        did_key_verification_method,
        did_web_from_url,
        did_web_to_url,
        format_utc,
        parse_utc,
        verification_method_from_document,
    )
    from certreg.keys.jwk import JwkError, private_jwk, public_jwk, public_key_from_jwk
    from certreg.keys.keypair import KeyPair, PublicKey
    from certreg.keys.multikey import MultikeyError
    from certreg.keys.store import KDF_PROFILES, KeyStore, KeyStoreError

_EXPORTS = {
    "DID_CONTEXT": "certreg.keys.did",
    "DidError": "certreg.keys.did",
    "JwkError": "certreg.keys.jwk",
    "KDF_PROFILES": "certreg.keys.store",
    "KeyPair": "certreg.keys.keypair",
    "KeyRecord": "certreg.keys.did",
    "KeyStore": "certreg.keys.store",
    "KeyStoreError": "certreg.keys.store",
    "MultikeyError": "certreg.keys.multikey",
    "PublicKey": "certreg.keys.keypair",
    "build_did_web_document": "certreg.keys.did",
    "did_key_document": "certreg.keys.did",
    "did_key_from_public": "certreg.keys.did",
    "did_key_verification_method": "certreg.keys.did",
    "did_web_from_url": "certreg.keys.did",
    "did_web_to_url": "certreg.keys.did",
    "format_utc": "certreg.keys.did",
    "parse_utc": "certreg.keys.did",
    "private_jwk": "certreg.keys.jwk",
    "public_jwk": "certreg.keys.jwk",
    "public_key_from_jwk": "certreg.keys.jwk",
    "verification_method_from_document": "certreg.keys.did",
}

__all__ = [
    "DID_CONTEXT",
    "KDF_PROFILES",
    "DidError",
    "JwkError",
    "KeyPair",
    "KeyRecord",
    "KeyStore",
    "KeyStoreError",
    "MultikeyError",
    "PublicKey",
    "build_did_web_document",
    "did_key_document",
    "did_key_from_public",
    "did_key_verification_method",
    "did_web_from_url",
    "did_web_to_url",
    "format_utc",
    "parse_utc",
    "private_jwk",
    "public_jwk",
    "public_key_from_jwk",
    "verification_method_from_document",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'certreg.keys' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
