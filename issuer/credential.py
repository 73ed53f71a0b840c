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

Open Badges 3.0 conformance (1EdTech's AchievementCredential JSON Schema, unmodified, in
tests/vectors/ob3-official/): ``credentialStatus`` is one object when the certificate has one
status entry (certreg's default ``message`` form, issuer.statuslists) and ``proof`` is an array
(:func:`issued_form`); the two-entry form stays available and is a list, which that schema
refuses.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
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
    if len(status_entries) == 1:
        # One object, not a one-element list: the OB 3.0 schema wants an object, and so do
        # verifiers that look at credentialStatus.type without expanding JSON-LD.
        credential["credentialStatus"] = dict(status_entries[0])
    elif status_entries:
        credential["credentialStatus"] = list(status_entries)
    return credential


def issued_form(signed: Mapping[str, Any]) -> dict[str, Any]:
    """The signed certificate as certreg stores and hands it out: ``proof`` as an array.

    The OB 3.0 AchievementCredential schema requires an array; to JSON-LD (and to every
    verifier tried: certreg's, Digital Bazaar's, the DCC's) a one-element array is the same
    proof, and the proof is not part of what it signs, so the signature is unchanged."""
    document = dict(signed)
    proof = document.get("proof")
    if isinstance(proof, Mapping):
        document["proof"] = [dict(proof)]
    return document


def cryptosuite_of(signed: Mapping[str, Any]) -> str:
    """The cryptosuite of a certificate's (first) proof, whether ``proof`` is an object or an
    array."""
    proof = signed["proof"]
    first = proof[0] if isinstance(proof, list) else proof
    return str(first["cryptosuite"])
