"""Interoperability with an independent implementation: Digital Bazaar's JavaScript stack
(@digitalbazaar/vc, data-integrity, eddsa-rdfc-2022 and eddsa-jcs-2022 cryptosuites,
vc-bitstring-status-list), driven through the small scripts in tests/interop/.

"It verifies ours, we verify its", for both cryptosuites, plus status lists. The JS side loads
JSON-LD contexts only from contexts/files/ and resolves did:key offline. Node is started a few
times per module, each call batching many documents. See docs/interop.md.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import EXAMPLE_CONTEXTS, read_json
from interop_support import INTEROP, NODE, node

from certreg.contexts import DEFAULT_LOADER, DocumentLoader
from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.keys.did import did_key_from_public, did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier import Verdict, Verifier
from certreg.verifier.canonicalize import CanonicalizationError, jcs, rdfc
from certreg.verifier.dataintegrity import add_proof, verify_proofs
from certreg.verifier.did import DidResolver, key_lookup_for
from certreg.verifier.statuslist import Bitstring, status_list_credential, status_list_entry

pytestmark = [
    pytest.mark.skipif(
        NODE is None,
        reason="node is not on PATH (interop with Digital Bazaar's JS stack needs Node.js >= 18)",
    ),
    pytest.mark.skipif(
        not (INTEROP / "node_modules").is_dir(),
        reason="tests/interop/node_modules is missing: run "
        "`npm ci --no-audit --no-fund --prefix tests/interop`",
    ),
]

SUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
# The spec's sample credential needs the W3C examples context: certreg's tests pin it
# (tests/vectors/contexts) and hand the same file to the JS side; production never sees it.
EXAMPLE_DOCUMENTS = {url: read_json(f"contexts/{name}") for url, name in EXAMPLE_CONTEXTS.items()}
EXAMPLE_LOADER = DocumentLoader(EXAMPLE_DOCUMENTS)
NOW = datetime.now(UTC).replace(microsecond=0)
VALID_FROM = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
VALID_UNTIL = (NOW + timedelta(days=3 * 365)).strftime("%Y-%m-%dT%H:%M:%SZ")
LIST_UNTIL = (NOW + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")

REVOCATION_URL = "https://cb.example/status/revocation/1"
SUSPENSION_URL = "https://cb.example/status/suspension/1"
SET_BITS = (0, 7, 8, 4242, 131_071)  # first byte edges, a byte boundary, middle, last entry

# Holder names that stress JSON escaping, N-Quads escaping and JCS. Each must sign and verify
# identically on both sides.
HARD_NAMES: dict[str, str] = {
    "U+0001": "Zoë \u0001 Ågren",
    "form-feed": "Form\ffeed",
    "quotes-backslash": 'O\'Brien "the \\ welder"',
    "U+2028-U+2029": "line\u2028separator\u2029paragraph",
    "emoji-astral": "Ana 👩‍🔧 🇩🇪 \U0010fffd",
    "ascii-controls": "tab\tnl\ncr\r vt\u000b nul\u0000 del\u007f c1\u0085",
    "nfd-bom-private-use": "e\u0301 vs \u00e9, bom\ufeff, pua\ue000\ue001",
    "n-quads-lookalike": '<http://x> "y"@en . _:b0 \\u0041',
    "U+FFFF-U+FFFE": "non-character \uffff \ufffe",
}

# (case, cryptosuite) pairs where the two implementations are known to disagree. strict=True:
# once certreg is fixed the test passes, xfail turns into a failure, and the mark must go.
# (U+FFFE/U+FFFF under eddsa-rdfc-2022 was one, fixed in verifier/canonicalize.py.)
KNOWN_DISAGREEMENTS: dict[tuple[str, str], str] = {}


def hard_cases() -> list[Any]:
    """pytest params (case, suite), with the known disagreements marked xfail."""
    return [
        pytest.param(
            case,
            suite,
            id=f"{case}-{suite}",
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_DISAGREEMENTS[case, suite])]
            if (case, suite) in KNOWN_DISAGREEMENTS
            else [],
        )
        for case in HARD_NAMES
        for suite in SUITES
    ]


# --------------------------------------------------------------------------------------------
# Documents


def with_vm(key: KeyPair) -> KeyPair:
    return key.with_verification_method(did_key_verification_method(key.public_multibase))


def certification(
    did: str, holder: Any = "Jane Doe", status: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    """Our Open Badges 3.0 certification credential, as the register issues it."""
    return certification_credential(
        body=Body(did=did, name="Example Certification Body", url="https://cb.example"),
        scheme=Scheme(
            id="https://cb.example/schemes/cwi/2024",
            code="CWI",
            name="Certified Welding Inspector",
            version="2024",
            description="Inspection of fusion welds in steel structures.",
            criteria="Written and practical examination per the scheme.",
            normative_reference=NormativeReference(
                "ISO 9712:2021", "https://www.iso.org/standard/75658.html"
            ),
        ),
        holder_name=holder,
        certificate_number="CB-7K3M-9QX2-4",
        scope=[
            ScopeItem("UT", "Ultrasonic testing, level 2"),
            ScopeItem("RT", "Radiographic testing, level 1", "Film only; no digital RT"),
        ],
        valid_from=VALID_FROM,
        valid_until=VALID_UNTIL,
        status_entries=status,
    )


def vc_example(did: str) -> dict[str, Any]:
    """The sample credential of the W3C vc-di-eddsa spec (tests/vectors/eddsa/unsigned.json),
    issued by ``did``."""
    return read_json("eddsa/unsigned.json") | {"issuer": did}


def language_tagged(did: str) -> dict[str, Any]:
    """Language-tagged values where the OB 3.0 shape allows them (untyped schema.org terms)."""
    doc = certification(did, holder={"@value": "Jürgen Groß", "@language": "de"})
    achievement = doc["credentialSubject"]["achievement"]
    achievement["name"] = [
        {"@value": "Schweißaufsichtsperson", "@language": "de"},
        {"@value": "Certified Welding Inspector", "@language": "en-GB"},
    ]
    achievement["description"] = {
        "@value": 'Contrôle des soudures \u2028 "acier"',
        "@language": "fr-CA",
    }
    return doc


def status_entries() -> tuple[dict[str, Any], ...]:
    return (
        status_list_entry(list_credential_url=REVOCATION_URL, index=4243, purpose="revocation"),
        status_list_entry(
            list_credential_url=SUSPENSION_URL, index=SET_BITS[3], purpose="suspension"
        ),
    )


def status_lists(did: str) -> dict[str, dict[str, Any]]:
    """Unsigned lists: revocation all clear, suspension with SET_BITS set."""
    suspended = Bitstring()
    for index in SET_BITS:
        suspended.set(index, 1)
    return {
        REVOCATION_URL: status_list_credential(
            id=REVOCATION_URL,
            issuer=did,
            purpose="revocation",
            bitstring=Bitstring(),
            valid_from=VALID_FROM,
            valid_until=LIST_UNTIL,
        ),
        SUSPENSION_URL: status_list_credential(
            id=SUSPENSION_URL,
            issuer=did,
            purpose="suspension",
            bitstring=suspended,
            valid_from=VALID_FROM,
            valid_until=LIST_UNTIL,
        ),
    }


def tampered(doc: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    changed["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    return changed


def loader_for(kind: str) -> DocumentLoader:
    return EXAMPLE_LOADER if kind == "vc example" else DEFAULT_LOADER


def proofs_ok(
    doc: dict[str, Any], loader: DocumentLoader = DEFAULT_LOADER
) -> tuple[bool, list[str]]:
    """certreg's verify_proofs with a did:key lookup for the document's issuer."""
    issuer = doc["issuer"]["id"] if isinstance(doc["issuer"], dict) else doc["issuer"]
    checks = verify_proofs(
        doc,
        key_lookup_for(issuer, DidResolver()),
        expected_purpose="assertionMethod",
        loader=loader,
    )
    return bool(checks) and all(c.ok for c in checks), [c.reason for c in checks]


# --------------------------------------------------------------------------------------------
# certreg signs, Digital Bazaar verifies


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    """Everything certreg signs, verified by DB in one node call per script."""
    key = with_vm(KeyPair.generate())
    did = did_key_from_public(key.public_multibase)
    lists = {url: add_proof(doc, key) for url, doc in status_lists(did).items()}
    docs: dict[str, dict[str, Any]] = {}
    for suite in SUITES:
        docs[f"certification {suite}"] = add_proof(certification(did), key, cryptosuite=suite)
        docs[f"vc example {suite}"] = add_proof(
            vc_example(did), key, cryptosuite=suite, loader=EXAMPLE_LOADER
        )
        docs[f"language-tagged {suite}"] = add_proof(language_tagged(did), key, cryptosuite=suite)
        docs[f"with status {suite}"] = add_proof(
            certification(did, status=status_entries()), key, cryptosuite=suite
        )
        docs[f"tampered {suite}"] = tampered(docs[f"certification {suite}"])
        for case, name in HARD_NAMES.items():
            docs[f"hard {case} {suite}"] = add_proof(
                certification(did, holder=name), key, cryptosuite=suite
            )
    results = node(
        "verify.mjs", {"credentials": list(docs.values()), "documents": lists | EXAMPLE_DOCUMENTS}
    )
    return {"docs": docs, "lists": lists, "db": dict(zip(docs, results["results"], strict=True))}


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("kind", ["certification", "vc example", "language-tagged"])
def test_db_verifies_what_certreg_signs(ours: dict[str, Any], kind: str, suite: str) -> None:
    result = ours["db"][f"{kind} {suite}"]
    assert result == {"verified": True, "errors": [], "status": []}


@pytest.mark.parametrize("suite", SUITES)
def test_db_rejects_a_certreg_credential_changed_after_signing(
    ours: dict[str, Any], suite: str
) -> None:
    result = ours["db"][f"tampered {suite}"]
    assert result["verified"] is False
    assert any("Invalid signature" in e for e in result["errors"]), result["errors"]


@pytest.mark.parametrize("suite", SUITES)
def test_db_reads_certreg_status_lists(ours: dict[str, Any], suite: str) -> None:
    """DB's vc-bitstring-status-list loads our signed lists, verifies their proofs and issuer,
    and reads the bits: revocation index 4243 clear, suspension index 4242 set."""
    result = ours["db"][f"with status {suite}"]
    assert result["verified"] is True, result["errors"]
    assert result["status"] == [False, True]


@pytest.mark.parametrize(("case", "suite"), hard_cases())
def test_db_verifies_certreg_hard_strings(ours: dict[str, Any], case: str, suite: str) -> None:
    result = ours["db"][f"hard {case} {suite}"]
    assert result == {"verified": True, "errors": [], "status": []}


def test_db_decodes_a_certreg_status_list(ours: dict[str, Any]) -> None:
    """The list credential on its own: DB's decoder finds exactly our set bits and DB's
    verifier accepts the list's proof."""
    listed = ours["lists"][SUSPENSION_URL]
    probe = [0, 1, 6, 7, 8, 9, 4241, 4242, 4243, 131_070, 131_071]
    result = node("statuslist.mjs", {"credential": listed, "indexes": probe})
    assert result["length"] == 131_072
    assert result["statusPurpose"] == "suspension"
    assert result["set"] == list(SET_BITS)
    assert result["bits"] == [i in SET_BITS for i in probe]
    assert result["verified"] is True, result["errors"]


