"""did:key / did:web identifiers and documents, KeyRecord, and looking up verification methods."""

from __future__ import annotations

import pytest
from factories import read_json
from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.keys import (
    DID_CONTEXT,
    DidError,
    KeyPair,
    KeyRecord,
    build_did_web_document,
    did_key_document,
    did_key_from_public,
    did_key_verification_method,
    did_web_from_url,
    did_web_to_url,
    verification_method_from_document,
)

# The W3C eddsa test-vector key (tests/vectors/eddsa/keyPair.json).
VECTOR_KEY = read_json("eddsa/keyPair.json")
PUB = VECTOR_KEY["publicKeyMultibase"]


def test_did_key_names_the_public_key() -> None:
    assert did_key_from_public(PUB) == f"did:key:{PUB}"
    assert did_key_verification_method(PUB) == f"did:key:{PUB}#{PUB}"


def test_did_key_document_shape() -> None:
    did = f"did:key:{PUB}"
    vm_id = f"{did}#{PUB}"
    doc = did_key_document(vm_id)
    assert doc == {
        "@context": DID_CONTEXT,
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": PUB}
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }
    assert did_key_document(did) == doc


@pytest.mark.parametrize(
    "bad",
    [
        "did:web:cb.example",
        "did:key:",
        "did:key:not-multibase",
        # X25519 and P-256 did:keys are valid did:keys, just not Ed25519.
        "did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
        "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
        f"did:key:{PUB}#z6MkOther",
        f"did:key:{PUB}/path",
        "",
    ],
)
def test_did_key_document_refuses(bad: str) -> None:
    with pytest.raises(DidError):
        did_key_document(bad)


def test_did_key_from_public_refuses_non_ed25519() -> None:
    with pytest.raises(DidError, match="Ed25519"):
        did_key_from_public("z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc")


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://cb.example", "did:web:cb.example"),
        ("https://cb.example/", "did:web:cb.example"),
        ("https://CB.Example/.well-known/did.json", "did:web:cb.example"),
        ("https://cb.example:8443/bodies/x", "did:web:cb.example%3A8443:bodies:x"),
        ("https://cb.example/bodies/x/did.json", "did:web:cb.example:bodies:x"),
    ],
)
def test_did_web_from_url(url: str, did: str) -> None:
    assert did_web_from_url(url) == did


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:cb.example", "https://cb.example/.well-known/did.json"),
        ("did:web:cb.example%3A8443", "https://cb.example:8443/.well-known/did.json"),
        ("did:web:cb.example%3A8443:bodies:x", "https://cb.example:8443/bodies/x/did.json"),
        ("did:web:cb.example#key-1", "https://cb.example/.well-known/did.json"),
    ],
)
def test_did_web_to_url(did: str, url: str) -> None:
    assert did_web_to_url(did) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://cb.example", "https"),
        ("https://user:pw@cb.example", "user name"),
        ("https://", "host"),
        ("https://cb.example/a?b=c", "query"),
        ("https://cb.example/a/../b", r"'\.\.'"),
        ("https://cb.example:99999", "port"),
    ],
)
def test_did_web_from_url_refuses(url: str, why: str) -> None:
    with pytest.raises(DidError, match=why):
        did_web_from_url(url)


@pytest.mark.parametrize(
    ("did", "why"),
    [
        ("did:key:z6Mk", "not a did:web"),
        ("did:web:", "empty"),
        ("did:web:%3A8443", "empty"),
        ("did:web:cb.example:..:secret", r"'\.\.'"),
        ("did:web:cb.example:%2E%2E:secret", r"'\.\.'"),
        ("did:web:cb.example:a%2Fb", "forbidden"),
        ("did:web:user%40cb.example", "user name"),
        ("did:web:cb.example%3Ahttp", "port"),
        ("did:web:cb.example::x", "empty segment"),
        ("did:web:cb_example", "host name"),
        ("did:web:cb.example/x", "'/'"),
    ],
)
def test_did_web_to_url_refuses(did: str, why: str) -> None:
    with pytest.raises(DidError, match=why):
        did_web_to_url(did)


@settings(deadline=None)  # hypothesis's default 200 ms deadline is a wall-clock test
@given(
    st.lists(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True), max_size=3),
    st.one_of(st.none(), st.integers(1, 65535)),
)
def test_did_web_round_trip(segments: list[str], port: int | None) -> None:
    base = "https://cb.example" + (f":{port}" if port else "")
    url = base + "".join(f"/{s}" for s in segments)
    did = did_web_from_url(url)
    expected = f"{url}/did.json" if segments else f"{base}/.well-known/did.json"
    assert did_web_to_url(did) == expected


def _record(n: int, **ends: str) -> KeyRecord:
    pub = KeyPair(bytes([n]) * 32).public_multibase
    return KeyRecord(f"did:web:cb.example#key-{n}", pub, f"2026-01-0{n}T00:00:00Z", **ends)


