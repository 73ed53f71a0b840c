"""W3C Bitstring Status List v1.0: the bitstring, the status list credential, the entry, and
reading one credential's status out of a published list.

Public API:

- :class:`Bitstring` – a fixed-size list of ``status_size``-bit entries; ``encode()`` /
  ``decode()`` to and from an ``encodedList`` value (GZIP, then multibase base64url ``u``).
- :func:`status_list_credential` – an unsigned ``BitstringStatusListCredential`` (VC 2.0).
- :func:`status_list_entry` – a ``BitstringStatusListEntry`` for a credential's
  ``credentialStatus``.
- :func:`read_status` and :class:`StatusReading` – the status of one entry in one list.
- :class:`StatusListError` – every bad input, with a reason in plain words.
- :data:`PURPOSES`, :data:`MIN_ENTRIES`, :data:`MAX_DECOMPRESSED_BYTES`.

Layout (spec §"encodedList"): entry ``i`` occupies bits ``i*status_size`` to
``(i+1)*status_size - 1``; bit 0 is the most significant bit of byte 0 (the left-most bit), and
a multi-bit entry is read most significant bit first.

Where the spec text and the VC 2.0 context disagree we follow the context, because the context
decides what a signature covers: ``statusSize`` and ``statusMessage`` are defined for
``BitstringStatusListEntry`` only (w3c/vc-bitstring-status-list#175), so they live on the entry,
inside the signed credential, and never on the list's ``credentialSubject``, where RDF
canonicalisation would drop them from the signature.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certreg.keys.errors import CertregError

__all__ = [
    "CERTIFICATE_STATUS_MESSAGES",
    "MAX_DECOMPRESSED_BYTES",
    "MAX_ENCODED_CHARS",
    "MAX_STATUS_SIZE",
    "MIN_ENTRIES",
    "PURPOSES",
    "Bitstring",
    "StatusListError",
    "StatusReading",
    "read_status",
    "status_list_credential",
    "status_list_entry",
]

PURPOSES = ("revocation", "suspension", "refresh", "message")

#: The spec's minimum list size (16 KB of 1-bit entries). A list is only as private as it is
#: large: whoever fetches it learns nothing about *which* credential a verifier checks, and an
#: observer of the list cannot tell how many credentials the issuer has, only if the list is
#: much larger than the number of entries in use (see docs/status-lists.md).
MIN_ENTRIES = 131_072

#: Largest bitstring we will decompress (16 MiB = 134,217,728 one-bit entries, 1,024 times the
#: minimum). A hostile list server can send a few kilobytes that inflate to gigabytes; we stop
#: inflating one byte past this bound instead of trusting the GZIP trailer's length field.
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024

# A GZIP member of incompressible data is at most ~0.03% larger than its input, plus a header
# and trailer; 64 KiB of slack covers that. base64 turns 3 bytes into 4 characters.
_MAX_COMPRESSED_BYTES = MAX_DECOMPRESSED_BYTES + 64 * 1024
#: Longest ``encodedList`` (characters, including the ``u`` prefix) we will look at.
MAX_ENCODED_CHARS = 1 + (4 * _MAX_COMPRESSED_BYTES + 2) // 3

#: certreg reads entries of 1 to 8 bits. The spec sets no upper bound, but a ``message`` entry
#: must list one ``statusMessage`` per possible value: 256 at 8 bits, 65,536 at 16.
MAX_STATUS_SIZE = 8

#: gzip level for encode(): level 9 was measured 13x slower on sparse random bits for ~15%
#: smaller output (bench/bench_statuslist.py); status lists are re-encoded on every change.
_DEFAULT_LEVEL = 6

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_DECIMAL = re.compile(r"[0-9]{1,40}")  # ASCII digits only: int() would also take "١", " 7", "1_0"
_HEX_STATUS = re.compile(r"0x[0-9a-fA-F]{1,16}")
_GZIP_MAGIC = b"\x1f\x8b"
_NONZERO_BYTE = re.compile(rb"[^\x00]")
# RFC 1952 allows concatenated members; real lists have one. The cap stops a list made of
# a million empty members from costing a million decompressor set-ups.
_MAX_GZIP_MEMBERS = 64
# Inflate at most this much per call: the memory a hostile list costs is the limit plus this.
_INFLATE_STEP = 1 << 20


class StatusListError(CertregError, ValueError):
    """A status list, an entry or an argument is unusable; the message says why."""


# --------------------------------------------------------------------------------------------
# The bitstring


class Bitstring:
    """A list of ``entries`` status values of ``status_size`` bits each, all 0 at first.

    ``Bitstring()`` refuses fewer than :data:`MIN_ENTRIES` entries unless ``allow_small=True``:
    a small list tells every observer roughly how many credentials exist and narrows down whose
    status a verifier is checking (herd privacy). ``allow_small`` exists for tests and
    examples. :meth:`decode` accepts any size, since lists issued by others are what they are;
    :func:`read_status` applies the spec's minimum to them.
    """

    __slots__ = ("_bits", "_entries", "_mask", "_status_size")

    def __init__(
        self, entries: int = MIN_ENTRIES, status_size: int = 1, *, allow_small: bool = False
    ) -> None:
        status_size = _check_status_size(status_size, "status_size")
        if not _is_int(entries) or entries < 1:
            raise StatusListError(f"entries must be a positive whole number, not {_show(entries)}")
        if entries < MIN_ENTRIES and not allow_small:
            raise StatusListError(
                f"a status list needs at least {MIN_ENTRIES} entries for herd privacy "
                f"({entries} requested); pass allow_small=True only in tests"
            )
        total_bits = entries * status_size
        if total_bits % 8:
            raise StatusListError(
                f"{entries} entries of {status_size} bits do not fill whole bytes; "
                "choose a number of entries that does"
            )
        if total_bits // 8 > MAX_DECOMPRESSED_BYTES:
            raise StatusListError(
                f"{entries} entries of {status_size} bits exceed the largest list certreg "
                f"reads back ({MAX_DECOMPRESSED_BYTES} bytes)"
            )
        self._init(bytearray(total_bits // 8), status_size)

    def _init(self, bits: bytearray, status_size: int) -> None:
        self._bits = bits
        self._status_size = status_size
        self._entries = len(bits) * 8 // status_size
        self._mask = (1 << status_size) - 1

    # -- reading and writing -------------------------------------------------------------

    @property
    def entries(self) -> int:
        return self._entries

    @property
    def status_size(self) -> int:
        return self._status_size

    def __len__(self) -> int:
        return self._entries

    def get(self, index: int) -> int:
        """The value of entry ``index`` (0 … 2**status_size - 1)."""
        self._check_index(index)
        bits = self._bits
        if self._status_size == 1:
            return (bits[index >> 3] >> (7 - (index & 7))) & 1
        offset = index * self._status_size
        pos = offset >> 3
        # An entry of at most 8 bits spans at most two bytes: read them as one 16-bit word.
        word = (bits[pos] << 8) | (bits[pos + 1] if pos + 1 < len(bits) else 0)
        return (word >> (16 - (offset & 7) - self._status_size)) & self._mask

    def set(self, index: int, value: int) -> None:
        """Set entry ``index`` to ``value``, which must fit in ``status_size`` bits."""
        self._check_index(index)
        if not _is_int(value) or not 0 <= value <= self._mask:
            raise StatusListError(
                f"value {_show(value)} does not fit an entry of {self._status_size} bit(s) "
                f"(0 to {self._mask})"
            )
        bits = self._bits
        if self._status_size == 1:
            bit = 0x80 >> (index & 7)
            if value:
                bits[index >> 3] |= bit
            else:
                bits[index >> 3] &= ~bit & 0xFF
            return
        offset = index * self._status_size
        pos = offset >> 3
        has_next = pos + 1 < len(bits)
        word = (bits[pos] << 8) | (bits[pos + 1] if has_next else 0)
        shift = 16 - (offset & 7) - self._status_size
        word = (word & ~(self._mask << shift)) | (value << shift)
        bits[pos] = word >> 8
        if has_next:
            bits[pos + 1] = word & 0xFF

    def _check_index(self, index: int) -> None:
        if not _is_int(index):
            raise StatusListError(f"an index must be a whole number, not {_show(index)}")
        if not 0 <= index < self._entries:
            raise StatusListError(f"index {index} is outside the list ({self._entries} entries)")

    def nonzero(self) -> Iterator[int]:
        """The indices whose value is not 0, in increasing order (skips zero bytes fast)."""
        size = self._status_size
        bits = self._bits
        last = -1  # an entry straddling two non-zero bytes must be reported once
        # The regex engine skips runs of zero bytes in C, which is what makes this fast.
        for match in _NONZERO_BYTE.finditer(bits):
            pos = match.start()
            if size == 1:
                byte = bits[pos]
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        yield pos * 8 + bit
                continue
            first = max(pos * 8 // size, last + 1)
            for index in range(first, min((pos * 8 + 7) // size, self._entries - 1) + 1):
                if self.get(index):
                    last = index
                    yield index

    def to_bytes(self) -> bytes:
        """The uncompressed bitstring."""
        return bytes(self._bits)

    @classmethod
    def from_bytes(cls, data: bytes, status_size: int = 1) -> Bitstring:
        """A bitstring over ``data`` (uncompressed), of any size; see :meth:`decode`."""
        status_size = _check_status_size(status_size, "status_size")
        if not data:
            raise StatusListError("the status list is empty")
        if len(data) > MAX_DECOMPRESSED_BYTES:
            raise StatusListError(
                f"the status list is larger than {MAX_DECOMPRESSED_BYTES} bytes uncompressed"
            )
        if (len(data) * 8) % status_size:
            raise StatusListError(
                f"the status list holds {len(data) * 8} bits, which is not a whole number "
                f"of {status_size}-bit entries"
            )
        new = cls.__new__(cls)
        new._init(bytearray(data), status_size)
        return new

    # -- encodedList ---------------------------------------------------------------------

    def encode(self, *, compresslevel: int = _DEFAULT_LEVEL) -> str:
        """The ``encodedList`` value: ``u`` + base64url (no padding) of the GZIP bitstring.

        ``mtime=0`` makes the output a function of the bits alone, so an unchanged list
        republishes byte for byte (stable ETags, reproducible bundles). An empty 131,072-entry
        list encodes exactly to the spec's example value. ``compresslevel`` is there for the
        benchmark; keep the default.
        """
        compressed = gzip.compress(bytes(self._bits), compresslevel=compresslevel, mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, encoded: str, status_size: int = 1) -> Bitstring:
        """Read an ``encodedList`` value issued by anyone, refusing hostile or broken input.

        Any list of at least one entry is accepted here; the size is bounded by
        :data:`MAX_DECOMPRESSED_BYTES` (checked while inflating, so a GZIP bomb costs at most
        that much memory) and the input by :data:`MAX_ENCODED_CHARS`.
        """
        status_size = _check_status_size(status_size, "status_size")
        return cls.from_bytes(_expand(encoded), status_size)

    # -- conveniences --------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bitstring):
            return NotImplemented
        return self._status_size == other._status_size and self._bits == other._bits

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Bitstring(entries={self._entries}, status_size={self._status_size})"


#: Decoded lists kept for reuse, in total bytes. A count alone (32 lists) let anyone who can
#: sign a list (any did:key issuer, through the public verify page) park 32 lists of 16 MiB,
#: half a gigabyte, in a server's memory.
_DECODED_BUDGET = 64 * 1024 * 1024
_DECODED_MAX_LISTS = 32
_decoded_lists: OrderedDict[tuple[str, int], Bitstring] = OrderedDict()
_decoded_bytes = 0
_decoded_lock = threading.Lock()


def _decoded(encoded: str, status_size: int) -> Bitstring:
    """Decoded lists, kept: a verifier reads the same cached list for every credential it
    checks, and inflating 16 KiB each time was a tenth of a verification. Callers only read
    the result (read_status never sets a bit). A cache hit hashes the string once: Python
    keeps a str's hash, and the cached list credential keeps the same str object. The cache
    holds at most :data:`_DECODED_BUDGET` bytes, least recently used first out."""
    global _decoded_bytes
    key = (encoded, status_size)
    with _decoded_lock:
        hit = _decoded_lists.get(key)
        if hit is not None:
            _decoded_lists.move_to_end(key)
            return hit
    bits = Bitstring.decode(encoded, status_size)
    size = len(bits._bits)
    with _decoded_lock:
        if key not in _decoded_lists and size <= _DECODED_BUDGET:
            _decoded_lists[key] = bits
            _decoded_bytes += size
            while _decoded_bytes > _DECODED_BUDGET or len(_decoded_lists) > _DECODED_MAX_LISTS:
                _, evicted = _decoded_lists.popitem(last=False)
                _decoded_bytes -= len(evicted._bits)
    return bits


def _expand(encoded: object) -> bytes:
    """Multibase base64url ``u…`` → GZIP → the raw bitstring, with every bound enforced."""
    if not isinstance(encoded, str):
        raise StatusListError(f"encodedList must be a string, not {type(encoded).__name__}")
    if not encoded:
        raise StatusListError("encodedList is empty")
    if len(encoded) > MAX_ENCODED_CHARS:
        raise StatusListError(
            f"encodedList is {len(encoded)} characters long, more than the "
            f"{MAX_ENCODED_CHARS} a {MAX_DECOMPRESSED_BYTES}-byte list can need"
        )
    if encoded[0] != "u":
        raise StatusListError(
            f"encodedList must start with 'u' (multibase base64url), not {_show(encoded[0])}"
        )
    body = encoded[1:]
    # The spec says base64url *without padding*; refuse '=' and every other stray character
    # rather than let the decoder skip them.
    if not _BASE64URL.fullmatch(body):
        raise StatusListError(
            "encodedList is not valid base64url: only A-Z a-z 0-9 - _ are allowed, "
            "without '=' padding"
        )
    if len(body) % 4 == 1:
        raise StatusListError("encodedList is not valid base64url: its length is impossible")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the checks above cover it
        raise StatusListError(f"encodedList is not valid base64url ({exc})") from None
    return _gunzip_bounded(compressed, MAX_DECOMPRESSED_BYTES)


def _gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Decompress every GZIP member of ``data``; refuse more than ``limit`` bytes of output."""
    if not data.startswith(_GZIP_MAGIC):
        raise StatusListError("the status list is not valid GZIP data (wrong header)")
    out = bytearray()
    rest = data
    try:
        # RFC 1952 allows several concatenated members; read them all, within one budget.
        members = 0
        while rest:
            members += 1
            if members > _MAX_GZIP_MEMBERS:
                raise StatusListError(
                    f"the status list has more than {_MAX_GZIP_MEMBERS} GZIP members"
                )
            if not rest.startswith(_GZIP_MAGIC):
                raise StatusListError(
                    "the status list is not valid GZIP data (unexpected bytes after the end)"
                )
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            pending = rest
            while pending and not inflater.eof:
                budget = limit - len(out)
                # Ask for one byte more than allowed, so "exactly at the limit" and "over it"
                # can be told apart without inflating anything else; and at most a step at a
                # time, so a bomb never holds the limit twice over (output + one huge piece).
                out += inflater.decompress(pending, min(budget + 1, _INFLATE_STEP))
                if len(out) > limit:
                    raise StatusListError(
                        f"the status list is larger than {limit} bytes uncompressed; refusing "
                        "it (a list that large is either broken or a decompression bomb)"
                    )
                pending = inflater.unconsumed_tail
            if not inflater.eof:
                raise StatusListError("the status list is not valid GZIP data (it is truncated)")
            rest = inflater.unused_data
    except zlib.error as exc:
        raise StatusListError(f"the status list is not valid GZIP data ({exc})") from None
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Credential and entry


