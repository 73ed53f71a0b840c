"""The transparency log as published (issuer.logfiles, issuer.http.log, issue 13): the tiles
``certreg serve`` answers are the tiles of the entries, the checkpoint verifies with the log
key of the body's DID document, a certificate's proof verifies, and a ``certreg publish``
bundle's log audits and is served by the keyless public site at the same paths.

Besides certreg's own verifier, the root is rebuilt here from the served entry bundles with a
few lines of RFC 9162 written in this file, which share nothing with certreg.verifier.tlog.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import PASSPHRASE, row, write_csv
from fastapi.testclient import TestClient
from http_support import Env, make_env

from certreg.issuer.bulk import issue_csv
from certreg.issuer.cli.log import log_group
from certreg.issuer.cli.publish import publish_command
from certreg.issuer.logfiles import LogFiles, ensure_log_key
from certreg.issuer.service import ScopeGrant
from certreg.register.web.app import create_public_app
from certreg.verifier.tlog import merkle, note, tiles
from certreg.verifier.tlog.checkpoint import open_checkpoint
from certreg.verifier.tlog.entry import credential_hash, parse_entry
from certreg.verifier.tlog.proof import verify_proof

# --- RFC 9162 §2.1, independently ------------------------------------------------------------


def rfc9162_root(entries: list[bytes]) -> bytes:
    """MTH(D[n]) as RFC 9162 §2.1.1 defines it, recursively."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc9162_root(entries[:k]) + rfc9162_root(entries[k:])).digest()


def rfc9162_bundle(data: bytes) -> list[bytes]:
    """tlog-tiles entry bundle: uint16 big-endian length, then the entry, repeated."""
    out, pos = [], 0
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 2], "big")
        out.append(data[pos + 2 : pos + 2 + length])
        pos += 2 + length
    return out


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path) -> Env:
    return make_env(tmp_path, did_method="web")


def data_dir(env: Env) -> Path:
    return Path(env.body.db.execute("PRAGMA database_list").fetchone()[2]).parent


def log_key(document: dict) -> note.Verifier:
    [service] = [s for s in document["service"] if s["type"] == "CertregTransparencyLog"]
    assert service["id"] == f"{document['id']}#transparency-log"
    assert service["serviceEndpoint"] == "https://cb.example/log/"
    return note.parse_verifier_key(service["verifierKey"])


def stored_entries(env: Env) -> list[bytes]:
    return [bytes(e) for (e,) in env.body.db.execute("SELECT entry FROM tlog_entries ORDER BY idx")]


def decide_a_few(env: Env) -> str:
    """A grant, a suspension, a reinstatement: three entries. Returns the number."""
    number = env.grant()["number"]
    until = env.clock.day(30)
    r = env.post(
        f"/api/certifications/{number}/suspend", "decider", {"reason": "complaint", "until": until}
    )
    assert r.status_code == 200, r.text
    r = env.post(f"/api/certifications/{number}/reinstate", "decider", {"reason": "cleared"})
    assert r.status_code == 200, r.text
    return number


# --- tests -----------------------------------------------------------------------------------


def test_the_served_log_is_the_tree_of_the_entries_and_its_checkpoint_verifies(env):
    decide_a_few(env)
    verifier = log_key(env.get("/.well-known/did.json").json())
    assert verifier.name == "cb.example/log"
    r = env.get("/log/checkpoint")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.headers["cache-control"] == "public, max-age=5"
    opened = open_checkpoint(r.text, verifier)
    assert opened, opened.reason
    point = opened.checkpoint
    entries = stored_entries(env)
    assert point.size == len(entries) == 3
    # Every tile and bundle served is the one tlog-tiles builds from the entries.
    expected = tiles.build_tiles([merkle.leaf_hash(e) for e in entries])
    expected |= tiles.build_bundles(entries)
    for path, data in expected.items():
        served = env.get(f"/log/{path}")
        assert served.status_code == 200, (path, served.text)
        assert served.content == data
        assert served.headers["content-type"] == "application/octet-stream"
    # The root, rebuilt independently from the served bundle.
    bundle = env.get("/log/" + tiles.entries_path(0, 3)).content
    served_entries = rfc9162_bundle(bundle)
    assert served_entries == entries
    assert rfc9162_root(served_entries) == point.root
    assert [parse_entry(e).kind for e in served_entries] == ["grant", "suspend", "reinstate"]
    # certreg's auditor agrees.
    fetch = lambda path: env.get(f"/log/{path}").content  # noqa: E731
    assert tiles.verify_tiles(point.size, point.root, fetch, entries=True)


def test_a_tile_beyond_the_tree_is_a_404_that_says_so(env):
    env.grant()
    for path in ("tile/0/000.p/2", "tile/0/000", "tile/1/000.p/1", "tile/entries/001.p/1"):
        r = env.get(f"/log/{path}")
        assert r.status_code == 404
        assert "beyond the tree" in r.json()["detail"]
    r = env.get("/log/tile/0/0000")  # not a tile path at all
    assert r.status_code == 404 and "not a tile path" in r.json()["detail"]


