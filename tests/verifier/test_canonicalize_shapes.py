"""The first document of a shape: one JSON-LD expansion, and the same bytes as plain pyld.

canonicalize.py keeps one template per document shape. Building it used to cost about 3.5
expansions (shape-discovery rounds, then the template's own); now the first round starts from
a guess that usually proves itself, and its quads are the template. pyld's context processing,
IRI expansion and term selection are remembered across calls (verifier/_pyld_cache.py). These
tests count expansions (behaviour, not time) and hold every result to plain pyld, with
certreg's caches switched off, on documents chosen to make shapes and contexts hard.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pyld import jsonld
from verify_support import certificate

from certreg.contexts import DEFAULT_LOADER
from certreg.keys.keypair import KeyPair
from certreg.verifier import _pyld_cache, canonicalize, compact
from certreg.verifier.dataintegrity import add_proof, verify_proofs

V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
EX = "https://example.org/vocab#"

# Type-scoped and property-scoped contexts, defined inline: a term means something else
# inside a typed node than outside it, and only the type value says which.
SCOPED = {
    "ex": EX,
    "Box": {
        "@id": "ex:Box",
        "@context": {
            "label": {"@id": "ex:boxLabel", "@language": "en"},
            "kind": {"@id": "ex:kind", "@type": "@vocab"},
            "Small": "ex:Small",
        },
    },
    "Crate": {
        "@id": "ex:Crate",
        "@context": {"label": "ex:crateLabel", "inner": {"@id": "ex:inner", "@type": "@id"}},
    },
    "label": "ex:label",
    "holds": {"@id": "ex:holds", "@context": {"weight": {"@id": "ex:weight", "@type": "ex:kg"}}},
    "link": {"@id": "ex:link", "@type": "@id"},
    "Quiet": {"@id": "ex:Quiet", "@context": {"@propagate": False, "label": "ex:quietLabel"}},
}


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


def proof_configuration(created: str = "2026-01-15T00:00:00Z") -> dict[str, Any]:
    return {
        "@context": [V2],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": created,
        "verificationMethod": "did:key:z6Mkabc#z6Mkabc",
        "proofPurpose": "assertionMethod",
    }


def scoped(label: str = "a box", kind: str = "Small", box_type: Any = "Box") -> dict[str, Any]:
    return {
        "@context": [V2, SCOPED],
        "id": "urn:x:outer",
        "type": ["VerifiableCredential", "Crate"],
        "label": "crate label",
        "inner": "urn:x:inner",
        "holds": {
            "id": "urn:x:box",
            "type": box_type,
            "label": label,
            "kind": kind,
            "weight": "12.5",
            "link": "https://example.org/elsewhere",
        },
        "credentialSubject": {
            "type": "Quiet",
            "label": "quiet",
            "ex:nested": {"label": "not propagated"},
        },
    }


CORPUS: dict[str, dict[str, Any]] = {
    "OB 3.0 certificate": certificate(),
    "vc-di-eddsa vector": alumni(),
    "proof configuration": proof_configuration(),
    "type- and property-scoped contexts": scoped(),
    "two scoped types on one node": scoped(box_type=["Box", "Crate"]),
    "a term's name as a plain value": {
        **alumni(1),
        "name": "VerifiableCredential",
        "description": "assertionMethod",
    },
    "a type written as an IRI": {**alumni(2), "type": ["VerifiableCredential", EX + "Thing"]},
    "a @vocab value that is not a term": scoped(kind="https://example.org/kinds#large"),
    "a compact IRI as an identifier": {**scoped(), "inner": "ex:inner-box"},
}


def plain_pyld(document: dict[str, Any]) -> str:
    """What pyld alone says (certreg's caches off; its escaping fix stays, as in the
    reference engine)."""
    with _pyld_cache.disabled():
        return jsonld.normalize(
            copy.deepcopy(document),
            {
                "documentLoader": DEFAULT_LOADER,
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "rdfDirection": "i18n-datatype",
            },
        )


@pytest.fixture
def expansions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts JSON-LD expansions: pyld's toRdf, expand and compact each expand their input
    once (compact without skipExpansion), all through JsonLdProcessor.expand."""
    counter = [0]
    expand = jsonld.JsonLdProcessor.expand

    def counting(self: Any, input_: Any, options: Any) -> Any:
        counter[0] += 1
        return expand(self, input_, options)

    monkeypatch.setattr(jsonld.JsonLdProcessor, "expand", counting)
    canonicalize._SHAPES.clear()
    compact._RESULTS.clear()
    yield counter
    canonicalize._SHAPES.clear()
    compact._RESULTS.clear()


@pytest.mark.parametrize("name", list(CORPUS))
def test_first_and_later_documents_of_a_shape_equal_plain_pyld(name):
    document = CORPUS[name]
    canonicalize._SHAPES.clear()
    expected = plain_pyld(document)
    assert canonicalize.rdfc(document) == expected  # a new shape
    assert canonicalize.rdfc(copy.deepcopy(document)) == expected  # from the template
    assert canonicalize.rdfc_reference(document) == expected


