"""The audit chain on real SQLite files with real signatures: an untouched chain verifies, and
every tampering an attacker holding the file could do is found and named."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import rfc8785
from click.testing import CliRunner, Result

from certreg.issuer import audit
from certreg.issuer.audit import (
    GENESIS,
    AuditError,
    append,
    checkpoint,
    event_hash,
    events,
    key_history_lookup,
    verify,
)
from certreg.issuer.cli.audit import audit_group
from certreg.issuer.db import connect, transaction
from certreg.keys import KeyRecord, KeyStore
from certreg.keys.did import did_key_verification_method
from certreg.keys.keypair import KeyPair, PublicKey
from certreg.keys.multikey import decode_public_key
from certreg.verifier.dataintegrity import ProofError
from certreg.verifier.dates import format_datetime

T0 = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)
N = 1000
CHECKPOINT_AT = (500, 1000)
PASS = "correct horse battery staple"


def at(i: int) -> str:
    return format_datetime(T0 + timedelta(seconds=i))


def did_key_signer() -> KeyPair:
    pair = KeyPair.generate()
    return pair.with_verification_method(did_key_verification_method(pair.public_multibase))


SIGNER = did_key_signer()
ISSUER = SIGNER.verification_method.partition("#")[0]
HISTORY = key_history_lookup(
    [KeyRecord(SIGNER.verification_method, SIGNER.public_multibase, at(0))]
)


def did_key_lookup(proof):
    vm = proof["verificationMethod"]
    if not vm.startswith("did:key:") or "#" not in vm:
        raise ProofError(f"not a did:key verification method: {vm}")
    return PublicKey(decode_public_key(vm.split("#", 1)[1]))


def add_event(db, i: int) -> audit.Event:
    return append(
        db,
        "certificate.issued" if i % 7 else "decision.suspend",
        actor=f"staff-{i % 3}",
        subject=f"cert-{i % 50}",
        payload={"number": f"CWI-{i:06d}", "scope": ["VT", "UT"], "n": i, "note": 'é, "ok"'},
        at=at(i),
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 events (checkpoints at 500 and 1,000), built once, copied for each test."""
    path = tmp_path_factory.mktemp("audit") / "issuer.db"
    db = connect(path, create=True)
    for i in range(1, N + 1):
        with transaction(db):
            add_event(db, i)
        if i in CHECKPOINT_AT:
            checkpoint(db, SIGNER, issuer=ISSUER, at=at(i))
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path


@pytest.fixture
def db_path(pristine: Path, tmp_path: Path) -> Path:
    path = tmp_path / "issuer.db"
    shutil.copy(pristine, path)
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator:
    database = connect(db_path)
    yield database
    database.conn.close()


