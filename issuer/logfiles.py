"""The body's transparency log, read side: its key, tiles, checkpoints and proofs (issue 13;
docs/transparency.md, "The log").

The entries are written by :mod:`certreg.issuer.logwriter` in the decisions' transactions;
everything here runs outside them:

- **The log key**: an Ed25519 key of its own (never the body's signing key), kept encrypted in
  a key store of its own inside the body's (``KEYS/log``, the same Argon2id profile as the
  body's keys); its public half, as a C2SP note verifier key, is recorded in issuer.db
  (``tlog_key``) so that the DID document lists it without the passphrase.
- **Tiles** (C2SP tlog-tiles): level 0 and the entry bundles are read from ``tlog_entries``;
  a full tile of a higher level is computed once and kept (``tlog_tiles``): it never changes.
- **Checkpoints**: signed when asked for and the tree grew, at most once every
  :data:`CHECKPOINT_INTERVAL` seconds; every one is kept (``tlog_checkpoints``).
- **Proofs**: the C2SP tlog-proof@v1 of the entry that signed a credential, against the
  latest checkpoint (with the witnesses' cosignatures stored beside it, if any).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from certreg.issuer.db import transaction
from certreg.keys.errors import CertregError
from certreg.keys.multikey import MultikeyError, decode_public_key
from certreg.keys.store import META_FILE, KeyStore, KeyStoreError
from certreg.verifier.dates import format_datetime
from certreg.verifier.tlog import merkle, note
from certreg.verifier.tlog.checkpoint import Checkpoint, sign_checkpoint
from certreg.verifier.tlog.proof import TlogProof
from certreg.verifier.tlog.tiles import (
    TILE_WIDTH,
    TileError,
    TileReader,
    bundles_for_size,
    encode_bundle,
    level_width,
    parse_path,
    tiles_for_size,
)

__all__ = [
    "CHECKPOINT_INTERVAL",
    "LOG_KEYS",
    "LogError",
    "LogFiles",
    "NotYetSigned",
    "SignedCheckpoint",
    "ensure_log_key",
    "log_origin",
    "log_service",
    "make_log_key",
    "verifier_key",
    "with_log_service",
    "write_log_files",
]

#: The log key's store, inside the body's key store.
LOG_KEYS = "log"
#: A checkpoint is signed at most this often (seconds) however fast the tree grows: signing
#: is cheap, but every new checkpoint is a new file for caches, witnesses and monitors.
CHECKPOINT_INTERVAL = 5.0


class LogError(CertregError):
    """The log cannot answer (no key, no checkpoint yet, nothing logged for a credential)."""


class NotYetSigned(LogError):
    """The entry is written but no signed checkpoint holds it yet: checkpoints are signed at
    most every :data:`CHECKPOINT_INTERVAL` seconds. ``retry_after``: whole seconds until the
    next one may be signed (at least 1). Not "not in the log": HTTP answers 503 with
    ``Retry-After``, never 404."""

    def __init__(self, index: int, retry_after: int) -> None:
        super().__init__(
            f"the log has not yet signed entry {index} into a checkpoint; ask again in "
            f"{retry_after} s"
        )
        self.index = index
        self.retry_after = retry_after


def log_origin(public_url: str) -> str:
    """The log's origin and key name: the body's public host (and path) + ``/log``."""
    parts = urlsplit(public_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/log"


# --- the log key ----------------------------------------------------------------------------


def _log_store_path(key_store: Path) -> Path:
    return Path(key_store) / LOG_KEYS


def make_log_key(db: Database, key_store: Path, passphrase: str) -> note.Verifier:
    """Make the log key if the body has none yet (on ``certreg init``; for a body made before
    the log, when ``certreg serve`` starts or a checkpoint is first signed), and record its
    public half in issuer.db. Returns its verifier; decrypts nothing."""
    path = _log_store_path(key_store)
    info = db.execute("SELECT public_url FROM body WHERE id = 1").fetchone()
    if info is None:
        raise LogError("this database has no certification body")
    try:
        if not (path / META_FILE).is_file():
            # The same Argon2id profile as the body's own keys: same protection, same cost.
            meta = json.loads((Path(key_store) / META_FILE).read_text(encoding="utf-8"))
            KeyStore.create(path, "did:key", passphrase, kdf=meta.get("kdf", "moderate"))
        public = decode_public_key(KeyStore(path).current().public_multibase)
    except (KeyStoreError, MultikeyError, OSError, ValueError) as exc:
        raise LogError(f"the log key could not be opened: {exc}") from None
    verifier = note.Verifier.ed25519(log_origin(info[0]), public)
    key = verifier.key_string
    with transaction(db):
        row = db.execute("SELECT verifier_key FROM tlog_key WHERE id = 1").fetchone()
        if row is None:
            db.execute(
                "INSERT INTO tlog_key (id, origin, verifier_key, created_at) VALUES (1, ?, ?, ?)",
                [verifier.name, key, format_datetime(datetime.now(UTC))],
            )
        elif row[0] != key:
            raise LogError(
                "the log key in the key store is not the one issuer.db records; "
                "refusing to sign checkpoints that verifiers could not check"
            )
    return verifier


def ensure_log_key(db: Database, key_store: Path, passphrase: str) -> note.Signer:
    """The log's signer (its key made first if missing: :func:`make_log_key`), decrypted."""
    verifier = make_log_key(db, key_store, passphrase)
    try:
        seed = KeyStore(_log_store_path(key_store)).load_signer(passphrase).seed
    except (KeyStoreError, OSError, ValueError) as exc:
        raise LogError(f"the log key could not be opened: {exc}") from None
    signer = note.Signer(verifier.name, seed)
    if signer.verifier.key_string != verifier.key_string:
        raise LogError("the log key's secret does not match its public key")
    return signer


