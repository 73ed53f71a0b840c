"""The public register under load: a certificate looked up by number, at 1,000,000 certificates.

    .venv/bin/python bench/bench_register.py [--rows 1000000] [--seconds 20] [--clients 8]

Builds (once, cached in bench/.cache/) a register.db of ``--rows`` certificates in the
register's own schema (register/db.py), then, for each target, starts a server on 127.0.0.1,
runs ``--clients`` concurrent clients for ``--seconds`` asking for random existing numbers,
and prints lookups per second with p50/p99 latency:

- plain Datasette (``datasette serve --immutable register.db``), row page and row JSON;
- certreg's register pages as ``certreg serve`` mounts them (the pages alone, without the
  server's middleware): the certificate page ``/c/{number}`` and the Datasette row JSON under
  ``/register``;
- the keyless public site as ``certreg register serve BUNDLE`` runs it: the whole app, with its
  request guard, rate limits and error handlers, over a bundle whose ``public.db`` is the same
  register.

Load comes from ``wrk`` (Debian's package) when installed, else from a Python client (which
needs most of a core itself and inflates the latencies it measures). Also timed: a faceted
directory page (plain Datasette's live facets against certreg's
precomputed ``facet_counts``) and a full-text search. Clients and servers share the machine's
two cores, so absolute figures are lower than on a dedicated server; the comparison is fair.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from certreg.issuer.numbers import new_number  # noqa: E402
from certreg.register.db import open_register  # noqa: E402
from certreg.register.fts import enable_search  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
SCHEMES = [
    ("cwi", "CWI", "Certified Welding Inspector"),
    ("isa", "ISA", "Information Security Auditor"),
]
STATUSES = ["ACTIVE"] * 90 + ["SUSPENDED"] * 3 + ["WITHDRAWN"] * 2 + ["EXPIRED"] * 5


def build(path: Path, rows: int) -> list[str]:
    """A register.db with ``rows`` certificates; returns a sample of numbers to ask for."""
    numbers_file = path.with_suffix(".numbers")
    if path.exists() and numbers_file.exists():
        return numbers_file.read_text().split()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = open_register(tmp, create=True)
    conn = db.conn
    rng = random.Random(1)
    now = "2026-11-21T00:00:00Z"
    conn.execute("BEGIN")
    sample: list[str] = []

    conn.execute(
        "INSERT INTO body VALUES (1, 'Bench Certification Body', 'https://cb.example', "
        "'did:web:cb.example', 'Bench Accreditation', 'D-00', 'DE', ?)",
        [now],
    )
    for scheme_id, code, name in SCHEMES:
        conn.execute(
            "INSERT INTO schemes VALUES (?, ?, ?, 1, 'A scheme.', '', '', '', 'ISO 9712:2021', "
            "NULL, 36, '', 'directory', 1, ?)",
            [scheme_id, code, name, now],
        )
    seen: set[str] = set()

    def certifications():
        for i in range(rows):
            scheme = SCHEMES[i % 2]
            number = new_number(scheme[1])
            while number in seen:
                number = new_number(scheme[1])
            seen.add(number)
            if i % (rows // 2000 or 1) == 0:
                sample.append(number)
            yield (
                number, f"Holder {rng.randrange(10**6):06d} Name{i % 997}", scheme[0], scheme[1],
                scheme[2], rng.choice(STATUSES), now, "2026-01-01", "2029-01-01", "DE", now,
            )  # fmt: skip

    conn.executemany(
        "INSERT INTO certifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", certifications()
    )
    conn.execute(
        "INSERT INTO certification_scope SELECT number, 'UT2', 'Ultrasonic testing, level 2', "
        "NULL, 'active', valid_from FROM certifications"
    )
    for facet, column in (("scheme", "scheme_id"), ("status", "status"), ("country", "country")):
        conn.execute(
            f"INSERT INTO facet_counts SELECT '{facet}', {column}, {column}, COUNT(*) "
            f"FROM certifications GROUP BY {column}"
        )
    conn.execute("COMMIT")
    enable_search(db)  # the register's own full-text index (register/fts.py)
    conn.close()
    os.replace(tmp, path)
    numbers_file.write_text("\n".join(sample))
    return sample


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], port: int, probe: str) -> subprocess.Popen:
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


async def load(base: str, paths: list[str], clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:

        async def client(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.monotonic() < stop:
                path = rng.choice(paths)
                began = time.perf_counter()
                response = await http.get(path)
                latencies.append((time.perf_counter() - began) * 1000)
                errors += response.status_code >= 400

        await asyncio.gather(*(client(i) for i in range(clients)))
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "errors": errors,
    }


WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
math.randomseed(42)
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
"""


