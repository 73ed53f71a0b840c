"""number_lookup records resist harvesting (issue 7, attack 6).

The attack: ``lookup.number_hash`` was an unsalted SHA-256 of a 40-bit number in a file anyone
downloads, so every name could be recovered by hashing all 2^40 numbers. Now the index and the
sealing key come from Argon2id keyed by a secret that is not in the published bundle. The
harvester here is given the whole bundle and, standing in for the 2^40 enumeration, the real
numbers themselves (the best case for it); it must still find no name. The same harvester does
find the name in a register written the old way, so it is a harvester that works.

Lookups by the real number still answer: the certificate page and the Datasette query of the
service (which holds the secret), and a replica serving the bundle in its own process with
``$CERTREG_LOOKUP_SECRET_FILE``; without it, the replica finds nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import nacl.exceptions
import nacl.secret
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from register_support import Body, add_holder, grant, make_body

from certreg.issuer.cli.publish import publish_command
from certreg.issuer.http.app import create_app
from certreg.issuer.register_push import attach, lookup_key_for, lookup_secret_path
from certreg.issuer.service import CertificationBody
from certreg.keys.store import KeyStore
from certreg.register import push

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("Nina Numberlookup", "Norbert Numberlookup", "Nadia Numberlookup")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Body, Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("kdf")
    b = make_body(tmp)
    numbers = {}
    for i, name in enumerate(NAMES):
        person = add_holder(b, f"n{i}", name, consent=True, schemes=("ndt",))
        numbers[name] = grant(b, person, "ndt")
    jane = add_holder(b, "jane", "Jane Listed", consent=True)
    numbers["Jane Listed"] = grant(b, jane)
    out = tmp / "site"
    result = CliRunner().invoke(publish_command, [str(out), "--data", str(b.data)])
    assert result.exit_code == 0, result.output
    assert "CERTREG_LOOKUP_SECRET_FILE" in result.output  # the operator is told
    return b, out, numbers


# --- the harvester ---------------------------------------------------------------------------


def _legacy_keys(number: str) -> tuple[str, bytes]:
    """What the attack computed: the unsalted SHA-256 index and the number-only seal key."""
    raw = number.encode("utf-8")
    return (
        hashlib.sha256(raw).hexdigest(),
        hashlib.blake2b(raw, digest_size=32, person=b"certreg-seal-v1").digest(),
    )


def harvest(bundle: Path, candidates: list[str]) -> set[str]:
    """Everything an attacker can do with the published bundle alone: every file of it is
    read; each candidate number is tried as the old index and key, and every 32-byte string
    found anywhere in the bundle (hex or base64 lines) is tried as the secret."""
    conn = sqlite3.connect(f"file:{bundle / 'public.db'}?immutable=1", uri=True)
    rows = dict(conn.execute("SELECT number_hash, sealed FROM lookup").fetchall())
    meta = dict(conn.execute("SELECT key, value FROM register_meta").fetchall())
    conn.close()
    found: set[str] = set()

    def try_open(sealed: str, key: bytes) -> None:
        try:
            record = json.loads(nacl.secret.SecretBox(key).decrypt(base64.b64decode(sealed)))
        except (nacl.exceptions.CryptoError, ValueError):
            return
        found.add(record["holder_name"])

    for number in candidates:
        index, key = _legacy_keys(number)
        if index in rows:
            try_open(rows[index], key)
    # Secrets hidden somewhere in the bundle? Every 64-hex-digit word of every file.
    words: set[str] = set()
    for path in bundle.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("latin-1")
            words |= {w for w in text.split() if len(w) == 64}
            words |= set(meta.values())
    for word in words:
        try:
            secret = bytes.fromhex(word)
            key_obj = push.LookupKey(secret, opslimit=2, memlimit=16 * 1024 * 1024)
        except (ValueError, push.LookupKeyError):
            continue
        for number in candidates:
            index, seal_key = key_obj.derive(number)
            if index in rows:
                try_open(rows[index], seal_key)
    return found


def test_harvesting_the_public_file_finds_no_name(published):
    _b, out, numbers = published
    assert harvest(out, list(numbers.values())) == set()
    # And the file does hold the three sealed records (there was something to find).
    conn = sqlite3.connect(f"file:{out / 'public.db'}?immutable=1", uri=True)
    assert conn.execute("SELECT COUNT(*) FROM lookup").fetchone()[0] == len(NAMES)
    kdf = json.loads(
        conn.execute("SELECT value FROM register_meta WHERE key = 'lookup_kdf'").fetchone()[0]
    )
    conn.close()
    # What the file says about the derivation: public parameters, at least the documented cost.
    assert kdf["opslimit"] >= 2 and kdf["memlimit"] >= 16 * 1024 * 1024
    assert set(kdf) == {"kdf", "version", "opslimit", "memlimit", "key_id"}


def test_the_harvester_works_on_a_register_written_the_old_way(published, tmp_path):
    """Control: the same harvester recovers every name from an old-style register."""
    _b, _out, numbers = published
    legacy = tmp_path / "bundle"
    legacy.mkdir()
    conn = sqlite3.connect(legacy / "public.db")
    conn.execute("CREATE TABLE lookup (number_hash TEXT PRIMARY KEY, sealed TEXT, updated_at)")
    conn.execute("CREATE TABLE register_meta (key TEXT PRIMARY KEY, value TEXT)")
    for name in NAMES:
        number = numbers[name]
        index, key = _legacy_keys(number)
        record = json.dumps({"number": number, "holder_name": name}).encode()
        sealed = base64.b64encode(bytes(nacl.secret.SecretBox(key).encrypt(record))).decode()
        conn.execute("INSERT INTO lookup VALUES (?, ?, '')", [index, sealed])
    conn.commit()
    conn.close()
    assert harvest(legacy, list(numbers.values())) == set(NAMES)


def test_the_secret_is_in_no_published_file(published):
    b, out, _ = published
    secret_hex = lookup_secret_path(b.body).read_text().strip()
    secret = bytes.fromhex(secret_hex)
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret not in data and secret_hex.encode() not in data, path
            assert base64.b64encode(secret) not in data, path
    readme = (out / "README.txt").read_text()
    assert "CERTREG_LOOKUP_SECRET_FILE" in readme and "NOT in this folder" in readme


def test_the_secret_file_is_private(published, tmp_path):
    b, _, _ = published
    path = lookup_secret_path(b.body)
    assert path.stat().st_mode & 0o777 == 0o600
    exposed = tmp_path / "exposed.secret"
    exposed.write_text(path.read_text())
    exposed.chmod(0o644)
    with pytest.raises(push.LookupKeyError, match="readable or writable by others"):
        push.read_lookup_secret(exposed)


# --- lookups by the real number still work ----------------------------------------------------


def test_the_service_finds_number_lookup_certificates_by_their_number(published):
    b, _, numbers = published
    client = TestClient(create_app(b.body, key_store=KeyStore(b.data / "keys")))
    number = numbers["Nina Numberlookup"]
    page = client.get(f"/c/{number}")
    assert page.status_code == 200 and "Nina Numberlookup" in page.text
    rows = client.get(f"/register/public/verify.json?number={number.lower()}&_shape=array")
    assert [r["holder_name"] for r in rows.json()] == ["Nina Numberlookup"]
    # A number one character off: not found, in plain words.
    wrong = number[:-3] + ("0" if number[-3] != "0" else "1") + number[-2:]
    assert client.get(f"/c/{wrong}").status_code == 404


REPLICA = r"""
import asyncio, json, sys
from certreg.register.site import make_datasette

