"""The audit chain: every event of the issuer, appended to a hash-chained log in issuer.db.

Each row of ``events`` carries the hash of the row before it, and its own hash covers its
content *and its position* (``seq``)::

    hash = sha256(JCS({"seq", "at", "kind", "actor", "subject", "payload", "prev_hash"}))

so a row edited, deleted, swapped with another, or slipped in between two others no longer
fits (:func:`verify` names it). Triggers make UPDATE and DELETE fail through SQLite; the hashes
catch what was changed behind SQLite's back (an attacker with the file drops the triggers).

A chain alone cannot catch someone who rewrites it *from a row to the end*, recomputing every
hash, nor the plain removal of the newest rows: hashes are not secrets. That is what
checkpoints are for: :func:`checkpoint` signs the head (seq, count, head hash, time) with the
body's key; once a checkpoint has been published somewhere the attacker cannot reach (the
public register), a rewritten or shortened chain contradicts it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from certreg.issuer.db import transaction
from certreg.keys.did import KeyRecord
from certreg.keys.errors import CertregError
from certreg.keys.keypair import PublicKey
from certreg.keys.multikey import MultikeyError, decode_public_key
from certreg.verifier.issuing import (
    KeyLookup,
    ProofError,
    Signer,
    add_proof,
    jcs,
    parse_datetime,
    verify_proofs,
)

__all__ = [
    "CHECKPOINT_TYPE",
    "GENESIS",
    "AuditError",
    "AuditReport",
    "Event",
    "append",
    "checkpoint",
    "event_hash",
    "events",
    "key_history_lookup",
    "verify",
]

GENESIS = "0" * 64
CHECKPOINT_TYPE = "CertregAuditCheckpoint"

# A table of garbage must not turn into a million-line report (or a million strings in memory).
MAX_PROBLEMS = 1000
_SHORT = 16  # hex digits of a hash shown in messages: enough to tell two apart by eye


class AuditError(CertregError):
    """An event or checkpoint cannot be recorded (bad input, empty chain)."""


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    kind: str
    actor: str | None
    subject: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditReport:
    """What :func:`verify` found. ``ok`` is True only when nothing is wrong; each problem is a
    sentence naming the event or checkpoint concerned. ``notes`` says what was *not* checked
    (e.g. checkpoint signatures when no key lookup was given)."""

    ok: bool
    count: int
    head_hash: str
    problems: list[str]
    checkpoints_checked: int
    signatures_checked: bool = False
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report in words, one string a line: what ``certreg audit verify`` prints and
        the console's "verify the chain" shows (one wording for both)."""
        checked = (
            "signatures verified"
            if self.signatures_checked
            else "signatures NOT checked"
            if self.checkpoints_checked
            else "none yet"
        )
        if self.ok:
            lines = [
                f"The audit chain is intact: {self.count:,} events, "
                f"{self.checkpoints_checked} checkpoints ({checked})."
            ]
        else:
            lines = [
                f"The audit chain has problems ({len(self.problems)} found, "
                f"{self.count:,} events read, {self.checkpoints_checked} checkpoints):"
            ]
            lines += [f"  ✗ {problem}" for problem in self.problems]
        lines.append(f"Head hash: {self.head_hash}")
        lines += [f"  ! {note}" for note in self.notes]
        return lines


# --------------------------------------------------------------------------------------------
# Hashing


