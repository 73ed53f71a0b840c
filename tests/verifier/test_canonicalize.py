"""RDFC-1.0 and JCS canonicalisation: the fast engine agrees byte for byte with the pyld
reference on a corpus of hard cases, and whatever would make a signature cover less than the
document says is refused by both."""

from __future__ import annotations

import copy
from typing import Any

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certreg.verifier.canonicalize import CanonicalizationError, jcs, rdfc, rdfc_reference

V2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EX = {
    "ex": "https://example.org/vocab#",
    "note": "ex:note",
    "ref": {"@id": "ex:ref", "@type": "@id"},
}


def certification(name: str = "Jane Doe", number: str = "CB-7K3M-9QX2-4") -> dict[str, Any]:
    return {
        "@context": [V2, OB],
        "id": "urn:uuid:2f0d9a4e-6c1b-4a53-9a55-2b7f3c1d0e11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Certified Welding Inspector",
        "issuer": {"id": "did:web:cb.example", "type": ["Profile"], "name": "Example CB"},
        "validFrom": "2026-01-15T00:00:00Z",
        "validUntil": "2029-01-14T23:59:59Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": name,
                }
            ],
            "licenseNumber": number,
            "achievement": {
                "id": "https://cb.example/schemes/cwi",
                "type": ["Achievement"],
                "achievementType": "Certification",
                "name": "Certified Welding Inspector",
                "criteria": {"narrative": "ISO 9712 examination"},
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetType": "ext:NormativeReference",
                        "targetName": "ISO 9712:2021",
                        "targetUrl": "https://www.iso.org/standard/74629.html",
                    }
                ],
            },
        },
        "credentialStatus": [
            {
                "id": "https://cb.example/status/revocation/1#40123",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "40123",
                "statusListCredential": "https://cb.example/status/revocation/1",
            },
        ],
    }


CONTROL_CHARACTERS = "".join(chr(c) for c in [*range(0x20), 0x7F])

