"""Bulk issuance: the main thread's CPU per certificate, by phase (no register push thread).

    .venv/bin/python bench/bench_bulk_main.py [--rows 5000] [--rounds 3] [--profile 25]

Runs ``issue_csv`` in this process on a copy of bench/.cache/body-0-schema17 (built by
bench/bench_issue.py) with one signing worker and no register attached, so the main thread
does only what it does in ``certreg issue --csv``: read the CSV, plan, reserve the status
indices, wait for the worker, write each batch. The key store is unlocked before the clock
starts (its Argon2id runs in a thread of its own in a real run). Reported in ms of the main
thread's CPU (``time.thread_time``) per certificate: a loaded machine does not distort it.

Run it with another checkout's interpreter (e.g. /work/main/.venv/bin/python, which imports
that checkout's certreg) for the baseline, alternated with this one.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_issue import CACHE, PASSPHRASE, write_csv

SORT = "tottime"
BODY = CACHE / "body-0-schema17"


def _timed(spent: dict[str, float], name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tick = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.thread_time() - tick

    return wrapper


def instrument(spent: dict[str, float]) -> None:
    """Per-phase main-thread CPU, by wrapping the functions issue_csv calls."""
    from certreg.issuer import audit, bulk, logwriter, statuslists
    from certreg.issuer.mail import outbox

    bulk._read = _timed(spent, "read", bulk._read)
    bulk._Planner.plan = _timed(spent, "plan", bulk._Planner.plan)
    manager = statuslists.StatusListManager
    manager.entries_for_many = _timed(spent, "reserve", manager.entries_for_many)
    bulk._Writer.write = _timed(spent, "write", bulk._Writer.write)
    bulk.write_grants = _timed(spent, "  grants", bulk.write_grants)
    audit.append_many = _timed(spent, "  audit", audit.append_many)
    outbox.queue_for_events = _timed(spent, "  mail", outbox.queue_for_events)
    bulk.log_for_events = _timed(spent, "  log", bulk.log_for_events)
    del logwriter


def one_run(rows: int, profile: bool) -> tuple[float, dict[str, float], str]:
    from certreg.issuer import bulk
    from certreg.issuer.service import CertificationBody

    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        folder = Path(tmp) / "body"
        shutil.copytree(BODY, folder)
        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        grants = folder / "grants.csv"
        write_csv(grants, rows, ids["examiner"], "m")
        body = CertificationBody.open(folder / "cb", passphrase=PASSPHRASE)
        body.signer  # noqa: B018 -- unlock before the clock starts
        # As in ``certreg issue --csv``, whose push thread checkpoints the write-ahead log:
        # the main thread does not.
        body.db.conn.execute("PRAGMA wal_autocheckpoint = 0")
        _SPENT.clear()
        profiler = cProfile.Profile() if profile else None
        tick = time.thread_time()
        if profiler is not None:
            profiler.enable()
        report = bulk.issue_csv(body, grants, decided_by=ids["decider"], workers=1)
        if profiler is not None:
            profiler.disable()
        cpu = time.thread_time() - tick
        assert report.issued == rows and not report.errors, report.errors[:3]
        body.db.conn.close()
        text = ""
        if profiler is not None:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(SORT).print_stats(35)
            text = out.getvalue()
        return cpu, dict(_SPENT), text


_SPENT: dict[str, float] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="best of")
    parser.add_argument("--profile", type=int, default=0, help="print N lines of a cProfile")
    parser.add_argument("--sort", default="tottime", help="the profile's order (cumulative...)")
    args = parser.parse_args()
    global SORT
    SORT = args.sort
    from certreg.issuer import bulk

    instrument(_SPENT)
    print(f"certreg from {Path(bulk.__file__).resolve().parent.parent}, {args.rows} rows")
    best: tuple[float, dict[str, float]] | None = None
    for _ in range(args.rounds):
        cpu, spent, _text = one_run(args.rows, False)
        if best is None or cpu < best[0]:
            best = (cpu, spent)
    assert best is not None
    cpu, spent = best
    per = 1000 / args.rows
    print(f"main thread CPU: {cpu * per:.3f} ms/cert (best of {args.rounds})")
    for name, seconds in spent.items():
        print(f"  {name:<10} {seconds * per:.3f}")
    if args.profile:
        _cpu, _spent, text = one_run(args.rows, True)
        print("\n".join(text.splitlines()[: args.profile + 10]))


if __name__ == "__main__":
    main()