def status_list_credential(
    *,
    id: str,
    issuer: str | dict,
    purpose: str,
    bitstring: Bitstring,
    valid_from: str,
    valid_until: str | None = None,
    ttl_ms: int | None = None,
    status_messages: list[dict] | None = None,
) -> dict:
    """An unsigned VC 2.0 ``BitstringStatusListCredential`` publishing ``bitstring``.

    ``id`` is the URL the list is served from (the entries' ``statusListCredential``); the
    subject is ``<id>#list``. Sign the result with verifier.dataintegrity before publishing.

    ``status_messages`` is checked against the bitstring (one message per possible value) but
    is *not* written into the list: the VC 2.0 context defines ``statusMessage`` and
    ``statusSize`` only on ``BitstringStatusListEntry``, so on the list they would be left out
    of the signature. Put them on each entry with :func:`status_list_entry`.
    """
    _check_nonempty_str(id, "id")
    if "#" in id:
        raise StatusListError(f"id must be the list's URL without a fragment, not {_show(id)}")
    if isinstance(issuer, Mapping):
        _check_nonempty_str(issuer.get("id"), "issuer id")
        issuer_value: str | dict = dict(issuer)
    else:
        _check_nonempty_str(issuer, "issuer")
        issuer_value = issuer
    _check_purpose(purpose)
    if not isinstance(bitstring, Bitstring):
        raise StatusListError(f"bitstring must be a Bitstring, not {type(bitstring).__name__}")
    _check_size_and_purpose(bitstring.status_size, purpose)
    if status_messages is not None:
        _parse_messages(status_messages, bitstring.status_size)
    start = _parse_datetime(valid_from, "valid_from")
    if valid_until is not None:
        end = _parse_datetime(valid_until, "valid_until")
        if end <= start:
            raise StatusListError(
                f"valid_until {valid_until} must be later than valid_from {valid_from}"
            )
    if ttl_ms is not None and (not _is_int(ttl_ms) or ttl_ms < 0):
        raise StatusListError(
            f"ttl_ms must be a whole number of milliseconds ≥ 0, not {_show(ttl_ms)}"
        )

    subject: dict[str, Any] = {
        "id": f"{id}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": bitstring.encode(),
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_value,
        "validFrom": valid_from,
    }
    if valid_until is not None:
        credential["validUntil"] = valid_until
    credential["credentialSubject"] = subject
    return credential