def event_hash(
    seq: int,
    at: str,
    kind: str,
    actor: str | None,
    subject: str | None,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The hash of one event: sha256 (hex) of the JCS form of all its fields but ``hash``."""
    return _hash(seq, at, kind, actor, subject, jcs(payload), prev_hash)


_HEADER_TYPES = (str, type(None))
# Built once: json.dumps with non-default options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
# And its C encoder, built once too: ``JSONEncoder.encode`` builds a new one on every call,
# which was half the cost of encoding an event's few members (bulk issuance encodes eight
# a certificate). The same encoder, the same text; None where the C module is missing.
_MAKE_C_ENCODER: Callable[..., Any] | None = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER = (
    None
    if _MAKE_C_ENCODER is None
    else _MAKE_C_ENCODER(
        # No markers (JSONEncoder's check for a value that contains itself): a dict shared
        # by every call would be shared by threads, and keep the ids of a failed call. What
        # is encoded here passed _simple first, which admits no such value, or is an event's
        # header of strings and a number.
        None,
        _ENCODER.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        True,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan, as JSONEncoder's default
    )
)


def _encode(value: object) -> str:
    """``_ENCODER.encode(value)`` (compact JSON, keys sorted, non-ASCII as is) of a value
    :func:`_simple` admits, or of an event's header: without the check for a value that
    contains itself (see ``_C_ENCODER``)."""
    if _C_ENCODER is None or isinstance(value, str):
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


def _hash(
    seq: object,
    at: object,
    kind: object,
    actor: object,
    subject: object,
    canonical_payload: bytes,
    prev_hash: object,
) -> str:
    """:func:`event_hash` given the payload already in JCS form, so that neither append nor
    verify canonicalises it twice (verify runs this a million times).

    JCS of the record is its members in key order, each value in JCS form; the keys are fixed
    ASCII, so the standard library writes the other members exactly as JCS would, provided
    they are strings, null, or the integer seq (what certreg writes). The payload's slot is
    marked with ``"payload":0`` and filled in afterwards: the marker cannot occur inside a
    string, where every quote is escaped. Anything else (a row an attacker filled with odd
    types) goes through full JCS, which hashes the same record the same way or refuses it.
    """
    if (
        type(seq) is int
        and 0 < seq <= 2**53 - 1
        and type(at) in _HEADER_TYPES
        and type(kind) in _HEADER_TYPES
        and type(actor) in _HEADER_TYPES
        and type(subject) in _HEADER_TYPES
        and type(prev_hash) in _HEADER_TYPES
    ):
        try:
            # The header's members written one by one, in key order, as ``_encode`` of the
            # header dict writes them (tests/issuer/test_audit_hash.py compares the two):
            # no dict, no encoder call, and the payload put straight into its slot.
            preimage = b"".join(
                (
                    b'{"actor":',
                    _json_text(actor),
                    b',"at":',
                    _json_text(at),
                    b',"kind":',
                    _json_text(kind),
                    b',"payload":',
                    canonical_payload,
                    b',"prev_hash":',
                    _json_text(prev_hash),
                    b',"seq":',
                    str(seq).encode("ascii"),
                    b',"subject":',
                    _json_text(subject),
                    b"}",
                )
            )
        except UnicodeEncodeError:
            pass  # a lone surrogate: full JCS refuses it with a reason
        else:
            return hashlib.sha256(preimage).hexdigest()
    record = {
        "seq": seq,
        "at": at,
        "kind": kind,
        "actor": actor,
        "subject": subject,
        "payload": json.loads(canonical_payload),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(jcs(record)).hexdigest()


# ensure_ascii=False, as _ENCODER's; typed loosely: _hash's members are checked (str or None)
# before they are written, and mypy does not narrow ``type(x) in ...``.
_encode_string: Any = json.encoder.encode_basestring


def _json_text(value: object) -> bytes:
    """A header member's JSON text, in UTF-8: ``null``, or the string (the caller checked it is
    one) as ``_encode`` writes it. Raises UnicodeEncodeError for a lone surrogate, as encoding
    the header did."""
    return b"null" if value is None else _encode_string(value).encode("utf-8")


def _short(value: object) -> str:
    text = str(value)
    return text[:_SHORT] + "…" if len(text) > _SHORT else text


# --------------------------------------------------------------------------------------------
# Writing


def _check_text(value: object, what: str, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise AuditError(f"an event's {what} must be a non-empty string, not {value!r}")


#: An event to append: (kind, actor, subject, payload).
NewEvent = tuple[str, str | None, str | None, Mapping[str, Any]]


def append(
    db: Database,
    kind: str,
    *,
    actor: str | None,
    subject: str | None,
    payload: Mapping[str, Any],
    at: str,
) -> Event:
    """Append one event after the current head and return it (see :func:`append_many`)."""
    return append_many(db, [(kind, actor, subject, payload)], at=at)[0]


def append_many(db: Database, events: Iterable[NewEvent], *, at: str) -> list[Event]:
    """Append events, in order, after the current head; return them. The one writer of the
    chain: a single decision appends its two or three events, bulk issuance a whole batch's.

    Call it inside the transaction that makes the change the events record, so that the two
    commit or roll back together; called outside one, it opens its own. The head is read once,
    inside that BEGIN IMMEDIATE transaction, which holds the write lock: two processes cannot
    both read the same head and fork the chain (and if a caller's transaction were only
    deferred, the primary key on ``seq`` would refuse the second of two equal sequence numbers
    rather than let the chain fork). Every event is checked before anything is written.
    """
    if not isinstance(at, str):
        raise AuditError(f"an event's time must be a date-time string, not {at!r}")
    try:
        parse_datetime(at)
    except ValueError as exc:
        raise AuditError(f"an event's time: {exc}") from None
    checked: list[tuple[str, str | None, str | None, dict[str, Any], bytes]] = []
    for kind, actor, subject, payload in events:
        _check_text(kind, "kind", optional=False)
        _check_text(actor, "actor", optional=True)
        _check_text(subject, "subject", optional=True)
        if not isinstance(payload, Mapping):
            raise AuditError("an event's payload must be a JSON object")
        payload = dict(payload)
        checked.append((kind, actor, subject, payload, _canonical(payload)))
    out: list[Event] = []
    with transaction(db):
        conn = db.conn
        last = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev_hash = (0, GENESIS) if last is None else (last[0], last[1])
        rows = []
        for kind, actor, subject, payload, canonical_payload in checked:
            seq += 1
            digest = _hash(seq, at, kind, actor, subject, canonical_payload, prev_hash)
            rows.append(
                (
                    seq,
                    at,
                    kind,
                    actor,
                    subject,
                    canonical_payload.decode("utf-8"),
                    prev_hash,
                    digest,
                )
            )
            out.append(Event(seq, at, kind, actor, subject, payload, prev_hash, digest))
            prev_hash = digest
        conn.executemany(
            "INSERT INTO events (seq, at, kind, actor, subject, payload, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return out


#: Members :func:`_simple` looks at before it gives up (full JCS then says what it makes of
#: the value): far more than any payload or credential certreg writes.
_SIMPLE_ITEMS = 1_000_000


def _simple(value: object) -> bool:
    """Whether the standard library writes ``value`` exactly as JCS does: strings, whole
    numbers within JSON's safe range, booleans, null, and lists and objects of them.

    A loop over a stack rather than a recursion of generators: it runs over every member of
    every credential bulk issuance hashes (a hundred a credential) and of every event it
    appends, and the generators were most of its cost."""
    stack = [value]
    pop, push = stack.pop, stack.extend
    budget = _SIMPLE_ITEMS  # a value that contains itself would never end: not simple
    while stack:
        budget -= 1
        if budget < 0:
            return False
        item = pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if not -(2**53) < item < 2**53:  # type: ignore[operator]
                return False
        elif kind is list:
            push(item)  # type: ignore[arg-type]
        elif kind is dict:
            # ASCII keys: JCS orders keys by UTF-16 code units, Python by code points.
            for key in item:  # type: ignore[attr-defined]
                if type(key) is not str or not key.isascii():
                    return False
            push(item.values())  # type: ignore[attr-defined]
        else:
            return False
    return True


def _canonical(payload: dict[str, Any]) -> bytes:
    """The JCS form of a payload. What certreg writes (strings, whole numbers, null, lists)
    the standard library encodes exactly as JCS does, far faster than the generic
    canonicaliser (bulk issuance appends three events a certificate); anything else (a float,
    an odd key) goes through full JCS, which refuses what it cannot write."""
    if _simple(payload):
        try:
            return _encode(payload).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: full JCS refuses it with a reason
    try:
        return jcs(payload)
    except Exception as exc:  # the canonicaliser refuses NaN, non-string keys, odd types
        raise AuditError(f"an event's payload cannot be written as canonical JSON: {exc}") from None


def checkpoint(db: Database, signer: Signer, *, issuer: str, at: str) -> dict[str, Any]:
    """Sign the current head of the chain and store the signed checkpoint; return it.

    The document is plain JSON (no JSON-LD context) signed with ``eddsa-jcs-2022``; the
    proof's ``created`` is ``at``, so a key rotated later still vouches for it. When the head
    has not moved since the last checkpoint, that checkpoint is returned unchanged (a cron job
    may run this as often as it likes). This does not verify the chain first: signing the
    head of a tampered chain would bless the tampering, so run :func:`verify` before (the
    ``certreg audit checkpoint`` command does).
    """
    _check_text(issuer, "issuer", optional=False)
    try:
        parse_datetime(at)
    except ValueError as exc:
        raise AuditError(f"a checkpoint's time: {exc}") from None
    if not signer.verification_method.startswith(issuer + "#"):
        raise AuditError(
            f"the signing key {signer.verification_method} does not belong to {issuer}"
        )
    with transaction(db):
        conn = db.conn
        head = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        if head is None:
            raise AuditError("the audit chain is empty: there is nothing to checkpoint yet")
        seq, head_hash = head
        existing = conn.execute(
            "SELECT head_hash, signed FROM checkpoints WHERE seq = ?", (seq,)
        ).fetchone()
        if existing is not None and existing[0] == head_hash:
            return json.loads(existing[1])
        if existing is not None:
            raise AuditError(
                f"a checkpoint at event {seq} already exists with another head hash; "
                "run `certreg audit verify`"
            )
        document = {
            "type": CHECKPOINT_TYPE,
            "issuer": issuer,
            "seq": seq,
            # seq runs 1, 2, 3… without gaps, so the count equals the head's seq; it is signed
            # separately so that a reader of the checkpoint alone knows how many events exist.
            "count": seq,
            "headHash": head_hash,
            "at": at,
        }
        signed = add_proof(document, signer, cryptosuite="eddsa-jcs-2022", created=at)
        conn.execute(
            "INSERT INTO checkpoints (seq, count, head_hash, at, signed) VALUES (?, ?, ?, ?, ?)",
            (seq, seq, head_hash, at, json.dumps(signed, ensure_ascii=False, sort_keys=True)),
        )
    return signed


# --------------------------------------------------------------------------------------------
# Reading


def _event(row: tuple[Any, ...]) -> Event:
    seq, at, kind, actor, subject, payload, prev_hash, digest = row
    return Event(seq, at, kind, actor, subject, json.loads(payload), prev_hash, digest)


_COLUMNS = "seq, at, kind, actor, subject, payload, prev_hash, hash"


def events(
    db: Database, *, subject: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Event]:
    """The latest ``limit`` events (of one subject and/or kind), oldest first."""
    if not isinstance(limit, int) or limit < 1:
        raise AuditError(f"limit must be a positive integer, not {limit!r}")
    where, params = [], []
    if subject is not None:
        where.append("subject = ?")
        params.append(subject)
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    sql = f"SELECT {_COLUMNS} FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC LIMIT ?"
    rows = db.conn.execute(sql, (*params, limit)).fetchall()
    return [_event(row) for row in reversed(rows)]


# --------------------------------------------------------------------------------------------
# Verifying


def key_history_lookup(records: Iterable[KeyRecord]) -> KeyLookup:
    """A key lookup over the body's own key history (``KeyStore(path).keys()``): a proof is
    checked with the key its ``verificationMethod`` names, provided that key was neither
    retired nor compromised when the proof was ``created``."""
    by_id = {record.id: record for record in records}

    def lookup(proof: Mapping[str, Any]) -> PublicKey:
        vm = proof.get("verificationMethod")
        record = by_id.get(vm) if isinstance(vm, str) else None
        if record is None:
            raise ProofError(f"{vm!r} is not one of the body's keys")
        created_text = proof.get("created")
        if record.revoked is not None or record.expires is not None:
            try:
                created = parse_datetime(created_text)
            except ValueError:
                raise ProofError(
                    f"{vm} was retired or compromised and the proof has no valid 'created' date"
                ) from None
            if record.revoked is not None and created >= parse_datetime(record.revoked):
                raise ProofError(f"{vm} was reported compromised on {record.revoked}")
            if record.expires is not None and created > parse_datetime(record.expires):
                raise ProofError(f"{vm} was retired on {record.expires}, before this proof")
        try:
            return PublicKey(decode_public_key(record.public_multibase))
        except MultikeyError as exc:
            raise ProofError(f"{vm}: {exc}") from None

    return lookup


@dataclass
class _Checkpoint:
    number: int  # 1, 2, 3… in order of seq: how an operator listing them would count
    seq: int
    head_hash: str
    document: dict[str, Any] | None


class _Problems:
    """Collects problems up to :data:`MAX_PROBLEMS`, then only counts them."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, text: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(text)
        else:
            self.dropped += 1

    def result(self) -> list[str]:
        if self.dropped:
            return [*self.items, f"… and {self.dropped} more problems not listed"]
        return list(self.items)


