"""The body's log submits its checkpoints to witnesses (issue 13 item 2; docs/transparency.md,
"The log's side").

The witnesses are the operator's configuration, kept in issuer.db (``tlog_witnesses``, migration
V16) and checked with :class:`~certreg.verifier.tlog.submit.WitnessConfig`:

    certreg log witness add https://witness.example/w1 --key 'witness.example/w1+…'
    certreg log witness list
    certreg log witness remove witness.example/w1

:func:`witness_latest` submits the latest signed checkpoint to every witness that has not
cosigned it yet, with a consistency proof from the size that witness last cosigned (kept per
witness; a 409 is answered once from the size the witness states), and stores the verified
cosignature lines beside the checkpoint (``tlog_checkpoints.cosignatures``), so that
``/log/checkpoint``, every proof and ``certreg publish``'s bundle carry them. What each witness
answered last (when, the size, why it refused) is kept for ``certreg log status``.

It never runs inside a decision's transaction and holds no write lock while it waits for a
witness: ``certreg serve`` runs it in a background thread after each new checkpoint
(:class:`BackgroundWitnessing`), ``certreg log checkpoint`` and ``certreg publish`` inline.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from certreg.issuer.db import connect, transaction
from certreg.issuer.logfiles import LogError, LogFiles, SignedCheckpoint
from certreg.verifier.tlog import merkle, note
from certreg.verifier.tlog.submit import (
    DEFAULT_TIMEOUT,
    SubmitError,
    SubmitResult,
    WitnessConfig,
    add_cosignatures,
    submit_to_witnesses,
)
from certreg.verifier.tlog.tiles import TileError, TileReader

__all__ = [
    "RETRY_AFTER",
    "BackgroundWitnessing",
    "WitnessState",
    "add_witness",
    "remove_witness",
    "witness_latest",
    "witnesses",
]

logger = logging.getLogger("certreg.log.witnesses")

#: A witness that has not cosigned the latest checkpoint is asked again at most this often
#: (seconds) by ``certreg serve``, even when the log does not grow.
RETRY_AFTER = 60.0


@dataclass(frozen=True)
class WitnessState:
    """A configured witness and what it answered last."""

    config: WitnessConfig
    cosigned_size: int  # the size of the last checkpoint it cosigned (0: none yet)
    cosigned_at: str | None
    tried_at: str | None  # the last submission: when, of which size, and its outcome
    tried_size: int | None
    ok: bool | None
    status: int | None
    reason: str

    @property
    def name(self) -> str:
        return self.config.name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_witness(
    db: Database, url: str, verifier_key: str, *, allow_private: bool = False
) -> WitnessConfig:
    """Configure a witness (named after its key); :class:`SubmitError` says why one is refused
    (a malformed URL or key, a key that is not a cosignature key, a name already configured)."""
    try:
        name = note.parse_verifier_key(verifier_key).name
    except note.NoteError as error:
        raise SubmitError(f"not a witness verifier key: {error}") from None
    config = WitnessConfig(url, name, verifier_key, allow_private)
    with transaction(db):
        try:
            db.execute(
                "INSERT INTO tlog_witnesses (name, url, verifier_key, allow_private, added_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [name, url, verifier_key, int(allow_private), _now()],
            )
        except sqlite3.IntegrityError:
            raise SubmitError(
                f"witness {name} is configured already (remove it first to change it)"
            ) from None
    return config


def remove_witness(db: Database, name: str) -> bool:
    """Stop submitting to witness ``name``; False if there is none of that name. Cosignatures
    it gave stay on the checkpoints they were given for."""
    with transaction(db):
        cursor = db.execute("DELETE FROM tlog_witnesses WHERE name = ?", [name])
    return cursor.rowcount > 0


def witnesses(db: Database) -> list[WitnessState]:
    """The configured witnesses, by name."""
    rows = db.execute(
        "SELECT url, name, verifier_key, allow_private, cosigned_size, cosigned_at, tried_at, "
        "tried_size, ok, status, reason FROM tlog_witnesses ORDER BY name"
    ).fetchall()
    return [_state(*row) for row in rows]


def _state(
    url: str, name: str, key: str, private: int, size: int, cosigned_at: str | None,
    tried_at: str | None, tried_size: int | None, ok: int | None, status: int | None, reason: str,
) -> WitnessState:  # fmt: skip
    config = WitnessConfig(url, name, key, bool(private))
    ok_ = None if ok is None else bool(ok)
    return WitnessState(config, size, cosigned_at, tried_at, tried_size, ok_, status, reason)


def witness_latest(files: LogFiles, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, SubmitResult]:
    """Submit the latest signed checkpoint to every configured witness that has not cosigned
    it, one after the other; store the cosignatures obtained and each witness's answer.
    Returns the answers by witness name (empty when no witness is behind)."""
    db = files.db
    row = db.execute(
        "SELECT size, note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return {}
    size, signed = int(row[0]), str(row[1])  # the log's own signature only
    results: dict[str, SubmitResult] = {}
    reader = TileReader(size, files.fetch(size))

    def proof_for(old_size: int) -> list[bytes]:
        if old_size <= 0 or old_size >= size:
            return []
        try:
            return merkle.consistency_proof(old_size, size, reader.subtree)
        except TileError as exc:
            raise LogError(f"the log's tiles are incomplete: {exc}") from None

    for state in witnesses(db):
        if state.cosigned_size >= size:
            continue
        try:
            _, answers = submit_to_witnesses(
                [state.config], signed, state.cosigned_size, proof_for, timeout=timeout
            )
            result = answers[state.name]
        except (SubmitError, LogError) as error:
            result = SubmitResult(False, str(error))
        _record(db, state.name, size, result)
        results[state.name] = result
        if not result.ok:
            logger.warning(
                "witness %s did not cosign checkpoint %d: %s", state.name, size, result.reason
            )
    return results


def _record(db: Database, name: str, size: int, result: SubmitResult) -> None:
    """Keep a witness's answer, and its cosignature beside the checkpoint, in one transaction."""
    now = _now()
    with transaction(db):
        if result.ok:
            (base, cosignatures) = db.execute(
                "SELECT note, cosignatures FROM tlog_checkpoints WHERE size = ?", [size]
            ).fetchone()
            merged = add_cosignatures(base + cosignatures, result.lines)
            # The log's own note stays as signed; only the lines after it change.
            added = merged[len(base) :] if merged.startswith(base) else cosignatures
            db.execute("UPDATE tlog_checkpoints SET cosignatures = ? WHERE size = ?", [added, size])
            db.execute(
                "UPDATE tlog_witnesses SET cosigned_size = MAX(cosigned_size, ?), "
                "cosigned_at = ? WHERE name = ?",
                [size, now, name],
            )
        db.execute(
            "UPDATE tlog_witnesses SET tried_at = ?, tried_size = ?, ok = ?, status = ?, "
            "reason = ? WHERE name = ?",
            [now, size, int(result.ok), result.status, result.reason, name],
        )


