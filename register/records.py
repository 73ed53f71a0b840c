"""Reading one certificate's public record out of register.db, whatever its publication policy.

- ``directory``: the rows of ``certifications``, ``certification_scope`` and ``status_history``;
- ``number_lookup``: the ``lookup`` row whose ``number_hash`` is the index derived from the
  number asked for, unsealed with a key derived from that same number (``register.push``:
  Argon2id keyed by the register's lookup secret, which is not in register.db): only someone
  who already holds the number, asking a site that holds the secret, can read it;
- ``on_request``: not in register.db at all, so :func:`find_certificate` returns None.

Everything here is public by construction (register.db holds nothing else). The record the
certificate page, the QR codes and the PDF are drawn from (:class:`CertificateRecord`) and its
status wording belong to :mod:`verifier.standing`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

# The record, its lines and the date wording live in the one status vocabulary; they are
# re-exported here, where the pages and the issuer have always imported them from.
from certreg.verifier.standing import (
    CertificateRecord,
    HistoryLine,
    Policy,
    ScopeLine,
    headline,
    plain_date,
)

__all__ = [
    "BodyInfo",
    "CertificateRecord",
    "HistoryLine",
    "ScopeLine",
    "connect_readonly",
    "find_certificate",
    "normalise_number",
    "plain_date",
    "read_body",
    "read_logo",
    "read_scheme",
    "read_scheme_names",
    "scheme_name",
    "status_headline",
]


def normalise_number(text: str) -> str:
    """What a person types becomes what is stored: spaces removed, upper case (the issuer's
    rule, ``issuer.numbers.normalise``; the register does not import the issuer)."""
    return re.sub(r"\s+", "", text).upper()


@dataclass(frozen=True)
class BodyInfo:
    legal_name: str
    public_url: str
    did: str
    accreditation_body: str | None = None
    accreditation_number: str | None = None
    country: str | None = None

    @property
    def accreditation(self) -> str | None:
        if not self.accreditation_body:
            return None
        number = f", accreditation number {self.accreditation_number}"
        return f"Accredited by {self.accreditation_body}" + (
            number if self.accreditation_number else ""
        )

    def certificate_url(self, number: str) -> str:
        return f"{self.public_url.rstrip('/')}/c/{number}"


def status_headline(record: CertificateRecord, today: date | None = None) -> tuple[str, str]:
    """(words, css class) of ``record``'s headline: :func:`verifier.standing.headline`."""
    line = headline(record, today)
    return line.text, line.css


# --- reading register.db -------------------------------------------------------------------


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to register.db (the web pages never write to it)."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


def read_body(conn: sqlite3.Connection) -> BodyInfo | None:
    rows = _rows(conn, "SELECT * FROM body WHERE id = 1")
    if not rows:
        return None
    r = rows[0]
    return BodyInfo(
        legal_name=r["legal_name"],
        public_url=r["public_url"],
        did=r["did"],
        accreditation_body=r.get("accreditation_body"),
        accreditation_number=r.get("accreditation_number"),
        country=r.get("country"),
    )


