"""JSON-LD-equivalent rewrites never make a verdict more favourable, nor change a fact.

An ``eddsa-rdfc-2022`` signature covers RDF, and JSON-LD has many spellings of one RDF graph:
a key written as its IRI, an alias from an inline context, ``@id``/``@type`` for
``id``/``type``, ``{"@value": …}``, ``{"@set": […]}``, ``{"@list": […]}``, a single value as a
one-element array, contexts in another order. Each leaves the signature valid. Issue 7 showed a
withdrawn certificate answering VALID after ``credentialStatus`` was renamed to its IRI.

The rule under test (verifier/compact.py): the verdict of any rewrite is the original's or
INVALID, never more favourable, and when it is the original's the facts are the same. Every
rewrite is applied to every key of a certificate in each state (valid, suspended, withdrawn,
expired), of its proof, of the status lists it points to, and of a presentation carrying it.
The rewrites are computed with pyld (the IRI each key stands for is what JSON-LD itself
expands it to), so the rewritten documents still carry valid signatures: the tests check that
too, so that a rewrite that broke the signature cannot pass for one the verifier refused.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from pyld import jsonld
from verify_support import (
    REVOCATION_URL,
    SUSPENSION_URL,
    Body,
    Clock,
    at,
    certificate,
    did_key_signer,
)

from certreg.contexts import DEFAULT_LOADER
from certreg.verifier import Verdict, Verifier
from certreg.verifier.canonicalize import rdfc

OPTIONS = {"documentLoader": DEFAULT_LOADER}
Path = tuple[Any, ...]


# --- the rewrites --------------------------------------------------------------------------


def node_at(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def object_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            if key != "@context":
                yield from object_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from object_paths(item, (*path, i))


def iri_of(doc: dict[str, Any], path: Path, key: str) -> str | None:
    """The IRI JSON-LD expands ``key`` to at ``path``: the one key the expansion loses when
    ``key`` is removed there."""
    smaller = copy.deepcopy(doc)
    del node_at(smaller, path)[key]
    return _lost_key(jsonld.expand(doc, OPTIONS), jsonld.expand(smaller, OPTIONS))


def _lost_key(full: Any, smaller: Any) -> str | None:
    if isinstance(full, list) and isinstance(smaller, list):
        for a, b in zip(full, smaller, strict=False):
            found = _lost_key(a, b)
            if found:
                return found
        return None
    if isinstance(full, dict) and isinstance(smaller, dict):
        lost = set(full) - set(smaller)
        if lost:
            return lost.pop()
        for key in full:
            found = _lost_key(full[key], smaller.get(key))
            if found:
                return found
    return None


def renamed(doc: dict[str, Any], path: Path, key: str, new_key: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node = node_at(out, path)
    node[new_key] = node.pop(key)
    return out


def with_value(doc: dict[str, Any], path: Path, key: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node_at(out, path)[key] = value
    return out


def with_context(doc: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["@context"] = [*out["@context"], extra]
    return out


def rewrites(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON-LD-equivalent rewrite of every key of ``doc`` (its proof included)."""
    for path in list(object_paths(doc)):
        node = node_at(doc, path)
        for key, value in list(node.items()):
            if key == "@context":
                continue
            where = ".".join(map(str, (*path, key)))
            if key in ("id", "type"):
                yield f"@{key} at {where}", renamed(doc, path, key, f"@{key}")
            elif not key.startswith("@") and "proof" not in path[:1]:
                iri = iri_of(doc, path, key)
                if iri:
                    yield f"IRI key at {where}", renamed(doc, path, key, iri)
                    for alias in ({"@id": iri}, {"@id": iri, "@type": "@id"}):
                        yield (
                            f"inline alias {alias} at {where}",
                            with_context(renamed(doc, path, key, "a"), {"a": alias}),
                        )
                    namespace, local = _split(iri)
                    yield (
                        f"compact IRI at {where}",
                        with_context(renamed(doc, path, key, f"zz:{local}"), {"zz": namespace}),
                    )
            if isinstance(value, str):
                yield f"value object at {where}", with_value(doc, path, key, {"@value": value})
            if isinstance(value, list):
                yield f"@set at {where}", with_value(doc, path, key, {"@set": value})
                yield f"@list at {where}", with_value(doc, path, key, {"@list": value})
                if len(value) == 1:
                    yield f"single value at {where}", with_value(doc, path, key, value[0])
            else:
                yield f"@set at {where}", with_value(doc, path, key, {"@set": [value]})
                yield f"one-element array at {where}", with_value(doc, path, key, [value])
    contexts = doc["@context"]
    yield "reordered contexts", {**doc, "@context": list(reversed(contexts))}


def _split(iri: str) -> tuple[str, str]:
    cut = max(iri.rfind("#"), iri.rfind("/")) + 1
    return iri[:cut], iri[cut:]