class _Runs:
    """Consecutive rows with the same fault are reported as one run: one row inserted near
    the start (and the rest renumbered) shifts every later row by one, which is one fact,
    not a thousand lines."""

    def __init__(self, problems: _Problems) -> None:
        self.problems = problems
        # (fault, first seq, last seq, original position - seq); fault "edited" or "moved"
        self.run: tuple[str, int, int, int] | None = None

    def add(self, fault: str, seq: int, offset: int = 0) -> None:
        run = self.run
        if run is not None and run[0] == fault and run[2] == seq - 1 and run[3] == offset:
            self.run = (fault, run[1], seq, offset)
            return
        self.flush()
        self.run = (fault, seq, seq, offset)

    def flush(self) -> None:
        if self.run is None:
            return
        fault, first, last, offset = self.run
        self.run = None
        if fault == "edited":
            if first == last:
                self.problems.add(f"event {first} was edited (its hash does not match its content)")
            else:
                self.problems.add(
                    f"events {first} to {last} were edited "
                    "(their hashes do not match their content)"
                )
        elif first == last:
            self.problems.add(
                f"event {first} holds what was event {first + offset} "
                "(rows reordered, or rows inserted or deleted and the rest renumbered)"
            )
        else:
            self.problems.add(
                f"events {first} to {last} hold what were events {first + offset} to "
                f"{last + offset} (rows reordered, or rows "
                f"{'inserted' if offset < 0 else 'deleted'} before them and the rest "
                "renumbered)"
            )


