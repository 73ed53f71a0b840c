"""The witness's state in one SQLite file, ``witness.db``.

Three things, all that C2SP tlog-witness asks a witness to keep:

- its own Ed25519 cosigning key (one row), the seed sealed in a SecretBox under a key derived
  from the operator's passphrase with Argon2id, as the body's key store does (keys/store.py):
  a copy of the file alone does not let anyone cosign in the witness's name;
- the logs it witnesses: an origin and the log's verifier key(s);
- per log, the latest checkpoint it cosigned.

:meth:`WitnessStore.decide` reads the latest checkpoint, decides (the logic is
:func:`certreg.verifier.tlog.witness.add_checkpoint`) and stores the new one in ONE write
transaction (``BEGIN IMMEDIATE``), committed with ``synchronous=FULL`` before the cosignature is
returned. Two requests, two threads or two processes therefore never both decide from the same
old state (the rollback race the specification describes), and a crash or ``kill -9`` after a
cosignature left the witness can never forget it: after a restart a fork is still refused.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nacl.pwhash.argon2id as argon2id
import nacl.utils
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from certreg.keys.errors import CertregError
from certreg.verifier.tlog import note
from certreg.verifier.tlog.checkpoint import Checkpoint, CheckpointError, parse_body
from certreg.verifier.tlog.note import COSIGNATURE_V1, Signer, Verifier
from certreg.verifier.tlog.witness import Answer, add_checkpoint

DB_FILE = "witness.db"
KDF_PROFILES: dict[str, tuple[int, int]] = {
    "interactive": (argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE),  # 64 MiB
    "moderate": (argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE),  # 256 MiB
    "sensitive": (argon2id.OPSLIMIT_SENSITIVE, argon2id.MEMLIMIT_SENSITIVE),  # 1 GiB
}
#: Refused requests kept as evidence of a log's misbehaviour (a fork, a rewritten history):
#: the specification lets a witness keep them; only the newest are kept, so a log cannot fill
#: the disk.
MAX_EVIDENCE = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS witness_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    public_key BLOB NOT NULL,
    opslimit INTEGER NOT NULL,
    memlimit INTEGER NOT NULL,
    salt BLOB NOT NULL,
    sealed_seed BLOB NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS log_key (
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL,
    added INTEGER NOT NULL,
    PRIMARY KEY (origin, verifier_key)
);
-- size is TEXT: a tree size is an unsigned 64-bit number, SQLite's INTEGER a signed one.
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size TEXT NOT NULL,
    root BLOB NOT NULL,
    checkpoint TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    received INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL
);
"""


class WitnessError(CertregError):
    """The witness's database is missing or corrupt, the passphrase is wrong, or a log or key
    given to it is not acceptable; the message says which."""


@dataclass(frozen=True)
class LogState:
    """A witnessed log as ``certreg witness`` lists it."""

    origin: str
    keys: tuple[str, ...]
    latest: Checkpoint | None
    cosigned_at: int | None


