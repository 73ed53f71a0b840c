"""The issuer's side of the public register: read issuer.db, push the public rows.

Every committed change reaches register.db at once: :func:`attach` sets the body's
``on_change`` hook (called by ``issuer.service`` after each decision's transaction commits, and
by ``issuer.bulk`` after each batch), and the hook pushes what changed in one register
transaction. A push recomputes the certification's whole public view from issuer.db, so it is
idempotent: pushing twice, or late, is always right.

Nothing is missed, even by a process killed between its commit and its push: register.db keeps
a watermark (``register_meta.applied_event_seq``), the last audit event of issuer.db whose
effects it holds. Every push, in the same register transaction, applies *every* event after
the watermark (its subjects name the certifications, persons and schemes that changed), not
only the caller's own, then moves the watermark. :func:`attach` does the same when a process
starts (every ``certreg`` command, ``certreg serve``), so the next command after a crash
catches the register up before it does anything else. A register without a watermark, of an
older format, or sealed with another lookup secret is rebuilt (:func:`rebuild`).

Pushing, catching up after a crash and rebuilding are one function, :func:`sync`, run from a
different starting point: the register's watermark for the first two, the start of the log
(``since=0``, into an empty file) for a rebuild. The hook also pushes the keys its caller
names (:func:`catch_up`), for a change made without an audit event.

A push that fails (register.db locked for 30 s, disk full) never undoes or fails the decision,
which has committed: it is logged, and the next push (of this process or the next command)
applies it from the watermark; ``certreg register rebuild`` rebuilds everything from issuer.db
in any case.

The number_lookup records are sealed with the body's lookup secret (``register.push``,
"Numbers and sealing"): ``DATA/register-lookup.secret``, created on first use, mode 0600. It
never goes into register.db or the published bundle; a replica that answers lookups by number
needs a copy (``certreg publish`` says how).

What is read from issuer.db is chosen here and in ``register.push`` by column name; persons'
e-mail, birth date, address, national id and notes, assessments, refusals, evidence, reasons
and tokens are never selected. Holders' share links are pushed sealed, each with a key derived
from its own token (:func:`push_share_pages`, ``register.shares``): the public site serves
them to whoever has the link, and to nobody else.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from certreg.issuer import sharing
from certreg.issuer.logo import body_logo
from certreg.issuer.service import LifecycleError
from certreg.keys.store import META_FILE, KeyStore
from certreg.register import push
from certreg.register.credentials import proof_digest
from certreg.register.db import open_register
from certreg.register.fts import enable_search
from certreg.verifier.asof import SignedState, signed_state
from certreg.verifier.issuing import format_datetime

if TYPE_CHECKING:
    from certreg.issuer.service import CertificationBody

__all__ = [
    "LOOKUP_SECRET_FILE",
    "RegisterBehind",
    "RegisterSync",
    "attach",
    "catch_up",
    "lookup_key_for",
    "lookup_secret_path",
    "push_body",
    "push_certification",
    "push_certifications",
    "push_checkpoints",
    "push_issued_credentials",
    "push_scheme",
    "push_share_pages",
    "rebuild",
    "register_path_for",
    "sync",
    "without_start_catch_up",
]

log = logging.getLogger("certreg.register")

_CHUNK = 500  # numbers per query: well under SQLite's variable limit
LOOKUP_SECRET_FILE = "register-lookup.secret"


class RegisterBehind(LifecycleError):
    """register.db could not be brought up to date with issuer.db (the reason says why)."""


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
        "c.valid_until, c.updated_at, p.full_name, p.consent_publish, p.country, "
        # The offline QR payload of its latest credential, as its page shows that credential.
        "(SELECT cr.compact FROM credentials cr WHERE cr.certification_id = c.id "
        "ORDER BY cr.revision DESC LIMIT 1) AS offline_qr "
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
        # Type and dates only: reasons, evidence and the decision-maker stay private; a
        # signing decision adds the scope and expiry its credential states (public already).
        signed = _signed_states(db, chunk, marks)
        for r in _query(
            db,
            "SELECT certification_id, id, type, effective_date, decided_at FROM decisions "
            f"WHERE certification_id IN ({marks}) ORDER BY decided_at, rowid",
            chunk,
        ):
            r["signed"] = signed.get(r.pop("id"))
            decisions.setdefault(r.pop("certification_id"), []).append(r)
    out: dict[str, push.PublicCertification | None] = {}
    for c in certs:
        holder = {k: c[k] for k in ("full_name", "consent_publish", "country")}
        out[c["number"]] = push.public_certification(
            c,
            holder,
            schemes[c["scheme_id"]],
            scope.get(c["id"], []),
            decisions.get(c["id"], []),
            offline_qr=c["offline_qr"],
        )
    return out


def _signed_states(db: Database, ids: Sequence[str], marks: str) -> dict[str, SignedState]:
    """The scope and expiry of the credential each decision on ``ids`` signed (its first,
    lowest revision), by decision id: exact point-in-time answers (``verifier.asof``).

    Only what ``signed_state`` reads is taken out of each document, by SQLite's JSON functions
    (in C): parsing whole credentials in Python was a third of a bulk batch's push, in the
    issuing process. A ``validUntil`` that is not a string is read as absent, as
    ``signed_state`` reads it."""
    members: dict[str, tuple[Any, Any]] = {}
    # ``credentialSubject.result`` (the one member of the subject ``signed_state`` reads) and
    # ``validUntil``, by one ``json_extract`` (one parse of the document): a JSON array of
    # the two, null for a path that is absent. ``result`` is found only in a subject that is
    # an object; one that is not, or has no result, states no scope: no state either way.
    for decision_id, pair in db.execute(
        "SELECT decision_id, "
        "json_extract(document, '$.credentialSubject.result', '$.validUntil') "
        f"FROM credentials WHERE certification_id IN ({marks}) AND decision_id IS NOT NULL "
        "ORDER BY revision DESC",
        list(ids),
    ):
        members[decision_id] = json.loads(pair)  # the lowest revision of the decision wins
    out = {}
    for decision_id, (result, until) in members.items():
        credential = {
            "credentialSubject": {"result": result},
            "validUntil": until if isinstance(until, str) else None,
        }
        state = signed_state(credential)
        if state is not None:
            out[decision_id] = state
    return out


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --------------------------------------------------------------------------------------------
# Pushing


def lookup_secret_path(body: CertificationBody) -> Path:
    """The body's lookup secret: beside issuer.db, private like it."""
    return _data_dir(body) / LOOKUP_SECRET_FILE


