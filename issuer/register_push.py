"""The issuer's side of the public register: read issuer.db, push the public rows.

Every committed change reaches register.db at once: :func:`attach` sets the body's
``on_change`` hook (called by ``issuer.service`` after each decision's transaction commits, and
by ``issuer.bulk`` after each batch), and the hook pushes what changed in one register
transaction. A push recomputes the certification's whole public view from issuer.db, so it is
idempotent: pushing twice, or late, is always right.

A push that fails (register.db locked for 30 s, disk full) never undoes or fails the decision,
which has committed: it is logged, the keys are kept, and the next push retries them;
``certreg register rebuild`` rebuilds everything from issuer.db in any case.

What is read from issuer.db is chosen here and in ``register.push`` by column name; persons'
e-mail, birth date, address, national id and notes, assessments, refusals, evidence, reasons
and tokens are never selected.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from keys.store import META_FILE, KeyStore
from register import push
from register.db import open_register
from register.fts import enable_search
from verifier.dates import format_datetime

if TYPE_CHECKING:
    from issuer.service import CertificationBody

__all__ = [
    "RegisterSync",
    "attach",
    "push_body",
    "push_certification",
    "push_certifications",
    "push_checkpoints",
    "push_scheme",
    "rebuild",
    "register_path_for",
]

log = logging.getLogger("certreg.register")

_CHUNK = 500  # numbers per query: well under SQLite's variable limit


def register_path_for(body: CertificationBody) -> Path:
    """``register.db`` next to issuer.db (the data folder), the default everywhere."""
    return _data_dir(body) / "register.db"


def _data_dir(body: CertificationBody) -> Path:
    row = body.db.execute("PRAGMA database_list").fetchone()  # (seq, name, file) of main
    return Path(row[2]).parent


def _now(body: CertificationBody) -> str:
    return format_datetime(body.clock())


# --------------------------------------------------------------------------------------------
# Reading issuer.db


def _query(db: Database, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = db.execute(sql, list(params))
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, r, strict=True)) for r in cursor]


def _schemes(db: Database) -> dict[str, dict[str, Any]]:
    """Each scheme's id, code, and its current version's name and policy."""
    return {
        r["id"]: r
        for r in _query(
            db,
            "SELECT s.id, s.code, v.name, v.publication_policy FROM schemes s "
            "JOIN scheme_versions v ON v.scheme_id = s.id AND v.version = "
            "(SELECT MAX(version) FROM scheme_versions WHERE scheme_id = s.id)",
        )
    }


def _publics(
    db: Database, where: str, params: Sequence[Any], schemes: dict[str, dict[str, Any]]
) -> dict[str, push.PublicCertification | None]:
    """The public view of the certifications ``where`` selects, by number."""
    certs = _query(
        db,
        "SELECT c.id, c.number, c.scheme_id, c.status, c.status_since, c.valid_from, "
        "c.valid_until, c.updated_at, p.full_name, p.consent_publish, p.country "
        f"FROM certifications c JOIN persons p ON p.id = c.person_id WHERE {where}",
        params,
    )
    if not certs:
        return {}
    ids = [c["id"] for c in certs]
    scope: dict[str, list[dict[str, Any]]] = {}
    decisions: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for r in _query(
            db,
            "SELECT cs.certification_id, cs.scope_code AS code, "
            "COALESCE(si.label, cs.scope_code) AS label, cs.conditions, cs.status, cs.since "
            "FROM certification_scope cs JOIN certifications c ON c.id = cs.certification_id "
            "LEFT JOIN scope_items si ON si.scheme_id = c.scheme_id AND si.code = cs.scope_code "
            f"WHERE cs.certification_id IN ({marks})",
            chunk,
        ):
            scope.setdefault(r.pop("certification_id"), []).append(r)
        # Type and dates only: reasons, evidence and the decision-maker stay private.
        for r in _query(
            db,
            "SELECT certification_id, type, effective_date, decided_at FROM decisions "
            f"WHERE certification_id IN ({marks}) ORDER BY decided_at, rowid",
            chunk,
        ):
            decisions.setdefault(r.pop("certification_id"), []).append(r)
    out: dict[str, push.PublicCertification | None] = {}
    for c in certs:
        holder = {k: c[k] for k in ("full_name", "consent_publish", "country")}
        out[c["number"]] = push.public_certification(
            c, holder, schemes[c["scheme_id"]], scope.get(c["id"], []), decisions.get(c["id"], [])
        )
    return out


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --------------------------------------------------------------------------------------------
# Pushing


def open_for_push(path: str | Path) -> Database:
    """register.db (created if missing) with its schema and its full-text index."""
    reg = open_register(path, create=True)
    enable_search(reg)  # idempotent; its triggers then follow every push
    return reg


def _register(target: Database | str | Path) -> Database:
    return target if isinstance(target, Database) else open_for_push(target)


def push_certifications(
    body: CertificationBody, numbers: Iterable[str], register: Database | str | Path
) -> int:
    """Push these certifications and every other certification of their holders (a corrected
    name or a changed consent applies to all of them), in one register transaction. Returns
    how many numbers were pushed."""
    db = body.db
    wanted = sorted({push.normalise(n) for n in numbers})
    if not wanted:
        return 0
    persons: set[str] = set()
    for chunk in _chunks(wanted):
        marks = ",".join("?" * len(chunk))
        persons |= {
            r[0]
            for r in db.execute(
                f"SELECT person_id FROM certifications WHERE number IN ({marks})", list(chunk)
            )
        }
    everything = set(wanted)
    publics: dict[str, push.PublicCertification | None] = {}
    schemes = _schemes(db)
    for chunk in _chunks(sorted(persons)):
        marks = ",".join("?" * len(chunk))
        found = _publics(db, f"c.person_id IN ({marks})", chunk, schemes)
        publics.update(found)
        everything |= set(found)
    reg = _register(register)
    push.write_certifications(reg, everything, publics, at=_now(body))
    return len(everything)


def push_certification(
    body: CertificationBody, number: str, register: Database | str | Path
) -> int:
    return push_certifications(body, [number], register)


def push_scheme(body: CertificationBody, scheme_id: str, register: Database | str | Path) -> int:
    """Push a scheme's public description and catalogue. When its policy, name or code changed
    (a new version), every certification of the scheme is pushed again too: its rows move
    between ``certifications`` and ``lookup``, or leave. Returns the certifications pushed."""
    reg = _register(register)
    db = body.db
    rows = _query(db, "SELECT id, code, accredited FROM schemes WHERE id = ?", [scheme_id])
    now = _now(body)
    if not rows:
        push.write_scheme(reg, None, [], at=now, scheme_id=scheme_id)
        return 0
    version = _query(
        db,
        "SELECT * FROM scheme_versions WHERE scheme_id = ? ORDER BY version DESC LIMIT 1",
        [scheme_id],
    )[0]
    row = push.scheme_row(rows[0], version)
    items = push.scope_item_rows(
        scheme_id,
        _query(db, "SELECT * FROM scope_items WHERE scheme_id = ? ORDER BY code", [scheme_id]),
    )
    before = reg.conn.execute(
        "SELECT publication_policy, name, code FROM schemes WHERE id = ?", [scheme_id]
    ).fetchone()
    push.write_scheme(reg, row, items, at=now)
    after = (row["publication_policy"], row["name"], row["code"])
    if before is not None and tuple(before) == after:
        return 0
    numbers = [
        r[0]
        for r in db.execute("SELECT number FROM certifications WHERE scheme_id = ?", [scheme_id])
    ]
    schemes = _schemes(db)
    for chunk in _chunks(numbers, 5000):
        marks = ",".join("?" * len(chunk))
        publics = _publics(db, f"c.number IN ({marks})", chunk, schemes)
        push.write_certifications(reg, chunk, publics, at=now)
    return len(numbers)


def push_body(
    body: CertificationBody, register: Database | str | Path, *, keys_dir: Path | None = None
) -> None:
    """The body's public row, its key history (from the key store, if there is one) and the
    audit checkpoints not yet in the register."""
    reg = _register(register)
    keys_dir = keys_dir or _data_dir(body) / "keys"
    keys = None
    if (keys_dir / META_FILE).is_file():
        keys = [push.key_row(k) for k in KeyStore(keys_dir).keys()]
    info = body.info
    push.write_body(reg, push.body_row(info, info["created_at"]), keys, at=_now(body))
    push_checkpoints(body, reg)


def push_checkpoints(body: CertificationBody, register: Database) -> int:
    last = register.conn.execute("SELECT COALESCE(MAX(seq), -1) FROM audit_checkpoints").fetchone()
    rows = _query(
        body.db,
        "SELECT seq, count, head_hash, at, signed FROM checkpoints WHERE seq > ? ORDER BY seq",
        [last[0]],
    )
    push.write_checkpoints(register, [push.checkpoint_row(r) for r in rows])
    return len(rows)


# --------------------------------------------------------------------------------------------
# Rebuild


def rebuild(body: CertificationBody, register_path: str | Path) -> dict[str, int]:
    """Build register.db afresh from issuer.db and swap it in atomically (temp file +
    os.replace): a reader opens either the old register or the new one, never half of one.

    Changes committed while it runs (by a running ``certreg serve``) are pushed again into the
    new file afterwards: they may have gone to the old one.
    """
    target = Path(register_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.rebuild-{os.getpid()}")
    for leftover in _sqlite_files(temp):
        leftover.unlink(missing_ok=True)
    db = body.db
    counts = {"directory": 0, "number_lookup": 0, "on_request": 0, "schemes": 0}
    try:
        reg = open_register(temp, create=True)  # the search index comes last, in one pass
        # A fresh private file nobody reads yet: no journal needed until it is swapped in.
        reg.conn.execute("PRAGMA journal_mode = OFF")
        reg.conn.execute("PRAGMA synchronous = OFF")
        since = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        push_body(body, reg)
        for (scheme_id,) in db.execute("SELECT id FROM schemes ORDER BY id").fetchall():
            push_scheme(body, scheme_id, reg)
            counts["schemes"] += 1
        schemes = _schemes(db)
        now = _now(body)
        last = ""
        while True:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT number FROM certifications WHERE number > ? ORDER BY number LIMIT ?",
                    [last, 5000],
                )
            ]
            if not ids:
                break
            last = ids[-1]
            marks = ",".join("?" * len(ids))
            publics = _publics(db, f"c.number IN ({marks})", ids, schemes)
            push.write_certifications(reg, ids, publics, at=now)
            for number in ids:
                public = publics.get(number)
                counts[public.policy if public else "on_request"] += 1
        push.refresh_facets(reg)
        enable_search(reg)  # indexes the rows written above in one pass
        reg.conn.execute("PRAGMA synchronous = FULL")
        reg.conn.execute("PRAGMA journal_mode = WAL")
        reg.conn.execute("VACUUM")
        reg.conn.close()
        os.chmod(temp, 0o644)  # public by nature: Datasette may run as another user
        _swap(temp, target)
    finally:
        for leftover in _sqlite_files(temp):
            leftover.unlink(missing_ok=True)
    # Catch up with what was committed meanwhile (it may have gone to the replaced file).
    catch_up(body, target, since)
    return counts


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _swap(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``. The old file's write-ahead log is checkpointed and
    removed first: SQLite would otherwise replay it into the new file."""
    if target.exists():
        try:
            conn = sqlite3.connect(target, timeout=30)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
        except sqlite3.DatabaseError:
            pass  # a damaged register is what rebuild is for
    os.replace(new, target)
    for stale in _sqlite_files(target)[1:]:
        stale.unlink(missing_ok=True)


