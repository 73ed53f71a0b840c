"""C2SP signed-note: text signed by one or more keys (what a checkpoint is).

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID || signature)``. The key ID of an Ed25519 key (type 0x01) is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; keys travel as *verifier key* strings
``<name>+<hex key ID>+base64(type || public key)`` (as Go's golang.org/x/mod/sumdb/note writes
them) and signing keys as ``PRIVATE+KEY+<name>+<hex key ID>+base64(type || seed)``.

:func:`open_note` applies the specification's rules: the text ends at the *last* blank line;
signatures from unknown keys (name and ID not both matching a known key) are ignored; a known
key's signature must verify, or the whole note is rejected; at least one known key must have
signed; at most :data:`MAX_SIGNATURES` lines and :data:`MAX_NOTE_SIZE` bytes are read. It never
raises for a bad note: the :class:`OpenedNote` says why it was refused.

A :class:`Verifier` of signature type 0x04 checks tlog-cosignature/v1 cosignatures (see
:mod:`certreg.verifier.tlog.checkpoint`), so one call opens a checkpoint with its witnesses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from certreg.verifier.tlog.errors import TlogError

ED25519 = 0x01
COSIGNATURE_V1 = 0x04  # timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature)
MAX_SIGNATURES = 100  # as Go's sumdb/note; the specification asks for at least 16
MAX_NOTE_SIZE = 1 << 20
EM_DASH = "\u2014"
SIGNATURE_PREFIX = EM_DASH + " "


class NoteError(TlogError):
    """A malformed key string, key name or note text given to sign; the message says which."""


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4]."""
    data = name.encode() + b"\n" + bytes([signature_type]) + public_key
    return hashlib.sha256(data).digest()[:4]


def valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode space, no plus sign (they would break the key strings)."""
    return (
        bool(name)
        and "+" not in name
        and not any(c.isspace() or unicodedata.category(c) == "Zs" for c in name)
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


def cosignature_message(body: bytes | str, timestamp: int) -> bytes:
    """What a tlog-cosignature/v1 signs: ``cosignature/v1``, ``time <timestamp>``, then the
    checkpoint text (its signature lines excluded)."""
    if isinstance(body, str):
        body = body.encode()
    return b"cosignature/v1\ntime %d\n" % timestamp + body


@dataclass(frozen=True)
class Verifier:
    """A public key that may sign notes: Ed25519 (type 0x01) or a cosigner (type 0x04)."""

    name: str
    key_id: bytes
    public_key: bytes
    signature_type: int = ED25519

    @classmethod
    def ed25519(cls, name: str, public_key: bytes, signature_type: int = ED25519) -> Verifier:
        if not valid_key_name(name):
            raise NoteError(f"not a valid key name: {name!r}")
        if len(public_key) != 32:
            raise NoteError("an Ed25519 public key has 32 bytes")
        return cls(name, key_id(name, signature_type, public_key), public_key, signature_type)

    @property
    def key_string(self) -> str:
        """``<name>+<hex key ID>+base64(type || public key)``."""
        raw = bytes([self.signature_type]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{_b64(raw)}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Does ``signature`` (the bytes after the key ID) sign the note text ``text``?"""
        if self.signature_type == COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                return False
            timestamp = int.from_bytes(signature[:8], "big")
            if timestamp >= 1 << 63:
                return False
            message, signature = cosignature_message(text, timestamp), signature[8:]
        elif self.signature_type == ED25519:
            if len(signature) != 64:
                return False
            message = text
        else:
            return False
        try:
            VerifyKey(self.public_key).verify(message, signature)
        except (BadSignatureError, ValueError):
            return False
        return True


def parse_verifier_key(text: str) -> Verifier:
    """A verifier key string -> :class:`Verifier`; :class:`NoteError` if malformed, of an
    unsupported type, or if its stated key ID is not the one its key derives."""
    parts = text.split("+", 2)  # base64 may hold "+" too
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<hex key ID>+<base64 key>")
    name, id_hex, key_b64 = parts
    if not valid_key_name(name):
        raise NoteError(f"not a valid key name: {name!r}")
    if len(id_hex) != 8 or id_hex != id_hex.lower():
        raise NoteError("the key ID is 8 lower-case hex digits")
    try:
        stated = bytes.fromhex(id_hex)
    except ValueError:
        raise NoteError("the key ID is 8 lower-case hex digits") from None
    raw = _unb64(key_b64)
    if raw is None or len(raw) != 33:
        raise NoteError("the key is base64 of a type byte and a 32-byte Ed25519 public key")
    if raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError(f"unsupported signature type 0x{raw[0]:02x}")
    verifier = Verifier.ed25519(name, raw[1:], raw[0])
    if verifier.key_id != stated:
        raise NoteError(f"the key ID {id_hex} is not the one the key derives")
    return verifier


