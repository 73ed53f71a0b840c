"""The certificate as a W3C Verifiable Credential: Open Badges 3.0, achievementType Certification.

ISO/IEC 17024 §9.4.7 lists what a certificate must carry. Each item has one home in the
Open Badges 3.0 vocabulary, so that wallets and badge platforms read it without a certreg
context (see docs/credential.md):

- name of the certified person: credentialSubject.identifier[] with identityType "name"
- unique certificate number: credentialSubject.licenseNumber
- name of the certification body: issuer.name (issuer.id is the body's DID)
- the scheme: credentialSubject.achievement (name, humanCode, version)
- normative reference: achievement.alignment[] with targetType "ext:NormativeReference"
- scope, with conditions or limitations: achievement.resultDescription[] (one per scope
  item) and credentialSubject.result[] (its status, and the conditions as ``value``)
- effective date: validFrom; expiry date: validUntil
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


@dataclass(frozen=True)
class Body:
    did: str
    name: str
    url: str | None = None


@dataclass(frozen=True)
class NormativeReference:
    name: str  # e.g. "ISO 9712:2021"
    url: str | None = None


@dataclass(frozen=True)
class Scheme:
    id: str  # a stable URL for the scheme (and version)
    code: str  # humanCode, e.g. "CWI"
    name: str
    version: str
    description: str
    criteria: str
    normative_reference: NormativeReference


@dataclass(frozen=True)
class ScopeItem:
    code: str
    label: str
    conditions: str | None = None  # conditions or limitations, in plain words


def certification_credential(
    *,
    body: Body,
    scheme: Scheme,
    holder_name: str,
    certificate_number: str,
    scope: Sequence[ScopeItem],
    valid_from: str,
    valid_until: str,
    status_entries: Sequence[dict[str, Any]] = (),
    credential_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned certification credential carrying every §9.4.7 item."""
    if not scope:
        raise ValueError("a certification has at least one scope item")
    issuer: dict[str, Any] = {"id": body.did, "type": ["Profile"], "name": body.name}
    if body.url:
        issuer["url"] = body.url
    alignment: dict[str, Any] = {
        "type": ["Alignment"],
        "targetType": "ext:NormativeReference",
        "targetName": scheme.normative_reference.name,
        # Open Badges 3.0 requires targetUrl; without a public page for the standard, point
        # at the scheme's own page, which names it.
        "targetUrl": scheme.normative_reference.url or scheme.id,
    }
    descriptions = [
        {
            "id": f"{scheme.id}#scope-{item.code}",
            "type": ["ResultDescription"],
            "name": item.label,
            "resultType": "Status",
        }
        for item in scope
    ]
    results = [
        {
            "type": ["Result"],
            "resultDescription": f"{scheme.id}#scope-{item.code}",
            "status": "Completed",
            "value": item.conditions or "No conditions or limitations",
        }
        for item in scope
    ]
    credential: dict[str, Any] = {
        "@context": [V2_CONTEXT, OB3_CONTEXT],
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": scheme.name,
        "issuer": issuer,
        "validFrom": valid_from,
        "validUntil": valid_until,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": holder_name,
                }
            ],
            "licenseNumber": certificate_number,
            "achievement": {
                "id": scheme.id,
                "type": ["Achievement"],
                "achievementType": "Certification",
                "name": scheme.name,
                "humanCode": scheme.code,
                "version": scheme.version,
                "description": scheme.description,
                "criteria": {"narrative": scheme.criteria},
                "alignment": [alignment],
                "resultDescription": descriptions,
            },
            "result": results,
        },
    }
    if status_entries:
        credential["credentialStatus"] = list(status_entries)
    return credential
