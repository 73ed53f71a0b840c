"""The rules of ISO/IEC 17024 clause 9 that a decision must pass, as pure functions.

Each rule takes plain data (dates, codes, a staff row, what the database said) and returns a
:class:`Refusal` saying why the decision may not be taken, or ``None``. No rule reads or
writes the database: the callers (a single decision in :mod:`.decisions`, bulk issuance in
``issuer.bulk``) gather the facts their own way -- one query, or one query per batch -- and
hand them here, so a rule exists once whatever path a decision takes (CertificationBody, the
CSV import, the HTTP API, the CLI). ``Refusal.kind`` says which error the caller raises:
``invalid`` (bad input, 422), ``refused`` (the standard forbids it, 403) or ``conflict``
(the certification's state does not allow it, 409).
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

Kind = Literal["invalid", "refused", "conflict"]


@dataclass(frozen=True)
class Refusal:
    """Why a decision may not be taken. ``rule`` names the rule (stable, for tests and logs)."""

    rule: str
    kind: Kind
    reason: str


# -- dates ------------------------------------------------------------------------------


def add_months(start: date, months: int) -> date:
    """Calendar months, clamped to the month's end (31 January + 1 month = 28/29 February)."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def last_valid_day(start: date, months: int) -> date:
    """The last day of validity: ``months`` after ``start``, less one day."""
    return add_months(start, months) - timedelta(days=1)


def effective_date(effective: date, today: date) -> Refusal | None:
    """A decision takes effect today or later, never in the past."""
    if effective < today:
        return Refusal(
            "effective-date",
            "invalid",
            f"the effective date {effective.isoformat()} is before the decision "
            f"({today.isoformat()}): a decision cannot take effect in the past",
        )
    return None


def assessed_before_grant(assessed_on: date, today: date) -> Refusal | None:
    """A grant rests on an assessment already passed (bulk rows record both at once)."""
    if assessed_on > today:
        return Refusal(
            "assessed-before-grant",
            "invalid",
            f"assessed_on {assessed_on.isoformat()} is in the future: a grant rests on an "
            "assessment already passed",
        )
    return None


# -- who decides (§9.4) ---------------------------------------------------------------------------


def impartial_decider(decider: Mapping[str, Any], involvement: str | None) -> Refusal | None:
    """ISO/IEC 17024 9.4: an active decision-maker who did not examine or train the candidate.

    ``decider`` is the staff row (``name``, ``active``, ``roles`` comma-separated);
    ``involvement`` is ``"examiner"``, ``"trainer"`` or ``None`` for this candidate."""
    name = decider["name"]
    if not decider["active"]:
        return Refusal("decider-active", "refused", f"{name} is no longer active")
    if "decision_maker" not in str(decider["roles"]).split(","):
        return Refusal("decider-role", "refused", f"{name} is not a decision-maker")
    if involvement is not None:
        verb = "examined" if involvement == "examiner" else "trained"
        return Refusal(
            "impartiality",
            "refused",
            f"{name} {verb} this candidate; ISO/IEC 17024 (9.4) requires the certification "
            "decision to be taken by someone who did not train or examine the candidate",
        )
    return None


# -- what a decision rests on (§9.3) --------------------------------------------------------------

_EVIDENCE = {
    "grant": "a grant must cite its evidence (e.g. the examination record)",
    "extend_scope": "an extension must cite its evidence",
    "recertify": "a recertification must cite its evidence",
}
_REASON = {
    "suspend": "a suspension needs a reason",
    "withdraw": "a withdrawal needs a reason",
}


def evidence_cited(decision: str, evidence: str) -> Refusal | None:
    """Grants, extensions and recertifications cite what they rest on (§9.3)."""
    if decision in _EVIDENCE and not evidence.strip():
        return Refusal("evidence", "invalid", _EVIDENCE[decision])
    return None


def reason_given(decision: str, reason: str) -> Refusal | None:
    """Suspensions and withdrawals say why: the holder is told."""
    if decision in _REASON and not reason.strip():
        return Refusal("reason", "invalid", _REASON[decision])
    return None