class WitnessStore:
    """``witness.db`` in the folder ``path``. Make one with :meth:`create`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.db = self.path / DB_FILE
        if not self.db.is_file():
            raise WitnessError(
                f"no witness in {self.path} (create one with `certreg witness init`)"
            )
        with self._connect() as conn:
            row = conn.execute("SELECT name FROM witness_key WHERE id = 1").fetchone()
        if row is None:
            raise WitnessError(f"{self.db} holds no witness key")

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        name: str,
        passphrase: str,
        *,
        kdf: str = "moderate",
        now: int | None = None,
    ) -> WitnessStore:
        """A new witness named ``name`` (its key name, e.g. ``witness.example/w1``) with a new
        cosigning key sealed under ``passphrase``."""
        if not note.valid_key_name(name):
            raise WitnessError(f"not a valid witness name (no space, no '+'): {name!r}")
        if not passphrase:
            raise WitnessError("the passphrase is empty")
        if kdf not in KDF_PROFILES:
            raise WitnessError(
                f"unknown KDF profile {kdf!r}; choose one of {', '.join(KDF_PROFILES)}"
            )
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if (path / DB_FILE).exists():
            raise WitnessError(f"{path / DB_FILE} already exists; refusing to overwrite it")
        signer = Signer.generate(name, COSIGNATURE_V1)
        opslimit, memlimit = KDF_PROFILES[kdf]
        salt = nacl.utils.random(argon2id.SALTBYTES)
        sealed = SecretBox(_derive(passphrase, salt, opslimit, memlimit)).encrypt(signer.seed)
        fd = os.open(path / DB_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        conn = _open(path / DB_FILE)
        try:
            with conn:
                conn.executescript(_SCHEMA)
                conn.execute(
                    "INSERT INTO witness_key VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        signer.verifier.public_key,
                        opslimit,
                        memlimit,
                        salt,
                        bytes(sealed),
                        int(time.time()) if now is None else now,
                    ),
                )
        finally:
            conn.close()
        return cls(path)

    # --- the key ---------------------------------------------------------------------------

    @property
    def verifier(self) -> Verifier:
        """The witness's public key (type 0x04): what a log and a verifier configure."""
        with self._connect() as conn:
            name, public = conn.execute(
                "SELECT name, public_key FROM witness_key WHERE id = 1"
            ).fetchone()
        return Verifier.ed25519(name, bytes(public), COSIGNATURE_V1)

    def load_signer(self, passphrase: str) -> Signer:
        """The cosigning key, unsealed with ``passphrase``."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT name, public_key, opslimit, memlimit, salt, sealed_seed "
                "FROM witness_key WHERE id = 1"
            ).fetchone()
        name, public, opslimit, memlimit, salt, sealed = row
        # A tampered file must not make us allocate unbounded memory or spin for hours.
        if not (
            argon2id.OPSLIMIT_MIN <= opslimit <= 32
            and argon2id.MEMLIMIT_MIN <= memlimit <= 4 * argon2id.MEMLIMIT_SENSITIVE
        ):
            raise WitnessError(f"{self.db}: the key's KDF parameters are out of range")
        try:
            seed = SecretBox(_derive(passphrase, bytes(salt), opslimit, memlimit)).decrypt(
                bytes(sealed)
            )
        except CryptoError:
            raise WitnessError("wrong passphrase for the witness key") from None
        signer = Signer(name, seed, COSIGNATURE_V1)
        if signer.verifier.public_key != bytes(public):
            raise WitnessError(f"{self.db}: the sealed key does not match the public key")
        return signer

    # --- the logs --------------------------------------------------------------------------

    def add_log(self, origin: str, verifier_key: str, *, now: int | None = None) -> Verifier:
        """Witness the log ``origin``, whose checkpoints ``verifier_key`` signs (a note
        verifier key string, Ed25519). Adding a second key for the same origin trusts both
        (a log rotating its key)."""
        if not origin or any(ord(c) < 0x20 for c in origin):
            raise WitnessError("the origin is one non-empty line of text")
        try:
            key = note.parse_verifier_key(verifier_key.strip())
        except note.NoteError as error:
            raise WitnessError(f"not a verifier key: {error}") from None
        if key.signature_type != note.ED25519:
            raise WitnessError("a log signs its checkpoints with an Ed25519 (type 0x01) key")
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO log_key VALUES (?, ?, ?)",
                (origin, key.key_string, int(time.time()) if now is None else now),
            )
        return key

    def logs(self) -> list[LogState]:
        with self._connect() as conn:
            keys: dict[str, list[str]] = {}
            for origin, key in conn.execute(
                "SELECT origin, verifier_key FROM log_key ORDER BY origin, added"
            ):
                keys.setdefault(origin, []).append(key)
            states = []
            for origin, origin_keys in keys.items():
                latest = self._latest(conn, origin)
                states.append(
                    LogState(
                        origin,
                        tuple(origin_keys),
                        latest[0] if latest else None,
                        latest[1] if latest else None,
                    )
                )
        return states

    def evidence(self, origin: str | None = None) -> list[tuple[str, int, int, str, str]]:
        """Refused requests of known logs whose signature verified: (origin, received, status,
        reason, request body), newest first."""
        query = "SELECT origin, received, status, reason, request FROM evidence"
        args: tuple[str, ...] = ()
        if origin is not None:
            query, args = query + " WHERE origin = ?", (origin,)
        with self._connect() as conn:
            return list(conn.execute(query + " ORDER BY id DESC", args))

    # --- the decision ----------------------------------------------------------------------

    def decide(self, request: bytes, witness: Signer, now: int | None = None) -> Answer:
        """Answer an add-checkpoint request, and on 200 store the cosigned checkpoint in the
        same write transaction as the read of the previous one."""
        origin = _origin_of(request)
        moment = int(time.time()) if now is None else now
        with self._transaction() as conn:
            logs: dict[str, list[Verifier]] = {}
            if origin is not None:
                rows = conn.execute(
                    "SELECT verifier_key FROM log_key WHERE origin = ?", (origin,)
                ).fetchall()
                if rows:
                    logs[origin] = [note.parse_verifier_key(key) for (key,) in rows]
            latest = {}
            signed_at = moment
            if origin is not None and (found := self._latest(conn, origin)) is not None:
                latest[origin] = found[0]
                # tlog-cosignature: never a timestamp lower than the last one given for this
                # log; each is later than the one before, even if the clock went back.
                signed_at = max(moment, found[1] + 1)
            answer = add_checkpoint(request, logs, latest, witness, signed_at)
            if answer.cosigned is not None:
                point = answer.cosigned
                conn.execute(
                    "INSERT INTO latest VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE "
                    "SET size = excluded.size, root = excluded.root, "
                    "checkpoint = excluded.checkpoint, cosigned_at = excluded.cosigned_at",
                    (point.origin, str(point.size), point.root, point.body, signed_at),
                )
            elif answer.status == 422 or (answer.status == 409 and "forked" in answer.reason):
                # The log signed something inconsistent with what we cosigned: keep it.
                conn.execute(
                    "INSERT INTO evidence (origin, received, status, reason, request) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (origin, moment, answer.status, answer.reason, request.decode()),
                )
                conn.execute(
                    "DELETE FROM evidence WHERE id <= (SELECT MAX(id) FROM evidence) - ?",
                    (MAX_EVIDENCE,),
                )
        return answer

    # --- SQLite ----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        return _open(self.db)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.isolation_level = None  # we say BEGIN and COMMIT ourselves
            conn.execute("BEGIN IMMEDIATE")  # the write lock now, before the read
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    def _latest(conn: sqlite3.Connection, origin: str) -> tuple[Checkpoint, int] | None:
        row = conn.execute(
            "SELECT checkpoint, cosigned_at FROM latest WHERE origin = ?", (origin,)
        ).fetchone()
        if row is None:
            return None
        try:
            return parse_body(row[0]), row[1]
        except CheckpointError as error:
            raise WitnessError(f"the stored checkpoint of {origin!r} is corrupt: {error}") from None


def _open(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=30)
    # WAL so readers never wait; FULL so a commit survives a power cut, not only a kill: a
    # witness that forgot a cosignature could be made to cosign a fork of it.
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return argon2id.kdf(
        SecretBox.KEY_SIZE, passphrase.encode(), salt, opslimit=opslimit, memlimit=memlimit
    )


def _origin_of(request: bytes) -> str | None:
    """The checkpoint's first line (its origin), to read only that log's rows; None if the
    request has no checkpoint (the decision then says what is wrong with it)."""
    _, sep, checkpoint = request.partition(b"\n\n")
    if not sep:
        return None
    try:
        return checkpoint.partition(b"\n")[0].decode()
    except UnicodeDecodeError:
        return None
