"""Whatever arrives, the verifier answers INVALID with a reason: never an exception, never
VALID, never a "fact" taken from an unverified document."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from verify_support import Body, certificate

from certreg.verifier import Verdict, Verifier


@pytest.fixture(scope="module")
def body() -> Body:
    b = Body()
    b.publish_defaults()
    return b


@pytest.fixture(scope="module")
def signed(body: Body) -> dict:
    return body.sign(certificate())


def nested(depth: int) -> dict:
    doc: dict = {}
    for _ in range(depth):
        doc = {"a": doc}
    return doc


def cyclic() -> dict:
    doc: dict = {"@context": ["https://www.w3.org/ns/credentials/v2"]}
    doc["self"] = doc
    return doc


MALFORMED = {
    "not json": (b"certificate please", "not valid JSON"),
    "json array": ("[1, 2]", "not a JSON object"),
    "json string": ('"hello"', "not a JSON object"),
    "empty": (b"", "not valid JSON"),
    "not utf-8": (b"\xff\xfe{}", "not valid JSON"),
    "huge": (b"{" + b" " * (1024 * 1024) + b"}", "larger than"),
    "deep": (json.dumps(nested(100)), "nested more than 64"),
    "very deep": ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    "NaN": ('{"a": NaN}', "not valid JSON"),
    "duplicate key": ('{"issuer": "did:web:a", "issuer": "did:web:b"}', "appears twice"),
    "int": (42, "must be a JSON object"),
    "None": (None, "must be a JSON object"),
    "list object": ([certificate()], "must be a JSON object"),
    "cyclic dict": (cyclic(), "nested more than 64"),
    "non-str key": ({1: "x"}, "not a string"),
    "set value": ({"a": {1, 2}}, "not JSON"),
    "nan float": ({"a": float("nan")}, "cannot hold"),
    "no context": ({"type": ["VerifiableCredential"]}, "no @context"),
    "wrong context": ({"@context": ["https://example.com/ctx"]}, "the first @context"),
    "context not list": ({"@context": {"@vocab": "x"}}, "@context is not a list"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_is_invalid_with_a_reason(body: Body, name: str) -> None:
    data, reason = MALFORMED[name]
    result = body.verifier().verify_credential(data)
    assert result.verdict is Verdict.INVALID
    assert result.facts is None
    assert reason in result.summary, result.summary
    assert result.summary.startswith("Invalid: ")


def broken(signed: dict, change) -> dict:
    doc = json.loads(json.dumps(signed))
    change(doc)
    return doc


STRUCTURE = {
    "no type": (lambda d: d.pop("type"), "type is missing"),
    "type not VC": (lambda d: d.update(type=["OpenBadgeCredential"]), "VerifiableCredential"),
    "type number": (lambda d: d.update(type=7), "type is missing"),
    "no issuer": (lambda d: d.pop("issuer"), "there is no issuer"),
    "issuer list": (lambda d: d.update(issuer=["did:web:cb.example"]), "issuer is neither"),
    "issuer object without id": (lambda d: d["issuer"].pop("id"), "no id URL"),
    "issuer not url": (lambda d: d.update(issuer="Example CB"), "issuer is neither"),
    "no subject": (lambda d: d.pop("credentialSubject"), "credentialSubject"),
    "subject string": (lambda d: d.update(credentialSubject="Jane"), "credentialSubject"),
    "empty subject list": (lambda d: d.update(credentialSubject=[]), "credentialSubject"),
    "validFrom no tz": (lambda d: d.update(validFrom="2026-01-15T00:00:00"), "time zone"),
    "validUntil date only": (lambda d: d.update(validUntil="2029-01-14"), "time zone"),
    "impossible date": (lambda d: d.update(validUntil="2029-02-30T00:00:00Z"), "time zone"),
    "validFrom number": (lambda d: d.update(validFrom=20260115), "time zone"),
    "ends before it begins": (lambda d: d.update(validUntil="2025-01-01T00:00:00Z"), "ends"),
    "status string": (lambda d: d.update(credentialStatus="revoked?"), "credentialStatus"),
    "status without type": (lambda d: d["credentialStatus"][0].pop("type"), "credentialStatus"),
    "proof string": (lambda d: d.update(proof="trust me"), "proof is not"),
    "id not url": (lambda d: d.update(id="certificate 7"), "id is not a URL"),
    "1.1 without issuanceDate": (
        lambda d: d.update({"@context": ["https://www.w3.org/2018/credentials/v1"]}),
        "validFrom is a VC 2.0 property",
    ),
}


@pytest.mark.parametrize("name", sorted(STRUCTURE))
def test_structural_problems_are_invalid(body: Body, signed: dict, name: str) -> None:
    change, reason = STRUCTURE[name]
    result = body.verifier().verify_credential(broken(signed, change))
    assert result.verdict is Verdict.INVALID
    assert reason in result.summary, result.summary
    assert result.facts is None


PROOFS = {
    "no proof": lambda d: d.pop("proof"),
    "empty proof list": lambda d: d.update(proof=[]),
    "proof value garbage": lambda d: d["proof"].update(proofValue="z0OIl"),
    "proof value short": lambda d: d["proof"].update(proofValue="z3xyz"),
    "unknown cryptosuite": lambda d: d["proof"].update(cryptosuite="ecdsa-rdfc-2019"),
    "no verification method": lambda d: d["proof"].pop("verificationMethod"),
    "vm not a DID URL": lambda d: d["proof"].update(verificationMethod="https://x/k"),
    "vm of another method": lambda d: d["proof"].update(verificationMethod="did:example:cb#k"),
    "proof list of junk": lambda d: d.update(proof=[1, "two", None]),
    "undefined term": lambda d: d["credentialSubject"].update(secretNote="not signed"),
    "unknown context": lambda d: d["@context"].append("https://evil.example/ctx"),
}


@pytest.mark.parametrize("name", sorted(PROOFS))
def test_proof_problems_are_invalid(body: Body, signed: dict, name: str) -> None:
    result = body.verifier().verify_credential(broken(signed, PROOFS[name]))
    assert result.verdict is Verdict.INVALID, result.summary
    assert result.facts is None
    assert len(result.summary) > len("Invalid: ")


def test_a_verifier_bug_becomes_invalid_not_a_crash(signed: dict) -> None:
    class Exploding:
        def resolve(self, did: str) -> dict:
            raise ZeroDivisionError("boom")

    result = Verifier(resolver=Exploding()).verify_credential(signed)  # type: ignore[arg-type]
    assert result.verdict is Verdict.INVALID


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = [
    "@context",
    "type",
    "issuer",
    "credentialSubject",
    "validFrom",
    "validUntil",
    "proof",
    "credentialStatus",
    "id",
    "issuanceDate",
]


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(KEYS), value=json_values)
def test_random_values_in_any_field_never_crash_or_pass(
    body: Body, signed: dict, key: str, value: object
) -> None:
    doc = json.loads(json.dumps(signed))
    doc[key] = value
    result = body.verifier().verify_credential(doc)
    assert result.verdict is not Verdict.VALID or doc[key] == signed.get(key)
    json.dumps(result.to_json())


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_random_bytes_never_crash(data: bytes | str) -> None:
    result = Verifier().verify_credential(data)
    assert result.verdict is Verdict.INVALID