def scope_in_catalogue(
    scheme_id: str, codes: list[str], catalogue: Mapping[str, Mapping[str, Any]]
) -> Refusal | None:
    """Scope items granted: at least one, none twice, each in the scheme's catalogue and not
    retired. ``catalogue`` maps code -> scope item row (with ``retired``)."""
    if not codes:
        return Refusal("scope-catalogue", "invalid", "at least one scope item is required")
    if len(set(codes)) != len(codes):
        return Refusal("scope-catalogue", "invalid", "a scope item is listed twice")
    # A retired item stays on the certificates that hold it, but is granted no more (§8: the
    # scheme's version says so); the refusal names the version that retired it.
    retired = [c for c in codes if c in catalogue and catalogue[c]["retired"]]
    if retired:
        return Refusal(
            "scope-catalogue",
            "invalid",
            "; ".join(
                f"scope item {c} was retired in version "
                f"{catalogue[c].get('retired_in_version') or '(unrecorded)'} of scheme {scheme_id}"
                for c in retired
            ),
        )
    unknown = [c for c in codes if c not in catalogue]
    if unknown:
        return Refusal(
            "scope-catalogue",
            "invalid",
            f"scope item {unknown[0]} is not in the catalogue of scheme {scheme_id}"
            if len(unknown) == 1
            else f"scope items {', '.join(unknown)} are not in the catalogue of scheme {scheme_id}",
        )
    return None


def scope_assessed(codes: list[str], passed: Iterable[Collection[str]]) -> Refusal | None:
    """§9.3: a passed assessment is recorded in the scheme, and where the passed assessments
    name their scope items they cover every item granted. ``passed`` holds the scope codes
    of each passed assessment (empty when it names none)."""
    passed = list(passed)
    if not passed:
        return Refusal(
            "assessment-passed",
            "refused",
            "no passed assessment is recorded for this candidate in this scheme: "
            "record it first (ISO/IEC 17024 9.3)",
        )
    covered = set().union(*passed)
    if covered:
        uncovered = [c for c in codes if c not in covered]
        if uncovered:
            return Refusal(
                "assessment-covers-scope",
                "refused",
                f"no passed assessment covers scope items {uncovered}",
            )
    return None


# -- the certification's state --------------------------------------------------------------------

#: The states each decision may be taken in, and how the refusal says it.
ALLOWED: dict[str, tuple[tuple[str, ...], str]] = {
    "suspend": (("ACTIVE",), "suspended"),
    "reinstate": (("SUSPENDED",), "reinstated"),
    "withdraw": (("ACTIVE", "SUSPENDED"), "withdrawn"),
    "reduce_scope": (("ACTIVE",), "reduced in scope"),
    "extend_scope": (("ACTIVE",), "extended in scope"),
    "recertify": (("ACTIVE",), "recertified"),
    "correct": (("ACTIVE", "SUSPENDED"), "corrected"),
}


def state_allows(decision: str, number: str, status: str) -> Refusal | None:
    allowed, verb = ALLOWED[decision]
    if status not in allowed:
        return Refusal(
            "state",
            "conflict",
            f"certification {number} is {status} and cannot be {verb} "
            f"(only when {' or '.join(allowed)})",
        )
    return None


def one_open_certification(holder_name: str, open_number: str | None) -> Refusal | None:
    """A person holds at most one ACTIVE or SUSPENDED certification per scheme."""
    if open_number is not None:
        return Refusal(
            "one-open-certification",
            "conflict",
            f"{holder_name} already holds {open_number} in this scheme: "
            "extend its scope or recertify it instead",
        )
    return None


def suspension_limits(effective: date, deadline: date, max_days: int) -> Refusal | None:
    """A suspension ends after it starts, within the scheme's maximum suspension."""
    if deadline <= effective:
        return Refusal(
            "suspension-deadline",
            "invalid",
            "the suspension deadline must be after its effective date",
        )
    latest = effective + timedelta(days=max_days)
    if deadline > latest:
        return Refusal(
            "suspension-maximum",
            "refused",
            f"the scheme allows suspensions of at most {max_days} days: the deadline can be "
            f"{latest.isoformat()} at the latest",
        )
    return None