def catch_up(body: CertificationBody, register_path: str | Path, since_seq: int) -> int:
    """Push everything the audit log shows changed after event ``since_seq``."""
    db = body.db
    subjects = [
        r[0]
        for r in db.execute(
            "SELECT DISTINCT subject FROM events WHERE seq > ? AND subject IS NOT NULL",
            [since_seq],
        )
    ]
    if not subjects:
        return 0
    reg = open_for_push(register_path)
    numbers: set[str] = set()
    schemes: set[str] = set()
    for chunk in _chunks(subjects):
        marks = ",".join("?" * len(chunk))
        numbers |= {
            r[0]
            for r in db.execute(
                f"SELECT number FROM certifications WHERE id IN ({marks}) OR number IN ({marks}) "
                f"OR person_id IN ({marks})",
                [*chunk, *chunk, *chunk],
            )
        }
        schemes |= {
            r[0] for r in db.execute(f"SELECT id FROM schemes WHERE id IN ({marks})", list(chunk))
        }
    for scheme_id in sorted(schemes):
        push_scheme(body, scheme_id, reg)
    pushed = push_certifications(body, numbers, reg) if numbers else 0
    push_body(body, reg)
    reg.conn.close()
    return pushed


# --------------------------------------------------------------------------------------------
# The hook