def read_logo(conn: sqlite3.Connection) -> tuple[bytes, str] | None:
    """The body's logo as (image bytes, media type), or None: none pushed, or a register
    written before logos were (no such table)."""
    try:
        row = conn.execute("SELECT data, media_type FROM body_logo WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return None
    return (bytes(row[0]), str(row[1])) if row else None


def read_scheme(conn: sqlite3.Connection, scheme_id: str) -> dict[str, Any] | None:
    rows = _rows(conn, "SELECT * FROM schemes WHERE id = ?", [scheme_id])
    if not rows:
        return None
    scheme = rows[0]
    scheme["scope_items"] = _rows(
        conn, "SELECT * FROM scope_items WHERE scheme_id = ? ORDER BY code", [scheme_id]
    )
    return scheme


def read_scheme_names(
    conn: sqlite3.Connection, scheme_id: str | None = None
) -> dict[str, dict[str, str]]:
    """The schemes' names in other languages, ``{scheme_id: {lang: name}}`` (one scheme's with
    ``scheme_id``). A register written before they were pushed has none (no table: a bundle of
    format 2): every page then shows the signed names."""
    sql = "SELECT scheme_id, lang, name FROM scheme_names"
    params: list[Any] = []
    if scheme_id is not None:
        sql += " WHERE scheme_id = ?"
        params.append(scheme_id)
    out: dict[str, dict[str, str]] = {}
    try:
        rows = conn.execute(sql + " ORDER BY scheme_id, lang", params).fetchall()
    except sqlite3.OperationalError:
        return out
    for sid, lang, name in rows:
        out.setdefault(sid, {})[lang] = name
    return out


def scheme_name(names: Mapping[str, str], signed_name: str, lang: str) -> str:
    """The scheme's name for a reader of ``lang``: its name in that language where the body
    gave one, else the name the certificate is signed with."""
    return names.get(lang) or signed_name


def _scheme_fields(conn: sqlite3.Connection, scheme_id: str) -> dict[str, Any]:
    scheme = read_scheme(conn, scheme_id) or {}
    version = scheme.get("version")
    return {
        "scheme_version": str(version) if version is not None else None,
        "normative_reference": scheme.get("normative_reference"),
        "normative_reference_url": scheme.get("normative_reference_url"),
        "scheme_names": read_scheme_names(conn, scheme_id).get(scheme_id, {}),
    }


def find_certificate(
    conn: sqlite3.Connection,
    number: str,
    *,
    sealed: bool = True,
    schemes: dict[str, dict[str, Any]] | None = None,
) -> CertificateRecord | None:
    """The public record of certificate ``number``, or None when the register does not
    publish it (unknown, or ``on_request``). ``sealed=False`` looks in the directory only,
    which costs a few indexed reads; a sealed (``number_lookup``) record costs an Argon2id
    run (~8 ms) the first time its number is asked for. ``schemes``: the scheme fields
    already read, by scheme id, filled as they are read (a caller that keeps it for as long
    as register.db does not change saves two of a directory record's five reads)."""
    number = normalise_number(number)
    if not number or len(number) > 64:
        return None
    rows = _rows(conn, "SELECT * FROM certifications WHERE number = ?", [number])
    if rows:
        return _directory_record(conn, rows[0], schemes)
    opened = _sealed_record(conn, number) if sealed else None
    if opened is None:
        return None
    return record_from_mapping(opened, listing=Policy.NUMBER_LOOKUP, conn=conn)


def _directory_record(
    conn: sqlite3.Connection, row: dict[str, Any], schemes: dict[str, dict[str, Any]] | None = None
) -> CertificateRecord:
    number = row["number"]
    scheme_id = row["scheme_id"]
    if schemes is None:
        scheme = _scheme_fields(conn, scheme_id)
    elif scheme_id in schemes:
        scheme = schemes[scheme_id]
    else:
        scheme = schemes[scheme_id] = _scheme_fields(conn, scheme_id)
    scope = tuple(
        ScopeLine(s["scope_code"], s["label"], s.get("conditions"), s["status"], s.get("since"))
        for s in _rows(
            conn,
            "SELECT * FROM certification_scope WHERE number = ? ORDER BY scope_code",
            [number],
        )
    )
    history = tuple(
        HistoryLine(
            h["effective_date"],
            h["decided_at"],
            h["decision"],
            h["status"],
            _history_scope(h.get("scope")),
            h.get("valid_until"),
        )
        for h in _rows(
            conn,
            "SELECT * FROM status_history WHERE number = ? ORDER BY decided_at, effective_date",
            [number],
        )
    )
    return CertificateRecord(
        number=number,
        holder_name=row.get("holder_name"),
        scheme_id=row["scheme_id"],
        scheme_code=row["scheme_code"],
        scheme_name=row["scheme_name"],
        status=row["status"],
        status_since=row["status_since"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        updated_at=row.get("updated_at"),
        country=row.get("country"),
        scope=scope,
        history=history,
        listing=Policy.DIRECTORY,
        extra=_offline(row),
        **scheme,
    )


def _sealed_record(conn: sqlite3.Connection, number: str) -> dict[str, Any] | None:
    """The ``lookup`` record of ``number``, opened (``register.push.find_sealed``: the index
    and the key come from the number through Argon2id keyed by the register's lookup secret,
    which this process must hold; without it, None)."""
    try:
        from certreg.register.push import find_sealed
    except ImportError:  # the push side is not installed: nothing can be unsealed
        return None
    try:
        opened = find_sealed(conn, number)
    except (sqlite3.Error, ValueError):
        return None
    return dict(opened) if isinstance(opened, Mapping) else None


def _offline(data: Mapping[str, Any]) -> dict[str, Any]:
    """The certificate's offline QR payload (``offline_qr``: the register holds it where it
    holds the holder's name), kept in the record's ``extra`` for the page, PDF and share page
    (``register.qr.offline_qr_of``)."""
    text = data.get("offline_qr")
    return {"offline_qr": text} if isinstance(text, str) and text else {}


def _history_scope(value: Any) -> tuple[tuple[str, str | None], ...] | None:
    """A ``status_history`` row's ``scope`` (JSON text, or the list itself in a sealed record)
    as (code, conditions) pairs; None when the row keeps none or it cannot be read."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
            return None
        conditions = item.get("conditions")
        out.append((item["code"], conditions if isinstance(conditions, str) else None))
    return tuple(sorted(out))


def _get(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


def record_from_mapping(
    data: Mapping[str, Any], *, listing: str, conn: sqlite3.Connection | None = None
) -> CertificateRecord:
    """A record from a JSON object shaped like a ``certifications`` row, with ``scope`` and
    ``history`` lists shaped like ``certification_scope`` and ``status_history`` rows (the
    sealed form of a ``number_lookup`` record)."""
    scope = tuple(
        ScopeLine(
            code=str(_get(s, "scope_code", "code") or ""),
            label=str(_get(s, "label", "name") or _get(s, "scope_code", "code") or ""),
            conditions=_get(s, "conditions"),
            status=str(_get(s, "status") or "active"),
            since=_get(s, "since"),
        )
        for s in data.get("scope") or ()
        if isinstance(s, Mapping)
    )
    history = tuple(
        HistoryLine(
            effective_date=str(_get(h, "effective_date") or ""),
            decided_at=str(_get(h, "decided_at") or ""),
            decision=str(_get(h, "decision", "type") or ""),
            status=str(_get(h, "status") or ""),
            scope=_history_scope(h.get("scope")),
            valid_until=_get(h, "valid_until"),
        )
        for h in (_get(data, "history", "status_history") or ())
        if isinstance(h, Mapping)
    )
    scheme_id = str(data.get("scheme_id") or "")
    scheme = _scheme_fields(conn, scheme_id) if conn is not None and scheme_id else {}
    for key in ("scheme_version", "normative_reference", "normative_reference_url"):
        if data.get(key) is not None:
            scheme[key] = str(data[key])
    return CertificateRecord(
        number=str(data.get("number") or ""),
        holder_name=data.get("holder_name"),
        scheme_id=scheme_id,
        scheme_code=str(data.get("scheme_code") or ""),
        scheme_name=str(data.get("scheme_name") or ""),
        status=str(data.get("status") or ""),
        status_since=str(data.get("status_since") or ""),
        valid_from=str(data.get("valid_from") or ""),
        valid_until=str(data.get("valid_until") or ""),
        updated_at=data.get("updated_at"),
        country=data.get("country"),
        scope=tuple(sorted(scope, key=lambda s: s.code)),
        history=tuple(sorted(history, key=lambda h: (h.decided_at, h.effective_date))),
        listing=listing,
        extra=_offline(data),
        **scheme,
    )