def measure(base: str, paths: list[str], clients: int, seconds: float) -> dict[str, float]:
    """wrk (C, Debian's package) when installed: a Python client needs most of a core at these
    rates and its own scheduling shows up as latency. Otherwise the Python client."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return asyncio.run(load(base, paths, clients, seconds))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "paths.txt").write_text("\n".join(paths) + "\n")
        (Path(tmp) / "paths.lua").write_text(WRK_SCRIPT)
        out = subprocess.run(
            [wrk, "-t2", f"-c{clients}", f"-d{int(seconds)}s", "--latency",
             "-s", str(Path(tmp) / "paths.lua"), base],
            env={**os.environ, "PATHS_FILE": str(Path(tmp) / "paths.txt")},
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout  # fmt: skip

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": float(errors[1]) if errors else 0.0,
    }


def once(base: str, path: str) -> float:
    began = time.perf_counter()
    response = httpx.get(f"{base}{path}", timeout=60)
    took = (time.perf_counter() - began) * 1000
    return took if response.status_code < 400 else float("nan")


def report(label: str, figures: dict[str, float]) -> None:
    print(
        f"  {label:52} {figures['rps']:8.0f}/s   p50 {figures['p50']:6.1f} ms   "
        f"p99 {figures['p99']:6.1f} ms   errors {figures['errors']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    db = CACHE / f"register-v2-{args.rows}.db"
    began = time.perf_counter()
    numbers = build(db, args.rows)
    took = time.perf_counter() - began
    print(f"register.db: {args.rows:,} certificates ({took:.0f} s to build or load)")
    print(
        f"{args.clients} concurrent clients, {args.seconds:.0f} s each, random existing numbers\n"
    )

    plain(db, numbers, args)
    certreg(db, numbers, args)
    keyless(db, numbers, args)


def plain(db: Path, numbers: list[str], args: argparse.Namespace) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(
        [sys.executable, "-m", "datasette", "serve", "--immutable", str(db), "--port", str(port),
         "--setting", "sql_time_limit_ms", "3000"],
        port, "/-/versions.json",
    )  # fmt: skip
    name = db.stem
    try:
        print("plain Datasette (datasette serve --immutable)")
        report("row JSON  /db/certifications/{number}.json",
               measure(base, [f"/{name}/certifications/{n}.json" for n in numbers],
                                args.clients, args.seconds))  # fmt: skip
        report("row page  /db/certifications/{number}",
               measure(base, [f"/{name}/certifications/{n}" for n in numbers],
                                args.clients, args.seconds))  # fmt: skip
        facets = once(base, f"/{name}/certifications?_facet=scheme_id&_facet=status&_facet=country")
        search = once(base, f"/{name}/certifications?_search=Name42")
        print(f"  {'faceted table page (live facets)':52} {facets:8.0f} ms")
        print(f"  {'full-text search':52} {search:8.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


APP = (
    "import sys, uvicorn; from fastapi import FastAPI; "
    "from certreg.issuer.http.register_routes import install; "
    "app = FastAPI(); install(app, sys.argv[1]); import gc; gc.collect(); gc.freeze(); "
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')"
)


def certreg(db: Path, numbers: list[str], args: argparse.Namespace) -> None:
    """certreg's register pages as `certreg serve` mounts them (one uvicorn process)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start([sys.executable, "-c", APP, str(db), str(port)], port, "/register/")
    try:
        print("\ncertreg (the register as mounted by certreg serve)")
        report("certificate page  /c/{number}",
               measure(base, [f"/c/{n}" for n in numbers],
                                args.clients, args.seconds))  # fmt: skip
        rows = [f"/register/public/certifications/{n}.json" for n in numbers]
        report("row JSON  /register/public/certifications/{number}.json",
               measure(base, rows, args.clients, args.seconds))  # fmt: skip
        directory = once(base, "/register/public/certifications")
        search = once(base, "/register/public/certifications?_search=Name42")
        print(f"  {'directory page (precomputed facet counts)':52} {directory:8.0f} ms")
        print(f"  {'full-text search':52} {search:8.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


KEYLESS = (
    "import sys, uvicorn; from certreg.register.web.app import create_public_app; "
    "app = create_public_app(sys.argv[1]); import gc; gc.collect(); gc.freeze(); "
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')"
)


def keyless(db: Path, numbers: list[str], args: argparse.Namespace) -> None:
    """The keyless public site as `certreg register serve BUNDLE` runs it: the real app, with its
    request guard, rate limits and error handlers, over a bundle whose public.db is this
    register (linked, not copied)."""
    with tempfile.TemporaryDirectory() as bundle:
        os.symlink(db, Path(bundle) / "public.db")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start([sys.executable, "-c", KEYLESS, bundle, str(port)], port, "/register/")
        try:
            print("\ncertreg register serve (the keyless site: the whole app)")
            report("certificate page  /c/{number}",
                   measure(base, [f"/c/{n}" for n in numbers],
                                    args.clients, args.seconds))  # fmt: skip
            rows = [f"/register/public/certifications/{n}.json" for n in numbers]
            report("row JSON  /register/public/certifications/{number}.json",
                   measure(base, rows, args.clients, args.seconds))  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
