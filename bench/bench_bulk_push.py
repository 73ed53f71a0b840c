"""The register push of a bulk run: CPU of the push thread per certificate.

    .venv/bin/python bench/bench_bulk_push.py [--rows 3000] [--trials 3] [--profile]

Runs ``issue_csv`` in this process (no subprocess, no CLI) on a copy of the cached fresh body
(bench/.cache/body-0-schema17, built by bench_issue.py), with the register attached as
``certreg issue`` attaches it, and reports the push thread's CPU (``time.thread_time`` over
``_Pusher.run``: the pushes, the issuer.db checkpoints, opening and closing its connections)
per certificate, and its wall seconds. CPU time is what a loaded machine does not distort.

``--profile``: a cProfile of the push thread (one extra run), the top functions by their own
time and by cumulative time.

The baseline is the same script run by another checkout's interpreter, which imports that
checkout's code (alternate the two, best of several rounds)::

    cp bench/bench_bulk_push.py /tmp/
    CERTREG_BENCH_CACHE=$PWD/bench/.cache /work/main/.venv/bin/python /tmp/bench_bulk_push.py
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PASSPHRASE = "bench passphrase, not a secret"
# Where the cached body is (a copy of this script in /tmp, run by another checkout, names it).
CACHE = Path(os.environ.get("CERTREG_BENCH_CACHE", Path(__file__).resolve().parent / ".cache"))
COLUMNS = ("external_id", "full_name", "email", "scheme", "scope", "assessed_on", "examiner")
COLUMNS += ("evidence",)


def write_csv(path: Path, rows: int, examiner: str, prefix: str) -> None:
    """bench_issue.py's rows: a new person each, one or two scope items, a directory scheme."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(rows):
            out.writerow(
                [
                    f"{prefix}-{i:07d}",
                    f"Candidate {prefix} {i}",
                    f"candidate{i}@example.org",
                    "cwi",
                    "UT2:welds in steel, 6-40 mm;VT2" if i % 2 else "VT2",
                    "2020-01-15",
                    examiner,
                    f"examination record {i}",
                ]
            )


def source() -> Path:
    for folder in sorted(CACHE.glob("body-0-schema*")):
        if (folder / "ready").exists():
            return folder
    raise SystemExit(f"no cached fresh body under {CACHE}: run bench/bench_issue.py once")


def run(rows: int, workers: int, profile: cProfile.Profile | None) -> dict[str, Any]:
    from certreg.issuer import bulk
    from certreg.issuer.register_push import attach
    from certreg.issuer.service import CertificationBody

    measured: dict[str, float] = {}
    original = bulk._Pusher.run

    def timed_run(self: Any) -> None:
        cpu = time.thread_time()
        if profile is not None:
            profile.enable()
        try:
            original(self)
        finally:
            if profile is not None:
                profile.disable()
            measured["cpu"] = time.thread_time() - cpu

    bulk._Pusher.run = timed_run  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            folder = Path(tmp) / "body"
            shutil.copytree(source(), folder)
            ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
            grants = folder / "grants.csv"
            write_csv(grants, rows, ids["examiner"], "push")
            body = CertificationBody.open(folder / "cb", passphrase=PASSPHRASE)
            attach(body)
            started = time.process_time()
            report = bulk.issue_csv(body, grants, decided_by=ids["decider"], workers=workers)
            main_cpu = time.process_time() - started
            if report.issued != rows:
                raise SystemExit(f"issued {report.issued} of {rows}: {report.errors[:3]}")
            body.db.conn.close()
    finally:
        bulk._Pusher.run = original  # type: ignore[method-assign]
    return {
        "cpu": measured["cpu"],
        "wall": report.timings.get("push_thread", 0.0),
        # The run's own figure (None from a checkout without it, e.g. an older main).
        "reported_cpu": report.timings.get("push_thread_cpu"),
        "process_cpu": main_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from certreg.issuer import bulk

    print(f"certreg from {Path(bulk.__file__).resolve().parents[1]}, {args.rows} rows")
    results = []
    for trial in range(args.trials):
        result = run(args.rows, args.workers, None)
        results.append(result)
        reported = result["reported_cpu"]
        reported_text = "-" if reported is None else f"{1000 * reported / args.rows:.3f}"
        print(
            f"  trial {trial}: push thread cpu {1000 * result['cpu'] / args.rows:.3f} ms/cert "
            f"(the run's push_thread_cpu: {reported_text}), wall {result['wall']:.3f} s, "
            f"process cpu (main+threads) {1000 * result['process_cpu'] / args.rows:.3f} ms/cert",
            flush=True,
        )
    best = min(r["cpu"] for r in results)
    print(f"best push thread cpu: {1000 * best / args.rows:.3f} ms/cert")
    if args.profile:
        profile = cProfile.Profile(time.thread_time)  # CPU, not waits for the GIL
        run(args.rows, args.workers, profile)
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(35)
            print(out.getvalue())


if __name__ == "__main__":
    sys.exit(main())