async def go():
    ds = make_datasette(sys.argv[1], immutable=True)
    await ds.invoke_startup()
    r = await ds.client.get(f"/public/verify.json?number={sys.argv[2]}&_shape=array")
    print(json.dumps([r.status_code, r.json()]))

asyncio.run(go())
"""


def _replica(bundle: Path, number: str, secret_file: Path | None) -> list:
    env = {k: v for k, v in os.environ.items() if k != push.LOOKUP_SECRET_ENV}
    env["PYTHONPATH"] = str(ROOT)
    if secret_file is not None:
        env[push.LOOKUP_SECRET_ENV] = str(secret_file)
    done = subprocess.run(
        [sys.executable, "-c", REPLICA, str(bundle / "public.db"), number],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_replica_answers_by_number_with_the_secret_and_only_with_it(published, tmp_path):
    b, out, numbers = published
    number = numbers["Norbert Numberlookup"]
    copy = tmp_path / "replica.secret"  # as the README says: a private copy
    copy.write_text(lookup_secret_path(b.body).read_text())
    copy.chmod(0o640)
    status, rows = _replica(out, number, copy)
    assert status == 200 and [r["holder_name"] for r in rows] == ["Norbert Numberlookup"]
    status, rows = _replica(out, number, None)
    assert status == 200 and rows == []


def test_made_up_numbers_cost_no_argon2id_run(published, monkeypatch):
    """An anonymous lookup of something that is not a certreg number (wrong shape or check
    character) is answered without running the slow derivation."""
    _b, out, numbers = published

    def refuse(self: push.LookupKey, number: str) -> tuple[str, bytes]:
        raise AssertionError(f"derived {number!r}")

    monkeypatch.setattr(push.LookupKey, "derive", refuse)
    conn = sqlite3.connect(f"file:{out / 'public.db'}?immutable=1", uri=True)
    number = numbers["Nadia Numberlookup"]
    bad_check = number[:-1] + ("A" if number[-1] != "A" else "B")
    for guess in ("NDT-0000-0000-1", bad_check, "x" * 64, "NDT", ""):
        assert not push.plausible_number(guess) or guess == ""
        assert push.find_sealed(conn, guess) is None
    conn.close()


# --- existing registers are migrated ------------------------------------------------------------


def _make_legacy(register: Path, numbers: dict[str, str]) -> None:
    """Turn a register into what the previous version wrote: no format, no watermark, no
    lookup_kdf, lookup rows under the unsalted SHA-256."""
    conn = sqlite3.connect(register)
    legacy = push.LegacyLookup()
    key = push.lookup_key(conn)
    assert isinstance(key, push.LookupKey)
    for name in NAMES:
        number = numbers[name]
        record = push.find_sealed(conn, number)
        conn.execute("DELETE FROM lookup WHERE number_hash = ?", [key.index(number)])
        conn.execute(
            "INSERT INTO lookup VALUES (?, ?, ?)",
            [legacy.index(number), push.seal(record, number, legacy), record["updated_at"]],
        )
    conn.execute(
        "DELETE FROM register_meta WHERE key IN ('format', 'applied_event_seq', 'lookup_kdf')"
    )
    conn.commit()
    conn.close()


def test_an_old_register_is_rebuilt_without_loss(tmp_path):
    b = make_body(tmp_path)
    numbers = {}
    for i, name in enumerate(NAMES):
        person = add_holder(b, f"n{i}", name, consent=True, schemes=("ndt",))
        numbers[name] = grant(b, person, "ndt")
    jane = add_holder(b, "jane", "Jane Listed", consent=True)
    numbers["Jane Listed"] = grant(b, jane)
    b.sync.flush()
    _make_legacy(b.register, numbers)
    conn = sqlite3.connect(b.register)
    # An old bundle keeps answering on a new replica (read as it was written) ...
    assert push.find_sealed(conn, numbers["Nina Numberlookup"])["holder_name"] == (
        "Nina Numberlookup"
    )
    conn.close()

    # ... and the issuer's next process rebuilds it.
    attach(CertificationBody.open(b.data))
    conn = sqlite3.connect(b.register)
    assert push.register_meta(conn, "format") == push.REGISTER_FORMAT
    assert isinstance(push.lookup_key(conn), push.LookupKey)
    indexes = {r[0] for r in conn.execute("SELECT number_hash FROM lookup")}
    for name in NAMES:
        assert push.LegacyLookup().index(numbers[name]) not in indexes  # the old hash is gone
        assert push.find_sealed(conn, numbers[name])["holder_name"] == name
    listed = conn.execute("SELECT holder_name FROM certifications").fetchall()
    assert listed == [("Jane Listed",)]
    conn.close()


def test_a_lost_secret_means_a_new_one_and_a_rebuild(tmp_path):
    b = make_body(tmp_path)
    person = add_holder(b, "n", "Nina Numberlookup", consent=True, schemes=("ndt",))
    number = grant(b, person, "ndt")
    old = lookup_key_for(b.body).key_id
    lookup_secret_path(b.body).unlink()
    import certreg.issuer.register_push as rp

    rp._keys.clear()  # a new process: it knows only what is on disk
    attach(CertificationBody.open(b.data))
    conn = sqlite3.connect(b.register)
    key = push.lookup_key(conn)
    assert isinstance(key, push.LookupKey) and key.key_id != old
    assert push.find_sealed(conn, number)["holder_name"] == "Nina Numberlookup"
    conn.close()
