"""Issuer status lists: allocation rate and publish time, on a real issuer.db file.

    .venv/bin/python bench/bench_status_alloc.py

- allocation: 10,000 ``allocate`` calls in one transaction (what bulk issuance does), on an
  empty list and on one just below its fill limit (where random draws collide most);
- publish: one 131,072-entry list holding 65,000 allocated entries with 1% of all bits set:
  reading the set bits, encoding, signing (eddsa-rdfc-2022) and storing the version;
- publish_changed when nothing changed (what a decision pays to find out);
- the same two without and with the partial index over set bits (``status_entries_set``,
  schema v2 and later), side by side in the benchmark's own throw-away database.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Runs from a plain checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certreg.issuer.db import connect, transaction
from certreg.issuer.statuslists import FILL_LIMIT, StatusListManager
from certreg.keys.did import did_key_from_public
from certreg.keys.keypair import KeyPair

N = 10_000


def _median_ms(fn: Callable[[], object], runs: int = 41) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _allocate_many(manager: StatusListManager, count: int, tag: str) -> float:
    start = time.perf_counter()
    with transaction(manager.db):
        for i in range(count):
            manager.allocate("revocation", f"urn:uuid:{tag}-{i}")
    return time.perf_counter() - start


def main() -> None:
    pair = KeyPair.generate()
    did = did_key_from_public(pair.public_multibase)
    signer = pair.with_verification_method(f"{did}#{pair.public_multibase}")
    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "issuer.db", create=True)
        manager = StatusListManager(
            db, issuer_did=did, base_url="https://cb.example", signer=signer
        )
        manager.ensure_lists()

        seconds = _allocate_many(manager, N, "a")
        print(f"allocate, empty list:         {N / seconds:>9,.0f} /s  ({N:,} in one transaction)")

        limit = int(manager.entries * FILL_LIMIT)
        _allocate_many(manager, limit - N - 2 * N, "fill")  # leave room for the next run
        seconds = _allocate_many(manager, N, "b")
        print(f"allocate, list 35-50% full:   {N / seconds:>9,.0f} /s")

        seconds = time.perf_counter()
        with transaction(db):
            for i in range(N // 2):
                manager.entries_for(f"urn:uuid:c-{i}")
        seconds = time.perf_counter() - seconds
        print(f"entries_for (2 purposes):     {N / 2 / seconds:>9,.0f} credentials/s")

        # 1% of the whole list set, at random allocated indices.
        with transaction(db):
            db.conn.execute(
                "UPDATE status_entries SET value = 1 WHERE list_id = 'revocation-1' AND idx IN "
                "(SELECT idx FROM status_entries WHERE list_id = 'revocation-1' "
                "ORDER BY random() LIMIT ?)",
                (manager.entries // 100,),
            )
        (allocated,) = db.conn.execute(
            "SELECT count(*) FROM status_entries WHERE list_id = 'revocation-1'"
        ).fetchone()

        def measure(manager: StatusListManager, label: str) -> None:
            def publish() -> None:
                with transaction(db):
                    manager.publish("revocation-1")

            def read_bits() -> None:
                manager._current_bits(manager._list("revocation-1"))

            def changed() -> None:
                with transaction(db):
                    assert manager.publish_changed() == []

            publish()
            size = len(manager.latest("revocation-1")["credentialSubject"]["encodedList"])
            print(f"{label}:")
            print(
                f"  publish (131,072 entries, {allocated:,} allocated, 1% set, encodedList "
                f"{size:,} chars): {_median_ms(publish):.1f} ms"
            )
            print(f"    of which reading the set bits: {_median_ms(read_bits):.2f} ms")
            print(f"  publish_changed, nothing changed (2 lists): {_median_ms(changed):.2f} ms")

        # The partial index came with schema v2 (issuer/db.py): measure without it (as a v1
        # database reads) and with it (today), side by side.
        db.conn.execute("DROP INDEX status_entries_set")
        measure(
            StatusListManager(db, issuer_did=did, base_url="https://cb.example", signer=signer),
            "without the partial index (schema v1)",
        )
        db.conn.execute(
            "CREATE INDEX status_entries_set ON status_entries(list_id, idx) WHERE value != 0"
        )
        measure(
            StatusListManager(db, issuer_did=did, base_url="https://cb.example", signer=signer),
            "with the partial index status_entries_set (schema v2 and later: today)",
        )
        db.close()


if __name__ == "__main__":
    main()
