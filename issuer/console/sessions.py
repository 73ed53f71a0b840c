"""Console sessions: server-side rows in issuer.db, a random id in the cookie.

The cookie carries 256 random bits; issuer.db keeps only their SHA-256 (``console_sessions``),
so a copy of the database signs nobody in. A new id is made at every sign-in (no fixation).
A session ends when its person signs out (that row), signs out everywhere (all their rows),
is deactivated or re-enrolled; it lapses after :func:`timeouts` — idle (no request for
``console_idle_minutes``, default 30) or absolute (``console_absolute_hours`` after sign-in,
default 12), both read from the body's ``settings`` table at each request, so an operator's
change applies at once. Each session has its own CSRF token (the synchronizer token of every
console form, :mod:`issuer.console.web`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from certreg.issuer import audit
from certreg.issuer.db import transaction
from certreg.issuer.service import CertificationBody
from certreg.verifier.issuing import format_datetime, parse_datetime

__all__ = [
    "ABSOLUTE_SETTING",
    "DEFAULT_ABSOLUTE",
    "DEFAULT_IDLE",
    "IDLE_SETTING",
    "Session",
    "end",
    "find",
    "set_timeouts",
    "start",
    "timeouts",
]

IDLE_SETTING = "console_idle_minutes"
ABSOLUTE_SETTING = "console_absolute_hours"
DEFAULT_IDLE = timedelta(minutes=30)
DEFAULT_ABSOLUTE = timedelta(hours=12)
#: ``last_seen_at`` is written at most this often: a page view need not cost a write.
_TOUCH = timedelta(seconds=60)


@dataclass(frozen=True)
class Session:
    id_hash: str
    staff_id: str
    csrf_token: str
    created_at: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _setting(body: CertificationBody, key: str) -> float | None:
    row = body.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    try:
        value = float(row[0]) if row else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def timeouts(body: CertificationBody) -> tuple[timedelta, timedelta]:
    """(idle, absolute) timeouts of console sessions, from the body's settings."""
    idle = _setting(body, IDLE_SETTING)
    absolute = _setting(body, ABSOLUTE_SETTING)
    return (
        timedelta(minutes=idle) if idle else DEFAULT_IDLE,
        timedelta(hours=absolute) if absolute else DEFAULT_ABSOLUTE,
    )


def set_timeouts(
    body: CertificationBody,
    *,
    idle: timedelta | None = None,
    absolute: timedelta | None = None,
    actor: str | None = None,
) -> tuple[timedelta, timedelta]:
    """Change the timeouts (the operator's command line: ``certreg staff console-timeouts``);
    they apply to every session from its next request. Returns them as they now are."""
    now = format_datetime(body.clock())
    changes = {}
    if idle is not None:
        changes[IDLE_SETTING] = idle.total_seconds() / 60
    if absolute is not None:
        changes[ABSOLUTE_SETTING] = absolute.total_seconds() / 3600
    if any(v <= 0 for v in changes.values()):
        raise ValueError("a timeout is longer than zero")
    with transaction(body.db):
        for key, value in changes.items():
            body.db.table("settings").upsert(
                {"key": key, "value": f"{value:g}", "updated_at": now}, pk="key"
            )
        if changes:
            audit.append(
                body.db,
                "console_timeouts_changed",
                actor=actor,
                subject="body",
                payload={k: float(v) for k, v in changes.items()},
                at=now,
            )
    return timeouts(body)


def start(body: CertificationBody, staff_id: str, *, client: str) -> tuple[str, Session]:
    """A new session for ``staff_id``: (the cookie's value, the session). Lapsed sessions of
    everybody are cleared on the way."""
    session_id = secrets.token_urlsafe(32)
    now = body.clock()
    idle, absolute = timeouts(body)
    row = {
        "id_hash": _digest(session_id),
        "staff_id": staff_id,
        "csrf_token": secrets.token_urlsafe(32),
        "created_at": format_datetime(now),
        "last_seen_at": format_datetime(now),
        "client": client,
    }
    with transaction(body.db):
        body.db.execute(
            "DELETE FROM console_sessions WHERE last_seen_at <= ? OR created_at <= ?",
            [format_datetime(now - idle), format_datetime(now - absolute)],
        )
        body.db.table("console_sessions").insert(row)
    return session_id, Session(row["id_hash"], staff_id, row["csrf_token"], row["created_at"])


def find(body: CertificationBody, session_id: str | None) -> Session | None:
    """The live session of a cookie's value; None if unknown, ended or lapsed."""
    if not session_id or len(session_id) > 100:
        return None
    digest = _digest(session_id)
    rows = list(body.db.query("SELECT * FROM console_sessions WHERE id_hash = ?", [digest]))
    if not rows or not hmac.compare_digest(rows[0]["id_hash"], digest):
        return None
    row = rows[0]
    now: datetime = body.clock()
    idle, absolute = timeouts(body)
    seen = parse_datetime(row["last_seen_at"])
    if now - seen >= idle or now - parse_datetime(row["created_at"]) >= absolute:
        with transaction(body.db):
            body.db.execute("DELETE FROM console_sessions WHERE id_hash = ?", [digest])
        return None
    if now - seen >= _TOUCH:
        with transaction(body.db):
            body.db.execute(
                "UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ?",
                [format_datetime(now), digest],
            )
    return Session(digest, row["staff_id"], row["csrf_token"], row["created_at"])


def end(body: CertificationBody, id_hash: str) -> None:
    with transaction(body.db):
        body.db.execute("DELETE FROM console_sessions WHERE id_hash = ?", [id_hash])