def status_list_entry(
    *,
    list_credential_url: str,
    index: int,
    purpose: str,
    status_size: int = 1,
    status_messages: list[dict] | None = None,
) -> dict:
    """A ``BitstringStatusListEntry`` for a credential's ``credentialStatus``.

    ``statusListIndex`` is written as a base-10 string, as the spec requires. ``statusSize`` is
    written only when it is not 1 (absent means 1). Entries of more than one bit must have the
    ``message`` purpose and one ``status_messages`` item per possible value, e.g.
    ``[{"status": "0x0", "message": "valid"}, {"status": "0x1", ...}, ...]``.
    """
    _check_nonempty_str(list_credential_url, "list_credential_url")
    if "#" in list_credential_url:
        raise StatusListError(
            "list_credential_url must not have a fragment: the entry id is <url>#<index>"
        )
    if not _is_int(index) or index < 0:
        raise StatusListError(f"index must be a whole number ≥ 0, not {_show(index)}")
    _check_purpose(purpose)
    status_size = _check_status_size(status_size, "status_size")
    _check_size_and_purpose(status_size, purpose)
    if status_size > 1 and status_messages is None:
        raise StatusListError(
            f"an entry of {status_size} bits needs status_messages (one per possible value)"
        )
    entry: dict[str, Any] = {
        "id": f"{list_credential_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_credential_url,
    }
    if status_size != 1:
        entry["statusSize"] = status_size
    if status_messages is not None:
        _parse_messages(status_messages, status_size)
        entry["statusMessage"] = [dict(m) for m in status_messages]
    return entry


