"""The transparency log's entries, written with every decision (issuer.logwriter, issue 13):
exactly one entry per decision, in the decision's own transaction, none for a failed decision
or for anything that is not a decision; decisions taken before the log are appended by the
migration, in audit order."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from factories import CWI_SCHEME, Clock, add_staff, make_body, undo_migrations_after

from certreg.issuer import db as issuer_db
from certreg.issuer.logwriter import issued_hash
from certreg.issuer.service import CertificationBody, Refused, ScopeGrant
from certreg.verifier.tlog.entry import SIGNING_KINDS, credential_hash, parse_entry
from certreg.verifier.tlog.merkle import leaf_hash


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cb(tmp_path, clock):
    body = make_body(tmp_path / "cb", clock=clock)
    body.add_scheme("nde", **(CWI_SCHEME | {"code": "NDE", "publication_policy": "number_lookup"}))
    staff = add_staff(body, examiner=["officer"], decider=["decision_maker"])
    return body, staff


def candidate(body: CertificationBody, staff: dict[str, str], name: str, scheme: str = "cwi"):
    person = body.add_person(name, email=f"{name.split()[0].lower()}@example.org")
    body.record_assessment(
        person,
        scheme,
        result="pass",
        assessed_on="2026-02-20",
        examiners=[staff["examiner"]],
        scope_codes=["UT2", "VT2"],
    )
    return person


def entries(body: CertificationBody) -> list[tuple[int, dict, int]]:
    """(index, entry as JSON, audit event seq) of every entry, in index order, each checked
    to be well formed and to hash to its stored leaf."""
    out = []
    for idx, data, leaf, seq in body.db.execute(
        "SELECT idx, entry, leaf_hash, event_seq FROM tlog_entries ORDER BY idx"
    ):
        assert leaf_hash(bytes(data)) == bytes(leaf)
        out.append((idx, parse_entry(bytes(data)).to_json(), seq))
    return out


def decision_events(body: CertificationBody) -> list[tuple[int, str, str]]:
    return [
        (seq, kind, digest)
        for seq, kind, digest in body.db.execute(
            "SELECT seq, kind, hash FROM events WHERE kind LIKE 'decision_%' "
            "AND kind != 'decision_refused' ORDER BY seq"
        )
    ]


def credential_hashes(body: CertificationBody, number: str) -> list[str]:
    return [credential_hash(c["document"]) for c in _credentials(body, number)]


def _credentials(body: CertificationBody, number: str) -> list[dict]:
    return [
        {"document": json.loads(doc)}
        for (doc,) in body.db.execute(
            "SELECT cr.document FROM credentials cr JOIN certifications c "
            "ON c.id = cr.certification_id WHERE c.number = ? ORDER BY cr.revision",
            [number],
        )
    ]


def test_every_decision_kind_gives_exactly_its_entry(cb, clock):
    body, staff = cb
    decider = staff["decider"]
    jane = candidate(body, staff, "Jane Doe")
    cert = body.grant(jane, "cwi", [ScopeGrant("VT2")], decided_by=decider, evidence="exam")
    n = cert.number
    body.suspend(n, decided_by=decider, reason="complaint", until="2026-05-01")
    body.reinstate(n, decided_by=decider, reason="cleared")
    body.extend_scope(n, decided_by=decider, add=[ScopeGrant("UT2")], evidence="exam 2")
    body.reduce_scope(n, decided_by=decider, remove=["UT2"], reason="no longer practising")
    body.correct(n, decided_by=decider, reason="misspelt", holder_name="Jane Do")
    clock.now = datetime(2028, 11, 1, 9, 0, tzinfo=UTC)
    body.recertify(n, decided_by=decider, evidence="renewal exam")
    clock.now = datetime(2032, 3, 2, 0, 1, tzinfo=UTC)
    assert body.expire_due() == [n]
    john = candidate(body, staff, "John Roe")
    other = body.grant(john, "cwi", [ScopeGrant("VT2")], decided_by=decider, evidence="exam")
    body.withdraw(other.number, decided_by=decider, reason="fraud")

    logged = entries(body)
    kinds = [e["kind"] for _, e, _ in logged]
    assert kinds == [
        "grant", "suspend", "reinstate", "extend_scope", "reduce_scope", "correct",
        "recertify", "expire", "grant", "withdraw",
    ]  # fmt: skip
    assert [idx for idx, _, _ in logged] == list(range(len(logged)))
    # One entry per decision event, in audit order, each naming its event by hash.
    events = decision_events(body)
    assert [seq for _, _, seq in logged] == [seq for seq, _, _ in events]
    assert [e["event"] for _, e, _ in logged] == [digest for _, _, digest in events]
    assert [f"decision_{e['kind']}" for _, e, _ in logged] == [kind for _, kind, _ in events]
    # cert: the first credential's hash, on every entry of the certification; credential: the
    # one each signing decision signed, in order; nothing for the others.
    signed = credential_hashes(body, n)
    jane_entries = [e for _, e, _ in logged[:8]]
    assert {e["cert"] for e in jane_entries} == {signed[0]}
    assert [e["credential"] for e in jane_entries if e["kind"] in SIGNING_KINDS] == signed
    assert all("credential" not in e for e in jane_entries if e["kind"] not in SIGNING_KINDS)
    # Each signing entry carries the scope codes and the expiry in force after it (what its
    # credential states); the others carry neither.
    signing = [e for e in jane_entries if e["kind"] in SIGNING_KINDS]
    assert [e["scope"] for e in signing] == [["VT2"], ["UT2", "VT2"], ["VT2"], ["VT2"], ["VT2"]]
    first_until = signing[0]["until"]
    assert {e["until"] for e in signing[:4]} == {first_until}
    assert signing[4]["until"] == body.certification(n).valid_until > first_until
    assert all("scope" not in e and "until" not in e for e in jane_entries if e not in signing)
    # The CWI scheme publishes its directory: its numbers are public, so in the entries.
    assert {e["number"] for e in jane_entries} == {n}
    assert {e["scheme"] for e in jane_entries} == {"cwi"}
    # Nothing private: no name, no reason.
    text = b"".join(bytes(d) for (d,) in body.db.execute("SELECT entry FROM tlog_entries"))
    for private in (b"Jane", b"complaint", b"fraud", b"misspelt", b"jane@"):
        assert private not in text


def test_a_number_lookup_schemes_entries_carry_no_number(cb):
    body, staff = cb
    jane = candidate(body, staff, "Jane Doe", scheme="nde")
    cert = body.grant(jane, "nde", [ScopeGrant("VT2")], decided_by=staff["decider"], evidence="x")
    [(_, entry, _)] = entries(body)
    assert entry["scheme"] == "nde" and "number" not in entry
    assert cert.number.encode() not in bytes(
        body.db.execute("SELECT entry FROM tlog_entries").fetchone()[0]
    )


def test_a_refused_or_failed_decision_leaves_no_entry(cb):
    body, staff = cb
    jane = candidate(body, staff, "Jane Doe")
    # Refused before anything is written: the examiner may not decide on their candidate.
    with pytest.raises(Refused):
        body.grant(jane, "cwi", [ScopeGrant("VT2")], decided_by=staff["examiner"], evidence="x")
    assert entries(body) == []
    cert = body.grant(jane, "cwi", [ScopeGrant("VT2")], decided_by=staff["decider"], evidence="x")
    assert len(entries(body)) == 1
    # A decision that fails inside its transaction, after its event and entry were written:
    # both roll back with it.
    original = body._set_bits

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    body._set_bits = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        body.suspend(cert.number, decided_by=staff["decider"], reason="r", until="2026-05-01")
    body._set_bits = original  # type: ignore[method-assign]
    assert len(entries(body)) == 1
    assert body.certification(cert.number).status == "ACTIVE"
    body.suspend(cert.number, decided_by=staff["decider"], reason="r", until="2026-05-01")
    assert [e["kind"] for _, e, _ in entries(body)] == ["grant", "suspend"]


def test_other_events_write_no_entry(cb):
    body, staff = cb
    before = body.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    candidate(body, staff, "Jane Doe")  # a person, an assessment: no decision
    body.add_staff("Sam Staff", roles=["officer"])
    after = body.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert after > before
    assert entries(body) == []


def test_an_event_is_never_logged_twice(cb):
    body, staff = cb
    jane = candidate(body, staff, "Jane Doe")
    body.grant(jane, "cwi", [ScopeGrant("VT2")], decided_by=staff["decider"], evidence="x")
    [(_, _, seq)] = entries(body)
    with pytest.raises(sqlite3.IntegrityError):
        body.db.execute(
            "INSERT INTO tlog_entries (idx, entry, leaf_hash, event_seq, at) "
            "VALUES (1, x'00', x'00', ?, '')",
            [seq],
        )
    # And entries are immutable, like the audit chain.
    with pytest.raises(sqlite3.IntegrityError):
        body.db.execute("UPDATE tlog_entries SET entry = x'00'")
    with pytest.raises(sqlite3.IntegrityError):
        body.db.execute("DELETE FROM tlog_entries")


def test_bulk_issuance_logs_each_grant_in_its_batch(cb, tmp_path):
    from factories import row, write_csv

    from certreg.issuer.bulk import issue_csv

    body, staff = cb
    path = write_csv(tmp_path / "g.csv", [row(i, staff["examiner"]) for i in range(30)])
    report = issue_csv(body, path, decided_by=staff["decider"], workers=1, batch=7)
    assert report.issued == 30
    logged = entries(body)
    assert [e["kind"] for _, e, _ in logged] == ["grant"] * 30
    assert [seq for _, _, seq in logged] == [seq for seq, _, _ in decision_events(body)]
    for _, entry, _ in logged:
        number = entry["number"]
        assert entry["cert"] == entry["credential"] == credential_hashes(body, number)[0]


def test_the_migration_logs_the_decisions_taken_before_the_log(cb, clock, tmp_path):
    body, staff = cb
    jane = candidate(body, staff, "Jane Doe")
    cert = body.grant(jane, "cwi", [ScopeGrant("VT2")], decided_by=staff["decider"], evidence="x")
    body.extend_scope(
        cert.number, decided_by=staff["decider"], add=[ScopeGrant("UT2")], evidence="exam 2"
    )
    body.suspend(cert.number, decided_by=staff["decider"], reason="r", until="2026-05-01")
    expected = entries(body)
    assert [e["kind"] for _, e, _ in expected] == ["grant", "extend_scope", "suspend"]
    path = tmp_path / "cb" / "issuer.db"
    body.db.conn.close()
    # The database as it was before V15: no log tables, no entries.
    conn = sqlite3.connect(path, isolation_level=None)
    undo_migrations_after(conn, 14)
    conn.execute("DELETE FROM schema_migrations WHERE version > 14")
    conn.close()
    db = issuer_db.connect(path)  # migrates: V15 appends the entries, in audit order
    again = CertificationBody(db, clock=clock)
    assert entries(again) == expected


@pytest.mark.parametrize(
    "document",
    [
        {"b": 1, "a": [True, None, "x"], "é": "ü", "emoji": "🎓", "ctl": '\u001f\n\t"\\'},
        {"big": 2**60, "n": -(2**53) - 1},  # beyond JSON's safe integers: full JCS decides
        {"f": 1.5, "e": 1e21, "z": -0.0},  # floats: full JCS
        {"\ue000": 1, "\U0001f393": 2},  # non-ASCII keys: JCS orders by UTF-16 code units
    ],
)
def test_the_fast_credential_hash_is_credential_hash(document):
    text = json.dumps(document, ensure_ascii=False)
    try:
        expected = credential_hash(document)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017 -- the same refusal as credential_hash
            issued_hash(text)
        return
    assert issued_hash(text) == expected


def test_the_fast_credential_hash_of_real_credentials(cb):
    body, staff = cb
    jane = candidate(body, staff, "Jane Doe")
    body.grant(jane, "cwi", [ScopeGrant("VT2")], decided_by=staff["decider"], evidence="x")
    [(document,)] = body.db.execute("SELECT document FROM credentials").fetchall()
    assert issued_hash(document) == credential_hash(json.loads(document))