class BackgroundWitnessing:
    """``certreg serve``'s witnessing: :meth:`__call__` (a :class:`LogFiles` ``on_signed``
    hook, called where a checkpoint was just signed, under the server's lock) only starts a
    thread, which submits on a connection of its own; one run at a time, and a checkpoint
    signed during a run is submitted by another run right after it. :meth:`retry_if_due`
    asks again a witness that did not cosign the latest checkpoint."""

    def __init__(
        self,
        db_path: Path,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry_after: float = RETRY_AFTER,
    ) -> None:
        self.db_path = db_path
        self.timeout = timeout
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._looked = -float("inf")  # time.monotonic() of the last look for a retry due

    def retry_if_due(self, db: Database) -> None:
        """Start a run if a witness has not cosigned the latest checkpoint and was last asked
        at least :attr:`retry_after` seconds ago (it was down, or refused): without it, a log
        that stops growing would keep an uncosigned checkpoint. Called when the checkpoint or
        a proof is served; looks at issuer.db at most once a second."""
        now = time.monotonic()
        if self._running or now - self._looked < min(1.0, self.retry_after):
            return
        self._looked = now
        cutoff = datetime.now(UTC) - timedelta(seconds=self.retry_after)
        due = db.execute(
            "SELECT 1 FROM tlog_witnesses WHERE cosigned_size < "
            "(SELECT COALESCE(MAX(size), 0) FROM tlog_checkpoints) "
            "AND (tried_at IS NULL OR tried_at <= ?) LIMIT 1",
            [cutoff.isoformat(timespec="seconds")],
        ).fetchone()
        if due is not None:
            self()

    def __call__(self, point: SignedCheckpoint | None = None) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        threading.Thread(target=self._run, name="certreg-log-witnesses", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                db = connect(self.db_path)
                try:
                    witness_latest(LogFiles(db), timeout=self.timeout)
                finally:
                    db.conn.close()
            except Exception:  # a background thread has no caller to tell: log it
                logger.exception("submitting the log's checkpoint to its witnesses failed")
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False


def database_path(db: Database) -> Path:
    """The file of ``db`` (so that a background thread opens its own connection)."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    raise LogError("the log's database is not a file")