#: The ``statusMessage`` table of a certreg certificate's one ``message`` entry (``statusSize``
#: 2): the low bit is the suspension (cleared on reinstatement), the high bit the withdrawal
#: (never cleared), so "withdrawn" wins over "suspended". A single entry is what the Open Badges
#: 3.0 JSON Schema allows (``credentialStatus`` is one object); see docs/credential.md.
CERTIFICATE_STATUS_MESSAGES: tuple[dict[str, str], ...] = (
    {"status": "0x0", "message": "valid"},
    {"status": "0x1", "message": "suspended"},
    {"status": "0x2", "message": "withdrawn"},
    {"status": "0x3", "message": "withdrawn"},
)


# --------------------------------------------------------------------------------------------
# Reading a status


@dataclass(frozen=True)
class StatusReading:
    """One entry's status: ``value`` 0 means "not set" (not revoked, not suspended).

    ``message`` is the entry's ``statusMessage`` text for ``value`` when the entry has
    messages, else None (the spec's implied messages are "unset" for 0 and "set" for 1).
    """

    purpose: str
    value: int
    message: str | None


def read_status(
    list_credential: Mapping, entry: Mapping, *, minimum_entries: int = MIN_ENTRIES
) -> StatusReading:
    """The status of ``entry`` (a ``BitstringStatusListEntry``) in ``list_credential``.

    Checks the entry (type, known ``statusPurpose``, ``statusListIndex`` a base-10 string of a
    non-negative integer – a JSON integer is accepted too, for lenience towards issuers who
    write one, although the spec says string – ``statusSize`` 1 to 8 and its
    ``statusMessage``), the list credential's shape (type ``BitstringStatusListCredential``,
    ``id`` present and equal to the entry's ``statusListCredential``, one credential subject of
    type ``BitstringStatusList`` whose ``statusPurpose`` includes the entry's, an
    ``encodedList`` that decodes to a whole number of entries), the spec's minimum list size
    (``minimum_entries``, 131,072; lower it only for an ecosystem that sets a lower bound) and
    the index range, then reads the value.

    It does NOT verify the list credential's proof, its issuer, or its validity period, and
    does not fetch anything: the caller (the verifier) must have done that, or the reading
    means nothing. Any failure raises :class:`StatusListError` with the reason.
    """
    if not _is_int(minimum_entries) or minimum_entries < 1:
        raise StatusListError("minimum_entries must be a positive whole number")
    if not isinstance(entry, Mapping):
        raise StatusListError("the credentialStatus entry must be a JSON object")
    if not _has_type(entry.get("type"), "BitstringStatusListEntry"):
        raise StatusListError(
            f"the credentialStatus entry has type {_show(entry.get('type'))}, "
            "not BitstringStatusListEntry"
        )
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise StatusListError(
            f"the entry's statusPurpose {_show(purpose)} is not one of {', '.join(PURPOSES)}"
        )
    index = _parse_index(entry.get("statusListIndex"))
    list_url = entry.get("statusListCredential")
    if not isinstance(list_url, str) or not list_url:
        raise StatusListError("the entry's statusListCredential must be a URL string")
    size_value = entry.get("statusSize", 1)
    if not _is_int(size_value) or not 1 <= size_value <= MAX_STATUS_SIZE:
        raise StatusListError(
            f"the entry's statusSize {_show(size_value)} is not supported "
            f"(certreg reads whole numbers from 1 to {MAX_STATUS_SIZE})"
        )
    status_size: int = size_value
    _check_size_and_purpose(status_size, purpose, where="the entry's ")
    messages: dict[int, str] | None = None
    if "statusMessage" in entry:
        messages = _parse_messages(entry["statusMessage"], status_size, where="the entry's ")
    elif status_size > 1:
        raise StatusListError(
            f"the entry has statusSize {status_size} but no statusMessage; the spec requires "
            "one message per possible value"
        )

    if not isinstance(list_credential, Mapping):
        raise StatusListError("the status list credential must be a JSON object")
    if not _has_type(list_credential.get("type"), "BitstringStatusListCredential"):
        raise StatusListError(
            "the status list credential's type does not include BitstringStatusListCredential"
        )
    list_id = list_credential.get("id")
    if list_id is None:
        # Without its own id, a signed list for another URL (say, an all-zero one) could be
        # served here and nothing signed would say it is not this entry's list.
        raise StatusListError(
            "the status list credential does not say which list it is (it has no id), so it "
            f"cannot be shown to be the list at {_show(list_url)}"
        )
    if list_id != list_url:
        # Otherwise a valid, signed list for another URL (say, an all-zero one) could be
        # passed off as this entry's list.
        raise StatusListError(
            f"the status list credential is {_show(list_id)}, "
            f"but the entry points to {_show(list_url)}"
        )
    subject = list_credential.get("credentialSubject")
    if isinstance(subject, list):
        if len(subject) != 1:
            raise StatusListError(
                "the status list credential must have exactly one credentialSubject "
                f"(it has {len(subject)})"
            )
        subject = subject[0]
    if not isinstance(subject, Mapping):
        raise StatusListError("the status list credential has no credentialSubject object")
    if not _has_type(subject.get("type"), "BitstringStatusList", allow_list=False):
        raise StatusListError(
            f"the status list's credentialSubject has type {_show(subject.get('type'))}, "
            "not BitstringStatusList"
        )
    list_purposes = subject.get("statusPurpose")
    if isinstance(list_purposes, str):
        list_purposes = [list_purposes]
    if (
        not isinstance(list_purposes, list)
        or not list_purposes
        or not all(isinstance(p, str) for p in list_purposes)
    ):
        raise StatusListError("the status list's statusPurpose must be one or more strings")
    if purpose not in list_purposes:
        raise StatusListError(
            f"the entry's statusPurpose is {_show(purpose)} but the list is for "
            f"{_show(list_purposes)}"
        )
    # Older drafts put statusSize on the list. It is not signed there under the VC 2.0
    # context, so it can only make us refuse, never change how we read.
    if "statusSize" in subject and subject["statusSize"] != status_size:
        raise StatusListError(
            f"the list says statusSize {_show(subject['statusSize'])} "
            f"but the entry says {status_size}"
        )
    if "encodedList" not in subject:
        raise StatusListError("the status list has no encodedList")
    encoded = subject["encodedList"]
    if not isinstance(encoded, str):  # before the cache, which needs a hashable key
        raise StatusListError(f"encodedList must be a string, not {type(encoded).__name__}")
    bitstring = _decoded(encoded, status_size)
    if bitstring.entries < minimum_entries:
        raise StatusListError(
            f"the status list has {bitstring.entries} entries, fewer than the "
            f"{minimum_entries} the spec requires (STATUS_LIST_LENGTH_ERROR)"
        )
    if index >= bitstring.entries:
        raise StatusListError(
            f"statusListIndex {index} is outside the list ({bitstring.entries} entries)"
        )
    value = bitstring.get(index)
    return StatusReading(
        purpose=purpose, value=value, message=messages[value] if messages else None
    )