def verifier_key(db: Database) -> str | None:
    """The log's note verifier key string, or None before the log key is made."""
    row = db.execute("SELECT verifier_key FROM tlog_key WHERE id = 1").fetchone()
    return None if row is None else str(row[0])


def log_service(did: str, public_url: str, key: str) -> dict[str, Any]:
    """The DID document's ``service`` entry that lists the log and its key."""
    return {
        "id": f"{did}#transparency-log",
        "type": "CertregTransparencyLog",
        "serviceEndpoint": public_url.rstrip("/") + "/log/",
        "verifierKey": key,
    }


def with_log_service(document: dict[str, Any], db: Database) -> dict[str, Any]:
    """``document`` (the body's DID document) with the log's service entry, once there is a
    log key; unchanged before."""
    key = verifier_key(db)
    row = db.execute("SELECT did, public_url FROM body WHERE id = 1").fetchone()
    if key is None or row is None:
        return document
    service = log_service(row[0], row[1], key)
    others = [s for s in document.get("service", []) if s.get("id") != service["id"]]
    return {**document, "service": [*others, service]}


# --- tiles, checkpoints, proofs ------------------------------------------------------------


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str  # with the stored cosignatures appended
    signed_at: str


class LogFiles:
    """The published files of the log in issuer.db, by their C2SP paths.

    ``signer`` (a callable, so that the passphrase is asked only when a checkpoint is due)
    signs checkpoints; without it, the latest stored checkpoint is served as it is.
    ``on_signed`` is called with each checkpoint this object signs, after its transaction
    (``certreg serve`` starts submitting it to the witnesses there: issuer.logwitnesses).
    """

    def __init__(
        self,
        db: Database,
        signer: Callable[[], note.Signer] | None = None,
        *,
        interval: float = CHECKPOINT_INTERVAL,
        clock: Callable[[], float] = time.time,
        on_signed: Callable[[SignedCheckpoint], None] | None = None,
    ) -> None:
        self.db = db
        self.signer = signer
        self.interval = interval
        self.clock = clock
        self.on_signed = on_signed

    # -- the tree --------------------------------------------------------------------------

    def size(self) -> int:
        """How many entries the log holds (committed)."""
        row = self.db.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM tlog_entries").fetchone()
        return int(row[0])

    def _leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return [
            bytes(h)
            for (h,) in self.db.execute(
                "SELECT leaf_hash FROM tlog_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                [start, end],
            )
        ]

    def tile(
        self, level: int, index: int, width: int = TILE_WIDTH, *, size: int | None = None
    ) -> bytes:
        """Hash tile ``index`` of ``level``, ``width`` hashes wide; :class:`TileError` if the
        tree (of ``size`` entries, the log's by default) does not have it. A partial tile of
        any width the tree covers is served (it is a prefix of what the tile will hold)."""
        size = self.size() if size is None else size
        if index * TILE_WIDTH + width > level_width(size, level):
            raise TileError(
                f"beyond the tree: the log has {size} entries, so level {level} has "
                f"{level_width(size, level)} hashes, not the {index * TILE_WIDTH + width} "
                f"this tile needs"
            )
        start = index * TILE_WIDTH
        if level == 0:
            return b"".join(self._leaf_hashes(start, start + width))
        # A hash of level L is the root of a full tile of level L - 1, kept with that tile.
        self._make_full_tiles(level - 1, start + width)
        rows = self.db.execute(
            "SELECT root FROM tlog_tiles WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx",
            [level - 1, start, start + width],
        ).fetchall()
        return b"".join(bytes(r[0]) for r in rows)

    def _make_full_tiles(self, level: int, count: int) -> None:
        """Make sure full tiles ``0..count-1`` of ``level`` are kept (with their roots): they
        are made in order, once, and never change. Level 0's hashes are the entries' own, so
        only its tiles' roots are kept."""
        made = self.db.execute(
            "SELECT COUNT(*) FROM tlog_tiles WHERE level = ?", [level]
        ).fetchone()[0]
        if made >= count:
            return
        if level > 0:
            self._make_full_tiles(level - 1, count * TILE_WIDTH)
        rows = []
        for index in range(made, count):
            data = self.tile(level, index, TILE_WIDTH)
            root = merkle.perfect_root(_split(data))
            rows.append((level, index, None if level == 0 else data, root))
        with transaction(self.db):
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO tlog_tiles (level, idx, data, root) VALUES (?, ?, ?, ?)",
                rows,
            )

    def bundle(self, index: int, width: int = TILE_WIDTH, *, size: int | None = None) -> bytes:
        """Entry bundle ``index``, ``width`` entries."""
        size = self.size() if size is None else size
        if index * TILE_WIDTH + width > size:
            raise TileError(
                f"beyond the tree: the log has {size} entries, not the "
                f"{index * TILE_WIDTH + width} this entry bundle needs"
            )
        start = index * TILE_WIDTH
        entries = [
            bytes(e)
            for (e,) in self.db.execute(
                "SELECT entry FROM tlog_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                [start, start + width],
            )
        ]
        return encode_bundle(entries)

    def file(self, path: str, *, size: int | None = None) -> bytes:
        """A tile or bundle by its path under ``log/`` (``tile/0/000``, ``tile/entries/001.p/5``);
        :class:`TileError` (a reason) if it is not a path of this tree."""
        ref = parse_path(path)
        if ref.entries:
            return self.bundle(ref.index, ref.width, size=size)
        return self.tile(ref.level, ref.index, ref.width, size=size)

    def fetch(self, size: int) -> Callable[[str], bytes | None]:
        """A :data:`certreg.verifier.tlog.tiles.Fetch` over this log at ``size`` entries."""

        def fetch(path: str) -> bytes | None:
            try:
                return self.file(path, size=size)
            except TileError:
                return None

        return fetch

    def root(self, size: int) -> bytes:
        """The root hash of the tree of the first ``size`` entries."""
        return TileReader(size, self.fetch(size)).root()

    # -- checkpoints -----------------------------------------------------------------------

    def latest(self) -> SignedCheckpoint | None:
        """The latest signed checkpoint, with its cosignatures."""
        row = self.db.execute(
            "SELECT size, root, note, cosignatures, signed_at FROM tlog_checkpoints "
            "ORDER BY size DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return SignedCheckpoint(row[0], bytes(row[1]), row[2] + row[3], row[4])

    def checkpoint(self) -> SignedCheckpoint | None:
        """The checkpoint to serve: a new one is signed first if the tree grew and the latest
        is at least :attr:`interval` seconds old (or there is none yet)."""
        latest = self.latest()
        if self.signer is None:
            return latest
        size = self.size()
        if latest is not None:
            if latest.size >= size:
                return latest
            age = self.clock() - datetime.fromisoformat(latest.signed_at).timestamp()
            if age < self.interval:
                return latest
        return self.sign(size)

    def retry_after(self) -> int:
        """Whole seconds until a new checkpoint may be signed (at least 1): what is left of
        :attr:`interval` since the latest one was signed."""
        latest = self.latest()
        if latest is None:
            return 1
        age = self.clock() - datetime.fromisoformat(latest.signed_at).timestamp()
        return max(1, math.ceil(self.interval - age))

    def sign(self, size: int | None = None) -> SignedCheckpoint | None:
        """Sign a checkpoint of the tree at ``size`` entries (now by default), unless one of
        that size or larger is stored already (another process signed meanwhile)."""
        if self.signer is None:
            raise LogError("signing a checkpoint needs the log key (the key store's passphrase)")
        size = self.size() if size is None else size
        signer = self.signer()
        root = self.root(size)  # outside the write lock: the first tiles may take a while
        text = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
        now = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="microseconds")
        with transaction(self.db):
            latest = self.latest()
            signed = latest is None or latest.size < size
            if signed:
                self.db.execute(
                    "INSERT INTO tlog_checkpoints (size, root, note, signed_at) "
                    "VALUES (?, ?, ?, ?)",
                    [size, root, text, now],
                )
        point = self.latest()
        if signed and point is not None and self.on_signed is not None:
            self.on_signed(point)  # outside the transaction: witnesses are asked after it
        return point

    # -- proofs ----------------------------------------------------------------------------

    def proof(self, credential: str) -> str:
        """The C2SP tlog-proof@v1 of the entry that signed ``credential`` (its SHA-256, hex),
        against the latest checkpoint (signed now if due and a signer is given)."""
        row = self.db.execute(
            "SELECT idx, entry FROM tlog_entries WHERE credential = ? ORDER BY idx LIMIT 1",
            [credential.lower()],
        ).fetchone()
        if row is None:
            raise LogError(f"no entry of the log signed the credential {credential[:16]}…")
        index = int(row[0])
        point = self.checkpoint()
        if point is None or point.size <= index:
            raise NotYetSigned(index, self.retry_after())
        reader = TileReader(point.size, self.fetch(point.size))
        try:
            path = merkle.inclusion_proof(index, point.size, reader.subtree)
        except TileError as exc:
            raise LogError(f"the log's tiles are incomplete: {exc}") from None
        # The entry itself rides in the proof's extra data, so that a verifier offline can see
        # that the entry proven is the one naming this credential (its hash is the leaf).
        return TlogProof(index, tuple(path), point.note, bytes(row[1])).text

    # -- proofs of any entry, and of a certification's entries ------------------------------

    def proof_of(self, index: int) -> str:
        """The C2SP tlog-proof@v1 of entry ``index`` (with the entry in its extra data), against
        the latest checkpoint (signed now if due and a signer is given); :class:`LogError` if
        there is no such entry or no signed checkpoint holds it yet."""
        row = self.db.execute("SELECT entry FROM tlog_entries WHERE idx = ?", [index]).fetchone()
        if row is None:
            raise LogError(f"the log has no entry {index}")
        [text] = self._proofs([(index, bytes(row[0]))])
        return text

    def certification_entries(
        self, *, cert: str | None = None, number: str | None = None
    ) -> list[tuple[int, bytes]]:
        """(index, entry) of every entry about one certification, in log order: the one whose
        ``cert`` is ``cert`` (SHA-256 of its first credential, the grant's), or the one numbered
        ``number`` (the number is in the entries only where the scheme publishes it, so it is
        looked up in the certifications table). Read through indexes: the grant's entry names
        ``cert`` as its credential, and every entry is tied to its decision's audit event,
        whose subject is the certification."""
        if (cert is None) == (number is None):
            raise ValueError("give cert or number, not both")
        if number is not None:
            row = self.db.execute(
                "SELECT id FROM certifications WHERE number = ?", [number]
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT e.subject FROM tlog_entries t JOIN events e ON e.seq = t.event_seq "
                "WHERE t.credential = ? ORDER BY t.idx LIMIT 1",
                [str(cert).lower()],
            ).fetchone()
        if row is None:
            return []
        found = self.db.execute(
            "SELECT t.idx, t.entry FROM events e JOIN tlog_entries t ON t.event_seq = e.seq "
            "WHERE e.subject = ? ORDER BY t.idx",
            [row[0]],
        ).fetchall()
        entries = [(int(i), bytes(e)) for i, e in found]
        if cert is not None:  # the subject's entries are the certification's: check, cheaply
            entries = [(i, e) for i, e in entries if json.loads(e).get("cert") == cert.lower()]
        return entries

    def certification_proofs(
        self,
        *,
        cert: str | None = None,
        number: str | None = None,
        until: datetime | None = None,
    ) -> list[str]:
        """The tlog-proofs of the entries of one certification (:meth:`certification_entries`),
        those whose ``at`` is not after ``until`` if given, all against the same latest
        checkpoint; :class:`LogError` if that checkpoint does not hold them all yet."""
        entries = self.certification_entries(cert=cert, number=number)
        if until is not None:
            entries = [(i, e) for i, e in entries if _entry_at(e) <= until]
        return self._proofs(entries) if entries else []

    def _proofs(self, entries: list[tuple[int, bytes]]) -> list[str]:
        """The proofs of ``entries`` ((index, entry) pairs), against one checkpoint."""
        point = self.checkpoint()
        last = max(index for index, _ in entries)
        if point is None or point.size <= last:
            raise NotYetSigned(last, self.retry_after())
        reader = TileReader(point.size, self.fetch(point.size))
        out = []
        for index, entry in entries:
            try:
                path = merkle.inclusion_proof(index, point.size, reader.subtree)
            except TileError as exc:
                raise LogError(f"the log's tiles are incomplete: {exc}") from None
            out.append(TlogProof(index, tuple(path), point.note, entry).text)
        return out