def same_meaning(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The rewrite kept the RDF (so the original signature still covers it)."""
    strip = [{k: v for k, v in d.items() if k != "proof"} for d in (a, b)]
    try:
        return rdfc(strip[0]) == rdfc(strip[1])
    except Exception:
        return False


# --- the states ----------------------------------------------------------------------------

STATES = {
    "valid": ({}, "2027-01-01T00:00:00Z", Verdict.VALID),
    "suspended": ({"suspended": True}, "2027-01-01T00:00:00Z", Verdict.SUSPENDED),
    "withdrawn": ({"revoked": True}, "2027-01-01T00:00:00Z", Verdict.WITHDRAWN),
    "expired": ({}, "2030-01-01T00:00:00Z", Verdict.EXPIRED),
}


def body_in(state: str) -> tuple[Body, Verifier, datetime]:
    lists, when, _ = STATES[state]
    body = Body()
    body.publish_defaults(**lists)
    return body, body.verifier(Clock(at("2027-01-01T00:00:00Z"))), at(when)


def check(verifier: Verifier, original: Any, rewritten: Any, now: datetime, what: str) -> None:
    before = verifier.verify_credential(original, now=now)
    after = verifier.verify_credential(rewritten, now=now)
    assert after.verdict in (before.verdict, Verdict.INVALID), (what, after.summary)
    if after.verdict is before.verdict and after.verdict is not Verdict.INVALID:
        assert after.facts == before.facts, what
        assert after.summary == before.summary, what


@pytest.mark.parametrize("state", list(STATES))
def test_every_rewrite_of_a_certificate(state: str) -> None:
    body, verifier, now = body_in(state)
    signed = body.sign(certificate())
    assert verifier.verify_credential(signed, now=now).verdict is STATES[state][2]
    count = kept = 0
    for what, rewritten in rewrites(signed):
        count += 1
        kept += same_meaning(signed, rewritten)
        check(verifier, signed, rewritten, now, what)
    # Most rewrites really are equivalent (the signature still holds): the test is not
    # passing because every rewrite simply broke the signature.
    assert count > 200 and kept > count // 2, (count, kept)


def test_every_rewrite_of_a_jcs_certificate() -> None:
    body, verifier, now = body_in("withdrawn")
    signed = body.sign(certificate(), cryptosuite="eddsa-jcs-2022")
    for what, rewritten in rewrites(signed):
        after = verifier.verify_credential(rewritten, now=now)
        assert after.verdict in (Verdict.WITHDRAWN, Verdict.INVALID), (what, after.summary)


@pytest.mark.parametrize(
    ("url", "lists", "verdict"),
    [
        (REVOCATION_URL, {"revoked": True}, Verdict.WITHDRAWN),
        (SUSPENSION_URL, {"suspended": True}, Verdict.SUSPENDED),
    ],
)
def test_every_rewrite_of_a_status_list(url: str, lists: dict, verdict: Verdict) -> None:
    """A rewritten list is refused (status unknown) or read exactly as the original: the bit
    it sets is never cleared by a rewrite."""
    body = Body()
    body.publish_defaults(**lists)
    signed = body.sign(certificate())
    original = body.lists[url]
    count = 0
    for what, rewritten in rewrites(original):
        count += 1
        served = dict(body.lists) | {url: rewritten}
        verifier = Verifier(transport=body.transport, status_fetcher=served, clock=Clock())
        result = verifier.verify_credential(signed)
        assert result.verdict in (verdict, Verdict.STATUS_UNKNOWN), (what, result.summary)
    assert count > 40


def test_every_rewrite_of_a_presentation() -> None:
    body, verifier, now = body_in("suspended")
    holder = did_key_signer()
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.verification_method.split("#")[0],
        "verifiableCredential": [body.sign(certificate())],
    }
    signed = body.sign(vp, signer=holder, proof_purpose="authentication")
    before = verifier.verify_presentation(signed, now=now)
    assert before.verdict is Verdict.SUSPENDED, before.summary
    for what, rewritten in rewrites(signed):
        after = verifier.verify_presentation(rewritten, now=now)
        assert after.verdict in (Verdict.SUSPENDED, Verdict.INVALID), (what, after.summary)


# --- the attacks of issue 7, by name --------------------------------------------------------


def test_credential_status_renamed_to_its_iri_is_invalid_not_valid() -> None:
    body, verifier, now = body_in("withdrawn")
    signed = body.sign(certificate())
    attack = renamed(
        signed, (), "credentialStatus", "https://www.w3.org/2018/credentials#credentialStatus"
    )
    assert same_meaning(signed, attack)  # the signature still covers it
    result = verifier.verify_credential(attack, now=now)
    assert result.verdict is Verdict.INVALID
    assert "credentialStatus" in result.summary and "compact form" in result.summary


def typed_iri_key(doc: dict[str, Any], key: str) -> dict[str, Any]:
    """``key`` (an xsd:dateTime term of the VC context) written as its IRI with a typed value,
    as an attacker must to keep the signature."""
    out = {k: v for k, v in doc.items() if k != key}
    out[f"https://www.w3.org/2018/credentials#{key}"] = {
        "@value": doc[key],
        "@type": "http://www.w3.org/2001/XMLSchema#dateTime",
    }
    return out


def test_valid_until_renamed_to_its_iri_is_invalid_not_valid() -> None:
    body, verifier, now = body_in("expired")
    signed = body.sign(certificate(status=False))
    attack = typed_iri_key(signed, "validUntil")
    assert same_meaning(signed, attack)
    assert verifier.verify_credential(attack, now=now).verdict is Verdict.INVALID


def test_an_inline_alias_cannot_hide_the_status() -> None:
    body, verifier, now = body_in("suspended")
    signed = body.sign(certificate())
    iri = "https://www.w3.org/2018/credentials#credentialStatus"
    attack = with_context(
        renamed(signed, (), "credentialStatus", "s"), {"s": {"@id": iri, "@type": "@id"}}
    )
    assert same_meaning(signed, attack)
    result = verifier.verify_credential(attack, now=now)
    assert result.verdict is Verdict.INVALID
    assert "second name" in result.summary


def test_a_status_list_with_valid_until_as_an_iri_is_not_current() -> None:
    """An old list version, its validUntil hidden as an IRI, cannot clear a suspension."""
    body = Body()
    body.publish(SUSPENSION_URL, "suspension", valid_until="2026-12-31T00:00:00Z")
    old = body.lists[SUSPENSION_URL]
    body.publish(SUSPENSION_URL, "suspension", set_bits=(9321,))
    body.publish(REVOCATION_URL, "revocation")
    hidden = typed_iri_key(old, "validUntil")
    assert same_meaning(old, hidden)
    lists = dict(body.lists) | {SUSPENSION_URL: hidden}
    verifier = Verifier(transport=body.transport, status_fetcher=lists, clock=Clock())
    result = verifier.verify_credential(body.sign(certificate()))
    assert result.verdict is Verdict.STATUS_UNKNOWN, result.summary
    assert "compact form" in result.summary


def test_a_list_for_another_url_with_its_id_hidden_is_refused() -> None:
    body = Body()
    body.publish_defaults(suspended=True)
    other = body.publish("https://cb.example/status/suspension/2", "suspension")
    for key in ("@id", "https://example.invalid/not-an-id-key"):
        disguised = renamed(other, (), "id", key)
        lists = dict(body.lists) | {SUSPENSION_URL: disguised}
        verifier = Verifier(transport=body.transport, status_fetcher=lists, clock=Clock())
        result = verifier.verify_credential(body.sign(certificate()))
        assert result.verdict is Verdict.STATUS_UNKNOWN, (key, result.summary)


def test_a_list_without_an_id_is_refused() -> None:
    """The list must say, in what was signed, which URL it is the list of."""
    body = Body()
    body.publish_defaults(suspended=True)
    blank = body.lists[SUSPENSION_URL]
    unsigned = {k: v for k, v in blank.items() if k not in ("proof", "id")}
    body.lists[SUSPENSION_URL] = body.sign(unsigned)
    result = body.verifier().verify_credential(body.sign(certificate()))
    assert result.verdict is Verdict.STATUS_UNKNOWN
    assert "does not say which list it is" in result.summary


def test_set_and_list_wrappers_are_refused_with_a_reason() -> None:
    body, verifier, now = body_in("valid")
    signed = body.sign(certificate())
    for wrapper in ("@set", "@list"):
        attack = with_value(
            signed,
            ("credentialSubject",),
            "identifier",
            {wrapper: signed["credentialSubject"]["identifier"]},
        )
        result = verifier.verify_credential(attack, now=now)
        assert result.verdict is Verdict.INVALID
        assert f"'{wrapper}'" in result.summary


def test_a_keyword_like_key_with_a_space_is_refused() -> None:
    """hypothesis found '@ ': JSON-LD ignores it, so it was accepted and not signed."""
    body, verifier, now = body_in("valid")
    attack = body.sign(certificate()) | {"@ ": ""}
    assert verifier.verify_credential(attack, now=now).verdict is Verdict.INVALID


def test_the_signer_refuses_what_verifiers_would_refuse() -> None:
    """Signing a document that is not in its contexts' compact form would only produce a
    certificate nobody can verify: add_proof says why instead."""
    from certreg.verifier.dataintegrity import ProofError

    body = Body()
    unsigned = renamed(certificate(), (), "id", "@id")
    with pytest.raises(ProofError, match="compact form"):
        body.sign(unsigned)


def test_a_proof_value_has_one_spelling() -> None:
    """base58 decoders skip white space: a padded proofValue is a second spelling of the same
    signature, so it is refused rather than accepted."""
    body, verifier, now = body_in("valid")
    signed = body.sign(certificate())
    signed["proof"]["proofValue"] += " "
    result = verifier.verify_credential(signed, now=now)
    assert result.verdict is Verdict.INVALID
    assert "base58btc" in result.summary
