"""The body's transparency log, write side: one entry per lifecycle decision, appended in the
decision's own transaction (issue 13; docs/transparency.md, "The log").

:func:`log_for_events` is called by the two writers of audit events that take decisions
(``BodyBase._append_events`` for a single decision, bulk issuance's batch writer), beside the
mail outbox, with the events they have just appended. For each decision among them it appends
one :class:`certreg.verifier.tlog.entry.Entry` to ``tlog_entries``, so:

* a decision that rolls back leaves no entry (the row goes with it);
* a decision that commits has its entry, whatever happens to the process afterwards;
* an event is never logged twice (``event_seq`` is unique) and the indices run 0, 1, 2...
  without a gap (the next index is read under the write lock the transaction holds).

A decision that signs a credential (grant, recertify, scope changes, correction) is logged when
its ``credential_issued`` event is appended: the lifecycle appends the decision's event first,
then signs, and the entry names both (``event`` is the decision's event, ``credential`` the
hash of what it signed). The other decisions are logged at their own event.

Nothing here signs or hashes more than the entry: the tree, its tiles and checkpoints are
:mod:`certreg.issuer.logfiles`', outside any decision's transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from certreg.issuer.audit import Event, _encode, _simple
from certreg.verifier.asof import signed_state
from certreg.verifier.dates import format_datetime, parse_datetime
from certreg.verifier.tlog.entry import KINDS, SIGNING_KINDS, Entry, EntryError, credential_hash
from certreg.verifier.tlog.merkle import leaf_hash

__all__ = [
    "DECISION_PREFIX",
    "backfill",
    "entry_for",
    "issued_hash",
    "log_for_events",
    "logged_facts",
    "signed_fields",
    "signed_hash",
]

#: A decision's audit event is ``decision_<kind>`` (issuer.lifecycle.decisions._decide).
DECISION_PREFIX = "decision_"


#: Ids per ``IN (...)`` query: well under SQLite's limit on a statement's parameters.
_CHUNK = 500


def _decision_kind(event_kind: str) -> str | None:
    if event_kind.startswith(DECISION_PREFIX):
        kind = event_kind[len(DECISION_PREFIX) :]
        if kind in KINDS:
            return kind
    return None


def log_for_events(
    conn: sqlite3.Connection,
    events: Iterable[Event],
    credentials: Mapping[str, LoggedFacts] | None = None,
) -> int:
    """Append the log entry of each decision in ``events`` (just appended, in the caller's
    transaction); return how many were appended. ``credentials``: the :class:`LoggedFacts` of
    credentials the caller has just signed, by credential id (bulk issuance makes them in its
    signing workers), so that they are not read back, parsed and hashed again here; a
    credential not in it is read from the ``credentials`` table."""
    events = list(events)
    by_decision = {
        e.payload.get("decision"): e for e in events if _decision_kind(e.kind) is not None
    }
    context = _Context(conn, credentials)
    context.read_certifications(e.subject for e in by_decision.values())
    for event in events:
        kind = _decision_kind(event.kind)
        if kind is not None and kind not in SIGNING_KINDS:
            context.append(event, kind, None)
        elif event.kind == "credential_issued":
            decision_id = event.payload.get("decision")
            decision = by_decision.get(decision_id)
            if decision is None:
                # Appended by an earlier call of this transaction (the lifecycle appends a
                # decision's event, then signs): it may have an entry already.
                decision = _decision_event(conn, decision_id)
                if decision is None or _logged(conn, decision.seq):
                    continue
            kind = _decision_kind(decision.kind)
            if kind in SIGNING_KINDS:
                context.append(decision, kind, event.payload.get("credential"))
    return context.write()


def _logged(conn: sqlite3.Connection, event_seq: int) -> bool:
    found = conn.execute("SELECT 1 FROM tlog_entries WHERE event_seq = ?", [event_seq])
    return found.fetchone() is not None


def _decision_event(conn: sqlite3.Connection, decision_id: Any) -> Event | None:
    """The audit event of a decision appended earlier in the transaction (the lifecycle appends
    a decision's event before it signs): the latest event of the decision's kind."""
    if not isinstance(decision_id, str):
        return None
    row = conn.execute("SELECT type FROM decisions WHERE id = ?", [decision_id]).fetchone()
    if row is None:
        return None
    found = conn.execute(
        "SELECT seq, at, kind, actor, subject, payload, prev_hash, hash FROM events "
        "WHERE kind = ? ORDER BY seq DESC LIMIT 1",
        [DECISION_PREFIX + row[0]],
    ).fetchone()
    if found is None:
        return None
    event = Event(*found[:5], json.loads(found[5]), *found[6:])  # type: ignore[call-arg]
    return event if event.payload.get("decision") == decision_id else None


class _Context:
    """The entries of one call, written together by :meth:`write` (one ``executemany``), and
    what they share: the next index, the schemes' publication policies, the credentials'
    hashes the caller knows.

    An event gets one entry: twice in one call is skipped here; an event logged by an earlier
    transaction cannot be among the events a call is given, which were just appended (their
    ``seq`` is new), but for a decision appended earlier in the same transaction, which the
    caller checks (:func:`_logged`); and should anything else try, ``event_seq``'s UNIQUE
    index refuses it, and the decision's transaction with it."""

    def __init__(
        self, conn: sqlite3.Connection, credentials: Mapping[str, LoggedFacts] | None = None
    ) -> None:
        self.conn = conn
        self.directory: dict[str, bool] = {}
        self.credentials = credentials or {}
        self.rows: list[tuple[bytes, bytes, int, str | None, str]] = []
        self.seen: set[int] = set()
        # (id, number, scheme_id) of the certifications the events are about, by id, read in
        # one query per call (:meth:`read_certifications`) rather than one per entry.
        self.certifications: dict[str, tuple[str, str, str]] = {}

    def read_certifications(self, ids: Iterable[str | None]) -> None:
        wanted = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for row in self.conn.execute(
                "SELECT id, number, scheme_id FROM certifications "
                f"WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                self.certifications[row[0]] = row

    def append(self, event: Event, kind: str, credential_id: str | None) -> None:
        if event.seq in self.seen:
            return  # never twice
        entry = entry_for(
            self.conn,
            event,
            kind,
            credential_id,
            self.directory,
            self.credentials,
            self.certifications,
        )
        if entry is None:
            return
        self.seen.add(event.seq)
        data = entry.to_bytes()
        self.rows.append((data, leaf_hash(data), event.seq, entry.credential, event.at))

    def write(self) -> int:
        """Insert the entries, indexed on from the log's end (read under the write lock the
        transaction holds: no gap, no index twice); return how many."""
        if not self.rows:
            return 0
        end = self.conn.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM tlog_entries")
        start = end.fetchone()[0]
        self.conn.executemany(
            "INSERT INTO tlog_entries (idx, entry, leaf_hash, event_seq, credential, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(start + i, *row) for i, row in enumerate(self.rows)],
        )
        written = len(self.rows)
        self.rows = []
        return written


def entry_for(
    conn: sqlite3.Connection,
    event: Event,
    kind: str,
    credential_id: str | None,
    directory: dict[str, bool] | None = None,
    credentials: Mapping[str, LoggedFacts] | None = None,
    certifications: Mapping[str, tuple[str, str, str]] | None = None,
) -> Entry | None:
    """The entry of a decision's audit ``event`` (``credential_id``: the credential it signed,
    for a signing kind; its hash is read from ``credentials`` when the caller has it). None if
    the certification is not found (nothing to log). ``certifications``: (id, number,
    scheme_id) of certifications the caller has read already, by id (a certification not in
    it is read here)."""
    cert = None if certifications is None else certifications.get(event.subject)  # type: ignore[arg-type]
    if cert is None:
        cert = conn.execute(
            "SELECT id, number, scheme_id FROM certifications WHERE id = ?", [event.subject]
        ).fetchone()
    if cert is None:
        return None
    certification_id, number, scheme_id = cert
    credential = None
    signed: dict[str, Any] = {}
    if credential_id is not None and credentials and credential_id in credentials:
        known = credentials[credential_id]
        credential, signed = known.sha256, dict(known.state)
    elif credential_id is not None:
        row = conn.execute(
            "SELECT document FROM credentials WHERE id = ?", [credential_id]
        ).fetchone()
        if row is None:
            return None
        known = logged_facts(json.loads(row[0]))
        credential, signed = known.sha256, dict(known.state)
    if kind == "grant":
        first = credential
    else:
        row = conn.execute(
            "SELECT document FROM credentials WHERE certification_id = ? ORDER BY revision LIMIT 1",
            [certification_id],
        ).fetchone()
        if row is None:
            return None
        first = issued_hash(row[0])
    if first is None:
        return None
    directory = {} if directory is None else directory
    if scheme_id not in directory:
        # The register lists a scheme's certificates (numbers included) when the policy of
        # the scheme's current version is "directory" (register.push): only then is the
        # number public already, and only then is it in the entry.
        policy = conn.execute(
            "SELECT publication_policy FROM scheme_versions WHERE scheme_id = ? "
            "ORDER BY version DESC LIMIT 1",
            [scheme_id],
        ).fetchone()
        directory[scheme_id] = policy is not None and policy[0] == "directory"
    fields: dict[str, Any] = {
        "kind": kind,
        "at": _entry_time(event.at),
        "scheme": scheme_id,
        "cert": first,
        "event": event.hash,
        "credential": credential,
        "number": number if directory[scheme_id] else None,
    }
    try:
        return Entry(**fields, **signed)
    except EntryError:  # scope codes the entry format cannot hold: logged without the state
        return Entry(**fields)


@lru_cache(maxsize=64)
def _entry_time(at: str) -> str:
    """An event's time as the entry writes it; a batch's events share one time."""
    return format_datetime(parse_datetime(at))


@dataclass(frozen=True)
class LoggedFacts:
    """What a log entry says of a credential a decision signed: its hash
    (:func:`signed_hash`) and the state it states (:func:`signed_fields`). Bulk issuance makes
    them in its signing workers, so the write transaction neither reads nor parses the
    credential again."""

    sha256: str
    state: Mapping[str, Any]


def logged_facts(credential: dict[str, Any]) -> LoggedFacts:
    """The :class:`LoggedFacts` of a signed credential in memory."""
    return LoggedFacts(signed_hash(credential), _state_fields(credential))


def _state_fields(credential: dict[str, Any]) -> dict[str, Any]:
    state = signed_state(credential)
    if state is None:
        return {}
    return {"scope": state.codes, "until": state.until}


def signed_fields(document: str) -> dict[str, Any]:
    """The entry's ``scope`` and ``until`` for a signing decision: what the credential it signed
    states (``verifier.asof.signed_state``); empty when it states none."""
    return _state_fields(json.loads(document))


def issued_hash(document: str) -> str:
    """:func:`certreg.verifier.tlog.entry.credential_hash` of a stored credential (its JSON
    text), the same bytes hashed: what certreg signs (strings, whole numbers, ASCII keys) the
    standard library writes exactly as JCS does, five times faster than the generic
    canonicaliser (a decision hashes its credential in its write transaction; bulk issuance
    hashes one a certificate, in its signing workers); anything else goes through
    ``credential_hash`` itself."""
    return signed_hash(json.loads(document))


def signed_hash(credential: dict[str, Any]) -> str:
    """:func:`issued_hash` of a credential still in memory (as JSON would read it back: what
    :func:`issued_hash` of its ``json.dumps`` gives)."""
    if _simple(credential):
        try:
            return hashlib.sha256(_encode(credential).encode("utf-8")).hexdigest()
        except UnicodeEncodeError:
            pass  # a lone surrogate: full JCS says what it makes of it
    return credential_hash(credential)


def backfill(conn: sqlite3.Connection) -> int:
    """Log the decisions taken before the log existed, in audit order (migration V15, in its
    transaction); return how many entries were appended. A signing decision is logged with the
    credential it signed (the first credential recorded for the decision)."""
    context = _Context(conn)
    # The credential each decision signed, read in one pass (credentials has no index on
    # decision_id: a query per decision would read the table once per decision).
    signed: dict[str, str] = {}
    for decision_id, credential_id in conn.execute(
        "SELECT decision_id, id FROM credentials ORDER BY revision DESC"
    ):
        signed[decision_id] = credential_id  # the lowest revision of the decision wins
    rows = conn.execute(
        "SELECT seq, at, kind, actor, subject, payload, prev_hash, hash FROM events "
        "WHERE kind LIKE 'decision\\_%' ESCAPE '\\' ORDER BY seq"
    ).fetchall()
    for row in rows:
        kind = _decision_kind(row[2])
        if kind is None:
            continue
        event = Event(*row[:5], json.loads(row[5]), *row[6:])  # type: ignore[call-arg]
        credential_id = None
        if kind in SIGNING_KINDS:
            credential_id = signed.get(str(event.payload.get("decision")))
            if credential_id is None:
                continue  # a signing decision whose credential is not recorded: nothing signed
        context.append(event, kind, credential_id)
    return context.write()