# --------------------------------------------------------------------------------------------
# Digital Bazaar signs, certreg verifies


@pytest.fixture(scope="module")
def theirs() -> dict[str, Any]:
    """Documents DB signs with a key DB generates: one sign.mjs call per cryptosuite (the
    script sets each issuer to the key's did:key)."""
    placeholder = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    unsigned: dict[str, dict[str, Any]] = {
        "certification": certification(placeholder),
        "vc example": vc_example(placeholder),
        "language-tagged": language_tagged(placeholder),
        "with status": certification(placeholder, status=status_entries()),
        **{f"list {url}": doc for url, doc in status_lists(placeholder).items()},
        **{
            f"hard {case}": certification(placeholder, holder=name)
            for case, name in HARD_NAMES.items()
        },
    }
    out: dict[str, Any] = {}
    for suite in SUITES:
        signed = node(
            "sign.mjs",
            {
                "cryptosuite": suite,
                "credentials": list(unsigned.values()),
                "documents": EXAMPLE_DOCUMENTS,
            },
        )
        did = signed["verificationMethod"].partition("#")[0]
        docs = dict(zip(unsigned, signed["credentials"], strict=True))
        out[suite] = {"did": did, "docs": docs, "key": signed}
    return out


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("kind", ["certification", "vc example", "language-tagged"])
def test_certreg_verifies_what_db_signs(theirs: dict[str, Any], kind: str, suite: str) -> None:
    signed = theirs[suite]
    doc = signed["docs"][kind]
    assert doc["proof"]["cryptosuite"] == suite
    assert doc["proof"]["verificationMethod"] == signed["key"]["verificationMethod"]
    ok, reasons = proofs_ok(doc, loader_for(kind))
    assert ok, reasons
    verifier = Verifier(trusted_issuers=[signed["did"]], loader=loader_for(kind))
    result = verifier.verify_credential(doc)
    assert result.verdict is Verdict.VALID, result.to_json()