@dataclass(frozen=True)
class Signer:
    """An Ed25519 signing key with its key name (signature type 0x01 or 0x04)."""

    name: str
    seed: bytes = field(repr=False)
    signature_type: int = ED25519

    def __post_init__(self) -> None:
        if not valid_key_name(self.name):
            raise NoteError(f"not a valid key name: {self.name!r}")
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 seed has 32 bytes")

    @classmethod
    def generate(cls, name: str, signature_type: int = ED25519) -> Signer:
        return cls(name, bytes(SigningKey.generate()), signature_type)

    @property
    def verifier(self) -> Verifier:
        public = bytes(SigningKey(self.seed).verify_key)
        return Verifier.ed25519(self.name, public, self.signature_type)

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    @property
    def private_key_string(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key ID>+base64(type || seed)`` (Go's format)."""
        raw = bytes([self.signature_type]) + self.seed
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{_b64(raw)}"

    def sign(self, message: bytes) -> bytes:
        return SigningKey(self.seed).sign(message).signature


def parse_signer_key(text: str) -> Signer:
    """``PRIVATE+KEY+...`` -> :class:`Signer`; :class:`NoteError` if malformed."""
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("a signing key is PRIVATE+KEY+<name>+<hex key ID>+<base64 key>")
    name, id_hex, key_b64 = parts[2:]
    raw = _unb64(key_b64)
    if raw is None or len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError("the key is base64 of a type byte and a 32-byte Ed25519 seed")
    signer = Signer(name, raw[1:], raw[0])
    if signer.key_id.hex() != id_hex:
        raise NoteError(f"the key ID {id_hex} is not the one the key derives")
    return signer


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID and the signature bytes after the ID."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {_b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class OpenedNote:
    """What :func:`open_note` found. ``ok`` only if a known key signed and none failed."""

    ok: bool
    reason: str = ""
    text: str = ""
    verified: tuple[Signature, ...] = ()
    unknown: tuple[Signature, ...] = ()

    def __bool__(self) -> bool:
        return self.ok

    def signed_by(self, verifier: Verifier) -> Signature | None:
        for sig in self.verified:
            if sig.name == verifier.name and sig.key_id == verifier.key_id:
                return sig
        return None


def check_text(text: str) -> str:
    """Why ``text`` cannot be a note's text ("" if it can): it must end in a newline and hold
    no control character but newline."""
    if not text.endswith("\n"):
        return "the note text does not end with a newline"
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        return "the note text holds a control character"
    return ""


def sign_note(text: str, signers: Sequence[Signer], keep: Iterable[Signature] = ()) -> str:
    """The signed note: ``text``, a blank line, a line per signer, then the ``keep`` signatures
    of other keys (a signer's own old signature is replaced)."""
    if reason := check_text(text):
        raise NoteError(reason)
    if not signers:
        raise NoteError("a note needs at least one signature")
    data = text.encode()
    lines = [Signature(s.name, s.key_id, s.sign(data)) for s in signers]
    mine = {(s.name, s.key_id) for s in lines}
    lines += [s for s in keep if (s.name, s.key_id) not in mine]
    return text + "\n" + "".join(s.line for s in lines)


def add_signatures(note: str, signatures: Iterable[Signature]) -> str:
    """``note`` with more signature lines appended (a cosigner's, say), none repeated."""
    present = set(note.splitlines(keepends=True))
    return note + "".join(s.line for s in signatures if s.line not in present)


def _refuse(reason: str) -> OpenedNote:
    return OpenedNote(False, reason)


def open_note(
    data: bytes | str, verifiers: Iterable[Verifier], *, max_size: int = MAX_NOTE_SIZE
) -> OpenedNote:
    """Parse and verify a signed note against the known keys ``verifiers``."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > max_size:
        return _refuse(f"the note has {len(data)} bytes, more than the {max_size} accepted")
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse("the note is not UTF-8")
    if any(ord(c) < 0x20 and c != "\n" for c in whole):
        return _refuse("the note holds a control character other than newline")
    split = whole.rfind("\n\n")
    if split < 0:
        return _refuse("the note has no blank line before its signatures")
    text, block = whole[: split + 1], whole[split + 2 :]
    if not block:
        return _refuse("the note has no signature after its last blank line")
    if not block.endswith("\n"):
        return _refuse("the note's last signature line does not end with a newline")

    known = {(v.name, v.key_id): v for v in verifiers}
    text_bytes = text.encode()
    verified: list[Signature] = []
    unknown: list[Signature] = []
    seen_known: set[tuple[str, bytes]] = set()
    seen_lines: set[str] = set()
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        return _refuse(f"the note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    for number, line in enumerate(lines, start=1):
        if not line.startswith(SIGNATURE_PREFIX):
            return _refuse(f"signature line {number} does not start with an em dash and a space")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        raw = _unb64(encoded)
        if not valid_key_name(name) or raw is None or len(raw) < 5:
            return _refuse(f"signature line {number} is malformed")
        sig = Signature(name, raw[:4], raw[4:])
        verifier = known.get((name, sig.key_id))
        if verifier is None:
            if line not in seen_lines:  # the specification: unknown keys are ignored
                unknown.append(sig)
            seen_lines.add(line)
            continue
        if (name, sig.key_id) in seen_known:
            return _refuse(f"the key {name} signed the note twice")
        seen_known.add((name, sig.key_id))
        if not verifier.verify(text_bytes, sig.signature):
            return _refuse(f"the signature of the known key {name} does not verify")
        verified.append(sig)
    if not verified:
        return OpenedNote(False, "no known key signed the note", text, unknown=tuple(unknown))
    return OpenedNote(True, "", text, tuple(verified), tuple(unknown))