def _load_checkpoints(conn: sqlite3.Connection, problems: _Problems) -> list[_Checkpoint]:
    found = []
    rows = conn.execute("SELECT seq, count, head_hash, at, signed FROM checkpoints ORDER BY seq")
    for number, (seq, count, head_hash, at, signed) in enumerate(rows, start=1):
        name = f"checkpoint {number}"
        try:
            document = json.loads(signed)
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
        except (TypeError, ValueError) as exc:
            problems.add(f"{name} (at event {seq}) cannot be read: {exc}")
            found.append(_Checkpoint(number, seq, head_hash, None))
            continue
        claims = (document.get("seq"), document.get("count"), document.get("headHash"))
        if document.get("type") != CHECKPOINT_TYPE:
            problems.add(f"{name} (at event {seq}) is not a {CHECKPOINT_TYPE} document")
        if claims != (seq, count, head_hash) or document.get("at") != at:
            # The signed document is what counts; the columns are only an index of it.
            problems.add(
                f"{name}'s table columns (event {seq}, count {count}, head hash "
                f"{_short(head_hash)}) do not match its signed document (event {claims[0]}, "
                f"count {claims[1]}, head hash {_short(claims[2])})"
            )
        if claims[0] != claims[1]:
            problems.add(
                f"{name} claims {claims[1]} events up to event {claims[0]}; the two must be equal"
            )
        doc_seq, doc_hash = claims[0], claims[2]
        if isinstance(doc_seq, int) and isinstance(doc_hash, str):
            found.append(_Checkpoint(number, doc_seq, doc_hash, document))
        else:
            problems.add(f"{name} (at event {seq}) names no event or head hash")
    return found


