"""Bulk issuance (issuer.bulk, ``certreg issue --csv``): rows, row errors, idempotency,
a run killed with SIGKILL and resumed, and a bulk run beside another writer.

Real SQLite files and real processes throughout: the crash and the two writers are only
worth testing against the real locking.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import factories
import pytest
from click.testing import CliRunner
from factories import HEADER, PASSPHRASE, add_staff, row, write_csv

from certreg.issuer import audit, bulk
from certreg.issuer.bulk import issue_csv
from certreg.issuer.cli.issue import issue_command
from certreg.issuer.service import CertificationBody, Invalid, NotFound, Refused, ScopeGrant
from certreg.verifier import Verdict, Verifier

ROOT = Path(__file__).resolve().parents[2]


def make_body(folder: Path) -> tuple[CertificationBody, dict[str, str]]:
    body = factories.make_body(folder)
    staff = add_staff(
        body,
        decider=["decision_maker"],
        examiner=["officer", "decision_maker"],
        officer=["officer"],
    )
    return CertificationBody.open(folder, passphrase=PASSPHRASE), staff


@pytest.fixture
def cb(tmp_path):
    return make_body(tmp_path / "cb")


def count(db_path: Path, table: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def verifier_for(body: CertificationBody) -> Verifier:
    lists = {
        body.status_lists.url(list_id): body.status_lists.latest(list_id)
        for (list_id,) in body.db.execute("SELECT id FROM status_lists")
    }
    return Verifier(trusted_issuers={body.info["did"]}, status_fetcher=lists)


def check_consistent(body: CertificationBody, expected: int, sample: int = 25) -> None:
    """Every row issued once, no status index used twice, a sample verifies, audit intact."""
    db = body.db
    assert db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == expected
    assert db.execute("SELECT COUNT(DISTINCT external_id) FROM certifications").fetchone()[0] == (
        expected
    )
    # No half-written row: each certification has its person, assessment, decision, credential.
    for table, column in (("credentials", "certification_id"), ("decisions", "certification_id")):
        found = db.execute(
            f"SELECT COUNT(*) FROM certifications c WHERE (SELECT COUNT(*) FROM {table} t "
            f"WHERE t.{column} = c.id) != 1"
        ).fetchone()[0]
        assert found == 0, table
    assert db.execute("SELECT COUNT(*) FROM persons").fetchone()[0] == expected
    assert db.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == expected
    for purpose in ("revocation", "suspension"):
        used = db.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT {purpose}_list || '#' || {purpose}_index) "
            "FROM credentials"
        ).fetchone()
        assert used[0] == used[1] == expected
        # and every index a credential holds was allocated to that very credential
        mismatched = db.execute(
            f"SELECT COUNT(*) FROM credentials c JOIN status_entries e ON "
            f"e.list_id = c.{purpose}_list AND e.idx = c.{purpose}_index "
            "WHERE e.credential_id != c.id"
        ).fetchone()[0]
        assert mismatched == 0
    verifier = verifier_for(body)
    documents = [json.loads(d) for (d,) in db.execute("SELECT document FROM credentials")]
    for document in random.Random(7).sample(documents, min(sample, len(documents))):
        assert verifier.verify_credential(document).verdict is Verdict.VALID
    report = audit.verify(db)
    assert report.ok, report.problems


def test_every_row_is_issued_once_and_verifies(cb, tmp_path):
    body, staff = cb
    path = write_csv(tmp_path / "g.csv", [row(i, staff["officer"]) for i in range(40)])
    seen = []
    report = issue_csv(
        body,
        path,
        decided_by=staff["decider"],
        workers=2,
        batch=16,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert (report.issued, report.skipped_already_issued, report.errors) == (40, 0, [])
    assert seen[-1] == (40, 40) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    check_consistent(body, 40)
    cert = body.certification(body.issued_for("grant-00001"))
    assert cert.holder_name == "Candidate 1" and cert.status == "ACTIVE"
    assert [(s["code"], s["conditions"]) for s in cert.scope] == [
        ("UT2", "steel, 6-40 mm"),
        ("VT2", None),
    ]
    person = body._person(cert.person_id)
    assert person["email"] == "c1@example.org" and person["consent_publish"] == 0

    again = issue_csv(body, path, decided_by=staff["decider"], workers=0)
    assert (again.issued, again.skipped_already_issued, again.errors) == (0, 40, [])
    check_consistent(body, 40)


def test_a_run_leaves_the_garbage_collector_as_it_found_it(cb, tmp_path):
    """A run inside a long-lived process (the console) must not change its collector: the
    thresholds a run raises and the objects it freezes are restored, also after a failure."""
    body, staff = cb
    path = write_csv(tmp_path / "g.csv", [row(i, staff["officer"]) for i in range(3)])
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    report = issue_csv(body, path, decided_by=staff["decider"], workers=0)
    assert report.issued == 3
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
    with pytest.raises(NotFound):
        issue_csv(body, path, decided_by="nobody", workers=0)
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen


def test_bad_rows_are_reported_by_row_number_and_nothing_of_them_is_written(cb, tmp_path):
    body, staff = cb
    ex = staff["officer"]
    rows = [
        row(0, ex),  # row 2: fine
        row(1, ex, scheme="nope"),  # 3
        row(2, ex, scope="UT2;XX9"),  # 4
        row(3, ex, assessed_on="2025-13-01"),  # 5
        row(4, ex, external_id=""),  # 6
        row(0, ex),  # 7: the external id of row 2 again
        row(6, staff["decider"]),  # 8: the decision-maker examined this candidate
        row(7, "no-such-staff"),  # 9
        row(8, ex, email="not an address"),  # 10
        row(9, ex, scope="VT2;VT2"),  # 11
        ["grant-x", "Too Few Cells"],  # 12
        row(11, ex, full_name="Bad\x07Name"),  # 13
        row(12, ex, assessed_on="2999-01-01"),  # 14
        row(13, ex),  # 15: fine
    ]
    path = write_csv(tmp_path / "g.csv", rows)
    report = issue_csv(body, path, decided_by=staff["decider"], workers=1)
    assert report.issued == 2
    rows_with_errors = [n for n, _ in report.errors]
    assert rows_with_errors == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    messages = dict(report.errors)
    assert "scheme 'nope' does not exist" in messages[3]
    assert "scope item XX9 is not in the catalogue of scheme cwi (it holds" in messages[4]
    assert "YYYY-MM-DD" in messages[5]
    assert "external_id is empty" in messages[6]
    assert "already used by row 2" in messages[7]
    assert "refused" in messages[8] and "9.4" in messages[8]
    assert "not a staff member" in messages[9]
    assert "control character" in messages[13]
    assert "in the future" in messages[14]
    # Nothing of a bad row: two persons, two assessments, two certifications.
    assert count(Path(body_path(body)), "persons") == 2
    assert count(Path(body_path(body)), "assessments") == 2
    # The refused attempt is on the record, as the service logs its refusals.
    refused = audit.events(body.db, kind="decision_refused")
    assert len(refused) == 1 and refused[0].actor == staff["decider"]
    check_consistent(body, 2)


def body_path(body: CertificationBody) -> str:
    return body.db.execute("PRAGMA database_list").fetchone()[2]


def test_a_row_names_an_existing_person_by_person_external_id(cb, tmp_path):
    body, staff = cb
    jane = body.add_person("Jane Doe", external_id="P-17", email="jane@example.org")
    header = [*HEADER, "person_external_id", "consent_publish", "effective_date"]
    future = "2099-01-01"
    rows = [
        [*row(1, staff["officer"], full_name="Jane Doe"), "P-17", "yes", future],
        [*row(2, staff["officer"], full_name="Jane Roe"), "P-17", "", ""],  # wrong name
        # a new person named by key, then the same person again in the same scheme
        [*row(3, staff["officer"], full_name="Ann Lee"), "P-99", "no", ""],
        [*row(4, staff["officer"], full_name="Ann Lee"), "P-99", "", ""],
    ]
    path = write_csv(tmp_path / "g.csv", rows, header)
    report = issue_csv(body, path, decided_by=staff["decider"], workers=0)
    assert report.issued == 2
    messages = dict(report.errors)
    assert "registered as 'Jane Doe', not 'Jane Roe'" in messages[3]
    # The same rule and words as a single grant: the number the run gave Ann Lee's row 4.
    assert f"Ann Lee already holds {body.issued_for('grant-00003')} in this scheme" in messages[5]
    cert = body.certification(body.issued_for("grant-00001"))
    assert cert.person_id == jane and cert.valid_from == future
    ann = body.db.execute("SELECT id, consent_publish FROM persons WHERE external_id = 'P-99'")
    assert ann.fetchone()[1] == 0
    assert body.db.execute("SELECT COUNT(*) FROM persons").fetchone()[0] == 2


def test_a_row_another_writer_took_meanwhile_fails_alone(cb, tmp_path, monkeypatch):
    """Between the plan and the write, another writer registers the person a row creates:
    that row is reported (not written), every other row of its batch is issued, a refused
    row's event is logged once, and the audit chain and the log hold exactly what was written.
    """
    body, staff = cb
    header = [*HEADER, "person_external_id"]
    rows = [[*row(i, staff["officer"]), f"P-{i}"] for i in range(6)]
    rows[4] = [*row(4, staff["decider"]), "P-4"]  # the decider examined: refused, logged
    path = write_csv(tmp_path / "g.csv", rows, header)
    plan = bulk._Planner.plan

    def plan_then_race(self, lines, report):  # type: ignore[no-untyped-def]
        planned = plan(self, lines, report)
        other = CertificationBody.open(Path(body_path(body)).parent)
        other.add_person("Someone Else", external_id="P-2")
        other.db.conn.close()
        return planned

    monkeypatch.setattr(bulk._Planner, "plan", plan_then_race)
    report = issue_csv(body, path, decided_by=staff["decider"], workers=0, batch=10)
    assert report.issued == 4 and report.skipped_already_issued == 0
    assert [(r, m.split(":")[0]) for r, m in report.errors] == [(4, "not written"), (6, "refused")]
    assert "person_external_id meanwhile" in dict(report.errors)[4]
    assert report.error_external_ids[4] == "grant-00002"
    assert sorted(n for _, e, n in report.issued_numbers) == sorted(
        body.issued_for(f"grant-{i:05d}") for i in (0, 1, 3, 5)
    )
    assert body.issued_for("grant-00002") is None
    assert len(audit.events(body.db, kind="decision_refused")) == 1
    assert len(audit.events(body.db, kind="decision_grant")) == 4
    assert body.db.execute("SELECT COUNT(*) FROM tlog_entries").fetchone()[0] == 4
    assert body.db.execute("SELECT COUNT(*) FROM mail_outbox").fetchone()[0] == 4
    assert audit.verify(body.db).ok


def test_a_decision_maker_who_trained_an_existing_person_is_refused(cb, tmp_path):
    body, staff = cb
    jane = body.add_person("Jane Doe", external_id="P-1")
    body.record_training(jane, staff["decider"])
    header = [*HEADER, "person_external_id"]
    path = write_csv(
        tmp_path / "g.csv", [[*row(1, staff["officer"], full_name="Jane Doe"), "P-1"]], header
    )
    report = issue_csv(body, path, decided_by=staff["decider"], workers=0)
    assert report.issued == 0 and "trained this candidate" in report.errors[0][1]
    assert audit.events(body.db, kind="decision_refused")[-1].subject == jane


def test_run_level_problems_raise_before_anything_is_written(cb, tmp_path):
    body, staff = cb
    good = write_csv(tmp_path / "g.csv", [row(1, staff["officer"])])
    with pytest.raises(Refused, match="not a decision-maker"):
        issue_csv(body, good, decided_by=staff["officer"])
    with pytest.raises(NotFound, match="no staff member"):
        issue_csv(body, good, decided_by="nobody")
    bad = write_csv(tmp_path / "h.csv", [], ["external_id", "name", "colour"])
    with pytest.raises(Invalid, match=r"missing columns .*unknown columns \['name', 'colour'\]"):
        issue_csv(body, bad, decided_by=staff["decider"])
    with pytest.raises(NotFound):
        issue_csv(body, tmp_path / "missing.csv", decided_by=staff["decider"])
    (tmp_path / "latin1.csv").write_bytes(",".join(HEADER).encode() + b"\nx,Ren\xe9\n")
    with pytest.raises(Invalid, match="not UTF-8"):
        issue_csv(body, tmp_path / "latin1.csv", decided_by=staff["decider"])
    assert body.db.execute("SELECT COUNT(*) FROM persons").fetchone()[0] == 0


def test_bulk_writes_what_the_service_writes(cb, tmp_path):
    """issuer.bulk writes rows itself (for speed): they must equal the service's, column by
    column (which are filled) and event by event (kinds, actors, payload keys)."""
    body, staff = cb
    path = write_csv(tmp_path / "g.csv", [row(1, staff["officer"])])
    issue_csv(body, path, decided_by=staff["decider"], workers=0)
    by_bulk = body.issued_for("grant-00001")

    mark = body.db.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    person = body.add_person("Candidate 2", email="c2@example.org", actor=staff["decider"])
    body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on="2025-11-20",
        examiners=[staff["officer"]],
        scope_codes=["UT2", "VT2"],
        actor=staff["decider"],
    )
    by_service = body.grant(
        person,
        "cwi",
        [ScopeGrant("UT2", "steel, 6-40 mm"), ScopeGrant("VT2")],
        decided_by=staff["decider"],
        evidence="examination record 2",
        external_id="grant-00002",
    ).number

    def shape(number: str) -> dict[str, object]:
        db = body.db
        cert = db.execute("SELECT * FROM certifications WHERE number = ?", [number])
        cols = [d[0] for d in cert.description]
        cert_row = dict(zip(cols, cert.fetchone(), strict=True))
        out: dict[str, object] = {"certifications": {k for k, v in cert_row.items() if v is None}}
        for table, key, value in (
            ("credentials", "certification_id", cert_row["id"]),
            ("decisions", "certification_id", cert_row["id"]),
            ("certification_scope", "certification_id", cert_row["id"]),
            ("persons", "id", cert_row["person_id"]),
            ("assessments", "person_id", cert_row["person_id"]),
            ("involvements", "person_id", cert_row["person_id"]),
        ):
            found = db.execute(f"SELECT * FROM {table} WHERE {key} = ?", [value])
            names = [d[0] for d in found.description]
            rows = [dict(zip(names, r, strict=True)) for r in found.fetchall()]
            out[table] = sorted(
                tuple(sorted((k, type(v).__name__) for k, v in r.items())) for r in rows
            )
        document = json.loads(
            db.execute(
                "SELECT document FROM credentials WHERE certification_id = ?", [cert_row["id"]]
            ).fetchone()[0]
        )
        out["credential keys"] = sorted(document) + sorted(document["credentialSubject"])
        return out

    assert shape(by_bulk) == shape(by_service)
    service_events = [e for e in audit.events(body.db) if e.seq > mark]
    bulk_events = [e for e in audit.events(body.db) if e.seq <= mark][-4:]
    assert [(e.kind, e.actor is None, sorted(e.payload)) for e in bulk_events] == [
        (e.kind, e.actor is None, sorted(e.payload)) for e in service_events
    ]
    assert bulk_events[2].payload["details"] == {
        "number": by_bulk,
        "scope": [
            {"code": "UT2", "conditions": "steel, 6-40 mm"},
            {"code": "VT2", "conditions": None},
        ],
    }


def test_the_command_reports_rows_and_exit_status(cb, tmp_path):
    body, staff = cb
    data = Path(body_path(body)).parent
    rows = [row(1, staff["officer"]), row(2, staff["officer"], scheme="nope")]
    path = write_csv(tmp_path / "g.csv", rows)
    errors = tmp_path / "errors.csv"
    args = ["--csv", str(path), "--data", str(data), "--decided-by", staff["decider"]]
    args += ["--workers", "1", "--errors-file", str(errors)]
    runner = CliRunner(env={"CERTREG_PASSPHRASE": PASSPHRASE})
    result = runner.invoke(issue_command, args)
    assert result.exit_code == 1, result.output
    assert "issued 1" in result.output and "row 3: scheme 'nope' does not exist" in result.output
    assert list(csv.reader(errors.open()))[1][0] == "3"
    result = runner.invoke(issue_command, [*args[:-2]])
    assert result.exit_code == 1 and "already issued (skipped) 1" in result.output
    result = runner.invoke(issue_command, [*args[:5], "nobody"])
    assert result.exit_code == 1 and "no staff member" in result.output


# --------------------------------------------------------------------------------------------
# A run killed with SIGKILL, then resumed; two writers at once.

RUN_CLI = "from certreg.issuer.cli.issue import issue_command; issue_command()"


def cli_process(data: Path, path: Path, decider: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "CERTREG_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(ROOT)}
    args = ["--csv", str(path), "--data", str(data), "--decided-by", decider, *extra]
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the workers")
def test_kill_9_in_the_middle_then_run_again_issues_every_row_exactly_once(tmp_path):
    body, staff = make_body(tmp_path / "cb")
    rows = 3000
    path = write_csv(tmp_path / "g.csv", [row(i, staff["officer"]) for i in range(rows)])
    db_path = tmp_path / "cb" / "issuer.db"
    process = cli_process(tmp_path / "cb", path, staff["decider"], "--batch", "100")
    deadline = time.monotonic() + 120
    while count(db_path, "certifications") < 400:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    workers = children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    partial = count(db_path, "certifications")
    assert 400 <= partial < rows  # killed in the middle
    # The workers notice their parent is gone and leave.
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() and "Z" not in _state(w) for w in workers):
        assert time.monotonic() < deadline, "signing workers outlived the killed run"
        time.sleep(0.1)

    process = cli_process(tmp_path / "cb", path, staff["decider"], "--batch", "100")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert f"issued {rows - partial} " in out and f"skipped) {partial};" in out
    body = CertificationBody.open(tmp_path / "cb")
    check_consistent(body, rows, sample=30)
    # Indices reserved by the killed run are held by no credential, and never handed out again
    # (the primary key of status_entries): allocated >= used, and used indices are distinct.
    allocated = body.db.execute("SELECT COUNT(*) FROM status_entries").fetchone()[0]
    assert allocated >= rows  # one status entry per certificate (the default message form)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_a_bulk_run_and_another_writer_both_succeed(tmp_path):
    body, staff = make_body(tmp_path / "cb")
    rows = 1500
    path = write_csv(tmp_path / "g.csv", [row(i, staff["officer"]) for i in range(rows)])
    # A certification granted beforehand, which the other writer suspends and reinstates.
    jane = body.add_person("Jane Doe")
    body.record_assessment(
        jane, "cwi", result="pass", assessed_on="2025-11-20", examiners=[staff["officer"]]
    )
    number = body.grant(
        jane, "cwi", [ScopeGrant("VT2")], decided_by=staff["decider"], evidence="exam"
    ).number
    process = cli_process(tmp_path / "cb", path, staff["decider"], "--batch", "100")
    db_path = tmp_path / "cb" / "issuer.db"
    while count(db_path, "certifications") < 50:
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    # Decisions from this process while the bulk run writes: each waits for the write lock.
    other = CertificationBody.open(tmp_path / "cb", passphrase=PASSPHRASE)
    decisions = 0
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    while process.poll() is None or decisions < 6:
        other.suspend(
            number, decided_by=staff["decider"], reason="surveillance audit missed", until=until
        )
        other.reinstate(number, decided_by=staff["decider"], reason="audit passed")
        other.add_person(f"Walk-in {decisions}")
        decisions += 3
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert f"issued {rows} " in out
    assert decisions >= 6
    assert other.certification(number).status == "ACTIVE"
    issued = body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0]
    assert issued == rows + 1
    assert audit.verify(body.db).ok
    suspensions = body.db.execute("SELECT COUNT(*) FROM decisions WHERE type = 'suspend'")
    assert suspensions.fetchone()[0] == decisions // 3


def test_the_documented_example_file_issues(cb, tmp_path):
    body, staff = cb
    text = (ROOT / "docs" / "examples" / "grants.csv").read_text(encoding="utf-8")
    path = tmp_path / "grants.csv"
    path.write_text(text.replace("EXAMINER_STAFF_ID", staff["officer"]), encoding="utf-8")
    report = issue_csv(body, path, decided_by=staff["decider"], workers=0)
    assert (report.issued, report.errors) == (3, [])
    zoe = body.certification(body.issued_for("2026-03-cwi-0003"))
    assert zoe.holder_name == "Zoë Ångström"
    assert zoe.scope[0]["conditions"] == "limited to plate"


def test_two_runs_of_the_same_file_at_once_issue_each_row_once(tmp_path):
    body, staff = make_body(tmp_path / "cb")
    rows = 1000
    header = [*HEADER, "person_external_id"]
    lines = [[*row(i, staff["officer"]), f"P-{i}"] for i in range(rows)]
    path = write_csv(tmp_path / "g.csv", lines, header)
    runs = [
        cli_process(tmp_path / "cb", path, staff["decider"], "--batch", "50", "--workers", "1")
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    issued = [int(out.split("issued ")[1].split()[0]) for out, _ in outputs]
    assert sum(issued) == rows
    check_consistent(body, rows, sample=10)


def test_the_language_column_is_the_new_person_s_mail_language_and_a_bad_one_is_refused(
    cb, tmp_path
):
    body, staff = cb
    header = [*HEADER, "language"]
    rows = [
        [*row(1, staff["officer"]), "de"],
        [*row(2, staff["officer"]), "Klingon"],
        [*row(3, staff["officer"]), ""],
        [*row(4, staff["officer"]), "ES"],
    ]
    path = write_csv(tmp_path / "languages.csv", rows, header)
    report = issue_csv(body, path, decided_by=staff["decider"], workers=0)
    assert report.issued == 3
    ((line, reason),) = report.errors
    assert line == 3  # the second data row, after the header
    assert "language must be one of en, de, fr, es, not 'klingon'" in reason
    languages = dict(body.db.execute("SELECT full_name, language FROM persons").fetchall())
    assert languages == {"Candidate 1": "de", "Candidate 3": None, "Candidate 4": "es"}


def test_the_default_batch_grows_with_the_file_within_bounds() -> None:
    # A small file starts signing after a small first batch; a big one writes batches of
    # 1,000, whose commits write fewer pages per row; no file holds the write lock longer.
    assert bulk.default_batch(1) == bulk.MIN_BATCH == 200
    assert bulk.default_batch(5_000) == 200
    assert bulk.default_batch(12_500) == 500
    assert bulk.default_batch(50_000) == bulk.MAX_BATCH == 1_000
    assert bulk.default_batch(10_000_000) == 1_000


def test_progress_follows_the_default_batches(tmp_path: Path, cb) -> None:
    body, staff = cb
    path = tmp_path / "grants.csv"
    write_csv(path, [row(i, staff["examiner"]) for i in range(450)])
    seen: list[int] = []
    report = issue_csv(
        body, path, decided_by=staff["decider"], workers=0, progress=lambda d, t: seen.append(d)
    )
    assert report.issued == 450 and report.ok
    assert seen == [200, 400, 450]
