"""Auditing a whole published log of 1,000,000 entries, as `certreg log verify` does, against
the bare tile audit.

    .venv/bin/python bench/bench_log_audit.py [--entries 1000000] [--rounds 2]

The log is written once into bench/.cache/log-<N>/ in the C2SP tlog-tiles layout (every tile,
every entry bundle, a signed checkpoint), with entries in certreg's format
(certreg.verifier.tlog.entry): grants, suspensions and recertifications of made-up certificates.

Timed, alternated round by round so that a loaded machine slows both alike:

- **audit** (`certreg.verifier.tlog.audit.audit_log` over the folder): the checkpoint's
  signature, every entry bundle read and each entry hashed, compared with its level-0 tile and
  parsed as an entry (well formed, canonical), every tile above rebuilt, the root compared;
- **baseline** (`tiles.verify_tiles(..., entries=True)`): the same files hashed and compared,
  without reading what the entries say.

The ratio audit/baseline is the cost of checking every entry's meaning; entries/s is what an
accreditation body auditing the whole log gets on this machine.

- **monitor** (`certreg log monitor`'s second run): the same log, resumed from the checkpoint and
  tree frontier of its first ``size - --new`` entries: only the new entries are read, and the
  root rebuilt from the frontier must be the checkpoint's. Its time against the whole audit's is
  what following a log costs once it is large.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# Runs from a plain checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certreg.verifier.tlog import checkpoint as cp
from certreg.verifier.tlog import merkle, note, tiles
from certreg.verifier.tlog.audit import FolderSource, Frontier, audit_log
from certreg.verifier.tlog.entry import Entry

CACHE = Path(__file__).resolve().parent / ".cache"
ORIGIN = "bench.example/log"
#: A fixed seed: the cached log and its key are the same on every run.
SEED = hashlib.sha256(b"certreg bench log key").digest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(n: int) -> bytes:
    cert = _sha(f"credential {n // 3 * 3}")
    kind = ("grant", "suspend", "recertify")[n % 3]
    return Entry(
        kind=kind,
        at=f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T09:30:00Z",
        scheme="cwi",
        cert=cert,
        event=_sha(f"event {n}"),
        credential=cert
        if kind == "grant"
        else (_sha(f"credential {n}") if kind == "recertify" else None),
        number=f"CWI-{n:08d}" if n % 2 == 0 else None,
    ).to_bytes()


def build(folder: Path, count: int, signer: note.Signer) -> None:
    """Write the log of ``count`` entries into ``folder`` (once: kept in bench/.cache)."""
    if (folder / "checkpoint").is_file():
        return
    print(f"writing a log of {count:,} entries to {folder} (once)...", flush=True)
    entries = [_entry(n) for n in range(count)]
    leaves = [merkle.leaf_hash(e) for e in entries]
    files = tiles.build_tiles(leaves) | tiles.build_bundles(entries)
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    point = cp.Checkpoint(ORIGIN, count, merkle.root(leaves))
    (folder / "checkpoint").write_text(cp.sign_checkpoint(point, signer))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--new", type=int, default=1000, help="entries since the monitor's run")
    args = parser.parse_args()
    signer = note.Signer(ORIGIN, SEED)
    folder = CACHE / f"log-{args.entries}"
    build(folder, args.entries, signer)
    point = cp.parse_body((folder / "checkpoint").read_text().split("\n\n")[0] + "\n")

    def fetch(path: str) -> bytes | None:
        target = folder / path
        return target.read_bytes() if target.is_file() else None

    old_size = args.entries - args.new
    frontier = Frontier.of_leaves(merkle.leaf_hash(_entry(n)) for n in range(old_size))
    seen = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, old_size, frontier.root()), signer)

    audits, baselines, monitors = [], [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        resumed = audit_log(FolderSource(folder), signer.verifier, since=seen, resume=frontier)
        monitors.append(time.perf_counter() - start)
        assert resumed.ok and resumed.entries_read <= args.new + tiles.TILE_WIDTH, resumed.lines()
        start = time.perf_counter()
        report = audit_log(FolderSource(folder), signer.verifier)
        audits.append(time.perf_counter() - start)
        assert report.ok, report.problems[:3]
        start = time.perf_counter()
        assert tiles.verify_tiles(point.size, point.root, fetch, entries=True)
        baselines.append(time.perf_counter() - start)
    audit, baseline = statistics.median(audits), statistics.median(baselines)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"entries: {args.entries:,}; rounds: {args.rounds} (medians)")
    print(
        f"audit (certreg log verify):      {audit:8.1f} s  {args.entries / audit:10,.0f} entries/s"
    )
    rate = args.entries / baseline
    print(f"baseline (tiles and bundles):     {baseline:8.1f} s  {rate:10,.0f} entries/s")
    print(f"ratio audit / baseline:           {audit / baseline:8.2f}")
    monitor = statistics.median(monitors)
    print(
        f"monitor, {args.new:,} new entries:    {monitor * 1000:8.1f} ms "
        f"({audit / monitor:,.0f} times faster than the whole audit)"
    )


if __name__ == "__main__":
    main()
