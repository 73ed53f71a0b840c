"""The VC Data Model 2.0 rules (and the Data Integrity proof-chain rule), one test per
normative statement, named after it. Each rule is checked where certreg meets a credential:
before the VC API signs one (``POST /credentials/issue`` answers 400 with the rule in words)
and when the verifier reads one (INVALID with the same words), so that certreg never signs
what it would itself refuse. docs/conformance.md maps each statement to its test here."""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

import base58
import pytest
from http_support import V2, make_env
from verify_support import Body, Clock, certificate, did_key_signer

from certreg.contexts import context_file_bytes
from certreg.keys.keypair import KeyPair
from certreg.verifier import Verdict, Verifier
from certreg.verifier.dataintegrity import add_proof
from certreg.verifier.did import FetchError

ISSUER = did_key_signer()
ISSUER_DID = ISSUER.verification_method.split("#")[0]
SUBJECT = {"id": "did:example:subject", "name": "Jane Doe"}
V2_SRI = "sha384-" + base64.b64encode(hashlib.sha384(context_file_bytes(V2)).digest()).decode()


def credential(**fields: Any) -> dict[str, Any]:
    """A plain VC 2.0 credential from a did:key issuer (terms of the VC 2.0 context only)."""
    doc: dict[str, Any] = {
        "@context": [V2],
        "id": "urn:uuid:0b5e5a4c-31b4-4a0b-9d5f-7d0f2b7c1a11",
        "type": ["VerifiableCredential"],
        "issuer": ISSUER_DID,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": SUBJECT,
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not _DROP}


_DROP = object()


def verify(doc: dict[str, Any], **options: Any) -> Any:
    return Verifier(status_fetcher={}, clock=Clock(), **options).verify_credential(doc)


def signed(doc: dict[str, Any], signer: KeyPair = ISSUER, **options: Any) -> dict[str, Any]:
    return add_proof(doc, signer, **options)


def refused(result: Any, words: str) -> None:
    assert result.verdict is Verdict.INVALID, result.to_json()
    assert any(words in c.reason for c in result.checks if not c.ok), result.to_json()


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Any:
    return make_env(tmp_path_factory.mktemp("vc-rules"), vc_api_issuer=True)


def issue(env: Any, doc: dict[str, Any]) -> Any:
    unsigned = {k: v for k, v in doc.items() if k not in ("proof", "id")}
    if unsigned.get("issuer") == ISSUER_DID:
        unsigned.pop("issuer")  # the VC API signs as its own did:key
    return env.post(
        "/credentials/issue",
        "officer",
        {
            "credential": unsigned,
            "options": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"},
        },
    )


def issue_refused(env: Any, doc: dict[str, Any], words: str) -> None:
    r = issue(env, doc)
    assert r.status_code == 400, r.text
    assert words in r.json()["detail"], r.json()


# --- §4.7 issuer ----------------------------------------------------------------------------


def test_issuer_must_be_a_url_or_an_object_whose_id_is_a_url(env) -> None:
    assert verify(signed(credential())).verdict is Verdict.VALID
    assert verify(signed(credential(issuer={"id": ISSUER_DID, "name": "Desk"}))).ok
    for bad, words in [
        ("not a url", "issuer is neither a URL"),
        ({"id": "fake-issuer"}, "the issuer object has no id URL"),
        ({"id": None}, "the issuer object has no id URL"),
        ({"name": "no id"}, "the issuer object has no id URL"),
        (7, "issuer is neither a URL"),
    ]:
        refused(verify(credential(issuer=bad)), words)
    r = issue(env, credential(issuer={"id": "fake-issuer"}))
    assert r.status_code == 400


def test_issuer_null_is_refused(env) -> None:
    refused(verify(credential(issuer=None)), "issuer is null")
    issue_refused(env, {**credential(), "issuer": None}, "issuer is null")


def test_a_credential_must_have_an_issuer() -> None:
    refused(verify(credential(issuer=_DROP)), "there is no issuer")


# --- §4.8 credentialSubject ---------------------------------------------------------------------


def test_credential_subject_must_not_be_empty(env) -> None:
    for bad in ({}, [SUBJECT, {}], []):
        refused(verify(credential(credentialSubject=bad)), "credentialSubject")
        issue_refused(env, credential(credentialSubject=bad), "credentialSubject")


def test_several_subjects_each_with_a_claim_are_accepted(env) -> None:
    subjects = [{"id": "did:example:subject"}, {"id": "did:example:other:subject"}]
    r = issue(env, credential(credentialSubject=subjects))
    assert r.status_code == 201, r.text
    assert verify(signed(credential(credentialSubject=subjects))).ok


# --- objects that MUST have a type ----------------------------------------------------------

TYPED = {
    "credentialStatus": {"id": "https://example.org/status/1"},
    "termsOfUse": {"id": "https://example.org/terms/1"},
    "evidence": {"id": "https://example.org/evidence/1"},
    "refreshService": {"id": "https://example.org/refresh/1"},
    "credentialSchema": {"id": "https://example.org/schema/1"},
}