@pytest.mark.parametrize("suite", SUITES)
def test_certreg_reads_status_lists_db_signed(theirs: dict[str, Any], suite: str) -> None:
    """DB signs both the certificate and the lists certreg built: certreg's verifier accepts
    the lists' proofs and reads index 4242 of the suspension list as set."""
    signed = theirs[suite]
    lists = {url: signed["docs"][f"list {url}"] for url in (REVOCATION_URL, SUSPENSION_URL)}
    doc = signed["docs"]["with status"]
    result = Verifier(trusted_issuers=[signed["did"]], status_fetcher=lists).verify_credential(doc)
    assert result.verdict is Verdict.SUSPENDED, result.to_json()
    # the same certificate against a suspension list with its bit cleared is VALID
    cleared = status_list_credential(
        id=SUSPENSION_URL,
        issuer=signed["did"],
        purpose="suspension",
        bitstring=Bitstring(),
        valid_from=VALID_FROM,
        valid_until=LIST_UNTIL,
    )
    resigned = node(
        "sign.mjs", {"cryptosuite": suite, "key": _db_key(signed), "credentials": [cleared]}
    )["credentials"][0]
    result = Verifier(
        trusted_issuers=[signed["did"]], status_fetcher={**lists, SUSPENSION_URL: resigned}
    ).verify_credential(doc)
    assert result.verdict is Verdict.VALID, result.to_json()


