"""What the staff console shows, read from issuer.db fast enough at 1,000,000 certifications.

The console's pages (issue 11) call this module and nothing else to read the record: the
dashboard, the search of candidates and holders, a person's page, the audit log and a
certificate's staff view. Each answer is a frozen dataclass. Nothing here writes.

**Fast at a million.** Every query reads an index range and stops at a page; none counts or
sorts a million rows while a page waits. Lists are paged by *keyset* (the last row's sort key,
an opaque ``next`` cursor), never by OFFSET, which would read every row skipped. What this
needs from the schema is migration V8 of ``issuer.db`` (``person_keys``, the ``person_search``
full-text index of names, ``certification_counts`` kept by triggers, and a few indexes);
``bench/bench_console.py`` times each query on a million certifications.

**One place for each rule.** Where a list depends on a rule of the lifecycle, the rule is
called, not restated: the recertification window is ``rules.recertification_window`` (the
last expiry date it opens for is found by asking it), a certificate's standing is
``verifier.standing``, a share link's state is ``sharing.ShareLink.state``, the chain's
verdict is ``audit.verify`` with the key lookup ``certreg audit verify`` uses. Two facts the
lifecycle states as SQL in its own queries are said here in the same words: a suspension is
overdue when its deadline is before today (``Queries.due``), and a certification is due to
expire when its last valid day is before today (``Decisions.expire_due``).

**Secrets.** Share links are listed by their public id; their tokens are not stored (only
SHA-256 hashes and seal keys, which are never read here) and so can never be shown.
"""

from __future__ import annotations

import heapq
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlite_utils import Database

from certreg.issuer import audit
from certreg.issuer.lifecycle import rules
from certreg.issuer.lifecycle.base import BodyBase
from certreg.issuer.lifecycle.errors import Invalid, NotFound
from certreg.issuer.numbers import normalise
from certreg.issuer.sharing import ShareLink
from certreg.verifier.issuing import Bitstring, parse_datetime, utc_now
from certreg.verifier.standing import Headline, Status, headline

__all__ = [
    "AssessmentLine",
    "AuditLine",
    "AuditPage",
    "CertificateView",
    "CertificationLine",
    "ChainState",
    "ConsoleData",
    "CredentialVersion",
    "Dashboard",
    "DecisionLine",
    "DueItem",
    "DueList",
    "HeldCertification",
    "Involvement",
    "ListHealth",
    "PersonHit",
    "PersonPage",
    "SchemeCounts",
    "SchemeLine",
    "SchemePage",
    "SchemeVersionLine",
    "ScopeLine",
    "SearchPage",
    "ShareLinkLine",
    "StaffChoice",
    "StatusPlace",
    "last_expiry_in_window",
]

#: The most rows one page may ask for: a page is for a person to read.
MAX_PAGE = 200

SearchKey = Literal["any", "name", "number", "external_id", "email"]
DueKind = Literal[
    "suspension_overdue", "expiring_this_month", "recertification_open", "expiry_overdue"
]

#: What each list of decisions due asks of a person, in the dashboard's order.
DUE_TITLES: dict[str, str] = {
    "suspension_overdue": "suspension deadline passed: reinstate or withdraw",
    "expiring_this_month": "expires this month: recertify or let expire",
    "recertification_open": "recertification window open",
    "expiry_overdue": "past its last valid day: the expiry job has not run",
}


# --------------------------------------------------------------------------------------------
# The answers


@dataclass(frozen=True)
class SchemeCounts:
    """How many certifications of one scheme are in each recorded status (every
    :class:`~certreg.verifier.standing.Status`, zeros included)."""

    scheme_id: str
    code: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DueItem:
    number: str
    scheme_id: str
    person_id: str
    holder_name: str
    status: str
    day: str  # the deadline, or the last valid day, that makes it due


@dataclass(frozen=True)
class DueList:
    """One kind of decision due: how many in all, and the first page, soonest first."""

    kind: str
    title: str
    count: int
    items: tuple[DueItem, ...]
    next: str | None


@dataclass(frozen=True)
class ListHealth:
    """A status list and its latest signed version. ``time_left`` is None (and ``lapsed``
    True) for a list never published."""

    id: str
    purpose: str
    entries: int
    allocated: int
    set_entries: int
    version: int
    valid_until: str | None
    time_left: timedelta | None
    lapsed: bool


@dataclass(frozen=True)
class ChainState:
    """The audit chain's state, read in O(1): its head, its last signed checkpoint, and
    whether the event at that checkpoint still has the hash it signed. Whether the whole
    chain verifies is :meth:`ConsoleData.verify_chain` (it reads every event)."""

    events: int
    head_seq: int | None
    head_hash: str | None
    head_at: str | None
    checkpoint_seq: int | None
    checkpoint_at: str | None
    since_checkpoint: int
    checkpoint_matches: bool | None  # None: no checkpoint yet