def test_the_checkpoint_is_signed_at_most_every_few_seconds(env):
    env.grant()
    first = env.get("/log/checkpoint").text
    jane2 = env.body.add_person("Joan Roe", email="joan@example.org")
    env.body.record_assessment(
        jane2,
        "cwi",
        result="pass",
        assessed_on=env.clock.day(-3),
        examiners=[env.staff["examiner"]],
        scope_codes=["VT2"],
    )
    env.body.grant(jane2, "cwi", [ScopeGrant("VT2")], decided_by=env.staff["decider"], evidence="x")
    # The tree grew, but the checkpoint is less than 5 seconds old: the same one is served.
    assert env.get("/log/checkpoint").text == first
    files = env.client.app.state.certreg_log
    files.interval = 0  # as if 5 seconds had passed
    second = env.get("/log/checkpoint").text
    assert second != first and second.splitlines()[1] == "2"
    # Every checkpoint is kept, and the newer tree contains the older.
    rows = env.body.db.execute("SELECT size, root FROM tlog_checkpoints ORDER BY size").fetchall()
    assert [r[0] for r in rows] == [1, 2]
    tree = merkle.Tree([merkle.leaf_hash(e) for e in stored_entries(env)])
    proof = tree.consistency_proof(1, 2)
    assert merkle.verify_consistency(1, 2, bytes(rows[0][1]), bytes(rows[1][1]), proof)


def test_a_certificates_proof_verifies(env):
    number = decide_a_few(env)
    verifier = log_key(env.get("/.well-known/did.json").json())
    document = json.loads(
        env.body.db.execute(
            "SELECT cr.document FROM credentials cr JOIN certifications c "
            "ON c.id = cr.certification_id WHERE c.number = ?",
            [number],
        ).fetchone()[0]
    )
    digest = credential_hash(document)
    r = env.get(f"/log/proof?credential={digest}")
    assert r.status_code == 200, r.text
    [entry] = [e for e in stored_entries(env) if json.loads(e).get("credential") == digest]
    verdict = verify_proof(r.text, merkle.leaf_hash(entry), verifier)
    assert verdict, verdict.reason
    assert verdict.proof is not None and verdict.proof.index == 0
    # The same proof, checked with this file's own RFC 9162 (§2.1.3.2) verification.
    assert _verify_inclusion(
        merkle.leaf_hash(entry),
        verdict.proof.index,
        verdict.checkpoint.size,
        list(verdict.proof.inclusion),
        verdict.checkpoint.root,
    )
    # A credential the log never saw (e.g. signed outside any decision): a 404 with a reason.
    r = env.get(f"/log/proof?credential={'ab' * 32}")
    assert r.status_code == 404 and "no entry" in r.json()["detail"]
    assert env.get("/log/proof?credential=xyz").status_code == 422


def _verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_a_published_bundle_holds_the_log_and_the_public_site_serves_it(env, tmp_path):
    # More than one full tile (256 entries), so that full and partial tiles and a level-1
    # tile are all published.
    path = write_csv(tmp_path / "g.csv", [row(i, env.staff["examiner"]) for i in range(300)])
    report = issue_csv(env.body, path, decided_by=env.staff["decider"], workers=1)
    assert report.issued == 300
    out = tmp_path / "bundle"
    os.environ["CERTREG_PASSPHRASE"] = PASSPHRASE
    try:
        result = CliRunner().invoke(publish_command, [str(out), "--data", str(data_dir(env))])
    finally:
        del os.environ["CERTREG_PASSPHRASE"]
    assert result.exit_code == 0, result.output
    assert "the transparency log (300 entries)" in result.output
    document = json.loads((out / ".well-known" / "did.json").read_bytes())
    verifier = log_key(document)
    opened = open_checkpoint((out / "log" / "checkpoint").read_text(), verifier)
    assert opened, opened.reason
    point = opened.checkpoint
    assert point.size == 300

    def from_folder(name: str) -> bytes | None:
        file = out / "log" / name
        return file.read_bytes() if file.is_file() else None

    assert tiles.verify_tiles(point.size, point.root, from_folder, entries=True)
    assert (out / "log" / "tile" / "0" / "000").is_file()
    assert (out / "log" / "tile" / "0" / "001.p" / "44").is_file()
    assert (out / "log" / "tile" / "1" / "000.p" / "1").is_file()
    # The keyless public site serves the same files at the same paths.
    with TestClient(create_public_app(out)) as site:
        r = site.get("/log/checkpoint")
        assert r.status_code == 200 and r.text == (out / "log" / "checkpoint").read_text()
        full = site.get("/log/tile/0/000")
        assert full.content == from_folder("tile/0/000")
        assert "immutable" in full.headers["cache-control"]
        partial = site.get("/log/tile/entries/001.p/44")
        assert partial.content == from_folder("tile/entries/001.p/44")
        assert partial.headers["cache-control"] == "public, max-age=5"
        gone = site.get("/log/tile/0/002")
        assert gone.status_code == 404 and "beyond the tree" in gone.json()["detail"]
        fetch = lambda name: site.get(f"/log/{name}").content  # noqa: E731
        assert tiles.verify_tiles(point.size, point.root, fetch, entries=True)
        # And the served bundles rebuild the root independently.
        entries = rfc9162_bundle(site.get("/log/tile/entries/000").content)
        entries += rfc9162_bundle(site.get("/log/tile/entries/001.p/44").content)
        assert rfc9162_root(entries) == point.root


