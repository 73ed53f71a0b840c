"""Reading what a credential says: the certification facts of an Open Badges 3.0
"Certification" credential, and the small readers (types, issuer, dates) the verifier shares.

Nothing here decides validity. :func:`extract_facts` is only called by the verifier on a
credential whose every proof verified and whose issuer is trusted; it never raises, because a
signed document can still hold odd shapes, and skips what it cannot read rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from certreg.verifier import dates

__all__ = [
    "CertificationFacts",
    "NormativeReference",
    "ScopeItem",
    "extract_facts",
    "is_certification",
    "issuer_id",
    "issuer_name",
    "parse_datetime",
    "types_of",
]


def parse_datetime(value: Any) -> datetime | None:
    """An XSD dateTime with a time zone (VC 2.0's rule for validFrom / validUntil: without an
    offset "until 14 January" would depend on the reader's time zone) as an aware UTC
    datetime, or None if ``value`` is not one."""
    try:
        return dates.parse_datetime(value)
    except (ValueError, OverflowError):
        return None


def types_of(node: Any) -> list[str]:
    value = node.get("type") if isinstance(node, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    return []


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _text(value: Any) -> str | None:
    """A plain string, or the first value of a VC 2.0 language map / value object list."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("@value"), str):
        return value["@value"]
    if isinstance(value, list):
        for item in value:
            text = _text(item)
            if text is not None:
                return text
    return None


def issuer_name(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    return _text(issuer.get("name")) if isinstance(issuer, Mapping) else None


@dataclass(frozen=True)
class NormativeReference:
    name: str | None
    url: str | None


@dataclass(frozen=True)
class ScopeItem:
    """One item of the certified scope. ``conditions`` holds the limitations text."""

    id: str
    name: str
    conditions: str | None
    status: str | None


@dataclass(frozen=True)
class CertificationFacts:
    """What the certificate states (ISO/IEC 17024 clause 9.4.7), once verified."""

    holder_name: str | None
    certificate_number: str | None
    scheme_name: str | None
    scheme_id: str | None
    scheme_code: str | None
    scheme_version: str | None
    normative_references: tuple[NormativeReference, ...]
    scope: tuple[ScopeItem, ...]
    issuer_id: str | None
    issuer_name: str | None
    valid_from: str | None
    valid_until: str | None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["normative_references"] = [asdict(r) for r in self.normative_references]
        out["scope"] = [asdict(s) for s in self.scope]
        return out


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any] | None:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    return subject if isinstance(subject, Mapping) else None


def _achievement(credential: Mapping[str, Any]) -> Mapping[str, Any] | None:
    subject = _subject(credential)
    achievement = subject.get("achievement") if subject is not None else None
    return achievement if isinstance(achievement, Mapping) else None


def is_certification(credential: Mapping[str, Any]) -> bool:
    types = types_of(credential)
    if "OpenBadgeCredential" not in types and "AchievementCredential" not in types:
        return False
    achievement = _achievement(credential)
    return achievement is not None and achievement.get("achievementType") == "Certification"


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, Mapping) else []


def _holder_name(subject: Mapping[str, Any]) -> str | None:
    for ident in _list(subject.get("identifier")):
        if (
            isinstance(ident, Mapping)
            and ident.get("identityType") == "name"
            and ident.get("hashed") is False
            and isinstance(ident.get("identityHash"), str)
        ):
            return ident["identityHash"]
    return _text(subject.get("name"))


def _scope(achievement: Mapping[str, Any], subject: Mapping[str, Any]) -> tuple[ScopeItem, ...]:
    described: dict[str, str] = {}
    for rd in _list(achievement.get("resultDescription")):
        if isinstance(rd, Mapping) and isinstance(rd.get("id"), str):
            described[rd["id"]] = _text(rd.get("name")) or rd["id"]
    items = []
    # A scope item is held when the subject has a result for it; a description alone only
    # says the scheme *has* that scope.
    for result in _list(subject.get("result")):
        if not isinstance(result, Mapping):
            continue
        ref = result.get("resultDescription")
        if not isinstance(ref, str) or ref not in described:
            continue
        value, status = result.get("value"), result.get("status")
        items.append(
            ScopeItem(
                id=ref,
                name=described[ref],
                conditions=value if isinstance(value, str) else None,
                status=status if isinstance(status, str) else None,
            )
        )
    return tuple(items)


def extract_facts(credential: Mapping[str, Any]) -> CertificationFacts | None:
    """The certification facts, or None when the credential is not a certification."""
    if not is_certification(credential):
        return None
    subject = _subject(credential)
    achievement = _achievement(credential)
    assert subject is not None and achievement is not None  # is_certification checked both
    refs = tuple(
        NormativeReference(
            name=a.get("targetName") if isinstance(a.get("targetName"), str) else None,
            url=a.get("targetUrl") if isinstance(a.get("targetUrl"), str) else None,
        )
        for a in _list(achievement.get("alignment"))
        if isinstance(a, Mapping) and a.get("targetType") == "ext:NormativeReference"
    )

    def s(node: Mapping[str, Any], key: str) -> str | None:
        value = node.get(key)
        return value if isinstance(value, str) else None

    return CertificationFacts(
        holder_name=_holder_name(subject),
        certificate_number=s(subject, "licenseNumber"),
        scheme_name=_text(achievement.get("name")),
        scheme_id=s(achievement, "id"),
        scheme_code=s(achievement, "humanCode"),
        scheme_version=s(achievement, "version"),
        normative_references=refs,
        scope=_scope(achievement, subject),
        issuer_id=issuer_id(credential),
        issuer_name=issuer_name(credential),
        valid_from=s(credential, "validFrom"),
        valid_until=s(credential, "validUntil"),
    )
