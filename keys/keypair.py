"""Ed25519 key pairs (PyNaCl) with their Multikey names."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from certreg.keys.multikey import decode_secret_key, encode_public_key, encode_secret_key


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key."""

    raw: bytes

    @property
    def multibase(self) -> str:
        return encode_public_key(self.raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is a valid Ed25519 signature of ``message``."""
        if len(signature) != 64:
            return False
        try:
            VerifyKey(self.raw).verify(message, signature)
        except (BadSignatureError, ValueError):
            return False
        return True


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key pair. ``verification_method`` is the DID URL naming the public key;
    it is what a Data Integrity proof's ``verificationMethod`` carries."""

    seed: bytes = field(repr=False)
    verification_method: str = ""

    @classmethod
    def generate(cls, verification_method: str = "") -> KeyPair:
        return cls(bytes(SigningKey.generate()), verification_method)

    @classmethod
    def from_secret_multibase(cls, value: str, verification_method: str = "") -> KeyPair:
        return cls(decode_secret_key(value), verification_method)

    @cached_property
    def _signing_key(self) -> SigningKey:
        return SigningKey(self.seed)

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(bytes(self._signing_key.verify_key))

    @property
    def public_multibase(self) -> str:
        return encode_public_key(self.public_key.raw)

    @property
    def secret_multibase(self) -> str:
        return encode_secret_key(self.seed)

    def with_verification_method(self, verification_method: str) -> KeyPair:
        return KeyPair(self.seed, verification_method)

    def sign(self, message: bytes) -> bytes:
        return self._signing_key.sign(message).signature