@pytest.mark.parametrize("suite", SUITES)
def test_certreg_rejects_a_db_credential_changed_after_signing(
    theirs: dict[str, Any], suite: str
) -> None:
    signed = theirs[suite]
    doc = tampered(signed["docs"]["certification"])
    ok, reasons = proofs_ok(doc)
    assert not ok
    assert any("signature" in r for r in reasons), reasons
    result = Verifier(trusted_issuers=[signed["did"]]).verify_credential(doc)
    assert result.verdict is Verdict.INVALID


@pytest.mark.parametrize(("case", "suite"), hard_cases())
def test_certreg_verifies_db_hard_strings(theirs: dict[str, Any], case: str, suite: str) -> None:
    doc = theirs[suite]["docs"][f"hard {case}"]
    ok, reasons = proofs_ok(doc)
    assert ok, reasons


def test_a_db_generated_key_imports_into_certreg(theirs: dict[str, Any]) -> None:
    """DB's exported secret key (seed and public key) names the same did:key in certreg."""
    signed = theirs["eddsa-rdfc-2022"]
    key = KeyPair.from_secret_multibase(_db_key(signed)["secretKeyMultibase"])
    assert key.public_multibase == signed["key"]["publicKeyMultibase"]


# --------------------------------------------------------------------------------------------
# Canonical forms, byte for byte, and the documents one side refuses


