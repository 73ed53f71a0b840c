"""Presentations: the holder signs (proofPurpose authentication), bound to the verifier's
challenge and domain; every embedded credential is verified in full."""

from __future__ import annotations

import pytest
from verify_support import Body, certificate, did_key_signer

from certreg.keys.keypair import KeyPair
from certreg.verifier import Verdict, verify_presentation

CHALLENGE = "c0ffee-1234"
DOMAIN = "employer.example"


@pytest.fixture
def body() -> Body:
    b = Body()
    b.publish_defaults()
    return b


@pytest.fixture
def holder() -> KeyPair:
    return did_key_signer()


def presentation(body: Body, holder: KeyPair, *credentials: dict, **proof_options) -> dict:
    did = holder.verification_method.split("#")[0]
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": did,
        "verifiableCredential": list(credentials),
    }
    return body.sign(vp, signer=holder, proof_purpose="authentication", **proof_options)


def test_presentation_with_challenge_and_domain(body: Body, holder: KeyPair) -> None:
    vp = presentation(body, holder, body.sign(certificate()), challenge=CHALLENGE, domain=DOMAIN)
    result = body.verifier().verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN)
    assert result.verdict is Verdict.VALID, result.to_json()
    assert result.summary.startswith("Valid: Jane Doe holds certification CWI")
    assert result.credentials[0].facts is not None
    assert result.to_json()["credentials"][0]["verdict"] == "VALID"


def test_presentation_without_challenge_is_valid_but_flags_replay(
    body: Body, holder: KeyPair
) -> None:
    vp = presentation(body, holder, body.sign(certificate()))
    result = body.verifier().verify_presentation(vp)
    assert result.verdict is Verdict.VALID
    assert any("replay" in c.reason for c in result.checks)


def test_wrong_challenge(body: Body, holder: KeyPair) -> None:
    vp = presentation(body, holder, body.sign(certificate()), challenge="old-one")
    result = body.verifier().verify_presentation(vp, challenge=CHALLENGE)
    assert result.verdict is Verdict.INVALID
    assert result.credentials == []


def test_missing_challenge_when_asked(body: Body, holder: KeyPair) -> None:
    vp = presentation(body, holder, body.sign(certificate()))
    assert body.verifier().verify_presentation(vp, challenge=CHALLENGE).verdict is Verdict.INVALID


def test_wrong_domain(body: Body, holder: KeyPair) -> None:
    vp = presentation(
        body, holder, body.sign(certificate()), challenge=CHALLENGE, domain="phisher.example"
    )
    result = body.verifier().verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN)
    assert result.verdict is Verdict.INVALID


def test_altered_challenge_breaks_the_signature(body: Body, holder: KeyPair) -> None:
    vp = presentation(body, holder, body.sign(certificate()), challenge="old-one")
    vp["proof"]["challenge"] = CHALLENGE
    assert body.verifier().verify_presentation(vp, challenge=CHALLENGE).verdict is Verdict.INVALID


def test_signed_by_someone_other_than_the_holder(body: Body, holder: KeyPair) -> None:
    vp = presentation(body, did_key_signer(), body.sign(certificate()))
    vp["holder"] = holder.verification_method.split("#")[0]
    result = body.verifier().verify_presentation(vp)
    assert result.verdict is Verdict.INVALID


def test_assertion_proof_is_not_authentication(body: Body, holder: KeyPair) -> None:
    did = holder.verification_method.split("#")[0]
    vp = body.sign(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "holder": did,
        },
        signer=holder,
    )
    assert body.verifier().verify_presentation(vp).verdict is Verdict.INVALID


def test_unsigned_presentation_is_invalid(body: Body, holder: KeyPair) -> None:
    vp = presentation(body, holder, body.sign(certificate()))
    del vp["proof"]
    assert body.verifier().verify_presentation(vp).verdict is Verdict.INVALID


