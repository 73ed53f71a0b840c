"""What the public register shows, and writing it into register.db.

Pure functions over plain dicts: the issuer (``issuer/register_push.py``) reads its private
database and passes the rows in; this module picks the public fields *by name* (a field not
named here never reaches register.db, whatever the issuer's rows carry) and writes them. The
import runs issuer -> register, never back: register.db's side knows nothing of issuer.db.

Publication, per the scheme's *current* policy (a new scheme version that changes the policy
moves every certification of the scheme at once) and the holder's consent:

- ``directory``: a row in ``certifications`` (+ ``certification_scope``, ``status_history``);
  ``holder_name`` and ``country`` only if the holder consented to be listed;
- ``number_lookup``: one row in ``lookup``: sha256 of the number, and the public record
  (holder's name included: whoever has the number is checking a claim by that holder) sealed
  with a SecretBox key derived from the number;
- ``on_request``: nothing at all.

Every write of a certification first deletes whatever the register held for that number, in
every table, so a policy or consent change can never leave a stale copy behind.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import nacl.exceptions
import nacl.secret
from sqlite_utils import Database

__all__ = [
    "POLICIES",
    "PublicCertification",
    "SealError",
    "body_row",
    "checkpoint_row",
    "facet_contributions",
    "find",
    "forget_removed_text",
    "key_row",
    "normalise",
    "number_hash",
    "public_certification",
    "refresh_facets",
    "scheme_row",
    "scope_item_rows",
    "seal",
    "status_history",
    "touch",
    "transaction",
    "unseal",
    "write_body",
    "write_certifications",
    "write_checkpoints",
    "write_scheme",
]

POLICIES = ("directory", "number_lookup", "on_request")

# The status each decision leaves; the others (scope changes, recertification, correction)
# leave the status as it was.
_STATUS_AFTER = {
    "grant": "ACTIVE",
    "suspend": "SUSPENDED",
    "reinstate": "ACTIVE",
    "withdraw": "WITHDRAWN",
    "expire": "EXPIRED",
}

_SEAL_PERSON = b"certreg-seal-v1"  # domain separation: the key is not the lookup hash


class SealError(ValueError):
    """A sealed record could not be opened: wrong number, or damaged."""


# --------------------------------------------------------------------------------------------
# Numbers and sealing


def normalise(number: str) -> str:
    """As the issuer stores numbers: upper case, white space removed."""
    return re.sub(r"\s+", "", number).upper()


def number_hash(number: str) -> str:
    """sha256 hex of the normalised number: the ``lookup`` table's key."""
    return hashlib.sha256(normalise(number).encode("utf-8")).hexdigest()


def _seal_key(number: str) -> bytes:
    return hashlib.blake2b(
        normalise(number).encode("utf-8"),
        digest_size=nacl.secret.SecretBox.KEY_SIZE,
        person=_SEAL_PERSON,
    ).digest()


def seal(record: Mapping[str, Any], number: str) -> str:
    """The record as JSON in a SecretBox (random nonce) under a key derived from the number,
    base64."""
    data = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    box = nacl.secret.SecretBox(_seal_key(number))
    return base64.b64encode(bytes(box.encrypt(data.encode("utf-8")))).decode("ascii")


def unseal(sealed: str, number: str) -> dict[str, Any]:
    """Open what :func:`seal` sealed; :class:`SealError` for a wrong number or damaged data."""
    box = nacl.secret.SecretBox(_seal_key(number))
    try:
        return json.loads(box.decrypt(base64.b64decode(sealed, validate=True)))
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise SealError("this record does not open with that certificate number") from exc


def find(db: Database, number: str) -> dict[str, Any] | None:
    """The public record of a number, whatever its policy: the ``certifications`` row (with
    ``scope`` and ``history``), or the unsealed ``lookup`` record, or None."""
    number = normalise(number)
    conn = db.conn
    row = conn.execute("SELECT * FROM certifications WHERE number = ?", [number]).fetchone()
    if row is not None:
        cols = [d[0] for d in conn.execute("SELECT * FROM certifications LIMIT 0").description]
        record = dict(zip(cols, row, strict=True))
        record["scope"] = _rows(
            conn,
            "SELECT scope_code AS code, label, conditions, status, since "
            "FROM certification_scope WHERE number = ? ORDER BY scope_code",
            [number],
        )
        record["history"] = _rows(
            conn,
            "SELECT seq, effective_date, decided_at, decision, status FROM status_history "
            "WHERE number = ? ORDER BY seq",
            [number],
        )
        record["publication_policy"] = "directory"
        return record
    found = conn.execute(
        "SELECT sealed FROM lookup WHERE number_hash = ?", [number_hash(number)]
    ).fetchone()
    if found is None:
        return None
    record = unseal(found[0], number)
    record["publication_policy"] = "number_lookup"
    return record


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, r, strict=True)) for r in cursor]


