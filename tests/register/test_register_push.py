"""register.db follows every committed change of the issuer at once, per policy and consent.

A real body on disk (issuer.db, key store) with ``issuer.register_push.attach``; the register
is read back from its own SQLite file after each decision.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from register_support import PASSPHRASE, add_holder, grant, make_body

from certreg.issuer.bulk import issue_csv
from certreg.issuer.cli.register import register_group
from certreg.issuer.register_push import attach, rebuild
from certreg.issuer.service import CertificationBody, ScopeGrant
from certreg.register import push
from certreg.register.credentials import proof_digest
from certreg.register.db import open_register


@pytest.fixture
def b(tmp_path):
    return make_body(tmp_path)


def reg(b) -> sqlite3.Connection:
    conn = sqlite3.connect(b.register)
    conn.row_factory = sqlite3.Row
    return conn


def row(b, number: str) -> dict | None:
    found = reg(b).execute("SELECT * FROM certifications WHERE number = ?", [number]).fetchone()
    return dict(found) if found else None


def scope(b, number: str) -> dict[str, tuple[str, str]]:
    return {
        r["scope_code"]: (r["status"], r["since"])
        for r in reg(b).execute("SELECT * FROM certification_scope WHERE number = ?", [number])
    }


def history(b, number: str) -> list[tuple[str, str]]:
    return [
        (r["decision"], r["status"])
        for r in reg(b).execute(
            "SELECT * FROM status_history WHERE number = ? ORDER BY seq", [number]
        )
    ]


def facets(b) -> dict[tuple[str, str], int]:
    return {
        (r["facet"], r["value"]): r["count"] for r in reg(b).execute("SELECT * FROM facet_counts")
    }


def recount(b) -> dict[tuple[str, str], int]:
    """The facets as a full recount gives them (on a copy)."""
    copy = b.register.with_name("recount.db")
    source = sqlite3.connect(b.register)
    source.execute("VACUUM INTO ?", [str(copy)])
    source.close()
    db = open_register(copy)
    push.refresh_facets(db)
    out = {(r[0], r[1]): r[3] for r in db.conn.execute("SELECT * FROM facet_counts")}
    db.conn.close()
    copy.unlink()
    return out


def test_a_grant_is_in_the_register_at_once_with_body_schemes_and_keys(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, jane)
    r = row(b, number)
    assert r is not None
    assert r["holder_name"] == "Jane Doe"
    assert r["status"] == "ACTIVE"
    assert (r["scheme_id"], r["scheme_code"], r["scheme_name"]) == ("cwi", "CWI", "Scheme CWI")
    assert (r["valid_from"], r["valid_until"]) == ("2026-03-02", "2029-03-01")
    assert r["country"] == "DE"
    assert scope(b, number) == {"UT2": ("active", "2026-03-02"), "VT2": ("active", "2026-03-02")}
    conditions = (
        reg(b)
        .execute("SELECT conditions FROM certification_scope WHERE scope_code = 'UT2'")
        .fetchone()[0]
    )
    assert conditions == "steel, 6-40 mm"
    assert history(b, number) == [("grant", "ACTIVE")]
    conn = reg(b)
    body = dict(conn.execute("SELECT * FROM body").fetchone())
    assert body["legal_name"] == "Example Certification Body"
    assert body["did"] == "did:web:cb.example"
    assert body["accreditation_number"] == "D-ZP-12345"
    schemes = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM schemes")}
    assert set(schemes) == {"cwi", "ndt", "sec"}
    assert schemes["ndt"]["publication_policy"] == "number_lookup"
    assert schemes["cwi"]["appeals"] == "Write to the appeals committee."
    assert conn.execute("SELECT COUNT(*) FROM scope_items").fetchone()[0] == 6
    keys = conn.execute("SELECT id, public_key_multibase FROM issuer_keys").fetchall()
    assert len(keys) == 1 and keys[0][0].startswith("did:web:cb.example#")
    assert (
        conn.execute("SELECT value FROM register_meta WHERE key = 'last_updated'").fetchone()[0]
        == "2026-03-02T09:00:00Z"
    )
    assert facets(b) == {
        ("scheme", "cwi"): 1,
        ("status", "ACTIVE"): 1,
        ("country", "DE"): 1,
        ("scope", "cwi/UT2"): 1,
        ("scope", "cwi/VT2"): 1,
    }


def test_a_directory_holder_without_consent_has_no_name_and_no_country(b):
    ravi = add_holder(b, "ravi", "Ravi Kumar", consent=False, private={"country": "IN"})
    number = grant(b, ravi)
    r = row(b, number)
    assert r["holder_name"] is None and r["country"] is None
    assert r["status"] == "ACTIVE"
    assert ("country", "IN") not in facets(b)


def test_number_lookup_holders_are_sealed_and_on_request_holders_absent(b):
    nina = add_holder(b, "nina", "Nina Number", consent=True, schemes=("ndt", "sec"))
    ndt = grant(b, nina, "ndt")
    sec = grant(b, nina, "sec")
    conn = reg(b)
    assert conn.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM certification_scope").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM status_history").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM facet_counts").fetchone()[0] == 0
    rows = conn.execute("SELECT number_hash, sealed FROM lookup").fetchall()
    key = push.lookup_key(conn)  # the body's secret, which this process holds
    assert isinstance(key, push.LookupKey)
    assert [r[0] for r in rows] == [push.number_hash(ndt, key)]
    record = push.unseal(rows[0][1], ndt, key)
    assert record["holder_name"] == "Nina Number"
    assert record["status"] == "ACTIVE"
    assert [s["code"] for s in record["scope"]] == ["UT2", "VT2"]
    assert record["history"][0]["decision"] == "grant"
    with pytest.raises(push.SealError):
        push.unseal(rows[0][1], sec, key)
    # Typed by a person: lower case, spaces.
    db = open_register(b.register)
    assert push.find(db, " " + ndt.lower())["holder_name"] == "Nina Number"
    assert push.find(db, sec) is None


def test_every_lifecycle_decision_reaches_the_register(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, jane)
    b.clock.advance(days=10)
    b.body.suspend(
        number, decided_by=b.decider, reason="complaint under review", until="2026-05-01"
    )
    r = row(b, number)
    assert r["status"] == "SUSPENDED"
    assert r["status_since"] == "2026-03-12T09:00:00Z"
    assert history(b, number)[-1] == ("suspend", "SUSPENDED")
    assert facets(b)[("status", "SUSPENDED")] == 1 and ("status", "ACTIVE") not in facets(b)

    b.clock.advance(days=5)
    b.body.reinstate(number, decided_by=b.decider, reason="complaint unfounded")
    assert row(b, number)["status"] == "ACTIVE"

    b.body.reduce_scope(number, decided_by=b.decider, remove=["UT2"], reason="no UT practice")
    assert scope(b, number)["UT2"] == ("removed", "2026-03-17")
    assert scope(b, number)["VT2"][0] == "active"
    assert ("scope", "cwi/UT2") not in facets(b)

    b.body.correct(number, decided_by=b.decider, reason="misspelt", holder_name="Jane Dough")
    assert row(b, number)["holder_name"] == "Jane Dough"

    # Recertification opens six months before expiry; the new cycle keeps the time left.
    b.clock.advance(days=365 * 3 - 100)
    b.body.recertify(number, decided_by=b.decider, evidence="CPD log 2028")
    assert row(b, number)["valid_until"] == "2032-03-01"

    b.body.withdraw(number, decided_by=b.decider, reason="misconduct")
    r = row(b, number)
    assert r["status"] == "WITHDRAWN"
    assert [d for d, _ in history(b, number)] == [
        "grant",
        "suspend",
        "reinstate",
        "reduce_scope",
        "correct",
        "recertify",
        "withdraw",
    ]
    assert history(b, number)[-2:] == [("recertify", "ACTIVE"), ("withdraw", "WITHDRAWN")]
    assert facets(b) == recount(b)


def test_expiry_and_extension(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = b.body.grant(
        jane, "cwi", [ScopeGrant("VT2")], decided_by=b.decider, evidence="exam"
    ).number
    b.body.extend_scope(number, decided_by=b.decider, add=[ScopeGrant("UT2")], evidence="exam 2")
    assert scope(b, number)["UT2"][0] == "active"
    b.clock.advance(days=365 * 3 + 2)
    assert b.body.expire_due() == [number]
    r = row(b, number)
    assert r["status"] == "EXPIRED"
    assert history(b, number)[-1] == ("expire", "EXPIRED")
    assert facets(b) == recount(b)


def test_a_corrected_name_reaches_every_certification_of_the_holder(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True, schemes=("cwi", "ndt"))
    cwi = grant(b, jane, "cwi")
    ndt = grant(b, jane, "ndt")
    b.body.correct(cwi, decided_by=b.decider, reason="misspelt", holder_name="Jane Dough")
    db = open_register(b.register)
    assert push.find(db, cwi)["holder_name"] == "Jane Dough"
    assert push.find(db, ndt)["holder_name"] == "Jane Dough"


def test_a_policy_change_moves_the_rows(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, jane)
    conn = reg(b)
    b.body.add_scheme_version("cwi", publication_policy="number_lookup")
    assert row(b, number) is None
    assert conn.execute("SELECT COUNT(*) FROM certification_scope").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM facet_counts").fetchone()[0] == 0
    db = open_register(b.register)
    assert push.find(db, number)["holder_name"] == "Jane Doe"
    assert conn.execute("SELECT publication_policy FROM schemes WHERE id = 'cwi'").fetchone()[
        0
    ] == ("number_lookup")

    b.body.add_scheme_version("cwi", publication_policy="on_request")
    assert push.find(db, number) is None
    assert conn.execute("SELECT COUNT(*) FROM lookup").fetchone()[0] == 0

    b.body.add_scheme_version("cwi", publication_policy="directory", name="Renamed CWI")
    assert row(b, number)["scheme_name"] == "Renamed CWI"
    assert conn.execute("SELECT COUNT(*) FROM lookup").fetchone()[0] == 0
    assert facets(b)[("scheme", "cwi")] == 1
    assert (
        conn.execute("SELECT label FROM facet_counts WHERE facet = 'scheme'").fetchone()[0]
        == "Renamed CWI"
    )


def test_a_new_scheme_version_shows_its_new_items_and_holders_keep_retired_ones(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, jane)  # UT2 and VT2
    b.body.add_scheme_version(
        "cwi", add_scope=[("PT2", "Penetrant testing, level 2", "2")], retire_scope=["VT2"]
    )

    def catalogue() -> dict[str, str]:
        return dict(reg(b).execute("SELECT code, label FROM scope_items WHERE scheme_id = 'cwi'"))

    def labels() -> dict[str, str]:
        return dict(
            reg(b).execute(
                "SELECT scope_code, label FROM certification_scope WHERE number = ?", [number]
            )
        )

    # The register offers the catalogue as it is now: the new item, not the retired one ...
    assert catalogue() == {
        "PT2": "Penetrant testing, level 2",
        "UT2": "Ultrasonic testing, level 2",
    }
    # ... and Jane's certificate still shows the retired item by its label, held.
    held = {"UT2": "Ultrasonic testing, level 2", "VT2": "Visual testing, level 2"}
    assert labels() == held
    assert scope(b, number)["VT2"][0] == "active"
    # A register rebuilt from issuer.db says the same.
    rebuild(b.body, b.register)
    assert catalogue() == {
        "PT2": "Penetrant testing, level 2",
        "UT2": "Ultrasonic testing, level 2",
    }
    assert labels() == held


def test_search_finds_directory_holders_by_name_only(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    nina = add_holder(b, "nina", "Nina Number", consent=True, schemes=("ndt",))
    ravi = add_holder(b, "ravi", "Ravi Kumar", consent=False)
    grant(b, jane)
    grant(b, nina, "ndt")
    ravi_number = grant(b, ravi)
    db = open_register(b.register)
    assert [r["holder_name"] for r in db["certifications"].search("Jane")] == ["Jane Doe"]
    assert list(db["certifications"].search("Nina")) == []
    assert list(db["certifications"].search("Ravi")) == []
    found = list(db["certifications"].search(f'"{ravi_number}"'))
    assert [r["number"] for r in found] == [ravi_number]


def _contents(path: Path) -> dict[str, list]:
    """Every table of a register."""
    conn = sqlite3.connect(path)
    out: dict[str, list] = {}
    for table in (
        "body",
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
    # Sealed records carry random nonces: compared through push.find by the tests.
    out["lookup"] = sorted(conn.execute("SELECT number_hash, updated_at FROM lookup").fetchall())
    return out


def test_rebuild_gives_what_the_pushes_gave_and_swaps_atomically(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    ravi = add_holder(b, "ravi", "Ravi Kumar", consent=False)
    nina = add_holder(b, "nina", "Nina Number", consent=True, schemes=("ndt", "sec"))
    j = grant(b, jane)
    grant(b, ravi)
    n = grant(b, nina, "ndt")
    grant(b, nina, "sec")
    b.body.suspend(j, decided_by=b.decider, reason="r", until="2026-04-01")
    before = _contents(b.register)
    sealed_before = push.find(open_register(b.register), n)
    inode = os.stat(b.register).st_ino

    counts = rebuild(b.body, b.register)
    assert counts == {"directory": 2, "number_lookup": 1, "on_request": 1, "schemes": 3}
    # Copied into the same file in one transaction: other processes' connections stay valid.
    assert os.stat(b.register).st_ino == inode
    assert _contents(b.register) == before
    assert push.find(open_register(b.register), n) == sealed_before
    leftovers = [p.name for p in b.register.parent.iterdir() if "rebuild" in p.name]
    assert leftovers == []
    # The running hook goes on writing there.
    b.body.reinstate(j, decided_by=b.decider, reason="cleared")
    assert row(b, j)["status"] == "ACTIVE"
    assert facets(b) == recount(b)


def test_rebuild_catches_up_with_changes_made_while_it_ran(b, monkeypatch):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, jane)
    import certreg.issuer.register_push as rp

    real = rp.push.refresh_facets

    def meanwhile(db):  # another process decides while the new file is being written
        other = CertificationBody.open(b.data, passphrase=PASSPHRASE, clock=b.clock)
        other.suspend(number, decided_by=b.decider, reason="r", until="2026-04-01")
        real(db)

    monkeypatch.setattr(rp.push, "refresh_facets", meanwhile)
    rebuild(b.body, b.register)
    assert row(b, number)["status"] == "SUSPENDED"


def test_the_rebuild_command(b):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    grant(b, jane)
    b.register.unlink()
    result = CliRunner().invoke(register_group, ["rebuild", "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    assert "1 in the directory" in result.output
    assert reg(b).execute("SELECT holder_name FROM certifications").fetchone()[0] == "Jane Doe"
    out = b.data / "elsewhere" / "public.db"
    result = CliRunner().invoke(
        register_group, ["rebuild", "--data", str(b.data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.exists()


def test_a_failed_push_never_fails_the_decision_and_is_retried(b, caplog):
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, jane)
    b.sync.path = b.data / "missing-folder" / "register.db"  # cannot be created
    with caplog.at_level(logging.ERROR, logger="certreg.register"):
        cert = b.body.suspend(number, decided_by=b.decider, reason="r", until="2026-04-01")
    assert cert.status == "SUSPENDED"
    assert "was not updated" in caplog.text
    b.sync.path = b.register
    b.sync.flush()  # or the next change
    assert row(b, number)["status"] == "SUSPENDED"


def test_a_change_inside_a_callers_transaction_waits_for_its_commit(b):
    from certreg.issuer.db import transaction

    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    number = grant(b, jane)
    with transaction(b.body.db):
        b.body.db.execute("UPDATE persons SET consent_publish = 0 WHERE id = ?", [jane])
        b.sync("person", jane)
        assert row(b, number)["holder_name"] == "Jane Doe"  # not committed: not published
    b.sync("body")
    assert row(b, number)["holder_name"] is None


def test_bulk_issuance_pushes_each_batch(b, tmp_path):
    path = tmp_path / "grants.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "external_id",
                "full_name",
                "email",
                "consent_publish",
                "scheme",
                "scope",
                "assessed_on",
                "examiner",
                "evidence",
            ]
        )
        for i in range(25):
            scheme = ("cwi", "ndt", "sec")[i % 3]
            out.writerow(
                [
                    f"row-{i}",
                    f"Holder {i:02d}",
                    f"h{i}@example.org",
                    "yes" if i % 2 else "no",
                    scheme,
                    "UT2;VT2",
                    "2026-02-20",
                    b.examiner,
                    "exam",
                ]
            )
    body = CertificationBody.open(b.data, passphrase=PASSPHRASE, clock=b.clock)
    attach(body)
    report = issue_csv(body, path, decided_by=b.decider, workers=0, batch=10)
    assert report.issued == 25, report.errors
    conn = reg(b)
    assert conn.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 9
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM certifications WHERE holder_name IS NOT NULL"
        ).fetchone()[0]
        == 4
    )
    assert conn.execute("SELECT COUNT(*) FROM lookup").fetchone()[0] == 8
    assert facets(b) == recount(b)
    # Every credential the run signed is known to the public verifier by its proof's digest,
    # the one a presented copy of it gives (the push reads only the proof out of each
    # document).
    issued = dict(conn.execute("SELECT id, proof_sha256 FROM issued_credentials"))
    signed = body.db.execute("SELECT id, document FROM credentials").fetchall()
    assert len(signed) == 25
    assert issued == {i: proof_digest(json.loads(document)) for i, document in signed}
