"""Ed25519 JWKs: round trips, refusals, and interoperability with jwcrypto's own JWS."""

from __future__ import annotations

import json

import pytest
from factories import read_json
from jwcrypto.common import base64url_decode
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from certreg.keys import JwkError, KeyPair, PublicKey, private_jwk, public_jwk, public_key_from_jwk


def test_public_jwk_round_trip() -> None:
    pair = KeyPair.generate()
    jwk = public_jwk(pair.public_key.raw)
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    assert "d" not in jwk
    assert public_key_from_jwk(jwk) == pair.public_key.raw


def test_private_jwk_carries_seed_and_matching_public_key() -> None:
    pair = KeyPair.generate()
    jwk = private_jwk(pair.seed)
    assert base64url_decode(jwk["d"]) == pair.seed
    assert base64url_decode(jwk["x"]) == pair.public_key.raw


def test_vector_key_as_jwk_matches_its_multikey() -> None:
    vector = read_json("eddsa/keyPair.json")
    pair = KeyPair.from_secret_multibase(vector["privateKeyMultibase"])
    assert pair.public_multibase == vector["publicKeyMultibase"]
    raw = public_key_from_jwk(public_jwk(pair.public_key.raw))
    assert PublicKey(raw).multibase == vector["publicKeyMultibase"]


def test_jws_signed_by_jwcrypto_verifies_with_our_public_key() -> None:
    pair = KeyPair.generate()
    jws = JWS(b'{"certificate":"CB-2026-0001"}')
    jws.add_signature(
        JWK(**private_jwk(pair.seed)), alg="EdDSA", protected=json.dumps({"alg": "EdDSA"})
    )
    header, payload, signature = jws.serialize(compact=True).split(".")
    signing_input = f"{header}.{payload}".encode("ascii")
    assert PublicKey(pair.public_key.raw).verify(signing_input, base64url_decode(signature))
    assert not KeyPair.generate().public_key.verify(signing_input, base64url_decode(signature))


def test_our_signature_verifies_with_jwcrypto() -> None:
    pair = KeyPair.generate()
    jws = JWS(b"payload")
    jws.add_signature(
        JWK(**private_jwk(pair.seed)), alg="EdDSA", protected=json.dumps({"alg": "EdDSA"})
    )
    token = jws.serialize(compact=True)
    check = JWS()
    check.deserialize(token)
    check.verify(JWK(**public_jwk(pair.public_key.raw)))
    assert check.payload == b"payload"


@pytest.mark.parametrize(
    ("jwk", "why"),
    [
        ({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "only Ed25519"),
        ({"kty": "OKP", "crv": "X25519", "x": "A" * 43}, "only Ed25519"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "only Ed25519"),
        ({"kty": "OKP", "crv": "Ed25519"}, "base64url"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}, "32"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "A" * 42 + "$"}, "base64url"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "A" * 43 + "="}, "base64url"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "A" * 43, "d": "A" * 43}, "private"),
        ("not a dict", "JSON object"),
    ],
)
def test_public_key_from_jwk_refuses(jwk: object, why: str) -> None:
    with pytest.raises(JwkError, match=why):
        public_key_from_jwk(jwk)  # type: ignore[arg-type]


def test_wrong_lengths_refused() -> None:
    with pytest.raises(JwkError):
        public_jwk(b"short")
    with pytest.raises(JwkError):
        private_jwk(b"short")


def test_secret_key_in_the_64_byte_form_digital_bazaar_exports():
    import base58

    from certreg.keys.keypair import KeyPair
    from certreg.keys.multikey import MultikeyError, decode_secret_key

    pair = KeyPair.generate()
    long_form = "z" + base58.b58encode(b"\x80\x26" + pair.seed + pair.public_key.raw).decode()
    assert decode_secret_key(long_form) == pair.seed
    other = KeyPair.generate()
    mismatched = "z" + base58.b58encode(b"\x80\x26" + pair.seed + other.public_key.raw).decode()
    with pytest.raises(MultikeyError, match="does not belong"):
        decode_secret_key(mismatched)
