"""The encrypted key store: secrecy at rest, file modes, rotation history, clear errors."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import base58
import nacl.pwhash.argon2id as argon2id
import pytest

from certreg.keys import (
    KDF_PROFILES,
    KeyStore,
    KeyStoreError,
    did_key_document,
    verification_method_from_document,
)
from certreg.keys.keypair import PublicKey
from certreg.keys.multikey import decode_public_key

PASS = "correct horse battery staple"
DID = "did:web:cb.example"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore.create(tmp_path / "keys", DID, PASS, kdf="interactive", now=T0)


@pytest.fixture
def open_umask() -> Iterator[None]:
    # With umask 0, anything not created with an explicit mode would come out world-readable.
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _all_bytes(directory: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def test_create_and_load_current_signer(store: KeyStore) -> None:
    current = store.current()
    assert store.controller == DID
    assert current.id.startswith(f"{DID}#key-20260101T000000Z-")
    assert current.created == "2026-01-01T00:00:00Z"
    assert current.status == "current"
    signer = store.load_signer(PASS)
    assert signer.verification_method == current.id
    assert signer.public_multibase == current.public_multibase
    assert store.keys() == [current]


def test_wrong_passphrase_is_a_plain_error(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match=r"^wrong passphrase for key store ") as info:
        store.load_signer("Correct horse battery staple")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        store.rotate("nope")
    assert len(store.keys()) == 1, "a failed rotation must change nothing"


def test_directory_0700_and_every_file_0600(tmp_path: Path, open_umask: None) -> None:
    ks = KeyStore.create(tmp_path / "keys", DID, PASS, kdf="interactive", now=T0)
    ks.rotate(PASS, now=T0 + timedelta(days=1))
    ks.declare_compromised(ks.keys()[0].id, "2026-01-01T12:00:00Z", now=T0 + timedelta(days=2))
    assert stat.S_IMODE(ks.path.stat().st_mode) == 0o700
    files = [p for p in ks.path.iterdir()]
    assert len([p for p in files if p.name.endswith(".key.json")]) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not [p for p in files if p.name.endswith(".tmp")]


def test_nothing_secret_on_disk_in_plaintext(store: KeyStore) -> None:
    pairs = [store.load_signer(PASS)]
    store.rotate(PASS, now=T0 + timedelta(days=30))
    pairs.append(store.load_signer(PASS))
    on_disk = _all_bytes(store.path)
    for pair in pairs:
        seed = pair.seed
        for needle in (
            seed,
            seed.hex().encode(),
            seed.hex().upper().encode(),
            base58.b58encode(seed),
            base64.b64encode(seed),
            base64.urlsafe_b64encode(seed).rstrip(b"="),
            pair.secret_multibase.encode(),
        ):
            assert needle not in on_disk
        assert pair.public_multibase.encode() in on_disk  # the grep itself does work


def test_rotation_keeps_history_and_old_signatures_verify(store: KeyStore) -> None:
    first = store.current()
    old_signer = store.load_signer(PASS)
    message = b"credential signed before the rotation"
    signature = old_signer.sign(message)

    rotated_at = T0 + timedelta(days=365)
    new = store.rotate(PASS, now=rotated_at)
    assert new.id != first.id
    history = store.keys()
    assert [k.id for k in history] == [first.id, new.id]
    assert history[0].status == "retired"
    assert history[0].expires == "2027-01-01T00:00:00Z"
    assert history[0].revoked is None
    assert store.current() == new
    assert new.created == "2027-01-01T00:00:00Z"
    assert store.load_signer(PASS).verification_method == new.id

    # A verifier resolving the published document still finds the retired key.
    doc = store.did_document()
    vm = verification_method_from_document(doc, first.id, "assertionMethod")
    assert vm["expires"] == "2027-01-01T00:00:00Z"
    assert PublicKey(decode_public_key(vm["publicKeyMultibase"])).verify(message, signature)

    with pytest.raises(KeyStoreError, match="retired"):
        store.load_signer(PASS, first.id)


def test_rotation_for_compromise_sets_revoked(store: KeyStore) -> None:
    first = store.current()
    store.rotate(PASS, compromised_at="2026-02-01T08:30:00+01:00", now=T0 + timedelta(days=40))
    old = store.find(first.id)
    assert old.status == "compromised"
    assert old.revoked == "2026-02-01T07:30:00Z"
    assert old.expires is None
    doc = store.did_document()
    assert doc["verificationMethod"][0]["revoked"] == "2026-02-01T07:30:00Z"
    assert first.id in doc["assertionMethod"], "compromised keys stay listed"
    with pytest.raises(KeyStoreError, match="compromised"):
        store.load_signer(PASS, first.id)


@pytest.mark.parametrize(
    ("at", "why"),
    [
        ("2026-12-31T00:00:00Z", "future"),
        ("2025-06-01T00:00:00Z", "before"),
        ("2026-01-05", "time zone"),
        ("last tuesday", "ISO 8601"),
    ],
)
def test_bad_compromise_times_are_refused(store: KeyStore, at: str, why: str) -> None:
    with pytest.raises(KeyStoreError, match=why):
        store.rotate(PASS, compromised_at=at, now=T0 + timedelta(days=10))
    assert len(store.keys()) == 1


def test_declare_an_older_key_compromised(store: KeyStore) -> None:
    first = store.current()
    store.rotate(PASS, now=T0 + timedelta(days=100))
    later = T0 + timedelta(days=200)
    with pytest.raises(KeyStoreError, match="current key"):
        store.declare_compromised(store.current().id, "2026-05-01T00:00:00Z", now=later)

    fragment = first.id.split("#")[1]
    record = store.declare_compromised(fragment, "2026-03-01T00:00:00Z", now=later)
    assert record.status == "compromised"
    assert record.expires == "2026-04-11T00:00:00Z", "the retirement is kept"
    assert store.find(first.id) == record
    # A compromise can be moved earlier, never later (that would re-trust signatures).
    assert (
        store.declare_compromised(first.id, datetime(2026, 2, 1, tzinfo=UTC), now=later).revoked
        == "2026-02-01T00:00:00Z"
    )
    with pytest.raises(KeyStoreError, match="only move earlier"):
        store.declare_compromised(first.id, "2026-03-01T00:00:00Z", now=later)
    with pytest.raises(KeyStoreError, match="no key"):
        store.declare_compromised("key-nope", "2026-03-01T00:00:00Z", now=later)


def test_did_key_store(tmp_path: Path) -> None:
    ks = KeyStore.create(tmp_path / "k", "did:key", PASS, kdf="interactive")
    first = ks.current()
    assert first.id == f"did:key:{first.public_multibase}#{first.public_multibase}"
    assert ks.did_document() == did_key_document(first.id)
    second = ks.rotate(PASS)
    assert second.controller != first.controller
    assert ks.load_signer(PASS).verification_method == second.id
    assert ks.did_document()["id"] == second.controller


def test_other_instances_see_a_rotation(store: KeyStore) -> None:
    service_view = KeyStore(store.path)
    store.rotate(PASS, now=T0 + timedelta(days=1))
    assert service_view.current() == store.current()


def test_kdf_parameters_recorded_per_file(store: KeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Changing the profile's numbers later must not lock anyone out of existing keys.
    monkeypatch.setitem(
        KDF_PROFILES, "interactive", (argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_INTERACTIVE // 2)
    )
    assert store.load_signer(PASS).verification_method == store.current().id
    new = store.rotate(PASS, now=T0 + timedelta(days=1))
    data = json.loads((store.path / f"{new.id.split('#')[1]}.key.json").read_text())
    assert data["kdf"]["memlimit"] == argon2id.MEMLIMIT_INTERACTIVE // 2
    assert store.load_signer(PASS).verification_method == new.id


def test_passphrase_unicode_normalisation(tmp_path: Path) -> None:
    ks = KeyStore.create(tmp_path / "k", DID, "caf\u00e9 au lait", kdf="interactive")
    assert ks.load_signer("cafe\u0301 au lait").verification_method == ks.current().id


@pytest.mark.parametrize(
    ("controller", "passphrase", "kdf", "why"),
    [
        ("did:web:cb.example#key-1", PASS, "interactive", "fragment"),
        ("did:web:..", PASS, "interactive", "host"),
        ("did:example:123", PASS, "interactive", "did:web DID or 'did:key'"),
        (DID, "", "interactive", "passphrase"),
        (DID, PASS, "fast", "unknown KDF profile"),
    ],
)
def test_create_refuses_bad_arguments(
    tmp_path: Path, controller: str, passphrase: str, kdf: str, why: str
) -> None:
    with pytest.raises(KeyStoreError, match=why):
        KeyStore.create(tmp_path / "k", controller, passphrase, kdf=kdf)
    assert not (tmp_path / "k").exists()


def test_create_never_overwrites(store: KeyStore, tmp_path: Path) -> None:
    before = store.current()
    with pytest.raises(KeyStoreError, match="not an empty directory"):
        KeyStore.create(store.path, DID, PASS, kdf="interactive")
    assert store.current() == before
    (tmp_path / "file").write_text("x")
    with pytest.raises(KeyStoreError, match="not an empty directory"):
        KeyStore.create(tmp_path / "file", DID, PASS, kdf="interactive")


def test_missing_store(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match=r"no key store at .*certreg keys new"):
        KeyStore(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyStoreError, match="no key store"):
        KeyStore(tmp_path / "empty")


def _edit_meta(store: KeyStore, change: dict[str, object]) -> None:
    meta = store.path / "keys.json"
    meta.write_text(json.dumps(json.loads(meta.read_text()) | change))


@pytest.mark.parametrize("content", ["{not json", "[]", '{"format": "other"}', ""])
def test_corrupt_metadata(store: KeyStore, content: str) -> None:
    (store.path / "keys.json").write_text(content)
    with pytest.raises(KeyStoreError, match="corrupt"):
        KeyStore(store.path)


@pytest.mark.parametrize(
    "change",
    [
        {"controller": "did:web:other.example"},
        {"current": "did:web:cb.example#key-x"},
        {"keys": []},
        {
            "keys": [
                {
                    "id": "did:web:cb.example#../../etc/x",
                    "created": "2026-01-01T00:00:00Z",
                    "public_multibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
                }
            ]
        },
        {"kdf": "none"},
        {"version": 2},
    ],
)
def test_inconsistent_metadata(store: KeyStore, change: dict[str, object]) -> None:
    _edit_meta(store, change)
    with pytest.raises(KeyStoreError, match="corrupt"):
        store.current()


def test_missing_secret_file(store: KeyStore) -> None:
    (store.path / f"{store.current().id.split('#')[1]}.key.json").unlink()
    with pytest.raises(KeyStoreError, match=r"secret key file .* is missing"):
        store.load_signer(PASS)


def _secret_path(store: KeyStore) -> Path:
    return store.path / f"{store.current().id.split('#')[1]}.key.json"


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.pop("ciphertext"),
        lambda d: d.update(ciphertext="!!!"),
        lambda d: d.update(ciphertext=base64.b64encode(b"short").decode()),
        lambda d: d["kdf"].update(memlimit=2**62),
        lambda d: d["kdf"].update(opslimit=10**9),
        lambda d: d["kdf"].update(salt=""),
        lambda d: d.update(key_id="did:web:cb.example#key-other"),
    ],
)
def test_corrupt_secret_file(store: KeyStore, edit) -> None:  # type: ignore[no-untyped-def]
    path = _secret_path(store)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(KeyStoreError, match="corrupt"):
        store.load_signer(PASS)


def test_secret_file_of_another_key_is_detected(store: KeyStore, tmp_path: Path) -> None:
    # Same passphrase, other store: the file decrypts, but it is not this key.
    other = KeyStore.create(tmp_path / "other", DID, PASS, kdf="interactive", now=T0)
    data = json.loads(_secret_path(other).read_text())
    data["key_id"] = store.current().id
    _secret_path(store).write_text(json.dumps(data))
    with pytest.raises(KeyStoreError, match="does not match the public key"):
        store.load_signer(PASS)


def test_naive_now_is_refused(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match="time zone"):
        store.rotate(PASS, now=datetime(2026, 6, 1))