def attacker(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the immutability triggers dropped, as an attacker
    holding the file would have."""
    conn = sqlite3.connect(path)
    for table in ("events", "checkpoints"):
        for action in ("update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    return conn


def tamper(path: Path, *statements: str, params: tuple = ()) -> None:
    """What an attacker holding the file does: plain sqlite3, triggers dropped first."""
    conn = attacker(path)
    for statement in statements:
        conn.execute(statement, params if "?" in statement else ())
    conn.commit()
    conn.close()


def row(path: Path, seq: int) -> tuple:
    conn = sqlite3.connect(path)
    found = conn.execute(
        "SELECT seq, at, kind, actor, subject, payload, prev_hash, hash FROM events WHERE seq = ?",
        (seq,),
    ).fetchone()
    conn.close()
    return found


def problems_of(path: Path, key_lookup=HISTORY) -> list[str]:
    database = connect(path)
    try:
        report = verify(database, key_lookup=key_lookup)
    finally:
        database.conn.close()
    assert report.ok is (not report.problems)
    return report.problems


# --------------------------------------------------------------------------------------------
# The untouched chain


def test_untouched_chain_verifies(db) -> None:
    report = verify(db, key_lookup=HISTORY)
    assert report.ok, report.problems
    assert report.count == N
    assert report.head_hash == events(db, limit=1)[0].hash
    assert report.checkpoints_checked == 2
    assert report.signatures_checked
    assert report.notes == []
    assert verify(db, key_lookup=did_key_lookup).ok


def test_without_key_lookup_the_report_says_signatures_were_not_checked(db) -> None:
    report = verify(db)
    assert report.ok
    assert not report.signatures_checked
    assert report.notes == [
        "the signatures of the 2 checkpoints were not checked (no key lookup given)"
    ]


def test_each_event_links_to_the_previous_one_from_genesis(db) -> None:
    first, second = (
        audit._event(r) for r in db.conn.execute("SELECT * FROM events WHERE seq <= 2 ORDER BY seq")
    )
    assert first.seq == 1 and first.prev_hash == GENESIS
    assert second.prev_hash == first.hash


@pytest.mark.parametrize(
    "kind, actor, subject",
    [
        ("plain", None, None),
        ('x,"payload":0,"y', "a\\", 'quote " and \\" backslash'),
        ("control \x00\x1f\x7f\u2028", "emoji \U0001f600", "日本語"),
    ],
)
def test_the_hash_is_sha256_of_the_rfc8785_record(tmp_path: Path, kind, actor, subject) -> None:
    """Checked against the rfc8785 reference, so that anyone can recompute it independently."""
    database = connect(tmp_path / "issuer.db", create=True)
    payload = {"z": [1, {"b": None, "a": True}], "\U0001f600": "k", "é": -(2**53 - 1)}
    event = append(database, kind, actor=actor, subject=subject, payload=payload, at=at(1))
    record = {
        "seq": 1,
        "at": at(1),
        "kind": kind,
        "actor": actor,
        "subject": subject,
        "payload": payload,
        "prev_hash": GENESIS,
    }
    assert event.hash == hashlib.sha256(rfc8785.dumps(record)).hexdigest()
    assert event.hash == event_hash(1, at(1), kind, actor, subject, payload, GENESIS)
    stored = database.conn.execute("SELECT payload FROM events").fetchone()[0]
    assert stored.encode() == rfc8785.dumps(payload)
    assert verify(database).ok


# --------------------------------------------------------------------------------------------
# Tampering, each found and named


def test_edited_payload_is_found(db_path: Path) -> None:
    tamper(db_path, """UPDATE events SET payload = '{"number":"FORGED"}' WHERE seq = 17""")
    assert problems_of(db_path) == ["event 17 was edited (its hash does not match its content)"]


def test_edited_columns_other_than_payload_are_found(db_path: Path) -> None:
    tamper(
        db_path,
        "UPDATE events SET actor = 'someone-else' WHERE seq = 30",
        "UPDATE events SET at = '2030-01-01T00:00:00Z' WHERE seq = 31",
        "UPDATE events SET kind = 'nothing.happened' WHERE seq = 40",
        "UPDATE events SET payload = 'not json' WHERE seq = 50",
        "UPDATE events SET subject = NULL WHERE seq = 60",
    )
    assert problems_of(db_path) == [
        "events 30 to 31 were edited (their hashes do not match their content)",
        "event 40 was edited (its hash does not match its content)",
        "event 50 was edited (its hash does not match its content)",
        "event 60 was edited (its hash does not match its content)",
    ]


def test_a_run_of_edited_rows_is_one_problem(db_path: Path) -> None:
    tamper(db_path, """UPDATE events SET payload = '{}' WHERE seq BETWEEN 100 AND 199""")
    assert problems_of(db_path) == [
        "events 100 to 199 were edited (their hashes do not match their content)"
    ]


def test_edited_and_rehashed_row_breaks_the_link_to_the_next(db_path: Path) -> None:
    seq, when, kind, actor, subject, _, prev, _ = row(db_path, 17)
    forged = {"number": "FORGED"}
    new_hash = event_hash(seq, when, kind, actor, subject, forged, prev)
    tamper(
        db_path,
        "UPDATE events SET payload = ?, hash = ? WHERE seq = 17",
        params=(json.dumps(forged, separators=(",", ":")), new_hash),
    )
    assert problems_of(db_path) == [
        "event 18 does not follow event 17 (chain broken: reordered or replaced)"
    ]


def test_payload_rewritten_in_non_canonical_form_is_found(db_path: Path) -> None:
    payload = json.loads(row(db_path, 5)[5])
    tamper(
        db_path,
        "UPDATE events SET payload = ? WHERE seq = 5",
        params=(json.dumps(payload, indent=1),),
    )
    assert problems_of(db_path) == [
        "event 5's payload is not stored in the canonical form certreg writes "
        "(the file was edited outside certreg)"
    ]


def test_row_deleted_from_the_middle_is_found(db_path: Path) -> None:
    tamper(db_path, "DELETE FROM events WHERE seq = 18")
    assert problems_of(db_path) == ["event 18 is missing (sequence jumps from 17 to 19)"]


def test_several_rows_deleted_and_the_first_one(db_path: Path) -> None:
    tamper(db_path, "DELETE FROM events WHERE seq = 1 OR seq BETWEEN 200 AND 210")
    assert problems_of(db_path) == [
        "event 1 is missing (the chain starts at event 2)",
        "events 200 to 210 are missing (sequence jumps from 199 to 211)",
    ]


def test_two_rows_swapped_are_found_as_reordered(db_path: Path) -> None:
    a, b = row(db_path, 10), row(db_path, 11)
    swap = (
        "UPDATE events SET at = ?, kind = ?, actor = ?, subject = ?, payload = ?, "
        "prev_hash = ?, hash = ? WHERE seq = ?"
    )
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET hash = 'temporary' WHERE seq = 11")  # hash is UNIQUE
    conn.execute(swap, (*b[1:], 10))
    conn.execute(swap, (*a[1:], 11))
    conn.commit()
    conn.close()
    assert problems_of(db_path) == [
        "event 10 holds what was event 11 "
        "(rows reordered, or rows inserted or deleted and the rest renumbered)",
        "event 11 holds what was event 10 "
        "(rows reordered, or rows inserted or deleted and the rest renumbered)",
    ]


def test_row_inserted_in_the_middle_is_found(db_path: Path) -> None:
    """The attacker renumbers the rows after the insertion point and forges a well-linked
    row: the shifted rows no longer fit their positions, and both checkpoints disagree."""
    prev = row(db_path, 399)[7]
    payload = {"number": "CWI-FORGED"}
    forged = event_hash(400, at(400), "certificate.issued", "staff-1", "cert-x", payload, prev)
    tamper(
        db_path,
        "UPDATE events SET seq = seq + 1000000 WHERE seq >= 400",
        "UPDATE events SET seq = seq - 999999 WHERE seq >= 1000000",
        "INSERT INTO events VALUES (400, ?, 'certificate.issued', 'staff-1', 'cert-x', ?, ?, ?)",
        params=(at(400), json.dumps(payload, separators=(",", ":")), prev, forged),
    )
    found = problems_of(db_path)
    assert found[0] == (
        "events 401 to 1001 hold what were events 400 to 1000 "
        "(rows reordered, or rows inserted before them and the rest renumbered)"
    )
    assert found[1].startswith("checkpoint 1 names head hash ")
    assert found[1].endswith(
        "but event 500 has " + row(db_path, 500)[7][:16] + "… "
        "(the chain was rewritten after the checkpoint was signed)"
    )
    assert found[2].startswith("checkpoint 2 names head hash ")
    assert len(found) == 3


def test_row_inserted_at_the_end_without_the_chain_is_found(db_path: Path) -> None:
    # INSERT is not blocked by the triggers: the chain itself must refuse a forged row.
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO events VALUES (1001, ?, 'certificate.issued', 'x', 'y', '{}', ?, ?)",
        (at(1001), "f" * 64, "e" * 64),
    )
    conn.commit()
    conn.close()
    assert problems_of(db_path) == [
        "event 1001 was edited (its hash does not match its content)",
        "event 1001 does not follow event 1000 (chain broken: reordered or replaced)",
    ]


def test_tail_truncated_after_a_checkpoint_is_found(db_path: Path) -> None:
    tamper(db_path, "DELETE FROM events WHERE seq > 950")
    assert problems_of(db_path) == [
        "the chain ends at event 950 but checkpoint 2 was signed at event 1000 "
        "(events deleted from the end)"
    ]


def test_chain_rebuilt_from_a_row_to_the_end_is_caught_by_the_checkpoint(db_path: Path) -> None:
    """An attacker who knows the algorithm rewrites row 700 and recomputes every later hash:
    the chain is consistent again, but it no longer ends where the signed checkpoint says."""
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER events_no_update")
    rows = conn.execute("SELECT * FROM events WHERE seq >= 700 ORDER BY seq").fetchall()
    prev = conn.execute("SELECT hash FROM events WHERE seq = 699").fetchone()[0]
    conn.execute("UPDATE events SET hash = 'old-' || hash WHERE seq >= 700")
    for seq, when, kind, actor, subject, payload, _, _ in rows:
        body = json.loads(payload)
        if seq == 700:
            body["number"] = "CWI-FORGED"
        new = event_hash(seq, when, kind, actor, subject, body, prev)
        conn.execute(
            "UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (rfc8785.dumps(body).decode(), prev, new, seq),
        )
        prev = new
    conn.commit()
    conn.close()
    found = problems_of(db_path)
    assert len(found) == 1
    assert found[0].startswith("checkpoint 2 names head hash ")
    assert "but event 1000 has " + prev[:16] in found[0]


def test_checkpoint_signature_altered_is_found(db_path: Path) -> None:
    conn = attacker(db_path)
    doc = json.loads(conn.execute("SELECT signed FROM checkpoints WHERE seq = 1000").fetchone()[0])
    value = doc["proof"]["proofValue"]
    doc["proof"]["proofValue"] = value[:-3] + ("1" if value[-3] != "1" else "2") + value[-2:]
    conn.execute("UPDATE checkpoints SET signed = ? WHERE seq = 1000", (json.dumps(doc),))
    conn.commit()
    conn.close()
    found = problems_of(db_path)
    assert len(found) == 1
    assert found[0].startswith("checkpoint 2's signature does not verify (")
    # Without a key lookup the head hash is still checked, the signature is not.
    assert problems_of(db_path, key_lookup=None) == []


def test_checkpoint_moved_to_a_rewritten_head_does_not_verify(db_path: Path) -> None:
    """Rewriting the checkpoint's head hash (columns and document) breaks its signature."""
    conn = attacker(db_path)
    doc = json.loads(conn.execute("SELECT signed FROM checkpoints WHERE seq = 500").fetchone()[0])
    doc["headHash"] = "a" * 64
    conn.execute(
        "UPDATE checkpoints SET signed = ?, head_hash = ? WHERE seq = 500",
        (json.dumps(doc), "a" * 64),
    )
    conn.commit()
    conn.close()
    found = problems_of(db_path)
    assert found[0].startswith("checkpoint 1's signature does not verify (the signature does not")
    assert found[1] == (
        f"checkpoint 1 names head hash {'a' * 16}… but event 500 has {row(db_path, 500)[7][:16]}… "
        "(the chain was rewritten after the checkpoint was signed)"
    )


def test_checkpoint_signed_by_a_key_not_in_the_history_does_not_verify(db_path: Path) -> None:
    stranger = did_key_signer()
    database = connect(db_path)
    tamper(db_path, "DELETE FROM checkpoints WHERE seq = 1000")
    checkpoint(
        database, stranger, issuer=stranger.verification_method.partition("#")[0], at=at(2000)
    )
    database.conn.close()
    found = problems_of(db_path)
    assert found == [
        f"checkpoint 2's signature does not verify ('{stranger.verification_method}' "
        "is not one of the body's keys)"
    ]


def test_checkpoint_columns_that_disagree_with_the_signed_document(db_path: Path) -> None:
    tamper(db_path, "UPDATE checkpoints SET count = 999 WHERE seq = 1000")
    found = problems_of(db_path)
    assert found == [
        f"checkpoint 2's table columns (event 1000, count 999, head hash "
        f"{row(db_path, 1000)[7][:16]}…) do not match its signed document (event 1000, "
        f"count 1000, head hash {row(db_path, 1000)[7][:16]}…)"
    ]


def test_problems_are_capped(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tamper(db_path, "DELETE FROM events WHERE seq % 2 = 0 AND seq < 500")
    monkeypatch.setattr(audit, "MAX_PROBLEMS", 3)
    found = problems_of(db_path)
    assert len(found) == 4
    assert found[-1] == "… and 246 more problems not listed"


# --------------------------------------------------------------------------------------------
# What SQLite itself refuses, and concurrent writers


def test_triggers_refuse_update_and_delete(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        conn.execute("UPDATE events SET payload = '{}' WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        conn.execute("DELETE FROM events WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        conn.execute("DELETE FROM events")
    conn.close()
    assert problems_of(db_path) == []


def test_append_rolls_back_with_the_callers_transaction(db) -> None:
    head = verify(db).head_hash
    with pytest.raises(RuntimeError), transaction(db):
        add_event(db, 5000)
        raise RuntimeError("the lifecycle change failed")
    report = verify(db)
    assert (report.count, report.head_hash) == (N, head)


def test_appends_from_two_connections_make_one_unbroken_chain(tmp_path: Path) -> None:
    path = tmp_path / "issuer.db"
    connect(path, create=True).conn.close()
    per_writer = 150
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(name: str) -> None:
        database = connect(path)
        try:
            start.wait()
            for i in range(per_writer):
                with transaction(database):
                    append(
                        database,
                        "test.write",
                        actor=name,
                        subject=None,
                        payload={"i": i},
                        at=at(i),
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.conn.close()

    threads = [threading.Thread(target=writer, args=(f"writer-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    database = connect(path)
    report = verify(database)
    assert report.ok, report.problems
    assert report.count == 2 * per_writer
    actors = [e.actor for e in events(database, limit=1000)]
    assert actors.count("writer-1") == actors.count("writer-2") == per_writer
    database.conn.close()


def test_verify_streams_the_table(tmp_path: Path) -> None:
    """Memory must not grow with the chain: 1,000,000 events must not load at once."""
    path = tmp_path / "issuer.db"
    database = connect(path, create=True)
    with transaction(database):
        for i in range(1, 5_001):
            add_event(database, i)
    tracemalloc.start()
    try:
        report = verify(database)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok and report.count == 5_000
    # Loaded at once, 5,000 rows take ~3 MB of Python objects; a streaming walk stays flat.
    assert peak < 300_000, peak
    database.conn.close()


# --------------------------------------------------------------------------------------------
# The rest of the API


def test_append_refuses_what_cannot_be_recorded(tmp_path: Path) -> None:
    database = connect(tmp_path / "issuer.db", create=True)
    ok = {"actor": None, "subject": None, "payload": {}, "at": at(1)}
    with pytest.raises(AuditError, match="time"):
        append(database, "k", **{**ok, "at": "yesterday"})
    with pytest.raises(AuditError, match="JSON object"):
        append(database, "k", **{**ok, "payload": [1, 2]})  # type: ignore[arg-type]
    with pytest.raises(AuditError, match="canonical JSON"):
        append(database, "k", **{**ok, "payload": {"x": float("nan")}})
    with pytest.raises(AuditError, match="kind"):
        append(database, "", **ok)
    with pytest.raises(AuditError, match="actor"):
        append(database, "k", **{**ok, "actor": 7})  # type: ignore[arg-type]
    assert verify(database).count == 0
    event = append(database, "k", **ok)
    assert (event.seq, event.prev_hash, event.payload) == (1, GENESIS, {})


def test_events_filters_and_returns_the_latest_oldest_first(db) -> None:
    latest = events(db, limit=3)
    assert [e.seq for e in latest] == [998, 999, 1000]
    of_subject = events(db, subject="cert-7", limit=5)
    assert [e.seq for e in of_subject] == [757, 807, 857, 907, 957]
    assert all(e.subject == "cert-7" for e in of_subject)
    suspensions = events(db, kind="decision.suspend", subject="cert-7")
    assert [e.seq for e in suspensions] == [7, 357, 707]
    assert suspensions[1].payload["number"] == "CWI-000357"
    with pytest.raises(AuditError):
        events(db, limit=0)


def test_checkpoint_document_and_storage(db) -> None:
    add_event(db, 1001)
    signed = checkpoint(db, SIGNER, issuer=ISSUER, at=at(1001))
    assert {k: v for k, v in signed.items() if k != "proof"} == {
        "type": "CertregAuditCheckpoint",
        "issuer": ISSUER,
        "seq": 1001,
        "count": 1001,
        "headHash": events(db, limit=1)[0].hash,
        "at": at(1001),
    }
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert signed["proof"]["created"] == at(1001)
    assert "@context" not in signed
    stored = db.conn.execute("SELECT signed FROM checkpoints WHERE seq = 1001").fetchone()[0]
    assert json.loads(stored) == signed
    # The head has not moved: the same checkpoint comes back, nothing new is stored.
    assert checkpoint(db, SIGNER, issuer=ISSUER, at=at(1002)) == signed
    assert db.conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 3
    report = verify(db, key_lookup=HISTORY)
    assert report.ok and report.checkpoints_checked == 3


def test_checkpoint_refusals(tmp_path: Path, db) -> None:
    empty = connect(tmp_path / "empty.db", create=True)
    with pytest.raises(AuditError, match="empty"):
        checkpoint(empty, SIGNER, issuer=ISSUER, at=at(1))
    with pytest.raises(AuditError, match="does not belong"):
        checkpoint(db, SIGNER, issuer="did:web:other.example", at=at(1))


def test_key_history_refuses_keys_retired_before_the_checkpoint(db) -> None:
    retired = KeyRecord(SIGNER.verification_method, SIGNER.public_multibase, at(0), expires=at(700))
    report = verify(db, key_lookup=key_history_lookup([retired]))
    assert report.problems == [
        f"checkpoint 2's signature does not verify ({SIGNER.verification_method} was "
        f"retired on {at(700)}, before this proof)"
    ]
    compromised = KeyRecord(
        SIGNER.verification_method, SIGNER.public_multibase, at(0), revoked=at(400)
    )
    assert len(verify(db, key_lookup=key_history_lookup([compromised])).problems) == 2


# --------------------------------------------------------------------------------------------
# The command line


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    runner = CliRunner(env={"CERTREG_PASSPHRASE": None, **(env or {})})
    return runner.invoke(audit_group, list(args), catch_exceptions=False)


@pytest.fixture
def data_dir(db_path: Path) -> Path:
    return db_path.parent


def test_cli_verify_intact_chain(data_dir: Path) -> None:
    result = run("verify", "--data", str(data_dir))
    assert result.exit_code == 0, result.output
    assert "The audit chain is intact: 1,000 events, 2 checkpoints (signatures NOT checked)." in (
        result.output
    )
    assert "! the signatures of the 2 checkpoints were not checked" in result.output
    assert f"Head hash: {row(data_dir / 'issuer.db', 1000)[7]}" in result.output


def test_cli_verify_reports_each_problem_and_exits_1(data_dir: Path) -> None:
    tamper(
        data_dir / "issuer.db",
        """UPDATE events SET payload = '{"number":"FORGED"}' WHERE seq = 17""",
        "DELETE FROM events WHERE seq = 18",
    )
    result = run("verify", "--data", str(data_dir))
    assert result.exit_code == 1
    assert "The audit chain has problems (2 found, 999 events read, 2 checkpoints):" in (
        result.output
    )
    assert "  ✗ event 17 was edited (its hash does not match its content)\n" in result.output
    assert "  ✗ event 18 is missing (sequence jumps from 17 to 19)\n" in result.output


def test_cli_verify_without_a_database_exits_2(tmp_path: Path) -> None:
    result = run("verify", "--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "no issuer database" in result.output


@pytest.fixture
def body(tmp_path: Path) -> Path:
    """A data directory as `certreg init` leaves it: issuer.db and keys/ (did:web)."""
    data = tmp_path / "body"
    KeyStore.create(data / "keys", "did:web:cb.example", PASS, kdf="interactive")
    database = connect(data / "issuer.db", create=True)
    for i in range(1, 21):
        add_event(database, i)
    database.conn.close()
    return data


def test_cli_checkpoint_signs_and_verify_checks_the_signature(body: Path, tmp_path: Path) -> None:
    pass_file = tmp_path / "pass.txt"
    pass_file.write_text(PASS + "\n")
    pass_file.chmod(0o600)  # a passphrase file others can read is refused
    result = run("checkpoint", "--data", str(body), "--passphrase-file", str(pass_file))
    assert result.exit_code == 0, result.output
    signed = json.loads(result.stdout)
    assert signed["issuer"] == "did:web:cb.example"
    assert signed["proof"]["verificationMethod"].startswith("did:web:cb.example#")
    assert (signed["seq"], signed["count"]) == (20, 20)
    assert "Checkpoint signed at event 20" in result.stderr

    result = run("verify", "--data", str(body))
    assert result.exit_code == 0, result.output
    assert "20 events, 1 checkpoints (signatures verified)" in result.output

    # The key is rotated: the old checkpoint still verifies with the key history.
    KeyStore(body / "keys").rotate(PASS)
    assert run("verify", "--data", str(body)).exit_code == 0


def test_cli_checkpoint_refuses_a_tampered_chain(body: Path) -> None:
    tamper(body / "issuer.db", "DELETE FROM events WHERE seq = 5")
    result = run("checkpoint", "--data", str(body), env={"CERTREG_PASSPHRASE": PASS})
    assert result.exit_code == 1
    assert "event 5 is missing" in result.output
    assert "Refusing to sign a checkpoint over a chain with problems." in result.stderr
    conn = sqlite3.connect(body / "issuer.db")
    assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0
    conn.close()


def test_cli_checkpoint_with_a_wrong_passphrase_or_no_store_exits_2(
    body: Path, tmp_path: Path
) -> None:
    result = run("checkpoint", "--data", str(body), env={"CERTREG_PASSPHRASE": "wrong" * 4})
    assert result.exit_code == 2
    result = run(
        "checkpoint",
        "--data",
        str(body),
        "--store",
        str(tmp_path / "none"),
        env={"CERTREG_PASSPHRASE": PASS},
    )
    assert result.exit_code == 2
    assert "no key store" in result.output


def test_checkpoints_are_immutable_in_the_database(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        conn.execute("UPDATE checkpoints SET count = 1")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        conn.execute("DELETE FROM checkpoints")
    conn.close()
