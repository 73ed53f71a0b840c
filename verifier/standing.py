"""The one status vocabulary: what a certificate's status is called, and how it is worded.

The public certificate page, its PDF, the holder's share page and the verifier all say where a
certificate stands; they say it with :func:`headline` (or, for the verifier, which knows only
its verdict and the signed dates, :func:`words`), so the same certificate reads the same
everywhere: ``VALID until 12 March 2029``, ``NOT YET VALID: from 1 April 2026``,
``SUSPENDED since 3 March 2026``, ``WITHDRAWN on 5 March 2026``, ``EXPIRED on 12 March 2029``.

This module also owns the names those words are about: the recorded :class:`Status`, the public
:class:`Standing`, the register's publication :class:`Policy`, and :class:`CertificateRecord`,
the public record the pages are drawn from. It lives in the verifier because the register and
the issuer may import the verifier, and the verifier imports neither.

**Dates.** ``validFrom`` and ``validUntil`` are instants; certreg writes the first day at
``T00:00:00Z`` and the last day at ``T23:59:59Z`` (``issuer.db`` and ``register.db`` keep the
two days as plain dates, meaning the same instants). Both bounds are inclusive, as in the
verifier's validity check. Every date shown is the UTC calendar date of its instant: the body
has no time zone setting, the issuer's clock and the signed credential are in UTC, and a
verifier that only holds the credential can only use UTC; so an employer in Tokyo and one in
Lisbon read the same date, the date the issuer signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any, Protocol

from certreg.i18n import DEFAULT, format_date, translator

__all__ = [
    "CertificateRecord",
    "Dated",
    "Headline",
    "HistoryLine",
    "Policy",
    "ScopeLine",
    "Standing",
    "Status",
    "as_day",
    "expiry_day",
    "headline",
    "plain_date",
    "standing_of",
    "words",
]


class Status(StrEnum):
    """A certification's recorded status (the ``status`` column of issuer.db and register.db).

    Scope changes, recertification and corrections keep a certification ACTIVE: they change
    its scope lines and credential, not its status."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"


class Standing(StrEnum):
    """Where a certificate stands for the public on a given day: its recorded status read
    against its dates. The values are the verifier's verdicts of the same names."""

    VALID = "VALID"
    NOT_YET_VALID = "NOT_YET_VALID"  # granted, effective date still ahead
    SUSPENDED = "SUSPENDED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"  # recorded as expired, or past its last day and not yet recorded

    @property
    def css(self) -> str:
        """The page's CSS class for this standing (``register/datasette/templates``)."""
        return self.value.lower()


class Policy(StrEnum):
    """A scheme's publication policy in the public register (``register.push``)."""

    DIRECTORY = "directory"  # listed, searchable, with the holder's name where consented
    NUMBER_LOOKUP = "number_lookup"  # found only by someone who already holds the number
    ON_REQUEST = "on_request"  # not in the register; the body answers enquiries


def as_day(value: Any) -> date | None:
    """The UTC calendar date of an ISO date, an ISO date-time (any offset) or a datetime;
    None when ``value`` is none of these."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def plain_date(value: Any, lang: str = DEFAULT) -> str:
    """``14 January 2029`` (``14. Januar 2029`` in German…) from an ISO date or date-time (UTC),
    independent of the machine's locale; the text itself when it is not a date."""
    day = as_day(value)
    if day is None:
        return str(value) if value else ""
    return format_date(day, lang)


def expiry_day(valid_until: Any) -> date | None:
    """The date of expiry: the last day the certificate is valid, which is the UTC date of the
    ``validUntil`` instant. "VALID until", "EXPIRED on", the page's and the PDF's "Date of
    expiry" (ISO/IEC 17024 §9.4.7 f) and the verifier all give this one date. It is not the day
    after: the certificate expired *on* its last day, at ``23:59:59Z``; dating the expiry a
    day later made the page say "Date of expiry: 22 October" above "EXPIRED on 23 October"."""
    return as_day(valid_until)


def _instant(value: Any, *, end: bool) -> datetime | None:
    """An aware UTC instant for a bound; a plain date stands for the whole day (its first
    second for a start, its last for an end)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and len(value) > 10:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    day = as_day(value)
    if day is None:
        return None
    return datetime.combine(day, time(23, 59, 59) if end else time(0), tzinfo=UTC)


def _moment(now: datetime | date | None) -> datetime:
    """``now`` as an aware UTC instant; a date stands for its first second (a page "as of
    12 March" is valid if the certificate is valid when that day begins)."""
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, datetime):
        return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return datetime.combine(now, time(0), tzinfo=UTC)


def standing_of(
    status: str, valid_from: Any, valid_until: Any, now: datetime | date | None = None
) -> Standing | None:
    """Where a certificate with this recorded status and these dates stands at ``now``; None
    for a status this vocabulary does not know.

    Withdrawal is final whatever the dates. Expiry is the one automatic transition, so a
    certificate past its last day is EXPIRED even while the register still records it ACTIVE
    or SUSPENDED (nobody has run the expiry job yet). A suspension outranks an effective date
    still ahead: the body suspended it, and that is what a reader must be told."""
    moment = _moment(now)
    if status == Status.WITHDRAWN:
        return Standing.WITHDRAWN
    if status == Status.EXPIRED:
        return Standing.EXPIRED
    if status not in (Status.ACTIVE, Status.SUSPENDED):
        return None
    end = _instant(valid_until, end=True)
    if end is not None and moment > end:
        return Standing.EXPIRED
    if status == Status.SUSPENDED:
        return Standing.SUSPENDED
    start = _instant(valid_from, end=False)
    if start is not None and moment < start:
        return Standing.NOT_YET_VALID
    return Standing.VALID


