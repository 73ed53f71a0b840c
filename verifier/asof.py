"""A certificate as it stood at a past instant: "was it valid on that date?" (issue 13 item 4).

Built only from what the public record already keeps (``register.db``: ``status_history``, one
row per decision with its effective date, the instant it was decided and the status it left;
``certification_scope``, each item's current state and the date of its last change; the
certificate's dates). Nothing is guessed: what the record cannot tell is said to be unknown.

**Exact answers.** Each decision that signed a credential (grant, recertify, extend_scope,
reduce_scope, correct) also keeps, in its ``status_history`` row, what that credential says:
the scope items it holds with their conditions (``scope``) and its date of expiry
(``valid_until``), read from the credential itself (:func:`signed_state`), so nothing is
published that the certificate did not already publish. Only signing decisions change scope or
expiry, so the scope and the expiry in force at an instant are those of the latest signing
decision in effect then, and the answer is exact for every instant from the grant on. The
transparency log's entries carry the same scope codes and expiry (``verifier.tlog.entry``), so
the log proofs of the answer's entries prove them too. The boundary of kept history is the
first grant: before it the answer is "not yet granted", never a guess.

**When a decision takes effect.** The register keeps a decision's effective date as a day and
the instant it was decided. A decision decided *on* its effective day takes effect at that
instant (a suspension decided at 10:12 leaves the certificate valid at 09:00 that day); a
decision dated ahead, or back-dated, takes effect at the start (00:00 UTC) of its effective day.
Decisions taking effect at the same instant apply in their recorded order. :func:`takes_effect`
is that rule, and the tests' replay uses it too.

**Instants.** ``YYYY-MM-DD`` means the *end* of that day UTC (23:59:59): "valid on 12 March"
asks about the whole day as it ended. ``YYYY-MM-DDTHH:MM`` (optionally ``:SS``, ``Z`` or an
offset) is that instant; without an offset it is UTC.

**A register written before the state was kept** (its signing rows have no ``scope``, until the
issuer rebuilds it, which it does on its next start: the register's format changed) is read
as before, and says what it cannot tell. A recertification extends the date of expiry, and
such a register keeps only the current one: before the latest recertification the headline
says "VALID" without an end date. A scope item's row keeps only its last change: before it,
whether the item was held is known only when no scope decision of the other kind came before
(then :attr:`ScopeAt.held` is None, shown as "not known").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from certreg.keys.errors import CertregError
from certreg.verifier.standing import (
    CertificateRecord,
    HistoryLine,
    Standing,
    Status,
    as_day,
    standing_of,
    words,
)

__all__ = [
    "SIGNING_DECISIONS",
    "AsOf",
    "Instant",
    "InstantError",
    "Outcome",
    "ScopeAt",
    "SignedState",
    "as_of",
    "parse_instant",
    "signed_state",
    "takes_effect",
]

#: The decisions that sign a new credential: the only ones that change scope or expiry.
SIGNING_DECISIONS = frozenset({"grant", "recertify", "extend_scope", "reduce_scope", "correct"})
#: What certreg writes as a scope item's ``value`` when it has no conditions
#: (``issuer.credential.certification_credential``).
NO_CONDITIONS = "No conditions or limitations"

_INSTANT = re.compile(
    r"(?P<day>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<hm>\d{2}:\d{2})(?::(?P<s>\d{2}))?(?P<tz>Z|[+-]\d{2}:\d{2})?)?"
)


@dataclass(frozen=True)
class SignedState:
    """What a signed certificate credential says about its scope and expiry: (code, conditions)
    pairs sorted by code, and the date of expiry (``YYYY-MM-DD``, the UTC day of
    ``validUntil``)."""

    scope: tuple[tuple[str, str | None], ...]
    until: str

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.scope)


def signed_state(credential: Mapping[str, Any]) -> SignedState | None:
    """The scope and expiry a certreg certificate credential states, or None when it states
    none (not a certificate credential). A scope item is a ``credentialSubject.result`` whose
    ``resultDescription`` is ``<scheme id>#scope-<code>``; its ``value`` is its conditions."""
    subject = credential.get("credentialSubject")
    until = as_day(credential.get("validUntil"))
    if not isinstance(subject, Mapping) or until is None:
        return None
    scope: dict[str, str | None] = {}
    for result in subject.get("result") or ():
        if not isinstance(result, Mapping):
            continue
        ref = result.get("resultDescription")
        if not isinstance(ref, str) or "#scope-" not in ref:
            continue
        value = result.get("value")
        conditions = None if value is None or value == NO_CONDITIONS else str(value)
        scope[ref.rsplit("#scope-", 1)[1]] = conditions
    if not scope:
        return None
    return SignedState(tuple(sorted(scope.items())), until.isoformat())