@pytest.mark.parametrize("name", sorted(TYPED))
def test_every_status_terms_evidence_refresh_and_schema_object_has_a_type(env, name) -> None:
    untyped = TYPED[name]
    for value in (untyped, [{**untyped, "type": "https://example.org/#T"}, untyped]):
        refused(verify(credential(**{name: value})), f"every {name} object must have a type")
        issue_refused(env, credential(**{name: value}), f"every {name} object must have a type")
    refused(verify(credential(**{name: {**untyped, "type": 2}})), "must have a type")


def test_typed_objects_with_a_type_are_issued_and_verify(env) -> None:
    doc = credential(
        termsOfUse=[{"type": "https://example.org/#Policy"}],
        evidence=[{"type": "https://example.org/#Evidence"}],
        refreshService={"type": "https://example.org/#Refresh", "id": "did:example:refresh/1"},
        credentialSchema={"type": "https://example.org/#Schema", "id": "did:example:schema/1"},
    )
    r = issue(env, doc)
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert env.post("/credentials/verify", None, {"verifiableCredential": vc}).json()["verified"]
    assert verify(signed(doc)).ok


# --- §4.10 credentialStatus.id ----------------------------------------------------------------


def status_2017(**entry: Any) -> dict[str, Any]:
    context = [V2, {"CredentialStatusList2017": "https://example.org/examples#CSL2017"}]
    return credential(
        **{"@context": context},
        credentialStatus={"type": "CredentialStatusList2017", **entry},
    )


def test_credential_status_id_when_present_is_one_url(env) -> None:
    for bad in (["did:example:status:1", "did:example:status:2"], "https ://not-a-url/4", 5):
        refused(verify(status_2017(id=bad)), "credentialStatus.id must be one URL")
        issue_refused(env, status_2017(id=bad), "credentialStatus.id must be one URL")
    r = issue(env, status_2017())  # id is optional
    assert r.status_code == 201, r.text


def test_a_status_method_certreg_does_not_implement_is_issued_as_given_and_unknown_at_verify(
    env,
) -> None:
    r = issue(env, status_2017(id="did:example:status"))
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["credentialStatus"] == {
        "type": "CredentialStatusList2017",
        "id": "did:example:status",
    }
    answer = env.post("/credentials/verify", None, {"verifiableCredential": vc}).json()
    # Not VALID: nobody checked whether it was revoked. STATUS_UNKNOWN says so, with the reason.
    assert answer["verified"] is False and answer["verdict"] == "STATUS_UNKNOWN"
    assert any("CredentialStatusList2017" in e["detail"] for e in answer["errors"])
    assert any(d["name"] == "signature" and d["ok"] for d in answer["details"])


# --- §4.11 credentialSchema.id ----------------------------------------------------------------


def test_credential_schema_has_an_id_url(env) -> None:
    for bad in ({"type": "JsonSchema"}, {"type": "JsonSchema", "id": "not a url"}):
        refused(verify(credential(credentialSchema=bad)), "credentialSchema object must have an id")
        issue_refused(env, credential(credentialSchema=bad), "must have an id URL")


# --- §5.3 relatedResource -------------------------------------------------------------------


def test_related_resource_is_a_list_of_objects_with_a_url_id_unique_and_a_digest(env) -> None:
    good = {"id": V2, "digestSRI": V2_SRI}
    for bad, words in [
        ("https://example.org/x", "relatedResource must be an object"),
        ([{"digestSRI": V2_SRI}], "must have an id URL"),
        ([{"id": "not a url", "digestSRI": V2_SRI}], "must have an id URL"),
        ([good, good], "each id must be unique"),
        ([{"id": V2}], "neither a digestSRI nor a digestMultibase"),
    ]:
        refused(verify(credential(relatedResource=bad)), words)
        issue_refused(env, credential(relatedResource=bad), words)


def test_related_resource_pinned_context_is_checked_offline_against_its_pinned_bytes() -> None:
    fetched: list[str] = []

    def fetcher(url: str) -> bytes:
        fetched.append(url)
        raise FetchError("no network in this test")

    ok = Verifier(status_fetcher=fetcher, clock=Clock()).verify_credential(
        signed(credential(relatedResource=[{"id": V2, "digestSRI": V2_SRI}]))
    )
    assert ok.verdict is Verdict.VALID, ok.to_json()
    assert any(c.name == "related resource" and "matches" in c.reason for c in ok.checks)
    assert fetched == []  # offline
    wrong = "sha384-" + base64.b64encode(hashlib.sha384(b"another").digest()).decode()
    result = verify(signed(credential(relatedResource=[{"id": V2, "digestSRI": wrong}])))
    refused(result, "does not have the digest the issuer signed")


