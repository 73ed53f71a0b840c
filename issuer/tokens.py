"""API tokens for the admin HTTP API and the VC API: bearer secrets bound to a staff member.

- The secret is shown once, when the token is made; issuer.db keeps only its SHA-256
  (``api_tokens.token_hash``). A stolen database backup therefore holds no usable token. The
  secret has 256 bits of entropy, so a plain hash (no salt, no slow KDF) cannot be inverted.
- A token carries the roles of its staff member, or a subset (least privilege: a script that
  only records assessments gets a token with ``officer`` alone). At each use the roles are
  intersected with the staff member's roles *now*, so taking a role away from a person, or
  deactivating them, takes it away from their tokens at once.
- Tokens expire (``expires_at``; 90 days unless told) and can be revoked; both are checked at
  each use. Creation and revocation are audit events; the secret never is.
- The secret starts with ``certreg_`` so that secret scanners and people recognise it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from issuer import audit
from issuer.db import transaction
from issuer.service import ROLES, CertificationBody, Invalid, NotFound
from verifier.dates import format_datetime, parse_datetime

__all__ = [
    "DEFAULT_LIFETIME",
    "PREFIX",
    "AuthError",
    "Principal",
    "TokenInfo",
    "authenticate",
    "create_token",
    "hash_secret",
    "list_tokens",
    "revoke_token",
]

PREFIX = "certreg_"
DEFAULT_LIFETIME = timedelta(days=90)
#: Longest lifetime a token may be given: a forgotten token should not live for ever.
MAX_LIFETIME = timedelta(days=366)
#: ``last_used_at`` is written at most this often per token, so that reads do not each cost a
#: write transaction (and do not queue behind the one writer).
_TOUCH_INTERVAL = timedelta(minutes=1)


class AuthError(Exception):
    """The bearer token cannot be accepted; ``str(exc)`` says why (never the secret)."""


@dataclass(frozen=True)
class TokenInfo:
    """What can be shown about a token: everything but the secret and its hash."""

    id: str
    name: str
    staff_id: str
    roles: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Principal:
    """Who an authenticated request acts for."""

    staff_id: str
    name: str
    roles: frozenset[str]
    token_id: str

    def has_any(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.roles & roles)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now(body: CertificationBody) -> datetime:
    return body.clock().astimezone(UTC)


def _staff(body: CertificationBody, staff_id: str) -> dict[str, Any]:
    rows = list(body.db.query("SELECT * FROM staff WHERE id = ?", [staff_id]))
    if not rows:
        raise NotFound(f"no staff member {staff_id!r}")
    return rows[0]


def _info(row: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        name=row["name"],
        staff_id=row["staff_id"],
        roles=[r for r in row["roles"].split(",") if r],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


def create_token(
    body: CertificationBody,
    staff_id: str,
    *,
    name: str,
    roles: list[str] | None = None,
    lifetime: timedelta | None = DEFAULT_LIFETIME,
    actor: str | None = None,
) -> tuple[TokenInfo, str]:
    """A new token for ``staff_id``; returns its description and the secret (shown once).

    ``roles`` defaults to all of the staff member's roles and may only narrow them;
    ``lifetime`` is at most :data:`MAX_LIFETIME` (every token made here expires)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Invalid("a token needs a name (up to 200 characters) saying what it is for")
    staff = _staff(body, staff_id)
    if not staff["active"]:
        raise Invalid(f"{staff['name']} is no longer active and cannot be given a token")
    held = {r for r in staff["roles"].split(",") if r}
    wanted = held if roles is None else set(roles)
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise Invalid(f"unknown roles {unknown}; roles are {list(ROLES)}")
    beyond = sorted(wanted - held)
    if beyond:
        raise Invalid(
            f"{staff['name']} does not hold the roles {beyond}: a token can only carry "
            "roles its staff member holds"
        )
    if not wanted:
        raise Invalid(f"{staff['name']} holds no role, so a token would allow nothing")
    if lifetime is None or lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise Invalid(f"a token's lifetime must be between 1 second and {MAX_LIFETIME.days} days")
    now = _now(body)
    secret = PREFIX + secrets.token_urlsafe(32)
    row = {
        "id": str(uuid.uuid4()),
        "name": name.strip(),
        "staff_id": staff_id,
        "token_hash": hash_secret(secret),
        "roles": ",".join(sorted(wanted)),
        "created_at": format_datetime(now),
        "expires_at": format_datetime(now + lifetime),
        "revoked_at": None,
        "last_used_at": None,
    }
    with transaction(body.db):
        body.db["api_tokens"].insert(row)
        audit.append(
            body.db,
            "token_created",
            actor=actor,
            subject=staff_id,
            payload={"token": row["id"], "roles": sorted(wanted), "expires": row["expires_at"]},
            at=format_datetime(now),
        )
    return _info(row), secret


def list_tokens(body: CertificationBody, staff_id: str | None = None) -> list[TokenInfo]:
    sql = "SELECT * FROM api_tokens"
    params: list[Any] = []
    if staff_id is not None:
        sql += " WHERE staff_id = ?"
        params.append(staff_id)
    return [_info(r) for r in body.db.query(sql + " ORDER BY created_at, id", params)]


def revoke_token(body: CertificationBody, token_id: str, *, actor: str | None = None) -> TokenInfo:
    """Revoke a token (idempotent: revoking twice keeps the first time)."""
    rows = list(body.db.query("SELECT * FROM api_tokens WHERE id = ?", [token_id]))
    if not rows:
        raise NotFound(f"no token {token_id!r}")
    if rows[0]["revoked_at"] is None:
        now = format_datetime(_now(body))
        with transaction(body.db):
            body.db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                [now, token_id],
            )
            audit.append(
                body.db,
                "token_revoked",
                actor=actor,
                subject=rows[0]["staff_id"],
                payload={"token": token_id},
                at=now,
            )
    return _info(next(iter(body.db.query("SELECT * FROM api_tokens WHERE id = ?", [token_id]))))


def authenticate(body: CertificationBody, secret: str) -> Principal:
    """The principal a bearer secret stands for, or :class:`AuthError`."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > 200:
        raise AuthError("the bearer token is not a certreg API token")
    digest = hash_secret(secret)
    # The lookup finds the row by hash; the constant-time comparison is the actual check, so
    # that no code path decides on a secret-derived value with an early-exit comparison.
    rows = list(body.db.query("SELECT * FROM api_tokens WHERE token_hash = ?", [digest]))
    if not rows or not hmac.compare_digest(rows[0]["token_hash"], digest):
        raise AuthError("the bearer token is unknown")
    row = rows[0]
    now = _now(body)
    if row["revoked_at"] is not None:
        raise AuthError("the bearer token was revoked")
    expires = parse_datetime(row["expires_at"]) if row["expires_at"] else None
    if expires is not None and now >= expires:  # NULL: made without expiry by other tools
        raise AuthError("the bearer token has expired")
    staff = _staff(body, row["staff_id"])
    if not staff["active"]:
        raise AuthError("the staff member of this token is no longer active")
    roles = frozenset(row["roles"].split(",")) & frozenset(staff["roles"].split(","))
    last = parse_datetime(row["last_used_at"]) if row["last_used_at"] else None
    if last is None or now - last >= _TOUCH_INTERVAL:
        with transaction(body.db):
            body.db.execute(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
                [format_datetime(now), row["id"]],
            )
    return Principal(
        staff_id=staff["id"], name=staff["name"], roles=roles - {""}, token_id=row["id"]
    )
