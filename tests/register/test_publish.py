"""``certreg publish DIR``: the static bundle is complete, byte-identical to what `certreg serve`
answers, and its register.db is one clean immutable file that Datasette can serve."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from register_support import add_holder, grant, make_body

from certreg.contexts import pinned_contexts
from certreg.issuer.cli.publish import publish_command
from certreg.issuer.http.app import create_app
from certreg.keys.store import KeyStore
from certreg.register import push
from certreg.register.db import open_register


@pytest.fixture
def published(tmp_path):
    b = make_body(tmp_path)
    jane = add_holder(b, "jane", "Jane Doe", consent=True)
    nina = add_holder(b, "nina", "Nina Number", consent=True, schemes=("ndt",))
    number = grant(b, jane)
    sealed = grant(b, nina, "ndt")
    b.body.suspend(number, decided_by=b.decider, reason="r", until="2026-04-01")
    out = tmp_path / "site"
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    return b, out, number, sealed


def test_the_bundle_matches_what_the_service_serves(published):
    b, out, _, _ = published
    client = TestClient(create_app(b.body, key_store=KeyStore(b.data / "keys")))
    for path in ("/.well-known/did.json", "/did.json"):
        assert json.loads((out / path.lstrip("/")).read_bytes()) == client.get(path).json()
    lists = [r[0] for r in b.body.db.execute("SELECT id FROM status_lists")]
    assert lists
    for list_id in lists:
        assert (out / "status" / list_id).read_bytes() == client.get(f"/status/{list_id}").content
        versions = sorted(
            (out / "status" / "versions" / list_id).iterdir(), key=lambda p: int(p.name)
        )
        assert versions
        for v in versions:
            served = client.get(f"/status/{list_id}/versions/{v.name}")
            assert v.read_bytes() == served.content
    for entry in pinned_contexts().values():
        raw = (out / "contexts" / entry.file).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == entry.sha256
    index = json.loads((out / "contexts" / "index.json").read_text())
    assert {i["url"] for i in index} == set(pinned_contexts())


def test_the_register_snapshot_is_one_clean_immutable_file(published):
    b, out, number, sealed = published
    db_path = out / "public.db"
    assert not (out / "public.db-wal").exists()
    assert oct(db_path.stat().st_mode & 0o777) == "0o444"
    conn = sqlite3.connect(f"file:{db_path}?immutable=1", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    status = conn.execute("SELECT status FROM certifications WHERE number = ?", [number])
    assert status.fetchone()[0] == "SUSPENDED"
    conn.close()
    db = open_register(b.register)  # the snapshot equals the live register
    assert push.find(db, sealed)["holder_name"] == "Nina Number"
    inspect = json.loads((out / "inspect-data.json").read_text())
    assert inspect["public"]["tables"]["certifications"]["count"] == 1  # named as served
    assert (out / "metadata.json").exists()
    assert json.loads((out / "metadata.json").read_text())
    readme = (out / "README.txt").read_text()
    assert "datasette serve -i public.db" in readme and "--metadata metadata.json" in readme


def test_sha256sums_cover_every_file(published):
    _, out, _, _ = published
    sums = dict(
        reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines()
    )
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert set(sums) == files - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_publishing_again_replaces_the_bundle_and_a_missing_register_is_built(published):
    b, out, number, _ = published
    (out / "stale-file").write_text("old")
    b.body.reinstate(number, decided_by=b.decider, reason="cleared")
    b.register.unlink()
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    assert not (out / "stale-file").exists()
    conn = sqlite3.connect(f"file:{out / 'public.db'}?immutable=1", uri=True)
    status = conn.execute("SELECT status FROM certifications WHERE number = ?", [number])
    assert status.fetchone()[0] == "ACTIVE"
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".site")]
    assert leftovers == []


def test_a_did_key_body_has_no_did_document(tmp_path):
    b = make_body(tmp_path, did_method="key")
    out = tmp_path / "site"
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    assert not (out / ".well-known" / "did.json").exists()
    assert (out / "public.db").exists()
