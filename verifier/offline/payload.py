"""The certificate in its QR code: a compact signed payload that verifies with no network.

Format ``CR1`` (certreg, version 1), the EU Digital COVID Certificate's design (CWT in a
COSE_Sign1, zlib, base45) with certreg's claims::

    QR text   = "CR1:" + base45( zlib( COSE_Sign1 ) )
    COSE_Sign1 (RFC 9052 §4.2), CBOR tag 18 = [
        protected:   bstr .cbor { 1 (alg): -8 (EdDSA), 4 (kid): bstr 8 bytes },
        unprotected: {},
        payload:     bstr .cbor CWT claims (RFC 8392),
        signature:   bstr 64 bytes, Ed25519 over Sig_structure
                     ["Signature1", protected, h'', payload] (RFC 9052 §4.4)
    ]
    CWT claims = {
        4 (exp):  int, the certificate's expiry (validUntil), seconds since the epoch,
        5 (nbf):  int, its effective date (validFrom),
        6 (iat):  int, when this payload was signed,
        -65537:   the certificate (a private-use claim, RFC 8392 §3): {
            1: text, the holder's name,
            2: text, the certificate number,
            3: [code, version, name]  (texts: the scheme and its version),
            4: [[code, label, conditions], ...]  (the scope items held; label and conditions
               may be null, and trailing nulls are left out: [code] or [code, label]),
            5: [[purpose, list, index, size], ...]  (the credential's Bitstring Status List
               entries: purpose 0 message, 1 revocation, 2 suspension; list, the status list
               credential's URL, written relative to the body's public URL when under it,
               e.g. "status/message-1"; index; size in bits),
        }
    }

- **The body is the key's owner.** ``kid`` is the first 8 bytes of SHA-256 of the 32-byte
  Ed25519 public key; a verifier looks it up among the keys of the bodies it synced (their DID
  documents). There is no ``iss``: a did:key DID alone would cost 56 of the code's 319 bytes,
  and a name the payload states is worth nothing until the key is known anyway. A payload whose
  key is no synced body's is "cannot tell: no data from this body"; one signed by another body
  shows that body, never the one the reader expected.
- **Why CWT/COSE and not CBOR-LD VC Barcodes**: see docs/offline.md. In short: verifying a
  CBOR-LD credential needs JSON-LD canonicalisation on the phone; a COSE_Sign1 needs one CBOR
  structure and WebCrypto's Ed25519, in a page that works offline.
- **Size**: a QR code of version 13 at error correction M holds 483 alphanumeric characters,
  so 479 after the prefix, so 319 bytes of compressed COSE. :func:`sign_compact` drops the scope
  items' labels (the verifier shows the codes, or the labels it synced) when the full payload
  does not fit; a payload that still does not fit is kept whole, in a bigger QR code. The
  normative reference is not in the payload (it is the scheme's, on the scheme's page and the
  printed certificate).

This module is the format only: building the claims from a signed credential, encoding,
signing, and parsing untrusted text with a bounded cost. What a verifier concludes (keys,
status, dates) is :mod:`certreg.verifier.offline.verify`'s.
"""

from __future__ import annotations

import hashlib
import io
import sys
import zlib
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import base45
import cbor2

from certreg.keys.errors import CertregError
from certreg.verifier.facts import extract_facts

PREFIX = "CR1:"
#: Characters of a QR code of version 13 at error correction M in alphanumeric mode (base45's
#: alphabet is exactly that mode's).
QR_V13_M_CHARACTERS = 483
#: The largest QR text read (a version-40 code at error correction L holds 4,296 characters).
MAX_TEXT = 4296
#: The largest decompressed COSE object read: a payload is a few hundred bytes; this bounds
#: what a zlib bomb can make a reader allocate.
MAX_COSE_BYTES = 16_384

ALG_EDDSA = -8
CLAIM_EXP, CLAIM_NBF, CLAIM_IAT = 4, 5, 6
PURPOSES = ("message", "revocation", "suspension")  # their codes are their positions
CLAIM_CERTIFICATE = -65537
COSE_SIGN1_TAG = 18
NO_CONDITIONS = "No conditions or limitations"  # certreg's text when a scope item has none


class PayloadError(CertregError, ValueError):
    """The text is not a CR1 certificate payload; ``str()`` says why, in plain words."""