class InstantError(CertregError, ValueError):
    """An instant that could not be read; ``str()`` is the reason, for a 400 answer."""


@dataclass(frozen=True)
class Instant:
    """A moment asked about: ``moment`` (aware, UTC) and whether only a day was given."""

    moment: datetime
    day_only: bool

    def iso(self) -> str:
        return self.moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> Instant:
    """``YYYY-MM-DD`` (the end of that day UTC) or ``YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]`` (UTC
    unless an offset is given). Raises :class:`InstantError` saying what is wrong."""
    text = (text or "").strip()
    if not text:
        raise InstantError("no date given: write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)")
    found = _INSTANT.fullmatch(text[:40])
    if found is None or len(text) > 40:
        raise InstantError(
            f"{text[:40]!r} is not a date: write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)"
        )
    try:
        day = date.fromisoformat(found["day"])
    except ValueError:
        raise InstantError(f"{found['day']!r} is not a day of the calendar") from None
    if found["hm"] is None:
        return Instant(datetime.combine(day, time(23, 59, 59), tzinfo=UTC), day_only=True)
    tz = found["tz"] or "Z"
    clock = found["hm"] + ":" + (found["s"] or "00")
    try:
        moment = datetime.fromisoformat(f"{day.isoformat()}T{clock}{tz.replace('Z', '+00:00')}")
    except ValueError:
        raise InstantError(f"{text[:40]!r} has no such time of day") from None
    return Instant(moment.astimezone(UTC), day_only=False)


