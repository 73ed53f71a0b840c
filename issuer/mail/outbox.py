"""The outbox: holders' mail queued in issuer.db in the transaction of the decision it tells.

:func:`queue_for_events` is called by the lifecycle's one event writer
(``BodyBase._append_events``) with the audit events it has just appended, inside the
decision's transaction. For each decision a holder is told about (:data:`MAILED`) whose person
has an e-mail address, it renders the mail and inserts one ``mail_outbox`` row. So:

* a decision that rolls back queues nothing (the row goes with it);
* a decision that commits has its mail queued, whatever happens to the process afterwards;
* the same event never queues twice: ``UNIQUE (event_seq, recipient)``.

Sending is the worker's (:mod:`.worker`). The rendered mail is stored here, and nowhere else,
but for the grant's share link: the worker makes it when it sends (:data:`SHARE_LINK`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from certreg.i18n import DEFAULT, format_date
from certreg.issuer import audit
from certreg.issuer.audit import Event
from certreg.issuer.db import transaction
from certreg.issuer.logo import body_logo
from certreg.issuer.mail.language import default_language, language_of
from certreg.issuer.mail.render import SUBJECTS, render
from certreg.issuer.mail.unsubscribe import UNSUBSCRIBE_LINK

#: The Content-ID of the body's logo in a mail's HTML part (``<img src="cid:...">``).
LOGO_CID = "body-logo@certreg"

if TYPE_CHECKING:  # the lifecycle imports this module: no import back at run time
    from certreg.issuer.service import CertificationBody as BodyBase

#: Where the grant's mail says the holder's share link. The worker makes the link when it
#: sends the mail and puts its URL here: issuer.db keeps only the SHA-256 of a share token
#: (issuer.sharing), and a queued mail must not be the one place that holds one in clear.
SHARE_LINK = "@@certreg-share-link@@"

#: Audit event kind -> the decision a holder is told about.
MAILED = {f"decision_{kind}": kind for kind in SUBJECTS if kind != "reminder"}
#: Days before the end of validity when a holder is reminded (``certreg mail remind``).
REMINDER_DAYS = (90, 30, 7)


@dataclass(frozen=True)
class OutboxRow:
    """One mail of the outbox, as staff see it (``certreg mail list``)."""

    id: int
    event_seq: int
    kind: str
    recipient: str
    subject: str
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    sent_at: str | None
    number: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def queue_for_events(body: BodyBase, events: Iterable[Event]) -> int:
    """Queue the holder's mail of each decision event in ``events`` (in the caller's
    transaction); return how many were queued. What the mails share (the body's name, logo and
    default language, the schemes' names and scope labels) is read once per call, and the
    certifications, holders and decisions they tell about in a few queries: bulk issuance
    queues its batch's mails in one call."""
    mailed = [
        (event, kind)
        for event in events
        if (kind := MAILED.get(event.kind)) is not None and event.subject is not None
    ]
    if not mailed:
        return 0
    shared = _Shared(body)
    shared.read([event for event, _ in mailed])
    mails = [mail for event, kind in mailed if (mail := _mail(shared, event, kind)) is not None]
    return _insert(body.db, mails)


class _Shared:
    """What the mails queued in one transaction share, each read once when first needed."""

    def __init__(self, body: BodyBase) -> None:
        self.db = body.db
        info = body.info
        self.body_name = info["legal_name"]
        self.base = str(info["public_url"]).rstrip("/")
        # The body's logo travels inside the mail (LOGO_CID, attached by the worker), never
        # fetched from a server when the mail is opened: a remote image is a tracking pixel.
        self.logo_cid = LOGO_CID if body_logo(body) is not None else ""
        self.now = body._now()
        self._default_language: str | None = None
        self._labels: dict[str, dict[str, str]] = {}
        self._schemes: dict[tuple[str, int], str | None] = {}
        # The rows the mails of ``events`` tell about, by id (:meth:`read`).
        self.certifications: dict[str, dict[str, Any]] = {}
        self.persons: dict[str, dict[str, Any]] = {}
        self.decisions: dict[str, dict[str, Any]] = {}

    def read(self, events: list[Event]) -> None:
        """The certifications, holders and decisions of ``events``' mails, a few queries
        for the lot rather than three per mail. Only the columns a mail uses (:func:`_mail`):
        a decision's evidence or a certification's dates it does not tell are not read back."""
        self.certifications = _by_id(
            self.db,
            "SELECT id, person_id, number, scheme_id, scheme_version, valid_until "
            "FROM certifications",
            [e.subject for e in events],
        )
        self.persons = _by_id(
            self.db,
            "SELECT id, full_name, email, language FROM persons",
            [c["person_id"] for c in self.certifications.values()],
        )
        self.decisions = _by_id(
            self.db,
            "SELECT id, details, effective_date, reason FROM decisions",
            [e.payload.get("decision") for e in events],
        )

    def language(self, person: dict[str, Any] | None) -> str:
        if self._default_language is None:
            self._default_language = default_language(self.db)
        return language_of(self.db, person, default=self._default_language)

    def labels(self, scheme_id: str) -> dict[str, str]:
        if scheme_id not in self._labels:
            self._labels[scheme_id] = dict(
                self.db.execute(
                    "SELECT code, label FROM scope_items WHERE scheme_id = ?", [scheme_id]
                ).fetchall()
            )
        return self._labels[scheme_id]

    def scheme_name(self, scheme_id: str, version: int) -> str | None:
        key = (scheme_id, version)
        if key not in self._schemes:
            row = self.db.execute(
                "SELECT name FROM scheme_versions WHERE scheme_id = ? AND version = ?",
                [scheme_id, version],
            ).fetchone()
            self._schemes[key] = row[0] if row else None
        return self._schemes[key]


def _queue(
    body: BodyBase,
    event: Event,
    kind: str,
    *,
    extra: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> int:
    """Queue the one mail of ``event`` (a reminder's); return 1, or 0 if none was queued."""
    shared = _Shared(body)
    shared.read([event])
    mail = _mail(shared, event, kind, extra=extra, dedupe_key=dedupe_key)
    return _insert(body.db, [mail] if mail is not None else [])


def _insert(db: Any, mails: list[list[Any]]) -> int:
    if not mails:
        return 0
    cursor = db.conn.executemany(
        "INSERT OR IGNORE INTO mail_outbox (event_seq, kind, certification_id, recipient, "
        "subject, text, html, next_attempt_at, created_at, dedupe_key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        mails,
    )
    return cursor.rowcount  # rows inserted, over the whole executemany


def _mail(
    shared: _Shared,
    event: Event,
    kind: str,
    *,
    extra: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> list[Any] | None:
    """The outbox row of ``event``'s mail, rendered; None when its holder has no address."""
    cert = shared.certifications.get(str(event.subject))
    if cert is None:
        return None
    person = shared.persons.get(cert["person_id"])
    recipient = (person or {}).get("email") or ""
    if "@" not in recipient:
        return None  # no address (or none usable): nothing to send, nothing queued
    decision = shared.decisions.get(str(event.payload.get("decision")))
    details = json.loads(decision["details"]) if decision else {}
    base = shared.base
    # Written now, in the holder's language of now: a language chosen after the mail is queued
    # applies to the next mail (the outbox keeps what it will send, as staff see it).
    lang = shared.language(person)
    # The pages the mail links to open in that language too (English: as the reader's browser
    # asks, as before).
    in_lang = "" if lang == DEFAULT else f"?lang={lang}"
    labels = shared.labels(cert["scheme_id"])
    scheme = shared.scheme_name(cert["scheme_id"], cert["scheme_version"])

    def named(codes: Iterable[str]) -> list[str]:
        return [f"{labels[c]} ({c})" if c in labels else c for c in codes]

    context: dict[str, Any] = {
        "body_name": shared.body_name,
        "logo_cid": shared.logo_cid,
        "body_url": base,
        "holder_name": person["full_name"] if person else "",
        "number": cert["number"],
        "scheme_name": scheme if scheme is not None else cert["scheme_id"],
        "cert_url": f"{base}/c/{quote(cert['number'], safe='')}{in_lang}",
        # The decision's event is written before its new state: a recertification's new
        # end of validity is in its details.
        "valid_until": _day(details.get("valid_until") or cert["valid_until"], lang),
        "effective": _day(decision["effective_date"], lang) if decision else "",
        "reason": decision["reason"] if decision else "",
        "deadline": _day(details.get("until", ""), lang),
        "scope": named(g["code"] for g in details.get("scope", [])),
        "removed": named(details.get("removed", [])),
        "added": named(g["code"] for g in details.get("added", [])),
        # Made by the worker when it sends (see SHARE_LINK): never stored in clear here.
        "share_url": SHARE_LINK + in_lang if kind == "grant" else "",
        # The same for a reminder's unsubscribe link (issuer.mail.unsubscribe).
        "unsubscribe_url": UNSUBSCRIBE_LINK + in_lang if kind == "reminder" else "",
    } | (extra or {})
    subject, text, html = render(kind, context, lang)
    now = shared.now
    return [event.seq, kind, cert["id"], recipient, subject, text, html, now, now, dedupe_key]


def queue_reminders(body: BodyBase, days: Iterable[int] = REMINDER_DAYS) -> int:
    """Queue a reminder for each ACTIVE certification whose holder has an address and whose
    validity ends within one of ``days`` (e.g. 90, 30, 7) from today; return how many.

    Run daily (``certreg mail remind``). A certification gets one reminder per threshold and
    cycle: the nearest threshold reached, so one first seen 25 days before its end gets the
    30-day reminder only, never the 90-day one late. Each reminder is an audit event
    (``expiry_reminder``) and its outbox row, in one transaction. A person who unsubscribed
    from reminders (``mail_opt_outs``, issuer.mail.unsubscribe) gets none."""
    thresholds = sorted({int(d) for d in days if int(d) > 0})
    if not thresholds:
        return 0
    today = body._today()
    last = (today + timedelta(days=thresholds[-1])).isoformat()
    due = body.db.execute(
        "SELECT c.id, c.cycle, c.valid_until FROM certifications c "
        "JOIN persons p ON p.id = c.person_id WHERE c.status = 'ACTIVE' "
        "AND c.valid_until >= ? AND c.valid_until <= ? AND p.email LIKE '%_@_%' "
        "AND NOT EXISTS (SELECT 1 FROM mail_opt_outs o WHERE o.person_id = p.id) "
        "ORDER BY c.valid_until",
        [today.isoformat(), last],
    ).fetchall()
    queued = 0
    for cert_id, cycle, valid_until in due:
        left = (date.fromisoformat(valid_until) - today).days
        threshold = next(d for d in thresholds if left <= d)
        key = f"reminder:{cert_id}:{cycle}:{threshold}"
        with transaction(body.db):
            if body.db.execute("SELECT 1 FROM mail_outbox WHERE dedupe_key = ?", [key]).fetchone():
                continue
            (event,) = audit.append_many(
                body.db,
                [("expiry_reminder", None, cert_id, {"days": threshold, "cycle": cycle})],
                at=body._now(),
            )
            queued += _queue(body, event, "reminder", extra={"days_left": left}, dedupe_key=key)
    return queued


def _by_id(db: Any, select: str, ids: Iterable[object]) -> dict[str, dict[str, Any]]:
    """``select``'s rows whose ``id`` is one of ``ids``, as dicts, by id."""
    wanted = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        cursor = db.execute(f"{select} WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        columns = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            record = dict(zip(columns, row, strict=True))
            found[record["id"]] = record
    return found


#: Ids per ``IN (...)`` query: well under SQLite's limit on a statement's parameters.
_CHUNK = 500


def _day(value: str | None, lang: str = DEFAULT) -> str:
    """A date as a holder reads it: 31 December 2027, 31. Dezember 2027."""
    if not value:
        return ""
    return _written_day(value[:10], lang)


@lru_cache(maxsize=4096)
def _written_day(day: str, lang: str) -> str:
    """Babel writes a date in ~35 µs; a bulk run's mails share a handful of dates."""
    return format_date(date.fromisoformat(day), lang)


def list_outbox(db: Any, *, failed_only: bool = False, limit: int = 200) -> list[OutboxRow]:
    """The outbox, newest first: all of it, or only what did not go (failed or bounced)."""
    where = "WHERE o.state IN ('failed', 'bounced')" if failed_only else ""
    cursor = db.execute(
        "SELECT o.id, o.event_seq, o.kind, o.recipient, o.subject, o.state, o.attempts, "
        "o.next_attempt_at, o.last_error, o.created_at, o.sent_at, c.number "
        f"FROM mail_outbox o LEFT JOIN certifications c ON c.id = o.certification_id {where} "
        "ORDER BY o.id DESC LIMIT ?",
        [limit],
    )
    return [OutboxRow(*row) for row in cursor.fetchall()]
