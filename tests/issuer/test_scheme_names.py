"""A scheme's name in several languages (issue 12 item 2): a scheme version carries its name,
and its public description, in other languages of ``certreg.i18n.LANGUAGES`` besides the one
it is signed with. The credential keeps its one signed name.

A real body on disk (issuer.db, key store).
"""

from __future__ import annotations

import json

import pytest
from factories import Clock, make_body, undo_migrations_after

from certreg.issuer import audit, db
from certreg.issuer.db import MIGRATIONS, migrate
from certreg.issuer.service import CertificationBody, Invalid, ScopeGrant

GERMAN = "Schweißaufsichtsperson"


@pytest.fixture
def body(tmp_path) -> CertificationBody:
    return make_body(
        tmp_path / "cb",
        clock=Clock(),
        scheme={"names": {"de": GERMAN}, "descriptions": {"de": "Prüfung von Schweißnähten."}},
    )


def events(body: CertificationBody, kind: str) -> list[dict]:
    return [
        json.loads(payload)
        for (payload,) in body.db.execute(
            "SELECT payload FROM events WHERE kind = ? ORDER BY seq", [kind]
        )
    ]


def test_a_scheme_keeps_its_names_per_version_and_the_audit_log_says_so(body):
    assert body.scheme_names("cwi") == {
        "de": {"name": GERMAN, "description": "Prüfung von Schweißnähten."}
    }
    (added,) = events(body, "scheme_added")
    assert added["names"] == {"de": {"name": GERMAN, "description": "Prüfung von Schweißnähten."}}
    # A version that changes another field copies the names.
    assert body.add_scheme_version("cwi", process="Written and practical examination") == 2
    assert body.scheme_names("cwi", 2) == body.scheme_names("cwi", 1)
    # A version that only adds a French name and drops the German description is a version.
    assert (
        body.add_scheme_version(
            "cwi", names={"fr": "Inspecteur en soudage"}, descriptions={"de": None}
        )
        == 3
    )
    assert body.scheme_names("cwi") == {
        "de": {"name": GERMAN, "description": ""},
        "fr": {"name": "Inspecteur en soudage", "description": ""},
    }
    versioned = events(body, "scheme_versioned")
    assert versioned[0]["changed"] == ["process"] and "names" not in versioned[0]
    assert versioned[1]["changed"] == ["names"]
    assert versioned[1]["names"]["fr"] == {"name": "Inspecteur en soudage", "description": ""}
    # Dropping a name; and giving the names a version has already is no change.
    body.add_scheme_version("cwi", names={"fr": None})
    assert set(body.scheme_names("cwi")) == {"de"}
    with pytest.raises(Invalid, match="must change at least one field"):
        body.add_scheme_version("cwi", names={"de": GERMAN})
    assert audit.verify(body.db).ok


@pytest.mark.parametrize(
    ("names", "descriptions", "reason"),
    [
        ({"pl": "Inspektor spawania"}, {}, "unknown language 'pl'"),
        ({"de": "   "}, {}, "name in 'de' is empty"),
        ({}, {"es": "Inspección de soldaduras."}, "needs the scheme's name in 'es'"),
    ],
)
def test_names_in_unknown_languages_or_empty_are_refused_and_write_nothing(
    body, names, descriptions, reason
):
    with pytest.raises(Invalid, match=reason):
        body.add_scheme_version("cwi", names=names, descriptions=descriptions)
    count = body.db.execute("SELECT count(*) FROM scheme_versions").fetchone()[0]
    assert count == 1


def test_the_signed_credential_keeps_the_signed_name(body):
    decider = body.add_staff("Dana Decider", roles=["decision_maker"])
    examiner = body.add_staff("Erik Examiner", roles=["officer"])
    jane = body.add_person("Jane Doe")
    body.record_assessment(
        jane, "cwi", result="pass", assessed_on="2026-02-20", examiners=[examiner]
    )
    cert = body.grant(jane, "cwi", [ScopeGrant("UT2")], decided_by=decider, evidence="e")
    achievement = cert.credential["credentialSubject"]["achievement"]
    assert achievement["name"] == "Certified Welding Inspector"
    assert GERMAN not in json.dumps(cert.credential, ensure_ascii=False)


def test_the_migration_adds_the_names_table_to_an_existing_issuer_db(tmp_path):
    """An issuer.db made before names in other languages (the table dropped again): the
    migration adds it, empty, and the scheme reads with no other names."""
    body = make_body(tmp_path / "cb", clock=Clock())
    conn = body.db.conn
    before = MIGRATIONS.index(db._V14)  # the schema version just before this migration
    undo_migrations_after(conn, before)
    assert not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'scheme_version_names'"
    ).fetchone()
    assert migrate(body.db) == before
    assert body.scheme_names("cwi") == {}
    body.add_scheme_version("cwi", names={"es": "Inspector de soldadura"})
    assert body.scheme_names("cwi") == {"es": {"name": "Inspector de soldadura", "description": ""}}