@dataclass(frozen=True)
class CompactScopeItem:
    code: str
    label: str | None = None
    conditions: str | None = None


@dataclass(frozen=True)
class CompactStatus:
    purpose: str  # "message" | "revocation" | "suspension"
    list: str  # the status list credential's URL, or its path under the body's public URL
    index: int
    size: int = 1


@dataclass(frozen=True)
class CompactCertificate:
    """The §9.4.7 facts a CR1 payload carries."""

    holder_name: str
    number: str
    scheme_code: str
    scheme_version: str
    scheme_name: str
    scope: tuple[CompactScopeItem, ...]
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    status: tuple[CompactStatus, ...] = ()

    def without_labels(self) -> CompactCertificate:
        scope = tuple(CompactScopeItem(i.code, None, i.conditions) for i in self.scope)
        return replace(self, scope=scope)


@dataclass(frozen=True)
class SignedCompact:
    """A parsed, not yet verified, CR1 payload: what was signed and the signature."""

    certificate: CompactCertificate
    kid: bytes
    protected: bytes
    payload: bytes
    signature: bytes

    @property
    def signed_bytes(self) -> bytes:
        """The Sig_structure the Ed25519 signature covers (RFC 9052 §4.4)."""
        return sig_structure(self.protected, self.payload)


def key_id(public_key: bytes) -> bytes:
    """A key's ``kid`` in a CR1 payload: the first 8 bytes of SHA-256 of the raw key."""
    return hashlib.sha256(public_key).digest()[:8]


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


# --- building ---------------------------------------------------------------------------------


def _scope_code(result_description_id: str) -> str:
    # certreg's ResultDescription ids end in "#scope-<code>" (issuer.credential).
    _, _, code = result_description_id.rpartition("#scope-")
    return code or result_description_id


