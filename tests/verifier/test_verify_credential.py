"""Verifying one credential: what an employer sees for genuine, altered, expired, untrusted
and key-rotated certificates."""

from __future__ import annotations

import copy
import json

import pytest
from verify_support import DID, Body, Clock, at, certificate, did_key_signer

from certreg.keys.keypair import KeyPair
from certreg.verifier import Verdict, Verifier, verify_credential


@pytest.fixture
def body() -> Body:
    b = Body()
    b.publish_defaults()
    return b


def test_valid_certificate_reads_as_one_plain_sentence(body: Body) -> None:
    result = body.verifier(trusted_issuers=[DID]).verify_credential(body.sign(certificate()))
    assert result.verdict is Verdict.VALID
    assert result.summary == (
        "Valid: Jane Doe holds certification CWI (certificate CB-7K3M-9QX2-4) from "
        "Example Certification Body until 14 January 2029."
    )
    assert all(c.ok for c in result.checks)
    facts = result.facts
    assert facts is not None
    assert facts.holder_name == "Jane Doe"
    assert facts.certificate_number == "CB-7K3M-9QX2-4"
    assert (facts.scheme_code, facts.scheme_version) == ("CWI", "3")
    assert facts.normative_references[0].name == "ISO 9712:2021"
    assert [(s.name, s.conditions) for s in facts.scope] == [
        ("Ultrasonic testing, level 2", "Limited to welds in steel, 6-40 mm")
    ]
    out = result.to_json()
    assert out["verdict"] == "VALID"
    json.dumps(out)  # serialisable


def test_without_trust_list_the_summary_names_the_issuer_did(body: Body) -> None:
    result = body.verifier().verify_credential(body.sign(certificate()))
    assert result.verdict is Verdict.VALID
    assert f"Example Certification Body ({DID})" in result.summary


def test_json_text_and_bytes_are_accepted(body: Body) -> None:
    signed = body.sign(certificate())
    v = body.verifier()
    assert v.verify_credential(json.dumps(signed)).verdict is Verdict.VALID
    assert v.verify_credential(json.dumps(signed).encode()).verdict is Verdict.VALID


def test_jcs_cryptosuite_verifies(body: Body) -> None:
    signed = body.sign(certificate(), cryptosuite="eddsa-jcs-2022")
    assert body.verifier().verify_credential(signed).verdict is Verdict.VALID


@pytest.mark.parametrize(
    "path,value",
    [
        (("credentialSubject", "licenseNumber"), "CB-0000-0000-0"),
        (("credentialSubject", "result", 0, "value"), "No limitation"),
        (("validUntil",), "2039-01-14T23:59:59Z"),
        (("issuer", "name"), "Another Body"),
    ],
)
def test_any_altered_field_makes_it_invalid_and_hides_the_facts(body: Body, path, value) -> None:
    signed = body.sign(certificate())
    node = signed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    result = body.verifier().verify_credential(signed)
    assert result.verdict is Verdict.INVALID
    assert result.summary.startswith("Invalid: the signature does not match")
    assert result.facts is None
    assert "Jane Doe" not in result.summary and "Another Body" not in result.summary


def test_signed_by_a_key_the_body_does_not_have(body: Body) -> None:
    stranger = KeyPair.generate(f"{DID}#key-1")  # claims the body's key id
    result = body.verifier().verify_credential(body.sign(certificate(), signer=stranger))
    assert result.verdict is Verdict.INVALID
    assert result.facts is None


def test_key_unknown_to_the_did_document(body: Body) -> None:
    stranger = KeyPair.generate(f"{DID}#key-9")
    result = body.verifier().verify_credential(body.sign(certificate(), signer=stranger))
    assert result.verdict is Verdict.INVALID
    assert "key-9" in result.summary


def test_key_of_another_did_cannot_sign_for_the_issuer(body: Body) -> None:
    result = body.verifier().verify_credential(body.sign(certificate(), signer=did_key_signer()))
    assert result.verdict is Verdict.INVALID
    assert "no proof was made with a key of the issuer did:web:cb.example" in result.summary


def test_key_not_listed_under_assertion_method(body: Body) -> None:
    kp = body.add_key("auth-only")
    doc = body.document()
    doc["assertionMethod"] = [f"{DID}#key-1"]  # auth-only is for authentication only
    v = Verifier(
        transport=lambda url: json.dumps(doc).encode(), status_fetcher=body.lists, clock=Clock()
    )
    result = v.verify_credential(body.sign(certificate(), signer=kp))
    assert result.verdict is Verdict.INVALID
    assert "not listed under assertionMethod" in result.summary


