"""First-of-a-shape eddsa-rdfc-2022: certreg against plain pyld and Digital Bazaar's Node stack.

The cold-shape section of bench_proofs.py (``bench_proofs.py --only cold``). certreg caches
the expansion of each document *shape* (canonicalize.py); every CLI run, every ``/verify`` of
a credential from another issuer and every W3C suite request meets a shape it has not seen.
Here each certreg figure is taken with the shape caches emptied before every operation (the
JSON-LD contexts stay loaded and processed, as in any process after its first document).

Documents: (a) certreg's own certificate credential, (b) the W3C vc-di-eddsa test vector's
credential (tests/vectors/eddsa/unsigned.json), (c) a proof configuration (what is signed
besides the document; canonicalised only). Each repetition uses a different document of the
same shape, and certreg and pyld are measured alternately, document by document.

- certreg sign: ``add_proof`` (compact-form check, RDFC-1.0 of proof configuration and
  document, Ed25519); verify: ``verify_proofs`` (the same checks and the signature) with a
  did:key lookup: the proof alone, no status or issuer rules.
- plain pyld: ``jsonld.normalize`` (URDNA2015, N-Quads) with the same document loader and
  certreg's context cache switched off (verifier/_pyld_cache.disabled): what a signer built
  on pyld does (both canonical forms, SHA-256, Ed25519). pyld keeps no per-shape cache, so
  every document it meets costs this.
- Node: bench_proofs_node.mjs in one fresh process per document kind: its first operation
  (the process's first: contexts parsed, code not compiled yet) and the median of the rest
  (warm; jsonld.js keeps no per-shape cache either). Skipped, with a word, without node or
  tests/interop/node_modules.

Medians; "x pyld" is pyld's time over certreg's (above 1: certreg is faster).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import base58
from bench_proofs import _freeze_inputs, credentials, signer
from pyld import jsonld

from certreg.contexts import DEFAULT_LOADER
from certreg.keys.keypair import KeyPair, PublicKey
from certreg.keys.multikey import decode_public_key
from certreg.verifier import _pyld_cache, canonicalize, compact
from certreg.verifier.dataintegrity import add_proof, verify_proofs

ROOT = Path(__file__).resolve().parents[1]
INTEROP = ROOT / "tests" / "interop"
NODE_SCRIPT = Path(__file__).resolve().parent / "bench_proofs_node.mjs"
CREATED = "2026-01-15T00:00:00Z"
W3C_VECTOR = ROOT / "tests" / "vectors" / "eddsa" / "unsigned.json"


def clear_shape_caches() -> None:
    """Forget every document shape (the contexts stay loaded and processed)."""
    canonicalize._SHAPES.clear()
    compact._RESULTS.clear()


def w3c_credentials(count: int) -> list[dict[str, Any]]:
    """The vc-di-eddsa vector's credential, each copy with its own ids and name."""
    base = json.loads(W3C_VECTOR.read_text())
    out = []
    for i in range(count):
        doc = copy.deepcopy(base)
        doc["id"] = f"urn:uuid:58172aac-d8ba-11ed-83dd-{i:012d}"
        doc["name"] = f"Alumni Credential {i}"
        doc["credentialSubject"]["id"] = f"did:example:abcdefgh{i}"
        out.append(doc)
    return out


