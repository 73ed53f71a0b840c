"""A ``certreg`` process killed with SIGKILL in the middle of a burst of decisions leaves the
transparency log and the database agreeing (issue 13): one entry per decision event, in audit
order, no gap, no duplicate, and a tree consistent with every checkpoint signed before the
kill (signed meanwhile by this process, as ``certreg serve`` would)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import PASSPHRASE, add_staff, make_body, row, write_csv

from certreg.issuer.db import connect
from certreg.issuer.logfiles import LogFiles, ensure_log_key
from certreg.verifier.tlog import merkle
from certreg.verifier.tlog.checkpoint import open_checkpoint
from certreg.verifier.tlog.entry import parse_entry

ROOT = Path(__file__).parent.parent.parent
RUN_CLI = "from certreg.issuer.cli.issue import issue_command; issue_command()"

# A loop of single decisions on the certificates a bulk run made: suspend, reinstate, ...
DECIDE = """
import sys
from certreg.issuer.service import CertificationBody
body = CertificationBody.open(sys.argv[1], passphrase=sys.argv[3])
numbers = [n for (n,) in body.db.execute("SELECT number FROM certifications ORDER BY number")]
for number in numbers:
    body.suspend(number, decided_by=sys.argv[2], reason="burst", until=sys.argv[4])
    body.reinstate(number, decided_by=sys.argv[2], reason="burst")
"""


def count(db_path: Path, sql: str) -> int:
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_9_during_a_burst_of_decisions_leaves_log_and_database_agreeing(tmp_path):
    body = make_body(tmp_path / "cb")
    staff = add_staff(body, examiner=["officer"], decider=["decision_maker"])
    data = tmp_path / "cb"
    db_path = data / "issuer.db"
    signer = ensure_log_key(body.db, data / "keys", PASSPHRASE)
    checkpoints: list[str] = []
    env = {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(ROOT)}

    def sign_checkpoints_until(process: subprocess.Popen, sql: str, at_least: int) -> None:
        files = LogFiles(connect(db_path), lambda: signer, interval=0)
        deadline = time.monotonic() + 120
        while count(db_path, sql) < at_least:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            point = files.checkpoint()
            if point is not None and (not checkpoints or point.note != checkpoints[-1]):
                checkpoints.append(point.note)
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate()

    # 1. A bulk run (batches of 50 grants, each batch one transaction), killed mid-way.
    rows = 2000
    path = write_csv(tmp_path / "g.csv", [row(i, staff["examiner"]) for i in range(rows)])
    bulk = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "--csv", str(path), "--data", str(data),
         "--decided-by", staff["decider"], "--batch", "50", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    sign_checkpoints_until(bulk, "SELECT COUNT(*) FROM certifications", 300)
    granted = count(db_path, "SELECT COUNT(*) FROM certifications")
    assert 300 <= granted < rows  # killed in the middle

    # 2. A loop of single decisions (one transaction each), killed mid-way.
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    loop = subprocess.Popen(
        [sys.executable, "-c", DECIDE, str(data), staff["decider"], PASSPHRASE, until],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    sql = "SELECT COUNT(*) FROM decisions WHERE type != 'grant'"
    sign_checkpoints_until(loop, sql, 60)
    assert 60 <= count(db_path, sql) < 2 * granted

    assert len(checkpoints) >= 2, "no checkpoint was signed during the bursts"
    db = connect(db_path)
    logged = db.execute("SELECT idx, entry, leaf_hash, event_seq FROM tlog_entries ORDER BY idx")
    logged = logged.fetchall()
    events = db.execute(
        "SELECT seq, kind, hash FROM events WHERE kind LIKE 'decision_%' "
        "AND kind != 'decision_refused' ORDER BY seq"
    ).fetchall()
    # Every decision committed has its entry, in audit order; no gap, no duplicate.
    assert [r[0] for r in logged] == list(range(len(logged)))
    assert [r[3] for r in logged] == [e[0] for e in events]
    assert len({bytes(r[1]) for r in logged}) == len(logged)
    entries = [parse_entry(bytes(r[1])) for r in logged]
    assert [e.event for e in entries] == [e[2] for e in events]
    assert [f"decision_{e.kind}" for e in entries] == [e[1] for e in events]
    assert db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == len(entries)
    # The tree is consistent with every checkpoint signed before the kills.
    tree = merkle.Tree([bytes(r[2]) for r in logged])
    for text in checkpoints:
        opened = open_checkpoint(text, signer.verifier)
        assert opened, opened.reason
        point = opened.checkpoint
        assert point.root == tree.root(point.size)
        proof = tree.consistency_proof(point.size)
        assert merkle.verify_consistency(point.size, tree.size, point.root, tree.root(), proof)