def test_a_verifier_that_dereferences_a_related_resource_and_finds_another_digest_says_invalid(
    env,
) -> None:
    url = "https://example.org/syllabus.pdf"
    original = b"%PDF-1.7 the syllabus as issued"
    sri = "sha256-" + base64.b64encode(hashlib.sha256(original).digest()).decode()
    multihash = b"\x12\x20" + hashlib.sha256(original).digest()
    multibase = "z" + base58.b58encode(multihash).decode()
    served = {url: original}

    def fetcher(asked: str) -> bytes:  # the verifier's fetcher is the injection point
        return served[asked]

    def answer(item: dict[str, Any]) -> Any:
        doc = signed(credential(relatedResource=[{"id": url, **item}]))
        return Verifier(status_fetcher=fetcher, clock=Clock()).verify_credential(doc)

    for item in ({"digestSRI": sri}, {"digestMultibase": multibase}):
        assert answer(item).verdict is Verdict.VALID
        served[url] = original + b" (edited)"
        refused(answer(item), "does not have the digest the issuer signed")
        served[url] = original
    # The VC API issues such a credential as given.
    r = issue(env, credential(relatedResource=[{"id": url, "digestSRI": sri}]))
    assert r.status_code == 201, r.text


def test_an_unreachable_related_resource_is_reported_as_not_checked() -> None:
    def fetcher(url: str) -> bytes:
        raise FetchError("connection refused")

    doc = signed(credential(relatedResource=[{"id": "https://example.org/a", "digestSRI": V2_SRI}]))
    result = Verifier(status_fetcher=fetcher, clock=Clock()).verify_credential(doc)
    assert result.verdict is Verdict.VALID
    (check,) = [c for c in result.checks if c.name == "related resource"]
    assert check.skipped and "NOT CHECKED" in check.reason and "connection refused" in check.reason


# --- vc-data-integrity: Verify Proof Sets and Chains ----------------------------------------


def chain(first: KeyPair, second: KeyPair, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    one = add_proof(doc or credential(), first, proof_id="urn:uuid:proof-1")
    return add_proof(one, second, previous_proof="urn:uuid:proof-1")


def test_every_proof_in_a_chain_must_verify_and_the_issuer_must_have_signed_one() -> None:
    other = did_key_signer()
    # The issuer's proof second, chained to another party's first proof, and the other way.
    for first, second in ((other, ISSUER), (ISSUER, other)):
        result = verify(chain(first, second))
        assert result.verdict is Verdict.VALID, result.to_json()
        names = [c.name for c in result.checks]
        assert "signature" in names and "signature (another party)" in names
    # Every proof must verify: the other party's proof altered.
    doc = chain(other, ISSUER)
    doc["proof"][0]["proofValue"] = doc["proof"][1]["proofValue"]
    refused(verify(doc), "signature does not match")


def test_a_proof_by_another_party_never_counts_as_the_issuers() -> None:
    other, third = did_key_signer(), did_key_signer()
    refused(verify(chain(other, third)), f"no proof was made with a key of the issuer {ISSUER_DID}")
    # A proof naming the issuer's DID but made with another key does not verify at all.
    impostor = KeyPair.generate(ISSUER.verification_method)
    refused(verify(chain(other, impostor)), "signature does not match")


def test_a_proof_by_another_did_web_party_is_checked_against_its_own_did_document() -> None:
    endorser = Body()  # did:web:cb.example, its DID document served by its transport
    doc = chain(endorser.key, ISSUER)
    verifier = Verifier(transport=endorser.transport, status_fetcher={}, clock=Clock())
    result = verifier.verify_credential(doc)
    assert result.verdict is Verdict.VALID, result.to_json()
    assert endorser.fetches == ["https://cb.example/.well-known/did.json"]
    endorser.add_key("key-2")
    forged = chain(KeyPair.generate(endorser.key.verification_method), ISSUER)
    refused(verifier.verify_credential(forged), "signature does not match")


def test_a_dangling_previous_proof_is_refused() -> None:
    other = did_key_signer()
    doc = chain(other, ISSUER)
    doc["proof"] = doc["proof"][1]  # the proof it chains to is gone
    refused(verify(doc), "previousProof names proofs that are not present")
    doc = chain(other, ISSUER)
    doc["proof"][1]["previousProof"] = 456321  # not a string
    assert verify(doc).verdict is Verdict.INVALID


def test_a_certificate_stays_the_bodys_even_with_another_partys_proof() -> None:
    body = Body()
    body.publish_defaults()
    cert = body.sign(certificate(), proof_id="urn:uuid:body-proof")
    endorsed = add_proof(cert, did_key_signer(), previous_proof="urn:uuid:body-proof")
    result = body.verifier().verify_credential(endorsed)
    assert result.verdict is Verdict.VALID, result.to_json()
    assert result.facts is not None and result.facts.holder_name == "Jane Doe"
    # Only the endorser's proof left: not the body's certificate.
    alone = copy.deepcopy(endorsed)
    alone["proof"] = [p for p in alone["proof"] if p.get("previousProof")]
    assert body.verifier().verify_credential(alone).verdict is Verdict.INVALID