@dataclass(frozen=True)
class Dashboard:
    today: date
    schemes: tuple[SchemeCounts, ...]
    totals: dict[str, int]
    due: tuple[DueList, ...]
    status_lists: tuple[ListHealth, ...]
    chain: ChainState


@dataclass(frozen=True)
class HeldCertification:
    number: str
    scheme_id: str
    status: str
    valid_until: str


@dataclass(frozen=True)
class PersonHit:
    person_id: str
    full_name: str
    email: str | None
    external_id: str | None
    certifications: tuple[HeldCertification, ...]


@dataclass(frozen=True)
class SearchPage:
    """``key`` says which key the query was read as (``any`` picks one, see
    :meth:`ConsoleData.search`)."""

    query: str
    key: str
    hits: tuple[PersonHit, ...]
    next: str | None


@dataclass(frozen=True)
class AssessmentLine:
    id: str
    scheme_id: str
    scheme_version: int
    kind: str
    result: str
    score: float | None
    assessed_on: str
    scope_codes: tuple[str, ...]
    notes: str | None
    created_at: str


@dataclass(frozen=True)
class Involvement:
    """A staff member who examined or trained the person (so may not decide on them)."""

    staff_id: str
    staff_name: str
    role: str
    assessment_id: str | None
    recorded_at: str


@dataclass(frozen=True)
class DecisionLine:
    id: str
    type: str
    number: str | None
    scheme_id: str
    decided_by: str | None
    decided_by_name: str | None
    decided_at: str
    effective_date: str
    reason: str
    evidence: str
    details: dict[str, Any]
    appeal_of: str | None


@dataclass(frozen=True)
class CertificationLine:
    """A certification as the person's page lists it; ``headline`` is the one wording of
    where it stands today (``VALID until ...``)."""

    id: str
    number: str
    scheme_id: str
    scheme_version: int
    status: str
    status_since: str
    cycle: int
    valid_from: str
    valid_until: str
    suspended_until: str | None
    headline: Headline


@dataclass(frozen=True)
class PersonPage:
    person_id: str
    full_name: str
    email: str | None
    external_id: str | None
    birth_date: str | None
    country: str | None
    consent_publish: bool
    notes: str | None
    created_at: str
    assessments: tuple[AssessmentLine, ...]
    involvements: tuple[Involvement, ...]
    certifications: tuple[CertificationLine, ...]
    decisions: tuple[DecisionLine, ...]  # every decision about them, oldest first

    @property
    def trainings(self) -> tuple[Involvement, ...]:
        return tuple(i for i in self.involvements if i.role == "trainer")


@dataclass(frozen=True)
class AuditLine:
    """One event of the audit chain; ``seq`` is its position in the chain."""

    seq: int
    at: str
    kind: str
    actor: str | None
    subject: str | None
    payload: dict[str, Any]
    hash: str
    actor_name: str | None = None  # the staff member's name, when the actor is one


@dataclass(frozen=True)
class AuditPage:
    events: tuple[AuditLine, ...]  # newest first
    next: str | None


@dataclass(frozen=True)
class StatusPlace:
    """Where a credential's status is kept: its list's entry, the value recorded in
    issuer.db and the value in the list as last signed (None when never published)."""

    purpose: str
    list_url: str
    list_id: str
    index: int
    recorded: int
    published: int | None


@dataclass(frozen=True)
class CredentialVersion:
    id: str
    revision: int
    state: str  # current, superseded, revoked
    cryptosuite: str
    decision_id: str | None
    issued_at: str
    state_changed_at: str
    status: tuple[StatusPlace, ...]


@dataclass(frozen=True)
class ShareLinkLine:
    """A share link without its token (which is not stored, so cannot leak)."""

    id: str
    created_at: str
    created_by: str | None
    expires_at: str | None
    revoked_at: str | None
    revoked_by: str | None
    state: str  # active, revoked, expired


@dataclass(frozen=True)
class CertificateView:
    id: str
    number: str
    person_id: str
    holder_name: str
    scheme_id: str
    scheme_version: int
    status: str
    status_since: str
    cycle: int
    valid_from: str
    valid_until: str
    suspended_until: str | None
    headline: Headline
    public_url: str
    scope: tuple[dict[str, Any], ...]
    credentials: tuple[CredentialVersion, ...]
    share_links: tuple[ShareLinkLine, ...]
    decisions: tuple[DecisionLine, ...]