def _entry_at(entry: bytes) -> datetime:
    """An entry's ``at`` (UTC, seconds, as the entry format writes it) as an aware datetime."""
    return datetime.fromisoformat(str(json.loads(entry)["at"]).replace("Z", "+00:00"))


def _split(data: bytes) -> list[bytes]:
    return [data[i : i + merkle.HASH_SIZE] for i in range(0, len(data), merkle.HASH_SIZE)]


def write_log_files(files: LogFiles, out: Path) -> dict[str, int]:
    """Write the log as ``certreg publish``'s bundle holds it, under ``out`` (the bundle's
    ``log/``): the latest checkpoint and every tile and entry bundle of its tree. Returns the
    counts. Nothing is written before the first checkpoint."""
    point = files.checkpoint()
    counts = {"log_entries": 0, "log_tiles": 0}
    if point is None:
        return counts
    counts["log_entries"] = point.size
    for path, data in _tree_files(files, point.size):
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        counts["log_tiles"] += 1
    out.mkdir(parents=True, exist_ok=True)  # an empty log has a checkpoint and no tile
    (out / "checkpoint").write_text(point.note, encoding="utf-8")
    return counts


def _tree_files(files: LogFiles, size: int) -> Iterator[tuple[str, bytes]]:
    for ref in tiles_for_size(size):
        yield ref.path, files.tile(ref.level, ref.index, ref.width, size=size)
    for ref in bundles_for_size(size):
        yield ref.path, files.bundle(ref.index, ref.width, size=size)
