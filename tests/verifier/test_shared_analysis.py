"""Signing analyses a document once: the compact-form check hands its analysis of the
document and of the proof configuration to RDFC-1.0. What is signed and what is refused must
be exactly what it was when each step analysed the document on its own."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import base58
import pytest
from verify_support import certificate

from certreg.contexts import DEFAULT_LOADER
from certreg.keys.keypair import KeyPair
from certreg.verifier import canonicalize
from certreg.verifier.canonicalize import analyse, rdfc, rdfc_reference
from certreg.verifier.compact import check_compact_form
from certreg.verifier.dataintegrity import ProofError, add_proof, verify_proofs

CREATED = "2026-01-15T00:00:00Z"
V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"


def alumni(i: int = 0) -> dict[str, Any]:
    """The vc-di-eddsa test vector's credential, with its own ids."""
    return {
        "@context": [V2, EXAMPLES],
        "id": f"urn:uuid:58172aac-d8ba-11ed-83dd-{i:012d}",
        "type": ["VerifiableCredential", "AlumniCredential"],
        "name": "Alumni Credential",
        "description": "A minimum viable example of an Alumni Credential.",
        "issuer": "https://vc.example/issuers/5678",
        "validFrom": "2023-01-01T00:00:00Z",
        "credentialSubject": {"id": f"did:example:abcdefgh{i}", "alumniOf": "The School"},
    }


def proof_configuration() -> dict[str, Any]:
    return {
        "@context": [V2],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": CREATED,
        "verificationMethod": "did:key:z6Mkabc#z6Mkabc",
        "proofPurpose": "assertionMethod",
    }


CORPUS: dict[str, Any] = {
    "alumni": alumni(),
    "certificate": certificate(),
    "proof configuration": proof_configuration(),
    "language-tagged name": {**alumni(), "name": {"@value": "Alumni", "@language": "en"}},
}


def signer() -> KeyPair:
    pair = KeyPair(bytes(range(32)))
    return pair.with_verification_method(f"did:key:{pair.public_multibase}#{pair.public_multibase}")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_rdfc_with_the_analysis_is_rdfc_without_it(name):
    document = copy.deepcopy(CORPUS[name])
    expected = rdfc_reference(document)
    assert rdfc(document, DEFAULT_LOADER, analyse(document)) == expected
    assert rdfc(document, DEFAULT_LOADER, analyse(document)) == expected  # a known shape


def test_the_analysis_of_one_document_is_refused_for_another():
    first, second = alumni(1), alumni(2)
    with pytest.raises(ValueError, match="not this document's"):
        rdfc(second, DEFAULT_LOADER, analyse(first))
    # an equal copy is another object: refused too (the analysis vouches for one object)
    with pytest.raises(ValueError, match="not this document's"):
        rdfc(copy.deepcopy(first), DEFAULT_LOADER, analyse(first))


def test_the_compact_form_check_returns_the_analysis_of_the_document_it_checked():
    document = alumni(3)
    analysis = check_compact_form(document, DEFAULT_LOADER)
    assert analysis is not None and analysis.document is document
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "verifiableCredential": [alumni(4)],
    }
    # a presentation is checked without its credentials: that analysis is of another object
    assert check_compact_form(presentation, DEFAULT_LOADER) is None


def _signed_bytes_alone(document: dict[str, Any], proof: dict[str, Any]) -> bytes:
    """The 64 signed bytes, each part canonicalised on its own (no analysis shared)."""
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    config["@context"] = document["@context"]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return (
        hashlib.sha256(rdfc_reference(config).encode()).digest()
        + hashlib.sha256(rdfc_reference(unsecured).encode()).digest()
    )


@pytest.mark.parametrize("fresh", [True, False], ids=["new shape", "known shape"])
def test_the_signature_covers_the_document_as_canonicalised_on_its_own(fresh):
    pair = signer()
    if fresh:
        canonicalize._SHAPES.clear()
    for i in range(3):
        document = alumni(10 + i)
        signed = add_proof(document, pair, created=CREATED)
        signature = base58.b58decode(signed["proof"]["proofValue"][1:])
        assert pair.public_key.verify(_signed_bytes_alone(signed, signed["proof"]), signature)
        [check] = verify_proofs(signed, lambda proof: pair.public_key)
        assert check.ok, check.reason


def test_a_proof_chain_and_a_proof_set_still_verify():
    pair = signer()
    first = add_proof(alumni(20), pair, created=CREATED, proof_id="urn:uuid:p1")
    chained = add_proof(
        first, pair, created=CREATED, proof_id="urn:uuid:p2", previous_proof="urn:uuid:p1"
    )
    checks = verify_proofs(chained, lambda proof: pair.public_key)
    assert [c.ok for c in checks] == [True, True], [c.reason for c in checks]
    # altering the document after signing still fails every proof
    chained["name"] = "Another Credential"
    assert not any(c.ok for c in verify_proofs(chained, lambda proof: pair.public_key))


def test_a_document_in_another_form_is_still_refused_before_signing():
    document = alumni(30)
    # the subject under the IRI its term stands for: the same RDF, hidden from readers
    subject = document.pop("credentialSubject")
    document["https://www.w3.org/2018/credentials#credentialSubject"] = subject
    with pytest.raises(ProofError, match="compact form"):
        add_proof(document, signer(), created=CREATED)