# --------------------------------------------------------------------------------------------
# Small checks


def _show(value: object) -> str:
    """repr() for error messages, cut short: the values come from documents anyone can write."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as an index or a size is a bug, not a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _has_type(value: object, wanted: str, *, allow_list: bool = True) -> bool:
    if isinstance(value, str):
        return value == wanted
    if allow_list and isinstance(value, list):
        return wanted in value
    if isinstance(value, list) and len(value) == 1:
        return value[0] == wanted
    return False


def _check_nonempty_str(value: object, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise StatusListError(f"{name} must be a non-empty string, not {_show(value)}")


def _check_purpose(purpose: object) -> None:
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise StatusListError(f"purpose {_show(purpose)} is not one of {', '.join(PURPOSES)}")


def _check_status_size(value: object, name: str) -> int:
    if not _is_int(value) or not 1 <= value <= MAX_STATUS_SIZE:  # type: ignore[operator]
        raise StatusListError(
            f"{name} must be a whole number from 1 to {MAX_STATUS_SIZE}, not {_show(value)}"
        )
    return value  # type: ignore[return-value]


def _check_size_and_purpose(status_size: int, purpose: str, where: str = "") -> None:
    # revocation and suspension are yes/no questions; only "message" has more answers.
    if status_size > 1 and purpose != "message":
        raise StatusListError(
            f"{where}statusSize {status_size} needs the purpose 'message', not {_show(purpose)}"
        )


def _parse_index(value: object) -> int:
    if _is_int(value):
        index = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        index = int(value)
    else:
        raise StatusListError(
            f"statusListIndex must be a base-10 string of a whole number ≥ 0, not {_show(value)}"
        )
    if index < 0:  # type: ignore[operator]
        raise StatusListError(f"statusListIndex {index} is negative")
    return index  # type: ignore[return-value]


def _parse_messages(messages: object, status_size: int, where: str = "") -> dict[int, str]:
    """``statusMessage`` → {value: message}; exactly one item per possible value."""
    count = 1 << status_size
    if not isinstance(messages, list):
        raise StatusListError(f"{where}statusMessage must be a list of objects")
    if len(messages) != count:
        raise StatusListError(
            f"{where}statusMessage has {len(messages)} items but a {status_size}-bit status "
            f"has {count} possible values; the spec requires one message for each"
        )
    result: dict[int, str] = {}
    for item in messages:
        if not isinstance(item, Mapping):
            raise StatusListError(f"{where}statusMessage items must be objects, not {_show(item)}")
        status, message = item.get("status"), item.get("message")
        if not isinstance(status, str) or not _HEX_STATUS.fullmatch(status):
            raise StatusListError(
                f"{where}statusMessage status {_show(status)} must be a hexadecimal string "
                "like '0x2'"
            )
        if not isinstance(message, str):
            raise StatusListError(f"{where}statusMessage for {status} must have a message string")
        value = int(status, 16)
        if value >= count:
            raise StatusListError(
                f"{where}statusMessage status {status} does not fit in {status_size} bit(s)"
            )
        if value in result:
            raise StatusListError(f"{where}statusMessage lists status {status} twice")
        result[value] = message
    return result


def _parse_datetime(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise StatusListError(f"{name} must be an XML Schema dateTimeStamp string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value.upper():
        raise StatusListError(
            f"{name} {_show(value)} is not a date and time with a time zone, "
            "like 2025-01-31T12:00:00Z"
        )
    return parsed