def _check_signatures(
    checkpoints: list[_Checkpoint], key_lookup: KeyLookup, problems: _Problems
) -> None:
    for cp in checkpoints:
        if cp.document is None:
            continue
        issuer = cp.document.get("issuer")
        proof = cp.document.get("proof")
        vm = proof.get("verificationMethod") if isinstance(proof, dict) else None
        if isinstance(issuer, str) and isinstance(vm, str) and vm.partition("#")[0] != issuer:
            problems.add(f"checkpoint {cp.number} names issuer {issuer} but is signed with {vm}")
            continue
        checks = verify_proofs(cp.document, key_lookup)
        failed = [c for c in checks if not c.ok]
        if failed or len(checks) != 1:
            reason = failed[0].reason if failed else "it must carry exactly one proof"
            problems.add(f"checkpoint {cp.number}'s signature does not verify ({reason})")


@dataclass
class _Walk:
    count: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    checkpoints_seen: set[int] = field(default_factory=set)
    checkpoint_problems: list[str] = field(default_factory=list)


# How far from its place a swapped row is looked for (beyond that, runs of shifted rows are
# still recognised by following the chain from the row before them).
_NEAR = 3


def _original_seq(
    conn: sqlite3.Connection,
    row: tuple[Any, ...],
    payload: Any,
    previous: tuple[str, int | None] | None,
) -> int | None:
    """The position whose hash this row's content carries, when it is not its own: the row
    was moved. ``previous`` is (stored hash, original position) of the row before it."""
    seq, at, kind, actor, subject, _, prev_hash, stored = row
    candidates: list[int] = []
    if prev_hash == GENESIS:
        candidates.append(1)
    if previous is not None and previous[0] == prev_hash and previous[1] is not None:
        candidates.append(previous[1] + 1)
    for distance in range(1, _NEAR + 1):
        candidates += [seq + distance, seq - distance]
    found = conn.execute("SELECT seq FROM events WHERE hash = ?", (prev_hash,)).fetchone()
    if found is not None:
        candidates.append(found[0] + 1)
    for candidate in dict.fromkeys(candidates):
        if candidate != seq and candidate > 0:
            if event_hash(candidate, at, kind, actor, subject, payload, prev_hash) == stored:
                return candidate
    return None


