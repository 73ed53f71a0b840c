"""The certification credential against the Open Badges 3.0 JSON Schema (the definitions it
uses, transcribed with provenance in tests/vectors/ob3/), and its ISO/IEC 17024 §9.4.7 items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator

from issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)

SCHEMA = json.loads(
    (Path(__file__).parent / "vectors/ob3/achievementcredential-subset.schema.json").read_text()
)
VALIDATOR = Draft201909Validator(SCHEMA, format_checker=Draft201909Validator.FORMAT_CHECKER)


def credential(url: str | None = "https://www.iso.org/standard/74629.html", **overrides):
    scheme = Scheme(
        id="https://cb.example/schemes/cwi/3",
        code="CWI",
        name="Certified Welding Inspector",
        version="3",
        description="Inspection of fusion welds.",
        criteria="Written and practical examination.",
        normative_reference=NormativeReference("ISO 9712:2021", url),
    )
    args = {
        "body": Body("did:web:cb.example", "Example Certification Body", "https://cb.example"),
        "scheme": scheme,
        "holder_name": "Jane Doe",
        "certificate_number": "CWI-7K3M-9QX2-M",
        "scope": [ScopeItem("UT2", "Ultrasonic testing, level 2", "steel, 6-40 mm")],
        "valid_from": "2026-03-02T00:00:00Z",
        "valid_until": "2029-03-01T23:59:59Z",
        "status_entries": [
            {
                "id": "https://cb.example/status/revocation-1#7",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "7",
                "statusListCredential": "https://cb.example/status/revocation-1",
            }
        ],
    }
    args.update(overrides)
    return certification_credential(**args)


def errors(document) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def test_the_certification_credential_is_valid_open_badges_3():
    assert errors(credential()) == []


def test_a_scheme_without_a_reference_url_still_gives_the_required_target_url():
    doc = credential(url=None)
    assert errors(doc) == []
    assert doc["credentialSubject"]["achievement"]["alignment"][0]["targetUrl"] == (
        "https://cb.example/schemes/cwi/3"
    )


def test_the_schema_catches_what_it_should():
    # A test that could not fail would prove nothing: break the credential the ways a
    # careless change would, and see each refused.
    doc = credential()
    doc["credentialSubject"]["identifier"][0]["identityType"] = "fullName"
    assert any("identityType" in e for e in errors(doc))
    doc = credential()
    del doc["credentialSubject"]["achievement"]["criteria"]
    assert any("criteria" in e for e in errors(doc))
    doc = credential()
    doc["credentialSubject"]["result"][0]["status"] = "Certified"
    assert any("status" in e for e in errors(doc))


def test_every_iso_17024_certificate_item_is_present():
    doc = credential()
    subject = doc["credentialSubject"]
    achievement = subject["achievement"]
    assert subject["identifier"][0] == {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": False,
        "identityHash": "Jane Doe",
    }
    assert subject["licenseNumber"] == "CWI-7K3M-9QX2-M"
    assert doc["issuer"]["name"] == "Example Certification Body"
    assert achievement["achievementType"] == "Certification"
    assert (achievement["name"], achievement["humanCode"], achievement["version"]) == (
        "Certified Welding Inspector",
        "CWI",
        "3",
    )
    assert achievement["alignment"][0]["targetName"] == "ISO 9712:2021"
    assert achievement["resultDescription"][0]["name"] == "Ultrasonic testing, level 2"
    assert subject["result"][0]["value"] == "steel, 6-40 mm"
    assert (doc["validFrom"], doc["validUntil"]) == ("2026-03-02T00:00:00Z", "2029-03-01T23:59:59Z")


def test_a_certification_without_scope_is_refused():
    with pytest.raises(ValueError, match="scope"):
        credential(scope=[])
