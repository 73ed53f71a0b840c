"""Point-in-time answers at 1,000,000 certificates: ``/c/{number}?at=…`` beside ``/c/{number}``.

    .venv/bin/python bench/bench_pointintime.py [--rows 1000000] [--requests 2000]

Takes bench_register.py's register.db of ``--rows`` certificates (built once in bench/.cache/,
or already there) and copies it once to ``pointintime-<rows>.db`` with a dated history for
every certificate (grant on its effective date, 1 January 2026; suspended 100 days later and
reinstated 30 days after that:
3 rows each in ``status_history``), since the point-in-time answer replays those rows. Then the
public site's app (register.web, as ``certreg register serve`` runs it, over the ASGI interface
in this process: no network, no server process, the same for both pages) is asked for random
existing numbers, alternating today's page and the page at a random instant from September 2025
to November 2026 (before the grant, valid, suspended, valid again), one request at a time.
Printed: p50 and p95 of each and their ratio, with the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_register import CACHE, build  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from certreg.register.web.app import install  # noqa: E402


def with_history(rows: int) -> tuple[Path, list[str]]:
    """The big register with three dated decisions per certificate (made once)."""
    source = CACHE / f"register-v2-{rows}.db"
    numbers = build(source, rows)
    path = CACHE / f"pointintime-v2-{rows}.db"
    if path.exists():
        return path, numbers
    tmp = path.with_suffix(".tmp")
    shutil.copyfile(source, tmp)
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM status_history")
    for seq, (days, decision, status) in enumerate(
        ((0, "grant", "ACTIVE"), (100, "suspend", "SUSPENDED"), (130, "reinstate", "ACTIVE")), 1
    ):
        conn.execute(
            "INSERT INTO status_history SELECT number, ?, date(valid_from, ?), "
            "date(valid_from, ?) || 'T10:00:00Z', ?, ? FROM certifications",
            [seq, f"+{days} days", f"+{days} days", decision, status],
        )
    # The bench's statuses are drawn at random: make them agree with the history.
    conn.execute("UPDATE certifications SET status = 'ACTIVE'")
    conn.execute("COMMIT")
    conn.close()
    os.replace(tmp, path)
    return path, numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    began = time.perf_counter()
    db, numbers = with_history(args.rows)
    print(f"register.db: {args.rows:,} certificates, 3 decisions each "
          f"({time.perf_counter() - began:.0f} s to build or load)")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    app = FastAPI()
    install(app, db, immutable=True)
    client = TestClient(app)
    rng = random.Random(5)
    start = datetime(2025, 9, 1, tzinfo=UTC)

    def instant() -> str:
        return (start + timedelta(minutes=rng.randrange(426 * 24 * 60))).strftime("%Y-%m-%dT%H:%M")

    timings: dict[str, list[float]] = {"today's page /c/{number}": [], "?at=": []}
    for _ in range(50):  # warm-up: templates compiled, pages cached by the OS
        client.get(f"/c/{rng.choice(numbers)}")
        client.get(f"/c/{rng.choice(numbers)}?at={instant()}")
    for _ in range(args.requests):
        for kind in timings:
            path = f"/c/{rng.choice(numbers)}" + (f"?at={instant()}" if kind == "?at=" else "")
            t0 = time.perf_counter()
            answer = client.get(path)
            timings[kind].append((time.perf_counter() - t0) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"{path} answered {answer.status_code}")
    p50 = {}
    for kind, values in timings.items():
        values.sort()
        p50[kind] = statistics.median(values)
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        print(f"  {kind:28} p50 {p50[kind]:6.2f} ms   p95 {p95:6.2f} ms   (n={len(values)})")
    ratio = p50["?at="] / p50["today's page /c/{number}"]
    print(f"  ?at= / today's page, p50: {ratio:.2f}x")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