def _walk(
    conn: sqlite3.Connection, checkpoints: dict[int, _Checkpoint], problems: _Problems
) -> _Walk:
    walk = _Walk()
    runs = _Runs(problems)
    # (stored hash, original position or None when unknown, whether the row is in its place)
    previous: tuple[str, int | None, bool] | None = None
    # A plain cursor: sqlite3 fetches rows as the loop asks for them, so a million events
    # never sit in memory at once.
    for row in conn.execute(f"SELECT {_COLUMNS} FROM events ORDER BY seq"):
        seq, at, kind, actor, subject, payload_text, prev_hash, stored = row
        walk.count += 1
        contiguous = seq == walk.last_seq + 1
        if not contiguous:
            runs.flush()
            _report_gap(walk.last_seq, seq, problems)

        in_place, original = True, seq
        try:
            payload = json.loads(payload_text)
            if not isinstance(payload, dict):
                raise ValueError("not a JSON object")
            canonical_payload = jcs(payload)
            canonical = canonical_payload == payload_text.encode("utf-8")
            fits = _hash(seq, at, kind, actor, subject, canonical_payload, prev_hash) == stored
        except Exception:  # unreadable JSON, NaN, odd column types: all are edits
            payload, fits, canonical = None, False, True
        if not fits:
            moved_from = None
            if payload is not None:
                moved_from = _original_seq(
                    conn, row, payload, previous[:2] if previous is not None else None
                )
            if moved_from is None:
                runs.add("edited", seq)
                in_place, original = True, None
            else:
                runs.add("moved", seq, moved_from - seq)
                in_place, original = False, moved_from
        else:
            runs.flush()
            if not canonical:
                problems.add(
                    f"event {seq}'s payload is not stored in the canonical form certreg "
                    "writes (the file was edited outside certreg)"
                )

        # A broken link after a gap or a moved row is a consequence already reported.
        if contiguous and in_place and (previous is None or previous[2]):
            expected = GENESIS if previous is None else previous[0]
            if prev_hash != expected:
                runs.flush()
                if previous is None:
                    problems.add(
                        f"event {seq} does not start the chain (its previous hash is not the "
                        "genesis value: the beginning was replaced)"
                    )
                else:
                    problems.add(
                        f"event {seq} does not follow event {walk.last_seq} "
                        "(chain broken: reordered or replaced)"
                    )

        checkpoint_here = checkpoints.get(seq)
        if checkpoint_here is not None:
            walk.checkpoints_seen.add(seq)
            if checkpoint_here.head_hash != stored:
                # Reported after the walk: flushing here would split a run of moved rows.
                walk.checkpoint_problems.append(
                    f"checkpoint {checkpoint_here.number} names head hash "
                    f"{_short(checkpoint_here.head_hash)} but event {seq} has {_short(stored)} "
                    "(the chain was rewritten after the checkpoint was signed)"
                )
        previous = (stored, original, in_place)
        walk.last_seq, walk.last_hash = seq, stored
    runs.flush()
    return walk