CORPUS: dict[str, dict[str, Any]] = {
    "certification": certification(),
    "control characters": certification(name="A" + CONTROL_CHARACTERS + "Z"),
    "quotes, backslashes, unicode": certification(name='J\\"o"\u00e9 \u2028 \U0001f600'),
    "language tags, lower case": {
        "@context": [V2, EX],
        "id": "urn:x:1",
        "note": [{"@value": "bonjour", "@language": "fr"}, {"@value": "hi", "@language": "en-gb"}],
    },
    "language tags, mixed case": {
        "@context": [V2, EX],
        "id": "urn:x:2",
        "note": [{"@value": "Hallo", "@language": "de-CH"}, {"@value": "hi", "@language": "en-US"}],
    },
    "blank-node cycle": {
        "@context": [V2, EX],
        "@graph": [
            {"@id": "_:a", "ref": "_:b", "note": "x"},
            {"@id": "_:b", "ref": "_:c", "note": "x"},
            {"@id": "_:c", "ref": "_:a", "note": "x"},
        ],
    },
    "symmetric blank nodes": {
        "@context": [V2, EX],
        "@graph": [
            {"@id": "_:a", "ref": ["_:b", "_:c"]},
            {"@id": "_:b", "ref": ["_:a", "_:c"]},
            {"@id": "_:c", "ref": ["_:a", "_:b"]},
        ],
    },
    "duplicates and numbers": {
        "@context": [V2, EX],
        "id": "urn:x:3",
        "note": ["same", "same", 1, 1.5, True, 10**20],
    },
    "typed and json literals": {
        "@context": [V2, EX, {"data": {"@id": "ex:data", "@type": "@json"}}],
        "id": "urn:x:4",
        "data": {"b": [1, "two"], "a": None},
        "note": {"@value": "2026-01-01", "@type": "http://www.w3.org/2001/XMLSchema#date"},
    },
    "base direction": {
        "@context": [V2, EX],
        "id": "urn:x:6",
        "note": [
            {"@value": "مرحبا", "@language": "ar", "@direction": "rtl"},
            {"@value": "x", "@direction": "ltr"},
        ],
    },
    "non-characters U+FFFE and U+FFFF": certification(name="a\ufffeb\uffffc"),
    "named graph": {
        "@context": [V2, EX],
        "@id": "urn:x:graph",
        "@graph": {"@id": "urn:x:5", "note": "inside"},
    },
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_fast_engine_agrees_with_pyld_reference(name):
    document = CORPUS[name]
    reference = rdfc_reference(document)
    assert rdfc(document) == reference
    assert rdfc(copy.deepcopy(document)) == reference  # second call: served from the template


def test_language_tags_are_lower_cased_by_both_engines():
    # pyld 3.3 lower-cases @language during expansion and pyoxigraph lower-cases on parsing;
    # the fast engine routes any template with an upper-case tag to pyld, should pyld change.
    out = rdfc(CORPUS["language tags, mixed case"])
    assert '"Hallo"@de-ch' in out
    assert '"hi"@en-us' in out


def test_base_direction_becomes_an_i18n_datatype_as_in_jsonld_js():
    out = rdfc(CORPUS["base direction"])
    assert '"مرحبا"^^<https://www.w3.org/ns/i18n#ar_rtl>' in out
    assert '"x"^^<https://www.w3.org/ns/i18n#_ltr>' in out


def test_non_characters_are_written_raw_as_pyld_and_jsonld_js_do():
    # pyoxigraph 0.5 escapes only these two code points as \uFFFE / \uFFFF; such documents
    # go to the reference engine (found by tests/product/test_interop_js.py).
    assert "a\ufffeb\uffffc" in rdfc(CORPUS["non-characters U+FFFE and U+FFFF"])


def test_control_characters_are_escaped_as_rdfc_requires():
    out = rdfc_reference(CORPUS["control characters"])
    expected = (
        "A\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000B\\f\\r"
        "\\u000E\\u000F\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019"
        "\\u001A\\u001B\\u001C\\u001D\\u001E\\u001F\\u007FZ"
    )
    assert f'"{expected}"' in out


def test_reference_escaping_matches_pyoxigraph_on_every_control_character():
    for code in [*range(0x20), 0x7F]:
        text = f"x{chr(code)}y"
        ours = rdfc_reference(certification(name=text))
        quad = ox.Quad(ox.BlankNode("b"), ox.NamedNode("https://example.org/p"), ox.Literal(text))
        theirs = ox.serialize([quad], format=ox.RdfFormat.N_QUADS).decode()
        escaped = theirs.split('"', 1)[1].rsplit('"', 1)[0]
        assert f'"{escaped}"' in ours, hex(code)


def test_a_value_change_changes_the_canonical_form():
    assert rdfc(certification(number="A-1")) != rdfc(certification(number="A-2"))


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            {"@context": [V2], "id": "urn:x:1", "undefinedTerm": "dropped"},
            "'undefinedTerm' is not defined",
        ),
        (
            {"@context": [V2], "id": "urn:x:1", "type": ["VerifiableCredential", "Mystery"]},
            "'Mystery' is not defined",
        ),
        (
            {
                "@context": [V2, OB],
                "type": ["VerifiableCredential"],
                "credentialSubject": {"type": ["AchievementSubject"], "nickname": "x"},
            },
            "'nickname' is not defined",
        ),
        ({"@context": [V2], "id": "relative/path", "name": "x"}, "relative IRI"),
        ({"@context": [V2, {"@base": "https://evil.example/"}], "id": "x", "name": "y"}, "@base"),
        (
            {"@context": [V2, EX], "id": "urn:x:1", " ": "a key with a space is dropped"},
            "contains white space",
        ),
        (
            {"@context": [V2, EX], "id": "urn:x:1", "ex:a b": "dropped"},
            "contains white space",
        ),
        (
            {"@context": [V2, EX], "id": "urn:x:1 2", "note": "the node vanishes"},
            "not a well-formed absolute IRI",
        ),
        (
            {
                "@context": [V2, EX],
                "id": "urn:x:1",
                "note": {"@value": "x", "@language": "no tag!"},
            },
            "not a well-formed language tag",
        ),
        ({"@context": [V2], "id": "urn:x:1", "@foo": "bar"}, "looks like a JSON-LD keyword"),
        ({"@context": ["https://evil.example/context.jsonld"], "id": "urn:x:1"}, "not pinned"),
        ({"id": "urn:x:1"}, "no @context"),
        ({"@context": [V2, 42]}, "URLs or objects"),
        ([1, 2], "JSON object"),
    ],
)
def test_refused_documents(document, words):
    for engine in (rdfc, rdfc_reference):
        with pytest.raises(CanonicalizationError) as info:
            engine(document)
        assert words in info.value.reason