def test_did_document_for_another_did_is_refused(body: Body) -> None:
    doc = body.document() | {"id": "did:web:evil.example"}
    v = Verifier(transport=lambda url: json.dumps(doc).encode(), status_fetcher=body.lists)
    result = v.verify_credential(body.sign(certificate()))
    assert result.verdict is Verdict.INVALID
    assert "is for 'did:web:evil.example'" in result.summary


def test_retired_key_verifies_what_it_signed_before_retirement(body: Body) -> None:
    old = body.add_key("key-0", expires="2026-06-01T00:00:00Z")
    before = body.sign(certificate(), signer=old, created="2026-05-31T23:59:59Z")
    exactly = body.sign(certificate(), signer=old, created="2026-06-01T00:00:00Z")
    after = body.sign(certificate(), signer=old, created="2026-06-01T00:00:01Z")
    v = body.verifier()
    assert v.verify_credential(before).verdict is Verdict.VALID
    assert v.verify_credential(exactly).verdict is Verdict.VALID
    late = v.verify_credential(after)
    assert late.verdict is Verdict.INVALID
    assert "retired on 1 June 2026" in late.summary


def test_compromised_key_refuses_signatures_from_the_compromise_on(body: Body) -> None:
    bad = body.add_key("key-x", revoked="2026-03-01T00:00:00Z")
    v = body.verifier()
    before = body.sign(certificate(), signer=bad, created="2026-02-28T23:59:59Z")
    assert v.verify_credential(before).verdict is Verdict.VALID
    at_instant = v.verify_credential(
        body.sign(certificate(), signer=bad, created="2026-03-01T00:00:00Z")
    )
    assert at_instant.verdict is Verdict.INVALID
    assert "compromised on 1 March 2026" in at_instant.summary


def test_retired_key_without_created_date_is_refused(body: Body) -> None:
    old = body.add_key("key-0", expires="2026-06-01T00:00:00Z")
    signed = body.sign(certificate(), signer=old)
    del signed["proof"]["created"]
    result = body.verifier().verify_credential(signed)
    assert result.verdict is Verdict.INVALID
    assert "cannot be shown to predate" in result.summary


@pytest.mark.parametrize(
    "now,verdict",
    [
        ("2026-01-14T23:59:59Z", Verdict.NOT_YET_VALID),
        ("2026-01-15T00:00:00Z", Verdict.VALID),
        ("2029-01-14T23:59:59Z", Verdict.VALID),
        ("2029-01-15T00:00:00Z", Verdict.EXPIRED),
    ],
)
def test_validity_window_boundaries(body: Body, now: str, verdict: Verdict) -> None:
    # ``now`` moves the validity check only; the status lists are judged at the clock's time.
    result = body.verifier().verify_credential(body.sign(certificate()), now=at(now))
    assert result.verdict is verdict, result.summary


def test_expired_and_not_yet_valid_say_so_in_plain_words(body: Body) -> None:
    signed = body.sign(certificate())
    v = body.verifier()
    expired = v.verify_credential(signed, now=at("2030-01-01T00:00:00Z"))
    assert expired.summary.startswith("Expired: Jane Doe's certification CWI")
    # Dated by its last valid day, as the certificate's page and PDF date it.
    assert expired.summary.endswith("expired on 14 January 2029.")
    assert expired.headline == "EXPIRED on 14 January 2029"
    assert expired.facts is not None  # a genuine, expired certificate still says what it was
    early = v.verify_credential(signed, now=at("2025-01-01T00:00:00Z"))
    assert early.summary.startswith("Not yet valid:")
    assert early.summary.endswith("is valid from 15 January 2026.")
    assert early.headline == "NOT YET VALID: from 15 January 2026"


def test_untrusted_did_web_issuer_is_not_contacted(body: Body) -> None:
    v = body.verifier(trusted_issuers=["did:web:other.example"])
    result = v.verify_credential(body.sign(certificate()))
    assert result.verdict is Verdict.UNTRUSTED_ISSUER
    assert result.facts is None
    assert body.fetches == []
    assert result.summary == (
        "Untrusted issuer: did:web:cb.example is not on your list of trusted issuers."
    )


