"""What one entry of a certification body's log says: one signed certificate or one lifecycle
decision, and nothing private (issue 13; docs/transparency.md).

An entry is the JCS (RFC 8785) serialisation of a small JSON object, so that anyone can read it
with any JSON parser and anyone can rebuild its exact bytes::

    {"at":"2026-03-12T09:30:00Z","cert":"9f2c…","credential":"41ab…","event":"c0de…",
     "kind":"grant","number":"CWI-7K3M-9QX2-4","scheme":"cwi","v":1}

- ``v``: the format, 1.
- ``kind``: the decision (:data:`KINDS`): ``grant`` signs the first certificate;
  ``recertify``, ``extend_scope``, ``reduce_scope`` and ``correct`` sign a new one; ``suspend``,
  ``reinstate``, ``withdraw`` and ``expire`` change its status only.
- ``at``: when it took effect (UTC, seconds, ``Z``), as the audit chain records it.
- ``scheme``: the scheme's id.
- ``cert``: the certification's stable, pseudonymous id: the SHA-256 (hex) of the first
  credential signed for it (its grant). Every later entry of the same certification carries
  the same ``cert``, so a holder who has any of its credentials finds all of its history, and
  nobody can list the body's certificates from the log alone.
- ``credential``: the SHA-256 (hex) of the credential signed by this decision, exactly as
  issued (its JSON bytes); absent for decisions that sign nothing.
- ``number``: the certificate number, only when the scheme publishes its holders in the
  register's directory (where the number is public already); absent otherwise, because a
  number opens its certificate's page and a log of numbers would list every holder.
- ``event``: the SHA-256 (hex) of the audit-chain event that records the decision
  (``audit.Event.hash``), which ties the entry to the body's own books.
- ``scope`` (signing kinds only, optional): the codes of the scope items the signed credential
  holds, sorted by code point: the scope in force after the decision. Codes are the scheme's
  public item codes (``UT2``), printed on every credential of the scheme; the items'
  *conditions* are not here (free text, which can be personal: "with corrective lenses").
- ``until`` (signing kinds only, optional): the credential's date of expiry (the UTC day of
  its ``validUntil``, ``YYYY-MM-DD``): the expiry in force after the decision.

``scope`` and ``until`` make the log alone enough to say what a certification covered and until
when at any instant since its grant (the signing decisions are the only ones that change
them; a suspension or withdrawal leaves both as the last signing entry set them). Entries
written before these fields existed have neither: both are optional, and the parser accepts
an entry with or without them.

Nothing else: no name, no e-mail, no reason (a suspension's reason can be personal).
:func:`parse_entry` is strict, so that ``certreg log verify`` can say that every entry of a log
is well formed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import rfc8785

from certreg.verifier.tlog.errors import TlogError

__all__ = [
    "KINDS",
    "SIGNING_KINDS",
    "Entry",
    "EntryError",
    "credential_hash",
    "parse_entry",
]

#: Decisions that sign a new credential (its hash is in the entry) and those that do not.
SIGNING_KINDS = frozenset({"grant", "recertify", "extend_scope", "reduce_scope", "correct"})
KINDS = SIGNING_KINDS | {"suspend", "reinstate", "withdraw", "expire"}

#: An entry is small: a bound on what a reader parses (``scope`` at its largest fits).
MAX_ENTRY_BYTES = 8192

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_SCHEME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,63}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELDS = {"v", "kind", "at", "scheme", "cert", "credential", "number", "event", "scope", "until"}
#: Bounds on ``scope``: items a certification holds, and a code's length.
MAX_SCOPE_ITEMS = 64
MAX_CODE_CHARS = 64


class EntryError(TlogError):
    """The bytes are not an entry of this format; the message says why."""


def credential_hash(credential: bytes | str | dict[str, Any]) -> str:
    """SHA-256 (hex) of a credential as issued: its bytes, or a dict serialised with JCS (the
    form the issuer stores and serves)."""
    if isinstance(credential, dict):
        data = rfc8785.dumps(credential)
    elif isinstance(credential, str):
        data = credential.encode("utf-8")
    else:
        data = credential
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    kind: str
    at: str
    scheme: str
    cert: str
    event: str
    credential: str | None = None
    number: str | None = None
    scope: tuple[str, ...] | None = None
    until: str | None = None
    v: int = 1

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise EntryError(problem)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "v": self.v,
            "kind": self.kind,
            "at": self.at,
            "scheme": self.scheme,
            "cert": self.cert,
            "event": self.event,
        }
        if self.credential is not None:
            data["credential"] = self.credential
        if self.number is not None:
            data["number"] = self.number
        if self.scope is not None:
            data["scope"] = list(self.scope)
        if self.until is not None:
            data["until"] = self.until
        return data

    def to_bytes(self) -> bytes:
        """The entry as logged: JCS, so its bytes are the same wherever it is rebuilt.

        Every field was checked to be a small integer or ASCII letters, digits and ``-:``, for
        which sorted compact JSON *is* JCS (no escapes, no numbers to reformat); the standard
        library writes it ten times faster than a general JCS encoder, which matters when an
        audit re-serialises a million entries (a test compares the two). A scope code outside
        ASCII goes through the general encoder (JCS writes it as UTF-8, unescaped)."""
        if self.scope is not None and not all(code.isascii() for code in self.scope):
            return bytes(rfc8785.dumps(self.to_json()))
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode("ascii")


def _problem(entry: Entry) -> str | None:
    if type(entry.v) is not int or entry.v != 1:
        return f"entry format {entry.v!r} is not 1"
    if entry.kind not in KINDS:
        return f"kind {entry.kind!r} is not one of {', '.join(sorted(KINDS))}"
    if not isinstance(entry.at, str) or not _AT.match(entry.at):
        return f"at {entry.at!r} is not a UTC time like 2026-03-12T09:30:00Z"
    if not isinstance(entry.scheme, str) or not _SCHEME.match(entry.scheme):
        return f"scheme {entry.scheme!r} is not a scheme id"
    for name in ("cert", "event"):
        value = getattr(entry, name)
        if not isinstance(value, str) or not _HEX64.match(value):
            return f"{name} is not a SHA-256 in lower-case hex"
    if entry.kind in SIGNING_KINDS:
        if not isinstance(entry.credential, str) or not _HEX64.match(entry.credential):
            return f"a {entry.kind} entry needs the SHA-256 of the credential it signed"
    elif entry.credential is not None:
        return f"a {entry.kind} entry signs no credential, but names one"
    if entry.kind == "grant" and entry.credential != entry.cert:
        return "a grant's cert is the hash of the credential it signed"
    if entry.number is not None and (
        not isinstance(entry.number, str) or not _NUMBER.match(entry.number)
    ):
        return f"number {entry.number!r} is not a certificate number"
    return _state_problem(entry)


def _state_problem(entry: Entry) -> str | None:
    """What is wrong with ``scope`` and ``until``, the state a signing decision left."""
    if entry.kind not in SIGNING_KINDS and (entry.scope is not None or entry.until is not None):
        return f"a {entry.kind} entry signs nothing, so it sets no scope and no expiry"
    if entry.scope is not None:
        codes = entry.scope
        if not isinstance(codes, tuple) or not all(isinstance(c, str) for c in codes):
            return "scope is a list of scope item codes"
        if len(codes) > MAX_SCOPE_ITEMS:
            return f"scope names more than {MAX_SCOPE_ITEMS} items"
        if any(not c or len(c) > MAX_CODE_CHARS or not c.isprintable() for c in codes):
            return f"a scope code is 1 to {MAX_CODE_CHARS} printable characters"
        if list(codes) != sorted(set(codes)):
            return "scope's codes are sorted and each appears once"
    if entry.until is not None:
        if not isinstance(entry.until, str) or not _DAY.match(entry.until):
            return f"until {entry.until!r} is not a day like 2029-03-12"
        try:
            date.fromisoformat(entry.until)
        except ValueError:
            return f"until {entry.until!r} is not a day of the calendar"
    return None


def parse_entry(data: bytes) -> Entry:
    """The entry in ``data``, which must be exactly its JCS form; :class:`EntryError` says
    what is wrong otherwise (never another exception)."""
    if not isinstance(data, bytes | bytearray):
        raise EntryError("an entry is bytes")
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError(f"an entry is at most {MAX_ENTRY_BYTES} bytes; this one is {len(data)}")
    try:
        value = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EntryError("an entry is a JSON object in UTF-8; this is not JSON") from None
    if not isinstance(value, dict):
        raise EntryError("an entry is a JSON object")
    unknown = set(value) - _FIELDS
    if unknown:
        raise EntryError(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    missing = {"v", "kind", "at", "scheme", "cert", "event"} - set(value)
    if missing:
        raise EntryError(f"missing field(s): {', '.join(sorted(missing))}")
    if isinstance(value.get("scope"), list):
        value["scope"] = tuple(value["scope"])
    try:
        entry = Entry(**value)
    except TypeError:
        raise EntryError("an entry's fields have the wrong types") from None
    if entry.to_bytes() != bytes(data):
        raise EntryError("the entry is not in its canonical form (JCS, RFC 8785)")
    return entry