def test_presentation_without_holder_is_the_signers(body: Body, holder: KeyPair) -> None:
    # VC 2.0 makes holder optional: the key of the authentication proof names who presented.
    did = holder.verification_method.split("#")[0]
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [body.sign(certificate())],
    }
    signed = body.sign(vp, signer=holder, proof_purpose="authentication", challenge=CHALLENGE)
    result = body.verifier().verify_presentation(signed, challenge=CHALLENGE)
    assert result.verdict is Verdict.VALID, result.to_json()
    assert result.holder == did
    # Unsigned and without a holder: nobody whose key could be checked.
    result = body.verifier().verify_presentation(vp)
    assert result.verdict is Verdict.INVALID
    assert "holder" in result.summary


def test_suspended_credential_inside_a_good_presentation(body: Body, holder: KeyPair) -> None:
    body.publish_defaults(suspended=True)
    vp = presentation(body, holder, body.sign(certificate()), challenge=CHALLENGE)
    result = body.verifier().verify_presentation(vp, challenge=CHALLENGE)
    assert result.verdict is Verdict.SUSPENDED
    assert result.summary.startswith("Suspended:")


def test_tampered_embedded_credential(body: Body, holder: KeyPair) -> None:
    vc = body.sign(certificate())
    vc["credentialSubject"]["licenseNumber"] = "CB-FAKE"
    # The holder signs the altered credential: the holder's proof is fine, the issuer's is not.
    vp = presentation(body, holder, vc)
    result = body.verifier().verify_presentation(vp)
    assert result.verdict is Verdict.INVALID
    assert result.credentials[0].facts is None


def test_two_credentials_summary_counts_them(body: Body, holder: KeyPair) -> None:
    vc = body.sign(certificate())
    vp = presentation(body, holder, vc, vc)
    result = body.verifier().verify_presentation(vp)
    assert result.verdict is Verdict.VALID
    assert "2 credentials" in result.summary


def test_enveloped_credential_is_not_supported(body: Body, holder: KeyPair) -> None:
    enveloped = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "data:application/vc+jwt,eyJhbGciOi...",
        "type": "EnvelopedVerifiableCredential",
    }
    vp = presentation(body, holder, enveloped)
    result = body.verifier().verify_presentation(vp)
    assert result.verdict is Verdict.INVALID
    assert "not supported" in result.credentials[0].summary


@pytest.mark.parametrize("junk", [None, 7, "vp", b"\x00", "[]", {"type": "x"}])
def test_malformed_presentation(junk: object) -> None:
    assert verify_presentation(junk).verdict is Verdict.INVALID


def test_presentation_with_id_extra_types_and_no_credentials(body: Body, holder: KeyPair) -> None:
    did = holder.verification_method.split("#")[0]
    vp = body.sign(
        {
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                {"ExamplePresentation": "https://example.org/#ExamplePresentation"},
            ],
            "id": "urn:uuid:7e0b9d9a-5d5b-4a0c-8f43-0c6f3f7d2a10",
            "type": ["VerifiablePresentation", "ExamplePresentation"],
            "holder": did,
        },
        signer=holder,
        proof_purpose="authentication",
        challenge=CHALLENGE,
    )
    result = body.verifier().verify_presentation(vp, challenge=CHALLENGE)
    assert result.verdict is Verdict.VALID, result.to_json()
    assert result.credentials == [] and "holds no credential" in result.summary


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"@context": None}, "no @context"),
        ({"type": None}, "type is missing"),
        ({"id": "not a url"}, "id is not a URL"),
        ({"verifiableCredential": ["a string"]}, "something other than credential objects"),
    ],
)
def test_malformed_presentation_is_refused_with_the_rule(
    body: Body, holder: KeyPair, change: dict, words: str
) -> None:
    vp = presentation(body, holder, body.sign(certificate()))
    for key, value in change.items():
        if value is None:
            del vp[key]
        else:
            vp[key] = value
    result = body.verifier().verify_presentation(vp)
    assert result.verdict is Verdict.INVALID
    assert words in result.summary, result.summary