def proof_configuration(doc: dict[str, Any], pair: KeyPair, i: int) -> dict[str, Any]:
    return {
        "@context": doc["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": f"2026-01-{1 + i % 28:02d}T00:00:00Z",
        "verificationMethod": pair.verification_method,
        "proofPurpose": "assertionMethod",
    }


def did_key_lookup(proof: Any) -> PublicKey:
    return PublicKey(decode_public_key(proof["verificationMethod"].split("#", 1)[1]))


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def _ms(fn: Callable[[], Any]) -> float:
    return _timed(fn)[0]


def _normalize(doc: Any) -> str:
    options = {
        "documentLoader": DEFAULT_LOADER,
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
    }
    return jsonld.normalize(doc, options)


def pyld_sign(doc: dict[str, Any], pair: KeyPair) -> bytes:
    config = proof_configuration(doc, pair, 0)
    data = (
        hashlib.sha256(_normalize(config).encode()).digest()
        + hashlib.sha256(_normalize(doc).encode()).digest()
    )
    return pair.sign(data)


def pyld_verify(signed: dict[str, Any], pair: KeyPair) -> None:
    """Raises unless the proof verifies (the proof's own signature, pyld's canonical forms)."""
    signature = base58.b58decode(signed["proof"]["proofValue"][1:])
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    config["@context"] = signed["@context"]
    data = (
        hashlib.sha256(_normalize(config).encode()).digest()
        + hashlib.sha256(_normalize(unsecured).encode()).digest()
    )
    pair.public_key.verify(data, signature)


def node_figures(docs: list[dict[str, Any]], pair: KeyPair) -> dict[str, Any] | str:
    """Node's per-operation ms (first, then warm), or why there are none."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (INTEROP / "node_modules" / "jsonld-signatures").is_dir():
        return "tests/interop/node_modules is missing (npm ci --prefix tests/interop)"
    key = {"publicKeyMultibase": pair.public_multibase, "secretKeyMultibase": pair.secret_multibase}
    payload = json.dumps({"key": key, "created": CREATED, "documents": docs})
    run = subprocess.run(
        ["node", str(NODE_SCRIPT)], input=payload, capture_output=True, text=True, timeout=600
    )
    if run.returncode != 0:
        return f"node failed: {run.stderr.strip().splitlines()[-1:]}"
    out = json.loads(run.stdout)
    if not all(out["verified"]):
        return "node did not verify its own proofs"
    return out


def cold_section(repeat: int) -> None:
    pair = signer()
    warm_count = max(repeat * 4, 60)
    kinds = {
        "(a) certreg certificate": credentials(repeat + warm_count, 3_000_000),
        "(b) W3C vc-di-eddsa vector": w3c_credentials(repeat + warm_count),
    }
    for docs in kinds.values():
        canonicalize.rdfc(docs[0])  # contexts loaded and processed
        with _pyld_cache.disabled():
            _normalize(docs[0])
    quads = {name: canonicalize.rdfc(docs[0]).count("\n") for name, docs in kinds.items()}
    _freeze_inputs()  # as the warm section does: the pre-built documents out of the GC's way
    configs = [proof_configuration(kinds["(a) certreg certificate"][0], pair, i) for i in range(60)]
    print(
        "first document of a shape, eddsa-rdfc-2022 (median ms; shape caches emptied before each "
        f"certreg operation, {repeat} documents)\n"
    )
    print(
        f"{'canonicalise (RDFC-1.0 only)':36} {'quads':>5} {'certreg':>9} {'pyld':>9} {'x pyld':>7}"
    )
    rows = [(name, docs[1 : repeat + 1]) for name, docs in kinds.items()]
    rows.append(("(c) proof configuration", configs[1 : repeat + 1]))
    for name, docs in rows:
        ours, theirs = [], []
        for doc in docs:
            clear_shape_caches()
            ours.append(_ms(lambda doc=doc: canonicalize.rdfc(doc)))
            with _pyld_cache.disabled():
                theirs.append(_ms(lambda doc=doc: _normalize(doc)))
            assert canonicalize.rdfc(doc) == _normalize(doc)
        n = canonicalize.rdfc(docs[0]).count("\n")
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{name:36} {n:5} {a:9.2f} {b:9.2f} {b / a:7.2f}")

    print(
        f"\n{'sign / verify (proof and document)':36} {'op':6} {'certreg':>9} {'pyld':>9} "
        f"{'x pyld':>7} {'node 1st':>9} {'node warm':>9}"
    )
    warm_rates: list[tuple[str, str, float, float, float | None]] = []
    for name, docs in kinds.items():
        cold_docs = docs[1 : repeat + 1]
        warm_docs = docs[repeat + 1 :]
        sign_ours, sign_theirs, verify_ours, verify_theirs = [], [], [], []
        for doc in cold_docs:
            clear_shape_caches()
            ms, signed = _timed(lambda doc=doc: add_proof(doc, pair, created=CREATED))
            sign_ours.append(ms)
            with _pyld_cache.disabled():
                sign_theirs.append(_ms(lambda doc=doc: pyld_sign(doc, pair)))
            clear_shape_caches()
            ms, checks = _timed(lambda signed=signed: verify_proofs(signed, did_key_lookup))
            verify_ours.append(ms)
            assert all(c.ok for c in checks), checks
            with _pyld_cache.disabled():
                verify_theirs.append(_ms(lambda signed=signed: pyld_verify(signed, pair)))
        node = node_figures([docs[0], *cold_docs, *warm_docs], pair)
        for op, ours, theirs, key in (
            ("sign", sign_ours, sign_theirs, "sign_ms"),
            ("verify", verify_ours, verify_theirs, "verify_ms"),
        ):
            a, b = statistics.median(ours), statistics.median(theirs)
            if isinstance(node, str):
                node_cells = f"{'-':>9} {'-':>9}"
                node_warm = None
            else:
                node_warm = statistics.median(node[key][1:])
                node_cells = f"{node[key][0]:9.2f} {node_warm:9.2f}"
            print(f"{name:36} {op:6} {a:9.2f} {b:9.2f} {b / a:7.2f} {node_cells}")
            warm_rates.append((name, op, *_warm_rates(op, warm_docs, pair), node_warm))
        if isinstance(node, str):
            print(f"  (no Node column: {node})")

    print(f"\n{'warm, one process (ops/s)':36} {'op':6} {'certreg':>9} {'pyld':>9} {'node':>9}")
    for name, op, ours_rate, pyld_rate, node_warm in warm_rates:
        node_cell = f"{1000 / node_warm:9.0f}" if node_warm else f"{'-':>9}"
        print(f"{name:36} {op:6} {ours_rate:9.0f} {pyld_rate:9.0f} {node_cell}")
    print(f"\n(quads: {', '.join(f'{k} {v}' for k, v in quads.items())})")


def _warm_rates(op: str, docs: list[dict[str, Any]], pair: KeyPair) -> tuple[float, float]:
    """Operations per second on documents of one already-seen shape: certreg, then pyld."""
    add_proof(docs[0], pair, created=CREATED)  # the shape is known
    if op == "sign":
        start = time.perf_counter()
        for doc in docs:
            add_proof(doc, pair, created=CREATED)
        ours = len(docs) / (time.perf_counter() - start)
        with _pyld_cache.disabled():
            start = time.perf_counter()
            for doc in docs:
                pyld_sign(doc, pair)
            theirs = len(docs) / (time.perf_counter() - start)
        return ours, theirs
    signed = [add_proof(doc, pair, created=CREATED) for doc in docs]
    start = time.perf_counter()
    for doc in signed:
        assert verify_proofs(doc, did_key_lookup)[0].ok
    ours = len(docs) / (time.perf_counter() - start)
    with _pyld_cache.disabled():
        start = time.perf_counter()
        for doc in signed:
            pyld_verify(doc, pair)
        theirs = len(docs) / (time.perf_counter() - start)
    return ours, theirs
