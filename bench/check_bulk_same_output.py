"""Bulk issuance writes the same bytes as another checkout: a check for a speed-up.

    .venv/bin/python bench/check_bulk_same_output.py [--rows 600] > ours.txt
    /work/main/.venv/bin/python bench/check_bulk_same_output.py [--rows 600] > theirs.txt
    diff ours.txt theirs.txt

Runs ``issue_csv`` (signing in this process) on a copy of bench/.cache/body-0-schema17 with
every source of chance made repeatable: the clock is fixed, and the operating system's random
bytes (ids, numbers, status indices) come from a seeded generator. Prints one SHA-256 per
table of issuer.db over its rows in order (and the rows' count): two checkouts that write the
same thing print the same lines.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_issue import CACHE, PASSPHRASE, write_csv

NOW = datetime(2026, 3, 2, 10, 30, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    from certreg.issuer import bulk
    from certreg.issuer.service import CertificationBody
    from certreg.verifier import dataintegrity

    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        folder = Path(tmp) / "body"
        shutil.copytree(CACHE / "body-0-schema17", folder)
        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        grants = folder / "grants.csv"
        write_csv(grants, args.rows, ids["examiner"], "s")
        body = CertificationBody.open(folder / "cb", passphrase=PASSPHRASE, clock=lambda: NOW)
        body.signer  # noqa: B018 -- unlocked before chance is made repeatable
        seeded = random.Random(17)
        os.urandom = seeded.randbytes  # type: ignore[assignment]
        random._urandom = seeded.randbytes  # type: ignore[attr-defined]
        dataintegrity._now = lambda: "2026-03-02T10:30:00Z"  # type: ignore[attr-defined]
        report = bulk.issue_csv(
            body, grants, decided_by=ids["decider"], workers=0, batch=args.batch
        )
        assert report.issued == args.rows and not report.errors, report.errors[:3]
        body.db.conn.close()
        conn = sqlite3.connect(folder / "cb" / "issuer.db")
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for table in tables:
            # Sorted: some tables have no rowid; what matters is what they hold.
            rows = sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
            digest = hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()
            print(f"{table:<28} {len(rows):>6} {digest}")
        conn.close()


if __name__ == "__main__":
    main()