# --------------------------------------------------------------------------------------------
# Public rows from issuer data


@dataclass
class PublicCertification:
    """One certification as the public may see it, and where it goes."""

    number: str
    policy: str  # directory or number_lookup (on_request is never built)
    row: dict[str, Any]  # the certifications row
    scope: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The whole public record, as sealed for ``lookup``."""
        return {**self.row, "scope": self.scope, "history": self.history}


def status_history(decisions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per decision, in order (``seq``): dates, type and the status it left. Reasons,
    evidence, details and the decision-maker stay in issuer.db."""
    out: list[dict[str, Any]] = []
    status = "ACTIVE"
    for seq, d in enumerate(decisions, 1):
        status = _STATUS_AFTER.get(d["type"], status)
        out.append(
            {
                "seq": seq,
                "effective_date": d["effective_date"],
                "decided_at": d["decided_at"],
                "decision": d["type"],
                "status": status,
            }
        )
    return out


def public_certification(
    cert: Mapping[str, Any],
    holder: Mapping[str, Any],
    scheme: Mapping[str, Any],
    scope: Iterable[Mapping[str, Any]],
    decisions: Iterable[Mapping[str, Any]],
) -> PublicCertification | None:
    """The public view of a certification, or None when its scheme's policy is ``on_request``.

    ``cert``: the issuer's certifications row; ``holder``: the person (only ``full_name``,
    ``consent_publish`` and ``country`` are read); ``scheme``: ``id``, ``code``, ``name`` and
    ``publication_policy`` of the scheme's current version; ``scope``: ``code``, ``label``,
    ``conditions``, ``status``, ``since``; ``decisions``: ``type``, ``effective_date``,
    ``decided_at``, oldest first.
    """
    policy = scheme["publication_policy"]
    if policy not in POLICIES:
        raise ValueError(f"unknown publication policy {policy!r}")
    if policy == "on_request":
        return None
    number = normalise(cert["number"])
    history = status_history(decisions)
    # "Last updated": the latest of the row's own change and the latest decision (a correction
    # changes the holder's name, not the certifications row).
    updated = max([cert["updated_at"], *(h["decided_at"] for h in history)])
    listed = bool(holder.get("consent_publish"))
    named = listed or policy == "number_lookup"
    row = {
        "number": number,
        "holder_name": holder["full_name"] if named else None,
        "scheme_id": scheme["id"],
        "scheme_code": scheme["code"],
        "scheme_name": scheme["name"],
        "status": cert["status"],
        "status_since": cert["status_since"],
        "valid_from": cert["valid_from"],
        "valid_until": cert["valid_until"],
        "country": holder.get("country") if listed else None,
        "updated_at": updated,
    }
    items = [
        {
            "code": s["code"],
            "label": s["label"],
            "conditions": s.get("conditions"),
            "status": s["status"],
            "since": s["since"],
        }
        for s in sorted(scope, key=lambda s: s["code"])
    ]
    return PublicCertification(number, policy, row, items, history)


def scheme_row(scheme: Mapping[str, Any], version: Mapping[str, Any]) -> dict[str, Any]:
    """``schemes`` row from the issuer's schemes row and the scheme's current version."""
    return {
        "id": scheme["id"],
        "code": scheme["code"],
        "name": version["name"],
        "version": version["version"],
        "description": version["description"],
        "prerequisites": version["prerequisites"],
        "process": version["process"],
        "appeals": version["appeals"],
        "normative_reference": version["normative_reference"],
        "normative_reference_url": version.get("normative_reference_url"),
        "validity_months": version["validity_months"],
        "recertification_rules": version["recertification_rules"],
        "publication_policy": version["publication_policy"],
        "accredited": int(bool(scheme["accredited"])),
        "updated_at": version["created_at"],
    }


