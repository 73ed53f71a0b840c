"""The public register never silently misses a row (issue 7, attack 5).

A bulk run (``certreg issue --csv``) is killed with SIGKILL at chosen points between the
issuer's commit and the register's push, in a real process; then the next command runs (the
bulk rerun, a read-only command, ``certreg serve`` starting) and register.db must hold exactly
what a rebuild from issuer.db gives, row for row. The kill points are chosen by counting calls
(the n-th batch's push), never by timing.
"""

from __future__ import annotations

import csv
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import free_port as _free_port
from register_support import PASSPHRASE, Body, make_body

from certreg.issuer.cli import main as certreg
from certreg.issuer.register_push import attach, rebuild
from certreg.issuer.service import CertificationBody
from certreg.register import push

ROOT = Path(__file__).resolve().parents[2]
ROWS = 16
BATCH = 4  # four batches: four pushes to kill

# Runs ``certreg ARGS...`` in a fresh process that SIGKILLs itself at the POINT's N-th call.
KILLER = r"""
import os, signal, sys
point, n, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
calls = 0

def maybe_die():
    global calls
    calls += 1
    if calls == n:
        os.kill(os.getpid(), signal.SIGKILL)

import certreg.issuer.bulk as bulk
import certreg.issuer.register_push as rp

if point == "after_commit":  # the batch committed to issuer.db, its push not begun
    real_call = rp.RegisterSync.__call__
    def call(self, kind, *keys):
        if kind == "certification" and not self.body.db.conn.in_transaction:
            maybe_die()
        return real_call(self, kind, *keys)
    rp.RegisterSync.__call__ = call
elif point == "in_push":  # rows written into register.db, its transaction not committed
    real_mark = rp.push.set_applied_seq
    def mark(db, seq):
        maybe_die()
        return real_mark(db, seq)
    rp.push.set_applied_seq = mark
elif point == "in_issuer_tx":  # rows written into issuer.db, not committed
    real_insert = bulk._Writer._insert
    def insert(self, rows, now):
        real_insert(self, rows, now)
        maybe_die()
    bulk._Writer._insert = insert
else:
    raise SystemExit(f"unknown point {point}")

from certreg.issuer.cli import main
main(args, prog_name="certreg")
"""


def env() -> dict[str, str]:
    return {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(ROOT)}


def csv_file(b: Body, path: Path) -> Path:
    """Half directory, half number_lookup (sealed with the slow, keyed derivation)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["external_id", "full_name", "scheme", "scope", "assessed_on", "examiner", "evidence"]
        )
        for i in range(ROWS):
            out.writerow(
                [
                    f"row-{i:03d}",
                    f"Candidate {i}",
                    "ndt" if i % 2 else "cwi",
                    "UT2:steel;VT2",
                    "2026-02-20",
                    b.examiner,
                    f"examination record {i}",
                ]
            )
    return path


def issue_args(b: Body, path: Path) -> list[str]:
    return [
        "issue",
        "--csv",
        str(path),
        "--data",
        str(b.data),
        "--decided-by",
        b.decider,
        "--batch",
        str(BATCH),
        "--workers",
        "0",
    ]


def killed_run(b: Body, path: Path, point: str, n: int) -> None:
    process = subprocess.run(
        [sys.executable, "-c", KILLER, point, str(n), *issue_args(b, path)],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == -9, (process.returncode, process.stderr[-2000:])


# --- what "agree" means ---------------------------------------------------------------------


def contents(path: Path, sealed_numbers: list[str]) -> dict[str, Any]:
    """Every table of a register, lookup rows opened by number; the body row without its push
    time."""
    conn = sqlite3.connect(path)
    out: dict[str, Any] = {}
    for table in (
        "schemes",
        "scope_items",
        "certifications",
        "certification_scope",
        "status_history",
        "issuer_keys",
        "audit_checkpoints",
        "facet_counts",
    ):
        out[table] = sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    out["body"] = conn.execute(
        "SELECT id, legal_name, public_url, did, accreditation_body, accreditation_number, "
        "country FROM body"
    ).fetchall()
    # Sealed records carry random nonces: compared opened, and the index set as it is.
    out["lookup"] = sorted(conn.execute("SELECT number_hash, updated_at FROM lookup").fetchall())
    out["opened"] = {n: push.find_sealed(conn, n) for n in sealed_numbers}
    conn.close()
    return out


def issuer_numbers(data: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(data / "issuer.db")
    found: dict[str, list[str]] = {"cwi": [], "ndt": []}
    for number, scheme in conn.execute("SELECT number, scheme_id FROM certifications"):
        found.setdefault(scheme, []).append(number)
    conn.close()
    return found


def register_holds(register: Path, data: Path) -> tuple[int, int]:
    """(directory certificates, number_lookup certificates) of issuer.db that the register
    shows, each found by its number as the public would."""
    numbers = issuer_numbers(data)
    db = sqlite3.connect(register)
    directory = sum(
        db.execute("SELECT COUNT(*) FROM certifications WHERE number = ?", [n]).fetchone()[0]
        for n in numbers["cwi"]
    )
    sealed = sum(push.find_sealed(db, n) is not None for n in numbers["ndt"])
    db.close()
    return directory, sealed


def assert_agree(b: Body, tmp_path: Path) -> None:
    """register.db is what a rebuild from issuer.db gives, row for row, and its watermark is
    issuer.db's last event."""
    body = CertificationBody.open(b.data)  # no attach: the live register is left alone
    expected = tmp_path / "expected.db"
    rebuild(body, expected)
    numbers = issuer_numbers(b.data)
    assert contents(b.register, numbers["ndt"]) == contents(expected, numbers["ndt"])
    assert register_holds(b.register, b.data) == (len(numbers["cwi"]), len(numbers["ndt"]))
    conn = sqlite3.connect(b.register)
    head = body.db.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    assert push.applied_seq(conn) == head
    conn.close()