@dataclass(frozen=True)
class SchemeLine:
    """One scheme in the list of schemes: its latest version and how many certifications it
    has (every status, from ``certification_counts``)."""

    scheme_id: str
    code: str
    name: str
    version: int
    validity_months: int
    accredited: bool
    certifications: int


@dataclass(frozen=True)
class SchemeVersionLine:
    version: int
    name: str
    normative_reference: str
    normative_reference_url: str | None
    validity_months: int
    recertification_window_months: int
    max_suspension_days: int
    publication_policy: str
    effective_from: str
    created_at: str


@dataclass(frozen=True)
class ScopeLine:
    code: str
    label: str
    level: str | None
    retired: bool
    added_in_version: int = 1  # the scheme version that added the item
    retired_in_version: int | None = None  # and the one that retired it


@dataclass(frozen=True)
class SchemePage:
    """One scheme: every version, newest first, the latest's texts, and its scope catalogue
    (every item with the versions that added and retired it)."""

    scheme_id: str
    code: str
    accredited: bool
    created_at: str
    versions: tuple[SchemeVersionLine, ...]  # newest first
    latest: dict[str, Any]  # the latest version's row, every field
    scope: tuple[ScopeLine, ...]
    certifications: int


@dataclass(frozen=True)
class StaffChoice:
    """An active staff member, as a form offers them (an examiner, a trainer)."""

    staff_id: str
    name: str
    roles: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# The reader