def scope_reduction(held: Collection[str], remove: list[str]) -> Refusal | None:
    """Only scope held now is removed, and not all of it (that is a withdrawal)."""
    missing = [c for c in remove if c not in held]
    if not remove or missing:
        return Refusal(
            "scope-reduction",
            "invalid",
            f"scope items to remove must be held now; not held: {missing or remove}",
        )
    if set(held) <= set(remove):
        return Refusal(
            "scope-reduction",
            "invalid",
            "removing every scope item is a withdrawal, not a reduction",
        )
    return None


def scope_extension(held: Collection[str], add: list[str]) -> Refusal | None:
    already = [c for c in add if c in held]
    if already:
        return Refusal("scope-extension", "conflict", f"scope items already held: {already}")
    return None


def recertification_window(today: date, valid_until: date, window_months: int) -> Refusal | None:
    """Recertification opens ``window_months`` before expiry."""
    opens = add_months(valid_until, -window_months)
    if today < opens:
        return Refusal(
            "recertification-window",
            "refused",
            f"recertification opens {window_months} months before expiry, on {opens.isoformat()}",
        )
    return None


def correction(
    holder_name: str | None, conditions: Mapping[str, Any] | None, held: Collection[str]
) -> Refusal | None:
    """A correction changes the holder's name (to a non-empty one) or conditions held."""
    if holder_name is None and not conditions:
        return Refusal(
            "correction",
            "invalid",
            "a correction must change the holder's name or a scope condition",
        )
    unknown = [c for c in (conditions or {}) if c not in held]
    if unknown:
        return Refusal("correction", "invalid", f"scope items not held: {unknown}")
    if holder_name is not None and not holder_name.strip():
        return Refusal("correction", "invalid", "the corrected name is empty")
    return None


# -- the rules in words, before a decision is taken -------------------------------------------


def rules_in_words(
    decision: str,
    *,
    today: date,
    max_suspension_days: int | None = None,
    valid_until: date | None = None,
    window_months: int | None = None,
) -> list[str]:
    """The rules above as sentences a decision-maker reads before deciding (the console's
    forms show them). Written next to the rules so that a rule and its sentence change
    together; the facts (the scheme's limits, the certificate's expiry) come from the caller."""
    said = [
        "You must hold the decision_maker role, and you may not decide on a candidate you "
        "trained or examined (ISO/IEC 17024 §9.4). A refused attempt is recorded in the "
        "audit log."
    ]
    if decision in ALLOWED:
        allowed, verb = ALLOWED[decision]
        said.append(f"Only a certification that is {' or '.join(allowed)} can be {verb}.")
    if decision in _REASON:
        said.append(f"The reason is required: {_REASON[decision]}.")
    if decision in _EVIDENCE:
        said.append(f"The evidence is required: {_EVIDENCE[decision]}.")
    if decision in ("grant", "suspend"):
        said.append(
            "The effective date is today or later: a decision cannot take effect in the past."
        )
    if decision in ("grant", "extend_scope"):
        said.append(
            "Each scope item must be in the scheme's current catalogue (not retired), and a "
            "passed assessment recorded in the scheme must cover it (ISO/IEC 17024 §9.3)."
        )
    if decision == "grant":
        said.append(
            "A person holds at most one active or suspended certification per scheme: "
            "otherwise extend its scope or recertify it."
        )
    if decision == "suspend" and max_suspension_days is not None:
        latest = today + timedelta(days=max_suspension_days)
        said.append(
            f"The deadline must be after the effective date and at most {max_suspension_days} "
            f"days after it (the scheme's maximum suspension): {latest.isoformat()} at the "
            "latest for a suspension starting today."
        )
    if decision == "extend_scope":
        said.append("Scope items already held cannot be added again.")
    if decision == "reduce_scope":
        said.append(
            "Only scope held now can be removed, and not all of it: removing every scope item "
            "is a withdrawal, not a reduction."
        )
    if decision == "recertify" and valid_until is not None and window_months is not None:
        opens = add_months(valid_until, -window_months)
        said.append(
            f"Recertification opens {window_months} months before expiry, on "
            f"{opens.isoformat()}; the new cycle runs from the old expiry, so recertifying "
            "early loses no time."
        )
    if decision == "correct":
        said.append("A correction must change the holder's name or a scope condition held.")
    return said
