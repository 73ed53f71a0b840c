"""An encrypted, file-based store of a body's Ed25519 signing keys, with their history.

Layout of a store directory (mode 0700, every file 0600)::

    keys.json              public: controller, KDF profile, every KeyRecord, the current key
    <fragment>.key.json    one per key: the 32-byte seed in a SecretBox, under a key derived
                           from the passphrase with Argon2id (own random salt; the ops/mem
                           limits are recorded so a later change of profile still decrypts)
    .lock                  serialises writers (rotate, declare_compromised)

No secret is ever written unencrypted; every write is temp file + fsync + os.replace, so a
crash leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hmac
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id as argon2id
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from certreg.keys.did import (
    DidError,
    KeyRecord,
    build_did_web_document,
    did_key_document,
    did_key_verification_method,
    did_web_to_url,
    format_utc,
    parse_utc,
)
from certreg.keys.errors import CertregError
from certreg.keys.keypair import KeyPair

KDF_PROFILES: dict[str, tuple[int, int]] = {
    "interactive": (argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE),  # 64 MiB
    "moderate": (argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE),  # 256 MiB
    "sensitive": (argon2id.OPSLIMIT_SENSITIVE, argon2id.MEMLIMIT_SENSITIVE),  # 1 GiB
}
# A tampered key file must not be able to make us allocate unbounded memory or spin forever.
_MAX_OPSLIMIT = 32
_MAX_MEMLIMIT = 4 * argon2id.MEMLIMIT_SENSITIVE

META_FILE = "keys.json"
_FORMAT = "certreg-keystore"
_SECRET_FORMAT = "certreg-secret-key"
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class KeyStoreError(CertregError):
    """The key store is missing, corrupt, or the passphrase is wrong."""


class KeyStore:
    """A directory holding a body's signing keys. Open with ``KeyStore(path)``; make a new one
    with :meth:`KeyStore.create`. Reads go to disk each time, so a long-running service sees a
    rotation made meanwhile by ``certreg keys rotate``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not (self.path / META_FILE).is_file():
            raise KeyStoreError(f"no key store at {self.path} (create one with `certreg keys new`)")
        self._read_meta()

    # --- creating -----------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        controller: str,
        passphrase: str,
        *,
        kdf: str = "moderate",
        now: datetime | None = None,
    ) -> KeyStore:
        """Create a store at ``path`` with its first key. ``controller`` is a did:web DID, or
        the literal ``"did:key"`` to make every key its own did:key DID."""
        _check_controller(controller)
        _check_passphrase(passphrase)
        if kdf not in KDF_PROFILES:
            raise KeyStoreError(
                f"unknown KDF profile {kdf!r}; choose one of {', '.join(KDF_PROFILES)}"
            )
        path = Path(path)
        if path.exists():
            if not path.is_dir() or any(path.iterdir()):
                raise KeyStoreError(
                    f"{path} already exists and is not an empty directory; refusing to overwrite it"
                )
            os.chmod(path, 0o700)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(path, 0o700)
        created = _now(now)
        record, seed = _new_key(controller, created, taken=set())
        _write_secret(path, record, seed, passphrase, kdf)
        _write_meta(path, controller, kdf, record.id, [record])
        return cls(path)

    # --- reading ------------------------------------------------------------------------

    @property
    def controller(self) -> str:
        """The did:web DID of the body, or ``"did:key"``."""
        return self._read_meta()[0]

    def keys(self) -> list[KeyRecord]:
        """Every key this store has held, oldest first."""
        return self._read_meta()[3]

    def current(self) -> KeyRecord:
        """The key new credentials are signed with."""
        _, _, current_id, records = self._read_meta()
        return next(r for r in records if r.id == current_id)

    def find(self, key_id: str) -> KeyRecord:
        """A key by its full id or by its fragment (``key-…`` / ``z6Mk…``)."""
        for record in self.keys():
            if key_id in (record.id, record.id.partition("#")[2]):
                return record
        raise KeyStoreError(f"no key {key_id!r} in key store {self.path}")

    def did_document(self) -> dict[str, Any]:
        """The DID document to publish: the whole history for did:web; for did:key, the
        current key's own document (did:key cannot publish history)."""
        controller, _, _, records = self._read_meta()
        if controller == "did:key":
            return did_key_document(self.current().controller)
        return build_did_web_document(controller, records)

    def load_signer(self, passphrase: str, key_id: str | None = None) -> KeyPair:
        """Decrypt a key for signing (the current one by default). Retired and compromised
        keys are refused: verifiers would reject what they sign."""
        record = self.current() if key_id is None else self.find(key_id)
        if record.status != "current":
            when = record.revoked or record.expires
            raise KeyStoreError(
                f"key {record.id} is {record.status} since {when}; sign with the current key"
            )
        return KeyPair(self._decrypt(record, passphrase), record.id)

    # --- changing -----------------------------------------------------------------------

    def rotate(
        self, passphrase: str, *, compromised_at: str | None = None, now: datetime | None = None
    ) -> KeyRecord:
        """Make a new current key. The previous one gets ``expires=now`` (routine rotation) or
        ``revoked=compromised_at`` (it leaked: its signatures from then on are refused)."""
        moment = _now(now)
        with self._locked():
            controller, kdf, current_id, records = self._read_meta()
            old = next(r for r in records if r.id == current_id)
            # Proves the passphrase before anything changes, so one store never ends up with
            # keys under two different passphrases.
            self._decrypt(old, passphrase)
            stamp = format_utc(moment)
            if stamp < old.created:
                raise KeyStoreError(
                    f"the time {stamp} is before the current key was created "
                    f"({old.created}); check the system clock"
                )
            if compromised_at is None:
                retired = KeyRecord(old.id, old.public_multibase, old.created, expires=stamp)
            else:
                revoked = _compromise_time(compromised_at, old, moment)
                retired = KeyRecord(old.id, old.public_multibase, old.created, revoked=revoked)
            record, seed = _new_key(controller, moment, taken={r.id for r in records})
            _write_secret(self.path, record, seed, passphrase, kdf)
            updated = [retired if r.id == old.id else r for r in records] + [record]
            _write_meta(self.path, controller, kdf, record.id, updated)
        return record

    def declare_compromised(
        self, key_id: str, at: str | datetime, *, now: datetime | None = None
    ) -> KeyRecord:
        """Mark an older (retired) key as compromised from ``at`` on. For the current key use
        ``rotate(..., compromised_at=...)`` so that a fresh key replaces it."""
        moment = _now(now)
        with self._locked():
            controller, kdf, current_id, records = self._read_meta()
            record = self.find(key_id)
            if record.id == current_id:
                raise KeyStoreError(
                    f"{record.id} is the current key; rotate with "
                    "compromised_at (`certreg keys rotate --compromised-at`) "
                    "so a new key replaces it"
                )
            revoked = _compromise_time(at, record, moment)
            if record.revoked is not None and record.revoked <= revoked:
                if record.revoked == revoked:
                    return record
                raise KeyStoreError(
                    f"{record.id} is already compromised since "
                    f"{record.revoked}; a compromise can only move earlier"
                )
            updated_record = KeyRecord(
                record.id,
                record.public_multibase,
                record.created,
                expires=record.expires,
                revoked=revoked,
            )
            updated = [updated_record if r.id == record.id else r for r in records]
            _write_meta(self.path, controller, kdf, current_id, updated)
        return updated_record

    # --- internals ----------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read_meta(self) -> tuple[str, str, str, list[KeyRecord]]:
        meta_path = self.path / META_FILE
        data = _read_json(
            meta_path, missing=f"no key store at {self.path} (create one with `certreg keys new`)"
        )
        try:
            return _parse_meta(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyStoreError(f"key store file {meta_path} is corrupt: {exc}") from None

    def _decrypt(self, record: KeyRecord, passphrase: str) -> bytes:
        _check_passphrase(passphrase)
        secret_path = self.path / _secret_name(record.id)
        data = _read_json(
            secret_path,
            missing=f"the secret key file of {record.id} is missing "
            f"from key store {self.path} ({secret_path})",
        )
        try:
            if data.get("format") != _SECRET_FORMAT or data.get("version") != 1:
                raise ValueError("not a certreg secret key file (format/version)")
            if data["key_id"] != record.id:
                raise ValueError(f"it holds {data['key_id']!r}, not {record.id!r}")
            params = data["kdf"]
            if params["alg"] != "argon2id":
                raise ValueError(f"unknown KDF {params['alg']!r}")
            opslimit, memlimit = int(params["opslimit"]), int(params["memlimit"])
            if not (
                argon2id.OPSLIMIT_MIN <= opslimit <= _MAX_OPSLIMIT
                and argon2id.MEMLIMIT_MIN <= memlimit <= _MAX_MEMLIMIT
            ):
                raise ValueError("KDF limits out of range")
            salt = _b64decode(params["salt"])
            box = _b64decode(data["ciphertext"])
            if len(salt) != argon2id.SALTBYTES:
                raise ValueError("bad salt length")
            if len(box) != SecretBox.NONCE_SIZE + SecretBox.MACBYTES + 32:
                raise ValueError("the encrypted seed has the wrong length")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise KeyStoreError(f"key file {secret_path} is corrupt: {exc}") from None
        key = argon2id.kdf(
            SecretBox.KEY_SIZE,
            _passphrase_bytes(passphrase),
            salt,
            opslimit=opslimit,
            memlimit=memlimit,
        )
        try:
            seed = SecretBox(key).decrypt(box)
        except CryptoError:
            # The MAC cannot tell a wrong passphrase from a flipped bit; the former is the
            # overwhelmingly common case, so say that.
            raise KeyStoreError(
                f"wrong passphrase for key store {self.path} (could not decrypt {record.id})"
            ) from None
        # The public key is derived from the secret one and compared with both places that
        # name it: keys.json (what the DID document publishes) and the key file itself. A file
        # whose public key was replaced would otherwise load, and whatever reads that field
        # would believe another key.
        public = KeyPair(seed).public_multibase if len(seed) == 32 else ""
        if not hmac.compare_digest(public.encode(), record.public_multibase.encode()):
            raise KeyStoreError(
                f"key file {secret_path} is corrupt: its secret key does not "
                f"match the public key recorded for {record.id}"
            )
        claimed = data.get("public_multibase")
        if not isinstance(claimed, str) or not hmac.compare_digest(
            public.encode(), claimed.encode()
        ):
            raise KeyStoreError(
                f"key file {secret_path} is corrupt: the public key written in it is not the "
                f"public key of the secret key it holds (it was changed); refusing {record.id}"
            )
        return seed


# --- helpers ---------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise KeyStoreError("`now` must carry a time zone (e.g. datetime.now(UTC))")
    return now.astimezone(UTC)


def _compromise_time(at: str | datetime, record: KeyRecord, now: datetime) -> str:
    try:
        moment = parse_utc(at, "compromised-at") if isinstance(at, str) else _now(at)
    except ValueError as exc:
        raise KeyStoreError(str(exc)) from None
    stamp = format_utc(moment)
    if moment > now:
        raise KeyStoreError(
            f"compromised-at {stamp} is in the future; give the earliest "
            "instant the key may have been exposed"
        )
    if stamp < record.created:
        raise KeyStoreError(
            f"compromised-at {stamp} is before {record.id} was created "
            f"({record.created}); use {record.created} to refuse all of its "
            "signatures"
        )
    return stamp


def _check_controller(controller: str) -> None:
    if controller == "did:key":
        return
    if not isinstance(controller, str) or not controller.startswith("did:web:"):
        raise KeyStoreError(f"controller must be a did:web DID or 'did:key', got {controller!r}")
    if "#" in controller:
        raise KeyStoreError(f"controller {controller!r} must be a DID, without a #fragment")
    try:
        did_web_to_url(controller)
    except DidError as exc:
        raise KeyStoreError(str(exc)) from None


def _check_passphrase(passphrase: str) -> None:
    if not isinstance(passphrase, str) or not passphrase:
        raise KeyStoreError("the passphrase must be a non-empty string")


def _passphrase_bytes(passphrase: str) -> bytes:
    # NFC so the same passphrase typed on macOS (decomposed) and Linux (composed) still opens
    # the store.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _new_key(controller: str, created: datetime, taken: set[str]) -> tuple[KeyRecord, bytes]:
    while True:
        pair = KeyPair.generate()
        if controller == "did:key":
            key_id = did_key_verification_method(pair.public_multibase)
        else:
            stamp = created.strftime("%Y%m%dT%H%M%SZ")
            key_id = f"{controller}#key-{stamp}-{secrets.token_hex(2)}"
        if key_id not in taken:
            return KeyRecord(key_id, pair.public_multibase, format_utc(created)), pair.seed


def _secret_name(key_id: str) -> str:
    fragment = key_id.partition("#")[2]
    if not _FILE_NAME.fullmatch(fragment):
        raise ValueError(f"key id {key_id!r} has a fragment that cannot name a file")
    return f"{fragment}.key.json"


def _write_secret(path: Path, record: KeyRecord, seed: bytes, passphrase: str, kdf: str) -> None:
    opslimit, memlimit = KDF_PROFILES[kdf]
    salt = secrets.token_bytes(argon2id.SALTBYTES)
    key = argon2id.kdf(
        SecretBox.KEY_SIZE,
        _passphrase_bytes(passphrase),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )
    box = SecretBox(key).encrypt(seed)  # random 24-byte nonce, prepended
    data = {
        "format": _SECRET_FORMAT,
        "version": 1,
        "key_id": record.id,
        "public_multibase": record.public_multibase,
        "kdf": {
            "alg": "argon2id",
            "opslimit": opslimit,
            "memlimit": memlimit,
            "salt": base64.b64encode(salt).decode("ascii"),
        },
        "cipher": "xsalsa20-poly1305",
        "ciphertext": base64.b64encode(bytes(box)).decode("ascii"),
    }
    _write_atomic(path / _secret_name(record.id), _dump(data))


def _write_meta(
    path: Path, controller: str, kdf: str, current_id: str, records: list[KeyRecord]
) -> None:
    data = {
        "format": _FORMAT,
        "version": 1,
        "controller": controller,
        "kdf": kdf,
        "current": current_id,
        "keys": [r.to_dict() for r in records],
    }
    _parse_meta(data)  # never write what we could not read back
    _write_atomic(path / META_FILE, _dump(data))


def _parse_meta(data: Any) -> tuple[str, str, str, list[KeyRecord]]:
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise ValueError("not a certreg key store file")
    if data.get("version") != 1:
        raise ValueError(f"unsupported version {data.get('version')!r}")
    controller, kdf, current_id = data["controller"], data["kdf"], data["current"]
    try:
        _check_controller(controller)
    except KeyStoreError as exc:
        raise ValueError(str(exc)) from None
    if kdf not in KDF_PROFILES:
        raise ValueError(f"unknown KDF profile {kdf!r}")
    if not isinstance(data["keys"], list) or not data["keys"]:
        raise ValueError("it lists no keys")
    records = []
    for item in data["keys"]:
        if not isinstance(item, dict):
            raise ValueError("a key entry is not an object")
        fields: dict[str, Any] = {
            k: item.get(k) for k in ("id", "public_multibase", "created", "expires", "revoked")
        }
        record = KeyRecord(**fields)  # DidError is a ValueError (wrong types included)
        expected = (
            did_key_verification_method(record.public_multibase)
            if controller == "did:key"
            else None
        )
        if controller == "did:key" and record.id != expected:
            raise ValueError(f"{record.id} is not the did:key of its public key")
        if controller != "did:key" and record.controller != controller:
            raise ValueError(f"{record.id} does not belong to {controller}")
        _secret_name(record.id)
        records.append(record)
    if len({r.id for r in records}) != len(records):
        raise ValueError("a key id appears twice")
    currents = [r for r in records if r.status == "current"]
    if [r.id for r in currents] != [current_id]:
        raise ValueError(
            f"the current key {current_id!r} must be the one key that is "
            "neither retired nor compromised"
        )
    return controller, kdf, current_id, records


def _read_json(path: Path, missing: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyStoreError(missing) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyStoreError(f"cannot read {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeyStoreError(f"key store file {path} is corrupt: not JSON ({exc})") from None


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _b64decode(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("invalid base64") from None


def _write_atomic(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # Created 0600 from the start: chmod afterwards would leave a window where it is readable.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
