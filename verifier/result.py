"""Typed verification results: one verdict, one plain sentence, and the checks behind them.

A result is built from :class:`Check` objects. A failed check names the verdict it implies;
the overall verdict is the most serious one implied (see :data:`PRECEDENCE`), so "suspended",
"withdrawn" and "status unknown" can never be confused or hidden behind one another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from certreg.verifier import standing

if TYPE_CHECKING:
    from certreg.verifier.facts import CertificationFacts


class Verdict(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    SUSPENDED = "SUSPENDED"
    WITHDRAWN = "WITHDRAWN"
    STATUS_UNKNOWN = "STATUS_UNKNOWN"
    UNTRUSTED_ISSUER = "UNTRUSTED_ISSUER"
    #: Only under a log policy (:class:`certreg.verifier.tlog.policy.LogPolicy`): the
    #: signature is the issuer's, but the credential is not shown to be in its transparency
    #: log (no entry, a checkpoint without the witnesses, a proof that does not verify).
    NOT_IN_LOG = "NOT_IN_LOG"

    def __str__(self) -> str:
        return self.value


#: Most serious first. A forged document is worse news than an untrusted issuer, which is worse
#: than anything the (then meaningless) status list could say. A credential its issuer never
#: logged is off the body's books: what its status list says about it means nothing either.
PRECEDENCE: tuple[Verdict, ...] = (
    Verdict.INVALID,
    Verdict.UNTRUSTED_ISSUER,
    Verdict.NOT_IN_LOG,
    Verdict.WITHDRAWN,
    Verdict.SUSPENDED,
    Verdict.EXPIRED,
    Verdict.NOT_YET_VALID,
    Verdict.STATUS_UNKNOWN,
    Verdict.VALID,
)


#: The verdicts that are also a certificate's public standing (verifier.standing.Standing).
_STANDINGS = frozenset(s.value for s in standing.Standing)


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most serious verdict (VALID when there are none)."""
    found = set(verdicts)
    return next((v for v in PRECEDENCE if v in found), Verdict.VALID)


@dataclass(frozen=True)
class Check:
    """One thing the verifier looked at.

    ``ok`` False means the check failed and ``verdict`` is what that failure means
    (INVALID unless stated). ``skipped`` marks a check that was deliberately not performed
    (e.g. ``check_status=False``): it is ok, but shown prominently.
    """

    name: str
    ok: bool
    reason: str
    verdict: Verdict | None = None
    skipped: bool = False

    @property
    def implies(self) -> Verdict:
        if self.ok:
            return Verdict.VALID
        return self.verdict or Verdict.INVALID

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "ok": self.ok, "reason": self.reason}
        if not self.ok:
            out["verdict"] = self.implies.value
        if self.skipped:
            out["skipped"] = True
        return out


def verdict_of(checks: Iterable[Check]) -> Verdict:
    return worst(c.implies for c in checks)


@dataclass(frozen=True)
class VerificationResult:
    """The answer for one credential.

    ``facts`` is only set when every proof verified and the issuer is trusted: nothing taken
    from an unverified document is ever presented as a fact.
    """

    verdict: Verdict
    summary: str
    checks: list[Check] = field(default_factory=list)
    issuer: str | None = None
    facts: CertificationFacts | None = None
    checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def headline(self) -> str:
        """The status line in the words of the certificate's public page and PDF
        (:mod:`verifier.standing`): ``VALID until 14 January 2029``, ``EXPIRED on …``,
        ``NOT YET VALID: from …``; ``SUSPENDED`` and ``WITHDRAWN`` carry no date, because a
        status list says only *that* a bit is set, not since when."""
        if self.verdict.value not in _STANDINGS:  # INVALID, UNTRUSTED_ISSUER, STATUS_UNKNOWN
            return self.verdict.value.replace("_", " ")
        facts = self.facts
        return standing.words(
            self.verdict.value,
            valid_from=facts.valid_from if facts is not None else None,
            valid_until=facts.valid_until if facts is not None else None,
        )

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "summary": self.summary,
            "issuer": self.issuer,
            "checked_at": _iso(self.checked_at),
            "facts": self.facts.to_json() if self.facts is not None else None,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True)
class PresentationResult:
    """The answer for a presentation: its own checks (holder's proof, challenge, domain) and
    one :class:`VerificationResult` per embedded credential. The verdict is the most serious
    of all of them."""

    verdict: Verdict
    summary: str
    checks: list[Check] = field(default_factory=list)
    holder: str | None = None
    credentials: list[VerificationResult] = field(default_factory=list)
    checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "summary": self.summary,
            "holder": self.holder,
            "checked_at": _iso(self.checked_at),
            "checks": [c.to_json() for c in self.checks],
            "credentials": [r.to_json() for r in self.credentials],
        }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plain_date(moment: datetime, lang: str = "en") -> str:
    """``14 January 2029`` (UTC), independent of the machine's locale (the one wording of
    dates: :func:`verifier.standing.plain_date`)."""
    return standing.plain_date(moment.astimezone(UTC), lang)
