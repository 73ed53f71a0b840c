"""Signing and verification speed, per cryptosuite, with where the time goes.

    .venv/bin/python bench/bench_proofs.py [--count N] [--trials N] [--only warm|cold]

Prints, for eddsa-rdfc-2022 and eddsa-jcs-2022: credentials signed and verified per second in
one process and in two processes (both cores), milliseconds per operation, and the breakdown
of one rdfc signature (JSON-LD expansion, canonicalisation, hashing, Ed25519). "verify" is the
full verifier (structure, proof, did:key issuer, validity window, two status entries read from
an already-cached status list), not only the signature.

Every credential differs (id, holder, certificate number, status indices), as in a real bulk
run: the fast RDFC engine caches the *shape* of a credential, never a result.

The cold-shape section (bench_cold.py) measures what that cache does not cover: the first
document of a shape, side by side with plain pyld and Digital Bazaar's Node stack.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyld import jsonld

from certreg.contexts import DEFAULT_LOADER
from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.keys.did import did_key_from_public, did_key_verification_method
from certreg.keys.keypair import KeyPair
from certreg.verifier import canonicalize
from certreg.verifier.dataintegrity import hash_data  # the breakdown times the internals
from certreg.verifier.issuing import add_proof

SEED = bytes(range(32))
SCHEME = Scheme(
    id="https://cb.example/schemes/cwi/3",
    code="CWI",
    name="Certified Welding Inspector",
    version="3",
    description="Inspection of fusion welds in steel structures.",
    criteria="Written and practical examination under ISO 9712.",
    normative_reference=NormativeReference(
        "ISO 9712:2021", "https://www.iso.org/standard/74629.html"
    ),
)
SCOPE = [
    ScopeItem("UT2", "Ultrasonic testing, level 2", "Limited to welds in steel, 6-40 mm"),
    ScopeItem("VT2", "Visual testing, level 2"),
]


def signer() -> KeyPair:
    pair = KeyPair(SEED)
    return pair.with_verification_method(did_key_verification_method(pair.public_multibase))


def credentials(count: int, offset: int = 0) -> list[dict[str, Any]]:
    pair = signer()
    body = Body(did_key_from_public(pair.public_multibase), "Example Certification Body")
    out = []
    for i in range(offset, offset + count):
        entries = [
            {
                "id": f"https://cb.example/status/{purpose}/1#{(i * 7919 + k) % 131072}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": str((i * 7919 + k) % 131072),
                "statusListCredential": f"https://cb.example/status/{purpose}/1",
            }
            for k, purpose in enumerate(("revocation", "suspension"))
        ]
        out.append(
            certification_credential(
                body=body,
                scheme=SCHEME,
                holder_name=f"Holder Number {i}",
                certificate_number=f"CB-{i:08d}",
                scope=SCOPE,
                valid_from="2026-01-15T00:00:00Z",
                valid_until="2029-01-14T23:59:59Z",
                status_entries=entries,
                credential_id=f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            )
        )
    return out


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of one call (the breakdown: where the time goes, not how fast)."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _freeze_inputs() -> None:
    """Keep the bench's own pre-built inputs out of the garbage collector's way: thousands of
    live documents make every full collection rescan them, which a real issuer, streaming
    rows, does not pay. Measured: ~1.5 ms instead of ~0.9 ms per rdfc signature without this."""
    gc.collect()
    gc.freeze()


def _sign_batch(args: tuple[str, int, int]) -> float:
    """Seconds spent signing ``count`` credentials (building them is not timed)."""
    suite, count, offset = args
    pair = signer()
    docs = credentials(count, offset)
    _freeze_inputs()
    start = time.perf_counter()
    for doc in docs:
        add_proof(doc, pair, cryptosuite=suite, created="2026-01-15T00:00:00Z")
    return time.perf_counter() - start


def _verify_batch(args: tuple[str, int, int]) -> float:
    """Seconds spent verifying ``count`` signed credentials (signing them is not timed)."""
    suite, count, offset = args
    from bench_support import verifier_with_cached_lists

    pair = signer()
    docs = [add_proof(d, pair, cryptosuite=suite) for d in credentials(count, offset)]
    verify = verifier_with_cached_lists(pair)
    verify(docs[0])  # fetch and cache both status lists, resolve the did:key
    _freeze_inputs()
    start = time.perf_counter()
    for doc in docs:
        result = verify(doc)
        assert result.verdict.value == "VALID", result.to_json()
    return time.perf_counter() - start


def throughput(
    worker: Callable[[tuple[str, int, int]], float], suite: str, count: int, trials: int
) -> dict[str, float]:
    """Best of ``trials`` runs, in one process and in two at once. Best, not mean: this
    machine is a virtual one whose speed drifts by up to ~1.7x between runs (measured), and
    the best run is the one least disturbed by its neighbours."""
    worker((suite, 20, 10**6))  # warm the shape cache and imports
    one = max(count / worker((suite, count, 1_000_000 * t)) for t in range(trials))
    two = 0.0
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(worker, [(suite, 20, 10**6 + 100 * w) for w in range(2)]))
        for t in range(trials):
            # Both processes run at once; the slower one bounds the throughput.
            jobs = [(suite, count, 10_000 * (w + 1) + 1_000_000 * t) for w in range(2)]
            two = max(two, 2 * count / max(pool.map(worker, jobs)))
    return {"one": one, "two": two}


def breakdown(repeat: int) -> list[tuple[str, float]]:
    pair = signer()
    doc = credentials(1, 500_000)[0]
    proof_config = {
        "@context": doc["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-01-15T00:00:00Z",
        "verificationMethod": pair.verification_method,
        "proofPurpose": "assertionMethod",
    }
    options = {"documentLoader": DEFAULT_LOADER}
    canonical = canonicalize.rdfc(doc)
    data = hash_data(doc, proof_config, "eddsa-rdfc-2022")
    rows = [
        (
            "pyld reference: JSON-LD expansion + toRdf (document)",
            timed(lambda: jsonld.to_rdf(doc, options), repeat),
        ),
        (
            "pyld reference: whole RDFC-1.0 (document)",
            timed(lambda: canonicalize.rdfc_reference(doc), repeat),
        ),
        ("fast engine: RDFC-1.0 (document)", timed(lambda: canonicalize.rdfc(doc), repeat * 5)),
        (
            "fast engine: RDFC-1.0 (proof configuration)",
            timed(lambda: canonicalize.rdfc(proof_config), repeat * 5),
        ),
        (
            "SHA-256 of both canonical forms",
            timed(lambda: hashlib.sha256(canonical.encode()).digest(), repeat * 5),
        ),
        ("Ed25519 signature", timed(lambda: pair.sign(data), repeat * 5)),
        (
            "Ed25519 verification",
            timed(lambda: pair.public_key.verify(data, pair.sign(data)), repeat * 5),
        ),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="credentials per process")
    parser.add_argument("--trials", type=int, default=3, help="runs per figure (best is shown)")
    parser.add_argument(
        "--only", choices=("warm", "cold"), help="only the warm throughput or the cold-shape part"
    )
    parser.add_argument(
        "--cold-repeat", type=int, default=15, help="documents per cold-shape figure (median)"
    )
    args = parser.parse_args()
    if args.only != "warm":
        from bench_cold import cold_section

        cold_section(args.cold_repeat)
        if args.only == "cold":
            return
        print()
    print(
        f"certreg proof bench — {os.cpu_count()} cores, {args.count} credentials per process, "
        f"best of {args.trials}\n"
    )
    header = f"{'cryptosuite':18} {'operation':8} {'1 process':>12} {'2 processes':>12}"
    print(f"{header} {'ms/op/core':>11}")
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022"):
        for name, worker in (("sign", _sign_batch), ("verify", _verify_batch)):
            rate = throughput(worker, suite, args.count, args.trials)
            print(
                f"{suite:18} {name:8} {rate['one']:10.0f}/s {rate['two']:10.0f}/s "
                f"{1000 / rate['one']:10.3f}"
            )
    print("\nwhere one eddsa-rdfc-2022 signature's time goes (median ms):")
    for label, ms in breakdown(repeat=40):
        print(f"  {label:55} {ms:8.3f}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