def test_key_record_status() -> None:
    assert _record(1).status == "current"
    assert _record(1, expires="2026-02-01T00:00:00Z").status == "retired"
    compromised = _record(1, expires="2026-02-01T00:00:00Z", revoked="2026-03-01T00:00:00Z")
    assert compromised.status == "compromised"
    assert compromised.controller == "did:web:cb.example"


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "key-1"},
        {"public_multibase": "z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc"},
        {"created": "2026-01-01"},
        {"created": "2026-01-01T00:00:00+01:00"},
        {"expires": "yesterday"},
        {"revoked": "2026-13-01T00:00:00Z"},
    ],
)
def test_key_record_refuses_malformed_fields(fields: dict[str, str]) -> None:
    base = _record(1).to_dict() | fields
    with pytest.raises(DidError):
        KeyRecord(**base)


def test_did_web_document_lists_every_key_with_its_end() -> None:
    keys = [
        _record(1, expires="2026-01-02T00:00:00Z"),
        _record(2, revoked="2026-01-03T00:00:00Z"),
        _record(3),
    ]
    doc = build_did_web_document("did:web:cb.example", keys)
    assert doc["@context"] == DID_CONTEXT
    assert doc["id"] == "did:web:cb.example"
    ids = [k.id for k in keys]
    assert [vm["id"] for vm in doc["verificationMethod"]] == ids
    assert doc["verificationMethod"][0]["expires"] == "2026-01-02T00:00:00Z"
    assert doc["verificationMethod"][1]["revoked"] == "2026-01-03T00:00:00Z"
    assert "expires" not in doc["verificationMethod"][2]
    assert "revoked" not in doc["verificationMethod"][2]
    assert all(
        vm["type"] == "Multikey" and vm["controller"] == "did:web:cb.example"
        for vm in doc["verificationMethod"]
    )
    # The compromised key stays listed so verifiers can say "compromised on …".
    assert doc["assertionMethod"] == ids
    assert doc["authentication"] == ids


def test_did_web_document_refuses_foreign_or_duplicate_keys() -> None:
    with pytest.raises(DidError, match="does not belong"):
        build_did_web_document("did:web:other.example", [_record(1)])
    with pytest.raises(DidError, match="twice"):
        build_did_web_document("did:web:cb.example", [_record(1), _record(1)])
    with pytest.raises(DidError, match="at least one"):
        build_did_web_document("did:web:cb.example", [])


def test_verification_method_found_by_reference_and_embedded() -> None:
    doc = build_did_web_document("did:web:cb.example", [_record(1), _record(2)])
    vm = verification_method_from_document(doc, "did:web:cb.example#key-2", "assertionMethod")
    assert vm["publicKeyMultibase"] == _record(2).public_multibase

    embedded = {
        "id": "did:web:cb.example",
        "assertionMethod": [
            {
                "id": "#key-9",
                "type": "Multikey",
                "controller": "did:web:cb.example",
                "publicKeyMultibase": _record(1).public_multibase,
            }
        ],
    }
    vm = verification_method_from_document(embedded, "did:web:cb.example#key-9", "assertionMethod")
    assert vm["id"] == "did:web:cb.example#key-9"

    relative = dict(doc, assertionMethod=["#key-1"])
    assert (
        verification_method_from_document(relative, "did:web:cb.example#key-1", "assertionMethod")[
            "type"
        ]
        == "Multikey"
    )


def test_verification_method_lookup_errors_say_what_is_wrong() -> None:
    doc = build_did_web_document("did:web:cb.example", [_record(1), _record(2)])
    doc["assertionMethod"] = [_record(1).id]
    with pytest.raises(DidError, match="is not listed under assertionMethod of did:web:cb"):
        verification_method_from_document(doc, _record(2).id, "assertionMethod")
    with pytest.raises(DidError, match="not in the DID document"):
        verification_method_from_document(doc, "did:web:cb.example#key-7", "assertionMethod")
    with pytest.raises(DidError, match="does not belong"):
        verification_method_from_document(doc, "did:web:evil.example#key-1", "assertionMethod")
    with pytest.raises(DidError, match="not listed under capabilityInvocation"):
        verification_method_from_document(doc, _record(1).id, "capabilityInvocation")

    dangling = dict(doc, verificationMethod=[], assertionMethod=[_record(1).id])
    with pytest.raises(DidError, match="not defined"):
        verification_method_from_document(dangling, _record(1).id, "assertionMethod")

    borrowed = build_did_web_document("did:web:cb.example", [_record(1)])
    borrowed["verificationMethod"][0]["controller"] = "did:web:victim.example"
    with pytest.raises(DidError, match="controller"):
        verification_method_from_document(borrowed, _record(1).id, "assertionMethod")

    for bad_doc in (None, [], {"id": 3}):
        with pytest.raises(DidError):
            verification_method_from_document(bad_doc, _record(1).id, "assertionMethod")  # type: ignore[arg-type]


def test_did_key_document_authorises_its_key_for_assertions() -> None:
    vm_id = did_key_verification_method(PUB)
    doc = did_key_document(vm_id)
    assert (
        verification_method_from_document(doc, vm_id, "assertionMethod")["publicKeyMultibase"]
        == PUB
    )