def test_a_body_with_no_decision_yet_publishes_an_empty_log(env, tmp_path):
    """A new body's bundle holds a size-0 checkpoint (the empty tree's root), not a traceback."""
    out = tmp_path / "bundle"
    os.environ["CERTREG_PASSPHRASE"] = PASSPHRASE
    try:
        result = CliRunner().invoke(publish_command, [str(out), "--data", str(data_dir(env))])
    finally:
        del os.environ["CERTREG_PASSPHRASE"]
    assert result.exit_code == 0, result.output
    assert "the transparency log (0 entries)" in result.output
    document = json.loads((out / ".well-known" / "did.json").read_bytes())
    opened = open_checkpoint((out / "log" / "checkpoint").read_text(), log_key(document))
    assert opened and opened.checkpoint.size == 0
    assert opened.checkpoint.root == hashlib.sha256(b"").digest()
    assert sorted(p.name for p in (out / "log").iterdir()) == ["checkpoint"]


def test_the_cli_prints_a_certificates_proof(env):
    number = decide_a_few(env)
    data = data_dir(env)
    runner = CliRunner(env={"CERTREG_PASSPHRASE": PASSPHRASE})
    result = runner.invoke(log_group, ["proof", number, "--data", str(data)])
    assert result.exit_code == 0, result.output
    signer = ensure_log_key(env.body.db, data / "keys", PASSPHRASE)
    [entry] = stored_entries(env)[:1]
    # The entry rides in the proof's extra data, so a verifier offline sees what was proven.
    extra = "extra " + base64.b64encode(entry).decode()
    assert result.output.startswith(f"c2sp.org/tlog-proof@v1\n{extra}\nindex 0\n")
    assert verify_proof(result.output, merkle.leaf_hash(entry), signer.verifier)
    result = runner.invoke(log_group, ["proof", "CWI-0000-0000-0", "--data", str(data)])
    assert result.exit_code == 1 and "no certificate numbered" in result.output
    result = runner.invoke(log_group, ["status", "--data", str(data)])
    assert result.exit_code == 0 and "3" in result.output


def test_checkpoint_signing_reuses_the_tiles_it_made(env, tmp_path):
    path = write_csv(tmp_path / "g.csv", [row(i, env.staff["examiner"]) for i in range(260)])
    issue_csv(env.body, path, decided_by=env.staff["decider"], workers=1)
    signer = ensure_log_key(env.body.db, data_dir(env) / "keys", PASSPHRASE)
    files = LogFiles(env.body.db, lambda: signer, interval=0)
    point = files.checkpoint()
    assert point is not None and point.size == 260
    assert env.body.db.execute("SELECT COUNT(*) FROM tlog_tiles").fetchone()[0] == 1
    assert point.root == rfc9162_root(stored_entries(env))


def test_certreg_serve_serves_the_log_of_decisions_taken_by_other_processes(env):
    """The real server (uvicorn, a subprocess) with ``--log-checkpoint-every 0``: a decision
    committed by another process is in the next checkpoint."""
    import httpx
    from factories import free_port
    from http_support import serve_subprocess, stop_subprocess, wait_serving

    port = free_port()
    proc = serve_subprocess(data_dir(env), port, "--log-checkpoint-every", "0")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(base, proc)
        verifier = log_key(httpx.get(f"{base}/.well-known/did.json").json())
        empty = open_checkpoint(httpx.get(f"{base}/log/checkpoint").text, verifier)
        assert empty and empty.checkpoint.size == 0  # nothing logged yet: the empty tree
        env.grant()
        first = open_checkpoint(httpx.get(f"{base}/log/checkpoint").text, verifier)
        assert first and first.checkpoint.size == 1
        decide_a_few(dataclasses.replace(env, jane=_another(env)))
        second = open_checkpoint(httpx.get(f"{base}/log/checkpoint").text, verifier)
        assert second and second.checkpoint.size == 4
        r = httpx.get(f"{base}/log/{tiles.entries_path(0, 4)}")
        assert r.status_code == 200 and rfc9162_root(rfc9162_bundle(r.content)) == (
            second.checkpoint.root
        )
    finally:
        stop_subprocess(proc)


def _another(env: Env) -> str:
    """A second candidate who passed (Jane holds her certificate already)."""
    person = env.body.add_person("Joan Roe", email="joan@example.org")
    env.body.record_assessment(
        person,
        "cwi",
        result="pass",
        assessed_on=env.clock.day(-3),
        examiners=[env.staff["examiner"]],
        scope_codes=["UT2", "VT2"],
    )
    return person