def assert_behind(b: Body) -> None:
    """The crash did leave certificates issued in issuer.db that the register does not show
    (what the attack found): without the catch-up, the test's final check would fail."""
    numbers = issuer_numbers(b.data)
    assert register_holds(b.register, b.data) != (len(numbers["cwi"]), len(numbers["ndt"]))


@pytest.fixture
def b(tmp_path: Path) -> Body:
    body = make_body(tmp_path)
    # Up to date (staff were added without a push) before the killed process starts: its
    # pushes are then exactly one per batch.
    body.sync.flush()
    conn = sqlite3.connect(body.register)
    assert (
        push.applied_seq(conn) == body.body.db.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    )
    conn.close()
    return body


# --- the bulk rerun -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "n"),
    [("after_commit", 1), ("after_commit", 2), ("after_commit", 4), ("in_push", 1), ("in_push", 3)],
)
def test_bulk_killed_between_commit_and_push_then_rerun(b, tmp_path, point, n):
    path = csv_file(b, tmp_path / "grants.csv")
    killed_run(b, path, point, n)
    issued = sum(len(v) for v in issuer_numbers(b.data).values())
    assert issued == n * BATCH  # the n-th batch committed, then the process died
    assert_behind(b)

    result = CliRunner(env={"CERTREG_PASSPHRASE": PASSPHRASE}).invoke(
        certreg, issue_args(b, path), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert f"issued {ROWS - issued} " in result.output
    assert f"already issued (skipped) {issued};" in result.output
    assert_agree(b, tmp_path)


def test_bulk_killed_inside_the_issuer_transaction_then_rerun(b, tmp_path):
    path = csv_file(b, tmp_path / "grants.csv")
    killed_run(b, path, "in_issuer_tx", 3)
    assert sum(len(v) for v in issuer_numbers(b.data).values()) == 2 * BATCH  # batch 3 lost
    result = CliRunner(env={"CERTREG_PASSPHRASE": PASSPHRASE}).invoke(
        certreg, issue_args(b, path), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert_agree(b, tmp_path)


# --- any next command -----------------------------------------------------------------------


def test_a_read_only_command_after_the_crash_catches_the_register_up(b, tmp_path):
    path = csv_file(b, tmp_path / "grants.csv")
    killed_run(b, path, "after_commit", 3)
    assert_behind(b)
    result = CliRunner().invoke(certreg, ["scheme", "list", "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    assert_agree(b, tmp_path)


def test_serve_start_catches_the_register_up_before_it_listens(b, tmp_path):
    path = csv_file(b, tmp_path / "grants.csv")
    killed_run(b, path, "in_push", 2)
    assert_behind(b)
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from certreg.issuer.cli import main; main(prog_name='certreg')",
            "serve",
            "--data",
            str(b.data),
            "--port",
            str(port),
            "--passphrase-file",
            str(secret),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:  # waits for the event (listening), not for a duration
            assert server.poll() is None, server.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "certreg serve did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        # Listening means started: the catch-up came before it.
        assert_agree(b, tmp_path)
    finally:
        server.terminate()
        server.communicate(timeout=60)


# --- success is reported only with the register caught up -----------------------------------


def test_the_rerun_fails_in_plain_words_when_the_register_cannot_be_caught_up(
    b, tmp_path, monkeypatch
):
    path = csv_file(b, tmp_path / "grants.csv")
    killed_run(b, path, "after_commit", 2)

    def broken(db: Any, seq: int) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(push, "set_applied_seq", broken)
    result = CliRunner(env={"CERTREG_PASSPHRASE": PASSPHRASE}).invoke(certreg, issue_args(b, path))
    assert result.exit_code == 1, result.output
    assert "could not be brought up to date" in result.output
    assert "Traceback" not in result.output
    monkeypatch.undo()
    # The next command repairs it.
    assert CliRunner().invoke(certreg, ["scheme", "list", "--data", str(b.data)]).exit_code == 0
    assert_agree(b, tmp_path)


def test_two_processes_catching_up_at_once_leave_one_consistent_register(b, tmp_path):
    """The catch-up reads issuer.db inside the register's write transaction: whoever comes
    second reads later and writes later. Here: the same register caught up by two bodies."""
    path = csv_file(b, tmp_path / "grants.csv")
    killed_run(b, path, "after_commit", 2)
    first = CertificationBody.open(b.data)
    second = CertificationBody.open(b.data)
    attach(first)
    attach(second)
    assert_agree(b, tmp_path)


def test_a_running_server_catches_up_what_another_process_left_behind(b, tmp_path):
    """certreg serve's background thread checks the register every minute: a bulk run killed
    in another process is published without waiting for the next command."""
    import threading
    from types import SimpleNamespace

    from certreg.issuer.cli.serve import _refresher

    path = csv_file(b, tmp_path / "grants.csv")
    killed_run(b, path, "after_commit", 1)
    assert_behind(b)
    state = SimpleNamespace(
        lock=threading.Lock(), body=b.body, vc_api_issuer_enabled=False, vc_api_lists=lambda: None
    )
    stop = threading.Event()
    stop.set()  # one round of the loop, then return
    _refresher(state, b.sync, stop)  # type: ignore[arg-type]
    assert_agree(b, tmp_path)