def test_untrusted_did_key_forgery_is_still_invalid() -> None:
    kp = did_key_signer()
    issuer = kp.verification_method.split("#")[0]
    signed = KeyPair.generate(kp.verification_method)  # wrong key, right name
    doc = Body().sign(certificate(issuer, status=False), signer=signed)
    result = verify_credential(doc, trusted_issuers=["did:web:cb.example"])
    assert result.verdict is Verdict.INVALID  # INVALID outranks UNTRUSTED_ISSUER


def test_did_key_issuer_verifies_offline() -> None:
    kp = did_key_signer()
    issuer = kp.verification_method.split("#")[0]
    doc = Body().sign(certificate(issuer, status=False), signer=kp)
    result = verify_credential(doc, now=at("2027-01-01T00:00:00Z"))
    assert result.verdict is Verdict.VALID
    assert any("no status entry" in c.reason for c in result.checks)


def test_vc_1_1_credential_verifies(body: Body) -> None:
    doc = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://w3id.org/security/data-integrity/v2",
        ],
        "id": "urn:uuid:0b1c6a4e-0000-4000-8000-000000000001",
        "type": ["VerifiableCredential"],
        "issuer": DID,
        "issuanceDate": "2026-01-15T00:00:00Z",
        "expirationDate": "2029-01-14T23:59:59Z",
        "credentialSubject": {"id": "did:example:holder"},
    }
    v = body.verifier()
    result = v.verify_credential(body.sign(doc))
    assert result.verdict is Verdict.VALID, result.to_json()
    assert "VC 1.1" in result.checks[0].reason
    assert result.facts is None  # not a certification
    assert (
        v.verify_credential(body.sign(doc), now=at("2030-01-01T00:00:00Z")).verdict
        is Verdict.EXPIRED
    )


def test_vc_1_1_credential_with_bitstring_status_can_be_suspended(body: Body) -> None:
    doc = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://www.w3.org/ns/credentials/status/v1",
            "https://w3id.org/security/data-integrity/v2",
        ],
        "type": ["VerifiableCredential"],
        "issuer": DID,
        "issuanceDate": "2026-01-15T00:00:00Z",
        "credentialSubject": {"id": "did:example:holder"},
        "credentialStatus": certificate()["credentialStatus"][1],
    }
    body.publish_defaults(suspended=True)
    result = body.verifier().verify_credential(body.sign(doc))
    assert result.verdict is Verdict.SUSPENDED, result.to_json()


def test_vc_2_0_rules_are_not_mixed_with_1_1(body: Body) -> None:
    doc = certificate()
    doc["issuanceDate"] = "2026-01-15T00:00:00Z"
    result = body.verifier().verify_credential(doc)
    assert result.verdict is Verdict.INVALID
    assert "issuanceDate is a VC 1.1 property" in result.summary


def test_proof_for_authentication_is_not_an_assertion(body: Body) -> None:
    signed = body.sign(certificate(), proof_purpose="authentication")
    result = body.verifier().verify_credential(signed)
    assert result.verdict is Verdict.INVALID
    assert result.facts is None


def test_proof_set_needs_every_proof_to_verify(body: Body) -> None:
    second = body.add_key("key-2")
    both = body.sign(body.sign(certificate()), signer=second)
    v = body.verifier()
    assert v.verify_credential(both).verdict is Verdict.VALID
    broken = copy.deepcopy(both)
    broken["proof"][1]["proofValue"] = broken["proof"][0]["proofValue"]
    result = v.verify_credential(broken)
    assert result.verdict is Verdict.INVALID
    assert result.facts is None


def test_not_a_certification_has_no_facts_but_is_valid(body: Body) -> None:
    doc = certificate()
    doc["credentialSubject"]["achievement"]["achievementType"] = "Badge"
    result = body.verifier().verify_credential(body.sign(doc))
    assert result.verdict is Verdict.VALID
    assert result.facts is None
    assert result.summary.startswith("Valid: this credential from Example Certification Body")


def test_holder_name_falls_back_to_subject_name(body: Body) -> None:
    doc = certificate()
    doc["credentialSubject"]["identifier"][0]["hashed"] = True
    doc["credentialSubject"]["identifier"][0]["identityHash"] = "sha256$abc"
    doc["credentialSubject"]["name"] = "J. Doe"
    result = body.verifier().verify_credential(body.sign(doc))
    assert result.facts is not None and result.facts.holder_name == "J. Doe"


def test_naive_now_is_a_programming_error() -> None:
    from datetime import datetime

    with pytest.raises(ValueError):
        Verifier().verify_credential({}, now=datetime(2027, 1, 1))