_keys: dict[Path, push.LookupKey] = {}
_keys_lock = threading.Lock()


def lookup_key_for(body: CertificationBody) -> push.LookupKey:
    """The body's lookup key (the secret created on first use: 32 random bytes, hex, mode
    0600), known to this process's register readers from now on."""
    path = lookup_secret_path(body)
    with _keys_lock:
        key = _keys.get(path)
        if key is None:
            if not path.exists():
                _create_secret(path)
            secret = push.read_lookup_secret(path)
            push.remember_lookup_secret(secret)
            key = push.LookupKey(secret)
            _keys[path] = key
    return key


def _create_secret(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(push.new_lookup_secret().hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def open_for_push(path: str | Path, key: push.LookupKey | None = None) -> Database:
    """register.db (created if missing) with its schema and its full-text index; with ``key``,
    set as its lookup key when it has none (``push.LookupKeyError`` if it has another)."""
    reg = open_register(path, create=True)
    enable_search(reg)  # idempotent; its triggers then follow every push
    if key is not None:
        push.set_lookup_key(reg, key)
    return reg


def _register(body: CertificationBody, target: Database | str | Path) -> Database:
    if isinstance(target, Database):
        return target
    return open_for_push(target, lookup_key_for(body))


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
    reg = _register(body, register)
    with push.transaction(reg.conn):
        push.write_certifications(reg, everything, publics, at=_now(body))
        push_share_pages(body, reg, everything)
        push_issued_credentials(body, reg, everything)
    return len(everything)


def push_issued_credentials(
    body: CertificationBody, register: Database, numbers: Iterable[str] | None = None
) -> int:
    """The id and proof digest of every credential signed for certifications ``numbers`` (None:
    all), so that the public site's verifier knows what the body issued by a decision
    (``register.credentials``). Returns how many were written."""
    # Only the proof is read out of each document (SQLite's JSON parser, in C): parsing the
    # whole credential in Python was a third of a bulk batch's push. Two paths, one parse:
    # ``json_extract`` then gives a JSON array (the proof, the id) whatever the proof's type,
    # where one path would give a string proof as bare text, like an object's JSON text. A
    # proof that is not an object or array (no signed credential has one) is read from the
    # whole document, parsed, as before.
    sql = (
        "SELECT cr.id, json_extract(cr.document, '$.proof', '$.id') "
        "FROM credentials cr JOIN certifications c ON c.id = cr.certification_id"
    )
    if numbers is None:
        queries: list[tuple[str, list[Any]]] = [(sql, [])]
    else:
        queries = [
            (f"{sql} WHERE c.number IN ({','.join('?' * len(chunk))})", list(chunk))
            for chunk in _chunks(sorted(set(numbers)))
        ]
    written = 0
    for query, params in queries:
        cursor = body.db.execute(query, params)
        # A rebuild reads every credential: a few thousand documents in memory at a time.
        while batch := cursor.fetchmany(_CHUNK):
            rows = [
                {"id": i, "proof_sha256": proof_digest(_proof_of(body, i, proof))}
                for i, proof in batch
            ]
            push.write_issued_credentials(register, rows)
            written += len(rows)
    return written


def _proof_of(body: CertificationBody, credential_id: str, extracted: str | None) -> Any:
    """``{"proof": ...}`` of a credential, from ``[proof, id]`` (JSON text) when its proof is
    an object or array, or else from its whole document."""
    proof = json.loads(extracted)[0] if extracted is not None else None
    if isinstance(proof, dict | list):
        return {"proof": proof}
    row = body.db.execute("SELECT document FROM credentials WHERE id = ?", [credential_id])
    return json.loads(row.fetchone()[0])


def push_share_pages(
    body: CertificationBody, register: Database, numbers: Iterable[str] | None = None
) -> int:
    """The share links of certifications ``numbers`` (None: all), sealed for the public site
    (``issuer.sharing.share_pages``): a share link's creation and revocation are audit events
    about its certification, so every push that touches a certification re-seals its links
    with its current status and credential. Returns how many links were written."""
    rows = sharing.share_pages(body, numbers)
    push.write_share_pages(register, rows)
    return len(rows)


def push_certification(
    body: CertificationBody, number: str, register: Database | str | Path
) -> int:
    return push_certifications(body, [number], register)


def push_scheme(
    body: CertificationBody,
    scheme_id: str,
    register: Database | str | Path,
    *,
    with_certifications: bool = True,
) -> int:
    """Push a scheme's public description, catalogue and names in other languages. When its
    policy, name or code changed (a new version), every certification of the scheme is pushed
    again too: its rows move between ``certifications`` and ``lookup``, or leave. Returns the
    certifications pushed."""
    reg = _register(body, register)
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
    # Its names in other languages are read by the pages beside the signed name (register.
    # records.scheme_name): a change of them alone pushes no certification again.
    names = push.scheme_name_rows(scheme_id, body.scheme_names(scheme_id, version["version"]))
    push.write_scheme(reg, row, items, at=now, names=names)
    after = (row["publication_policy"], row["name"], row["code"])
    if (before is not None and tuple(before) == after) or not with_certifications:
        return 0
    # Sealed until now: their lookup rows are found (to be removed or replaced) by number.
    was_sealed = before is not None and before[0] == "number_lookup"
    numbers = [
        r[0]
        for r in db.execute("SELECT number FROM certifications WHERE scheme_id = ?", [scheme_id])
    ]
    schemes = _schemes(db)
    for chunk in _chunks(numbers, 5000):
        marks = ",".join("?" * len(chunk))
        publics = _publics(db, f"c.number IN ({marks})", chunk, schemes)
        push.write_certifications(
            reg, chunk, publics, at=now, sealed_before=chunk if was_sealed else ()
        )
    return len(numbers)


def push_body(
    body: CertificationBody, register: Database | str | Path, *, keys_dir: Path | None = None
) -> None:
    """The body's public row, its key history (from the key store, if there is one), its logo
    and the audit checkpoints not yet in the register."""
    reg = _register(body, register)
    keys_dir = keys_dir or _data_dir(body) / "keys"
    keys = None
    if (keys_dir / META_FILE).is_file():
        keys = [push.key_row(k) for k in KeyStore(keys_dir).keys()]
    info = body.info
    push.write_body(reg, push.body_row(info, info["created_at"]), keys, at=_now(body))
    logo = body_logo(body)
    push.write_logo(reg, (logo.data, logo.media_type, logo.sha256) if logo else None, at=_now(body))
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

    The new file is filled by :func:`sync` from the start of the audit log (``since=0``): the
    same function that pushes each change and catches up after a crash. Changes committed
    while it runs (by a running ``certreg serve``) are applied again to the new file
    afterwards, from its watermark: they may have gone to the old one.
    """
    target = Path(register_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.rebuild-{os.getpid()}")
    for leftover in _sqlite_files(temp):
        leftover.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    try:
        reg = open_register(temp, create=True)  # the search index comes last, in one pass
        # A fresh private file nobody reads yet: no journal needed until it is swapped in.
        reg.conn.execute("PRAGMA journal_mode = OFF")
        reg.conn.execute("PRAGMA synchronous = OFF")
        # Its format and lookup key (public parameters only), then everything.
        push.set_format(reg)
        push.set_lookup_key(reg, lookup_key_for(body))
        sync(body, reg, since=0, counts=counts)
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
    reg = open_for_push(target, lookup_key_for(body))
    try:
        sync(body, reg)
    finally:
        reg.conn.close()
    return counts


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _swap(new: Path, target: Path) -> None:
    """Put the register built in ``new`` in place of ``target``.

    Copied *into* the existing file with SQLite's backup API, in one write transaction: a
    reader sees the old register or the new one, and the file stays the same file. Replacing
    the file (``os.replace``) would leave every other process's connection on the old inode,
    and SQLite deletes the write-ahead log *by name* when such a connection closes: the new
    file's log, with whatever a running ``certreg serve`` or a second ``certreg issue`` had
    pushed into it (two bulk runs started together on a body without register.db both built
    it, and one lost the other's pushes). A register that cannot be opened is replaced as a
    file: a damaged register is what rebuild is for."""
    try:
        os.link(new, target)  # no register yet: this one, unless another process made one
        return
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links
        if not target.exists():
            os.replace(new, target)
            return
    try:
        source = sqlite3.connect(new)
        try:
            destination = sqlite3.connect(target, timeout=30)
            try:
                source.backup(destination)  # retries while a writer holds the register
                destination.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                destination.close()
        finally:
            source.close()
        return
    except sqlite3.DatabaseError:
        pass  # not a database any more: replaced below
    os.replace(new, target)
    for stale in _sqlite_files(target)[1:]:
        stale.unlink(missing_ok=True)


def _head(body: CertificationBody) -> int:
    return body.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]


def rebuild_reason(body: CertificationBody, reg: Database) -> str | None:
    """Why register.db cannot be caught up from its watermark and must be rebuilt, or None."""
    if push.register_meta(reg, push.FORMAT_META) != push.REGISTER_FORMAT:
        return (
            "was written by an earlier version of certreg (format "
            f"{push.register_meta(reg, push.FORMAT_META) or 'without a watermark'}; this "
            f"certreg writes format {push.REGISTER_FORMAT})"
        )
    if push.register_meta(reg, push.LOOKUP_KDF_META) != lookup_key_for(body).meta():
        return "was sealed with another lookup secret, or other Argon2id costs"
    applied = push.applied_seq(reg)
    if applied is None:
        return "has no watermark"
    if applied > _head(body):
        return "is ahead of issuer.db (was issuer.db restored from a backup?)"
    return None


def sync(
    body: CertificationBody,
    register: Database,
    *,
    since: int | None = None,
    with_body: bool = False,
    counts: dict[str, int] | None = None,
    numbers: Iterable[str] = (),
    persons: Iterable[str] = (),
    schemes: Iterable[str] = (),
) -> int:
    """The one way register.db follows issuer.db: apply every change the audit log shows after
    event ``since``, then set the register's watermark to the log's head, in one register
    transaction. Returns how many certifications were pushed.

    Only the starting point differs between its three uses:

    - **a push** after a commit, and **a catch-up** after a crash (a process killed between its
      commit and its push): ``since`` None, the register's own watermark, read inside its write
      transaction: two processes syncing at once take turns, and the later one reads issuer.db
      later, so an older view never overwrites a newer one. Events are numbered under
      issuer.db's write lock, in commit order: an event seen means every earlier one has
      committed too;
    - **a rebuild** (:func:`rebuild`, into an empty file): ``since=0``, before the first event,
      which is everything: the body, every scheme, every certification (5,000 at a time) and
      every share link. ``counts`` (given) receives what was written, by policy.

    ``with_body``: push the body's row and keys even if the log shows no change of them (a key
    rotation is not an audit event: the caller notices the key store's change). ``numbers``,
    ``persons``, ``schemes``: keys to push as well (:func:`catch_up`), merged with the ones the
    log names so that a certification both name is pushed once, not twice."""
    with push.applying(register) as reg:
        start = push.applied_seq(reg) if since is None else since
        if start is None:
            raise RegisterBehind("register.db has no watermark: rebuild it")
        head = _head(body)
        if start == 0:
            pushed = _push_everything(body, reg, counts if counts is not None else {})
        else:
            extra = (set(numbers), set(persons), set(schemes))
            pushed = _push_changes(body, reg, start, head, with_body=with_body, extra=extra)
        push.set_applied_seq(reg, head)
    return pushed


def catch_up(
    body: CertificationBody,
    register: Database,
    *,
    numbers: Iterable[str] = (),
    persons: Iterable[str] = (),
    schemes: Iterable[str] = (),
    with_body: bool = False,
) -> int:
    """:func:`sync` from the register's watermark, with these keys pushed as well, in the same
    register transaction: what a caller names may have changed without an audit event."""
    return sync(
        body, register, with_body=with_body, numbers=numbers, persons=persons, schemes=schemes
    )


def _push_everything(body: CertificationBody, reg: Database, counts: dict[str, int]) -> int:
    """Every public row of issuer.db: what :func:`sync` does from the start of the log."""
    db = body.db
    counts.update({"directory": 0, "number_lookup": 0, "on_request": 0, "schemes": 0})
    push_body(body, reg)
    for (scheme_id,) in db.execute("SELECT id FROM schemes ORDER BY id").fetchall():
        # Its certifications are all written below, once.
        push_scheme(body, scheme_id, reg, with_certifications=False)
        counts["schemes"] += 1
    schemes = _schemes(db)
    now = _now(body)
    last = ""
    pushed = 0
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
        pushed += len(ids)
        for number in ids:
            public = publics.get(number)
            counts[public.policy if public else "on_request"] += 1
    push_share_pages(body, reg)
    push_issued_credentials(body, reg)
    push.refresh_facets(reg)
    return pushed


def _push_changes(
    body: CertificationBody,
    reg: Database,
    since: int,
    head: int,
    *,
    with_body: bool,
    extra: tuple[set[str], set[str], set[str]] = (set(), set(), set()),
) -> int:
    """What the audit log's events after ``since`` (up to ``head``) name, and the ``extra``
    (numbers, persons, schemes) the caller names: the events' subjects are certifications (id
    or number), persons and schemes; a ``body…`` event is the body."""
    db = body.db
    numbers, persons, schemes = (set(keys) for keys in extra)
    if head > since:
        subjects = [
            r[0]
            for r in db.execute(
                "SELECT DISTINCT subject FROM events WHERE seq > ? AND seq <= ? "
                "AND subject IS NOT NULL",
                [since, head],
            )
        ]
        for chunk in _chunks(subjects):
            marks = ",".join("?" * len(chunk))
            numbers |= {
                r[0]
                for r in db.execute(
                    f"SELECT number FROM certifications WHERE id IN ({marks}) "
                    f"OR number IN ({marks})",
                    [*chunk, *chunk],
                )
            }
            persons |= {
                r[0] for r in db.execute(f"SELECT id FROM persons WHERE id IN ({marks})", chunk)
            }
            schemes |= {
                r[0] for r in db.execute(f"SELECT id FROM schemes WHERE id IN ({marks})", chunk)
            }
        with_body = with_body or bool(
            db.execute(
                "SELECT EXISTS (SELECT 1 FROM events WHERE seq > ? AND seq <= ? "
                "AND kind LIKE 'body%')",
                [since, head],
            ).fetchone()[0]
        )
    return _push_keys(body, reg, numbers, persons, schemes, with_body)


def _push_keys(
    body: CertificationBody,
    reg: Database,
    numbers: set[str],
    persons: set[str],
    schemes: set[str],
    with_body: bool,
) -> int:
    db = body.db
    for chunk in _chunks(sorted(persons)):
        marks = ",".join("?" * len(chunk))
        numbers |= {
            r[0]
            for r in db.execute(
                f"SELECT number FROM certifications WHERE person_id IN ({marks})", chunk
            )
        }
    if with_body:
        push_body(body, reg)
    for scheme_id in sorted(schemes):
        push_scheme(body, scheme_id, reg)
    pushed = push_certifications(body, numbers, reg) if numbers else 0
    push_checkpoints(body, reg)  # e.g. `certreg audit checkpoint` meanwhile
    return pushed


# --------------------------------------------------------------------------------------------
# The hook


class RegisterSync:
    """The body's ``on_change`` hook: ``hook(kind, *keys)`` after a commit applies what
    issuer.db's audit log shows after the register's watermark (:func:`sync`), which names
    every change the lifecycle commits, and the keys it is given: a change made without an
    audit event (a correction in SQL, a test) is pushed because the caller names it.

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
                    "register.db at %s was not updated (the next push or the next certreg "
                    "command applies it; `certreg register rebuild` repairs it)",
                    self.path,
                )

    def flush(self) -> None:
        """Bring the register up to date with every committed change, this process's and any
        other's that was not pushed (a crash). Raises
        :class:`RegisterBehind` when it cannot."""
        with self._lock:
            try:
                self._flush()
            except RegisterBehind:
                raise
            except Exception as exc:
                raise RegisterBehind(
                    f"register.db at {self.path} could not be brought up to date with "
                    f"issuer.db ({_plain(exc)}); run the command again, or "
                    "`certreg register rebuild`"
                ) from exc

    def start(self) -> None:
        """At a process's start: catch the register up if it is behind issuer.db (a process
        killed between its commit and its push), or rebuild it if it cannot be caught up.
        Cheap when it is up to date: two reads. Logged, never raised: a command that only
        reads must still work with an unwritable register."""
        with self._lock:
            try:
                if self._up_to_date():
                    return
                self._flush()
            except Exception as exc:
                log.error(
                    "register.db at %s is behind issuer.db and could not be caught up (%s); "
                    "the next push retries, `certreg register rebuild` repairs it",
                    self.path,
                    _plain(exc),
                )

    def _up_to_date(self) -> bool:
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:
            return False
        try:
            applied = push.applied_seq(conn)
            ok = push.register_meta(conn, push.FORMAT_META) == push.REGISTER_FORMAT
            meta = push.register_meta(conn, push.LOOKUP_KDF_META)
        except sqlite3.Error:
            return False
        finally:
            conn.close()
        return (
            ok
            and applied is not None
            and applied == _head(self.body)
            and meta == lookup_key_for(self.body).meta()
        )

    def _open(self) -> Database:
        # After `certreg register rebuild` (another process) the path names a new file.
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if self._register is None or inode != self._inode:
            self._close()
            reg = open_for_push(self.path)
            reason = rebuild_reason(self.body, reg)
            if reason is not None:
                fresh = not reg.conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM register_meta)"
                ).fetchone()[0]
                reg.conn.close()
                # A new register is built, not repaired: only the second is worth a warning.
                (log.info if fresh else log.warning)(
                    "register.db at %s %s: rebuilding it from issuer.db",
                    self.path,
                    "is new" if fresh else reason,
                )
                rebuild(self.body, self.path)
                reg = open_for_push(self.path, lookup_key_for(self.body))
            self._register = reg
            self._inode = os.stat(self.path).st_ino
            self._checked_body = False
        return self._register

    def _close(self) -> None:
        if self._register is not None:
            self._register.conn.close()
            self._register = None

    def _flush(self) -> None:
        try:
            reg = self._open()
        except BaseException:
            self._close()
            raise
        pending = self._pending
        body_changed = "body" in pending or not self._checked_body
        keys_file = _data_dir(self.body) / "keys" / META_FILE
        mtime = keys_file.stat().st_mtime if keys_file.exists() else None
        with_body = body_changed or mtime != self._keys_mtime  # e.g. `certreg keys rotate`
        catch_up(
            self.body,
            reg,
            numbers=pending.get("certification", ()),
            persons=pending.get("person", ()),
            schemes=pending.get("scheme", ()),
            with_body=with_body,
        )
        if with_body:
            self._keys_mtime, self._checked_body = mtime, True
        self._pending = {}


def _plain(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


_skip_start = threading.local()


@contextmanager
def without_start_catch_up() -> Iterator[None]:
    """Bodies attached in this block do not catch their register up at once: for
    ``certreg register rebuild``, which rebuilds it anyway (a register of an old format would
    otherwise be rebuilt twice)."""
    _skip_start.active = True
    try:
        yield
    finally:
        _skip_start.active = False


def attach(body: CertificationBody, register_path: str | Path | None = None) -> RegisterSync:
    """Make every committed change of ``body`` reach register.db (``DATA/register.db`` by
    default) at once, after catching it up with what earlier processes committed and did not
    push (a crash between a commit and its push)."""
    sync = RegisterSync(body, register_path or register_path_for(body))
    body.on_change = sync
    if not getattr(_skip_start, "active", False):
        sync.start()
    return sync
