"""The offline QR payload (issue 14): its size over the demo's certificates and at the limit,
and what signing it costs beside the credential's own signature.

    .venv/bin/python bench/bench_offline_qr.py [--holders 1000] [--rounds 300]

1. Builds the demo body (``issuer.demo_body.build_demo``, as ``certreg demo`` does: 1,000
   holders by default), reads the payload of every current credential from issuer.db and prints
   the distribution of its length and of its QR version at error correction M (``qrcode``,
   ``make(fit=True)``). Version 13 at M holds 483 alphanumeric characters.
2. Stress cases, signed the same way (``sign_compact``, same key): the longest names and the
   most scope items a body could plausibly give, to show what happens at the limit (the scope
   labels are dropped past 483 characters; past that, a bigger QR).
3. Cost: for demo credentials, the credential's own signature (``add_proof``, eddsa-rdfc-2022,
   certreg's default, and eddsa-jcs-2022) and the payload's (``sign_compact``), alternated
   credential by credential in the same loop; medians in µs and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from certreg.issuer.credential import (
    Body,
    NormativeReference,
    Scheme,
    ScopeItem,
    certification_credential,
)
from certreg.issuer.demo_body import build_demo
from certreg.issuer.service import CertificationBody
from certreg.keys.keypair import KeyPair
from certreg.verifier.issuing import add_proof
from certreg.verifier.offline.payload import QR_V13_M_CHARACTERS, decode, sign_compact

PASSPHRASE = "bench offline qr passphrase"


def qr_version(text: str) -> int:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    return int(code.version)


def distribution(name: str, texts: list[str]) -> None:
    lengths = sorted(len(t) for t in texts)
    versions = Counter(qr_version(t) for t in texts)
    over = sum(1 for n in lengths if n > QR_V13_M_CHARACTERS)
    print(f"\n{name}: {len(texts)} payloads")
    print(
        f"  length (characters): min {lengths[0]}, median {statistics.median(lengths):.0f}, "
        f"p95 {lengths[int(0.95 * (len(lengths) - 1))]}, max {lengths[-1]}; "
        f"over {QR_V13_M_CHARACTERS} (version 13 at M): {over}"
    )
    print("  QR version at M: " + ", ".join(f"v{v}: {n}" for v, n in sorted(versions.items())))


def demo_payloads(holders: int) -> tuple[list[str], list[dict[str, Any]], KeyPair, str]:
    folder = Path(tempfile.mkdtemp(prefix="bench-offline-qr-"))
    started = time.perf_counter()
    demo = build_demo(
        folder / "demo", public_url="http://127.0.0.1:8000", passphrase=PASSPHRASE, holders=holders
    )
    body = CertificationBody.open(demo.data, passphrase=PASSPHRASE)
    print(f"demo body with {holders} holders built in {time.perf_counter() - started:.0f} s")
    rows = body.db.execute(
        "SELECT document, compact FROM credentials WHERE state = 'current' "
        "AND certification_id IS NOT NULL"
    ).fetchall()
    missing = sum(1 for _, c in rows if c is None)
    if missing:
        raise SystemExit(f"{missing} current credentials have no payload")
    everything = body.db.execute(
        "SELECT COUNT(*), COUNT(compact) FROM credentials WHERE certification_id IS NOT NULL"
    ).fetchone()
    print(f"credentials: {everything[0]} (all revisions), {everything[1]} with a payload")
    statuses = Counter(s for (s,) in body.db.execute("SELECT status FROM certifications"))
    print("certifications by status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    for _, compact in rows:
        decode(compact)  # every one parses
    signer = body.signer
    assert isinstance(signer, KeyPair)
    return (
        [c for _, c in rows],
        [json.loads(d) for d, _ in rows],
        signer,
        str(body.info["public_url"]),
    )


# --- stress cases ---------------------------------------------------------------------------

#: Long real-world names: Spanish and Portuguese compound names, a transliterated Thai name,
#: a German double-barrelled name with a nobiliary particle. 80-110 characters; ICAO 9303
#: passports truncate at 39, but a certificate must print the name in full.
LONG_NAMES = {
    "long name (84)": "María de los Ángeles Fernández-Villaverde y Rodríguez de la Concepción "
    "Iglesias-Olmo",
    "very long name (110)": "Dr. Maximiliana Theodora Karoline Freifrau von und zu "
    "Guttenberg-Hohenzollern-Sigmaringen née Wittelsbach-Lobkowicz",
    "Thai, transliterated (72)": "Chayaphon Sirisukhotthanawongsakul na Ayutthaya-"
    "Phongphanitchawalit",
}


def stress_credential(
    name: str,
    items: int,
    label_chars: int,
    condition_chars: int,
    entries: list[dict[str, Any]],
    *,
    scheme_name: str = "Certified Welding Inspector",
) -> dict[str, Any]:
    scope = [
        ScopeItem(
            f"S{i:02d}",
            (f"Scope item {i}: " + "ultrasonic phased-array testing of welds ")[:label_chars],
            ("steel and nickel alloys, wall 6-40 mm, " * 4)[:condition_chars] or None,
        )
        for i in range(items)
    ]
    return certification_credential(
        body=Body("did:web:cb.example", "Example Certification Body", "https://cb.example"),
        scheme=Scheme(
            id="https://cb.example/schemes/cwi/3",
            code="CWI",
            name=scheme_name,
            version="3",
            description="Inspection of fusion welds.",
            criteria="Written and practical examination.",
            normative_reference=NormativeReference("ISO 9712:2021", None),
        ),
        holder_name=name,
        certificate_number="CWI-7K3Q-9XHD-2",
        scope=scope,
        valid_from="2026-11-28T00:00:00Z",
        valid_until="2029-11-27T23:59:59Z",
        status_entries=entries,
    )


def status_entries(form: str) -> list[dict[str, Any]]:
    url = "https://cb.example/status/"
    if form == "message":
        return [
            {
                "id": f"{url}message-1#262143",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "message",
                "statusListIndex": "262143",
                "statusListCredential": f"{url}message-1",
                "statusSize": 2,
                "statusMessage": [
                    {"status": "0x0", "message": "valid"},
                    {"status": "0x1", "message": "suspended"},
                    {"status": "0x2", "message": "withdrawn"},
                    {"status": "0x3", "message": "withdrawn"},
                ],
            }
        ]
    return [
        {
            "id": f"{url}{purpose}-1#131071",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": "131071",
            "statusListCredential": f"{url}{purpose}-1",
        }
        for purpose in ("revocation", "suspension")
    ]


def stress(pair: KeyPair) -> None:
    print("\nstress cases (did:web body https://cb.example; one line each):")
    print(f"  {'case':58} {'chars':>5} {'QR':>4}  labels kept")
    cases: list[tuple[str, dict[str, Any]]] = []
    demo_like = ("Ana Müller", 3, 34, 0)
    cases.append(
        (
            "demo-like: 3 items, no conditions",
            stress_credential(*demo_like, status_entries("message")),
        )
    )
    for label, name in LONG_NAMES.items():
        cases.append(
            (f"{label}, 3 items", stress_credential(name, 3, 34, 0, status_entries("message")))
        )
    for items in (5, 8, 10, 15, 20):
        cases.append(
            (
                f"long name (84), {items} items, labels 40, conditions 40",
                stress_credential(
                    LONG_NAMES["long name (84)"], items, 40, 40, status_entries("message")
                ),
            )
        )
    cases.append(
        (
            "very long name (110), 10 items, two-entries status",
            stress_credential(
                LONG_NAMES["very long name (110)"], 10, 40, 40, status_entries("two")
            ),
        )
    )
    cases.append(
        (
            "20 items, labels 60, conditions 80, scheme name 90",
            stress_credential(
                LONG_NAMES["very long name (110)"],
                20,
                60,
                80,
                status_entries("two"),
                scheme_name="Certified Non-Destructive Testing Inspector for Pressure Equipment "
                "and Offshore Structures",
            ),
        )
    )
    for label, credential in cases:
        signed = add_proof(credential, pair, cryptosuite="eddsa-jcs-2022")
        text = sign_compact(
            signed,
            pair.sign,
            pair.public_key.raw,
            issued_at=_now(),
            public_url="https://cb.example",
        )
        kept = any(item.label for item in decode(text).certificate.scope)
        print(
            f"  {label:58} {len(text):>5} {'v' + str(qr_version(text)):>4}  "
            f"{'yes' if kept else 'no'}"
        )


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# --- cost -----------------------------------------------------------------------------------


def cost(credentials: list[dict[str, Any]], pair: KeyPair, public_url: str, rounds: int) -> None:
    unsigned = [{k: v for k, v in c.items() if k != "proof"} for c in credentials[:rounds]]
    print(f"\ncost per certificate, {len(unsigned)} demo credentials, alternated in one loop:")
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022"):
        proof_us: list[float] = []
        payload_us: list[float] = []
        for credential in unsigned:
            start = time.perf_counter()
            signed = add_proof(credential, pair, cryptosuite=suite)
            middle = time.perf_counter()
            sign_compact(
                signed, pair.sign, pair.public_key.raw, issued_at=_now(), public_url=public_url
            )
            end = time.perf_counter()
            proof_us.append((middle - start) * 1e6)
            payload_us.append((end - middle) * 1e6)
        p, q = statistics.median(proof_us), statistics.median(payload_us)
        print(
            f"  {suite}: credential {p:,.0f} µs, payload {q:,.0f} µs (median); "
            f"payload / credential = {q / p:.3f}; the payload adds {100 * q / p:.1f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--holders", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    texts, credentials, pair, public_url = demo_payloads(args.holders)
    distribution("demo body, current credentials", texts)
    stress(pair)
    cost(credentials, pair, public_url, args.rounds)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
