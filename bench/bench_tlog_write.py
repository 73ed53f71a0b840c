"""The transparency log's write side (issue 13): what it costs bulk issuance, and what a
checkpoint costs at 1,000,000 entries.

    .venv/bin/python bench/bench_tlog_write.py [--rows 3000] [--trials 2] [--entries 1000000]
                                               [--skip-bulk]   (--entries 0: no checkpoint part)

1. **Bulk issuance, log on vs off, side by side.** The same CSV of ``--rows`` grants issued by
   ``issuer.bulk.issue_csv`` (in process, 2 signing workers, its default batch) into a fresh copy
   of one body, alternating a run with the log (as shipped) and a run without it (the bench
   replaces ``issuer.bulk.log_for_events`` by a no-op for that run: the product has no switch).
   Reported: rows/s of each, their ratio, the main process's CPU per row (it plans and
   writes and sets the pace; the signing workers' CPU is not in it), and the time spent
   inside the log writer (leaves appended per second of that time, and per second of the
   whole run).
2. **Checkpoint signing at ``--entries`` entries** (a synthetic ``tlog_entries`` table of
   random 150-byte entries in an issuer.db): the first checkpoint (every full tile's root made
   and kept, once), the next one after 1,000 more entries (what a server does every few
   seconds), and an inclusion proof against it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_issue import PASSPHRASE, make_body, write_csv


def bulk_run(template: Path, csv_path: Path, ids: dict[str, str], *, log: bool) -> dict:
    from certreg.issuer import bulk, logwriter
    from certreg.issuer.service import CertificationBody

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cb"
        shutil.copytree(template / "cb", folder)
        body = CertificationBody.open(folder, passphrase=PASSPHRASE)
        body.signer  # noqa: B018 -- unlock (Argon2id) before the clock starts
        spent = [0.0]
        leaves = [0]

        def timed(conn, events, credentials=None):  # type: ignore[no-untyped-def]
            tick = time.perf_counter()
            n = logwriter.log_for_events(conn, events, credentials)
            spent[0] += time.perf_counter() - tick
            leaves[0] += n
            return n

        def off(conn, events, credentials=None):  # type: ignore[no-untyped-def]
            return 0

        original = bulk.log_for_events
        bulk.log_for_events = timed if log else off  # type: ignore[assignment]
        try:
            tick, cpu = time.perf_counter(), time.process_time()
            report = bulk.issue_csv(body, csv_path, decided_by=ids["decider"], workers=2)
            wall, cpu = time.perf_counter() - tick, time.process_time() - cpu
        finally:
            bulk.log_for_events = original  # type: ignore[assignment]
        assert report.issued > 0 and not report.errors, report.errors[:3]
        logged = body.db.execute("SELECT COUNT(*) FROM tlog_entries").fetchone()[0]
        body.db.conn.close()
    return {
        "rows_per_s": report.issued / wall,
        "wall": wall,
        # The main process's CPU (the signing workers' excluded): it plans and writes, and
        # sets the pace; on a shared machine it moves less than the wall time.
        "cpu_ms": 1000 * cpu / report.issued,
        "log_s": spent[0],
        "leaves": leaves[0],
        "logged": logged,
    }


def bench_bulk(rows: int, trials: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template"
        template.mkdir()
        ids = make_body(template)
        csv_path = Path(tmp) / "rows.csv"
        write_csv(csv_path, rows, ids["examiner"], "bench")
        on, off = [], []
        for trial in range(trials):
            for log in (True, False) if trial % 2 == 0 else (False, True):
                result = bulk_run(template, csv_path, ids, log=log)
                (on if log else off).append(result)
                print(
                    f"  trial {trial + 1} log {'on ' if log else 'off'}: "
                    f"{result['rows_per_s']:7.0f} rows/s ({result['wall']:.2f} s), "
                    f"main process CPU {result['cpu_ms']:.3f} ms/row, {result['logged']} entries"
                )
    rate_on = statistics.median(r["rows_per_s"] for r in on)
    rate_off = statistics.median(r["rows_per_s"] for r in off)
    leaves = sum(r["leaves"] for r in on)
    log_s = sum(r["log_s"] for r in on)
    print(f"bulk issuance, {rows} rows, median of {trials}:")
    print(f"  log on : {rate_on:7.0f} rows/s (= leaves appended per second of the run)")
    print(f"  log off: {rate_off:7.0f} rows/s")
    print(f"  on/off : {rate_on / rate_off:.3f}")
    cpu_on = statistics.median(r["cpu_ms"] for r in on)
    cpu_off = statistics.median(r["cpu_ms"] for r in off)
    print(f"  main process CPU per row: log on {cpu_on:.3f} ms, off {cpu_off:.3f} ms")
    print(
        f"  inside the log writer: {log_s:.3f} s for {leaves} leaves "
        f"({leaves / log_s:,.0f} leaves/s of writer time, {1e6 * log_s / leaves:.0f} µs each)"
    )


def bench_checkpoint(count: int) -> None:
    from certreg.issuer.db import connect, transaction
    from certreg.issuer.logfiles import LogFiles
    from certreg.verifier.tlog import merkle, note
    from certreg.verifier.tlog.checkpoint import open_checkpoint
    from certreg.verifier.tlog.tiles import TileReader

    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "issuer.db", create=True)
        db.conn.execute("PRAGMA foreign_keys = OFF")  # synthetic entries name no real event

        def fill(start: int, end: int) -> None:
            with transaction(db):
                db.conn.executemany(
                    "INSERT INTO tlog_entries (idx, entry, leaf_hash, event_seq, credential, at) "
                    "VALUES (?, ?, ?, ?, NULL, '')",
                    (
                        (i, e, merkle.leaf_hash(e), i + 1)
                        for i in range(start, end)
                        for e in (hashlib.sha512(i.to_bytes(8, "big")).digest() * 2 + b"x" * 22,)
                    ),
                )

        tick = time.perf_counter()
        fill(0, count)
        print(f"checkpoint at {count:,} entries (synthetic table filled in "
              f"{time.perf_counter() - tick:.1f} s):")  # fmt: skip
        signer = note.Signer.generate("cb.example/log")
        files = LogFiles(db, lambda: signer, interval=0)
        tick = time.perf_counter()
        first = files.checkpoint()
        cold = time.perf_counter() - tick
        assert first is not None and first.size == count
        print(f"  first checkpoint (makes and keeps every full tile): {cold:.2f} s")
        fill(count, count + 1000)
        tick = time.perf_counter()
        second = files.checkpoint()
        warm = time.perf_counter() - tick
        assert second is not None and second.size == count + 1000
        assert open_checkpoint(second.note, signer.verifier)
        print(f"  next checkpoint, 1,000 entries later: {1000 * warm:.1f} ms")
        tick = time.perf_counter()
        root = files.root(count + 1000)
        root_ms = 1000 * (time.perf_counter() - tick)
        assert root == second.root
        print(f"  root of {count + 1000:,} entries from the kept tiles: {root_ms:.1f} ms")
        reader = TileReader(second.size, files.fetch(second.size))
        tick = time.perf_counter()
        path = merkle.inclusion_proof(count // 3, second.size, reader.subtree)
        proof_ms = 1000 * (time.perf_counter() - tick)
        leaf = bytes(
            db.execute("SELECT leaf_hash FROM tlog_entries WHERE idx = ?", [count // 3]).fetchone()[
                0
            ]
        )
        assert merkle.verify_inclusion(leaf, count // 3, second.size, path, second.root)
        print(f"  inclusion proof of entry {count // 3:,}: {proof_ms:.1f} ms, {len(path)} hashes")
        size = db.execute(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        )
        print(f"  issuer.db with the log: {size.fetchone()[0] / 1e6:.0f} MB")
        db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--skip-bulk", action="store_true")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    if not args.skip_bulk:
        bench_bulk(args.rows, args.trials)
    if args.entries > 0:  # --entries 0: the bulk runs only
        bench_checkpoint(args.entries)


if __name__ == "__main__":
    main()
