"""A scheme's scope catalogue under version control (ISO/IEC 17024 §8): a new version adds
and retires scope items; certificates keep the items they hold, new decisions use the
catalogue of the latest version.

A real body on disk (issuer.db, key store); bulk rows through the real ``issue_csv``.
"""

from __future__ import annotations

import json

import pytest
from factories import Clock, make_body, row, undo_migrations_after, write_csv

from certreg.issuer import audit, db
from certreg.issuer.bulk import issue_csv
from certreg.issuer.db import MIGRATIONS, migrate
from certreg.issuer.lifecycle.reference import CatalogueItem
from certreg.issuer.service import CertificationBody, Conflict, Invalid, ScopeGrant


@pytest.fixture
def body(tmp_path) -> CertificationBody:
    return make_body(tmp_path / "cb", clock=Clock())


@pytest.fixture
def people(body):
    examiner = body.add_staff("Erik Examiner", roles=["officer"])
    decider = body.add_staff("Dana Decider", roles=["decision_maker"])
    jane = body.add_person("Jane Doe")
    body.record_assessment(
        jane, "cwi", result="pass", assessed_on="2026-02-20", examiners=[examiner]
    )
    return {"examiner": examiner, "decider": decider, "jane": jane}


def events(body, kind: str) -> list[tuple[str | None, dict]]:
    return [
        (actor, json.loads(payload))
        for actor, payload in body.db.execute(
            "SELECT actor, payload FROM events WHERE kind = ? ORDER BY seq", [kind]
        )
    ]


def test_a_version_adds_and_retires_items_and_the_catalogue_of_each_version_is_kept(body):
    officer = body.add_staff("Olga Officer", roles=["officer"])
    version = body.add_scheme_version(
        "cwi",
        actor=officer,
        add_scope=[CatalogueItem("PT2", "Penetrant testing, level 2", "2"), ("MT2", "Magnetic")],
        retire_scope=["UT2"],
    )
    assert version == 2
    items = {i["code"]: i for i in body.scope_catalogue("cwi")}
    assert {c: (i["added_in_version"], i["retired_in_version"]) for c, i in items.items()} == {
        "MT2": (2, None),
        "PT2": (2, None),
        "UT2": (1, 2),
        "VT2": (1, None),
    }
    assert items["PT2"]["level"] == "2"
    assert [i["code"] for i in body.scope_catalogue("cwi", 1)] == ["UT2", "VT2"]
    assert [i["code"] for i in body.scope_catalogue("cwi", 2)] == ["MT2", "PT2", "VT2"]
    # One audit event names the officer and what changed.
    ((actor, payload),) = events(body, "scheme_versioned")
    assert actor == officer
    assert payload == {
        "version": 2,
        "changed": [],
        "added_scope": ["PT2", "MT2"],
        "retired_scope": ["UT2"],
    }
    assert audit.verify(body.db).ok


def test_catalogue_changes_that_break_a_rule_are_refused_in_words_and_write_nothing(body):
    body.add_scheme_version("cwi", retire_scope=["UT2"])
    refusals = [
        (
            {"add_scope": [("UT2", "Ultrasonic testing again")]},
            Conflict,
            "scope item UT2 was retired in version 2 of scheme cwi: a retired code is not "
            "used again",
        ),
        ({"retire_scope": ["UT2"]}, Conflict, "scope item UT2 was retired already, in version 2"),
        ({"retire_scope": ["XX9"]}, Invalid, "scope item XX9 is not in the catalogue of cwi"),
        ({"add_scope": [("VT2", "Visual")]}, Conflict, "VT2 is in the catalogue of cwi already"),
        ({"add_scope": [("A B", "Spaced")]}, Invalid, "one word, without spaces"),
        ({"add_scope": [("PT2", "x"), ("PT2", "y")]}, Invalid, "PT2 is added twice"),
        ({"retire_scope": ["VT2"]}, Invalid, "needs at least one scope item in use"),
        ({}, Invalid, "a new version must change at least one field or the scope catalogue"),
        ({"name": "Certified Welding Inspector"}, Invalid, "must change at least one field"),
    ]
    for changes, error, words in refusals:
        with pytest.raises(error, match=words):
            body.add_scheme_version("cwi", **changes)
    assert body.db.execute("SELECT MAX(version) FROM scheme_versions").fetchone() == (2,)
    assert len(events(body, "scheme_versioned")) == 1
    # Retiring the last item in use while adding another is a catalogue that still works.
    assert body.add_scheme_version("cwi", add_scope=[("PT2", "P")], retire_scope=["VT2"]) == 3


def test_a_retired_item_stays_on_certificates_but_new_grants_and_extensions_refuse_it(body, people):
    held = body.grant(
        people["jane"], "cwi", [ScopeGrant("UT2")], decided_by=people["decider"], evidence="e"
    )
    body.add_scheme_version("cwi", retire_scope=["UT2"], add_scope=[("PT2", "Penetrant")])
    # The holder keeps UT2, label and all, until a decision reduces the scope.
    kept = body.certification(held.number)
    assert kept.status == "ACTIVE"
    assert [(s["code"], s["label"], s["status"]) for s in kept.scope] == [
        ("UT2", "Ultrasonic testing, level 2", "active")
    ]
    retired_words = "scope item UT2 was retired in version 2 of scheme cwi"
    bob = body.add_person("Bob Roe")
    body.record_assessment(
        bob, "cwi", result="pass", assessed_on="2026-02-20", examiners=[people["examiner"]]
    )
    with pytest.raises(Invalid, match=retired_words):
        body.grant(bob, "cwi", [ScopeGrant("UT2")], decided_by=people["decider"], evidence="e")
    # The item the version added is granted at once; the retired one is not added later.
    cert = body.grant(
        bob, "cwi", [ScopeGrant("PT2")], decided_by=people["decider"], evidence="exam"
    )
    assert [s["label"] for s in cert.scope] == ["Penetrant"]
    with pytest.raises(Invalid, match=retired_words):
        body.extend_scope(
            cert.number, decided_by=people["decider"], add=[ScopeGrant("UT2")], evidence="e"
        )
    assert [s["code"] for s in body.certification(cert.number).scope] == ["PT2"]


def test_a_bulk_row_with_a_retired_item_is_refused_with_the_version(body, people, tmp_path):
    body.add_scheme_version("cwi", retire_scope=["UT2"])
    path = write_csv(
        tmp_path / "rows.csv",
        [row(1, people["examiner"], scope="UT2"), row(2, people["examiner"], scope="VT2")],
    )
    report = issue_csv(body, path, decided_by=people["decider"], workers=0)
    assert report.issued == 1
    ((line, reason),) = report.errors
    assert line == 2
    assert "scope item UT2 was retired in version 2 of scheme cwi" in reason


def test_the_migration_dates_existing_items_to_version_1(body):
    """An issuer.db made before catalogue versions (the migration's columns dropped again):
    its items came with version 1, and one already marked retired is dated to the scheme's
    latest version."""
    body.add_scheme_version("cwi", name="CWI, second edition")
    conn = body.db.conn
    before = MIGRATIONS.index(db._V10)  # the schema version just before this migration
    undo_migrations_after(conn, before)
    conn.execute("UPDATE scope_items SET retired = 1 WHERE code = 'UT2'")
    conn.commit()
    assert migrate(body.db) == before
    assert conn.execute(
        "SELECT code, added_in_version, retired_in_version FROM scope_items ORDER BY code"
    ).fetchall() == [("UT2", 1, 2), ("VT2", 1, None)]