def _canonical_pairs(docs: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(certreg rdfc, DB rdfc, certreg jcs, DB jcs); refusals as 'refused: …'."""
    theirs = node("canonize.mjs", {"inputs": docs, "documents": EXAMPLE_DOCUMENTS})["results"]
    rows = []
    for doc, db in zip(docs, theirs, strict=True):
        rows.append(
            (
                _ours(lambda d: rdfc(d, EXAMPLE_LOADER), doc),
                db["rdfc"] or f"refused: {db['rdfcError']}",
                _ours(lambda d: jcs(d).decode("utf-8"), doc),
                db["jcs"] or f"refused: {db['jcsError']}",
            )
        )
    return rows


def _ours(canonical: Callable[[Any], str], doc: dict[str, Any]) -> str:
    try:
        return canonical(doc)
    except CanonicalizationError as exc:
        return f"refused: {exc.reason}"


@pytest.fixture(scope="module")
def canonical() -> dict[str, tuple[str, str, str, str]]:
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    docs = {case: certification(did, holder=name) for case, name in HARD_NAMES.items()}
    docs["language-tagged"] = language_tagged(did)
    docs["vc example"] = vc_example(did)
    return dict(zip(docs, _canonical_pairs(list(docs.values())), strict=True))


@pytest.mark.parametrize(
    ("case", "suite"),
    [
        *hard_cases(),
        *(
            pytest.param(case, suite, id=f"{case}-{suite}")
            for case in ("language-tagged", "vc example")
            for suite in SUITES
        ),
    ],
)
def test_canonical_forms_match_byte_for_byte(
    canonical: dict[str, tuple[str, str, str, str]], case: str, suite: str
) -> None:
    """What each side would hash, compared directly: a mismatch here shows *where* two
    signatures would part ways (the N-Quads line or JSON text), not just that they do."""
    our_rdfc, db_rdfc, our_jcs, db_jcs = canonical[case]
    ours, theirs = (our_rdfc, db_rdfc) if suite == "eddsa-rdfc-2022" else (our_jcs, db_jcs)
    assert not ours.startswith("refused"), ours
    assert ours == theirs


def test_direction_both_sides_sign_and_verify_it() -> None:
    """@direction is canonicalised as an i18n-datatype literal by DB's eddsa-rdfc-2022 and by
    certreg alike: each verifies what the other signed."""
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    doc = certification(did)
    doc["credentialSubject"]["achievement"]["name"] = {
        "@value": "مفتش لحام معتمد",
        "@language": "ar",
        "@direction": "rtl",
    }
    signed = node("sign.mjs", {"cryptosuite": "eddsa-rdfc-2022", "credentials": [doc]})
    ok, reasons = proofs_ok(signed["credentials"][0])
    assert ok, reasons
    key = with_vm(KeyPair.generate())
    mine = certification(did_key_from_public(key.public_multibase))
    name = doc["credentialSubject"]["achievement"]["name"]
    mine["credentialSubject"]["achievement"]["name"] = name
    [verdict] = node("verify.mjs", {"credentials": [add_proof(mine, key)]})["results"]
    assert verdict["verified"], verdict


def test_certreg_refuses_what_db_safe_mode_refuses() -> None:
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    doc = certification(did)
    doc["credentialSubject"]["achievement"]["name"] = {"@value": "CWI", "@language": "not a tag!"}
    [(ours_rdfc, db_rdfc, _, _)] = _canonical_pairs([doc])
    assert db_rdfc.startswith("refused: Safe mode validation error")
    assert ours_rdfc.startswith("refused")


# --------------------------------------------------------------------------------------------


def _db_key(signed: dict[str, Any]) -> dict[str, str]:
    return {
        "publicKeyMultibase": signed["key"]["publicKeyMultibase"],
        "secretKeyMultibase": signed["key"]["secretKeyMultibase"],
    }
