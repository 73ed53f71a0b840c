"""Anonymous verification under attack (issue 7, item 4): the worst accepted input's cost, and
the register's latency while clients post such inputs to the public ``/verify`` page.

    .venv/bin/python bench/bench_verify_attack.py [--clients 4] [--seconds 8]

1. In process: credentials of several heavy shapes at the public limits
   (``issuer.http.ratelimit.PublicLimits``: bytes and values), each a shape never seen before
   (the shape cache cannot help an attacker), verified with ``Verifier().verify_credential``;
   the slowest is the worst accepted input. The issue's own attack (one property with
   ~12,000 values, 165 KiB), which the public service now refuses, is timed too (the library
   still accepts it: its cost is now linear).
2. Over HTTP: a demo body served by uvicorn on 127.0.0.1 (a subprocess), probed with
   ``GET /c/{number}`` and ``GET /register/`` at rest and while ``--clients`` clients post
   worst-case inputs to ``/verify`` as fast as they can, each a new shape. Three servers:
   - ``limits``: the defaults (all attackers share 127.0.0.1, so the rate limit soon answers);
   - ``botnet``: the rate limits lifted, as if every request came from its own address
     (the input limits and the verification slots alone);
   - ``none``: no limits at all (1 MiB inputs, 40 slots, no rate limit, no idle turns), the
     attacker posting 6,000 blank nodes (12,000 values, ~190 KiB): what the register faced
     before (without the quadratic cost, which is fixed in the library).

Each attack request is a shape never seen (a salt in a key; the verifier caches shapes, and an
attacker would not let it help). Machine load from other processes moves the figures; compare
the phases of one run.

Loopback only; every phase is bounded in time and in requests.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import certreg.verifier.canonicalize as canonicalize  # noqa: E402
from certreg.issuer.http.ratelimit import PublicLimits, input_problem  # noqa: E402
from certreg.keys.did import did_key_from_public, did_key_verification_method  # noqa: E402
from certreg.keys.keypair import KeyPair  # noqa: E402
from certreg.verifier import Verifier  # noqa: E402
from certreg.verifier.issuing import ProofError, add_proof  # noqa: E402

V2 = "https://www.w3.org/ns/credentials/v2"
VOCAB = "https://example.org/vocab#"
PASSPHRASE = "bench passphrase"
MAX_REQUESTS_PER_CLIENT = 2000  # a bound on each attacker, whatever the phase length


# --- attack inputs -----------------------------------------------------------------------------


def _signer() -> tuple[str, KeyPair]:
    kp = KeyPair.generate()
    vm = did_key_verification_method(kp.public_multibase)
    return did_key_from_public(kp.public_multibase), kp.with_verification_method(vm)


SIGNER = _signer()
#: False: attack payloads carry a well-formed proof with a wrong signature, which costs the
#: verifier the same canonicalisation (it is what it checks the signature against) and the
#: attacker nothing to make: every request can then be a shape never seen.
SIGN = [True]


def _credential(context: list[Any], subject: dict[str, Any]) -> dict[str, Any]:
    did, kp = SIGNER
    unsigned = {
        "@context": context,
        "type": ["VerifiableCredential"],
        "issuer": did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:holder", **subject},
    }
    if SIGN[0]:
        return add_proof(unsigned, kp)  # a valid signature: verification does all its work
    unsigned["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": kp.verification_method,
        "proofPurpose": "assertionMethod",
        "created": "2025-01-01T00:00:00Z",
        "proofValue": "z" + "1" * 64,  # 64 zero bytes, base58btc
    }
    return unsigned


def _vocab() -> list[Any]:
    return [V2, {"@vocab": VOCAB}]


#: Heavy shapes: name -> (n, salt) -> a signed credential with about n values; ``salt`` makes a
#: shape never seen before.
SHAPES: dict[str, Callable[[int, int], dict[str, Any]]] = {
    "one property, n literals": lambda n, salt: _credential(
        [V2], {"name": [f"v{salt}-{i}" for i in range(n)]}
    ),
    "n properties": lambda n, salt: _credential(
        _vocab(), {f"p{salt}x{i}": f"v{i}" for i in range(n)}
    ),
    "n blank nodes": lambda n, salt: _credential(
        _vocab(), {f"item{salt}": [{"n": f"v{i}"} for i in range(n // 2)]}
    ),
    "n alike blank nodes": lambda n, salt: _credential(
        _vocab(), {f"item{salt}": [{"n": "same"}] * (n // 2)}
    ),
    "one node n times": lambda n, salt: _credential(
        _vocab(), {f"item{salt}": [{"id": "https://e.org/x", "n": f"v{i}"} for i in range(n // 3)]}
    ),
    "n references": lambda n, salt: _credential(
        _vocab(), {f"ref{salt}": [{"id": f"https://e.org/{i}"} for i in range(n // 2)]}
    ),
}


def values_of(doc: Any) -> int:
    if isinstance(doc, dict):
        return len(doc) + sum(values_of(v) for v in doc.values())
    if isinstance(doc, list):
        return len(doc) + sum(values_of(v) for v in doc)
    return 0


def at_the_limit(name: str, limits: PublicLimits, salt: int = 0) -> tuple[int, dict[str, Any]]:
    """The largest document of shape ``name`` the public service accepts, and its ``n``."""
    low, high = 1, 4 * limits.verify_max_values
    while low < high:
        mid = (low + high + 1) // 2
        try:
            doc = SHAPES[name](mid, salt)
        except ProofError:  # e.g. too many alike blank nodes to sign: refused anyway
            fits = False
        else:
            size = len(json.dumps(doc).encode())
            # 64 bytes for the form's field name and encoding
            fits = input_problem(doc, limits) is None and size <= limits.verify_max_bytes - 64
        low, high = (mid, high) if fits else (low, mid - 1)
    return low, SHAPES[name](low, salt)


def timed_verification(doc: dict[str, Any], runs: int = 3) -> float:
    verifier = Verifier(check_status=False)
    times = []
    for _ in range(runs):
        canonicalize._SHAPES.clear()  # a shape never seen (each attacker request is one)
        start = time.perf_counter()
        result = verifier.verify_credential(doc)
        times.append(time.perf_counter() - start)
        assert result.verdict.value == "VALID", result.summary
    return statistics.median(times)


# --- the server --------------------------------------------------------------------------------


SERVER = f"""
import sys, uvicorn
sys.path.insert(0, sys.argv[1])
from certreg.issuer.http import create_app
from certreg.issuer.http.ratelimit import PublicLimits, Rate
from certreg.issuer.register_push import attach
from certreg.issuer.service import CertificationBody
from certreg.issuer.db import connect
from certreg.keys.store import KeyStore
from pathlib import Path
PASSPHRASE = {PASSPHRASE!r}
data, port, mode = Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
store = KeyStore(data / "keys")
signer = store.load_signer(PASSPHRASE)
body = CertificationBody(connect(data / "issuer.db"), signer_factory=lambda: signer)
attach(body)
free = Rate(per_minute=10**9, burst=10**9)
limits = {{
    "limits": PublicLimits(),
    "botnet": PublicLimits(verify_rate=free),
    "none": PublicLimits(verify_rate=free, verify_max_bytes=2**20, verify_max_values=10**7,
                         verify_slots=40, verify_queue=10**6, verify_cpu_share=1.0),
}}[mode]
app = create_app(body, passphrase=PASSPHRASE, key_store=store, public_limits=limits)
if len(sys.argv) > 5:
    sys.setswitchinterval(float(sys.argv[5]))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, mode: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT), str(data), str(port), mode],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/verify", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def probe(base: str, paths: list[str], seconds: float) -> list[float]:
    """Sequential GETs of the register's pages for ``seconds``: latencies in ms."""
    out: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            r = client.get(paths[i % len(paths)])
            out.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200, (paths[i % len(paths)], r.status_code)
            i += 1
            time.sleep(0.02)  # a reader, not a load generator
    return out