def compact_from_credential(
    credential: Mapping[str, Any], *, issued_at: datetime, public_url: str = ""
) -> CompactCertificate:
    """The compact form of a signed certification credential (its facts, nothing else);
    status lists under ``public_url`` (the body's) are written relative to it."""
    facts = extract_facts(credential)
    if facts is None:
        raise PayloadError("this credential is not a certification")
    required = {
        "holder's name": facts.holder_name,
        "certificate number": facts.certificate_number,
        "effective date": facts.valid_from,
        "expiry date": facts.valid_until,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise PayloadError("the credential has no " + ", ".join(missing))
    status = credential.get("credentialStatus")
    entries = status if isinstance(status, list) else [status] if status else []
    return CompactCertificate(
        holder_name=str(facts.holder_name),
        number=str(facts.certificate_number),
        scheme_code=facts.scheme_code or "",
        scheme_version=facts.scheme_version or "",
        scheme_name=facts.scheme_name or "",
        scope=tuple(
            CompactScopeItem(
                _scope_code(item.id),
                item.name,
                None if item.conditions in (None, NO_CONDITIONS) else item.conditions,
            )
            for item in facts.scope
        ),
        valid_from=_parse_instant(str(facts.valid_from)),
        valid_until=_parse_instant(str(facts.valid_until)),
        issued_at=issued_at.astimezone(UTC).replace(microsecond=0),
        status=tuple(
            CompactStatus(
                purpose=str(e["statusPurpose"]),
                list=relative_list(str(e["statusListCredential"]), public_url),
                index=int(e["statusListIndex"]),
                size=int(e.get("statusSize", 1)),
            )
            for e in entries
            if isinstance(e, Mapping)
        ),
    )


def relative_list(url: str, public_url: str) -> str:
    """A status list's URL as a payload writes it: relative to the body's public URL when
    under it."""
    base = public_url.rstrip("/") + "/"
    return url[len(base) :] if public_url and url.startswith(base) else url


def absolute_list(list_ref: str, public_url: str) -> str:
    """A payload's status list as a URL, against the body's public URL."""
    if "://" in list_ref:
        return list_ref
    return public_url.rstrip("/") + "/" + list_ref


def _parse_instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _claims(cert: CompactCertificate) -> dict[int, Any]:
    scope = []
    for item in cert.scope:
        entry: list[Any] = [item.code, item.label, item.conditions]
        while len(entry) > 1 and entry[-1] is None:
            entry.pop()
        scope.append(entry)
    return {
        CLAIM_EXP: int(cert.valid_until.timestamp()),
        CLAIM_NBF: int(cert.valid_from.timestamp()),
        CLAIM_IAT: int(cert.issued_at.timestamp()),
        CLAIM_CERTIFICATE: {
            1: cert.holder_name,
            2: cert.number,
            3: [cert.scheme_code, cert.scheme_version, cert.scheme_name],
            4: scope,
            5: [[PURPOSES.index(s.purpose), s.list, s.index, s.size] for s in cert.status],
        },
    }


def encode(cert: CompactCertificate, sign: Callable[[bytes], bytes], public_key: bytes) -> str:
    """The CR1 text of ``cert``, signed with ``sign`` (Ed25519 of the key ``public_key``)."""
    protected = cbor2.dumps({1: ALG_EDDSA, 4: key_id(public_key)})
    payload = cbor2.dumps(_claims(cert))
    signature = sign(sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + b45encode(zlib.compress(cose, 9))


# RFC 9285's alphabet: QR alphanumeric mode's 45 characters.
_BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# The three characters of every two-byte group, by the group's big-endian value: made on first
# use (~30 ms, ~4 MB), then each group costs one list lookup instead of two divmods and
# three string concatenations (the base45 package's pure Python: 0.05 ms of a certificate).
_base45_groups: list[str] | None = None


def b45encode(data: bytes) -> str:
    """RFC 9285 base45 of ``data``, as ``base45.b45encode(data).decode()`` writes it (tests
    hold the two equal). Only for what certreg writes itself: reading untrusted text stays
    with the base45 package's decoder."""
    global _base45_groups
    groups = _base45_groups
    if groups is None:
        b45 = _BASE45
        # Built whole, then published: a thread racing this one builds its own, never a half.
        groups = [b45[x % 45] + b45[x // 45 % 45] + b45[x // 2025] for x in range(65536)]
        _base45_groups = groups
    even = len(data) & ~1
    words = array("H", data[:even])  # two-byte groups, in this machine's byte order
    if sys.byteorder == "little":
        words.byteswap()  # base45 reads each group big-endian
    text = "".join(map(groups.__getitem__, words))
    if len(data) & 1:
        last = data[-1]
        text += _BASE45[last % 45] + _BASE45[last // 45]
    return text


def sign_compact(
    credential: Mapping[str, Any],
    sign: Callable[[bytes], bytes],
    public_key: bytes,
    *,
    issued_at: datetime,
    public_url: str = "",
    budget: int = QR_V13_M_CHARACTERS,
) -> str:
    """The CR1 text of a signed certification credential, within ``budget`` characters if
    dropping the scope labels gets it there (the codes stay; see the module's docstring)."""
    cert = compact_from_credential(credential, issued_at=issued_at, public_url=public_url)
    text = encode(cert, sign, public_key)
    if len(text) > budget and any(item.label for item in cert.scope):
        shorter = encode(cert.without_labels(), sign, public_key)
        if len(shorter) < len(text):
            text = shorter
    return text


# --- reading untrusted text -------------------------------------------------------------------


def _load_one(data: bytes, what: str) -> Any:
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as error:  # cbor2 raises several types on malformed input
        raise PayloadError(f"{what} is not well-formed CBOR") from error
    if stream.tell() != len(data):
        raise PayloadError(f"{what} has bytes after its end")
    return value


def _text(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"the payload's {what} is not text")
    return value


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(f"the payload's {what} is not a whole number")
    return value


def _instant(value: Any, what: str) -> datetime:
    seconds = _int(value, what)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise PayloadError(f"the payload's {what} is not a possible date") from error


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise PayloadError(f"the payload's {what} is not a list")
    return list(value)


def _certificate(claims: Any) -> CompactCertificate:
    if not isinstance(claims, Mapping):
        raise PayloadError("the payload's claims are not a map")
    body = claims.get(CLAIM_CERTIFICATE)
    if not isinstance(body, Mapping):
        raise PayloadError("the payload carries no certificate")
    scheme = _list(body.get(3), "scheme")
    if len(scheme) != 3:
        raise PayloadError("the payload's scheme does not have its three parts")
    scope = []
    for item in _list(body.get(4), "scope"):
        parts = _list(item, "scope item")
        if not 1 <= len(parts) <= 3:
            raise PayloadError("a scope item of the payload has the wrong number of parts")
        parts = parts + [None] * (3 - len(parts))
        scope.append(
            CompactScopeItem(
                str(_text(parts[0], "scope code")),
                _text(parts[1], "scope label", optional=True),
                _text(parts[2], "scope conditions", optional=True),
            )
        )
    if not scope:
        raise PayloadError("the payload's certificate has no scope item")
    status = []
    for entry in _list(body.get(5, []), "status"):
        parts = _list(entry, "status entry")
        if len(parts) != 4:
            raise PayloadError("a status entry of the payload does not have its four parts")
        purpose = _int(parts[0], "status purpose")
        if not 0 <= purpose < len(PURPOSES):
            raise PayloadError("a status entry of the payload has an unknown purpose")
        status.append(
            CompactStatus(
                PURPOSES[purpose],
                str(_text(parts[1], "status list")),
                _int(parts[2], "status index"),
                _int(parts[3], "status size"),
            )
        )
    return CompactCertificate(
        holder_name=str(_text(body.get(1), "holder's name")),
        number=str(_text(body.get(2), "certificate number")),
        scheme_code=str(_text(scheme[0], "scheme code")),
        scheme_version=str(_text(scheme[1], "scheme version")),
        scheme_name=str(_text(scheme[2], "scheme name")),
        scope=tuple(scope),
        valid_from=_instant(claims.get(CLAIM_NBF), "effective date"),
        valid_until=_instant(claims.get(CLAIM_EXP), "expiry date"),
        issued_at=_instant(claims.get(CLAIM_IAT), "signing time"),
        status=tuple(status),
    )


def decode(text: str) -> SignedCompact:
    """Parse a CR1 text, without verifying it. Bounded in time and memory whatever the text;
    anything that is not a well-formed CR1 payload raises :class:`PayloadError`."""
    if not isinstance(text, str):
        raise PayloadError("the payload is not text")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise PayloadError("the text is longer than any QR code holds")
    if not text.startswith(PREFIX):
        raise PayloadError(
            f"this is not a certreg certificate payload (it does not start {PREFIX})"
        )
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
    except Exception as error:  # the base45 package raises ValueError and others
        raise PayloadError("the payload is not valid base45 (it was cut or altered)") from error
    inflater = zlib.decompressobj()
    try:
        cose = inflater.decompress(compressed, MAX_COSE_BYTES)
    except zlib.error as error:
        raise PayloadError("the payload does not decompress (it was cut or altered)") from error
    if inflater.unconsumed_tail:
        raise PayloadError("the payload decompresses to more than a certificate ever holds")
    if not inflater.eof or inflater.unused_data:
        raise PayloadError("the payload is cut short or has bytes after its end")
    outer = _load_one(cose, "the payload")
    if isinstance(outer, cbor2.CBORTag):
        if outer.tag != COSE_SIGN1_TAG:
            raise PayloadError("the payload is not a COSE_Sign1 signed object")
        outer = outer.value
    # cbor2 reads the arrays and maps inside a tag as tuples and frozendicts.
    if not (isinstance(outer, (list, tuple)) and len(outer) == 4):
        raise PayloadError("the payload is not a COSE_Sign1 signed object")
    protected, unprotected, payload, signature = outer
    if not all(isinstance(part, bytes) for part in (protected, payload, signature)):
        raise PayloadError("the payload is not a COSE_Sign1 signed object")
    if not isinstance(unprotected, Mapping):
        raise PayloadError("the payload is not a COSE_Sign1 signed object")
    header = _load_one(protected, "the payload's protected header")
    if not isinstance(header, Mapping) or header.get(1) != ALG_EDDSA:
        raise PayloadError("the payload is not signed with EdDSA (Ed25519)")
    kid = header.get(4)
    if not isinstance(kid, bytes) or len(kid) != 8:
        raise PayloadError("the payload does not name its key")
    if len(signature) != 64:
        raise PayloadError("the payload's signature is not an Ed25519 signature")
    certificate = _certificate(_load_one(payload, "the payload's claims"))
    return SignedCompact(certificate, kid, protected, payload, signature)


def scope_summary(scope: Sequence[CompactScopeItem]) -> str:
    """The scope items in words, for a result's summary."""
    return "; ".join(
        (item.label or item.code) + (f" ({item.conditions})" if item.conditions else "")
        for item in scope
    )