def words(
    standing: Standing | str,
    *,
    valid_from: Any = None,
    valid_until: Any = None,
    since: Any = None,
    lang: str = DEFAULT,
) -> str:
    """The headline words for a standing, with every date that is known, in ``lang``; a date
    that is not known (a verifier cannot learn from a status list *since when* a bit is set) is
    left out, never guessed."""
    _ = translator("verifier", lang)
    standing = Standing(standing)
    if standing is Standing.VALID:
        until = expiry_day(valid_until)
        return _("VALID until %(date)s", date=plain_date(until, lang)) if until else _("VALID")
    if standing is Standing.NOT_YET_VALID:
        start = as_day(valid_from)
        if start:
            return _("NOT YET VALID: from %(date)s", date=plain_date(start, lang))
        return _("NOT YET VALID")
    if standing is Standing.SUSPENDED:
        if as_day(since):
            return _("SUSPENDED since %(date)s", date=plain_date(since, lang))
        return _("SUSPENDED")
    if standing is Standing.WITHDRAWN:
        if as_day(since):
            return _("WITHDRAWN on %(date)s", date=plain_date(since, lang))
        return _("WITHDRAWN")
    end = expiry_day(valid_until)
    return _("EXPIRED on %(date)s", date=plain_date(end, lang)) if end else _("EXPIRED")


class Dated(Protocol):
    """Anything with a recorded status and its dates: a :class:`CertificateRecord`, or the
    issuer's own ``Certification``."""

    @property
    def status(self) -> str: ...
    @property
    def status_since(self) -> str: ...
    @property
    def valid_from(self) -> str: ...
    @property
    def valid_until(self) -> str: ...


@dataclass(frozen=True)
class Headline:
    """The status line of a certificate: ``text`` in capitals first, ``standing`` None for a
    status this vocabulary does not know."""

    standing: Standing | None
    text: str

    @property
    def css(self) -> str:
        return self.standing.css if self.standing is not None else "unknown"


def headline(record: Dated, now: datetime | date | None = None, *, lang: str = DEFAULT) -> Headline:
    """The headline of ``record`` at ``now`` (default: this instant): ``VALID until 12 March
    2029``, ``NOT YET VALID: from 1 April 2026``, ``SUSPENDED since 3 March 2026``,
    ``WITHDRAWN on 5 March 2026``, ``EXPIRED on 12 March 2029`` (see :func:`expiry_day`)."""
    standing = standing_of(record.status, record.valid_from, record.valid_until, now)
    if standing is None:
        _ = translator("verifier", lang)
        return Headline(None, _("STATUS %(status)s", status=record.status))
    text = words(
        standing,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        since=record.status_since,
        lang=lang,
    )
    return Headline(standing, text)


# --- the public record of one certificate ---------------------------------------------------


@dataclass(frozen=True)
class ScopeLine:
    code: str
    label: str
    conditions: str | None
    status: str  # active, removed
    since: str | None


@dataclass(frozen=True)
class HistoryLine:
    """One decision of the public record. A decision that signed a credential also carries
    what that credential says (``verifier.asof``, "Exact answers"): the scope items it holds,
    as (code, conditions) pairs, and its date of expiry; None where the record does not keep
    them (a decision that signs nothing, or a register written before they were kept)."""

    effective_date: str
    decided_at: str
    decision: str
    status: str
    scope: tuple[tuple[str, str | None], ...] | None = None
    valid_until: str | None = None


@dataclass(frozen=True)
class CertificateRecord:
    """What anyone may know about one certificate (ISO/IEC 17024 §9.4.7 plus its status)."""

    number: str
    holder_name: str | None
    scheme_id: str
    scheme_code: str
    scheme_name: str
    status: str  # a Status: ACTIVE, SUSPENDED, WITHDRAWN, EXPIRED
    status_since: str
    valid_from: str
    valid_until: str
    updated_at: str | None = None
    country: str | None = None
    scheme_version: str | None = None
    normative_reference: str | None = None
    normative_reference_url: str | None = None
    scope: tuple[ScopeLine, ...] = ()
    history: tuple[HistoryLine, ...] = ()
    listing: str = Policy.DIRECTORY  # a Policy, or "issuer" (drawn from the body's own data)
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The scheme's name in other languages, by language (``{"de": "..."}``): shown to a
    #: reader in their language (``register.records.scheme_name``); ``scheme_name`` is the
    #: name the credential is signed with.
    scheme_names: Mapping[str, str] = field(default_factory=dict)

    def effective_status(self, today: date | None = None) -> str:
        """The recorded status, counting a certificate past its last day as EXPIRED (the
        register may not have been told yet: expiry is the one automatic transition)."""
        standing = standing_of(self.status, self.valid_from, self.valid_until, today)
        return Status.EXPIRED.value if standing is Standing.EXPIRED else self.status

    @property
    def active_scope(self) -> tuple[ScopeLine, ...]:
        return tuple(s for s in self.scope if s.status == "active")