def attack(base: str, payload: Callable[[int], str], clients: int, seconds: float) -> Counter:
    """``clients`` threads posting ``payload(i)`` (i: a number used once) for ``seconds``."""
    answers: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    numbers = itertools.count(100_000)

    def client(k: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if time.monotonic() >= deadline:
                    return
                with lock:
                    number = next(numbers)
                r = http.post(
                    "/verify",
                    data={"credential": payload(number)},
                    headers={"Accept": "application/json"},
                )
                with lock:
                    answers[r.status_code] += 1
                if r.status_code in (429, 503):
                    time.sleep(0.05)  # a flood, not a busy loop on our side of loopback

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def figures(latencies: list[float]) -> str:
    if not latencies:
        return "no answer"
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return (
        f"p50 {statistics.median(latencies):7.1f} ms  p95 {p95:7.1f} ms  "
        f"max {max(latencies):7.1f} ms  ({len(latencies)} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    limits = PublicLimits()
    print(
        f"Public limits: {limits.verify_max_bytes:,} bytes, {limits.verify_max_values:,} values, "
        f"{limits.verify_slots} verification slot(s) on {os.cpu_count()} cores\n"
    )

    print("1. Worst accepted input, verified in process (median of 3, each a new shape):")
    worst_name, worst_time = "", 0.0
    for name in SHAPES:
        _, doc = at_the_limit(name, limits)
        seconds = timed_verification(doc)
        size = len(json.dumps(doc).encode())
        print(f"   {name:24} {values_of(doc):5} values {size:7,} bytes  {seconds * 1000:7.1f} ms")
        if seconds > worst_time:
            worst_name, worst_time = name, seconds
    print(f"   worst accepted: {worst_name!r}, {worst_time * 1000:.0f} ms")
    issue = SHAPES["one property, n literals"](12_000, 0)
    issue_size = len(json.dumps(issue).encode())
    print(
        f"   the issue's attack ({values_of(issue):,} values, {issue_size / 1024:.0f} KiB; refused "
        f"by the public service: {input_problem(issue, limits) is not None}): library "
        f"{timed_verification(issue, runs=1):.2f} s (was 33 s)\n"
    )
    if args.skip_http:
        return

    with tempfile.TemporaryDirectory() as tmp:
        from certreg.issuer.demo_body import build_demo

        demo = build_demo(
            Path(tmp) / "cb", public_url="https://cb.example", passphrase=PASSPHRASE, holders=40
        )
        number = next(n for ns in demo.numbers.values() for n in ns)
        paths = [f"/c/{number}", "/register/"]
        # Sized with the longest salt a request will carry (six digits): always accepted.
        SIGN[0] = False
        n, _ = at_the_limit(worst_name, limits, 999_999)

        def worst(salt: int) -> str:
            return json.dumps(SHAPES[worst_name](n, salt))

        def big(salt: int) -> str:
            # The salt is in a key: a new shape each time (string values are not the shape).
            return json.dumps(SHAPES["n blank nodes"](12_000, salt))

        print(
            f"2. Register latency ({', '.join(paths)}), at rest and while {args.clients} clients "
            f"post to /verify for {args.seconds:g} s:"
        )
        for mode, payloads in (("limits", worst), ("botnet", worst), ("none", big)):
            process, base = start_server(Path(tmp) / "cb", mode)
            try:
                probe(base, paths, 1.0)  # warm up
                rest = probe(base, paths, min(4.0, args.seconds))
                result: dict[str, Any] = {}

                def run(
                    base: str = base,
                    payloads: Callable[[int], str] = payloads,
                    result: dict = result,
                ) -> None:
                    result["answers"] = attack(base, payloads, args.clients, args.seconds)

                attacker = threading.Thread(target=run)
                attacker.start()
                time.sleep(0.5)  # the attack is under way
                busy = probe(base, paths, args.seconds - 0.5)
                attacker.join()
            finally:
                process.terminate()
                process.wait(timeout=30)
            answers = dict(sorted(result["answers"].items()))
            print(f"   [{mode}] at rest:      {figures(rest)}")
            print(f"   [{mode}] under attack: {figures(busy)}")
            print(f"   [{mode}] attackers' answers (status: count): {answers}")


if __name__ == "__main__":
    main()
