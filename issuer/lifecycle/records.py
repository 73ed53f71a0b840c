"""The lifecycle's plain data: what callers pass in and get back."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from certreg.issuer.lifecycle.errors import Invalid
from certreg.verifier.standing import Policy

#: The publication policies, in the order the one status vocabulary declares them.
POLICIES = tuple(policy.value for policy in Policy)
ROLES = ("officer", "decision_maker", "admin")


@dataclass(frozen=True)
class ScopeGrant:
    code: str
    conditions: str | None = None


@dataclass(frozen=True)
class Decision:
    id: str
    type: str
    certification_id: str | None
    decided_by: str | None
    decided_at: str
    effective_date: str
    reason: str
    evidence: str
    details: dict[str, Any]
    appeal_of: str | None


@dataclass(frozen=True)
class Certification:
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
    scope: list[dict[str, Any]] = field(default_factory=list)  # code, label, conditions, status
    credential: dict[str, Any] | None = None  # the current signed credential
    #: The offline QR payload (CR1 text) of that credential; None when it has none.
    offline_qr: str | None = None


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class GrantPlan:
    """A grant checked against every rule, not yet written (see CertificationBody.grant and
    issuer.bulk). ``lifecycle.grants.write_grants`` writes it once signed."""

    person_id: str
    holder_name: str
    scheme_id: str
    version: dict[str, Any]
    effective: date
    until: date
    grants: list[ScopeGrant]
    decided_by: str
    evidence: str
    reason: str
    external_id: str | None
    appeal_of: str | None
    certification_id: str
    number: str
    credential_id: str
    entries: list[dict[str, Any]] | None = None
    decision_id: str = field(default_factory=new_id)
    #: The credential's offline QR payload (issuer.offline_qr), set when it is signed.
    compact: str | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_day(value: str | date | None, what: str) -> date:
    """A date written YYYY-MM-DD (or a date already)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise Invalid(f"{what} must be a date written YYYY-MM-DD, not {value!r}")
