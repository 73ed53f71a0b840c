"""A holder's consent to be listed by name: given, the register shows the name at once; withdrawn,
the name leaves every table, the search index and the file's bytes."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner
from register_support import add_holder, grant, make_body

from certreg.issuer.cli import main


def query(b, sql: str, *params: str) -> list:
    conn = sqlite3.connect(b.register)  # what a reader of register.db sees
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def rows(b, number: str) -> list:
    return query(b, "SELECT holder_name FROM certifications WHERE number = ?", number)


def search(b, text: str) -> list:
    return query(
        b,
        "SELECT c.number FROM certifications_fts f JOIN certifications c ON c.rowid = f.rowid "
        "WHERE certifications_fts MATCH ?",
        f'"{text}"',
    )


def test_consent_given_then_withdrawn_reaches_the_register(tmp_path):
    b = make_body(tmp_path)
    add_holder(b, "hugo", "Hugo Hidden", consent=False)
    number = grant(b, b.people["hugo"])
    assert rows(b, number) == [(None,)]
    assert search(b, "Hidden") == []

    b.body.set_publication_consent(b.people["hugo"], True)
    assert rows(b, number) == [("Hugo Hidden",)]
    assert search(b, "Hidden") == [(number,)]

    b.body.set_publication_consent(b.people["hugo"], False)
    assert rows(b, number) == [(None,)]
    assert search(b, "Hidden") == []
    query(b, "PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"Hugo Hidden" not in b.register.read_bytes()


def test_consent_from_the_command_line(tmp_path, monkeypatch):
    b = make_body(tmp_path)
    add_holder(b, "ann", "Ann Example", consent=False)
    number = grant(b, b.people["ann"])
    result = CliRunner().invoke(
        main, ["person", "consent", b.people["ann"], "--publish", "--data", str(b.data)]
    )
    assert result.exit_code == 0, result.output
    assert "listed by name" in result.output
    assert rows(b, number) == [("Ann Example",)]