def _aware(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def takes_effect(effective_date: str, decided_at: str) -> datetime:
    """The instant a decision takes effect (module doc): the instant it was decided if that was
    on its effective day, else the start of its effective day (UTC)."""
    day = date.fromisoformat(effective_date[:10])
    decided = _aware(decided_at)
    if decided is not None and decided.date() == day:
        return decided
    return datetime.combine(day, time(0), tzinfo=UTC)


class Outcome(StrEnum):
    """What can be said at the instant asked about."""

    KNOWN = "known"  # the certificate as it stood then
    NOT_YET_GRANTED = "not_yet_granted"  # before the first grant took effect
    FUTURE = "future"  # the instant is after now: today's answer instead
    NO_HISTORY = "no_history"  # the record keeps no decisions at all (a register too old)


@dataclass(frozen=True)
class ScopeAt:
    code: str
    label: str
    conditions: str | None
    held: bool | None  # None: the record cannot tell


@dataclass(frozen=True)
class AsOf:
    """The answer about one certificate at one instant."""

    outcome: Outcome
    instant: Instant
    standing: Standing | None = None
    status: str | None = None  # the recorded status then (ACTIVE, SUSPENDED, ...)
    since: str | None = None  # the effective date of the decision that left that status
    decision: HistoryLine | None = None  # the latest decision in effect then
    valid_until: str | None = None  # the date of expiry then, None when not kept
    scope: tuple[ScopeAt, ...] = ()
    first_grant: str | None = None  # when the first grant took effect (ISO instant)

    def words(self, lang: str = "en") -> str:
        """The headline, worded as today's page words it (``verifier.standing.words``)."""
        if self.standing is None:
            return ""
        return words(
            self.standing,
            valid_from=None,
            valid_until=self.valid_until,
            since=self.since,
            lang=lang,
        )


def _in_effect(record: CertificateRecord, moment: datetime) -> list[HistoryLine]:
    """The decisions in effect at ``moment``, in the order they took effect."""
    timed = [
        (takes_effect(h.effective_date, h.decided_at), seq, h)
        for seq, h in enumerate(record.history)
        if h.effective_date
    ]
    timed.sort(key=lambda t: (t[0], t[1]))
    return [h for at, _, h in timed if at <= moment]


def as_of(record: CertificateRecord, instant: Instant, now: datetime | None = None) -> AsOf:
    """``record`` as it stood at ``instant`` (module doc for what is and is not known)."""
    now = now or datetime.now(UTC)
    if instant.moment > now and not (instant.day_only and instant.moment.date() == now.date()):
        return AsOf(Outcome.FUTURE, instant)
    grants = [h for h in record.history if h.decision == "grant"]
    if not record.history or not grants:
        return AsOf(Outcome.NO_HISTORY, instant)
    first = min(takes_effect(h.effective_date, h.decided_at) for h in grants)
    # The certificate's validity starts at valid_from's first second, whatever the grant said.
    start = datetime.combine(date.fromisoformat(record.valid_from[:10]), time(0), tzinfo=UTC)
    began = max(first, start)
    if instant.moment < began:
        return AsOf(
            Outcome.NOT_YET_GRANTED, instant, first_grant=began.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
    effective = _in_effect(record, instant.moment)
    status, since, last = Status.ACTIVE.value, record.valid_from, None
    for h in effective:
        last = h
        if h.status != status or h.decision in ("grant", "expire"):
            since = h.effective_date
        status = h.status
    moment = min(instant.moment, now)
    scope: tuple[ScopeAt, ...]
    standing: Standing | None
    if _keeps_state(record):
        # Exact: the latest signing decision in effect set the scope and the expiry.
        signed = [h for h in effective if h.scope is not None and h.valid_until is not None]
        state = signed[-1] if signed else None
        valid_until = state.valid_until if state is not None else record.valid_until
        standing = standing_of(status, record.valid_from, valid_until, moment)
        scope = _scope_from(record, state.scope if state is not None else None)
    else:
        valid_until, standing = _without_state(record, effective, status, moment)
        scope = _scope_at(record, instant.moment, effective)
    return AsOf(
        Outcome.KNOWN,
        instant,
        standing=standing,
        status=status,
        since=since,
        decision=last,
        valid_until=valid_until,
        scope=scope,
        first_grant=began.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _keeps_state(record: CertificateRecord) -> bool:
    """Whether every signing decision of ``record`` keeps the scope and expiry it signed."""
    signing = [h for h in record.history if h.decision in SIGNING_DECISIONS]
    return bool(signing) and all(h.scope is not None and h.valid_until for h in signing)


def _scope_from(
    record: CertificateRecord, held: tuple[tuple[str, str | None], ...] | None
) -> tuple[ScopeAt, ...]:
    """Every item the certificate ever held (its scope lines), held or not then, with the
    conditions it was held under; None for all when no signing decision was in effect."""
    lines = {s.code: s for s in record.scope}
    then = dict(held or ())
    out = []
    for code in sorted(set(lines) | set(then)):
        label = lines[code].label if code in lines else code
        if held is None:
            out.append(ScopeAt(code, label, lines[code].conditions, None))
        else:
            out.append(ScopeAt(code, label, then.get(code), code in then))
    return tuple(out)


def _without_state(
    record: CertificateRecord, effective: list[HistoryLine], status: str, moment: datetime
) -> tuple[str | None, Standing | None]:
    """(expiry, standing) from a record whose decisions do not keep what they signed: only
    today's expiry is known, so before a later recertification it is not known."""
    recertified_later = any(
        h.decision == "recertify" and h not in effective for h in record.history
    )
    valid_until = None if recertified_later else record.valid_until
    if status in (Status.ACTIVE, Status.SUSPENDED) and valid_until is None:
        # Only the current date of expiry is kept, and a later recertification moved it: the
        # certificate was within a cycle that a recertification later extended.
        return None, Standing.VALID if status == Status.ACTIVE else Standing.SUSPENDED
    return valid_until, standing_of(status, record.valid_from, record.valid_until, moment)


def _scope_at(
    record: CertificateRecord, moment: datetime, effective: list[HistoryLine]
) -> tuple[ScopeAt, ...]:
    """(A record that does not keep what its decisions signed.) Each scope item then: held,
    not held, or None where the record cannot tell.

    An item's row keeps its state now and the day of its last change. After the change it was
    as it is now; before it, the opposite, unless a scope decision of the other kind came
    earlier (it may have changed more than once: not known). On the change's own day the
    instant is that of the day's scope decision of the matching kind; a grant the same day as
    an extension leaves an item held now ambiguous between the two."""
    # (instant, order, kind): decisions at the same instant apply in their recorded order.
    kinds = [
        (takes_effect(h.effective_date, h.decided_at), seq, h.decision)
        for seq, h in enumerate(record.history)
        if h.decision in ("extend_scope", "reduce_scope", "grant")
    ]
    out = []
    for s in record.scope:
        active = s.status == "active"
        changed = date.fromisoformat(s.since[:10]) if s.since else None
        held: bool | None
        if changed is None:
            held = None
        elif moment.date() > changed:
            held = active
        else:
            kind = "extend_scope" if active else "reduce_scope"
            changes = [(at, seq) for at, seq, k in kinds if k == kind and at.date() == changed]
            granted_then = any(k == "grant" and at.date() == changed for at, _, k in kinds)
            if moment.date() == changed and (not changes or moment >= max(changes)[0]):
                held = active
            elif moment.date() == changed and moment >= min(changes)[0]:
                held = None  # between two scope decisions of the same day
            elif active and granted_then and changes:
                held = None  # granted that day, or added by the day's extension: not known
            else:
                # It changed at least once; more than once if a decision of the other kind
                # came before that change: then its state earlier is not known.
                other = "reduce_scope" if active else "extend_scope"
                start = datetime.combine(changed, time(0), tzinfo=UTC)
                last = min(changes) if changes else (start, -1)
                earlier = any(k == other and (at, seq) < last for at, seq, k in kinds)
                held = None if earlier else not active
        out.append(ScopeAt(s.code, s.label, s.conditions, held))
    return tuple(out)