def test_the_undefined_terms_context_is_allowed_and_maps_terms():
    # VC 2.0's undefined-terms context sets @vocab deliberately: such terms are not dropped.
    from factories import EXAMPLE_CONTEXTS, read_json

    from certreg.contexts import DocumentLoader

    url = "https://www.w3.org/ns/credentials/undefined-terms/v2"
    loader = DocumentLoader({url: read_json(f"contexts/{EXAMPLE_CONTEXTS[url]}")})
    doc = {"@context": [V2, url], "id": "urn:x:1", "anything": "kept"}
    assert "undefined-term#anything" in rdfc(doc, loader)
    assert rdfc(doc, loader) == rdfc_reference(doc, loader)


def test_deep_and_huge_documents_are_refused_not_crashing():
    deep: dict[str, Any] = {"@context": [V2], "id": "urn:x:1"}
    cursor = deep
    for _ in range(200):
        cursor["credentialSubject"] = {}
        cursor = cursor["credentialSubject"]
    with pytest.raises(CanonicalizationError, match="nested deeper"):
        rdfc(deep)
    huge = {"@context": [V2], "id": "urn:x:1", "name": ["x"] * 60_000}
    with pytest.raises(CanonicalizationError, match="more than"):
        rdfc(huge)


def test_jcs_is_rfc8785():
    assert jcs({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    with pytest.raises(CanonicalizationError):
        jcs({"x": float("nan")})


texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
iris = st.from_regex(r"\Ahttps://[a-z]{1,8}\.example/[a-z0-9/#]{0,12}\Z")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=texts, number=texts, narrative=texts, scheme=iris, status=iris, index=texts)
def test_fast_engine_agrees_with_reference_on_random_values(
    name, number, narrative, scheme, status, index
):
    doc = certification(name=name, number=number)
    doc["credentialSubject"]["achievement"]["criteria"]["narrative"] = narrative
    doc["credentialSubject"]["achievement"]["id"] = scheme
    doc["credentialStatus"][0]["statusListCredential"] = status
    doc["credentialStatus"][0]["statusListIndex"] = index
    try:
        reference = rdfc_reference(doc)
    except CanonicalizationError as exc:
        with pytest.raises(CanonicalizationError) as info:
            rdfc(doc)
        assert info.value.reason == exc.reason
        return
    assert rdfc(doc) == reference


def clique(n: int) -> dict[str, Any]:
    return {
        "@context": [V2, EX],
        "@graph": [
            {"@id": f"_:n{i}", "ref": [f"_:n{j}" for j in range(n) if j != i]} for i in range(n)
        ],
    }


@pytest.mark.parametrize("size", [6, 8, 30])
def test_poison_graphs_are_refused_not_computed(size):
    # Without a bound, a clique of 8 blank nodes took 111 s in pyld and 5.6 s in pyoxigraph.
    for engine in (rdfc, rdfc_reference):
        with pytest.raises(CanonicalizationError, match="cannot be told apart"):
            engine(clique(size))


def test_a_ring_of_blank_nodes_is_still_canonicalised():
    ring = {
        "@context": [V2, EX],
        "@graph": [{"@id": f"_:n{i}", "ref": f"_:n{(i + 1) % 20}"} for i in range(20)],
    }
    assert rdfc(ring) == rdfc_reference(ring)
    assert rdfc(ring).count("_:c14n19") == 2


def test_scope_items_with_the_same_shape_and_same_values():
    doc = certification()
    subject = doc["credentialSubject"]
    subject["result"] = [
        {"type": ["Result"], "status": "Completed", "value": "same"},
        {"type": ["Result"], "status": "Completed", "value": "same"},
    ]
    assert rdfc(doc) == rdfc_reference(doc)
    subject["result"][1]["value"] = "different"
    assert rdfc(doc) == rdfc_reference(doc)


json_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"])),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.text(st.characters(codec="utf-8", exclude_categories=["Cs"])), inner, max_size=5
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_documents)
def test_jcs_fast_path_writes_exactly_what_rfc8785_writes(document):
    from certreg.verifier.canonicalize import jcs_reference

    try:
        expected = jcs_reference(document)
    except CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            jcs(document)
        return
    assert jcs(document) == expected


def test_jcs_sorts_keys_by_utf16_code_units():
    # U+1F600 sorts before U+FFFD in UTF-16 (surrogate 0xD83D) but after it by code point.
    document = {"\ufffd": 1, "\U0001f600": 2}
    assert jcs(document) == '{"\U0001f600":2,"\ufffd":1}'.encode()