def _report_gap(last_seq: int, seq: int, problems: _Problems) -> None:
    first, last = last_seq + 1, seq - 1
    what = f"event {first} is missing" if first == last else f"events {first} to {last} are missing"
    if last_seq == 0:
        problems.add(f"{what} (the chain starts at event {seq})")
    else:
        problems.add(f"{what} (sequence jumps from {last_seq} to {seq})")


def verify(db: Database, *, key_lookup: KeyLookup | None = None) -> AuditReport:
    """Walk the whole chain, oldest first, and say what is wrong with it, row by row.

    Rows are streamed from SQLite, so memory does not grow with the chain. Everything is read
    in one read transaction: a writer appending meanwhile (WAL) cannot make the events and the
    checkpoints disagree. With ``key_lookup`` None the checkpoints' signatures are not
    checked (their head hashes still are) and the report's ``notes`` say so.
    """
    conn = db.conn
    problems = _Problems()
    notes: list[str] = []
    own_transaction = not conn.in_transaction
    if own_transaction:
        conn.execute("BEGIN")  # deferred: a read snapshot, no write lock
    try:
        checkpoints = _load_checkpoints(conn, problems)
        if key_lookup is not None:
            _check_signatures(checkpoints, key_lookup, problems)
        elif checkpoints:
            notes.append(
                f"the signatures of the {len(checkpoints)} checkpoints were not checked "
                "(no key lookup given)"
            )
        walk = _walk(conn, {cp.seq: cp for cp in checkpoints}, problems)
    finally:
        if own_transaction:
            conn.execute("COMMIT")

    for text in walk.checkpoint_problems:
        problems.add(text)
    for cp in checkpoints:
        if cp.seq > walk.last_seq:
            problems.add(
                f"the chain ends at event {walk.last_seq} but checkpoint {cp.number} was "
                f"signed at event {cp.seq} (events deleted from the end)"
            )
        elif cp.seq not in walk.checkpoints_seen:
            problems.add(f"checkpoint {cp.number} was signed at event {cp.seq}, which is missing")
    found = problems.result()
    return AuditReport(
        ok=not found,
        count=walk.count,
        head_hash=walk.last_hash,
        problems=found,
        checkpoints_checked=len(checkpoints),
        signatures_checked=key_lookup is not None,
        notes=notes,
    )
