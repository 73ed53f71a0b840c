"""The public register under load: a certificate looked up by number, at 1,000,000 certificates.

    .venv/bin/python bench/bench_register.py [--rows 1000000] [--seconds 20] [--clients 8]

Builds (once, cached in bench/.cache/) a register.db of ``--rows`` certificates in the
register's own schema (register/db.py), then, for each target, starts a server on 127.0.0.1,
runs ``--clients`` concurrent clients for ``--seconds`` asking for random existing numbers,
and prints lookups per second with p50/p99 latency:

- plain Datasette (``datasette serve --immutable register.db``), row page and row JSON;
- certreg's register as ``certreg serve`` mounts it, when the register pages exist: the
  certificate page ``/c/{number}`` and the Datasette row JSON under ``/register``.

Also timed: a faceted directory page (plain Datasette's live facets against certreg's
precomputed ``facet_counts``) and a full-text search. Clients and servers share the machine's
two cores, so absolute figures are lower than on a dedicated server; the comparison is fair.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from register.db import open_register  # noqa: E402

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

    def certifications():
        for i in range(rows):
            scheme = SCHEMES[i % 2]
            number = f"{scheme[1]}-{i:08d}-X"
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
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS certifications_fts USING fts5("
        "holder_name, number, content='certifications', content_rowid='rowid')"
    )
    conn.execute("INSERT INTO certifications_fts(certifications_fts) VALUES ('rebuild')")
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
    db = CACHE / f"register-{args.rows}.db"
    began = time.perf_counter()
    numbers = build(db, args.rows)
    took = time.perf_counter() - began
    print(f"register.db: {args.rows:,} certificates ({took:.0f} s to build or load)")
    print(
        f"{args.clients} concurrent clients, {args.seconds:.0f} s each, random existing numbers\n"
    )

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(
        [sys.executable, "-m", "datasette", "serve", "--immutable", str(db), "--port", str(port),
         "--setting", "sql_time_limit_ms", "3000"],
        port, "/-/versions.json",
    )  # fmt: skip
    name = db.stem
    try:
        print("plain Datasette")
        report("row JSON  /db/certifications/{number}.json",
               asyncio.run(load(base, [f"/{name}/certifications/{n}.json" for n in numbers],
                                args.clients, args.seconds)))  # fmt: skip
        report("row page  /db/certifications/{number}",
               asyncio.run(load(base, [f"/{name}/certifications/{n}" for n in numbers],
                                args.clients, args.seconds)))  # fmt: skip
        facets = once(base, f"/{name}/certifications?_facet=scheme_id&_facet=status&_facet=country")
        search = once(base, f"/{name}/certifications?_search=Name42")
        print(f"  faceted table page (live facets)                     {facets:8.0f} ms")
        print(f"  full-text search                                     {search:8.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