class RegisterSync:
    """The body's ``on_change`` hook: ``sync(kind, *keys)`` pushes what changed.

    Kinds: ``"certification"`` (numbers), ``"person"`` (person ids: consent or name changed),
    ``"scheme"`` (scheme ids), ``"body"`` (the body, its keys, checkpoints).
    Called inside a transaction of the caller's, it waits: what is not committed is not
    published (the keys are pushed with the next change after the commit).
    """

    def __init__(self, body: CertificationBody, path: str | Path) -> None:
        self.body = body
        self.path = Path(path)
        self._lock = threading.Lock()
        self._register: Database | None = None
        self._inode: int | None = None
        self._pending: dict[str, set[str]] = {}
        self._keys_mtime: float | None = None
        self._checked_body = False

    def __call__(self, kind: str, *keys: str) -> None:
        with self._lock:
            self._pending.setdefault(kind, set()).update(keys)
            if self.body.db.conn.in_transaction:
                return
            try:
                self._flush()
            except Exception:  # the decision has committed: never fail it for the register
                log.exception(
                    "register.db at %s was not updated (retried with the next change; "
                    "`certreg register rebuild` repairs it)",
                    self.path,
                )

    def flush(self) -> None:
        """Push whatever earlier calls left pending (raises if the register is unreachable)."""
        with self._lock:
            self._flush()

    def _open(self) -> Database:
        # After `certreg register rebuild` (another process) the path names a new file.
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if self._register is None or inode != self._inode:
            if self._register is not None:
                self._register.conn.close()
                self._register = None
            self._register = open_for_push(self.path)
            self._inode = os.stat(self.path).st_ino
            self._checked_body = False
        return self._register

    def _flush(self) -> None:
        reg = self._open()
        pending = self._pending
        body_changed = bool(pending.pop("body", None)) or not self._checked_body
        keys_file = _data_dir(self.body) / "keys" / META_FILE
        mtime = keys_file.stat().st_mtime if keys_file.exists() else None
        if body_changed or mtime != self._keys_mtime:  # e.g. `certreg keys rotate`
            push_body(self.body, reg)
            self._keys_mtime, self._checked_body = mtime, True
        for scheme_id in sorted(pending.get("scheme", ())):
            push_scheme(self.body, scheme_id, reg)
            pending["scheme"].discard(scheme_id)
        numbers = set(pending.get("certification", ()))
        persons = sorted(pending.get("person", ()))
        for chunk in _chunks(persons):
            marks = ",".join("?" * len(chunk))
            numbers |= {
                r[0]
                for r in self.body.db.execute(
                    f"SELECT number FROM certifications WHERE person_id IN ({marks})", list(chunk)
                )
            }
        if numbers:
            push_certifications(self.body, numbers, reg)
        push_checkpoints(self.body, reg)  # e.g. `certreg audit checkpoint` meanwhile
        self._pending = {}


def attach(body: CertificationBody, register_path: str | Path | None = None) -> RegisterSync:
    """Make every committed change of ``body`` reach register.db (``DATA/register.db`` by
    default) at once."""
    sync = RegisterSync(body, register_path or register_path_for(body))
    body.on_change = sync
    return sync
