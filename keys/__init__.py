"""Ed25519 keys for certreg: Multikey and JWK encodings, did:key and did:web documents, and an
encrypted key store with rotation history. Imports nothing else from certreg."""

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