@pytest.mark.parametrize("name", list(CORPUS))
def test_the_context_cache_changes_no_expansion(name):
    document = CORPUS[name]
    options = {"documentLoader": DEFAULT_LOADER}
    with _pyld_cache.disabled():
        expected = jsonld.expand(copy.deepcopy(document), options)
        compacted = jsonld.compact(expected, {"@context": document["@context"]}, options)
    for _ in range(2):  # the second time from the cache
        expanded = jsonld.expand(copy.deepcopy(document), options)
        assert expanded == expected
        assert jsonld.compact(expanded, {"@context": document["@context"]}, options) == compacted


@pytest.mark.parametrize(
    "document",
    [CORPUS["OB 3.0 certificate"], alumni(), proof_configuration(), scoped()],
    ids=["certificate", "vector", "proof configuration", "scoped contexts"],
)
def test_a_new_shape_costs_one_expansion(document, expansions):
    assert canonicalize.rdfc(document) == plain_pyld(document)
    assert expansions[0] == 1 + 1  # certreg's one, and plain pyld's in the assertion


def test_later_documents_of_the_shape_cost_none(expansions):
    canonicalize.rdfc(alumni(1))
    before = expansions[0]
    for i in range(2, 6):
        canonicalize.rdfc(alumni(i))
    assert expansions[0] == before


def test_a_value_the_first_guess_misses_joins_the_shape_in_a_second_round(expansions):
    # "ex:inner-box" is a compact IRI in an @id position: its placeholder would expand to a
    # relative IRI, so the first round does not prove itself and the value becomes part of
    # the shape. Never a guess: the template comes from the round that proved itself.
    document = CORPUS["a compact IRI as an identifier"]
    canonicalize.rdfc(document)
    assert expansions[0] == 2
    assert canonicalize.rdfc(document) == plain_pyld(document)


def test_a_term_value_in_a_literal_position_only_makes_more_templates(expansions):
    # "VerifiableCredential" as a name is guessed part of the shape: a document with another
    # name needs its own template (one expansion), and both are right.
    first = CORPUS["a term's name as a plain value"]
    canonicalize.rdfc(first)
    other = {**first, "name": "Alumni Credential"}
    expansions[0] = 0
    assert canonicalize.rdfc(other) == plain_pyld(other)
    assert expansions[0] == 1 + 1


def test_signing_and_verifying_a_new_shape_cost_one_expansion_per_document(expansions):
    pair = KeyPair(bytes(range(32)))
    pair = pair.with_verification_method(f"did:key:{pair.public_multibase}#{pair.public_multibase}")
    signed = add_proof(alumni(7), pair, created="2026-01-15T00:00:00Z")
    # the document and its proof configuration: one each (shape, template and the compact
    # form's round trip share it)
    assert expansions[0] == 2
    canonicalize._SHAPES.clear()
    compact._RESULTS.clear()
    expansions[0] = 0
    [check] = verify_proofs(signed, lambda proof: pair.public_key)
    assert check.ok, check.reason
    # the document, the proof as written (with its proofValue) and the proof configuration
    assert expansions[0] == 3


def test_the_shape_expansion_handed_to_the_compact_form_check_is_a_plain_expansion():
    for document in CORPUS.values():
        canonicalize._SHAPES.clear()
        contexts, scan = canonicalize._preflight(document, DEFAULT_LOADER)
        classes = canonicalize._classes(scan.leaves, contexts, DEFAULT_LOADER)
        shape = canonicalize._shape_of(document, scan, classes, DEFAULT_LOADER)
        expanded = canonicalize.take_expansion(shape, scan.leaves)
        if expanded is None:
            continue  # not proven in a round: the check expands for itself
        placeholders = canonicalize._placeholder_document(document, classes, shape.concrete)
        with _pyld_cache.disabled():
            assert expanded == jsonld.expand(placeholders, {"documentLoader": DEFAULT_LOADER})
        assert canonicalize.take_expansion(shape, scan.leaves) is None  # handed out once


def test_context_processing_is_remembered_across_documents():
    canonicalize._SHAPES.clear()
    canonicalize.rdfc(certificate())
    canonicalize.rdfc(alumni())
    before = _pyld_cache.stats()
    canonicalize._SHAPES.clear()
    canonicalize.rdfc(certificate(name="Another Name"))  # another document, same contexts
    canonicalize.rdfc(alumni(3))
    after = _pyld_cache.stats()
    assert after["misses"] == before["misses"]
    assert after["hits"] > before["hits"]


@pytest.mark.parametrize("warm", [False, True], ids=["new shape", "known shape"])
def test_a_value_spelling_the_relative_iri_sentinel_is_refused_by_both_engines(warm):
    """The reference engine expands relative IRIs against a sentinel base and refuses what
    comes out under it; an absolute IRI that spells the sentinel must be refused the same way
    on the fast path (it was accepted there, whether or not the shape was known)."""
    document = alumni(7)
    if warm:
        canonicalize.rdfc(alumni(8))  # the shape is known: templates would serve it
    document["credentialSubject"]["id"] = "https://relative-iri.certreg.invalid/x"
    with pytest.raises(canonicalize.CanonicalizationError, match="relative IRI"):
        canonicalize.rdfc_reference(document)
    with pytest.raises(canonicalize.CanonicalizationError, match="relative IRI"):
        canonicalize.rdfc(document)