def scope_item_rows(scheme_id: str, items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The scheme's catalogue as offered now (retired items are left out)."""
    return [
        {
            "scheme_id": scheme_id,
            "code": i["code"],
            "label": i["label"],
            "level": i.get("level"),
            "description": i.get("description") or "",
        }
        for i in items
        if not i.get("retired")
    ]


def body_row(body: Mapping[str, Any], updated_at: str) -> dict[str, Any]:
    return {
        "id": 1,
        "legal_name": body["legal_name"],
        "public_url": body["public_url"],
        "did": body["did"],
        "accreditation_body": body.get("accreditation_body"),
        "accreditation_number": body.get("accreditation_number"),
        "country": body.get("country"),
        "updated_at": updated_at,
    }


def key_row(key: Any) -> dict[str, Any]:
    """A ``keys.did.KeyRecord`` (or a dict with its fields): public key and dates only."""
    get = key.get if isinstance(key, Mapping) else lambda name: getattr(key, name)
    return {
        "id": get("id"),
        "public_key_multibase": get("public_multibase"),
        "created": get("created"),
        "expires": get("expires"),
        "revoked": get("revoked"),
    }


def checkpoint_row(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    return {k: checkpoint[k] for k in ("seq", "count", "head_hash", "at", "signed")}


# --------------------------------------------------------------------------------------------
# Facets: precomputed, because counting them over 1,000,000 rows per page view times out.


def facet_contributions(
    row: Mapping[str, Any], scope: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    """(facet, value, label) a ``certifications`` row counts towards. A scope item counts while
    it is held (``active``); its value is ``scheme_id/code``, codes being unique per scheme."""
    out = [
        ("scheme", row["scheme_id"], row["scheme_name"]),
        ("status", row["status"], row["status"]),
    ]
    if row.get("country"):
        out.append(("country", row["country"], row["country"]))
    out += [
        ("scope", f"{row['scheme_id']}/{s['code']}", s["label"])
        for s in scope
        if s["status"] == "active"
    ]
    return out


def _apply_facets(
    conn: sqlite3.Connection, delta: Counter[tuple[str, str]], labels: Mapping[tuple[str, str], str]
) -> None:
    changes = [(f, v, labels[(f, v)], n) for (f, v), n in delta.items() if n]
    if not changes:
        return
    conn.executemany(
        "INSERT INTO facet_counts (facet, value, label, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (facet, value) DO UPDATE SET count = count + excluded.count, "
        "label = excluded.label",
        changes,
    )
    conn.execute("DELETE FROM facet_counts WHERE count <= 0")


def refresh_facets(db: Database) -> None:
    """Recount every facet from ``certifications`` (after a rebuild; pushes keep them
    incrementally)."""
    conn = db.conn
    with transaction(conn):
        conn.execute("DELETE FROM facet_counts")
        conn.execute(
            "INSERT INTO facet_counts SELECT 'scheme', scheme_id, MAX(scheme_name), COUNT(*) "
            "FROM certifications GROUP BY scheme_id"
        )
        conn.execute(
            "INSERT INTO facet_counts SELECT 'status', status, status, COUNT(*) "
            "FROM certifications GROUP BY status"
        )
        conn.execute(
            "INSERT INTO facet_counts SELECT 'country', country, country, COUNT(*) "
            "FROM certifications WHERE country IS NOT NULL AND country != '' GROUP BY country"
        )
        conn.execute(
            "INSERT INTO facet_counts SELECT 'scope', c.scheme_id || '/' || s.scope_code, "
            "MAX(s.label), COUNT(*) FROM certification_scope s "
            "JOIN certifications c ON c.number = s.number WHERE s.status = 'active' "
            "GROUP BY c.scheme_id, s.scope_code"
        )


# --------------------------------------------------------------------------------------------
# Writing


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (joins an outer one): readers see all of a push or none."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def touch(db: Database, at: str) -> None:
    db.conn.execute(
        "INSERT INTO register_meta (key, value) VALUES ('last_updated', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [at],
    )


def write_certifications(
    db: Database,
    numbers: Iterable[str],
    publics: Mapping[str, PublicCertification | None],
    *,
    at: str,
) -> None:
    """Replace what the register holds for each of ``numbers`` by ``publics[number]`` (None or
    missing: nothing, e.g. ``on_request``), in one transaction, facet counts included."""
    conn = db.conn
    numbers = sorted({normalise(n) for n in numbers})
    delta: Counter[tuple[str, str]] = Counter()
    labels: dict[tuple[str, str], str] = {}
    old_names: dict[str, str] = {}
    unlisted = False
    with transaction(conn):
        for chunk in _chunks(numbers, 500):
            marks = ",".join("?" * len(chunk))
            # What these rows counted for until now comes off the facets.
            old_scope: dict[str, list[dict[str, Any]]] = {}
            for number, code, label, status in conn.execute(
                f"SELECT number, scope_code, label, status FROM certification_scope "
                f"WHERE number IN ({marks})",
                chunk,
            ):
                old_scope.setdefault(number, []).append(
                    {"code": code, "label": label, "status": status}
                )
            for old in _rows(
                conn,
                f"SELECT number, holder_name, scheme_id, scheme_name, status, country "
                f"FROM certifications WHERE number IN ({marks})",
                chunk,
            ):
                if old["holder_name"] is not None:
                    old_names[old["number"]] = old["holder_name"]
                for facet, value, label in facet_contributions(
                    old, old_scope.get(old["number"], [])
                ):
                    delta[(facet, value)] -= 1
                    labels.setdefault((facet, value), label)
            for table in ("certifications", "certification_scope", "status_history"):
                conn.execute(f"DELETE FROM {table} WHERE number IN ({marks})", chunk)
            hashes = [number_hash(n) for n in chunk]
            conn.execute(f"DELETE FROM lookup WHERE number_hash IN ({marks})", hashes)

        rows, scopes, histories, sealed = [], [], [], []
        for number in numbers:
            public = publics.get(number)
            if number in old_names:
                listed = (
                    public.row["holder_name"] if public and public.policy == "directory" else None
                )
                unlisted |= listed != old_names[number]
            if public is None:
                continue
            if public.policy == "number_lookup":
                sealed.append(
                    (number_hash(number), seal(public.record(), number), public.row["updated_at"])
                )
                continue
            rows.append(public.row)
            scopes += [
                (number, s["code"], s["label"], s["conditions"], s["status"], s["since"])
                for s in public.scope
            ]
            histories += [
                (number, h["seq"], h["effective_date"], h["decided_at"], h["decision"], h["status"])
                for h in public.history
            ]
            for facet, value, label in facet_contributions(public.row, public.scope):
                delta[(facet, value)] += 1
                labels[(facet, value)] = label  # the new label wins (a renamed scheme)
        if rows:
            cols = list(rows[0])
            conn.executemany(
                f"INSERT INTO certifications ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})",
                [tuple(r[c] for c in cols) for r in rows],
            )
        conn.executemany(
            "INSERT INTO certification_scope (number, scope_code, label, conditions, status, "
            "since) VALUES (?, ?, ?, ?, ?, ?)",
            scopes,
        )
        conn.executemany(
            "INSERT INTO status_history (number, seq, effective_date, decided_at, decision, "
            "status) VALUES (?, ?, ?, ?, ?, ?)",
            histories,
        )
        conn.executemany(
            "INSERT INTO lookup (number_hash, sealed, updated_at) VALUES (?, ?, ?)", sealed
        )
        _apply_facets(conn, delta, labels)
        touch(db, at)
    if unlisted:
        forget_removed_text(db)


def forget_removed_text(db: Database) -> None:
    """After a name left the directory (consent withdrawn, policy changed, name corrected):
    make sure its bytes leave the file too, not only the tables. ``secure_delete`` (set by
    ``open_register``) zeroes deleted rows, but the full-text index keeps deleted terms in old
    segments until they are merged, and the write-ahead log keeps old pages until a checkpoint.
    Rare, so the cost (an index merge) is paid only then."""
    conn = db.conn
    fts = db["certifications"].detect_fts()  # register.fts names it; none in a bare register
    if fts:
        with transaction(conn):
            conn.execute(f"INSERT INTO [{fts}] ([{fts}]) VALUES ('optimize')")
    # Best effort: a reader still on an old snapshot keeps its frames until it moves on.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def write_scheme(
    db: Database,
    row: Mapping[str, Any] | None,
    items: Sequence[Mapping[str, Any]],
    *,
    at: str,
    scheme_id: str | None = None,
) -> None:
    """Replace a scheme and its catalogue (``row`` None: remove it)."""
    conn = db.conn
    scheme_id = row["id"] if row is not None else scheme_id
    with transaction(conn):
        conn.execute("DELETE FROM schemes WHERE id = ?", [scheme_id])
        conn.execute("DELETE FROM scope_items WHERE scheme_id = ?", [scheme_id])
        if row is not None:
            _insert(conn, "schemes", [row])
            _insert(conn, "scope_items", items)
        touch(db, at)


def write_body(
    db: Database, row: Mapping[str, Any], keys: Sequence[Mapping[str, Any]] | None, *, at: str
) -> None:
    """The body's row and (when given) its whole key history."""
    conn = db.conn
    with transaction(conn):
        conn.execute("DELETE FROM body")
        _insert(conn, "body", [row])
        if keys is not None:
            conn.execute("DELETE FROM issuer_keys")
            _insert(conn, "issuer_keys", keys)
        touch(db, at)


def write_checkpoints(db: Database, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add published checkpoints (they are immutable: an existing one is kept as it is)."""
    if not rows:
        return
    conn = db.conn
    with transaction(conn):
        cols = ("seq", "count", "head_hash", "at", "signed")
        conn.executemany(
            f"INSERT OR IGNORE INTO audit_checkpoints ({', '.join(cols)}) VALUES (?, ?, ?, ?, ?)",
            [tuple(r[c] for c in cols) for r in rows],
        )


def _insert(conn: sqlite3.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [tuple(r[c] for c in cols) for r in rows],
    )


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