class ConsoleData:
    """The console's reads of one issuer.db. ``clock`` is the body's (tests drive it)."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.conn: sqlite3.Connection = db.conn
        self.clock = clock

    @classmethod
    def of(cls, body: BodyBase) -> ConsoleData:
        """The reader of a ``CertificationBody``: its database and its clock."""
        return cls(body.db, clock=body.clock)

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    # -- the dashboard --------------------------------------------------------------------

    def dashboard(self, *, due_limit: int = 10) -> Dashboard:
        schemes = self.counts()
        totals = {s.value: sum(c.counts[s.value] for c in schemes) for s in Status}
        due = tuple(self.due(kind, limit=due_limit) for kind in DUE_TITLES)
        return Dashboard(self.today(), schemes, totals, due, self.list_health(), self.chain())

    def counts(self) -> tuple[SchemeCounts, ...]:
        """Certifications by scheme and recorded status, from ``certification_counts``."""
        out: dict[str, SchemeCounts] = {}
        for scheme_id, code in self.conn.execute("SELECT id, code FROM schemes ORDER BY id"):
            out[scheme_id] = SchemeCounts(scheme_id, code, {s.value: 0 for s in Status})
        for scheme_id, status, n in self.conn.execute(
            "SELECT scheme_id, status, n FROM certification_counts"
        ):
            if scheme_id in out:
                out[scheme_id].counts[status] = n
        return tuple(out.values())

    def due(self, kind: str, *, after: str | None = None, limit: int = 25) -> DueList:
        """One list of decisions due (see :data:`DUE_TITLES`), soonest first, a page at a
        time: ``after`` is the ``next`` of the page before."""
        limit = _page_size(limit)
        segments = self._due_segments(kind)
        cursor = _due_cursor(after)
        count = sum(
            self.conn.execute(f"SELECT COUNT(*) {s.sql}", s.params).fetchone()[0] for s in segments
        )
        ranked = heapq.merge(*(self._segment_page(s, cursor, limit + 1) for s in segments))
        page = [row for _, row in zip(range(limit + 1), ranked, strict=False)]
        items = tuple(self._due_item(number) for _, _, number in page[:limit])
        more = len(page) > limit
        nxt = f"{page[limit - 1][0]}|{page[limit - 1][1]}" if more else None
        return DueList(kind, DUE_TITLES[kind], count, items, nxt)

    def _due_segments(self, kind: str) -> list[_Segment]:
        """Each segment is one index range whose rows come in (day, rowid) order, so that a
        page merges a few sorted ranges instead of sorting them all."""
        today = self.today()
        iso = today.isoformat()
        if kind == "suspension_overdue":  # as Queries.due: the deadline is before today
            return [
                _Segment(
                    "FROM certifications INDEXED BY certifications_suspended "
                    "WHERE status = 'SUSPENDED' AND suspended_until < ?",
                    (iso,),
                    "suspended_until",
                )
            ]
        if kind == "expiry_overdue":  # as Decisions.expire_due
            return [
                _Segment(
                    "FROM certifications INDEXED BY certifications_by_status "
                    "WHERE status = ? AND valid_until < ?",
                    (status, iso),
                    "valid_until",
                )
                for status in (Status.ACTIVE.value, Status.SUSPENDED.value)
            ]
        if kind == "expiring_this_month":
            first = today.replace(day=1).isoformat()
            last = (rules.add_months(today.replace(day=1), 1) - timedelta(days=1)).isoformat()
            return [
                _Segment(
                    "FROM certifications INDEXED BY certifications_by_status "
                    "WHERE status = ? AND valid_until BETWEEN ? AND ?",
                    (status, first, last),
                    "valid_until",
                )
                for status in (Status.ACTIVE.value, Status.SUSPENDED.value)
            ]
        if kind == "recertification_open":
            # recertify() checks the scheme's current version's window against today.
            segments = []
            for scheme_id, window in self.conn.execute(
                "SELECT v.scheme_id, v.recertification_window_months FROM scheme_versions v "
                "WHERE v.version = (SELECT MAX(version) FROM scheme_versions "
                "WHERE scheme_id = v.scheme_id) ORDER BY v.scheme_id"
            ):
                latest = last_expiry_in_window(today, window)
                segments.append(
                    _Segment(
                        "FROM certifications INDEXED BY certifications_by_scheme_expiry "
                        "WHERE status = 'ACTIVE' AND scheme_id = ? AND valid_until BETWEEN ? AND ?",
                        (scheme_id, iso, latest.isoformat()),
                        "valid_until",
                    )
                )
            return segments
        raise Invalid(f"unknown list of decisions due {kind!r}; use one of {', '.join(DUE_TITLES)}")

    def _segment_page(
        self, segment: _Segment, cursor: tuple[str, int] | None, n: int
    ) -> list[tuple[str, int, str]]:
        sql = f"SELECT {segment.day}, rowid, number {segment.sql}"
        params: tuple[Any, ...] = segment.params
        if cursor is not None:
            sql += f" AND {segment.day} >= ? AND ({segment.day} > ? OR rowid > ?)"
            params = (*params, cursor[0], cursor[0], cursor[1])
        sql += f" ORDER BY {segment.day}, rowid LIMIT ?"
        return [(day, rowid, number) for day, rowid, number in self.conn.execute(sql, (*params, n))]

    def _due_item(self, number: str) -> DueItem:
        row = self.conn.execute(
            "SELECT c.number, c.scheme_id, c.person_id, p.full_name, c.status, "
            "CASE WHEN c.status = 'SUSPENDED' AND c.suspended_until IS NOT NULL "
            "THEN c.suspended_until ELSE c.valid_until END "
            "FROM certifications c JOIN persons p ON p.id = c.person_id WHERE c.number = ?",
            (number,),
        ).fetchone()
        return DueItem(*row)

    def list_health(self) -> tuple[ListHealth, ...]:
        """Each status list: how full, how many entries set, and how long its latest signed
        version stays valid (``refresh_due`` re-signs it before it lapses)."""
        now = self.clock()
        out = []
        for list_id, purpose, entries, allocated, version, valid_until in self.conn.execute(
            "SELECT l.id, l.purpose, l.entries, l.allocated, l.version, v.valid_until "
            "FROM status_lists l LEFT JOIN status_list_versions v "
            "ON v.list_id = l.id AND v.version = l.version ORDER BY l.purpose, l.created_at, l.id"
        ).fetchall():
            (set_entries,) = self.conn.execute(
                "SELECT COUNT(*) FROM status_entries WHERE list_id = ? AND value != 0",
                (list_id,),
            ).fetchone()
            left = parse_datetime(valid_until) - now if valid_until else None
            lapsed = left is None or left <= timedelta(0)
            out.append(
                ListHealth(
                    list_id,
                    purpose,
                    entries,
                    allocated,
                    set_entries,
                    version,
                    valid_until,
                    left,
                    lapsed,
                )
            )
        return tuple(out)

    def chain(self) -> ChainState:
        head = self.conn.execute(
            "SELECT seq, hash, at FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq, digest, at = head if head else (None, None, None)
        last = self.conn.execute(
            "SELECT seq, head_hash, at FROM checkpoints ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        matches = None
        if last is not None:
            found = self.conn.execute("SELECT hash FROM events WHERE seq = ?", (last[0],))
            row = found.fetchone()
            matches = row is not None and row[0] == last[1]
        # seq runs 1, 2, 3... without gaps (audit.checkpoint relies on it too): the count.
        return ChainState(
            events=seq or 0,
            head_seq=seq,
            head_hash=digest,
            head_at=at,
            checkpoint_seq=last[0] if last else None,
            checkpoint_at=last[2] if last else None,
            since_checkpoint=(seq or 0) - (last[0] if last else 0),
            checkpoint_matches=matches,
        )

    def verify_chain(self, key_store: Path | None = None) -> audit.AuditReport:
        """The whole chain verified, as ``certreg audit verify`` does: the checkpoints'
        signatures are checked against the key store's key history when ``key_store`` is
        given and exists (the CLI's default is the data folder's ``keys``)."""
        key_lookup = None
        if key_store is not None and Path(key_store).exists():
            from certreg.keys.store import KeyStore  # only this call needs the key store

            key_lookup = audit.key_history_lookup(KeyStore(key_store).keys())
        return audit.verify(self.db, key_lookup=key_lookup)

    # -- search ---------------------------------------------------------------------------

    def search(
        self, query: str, *, by: SearchKey = "any", after: str | None = None, limit: int = 25
    ) -> SearchPage:
        """Candidates and holders found by ``query``, newest first, a page at a time.

        ``by`` names the key; ``any`` reads the query as an e-mail address when it has an
        ``@``, as a certificate number or an external id when one matches exactly, and as a
        name otherwise. A number matches whatever its spacing or case; an e-mail address
        whatever its case; a name by the beginnings of its words, whatever their case and
        accents (``mull jo`` finds Jörg Müller)."""
        limit = _page_size(limit)
        if by not in ("any", "name", "number", "external_id", "email"):
            raise Invalid(f"unknown search key {by!r}; use any, name, number, external_id or email")
        text = query.strip()
        key = by if by != "any" else self._guess_key(text)
        start = _key_cursor(after)
        if not text:
            return SearchPage(query, key, (), None)
        if key == "name":
            match = _match_expression(text)
            if match is None:
                return SearchPage(query, key, (), None)
            rows = self.conn.execute(
                "SELECT s.rowid, k.person_id FROM person_search s "
                "JOIN person_keys k ON k.n = s.rowid "
                "WHERE person_search MATCH ? AND s.rowid < ? ORDER BY s.rowid DESC LIMIT ?",
                (match, start, limit + 1),
            ).fetchall()
        else:
            where = {
                "number": "p.id IN (SELECT person_id FROM certifications WHERE number = ?)",
                "external_id": "(p.external_id = ? OR p.id IN "
                "(SELECT person_id FROM certifications WHERE external_id = ?))",
                "email": "p.email = ? COLLATE NOCASE",
            }[key]
            value = normalise(text) if key == "number" else text
            rows = self.conn.execute(
                "SELECT k.n, p.id FROM persons p JOIN person_keys k ON k.person_id = p.id "
                f"WHERE {where} AND k.n < ? ORDER BY k.n DESC LIMIT ?",
                (*[value] * where.count("?"), start, limit + 1),
            ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        hits = self._hits([person_id for _, person_id in rows])
        return SearchPage(query, key, hits, str(rows[-1][0]) if more else None)

    def _guess_key(self, text: str) -> str:
        if "@" in text:
            return "email"
        if self.conn.execute(
            "SELECT 1 FROM certifications WHERE number = ?", (normalise(text),)
        ).fetchone():
            return "number"
        if self.conn.execute(
            "SELECT 1 FROM persons WHERE external_id = ?1 UNION ALL "
            "SELECT 1 FROM certifications WHERE external_id = ?1 LIMIT 1",
            (text,),
        ).fetchone():
            return "external_id"
        return "name"

    def _hits(self, person_ids: Sequence[str]) -> tuple[PersonHit, ...]:
        if not person_ids:
            return ()
        marks = ",".join("?" * len(person_ids))
        people = {
            row["person_id"]: row
            for row in self._dicts(
                "SELECT id AS person_id, full_name, email, external_id FROM persons "
                f"WHERE id IN ({marks})",
                tuple(person_ids),
            )
        }
        held: dict[str, list[HeldCertification]] = {pid: [] for pid in person_ids}
        for cert in self._dicts(
            "SELECT person_id, number, scheme_id, status, valid_until FROM certifications "
            f"WHERE person_id IN ({marks}) ORDER BY valid_from, number",
            tuple(person_ids),
        ):
            held[cert.pop("person_id")].append(HeldCertification(**cert))
        return tuple(
            PersonHit(**people[pid], certifications=tuple(held[pid])) for pid in person_ids
        )

    def _dicts(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        """Rows as dicts by column name (the SQL names its columns as the dataclasses do)."""
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    # -- a person's page --------------------------------------------------------------------

    def person(self, person_id: str) -> PersonPage:
        found = self._dicts(
            "SELECT id AS person_id, full_name, email, external_id, birth_date, country, "
            "consent_publish, notes, created_at FROM persons WHERE id = ?",
            (person_id,),
        )
        if not found:
            raise NotFound(f"no person {person_id!r}")
        (person,) = found
        person["consent_publish"] = bool(person["consent_publish"])
        assessments = []
        for a in self._dicts(
            "SELECT id, scheme_id, scheme_version, kind, result, score, assessed_on, "
            "scope_codes, notes, created_at FROM assessments WHERE person_id = ? "
            "ORDER BY assessed_on, created_at, id",
            (person_id,),
        ):
            a["scope_codes"] = tuple(code for code in a["scope_codes"].split(",") if code)
            assessments.append(AssessmentLine(**a))
        involvements = tuple(
            Involvement(**i)
            for i in self._dicts(
                "SELECT i.staff_id, s.name AS staff_name, i.role, i.assessment_id, i.recorded_at "
                "FROM involvements i JOIN staff s ON s.id = i.staff_id "
                "WHERE i.person_id = ? ORDER BY i.recorded_at, i.rowid",
                (person_id,),
            )
        )
        today = self.today()
        certifications = tuple(
            CertificationLine(**c, headline=headline(_dates(c), today))
            for c in self._dicts(
                "SELECT id, number, scheme_id, scheme_version, status, status_since, cycle, "
                "valid_from, valid_until, suspended_until FROM certifications "
                "WHERE person_id = ? ORDER BY valid_from, number",
                (person_id,),
            )
        )
        return PersonPage(
            **person,
            assessments=tuple(assessments),
            involvements=involvements,
            certifications=certifications,
            decisions=self._decisions("d.person_id = ?", (person_id,)),
        )

    def _decisions(self, where: str, params: tuple[Any, ...]) -> tuple[DecisionLine, ...]:
        lines = []
        for d in self._dicts(
            "SELECT d.id, d.type, c.number, d.scheme_id, d.decided_by, s.name AS decided_by_name, "
            "d.decided_at, d.effective_date, d.reason, d.evidence, d.details, d.appeal_of "
            "FROM decisions d LEFT JOIN certifications c ON c.id = d.certification_id "
            "LEFT JOIN staff s ON s.id = d.decided_by "
            f"WHERE {where} ORDER BY d.decided_at, d.rowid",
            params,
        ):
            d["details"] = json.loads(d["details"])
            lines.append(DecisionLine(**d))
        return tuple(lines)

    # -- the audit log ----------------------------------------------------------------------

    def audit_log(
        self,
        *,
        person: str | None = None,
        certificate: str | None = None,
        kind: str | None = None,
        since: date | str | None = None,
        until: date | str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> AuditPage:
        """Events of the audit chain, newest first, a page at a time. ``person`` (a person
        id) takes the events about them and about their certifications; ``certificate`` (a
        number, any spacing or case) the events about it; ``kind`` one kind of event;
        ``since`` and ``until`` are days, both included."""
        limit = _page_size(limit)
        where: list[str] = []
        params: list[Any] = []
        subjects: set[str] | None = None
        if person is not None:
            subjects = {person}
            for cid, number in self.conn.execute(
                "SELECT id, number FROM certifications WHERE person_id = ?", (person,)
            ):
                subjects |= {cid, number}
        if certificate is not None:
            found = self.conn.execute(
                "SELECT id, number FROM certifications WHERE number = ?",
                (normalise(certificate),),
            ).fetchone()
            mine = set(found) if found else set()
            subjects = mine if subjects is None else subjects & mine
        if subjects is not None:
            if not subjects:
                return AuditPage((), None)
            where.append(f"subject IN ({','.join('?' * len(subjects))})")
            params += sorted(subjects)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if since is not None:
            where.append("at >= ?")
            params.append(_day(since, "since").isoformat())
        if until is not None:
            where.append("at < ?")
            params.append((_day(until, "until") + timedelta(days=1)).isoformat())
        if after is not None:
            at, seq = _audit_cursor(after)
            # The bound on its own lets the index start at the cursor, not at the newest row.
            where.append("at <= ? AND (at < ? OR seq < ?)")
            params += [at, at, seq]
        # The staff table has none of the events' column names: the filters stay unqualified.
        sql = (
            "SELECT seq, at, kind, actor, subject, payload, hash, staff.name FROM events "
            "LEFT JOIN staff ON staff.id = events.actor"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.conn.execute(
            sql + " ORDER BY at DESC, seq DESC LIMIT ?", (*params, limit + 1)
        ).fetchall()
        lines = tuple(
            AuditLine(seq, at, k, actor, subject, json.loads(payload), digest, name)
            for seq, at, k, actor, subject, payload, digest, name in rows[:limit]
        )
        nxt = f"{lines[-1].at}|{lines[-1].seq}" if len(rows) > limit else None
        return AuditPage(lines, nxt)

    def event_kinds(self) -> tuple[str, ...]:
        """Every kind of event in the chain (for the log's filter), from the kind index."""
        kinds = []
        row = self.conn.execute("SELECT MIN(kind) FROM events").fetchone()
        while row and row[0] is not None:  # one index seek per kind, not a scan of the log
            kinds.append(row[0])
            row = self.conn.execute("SELECT MIN(kind) FROM events WHERE kind > ?", row).fetchone()
        return tuple(kinds)

    # -- a certificate's staff view -----------------------------------------------------------

    def certificate(self, number: str) -> CertificateView:
        found = self._dicts(
            "SELECT c.id, c.number, c.person_id, p.full_name AS holder_name, c.scheme_id, "
            "c.scheme_version, c.status, c.status_since, c.cycle, c.valid_from, c.valid_until, "
            "c.suspended_until FROM certifications c JOIN persons p ON p.id = c.person_id "
            "WHERE c.number = ?",
            (normalise(number),),
        )
        if not found:
            raise NotFound(f"no certification numbered {number!r}")
        (cert,) = found
        (public_url,) = self.conn.execute("SELECT public_url FROM body WHERE id = 1").fetchone()
        scope = tuple(
            self._dicts(
                "SELECT s.scope_code AS code, COALESCE(i.label, s.scope_code) AS label, "
                "s.conditions, s.status, s.since FROM certification_scope s "
                "LEFT JOIN scope_items i ON i.scheme_id = ? AND i.code = s.scope_code "
                "WHERE s.certification_id = ? ORDER BY s.scope_code",
                (cert["scheme_id"], cert["id"]),
            )
        )
        published = _PublishedBits(self.conn)
        credentials = []
        for c in self._dicts(
            "SELECT id, revision, state, cryptosuite, decision_id, issued_at, "
            "state_changed_at, document FROM credentials WHERE certification_id = ? "
            "ORDER BY revision",
            (cert["id"],),
        ):
            places = self._places(json.loads(c.pop("document")), published)
            credentials.append(CredentialVersion(**c, status=places))
        now = self.clock()
        shares = tuple(
            ShareLinkLine(
                **link, state=ShareLink(certificate_number=cert["number"], **link).state(now)
            )
            for link in self._dicts(
                "SELECT id, created_at, created_by, expires_at, revoked_at, revoked_by "
                "FROM share_links WHERE certification_id = ? ORDER BY created_at, id",
                (cert["id"],),
            )
        )
        return CertificateView(
            **cert,
            headline=headline(_dates(cert), self.today()),
            public_url=f"{public_url.rstrip('/')}/c/{cert['number']}",
            scope=scope,
            credentials=tuple(credentials),
            share_links=shares,
            decisions=self._decisions("d.certification_id = ?", (cert["id"],)),
        )

    def _places(
        self, document: dict[str, Any], published: _PublishedBits
    ) -> tuple[StatusPlace, ...]:
        """The entries the signed credential names, read back from where issuer.db keeps
        them (the list id is the last part of the list's URL, as ``status_columns`` reads
        it)."""
        entries = document.get("credentialStatus") or []
        places = []
        for entry in entries if isinstance(entries, list) else [entries]:
            url = entry["statusListCredential"]
            list_id, index = url.rsplit("/", 1)[1], int(entry["statusListIndex"])
            found = self.conn.execute(
                "SELECT value FROM status_entries WHERE list_id = ? AND idx = ?", (list_id, index)
            ).fetchone()
            places.append(
                StatusPlace(
                    entry["statusPurpose"],
                    url,
                    list_id,
                    index,
                    found[0] if found else 0,
                    published.get(list_id, index),
                )
            )
        return tuple(places)

    # -- schemes and staff (the officers' forms) ------------------------------------------

    def schemes(self) -> tuple[SchemeLine, ...]:
        """Every scheme with its latest version, by id (a body has a handful)."""
        rows = self.conn.execute(
            "SELECT s.id, s.code, v.name, v.version, v.validity_months, s.accredited, "
            "(SELECT COALESCE(SUM(n), 0) FROM certification_counts c WHERE c.scheme_id = s.id) "
            "FROM schemes s JOIN scheme_versions v ON v.scheme_id = s.id AND v.version = "
            "(SELECT MAX(version) FROM scheme_versions WHERE scheme_id = s.id) ORDER BY s.id"
        )
        return tuple(
            SchemeLine(sid, code, name, version, months, bool(accredited), n)
            for sid, code, name, version, months, accredited, n in rows
        )

    def scheme(self, scheme_id: str) -> SchemePage:
        """One scheme's versions and scope catalogue; NotFound for an unknown id."""
        head = self.conn.execute(
            "SELECT code, accredited, created_at FROM schemes WHERE id = ?", (scheme_id,)
        ).fetchone()
        if head is None:
            raise NotFound(f"no scheme {scheme_id!r}")
        rows = self._dicts(
            "SELECT * FROM scheme_versions WHERE scheme_id = ? ORDER BY version DESC",
            (scheme_id,),
        )
        versions = tuple(
            SchemeVersionLine(**{f: r[f] for f in SchemeVersionLine.__dataclass_fields__})
            for r in rows
        )
        scope = tuple(
            ScopeLine(code, label, level, bool(retired), added, retired_in)
            for code, label, level, retired, added, retired_in in self.conn.execute(
                "SELECT code, label, level, retired, added_in_version, retired_in_version "
                "FROM scope_items WHERE scheme_id = ? ORDER BY code",
                (scheme_id,),
            )
        )
        (count,) = self.conn.execute(
            "SELECT COALESCE(SUM(n), 0) FROM certification_counts WHERE scheme_id = ?",
            (scheme_id,),
        ).fetchone()
        return SchemePage(
            scheme_id, head[0], bool(head[1]), head[2], versions, rows[0], scope, count
        )

    def staff_choices(self) -> tuple[StaffChoice, ...]:
        """Active staff, by name: who may be picked as an examiner or a trainer."""
        return tuple(
            StaffChoice(sid, name, tuple(r for r in roles.split(",") if r))
            for sid, name, roles in self.conn.execute(
                "SELECT id, name, roles FROM staff WHERE active ORDER BY name, id"
            )
        )


# --------------------------------------------------------------------------------------------
# Helpers


def last_expiry_in_window(today: date, window_months: int) -> date:
    """The latest last valid day whose recertification window is open ``today``, found by
    asking ``rules.recertification_window`` itself (the window opens ``window_months``
    calendar months before expiry, so it is open for every expiry up to this day)."""
    day = rules.add_months(today, window_months)
    while rules.recertification_window(today, day, window_months) is not None:
        day -= timedelta(days=1)
    while rules.recertification_window(today, day + timedelta(days=1), window_months) is None:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class _Segment:
    sql: str  # FROM ... WHERE ...
    params: tuple[Any, ...]
    day: str  # the column the segment is ordered by


@dataclass(frozen=True)
class _Dates:
    """The four fields :func:`certreg.verifier.standing.headline` reads."""

    status: str
    status_since: str
    valid_from: str
    valid_until: str


def _dates(row: dict[str, Any]) -> _Dates:
    return _Dates(row["status"], row["status_since"], row["valid_from"], row["valid_until"])


class _PublishedBits:
    """The value of an entry in its list's latest signed version, each list decoded once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.lists: dict[str, Bitstring | None] = {}

    def get(self, list_id: str, index: int) -> int | None:
        if list_id not in self.lists:
            found = self.conn.execute(
                "SELECT v.credential FROM status_lists l JOIN status_list_versions v "
                "ON v.list_id = l.id AND v.version = l.version WHERE l.id = ?",
                (list_id,),
            ).fetchone()
            bits = None
            if found:
                subject = json.loads(found[0])["credentialSubject"]
                bits = Bitstring.decode(subject["encodedList"], int(subject.get("statusSize", 1)))
            self.lists[list_id] = bits
        bits = self.lists[list_id]
        return bits.get(index) if bits is not None and index < len(bits) else None


def _page_size(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"a page holds 1 to {MAX_PAGE} rows, not {limit!r}")
    return limit


_NO_CURSOR = 1 << 62  # above every person key


def _key_cursor(after: str | None) -> int:
    if after is None:
        return _NO_CURSOR
    if not re.fullmatch(r"\d{1,18}", after):
        raise Invalid(f"{after!r} is not a page of this search")
    return int(after)


def _due_cursor(after: str | None) -> tuple[str, int] | None:
    if after is None:
        return None
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})\|(\d{1,18})", after)
    if m is None:
        raise Invalid(f"{after!r} is not a page of this list")
    return m.group(1), int(m.group(2))


def _audit_cursor(after: str) -> tuple[str, int]:
    m = re.fullmatch(r"([^|]{1,64})\|(\d{1,18})", after)
    if m is None:
        raise Invalid(f"{after!r} is not a page of the audit log")
    return m.group(1), int(m.group(2))


def _day(value: date | str, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{what} must be a date (YYYY-MM-DD), not {value!r}") from None


def _match_expression(text: str) -> str | None:
    """An FTS5 query: every word of ``text`` as the beginning of a word of the name. Only
    letters and digits reach FTS5 (each word quoted), so no input is read as its syntax;
    case and accents are folded by the index's tokenizer, in the query as in the names."""
    words = re.findall(r"\w+", text)[:8]
    if not words:
        return None
    return " AND ".join(f'"{w}"*' for w in words)
