"""W3C Data Integrity proofs with the EdDSA cryptosuites (vc-di-eddsa v1.0).

``eddsa-rdfc-2022``: the document and the proof configuration are canonicalised with RDFC-1.0;
``eddsa-jcs-2022``: with JCS (RFC 8785). In both, the signed bytes are
``sha256(canonical proof configuration) || sha256(canonical document)`` and the signature is
Ed25519, carried as base58btc multibase in ``proofValue``.

Proof sets (several independent proofs) and proof chains (``previousProof``) follow the
"Add Proof Set/Chain" and "Verify Proof Sets and Chains" algorithms of vc-data-integrity.

Nothing here resolves DIDs: the caller passes a :data:`KeyLookup` that, given a proof, returns
the public key it may be checked with (or raises :class:`ProofError` saying why not).
:func:`verify_proofs` never raises on bad input; every problem is a failed :class:`ProofCheck`
with a reason in plain words.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import base58

from certreg.contexts import DEFAULT_LOADER, DocumentLoader
from certreg.keys.errors import CertregError
from certreg.keys.keypair import PublicKey
from certreg.verifier.canonicalize import Analysis, CanonicalizationError, jcs, rdfc
from certreg.verifier.compact import check_compact_form
from certreg.verifier.dates import parse_datetime

__all__ = [
    "CRYPTOSUITES",
    "KeyLookup",
    "ProofCheck",
    "ProofError",
    "Signer",
    "add_proof",
    "hash_data",
    "verify_proofs",
]

CRYPTOSUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")


class ProofError(CertregError):
    """A proof cannot be made or does not verify. ``reason`` is plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Signer(Protocol):
    @property
    def verification_method(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


KeyLookup = Callable[[Mapping[str, Any]], PublicKey]


@dataclass(frozen=True)
class ProofCheck:
    ok: bool
    reason: str
    cryptosuite: str | None = None
    verification_method: str | None = None
    proof_purpose: str | None = None
    created: str | None = None
    proof_id: str | None = None


# --------------------------------------------------------------------------------------------
# The cryptosuite algorithms


def _canonical(
    value: Mapping[str, Any],
    cryptosuite: str,
    loader: DocumentLoader,
    analysis: Analysis | None = None,
) -> bytes:
    if cryptosuite == "eddsa-rdfc-2022":
        return rdfc(value, loader, analysis).encode("utf-8")
    return jcs(value)


def hash_data(
    document: Mapping[str, Any],
    proof_config: Mapping[str, Any],
    cryptosuite: str,
    loader: DocumentLoader = DEFAULT_LOADER,
    *,
    document_analysis: Analysis | None = None,
    config_analysis: Analysis | None = None,
) -> bytes:
    """``sha256(canonical proof config) || sha256(canonical document)``: the 64 signed bytes.

    The analyses, when given, are those the compact-form check made of these very objects
    (see :class:`~certreg.verifier.canonicalize.Analysis`): RDFC-1.0 then does not walk
    them again."""
    proof_hash = hashlib.sha256(
        _canonical(proof_config, cryptosuite, loader, config_analysis)
    ).digest()
    doc_hash = hashlib.sha256(_canonical(document, cryptosuite, loader, document_analysis)).digest()
    return proof_hash + doc_hash


def _proof_config(proof: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in document:
        config["@context"] = document["@context"]
    return config


def _without_proof(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# --------------------------------------------------------------------------------------------
# Adding proofs


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_proof(
    document: Mapping[str, Any],
    signer: Signer,
    *,
    cryptosuite: str = "eddsa-rdfc-2022",
    proof_purpose: str = "assertionMethod",
    created: str | None = None,
    expires: str | None = None,
    challenge: str | None = None,
    domain: str | Sequence[str] | None = None,
    previous_proof: str | Sequence[str] | None = None,
    proof_id: str | None = None,
    loader: DocumentLoader = DEFAULT_LOADER,
) -> dict[str, Any]:
    """Return a new document carrying one more proof (an existing proof makes a proof set).

    ``previous_proof`` names the ``id`` of existing proofs this one chains to; the new proof
    then signs the document together with those proofs.
    """
    if cryptosuite not in CRYPTOSUITES:
        raise ProofError(f"unknown cryptosuite {cryptosuite!r}; certreg signs {CRYPTOSUITES}")
    if not isinstance(document, Mapping):
        raise ProofError("only a JSON object can be signed")
    if not signer.verification_method:
        raise ProofError("the signing key has no verification method id")
    existing = _as_list(document.get("proof"))
    proof: dict[str, Any] = {}
    if proof_id:
        proof["id"] = proof_id
    proof |= {
        "type": "DataIntegrityProof",
        "cryptosuite": cryptosuite,
        "created": created or _now(),
        "verificationMethod": signer.verification_method,
        "proofPurpose": proof_purpose,
    }
    if expires:
        proof["expires"] = expires
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain if isinstance(domain, str) else list(domain)
    if cryptosuite == "eddsa-jcs-2022" and "@context" in document:
        # eddsa-jcs-2022 keeps the document's context in the proof itself (vc-di-eddsa 3.3.5).
        proof["@context"] = document["@context"]

    unsecured = _without_proof(document)
    if previous_proof is not None:
        proof["previousProof"] = (
            previous_proof if isinstance(previous_proof, str) else list(previous_proof)
        )
        unsecured["proof"] = _matching_proofs(existing, proof["previousProof"])
    try:
        # Sign only what verifiers will accept: a document in the compact form of its contexts.
        checked = _compact_form_problem(unsecured, [proof], loader)
        if checked.problem:
            raise ProofError(f"the document cannot be signed: {checked.problem}")
        config = _proof_config(proof, document)
        # The check analysed the proof configuration it built (the proof with the document's
        # @context): equal to the one signed here, so that object is signed, analysed once.
        config_analysis = checked.proofs[0] if checked.proofs else None
        if config_analysis is not None and config_analysis.document == config:
            config = config_analysis.document
        else:
            config_analysis = None
        data = hash_data(
            unsecured,
            config,
            cryptosuite,
            loader,
            document_analysis=checked.document,
            config_analysis=config_analysis,
        )
    except CanonicalizationError as exc:
        raise ProofError(f"the document cannot be signed: {exc.reason}") from None
    proof["proofValue"] = "z" + base58.b58encode(signer.sign(data)).decode("ascii")
    secured = dict(document)
    all_proofs = [*existing, proof]
    secured["proof"] = all_proofs[0] if len(all_proofs) == 1 else all_proofs
    return secured


def _matching_proofs(all_proofs: list[Any], previous: str | list[str]) -> list[Any]:
    wanted = _as_list(previous)
    if not all(isinstance(w, str) for w in wanted):
        raise ProofError("previousProof must be a string or a list of strings")
    by_id = {p.get("id"): p for p in all_proofs if isinstance(p, Mapping)}
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise ProofError(f"previousProof names proofs that are not present: {missing}")
    return [by_id[w] for w in wanted]


# --------------------------------------------------------------------------------------------
# Verifying proofs


def verify_proofs(
    document: Any,
    key_lookup: KeyLookup,
    *,
    expected_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    now: datetime | None = None,
    loader: DocumentLoader = DEFAULT_LOADER,
) -> list[ProofCheck]:
    """Check every proof of a secured document. Never raises on bad input."""
    if not isinstance(document, Mapping):
        return [ProofCheck(False, "the document is not a JSON object")]
    proofs = _as_list(document.get("proof"))
    if not proofs:
        return [ProofCheck(False, "the document carries no proof, so nobody vouches for it")]
    unsecured = _without_proof(document)
    checked = _compact_form_problem(unsecured, proofs, loader)
    if checked.problem:
        return [_failed(proof, checked.problem) for proof in proofs]
    checks = []
    for proof in proofs:
        try:
            checks.append(
                _verify_one(
                    unsecured,
                    proof,
                    proofs,
                    key_lookup,
                    expected_purpose,
                    challenge,
                    domain,
                    now or datetime.now(UTC),
                    loader,
                    checked.document,
                )
            )
        except ProofError as exc:
            checks.append(_failed(proof, exc.reason))
        except CanonicalizationError as exc:
            checks.append(_failed(proof, f"the document cannot be checked: {exc.reason}"))
        except RecursionError:
            checks.append(_failed(proof, "the document is nested too deeply to be checked"))
    return checks


@dataclass(frozen=True)
class _CompactForm:
    """The compact-form check of a document and its proofs: why it fails (None: it passed),
    and what it found of the parts it checked, for canonicalising the same objects without
    analysing them again (None where there is nothing to hand on)."""

    problem: str | None
    document: Analysis | None = None  # of the unsecured document
    proofs: tuple[Analysis | None, ...] = ()  # of each proof's configuration, as checked


def _compact_form_problem(
    unsecured: Mapping[str, Any], proofs: list[Any], loader: DocumentLoader
) -> _CompactForm:
    """Why the document or one of its proofs is not in the compact form of its own contexts
    (see :mod:`verifier.compact`), or a problem of None. Checked before any proof is believed:
    otherwise a key renamed to the IRI it stands for keeps the signature valid but hides
    itself from every reader of the JSON."""
    if "@context" not in unsecured:
        # Not JSON-LD at all (an audit checkpoint signed with JCS, say): the JSON is what was
        # signed, there is no other spelling of it. (rdfc cannot canonicalise such a document.)
        return _CompactForm(None)
    parts: list[tuple[str, Mapping[str, Any]]] = [("the document", unsecured)]
    for proof in proofs:
        if isinstance(proof, Mapping):
            config = dict(proof)
            if "@context" not in config and "@context" in unsecured:
                config["@context"] = unsecured["@context"]
            parts.append(("its proof", config))
    analyses: list[Analysis | None] = []
    for what, part in parts:
        try:
            analyses.append(check_compact_form(part, loader))
        except CanonicalizationError as exc:
            return _CompactForm(
                f"{what} is not written in the compact form of its own JSON-LD contexts, "
                f"so what it says cannot be trusted to be what was signed: {exc.reason}"
            )
        except RecursionError:
            return _CompactForm("the document is nested too deeply to be checked")
    return _CompactForm(None, analyses[0], tuple(analyses[1:]))


def _failed(proof: Any, reason: str) -> ProofCheck:
    if not isinstance(proof, Mapping):
        return ProofCheck(False, reason)

    def text(key: str) -> str | None:
        value = proof.get(key)
        return value if isinstance(value, str) else None

    return ProofCheck(
        False,
        reason,
        text("cryptosuite"),
        text("verificationMethod"),
        text("proofPurpose"),
        text("created"),
        text("id"),
    )


def _verify_one(
    unsecured: dict[str, Any],
    proof: Any,
    all_proofs: list[Any],
    key_lookup: KeyLookup,
    expected_purpose: str,
    challenge: str | None,
    domain: str | None,
    now: datetime,
    loader: DocumentLoader,
    analysis: Analysis | None = None,
) -> ProofCheck:
    """``analysis``: the compact-form check's analysis of ``unsecured``."""
    if not isinstance(proof, Mapping):
        raise ProofError("a proof must be a JSON object")
    if proof.get("type") != "DataIntegrityProof":
        raise ProofError(
            f"unsupported proof type {proof.get('type')!r}; expected DataIntegrityProof"
        )
    suite = proof.get("cryptosuite")
    if suite not in CRYPTOSUITES:
        raise ProofError(f"unsupported cryptosuite {suite!r}; certreg verifies {CRYPTOSUITES}")
    for key in ("verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(key), str) or not proof.get(key):
            raise ProofError(f"the proof has no {key}")
    if proof["proofPurpose"] != expected_purpose:
        raise ProofError(
            f"the proof is for {proof['proofPurpose']!r}, but {expected_purpose!r} is required"
        )
    _check_times(proof, now)
    _check_challenge_and_domain(proof, challenge, domain)
    signature = _decode_proof_value(proof["proofValue"])

    # The unsecured document itself when the proof signs it as it is (its analysis applies);
    # a copy when the proof chains to others or names its own @context.
    document = unsecured
    if "previousProof" in proof or "@context" in proof:
        document = dict(unsecured)
        analysis = None
    if "previousProof" in proof:
        document["proof"] = _matching_proofs(
            [p for p in all_proofs if p is not proof], proof["previousProof"]
        )
    if "@context" in proof:
        # vc-di-eddsa: the proof's context must be a prefix of the document's, in order.
        doc_ctx = _as_list(document.get("@context"))
        proof_ctx = _as_list(proof["@context"])
        if doc_ctx[: len(proof_ctx)] != proof_ctx:
            raise ProofError("the proof's @context does not match the document's @context")
        document["@context"] = proof["@context"]
    config = _proof_config(proof, document)

    public_key = _lookup(key_lookup, proof)
    data = hash_data(document, config, suite, loader, document_analysis=analysis)
    if not public_key.verify(data, signature):
        raise ProofError(
            "the signature does not match the document: it was altered after signing, "
            "or signed with another key"
        )
    return ProofCheck(
        True,
        "the signature is valid",
        suite,
        proof["verificationMethod"],
        proof["proofPurpose"],
        proof.get("created"),
        proof.get("id"),
    )


def _lookup(key_lookup: KeyLookup, proof: Mapping[str, Any]) -> PublicKey:
    try:
        return key_lookup(proof)
    except ProofError:
        raise
    except Exception:  # a resolver bug must not become an unhandled crash
        logging.getLogger("certreg.verifier").exception("key lookup failed")
        raise ProofError("the signing key could not be obtained") from None


_BASE58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")


def _decode_proof_value(value: str) -> bytes:
    if not value.startswith("z"):
        raise ProofError("proofValue must be base58btc multibase (starting with 'z')")
    if not _BASE58.fullmatch(value[1:]):
        # base58 decoders skip white space; the signature must have exactly one spelling.
        raise ProofError("proofValue is not valid base58btc")
    try:
        signature = base58.b58decode(value[1:])
    except ValueError:
        raise ProofError("proofValue is not valid base58btc") from None
    if len(signature) != 64:
        raise ProofError(
            f"proofValue decodes to {len(signature)} bytes; an Ed25519 signature is 64"
        )
    return signature


def _check_times(proof: Mapping[str, Any], now: datetime) -> None:
    for key in ("created", "expires"):
        if key in proof:
            try:
                parse_datetime(proof[key])
            except ValueError as exc:
                raise ProofError(f"the proof's {key} is not a valid date-time: {exc}") from None
    if "expires" in proof and parse_datetime(proof["expires"]) <= now:
        raise ProofError(f"the proof expired on {proof['expires']}")


def _check_challenge_and_domain(
    proof: Mapping[str, Any], challenge: str | None, domain: str | None
) -> None:
    if challenge is not None and proof.get("challenge") != challenge:
        raise ProofError("the proof's challenge does not match the one the verifier issued")
    if domain is not None:
        domains = _as_list(proof.get("domain"))
        if domain not in domains:
            raise ProofError(f"the proof is not bound to the domain {domain!r}")
